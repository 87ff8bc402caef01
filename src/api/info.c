/*
 * info.c - what this backend knows: request counters and the credentials in use.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "credentials.h"
#include "credentials_cache.h"
#include "id_blocks.h"
#include "op_stats.h"
#include "stats.h"
#include "extension_version.h"

DYNAMO_SQL_FUNCTION(dynamo_atomic_backend_stats);

static Datum
dynamo_atomic_backend_stats_checked(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	const DynamoBackendStats *s = &dynamo_backend_stats;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum((int64) s->calls);
	values[1] = Int64GetDatum((int64) s->http_requests);
	values[2] = Int64GetDatum((int64) s->retries);
	values[3] = Int64GetDatum((int64) s->throttles);
	values[4] = Int64GetDatum((int64) s->errors);
	values[5] = Int64GetDatum((int64) s->connections_opened);
	values[6] = Float8GetDatum(s->request_seconds * 1000.0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

DYNAMO_SQL_FUNCTION(dynamo_credentials_info);

/*
 * Where the credentials come from, and for fetched ones their refreshes
 * (shared by the server when preloaded); never the secret.  Superusers
 * only (see SQL).
 */
static Datum
dynamo_credentials_info_checked(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};
	AwsCredentials creds;
	CredentialsStatus status = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	aws_credentials_get(&creds);
	if (creds.provider)
		credentials_cache_status(creds.provider, &status);
	values[0] = CStringGetTextDatum(creds.source);
	values[1] = CStringGetTextDatum(creds.access_key_id);
	nulls[2] = creds.expiration == 0;
	values[2] = TimestampTzGetDatum(creds.expiration);
	nulls[3] = creds.kind == NULL;
	values[3] = nulls[3] ? (Datum) 0 : CStringGetTextDatum(creds.kind);
	nulls[4] = creds.role_arn == NULL;
	values[4] = nulls[4] ? (Datum) 0 : CStringGetTextDatum(creds.role_arn);
	nulls[5] = status.refreshed_at == 0;
	values[5] = TimestampTzGetDatum(status.refreshed_at);
	nulls[6] = creds.provider == NULL;
	values[6] = TimestampTzGetDatum(status.refresh_at);
	nulls[7] = status.last_error == NULL;
	values[7] = nulls[7] ? (Datum) 0 : CStringGetTextDatum(status.last_error);
	nulls[8] = status.last_error_at == 0 || status.last_error == NULL;
	values[8] = TimestampTzGetDatum(status.last_error_at);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

DYNAMO_SQL_FUNCTION(dynamo_credentials_reset);

/* Superusers only (see SQL): the next call of every process fetches credentials anew. */
static Datum
dynamo_credentials_reset_checked(PG_FUNCTION_ARGS)
{
	aws_credentials_reset();
	PG_RETURN_VOID();
}

/* {"TableWriteKeyRangeThroughputExceeded": 12, ...}: the reasons counted, {} when none. */
static Datum
throttle_reasons_jsonb(const OpStatsRow *row)
{
	StringInfoData json;
	bool		first = true;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (int r = 0; r < OP_N_REASONS; r++)
	{
		if (row->reasons[r] == 0)
			continue;
		appendStringInfo(&json, "%s\"%s\": " UINT64_FORMAT, first ? "" : ", ", op_stats_reason_name(r),
						 row->reasons[r]);
		first = false;
	}
	appendStringInfoChar(&json, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data));
}

DYNAMO_SQL_FUNCTION(dynamo_atomic_stats);

/* Per DynamoDB operation (and "nextval"): cluster-wide when preloaded. */
static Datum
dynamo_atomic_stats_checked(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OpStatsRow *rows;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	n = op_stats_snapshot(&rows);
	for (int i = 0; i < n; i++)
	{
		Datum		values[10];
		bool		nulls[10] = {0};
		const uint64 *v = rows[i].values;
		bool		is_nextval = strcmp(rows[i].operation, "nextval") == 0;
		int64		unused = is_nextval ? id_blocks_unused() : 0;

		/*
		 * Rows with something counted; and nextval's while values are
		 * reserved, so that a reset does not hide them (or the worker's
		 * blocks fetched ahead, which count as requests).
		 */
		if (v[OP_CALLS] == 0 && v[OP_REQUESTS] == 0 && unused == 0)
			continue;

		values[0] = CStringGetTextDatum(rows[i].operation);
		values[1] = Int64GetDatum((int64) v[OP_CALLS]);
		values[2] = Int64GetDatum((int64) v[OP_REQUESTS]);
		values[3] = Int64GetDatum((int64) v[OP_RETRIES]);
		values[4] = Int64GetDatum((int64) v[OP_THROTTLES]);
		values[5] = Int64GetDatum((int64) v[OP_ERRORS]);
		values[6] = Float8GetDatum(v[OP_TOTAL_US] / 1000.0);
		values[7] = Float8GetDatum(v[OP_MAX_US] / 1000.0);
		/* Rows by call: their time is in UpdateItem's. */
		nulls[6] = nulls[7] = is_nextval || strcmp(rows[i].operation, "increment") == 0;
		if (is_nextval)
			values[8] = Int64GetDatum(unused);
		else
			nulls[8] = true;
		values[9] = throttle_reasons_jsonb(&rows[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

DYNAMO_SQL_FUNCTION(dynamo_atomic_stats_reset);

static Datum
dynamo_atomic_stats_reset_checked(PG_FUNCTION_ARGS)
{
	op_stats_reset();
	PG_RETURN_VOID();
}
