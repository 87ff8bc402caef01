/*
 * http_response.h - reads an HTTP/1.1 response as its bytes arrive, for
 * the direct exchange (http_direct.c): the status, the headers that say
 * where the body ends (Content-Length, chunked Transfer-Encoding, the
 * connection's close), x-amzn-RequestId, and the body, handed to a sink.
 *
 * Plain C with no PostgreSQL in it, so that the fuzzer runs it alone
 * (test/fuzz/fuzz_http_response.c): what arrives is the network's, and
 * any byte sequence must end in HTTP_PARSE_DONE or HTTP_PARSE_FAILED,
 * never past its buffers.
 */
#ifndef DYNAMO_ATOMIC_HTTP_RESPONSE_H
#define DYNAMO_ATOMIC_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A status, header or chunk-size line longer than this is refused (libcurl's limit too). */
#define HTTP_LINE_MAX (100 * 1024)
/* All of an answer's lines but its body's, interim answers and trailers included (libcurl's 300 KB). */
#define HTTP_HEAD_BYTES_MAX (300 * 1024)
/* Interim (1xx) answers before the real one. */
#define HTTP_INTERIM_MAX 10
#define HTTP_REQUEST_ID_MAX 71

typedef enum HttpParseState
{
	HTTP_PARSE_STATUS,
	HTTP_PARSE_HEADERS,
	HTTP_PARSE_BODY_LENGTH,		/* Content-Length bytes to go */
	HTTP_PARSE_CHUNK_SIZE,
	HTTP_PARSE_CHUNK_DATA,
	HTTP_PARSE_CHUNK_END,		/* the CRLF after a chunk's data */
	HTTP_PARSE_TRAILERS,
	HTTP_PARSE_BODY_UNTIL_CLOSE,	/* neither: the body ends with the connection */
	HTTP_PARSE_DONE,
	HTTP_PARSE_FAILED
} HttpParseState;

/* Takes body bytes; false refuses them (too large, no memory) and fails the parse. */
typedef bool (*HttpBodySink) (void *arg, const char *data, size_t len);

typedef struct HttpResponseParser
{
	HttpParseState state;
	int			status;
	bool		keep_alive;		/* the connection may carry the next request */
	bool		close_seen;		/* Connection: close, in this answer's headers */
	bool		chunked;
	bool		has_length;
	uint64_t	remaining;		/* of the Content-Length, or of the chunk */
	bool		sink_refused;
	const char *failure;		/* why it failed, a static string */
	char		request_id[HTTP_REQUEST_ID_MAX + 1];
	size_t		head_bytes;		/* line bytes read so far */
	int			interim;		/* 1xx answers read */
	size_t		line_len;
	char		line[HTTP_LINE_MAX];
} HttpResponseParser;

extern void http_response_init(HttpResponseParser *p);

/*
 * Reads len bytes and returns the state after them.  *used: how many it
 * took; fewer than len only once DONE (bytes after the response: the
 * caller closes the connection) or FAILED.
 */
extern HttpParseState http_response_feed(HttpResponseParser *p, const char *data, size_t len,
										 size_t *used, HttpBodySink sink, void *sink_arg);

/* The peer closed the connection: DONE when that ends the body, else FAILED. */
extern HttpParseState http_response_closed(HttpResponseParser *p);

#endif
