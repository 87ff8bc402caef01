/*
 * resolved_counters.c - the counters this backend resolved lately (see
 * resolved_counters.h).
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "resolved_counters.h"
#include "settings.h"

/* Enough for the counters of an application's tables; the least used goes first. */
#define MAX_RESOLVED 32

typedef struct Entry
{
	MemoryContext context;		/* the entry and all it points to */
	char	   *key;
	int			key_len;
	uint64		target;			/* settings_target_generation() when resolved */
	TimestampTz resolved_at;	/* the start of the statement that resolved it */
	ResolvedCounter counter;
} Entry;

static Entry *recent[MAX_RESOLVED];	/* most recently used first */
static int	n_recent = 0;
static MemoryContext cache_context = NULL;

void
resolved_counter_key_field(StringInfo key, const char *data, int len)
{
	if (data == NULL)
		len = -1;
	appendBinaryStringInfo(key, (const char *) &len, sizeof(len));
	if (len > 0)
		appendBinaryStringInfo(key, data, len);
}

/* Takes recent[i] out of the list; returns it. */
static Entry *
take_out(int i)
{
	Entry	   *e = recent[i];

	memmove(&recent[i], &recent[i + 1], (n_recent - i - 1) * sizeof(Entry *));
	n_recent--;
	return e;
}

static void
put_first(Entry *e)
{
	memmove(&recent[1], &recent[0], n_recent * sizeof(Entry *));
	recent[0] = e;
	n_recent++;
}

ResolvedCounter *
resolved_counter(const StringInfo key, CounterResolver resolve, void *arg)
{
	uint64		target = settings_target_generation();
	TimestampTz now = GetCurrentStatementStartTimestamp();
	MemoryContext context;
	MemoryContext old;
	Entry	   *e;

	for (int i = 0; i < n_recent; i++)
	{
		e = recent[i];
		if (e->key_len == key->len && memcmp(e->key, key->data, key->len) == 0)
		{
			take_out(i);
			if (e->target == target && now - e->resolved_at <= (TimestampTz) RESOLVED_TTL_MS * 1000)
			{
				put_first(e);
				return &e->counter;
			}
			/* A SET, a reload or a profile file since may send this counter elsewhere, or as someone else. */
			MemoryContextDelete(e->context);
			break;
		}
	}

	/*
	 * Resolved in a context of the caller's: an error while resolving
	 * leaves nothing behind.  Kept only once it succeeded.
	 */
	context = AllocSetContextCreate(CurrentMemoryContext, "dynamo_atomic resolved counter",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	e = palloc0(sizeof(Entry));
	e->context = context;
	e->key = palloc(key->len);
	memcpy(e->key, key->data, key->len);
	e->key_len = key->len;
	e->target = target;
	e->resolved_at = now;
	resolve(arg, &e->counter);
	MemoryContextSwitchTo(old);

	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic resolved counters",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextSetParent(context, cache_context);
	if (n_recent == MAX_RESOLVED)
		MemoryContextDelete(take_out(n_recent - 1)->context);	/* the least recently used */
	put_first(e);
	return &e->counter;
}
