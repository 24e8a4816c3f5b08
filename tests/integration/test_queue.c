/*
 * test_queue.c -- who gets matched and who waits: the right supporter among
 * several with different tags, required tags nobody has, queue positions
 * moving as others are served or leave, cancel, unknown tags, and no
 * head-of-line blocking.
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

#define POSITION_MS	5000	/* ms: pushes come at most every 2 s */

static int
setup(void **state)
{
	return (world_setup(state));
}

static int
setup_short_grace(void **state)
{
	return (world_setup_extra(state, "grace 2\n"));
}

static int
setup_small_queue(void **state)
{
	return (world_setup_extra(state, "max_queue 2\n"));
}

/* Return 1 if tag is among the n strings of v. */
static int
has(char **v, size_t n, const char *tag)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], tag) == 0)
			return (1);
	return (0);
}

/* RequestPeer and expect QueueUpdate; return its position. */
static uint32_t
ask(struct tclient *r, const char *need, const char *prefer)
{
	Envelope	*env;
	char		 buf[512];
	uint32_t	 pos;

	env = people_request(r, need, prefer, NULL, 0);
	if (env == NULL || env->body_case != BODY_(QUEUE_UPDATE))
		fprintf(stderr, "ask: got %s\n", people_describe(env, buf,
		    sizeof buf));
	assert_non_null(env);
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	pos = env->queue_update->position;
	frame_free(env);
	return (pos);
}

/*
 * Read pushed QueueUpdates until one says position want (or time runs
 * out).  Returns the last position seen (0 if none came).
 */
static uint32_t
wait_position(struct tclient *r, const char *who, uint32_t want,
    int timeout_ms)
{
	int64_t		 deadline = harness_now_ms() + timeout_ms, left;
	Envelope	*env;
	uint32_t	 last = 0;

	for (;;) {
		left = deadline - harness_now_ms();
		if (left <= 0)
			break;
		env = tclient_recv(r, BODY_(QUEUE_UPDATE), (int)left);
		if (env == NULL)
			break;
		assert_int_equal(env->id, 0);
		last = env->queue_update->position;
		frame_free(env);
		if (last == want)
			return (last);
	}
	fprintf(stderr, "wait_position: %s wanted %u, last pushed %u\n", who,
	    want, last);
	return (last);
}

/*
 * Supporter s (AWAY, no offer yet) becomes available: the offer it gets
 * is accepted and requester r is the one matched.
 */
static void
serve(struct tclient *s, struct tclient *r, const char *who)
{
	Envelope	*env;

	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_accept(s, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r, who, BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	frame_free(env);
}

/*
 * Three supporters with different vetted tags: the one covering the
 * required tag and sharing the preferred one is offered; the others hear
 * nothing.
 */
static void
test_match_right_supporter(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2, c3;
	struct tclient	*s1, *s2, *s3, *r;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-bme", PEOPLE_TAG_BME, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &c2, "sup-lgbtq", PEOPLE_TAG_LGBTQ, 1,
	    0), 0);
	assert_int_equal(world_cred(w, &c3, "sup-lgbtq-prison",
	    PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_PRISON, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(s3 = people_supporter_available(w, &c3));

	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(ask(r, PEOPLE_TAG_LGBTQ, PEOPLE_TAG_PRISON), 1);
	assert_non_null(env = people_wait(s3, "sup-lgbtq-prison",
	    BODY_(OFFER), PEOPLE_PUSH_MS));
	assert_true(has(env->offer->shared, env->offer->n_shared,
	    PEOPLE_TAG_LGBTQ));
	assert_true(has(env->offer->shared, env->offer->n_shared,
	    PEOPLE_TAG_PRISON));
	assert_false(has(env->offer->shared, env->offer->n_shared,
	    PEOPLE_TAG_BME));
	frame_free(env);
	assert_null(tclient_recv(s1, BODY_(OFFER), 500));
	assert_null(tclient_recv(s2, BODY_(OFFER), 0));

	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
	tclient_free(s3);
}

/*
 * Wait for the first Offer to any of n supporters (listening to each in
 * turn); return the index of the one offered, -1 if none.  The offer is
 * freed.
 */
static int
offered_to(struct tclient **s, int n)
{
	int64_t		 deadline = harness_now_ms() + PEOPLE_PUSH_MS;
	Envelope	*env;
	int		 i;

	while (harness_now_ms() < deadline) {
		for (i = 0; i < n; i++) {
			if ((env = tclient_recv(s[i], BODY_(OFFER), 20)) !=
			    NULL) {
				frame_free(env);
				return (i);
			}
		}
	}
	return (-1);
}

/*
 * Among supporters who all cover the need, the one sharing more preferred
 * tags is offered, whatever order they came in.
 */
static void
test_match_most_preferred(void **state)
{
	struct world	*w = *state;
	struct pcred	 c[3];
	struct tclient	*s[3], *r;
	int		 i;

	assert_int_equal(world_cred(w, &c[0], "sup-p1",
	    PEOPLE_TAG_WARD "," PEOPLE_TAG_BME, 1, 0), 0);
	assert_int_equal(world_cred(w, &c[1], "sup-p3",
	    PEOPLE_TAG_WARD "," PEOPLE_TAG_BME "," PEOPLE_TAG_LGBTQ ","
	    PEOPLE_TAG_PRISON, 1, 0), 0);
	assert_int_equal(world_cred(w, &c[2], "sup-p2",
	    PEOPLE_TAG_WARD "," PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_PRISON, 1, 0),
	    0);
	for (i = 0; i < 3; i++)
		assert_non_null(s[i] = people_supporter_available(w, &c[i]));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(ask(r, PEOPLE_TAG_WARD, PEOPLE_TAG_BME ","
	    PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_PRISON), 1);
	assert_int_equal(offered_to(s, 3), 1);
	assert_null(tclient_recv(s[0], BODY_(OFFER), 300));
	assert_null(tclient_recv(s[2], BODY_(OFFER), 0));
	tclient_free(r);
	for (i = 0; i < 3; i++)
		tclient_free(s[i]);
}

/*
 * Equal on tags, the supporter holding fewer conversations is offered
 * (fairness for supporters).
 */
static void
test_match_fewest_conversations(void **state)
{
	struct world	*w = *state;
	struct pcred	 cbusy, cfree;
	struct tclient	*s[2], *r1, *r2;
	struct pconv	 cv;

	assert_int_equal(world_cred(w, &cbusy, "sup-busy", NULL, 3, 0), 0);
	assert_int_equal(world_cred(w, &cfree, "sup-idle", NULL, 3, 0), 0);
	assert_non_null(s[0] = people_supporter_available(w, &cbusy));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_int_equal(people_match(r1, s[0], NULL, NULL, &cv), 0);
	assert_non_null(s[1] = people_supporter_available(w, &cfree));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r2, NULL, NULL), 1);
	assert_int_equal(offered_to(s, 2), 1);
	assert_null(tclient_recv(s[0], BODY_(OFFER), 300));
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s[0]);
	tclient_free(s[1]);
}

/*
 * A required tag no available supporter has: queued with a position, no
 * offer to the supporter who lacks it, even after a while.
 */
static void
test_queue_need_unmet(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-only-bme", PEOPLE_TAG_BME, 2,
	    0), 0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));

	assert_non_null(env = people_request(r, PEOPLE_TAG_PRISON, NULL, NULL,
	    0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->position, 1);
	assert_int_equal(env->queue_update->compatible_supporters, 0);
	assert_false(env->queue_update->relaxed);
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));

	/* Still queued: a second RequestPeer is BAD_STATE. */
	env = people_request(r, PEOPLE_TAG_PRISON, NULL, NULL, 0);
	assert_int_equal(people_code(env), ERR_(BAD_STATE));
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

/*
 * Three requesters need the same tag while its only supporter is away:
 * positions 1, 2, 3.  The first is served, then the second cancels: the
 * last one's position moves 3 -> 2 -> 1.
 */
static void
test_queue_positions_move(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r1, *r2, *r3;

	assert_int_equal(world_cred(w, &c1, "sup-psy", PEOPLE_TAG_PSYCHOSIS, 1,
	    0), 0);
	assert_non_null(s = people_supporter(w, &c1));	/* AWAY */
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(r3 = people_requester(w, NULL));
	assert_int_equal(ask(r1, PEOPLE_TAG_PSYCHOSIS, NULL), 1);
	assert_int_equal(ask(r2, PEOPLE_TAG_PSYCHOSIS, NULL), 2);
	assert_int_equal(ask(r3, PEOPLE_TAG_PSYCHOSIS, NULL), 3);
	assert_null(tclient_recv(s, BODY_(OFFER), 300));

	/* She comes: the longest waiting is offered and matched. */
	serve(s, r1, "r1");
	assert_null(tclient_recv(r2, BODY_(MATCHED), 0));

	/* The others move up. */
	assert_int_equal(wait_position(r2, "r2", 1, POSITION_MS), 1);
	assert_int_equal(wait_position(r3, "r3", 2, POSITION_MS), 2);

	/* r2 leaves the queue: r3 is next. */
	assert_int_equal(people_cancel(r2), 0);
	assert_int_equal(wait_position(r3, "r3", 1, POSITION_MS), 1);
	assert_null(tclient_recv(r3, BODY_(MATCHED), 0));

	tclient_free(r1);
	tclient_free(r2);
	tclient_free(r3);
	tclient_free(s);
}

/*
 * CancelRequest: Ok while queued, BAD_STATE when not; a supporter who
 * comes later is offered nothing.
 */
static void
test_queue_cancel(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r;

	assert_int_equal(world_cred(w, &c1, "sup-late", NULL, 1, 0), 0);
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_cancel(r), ERR_(BAD_STATE));
	assert_int_equal(ask(r, NULL, NULL), 1);
	assert_int_equal(people_cancel(r), 0);
	assert_int_equal(people_cancel(r), ERR_(BAD_STATE));

	assert_non_null(s = people_supporter_available(w, &c1));
	assert_null(tclient_recv(s, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));

	/* And the requester may ask again. */
	assert_int_equal(ask(r, NULL, NULL), 1);
	tclient_free(r);
	tclient_free(s);
}

/* Cancel while a supporter considers the request: the offer is withdrawn. */
static void
test_queue_cancel_withdraws_offer(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r;
	Envelope	*env;
	uint64_t	 offer;

	assert_int_equal(world_cred(w, &c1, "sup-slow", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(ask(r, NULL, NULL), 1);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	offer = env->offer->offer_id;
	frame_free(env);

	assert_int_equal(people_cancel(r), 0);
	assert_int_equal(people_accept(s, offer), ERR_(NOT_FOUND));
	assert_null(tclient_recv(r, BODY_(MATCHED), 500));
	assert_null(tclient_recv(s, BODY_(MATCHED), 0));
	tclient_free(r);
	tclient_free(s);
}

/* A tag not in the catalogue: UNKNOWN_TAG, connection kept, not queued. */
static void
test_queue_unknown_tag(void **state)
{
	struct world	*w = *state;
	struct tclient	*r;
	Envelope	*env;

	assert_non_null(r = people_requester(w, NULL));
	env = people_request(r, "qx-no-such-tag", NULL, NULL, 0);
	assert_int_equal(people_code(env), ERR_(UNKNOWN_TAG));
	assert_false(env->error->fatal);
	frame_free(env);
	env = people_request(r, NULL, "qx-nor-this", NULL, 0);
	assert_int_equal(people_code(env), ERR_(UNKNOWN_TAG));
	frame_free(env);

	/* Not queued, connection alive. */
	assert_int_equal(people_cancel(r), ERR_(BAD_STATE));
	assert_int_equal(ask(r, PEOPLE_TAG_WARD, NULL), 1);
	assert_false(tclient_closed(r));
	tclient_free(r);
}

/*
 * Head-of-line: an earlier requester nobody can serve does not hold up a
 * later one who can be served.
 */
static void
test_queue_no_head_of_line_blocking(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r1, *r2;
	struct pconv	 cv;

	assert_int_equal(world_cred(w, &c1, "sup-ward", PEOPLE_TAG_WARD, 1, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r1, PEOPLE_TAG_PRISON, NULL), 1);
	assert_null(tclient_recv(s, BODY_(OFFER), 500));
	assert_int_equal(people_match(r2, s, PEOPLE_TAG_WARD, NULL, &cv), 0);
	assert_null(tclient_recv(r1, BODY_(MATCHED), 0));
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s);
}

/* An urgent request is offered before an earlier ordinary one. */
static void
test_queue_urgent_first(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r1, *r2;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-urg", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter(w, &c1));	/* AWAY */
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r1, NULL, NULL), 1);
	env = people_request(r2, NULL, NULL, NULL, PREQ_URGENT);
	assert_int_equal(people_code(env), 0);
	assert_int_equal(env->queue_update->position, 1);
	frame_free(env);

	/* The earlier ordinary request moved back. */
	assert_int_equal(wait_position(r1, "r1", 2, POSITION_MS), 2);

	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_true(env->offer->urgent);
	assert_int_equal(people_accept(s, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r2, "urgent", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_null(tclient_recv(r1, BODY_(MATCHED), 300));
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s);
}

/* Only a supporter speaking one of the request's languages is offered. */
static void
test_match_language(void **state)
{
	struct world	*w = *state;
	struct pcred	 cen, cfr;
	struct tclient	*sen, *sfr, *r1, *r2;
	Envelope	*env;

	assert_int_equal(world_cred_full(w, &cen, "sup-en", "Ann", NULL, "en",
	    1, 0), 0);
	assert_int_equal(world_cred_full(w, &cfr, "sup-fr", "Aline", NULL,
	    "fr", 1, 0), 0);
	assert_non_null(sen = people_supporter_available(w, &cen));
	assert_non_null(sfr = people_supporter_available(w, &cfr));

	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(env = people_request(r1, NULL, NULL, "fr", 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->compatible_supporters, 1);
	frame_free(env);
	assert_non_null(env = people_wait(sfr, "sup-fr", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_null(tclient_recv(sen, BODY_(OFFER), 300));

	/* No languages: the server default (en). */
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r2, NULL, NULL), 1);
	assert_non_null(env = people_wait(sen, "sup-en", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_null(tclient_recv(sfr, BODY_(OFFER), 300));
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(sen);
	tclient_free(sfr);
}

/*
 * relax_after_s is consent: a required tag nobody has is turned into a
 * preferred one after that many seconds (QueueUpdate relaxed=true), and
 * then a supporter without it is offered (Offer.need empty, the tag in
 * prefer).  Without consent, never.
 */
static void
test_queue_relax_after(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r, *r2;
	Envelope	*env;
	int64_t		 t0;
	size_t		 i;
	int		 found = 0;

	assert_int_equal(world_cred(w, &c1, "sup-general", PEOPLE_TAG_BME, 2,
	    0), 0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r2, PEOPLE_TAG_PRISON, NULL), 1);	/* no consent */
	assert_non_null(r = people_requester(w, NULL));
	t0 = harness_now_ms();
	assert_non_null(env = people_request_relax(r, PEOPLE_TAG_PRISON, NULL,
	    NULL, 0, 2));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_false(env->queue_update->relaxed);
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(OFFER), 1000));

	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_true(harness_now_ms() - t0 >= 1500);
	assert_int_equal(env->offer->n_need, 0);
	for (i = 0; i < env->offer->n_prefer; i++)
		found |= strcmp(env->offer->prefer[i], PEOPLE_TAG_PRISON) == 0;
	assert_true(found);
	frame_free(env);
	/* The requester heard it was relaxed. */
	for (found = 0; !found;) {
		assert_non_null(env = people_wait(r, "requester",
		    BODY_(QUEUE_UPDATE), PEOPLE_PUSH_MS));
		found = env->queue_update->relaxed;
		frame_free(env);
	}
	/* The one who did not consent is still not offered. */
	assert_null(tclient_recv(s, BODY_(OFFER), PEOPLE_QUIET_MS));
	tclient_free(r);
	tclient_free(r2);
	tclient_free(s);
}

/*
 * A requester whose connection drops leaves the queue: a pending offer for
 * them is withdrawn (NOT_FOUND), and no later supporter is offered them.
 */
static void
test_queue_drop_leaves(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r1, *r2;
	Envelope	*env;
	uint64_t	 offer;

	assert_int_equal(world_cred(w, &c1, "sup-waits", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-later", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_int_equal(ask(r1, NULL, NULL), 1);
	assert_non_null(env = people_wait(s1, "s1", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	offer = env->offer->offer_id;
	frame_free(env);
	tclient_free(r1);
	harness_msleep(300);
	assert_int_equal(people_accept(s1, offer), ERR_(NOT_FOUND));
	assert_null(tclient_recv(s1, BODY_(MATCHED), 0));

	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r2, PEOPLE_TAG_WARD, NULL), 1);
	tclient_free(r2);
	harness_msleep(300);
	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_null(tclient_recv(s2, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_null(tclient_recv(s1, BODY_(OFFER), 0));
	tclient_free(s1);
	tclient_free(s2);
}

/* AWAY and ON_BREAK supporters are offered nothing; AVAILABLE again is. */
static void
test_queue_break_not_offered(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-tea", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_int_equal(people_avail(s, PEERD__V1__SUPPORTER_STATUS__ON_BREAK,
	    0), 0);
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(ask(r, NULL, NULL), 1);
	assert_null(tclient_recv(s, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_int_equal(people_avail(s, PEERD__V1__SUPPORTER_STATUS__AWAY,
	    0), 0);
	assert_null(tclient_recv(s, BODY_(OFFER), 500));
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

#define FIFO_N	6	/* requesters in the FIFO test */

/*
 * Equal requests are served longest-waiting first: one supporter taking
 * one conversation at a time serves six queued requesters in the order
 * they asked, each once.
 */
static void
test_queue_fifo(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r[FIFO_N];
	Envelope	*env;
	uint64_t	 conv;
	int		 i, j;

	assert_int_equal(world_cred(w, &c1, "sup-fifo", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter(w, &c1));		/* AWAY */
	for (i = 0; i < FIFO_N; i++) {
		assert_non_null(r[i] = people_requester(w, NULL));
		assert_int_equal(ask(r[i], NULL, NULL), (uint32_t)i + 1);
		harness_msleep(5);
	}
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	for (i = 0; i < FIFO_N; i++) {
		assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
		    PEOPLE_PUSH_MS));
		assert_int_equal(people_accept(s, env->offer->offer_id), 0);
		frame_free(env);
		assert_non_null(env = people_wait(r[i], "next requester",
		    BODY_(MATCHED), PEOPLE_PUSH_MS));
		conv = env->matched->conversation_id;
		frame_free(env);
		for (j = 0; j < FIFO_N; j++)
			if (j != i)
				assert_null(tclient_recv(r[j], BODY_(MATCHED),
				    0));
		assert_int_equal(people_end(s, conv), 0);
	}
	for (i = 0; i < FIFO_N; i++)
		tclient_free(r[i]);
	tclient_free(s);
}

#define MANY_R	24	/* requesters in the busy-evening test */
#define MANY_S	4	/* supporters, capacity 2 each */

/* The supporters' side of the busy evening. */
struct evening {
	struct tclient	*s[MANY_S];
	int		 load[MANY_S];
	uint64_t	 conv[MANY_R];	/* conversations seen by supporters */
	int		 holder[MANY_R];	/* which supporter holds each */
	int		 nconv;
};

/* Let supporters accept offers and note their Matched (load <= 2). */
static void
evening_pump(struct evening *e, int wait_ms)
{
	Envelope	*env;
	int		 i;

	for (i = 0; i < MANY_S; i++) {
		while ((env = tclient_recv(e->s[i], BODY_(OFFER), wait_ms)) !=
		    NULL) {
			assert_int_equal(people_accept(e->s[i],
			    env->offer->offer_id), 0);
			frame_free(env);
		}
		while ((env = tclient_recv(e->s[i], BODY_(MATCHED), 0)) !=
		    NULL) {
			assert_true(e->load[i] < 2);
			assert_true(e->nconv < MANY_R);
			e->load[i]++;
			e->conv[e->nconv] = env->matched->conversation_id;
			e->holder[e->nconv++] = i;
			frame_free(env);
		}
	}
}

/* Return the supporter holding conv (pumping until known), or -1. */
static int
evening_holder(struct evening *e, uint64_t conv)
{
	int64_t	deadline = harness_now_ms() + PEOPLE_PUSH_MS;
	int	k;

	for (;;) {
		for (k = 0; k < e->nconv; k++)
			if (e->conv[k] == conv)
				return (e->holder[k]);
		if (harness_now_ms() >= deadline)
			return (-1);
		evening_pump(e, 10);
	}
}

/*
 * A busy evening: 24 requesters, 4 supporters of capacity 2 who accept
 * every offer; each requester says one thing and ends.  Everyone is served
 * exactly once, no supporter ever holds more than its capacity, and every
 * message reaches the supporter in that conversation.
 */
static void
test_queue_busy_evening(void **state)
{
	struct world	*w = *state;
	struct evening	 e;
	struct pcred	 c[MANY_S];
	struct tclient	*r[MANY_R];
	Envelope	*env;
	uint64_t	 conv;
	int		 served[MANY_R], done = 0, i, j;
	int64_t		 deadline;
	char		 id[32], text[64];

	memset(&e, 0, sizeof e);
	memset(served, 0, sizeof served);
	for (i = 0; i < MANY_S; i++) {
		snprintf(id, sizeof id, "sup-evening-%d", i);
		assert_int_equal(world_cred(w, &c[i], id, NULL, 2, 0), 0);
		assert_non_null(e.s[i] = people_supporter_available(w, &c[i]));
	}
	for (j = 0; j < MANY_R; j++) {
		assert_non_null(r[j] = people_requester(w, NULL));
		assert_non_null(env = people_request(r[j], NULL, NULL, NULL,
		    0));
		assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
		frame_free(env);
	}
	deadline = harness_now_ms() + 60000;
	while (done < MANY_R) {
		assert_true(harness_now_ms() < deadline);
		evening_pump(&e, 5);
		for (j = 0; j < MANY_R; j++) {
			if ((env = tclient_recv(r[j], BODY_(MATCHED), 0)) ==
			    NULL)
				continue;
			assert_int_equal(served[j], 0);
			served[j] = 1;
			conv = env->matched->conversation_id;
			frame_free(env);
			assert_true((i = evening_holder(&e, conv)) >= 0);
			snprintf(text, sizeof text, "from requester %d", j);
			assert_int_equal(people_chat(r[j], conv, 1, text, NULL),
			    0);
			assert_non_null(env = people_wait_chat(e.s[i], conv,
			    PEOPLE_PUSH_MS));
			assert_string_equal(env->chat_message->text, text);
			frame_free(env);
			assert_int_equal(people_end(r[j], conv), 0);
			assert_non_null(env = people_wait(e.s[i], "supporter",
			    BODY_(END_CONVERSATION), PEOPLE_PUSH_MS));
			assert_int_equal(env->end_conversation->conversation_id,
			    conv);
			frame_free(env);
			e.load[i]--;
			done++;
		}
	}
	for (j = 0; j < MANY_R; j++)
		assert_int_equal(served[j], 1);
	for (i = 0; i < MANY_S; i++)
		assert_null(tclient_recv(e.s[i], BODY_(OFFER), 0));
	for (j = 0; j < MANY_R; j++)
		tclient_free(r[j]);
	for (i = 0; i < MANY_S; i++)
		tclient_free(e.s[i]);
}

/*
 * eta_s: 0 while nothing has been served (nothing to estimate from); once
 * the compatible supporter has served people, a waiting requester gets an
 * estimate above 0, in 10 s steps under two minutes and whole minutes
 * above.
 */
static void
test_queue_eta(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r[4];
	struct pconv	 cv;
	Envelope	*env;
	uint32_t	 eta;
	int		 i;

	assert_int_equal(world_cred(w, &c1, "sup-eta", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter(w, &c1));		/* AWAY */
	assert_non_null(r[0] = people_requester(w, NULL));
	assert_non_null(env = people_request(r[0], NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->eta_s, 0);
	frame_free(env);
	assert_int_equal(people_cancel(r[0]), 0);
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);

	/* She serves two people. */
	for (i = 1; i <= 2; i++) {
		assert_non_null(r[i] = people_requester(w, NULL));
		assert_int_equal(people_match(r[i], s, NULL, NULL, &cv), 0);
		if (i == 1)
			assert_int_equal(people_end(s, cv.id), 0);
	}
	/* Busy now: the next one waits, with an estimate. */
	assert_non_null(r[3] = people_requester(w, NULL));
	assert_non_null(env = people_request(r[3], NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	eta = env->queue_update->eta_s;
	frame_free(env);
	assert_true(eta > 0);
	if (eta < 120)
		assert_int_equal(eta % 10, 0);
	else
		assert_int_equal(eta % 60, 0);
	for (i = 0; i < 4; i++)
		tclient_free(r[i]);
	tclient_free(s);
}

/*
 * position counts those ahead who compete for a supporter who could serve
 * this request: r1 needs lgbtq, r2 needs bme, r3 takes anyone, and the
 * only supporters known are one lgbtq and one bme supporter (both away).
 * Whichever becomes free first serves r1 or r2 before r3: r3 is third.
 * r2 is first among those wanting the bme supporter.
 */
static void
test_queue_position_per_need(void **state)
{
	struct world	*w = *state;
	struct pcred	 cl, cb;
	struct tclient	*sl, *sb, *r1, *r2, *r3;

	assert_int_equal(world_cred(w, &cl, "sup-l", PEOPLE_TAG_LGBTQ, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &cb, "sup-b", PEOPLE_TAG_BME, 1, 0), 0);
	assert_non_null(sl = people_supporter(w, &cl));		/* AWAY */
	assert_non_null(sb = people_supporter(w, &cb));		/* AWAY */
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(r3 = people_requester(w, NULL));
	assert_int_equal(ask(r1, PEOPLE_TAG_LGBTQ, NULL), 1);
	assert_int_equal(ask(r2, PEOPLE_TAG_BME, NULL), 1);
	assert_int_equal(ask(r3, NULL, NULL), 3);
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(r3);
	tclient_free(sl);
	tclient_free(sb);
}

/* max_queue requesters waiting: the next one gets QUEUE_FULL, not fatal. */
static void
test_queue_full(void **state)
{
	struct world	*w = *state;
	struct tclient	*r[3];
	Envelope	*env;
	int		 i;

	for (i = 0; i < 3; i++)
		assert_non_null(r[i] = people_requester(w, NULL));
	assert_int_equal(ask(r[0], NULL, NULL), 1);
	assert_int_equal(ask(r[1], NULL, NULL), 2);
	env = people_request(r[2], NULL, NULL, NULL, 0);
	assert_int_equal(people_code(env), ERR_(QUEUE_FULL));
	assert_false(env->error->fatal);
	frame_free(env);
	/* One leaves: room again. */
	assert_int_equal(people_cancel(r[0]), 0);
	assert_int_equal(ask(r[2], NULL, NULL), 2);
	for (i = 0; i < 3; i++)
		tclient_free(r[i]);
}

/*
 * compatible_supporters counts connected supporters of any status whose
 * vetted tags cover the need.
 */
static void
test_queue_compatible_count(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2, c3;
	struct tclient	*s1, *s2, *s3, *r;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-c1", PEOPLE_TAG_LGBTQ, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &c2, "sup-c2",
	    PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_WARD, 1, 0), 0);
	assert_int_equal(world_cred(w, &c3, "sup-c3", PEOPLE_TAG_WARD, 1, 0),
	    0);
	assert_non_null(s1 = people_supporter(w, &c1));		/* AWAY */
	assert_non_null(s2 = people_supporter(w, &c2));		/* AWAY */
	assert_non_null(s3 = people_supporter(w, &c3));		/* AWAY */
	assert_int_equal(people_avail(s2, PEERD__V1__SUPPORTER_STATUS__ON_BREAK,
	    0), 0);
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, PEOPLE_TAG_LGBTQ, NULL, NULL,
	    0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->compatible_supporters, 2);
	frame_free(env);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
	tclient_free(s3);
}

/*
 * A requester with a requester_key whose connection drops while queued
 * keeps their place for the grace window: back on a new connection, the
 * same key's RequestPeer goes ahead of the two who came after, and is the
 * one offered.  An anonymous requester who drops starts again at the end.
 */
static void
test_queue_drop_keeps_place(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *r1, *r2, *r3, *a;
	uint8_t		 key[32];

	memset(key, 0x5a, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-keeps", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter(w, &c1));	/* AWAY */
	assert_non_null(r1 = people_requester(w, key));
	assert_non_null(a = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r1, NULL, NULL), 1);
	assert_int_equal(ask(a, NULL, NULL), 2);
	assert_int_equal(ask(r2, NULL, NULL), 3);

	/* Both r1 and the anonymous one drop; r2 moves up to 1. */
	tclient_free(r1);
	tclient_free(a);
	assert_int_equal(wait_position(r2, "r2", 1, POSITION_MS), 1);

	/* r1 comes back first in the queue; the anonymous one last. */
	assert_non_null(r3 = people_requester(w, key));
	assert_int_equal(ask(r3, NULL, NULL), 1);
	assert_int_equal(wait_position(r2, "r2", 2, POSITION_MS), 2);
	assert_non_null(a = people_requester(w, NULL));
	assert_int_equal(ask(a, NULL, NULL), 3);

	/* And r1 is who the supporter is offered. */
	serve(s, r3, "r1 again");
	assert_null(tclient_recv(r2, BODY_(MATCHED), 0));
	tclient_free(a);
	tclient_free(r2);
	tclient_free(r3);
	tclient_free(s);
}

/*
 * The same requester_key asking on a new connection while the old one is
 * still open (a phone that changed networks): the new one takes the old
 * one's place, the old gets SESSION_REPLACED and is closed, and the offer
 * goes to the new one only: one person never waits twice.
 */
static void
test_queue_same_key_replaces(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s, *old, *r2, *now;
	uint8_t		 key[32];
	Envelope	*env;

	memset(key, 0xa5, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-replace", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter(w, &c1));	/* AWAY */
	assert_non_null(old = people_requester(w, key));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(old, NULL, NULL), 1);
	assert_int_equal(ask(r2, NULL, NULL), 2);

	assert_non_null(now = people_requester(w, key));
	assert_int_equal(ask(now, NULL, NULL), 1);
	assert_non_null(env = people_wait(old, "old connection", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(SESSION_REPLACED));
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(old, HARNESS_IO_MS), 0);
	assert_null(tclient_recv(r2, BODY_(QUEUE_UPDATE), 300));

	serve(s, now, "new connection");
	assert_null(tclient_recv(s, BODY_(OFFER), 300));
	tclient_free(old);
	tclient_free(r2);
	tclient_free(now);
	tclient_free(s);
}

/*
 * Requests may add only a few languages to the table (it lives until
 * restart): an anonymous requester asking for 64 made-up codes does not
 * fill it, and a French supporter who comes afterwards is still matched
 * with a requester asking for French.
 */
static void
test_queue_languages_not_from_requests(void **state)
{
	struct world	*w = *state;
	struct pcred	 cfr;
	struct tclient	*troll, *sfr, *r;
	Envelope	*env;
	char		 langs[8 * 4];
	int		 k, j;

	assert_non_null(troll = people_requester(w, NULL));
	for (k = 0; k < 8; k++) {
		langs[0] = '\0';
		for (j = 0; j < 8; j++)
			snprintf(langs + strlen(langs), sizeof langs -
			    strlen(langs), "%sq%c%c", j ? "," : "", 'a' + k,
			    'a' + j);
		env = people_request(troll, NULL, NULL, langs, 0);
		assert_non_null(env);
		if (env->body_case == BODY_(QUEUE_UPDATE))
			assert_int_equal(people_cancel(troll), 0);
		else
			assert_int_equal(env->error->code, ERR_(BAD_MESSAGE));
		frame_free(env);
	}

	assert_int_equal(world_cred_full(w, &cfr, "sup-fr2", "Aline", NULL,
	    "fr", 1, 0), 0);
	assert_non_null(sfr = people_supporter_available(w, &cfr));
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, NULL, NULL, "fr", 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	assert_non_null(env = people_wait(sfr, "sup-fr", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(troll);
	tclient_free(r);
	tclient_free(sfr);
}

/*
 * The same requester_key served once, then asking again (the next visit,
 * on a new connection and on the same one): queued normally.  (The served
 * request once stayed in the key index after it was freed: peerd read
 * and freed it again here and crashed.)
 */
static void
test_queue_next_visit_same_key(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct pconv	 cv;
	struct tclient	*s, *r1, *r2;
	uint8_t		 key[32];

	memset(key, 0x77, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-visits", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c1));
	assert_non_null(r1 = people_requester(w, key));
	assert_int_equal(people_match(r1, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_end(r1, cv.id), 0);
	assert_non_null(r2 = people_requester(w, key));
	assert_int_equal(ask(r2, PEOPLE_TAG_WARD, NULL), 1);
	assert_int_equal(people_cancel(r2), 0);
	assert_int_equal(ask(r1, PEOPLE_TAG_WARD, NULL), 1);
	assert_int_equal(harness_peerd_alive(w->h), 1);
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s);
}

/* A kept place lasts the grace window (2 s here), no longer. */
static void
test_queue_place_expires(void **state)
{
	struct world	*w = *state;
	struct tclient	*r1, *r2, *r3;
	uint8_t		 key[32];

	memset(key, 0x3c, sizeof key);
	assert_non_null(r1 = people_requester(w, key));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(ask(r1, PEOPLE_TAG_WARD, NULL), 1);
	assert_int_equal(ask(r2, PEOPLE_TAG_WARD, NULL), 2);
	tclient_free(r1);
	assert_int_equal(wait_position(r2, "r2", 1, POSITION_MS), 1);
	harness_msleep(3500);
	assert_non_null(r3 = people_requester(w, key));
	assert_int_equal(ask(r3, PEOPLE_TAG_WARD, NULL), 2);
	tclient_free(r2);
	tclient_free(r3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match_right_supporter,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_match_most_preferred,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_match_fewest_conversations, setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_need_unmet, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_positions_move,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_cancel, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_cancel_withdraws_offer, setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_unknown_tag, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_no_head_of_line_blocking, setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_urgent_first, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_match_language, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_relax_after, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_drop_leaves, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_drop_keeps_place,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_same_key_replaces,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_place_expires,
		    setup_short_grace, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_next_visit_same_key, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_languages_not_from_requests, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_break_not_offered,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_full,
		    setup_small_queue, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_compatible_count,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_position_per_need,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_eta, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_fifo, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_busy_evening, setup,
		    world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
