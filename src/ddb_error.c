/*
 * ddb_error.c - maps DynamoDB failures to SQLSTATEs (ddb_error.h).
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "ddb_error.h"
#include "json.h"
#include "settings.h"

#define RETRY		0x1
#define THROTTLE	0x2
#define CREDENTIALS	0x4

typedef struct AwsErrorKind
{
	const char *type;
	int			sqlstate;
	int			flags;
} AwsErrorKind;

static const AwsErrorKind error_kinds[] = {
	{"ResourceNotFoundException", ERRCODE_UNDEFINED_TABLE, 0},
	{"ResourceInUseException", ERRCODE_OBJECT_IN_USE, 0},
	{"ValidationException", ERRCODE_INVALID_PARAMETER_VALUE, 0},
	{"SerializationException", ERRCODE_INVALID_PARAMETER_VALUE, 0},
	{"IdempotentParameterMismatchException", ERRCODE_INVALID_PARAMETER_VALUE, 0},
	{"ConditionalCheckFailedException", ERRCODE_T_R_SERIALIZATION_FAILURE, 0},
	{"TransactionCanceledException", ERRCODE_T_R_SERIALIZATION_FAILURE, 0},
	{"TransactionConflictException", ERRCODE_T_R_SERIALIZATION_FAILURE, 0},
	{"TransactionInProgressException", ERRCODE_T_R_SERIALIZATION_FAILURE, RETRY},
	{"ProvisionedThroughputExceededException", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED, RETRY | THROTTLE},
	{"ThrottlingException", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED, RETRY | THROTTLE},
	{"RequestLimitExceeded", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED, RETRY | THROTTLE},
	{"LimitExceededException", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED, 0},
	{"ItemCollectionSizeLimitExceededException", ERRCODE_PROGRAM_LIMIT_EXCEEDED, 0},
	{"InternalServerError", ERRCODE_CONNECTION_FAILURE, RETRY},
	{"ServiceUnavailable", ERRCODE_CONNECTION_FAILURE, RETRY},
	{"UnrecognizedClientException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"InvalidSignatureException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"IncompleteSignatureException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"MissingAuthenticationTokenException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"MissingAuthenticationToken", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"AccessDeniedException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"ExpiredTokenException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"InvalidClientTokenId", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"SignatureDoesNotMatch", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"UnknownOperationException", ERRCODE_FEATURE_NOT_SUPPORTED, 0},
};

static const AwsErrorKind *
find_kind(const char *type)
{
	if (type == NULL)
		return NULL;
	for (int i = 0; i < lengthof(error_kinds); i++)
		if (strcmp(error_kinds[i].type, type) == 0)
			return &error_kinds[i];
	return NULL;
}

void
ddb_failure_parse(DdbFailure *f, const HttpResponse *resp)
{
	cJSON	   *doc = json_parse(resp->body, resp->body_len);
	const char *type = json_get_string(doc, "__type");
	const char *message = json_get_string(doc, "message");

	if (message == NULL)
		message = json_get_string(doc, "Message");
	if (type)
	{
		const char *hash = strrchr(type, '#');

		f->aws_type = pstrdup(hash ? hash + 1 : type);
	}
	f->aws_message = message ? pstrdup(message) :
		(doc == NULL && resp->body_len > 0) ? pnstrdup(resp->body, Min(resp->body_len, 200)) : NULL;
	f->status = resp->status;
	f->request_id = resp->request_id[0] ? pstrdup(resp->request_id) : NULL;
}

bool
ddb_failure_is_retryable(const DdbFailure *f)
{
	const AwsErrorKind *kind;

	switch (f->outcome)
	{
		case HTTP_CONNECT_FAILED:
		case HTTP_TIMED_OUT:
		case HTTP_NETWORK_FAILED:
			return true;
		case HTTP_DONE:
			kind = find_kind(f->aws_type);
			if (kind)
				return (kind->flags & RETRY) != 0;
			return f->status >= 500;
		default:
			return false;
	}
}

bool
ddb_failure_is_throttling(const DdbFailure *f)
{
	const AwsErrorKind *kind = find_kind(f->aws_type);

	return kind && (kind->flags & THROTTLE);
}

bool
ddb_failure_is_credentials(const DdbFailure *f)
{
	const AwsErrorKind *kind = find_kind(f->aws_type);

	return (kind && (kind->flags & CREDENTIALS)) || f->status == 401 || f->status == 403;
}

/* AWS echoes parts of a request in some messages: never let a secret through. */
char *
ddb_redact(const char *message, const AwsCredentials *creds)
{
	const char *secrets[2] = {creds ? creds->secret_access_key : NULL,
	creds ? creds->session_token : NULL};
	char	   *text = pstrdup(message ? message : "");

	for (int i = 0; i < lengthof(secrets); i++)
	{
		const char *s = secrets[i];
		char	   *hit;

		if (s == NULL || strlen(s) < 4)
			continue;
		while ((hit = strstr(text, s)) != NULL)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			appendBinaryStringInfo(&buf, text, hit - text);
			appendStringInfoString(&buf, "[redacted]");
			appendStringInfoString(&buf, hit + strlen(s));
			text = buf.data;
		}
	}
	return text;
}

static int
sqlstate_for(const DdbFailure *f)
{
	const AwsErrorKind *kind;

	switch (f->outcome)
	{
		case HTTP_CONNECT_FAILED:
		case HTTP_TLS_FAILED:
			return ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
		case HTTP_TIMED_OUT:
		case HTTP_NETWORK_FAILED:
			return ERRCODE_CONNECTION_FAILURE;
		case HTTP_BAD_URL:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case HTTP_TOO_LARGE:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case HTTP_DONE:
			break;
	}
	kind = find_kind(f->aws_type);
	if (kind)
		return kind->sqlstate;
	if (f->status == 401 || f->status == 403)
		return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
	if (f->status == 413)
		return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	if (f->status >= 500)
		return ERRCODE_CONNECTION_FAILURE;
	return ERRCODE_SYSTEM_ERROR;
}

static char *
headline(const DdbFailure *f, int sqlstate, const char *message)
{
	switch (f->outcome)
	{
		case HTTP_CONNECT_FAILED:
			return psprintf("could not connect to DynamoDB at %s", f->endpoint);
		case HTTP_TLS_FAILED:
			return psprintf("could not verify the TLS certificate of DynamoDB at %s", f->endpoint);
		case HTTP_TIMED_OUT:
			return psprintf("DynamoDB did not answer within dynamo_atomic.request_timeout_ms (%d ms)",
							dynamo_request_timeout_ms);
		case HTTP_NETWORK_FAILED:
			return psprintf("connection to DynamoDB at %s failed", f->endpoint);
		case HTTP_BAD_URL:
			return psprintf("DynamoDB endpoint \"%s\" cannot be used", f->endpoint);
		case HTTP_TOO_LARGE:
			return psprintf("DynamoDB response exceeds %d bytes", HTTP_MAX_RESPONSE_BYTES);
		case HTTP_DONE:
			break;
	}
	if (sqlstate == ERRCODE_UNDEFINED_TABLE && f->table)
		return psprintf("DynamoDB table \"%s\" does not exist", f->table);
	if (sqlstate == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION)
		return pstrdup("DynamoDB rejected the AWS credentials");
	if (ddb_failure_is_throttling(f))
		return psprintf("DynamoDB throttled the %s request %d times", f->operation, f->attempts);
	if (sqlstate == ERRCODE_INVALID_PARAMETER_VALUE)
		return psprintf("DynamoDB rejected the %s request: %s", f->operation, message);
	if (f->status >= 500)
		return psprintf("DynamoDB could not serve the %s request (HTTP %ld)", f->operation, f->status);
	return psprintf("DynamoDB %s failed: %s", f->operation, message);
}

void
ddb_raise(const DdbFailure *f, const char *credentials_source)
{
	int			sqlstate = sqlstate_for(f);
	const char *message = f->aws_message ? f->aws_message : "";

	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", headline(f, sqlstate, message)),
			 f->outcome == HTTP_DONE ?
			 errdetail_internal("%s: %s", f->aws_type ? f->aws_type : psprintf("HTTP %ld", f->status), message) :
			 errdetail_internal("%s", f->transport_error ? f->transport_error : ""),
			 sqlstate == ERRCODE_UNDEFINED_TABLE ?
			 errhint("Check dynamo_atomic.region and dynamo_atomic.endpoint, or create the table.") :
			 sqlstate == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ?
			 errhint("The credentials came from %s.", credentials_source) : 0,
			 errcontext("DynamoDB %s at %s, %d attempt%s%s%s", f->operation, f->endpoint,
						f->attempts, f->attempts == 1 ? "" : "s",
						f->request_id ? ", request id " : "",
						f->request_id ? f->request_id : "")));
	pg_unreachable();
}
