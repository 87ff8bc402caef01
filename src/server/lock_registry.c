/*
 * lock_registry.c - the held-lock registry (see lock_registry.h).
 *
 * The LWLock guards every slot and waiter; it is held only to copy a few
 * kilobytes, never across a request.  A slot is reserved before the
 * acquiring request (so a full registry refuses before anything is
 * written) and its generation changes each time it is filled, so a
 * heartbeat that took long cannot write into a slot reused meanwhile.
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "common/hashfn.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "lock_registry.h"
#include "settings.h"

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
	int			worker_pgprocno;	/* -1 while no worker runs */
	int			n_slots;
	int			n_waiters;
	Size		waiters_offset;
	LockSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} RegistryShared;

static RegistryShared *shared = NULL;

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
	shared->worker_pgprocno = -1;
	shared->n_slots = dynamo_max_locks;
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

	lock_exclusive();
	for (int i = 0; i < n_slots() && found < 0; i++)
		if (!slot(i)->in_use)
			found = i;
	if (found >= 0)
	{
		LockSlot   *s = slot(found);
		uint32		generation = s->generation;

		memset(s, 0, sizeof(*s));
		s->in_use = true;
		s->pid = MyProcPid;
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
lock_registry_activate(int handle, const LockSlot *held)
{
	LockSlot   *s = slot(handle);
	int			worker = -1;

	lock_exclusive();
	{
		uint32		generation = s->generation;

		*s = *held;
		s->in_use = true;
		s->active = true;
		s->pid = MyProcPid;
		s->generation = generation;
		s->next_refresh_ms = held->lease_until_ms - (2 * (int64) held->lease_ms) / 3;
		if (shared)
			worker = shared->worker_pgprocno;
	}
	unlock();
	/* The worker may be sleeping longer than this lease's first heartbeat is due. */
	if (worker >= 0)
		SetLatch(&ProcGlobal->allProcs[worker].procLatch);
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
lock_registry_record_grant(int handle, const LockGrant *grant, int lease_ms)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	s->lease_ms = lease_ms;
	memcpy(s->version, grant->version, sizeof(s->version));
	s->lease_until_ms = grant->lease_until_ms;
	s->next_refresh_ms = grant->lease_until_ms - (2 * (int64) s->lease_ms) / 3;
	s->last_refresh = GetCurrentTimestamp();
	s->refresh_failures = 0;
	unlock();
}

void
lock_registry_mark_lost(int handle, const char *why)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	s->lost = true;
	strlcpy(s->note, why, sizeof(s->note));
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

void
lock_registry_attach_worker(void)
{
	Assert(shared);
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->worker_pgprocno = MyProc->pgprocno;
	LWLockRelease(shared->lock);
}

void
lock_registry_wake_worker(void)
{
	int			worker;

	if (!shared)
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	worker = shared->worker_pgprocno;
	LWLockRelease(shared->lock);
	if (worker >= 0)
		SetLatch(&ProcGlobal->allProcs[worker].procLatch);
}

bool
lock_registry_next_due(int64 now_ms, int *handle, LockSlot *copy, long *wait_ms)
{
	int64		soonest = PG_INT64_MAX;
	bool		found = false;

	lock_shared();
	for (int i = 0; i < n_slots() && !found; i++)
	{
		LockSlot   *s = slot(i);

		if (!s->active || s->lost)
			continue;
		if (s->next_refresh_ms <= now_ms)
		{
			*handle = i;
			*copy = *s;
			found = true;
		}
		else
			soonest = Min(soonest, s->next_refresh_ms);
	}
	unlock();
	*wait_ms = soonest == PG_INT64_MAX ? -1 : (long) Min(soonest - now_ms, (int64) LONG_MAX);
	return found;
}

/* Is the slot still the one copied (not released or reused since)? */
static bool
still_same(const LockSlot *s, const LockSlot *copy)
{
	return s->active && s->generation == copy->generation;
}

void
lock_registry_record_heartbeat(int handle, const LockSlot *copy, bool held,
							   const LockGrant *grant, const char *note)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	if (still_same(s, copy))
	{
		s->last_refresh = GetCurrentTimestamp();
		s->refresh_failures = 0;
		if (held)
		{
			memcpy(s->version, grant->version, sizeof(s->version));
			s->lease_until_ms = grant->lease_until_ms;
			s->next_refresh_ms = grant->lease_until_ms - (2 * (int64) s->lease_ms) / 3;
		}
		else
		{
			s->lost = true;
			strlcpy(s->note, note, sizeof(s->note));
		}
	}
	unlock();
}

void
lock_registry_record_failure(int handle, const LockSlot *copy, const char *note)
{
	LockSlot   *s = slot(handle);

	lock_exclusive();
	if (still_same(s, copy))
	{
		s->refresh_failures++;
		strlcpy(s->note, note, sizeof(s->note));
		/* Try again soon, but not in a tight loop. */
		s->next_refresh_ms += Max(100, s->lease_ms / 10);
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

		if (s->in_use && kill(s->pid, 0) != 0 && errno == ESRCH)
		{
			s->in_use = false;
			s->active = false;
		}
	}
	unlock();
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

	if (!shared || MyBackendId <= 0 || MyBackendId > shared->n_waiters)
		return;
	w = &waiters()[MyBackendId - 1];
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	w->lock_key = lock_key;
	w->pgprocno = MyProc->pgprocno;
	w->waiting = true;
	LWLockRelease(shared->lock);
}

void
lock_registry_wait_end(void)
{
	if (!shared || MyBackendId <= 0 || MyBackendId > shared->n_waiters)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	waiters()[MyBackendId - 1].waiting = false;
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
			SetLatch(&ProcGlobal->allProcs[w->pgprocno].procLatch);
	}
	LWLockRelease(shared->lock);
}
