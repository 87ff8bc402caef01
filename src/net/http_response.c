/*
 * http_response.c - reads an HTTP/1.1 response as it arrives (see
 * http_response.h).
 *
 * Only what a DynamoDB answer needs, read strictly: a status line
 * "HTTP/1.x NNN ...", header lines, and a body delimited by chunks, by
 * Content-Length or by the connection's end.  Informational answers
 * (1xx) are skipped.  Anything else fails the parse, and the caller then
 * drops the connection: a response it cannot delimit leaves the next one
 * unreadable.
 */
#include <string.h>
#include <strings.h>

#include "http_response.h"

void
http_response_init(HttpResponseParser *p)
{
	memset(p, 0, offsetof(HttpResponseParser, line));
	p->state = HTTP_PARSE_STATUS;
}

static HttpParseState
fail(HttpResponseParser *p, const char *why)
{
	p->failure = why;
	p->keep_alive = false;
	return p->state = HTTP_PARSE_FAILED;
}

/* Non-negative decimal (base 10) or hexadecimal (base 16) digits, the whole of s; false if not or too large. */
static bool
parse_number(const char *s, size_t len, int base, uint64_t *out)
{
	uint64_t	v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];
		int			d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - (uint64_t) d) / (uint64_t) base)
			return false;
		v = v * (uint64_t) base + (uint64_t) d;
	}
	*out = v;
	return true;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*len)--;
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static bool
value_is(const char *v, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(v, word, len) == 0;
}

static HttpParseState
status_line(HttpResponseParser *p, const char *line, size_t len)
{
	uint64_t	status;

	/* "HTTP/1.1 200 OK": the version, one space, three digits, then a space or the end. */
	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || !parse_number(line + 9, 3, 10, &status) || (len > 12 && line[12] != ' ') ||
		status < 100)
		return fail(p, "the answer is not an HTTP/1.1 response");
	p->status = (int) status;
	p->keep_alive = line[7] == '1';	/* HTTP/1.0 closes unless it says otherwise */
	p->chunked = false;
	p->has_length = false;
	p->close_seen = false;
	p->request_id[0] = '\0';
	return p->state = HTTP_PARSE_HEADERS;
}

static HttpParseState
headers_end(HttpResponseParser *p)
{
	if (p->close_seen)
		p->keep_alive = false;
	/* 1xx: an interim answer; the real one follows on the same connection. */
	if (p->status < 200)
	{
		if (++p->interim > HTTP_INTERIM_MAX)
			return fail(p, "the answer has too many interim (1xx) answers before it");
		return p->state = HTTP_PARSE_STATUS;
	}
	if (p->status == 204 || p->status == 304)
		return p->state = HTTP_PARSE_DONE;
	if (p->chunked)
		return p->state = HTTP_PARSE_CHUNK_SIZE;
	if (p->has_length)
		return p->state = p->remaining == 0 ? HTTP_PARSE_DONE : HTTP_PARSE_BODY_LENGTH;
	p->keep_alive = false;
	return p->state = HTTP_PARSE_BODY_UNTIL_CLOSE;
}

static HttpParseState
header_line(HttpResponseParser *p, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	const char *name = line;
	size_t		name_len;
	const char *value;
	size_t		value_len;

	if (len == 0)
		return headers_end(p);
	/* A folded continuation or a line without a name: nothing this reads. */
	if (colon == NULL || line[0] == ' ' || line[0] == '\t')
		return p->state;
	name_len = (size_t) (colon - line);
	value = colon + 1;
	value_len = len - name_len - 1;
	trim(&value, &value_len);

	if (value_is(name, name_len, "Content-Length"))
	{
		uint64_t	n;

		if (!parse_number(value, value_len, 10, &n) || (p->has_length && n != p->remaining))
			return fail(p, "the answer's Content-Length is not a length");
		p->has_length = true;
		p->remaining = n;
	}
	else if (value_is(name, name_len, "Transfer-Encoding"))
	{
		if (!value_is(value, value_len, "chunked"))
			return fail(p, "the answer's Transfer-Encoding is not chunked");
		p->chunked = true;
	}
	else if (value_is(name, name_len, "Connection"))
	{
		/* A list of tokens ("TE, close"): close anywhere in it closes. */
		const char *end = value + value_len;
		const char *at = value;

		while (at < end)
		{
			const char *comma = memchr(at, ',', (size_t) (end - at));
			const char *token = at;
			size_t		token_len = (size_t) ((comma ? comma : end) - at);

			trim(&token, &token_len);
			if (value_is(token, token_len, "close"))
				p->close_seen = true;
			else if (value_is(token, token_len, "keep-alive"))
				p->keep_alive = true;
			at = comma ? comma + 1 : end;
		}
	}
	else if (value_is(name, name_len, "x-amzn-RequestId"))
	{
		size_t		n = value_len < HTTP_REQUEST_ID_MAX ? value_len : HTTP_REQUEST_ID_MAX;

		memcpy(p->request_id, value, n);
		p->request_id[n] = '\0';
	}
	return p->state;
}

static HttpParseState
chunk_size_line(HttpResponseParser *p, const char *line, size_t len)
{
	const char *end = memchr(line, ';', len);	/* chunk extensions: ignored */
	size_t		digits = end ? (size_t) (end - line) : len;

	trim(&line, &digits);
	if (!parse_number(line, digits, 16, &p->remaining))
		return fail(p, "the answer's chunk size is not a number");
	return p->state = p->remaining == 0 ? HTTP_PARSE_TRAILERS : HTTP_PARSE_CHUNK_DATA;
}

/* A complete line (without its CRLF) in the state that reads lines. */
static HttpParseState
line_done(HttpResponseParser *p, const char *line, size_t len)
{
	switch (p->state)
	{
		case HTTP_PARSE_STATUS:
			return status_line(p, line, len);
		case HTTP_PARSE_HEADERS:
			return header_line(p, line, len);
		case HTTP_PARSE_CHUNK_SIZE:
			return chunk_size_line(p, line, len);
		case HTTP_PARSE_CHUNK_END:
			if (len != 0)
				return fail(p, "the answer's chunk does not end where its size says");
			return p->state = HTTP_PARSE_CHUNK_SIZE;
		case HTTP_PARSE_TRAILERS:
			return len == 0 ? (p->state = HTTP_PARSE_DONE) : p->state;
		default:
			return fail(p, "internal: a line in a state without lines");
	}
}

static bool
reads_lines(HttpParseState s)
{
	return s == HTTP_PARSE_STATUS || s == HTTP_PARSE_HEADERS || s == HTTP_PARSE_CHUNK_SIZE ||
		s == HTTP_PARSE_CHUNK_END || s == HTTP_PARSE_TRAILERS;
}

static bool
counts_as_head(HttpParseState s)
{
	return s == HTTP_PARSE_STATUS || s == HTTP_PARSE_HEADERS || s == HTTP_PARSE_TRAILERS;
}

static bool
give_body(HttpResponseParser *p, const char *data, size_t len, HttpBodySink sink, void *sink_arg)
{
	if (len == 0 || sink(sink_arg, data, len))
		return true;
	p->sink_refused = true;
	fail(p, "the answer's body was refused");
	return false;
}

HttpParseState
http_response_feed(HttpResponseParser *p, const char *data, size_t len, size_t *used,
				   HttpBodySink sink, void *sink_arg)
{
	size_t		i = 0;

	while (i < len && p->state != HTTP_PARSE_DONE && p->state != HTTP_PARSE_FAILED)
	{
		if (reads_lines(p->state))
		{
			const char *nl = memchr(data + i, '\n', len - i);
			size_t		take = nl ? (size_t) (nl - (data + i)) : len - i;

			if (take > HTTP_LINE_MAX - 1 - p->line_len)
			{
				fail(p, "the answer has a line too long");
				break;
			}
			/* Status, header and trailer lines count; chunk sizes are bounded by the line limit alone. */
			if (counts_as_head(p->state))
			{
				if (take + 1 > HTTP_HEAD_BYTES_MAX - p->head_bytes)
				{
					fail(p, "the answer's headers are too long");
					break;
				}
				p->head_bytes += take + (nl ? 1 : 0);
			}
			memcpy(p->line + p->line_len, data + i, take);
			p->line_len += take;
			i += take;
			if (nl == NULL)
				break;
			i++;				/* the LF */
			{
				size_t		line_len = p->line_len;

				if (line_len > 0 && p->line[line_len - 1] == '\r')
					line_len--;
				p->line_len = 0;
				line_done(p, p->line, line_len);
			}
		}
		else
		{
			size_t		take = len - i;

			if (p->state != HTTP_PARSE_BODY_UNTIL_CLOSE && take > p->remaining)
				take = (size_t) p->remaining;
			if (!give_body(p, data + i, take, sink, sink_arg))
				break;
			i += take;
			if (p->state == HTTP_PARSE_BODY_UNTIL_CLOSE)
				continue;
			p->remaining -= take;
			if (p->remaining == 0)
				p->state = p->state == HTTP_PARSE_BODY_LENGTH ? HTTP_PARSE_DONE : HTTP_PARSE_CHUNK_END;
		}
	}
	*used = i;
	return p->state;
}

HttpParseState
http_response_closed(HttpResponseParser *p)
{
	p->keep_alive = false;
	if (p->state == HTTP_PARSE_BODY_UNTIL_CLOSE)
		return p->state = HTTP_PARSE_DONE;
	if (p->state == HTTP_PARSE_DONE || p->state == HTTP_PARSE_FAILED)
		return p->state;
	return fail(p, "the connection closed before the answer's end");
}
