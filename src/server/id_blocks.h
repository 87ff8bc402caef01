/*
 * id_blocks.h - reserved blocks of IDs, shared by every backend of the server.
 *
 * With shared_preload_libraries, one slot per counter (dynamo_atomic.
 * max_id_counters of them) holds the block of values reserved by the last
 * "ADD n": the next value to hand out and the last value of the block.
 * Backends take values under the region's LWLock; when a block runs out,
 * exactly one backend fetches the next one while the others sleep on the
 * slot's condition variable (no thundering herd of ADDs).  Better still,
 * when a block is half used the lock worker fetches the next one ahead
 * (a spare), so that in steady use no backend waits for DynamoDB.
 * Without preloading, each backend keeps its own blocks.
 */
#ifndef DYNAMO_ATOMIC_ID_BLOCKS_H
#define DYNAMO_ATOMIC_ID_BLOCKS_H

#include "storage/lwlock.h"

#include "settings.h"

extern Size id_blocks_shmem_size(void);
extern void id_blocks_shmem_init(void *base, bool found, LWLock *lock);

/* A counter as the worker needs it to fetch a block without the session. */
typedef struct IdCounter
{
	char		table[256];
	char		key_attribute[256];
	char		count_attribute[256];
	char		id[2049];
	char		sort_key[1025];	/* in a single table (pk + sk); "" for none */
	char		endpoint[512];
	char		region[65];
	/* Whose counter: a digest of the credentials settings (other accounts, other items). */
	char		identity[CREDENTIALS_DIGEST_LEN];
	bool		prefetch;		/* the worker may fetch ahead (same credentials) */
	int			cache;			/* block size, for a prefetch */
} IdCounter;

/* The slot for a counter (created on first use); 53400 when all are in use. */
extern int	id_blocks_slot(const IdCounter *counter);

/*
 * Takes the next value of the slot's block (or of its spare) into *value
 * and returns true; or returns false when both are used up and this
 * backend must fetch the next block of *fetch_size values (it is then the
 * only one doing so), having slept while another backend fetched.
 *
 * Block sizes adapt to demand (dynamo_atomic.id_cache_max above cache):
 * a block used up within ID_BLOCK_FAST_MS makes the next twice as large,
 * up to id_cache_max; one that lasts over ID_BLOCK_SLOW_MS halves it, down
 * to cache.  A grown block's spare is asked for once a tenth of it is
 * used.  Values reserved and never handed out stay at most the current
 * block and its spare: 2 x id_cache_max per server.
 */
#define ID_BLOCK_FAST_MS 1000
#define ID_BLOCK_SLOW_MS 10000
extern bool id_blocks_take(int slot, int cache, int64 *value, int *fetch_size);

/*
 * The first value of the block that an ADD of size ending at last reserved,
 * within bigint: a counter that another program left below bigint's minimum
 * reserves values that are not bigints, and they are not handed out.
 */
extern int64 id_block_first(int64 last, int size);

/* The fetched block (first..last): takes its first value into *value. */
extern void id_blocks_fill(int slot, int64 first, int64 last, int64 *value);

/* The fetch failed: let another backend try. */
extern void id_blocks_abandon(int slot);

/* The worker's side: a slot wanting a block fetched ahead, with its counter. */
extern bool id_blocks_prefetch_due(int *slot, IdCounter *counter);
extern void id_blocks_store_spare(int slot, int64 first, int64 last);
extern void id_blocks_prefetch_failed(int slot);
/* The worker signs as someone else than the counter's identity: no more prefetches for it. */
extern void id_blocks_prefetch_refused(int slot);

/*
 * This backend's own fetch was refused (the counter's end is near): waits
 * up to timeout_ms for a block the worker is fetching ahead, whose ADD may
 * be what took the last values.  True when values are there to take now.
 */
extern bool id_blocks_await_spare(int slot, int timeout_ms);

/* The worker that fetches ahead (re)started: no prefetch is being sent. */
extern void id_blocks_prefetcher_started(void);

/* Values reserved and not yet handed out (spares included), over every counter. */
extern int64 id_blocks_unused(void);

#endif
