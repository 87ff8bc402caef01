/*
 * general_item.c - arguments of the general item API, checked before any
 * request (see general_item.h).
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

#include "args.h"
#include "general_item.h"
#include "item_value.h"
#include "text_encoding.h"

#define WHY_SIZE 512

void
general_table_named(const char *name, GeneralTable *t)
{
	require_valid_table_name(name);
	t->name = pstrdup(name);
	/* cached: one DescribeTable per table and interval, shared by the server */
	table_replication_get(t->name, NULL, NULL, &t->described, NULL);
}

void
general_table_arg(FunctionCallInfo fcinfo, int argno, GeneralTable *t)
{
	char	   *name = arg_table_name(fcinfo, argno, TABLE_FOR_ANYTHING);

	general_table_named(name, t);
}

static void
refuse_lock_key(const GeneralTable *t, const cJSON *key, const char *what)
{
	if (key_schema_is_lock_key(&t->described.key, key))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s in table \"%s\" is a lock's item: only the lock functions write it", what, t->name),
				 errdetail(t->described.key.known ?
						   "A lock table's items (key lock_name) and, in a table keyed pk + sk, items whose sort key "
						   "begins \"#lock\" are locks." :
						   "The table could not be described, and the item names lock_name, or pk with an sk "
						   "beginning \"#lock\", as a lock's item does."),
				 errhint("Take, release or refresh a lock with dynamo_get_lock, dynamo_release_lock and "
						 "dynamo_refresh_lock.")));
}

/* An item that would be a lock's in a lock table or a single table, whatever t's schema. */
static void
refuse_lock_item(const GeneralTable *t, const cJSON *item, const char *what)
{
	KeySchema	unknown = {0};

	if (key_schema_is_lock_key(&unknown, item))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s for table \"%s\" has the form of a lock's item: only the lock functions write it",
						what, t->name),
				 errdetail("An item naming lock_name, or pk with an sk beginning \"#lock\", is a lock's item in a "
						   "lock table or a single table; a table's description is kept a while, so such items "
						   "are refused in every table.")));
}

/*
 * DynamoDB keeps a number key as its canonical text ("1.0" is stored as
 * "1"): keys are sent so, so that items found match the keys asked for and
 * two spellings of one key count as one.
 */
static void
normalize_key_numbers(cJSON *key)
{
	cJSON	   *a;

	cJSON_ArrayForEach(a, key)
	{
		cJSON	   *n = (cJSON *) json_get(a, "N");

		if (cJSON_IsString(n))
		{
			Numeric		num = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(n->valuestring),
																  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));

			cJSON_SetValuestring(n, numeric_normalize(num));
		}
	}
}

static void
key_problem(const GeneralTable *t, const char *what, const char *why)
{
	char		schema[2 * KEY_SCHEMA_NAME_SIZE + 16];

	key_schema_describe(&t->described.key, schema, sizeof(schema));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s does not fit the key of table \"%s\": %s", what, t->name, text_display(why)),
			 errdetail("The table's key is %s.", text_display(schema))));
}

cJSON *
general_key(const GeneralTable *t, Jsonb *key, bool for_write, const char *what)
{
	cJSON	   *av;
	char		why[WHY_SIZE];

	if (key == NULL)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be NULL", what)));
	if (!JB_ROOT_IS_OBJECT(key) || JB_ROOT_IS_SCALAR(key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object of the table's key attributes", what)));
	av = item_from_jsonb(key);
	/* Not described (refused): DynamoDB checks the key itself. */
	if (t->described.key.known && key_schema_check_key(&t->described.key, av, why, sizeof(why)))
		key_problem(t, what, why);
	normalize_key_numbers(av);
	if (for_write)
		refuse_lock_key(t, av, what);
	return av;
}

cJSON *
general_item(const GeneralTable *t, Jsonb *item, const char *what)
{
	cJSON	   *av;
	char		why[WHY_SIZE];

	if (item == NULL)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be NULL", what)));
	av = item_from_jsonb(item);
	if (t->described.key.known)
	{
		cJSON	   *key = key_schema_key_of_item(&t->described.key, av, why, sizeof(why));

		if (key == NULL)
			key_problem(t, what, why);
		json_own(key);
		normalize_key_numbers(key);
		refuse_lock_key(t, key, what);
	}
	/*
	 * And the item as a whole, whatever the schema says: a description is
	 * kept a while, and a table deleted and made again as a lock table (or
	 * a pk + sk one) meanwhile would take this item as a lock's.
	 */
	refuse_lock_item(t, av, what);
	return av;
}

cJSON *
general_values(Jsonb *values, const char *what)
{
	if (values == NULL)
		return NULL;
	if (!JB_ROOT_IS_OBJECT(values) || JB_ROOT_IS_SCALAR(values))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object of placeholders (\":name\") and their values", what)));
	return item_from_jsonb(values);
}

cJSON *
general_names(Jsonb *names, const char *what)
{
	cJSON	   *out;
	const cJSON *av;

	if (names == NULL)
		return NULL;
	if (!JB_ROOT_IS_OBJECT(names) || JB_ROOT_IS_SCALAR(names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object of placeholders (\"#name\") and attribute names", what)));
	out = json_new_object();
	/* through the item mapping: every string arrives as UTF-8 */
	cJSON_ArrayForEach(av, item_from_jsonb(names))
	{
		const char *name = json_get_string(av, "S");

		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: \"%s\" must name an attribute (a string)", what, text_display(av->string))));
		json_add_string(out, av->string, name);
	}
	return out;
}

char *
general_text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;

	if (PG_ARGISNULL(argno))
		return NULL;
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	return text_to_utf8(s, strlen(s), what);
}

cJSON *
general_request(const ItemRequest *r)
{
	char		why[WHY_SIZE];
	cJSON	   *req = item_request_build(r, why, sizeof(why));

	if (req == NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", text_display(why))));
	return json_own(req);
}

static void
append_part(StringInfo s, const char *label, const char *value)
{
	if (value)
		appendStringInfo(s, "%s%s %s", s->len ? ", " : "", label, text_display(value));
}

static void
general_context_callback(void *arg)
{
	GeneralContext *c = arg;

	errcontext("%s", c->text);
}

void
general_context_push(GeneralContext *c, const char *function, const ItemRequest *r)
{
	StringInfoData parts;

	/* Made now, in the server encoding: nothing is converted while an error is being reported. */
	initStringInfo(&parts);
	append_part(&parts, "index", r->index_name);
	append_part(&parts, "key condition", r->key_condition_expression);
	append_part(&parts, "update", r->update_expression);
	append_part(&parts, "condition", r->condition_expression);
	append_part(&parts, "filter", r->filter_expression);
	append_part(&parts, "projection", r->projection_expression);
	c->text = psprintf("%s on table \"%s\"%s%s", function, r->table ? text_display(r->table) : "?",
					   parts.len ? ": " : "", parts.data);
	c->callback.callback = general_context_callback;
	c->callback.arg = c;
	c->callback.previous = error_context_stack;
	error_context_stack = &c->callback;
}

void
general_context_pop(GeneralContext *c)
{
	error_context_stack = c->callback.previous;
}

Jsonb *
general_item_to_jsonb(const cJSON *item)
{
	return cJSON_IsObject(item) ? item_to_jsonb(item) : NULL;
}
