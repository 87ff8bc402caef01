/*
 * lock_worker.h - the background worker that keeps held locks' leases fresh.
 *
 * Registered when dynamo_atomic is in shared_preload_libraries.  It has no
 * session: it uses the server's configuration (postgresql.conf and the
 * server's environment) for credentials and timeouts, and the endpoint and
 * region recorded with each lock.
 */
#ifndef DYNAMO_ATOMIC_LOCK_WORKER_H
#define DYNAMO_ATOMIC_LOCK_WORKER_H

extern void lock_worker_register(void);

#endif
