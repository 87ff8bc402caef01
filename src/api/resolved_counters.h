/*
 * resolved_counters.h - the counters this backend resolved lately, kept
 * while their arguments and the settings that direct them stay the same.
 *
 * Resolving a counter (checking its arguments, finding the endpoint, the
 * identity and the shared ID slot) costs more than handing out an ID from
 * a block.  An FmgrInfo's fn_extra only lasts one statement: a prepared
 * INSERT with a dynamo_nextval default, run once per row, resolved its
 * counter on every statement.  This cache lasts the backend.
 */
#ifndef DYNAMO_ATOMIC_RESOLVED_COUNTERS_H
#define DYNAMO_ATOMIC_RESOLVED_COUNTERS_H

#include "lib/stringinfo.h"

#include "counter_item.h"

typedef struct ResolvedCounter
{
	CounterRef	ref;
	int			slot;			/* its ID block (id_blocks.h) */
	int			cache;			/* a trigger's cache argument (else unused) */
} ResolvedCounter;

/* Fills counter from arg, or raises; allocates in the current memory context. */
typedef void (*CounterResolver) (void *arg, ResolvedCounter *counter);

/*
 * The counter resolved for key (the caller's arguments, in bytes that name
 * them unambiguously) under the current settings; resolve is called when
 * there is none.  Valid until the next call.
 */
extern const ResolvedCounter *resolved_counter(const StringInfo key, CounterResolver resolve, void *arg);

/* Appends a length-prefixed field (NULL: absent) to a key. */
extern void resolved_counter_key_field(StringInfo key, const char *data, int len);

#endif
