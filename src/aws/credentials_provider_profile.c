/*
 * credentials_provider_profile.c - credentials from a profile of the AWS
 * shared files (aws_profile.h): its keys, a web identity
 * (web_identity_token_file and role_arn), an assumed role (role_arn with
 * source_profile, chained, or credential_source) or a credential_process.
 * Also the profile's region and DynamoDB endpoint, for endpoint.c.
 *
 * The last profile read is kept while its name and both files are
 * unchanged (stat before each use: a rewrite within a second counts).
 */
#include "postgres.h"

#include <sys/stat.h>

#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "aws_profile.h"
#include "credentials_cache.h"
#include "credentials_providers.h"
#include "secret_strings.h"

static MemoryContext profile_context = NULL;

typedef struct FileSignature
{
	bool		exists;
	struct timespec mtime;		/* to the nanosecond: a rewrite within a second counts */
	off_t		size;
	ino_t		inode;
} FileSignature;

/* The last profile read, valid while its name and both files are unchanged. */
static struct
{
	bool		valid;
	char	   *name;
	char	   *cred_path;
	char	   *conf_path;
	FileSignature cred_sig;
	FileSignature conf_sig;
	AwsProfile	profile;
	char	   *source;
}			profile_cache;

static MemoryContext
cache_context(void)
{
	if (profile_context == NULL)
		profile_context = AllocSetContextCreate(TopMemoryContext, "dynamo_atomic AWS profile",
												ALLOCSET_SMALL_SIZES);
	return profile_context;
}

static FileSignature
file_signature(const char *path)
{
	struct stat st;
	FileSignature sig = {0};

	if (stat(path, &st) == 0)
	{
		sig.exists = true;
		sig.mtime = st.st_mtim;
		sig.size = st.st_size;
		sig.inode = st.st_ino;
	}
	return sig;
}

static bool
same_signature(FileSignature a, FileSignature b)
{
	return a.exists == b.exists && a.mtime.tv_sec == b.mtime.tv_sec &&
		a.mtime.tv_nsec == b.mtime.tv_nsec && a.size == b.size && a.inode == b.inode;
}

void
credentials_profile_forget(void)
{
	if (!profile_cache.valid)
		return;
	aws_profile_wipe(&profile_cache.profile);
	pfree(profile_cache.name);
	pfree(profile_cache.cred_path);
	pfree(profile_cache.conf_path);
	pfree(profile_cache.source);
	profile_cache.valid = false;
}

/* Returns the named profile, re-reading the files only when they changed. */
static const AwsProfile *
load_profile(const char *name)
{
	char	   *cred_path = aws_credentials_file_path();
	char	   *conf_path = aws_config_file_path();
	FileSignature cred_sig = file_signature(cred_path);
	FileSignature conf_sig = file_signature(conf_path);
	MemoryContext old;

	if (profile_cache.valid && strcmp(profile_cache.name, name) == 0 &&
		strcmp(profile_cache.cred_path, cred_path) == 0 &&
		strcmp(profile_cache.conf_path, conf_path) == 0 &&
		same_signature(profile_cache.cred_sig, cred_sig) &&
		same_signature(profile_cache.conf_sig, conf_sig))
	{
		pfree(cred_path);
		pfree(conf_path);
		return &profile_cache.profile;
	}

	credentials_profile_forget();
	old = MemoryContextSwitchTo(cache_context());
	aws_profile_load(name, &profile_cache.profile);
	profile_cache.name = pstrdup(name);
	profile_cache.cred_path = pstrdup(cred_path);
	profile_cache.conf_path = pstrdup(conf_path);
	profile_cache.source = psprintf("profile \"%s\" in \"%s\" or \"%s\"",
									name, cred_path, conf_path);
	MemoryContextSwitchTo(old);
	profile_cache.cred_sig = cred_sig;
	profile_cache.conf_sig = conf_sig;
	profile_cache.valid = true;
	pfree(cred_path);
	pfree(conf_path);
	return &profile_cache.profile;
}

const char *
aws_profile_region(void)
{
	bool		is_explicit;
	const char *name = aws_profile_name(&is_explicit);
	const AwsProfile *p = load_profile(name);

	/* Say that a named profile is missing, not that no region was found. */
	if (is_explicit && !p->found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS profile \"%s\" was not found", name),
				 errdetail("Looked in %s.", profile_cache.source)));
	return p->region;
}

const char *
aws_profile_dynamodb_endpoint(const char **origin)
{
	bool		is_explicit;
	const char *name = aws_profile_name(&is_explicit);
	const AwsProfile *p = load_profile(name);

	/* copied: the next load of a profile (the region's) frees this one */
	if (is_set(p->dynamodb_endpoint_url))
	{
		*origin = "the dynamodb endpoint_url of the AWS profile's services section";
		return pstrdup(p->dynamodb_endpoint_url);
	}
	*origin = "the AWS profile's endpoint_url";
	return is_set(p->endpoint_url) ? pstrdup(p->endpoint_url) : NULL;
}

bool
aws_ignore_configured_endpoints(void)
{
	const char *env = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	bool		is_explicit;
	const AwsProfile *p;

	/* the environment's word, true or false, before the profile's, as in the SDKs */
	if (is_set(env))
		return pg_strcasecmp(env, "true") == 0;
	p = load_profile(aws_profile_name(&is_explicit));
	return p->ignore_configured_endpoint_urls && pg_strcasecmp(p->ignore_configured_endpoint_urls, "true") == 0;
}

/* A copy of s, or NULL (wiped by wipe_pfree). */
static char *
copy_or_null(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/* Profiles a role_arn may lead through (source_profile after source_profile). */
#define MAX_PROFILE_CHAIN 5

static bool profile_credentials(const char *name, bool is_explicit, List *visited, AwsCredentials *out);

/*
 * A profile's role_arn with source_profile or credential_source: the source
 * credentials, then AssumeRole signed by them.  visited: the profiles that
 * led here (a cycle is refused).
 */
static void
from_assumed_role(const char *name, const AwsProfile *p, List *visited, AwsCredentials *out)
{
	char	   *role_arn = pstrdup(p->role_arn);
	char	   *source_profile = copy_or_null(p->source_profile);
	char	   *credential_source = copy_or_null(p->credential_source);
	char	   *external_id = copy_or_null(p->external_id);
	char	   *session_name = copy_or_null(p->role_session_name);
	int			duration_s = 0;
	AwsCredentials source = {0};
	char	   *imds_why = NULL;
	/* kept per role and profile: no source is resolved while they are fresh */
	char	   *provider = psprintf("assume role %s profile %s external id %s", role_arn, name,
									external_id ? external_id : "");

	if (credentials_cache_begin(provider, out))
		return;

	if (p->duration_seconds)
	{
		char	   *end;
		long		v = strtol(p->duration_seconds, &end, 10);

		if (*end != '\0' || v < 900 || v > 43200)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has duration_seconds \"%s\": 900 to 43200 are allowed", name,
							p->duration_seconds)));
		duration_s = (int) v;
	}
	if (source_profile && credential_source)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS profile \"%s\" has both source_profile and credential_source: one of them", name)));
	if (source_profile)
	{
		ListCell   *lc;

		foreach(lc, visited)
			if (strcmp((char *) lfirst(lc), source_profile) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" leads back to profile \"%s\" through source_profile: a cycle",
							name, source_profile)));
		if (list_length(visited) >= MAX_PROFILE_CHAIN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" chains more than %d profiles through source_profile", name,
							MAX_PROFILE_CHAIN)));
		if (strcmp(source_profile, name) == 0)
		{
			/* a role's own profile as its source: its keys */
			if (!credentials_from_key_pair(p->access_key_id, p->secret_access_key, p->session_token, "profile",
							   psprintf("profile \"%s\"", name), &source))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						 errmsg("AWS profile \"%s\" is its own source_profile but has no keys", name)));
		}
		else
			(void) profile_credentials(source_profile, true, lappend(list_copy(visited), pstrdup(name)), &source);
	}
	else if (credential_source && strcmp(credential_source, "Environment") == 0)
	{
		if (!credentials_from_key_pair(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"),
						   "environment",
						   "environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", &source))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has credential_source Environment, but AWS_ACCESS_KEY_ID and "
							"AWS_SECRET_ACCESS_KEY are not set", name)));
	}
	else if (credential_source && strcmp(credential_source, "EcsContainer") == 0)
	{
		if (!credentials_from_container_if_set(&source))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has credential_source EcsContainer, but no container credentials "
							"URI is set", name)));
	}
	else if (credential_source && strcmp(credential_source, "Ec2InstanceMetadata") == 0)
	{
		if (credentials_imds_disabled() || !credentials_from_instance_metadata(&source, &imds_why))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has credential_source Ec2InstanceMetadata, but instance metadata %s",
							name, imds_why ? "gave none" : "is disabled"),
					 imds_why ? errdetail("%s", imds_why) : 0));
	}
	else if (credential_source)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS profile \"%s\" has credential_source \"%s\": Environment, Ec2InstanceMetadata or "
						"EcsContainer are known", name, credential_source)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS profile \"%s\" has role_arn without source_profile, credential_source or "
						"web_identity_token_file", name)));
	/* the source may point into a cache that resolving the region or STS's endpoint replaces */
	source.access_key_id = pstrdup(source.access_key_id);
	source.secret_access_key = pstrdup(source.secret_access_key);
	source.session_token = copy_or_null(source.session_token);
	PG_TRY();
	{
		credentials_from_assumed_role(provider, role_arn, session_name, external_id, duration_s, &source,
									  psprintf("profile \"%s\"", name), out);
	}
	PG_FINALLY();
	{
		wipe_pfree(source.secret_access_key);
		wipe_pfree(source.session_token);
	}
	PG_END_TRY();
}

/*
 * A copy of a profile's settings, for a provider that goes on to load other
 * profiles (a source_profile) or to resolve the region (which may read the
 * active profile): load_profile keeps one profile and frees the last.
 */
static AwsProfile *
profile_copy(const AwsProfile *p)
{
	AwsProfile *c = palloc0(sizeof(AwsProfile));

	c->found = p->found;
	c->access_key_id = copy_or_null(p->access_key_id);
	c->secret_access_key = copy_or_null(p->secret_access_key);
	c->session_token = copy_or_null(p->session_token);
	c->region = copy_or_null(p->region);
	c->role_arn = copy_or_null(p->role_arn);
	c->web_identity_token_file = copy_or_null(p->web_identity_token_file);
	c->role_session_name = copy_or_null(p->role_session_name);
	c->source_profile = copy_or_null(p->source_profile);
	c->credential_source = copy_or_null(p->credential_source);
	c->external_id = copy_or_null(p->external_id);
	c->duration_seconds = copy_or_null(p->duration_seconds);
	c->credential_process = copy_or_null(p->credential_process);
	c->unsupported = p->unsupported;
	return c;
}

static bool
profile_credentials(const char *name, bool is_explicit, List *visited, AwsCredentials *out)
{
	const AwsProfile *p = load_profile(name);

	if (is_set(p->role_arn) && (is_set(p->source_profile) || is_set(p->credential_source)))
	{
		AwsProfile *copy = profile_copy(p);

		from_assumed_role(name, copy, visited, out);
		aws_profile_wipe(copy);
		return true;
	}
	if (is_set(p->access_key_id) && is_set(p->secret_access_key))
	{
		out->access_key_id = p->access_key_id;
		out->secret_access_key = p->secret_access_key;
		out->session_token = is_set(p->session_token) ? p->session_token : NULL;
		out->source = profile_cache.source;
		out->kind = "profile";
		return true;
	}
	if (is_set(p->web_identity_token_file) || is_set(p->role_arn))
	{
		if (!is_set(p->web_identity_token_file))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has role_arn without source_profile, credential_source or "
							"web_identity_token_file", name)));
		if (!is_set(p->role_arn))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has web_identity_token_file without role_arn", name)));
		{
			AwsProfile *copy = profile_copy(p);

			credentials_from_web_identity(copy->web_identity_token_file, copy->role_arn, copy->role_session_name,
										  psprintf("profile \"%s\"", name), out);
			aws_profile_wipe(copy);
		}
		return true;
	}
	if (is_set(p->credential_process))
	{
		char	   *command = pstrdup(p->credential_process);

		credentials_from_process(command, psprintf("profile \"%s\"", name), out);
		return true;
	}
	if (p->found && p->unsupported)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("AWS profile \"%s\" uses %s, which dynamo_atomic does not support", name, p->unsupported),
				 p->unsupported[0] == 's' ?
				 errhint("SSO is a workstation's provider: on a server use a web identity (EKS), an assumed role, "
						 "a container or instance role, or keys.") :
				 errhint("Give the profile keys, web_identity_token_file and role_arn, role_arn with "
						 "source_profile or credential_source, or credential_process; or use environment, "
						 "container or instance credentials.")));
	if (is_explicit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg(p->found ? "AWS profile \"%s\" has no credentials (keys, a web identity or a role)"
						: "AWS profile \"%s\" was not found", name),
				 errdetail("Looked in %s.", profile_cache.source)));
	return false;
}

bool
credentials_from_profile(const char *name, bool is_explicit, AwsCredentials *out)
{
	return profile_credentials(name, is_explicit, NIL, out);
}

const char *
credentials_profile_source(void)
{
	return profile_cache.valid ? profile_cache.source : "the AWS shared files";
}
