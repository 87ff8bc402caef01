/*
 * resolved_counters.c - the counters this backend resolved lately (see
 * resolved_counters.h).
 */
#include "postgres.h"

#include "lib/ilist.h"
#include "utils/memutils.h"

#include "resolved_counters.h"
#include "settings.h"

/* Enough for the counters of an application's tables; the least used goes first. */
#define MAX_RESOLVED 32

typedef struct Entry
{
	dlist_node	node;
	MemoryContext context;		/* the entry and all it points to */
	char	   *key;
	int			key_len;
	uint64		target;			/* settings_target_generation() when resolved */
	ResolvedCounter counter;
} Entry;

static dlist_head recent = DLIST_STATIC_INIT(recent);	/* most recently used first */
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

const ResolvedCounter *
resolved_counter(const StringInfo key, CounterResolver resolve, void *arg)
{
	uint64		target = settings_target_generation();
	dlist_mutable_iter iter;
	MemoryContext context;
	MemoryContext old;
	Entry	   *e;

	dlist_foreach_modify(iter, &recent)
	{
		e = dlist_container(Entry, node, iter.cur);
		if (e->key_len == key->len && memcmp(e->key, key->data, key->len) == 0)
		{
			if (e->target == target)
			{
				dlist_move_head(&recent, &e->node);
				return &e->counter;
			}
			/* A SET or a reload since may send this counter elsewhere, or as someone else. */
			dlist_delete(&e->node);
			n_recent--;
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
	resolve(arg, &e->counter);
	MemoryContextSwitchTo(old);

	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic resolved counters",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextSetParent(context, cache_context);
	dlist_push_head(&recent, &e->node);
	if (++n_recent > MAX_RESOLVED)
	{
		Entry	   *oldest = dlist_container(Entry, node, dlist_tail_node(&recent));

		dlist_delete(&oldest->node);
		n_recent--;
		MemoryContextDelete(oldest->context);
	}
	return &e->counter;
}
