/*
 * ddb_error.h - turns a failed DynamoDB exchange into a PostgreSQL error.
 *
 * One table maps each AWS error type to an SQLSTATE and says whether it is
 * worth retrying; transport failures map to the 08 class.  The AWS type and
 * message go to DETAIL, the request id and attempt count to CONTEXT.
 */
#ifndef DYNAMO_ATOMIC_DDB_ERROR_H
#define DYNAMO_ATOMIC_DDB_ERROR_H

#include "credentials.h"
#include "pg_compat.h"
#include "http.h"
#include "json.h"

typedef struct DdbFailure
{
	const char *operation;		/* "UpdateItem" */
	const char *table;			/* NULL when the request names none */
	const char *endpoint;
	HttpOutcome outcome;
	long		status;
	const char *aws_type;		/* short form, after '#'; NULL if none */
	const char *aws_message;
	const char *transport_error;
	const char *request_id;
	int			attempts;
	bool		request_sent;	/* the request may have reached DynamoDB */
	bool		unreadable;		/* HTTP 200, but the answer is not JSON */
	const char *key_schema;		/* the table's key, for a key complaint ("pk (S) + sk (S)"), or NULL */
	/* The error answer's JSON (CancellationReasons, a failed condition's Item), or NULL. */
	const cJSON *document;
	/*
	 * A throttling answer's first ThrottlingReasons entry, as DynamoDB gives
	 * them since 2025 ("TableWriteKeyRangeThroughputExceeded", the table's
	 * ARN), or NULL; throttling_reasons: every reason given (for statistics).
	 */
	const char *throttling_reason;
	const char *throttling_resource;
	int			n_throttling_reasons;
	const char *throttling_reasons[4];
} DdbFailure;

/*
 * The table the current call names: the function that creates such a table
 * and the setting its name came from (NULL: given as an argument), for the
 * hint of a "does not exist" error.  Either may be NULL.
 */
extern void ddb_note_table_origin(const char *table, const char *creator, const char *setting);

/* What ddb_note_table_origin noted last (for a caller that notes it again later). */
extern void ddb_noted_table_origin(const char **creator, const char **setting);

/* Fills the AWS fields of f from an error response. */
extern void ddb_failure_parse(DdbFailure *f, const HttpResponse *resp);

extern bool ddb_failure_is_retryable(const DdbFailure *f);

/* DynamoDB refused the key: it does not fit the table's key schema. */
extern bool ddb_failure_is_key_complaint(const DdbFailure *f);

/*
 * DynamoDB may have applied the request: it was sent and no answer says
 * otherwise (a timeout, a broken connection, a 5xx, an unreadable 200).
 */
extern bool ddb_failure_may_have_applied(const DdbFailure *f);
extern bool ddb_failure_is_throttling(const DdbFailure *f);

/* The kinds of throttling reason, by their limit type (the reason's last part). */
typedef enum ThrottleLimit
{
	THROTTLE_KEY_RANGE,			/* KeyRangeThroughputExceeded: one hot key (partition) */
	THROTTLE_PROVISIONED,		/* ProvisionedThroughputExceeded: the table's or index's capacity */
	THROTTLE_ACCOUNT,			/* AccountLimitExceeded: the account's per-table quota */
	THROTTLE_MAX_ON_DEMAND,		/* MaxOnDemandThroughputExceeded: the table's on-demand maximum */
	THROTTLE_UNKNOWN			/* none given, or one not known here */
} ThrottleLimit;

extern ThrottleLimit ddb_throttle_limit(const char *reason);
extern bool ddb_failure_is_credentials(const DdbFailure *f);

/* message with the secret and session token in creds blotted out. */
extern char *ddb_redact(const char *message, const AwsCredentials *creds);

/* Raises f; credentials_source names where the credentials came from. */
pg_noreturn extern void ddb_raise(const DdbFailure *f, const char *credentials_source);

/*
 * Raises 40003: what (a write) may or may not have been applied, f being
 * the attempt whose answer was lost; hint is optional advice.
 */
/*
 * 40003 for a write that was resent after a sending that may have been
 * applied, and then failed: the failure says nothing about that sending.
 */
pg_noreturn extern void ddb_raise_unknown_after_resend(const DdbFailure *f, const char *what, const char *hint);
pg_noreturn extern void ddb_raise_unknown_outcome(const DdbFailure *f, const char *what,
									  const char *hint);

/*
 * For a caller's own ereport about a failure it tolerated: add f's AWS
 * error as DETAIL and its operation, endpoint, attempts and request id as
 * CONTEXT, as ddb_raise does.  Use inside ereport(...).
 */
extern int	ddb_errdetail(const DdbFailure *f);
extern int	ddb_errcontext(const DdbFailure *f);

#endif
