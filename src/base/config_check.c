/*
 * config_check.c - a misspelt dynamo_atomic.* line stops every request
 * (config_check.h).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "config_check.h"

#define PREFIX "dynamo_atomic."

/* The first unknown line found by the last reading of the files. */
typedef struct UnknownLine
{
	bool		found;
	char		file[MAXPGPATH];
	int			line;
	char		name[256];
	char		nearest[256];	/* "" when nothing is near */
} UnknownLine;

static UnknownLine unknown;
static bool scanned = false;
static TimestampTz scanned_for_load = 0;	/* PgReloadTime when the files were read */

/* This extension's setting whose name is nearest name's (by edit distance), or "". */
static void
nearest_setting(const char *name, char *out, size_t out_size)
{
	int			best = -1;
	int			n_vars;
	struct config_generic **vars;

	/* The GUC table's interface changed in PostgreSQL 16 (a count out, no GetNumConfigOptions). */
#if PG_VERSION_NUM >= 160000
	vars = get_guc_variables(&n_vars);
#else
	vars = get_guc_variables();
	n_vars = GetNumConfigOptions();
#endif
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
		if (item->name == NULL || pg_strncasecmp(item->name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		if (GetConfigOption(item->name, true, false) != NULL)
			continue;
		unknown.found = true;
		strlcpy(unknown.file, item->filename ? item->filename : "?", sizeof(unknown.file));
		unknown.line = item->sourceline;
		strlcpy(unknown.name, item->name, sizeof(unknown.name));
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

void
config_check_require_clean(void)
{
	scan_if_reloaded();
	if (!unknown.found)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("dynamo_atomic sends no request: \"%s\" line %d sets \"%s\", which is not a dynamo_atomic setting",
					unknown.file, unknown.line, unknown.name),
			 unknown.nearest[0] ?
			 errhint("Did you mean \"%s\"?  Correct or remove the line, then reload the configuration.", unknown.nearest) :
			 errhint("Correct or remove the line, then reload the configuration."),
			 errdetail("PostgreSQL ignores a line it does not know, and an ignored dynamo_atomic line could send "
					   "requests elsewhere than meant (a misspelt endpoint leaves the AWS one).")));
}

void
config_check_warn_at_start(void)
{
	scan_if_reloaded();
	if (unknown.found)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("\"%s\" line %d sets \"%s\", which is not a dynamo_atomic setting: dynamo_atomic sends no request until it is corrected",
						unknown.file, unknown.line, unknown.name),
				 unknown.nearest[0] ? errhint("Did you mean \"%s\"?", unknown.nearest) : 0));
}
