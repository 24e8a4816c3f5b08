/*
 * test_offer.c -- offers a supporter declines, lets time out, or answers
 * with an id peerd does not know.  The requester keeps their place and that
 * supporter is not offered the same request again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define ERR_(x)		PEERD__V1__ERROR_CODE__ ## x
#define AVAILABLE	PEERD__V1__SUPPORTER_STATUS__AVAILABLE
#define AWAY		PEERD__V1__SUPPORTER_STATUS__AWAY

static int
setup(void **state)
{
	return (world_setup(state));
}

/* RequestPeer and expect a QueueUpdate. */
static void
ask(struct tclient *r, const char *need)
{
	Envelope	*env;

	assert_non_null(env = people_request(r, need, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
}

/* Wait for an Offer to s; return its id. */
static uint64_t
offered(struct tclient *s, const char *who)
{
	Envelope	*env;
	uint64_t	 id;

	assert_non_null(env = people_wait(s, who, BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_not_equal(id = env->offer->offer_id, 0);
	frame_free(env);
	return (id);
}

/* Accept on s and expect r to be the one Matched. */
static void
accept_for(struct tclient *s, uint64_t offer, struct tclient *r,
    const char *rname)
{
	Envelope	*sm, *rm;

	assert_int_equal(people_accept(s, offer), 0);
	assert_non_null(sm = people_wait(s, "supporter", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	assert_non_null(rm = people_wait(r, rname, BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	assert_int_equal(sm->matched->conversation_id,
	    rm->matched->conversation_id);
	frame_free(sm);
	frame_free(rm);
}

/*
 * Decline: Ok; the decliner is not offered that request again; a second
 * supporter who arrives gets it.  The decliner stays available for others.
 */
static void
test_offer_decline(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r, *r2;
	uint64_t	 offer;

	assert_int_equal(world_cred(w, &c1, "sup-no", PEOPLE_TAG_LGBTQ, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &c2, "sup-yes", PEOPLE_TAG_LGBTQ, 1,
	    0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	ask(r, PEOPLE_TAG_LGBTQ);
	offer = offered(s1, "sup-no");
	assert_int_equal(people_decline(s1, offer), 0);
	/* Declined once: not offered again, nor matched. */
	assert_int_equal(people_accept(s1, offer), ERR_(NOT_FOUND));
	assert_null(tclient_recv(s1, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));

	assert_non_null(s2 = people_supporter_available(w, &c2));
	accept_for(s2, offered(s2, "sup-yes"), r, "requester");

	/* The decliner is still available for someone else. */
	assert_non_null(r2 = people_requester(w, NULL));
	ask(r2, NULL);
	accept_for(s1, offered(s1, "sup-no"), r2, "r2");

	tclient_free(r);
	tclient_free(r2);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * A declined requester keeps their place: r1 (first) is declined by s1,
 * who then gets r2; s2 arriving later gets r1, not someone newer.
 */
static void
test_offer_decline_keeps_place(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r1, *r2, *r3;
	uint64_t	 offer;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-b", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter(w, &c1));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(r3 = people_requester(w, NULL));
	ask(r1, NULL);
	harness_msleep(20);
	ask(r2, NULL);
	assert_int_equal(people_avail(s1, AVAILABLE, 0), 0);

	offer = offered(s1, "s1");		/* r1, the oldest */
	assert_int_equal(people_decline(s1, offer), 0);
	accept_for(s1, offered(s1, "s1"), r2, "r2");
	ask(r3, NULL);				/* newer than r1 */

	assert_non_null(s2 = people_supporter_available(w, &c2));
	accept_for(s2, offered(s2, "s2"), r1, "r1");
	assert_null(tclient_recv(r3, BODY_(MATCHED), 0));

	tclient_free(r1);
	tclient_free(r2);
	tclient_free(r3);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * An offer left unanswered: after offer_timeout it is withdrawn
 * (AcceptOffer then NOT_FOUND), the supporter is told it is AWAY, the
 * requester still waits and goes to the next supporter.
 */
static void
test_offer_timeout(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r;
	Envelope	*env;
	uint64_t	 offer;
	int64_t		 t0, dt;

	assert_int_equal(world_cred(w, &c1, "sup-asleep", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-awake", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	ask(r, NULL);
	assert_non_null(env = people_wait(s1, "s1", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	t0 = harness_now_ms();
	offer = env->offer->offer_id;
	assert_int_equal(env->offer->expires_s, PEOPLE_OFFER_S);
	frame_free(env);

	/* peerd pushes SetAvailability{AWAY} when the offer times out. */
	assert_non_null(env = people_wait(s1, "s1", BODY_(SET_AVAILABILITY),
	    (PEOPLE_OFFER_S + 3) * 1000));
	dt = harness_now_ms() - t0;
	assert_int_equal(env->id, 0);
	assert_int_equal(env->set_availability->status, AWAY);
	frame_free(env);
	assert_true(dt >= (PEOPLE_OFFER_S - 1) * 1000);
	assert_int_equal(redis_presence_wait(w->h, "sup-asleep", "status",
	    "away", 2000), 0);
	assert_int_equal(people_accept(s1, offer), ERR_(NOT_FOUND));
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));

	/* Back from away: still not offered the same request again. */
	assert_int_equal(people_avail(s1, AVAILABLE, 0), 0);
	assert_null(tclient_recv(s1, BODY_(OFFER), PEOPLE_QUIET_MS));

	assert_non_null(s2 = people_supporter_available(w, &c2));
	accept_for(s2, offered(s2, "s2"), r, "requester");
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/* AcceptOffer/DeclineOffer with an id never offered: NOT_FOUND. */
static void
test_offer_unknown_id(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s;

	assert_int_equal(world_cred(w, &c1, "sup-guess", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_int_equal(people_accept(s, 987654321), ERR_(NOT_FOUND));
	assert_int_equal(people_decline(s, 987654321), ERR_(NOT_FOUND));
	assert_false(tclient_closed(s));
	tclient_free(s);
}

/*
 * One supporter cannot take another's offer: s2 accepting s1's offer id
 * gets NOT_FOUND and nobody is matched with s2.
 */
static void
test_offer_not_yours(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r;
	uint64_t	 offer;

	assert_int_equal(world_cred(w, &c1, "sup-own", PEOPLE_TAG_BME, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &c2, "sup-thief", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(s2 = people_supporter(w, &c2));		/* AWAY */
	assert_non_null(r = people_requester(w, NULL));
	ask(r, PEOPLE_TAG_BME);
	offer = offered(s1, "s1");
	assert_int_equal(people_accept(s2, offer), ERR_(NOT_FOUND));
	assert_null(tclient_recv(s2, BODY_(MATCHED), 300));
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));
	accept_for(s1, offer, r, "requester");
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * The supporter drops while considering an offer: the offer is withdrawn,
 * the requester keeps waiting and goes to the next supporter.
 */
static void
test_offer_supporter_drops(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r;

	assert_int_equal(world_cred(w, &c1, "sup-flaky", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-steady", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	ask(r, NULL);
	(void)offered(s1, "s1");
	tclient_free(s1);
	assert_null(tclient_recv(r, BODY_(MATCHED), 300));
	assert_non_null(s2 = people_supporter_available(w, &c2));
	accept_for(s2, offered(s2, "s2"), r, "requester");
	tclient_free(r);
	tclient_free(s2);
}

/*
 * At most one pending offer per free slot: a capacity-2 supporter is
 * offered two waiting requesters at once, a capacity-1 supporter one.
 */
static void
test_offer_one_per_slot(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r[4];
	Envelope	*env;
	int		 i;

	assert_int_equal(world_cred(w, &c1, "sup-double", NULL, 2, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-single", NULL, 1, 0), 0);
	for (i = 0; i < 4; i++) {
		assert_non_null(r[i] = people_requester(w, NULL));
		ask(r[i], NULL);
	}
	assert_non_null(s1 = people_supporter_available(w, &c1));
	(void)offered(s1, "s1");
	(void)offered(s1, "s1");
	assert_null(tclient_recv(s1, BODY_(OFFER), 500));
	assert_non_null(s2 = people_supporter_available(w, &c2));
	(void)offered(s2, "s2");
	assert_null(tclient_recv(s2, BODY_(OFFER), 500));
	assert_null(env = tclient_recv(s1, BODY_(OFFER), 0));
	for (i = 0; i < 4; i++)
		tclient_free(r[i]);
	tclient_free(s1);
	tclient_free(s2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offer_decline, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_offer_decline_keeps_place,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_offer_timeout, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_offer_unknown_id, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_offer_not_yours, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_offer_supporter_drops,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_offer_one_per_slot, setup,
		    world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
