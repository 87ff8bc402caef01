/*
 * item_batch.h - BatchWriteItem and BatchGetItem on one table, for any key
 * shape: split into DynamoDB's request sizes (25 writes, 100 reads), and
 * what DynamoDB leaves unprocessed sent again, with backoff, until done or
 * dynamo_atomic.max_retries rounds have passed (53400, saying how many
 * were written).
 *
 * Lost answers: puts and deletes are resent (writing an item twice, or
 * deleting it twice, is doing it once).  An error says in its DETAIL how
 * many items earlier requests wrote: those stay written.
 */
#ifndef DYNAMO_ATOMIC_ITEM_BATCH_H
#define DYNAMO_ATOMIC_ITEM_BATCH_H

#include "json.h"

/* Raises 22023 when two of keys[0..n) (objects of AttributeValues) are the same; what names them. */
extern void item_batch_require_distinct(cJSON **keys, int n, const char *what, const char *message);

/* Writes entries[0..n) ({"PutRequest": ...} or {"DeleteRequest": ...}); returns n. */
extern int64 item_batch_write(const char *table, cJSON **entries, int n);

/*
 * Reads keys[0..n); calls found(arg, i, item) for each key i that has an
 * item, in the order of the keys.  spec_extra: members added to the
 * table's request (ProjectionExpression, ExpressionAttributeNames), or NULL.
 */
extern void item_batch_get(const char *table, cJSON **keys, int n, bool consistent, const cJSON *spec_extra,
						   void (*found) (void *arg, int i, const cJSON *item), void *arg);

#endif
