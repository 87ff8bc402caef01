/*
 * lock_registry.h - the locks this server's sessions hold.
 *
 * With shared_preload_libraries the registry is in shared memory, where
 * the lock worker finds what to refresh and records each heartbeat (new
 * version, new lease end), and where dynamo_held_locks reads.  Without it
 * each backend keeps its own (nothing refreshes it).
 *
 * A slot records everything the worker needs to refresh the lock without
 * the session: where (endpoint, region, table), what (name), whose (owner,
 * fencing token) and for how long (lease).  The registry also lists the
 * backends waiting for a lock, so that a release in this server wakes them
 * at once.
 */
#ifndef DYNAMO_ATOMIC_LOCK_REGISTRY_H
#define DYNAMO_ATOMIC_LOCK_REGISTRY_H

#include "datatype/timestamp.h"
#include "storage/lwlock.h"

#include "lock_item.h"

#define LOCK_TABLE_SIZE 256		/* 255 characters + NUL */
#define LOCK_NAME_SIZE 2049		/* DynamoDB's 2048-byte key limit + NUL */
#define LOCK_OWNER_SIZE 64
#define LOCK_ENDPOINT_SIZE 512
#define LOCK_REGION_SIZE 65
#define LOCK_NOTE_SIZE 256

typedef enum LockScope
{
	LOCK_SCOPE_SESSION,
	LOCK_SCOPE_XACT
} LockScope;

typedef struct LockSlot
{
	bool		in_use;			/* reserved or held */
	bool		active;			/* held: the worker refreshes it */
	bool		lost;			/* a heartbeat found it taken over */
	LockScope	scope;
	int			pid;			/* the holding backend */
	uint32		generation;		/* changes when the slot is reused */
	char		table[LOCK_TABLE_SIZE];
	char		name[LOCK_NAME_SIZE];
	char		owner[LOCK_OWNER_SIZE];
	char		version[LOCK_VERSION_LEN + 1];
	char		endpoint[LOCK_ENDPOINT_SIZE];
	char		region[LOCK_REGION_SIZE];
	int64		fencing_token;
	int			lease_ms;
	int64		lease_until_ms;
	int64		next_refresh_ms;
	TimestampTz last_refresh;	/* 0 until the first heartbeat */
	int			refresh_failures;	/* in a row */
	char		note[LOCK_NOTE_SIZE];	/* why it was lost, or the last failure */
} LockSlot;

/* For shmem.c. */
extern Size lock_registry_shmem_size(void);
extern void lock_registry_shmem_init(void *base, bool found, LWLock *lock);

extern bool lock_registry_is_shared(void);

/* A free slot for this backend, or 53400 when dynamo_atomic.max_locks are in use. */
extern int	lock_registry_reserve(void);
/* Fills a reserved slot (from a LockSlot built by the caller) and wakes the worker. */
extern void lock_registry_activate(int handle, const LockSlot *held);
extern void lock_registry_free(int handle);
extern void lock_registry_read(int handle, LockSlot *out);
/* After a manual refresh (lease_ms: the lease it asked for). */
extern void lock_registry_record_grant(int handle, const LockGrant *grant, int lease_ms);
extern void lock_registry_mark_lost(int handle, const char *why);
/* After dynamo_set_atomic moved a held lock's item to a new version. */
extern void lock_registry_set_version(int handle, const char *version);

/* Every active slot, for dynamo_held_locks; palloc'd. */
extern int	lock_registry_snapshot(LockSlot **out);

/* The worker's side. */
extern void lock_registry_attach_worker(void);
/* Wakes the worker (it also fetches ID blocks ahead), if one runs. */
extern void lock_registry_wake_worker(void);

/*
 * The next slot due for a heartbeat at now_ms: true with a copy of it;
 * false with *wait_ms, how long until the next one is due.
 */
extern bool lock_registry_next_due(int64 now_ms, int *handle, LockSlot *copy, long *wait_ms);
/* Records a heartbeat of the slot as copied (ignored if the slot was reused since). */
extern void lock_registry_record_heartbeat(int handle, const LockSlot *copy, bool held,
										   const LockGrant *grant, const char *note);
extern void lock_registry_record_failure(int handle, const LockSlot *copy, const char *note);
/* Frees the slots of backends that are gone (their leases simply expire). */
extern void lock_registry_drop_orphans(void);

/* Waiting for a lock that is held: a release in this server wakes us. */
extern void lock_registry_wait_begin(uint32 lock_key);
extern void lock_registry_wait_end(void);
extern void lock_registry_wake_waiters(uint32 lock_key);
extern uint32 lock_registry_key(const char *table, const char *name);

#endif
