/*
 * settings.c - defines the dynamo_atomic.* GUCs and checks their values.
 *
 * Where requests go and with which identity is a superuser's decision
 * (PGC_SUSET); the secret and the session token are also hidden from
 * non-superusers and from SHOW ALL.  Timeouts, retries and the default
 * counter table are per-session choices any user may make.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "endpoint.h"
#include "settings.h"

char	   *dynamo_endpoint = NULL;
char	   *dynamo_region = NULL;
char	   *dynamo_access_key_id = NULL;
char	   *dynamo_secret_access_key = NULL;
char	   *dynamo_session_token = NULL;
char	   *dynamo_profile = NULL;
int			dynamo_connect_timeout_ms = 3000;
int			dynamo_request_timeout_ms = 10000;
int			dynamo_max_retries = 3;
char	   *dynamo_counter_table = NULL;

bool
table_name_is_valid(const char *name)
{
	size_t		len = strlen(name);

	if (len < 3 || len > 255)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* The endpoint is checked by the same parser that later uses it. */
static bool
check_endpoint(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || endpoint_url_parse(*newval, NULL, NULL))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("The endpoint must be an http:// or https:// URL with a host, "
						"without user name, query or fragment.");
	return false;
}

static bool
check_region(char **newval, void **extra, GucSource source)
{
	for (const char *p = *newval ? *newval : ""; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("A region name has only lower-case letters, digits and hyphens, like \"us-east-1\".");
			return false;
		}
	return true;
}

static bool
check_counter_table(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !table_name_is_valid(*newval))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("DynamoDB table names have 3 to 255 characters: letters, digits, '_', '-' and '.'.");
		return false;
	}
	return true;
}

void
settings_define(void)
{
	DefineCustomStringVariable("dynamo_atomic.endpoint",
							   "DynamoDB endpoint URL.",
							   "Empty: AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL, "
							   "then https://dynamodb.<region>.amazonaws.com.",
							   &dynamo_endpoint, "", PGC_SUSET, 0,
							   check_endpoint, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.region",
							   "AWS region used for signing and the default endpoint.",
							   "Empty: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region.",
							   &dynamo_region, "", PGC_SUSET, 0,
							   check_region, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.access_key_id",
							   "AWS access key ID.",
							   "Empty: the AWS credential chain (environment, profile, container, instance).",
							   &dynamo_access_key_id, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.secret_access_key",
							   "AWS secret access key.",
							   "Visible to superusers only.",
							   &dynamo_secret_access_key, "", PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.session_token",
							   "AWS session token for temporary credentials.",
							   "Visible to superusers only.",
							   &dynamo_session_token, "", PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.profile",
							   "Profile to read from the AWS shared credentials and config files.",
							   "Empty: AWS_PROFILE, then \"default\".",
							   &dynamo_profile, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.connect_timeout_ms",
							"Time allowed to open a connection to DynamoDB.",
							NULL,
							&dynamo_connect_timeout_ms, 3000, 1, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.request_timeout_ms",
							"Time allowed for one DynamoDB request, connection included.",
							"Each retry gets this much again.",
							&dynamo_request_timeout_ms, 10000, 1, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dynamo_atomic.max_retries",
							"Retries after throttling, server errors and network failures.",
							NULL,
							&dynamo_max_retries, 3, 0, 20,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("dynamo_atomic.counter_table",
							   "DynamoDB table used by counter functions given no table name.",
							   NULL,
							   &dynamo_counter_table, "AtomicCounters", PGC_USERSET, 0,
							   check_counter_table, NULL, NULL);

	MarkGUCPrefixReserved("dynamo_atomic");
}
