/*
 * item_request.c - the general item API's requests (see item_request.h).
 * Plain C.
 */
#include <stdio.h>
#include <string.h>

#include "item_request.h"

/* What each operation takes. */
enum
{
	TAKES_KEY = 1 << 0,
	TAKES_ITEM = 1 << 1,
	TAKES_UPDATE = 1 << 2,
	TAKES_CONDITION = 1 << 3,
	TAKES_KEY_CONDITION = 1 << 4,
	TAKES_FILTER = 1 << 5,
	TAKES_PROJECTION = 1 << 6,
	TAKES_INDEX = 1 << 7,
	NEEDS_CONDITION = 1 << 8
};

typedef struct OperationSpec
{
	const char *name;
	const char *transaction_name;
	int			takes;
	/* ReturnValues it allows, space-separated, "" for none */
	const char *return_values;
} OperationSpec;

static const OperationSpec specs[] = {
	[ITEM_GET] = {"GetItem", NULL, TAKES_KEY | TAKES_PROJECTION, ""},
	[ITEM_PUT] = {"PutItem", "Put", TAKES_ITEM | TAKES_CONDITION, " NONE ALL_OLD "},
	[ITEM_UPDATE] = {"UpdateItem", "Update", TAKES_KEY | TAKES_UPDATE | TAKES_CONDITION,
	" NONE ALL_OLD UPDATED_OLD ALL_NEW UPDATED_NEW "},
	[ITEM_DELETE] = {"DeleteItem", "Delete", TAKES_KEY | TAKES_CONDITION, " NONE ALL_OLD "},
	[ITEM_CONDITION_CHECK] = {"ConditionCheck", "ConditionCheck", TAKES_KEY | TAKES_CONDITION | NEEDS_CONDITION, ""},
	[ITEM_QUERY] = {"Query", NULL, TAKES_KEY_CONDITION | TAKES_FILTER | TAKES_PROJECTION | TAKES_INDEX, ""},
	[ITEM_SCAN] = {"Scan", NULL, TAKES_FILTER | TAKES_PROJECTION | TAKES_INDEX, ""},
};

const char *
item_operation_name(ItemOperation op, bool in_transaction)
{
	return in_transaction ? specs[op].transaction_name : specs[op].name;
}

/* A part given to an operation that does not take it, or empty. */
static const char *
check_text_part(const ItemRequest *r, const char *value, int flag, const char *what, char *why, size_t size)
{
	const OperationSpec *spec = &specs[r->operation];

	if (value == NULL)
		return NULL;
	if (!(spec->takes & flag))
	{
		snprintf(why, size, "%s is not taken by %s", what, item_operation_name(r->operation, r->in_transaction));
		return why;
	}
	if (value[0] == '\0')
	{
		snprintf(why, size, "%s must not be empty (NULL for none)", what);
		return why;
	}
	return NULL;
}

/* An object whose member names all begin with first, each value passing is_value. */
static const char *
check_placeholders(const cJSON *map, char first, const char *what, bool names, char *why, size_t size)
{
	const cJSON *m;

	if (map == NULL)
		return NULL;
	if (!cJSON_IsObject(map))
	{
		snprintf(why, size, "%s must be a JSON object", what);
		return why;
	}
	cJSON_ArrayForEach(m, map)
	{
		if (m->string == NULL || m->string[0] != first || m->string[1] == '\0')
		{
			snprintf(why, size, "%s: \"%.200s\" is not a placeholder (it must begin with \"%c\")", what,
					 m->string ? m->string : "", first);
			return why;
		}
		if (names && (!cJSON_IsString(m) || m->valuestring[0] == '\0'))
		{
			snprintf(why, size, "%s: \"%.200s\" must name an attribute (a non-empty string)", what, m->string);
			return why;
		}
		if (!names && !cJSON_IsObject(m))
		{
			snprintf(why, size, "%s: \"%.200s\" must be an AttributeValue", what, m->string);
			return why;
		}
	}
	return NULL;
}

static bool
add_string(cJSON *obj, const char *name, const char *value)
{
	return value == NULL || cJSON_AddStringToObject(obj, name, value) != NULL;
}

static bool
add_copy(cJSON *obj, const char *name, const cJSON *value)
{
	cJSON	   *copy;

	if (value == NULL || (cJSON_IsObject(value) && cJSON_GetArraySize(value) == 0 &&
						  strncmp(name, "Expression", 10) == 0))
		return true;			/* an empty map of placeholders is no map */
	copy = cJSON_Duplicate(value, true);
	if (copy == NULL)
		return false;
	if (!cJSON_AddItemToObject(obj, name, copy))
	{
		cJSON_Delete(copy);
		return false;
	}
	return true;
}

cJSON *
item_request_build(const ItemRequest *r, char *why, size_t size)
{
	const OperationSpec *spec;
	cJSON	   *req;
	bool		ok;

	if ((int) r->operation < 0 || r->operation > ITEM_SCAN ||
		(r->in_transaction && specs[r->operation].transaction_name == NULL))
	{
		snprintf(why, size, "no such operation");
		return NULL;
	}
	spec = &specs[r->operation];
	if (r->table == NULL || r->table[0] == '\0')
	{
		snprintf(why, size, "a table name is required");
		return NULL;
	}
	if (((spec->takes & TAKES_KEY) != 0) != (r->key != NULL))
	{
		snprintf(why, size, r->key ? "a key is not taken by %s" : "a key is required for %s",
				 item_operation_name(r->operation, r->in_transaction));
		return NULL;
	}
	if (r->key && !cJSON_IsObject(r->key))
	{
		snprintf(why, size, "a key must be a JSON object");
		return NULL;
	}
	if (((spec->takes & TAKES_ITEM) != 0) != (r->item != NULL) || (r->item && !cJSON_IsObject(r->item)))
	{
		snprintf(why, size, r->item ? "an item (a JSON object) is not taken by %s" : "an item is required for %s",
				 item_operation_name(r->operation, r->in_transaction));
		return NULL;
	}
	if ((spec->takes & TAKES_UPDATE) && r->update_expression == NULL)
	{
		snprintf(why, size, "an update_expression is required");
		return NULL;
	}
	if ((spec->takes & TAKES_KEY_CONDITION) && r->key_condition_expression == NULL)
	{
		snprintf(why, size, "a key_condition_expression is required");
		return NULL;
	}
	if ((spec->takes & NEEDS_CONDITION) && r->condition_expression == NULL)
	{
		snprintf(why, size, "a condition_expression is required for a condition check");
		return NULL;
	}
	if (check_text_part(r, r->update_expression, TAKES_UPDATE, "update_expression", why, size) ||
		check_text_part(r, r->condition_expression, TAKES_CONDITION, "condition_expression", why, size) ||
		check_text_part(r, r->key_condition_expression, TAKES_KEY_CONDITION, "key_condition_expression", why, size) ||
		check_text_part(r, r->filter_expression, TAKES_FILTER, "filter_expression", why, size) ||
		check_text_part(r, r->projection_expression, TAKES_PROJECTION, "projection_expression", why, size) ||
		check_text_part(r, r->index_name, TAKES_INDEX, "index_name", why, size) ||
		check_placeholders(r->names, '#', "expression_names", true, why, size) ||
		check_placeholders(r->values, ':', "expression_values", false, why, size))
		return NULL;
	if (r->return_values != NULL && strcmp(r->return_values, "NONE") != 0)
	{
		char		word[32];

		snprintf(word, sizeof(word), " %.20s ", r->return_values);
		if (r->in_transaction || strstr(spec->return_values, word) == NULL || strchr(r->return_values, ' '))
		{
			snprintf(why, size, "return_values \"%.40s\" is not one %s allows (%s)", r->return_values,
					 item_operation_name(r->operation, r->in_transaction),
					 r->in_transaction || spec->return_values[0] == '\0' ? "none" : spec->return_values + 1);
			return NULL;
		}
	}

	req = cJSON_CreateObject();
	if (req == NULL)
	{
		snprintf(why, size, "out of memory");
		return NULL;
	}
	ok = add_string(req, "TableName", r->table) &&
		add_string(req, "IndexName", r->index_name) &&
		add_copy(req, "Key", r->key) &&
		add_copy(req, "Item", r->item) &&
		add_string(req, "UpdateExpression", r->update_expression) &&
		add_string(req, "ConditionExpression", r->condition_expression) &&
		add_string(req, "KeyConditionExpression", r->key_condition_expression) &&
		add_string(req, "FilterExpression", r->filter_expression) &&
		add_string(req, "ProjectionExpression", r->projection_expression) &&
		add_copy(req, "ExpressionAttributeNames", r->names) &&
		add_copy(req, "ExpressionAttributeValues", r->values) &&
		(r->return_values == NULL || strcmp(r->return_values, "NONE") == 0 ||
		 add_string(req, "ReturnValues", r->return_values)) &&
		(!r->return_item_on_condition_failure || r->condition_expression == NULL ||
		 add_string(req, "ReturnValuesOnConditionCheckFailure", "ALL_OLD"));
	if (!ok)
	{
		cJSON_Delete(req);
		snprintf(why, size, "out of memory");
		return NULL;
	}
	return req;
}
