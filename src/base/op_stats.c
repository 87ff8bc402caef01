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
	"DescribeTable", "UpdateTimeToLive", "DescribeTimeToLive", "other", "nextval"
};

#define N_ROWS lengthof(operations)

typedef struct OpStatsShared
{
	pg_atomic_uint64 values[N_ROWS][OP_N_FIELDS];
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
		for (int f = 0; f < OP_N_FIELDS; f++)
			pg_atomic_init_u64(&s->values[r][f], 0);
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
	for (int r = 0; r < N_ROWS - 2; r++)
		if (strcmp(operations[r], operation) == 0)
			return r;
	return N_ROWS - 2;			/* "other" */
}

int
op_stats_nextval_row(void)
{
	return N_ROWS - 1;
}

void
op_stats_add(int row, OpStatField field, uint64 delta)
{
	pg_atomic_fetch_add_u64(&stats()->values[row][field], delta);
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
		n++;
	}
	return n;
}

void
op_stats_reset(void)
{
	for (int r = 0; r < N_ROWS; r++)
		for (int f = 0; f < OP_N_FIELDS; f++)
			pg_atomic_write_u64(&stats()->values[r][f], 0);
}
