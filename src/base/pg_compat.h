/*
 * pg_compat.h - every difference between the PostgreSQL majors this one
 * source builds for (15 to 18), and nothing else.  No PG_VERSION_NUM test
 * stands outside this file.
 */
#ifndef DYNAMO_ATOMIC_PG_COMPAT_H
#define DYNAMO_ATOMIC_PG_COMPAT_H

#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/guc_tables.h"
#include "utils/wait_event.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "dynamo_atomic builds for PostgreSQL 15 to 18"
#endif

/*
 * A process's PGPROC number (its index in ProcGlobal->allProcs): 17 made
 * it MyProcNumber and took pgprocno out of PGPROC.
 */
#if PG_VERSION_NUM >= 170000
#define compat_my_procno()			((int) MyProcNumber)
#else
#define compat_my_procno()			(MyProc->pgprocno)
#endif
#define compat_proc(procno)			(&ProcGlobal->allProcs[(procno)])

/* This backend's local transaction id: 17 moved it into PGPROC's vxid. */
#if PG_VERSION_NUM >= 170000
#define compat_my_lxid()			(MyProc->vxid.lxid)
#else
#define compat_my_lxid()			(MyProc->lxid)
#endif

/*
 * A regular backend's own index below MaxBackends, or -1 for any other
 * process: MyBackendId - 1 until 16; from 17 backends take the first
 * MaxBackends PGPROC numbers.
 */
#if PG_VERSION_NUM >= 170000
#define compat_backend_index() \
	(MyProcNumber != INVALID_PROC_NUMBER && MyProcNumber < MaxBackends ? (int) MyProcNumber : -1)
#else
#define compat_backend_index()		(MyBackendId > 0 && MyBackendId <= MaxBackends ? MyBackendId - 1 : -1)
#endif

/* Is this process a background worker?  17 replaced the flag with a macro. */
#if PG_VERSION_NUM >= 170000
#define compat_am_background_worker()	AmBackgroundWorkerProcess()
#else
#define compat_am_background_worker()	IsBackgroundWorker
#endif

/*
 * A function that does not return: a prefix from 18 on (pg_noreturn),
 * pg_attribute_noreturn() after the declarator before it (removed in 18);
 * GCC and clang take the attribute as a prefix too.
 */
#ifndef pg_noreturn
#define pg_noreturn __attribute__((noreturn))
#endif

/*
 * A wait event of the extension's own name (17 added them: pg_stat_activity
 * shows the name); before 17, all are "Extension".
 */
#if PG_VERSION_NUM >= 170000
#define compat_wait_event_new(name)	WaitEventExtensionNew(name)
#else
#define compat_wait_event_new(name)	((void) (name), (uint32) PG_WAIT_EXTENSION)
#endif

/*
 * The module's magic block: 18 records the name and version, which
 * pg_get_loaded_modules() shows.
 */
#if PG_VERSION_NUM >= 180000
#define COMPAT_MODULE_MAGIC(name_, version_)	PG_MODULE_MAGIC_EXT(.name = (name_), .version = (version_))
#else
#define COMPAT_MODULE_MAGIC(name_, version_)	PG_MODULE_MAGIC
#endif

/*
 * Memory for a GUC check hook's *extra: PostgreSQL frees it, with free()
 * until 15 and with guc_free() (GUC's own memory context) from 16, which
 * takes only what guc_malloc gave.
 */
#if PG_VERSION_NUM >= 160000
#define compat_guc_extra_malloc(size)	guc_malloc(LOG, (size))
#define compat_guc_extra_free(ptr)		guc_free(ptr)
#else
#define compat_guc_extra_malloc(size)	malloc(size)
#define compat_guc_extra_free(ptr)		free(ptr)
#endif

/* The GUC table: 16 returns its size through an argument. */
static inline struct config_generic **
compat_guc_variables(int *n_vars)
{
#if PG_VERSION_NUM >= 160000
	return get_guc_variables(n_vars);
#else
	*n_vars = GetNumConfigOptions();
	return get_guc_variables();
#endif
}

#endif
