/*
 * id_blocks.c - shared blocks of reserved IDs (see id_blocks.h).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "common/hashfn.h"
#include "common/int.h"
#include <signal.h>

#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "id_blocks.h"
#include "lock_registry.h"
#include "settings.h"
#include "wait_events.h"

#define ID_KEY_SIZE 4700		/* the fields of slot_key, length-prefixed */

typedef struct IdSlot
{
	bool		in_use;
	bool		fetching;		/* a backend is fetching the next block... */
	int			fetcher_pid;	/* ...this one (its exit ends the fetch) */
	int			fetcher_pgprocno;
	bool		prefetch_wanted;	/* the worker is asked to fetch a spare */
	bool		prefetching;	/* ...and is sending its request now */
	uint32		hash;
	/*
	 * The block in use: its last value and how many values are left (the
	 * next is last - left + 1).  Counted down, not up to last, so that a
	 * block ending at bigint's maximum never steps past it.
	 */
	int64		last;
	int64		left;			/* 0: used up */
	int64		spare_last;		/* a block fetched ahead, likewise */
	int64		spare_left;		/* 0: none */
	ConditionVariable fetched;
	int			step;			/* the next block's size (0: cache) */
	TimestampTz block_began;	/* when the block in use began to be served (0: none yet) */
	char		key[ID_KEY_SIZE];
	IdCounter	counter;
} IdSlot;

typedef struct IdShared
{
	LWLock	   *lock;
	int			n_slots;
	IdSlot		slots[FLEXIBLE_ARRAY_MEMBER];
} IdShared;

/* How often a waiter checks that the backend fetching its block still lives. */
#define FETCHER_CHECK_MS 1000

static IdShared *shared = NULL;
static IdSlot *local_slots = NULL;	/* without preloading */
static int	local_n = 0;

Size
id_blocks_shmem_size(void)
{
	return add_size(offsetof(IdShared, slots), mul_size(dynamo_max_id_counters, sizeof(IdSlot)));
}

void
id_blocks_shmem_init(void *base, bool found, LWLock *lock)
{
	shared = base;
	if (found)
		return;
	memset(base, 0, id_blocks_shmem_size());
	shared->lock = lock;
	shared->n_slots = dynamo_max_id_counters;
	for (int i = 0; i < shared->n_slots; i++)
		ConditionVariableInit(&shared->slots[i].fetched);
}

static IdSlot *
slot_at(int i)
{
	return shared ? &shared->slots[i] : &local_slots[i];
}

static int
n_slots(void)
{
	return shared ? shared->n_slots : local_n;
}

/*
 * Everything that selects the DynamoDB item, and so the values: where
 * (endpoint, region), as whom (two accounts have two tables of the same
 * name), which table, key and attributes.  Length-prefixed, so that no two
 * counters' fields can run together alike.
 */
static char *
slot_key(const IdCounter *c)
{
	const char *const fields[] = {
		c->table, c->key_attribute, c->count_attribute, c->id, c->sort_key, c->endpoint, c->region, c->identity
	};
	StringInfoData key;

	initStringInfo(&key);
	for (int i = 0; i < lengthof(fields); i++)
		appendStringInfo(&key, "%zu:%s", strlen(fields[i]), fields[i]);
	return key.data;
}

int
id_blocks_slot(const IdCounter *counter)
{
	char	   *key = slot_key(counter);
	uint32		hash = hash_bytes((const unsigned char *) key, strlen(key));
	int			free_slot = -1;
	int			found = -1;

	if (strlen(key) >= ID_KEY_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the counter's table, attribute names and id are too long together for an ID block")));
	if (shared)
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n_slots() && found < 0; i++)
	{
		IdSlot	   *s = slot_at(i);

		if (s->in_use && s->hash == hash && strcmp(s->key, key) == 0)
			found = i;
		else if (!s->in_use && free_slot < 0)
			free_slot = i;
	}
	if (found < 0 && free_slot >= 0)
	{
		IdSlot	   *s = slot_at(free_slot);

		s->in_use = true;
		s->fetching = false;
		s->prefetch_wanted = false;
		s->prefetching = false;
		s->hash = hash;
		s->last = 0;
		s->left = 0;
		s->spare_last = 0;
		s->spare_left = 0;
		s->step = 0;
		s->block_began = 0;
		strlcpy(s->key, key, sizeof(s->key));
		s->counter = *counter;
		found = free_slot;
	}
	if (shared)
		LWLockRelease(shared->lock);
	if (found >= 0)
		return found;
	if (shared)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("all %d ID counter slots are in use", shared->n_slots),
				 errhint("Raise dynamo_atomic.max_id_counters (needs a restart).")));
	/* Backend memory: grow. */
	local_slots = local_slots ?
		repalloc(local_slots, (local_n + 8) * sizeof(IdSlot)) :
		MemoryContextAlloc(TopMemoryContext, 8 * sizeof(IdSlot));
	memset(local_slots + local_n, 0, 8 * sizeof(IdSlot));
	local_n += 8;
	return id_blocks_slot(counter);
}

/*
 * The number of values in first..last (a block of at most MAX_CACHE, so it
 * fits; computed so that neither end can overflow).
 */
static int64
block_length(int64 first, int64 last)
{
	int64		length;

	if (last < first || pg_sub_s64_overflow(last, first, &length) || length >= PG_INT64_MAX)
		elog(ERROR, "invalid ID block " INT64_FORMAT ".." INT64_FORMAT, first, last);
	return length + 1;
}

int64
id_block_first(int64 last, int size)
{
	int64		first;

	if (pg_sub_s64_overflow(last, (int64) size - 1, &first))
		return PG_INT64_MIN;
	return first;
}

/* With the lock held (or the block the backend's own): the next value of a block that has one. */
static int64
take_next(IdSlot *s)
{
	int64		value = s->last - (s->left - 1);	/* >= the block's first: no overflow */

	s->left--;
	return value;
}

/* With the lock held: the size of the next block, as demand moved it (id_blocks.h). */
static int
current_step(const IdSlot *s, int cache)
{
	int			max = Max(dynamo_id_cache_max, cache);

	return Min(Max(s->step, cache), max);
}

/* With the lock held: the block in use ran out (now): grow or shrink the next one. */
static void
block_ran_out(IdSlot *s, int cache, TimestampTz now)
{
	int			step = current_step(s, cache);
	int			max = Max(dynamo_id_cache_max, cache);

	if (s->block_began != 0 && now - s->block_began < (TimestampTz) ID_BLOCK_FAST_MS * 1000)
		step = (int) Min((int64) step * 2, (int64) max);
	else if (s->block_began != 0 && now - s->block_began > (TimestampTz) ID_BLOCK_SLOW_MS * 1000)
		step = Max(step / 2, cache);
	s->step = step;
}

/*
 * With the lock held: asks the worker for a spare when the block is half
 * used (a tenth, for a block grown by demand) and none is coming.  Returns
 * whether to wake the worker.
 */
static bool
want_spare(IdSlot *s, int cache)
{
	int			step = current_step(s, cache);
	int64		left_when_due = step > cache ? step - step / 10 : cache / 2;

	if (!s->counter.prefetch || cache < 2 || s->prefetch_wanted || s->spare_left > 0 ||
		s->left > left_when_due)
		return false;
	s->prefetch_wanted = true;
	s->counter.cache = step;
	return true;
}

/* With the lock held: does the backend that is fetching still live? */
static bool
fetcher_alive(const IdSlot *s)
{
	if (compat_proc(s->fetcher_pgprocno)->pid != s->fetcher_pid)
		return false;
	return !(kill(s->fetcher_pid, 0) != 0 && errno == ESRCH);
}

/*
 * As a backend exits, however it exits: a fetch it had started ends, and
 * the backends waiting for it are woken (one of them fetches).  PG_CATCH
 * does that for an ERROR; a FATAL in the middle of the request
 * (pg_terminate_backend) skips it, and would otherwise leave the counter
 * wedged for the whole server.
 */
static void
end_my_fetches(int code, Datum arg)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_slots; i++)
	{
		IdSlot	   *s = &shared->slots[i];

		if (s->in_use && s->fetching && s->fetcher_pid == MyProcPid)
		{
			s->fetching = false;
			ConditionVariableBroadcast(&s->fetched);
		}
	}
	LWLockRelease(shared->lock);
}

static void
end_fetches_at_exit(void)
{
	static bool registered = false;

	if (!registered)
	{
		on_shmem_exit(end_my_fetches, 0);
		registered = true;
	}
}

bool
id_blocks_take(int slot, int cache, int64 *value, int *fetch_size)
{
	IdSlot	   *s = slot_at(slot);

	if (!shared)
	{
		if (s->left > 0)
		{
			*value = take_next(s);
			return true;
		}
		block_ran_out(s, cache, GetCurrentTimestamp());
		*fetch_size = current_step(s, cache);
		return false;
	}
	for (;;)
	{
		bool		wake;

		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		/*
		 * The block fetched ahead takes over: no request.  Not while a
		 * backend is fetching: its block must land on an empty slot, or
		 * the rest of this one would be lost.
		 */
		if (s->left == 0 && s->spare_left > 0 && !s->fetching)
		{
			TimestampTz now = GetCurrentTimestamp();

			block_ran_out(s, cache, now);
			s->last = s->spare_last;
			s->left = s->spare_left;
			s->spare_left = 0;
			s->block_began = now;
		}
		if (s->left > 0)
		{
			*value = take_next(s);
			wake = want_spare(s, cache);
			LWLockRelease(shared->lock);
			ConditionVariableCancelSleep();
			if (wake)
				lock_registry_wake_worker();
			return true;
		}
		if (s->fetching && !fetcher_alive(s))
			s->fetching = false;
		if (!s->fetching)
		{
			block_ran_out(s, cache, GetCurrentTimestamp());
			*fetch_size = current_step(s, cache);
			s->fetching = true;
			s->fetcher_pid = MyProcPid;
			s->fetcher_pgprocno = compat_my_procno();
			LWLockRelease(shared->lock);
			ConditionVariableCancelSleep();
			end_fetches_at_exit();
			return false;
		}
		LWLockRelease(shared->lock);
		/*
		 * Another backend is fetching the next block: wait for it.  Its exit
		 * ends the fetch and wakes us; the timeout is for an exit whose
		 * callbacks did not run.
		 */
		(void) ConditionVariableTimedSleep(&s->fetched, FETCHER_CHECK_MS, dynamo_wait_event(DYNAMO_WAIT_ID_BLOCK));
	}
}

bool
id_blocks_prefetch_due(int *slot, IdCounter *counter)
{
	bool		found = false;

	if (!shared)
		return false;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_slots && !found; i++)
	{
		IdSlot	   *s = &shared->slots[i];

		if (s->in_use && s->prefetch_wanted && s->spare_left == 0)
		{
			*slot = i;
			*counter = s->counter;
			s->prefetching = true;
			found = true;
		}
	}
	LWLockRelease(shared->lock);
	return found;
}

void
id_blocks_store_spare(int slot, int64 first, int64 last)
{
	IdSlot	   *s = &shared->slots[slot];

	int64		left = block_length(first, last);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s->spare_last = last;
	s->spare_left = left;
	s->prefetch_wanted = false;
	s->prefetching = false;
	LWLockRelease(shared->lock);
	/* A backend may be waiting for a block that this one can be. */
	ConditionVariableBroadcast(&s->fetched);
}

void
id_blocks_prefetch_failed(int slot)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->slots[slot].prefetch_wanted = false;
	shared->slots[slot].prefetching = false;
	LWLockRelease(shared->lock);
	/* A backend may be waiting for it (id_blocks_await_spare). */
	ConditionVariableBroadcast(&shared->slots[slot].fetched);
}

void
id_blocks_prefetch_refused(int slot)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->slots[slot].prefetch_wanted = false;
	shared->slots[slot].prefetching = false;
	shared->slots[slot].counter.prefetch = false;
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&shared->slots[slot].fetched);
}

void
id_blocks_prefetcher_started(void)
{
	if (!shared)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_slots; i++)
		if (shared->slots[i].prefetching)
		{
			/* Its predecessor died sending it: ask again. */
			shared->slots[i].prefetching = false;
			ConditionVariableBroadcast(&shared->slots[i].fetched);
		}
	LWLockRelease(shared->lock);
}

bool
id_blocks_await_spare(int slot, int timeout_ms)
{
	IdSlot	   *s;
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	bool		pending;

	if (!shared)
		return false;
	s = &shared->slots[slot];
	for (;;)
	{
		LWLockAcquire(shared->lock, LW_SHARED);
		/* Only a request the worker is sending: a worker held up elsewhere is not waited for. */
		pending = s->prefetching && s->spare_left == 0;
		if (!pending)
			pending = s->spare_left > 0 || s->left > 0;
		else if (GetCurrentTimestamp() >= until)
			pending = false;
		else
		{
			LWLockRelease(shared->lock);
			(void) ConditionVariableTimedSleep(&s->fetched, 100, dynamo_wait_event(DYNAMO_WAIT_ID_BLOCK));
			continue;
		}
		LWLockRelease(shared->lock);
		ConditionVariableCancelSleep();
		return pending;
	}
}

void
id_blocks_fill(int slot, int64 first, int64 last, int64 *value)
{
	IdSlot	   *s = slot_at(slot);
	int64		left = block_length(first, last);

	if (shared)
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s->last = last;
	s->left = left;
	s->fetching = false;
	s->block_began = GetCurrentTimestamp();
	*value = take_next(s);
	if (shared)
	{
		LWLockRelease(shared->lock);
		ConditionVariableBroadcast(&s->fetched);
	}
}

void
id_blocks_abandon(int slot)
{
	IdSlot	   *s = slot_at(slot);

	if (!shared)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	s->fetching = false;
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&s->fetched);
}

int64
id_blocks_unused(void)
{
	int64		unused = 0;

	if (shared)
		LWLockAcquire(shared->lock, LW_SHARED);
	for (int i = 0; i < n_slots(); i++)
	{
		IdSlot	   *s = slot_at(i);

		if (s->in_use)
			unused += s->left + s->spare_left;
	}
	if (shared)
		LWLockRelease(shared->lock);
	return unused;
}
