/*
 * credentials_provider_web_identity.c - the web identity provider: a token
 * in a file (Kubernetes writes a service account's projected token there
 * and rotates it) and a role, exchanged with STS AssumeRoleWithWebIdentity
 * for temporary credentials.  EKS IAM roles for service accounts set
 * AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN in the pod; a profile can
 * name web_identity_token_file and role_arn.
 *
 * The file is read again at every refresh (a rotated token is used from
 * then on).  The credentials are kept until shortly before they expire
 * (credentials_cache.h); a refresh that fails while they are still valid
 * keeps them in use, with a WARNING; once expired, the call fails (28000)
 * naming the role and STS's error code.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "credentials_cache.h"
#include "credentials_providers.h"
#include "sts.h"
#include "secret_strings.h"

/* A projected service account token is a JWT of a few kB. */
#define TOKEN_MAX_BYTES 16384

/* The token, read whole (refused, never cut: a token cut short is another token). */
static char *
read_token(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not read the web identity token file \"%s\": %m", path)));
	buf = palloc(TOKEN_MAX_BYTES + 1);
	n = fread(buf, 1, TOKEN_MAX_BYTES + 1, f);
	fclose(f);
	if (n > TOKEN_MAX_BYTES || memchr(buf, '\0', n) || n == 0)
	{
		explicit_bzero(buf, TOKEN_MAX_BYTES + 1);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the web identity token file \"%s\" %s", path,
						n == 0 ? "is empty" : n > TOKEN_MAX_BYTES ? "is longer than 16384 bytes" : "holds a NUL byte")));
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

/* As the SDKs do, when none is set: one per process, for CloudTrail. */
static pg_noinline char *
default_session_name(void)
{
	return psprintf("dynamo-atomic-%d", MyProcPid);
}

void
credentials_from_web_identity(const char *token_file, const char *role_arn, const char *session_name,
							  const char *origin, AwsCredentials *out)
{
	/* everything that selects the credentials: another session name is another session */
	char	   *provider = psprintf("web identity %s %s %s", role_arn, token_file, session_name ? session_name : "");
	char	   *token;
	char	   *volatile why = NULL;
	StsCredentials issued;
	volatile bool ok = false;

	if (credentials_cache_begin(provider, out))
		return;
	token = read_token(token_file);
	PG_TRY();
	{
		ok = sts_assume_role_with_web_identity(role_arn, is_set(session_name) ? session_name : default_session_name(),
											   token, &issued, (char **) &why);
	}
	PG_FINALLY();
	{
		explicit_bzero(token, strlen(token));
	}
	PG_END_TRY();
	if (!ok)
	{
		/* still valid: the service goes on, and says why it could not refresh */
		if (credentials_cache_still_valid(provider, out))
		{
			credentials_cache_defer_refresh(provider, why);
			ereport(WARNING,
					(errmsg("could not refresh the AWS credentials of role \"%s\" (web identity, %s): the current ones "
							"are used until they expire (tried again in 30 s)", role_arn, origin),
					 errdetail("%s", why)));
			return;
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not get AWS credentials for role \"%s\" by web identity (%s)", role_arn, origin),
				 errdetail("%s", why)));
	}
	credentials_cache_store(provider, "web identity", role_arn, psprintf("web identity (%s): role %s", origin, role_arn),
							issued.access_key_id, issued.secret_access_key, issued.session_token,
							issued.expiration);
	credentials_cache_wipe_string(issued.secret_access_key);
	credentials_cache_wipe_string(issued.session_token);
	if (!credentials_cache_fresh(provider, out) && !credentials_cache_still_valid(provider, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the AWS credentials STS issued for role \"%s\" have already expired", role_arn)));
}
