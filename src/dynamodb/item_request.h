/*
 * item_request.h - the requests of the general item API (GetItem, PutItem,
 * UpdateItem, DeleteItem, a transaction's ConditionCheck, Query, Scan),
 * built from parts already turned into DynamoDB's forms: keys, items and
 * expression values as AttributeValues, names as strings.  Plain C (cJSON
 * only), so that the fuzzer reaches everything between the arguments and
 * the JSON sent.
 *
 * What is checked here is what DynamoDB would refuse with a less precise
 * message, or what this extension adds: a part the operation does not take,
 * an empty expression, placeholders not of the form "#name" / ":value",
 * ReturnValues the operation does not allow.  The expressions themselves
 * are DynamoDB's to parse: its ValidationException says what is wrong.
 */
#ifndef DYNAMO_ATOMIC_ITEM_REQUEST_H
#define DYNAMO_ATOMIC_ITEM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef enum ItemOperation
{
	ITEM_GET,
	ITEM_PUT,
	ITEM_UPDATE,
	ITEM_DELETE,
	ITEM_CONDITION_CHECK,		/* in a transaction only */
	ITEM_QUERY,
	ITEM_SCAN
} ItemOperation;

typedef struct ItemRequest
{
	ItemOperation operation;
	bool		in_transaction; /* an action of TransactWriteItems: no ReturnValues */
	const char *table;
	const char *index_name;		/* Query, Scan */
	const cJSON *key;			/* Get, Update, Delete, ConditionCheck */
	const cJSON *item;			/* Put */
	const char *update_expression;
	const char *condition_expression;
	const char *key_condition_expression;	/* Query */
	const char *filter_expression;	/* Query, Scan */
	const char *projection_expression;	/* Get, Query, Scan */
	const cJSON *values;		/* ":placeholder" -> AttributeValue */
	const cJSON *names;			/* "#placeholder" -> attribute name */
	const char *return_values;	/* NULL or "NONE", "ALL_OLD", ... */
	/* On a failed condition, DynamoDB returns the item as it is (ReturnValuesOnConditionCheckFailure). */
	bool		return_item_on_condition_failure;
} ItemRequest;

/* The operation's name in DynamoDB's API ("UpdateItem"; "Update" in a transaction). */
extern const char *item_operation_name(ItemOperation op, bool in_transaction);

/*
 * The request (or the transaction action's body) as a new cJSON object
 * (the caller deletes it); NULL with why filled when a part is wrong.
 */
extern cJSON *item_request_build(const ItemRequest *r, char *why, size_t size);

#endif
