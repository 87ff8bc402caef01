/*
 * settings.h - the dynamo_atomic.* configuration parameters (GUCs).
 *
 * An empty string means "not set here": the AWS conventions (environment,
 * shared config files, container and instance credentials) fill the gap.
 */
#ifndef DYNAMO_ATOMIC_SETTINGS_H
#define DYNAMO_ATOMIC_SETTINGS_H

extern char *dynamo_endpoint;
extern char *dynamo_region;
extern char *dynamo_access_key_id;
extern char *dynamo_secret_access_key;
extern char *dynamo_session_token;
extern char *dynamo_profile;
extern int	dynamo_connect_timeout_ms;
extern int	dynamo_request_timeout_ms;
extern int	dynamo_max_retries;
extern char *dynamo_counter_table;
extern bool dynamo_retry_unknown_writes;
extern char *dynamo_allowed_tables;
extern char *dynamo_single_writer_tables;
extern char *dynamo_lock_table;
extern char *dynamo_item_table;
extern int	dynamo_query_page_size;
extern int	dynamo_lock_clock_skew_ms;
extern int	dynamo_max_locks;
extern int	dynamo_max_id_counters;
extern int	dynamo_lock_workers;
extern int	dynamo_id_cache;
extern int	dynamo_id_cache_max;
extern int	dynamo_lock_commit_margin_ms;

typedef enum LockCommitCheck
{
	LOCK_COMMIT_CHECK_LEASE,	/* the registry's lease, by this server's clock */
	LOCK_COMMIT_CHECK_READ		/* ...and a consistent read of the lock item */
} LockCommitCheck;
extern int	dynamo_lock_commit_check;

typedef enum LockLossCancels
{
	LOCK_LOSS_CANCELS_NONE,
	LOCK_LOSS_CANCELS_TRANSACTION,	/* transaction-level and guarded locks' holders */
	LOCK_LOSS_CANCELS_ALL		/* ...and session locks' */
} LockLossCancels;
extern int	dynamo_lock_loss_cancels;
extern int	dynamo_table_recheck_s;
extern bool dynamo_id_prefetch;
extern bool dynamo_combine_increments;
extern bool dynamo_direct_requests;

/* The most lock workers dynamo_atomic.lock_workers allows. */
#define MAX_LOCK_WORKERS 16

/* Defines the settings; url_is_valid checks dynamo_atomic.endpoint (aws/endpoint.c's parser). */
extern void settings_define(bool (*url_is_valid) (const char *url));

#define CREDENTIALS_DIGEST_LEN (64 + 1)	/* SHA-256 in hex, NUL */

/*
 * A digest (SHA-256, hex, NUL-terminated: CREDENTIALS_DIGEST_LEN bytes) of
 * the credentials settings as this process sees them: equal digests sign
 * with the same identity, since every process of a server shares its
 * environment and files.
 */
extern void settings_credentials_digest(char *out);

/*
 * A cheap fingerprint of every setting that selects where a request goes
 * and as whom (endpoint, region, credentials): a cache of what they
 * resolved to compares it on each use, and resolves again when it moved.
 */
extern uint64 settings_target_fingerprint(void);

/*
 * The same question, cheaply, for a cache checked on every call (an ID per
 * row): a number that moves whenever one of those settings is assigned
 * (SET, RESET, a reload, a function's SET clause), and when
 * dynamo_atomic.allowed_tables is (a resolved counter was checked against
 * it).  Equal numbers mean equal settings; a move without a change only
 * costs resolving again.
 */
extern uint64 settings_target_generation(void);

/*
 * True when dynamo_atomic.single_writer_tables lists table: a superuser
 * declared that no other region writes it (global_tables.h).
 */
extern bool settings_table_is_single_writer(const char *table);

/* True for a valid DynamoDB table name: 3-255 of [A-Za-z0-9_.-]. */
extern bool table_name_is_valid(const char *name);

/* True for a plausible AWS region name: lower-case letters, digits, '-'. */
extern bool region_is_valid(const char *region);

/*
 * Raises 42501 unless dynamo_atomic.allowed_tables is empty or lists
 * table (NULL: a request naming no table, always allowed).
 */
extern void settings_check_table_allowed(const char *table);

#endif
