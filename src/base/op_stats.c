/*
 * op_stats.c - per-operation statistics (see op_stats.h).
 */
#include "postgres.h"

#include "port/atomics.h"
#include "utils/memutils.h"

#include "op_stats.h"
#include "stats.h"

/* This backend's own counters (stats.h): kept where every floor may reach them. */
DynamoBackendStats dynamo_backend_stats;

static const char *const operations[] = {
	"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem",
	"BatchWriteItem", "TransactWriteItems", "CreateTable", "DeleteTable",
	"DescribeTable", "UpdateTimeToLive", "DescribeTimeToLive", "other", "nextval", "increment"
};

#define N_ROWS lengthof(operations)
/* The last three rows: a request of no operation above, and two rows by call rather than request. */
#define OTHER_ROW (N_ROWS - 3)
#define NEXTVAL_ROW (N_ROWS - 2)
#define INCREMENT_ROW (N_ROWS - 1)

static const char *const reasons[OP_N_REASONS] = {
	"TableReadKeyRangeThroughputExceeded", "TableWriteKeyRangeThroughputExceeded",
	"IndexReadKeyRangeThroughputExceeded", "IndexWriteKeyRangeThroughputExceeded",
	"TableReadProvisionedThroughputExceeded", "TableWriteProvisionedThroughputExceeded",
	"IndexReadProvisionedThroughputExceeded", "IndexWriteProvisionedThroughputExceeded",
	"TableReadAccountLimitExceeded", "TableWriteAccountLimitExceeded",
	"IndexReadAccountLimitExceeded", "IndexWriteAccountLimitExceeded",
	"TableReadMaxOnDemandThroughputExceeded", "TableWriteMaxOnDemandThroughputExceeded",
	"IndexReadMaxOnDemandThroughputExceeded", "IndexWriteMaxOnDemandThroughputExceeded",
	"unstated", "other"
};

#define REASON_UNSTATED (OP_N_REASONS - 2)
#define REASON_OTHER (OP_N_REASONS - 1)

typedef struct OpStatsShared
{
	pg_atomic_uint64 values[N_ROWS][OP_N_FIELDS];
	pg_atomic_uint64 reasons[N_ROWS][OP_N_REASONS];
} OpStatsShared;

static OpStatsShared *shared = NULL;
static OpStatsShared *local = NULL;

Size
op_stats_shmem_size(void)
{
	return sizeof(OpStatsShared);
}

static void
init_values(OpStatsShared *s)
{
	for (int r = 0; r < N_ROWS; r++)
	{
		for (int f = 0; f < OP_N_FIELDS; f++)
			pg_atomic_init_u64(&s->values[r][f], 0);
		for (int i = 0; i < OP_N_REASONS; i++)
			pg_atomic_init_u64(&s->reasons[r][i], 0);
	}
}

void
op_stats_shmem_init(void *base, bool found, LWLock *lock)
{
	shared = base;
	if (!found)
		init_values(shared);
}

static OpStatsShared *
stats(void)
{
	if (shared)
		return shared;
	if (local == NULL)
	{
		local = MemoryContextAlloc(TopMemoryContext, sizeof(OpStatsShared));
		init_values(local);
	}
	return local;
}

int
op_stats_row(const char *operation)
{
	for (int r = 0; r < OTHER_ROW; r++)
		if (strcmp(operations[r], operation) == 0)
			return r;
	return OTHER_ROW;
}

int
op_stats_nextval_row(void)
{
	return NEXTVAL_ROW;
}

int
op_stats_increment_row(void)
{
	return INCREMENT_ROW;
}

void
op_stats_add(int row, OpStatField field, uint64 delta)
{
	pg_atomic_fetch_add_u64(&stats()->values[row][field], delta);
}

const char *
op_stats_reason_name(int i)
{
	return reasons[i];
}

void
op_stats_add_throttle_reason(int row, const char *reason)
{
	int			i = REASON_OTHER;

	if (reason == NULL)
		i = REASON_UNSTATED;
	else
		for (int j = 0; j < REASON_UNSTATED; j++)
			if (strcmp(reasons[j], reason) == 0)
			{
				i = j;
				break;
			}
	pg_atomic_fetch_add_u64(&stats()->reasons[row][i], 1);
}

void
op_stats_latency(int row, uint64 microseconds)
{
	pg_atomic_uint64 *max = &stats()->values[row][OP_MAX_US];
	uint64		seen = pg_atomic_read_u64(max);

	pg_atomic_fetch_add_u64(&stats()->values[row][OP_TOTAL_US], microseconds);
	while (microseconds > seen && !pg_atomic_compare_exchange_u64(max, &seen, microseconds))
		;
}

int
op_stats_snapshot(OpStatsRow **rows)
{
	int			n = 0;

	*rows = palloc(N_ROWS * sizeof(OpStatsRow));
	for (int r = 0; r < N_ROWS; r++)
	{
		OpStatsRow *row = &(*rows)[n];

		row->operation = operations[r];
		for (int f = 0; f < OP_N_FIELDS; f++)
			row->values[f] = pg_atomic_read_u64(&stats()->values[r][f]);
		for (int i = 0; i < OP_N_REASONS; i++)
			row->reasons[i] = pg_atomic_read_u64(&stats()->reasons[r][i]);
		n++;
	}
	return n;
}

void
op_stats_reset(void)
{
	for (int r = 0; r < N_ROWS; r++)
	{
		for (int f = 0; f < OP_N_FIELDS; f++)
			pg_atomic_write_u64(&stats()->values[r][f], 0);
		for (int i = 0; i < OP_N_REASONS; i++)
			pg_atomic_write_u64(&stats()->reasons[r][i], 0);
	}
}
