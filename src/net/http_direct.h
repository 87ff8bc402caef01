/*
 * http_direct.h - DynamoDB requests written straight onto a kept-alive
 * connection of their own (see http_direct.c), the transport's fast path.
 */
#ifndef DYNAMO_ATOMIC_HTTP_DIRECT_H
#define DYNAMO_ATOMIC_HTTP_DIRECT_H

#include "http.h"
#include "http_response.h"

/* Whether req may go direct: see http_direct.c for what keeps it on libcurl's transfers. */
extern bool http_direct_usable(const HttpRequest *req);

/*
 * Sends req and reads its answer, its body into sink.  Fills resp's
 * outcome, status, request_id, error, request_sent and resent exactly as
 * a libcurl transfer would; *too_large when the sink refused for size.
 * Returns the connections it opened.  Raises only for an interrupt
 * (CHECK_FOR_INTERRUPTS) or out of memory, the connection then closed.
 */
extern long http_direct_exchange(const HttpRequest *req, HttpResponse *resp, HttpBodySink sink, void *sink_arg);

/* From http.c, for the direct connection too: what every connection of the transport is set up with. */
extern void http_set_connection_options(CURL *h);
extern HttpOutcome http_outcome_of(CURLcode rc, bool request_sent, bool too_large);

#endif
