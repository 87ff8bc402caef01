/*
 * fuzz_sigv4.c - libFuzzer harness for SigV4 canonicalisation of arbitrary
 * paths, queries and headers.  The input is split at newlines: method,
 * path, query, then "name:value" header lines.  Also signs, so the whole
 * pipeline (string to sign, signature, Authorization) runs on it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define MAX_HEADERS 16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	char	   *lines[3 + MAX_HEADERS];
	int			n = 0;
	sigv4_header headers[MAX_HEADERS];
	size_t		n_headers = 0;
	sigv4_request req = {0};
	sigv4_scope scope = {"20150830T123600Z", "us-east-1", "dynamodb"};
	strbuf		canonical,
				signed_headers,
				auth;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text; p && n < 3 + MAX_HEADERS;)
	{
		char	   *nl = strchr(p, '\n');

		lines[n++] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	for (int i = 3; i < n; i++)
	{
		char	   *colon = strchr(lines[i], ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		headers[n_headers].name = lines[i];
		headers[n_headers].value = colon + 1;
		n_headers++;
	}
	req.method = n > 0 ? lines[0] : "POST";
	req.path = n > 1 ? lines[1] : "/";
	req.query = n > 2 && lines[2][0] ? lines[2] : NULL;
	req.normalize_path = size % 2 == 0;
	req.headers = headers;
	req.n_headers = n_headers;
	req.payload_sha256_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

	strbuf_init(&canonical);
	strbuf_init(&signed_headers);
	(void) sigv4_canonical_request(&req, &canonical, &signed_headers);
	strbuf_free(&canonical, false);
	strbuf_free(&signed_headers, false);
	strbuf_init(&auth);
	(void) sigv4_sign(&req, &scope, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &auth);
	strbuf_free(&auth, true);
	free(text);
	return 0;
}
