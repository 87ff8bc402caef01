/*
 * lock_api.h - what lock.c shares with lease_lock.c: the arguments every
 * lock function takes, the wait for a lock, and the dynamo_lock value.
 */
#ifndef DYNAMO_ATOMIC_LOCK_API_H
#define DYNAMO_ATOMIC_LOCK_API_H

#include "fmgr.h"

#include "lock_item.h"
#include "lock_registry.h"

/* lease_ms: 1000 .. a day (22023), not NULL. */
extern int	arg_lease_ms(FunctionCallInfo fcinfo, int argno);

/* The payload argument as UTF-8 JSON text (at most 16 kB), or NULL. */
extern char *arg_payload(FunctionCallInfo fcinfo, int argno, const char *name);

/*
 * Takes the lock for t->owner with holder written beside it, waiting up to
 * wait_ms (try: not at all; lock_timeout, statement_timeout and cancel end
 * the wait).  handle: the registry slot told of the grant, or -1 (a lease
 * lock).  Returns false only for try when it is held; else 55P03 names the
 * holder.
 */
extern bool lock_acquire_waiting(int handle, const LockTarget *t, int lease_ms, int wait_ms, bool try,
								 const char *holder, const char *payload, LockGrant *grant);

/* The dynamo_lock value of s (table, name, owner, version, token, lease end). */
extern Datum lock_datum(FunctionCallInfo fcinfo, const LockSlot *s);

/* A lease lock's owner begins so (lease_lock.c): no session holds it. */
#define LEASE_LOCK_OWNER_PREFIX "lease:"

/* Releases the lease lock of owner and token (dynamo_release_lock's value, or read by name). */
extern bool lease_lock_release(const char *table, const char *name, const char *owner, int64 token);

/*
 * dynamo_refresh_lock of a lease lock's value s (table, owner, token): its
 * lease from now, lease_ms (argument 1: required, as the value does not
 * carry the lease it was taken with).
 */
extern Datum lease_lock_refresh(FunctionCallInfo fcinfo, const LockSlot *s, const char *name);

/* Releases the lease lock of that name, whoever took it; false when the lock is not a lease lock, or free. */
extern bool lease_lock_release_by_name(const char *table, const char *name, char **why_not);

#endif
