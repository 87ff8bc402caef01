/*
 * lock_interrupt.h - what a holder is told when a lock worker cancels it.
 *
 * In a lock's danger zone (lock_registry_watch) a worker sends the holder
 * SIGINT, as pg_cancel_backend does; PostgreSQL then raises "canceling
 * statement due to user request" (57014) at its next interrupt check.
 * That report is rewritten, as it is emitted, to name the lock, why, and
 * what follows: 40001 for a lock the transaction's commit relies on, 55P03
 * for a session lock.  It cannot be rewritten where no report is emitted
 * (log_min_messages above ERROR, or the error caught in PL/pgSQL, which
 * sees 57014).
 */
#ifndef DYNAMO_ATOMIC_LOCK_INTERRUPT_H
#define DYNAMO_ATOMIC_LOCK_INTERRUPT_H

/* Once per backend, before its first lock (chains emit_log_hook). */
extern void lock_interrupt_install(void);

#endif
