/*
 * http_direct.c - DynamoDB requests written straight onto a kept-alive
 * connection of their own (see http_direct.h).
 *
 * A libcurl transfer costs more CPU per call than the request itself: the
 * URL parsed again, the request's headers generated, the proxy variables
 * read, the transfer's state machine stepped through four polls.  Here
 * libcurl only makes the connection (CONNECT_ONLY: the TCP connect, TLS
 * and its certificate checks, in a multi handle of its own so that the
 * wait stays interruptible) and then carries bytes (curl_easy_send and
 * curl_easy_recv, TLS included).  The request is written here in one
 * piece and the answer read by http_response.c: one send, one poll, one
 * receive for a small answer.
 *
 * What a libcurl transfer means, this means too:
 *  - a kept connection carries the next request only while it is quiet
 *    (no close and no stray bytes pending) and was used in the last
 *    MAX_IDLE_S seconds;
 *  - a reused connection that dies before the first byte of an answer is
 *    the request sent once more on a new connection when the request
 *    allows (resend_safe), and otherwise HTTP_CLOSED_UNANSWERED, with the
 *    request counted as sent: it may have been applied;
 *  - the connect has connect_timeout_ms, the whole exchange timeout_ms;
 *  - every wait is at most WAIT_SLICE_MS, then CHECK_FOR_INTERRUPTS and
 *    the wait hook, and an error on the way closes the connection.
 *
 * Left to libcurl's transfers: everything but DynamoDB's own POSTs (the
 * credential services), any proxy in the environment (libcurl's rules
 * for it are its own), a header that is not one line, and all of it
 * while dynamo_atomic.direct_requests is off.
 */
#include "postgres.h"

#include <poll.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"

#include "http_direct.h"
#include "settings.h"

/* libcurl's own limit on a kept connection's idle time (CURLOPT_MAXAGE_CONN). */
#define MAX_IDLE_S 118
#define WAIT_SLICE_MS 100
#define RECEIVE_BYTES 16384
#define TEXT_KEEP_BYTES (64 * 1024)	/* larger request buffers are freed after use */

static struct
{
	CURLM	   *multi;			/* holds easy while the connection lives */
	CURL	   *easy;
	curl_socket_t sock;
	char	   *url;			/* malloc'd: what it was opened for */
	char	   *target;			/* malloc'd: the request target, the URL's path */
	TimestampTz last_used;

	/*
	 * An exchange is under way.  A FATAL error (pg_terminate_backend) in the
	 * middle of one exits without unwinding, and the releases sent as the
	 * backend exits come here: the connection may still owe the abandoned
	 * request's answer, which would be read as theirs.  Still set at the
	 * start of an exchange, it closes the connection first.
	 */
	bool		busy;
}			conn = {NULL, NULL, CURL_SOCKET_BAD, NULL, NULL, 0, false};

typedef enum Exchange
{
	EXCHANGE_ANSWERED,
	EXCHANGE_DIED_UNANSWERED,	/* the connection ended before any byte of an answer */
	EXCHANGE_FAILED,			/* broken after some of it, or unreadable */
	EXCHANGE_TIMED_OUT
} Exchange;

static void
close_connection(void)
{
	if (conn.easy)
	{
		curl_multi_remove_handle(conn.multi, conn.easy);
		curl_easy_cleanup(conn.easy);
	}
	conn.easy = NULL;
	conn.sock = CURL_SOCKET_BAD;
	free(conn.url);
	conn.url = NULL;
	free(conn.target);
	conn.target = NULL;
}

static void
release_at_exit(int code, Datum arg)
{
	close_connection();
	if (conn.multi)
		curl_multi_cleanup(conn.multi);
	conn.multi = NULL;
}

/* Any proxy variable libcurl would read (HTTP_PROXY too, which it ignores): set, and the transfers keep it all. */
static bool
proxy_in_environment(void)
{
	static int	known = -1;

	if (known < 0)
	{
		const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
		"all_proxy", "ALL_PROXY"};

		known = 0;
		for (int i = 0; i < lengthof(names); i++)
		{
			const char *v = getenv(names[i]);

			if (v && v[0])
				known = 1;
		}
	}
	return known == 1;
}

bool
http_direct_usable(const HttpRequest *req)
{
	if (!dynamo_direct_requests || !req->direct_ok || strcmp(req->method, "POST") != 0 ||
		proxy_in_environment())
		return false;
	if (pg_strncasecmp(req->url, "http://", 7) != 0 && pg_strncasecmp(req->url, "https://", 8) != 0)
		return false;
	for (int i = 0; i < req->n_headers; i++)
		if (strpbrk(req->headers[i].name, "\r\n:") || strpbrk(req->headers[i].value, "\r\n"))
			return false;
	return true;
}

/* The path (and query) of url, malloc'd; NULL if libcurl cannot read it. */
static char *
request_target(const char *url)
{
	CURLU	   *u = curl_url();
	char	   *path = NULL;
	char	   *query = NULL;
	char	   *target = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
	{
		size_t		size;

		(void) curl_url_get(u, CURLUPART_QUERY, &query, 0);
		size = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
		target = malloc(size);
		if (target)
			snprintf(target, size, "%s%s%s", path, query ? "?" : "", query ? query : "");
	}
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return target;
}

/* Milliseconds left until deadline (0 when past). */
static long
ms_until(TimestampTz deadline)
{
	return (long) Max((deadline - GetCurrentTimestamp()) / 1000, 0);
}

/* Opens a connection to req's URL, through to its TLS, by deadline. */
static CURLcode
open_connection(const HttpRequest *req, TimestampTz deadline, char *errbuf)
{
	CURLcode	result = CURLE_OK;
	bool		done = false;

	close_connection();
	if (conn.multi == NULL)
	{
		conn.multi = curl_multi_init();
		if (conn.multi == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not initialize libcurl")));
		on_proc_exit(release_at_exit, 0);
	}
	conn.easy = curl_easy_init();
	if (conn.easy == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not initialize libcurl")));
	http_set_connection_options(conn.easy);
	curl_easy_setopt(conn.easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(conn.easy, CURLOPT_URL, req->url);
	curl_easy_setopt(conn.easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(conn.easy, CURLOPT_CONNECTTIMEOUT_MS, (long) req->connect_timeout_ms);
	curl_easy_setopt(conn.easy, CURLOPT_TIMEOUT_MS, Max(ms_until(deadline), 1L));
	curl_easy_setopt(conn.easy, CURLOPT_ERRORBUFFER, errbuf);
	if (curl_multi_add_handle(conn.multi, conn.easy) != CURLM_OK)
	{
		curl_easy_cleanup(conn.easy);
		conn.easy = NULL;
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not start an HTTP transfer")));
	}
	while (!done)
	{
		int			running = 0;
		long		timeout_ms = -1;
		int			queued;
		CURLMsg    *msg;

		if (curl_multi_perform(conn.multi, &running) != CURLM_OK)
		{
			result = CURLE_COULDNT_CONNECT;
			break;
		}
		while ((msg = curl_multi_info_read(conn.multi, &queued)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == conn.easy)
			{
				result = msg->data.result;
				done = true;
			}
		if (done)
			break;
		if (running == 0)
		{
			result = CURLE_COULDNT_CONNECT;
			break;
		}
		curl_multi_timeout(conn.multi, &timeout_ms);
		if (timeout_ms < 0 || timeout_ms > WAIT_SLICE_MS)
			timeout_ms = WAIT_SLICE_MS;
		if (timeout_ms > 0)
			curl_multi_wait(conn.multi, NULL, 0, (int) timeout_ms, NULL);
		CHECK_FOR_INTERRUPTS();
		http_run_wait_hook();
	}
	curl_easy_setopt(conn.easy, CURLOPT_ERRORBUFFER, (char *) NULL);
	if (result == CURLE_OK &&
		(curl_easy_getinfo(conn.easy, CURLINFO_ACTIVESOCKET, &conn.sock) != CURLE_OK ||
		 conn.sock == CURL_SOCKET_BAD))
		result = CURLE_COULDNT_CONNECT;
	if (result == CURLE_OK)
	{
		conn.url = strdup(req->url);
		conn.target = request_target(req->url);
		if (conn.url == NULL || conn.target == NULL)
		{
			close_connection();
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		}
	}
	else
		close_connection();
	return result;
}

/*
 * May the kept connection carry req?  Only to the same URL, used lately,
 * and quiet: a peer's close, or bytes nobody asked for, make it unfit.
 * Asked of libcurl (a receive that must say CURLE_AGAIN), not of the
 * socket: a close or bytes may already wait in libcurl's or TLS's
 * buffers, and under TLS a readable socket may hold only the server's
 * session tickets, which libcurl reads.
 */
static bool
connection_reusable(const HttpRequest *req)
{
	char		byte;
	size_t		n = 0;

	if (conn.easy == NULL || strcmp(conn.url, req->url) != 0 ||
		GetCurrentTimestamp() - conn.last_used >= (TimestampTz) MAX_IDLE_S * USECS_PER_SEC)
		return false;
	return curl_easy_recv(conn.easy, &byte, 1, &n) == CURLE_AGAIN;
}

/* Waits until the socket is ready for events (or fails), interruptibly; false at the deadline. */
static bool
wait_socket(short events, TimestampTz deadline)
{
	for (;;)
	{
		long		left = ms_until(deadline);
		struct pollfd pfd;
		int			rc;

		if (left <= 0)
			return false;
		pfd.fd = conn.sock;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int) Min(left, WAIT_SLICE_MS));
		CHECK_FOR_INTERRUPTS();
		http_run_wait_hook();
		if (rc > 0)
			return true;		/* ready, closed or failed: the next send or receive says which */
	}
}

/* Wipes and frees the request buffer (none left: an allocation that fails next leaves nothing dangling). */
static void
release_text(StringInfo text)
{
	if (text->data)
	{
		explicit_bzero(text->data, text->maxlen);
		pfree(text->data);
	}
	text->data = NULL;
	text->maxlen = 0;
	text->len = 0;
}

/*
 * The request, in one piece: the request line, the headers, the body.  It
 * holds the session token and the signature: written into one buffer
 * kept for the backend, sized before writing (a buffer that grew would
 * leave a copy behind), and wiped after each sending.
 */
static void
write_request(const HttpRequest *req, StringInfo text)
{
	size_t		need = strlen(conn.target) + 256 + strlen(HTTP_USER_AGENT) + (req->body ? req->body_len : 0);

	for (int i = 0; i < req->n_headers; i++)
		need += strlen(req->headers[i].name) + strlen(req->headers[i].value) + 4;
	if (text->data == NULL || need >= (size_t) text->maxlen)
	{
		release_text(text);
		text->data = MemoryContextAlloc(TopMemoryContext, need + 1);
		text->maxlen = (int) need + 1;
	}
	resetStringInfo(text);
	appendStringInfo(text, "POST %s HTTP/1.1\r\n", conn.target);
	for (int i = 0; i < req->n_headers; i++)
		appendStringInfo(text, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
	appendStringInfo(text, "User-Agent: " HTTP_USER_AGENT "\r\nContent-Length: %zu\r\n\r\n",
					 req->body ? req->body_len : 0);
	if (req->body)
		appendBinaryStringInfo(text, req->body, (int) req->body_len);
}

/* One sending of text and the reading of its answer into p, over the open connection. */
static Exchange
exchange_once(const char *text, size_t len, TimestampTz deadline, HttpResponseParser *p,
			  HttpBodySink sink, void *sink_arg, size_t *received)
{
	size_t		sent = 0;
	char		buf[RECEIVE_BYTES];

	while (sent < len)
	{
		size_t		n = 0;
		CURLcode	rc = curl_easy_send(conn.easy, text + sent, len - sent, &n);

		if (rc == CURLE_AGAIN)
		{
			if (!wait_socket(POLLOUT, deadline))
				return EXCHANGE_TIMED_OUT;
			continue;
		}
		if (rc != CURLE_OK)
			return EXCHANGE_DIED_UNANSWERED;
		sent += n;
	}
	for (;;)
	{
		size_t		n = 0;
		size_t		used = 0;
		HttpParseState state;
		CURLcode	rc = curl_easy_recv(conn.easy, buf, sizeof(buf), &n);

		if (rc == CURLE_AGAIN)
		{
			if (!wait_socket(POLLIN, deadline))
				return EXCHANGE_TIMED_OUT;
			continue;
		}
		if (rc != CURLE_OK || n == 0)
		{
			/* The peer closed (n == 0), or the connection broke. */
			if (*received == 0)
				return EXCHANGE_DIED_UNANSWERED;
			if (rc == CURLE_OK && http_response_closed(p) == HTTP_PARSE_DONE)
				return EXCHANGE_ANSWERED;
			return EXCHANGE_FAILED;
		}
		*received += n;
		state = http_response_feed(p, buf, n, &used, sink, sink_arg);
		/* The answer may hold what an error echoes of the request (AWS's messages can). */
		explicit_bzero(buf, n);
		if (state == HTTP_PARSE_DONE)
		{
			if (used < n)
				p->keep_alive = false;	/* bytes after the answer: the connection is not in step */
			return EXCHANGE_ANSWERED;
		}
		if (state == HTTP_PARSE_FAILED)
			return EXCHANGE_FAILED;
		/* An answer that keeps coming is bounded too: by the deadline, and by a cancel. */
		CHECK_FOR_INTERRUPTS();
		http_run_wait_hook();
		if (ms_until(deadline) == 0)
			return EXCHANGE_TIMED_OUT;
	}
}

static void
fail_with(HttpResponse *resp, HttpOutcome outcome, const char *error)
{
	resp->outcome = outcome;
	strlcpy(resp->error, error, sizeof(resp->error));
}

/* The exchange's sendings (two when the first died unanswered and may be resent); returns connections opened. */
static long
run_exchange(const HttpRequest *req, HttpResponse *resp, HttpBodySink sink, void *sink_arg,
			 HttpResponseParser *p, StringInfo text)
{
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz deadline = start + (TimestampTz) req->timeout_ms * 1000;
	long		opened = 0;

	for (int sending = 0;; sending++)
	{
		bool		reused = connection_reusable(req);
		size_t		received = 0;
		Exchange	result;

		if (!reused)
		{
			CURLcode	rc = open_connection(req, deadline, resp->error);

			if (rc != CURLE_OK)
			{
				resp->outcome = http_outcome_of(rc, sending > 0, false);
				if (resp->error[0] == '\0')
					strlcpy(resp->error, curl_easy_strerror(rc), sizeof(resp->error));
				return opened;
			}
			opened++;
		}
		if (sending > 0)
			resp->resent = true;
		resp->request_sent = true;
		write_request(req, text);
		http_response_init(p);
		result = exchange_once(text->data, text->len, deadline, p, sink, sink_arg, &received);
		/* It holds the session token; the rest of the buffer was wiped before. */
		explicit_bzero(text->data, text->len + 1);
		switch (result)
		{
			case EXCHANGE_ANSWERED:
				resp->outcome = HTTP_DONE;
				resp->status = p->status;
				strlcpy(resp->request_id, p->request_id, sizeof(resp->request_id));
				conn.last_used = GetCurrentTimestamp();
				if (!p->keep_alive)
					close_connection();
				return opened;
			case EXCHANGE_DIED_UNANSWERED:
				close_connection();
				if (!reused || sending > 0)
				{
					fail_with(resp, HTTP_NETWORK_FAILED, "Empty reply from server");
					return opened;
				}
				if (!req->resend_safe)
				{
					fail_with(resp, HTTP_NETWORK_FAILED, HTTP_CLOSED_UNANSWERED);
					return opened;
				}
				continue;		/* once more, on a new connection, as libcurl would */
			case EXCHANGE_FAILED:
				close_connection();
				/* What was read of it still says who answered (AWS support asks for the request id). */
				resp->status = p->status;
				strlcpy(resp->request_id, p->request_id, sizeof(resp->request_id));
				fail_with(resp, HTTP_NETWORK_FAILED, p->failure ? p->failure : "Recv failure: Connection reset by peer");
				return opened;
			case EXCHANGE_TIMED_OUT:
				close_connection();
				snprintf(resp->error, sizeof(resp->error),
						 "Operation timed out after %ld milliseconds with %zu bytes received",
						 (long) ((GetCurrentTimestamp() - start) / 1000), received);
				resp->outcome = HTTP_TIMED_OUT;
				return opened;
		}
	}
}

long
http_direct_exchange(const HttpRequest *req, HttpResponse *resp, HttpBodySink sink, void *sink_arg)
{
	/* One exchange at a time in a backend (http.c's body is one too): kept, not allocated per call. */
	static HttpResponseParser parser;
	static StringInfoData text;
	HttpResponseParser *p = &parser;
	long		opened = 0;

	/* Only the exit after a FATAL comes back here mid-exchange (a wait hook must not send: http.h). */
	if (conn.busy)
		close_connection();
	conn.busy = true;
	PG_TRY();
	{
		opened = run_exchange(req, resp, sink, sink_arg, p, &text);
	}
	PG_CATCH();
	{
		/* Interrupted mid-exchange: what is left on the connection is not known. */
		close_connection();
		conn.busy = false;
		if (text.data)
			explicit_bzero(text.data, text.maxlen);
		PG_RE_THROW();
	}
	PG_END_TRY();
	conn.busy = false;
	/* A large request's buffer is not kept (a hot counter's is under a kilobyte). */
	if (text.maxlen > TEXT_KEEP_BYTES)
		release_text(&text);
	return opened;
}
