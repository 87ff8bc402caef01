/*
 * credentials.c - the AWS credential chain (see credentials.h).
 *
 * Secrets live in one memory context and are wiped before they are
 * replaced or dropped.  No message raised here ever includes a secret, a
 * session token or a container authorization token.
 */
#include "postgres.h"

#include <ctype.h>

#include <sys/stat.h>

#include "nodes/pg_list.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aws_profile.h"
#include "container_url.h"
#include "credentials.h"
#include "credentials_cache.h"
#include "http.h"
#include "json.h"
#include "settings.h"
#include "sigv4.h"

/* Refresh expiring credentials this long before they expire. */
#define REFRESH_MARGIN_USECS (300 * USECS_PER_SEC)
/* A refresh that failed while the credentials were valid is tried again this much later. */
#define REFRESH_RETRY_AFTER_FAILURE_S 30
/* Re-fetch credentials that state no expiry this often. */
#define NO_EXPIRY_REFRESH_USECS (900 * USECS_PER_SEC)
#define METADATA_TIMEOUT_MS 1000
#define CONTAINER_TIMEOUT_MS 2000
#define IMDS_TOKEN_TTL "21600"

static MemoryContext credentials_context = NULL;

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

/*
 * Credentials fetched from a service (a container, instance metadata, STS),
 * one slot per provider: a role assumed with another role's credentials
 * keeps both, so that refreshing one does not evict the other.
 */
#define FETCHED_SLOTS 4

typedef struct FetchedSlot
{
	bool		valid;
	char	   *provider;		/* the URL or role they came from */
	AwsCredentials creds;
	TimestampTz refresh_at;
	TimestampTz used_at;		/* the least recently used slot is replaced */
} FetchedSlot;

static FetchedSlot fetched_slots[FETCHED_SLOTS];

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static MemoryContext
cache_context(void)
{
	if (credentials_context == NULL)
		credentials_context = AllocSetContextCreate(TopMemoryContext,
													"dynamo_atomic credentials",
													ALLOCSET_SMALL_SIZES);
	return credentials_context;
}

static void
wipe_pfree(const char *s)
{
	if (s)
	{
		explicit_bzero((char *) s, strlen(s));
		pfree((char *) s);
	}
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

static void
forget_profile(void)
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

static void
forget_slot(FetchedSlot *slot)
{
	if (!slot->valid)
		return;
	wipe_pfree(slot->creds.access_key_id);
	wipe_pfree(slot->creds.secret_access_key);
	wipe_pfree(slot->creds.session_token);
	pfree((char *) slot->creds.source);
	pfree(slot->provider);
	slot->valid = false;
}

static void
forget_fetched(void)
{
	for (int i = 0; i < FETCHED_SLOTS; i++)
		forget_slot(&fetched_slots[i]);
}

static FetchedSlot *
fetched_slot(const char *provider)
{
	for (int i = 0; i < FETCHED_SLOTS; i++)
		if (fetched_slots[i].valid && strcmp(fetched_slots[i].provider, provider) == 0)
			return &fetched_slots[i];
	return NULL;
}

void
aws_credentials_invalidate(void)
{
	forget_profile();
	forget_fetched();
	sigv4_forget_cached_key();
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

	forget_profile();
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

/* A copy of s, or NULL (wiped by wipe_pfree). */
static char *
copy_or_null(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/* Profiles a role_arn may lead through (source_profile after source_profile). */
#define MAX_PROFILE_CHAIN 5

static bool from_container_if_set(AwsCredentials *out);
static bool imds_disabled(void);
static bool from_instance_metadata(AwsCredentials *out, char **why);
static bool from_key_pair(const char *key, const char *secret, const char *token,
						  const char *source, AwsCredentials *out);
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

	if (credentials_cache_fresh(provider, out))
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
			if (!from_key_pair(p->access_key_id, p->secret_access_key, p->session_token,
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
		if (!from_key_pair(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"),
						   "environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", &source))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has credential_source Environment, but AWS_ACCESS_KEY_ID and "
							"AWS_SECRET_ACCESS_KEY are not set", name)));
	}
	else if (credential_source && strcmp(credential_source, "EcsContainer") == 0)
	{
		if (!from_container_if_set(&source))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS profile \"%s\" has credential_source EcsContainer, but no container credentials "
							"URI is set", name)));
	}
	else if (credential_source && strcmp(credential_source, "Ec2InstanceMetadata") == 0)
	{
		if (imds_disabled() || !from_instance_metadata(&source, &imds_why))
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
 * Credentials from a profile (keys, a web identity, or an assumed role).
 * Returns false when the profile does not exist or holds no keys and was
 * not named explicitly: the chain goes on.
 */
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

static bool
from_profile(const char *name, bool is_explicit, AwsCredentials *out)
{
	return profile_credentials(name, is_explicit, NIL, out);
}

/*
 * An ISO 8601 Expiration: "2026-12-01T20:00:00Z", with fractional seconds
 * or an offset ("+02:00", "-0530") as some providers write it.  0 when
 * absent; -1 when it is not such a timestamp (the caller refuses it: read
 * wrongly, credentials would be used past their end or refreshed never).
 */
TimestampTz
credentials_parse_expiration(const char *text)
{
	struct tm	tm;
	const char *rest;
	long		offset_s = 0;

	if (text == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return -1;
	if (*rest == '.')
		while (isdigit((unsigned char) *++rest))
			;
	if (*rest == 'Z' || *rest == 'z')
		rest++;
	else if (*rest == '+' || *rest == '-')
	{
		int			sign = *rest == '-' ? -1 : 1;
		int			hh,
					mm;

		if (!isdigit((unsigned char) rest[1]) || !isdigit((unsigned char) rest[2]))
			return -1;
		hh = (rest[1] - '0') * 10 + (rest[2] - '0');
		rest += 3;
		if (*rest == ':')
			rest++;
		if (!isdigit((unsigned char) rest[0]) || !isdigit((unsigned char) rest[1]))
			return -1;
		mm = (rest[0] - '0') * 10 + (rest[1] - '0');
		rest += 2;
		if (hh > 23 || mm > 59)
			return -1;
		offset_s = sign * (hh * 3600L + mm * 60L);
	}
	if (*rest != '\0')
		return -1;
	/* The local time written minus its offset is UTC. */
	return time_t_to_timestamptz(timegm(&tm) - offset_s);
}

static char *
copy_to_cache(const char *s)
{
	return s ? MemoryContextStrdup(cache_context(), s) : NULL;
}

/* The parsed answer holds the secrets too; it is freed (unwiped) with its context. */
static void
wipe_tree_secrets(const char *secret, const char *token)
{
	if (secret)
		explicit_bzero((char *) secret, strlen(secret));
	if (token)
		explicit_bzero((char *) token, strlen(token));
}

/*
 * Takes credentials out of a metadata JSON answer into the cache.  Returns
 * NULL on success, else what was wrong (no secrets in it).
 */
static const char *
cache_fetched(const char *url, const char *source, const char *json, size_t len)
{
	cJSON	   *doc = json_parse(json, len);
	const char *code = json_get_string(doc, "Code");
	const char *key = json_get_string(doc, "AccessKeyId");
	const char *secret = json_get_string(doc, "SecretAccessKey");
	const char *token = json_get_string(doc, "Token");
	TimestampTz expiration;
	const char *wrong = NULL;

	if (doc == NULL)
		wrong = "the answer is not JSON";
	else if (code && strcmp(code, "Success") != 0)
		wrong = psprintf("the answer's Code is \"%s\"", code);
	else if (!is_set(key) || !is_set(secret))
		wrong = "the answer has no AccessKeyId and SecretAccessKey";
	if (wrong)
	{
		wipe_tree_secrets(secret, token);
		return wrong;
	}

	expiration = credentials_parse_expiration(json_get_string(doc, "Expiration"));
	if (expiration < 0)
	{
		wipe_tree_secrets(secret, token);
		return "the answer's Expiration is not an ISO 8601 timestamp";
	}
	credentials_cache_store(url, source, key, secret, token, expiration);
	wipe_tree_secrets(secret, token);
	return NULL;
}

void
credentials_cache_store(const char *provider, const char *source, const char *access_key_id,
						const char *secret_access_key, const char *session_token, TimestampTz expiration)
{
	TimestampTz now = GetCurrentTimestamp();
	FetchedSlot *slot = fetched_slot(provider);

	if (slot == NULL)
	{
		/* a free slot, or the least recently used */
		slot = &fetched_slots[0];
		for (int i = 0; i < FETCHED_SLOTS && slot->valid; i++)
			if (!fetched_slots[i].valid || fetched_slots[i].used_at < slot->used_at)
				slot = &fetched_slots[i];
	}
	forget_slot(slot);
	slot->creds.access_key_id = copy_to_cache(access_key_id);
	slot->creds.secret_access_key = copy_to_cache(secret_access_key);
	slot->creds.session_token = is_set(session_token) ? copy_to_cache(session_token) : NULL;
	slot->creds.source = copy_to_cache(source);
	slot->creds.expiration = expiration;
	slot->provider = copy_to_cache(provider);
	if (expiration == 0)
		slot->refresh_at = now + NO_EXPIRY_REFRESH_USECS;
	else
		slot->refresh_at = expiration - Min(REFRESH_MARGIN_USECS, Max(0, (expiration - now) / 2));
	slot->used_at = now;
	slot->valid = true;
}

bool
credentials_cache_fresh(const char *provider, AwsCredentials *out)
{
	FetchedSlot *slot = fetched_slot(provider);
	TimestampTz now = GetCurrentTimestamp();

	if (slot == NULL || now >= slot->refresh_at)
		return false;
	slot->used_at = now;
	*out = slot->creds;
	return true;
}

void
credentials_cache_defer_refresh(const char *provider)
{
	FetchedSlot *slot = fetched_slot(provider);
	TimestampTz next = GetCurrentTimestamp() + (TimestampTz) REFRESH_RETRY_AFTER_FAILURE_S * USECS_PER_SEC;

	if (slot == NULL)
		return;
	slot->refresh_at = slot->creds.expiration != 0 ? Min(next, slot->creds.expiration) : next;
}

bool
credentials_cache_still_valid(const char *provider, AwsCredentials *out)
{
	FetchedSlot *slot = fetched_slot(provider);
	TimestampTz now = GetCurrentTimestamp();

	if (slot == NULL || (slot->creds.expiration != 0 && now >= slot->creds.expiration))
		return false;
	slot->used_at = now;
	*out = slot->creds;
	return true;
}

void
credentials_cache_wipe_string(const char *s)
{
	if (s)
		explicit_bzero((char *) s, strlen(s));
}


/*
 * One GET or PUT to a metadata service.  Returns the body (to be wiped with
 * http_wipe_response once read), or NULL with *why, which names the
 * service as display: a URL can itself be a secret.
 */
static const char *
metadata_request(const char *method, const char *url, const char *display,
				 const HttpHeader *headers, int n_headers, int timeout_ms,
				 size_t *len, char **why)
{
	HttpRequest req = {0};
	HttpResponse resp;

	req.method = method;
	req.url = url;
	req.headers = headers;
	req.n_headers = n_headers;
	req.connect_timeout_ms = Min(timeout_ms, dynamo_connect_timeout_ms);
	req.timeout_ms = timeout_ms;
	req.bypass_proxy = true;
	req.resend_safe = true;		/* reads, and a token PUT that may be repeated */
	http_perform(&req, &resp);
	if (resp.outcome != HTTP_DONE)
	{
		*why = psprintf("%s %s: %s", method, display, http_outcome_name(resp.outcome));
		return NULL;
	}
	if (resp.status != 200)
	{
		*why = psprintf("%s %s: HTTP status %ld", method, display, resp.status);
		return NULL;
	}
	*len = resp.body_len;
	return resp.body;
}

static char *
container_authorization(void)
{
	const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char	   *value = NULL;

	if (is_set(file))
	{
		FILE	   *f = fopen(file, "r");
		char		buf[8192];
		size_t		n;

		if (f == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("could not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\": %m", file)));
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		/* Refused, never cut: a token cut short is another token. */
		if (n == sizeof(buf) || memchr(buf, '\0', n))
		{
			explicit_bzero(buf, sizeof(buf));
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the container authorization token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"%s\" %s",
							file, n == sizeof(buf) ? "is longer than 8191 bytes" : "holds a NUL byte")));
		}
		buf[n] = '\0';
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		value = pstrdup(buf);
		explicit_bzero(buf, sizeof(buf));
	}
	else if (is_set(token))
		value = pstrdup(token);

	if (value && strpbrk(value, "\r\n"))
	{
		wipe_pfree(value);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the container authorization token contains a line break")));
	}
	return value;
}

/*
 * The container credentials URL, and *display, what messages may show of
 * it: the relative URI is a bearer key on the ECS agent, never shown.
 */
static char *
container_url(const char **display)
{
	const char *relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if (is_set(relative))
	{
		*display = "the ECS agent (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)";
		return psprintf("http://169.254.170.2%s%s", relative[0] == '/' ? "" : "/", relative);
	}
	if (is_set(full))
	{
		*display = full;
		return pstrdup(full);
	}
	return NULL;
}

static void
from_container(const char *url, const char *display, AwsCredentials *out)
{
	char	   *why = NULL;

	if (!credentials_cache_fresh(url, out))
	{
		char	   *volatile authorization = NULL;
		HttpHeader	header;
		const char *body;
		size_t		len = 0;

		if (!container_url_is_allowed(url))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the container credentials URI of %s is not allowed", display),
					 errdetail("It must use https, or http to a loopback or ECS/EKS metadata address, "
							   "without user information.")));
		PG_TRY();
		{
			authorization = container_authorization();
			header.name = "Authorization";
			header.value = authorization;
			body = metadata_request("GET", url, display, &header, authorization ? 1 : 0,
									CONTAINER_TIMEOUT_MS, &len, &why);
			if (body)
				why = (char *) cache_fetched(url, psprintf("container credentials at %s", display),
											 body, len);
		}
		PG_FINALLY();
		{
			http_wipe_response();
			if (authorization)
				wipe_pfree(authorization);
		}
		PG_END_TRY();
		if (why)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("could not get AWS credentials from the container credentials endpoint"),
					 errdetail("%s", why)));
		if (!credentials_cache_fresh(url, out) && !credentials_cache_still_valid(url, out))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the container credentials endpoint gave credentials that have already expired")));
	}
}

/* Container credentials when a container credentials URI is set; false otherwise. */
static bool
from_container_if_set(AwsCredentials *out)
{
	const char *display;
	char	   *url = container_url(&display);

	if (url == NULL)
		return false;
	from_container(url, display, out);
	return true;
}

static bool
imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");

	return v != NULL && pg_strcasecmp(v, "true") == 0;
}

/* Not inlined: its locals would sit beside a PG_TRY's setjmp. */
static pg_noinline char *
imds_base_url(void)
{
	const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	char	   *url;
	size_t		len;

	if (is_set(endpoint))
		url = pstrdup(endpoint);
	else if (mode && pg_strcasecmp(mode, "IPv6") == 0)
		url = pstrdup("http://[fd00:ec2::254]");
	else
		url = pstrdup("http://169.254.169.254");
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	return url;
}

/* With an IMDSv2 session token: the role name, then the role's credentials. */
static bool
imds_role_credentials(const char *base, const char *roles_url, const char *token, char **why)
{
	HttpHeader	header = {"X-aws-ec2-metadata-token", token};
	const char *body;
	size_t		len = 0;
	char	   *role;
	char	   *creds_url;
	char	   *nl;

	body = metadata_request("GET", roles_url, roles_url, &header, 1, METADATA_TIMEOUT_MS, &len, why);
	if (body == NULL)
		return false;
	role = pnstrdup(body, len);
	if ((nl = strpbrk(role, "\r\n")) != NULL)
		*nl = '\0';
	if (role[0] == '\0' || strchr(role, '/') != NULL)
	{
		*why = psprintf("GET %s: no IAM role is attached to this instance", roles_url);
		return false;
	}
	creds_url = psprintf("%s%s", roles_url, role);
	body = metadata_request("GET", creds_url, creds_url, &header, 1, METADATA_TIMEOUT_MS, &len, why);
	if (body == NULL)
		return false;
	*why = (char *) cache_fetched(roles_url,
								  psprintf("instance metadata at %s (role \"%s\")", base, role),
								  body, len);
	return *why == NULL;
}

/*
 * IMDSv2: a session token first (PUT), then the role name, then the role's
 * credentials.  Returns false with *why when the service does not deliver.
 * The session token and every answer are wiped on every path.
 */
static bool
from_instance_metadata(AwsCredentials *out, char **why)
{
	char	   *base = imds_base_url();
	char	   *roles_url = psprintf("%s/latest/meta-data/iam/security-credentials/", base);
	HttpHeader	header = {"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
	const char *body;
	size_t		len = 0;
	char	   *volatile token;
	volatile bool ok = false;

	if (credentials_cache_fresh(roles_url, out))
		return true;

	body = metadata_request("PUT", psprintf("%s/latest/api/token", base), base, &header, 1,
							METADATA_TIMEOUT_MS, &len, why);
	if (body == NULL)
		return false;
	token = pnstrdup(body, len);
	PG_TRY();
	{
		http_wipe_response();
		ok = imds_role_credentials(base, roles_url, token, why);
	}
	PG_FINALLY();
	{
		http_wipe_response();
		wipe_pfree(token);
	}
	PG_END_TRY();
	if (ok && !credentials_cache_fresh(roles_url, out) && !credentials_cache_still_valid(roles_url, out))
	{
		*why = pstrdup("instance metadata gave credentials that have already expired");
		ok = false;
	}
	return ok;
}

/*
 * A key ID and secret given together (settings or environment).  Returns
 * false when neither is set; half a pair is an error, not a step onwards.
 */
static bool
from_key_pair(const char *key, const char *secret, const char *token,
			  const char *source, AwsCredentials *out)
{
	if (!is_set(key) && !is_set(secret))
		return false;
	if (!is_set(key) || !is_set(secret))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("an access key ID and a secret access key must be set together"),
				 errdetail("Only one of the pair is set in %s.", source)));
	out->access_key_id = key;
	out->secret_access_key = secret;
	out->session_token = is_set(token) ? token : NULL;
	out->source = source;
	return true;
}

void
aws_credentials_get(AwsCredentials *out)
{
	bool		profile_explicit;
	const char *profile;
	char	   *imds_why = NULL;

	memset(out, 0, sizeof(*out));

	if (from_key_pair(dynamo_access_key_id, dynamo_secret_access_key, dynamo_session_token,
					  "dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key", out))
		return;

	if (is_set(dynamo_profile))
	{
		from_profile(dynamo_profile, true, out);
		return;
	}

	if (from_key_pair(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
					  getenv("AWS_SESSION_TOKEN"),
					  "environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", out))
		return;

	profile = aws_profile_name(&profile_explicit);
	if (from_profile(profile, profile_explicit, out))
		return;

	/* EKS IAM roles for service accounts: a token file and a role, exchanged with STS */
	if (is_set(getenv("AWS_WEB_IDENTITY_TOKEN_FILE")) || is_set(getenv("AWS_ROLE_ARN")))
	{
		if (!is_set(getenv("AWS_WEB_IDENTITY_TOKEN_FILE")) || !is_set(getenv("AWS_ROLE_ARN")))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must be set together"),
					 errdetail("Only one of them is set in the server's environment.")));
		credentials_from_web_identity(getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), getenv("AWS_ROLE_ARN"),
									  getenv("AWS_ROLE_SESSION_NAME"), "environment (AWS_WEB_IDENTITY_TOKEN_FILE)", out);
		return;
	}

	if (from_container_if_set(out))
		return;

	if (!imds_disabled() && from_instance_metadata(out, &imds_why))
		return;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("Looked in: the dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key settings; "
					   "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables; "
					   "%s; web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set); "
					   "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set); "
					   "instance metadata (%s).",
					   profile_cache.source,
					   imds_why ? imds_why : "disabled by AWS_EC2_METADATA_DISABLED"),
			 errhint("Set dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key, "
					 "or give the server's environment AWS credentials.")));
}
