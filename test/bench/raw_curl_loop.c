/*
 * raw_curl_loop.c - the baseline of the benchmarks in test/bench
 * (increments.sh, scale.sh, per_call.sh): the same signed UpdateItem ADD
 * the extension sends, in a plain libcurl loop over one kept-alive
 * connection, with no PostgreSQL around it.
 *
 * Usage: raw_curl_loop ENDPOINT TABLE COUNTER N
 * Prints "raw_libcurl N requests in MS ms, CPU_MS ms CPU" and exits
 * non-zero on any failure.  One request first opens the connection,
 * outside the measure (a backend's is open too when it is measured); the
 * CPU is the process's own (user + system) over the N requests.
 *
 * With RAW_LOOP_DIRECT=1 it sends the same request as the extension's
 * direct requests do (src/net/http_direct.c): libcurl makes the connection
 * (CONNECT_ONLY) and the loop writes each request with curl_easy_send and
 * reads its answer with curl_easy_recv (a Content-Length answer: DynamoDB
 * Local's), the floor of that transport.
 *
 * With RAW_LOOP_BARRIER=PATH in the environment it creates PATH.ready.PID
 * after that first request and then waits until PATH exists: several loops
 * then start their measures together (per_call.sh's 8 clients).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <poll.h>
#include <strings.h>

#include <curl/curl.h>

#include "sigv4.h"

static size_t
discard(char *p, size_t s, size_t n, void *u)
{
	return s * n;
}

static double
cpu_ms(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000.0 +
		(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000.0;
}

/* One request written onto the CONNECT_ONLY connection and its answer read; false on any failure. */
static bool
direct_request(CURL *h, const char *text, size_t len)
{
	curl_socket_t sock;
	char		answer[8192];
	size_t		got = 0;
	size_t		sent = 0;

	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK)
		return false;
	while (sent < len)
	{
		size_t		n = 0;
		CURLcode	rc = curl_easy_send(h, text + sent, len - sent, &n);
		struct pollfd pfd = {sock, POLLOUT, 0};

		if (rc == CURLE_AGAIN)
			poll(&pfd, 1, 1000);
		else if (rc != CURLE_OK)
			return false;
		sent += n;
	}
	for (;;)
	{
		size_t		n = 0;
		CURLcode	rc = curl_easy_recv(h, answer + got, sizeof(answer) - 1 - got, &n);
		struct pollfd pfd = {sock, POLLIN, 0};
		char	   *end;
		char	   *length;

		if (rc == CURLE_AGAIN)
		{
			poll(&pfd, 1, 1000);
			continue;
		}
		if (rc != CURLE_OK || n == 0)
			return false;
		got += n;
		answer[got] = '\0';
		if ((end = strstr(answer, "\r\n\r\n")) == NULL)
			continue;
		if ((length = strcasestr(answer, "\r\nContent-Length:")) == NULL)
			return false;
		if (got >= (size_t) (end + 4 - answer) + strtoul(length + 17, NULL, 10))
			return strncmp(answer, "HTTP/1.1 200 ", 13) == 0;
	}
}

int
main(int argc, char **argv)
{
	const char *endpoint;
	const char *host;
	char		body[512];
	char		hash[SIGV4_SHA256_HEX_LEN + 1];
	struct timespec t0,
				t1;
	struct rusage ru0,
				ru1;
	CURL	   *h;
	int			n;
	bool		direct;

	if (argc != 5)
	{
		fprintf(stderr, "usage: raw_curl_loop ENDPOINT TABLE COUNTER N\n");
		return 2;
	}
	endpoint = argv[1];
	host = strstr(endpoint, "://") ? strstr(endpoint, "://") + 3 : endpoint;
	n = atoi(argv[4]);
	if (n < 1)
	{
		fprintf(stderr, "raw_curl_loop: N must be at least 1\n");
		return 2;
	}
	snprintf(body, sizeof(body),
			 "{\"TableName\":\"%s\",\"Key\":{\"id\":{\"S\":\"%s\"}},\"UpdateExpression\":\"ADD #v :inc\","
			 "\"ConditionExpression\":\"attribute_not_exists(#v) OR #v BETWEEN :lo AND :hi\","
			 "\"ExpressionAttributeNames\":{\"#v\":\"lastValue\"},\"ExpressionAttributeValues\":{\":inc\":{\"N\":\"1\"},"
			 "\":lo\":{\"N\":\"-9223372036854775809\"},\":hi\":{\"N\":\"9223372036854775806\"}},\"ReturnValues\":\"UPDATED_NEW\"}",
			 argv[2], argv[3]);
	sigv4_sha256_hex(body, strlen(body), hash);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	direct = getenv("RAW_LOOP_DIRECT") != NULL;
	if (direct)
	{
		curl_easy_setopt(h, CURLOPT_URL, endpoint);
		curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		if (curl_easy_perform(h) != CURLE_OK)
		{
			fprintf(stderr, "raw_curl_loop: could not connect to %s\n", endpoint);
			return 1;
		}
	}
	for (int i = -1; i < n; i++)
	{
		char		date[SIGV4_AMZ_DATE_LEN + 1];
		char		line[4][512];
		sigv4_header hdrs[4] = {{"Content-Type", "application/x-amz-json-1.0"}, {"Host", host},
		{"X-Amz-Date", date}, {"X-Amz-Target", "DynamoDB_20120810.UpdateItem"}};
		sigv4_request req = {"POST", "/", NULL, true, hdrs, 4, hash};
		sigv4_scope scope = {date, "us-east-1", "dynamodb"};
		strbuf		auth;
		struct curl_slist *list = NULL;
		long		status = 0;

		if (i == 0)
		{
			const char *barrier = getenv("RAW_LOOP_BARRIER");

			if (barrier)
			{
				char		ready[4096];
				FILE	   *f;

				snprintf(ready, sizeof(ready), "%s.ready.%d", barrier, (int) getpid());
				if ((f = fopen(ready, "w")) == NULL)
				{
					perror(ready);
					return 1;
				}
				fclose(f);
				while (access(barrier, F_OK) != 0)
					usleep(1000);
			}
			getrusage(RUSAGE_SELF, &ru0);
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
		sigv4_format_amz_date(time(NULL), date);
		strbuf_init(&auth);
		sigv4_sign(&req, &scope, "AKIDBENCH", "bench-secret", &auth);
		snprintf(line[0], sizeof(line[0]), "Content-Type: application/x-amz-json-1.0");
		snprintf(line[1], sizeof(line[1]), "X-Amz-Date: %s", date);
		snprintf(line[2], sizeof(line[2]), "X-Amz-Target: DynamoDB_20120810.UpdateItem");
		snprintf(line[3], sizeof(line[3]), "Authorization: %s", auth.data);
		if (direct)
		{
			char		text[4096];
			int			len = snprintf(text, sizeof(text),
									   "POST / HTTP/1.1\r\nHost: %s\r\n%s\r\n%s\r\n%s\r\n%s\r\nContent-Length: %zu\r\n\r\n%s",
									   host, line[0], line[1], line[2], line[3], strlen(body), body);

			if (len >= (int) sizeof(text) || !direct_request(h, text, (size_t) len))
			{
				fprintf(stderr, "raw_curl_loop: direct request %d failed\n", i);
				return 1;
			}
			strbuf_free(&auth, false);
			continue;
		}
		for (int k = 0; k < 4; k++)
			list = curl_slist_append(list, line[k]);
		list = curl_slist_append(list, "Expect:");
		curl_easy_reset(h);
		curl_easy_setopt(h, CURLOPT_URL, endpoint);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
		if (curl_easy_perform(h) != CURLE_OK ||
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
		{
			fprintf(stderr, "raw_curl_loop: request %d failed (HTTP %ld)\n", i, status);
			return 1;
		}
		curl_slist_free_all(list);
		strbuf_free(&auth, false);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru1);
	printf("raw_libcurl %d requests in %.1f ms, %.1f ms CPU\n", n,
		   (t1.tv_sec - t0.tv_sec) * 1000.0 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
		   cpu_ms(&ru1) - cpu_ms(&ru0));
	curl_easy_cleanup(h);
	return 0;
}
