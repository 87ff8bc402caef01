/*
 * ddb.h - the DynamoDB JSON protocol: one function runs every operation.
 *
 * ddb_call() builds, signs, sends, retries (throttling, 5xx, network
 * failures: exponential backoff with full jitter, dynamo_atomic.max_retries)
 * and maps errors to SQLSTATEs.  Operations differ only in their request
 * and response JSON.  Responses are owned by CurrentMemoryContext.
 */
#ifndef DYNAMO_ATOMIC_DDB_H
#define DYNAMO_ATOMIC_DDB_H

#include "json.h"

extern cJSON *ddb_call(const char *operation, const cJSON *request);

/*
 * As ddb_call, but an AWS error of type tolerated_error (e.g.
 * "ConditionalCheckFailedException") returns NULL instead of raising.
 */
extern cJSON *ddb_call_tolerating(const char *operation, const cJSON *request,
								  const char *tolerated_error);

/* Sleeps ms milliseconds; query cancel and statement_timeout cut it short. */
extern void ddb_sleep_ms(long ms);

/* obj.name = {"S": value} and {"N": digits}: DynamoDB AttributeValues. */
extern void ddb_add_string_value(cJSON *obj, const char *name, const char *value);
extern void ddb_add_number_value(cJSON *obj, const char *name, const char *digits);

#endif
