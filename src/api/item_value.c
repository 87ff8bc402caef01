/*
 * item_value.c - jsonb <-> DynamoDB items (see item_value.h).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "item_value.h"
#include "lock_item.h"
#include "marshal.h"
#include "text_encoding.h"

static void *
check_alloc(void *p)
{
	if (p == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return p;
}

static char *
utf8_of(const char *s, int len)
{
	return text_to_utf8(s, len, "an item's text");
}

/* Adds child under name (an object member) or at the end (an array). */
static void
attach(cJSON *parent, const char *name, cJSON *child)
{
	if (name)
		cJSON_AddItemToObject(parent, name, child);
	else
		cJSON_AddItemToArray(parent, child);
}

/* {"T": value-as-string} */
static cJSON *
typed_string(const char *type, const char *value)
{
	cJSON	   *av = check_alloc(cJSON_CreateObject());

	if (cJSON_AddStringToObject(av, type, value) == NULL)
	{
		cJSON_Delete(av);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	return av;
}

static cJSON *
scalar_av(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return typed_string("S", utf8_of(v->val.string.val, v->val.string.len));
		case jbvNumeric:
			{
				char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric)));
				const char *why = ddb_number_problem(text);

				if (why)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("number %s cannot be stored in DynamoDB: %s", text, why)));
				return typed_string("N", text);
			}
		case jbvBool:
			{
				cJSON	   *av = check_alloc(cJSON_CreateObject());

				cJSON_AddItemToObject(av, "BOOL", check_alloc(cJSON_CreateBool(v->val.boolean)));
				return av;
			}
		case jbvNull:
			{
				cJSON	   *av = check_alloc(cJSON_CreateObject());

				cJSON_AddItemToObject(av, "NULL", check_alloc(cJSON_CreateTrue()));
				return av;
			}
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;
}

pg_noreturn static void too_deep(void);
pg_noreturn static void bad_form(const char *form, const char *why);

static void
too_deep(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("the document nests deeper than DynamoDB's %d levels", DDB_MAX_DEPTH)));
}

static void
bad_form(const char *form, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid {\"%s\": ...} value: %s", form, why),
			 errhint("{\"$b\": base64}, {\"$ss\": [strings]}, {\"$ns\": [numbers]} and "
					 "{\"$bs\": [base64 strings]} are DynamoDB binary values and sets.")));
}

/*
 * {"$b": ...} and the sets: m is the converted object (an "M" value's
 * members).  Returns the B/SS/NS/BS AttributeValue, or NULL when m is an
 * ordinary map.
 */
static cJSON *
special_form(cJSON *m)
{
	const cJSON *only = m->child;
	const char *form;
	const char *type;
	const char *elem_type;
	cJSON	   *av;
	cJSON	   *set;
	const cJSON *e;

	if (only == NULL || only->next != NULL || only->string == NULL || only->string[0] != '$')
		return NULL;
	form = only->string;
	if (strcmp(form, "$b") == 0)
	{
		const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(only, "S"));

		if (b64 == NULL || !ddb_base64_is_valid(b64))
			bad_form(form, "the value must be a base64 string");
		return typed_string("B", b64);
	}
	if (strcmp(form, "$ss") == 0)
		type = "SS", elem_type = "S";
	else if (strcmp(form, "$ns") == 0)
		type = "NS", elem_type = "N";
	else if (strcmp(form, "$bs") == 0)
		type = "BS", elem_type = "S";
	else
		return NULL;

	set = cJSON_GetObjectItemCaseSensitive(only, "L");
	if (set == NULL)
		bad_form(form, "the value must be an array");
	if (set->child == NULL)
		bad_form(form, "DynamoDB sets cannot be empty");
	av = check_alloc(cJSON_CreateObject());
	cJSON_AddItemToObject(av, type, check_alloc(cJSON_CreateArray()));
	cJSON_ArrayForEach(e, set)
	{
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, elem_type));

		if (text == NULL)
		{
			cJSON_Delete(av);
			bad_form(form, strcmp(elem_type, "N") == 0 ? "every element must be a number" :
					 "every element must be a string");
		}
		if (strcmp(type, "BS") == 0 && !ddb_base64_is_valid(text))
		{
			cJSON_Delete(av);
			bad_form(form, "every element must be base64");
		}
		cJSON_AddItemToArray(av->child, check_alloc(cJSON_CreateString(text)));
	}
	return av;
}

/*
 * Converts the value that starts with tok (v) and attaches it to parent.
 * depth: how deep parent is.
 */
/* The array of {"$ss": [...]} and the like: part of one leaf value, no level of its own. */
static bool
is_set_body(const char *name)
{
	return name && (strcmp(name, "$ss") == 0 || strcmp(name, "$ns") == 0 || strcmp(name, "$bs") == 0);
}

static void
add_value(cJSON *parent, const char *name, JsonbIterator **it, JsonbIteratorToken tok,
		  JsonbValue *v, int depth)
{
	check_stack_depth();
	if (tok == WJB_BEGIN_ARRAY)
	{
		cJSON	   *av = check_alloc(cJSON_CreateObject());
		cJSON	   *list = check_alloc(cJSON_CreateArray());

		cJSON_AddItemToObject(av, "L", list);
		attach(parent, name, av);
		/* A set's body is one level below its object, which may itself be at the limit. */
		if (depth >= DDB_MAX_DEPTH && !(is_set_body(name) && depth <= DDB_MAX_DEPTH + 1))
			too_deep();
		while ((tok = JsonbIteratorNext(it, v, false)) != WJB_END_ARRAY)
			add_value(list, NULL, it, tok, v, depth + 1);
	}
	else if (tok == WJB_BEGIN_OBJECT)
	{
		cJSON	   *av = check_alloc(cJSON_CreateObject());
		cJSON	   *members = check_alloc(cJSON_CreateObject());
		cJSON	   *special;

		cJSON_AddItemToObject(av, "M", members);
		attach(parent, name, av);
		/*
		 * At the limit, only a binary value or a set (a leaf, as a scalar
		 * is) may stand here: that is known once its members are read, and
		 * any container among them is refused on the way.
		 */
		if (depth > DDB_MAX_DEPTH)
			too_deep();
		while (JsonbIteratorNext(it, v, false) != WJB_END_OBJECT)
		{
			char	   *key = utf8_of(v->val.string.val, v->val.string.len);

			tok = JsonbIteratorNext(it, v, false);
			add_value(members, key, it, tok, v, depth + 1);
		}
		special = special_form(members);
		if (special == NULL && depth >= DDB_MAX_DEPTH)
			too_deep();
		if (special != NULL)
		{
			if (name)
				cJSON_ReplaceItemInObjectCaseSensitive(parent, name, special);
			else
				cJSON_ReplaceItemViaPointer(parent, av, special);
		}
	}
	else
		attach(parent, name, check_alloc(scalar_av(v)));
}

cJSON *
item_from_jsonb(Jsonb *doc)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	cJSON	   *wrapper = json_new_object();
	const cJSON *members;
	size_t		size;

	if (!JB_ROOT_IS_OBJECT(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an item must be a JSON object")));
	it = JsonbIteratorInit(&doc->root);
	tok = JsonbIteratorNext(&it, &v, false);
	/* The item is the members of the top-level map, at depth 0. */
	add_value(wrapper, "item", &it, tok, &v, 0);
	members = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(wrapper, "item"), "M");
	if (members == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an item cannot be a binary value or a set")));
	size = ddb_item_size(members);
	if (size > DDB_MAX_ITEM_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the item is about %zu bytes, more than DynamoDB's limit of 400 KB", size)));
	return (cJSON *) members;
}

static const char *
key_string(const cJSON *item, const char *name, int max_bytes)
{
	const cJSON *attr = cJSON_GetObjectItemCaseSensitive(item, name);
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(attr, "S"));

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an item needs a string \"%s\"", name)));
	if (s[0] == '\0' || strlen(s) > max_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" must have 1 to %d bytes", name, max_bytes)));
	return s;
}

void
item_keys(const cJSON *item, const char **pk, const char **sk)
{
	*pk = key_string(item, "pk", ITEM_MAX_PK_BYTES);
	*sk = key_string(item, "sk", ITEM_MAX_SK_BYTES);
	if (cJSON_GetObjectItemCaseSensitive(item, LOCK_KEY_ATTRIBUTE))
		lock_key_refuse(LOCK_KEY_ATTRIBUTE, "an item");
	lock_sort_key_refuse(*sk, "an item");
}

void
item_add_key(cJSON *parent, const char *name, const char *pk, const char *sk)
{
	cJSON	   *key = json_add_object(parent, name);
	char	   *pk8 = text_to_utf8(pk, strlen(pk), "pk");
	char	   *sk8 = text_to_utf8(sk, strlen(sk), "sk");

	if (pk8[0] == '\0' || strlen(pk8) > ITEM_MAX_PK_BYTES || sk8[0] == '\0' || strlen(sk8) > ITEM_MAX_SK_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pk must have 1 to %d bytes and sk 1 to %d bytes", ITEM_MAX_PK_BYTES,
						ITEM_MAX_SK_BYTES)));
	json_add_string(json_add_object(key, "pk"), "S", pk8);
	json_add_string(json_add_object(key, "sk"), "S", sk8);
}

Jsonb *
item_to_jsonb(const cJSON *item)
{
	strbuf		out;
	const char *why;
	char	   *text;

	strbuf_init(&out);
	why = ddb_item_to_json(item, &out);
	if (why || strbuf_failed(&out))
	{
		strbuf_free(&out, false);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("DynamoDB returned an item that cannot be read: %s", why ? why : "out of memory")));
	}
	/*
	 * Into palloc'd memory before converting: a character the database
	 * encoding lacks raises an ERROR there, which must not leak the
	 * malloc'd text for the backend's life (one per failed row).
	 */
	text = pnstrdup(out.data, out.len);
	strbuf_free(&out, false);
	text = text_from_utf8(text, "an item DynamoDB returned");
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/* The elements of a jsonb array argument, each an object. */
Jsonb **
item_array_elements(Jsonb *array, const char *what, int *n)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	Jsonb	  **out;
	int			count = 0;

	if (!JB_ROOT_IS_ARRAY(array) || JB_ROOT_IS_SCALAR(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON array of objects", what)));
	out = palloc(Max(1, JB_ROOT_COUNT(array)) * sizeof(Jsonb *));
	it = JsonbIteratorInit(&array->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a JSON array of objects", what),
					 errdetail("Element %d is not an object.", count + 1)));
		out[count++] = JsonbValueToJsonb(&v);
	}
	*n = count;
	return out;
}
