/*
 * dynamo_atomic.c - module entry point.
 *
 * Loaded on first use or through shared_preload_libraries; either way it
 * defines the settings and initialises libcurl once per process.  When
 * preloaded it also lays out shared memory and registers the lock worker.
 */
#include "postgres.h"

#include <malloc.h>

#include <curl/curl.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "endpoint.h"
#include "lock_worker.h"
#include "config_check.h"
#include "settings.h"
#include "shmem.h"
#include "pg_compat.h"

COMPAT_MODULE_MAGIC("dynamo_atomic", DYNAMO_ATOMIC_VERSION);

void		_PG_init(void);

/*
 * libcurl's memory is wiped before it is freed: its request buffers hold
 * the session token header and its receive buffer the credentials a
 * metadata service sent, and freed memory is handed out again unwiped.
 */
static void
wiping_free(void *p)
{
	if (p)
	{
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *
wiping_realloc(void *p, size_t size)
{
	void	   *grown;

	if (p == NULL)
		return malloc(size);
	if (size == 0)
	{
		wiping_free(p);
		return NULL;
	}
	grown = malloc(size);
	if (grown == NULL)
		return NULL;
	memcpy(grown, p, Min(size, malloc_usable_size(p)));
	wiping_free(p);
	return grown;
}

void
_PG_init(void)
{
	/*
	 * Not thread-safe, so here, before any backend thread could exist.  If
	 * another library initialised libcurl first, its allocator stays.
	 */
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wiping_free, wiping_realloc,
							 strdup, calloc) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libcurl")));
	settings_define(endpoint_url_is_valid);
	/* A misspelt dynamo_atomic line: said in the log at start, refused at every request. */
	config_check_warn_at_start();
	if (process_shared_preload_libraries_in_progress)
	{
		shmem_install_hooks();
		lock_worker_register();
	}
}
