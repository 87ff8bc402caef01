/*
 * item_value.h - jsonb documents as DynamoDB items, and back.
 *
 * The mapping is marshal.h's.  Numbers keep their exact decimal text (the
 * jsonb numeric), strings are sent as UTF-8 whatever the database
 * encoding.  Everything DynamoDB would refuse for its limits is refused
 * here first, before any request: numbers beyond 38 digits or its range
 * (22003), nesting deeper than 32 levels or items over 400 KB (54000),
 * empty sets, malformed special forms and bad keys (22023).
 */
#ifndef DYNAMO_ATOMIC_ITEM_VALUE_H
#define DYNAMO_ATOMIC_ITEM_VALUE_H

#include "utils/jsonb.h"

#include "json.h"

#define ITEM_MAX_PK_BYTES 2048
#define ITEM_MAX_SK_BYTES 1024

/* A jsonb object as an item (an object of AttributeValues), owned by CurrentMemoryContext. */
extern cJSON *item_from_jsonb(Jsonb *doc);

/* The string key attributes pk and sk of an item (UTF-8), checked. */
extern void item_keys(const cJSON *item, const char **pk, const char **sk);

/* {"pk": {"S": pk}, "sk": {"S": sk}} under name in parent, from server-encoding text. */
extern void item_add_key(cJSON *parent, const char *name, const char *pk, const char *sk);

/* The elements of a jsonb array of objects (what names it in errors: 22023). */
extern Jsonb **item_array_elements(Jsonb *array, const char *what, int *n);

/* An item (object of AttributeValues) as jsonb. */
extern Jsonb *item_to_jsonb(const cJSON *item);

#endif
