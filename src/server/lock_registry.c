/*
 * lock_registry.c - the held-lock registry (see lock_registry.h).
 *
 * The LWLock guards every slot and waiter; it is held only to copy a few
 * kilobytes, never across a request.  A slot is reserved before the
 * acquiring request (so a full registry refuses before anything is
 * written) and its generation changes each time it is filled, so a
 * heartbeat that took long cannot write into a slot reused meanwhile.
 *
 * Several workers share the slots: each claims a slot (in_flight) before
 * it sends a write for it and ends the claim when it records the answer,
 * so no two writes of one lock are ever in flight from this server and
 * the answers are recorded in the order the writes were made.  A claim
 * dies with its process: each worker and backend ends its claims as it
 * exits (on_shmem_exit), and a killed one restarts the whole server.
 */
#include "postgres.h"
#include "pg_compat.h"

#include <signal.h>

#include "miscadmin.h"
#include "common/hashfn.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "lock_registry.h"
#include "settings.h"
#include "wait_events.h"

/* A backend waiting for a lock (indexed by BackendId - 1). */
typedef struct Waiter
{
	bool		waiting;
	uint32		lock_key;
	int			pgprocno;
} Waiter;

typedef struct RegistryShared
{
	LWLock	   *lock;
	/* Each worker's PGPROC number, -1 while it does not run (cleared as it exits). */
	int			worker_pgprocno[MAX_LOCK_WORKERS];
	/* What the workers sign with: a digest of their credentials settings. */
	char		credentials_digest[CREDENTIALS_DIGEST_LEN];
	int			n_slots;
	int			n_waiters;
	Size		waiters_offset;
	LockSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} RegistryShared;

static RegistryShared *shared = NULL;

static void ensure_detach_at_exit(void);
static int64 max_write_window_ms(void);

/* Without shared memory: this backend's own slots. */
static LockSlot *local_slots = NULL;
static int	local_n_slots = 0;

static Size
slots_size(void)
{
	return add_size(offsetof(RegistryShared, slots),
					mul_size(dynamo_max_locks, sizeof(LockSlot)));
}

Size
lock_registry_shmem_size(void)
{
	return add_size(MAXALIGN(slots_size()), mul_size(MaxBackends, sizeof(Waiter)));
}

void
lock_registry_shmem_init(void *base, bool found, LWLock *lock)
{
	shared = base;
	if (found)
		return;
	memset(base, 0, lock_registry_shmem_size());
	shared->lock = lock;
	for (int i = 0; i < MAX_LOCK_WORKERS; i++)
		shared->worker_pgprocno[i] = -1;
	shared->n_slots = dynamo_max_locks;
	/* The postmaster's settings, which every worker starts with. */
	settings_credentials_digest(shared->credentials_digest);
	shared->n_waiters = MaxBackends;
	shared->waiters_offset = MAXALIGN(slots_size());
}

bool
lock_registry_is_shared(void)
{
	return shared != NULL;
}

static Waiter *
waiters(void)
{
	return (Waiter *) ((char *) shared + shared->waiters_offset);
}

static LockSlot *
slot(int handle)
{
	return shared ? &shared->slots[handle] : &local_slots[handle];
}

static void
lock_exclusive(void)
{
	if (shared)
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
}

static void
lock_shared(void)
{
	if (shared)
		LWLockAcquire(shared->lock, LW_SHARED);
}

static void
unlock(void)
{
	if (shared)
		LWLockRelease(shared->lock);
}

static int
n_slots(void)
{
	return shared ? shared->n_slots : local_n_slots;
}

int
lock_registry_reserve(void)
{
	int			found = -1;

	ensure_detach_at_exit();
	lock_exclusive();
	for (int i = 0; i < n_slots() && found < 0; i++)
	{
		LockSlot   *s = slot(i);

		/* A release no worker got to before its lease ended is moot. */
		if (!s->in_use ||
			(s->release_pending && s->in_flight < 0 && s->lease_max_ms < lock_now_ms()))
			found = i;
	}
	if (found >= 0)
	{
		LockSlot   *s = slot(found);
		uint32		generation = s->generation;

		memset(s, 0, sizeof(*s));
		s->in_use = true;
		s->pid = MyProcPid;
		s->pgprocno = MyProc ? compat_my_procno() : -1;
		s->in_flight = -1;
		s->generation = generation + 1;
	}
	unlock();
	if (found >= 0)
		return found;
	if (shared)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("all %d slots of the lock registry are in use", shared->n_slots),
				 errhint("Raise dynamo_atomic.max_locks (needs a restart), or release locks.")));

	/* Backend memory: grow. */
	if (local_slots == NULL)
		local_slots = MemoryContextAllocZero(TopMemoryContext, 8 * sizeof(LockSlot));
	else
	{
		local_slots = repalloc(local_slots, 2 * local_n_slots * sizeof(LockSlot));
		memset(local_slots + local_n_slots, 0, local_n_slots * sizeof(LockSlot));
	}
	local_n_slots = local_n_slots ? 2 * local_n_slots : 8;
	return lock_registry_reserve();
}

void
lock_registry_prepare(int handle, const LockSlot *target)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	strlcpy(s->table, target->table, sizeof(s->table));
	strlcpy(s->name, target->name, sizeof(s->name));
	strlcpy(s->owner, target->owner, sizeof(s->owner));
	strlcpy(s->endpoint, target->endpoint, sizeof(s->endpoint));
	strlcpy(s->region, target->region, sizeof(s->region));
	s->key_form = target->key_form;
	s->lease_ms = target->lease_ms;
	unlock();
}

/* A heartbeat is due a third of the way into the lease. */
static int64
refresh_due(const LockSlot *s)
{
	return s->lease_until_ms - (2 * (int64) s->lease_ms) / 3;
}

/* Lost, since at (0: now), and why. */
static void
set_lost(LockSlot *s, const char *why, TimestampTz at)
{
	/* The first finding stands: a later refusal does not move when it was lost. */
	if (s->lost)
		return;
	s->lost = true;
	s->lost_at = at ? at : GetCurrentTimestamp();
	strlcpy(s->note, why, sizeof(s->note));
	/* A once-only cancel is sent once more, now that it is lost. */
	s->cancel_acked = false;
}

/*
 * Its lease and the skew margin have passed, and no write in flight
 * (heartbeat, refresh) could extend it any more: lost, since another server
 * may take it from now.  (Until then a late heartbeat may still keep it:
 * conditioned on owner and token, it cannot succeed once someone else took
 * it.  The danger zone has stopped the holder's work long before.)
 */
static bool
lease_ended_unheard(const LockSlot *s, int64 now_ms)
{
	return now_ms >= s->lease_until_ms + dynamo_lock_clock_skew_ms && s->in_flight < 0;
}

/* A heartbeat got through: the lease is safe again. */
static void
end_danger(LockSlot *s)
{
	s->danger_since = 0;
	s->cancel_sent_at = 0;
	s->cancel_acked = false;
}

void
lock_registry_activate(int handle, const LockSlot *held)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	{
		uint32		generation = s->generation;
		int			pgprocno = s->pgprocno;

		*s = *held;
		s->in_use = true;
		s->active = true;
		s->release_pending = false;
		s->pid = MyProcPid;
		s->pgprocno = pgprocno;
		s->in_flight = -1;
		s->generation = generation;
		s->next_refresh_ms = refresh_due(s);
		s->lease_max_ms = Max(s->lease_max_ms, s->lease_until_ms);
	}
	unlock();
	/* The workers may be sleeping longer than this lease's first heartbeat is due. */
	lock_registry_wake_worker();
}

void
lock_registry_free(int handle)
{
	lock_exclusive();
	slot(handle)->in_use = false;
	slot(handle)->active = false;
	unlock();
}

void
lock_registry_read(int handle, LockSlot *out)
{
	lock_shared();
	*out = *slot(handle);
	unlock();
}

void
lock_registry_claim(int handle, int lease_ms)
{
	LockSlot   *s = slot(handle);

	for (;;)
	{
		bool		claimed = false;

		lock_exclusive();
		if (s->in_flight < 0)
		{
			s->in_flight = MyProc ? compat_my_procno() : 0;
			/* Its answer may be lost: the lease may end as late as its last attempt allows. */
			s->lease_max_ms = Max(s->lease_max_ms, lock_now_ms() + max_write_window_ms() + lease_ms);
			claimed = true;
		}
		unlock();
		if (claimed)
			return;
		/* A heartbeat is bounded by its lease: this wait is too. */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5,
						 dynamo_wait_event(DYNAMO_WAIT_LOCK_REFRESH));
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

void
lock_registry_unclaim(int handle)
{
	lock_exclusive();
	/* Only our own claim: a worker may have claimed it since record_grant. */
	if (slot(handle)->in_flight == (MyProc ? compat_my_procno() : 0))
		slot(handle)->in_flight = -1;
	unlock();
}

void
lock_registry_record_grant(int handle, const LockGrant *grant, int lease_ms)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	s->lease_ms = lease_ms;
	memcpy(s->version, grant->version, sizeof(s->version));
	s->lease_until_ms = grant->lease_until_ms;
	s->lease_max_ms = Max(s->lease_max_ms, s->lease_until_ms);
	s->next_refresh_ms = refresh_due(s);
	s->last_refresh = GetCurrentTimestamp();
	s->refresh_failures = 0;
	s->in_flight = -1;
	s->danger_left_ms = (int) lock_danger_left_ms(lease_ms);
	end_danger(s);
	/*
	 * The refresh was conditioned on owner and token: it is still ours, even
	 * if the watch took it for lost while the refresh was being sent.
	 */
	s->lost = false;
	s->lost_at = 0;
	unlock();
}

void
lock_registry_note_grant(int handle, const LockGrant *grant, int lease_ms)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	s->fencing_token = grant->fencing_token;
	s->lease_until_ms = grant->lease_until_ms;
	s->lease_max_ms = Max(s->lease_max_ms, lock_now_ms() + max_write_window_ms() + lease_ms);
	unlock();
}

void
lock_registry_hand_over(int handle)
{
	LockSlot   *s = slot(handle);

	if (!shared)
	{
		lock_registry_free(handle);
		return;
	}
	lock_exclusive();
	if (s->fencing_token != 0)
	{
		s->active = false;
		s->release_pending = true;
		s->next_refresh_ms = 0;
		if (s->in_flight == compat_my_procno())
			s->in_flight = -1;
	}
	else
		s->in_use = s->active = false;
	unlock();
	lock_registry_wake_worker();
}

void
lock_registry_mark_lost(int handle, const char *why)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	set_lost(s, why, 0);
	unlock();
}

void
lock_registry_set_version(int handle, const char *version)
{
	lock_exclusive();
	strlcpy(slot(handle)->version, version, sizeof(slot(handle)->version));
	unlock();
}

int
lock_registry_snapshot(LockSlot **out)
{
	int			n = 0;

	lock_shared();
	*out = palloc(Max(n_slots(), 1) * sizeof(LockSlot));
	for (int i = 0; i < n_slots(); i++)
		if (slot(i)->active)
			(*out)[n++] = *slot(i);
	unlock();
	return n;
}

/*
 * Does the backend that took the slot still live?  Its PGPROC must still
 * carry its PID (a PID alone may have been reused by any process) and the
 * PID must exist (a PGPROC keeps its last PID while on the free list).  An
 * exiting backend hands its slots over itself (lock_session.c); this is
 * only for one whose exit callbacks did not run to the end.
 */
static bool
holder_alive(const LockSlot *s)
{
	if (s->pgprocno < 0 || compat_proc(s->pgprocno)->pid != s->pid)
		return false;
	return !(kill(s->pid, 0) != 0 && errno == ESRCH);
}

/*
 * How long a write may go on being sent: every attempt at its timeout,
 * and the backoff between them at its cap.
 */
static int64
max_write_window_ms(void)
{
	return (int64) (dynamo_max_retries + 1) * (dynamo_request_timeout_ms + 5000);
}

/*
 * A slot of a backend that is gone: a lock it held (or may have taken, if
 * an acquire was cut short) goes to the workers, to release until its
 * lease ends; anything else is freed.
 */
static void
orphan_to_release(LockSlot *s)
{
	bool		acquire_cut_short = !s->active && s->name[0] != '\0';

	/*
	 * A lock marked lost too: the mark is this server's view (a heartbeat
	 * that DynamoDB applied but never answered keeps it held there), and the
	 * release, conditioned on owner and token, cannot free anyone else's.
	 */
	if ((s->active && !(s->lost && s->lease_max_ms < lock_now_ms())) || acquire_cut_short)
	{
		if (acquire_cut_short && s->fencing_token == 0)
		{
			int64		now = lock_now_ms();

			/* The acquire may still land while its attempts last. */
			s->fencing_token = 0;	/* unknown: released by owner */
			s->release_retry_until_ms = now + max_write_window_ms();
			s->lease_max_ms = s->release_retry_until_ms + s->lease_ms;
		}
		s->active = false;
		s->release_pending = true;
		s->next_refresh_ms = 0;
	}
	else
		s->in_use = s->active = false;
}

/* As a worker or backend exits: it is no longer listed, and its claims end. */
static void
detach(int code, Datum arg)
{
	int			index = DatumGetInt32(arg);
	int			me = compat_my_procno();

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (index >= 0 && index < MAX_LOCK_WORKERS && shared->worker_pgprocno[index] == me)
		shared->worker_pgprocno[index] = -1;
	for (int i = 0; i < shared->n_slots; i++)
	{
		LockSlot   *s = &shared->slots[i];

		if (s->in_flight == me)
			s->in_flight = -1;
		/* Whatever is left of ours (lock_session.c hands over first, if it took a lock). */
		if (index < 0 && s->in_use && !s->release_pending && s->pid == MyProcPid)
			orphan_to_release(s);
	}
	if (compat_backend_index() >= 0 && compat_backend_index() < shared->n_waiters)
		waiters()[compat_backend_index()].waiting = false;
	LWLockRelease(shared->lock);
}

/* Once per backend that uses the registry: its claims and waits end with it. */
static void
ensure_detach_at_exit(void)
{
	static bool registered = false;

	if (shared && !registered && MyProc)
	{
		on_shmem_exit(detach, Int32GetDatum(-1));
		registered = true;
	}
}

void
lock_registry_hand_over_mine(void)
{
	if (!shared)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_slots; i++)
	{
		LockSlot   *s = &shared->slots[i];

		if (!s->in_use || s->release_pending || s->pid != MyProcPid)
			continue;
		/* A worker's heartbeat in flight finishes first; a claim of ours ends. */
		if (s->in_flight == compat_my_procno())
			s->in_flight = -1;
		orphan_to_release(s);
	}
	LWLockRelease(shared->lock);
	lock_registry_wake_worker();
}

void
lock_registry_attach_worker(int index, const char *credentials_digest)
{
	if (index < 0 || index >= MAX_LOCK_WORKERS)
		elog(ERROR, "dynamo_atomic: lock worker index %d out of range", index);
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->worker_pgprocno[index] = compat_my_procno();
	memcpy(shared->credentials_digest, credentials_digest, CREDENTIALS_DIGEST_LEN);
	LWLockRelease(shared->lock);
	on_shmem_exit(detach, Int32GetDatum(index));
}

void
lock_registry_publish_credentials(const char *credentials_digest)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	memcpy(shared->credentials_digest, credentials_digest, CREDENTIALS_DIGEST_LEN);
	LWLockRelease(shared->lock);
}

LockRegistryCredentials
lock_registry_check_credentials(const char *credentials_digest)
{
	LockRegistryCredentials result = REGISTRY_NO_WORKER;

	if (!shared)
		return REGISTRY_NO_WORKER;
	LWLockAcquire(shared->lock, LW_SHARED);
	/* Compared even while no worker runs: one will start with these. */
	if (memcmp(shared->credentials_digest, credentials_digest, CREDENTIALS_DIGEST_LEN) != 0)
		result = REGISTRY_OTHER_CREDENTIALS;
	else
		for (int i = 0; i < MAX_LOCK_WORKERS; i++)
			if (shared->worker_pgprocno[i] >= 0)
				result = REGISTRY_SAME_CREDENTIALS;
	LWLockRelease(shared->lock);
	return result;
}

void
lock_registry_wake_worker(void)
{
	int			workers[MAX_LOCK_WORKERS];

	if (!shared)
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	memcpy(workers, shared->worker_pgprocno, sizeof(workers));
	LWLockRelease(shared->lock);
	for (int i = 0; i < MAX_LOCK_WORKERS; i++)
		if (workers[i] >= 0)
			SetLatch(&ProcGlobal->allProcs[workers[i]].procLatch);
}

bool
lock_registry_next_work(int64 now_ms, int *handle, LockSlot *copy, LockWork *work,
						long *wait_ms)
{
	int64		soonest = PG_INT64_MAX;
	int			release = -1;
	int			urgent = -1;

	lock_exclusive();
	for (int i = 0; i < n_slots(); i++)
	{
		LockSlot   *s = slot(i);

		if (!s->in_use || s->in_flight >= 0)
			continue;
		if (s->release_pending)
		{
			if (s->next_refresh_ms <= now_ms && release < 0)
				release = i;
			else if (s->next_refresh_ms > now_ms)
				soonest = Min(soonest, s->next_refresh_ms);
			continue;
		}
		if (!s->active || s->lost)
			continue;
		/*
		 * Past its lease and the skew margin with no heartbeat through:
		 * another server may take it from now.  Say so, and stop spending
		 * attempts on it (it would always sort first).  (lock_registry_watch
		 * says so too, in time for the holder.)
		 */
		if (lease_ended_unheard(s, now_ms))
		{
			set_lost(s, "lost: its lease ended before a heartbeat got through",
					 lock_ms_to_timestamptz(s->lease_until_ms));
			continue;
		}
		if (s->next_refresh_ms > now_ms)
			soonest = Min(soonest, s->next_refresh_ms);
		/* Most urgent first: the lease that ends soonest. */
		else if (urgent < 0 || s->lease_until_ms < slot(urgent)->lease_until_ms)
			urgent = i;
	}
	/* Live leases first: a release that waits costs nothing its lease does not end. */
	*handle = urgent >= 0 ? urgent : release;
	if (*handle >= 0)
	{
		LockSlot   *s = slot(*handle);

		s->in_flight = compat_my_procno();
		/* A heartbeat's attempts end with its lease: a lost answer extends it at most this far. */
		if (urgent >= 0)
			s->lease_max_ms = Max(s->lease_max_ms, s->lease_until_ms + s->lease_ms + 1000);
		*copy = *s;
		*work = urgent >= 0 ? LOCK_WORK_HEARTBEAT : LOCK_WORK_RELEASE;
	}
	unlock();
	*wait_ms = soonest == PG_INT64_MAX ? -1 : (long) Min(soonest - now_ms, (int64) LONG_MAX);
	return *handle >= 0;
}

/* Is the slot still the one copied (not released or reused since)? */
static bool
still_same(const LockSlot *s, const LockSlot *copy)
{
	return s->in_use && s->generation == copy->generation;
}

void
lock_registry_record_heartbeat(int handle, const LockSlot *copy, bool held,
							   const LockGrant *grant, const char *note)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	if (still_same(s, copy))
	{
		s->in_flight = -1;
		s->last_refresh = GetCurrentTimestamp();
		s->refresh_failures = 0;
		if (held)
		{
			memcpy(s->version, grant->version, sizeof(s->version));
			s->lease_until_ms = grant->lease_until_ms;
			s->lease_max_ms = Max(s->lease_max_ms, s->lease_until_ms);
			end_danger(s);
			/* Handed over meanwhile: its release stays due now. */
			if (!s->release_pending)
				s->next_refresh_ms = refresh_due(s);
		}
		else
			set_lost(s, note, 0);
	}
	unlock();
}

/* Try again soon, but not in a tight loop. */
static void
retry_later(LockSlot *s)
{
	s->next_refresh_ms = lock_now_ms() + Min(1000, Max(100, s->lease_ms / 10));
}

void
lock_registry_record_failure(int handle, const LockSlot *copy, const char *note)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	if (still_same(s, copy))
	{
		s->in_flight = -1;
		s->refresh_failures++;
		strlcpy(s->note, note, sizeof(s->note));
		if (!s->release_pending)
			retry_later(s);
	}
	unlock();
}

void
lock_registry_release_done(int handle, const LockSlot *copy, bool again)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	if (still_same(s, copy))
	{
		s->in_flight = -1;
		if (again)
			retry_later(s);
		else
			s->in_use = s->release_pending = false;
	}
	unlock();
}

void
lock_registry_drop_orphans(void)
{
	lock_exclusive();
	for (int i = 0; i < n_slots(); i++)
	{
		LockSlot   *s = slot(i);

		if (!s->in_use || s->release_pending || holder_alive(s))
			continue;
		if (s->in_flight >= 0 && s->in_flight == s->pgprocno)
			s->in_flight = -1;
		orphan_to_release(s);
	}
	unlock();
}

TimestampTz
lock_registry_lost_at(int handle)
{
	LockSlot   *s = slot(handle);
	TimestampTz at = 0;

	lock_shared();
	if (s->lost)
		at = s->lost_at;
	else if (lease_ended_unheard(s, lock_now_ms()))
		at = lock_ms_to_timestamptz(s->lease_until_ms);
	unlock();
	return at;
}

void
lock_registry_ack_cancel(int handle)
{
	lock_exclusive();
	slot(handle)->cancel_acked = true;
	unlock();
}

void
lock_registry_set_cancel(int handle, LockCancel cancel)
{
	lock_exclusive();
	slot(handle)->cancel = cancel;
	unlock();
}

int64
lock_danger_left_ms(int lease_ms)
{
	return Max((int64) lease_ms / 3, (int64) dynamo_lock_clock_skew_ms + dynamo_lock_commit_margin_ms);
}

int64
lock_slot_danger_at(const LockSlot *s)
{
	/*
	 * A session lock nobody is cancelled for (nor bound to a commit): its
	 * last third only, so that a short healthy lease does not show danger.
	 */
	if (s->cancel == LOCK_CANCEL_NONE && s->scope == LOCK_SCOPE_SESSION)
		return s->lease_until_ms - s->lease_ms / 3;
	return s->lease_until_ms - (s->danger_left_ms > 0 ? s->danger_left_ms : lock_danger_left_ms(s->lease_ms));
}

LockState
lock_slot_state(const LockSlot *s, int64 now_ms)
{
	if (s->lost)
		return LOCK_STATE_LOST;
	/* Past its lease too, while a heartbeat still in flight may extend it. */
	if (s->danger_since != 0 || now_ms >= lock_slot_danger_at(s))
		return LOCK_STATE_DANGER;
	return LOCK_STATE_HELD;
}

/*
 * A cancel that comes while the holder is idle is dropped by PostgreSQL:
 * one is sent again this often, until the holder reports it (a ONCE
 * cancel) or the lock's scope ends (REPEAT: that transaction could not
 * commit, and its next long statement does not run on either).
 */
#define CANCEL_REPEAT_MS 500

/*
 * What the watch does to one slot at now (act: or only says whether it
 * would do something); *soonest: when it next has to look.
 */
static bool
watch_slot(LockSlot *s, int64 now_ms, TimestampTz now, bool act, int64 *soonest)
{
	bool		acted = false;

	if (!s->in_use || !s->active || s->release_pending)
		return false;
	if (!s->lost)
	{
		if (now_ms < lock_slot_danger_at(s))
		{
			*soonest = Min(*soonest, lock_slot_danger_at(s));
			return false;
		}
		if (s->danger_since == 0)
		{
			acted = true;
			if (act)
				s->danger_since = now;
		}
		if (lease_ended_unheard(s, now_ms))
		{
			acted = true;
			if (act)
				set_lost(s, "lost: its lease ended before a heartbeat got through",
						 lock_ms_to_timestamptz(s->lease_until_ms));
		}
		else
			/* Ended, a write in flight: looked at again soon, not in a busy loop. */
			*soonest = Min(*soonest, Max(s->lease_until_ms, now_ms + 50));
	}
	/* A ONCE cancel the holder reported: not again (set_lost asks for one more). */
	if (s->cancel == LOCK_CANCEL_NONE || (s->cancel == LOCK_CANCEL_ONCE && s->cancel_acked))
		return acted;
	/* The holder is refreshing or releasing it itself: the remedy is not cancelled. */
	if (s->in_flight >= 0 && s->in_flight == s->pgprocno)
	{
		*soonest = Min(*soonest, now_ms + 50);
		return acted;
	}
	if (s->cancel_sent_at != 0 && now - s->cancel_sent_at < (TimestampTz) CANCEL_REPEAT_MS * 1000)
	{
		*soonest = Min(*soonest, now_ms + CANCEL_REPEAT_MS - (now - s->cancel_sent_at) / 1000);
		return acted;
	}
	if (!act)
		return true;
	/*
	 * Under the registry's lock: the holder cannot hand its slots over and
	 * exit meanwhile, so the PID is still its own.  As pg_cancel_backend,
	 * SIGINT: what it interrupts raises 57014, which the holder reports as
	 * this lock's (lock_interrupt.c).  Until the holder reports one (a
	 * cancel that comes while it is idle is dropped), it is sent again every
	 * CANCEL_REPEAT_MS; a REPEAT cancel until the scope ends.
	 */
	if (holder_alive(s) && kill(s->pid, SIGINT) == 0)
	{
		s->cancel_sent_at = now;
		*soonest = Min(*soonest, now_ms + CANCEL_REPEAT_MS);
	}
	return true;
}

void
lock_registry_watch(int64 now_ms, long *wait_ms)
{
	int64		soonest = PG_INT64_MAX;
	TimestampTz now = GetCurrentTimestamp();
	bool		to_do = false;

	*wait_ms = -1;
	if (!shared)
		return;
	/* Looked at shared, as it mostly finds nothing to do; then done exclusive. */
	lock_shared();
	for (int i = 0; i < n_slots(); i++)
		to_do |= watch_slot(slot(i), now_ms, now, false, &soonest);
	unlock();
	if (to_do)
	{
		soonest = PG_INT64_MAX;
		lock_exclusive();
		for (int i = 0; i < n_slots(); i++)
			(void) watch_slot(slot(i), now_ms, now, true, &soonest);
		unlock();
	}
	if (soonest != PG_INT64_MAX)
		*wait_ms = (long) Max(0, Min(soonest - now_ms, (int64) LONG_MAX));
}

uint32
lock_registry_key(const char *table, const char *name)
{
	return hash_combine(hash_bytes((const unsigned char *) table, strlen(table)),
						hash_bytes((const unsigned char *) name, strlen(name)));
}

void
lock_registry_wait_begin(uint32 lock_key)
{
	Waiter	   *w;

	if (!shared || compat_backend_index() < 0 || compat_backend_index() >= shared->n_waiters)
		return;
	/* A FATAL error skips PG_FINALLY: the exit callback ends the wait then. */
	ensure_detach_at_exit();
	w = &waiters()[compat_backend_index()];
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	w->lock_key = lock_key;
	w->pgprocno = compat_my_procno();
	w->waiting = true;
	LWLockRelease(shared->lock);
}

void
lock_registry_wait_end(void)
{
	if (!shared || compat_backend_index() < 0 || compat_backend_index() >= shared->n_waiters)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	waiters()[compat_backend_index()].waiting = false;
	LWLockRelease(shared->lock);
}

void
lock_registry_wake_waiters(uint32 lock_key)
{
	if (!shared)
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	for (int i = 0; i < shared->n_waiters; i++)
	{
		Waiter	   *w = &waiters()[i];

		if (w->waiting && w->lock_key == lock_key)
			SetLatch(&compat_proc(w->pgprocno)->procLatch);
	}
	LWLockRelease(shared->lock);
}
