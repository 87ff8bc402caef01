/*
 * sigv4.c - AWS Signature Version 4 (see sigv4.h).
 *
 * Non-S3 rules: the path is percent-encoded once more than it arrived
 * (so a raw '%' becomes %25), query parameters are decoded and re-encoded
 * strictly, headers are lower-cased, trimmed, folded and merged.
 */
#include "sigv4.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>

#define SHA256_LEN 32

static const char hexdigits[] = "0123456789abcdef";

static void
to_hex(const unsigned char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/*
 * OpenSSL 3 looks an algorithm up by name on every one-shot call
 * (EVP_Digest with EVP_sha256(), HMAC()); fetched once here, a request's
 * digests and MAC skip that search.  NULL (no provider) falls back to the
 * implicit look-up, which then fails the same way.
 */
static const EVP_MD *
sha256_md(void)
{
	static EVP_MD *md = NULL;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md ? md : EVP_sha256();
}

static bool
sha256(const void *data, size_t len, unsigned char *out)
{
	unsigned int mdlen = 0;

	return EVP_Digest(data, len, out, &mdlen, sha256_md(), NULL) && mdlen == SHA256_LEN;
}

bool
sigv4_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[SHA256_LEN];

	if (!sha256(data, len, md))
		return false;
	to_hex(md, SHA256_LEN, out);
	return true;
}

/* An HMAC-SHA256 context keyed with key, to be fed and finished (or duplicated). */
static EVP_MAC_CTX *
hmac_keyed(const void *key, size_t keylen)
{
	static EVP_MAC *mac = NULL;
	OSSL_PARAM	params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	EVP_MAC_CTX *ctx;

	if (mac == NULL && (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx != NULL && !EVP_MAC_init(ctx, key, keylen, params))
	{
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* Feeds msg to ctx and finishes it into out; frees ctx. */
static bool
hmac_finish(EVP_MAC_CTX *ctx, const void *msg, size_t msglen, unsigned char *out)
{
	size_t		outlen = 0;
	bool		ok = ctx != NULL &&
		EVP_MAC_update(ctx, msg, msglen) &&
		EVP_MAC_final(ctx, out, &outlen, SHA256_LEN) &&
		outlen == SHA256_LEN;

	EVP_MAC_CTX_free(ctx);		/* clears the keyed state */
	return ok;
}

static bool
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
			unsigned char *out)
{
	return hmac_finish(hmac_keyed(key, keylen), msg, msglen, out);
}

bool
sigv4_format_amz_date(time_t t, char *out)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL)
		return false;
	return strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) ==
		SIGV4_AMZ_DATE_LEN;
}

/* RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded. */
static bool
is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static void
uri_encode(strbuf *out, const char *s, size_t len, bool keep_slash)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			strbuf_appendc(out, (char) c);
		else
		{
			char		esc[3] = {'%', "0123456789ABCDEF"[c >> 4],
			"0123456789ABCDEF"[c & 0xf]};

			strbuf_append(out, esc, 3);
		}
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX escapes; a '%' not followed by two hex digits stays as is. */
static void
uri_decode(strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len &&
			hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
		{
			strbuf_appendc(out, (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		}
		else
			strbuf_appendc(out, s[i]);
	}
}

/*
 * The canonical URI.  With normalize, "." and empty segments vanish and
 * ".." removes the segment before it (RFC 3986 section 5.2.4); a path that
 * ended in a slash or a dot segment keeps a trailing slash.
 */
static void
canonical_path(strbuf *out, const char *path, bool normalize)
{
	const char **seg_start;
	size_t	   *seg_len;
	size_t		nseg = 0;
	size_t		plen;
	const char *p;
	bool		trailing_slash = false;

	if (path == NULL || path[0] == '\0')
	{
		strbuf_appendc(out, '/');
		return;
	}
	plen = strlen(path);
	if (!normalize)
	{
		uri_encode(out, path, plen, true);
		return;
	}

	/* At most plen/1 + 1 segments; allocate once. */
	seg_start = malloc((plen + 1) * sizeof(*seg_start));
	seg_len = malloc((plen + 1) * sizeof(*seg_len));
	if (seg_start == NULL || seg_len == NULL)
	{
		free(seg_start);
		free(seg_len);
		out->failed = true;
		return;
	}

	p = path;
	while (*p)
	{
		const char *end;
		size_t		len;

		while (*p == '/')
			p++;
		if (*p == '\0')
		{
			trailing_slash = true;
			break;
		}
		end = strchr(p, '/');
		len = end ? (size_t) (end - p) : strlen(p);
		trailing_slash = false;
		if (len == 1 && p[0] == '.')
			trailing_slash = true;
		else if (len == 2 && p[0] == '.' && p[1] == '.')
		{
			if (nseg > 0)
				nseg--;
			trailing_slash = true;
		}
		else
		{
			seg_start[nseg] = p;
			seg_len[nseg] = len;
			nseg++;
		}
		p += len;
	}

	for (size_t i = 0; i < nseg; i++)
	{
		strbuf_appendc(out, '/');
		uri_encode(out, seg_start[i], seg_len[i], false);
	}
	if (nseg == 0 || trailing_slash)
		strbuf_appendc(out, '/');
	free(seg_start);
	free(seg_len);
}

typedef struct query_param
{
	strbuf		key;			/* encoded */
	strbuf		value;			/* encoded */
} query_param;

static int
query_param_cmp(const void *a, const void *b)
{
	const query_param *x = a;
	const query_param *y = b;
	int			c = strcmp(strbuf_str(&x->key), strbuf_str(&y->key));

	return c != 0 ? c : strcmp(strbuf_str(&x->value), strbuf_str(&y->value));
}

/* Encodes one decoded component into dst (scratch is reused). */
static void
encode_component(strbuf *dst, strbuf *scratch, const char *s, size_t len)
{
	strbuf_reset(scratch);
	uri_decode(scratch, s, len);
	uri_encode(dst, strbuf_str(scratch), scratch->len, false);
	if (strbuf_failed(scratch))
		dst->failed = true;
}

/* The canonical query: parameters decoded, re-encoded, sorted by key then value. */
static void
canonical_query(strbuf *out, const char *query)
{
	size_t		n = 0;
	size_t		cap;
	query_param *params;
	strbuf		scratch;
	const char *p;

	if (query == NULL || query[0] == '\0')
		return;

	cap = 1;
	for (p = query; *p; p++)
		if (*p == '&')
			cap++;
	params = calloc(cap, sizeof(*params));
	if (params == NULL)
	{
		out->failed = true;
		return;
	}
	strbuf_init(&scratch);

	p = query;
	while (p)
	{
		const char *amp = strchr(p, '&');
		size_t		len = amp ? (size_t) (amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		if (len > 0)
		{
			query_param *qp = &params[n++];
			size_t		klen = eq ? (size_t) (eq - p) : len;

			strbuf_init(&qp->key);
			strbuf_init(&qp->value);
			encode_component(&qp->key, &scratch, p, klen);
			if (eq)
				encode_component(&qp->value, &scratch, eq + 1, len - klen - 1);
		}
		p = amp ? amp + 1 : NULL;
	}

	qsort(params, n, sizeof(*params), query_param_cmp);
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			strbuf_appendc(out, '&');
		strbuf_appends(out, strbuf_str(&params[i].key));
		strbuf_appendc(out, '=');
		strbuf_appends(out, strbuf_str(&params[i].value));
		if (strbuf_failed(&params[i].key) || strbuf_failed(&params[i].value))
			out->failed = true;
		strbuf_free(&params[i].key, false);
		strbuf_free(&params[i].value, false);
	}
	if (strbuf_failed(&scratch))
		out->failed = true;
	strbuf_free(&scratch, false);
	free(params);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends value trimmed, with every run of blanks folded to one space. */
static void
append_folded(strbuf *out, const char *value)
{
	const char *p = value;
	bool		pending_space = false;

	while (is_blank(*p))
		p++;
	for (; *p; p++)
	{
		if (is_blank(*p))
			pending_space = true;
		else
		{
			if (pending_space)
				strbuf_appendc(out, ' ');
			pending_space = false;
			strbuf_appendc(out, *p);
		}
	}
}

typedef struct lc_header
{
	char	   *name;			/* lower-cased, trimmed copy */
	const char *value;
	size_t		order;			/* position in the request: keeps the sort
								 * stable, so merged values keep their order */
} lc_header;

static int
lc_header_cmp(const void *a, const void *b)
{
	const lc_header *x = a;
	const lc_header *y = b;
	int			c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

static char *
lower_trimmed(const char *name)
{
	const char *start = name;
	const char *end;
	char	   *copy;
	size_t		len;

	while (is_blank(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_blank(end[-1]))
		end--;
	len = (size_t) (end - start);
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		copy[i] = (char) tolower((unsigned char) start[i]);
	copy[len] = '\0';
	return copy;
}

/*
 * Canonical headers ("name:value\n" each, sorted, duplicates merged with
 * ',') into out, and the signed-headers list into signed_headers.
 */
static bool
canonical_headers(strbuf *out, strbuf *signed_headers,
				  const sigv4_header *headers, size_t n)
{
	lc_header  *sorted = calloc(n ? n : 1, sizeof(*sorted));
	bool		ok = sorted != NULL;

	for (size_t i = 0; ok && i < n; i++)
	{
		sorted[i].name = lower_trimmed(headers[i].name);
		sorted[i].value = headers[i].value ? headers[i].value : "";
		sorted[i].order = i;
		ok = sorted[i].name != NULL && sorted[i].name[0] != '\0';
	}
	if (ok)
	{
		qsort(sorted, n, sizeof(*sorted), lc_header_cmp);
		for (size_t i = 0; i < n; i++)
		{
			bool		same_as_previous = i > 0 &&
				strcmp(sorted[i].name, sorted[i - 1].name) == 0;

			if (same_as_previous)
				strbuf_appendc(out, ',');
			else
			{
				if (i > 0)
				{
					strbuf_appendc(out, '\n');
					strbuf_appendc(signed_headers, ';');
				}
				strbuf_appends(out, sorted[i].name);
				strbuf_appendc(out, ':');
				strbuf_appends(signed_headers, sorted[i].name);
			}
			append_folded(out, sorted[i].value);
		}
		if (n > 0)
			strbuf_appendc(out, '\n');
	}
	for (size_t i = 0; sorted && i < n; i++)
		free(sorted[i].name);
	free(sorted);
	return ok;
}

bool
sigv4_canonical_request(const sigv4_request *req, strbuf *out,
						strbuf *signed_headers)
{
	strbuf_appends(out, req->method);
	strbuf_appendc(out, '\n');
	canonical_path(out, req->path, req->normalize_path);
	strbuf_appendc(out, '\n');
	canonical_query(out, req->query);
	strbuf_appendc(out, '\n');
	if (!canonical_headers(out, signed_headers, req->headers, req->n_headers))
		return false;
	strbuf_appendc(out, '\n');
	strbuf_appends(out, strbuf_str(signed_headers));
	strbuf_appendc(out, '\n');
	strbuf_appends(out, req->payload_sha256_hex);
	return !strbuf_failed(out) && !strbuf_failed(signed_headers);
}

static void
append_scope(strbuf *out, const sigv4_scope *scope)
{
	strbuf_append(out, scope->amz_date, 8);
	strbuf_appendc(out, '/');
	strbuf_appends(out, scope->region);
	strbuf_appendc(out, '/');
	strbuf_appends(out, scope->service);
	strbuf_appends(out, "/aws4_request");
}

static bool
scope_is_valid(const sigv4_scope *scope)
{
	return scope->amz_date && strlen(scope->amz_date) == SIGV4_AMZ_DATE_LEN &&
		scope->region && scope->region[0] && scope->service && scope->service[0];
}

bool
sigv4_string_to_sign(const sigv4_scope *scope, const char *canonical_request,
					 size_t len, strbuf *out)
{
	char		hash[SIGV4_SHA256_HEX_LEN + 1];

	if (!scope_is_valid(scope) || !sigv4_sha256_hex(canonical_request, len, hash))
		return false;
	strbuf_appends(out, "AWS4-HMAC-SHA256\n");
	strbuf_appends(out, scope->amz_date);
	strbuf_appendc(out, '\n');
	append_scope(out, scope);
	strbuf_appendc(out, '\n');
	strbuf_appends(out, hash);
	return !strbuf_failed(out);
}

/*
 * The one-entry signing-key cache: an HMAC context already keyed with the
 * signing key of a day, region and service, duplicated for each request.
 * It is keyed by a digest of the secret, not the secret itself, so the
 * cache never holds a second copy of it.
 */
static struct
{
	char		date[9];
	char		region[64];
	char		service[64];
	unsigned char secret_digest[SHA256_LEN];
	EVP_MAC_CTX *keyed;			/* NULL: empty */
}			key_cache;

void
sigv4_forget_cached_key(void)
{
	EVP_MAC_CTX_free(key_cache.keyed);
	explicit_bzero(&key_cache, sizeof(key_cache));
}

/* A new HMAC context keyed with the signing key of secret and scope. */
static EVP_MAC_CTX *
signing_context(const char *secret, const sigv4_scope *scope)
{
	unsigned char digest[SHA256_LEN];
	bool		cacheable = strlen(scope->region) < sizeof(key_cache.region) &&
		strlen(scope->service) < sizeof(key_cache.service);
	strbuf		k_secret;
	unsigned char k_date[SHA256_LEN];
	unsigned char k_region[SHA256_LEN];
	unsigned char k_service[SHA256_LEN];
	unsigned char key[SHA256_LEN];
	EVP_MAC_CTX *ctx = NULL;
	bool		ok;

	if (!sha256(secret, strlen(secret), digest))
		return NULL;

	if (cacheable && key_cache.keyed != NULL &&
		memcmp(key_cache.date, scope->amz_date, 8) == 0 &&
		strcmp(key_cache.region, scope->region) == 0 &&
		strcmp(key_cache.service, scope->service) == 0 &&
		memcmp(key_cache.secret_digest, digest, SHA256_LEN) == 0)
	{
		explicit_bzero(digest, sizeof(digest));
		return EVP_MAC_CTX_dup(key_cache.keyed);
	}

	strbuf_init(&k_secret);
	strbuf_appends(&k_secret, "AWS4");
	strbuf_appends(&k_secret, secret);
	ok = !strbuf_failed(&k_secret) &&
		hmac_sha256(k_secret.data, k_secret.len, scope->amz_date, 8, k_date) &&
		hmac_sha256(k_date, SHA256_LEN, scope->region, strlen(scope->region), k_region) &&
		hmac_sha256(k_region, SHA256_LEN, scope->service, strlen(scope->service), k_service) &&
		hmac_sha256(k_service, SHA256_LEN, "aws4_request", 12, key);
	if (ok)
		ctx = hmac_keyed(key, SHA256_LEN);
	strbuf_free(&k_secret, true);
	explicit_bzero(k_date, sizeof(k_date));
	explicit_bzero(k_region, sizeof(k_region));
	explicit_bzero(k_service, sizeof(k_service));
	explicit_bzero(key, sizeof(key));

	if (ctx != NULL && cacheable)
	{
		sigv4_forget_cached_key();
		memcpy(key_cache.date, scope->amz_date, 8);
		key_cache.date[8] = '\0';
		/* both fit: checked by cacheable */
		memcpy(key_cache.region, scope->region, strlen(scope->region) + 1);
		memcpy(key_cache.service, scope->service, strlen(scope->service) + 1);
		memcpy(key_cache.secret_digest, digest, SHA256_LEN);
		key_cache.keyed = EVP_MAC_CTX_dup(ctx);
	}
	explicit_bzero(digest, sizeof(digest));
	return ctx;
}

bool
sigv4_signature(const char *secret, const sigv4_scope *scope,
				const char *string_to_sign, size_t len, char *signature)
{
	unsigned char mac[SHA256_LEN];

	if (secret == NULL || !scope_is_valid(scope))
		return false;
	if (!hmac_finish(signing_context(secret, scope), string_to_sign, len, mac))
		return false;
	to_hex(mac, SHA256_LEN, signature);
	return true;
}

bool
sigv4_authorization(const char *access_key_id, const sigv4_scope *scope,
					const char *signed_headers, const char *signature,
					strbuf *out)
{
	strbuf_appends(out, "AWS4-HMAC-SHA256 Credential=");
	strbuf_appends(out, access_key_id);
	strbuf_appendc(out, '/');
	append_scope(out, scope);
	strbuf_appends(out, ", SignedHeaders=");
	strbuf_appends(out, signed_headers);
	strbuf_appends(out, ", Signature=");
	strbuf_appends(out, signature);
	return !strbuf_failed(out);
}

bool
sigv4_sign(const sigv4_request *req, const sigv4_scope *scope,
		   const char *access_key_id, const char *secret,
		   strbuf *authorization)
{
	strbuf		canonical;
	strbuf		signed_headers;
	strbuf		to_sign;
	char		signature[SIGV4_SHA256_HEX_LEN + 1];
	bool		ok;

	strbuf_init(&canonical);
	strbuf_init(&signed_headers);
	strbuf_init(&to_sign);
	ok = sigv4_canonical_request(req, &canonical, &signed_headers) &&
		sigv4_string_to_sign(scope, canonical.data, canonical.len, &to_sign) &&
		sigv4_signature(secret, scope, to_sign.data, to_sign.len, signature) &&
		sigv4_authorization(access_key_id, scope, strbuf_str(&signed_headers),
							signature, authorization);
	/* The canonical request holds the session token header's value. */
	strbuf_free(&canonical, true);
	strbuf_free(&signed_headers, false);
	strbuf_free(&to_sign, false);
	return ok;
}
