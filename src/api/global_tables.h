/*
 * global_tables.h - never promise what a global table's replication
 * cannot keep (README "Multiple regions").
 *
 * Before a write whose guarantee rests on DynamoDB evaluating a condition
 * or an ADD against the one current copy of an item - a counter's
 * increment, an ID block, a lock's acquire, an optimistic write - the
 * table's replication is checked (table_replication.h, cached):
 *   - a single-Region table, or an MRSC global table: written;
 *   - a table a superuser listed in dynamo_atomic.single_writer_tables (no
 *     other region writes it): written, without a DescribeTable;
 *   - an MREC global table: refused (55000);
 *   - a table this identity may not describe: refused the same way;
 *   - dynamo_set_atomic or dynamo_transact_write on an MRSC table: refused
 *     (0A000), as DynamoDB offers no transactions there.
 * The general item API's updates count as guarded (an update may add to
 * what is there), as do its writes with a condition.  Reads, plain puts
 * and deletes, and the worker's heartbeats are not checked: they promise
 * nothing a replica could break.
 */
#ifndef DYNAMO_ATOMIC_GLOBAL_TABLES_H
#define DYNAMO_ATOMIC_GLOBAL_TABLES_H

#include "datatype/timestamp.h"

typedef enum GuardedWrite
{
	GUARDED_COUNTER,			/* dynamo_increment, dynamo_set_counter */
	GUARDED_IDS,				/* dynamo_nextval, dynamo_id_trigger */
	GUARDED_LOCK,				/* taking a lock */
	GUARDED_READ_LOCK,			/* dynamo_read_lock: the version an optimistic write checks */
	GUARDED_TRANSACTION,		/* dynamo_set_atomic: TransactWriteItems */
	GUARDED_CONDITIONAL_WRITE,	/* the general item API: a write with a condition, any update */
	GUARDED_GENERAL_TRANSACTION /* dynamo_transact_write */
} GuardedWrite;

/*
 * Raises unless table's replication keeps the guarantee of kind;
 * endpoint_url and region NULL: where the settings say.
 */
extern void global_tables_check(const char *table, const char *endpoint_url, const char *region,
								GuardedWrite kind);

/*
 * The same, for a caller that keeps the verdict (an ID counter): until
 * *valid_until, while table_replication_epoch() stays the same.
 */
extern void global_tables_check_until(const char *table, const char *endpoint_url, const char *region,
									  GuardedWrite kind, TimestampTz *valid_until);

#endif
