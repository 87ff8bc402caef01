/*
 * wait_events.h - what a dynamo_atomic process waits on, by name.
 *
 * From PostgreSQL 17 each has its own name in pg_stat_activity.wait_event
 * (wait_event_type "Extension"); before 17 all read "Extension".
 */
#ifndef DYNAMO_ATOMIC_WAIT_EVENTS_H
#define DYNAMO_ATOMIC_WAIT_EVENTS_H

typedef enum DynamoWait
{
	DYNAMO_WAIT_REQUEST,		/* DynamoDBRequest: a backend waits for DynamoDB's answer */
	DYNAMO_WAIT_WORKER_REQUEST, /* DynamoDBWorkerRequest: a lock worker's heartbeat, release or ID prefetch */
	DYNAMO_WAIT_RETRY_BACKOFF,	/* DynamoDBRetryBackoff: the pause before a retry */
	DYNAMO_WAIT_ID_BLOCK,		/* DynamoAtomicIdBlock: another backend (or the worker) fetches the ID block */
	DYNAMO_WAIT_LOCK,			/* DynamoAtomicLock: a lock held elsewhere, until wait_ms */
	DYNAMO_WAIT_LOCK_REFRESH,	/* DynamoAtomicLockRefresh: a worker's heartbeat of the same lock is in flight */
	DYNAMO_WAIT_WORKER_MAIN,	/* DynamoAtomicWorkerMain: a lock worker with nothing due */
	DYNAMO_WAIT_CREDENTIALS,	/* DynamoAtomicCredentials: another process refreshes the credentials */
	DYNAMO_WAIT_INCREMENT,		/* DynamoAtomicIncrement: a combined increment waits for its request */
	DYNAMO_WAIT_COUNT
} DynamoWait;

/* The wait event to report (registered on first use in this process). */
extern uint32 dynamo_wait_event(DynamoWait wait);

#endif
