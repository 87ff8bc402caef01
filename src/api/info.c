/*
 * info.c - what this backend knows: request counters and the credentials in use.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "credentials.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(dynamo_atomic_backend_stats);

Datum
dynamo_atomic_backend_stats(PG_FUNCTION_ARGS)
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

PG_FUNCTION_INFO_V1(dynamo_credentials_info);

/* Where the credentials come from; never the secret.  Superusers only (see SQL). */
Datum
dynamo_credentials_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {0};
	AwsCredentials creds;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	aws_credentials_get(&creds);
	values[0] = CStringGetTextDatum(creds.source);
	values[1] = CStringGetTextDatum(creds.access_key_id);
	if (creds.expiration == 0)
		nulls[2] = true;
	else
		values[2] = TimestampTzGetDatum(creds.expiration);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
