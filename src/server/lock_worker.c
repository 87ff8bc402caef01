/*
 * lock_worker.c - the lease heartbeat workers (see lock_worker.h).
 *
 * Each held lock gets a heartbeat a third of the way into its lease: one
 * UpdateItem conditioned on the owner and the fencing token that extends
 * lease_until and ttl and sets a new version, which is recorded in the
 * registry so the holding backend stays in step.  A refused heartbeat means
 * the lock was taken over: the slot is marked lost, and the owner's next
 * release or refresh says so.  A failed one (network, throttling) is a
 * WARNING and is tried again soon; the loop never ends on it.
 *
 * No lock's heartbeat waits behind another's: dynamo_atomic.lock_workers
 * workers share the registry, each claiming the most urgent due work (the
 * lease that ends first), and each heartbeat's attempts are cut to the
 * time its own lease has left, so a heartbeat that hangs holds one worker
 * at most until that lease ends.  Only the first worker fetches ID blocks
 * ahead (id_blocks.c), which may be throttled for long: the others serve
 * leases meanwhile.  The workers also release the locks of backends that
 * exited (lock_registry_hand_over_mine), so that a dying backend sends
 * nothing.
 *
 * The workers also watch every held lease (lock_registry_watch), in their
 * loop and, through the HTTP layer's wait hook, while they wait for an
 * answer themselves: a lease in its danger zone, or lost, gets its holder
 * signalled in time even while every worker waits on a heartbeat that
 * hangs.
 *
 * The workers start once the server is consistent, so they run on a hot
 * standby too (its sessions can take locks), and keep running across a
 * promotion.  Each publishes a digest of its credentials settings: a
 * session may take a lock only with the same, since the workers refresh
 * and release it with theirs.
 *
 * Like worker_spi: SIGTERM is die() (a request in flight is abandoned at
 * the next interrupt check, within 100 ms), SIGHUP reloads the
 * configuration, WaitLatch exits on postmaster death, and the postmaster
 * restarts a worker a second after it ends; the registry, in shared
 * memory, is untouched by that.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "counter_item.h"
#include "http.h"
#include "settings.h"
#include "id_blocks.h"
#include "increment_batches.h"
#include "lock_item.h"
#include "lock_registry.h"
#include "op_stats.h"
#include "lock_worker.h"
#include "text_encoding.h"
#include "wait_events.h"

/* The longest sleep: also how soon a dead backend's slot is noticed. */
#define MAX_SLEEP_MS 1000

/* How often a worker waiting for an answer watches the leases. */
#define WATCH_WHILE_WAITING_MS 50

PGDLLEXPORT void dynamo_atomic_lock_worker_main(Datum arg);

static TimestampTz last_watch = 0;

void
lock_worker_register(void)
{
	for (int i = 0; i < dynamo_lock_workers; i++)
	{
		BackgroundWorker worker = {0};

		/* A connection to no database: it shows in pg_stat_activity and can be signalled. */
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		/* Consistent, not recovery finished: hot standby sessions take locks too. */
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = 1;
		worker.bgw_main_arg = Int32GetDatum(i);
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "dynamo_atomic");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "dynamo_atomic_lock_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "dynamo_atomic lock worker %d", i + 1);
		snprintf(worker.bgw_type, BGW_MAXLEN, "dynamo_atomic lock worker");
		RegisterBackgroundWorker(&worker);
	}
}

/* One heartbeat; DynamoDB and network errors become a WARNING and a failure count. */
static void
heartbeat(int handle, const LockSlot *copy, MemoryContext scratch)
{
	LockTarget	target = {copy->endpoint, copy->region, copy->table, copy->name, copy->owner, copy->key_form};
	LockGrant	grant = {0};	/* an output; cleared so no path reads it unset */

	PG_TRY();
	{
		/* Worth nothing once the lease has ended (the floor gives a late one a chance). */
		TimestampTz deadline = lock_ms_to_timestamptz(copy->lease_until_ms);

		if (lock_item_heartbeat(&target, copy->fencing_token, copy->lease_ms, deadline, &grant))
			lock_registry_record_heartbeat(handle, copy, true, &grant, NULL);
		else
		{
			LockHolder	now;
			char	   *why;

			lock_item_read(&target, &now);
			why = psprintf("lost: %s", lock_holder_text(&now));
			lock_registry_record_heartbeat(handle, copy, false, NULL, why);
			ereport(LOG,
					(errmsg("dynamo_atomic: lock \"%s\" of backend %d was taken over", text_display(copy->name), copy->pid),
					 errdetail("%s.", text_display(why))));
		}
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(scratch);
		error = CopyErrorData();
		FlushErrorState();
		lock_registry_record_failure(handle, copy, error->message);
		ereport(WARNING,
				(errmsg("dynamo_atomic: could not refresh the lease of lock \"%s\": %s",
						text_display(copy->name), error->message)));
	}
	PG_END_TRY();
}

/*
 * Releases the lock of a backend that exited.  A failure is tried again
 * until the lease ends, which frees the lock anyway.
 */
static void
release(int handle, const LockSlot *copy, MemoryContext scratch)
{
	LockTarget	target = {copy->endpoint, copy->region, copy->table, copy->name, copy->owner, copy->key_form};
	volatile bool again = false;

	PG_TRY();
	{
		/* After the lease ends the release is moot: it never holds a worker longer. */
		bool		released = lock_item_release(&target, copy->fencing_token,
												 lock_ms_to_timestamptz(copy->lease_max_ms), NULL);

		/* By owner (an acquire cut short): that acquire may land later still. */
		if (!released && copy->fencing_token == 0)
			again = lock_now_ms() < copy->release_retry_until_ms;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(scratch);
		error = CopyErrorData();
		FlushErrorState();
		again = lock_now_ms() < copy->lease_max_ms;
		ereport(WARNING,
				(errmsg("dynamo_atomic: could not release lock \"%s\" of exited backend %d: %s",
						text_display(copy->name), copy->pid, error->message),
				 again ? 0 : errdetail("Its lease has ended.")));
	}
	PG_END_TRY();
	lock_registry_release_done(handle, copy, again);
}

/*
 * Fetches a counter's next ID block ahead, into the slot's spare.  Only
 * as the identity the slot belongs to: after a reload to other credentials
 * the worker would reserve another account's values for this counter.
 */
static void
prefetch(int slot, IdCounter *c, const char *digest, MemoryContext scratch)
{
	CounterRef	ref = {c->table, c->key_attribute, c->count_attribute, c->id, c->id, c->endpoint, c->region,
		c->sort_key[0] ? SINGLE_TABLE_SORT_KEY : NULL, c->sort_key[0] ? c->sort_key : NULL};

	if (strcmp(c->identity, digest) != 0)
	{
		id_blocks_prefetch_refused(slot);
		return;
	}
	PG_TRY();
	{
		int64		last = counter_add(&ref, c->cache, false, 0, false, 0, true, 0);

		id_blocks_store_spare(slot, id_block_first(last, c->cache), last);
		op_stats_add(op_stats_nextval_row(), OP_REQUESTS, 1);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(scratch);
		error = CopyErrorData();
		FlushErrorState();
		id_blocks_prefetch_failed(slot);
		ereport(WARNING,
				(errmsg("dynamo_atomic: could not fetch an ID block ahead for counter \"%s\": %s",
						text_display(c->id), error->message)));
	}
	PG_END_TRY();
}

/*
 * Sends a batch of combined increments (increment_batches.h) as one ADD of
 * their sum, with this worker's settings and credentials (the batch's
 * identity is theirs).  Every outcome reaches the members: the value, the
 * error (a lost answer: 40003 for each), or, when the sum would leave
 * bigint, word that each should send its own.  Its attempts stop
 * BATCH_EXTRA_MS after one request timeout, so that a throttled hot
 * counter holds this worker (and the leases it would serve) that long at
 * most.
 */
#define BATCH_EXTRA_MS 5000

static void
send_batch(IncrementBatch *b, MemoryContext scratch)
{
	const IdCounter *c = &b->counter;
	CounterRef	ref = {(char *) c->table, (char *) c->key_attribute, (char *) c->count_attribute, (char *) c->id,
		text_display(c->id), c->endpoint, c->region,
		c->sort_key[0] ? SINGLE_TABLE_SORT_KEY : NULL, c->sort_key[0] ? c->sort_key : NULL};

	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   (int64) dynamo_request_timeout_ms + BATCH_EXTRA_MS);

	op_stats_add(op_stats_increment_row(), OP_REQUESTS, 1);
	PG_TRY();
	{
		/* A throttled batch takes in, before its next attempt, the callers that came meanwhile. */
		int64		value = counter_add_growing(&ref, b->sum, b->resend_safe, b->ttl_epoch, deadline,
												increment_batches_absorb, b);

		increment_batches_applied(b, value);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(scratch);
		error = CopyErrorData();
		FlushErrorState();
		/* The worker's own statement cancelled (pg_cancel_backend) mid-request: a lost answer. */
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			error->sqlerrcode = ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN;
			error->message = "the lock worker sending the request was cancelled before its answer came";
			error->detail = NULL;
			error->hint = NULL;
		}
		increment_batches_failed(b, error, counter_add_refused_by_range());
	}
	PG_END_TRY();
}

/*
 * While this worker waits for an answer (a heartbeat that hangs is cut
 * only when its lease ends), the other leases' danger zones still come
 * in time: see lock_registry_watch.
 */
static void
watch_while_waiting(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		ignored;

	if (now - last_watch < (TimestampTz) WATCH_WHILE_WAITING_MS * 1000)
		return;
	last_watch = now;
	lock_registry_watch(lock_now_ms(), &ignored);
}

/* Makes the call in the scratch context, which is reset afterwards. */
#define IN_SCRATCH(scratch, call) \
	do { \
		MemoryContext old_ = MemoryContextSwitchTo(scratch); \
		call; \
		MemoryContextSwitchTo(old_); \
		MemoryContextReset(scratch); \
		CHECK_FOR_INTERRUPTS(); \
	} while (0)

void
dynamo_atomic_lock_worker_main(Datum arg)
{
	int			index = DatumGetInt32(arg);
	MemoryContext scratch;
	char		digest[CREDENTIALS_DIGEST_LEN];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	scratch = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic lock worker",
									ALLOCSET_DEFAULT_SIZES);
	settings_credentials_digest(digest);
	lock_registry_attach_worker(index, digest);
	if (index == 0)
		id_blocks_prefetcher_started();
	http_set_wait_hook(watch_while_waiting);
	ereport(LOG, (errmsg("dynamo_atomic lock worker %d started", index + 1)));

	for (;;)
	{
		int			handle;
		LockSlot	copy;
		LockWork	work;
		long		wait_ms = MAX_SLEEP_MS;
		long		watch_wait_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			settings_credentials_digest(digest);
			lock_registry_publish_credentials(digest);
		}

		lock_registry_drop_orphans();
		while (lock_registry_next_work(lock_now_ms(), &handle, &copy, &work, &wait_ms))
		{
			if (work == LOCK_WORK_RELEASE)
				IN_SCRATCH(scratch, release(handle, &copy, scratch));
			else
				IN_SCRATCH(scratch, heartbeat(handle, &copy, scratch));
		}
		if (index == 0)
		{
			int			slot;
			IdCounter	counter;

			/* One at a time: due leases come first again after each. */
			if (id_blocks_prefetch_due(&slot, &counter))
			{
				IN_SCRATCH(scratch, prefetch(slot, &counter, digest, scratch));
				wait_ms = 0;
			}
		}
		/* All workers but the last send combined increments: one is kept for leases. */
		if (index < dynamo_lock_workers - 1)
		{
			IncrementBatch batch;

			if (increment_batches_claim(digest, &batch))
			{
				IN_SCRATCH(scratch, send_batch(&batch, scratch));
				wait_ms = 0;
			}
		}
		if (wait_ms < 0 || wait_ms > MAX_SLEEP_MS)
			wait_ms = MAX_SLEEP_MS;
		/* Last before the sleep: it wakes when the next lease enters its danger zone. */
		lock_registry_watch(lock_now_ms(), &watch_wait_ms);
		last_watch = GetCurrentTimestamp();
		if (watch_wait_ms >= 0)
			wait_ms = Min(wait_ms, watch_wait_ms);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait_ms, 1), dynamo_wait_event(DYNAMO_WAIT_WORKER_MAIN));
		ResetLatch(MyLatch);
	}
}
