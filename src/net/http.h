/*
 * http.h - the HTTP transport: one kept-alive libcurl connection per backend.
 *
 * http_perform() never raises an error for a network problem: it reports
 * the outcome, and the protocol layer decides on retries and SQLSTATEs.
 * It does raise for query cancel, statement_timeout and backend
 * termination (through CHECK_FOR_INTERRUPTS, so the real SQLSTATE is
 * reported) and for out-of-memory.
 */
#ifndef DYNAMO_ATOMIC_HTTP_H
#define DYNAMO_ATOMIC_HTTP_H

#include <curl/curl.h>

/* Who asks, in every request: the library's version, from the control file (the Makefile passes it). */
#define HTTP_USER_AGENT "dynamo_atomic/" DYNAMO_ATOMIC_VERSION

/* The error of a request whose connection died unanswered and that must not be sent again. */
#define HTTP_CLOSED_UNANSWERED "the connection closed with no answer"

/* A response larger than this is refused (DynamoDB's largest is 16 MB). */
#define HTTP_MAX_RESPONSE_BYTES (32 * 1024 * 1024)

typedef struct HttpHeader
{
	const char *name;
	const char *value;
} HttpHeader;

typedef struct HttpRequest
{
	const char *method;			/* "GET", "PUT" or "POST" */
	const char *url;
	const HttpHeader *headers;
	int			n_headers;
	const char *body;			/* NULL for none */
	size_t		body_len;
	int			connect_timeout_ms;
	int			timeout_ms;		/* whole request, connection included */
	bool		bypass_proxy;	/* link-local metadata services */
	bool		direct_ok;		/* a DynamoDB request: may take the direct path (http_direct.c) */

	/*
	 * May the body be sent again on a new connection within this call?
	 * libcurl silently resends a request whose kept-alive connection died
	 * before any answer came back; when the body had already left, the
	 * server may have applied it.  false makes that resend fail instead
	 * (the outcome is then unknown), for writes that must not be applied
	 * twice.
	 */
	bool		resend_safe;
} HttpRequest;

typedef enum HttpOutcome
{
	HTTP_DONE,					/* a response arrived, whatever its status */
	HTTP_CONNECT_FAILED,		/* refused, unreachable, unresolved, or the
								 * connect timeout passed */
	HTTP_TIMED_OUT,				/* connected, but no full response in time */
	HTTP_NETWORK_FAILED,		/* the connection broke during the exchange */
	HTTP_TLS_FAILED,			/* certificate not trusted: retrying is
								 * pointless */
	HTTP_BAD_URL,				/* not a URL libcurl can use */
	HTTP_TOO_LARGE				/* response over HTTP_MAX_RESPONSE_BYTES */
} HttpOutcome;

typedef struct HttpResponse
{
	HttpOutcome outcome;
	long		status;			/* HTTP status when outcome is HTTP_DONE */
	const char *body;			/* NUL-terminated; valid until the next call */
	size_t		body_len;
	char		request_id[72]; /* x-amzn-RequestId, "" if none */
	char		error[CURL_ERROR_SIZE]; /* why, when outcome != HTTP_DONE */
	double		seconds;		/* wall time of the exchange */

	/*
	 * The request reached a connection and may have been received: false
	 * only when nothing was sent (no connection, DNS or TLS failure).
	 */
	bool		request_sent;
	/* libcurl sent the whole body again on a new connection (see above). */
	bool		resent;
} HttpResponse;

extern void http_perform(const HttpRequest *req, HttpResponse *resp);

/* Wipes the last response body (it held credentials) at once. */
extern void http_wipe_response(void);

/*
 * Called at least every 100 ms while a transfer waits (and every 50 ms in
 * a retry's backoff, through http_run_wait_hook), after the
 * interrupt check (NULL: none): the lock workers watch leases meanwhile.
 * It must not raise an ERROR, and must not send a request (http_perform).
 */
typedef void (*HttpWaitHook) (void);
extern void http_set_wait_hook(HttpWaitHook hook);
/* For other waits of a request (a retry's backoff). */
extern void http_run_wait_hook(void);

/* A short name for an outcome, for messages. */
extern const char *http_outcome_name(HttpOutcome outcome);

#endif
