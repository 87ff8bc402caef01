/*
 * marshal.h - DynamoDB AttributeValues as JSON text, in plain C (no
 * PostgreSQL: a fuzzer or a unit test can reach all of it).
 *
 * The mapping, both ways:
 *   string -> S, number -> N (the exact decimal text), true/false -> BOOL,
 *   null -> NULL, array -> L, object -> M;
 *   {"$b": "base64"} <-> B, {"$ss": [strings]} <-> SS,
 *   {"$ns": [numbers]} <-> NS, {"$bs": ["base64", ...]} <-> BS.
 * An object whose only key is "$b", "$ss", "$ns" or "$bs" is that form.
 */
#ifndef DYNAMO_ATOMIC_MARSHAL_H
#define DYNAMO_ATOMIC_MARSHAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "strbuf.h"

#define DDB_MAX_NUMBER_DIGITS 38
#define DDB_MAX_DEPTH 32
#define DDB_MAX_ITEM_BYTES (400 * 1024)

/*
 * Checks a decimal number's text against DynamoDB's limits: at most 38
 * significant digits, magnitude from 1E-130 to below 1E+126 (or zero).
 * Returns NULL when fine, else why not.
 */
extern const char *ddb_number_problem(const char *text);

/* Is text valid standard base64 (DynamoDB's binary encoding)? */
extern bool ddb_base64_is_valid(const char *text);

/*
 * Appends the JSON for one AttributeValue (UTF-8).  Returns NULL, or what
 * is wrong with av (an unknown type, a malformed number).
 */
extern const char *ddb_av_to_json(const cJSON *av, strbuf *out);

/* Appends the JSON object for an item: {"name": AttributeValue, ...}. */
extern const char *ddb_item_to_json(const cJSON *item, strbuf *out);

/* An item's size as DynamoDB counts it (names and values), near enough. */
extern size_t ddb_item_size(const cJSON *item);


#endif
