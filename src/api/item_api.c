/*
 * item_api.c - the general item API on any table and key: dynamo_get_item,
 * dynamo_put_item, dynamo_update_item, dynamo_delete_item (README
 * "Existing tables").
 *
 * A write returns dynamo_write_result (applied, attributes).  A condition
 * that does not hold writes nothing and raises nothing: applied is false,
 * as an UPDATE whose WHERE matched no row; raise_on_condition_failure
 * turns it into an error (23514) for a transaction that must abort.
 *
 * Lost answers (a sending that may have been applied, its answer lost):
 *   - a put or a delete returning NONE is resent: writing the same item
 *     twice, or deleting twice, is writing or deleting once.  With a
 *     condition, a resend whose condition fails may be failing on the
 *     first sending's own write: 40003, never "condition failed";
 *   - an update is never resent (it may add): 40003;
 *   - a write returning values is never resent: the values a resend
 *     returns could be the first sending's work.  40003.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "args.h"
#include "ddb.h"
#include "general_item.h"
#include "global_tables.h"
#include "text_encoding.h"
#include "extension_version.h"

typedef struct WriteOutcome
{
	bool		applied;
	const cJSON *attributes;	/* what DynamoDB returned, or the item on a failed condition */
} WriteOutcome;

static bool
returns_values(const ItemRequest *r)
{
	return r->return_values != NULL && strcmp(r->return_values, "NONE") != 0;
}

static void
general_write(const GeneralTable *t, ItemRequest *r, const char *function, bool raise_on_condition_failure,
			  WriteOutcome *out)
{
	bool		conditional = r->condition_expression != NULL;
	GeneralContext context;
	DdbCall		call = {0};
	DdbResult	res;

	/* on an MREC global table, a condition or an update is only as good as the region's copy */
	if (conditional || r->operation == ITEM_UPDATE)
		global_tables_check(t->name, NULL, NULL, GUARDED_CONDITIONAL_WRITE);
	/* the item as it is, on a failed condition: saves the caller a read */
	r->return_item_on_condition_failure = returns_values(r);
	call.request = general_request(r);
	call.operation = item_operation_name(r->operation, false);
	call.resend_safe = r->operation != ITEM_UPDATE && !returns_values(r);
	/* once a sending may have been applied, no later failure says it was not */
	call.unknown_once_maybe_applied = call.resend_safe;
	call.what = psprintf("the %s on table \"%s\"", function, t->name);
	call.unknown_hint = "Read the item (dynamo_get_item, consistent) to see whether the write was applied.";
	if (conditional)
		call.tolerated_error = "ConditionalCheckFailedException";

	general_context_push(&context, function, r);
	ddb_execute(&call, &res);
	if (res.response != NULL)
	{
		out->applied = true;
		out->attributes = json_get(res.response, "Attributes");
		general_context_pop(&context);
		return;
	}
	if (res.maybe_applied_before)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
				 errmsg("%s may or may not have been applied", call.what),
				 errdetail("An earlier sending may have been applied (its answer was lost or late); the resend's "
						   "condition failed, which may be that sending's own doing."),
				 errhint("%s", call.unknown_hint),
				 ddb_errcontext(res.tolerated)));
	if (raise_on_condition_failure)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("the condition of %s did not hold: nothing was written", call.what),
				 errdetail("DynamoDB: %s", res.tolerated->aws_message ? res.tolerated->aws_message : "(no message)"),
				 ddb_errcontext(res.tolerated)));
	general_context_pop(&context);
	out->applied = false;
	out->attributes = json_get(res.tolerated->document, "Item");
}

static Datum
write_result(FunctionCallInfo fcinfo, const WriteOutcome *out)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Jsonb	   *attributes = general_item_to_jsonb(out->attributes);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "dynamo_write_result: the function does not return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(out->applied);
	if (attributes)
		values[1] = JsonbPGetDatum(attributes);
	else
		nulls[1] = true;
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

static Jsonb *
jsonb_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_JSONB_P(argno);
}

static char *
return_values_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *s = general_text_arg(fcinfo, argno, "return_values");

	/* DynamoDB's names, in any case */
	for (char *p = s; p && *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	return s;
}

/* Arguments 2.. of the writes: condition_expression, expression_values, expression_names, return_values */
static void
write_options(FunctionCallInfo fcinfo, int first, ItemRequest *r, bool *raise_on_condition_failure)
{
	r->condition_expression = general_text_arg(fcinfo, first, "condition_expression");
	r->values = general_values(jsonb_arg(fcinfo, first + 1), "expression_values");
	r->names = general_names(jsonb_arg(fcinfo, first + 2), "expression_names");
	r->return_values = return_values_arg(fcinfo, first + 3);
	*raise_on_condition_failure = arg_required_bool(fcinfo, first + 4, "raise_on_condition_failure");
}

DYNAMO_SQL_FUNCTION(dynamo_get_item);

/* dynamo_get_item(table_name, key, consistent, projection_expression, expression_names) -> the item, or NULL */
static Datum
dynamo_get_item_checked(PG_FUNCTION_ARGS)
{
	GeneralTable t;
	ItemRequest r = {0};
	GeneralContext context;
	cJSON	   *req;
	const cJSON *item;

	general_table_arg(fcinfo, 0, &t);
	r.operation = ITEM_GET;
	r.table = t.name;
	r.key = general_key(&t, jsonb_arg(fcinfo, 1), false, "key");
	r.projection_expression = general_text_arg(fcinfo, 3, "projection_expression");
	r.names = general_names(jsonb_arg(fcinfo, 4), "expression_names");
	req = general_request(&r);
	json_add_bool(req, "ConsistentRead", arg_required_bool(fcinfo, 2, "consistent"));
	general_context_push(&context, "dynamo_get_item", &r);
	item = json_get(ddb_read("GetItem", req), "Item");
	general_context_pop(&context);
	if (item == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(general_item_to_jsonb(item));
}

DYNAMO_SQL_FUNCTION(dynamo_put_item);

/*
 * dynamo_put_item(table_name, item, condition_expression, expression_values,
 * expression_names, return_values, raise_on_condition_failure) -> dynamo_write_result
 */
static Datum
dynamo_put_item_checked(PG_FUNCTION_ARGS)
{
	GeneralTable t;
	ItemRequest r = {0};
	bool		raise;
	WriteOutcome out;

	general_table_arg(fcinfo, 0, &t);
	r.operation = ITEM_PUT;
	r.table = t.name;
	r.item = general_item(&t, jsonb_arg(fcinfo, 1), "item");
	write_options(fcinfo, 2, &r, &raise);
	general_write(&t, &r, "dynamo_put_item", raise, &out);
	return write_result(fcinfo, &out);
}

DYNAMO_SQL_FUNCTION(dynamo_update_item);

/*
 * dynamo_update_item(table_name, key, update_expression, condition_expression,
 * expression_values, expression_names, return_values, raise_on_condition_failure)
 */
static Datum
dynamo_update_item_checked(PG_FUNCTION_ARGS)
{
	GeneralTable t;
	ItemRequest r = {0};
	bool		raise;
	WriteOutcome out;

	general_table_arg(fcinfo, 0, &t);
	r.operation = ITEM_UPDATE;
	r.table = t.name;
	r.key = general_key(&t, jsonb_arg(fcinfo, 1), true, "key");
	r.update_expression = general_text_arg(fcinfo, 2, "update_expression");
	if (r.update_expression == NULL)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("update_expression must not be NULL")));
	write_options(fcinfo, 3, &r, &raise);
	general_write(&t, &r, "dynamo_update_item", raise, &out);
	return write_result(fcinfo, &out);
}

DYNAMO_SQL_FUNCTION(dynamo_delete_item);

/*
 * dynamo_delete_item(table_name, key, condition_expression, expression_values,
 * expression_names, return_values, raise_on_condition_failure)
 */
static Datum
dynamo_delete_item_checked(PG_FUNCTION_ARGS)
{
	GeneralTable t;
	ItemRequest r = {0};
	bool		raise;
	WriteOutcome out;

	general_table_arg(fcinfo, 0, &t);
	r.operation = ITEM_DELETE;
	r.table = t.name;
	r.key = general_key(&t, jsonb_arg(fcinfo, 1), true, "key");
	write_options(fcinfo, 2, &r, &raise);
	general_write(&t, &r, "dynamo_delete_item", raise, &out);
	return write_result(fcinfo, &out);
}
