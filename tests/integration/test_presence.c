/*
 * test_presence.c -- supporter presence in Redis: a hash per supporter with
 * node, status, load, capacity and updated, expiring after presence_ttl
 * unless refreshed; gone after a disconnect; nothing but opaque ids; and
 * restored when Redis comes back empty, with conversations unaffected.
 *
 * The base config has presence_ttl 5 s.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define AVAILABLE	PEERD__V1__SUPPORTER_STATUS__AVAILABLE
#define ON_BREAK	PEERD__V1__SUPPORTER_STATUS__ON_BREAK

#define PRESENCE_MS	3000	/* ms for a change to reach Redis */
#define REDIS_BACK_MS	12000	/* ms: reconnect back-off, then republish */

static int
setup(void **state)
{
	return (world_setup(state));
}

/* Return 1 if the status field means available (name or number). */
static int
is_status(const char *v, const char *name, int num)
{
	char	n[16];

	snprintf(n, sizeof n, "%d", num);
	return (strcasecmp(v, name) == 0 || strcmp(v, n) == 0);
}

/* Poll until the status field reads as name/num.  0 or -1. */
static int
wait_status(struct harness *h, const char *id, const char *name, int num,
    int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	char	buf[64], all[1024];

	for (;;) {
		if (redis_presence_field(h, id, "status", buf, sizeof buf) !=
		    NULL && is_status(buf, name, num))
			return (0);
		if (harness_now_ms() >= deadline)
			break;
		harness_msleep(50);
	}
	redis_presence(h, id, all, sizeof all);
	fprintf(stderr, "wait_status: %s never %s: \"%s\"\n", id, name, all);
	return (-1);
}

/*
 * A supporter online and available: peerd:presence:<id> has node,
 * status, load 0, capacity, updated (recent unix seconds), a TTL of at
 * most presence_ttl, and the id is in peerd:node:<node>.
 */
static void
test_presence_record(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;
	char		 buf[64], all[1024];
	long long	 ttl, updated;
	long long	 now = (long long)time(NULL);

	assert_int_equal(world_cred(w, &cred, "sup-pres", PEOPLE_TAG_BME, 3, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(wait_status(w->h, "sup-pres", "available", AVAILABLE,
	    PRESENCE_MS), 0);
	assert_true(redis_presence(w->h, "sup-pres", all, sizeof all) >= 5);
	assert_non_null(redis_presence_field(w->h, "sup-pres", "node", buf,
	    sizeof buf));
	assert_string_equal(buf, "test");
	assert_non_null(redis_presence_field(w->h, "sup-pres", "load", buf,
	    sizeof buf));
	assert_string_equal(buf, "0");
	assert_non_null(redis_presence_field(w->h, "sup-pres", "capacity", buf,
	    sizeof buf));
	assert_string_equal(buf, "3");
	assert_non_null(redis_presence_field(w->h, "sup-pres", "updated", buf,
	    sizeof buf));
	updated = strtoll(buf, NULL, 10);
	assert_true(updated >= now - 5 && updated <= now + 5);

	ttl = redis_ttl(w->h, "peerd:presence:sup-pres");
	assert_true(ttl > 0 && ttl <= PEOPLE_PRESENCE_TTL_S);
	assert_int_equal(redis_sismember(w->h, "peerd:node:test", "sup-pres"),
	    1);
	tclient_free(s);
}

/* Status, capacity and load follow the supporter. */
static void
test_presence_follows_changes(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s, *r;
	struct pconv	 cv;

	assert_int_equal(world_cred(w, &cred, "sup-moves", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter(w, &cred));
	assert_int_equal(wait_status(w->h, "sup-moves", "away",
	    PEERD__V1__SUPPORTER_STATUS__AWAY, PRESENCE_MS), 0);

	assert_int_equal(people_avail(s, AVAILABLE, 0), 0);
	assert_int_equal(wait_status(w->h, "sup-moves", "available", AVAILABLE,
	    PRESENCE_MS), 0);
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(redis_presence_wait(w->h, "sup-moves", "load", "1",
	    PRESENCE_MS), 0);

	assert_int_equal(people_avail(s, ON_BREAK, 1), 0);
	assert_int_equal(wait_status(w->h, "sup-moves", "on_break", ON_BREAK,
	    PRESENCE_MS), 0);
	assert_int_equal(redis_presence_wait(w->h, "sup-moves", "capacity",
	    "1", PRESENCE_MS), 0);

	assert_int_equal(people_end(r, cv.id), 0);
	assert_int_equal(redis_presence_wait(w->h, "sup-moves", "load", "0",
	    PRESENCE_MS), 0);
	tclient_free(r);
	tclient_free(s);
}

/* The record outlives its TTL while the supporter stays (heartbeat). */
static void
test_presence_refreshed(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;
	long long	 ttl;

	assert_int_equal(world_cred(w, &cred, "sup-beat", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(redis_presence_wait(w->h, "sup-beat", NULL, NULL,
	    PRESENCE_MS), 0);
	/* Keep the client's loop turning (keepalive) while we wait. */
	assert_null(tclient_recv(s, BODY_(OFFER),
	    (PEOPLE_PRESENCE_TTL_S + 2) * 1000));
	assert_int_equal(redis_presence_wait(w->h, "sup-beat", NULL, NULL, 0),
	    0);
	ttl = redis_ttl(w->h, "peerd:presence:sup-beat");
	assert_true(ttl > 0 && ttl <= PEOPLE_PRESENCE_TTL_S);
	tclient_free(s);
}

/* Disconnect: the record and the node-set entry go. */
static void
test_presence_gone_after_disconnect(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;

	assert_int_equal(world_cred(w, &cred, "sup-bye", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(redis_presence_wait(w->h, "sup-bye", NULL, NULL,
	    PRESENCE_MS), 0);
	tclient_free(s);
	/* Faster than the TTL would do it. */
	assert_int_equal(redis_presence_gone(w->h, "sup-bye",
	    (PEOPLE_PRESENCE_TTL_S - 2) * 1000), 0);
	assert_int_equal(redis_sismember(w->h, "peerd:node:test", "sup-bye"),
	    0);
}

/*
 * The same supporter connecting again (SESSION_REPLACED for the old
 * connection): the old connection going must not take the new session's
 * record with it.
 */
static void
test_presence_survives_replacement(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s, *s2;

	assert_int_equal(world_cred(w, &cred, "sup-relogin", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(wait_status(w->h, "sup-relogin", "available",
	    AVAILABLE, PRESENCE_MS), 0);
	assert_non_null(s2 = people_supporter(w, &cred));
	assert_int_equal(tclient_wait_closed(s, HARNESS_IO_MS), 0);
	tclient_free(s);
	harness_msleep(500);
	assert_int_equal(wait_status(w->h, "sup-relogin", "available",
	    AVAILABLE, PRESENCE_MS), 0);
	assert_int_equal(redis_sismember(w->h, "peerd:node:test",
	    "sup-relogin"), 1);
	tclient_free(s2);
	assert_int_equal(redis_presence_gone(w->h, "sup-relogin",
	    (PEOPLE_PRESENCE_TTL_S - 2) * 1000), 0);
}

/*
 * peerd killed (no chance to clean up) and started again under the same
 * node id: the dead run's records are removed at start-up, well before
 * their TTL would have done it.
 */
static void
test_presence_crash_cleanup(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;
	long long	 ttl;

	assert_int_equal(world_cred(w, &cred, "sup-orphan", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(redis_presence_wait(w->h, "sup-orphan", NULL, NULL,
	    PRESENCE_MS), 0);
	/* Just refreshed: a full TTL to go. */
	assert_int_equal(people_avail(s, ON_BREAK, 0), 0);
	assert_int_equal(wait_status(w->h, "sup-orphan", "on_break", ON_BREAK,
	    PRESENCE_MS), 0);
	assert_int_equal(harness_peerd_signal(w->h, SIGKILL), 0);
	assert_int_equal(harness_peerd_wait(w->h, HARNESS_STOP_MS), 0);
	tclient_free(s);
	ttl = redis_ttl(w->h, "peerd:presence:sup-orphan");
	assert_true(ttl >= 3);
	assert_int_equal(world_restart_peerd(w), 0);
	assert_int_equal(redis_presence_gone(w->h, "sup-orphan", 1500), 0);
	assert_int_equal(redis_sismember(w->h, "peerd:node:test",
	    "sup-orphan"), 0);
}

/* A revoked supporter's record goes with its session. */
static void
test_presence_gone_after_revoke(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;

	assert_int_equal(world_cred(w, &cred, "sup-struck", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(redis_presence_wait(w->h, "sup-struck", NULL, NULL,
	    PRESENCE_MS), 0);
	assert_int_equal(people_revoke(w, "sup-struck"), 0);
	assert_int_equal(tclient_wait_closed(s, 5000), 0);
	assert_int_equal(redis_presence_gone(w->h, "sup-struck",
	    (PEOPLE_PRESENCE_TTL_S - 2) * 1000), 0);
	tclient_free(s);
}

/*
 * Redis holds opaque ids only: no display name, no tag name, no requester
 * anything, and no message text anywhere in Redis.
 */
static void
test_presence_opaque(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s, *r;
	struct pconv	 cv;
	static char	 dump[65536];

	assert_int_equal(world_cred_full(w, &cred, "sup-x7", "Mary Seacole",
	    PEOPLE_TAG_BME "," PEOPLE_TAG_LGBTQ, "en", 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, PEOPLE_TAG_LGBTQ, PEOPLE_TAG_BME,
	    &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "redis-canary-5be1", NULL),
	    0);
	assert_int_equal(redis_presence_wait(w->h, "sup-x7", "load", "1",
	    PRESENCE_MS), 0);
	harness_msleep(500);

	assert_int_equal(redis_dump_all(w->h, dump, sizeof dump), 0);
	assert_non_null(strstr(dump, "peerd:presence:sup-x7"));
	if (strstr(dump, "Mary") != NULL || strstr(dump, "qx-") != NULL ||
	    strstr(dump, "redis-canary") != NULL || strstr(dump, "guest") !=
	    NULL)
		fprintf(stderr, "Redis holds:\n%s", dump);
	assert_null(strstr(dump, "Mary"));
	assert_null(strstr(dump, "qx-"));
	assert_null(strstr(dump, "redis-canary"));
	if (cv.rpeer[0] != '\0')		/* display name as sent */
		assert_null(strstr(dump, cv.rpeer));
	if (cv.speer[0] != '\0')		/* the requester's pseudonym */
		assert_null(strstr(dump, cv.speer));
	tclient_free(r);
	tclient_free(s);
}

/*
 * Redis restarted (empty) under a live conversation: messages keep
 * flowing while it is down, and once it is back the presence record is
 * there again.
 */
static void
test_presence_redis_restart(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred, cred2;
	struct tclient	*s, *s2, *r;
	struct pconv	 cv;
	Envelope	*env;
	uint64_t	 seq;

	assert_int_equal(world_cred(w, &cred, "sup-steady", NULL, 2, 0), 0);
	assert_int_equal(world_cred(w, &cred2, "sup-idle", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(s2 = people_supporter(w, &cred2));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(redis_presence_wait(w->h, "sup-steady", "load", "1",
	    PRESENCE_MS), 0);

	assert_int_equal(harness_redis_stop(w->h), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "while redis is down",
	    &seq), 0);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "while redis is down");
	frame_free(env);
	assert_int_equal(people_chat(s, cv.id, 1, "still here", NULL), 0);
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);
	/* A change made while Redis is away must be there afterwards. */
	assert_int_equal(people_avail(s2, AVAILABLE, 0), 0);

	assert_int_equal(harness_redis_start(w->h), 0);
	assert_int_equal(redis_presence_wait(w->h, "sup-steady", "load", "1",
	    REDIS_BACK_MS), 0);
	assert_int_equal(wait_status(w->h, "sup-idle", "available", AVAILABLE,
	    PRESENCE_MS), 0);
	assert_int_equal(redis_sismember(w->h, "peerd:node:test",
	    "sup-steady"), 1);
	assert_true(redis_ttl(w->h, "peerd:presence:sup-steady") > 0);

	/* The conversation never noticed. */
	assert_int_equal(people_chat(r, cv.id, 2, "after redis came back",
	    NULL), 0);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "after redis came back");
	frame_free(env);
	assert_null(tclient_recv(r, BODY_(END_CONVERSATION), 0));
	assert_null(tclient_recv(r, BODY_(PEER_STATUS), 0));
	assert_null(tclient_recv(s, BODY_(END_CONVERSATION), 0));
	tclient_free(r);
	tclient_free(s);
	tclient_free(s2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_presence_record, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_presence_follows_changes,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_presence_refreshed, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_presence_gone_after_disconnect, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_presence_survives_replacement, setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_presence_crash_cleanup,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_presence_gone_after_revoke,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_presence_opaque, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_presence_redis_restart,
		    setup, world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
