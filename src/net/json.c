/*
 * json.c - cJSON trees whose lifetime follows a memory context (json.h).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "json.h"
#include "json_scan.h"

static void
delete_tree(void *arg)
{
	cJSON_Delete((cJSON *) arg);
}

cJSON *
json_own(cJSON *root)
{
	MemoryContextCallback *cb;

	if (root == NULL)
		return NULL;

	/* Allocate the callback first, so that a failure here cannot leak root. */
	cb = MemoryContextAllocExtended(CurrentMemoryContext, sizeof(*cb),
									MCXT_ALLOC_NO_OOM);
	if (cb == NULL)
	{
		cJSON_Delete(root);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	cb->func = delete_tree;
	cb->arg = root;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return root;
}

static void *
check_alloc(void *p)
{
	if (p == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return p;
}

cJSON *
json_new_object(void)
{
	return json_own(check_alloc(cJSON_CreateObject()));
}

cJSON *
json_add_object(cJSON *parent, const char *name)
{
	return check_alloc(cJSON_AddObjectToObject(parent, name));
}

cJSON *
json_add_array(cJSON *parent, const char *name)
{
	return check_alloc(cJSON_AddArrayToObject(parent, name));
}

void
json_add_string(cJSON *parent, const char *name, const char *value)
{
	check_alloc(cJSON_AddStringToObject(parent, name, value));
}

void
json_add_bool(cJSON *parent, const char *name, bool value)
{
	check_alloc(cJSON_AddBoolToObject(parent, name, value));
}

/* Creates an object at the end of array; *child receives it. */
void
json_append_object(cJSON *array, cJSON **child)
{
	cJSON	   *obj = check_alloc(cJSON_CreateObject());

	if (!cJSON_AddItemToArray(array, obj))
	{
		cJSON_Delete(obj);
		check_alloc(NULL);
	}
	*child = obj;
}

char *
json_print(const cJSON *root)
{
	char	   *raw = check_alloc(cJSON_PrintUnformatted(root));
	size_t		len = strlen(raw);
	char	   *copy = MemoryContextAllocExtended(CurrentMemoryContext, len + 1,
												  MCXT_ALLOC_NO_OOM);

	/* Copy before raising anything, so the malloc'd text is never leaked. */
	if (copy)
		memcpy(copy, raw, len + 1);
	cJSON_free(raw);
	return check_alloc(copy);
}

cJSON *
json_parse_unchecked(const char *data, size_t len)
{
	return json_own(cJSON_ParseWithLength(data, len));
}

cJSON *
json_parse(const char *data, size_t len)
{
	char		where[256];

	/*
	 * cJSON decodes \u0000 into a NUL that cuts the C string: "a\u0000b"
	 * would come back as "a", and keys differing after it would merge.
	 * jsonb and text cannot hold U+0000 at all: refuse, never alter.
	 */
	if (memchr(data, '\0', len))
		ereport(ERROR,
				(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
				 errmsg("DynamoDB's answer holds a NUL byte"),
				 errdetail("PostgreSQL text and jsonb cannot hold U+0000; the value is not returned altered.")));
	if (memchr(data, '\\', len) && json_find_nul(data, len, where, sizeof(where)))
		ereport(ERROR,
				(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
				 errmsg("DynamoDB's answer holds the character U+0000 at %s", where),
				 errdetail("PostgreSQL text and jsonb cannot hold U+0000; the value is not returned altered."),
				 errhint("Rewrite that attribute without U+0000 from another client.")));
	return json_own(cJSON_ParseWithLength(data, len));
}

const cJSON *
json_get(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

const char *
json_get_string(const cJSON *obj, const char *name)
{
	const cJSON *item = json_get(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}
