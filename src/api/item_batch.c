/*
 * item_batch.c - batches of writes and reads on one table (see item_batch.h).
 */
#include "postgres.h"

#include "common/pg_prng.h"

#include "ddb.h"
#include "item_batch.h"
#include "settings.h"

#define BATCH_WRITE_MAX 25
#define BATCH_GET_MAX 100

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
item_batch_require_distinct(cJSON **keys, int n, const char *what, const char *message)
{
	char	  **texts = palloc(Max(1, n) * sizeof(char *));

	/* jsonb orders an object's members: one key prints one way */
	for (int i = 0; i < n; i++)
		texts[i] = json_print(keys[i]);
	qsort(texts, n, sizeof(char *), compare_strings);
	for (int i = 1; i < n; i++)
		if (strcmp(texts[i - 1], texts[i]) == 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", message)));
}

/* Sleeps before round `round` of resending unprocessed items. */
static void
unprocessed_backoff(int round)
{
	long		ceiling = Min(5000L, 50L << Min(round, 16));

	ddb_sleep_ms((long) pg_prng_uint64_range(&pg_global_prng_state, ceiling / 2, ceiling));
}

/* One BatchWriteItem; an error says in its DETAIL how many items earlier requests wrote. */
static cJSON *
run_batch_write(cJSON *req, int64 written, int n, int pending)
{
	MemoryContext caller = CurrentMemoryContext;
	cJSON	   *volatile resp = NULL;

	PG_TRY();
	{
		DdbCall		call = {0};
		DdbResult	res;

		call.operation = "BatchWriteItem";
		call.request = req;
		call.resend_safe = true;	/* see the head of item_batch.h */
		ddb_execute(&call, &res);
		resp = res.response;
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

int64
item_batch_write(const char *table, cJSON **entries, int n)
{
	int64		written = 0;

	for (int start = 0; start < n; start += BATCH_WRITE_MAX)
	{
		int			count = Min(BATCH_WRITE_MAX, n - start);
		cJSON	   *req = json_new_object();
		cJSON	   *requests = json_add_array(json_add_object(req, "RequestItems"), table);
		int			left = count;

		for (int i = start; i < start + count; i++)
			cJSON_AddItemReferenceToArray(requests, entries[i]);
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
	return written;
}

/* Whether item has every attribute of key, with the same value. */
static bool
item_has_key(const cJSON *item, const cJSON *key)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, key)
		if (!cJSON_Compare(k, json_get(item, k->string), true))
		return false;
	return true;
}

void
item_batch_get(const char *table, cJSON **keys, int n, bool consistent, const cJSON *spec_extra,
			   void (*found_cb) (void *arg, int i, const cJSON *item), void *arg)
{
	for (int start = 0; start < n; start += BATCH_GET_MAX)
	{
		int			count = Min(BATCH_GET_MAX, n - start);
		cJSON	   *req = json_new_object();
		cJSON	   *spec = json_add_object(json_add_object(req, "RequestItems"), table);
		cJSON	   *list = json_add_array(spec, "Keys");
		cJSON	   *found = json_add_array(json_new_object(), "found");
		const cJSON *extra;

		json_add_bool(spec, "ConsistentRead", consistent);
		cJSON_ArrayForEach(extra, spec_extra)
			cJSON_AddItemReferenceToObject(spec, extra->string, (cJSON *) extra);
		for (int i = start; i < start + count; i++)
			cJSON_AddItemReferenceToArray(list, keys[i]);
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
		/* In the order of the keys; a key with no item gives nothing. */
		for (int i = start; i < start + count; i++)
		{
			cJSON	   *item;

			cJSON_ArrayForEach(item, found)
				if (item_has_key(item, keys[i]))
				{
					found_cb(arg, i, item);
					break;
				}
		}
	}
}
