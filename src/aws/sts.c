/*
 * sts.c - AssumeRoleWithWebIdentity against STS (see sts.h).
 *
 * The web identity token is a bearer credential: it is sent in the body
 * only, wiped from every buffer that held it, and never named in a message.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "credentials_cache.h"
#include "credentials_providers.h"
#include "endpoint.h"
#include "http.h"
#include "json.h"
#include "settings.h"
#include "sigv4.h"
#include "sts.h"
#include "wait_events.h"
#include "secret_strings.h"

#define STS_ATTEMPTS 4
#define STS_FIRST_BACKOFF_MS 100

char *
sts_endpoint_url(void)
{
	const char *url = NULL;
	const char *regional = getenv("AWS_STS_REGIONAL_ENDPOINTS");
	const char *region;

	if (!aws_ignore_configured_endpoints())
	{
		url = getenv("AWS_ENDPOINT_URL_STS");
		if (!is_set(url))
			url = getenv("AWS_ENDPOINT_URL");
	}
	if (is_set(url))
		return pstrdup(url);
	if (regional && pg_strcasecmp(regional, "legacy") == 0)
		return pstrdup("https://sts.amazonaws.com");
	region = aws_region_resolve();
	if (strncmp(region, "cn-", 3) == 0)
		return psprintf("https://sts.%s.amazonaws.com.cn", region);
	return psprintf("https://sts.%s.amazonaws.com", region);
}

/*
 * The region STS requests are signed for: us-east-1 for the global
 * endpoint, the region in a regional endpoint's host name, else the
 * configured one.
 */
static const char *
sts_signing_region(const char *url)
{
	char	   *host;
	char	   *colon;

	if (!endpoint_url_parse(url, &host, NULL))
		return aws_region_resolve();
	if ((colon = strchr(host, ':')) != NULL)
		*colon = '\0';
	if (pg_strcasecmp(host, "sts.amazonaws.com") == 0)
		return "us-east-1";
	if (pg_strncasecmp(host, "sts.", 4) == 0)
	{
		const char *region = host + 4;
		const char *dot = strchr(region, '.');

		if (dot && (pg_strcasecmp(dot, ".amazonaws.com") == 0 || pg_strcasecmp(dot, ".amazonaws.com.cn") == 0))
			return pnstrdup(region, dot - region);
	}
	return aws_region_resolve();
}

/*
 * Whether url may carry a bearer token or a signed request: https, or
 * http to this machine only (a test's STS).
 */
static bool
sts_url_is_safe(const char *url)
{
	char	   *host;

	if (pg_strncasecmp(url, "https://", 8) == 0)
		return true;
	if (!endpoint_url_parse(url, &host, NULL))
		return false;
	return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 || strncmp(host, "[::1]", 5) == 0;
}

/* Appends s percent-encoded as a form value (RFC 3986 unreserved kept). */
static void
append_encoded(StringInfo buf, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '_' || *p == '.' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
			appendStringInfo(buf, "%%%02X", *p);
	}
}

/* The text between <tag> and </tag> in an XML error body, or NULL. */
static char *
xml_element(const char *body, const char *tag)
{
	char	   *open = psprintf("<%s>", tag);
	char	   *close = psprintf("</%s>", tag);
	const char *start = strstr(body, open);
	const char *end;

	if (start == NULL)
		return NULL;
	start += strlen(open);
	end = strstr(start, close);
	return end ? pnstrdup(start, Min(end - start, 300)) : NULL;
}

/*
 * STS's message, for a DETAIL: control characters (a forged answer's line
 * breaks) become spaces, and a message quoting the token is withheld.
 */
static const char *
clean_message(const char *message, const char *secret)
{
	char	   *m;

	if (message == NULL)
		return NULL;
	if (secret && strlen(secret) >= 16)
	{
		char	   *head = pnstrdup(secret, 16);

		if (strstr(message, head))
			return "(withheld: it quotes the request's token)";
	}
	m = pstrdup(message);
	for (char *c = m; *c; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			*c = ' ';
	return m;
}

/* STS's error code and message from an error body (XML, or JSON), for *why. */
static char *
error_of(const char *body, size_t len, long status, char **code, const char *secret)
{
	cJSON	   *doc = json_parse_unchecked(body, len);
	const cJSON *error = json_get(doc, "Error");
	const char *message;

	*code = NULL;
	if (error)
	{
		*code = json_get_string(error, "Code") ? pstrdup(json_get_string(error, "Code")) : NULL;
		message = json_get_string(error, "Message");
	}
	else
	{
		*code = xml_element(body, "Code");
		message = xml_element(body, "Message");
	}
	message = clean_message(message, secret);
	if (*code)
		*code = (char *) clean_message(*code, secret);
	return psprintf("STS answered HTTP %ld%s%s%s%s", status, *code ? ", " : "", *code ? *code : "",
					message ? ": " : "", message ? message : "");
}

static bool
retryable(long status, const char *code)
{
	if (status >= 500 || status == 429)
		return true;
	return code && (strcmp(code, "IDPCommunicationError") == 0 || strcmp(code, "InvalidIdentityToken") == 0 ||
					strcmp(code, "Throttling") == 0 || strcmp(code, "ThrottlingException") == 0 ||
					strcmp(code, "RequestLimitExceeded") == 0);
}

/* The credentials of an ACTION answer ({ACTIONResponse: {ACTIONResult: {Credentials}}}); false with *why. */
static bool
credentials_of(const char *action, const char *body, size_t len, StsCredentials *out, char **why)
{
	cJSON	   *doc = json_parse(body, len);
	const cJSON *creds = json_get(json_get(json_get(doc, psprintf("%sResponse", action)),
										   psprintf("%sResult", action)), "Credentials");
	const char *key = json_get_string(creds, "AccessKeyId");
	const char *secret = json_get_string(creds, "SecretAccessKey");
	const char *token = json_get_string(creds, "SessionToken");
	const cJSON *expiration = json_get(creds, "Expiration");

	if (!is_set(key) || !is_set(secret) || !is_set(token))
	{
		*why = pstrdup("STS's answer has no AccessKeyId, SecretAccessKey and SessionToken");
		credentials_cache_wipe_string(secret);
		credentials_cache_wipe_string(token);
		return false;
	}
	/* epoch seconds (what the JSON answer gives), or ISO 8601 */
	/* (bounded: a forged answer's huge number must not overflow the conversion) */
	if (cJSON_IsNumber(expiration) && expiration->valuedouble > 0 && expiration->valuedouble < 1e11)
		out->expiration = time_t_to_timestamptz((pg_time_t) expiration->valuedouble);
	else if (cJSON_IsString(expiration))
		out->expiration = credentials_parse_expiration(expiration->valuestring);
	else
		out->expiration = -1;
	if (out->expiration <= 0)
	{
		*why = pstrdup("STS's answer has no Expiration that can be read");
		credentials_cache_wipe_string(secret);
		credentials_cache_wipe_string(token);
		return false;
	}
	out->access_key_id = pstrdup(key);
	out->secret_access_key = pstrdup(secret);
	out->session_token = pstrdup(token);
	credentials_cache_wipe_string(secret);
	credentials_cache_wipe_string(token);
	return true;
}

/*
 * The Authorization header (and X-Amz-Date, X-Amz-Security-Token) of a
 * request signed by source for service sts, into headers[*n...].
 */
static void
sign(const AwsCredentials *source, const char *url, const char *body, size_t body_len, HttpHeader *headers, int *n)
{
	char	   *host;
	char	   *path;
	char		payload_hash[SIGV4_SHA256_HEX_LEN + 1];
	char		amz_date[SIGV4_AMZ_DATE_LEN + 1];
	sigv4_header signed_headers[4];
	sigv4_request req = {0};
	sigv4_scope scope;
	strbuf		auth;
	int			n_signed = 0;

	if (!endpoint_url_parse(url, &host, &path) || !sigv4_sha256_hex(body, body_len, payload_hash) ||
		!sigv4_format_amz_date(time(NULL), amz_date))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not sign the STS request")));
	scope.amz_date = pstrdup(amz_date);
	scope.region = sts_signing_region(url);
	scope.service = "sts";
	signed_headers[n_signed++] = (sigv4_header) {"Content-Type", headers[0].value};
	signed_headers[n_signed++] = (sigv4_header) {"Host", host};
	headers[(*n)++] = (HttpHeader) {"Host", host};
	signed_headers[n_signed++] = (sigv4_header) {"X-Amz-Date", scope.amz_date};
	headers[(*n)++] = (HttpHeader) {"X-Amz-Date", scope.amz_date};
	if (source->session_token)
	{
		signed_headers[n_signed++] = (sigv4_header) {"X-Amz-Security-Token", source->session_token};
		headers[(*n)++] = (HttpHeader) {"X-Amz-Security-Token", source->session_token};
	}
	req.method = "POST";
	req.path = path;
	req.normalize_path = true;
	req.headers = signed_headers;
	req.n_headers = n_signed;
	req.payload_sha256_hex = payload_hash;
	strbuf_init(&auth);
	if (!sigv4_sign(&req, &scope, source->access_key_id, source->secret_access_key, &auth))
	{
		strbuf_free(&auth, false);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not sign the STS request")));
	}
	headers[(*n)++] = (HttpHeader) {"Authorization", pstrdup(auth.data)};
	strbuf_free(&auth, false);
}

/* The attempts of one STS action (sts_call wipes what they leave). */
static pg_noinline bool
sts_attempts(const char *action, const char *url, StringInfo body, const AwsCredentials *source,
			 const char *secret, StsCredentials *out, char **why)
{
	HttpHeader	headers[7] = {
		{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
		{"Accept", "application/json"}
	};

	for (int attempt = 1;; attempt++)
	{
		HttpRequest req = {0};
		HttpResponse resp;
		char	   *code = NULL;
		int			n = 2;

		/* signed again for each attempt: its date is the attempt's */
		if (source)
			sign(source, url, body->data, body->len, headers, &n);
		req.method = "POST";
		req.url = url;
		req.headers = headers;
		req.n_headers = n;
		req.body = body->data;
		req.body_len = body->len;
		req.connect_timeout_ms = credentials_refresh_connect_timeout_ms();
		req.timeout_ms = credentials_refresh_timeout_ms();
		req.resend_safe = true; /* asking twice gives two sessions, no harm */
		http_perform(&req, &resp);
		if (resp.outcome == HTTP_DONE && resp.status == 200)
		{
			bool		ok = credentials_of(action, resp.body, resp.body_len, out, why);

			http_wipe_response();
			return ok;
		}
		if (resp.outcome == HTTP_DONE)
			*why = error_of(resp.body, resp.body_len, resp.status, &code, secret);
		else
			*why = psprintf("POST %s: %s", url, http_outcome_name(resp.outcome));
		http_wipe_response();
		if ((resp.outcome == HTTP_DONE && !retryable(resp.status, code)) ||
			resp.outcome == HTTP_BAD_URL || resp.outcome == HTTP_TLS_FAILED || attempt >= STS_ATTEMPTS)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 STS_FIRST_BACKOFF_MS << (attempt - 1), dynamo_wait_event(DYNAMO_WAIT_RETRY_BACKOFF));
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* One STS action, retried as sts.h says; signed by source unless NULL; secret: what no message may quote. */
static bool
sts_call(const char *action, const char *url, StringInfo body, const AwsCredentials *source, const char *secret,
		 StsCredentials *out, char **why)
{
	bool		done;

	memset(out, 0, sizeof(*out));
	PG_TRY();
	{
		done = sts_attempts(action, url, body, source, secret, out, why);
	}
	PG_CATCH();
	{
		/* an answer that raised while read (a NUL in it) held the issued secret too */
		http_wipe_response();
		explicit_bzero(body->data, body->len);
		PG_RE_THROW();
	}
	PG_END_TRY();
	explicit_bzero(body->data, body->len);
	return done;
}

/*
 * The STS endpoint, checked, and a body big enough for its parameters from
 * the start: a buffer that grew would leave copies of the token behind.
 * NULL with *why when the endpoint cannot be used.
 */
static char *
sts_prepare(StringInfo body, size_t parameters_len, char **why)
{
	char	   *url = sts_endpoint_url();

	if (!endpoint_url_is_valid(url) || !sts_url_is_safe(url))
	{
		*why = psprintf("the STS endpoint \"%s\" is not an https URL (or http to this machine)", url);
		return NULL;
	}
	initStringInfo(body);
	enlargeStringInfo(body, (int) (3 * parameters_len + 256));
	return url;
}

bool
sts_assume_role_with_web_identity(const char *role_arn, const char *session_name, const char *token,
								  StsCredentials *out, char **why)
{
	StringInfoData body;
	char	   *url = sts_prepare(&body, strlen(role_arn) + strlen(session_name) + strlen(token), why);
	bool		ok;

	if (url == NULL)
		return false;
	appendStringInfoString(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
	append_encoded(&body, role_arn);
	appendStringInfoString(&body, "&RoleSessionName=");
	append_encoded(&body, session_name);
	appendStringInfoString(&body, "&WebIdentityToken=");
	append_encoded(&body, token);
	ok = sts_call("AssumeRoleWithWebIdentity", url, &body, NULL, token, out, why);
	pfree(body.data);
	return ok;
}

bool
sts_assume_role(const char *role_arn, const char *session_name, const char *external_id, int duration_s,
				const AwsCredentials *source, StsCredentials *out, char **why)
{
	StringInfoData body;
	char	   *url = sts_prepare(&body, strlen(role_arn) + strlen(session_name) + (external_id ? strlen(external_id) : 0),
								  why);
	bool		ok;

	if (url == NULL)
		return false;
	appendStringInfoString(&body, "Action=AssumeRole&Version=2011-06-15&RoleArn=");
	append_encoded(&body, role_arn);
	appendStringInfoString(&body, "&RoleSessionName=");
	append_encoded(&body, session_name);
	if (external_id && external_id[0])
	{
		appendStringInfoString(&body, "&ExternalId=");
		append_encoded(&body, external_id);
	}
	if (duration_s > 0)
		appendStringInfo(&body, "&DurationSeconds=%d", duration_s);
	ok = sts_call("AssumeRole", url, &body, source, source->session_token, out, why);
	pfree(body.data);
	return ok;
}
