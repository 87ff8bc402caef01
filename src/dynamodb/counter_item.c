/*
 * counter_item.c - the counter item and its guarded ADD (counter_item.h).
 *
 * An increment is a single UpdateItem "ADD", which DynamoDB applies
 * atomically, so concurrent callers on any number of servers always get
 * distinct values.  Every increment carries a condition that keeps the new
 * value inside [min_value, max_value] and inside bigint: DynamoDB numbers
 * have 38 digits and would silently pass 2^63.  When the condition fails,
 * one consistent read finds out why, so the error names the real cause.
 */
#include "postgres.h"

#include "counter_item.h"
#include "lock_item.h"
#include "ddb.h"

#ifndef HAVE_INT128
#error "dynamo_atomic needs a compiler with a 128-bit integer type"
#endif

/* How often an increment is re-tried when its condition failed on a value that moved since. */
#define MAX_CONDITION_RETRIES 3


typedef enum CounterState
{
	COUNTER_MISSING,			/* no item, or no count attribute */
	COUNTER_VALUE,
	COUNTER_NOT_NUMBER,			/* the attribute is of another type */
	COUNTER_NOT_BIGINT			/* a number, but fractional or too large */
} CounterState;

typedef struct CounterReading
{
	CounterState state;
	bool		item_exists;	/* the item is there (with or without the count) */
	bool		has_ttl;		/* ...and has a "ttl" attribute */
	int64		value;
	const char *type;			/* DynamoDB type letter(s) of the attribute */
	const char *text;			/* the number as DynamoDB sent it */
} CounterReading;


cJSON *
counter_request(const CounterRef *ref)
{
	cJSON	   *req;
	cJSON	   *key;

	lock_key_refuse(ref->key_attribute, "a counter");
	lock_sort_key_refuse(ref->sort_key, "a counter");
	req = json_new_object();
	json_add_string(req, "TableName", ref->table);
	key = json_add_object(req, "Key");
	ddb_add_string_value(key, ref->key_attribute, ref->id);
	if (ref->sort_key)
		ddb_add_string_value(key, ref->sort_attribute, ref->sort_key);
	json_add_string(json_add_object(req, "ExpressionAttributeNames"), "#v",
					ref->count_attribute);
	return req;
}

static char *
int128_text(int128 v)
{
	char		buf[48];
	char	   *p = buf + sizeof(buf) - 1;
	bool		negative = v < 0;
	uint128		magnitude = negative ? (uint128) 0 - (uint128) v : (uint128) v;

	*p = '\0';
	do
	{
		*--p = (char) ('0' + (int) (magnitude % 10));
		magnitude /= 10;
	} while (magnitude > 0);
	if (negative)
		*--p = '-';
	return pstrdup(p);
}

/* Interprets an AttributeValue (or NULL) found for the count attribute. */
static void
interpret_value(const cJSON *attribute, CounterReading *out)
{
	const cJSON *typed = cJSON_IsObject(attribute) ? attribute->child : NULL;

	memset(out, 0, sizeof(*out));
	if (typed == NULL)
	{
		out->state = COUNTER_MISSING;
		return;
	}
	out->type = typed->string;
	if (strcmp(typed->string, "N") != 0 || !cJSON_IsString(typed))
	{
		out->state = COUNTER_NOT_NUMBER;
		return;
	}
	out->text = typed->valuestring;
	out->state = ddb_parse_int64(typed->valuestring, &out->value) ? COUNTER_VALUE : COUNTER_NOT_BIGINT;
}

static void
read_counter(const CounterRef *ref, CounterReading *out)
{
	cJSON	   *req = counter_request(ref);
	cJSON	   *resp;
	DdbCall		call = {0};
	DdbResult	res;

	json_add_bool(req, "ConsistentRead", true);
	/* the key too (an item without the count is still there); and its ttl, unless a name is "ttl" */
	json_add_string((cJSON *) json_get(req, "ExpressionAttributeNames"), "#k", ref->key_attribute);
	if (strcmp(ref->count_attribute, "ttl") != 0 && strcmp(ref->key_attribute, "ttl") != 0)
	{
		json_add_string(req, "ProjectionExpression", "#v, #k, #ttl");
		json_add_string((cJSON *) json_get(req, "ExpressionAttributeNames"), "#ttl", "ttl");
	}
	else
		json_add_string(req, "ProjectionExpression", "#v, #k");
	call.operation = "GetItem";
	call.request = req;
	call.endpoint_url = ref->endpoint_url;
	call.region = ref->region;
	ddb_execute(&call, &res);
	resp = res.response;
	interpret_value(json_get(json_get(resp, "Item"), ref->count_attribute), out);
	out->item_exists = json_get(resp, "Item") != NULL;
	out->has_ttl = json_get(json_get(resp, "Item"), "ttl") != NULL;
}

/*
 * Raises for a stored value that is not a bigint.  applied: r is the value
 * an increment just produced (rather than a value read, with nothing changed).
 */
static void
require_bigint(const CounterRef *ref, const CounterReading *r, bool applied)
{
	if (r->state == COUNTER_NOT_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("counter \"%s\" in table \"%s\" does not hold a number", ref->id_display, ref->table),
				 errdetail("Its attribute \"%s\" is of DynamoDB type %s. Nothing was changed.",
						   ref->count_attribute, r->type)));
	if (r->state == COUNTER_NOT_BIGINT && applied)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the increment was applied, and counter \"%s\" in table \"%s\" now holds %s, which is not a bigint",
						ref->id_display, ref->table, r->text),
				 errdetail("The value stored before was not a whole number; values written only by dynamo_atomic always are.")));
	if (r->state == COUNTER_NOT_BIGINT)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter \"%s\" in table \"%s\" holds %s, which is not a bigint",
						ref->id_display, ref->table, r->text),
				 errdetail("Nothing was changed.")));
}

static int64
reading_value(const CounterRef *ref, const CounterReading *r)
{
	require_bigint(ref, r, false);
	return r->state == COUNTER_VALUE ? r->value : 0;
}

/*
 * Raises 2200H or 22003 if the increment would take the counter (as read
 * in r) out of its bounds or out of bigint: the reason its condition
 * refused it.  Returns when the value is back in range.
 */
/* Did the last counter_add raise because the increment would leave bigint (nothing applied)? */
static bool refused_by_range = false;

bool
counter_add_refused_by_range(void)
{
	return refused_by_range;
}

static void
raise_out_of_bounds(const CounterRef *ref, const CounterReading *r, int64 increment,
					bool has_min, int64 min_value, bool has_max, int64 max_value,
					const DdbFailure *refusal)
{
	int64		value = reading_value(ref, r);
	int128		wanted = (int128) value + increment;
	int			sqlstate = ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED;
	char	   *message;

	if (has_max && wanted > max_value)
		message = psprintf("counter \"%s\" reached its maximum value (" INT64_FORMAT ")",
						   ref->id_display, max_value);
	else if (has_min && wanted < min_value)
		message = psprintf("counter \"%s\" reached its minimum value (" INT64_FORMAT ")",
						   ref->id_display, min_value);
	else if (wanted > PG_INT64_MAX || wanted < PG_INT64_MIN)
	{
		sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		message = psprintf("counter \"%s\" would go out of the range of bigint", ref->id_display);
		refused_by_range = true;
	}
	else
		return;
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", message),
			 errdetail("Its value is " INT64_FORMAT "; the increment " INT64_FORMAT " was not applied.",
					   value, increment),
			 ddb_errcontext(refusal)));
}

/* An unbounded ADD that may grow before each attempt (counter_add_growing). */
typedef struct GrowingAdd
{
	CounterGrowHook grow;
	void	   *arg;
	int64	   *increment;		/* counter_add's own: its checks use the grown step */
	cJSON	   *values;			/* the request's ExpressionAttributeValues */
	bool		maybe_applied;	/* set by ddb_execute before each attempt */
	const CounterRef *ref;
	const char **what;			/* the call's, for its messages */
} GrowingAdd;

static void set_step_values(cJSON *values, int64 increment, int64 min_value, int64 max_value, bool replace);

static void
grow_before_attempt(void *arg)
{
	GrowingAdd *g = arg;
	int64		more;

	/* Once a sending may have been applied, a resend must be the same request. */
	if (g->maybe_applied)
		return;
	more = g->grow(g->arg, *g->increment);
	if (more == 0)
		return;
	*g->increment += more;		/* the hook keeps it within bigint */
	set_step_values(g->values, *g->increment, PG_INT64_MIN, PG_INT64_MAX, true);
	*g->what = psprintf("the increment " INT64_FORMAT " of counter \"%s\"", *g->increment, g->ref->id_display);
}

static int64 counter_add_internal(const CounterRef *ref, int64 increment, bool has_min, int64 min_value,
								  bool has_max, int64 max_value, bool resend_safe, int64 ttl_epoch,
								  TimestampTz deadline, CounterGrowHook grow, void *grow_arg);

int64
counter_add(const CounterRef *ref, int64 increment, bool has_min, int64 min_value,
			bool has_max, int64 max_value, bool resend_safe, int64 ttl_epoch)
{
	return counter_add_internal(ref, increment, has_min, min_value, has_max, max_value, resend_safe, ttl_epoch,
								0, NULL, NULL);
}

int64
counter_add_growing(const CounterRef *ref, int64 increment, bool resend_safe, int64 ttl_epoch,
					TimestampTz deadline, CounterGrowHook grow, void *grow_arg)
{
	return counter_add_internal(ref, increment, false, 0, false, 0, resend_safe, ttl_epoch, deadline,
								grow, grow_arg);
}

/* :inc, :lo and :hi for a step: old + increment in [min, max]  <=>  old in [min - increment, max - increment]. */
static void
set_step_values(cJSON *values, int64 increment, int64 min_value, int64 max_value, bool replace)
{
	char		digits[32];

	if (replace)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(values, ":inc");
		cJSON_DeleteItemFromObjectCaseSensitive(values, ":lo");
		cJSON_DeleteItemFromObjectCaseSensitive(values, ":hi");
	}
	snprintf(digits, sizeof(digits), INT64_FORMAT, increment);
	ddb_add_number_value(values, ":inc", digits);
	ddb_add_number_value(values, ":lo", int128_text((int128) min_value - increment));
	ddb_add_number_value(values, ":hi", int128_text((int128) max_value - increment));
}

static int64
counter_add_internal(const CounterRef *ref, int64 increment, bool has_min, int64 min_value,
					 bool has_max, int64 max_value, bool resend_safe, int64 ttl_epoch,
					 TimestampTz deadline, CounterGrowHook grow, void *grow_arg)
{
	GrowingAdd	growing = {0};
	bool		first_value_allowed;
	cJSON	   *req;
	cJSON	   *values;
	char		digits[32];
	DdbCall		call = {0};
	CounterReading r;

	refused_by_range = false;
	if (!has_min)
		min_value = PG_INT64_MIN;
	if (!has_max)
		max_value = PG_INT64_MAX;

	/* old + increment in [min, max]  <=>  old in [min - increment, max - increment] */
	first_value_allowed = increment >= min_value && increment <= max_value;
	req = counter_request(ref);
	json_add_string(req, "UpdateExpression",
					ttl_epoch ? "ADD #v :inc SET #ttl = if_not_exists(#ttl, :ttl)" : "ADD #v :inc");
	/*
	 * With a ttl, an existing item must have one already: a ttl is the
	 * creating write's, never added to a counter (or an item) made without
	 * one, which would then vanish, and start again at 0.
	 */
	json_add_string(req, "ConditionExpression",
					psprintf("%s%s",
							 first_value_allowed ?
							 "(attribute_not_exists(#v) OR #v BETWEEN :lo AND :hi)" :
							 "#v BETWEEN :lo AND :hi",
							 ttl_epoch ? " AND (attribute_not_exists(#k) OR attribute_exists(#ttl))" : ""));
	json_add_string(req, "ReturnValues", "UPDATED_NEW");
	values = json_add_object(req, "ExpressionAttributeValues");
	set_step_values(values, increment, min_value, max_value, false);
	if (ttl_epoch)
	{
		snprintf(digits, sizeof(digits), INT64_FORMAT, ttl_epoch);
		ddb_add_number_value(values, ":ttl", digits);
		json_add_string((cJSON *) json_get(req, "ExpressionAttributeNames"), "#ttl", "ttl");
		/* the item, not only the count: an item without the count is no new counter either */
		json_add_string((cJSON *) json_get(req, "ExpressionAttributeNames"), "#k", ref->key_attribute);
	}

	call.operation = "UpdateItem";
	call.request = req;
	call.endpoint_url = ref->endpoint_url;
	call.region = ref->region;
	call.tolerated_error = "ConditionalCheckFailedException";
	call.deadline = deadline;
	if (grow)
	{
		/* An unbounded step only: first_value_allowed and the condition do not depend on it. */
		Assert(!has_min && !has_max);
		growing.grow = grow;
		growing.arg = grow_arg;
		growing.increment = &increment;
		growing.values = values;
		growing.ref = ref;
		growing.what = &call.what;
		call.before_attempt = grow_before_attempt;
		call.before_attempt_arg = &growing;
		call.maybe_applied_out = &growing.maybe_applied;
	}
	call.what = psprintf("the increment " INT64_FORMAT " of counter \"%s\"", increment, ref->id_display);
	/* A resend applies the increment twice if the first was applied. */
	call.resend_safe = resend_safe;
	call.unknown_hint = ref->unknown_hint ? ref->unknown_hint : (has_min || has_max) ?
		"Read the counter with dynamo_get_last_value() to find out. A bounded increment is never sent twice." :
		"Read the counter with dynamo_get_last_value() to find out. Where a skipped value does no harm "
		"(IDs), dynamo_atomic.retry_unknown_writes = on resends instead.";

	for (int attempt = 0;; attempt++)
	{
		DdbResult	res;

		ddb_execute(&call, &res);
		if (res.response != NULL)
		{
			interpret_value(json_get(json_get(res.response, "Attributes"), ref->count_attribute), &r);
			if (r.state == COUNTER_MISSING)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("DynamoDB's answer to UpdateItem lacks attribute \"%s\"", ref->count_attribute)));
			require_bigint(ref, &r, true);
			return r.value;
		}

		/*
		 * The condition failed.  If an earlier sending's answer was lost,
		 * that sending may be what moved the counter out of range: the
		 * refusal does not say whether the increment was applied.
		 */
		if (res.maybe_applied_before)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
					 errmsg("%s may or may not have been applied", call.what),
					 errdetail("An earlier sending's answer was lost; the resend was refused by the range "
							   "condition, which the earlier sending may itself have caused."),
					 errhint("Read the counter with dynamo_get_last_value() to find out."),
					 ddb_errcontext(res.tolerated)));

		/* Find out why from the value as it is now. */
		read_counter(ref, &r);
		if (ttl_epoch && r.item_exists && !r.has_ttl)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("counter \"%s\" exists without a ttl: a ttl is set only by the write that creates a counter",
							ref->id_display),
					 errdetail("The increment " INT64_FORMAT " was not applied.", increment),
					 errhint("Give the counter of each window a name of its own, or call without ttl.")));
		raise_out_of_bounds(ref, &r, increment, has_min, min_value, has_max, max_value, res.tolerated);
		/* In range again: it moved back since, and the increment may now succeed. */
		if (attempt >= MAX_CONDITION_RETRIES)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("counter \"%s\" kept changing while being incremented", ref->id_display),
					 errdetail("The increment " INT64_FORMAT " was not applied.", increment)));
	}
}


int64
counter_read(const CounterRef *ref)
{
	CounterReading r;

	read_counter(ref, &r);
	return reading_value(ref, &r);
}
