/*
 * credentials_provider_assume_role.c - a role assumed with STS AssumeRole,
 * signed by a source's credentials: a profile's role_arn with
 * source_profile (another profile, chained; a cycle is refused by the
 * caller) or credential_source (Environment, Ec2InstanceMetadata,
 * EcsContainer), with external_id, role_session_name and duration_seconds.
 * The usual way to reach tables in another account.
 *
 * Kept until shortly before they expire (credentials_cache.h), per role
 * and source key; a refresh that fails while they are still valid keeps
 * them in use, with a WARNING; once expired, the call fails (28000) naming
 * the role and STS's error code.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "credentials_cache.h"
#include "credentials_providers.h"
#include "sts.h"

static pg_noinline char *
default_session_name(void)
{
	return psprintf("dynamo-atomic-%d", MyProcPid);
}

void
credentials_from_assumed_role(const char *provider, const char *role_arn, const char *session_name,
							  const char *external_id, int duration_s, const AwsCredentials *source,
							  const char *origin, AwsCredentials *out)
{
	char	   *why = NULL;
	StsCredentials issued;

	if (!sts_assume_role(role_arn, session_name && session_name[0] ? session_name : default_session_name(),
						 external_id, duration_s, source, &issued, &why))
	{
		if (credentials_cache_still_valid(provider, out))
		{
			credentials_cache_defer_refresh(provider, why);
			ereport(WARNING,
					(errmsg("could not refresh the AWS credentials of role \"%s\" (assumed, %s): the current ones "
							"are used until they expire (tried again in 30 s)", role_arn, origin),
					 errdetail("%s", why)));
			return;
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not assume role \"%s\" (%s)", role_arn, origin),
				 errdetail("%s", why)));
	}
	credentials_cache_store(provider, "assumed role", role_arn, psprintf("assumed role (%s): role %s", origin, role_arn),
							issued.access_key_id, issued.secret_access_key, issued.session_token,
							issued.expiration);
	credentials_cache_wipe_string(issued.secret_access_key);
	credentials_cache_wipe_string(issued.session_token);
	if (!credentials_cache_fresh(provider, out) && !credentials_cache_still_valid(provider, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the AWS credentials STS issued for role \"%s\" have already expired", role_arn)));
}
