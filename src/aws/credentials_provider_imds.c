/*
 * credentials_provider_imds.c - EC2 instance metadata, IMDSv2 only: a
 * session token (PUT), the instance's role, its credentials.  Off with
 * AWS_EC2_METADATA_DISABLED=true; the endpoint from
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (or _MODE=IPv6).
 */
#include "postgres.h"

#include "credentials_cache.h"
#include "credentials_providers.h"
#include "http.h"
#include "secret_strings.h"

#define METADATA_TIMEOUT_MS 1000
#define IMDS_TOKEN_TTL "21600"

bool
credentials_imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");

	return v != NULL && pg_strcasecmp(v, "true") == 0;
}

/* Not inlined: its locals would sit beside a PG_TRY's setjmp. */
static pg_noinline char *
imds_base_url(void)
{
	const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	char	   *url;
	size_t		len;

	if (is_set(endpoint))
		url = pstrdup(endpoint);
	else if (mode && pg_strcasecmp(mode, "IPv6") == 0)
		url = pstrdup("http://[fd00:ec2::254]");
	else
		url = pstrdup("http://169.254.169.254");
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	return url;
}

/* With an IMDSv2 session token: the role name, then the role's credentials. */
static bool
imds_role_credentials(const char *base, const char *roles_url, const char *token, char **why)
{
	HttpHeader	header = {"X-aws-ec2-metadata-token", token};
	const char *body;
	size_t		len = 0;
	char	   *role;
	char	   *creds_url;
	char	   *nl;

	body = credentials_metadata_request("GET", roles_url, roles_url, &header, 1, METADATA_TIMEOUT_MS, &len, why);
	if (body == NULL)
		return false;
	role = pnstrdup(body, len);
	if ((nl = strpbrk(role, "\r\n")) != NULL)
		*nl = '\0';
	if (role[0] == '\0' || strchr(role, '/') != NULL)
	{
		*why = psprintf("GET %s: no IAM role is attached to this instance", roles_url);
		return false;
	}
	creds_url = psprintf("%s%s", roles_url, role);
	body = credentials_metadata_request("GET", creds_url, creds_url, &header, 1, METADATA_TIMEOUT_MS, &len, why);
	if (body == NULL)
		return false;
	*why = (char *) credentials_metadata_store(roles_url, "instance metadata",
								  psprintf("instance metadata at %s (role \"%s\")", base, role),
								  body, len);
	return *why == NULL;
}

/*
 * IMDSv2: a session token first (PUT), then the role name, then the role's
 * credentials.  Returns false with *why when the service does not deliver.
 * The session token and every answer are wiped on every path.
 */
bool
credentials_from_instance_metadata(AwsCredentials *out, char **why)
{
	char	   *base = imds_base_url();
	char	   *roles_url = psprintf("%s/latest/meta-data/iam/security-credentials/", base);
	HttpHeader	header = {"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
	const char *body;
	size_t		len = 0;
	char	   *volatile token;
	volatile bool ok = false;

	if (credentials_cache_begin(roles_url, out))
		return true;

	body = credentials_metadata_request("PUT", psprintf("%s/latest/api/token", base), base, &header, 1,
							METADATA_TIMEOUT_MS, &len, why);
	if (body == NULL)
		return false;
	token = pnstrdup(body, len);
	PG_TRY();
	{
		http_wipe_response();
		ok = imds_role_credentials(base, roles_url, token, why);
	}
	PG_FINALLY();
	{
		http_wipe_response();
		wipe_pfree(token);
	}
	PG_END_TRY();
	if (ok && !credentials_cache_fresh(roles_url, out) && !credentials_cache_still_valid(roles_url, out))
	{
		*why = pstrdup("instance metadata gave credentials that have already expired");
		ok = false;
	}
	return ok;
}
