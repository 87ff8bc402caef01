/*
 * table_replication.c - global tables found out with DescribeTable, kept
 * for dynamo_atomic.table_recheck_interval (see table_replication.h).
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "ddb.h"
#include "endpoint.h"
#include "settings.h"
#include "table_replication.h"

#define N_ENTRIES 256
#define KEY_SIZE 1200			/* endpoint, region, identity and table, length-prefixed */
/* A description again that failed: the previous answer holds this much longer (at most the interval). */
#define RETRY_AFTER_FAILURE_S 10
/* A description again is bounded so: a call waits no longer than this for it. */
#define REDESCRIBE_DEADLINE_MS 2000
/* A backend's last answer is used again for at most this long before the shared cache is asked. */
#define LAST_ANSWER_RECALL_MS 1000

typedef struct Entry
{
	bool		used;
	uint32		hash;
	/* When the answer was asked for: it holds for the interval (0: described again at the next use). */
	TimestampTz learned_at;
	/*
	 * When DynamoDB last gave it: should describing again fail, an answer
	 * up to twice the interval old still holds, an older one does not.
	 */
	TimestampTz described_at;
	/* A backend is describing the table again until then; the others keep the answer. */
	TimestampTz refreshing_until;
	TimestampTz last_used;		/* for eviction: the least recently used goes */
	TableReplication replication;
	char		key[KEY_SIZE];
} Entry;

typedef struct Shared
{
	LWLock	   *lock;
	pg_atomic_uint64 epoch;		/* moves at every forget */
	Entry		entries[N_ENTRIES];
} Shared;

static Shared *shared = NULL;
static Shared *local = NULL;	/* without preloading: this backend's own */

Size
table_replication_shmem_size(void)
{
	return sizeof(Shared);
}

void
table_replication_shmem_init(void *base, bool found, LWLock *lock)
{
	shared = base;
	if (found)
		return;
	memset(shared, 0, sizeof(Shared));
	shared->lock = lock;
	pg_atomic_init_u64(&shared->epoch, 0);
}

static Shared *
cache(void)
{
	if (shared)
		return shared;
	if (local == NULL)
	{
		local = MemoryContextAllocZero(TopMemoryContext, sizeof(Shared));
		pg_atomic_init_u64(&local->epoch, 0);
	}
	return local;
}

static void
cache_lock(LWLockMode mode)
{
	if (shared)
		LWLockAcquire(shared->lock, mode);
}

static void
cache_unlock(void)
{
	if (shared)
		LWLockRelease(shared->lock);
}

/*
 * Everything that selects the table DynamoDB means: where (endpoint,
 * region), as whom (two accounts have two tables of one name), which.
 * NULL when too long to keep (then described on every use).
 */
static char *
cache_key(const char *table, const DdbEndpoint *ep)
{
	char		identity[65];
	const char *const fields[] = {ep->url, ep->region, identity, table};
	StringInfoData key;

	settings_credentials_digest(identity);
	initStringInfo(&key);
	for (int i = 0; i < lengthof(fields); i++)
		appendStringInfo(&key, "%zu:%s", strlen(fields[i]), fields[i]);
	return key.len < KEY_SIZE ? key.data : NULL;
}

static Entry *
find(Shared *c, const char *key, uint32 hash)
{
	for (int i = 0; i < N_ENTRIES; i++)
		if (c->entries[i].used && c->entries[i].hash == hash && strcmp(c->entries[i].key, key) == 0)
			return &c->entries[i];
	return NULL;
}

/*
 * Stores an answer asked for at learned_at (given by DynamoDB at
 * described_at, 0: not given, keep the last), unless a newer one is there
 * or the table was forgotten since the caller's epoch.
 */
static void
store(const char *key, const TableReplication *r, TimestampTz learned_at, TimestampTz described_at,
	  uint64 epoch)
{
	Shared	   *c = cache();
	uint32		hash = hash_bytes((const unsigned char *) key, strlen(key));
	Entry	   *e;

	cache_lock(LW_EXCLUSIVE);
	if (pg_atomic_read_u64(&c->epoch) != epoch)
	{
		cache_unlock();			/* it may predate what made it be forgotten */
		return;
	}
	e = find(c, key, hash);
	if (e && e->learned_at > learned_at)
	{
		cache_unlock();			/* another backend's newer answer */
		return;
	}
	/* A new table takes a free entry, else the least recently used one. */
	if (e == NULL)
	{
		e = &c->entries[0];
		for (int i = 0; i < N_ENTRIES && e->used; i++)
			if (!c->entries[i].used || c->entries[i].last_used < e->last_used)
				e = &c->entries[i];
		e->described_at = 0;
	}
	e->used = true;
	e->hash = hash;
	e->learned_at = learned_at;
	if (described_at != 0)
		e->described_at = described_at;
	e->refreshing_until = 0;
	e->last_used = learned_at;
	e->replication = *r;
	strlcpy(e->key, key, KEY_SIZE);
	cache_unlock();
}

typedef struct Cached
{
	TableReplication replication;
	TimestampTz learned_at;
	TimestampTz described_at;
	bool		others_refresh;	/* another backend is describing it again */
} Cached;

/*
 * This backend's last answer, for the next call while it holds.  A hot
 * counter asks for the same table on every call: the shared cache's key,
 * its hash and its exclusive lock (which 8 backends would take in turn)
 * are then spent once per interval, not once per call.  Good while it is
 * the same table, endpoint, region and settings (their generation: the
 * identity too), nothing was forgotten anywhere (the epoch), the interval
 * is unchanged and the answer's own time has not run out: what the
 * shared cache would have said.  For a second at most: the shared entry
 * then stays recently used (eviction takes the least recently used), and
 * an entry evicted and forgotten (whose forgetting moves no epoch) is
 * described again a second later at the latest.
 */
static struct
{
	bool		valid;
	char		table[256];
	char		endpoint[512];
	char		region[65];
	uint64		generation;
	uint64		epoch;
	int			recheck_s;
	TimestampTz until;			/* the answer's own validity, handed on */
	TimestampTz recall_until;	/* ...and this memo's, at most a second: the shared entry stays recently used */
	TableReplication replication;
}			last_answer;

static bool
recall_last_answer(const char *table, const DdbEndpoint *ep, TimestampTz now, uint64 epoch,
				   TableReplication *out, TimestampTz *valid_until)
{
	if (!last_answer.valid || now >= last_answer.recall_until || last_answer.epoch != epoch ||
		last_answer.generation != settings_target_generation() ||
		last_answer.recheck_s != dynamo_table_recheck_s ||
		strcmp(last_answer.table, table) != 0 || strcmp(last_answer.endpoint, ep->url) != 0 ||
		strcmp(last_answer.region, ep->region) != 0)
		return false;
	*out = last_answer.replication;
	if (valid_until)
		*valid_until = last_answer.until;
	return true;
}

static void
keep_last_answer(const char *table, const DdbEndpoint *ep, uint64 epoch, const TableReplication *r,
				 TimestampTz until)
{
	last_answer.valid = false;
	if (strlen(table) >= sizeof(last_answer.table) || strlen(ep->url) >= sizeof(last_answer.endpoint) ||
		strlen(ep->region) >= sizeof(last_answer.region))
		return;
	strlcpy(last_answer.table, table, sizeof(last_answer.table));
	strlcpy(last_answer.endpoint, ep->url, sizeof(last_answer.endpoint));
	strlcpy(last_answer.region, ep->region, sizeof(last_answer.region));
	last_answer.generation = settings_target_generation();
	last_answer.epoch = epoch;
	last_answer.recheck_s = dynamo_table_recheck_s;
	last_answer.until = until;
	last_answer.recall_until = Min(until, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), LAST_ANSWER_RECALL_MS));
	last_answer.replication = *r;
	last_answer.valid = true;
}

/*
 * The cached answer; false when there is none.  An answer past its
 * interval that no other backend is describing again is claimed for this
 * one to describe (the others keep using it meanwhile).
 */
static bool
lookup(const char *key, Cached *out, TimestampTz now, TimestampTz interval)
{
	Shared	   *c = cache();
	uint32		hash = hash_bytes((const unsigned char *) key, strlen(key));
	Entry	   *e;

	cache_lock(LW_EXCLUSIVE);	/* held for a few instructions; the hit path writes last_used */
	e = find(c, key, hash);
	if (e)
	{
		out->replication = e->replication;
		out->learned_at = e->learned_at;
		out->described_at = e->described_at;
		out->others_refresh = e->refreshing_until > now;
		e->last_used = now;
		if (now - e->learned_at >= interval && !out->others_refresh)
			e->refreshing_until = TimestampTzPlusMilliseconds(now, REDESCRIBE_DEADLINE_MS + 1000);
	}
	cache_unlock();
	return e != NULL;
}

static void
append_region(StringInfo list, const char *region)
{
	if (region == NULL || region[0] == '\0' || strlen(region) > 64)
		return;
	/* Listed once, whether or not DynamoDB lists the region it answers from. */
	if (strstr(psprintf(", %s, ", list->data), psprintf(", %s, ", region)) != NULL)
		return;
	appendStringInfo(list, "%s%s", list->len > 0 ? ", " : "", region);
}

static void
set_replicas(TableReplication *out, const StringInfo list)
{
	/* Cut at a region's end, should a table have very many. */
	if (list->len >= TABLE_REPLICAS_SIZE)
	{
		char	   *cut = list->data + TABLE_REPLICAS_SIZE - 8;

		while (cut > list->data && *cut != ',')
			cut--;
		list->len = cut - list->data;
		list->data[list->len] = '\0';
		appendStringInfoString(list, ", ...");
	}
	strlcpy(out->replicas, list->data, TABLE_REPLICAS_SIZE);
}

/* The refusal that keeps a table's replication from this identity. */
static void
set_refused(TableReplication *out, const DdbFailure *f)
{
	out->mode = TABLE_MODE_UNKNOWN;
	snprintf(out->replicas, TABLE_REPLICAS_SIZE, "%s was refused (%s)", f->operation,
			 f->aws_type ? f->aws_type : "no permission");
}

static bool
is_access_denied(const DdbFailure *f)
{
	return f->aws_type && strcmp(f->aws_type, "AccessDeniedException") == 0;
}

/*
 * A 2017.11.29 global table shows no replicas in DescribeTable; it needs a
 * stream of new and old images, so only a table with one is asked.
 */
static bool
may_be_legacy_global(const cJSON *desc)
{
	const cJSON *stream = json_get(desc, "StreamSpecification");
	const char *view = json_get_string(stream, "StreamViewType");

	return cJSON_IsTrue(json_get(stream, "StreamEnabled")) && view && strcmp(view, "NEW_AND_OLD_IMAGES") == 0;
}

/*
 * One request: best_effort, else a failure other than those tolerated
 * raises.  Returns the answer, or NULL with *failure set.
 */
static const cJSON *
send_read(const char *operation, const char *name_field, const char *table, const DdbEndpoint *ep,
		  bool best_effort, const char *tolerated, DdbFailure **failure)
{
	/* Again, with the answer in hand for now: bounded, whatever the timeouts set. */
	TimestampTz deadline = best_effort ?
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), REDESCRIBE_DEADLINE_MS) : 0;
	DdbCall		call = {0};
	DdbResult	res;
	cJSON	   *req = json_new_object();

	json_add_string(req, name_field, table);
	call.operation = operation;
	call.request = req;
	call.endpoint_url = ep->url;
	call.region = ep->region;
	call.best_effort = best_effort;
	call.tolerated_error = tolerated;
	call.deadline = deadline;
	ddb_execute(&call, &res);
	*failure = res.tolerated;
	return res.response;
}

/*
 * Describes the table into *out.  Returns false when a description again
 * (best_effort) failed; a first one raises instead, but for AccessDenied.
 */
static bool
describe(const char *table, const DdbEndpoint *ep, bool best_effort, TableReplication *out)
{
	DdbFailure *failure;
	const cJSON *answer;
	const cJSON *desc;
	const cJSON *replicas;
	const cJSON *r;
	StringInfoData list;

	memset(out, 0, sizeof(*out));
	answer = send_read("DescribeTable", "TableName", table, ep, best_effort, "AccessDeniedException", &failure);
	if (answer == NULL)
	{
		if (!is_access_denied(failure))
			return false;
		set_refused(out, failure);
		return true;
	}
	desc = json_get(answer, "Table");
	replicas = json_get(desc, "Replicas");
	/* An answer not understood is no answer: nothing is written on a guess. */
	if (!cJSON_IsObject(desc) || json_get_string(desc, "TableName") == NULL ||
		(replicas != NULL && !cJSON_IsArray(replicas)))
	{
		if (best_effort)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("DynamoDB's DescribeTable answer for table \"%s\" could not be understood", table),
				 errdetail("It has no Table with a TableName, or its Replicas is not a list: whether the "
						   "table is a global table is unknown.")));
	}
	(void) key_schema_from_description(desc, &out->key);
	initStringInfo(&list);
	if (cJSON_IsArray(replicas) && cJSON_GetArraySize(replicas) > 0)
	{
		const char *consistency = json_get_string(desc, "MultiRegionConsistency");

		/* Absent, DynamoDB says, means EVENTUAL. */
		out->mode = consistency && strcmp(consistency, "STRONG") == 0 ? TABLE_MRSC : TABLE_MREC;
		append_region(&list, ep->region);
		cJSON_ArrayForEach(r, replicas)
			append_region(&list, json_get_string(r, "RegionName"));
		cJSON_ArrayForEach(r, json_get(desc, "GlobalTableWitnesses"))
			if (json_get_string(r, "RegionName"))
			appendStringInfo(&list, " (witness: %s)", json_get_string(r, "RegionName"));
		set_replicas(out, &list);
		return true;
	}
	out->mode = TABLE_SINGLE_REGION;
	if (!may_be_legacy_global(desc))
		return true;
	/* Not found: a table of its own; an endpoint without the call has no such tables. */
	answer = send_read("DescribeGlobalTable", "GlobalTableName", table, ep, best_effort,
					   "GlobalTableNotFoundException,UnknownOperationException,AccessDeniedException", &failure);
	if (answer == NULL)
	{
		if (is_access_denied(failure))
			set_refused(out, failure);
		else if (failure->aws_type == NULL || (strcmp(failure->aws_type, "GlobalTableNotFoundException") != 0 &&
											   strcmp(failure->aws_type, "UnknownOperationException") != 0))
			return false;		/* a description again that failed */
		return true;
	}
	out->mode = TABLE_MREC;		/* 2017.11.29 global tables: last writer wins */
	append_region(&list, ep->region);
	cJSON_ArrayForEach(r, json_get(json_get(answer, "GlobalTableDescription"), "ReplicationGroup"))
		append_region(&list, json_get_string(r, "RegionName"));
	appendStringInfoString(&list, " (version 2017.11.29)");
	set_replicas(out, &list);
	return true;
}

void
table_replication_get(const char *table, const char *endpoint_url, const char *region, TableReplication *out,
					  TimestampTz *valid_until)
{
	DdbEndpoint ep;
	char	   *key;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz interval = (TimestampTz) dynamo_table_recheck_s * USECS_PER_SEC;
	TimestampTz until;
	uint64		epoch = table_replication_epoch();
	Cached		cached;

	ddb_endpoint_resolve(&ep, endpoint_url, region);
	if (recall_last_answer(table, &ep, now, epoch, out, valid_until))
		return;
	key = cache_key(table, &ep);
	if (key == NULL)
	{
		(void) describe(table, &ep, false, out);
		until = now;			/* good for this call only */
	}
	else if (!lookup(key, &cached, now, interval) || now - cached.described_at >= 2 * interval)
	{
		/* Never described, or not for too long: DynamoDB must answer now, or the call fails. */
		(void) describe(table, &ep, false, out);
		store(key, out, now, now, epoch);
		until = now + interval;
	}
	else if (now - cached.learned_at < interval || cached.others_refresh)
	{
		*out = cached.replication;
		until = cached.others_refresh ? now : cached.learned_at + interval;
	}
	else if (describe(table, &ep, true, out))
	{
		store(key, out, now, now, epoch);
		until = now + interval;
	}
	else
	{
		/* Described again and failed: the previous answer holds a little longer. */
		*out = cached.replication;
		until = now + Min((TimestampTz) RETRY_AFTER_FAILURE_S * USECS_PER_SEC, interval);
		store(key, out, until - interval, 0, epoch);
	}
	if (valid_until)
		*valid_until = until;
	keep_last_answer(table, &ep, epoch, out, until);
}

uint64
table_replication_epoch(void)
{
	return pg_atomic_read_u64(&cache()->epoch);
}

void
table_replication_forget(const char *table, const char *endpoint_url, const char *region, bool always)
{
	DdbEndpoint ep;
	char	   *key;
	Shared	   *c = cache();
	Entry	   *e;
	TimestampTz now = GetCurrentTimestamp();

	ddb_endpoint_resolve(&ep, endpoint_url, region);
	key = cache_key(table, &ep);
	if (key == NULL)
		return;
	cache_lock(LW_EXCLUSIVE);
	e = find(c, key, hash_bytes((const unsigned char *) key, strlen(key)));
	/*
	 * Stale, not gone: should describing it again fail, the answer holds a
	 * while.  An error any caller can provoke forgets a table at most once
	 * per RETRY_AFTER_FAILURE_S (or interval), so that it cannot make every
	 * call describe.
	 */
	if (e && (always || now - e->described_at >= Min((TimestampTz) RETRY_AFTER_FAILURE_S * USECS_PER_SEC,
													  (TimestampTz) dynamo_table_recheck_s * USECS_PER_SEC)))
	{
		e->learned_at = 0;
		pg_atomic_fetch_add_u64(&c->epoch, 1);
	}
	cache_unlock();
}

bool
table_replication_error_suggests_change(const char *operation, const char *aws_type)
{
	if (aws_type == NULL)
		return false;
	/* Deleted, and perhaps made again as another kind of table. */
	if (strcmp(aws_type, "ResourceNotFoundException") == 0)
		return true;
	/* Only an MRSC item is written "in another Region". */
	if (strcmp(aws_type, "ReplicatedWriteConflictException") == 0)
		return true;
	/* MRSC tables refuse transactions; DynamoDB does not document with which error. */
	return strcmp(operation, "TransactWriteItems") == 0 && strcmp(aws_type, "ValidationException") == 0;
}
