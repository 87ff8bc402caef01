/*
 * lock_commit.c - the lease check at commit (see lock_commit.h).
 */
#include "postgres.h"

#include "common/int.h"

#include "lock_commit.h"
#include "lock_item.h"
#include "settings.h"
#include "text_encoding.h"

static void
refuse(const LockSlot *s, const char *why, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not commit: lock \"%s\" %s", text_display(s->name), why),
			 detail ? errdetail("%s", text_display(detail)) : 0,
			 errhint("Nothing the transaction wrote in this database was committed (what it sent to DynamoDB "
					 "was). Take the lock again and retry; a longer lease_ms leaves more time between heartbeats.")));
}

void
lock_commit_check(int handle, bool read_allowed)
{
	LockSlot	s;
	int64		now = lock_now_ms();
	int64		margin = (int64) dynamo_lock_clock_skew_ms + dynamo_lock_commit_margin_ms;
	int64		left;

	lock_registry_read(handle, &s);
	if (s.lost)
		refuse(&s, "was lost", s.note[0] ? s.note : NULL);
	left = s.lease_until_ms - now;
	if (left < margin)
		refuse(&s, left > 0 ? psprintf("has %lld ms of its lease left, under the commit margin of %lld ms",
									   (long long) left, (long long) margin) :
			   psprintf("has had no lease for %lld ms", (long long) -left),
			   psprintf("Another server may take it over %d ms after its lease ends (dynamo_atomic.lock_clock_skew_ms); "
						"a commit needs that plus dynamo_atomic.lock_commit_margin_ms (%d ms) left.%s%s",
						dynamo_lock_clock_skew_ms, dynamo_lock_commit_margin_ms,
						s.refresh_failures > 0 ? " Its last heartbeats failed: " : "",
						s.refresh_failures > 0 ? s.note : ""));
	if (read_allowed && dynamo_lock_commit_check == LOCK_COMMIT_CHECK_READ)
	{
		LockTarget	t = {s.endpoint, s.region, s.table, s.name, s.owner, s.key_form};
		LockHolder	item;

		/* The lock item as DynamoDB has it: still ours, at our token, for long enough. */
		lock_item_read(&t, &item);
		if (!item.exists || !item.held || item.owner == NULL || strcmp(item.owner, s.owner) != 0 ||
			item.fencing_token != s.fencing_token)
			refuse(&s, "is no longer this session's in DynamoDB",
				   item.exists ? psprintf("The lock item's holder is now: %s.", lock_holder_text(&item)) :
				   "The lock item is gone.");
		/* A lease another program wrote near -2^63 is no lease: overflow-checked. */
		if (pg_sub_s64_overflow(item.lease_until_ms, lock_now_ms(), &left) || left < margin)
			refuse(&s, "has too little of its lease left in DynamoDB",
				   psprintf("The lock item's lease ends at %lld (epoch ms); a commit needs %lld ms left.",
							(long long) item.lease_until_ms, (long long) margin));
	}
}
