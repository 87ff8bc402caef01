/*
 * shmem.h - the one owner of dynamo_atomic's shared memory.
 *
 * With shared_preload_libraries, one shmem_request_hook/shmem_startup_hook
 * pair (chained to the previous hooks) lays out every region listed in
 * shmem.c, each with its own named LWLock from the tranche
 * "dynamo_atomic".  Adding a region is one line there plus its size and
 * init functions.  Without preloading there is no shared memory:
 * shmem_attached() is false and each region falls back to backend memory.
 */
#ifndef DYNAMO_ATOMIC_SHMEM_H
#define DYNAMO_ATOMIC_SHMEM_H

#include "storage/lwlock.h"

/* A region: its size (known in shmem_request_hook) and its initialiser. */
typedef struct ShmemRegion
{
	const char *name;
	Size		(*size) (void);
	/* base: the region; found: it existed already (EXEC_BACKEND); lock: its LWLock */
	void		(*init) (void *base, bool found, LWLock *lock);
} ShmemRegion;

/* From _PG_init, while shared_preload_libraries is being processed. */
extern void shmem_install_hooks(void);

extern bool shmem_attached(void);

#endif
