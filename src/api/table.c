/*
 * table.c - dynamo_create_counter_table and dynamo_delete_table.
 *
 * Both are resent after a lost answer, because each recognises its own
 * earlier success: a CreateTable resend that finds the table with the key
 * schema it asked for, and a DeleteTable resend that finds no table, are
 * taken as the first sending having worked.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"

#include "args.h"
#include "ddb.h"
#include "lock_item.h"
#include "settings.h"
#include "table.h"
#include "table_replication.h"
#include "extension_version.h"

/* How long to wait for a table to become ACTIVE, or to go, before giving up. */
#define TABLE_WAIT_LIMIT_MS (10 * 60 * 1000)

static cJSON *
table_request(const char *table)
{
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", table);
	return req;
}

/* DescribeTable's "Table", or NULL when there is no such table. */
static const cJSON *
describe_table(const char *table)
{
	DdbCall		call = {0};
	DdbResult	res;

	call.operation = "DescribeTable";
	call.request = table_request(table);
	call.tolerated_error = "ResourceNotFoundException";
	ddb_execute(&call, &res);
	return json_get(res.response, "Table");
}

static const char *
table_status(const cJSON *description)
{
	return json_get_string(description, "TableStatus");
}

static bool
is_key(const cJSON *element, const char *name, const char *type)
{
	const char *n = json_get_string(element, "AttributeName");
	const char *t = json_get_string(element, "KeyType");

	return element && n && t && strcmp(n, name) == 0 && strcmp(t, type) == 0;
}

/* Is the key schema exactly the HASH key (and RANGE key, when not NULL) asked for? */
static bool
has_key_schema(const cJSON *description, const char *key, const char *range_key)
{
	const cJSON *schema = json_get(description, "KeySchema");
	const cJSON *first = cJSON_IsArray(schema) ? schema->child : NULL;
	const cJSON *second = first ? first->next : NULL;

	if (range_key == NULL)
		return is_key(first, key, "HASH") && second == NULL;
	return second != NULL && second->next == NULL &&
		((is_key(first, key, "HASH") && is_key(second, range_key, "RANGE")) ||
		 (is_key(second, key, "HASH") && is_key(first, range_key, "RANGE")));
}

static void
add_key_attribute(cJSON *definitions, cJSON *schema, const char *name, const char *type)
{
	cJSON	   *item;

	json_append_object(definitions, &item);
	json_add_string(item, "AttributeName", name);
	json_add_string(item, "AttributeType", "S");
	json_append_object(schema, &item);
	json_add_string(item, "AttributeName", name);
	json_add_string(item, "KeyType", type);
}

/*
 * Polls DescribeTable until the table is ACTIVE (want_gone: until it no
 * longer exists).  A table AWS has only just accepted may briefly be
 * unknown to DescribeTable: that counts as still being created.
 */
static void
wait_for_table(const char *table, bool want_gone)
{
	TimestampTz give_up = GetCurrentTimestamp() + (int64) TABLE_WAIT_LIMIT_MS * 1000;
	long		pause_ms = 50;

	for (;;)
	{
		const cJSON *description = describe_table(table);
		const char *status = table_status(description);

		if (want_gone ? description == NULL : (status && strcmp(status, "ACTIVE") == 0))
			return;
		if (!want_gone && status && strcmp(status, "DELETING") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("DynamoDB table \"%s\" is being deleted", table)));
		if (GetCurrentTimestamp() > give_up)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg(want_gone ? "DynamoDB table \"%s\" was not deleted within %d seconds" :
							"DynamoDB table \"%s\" did not become ACTIVE within %d seconds",
							table, TABLE_WAIT_LIMIT_MS / 1000),
					 errdetail("Its status is %s.", status ? status : "unknown")));
		ddb_sleep_ms(pause_ms);
		pause_ms = Min(pause_ms * 2, 2000);
	}
}

void
table_create(const char *table, const char *key, const char *range_key, bool if_not_exists)
{
	cJSON	   *req = table_request(table);
	cJSON	   *definitions = json_add_array(req, "AttributeDefinitions");
	cJSON	   *schema = json_add_array(req, "KeySchema");
	DdbCall		call = {0};

	add_key_attribute(definitions, schema, key, "HASH");
	if (range_key)
		add_key_attribute(definitions, schema, range_key, "RANGE");
	json_add_string(req, "BillingMode", "PAY_PER_REQUEST");

	call.operation = "CreateTable";
	call.request = req;
	call.resend_safe = true;	/* a resend recognises the table it made */
	call.tolerated_error = "ResourceInUseException";

	for (;;)
	{
		DdbResult	res;
		const cJSON *existing;
		const char *status;

		ddb_execute(&call, &res);
		if (res.response != NULL)
			break;

		/* "In use": the table exists, or is still being deleted. */
		existing = describe_table(table);
		status = table_status(existing);
		if (existing == NULL)
			continue;			/* its deletion finished meanwhile */
		if (status && strcmp(status, "DELETING") == 0)
		{
			ereport(NOTICE,
					(errmsg("DynamoDB table \"%s\" is being deleted; waiting for that to finish", table)));
			wait_for_table(table, true);
			continue;
		}
		if (res.maybe_applied_before && has_key_schema(existing, key, range_key))
			break;				/* our own earlier sending made it */
		ereport(if_not_exists ? NOTICE : ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg(if_not_exists ? "DynamoDB table \"%s\" already exists, skipping" :
						"DynamoDB table \"%s\" already exists", table),
				 ddb_errdetail(res.tolerated),
				 if_not_exists ? 0 : errhint("Pass if_not_exists => true to accept an existing table."),
				 ddb_errcontext(res.tolerated)));
		break;
	}
	wait_for_table(table, false);
	table_replication_forget(table, NULL, NULL, true);	/* what an earlier table of this name was */
}

void
table_enable_ttl(const char *table, const char *attribute)
{
	cJSON	   *req = table_request(table);
	const cJSON *ttl = json_get(ddb_read("DescribeTimeToLive", req), "TimeToLiveDescription");
	const char *status = json_get_string(ttl, "TimeToLiveStatus");
	const char *current = json_get_string(ttl, "AttributeName");
	cJSON	   *spec;
	DdbCall		call = {0};
	DdbResult	res;
	TableReplication replication;

	if (status && current && strcmp(current, attribute) == 0 &&
		(strcmp(status, "ENABLED") == 0 || strcmp(status, "ENABLING") == 0))
		return;
	if (status && (strcmp(status, "ENABLED") == 0 || strcmp(status, "ENABLING") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DynamoDB table \"%s\" already has TTL on attribute \"%s\"", table,
						current ? current : "?"),
				 errdetail("Lock items need TTL on \"%s\"; a table has at most one TTL attribute.", attribute)));

	/* DynamoDB has no TTL on MRSC global tables (if_not_exists met one made so). */
	table_replication_get(table, NULL, NULL, &replication, NULL);
	if (replication.mode == TABLE_MRSC)
	{
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("DynamoDB table \"%s\" is a multi-Region strongly consistent (MRSC) global table: it gets no TTL",
						table),
				 errdetail("DynamoDB does not support TTL on MRSC tables. Items whose \"%s\" has passed are not "
						   "removed; nothing else depends on it.", attribute)));
		return;
	}
	req = table_request(table);
	spec = json_add_object(req, "TimeToLiveSpecification");
	json_add_string(spec, "AttributeName", attribute);
	json_add_bool(spec, "Enabled", true);
	call.operation = "UpdateTimeToLive";
	call.request = req;
	call.resend_safe = true;	/* setting the same TTL again changes nothing */
	/* DynamoDB always has TTL; some other implementations (dynalite) do not. */
	call.tolerated_error = "UnknownOperationException";
	ddb_execute(&call, &res);
	if (res.tolerated)
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the endpoint does not support TTL: table \"%s\" was created without it", table),
				 errdetail("Items whose \"%s\" has passed will not be removed; nothing else depends on it.",
						   attribute)));
}

DYNAMO_SQL_FUNCTION(dynamo_create_counter_table);

/* dynamo_create_counter_table(table_name, if_not_exists, key_attribute) */
static Datum
dynamo_create_counter_table_checked(PG_FUNCTION_ARGS)
{
	char	   *table = arg_table_name(fcinfo, 0, TABLE_FOR_COUNTERS);
	bool		if_not_exists = arg_required_bool(fcinfo, 1, "if_not_exists");
	char	   *key = arg_attribute_name(fcinfo, 2, "key_attribute");

	lock_key_refuse(key, "a counter table");

	table_create(table, key, NULL, if_not_exists);
	PG_RETURN_VOID();
}

DYNAMO_SQL_FUNCTION(dynamo_create_lock_table);

/* dynamo_create_lock_table(table_name, if_not_exists): key lock_name, TTL on ttl. */
static Datum
dynamo_create_lock_table_checked(PG_FUNCTION_ARGS)
{
	char	   *table = arg_table_name(fcinfo, 0, TABLE_FOR_LOCKS);
	bool		if_not_exists = arg_required_bool(fcinfo, 1, "if_not_exists");

	table_create(table, "lock_name", NULL, if_not_exists);
	table_enable_ttl(table, "ttl");
	PG_RETURN_VOID();
}

DYNAMO_SQL_FUNCTION(dynamo_create_item_table);

/* dynamo_create_item_table(table_name, if_not_exists): pk hash, sk range, TTL on ttl. */
static Datum
dynamo_create_item_table_checked(PG_FUNCTION_ARGS)
{
	char	   *table = arg_table_name(fcinfo, 0, TABLE_FOR_ITEMS);
	bool		if_not_exists = arg_required_bool(fcinfo, 1, "if_not_exists");

	table_create(table, "pk", "sk", if_not_exists);
	table_enable_ttl(table, "ttl");
	PG_RETURN_VOID();
}

DYNAMO_SQL_FUNCTION(dynamo_delete_table);

/* dynamo_delete_table(table_name, if_exists): no default table, on purpose. */
static Datum
dynamo_delete_table_checked(PG_FUNCTION_ARGS)
{
	char	   *table = arg_table_name(fcinfo, 0, TABLE_FOR_ANYTHING);
	bool		if_exists = arg_required_bool(fcinfo, 1, "if_exists");
	DdbCall		call = {0};
	DdbResult	res;

	call.operation = "DeleteTable";
	call.request = table_request(table);
	call.resend_safe = true;	/* a resend that finds no table: the first worked */
	call.tolerated_error = "ResourceNotFoundException";
	ddb_execute(&call, &res);
	/* A table of this name made later starts as an ordinary one: described afresh. */
	table_replication_forget(table, NULL, NULL, true);
	if (res.response == NULL && !res.maybe_applied_before)
		ereport(if_exists ? NOTICE : ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg(if_exists ? "DynamoDB table \"%s\" does not exist, skipping" :
						"DynamoDB table \"%s\" does not exist", table),
				 ddb_errdetail(res.tolerated),
				 ddb_errcontext(res.tolerated)));
	PG_RETURN_VOID();
}
