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

#define N_ENTRIES 64
#define KEY_SIZE 1200			/* endpoint, region, identity and table, length-prefixed */
/* A description again that failed: the previous answer holds this much longer (at most the interval). */
#define RETRY_AFTER_FAILURE_S 10

typedef struct Entry
{
	bool		used;
	uint32		hash;
	TimestampTz learned_at;
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

static void
store(const char *key, const TableReplication *r, TimestampTz learned_at)
{
	Shared	   *c = cache();
	uint32		hash = hash_bytes((const unsigned char *) key, strlen(key));
	Entry	   *e;

	cache_lock(LW_EXCLUSIVE);
	e = find(c, key, hash);
	/* A new table takes a free entry, else the one learned longest ago. */
	for (int i = 0; e == NULL && i < N_ENTRIES; i++)
		if (!c->entries[i].used)
			e = &c->entries[i];
	for (int i = 0; e == NULL && i < N_ENTRIES; i++)
		if (i == 0 || c->entries[i].learned_at < e->learned_at)
			e = &c->entries[i];
	e->used = true;
	e->hash = hash;
	e->learned_at = learned_at;
	e->replication = *r;
	strlcpy(e->key, key, KEY_SIZE);
	cache_unlock();
}

/* The cached answer and when it was learned; false when there is none. */
static bool
lookup(const char *key, TableReplication *out, TimestampTz *learned_at)
{
	Shared	   *c = cache();
	uint32		hash = hash_bytes((const unsigned char *) key, strlen(key));
	Entry	   *e;

	cache_lock(LW_SHARED);
	e = find(c, key, hash);
	if (e)
	{
		*out = e->replication;
		*learned_at = e->learned_at;
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
	TimestampTz learned_at;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz interval = (TimestampTz) dynamo_table_recheck_s * USECS_PER_SEC;
	TableReplication fresh;

	ddb_endpoint_resolve(&ep, endpoint_url, region);
	key = cache_key(table, &ep);
	if (key == NULL)
	{
		(void) describe(table, &ep, false, out);
		learned_at = now - interval;	/* good for this call only */
	}
	else if (!lookup(key, out, &learned_at))
	{
		(void) describe(table, &ep, false, out);
		store(key, out, learned_at = now);
	}
	else if (now - learned_at >= interval)
	{
		/* Described again; should that fail, the previous answer holds a little longer. */
		if (describe(table, &ep, true, &fresh))
		{
			*out = fresh;
			learned_at = now;
		}
		else
			learned_at = now - interval + Min((TimestampTz) RETRY_AFTER_FAILURE_S * USECS_PER_SEC, interval);
		store(key, out, learned_at);
	}
	if (valid_until)
		*valid_until = learned_at + interval;
}

uint64
table_replication_epoch(void)
{
	return pg_atomic_read_u64(&cache()->epoch);
}

void
table_replication_forget(const char *table, const char *endpoint_url, const char *region)
{
	DdbEndpoint ep;
	char	   *key;
	Shared	   *c = cache();
	Entry	   *e;

	ddb_endpoint_resolve(&ep, endpoint_url, region);
	key = cache_key(table, &ep);
	if (key == NULL)
		return;
	cache_lock(LW_EXCLUSIVE);
	e = find(c, key, hash_bytes((const unsigned char *) key, strlen(key)));
	if (e)
		e->used = false;
	cache_unlock();
	pg_atomic_fetch_add_u64(&c->epoch, 1);
}

bool
table_replication_error_suggests_change(const char *operation, const char *aws_type)
{
	if (aws_type == NULL)
		return false;
	/* Only an MRSC item is written "in another Region". */
	if (strcmp(aws_type, "ReplicatedWriteConflictException") == 0)
		return true;
	/* MRSC tables refuse transactions; DynamoDB does not document with which error. */
	return strcmp(operation, "TransactWriteItems") == 0 && strcmp(aws_type, "ValidationException") == 0;
}
