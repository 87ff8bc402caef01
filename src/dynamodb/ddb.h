/*
 * ddb.h - the DynamoDB JSON protocol: one function runs every operation.
 *
 * ddb_execute() builds, signs, sends, retries and maps errors to
 * SQLSTATEs.  Operations differ only in their request and response JSON.
 * Responses are owned by CurrentMemoryContext.
 *
 * Retries.  Throttling, 5xx and network failures are retried with
 * exponential backoff and full jitter, up to dynamo_atomic.max_retries,
 * but only when sending the request again is safe:
 *   - an attempt that certainly did not reach DynamoDB (connection refused,
 *     DNS or TLS failure, connect timeout) or that DynamoDB certainly did
 *     not apply (throttling and other 4xx answers) is always resent;
 *   - an attempt that may have been applied (sent, then a timeout, a broken
 *     connection or a 5xx) is resent only for reads and for writes that
 *     declare resend_safe; any other write raises 40003
 *     (statement_completion_unknown) at once.
 */
#ifndef DYNAMO_ATOMIC_DDB_H
#define DYNAMO_ATOMIC_DDB_H

#include "datatype/timestamp.h"

#include "ddb_error.h"
#include "json.h"

typedef struct DdbCall
{
	const char *operation;		/* "UpdateItem" */
	const cJSON *request;

	/*
	 * For writes: true when applying the request twice has the effect of
	 * applying it once, or when its condition recognises an earlier
	 * application (the caller then checks maybe_applied_before).  Reads
	 * are always resent, whatever this says.
	 */
	bool		resend_safe;
	/* The write in messages, e.g. "the increment 1 of counter \"x\"". */
	const char *what;
	/* Extra advice when the outcome is unknown (errhint); NULL for none. */
	const char *unknown_hint;
	/* AWS error types returned in the result instead of raised ("A" or "A,B"); or NULL. */
	const char *tolerated_error;
	/*
	 * A ValidationException saying the key does not fit the table's key
	 * schema is returned in the result (key_complaint) instead of raised.
	 * DynamoDB checks the key before anything else: such a request was
	 * never applied, by any sending.
	 */
	bool		tolerate_key_complaint;
	/* Where to send it, when not where the settings say (the lock worker). */
	const char *endpoint_url;
	const char *region;

	/*
	 * Called before every attempt, to put the attempt's own times into the
	 * request (a lease end is counted from the sending that DynamoDB
	 * applies, not from the first one); NULL for none.
	 */
	void		(*before_attempt) (void *arg);
	void	   *before_attempt_arg;
	/* Set before every attempt, for before_attempt: may an earlier sending have been applied? */
	bool	   *maybe_applied_out;

	/*
	 * No attempt runs past this (each is cut to the time left) and none
	 * starts after it: the last failure is raised.  0 for none.  A lease
	 * refresh is worth nothing once its lease has ended.
	 */
	TimestampTz deadline;

	/*
	 * No single attempt runs longer than this (0: request_timeout_ms
	 * alone): an acquire whose answer comes after its lease has ended is
	 * worth less than a prompt second try.
	 */
	int			attempt_timeout_ms;

	/*
	 * Once a sending may have been applied, a later failure does not say
	 * it was not: it raises 40003 (for writes that are resent, such as a
	 * transaction with its ClientRequestToken).
	 */
	bool		unknown_once_maybe_applied;

	/*
	 * TransactionInProgressException (a sending with the same token is
	 * still being committed) is resent for this long, past max_retries, as
	 * AWS advises; 0: like any retryable error.
	 */
	int			in_progress_retry_ms;

	/*
	 * Only to say more about something else: a failure is returned in the
	 * result (tolerated) instead of raised.  Reads only.
	 */
	bool		best_effort;
} DdbCall;

typedef struct DdbResult
{
	cJSON	   *response;		/* NULL when the tolerated error came back */
	DdbFailure *tolerated;		/* that error, for the caller's message */

	/*
	 * An earlier sending of this request may have been applied: the
	 * answer (above all a tolerated error) may be to a resend, not to the
	 * first sending.
	 */
	bool		maybe_applied_before;

	/* The key did not fit the table (with tolerate_key_complaint; tolerated is set). */
	bool		key_complaint;
} DdbResult;

extern void ddb_execute(const DdbCall *call, DdbResult *result);

/* A read (GetItem, Query, DescribeTable...): resent freely, every error raised. */
extern cJSON *ddb_read(const char *operation, const cJSON *request);

/*
 * The key schema of a table, as "pk (S) + sk (S)" or "id (S)", from one
 * DescribeTable; NULL when the identity may not describe it.
 */
extern char *ddb_table_key_schema(const char *table, const char *endpoint_url, const char *region);

/* Sleeps ms milliseconds; query cancel and statement_timeout cut it short. */
extern void ddb_sleep_ms(long ms);

/* obj.name = {"S": value} and {"N": digits}: DynamoDB AttributeValues. */
extern void ddb_add_string_value(cJSON *obj, const char *name, const char *value);
extern void ddb_add_number_value(cJSON *obj, const char *name, const char *digits);

/* Parses DynamoDB's decimal text as an int64; false if it is anything else (fraction, exponent, past bigint). */
extern bool ddb_parse_int64(const char *text, int64 *out);

#endif
