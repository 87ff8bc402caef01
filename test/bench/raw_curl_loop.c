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
 * With RAW_LOOP_BARRIER=PATH in the environment it creates PATH.ready.PID
 * after that first request and then waits until PATH exists: several loops
 * then start their measures together (per_call.sh's 8 clients).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

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
