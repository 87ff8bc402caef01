/*
 * id_blocks.h - reserved blocks of IDs, shared by every backend of the server.
 *
 * With shared_preload_libraries, one slot per counter (dynamo_atomic.
 * max_id_counters of them) holds the block of values reserved by the last
 * "ADD n": the next value to hand out and the last value of the block.
 * Backends take values under the region's LWLock; when a block runs out,
 * exactly one backend fetches the next one while the others sleep on the
 * slot's condition variable (no thundering herd of ADDs).  Without
 * preloading, each backend keeps its own blocks.
 */
#ifndef DYNAMO_ATOMIC_ID_BLOCKS_H
#define DYNAMO_ATOMIC_ID_BLOCKS_H

#include "storage/lwlock.h"

extern Size id_blocks_shmem_size(void);
extern void id_blocks_shmem_init(void *base, bool found, LWLock *lock);

/* The slot for a counter key (created on first use); 53400 when all are in use. */
extern int	id_blocks_slot(const char *key);

/*
 * Takes the next value of the slot's block into *value and returns true;
 * or returns false when the block is used up and this backend must fetch
 * the next one (it is then the only one doing so), having slept while
 * another backend fetched.
 */
extern bool id_blocks_take(int slot, int64 *value);

/* The fetched block (first..last): takes its first value into *value. */
extern void id_blocks_fill(int slot, int64 first, int64 last, int64 *value);

/* The fetch failed: let another backend try. */
extern void id_blocks_abandon(int slot);

/* Values reserved and not yet handed out, over every counter. */
extern int64 id_blocks_unused(void);

#endif
