/*
 * credentials_cache.c - fetched credentials, per process and per server
 * (credentials_cache.h).
 *
 * The shared entry of a provider holds its credentials and who refreshes
 * them now (refresher_pid).  The first process to find them due claims
 * the refresh; the others use them while still valid, or, when none are,
 * wait on the condition variable until the refresher stores new ones or
 * fails.  A refresher that errors, exits or is killed releases its claim
 * (the chain's PG_CATCH, a before_shmem_exit callback, and at worst a
 * waiter that finds it gone or stale), so no waiter waits on a dead one.
 *
 * The LWLock is held only to copy fixed-size fields: nothing that can
 * raise runs under it (no palloc, no ereport), and nothing waits under it.
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "credentials_cache.h"
#include "settings.h"
#include "sigv4.h"
#include "wait_events.h"
#include "secret_strings.h"

/* Refresh expiring credentials this long (or half their life) before they expire. */
#define REFRESH_MARGIN_USECS (300 * USECS_PER_SEC)
/* A refresh that failed while the credentials were valid is tried again this much later. */
#define REFRESH_RETRY_AFTER_FAILURE_S 30
/* Re-fetch credentials that state no expiry this often. */
#define NO_EXPIRY_REFRESH_USECS (900 * USECS_PER_SEC)
/* How often a waiter checks that the refreshing process still lives. */
#define REFRESHER_CHECK_MS 100
/*
 * A refresh claimed longer ago than this is taken over: longer than any
 * provider's bounded work (STS's four attempts, a credential_process's
 * deadline) at the largest request timeout a test or site would set.
 */
#define REFRESH_STALE_USECS (300 * USECS_PER_SEC)

/* Shared entries: one per provider in use on this server. */
#define SHARED_ENTRIES 16
#define DIGEST_HEX 65
/*
 * Sizes: an access key ID is at most 128 characters; a session token has
 * no stated bound but is about 1 kB from STS.  Credentials that do not fit
 * are kept per process only (as without preloading), never cut.
 */
#define KEY_ID_SIZE 129
#define SECRET_SIZE 257
#define TOKEN_SIZE 8193
#define ARN_SIZE 2049			/* an IAM ARN is at most 2048 characters */
#define TEXT_SIZE 2560

typedef struct SharedEntry
{
	bool		in_use;
	char		digest[DIGEST_HEX]; /* SHA-256 of the provider key (which may name a bearer URL) */
	uint64		generation;		/* bumped at every store; 0: never stored */
	bool		rejected;		/* AWS refused them: not valid, whatever their expiry */
	bool		oversized;		/* the last ones did not fit: each process keeps its own */
	uint64		claim_epoch;	/* the reset epoch when the refresh now running began */
	char		access_key_id[KEY_ID_SIZE];
	char		secret_access_key[SECRET_SIZE];
	char		session_token[TOKEN_SIZE];	/* "" when none */
	char		kind[32];
	char		role_arn[ARN_SIZE];
	char		source[TEXT_SIZE];
	TimestampTz expiration;		/* 0: none stated */
	TimestampTz refresh_at;
	TimestampTz refreshed_at;
	TimestampTz used_at;
	int			refresher_pid;	/* 0: nobody refreshes them now */
	TimestampTz refresh_began;
	char		error_message[TEXT_SIZE];	/* the last refresh's failure, "" after a success */
	char		error_detail[TEXT_SIZE];
	TimestampTz error_at;
	int64		refreshes;
} SharedEntry;

typedef struct CredentialsShared
{
	LWLock	   *lock;
	ConditionVariable changed;	/* an entry was stored, or a refresh ended */
	pg_atomic_uint64 epoch;		/* bumped by a reset: every process's copies are stale */
	SharedEntry entries[SHARED_ENTRIES];
} CredentialsShared;

static CredentialsShared *shared = NULL;

/* Per process: what this process last used, by provider. */
#define LOCAL_SLOTS 4

typedef struct LocalSlot
{
	bool		valid;
	char	   *provider;
	AwsCredentials creds;
	TimestampTz refresh_at;
	TimestampTz refreshed_at;
	TimestampTz used_at;		/* the least recently used slot is replaced */
	uint64		generation;		/* of the shared entry it was copied from (0: none) */
	uint64		epoch;			/* the shared epoch when it was stored */
	bool		single_use;		/* fetched across a reset: for the call that fetched it only */
	int64		refreshes;		/* fetched by this process */
} LocalSlot;

static LocalSlot local_slots[LOCAL_SLOTS];
static MemoryContext cache_context = NULL;
static int	claims_held = 0;
static bool exit_callback_registered = false;
/* An entry copied out under the lock, wiped once installed; and the reset epoch then. */
static SharedEntry snapshot;
static uint64 snapshot_epoch;
/* The reset epoch when this process last set out to fetch (begin returned false). */
static uint64 fetch_epoch;

Size
credentials_cache_shmem_size(void)
{
	return sizeof(CredentialsShared);
}

void
credentials_cache_shmem_init(void *base, bool found, LWLock *lock)
{
	shared = base;
	if (found)
		return;
	memset(shared, 0, sizeof(CredentialsShared));
	shared->lock = lock;
	ConditionVariableInit(&shared->changed);
	pg_atomic_init_u64(&shared->epoch, 1);
}

void
credentials_cache_wipe_string(const char *s)
{
	if (s)
		explicit_bzero((char *) s, strlen(s));
}

static char *
copy_to_cache(const char *s)
{
	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic credentials",
											  ALLOCSET_SMALL_SIZES);
	return s ? MemoryContextStrdup(cache_context, s) : NULL;
}

static TimestampTz
refresh_time(TimestampTz expiration, TimestampTz now)
{
	if (expiration == 0)
		return now + NO_EXPIRY_REFRESH_USECS;
	return expiration - Min(REFRESH_MARGIN_USECS, Max(0, (expiration - now) / 2));
}

/*
 * A refresh for the whole server is bounded by the server, not by the
 * session that happens to run it: the settings' defaults at least, and at
 * most these (so that REFRESH_STALE_USECS outlasts STS's four attempts).
 */
#define DEFAULT_REQUEST_TIMEOUT_MS 10000
#define MAX_REFRESH_REQUEST_TIMEOUT_MS 60000
#define DEFAULT_CONNECT_TIMEOUT_MS 3000
#define MAX_REFRESH_CONNECT_TIMEOUT_MS 10000

int
credentials_refresh_timeout_ms(void)
{
	if (shared == NULL)
		return dynamo_request_timeout_ms;
	return Min(Max(dynamo_request_timeout_ms, DEFAULT_REQUEST_TIMEOUT_MS), MAX_REFRESH_REQUEST_TIMEOUT_MS);
}

int
credentials_refresh_connect_timeout_ms(void)
{
	if (shared == NULL)
		return dynamo_connect_timeout_ms;
	return Min(Max(dynamo_connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS), MAX_REFRESH_CONNECT_TIMEOUT_MS);
}

/* ---- per process ---- */

static void
forget_slot(LocalSlot *slot)
{
	if (!slot->valid)
		return;
	wipe_pfree(slot->creds.access_key_id);
	wipe_pfree(slot->creds.secret_access_key);
	wipe_pfree(slot->creds.session_token);
	pfree((char *) slot->creds.source);
	pfree((char *) slot->creds.kind);
	if (slot->creds.role_arn)
		pfree((char *) slot->creds.role_arn);
	pfree(slot->provider);
	slot->valid = false;
}

static LocalSlot *
local_slot(const char *provider)
{
	for (int i = 0; i < LOCAL_SLOTS; i++)
		if (local_slots[i].valid && strcmp(local_slots[i].provider, provider) == 0)
			return &local_slots[i];
	return NULL;
}

/* provider's slot, emptied, or a free or the least recently used one. */
static LocalSlot *
local_slot_for(const char *provider)
{
	LocalSlot  *slot = local_slot(provider);

	if (slot == NULL)
	{
		slot = &local_slots[0];
		for (int i = 0; i < LOCAL_SLOTS && slot->valid; i++)
			if (!local_slots[i].valid || local_slots[i].used_at < slot->used_at)
				slot = &local_slots[i];
	}
	forget_slot(slot);
	return slot;
}

/* epoch: the reset epoch the credentials belong to (a reset since makes them stale here too). */
static void
local_store(const char *provider, const char *kind, const char *role_arn, const char *source,
			const char *access_key_id, const char *secret_access_key, const char *session_token,
			TimestampTz expiration, TimestampTz refresh_at, TimestampTz refreshed_at, uint64 generation,
			uint64 epoch)
{
	LocalSlot  *slot = local_slot_for(provider);
	int64		refreshes = 0;

	slot->creds.access_key_id = copy_to_cache(access_key_id);
	slot->creds.secret_access_key = copy_to_cache(secret_access_key);
	slot->creds.session_token = is_set(session_token) ? copy_to_cache(session_token) : NULL;
	slot->creds.source = copy_to_cache(source);
	slot->creds.kind = copy_to_cache(kind);
	slot->creds.role_arn = is_set(role_arn) ? copy_to_cache(role_arn) : NULL;
	slot->creds.expiration = expiration;
	slot->provider = copy_to_cache(provider);
	slot->creds.provider = slot->provider;
	slot->refresh_at = refresh_at;
	slot->refreshed_at = refreshed_at;
	slot->used_at = GetCurrentTimestamp();
	slot->generation = generation;
	slot->epoch = epoch;
	slot->single_use = false;
	slot->refreshes = refreshes;
	slot->valid = true;
}

/* This process's copy, unless due or reset since. */
static bool
local_fresh(const LocalSlot *slot, TimestampTz now)
{
	return slot && now < slot->refresh_at && (shared == NULL || slot->epoch == pg_atomic_read_u64(&shared->epoch));
}

static bool
local_use(LocalSlot *slot, AwsCredentials *out)
{
	slot->used_at = GetCurrentTimestamp();
	*out = slot->creds;
	return true;
}

/* ---- shared ---- */

static void
provider_digest(const char *provider, char *digest)
{
	if (!sigv4_sha256_hex(provider, strlen(provider), digest))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not hash a credentials provider")));
}

/* Under the lock. */
static SharedEntry *
find_entry(const char *digest)
{
	for (int i = 0; i < SHARED_ENTRIES; i++)
		if (shared->entries[i].in_use && strcmp(shared->entries[i].digest, digest) == 0)
			return &shared->entries[i];
	return NULL;
}

static void
wipe_entry(SharedEntry *e)
{
	explicit_bzero(e->secret_access_key, sizeof(e->secret_access_key));
	explicit_bzero(e->session_token, sizeof(e->session_token));
	memset(e, 0, sizeof(*e));
}

/* Under the lock, exclusive: a free entry, or the least recently used that nobody refreshes; NULL if none. */
static SharedEntry *
claimable_entry(const char *digest)
{
	SharedEntry *best = NULL;

	for (int i = 0; i < SHARED_ENTRIES; i++)
	{
		SharedEntry *e = &shared->entries[i];

		if (!e->in_use)
		{
			best = e;
			break;
		}
		if (e->refresher_pid == 0 && (best == NULL || e->used_at < best->used_at))
			best = e;
	}
	if (best)
	{
		wipe_entry(best);
		best->in_use = true;
		strlcpy(best->digest, digest, DIGEST_HEX);
	}
	return best;
}

/*
 * A message for shared memory: read by processes of other databases, in
 * other encodings, so kept to printable ASCII (anything else becomes '?'),
 * and cut to fit at a character boundary thereby.
 */
static void
copy_message(char *dst, const char *src, size_t size)
{
	size_t		i = 0;

	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static bool
entry_valid(const SharedEntry *e, TimestampTz now)
{
	return e->generation != 0 && !e->rejected && (e->expiration == 0 || now < e->expiration);
}

static bool
entry_fresh(const SharedEntry *e, TimestampTz now)
{
	return entry_valid(e, now) && now < e->refresh_at;
}

/* Is the refresh claimed by a process that is gone, or claimed too long ago? */
static bool
refresher_gone(const SharedEntry *e, TimestampTz now)
{
	if (e->refresher_pid == 0 || e->refresher_pid == MyProcPid)
		return false;
	return now - e->refresh_began > REFRESH_STALE_USECS ||
		(kill(e->refresher_pid, 0) != 0 && errno == ESRCH);
}

/* Copies e out (under the lock), to be installed once the lock is released. */
static void
take_snapshot(const SharedEntry *e)
{
	memcpy(&snapshot, e, sizeof(snapshot));
	snapshot.used_at = GetCurrentTimestamp();
	snapshot_epoch = pg_atomic_read_u64(&shared->epoch);
}

/* The snapshot, as provider's per-process slot; wiped. */
static void
install_snapshot(const char *provider, AwsCredentials *out)
{
	LocalSlot  *slot;

	local_store(provider, snapshot.kind, snapshot.role_arn, snapshot.source, snapshot.access_key_id,
				snapshot.secret_access_key, snapshot.session_token, snapshot.expiration,
				snapshot.refresh_at, snapshot.refreshed_at, snapshot.generation, snapshot_epoch);
	wipe_entry(&snapshot);
	slot = local_slot(provider);
	local_use(slot, out);
}

static void
release_claims_at_exit(int code, Datum arg)
{
	credentials_cache_end_refreshes(NULL, NULL, 0);
}

/* Under the lock, exclusive. */
static void
claim(SharedEntry *e, TimestampTz now)
{
	e->refresher_pid = MyProcPid;
	e->refresh_began = now;
	e->claim_epoch = pg_atomic_read_u64(&shared->epoch);
	claims_held++;
}

/* Under the lock, exclusive. */
static void
end_claim(SharedEntry *e)
{
	if (e->refresher_pid == MyProcPid)
	{
		e->refresher_pid = 0;
		claims_held = Max(0, claims_held - 1);
	}
}

bool
credentials_cache_begin(const char *provider, AwsCredentials *out)
{
	LocalSlot  *slot = local_slot(provider);
	TimestampTz now = GetCurrentTimestamp();
	char		digest[DIGEST_HEX];
	bool		waited = false;
	TimestampTz wait_began = now;

	if (local_fresh(slot, now))
		return local_use(slot, out);
	if (shared == NULL)
		return false;			/* without preloading: this process refreshes its own */

	provider_digest(provider, digest);
	if (!exit_callback_registered)
	{
		before_shmem_exit(release_claims_at_exit, 0);
		exit_callback_registered = true;
	}
	for (;;)
	{
		SharedEntry *e;
		char		message[TEXT_SIZE];
		char		detail[TEXT_SIZE];

		now = GetCurrentTimestamp();
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		e = find_entry(digest);
		if (e && entry_fresh(e, now))
		{
			e->used_at = now;
			take_snapshot(e);
			LWLockRelease(shared->lock);
			break;
		}
		if (e && e->oversized && e->refresher_pid == 0)
		{
			/* they do not fit in shared memory: each process fetches its own, nobody waits */
			fetch_epoch = pg_atomic_read_u64(&shared->epoch);
			LWLockRelease(shared->lock);
			if (waited)
				ConditionVariableCancelSleep();
			return false;
		}
		if (e && e->refresher_pid != 0 && e->refresher_pid != MyProcPid && !refresher_gone(e, now))
		{
			if (entry_valid(e, now))
			{
				/* another process refreshes them: these serve meanwhile, without a wait */
				e->used_at = now;
				take_snapshot(e);
				LWLockRelease(shared->lock);
				break;
			}
			LWLockRelease(shared->lock);
			if (!waited)
				ConditionVariablePrepareToSleep(&shared->changed);
			waited = true;
			(void) ConditionVariableTimedSleep(&shared->changed, REFRESHER_CHECK_MS,
											   dynamo_wait_event(DYNAMO_WAIT_CREDENTIALS));
			continue;
		}
		if (e && waited && e->refresher_pid == 0 && e->error_at >= wait_began && e->error_message[0])
		{
			/* the refresh waited for failed: its error, rather than one more attempt per waiter */
			strlcpy(message, e->error_message, sizeof(message));
			strlcpy(detail, e->error_detail, sizeof(detail));
			LWLockRelease(shared->lock);
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("%s", message),
					 detail[0] ? errdetail("%s", detail) : 0,
					 errhint("Another process of this server refreshed these credentials and failed; "
							 "the next call tries again.")));
		}
		if (e == NULL)
			e = claimable_entry(digest);
		if (e)
		{
			if (e->refresher_pid != 0 && e->refresher_pid != MyProcPid)
				e->refresher_pid = 0;	/* gone or stale: taken over */
			if (e->refresher_pid != MyProcPid)
				claim(e, now);
		}
		fetch_epoch = pg_atomic_read_u64(&shared->epoch);
		LWLockRelease(shared->lock);
		if (waited)
			ConditionVariableCancelSleep();
		return false;
	}
	if (waited)
		ConditionVariableCancelSleep();
	install_snapshot(provider, out);
	return true;
}

void
credentials_cache_store(const char *provider, const char *kind, const char *role_arn, const char *source,
						const char *access_key_id, const char *secret_access_key, const char *session_token,
						TimestampTz expiration)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz refresh_at = refresh_time(expiration, now);
	uint64		generation = 0;
	uint64		epoch = 0;
	bool		single_use = false;
	LocalSlot  *slot;

	if (shared)
	{
		char		digest[DIGEST_HEX];
		SharedEntry *e;
		bool		fits = strlen(access_key_id) < KEY_ID_SIZE && strlen(secret_access_key) < SECRET_SIZE &&
			(session_token == NULL || strlen(session_token) < TOKEN_SIZE) &&
			strlen(kind) < sizeof(e->kind) && (role_arn == NULL || strlen(role_arn) < ARN_SIZE) &&
			strlen(source) < TEXT_SIZE;

		provider_digest(provider, digest);
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		epoch = pg_atomic_read_u64(&shared->epoch);
		e = find_entry(digest);
		if (e == NULL)
			e = claimable_entry(digest);
		if (fetch_epoch != epoch)
		{
			/*
			 * A reset came while this fetch ran (claimed or not): what it
			 * fetched may be what the reset was for.  Not published; used by
			 * this call only, then stale here too.
			 */
			single_use = true;
			if (e)
				end_claim(e);
		}
		else if (e)
		{
			explicit_bzero(e->secret_access_key, sizeof(e->secret_access_key));
			explicit_bzero(e->session_token, sizeof(e->session_token));
			e->oversized = !fits;
			if (fits)
			{
				strlcpy(e->access_key_id, access_key_id, sizeof(e->access_key_id));
				strlcpy(e->secret_access_key, secret_access_key, sizeof(e->secret_access_key));
				strlcpy(e->session_token, session_token ? session_token : "", sizeof(e->session_token));
				strlcpy(e->kind, kind, sizeof(e->kind));
				copy_message(e->role_arn, role_arn, sizeof(e->role_arn));
				copy_message(e->source, source, sizeof(e->source));
				e->expiration = expiration;
				e->refresh_at = refresh_at;
				e->refreshed_at = now;
				e->rejected = false;
				e->error_message[0] = e->error_detail[0] = '\0';
				e->generation++;
				e->refreshes++;
				generation = e->generation;
			}
			else
			{
				/* nothing valid left here: each process fetches its own from now on */
				e->access_key_id[0] = '\0';
				e->generation = 0;
				e->rejected = true;
			}
			e->used_at = now;
			end_claim(e);
		}
		LWLockRelease(shared->lock);
		ConditionVariableBroadcast(&shared->changed);
	}
	local_store(provider, kind, role_arn, source, access_key_id, secret_access_key, session_token,
				expiration, single_use ? 0 : refresh_at, now, generation, single_use ? fetch_epoch : epoch);
	slot = local_slot(provider);
	slot->single_use = single_use;
	slot->refreshes++;
}

/*
 * provider's credentials, here or in shared memory: fresh ones, or with
 * due_ok any still valid.
 */
static bool
lookup(const char *provider, AwsCredentials *out, bool due_ok)
{
	LocalSlot  *slot = local_slot(provider);
	TimestampTz now = GetCurrentTimestamp();
	char		digest[DIGEST_HEX];
	SharedEntry *e;
	bool		found = false;

	if (slot && slot->single_use)
	{
		/* the call that fetched it across a reset takes it, once */
		slot->single_use = false;
		return local_use(slot, out);
	}
	if (local_fresh(slot, now) ||
		(due_ok && slot && (slot->creds.expiration == 0 || now < slot->creds.expiration) &&
		 (shared == NULL || slot->epoch == pg_atomic_read_u64(&shared->epoch))))
		return local_use(slot, out);
	if (shared == NULL)
		return false;
	provider_digest(provider, digest);
	LWLockAcquire(shared->lock, LW_SHARED);
	e = find_entry(digest);
	if (e && (due_ok ? entry_valid(e, now) : entry_fresh(e, now)))
	{
		take_snapshot(e);
		found = true;
	}
	LWLockRelease(shared->lock);
	if (found)
		install_snapshot(provider, out);
	return found;
}

bool
credentials_cache_fresh(const char *provider, AwsCredentials *out)
{
	return lookup(provider, out, false);
}

bool
credentials_cache_still_valid(const char *provider, AwsCredentials *out)
{
	return lookup(provider, out, true);
}

void
credentials_cache_defer_refresh(const char *provider, const char *why)
{
	LocalSlot  *slot = local_slot(provider);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next = now + (TimestampTz) REFRESH_RETRY_AFTER_FAILURE_S * USECS_PER_SEC;

	if (slot)
		slot->refresh_at = slot->creds.expiration != 0 ? Min(next, slot->creds.expiration) : next;
	if (shared)
	{
		char		digest[DIGEST_HEX];
		SharedEntry *e;

		provider_digest(provider, digest);
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		e = find_entry(digest);
		if (e)
		{
			e->refresh_at = e->expiration != 0 ? Min(next, e->expiration) : next;
			copy_message(e->error_message, why, sizeof(e->error_message));
			e->error_detail[0] = '\0';
			e->error_at = now;
			end_claim(e);
		}
		LWLockRelease(shared->lock);
		ConditionVariableBroadcast(&shared->changed);
	}
}

void
credentials_cache_end_refreshes(const char *message, const char *detail, int sqlerrcode)
{
	TimestampTz now;

	if (shared == NULL || claims_held == 0)
		return;
	now = GetCurrentTimestamp();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SHARED_ENTRIES; i++)
	{
		SharedEntry *e = &shared->entries[i];

		if (!e->in_use || e->refresher_pid != MyProcPid)
			continue;
		/* a credentials error is the refresh's outcome; a cancel is not (a waiter tries) */
		if (message && sqlerrcode == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION)
		{
			copy_message(e->error_message, message, sizeof(e->error_message));
			copy_message(e->error_detail, detail, sizeof(e->error_detail));
			e->error_at = now;
		}
		e->refresher_pid = 0;
	}
	claims_held = 0;
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&shared->changed);
}

void
credentials_cache_reject(const char *provider)
{
	LocalSlot  *slot = provider ? local_slot(provider) : NULL;

	if (slot == NULL)
		return;
	if (shared && slot->generation != 0)
	{
		char		digest[DIGEST_HEX];
		SharedEntry *e;

		provider_digest(provider, digest);
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		e = find_entry(digest);
		/* refreshed since by another process: those are not the ones refused */
		if (e && e->generation == slot->generation)
		{
			e->rejected = true;
			e->refresh_at = 0;
		}
		LWLockRelease(shared->lock);
	}
	forget_slot(slot);
}

void
credentials_cache_reset(void)
{
	for (int i = 0; i < LOCAL_SLOTS; i++)
		forget_slot(&local_slots[i]);
	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < SHARED_ENTRIES; i++)
	{
		SharedEntry *e = &shared->entries[i];

		if (!e->in_use)
			continue;
		if (e->refresher_pid == 0)
			wipe_entry(e);
		else
		{
			/* being refreshed: what the refresher stores is new; until then nothing is valid */
			e->rejected = true;
			e->refresh_at = 0;
		}
	}
	pg_atomic_fetch_add_u64(&shared->epoch, 1);
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&shared->changed);
}

void
credentials_cache_status(const char *provider, CredentialsStatus *status)
{
	LocalSlot  *slot = local_slot(provider);

	memset(status, 0, sizeof(*status));
	if (slot)
	{
		status->refreshed_at = slot->refreshed_at;
		status->refresh_at = slot->refresh_at;
		status->refreshes = slot->refreshes;
	}
	if (shared)
	{
		char		digest[DIGEST_HEX];
		SharedEntry *e;
		char		error[TEXT_SIZE * 2 + 2] = "";

		provider_digest(provider, digest);
		LWLockAcquire(shared->lock, LW_SHARED);
		e = find_entry(digest);
		if (e)
		{
			status->shared = true;
			status->refreshed_at = e->refreshed_at;
			status->refresh_at = e->refresh_at;
			status->refreshes = e->refreshes;
			status->last_error_at = e->error_at;
			if (e->error_message[0])
				snprintf(error, sizeof(error), "%s%s%s", e->error_message, e->error_detail[0] ? ": " : "",
						 e->error_detail);
		}
		LWLockRelease(shared->lock);
		if (error[0])
			status->last_error = pstrdup(error);
	}
}
