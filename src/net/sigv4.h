/*
 * sigv4.h - AWS Signature Version 4, header flavour, in plain C.
 *
 * The pipeline is split into the four steps AWS documents (canonical
 * request -> string to sign -> signature -> Authorization header), each a
 * function of its inputs only: the timestamp is passed in, so the official
 * test vectors can be replayed byte for byte.  Nothing here knows about
 * PostgreSQL; the only state is a one-entry cache of the derived signing
 * key, which changes once a day per (region, service, secret).
 */
#ifndef DYNAMO_ATOMIC_SIGV4_H
#define DYNAMO_ATOMIC_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "strbuf.h"

#define SIGV4_SHA256_HEX_LEN 64
#define SIGV4_AMZ_DATE_LEN 16	/* YYYYMMDDTHHMMSSZ */

typedef struct sigv4_header
{
	const char *name;			/* any case; canonicalised to lower case */
	const char *value;			/* trimmed, runs of blanks folded */
} sigv4_header;

typedef struct sigv4_request
{
	const char *method;			/* "POST" */
	const char *path;			/* raw path, not yet percent-encoded */
	const char *query;			/* raw query without '?', or NULL */
	bool		normalize_path; /* remove dot segments and empty segments */
	const sigv4_header *headers;	/* exactly the headers to sign */
	size_t		n_headers;
	const char *payload_sha256_hex; /* hex SHA-256 of the body */
} sigv4_request;

typedef struct sigv4_scope
{
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ; its first 8 chars are
								 * the scope date */
	const char *region;
	const char *service;
} sigv4_scope;

/* Hex SHA-256 of data, into out[SIGV4_SHA256_HEX_LEN + 1]. */
extern bool sigv4_sha256_hex(const void *data, size_t len, char *out);

/* Formats t (UTC) as YYYYMMDDTHHMMSSZ into out[SIGV4_AMZ_DATE_LEN + 1]. */
extern bool sigv4_format_amz_date(time_t t, char *out);

/*
 * Step 1.  Appends the canonical request to out and the signed-headers
 * list ("a;b;c") to signed_headers.  Returns false on allocation failure
 * or bad input (a header without a name).
 */
extern bool sigv4_canonical_request(const sigv4_request *req, strbuf *out,
									strbuf *signed_headers);

/* Step 2.  Appends the string to sign for canonical_request to out. */
extern bool sigv4_string_to_sign(const sigv4_scope *scope,
								 const char *canonical_request, size_t len,
								 strbuf *out);

/*
 * Step 3.  Signs string_to_sign with the key derived from secret and scope,
 * writing hex into signature[SIGV4_SHA256_HEX_LEN + 1].  The derived key is
 * cached for the next call with the same date, region, service and secret.
 */
extern bool sigv4_signature(const char *secret, const sigv4_scope *scope,
							const char *string_to_sign, size_t len,
							char *signature);

/* Step 4.  Appends the Authorization header's value to out. */
extern bool sigv4_authorization(const char *access_key_id,
								const sigv4_scope *scope,
								const char *signed_headers,
								const char *signature, strbuf *out);

/* All four steps: appends the Authorization header's value to out. */
extern bool sigv4_sign(const sigv4_request *req, const sigv4_scope *scope,
					   const char *access_key_id, const char *secret,
					   strbuf *authorization);

/* Wipes the cached signing key (e.g. when credentials are replaced). */
extern void sigv4_forget_cached_key(void);

#endif
