/*
 * nextval.c - IDs at scale: dynamo_nextval and dynamo_id_trigger.
 *
 * dynamo_nextval reserves a block of `cache` values with one guarded
 * "ADD cache" on the counter item (the block is (new - cache, new]) and
 * hands them out one by one; with shared_preload_libraries the block is
 * shared by every backend of the server (id_blocks.c).  Values are unique
 * across every backend and server, as the stored value only moves forward
 * through ADD.  Values reserved and never handed out (a restart, a smaller
 * cache later) are gaps, as with sequences.  A fetch whose answer was lost
 * is resent: the first block, if applied, is only a gap.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "args.h"
#include "counter.h"
#include "ddb_error.h"
#include "endpoint.h"
#include "global_tables.h"
#include "id_blocks.h"
#include "lock_item.h"
#include "lock_registry.h"
#include "lock_session.h"
#include "op_stats.h"
#include "resolved_counters.h"
#include "settings.h"
#include "table_replication.h"
#include "text_encoding.h"
#include "extension_version.h"

#define MAX_CACHE 1000000000


static int
slot_for(CounterRef *ref)
{
	IdCounter  *c = palloc(sizeof(IdCounter));
	int			slot;

	/* Recorded with the counter: the worker fetches ahead from the same place, and so does this backend. */
	if (!counter_shared_identity(ref, c))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the DynamoDB endpoint URL (over %zu bytes) or the counter's names are too long for an ID block",
						sizeof(c->endpoint) - 1)));
	/* The worker fetches ahead with its own credentials: only where they are the session's. */
	c->prefetch = dynamo_id_prefetch && lock_session_worker_credentials() == REGISTRY_SAME_CREDENTIALS;
	slot = id_blocks_slot(c);
	pfree(c);
	return slot;
}

/*
 * The buffer a call's key is built in, emptied: one for the backend, as a
 * key is built on every ID (resolved_counter copies what it keeps).
 */
static StringInfo
call_key(void)
{
	static StringInfo key = NULL;

	if (key == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		key = makeStringInfo();
		MemoryContextSwitchTo(old);
	}
	resetStringInfo(key);
	return key;
}

/* Before a request about the counter: its table's origin, for a "does not exist" hint. */
static void
note_origin(const ResolvedCounter *c)
{
	ddb_note_table_origin(c->ref.table, c->origin_creator, c->origin_setting);
}

/*
 * A counter's table is checked (global_tables.h) on the first ID of a
 * statement once the last check is dynamo_atomic.table_recheck_interval
 * old, and at once when the counter is resolved.  The blocks the worker
 * fetches ahead are asked for by backends checked so.
 */
static void
check_replication(ResolvedCounter *c)
{
	uint64		epoch = table_replication_epoch();
	TimestampTz valid_until;

	if (c->check_valid_until != 0 && GetCurrentStatementStartTimestamp() < c->check_valid_until &&
		c->check_epoch == epoch)
		return;
	note_origin(c);
	/* Kept only once it passed: a refused counter is checked (and refused) again on its next ID. */
	c->check_valid_until = 0;
	global_tables_check_until(c->ref.table, c->ref.endpoint_url, c->ref.region, GUARDED_IDS, &valid_until);
	c->check_valid_until = valid_until;
	c->check_epoch = epoch;
}



/* How long a prefetch may take: all of its attempts. */
static int
spare_wait_ms(void)
{
	return (int) Min((int64) (dynamo_max_retries + 1) * dynamo_request_timeout_ms, (int64) INT_MAX);
}

static int64
take_or_fetch(const ResolvedCounter *c, int cache)
{
	int64		value;
	volatile int64 last = 0;
	int			n = cache;
	int			slot = c->slot;
	MemoryContext context = CurrentMemoryContext;
	volatile bool refused;

	do
	{
		if (id_blocks_take(slot, cache, &value, &n))
		{
			op_stats_add(op_stats_nextval_row(), OP_CALLS, 1);
			return value;
		}
		/* This backend fetches the next block; the others wait for it. */
		note_origin(c);
		refused = false;
		PG_TRY();
		{
			last = counter_add(&c->ref, n, false, 0, false, 0, true, 0);
		}
		PG_CATCH();
		{
			ErrorData  *error;

			id_blocks_abandon(slot);
			MemoryContextSwitchTo(context);
			error = CopyErrorData();
			/*
			 * Past bigint: but a block the worker is fetching ahead may be
			 * what took the last values (its ADD landed first).  Those are
			 * handed out before the end is reported.
			 */
			if (error->sqlerrcode != ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE ||
				!id_blocks_await_spare(slot, spare_wait_ms()))
				PG_RE_THROW();
			FlushErrorState();
			FreeErrorData(error);
			refused = true;
		}
		PG_END_TRY();
	} while (refused);
	id_blocks_fill(slot, id_block_first(last, n), last, &value);
	op_stats_add(op_stats_nextval_row(), OP_REQUESTS, 1);
	op_stats_add(op_stats_nextval_row(), OP_CALLS, 1);
	return value;
}

static int
cache_arg(FunctionCallInfo fcinfo, int argno)
{
	int			cache = PG_ARGISNULL(argno) ? dynamo_id_cache : PG_GETARG_INT32(argno);

	if (cache < 1 || cache > MAX_CACHE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache must be between 1 and %d, not %d", MAX_CACHE, cache)));
	return cache;
}

/* What resolves a dynamo_nextval call: its arguments and the form's resolver. */
typedef struct NextvalCall
{
	FunctionCallInfo fcinfo;
	void		(*resolve) (FunctionCallInfo fcinfo, CounterRef *ref);
} NextvalCall;

static void
resolve_nextval(void *arg, ResolvedCounter *counter)
{
	NextvalCall *call = arg;

	call->resolve(call->fcinfo, &counter->ref);
	ddb_noted_table_origin(&counter->origin_creator, &counter->origin_setting);
	counter->check_epoch = table_replication_epoch();	/* not checked yet: check_valid_until 0 */
	counter->slot = slot_for(&counter->ref);
}

/*
 * dynamo_nextval in either form (form names it in the key): the counter
 * named by the arguments at name_args (n of them, text or a row; table_arg
 * among them), the cache at argument 1; resolve fills a CounterRef from the
 * arguments.  While they and the settings stay the same (a column default,
 * a query over many rows, the same INSERT run again), the next ID is only
 * a look-up here and an increment in shared memory.
 */
static int64
nextval(FunctionCallInfo fcinfo, char form, const int *name_args, int n, int table_arg,
		void (*resolve) (FunctionCallInfo fcinfo, CounterRef *ref))
{
	int			cache = cache_arg(fcinfo, 1);
	StringInfo	key = call_key();
	NextvalCall call = {fcinfo, resolve};
	ResolvedCounter *counter;

	appendStringInfoChar(key, form);
	for (int i = 0; i < n; i++)
	{
		int			argno = name_args[i];

		if (PG_ARGISNULL(argno))
			resolved_counter_key_field(key, NULL, 0);
		else
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(argno));

			resolved_counter_key_field(key, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
		}
	}
	if (PG_ARGISNULL(table_arg))
		resolved_counter_key_field(key, dynamo_counter_table, strlen(dynamo_counter_table));
	extension_version_check();
	lock_session_check_lost();
	counter = resolved_counter(key, resolve_nextval, &call);
	check_replication(counter);
	return take_or_fetch(counter, cache);
}

static void
resolve_by_id(FunctionCallInfo fcinfo, CounterRef *ref)
{
	counter_ref_from_args(fcinfo, 0, 2, 3, 4, ref);
}

static void
resolve_by_key(FunctionCallInfo fcinfo, CounterRef *ref)
{
	counter_ref_from_key_args(fcinfo, 0, 2, 3, ref);
}

DYNAMO_SQL_FUNCTION(dynamo_nextval);

/* dynamo_nextval(counter_id, cache, table_name, key_attribute, count_attribute) */
static Datum
dynamo_nextval_checked(PG_FUNCTION_ARGS)
{
	static const int name_args[4] = {0, 2, 3, 4};

	PG_RETURN_INT64(nextval(fcinfo, 'i', name_args, 4, 2, resolve_by_id));
}

DYNAMO_SQL_FUNCTION(dynamo_nextval_key);

/* dynamo_nextval(key, cache, table_name, count_attribute) */
static Datum
dynamo_nextval_key_checked(PG_FUNCTION_ARGS)
{
	static const int name_args[3] = {0, 2, 3};

	PG_RETURN_INT64(nextval(fcinfo, 'k', name_args, 3, 2, resolve_by_key));
}

/* The counter of a dynamo_id_trigger, from its arguments (checked). */
static void
resolve_trigger(void *arg, ResolvedCounter *site)
{
	Trigger    *trigger = arg;

	site->cache = dynamo_id_cache;
	if (trigger->tgnargs >= 3 && trigger->tgargs[2][0] != '\0')
	{
		site->cache = pg_strtoint32(trigger->tgargs[2]);
		if (site->cache < 1 || site->cache > MAX_CACHE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cache must be between 1 and %d", MAX_CACHE)));
	}
	site->ref.table = pstrdup(dynamo_counter_table);
	site->origin_creator = "dynamo_create_counter_table";
	site->origin_setting = "dynamo_atomic.counter_table";
	if (trigger->tgnargs >= 4 && trigger->tgargs[3][0] != '\0')
	{
		require_valid_table_name(trigger->tgargs[3]);
		site->ref.table = pstrdup(trigger->tgargs[3]);
		site->origin_setting = NULL;
	}
	site->ref.key_attribute = "id";
	site->ref.count_attribute = "lastValue";
	site->ref.id_display = pstrdup(trigger->tgargs[1]);
	site->ref.id = text_to_utf8(trigger->tgargs[1], strlen(trigger->tgargs[1]), "the trigger's counter_id");
	if (site->ref.id[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("counter_id must not be empty")));
	if (trigger->tgnargs == 5)
	{
		char	   *sk = text_to_utf8(trigger->tgargs[4], strlen(trigger->tgargs[4]), "the trigger's sort_key");

		if (sk[0] == '\0' || strlen(sk) > DDB_MAX_SORT_KEY_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sort_key must have 1 to %d bytes", DDB_MAX_SORT_KEY_BYTES)));
		lock_sort_key_refuse(sk, "a counter");
		site->ref.key_attribute = SINGLE_TABLE_PARTITION_KEY;
		site->ref.sort_attribute = SINGLE_TABLE_SORT_KEY;
		site->ref.sort_key = pstrdup(sk);
		site->ref.id_display = psprintf("(%s, %s)", trigger->tgargs[1], trigger->tgargs[4]);
	}
	settings_check_table_allowed(site->ref.table);
	site->slot = slot_for(&site->ref);
	site->check_epoch = table_replication_epoch();	/* not checked yet: check_valid_until 0 */
}

DYNAMO_SQL_FUNCTION(dynamo_id_trigger);

/*
 * BEFORE INSERT ... FOR EACH ROW EXECUTE FUNCTION
 *     dynamo_id_trigger(column_name, counter_id [, cache [, table_name [, sort_key]]])
 * fills the column from dynamo_nextval when it is NULL.  An empty cache or
 * table_name means the setting; with sort_key the counter is the item
 * {pk: counter_id, sk: sort_key} of a single table.
 */
static Datum
dynamo_id_trigger_checked(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			attnum;
	Oid			type;
	bool		isnull;
	StringInfo	key = call_key();
	ResolvedCounter *site;
	const CounterRef *ref;
	int64		id;
	Datum		value;
	bool		null_flag = false;
	int			cols[1];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dynamo_id_trigger must be a BEFORE INSERT ... FOR EACH ROW trigger")));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs < 2 || trigger->tgnargs > 5)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("dynamo_id_trigger takes (column_name, counter_id [, cache [, table_name [, sort_key]]])")));
	tupdesc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	attnum = SPI_fnumber(tupdesc, trigger->tgargs[0]);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of dynamo_id_trigger does not exist", trigger->tgargs[0])));
	type = TupleDescAttr(tupdesc, attnum - 1)->atttypid;
	if (type != INT2OID && type != INT4OID && type != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" must be smallint, integer or bigint", trigger->tgargs[0])));
	(void) heap_getattr(tuple, attnum, tupdesc, &isnull);
	if (!isnull)
		return PointerGetDatum(tuple);	/* a value given is kept */

	/*
	 * Resolved once while the trigger's arguments and the settings stay the
	 * same: by its arguments, not its OID, so that the partitions of a table
	 * (a trigger each) share one.
	 */
	appendStringInfoChar(key, 't');
	appendBinaryStringInfo(key, (const char *) &trigger->tgnargs, sizeof(trigger->tgnargs));
	for (int i = 1; i < trigger->tgnargs; i++)
		resolved_counter_key_field(key, trigger->tgargs[i], strlen(trigger->tgargs[i]));
	resolved_counter_key_field(key, dynamo_counter_table, strlen(dynamo_counter_table));
	appendBinaryStringInfo(key, (const char *) &dynamo_id_cache, sizeof(dynamo_id_cache));
	extension_version_check();
	lock_session_check_lost();
	site = resolved_counter(key, resolve_trigger, trigger);
	check_replication(site);
	id = take_or_fetch(site, site->cache);
	ref = &site->ref;

	if ((type == INT2OID && (id < PG_INT16_MIN || id > PG_INT16_MAX)) ||
		(type == INT4OID && (id < PG_INT32_MIN || id > PG_INT32_MAX)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter \"%s\" gave " INT64_FORMAT ", out of range for column \"%s\" of type %s",
						ref->id_display, id, trigger->tgargs[0], type == INT2OID ? "smallint" : "integer"),
				 errhint("Use a bigint column.")));
	value = type == INT2OID ? Int16GetDatum((int16) id) :
		type == INT4OID ? Int32GetDatum((int32) id) : Int64GetDatum(id);
	cols[0] = attnum;
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, cols, &value, &null_flag));
}
