/*
 * key_schema.h - a table's primary key, as DescribeTable gives it, and the
 * checks every general item function makes with it before a request is
 * sent: the key names exactly the table's key attributes with their types,
 * and it is not a lock's.  Plain C (cJSON only): the fuzzer reaches it.
 */
#ifndef DYNAMO_ATOMIC_KEY_SCHEMA_H
#define DYNAMO_ATOMIC_KEY_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define KEY_SCHEMA_NAME_SIZE 256	/* DynamoDB: key attribute names up to 255 bytes */

typedef struct KeySchema
{
	bool		known;			/* false: the table could not be described */
	char		hash_name[KEY_SCHEMA_NAME_SIZE];
	char		hash_type;		/* 'S', 'N' or 'B' */
	char		range_name[KEY_SCHEMA_NAME_SIZE];	/* "" when the table has none */
	char		range_type;
} KeySchema;

/*
 * From a DescribeTable answer's "Table" (KeySchema and AttributeDefinitions).
 * Returns false, *ks unknown, when they are missing or malformed.
 */
extern bool key_schema_from_description(const cJSON *table, KeySchema *ks);

/* "Id (N)" or "context (S) + id (S)", into out. */
extern void key_schema_describe(const KeySchema *ks, char *out, size_t size);

/*
 * Checks that key (an object of AttributeValues) names exactly ks's
 * attributes, each of its type and non-empty.  Returns NULL, or what is
 * wrong (into why).
 */
extern const char *key_schema_check_key(const KeySchema *ks, const cJSON *key, char *why, size_t size);

/*
 * The key of item (an object of AttributeValues), as a new object (the
 * caller deletes it), after checking it as key_schema_check_key does;
 * NULL with why filled when the item lacks or mistypes a key attribute.
 */
extern cJSON *key_schema_key_of_item(const KeySchema *ks, const cJSON *item, char *why, size_t size);

/*
 * Whether a write to key (checked) would touch a lock's item: a key naming
 * the lock tables' key attribute lock_name, or in a table keyed pk + sk,
 * a string sort key beginning "#lock".  With ks unknown, the key's own
 * attributes are judged the same way.
 */
extern bool key_schema_is_lock_key(const KeySchema *ks, const cJSON *key);

#endif
