/*
 * slow_dns.c - an LD_PRELOAD shim that makes name lookups stall, for the
 * DNS interrupt tests.
 *
 * getaddrinfo() for a name ending in ".slow-dns.test" sleeps
 * SLOW_DNS_SECONDS (default 5) and then answers as for "127.0.0.1": such a
 * name never reaches a real resolver.  Every other lookup is passed on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOW_SUFFIX ".slow-dns.test"

typedef int (*getaddrinfo_fn) (const char *, const char *, const struct addrinfo *,
							   struct addrinfo **);

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			struct addrinfo **res)
{
	static getaddrinfo_fn real = NULL;
	size_t		len = node ? strlen(node) : 0;
	size_t		suffix_len = strlen(SLOW_SUFFIX);

	if (real == NULL)
		real = (getaddrinfo_fn) dlsym(RTLD_NEXT, "getaddrinfo");
	if (len > suffix_len && strcmp(node + len - suffix_len, SLOW_SUFFIX) == 0)
	{
		const char *s = getenv("SLOW_DNS_SECONDS");

		sleep(s ? (unsigned) atoi(s) : 5);
		return real("127.0.0.1", service, hints, res);
	}
	return real(node, service, hints, res);
}
