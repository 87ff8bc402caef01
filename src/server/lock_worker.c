/*
 * lock_worker.c - the lease heartbeat worker (see lock_worker.h).
 *
 * Each held lock gets a heartbeat a third of the way into its lease: one
 * UpdateItem conditioned on the owner and the fencing token that extends
 * lease_until and ttl and sets a new version, which is recorded in the
 * registry so the holding backend stays in step.  A refused heartbeat means
 * the lock was taken over: the slot is marked lost, and the owner's next
 * release or refresh says so.  A failed one (network, throttling) is a
 * WARNING and is tried again soon; the loop never ends on it.
 *
 * It also fetches ID blocks ahead: when a shared block of dynamo_nextval is
 * half used, the next one is reserved into the slot's spare (id_blocks.c).
 *
 * Like worker_spi: SIGTERM is die() (a request in flight is abandoned at
 * the next interrupt check, within 100 ms), SIGHUP reloads the
 * configuration, WaitLatch exits on postmaster death, and the postmaster
 * restarts the worker a second after it ends; the registry, in shared
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
#include "utils/wait_event.h"

#include "counter_item.h"
#include "id_blocks.h"
#include "lock_item.h"
#include "lock_registry.h"
#include "op_stats.h"
#include "lock_worker.h"

/* The longest sleep: also how soon a dead backend's slot is noticed. */
#define MAX_SLEEP_MS 1000

PGDLLEXPORT void dynamo_atomic_lock_worker_main(Datum arg);

void
lock_worker_register(void)
{
	BackgroundWorker worker = {0};

	/* A connection to no database: it shows in pg_stat_activity and can be signalled. */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dynamo_atomic");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dynamo_atomic_lock_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dynamo_atomic lock worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "dynamo_atomic lock worker");
	RegisterBackgroundWorker(&worker);
}

/* One heartbeat; DynamoDB and network errors become a WARNING and a failure count. */
static void
heartbeat(int handle, const LockSlot *copy, MemoryContext scratch)
{
	LockTarget	target = {copy->endpoint, copy->region, copy->table, copy->name, copy->owner};
	LockGrant	grant;

	PG_TRY();
	{
		if (lock_item_heartbeat(&target, copy->fencing_token, copy->lease_ms, &grant))
			lock_registry_record_heartbeat(handle, copy, true, &grant, NULL);
		else
		{
			LockHolder	now;
			char	   *why;

			lock_item_read(&target, &now);
			why = psprintf("lost: %s", lock_holder_text(&now));
			lock_registry_record_heartbeat(handle, copy, false, NULL, why);
			ereport(LOG,
					(errmsg("dynamo_atomic: lock \"%s\" of backend %d was taken over", copy->name, copy->pid),
					 errdetail("%s.", why)));
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
						copy->name, error->message)));
	}
	PG_END_TRY();
}

/* Fetches a counter's next ID block ahead, into the slot's spare. */
static void
prefetch(int slot, IdCounter *c, MemoryContext scratch)
{
	CounterRef	ref = {c->table, c->key_attribute, c->count_attribute, c->id, c->id, c->endpoint, c->region};

	PG_TRY();
	{
		int64		last = counter_add(&ref, c->cache, false, 0, false, 0, true);

		id_blocks_store_spare(slot, last - c->cache + 1, last);
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
						c->id, error->message)));
	}
	PG_END_TRY();
}

void
dynamo_atomic_lock_worker_main(Datum arg)
{
	MemoryContext scratch;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	scratch = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic lock worker",
									ALLOCSET_DEFAULT_SIZES);
	lock_registry_attach_worker();
	ereport(LOG, (errmsg("dynamo_atomic lock worker started")));

	for (;;)
	{
		int			handle;
		LockSlot	copy;
		long		wait_ms = MAX_SLEEP_MS;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		lock_registry_drop_orphans();
		while (lock_registry_next_due(lock_now_ms(), &handle, &copy, &wait_ms))
		{
			MemoryContext old = MemoryContextSwitchTo(scratch);

			heartbeat(handle, &copy, scratch);
			MemoryContextSwitchTo(old);
			MemoryContextReset(scratch);
			CHECK_FOR_INTERRUPTS();
		}
		{
			int			slot;
			IdCounter	counter;

			while (id_blocks_prefetch_due(&slot, &counter))
			{
				MemoryContext old = MemoryContextSwitchTo(scratch);

				prefetch(slot, &counter, scratch);
				MemoryContextSwitchTo(old);
				MemoryContextReset(scratch);
				CHECK_FOR_INTERRUPTS();
			}
		}
		if (wait_ms < 0 || wait_ms > MAX_SLEEP_MS)
			wait_ms = MAX_SLEEP_MS;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
