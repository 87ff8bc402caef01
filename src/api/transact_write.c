/*
 * transact_write.c - dynamo_transact_write: Put, Update, Delete and
 * ConditionCheck actions on any tables, all or nothing (TransactWriteItems).
 *
 * actions is a jsonb array; each element is an object with one member,
 * "put", "update", "delete" or "condition_check", whose value holds the
 * action's parts under the general functions' parameter names: table_name,
 * item or key, update_expression, condition_expression, expression_values,
 * expression_names.  A member not listed is refused (22023): a misspelt
 * condition must not be dropped silently.
 *
 * Returns dynamo_transaction_result (applied, failed_action, failed_item):
 * a condition that does not hold writes nothing and raises nothing;
 * failed_action is its index in actions (from 0, as actions -> n) and
 * failed_item the item as it is (DynamoDB's
 * ReturnValuesOnConditionCheckFailure: no read needed).
 * raise_on_condition_failure raises 23514 instead.
 *
 * Lost answers: the transaction is resent with its ClientRequestToken, so
 * DynamoDB applies it at most once (transaction.h).  A caller that gives
 * its own token can resend the whole call after a 40003 within 10 minutes
 * and have it applied at most once too.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "general_item.h"
#include "global_tables.h"
#include "text_encoding.h"
#include "transaction.h"
#include "extension_version.h"

typedef struct ActionKind
{
	const char *member;			/* in actions: "condition_check" */
	ItemOperation operation;
} ActionKind;

static const ActionKind action_kinds[] = {
	{"put", ITEM_PUT},
	{"update", ITEM_UPDATE},
	{"delete", ITEM_DELETE},
	{"condition_check", ITEM_CONDITION_CHECK},
};

static const char *const action_members[] = {
	"table_name", "item", "key", "update_expression", "condition_expression", "expression_values",
	"expression_names"
};

/* obj's member name as jsonb (an object or a string), or NULL. */
static Jsonb *
member(Jsonb *obj, const char *name)
{
	JsonbValue	k = {.type = jbvString,.val.string = {.len = strlen(name),.val = (char *) name}};
	JsonbValue *v = findJsonbValueFromContainer(&obj->root, JB_FOBJECT, &k);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	return JsonbValueToJsonb(v);
}

/* A string member as UTF-8, or NULL; 22023 when it is not a string. */
static char *
member_text(Jsonb *obj, const char *name, int action)
{
	JsonbValue	k = {.type = jbvString,.val.string = {.len = strlen(name),.val = (char *) name}};
	JsonbValue *v = findJsonbValueFromContainer(&obj->root, JB_FOBJECT, &k);
	char	   *s;

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action %d: %s must be a string", action, name)));
	s = pnstrdup(v->val.string.val, v->val.string.len);
	return text_to_utf8(s, strlen(s), name);
}

/* Each member name of obj (an object) must be one of names[0..n). */
static void
require_known_members(Jsonb *obj, const char *const *names, int n, int action, const char *what)
{
	JsonbIterator *it = JsonbIteratorInit(&obj->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		skip_nested = false;

	while ((tok = JsonbIteratorNext(&it, &v, skip_nested)) != WJB_DONE)
	{
		bool		known = false;

		skip_nested = true;
		if (tok != WJB_KEY)
			continue;
		for (int i = 0; i < n; i++)
			if (strlen(names[i]) == v.val.string.len && memcmp(names[i], v.val.string.val, v.val.string.len) == 0)
				known = true;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("action %d: \"%s\" is not %s", action,
							pnstrdup(v.val.string.val, pg_mbcliplen(v.val.string.val, v.val.string.len, 100)),
							what)));
	}
}

static bool
is_object(Jsonb *doc)
{
	return doc != NULL && JB_ROOT_IS_OBJECT(doc) && !JB_ROOT_IS_SCALAR(doc);
}

/* One element of actions as a TransactItems entry; *table_out its table. */
static cJSON *
action_entry(Jsonb *element, int index, char **table_out)
{
	const ActionKind *kind = NULL;
	Jsonb	   *body = NULL;
	ItemRequest r = {0};
	GeneralTable t;
	char	   *table;
	cJSON	   *entry;
	static const char *const kinds[] = {"put", "update", "delete", "condition_check"};

	if (!is_object(element))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action %d must be a JSON object such as {\"put\": {...}}", index)));
	require_known_members(element, kinds, lengthof(kinds), index,
						  "an action (put, update, delete or condition_check)");
	for (int i = 0; i < lengthof(action_kinds); i++)
	{
		Jsonb	   *b = member(element, action_kinds[i].member);

		if (b == NULL)
			continue;
		if (kind != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("action %d names two actions (%s and %s): one per element", index, kind->member,
							action_kinds[i].member)));
		kind = &action_kinds[i];
		body = b;
	}
	if (kind == NULL || !is_object(body))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action %d must be one object: {\"put\" | \"update\" | \"delete\" | \"condition_check\": {...}}",
						index)));
	require_known_members(body, action_members, lengthof(action_members), index,
						  "a part of an action (table_name, item, key, update_expression, condition_expression, "
						  "expression_values, expression_names)");
	table = member_text(body, "table_name", index);
	if (table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("action %d: table_name is required", index)));
	general_table_named(table, &t);
	r.operation = kind->operation;
	r.in_transaction = true;
	r.table = t.name;
	if (kind->operation == ITEM_PUT)
		r.item = general_item(&t, member(body, "item"), psprintf("action %d's item", index));
	else
		/* a condition check of a lock writes nothing, but holds its item against the lock's own writes */
		r.key = general_key(&t, member(body, "key"), true, psprintf("action %d's key", index));
	r.update_expression = member_text(body, "update_expression", index);
	r.condition_expression = member_text(body, "condition_expression", index);
	r.values = general_values(member(body, "expression_values"), "expression_values");
	r.names = general_names(member(body, "expression_names"), "expression_names");
	/* the item as it is, should the condition fail: failed_item, without a read */
	r.return_item_on_condition_failure = true;
	entry = json_new_object();
	/* a reference: the request is owned by the memory context already */
	cJSON_AddItemReferenceToObject(entry, item_operation_name(kind->operation, true), general_request(&r));
	*table_out = t.name;
	return entry;
}

static Datum
transaction_result(FunctionCallInfo fcinfo, const TransactionOutcome *out)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, true, true};
	Jsonb	   *item = out->applied ? NULL : general_item_to_jsonb(out->failed_item);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "dynamo_transaction_result: the function does not return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(out->applied);
	if (!out->applied)
	{
		values[1] = Int32GetDatum(out->failed_action);
		nulls[1] = false;
	}
	if (item)
	{
		values[2] = JsonbPGetDatum(item);
		nulls[2] = false;
	}
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

static char *
token_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *token;

	if (PG_ARGISNULL(argno))
		return NULL;
	token = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (token[0] == '\0' || strlen(token) > TRANSACTION_TOKEN_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("client_request_token must have 1 to %d characters", TRANSACTION_TOKEN_MAX)));
	for (const char *p = token; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("client_request_token must be printable ASCII without spaces")));
	return token;
}

DYNAMO_SQL_FUNCTION(dynamo_transact_write);

/* dynamo_transact_write(actions, client_request_token, raise_on_condition_failure) -> dynamo_transaction_result */
static Datum
dynamo_transact_write_checked(PG_FUNCTION_ARGS)
{
	Jsonb	   *actions;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	cJSON	   *req = json_new_object();
	cJSON	   *items = json_add_array(req, "TransactItems");
	char	   *token;
	bool		raise;
	int			n = 0;
	List	   *tables = NIL;
	ListCell   *lc;
	TransactionOutcome out;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("actions must not be NULL")));
	actions = PG_GETARG_JSONB_P(0);
	token = token_arg(fcinfo, 1);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("raise_on_condition_failure must not be NULL")));
	raise = PG_GETARG_BOOL(2);
	if (!JB_ROOT_IS_ARRAY(actions) || JB_ROOT_IS_SCALAR(actions))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("actions must be a JSON array of actions")));
	if (JB_ROOT_COUNT(actions) == 0 || JB_ROOT_COUNT(actions) > TRANSACTION_MAX_ACTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a transaction has 1 to %d actions, not %d", TRANSACTION_MAX_ACTIONS,
						(int) JB_ROOT_COUNT(actions))));
	it = JsonbIteratorInit(&actions->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *table;

		if (tok != WJB_ELEM)
			continue;
		cJSON_AddItemReferenceToArray(items, action_entry(v.type == jbvBinary ? JsonbValueToJsonb(&v) : NULL,
														  n, &table));
		tables = list_append_unique(tables, makeString(table));
		n++;
	}
	/* Before anything is sent: every table the transaction touches. */
	foreach(lc, tables)
		global_tables_check(strVal(lfirst(lc)), NULL, NULL, GUARDED_GENERAL_TRANSACTION);

	transaction_run(req, token, "the dynamo_transact_write transaction",
					token ? "Send the same call with the same client_request_token within 10 minutes of the first: "
					"DynamoDB applies it at most once, and answers whether it was." :
					"Read the items to see whether it was applied; with a client_request_token of your own, the "
					"same call sent again within 10 minutes is applied at most once.", &out);
	if (!out.applied && raise)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("the condition of action %d of the dynamo_transact_write transaction did not hold: nothing "
						"was written", out.failed_action),
				 ddb_errcontext(out.failure)));
	return transaction_result(fcinfo, &out);
}
