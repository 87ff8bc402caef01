/*
 * ddb_error.c - maps DynamoDB failures to SQLSTATEs (ddb_error.h).
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "ddb_error.h"
#include "json.h"
#include "settings.h"
#include "text_encoding.h"

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
	/* A plain write touching an item a transaction is writing: refused, not applied. */
	{"TransactionConflictException", ERRCODE_T_R_SERIALIZATION_FAILURE, RETRY},
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
	/* The identity is valid but lacks a permission: keep the credentials. */
	{"AccessDeniedException", ERRCODE_INSUFFICIENT_PRIVILEGE, 0},
	{"ExpiredTokenException", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"InvalidClientTokenId", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"SignatureDoesNotMatch", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, CREDENTIALS},
	{"UnknownOperationException", ERRCODE_FEATURE_NOT_SUPPORTED, 0},
	/* An MRSC item being written in another region: refused, not applied; it can be retried. */
	{"ReplicatedWriteConflictException", ERRCODE_T_R_SERIALIZATION_FAILURE, RETRY},
	{"GlobalTableNotFoundException", ERRCODE_UNDEFINED_OBJECT, 0},
};

/* The current call's table and where it came from (ddb_note_table_origin). */
static char origin_table[256];
static const char *origin_creator;
static const char *origin_setting;

void
ddb_note_table_origin(const char *table, const char *creator, const char *setting)
{
	strlcpy(origin_table, table, sizeof(origin_table));
	origin_creator = creator;
	origin_setting = setting;
}

void
ddb_noted_table_origin(const char **creator, const char **setting)
{
	*creator = origin_creator;
	*setting = origin_setting;
}

static int
missing_table_hint(const DdbFailure *f)
{
	const char *from = "";

	if (f->table == NULL || strcmp(f->table, origin_table) != 0 || origin_creator == NULL)
		return errhint("Check dynamo_atomic.region and dynamo_atomic.endpoint, or create the table.");
	if (origin_setting)
		from = psprintf(" (the name came from the setting %s)", origin_setting);
	return errhint("Create it with %s('%s')%s, or check dynamo_atomic.region and dynamo_atomic.endpoint.",
				   origin_creator, f->table, from);
}

/*
 * What the transport error says about an endpoint that is not DynamoDB: a
 * TLS handshake answered in plain text, or a server that closes the
 * connection without a word (as PostgreSQL's port does to an HTTP request).
 */
static bool
is_plain_http_answer_to_tls(const DdbFailure *f)
{
	return (f->outcome == HTTP_CONNECT_FAILED || f->outcome == HTTP_TLS_FAILED) && f->transport_error &&
		strstr(f->transport_error, "wrong version number") != NULL;
}

static bool
is_empty_reply(const DdbFailure *f)
{
	return f->outcome == HTTP_NETWORK_FAILED && f->transport_error &&
		strstr(f->transport_error, "Empty reply from server") != NULL;
}

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

/* ThrottlingReasons: [{"reason": ..., "resource": ...}, ...], shown in the database encoding. */
static void
parse_throttling_reasons(DdbFailure *f, const cJSON *doc)
{
	const cJSON *reasons = json_get(doc, "ThrottlingReasons");
	const cJSON *entry;

	f->n_throttling_reasons = 0;
	if (!cJSON_IsArray(reasons))
		return;
	cJSON_ArrayForEach(entry, reasons)
	{
		const char *reason = json_get_string(entry, "reason");
		const char *resource = json_get_string(entry, "resource");

		if (reason == NULL || f->n_throttling_reasons >= lengthof(f->throttling_reasons))
			continue;
		f->throttling_reasons[f->n_throttling_reasons++] = text_display(reason);
		if (f->throttling_reason == NULL)
		{
			f->throttling_reason = f->throttling_reasons[0];
			f->throttling_resource = resource ? text_display(resource) : NULL;
		}
	}
}

ThrottleLimit
ddb_throttle_limit(const char *reason)
{
	static const struct
	{
		const char *suffix;
		ThrottleLimit limit;
	}			limits[] = {
		{"KeyRangeThroughputExceeded", THROTTLE_KEY_RANGE},
		{"ProvisionedThroughputExceeded", THROTTLE_PROVISIONED},
		{"AccountLimitExceeded", THROTTLE_ACCOUNT},
		{"MaxOnDemandThroughputExceeded", THROTTLE_MAX_ON_DEMAND},
	};
	size_t		len = reason ? strlen(reason) : 0;

	for (int i = 0; i < lengthof(limits); i++)
	{
		size_t		n = strlen(limits[i].suffix);

		if (len > n && strcmp(reason + len - n, limits[i].suffix) == 0)
			return limits[i].limit;
	}
	return THROTTLE_UNKNOWN;
}

/* What to do about a throttling that outlasted the retries, by its reason. */
static int
throttling_hint(const DdbFailure *f)
{
	switch (ddb_throttle_limit(f->throttling_reason))
	{
		case THROTTLE_KEY_RANGE:
			return errhint("One key is hot: a single item takes about 1,000 writes (3,000 reads) per second, "
						   "whatever the table's capacity. Spread counts nobody needs one value of over a sharded "
						   "tally (dynamo_tally_add), and take IDs in blocks (dynamo_nextval).");
		case THROTTLE_PROVISIONED:
			return errhint("The table's (or index's) provisioned capacity is used up: raise it, turn on auto "
						   "scaling, or use on-demand capacity.");
		case THROTTLE_ACCOUNT:
			return errhint("The account's per-table throughput quota in this region is reached: ask AWS for a "
						   "higher quota (Service Quotas).");
		case THROTTLE_MAX_ON_DEMAND:
			return errhint("The table's on-demand maximum throughput is reached: raise its MaxReadRequestUnits or "
						   "MaxWriteRequestUnits, or remove the maximum.");
		case THROTTLE_UNKNOWN:
			break;
	}
	return errhint("DynamoDB gave no reason: check the table's capacity and whether one key takes most "
				   "of the traffic (CloudWatch Contributor Insights).");
}

void
ddb_failure_parse(DdbFailure *f, const HttpResponse *resp)
{
	cJSON	   *doc = json_parse_unchecked(resp->body, resp->body_len);
	const char *type = json_get_string(doc, "__type");
	const char *message = json_get_string(doc, "message");

	if (message == NULL)
		message = json_get_string(doc, "Message");
	if (type)
	{
		const char *hash = strrchr(type, '#');

		f->aws_type = pstrdup(hash ? hash + 1 : type);
	}
	/* Into messages: in the database encoding, a byte that is not UTF-8 shown as \xNN. */
	f->aws_message = message ? text_display(message) :
		(doc == NULL && resp->body_len > 0) ? text_display(pnstrdup(resp->body, Min(resp->body_len, 200))) : NULL;
	f->status = resp->status;
	f->request_id = resp->request_id[0] ? pstrdup(resp->request_id) : NULL;
	f->document = doc;
	parse_throttling_reasons(f, doc);
}

bool
ddb_failure_is_retryable(const DdbFailure *f)
{
	const AwsErrorKind *kind;

	switch (f->outcome)
	{
		case HTTP_CONNECT_FAILED:
			return !is_plain_http_answer_to_tls(f);	/* that answer will not change */
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
ddb_failure_may_have_applied(const DdbFailure *f)
{
	if (!f->request_sent)
		return false;
	if (f->outcome != HTTP_DONE)
		return true;
	return f->status >= 500 || f->unreadable;
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
		const char *rest = text;
		const char *hit;
		StringInfoData buf;

		if (s == NULL || strlen(s) < 4)
			continue;

		/* Scan forward only: the replacement may itself contain s. */
		initStringInfo(&buf);
		while ((hit = strstr(rest, s)) != NULL)
		{
			appendBinaryStringInfo(&buf, rest, hit - rest);
			appendStringInfoString(&buf, "[redacted]");
			rest = hit + strlen(s);
		}
		appendStringInfoString(&buf, rest);
		text = buf.data;
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
			if (is_plain_http_answer_to_tls(f))
				return ERRCODE_SYSTEM_ERROR;	/* a setting to fix, not a passing failure */
			return ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
		case HTTP_TLS_FAILED:
			/* Not transient, unlike class 08: a retry loop must not spin on it. */
			return ERRCODE_SYSTEM_ERROR;
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
	if (f->unreadable)
		return ERRCODE_INTERNAL_ERROR;
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
			if (is_plain_http_answer_to_tls(f))
				return psprintf("the endpoint %s does not speak TLS", f->endpoint);
			return psprintf("could not connect to DynamoDB at %s", f->endpoint);
		case HTTP_TLS_FAILED:
			return psprintf("could not verify the TLS certificate of DynamoDB at %s", f->endpoint);
		case HTTP_TIMED_OUT:
			return psprintf("DynamoDB did not answer within dynamo_atomic.request_timeout_ms (%d ms)",
							dynamo_request_timeout_ms);
		case HTTP_NETWORK_FAILED:
			if (is_empty_reply(f))
				return psprintf("the endpoint %s closed the connection without an HTTP answer", f->endpoint);
			return psprintf("connection to DynamoDB at %s failed", f->endpoint);
		case HTTP_BAD_URL:
			return psprintf("DynamoDB endpoint \"%s\" cannot be used", f->endpoint);
		case HTTP_TOO_LARGE:
			return psprintf("DynamoDB response exceeds %d bytes", HTTP_MAX_RESPONSE_BYTES);
		case HTTP_DONE:
			break;
	}
	if (f->unreadable)
		return psprintf("DynamoDB's answer to %s is not JSON", f->operation);
	if (sqlstate == ERRCODE_UNDEFINED_TABLE && f->table)
		return psprintf("DynamoDB table \"%s\" does not exist", f->table);
	if (sqlstate == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION)
		return pstrdup("DynamoDB rejected the AWS credentials");
	if (sqlstate == ERRCODE_INSUFFICIENT_PRIVILEGE)
		return psprintf("DynamoDB denied the %s request", f->operation);
	if (ddb_failure_is_throttling(f))
		return psprintf("DynamoDB throttled the %s request %d times", f->operation, f->attempts);
	if (sqlstate == ERRCODE_INVALID_PARAMETER_VALUE)
		return psprintf("DynamoDB rejected the %s request: %s", f->operation, message);
	if (sqlstate == ERRCODE_FEATURE_NOT_SUPPORTED)
		return psprintf("the endpoint %s does not support DynamoDB's %s", f->endpoint, f->operation);
	if (f->status >= 500)
		return psprintf("DynamoDB could not serve the %s request (HTTP %ld)", f->operation, f->status);
	return psprintf("DynamoDB %s failed: %s", f->operation, message);
}

int
ddb_errdetail(const DdbFailure *f)
{
	const char *message = f->aws_message ? f->aws_message : "";

	if (f->unreadable)
		return errdetail_internal("HTTP 200: the request succeeded, but its answer cannot be read. It begins: %s",
								  message);
	if (f->outcome == HTTP_DONE && f->throttling_reason)
		return errdetail_internal("%s: %s Throttling reason: %s (%s).",
								  f->aws_type ? f->aws_type : psprintf("HTTP %ld", f->status), message,
								  f->throttling_reason, f->throttling_resource ? f->throttling_resource : "no resource given");
	if (f->outcome == HTTP_DONE)
		return errdetail_internal("%s: %s", f->aws_type ? f->aws_type : psprintf("HTTP %ld", f->status),
								  message);
	return errdetail_internal("%s", f->transport_error ? f->transport_error : "");
}

int
ddb_errcontext(const DdbFailure *f)
{
	return errcontext("DynamoDB %s at %s, %d attempt%s%s%s", f->operation, f->endpoint,
					  f->attempts, f->attempts == 1 ? "" : "s",
					  f->request_id ? ", request id " : "",
					  f->request_id ? f->request_id : "");
}

bool
ddb_failure_is_key_complaint(const DdbFailure *f)
{
	return f->outcome == HTTP_DONE && f->aws_type && strcmp(f->aws_type, "ValidationException") == 0 &&
		f->aws_message &&
		(strstr(f->aws_message, "required keys") != NULL ||
		 strstr(f->aws_message, "key element does not match the schema") != NULL ||
		 strstr(f->aws_message, "number of conditions on the keys is invalid") != NULL);
}

void
ddb_raise(const DdbFailure *f, const char *credentials_source)
{
	int			sqlstate = sqlstate_for(f);
	const char *message = f->aws_message ? f->aws_message : "";

	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", headline(f, sqlstate, message)),
			 ddb_errdetail(f),
			 sqlstate == ERRCODE_UNDEFINED_TABLE ? missing_table_hint(f) :
			 sqlstate == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ?
			 errhint("The credentials came from %s.", credentials_source) :
			 sqlstate == ERRCODE_INSUFFICIENT_PRIVILEGE ?
			 errhint("The IAM identity from %s lacks a permission for this table or action.", credentials_source) :
			 is_plain_http_answer_to_tls(f) ?
			 errhint("The server answered in plain HTTP: use http:// in dynamo_atomic.endpoint for a plain-HTTP "
					 "endpoint such as DynamoDB Local.") :
			 is_empty_reply(f) ?
			 errhint("If every call ends so, dynamo_atomic.endpoint may not be a DynamoDB endpoint.") :
			 f->outcome == HTTP_TLS_FAILED ?
			 errhint("This is a certificate problem, not a passing failure: check the endpoint's host name, "
					 "AWS_CA_BUNDLE and the server's CA certificates.") :
			 ddb_failure_is_key_complaint(f) && f->key_schema ?
			 errhint("Table \"%s\" is keyed %s. Counters named by counter_id need a table keyed by key_attribute "
					 "alone, items one keyed pk and sk, where counters are named by dynamo_key(pk, sk) (see the "
					 "README's Single-table design).", f->table, f->key_schema) :
			 ddb_failure_is_key_complaint(f) ?
			 errhint("The key attribute given (key_attribute) must be the table's partition key, "
					 "and the table must have no sort key.") :
			 ddb_failure_is_throttling(f) ? throttling_hint(f) : 0,
			 ddb_errcontext(f)));
	pg_unreachable();
}

void
ddb_raise_unknown_outcome(const DdbFailure *f, const char *what, const char *hint)
{
	const char *why;

	if (f->unreadable)
		why = "DynamoDB answered HTTP 200 with something that is not JSON";
	else if (f->outcome == HTTP_DONE)
		why = psprintf("DynamoDB answered HTTP %ld (%s: %s)", f->status,
					   f->aws_type ? f->aws_type : "no error type",
					   f->aws_message ? f->aws_message : "");
	else if (is_empty_reply(f))
		why = psprintf("the server closed the connection without an HTTP answer (if every call ends so, "
					   "dynamo_atomic.endpoint %s may not be a DynamoDB endpoint)", f->endpoint);
	else
		why = psprintf("the exchange %s: %s", http_outcome_name(f->outcome),
					   f->transport_error ? f->transport_error : "");

	ereport(ERROR,
			(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
			 errmsg("%s may or may not have been applied", what),
			 errdetail("Attempt %d of %s was sent, then %s. It was not sent again, "
					   "because a second sending could apply it twice.",
					   f->attempts, f->operation, why),
			 hint ? errhint("%s", hint) : 0,
			 ddb_errcontext(f)));
	pg_unreachable();
}

void
ddb_raise_unknown_after_resend(const DdbFailure *f, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
			 errmsg("%s may or may not have been applied", what),
			 errdetail("An earlier sending of %s may have been applied (its answer was lost or late); "
					   "the last of %d attempts then ended with %s, which says nothing about it.",
					   f->operation, f->attempts,
					   f->outcome == HTTP_DONE ?
					   psprintf("HTTP %ld (%s)", f->status, f->aws_type ? f->aws_type : "no error type") :
					   http_outcome_name(f->outcome)),
			 hint ? errhint("%s", hint) : 0,
			 ddb_errcontext(f)));
	pg_unreachable();
}
