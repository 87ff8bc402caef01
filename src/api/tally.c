/*
 * tally.c - sharded tallies: dynamo_tally_add and dynamo_tally_read.
 *
 * A count nobody needs one value of (page views, events per user per
 * day) spread over N shard items, so that it is not capped by one item's
 * write limit (about 1,000 writes a second on a partition): each add is one
 * UpdateItem ADD on a shard chosen at random, and a read sums every shard
 * in BatchGetItem requests.
 *
 * Items, in the counter table (key_attribute, count_attribute as for
 * dynamo_increment): shard i of tally T is "T#i"; "T#shards" holds the
 * largest N any add used ("shards"), so that a read with a smaller N still
 * reads every shard ever written: lowering N loses no count.  Each process
 * writes that header once per tally and N (a conditional SET, raising it
 * only), before its first add.
 *
 * Lost answers: an add is an unbounded ADD, as dynamo_increment is: not
 * resent (40003, the count unknown) unless
 * dynamo_atomic.retry_unknown_writes allows it to be counted twice.
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "args.h"
#include "counter.h"
#include "ddb.h"
#include "extension_version.h"
#include "global_tables.h"
#include "item_batch.h"
#include "settings.h"

#define MAX_SHARDS 1000
#define HEADER_SUFFIX "#shards"
#define HEADER_ATTRIBUTE "shards"
/*
 * Headers this process has written (where, tally, N), and when: written
 * again after HEADER_RECHECK_S (the header may have expired or been
 * deleted since), and all forgotten beyond MAX_KNOWN_HEADERS.  The header
 * item then takes at most one write per process and minute.
 */
#define MAX_KNOWN_HEADERS 1024
#define HEADER_RECHECK_S 60

typedef struct KnownHeader
{
	char	   *key;
	time_t		written_at;
} KnownHeader;

static List *known_headers = NIL;

static int
shards_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		n;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("shards must not be NULL")));
	n = PG_GETARG_INT32(argno);

	if (n < 1 || n > MAX_SHARDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shards must be between 1 and %d", MAX_SHARDS)));
	return (int) n;
}

/* ref, naming item suffix of its tally (the tally's id is kept in tally_id). */
static CounterRef
item_ref(const CounterRef *tally, const char *suffix, const char *display_suffix)
{
	CounterRef	ref = *tally;

	ref.id = psprintf("%s%s", tally->id, suffix);
	ref.id_display = psprintf("%s (%s)", tally->id_display, display_suffix);
	ref.unknown_hint = "Read the tally with dynamo_tally_read() to find out, if nothing else adds to it meanwhile. "
		"Where a count twice does no harm, dynamo_atomic.retry_unknown_writes = on resends instead.";
	return ref;
}

/* Raises the header's shard count to n (never lowers it), once per process. */
static void
record_shards(const CounterRef *tally, int n, int64 ttl_epoch)
{
	/* where too: another endpoint or region has another item of that name */
	char	   *known = psprintf("%s|%s|%s|%s|%s|%d", dynamo_endpoint ? dynamo_endpoint : "",
								 dynamo_region ? dynamo_region : "", tally->table, tally->key_attribute,
								 tally->id, n);
	time_t		now = time(NULL);
	CounterRef	header = item_ref(tally, HEADER_SUFFIX, "its shard count");
	cJSON	   *req;
	cJSON	   *values;
	DdbCall		call = {0};
	DdbResult	res;
	char		digits[32];
	ListCell   *lc;
	MemoryContext old;
	KnownHeader *known_entry = NULL;

	foreach(lc, known_headers)
	{
		KnownHeader *k = lfirst(lc);

		if (strcmp(k->key, known) == 0)
		{
			if (now - k->written_at < HEADER_RECHECK_S)
				return;
			known_entry = k;	/* written again below, and its time updated in place */
			break;
		}
	}

	req = counter_request(&header);
	/* the header has no count: only its shard count (DynamoDB refuses an unused name) */
	cJSON_DeleteItemFromObjectCaseSensitive((cJSON *) json_get(req, "ExpressionAttributeNames"), "#v");
	json_add_string((cJSON *) json_get(req, "ExpressionAttributeNames"), "#s", HEADER_ATTRIBUTE);
	/* with a ttl: twice the tally's, from its first add, never moved (it outlives shards added within one ttl) */
	json_add_string(req, "UpdateExpression", ttl_epoch ? "SET #s = :n, #ttl = if_not_exists(#ttl, :ttl)" : "SET #s = :n");
	json_add_string(req, "ConditionExpression", "attribute_not_exists(#s) OR #s < :n");
	values = json_add_object(req, "ExpressionAttributeValues");
	snprintf(digits, sizeof(digits), "%d", n);
	ddb_add_number_value(values, ":n", digits);
	if (ttl_epoch)
	{
		snprintf(digits, sizeof(digits), INT64_FORMAT, ttl_epoch + (ttl_epoch - (int64) now));
		ddb_add_number_value(values, ":ttl", digits);
		json_add_string((cJSON *) json_get(req, "ExpressionAttributeNames"), "#ttl", "ttl");
	}
	call.operation = "UpdateItem";
	call.request = req;
	call.what = psprintf("the shard count of tally \"%s\"", tally->id_display);
	call.resend_safe = true;	/* raising it to n twice is raising it once */
	call.tolerated_error = "ConditionalCheckFailedException";	/* already n or more */
	ddb_execute(&call, &res);

	if (known_entry)
	{
		known_entry->written_at = now;
		return;
	}
	if (list_length(known_headers) >= MAX_KNOWN_HEADERS)
	{
		foreach(lc, known_headers)
			pfree(((KnownHeader *) lfirst(lc))->key);
		list_free_deep(known_headers);
		known_headers = NIL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	{
		KnownHeader *k = palloc(sizeof(KnownHeader));

		k->key = pstrdup(known);
		k->written_at = now;
		known_headers = lappend(known_headers, k);
	}
	MemoryContextSwitchTo(old);
}

DYNAMO_SQL_FUNCTION(dynamo_tally_add);

/* dynamo_tally_add(tally_id, increment, shards, table_name, key_attribute, count_attribute, ttl) */
static Datum
dynamo_tally_add_checked(PG_FUNCTION_ARGS)
{
	int64		increment = arg_required_int64(fcinfo, 1, "increment");
	int			shards = shards_arg(fcinfo, 2);
	int64		ttl_epoch = arg_ttl_epoch(fcinfo, 6);
	CounterRef	tally;
	CounterRef	shard;
	int			i;

	counter_ref_from_args(fcinfo, 0, 3, 4, 5, &tally);
	{
		const char *const reserved[] = {HEADER_ATTRIBUTE, "ttl"};

		for (int r = 0; r < lengthof(reserved); r++)
			if (strcmp(tally.count_attribute, reserved[r]) == 0 || strcmp(tally.key_attribute, reserved[r]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a tally cannot keep its count or key in attribute \"%s\"", reserved[r]),
						 errdetail("A tally's items use \"%s\" (its shard count) and \"ttl\".", HEADER_ATTRIBUTE)));
	}
	if (increment == 0)
		PG_RETURN_VOID();
	global_tables_check(tally.table, tally.endpoint_url, tally.region, GUARDED_COUNTER);
	record_shards(&tally, shards, ttl_epoch);
	i = (int) pg_prng_uint64_range(&pg_global_prng_state, 0, shards - 1);
	shard = item_ref(&tally, psprintf("#%d", i), psprintf("shard %d", i));
	(void) counter_add(&shard, increment, false, 0, false, 0, dynamo_retry_unknown_writes, ttl_epoch);
	PG_RETURN_VOID();
}

typedef struct TallySum
{
	const CounterRef *tally;
	int128		sum;
	int			header_shards;	/* from the header item: 0 when none */
	int			header_index;	/* the header's position among the keys read */
} TallySum;

static int64
number_of(const CounterRef *tally, const cJSON *attribute, const char *what)
{
	const char *digits = json_get_string(attribute, "N");
	char	   *end = NULL;
	long long	v;
	bool		out_of_range;

	if (attribute == NULL)
		return 0;
	errno = 0;
	v = digits ? strtoll(digits, &end, 10) : 0;
	out_of_range = digits != NULL && errno == ERANGE;
	if (digits == NULL || *end != '\0' || out_of_range)
		ereport(ERROR,
				(errcode(out_of_range ? ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE : ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s of tally \"%s\" is not a bigint number", what, tally->id_display)));
	return (int64) v;
}

static void
add_found(void *arg, int i, const cJSON *item)
{
	TallySum   *s = arg;

	if (i == s->header_index)
	{
		int64		n = number_of(s->tally, json_get(item, HEADER_ATTRIBUTE), "the shard count");

		s->header_shards = (int) Min(Max(n, 0), MAX_SHARDS);
		return;
	}
	s->sum += number_of(s->tally, json_get(item, s->tally->count_attribute), "a shard's count");
}

/* Reads shards [from, to) of tally (and its header when with_header) into s. */
static void
read_shards(const CounterRef *tally, int from, int to, bool with_header, TallySum *s)
{
	int			n = to - from + (with_header ? 1 : 0);
	cJSON	  **keys = palloc(sizeof(cJSON *) * Max(n, 1));
	int			k = 0;

	for (int i = from; i < to; i++)
	{
		CounterRef	shard = item_ref(tally, psprintf("#%d", i), "");

		keys[k++] = (cJSON *) json_get(counter_request(&shard), "Key");
	}
	s->header_index = -1;
	if (with_header)
	{
		CounterRef	header = item_ref(tally, HEADER_SUFFIX, "");

		s->header_index = k;
		keys[k++] = (cJSON *) json_get(counter_request(&header), "Key");
	}
	if (k > 0)
		item_batch_get(tally->table, keys, k, true, NULL, add_found, s);
}

DYNAMO_SQL_FUNCTION(dynamo_tally_read);

/* dynamo_tally_read(tally_id, shards, table_name, key_attribute, count_attribute) -> the sum */
static Datum
dynamo_tally_read_checked(PG_FUNCTION_ARGS)
{
	int			shards = shards_arg(fcinfo, 1);
	CounterRef	tally;
	TallySum	s = {0};

	counter_ref_from_args(fcinfo, 0, 2, 3, 4, &tally);
	s.tally = &tally;
	read_shards(&tally, 0, shards, true, &s);
	/* an add with more shards than this read's: those too */
	if (s.header_shards > shards)
		read_shards(&tally, shards, s.header_shards, false, &s);
	if (s.sum > PG_INT64_MAX || s.sum < PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the sum of tally \"%s\" is out of range for type bigint", tally.id_display)));
	PG_RETURN_INT64((int64) s.sum);
}
