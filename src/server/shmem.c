/*
 * shmem.c - lays out dynamo_atomic's shared memory (see shmem.h).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "credentials_cache.h"
#include "id_blocks.h"
#include "increment_batches.h"
#include "lock_registry.h"
#include "op_stats.h"
#include "shmem.h"
#include "table_replication.h"

#define TRANCHE_NAME "dynamo_atomic"

static const ShmemRegion regions[] = {
	{"dynamo_atomic lock registry", lock_registry_shmem_size, lock_registry_shmem_init},
	{"dynamo_atomic ID blocks", id_blocks_shmem_size, id_blocks_shmem_init},
	{"dynamo_atomic operation stats", op_stats_shmem_size, op_stats_shmem_init},
	{"dynamo_atomic table replication", table_replication_shmem_size, table_replication_shmem_init},
	{"dynamo_atomic credentials", credentials_cache_shmem_size, credentials_cache_shmem_init},
	{"dynamo_atomic increment batches", increment_batches_shmem_size, increment_batches_shmem_init},
};

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool attached = false;

static void
request_shmem(void)
{
	Size		total = 0;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	for (int i = 0; i < lengthof(regions); i++)
		total = add_size(total, MAXALIGN(regions[i].size()));
	RequestAddinShmemSpace(total);
	RequestNamedLWLockTranche(TRANCHE_NAME, lengthof(regions));
}

static void
startup_shmem(void)
{
	LWLockPadded *locks;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	locks = GetNamedLWLockTranche(TRANCHE_NAME);
	for (int i = 0; i < lengthof(regions); i++)
	{
		bool		found;
		void	   *base = ShmemInitStruct(regions[i].name, regions[i].size(), &found);

		regions[i].init(base, found, &locks[i].lock);
	}
	LWLockRelease(AddinShmemInitLock);
	attached = true;
}

void
shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_shmem;
}

bool
shmem_attached(void)
{
	return attached;
}
