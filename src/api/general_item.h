/*
 * general_item.h - what every function of the general item API does with
 * its arguments before a request is sent (README "Existing tables"):
 *
 *   - the table is described (DescribeTable, cached with its replication:
 *     table_replication.h) and each key is checked against its key schema:
 *     a wrong name, a wrong type or a missing sort key is 22023 naming the
 *     table's key;
 *   - a write to a lock's item (a lock table's, or a single table's sort key
 *     beginning "#lock") is refused (42501): only the lock functions write
 *     locks;
 *   - keys, items and expression values go through the jsonb mapping of
 *     item_value.h (exact numbers, $b, $ss...); names become UTF-8 strings;
 *   - an error raised while the call runs carries its expressions in CONTEXT.
 *
 * What a lost answer means for each write is decided by the caller (see
 * item_api.c); the outcome of a write with a condition comes back as a
 * GeneralWrite.
 */
#ifndef DYNAMO_ATOMIC_GENERAL_ITEM_H
#define DYNAMO_ATOMIC_GENERAL_ITEM_H

#include "fmgr.h"
#include "utils/jsonb.h"

#include "item_request.h"
#include "key_schema.h"
#include "table_replication.h"

typedef struct GeneralTable
{
	char	   *name;
	TableReplication described;
} GeneralTable;

/* The table of argument argno (NULL: 22004), allowed and described. */
extern void general_table_arg(FunctionCallInfo fcinfo, int argno, GeneralTable *t);

/* The same for a name (a transaction's action). */
extern void general_table_named(const char *name, GeneralTable *t);

/*
 * A key (jsonb object) as AttributeValues, checked against t's key schema;
 * for_write: a lock's key is refused (42501); what names it in messages.
 */
extern cJSON *general_key(const GeneralTable *t, Jsonb *key, bool for_write, const char *what);

/* An item to put, checked the same way (its key attributes). */
extern cJSON *general_item(const GeneralTable *t, Jsonb *item, const char *what);

/* expression_values (":p" -> value) as AttributeValues; NULL for NULL. */
extern cJSON *general_values(Jsonb *values, const char *what);

/* expression_names ("#p" -> "name") as UTF-8; NULL for NULL. */
extern cJSON *general_names(Jsonb *names, const char *what);

/* A text argument as UTF-8, or NULL. */
extern char *general_text_arg(FunctionCallInfo fcinfo, int argno, const char *what);

/* item_request_build, raising 22023 with what was wrong. */
extern cJSON *general_request(const ItemRequest *r);

/*
 * While a call runs, its errors say in CONTEXT which table and expressions
 * it sent.  general_context_push before the first request; popped by
 * general_context_pop (an error pops it by itself).
 */
typedef struct GeneralContext
{
	ErrorContextCallback callback;
	char	   *text;			/* the CONTEXT line, made at the push */
} GeneralContext;

extern void general_context_push(GeneralContext *c, const char *function, const ItemRequest *r);
extern void general_context_pop(GeneralContext *c);

/* An item as jsonb, or NULL when item is NULL. */
extern Jsonb *general_item_to_jsonb(const cJSON *item);

#endif
