/*
 * config_check.c - a misspelt dynamo_atomic.* line stops every request
 * (config_check.h).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "miscadmin.h"
#include "access/xact.h"
#include "catalog/pg_authid_d.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "config_check.h"

#define PREFIX "dynamo_atomic."

/* The first line found wrong by the last reading of the files. */
typedef struct UnknownLine
{
	bool		found;
	bool		bad_value;		/* a setting of ours, but a value its check refuses */
	char		file[MAXPGPATH];
	int			line;
	char		name[256];
	char		nearest[256];	/* "" when nothing is near */
} UnknownLine;

/* Defined only when preloaded (they size shared memory): known all the same. */
static const char *const preload_only[] = {
	"dynamo_atomic.max_locks", "dynamo_atomic.max_id_counters", "dynamo_atomic.lock_workers"
};

static UnknownLine unknown;
static bool scanned = false;
static TimestampTz scanned_for_load = 0;	/* PgReloadTime when the files were read */

/*
 * The setting of this name (names are case-insensitive), or NULL.  A
 * placeholder is none: PostgreSQL reserves the prefix case-sensitively, so
 * a line "Dynamo_Atomic.endpiont" keeps a placeholder no setting claims.
 */
static struct config_generic *
real_setting(const char *name)
{
	int			n_vars;
	struct config_generic **vars = compat_guc_variables(&n_vars);

	for (int i = 0; i < n_vars; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return (vars[i]->flags & GUC_CUSTOM_PLACEHOLDER) ? NULL : vars[i];
	return NULL;
}

static bool
preload_only_setting(const char *name)
{
	for (int i = 0; i < lengthof(preload_only); i++)
		if (pg_strcasecmp(name, preload_only[i]) == 0)
			return true;
	return false;
}

/* This extension's setting whose name is nearest name's (by edit distance), or "". */
static void
nearest_setting(const char *name, char *out, size_t out_size)
{
	int			best = -1;
	int			n_vars;
	struct config_generic **vars = compat_guc_variables(&n_vars);

	out[0] = '\0';
	for (int i = 0; i < n_vars; i++)
	{
		const char *candidate = vars[i]->name;
		int			distance;

		if (pg_strncasecmp(candidate, PREFIX, strlen(PREFIX)) != 0 ||
			(vars[i]->flags & GUC_CUSTOM_PLACEHOLDER))
			continue;
		distance = varstr_levenshtein(name, strlen(name), candidate, strlen(candidate), 1, 1, 1, true);
		if (best < 0 || distance < best)
		{
			best = distance;
			strlcpy(out, candidate, out_size);
		}
	}
	/* Past a third of the name, it is another word, not a misspelling. */
	if (best < 0 || best > (int) strlen(name) / 3)
		out[0] = '\0';
}

/* Reads the configuration files as the server does, and notes the first unknown line. */
static void
scan_files(void)
{
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "dynamo_atomic config check",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(scratch);
	ConfigVariable *head = NULL;
	ConfigVariable *tail = NULL;

	memset(&unknown, 0, sizeof(unknown));
	/* Read errors are the server's to report (pg_file_settings shows them): DEBUG here. */
	if (ConfigFileName)
		(void) ParseConfigFile(ConfigFileName, true, NULL, 0, 0, DEBUG2, &head, &tail);
	if (DataDir)
		(void) ParseConfigFile(PG_AUTOCONF_FILENAME, false, NULL, 0, 0, DEBUG2, &head, &tail);
	for (ConfigVariable *item = head; item && !unknown.found; item = item->next)
	{
		struct config_generic *setting;

		if (item->name == NULL || pg_strncasecmp(item->name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		setting = real_setting(item->name);
		/* Not defined: the library was loaded after the server started, and they wait for a restart. */
		if (setting == NULL && preload_only_setting(item->name))
			continue;
		/*
		 * A value the setting's check refuses: PostgreSQL WARNs and keeps the
		 * default, which for the endpoint is AWS.  Checked as a reload does,
		 * nothing changed: 0 is a value refused (-1, not applied, is what a
		 * check without change returns for a good one).
		 */
		if (setting != NULL &&
			set_config_option(setting->name, item->value ? item->value : "", PGC_POSTMASTER, PGC_S_FILE,
							  GUC_ACTION_SET, false, DEBUG3, false) != 0)
			continue;
		unknown.found = true;
		unknown.bad_value = setting != NULL;
		strlcpy(unknown.file, item->filename ? item->filename : "?", sizeof(unknown.file));
		unknown.line = item->sourceline;
		strlcpy(unknown.name, item->name, sizeof(unknown.name));
		if (!unknown.bad_value)
			nearest_setting(item->name, unknown.nearest, sizeof(unknown.nearest));
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(scratch);
}

static void
scan_if_reloaded(void)
{
	/* PostgreSQL sets PgReloadTime in each process that loads the files. */
	if (scanned && scanned_for_load == PgReloadTime)
		return;
	scan_files();
	scanned = true;
	scanned_for_load = PgReloadTime;
}

/* What the line is wrong with, for messages. */
static char *
line_problem(bool with_path)
{
	const char *where = with_path ? psprintf("\"%s\" line %d", unknown.file, unknown.line) :
		psprintf("a configuration file's line %d", unknown.line);

	return unknown.bad_value ?
		psprintf("%s sets \"%s\" to a value it refuses", where, unknown.name) :
		psprintf("%s sets \"%s\", which is not a dynamo_atomic setting", where, unknown.name);
}

void
config_check_require_clean(void)
{
	bool		with_path;

	scan_if_reloaded();
	if (!unknown.found)
		return;
	/* The file's path is for those who may read the settings (config_file is). */
	with_path = IsTransactionState() && has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_SETTINGS);
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("dynamo_atomic sends no request: %s", line_problem(with_path)),
			 unknown.nearest[0] ?
			 errhint("Did you mean \"%s\"?  Correct or remove the line, then reload the configuration.", unknown.nearest) :
			 errhint("Correct or remove the line, then reload the configuration."),
			 errdetail("PostgreSQL ignores a line it cannot apply, and an ignored dynamo_atomic line could send "
					   "requests elsewhere than meant (without its endpoint line, a set-up talks to AWS).")));
}

void
config_check_warn_at_start(void)
{
	scan_if_reloaded();
	if (unknown.found)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s: dynamo_atomic sends no request until it is corrected", line_problem(true)),
				 unknown.nearest[0] ? errhint("Did you mean \"%s\"?", unknown.nearest) : 0));
}
