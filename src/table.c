/*
 * table.c - dynamo_create_counter_table and dynamo_delete_table.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"

#include "args.h"
#include "ddb.h"

/* How long to wait for a new table to become ACTIVE before giving up. */
#define ACTIVE_WAIT_LIMIT_MS (10 * 60 * 1000)

static cJSON *
table_request(const char *table)
{
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", table);
	return req;
}

/*
 * Polls DescribeTable until the table is ACTIVE.  A table AWS has only
 * just accepted may briefly be unknown to DescribeTable: that counts as
 * still being created.
 */
static void
wait_until_active(const char *table)
{
	TimestampTz give_up = GetCurrentTimestamp() + (int64) ACTIVE_WAIT_LIMIT_MS * 1000;
	long		pause_ms = 50;

	for (;;)
	{
		cJSON	   *resp = ddb_call_tolerating("DescribeTable", table_request(table),
											   "ResourceNotFoundException");
		const char *status = json_get_string(json_get(resp, "Table"), "TableStatus");

		if (status && strcmp(status, "ACTIVE") == 0)
			return;
		if (status && strcmp(status, "DELETING") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("DynamoDB table \"%s\" is being deleted", table)));
		if (GetCurrentTimestamp() > give_up)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("DynamoDB table \"%s\" did not become ACTIVE within %d seconds",
							table, ACTIVE_WAIT_LIMIT_MS / 1000),
					 errdetail("Its status is %s.", status ? status : "unknown")));
		ddb_sleep_ms(pause_ms);
		pause_ms = Min(pause_ms * 2, 2000);
	}
}

PG_FUNCTION_INFO_V1(dynamo_create_counter_table);

/* dynamo_create_counter_table(table_name, if_not_exists, key_attribute) */
Datum
dynamo_create_counter_table(PG_FUNCTION_ARGS)
{
	char	   *table = arg_table_name(fcinfo, 0, true);
	bool		if_not_exists = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	char	   *key = arg_attribute_name(fcinfo, 2, "key_attribute");
	cJSON	   *req = table_request(table);
	cJSON	   *item;

	json_append_object(json_add_array(req, "AttributeDefinitions"), &item);
	json_add_string(item, "AttributeName", key);
	json_add_string(item, "AttributeType", "S");
	json_append_object(json_add_array(req, "KeySchema"), &item);
	json_add_string(item, "AttributeName", key);
	json_add_string(item, "KeyType", "HASH");
	json_add_string(req, "BillingMode", "PAY_PER_REQUEST");

	if (ddb_call_tolerating("CreateTable", req, "ResourceInUseException") == NULL)
	{
		if (!if_not_exists)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("DynamoDB table \"%s\" already exists", table)));
		ereport(NOTICE,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("DynamoDB table \"%s\" already exists, skipping", table)));
	}
	wait_until_active(table);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(dynamo_delete_table);

/* dynamo_delete_table(table_name, if_exists): no default table, on purpose. */
Datum
dynamo_delete_table(PG_FUNCTION_ARGS)
{
	char	   *table = arg_table_name(fcinfo, 0, false);
	bool		if_exists = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);

	if (ddb_call_tolerating("DeleteTable", table_request(table), "ResourceNotFoundException") == NULL)
	{
		if (!if_exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("DynamoDB table \"%s\" does not exist", table)));
		ereport(NOTICE,
				(errmsg("DynamoDB table \"%s\" does not exist, skipping", table)));
	}
	PG_RETURN_VOID();
}
