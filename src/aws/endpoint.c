/*
 * endpoint.c - resolves the DynamoDB endpoint and region (endpoint.h).
 */
#include "postgres.h"

#include <curl/curl.h>

#include "utils/memutils.h"

#include "config_check.h"
#include "credentials.h"
#include "endpoint.h"
#include "settings.h"

static const char *
first_set(const char *a, const char *b, const char *c)
{
	if (a && a[0])
		return a;
	if (b && b[0])
		return b;
	if (c && c[0])
		return c;
	return NULL;
}

/*
 * The region goes into the default endpoint's host name and the signature:
 * wherever it comes from, it passes the setting's check.
 */
static const char *
resolve_region(void)
{
	const char *region;
	const char *origin;

	if ((region = first_set(dynamo_region, NULL, NULL)) != NULL)
		origin = "dynamo_atomic.region";
	else if ((region = first_set(getenv("AWS_REGION"), NULL, NULL)) != NULL)
		origin = "AWS_REGION";
	else if ((region = first_set(getenv("AWS_DEFAULT_REGION"), NULL, NULL)) != NULL)
		origin = "AWS_DEFAULT_REGION";
	else
	{
		region = aws_profile_region();
		origin = "the AWS profile's region";
	}
	if (region == NULL || region[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no AWS region configured"),
				 errhint("Set dynamo_atomic.region, or AWS_REGION in the server's environment.")));
	if (!region_is_valid(region))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid AWS region \"%s\" from %s", region, origin),
				 errdetail("A region name has only lower-case letters, digits and hyphens, like \"us-east-1\".")));
	return region;
}

static bool
url_has_part(CURLU *url, CURLUPart which)
{
	char	   *part = NULL;
	bool		has = curl_url_get(url, which, &part, 0) == CURLUE_OK;

	curl_free(part);
	return has;
}

bool
endpoint_url_parse(const char *url, char **host_out, char **path_out)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *port = NULL;
	char	   *path = NULL;
	bool		ok;

	if (u == NULL)
		return false;
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		(strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] != '\0' &&
		curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
		!url_has_part(u, CURLUPART_USER) &&
		!url_has_part(u, CURLUPART_QUERY) &&
		!url_has_part(u, CURLUPART_FRAGMENT);
	if (ok)
	{
		/* Only an explicit port goes into Host; libcurl sends the same. */
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		if (host_out)
			*host_out = port ? psprintf("%s:%s", host, port) : pstrdup(host);
		if (path_out)
			*path_out = pstrdup(path[0] ? path : "/");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return ok;
}

/*
 * endpoint_url_parse for every request, with the last URL's parts kept:
 * the URL rarely changes, and parsing it was a visible share of a call.
 */
static bool
parse_cached(const char *url, char **host, char **path)
{
	static char *last_url = NULL;
	static char *last_host = NULL;
	static char *last_path = NULL;
	MemoryContext old;

	if (last_url == NULL || strcmp(last_url, url) != 0)
	{
		char	   *h;
		char	   *p;

		if (!endpoint_url_parse(url, &h, &p))
			return false;
		if (last_url)
		{
			pfree(last_url);
			pfree(last_host);
			pfree(last_path);
			last_url = NULL;	/* until the new one is all in place */
		}
		old = MemoryContextSwitchTo(TopMemoryContext);
		last_host = pstrdup(h);
		last_path = pstrdup(p);
		last_url = pstrdup(url);
		MemoryContextSwitchTo(old);
	}
	*host = pstrdup(last_host);
	*path = pstrdup(last_path);
	return true;
}

const char *
aws_region_resolve(void)
{
	return resolve_region();
}

/*
 * The SDKs' configured endpoints, in their order: AWS_ENDPOINT_URL_DYNAMODB,
 * AWS_ENDPOINT_URL, the profile's services section, the profile's
 * endpoint_url; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the
 * profile's ignore_configured_endpoint_urls is true.
 */
static const char *
configured_endpoint(void)
{
	const char *url;
	const char *origin;

	if (aws_ignore_configured_endpoints())
		return NULL;
	url = first_set(getenv("AWS_ENDPOINT_URL_DYNAMODB"), getenv("AWS_ENDPOINT_URL"), NULL);
	if (url == NULL)
		url = aws_profile_dynamodb_endpoint(&origin);
	return url;
}

void
ddb_endpoint_resolve(DdbEndpoint *out, const char *url, const char *region)
{
	/* Before anything else: a misspelt setting is the reason for what follows. */
	config_check_require_clean();
	if (url == NULL)
		url = first_set(dynamo_endpoint, NULL, NULL);
	if (url == NULL)
		url = configured_endpoint();
	out->region = pstrdup(region ? region : resolve_region());
	if (url)
		out->url = pstrdup(url);
	else if (strncmp(out->region, "cn-", 3) == 0)
		out->url = psprintf("https://dynamodb.%s.amazonaws.com.cn", out->region);
	else
		out->url = psprintf("https://dynamodb.%s.amazonaws.com", out->region);
	if (!parse_cached(out->url, &out->host, &out->path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("DynamoDB endpoint \"%s\" cannot be used", out->url),
				 errdetail("The endpoint must be an http:// or https:// URL with a host, "
						   "without user name, query or fragment.")));
}

bool
endpoint_url_is_valid(const char *url)
{
	return endpoint_url_parse(url, NULL, NULL);
}
