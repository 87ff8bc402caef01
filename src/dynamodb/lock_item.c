/*
 * lock_item.c - the lock item's writes (see lock_item.h).
 */
#include "postgres.h"

#include <sys/time.h>

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ddb.h"
#include "lock_item.h"

/* DynamoDB removes an abandoned item this long after its lease ended. */
#define LOCK_TTL_AFTER_LEASE_S (24 * 60 * 60)

void
lock_key_refuse(const char *attribute, const char *what)
{
	if (strcmp(attribute, LOCK_KEY_ATTRIBUTE) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s cannot use the attribute \"%s\"", what, LOCK_KEY_ATTRIBUTE),
				 errdetail("\"%s\" is the key of lock items, which only the lock functions may write.",
						   LOCK_KEY_ATTRIBUTE)));
}

int64
lock_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

TimestampTz
lock_ms_to_timestamptz(int64 ms)
{
	return time_t_to_timestamptz((pg_time_t) (ms / 1000)) + (ms % 1000) * 1000;
}

void
lock_new_version(char *out)
{
	uint8		bytes[LOCK_VERSION_LEN / 2];

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a lock version")));
	hex_encode((const char *) bytes, sizeof(bytes), out);
	out[LOCK_VERSION_LEN] = '\0';
}

static void
add_number(cJSON *values, const char *name, int64 v)
{
	char		digits[32];

	snprintf(digits, sizeof(digits), INT64_FORMAT, v);
	ddb_add_number_value(values, name, digits);
}

/* An UpdateItem on the lock's item; *values receives ":name" values. */
static cJSON *
lock_request(const LockTarget *t, cJSON **values)
{
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", t->table);
	ddb_add_string_value(json_add_object(req, "Key"), LOCK_KEY_ATTRIBUTE, t->name);
	*values = json_add_object(req, "ExpressionAttributeValues");
	ddb_add_string_value(*values, ":me", t->owner);
	return req;
}

/*
 * Adds the expressions, and the "#name" placeholders they use (DynamoDB
 * refuses a name no expression uses).
 */
static void
lock_expressions(cJSON *req, const char *update, const char *condition)
{
	static const char *const names[][2] = {
		{"#owner", "owner"}, {"#token", "fencing_token"}, {"#version", "version"},
		{"#lease", "lease_until"}, {"#ttl", "ttl"}, {"#holder", "holder"},
		{"#acquired", "acquired_at"}, {"#released", "last_release"}
	};
	cJSON	   *used = json_add_object(req, "ExpressionAttributeNames");

	json_add_string(req, "UpdateExpression", update);
	json_add_string(req, "ConditionExpression", condition);
	for (int i = 0; i < lengthof(names); i++)
		if (strstr(update, names[i][0]) || strstr(condition, names[i][0]))
			json_add_string(used, names[i][0], names[i][1]);
}

/* Runs a conditional lock write; false when its condition failed. */
static bool
run_conditional(DdbCall *call, const LockTarget *t, cJSON *req, bool *maybe_applied_before,
				cJSON **response)
{
	DdbResult	res;

	call->operation = "UpdateItem";
	call->request = req;
	call->resend_safe = true;	/* every lock write recognises itself: see lock_item.h */
	call->tolerated_error = "ConditionalCheckFailedException";
	call->endpoint_url = t->endpoint_url;
	call->region = t->region;
	ddb_execute(call, &res);
	if (maybe_applied_before)
		*maybe_applied_before = res.maybe_applied_before;
	if (response)
		*response = res.response;
	return res.response != NULL;
}

static int64
number_attribute(const cJSON *attrs, const char *name)
{
	const char *text = json_get_string(json_get(attrs, name), "N");

	return text ? strtoi64(text, NULL, 10) : 0;
}

/* Replaces (or adds) the number value :name. */
static void
set_number(cJSON *values, const char *name, int64 v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(values, name);
	add_number(values, name, v);
}

/* What an acquire or heartbeat recomputes for each sending (see ddb.h). */
typedef struct LeaseTimes
{
	cJSON	   *values;
	int			lease_ms;
	int			skew_ms;		/* acquire only; -1 for a heartbeat */
	LockGrant  *out;
} LeaseTimes;

/*
 * The lease runs from this attempt: a resend after a lost or late answer
 * never grants a lease that started with an earlier sending.
 */
static void
lease_times_for_attempt(void *arg)
{
	LeaseTimes *lt = arg;
	int64		now = lock_now_ms();

	lt->out->lease_until_ms = now + lt->lease_ms;
	set_number(lt->values, ":lease", lt->out->lease_until_ms);
	set_number(lt->values, ":ttl", lt->out->lease_until_ms / 1000 + LOCK_TTL_AFTER_LEASE_S);
	if (lt->skew_ms >= 0)
	{
		set_number(lt->values, ":now", now);
		/* A new item's first token: above any token an earlier item of the name had. */
		set_number(lt->values, ":token_base", now * 1000);
		set_number(lt->values, ":ended_before", now - lt->skew_ms);
	}
}

bool
lock_item_acquire(const LockTarget *t, int lease_ms, int skew_ms, const char *holder,
				  LockGrant *out)
{
	cJSON	   *values;
	cJSON	   *req = lock_request(t, &values);
	cJSON	   *resp;
	DdbCall		call = {0};
	LeaseTimes	lt = {values, lease_ms, skew_ms, out};

	lock_new_version(out->version);
	lock_expressions(req,
					 "SET #owner = :me, #version = :version, #lease = :lease, #ttl = :ttl, "
					 "#holder = :holder, #acquired = :now, "
					 "#token = if_not_exists(#token, :token_base) + :one",
					 "attribute_not_exists(#owner) OR #owner = :me OR #lease < :ended_before");
	json_add_string(req, "ReturnValues", "UPDATED_NEW");
	ddb_add_string_value(values, ":version", out->version);
	ddb_add_string_value(values, ":holder", holder);
	add_number(values, ":one", 1);
	call.before_attempt = lease_times_for_attempt;
	call.before_attempt_arg = &lt;
	call.attempt_timeout_ms = lease_ms;

	if (!run_conditional(&call, t, req, NULL, &resp))
		return false;
	out->fencing_token = number_attribute(json_get(resp, "Attributes"), "fencing_token");
	return true;
}

bool
lock_item_heartbeat(const LockTarget *t, int64 token, int lease_ms, TimestampTz deadline,
					LockGrant *out)
{
	cJSON	   *values;
	cJSON	   *req = lock_request(t, &values);
	DdbCall		call = {0};
	LeaseTimes	lt = {values, lease_ms, -1, out};

	lock_new_version(out->version);
	out->fencing_token = token;
	lock_expressions(req, "SET #version = :version, #lease = :lease, #ttl = :ttl",
					 "#owner = :me AND #token = :token");
	ddb_add_string_value(values, ":version", out->version);
	add_number(values, ":token", token);
	call.before_attempt = lease_times_for_attempt;
	call.before_attempt_arg = &lt;
	call.attempt_timeout_ms = lease_ms;
	call.deadline = deadline;
	/* A resend after a lost answer finds its own write: owner and token unchanged. */
	return run_conditional(&call, t, req, NULL, NULL);
}

bool
lock_item_release(const LockTarget *t, int64 token, TimestampTz deadline, char **why_not)
{
	cJSON	   *values;
	cJSON	   *req = lock_request(t, &values);
	char		version[LOCK_VERSION_LEN + 1];
	bool		maybe_applied_before;
	int64		now = lock_now_ms();
	DdbCall		call = {0};
	LockHolder	h;

	lock_new_version(version);
	/* last_release, which no acquire touches, tells a resend whether the first sending landed. */
	lock_expressions(req, "REMOVE #owner, #holder SET #version = :version, #released = :version, "
					 "#lease = :zero, #ttl = :ttl",
					 token ? "#owner = :me AND #token = :token" : "#owner = :me");
	ddb_add_string_value(values, ":version", version);
	add_number(values, ":zero", 0);
	add_number(values, ":ttl", now / 1000 + LOCK_TTL_AFTER_LEASE_S);
	if (token)
		add_number(values, ":token", token);
	call.deadline = deadline;
	if (run_conditional(&call, t, req, &maybe_applied_before, NULL))
		return true;
	if (!maybe_applied_before)
		return false;

	/*
	 * Refused after a sending whose answer was lost: either that sending
	 * released the lock (then last_release is this release's version) or it
	 * never landed and the lock had been taken over meanwhile.
	 */
	lock_item_read(t, &h);
	if (h.last_release && strcmp(h.last_release, version) == 0)
		return true;
	if (why_not)
		*why_not = psprintf("lost: %s", lock_holder_text(&h));
	return false;
}

/* A request naming the lock's item, sent where t says. */
static cJSON *
item_request(const LockTarget *t, DdbCall *call, const char *operation)
{
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", t->table);
	memset(call, 0, sizeof(*call));
	call->operation = operation;
	call->request = req;
	call->endpoint_url = t->endpoint_url;
	call->region = t->region;
	return req;
}

void
lock_item_read(const LockTarget *t, LockHolder *out)
{
	DdbCall		call;
	DdbResult	res;
	cJSON	   *req = item_request(t, &call, "GetItem");
	const cJSON *item;

	ddb_add_string_value(json_add_object(req, "Key"), LOCK_KEY_ATTRIBUTE, t->name);
	json_add_bool(req, "ConsistentRead", true);
	ddb_execute(&call, &res);
	item = json_get(res.response, "Item");

	memset(out, 0, sizeof(*out));
	out->exists = item != NULL;
	out->owner = (char *) json_get_string(json_get(item, "owner"), "S");
	out->held = out->owner != NULL;
	out->holder = (char *) json_get_string(json_get(item, "holder"), "S");
	out->version = (char *) json_get_string(json_get(item, "version"), "S");
	out->last_release = (char *) json_get_string(json_get(item, "last_release"), "S");
	out->lease_until_ms = number_attribute(item, "lease_until");
	out->fencing_token = number_attribute(item, "fencing_token");
	out->ttl_s = number_attribute(item, "ttl");
}

void
lock_item_create(const LockTarget *t)
{
	DdbCall		call;
	DdbResult	res;
	cJSON	   *req = item_request(t, &call, "PutItem");
	cJSON	   *item = json_add_object(req, "Item");
	char		version[LOCK_VERSION_LEN + 1];
	int64		now = lock_now_ms();

	lock_new_version(version);
	ddb_add_string_value(item, LOCK_KEY_ATTRIBUTE, t->name);
	ddb_add_string_value(item, "version", version);
	/* As a first acquisition would: above any token an earlier item gave out. */
	add_number(item, "fencing_token", now * 1000);
	add_number(item, "ttl", now / 1000 + LOCK_TTL_AFTER_LEASE_S);
	json_add_string(req, "ConditionExpression", "attribute_not_exists(lock_name)");
	call.resend_safe = true;
	call.tolerated_error = "ConditionalCheckFailedException";
	ddb_execute(&call, &res);
}

void
lock_item_refresh_ttl(const LockTarget *t, const char *version)
{
	DdbCall		call;
	DdbResult	res;
	cJSON	   *req = item_request(t, &call, "UpdateItem");
	cJSON	   *names;
	cJSON	   *values;

	ddb_add_string_value(json_add_object(req, "Key"), LOCK_KEY_ATTRIBUTE, t->name);
	json_add_string(req, "UpdateExpression", "SET #ttl = :ttl");
	json_add_string(req, "ConditionExpression", "#version = :version");
	names = json_add_object(req, "ExpressionAttributeNames");
	json_add_string(names, "#ttl", "ttl");
	json_add_string(names, "#version", "version");
	values = json_add_object(req, "ExpressionAttributeValues");
	add_number(values, ":ttl", lock_now_ms() / 1000 + LOCK_TTL_AFTER_LEASE_S);
	ddb_add_string_value(values, ":version", version);
	call.resend_safe = true;
	call.tolerated_error = "ConditionalCheckFailedException";	/* it moved on: fine */
	ddb_execute(&call, &res);
}

char *
lock_holder_text(const LockHolder *h)
{
	TimestampTz until;

	if (!h->held)
		return pstrdup("it is free now");
	until = lock_ms_to_timestamptz(h->lease_until_ms);
	return psprintf("it is held by %s until %s", h->holder ? h->holder : h->owner,
					timestamptz_to_str(until));
}
