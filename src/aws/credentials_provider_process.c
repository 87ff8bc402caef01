/*
 * credentials_provider_process.c - a profile's credential_process: a
 * command of the site's (a secret store's client) that prints credentials
 * as JSON, {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"
 * (optional), "Expiration" (optional, ISO 8601)}.
 *
 * Who runs it: the first process that finds the credentials due, a
 * backend or a lock worker, once for the whole server (credentials_cache.h:
 * the others use the current ones meanwhile, or wait for it when there are
 * none), so it runs once per server and expiry window; without preloading,
 * once per process.  Not a dedicated worker: a backend whose call needs
 * credentials would wait on it anyway, and a hung command must be
 * cancellable by that call's statement_timeout.  How: /bin/sh -c COMMAND, its standard input from
 * /dev/null and its standard error to /dev/null (it may hold secrets, and
 * must not reach the server log), its standard output read through a pipe
 * while the process waits on its latch: cancel, statement_timeout and
 * termination end the wait, and the command is killed.  It is never run
 * from a libcurl callback or while an LWLock is held, and it is given at
 * most dynamo_atomic.request_timeout_ms, never below its default with
 * shared memory (credentials_refresh_timeout_ms), then killed: 28000.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "credentials_cache.h"
#include "credentials_providers.h"
#include "json.h"
#include "settings.h"
#include "wait_events.h"

#define OUTPUT_MAX_BYTES 65536

extern char **environ;

typedef struct Child
{
	pid_t		pid;
	int			out;			/* the read end of its standard output */
} Child;

static void
start(const char *command, Child *child)
{
	int			pipe_fds[2];
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	char	   *argv[] = {"/bin/sh", "-c", (char *) command, NULL};
	int			rc;

	if (pipe(pipe_fds) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not run credential_process: pipe: %m")));
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
	posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
	posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
	/* a group of its own: killing it kills what it started too */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	rc = posix_spawn(&child->pid, "/bin/sh", &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	close(pipe_fds[1]);
	if (rc != 0)
	{
		close(pipe_fds[0]);
		errno = rc;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not run credential_process: %m")));
	}
	child->out = pipe_fds[0];
	(void) fcntl(child->out, F_SETFL, fcntl(child->out, F_GETFL) | O_NONBLOCK);
}

/* Kills the command if it still runs, and reaps it; its exit status, or -1. */
static int
stop(Child *child, bool kill_it)
{
	int			status = -1;

	if (child->out >= 0)
		close(child->out);
	child->out = -1;
	if (child->pid > 0)
	{
		if (kill_it)
			(void) kill(-child->pid, SIGKILL);
		while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR)
			;
		child->pid = 0;
	}
	return status;
}

/* Reads its standard output to the end, within deadline; false when it ran out. */
static bool
read_output(Child *child, StringInfo out, TimestampTz deadline)
{
	for (;;)
	{
		char		buf[4096];
		ssize_t		n = read(child->out, buf, sizeof(buf));
		long		left;

		if (n > 0)
		{
			if (out->len + n > OUTPUT_MAX_BYTES)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						 errmsg("credential_process printed more than %d bytes", OUTPUT_MAX_BYTES)));
			appendBinaryStringInfo(out, buf, n);
			continue;
		}
		if (n == 0)
			return true;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return true;
		left = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		if (left <= 0)
			return false;
		(void) WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 child->out, left, dynamo_wait_event(DYNAMO_WAIT_REQUEST));
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

void
credentials_from_process(const char *command, const char *origin, AwsCredentials *out)
{
	char	   *provider = psprintf("process %s", command);
	int			timeout_ms = credentials_refresh_timeout_ms();
	TimestampTz deadline = GetCurrentTimestamp() + (TimestampTz) timeout_ms * 1000;
	Child		child = {0, -1};
	StringInfoData output;
	volatile bool finished = false;
	int			status;
	cJSON	   *doc;
	const cJSON *version;
	const char *key;
	const char *secret;
	const char *token;
	TimestampTz expiration;

	if (credentials_cache_begin(provider, out))
		return;
	initStringInfo(&output);
	start(command, &child);
	PG_TRY();
	{
		finished = read_output(&child, &output, deadline);
	}
	PG_FINALLY();
	{
		/* cancelled, timed out or failed: the command does not outlive the wait */
		if (!finished)
			(void) stop(&child, true);
	}
	PG_END_TRY();
	if (!finished)
	{
		explicit_bzero(output.data, output.len);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("credential_process of %s did not finish within %d ms: "
						"it was killed", origin, timeout_ms),
				 errdetail("A credential_process is given dynamo_atomic.request_timeout_ms, at least 10 s and at most "
						   "60 s when the server shares credentials.")));
	}
	status = stop(&child, false);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		explicit_bzero(output.data, output.len);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("credential_process of %s failed (%s %d)", origin,
						WIFEXITED(status) ? "exit status" : "signal",
						WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? WTERMSIG(status) : -1),
				 errdetail("Its standard error is not shown: it may hold secrets.")));
	}
	doc = json_parse_unchecked(output.data, output.len);
	explicit_bzero(output.data, output.len);
	version = json_get(doc, "Version");
	key = json_get_string(doc, "AccessKeyId");
	secret = json_get_string(doc, "SecretAccessKey");
	token = json_get_string(doc, "SessionToken");
	expiration = credentials_parse_expiration(json_get_string(doc, "Expiration"));
	if (!cJSON_IsNumber(version) || version->valueint != 1 || key == NULL || key[0] == '\0' ||
		secret == NULL || secret[0] == '\0' || expiration < 0)
	{
		credentials_cache_wipe_string(secret);
		credentials_cache_wipe_string(token);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("credential_process of %s printed no usable credentials", origin),
				 errdetail("It must print JSON with \"Version\": 1, AccessKeyId and SecretAccessKey (SessionToken "
						   "and an ISO 8601 Expiration optional).")));
	}
	credentials_cache_store(provider, "credential_process", NULL, psprintf("credential_process (%s)", origin), key, secret, token, expiration);
	credentials_cache_wipe_string(secret);
	credentials_cache_wipe_string(token);
	if (!credentials_cache_fresh(provider, out) && !credentials_cache_still_valid(provider, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("credential_process of %s printed credentials that have already expired", origin)));
}
