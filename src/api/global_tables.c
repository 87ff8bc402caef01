/*
 * global_tables.c - refuses the writes a global table's replication
 * cannot keep (see global_tables.h).
 */
#include "postgres.h"

#include "global_tables.h"
#include "settings.h"
#include "table_replication.h"

/* What breaks, for each kind of write, when two regions write one MREC item. */
static const char *
what_breaks(GuardedWrite kind)
{
	switch (kind)
	{
		case GUARDED_COUNTER:
			return "two regions can be given the same counter value, and an increment made in one can be lost";
		case GUARDED_IDS:
			return "servers in two regions can reserve the same block of IDs";
		case GUARDED_LOCK:
			return "a server in each region can take this lock at the same time";
		case GUARDED_READ_LOCK:
		case GUARDED_TRANSACTION:
			return "two regions can each pass the same version check, and one write silently replaces the other";
		case GUARDED_CONDITIONAL_WRITE:
		case GUARDED_GENERAL_TRANSACTION:
			return "two regions can each pass the same condition, and an update made in one can be lost "
				"when the other's item replaces it";
	}
	return "";
}

static const char *
function_of(GuardedWrite kind)
{
	switch (kind)
	{
		case GUARDED_COUNTER:
			return "counters";
		case GUARDED_IDS:
			return "IDs";
		case GUARDED_LOCK:
			return "locks";
		case GUARDED_READ_LOCK:
			return "dynamo_read_lock";
		case GUARDED_TRANSACTION:
			return "dynamo_set_atomic";
		case GUARDED_CONDITIONAL_WRITE:
			return "conditional writes and updates";
		case GUARDED_GENERAL_TRANSACTION:
			return "dynamo_transact_write";
	}
	return "";
}

void
global_tables_check(const char *table, const char *endpoint_url, const char *region, GuardedWrite kind)
{
	TimestampTz valid_until;

	global_tables_check_until(table, endpoint_url, region, kind, &valid_until);
}

void
global_tables_check_until(const char *table, const char *endpoint_url, const char *region, GuardedWrite kind,
						  TimestampTz *valid_until)
{
	TableReplication r;

	/*
	 * A superuser's declaration: no other region writes it, whatever it is;
	 * not even described.  (Taking it back moves the settings generation,
	 * which resolves an ID counter, and checks it, again.)
	 */
	if (settings_table_is_single_writer(table))
	{
		*valid_until = DT_NOEND;
		return;
	}
	table_replication_get(table, endpoint_url, region, &r, valid_until);
	switch (r.mode)
	{
		case TABLE_SINGLE_REGION:
			return;
		case TABLE_MRSC:
			if (kind != GUARDED_TRANSACTION && kind != GUARDED_GENERAL_TRANSACTION)
				return;
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s cannot write DynamoDB table \"%s\": it is a multi-Region strongly "
							"consistent (MRSC) global table", function_of(kind), table),
					 errdetail("DynamoDB does not support transactions (TransactWriteItems) on MRSC tables; "
							   "its replicas are %s.", r.replicas),
					 errhint("Keep the items of a transaction in single-Region tables, or hold a "
							 "lock (dynamo_get_lock) on the MRSC table and write with its fencing token.")));
			break;
		case TABLE_MREC:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("DynamoDB table \"%s\" is a multi-Region eventually consistent (MREC) global table: "
							"%s would not be safe on it", table, function_of(kind)),
					 errdetail("Its replicas (%s) each apply writes on their own, evaluate conditions against "
							   "their own copy and keep the last writer's item: %s.", r.replicas, what_breaks(kind)),
					 errhint("Use a single-Region table or a multi-Region strongly consistent (MRSC) one. If no "
							 "other region ever writes this table (active/passive), a superuser can list it in "
							 "dynamo_atomic.single_writer_tables.")));
			break;
		case TABLE_MODE_UNKNOWN:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot tell whether DynamoDB table \"%s\" is a global table: %s", table, r.replicas),
					 errdetail("On a multi-Region eventually consistent (MREC) global table %s, so %s "
							   "are refused until the table can be described.", what_breaks(kind), function_of(kind)),
					 errhint("Allow dynamodb:DescribeTable on the table (and dynamodb:DescribeGlobalTable, for a "
							 "table with a stream) to the server's AWS identity. If no other region ever writes "
							 "this table, a superuser can list it in dynamo_atomic.single_writer_tables.")));
			break;
	}
}
