/*
 * test_revoke_restore.c -- revocations survive Redis losing them.
 *
 * deploy/redis-presence.conf keeps nothing on disk, so a Redis restart
 * (or a FLUSHALL, or a fail-over to an empty instance) empties
 * peerd:revoked.  peerd must not take that empty set for the truth: the
 * marker peerd:revoked:epoch goes with the set, and a set read without the
 * marker peerd last saw is a lost one.  peerd keeps its copy and writes it
 * back (so every node is refused the same ids again), and logs
 * event=revocations_restored.  What is removed on purpose while the
 * marker stays (peerctl unrevoke, DEL of the set) still leaves every
 * copy; a first start on an empty Redis restores nothing.
 *
 * Each test runs its own Redis and peerd (a world, people.h); peerctl
 * ($PEERCTL_BIN) revokes as an operator would.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "credential.h"
#include "fault.h"
#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define ERR_(x)		PEERD__V1__ERROR_CODE__ ## x
#define ROLE_(x)	PEERD__V1__ROLE__ ## x

#define RESTORE_MS	(8000 * harness_slow())	/* ms: Redis back up to the
						   set written back (peerd's
						   reconnect back-off, one
						   read) */
#define REFRESH_MS	(2500 * harness_slow())	/* ms: over one full read
						   of the set (revoke.c, 2 s) */
#define UNREVOKE_MS	(3000 * harness_slow())	/* ms: an unrevoke reaching
						   peerd's copy */
#define T_OUT_MAX	8192			/* bytes of output kept */
#define T_RESTORED	"event=revocations_restored"
#define T_REASON	"reason=\"revocation set lost in Redis\""

static int
setup(void **state)
{
	return (world_setup(state));
}

/*
 * Hello as a supporter with cred; expect a fatal Error code and the
 * connection closed after it.
 */
static void
expect_refused(struct world *w, const struct pcred *cred, int code)
{
	struct tclient	*c;
	Envelope	*env;
	char		 buf[512];

	assert_non_null(c = tclient_connect(w->h));
	env = people_hello(c, ROLE_(SUPPORTER), cred, NULL, NULL, 0);
	if (people_code(env) != code)
		fprintf(stderr, "expect_refused: %s: wanted %s, got %s\n",
		    cred->id, people_code_name(code),
		    people_describe(env, buf, sizeof buf));
	assert_int_equal(people_code(env), code);
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	tclient_free(c);
}

/* Hello as a supporter with cred; expect a Welcome. */
static void
expect_admitted(struct world *w, const struct pcred *cred)
{
	struct tclient	*c;

	assert_non_null(c = people_supporter(w, cred));
	tclient_free(c);
}

/*
 * Poll Hello with cred until it is admitted, or timeout_ms passes.
 * Returns 0 once admitted, -1 otherwise.
 */
static int
wait_admitted(struct world *w, const struct pcred *cred, int timeout_ms)
{
	int64_t		 deadline = harness_now_ms() + timeout_ms;
	struct tclient	*c;
	Envelope	*env;
	int		 welcome;

	for (;;) {
		if ((c = tclient_connect(w->h)) == NULL)
			return (-1);
		env = people_hello(c, ROLE_(SUPPORTER), cred, NULL, NULL, 0);
		welcome = env != NULL && env->body_case == BODY_(WELCOME);
		frame_free(env);
		tclient_free(c);
		if (welcome)
			return (0);
		if (harness_now_ms() >= deadline)
			return (-1);
		harness_msleep(100);
	}
}

/*
 * Poll SISMEMBER peerd:revoked id until it is want, or timeout_ms
 * passes.  Returns the last answer.
 */
static int
wait_member(struct harness *h, const char *id, int want, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	int	is;

	for (;;) {
		is = redis_sismember(h, CRED_REDIS_REVOKED, id);
		if (is == want || harness_now_ms() >= deadline)
			return (is);
		harness_msleep(50);
	}
}

/* Copy the marker's value to out ("(nil)" when there is none). */
static void
marker(struct harness *h, char *out, size_t len)
{
	assert_int_equal(fault_redis(h, out, len, "GET %s",
	    CRED_REDIS_REVOKED_EPOCH), 0);
}

/*
 * Wait until peerd has logged event=redis_up more than before times:
 * it is back on a Redis just started.
 */
static void
wait_redis_up(struct harness *h, int before)
{
	int64_t	deadline = harness_now_ms() + RESTORE_MS;

	while (harness_log_count(h, "event=redis_up") <= before) {
		if (harness_now_ms() >= deadline)
			fail_msg("peerd not back on Redis in %d ms",
			    RESTORE_MS);
		harness_msleep(20);
	}
}

/* Stop Redis and start an empty one; return once peerd is back on it. */
static void
redis_restart_empty(struct harness *h)
{
	int	ups = harness_log_count(h, "event=redis_up");

	assert_int_equal(harness_redis_stop(h), 0);
	assert_int_equal(harness_redis_start(h), 0);
	wait_redis_up(h, ups);
}

/* Run `peerctl unrevoke ID --redis ...`; return its exit code. */
static int
peerctl_unrevoke(struct harness *h, const char *id)
{
	char	 addr[64];
	char	*argv[] = { (char *)h->peerctl_bin, (char *)"unrevoke",
		    (char *)id, (char *)"--redis", addr, NULL };

	snprintf(addr, sizeof addr, "127.0.0.1:%d", h->redis_port);
	return (harness_run_cmd(h, argv, 10000));
}

/*
 * A supporter revoked, then Redis restarted empty: peerd writes the id
 * back (SISMEMBER is 1 again, the marker is back), logs
 * revocations_restored at warning level, and still refuses the supporter
 * after full reads of the set; another supporter is admitted.
 */
static void
test_restored_after_redis_restart(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 gone, fine;
	char		 line[1024], after[128];

	assert_int_equal(world_cred(w, &gone, "sup-gone", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &fine, "sup-fine", NULL, 1, 0), 0);
	assert_int_equal(people_revoke(w, "sup-gone"), 0);
	assert_int_equal(wait_member(h, "sup-gone", 1, HARNESS_IO_MS), 1);
	harness_msleep(300);
	expect_refused(w, &gone, ERR_(CREDENTIAL_REVOKED));

	redis_restart_empty(h);
	assert_int_equal(wait_member(h, "sup-gone", 1, RESTORE_MS), 1);
	/* Full reads of the set since: the copy holds. */
	harness_msleep(REFRESH_MS);
	expect_refused(w, &gone, ERR_(CREDENTIAL_REVOKED));
	expect_admitted(w, &fine);
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-gone"),
	    1);
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-fine"),
	    0);
	marker(h, after, sizeof after);
	assert_string_not_equal(after, "(nil)");

	assert_int_equal(log_lines_with(h, T_RESTORED, NULL, line,
	    sizeof line), 1);
	assert_non_null(strstr(line, "level=warn"));
	assert_non_null(strstr(line, "count=1 "));
	assert_non_null(strstr(line, T_REASON));
	assert_null(strstr(line, "sup-gone"));	/* a count, not who */
}

/*
 * FLUSHALL while peerd runs (no reconnect): both revoked ids are written
 * back.  Then the set alone is deleted on purpose (DEL peerd:revoked, the
 * marker stays): that is a clear, not a loss, and both are admitted.
 */
static void
test_flush_restored_del_honoured(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 a, b;
	char		 buf[128];

	assert_int_equal(world_cred(w, &a, "sup-a", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &b, "sup-b", NULL, 1, 0), 0);
	assert_int_equal(people_revoke(w, "sup-a"), 0);
	assert_int_equal(people_revoke(w, "sup-b"), 0);
	assert_int_equal(wait_member(h, "sup-b", 1, HARNESS_IO_MS), 1);
	harness_msleep(REFRESH_MS);	/* the marker read with the set */

	assert_int_equal(fault_redis(h, buf, sizeof buf, "FLUSHALL"), 0);
	assert_int_equal(wait_member(h, "sup-a", 1, RESTORE_MS), 1);
	assert_int_equal(wait_member(h, "sup-b", 1, HARNESS_IO_MS), 1);
	expect_refused(w, &a, ERR_(CREDENTIAL_REVOKED));
	expect_refused(w, &b, ERR_(CREDENTIAL_REVOKED));
	assert_int_equal(harness_log_wait(h, T_RESTORED " count=2 ",
	    HARNESS_IO_MS), 0);

	harness_msleep(REFRESH_MS);	/* peerd has the new marker */
	assert_int_equal(fault_redis(h, buf, sizeof buf, "DEL %s",
	    CRED_REDIS_REVOKED), 0);
	assert_int_equal(wait_admitted(w, &a, UNREVOKE_MS), 0);
	expect_admitted(w, &b);
	harness_msleep(REFRESH_MS);
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-a"), 0);
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-b"), 0);
	assert_int_equal(log_lines_with(h, T_RESTORED, NULL, NULL, 0), 1);
}

/*
 * peerctl unrevoke after a restore: the id leaves every copy (admitted
 * within seconds) and is not written back by a later restore; the other
 * revocation survives a second restart.
 */
static void
test_unrevoke_after_restore(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 back, gone;

	if (h->peerctl_bin == NULL)
		skip();
	assert_int_equal(world_cred(w, &back, "sup-back", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &gone, "sup-gone", NULL, 1, 0), 0);
	assert_int_equal(people_revoke(w, "sup-back"), 0);
	assert_int_equal(people_revoke(w, "sup-gone"), 0);
	assert_int_equal(wait_member(h, "sup-gone", 1, HARNESS_IO_MS), 1);
	harness_msleep(REFRESH_MS);

	redis_restart_empty(h);
	assert_int_equal(wait_member(h, "sup-back", 1, RESTORE_MS), 1);
	harness_msleep(REFRESH_MS);	/* peerd has the new marker */
	assert_int_equal(peerctl_unrevoke(h, "sup-back"), 0);
	assert_int_equal(wait_admitted(w, &back, UNREVOKE_MS), 0);
	expect_refused(w, &gone, ERR_(CREDENTIAL_REVOKED));
	harness_msleep(REFRESH_MS);
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-back"),
	    0);

	redis_restart_empty(h);
	assert_int_equal(wait_member(h, "sup-gone", 1, RESTORE_MS), 1);
	harness_msleep(REFRESH_MS);
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-back"),
	    0);
	expect_admitted(w, &back);
	expect_refused(w, &gone, ERR_(CREDENTIAL_REVOKED));
	assert_int_equal(log_lines_with(h, T_RESTORED, NULL, NULL, 0), 2);
}

/*
 * A first start on an empty Redis, and a restart with nothing revoked:
 * peerd sets the marker and restores nothing; supporters are admitted.
 */
static void
test_nothing_to_restore(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	char		 first[128], second[128], buf[64];

	assert_int_equal(world_cred(w, &cred, "sup-new", NULL, 1, 0), 0);
	expect_admitted(w, &cred);
	marker(h, first, sizeof first);
	assert_string_not_equal(first, "(nil)");
	assert_int_equal(fault_redis(h, buf, sizeof buf, "EXISTS %s",
	    CRED_REDIS_REVOKED), 0);
	assert_string_equal(buf, "0");

	redis_restart_empty(h);
	harness_msleep(REFRESH_MS);
	marker(h, second, sizeof second);
	assert_string_not_equal(second, "(nil)");
	assert_string_not_equal(second, first);	/* a new random value */
	assert_int_equal(fault_redis(h, buf, sizeof buf, "EXISTS %s",
	    CRED_REDIS_REVOKED), 0);
	assert_string_equal(buf, "0");
	expect_admitted(w, &cred);
	assert_false(harness_log_contains(h, T_RESTORED));
	assert_false(harness_log_contains(h, "event=revoke_refresh_failed"));
}

/*
 * peerctl revoke sets the marker when it is missing (peerd stopped, so
 * only peerctl writes) and leaves it alone when it is there; peerctl
 * unrevoke with the marker missing says the list may have been lost.
 */
static void
test_peerctl_marker(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	char		 first[128], second[128], buf[64];
	char		 out[T_OUT_MAX];
	size_t		 i;

	if (h->peerctl_bin == NULL)
		skip();
	assert_int_equal(harness_peerd_stop(h), 0);
	assert_int_equal(fault_redis(h, buf, sizeof buf, "FLUSHALL"), 0);
	assert_int_equal(people_revoke(w, "sup-x"), 0);
	marker(h, first, sizeof first);
	assert_string_not_equal(first, "(nil)");
	assert_true(strlen(first) >= 16);
	for (i = 0; first[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef", first[i]));
	assert_int_equal(people_revoke(w, "sup-y"), 0);
	marker(h, second, sizeof second);
	assert_string_equal(second, first);

	assert_int_equal(fault_redis(h, buf, sizeof buf, "DEL %s",
	    CRED_REDIS_REVOKED_EPOCH), 0);
	assert_int_equal(peerctl_unrevoke(h, "sup-x"), 0);
	harness_commands_log(h, out, sizeof out);
	assert_non_null(strstr(out, "sup-x is no longer revoked"));
	assert_non_null(strstr(out, CRED_REDIS_REVOKED_EPOCH " is missing"));
	assert_int_equal(redis_sismember(h, CRED_REDIS_REVOKED, "sup-x"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_restored_after_redis_restart, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_flush_restored_del_honoured, setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_unrevoke_after_restore,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_restore,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_marker, setup,
		    world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
