/*
 * lock_commit.h - a transaction never commits under a lock it no longer
 * holds (README "Locks", "At commit").
 *
 * At COMMIT (and PREPARE TRANSACTION) each lock the transaction relies on
 * - its transaction-scope locks, and session locks bound to it with
 * dynamo_guard_xact - must be held, by the registry in shared memory, with
 * at least dynamo_atomic.lock_clock_skew_ms + lock_commit_margin_ms of its
 * lease left by this server's clock: another server takes it over only
 * lock_clock_skew_ms after the lease's end, by its own clock.  Otherwise
 * the commit fails with 40001 and everything the transaction wrote is
 * rolled back.  No request is sent, unless dynamo_atomic.lock_commit_check
 * is 'read': then also one consistent read of each such lock item.
 */
#ifndef DYNAMO_ATOMIC_LOCK_COMMIT_H
#define DYNAMO_ATOMIC_LOCK_COMMIT_H

#include "lock_registry.h"

/*
 * Raises 40001 unless the lock in this slot may be relied on by a commit
 * now; read_allowed: with lock_commit_check = 'read', the lock item is read
 * too.
 */
extern void lock_commit_check(int handle, bool read_allowed);

#endif
