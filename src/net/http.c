/*
 * http.c - the HTTP transport (see http.h).
 *
 * One multi handle and one easy handle live for the whole backend: the
 * multi handle's connection pool keeps the connection to DynamoDB open
 * between calls, so a call costs one round trip and no handshake.
 *
 * The transfer is driven by our own loop rather than curl_easy_perform so
 * that the backend stays responsive: each wait is at most
 * INTERRUPT_POLL_MS (signals cut it short), and after it
 * CHECK_FOR_INTERRUPTS() raises the real error for a cancel, a
 * statement_timeout or a termination.  If it does, the PG_CATCH detaches
 * the easy handle, which aborts the transfer and closes its connection.
 *
 * The libcurl callbacks only copy bytes and set flags: they must not
 * ereport, since a longjmp through libcurl would corrupt it.
 *
 * libcurl sends a request a second time on its own, on a new connection,
 * when a reused connection dies before any answer.  It calls the
 * pre-request callback before every sending, so that callback counts them
 * and refuses a second one for a write that must not be applied twice.
 * The body goes in as CURLOPT_POSTFIELDS: libcurl then sends a small
 * request in one piece with its headers (one send, one segment), where a
 * read callback costs a second send for the body.
 *
 * Response bodies can hold credentials (metadata services), and header
 * lines hold the session token: both are wiped before their memory is
 * reused or freed.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "config_check.h"
#include "pg_compat.h"
#include "http.h"
#include "http_direct.h"
#include "stats.h"
#include "wait_events.h"

#define INTERRUPT_POLL_MS 100
#define BODY_KEEP_BYTES (1024 * 1024)	/* larger buffers are freed after use */

static CURLM *multi_handle = NULL;
static CURL *easy_handle = NULL;

/*
 * The easy handle is in the multi handle during a transfer.  A FATAL error
 * in the middle of one (pg_terminate_backend) skips the PG_FINALLY that
 * detaches it, and the releases sent as the backend exits would all fail to
 * start: the next transfer detaches it first.
 */
static bool easy_attached = false;
static HttpWaitHook wait_hook = NULL;

/* The response body, filled by write_body(); reused between calls. */
static struct
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		too_large;
	bool		out_of_memory;
}			body;

/* State the callbacks share for the current transfer. */
static struct
{
	bool		connected;
	bool		resent;			/* libcurl sent the request a second time */
	bool		refused_resend; /* ...and we refused */
	char	   *request_id;		/* points into the caller's HttpResponse */
	bool		resend_safe;
}			transfer;

static void
wipe_body(void)
{
	if (body.data)
		explicit_bzero(body.data, body.len);
	body.len = 0;
}

static void
free_body(void)
{
	if (body.data)
		explicit_bzero(body.data, body.cap);
	free(body.data);
	body.data = NULL;
	body.len = 0;
	body.cap = 0;
}

static void set_constant_options(CURL *h);

static void
release_handles(int code, Datum arg)
{
	if (easy_handle)
		curl_easy_cleanup(easy_handle);
	if (multi_handle)
		curl_multi_cleanup(multi_handle);
	easy_handle = NULL;
	multi_handle = NULL;
	free_body();
}

static void
ensure_handles(void)
{
	if (easy_handle != NULL)
		return;
	multi_handle = curl_multi_init();
	easy_handle = curl_easy_init();
	if (multi_handle == NULL || easy_handle == NULL)
	{
		release_handles(0, 0);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize libcurl")));
	}
	set_constant_options(easy_handle);
	on_proc_exit(release_handles, 0);
}

/* Replaces the body buffer by grown (holding the same bytes), wiping the old. */
static void
replace_body_buffer(char *grown, size_t cap)
{
	size_t		len = body.len;

	free_body();
	body.data = grown;
	body.len = len;
	body.cap = cap;
}

static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t		n = size * nmemb;

	if (n > HTTP_MAX_RESPONSE_BYTES - body.len)
	{
		body.too_large = true;
		return 0;
	}
	if (body.len + n + 1 > body.cap)
	{
		size_t		cap = body.cap ? body.cap : 16384;
		char	   *grown;

		while (cap < body.len + n + 1)
			cap *= 2;
		/* Not realloc: the old block may hold a secret and must be wiped. */
		grown = malloc(cap);
		if (grown == NULL)
		{
			body.out_of_memory = true;
			return 0;
		}
		if (body.data)
			memcpy(grown, body.data, body.len);
		replace_body_buffer(grown, cap);
	}
	memcpy(body.data + body.len, ptr, n);
	body.len += n;
	body.data[body.len] = '\0';
	return n;
}

/* Captures x-amzn-RequestId, which AWS support asks for. */
static size_t
read_header(char *buffer, size_t size, size_t nitems, void *userdata)
{
	static const char name[] = "x-amzn-requestid:";
	size_t		n = size * nitems;

	if (n > sizeof(name) - 1 && pg_strncasecmp(buffer, name, sizeof(name) - 1) == 0)
	{
		const char *v = buffer + sizeof(name) - 1;
		size_t		len = n - (sizeof(name) - 1);
		size_t		out = 0;

		while (len > 0 && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		for (; out < len && out < 71; out++)
			transfer.request_id[out] = v[out];
		transfer.request_id[out] = '\0';
	}
	return n;
}

/*
 * Called before each sending of the request, once its connection is up
 * (new or reused).  A second call within one transfer is libcurl resending
 * on a new connection after the first one died unanswered: the first
 * sending may have been applied.  Refusing makes the transfer fail with
 * CURLE_ABORTED_BY_CALLBACK instead.
 */
static int
before_sending(void *clientp, char *primary_ip, char *local_ip,
			   int primary_port, int local_port)
{
	if (transfer.connected)
	{
		if (!transfer.resend_safe)
		{
			transfer.refused_resend = true;
			return CURL_PREREQFUNC_ABORT;
		}
		transfer.resent = true;
	}
	transfer.connected = true;
	return CURL_PREREQFUNC_OK;
}

/*
 * What every connection of the transport is set up with, the direct
 * one's too (http_direct.c).  The environment's CA bundle is the
 * server's, fixed at start.
 */
void
http_set_connection_options(CURL *h)
{
	const char *ca_bundle = getenv("AWS_CA_BUNDLE");

	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);	/* PostgreSQL owns SIGALRM */
	/*
	 * Do not wait for a DNS lookup thread when a transfer is abandoned (a
	 * cancel, a timeout): a stalled resolver would hold the backend.
	 */
	curl_easy_setopt(h, CURLOPT_QUICK_EXIT, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* HTTP/1.1, and only it offered in TLS's ALPN: the direct requests are written as HTTP/1.1. */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_bundle && ca_bundle[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle);
}

/*
 * What every transfer shares, set once on the new handle: setting them
 * again after a curl_easy_reset cost each call more than its own options.
 */
static void
set_constant_options(CURL *h)
{
	http_set_connection_options(h);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, before_sending);
}

/*
 * The request's own options.  Each one a request may set is set by every
 * request (to its default where unused): nothing carries over from the
 * one before.  The error buffer and the headers are the caller's, and are
 * taken back when the transfer ends (http_perform).
 */
static void
set_request_options(const HttpRequest *req, struct curl_slist *headers, char *errbuf)
{
	CURL	   *h = easy_handle;

	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long) req->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_NOPROXY, req->bypass_proxy ? "*" : (const char *) NULL);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, (const char *) NULL);

	if (strcmp(req->method, "GET") == 0)
	{
		/* No body from the request before (setting POSTFIELDS makes it a POST: GET last). */
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) -1);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *) NULL);
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	else
	{
		/* Not copied: req->body outlives the transfer. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (req->body ? req->body_len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

/*
 * Appends the request's headers to *list.  *list is the caller's, freed in
 * its PG_FINALLY, so a failure part-way leaks nothing.
 */
static void
build_headers(const HttpRequest *req, struct curl_slist *volatile *list)
{
	/* No "Expect: 100-continue": it would cost a round trip on large bodies. */
	for (int i = -1; i < req->n_headers; i++)
	{
		char	   *line = i < 0 ? pstrdup("Expect:") :
			psprintf("%s: %s", req->headers[i].name, req->headers[i].value);
		struct curl_slist *grown = curl_slist_append(*list, line);

		/* Lines hold the session token: wipe them (and libcurl's copies later). */
		explicit_bzero(line, strlen(line));
		pfree(line);
		if (grown == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		*list = grown;
	}
}

static void
free_headers(struct curl_slist *list)
{
	for (struct curl_slist *p = list; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(list);
}

/* Runs the transfer to its end; raises only through CHECK_FOR_INTERRUPTS. */
static CURLcode
drive_transfer(void)
{
	int			running = 1;
	CURLMsg    *msg;
	int			queued;

	for (;;)
	{
		long		timeout_ms = -1;
		CURLMcode	mc = curl_multi_perform(multi_handle, &running);

		if (mc != CURLM_OK)
			return CURLE_RECV_ERROR;
		if (running == 0)
			break;
		curl_multi_timeout(multi_handle, &timeout_ms);
		if (timeout_ms < 0 || timeout_ms > INTERRUPT_POLL_MS)
			timeout_ms = INTERRUPT_POLL_MS;
		if (timeout_ms > 0)
			curl_multi_wait(multi_handle, NULL, 0, (int) timeout_ms, NULL);
		CHECK_FOR_INTERRUPTS();
		if (wait_hook)
			wait_hook();
	}
	while ((msg = curl_multi_info_read(multi_handle, &queued)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy_handle)
			return msg->data.result;
	return CURLE_RECV_ERROR;
}

void
http_set_wait_hook(HttpWaitHook hook)
{
	wait_hook = hook;
}

void
http_run_wait_hook(void)
{
	if (wait_hook)
		wait_hook();
}

HttpOutcome
http_outcome_of(CURLcode rc, bool request_sent, bool too_large)
{
	switch (rc)
	{
		case CURLE_OK:
			return HTTP_DONE;
		case CURLE_OPERATION_TIMEDOUT:
			return request_sent ? HTTP_TIMED_OUT : HTTP_CONNECT_FAILED;
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_SSL_CONNECT_ERROR:
			return HTTP_CONNECT_FAILED;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			return HTTP_TLS_FAILED;
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
			return HTTP_BAD_URL;
		case CURLE_ABORTED_BY_CALLBACK:
			/* the resend we refused, after the first sending died unanswered */
			return HTTP_NETWORK_FAILED;
		case CURLE_WRITE_ERROR:
			if (too_large)
				return HTTP_TOO_LARGE;
			return HTTP_NETWORK_FAILED;
		default:
			return HTTP_NETWORK_FAILED;
	}
}

/* The direct exchange's body goes where libcurl's does. */
static bool
take_body(void *arg, const char *data, size_t len)
{
	return write_body((char *) data, 1, len, NULL) == len;
}

/* After a transfer, ended or abandoned: detached (which aborts an unfinished one), its headers freed. */
static void
detach_transfer(struct curl_slist *headers)
{
	/* A finished connection stays pooled. */
	curl_multi_remove_handle(multi_handle, easy_handle);
	easy_attached = false;
	curl_easy_setopt(easy_handle, CURLOPT_HTTPHEADER, (struct curl_slist *) NULL);
	/* The error buffer is the caller's: libcurl must not write it after this. */
	curl_easy_setopt(easy_handle, CURLOPT_ERRORBUFFER, (char *) NULL);
	free_headers(headers);
}

/* Runs a libcurl transfer of req, its error text into errbuf. */
static CURLcode
run_transfer(const HttpRequest *req, char *errbuf)
{
	struct curl_slist *volatile headers = NULL;
	CURLcode	rc;

	PG_TRY();
	{
		build_headers(req, &headers);
		set_request_options(req, headers, errbuf);
		if (curl_multi_add_handle(multi_handle, easy_handle) != CURLM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not start an HTTP transfer")));
		easy_attached = true;
		rc = drive_transfer();
	}
	PG_CATCH();
	{
		detach_transfer(headers);
		PG_RE_THROW();
	}
	PG_END_TRY();
	detach_transfer(headers);
	return rc;
}

/* The transfer through libcurl's machinery: anything the direct path does not take. */
static void
perform_transfer(const HttpRequest *req, HttpResponse *resp, long *new_connections)
{
	CURLcode	rc = run_transfer(req, resp->error);

	resp->outcome = http_outcome_of(rc, transfer.connected, body.too_large);
	curl_easy_getinfo(easy_handle, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(easy_handle, CURLINFO_NUM_CONNECTS, new_connections);
	resp->request_sent = transfer.connected;
	resp->resent = transfer.resent;
	if (transfer.refused_resend)
		strlcpy(resp->error, HTTP_CLOSED_UNANSWERED, sizeof(resp->error));
	else if (resp->outcome != HTTP_DONE && resp->error[0] == '\0')
		strlcpy(resp->error, curl_easy_strerror(rc), sizeof(resp->error));
}

void
http_perform(const HttpRequest *req, HttpResponse *resp)
{
	long		new_connections = 0;
	TimestampTz start;

	/* No request at all while a dynamo_atomic line is misspelt (credentials' too). */
	config_check_require_clean();
	ensure_handles();
	memset(resp, 0, sizeof(*resp));
	if (body.cap > BODY_KEEP_BYTES)
		free_body();
	wipe_body();
	body.too_large = false;
	body.out_of_memory = false;
	transfer.connected = false;
	transfer.resent = false;
	transfer.refused_resend = false;
	transfer.request_id = resp->request_id;
	transfer.resend_safe = req->resend_safe;

	CHECK_FOR_INTERRUPTS();
	if (easy_attached)
	{
		curl_multi_remove_handle(multi_handle, easy_handle);
		easy_attached = false;
	}
	start = GetCurrentTimestamp();
	pgstat_report_wait_start(dynamo_wait_event(compat_am_background_worker() ?
											   DYNAMO_WAIT_WORKER_REQUEST : DYNAMO_WAIT_REQUEST));
	PG_TRY();
	{
		if (http_direct_usable(req))
		{
			new_connections = http_direct_exchange(req, resp, take_body, NULL);
			if (resp->outcome != HTTP_DONE && body.too_large)
				resp->outcome = HTTP_TOO_LARGE;
		}
		else
			perform_transfer(req, resp, &new_connections);
	}
	PG_FINALLY();
	{
		pgstat_report_wait_end();
	}
	PG_END_TRY();

	if (body.out_of_memory)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	resp->seconds = (GetCurrentTimestamp() - start) / 1000000.0;
	resp->body = body.data ? body.data : "";
	resp->body_len = body.len;

	dynamo_backend_stats.http_requests++;
	dynamo_backend_stats.connections_opened += new_connections;
	dynamo_backend_stats.request_seconds += resp->seconds;
}

void
http_wipe_response(void)
{
	wipe_body();
}

const char *
http_outcome_name(HttpOutcome outcome)
{
	switch (outcome)
	{
		case HTTP_DONE:
			return "response received";
		case HTTP_CONNECT_FAILED:
			return "could not connect";
		case HTTP_TIMED_OUT:
			return "timed out";
		case HTTP_NETWORK_FAILED:
			return "connection failed";
		case HTTP_TLS_FAILED:
			return "TLS verification failed";
		case HTTP_BAD_URL:
			return "invalid URL";
		case HTTP_TOO_LARGE:
			return "response too large";
	}
	return "unknown";
}
