/*
 * credentials_providers.h - inside the credential chain (credentials.c):
 * its providers, one file each, and what they share.  Each fills an
 * AwsCredentials whose strings stay valid until the next call, or raises
 * 28000 saying what is wrong; those that fetch from a service keep what
 * they fetched in credentials_cache.h.
 */
#ifndef DYNAMO_ATOMIC_CREDENTIALS_PROVIDERS_H
#define DYNAMO_ATOMIC_CREDENTIALS_PROVIDERS_H

#include "credentials.h"
#include "http.h"

/*
 * A key ID and secret given together (settings or environment).  Returns
 * false when neither is set; half a pair is an error, not a step onwards.
 */
extern bool credentials_from_key_pair(const char *key, const char *secret, const char *token,
									  const char *kind, const char *source, AwsCredentials *out);

/*
 * A profile's credentials (credentials_provider_profile.c): keys, a web
 * identity, an assumed role or a credential_process.  Returns false when
 * the profile does not exist or holds none and was not named explicitly:
 * the chain goes on.
 */
extern bool credentials_from_profile(const char *name, bool is_explicit, AwsCredentials *out);

/* Where the last profile was looked for, for messages. */
extern const char *credentials_profile_source(void);

/* Forgets the profile read last (the files are read again next time). */
extern void credentials_profile_forget(void);

/* The web identity provider (credentials_provider_web_identity.c). */
extern void credentials_from_web_identity(const char *token_file, const char *role_arn,
										  const char *session_name, const char *origin, AwsCredentials *out);

/*
 * The assumed-role provider (credentials_provider_assume_role.c): AssumeRole
 * signed by source, kept under provider (whose refresh the caller began).
 */
extern void credentials_from_assumed_role(const char *provider, const char *role_arn, const char *session_name,
										  const char *external_id, int duration_s, const AwsCredentials *source,
										  const char *origin, AwsCredentials *out);

/* The credential_process provider (credentials_provider_process.c). */
extern void credentials_from_process(const char *command, const char *origin, AwsCredentials *out);

/* Container credentials when a container credentials URI is set; false otherwise. */
extern bool credentials_from_container_if_set(AwsCredentials *out);

/* IMDSv2 (credentials_provider_imds.c); false with *why when it gives none. */
extern bool credentials_imds_disabled(void);
extern bool credentials_from_instance_metadata(AwsCredentials *out, char **why);

/*
 * One GET or PUT to a metadata service (credentials_metadata.c).  Returns
 * the body (to be wiped with http_wipe_response once read), or NULL with
 * *why, which names the service as display: a URL can itself be a secret.
 */
extern const char *credentials_metadata_request(const char *method, const char *url, const char *display,
												const HttpHeader *headers, int n_headers, int timeout_ms,
												size_t *len, char **why);

/*
 * Takes credentials out of a metadata service's JSON answer into the
 * cache, under provider.  Returns NULL on success, else what was wrong
 * (no secrets in it).
 */
extern const char *credentials_metadata_store(const char *provider, const char *kind, const char *source,
											  const char *json, size_t len);

/* An ISO 8601 Expiration as a timestamp; 0 when absent, -1 when unreadable. */
extern TimestampTz credentials_parse_expiration(const char *text);

#endif
