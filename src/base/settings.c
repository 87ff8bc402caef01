/*
 * settings.c - defines the dynamo_atomic.* GUCs and checks their values.
 *
 * Where requests go, with which identity and to which tables is a
 * superuser's decision (PGC_SUSET); the secret and the session token are
 * also hidden from non-superusers and from SHOW ALL, and refused where
 * PostgreSQL would store them in a catalog every role can read.
 * Timeouts, retries and the default counter table are per-session choices
 * any user may make.
 */
#include "postgres.h"
#include "pg_compat.h"

#include <openssl/evp.h>

#include "miscadmin.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "settings.h"

/*
 * The ground floor: everything above may use these settings, and they use
 * nothing above them.  What only an upper layer can judge (an endpoint
 * URL) is handed in by the module's entry point.
 */
static bool (*endpoint_url_is_valid) (const char *url);

char	   *dynamo_endpoint = NULL;
char	   *dynamo_region = NULL;
char	   *dynamo_access_key_id = NULL;
char	   *dynamo_secret_access_key = NULL;
char	   *dynamo_session_token = NULL;
char	   *dynamo_profile = NULL;
int			dynamo_connect_timeout_ms = 3000;
int			dynamo_request_timeout_ms = 10000;
int			dynamo_max_retries = 3;
char	   *dynamo_counter_table = NULL;
bool		dynamo_retry_unknown_writes = false;
char	   *dynamo_allowed_tables = NULL;
char	   *dynamo_single_writer_tables = NULL;
char	   *dynamo_lock_table = NULL;
char	   *dynamo_item_table = NULL;
int			dynamo_query_page_size = 0;
int			dynamo_lock_clock_skew_ms = 1000;
int			dynamo_lock_commit_margin_ms = 500;
int			dynamo_lock_commit_check = LOCK_COMMIT_CHECK_LEASE;

static const struct config_enum_entry lock_commit_check_options[] = {
	{"lease", LOCK_COMMIT_CHECK_LEASE, false},
	{"read", LOCK_COMMIT_CHECK_READ, false},
	{NULL, 0, false}
};
int			dynamo_lock_loss_cancels = LOCK_LOSS_CANCELS_TRANSACTION;

static const struct config_enum_entry lock_loss_cancels_options[] = {
	{"none", LOCK_LOSS_CANCELS_NONE, false},
	{"transaction", LOCK_LOSS_CANCELS_TRANSACTION, false},
	{"all", LOCK_LOSS_CANCELS_ALL, false},
	{NULL, 0, false}
};
int			dynamo_max_locks = 512;
int			dynamo_max_id_counters = 64;
int			dynamo_lock_workers = 3;
int			dynamo_id_cache = 1;
int			dynamo_id_cache_max = 0;
int			dynamo_table_recheck_s = 60;
bool		dynamo_id_prefetch = true;
bool		dynamo_combine_increments = true;
bool		dynamo_direct_requests = true;

/* Moves whenever a setting of settings_target_fingerprint may have changed. */
static uint64 target_generation = 1;

/* dynamo_atomic.allowed_tables as ",A,B,", or NULL for any table. */
static const char *allowed_tables_list = NULL;
/* dynamo_atomic.single_writer_tables, the same way. */
static const char *single_writer_tables_list = NULL;

void
settings_credentials_digest(char *out)
{
	const char *const values[] = {
		dynamo_access_key_id, dynamo_secret_access_key, dynamo_session_token, dynamo_profile
	};
	StringInfoData buf;
	/* Computed again only when one of these settings may have changed (their assign hooks). */
	static char cached[CREDENTIALS_DIGEST_LEN];
	static uint64 cached_generation = 0;

	if (cached_generation == target_generation)
	{
		memcpy(out, cached, CREDENTIALS_DIGEST_LEN);
		return;
	}

	/*
	 * Length-prefixed, so that no two settings run together alike.  Sized
	 * at once: a buffer that grew would leave a copy of the secret behind.
	 */
	initStringInfo(&buf);
	{
		size_t		total = 0;

		for (int i = 0; i < lengthof(values); i++)
			total += (values[i] ? strlen(values[i]) : 0) + 32;
		enlargeStringInfo(&buf, (int) total);
	}
	for (int i = 0; i < lengthof(values); i++)
		appendStringInfo(&buf, "%zu:%s;", values[i] ? strlen(values[i]) : 0, values[i] ? values[i] : "");
	{
		/*
		 * OpenSSL's own SHA-256: PostgreSQL's cryptohash wants a resource
		 * owner, which the postmaster has none of at shared memory set-up.
		 */
		unsigned char digest[EVP_MAX_MD_SIZE];
		unsigned int digest_len = 0;

		if (!EVP_Digest(buf.data, buf.len, digest, &digest_len, EVP_sha256(), NULL) ||
			digest_len * 2 + 1 != CREDENTIALS_DIGEST_LEN)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not hash the credentials settings")));
		hex_encode((const char *) digest, digest_len, out);
		out[2 * digest_len] = '\0';
		explicit_bzero(digest, sizeof(digest));
	}
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
	memcpy(cached, out, CREDENTIALS_DIGEST_LEN);
	cached_generation = target_generation;
}

static void
bump_target_generation(const char *newval, void *extra)
{
	target_generation++;
}

uint64
settings_target_generation(void)
{
	return target_generation;
}

uint64
settings_target_fingerprint(void)
{
	const char *const values[] = {
		dynamo_endpoint, dynamo_region, dynamo_access_key_id, dynamo_secret_access_key,
		dynamo_session_token, dynamo_profile
	};
	uint64		h = 0;

	for (int i = 0; i < lengthof(values); i++)
	{
		const char *v = values[i] ? values[i] : "";

		h = hash_combine64(h, hash_bytes_extended((const unsigned char *) v, strlen(v), i));
	}
	return h;
}

bool
table_name_is_valid(const char *name)
{
	size_t		len = strlen(name);

	if (len < 3 || len > 255)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* The endpoint is checked by the same parser that later uses it. */
static bool
check_endpoint(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || endpoint_url_is_valid(*newval))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("The endpoint must be an http:// or https:// URL with a host, "
						"without user name, query or fragment.");
	return false;
}

bool
region_is_valid(const char *region)
{
	size_t		len = strlen(region);

	if (len == 0 || len > 64)
		return false;
	for (const char *p = region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

static bool
check_region(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || region_is_valid(*newval))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("A region name has only lower-case letters, digits and hyphens, like \"us-east-1\".");
	return false;
}

/*
 * ALTER ROLE/DATABASE ... SET store a value in pg_db_role_setting, and a
 * function's SET clause in pg_proc: both readable by every role.  A
 * secret must not go there; PostgreSQL validates those with PGC_S_TEST and
 * applies them at login with the sources below.
 */
static bool
check_secret(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (source == PGC_S_TEST || source == PGC_S_DATABASE || source == PGC_S_USER ||
		source == PGC_S_DATABASE_USER || source == PGC_S_GLOBAL)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("AWS secrets cannot be stored with ALTER ROLE, ALTER DATABASE or a function's SET clause");
		GUC_check_errdetail("Those settings are kept in pg_db_role_setting and pg_proc, which every role can read.");
		GUC_check_errhint("Use the server's environment, an AWS profile, postgresql.conf, or SET in a session.");
		return false;
	}
	return true;
}

/* Normalises a list of tables "A, B" to ",A,B," (table names hold no comma) in *extra. */
static bool
check_table_list(char **newval, void **extra, GucSource source)
{
	char	   *copy;
	char	   *list;
	char	   *out;
	char	   *save = NULL;

	if (*newval == NULL || strspn(*newval, " \t") == strlen(*newval))
		return true;
	copy = strdup(*newval);
	list = compat_guc_extra_malloc(strlen(*newval) + 3);	/* GUC frees extra itself */
	if (copy == NULL || list == NULL)
	{
		free(copy);
		if (list)
			compat_guc_extra_free(list);
		return false;
	}
	out = list;
	*out++ = ',';
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save))
	{
		char	   *end;

		while (*name == ' ' || *name == '\t')
			name++;
		end = name + strlen(name);
		while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!table_name_is_valid(name))
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("\"%s\" is not a DynamoDB table name: the list is table names separated by commas.",
								name);
			free(copy);
			compat_guc_extra_free(list);
			return false;
		}
		out += sprintf(out, "%s,", name);
	}
	free(copy);
	*extra = list;
	return true;
}

static void
assign_allowed_tables(const char *newval, void *extra)
{
	allowed_tables_list = extra;
	/* Counters resolved before were checked against the old list (resolved_counters.h). */
	target_generation++;
}

static void
assign_single_writer_tables(const char *newval, void *extra)
{
	single_writer_tables_list = extra;
	target_generation++;		/* as for allowed_tables */
}

bool
settings_table_is_single_writer(const char *table)
{
	char	   *needle;
	bool		listed;

	if (single_writer_tables_list == NULL)
		return false;
	needle = psprintf(",%s,", table);
	listed = strstr(single_writer_tables_list, needle) != NULL;
	pfree(needle);
	return listed;
}

void
settings_check_table_allowed(const char *table)
{
	char	   *needle;

	if (allowed_tables_list == NULL || table == NULL)
		return;
	needle = psprintf(",%s,", table);
	if (strstr(allowed_tables_list, needle) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("DynamoDB table \"%s\" is not in dynamo_atomic.allowed_tables", table),
				 errhint("A superuser lists the tables this server may use in dynamo_atomic.allowed_tables.")));
	pfree(needle);
}

static bool
check_counter_table(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !table_name_is_valid(*newval))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("DynamoDB table names have 3 to 255 characters: letters, digits, '_', '-' and '.'.");
		return false;
	}
	return true;
}

void
settings_define(bool (*url_is_valid) (const char *url))
{
	endpoint_url_is_valid = url_is_valid;
	DefineCustomStringVariable("dynamo_atomic.endpoint",
							   "DynamoDB endpoint URL.",
							   "Empty: AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL, then the AWS profile's "
							   "services section and endpoint_url, then https://dynamodb.<region>.amazonaws.com.",
							   &dynamo_endpoint, "", PGC_SUSET, 0,
							   check_endpoint, bump_target_generation, NULL);
	DefineCustomStringVariable("dynamo_atomic.region",
							   "AWS region used for signing and the default endpoint.",
							   "Empty: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region.",
							   &dynamo_region, "", PGC_SUSET, 0,
							   check_region, bump_target_generation, NULL);
	DefineCustomStringVariable("dynamo_atomic.access_key_id",
							   "AWS access key ID.",
							   "Empty: the AWS credential chain (environment, profile, container, instance).",
							   &dynamo_access_key_id, "", PGC_SUSET, 0,
							   NULL, bump_target_generation, NULL);
	DefineCustomStringVariable("dynamo_atomic.secret_access_key",
							   "AWS secret access key.",
							   "Visible to superusers only.",
							   &dynamo_secret_access_key, "", PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   check_secret, bump_target_generation, NULL);
	DefineCustomStringVariable("dynamo_atomic.session_token",
							   "AWS session token for temporary credentials.",
							   "Visible to superusers only.",
							   &dynamo_session_token, "", PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   check_secret, bump_target_generation, NULL);
	DefineCustomStringVariable("dynamo_atomic.profile",
							   "Profile to read from the AWS shared credentials and config files.",
							   "Empty: AWS_PROFILE, then \"default\".",
							   &dynamo_profile, "", PGC_SUSET, 0,
							   NULL, bump_target_generation, NULL);
	DefineCustomIntVariable("dynamo_atomic.connect_timeout_ms",
							"Time allowed to open a connection to DynamoDB.",
							NULL,
							&dynamo_connect_timeout_ms, 3000, 1, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.request_timeout_ms",
							"Time allowed for one DynamoDB request, connection included.",
							"Each retry gets this much again.",
							&dynamo_request_timeout_ms, 10000, 1, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.max_retries",
							"Retries after throttling, server errors and network failures.",
							NULL,
							&dynamo_max_retries, 3, 0, 20,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.counter_table",
							   "DynamoDB table used by counter functions given no table name.",
							   NULL,
							   &dynamo_counter_table, "AtomicCounters", PGC_USERSET, 0,
							   check_counter_table, NULL, NULL);
	DefineCustomBoolVariable("dynamo_atomic.retry_unknown_writes",
							 "Resend an unbounded dynamo_increment whose answer was lost.",
							 "Off: such an increment raises SQLSTATE 40003, since a resend would "
							 "apply it twice if the first sending was applied. On: it is resent; "
							 "a counter used for IDs then only skips values.",
							 &dynamo_retry_unknown_writes, false, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.allowed_tables",
							   "DynamoDB tables this server's functions may use, separated by commas.",
							   "Empty: any table the AWS identity may use.",
							   &dynamo_allowed_tables, "", PGC_SUSET, 0,
							   check_table_list, assign_allowed_tables, NULL);
	DefineCustomStringVariable("dynamo_atomic.single_writer_tables",
							   "Global tables (MREC) that only this region writes, separated by commas.",
							   "Counters, IDs, locks and optimistic writes refuse a multi-Region eventually "
							   "consistent global table unless it is listed here: list it only when no other "
							   "region ever writes these items (an active/passive deployment).",
							   &dynamo_single_writer_tables, "", PGC_SUSET, 0,
							   check_table_list, assign_single_writer_tables, NULL);

	DefineCustomStringVariable("dynamo_atomic.lock_table",
							   "DynamoDB table used by lock functions given no table name.",
							   NULL,
							   &dynamo_lock_table, "Locks", PGC_USERSET, 0,
							   check_counter_table, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.item_table",
							   "DynamoDB table used by item functions given no table name.",
							   NULL,
							   &dynamo_item_table, "AtomicItems", PGC_USERSET, 0,
							   check_counter_table, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.query_page_size",
							"Items per Query request of dynamo_query (0: DynamoDB's own pages of up to 1 MB).",
							NULL,
							&dynamo_query_page_size, 0, 0, 1000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.lock_clock_skew_ms",
							"How far apart the clocks of servers sharing locks may be.",
							"An expired lock is taken over only this long after its lease ended "
							"by the taker's clock. Every server sharing a lock table should use the same value.",
							&dynamo_lock_clock_skew_ms, 1000, 0, 3600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.lock_commit_margin_ms",
							"Lease a transaction's locks must have left at commit, beyond lock_clock_skew_ms.",
							"A commit under a transaction-scope lock, or a session lock bound with "
							"dynamo_guard_xact, fails (40001) when less of its lease is left.",
							&dynamo_lock_commit_margin_ms, 500, 0, 3600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomEnumVariable("dynamo_atomic.lock_commit_check",
							 "How a commit checks the locks it relies on.",
							 "lease: the lease this server's registry records (no request); read: that, "
							 "and a consistent read of each lock item (a request per lock at every commit).",
							 &dynamo_lock_commit_check, LOCK_COMMIT_CHECK_LEASE, lock_commit_check_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("dynamo_atomic.lock_loss_cancels",
							 "Whose running statements are cancelled when a lock's lease is in danger or lost.",
							 "transaction: the holders of transaction-level locks and of session locks bound "
							 "with dynamo_guard_xact (until the transaction ends); all: session locks' holders "
							 "too (once per danger); none: nobody. As it is when the lock is taken or bound.",
							 &dynamo_lock_loss_cancels, LOCK_LOSS_CANCELS_TRANSACTION, lock_loss_cancels_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	/* Sizes shared memory: exists only when preloaded (defining it later is FATAL). */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("dynamo_atomic.max_locks",
								"Locks this server's sessions may hold at once (shared memory).",
								NULL,
								&dynamo_max_locks, 512, 16, 100000,
								PGC_POSTMASTER, 0, NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("dynamo_atomic.max_id_counters",
								"Counters whose ID blocks are shared in shared memory.",
								NULL,
								&dynamo_max_id_counters, 64, 1, 100000,
								PGC_POSTMASTER, 0, NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("dynamo_atomic.lock_workers",
								"Lock workers: heartbeats and releases of different locks run side by side.",
								"A heartbeat that hangs holds one worker, at most until its own lease ends; "
								"the first worker also fetches ID blocks ahead.",
								&dynamo_lock_workers, 3, 2, MAX_LOCK_WORKERS,
								PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("dynamo_atomic.id_prefetch",
							 "Let the lock worker fetch a counter's next ID block ahead (cache of 2 or more).",
							 "Recorded when a counter is first used in the server.",
							 &dynamo_id_prefetch, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("dynamo_atomic.combine_increments",
							 "Send this server's concurrent unbounded increments of one counter as one request.",
							 "Needs shared_preload_libraries; a lock worker sends each combined request.",
							 &dynamo_combine_increments, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("dynamo_atomic.direct_requests",
							 "Write DynamoDB requests straight onto the backend's kept-alive connection.",
							 "libcurl still makes the connection (TLS included); off sends each request as a "
							 "full libcurl transfer. A proxy in the server's environment always means transfers.",
							 &dynamo_direct_requests, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.id_cache",
							"IDs dynamo_nextval reserves per request when its cache argument is NULL (1: none).",
							NULL,
							&dynamo_id_cache, 1, 1, 1000000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.id_cache_max",
							"Largest ID block a fast-draining counter grows to (0: blocks are exactly cache).",
							"A block used up within a second makes the next one twice as large, up to this; "
							"one that lasts over ten seconds halves it, down to cache.",
							&dynamo_id_cache_max, 0, 0, 1000000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.table_recheck_interval",
							"How long what DescribeTable said of a table's replication is used before it is asked again.",
							"Counters, IDs, locks and optimistic writes check whether their table is a global "
							"table; a replica can be added to a table at any time.",
							&dynamo_table_recheck_s, 60, 1, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);

	MarkGUCPrefixReserved("dynamo_atomic");
}
