/*
 * lock_session.c - this session's held locks (see lock_session.h).
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "lock_commit.h"
#include "lock_interrupt.h"
#include "lock_session.h"
#include "settings.h"
#include "text_encoding.h"

/* Bounds on a release made while a scope ends. */
#define SCOPE_END_TIMEOUT_MS 2000
#define SCOPE_END_RETRIES 1
/* Every release of a backend that exits, together. */
#define EXIT_BUDGET_MS 3000

/* A held lock: its registry slot, and the subtransaction that took it. */
typedef struct HeldLock
{
	int			handle;
	SubTransactionId subxact;
	bool		guards_xact;	/* a session lock the current transaction's commit relies on */
	LockCancel	cancel;			/* what the workers do in its danger zone, unguarded */
} HeldLock;

static List *held = NIL;		/* of HeldLock, in TopMemoryContext */
static bool callbacks_registered = false;
static char *owner = NULL;
static char *holder = NULL;
static MemoryContext release_context = NULL;

/*
 * The last lock released while a worker's cancel of it may still be on its
 * way (a PL/pgSQL block with an EXCEPTION clause rolls back, releasing the
 * lock, before the cancel's report is emitted): lock_session_cancelled
 * still names it, for a moment.
 */
static LockSlot released_cancelled;
static TimestampTz released_cancelled_in = 0;	/* in the statement that started then */

const char *
lock_session_owner(void)
{
	if (owner == NULL)
		owner = MemoryContextStrdup(TopMemoryContext,
									psprintf(UINT64_FORMAT ":%d:" INT64_FORMAT,
											 GetSystemIdentifier(), MyProcPid,
											 (int64) MyStartTimestamp));
	return owner;
}

const char *
lock_session_holder(void)
{
	if (holder == NULL)
	{
		char		host[256];
		char	   *db = get_database_name(MyDatabaseId);
		char	   *text;

		if (gethostname(host, sizeof(host)) != 0)
			strlcpy(host, "?", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		text = psprintf("host %s pid %d database %s", host, MyProcPid, db ? db : "?");
		/* Sent to DynamoDB: UTF-8, as every text there. */
		holder = MemoryContextStrdup(TopMemoryContext, text_to_utf8_or_escaped(text));
	}
	return holder;
}

LockRegistryCredentials
lock_session_worker_credentials(void)
{
	char		digest[CREDENTIALS_DIGEST_LEN];

	/*
	 * The settings as this session has them, role and database settings
	 * included, against what the workers really use: no privilege is
	 * needed to read either, and the secret itself is never compared.
	 */
	settings_credentials_digest(digest);
	return lock_registry_check_credentials(digest);
}

int
lock_session_find(const char *table, const char *name)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		int			handle = ((HeldLock *) lfirst(lc))->handle;
		LockSlot	s;

		lock_registry_read(handle, &s);
		if (strcmp(s.table, table) == 0 && strcmp(s.name, name) == 0)
			return handle;
	}
	return -1;
}

/* Removes a slot from this session's list, leaving the slot itself alone. */
static void
drop_from_list(int handle)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);

		if (h->handle == handle)
		{
			held = foreach_delete_current(held, lc);
			pfree(h);
			break;
		}
	}
}

void
lock_session_forget(int handle)
{
	LockSlot	s;

	lock_registry_read(handle, &s);
	drop_from_list(handle);
	lock_registry_free(handle);
	lock_registry_wake_waiters(lock_registry_key(s.table, s.name));
}

void
lock_session_hand_over(int handle)
{
	if (!lock_registry_is_shared())
	{
		lock_session_forget(handle);
		return;
	}
	drop_from_list(handle);
	lock_registry_hand_over(handle);
}

/*
 * Releases one lock as its scope ends: bounded (each attempt at most 2 s,
 * one retry; at exit within deadline), and a failure is a WARNING.  What
 * could not be released goes to the lock workers, which retry until its
 * lease could have ended (the release is conditioned on the token: it
 * cannot free a later acquisition of this session's).  False if it failed.
 *
 * This runs where interrupts are held (a transaction's end, proc_exit),
 * and a caught ERROR resets the holdoff counts: they are put back first
 * thing in the PG_CATCH.  At exit, proc_exit_inprogress is cleared only
 * around the request, so that its errors are caught rather than FATAL.
 */
static bool
release_at_scope_end(int handle, TimestampTz deadline, bool at_exit)
{
	volatile bool released = true;
	uint32		holdoff = InterruptHoldoffCount;
	uint32		cancel_holdoff = QueryCancelHoldoffCount;
	uint32		critical = CritSectionCount;
	LockSlot	s;
	int			saved_timeout = dynamo_request_timeout_ms;
	int			saved_connect = dynamo_connect_timeout_ms;
	int			saved_retries = dynamo_max_retries;
	MemoryContext old = MemoryContextSwitchTo(release_context);

	lock_registry_read(handle, &s);
	/* Its scope is over: no cancel may reach what the session does next. */
	lock_registry_set_cancel(handle, LOCK_CANCEL_NONE);
	dynamo_request_timeout_ms = Min(saved_timeout, SCOPE_END_TIMEOUT_MS);
	dynamo_connect_timeout_ms = Min(saved_connect, SCOPE_END_TIMEOUT_MS);
	dynamo_max_retries = Min(saved_retries, SCOPE_END_RETRIES);
	PG_TRY();
	{
		LockTarget	t = {s.endpoint, s.region, s.table, s.name, s.owner, s.key_form};
		bool		refused;

		if (at_exit)
			proc_exit_inprogress = false;
		/*
		 * Lost or not (see release_held in lock.c): owner and token condition
		 * it.  Not once no write of this session's could still hold it.
		 */
		refused = (s.lost && lock_now_ms() >= s.lease_max_ms) ||
			!lock_item_release(&t, s.fencing_token, deadline, NULL);
		if (at_exit)
			proc_exit_inprogress = true;
		if (refused)
			ereport(NOTICE,
					(errmsg("lock \"%s\" was no longer held by this session when its scope ended", text_display(s.name))));
	}
	PG_CATCH();
	{
		ErrorData  *error;

		if (at_exit)
			proc_exit_inprogress = true;
		InterruptHoldoffCount = holdoff;
		QueryCancelHoldoffCount = cancel_holdoff;
		CritSectionCount = critical;
		MemoryContextSwitchTo(release_context);
		error = CopyErrorData();
		FlushErrorState();
		released = false;
		ereport(WARNING,
				(errmsg("could not release lock \"%s\": %s", text_display(s.name), error->message),
				 lock_registry_is_shared() ?
				 errdetail("A lock worker tries again until its lease ends.") :
				 errdetail("Its lease ends it at the latest %d ms after the last heartbeat.", s.lease_ms)));
	}
	PG_END_TRY();
	dynamo_request_timeout_ms = saved_timeout;
	dynamo_connect_timeout_ms = saved_connect;
	dynamo_max_retries = saved_retries;
	/* Read again: a cancel may have been sent while the release was under way. */
	{
		LockSlot	now;

		lock_registry_read(handle, &now);
		if (s.cancel != LOCK_CANCEL_NONE && now.cancel_sent_at != 0)
		{
			released_cancelled = now;
			released_cancelled.cancel = s.cancel;
			released_cancelled_in = GetCurrentStatementStartTimestamp();
		}
	}
	if (released || !lock_registry_is_shared())
		lock_session_forget(handle);
	else
	{
		drop_from_list(handle);
		lock_registry_hand_over(handle);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(release_context);
	return released;
}

/*
 * Releases the session's locks of a scope that ends: all of them, or the
 * transaction-scope ones, or (subxact valid) the transaction-scope ones
 * taken in that subtransaction.
 */
static void
release_scope(bool all, SubTransactionId subxact)
{
	List	   *handles = NIL;
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);
		LockSlot	s;

		lock_registry_read(h->handle, &s);
		if (all || (s.scope == LOCK_SCOPE_XACT &&
					(subxact == InvalidSubTransactionId || h->subxact == subxact)))
			handles = lappend_int(handles, h->handle);
	}
	foreach(lc, handles)
		(void) release_at_scope_end(lfirst_int(lc), 0, false);
	list_free(handles);
}

static bool
holds_xact_locks(void)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		LockSlot	s;

		lock_registry_read(((HeldLock *) lfirst(lc))->handle, &s);
		if (s.scope == LOCK_SCOPE_XACT)
			return true;
	}
	return false;
}

/*
 * Before the commit is durable: every lock it relies on is checked
 * (lock_commit.h).  After reads of the lock items (which take time) the
 * registry is checked once more for all of them: each must hold at the end.
 */
static void
check_locks_at_commit(void)
{
	ListCell   *lc;

	for (int round = 0; round < (dynamo_lock_commit_check == LOCK_COMMIT_CHECK_READ ? 2 : 1); round++)
		foreach(lc, held)
		{
			HeldLock   *h = lfirst(lc);
			LockSlot	s;

			lock_registry_read(h->handle, &s);
			if (s.scope == LOCK_SCOPE_XACT || h->guards_xact)
				lock_commit_check(h->handle, round == 0);
		}
	/*
	 * Checked: the commit goes on (the WAL flush, a synchronous standby's
	 * answer), and a cancel now could only cut a synchronous commit's wait
	 * short.  The transaction's locks are released or unbound right after.
	 * A cancel that came before is taken first, while the commit can still
	 * fail (and is said as the lock's), and once more after (one that came
	 * in between).
	 */
	CHECK_FOR_INTERRUPTS();
	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);
		LockSlot	s;

		lock_registry_read(h->handle, &s);
		if (s.scope == LOCK_SCOPE_XACT || h->guards_xact)
			lock_registry_set_cancel(h->handle, LOCK_CANCEL_NONE);
	}
	CHECK_FOR_INTERRUPTS();
}

bool
lock_session_guards_xact(int handle)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);

		if (h->handle == handle && h->guards_xact)
			return true;
	}
	return false;
}

static bool
guards_any(void)
{
	ListCell   *lc;

	foreach(lc, held)
		if (((HeldLock *) lfirst(lc))->guards_xact)
			return true;
	return false;
}

static void
unguard_all(void)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);

		if (h->guards_xact)
			lock_registry_set_cancel(h->handle, h->cancel);
		h->guards_xact = false;
	}
}

static void
at_xact_end(XactEvent event, void *arg)
{
	if (held == NIL)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			check_locks_at_commit();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (holds_xact_locks())
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that holds dynamo_atomic transaction-level locks")));
			/* COMMIT PREPARED may come long after: nothing could check it then. */
			if (guards_any())
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction whose commit relies on a dynamo_atomic lock (dynamo_guard_xact)")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			unguard_all();
			release_scope(false, InvalidSubTransactionId);
			break;
		default:
			break;
	}
}

/*
 * As pg_advisory_xact_lock: a transaction-scope lock taken in a
 * subtransaction (a SAVEPOINT, a PL/pgSQL block with EXCEPTION) is
 * released when that subtransaction rolls back, and passes to the parent
 * when it commits.
 */
static void
at_subxact_end(SubXactEvent event, SubTransactionId subxact,
			   SubTransactionId parent, void *arg)
{
	ListCell   *lc;

	if (held == NIL)
		return;
	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			foreach(lc, held)
			{
				HeldLock   *h = lfirst(lc);

				if (h->subxact == subxact)
					h->subxact = parent;
			}
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			release_scope(false, subxact);
			break;
		default:
			break;
	}
}

/*
 * As the backend exits, however it exits (a FATAL error, a termination in
 * the middle of a request): the session's locks are released here, each
 * on its own, all within EXIT_BUDGET_MS; after the first failure, or once
 * the budget is spent, the rest go to the lock workers at once, as does
 * an acquire that this exit cut short after sending it
 * (lock_registry_hand_over_mine).  Without workers their leases end them.
 * Interrupts stay held as proc_exit holds them: a second termination
 * cannot cut this short, and the budget bounds it.
 */
static void
at_backend_exit(int code, Datum arg)
{
	TimestampTz deadline = GetCurrentTimestamp() + (TimestampTz) EXIT_BUDGET_MS * 1000;
	bool		failed = false;

	while (held != NIL)
	{
		int			handle = ((HeldLock *) linitial(held))->handle;

		if (failed || GetCurrentTimestamp() >= deadline)
			drop_from_list(handle);
		else if (!release_at_scope_end(handle, deadline, true))
			failed = true;
		ProcDiePending = QueryCancelPending = false;
	}
	lock_registry_hand_over_mine();
}

void
lock_session_register_callbacks(void)
{
	if (callbacks_registered)
		return;
	release_context = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic lock release",
											ALLOCSET_SMALL_SIZES);
	lock_interrupt_install();
	RegisterXactCallback(at_xact_end, NULL);
	RegisterSubXactCallback(at_subxact_end, NULL);
	before_shmem_exit(at_backend_exit, 0);
	callbacks_registered = true;
}

void
lock_session_add(int handle, LockScope scope)
{
	MemoryContext old;
	HeldLock   *h;

	lock_session_register_callbacks();
	old = MemoryContextSwitchTo(TopMemoryContext);
	h = palloc(sizeof(HeldLock));
	h->handle = handle;
	h->subxact = GetCurrentSubTransactionId();
	h->guards_xact = false;
	h->cancel = lock_session_cancel_for(scope);
	held = lappend(held, h);
	MemoryContextSwitchTo(old);
}

LockCancel
lock_session_cancel_for(LockScope scope)
{
	if (dynamo_lock_loss_cancels == LOCK_LOSS_CANCELS_NONE)
		return LOCK_CANCEL_NONE;
	if (scope == LOCK_SCOPE_XACT)
		return LOCK_CANCEL_REPEAT;
	return dynamo_lock_loss_cancels == LOCK_LOSS_CANCELS_ALL ? LOCK_CANCEL_ONCE : LOCK_CANCEL_NONE;
}

void
lock_session_check_lost(void)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);
		LockSlot	s;
		TimestampTz lost_at = lock_registry_lost_at(h->handle);

		if (lost_at == 0)
			continue;
		lock_registry_read(h->handle, &s);
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("lock \"%s\" of this session was lost at %s", text_display(s.name), timestamptz_to_str(lost_at)),
				 s.lost && s.note[0] ? errdetail("A lock worker found it %s.", text_display(s.note)) :
				 errdetail("Its lease and lock_clock_skew_ms passed with no heartbeat through."),
				 errhint("Whatever this session did under it since then may have overlapped another holder. "
						 "Release it with dynamo_release_lock() (until then every dynamo_* call says this), "
						 "and take it again.")));
	}
}

bool
lock_session_cancelled(LockSlot *out, bool *repeat)
{
	ListCell   *lc;
	int			best = -1;
	LockSlot	s;

	/* The lock a cancel is most likely for: a transaction's first, then the latest sent. */
	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);

		lock_registry_read(h->handle, &s);
		if (s.cancel == LOCK_CANCEL_NONE || s.cancel_sent_at == 0 ||
			(s.cancel == LOCK_CANCEL_ONCE && s.cancel_acked) ||
			lock_slot_state(&s, lock_now_ms()) == LOCK_STATE_HELD)
			continue;
		if (best < 0 || (s.cancel == LOCK_CANCEL_REPEAT && out->cancel != LOCK_CANCEL_REPEAT) ||
			(s.cancel == out->cancel && s.cancel_sent_at > out->cancel_sent_at))
		{
			best = h->handle;
			*out = s;
		}
	}
	if (best >= 0)
	{
		*repeat = out->cancel == LOCK_CANCEL_REPEAT;
		if (!*repeat)
			lock_registry_ack_cancel(best);
		return true;
	}
	/* Released in this statement (a PL/pgSQL block's rollback) while its cancel was on its way. */
	if (released_cancelled_in != 0 && released_cancelled_in == GetCurrentStatementStartTimestamp())
	{
		*out = released_cancelled;
		*repeat = out->cancel == LOCK_CANCEL_REPEAT;
		released_cancelled_in = 0;
		return true;
	}
	return false;
}

void
lock_session_guard_xact(int handle)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldLock   *h = lfirst(lc);

		if (h->handle == handle)
		{
			h->guards_xact = true;
			lock_registry_set_cancel(handle, dynamo_lock_loss_cancels == LOCK_LOSS_CANCELS_NONE ?
									 LOCK_CANCEL_NONE : LOCK_CANCEL_REPEAT);
		}
	}
}
