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
#include "item_value.h"
#include "lock_item.h"
#include "settings.h"
#include "text_encoding.h"

#define BATCH_WRITE_MAX 25
#define BATCH_GET_MAX 100

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

PG_FUNCTION_INFO_V1(dynamo_put);

/* dynamo_put(item jsonb, table_name) */
Datum
dynamo_put(PG_FUNCTION_ARGS)
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

PG_FUNCTION_INFO_V1(dynamo_get);

/* dynamo_get(pk, sk, table_name) -> the item, or NULL */
Datum
dynamo_get(PG_FUNCTION_ARGS)
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

PG_FUNCTION_INFO_V1(dynamo_delete);

/* dynamo_delete(pk, sk, table_name) -> whether it deleted an item (NULL: cannot tell) */
Datum
dynamo_delete(PG_FUNCTION_ARGS)
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

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* DynamoDB refuses a batch naming one key twice: say so first. */
static void
require_distinct_keys(char **keys, int n, const char *what)
{
	qsort(keys, n, sizeof(char *), compare_strings);
	for (int i = 1; i < n; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s name the same pk and sk twice", what)));
}

static char *
key_text(const char *pk, const char *sk)
{
	/* Length-prefixed: no pair of keys can run together alike. */
	return psprintf("%zu:%s%s", strlen(pk), pk, sk);
}

/* Sleeps before round `round` of resending unprocessed items. */
static void
unprocessed_backoff(int round)
{
	long		ceiling = Min(5000L, 50L << Min(round, 16));

	ddb_sleep_ms((long) pg_prng_uint64_range(&pg_global_prng_state, ceiling / 2, ceiling));
}

/*
 * One BatchWriteItem of dynamo_put_many.  An error says, in its DETAIL,
 * how many items earlier requests wrote: those stay written.
 */
static cJSON *
run_batch_write(cJSON *req, int64 written, int n, int pending)
{
	MemoryContext caller = CurrentMemoryContext;
	cJSON	   *volatile resp = NULL;

	PG_TRY();
	{
		resp = run("BatchWriteItem", req, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		edata->detail = psprintf("%s%s" INT64_FORMAT " of %d items were written before this request, "
								 "and stay written; %d were in this request, which did not surely write them.",
								 edata->detail ? edata->detail : "", edata->detail ? " " : "",
								 written, n, pending);
		ReThrowError(edata);
	}
	PG_END_TRY();
	return resp;
}

PG_FUNCTION_INFO_V1(dynamo_put_many);

/* dynamo_put_many(items jsonb, table_name) -> items written */
Datum
dynamo_put_many(PG_FUNCTION_ARGS)
{
	char	   *table;
	Jsonb	  **docs;
	cJSON	  **items;
	char	  **keys;
	int			n;
	int64		written = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("items must not be NULL")));
	table = arg_table_name(fcinfo, 1, TABLE_FOR_ITEMS);
	docs = item_array_elements(PG_GETARG_JSONB_P(0), "items", &n);
	items = palloc(Max(1, n) * sizeof(cJSON *));
	keys = palloc(Max(1, n) * sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		const char *pk;
		const char *sk;

		items[i] = item_from_jsonb(docs[i]);
		item_keys(items[i], &pk, &sk);
		keys[i] = key_text(pk, sk);
	}
	require_distinct_keys(keys, n, "items");

	for (int start = 0; start < n; start += BATCH_WRITE_MAX)
	{
		int			count = Min(BATCH_WRITE_MAX, n - start);
		cJSON	   *req = json_new_object();
		cJSON	   *requests = json_add_array(json_add_object(req, "RequestItems"), table);
		int			left = count;

		for (int i = start; i < start + count; i++)
		{
			cJSON	   *entry;

			json_append_object(requests, &entry);
			cJSON_AddItemReferenceToObject(json_add_object(entry, "PutRequest"), "Item", items[i]);
		}
		for (int round = 0;; round++)
		{
			cJSON	   *resp = run_batch_write(req, written + count - left, n, left);
			cJSON	   *unprocessed = (cJSON *) json_get(json_get(resp, "UnprocessedItems"), table);

			left = cJSON_GetArraySize(unprocessed);
			if (left == 0)
				break;
			if (round >= dynamo_max_retries)
				ereport(ERROR,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("%d of %d items were not written: DynamoDB left them unprocessed %d times",
								(int) (n - written - count + left), n, round + 1),
						 errdetail(INT64_FORMAT " items were written; the batch stopped there.",
								   written + count - left),
						 errhint("Raise dynamo_atomic.max_retries, or write at a lower rate.")));
			/* Resend only what DynamoDB left over. */
			req = json_new_object();
			cJSON_AddItemReferenceToObject(json_add_object(req, "RequestItems"), table, unprocessed);
			unprocessed_backoff(round + 1);
		}
		written += count;
	}
	PG_RETURN_INT64(written);
}

PG_FUNCTION_INFO_V1(dynamo_get_many);

static bool
same_key(const cJSON *item, const char *pk, const char *sk)
{
	const char *ipk = cJSON_GetStringValue(json_get(json_get(item, "pk"), "S"));
	const char *isk = cJSON_GetStringValue(json_get(json_get(item, "sk"), "S"));

	return ipk && isk && strcmp(ipk, pk) == 0 && strcmp(isk, sk) == 0;
}

/* dynamo_get_many(keys jsonb, table_name) -> the items found, in the order of keys */
Datum
dynamo_get_many(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *table;
	Jsonb	  **docs;
	const char **pks;
	const char **sks;
	char	  **keys;
	int			n;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("keys must not be NULL")));
	table = arg_table_name(fcinfo, 1, TABLE_FOR_ITEMS);
	docs = item_array_elements(PG_GETARG_JSONB_P(0), "keys", &n);
	pks = palloc(Max(1, n) * sizeof(char *));
	sks = palloc(Max(1, n) * sizeof(char *));
	keys = palloc(Max(1, n) * sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		cJSON	   *key = item_from_jsonb(docs[i]);

		item_keys(key, &pks[i], &sks[i]);
		keys[i] = key_text(pks[i], sks[i]);
	}
	require_distinct_keys(keys, n, "keys");

	for (int start = 0; start < n; start += BATCH_GET_MAX)
	{
		int			count = Min(BATCH_GET_MAX, n - start);
		cJSON	   *req = json_new_object();
		cJSON	   *spec = json_add_object(json_add_object(req, "RequestItems"), table);
		cJSON	   *list = json_add_array(spec, "Keys");
		cJSON	   *found = json_add_array(json_new_object(), "found");

		json_add_bool(spec, "ConsistentRead", true);
		for (int i = start; i < start + count; i++)
		{
			cJSON	   *k;

			json_append_object(list, &k);
			json_add_string(json_add_object(k, "pk"), "S", pks[i]);
			json_add_string(json_add_object(k, "sk"), "S", sks[i]);
		}
		for (int round = 0;; round++)
		{
			cJSON	   *resp = ddb_read("BatchGetItem", req);
			cJSON	   *items = (cJSON *) json_get(json_get(resp, "Responses"), table);
			cJSON	   *unprocessed = (cJSON *) json_get(json_get(resp, "UnprocessedKeys"), table);
			cJSON	   *item;

			cJSON_ArrayForEach(item, items)
				cJSON_AddItemReferenceToArray(found, item);
			if (cJSON_GetArraySize(json_get(unprocessed, "Keys")) == 0)
				break;
			if (round >= dynamo_max_retries)
				ereport(ERROR,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("%d keys were not read: DynamoDB left them unprocessed %d times",
								cJSON_GetArraySize(json_get(unprocessed, "Keys")), round + 1),
						 errhint("Raise dynamo_atomic.max_retries, or read at a lower rate.")));
			req = json_new_object();
			cJSON_AddItemReferenceToObject(json_add_object(req, "RequestItems"), table, unprocessed);
			unprocessed_backoff(round + 1);
		}
		/* In the order of the keys; a key with no item gives no row. */
		for (int i = start; i < start + count; i++)
		{
			cJSON	   *item;

			cJSON_ArrayForEach(item, found)
				if (same_key(item, pks[i], sks[i]))
				{
					Datum		value = JsonbPGetDatum(item_to_jsonb(item));
					bool		isnull = false;

					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
					break;
				}
		}
	}
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

PG_FUNCTION_INFO_V1(dynamo_query);

/* dynamo_query(pk, sk_prefix, table_name, reverse, max_items) -> the items, in sort-key order */
Datum
dynamo_query(PG_FUNCTION_ARGS)
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
