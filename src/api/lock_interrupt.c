/*
 * lock_interrupt.c - a lock worker's cancel, said as the lock's (see
 * lock_interrupt.h).
 */
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "lock_interrupt.h"
#include "lock_item.h"
#include "lock_session.h"
#include "text_encoding.h"

static emit_log_hook_type previous_emit_log_hook = NULL;
static bool installed = false;

static void
say_which_lock(ErrorData *edata)
{
	LockSlot	s;
	bool		repeat;
	MemoryContext old;

	/* A cancel, not a statement_timeout or lock_timeout (their messages differ). */
	if (edata->elevel != ERROR || edata->sqlerrcode != ERRCODE_QUERY_CANCELED ||
		edata->message_id == NULL || strcmp(edata->message_id, "canceling statement due to user request") != 0 ||
		!lock_session_cancelled(&s, &repeat))
		return;
	/* The report's own context: freed with it. */
	old = MemoryContextSwitchTo(ErrorContext);
	edata->sqlerrcode = repeat ? ERRCODE_T_R_SERIALIZATION_FAILURE : ERRCODE_LOCK_NOT_AVAILABLE;
	if (s.lost)
	{
		edata->message = psprintf("canceling statement: lock \"%s\" was lost at %s",
								  text_display(s.name), timestamptz_to_str(s.lost_at));
		edata->detail = s.note[0] ? psprintf("A lock worker found it %s.", text_display(s.note)) : NULL;
	}
	else
	{
		edata->message = psprintf("canceling statement: lock \"%s\" may be lost: its lease ends at %s",
								  text_display(s.name), timestamptz_to_str(lock_ms_to_timestamptz(s.lease_until_ms)));
		edata->detail = psprintf("No heartbeat has got through since %s%s%s; %lld ms of lease left count as danger "
								 "(a third of the lease, or lock_clock_skew_ms + lock_commit_margin_ms).",
								 s.last_refresh ? timestamptz_to_str(s.last_refresh) : "it was taken",
								 s.note[0] ? ": " : "", text_display(s.note),
								 (long long) (s.lease_until_ms - lock_slot_danger_at(&s)));
	}
	edata->hint = pstrdup(repeat ?
						  "Another server may take it before this transaction could commit: roll back, take the lock again and retry." :
						  "Another server may take it soon: release it with dynamo_release_lock() and take it again.");
	MemoryContextSwitchTo(old);
}

static void
emit_log(ErrorData *edata)
{
	say_which_lock(edata);
	if (previous_emit_log_hook)
		previous_emit_log_hook(edata);
}

void
lock_interrupt_install(void)
{
	if (installed)
		return;
	previous_emit_log_hook = emit_log_hook;
	emit_log_hook = emit_log;
	installed = true;
}
