/*
 * test_redis_auth.c -- peerd against a Redis that wants a password
 * (redis-server --requirepass): the right password (inline, from
 * redis_password_file, or for an ACL user) gives presence and revocations
 * as usual; a wrong or missing one keeps /healthz at 503 and logs
 * event=redis_auth_failed; a new password file is taken on SIGHUP; the
 * password never shows in the log, `peerd -t`, the admin port or the
 * process arguments; peerctl revoke authenticates from its environment.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define ERR_(x)		PEERD__V1__ERROR_CODE__ ## x
#define ROLE_(x)	PEERD__V1__ROLE__ ## x

/* Passwords unlike anything else in a log, so a leak is found by grep. */
#define AUTH_PW		"pw-7f3a9c-right"	/* Redis's requirepass */
#define AUTH_WRONG	"pw-0d41e2-wrong"
#define AUTH_ACL_USER	"peerd-node"
#define AUTH_ACL_PW	"pw-51be08-acl"
#define AUTH_CTL_PW	"pw-93c7d2-ctl"

/* The ACL rules deploy/redis-presence.conf gives peerd and peerctl. */
#define ACL_PEERD	"~peerd:* &peerd:* +@connection +@read +@write " \
			"+@keyspace +@transaction +@scripting +@pubsub " \
			"-@dangerous"
#define ACL_PEERCTL	"~peerd:revoked ~peerd:revoked:epoch " \
			"&peerd:revocations +ping +auth +sadd +srem " \
			"+publish +setnx +exists"

#define REDIS_UP_MS	(8000 * harness_slow()) /* ms: /healthz 200 */
#define REDIS_FAIL_MS	(5000 * harness_slow()) /* ms: a failure logged */
#define REVOKE_MS	(5000 * harness_slow()) /* ms: a live session ends */
#define BODY_MAX	(1024 * 1024)	/* bytes of an admin page read */

/*
 * A world whose Redis wants AUTH_PW.  peerd gets the world's config plus
 * lines (a printf format: "%s" becomes the path of dir/redis.pw, which
 * holds file_pw if that is not NULL).  peerd's log starts empty: the
 * world's first run (no password) must not count.
 */
static int
auth_setup(void **state, const char *lines, const char *file_pw)
{
	struct world	*w;
	struct harness	*h;
	char		 path[HARNESS_PATH + 16], extra[2 * HARNESS_PATH];
	FILE		*f;

	if (world_setup(state) == -1)
		return (-1);
	w = *state;
	h = w->h;
	if (harness_peerd_stop(h) == -1 || harness_redis_stop(h) == -1)
		return (-1);
	snprintf(h->redis_password, sizeof h->redis_password, "%s", AUTH_PW);
	if (harness_redis_start(h) == -1)
		return (-1);
	snprintf(path, sizeof path, "%s/redis.pw", h->dir);
	if (file_pw != NULL) {
		if ((f = fopen(path, "w")) == NULL)
			return (-1);
		fprintf(f, "%s\n", file_pw);
		if (fclose(f) != 0 || chmod(path, 0600) != 0)
			return (-1);
	}
	snprintf(extra, sizeof extra, lines, path);
	if ((f = fopen(h->log, "w")) != NULL)
		fclose(f);
	return (harness_peerd_start(h, world_conf(w, extra)));
}

static int
setup_file(void **state)
{
	return (auth_setup(state, "redis_password_file %s\n", AUTH_PW));
}

static int
setup_inline(void **state)
{
	return (auth_setup(state, "# %s\nredis_password " AUTH_PW "\n", NULL));
}

static int
setup_wrong(void **state)
{
	return (auth_setup(state, "# %s\nredis_password " AUTH_WRONG "\n",
	    NULL));
}

static int
setup_none(void **state)
{
	return (auth_setup(state, "# %s\n", NULL));
}

static int
setup_file_wrong(void **state)
{
	return (auth_setup(state, "redis_password_file %s\n", AUTH_WRONG));
}

/*
 * Run one command on the harness's Redis (authenticated) and copy a string
 * or integer reply into out.  Returns 0, or -1 (no answer, an error).
 */
static int
auth_redis(struct harness *h, char *out, size_t len, const char *fmt, ...)
{
	redisContext	*rc;
	redisReply	*r;
	va_list		 ap;
	int		 rv = -1;

	if (len > 0)
		*out = '\0';
	if ((rc = harness_redis_connect(h)) == NULL)
		return (-1);
	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r != NULL && r->type != REDIS_REPLY_ERROR) {
		if (r->type == REDIS_REPLY_INTEGER)
			snprintf(out, len, "%lld", r->integer);
		else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[1]->type == REDIS_REPLY_INTEGER)
			snprintf(out, len, "%lld", r->element[1]->integer);
		else if (r->str != NULL)
			snprintf(out, len, "%s", r->str);
		rv = 0;
	} else
		fprintf(stderr, "auth_redis: %s\n", r != NULL ? r->str :
		    rc->errstr);
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (rv);
}

/* Wait until field of peerd:presence:<id> is value.  Returns 0 or -1. */
static int
auth_presence_wait(struct harness *h, const char *id, const char *field,
    const char *value, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	char	buf[128];

	for (;;) {
		if (auth_redis(h, buf, sizeof buf, "HGET peerd:presence:%s %s",
		    id, field) == 0 && strcmp(buf, value) == 0)
			return (0);
		if (harness_now_ms() >= deadline) {
			fprintf(stderr, "presence %s %s: \"%s\", wanted "
			    "\"%s\"\n", id, field, buf, value);
			return (-1);
		}
		harness_msleep(50);
	}
}

/* Return 1 if the file at path contains needle, else 0. */
static int
file_contains(const char *path, const char *needle)
{
	FILE	*f;
	char	*buf;
	size_t	 n, i;
	int	 found;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	if ((buf = malloc(BODY_MAX + 1)) == NULL) {
		fclose(f);
		return (0);
	}
	n = fread(buf, 1, BODY_MAX, f);
	fclose(f);
	for (i = 0; i < n; i++)		/* /proc/PID/cmdline is NUL-split */
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	found = strstr(buf, needle) != NULL;
	free(buf);
	return (found);
}

/* No password, right or wrong, anywhere in peerd's log. */
static void
expect_log_clean(struct harness *h)
{
	assert_false(harness_log_contains(h, AUTH_PW));
	assert_false(harness_log_contains(h, AUTH_WRONG));
	assert_false(harness_log_contains(h, AUTH_ACL_PW));
	assert_false(harness_log_contains(h, AUTH_CTL_PW));
}

/*
 * A supporter goes available: its presence record appears in the Redis
 * that wants a password, and peerd's revocation subscriber is subscribed
 * (it authenticated too).
 */
static void
expect_presence_works(struct world *w, const char *id)
{
	struct pcred	 cred;
	struct tclient	*s;
	char		 buf[64];

	assert_int_equal(world_cred(w, &cred, id, NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(auth_presence_wait(w->h, id, "status", "available",
	    PEOPLE_PUSH_MS), 0);
	assert_int_equal(auth_presence_wait(w->h, id, "node", "test",
	    PEOPLE_PUSH_MS), 0);
	assert_int_equal(auth_redis(w->h, buf, sizeof buf,
	    "PUBSUB NUMSUB peerd:revocations"), 0);
	assert_string_equal(buf, "1");
	tclient_free(s);
}

/* The right password from redis_password_file: Redis is used as ever. */
static void
test_auth_password_file(void **state)
{
	struct world	*w = *state;

	assert_int_equal(raw_healthz_wait(w->h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_true(harness_log_contains(w->h, "event=redis_up"));
	assert_true(harness_log_contains(w->h, "auth=yes"));
	assert_false(harness_log_contains(w->h, "event=redis_auth_failed"));
	expect_presence_works(w, "sup-auth-file");
	expect_log_clean(w->h);
}

/*
 * A wrong password: /healthz stays 503, the log says redis_auth_failed
 * with Redis's reason and not the password, and peerd tries again on its
 * back-off.  Requesters are served; supporters wait for the revocation
 * list (TRY_LATER).
 */
static void
test_auth_wrong_password(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct tclient	*c;
	Envelope	*env;
	char		 line[1024];

	assert_int_equal(harness_log_wait(h, "event=redis_auth_failed",
	    REDIS_FAIL_MS), 0);
	assert_int_equal(log_lines_with(h, "event=redis_auth_failed",
	    "WRONGPASS", line, sizeof line), 1);
	assert_non_null(strstr(line, "level=error"));
	assert_non_null(strstr(line, "user=default"));
	/* The back-off's next attempt is refused too, quietly (debug). */
	assert_int_equal(harness_log_wait(h, "reason=\"AUTH refused: WRONGPASS",
	    REDIS_FAIL_MS), 0);
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 503);
	assert_false(harness_log_contains(h, "event=redis_up"));

	assert_non_null(c = people_requester(w, NULL));
	tclient_free(c);
	assert_int_equal(world_cred(w, &cred, "sup-no-redis", NULL, 1, 0), 0);
	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = people_hello(c, ROLE_(SUPPORTER), &cred, NULL,
	    NULL, 0));
	assert_int_equal(people_code(env), ERR_(TRY_LATER));
	frame_free(env);
	tclient_free(c);

	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 503);
	expect_log_clean(h);
}

/*
 * No password configured for a Redis that wants one: not "up" with every
 * command refused, but redis_auth_failed (NOAUTH) and 503.
 */
static void
test_auth_none_given(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;

	assert_int_equal(harness_log_wait(h, "event=redis_auth_failed",
	    REDIS_FAIL_MS), 0);
	assert_int_equal(log_lines_with(h, "event=redis_auth_failed", "NOAUTH",
	    NULL, 0), 1);
	assert_true(harness_log_contains(h, "redis_password is not set"));
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 503);
	assert_false(harness_log_contains(h, "event=redis_up"));
}

/*
 * The password file is fixed and peerd gets SIGHUP: it reads the file
 * again and is on Redis without a restart.
 */
static void
test_auth_file_reloaded(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	char		 path[HARNESS_PATH + 16];
	FILE		*f;

	assert_int_equal(harness_log_wait(h, "event=redis_auth_failed",
	    REDIS_FAIL_MS), 0);
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 503);
	snprintf(path, sizeof path, "%s/redis.pw", h->dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", AUTH_PW);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(harness_peerd_signal(h, SIGHUP), 0);
	assert_int_equal(harness_log_wait(h, "event=redis_password_reloaded",
	    HARNESS_IO_MS), 0);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_true(harness_peerd_alive(h));
	expect_presence_works(w, "sup-after-hup");
	expect_log_clean(h);
}

/*
 * The password is in the config file and nowhere else: not in the log,
 * `peerd -t`'s output (also when it refuses the line), /stats.json,
 * /metrics, the status page, or peerd's command line.
 */
static void
test_auth_secret_not_shown(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	char		*argv[] = { (char *)h->peerd_bin, (char *)"-t",
		    (char *)"-c", NULL, NULL };
	char		 out[HARNESS_PATH + 16], bad[HARNESS_PATH + 16];
	char		 cmdline[64];
	static char	 body[BODY_MAX];
	FILE		*f;
	size_t		 i;
	const char	*pages[] = { "/stats.json", "/metrics", "/" };

	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	expect_presence_works(w, "sup-inline");

	snprintf(out, sizeof out, "%s/commands.log", h->dir);
	argv[3] = h->conf;
	assert_int_equal(harness_run_cmd(h, argv, HARNESS_START_MS), 0);
	assert_true(file_contains(out, "is ok"));
	/* A refused value is not repeated back either. */
	snprintf(bad, sizeof bad, "%s/bad.conf", h->dir);
	assert_non_null(f = fopen(bad, "w"));
	fprintf(f, "redis_password %s and more\n", AUTH_PW);
	assert_int_equal(fclose(f), 0);
	argv[3] = bad;
	assert_int_equal(harness_run_cmd(h, argv, HARNESS_START_MS), 1);
	assert_true(file_contains(out, "redis_password: takes one value"));
	assert_false(file_contains(out, AUTH_PW));

	for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		assert_int_equal(raw_http_get(h->admin_port, pages[i], body,
		    sizeof body, HARNESS_IO_MS), 200);
		assert_null(strstr(body, AUTH_PW));
	}
	snprintf(cmdline, sizeof cmdline, "/proc/%ld/cmdline",
	    (long)h->peerd_pid);
	assert_true(file_contains(cmdline, "-c"));
	assert_false(file_contains(cmdline, AUTH_PW));
	expect_log_clean(h);
}

/*
 * peerctl revoke on a Redis that wants a password: refused without
 * PEERCTL_REDIS_PASSWORD (the live supporter stays), done with it (the
 * supporter is told CREDENTIAL_REVOKED and closed).
 */
static void
test_auth_peerctl_revoke(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct tclient	*s;
	Envelope	*env;
	char		 addr[64], buf[64];
	char		*argv[] = { NULL, (char *)"revoke", (char *)"sup-live",
		    (char *)"--redis", addr, NULL };
	int		 rc;

	if (h->peerctl_bin == NULL)
		skip();
	argv[0] = (char *)h->peerctl_bin;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", h->redis_port);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_int_equal(world_cred(w, &cred, "sup-live", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));

	unsetenv("PEERCTL_REDIS_PASSWORD");
	assert_int_equal(harness_run_cmd(h, argv, HARNESS_START_MS), 1);
	assert_int_equal(auth_redis(h, buf, sizeof buf,
	    "SISMEMBER peerd:revoked sup-live"), 0);
	assert_string_equal(buf, "0");
	assert_null(tclient_recv(s, BODY_(ERROR), PEOPLE_QUIET_MS));

	setenv("PEERCTL_REDIS_PASSWORD", AUTH_PW, 1);
	rc = harness_run_cmd(h, argv, HARNESS_START_MS);
	unsetenv("PEERCTL_REDIS_PASSWORD");
	assert_int_equal(rc, 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(ERROR),
	    REVOKE_MS));
	assert_int_equal(env->error->code, ERR_(CREDENTIAL_REVOKED));
	frame_free(env);
	assert_int_equal(tclient_wait_closed(s, HARNESS_IO_MS), 0);
	tclient_free(s);
	assert_int_equal(auth_redis(h, buf, sizeof buf,
	    "SISMEMBER peerd:revoked sup-live"), 0);
	assert_string_equal(buf, "1");
	expect_log_clean(h);
}

/*
 * Redis 6 ACL users with the rules deploy/redis-presence.conf suggests:
 * peerd sends AUTH user password (redis_user) and its presence and
 * revocations work; peerctl does the same as its own user from
 * PEERCTL_REDIS_USER.
 */
static void
test_auth_acl_user(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct tclient	*s;
	Envelope	*env;
	char		 addr[64], buf[64], list[8192];
	char		*argv[] = { NULL, (char *)"revoke", (char *)"sup-acl",
		    (char *)"--redis", addr, NULL };
	int		 rc;

	assert_int_equal(auth_redis(h, buf, sizeof buf, "ACL SETUSER %s on "
	    ">%s " ACL_PEERD, AUTH_ACL_USER, AUTH_ACL_PW), 0);
	assert_int_equal(auth_redis(h, buf, sizeof buf, "ACL SETUSER peerctl "
	    "on >%s " ACL_PEERCTL, AUTH_CTL_PW), 0);
	assert_int_equal(harness_peerd_stop(h), 0);
	assert_int_equal(harness_peerd_start(h, world_conf(w,
	    "redis_user " AUTH_ACL_USER "\nredis_password " AUTH_ACL_PW
	    "\n")), 0);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_int_equal(auth_redis(h, list, sizeof list, "CLIENT LIST"), 0);
	assert_non_null(strstr(list, "user=" AUTH_ACL_USER));
	expect_presence_works(w, "sup-acl-presence");

	if (h->peerctl_bin == NULL)
		return;
	argv[0] = (char *)h->peerctl_bin;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", h->redis_port);
	assert_int_equal(world_cred(w, &cred, "sup-acl", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	setenv("PEERCTL_REDIS_USER", "peerctl", 1);
	setenv("PEERCTL_REDIS_PASSWORD", AUTH_CTL_PW, 1);
	rc = harness_run_cmd(h, argv, HARNESS_START_MS);
	unsetenv("PEERCTL_REDIS_USER");
	unsetenv("PEERCTL_REDIS_PASSWORD");
	assert_int_equal(rc, 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(ERROR),
	    REVOKE_MS));
	assert_int_equal(env->error->code, ERR_(CREDENTIAL_REVOKED));
	frame_free(env);
	tclient_free(s);
	expect_log_clean(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_password_file,
		    setup_file, world_teardown),
		cmocka_unit_test_setup_teardown(test_auth_wrong_password,
		    setup_wrong, world_teardown),
		cmocka_unit_test_setup_teardown(test_auth_none_given,
		    setup_none, world_teardown),
		cmocka_unit_test_setup_teardown(test_auth_file_reloaded,
		    setup_file_wrong, world_teardown),
		cmocka_unit_test_setup_teardown(test_auth_secret_not_shown,
		    setup_inline, world_teardown),
		cmocka_unit_test_setup_teardown(test_auth_peerctl_revoke,
		    setup_inline, world_teardown),
		cmocka_unit_test_setup_teardown(test_auth_acl_user,
		    setup_inline, world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
