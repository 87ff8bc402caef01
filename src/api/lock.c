/*
 * lock.c - distributed locks: dynamo_get_lock, dynamo_try_get_lock, their
 * _xact_ forms, dynamo_release_lock, dynamo_refresh_lock, dynamo_held_locks.
 *
 * Acquiring is one conditional UpdateItem (lock_item.c).  A held lock is
 * waited for with jittered backoff (5 ms doubling to 100 ms) while this
 * backend is listed as a waiter, so that a release in this server wakes
 * it at once; lock_timeout, statement_timeout and cancel end the wait.
 * Taking a lock this session already holds is an error (55P03): these
 * locks are not re-entrant, so one release always frees them.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "args.h"
#include "endpoint.h"
#include "global_tables.h"
#include "lock_commit.h"
#include "lock_item.h"
#include "lock_registry.h"
#include "lock_session.h"
#include "settings.h"
#include "text_encoding.h"
#include "wait_events.h"
#include "extension_version.h"
#include "lock_api.h"

#define MAX_LEASE_MS (24 * 60 * 60 * 1000)
/*
 * A heartbeat is sent a third of the way into a lease and may take a
 * round trip or a few retries: a shorter lease cannot be kept alive.
 */
#define MIN_LEASE_MS 1000
/* A payload names a leader (an address, a few fields), not data: JSON text. */
#define MAX_PAYLOAD_BYTES 16384
#define FIRST_PAUSE_MS 5
#define MAX_PAUSE_MS 100

static bool preload_notice_given = false;

/* The dynamo_lock value of a held slot. */
Datum
lock_datum(FunctionCallInfo fcinfo, const LockSlot *s)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be dynamo_lock");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(s->table);
	values[1] = CStringGetTextDatum(text_from_utf8(s->name, "lock name"));
	values[2] = CStringGetTextDatum(s->owner);
	values[3] = CStringGetTextDatum(s->version);
	values[4] = Int64GetDatum(s->fencing_token);
	values[5] = TimestampTzGetDatum(lock_ms_to_timestamptz(s->lease_until_ms));
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

int
arg_lease_ms(FunctionCallInfo fcinfo, int argno)
{
	int			lease;

	if (PG_ARGISNULL(argno))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("lease_ms must not be NULL")));
	lease = PG_GETARG_INT32(argno);
	if (lease < MIN_LEASE_MS || lease > MAX_LEASE_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease_ms must be between %d and %d (a day), not %d",
						MIN_LEASE_MS, MAX_LEASE_MS, lease),
				 errdetail("lease_ms is in milliseconds; a lease shorter than %d ms cannot be kept alive.",
						   MIN_LEASE_MS)));
	return lease;
}

/*
 * A lock that a commit relies on, or whose holder is cancelled in its
 * danger zone, needs a lease whose heartbeat (due with two thirds left)
 * comes well before that zone: with lock_clock_skew_ms +
 * lock_commit_margin_ms left, a commit is refused and the zone begins.
 */
static void
check_lease_before_danger(const char *name, int lease_ms, const char *what)
{
	int64		margin = (int64) dynamo_lock_clock_skew_ms + dynamo_lock_commit_margin_ms;

	if (lease_ms < 2 * margin)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease_ms of lock \"%s\" must be at least %lld for %s, not %d",
						name, (long long) (2 * margin), what, lease_ms),
				 errdetail("With dynamo_atomic.lock_clock_skew_ms + lock_commit_margin_ms (%lld ms) of lease left "
						   "its commit is refused and its holder cancelled; its heartbeat comes with two thirds left. "
						   "Twice that margin leaves a heartbeat time for a second attempt.", (long long) margin)));
}

/*
 * The lock workers refresh and release leases with their own credentials:
 * a session that signs with others would hold a lock they cannot keep.
 * Without a running worker (not preloaded, or it is not up) nothing keeps
 * the lease, and the session is told so once.
 */
static void
check_lease_keeper(void)
{
	switch (lock_session_worker_credentials())
	{
		case REGISTRY_SAME_CREDENTIALS:
			return;
		case REGISTRY_OTHER_CREDENTIALS:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot take a lock with credentials settings other than the lock workers'"),
					 errdetail("The lock workers refresh leases with the server's configuration "
							   "(dynamo_atomic.access_key_id, secret_access_key, session_token, profile), "
							   "and this session's differ: set in the session, or for a role or database."),
					 errhint("RESET those settings, or configure the credentials for the whole server.")));
			break;
		case REGISTRY_NO_WORKER:
			if (!preload_notice_given)
				ereport(NOTICE,
						(errmsg(lock_registry_is_shared() ?
								"no dynamo_atomic lock worker is running: lock leases are not refreshed" :
								"dynamo_atomic is not in shared_preload_libraries: lock leases are not refreshed"),
						 errdetail("A lock held longer than its lease can be taken over; refresh it with dynamo_refresh_lock().")));
			preload_notice_given = true;
			break;
	}
}

/* What to say when a lock cannot be had, naming its holder. */
static void
raise_not_available(const LockTarget *t, bool by_lock_timeout)
{
	LockHolder	h;

	lock_item_read(t, &h);
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 by_lock_timeout ? errmsg("canceling statement due to lock timeout") :
			 errmsg("could not obtain lock \"%s\" in table \"%s\"", text_display(t->name), t->table),
			 errdetail("Lock \"%s\": %s.", text_display(t->name), text_display(lock_holder_text(&h)))));
}

/*
 * An answer that came late leaves little or none of the lease it granted
 * (each attempt counts the lease from its own start, and is cut at the
 * lease's length): when a heartbeat would already be due, one is sent now,
 * before the lock is handed to the caller.  False if the lock was taken
 * over meanwhile (treated as not acquired).
 */
static bool
lease_still_good(const LockTarget *t, int lease_ms, LockGrant *grant)
{
	if (lock_now_ms() < grant->lease_until_ms - (2 * (int64) lease_ms) / 3)
		return true;
	/* Worth nothing once that lease has ended. */
	return lock_item_heartbeat(t, grant->fencing_token, lease_ms,
							   lock_ms_to_timestamptz(grant->lease_until_ms), grant);
}

/*
 * Takes the lock, waiting up to wait_ms (try: not at all).  Returns false
 * only for try when it is held.  handle: the registry slot told of the
 * grant, or -1 for a lease lock, which no slot keeps.
 */
bool
lock_acquire_waiting(int handle, const LockTarget *t, int lease_ms, int wait_ms, bool try, const char *holder,
					 const char *payload, LockGrant *grant)
{
	int64		start = lock_now_ms();
	int64		deadline = start + wait_ms;
	bool		by_lock_timeout = false;
	long		pause = FIRST_PAUSE_MS;
	uint32		key = lock_registry_key(t->table, t->name);
	volatile bool waiting = false;
	bool		taken = false;

	if (!try && LockTimeout > 0 && LockTimeout < wait_ms)
	{
		deadline = start + LockTimeout;
		by_lock_timeout = true;
	}
	PG_TRY();
	{
		for (;;)
		{
			int64		now;
			long		sleep_ms;

			if (lock_item_acquire(t, lease_ms, dynamo_lock_clock_skew_ms, holder, payload, grant))
			{
				/* Granted: an ERROR from here on leaves the slot to the workers to release. */
				if (handle >= 0)
					lock_registry_note_grant(handle, grant, lease_ms);
				if (lease_still_good(t, lease_ms, grant))
				{
					taken = true;
					break;
				}
			}
			now = lock_now_ms();
			if (try || now >= deadline)
				break;
			if (!waiting)
			{
				lock_registry_wait_begin(key);
				waiting = true;
			}
			/* Equal jitter: waiters on other servers do not come back together. */
			sleep_ms = pause / 2 + (long) pg_prng_uint64_range(&pg_global_prng_state, 0, pause / 2);
			sleep_ms = Max(1, Min(sleep_ms, deadline - now));
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sleep_ms, dynamo_wait_event(DYNAMO_WAIT_LOCK));
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			pause = Min(pause * 2, MAX_PAUSE_MS);
		}
	}
	PG_FINALLY();
	{
		if (waiting)
			lock_registry_wait_end();
	}
	PG_END_TRY();
	if (!taken && !try)
		raise_not_available(t, by_lock_timeout);
	return taken;
}

/* Where an acquire records its table's key form, once learned. */
typedef struct KeyFormRecord
{
	int			handle;
	LockSlot   *held;
} KeyFormRecord;

/*
 * The acquire found a single table: the slot says so before the acquire is
 * sent again, so that a worker releasing for this backend (should it die
 * before the answer) sends the key that the acquire may have taken.
 */
static void
record_key_form(void *arg, LockKeyForm form)
{
	KeyFormRecord *r = arg;

	r->held->key_form = form;
	lock_registry_prepare(r->handle, r->held);
}

/*
 * The payload argument as JSON text, size-checked; NULL when none (or when
 * the catalog is older than 1.3 and has no such argument).
 */
pg_noinline char *
arg_payload(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Jsonb	   *payload;
	char	   *text;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	payload = PG_GETARG_JSONB_P(argno);
	text = JsonbToCString(NULL, &payload->root, VARSIZE(payload));
	text = text_to_utf8(text, strlen(text), "the payload");
	if (strlen(text) > MAX_PAYLOAD_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the payload of lock \"%s\" is %zu bytes, over the %d allowed", text_display(name), strlen(text),
						MAX_PAYLOAD_BYTES),
				 errdetail("A lock's payload says who holds it (an address, a few fields); keep data in items.")));
	return text;
}

/* dynamo_[try_]get[_xact]_lock(lock_name, lease_ms, [wait_ms,] table_name, payload) */
static Datum
get_lock(FunctionCallInfo fcinfo, LockScope scope, bool try)
{
	char	   *name = arg_key_value(fcinfo, 0, "lock_name");
	int			lease_ms = arg_lease_ms(fcinfo, 1);
	int			wait_ms = 0;
	int			table_arg = try ? 2 : 3;
	char	   *payload = arg_payload(fcinfo, table_arg + 1, name);
	char	   *table;
	DdbEndpoint ep;
	LockTarget	t;
	LockGrant	grant = {0};	/* an output; cleared so no path reads it unset */
	LockSlot	held;
	KeyFormRecord learned;
	volatile int handle;

	if (!try)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("wait_ms must not be NULL")));
		wait_ms = PG_GETARG_INT32(2);
		if (wait_ms < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("wait_ms must not be negative")));
	}
	table = arg_table_name(fcinfo, table_arg, TABLE_FOR_LOCKS);
	if (scope == LOCK_SCOPE_XACT)
		check_lease_before_danger(name, lease_ms, "a transaction-level lock");
	else if (lock_session_cancel_for(scope) != LOCK_CANCEL_NONE)
		check_lease_before_danger(name, lease_ms, "a session lock under dynamo_atomic.lock_loss_cancels = 'all'");
	if (lock_session_find(table, name) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("lock \"%s\" is already held by this session", text_display(name)),
				 errhint("dynamo_atomic locks are not re-entrant: release it first, or keep using it.")));

	check_lease_keeper();

	/* Recorded with the lock: the worker sends heartbeats to the same place. */
	ddb_endpoint_resolve(&ep, NULL, NULL);
	if (strlen(ep.url) >= LOCK_ENDPOINT_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the DynamoDB endpoint URL is too long to be recorded with a lock (over %d bytes)",
						LOCK_ENDPOINT_SIZE - 1)));
	/* Before a slot is taken: refused, nothing is written. */
	global_tables_check(table, ep.url, ep.region, GUARDED_LOCK);
	t.endpoint_url = ep.url;
	t.region = ep.region;
	t.table = table;
	t.name = name;
	t.owner = lock_session_owner();
	/* Unstated: what this backend learned is a guess the acquire checks. */
	t.key_form = LOCK_KEY_UNKNOWN;
	t.key_form_learned = NULL;

	/* A slot first: a full registry refuses before anything is written. */
	lock_session_register_callbacks();
	handle = lock_registry_reserve();
	memset(&held, 0, sizeof(held));
	strlcpy(held.table, table, sizeof(held.table));
	strlcpy(held.name, name, sizeof(held.name));
	strlcpy(held.owner, t.owner, sizeof(held.owner));
	strlcpy(held.endpoint, ep.url, sizeof(held.endpoint));
	strlcpy(held.region, ep.region, sizeof(held.region));
	/*
	 * What this backend learned before, or UNKNOWN, which a worker releasing
	 * for it learns as the acquire does; record_key_form corrects it before
	 * the acquire is sent with another key.
	 */
	held.key_form = lock_item_known_key_form(&t);
	held.lease_ms = lease_ms;
	/* Should this backend die before the answer, the lock it may have is released by owner. */
	lock_registry_prepare(handle, &held);
	learned.handle = handle;
	learned.held = &held;
	t.key_form_learned = record_key_form;
	t.key_form_learned_arg = &learned;
	PG_TRY();
	{
		if (!lock_acquire_waiting(handle, &t, lease_ms, wait_ms, try, lock_session_holder(), payload, &grant))
		{
			lock_registry_free(handle);
			handle = -1;
		}
	}
	PG_CATCH();
	{
		/* Granted before the ERROR: released by a worker; else freed. */
		lock_registry_hand_over(handle);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (handle < 0)
		PG_RETURN_NULL();

	held.scope = scope;
	held.cancel = lock_session_cancel_for(scope);
	held.danger_left_ms = (int) lock_danger_left_ms(lease_ms);
	held.key_form = lock_item_known_key_form(&t);	/* learned by now */
	strlcpy(held.version, grant.version, sizeof(held.version));
	held.fencing_token = grant.fencing_token;
	held.lease_until_ms = grant.lease_until_ms;
	lock_registry_activate(handle, &held);
	lock_session_add(handle, scope);
	PG_RETURN_DATUM(lock_datum(fcinfo, &held));
}

DYNAMO_SQL_FUNCTION(dynamo_get_lock);
static Datum
dynamo_get_lock_checked(PG_FUNCTION_ARGS)
{
	return get_lock(fcinfo, LOCK_SCOPE_SESSION, false);
}

DYNAMO_SQL_FUNCTION(dynamo_try_get_lock);
static Datum
dynamo_try_get_lock_checked(PG_FUNCTION_ARGS)
{
	return get_lock(fcinfo, LOCK_SCOPE_SESSION, true);
}

DYNAMO_SQL_FUNCTION(dynamo_get_xact_lock);
static Datum
dynamo_get_xact_lock_checked(PG_FUNCTION_ARGS)
{
	return get_lock(fcinfo, LOCK_SCOPE_XACT, false);
}

DYNAMO_SQL_FUNCTION(dynamo_try_get_xact_lock);
static Datum
dynamo_try_get_xact_lock_checked(PG_FUNCTION_ARGS)
{
	return get_lock(fcinfo, LOCK_SCOPE_XACT, true);
}

/* A dynamo_lock argument's text field; NULL is an error. */
static char *
lock_field_text(HeapTupleHeader lock, int attno, const char *what)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(lock, attno, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the dynamo_lock's %s must not be NULL", what)));
	return TextDatumGetCString(d);
}

/* held_slot_of's answer for a lease lock's value (out has its table, owner and token). */
#define LEASE_LOCK_HANDLE (-2)

/*
 * The slot this session holds for a dynamo_lock argument, or -1 when it no
 * longer holds that acquisition.  A value of another session is refused.
 */
static int
held_slot_of(FunctionCallInfo fcinfo, LockSlot *out, char **name_out)
{
	HeapTupleHeader lock;
	char	   *table;
	char	   *name;
	char	   *owner;
	bool		isnull;
	int64		token;
	int			handle;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("lock must not be NULL")));
	lock = PG_GETARG_HEAPTUPLEHEADER(0);
	table = lock_field_text(lock, 1, "table_name");
	name = lock_field_text(lock, 2, "lock_name");
	name = text_to_utf8(name, strlen(name), "the dynamo_lock's lock_name");
	owner = lock_field_text(lock, 3, "owner");
	token = DatumGetInt64(GetAttributeByNum(lock, 5, &isnull));
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the dynamo_lock's fencing_token must not be NULL")));
	*name_out = name;
	/* a lease lock's value: no session holds it (lease_lock.c) */
	if (strncmp(owner, LEASE_LOCK_OWNER_PREFIX, strlen(LEASE_LOCK_OWNER_PREFIX)) == 0)
	{
		/* token 0 would mean "any acquisition of this owner" to a release */
		if (token <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the dynamo_lock's fencing_token must be positive")));
		require_valid_table_name(table);
		out->fencing_token = token;
		strlcpy(out->table, table, sizeof(out->table));
		strlcpy(out->owner, owner, sizeof(out->owner));
		return LEASE_LOCK_HANDLE;
	}
	if (strcmp(owner, lock_session_owner()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lock \"%s\" was not taken by this session", text_display(name)),
				 errdetail("Its owner is \"%s\": a dynamo_lock works only in the session that took it.", owner)));
	handle = lock_session_find(table, name);
	if (handle < 0)
		return -1;
	lock_registry_read(handle, out);
	return out->fencing_token == token ? handle : -1;
}

/*
 * The release of a lock this server marked lost: DynamoDB may still hold it
 * for this session (a heartbeat it applied and never answered), until
 * lease_max_ms at the latest.  Bounded by that; a failure hands the lock
 * to the workers (a NOTICE, false) rather than leaving the session stuck
 * with a lost lock it cannot release while DynamoDB is out of reach.
 */
static bool
release_lost(int handle, const LockSlot *s, char **why_not)
{
	LockTarget	t = {s->endpoint, s->region, s->table, s->name, s->owner, s->key_form};
	MemoryContext context = CurrentMemoryContext;
	volatile bool released = false;

	if (lock_now_ms() >= s->lease_max_ms)
	{
		lock_session_forget(handle);
		return false;
	}
	PG_TRY();
	{
		released = lock_item_release(&t, s->fencing_token, lock_ms_to_timestamptz(s->lease_max_ms), why_not);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		lock_session_hand_over(handle);
		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED || error->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		*why_not = psprintf("its release failed (%s): a lock worker tries again until its lease could have ended",
							error->message);
		return false;
	}
	PG_END_TRY();
	lock_session_forget(handle);
	return released;
}

/* Releases a lock this session holds: true, or false (NOTICE) when it had been lost. */
static bool
release_held(int handle, const LockSlot *s, const char *name)
{
	LockTarget	t;
	bool		released;
	char	   *why_not = NULL;

	/* The transaction's commit relies on it (lock_commit.h): not before the transaction ends. */
	if (s->scope == LOCK_SCOPE_XACT || lock_session_guards_xact(handle))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot release lock \"%s\" before the transaction that relies on it ends", text_display(name)),
				 s->scope == LOCK_SCOPE_XACT ?
				 errhint("A transaction-level lock is released at COMMIT or ROLLBACK.") :
				 errhint("dynamo_guard_xact bound it to this transaction: release it after COMMIT or ROLLBACK.")));
	t = (LockTarget) {s->endpoint, s->region, s->table, s->name, s->owner, s->key_form};
	/*
	 * Sent for a lock marked lost too: a heartbeat that DynamoDB applied and
	 * never answered may keep it ours there, and the release, conditioned on
	 * owner and token, frees nobody else's.
	 */
	if (s->lost)
		released = release_lost(handle, s, &why_not);
	else
	{
		released = lock_item_release(&t, s->fencing_token, 0, &why_not);
		lock_session_forget(handle);
	}
	if (!released)
		ereport(NOTICE,
				(errmsg("lock \"%s\" had already been lost", text_display(name)),
				 why_not ? errdetail("%s.", text_display(why_not)) : s->note[0] ? errdetail("%s.", text_display(s->note)) : 0));
	return released;
}

DYNAMO_SQL_FUNCTION(dynamo_release_lock);

/* dynamo_release_lock(lock) -> true when released, false (NOTICE) when no longer held */
static Datum
dynamo_release_lock_checked(PG_FUNCTION_ARGS)
{
	LockSlot	s;
	char	   *name;
	int			handle = held_slot_of(fcinfo, &s, &name);

	if (handle == LEASE_LOCK_HANDLE)
		PG_RETURN_BOOL(lease_lock_release(s.table, name, s.owner, s.fencing_token));
	if (handle < 0)
	{
		ereport(NOTICE, (errmsg("lock \"%s\" is not held by this session", text_display(name))));
		PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(release_held(handle, &s, name));
}

DYNAMO_SQL_FUNCTION(dynamo_release_lock_by_name);

/*
 * dynamo_release_lock(lock_name, table_name): the same for the lock of
 * that name this session holds, when its dynamo_lock value is not at hand.
 */
static Datum
dynamo_release_lock_by_name_checked(PG_FUNCTION_ARGS)
{
	char	   *name = arg_key_value(fcinfo, 0, "lock_name");
	char	   *table;
	int			handle;
	LockSlot	s;

	/* Not through arg_table_name: that would say first that a lock was lost. */
	if (PG_ARGISNULL(1))
		table = pstrdup(dynamo_lock_table);
	else
	{
		table = text_to_cstring(PG_GETARG_TEXT_PP(1));
		require_valid_table_name(table);
	}
	handle = lock_session_find(table, name);
	if (handle < 0)
	{
		char	   *why_not = NULL;

		/* a lease lock, which no session holds, is ended by name from anywhere */
		if (lease_lock_release_by_name(table, name, &why_not))
			PG_RETURN_BOOL(true);
		ereport(NOTICE,
				(errmsg("lock \"%s\" is not held by this session", text_display(name)),
				 why_not ? errdetail("Lock \"%s\": %s.", text_display(name), text_display(why_not)) : 0));
		PG_RETURN_BOOL(false);
	}
	lock_registry_read(handle, &s);
	PG_RETURN_BOOL(release_held(handle, &s, name));
}

DYNAMO_SQL_FUNCTION(dynamo_guard_xact);

/*
 * dynamo_guard_xact(lock) -> the lock: the current transaction commits only
 * while this session still holds it with enough lease left (lock_commit.h).
 */
static Datum
dynamo_guard_xact_checked(PG_FUNCTION_ARGS)
{
	LockSlot	s;
	char	   *name;
	int			handle = held_slot_of(fcinfo, &s, &name);

	extension_version_check();
	lock_session_check_lost();
	if (handle == LEASE_LOCK_HANDLE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lease lock \"%s\" cannot guard a transaction", text_display(name)),
				 errdetail("No session holds a lease lock and no heartbeat keeps it: its lease alone ends it."),
				 errhint("Guard the transaction with a lock from dynamo_get_lock.")));
	if (handle < 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("lock \"%s\" is not held by this session", text_display(name))));
	if (!IsTransactionBlock())
		ereport(WARNING,
				(errmsg("dynamo_guard_xact outside a transaction block guards only this statement's commit")));
	check_lease_before_danger(name, s.lease_ms, "dynamo_guard_xact");
	/* Checked now as at commit: what is already unsafe is said at once. */
	lock_commit_check(handle, true);
	lock_session_guard_xact(handle);
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

DYNAMO_SQL_FUNCTION(dynamo_refresh_lock);

/* dynamo_refresh_lock(lock, lease_ms) -> the lock with its new lease and version */
static Datum
dynamo_refresh_lock_checked(PG_FUNCTION_ARGS)
{
	LockSlot	s;
	char	   *name;
	int			handle = held_slot_of(fcinfo, &s, &name);
	LockTarget	t;
	LockGrant	grant = {0};	/* an output; cleared so no path reads it unset */
	volatile bool refreshed = false;

	if (handle == LEASE_LOCK_HANDLE)
		return lease_lock_refresh(fcinfo, &s, name);
	/* (No lost notice first: a lease that ended unheard may still be ours to refresh.) */
	if (handle < 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("lock \"%s\" is not held by this session", text_display(name))));
	if (!PG_ARGISNULL(1))
	{
		s.lease_ms = arg_lease_ms(fcinfo, 1);
		if (s.scope == LOCK_SCOPE_XACT || lock_session_guards_xact(handle))
			check_lease_before_danger(name, s.lease_ms, "a lock its transaction's commit relies on");
		else if (s.cancel != LOCK_CANCEL_NONE)
			check_lease_before_danger(name, s.lease_ms, "a session lock under dynamo_atomic.lock_loss_cancels = 'all'");
	}
	t = (LockTarget) {s.endpoint, s.region, s.table, s.name, s.owner, s.key_form};

	/* No heartbeat of this lock is in flight meanwhile: see lock_registry_claim. */
	lock_registry_claim(handle, s.lease_ms);
	PG_TRY();
	{
		refreshed = !s.lost && lock_item_heartbeat(&t, s.fencing_token, s.lease_ms, 0, &grant);
		if (refreshed)
			lock_registry_record_grant(handle, &grant, s.lease_ms);
	}
	PG_FINALLY();
	{
		lock_registry_unclaim(handle);
	}
	PG_END_TRY();
	if (!refreshed)
	{
		LockHolder	h;

		lock_item_read(&t, &h);
		lock_registry_mark_lost(handle, psprintf("lost: %s", lock_holder_text(&h)));
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("lock \"%s\" was lost", text_display(name)),
				 errdetail("Its lease ended and %s.", text_display(lock_holder_text(&h))),
				 errhint("Release it with dynamo_release_lock() and take it again.")));
	}
	lock_registry_read(handle, &s);
	PG_RETURN_DATUM(lock_datum(fcinfo, &s));
}

/*
 * The view dynamo_held_locks is what a role is granted.  Its function must
 * be executable by anyone for that (the functions of a view run with the
 * reader's privileges), so the function asks for SELECT on the view beside
 * it: reading the rows either way needs the same grant.
 */
static void
require_select_on_held_locks_view(FunctionCallInfo fcinfo)
{
	Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			view = get_relname_relid("dynamo_held_locks", schema);

	if (!OidIsValid(view) || pg_class_aclcheck(view, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for view dynamo_held_locks"),
				 errhint("A superuser can GRANT SELECT ON dynamo_held_locks, or run dynamo_atomic_grant(role, 'locks').")));
}

DYNAMO_SQL_FUNCTION(dynamo_held_locks);

static const char *const state_names[] = {
	[LOCK_STATE_HELD] = "held",
	[LOCK_STATE_DANGER] = "danger",
	[LOCK_STATE_LOST] = "lost",
};

/*
 * The registry: every session's locks when preloaded, else this session's.
 * Two SQL functions: dynamo_lock_registry(), all columns (the view's), and
 * dynamo_held_locks(), the first eleven (what views made on 1.0-1.2 use).
 */
static Datum
dynamo_held_locks_checked(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LockSlot   *slots;
	int			n;
	int64		now = lock_now_ms();

	require_select_on_held_locks_view(fcinfo);
	InitMaterializedSRF(fcinfo, 0);
	n = lock_registry_snapshot(&slots);
	for (int i = 0; i < n; i++)
	{
		LockSlot   *s = &slots[i];
		LockState	state = lock_slot_state(s, now);
		Datum		values[13];
		bool		nulls[13] = {0};

		values[0] = Int32GetDatum(s->pid);
		/* Every database's locks: a character this one lacks is escaped, never an ERROR. */
		values[1] = CStringGetTextDatum(text_display(s->name));
		values[2] = CStringGetTextDatum(s->table);
		values[3] = CStringGetTextDatum(s->scope == LOCK_SCOPE_XACT ? "transaction" : "session");
		values[4] = Int64GetDatum(s->fencing_token);
		values[5] = CStringGetTextDatum(s->version);
		values[6] = TimestampTzGetDatum(lock_ms_to_timestamptz(s->lease_until_ms));
		if (s->last_refresh == 0)
			nulls[7] = true;
		else
			values[7] = TimestampTzGetDatum(s->last_refresh);
		values[8] = Int32GetDatum(s->refresh_failures);
		values[9] = BoolGetDatum(s->lost);
		if (s->note[0] == '\0')
			nulls[10] = true;
		else
			values[10] = CStringGetTextDatum(text_display(s->note));
		values[11] = CStringGetTextDatum(state_names[state]);
		/* Since when: found lost, or in the danger zone (where the workers have not marked it yet: its start). */
		if (state == LOCK_STATE_LOST)
			values[12] = TimestampTzGetDatum(s->lost_at);
		else if (state == LOCK_STATE_DANGER)
			values[12] = TimestampTzGetDatum(s->danger_since ? s->danger_since :
											 lock_ms_to_timestamptz(lock_slot_danger_at(s)));
		else
			nulls[12] = true;
		Assert(rsinfo->setDesc->natts == 11 || rsinfo->setDesc->natts == 13);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
