/*
 * table_replication.h - is a table a DynamoDB global table, and in which
 * consistency mode?  And what is its primary key?  Learned with
 * DescribeTable and kept for a while.
 *
 * A global table's replicas in other regions change what a write means:
 * with multi-Region eventual consistency (MREC, the default) each region
 * applies writes on its own, evaluates conditions against its own copy and
 * settles concurrent writes by "last writer wins"; with multi-Region strong
 * consistency (MRSC) writes and conditions are global, but DynamoDB offers
 * no transactions and no TTL on such a table.  What the functions do with
 * that is decided above (global_tables.h); this only finds out.
 *
 * One DescribeTable per table, endpoint, region and AWS identity, kept in
 * shared memory for the whole server (backend memory without preloading),
 * and described again once dynamo_atomic.table_recheck_interval old: a
 * table becomes a global table when a replica is added, at any time.  A table without
 * replicas but with the NEW_AND_OLD_IMAGES stream a 2017.11.29 ("legacy")
 * global table needs is also asked DescribeGlobalTable, the only call that
 * shows such a table.
 */
#ifndef DYNAMO_ATOMIC_TABLE_REPLICATION_H
#define DYNAMO_ATOMIC_TABLE_REPLICATION_H

#include "datatype/timestamp.h"
#include "storage/lwlock.h"

#include "key_schema.h"

typedef enum TableMode
{
	TABLE_SINGLE_REGION,		/* no replicas: an ordinary table */
	TABLE_MREC,					/* global, multi-Region eventual consistency */
	TABLE_MRSC,					/* global, multi-Region strong consistency */
	TABLE_MODE_UNKNOWN			/* this identity may not describe it */
} TableMode;

#define TABLE_REPLICAS_SIZE 256

typedef struct TableReplication
{
	TableMode	mode;
	/* The regions, "us-east-1, eu-west-1 (witness: us-west-2)"; for UNKNOWN, what was refused. */
	char		replicas[TABLE_REPLICAS_SIZE];
	/* Its primary key, from the same DescribeTable (not known: the description was refused). */
	KeySchema	key;
} TableReplication;

/*
 * The table's replication, from the cache or from DynamoDB.  A first
 * description that fails raises its error (AccessDenied gives UNKNOWN); a
 * description again (one backend at a time, bounded to 2 s) that fails
 * keeps the previous answer 10 s longer, up to twice the interval after
 * DynamoDB last gave it.  *valid_until: until when the answer holds.
 * endpoint_url and region NULL: where the settings say.
 */
extern void table_replication_get(const char *table, const char *endpoint_url, const char *region,
								  TableReplication *out, TimestampTz *valid_until);

/*
 * Describe the table again on its next use: it was made or deleted here
 * (always), or an answer suggests it changed (at most once per 10 s, or
 * per the interval when shorter, after the last description).
 */
extern void table_replication_forget(const char *table, const char *endpoint_url, const char *region,
									 bool always);

/*
 * A number that moves whenever a description is forgotten: a caller that
 * keeps an answer past this call (an ID counter) compares it.
 */
extern uint64 table_replication_epoch(void);

/* Whether AWS's error type suggests the table's replication is not what was learned. */
extern bool table_replication_error_suggests_change(const char *operation, const char *aws_type);

extern Size table_replication_shmem_size(void);
extern void table_replication_shmem_init(void *base, bool found, LWLock *lock);

#endif
