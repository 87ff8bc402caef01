/*
 * config_check.h - a misspelt dynamo_atomic.* line in the configuration
 * files stops every request.
 *
 * PostgreSQL only WARNs, at start and at reload, about a line that names a
 * setting of a reserved prefix that does not exist, and then ignores it.
 * For this extension that is dangerous: a misspelt dynamo_atomic.endpoint
 * leaves the endpoint unset, and a set-up meant for DynamoDB Local would
 * send its requests to the region's real endpoint with whatever
 * credentials the chain finds.  So the files are read again (as
 * pg_file_settings does) whenever this process has loaded them, and while
 * any of them has such a line, no request is sent: every call fails with
 * F0000 naming the file, the line and the nearest real setting.
 */
#ifndef DYNAMO_ATOMIC_CONFIG_CHECK_H
#define DYNAMO_ATOMIC_CONFIG_CHECK_H

/*
 * Raises F0000 while a configuration file has an unknown dynamo_atomic.*
 * line; reads the files again only when this process reloaded them.
 */
extern void config_check_require_clean(void);

/* At start (the postmaster): a WARNING in the log for such a line. */
extern void config_check_warn_at_start(void);

#endif
