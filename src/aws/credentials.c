/*
 * credentials.c - the AWS credential chain (credentials.h): the providers
 * in order, each in its own file (credentials_providers.h), and what
 * happens when one fails.
 */
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"

#include "aws_profile.h"
#include "credentials.h"
#include "credentials_cache.h"
#include "credentials_providers.h"
#include "settings.h"
#include "sigv4.h"
#include "secret_strings.h"

void
aws_credentials_invalidate(const AwsCredentials *used)
{
	credentials_profile_forget();
	credentials_cache_reject(used->provider);
	sigv4_forget_cached_key();
}

void
aws_credentials_reset(void)
{
	credentials_profile_forget();
	credentials_cache_reset();
	sigv4_forget_cached_key();
}

bool
credentials_from_key_pair(const char *key, const char *secret, const char *token, const char *kind,
						  const char *source, AwsCredentials *out)
{
	if (!is_set(key) && !is_set(secret))
		return false;
	if (!is_set(key) || !is_set(secret))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("an access key ID and a secret access key must be set together"),
				 errdetail("Only one of the pair is set in %s.", source)));
	memset(out, 0, sizeof(*out));
	out->access_key_id = key;
	out->secret_access_key = secret;
	out->session_token = is_set(token) ? token : NULL;
	out->source = source;
	out->kind = kind;
	return true;
}

static void
web_identity_from_environment(AwsCredentials *out)
{
	if (!is_set(getenv("AWS_WEB_IDENTITY_TOKEN_FILE")) || !is_set(getenv("AWS_ROLE_ARN")))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must be set together"),
				 errdetail("Only one of them is set in the server's environment.")));
	credentials_from_web_identity(getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), getenv("AWS_ROLE_ARN"),
								  getenv("AWS_ROLE_SESSION_NAME"), "environment (AWS_WEB_IDENTITY_TOKEN_FILE)", out);
}

/* The chain, first match wins (the order of credentials.h). */
static void
resolve(AwsCredentials *out)
{
	bool		profile_explicit;
	const char *profile;
	char	   *imds_why = NULL;

	if (credentials_from_key_pair(dynamo_access_key_id, dynamo_secret_access_key, dynamo_session_token, "settings",
								  "dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key", out))
		return;

	if (is_set(dynamo_profile))
	{
		credentials_from_profile(dynamo_profile, true, out);
		return;
	}

	if (credentials_from_key_pair(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
								  getenv("AWS_SESSION_TOKEN"), "environment",
								  "environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", out))
		return;

	profile = aws_profile_name(&profile_explicit);
	if (credentials_from_profile(profile, profile_explicit, out))
		return;

	/* EKS IAM roles for service accounts: a token file and a role, exchanged with STS */
	if (is_set(getenv("AWS_WEB_IDENTITY_TOKEN_FILE")) || is_set(getenv("AWS_ROLE_ARN")))
	{
		web_identity_from_environment(out);
		return;
	}

	if (credentials_from_container_if_set(out))
		return;

	if (!credentials_imds_disabled() && credentials_from_instance_metadata(out, &imds_why))
		return;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("Looked in: the dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key settings; "
					   "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables; "
					   "%s; web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set); "
					   "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set); "
					   "instance metadata (%s).",
					   credentials_profile_source(),
					   imds_why ? imds_why : "disabled by AWS_EC2_METADATA_DISABLED"),
			 errhint("Set dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key, "
					 "or give the server's environment AWS credentials.")));
}

/*
 * A refresh this process began for the server ends here, however the chain
 * ends: with credentials, or with an error that the processes waiting for
 * the refresh see too (credentials_cache.h).
 */
void
aws_credentials_get(AwsCredentials *out)
{
	MemoryContext context = CurrentMemoryContext;

	memset(out, 0, sizeof(*out));
	PG_TRY();
	{
		resolve(out);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		credentials_cache_end_refreshes(error->message, error->detail, error->sqlerrcode);
		FreeErrorData(error);
		PG_RE_THROW();
	}
	PG_END_TRY();
	credentials_cache_end_refreshes(NULL, NULL, 0);
}
