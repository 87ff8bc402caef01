/*
 * credentials_metadata.c - what the container and instance metadata
 * providers share: one request to a metadata service, and its JSON
 * answer taken into the cache; and the ISO 8601 Expiration every provider
 * that states one writes.
 */
#include "postgres.h"

#include <ctype.h>

#include "utils/timestamp.h"

#include "credentials_cache.h"
#include "credentials_providers.h"
#include "http.h"
#include "json.h"
#include "settings.h"
#include "secret_strings.h"

/*
 * An ISO 8601 Expiration: "2026-12-01T20:00:00Z", with fractional seconds
 * or an offset ("+02:00", "-0530") as some providers write it.  0 when
 * absent; -1 when it is not such a timestamp (the caller refuses it: read
 * wrongly, credentials would be used past their end or refreshed never).
 */
TimestampTz
credentials_parse_expiration(const char *text)
{
	struct tm	tm;
	const char *rest;
	long		offset_s = 0;

	if (text == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return -1;
	if (*rest == '.')
		while (isdigit((unsigned char) *++rest))
			;
	if (*rest == 'Z' || *rest == 'z')
		rest++;
	else if (*rest == '+' || *rest == '-')
	{
		int			sign = *rest == '-' ? -1 : 1;
		int			hh,
					mm;

		if (!isdigit((unsigned char) rest[1]) || !isdigit((unsigned char) rest[2]))
			return -1;
		hh = (rest[1] - '0') * 10 + (rest[2] - '0');
		rest += 3;
		if (*rest == ':')
			rest++;
		if (!isdigit((unsigned char) rest[0]) || !isdigit((unsigned char) rest[1]))
			return -1;
		mm = (rest[0] - '0') * 10 + (rest[1] - '0');
		rest += 2;
		if (hh > 23 || mm > 59)
			return -1;
		offset_s = sign * (hh * 3600L + mm * 60L);
	}
	if (*rest != '\0')
		return -1;
	/* The local time written minus its offset is UTC. */
	return time_t_to_timestamptz(timegm(&tm) - offset_s);
}

/* The parsed answer holds the secrets too; it is freed (unwiped) with its context. */
static void
wipe_tree_secrets(const char *secret, const char *token)
{
	if (secret)
		explicit_bzero((char *) secret, strlen(secret));
	if (token)
		explicit_bzero((char *) token, strlen(token));
}

/*
 * Takes credentials out of a metadata JSON answer into the cache.  Returns
 * NULL on success, else what was wrong (no secrets in it).
 */
const char *
credentials_metadata_store(const char *provider, const char *kind, const char *source, const char *json,
						   size_t len)
{
	cJSON	   *doc = json_parse(json, len);
	const char *code = json_get_string(doc, "Code");
	const char *key = json_get_string(doc, "AccessKeyId");
	const char *secret = json_get_string(doc, "SecretAccessKey");
	const char *token = json_get_string(doc, "Token");
	TimestampTz expiration;
	const char *wrong = NULL;

	if (doc == NULL)
		wrong = "the answer is not JSON";
	else if (code && strcmp(code, "Success") != 0)
		wrong = psprintf("the answer's Code is \"%s\"", code);
	else if (!is_set(key) || !is_set(secret))
		wrong = "the answer has no AccessKeyId and SecretAccessKey";
	if (wrong)
	{
		wipe_tree_secrets(secret, token);
		return wrong;
	}

	expiration = credentials_parse_expiration(json_get_string(doc, "Expiration"));
	if (expiration < 0)
	{
		wipe_tree_secrets(secret, token);
		return "the answer's Expiration is not an ISO 8601 timestamp";
	}
	credentials_cache_store(provider, kind, NULL, source, key, secret, token, expiration);
	wipe_tree_secrets(secret, token);
	return NULL;
}


/*
 * One GET or PUT to a metadata service.  Returns the body (to be wiped with
 * http_wipe_response once read), or NULL with *why, which names the
 * service as display: a URL can itself be a secret.
 */
const char *
credentials_metadata_request(const char *method, const char *url, const char *display,
				 const HttpHeader *headers, int n_headers, int timeout_ms,
				 size_t *len, char **why)
{
	HttpRequest req = {0};
	HttpResponse resp;

	req.method = method;
	req.url = url;
	req.headers = headers;
	req.n_headers = n_headers;
	req.connect_timeout_ms = Min(timeout_ms, credentials_refresh_connect_timeout_ms());
	req.timeout_ms = timeout_ms;
	req.bypass_proxy = true;
	req.resend_safe = true;		/* reads, and a token PUT that may be repeated */
	http_perform(&req, &resp);
	if (resp.outcome != HTTP_DONE)
	{
		*why = psprintf("%s %s: %s", method, display, http_outcome_name(resp.outcome));
		return NULL;
	}
	if (resp.status != 200)
	{
		*why = psprintf("%s %s: HTTP status %ld", method, display, resp.status);
		return NULL;
	}
	*len = resp.body_len;
	return resp.body;
}
