/*
 * wait_events.c - what a dynamo_atomic process waits on, by name
 * (wait_events.h).
 */
#include "postgres.h"

#include "pg_compat.h"
#include "wait_events.h"

static const char *const wait_names[DYNAMO_WAIT_COUNT] = {
	[DYNAMO_WAIT_REQUEST] = "DynamoDBRequest",
	[DYNAMO_WAIT_WORKER_REQUEST] = "DynamoDBWorkerRequest",
	[DYNAMO_WAIT_RETRY_BACKOFF] = "DynamoDBRetryBackoff",
	[DYNAMO_WAIT_ID_BLOCK] = "DynamoAtomicIdBlock",
	[DYNAMO_WAIT_LOCK] = "DynamoAtomicLock",
	[DYNAMO_WAIT_LOCK_REFRESH] = "DynamoAtomicLockRefresh",
	[DYNAMO_WAIT_WORKER_MAIN] = "DynamoAtomicWorkerMain",
	[DYNAMO_WAIT_CREDENTIALS] = "DynamoAtomicCredentials",
	[DYNAMO_WAIT_INCREMENT] = "DynamoAtomicIncrement",
};

/* 0 until registered: every process asks once (the server hands the same number out again). */
static uint32 wait_events[DYNAMO_WAIT_COUNT];

uint32
dynamo_wait_event(DynamoWait wait)
{
	if (wait_events[wait] == 0)
		wait_events[wait] = compat_wait_event_new(wait_names[wait]);
	return wait_events[wait];
}
