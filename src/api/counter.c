/*
 * counter.c - atomic counters: dynamo_increment, dynamo_get_last_value,
 * dynamo_set_counter (the item and its guarded ADD: counter_item.c).
 *
 * Like nextval(), an increment is not undone when the calling transaction
 * rolls back.  An increment whose answer was lost (a timeout, a broken
 * connection, a 5xx after sending) may or may not have been applied: it is
 * not sent again, since that would count it twice, and raises 40003 -
 * unless dynamo_atomic.retry_unknown_writes allows an unbounded increment
 * to be resent (for IDs, where that only skips a value).  A bounded
 * increment is never resent.
 */
#include "postgres.h"

#include "fmgr.h"

#include "args.h"
#include "counter.h"
#include "ddb.h"
#include "endpoint.h"
#include "global_tables.h"
#include "increment_batches.h"
#include "lock_item.h"
#include "op_stats.h"
#include "settings.h"
#include "extension_version.h"

void
counter_ref_from_args(FunctionCallInfo fcinfo, int id_arg, int table_arg,
					  int key_arg, int count_arg, CounterRef *ref)
{
	memset(ref, 0, sizeof(*ref));	/* endpoint and region: from the settings */
	ref->id = arg_key_value(fcinfo, id_arg, "counter_id");
	ref->id_display = arg_display(fcinfo, id_arg);
	ref->table = arg_table_name(fcinfo, table_arg, TABLE_FOR_COUNTERS);
	ref->key_attribute = arg_attribute_name(fcinfo, key_arg, "key_attribute");
	ref->count_attribute = arg_attribute_name(fcinfo, count_arg, "count_attribute");
	if (strcmp(ref->key_attribute, ref->count_attribute) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key_attribute and count_attribute must differ")));
	/* Before anything is taken (a shared ID slot): what a request would refuse. */
	lock_key_refuse(ref->key_attribute, "a counter");
	settings_check_table_allowed(ref->table);
}

void
counter_ref_from_key_args(FunctionCallInfo fcinfo, int key_arg, int table_arg, int count_arg,
						  CounterRef *ref)
{
	char	   *pk;
	char	   *sk;

	memset(ref, 0, sizeof(*ref));	/* endpoint and region: from the settings */
	arg_single_table_key(fcinfo, key_arg, &pk, &sk, &ref->id_display);
	lock_sort_key_refuse(sk, "a counter");	/* before anything, an ID slot included */
	ref->id = pk;
	ref->sort_key = sk;
	ref->key_attribute = SINGLE_TABLE_PARTITION_KEY;
	ref->sort_attribute = SINGLE_TABLE_SORT_KEY;
	ref->table = arg_table_name(fcinfo, table_arg, TABLE_FOR_COUNTERS);
	ref->count_attribute = arg_attribute_name(fcinfo, count_arg, "count_attribute");
	if (strcmp(ref->count_attribute, SINGLE_TABLE_PARTITION_KEY) == 0 ||
		strcmp(ref->count_attribute, SINGLE_TABLE_SORT_KEY) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count_attribute must not be the key attribute \"%s\"", ref->count_attribute)));
	settings_check_table_allowed(ref->table);
}

bool
counter_shared_identity(CounterRef *ref, IdCounter *c)
{
	DdbEndpoint ep;

	ddb_endpoint_resolve(&ep, NULL, NULL);
	if (strlen(ep.url) >= sizeof(c->endpoint) || strlen(ref->table) >= sizeof(c->table) ||
		strlen(ref->key_attribute) >= sizeof(c->key_attribute) ||
		strlen(ref->count_attribute) >= sizeof(c->count_attribute) || strlen(ref->id) >= sizeof(c->id) ||
		(ref->sort_key && strlen(ref->sort_key) >= sizeof(c->sort_key)))
		return false;
	memset(c, 0, sizeof(*c));
	strlcpy(c->table, ref->table, sizeof(c->table));
	strlcpy(c->key_attribute, ref->key_attribute, sizeof(c->key_attribute));
	strlcpy(c->count_attribute, ref->count_attribute, sizeof(c->count_attribute));
	strlcpy(c->id, ref->id, sizeof(c->id));
	if (ref->sort_key)
		strlcpy(c->sort_key, ref->sort_key, sizeof(c->sort_key));
	strlcpy(c->endpoint, ep.url, sizeof(c->endpoint));
	strlcpy(c->region, ep.region, sizeof(c->region));
	settings_credentials_digest(c->identity);
	ref->endpoint_url = pstrdup(ep.url);
	ref->region = pstrdup(ep.region);
	return true;
}

/* An unbounded increment: combined with this server's concurrent ones where it can be. */
static int64
unbounded_add(const CounterRef *ref, int64 increment, bool resend_safe, int64 ttl_epoch)
{
	CounterRef	target = *ref;
	IdCounter  *c;

	/* Row "increment": every unbounded increment a call; every request sent for them (fewer, combined). */
	op_stats_add(op_stats_increment_row(), OP_CALLS, 1);
	c = palloc(sizeof(IdCounter));
	if (!dynamo_combine_increments || !increment_batches_enabled() || !counter_shared_identity(&target, c))
	{
		op_stats_add(op_stats_increment_row(), OP_REQUESTS, 1);
		return counter_add(ref, increment, false, 0, false, 0, resend_safe, ttl_epoch);
	}
	return increment_batches_add(&target, c, increment, resend_safe, ttl_epoch);
}

/* An increment of the counter ref (validated), with the bounds at these arguments. */
static int64
increment_counter(FunctionCallInfo fcinfo, const CounterRef *ref, int64 increment, int min_arg, int max_arg,
				  int ttl_arg)
{
	bool		has_min = !PG_ARGISNULL(min_arg);
	bool		has_max = !PG_ARGISNULL(max_arg);
	int64		min_value = has_min ? PG_GETARG_INT64(min_arg) : PG_INT64_MIN;
	int64		max_value = has_max ? PG_GETARG_INT64(max_arg) : PG_INT64_MAX;
	int64		ttl_epoch = arg_ttl_epoch(fcinfo, ttl_arg);

	if (ttl_epoch && (strcmp(ref->count_attribute, "ttl") == 0 || strcmp(ref->key_attribute, "ttl") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a counter with a ttl cannot keep its count or key in attribute \"ttl\""),
				 errdetail("The ttl is kept in attribute \"ttl\" (the table's TTL attribute).")));
	if (min_value > max_value)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_value (" INT64_FORMAT ") must not be greater than max_value (" INT64_FORMAT ")",
						min_value, max_value)));

	/* 0 reads: nothing is written, so the bounds have nothing to guard. */
	if (increment == 0)
		return counter_read(ref);

	global_tables_check(ref->table, ref->endpoint_url, ref->region, GUARDED_COUNTER);
	/*
	 * Bounded increments are never combined: a combined step that the
	 * bound refuses would refuse members whose own step fits, and finding
	 * which would take a request per member anyway.
	 */
	if (!has_min && !has_max)
		return unbounded_add(ref, increment, dynamo_retry_unknown_writes, ttl_epoch);
	return counter_add(ref, increment, has_min, min_value, has_max, max_value, false, ttl_epoch);
}

DYNAMO_SQL_FUNCTION(dynamo_increment);

/*
 * dynamo_increment(counter_id, increment, table_name, key_attribute,
 *                  count_attribute, min_value, max_value, ttl) -> new value
 */
static Datum
dynamo_increment_checked(PG_FUNCTION_ARGS)
{
	CounterRef	ref;
	int64		increment = arg_required_int64(fcinfo, 1, "increment");

	counter_ref_from_args(fcinfo, 0, 2, 3, 4, &ref);
	PG_RETURN_INT64(increment_counter(fcinfo, &ref, increment, 5, 6, 7));
}

DYNAMO_SQL_FUNCTION(dynamo_increment_key);

/* dynamo_increment(key, increment, table_name, count_attribute, min_value, max_value, ttl) */
static Datum
dynamo_increment_key_checked(PG_FUNCTION_ARGS)
{
	CounterRef	ref;
	int64		increment = arg_required_int64(fcinfo, 1, "increment");

	counter_ref_from_key_args(fcinfo, 0, 2, 3, &ref);
	PG_RETURN_INT64(increment_counter(fcinfo, &ref, increment, 4, 5, 6));
}

DYNAMO_SQL_FUNCTION(dynamo_get_last_value);

/* dynamo_get_last_value(counter_id, table_name, key_attribute, count_attribute) */
static Datum
dynamo_get_last_value_checked(PG_FUNCTION_ARGS)
{
	CounterRef	ref;

	counter_ref_from_args(fcinfo, 0, 1, 2, 3, &ref);
	PG_RETURN_INT64(counter_read(&ref));
}

DYNAMO_SQL_FUNCTION(dynamo_get_last_value_key);

/* dynamo_get_last_value(key, table_name, count_attribute) */
static Datum
dynamo_get_last_value_key_checked(PG_FUNCTION_ARGS)
{
	CounterRef	ref;

	counter_ref_from_key_args(fcinfo, 0, 1, 2, &ref);
	PG_RETURN_INT64(counter_read(&ref));
}

/* Sets the counter ref to value, not resent after a lost answer. */
static int64
set_counter(const CounterRef *ref, int64 value)
{
	cJSON	   *req;
	char		digits[32];
	DdbCall		call = {0};
	DdbResult	res;

	global_tables_check(ref->table, ref->endpoint_url, ref->region, GUARDED_COUNTER);
	req = counter_request(ref);
	json_add_string(req, "UpdateExpression", "SET #v = :v");
	snprintf(digits, sizeof(digits), INT64_FORMAT, value);
	ddb_add_number_value(json_add_object(req, "ExpressionAttributeValues"), ":v", digits);

	/*
	 * Not resent after a lost answer: had the first sending been applied
	 * and an increment come in between, a resend would move the counter
	 * back and hand out that increment's value again.
	 */
	call.operation = "UpdateItem";
	call.request = req;
	call.what = psprintf("setting counter \"%s\" to " INT64_FORMAT, ref->id_display, value);
	call.unknown_hint = "Read the counter with dynamo_get_last_value() to find out, and set it again if need be.";
	ddb_execute(&call, &res);
	return value;
}

DYNAMO_SQL_FUNCTION(dynamo_set_counter);

/* dynamo_set_counter(counter_id, value, table_name, key_attribute, count_attribute) */
static Datum
dynamo_set_counter_checked(PG_FUNCTION_ARGS)
{
	CounterRef	ref;
	int64		value = arg_required_int64(fcinfo, 1, "value");

	counter_ref_from_args(fcinfo, 0, 2, 3, 4, &ref);
	PG_RETURN_INT64(set_counter(&ref, value));
}

DYNAMO_SQL_FUNCTION(dynamo_set_counter_key);

/* dynamo_set_counter(key, value, table_name, count_attribute) */
static Datum
dynamo_set_counter_key_checked(PG_FUNCTION_ARGS)
{
	CounterRef	ref;
	int64		value = arg_required_int64(fcinfo, 1, "value");

	counter_ref_from_key_args(fcinfo, 0, 2, 3, &ref);
	PG_RETURN_INT64(set_counter(&ref, value));
}
