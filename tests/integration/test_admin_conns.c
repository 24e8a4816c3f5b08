/*
 * test_admin_conns.c -- what admin HTTP clients may cost peerd: accept()
 * out of file descriptors on the admin port (a pause, not a loop at full
 * CPU filling the log), a cap on connections open at once (more are
 * closed at once; the port answers again once they go), and a deadline
 * per request (a client trickling a byte every two seconds is closed,
 * one asking a whole request every few seconds on one connection is not).
 *
 * Each test runs its own Redis and peerd; the admin port is plain HTTP on
 * 127.0.0.1, spoken here over raw sockets.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
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

#include "fault.h"
#include "harness.h"

#define T_CONNS_MAX	32	/* admin.c's ADMIN_CONNS_MAX */
#define T_DEADLINE_S	10	/* peerd.h's ADMIN_TIMEOUT */
#define T_IDLE		40	/* idle connections opened, over the cap */
#define T_CPU_MAX_MS	500	/* ms of CPU peerd may use in T_WATCH_MS */
#define T_WATCH_MS	2000	/* ms out of descriptors, watched */
#define T_TRICKLE_MS	2000	/* ms between a slow client's bytes */
#define T_ANSWER_MAX	4096	/* bytes of an answer read */

#define T_HEALTHZ	"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static int
setup(void **state)
{
	return (harness_setup(state, HARNESS_REDIS, NULL));
}

/* Return the CPU time (user and system) process pid has used, in ms. */
static long long
proc_cpu_ms(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 utime, stime;
	long		 hz = sysconf(_SC_CLK_TCK);
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: 14 and 15. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
	    &stime) != 2 || hz <= 0)
		return (-1);
	return ((long long)(utime + stime) * 1000 / hz);
}

/*
 * Read one HTTP answer from fd within timeout_ms: headers, then
 * Content-Length bytes of body (or up to the close).  Returns the
 * status, or -1 (closed first, timeout, not HTTP).
 */
static int
read_answer(int fd, int timeout_ms)
{
	int64_t		 deadline = harness_now_ms() + timeout_ms;
	char		 buf[T_ANSWER_MAX], *end, *cl;
	struct pollfd	 pfd;
	size_t		 got = 0, want = 0;
	ssize_t		 n;
	int		 status;

	for (;;) {
		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			if (want == 0) {
				cl = strstr(buf, "Content-Length: ");
				want = (size_t)(end + 4 - buf) + (cl != NULL &&
				    cl < end ? strtoul(cl + 16, NULL, 10) : 0);
			}
			if (got >= want)
				break;
		}
		if (got == sizeof buf - 1 || harness_now_ms() >= deadline)
			return (-1);
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) != 1)
			continue;
		if ((n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return (-1);
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return (-1);
	return (status);
}

/*
 * Return 1 if peerd has closed fd (EOF or reset; anything it sent is
 * discarded), 0 if it is open, waiting up to wait_ms for a close.
 */
static int
is_closed(int fd, int wait_ms)
{
	char		buf[512];
	struct pollfd	pfd;
	ssize_t		n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, wait_ms) == 1) {
		if ((n = recv(fd, buf, sizeof buf, 0)) == 0 ||
		    (n == -1 && errno != EAGAIN && errno != EINTR))
			return (1);
		wait_ms = 0;
	}
	return (0);
}

/*
 * peerd out of descriptors (RLIMIT_NOFILE lowered under it, the TLS port
 * already failing accept()), then a request on the admin port: peerd
 * pauses that port too instead of retrying accept() in a loop, so it
 * uses little CPU and logs a few lines, not thousands.  With descriptors
 * back, the request waiting in the queue is answered.
 */
static void
test_admin_emfile_backoff(void **state)
{
	struct harness	*h = *state;
	struct rlimit	 old;
	long long	 cpu0, cpu1;
	int		 fds[8], n, afd, paused;

	harness_skip_if_slow("valgrind keeps descriptors of its own");
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    HARNESS_IO_MS), 200);
	assert_true((n = fault_starve_fds(h, &old, fds, 7)) > 0);

	assert_int_not_equal(afd = raw_tcp_connect(h->admin_port), -1);
	assert_int_equal(raw_tcp_send(afd, T_HEALTHZ, strlen(T_HEALTHZ)), 0);
	harness_msleep(100);
	assert_true((cpu0 = proc_cpu_ms(h->peerd_pid)) >= 0);
	harness_msleep(T_WATCH_MS);
	assert_true((cpu1 = proc_cpu_ms(h->peerd_pid)) >= 0);
	if (cpu1 - cpu0 >= T_CPU_MAX_MS)
		fail_msg("peerd used %lld ms of CPU in %d ms out of "
		    "descriptors", cpu1 - cpu0, T_WATCH_MS);
	assert_true(harness_log_count(h, "Error from accept() call") <= 3);
	paused = harness_log_count(h, "event=admin_accept_failed");
	assert_true(paused >= 1);
	assert_true(paused <= 4);
	assert_true(harness_log_contains(h, "event=admin_accept_failed "
	    "reason=\"Too many open files\" conns=0 action=pause_1s"));

	fault_unstarve_fds(h, &old, fds, n);
	assert_int_equal(read_answer(afd, HARNESS_IO_MS), 200);
	close(afd);
	assert_true(harness_log_contains(h, "event=admin_accept_resumed"));
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    HARNESS_IO_MS), 200);
	assert_true(harness_peerd_alive(h));
}

/*
 * T_IDLE connections that say nothing: the first T_CONNS_MAX are kept,
 * the rest closed at once (logged once); a request meanwhile is refused
 * the same way.  Once the idle ones go, /healthz answers again.
 */
static void
test_admin_conn_cap(void **state)
{
	struct harness	*h = *state;
	int		 fds[T_IDLE], i, closed = 0;

	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    HARNESS_IO_MS), 200);
	harness_msleep(300);	/* that connection is gone from peerd too */
	for (i = 0; i < T_IDLE; i++)
		assert_int_not_equal(fds[i] = raw_tcp_connect(h->admin_port),
		    -1);
	harness_msleep(500);
	for (i = 0; i < T_IDLE; i++) {
		if (is_closed(fds[i], 50)) {
			closed++;
			if (i < T_CONNS_MAX)
				fail_msg("connection %d of %d closed", i + 1,
				    T_IDLE);
		}
	}
	assert_int_equal(closed, T_IDLE - T_CONNS_MAX);
	assert_int_equal(harness_log_count(h,
	    "event=admin_refused reason=too_many_conns max=32"), 1);
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), -1);

	for (i = 0; i < T_IDLE; i++)
		close(fds[i]);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    HARNESS_IO_MS), 200);
	/* All slots free again: as many connections are kept as before. */
	harness_msleep(300);
	for (i = 0; i < T_CONNS_MAX; i++)
		assert_int_not_equal(fds[i] = raw_tcp_connect(h->admin_port),
		    -1);
	harness_msleep(300);
	for (i = 0; i < T_CONNS_MAX; i++) {
		assert_false(is_closed(fds[i], 0));
		close(fds[i]);
	}
	assert_true(harness_peerd_alive(h));
}

/*
 * A client that sends its request a byte every T_TRICKLE_MS (each read
 * restarts evhttp's own timeout) is closed within the deadline of a
 * whole request; a kept-alive client asking whole requests as often is
 * answered throughout, past the deadline.
 */
static void
test_admin_request_deadline(void **state)
{
	struct harness	*h = *state;
	const char	*req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "X-Slow: abcdefghijklmnopqrstuvwxyz\r\n\r\n";
	int64_t		 t0, next, closed_at = -1;
	size_t		 sent = 0;
	int		 slow, kept, asked = 0;

	assert_int_not_equal(slow = raw_tcp_connect(h->admin_port), -1);
	assert_int_not_equal(kept = raw_tcp_connect(h->admin_port), -1);
	t0 = harness_now_ms();
	next = t0;
	while (harness_now_ms() - t0 < (T_DEADLINE_S + 4) * 1000) {
		if (harness_now_ms() >= next) {
			next += T_TRICKLE_MS;
			if (closed_at == -1 && sent < strlen(req) &&
			    raw_tcp_send(slow, req + sent, 1) == 0)
				sent++;
			/* Every other round, one whole request. */
			if (asked++ % 2 == 0) {
				assert_int_equal(raw_tcp_send(kept, T_HEALTHZ,
				    strlen(T_HEALTHZ)), 0);
				assert_int_equal(read_answer(kept,
				    HARNESS_IO_MS), 200);
			}
		}
		if (closed_at == -1 && is_closed(slow, 50))
			closed_at = harness_now_ms();
	}
	if (closed_at == -1)
		fail_msg("a client trickling a byte every %d ms still open "
		    "after %d s", T_TRICKLE_MS, T_DEADLINE_S + 4);
	assert_true(closed_at - t0 <= (T_DEADLINE_S + 2) * 1000);
	assert_true(closed_at - t0 >= (T_DEADLINE_S - 1) * 1000);
	assert_true(asked >= 7);
	assert_false(is_closed(kept, 0));
	close(slow);
	close(kept);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    HARNESS_IO_MS), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admin_emfile_backoff,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_admin_conn_cap, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_admin_request_deadline,
		    setup, harness_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
