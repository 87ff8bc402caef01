/*
 * extension_version.c - the library and the installed extension agree
 * (extension_version.h).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "extension_version.h"
#include "pg_compat.h"

static LocalTransactionId checked_in = InvalidLocalTransactionId;
/*
 * ...and in which command of it: an ALTER EXTENSION UPDATE, or a DROP and
 * CREATE, earlier in the same transaction is a later command, so it is
 * compared again.  A subtransaction rolled back may take such a change
 * back without a later command: its abort forgets the comparison.
 */
static CommandId checked_command = InvalidCommandId;
static bool subxact_callback_registered = false;

static void
forget_at_subxact_abort(SubXactEvent event, SubTransactionId my_subid, SubTransactionId parent_subid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		checked_in = InvalidLocalTransactionId;
}

/* extversion of dynamo_atomic in this database, palloc'd; NULL when not installed. */
static char *
installed_version(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	char	   *version = NULL;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("dynamo_atomic"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/* a < b for "major.minor" versions. */
static bool
version_before(const char *a, const char *b)
{
	int			a_major = 0,
				a_minor = 0,
				b_major = 0,
				b_minor = 0;

	(void) sscanf(a, "%d.%d", &a_major, &a_minor);
	(void) sscanf(b, "%d.%d", &b_major, &b_minor);
	return a_major < b_major || (a_major == b_major && a_minor < b_minor);
}

void
extension_version_check(void)
{
	char	   *installed;

	if (checked_in != InvalidLocalTransactionId && checked_in == compat_my_lxid() &&
		checked_command == GetCurrentCommandId(false))
		return;
	installed = installed_version();
	/* Not installed (a function called while the extension is being created or dropped): nothing to compare. */
	if (installed != NULL && strcmp(installed, DYNAMO_ATOMIC_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the dynamo_atomic library is version %s, but this database has version %s of the extension",
						DYNAMO_ATOMIC_VERSION, installed),
				 version_before(installed, DYNAMO_ATOMIC_VERSION) ?
				 errhint("Update the extension in this database: ALTER EXTENSION dynamo_atomic UPDATE; "
						 "read CHANGELOG.md for the steps of each version first.") :
				 errhint("The server runs an older library than the extension's SQL: install dynamo_atomic %s "
						 "and restart the server.", installed)));
	if (!subxact_callback_registered)
	{
		RegisterSubXactCallback(forget_at_subxact_abort, NULL);
		subxact_callback_registered = true;
	}
	checked_in = compat_my_lxid();
	checked_command = GetCurrentCommandId(false);
}
