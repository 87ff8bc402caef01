/*
 * item_batch_api.c - dynamo_batch_get_items and dynamo_batch_write_items:
 * batches on one table of any key shape (item_batch.h says how they are
 * split and resent).  Each key and item is checked against the table's
 * key schema first, and a lock's item is refused, as for a single write.
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "general_item.h"
#include "item_batch.h"
#include "item_value.h"
#include "extension_version.h"

/* Placeholders this adds to a projection, so that every item found carries its key. */
#define KEY_PLACEHOLDER_PREFIX "#dynamo_atomic_key"

/*
 * Whether projection (its paths separated by commas) names attribute at its
 * top level, by itself or through a #placeholder of names: DynamoDB refuses
 * a projection naming one path twice.
 */
static bool
projection_names(const char *projection, const cJSON *names, const char *attribute)
{
	const char *p = projection;

	while (*p)
	{
		size_t		len;
		char	   *token;
		const char *resolved;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		len = strcspn(p, ".[, \t\n\r");
		token = pnstrdup(p, len);
		resolved = token[0] == '#' ? json_get_string(names, token) : token;
		if (resolved && strcmp(resolved, attribute) == 0)
			return true;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return false;
}

static Jsonb **
elements(FunctionCallInfo fcinfo, int argno, const char *what, int *n)
{
	if (PG_ARGISNULL(argno))
	{
		*n = 0;
		return NULL;
	}
	return item_array_elements(PG_GETARG_JSONB_P(argno), what, n);
}

DYNAMO_SQL_FUNCTION(dynamo_batch_write_items);

/* dynamo_batch_write_items(table_name, puts, deletes) -> items written (puts and deletes) */
static Datum
dynamo_batch_write_items_checked(PG_FUNCTION_ARGS)
{
	GeneralTable t;
	int			n_puts;
	int			n_deletes;
	Jsonb	  **puts;
	Jsonb	  **deletes;
	cJSON	  **entries;
	cJSON	  **keys;
	char		why[512];

	general_table_arg(fcinfo, 0, &t);
	puts = elements(fcinfo, 1, "puts", &n_puts);
	deletes = elements(fcinfo, 2, "deletes", &n_deletes);
	entries = palloc(Max(1, n_puts + n_deletes) * sizeof(cJSON *));
	keys = palloc(Max(1, n_puts + n_deletes) * sizeof(cJSON *));
	for (int i = 0; i < n_puts; i++)
	{
		cJSON	   *item = general_item(&t, puts[i], "an item of puts");

		keys[i] = t.described.key.known ?
			json_own(key_schema_key_of_item(&t.described.key, item, why, sizeof(why))) : item;
		entries[i] = json_new_object();
		cJSON_AddItemReferenceToObject(json_add_object(entries[i], "PutRequest"), "Item", item);
	}
	for (int i = 0; i < n_deletes; i++)
	{
		cJSON	   *key = general_key(&t, deletes[i], true, "a key of deletes");

		keys[n_puts + i] = key;
		entries[n_puts + i] = json_new_object();
		cJSON_AddItemReferenceToObject(json_add_object(entries[n_puts + i], "DeleteRequest"), "Key", key);
	}
	/* DynamoDB refuses a batch naming one item twice: said first */
	if (t.described.key.known)
		item_batch_require_distinct(keys, n_puts + n_deletes, "items",
									"puts and deletes name the same item twice");
	PG_RETURN_INT64(item_batch_write(t.name, entries, n_puts + n_deletes));
}

DYNAMO_SQL_FUNCTION(dynamo_batch_get_items);

static void
put_found_row(void *arg, int i, const cJSON *item)
{
	ReturnSetInfo *rsinfo = arg;
	Datum		value = JsonbPGetDatum(general_item_to_jsonb(item));
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/*
 * dynamo_batch_get_items(table_name, keys, consistent, projection_expression,
 * expression_names) -> the items found, in the order of keys
 */
static Datum
dynamo_batch_get_items_checked(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GeneralTable t;
	Jsonb	  **docs;
	cJSON	  **keys;
	int			n;
	cJSON	   *extra = json_new_object();
	char	   *projection;
	cJSON	   *names;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	general_table_arg(fcinfo, 0, &t);
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("keys must not be NULL")));
	docs = item_array_elements(PG_GETARG_JSONB_P(1), "keys", &n);
	keys = palloc(Max(1, n) * sizeof(cJSON *));
	for (int i = 0; i < n; i++)
		keys[i] = general_key(&t, docs[i], false, "a key of keys");
	item_batch_require_distinct(keys, n, "keys", "keys name the same item twice");
	projection = general_text_arg(fcinfo, 3, "projection_expression");
	names = general_names(PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), "expression_names");
	if (projection != NULL)
	{
		const cJSON *k;
		int			j = 0;

		if (names == NULL)
			names = json_new_object();
		cJSON_ArrayForEach(k, names)
			if (strncmp(k->string, KEY_PLACEHOLDER_PREFIX, strlen(KEY_PLACEHOLDER_PREFIX)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expression_names: placeholders beginning \"%s\" are dynamo_batch_get_items' own",
							KEY_PLACEHOLDER_PREFIX)));
		/* the items are matched to their keys: the key attributes come back too, once */
		if (n > 0)
			cJSON_ArrayForEach(k, keys[0])
		{
			char	   *placeholder;

			if (projection_names(projection, names, k->string))
				continue;
			placeholder = psprintf(KEY_PLACEHOLDER_PREFIX "%d", j++);
			json_add_string(names, placeholder, k->string);
			projection = psprintf("%s, %s", projection, placeholder);
		}
		json_add_string(extra, "ProjectionExpression", projection);
	}
	if (names != NULL)
		cJSON_AddItemReferenceToObject(extra, "ExpressionAttributeNames", names);
	if (PG_ARGISNULL(2))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("consistent must not be NULL")));
	item_batch_get(t.name, keys, n, PG_GETARG_BOOL(2), extra, put_found_row, rsinfo);
	return (Datum) 0;
}
