/*
 * lease_lock.c - a lock held for exactly its lease, by no session:
 * dynamo_get_lease_lock and dynamo_try_get_lease_lock, as dynamo-lock's
 * getLock(name, timeoutMillis) gives ("this job ran: nobody runs it again
 * for 10 minutes", or a mutex released by name from another process).
 *
 * It is one conditional acquire, as for any lock, with an owner of its own
 * ("lease:" and 32 random hex characters) that no backend is: no lock
 * worker refreshes it, no session end or COMMIT releases it, it is not in
 * dynamo_held_locks (which lists what this server's sessions hold).  Its
 * lease ends it, or dynamo_release_lock (its dynamo_lock value) or
 * dynamo_release_lock_by_name, from any session of any server, which ends
 * it only while it is still that acquisition (owner and fencing token).
 * Its fencing token counts on with every acquisition of the name, as for
 * any lock.  dynamo_lock_info shows it: holder "lease lock taken by ...".
 *
 * Lost answers: the acquire recognises itself (its owner holds the lock)
 * and is resent.  An acquire that fails after a sending that may have been
 * applied may leave the lock taken until its lease ends: a lease lock is
 * released by its lease in any case.
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "args.h"
#include "endpoint.h"
#include "global_tables.h"
#include "lock_api.h"
#include "lock_session.h"
#include "settings.h"
#include "text_encoding.h"
#include "extension_version.h"

/* A lease lock's target where the settings say; ep holds the strings it points to. */
static void
lease_target(DdbEndpoint *ep, const char *table, const char *name, const char *owner, LockTarget *t)
{
	ddb_endpoint_resolve(ep, NULL, NULL);
	memset(t, 0, sizeof(*t));
	t->endpoint_url = ep->url;
	t->region = ep->region;
	t->table = table;
	t->name = name;
	t->owner = owner;
	t->key_form = LOCK_KEY_UNKNOWN;
}

/* dynamo_[try_]get_lease_lock(lock_name, lease_ms, [wait_ms,] table_name, payload) */
static Datum
get_lease_lock(FunctionCallInfo fcinfo, bool try)
{
	char	   *name = arg_key_value(fcinfo, 0, "lock_name");
	int			lease_ms = arg_lease_ms(fcinfo, 1);
	int			wait_ms = 0;
	int			table_arg = try ? 2 : 3;
	char	   *payload = arg_payload(fcinfo, table_arg + 1, name);
	char	   *table;
	char		version[LOCK_VERSION_LEN + 1];
	DdbEndpoint ep;
	LockTarget	t;
	LockGrant	grant = {0};
	LockSlot	value;

	if (!try)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("wait_ms must not be NULL")));
		wait_ms = PG_GETARG_INT32(2);
		if (wait_ms < 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("wait_ms must not be negative")));
	}
	table = arg_table_name(fcinfo, table_arg, TABLE_FOR_LOCKS);
	lock_new_version(version);
	lease_target(&ep, table, name, psprintf(LEASE_LOCK_OWNER_PREFIX "%s", version), &t);
	global_tables_check(table, ep.url, ep.region, GUARDED_LOCK);
	if (!lock_acquire_waiting(-1, &t, lease_ms, wait_ms, try,
							  psprintf("lease lock taken by %s", lock_session_holder()), payload, &grant))
		PG_RETURN_NULL();

	memset(&value, 0, sizeof(value));
	strlcpy(value.table, table, sizeof(value.table));
	strlcpy(value.name, name, sizeof(value.name));
	strlcpy(value.owner, t.owner, sizeof(value.owner));
	strlcpy(value.version, grant.version, sizeof(value.version));
	value.fencing_token = grant.fencing_token;
	value.lease_until_ms = grant.lease_until_ms;
	PG_RETURN_DATUM(lock_datum(fcinfo, &value));
}

DYNAMO_SQL_FUNCTION(dynamo_get_lease_lock);

static Datum
dynamo_get_lease_lock_checked(PG_FUNCTION_ARGS)
{
	return get_lease_lock(fcinfo, false);
}

DYNAMO_SQL_FUNCTION(dynamo_try_get_lease_lock);

static Datum
dynamo_try_get_lease_lock_checked(PG_FUNCTION_ARGS)
{
	return get_lease_lock(fcinfo, true);
}

bool
lease_lock_release(const char *table, const char *name, const char *owner, int64 token)
{
	DdbEndpoint ep;
	LockTarget	t;
	char	   *why_not = NULL;
	bool		released;

	lease_target(&ep, table, name, owner, &t);
	released = lock_item_release(&t, token, 0, &why_not);
	if (!released)
		ereport(NOTICE,
				(errmsg("lease lock \"%s\" had already ended", text_display(name)),
				 why_not ? errdetail("%s.", text_display(why_not)) : 0));
	return released;
}

bool
lease_lock_release_by_name(const char *table, const char *name, char **why_not)
{
	DdbEndpoint ep;
	LockTarget	t;
	LockHolder	h;

	lease_target(&ep, table, name, LEASE_LOCK_OWNER_PREFIX, &t);	/* (the owner is unused by the read) */
	lock_item_read(&t, &h);
	if (!h.held || h.owner == NULL ||
		strncmp(h.owner, LEASE_LOCK_OWNER_PREFIX, strlen(LEASE_LOCK_OWNER_PREFIX)) != 0 ||
		h.lease_until_ms <= lock_now_ms())
	{
		*why_not = h.held && h.lease_until_ms > lock_now_ms() ? lock_holder_text(&h) : NULL;
		return false;
	}
	/* conditioned on that acquisition: a lease that ended and was taken again is not ended */
	t.owner = h.owner;
	return lock_item_release(&t, h.fencing_token, 0, why_not);
}

Datum
lease_lock_refresh(FunctionCallInfo fcinfo, const LockSlot *s, const char *name)
{
	DdbEndpoint ep;
	LockTarget	t;
	LockGrant	grant = {0};
	LockSlot	value = *s;
	int			lease_ms;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease_ms is required to refresh lease lock \"%s\"", text_display(name))));
	lease_ms = arg_lease_ms(fcinfo, 1);
	lease_target(&ep, s->table, name, s->owner, &t);
	if (!lock_item_heartbeat(&t, s->fencing_token, lease_ms, 0, &grant))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("lease lock \"%s\" has ended: it was not refreshed", text_display(name))));
	strlcpy(value.name, name, sizeof(value.name));
	strlcpy(value.version, grant.version, sizeof(value.version));
	value.lease_until_ms = grant.lease_until_ms;
	return lock_datum(fcinfo, &value);
}
