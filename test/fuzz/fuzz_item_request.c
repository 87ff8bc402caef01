/*
 * fuzz_item_request.c - libFuzzer harness for the general item API's
 * request builders: whatever the arguments (an operation, a table, a key,
 * an item, expressions, names, values, return_values) and whatever a
 * DescribeTable answer says the key is, building the request, checking a
 * key against the schema, taking an item's key and judging a lock's key
 * must neither crash nor leak, and a request built must print as JSON that
 * parses back to the same tree.  Plain C, the extension's own sources
 * (src/dynamodb/item_request.c, key_schema.c).
 *
 * Input: a JSON object {"op": 0..6, "tx": bool, "table", "index", "key",
 * "item", "update", "condition", "key_condition", "filter", "projection",
 * "values", "names", "return_values", "return_item", "describe"}; anything
 * else is tried as a DescribeTable answer's "Table".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "item_request.h"
#include "key_schema.h"

static const char *
text(const cJSON *root, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *
any(const cJSON *root, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(root, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		why[512];
	cJSON	   *root = cJSON_ParseWithLength((const char *) data, size);
	const cJSON *op;
	ItemRequest r = {0};
	KeySchema	ks;
	cJSON	   *req;
	cJSON	   *key;

	if (root == NULL)
		return 0;
	/* the key schema of whatever "describe" holds (or the input itself) */
	if (key_schema_from_description(any(root, "describe") ? any(root, "describe") : root, &ks))
	{
		char		described[2 * KEY_SCHEMA_NAME_SIZE + 16];

		key_schema_describe(&ks, described, sizeof(described));
		if (strlen(described) >= sizeof(described))
			abort();
	}
	if (any(root, "key"))
	{
		(void) key_schema_check_key(&ks, any(root, "key"), why, sizeof(why));
		(void) key_schema_is_lock_key(&ks, any(root, "key"));
	}
	if (ks.known && any(root, "item"))
	{
		key = key_schema_key_of_item(&ks, any(root, "item"), why, sizeof(why));
		/* a key taken from an item passes the key check */
		if (key != NULL && key_schema_check_key(&ks, key, why, sizeof(why)) != NULL)
			abort();
		cJSON_Delete(key);
	}

	op = any(root, "op");
	r.operation = cJSON_IsNumber(op) ? (ItemOperation) op->valueint : ITEM_GET;
	r.in_transaction = cJSON_IsTrue(any(root, "tx"));
	r.table = text(root, "table");
	r.index_name = text(root, "index");
	r.key = any(root, "key");
	r.item = any(root, "item");
	r.update_expression = text(root, "update");
	r.condition_expression = text(root, "condition");
	r.key_condition_expression = text(root, "key_condition");
	r.filter_expression = text(root, "filter");
	r.projection_expression = text(root, "projection");
	r.values = any(root, "values");
	r.names = any(root, "names");
	r.return_values = text(root, "return_values");
	r.return_item_on_condition_failure = cJSON_IsTrue(any(root, "return_item"));
	req = item_request_build(&r, why, sizeof(why));
	if (req != NULL)
	{
		char	   *printed = cJSON_PrintUnformatted(req);
		cJSON	   *again = printed ? cJSON_Parse(printed) : NULL;
		char	   *reprinted = again ? cJSON_PrintUnformatted(again) : NULL;

		/*
		 * What is sent is JSON that reads back as printed (the text, not the
		 * tree: a fuzzed object may name a member twice, which jsonb never
		 * does), and names the table.
		 */
		if (printed && (again == NULL || (reprinted && strcmp(printed, reprinted) != 0) ||
						!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "TableName"))))
			abort();
		cJSON_Delete(again);
		free(reprinted);
		free(printed);
		cJSON_Delete(req);
	}
	else if (why[0] == '\0')
		abort();				/* a refusal always says why */
	cJSON_Delete(root);
	return 0;
}
