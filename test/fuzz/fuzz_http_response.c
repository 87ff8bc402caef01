/*
 * fuzz_http_response.c - libFuzzer harness for the reader of HTTP/1.1
 * answers (src/net/http_response.c), which reads whatever the network
 * sends.  The input is read twice: whole, and cut in pieces at lengths
 * taken from its first byte; both readings must agree, and end (with the
 * close) in DONE or FAILED, within the limits on what precedes a body.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"

typedef struct Body
{
	size_t		len;
	uint32_t	sum;
} Body;

static bool
take(void *arg, const char *data, size_t len)
{
	Body	   *b = arg;

	for (size_t i = 0; i < len; i++)
		b->sum = b->sum * 31 + (unsigned char) data[i];
	b->len += len;
	return b->len <= 65536;
}

static HttpParseState
read_all(const uint8_t *data, size_t size, size_t step, HttpResponseParser *p, Body *b)
{
	size_t		at = 0;
	HttpParseState s = HTTP_PARSE_STATUS;

	http_response_init(p);
	memset(b, 0, sizeof(*b));
	while (at < size)
	{
		size_t		n = size - at < step ? size - at : step;
		size_t		used = 0;

		s = http_response_feed(p, (const char *) data + at, n, &used, take, b);
		if (used > n)
			abort();
		if (s == HTTP_PARSE_DONE || s == HTTP_PARSE_FAILED)
			return s;
		at += n;
	}
	return http_response_closed(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static HttpResponseParser whole,
				pieces;
	Body		a,
				b;
	size_t		step;
	HttpParseState s1,
				s2;

	if (size == 0)
		return 0;
	step = (size_t) data[0] % 17 + 1;
	s1 = read_all(data + 1, size - 1, size, &whole, &a);
	s2 = read_all(data + 1, size - 1, step, &pieces, &b);
	if (s1 != s2 || (s1 != HTTP_PARSE_DONE && s1 != HTTP_PARSE_FAILED))
		abort();
	if (s1 == HTTP_PARSE_DONE && (a.len != b.len || a.sum != b.sum || whole.status != pieces.status ||
								  whole.keep_alive != pieces.keep_alive ||
								  strcmp(whole.request_id, pieces.request_id) != 0))
		abort();
	if (whole.head_bytes > HTTP_HEAD_BYTES_MAX || pieces.head_bytes > HTTP_HEAD_BYTES_MAX)
		abort();
	return 0;
}
