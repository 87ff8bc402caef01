/*
 * op_stats.h - requests, retries, throttles, errors and latency per
 * DynamoDB operation, for the dynamo_atomic_stats view.
 *
 * Cluster-wide in shared memory when preloaded (atomic counters: no lock
 * on the request path), this backend's otherwise.  One more row,
 * "nextval", counts IDs served (calls) and blocks fetched (requests), so
 * round trips per call read the same way for every row.
 */
#ifndef DYNAMO_ATOMIC_OP_STATS_H
#define DYNAMO_ATOMIC_OP_STATS_H

#include "storage/lwlock.h"

typedef enum OpStatField
{
	OP_CALLS,
	OP_REQUESTS,
	OP_RETRIES,
	OP_THROTTLES,
	OP_ERRORS,
	OP_TOTAL_US,
	OP_MAX_US,
	OP_N_FIELDS
} OpStatField;

/*
 * Throttles by the reason DynamoDB gave: the 16 of its ThrottlingReasons
 * (Table|Index, Read|Write, and the limit), "unstated" when none was given
 * (DynamoDB before 2025, DynamoDB Local), "other" for one not listed here.
 */
#define OP_N_REASONS 18

typedef struct OpStatsRow
{
	const char *operation;
	uint64		values[OP_N_FIELDS];
	uint64		reasons[OP_N_REASONS];
} OpStatsRow;

/* The name of reason i, 0 <= i < OP_N_REASONS. */
extern const char *op_stats_reason_name(int i);

/* One throttled answer of this row's operation, for reason (NULL: none given). */
extern void op_stats_add_throttle_reason(int row, const char *reason);

extern Size op_stats_shmem_size(void);
extern void op_stats_shmem_init(void *base, bool found, LWLock *lock);

/* The row of an operation ("other" for one not listed). */
extern int	op_stats_row(const char *operation);
extern int	op_stats_nextval_row(void);
/* dynamo_increment: calls are increments, requests the UpdateItems sent for them (combined: fewer). */
extern int	op_stats_increment_row(void);
extern void op_stats_add(int row, OpStatField field, uint64 delta);
/* A finished call's wall time: adds to the total, raises the max. */
extern void op_stats_latency(int row, uint64 microseconds);

/* Every row, counted or not; palloc'd. */
extern int	op_stats_snapshot(OpStatsRow **rows);
extern void op_stats_reset(void);

#endif
