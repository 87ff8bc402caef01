/*
 * args.h - validated arguments for SQL-callable functions.
 *
 * Everything sent to DynamoDB is checked here first, so bad input gets a
 * precise SQLSTATE before any request is made: NULL -> 22004, out of
 * DynamoDB's limits -> 22023.  Text is converted to UTF-8, the only
 * encoding DynamoDB speaks.
 */
#ifndef DYNAMO_ATOMIC_ARGS_H
#define DYNAMO_ATOMIC_ARGS_H

#include "fmgr.h"

/* Longest partition key value DynamoDB accepts, in UTF-8 bytes. */
#define DDB_MAX_PARTITION_KEY_BYTES 2048
/* Longest attribute name usable as a key or in an expression. */
#define DDB_MAX_ATTRIBUTE_NAME_BYTES 255

/* What a table is for: its default's setting, and the function that creates one. */
typedef enum TableKind
{
	TABLE_FOR_COUNTERS,
	TABLE_FOR_LOCKS,
	TABLE_FOR_ITEMS,
	TABLE_FOR_ANYTHING			/* no default: a NULL name is an error */
} TableKind;

/* Raises 22023 for a name DynamoDB would refuse as a table's. */
extern void require_valid_table_name(const char *name);

/* Table name from argument argno; NULL means the kind's setting. */
extern char *arg_table_name(FunctionCallInfo fcinfo, int argno, TableKind kind);

/* An attribute name (what names the parameter in messages), as UTF-8. */
extern char *arg_attribute_name(FunctionCallInfo fcinfo, int argno, const char *what);

/* A non-empty key value of at most DDB_MAX_PARTITION_KEY_BYTES, as UTF-8. */
extern char *arg_key_value(FunctionCallInfo fcinfo, int argno, const char *what);

/* Longest sort key value DynamoDB accepts, in UTF-8 bytes. */
#define DDB_MAX_SORT_KEY_BYTES 1024

/*
 * A dynamo_key argument (partition_key, sort_key): both non-empty and
 * within DynamoDB's limits, as UTF-8; *display is "(pk, sk)" in the server
 * encoding, for messages.
 */
extern void arg_single_table_key(FunctionCallInfo fcinfo, int argno, char **pk, char **sk, char **display);

/* A bigint argument that must not be NULL. */
extern int64 arg_required_int64(FunctionCallInfo fcinfo, int argno, const char *what);

/* A boolean argument that must not be NULL (a NULL flag is a mistake, not false). */
extern bool arg_required_bool(FunctionCallInfo fcinfo, int argno, const char *what);

/*
 * A ttl interval argument as the epoch second it ends at (now + ttl), for
 * an item's "ttl" attribute; 0 when NULL.  22023 unless it is finite, more
 * than 0 and at most 100 years.
 */
extern int64 arg_ttl_epoch(FunctionCallInfo fcinfo, int argno);

/* Server-encoding text of argument argno, for messages. */
extern char *arg_display(FunctionCallInfo fcinfo, int argno);

#endif
