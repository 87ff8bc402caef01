/*
 * lock_session.h - the locks this session holds, and their release when
 * their scope ends.
 *
 * Transaction-scope locks are released at COMMIT or ROLLBACK (or when the
 * subtransaction that took them rolls back), session-scope locks when the
 * backend exits, however it exits (before_shmem_exit), by the backend itself
 * and, for what it could not release, by the lock workers.  Those releases
 * never raise an ERROR: a failure is a WARNING, each attempt is bounded
 * (2 s, one retry), and the lease ends the lock anyway.  If the server
 * dies, the lease simply expires.
 */
#ifndef DYNAMO_ATOMIC_LOCK_SESSION_H
#define DYNAMO_ATOMIC_LOCK_SESSION_H

#include "lock_registry.h"

/* This session's owner id: system identifier, pid, backend start time. */
extern const char *lock_session_owner(void);
/* "host H pid P database D", for people reading the lock table. */
extern const char *lock_session_holder(void);

/*
 * Does a lock worker run, and are the session's credentials settings the
 * ones the workers use?
 */
extern LockRegistryCredentials lock_session_worker_credentials(void);

/* The scope and exit callbacks: before a slot is reserved, so that any exit frees it. */
extern void lock_session_register_callbacks(void);
/* Registers a held lock's slot with this session (and the scope callbacks). */
extern void lock_session_add(int handle, LockScope scope);
/* What the workers do to this session in a lock's danger zone, by its scope and the setting. */
extern LockCancel lock_session_cancel_for(LockScope scope);
/* The slot of a lock this session holds, or -1. */
extern int	lock_session_find(const char *table, const char *name);
/* Forgets a held lock: frees its slot and wakes this server's waiters. */
extern void lock_session_forget(int handle);
/* Out of the session, to the lock workers to release (freed when none run). */
extern void lock_session_hand_over(int handle);
/* The current transaction's commit relies on this held lock (until it ends; lock_commit.h). */
extern void lock_session_guard_xact(int handle);
extern bool lock_session_guards_xact(int handle);

/*
 * Raises 55P03 while a lock of this session's is lost (found lost, or its
 * lease ended with no write in flight) and not yet released: every
 * dynamo_* function that does work calls it first.
 */
extern void lock_session_check_lost(void);
/*
 * A lock of this session whose danger zone made a worker cancel it
 * (*repeat: its transaction cannot commit), for lock_interrupt.c.
 */
extern bool lock_session_cancelled(LockSlot *out, bool *repeat);

#endif
