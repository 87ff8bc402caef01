/*
 * ddb.c - runs DynamoDB operations (see ddb.h).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "credentials.h"
#include "ddb.h"
#include "ddb_error.h"
#include "endpoint.h"
#include "http.h"
#include "op_stats.h"
#include "settings.h"
#include "sigv4.h"
#include "stats.h"
#include "table_replication.h"
#include "wait_events.h"

#define API_TARGET_PREFIX "DynamoDB_20120810."
#define CONTENT_TYPE "application/x-amz-json-1.0"
#define BACKOFF_BASE_MS 50
#define BACKOFF_CAP_MS 5000
/* An attempt made close to its deadline still gets this long (a TLS reconnect fits). */
#define DEADLINE_FLOOR_MS 500
/* Bodies up to this long are remembered with their hash (body_hash). */
#define BODY_HASH_KEPT_BYTES 2048


void
ddb_add_string_value(cJSON *obj, const char *name, const char *value)
{
	json_add_string(json_add_object(obj, name), "S", value);
}

void
ddb_add_number_value(cJSON *obj, const char *name, const char *digits)
{
	json_add_string(json_add_object(obj, name), "N", digits);
}

void
ddb_sleep_ms(long ms)
{
	long		remaining = ms;
	TimestampTz deadline = GetCurrentTimestamp() + ms * 1000;

	while (remaining > 0)
	{
		/* In slices: a lock worker watches leases meanwhile (http_run_wait_hook). */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(remaining, 50), dynamo_wait_event(DYNAMO_WAIT_RETRY_BACKOFF));
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		http_run_wait_hook();
		remaining = (long) ((deadline - GetCurrentTimestamp()) / 1000);
	}
}

/*
 * Sleeps before retry number attempt (1-based): a uniform draw from
 * [0, min(cap, base * 2^attempt)], so that many clients throttled together
 * do not come back together.
 */
static void
backoff_sleep(int attempt, long left_ms)
{
	uint64		ceiling = Min((uint64) BACKOFF_CAP_MS,
							  (uint64) BACKOFF_BASE_MS << Min(attempt, 16));

	ddb_sleep_ms(Min((long) pg_prng_uint64_range(&pg_global_prng_state, 0, ceiling), left_ms));
}

/*
 * A sending with the same token is still being committed: keep resending
 * for the call's in_progress_retry_ms from the first such answer.
 */
static bool
still_in_progress(const DdbCall *call, const DdbFailure *f, TimestampTz *first)
{
	if (call->in_progress_retry_ms <= 0 || f->aws_type == NULL ||
		strcmp(f->aws_type, "TransactionInProgressException") != 0)
		return false;
	if (*first == 0)
		*first = GetCurrentTimestamp();
	return GetCurrentTimestamp() - *first < (TimestampTz) call->in_progress_retry_ms * 1000;
}

/* Milliseconds until the call's deadline (LONG_MAX without one). */
static long
ms_left(const DdbCall *call)
{
	if (call->deadline == 0)
		return LONG_MAX;
	return (long) Max((call->deadline - GetCurrentTimestamp()) / 1000, 0);
}

/*
 * The SHA-256 of a request body, which its signature covers.  A hot
 * counter sends the same body call after call (only the date and the
 * signature change): the last short body and its hash are kept, and a
 * body equal to it byte for byte is not hashed again.
 */
static void
body_hash(const char *body, size_t len, char *hash_out)
{
	static char *last_body = NULL;
	static size_t last_len = 0;
	static char last_hash[SIGV4_SHA256_HEX_LEN + 1];

	if (last_body != NULL && len == last_len && memcmp(body, last_body, len) == 0)
	{
		memcpy(hash_out, last_hash, sizeof(last_hash));
		return;
	}
	if (!sigv4_sha256_hex(body, len, hash_out))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not hash the request")));
	if (len > BODY_HASH_KEPT_BYTES)
		return;
	if (last_body == NULL)
		last_body = MemoryContextAlloc(TopMemoryContext, BODY_HASH_KEPT_BYTES);
	memcpy(last_body, body, len);
	last_len = len;
	memcpy(last_hash, hash_out, sizeof(last_hash));
}

/* The Authorization header for one attempt (signing is redone per attempt). */
static char *
authorization_for(const DdbEndpoint *ep, const AwsCredentials *creds,
				  const HttpHeader *headers, int n_headers,
				  const char *payload_hash, const char *amz_date)
{
	sigv4_header signed_headers[8];
	sigv4_request req = {0};
	sigv4_scope scope = {amz_date, ep->region, "dynamodb"};
	strbuf		auth;
	char	   *result;

	Assert(n_headers <= lengthof(signed_headers));
	for (int i = 0; i < n_headers; i++)
	{
		signed_headers[i].name = headers[i].name;
		signed_headers[i].value = headers[i].value;
	}
	req.method = "POST";
	req.path = ep->path;
	req.normalize_path = true;
	req.headers = signed_headers;
	req.n_headers = n_headers;
	req.payload_sha256_hex = payload_hash;

	strbuf_init(&auth);
	if (!sigv4_sign(&req, &scope, creds->access_key_id, creds->secret_access_key, &auth))
	{
		strbuf_free(&auth, false);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not sign the DynamoDB request")));
	}
	result = pstrdup(auth.data);
	strbuf_free(&auth, false);
	return result;
}

/* Operations without effect: always safe to send again. */
static bool
is_read(const char *operation)
{
	static const char *const reads[] = {
		"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems",
		"DescribeTable", "DescribeTimeToLive", "DescribeGlobalTable", "ListTables"
	};

	for (int i = 0; i < lengthof(reads); i++)
		if (strcmp(reads[i], operation) == 0)
			return true;
	return false;
}

/* Is type one of the call's tolerated_error ("A" or "A,B,...")? */
static bool
tolerates(const DdbCall *call, const char *type)
{
	const char *list = call->tolerated_error;
	size_t		len;

	if (list == NULL || type == NULL)
		return false;
	len = strlen(type);
	for (const char *p = list; (p = strstr(p, type)) != NULL; p += len)
		if ((p == list || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return true;
	return false;
}

/* The AWS fields of a failed attempt. */
static void
describe_failure(DdbFailure *f, const DdbCall *call, const DdbEndpoint *ep,
				 const HttpResponse *resp, int attempt)
{
	memset(f, 0, sizeof(*f));
	f->operation = call->operation;
	f->table = json_get_string(call->request, "TableName");
	f->endpoint = ep->url;
	f->outcome = resp->outcome;
	f->transport_error = pstrdup(resp->error);
	f->attempts = attempt;
	f->request_sent = resp->request_sent;
	if (resp->outcome == HTTP_DONE)
		ddb_failure_parse(f, resp);
}

/*
 * Every table a request names against dynamo_atomic.allowed_tables: its
 * TableName, a batch's RequestItems, a transaction's TransactItems.
 */
static void
for_each_table(const cJSON *request, void (*fn) (const char *table, const DdbCall *call), const DdbCall *call)
{
	const cJSON *e;

	if (json_get_string(request, "TableName"))
		fn(json_get_string(request, "TableName"), call);
	cJSON_ArrayForEach(e, json_get(request, "RequestItems"))
		fn(e->string, call);
	cJSON_ArrayForEach(e, json_get(request, "TransactItems"))
	{
		const cJSON *action;

		cJSON_ArrayForEach(action, e)
			if (json_get_string(action, "TableName"))
			fn(json_get_string(action, "TableName"), call);
	}
}

static void
check_table_allowed(const char *table, const DdbCall *call)
{
	settings_check_table_allowed(table);
}

static void
forget_replication(const char *table, const DdbCall *call)
{
	table_replication_forget(table, call->endpoint_url, call->region, false);
}

void
ddb_execute(const DdbCall *call, DdbResult *result)
{
	DdbEndpoint ep;
	AwsCredentials creds;
	char	   *body = NULL;
	size_t		body_len = 0;
	char		payload_hash[SIGV4_SHA256_HEX_LEN + 1];
	char	   *target = psprintf(API_TARGET_PREFIX "%s", call->operation);
	bool		resend_safe = call->resend_safe || is_read(call->operation);
	int			row = op_stats_row(call->operation);
	TimestampTz start = GetCurrentTimestamp();
	DdbFailure	failure;
	char	   *source;
	TimestampTz first_in_progress = 0;
	bool		in_progress;

	memset(result, 0, sizeof(*result));
	dynamo_backend_stats.calls++;
	op_stats_add(row, OP_CALLS, 1);
	ddb_endpoint_resolve(&ep, call->endpoint_url, call->region);
	for_each_table(call->request, check_table_allowed, call);

	for (int attempt = 1;; attempt++)
	{
		char		amz_date[SIGV4_AMZ_DATE_LEN + 1];
		HttpHeader	headers[6];
		int			n = 0;
		HttpRequest req = {0};
		HttpResponse resp;
		long		left = ms_left(call);

		/* The request's times are the attempt's own: print and hash it again. */
		if (body == NULL || call->before_attempt)
		{
			if (call->maybe_applied_out)
				*call->maybe_applied_out = result->maybe_applied_before;
			if (call->before_attempt)
				call->before_attempt(call->before_attempt_arg);
			body = json_print(call->request);
			body_len = strlen(body);
			body_hash(body, body_len, payload_hash);
		}
		/* Per attempt: cached credentials may have been refreshed meanwhile. */
		aws_credentials_get(&creds);
		if (!sigv4_format_amz_date(time(NULL), amz_date))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not format the date")));

		/* Exactly these are signed: content-type, host, x-amz-date, x-amz-target, token. */
		headers[n++] = (HttpHeader) {"Content-Type", CONTENT_TYPE};
		headers[n++] = (HttpHeader) {"Host", ep.host};
		headers[n++] = (HttpHeader) {"X-Amz-Date", amz_date};
		headers[n++] = (HttpHeader) {"X-Amz-Target", target};
		if (creds.session_token)
			headers[n++] = (HttpHeader) {"X-Amz-Security-Token", creds.session_token};
		headers[n] = (HttpHeader) {"Authorization",
			authorization_for(&ep, &creds, headers, n, payload_hash, amz_date)};
		n++;

		req.method = "POST";
		req.url = ep.url;
		req.headers = headers;
		req.n_headers = n;
		req.body = body;
		req.body_len = body_len;
		left = Max(left, DEADLINE_FLOOR_MS);
		if (call->attempt_timeout_ms > 0)
			left = Min(left, call->attempt_timeout_ms);
		req.connect_timeout_ms = (int) Min(dynamo_connect_timeout_ms, left);
		req.timeout_ms = (int) Min(dynamo_request_timeout_ms, left);
		req.resend_safe = resend_safe;
		req.direct_ok = true;
		http_perform(&req, &resp);
		op_stats_add(row, OP_REQUESTS, 1);
		if (resp.resent)
			result->maybe_applied_before = true;

		if (resp.outcome == HTTP_DONE && resp.status == 200)
		{
			/* A write's answer is not handed on as text: never fail it after the write. */
			result->response = is_read(call->operation) ? json_parse(resp.body, resp.body_len) :
				json_parse_unchecked(resp.body, resp.body_len);
			if (result->response != NULL)
			{
				op_stats_latency(row, (uint64) (GetCurrentTimestamp() - start));
				return;
			}
			/* Applied (for a write), but what it says is lost. */
			describe_failure(&failure, call, &ep, &resp, attempt);
			failure.unreadable = true;
			failure.aws_message = pnstrdup(resp.body, Min(resp.body_len, 200));
			break;
		}

		describe_failure(&failure, call, &ep, &resp, attempt);

		if (tolerates(call, failure.aws_type))
		{
			result->tolerated = palloc(sizeof(DdbFailure));
			*result->tolerated = failure;
			result->tolerated->aws_message = ddb_redact(failure.aws_message, &creds);
			op_stats_latency(row, (uint64) (GetCurrentTimestamp() - start));
			return;
		}
		if (call->tolerate_key_complaint && ddb_failure_is_key_complaint(&failure))
		{
			result->tolerated = palloc(sizeof(DdbFailure));
			*result->tolerated = failure;
			result->tolerated->aws_message = ddb_redact(failure.aws_message, &creds);
			result->key_complaint = true;
			op_stats_latency(row, (uint64) (GetCurrentTimestamp() - start));
			return;
		}
		if (ddb_failure_is_throttling(&failure))
		{
			dynamo_backend_stats.throttles++;
			op_stats_add(row, OP_THROTTLES, 1);
			if (failure.n_throttling_reasons == 0)
				op_stats_add_throttle_reason(row, NULL);
			for (int i = 0; i < failure.n_throttling_reasons; i++)
				op_stats_add_throttle_reason(row, failure.throttling_reasons[i]);
		}
		if (ddb_failure_may_have_applied(&failure))
		{
			if (!resend_safe)
			{
				dynamo_backend_stats.errors++;
				op_stats_add(row, OP_ERRORS, 1);
				op_stats_latency(row, (uint64) (GetCurrentTimestamp() - start));
				failure.aws_message = ddb_redact(failure.aws_message, &creds);
				ddb_raise_unknown_outcome(&failure,
										  call->what ? call->what : psprintf("the %s request", call->operation),
										  call->unknown_hint);
			}
			result->maybe_applied_before = true;
		}
		in_progress = still_in_progress(call, &failure, &first_in_progress);
		if (!ddb_failure_is_retryable(&failure) || (attempt > dynamo_max_retries && !in_progress) ||
			ms_left(call) == 0)
			break;
		dynamo_backend_stats.retries++;
		op_stats_add(row, OP_RETRIES, 1);
		backoff_sleep(attempt, ms_left(call));
		if (ms_left(call) == 0)
			break;
	}

	dynamo_backend_stats.errors++;
	op_stats_add(row, OP_ERRORS, 1);
	op_stats_latency(row, (uint64) (GetCurrentTimestamp() - start));
	/* Redact and copy before the cache that holds creds may be dropped. */
	failure.aws_message = ddb_redact(failure.aws_message, &creds);
	if (call->unknown_once_maybe_applied && result->maybe_applied_before)
		ddb_raise_unknown_after_resend(&failure,
									   call->what ? call->what : psprintf("the %s request", call->operation),
									   call->unknown_hint);
	source = pstrdup(creds.source);
	if (ddb_failure_is_credentials(&failure))
		aws_credentials_invalidate(&creds);
	if (call->best_effort && is_read(call->operation))
	{
		result->tolerated = palloc(sizeof(DdbFailure));
		*result->tolerated = failure;
		return;
	}
	/* What was learned of the tables' replication may be out of date: describe them again next time. */
	if (table_replication_error_suggests_change(call->operation, failure.aws_type))
		for_each_table(call->request, forget_replication, call);
	/* The request is over: one more, to say what the table's key is (not in a worker's bounded work). */
	if (ddb_failure_is_key_complaint(&failure) && failure.table && strcmp(call->operation, "DescribeTable") != 0 &&
		!compat_am_background_worker())
		failure.key_schema = ddb_table_key_schema(failure.table, call->endpoint_url, call->region);
	ddb_raise(&failure, source);
}

cJSON *
ddb_read(const char *operation, const cJSON *request)
{
	DdbCall		call = {0};
	DdbResult	result;

	if (!is_read(operation))
		elog(ERROR, "dynamo_atomic: %s is not a read; it must declare how it may be resent",
			 operation);
	call.operation = operation;
	call.request = request;
	ddb_execute(&call, &result);
	return result.response;
}

char *
ddb_table_key_schema(const char *table, const char *endpoint_url, const char *region)
{
	DdbCall		call = {0};
	DdbResult	res;
	cJSON	   *req = json_new_object();
	const cJSON *desc;
	const cJSON *key;
	StringInfoData out;

	json_add_string(req, "TableName", table);
	call.operation = "DescribeTable";
	call.request = req;
	call.endpoint_url = endpoint_url;
	call.region = region;
	/*
	 * Only to say more about an error already in hand: a second or so, and
	 * any failure of its own (throttling, AccessDenied for a least-privilege
	 * identity...) means saying nothing more.
	 */
	call.best_effort = true;
	call.deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
	ddb_execute(&call, &res);
	desc = json_get(res.response, "Table");
	if (desc == NULL)
		return NULL;
	initStringInfo(&out);
	/* HASH first, then RANGE, each with its type from AttributeDefinitions. */
	for (int want_range = 0; want_range <= 1; want_range++)
	{
		cJSON_ArrayForEach(key, json_get(desc, "KeySchema"))
		{
			const char *name = json_get_string(key, "AttributeName");
			const char *kind = json_get_string(key, "KeyType");
			const char *type = "?";
			const cJSON *def;

			if (name == NULL || kind == NULL || (strcmp(kind, "RANGE") == 0) != want_range)
				continue;
			cJSON_ArrayForEach(def, json_get(desc, "AttributeDefinitions"))
			{
				const char *def_name = json_get_string(def, "AttributeName");

				if (def_name && strcmp(def_name, name) == 0 && json_get_string(def, "AttributeType"))
					type = json_get_string(def, "AttributeType");
			}
			appendStringInfo(&out, "%s%s (%s)", out.len > 0 ? " + " : "", name, type);
		}
	}
	return out.len > 0 ? out.data : NULL;
}

/* Parses DynamoDB's decimal text as an int64; false if it is anything else. */
bool
ddb_parse_int64(const char *text, int64 *out)
{
	const char *p = text;
	bool		negative = (*p == '-');
	uint64		magnitude = 0;

	if (negative)
		p++;
	if (*p == '\0')
		return false;
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return false;
		if (magnitude > (PG_UINT64_MAX - (*p - '0')) / 10)
			return false;
		magnitude = magnitude * 10 + (*p - '0');
	}
	if (negative ? magnitude > (uint64) PG_INT64_MAX + 1 : magnitude > (uint64) PG_INT64_MAX)
		return false;
	*out = negative ? (int64) (0 - magnitude) : (int64) magnitude;
	return true;
}
