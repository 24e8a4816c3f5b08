/*
 * test_harness.c -- the harness itself: port collisions are retried, a
 * peerd that cannot start is reported quickly, teardown leaves nothing
 * behind and fails a run with a sanitizer or valgrind report.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
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

static int
setup(void **state)
{
	return (harness_setup(state, 0, NULL));
}

static int
setup_nothing(void **state)
{
	return (harness_setup(state, HARNESS_NO_PEERD, NULL));
}

/* Listen on 127.0.0.1:port; returns the fd. */
static int
occupy(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	assert_int_not_equal(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 1), 0);
	return (fd);
}

/* A TLS port taken by someone else: peerd is started on a fresh one. */
static void
test_port_collision_retried(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;
	int		 fd, taken = h->port;

	fd = occupy(taken);
	assert_int_equal(harness_peerd_start(h, NULL), 0);
	assert_int_not_equal(h->port, taken);
	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);
	tclient_free(c);
	close(fd);
}

/* A config peerd rejects: the start fails at once, not after a timeout. */
static void
test_bad_config_fails_fast(void **state)
{
	struct harness	*h = *state;
	int64_t		 t0 = harness_now_ms();

	assert_int_equal(harness_peerd_start(h, "no_such_option 1\n"), -1);
	assert_true(harness_now_ms() - t0 < 2000 * harness_slow());
	assert_int_equal(h->peerd_pid, -1);
	assert_true(h->peerd_status != -1);
}

/* harness_free stops both processes and removes the temp dir (unless kept). */
static void
test_teardown_cleans_up(void **state)
{
	struct harness	*h = *state;
	struct stat	 sb;
	char		 dir[HARNESS_PATH];
	const char	*keep;
	pid_t		 peerd, redis;

	assert_int_equal(harness_redis_start(h), 0);
	assert_int_equal(harness_peerd_start(h, NULL), 0);
	peerd = h->peerd_pid;
	redis = h->redis_pid;
	assert_true(peerd > 0 && redis > 0);
	assert_true(harness_log_wait(h, "event=ready", HARNESS_IO_MS) == 0);
	memcpy(dir, h->dir, sizeof dir);
	harness_free(h);
	*state = NULL;
	assert_int_equal(kill(peerd, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(kill(redis, 0), -1);
	assert_int_equal(errno, ESRCH);
	if ((keep = getenv("HARNESS_KEEP")) == NULL || *keep != '1')
		assert_int_equal(stat(dir, &sb), -1);
}

/* A temp dir whose creating process died is swept by the next run. */
static void
test_stale_dir_swept(void **state)
{
	struct harness	*h;
	struct stat	 sb;
	char		 stale[HARNESS_PATH], live[HARNESS_PATH], *tmp;
	pid_t		 pid;
	int		 status;

	(void)state;
	if ((pid = fork()) == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = (char *)"/tmp";
	snprintf(stale, sizeof stale, "%s/peerd-test.%ld.abcdef", tmp,
	    (long)pid);
	snprintf(live, sizeof live, "%s/peerd-test.%ld.abcdef", tmp,
	    (long)getppid());
	assert_int_equal(mkdir(stale, 0700), 0);
	assert_int_equal(mkdir(live, 0700), 0);
	assert_non_null(h = harness_new());
	assert_int_equal(stat(stale, &sb), -1);
	assert_int_equal(stat(live, &sb), 0);	/* its creator lives */
	rmdir(live);
	harness_free(h);
}

/* Write dir/name into out (HARNESS_PATH bytes). */
static void
tpath(char *out, const char *dir, const char *name)
{
	if (snprintf(out, HARNESS_PATH, "%s/%s", dir, name) >= HARNESS_PATH)
		fail_msg("path too long: %s/%s", dir, name);
}

/* Append text to the file dir/name. */
static void
append(const char *dir, const char *name, const char *text)
{
	char	 path[HARNESS_PATH];
	FILE	*f;

	tpath(path, dir, name);
	assert_non_null(f = fopen(path, "a"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/*
 * harness_check(h) with stderr muted: the fake reports below would
 * otherwise be printed like real ones into the suite's output, where a
 * reader (or CI grepping for "runtime error") takes them for real.
 */
static int
quiet_check(struct harness *h)
{
	int	saved, null, r;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if ((null = open("/dev/null", O_WRONLY)) != -1) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	r = harness_check(h);
	fflush(stderr);
	if (saved != -1) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	return (r);
}

/*
 * The teardown check: a clean run passes; a sanitizer report in any file
 * of the temp dir, a valgrind log with a leak, or a peerd that exits
 * non-zero on SIGTERM fails it.
 */
static void
test_check_finds_reports(void **state)
{
	struct harness	*h = *state;
	char		 log[HARNESS_PATH];

	assert_int_equal(harness_peerd_start(h, NULL), 0);
	assert_int_equal(quiet_check(h), 0);
	assert_int_equal(h->peerd_pid, -1);
	assert_true(WIFEXITED(h->peerd_status));

	append(h->dir, "child.err", "==1==ERROR: LeakSanitizer: detected "
	    "memory leaks (a fake report, test_harness)\n");
	assert_int_equal(quiet_check(h), -1);
	tpath(log, h->dir, "child.err");
	assert_int_equal(unlink(log), 0);
	append(h->dir, "peerd.log", "fake.c:1:1: runtime error: a fake "
	    "report (test_harness)\n");
	assert_int_equal(quiet_check(h), -1);
	assert_int_equal(truncate(h->log, 0), 0);
	assert_int_equal(quiet_check(h), 0);

	append(h->dir, "valgrind.1.log", "==1== LEAK SUMMARY:\n"
	    "==1==    definitely lost: 0 bytes in 0 blocks\n"
	    "==1==    indirectly lost: 0 bytes in 0 blocks\n"
	    "==1== ERROR SUMMARY: 0 errors from 0 contexts\n");
	assert_int_equal(quiet_check(h), 0);
	append(h->dir, "valgrind.2.log", "==2== LEAK SUMMARY (fake):\n"
	    "==2==    definitely lost: 1,024 bytes in 2 blocks\n"
	    "==2==    indirectly lost: 0 bytes in 0 blocks\n"
	    "==2== ERROR SUMMARY: 0 errors from 0 contexts\n");
	assert_int_equal(quiet_check(h), -1);
	tpath(log, h->dir, "valgrind.2.log");
	assert_int_equal(unlink(log), 0);

	/* A peerd that exits 3 on SIGTERM (a shell standing in for it). */
	h->peerd_pid = fork();
	assert_true(h->peerd_pid != -1);
	if (h->peerd_pid == 0) {
		signal(SIGTERM, SIG_DFL);
		execl("/bin/sh", "sh", "-c", "trap 'exit 3' TERM; "
		    "while :; do sleep 0.05; done", (char *)NULL);
		_exit(127);
	}
	harness_msleep(200);
	assert_int_equal(quiet_check(h), -1);
	assert_true(WIFEXITED(h->peerd_status));
	assert_int_equal(WEXITSTATUS(h->peerd_status), 3);
	h->unclean[0] = '\0';		/* for the teardown */
}

/* Log helpers: contains, count and wait see what peerd wrote. */
static void
test_log_helpers(void **state)
{
	struct harness	*h = *state;
	int64_t		 t0;

	assert_int_equal(harness_log_wait(h, "event=ready", HARNESS_IO_MS), 0);
	assert_true(harness_log_contains(h, "event=ready"));
	assert_int_equal(harness_log_count(h, "event=ready"), 1);
	assert_false(harness_log_contains(h, "no such text in any log"));
	t0 = harness_now_ms();
	assert_int_equal(harness_log_wait(h, "no such text in any log", 200),
	    -1);
	assert_true(harness_now_ms() - t0 >= 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_port_collision_retried,
		    setup_nothing, harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_fails_fast,
		    setup_nothing, harness_teardown),
		cmocka_unit_test_setup_teardown(test_teardown_cleans_up,
		    setup_nothing, harness_teardown),
		cmocka_unit_test(test_stale_dir_swept),
		cmocka_unit_test_setup_teardown(test_log_helpers, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_check_finds_reports,
		    setup_nothing, harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
