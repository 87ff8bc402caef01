/*
 * transaction.c - a TransactWriteItems sent until decided (see transaction.h).
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "utils/timestamp.h"

#include "lock_item.h"
#include "settings.h"
#include "transaction.h"

/* AWS: keep retrying TransactionInProgressException for at least about 5 s. */
#define IN_PROGRESS_RETRY_MS 10000
/* A ClientRequestToken is honoured 10 minutes; resends stop a minute short. */
#define TOKEN_WINDOW_MS (9 * 60 * 1000)

/*
 * What each cancellation reason DynamoDB documents means here.  Retried
 * ones are refusals that a later sending may not meet; the others are final.
 */
typedef struct CancellationReason
{
	const char *code;
	int			sqlstate;
	bool		retry;
	const char *meaning;
} CancellationReason;

static const CancellationReason cancellation_reasons[] = {
	{"ConditionalCheckFailed", ERRCODE_T_R_SERIALIZATION_FAILURE, false,
	"A condition of the transaction did not hold."},
	{"TransactionConflict", ERRCODE_T_R_SERIALIZATION_FAILURE, true,
	"Another transaction or write was changing the same item."},
	{"ReplicatedWriteConflict", ERRCODE_T_R_SERIALIZATION_FAILURE, true,
	"A write in another region was changing the same item."},
	{"ProvisionedThroughputExceeded", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED, true,
	"The table's provisioned throughput was exceeded."},
	{"ThrottlingError", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED, true,
	"DynamoDB throttled the transaction."},
	{"ItemCollectionSizeLimitExceeded", ERRCODE_PROGRAM_LIMIT_EXCEEDED, false,
	"An item collection of a local secondary index would exceed 10 GB."},
	{"ValidationError", ERRCODE_INVALID_PARAMETER_VALUE, false,
	"DynamoDB found a parameter of the transaction invalid."},
};

static const CancellationReason unknown_reason = {
	"unknown", ERRCODE_INTERNAL_ERROR, false, "DynamoDB gave a reason this extension does not know."
};

static const CancellationReason *
cancellation_reason(const char *code)
{
	for (int i = 0; i < lengthof(cancellation_reasons); i++)
		if (strcmp(cancellation_reasons[i].code, code) == 0)
			return &cancellation_reasons[i];
	return &unknown_reason;
}

/*
 * Why the transaction was cancelled: the first reason other than "None",
 * its action in *index and its item (if returned) in *item.  From the
 * answer's CancellationReasons when it has them; else from the message,
 * where DynamoDB lists them too: "[None, ConditionalCheckFailed]".
 */
static const char *
cancellation_code(const DdbFailure *f, int *index, const cJSON **item)
{
	const cJSON *reasons = json_get(f->document, "CancellationReasons");
	const char *msg = f->aws_message ? f->aws_message : "";
	const char *open = strchr(msg, '[');
	int			i = 0;

	*index = -1;
	*item = NULL;
	if (cJSON_IsArray(reasons))
	{
		const cJSON *r;

		cJSON_ArrayForEach(r, reasons)
		{
			const char *code = json_get_string(r, "Code");

			if (code && strcmp(code, "None") != 0)
			{
				*index = i;
				*item = json_get(r, "Item");
				return pstrdup(code);
			}
			i++;
		}
		return "unknown";
	}
	if (open == NULL)
		return "unknown";
	for (const char *p = open + 1; *p && *p != ']'; i++)
	{
		const char *end = p + strcspn(p, ",]");
		char	   *code = pnstrdup(p, end - p);

		while (*code == ' ')
			code++;
		if (strcmp(code, "None") != 0)
		{
			*index = i;
			return code;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return "unknown";
}

void
transaction_run(cJSON *req, const char *token, const char *what, const char *unknown_hint, TransactionOutcome *out)
{
	char		new_token[LOCK_VERSION_LEN + 1];
	DdbCall		call = {0};

	memset(out, 0, sizeof(*out));
	out->failed_action = -1;
	if (token == NULL)
	{
		lock_new_version(new_token);	/* 32 random hex characters: within the token's 36 */
		token = new_token;
	}
	/* The same token on every sending: DynamoDB applies the transaction at most once. */
	json_add_string(req, "ClientRequestToken", token);

	call.operation = "TransactWriteItems";
	call.request = req;
	call.resend_safe = true;
	call.tolerated_error = "TransactionCanceledException";
	call.what = what;
	call.unknown_hint = unknown_hint;
	/* Once a sending may have landed, no failure says it did not. */
	call.unknown_once_maybe_applied = true;
	call.in_progress_retry_ms = IN_PROGRESS_RETRY_MS;
	/* DynamoDB honours the token for 10 minutes: no resend comes later. */
	call.deadline = GetCurrentTimestamp() + (TimestampTz) TOKEN_WINDOW_MS * 1000;
	for (int attempt = 0;; attempt++)
	{
		DdbResult	res;
		const char *code;
		int			index;
		const cJSON *item;
		const CancellationReason *reason;

		ddb_execute(&call, &res);
		if (res.response != NULL)
		{
			out->applied = true;
			return;
		}
		code = cancellation_code(res.tolerated, &index, &item);
		/* A cancellation answering a resend may be its own first sending's doing. */
		if (res.maybe_applied_before)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
					 errmsg("%s may or may not have been applied", what),
					 errdetail("An earlier sending may have been applied (its answer was lost or late); "
							   "the resend was cancelled (%s), which says nothing about it.", code),
					 errhint("%s", unknown_hint),
					 ddb_errcontext(res.tolerated)));
		if (strcmp(code, "ConditionalCheckFailed") == 0 && index >= 0)
		{
			out->failed_action = index;
			out->failed_item = item;
			out->failure = res.tolerated;
			return;
		}
		reason = cancellation_reason(code);
		if (reason->retry && attempt < dynamo_max_retries)
		{
			ddb_sleep_ms((long) pg_prng_uint64_range(&pg_global_prng_state, 0,
													 Min(5000, 50L << Min(attempt + 1, 16))));
			continue;
		}
		ereport(ERROR,
				(errcode(reason->sqlstate),
				 errmsg("DynamoDB cancelled the transaction: %s%s", code,
						reason->retry ? psprintf(" (after %d retries)", attempt) : ""),
				 errdetail("Nothing was written. %s", reason->meaning),
				 ddb_errcontext(res.tolerated)));
	}
}
