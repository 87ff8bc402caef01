/*
 * credentials.h - where the AWS credentials come from.
 *
 * The chain, first match wins:
 *   1. dynamo_atomic.access_key_id / secret_access_key / session_token
 *   2. dynamo_atomic.profile, from the shared files
 *   3. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *   4. AWS_PROFILE (or "default"), from the shared files; a profile with
 *      web_identity_token_file and role_arn is a web identity (as 5), one
 *      with role_arn and source_profile or credential_source an assumed
 *      role (credentials_provider_assume_role.c)
 *   5. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS IAM
 *      roles for service accounts), exchanged with STS
 *      (credentials_provider_web_identity.c, sts.c)
 *   6. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE])
 *   7. EC2 instance metadata, IMDSv2 (unless AWS_EC2_METADATA_DISABLED)
 * Credentials from 5, 6 and 7 are cached until shortly before they expire.
 */
#ifndef DYNAMO_ATOMIC_CREDENTIALS_H
#define DYNAMO_ATOMIC_CREDENTIALS_H

#include "datatype/timestamp.h"

typedef struct AwsCredentials
{
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL when there is none */
	const char *source;			/* where they came from; never a secret */
	TimestampTz expiration;		/* 0 when they do not expire */
	/* what dynamo_credentials_info shows: the kind of provider, and the role when one was assumed */
	const char *kind;			/* "settings", "environment", "profile", "web identity", ... */
	const char *role_arn;		/* NULL unless a role was assumed */
	const char *provider;		/* the cache's key for fetched credentials, else NULL; never shown */
} AwsCredentials;

/*
 * Fills *out; raises 28000 naming every place looked in when nothing is
 * found.  The strings stay valid until the next call.
 */
extern void aws_credentials_get(AwsCredentials *out);

/* Forgets the cached credentials AWS rejected (used: as aws_credentials_get gave them). */
extern void aws_credentials_invalidate(const AwsCredentials *used);

/* Forgets every cached credential, this server's too (dynamo_credentials_reset). */
extern void aws_credentials_reset(void);

/* The region set in the active profile's config, or NULL. */
extern const char *aws_profile_region(void);

/*
 * The active profile's DynamoDB endpoint: its services section's dynamodb
 * endpoint_url, else its endpoint_url; NULL when neither.  *origin says
 * which, for messages.
 */
extern const char *aws_profile_dynamodb_endpoint(const char **origin);

/*
 * Configured endpoints (AWS_ENDPOINT_URL*, the profile's) are to be
 * ignored: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS if set (true or false), else
 * the active profile's ignore_configured_endpoint_urls.
 */
extern bool aws_ignore_configured_endpoints(void);

#endif
