/*
 * container_url.c - the container-credentials URL check (container_url.h).
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "container_url.h"

static bool
has_part(CURLU *u, CURLUPart which)
{
	char	   *part = NULL;
	bool		has = curl_url_get(u, which, &part, 0) == CURLUE_OK && part != NULL;

	curl_free(part);
	return has;
}

/* host as libcurl gives it: IPv6 in brackets, IPv4 normalised to dotted quad. */
static bool
plain_http_host_is_allowed(const char *host)
{
	unsigned char addr[16];
	size_t		len = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, addr) == 1)
	{
		static const unsigned char ecs[4] = {169, 254, 170, 2};
		static const unsigned char eks[4] = {169, 254, 170, 23};

		return addr[0] == 127 || memcmp(addr, ecs, 4) == 0 || memcmp(addr, eks, 4) == 0;
	}
	if (len > 2 && len < 64 && host[0] == '[' && host[len - 1] == ']')
	{
		char		inner[64];
		unsigned char eks6[16];

		memcpy(inner, host + 1, len - 2);
		inner[len - 2] = '\0';
		if (inet_pton(AF_INET6, inner, addr) != 1 || inet_pton(AF_INET6, "fd00:ec2::23", eks6) != 1)
			return false;
		return memcmp(addr, &in6addr_loopback, 16) == 0 || memcmp(addr, eks6, 16) == 0;
	}
	return false;
}

bool
container_url_is_allowed(const char *url)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL;
	char	   *host = NULL;
	bool		ok = false;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		host[0] != '\0' &&
		!has_part(u, CURLUPART_USER) && !has_part(u, CURLUPART_PASSWORD) &&
		!has_part(u, CURLUPART_OPTIONS) && !has_part(u, CURLUPART_ZONEID))
	{
		if (strcmp(scheme, "https") == 0)
			ok = true;
		else if (strcmp(scheme, "http") == 0)
			ok = plain_http_host_is_allowed(host);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}
