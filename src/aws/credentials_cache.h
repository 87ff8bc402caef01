/*
 * credentials_cache.h - credentials fetched from a service (a container,
 * instance metadata, STS, a credential_process), kept per provider and
 * refreshed ahead of their expiry.
 *
 * Two levels.  Each process keeps what it last used (no lock, no copy on
 * the request path).  With shared_preload_libraries, the server keeps one
 * copy per provider in shared memory, so that one process refreshes for
 * all: 200 backends whose credentials expire together make one STS call,
 * not 200.  A provider is keyed by everything that selects its
 * credentials (the role, the profile, the token file, the URL): a process
 * finds in shared memory only what its own settings resolve to.  Secrets
 * there are wiped when replaced and shown by nothing.
 *
 * A provider's use of it:
 *
 *	if (credentials_cache_begin(provider, out))
 *		return;					(fresh here or in shared memory, or still
 *								 valid while another process refreshes)
 *	...fetch...					(this process refreshes for the server)
 *	credentials_cache_store(...)   or, on failure while still valid,
 *	credentials_cache_defer_refresh(...)
 *
 * An error raised meanwhile ends the refresh through
 * credentials_cache_end_refreshes(), called by the chain.
 */
#ifndef DYNAMO_ATOMIC_CREDENTIALS_CACHE_H
#define DYNAMO_ATOMIC_CREDENTIALS_CACHE_H

#include "storage/lwlock.h"

#include "credentials.h"

/*
 * What provider fetched, when fresh (in this process or in shared
 * memory), or still valid while another process refreshes them.  When
 * they are due and no other process refreshes them, returns false: the
 * caller refreshes them, for the whole server.  When none are valid and
 * another process refreshes them, waits for it (interruptibly); its
 * failure is raised here too, rather than tried again at once by every
 * waiter.
 */
extern bool credentials_cache_begin(const char *provider, AwsCredentials *out);

/*
 * Keeps what provider fetched (the strings are copied; the caller wipes
 * its own), and ends this process's refresh of it.  kind: "web identity",
 * "assumed role", "credential_process", "container", "instance metadata";
 * role_arn may be NULL.
 */
extern void credentials_cache_store(const char *provider, const char *kind, const char *role_arn,
									const char *source, const char *access_key_id,
									const char *secret_access_key, const char *session_token,
									TimestampTz expiration);

/* What provider fetched, when not yet due for a refresh. */
extern bool credentials_cache_fresh(const char *provider, AwsCredentials *out);

/*
 * What provider fetched, when due for a refresh but not yet expired (nor
 * rejected by AWS): a refresh that failed keeps it in use until then.
 */
extern bool credentials_cache_still_valid(const char *provider, AwsCredentials *out);

/*
 * A refresh of provider's credentials failed (why) while they are still
 * valid: the next one is tried 30 s later, by any process (at the latest
 * when they expire), not at every call, so that a slow STS does not stall
 * each call, or a lock worker's heartbeats, again.
 */
extern void credentials_cache_defer_refresh(const char *provider, const char *why);

/*
 * Ends the refreshes this process began and has not ended: after an error
 * (recorded for the waiters and for dynamo_credentials_info when it is a
 * credentials error, 28000) or at exit.  error may be NULL.
 */
extern void credentials_cache_end_refreshes(const char *message, const char *detail, int sqlerrcode);

/*
 * The credentials provider fetched, as this process used them, are
 * rejected by AWS: forgotten here, and in shared memory not valid any more
 * and due for a refresh (unless refreshed since by another process).
 */
extern void credentials_cache_reject(const char *provider);

/*
 * Forgets every fetched credential, in this process and in shared memory
 * (other processes' copies become stale): the next call fetches anew.
 */
extern void credentials_cache_reset(void);

/* What dynamo_credentials_info shows of a provider's shared entry. */
typedef struct CredentialsStatus
{
	TimestampTz refreshed_at;	/* 0: not known */
	TimestampTz refresh_at;
	char	   *last_error;		/* NULL: the last refresh worked */
	TimestampTz last_error_at;
	int64		refreshes;		/* fetches stored, server-wide (this process's without preloading) */
	bool		shared;
} CredentialsStatus;

extern void credentials_cache_status(const char *provider, CredentialsStatus *status);

/*
 * The time allowed to a refresh's requests (STS) or command
 * (credential_process): dynamo_atomic.request_timeout_ms and
 * connect_timeout_ms, but with shared memory never below their defaults
 * (10 s, 3 s) nor above 60 s and 10 s.  A refresh done for the whole
 * server is not the session's alone: a role that set them low could make
 * every refresh it wins fail, and the sessions waiting for it with it; set
 * high, it could hold them waiting.  A session's cancel or
 * statement_timeout still ends its own wait (and hands the refresh on).
 */
extern int	credentials_refresh_timeout_ms(void);
extern int	credentials_refresh_connect_timeout_ms(void);

/* Zeroes a string in place (a secret in a parsed answer); NULL is fine. */
extern void credentials_cache_wipe_string(const char *s);

/* Shared memory (shmem.c). */
extern Size credentials_cache_shmem_size(void);
extern void credentials_cache_shmem_init(void *base, bool found, LWLock *lock);

#endif
