/*
 * item_scan.c - dynamo_query_items and dynamo_scan_items: Query and Scan on
 * any table or index, streamed page by page (value-per-call: memory stays
 * that of one page however many pass), with expressions.
 *
 * max_items counts the rows returned, after the filter: DynamoDB's Limit
 * counts the items it reads before filtering, so with a filter each page
 * is read whole and the stream stops at max_items.
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "args.h"
#include "ddb.h"
#include "general_item.h"
#include "settings.h"
#include "extension_version.h"

/* DynamoDB's bound on TotalSegments. */
#define MAX_TOTAL_SEGMENTS 1000000

typedef struct PagedRead
{
	const char *function;
	const char *operation;		/* "Query" or "Scan" */
	char	   *request;		/* the request without Limit and ExclusiveStartKey, as JSON text */
	char	   *context_text;	/* CONTEXT of its errors */
	bool		filtered;
	int64		max_items;		/* -1: all */
	int64		returned;
	char	   *start_key;		/* LastEvaluatedKey as JSON text, or NULL */
	bool		fetched;
	bool		last_page;
	MemoryContext page_context;
	cJSON	   *next;
} PagedRead;

static void
paged_read_context(void *arg)
{
	errcontext("%s", ((PagedRead *) arg)->context_text);
}

static void
fetch_page(PagedRead *p)
{
	MemoryContext old = MemoryContextSwitchTo(p->page_context);
	ErrorContextCallback callback = {error_context_stack, paged_read_context, p};
	cJSON	   *req;
	cJSON	   *resp;
	const cJSON *last;
	int64		limit = dynamo_query_page_size;

	MemoryContextReset(p->page_context);
	req = json_parse(p->request, strlen(p->request));
	if (!p->filtered && p->max_items >= 0 && (limit == 0 || p->max_items - p->returned < limit))
		limit = p->max_items - p->returned;
	if (limit > 0)
		cJSON_AddNumberToObject(req, "Limit", (double) limit);
	if (p->start_key)
		cJSON_AddItemReferenceToObject(req, "ExclusiveStartKey", json_parse(p->start_key, strlen(p->start_key)));

	error_context_stack = &callback;
	resp = ddb_read(p->operation, req);
	error_context_stack = callback.previous;

	last = json_get(resp, "LastEvaluatedKey");
	p->last_page = (last == NULL);
	p->fetched = true;
	/* only the latest key is kept */
	MemoryContextSwitchTo(GetMemoryChunkContext(p));
	if (p->start_key)
		pfree(p->start_key);
	p->start_key = last ? json_print(last) : NULL;
	MemoryContextSwitchTo(p->page_context);
	p->next = json_get(resp, "Items") ? ((cJSON *) json_get(resp, "Items"))->child : NULL;
	MemoryContextSwitchTo(old);
}

static int64
max_items_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return -1;
	if (PG_GETARG_INT32(argno) < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("max_items must not be negative")));
	return PG_GETARG_INT32(argno);
}

/* Made in the first call, in the SRF's multi-call context. */
static PagedRead *
paged_read_new(FuncCallContext *funcctx, const char *function, const ItemRequest *r, cJSON *req, int64 max_items)
{
	PagedRead  *p = palloc0(sizeof(PagedRead));
	GeneralContext context;

	p->function = function;
	p->operation = item_operation_name(r->operation, false);
	p->request = json_print(req);
	p->filtered = r->filter_expression != NULL;
	p->max_items = max_items;
	general_context_push(&context, function, r);
	p->context_text = context.text;
	general_context_pop(&context);
	p->page_context = AllocSetContextCreate(funcctx->multi_call_memory_ctx, "dynamo_atomic page",
											ALLOCSET_DEFAULT_SIZES);
	return p;
}

/* The next row, fetching pages as needed; false at the end. */
static bool
paged_read_next(PagedRead *p, Datum *row)
{
	for (;;)
	{
		if (p->max_items >= 0 && p->returned >= p->max_items)
			return false;
		if (p->next != NULL)
		{
			*row = JsonbPGetDatum(general_item_to_jsonb(p->next));
			p->next = p->next->next;
			p->returned++;
			return true;
		}
		if (p->fetched && p->last_page)
			return false;
		fetch_page(p);
	}
}

static Jsonb *
jsonb_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_JSONB_P(argno);
}

DYNAMO_SQL_FUNCTION(dynamo_query_items);

/*
 * dynamo_query_items(table_name, key_condition_expression, expression_values,
 * expression_names, index_name, filter_expression, projection_expression,
 * scan_forward, consistent, max_items) -> the items, in sort-key order
 */
static Datum
dynamo_query_items_checked(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	Datum		row;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		GeneralTable t;
		ItemRequest r = {0};
		cJSON	   *req;
		bool		consistent;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		general_table_arg(fcinfo, 0, &t);
		r.operation = ITEM_QUERY;
		r.table = t.name;
		r.key_condition_expression = general_text_arg(fcinfo, 1, "key_condition_expression");
		if (r.key_condition_expression == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("key_condition_expression must not be NULL")));
		r.values = general_values(jsonb_arg(fcinfo, 2), "expression_values");
		r.names = general_names(jsonb_arg(fcinfo, 3), "expression_names");
		r.index_name = general_text_arg(fcinfo, 4, "index_name");
		r.filter_expression = general_text_arg(fcinfo, 5, "filter_expression");
		r.projection_expression = general_text_arg(fcinfo, 6, "projection_expression");
		req = general_request(&r);
		json_add_bool(req, "ScanIndexForward", arg_required_bool(fcinfo, 7, "scan_forward"));
		/* Unsaid: consistent on the table, eventual on an index (a GSI refuses consistent reads). */
		consistent = PG_ARGISNULL(8) ? r.index_name == NULL : PG_GETARG_BOOL(8);
		json_add_bool(req, "ConsistentRead", consistent);
		funcctx->user_fctx = paged_read_new(funcctx, "dynamo_query_items", &r, req, max_items_arg(fcinfo, 9));
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	if (paged_read_next(funcctx->user_fctx, &row))
		SRF_RETURN_NEXT(funcctx, row);
	SRF_RETURN_DONE(funcctx);
}

DYNAMO_SQL_FUNCTION(dynamo_scan_items);

/*
 * dynamo_scan_items(table_name, filter_expression, expression_values,
 * expression_names, index_name, projection_expression, segment,
 * total_segments, consistent, max_items) -> the items
 */
static Datum
dynamo_scan_items_checked(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	Datum		row;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		GeneralTable t;
		ItemRequest r = {0};
		cJSON	   *req;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		general_table_arg(fcinfo, 0, &t);
		r.operation = ITEM_SCAN;
		r.table = t.name;
		r.filter_expression = general_text_arg(fcinfo, 1, "filter_expression");
		r.values = general_values(jsonb_arg(fcinfo, 2), "expression_values");
		r.names = general_names(jsonb_arg(fcinfo, 3), "expression_names");
		r.index_name = general_text_arg(fcinfo, 4, "index_name");
		r.projection_expression = general_text_arg(fcinfo, 5, "projection_expression");
		req = general_request(&r);
		if (PG_ARGISNULL(6) != PG_ARGISNULL(7))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("segment and total_segments go together: give both or neither")));
		if (!PG_ARGISNULL(6))
		{
			int32		segment = PG_GETARG_INT32(6);
			int32		total = PG_GETARG_INT32(7);

			if (total < 1 || total > MAX_TOTAL_SEGMENTS || segment < 0 || segment >= total)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("segment %d of total_segments %d: total_segments must be 1 to %d, and segment "
								"0 to total_segments - 1", segment, total, MAX_TOTAL_SEGMENTS)));
			cJSON_AddNumberToObject(req, "Segment", segment);
			cJSON_AddNumberToObject(req, "TotalSegments", total);
		}
		json_add_bool(req, "ConsistentRead", arg_required_bool(fcinfo, 8, "consistent"));
		funcctx->user_fctx = paged_read_new(funcctx, "dynamo_scan_items", &r, req, max_items_arg(fcinfo, 9));
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	if (paged_read_next(funcctx->user_fctx, &row))
		SRF_RETURN_NEXT(funcctx, row);
	SRF_RETURN_DONE(funcctx);
}
