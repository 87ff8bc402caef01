/*
 * counter.h - counters named by SQL arguments (the item itself: counter_item.h).
 */
#ifndef DYNAMO_ATOMIC_COUNTER_H
#define DYNAMO_ATOMIC_COUNTER_H

#include "fmgr.h"

#include "counter_item.h"
#include "id_blocks.h"

/* The counter named by the arguments at these positions (checked). */
extern void counter_ref_from_args(FunctionCallInfo fcinfo, int id_arg, int table_arg,
								  int key_arg, int count_arg, CounterRef *ref);

/* The same for the single-table form: a dynamo_key (pk, sk) at key_arg. */
extern void counter_ref_from_key_args(FunctionCallInfo fcinfo, int key_arg, int table_arg,
									  int count_arg, CounterRef *ref);

/*
 * The counter as a lock worker or another backend names it in shared
 * memory (ID blocks, combined increments): where this session sends
 * (endpoint and region, which ref then names too: one item for all) and as
 * whom.  False, with nothing changed, when a field is too long to share.
 */
extern bool counter_shared_identity(CounterRef *ref, IdCounter *c);

#endif
