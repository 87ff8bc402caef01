/*
 * args.c - argument checks shared by the SQL-callable functions (args.h).
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "access/htup_details.h"
#include "executor/executor.h"
#include <math.h>

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "args.h"
#include "ddb_error.h"
#include "lock_session.h"
#include "settings.h"
#include "text_encoding.h"
#include "extension_version.h"

static void
require_not_null(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

char *
arg_display(FunctionCallInfo fcinfo, int argno)
{
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static char *
to_utf8(const char *s, const char *what)
{
	return text_to_utf8(s, strlen(s), what);
}

/* The setting that names each kind's default table, and the function that creates one. */
static const struct
{
	char	  **value;
	const char *setting;
	const char *creator;
}			table_kinds[] = {
	[TABLE_FOR_COUNTERS] = {&dynamo_counter_table, "dynamo_atomic.counter_table", "dynamo_create_counter_table"},
	[TABLE_FOR_LOCKS] = {&dynamo_lock_table, "dynamo_atomic.lock_table", "dynamo_create_lock_table"},
	[TABLE_FOR_ITEMS] = {&dynamo_item_table, "dynamo_atomic.item_table", "dynamo_create_item_table"},
	[TABLE_FOR_ANYTHING] = {NULL, NULL, NULL},
};

void
require_valid_table_name(const char *name)
{
	if (!table_name_is_valid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid DynamoDB table name \"%s\"", name),
				 errdetail("Table names have 3 to 255 characters: letters, digits, '_', '-' and '.'.")));
}

char *
arg_table_name(FunctionCallInfo fcinfo, int argno, TableKind kind)
{
	const char *setting = table_kinds[kind].setting;
	char	   *name;

	/* Every function that names a table says first if a lock of the session's was lost. */
	extension_version_check();
	lock_session_check_lost();
	if (PG_ARGISNULL(argno))
	{
		if (setting == NULL)
			require_not_null(fcinfo, argno, "table_name");
		name = pstrdup(*table_kinds[kind].value);
	}
	else
	{
		name = arg_display(fcinfo, argno);
		setting = NULL;
	}
	require_valid_table_name(name);
	/* For the hint of a "does not exist" error: who creates it, where the name came from. */
	ddb_note_table_origin(name, table_kinds[kind].creator, setting);
	return name;
}

char *
arg_attribute_name(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *utf8;

	require_not_null(fcinfo, argno, what);
	utf8 = to_utf8(arg_display(fcinfo, argno), what);
	if (utf8[0] == '\0' || strlen(utf8) > DDB_MAX_ATTRIBUTE_NAME_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have 1 to %d bytes", what, DDB_MAX_ATTRIBUTE_NAME_BYTES)));
	return utf8;
}

char *
arg_key_value(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *utf8;
	size_t		len;

	require_not_null(fcinfo, argno, what);
	utf8 = to_utf8(arg_display(fcinfo, argno), what);
	len = strlen(utf8);
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (len > DDB_MAX_PARTITION_KEY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is %zu bytes long, more than DynamoDB's limit of %d bytes for a key",
						what, len, DDB_MAX_PARTITION_KEY_BYTES)));
	return utf8;
}

/* One field of a dynamo_key, checked like a key value. */
static char *
key_field(HeapTupleHeader key, int attno, const char *what, int max_bytes, char **display)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(key, attno, &isnull);
	char	   *utf8;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the dynamo_key's %s must not be NULL", what)));
	*display = TextDatumGetCString(d);
	utf8 = to_utf8(*display, what);
	if (utf8[0] == '\0' || strlen(utf8) > max_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the dynamo_key's %s must have 1 to %d bytes, not %zu", what, max_bytes, strlen(utf8))));
	return utf8;
}

void
arg_single_table_key(FunctionCallInfo fcinfo, int argno, char **pk, char **sk, char **display)
{
	HeapTupleHeader key;
	char	   *pk_display;
	char	   *sk_display;

	require_not_null(fcinfo, argno, "key");
	key = PG_GETARG_HEAPTUPLEHEADER(argno);
	*pk = key_field(key, 1, "partition_key", DDB_MAX_PARTITION_KEY_BYTES, &pk_display);
	*sk = key_field(key, 2, "sort_key", DDB_MAX_SORT_KEY_BYTES, &sk_display);
	*display = psprintf("(%s, %s)", pk_display, sk_display);
}

int64
arg_required_int64(FunctionCallInfo fcinfo, int argno, const char *what)
{
	require_not_null(fcinfo, argno, what);
	return PG_GETARG_INT64(argno);
}

int64
arg_ttl_epoch(FunctionCallInfo fcinfo, int argno)
{
	Interval   *ttl;
	double		seconds;

	if (PG_ARGISNULL(argno))
		return 0;
	ttl = PG_GETARG_INTERVAL_P(argno);
	/* a month as PostgreSQL's epoch of an interval counts it: a twelfth of 365.25 days */
	seconds = (double) ttl->time / USECS_PER_SEC + (double) ttl->day * SECS_PER_DAY +
		(double) ttl->month * (DAYS_PER_YEAR * SECS_PER_DAY / MONTHS_PER_YEAR);
	if (!(seconds >= 1 && seconds <= 100 * DAYS_PER_YEAR * SECS_PER_DAY))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be at least 1 second and at most 100 years"),
				 errdetail("It is how long after its creating write an item is removed (DynamoDB's TTL).")));
	return (int64) time(NULL) + (int64) ceil(seconds);
}

bool
arg_required_bool(FunctionCallInfo fcinfo, int argno, const char *what)
{
	require_not_null(fcinfo, argno, what);
	return PG_GETARG_BOOL(argno);
}
