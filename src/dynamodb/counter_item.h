/*
 * counter_item.h - a counter item and the one guarded ADD that moves it.
 */
#ifndef DYNAMO_ATOMIC_COUNTER_ITEM_H
#define DYNAMO_ATOMIC_COUNTER_ITEM_H

#include "datatype/timestamp.h"

#include "json.h"

typedef struct CounterRef
{
	char	   *table;
	char	   *key_attribute;	/* UTF-8 */
	char	   *count_attribute;	/* UTF-8 */
	char	   *id;				/* UTF-8 */
	char	   *id_display;		/* server encoding, for messages */
	const char *endpoint_url;	/* NULL: from the settings (the worker sets them) */
	const char *region;
	/* In a single table (pk + sk): the sort key attribute and value (UTF-8); else NULL. */
	const char *sort_attribute;
	const char *sort_key;
	/* The HINT of a 40003 (how to find out), or NULL for a counter's. */
	const char *unknown_hint;
} CounterRef;

/* A request naming the table and the counter's key, with "#v" = count attribute. */
extern cJSON *counter_request(const CounterRef *ref);

/* The counter's value by consistent read (0 when missing); 42804/22003 when not a bigint. */
extern int64 counter_read(const CounterRef *ref);

/*
 * One UpdateItem ADD of increment (non-zero), keeping the new value within
 * [min_value, max_value] when given and within bigint always; returns the
 * new value, or raises 2200H/22003/42804.  resend_safe: may be resent after
 * a lost answer (a second application is harmless to the caller).
 * ttl_epoch (0: none): the write that creates the item sets its "ttl"
 * attribute to it; later writes leave it.
 */
extern int64 counter_add(const CounterRef *ref, int64 increment, bool has_min, int64 min_value,
						 bool has_max, int64 max_value, bool resend_safe, int64 ttl_epoch);

/*
 * An unbounded ADD whose step may grow before each attempt while no earlier
 * sending can have been applied (a combined increment absorbing the callers
 * that came while it was throttled): grow(arg, step) returns what to add to
 * the step (0: nothing), keeping it within bigint.  No attempt runs past
 * deadline (0: none).  Returns the new value; the step as last sent is in
 * the hook's last call.
 */
typedef int64 (*CounterGrowHook) (void *arg, int64 step);
extern int64 counter_add_growing(const CounterRef *ref, int64 increment, bool resend_safe, int64 ttl_epoch,
								 TimestampTz deadline, CounterGrowHook grow, void *grow_arg);

/* Whether the last counter_add raised 22003 only because its increment would leave bigint. */
extern bool counter_add_refused_by_range(void);

#endif
