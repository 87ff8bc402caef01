/*
 * dynamo_atomic.c - module entry point.
 *
 * Loaded on first use or through shared_preload_libraries; either way it
 * defines the settings and initialises libcurl once per process.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "fmgr.h"

#include "settings.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* Not thread-safe, so here, before any backend thread could exist. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libcurl")));
	settings_define();
}
