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
#include "settings.h"

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

/*
 * What the workers do to the holder when the lease is in danger or lost
 * (lock_registry_watch): nothing, cancel its running statement once per
 * danger, or cancel whatever it runs until the lock's scope ends (a
 * transaction-level or guarded lock: that transaction cannot commit).
 */
typedef enum LockCancel
{
	LOCK_CANCEL_NONE,
	LOCK_CANCEL_ONCE,
	LOCK_CANCEL_REPEAT
} LockCancel;

/* As dynamo_held_locks shows it. */
typedef enum LockState
{
	LOCK_STATE_HELD,
	LOCK_STATE_DANGER,			/* heartbeats have not got through: too little lease left */
	LOCK_STATE_LOST				/* taken over, gone, or its lease ended */
} LockState;

typedef struct LockSlot
{
	bool		in_use;			/* reserved, held, or waiting for its release */
	bool		active;			/* held: the worker refreshes it */
	bool		lost;			/* a heartbeat found it taken over */
	bool		release_pending;	/* its backend exited: a worker releases it */
	LockScope	scope;
	int			pid;			/* the holding backend */
	int			pgprocno;		/* ...and its PGPROC, to tell a reused PID apart */
	int			in_flight;		/* PGPROC number of the process sending a write
								 * for it (heartbeat, refresh, release), or -1 */
	uint32		generation;		/* changes when the slot is reused */
	char		table[LOCK_TABLE_SIZE];
	char		name[LOCK_NAME_SIZE];
	char		owner[LOCK_OWNER_SIZE];
	char		version[LOCK_VERSION_LEN + 1];
	char		endpoint[LOCK_ENDPOINT_SIZE];
	char		region[LOCK_REGION_SIZE];
	LockKeyForm key_form;		/* how its table keys it: learned before the first write */
	int64		fencing_token;	/* 0 in a reserved slot: not known yet */
	int			lease_ms;
	int64		lease_until_ms;	/* as the last answer said */
	/*
	 * The latest the lease could end, counting writes whose answer was
	 * lost or is still to come: a release is worth sending until then.
	 */
	int64		lease_max_ms;
	/* An owner-only release (acquire cut short) is retried until then. */
	int64		release_retry_until_ms;
	int64		next_refresh_ms;
	TimestampTz last_refresh;	/* 0 until the first heartbeat */
	int			refresh_failures;	/* in a row */
	char		note[LOCK_NOTE_SIZE];	/* why it was lost, or the last failure */
	LockCancel	cancel;
	bool		cancel_acked;	/* the holder reported a ONCE cancel (lock_interrupt.c) */
	int			danger_left_ms; /* lock_danger_left_ms, by the acquiring session's settings */
	TimestampTz danger_since;	/* 0: not in danger (a heartbeat's success ends it) */
	TimestampTz cancel_sent_at; /* the last cancel of this danger, or 0 */
	TimestampTz lost_at;		/* 0: not lost (the first time it was found lost) */
} LockSlot;

/* For shmem.c. */
extern Size lock_registry_shmem_size(void);
extern void lock_registry_shmem_init(void *base, bool found, LWLock *lock);

extern bool lock_registry_is_shared(void);

/* A free slot for this backend, or 53400 when dynamo_atomic.max_locks are in use. */
extern int	lock_registry_reserve(void);
/*
 * Records in a reserved slot what is about to be acquired (table, name,
 * owner, endpoint, region, lease_ms), before the acquire is sent: should
 * the backend die before the answer, the lock it may have taken is
 * released by owner.
 */
extern void lock_registry_prepare(int handle, const LockSlot *target);
/* Fills a reserved slot (from a LockSlot built by the caller) and wakes the worker. */
extern void lock_registry_activate(int handle, const LockSlot *held);
extern void lock_registry_free(int handle);
extern void lock_registry_read(int handle, LockSlot *out);
/*
 * A manual refresh first claims the slot, waiting while a worker's
 * heartbeat of it is in flight, so that the two never race: the later
 * write's lease and version are the ones recorded.  record_grant and
 * unclaim end the claim.
 */
extern void lock_registry_claim(int handle, int lease_ms);
extern void lock_registry_unclaim(int handle);
/* After a manual refresh (lease_ms: the lease it asked for). */
extern void lock_registry_record_grant(int handle, const LockGrant *grant, int lease_ms);
extern void lock_registry_mark_lost(int handle, const char *why);
/* An acquire was granted (before the lock is handed to the caller). */
extern void lock_registry_note_grant(int handle, const LockGrant *grant, int lease_ms);
/*
 * A lock this backend could not release (or whose acquire an ERROR cut
 * short after the grant) goes to the workers; a slot with no grant yet is
 * freed.  The backend may live on: the release is conditioned on the
 * token, so it cannot free a later acquisition of its own.
 */
extern void lock_registry_hand_over(int handle);
/* After dynamo_set_atomic moved a held lock's item to a new version. */
extern void lock_registry_set_version(int handle, const char *version);

/*
 * When the slot was found lost, or when its lease ended with no write in
 * flight (even without workers); 0 while neither.
 */
extern TimestampTz lock_registry_lost_at(int handle);
/* The holder reported the workers' cancel: a ONCE cancel is not sent again. */
extern void lock_registry_ack_cancel(int handle);
/* Whether the workers cancel the holder's statements when the lease is in danger. */
extern void lock_registry_set_cancel(int handle, LockCancel cancel);

/*
 * Lease left when a lock enters its danger zone: a third of its lease, or
 * lock_clock_skew_ms + lock_commit_margin_ms (what a commit needs) if that
 * is more.  Heartbeats are due with two thirds left, so only a lease whose
 * heartbeats have not got through for a while gets there.
 */
extern int64 lock_danger_left_ms(int lease_ms);
extern LockState lock_slot_state(const LockSlot *s, int64 now_ms);
/* Where the slot's danger zone begins (epoch ms), by its danger_left_ms. */
extern int64 lock_slot_danger_at(const LockSlot *s);

/*
 * The workers' watch, also run while they wait for an answer: marks the
 * locks whose lease is in danger, or ended with no heartbeat in flight
 * (lost), and sends SIGINT to their holders as each slot's cancel says.
 * *wait_ms: how long until the next lock enters its danger zone (-1: none).
 */
extern void lock_registry_watch(int64 now_ms, long *wait_ms);

/* Every active slot, for dynamo_held_locks; palloc'd. */
extern int	lock_registry_snapshot(LockSlot **out);

/*
 * Hands this backend's remaining slots to the workers as it exits: held
 * locks it could not release, and an acquire cut short, are released by a
 * worker until their lease ends; the rest is freed.  Nothing is sent.
 */
extern void lock_registry_hand_over_mine(void);

/* The worker's side: worker index (0 also fetches ID blocks ahead). */
extern void lock_registry_attach_worker(int index, const char *credentials_digest);
/* After a configuration reload. */
extern void lock_registry_publish_credentials(const char *credentials_digest);
/* Wakes the workers, if any run. */
extern void lock_registry_wake_worker(void);

typedef enum LockRegistryCredentials
{
	REGISTRY_NO_WORKER,			/* no worker runs: nothing refreshes leases */
	REGISTRY_SAME_CREDENTIALS,
	REGISTRY_OTHER_CREDENTIALS
} LockRegistryCredentials;

/* Does a worker run, with credentials settings whose digest is this one? */
extern LockRegistryCredentials lock_registry_check_credentials(const char *credentials_digest);

typedef enum LockWork
{
	LOCK_WORK_HEARTBEAT,
	LOCK_WORK_RELEASE
} LockWork;

/*
 * Claims the most urgent work due at now_ms: the due heartbeat whose lease
 * ends first, else a release.  True with a copy of the slot; false
 * with *wait_ms, how long until the next heartbeat is due.
 */
extern bool lock_registry_next_work(int64 now_ms, int *handle, LockSlot *copy, LockWork *work,
									long *wait_ms);
/* Records a heartbeat of the slot as copied (ignored if the slot was reused since). */
extern void lock_registry_record_heartbeat(int handle, const LockSlot *copy, bool held,
										   const LockGrant *grant, const char *note);
extern void lock_registry_record_failure(int handle, const LockSlot *copy, const char *note);
/* A worker's release of an exited backend's lock is over (done or given up). */
extern void lock_registry_release_done(int handle, const LockSlot *copy, bool retry_later);
/* Backends that are gone without handing over: their held locks are released by a worker. */
extern void lock_registry_drop_orphans(void);

/* Waiting for a lock that is held: a release in this server wakes us. */
extern void lock_registry_wait_begin(uint32 lock_key);
extern void lock_registry_wait_end(void);
extern void lock_registry_wake_waiters(uint32 lock_key);
extern uint32 lock_registry_key(const char *table, const char *name);

#endif
