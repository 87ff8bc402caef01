/*
 * sts.h - AWS Security Token Service: AssumeRoleWithWebIdentity and AssumeRole, asked for
 * in JSON (Accept: application/json), answered in JSON or, for errors, in
 * XML.  The endpoint follows the SDKs' rules: AWS_ENDPOINT_URL_STS, then
 * AWS_ENDPOINT_URL, then the regional https://sts.<region>.amazonaws.com
 * (the global https://sts.amazonaws.com with AWS_STS_REGIONAL_ENDPOINTS=
 * legacy).
 */
#ifndef DYNAMO_ATOMIC_STS_H
#define DYNAMO_ATOMIC_STS_H

#include "datatype/timestamp.h"

#include "credentials.h"

/* What STS issued: palloc'd; the caller wipes the secret and token. */
typedef struct StsCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;
	TimestampTz expiration;
} StsCredentials;

/* The STS endpoint URL, by the rules above (palloc'd). */
extern char *sts_endpoint_url(void);

/*
 * AssumeRoleWithWebIdentity (unsigned: the token is the proof).  Returns
 * true with *out, or false with *why (STS's error code and message, or the
 * transport's failure; never the token).  Throttling, 5xx, network
 * failures, IDPCommunicationError and InvalidIdentityToken are retried a
 * few times, with backoff, within the request timeout settings.
 */
extern bool sts_assume_role_with_web_identity(const char *role_arn, const char *session_name,
											  const char *token, StsCredentials *out, char **why);

/*
 * AssumeRole, signed (SigV4, service sts) by source: a role of another
 * account, say.  external_id NULL and duration_s 0 leave them out.
 */
extern bool sts_assume_role(const char *role_arn, const char *session_name, const char *external_id, int duration_s,
							const AwsCredentials *source, StsCredentials *out, char **why);

#endif
