/*
 * http_response_test.c - unit test of the HTTP/1.1 answer reader of the
 * direct requests (src/net/http_response.c): every answer is read whole,
 * and again split at every byte, since the network may cut it anywhere.
 */
#include <stdio.h>
#include <string.h>

#include "http_response.h"

static int	passed = 0;
static int	failed = 0;

static void
check(bool ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	ok ? passed++ : failed++;
}

typedef struct Body
{
	char		data[4096];
	size_t		len;
	size_t		limit;
} Body;

static bool
take(void *arg, const char *data, size_t len)
{
	Body	   *b = arg;

	if (b->len + len > b->limit)
		return false;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

static bool
count_only(void *arg, const char *data, size_t len)
{
	((Body *) arg)->len += len;
	return true;
}

/* Reads text in pieces of at most step bytes (then, when asked, the close); the state at the end. */
static HttpParseState
read_in_pieces(const char *text, size_t len, size_t step, bool then_close, HttpResponseParser *p, Body *b,
			   size_t *left_over)
{
	HttpParseState s = HTTP_PARSE_STATUS;
	size_t		at = 0;

	http_response_init(p);
	memset(b, 0, sizeof(*b));
	b->limit = sizeof(b->data);
	*left_over = 0;
	while (at < len)
	{
		size_t		n = len - at < step ? len - at : step;
		size_t		used = 0;

		s = http_response_feed(p, text + at, n, &used, take, b);
		if (s == HTTP_PARSE_DONE || s == HTTP_PARSE_FAILED)
		{
			*left_over = len - at - used;
			return s;
		}
		at += n;
	}
	return then_close ? http_response_closed(p) : s;
}

/* The answer text, read whole and split at every byte, gives status, body and keep_alive (or fails). */
static void
answer(const char *name, const char *text, bool then_close, HttpParseState want, int status,
	   const char *body, bool keep_alive, size_t left_over)
{
	size_t		len = strlen(text);
	bool		all_ok = true;
	char		what[300];

	for (size_t step = len; step >= 1; step--)
	{
		HttpResponseParser p;
		Body		b;
		size_t		left;
		HttpParseState s = read_in_pieces(text, len, step, then_close, &p, &b, &left);

		if (s != want || (want == HTTP_PARSE_DONE &&
						  (p.status != status || b.len != strlen(body) || memcmp(b.data, body, b.len) != 0 ||
						   p.keep_alive != keep_alive || left != left_over)))
		{
			printf("     (%s, pieces of %zu: state %d status %d body \"%.*s\" keep_alive %d left %zu)\n",
				   name, step, (int) s, p.status, (int) b.len, b.data, (int) p.keep_alive, left);
			all_ok = false;
			break;
		}
	}
	snprintf(what, sizeof(what), "%s", name);
	check(all_ok, what);
}

int
main(void)
{
	HttpResponseParser p;
	Body		b;
	size_t		left;

	answer("Content-Length: the body, the connection kept",
		   "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 5\r\n\r\nhello",
		   false, HTTP_PARSE_DONE, 200, "hello", true, 0);
	answer("chunked: the chunks joined, extensions and trailers skipped",
		   "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
		   false, HTTP_PARSE_DONE, 400, "abc0123456789", true, 0);
	answer("Connection: close: read, and the connection not kept",
		   "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
		   false, HTTP_PARSE_DONE, 500, "{}", false, 0);
	answer("HTTP/1.0 without a length: the body ends with the connection",
		   "HTTP/1.0 200 OK\r\n\r\nuntil the end", true, HTTP_PARSE_DONE, 200, "until the end", false, 0);
	answer("HTTP/1.0 with keep-alive and a length: kept",
		   "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		   false, HTTP_PARSE_DONE, 200, "x", true, 0);
	answer("a 100 Continue before the answer is skipped",
		   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		   false, HTTP_PARSE_DONE, 200, "ok", true, 0);
	answer("bare LF line ends are read too",
		   "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, HTTP_PARSE_DONE, 200, "ok", true, 0);
	answer("a 204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false, HTTP_PARSE_DONE, 204, "", true, 0);
	answer("bytes after the answer are left over (the caller drops the connection)",
		   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false, HTTP_PARSE_DONE, 200, "ok", true, 5);
	answer("chunked wins over Content-Length",
		   "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		   false, HTTP_PARSE_DONE, 200, "ok", true, 0);

	answer("Connection: a list with close in it closes",
		   "HTTP/1.1 200 OK\r\nConnection: TE,  close \r\nContent-Length: 2\r\n\r\nok",
		   false, HTTP_PARSE_DONE, 200, "ok", false, 0);
	answer("not HTTP at all fails", "SSH-2.0-OpenSSH_9.2\r\n\r\n", false, HTTP_PARSE_FAILED, 0, "", false, 0);
	answer("HTTP/2 in an HTTP/1.1 status line fails", "HTTP/2 200\r\n\r\n", false, HTTP_PARSE_FAILED, 0, "", false, 0);
	answer("a status that is not three digits fails", "HTTP/1.1 20x OK\r\n\r\n", false, HTTP_PARSE_FAILED, 0, "",
		   false, 0);
	answer("a Content-Length that is not a number fails",
		   "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", false, HTTP_PARSE_FAILED, 0, "", false, 0);
	answer("two different Content-Lengths fail",
		   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false, HTTP_PARSE_FAILED, 0, "",
		   false, 0);
	answer("a Content-Length past 2^64 fails",
		   "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, HTTP_PARSE_FAILED, 0, "",
		   false, 0);
	answer("a Transfer-Encoding other than chunked fails",
		   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, HTTP_PARSE_FAILED, 0, "", false, 0);
	answer("a chunk size that is not hexadecimal fails",
		   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, HTTP_PARSE_FAILED, 0, "", false, 0);
	answer("a chunk longer than its size fails",
		   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n", false, HTTP_PARSE_FAILED,
		   0, "", false, 0);
	answer("a close before the length's end fails",
		   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, HTTP_PARSE_FAILED, 0, "", false, 0);
	answer("a close within the headers fails", "HTTP/1.1 200 OK\r\nContent-Le", true, HTTP_PARSE_FAILED, 0, "",
		   false, 0);

	/* A line longer than HTTP_LINE_MAX fails, and nothing is written past the line buffer. */
	{
		static char text[HTTP_LINE_MAX * 2 + 64];

		HttpParseState s;

		strcpy(text, "HTTP/1.1 200 OK\r\nX-Long: ");
		memset(text + strlen(text), 'a', HTTP_LINE_MAX + 10);
		s = read_in_pieces(text, strlen(text), 1000, false, &p, &b, &left);
		check(s == HTTP_PARSE_FAILED, "a header line longer than the limit fails");
	}

	/* Within the limits, what libcurl reads is read: a 50 KB header line; 70 KB of body in 1-byte chunks. */
	{
		static char text[512 * 1024];
		static Body big;
		size_t		len;
		size_t		used = 0;
		HttpParseState s;

		strcpy(text, "HTTP/1.1 200 OK\r\nX-Long: ");
		len = strlen(text);
		memset(text + len, 'a', 50 * 1024);
		len += 50 * 1024;
		strcpy(text + len, "\r\nContent-Length: 2\r\n\r\nok");
		s = read_in_pieces(text, strlen(text), 4096, false, &p, &b, &left);
		check(s == HTTP_PARSE_DONE && b.len == 2, "a 50 KB header line is read (libcurl allows 100 KB)");

		strcpy(text, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		len = strlen(text);
		for (int i = 0; i < 70 * 1024; i++)
		{
			memcpy(text + len, "1\r\nx\r\n", 6);
			len += 6;
		}
		memcpy(text + len, "0\r\n\r\n", 5);
		len += 5;
		http_response_init(&p);
		memset(&big, 0, sizeof(big));
		big.limit = 0;			/* counted, not kept: see below */
		s = http_response_feed(&p, text, len, &used, count_only, &big);
		check(s == HTTP_PARSE_DONE && big.len == 70 * 1024,
			  "70 KB of body in 1-byte chunks is read (chunk sizes do not count as headers)");
	}

	/* Headers that keep coming: refused past HTTP_HEAD_BYTES_MAX in all. */
	{
		static char text[HTTP_HEAD_BYTES_MAX + 4096];
		size_t		len;
		HttpParseState s;

		strcpy(text, "HTTP/1.1 200 OK\r\n");
		len = strlen(text);
		while (len + 20 < sizeof(text) - 8)
		{
			memcpy(text + len, "X-Filler: 0123456\r\n", 19);
			len += 19;
		}
		text[len] = '\0';
		s = read_in_pieces(text, len, 4096, false, &p, &b, &left);
		check(s == HTTP_PARSE_FAILED && p.head_bytes <= HTTP_HEAD_BYTES_MAX,
			  "headers past the limit in all fail, however short each line");
	}

	/* Interim answers that keep coming: refused past HTTP_INTERIM_MAX. */
	{
		char		text[4096] = "";
		HttpParseState s;

		for (int i = 0; i <= HTTP_INTERIM_MAX; i++)
			strcat(text, "HTTP/1.1 100 Continue\r\n\r\n");
		strcat(text, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		s = read_in_pieces(text, strlen(text), 13, false, &p, &b, &left);
		check(s == HTTP_PARSE_FAILED, "more interim (1xx) answers than the limit fail");
	}

	/* The request id, cut to its room. */
	{
		const char *text = "HTTP/1.1 200 OK\r\nX-Amzn-RequestId:  ABC123  \r\nContent-Length: 0\r\n\r\n";
		HttpParseState s = read_in_pieces(text, strlen(text), 7, false, &p, &b, &left);

		check(s == HTTP_PARSE_DONE && strcmp(p.request_id, "ABC123") == 0,
			  "x-amzn-RequestId is read, trimmed, whatever its case");
	}

	/* A sink that refuses (too large) fails the parse, and says so. */
	{
		const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
		HttpParseState s;
		size_t		used = 0;

		http_response_init(&p);
		memset(&b, 0, sizeof(b));
		b.limit = 4;
		s = http_response_feed(&p, text, strlen(text), &used, take, &b);
		check(s == HTTP_PARSE_FAILED && p.sink_refused && !p.keep_alive,
			  "a body the sink refuses fails the parse, the connection not kept");
	}

	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
