/*
 * lock_info.c - dynamo_lock_info: who holds a lock, since when, until
 * when, its token and its payload, read without taking it (one consistent
 * GetItem; nothing is written, not even a missing item).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "args.h"
#include "endpoint.h"
#include "lock_item.h"
#include "text_encoding.h"
#include "extension_version.h"

/*
 * The stored payload as jsonb; one that is not JSON (written by another
 * client) is a WARNING and NULL, so that who holds the lock is still said.
 */
static Datum
payload_jsonb(const char *name, const char *payload, bool *isnull)
{
	MemoryContext old = CurrentMemoryContext;
	volatile Datum result = (Datum) 0;
	char	   *text;

	*isnull = false;
	/* Not JSON is a WARNING; a character the database encoding lacks stays 22P05. */
	text = text_from_utf8(payload, "the payload");
	PG_TRY();
	{
		result = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(old);
		error = CopyErrorData();
		FlushErrorState();
		ereport(WARNING,
				(errmsg("the payload of lock \"%s\" is not JSON: shown as NULL", text_display(name)),
				 errdetail("%s", error->message)));
		*isnull = true;
	}
	PG_END_TRY();
	return result;
}

DYNAMO_SQL_FUNCTION(dynamo_lock_info);

/*
 * dynamo_lock_info(lock_name, table_name) -> (held, holder, acquired_at,
 * expires_at, fencing_token, payload)
 */
static Datum
dynamo_lock_info_checked(PG_FUNCTION_ARGS)
{
	char	   *name = arg_key_value(fcinfo, 0, "lock_name");
	char	   *table = arg_table_name(fcinfo, 1, TABLE_FOR_LOCKS);
	DdbEndpoint ep;
	LockTarget	t = {0};
	LockHolder	h;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ddb_endpoint_resolve(&ep, NULL, NULL);
	t.endpoint_url = ep.url;
	t.region = ep.region;
	t.table = table;
	t.name = name;
	lock_item_read(&t, &h);

	/* Held by this server's clock: an owner whose lease has not ended. */
	values[0] = BoolGetDatum(h.exists && h.held && h.lease_until_ms > lock_now_ms());
	/* Who holds it, or held it last while its lease simply ended. */
	nulls[1] = h.holder == NULL && h.owner == NULL;
	if (!nulls[1])
		values[1] = CStringGetTextDatum(text_from_utf8(h.holder ? h.holder : h.owner, "the holder's name"));
	nulls[2] = h.acquired_at_ms == 0;
	if (!nulls[2])
		values[2] = TimestampTzGetDatum(lock_ms_to_timestamptz(h.acquired_at_ms));
	nulls[3] = !h.held;
	if (!nulls[3])
		values[3] = TimestampTzGetDatum(lock_ms_to_timestamptz(h.lease_until_ms));
	nulls[4] = !h.exists;
	if (!nulls[4])
		values[4] = Int64GetDatum(h.fencing_token);
	/* Only the acquisition's own: a server on an older version may leave an earlier one. */
	nulls[5] = h.payload == NULL || h.payload_token != h.fencing_token;
	if (!nulls[5])
		values[5] = payload_jsonb(name, h.payload, &nulls[5]);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
