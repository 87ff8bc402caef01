/*
 * stats.h - per-backend request counters.
 *
 * Every request made by this backend is counted here: the transport counts
 * exchanges and new connections, the protocol layer counts calls, retries
 * and throttles.  dynamo_atomic_backend_stats() shows them.
 */
#ifndef DYNAMO_ATOMIC_STATS_H
#define DYNAMO_ATOMIC_STATS_H

typedef struct DynamoBackendStats
{
	uint64		calls;			/* DynamoDB operations started */
	uint64		http_requests;	/* HTTP exchanges, retries included */
	uint64		retries;
	uint64		throttles;		/* throttling answers received */
	uint64		errors;			/* operations that ended in an error */
	uint64		connections_opened; /* new TCP (+TLS) connections */
	double		request_seconds;	/* wall time spent in HTTP exchanges */
} DynamoBackendStats;

extern DynamoBackendStats dynamo_backend_stats;

#endif
