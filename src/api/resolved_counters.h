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

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#include "counter_item.h"

typedef struct ResolvedCounter
{
	CounterRef	ref;
	int			slot;			/* its ID block (id_blocks.h) */
	int			cache;			/* a trigger's cache argument (else unused) */
	/* Its table's replication checked (global_tables.h): good until then, in that epoch. */
	TimestampTz check_valid_until;	/* 0: not checked yet */
	uint64		check_epoch;
	/* For the hint of a "does not exist" error (ddb_note_table_origin). */
	const char *origin_creator;
	const char *origin_setting;
} ResolvedCounter;

/* Fills counter from arg, or raises; allocates in the current memory context. */
typedef void (*CounterResolver) (void *arg, ResolvedCounter *counter);

/*
 * The counter resolved for key (the caller's arguments, in bytes that name
 * them unambiguously) under the current settings; resolve is called when
 * there is none, or when the one kept was resolved before the current
 * statement's start by over RESOLVED_TTL_MS (a profile file's region may
 * have changed since, moving no setting).  Valid until the next call.
 */
#define RESOLVED_TTL_MS 1000

extern ResolvedCounter *resolved_counter(const StringInfo key, CounterResolver resolve, void *arg);

/* Appends a length-prefixed field (NULL: absent) to a key. */
extern void resolved_counter_key_field(StringInfo key, const char *data, int len);

#endif
