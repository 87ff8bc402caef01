/*
 * aws_profile.c - reads profiles from the AWS shared files (aws_profile.h).
 */
#include "postgres.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nodes/pg_list.h"
#include "storage/fd.h"

#include "aws_profile.h"
#include "settings.h"

#define MAX_PROFILE_FILE_BYTES (1024 * 1024)

static char *
home_file(const char *env_name, const char *relative)
{
	const char *path = getenv(env_name);
	const char *home;

	if (path && path[0])
		return pstrdup(path);
	home = getenv("HOME");
	if (home == NULL || home[0] == '\0')
	{
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : "";
	}
	return psprintf("%s/%s", home, relative);
}

char *
aws_credentials_file_path(void)
{
	return home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
}

char *
aws_config_file_path(void)
{
	return home_file("AWS_CONFIG_FILE", ".aws/config");
}

const char *
aws_profile_name(bool *is_explicit)
{
	const char *env = getenv("AWS_PROFILE");

	*is_explicit = true;
	if (dynamo_profile && dynamo_profile[0])
		return dynamo_profile;
	if (env && env[0])
		return env;
	*is_explicit = false;
	return "default";
}

/*
 * Reads a whole file of at most MAX_PROFILE_FILE_BYTES; NULL if it does
 * not exist or cannot be read.  *size receives the buffer's size, for wiping.
 */
static char *
read_small_file(const char *path, size_t *size)
{
	FILE	   *f = AllocateFile(path, "r");
	struct stat st;
	char	   *buf;
	size_t		len;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || st.st_size > MAX_PROFILE_FILE_BYTES)
	{
		FreeFile(f);
		return NULL;
	}
	*size = (size_t) st.st_size + 1;
	buf = palloc(*size);
	len = fread(buf, 1, *size - 1, f);
	FreeFile(f);
	buf[len] = '\0';
	/* Read past, a NUL would hide the rest; UTF-16 is full of them. */
	if (memchr(buf, '\0', len))
	{
		explicit_bzero(buf, *size);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the AWS shared file \"%s\" holds NUL bytes", path),
				 errhint("Save it as UTF-8 (a file saved as UTF-16 looks like this).")));
	}
	/* A UTF-8 byte order mark, as some editors write: not part of the first line. */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		memmove(buf, buf + 3, len - 3 + 1);
	return buf;
}

static char *
trim(char *s)
{
	char	   *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Does this "[...]" header (brackets stripped) name the profile? */
static bool
section_matches(const char *section, const char *name, bool config_style)
{
	if (!config_style || strcmp(name, "default") == 0)
	{
		if (strcmp(section, name) == 0)
			return true;
		if (!config_style)
			return false;
	}
	if (strncmp(section, "profile", 7) == 0 && (section[7] == ' ' || section[7] == '\t'))
	{
		const char *rest = section + 7;

		while (*rest == ' ' || *rest == '\t')
			rest++;
		return strcmp(rest, name) == 0;
	}
	return false;
}

static void
set_if_unset(char **field, const char *value)
{
	if (*field == NULL)
		*field = pstrdup(value);
}

/* "[services NAME]": NAME, else NULL. */
static const char *
services_section_name(char *section)
{
	if (strncmp(section, "services", 8) != 0 || (section[8] != ' ' && section[8] != '\t'))
		return NULL;
	return trim(section + 8);
}

/* A services section's DynamoDB endpoint, found while reading the config file. */
typedef struct ServicesEndpoint
{
	char	   *services;
	char	   *endpoint_url;
} ServicesEndpoint;

static void
parse_profile_file(const char *path, const char *name, bool config_style,
				   AwsProfile *out, List **services_endpoints)
{
	size_t		size = 0;
	char	   *text = read_small_file(path, &size);
	char	   *line;
	char	   *save = NULL;
	bool		in_section = false;
	const char *services = NULL;	/* in a "[services NAME]" section */
	char	   *parent = NULL;	/* the property whose sub-properties are indented below it */
	int			parent_indent = 0;	/* its indentation */
	int			key_indent = -1;	/* the last property's (-1: none yet in the section) */

	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		int			indent = (int) strspn(line, " \t");
		char	   *t = trim(line);
		char	   *eq;
		char	   *key;
		char	   *value;

		if (*t == '\0' || *t == '#' || *t == ';')
			continue;
		if (*t == '[')
		{
			char	   *close = strchr(t, ']');

			if (close)
				*close = '\0';
			in_section = section_matches(trim(t + 1), name, config_style);
			services = config_style ? services_section_name(trim(t + 1)) : NULL;
			parent = NULL;
			key_indent = -1;
			if (in_section)
				out->found = true;
			continue;
		}
		if (!in_section && services == NULL)
			continue;
		/*
		 * Deeper than the property before it: one of its sub-properties (after
		 * "name =" with no value), else a continuation of its value; neither is
		 * the profile's own.
		 */
		if (key_indent >= 0 && indent > (parent ? parent_indent : key_indent))
		{
			if (parent == NULL || (eq = strchr(t, '=')) == NULL)
				continue;
			*eq = '\0';
			key = trim(t);
			value = trim(eq + 1);
			/* a sub-property: only a services section's dynamodb endpoint_url is read */
			if (services && strcmp(parent, "dynamodb") == 0 && strcmp(key, "endpoint_url") == 0)
			{
				ServicesEndpoint *se = palloc(sizeof(ServicesEndpoint));

				se->services = pstrdup(services);
				se->endpoint_url = pstrdup(value);
				*services_endpoints = lappend(*services_endpoints, se);
			}
			continue;
		}
		if ((eq = strchr(t, '=')) == NULL)
			continue;
		*eq = '\0';
		key = trim(t);
		value = trim(eq + 1);
		key_indent = indent;
		parent = value[0] == '\0' ? key : NULL;
		parent_indent = indent;
		if (services)
			continue;

		if (strcmp(key, "aws_access_key_id") == 0)
			set_if_unset(&out->access_key_id, value);
		else if (strcmp(key, "aws_secret_access_key") == 0)
			set_if_unset(&out->secret_access_key, value);
		else if (strcmp(key, "aws_session_token") == 0)
			set_if_unset(&out->session_token, value);
		else if (strcmp(key, "region") == 0)
			set_if_unset(&out->region, value);
		else if (strcmp(key, "role_arn") == 0)
			set_if_unset(&out->role_arn, value);
		else if (strcmp(key, "role_session_name") == 0)
			set_if_unset(&out->role_session_name, value);
		else if (strcmp(key, "web_identity_token_file") == 0)
			set_if_unset(&out->web_identity_token_file, value);
		else if (strcmp(key, "source_profile") == 0)
			set_if_unset(&out->source_profile, value);
		else if (strcmp(key, "credential_source") == 0)
			set_if_unset(&out->credential_source, value);
		else if (strcmp(key, "external_id") == 0)
			set_if_unset(&out->external_id, value);
		else if (strcmp(key, "duration_seconds") == 0)
			set_if_unset(&out->duration_seconds, value);
		else if (strcmp(key, "credential_process") == 0)
			set_if_unset(&out->credential_process, value);
		else if (strcmp(key, "endpoint_url") == 0)
			set_if_unset(&out->endpoint_url, value);
		else if (strcmp(key, "services") == 0)
			set_if_unset(&out->services, value);
		else if (strcmp(key, "ignore_configured_endpoint_urls") == 0)
			set_if_unset(&out->ignore_configured_endpoint_urls, value);
		else if (strcmp(key, "sso_session") == 0 || strcmp(key, "sso_start_url") == 0)
			out->unsupported = "sso";
	}
	/* The text held the secret: do not leave it in freed memory. */
	explicit_bzero(text, size);
	pfree(text);
}

void
aws_profile_load(const char *name, AwsProfile *out)
{
	char	   *cred_path = aws_credentials_file_path();
	char	   *conf_path = aws_config_file_path();
	List	   *services_endpoints = NIL;
	ListCell   *lc;

	memset(out, 0, sizeof(*out));
	parse_profile_file(cred_path, name, false, out, &services_endpoints);
	parse_profile_file(conf_path, name, true, out, &services_endpoints);
	/* the first of the profile's services sections to name one, as a first setting wins */
	foreach(lc, services_endpoints)
	{
		ServicesEndpoint *se = lfirst(lc);

		if (out->services && out->dynamodb_endpoint_url == NULL && strcmp(se->services, out->services) == 0)
			out->dynamodb_endpoint_url = pstrdup(se->endpoint_url);
	}
	foreach(lc, services_endpoints)
	{
		ServicesEndpoint *se = lfirst(lc);

		pfree(se->services);
		pfree(se->endpoint_url);
	}
	list_free_deep(services_endpoints);
	pfree(cred_path);
	pfree(conf_path);
}

static void
wipe_string(char **s)
{
	if (*s)
	{
		explicit_bzero(*s, strlen(*s));
		pfree(*s);
		*s = NULL;
	}
}

void
aws_profile_wipe(AwsProfile *profile)
{
	wipe_string(&profile->secret_access_key);
	wipe_string(&profile->session_token);
	wipe_string(&profile->access_key_id);
	wipe_string(&profile->region);
	wipe_string(&profile->role_arn);
	wipe_string(&profile->role_session_name);
	wipe_string(&profile->web_identity_token_file);
	wipe_string(&profile->source_profile);
	wipe_string(&profile->credential_source);
	wipe_string(&profile->external_id);
	wipe_string(&profile->duration_seconds);
	wipe_string(&profile->credential_process);
	wipe_string(&profile->endpoint_url);
	wipe_string(&profile->services);
	wipe_string(&profile->dynamodb_endpoint_url);
	wipe_string(&profile->ignore_configured_endpoint_urls);
}
