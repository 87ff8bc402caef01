/*
 * optimistic.c - optimistic writes: dynamo_read_lock and dynamo_set_atomic.
 *
 * dynamo_read_lock reads a lock item (creating it when missing, with a
 * conditional put, so two first readers agree on its version) without
 * taking it.  dynamo_set_atomic writes items in one TransactWriteItems
 * that also moves each lock item to a new version, on condition that:
 *   - for a lock this session holds (dynamo_get_lock): it still holds it
 *     (owner and fencing token; the worker's heartbeats move the version,
 *     so the version is not what identifies the holder);
 *   - for any other lock value (dynamo_read_lock): its version is still
 *     the one read, and no one else holds it with a live lease.
 * A refused condition is a lost race: 40001 naming the lock.  Throttling
 * and transaction conflicts are retried, never reported as a race.  A
 * ClientRequestToken makes a resent transaction apply at most once.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "args.h"
#include "ddb.h"
#include "item_value.h"
#include "global_tables.h"
#include "lock_item.h"
#include "lock_registry.h"
#include "lock_session.h"
#include "settings.h"
#include "text_encoding.h"
#include "transaction.h"
#include "extension_version.h"

#define TTL_REFRESH_WITHIN_S 3600

typedef struct LockValue
{
	char	   *table;
	char	   *name;			/* UTF-8 */
	char	   *owner;			/* NULL when free */
	char	   *version;
	int64		fencing_token;
	int64		lease_until_ms;
	int			held_handle;	/* this session holds it: its registry slot, else -1 */
} LockValue;

static HeapTuple
lock_tuple(TupleDesc tupdesc, const LockValue *l)
{
	Datum		values[6];
	bool		nulls[6] = {0};

	values[0] = CStringGetTextDatum(l->table);
	values[1] = CStringGetTextDatum(text_from_utf8(l->name, "lock name"));
	if (l->owner)
		values[2] = CStringGetTextDatum(text_from_utf8(l->owner, "the lock's owner"));
	else
		nulls[2] = true;
	values[3] = CStringGetTextDatum(text_from_utf8(l->version, "the lock's version"));
	values[4] = Int64GetDatum(l->fencing_token);
	if (l->lease_until_ms > 0)
		values[5] = TimestampTzGetDatum(lock_ms_to_timestamptz(l->lease_until_ms));
	else
		nulls[5] = true;
	return heap_form_tuple(tupdesc, values, nulls);
}

DYNAMO_SQL_FUNCTION(dynamo_read_lock);

/* dynamo_read_lock(lock_name, table_name) -> the lock as it is, without taking it */
static Datum
dynamo_read_lock_checked(PG_FUNCTION_ARGS)
{
	char	   *name = arg_key_value(fcinfo, 0, "lock_name");
	char	   *table = arg_table_name(fcinfo, 1, TABLE_FOR_LOCKS);
	LockTarget	t = {NULL, NULL, table, name, NULL};
	LockHolder	item;
	LockValue	l = {0};
	TupleDesc	tupdesc;

	/* The version read is what an optimistic write checks: only worth it where conditions are global. */
	global_tables_check(table, NULL, NULL, GUARDED_READ_LOCK);
	lock_item_read(&t, &item);
	if (!item.exists)
	{
		lock_item_create(&t);
		lock_item_read(&t, &item);
		if (!item.exists)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("lock item \"%s\" vanished right after it was created", text_display(name))));
	}
	else if (item.version && item.ttl_s <= lock_now_ms() / 1000 + TTL_REFRESH_WITHIN_S)
		lock_item_refresh_ttl(&t, item.version);

	l.table = table;
	l.name = name;
	l.owner = item.owner;
	l.version = item.version;
	l.fencing_token = item.fencing_token;
	l.lease_until_ms = item.owner ? item.lease_until_ms : 0;
	if (l.version == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("lock item \"%s\" in table \"%s\" has no version", text_display(name), table)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be dynamo_lock");
	PG_RETURN_DATUM(HeapTupleGetDatum(lock_tuple(BlessTupleDesc(tupdesc), &l)));
}

/* A dynamo_lock argument (a row) as a LockValue. */
static void
lock_from_datum(HeapTupleHeader row, LockValue *l)
{
	bool		isnull;
	Datum		d;
	char	   *name;

	memset(l, 0, sizeof(*l));
	d = GetAttributeByNum(row, 1, &isnull);
	if (isnull)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the dynamo_lock's table_name must not be NULL")));
	l->table = TextDatumGetCString(d);
	if (!table_name_is_valid(l->table))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid DynamoDB table name \"%s\"", l->table)));
	d = GetAttributeByNum(row, 2, &isnull);
	if (isnull)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the dynamo_lock's lock_name must not be NULL")));
	name = TextDatumGetCString(d);
	l->name = text_to_utf8(name, strlen(name), "the dynamo_lock's lock_name");
	d = GetAttributeByNum(row, 3, &isnull);
	l->owner = isnull ? NULL : TextDatumGetCString(d);
	d = GetAttributeByNum(row, 4, &isnull);
	if (isnull)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the dynamo_lock's version must not be NULL")));
	l->version = TextDatumGetCString(d);
	d = GetAttributeByNum(row, 5, &isnull);
	l->fencing_token = isnull ? 0 : DatumGetInt64(d);
	l->held_handle = -1;
	if (l->owner && strcmp(l->owner, lock_session_owner()) == 0)
	{
		int			handle = lock_session_find(l->table, l->name);
		LockSlot	s;

		if (handle >= 0)
		{
			lock_registry_read(handle, &s);
			if (s.fencing_token == l->fencing_token)
				l->held_handle = handle;
		}
	}
}

/* The Update action moving one lock item to new_version, with its condition. */
static void
add_lock_action(cJSON *actions, const LockValue *l, const char *new_version)
{
	cJSON	   *action;
	cJSON	   *update;
	cJSON	   *names;
	cJSON	   *values;
	char		digits[32];
	int64		now = lock_now_ms();

	json_append_object(actions, &action);
	update = json_add_object(action, "Update");
	json_add_string(update, "TableName", l->table);
	{
		LockTarget	t = {NULL, NULL, l->table, l->name, NULL, LOCK_KEY_UNKNOWN};

		lock_item_add_key(json_add_object(update, "Key"), &t);
	}
	names = json_add_object(update, "ExpressionAttributeNames");
	values = json_add_object(update, "ExpressionAttributeValues");
	json_add_string(names, "#version", "version");
	ddb_add_string_value(values, ":new", new_version);
	json_add_string(update, "UpdateExpression", "SET #version = :new");
	if (l->held_handle >= 0)
	{
		json_add_string(names, "#owner", "owner");
		json_add_string(names, "#token", "fencing_token");
		ddb_add_string_value(values, ":me", l->owner);
		snprintf(digits, sizeof(digits), INT64_FORMAT, l->fencing_token);
		ddb_add_number_value(values, ":token", digits);
		json_add_string(update, "ConditionExpression", "#owner = :me AND #token = :token");
	}
	else
	{
		json_add_string(names, "#owner", "owner");
		json_add_string(names, "#lease", "lease_until");
		ddb_add_string_value(values, ":version", l->version);
		snprintf(digits, sizeof(digits), INT64_FORMAT, now - dynamo_lock_clock_skew_ms);
		ddb_add_number_value(values, ":ended_before", digits);
		json_add_string(update, "ConditionExpression",
						"#version = :version AND (attribute_not_exists(#owner) OR #lease < :ended_before)");
	}
}

/*
 * Writes items[0..n_items) and moves locks[0..n_locks) to new versions,
 * all or nothing; fills new_versions.
 */
static void
set_atomic(const char *table, cJSON **items, int n_items, LockValue *locks, int n_locks,
		   char (*new_versions)[LOCK_VERSION_LEN + 1])
{
	cJSON	   *req = json_new_object();
	cJSON	   *actions = json_add_array(req, "TransactItems");
	TransactionOutcome outcome;

	if (n_items + n_locks > TRANSACTION_MAX_ACTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a dynamo_set_atomic of %d items and %d locks is more than DynamoDB's %d actions per transaction",
						n_items, n_locks, TRANSACTION_MAX_ACTIONS)));
	/* Before anything is sent: every table the transaction writes. */
	global_tables_check(table, NULL, NULL, GUARDED_TRANSACTION);
	for (int i = 0; i < n_locks; i++)
		if (strcmp(locks[i].table, table) != 0)
			global_tables_check(locks[i].table, NULL, NULL, GUARDED_TRANSACTION);
	for (int i = 0; i < n_locks; i++)
	{
		lock_new_version(new_versions[i]);
		add_lock_action(actions, &locks[i], new_versions[i]);
	}
	for (int i = 0; i < n_items; i++)
	{
		cJSON	   *action;
		cJSON	   *put;

		json_append_object(actions, &action);
		put = json_add_object(action, "Put");
		json_add_string(put, "TableName", table);
		cJSON_AddItemReferenceToObject(put, "Item", items[i]);
	}
	transaction_run(req, NULL, "the dynamo_set_atomic transaction",
					"Read the lock again (dynamo_read_lock): if its version is not the one you wrote with, "
					"the write was applied.", &outcome);
	if (outcome.applied)
		return;
	if (outcome.failed_action < n_locks)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("lock \"%s\" changed since it was read: the optimistic write lost a race",
						text_display(locks[outcome.failed_action].name)),
				 errdetail("Nothing was written."),
				 errhint("Read the lock and the data again, then retry."),
				 ddb_errcontext(outcome.failure)));
	/* the items' puts carry no condition: DynamoDB named one anyway */
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("DynamoDB cancelled the transaction: ConditionalCheckFailed"),
			 errdetail("Nothing was written. A condition of the transaction did not hold."),
			 ddb_errcontext(outcome.failure)));
}

static void
record_new_versions(LockValue *locks, int n, char (*versions)[LOCK_VERSION_LEN + 1])
{
	for (int i = 0; i < n; i++)
	{
		locks[i].version = pstrdup(versions[i]);
		if (locks[i].held_handle >= 0)
			lock_registry_set_version(locks[i].held_handle, versions[i]);
	}
}

static cJSON *
item_arg(Jsonb *doc)
{
	cJSON	   *item = item_from_jsonb(doc);
	const char *pk;
	const char *sk;

	item_keys(item, &pk, &sk);
	return item;
}

DYNAMO_SQL_FUNCTION(dynamo_set_atomic);

/* dynamo_set_atomic(item jsonb, lock dynamo_lock, table_name) -> the lock at its new version */
static Datum
dynamo_set_atomic_checked(PG_FUNCTION_ARGS)
{
	cJSON	   *item;
	LockValue	lock;
	char		version[1][LOCK_VERSION_LEN + 1];
	TupleDesc	tupdesc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("item and lock must not be NULL")));
	item = item_arg(PG_GETARG_JSONB_P(0));
	lock_from_datum(PG_GETARG_HEAPTUPLEHEADER(1), &lock);
	set_atomic(arg_table_name(fcinfo, 2, TABLE_FOR_ITEMS), &item, 1, &lock, 1, version);
	record_new_versions(&lock, 1, version);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be dynamo_lock");
	PG_RETURN_DATUM(HeapTupleGetDatum(lock_tuple(BlessTupleDesc(tupdesc), &lock)));
}

DYNAMO_SQL_FUNCTION(dynamo_set_atomic_many);

/* dynamo_set_atomic(items jsonb, locks dynamo_lock[], table_name) -> the locks at their new versions */
static Datum
dynamo_set_atomic_many_checked(PG_FUNCTION_ARGS)
{
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			n_locks;
	int			n_items;
	cJSON	  **items;
	LockValue  *locks;
	char		(*versions)[LOCK_VERSION_LEN + 1];
	Oid			lock_type;
	TupleDesc	tupdesc;
	Datum	   *out;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("items and locks must not be NULL")));
	{
		int			n;
		Jsonb	  **docs = item_array_elements(PG_GETARG_JSONB_P(0), "items", &n);

		items = palloc(Max(1, n) * sizeof(cJSON *));
		for (n_items = 0; n_items < n; n_items++)
			items[n_items] = item_arg(docs[n_items]);
	}
	array = PG_GETARG_ARRAYTYPE_P(1);
	lock_type = ARR_ELEMTYPE(array);
	get_typlenbyvalalign(lock_type, &typlen, &typbyval, &typalign);
	deconstruct_array(array, lock_type, typlen, typbyval, typalign, &elems, &nulls, &n_locks);
	if (n_locks == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("locks must not be empty")));
	locks = palloc(n_locks * sizeof(LockValue));
	versions = palloc(n_locks * sizeof(*versions));
	for (int i = 0; i < n_locks; i++)
	{
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("locks must not hold NULL")));
		lock_from_datum(DatumGetHeapTupleHeader(elems[i]), &locks[i]);
	}
	set_atomic(arg_table_name(fcinfo, 2, TABLE_FOR_ITEMS), items, n_items, locks, n_locks, versions);
	record_new_versions(locks, n_locks, versions);

	tupdesc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(lock_type, -1));
	out = palloc(n_locks * sizeof(Datum));
	for (int i = 0; i < n_locks; i++)
		out[i] = HeapTupleGetDatum(lock_tuple(tupdesc, &locks[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n_locks, lock_type, typlen, typbyval, typalign));
}
