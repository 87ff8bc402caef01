/*
 * increment_batches.h - combined increments: one request for many callers
 * of the same counter (group commit), each with its own exact value.
 *
 * With shared_preload_libraries, an unbounded dynamo_increment finds its
 * counter's slot here.  When no request for the counter is in flight from
 * this server, the backend sends its own, as without combining.  While one
 * is, further increments join the counter's open batch and wait; when the
 * request in flight ends, a lock worker sends the whole batch as one
 * UpdateItem ADD of its sum, and gives each member its own value in
 * (v - sum, v], in the order they joined.
 *
 * A worker, not a member, sends the batch, so that a member's cancel or
 * termination never makes the other members' increments unknown: it can
 * only leave the batch (before it is sent: not applied) or stop waiting
 * for its answer (after: as a single increment cancelled in flight).  A
 * worker that exits mid-request makes the batch's answer lost: each member
 * gets 40003, as a single increment whose answer was lost does.
 *
 * Only increments of the same sign, ttl and credentials combine: a batch
 * then moves the counter monotonically, so every value handed out lies
 * between the counter's old and new values, and within bigint.  When the
 * batch's sum would leave bigint (the only bound it carries) every member
 * sends its own increment alone, so a member whose own would fit is never
 * refused for the others'.  Bounded increments are never combined.
 */
#ifndef DYNAMO_ATOMIC_INCREMENT_BATCHES_H
#define DYNAMO_ATOMIC_INCREMENT_BATCHES_H

#include "storage/lwlock.h"

#include "counter_item.h"
#include "id_blocks.h"

extern Size increment_batches_shmem_size(void);
extern void increment_batches_shmem_init(void *base, bool found, LWLock *lock);

/* Are increments combined here at all (shared_preload_libraries)? */
extern bool increment_batches_enabled(void);

/*
 * The increment (non-zero, unbounded) of the counter ref: combined with
 * this server's concurrent increments of it where it can be, else sent
 * alone (counter_add).  counter names the same counter for the worker
 * (endpoint, region and identity filled).  Returns the new value, or
 * raises as counter_add does.
 */
extern int64 increment_batches_add(const CounterRef *ref, const IdCounter *counter, int64 increment,
								   bool resend_safe, int64 ttl_epoch);

/* The worker's side: a batch due to be sent, now claimed by this worker. */
typedef struct IncrementBatch
{
	int			slot;
	uint64		id;
	int			members;
	int64		sum;
	bool		resend_safe;	/* every member allows a resend */
	int64		ttl_epoch;
	IdCounter	counter;
} IncrementBatch;

extern bool increment_batches_claim(const char *worker_digest, IncrementBatch *batch);
/*
 * Before each attempt while nothing can have been applied: the callers that
 * joined the counter's open batch meanwhile (a throttled batch waits) join
 * this one.  Returns what they add to the sum (a CounterGrowHook).
 */
extern int64 increment_batches_absorb(void *batch, int64 step);
/* The answer: the counter's new value. */
extern void increment_batches_applied(const IncrementBatch *batch, int64 value);
/* An error: each member raises it (retry_alone: each sends its own instead). */
extern void increment_batches_failed(const IncrementBatch *batch, const ErrorData *error, bool retry_alone);

#endif
