/*
 * item.c - items keyed by pk/sk: dynamo_put, dynamo_get, dynamo_delete,
 * dynamo_put_many, dynamo_get_many, dynamo_query.
 *
 * Lost answers: a put or delete is resent (unconditional writes are
 * last-writer-wins; a resend is the same write arriving later).  A delete
 * whose first answer was lost cannot tell whether it found the item: it
 * returns NULL.  Batches resend their unprocessed items until done or
 * dynamo_atomic.max_retries rounds have passed.
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "args.h"
#include "ddb.h"
#include "item_batch.h"
#include "item_value.h"
#include "lock_item.h"
#include "settings.h"
#include "text_encoding.h"
#include "extension_version.h"


static cJSON *
keyed_request(const char *table, const char *pk, const char *sk)
{
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", table);
	item_add_key(req, "Key", pk, sk);
	return req;
}

static cJSON *
run(const char *operation, cJSON *req, bool *maybe_applied_before)
{
	DdbCall		call = {0};
	DdbResult	res;

	call.operation = operation;
	call.request = req;
	call.resend_safe = true;	/* see the head of this file */
	ddb_execute(&call, &res);
	if (maybe_applied_before)
		*maybe_applied_before = res.maybe_applied_before;
	return res.response;
}

static const char *
required_text(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

DYNAMO_SQL_FUNCTION(dynamo_put);

/* dynamo_put(item jsonb, table_name) */
static Datum
dynamo_put_checked(PG_FUNCTION_ARGS)
{
	cJSON	   *item;
	const char *pk;
	const char *sk;
	cJSON	   *req;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("item must not be NULL")));
	item = item_from_jsonb(PG_GETARG_JSONB_P(0));
	item_keys(item, &pk, &sk);
	req = json_new_object();
	json_add_string(req, "TableName", arg_table_name(fcinfo, 1, TABLE_FOR_ITEMS));
	cJSON_AddItemReferenceToObject(req, "Item", item);
	(void) run("PutItem", req, NULL);
	PG_RETURN_VOID();
}

DYNAMO_SQL_FUNCTION(dynamo_get);

/* dynamo_get(pk, sk, table_name) -> the item, or NULL */
static Datum
dynamo_get_checked(PG_FUNCTION_ARGS)
{
	const char *pk = required_text(fcinfo, 0, "pk");
	const char *sk = required_text(fcinfo, 1, "sk");
	cJSON	   *req = keyed_request(arg_table_name(fcinfo, 2, TABLE_FOR_ITEMS), pk, sk);
	const cJSON *item;

	json_add_bool(req, "ConsistentRead", true);
	item = json_get(ddb_read("GetItem", req), "Item");
	if (item == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(item_to_jsonb(item));
}

DYNAMO_SQL_FUNCTION(dynamo_delete);

/* dynamo_delete(pk, sk, table_name) -> whether it deleted an item (NULL: cannot tell) */
static Datum
dynamo_delete_checked(PG_FUNCTION_ARGS)
{
	const char *pk = required_text(fcinfo, 0, "pk");
	const char *sk = required_text(fcinfo, 1, "sk");
	cJSON	   *req;
	bool		maybe_applied_before;
	cJSON	   *resp;

	lock_sort_key_refuse(sk, "dynamo_delete");	/* only a release ends a lock */
	req = keyed_request(arg_table_name(fcinfo, 2, TABLE_FOR_ITEMS), pk, sk);
	json_add_string(req, "ReturnValues", "ALL_OLD");
	resp = run("DeleteItem", req, &maybe_applied_before);
	if (json_get(resp, "Attributes") != NULL)
		PG_RETURN_BOOL(true);
	/* The first sending may have deleted it; this one found nothing. */
	if (maybe_applied_before)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(false);
}

/* {"pk": {"S": pk}, "sk": {"S": sk}} from item_keys' UTF-8 */
static cJSON *
utf8_key(const char *pk, const char *sk)
{
	cJSON	   *key = json_new_object();

	json_add_string(json_add_object(key, "pk"), "S", pk);
	json_add_string(json_add_object(key, "sk"), "S", sk);
	return key;
}

DYNAMO_SQL_FUNCTION(dynamo_put_many);

/* dynamo_put_many(items jsonb, table_name) -> items written */
static Datum
dynamo_put_many_checked(PG_FUNCTION_ARGS)
{
	char	   *table;
	Jsonb	  **docs;
	cJSON	  **entries;
	cJSON	  **keys;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("items must not be NULL")));
	table = arg_table_name(fcinfo, 1, TABLE_FOR_ITEMS);
	docs = item_array_elements(PG_GETARG_JSONB_P(0), "items", &n);
	entries = palloc(Max(1, n) * sizeof(cJSON *));
	keys = palloc(Max(1, n) * sizeof(cJSON *));
	for (int i = 0; i < n; i++)
	{
		cJSON	   *item = item_from_jsonb(docs[i]);
		const char *pk;
		const char *sk;

		item_keys(item, &pk, &sk);
		keys[i] = utf8_key(pk, sk);
		entries[i] = json_new_object();
		cJSON_AddItemReferenceToObject(json_add_object(entries[i], "PutRequest"), "Item", item);
	}
	item_batch_require_distinct(keys, n, "items", "items name the same pk and sk twice");
	PG_RETURN_INT64(item_batch_write(table, entries, n));
}

DYNAMO_SQL_FUNCTION(dynamo_get_many);

static void
put_found_row(void *arg, int i, const cJSON *item)
{
	ReturnSetInfo *rsinfo = arg;
	Datum		value = JsonbPGetDatum(item_to_jsonb(item));
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/* dynamo_get_many(keys jsonb, table_name) -> the items found, in the order of keys */
static Datum
dynamo_get_many_checked(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *table;
	Jsonb	  **docs;
	cJSON	  **keys;
	int			n;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("keys must not be NULL")));
	table = arg_table_name(fcinfo, 1, TABLE_FOR_ITEMS);
	docs = item_array_elements(PG_GETARG_JSONB_P(0), "keys", &n);
	keys = palloc(Max(1, n) * sizeof(cJSON *));
	for (int i = 0; i < n; i++)
	{
		cJSON	   *key = item_from_jsonb(docs[i]);
		const char *pk;
		const char *sk;

		item_keys(key, &pk, &sk);
		keys[i] = utf8_key(pk, sk);
	}
	item_batch_require_distinct(keys, n, "keys", "keys name the same pk and sk twice");
	item_batch_get(table, keys, n, true, NULL, put_found_row, rsinfo);
	return (Datum) 0;
}

/* dynamo_query's state between calls (value-per-call: fetched page by page). */
typedef struct QueryState
{
	char	   *table;
	char	   *pk;				/* UTF-8 */
	char	   *prefix;			/* UTF-8, or NULL */
	bool		reverse;
	int64		max_items;		/* -1: all */
	int64		returned;
	char	   *start_key;		/* LastEvaluatedKey as JSON text, or NULL */
	bool		fetched;		/* at least one page was fetched */
	bool		last_page;
	MemoryContext page_context;
	cJSON	   *next;			/* the next item of the current page */
} QueryState;

static void
fetch_page(QueryState *q)
{
	MemoryContext old = MemoryContextSwitchTo(q->page_context);
	cJSON	   *req;
	cJSON	   *values;
	cJSON	   *names;
	cJSON	   *resp;
	const cJSON *last;
	int64		limit = dynamo_query_page_size;

	MemoryContextReset(q->page_context);
	req = json_new_object();
	json_add_string(req, "TableName", q->table);
	names = json_add_object(req, "ExpressionAttributeNames");
	json_add_string(names, "#pk", "pk");
	values = json_add_object(req, "ExpressionAttributeValues");
	json_add_string(json_add_object(values, ":pk"), "S", q->pk);
	if (q->prefix)
	{
		json_add_string(names, "#sk", "sk");
		json_add_string(json_add_object(values, ":prefix"), "S", q->prefix);
		json_add_string(req, "KeyConditionExpression", "#pk = :pk AND begins_with(#sk, :prefix)");
	}
	else
		json_add_string(req, "KeyConditionExpression", "#pk = :pk");
	json_add_bool(req, "ConsistentRead", true);
	json_add_bool(req, "ScanIndexForward", !q->reverse);
	if (q->max_items >= 0 && (limit == 0 || q->max_items - q->returned < limit))
		limit = q->max_items - q->returned;
	if (limit > 0)
		cJSON_AddNumberToObject(req, "Limit", (double) limit);
	if (q->start_key)
		cJSON_AddItemReferenceToObject(req, "ExclusiveStartKey",
									   json_parse(q->start_key, strlen(q->start_key)));

	resp = ddb_read("Query", req);
	last = json_get(resp, "LastEvaluatedKey");
	q->last_page = (last == NULL);
	q->fetched = true;
	/* Only the latest key is kept: memory stays that of one page, however many pages pass. */
	MemoryContextSwitchTo(GetMemoryChunkContext(q));
	if (q->start_key)
		pfree(q->start_key);
	q->start_key = last ? json_print(last) : NULL;
	MemoryContextSwitchTo(q->page_context);
	q->next = json_get(resp, "Items") ? ((cJSON *) json_get(resp, "Items"))->child : NULL;
	MemoryContextSwitchTo(old);
}

DYNAMO_SQL_FUNCTION(dynamo_query);

/* dynamo_query(pk, sk_prefix, table_name, reverse, max_items) -> the items, in sort-key order */
static Datum
dynamo_query_checked(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	QueryState *q;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		q = palloc0(sizeof(QueryState));
		{
			const char *pk = required_text(fcinfo, 0, "pk");

			q->pk = text_to_utf8(pk, strlen(pk), "pk");
		}
		if (q->pk[0] == '\0' || strlen(q->pk) > ITEM_MAX_PK_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pk must have 1 to %d bytes", ITEM_MAX_PK_BYTES)));
		if (!PG_ARGISNULL(1))
		{
			char	   *prefix = text_to_cstring(PG_GETARG_TEXT_PP(1));

			q->prefix = text_to_utf8(prefix, strlen(prefix), "sk_prefix");
			if (q->prefix[0] == '\0')
				q->prefix = NULL;	/* every sort key begins with "" */
		}
		q->table = arg_table_name(fcinfo, 2, TABLE_FOR_ITEMS);
		q->reverse = arg_required_bool(fcinfo, 3, "reverse");
		q->max_items = -1;
		if (!PG_ARGISNULL(4))
		{
			q->max_items = PG_GETARG_INT32(4);
			if (q->max_items < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("max_items must not be negative")));
		}
		q->page_context = AllocSetContextCreate(funcctx->multi_call_memory_ctx,
												"dynamo_query page", ALLOCSET_DEFAULT_SIZES);
		funcctx->user_fctx = q;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	q = funcctx->user_fctx;

	/* The next page only when this one is used up (a page may be empty and still have a next). */
	for (;;)
	{
		if (q->max_items >= 0 && q->returned >= q->max_items)
			SRF_RETURN_DONE(funcctx);
		if (q->next != NULL)
		{
			Jsonb	   *item = item_to_jsonb(q->next);

			q->next = q->next->next;
			q->returned++;
			SRF_RETURN_NEXT(funcctx, JsonbPGetDatum(item));
		}
		if (q->fetched && q->last_page)
			SRF_RETURN_DONE(funcctx);
		fetch_page(q);
	}
}
