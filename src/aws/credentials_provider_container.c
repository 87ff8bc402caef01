/*
 * credentials_provider_container.c - container credentials: ECS task
 * roles (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, the agent at
 * 169.254.170.2) and EKS Pod Identity or any other full URI
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI), with the authorization token from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every fetch: it is
 * rotated) or AWS_CONTAINER_AUTHORIZATION_TOKEN.
 */
#include "postgres.h"

#include "container_url.h"
#include "credentials_cache.h"
#include "credentials_providers.h"
#include "http.h"
#include "secret_strings.h"

#define CONTAINER_TIMEOUT_MS 2000

static char *
container_authorization(void)
{
	const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char	   *value = NULL;

	if (is_set(file))
	{
		FILE	   *f = fopen(file, "r");
		char		buf[8192];
		size_t		n;

		if (f == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("could not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\": %m", file)));
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		/* Refused, never cut: a token cut short is another token. */
		if (n == sizeof(buf) || memchr(buf, '\0', n))
		{
			explicit_bzero(buf, sizeof(buf));
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the container authorization token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\" %s",
							file, n == sizeof(buf) ? "is longer than 8191 bytes" : "holds a NUL byte")));
		}
		buf[n] = '\0';
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		value = pstrdup(buf);
		explicit_bzero(buf, sizeof(buf));
	}
	else if (is_set(token))
		value = pstrdup(token);

	if (value && strpbrk(value, "\r\n"))
	{
		wipe_pfree(value);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the container authorization token contains a line break")));
	}
	return value;
}

/*
 * The container credentials URL, and *display, what messages may show of
 * it: the relative URI is a bearer key on the ECS agent, never shown.
 */
static char *
container_url(const char **display)
{
	const char *relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if (is_set(relative))
	{
		*display = "the ECS agent (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)";
		return psprintf("http://169.254.170.2%s%s", relative[0] == '/' ? "" : "/", relative);
	}
	if (is_set(full))
	{
		*display = full;
		return pstrdup(full);
	}
	return NULL;
}

static void
from_container(const char *url, const char *display, AwsCredentials *out)
{
	char	   *why = NULL;

	if (!credentials_cache_begin(url, out))
	{
		char	   *volatile authorization = NULL;
		HttpHeader	header;
		const char *body;
		size_t		len = 0;

		if (!container_url_is_allowed(url))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the container credentials URI of %s is not allowed", display),
					 errdetail("It must use https, or http to a loopback or ECS/EKS metadata address, "
							   "without user information.")));
		PG_TRY();
		{
			authorization = container_authorization();
			header.name = "Authorization";
			header.value = authorization;
			body = credentials_metadata_request("GET", url, display, &header, authorization ? 1 : 0,
									CONTAINER_TIMEOUT_MS, &len, &why);
			if (body)
				why = (char *) credentials_metadata_store(url, "container", psprintf("container credentials at %s", display),
											 body, len);
		}
		PG_FINALLY();
		{
			http_wipe_response();
			if (authorization)
				wipe_pfree(authorization);
		}
		PG_END_TRY();
		if (why)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("could not get AWS credentials from the container credentials endpoint"),
					 errdetail("%s", why)));
		if (!credentials_cache_fresh(url, out) && !credentials_cache_still_valid(url, out))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the container credentials endpoint gave credentials that have already expired")));
	}
}

/* Container credentials when a container credentials URI is set; false otherwise. */
bool
credentials_from_container_if_set(AwsCredentials *out)
{
	const char *display;
	char	   *url = container_url(&display);

	if (url == NULL)
		return false;
	from_container(url, display, out);
	return true;
}
