/*
 * key_schema.c - a table's primary key and the checks made with it (see
 * key_schema.h).  Plain C.
 */
#include <stdio.h>
#include <string.h>

#include "key_schema.h"

/* The lock tables' key and the single tables' reserved sort keys (lock_item.h). */
#define LOCK_KEY_ATTRIBUTE "lock_name"
#define LOCK_SORT_KEY "#lock"
#define SINGLE_TABLE_PARTITION_KEY "pk"
#define SINGLE_TABLE_SORT_KEY "sk"

static const char *
string_of(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The scalar type an AttributeDefinitions list gives name: 'S', 'N', 'B', or 0. */
static char
defined_type(const cJSON *definitions, const char *name)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, definitions)
	{
		const char *n = string_of(d, "AttributeName");
		const char *t = string_of(d, "AttributeType");

		if (n && t && strcmp(n, name) == 0 && strlen(t) == 1 && strchr("SNB", t[0]))
			return t[0];
	}
	return 0;
}

bool
key_schema_from_description(const cJSON *table, KeySchema *ks)
{
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(table, "KeySchema");
	const cJSON *definitions = cJSON_GetObjectItemCaseSensitive(table, "AttributeDefinitions");
	const cJSON *k;
	KeySchema	found;

	memset(ks, 0, sizeof(*ks));
	memset(&found, 0, sizeof(found));
	if (!cJSON_IsArray(schema) || !cJSON_IsArray(definitions))
		return false;
	cJSON_ArrayForEach(k, schema)
	{
		const char *name = string_of(k, "AttributeName");
		const char *role = string_of(k, "KeyType");
		char		type;

		if (name == NULL || role == NULL || name[0] == '\0' || strlen(name) >= KEY_SCHEMA_NAME_SIZE)
			return false;
		type = defined_type(definitions, name);
		if (type == 0)
			return false;
		if (strcmp(role, "HASH") == 0 && found.hash_name[0] == '\0')
		{
			snprintf(found.hash_name, sizeof(found.hash_name), "%s", name);
			found.hash_type = type;
		}
		else if (strcmp(role, "RANGE") == 0 && found.range_name[0] == '\0')
		{
			snprintf(found.range_name, sizeof(found.range_name), "%s", name);
			found.range_type = type;
		}
		else
			return false;
	}
	if (found.hash_name[0] == '\0')
		return false;
	found.known = true;
	*ks = found;
	return true;
}

void
key_schema_describe(const KeySchema *ks, char *out, size_t size)
{
	if (!ks->known)
		snprintf(out, size, "(not known)");
	else if (ks->range_name[0])
		snprintf(out, size, "%s (%c) + %s (%c)", ks->hash_name, ks->hash_type, ks->range_name, ks->range_type);
	else
		snprintf(out, size, "%s (%c)", ks->hash_name, ks->hash_type);
}

/* Checks one key attribute of key or item; NULL when it fits. */
static const char *
check_attribute(const cJSON *obj, const char *name, char type, char *why, size_t size)
{
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *value;
	char		want[2] = {type, '\0'};

	if (av == NULL)
	{
		snprintf(why, size, "the key attribute \"%s\" is missing", name);
		return why;
	}
	value = cJSON_GetObjectItemCaseSensitive(av, want);
	if (!cJSON_IsObject(av) || cJSON_GetArraySize(av) != 1 || value == NULL || !cJSON_IsString(value))
	{
		snprintf(why, size, "the key attribute \"%s\" must be %s", name,
				 type == 'S' ? "a string" : type == 'N' ? "a number" : "binary ({\"$b\": \"base64\"})");
		return why;
	}
	if (value->valuestring[0] == '\0')
	{
		snprintf(why, size, "the key attribute \"%s\" must not be empty", name);
		return why;
	}
	return NULL;
}

const char *
key_schema_check_key(const KeySchema *ks, const cJSON *key, char *why, size_t size)
{
	const cJSON *a;
	int			expected = ks->range_name[0] ? 2 : 1;

	if (!cJSON_IsObject(key))
	{
		snprintf(why, size, "a key must be a JSON object");
		return why;
	}
	if (check_attribute(key, ks->hash_name, ks->hash_type, why, size))
		return why;
	if (ks->range_name[0] && check_attribute(key, ks->range_name, ks->range_type, why, size))
		return why;
	if (cJSON_GetArraySize(key) != expected)
	{
		cJSON_ArrayForEach(a, key)
			if (strcmp(a->string, ks->hash_name) != 0 && strcmp(a->string, ks->range_name) != 0)
			{
				snprintf(why, size, "\"%.200s\" is not a key attribute", a->string);
				return why;
			}
		snprintf(why, size, "a key attribute is named twice");
		return why;
	}
	return NULL;
}

cJSON *
key_schema_key_of_item(const KeySchema *ks, const cJSON *item, char *why, size_t size)
{
	cJSON	   *key;

	if (!cJSON_IsObject(item))
	{
		snprintf(why, size, "an item must be a JSON object");
		return NULL;
	}
	if (check_attribute(item, ks->hash_name, ks->hash_type, why, size))
		return NULL;
	if (ks->range_name[0] && check_attribute(item, ks->range_name, ks->range_type, why, size))
		return NULL;
	key = cJSON_CreateObject();
	if (key == NULL ||
		!cJSON_AddItemToObject(key, ks->hash_name,
							   cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(item, ks->hash_name), true)) ||
		(ks->range_name[0] &&
		 !cJSON_AddItemToObject(key, ks->range_name,
								cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(item, ks->range_name), true))))
	{
		cJSON_Delete(key);
		snprintf(why, size, "out of memory");
		return NULL;
	}
	return key;
}

bool
key_schema_is_lock_key(const KeySchema *ks, const cJSON *key)
{
	const char *sk;

	if (cJSON_GetObjectItemCaseSensitive(key, LOCK_KEY_ATTRIBUTE) != NULL)
		return true;
	if (ks->known && (strcmp(ks->hash_name, SINGLE_TABLE_PARTITION_KEY) != 0 ||
					  strcmp(ks->range_name, SINGLE_TABLE_SORT_KEY) != 0))
		return false;			/* neither a lock table nor a single table */
	/* a table keyed pk + sk (or not known to be otherwise): sk beginning "#lock" */
	sk = string_of(cJSON_GetObjectItemCaseSensitive(key, SINGLE_TABLE_SORT_KEY), "S");
	return sk != NULL && cJSON_GetObjectItemCaseSensitive(key, SINGLE_TABLE_PARTITION_KEY) != NULL &&
		strncmp(sk, LOCK_SORT_KEY, strlen(LOCK_SORT_KEY)) == 0;
}
