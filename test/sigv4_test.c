/*
 * sigv4_test.c - replays AWS's SigV4 test suite against src/sigv4.c.
 *
 * Usage: sigv4_test CASE_ROOT [CASE_ROOT ...]
 *
 * Every folder under a CASE_ROOT that holds request.txt and context.json is
 * one case: the request is parsed, signed with the header method, and the
 * canonical request, string to sign, signature and Authorization header are
 * compared byte for byte with the expected files.  The query-string
 * (presigned URL) files are skipped with a reason: dynamo_atomic signs
 * headers only.  Prints a line per case and "N passed, N failed, N skipped".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "sigv4.h"

#define MAX_HEADERS 32

static int	passed,
			failed,
			skipped;

static char *
read_file(const char *dir, const char *name, size_t *len_out)
{
	char		path[4096];
	FILE	   *f;
	char	   *buf;
	long		len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len + 1);
	if (buf == NULL || fread(buf, 1, len, f) != (size_t) len)
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	fclose(f);
	if (len_out)
		*len_out = (size_t) len;
	return buf;
}

typedef struct parsed_request
{
	char	   *method;
	char	   *path;
	char	   *query;
	sigv4_header headers[MAX_HEADERS];
	size_t		n_headers;
	const char *body;
	size_t		body_len;
} parsed_request;

/*
 * Parses the suite's request.txt: "METHOD path HTTP/1.1", then "Name:value"
 * lines, a line starting with whitespace continuing the previous value, then
 * an optional blank line and the body.  Modifies text in place.
 */
static int
parse_request(char *text, size_t len, parsed_request *r)
{
	char	   *line = text;
	char	   *nl = strchr(line, '\n');
	char	   *http;
	char	   *q;

	memset(r, 0, sizeof(*r));
	r->body = "";
	if (nl)
		*nl = '\0';
	http = strstr(line, " HTTP/");
	if (http == NULL || strchr(line, ' ') == NULL)
		return -1;
	*http = '\0';
	r->method = line;
	r->path = strchr(line, ' ');
	*r->path++ = '\0';
	q = strchr(r->path, '?');
	if (q)
	{
		*q = '\0';
		r->query = q + 1;
	}

	while (nl)
	{
		line = nl + 1;
		if (line >= text + len)
			break;
		if (*line == '\n')
		{
			r->body = line + 1;
			r->body_len = (size_t) (text + len - r->body);
			break;
		}
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if ((*line == ' ' || *line == '\t') && r->n_headers > 0)
		{
			/* Continuation: splice onto the previous value; folding makes it one space. */
			char	   *prev = (char *) r->headers[r->n_headers - 1].value;

			prev[strlen(prev)] = ' ';
			continue;
		}
		if (r->n_headers == MAX_HEADERS)
			return -1;
		{
			char	   *colon = strchr(line, ':');

			if (colon == NULL)
				return -1;
			*colon = '\0';
			r->headers[r->n_headers].name = line;
			r->headers[r->n_headers].value = colon + 1;
			r->n_headers++;
		}
	}
	return 0;
}

static int
check(const char *case_name, const char *what, const char *expected,
	  const char *actual)
{
	if (expected == NULL)
	{
		printf("FAIL %s: expected %s file missing\n", case_name, what);
		return 0;
	}
	if (strcmp(expected, actual) != 0)
	{
		printf("FAIL %s: %s differs\n--- expected\n%s\n--- actual\n%s\n---\n",
			   case_name, what, expected, actual);
		return 0;
	}
	return 1;
}

/* The "Authorization:" line's value in header-signed-request.txt. */
static char *
expected_authorization(const char *dir)
{
	char	   *signed_req = read_file(dir, "header-signed-request.txt", NULL);
	char	   *line;
	char	   *result = NULL;

	if (signed_req == NULL)
		return NULL;
	for (line = strtok(signed_req, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "Authorization:", 14) == 0)
		{
			result = strdup(line + 14);
			break;
		}
	free(signed_req);
	return result;
}

static const char *
json_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int
json_true(const cJSON *obj, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

static void
run_case(const char *dir, const char *case_name)
{
	size_t		req_len = 0;
	char	   *req_text = read_file(dir, "request.txt", &req_len);
	char	   *ctx_text = read_file(dir, "context.json", NULL);
	char	   *exp_canonical = read_file(dir, "header-canonical-request.txt", NULL);
	char	   *exp_sts = read_file(dir, "header-string-to-sign.txt", NULL);
	char	   *exp_sig = read_file(dir, "header-signature.txt", NULL);
	char	   *exp_auth = expected_authorization(dir);
	cJSON	   *ctx = ctx_text ? cJSON_Parse(ctx_text) : NULL;
	const cJSON *creds = cJSON_GetObjectItemCaseSensitive(ctx, "credentials");
	parsed_request r;
	char		amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char		payload_hash[SIGV4_SHA256_HEX_LEN + 1];
	char		signature[SIGV4_SHA256_HEX_LEN + 1] = "";
	struct tm	tm;
	const char *ts;
	const char *token;
	sigv4_request req;
	sigv4_scope scope;
	strbuf		canonical,
				signed_headers,
				sts,
				auth;
	int			ok = 1;

	strbuf_init(&canonical);
	strbuf_init(&signed_headers);
	strbuf_init(&sts);
	strbuf_init(&auth);

	if (req_text == NULL || ctx == NULL || creds == NULL ||
		parse_request(req_text, req_len, &r) != 0)
	{
		printf("FAIL %s: cannot read request.txt or context.json\n", case_name);
		failed++;
		goto done;
	}

	/* The timestamp goes through the signer's own formatter. */
	ts = json_string(ctx, "timestamp");
	memset(&tm, 0, sizeof(tm));
	if (ts == NULL || strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL ||
		!sigv4_format_amz_date(timegm(&tm), amz_date))
	{
		printf("FAIL %s: bad timestamp\n", case_name);
		failed++;
		goto done;
	}

	sigv4_sha256_hex(r.body, r.body_len, payload_hash);
	r.headers[r.n_headers].name = "X-Amz-Date";
	r.headers[r.n_headers++].value = amz_date;
	token = json_string(creds, "token");
	if (token && !json_true(ctx, "omit_session_token"))
	{
		r.headers[r.n_headers].name = "X-Amz-Security-Token";
		r.headers[r.n_headers++].value = token;
	}
	if (json_true(ctx, "sign_body"))
	{
		r.headers[r.n_headers].name = "x-amz-content-sha256";
		r.headers[r.n_headers++].value = payload_hash;
	}

	req.method = r.method;
	req.path = r.path;
	req.query = r.query;
	req.normalize_path = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ctx, "normalize"));
	req.headers = r.headers;
	req.n_headers = r.n_headers;
	req.payload_sha256_hex = payload_hash;
	scope.amz_date = amz_date;
	scope.region = json_string(ctx, "region");
	scope.service = json_string(ctx, "service");

	if (!sigv4_canonical_request(&req, &canonical, &signed_headers) ||
		!sigv4_string_to_sign(&scope, canonical.data, canonical.len, &sts) ||
		!sigv4_signature(json_string(creds, "secret_access_key"), &scope,
						 sts.data, sts.len, signature) ||
		!sigv4_authorization(json_string(creds, "access_key_id"), &scope,
							 strbuf_str(&signed_headers), signature, &auth))
	{
		printf("FAIL %s: signer returned an error\n", case_name);
		failed++;
		goto done;
	}

	ok &= check(case_name, "canonical request", exp_canonical, strbuf_str(&canonical));
	ok &= check(case_name, "string to sign", exp_sts, strbuf_str(&sts));
	ok &= check(case_name, "signature", exp_sig, signature);
	ok &= check(case_name, "Authorization header", exp_auth, strbuf_str(&auth));

	/* Signing twice must give the same result: the second use hits the key cache. */
	{
		strbuf		again;

		strbuf_init(&again);
		if (!sigv4_sign(&req, &scope, json_string(creds, "access_key_id"),
						json_string(creds, "secret_access_key"), &again))
			ok = 0;
		else
			ok &= check(case_name, "Authorization header (cached key)",
						strbuf_str(&auth), strbuf_str(&again));
		strbuf_free(&again, false);
	}

	if (ok)
	{
		passed++;
		printf("ok   %s\n", case_name);
	}
	else
		failed++;

	{
		char	   *q = read_file(dir, "query-signature.txt", NULL);

		if (q)
		{
			skipped++;
			printf("skip %s (query-string signing): presigned URLs are not used by a DynamoDB client\n",
				   case_name);
			free(q);
		}
	}

done:
	strbuf_free(&canonical, false);
	strbuf_free(&signed_headers, false);
	strbuf_free(&sts, false);
	strbuf_free(&auth, false);
	cJSON_Delete(ctx);
	free(req_text);
	free(ctx_text);
	free(exp_canonical);
	free(exp_sts);
	free(exp_sig);
	free(exp_auth);
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A wrong signing key must not be served from the cache after the secret changes. */
static void
check_cache_keyed_by_secret(void)
{
	sigv4_scope scope = {"20150830T123600Z", "us-east-1", "service"};
	const char *sts = "AWS4-HMAC-SHA256\n...";
	char		a[SIGV4_SHA256_HEX_LEN + 1];
	char		b[SIGV4_SHA256_HEX_LEN + 1];
	char		c[SIGV4_SHA256_HEX_LEN + 1];

	sigv4_signature("secret-one", &scope, sts, strlen(sts), a);
	sigv4_signature("secret-two", &scope, sts, strlen(sts), b);
	sigv4_forget_cached_key();
	sigv4_signature("secret-one", &scope, sts, strlen(sts), c);
	if (strcmp(a, b) != 0 && strcmp(a, c) == 0)
	{
		passed++;
		printf("ok   signing-key cache is keyed by the secret\n");
	}
	else
	{
		failed++;
		printf("FAIL signing-key cache is keyed by the secret\n");
	}
}

int
main(int argc, char **argv)
{
	if (argc < 2)
	{
		fprintf(stderr, "usage: %s CASE_ROOT [CASE_ROOT ...]\n", argv[0]);
		return 2;
	}
	for (int a = 1; a < argc; a++)
	{
		struct dirent **entries;
		int			n = scandir(argv[a], &entries, NULL, name_cmp);

		if (n < 0)
		{
			printf("FAIL cannot read %s\n", argv[a]);
			failed++;
			continue;
		}
		for (int i = 0; i < n; i++)
		{
			char		dir[4096];
			char	   *probe;

			snprintf(dir, sizeof(dir), "%s/%s", argv[a], entries[i]->d_name);
			probe = entries[i]->d_name[0] != '.' ? read_file(dir, "context.json", NULL) : NULL;
			if (probe)
			{
				free(probe);
				run_case(dir, entries[i]->d_name);
			}
			free(entries[i]);
		}
		free(entries);
	}
	check_cache_keyed_by_secret();
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed == 0 && passed > 0 ? 0 : 1;
}
