/*
 * lock_item.c - the lock item's writes (see lock_item.h).
 */
#include "postgres.h"

#include <sys/time.h>

#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "ddb.h"
#include "endpoint.h"
#include "lock_item.h"
#include "settings.h"
#include "text_encoding.h"

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

void
lock_sort_key_refuse(const char *sort_key, const char *what)
{
	if (sort_key && strncmp(sort_key, LOCK_SORT_KEY, strlen(LOCK_SORT_KEY)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s cannot use the sort key \"%s\"", what, sort_key),
				 errdetail("Sort keys beginning with \"%s\" are reserved for lock items, which only the lock "
						   "functions may write.", LOCK_SORT_KEY)));
}

/* The key forms learned in this backend, by endpoint, region and table. */
typedef struct LearnedForm
{
	struct LearnedForm *next;
	char	   *where;			/* "endpoint region identity table" */
	LockKeyForm form;
} LearnedForm;

static LearnedForm *learned_forms;

static char *
form_cache_key(const LockTarget *t)
{
	DdbEndpoint ep;

	ddb_endpoint_resolve(&ep, t->endpoint_url, t->region);
	/* ...and as whom: two accounts may have two tables of one name. */
	return psprintf("%s %s " UINT64_FORMAT " %s", ep.url, ep.region, settings_target_fingerprint(), t->table);
}

static void
add_key_of_form(cJSON *obj, const char *name, LockKeyForm form)
{
	if (form == LOCK_KEY_PK_SK)
	{
		ddb_add_string_value(obj, SINGLE_TABLE_PARTITION_KEY, name);
		ddb_add_string_value(obj, SINGLE_TABLE_SORT_KEY, LOCK_SORT_KEY);
	}
	else
		ddb_add_string_value(obj, LOCK_KEY_ATTRIBUTE, name);
}

static void
remember_form(const char *where, LockKeyForm form)
{
	/* A table keeps its key for life; a recreated one is a new backend's business. */
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	LearnedForm *l = palloc(sizeof(LearnedForm));

	l->where = pstrdup(where);
	l->form = form;
	l->next = learned_forms;
	learned_forms = l;
	MemoryContextSwitchTo(old);
}

LockKeyForm
lock_item_known_key_form(const LockTarget *t)
{
	char	   *where;

	if (t->key_form != LOCK_KEY_UNKNOWN)
		return t->key_form;
	where = form_cache_key(t);
	for (LearnedForm *l = learned_forms; l; l = l->next)
		if (strcmp(l->where, where) == 0)
			return l->form;
	return LOCK_KEY_UNKNOWN;
}

/* A consistent GetItem of the lock's item in this form: does the key fit? */
static bool
key_fits(const LockTarget *t, LockKeyForm form)
{
	DdbCall		call = {0};
	DdbResult	res;
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", t->table);
	add_key_of_form(json_add_object(req, "Key"), t->name, form);
	json_add_bool(req, "ConsistentRead", true);
	call.operation = "GetItem";
	call.request = req;
	call.endpoint_url = t->endpoint_url;
	call.region = t->region;
	call.tolerate_key_complaint = true;
	ddb_execute(&call, &res);
	return !res.key_complaint;
}

/* The table refused the key of form refused: does the other fit?  (22023 if neither.) */
static LockKeyForm
learn_after_refusal(const LockTarget *t, LockKeyForm refused)
{
	LockKeyForm other = refused == LOCK_KEY_PK_SK ? LOCK_KEY_LOCK_NAME : LOCK_KEY_PK_SK;
	char	   *schema;

	if (key_fits(t, other))
	{
		remember_form(form_cache_key(t), other);	/* the newest entry is found first */
		return other;
	}
	schema = ddb_table_key_schema(t->table, t->endpoint_url, t->region);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("DynamoDB table \"%s\" cannot hold locks", t->table),
			 schema ? errdetail("Its key is %s; locks need a lock table, keyed %s (S), or a single table "
								"keyed %s (S) + %s (S).", schema, LOCK_KEY_ATTRIBUTE,
								SINGLE_TABLE_PARTITION_KEY, SINGLE_TABLE_SORT_KEY) :
			 errdetail("Locks need a lock table, keyed %s (S), or a single table keyed %s (S) + %s (S).",
					   LOCK_KEY_ATTRIBUTE, SINGLE_TABLE_PARTITION_KEY, SINGLE_TABLE_SORT_KEY),
			 errhint("dynamo_create_lock_table() creates a lock table, dynamo_create_item_table() a single table.")));
	pg_unreachable();
}

LockKeyForm
lock_item_key_form(const LockTarget *t)
{
	LockKeyForm form = lock_item_known_key_form(t);

	if (form != LOCK_KEY_UNKNOWN)
		return form;
	if (key_fits(t, LOCK_KEY_LOCK_NAME))
	{
		remember_form(form_cache_key(t), LOCK_KEY_LOCK_NAME);
		return LOCK_KEY_LOCK_NAME;
	}
	return learn_after_refusal(t, LOCK_KEY_LOCK_NAME);
}

void
lock_item_add_key(cJSON *obj, const LockTarget *t)
{
	add_key_of_form(obj, t->name, lock_item_key_form(t));
}

/*
 * The key form a request is built for: the one the target states, else a
 * guess (*guess set) that execute_keyed corrects: what this process learned
 * before (a table may have been recreated since), or a lock table's.
 */
static LockKeyForm
form_to_send(const LockTarget *t, bool *guess)
{
	LockKeyForm form = lock_item_known_key_form(t);

	*guess = t->key_form == LOCK_KEY_UNKNOWN;
	return form == LOCK_KEY_UNKNOWN ? LOCK_KEY_LOCK_NAME : form;
}

/*
 * Runs call, whose request's key (in key_parent) was built by form_to_send.
 * A guessed lock table's key is sent as it is: the usual case costs no extra
 * request.  Refused for not fitting the key (never applied, by any sending),
 * the table is learned to be a single table, t->key_form_learned is told
 * (before anything else is sent: a worker may have to release what the next
 * sending takes), and the request goes again with that key.
 */
static void
execute_keyed(DdbCall *call, const LockTarget *t, bool guess, LockKeyForm sent, cJSON *key_parent,
			  DdbResult *res)
{
	LockKeyForm form;

	call->tolerate_key_complaint = guess;
	ddb_execute(call, res);
	if (!guess)
		return;
	if (!res->key_complaint)
	{
		if (lock_item_known_key_form(t) != sent)
			remember_form(form_cache_key(t), sent);
		return;
	}
	form = learn_after_refusal(t, sent);
	if (t->key_form_learned)
		t->key_form_learned(t->key_form_learned_arg, form);
	cJSON_DeleteItemFromObjectCaseSensitive(key_parent, LOCK_KEY_ATTRIBUTE);
	cJSON_DeleteItemFromObjectCaseSensitive(key_parent, SINGLE_TABLE_PARTITION_KEY);
	cJSON_DeleteItemFromObjectCaseSensitive(key_parent, SINGLE_TABLE_SORT_KEY);
	add_key_of_form(key_parent, t->name, form);
	call->tolerate_key_complaint = false;
	ddb_execute(call, res);
}

int64
lock_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Epoch milliseconds past year 2255 either way: shown as infinity (far inside TimestampTz's range). */
#define LOCK_MAX_TIME_MS ((int64) 9000000000000000 / 1000)

TimestampTz
lock_ms_to_timestamptz(int64 ms)
{
	/* A time another program wrote far out of range: infinity, not an overflow. */
	if (ms > LOCK_MAX_TIME_MS)
		return DT_NOEND;
	if (ms < -LOCK_MAX_TIME_MS)
		return DT_NOBEGIN;
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

/*
 * An UpdateItem on the lock's item; *values receives ":name" values, *guess
 * whether its key form is a guess (form_to_send).
 */
static cJSON *
lock_request(const LockTarget *t, cJSON **values, bool *guess, LockKeyForm *sent)
{
	cJSON	   *req = json_new_object();

	json_add_string(req, "TableName", t->table);
	*sent = form_to_send(t, guess);
	add_key_of_form(json_add_object(req, "Key"), t->name, *sent);
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
		{"#acquired", "acquired_at"}, {"#released", "last_release"}, {"#sent", "sent_at"},
		{"#payload", "payload"}, {"#ptoken", "payload_token"}
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
run_conditional(DdbCall *call, const LockTarget *t, cJSON *req, bool guess, LockKeyForm sent,
				bool *maybe_applied_before, cJSON **response)
{
	DdbResult	res;

	call->operation = "UpdateItem";
	call->request = req;
	call->resend_safe = true;	/* every lock write recognises itself: see lock_item.h */
	call->tolerated_error = "ConditionalCheckFailedException";
	call->endpoint_url = t->endpoint_url;
	call->region = t->region;
	execute_keyed(call, t, guess, sent, (cJSON *) json_get(req, "Key"), &res);
	if (maybe_applied_before)
		*maybe_applied_before = res.maybe_applied_before;
	if (response)
		*response = res.response;
	return res.response != NULL;
}

/*
 * A number attribute of lock lock_name's item (0 when absent): another
 * program may have written one past bigint, which is 22003, never a value
 * silently clamped.
 */
static int64
number_attribute(const cJSON *attrs, const char *name, const char *lock_name)
{
	const char *text = json_get_string(json_get(attrs, name), "N");
	int64		value;

	if (text == NULL)
		return 0;
	if (!ddb_parse_int64(text, &value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("attribute \"%s\" of lock \"%s\" holds %s, which is not a bigint",
						name, text_display(lock_name), text)));
	return value;
}

/* An informational number (ttl, acquired_at): one that is not a bigint reads as 0 (absent). */
static int64
number_attribute_or_zero(const cJSON *attrs, const char *name)
{
	const char *text = json_get_string(json_get(attrs, name), "N");
	int64		value;

	return text && ddb_parse_int64(text, &value) ? value : 0;
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
	/*
	 * When this attempt was sent: an earlier attempt of the owner's that lands
	 * after it (its answer given up for lost) is refused, so that the lease
	 * DynamoDB keeps is never older than the one recorded here.
	 */
	set_number(lt->values, ":sent", (int64) GetCurrentTimestamp());	/* microseconds: a resend can follow within a millisecond */
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
				  const char *payload, LockGrant *out)
{
	cJSON	   *values;
	bool		guess;
	LockKeyForm sent;
	cJSON	   *req = lock_request(t, &values, &guess, &sent);
	cJSON	   *resp;
	DdbCall		call = {0};
	LeaseTimes	lt = {values, lease_ms, skew_ms, out};
	const char *token_text;

	lock_new_version(out->version);
	/* The payload is the acquisition's: replaced, or removed, by every acquire. */
	lock_expressions(req,
					 payload ?
					 "SET #owner = :me, #version = :version, #lease = :lease, #ttl = :ttl, "
					 "#holder = :holder, #acquired = :now, #sent = :sent, #payload = :payload, "
					 "#token = if_not_exists(#token, :token_base) + :one, "
					 "#ptoken = if_not_exists(#token, :token_base) + :one" :
					 "SET #owner = :me, #version = :version, #lease = :lease, #ttl = :ttl, "
					 "#holder = :holder, #acquired = :now, #sent = :sent, "
					 "#token = if_not_exists(#token, :token_base) + :one REMOVE #payload, #ptoken",
					 "attribute_not_exists(#owner) OR (#owner = :me AND (attribute_not_exists(#sent) OR #sent <= :sent)) "
					 "OR #lease < :ended_before");
	json_add_string(req, "ReturnValues", "UPDATED_NEW");
	ddb_add_string_value(values, ":version", out->version);
	ddb_add_string_value(values, ":holder", holder);
	if (payload)
		ddb_add_string_value(values, ":payload", payload);
	add_number(values, ":one", 1);
	call.before_attempt = lease_times_for_attempt;
	call.before_attempt_arg = &lt;
	call.attempt_timeout_ms = lease_ms;

	if (!run_conditional(&call, t, req, guess, sent, NULL, &resp))
		return false;
	token_text = json_get_string(json_get(json_get(resp, "Attributes"), "fencing_token"), "N");
	/* Taken with a token past bigint (its item's token was at the top): give it back, then say so. */
	if (token_text && !ddb_parse_int64(token_text, &out->fencing_token))
		(void) lock_item_release(t, 0, 0, NULL);
	out->fencing_token = number_attribute(json_get(resp, "Attributes"), "fencing_token", t->name);
	return true;
}

bool
lock_item_heartbeat(const LockTarget *t, int64 token, int lease_ms, TimestampTz deadline,
					LockGrant *out)
{
	cJSON	   *values;
	bool		guess;
	LockKeyForm sent;
	cJSON	   *req = lock_request(t, &values, &guess, &sent);
	DdbCall		call = {0};
	LeaseTimes	lt = {values, lease_ms, -1, out};

	lock_new_version(out->version);
	out->fencing_token = token;
	lock_expressions(req, "SET #version = :version, #lease = :lease, #ttl = :ttl, #sent = :sent",
					 "#owner = :me AND #token = :token AND (attribute_not_exists(#sent) OR #sent <= :sent)");
	ddb_add_string_value(values, ":version", out->version);
	add_number(values, ":token", token);
	call.before_attempt = lease_times_for_attempt;
	call.before_attempt_arg = &lt;
	/*
	 * A third of the lease an attempt: the heartbeat, due with two thirds
	 * left, gets a second attempt before its lease ends, should the first
	 * meet a connection that stalls.
	 */
	call.attempt_timeout_ms = Max(1000, lease_ms / 3);
	call.deadline = deadline;
	/* A resend after a lost answer finds its own write: owner and token unchanged. */
	return run_conditional(&call, t, req, guess, sent, NULL, NULL);
}

bool
lock_item_release(const LockTarget *t, int64 token, TimestampTz deadline, char **why_not)
{
	cJSON	   *values;
	bool		guess;
	LockKeyForm sent;
	cJSON	   *req = lock_request(t, &values, &guess, &sent);
	char		version[LOCK_VERSION_LEN + 1];
	bool		maybe_applied_before;
	int64		now = lock_now_ms();
	DdbCall		call = {0};
	LockHolder	h;

	lock_new_version(version);
	/* last_release, which no acquire touches, tells a resend whether the first sending landed. */
	lock_expressions(req, "REMOVE #owner, #holder, #payload, #ptoken SET #version = :version, #released = :version, "
					 "#lease = :zero, #ttl = :ttl",
					 token ? "#owner = :me AND #token = :token" : "#owner = :me");
	ddb_add_string_value(values, ":version", version);
	add_number(values, ":zero", 0);
	add_number(values, ":ttl", now / 1000 + LOCK_TTL_AFTER_LEASE_S);
	if (token)
		add_number(values, ":token", token);
	call.deadline = deadline;
	if (run_conditional(&call, t, req, guess, sent, &maybe_applied_before, NULL))
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
	bool		guess;
	cJSON	   *key = json_add_object(req, "Key");
	LockKeyForm sent = form_to_send(t, &guess);

	add_key_of_form(key, t->name, sent);
	json_add_bool(req, "ConsistentRead", true);
	execute_keyed(&call, t, guess, sent, key, &res);
	item = json_get(res.response, "Item");

	memset(out, 0, sizeof(*out));
	out->exists = item != NULL;
	out->owner = (char *) json_get_string(json_get(item, "owner"), "S");
	out->held = out->owner != NULL;
	out->holder = (char *) json_get_string(json_get(item, "holder"), "S");
	out->version = (char *) json_get_string(json_get(item, "version"), "S");
	out->last_release = (char *) json_get_string(json_get(item, "last_release"), "S");
	out->lease_until_ms = number_attribute(item, "lease_until", t->name);
	out->fencing_token = number_attribute(item, "fencing_token", t->name);
	out->ttl_s = number_attribute_or_zero(item, "ttl");
	out->acquired_at_ms = number_attribute_or_zero(item, "acquired_at");
	out->payload = (char *) json_get_string(json_get(item, "payload"), "S");
	out->payload_token = number_attribute(item, "payload_token", t->name);
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
	lock_item_add_key(item, t);
	ddb_add_string_value(item, "version", version);
	/* As a first acquisition would: above any token an earlier item gave out. */
	add_number(item, "fencing_token", now * 1000);
	add_number(item, "ttl", now / 1000 + LOCK_TTL_AFTER_LEASE_S);
	json_add_string(req, "ConditionExpression",
					lock_item_key_form(t) == LOCK_KEY_PK_SK ? "attribute_not_exists(" SINGLE_TABLE_PARTITION_KEY ")" :
					"attribute_not_exists(" LOCK_KEY_ATTRIBUTE ")");
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

	lock_item_add_key(json_add_object(req, "Key"), t);
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
