/*
 * slow_dns.c - an LD_PRELOAD shim that makes name lookups stall, for the
 * DNS interrupt tests.
 *
 * getaddrinfo() for a name ending in ".slow-dns.test" sleeps
 * SLOW_DNS_SECONDS (default 5) and then answers as for "127.0.0.1": such a
 * name never reaches a real resolver.  Every other lookup is passed on.
 *
 * With DNS_LOG_FILE set, every name looked up is appended to that file
 * (one a line) and answered as "127.0.0.1", so that no lookup reaches a
 * real resolver: a test can show that no name was resolved.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOW_SUFFIX ".slow-dns.test"

typedef int (*getaddrinfo_fn) (const char *, const char *, const struct addrinfo *,
							   struct addrinfo **);

/* A numeric address (127.0.0.1, ::1) needs no resolver: passed on, not logged. */
static int
is_address(const char *node)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, node, buf) == 1 || inet_pton(AF_INET6, node, buf) == 1;
}

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			struct addrinfo **res)
{
	static getaddrinfo_fn real = NULL;
	size_t		len = node ? strlen(node) : 0;
	size_t		suffix_len = strlen(SLOW_SUFFIX);

	const char *log_file = getenv("DNS_LOG_FILE");

	if (real == NULL)
		real = (getaddrinfo_fn) dlsym(RTLD_NEXT, "getaddrinfo");
	if (log_file && log_file[0] && node && !is_address(node))
	{
		FILE	   *f = fopen(log_file, "a");

		if (f)
		{
			fprintf(f, "%s\n", node);
			fclose(f);
		}
		return real("127.0.0.1", service, hints, res);
	}
	if (len > suffix_len && strcmp(node + len - suffix_len, SLOW_SUFFIX) == 0)
	{
		const char *s = getenv("SLOW_DNS_SECONDS");

		sleep(s ? (unsigned) atoi(s) : 5);
		return real("127.0.0.1", service, hints, res);
	}
	return real(node, service, hints, res);
}
