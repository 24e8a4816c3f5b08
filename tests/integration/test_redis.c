/*
 * test_redis.c -- peerd without Redis, Redis arriving late, Redis lost and
 * back.  peerd must keep serving clients throughout; /healthz tells the
 * truth about Redis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

#define REDIS_UP_MS	6000	/* ms, reconnect after Redis (re)appears */
#define REDIS_DOWN_MS	5000	/* ms, noticing Redis is gone */

static int
setup_without_redis(void **state)
{
	return (harness_setup(state, 0, NULL));
}

static int
setup_with_redis(void **state)
{
	return (harness_setup(state, HARNESS_REDIS, NULL));
}

/* Hello/Welcome and Ping/Pong on a fresh connection. */
static void
expect_serving(struct harness *h)
{
	struct tclient	*c;
	Envelope	*env;

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);
	assert_int_not_equal(tclient_send_ping(c, 5), 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_PONG);
	frame_free(env);
	tclient_free(c);
}

/* No Redis at all: clients are served, the log says so, /healthz is 503. */
static void
test_no_redis_still_serves(void **state)
{
	struct harness	*h = *state;
	char		 body[256];

	expect_serving(h);
	assert_int_equal(harness_log_wait(h, "event=redis_down",
	    REDIS_DOWN_MS), 0);
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", body,
	    sizeof body, HARNESS_IO_MS), 503);
	assert_false(harness_log_contains(h, "event=redis_up"));
	assert_true(harness_peerd_alive(h));
}

/* Redis started after peerd: /healthz turns 200 within seconds. */
static void
test_redis_arrives_late(void **state)
{
	struct harness	*h = *state;

	assert_int_equal(harness_log_wait(h, "event=redis_down",
	    REDIS_DOWN_MS), 0);
	assert_int_equal(raw_http_get(h->admin_port, "/healthz", NULL, 0,
	    HARNESS_IO_MS), 503);
	assert_int_equal(harness_redis_start(h), 0);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_true(harness_log_contains(h, "event=redis_up"));
	expect_serving(h);
}

/* Redis lost under a connected client, then back: served throughout. */
static void
test_redis_lost_and_back(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;

	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);

	assert_int_equal(harness_redis_stop(h), 0);
	assert_int_equal(harness_log_wait(h, "event=redis_down",
	    REDIS_DOWN_MS), 0);
	assert_int_equal(raw_healthz_wait(h->admin_port, 503, NULL, 0,
	    REDIS_DOWN_MS), 503);
	assert_int_not_equal(tclient_send_ping(c, 11), 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_PONG);
	assert_int_equal(env->pong->nonce, 11);
	frame_free(env);
	expect_serving(h);

	assert_int_equal(harness_redis_start(h), 0);
	assert_int_equal(raw_healthz_wait(h->admin_port, 200, NULL, 0,
	    REDIS_UP_MS), 200);
	assert_false(tclient_closed(c));
	tclient_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_redis_still_serves,
		    setup_without_redis, harness_teardown),
		cmocka_unit_test_setup_teardown(test_redis_arrives_late,
		    setup_without_redis, harness_teardown),
		cmocka_unit_test_setup_teardown(test_redis_lost_and_back,
		    setup_with_redis, harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
