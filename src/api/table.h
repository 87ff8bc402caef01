/*
 * table.h - creating the tables dynamo_atomic uses.
 */
#ifndef DYNAMO_ATOMIC_TABLE_H
#define DYNAMO_ATOMIC_TABLE_H

/*
 * Creates an on-demand table with a string hash key (and a string range key
 * when range_key is not NULL) and waits until it is
 * ACTIVE.  An existing table is 42P07, or a NOTICE with if_not_exists; one
 * still being deleted is waited for first.  Resent after a lost answer.
 */
extern void table_create(const char *table, const char *key, const char *range_key,
						 bool if_not_exists);

/* Turns on DynamoDB TTL on attribute (epoch seconds), unless already on. */
extern void table_enable_ttl(const char *table, const char *attribute);

#endif
