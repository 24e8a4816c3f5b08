/*
 * test_priv.c -- peerd drops root after binding: `user` makes it that user
 * (uid, gid and groups, checked in /proc), it keeps serving TLS and HTTP,
 * SIGHUP reloads the certificate, the signing key and the requester
 * secret once the user can read them (and keeps the old ones, logged,
 * while it cannot); started as root with no user it refuses to start
 * unless allow_root yes (the harness's base config sets it; these tests
 * override it).
 *
 * They need root, as `make test` runs here; as another user they skip.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"
#include "people.h"

#define T_USER		"nobody"	/* in every Debian base system */
#define T_WAIT_MS	10000		/* ms, for a log line */
#define T_RUN_MS	15000		/* ms, a peerd that must refuse */

/* Write dir/name into out. */
static void
tpath(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fail_msg("path too long: %s/%s", dir, name);
}

/* Skip unless root; return the passwd entry of T_USER. */
static struct passwd *
need_root(void)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		skip();
	if ((pw = getpwnam(T_USER)) == NULL)
		fail_msg("no user %s on this system", T_USER);
	return (pw);
}

/* Return the numbers on the line "key:" of /proc/pid/status in v[0..3]. */
static int
proc_ids(pid_t pid, const char *key, long v[4])
{
	char	 path[64], line[512];
	FILE	*f;
	int	 n = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	v[0] = v[1] = v[2] = v[3] = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, strlen(key)) == 0 &&
		    line[strlen(key)] == ':') {
			n = sscanf(line + strlen(key) + 1, "%ld %ld %ld %ld",
			    &v[0], &v[1], &v[2], &v[3]);
			break;
		}
	}
	fclose(f);
	return (n);
}

/* A requester says Hello and is welcomed: peerd serves TLS. */
static void
assert_serves(struct world *w)
{
	struct tclient	*r;

	assert_non_null(r = people_requester(w, NULL));
	tclient_free(r);
	assert_int_equal(raw_http_get(w->h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 200);
}

static int
setup_user(void **state)
{
	return (world_setup_extra(state, "user " T_USER "\n"));
}

static int
setup_none(void **state)
{
	return (harness_setup(state, HARNESS_REDIS | HARNESS_NO_PEERD, NULL));
}

/* user nobody: real, effective and saved ids are nobody's; no root group. */
static void
test_drop(void **state)
{
	struct world	*w = *state;
	struct passwd	*pw = need_root();
	long		 v[4];
	char		 line[256];

	/* The TLS port listens a moment before the drop: wait for it. */
	snprintf(line, sizeof line, "event=privileges_dropped user=%s uid=%ld",
	    T_USER, (long)pw->pw_uid);
	assert_int_equal(harness_log_wait(w->h, line, T_WAIT_MS), 0);
	assert_int_equal(proc_ids(w->h->peerd_pid, "Uid", v), 4);
	assert_int_equal(v[0], pw->pw_uid);
	assert_int_equal(v[1], pw->pw_uid);
	assert_int_equal(v[2], pw->pw_uid);
	assert_int_equal(v[3], pw->pw_uid);
	assert_int_equal(proc_ids(w->h->peerd_pid, "Gid", v), 4);
	assert_int_equal(v[0], pw->pw_gid);
	assert_int_equal(v[1], pw->pw_gid);
	assert_int_equal(v[2], pw->pw_gid);
	assert_int_equal(v[3], pw->pw_gid);
	/* Supplementary groups: nobody's own, never root's 0. */
	assert_true(proc_ids(w->h->peerd_pid, "Groups", v) <= 0 ||
	    (v[0] != 0 && v[1] != 0 && v[2] != 0 && v[3] != 0));
	assert_serves(w);
}

/*
 * SIGHUP after the drop: the key in the root-only test dir cannot be read,
 * so the old certificate stays (logged), and so do the signing key and
 * requester secret; once nobody can read the certificate and key, their
 * reload works, while the requester secret, still root's, holds the
 * signing key back with it (the two go together); once nobody owns the
 * secret too, both reload.  Throughout, peerd serves.
 */
static void
test_hup_after_drop(void **state)
{
	struct world	*w = *state;
	struct passwd	*pw = need_root();

	assert_int_equal(harness_log_wait(w->h, "event=privileges_dropped",
	    T_WAIT_MS), 0);
	assert_int_equal(harness_peerd_signal(w->h, SIGHUP), 0);
	assert_int_equal(harness_log_wait(w->h, "event=tls_reload_failed",
	    T_WAIT_MS), 0);
	assert_true(harness_log_contains(w->h,
	    "action=keeping_old_certificate"));
	assert_int_equal(harness_log_wait(w->h, "event=reload_failed "
	    "what=signing_pubkey", T_WAIT_MS), 0);
	assert_true(harness_log_contains(w->h, "reason=\"Permission denied\" "
	    "action=keeping_old_keys"));
	assert_serves(w);

	assert_int_equal(chmod(w->h->dir, 0711), 0);
	assert_int_equal(chown(w->h->cert, pw->pw_uid, pw->pw_gid), 0);
	assert_int_equal(chown(w->h->key, pw->pw_uid, pw->pw_gid), 0);
	assert_int_equal(harness_peerd_signal(w->h, SIGHUP), 0);
	assert_int_equal(harness_log_wait(w->h, "event=tls_reloaded",
	    T_WAIT_MS), 0);
	assert_int_equal(harness_log_wait(w->h, "event=reload_failed "
	    "what=requester_secret_file", T_WAIT_MS), 0);
	assert_false(harness_log_contains(w->h, "event=reloaded "
	    "what=signing_pubkey"));
	assert_serves(w);

	assert_int_equal(chown(w->secret, pw->pw_uid, pw->pw_gid), 0);
	assert_int_equal(harness_peerd_signal(w->h, SIGHUP), 0);
	assert_int_equal(harness_log_wait(w->h, "event=reloaded "
	    "what=requester_secret_file", T_WAIT_MS), 0);
	assert_true(harness_log_contains(w->h, "event=reloaded "
	    "what=signing_pubkey"));
	assert_serves(w);
}

/* Write a config for h with extra lines last (later lines win). */
static void
write_conf(struct harness *h, const char *path, const char *extra)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "listen 127.0.0.1:%d\nadmin_listen 127.0.0.1:%d\n"
	    "tls_cert %s\ntls_key %s\nredis 127.0.0.1:%d\nnode_id test\n%s",
	    h->port, h->admin_port, h->cert, h->key, h->redis_port, extra);
	assert_int_equal(fclose(f), 0);
}

/* Return 1 if dir/commands.log (harness_run_cmd's output) has needle. */
static int
commands_log_has(struct harness *h, const char *needle)
{
	char	buf[16384];

	return (strstr(harness_commands_log(h, buf, sizeof buf), needle) !=
	    NULL);
}

/* As root with no user: refused with a clear reason, unless allowed. */
static void
test_root_refused(void **state)
{
	struct harness	*h = *state;
	char		 conf[HARNESS_PATH];
	char		*argv[4];

	argv[0] = (char *)h->peerd_bin;
	argv[1] = (char *)"-c";
	argv[2] = conf;
	argv[3] = NULL;
	need_root();
	tpath(conf, sizeof conf, h->dir, "root.conf");
	write_conf(h, conf, "");
	assert_int_equal(harness_run_cmd(h, argv, T_RUN_MS), 1);
	assert_true(commands_log_has(h, "running as root with no user "
	    "option: set user NAME to drop to after binding, or allow_root "
	    "yes to stay root"));
	assert_false(harness_port_listening(h->port));

	/* user root is no better. */
	write_conf(h, conf, "user root\n");
	assert_int_equal(harness_run_cmd(h, argv, T_RUN_MS), 1);
	assert_true(commands_log_has(h, "user is root"));

	/* An unknown user is refused too. */
	write_conf(h, conf, "user no-such-user-q7\n");
	assert_int_equal(harness_run_cmd(h, argv, T_RUN_MS), 1);
	assert_true(commands_log_has(h, "no such user"));
}

/* allow_root yes (the harness's base config): root stays, with a warning. */
static void
test_root_allowed(void **state)
{
	struct harness	*h = *state;

	need_root();
	assert_int_equal(harness_peerd_start(h, NULL), 0);
	assert_true(harness_log_contains(h,
	    "event=running_as_root reason=allow_root"));
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drop, setup_user,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_hup_after_drop,
		    setup_user, world_teardown),
		cmocka_unit_test_setup_teardown(test_root_refused, setup_none,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_root_allowed, setup_none,
		    harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
