/*
 * increment_batches.c - combined increments (see increment_batches.h).
 *
 * Shared memory holds one slot per counter being incremented now (a slot
 * is free again once nothing is sent or waiting for it) and one waiter
 * entry per backend.  A member's place in its batch is its join order;
 * its value's offset is fixed when a worker claims the batch, so that a
 * member leaving before then (a cancel) just drops out.
 */
#include "postgres.h"
#include "pg_compat.h"

#include <signal.h>

#include "common/hashfn.h"
#include "common/int.h"
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "increment_batches.h"
#include "lock_registry.h"
#include "op_stats.h"
#include "settings.h"
#include "wait_events.h"

#define MESSAGE_SIZE 512

/*
 * After a contended request ends, the counter stays hot this long: an
 * increment then joins a batch (sent at once) instead of sending its own
 * request for one increment, which would spend a whole write of the item.
 */
#define HOT_MS 100

/* How often a member checks that the process sending its batch still lives. */
#define SENDER_CHECK_MS 1000
/* ...and, while its batch is due, that a worker is free to take it. */
#define DUE_CHECK_MS 50

typedef enum WaiterState
{
	WAITER_NONE,
	WAITER_PENDING,				/* in a batch, open or in flight */
	WAITER_VALUE,				/* the batch was applied: value is its own */
	WAITER_ERROR,				/* the batch failed: raise the error */
	WAITER_ALONE				/* not combined after all: send its own */
} WaiterState;

typedef struct IncWaiter
{
	WaiterState state;
	int			slot;
	uint64		batch;
	uint64		order;			/* join order within the batch */
	int64		increment;
	bool		resend_safe;
	int64		offset;			/* its increment and the earlier members': set at claim */
	int			members;		/* in its batch, as sent */
	int64		value;
	int			sqlerrcode;
	char		message[MESSAGE_SIZE];
	char		detail[MESSAGE_SIZE];
	char		hint[MESSAGE_SIZE];
} IncWaiter;

/* Which slots are in use, by hash: scanned on every increment, so kept apart and small. */
typedef struct IncSlotKey
{
	bool		in_use;
	uint32		hash;
} IncSlotKey;

typedef struct IncSlot
{
	int			sign;
	int64		ttl_epoch;
	IdCounter	counter;
	int			sender_pid;		/* sending a request of the counter now; 0: none */
	int			sender_procno;
	bool		sender_is_worker;
	uint64		open_batch;		/* the batch that increments join now */
	int			open_members;
	int64		open_sum;
	uint64		next_order;
	TimestampTz due_since;		/* the open batch waits for a worker since; 0: not due */
	uint64		flight_batch;	/* the batch a worker sends now; 0: none */
	int			flight_members; /* ...and how many increments it carries */
	TimestampTz hot_until;		/* a contended request ended lately: see HOT_MS */
	ConditionVariable done;		/* a batch of this slot got its outcome */
} IncSlot;

typedef struct IncShared
{
	LWLock	   *lock;
	int			n_slots;
	int			n_waiters;
	uint64		next_batch;
	IncSlot		slots[FLEXIBLE_ARRAY_MEMBER];
	/* then n_slots IncSlotKey, then n_waiters IncWaiter */
} IncShared;

static IncShared *shared = NULL;
static int *claim_members = NULL;	/* a worker's: the waiters of the batch it claims */

static Size
slots_size(void)
{
	return add_size(offsetof(IncShared, slots), mul_size(MaxBackends, sizeof(IncSlot)));
}

static Size
keys_size(void)
{
	return mul_size(MaxBackends, sizeof(IncSlotKey));
}

Size
increment_batches_shmem_size(void)
{
	return add_size(add_size(MAXALIGN(slots_size()), MAXALIGN(keys_size())),
					mul_size(MaxBackends, sizeof(IncWaiter)));
}

void
increment_batches_shmem_init(void *base, bool found, LWLock *lock)
{
	shared = base;
	if (found)
		return;
	memset(base, 0, increment_batches_shmem_size());
	shared->lock = lock;
	/*
	 * One slot in use per process at most (a backend's or a worker's
	 * request, or the batch it waits in), and slots kept hot for HOT_MS
	 * after contention; when none is free, increments go uncombined.
	 */
	shared->n_slots = MaxBackends;
	shared->n_waiters = MaxBackends;
	shared->next_batch = 1;
	for (int i = 0; i < shared->n_slots; i++)
		ConditionVariableInit(&shared->slots[i].done);
}

static IncSlotKey *
key_at(int i)
{
	return (IncSlotKey *) ((char *) shared + MAXALIGN(slots_size())) + i;
}

static IncWaiter *
waiter_at(int i)
{
	return (IncWaiter *) ((char *) shared + MAXALIGN(slots_size()) + MAXALIGN(keys_size())) + i;
}

static bool
same_counter(const IncSlot *s, const IdCounter *c, int sign, int64 ttl_epoch)
{
	const IdCounter *o = &s->counter;

	return s->sign == sign && s->ttl_epoch == ttl_epoch &&
		strcmp(o->id, c->id) == 0 && strcmp(o->sort_key, c->sort_key) == 0 &&
		strcmp(o->table, c->table) == 0 && strcmp(o->key_attribute, c->key_attribute) == 0 &&
		strcmp(o->count_attribute, c->count_attribute) == 0 && strcmp(o->endpoint, c->endpoint) == 0 &&
		strcmp(o->region, c->region) == 0 && strcmp(o->identity, c->identity) == 0;
}

static uint32
counter_hash(const IdCounter *c, int sign, int64 ttl_epoch)
{
	uint32		h = hash_bytes((const unsigned char *) c->id, strlen(c->id));

	h = hash_combine(h, hash_bytes((const unsigned char *) c->table, strlen(c->table)));
	h = hash_combine(h, hash_bytes((const unsigned char *) c->sort_key, strlen(c->sort_key)));
	h = hash_combine(h, hash_bytes((const unsigned char *) c->identity, strlen(c->identity)));
	return hash_combine(h, (uint32) (sign + 2) ^ (uint32) ttl_epoch);
}

/* With the lock held: the slot is free again once nothing is sent or waits for it. */
static void
free_if_idle(int slot)
{
	IncSlot    *s = &shared->slots[slot];

	if (s->sender_pid == 0 && s->open_members == 0 && s->flight_batch == 0 && s->hot_until == 0)
		key_at(slot)->in_use = false;
}

/* With the lock held: is the slot free to take for another counter (idle, not hot)? */
static bool
slot_reusable(int slot, TimestampTz now)
{
	IncSlot    *s = &shared->slots[slot];

	if (!key_at(slot)->in_use)
		return true;
	return s->sender_pid == 0 && s->open_members == 0 && s->flight_batch == 0 && s->hot_until <= now;
}

/* With the lock held: how many batches the lock workers are sending now. */
static int
batches_in_flight(void)
{
	int			n = 0;

	for (int i = 0; i < shared->n_slots; i++)
		if (key_at(i)->in_use && shared->slots[i].sender_is_worker && shared->slots[i].sender_pid != 0)
			n++;
	return n;
}

/* With the lock held: a new, empty batch opens for the slot's counter. */
static void
open_new_batch(IncSlot *s)
{
	s->open_batch = shared->next_batch++;
	s->open_members = 0;
	s->open_sum = 0;
	s->next_order = 0;
	s->due_since = 0;
}

/* With the lock held: the open batch's members each send their own (nothing was sent for them). */
static void
release_open_batch(int slot)
{
	IncSlot    *s = &shared->slots[slot];

	for (int i = 0; i < shared->n_waiters; i++)
	{
		IncWaiter  *w = waiter_at(i);

		if (w->state == WAITER_PENDING && w->slot == slot && w->batch == s->open_batch)
			w->state = WAITER_ALONE;
	}
	open_new_batch(s);
	ConditionVariableBroadcast(&s->done);
}

/*
 * With the lock held: the request in flight ended; the open batch, if
 * any, is due (returns true: wake the workers).  When every worker that
 * sends batches is busy with another counter's, its members send their
 * own at once rather than wait for one.
 */
static bool
request_ended(int slot)
{
	IncSlot    *s = &shared->slots[slot];

	/* Contended: others joined while it was in flight, or it was a batch of several. */
	s->hot_until = s->open_members > 0 || (s->sender_is_worker && s->flight_members > 1) ?
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), HOT_MS) : 0;
	s->sender_pid = 0;
	s->sender_is_worker = false;
	s->flight_batch = 0;
	if (s->open_members > 0 && batches_in_flight() >= dynamo_lock_workers - 1)
		release_open_batch(slot);
	if (s->open_members > 0)
	{
		if (s->due_since == 0)
			s->due_since = GetCurrentTimestamp();
		return true;
	}
	free_if_idle(slot);
	return false;
}

static bool
process_alive(int pid, int procno)
{
	if (compat_proc(procno)->pid != pid)
		return false;
	return !(kill(pid, 0) != 0 && errno == ESRCH);
}

/* With the lock held: every member of the slot's batch in flight gets this error. */
static void
fail_flight(IncSlot *s, int slot, int sqlerrcode, const char *message, const char *detail,
			const char *hint, bool retry_alone)
{
	for (int i = 0; i < shared->n_waiters; i++)
	{
		IncWaiter  *w = waiter_at(i);

		if (w->state != WAITER_PENDING || w->slot != slot || w->batch != s->flight_batch)
			continue;
		w->state = retry_alone ? WAITER_ALONE : WAITER_ERROR;
		w->members = s->flight_members;
		w->sqlerrcode = sqlerrcode;
		strlcpy(w->message, message ? message : "", MESSAGE_SIZE);
		strlcpy(w->detail, detail ? detail : "", MESSAGE_SIZE);
		strlcpy(w->hint, hint ? hint : "", MESSAGE_SIZE);
	}
}

/* With the lock held: this backend's entry leaves its batch (a cancel, or sent alone). */
static void
leave(IncWaiter *w)
{
	if (w->state == WAITER_PENDING)
	{
		IncSlot    *s = &shared->slots[w->slot];

		if (s->open_batch == w->batch)
		{
			s->open_members--;
			s->open_sum -= w->increment;
			if (s->open_members == 0)
				s->due_since = 0;
			free_if_idle(w->slot);
		}
	}
	w->state = WAITER_NONE;
}

/*
 * As a process exits, however it exits: a request it was sending for a
 * slot ends.  A backend's own (its answer is its own business) lets the
 * open batch go to a worker; a worker's leaves its batch's answer lost.
 */
static void
end_my_requests(int code, Datum arg)
{
	bool		wake = false;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_slots; i++)
	{
		IncSlot    *s = &shared->slots[i];

		if (!key_at(i)->in_use || s->sender_pid != MyProcPid)
			continue;
		if (s->sender_is_worker)
			fail_flight(s, i, ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN,
						"the lock worker sending the request exited before its answer came", NULL, NULL, false);
		wake |= request_ended(i);
		ConditionVariableBroadcast(&s->done);
	}
	/* A member that exits leaves its batch (or stops waiting for it). */
	if (compat_backend_index() >= 0 && compat_backend_index() < shared->n_waiters)
	{
		leave(waiter_at(compat_backend_index()));
	}
	LWLockRelease(shared->lock);
	if (wake)
		lock_registry_wake_worker();
}

static void
end_requests_at_exit(void)
{
	static bool registered = false;

	if (!registered)
	{
		on_shmem_exit(end_my_requests, 0);
		registered = true;
	}
}

/* With the lock held: the counter's slot, made if need be; -1 when none is free. */
static int
find_slot(const IdCounter *c, int sign, int64 ttl_epoch)
{
	uint32		hash = counter_hash(c, sign, ttl_epoch);
	int			free_slot = -1;
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < shared->n_slots; i++)
	{
		IncSlotKey *k = key_at(i);

		if (k->in_use && k->hash == hash && same_counter(&shared->slots[i], c, sign, ttl_epoch))
			return i;
		if (free_slot < 0 && slot_reusable(i, now))
			free_slot = i;
	}
	if (free_slot >= 0)
	{
		IncSlot    *s = &shared->slots[free_slot];

		key_at(free_slot)->in_use = true;
		key_at(free_slot)->hash = hash;
		s->sign = sign;
		s->ttl_epoch = ttl_epoch;
		s->counter = *c;
		s->sender_pid = 0;
		s->sender_is_worker = false;
		open_new_batch(s);
		s->flight_batch = 0;
		s->hot_until = 0;
	}
	return free_slot;
}

/* This backend's own request for the slot ended: the batch that gathered meanwhile is due. */
static void
end_direct(int slot)
{
	bool		wake;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	wake = request_ended(slot);
	LWLockRelease(shared->lock);
	if (wake)
		lock_registry_wake_worker();
}

/* The increment sent alone by this backend, as the slot's request in flight. */
static int64
send_direct(int slot, const CounterRef *ref, int64 increment, bool resend_safe, int64 ttl_epoch)
{
	int64		value;

	PG_TRY();
	{
		value = counter_add(ref, increment, false, 0, false, 0, resend_safe, ttl_epoch);
	}
	PG_CATCH();
	{
		end_direct(slot);
		PG_RE_THROW();
	}
	PG_END_TRY();
	end_direct(slot);
	return value;
}

/*
 * With the lock held, for a member waiting: the process sending its
 * batch (or the request before it) exited without saying so.
 */
static void
check_sender(IncSlot *s, int slot, const IncWaiter *w, bool *wake)
{
	if (s->sender_pid == 0 || process_alive(s->sender_pid, s->sender_procno))
		return;
	/* Whoever notices: the batch in flight is failed before its slot moves on. */
	if (s->sender_is_worker && s->flight_batch != 0)
		fail_flight(s, slot, ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN,
					"the lock worker sending the request exited before its answer came", NULL, NULL, false);
	*wake |= request_ended(slot);
	ConditionVariableBroadcast(&s->done);
}

/* Copies a printable-ASCII version: the message went through a process of another database. */
static char *
ascii_copy(const char *s)
{
	char	   *copy = pstrdup(s);

	for (char *p = copy; *p; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
			*p = '?';
	return copy;
}

/* The outcome of this backend's membership (copied out of shared memory). */
typedef struct MemberOutcome
{
	WaiterState state;
	int64		value;
	int			members;
	int			sqlerrcode;
	char		message[MESSAGE_SIZE];
	char		detail[MESSAGE_SIZE];
	char		hint[MESSAGE_SIZE];
} MemberOutcome;

/* Waits, interruptibly, for the outcome of the batch this backend joined. */
static void
await_batch(IncWaiter *w, int slot, MemberOutcome *out)
{
	IncSlot    *s = &shared->slots[slot];
	/* A batch not sent within this member's own request timeout: it sends its own. */
	int			alone_after_ms = Max(dynamo_request_timeout_ms, 1000);
	TimestampTz joined = GetCurrentTimestamp();

	ConditionVariablePrepareToSleep(&s->done);
	PG_TRY();
	{
		for (;;)
		{
			bool		wake = false;
			bool		ended = false;

			LWLockAcquire(shared->lock, LW_EXCLUSIVE);
			if (w->state == WAITER_PENDING && w->batch == s->open_batch &&
				TimestampDifferenceExceeds(joined, GetCurrentTimestamp(), alone_after_ms))
			{
				/* Its batch was not sent in time: this one goes alone (nothing was sent for it). */
				leave(w);
				w->state = WAITER_ALONE;
			}
			else if (w->state == WAITER_PENDING && w->batch == s->open_batch && s->sender_pid == 0 &&
					 batches_in_flight() >= dynamo_lock_workers - 1)
				release_open_batch(slot);	/* due, and every batch worker busy with another's */
			else if (w->state == WAITER_PENDING)
				check_sender(s, slot, w, &wake);
			if (w->state != WAITER_PENDING)
			{
				out->state = w->state;
				out->value = w->value;
				out->members = w->members;
				out->sqlerrcode = w->sqlerrcode;
				memcpy(out->message, w->message, MESSAGE_SIZE);
				memcpy(out->detail, w->detail, MESSAGE_SIZE);
				memcpy(out->hint, w->hint, MESSAGE_SIZE);
				w->state = WAITER_NONE;
				ended = true;
			}
			LWLockRelease(shared->lock);
			if (wake)
				lock_registry_wake_worker();
			if (ended)
				break;
			/* A due batch is watched closely: the workers may all be taken by other counters'. */
			(void) ConditionVariableTimedSleep(&s->done, s->due_since != 0 ? DUE_CHECK_MS : SENDER_CHECK_MS,
											   dynamo_wait_event(DYNAMO_WAIT_INCREMENT));
		}
	}
	PG_CATCH();
	{
		/* A cancel: before the batch is sent it just leaves; after, its outcome goes unheard. */
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		leave(w);
		LWLockRelease(shared->lock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	ConditionVariableCancelSleep();
}

/*
 * The batch's error, as this member's: its own message (its own counter
 * name, in this database's encoding), the worker's words in the DETAIL.
 * The worker has no database: what it wrote is shown as printable ASCII.
 */
static void
raise_batch_error(const CounterRef *ref, int64 increment, const MemberOutcome *out)
{
	char	   *why = ascii_copy(out->message);
	char	   *detail = ascii_copy(out->detail);

	if (out->sqlerrcode == ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN)
		ereport(ERROR,
				(errcode(out->sqlerrcode),
				 errmsg("the increment " INT64_FORMAT " of counter \"%s\" may or may not have been applied",
						increment, ref->id_display),
				 errdetail("It was sent combined with %d other increment(s) from this server in one "
						   "request, whose answer was lost: %s", out->members - 1, why),
				 errhint("%s", ref->unknown_hint ? ref->unknown_hint :
						 "Read the counter with dynamo_get_last_value() to find out. Where a skipped value "
						 "does no harm (IDs), dynamo_atomic.retry_unknown_writes = on resends instead.")));
	ereport(ERROR,
			(errcode(out->sqlerrcode),
			 errmsg("combined increment of counter \"%s\": %s", ref->id_display, why),
			 errdetail("%s%sThis increment (" INT64_FORMAT ") was sent combined with %d other increment(s) "
					   "from this server in one request, whose outcome this is.", detail, detail[0] ? " " : "",
					   increment, out->members - 1),
			 out->hint[0] ? errhint("%s", ascii_copy(out->hint)) : 0));
}

bool
increment_batches_enabled(void)
{
	return shared != NULL;
}

int64
increment_batches_add(const CounterRef *ref, const IdCounter *counter, int64 increment,
					  bool resend_safe, int64 ttl_epoch)
{
	int			index = compat_backend_index();
	int			sign = increment > 0 ? 1 : -1;
	int			slot;
	IncWaiter  *w;
	MemberOutcome out;
	bool		joined = false;
	bool		wake = false;

	if (!shared || !dynamo_combine_increments || index < 0 || index >= shared->n_waiters ||
		lock_registry_check_credentials(counter->identity) != REGISTRY_SAME_CREDENTIALS)
	{
		op_stats_add(op_stats_increment_row(), OP_REQUESTS, 1);
		return counter_add(ref, increment, false, 0, false, 0, resend_safe, ttl_epoch);
	}

	end_requests_at_exit();
	w = waiter_at(index);
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	w->state = WAITER_NONE;
	slot = find_slot(counter, sign, ttl_epoch);
	if (slot >= 0)
	{
		IncSlot    *s = &shared->slots[slot];
		int64		sum;
		bool		idle = s->sender_pid == 0 && s->open_members == 0;

		if (idle && (s->hot_until <= GetCurrentTimestamp() || batches_in_flight() >= dynamo_lock_workers - 1))
		{
			/* Nothing in flight, and not hot: this backend sends its own, with no wait added. */
			s->sender_pid = MyProcPid;
			s->sender_procno = compat_my_procno();
			s->sender_is_worker = false;
			s->hot_until = 0;
		}
		else if (!pg_add_s64_overflow(s->open_sum, increment, &sum))
		{
			w->state = WAITER_PENDING;
			w->slot = slot;
			w->batch = s->open_batch;
			w->order = s->next_order++;
			w->increment = increment;
			w->resend_safe = resend_safe;
			s->open_members++;
			s->open_sum = sum;
			joined = true;
			/* Hot and idle: the batch is due at once (the others join until a worker takes it). */
			if (s->sender_pid == 0 && s->due_since == 0)
			{
				s->due_since = GetCurrentTimestamp();
				wake = true;
			}
		}
		else
			slot = -1;			/* the batch's sum is at bigint's end: alone, outside the slot */
	}
	LWLockRelease(shared->lock);
	if (wake)
		lock_registry_wake_worker();

	if (slot < 0)
	{
		op_stats_add(op_stats_increment_row(), OP_REQUESTS, 1);
		return counter_add(ref, increment, false, 0, false, 0, resend_safe, ttl_epoch);
	}
	if (!joined)
	{
		op_stats_add(op_stats_increment_row(), OP_REQUESTS, 1);
		return send_direct(slot, ref, increment, resend_safe, ttl_epoch);
	}

	await_batch(w, slot, &out);
	if (out.state == WAITER_VALUE)
		return out.value;
	if (out.state == WAITER_ALONE)
	{
		op_stats_add(op_stats_increment_row(), OP_REQUESTS, 1);
		return counter_add(ref, increment, false, 0, false, 0, resend_safe, ttl_epoch);
	}
	raise_batch_error(ref, increment, &out);
	pg_unreachable();
}

static int
by_order(const void *a, const void *b)
{
	uint64		x = waiter_at(*(const int *) a)->order;
	uint64		y = waiter_at(*(const int *) b)->order;

	return x < y ? -1 : x > y ? 1 : 0;
}

bool
increment_batches_claim(const char *worker_digest, IncrementBatch *batch)
{
	int			chosen = -1;
	int			n = 0;
	IncSlot    *s;
	int64		prefix = 0;

	if (!shared)
		return false;
	if (claim_members == NULL)
		claim_members = MemoryContextAlloc(TopMemoryContext, sizeof(int) * shared->n_waiters);
	end_requests_at_exit();

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_slots; i++)
	{
		s = &shared->slots[i];
		if (key_at(i)->in_use && s->sender_pid == 0 && s->open_members > 0 && s->due_since != 0 &&
			strcmp(s->counter.identity, worker_digest) == 0 &&
			(chosen < 0 || s->due_since < shared->slots[chosen].due_since))
			chosen = i;
	}
	if (chosen < 0)
	{
		LWLockRelease(shared->lock);
		return false;
	}
	s = &shared->slots[chosen];
	s->flight_batch = s->open_batch;
	open_new_batch(s);
	s->sender_pid = MyProcPid;
	s->sender_procno = compat_my_procno();
	s->sender_is_worker = true;

	for (int i = 0; i < shared->n_waiters; i++)
	{
		IncWaiter  *w = waiter_at(i);

		if (w->state == WAITER_PENDING && w->slot == chosen && w->batch == s->flight_batch)
			claim_members[n++] = i;
	}
	/* qsort allocates nothing: safe under the lock. */
	qsort(claim_members, n, sizeof(int), by_order);
	batch->resend_safe = true;
	for (int i = 0; i < n; i++)
	{
		IncWaiter  *w = waiter_at(claim_members[i]);

		prefix += w->increment; /* same sign, and the open sum did not overflow */
		w->offset = prefix;
		w->members = n;
		batch->resend_safe &= w->resend_safe;
	}
	batch->slot = chosen;
	batch->id = s->flight_batch;
	batch->members = n;
	s->flight_members = n;
	batch->sum = prefix;
	batch->ttl_epoch = s->ttl_epoch;
	batch->counter = s->counter;
	LWLockRelease(shared->lock);
	return true;
}

int64
increment_batches_absorb(void *arg, int64 step)
{
	IncrementBatch *batch = arg;
	IncSlot    *s = &shared->slots[batch->slot];
	int64		added = 0;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (s->flight_batch == batch->id && s->sender_pid == MyProcPid && s->open_members > 0)
	{
		int			n = 0;

		for (int i = 0; i < shared->n_waiters; i++)
		{
			IncWaiter  *w = waiter_at(i);

			if (w->state == WAITER_PENDING && w->slot == batch->slot && w->batch == s->open_batch &&
				w->resend_safe == batch->resend_safe)
				claim_members[n++] = i;
		}
		qsort(claim_members, n, sizeof(int), by_order);
		for (int i = 0; i < n; i++)
		{
			IncWaiter  *w = waiter_at(claim_members[i]);
			int64		sum;

			if (pg_add_s64_overflow(batch->sum, w->increment, &sum))
				break;			/* the rest stay in the open batch */
			batch->sum = sum;
			added += w->increment;
			w->batch = batch->id;
			w->offset = sum;
			batch->members++;
			s->flight_members = batch->members;
			s->open_members--;
			s->open_sum -= w->increment;
		}
		if (s->open_members == 0)
		{
			s->due_since = 0;
			s->next_order = 0;
		}
	}
	LWLockRelease(shared->lock);
	Assert(step + added == batch->sum);
	return added;
}

/* With the lock held: the worker's request for the batch ended; true: wake the workers. */
static bool
worker_request_ended(const IncrementBatch *batch)
{
	IncSlot    *s = &shared->slots[batch->slot];

	if (s->sender_pid == MyProcPid && s->flight_batch == batch->id)
		return request_ended(batch->slot);
	return false;
}

void
increment_batches_applied(const IncrementBatch *batch, int64 value)
{
	IncSlot    *s = &shared->slots[batch->slot];
	bool		wake;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->n_waiters; i++)
	{
		IncWaiter  *w = waiter_at(i);

		if (w->state != WAITER_PENDING || w->slot != batch->slot || w->batch != batch->id)
			continue;
		/* Same sign: old = value - sum, and old + offset lies between old and value. */
		w->value = (int64) ((int128) value - batch->sum + w->offset);
		w->members = batch->members;
		w->state = WAITER_VALUE;
	}
	wake = worker_request_ended(batch);
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&s->done);
	if (wake)
		lock_registry_wake_worker();
}

void
increment_batches_failed(const IncrementBatch *batch, const ErrorData *error, bool retry_alone)
{
	IncSlot    *s = &shared->slots[batch->slot];
	bool		wake;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (s->flight_batch == batch->id)
	{
		for (int i = 0; i < shared->n_waiters; i++)
			if (waiter_at(i)->state == WAITER_PENDING && waiter_at(i)->batch == batch->id)
				waiter_at(i)->members = batch->members;
		fail_flight(s, batch->slot, error->sqlerrcode, error->message, error->detail, error->hint,
					retry_alone);
	}
	wake = worker_request_ended(batch);
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&s->done);
	if (wake)
		lock_registry_wake_worker();
}
