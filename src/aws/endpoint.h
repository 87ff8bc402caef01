/*
 * endpoint.h - where DynamoDB requests go, and for which region they are signed.
 */
#ifndef DYNAMO_ATOMIC_ENDPOINT_H
#define DYNAMO_ATOMIC_ENDPOINT_H

typedef struct DdbEndpoint
{
	char	   *url;			/* what libcurl connects to */
	char	   *host;			/* Host header: host[:port], as signed */
	char	   *path;			/* request path for the signature, "/" usually */
	char	   *region;
} DdbEndpoint;

/*
 * Region: dynamo_atomic.region, AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's region.  URL: dynamo_atomic.endpoint, AWS_ENDPOINT_URL_DYNAMODB,
 * AWS_ENDPOINT_URL, the profile's services section (dynamodb =
 * endpoint_url), the profile's endpoint_url (the environment's and the
 * profile's ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the
 * profile's ignore_configured_endpoint_urls is true), then
 * https://dynamodb.<region>.amazonaws.com; url and region,
 * when not NULL, are used instead (recorded with a lock).  Raises 22023
 * when no region is configured or the URL is not usable.
 */
extern void ddb_endpoint_resolve(DdbEndpoint *out, const char *url, const char *region);

/* The region, as ddb_endpoint_resolve finds it (22023 when none). */
extern const char *aws_region_resolve(void);

/*
 * The one test of an endpoint URL, for the setting and the environment
 * alike: http(s), a host, no user name, query or fragment.  On success,
 * host (Host header: host[:port]) and path are palloc'd when not NULL.
 * Raises nothing, so a GUC check hook can call it.
 */
extern bool endpoint_url_parse(const char *url, char **host, char **path);

/* endpoint_url_parse without its parts: the check of dynamo_atomic.endpoint. */
extern bool endpoint_url_is_valid(const char *url);

#endif
