/*
 * credentials_cache.h - inside the credential chain: what its providers
 * share (credentials.c keeps it).  Credentials fetched from a service (a
 * container, instance metadata, STS) are kept per backend, keyed by the
 * provider that fetched them, and refreshed ahead of their expiry; their
 * secrets are wiped when replaced.
 */
#ifndef DYNAMO_ATOMIC_CREDENTIALS_CACHE_H
#define DYNAMO_ATOMIC_CREDENTIALS_CACHE_H

#include "credentials.h"

/* Keeps what provider fetched (the strings are copied; the caller wipes its own). */
extern void credentials_cache_store(const char *provider, const char *source, const char *access_key_id,
									const char *secret_access_key, const char *session_token,
									TimestampTz expiration);

/* What provider fetched, when it is not yet due for a refresh. */
extern bool credentials_cache_fresh(const char *provider, AwsCredentials *out);

/*
 * What provider fetched, when due for a refresh but not yet expired: a
 * refresh that failed keeps it in use until then.
 */
extern bool credentials_cache_still_valid(const char *provider, AwsCredentials *out);

/*
 * A refresh of provider's credentials failed while they are still valid:
 * the next one is tried 30 s later (at the latest when they expire), not
 * at every call, so that a slow STS does not stall each call, or a lock
 * worker's heartbeats, again.
 */
extern void credentials_cache_defer_refresh(const char *provider);

/* An ISO 8601 Expiration as a timestamp; 0 when absent, -1 when unreadable. */
extern TimestampTz credentials_parse_expiration(const char *text);

/* Zeroes a string in place (a secret in a parsed answer); NULL is fine. */
extern void credentials_cache_wipe_string(const char *s);

/* The web identity provider (credentials_provider_web_identity.c). */
extern void credentials_from_web_identity(const char *token_file, const char *role_arn,
										  const char *session_name, const char *origin, AwsCredentials *out);

/*
 * The assumed-role provider (credentials_provider_assume_role.c): AssumeRole
 * signed by source, kept under provider (which the caller checked first).
 */
extern void credentials_from_assumed_role(const char *provider, const char *role_arn, const char *session_name, const char *external_id,
										  int duration_s, const AwsCredentials *source, const char *origin,
										  AwsCredentials *out);

/* The credential_process provider (credentials_provider_process.c). */
extern void credentials_from_process(const char *command, const char *origin, AwsCredentials *out);

#endif
