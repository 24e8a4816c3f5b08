/*
 * test_shutdown.c -- SIGTERM: connected clients are told SHUTTING_DOWN,
 * peerd exits 0 promptly.
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

#define EXIT_MS		5000	/* ms, SIGTERM to exit */

static int
setup(void **state)
{
	return (harness_setup(state, HARNESS_REDIS, NULL));
}

/* Assert peerd exits with status 0 within EXIT_MS of t0. */
static void
expect_clean_exit(struct harness *h, int64_t t0)
{
	int	left = EXIT_MS - (int)(harness_now_ms() - t0);

	assert_int_equal(harness_peerd_wait(h, left > 0 ? left : 0), 0);
	assert_true(WIFEXITED(h->peerd_status));
	assert_int_equal(WEXITSTATUS(h->peerd_status), 0);
}

/* SIGTERM with a client after Welcome: Error{SHUTTING_DOWN}, exit 0. */
static void
test_sigterm_with_client(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;
	int64_t		 t0;

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);

	t0 = harness_now_ms();
	assert_int_equal(harness_peerd_signal(h, SIGTERM), 0);
	assert_non_null(env = tclient_recv(c, 0, EXIT_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code,
	    PEERD__V1__ERROR_CODE__SHUTTING_DOWN);
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, EXIT_MS), 0);
	expect_clean_exit(h, t0);
	tclient_free(c);
}

/* SIGTERM with nobody connected: exit 0 at once. */
static void
test_sigterm_idle(void **state)
{
	struct harness	*h = *state;

	assert_int_equal(harness_peerd_signal(h, SIGTERM), 0);
	expect_clean_exit(h, harness_now_ms());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigterm_with_client, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_idle, setup,
		    harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
