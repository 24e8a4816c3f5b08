/*
 * harness.c -- temp dir, certificates, free ports, peerd and redis-server
 * processes, peerd's log.
 *
 * Ports are picked by binding 127.0.0.1:0 and closing again; another
 * process may take one in between, so a start that fails while a port is
 * taken is retried on fresh ports.  Readiness is "the port is in LISTEN"
 * read from /proc/net/tcp, which makes no connection (a probe connection
 * would show up in peerd's log as a failed handshake).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "harness.h"
#include "lib/tproc.h"

#define HARNESS_POLL_MS		10	/* ms between readiness checks */
#define HARNESS_START_TRIES	3	/* starts on fresh ports, at most */
#define HARNESS_LOG_MAX		(8 << 20) /* bytes of peerd log read at most */
#define HARNESS_DUMP_LINES	60	/* lines of log printed on failure */
#define HARNESS_DIR_PREFIX	"peerd-test."	/* + creator pid + ".XXXXXX" */
#define HARNESS_KEPT		"kept"	/* file marking a HARNESS_KEEP dir */
#define HARNESS_WRAP_ARGS	32	/* words of PEERD_WRAPPER, at most */
#define HARNESS_VG_EXIT		99	/* memcheck.mk: --error-exitcode */
#define HARNESS_SCAN_MAX	(8 << 20) /* bytes of one file checked */
#define HARNESS_REPORT_MAX	6000	/* bytes of a report printed */
#define HARNESS_SCAN_DEPTH	2	/* levels of subdirs checked */

/*
 * What peerd logs when its first contact with a running Redis is over:
 * the revocation list is read (supporters are admitted from then on), or
 * it failed in a way that does not clear by itself.
 */
static const char *harness_redis_settled[] = {
	"event=revocations_known",
	"event=redis_auth_failed",
	"event=redis_down",
};

/*
 * What a sanitizer prints when it finds something (ASan, LSan, UBSan;
 * with -fno-sanitize-recover UBSan stops at the first "runtime error").
 */
static const char *harness_san_marks[] = {
	"ERROR: AddressSanitizer",
	"ERROR: LeakSanitizer",
	"LeakSanitizer has encountered a fatal error",
	"ERROR: UndefinedBehaviorSanitizer",
	"Sanitizer:DEADLYSIGNAL",
	": runtime error: ",
};

int
harness_slow(void)
{
	static int	 slow;
	const char	*s;
	char		*end;
	long		 v;

	if (slow == 0) {
		slow = 1;
		if ((s = getenv("HARNESS_SLOW")) != NULL && *s != '\0') {
			v = strtol(s, &end, 10);
			if (*end == '\0' && v >= 1 && v <= HARNESS_SLOW_MAX)
				slow = (int)v;
		}
	}
	return (slow);
}

void
harness_skip_if_slow(const char *why)
{
	if (harness_slow() > 1) {
		fprintf(stderr, "harness: skipped at HARNESS_SLOW=%d: %s\n",
		    harness_slow(), why);
		skip();
	}
}

int64_t
harness_now_ms(void)
{
	return (tproc_now_ms());
}

void
harness_msleep(int ms)
{
	tproc_msleep(ms);
}

/* A port other than a and b (the kernel may hand one just closed again). */
static int
harness_free_port_except(int a, int b)
{
	int	avoid[2] = { a, b };

	return (tproc_free_port(avoid, 2));
}

int
harness_port_listening(int port)
{
	return (tproc_listening(port, -1));
}

/* Join a and b into out.  Returns 0, or -1 if it does not fit. */
static int
harness_path(char *out, const char *a, const char *b)
{
	int	n;

	n = snprintf(out, HARNESS_PATH, "%s/%s", a, b);
	return (n < 0 || n >= HARNESS_PATH ? -1 : 0);
}

/* SIGTERM, SIGKILL after HARNESS_STOP_MS, reap. */
static int
harness_kill(pid_t *pid, int *status)
{
	return (tproc_stop(pid, HARNESS_STOP_MS, status, "harness"));
}

/*
 * Wait until port listens while *pid lives.  Returns 0 when listening, -1
 * if the process exited (reaped, *status set) or time ran out.
 */
static int
harness_wait_listen(pid_t *pid, int *status, int port, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		if (tproc_reap(pid, 0, status) == 0)
			return (-1);
		if (tproc_listening(port, *pid))
			return (0);
		if (harness_now_ms() >= deadline)
			return (-1);
		harness_msleep(HARNESS_POLL_MS);
	}
}

/* Run the dev certificate script into dir.  Returns 0 or -1. */
static int
harness_gen_certs(struct harness *h, const char *dir)
{
	char	script[HARNESS_PATH], logpath[HARNESS_PATH];
	char	*argv[] = { script, (char *)dir, NULL };

	if (harness_path(script, h->src, "deploy/gen-dev-certs.sh") == -1 ||
	    harness_path(logpath, h->dir, "certs.log") == -1)
		return (-1);
	if (tproc_run(argv, logpath, 30000, "harness") != 0) {
		fprintf(stderr, "harness: %s %s failed (see %s)\n", script,
		    dir, logpath);
		return (-1);
	}
	return (0);
}

struct harness *
harness_new(void)
{
	struct harness	*h;
	const char	*tmp;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return (NULL);
	h->peerd_pid = h->redis_pid = -1;
	h->peerd_status = -1;
	h->src = getenv("PEERD_SRC");
	h->peerd_bin = getenv("PEERD_BIN");
	h->peer_bin = getenv("PEER_BIN");
	h->peerctl_bin = getenv("PEERCTL_BIN");
	if (h->src == NULL || h->peerd_bin == NULL) {
		fprintf(stderr, "harness: PEERD_SRC and PEERD_BIN must be set "
		    "(make test sets them)\n");
		free(h);
		return (NULL);
	}
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	tproc_sweep(tmp, HARNESS_DIR_PREFIX, HARNESS_KEPT);
	snprintf(h->dir, sizeof h->dir, "%s/" HARNESS_DIR_PREFIX "%ld.XXXXXX",
	    tmp, (long)getpid());
	if (mkdtemp(h->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", h->dir,
		    strerror(errno));
		free(h);
		return (NULL);
	}
	if (harness_path(h->conf, h->dir, "peerd.conf") == -1 ||
	    harness_path(h->log, h->dir, "peerd.log") == -1 ||
	    harness_path(h->redis_log, h->dir, "redis.log") == -1 ||
	    harness_path(h->ca, h->dir, "ca.pem") == -1 ||
	    harness_path(h->cert, h->dir, "server.pem") == -1 ||
	    harness_path(h->key, h->dir, "server.key") == -1 ||
	    harness_gen_certs(h, h->dir) == -1)
		goto fail;
	h->port = tproc_free_port(NULL, 0);
	h->admin_port = harness_free_port_except(h->port, -1);
	h->redis_port = harness_free_port_except(h->port, h->admin_port);
	if (h->port == -1 || h->admin_port == -1 || h->redis_port == -1)
		goto fail;
	return (h);
fail:
	harness_free(h);
	return (NULL);
}

void
harness_free(struct harness *h)
{
	const char	*keep, *verbose;
	char		 path[HARNESS_PATH];
	int		 fd;

	if (h == NULL)
		return;
	harness_peerd_stop(h);
	harness_redis_stop(h);
	if ((verbose = getenv("HARNESS_VERBOSE")) != NULL && *verbose == '1')
		harness_log_dump(h);
	keep = getenv("HARNESS_KEEP");
	if (keep != NULL && *keep == '1') {
		/* Marked, so the next test's sweep leaves it alone. */
		if (harness_path(path, h->dir, HARNESS_KEPT) == 0 &&
		    (fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1)
			close(fd);
		fprintf(stderr, "harness: kept %s\n", h->dir);
	}
	else if (h->dir[0] != '\0')
		(void)tproc_rmtree(h->dir);
	free(h->extra);
	free(h);
}

int
harness_redis_start(struct harness *h)
{
	char	 port[16];
	char	*argv[] = { (char *)"redis-server", (char *)"--port", port,
		    (char *)"--bind", (char *)"127.0.0.1",
		    (char *)"--save", (char *)"",
		    (char *)"--appendonly", (char *)"no",
		    (char *)"--dir", h->dir, NULL, NULL, NULL };
	int	 try, status;

	if (h->redis_pid != -1)
		return (-1);
	if (h->redis_password[0] != '\0') {
		/* The last two slots; redis-server reads them like a file's. */
		argv[11] = (char *)"--requirepass";
		argv[12] = h->redis_password;
	}
	for (try = 0; try < HARNESS_START_TRIES; try++) {
		if (try > 0 || harness_port_listening(h->redis_port)) {
			/* peerd knows the port already: keep it then. */
			if (h->peerd_pid != -1)
				break;
			h->redis_port = harness_free_port_except(h->port,
			    h->admin_port);
		}
		snprintf(port, sizeof port, "%d", h->redis_port);
		if ((h->redis_pid = tproc_spawn(argv, h->redis_log, "harness")) == -1)
			return (-1);
		if (harness_wait_listen(&h->redis_pid, &status, h->redis_port,
		    HARNESS_START_MS) == 0)
			return (0);
		harness_kill(&h->redis_pid, NULL);
	}
	fprintf(stderr, "harness: redis-server did not start on port %d "
	    "(see %s)\n", h->redis_port, h->redis_log);
	return (-1);
}

int
harness_redis_stop(struct harness *h)
{
	return (harness_kill(&h->redis_pid, NULL));
}

struct redisContext *
harness_redis_connect(struct harness *h)
{
	struct timeval	 tv = { HARNESS_IO_MS / 1000, 0 };
	redisContext	*rc;
	redisReply	*r;

	rc = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "harness: connect to Redis 127.0.0.1:%d: %s\n",
		    h->redis_port, rc != NULL ? rc->errstr : "no memory");
		if (rc != NULL)
			redisFree(rc);
		return (NULL);
	}
	redisSetTimeout(rc, tv);
	if (h->redis_password[0] == '\0')
		return (rc);
	r = redisCommand(rc, "AUTH %s", h->redis_password);
	if (r == NULL || r->type != REDIS_REPLY_STATUS) {
		fprintf(stderr, "harness: Redis AUTH: %s\n", r == NULL ?
		    rc->errstr : r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
		if (r != NULL)
			freeReplyObject(r);
		redisFree(rc);
		return (NULL);
	}
	freeReplyObject(r);
	return (rc);
}

/* Return how many of harness_redis_settled's events peerd's log has. */
static int
harness_settled_count(struct harness *h)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < sizeof harness_redis_settled /
	    sizeof harness_redis_settled[0]; i++)
		n += harness_log_count(h, harness_redis_settled[i]);
	return (n);
}

/*
 * Wait until the peerd just started has logged more settling events than
 * the before it had (the log is appended to across restarts).  Time
 * running out is only reported: the test's own checks say what it means.
 */
static void
harness_peerd_settle(struct harness *h, int before)
{
	int64_t	deadline = harness_now_ms() + HARNESS_START_MS;

	while (harness_settled_count(h) <= before) {
		if (harness_now_ms() >= deadline || !harness_peerd_alive(h)) {
			fprintf(stderr, "harness: peerd did not read the "
			    "revocation list from Redis in %d ms\n",
			    HARNESS_START_MS);
			return;
		}
		harness_msleep(HARNESS_POLL_MS);
	}
}

/* Write the peerd config for the current ports.  Returns 0 or -1. */
static int
harness_write_conf(struct harness *h, const char *extra)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(h->conf, "w")) == NULL)
		return (-1);
	fprintf(f, "# written by tests/integration/harness.c\n"
	    "listen 127.0.0.1:%d\n"
	    "admin_listen 127.0.0.1:%d\n"
	    "tls_cert %s\n"
	    "tls_key %s\n"
	    "redis 127.0.0.1:%d\n"
	    "log_level debug\n"
	    "node_id test\n"
	    "allow_root yes\n",
	    h->port, h->admin_port, h->cert, h->key, h->redis_port);
	if (extra != NULL) {
		fputs(extra, f);
		if (*extra != '\0' && extra[strlen(extra) - 1] != '\n')
			fputc('\n', f);
	}
	ok = ferror(f) == 0;
	if (fclose(f) != 0 || !ok)
		return (-1);
	return (0);
}

/*
 * Note in h->unclean (the first reason only) why the peerd just reaped
 * with wait status st was not clean: a crash, valgrind's error exit, or,
 * when it was told to stop (stopped), anything but exit 0.
 */
static void
harness_peerd_reaped(struct harness *h, int st, int stopped)
{
	char	why[sizeof h->unclean];
	int	sig;

	if (st == -1)
		return;
	if (WIFSIGNALED(st)) {
		sig = WTERMSIG(st);
		if (!stopped && sig != SIGSEGV && sig != SIGBUS &&
		    sig != SIGILL && sig != SIGFPE && sig != SIGABRT &&
		    sig != SIGSYS && sig != SIGTRAP)
			return;		/* a test's own kill */
		snprintf(why, sizeof why, "peerd died of signal %d (%s)%s",
		    sig, strsignal(sig), stopped ? " after being told to stop" :
		    "");
	} else if (WIFEXITED(st)) {
		if (WEXITSTATUS(st) == 0 || (!stopped &&
		    WEXITSTATUS(st) != HARNESS_VG_EXIT))
			return;		/* a refusal a test asked for */
		snprintf(why, sizeof why, "peerd exited %d%s%s",
		    WEXITSTATUS(st), stopped ? " after being told to stop" : "",
		    WEXITSTATUS(st) == HARNESS_VG_EXIT ?
		    " (valgrind's error exit code)" : "");
	} else
		return;
	fprintf(stderr, "harness: %s\n", why);
	if (h->unclean[0] == '\0')
		memcpy(h->unclean, why, sizeof h->unclean);
}

/*
 * tproc_reap() for peerd, noting an unclean exit (after a test's SIGTERM
 * or SIGINT, as after the harness's own, only exit 0 is clean).
 */
static int
harness_peerd_reap(struct harness *h, int timeout_ms)
{
	pid_t	was = h->peerd_pid;
	int	r;

	r = tproc_reap(&h->peerd_pid, timeout_ms, &h->peerd_status);
	if (was != -1 && h->peerd_pid == -1)
		harness_peerd_reaped(h, h->peerd_status, h->peerd_asked);
	return (r);
}

/*
 * Fill argv with the words of $PEERD_WRAPPER (in the buffer *wrap, which
 * the caller frees), then peerd -c conf.  Returns 0, or -1 if out of memory.
 */
static int
harness_peerd_argv(struct harness *h, char *argv[], char **wrap)
{
	const char	*env;
	char		*w, *last;
	int		 n = 0;

	*wrap = NULL;
	if ((env = getenv("PEERD_WRAPPER")) != NULL && *env != '\0') {
		if ((*wrap = strdup(env)) == NULL)
			return (-1);
		for (w = strtok_r(*wrap, " \t", &last);
		    w != NULL && n < HARNESS_WRAP_ARGS;
		    w = strtok_r(NULL, " \t", &last))
			argv[n++] = w;
	}
	argv[n++] = (char *)h->peerd_bin;
	argv[n++] = (char *)"-c";
	argv[n++] = h->conf;
	argv[n] = NULL;
	return (0);
}

int
harness_peerd_start(struct harness *h, const char *extra)
{
	char	*argv[HARNESS_WRAP_ARGS + 4], *wrap;
	char	*copy = NULL;
	int	 try, admin_deadline, settled;

	if (h->peerd_pid != -1)
		return (-1);
	if (extra != NULL && (copy = strdup(extra)) == NULL)
		return (-1);
	free(h->extra);
	h->extra = copy;
	if (harness_peerd_argv(h, argv, &wrap) == -1)
		return (-1);
	/* A wrapper may put its own logs there (valgrind's %q{...}). */
	setenv("PEERD_TEST_DIR", h->dir, 1);
	settled = harness_settled_count(h);
	for (try = 0; try < HARNESS_START_TRIES; try++) {
		if (try > 0 || harness_port_listening(h->port) ||
		    harness_port_listening(h->admin_port)) {
			h->port = harness_free_port_except(h->redis_port, -1);
			h->admin_port = harness_free_port_except(h->port,
			    h->redis_port);
		}
		if (harness_write_conf(h, h->extra) == -1) {
			fprintf(stderr, "harness: cannot write %s\n", h->conf);
			free(wrap);
			return (-1);
		}
		h->peerd_asked = 0;
		if ((h->peerd_pid = tproc_spawn(argv, h->log, "harness")) == -1) {
			free(wrap);
			return (-1);
		}
		if (harness_wait_listen(&h->peerd_pid, &h->peerd_status,
		    h->port, HARNESS_START_MS) == 0) {
			/* The admin port is best effort: give it a moment. */
			admin_deadline = 100 * harness_slow();
			while (!tproc_listening(h->admin_port,
			    h->peerd_pid) && admin_deadline-- > 0)
				harness_msleep(HARNESS_POLL_MS);
			free(wrap);
			if (h->redis_pid != -1)
				harness_peerd_settle(h, settled);
			return (0);
		}
		if (h->peerd_pid != -1) {
			fprintf(stderr, "harness: peerd not listening on %d "
			    "after %d ms\n", h->port, HARNESS_START_MS);
			harness_kill(&h->peerd_pid, &h->peerd_status);
			break;
		}
		harness_peerd_reaped(h, h->peerd_status, 0);
		/* It exited: retry only if a port was taken meanwhile. */
		if (!harness_port_listening(h->port) &&
		    !harness_port_listening(h->admin_port) &&
		    !harness_log_contains(h, "in use"))
			break;
		fprintf(stderr, "harness: port taken, retrying peerd\n");
	}
	free(wrap);
	fprintf(stderr, "harness: peerd failed to start (status %d); log:\n",
	    h->peerd_status);
	harness_log_dump(h);
	return (-1);
}

int
harness_peerd_signal(struct harness *h, int sig)
{
	if (h->peerd_pid == -1)
		return (-1);
	if (sig == SIGTERM || sig == SIGINT)
		h->peerd_asked = 1;
	return (kill(h->peerd_pid, sig));
}

int
harness_peerd_wait(struct harness *h, int timeout_ms)
{
	return (harness_peerd_reap(h, timeout_ms));
}

int
harness_peerd_alive(struct harness *h)
{
	harness_peerd_reap(h, 0);
	return (h->peerd_pid != -1);
}

int
harness_peerd_stop(struct harness *h)
{
	int	r;

	/* One that exited on its own or as a test asked: not stopped here. */
	if (harness_peerd_reap(h, h->peerd_asked ? HARNESS_STOP_MS : 0) == 0
	    && h->peerd_pid == -1)
		return (0);
	r = harness_kill(&h->peerd_pid, &h->peerd_status);
	if (h->peerd_pid == -1)
		harness_peerd_reaped(h, h->peerd_status, 1);
	return (r);
}

/* Read peerd's log into a NUL-terminated buffer.  Returns NULL if none. */
static char *
harness_log_read(struct harness *h)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(h->log, "r")) == NULL)
		return (NULL);
	if ((buf = malloc(HARNESS_LOG_MAX + 1)) == NULL) {
		fclose(f);
		return (NULL);
	}
	n = fread(buf, 1, HARNESS_LOG_MAX, f);
	fclose(f);
	buf[n] = '\0';
	/* The log is text; a stray NUL would hide what follows it. */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = '?';
	return (buf);
}

int
harness_log_count(struct harness *h, const char *needle)
{
	char		*buf;
	const char	*p;
	int		 n = 0;

	if (*needle == '\0' || (buf = harness_log_read(h)) == NULL)
		return (0);
	for (p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(buf);
	return (n);
}

int
harness_log_contains(struct harness *h, const char *needle)
{
	return (harness_log_count(h, needle) > 0);
}

int
harness_log_wait(struct harness *h, const char *needle, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		if (harness_log_contains(h, needle))
			return (0);
		if (harness_now_ms() >= deadline)
			return (-1);
		harness_msleep(HARNESS_POLL_MS * 2);
	}
}

void
harness_log_dump(struct harness *h)
{
	char	*buf, *p;
	int	 lines = 0;

	if ((buf = harness_log_read(h)) == NULL) {
		fprintf(stderr, "harness: no log at %s\n", h->log);
		return;
	}
	for (p = buf + strlen(buf); p > buf; p--) {
		if (p[-1] == '\n' && *p != '\0' &&
		    ++lines > HARNESS_DUMP_LINES)
			break;
	}
	fprintf(stderr, "---- %s (tail) ----\n%s---- end ----\n", h->log, p);
	free(buf);
}

/*
 * Print the report that starts around buf[at] (from the start of its line,
 * and the line of '=' before it, if any) to stderr, HARNESS_REPORT_MAX
 * bytes at most.
 */
static void
harness_print_report(const char *path, const char *buf, size_t len,
    size_t at)
{
	size_t	start = at, n;

	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start > 0) {
		n = start - 1;
		while (n > 0 && buf[n - 1] == '=')
			n--;
		if (n + 1 < start && (n == 0 || buf[n - 1] == '\n'))
			start = n;
	}
	n = len - start;
	if (n > HARNESS_REPORT_MAX)
		n = HARNESS_REPORT_MAX;
	fprintf(stderr, "---- %s ----\n%.*s%s---- end ----\n", path, (int)n,
	    buf + start, n > 0 && buf[start + n - 1] == '\n' ? "" : "\n");
}

/*
 * Return 1 if the figure after label in a valgrind log ("definitely lost: "
 * then "1,234 bytes") is not zero, 0 if it is zero or absent.
 */
static int
harness_vg_nonzero(const char *buf, const char *label)
{
	const char	*p;

	if ((p = strstr(buf, label)) == NULL)
		return (0);
	p += strlen(label);
	while (*p == ' ')
		p++;
	return (isdigit((unsigned char)*p) && !(p[0] == '0' && p[1] == ' '));
}

/*
 * Check a valgrind log (NUL-terminated buf) for errors and definite or
 * indirect leaks.  A log without a summary is a peerd killed before its
 * exit (a test's SIGKILL): nothing to judge.  Returns 1 if it shows
 * something, else 0.
 */
static int
harness_check_valgrind(const char *path, const char *buf, size_t len)
{
	static const char	*starts[] = { "Invalid ", "uninitialised",
				    "Syscall param", "Mismatched free",
				    "overlap", "definitely lost in",
				    "indirectly lost in", "ERROR SUMMARY" };
	const char		*p, *first = NULL;
	size_t			 i;

	if ((p = strstr(buf, "ERROR SUMMARY: ")) == NULL)
		return (0);
	if (strncmp(p, "ERROR SUMMARY: 0 errors", 23) == 0 &&
	    !harness_vg_nonzero(buf, "definitely lost:") &&
	    !harness_vg_nonzero(buf, "indirectly lost:"))
		return (0);
	fprintf(stderr, "harness: valgrind found errors or leaks in peerd "
	    "(%s)\n", path);
	for (i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		if ((p = strstr(buf, starts[i])) != NULL &&
		    (first == NULL || p < first))
			first = p;
	}
	harness_print_report(path, buf, len, (size_t)(first - buf));
	return (1);
}

/*
 * Check one file of the temp dir for a sanitizer report (any file: peerd's
 * log, a child's stderr) or, in valgrind.*, valgrind's verdict.  Returns 1
 * if it shows something, else 0.
 */
static int
harness_check_file(const char *path, const char *name)
{
	FILE		*f;
	char		*buf;
	const char	*p, *first = NULL;
	size_t		 n, i;
	int		 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	if ((buf = malloc(HARNESS_SCAN_MAX + 1)) == NULL) {
		fclose(f);
		return (0);
	}
	n = fread(buf, 1, HARNESS_SCAN_MAX, f);
	fclose(f);
	buf[n] = '\0';
	for (i = 0; i < n; i++)		/* text search over any bytes */
		if (buf[i] == '\0')
			buf[i] = '?';
	for (i = 0; i < sizeof harness_san_marks /
	    sizeof harness_san_marks[0]; i++) {
		if ((p = strstr(buf, harness_san_marks[i])) != NULL &&
		    (first == NULL || p < first))
			first = p;
	}
	if (first != NULL) {
		fprintf(stderr, "harness: sanitizer report in %s\n", path);
		harness_print_report(path, buf, n, (size_t)(first - buf));
		found = 1;
	}
	if (strncmp(name, "valgrind.", 9) == 0 &&
	    harness_check_valgrind(path, buf, n))
		found = 1;
	free(buf);
	return (found);
}

/*
 * Check every regular file under dir, depth levels down.  Returns 1 if any
 * shows something, else 0.
 */
static int
harness_check_dir(const char *dir, int depth)
{
	char		 path[HARNESS_PATH];
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	int		 found = 0;

	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    harness_path(path, dir, de->d_name) == -1 ||
		    lstat(path, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode) && depth > 0)
			found |= harness_check_dir(path, depth - 1);
		else if (S_ISREG(sb.st_mode) && sb.st_size > 0)
			found |= harness_check_file(path, de->d_name);
	}
	closedir(d);
	return (found);
}

int
harness_check(struct harness *h)
{
	int	found = 0;

	if (h == NULL)
		return (0);
	harness_peerd_stop(h);
	harness_redis_stop(h);
	if (h->unclean[0] != '\0') {
		fprintf(stderr, "harness: unclean peerd: %s\n", h->unclean);
		found = 1;
	}
	if (h->dir[0] != '\0' && harness_check_dir(h->dir, HARNESS_SCAN_DEPTH))
		found = 1;
	if (found && h->unclean[0] != '\0')
		harness_log_dump(h);
	return (found ? -1 : 0);
}

int
harness_make_ca(struct harness *h, const char *name, char *out, size_t outlen)
{
	char	dir[HARNESS_PATH];
	int	n;

	if (harness_path(dir, h->dir, name) == -1 ||
	    harness_gen_certs(h, dir) == -1)
		return (-1);
	n = snprintf(out, outlen, "%s/ca.pem", dir);
	return (n < 0 || (size_t)n >= outlen ? -1 : 0);
}

int
harness_run_cmd(struct harness *h, char *const argv[], int timeout_ms)
{
	char	logpath[HARNESS_PATH];

	if (harness_path(logpath, h->dir, "commands.log") == -1)
		return (-1);
	return (tproc_run(argv, logpath, timeout_ms, "harness"));
}

char *
harness_read_file(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return (buf);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return (buf);
}

char *
harness_commands_log(struct harness *h, char *buf, size_t len)
{
	char	path[HARNESS_PATH];

	buf[0] = '\0';
	if (harness_path(path, h->dir, "commands.log") == -1)
		return (buf);
	return (harness_read_file(path, buf, len));
}

int
harness_setup(void **state, int flags, const char *extra)
{
	struct harness	*h;

	/* peerd closing a socket under a write must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	*state = NULL;
	if ((h = harness_new()) == NULL)
		return (-1);
	if ((flags & HARNESS_REDIS) && harness_redis_start(h) == -1)
		goto fail;
	if (!(flags & HARNESS_NO_PEERD) && harness_peerd_start(h, extra) == -1)
		goto fail;
	*state = h;
	return (0);
fail:
	harness_free(h);
	return (-1);
}

int
harness_teardown(void **state)
{
	int	r;

	r = harness_check(*state);
	harness_free(*state);
	*state = NULL;
	return (r);
}
