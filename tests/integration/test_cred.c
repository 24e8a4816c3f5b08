/*
 * test_cred.c -- who may be a supporter: credentials signed by the
 * organisation are accepted and their vetted contents used; expired,
 * not-yet-valid, forged, missing, wrong-role and revoked ones are refused;
 * a revocation ends a live session within seconds; until peerd has read
 * the revocation list once, supporters are told TRY_LATER; each role may
 * send only its own messages; SIGHUP rotates the signing key and the
 * requester secret (together or not at all) without dropping anyone;
 * signing_pubkey_previous keeps old-key credentials good while rotating.
 */
#include <sys/stat.h>

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

#include "fault.h"
#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define ERR_(x)		PEERD__V1__ERROR_CODE__ ## x
#define END_(x)		PEERD__V1__END_REASON__ ## x
#define ROLE_(x)	PEERD__V1__ROLE__ ## x

#define REVOKE_MS	5000	/* ms: a live session ends within this */
#define REDIS_DOWN_MS	(5000 * harness_slow()) /* ms: peerd noticing
						   Redis is not there */
#define REDIS_UP_MS	(8000 * harness_slow()) /* ms: peerd back on Redis
						   (its back-off is capped) */
#define RELOAD_MS	(5000 * harness_slow()) /* ms: SIGHUP to its log line */

static int
setup(void **state)
{
	return (world_setup(state));
}

/*
 * Hello with cred as role; expect a fatal Error code and the connection
 * closed after it.
 */
static void
expect_refused(struct world *w, Peerd__V1__Role role, const struct pcred *cred,
    int code)
{
	struct tclient	*c;
	Envelope	*env;
	char		 buf[512];

	assert_non_null(c = tclient_connect(w->h));
	env = people_hello(c, role, cred, NULL, NULL, 0);
	if (people_code(env) != code)
		fprintf(stderr, "expect_refused: wanted %s, got %s\n",
		    people_code_name(code), people_describe(env, buf,
		    sizeof buf));
	assert_int_equal(people_code(env), code);
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	assert_null(tclient_recv(c, BODY_(WELCOME), 0));
	tclient_free(c);
}

/* A good credential: Welcome carries its name, capacity and vetted tags. */
static void
test_cred_valid(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*c;
	Envelope	*env;

	assert_int_equal(world_cred_full(w, &cred, "sup-valid", "Grace Hopper",
	    PEOPLE_TAG_BME "," PEOPLE_TAG_PRISON, "en,fr", 3, 0), 0);
	assert_non_null(c = tclient_connect(w->h));
	assert_non_null(env = people_hello(c, ROLE_(SUPPORTER), &cred, NULL,
	    NULL, 0));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	assert_int_equal(env->welcome->role, ROLE_(SUPPORTER));
	assert_string_equal(env->welcome->display_name, "Grace Hopper");
	assert_int_equal(env->welcome->max_capacity, 3);
	assert_int_equal(env->welcome->n_vetted_tags, 2);
	assert_string_equal(env->welcome->vetted_tags[0], PEOPLE_TAG_BME);
	assert_string_equal(env->welcome->vetted_tags[1], PEOPLE_TAG_PRISON);
	frame_free(env);
	tclient_free(c);
}

/* Expired: CREDENTIAL_EXPIRED, closed. */
static void
test_cred_expired(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;

	assert_int_equal(world_cred(w, &cred, "sup-old", PEOPLE_TAG_BME, 1,
	    PCRED_EXPIRED), 0);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_EXPIRED));
}

/*
 * Not yet valid (issued a day ahead): PROTOCOL.md's table gives
 * CREDENTIAL_EXPIRED for "past not_after (or not yet valid)".
 */
static void
test_cred_not_yet_valid(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;

	assert_int_equal(world_cred(w, &cred, "sup-future", PEOPLE_TAG_BME, 1,
	    PCRED_FUTURE), 0);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_EXPIRED));
}

/*
 * Signed by another key, a flipped byte, no credential at all, garbage:
 * BAD_CREDENTIAL, closed.
 */
static void
test_cred_forged(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;

	assert_int_equal(world_cred(w, &cred, "sup-forged", PEOPLE_TAG_LGBTQ,
	    4, PCRED_FORGED), 0);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(BAD_CREDENTIAL));

	/* A good one with one payload byte changed (the capacity, say). */
	assert_int_equal(world_cred(w, &cred, "sup-tampered", PEOPLE_TAG_LGBTQ,
	    1, 0), 0);
	cred.buf[cred.len / 3] ^= 0x01;
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(BAD_CREDENTIAL));

	expect_refused(w, ROLE_(SUPPORTER), NULL, ERR_(BAD_CREDENTIAL));
	memset(cred.buf, 0xee, 100);
	cred.len = 100;
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(BAD_CREDENTIAL));
}

/*
 * The role in the credential must be the role asked for; a tag outside the
 * catalogue makes the credential unusable here.
 */
static void
test_cred_role_and_tags(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*c;

	assert_int_equal(world_cred(w, &cred, "op-1", NULL, 1,
	    PCRED_OPERATOR), 0);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(BAD_CREDENTIAL));
	assert_non_null(c = people_operator(w, &cred));
	tclient_free(c);

	assert_int_equal(world_cred(w, &cred, "sup-2", NULL, 1, 0), 0);
	expect_refused(w, ROLE_(OPERATOR), &cred, ERR_(BAD_CREDENTIAL));

	assert_int_equal(world_cred(w, &cred, "sup-odd-tag", "qx-not-here", 1,
	    0), 0);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(BAD_CREDENTIAL));
}

/* An id in peerd:revoked is refused at Hello: CREDENTIAL_REVOKED. */
static void
test_cred_revoked(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*c;

	assert_int_equal(world_cred(w, &cred, "sup-revoked", PEOPLE_TAG_BME, 1,
	    0), 0);
	assert_non_null(c = people_supporter(w, &cred));	/* fine before */
	tclient_free(c);
	assert_int_equal(redis_revoked_add(w->h, "sup-revoked"), 0);
	/* peerd checks the set at Hello (it may mirror it: give it time). */
	harness_msleep(300);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_REVOKED));

	/* Revocation is by person id: a freshly issued credential too. */
	assert_int_equal(world_cred(w, &cred, "sup-revoked", PEOPLE_TAG_WARD,
	    2, 0), 0);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_REVOKED));
}

/*
 * While Redis is away peerd keeps its last copy of the revocations: a
 * revoked supporter is still refused.
 */
static void
test_cred_revoked_while_redis_down(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred, good;
	struct tclient	*c;

	assert_int_equal(world_cred(w, &cred, "sup-banned", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &good, "sup-fine", NULL, 1, 0), 0);
	assert_int_equal(people_revoke(w, "sup-banned"), 0);
	harness_msleep(500);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_REVOKED));
	assert_int_equal(harness_redis_stop(w->h), 0);
	harness_msleep(500);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_REVOKED));
	assert_non_null(c = people_supporter(w, &good));
	tclient_free(c);
}

/*
 * Wait up to timeout_ms for peerd's log to hold needle more than before
 * times (the log is appended to across restarts).  Returns 0 or -1.
 */
static int
log_wait_more(struct harness *h, const char *needle, int before,
    int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	while (harness_log_count(h, needle) <= before) {
		if (harness_now_ms() >= deadline)
			return (-1);
		harness_msleep(20);
	}
	return (0);
}

/*
 * Fail closed at start: a peerd started while Redis is down has never
 * read the revocation list, so a supporter with a good credential is told
 * TRY_LATER (fatal, closed) and the log says why; requesters and operators
 * are served.  Redis arrives already holding a revocation: that supporter
 * is refused CREDENTIAL_REVOKED, another is admitted.  Redis lost again:
 * the list stays known (the last copy), supporters are still admitted and
 * the revoked one still refused.
 */
static void
test_cred_revocations_unknown_at_start(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 good, banned, later, op;
	struct tclient	*c;
	Envelope	*env;
	char		 line[1024], buf[64];
	int		 downs, known;

	assert_int_equal(world_cred(w, &good, "sup-early", PEOPLE_TAG_BME, 1,
	    0), 0);
	assert_int_equal(world_cred(w, &banned, "sup-struck-off", NULL, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &later, "sup-later", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &op, "op-1", NULL, 1, PCRED_OPERATOR),
	    0);

	/* The revocation is in a snapshot the next redis-server loads. */
	assert_int_equal(harness_peerd_stop(h), 0);
	assert_int_equal(redis_revoked_add(h, "sup-struck-off"), 0);
	assert_int_equal(fault_redis(h, buf, sizeof buf, "SAVE"), 0);
	assert_int_equal(harness_redis_stop(h), 0);
	downs = harness_log_count(h, "event=redis_down");
	known = harness_log_count(h, "event=revocations_known");
	assert_int_equal(harness_peerd_start(h, world_conf(w, NULL)), 0);
	assert_int_equal(log_wait_more(h, "event=redis_down", downs,
	    REDIS_DOWN_MS), 0);

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = people_hello(c, ROLE_(SUPPORTER), &good, NULL,
	    NULL, 0));
	assert_int_equal(people_code(env), ERR_(TRY_LATER));
	assert_true(env->error->fatal);
	assert_non_null(strstr(env->error->message,
	    "cannot check revocations yet"));
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	tclient_free(c);
	expect_refused(w, ROLE_(SUPPORTER), &banned, ERR_(TRY_LATER));
	assert_int_equal(log_lines_with(h, "event=auth_deferred role=supporter "
	    "reason=revocations_unknown", "id=sup-early", line, sizeof line),
	    1);
	assert_null(strstr(line, PEOPLE_TAG_BME));	/* no tags */
	assert_int_equal(log_lines_with(h, "event=error code=try_later", NULL,
	    NULL, 0), 2);
	assert_non_null(c = people_requester(w, NULL));
	tclient_free(c);
	assert_non_null(c = people_operator(w, &op));
	tclient_free(c);

	assert_int_equal(harness_redis_start(h), 0);
	assert_int_equal(log_wait_more(h, "event=revocations_known", known,
	    REDIS_UP_MS), 0);
	expect_refused(w, ROLE_(SUPPORTER), &banned, ERR_(CREDENTIAL_REVOKED));
	assert_non_null(c = people_supporter(w, &good));
	tclient_free(c);
	assert_non_null(c = people_requester(w, NULL));
	tclient_free(c);

	downs = harness_log_count(h, "event=redis_down");
	assert_int_equal(harness_redis_stop(h), 0);
	assert_int_equal(log_wait_more(h, "event=redis_down", downs,
	    REDIS_DOWN_MS), 0);
	assert_non_null(c = people_supporter(w, &later));
	tclient_free(c);
	expect_refused(w, ROLE_(SUPPORTER), &banned, ERR_(CREDENTIAL_REVOKED));
	assert_int_equal(log_lines_with(h, "event=auth_deferred", NULL, NULL,
	    0), 2);
}

/* peerctl unrevoke: the same credential is accepted again within 3 s. */
static void
test_cred_unrevoked(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*c;
	Envelope	*env;
	char		 addr[64];
	char		*argv[] = { NULL, (char *)"unrevoke",
		    (char *)"sup-back", (char *)"--redis", addr, NULL };
	int64_t		 deadline;
	int		 welcome;

	if (w->h->peerctl_bin == NULL)
		skip();
	argv[0] = (char *)w->h->peerctl_bin;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", w->h->redis_port);
	assert_int_equal(world_cred(w, &cred, "sup-back", NULL, 1, 0), 0);
	assert_int_equal(people_revoke(w, "sup-back"), 0);
	harness_msleep(300);
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_REVOKED));
	assert_int_equal(harness_run_cmd(w->h, argv, 10000), 0);
	deadline = harness_now_ms() + 3000;
	for (;;) {
		assert_non_null(c = tclient_connect(w->h));
		env = people_hello(c, ROLE_(SUPPORTER), &cred, NULL, NULL, 0);
		welcome = env != NULL && env->body_case == BODY_(WELCOME);
		frame_free(env);
		tclient_free(c);
		if (welcome)
			break;
		assert_true(harness_now_ms() < deadline);
		harness_msleep(200);
	}
}

/*
 * Revoked during a conversation (peerctl revoke): within 5 s the supporter
 * gets Error CREDENTIAL_REVOKED and is closed; the requester gets
 * EndConversation END_REVOKED at once, without a grace window.
 */
static void
test_cred_revoked_live(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	int64_t		 t0;

	assert_int_equal(world_cred(w, &cred, "sup-struck-off", NULL, 1, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	t0 = harness_now_ms();
	assert_int_equal(people_revoke(w, "sup-struck-off"), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(ERROR),
	    REVOKE_MS));
	assert_int_equal(env->error->code, ERR_(CREDENTIAL_REVOKED));
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(s, REVOKE_MS), 0);
	assert_non_null(env = people_wait(r, "requester",
	    BODY_(END_CONVERSATION), REVOKE_MS));
	assert_int_equal(env->end_conversation->conversation_id, cv.id);
	assert_int_equal(env->end_conversation->reason, END_(END_REVOKED));
	assert_true(env->end_conversation->requeue);
	frame_free(env);
	assert_true(harness_now_ms() - t0 <= REVOKE_MS);
	/* No "reconnecting" limbo for a revoked supporter. */
	assert_null(tclient_recv(r, BODY_(PEER_STATUS), 0));

	/* And the revoked supporter cannot come back with its token. */
	expect_refused(w, ROLE_(SUPPORTER), &cred, ERR_(CREDENTIAL_REVOKED));
	tclient_free(r);
	tclient_free(s);
}

/*
 * Revoked in Redis without the pub/sub message (a missed PUBLISH): peerd
 * still ends the session within 5 s from its copy of the set.
 */
static void
test_cred_revoked_set_only(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-quietly", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(redis_revoked_add(w->h, "sup-quietly"), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(ERROR),
	    REVOKE_MS));
	assert_int_equal(env->error->code, ERR_(CREDENTIAL_REVOKED));
	frame_free(env);
	assert_int_equal(tclient_wait_closed(s, HARNESS_IO_MS), 0);
	tclient_free(s);
}

/*
 * After Redis restarts (empty, then the revocation is written to the new
 * instance), a revocation still reaches live sessions within 5 s.
 */
static void
test_cred_revoked_after_redis_restart(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-later-revoked", NULL, 1, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_int_equal(harness_redis_stop(w->h), 0);
	harness_msleep(500);
	assert_int_equal(harness_redis_start(w->h), 0);
	/* Give peerd its reconnect back-off; its presence comes back. */
	assert_int_equal(redis_presence_wait(w->h, "sup-later-revoked", NULL,
	    NULL, 12000), 0);
	assert_int_equal(people_revoke(w, "sup-later-revoked"), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(ERROR),
	    REVOKE_MS));
	assert_int_equal(env->error->code, ERR_(CREDENTIAL_REVOKED));
	frame_free(env);
	tclient_free(s);
}

/*
 * A supporter revoked while an offer is out to it: the offer goes, the
 * requester keeps waiting and is offered to the next supporter.
 */
static void
test_cred_revoked_with_offer(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-bad", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-good", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	assert_non_null(env = people_wait(s1, "s1", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_int_equal(people_revoke(w, "sup-bad"), 0);
	assert_int_equal(tclient_wait_closed(s1, REVOKE_MS), 0);
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));

	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(env = people_wait(s2, "s2", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_accept(s2, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r, "requester", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	assert_string_equal(env->matched->peer_name, c2.name);
	frame_free(env);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * A supporter revoked while its connection is gone and its conversation
 * waits in the grace window: the conversation ends at once with
 * END_REVOKED (PROTOCOL.md: "ends its conversations at once, no grace
 * window"), not END_PEER_GONE after the window.
 */
static void
test_cred_revoked_while_away(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	int64_t		 t0;

	assert_int_equal(world_cred(w, &cred, "sup-away-revoked", NULL, 1, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	tclient_free(s);
	assert_non_null(env = people_wait(r, "requester", BODY_(PEER_STATUS),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	t0 = harness_now_ms();
	assert_int_equal(people_revoke(w, "sup-away-revoked"), 0);
	assert_non_null(env = people_wait(r, "requester",
	    BODY_(END_CONVERSATION), (PEOPLE_GRACE_S + 4) * 1000));
	assert_int_equal(env->end_conversation->conversation_id, cv.id);
	if (env->end_conversation->reason != END_(END_REVOKED))
		fprintf(stderr, "ended with reason %d after %lld ms\n",
		    env->end_conversation->reason,
		    (long long)(harness_now_ms() - t0));
	assert_int_equal(env->end_conversation->reason, END_(END_REVOKED));
	frame_free(env);
	assert_true(harness_now_ms() - t0 < PEOPLE_GRACE_S * 1000);
	tclient_free(r);
}

/*
 * A credential that expires during a session: the session ends with
 * CREDENTIAL_EXPIRED soon after not_after.
 */
static void
test_cred_expires_live(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-short", NULL, 1,
	    PCRED_SHORT), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(env = people_wait(s, "supporter", BODY_(ERROR),
	    (PCRED_SHORT_S + 3) * 1000));
	assert_int_equal(env->error->code, ERR_(CREDENTIAL_EXPIRED));
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(s, HARNESS_IO_MS), 0);
	tclient_free(s);
}

/*
 * A requester sending supporter messages (and a supporter requester ones,
 * an operator conversation ones): PERMISSION_DENIED, connection kept.
 */
static void
test_cred_roles_enforced(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred, op;
	struct tclient	*r, *s, *o;
	Envelope	*env;

	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_avail(r,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0),
	    ERR_(PERMISSION_DENIED));
	assert_int_equal(people_accept(r, 1), ERR_(PERMISSION_DENIED));
	assert_int_equal(people_decline(r, 1), ERR_(PERMISSION_DENIED));
	assert_false(tclient_closed(r));

	assert_int_equal(world_cred(w, &cred, "sup-roles", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	env = people_request(s, NULL, NULL, NULL, 0);
	assert_int_equal(people_code(env), ERR_(PERMISSION_DENIED));
	frame_free(env);
	assert_int_equal(people_cancel(s), ERR_(PERMISSION_DENIED));
	/* A supporter's attempt to queue must not have queued anything. */
	assert_null(tclient_recv(s, BODY_(OFFER), 500));

	assert_int_equal(world_cred(w, &op, "op-roles", NULL, 1,
	    PCRED_OPERATOR), 0);
	assert_non_null(o = people_operator(w, &op));
	assert_int_equal(people_chat(o, 1, 1, "hi", NULL),
	    ERR_(PERMISSION_DENIED));
	assert_int_equal(people_avail(o,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0),
	    ERR_(PERMISSION_DENIED));

	/* The requester is still a requester and can ask. */
	assert_non_null(env = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	tclient_free(o);
	tclient_free(r);
	tclient_free(s);
}

/* Capacity above the credential's: BAD_MESSAGE; at or below it: Ok. */
static void
test_cred_capacity_limit(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s;

	assert_int_equal(world_cred(w, &cred, "sup-cap", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter(w, &cred));
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 3), ERR_(BAD_MESSAGE));
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 2), 0);
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__ON_BREAK, 1), 0);
	assert_false(tclient_closed(s));
	tclient_free(s);
}

/* The same supporter connecting again: the older session is replaced. */
static void
test_cred_session_replaced(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*s1, *s2;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-twice", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &cred));
	assert_non_null(s2 = people_supporter(w, &cred));
	assert_non_null(env = people_wait(s1, "first session", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(SESSION_REPLACED));
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(s1, HARNESS_IO_MS), 0);
	assert_int_equal(people_avail(s2,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * Put the public half of key in place of the world's signing_pubkey: a
 * new file renamed over it, as an operator would.  Returns 0 or -1.
 */
static int
install_pubkey(struct world *w, EVP_PKEY *key, const char *name)
{
	char	priv[HARNESS_PATH + 16], pub[HARNESS_PATH + 16];
	char	err[CRED_ERR_MAX];

	snprintf(priv, sizeof priv, "%s/%s.key", w->h->dir, name);
	snprintf(pub, sizeof pub, "%s/%s.pub", w->h->dir, name);
	if (cred_key_write(key, priv, pub, err, sizeof err) != 0) {
		fprintf(stderr, "install_pubkey: %s\n", err);
		return (-1);
	}
	return (rename(pub, w->pub));
}

/* Overwrite path with len bytes of buf, keeping its mode.  0 or -1. */
static int
overwrite(const char *path, const void *buf, size_t len)
{
	int	fd, ok;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1)
		return (-1);
	ok = write(fd, buf, len) == (ssize_t)len;
	return (close(fd) == 0 && ok ? 0 : -1);
}

/*
 * Send SIGHUP and wait for one more log line holding needle than before.
 * Returns 0 or -1.
 */
static int
hup_and_wait(struct harness *h, const char *needle)
{
	int	before = harness_log_count(h, needle);

	if (harness_peerd_signal(h, SIGHUP) != 0)
		return (-1);
	return (log_wait_more(h, needle, before, RELOAD_MS));
}

/*
 * The organisation rotates its signing key (key 1, the world's, to key 2,
 * the "forger"): supporter A, admitted under key 1, stays and is served;
 * after SIGHUP a key-1 credential is refused BAD_CREDENTIAL and a key-2
 * one admitted; an id revoked before stays revoked under key 2.  Then the
 * key file is garbage: SIGHUP is reload_failed and key 2 stays in use.
 */
static void
test_cred_signing_key_rotated(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 a, old1, new2, gone2, later2;
	struct tclient	*sa, *s2, *s3;
	char		 line[1024];

	assert_int_equal(world_cred(w, &a, "sup-a", NULL, 2, 0), 0);
	assert_int_equal(world_cred(w, &old1, "sup-old", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &new2, "sup-new", NULL, 1,
	    PCRED_FORGED), 0);
	assert_int_equal(world_cred(w, &gone2, "sup-gone", NULL, 1,
	    PCRED_FORGED), 0);
	assert_int_equal(world_cred(w, &later2, "sup-later", NULL, 1,
	    PCRED_FORGED), 0);
	assert_non_null(sa = people_supporter_available(w, &a));
	expect_refused(w, ROLE_(SUPPORTER), &new2, ERR_(BAD_CREDENTIAL));
	assert_int_equal(people_revoke(w, "sup-gone"), 0);

	assert_int_equal(install_pubkey(w, w->forger, "key2"), 0);
	assert_int_equal(hup_and_wait(h, "event=reloaded what=signing_pubkey"),
	    0);
	assert_int_equal(log_lines_with(h, "event=reloaded what=signing_pubkey",
	    "changed=yes", line, sizeof line), 1);
	assert_non_null(strstr(line, w->pub));

	expect_refused(w, ROLE_(SUPPORTER), &old1, ERR_(BAD_CREDENTIAL));
	assert_non_null(s2 = people_supporter_available(w, &new2));
	expect_refused(w, ROLE_(SUPPORTER), &gone2, ERR_(CREDENTIAL_REVOKED));
	/* A, admitted under key 1, is still here and still served. */
	assert_false(tclient_closed(sa));
	assert_int_equal(people_avail(sa,
	    PEERD__V1__SUPPORTER_STATUS__ON_BREAK, 1), 0);
	assert_int_equal(people_avail(sa,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 2), 0);

	/* Garbage in the file: logged, and key 2 stays. */
	assert_int_equal(overwrite(w->pub, "not a key\n", 10), 0);
	assert_int_equal(hup_and_wait(h,
	    "event=reload_failed what=signing_pubkey"), 0);
	assert_int_equal(log_lines_with(h,
	    "event=reload_failed what=signing_pubkey", "reason=\"not a PEM "
	    "public key", line, sizeof line), 1);
	assert_non_null(strstr(line, "action=keeping_old_keys"));
	assert_non_null(s3 = people_supporter(w, &later2));
	expect_refused(w, ROLE_(SUPPORTER), &old1, ERR_(BAD_CREDENTIAL));
	assert_int_equal(people_avail(sa,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 1), 0);
	assert_int_equal(people_avail(s2,
	    PEERD__V1__SUPPORTER_STATUS__ON_BREAK, 1), 0);
	tclient_free(s3);
	tclient_free(s2);
	tclient_free(sa);
}

/*
 * Make a credential as world_cred does but signed by key (neither the
 * world's nor its forger's).  Returns 0 or -1.
 */
static int
cred_signed_by(struct world *w, EVP_PKEY *key, struct pcred *out,
    const char *id)
{
	EVP_PKEY	*forger = w->forger;
	int		 r;

	w->forger = key;
	r = world_cred(w, out, id, NULL, 1, PCRED_FORGED);
	w->forger = forger;
	return (r);
}

/*
 * Gradual rotation: peerd restarted with key 2 (the forger) as
 * signing_pubkey and key 1 (the world's) as signing_pubkey_previous
 * admits a key-1 credential (logged key=previous) and a key-2 one (not
 * so logged), and refuses one signed by a third key BAD_CREDENTIAL.  A
 * bad previous-key file on SIGHUP is reload_failed and key 1 is still
 * accepted.  Key 2 in the previous file and SIGHUP ends the rotation: key
 * 1 and key 3 are refused; so they are when restarted without the option.
 */
static void
test_cred_signing_key_previous(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 old1, new2, other3;
	struct tclient	*s1, *s2;
	EVP_PKEY	*key3;
	char		 prev[HARNESS_PATH + 16], extra[HARNESS_PATH + 64];
	char		 priv[HARNESS_PATH + 16], err[CRED_ERR_MAX];
	char		 line[1024];

	assert_non_null(key3 = cred_key_generate());
	assert_int_equal(world_cred(w, &old1, "sup-old", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &new2, "sup-new", NULL, 1,
	    PCRED_FORGED), 0);
	assert_int_equal(cred_signed_by(w, key3, &other3, "sup-other"), 0);
	EVP_PKEY_free(key3);

	snprintf(priv, sizeof priv, "%s/previous.key", h->dir);
	snprintf(prev, sizeof prev, "%s/previous.pub", h->dir);
	assert_int_equal(cred_key_write(w->org, priv, prev, err, sizeof err),
	    0);
	assert_int_equal(install_pubkey(w, w->forger, "key2"), 0);
	snprintf(extra, sizeof extra, "signing_pubkey_previous %s\n", prev);
	free(w->extra);
	assert_non_null(w->extra = strdup(extra));
	assert_int_equal(world_restart_peerd(w), 0);

	assert_non_null(s1 = people_supporter(w, &old1));
	assert_int_equal(log_lines_with(h, "event=auth role=supporter "
	    "id=sup-old", "key=previous", NULL, 0), 1);
	assert_non_null(s2 = people_supporter(w, &new2));
	assert_int_equal(log_lines_with(h, "event=auth role=supporter "
	    "id=sup-new", NULL, line, sizeof line), 1);
	assert_null(strstr(line, "key="));
	expect_refused(w, ROLE_(SUPPORTER), &other3, ERR_(BAD_CREDENTIAL));
	tclient_free(s2);
	tclient_free(s1);

	/* A bad previous-key file: logged, and all the old keys stay. */
	assert_int_equal(overwrite(prev, "not a key\n", 10), 0);
	assert_int_equal(hup_and_wait(h,
	    "event=reload_failed what=signing_pubkey_previous"), 0);
	assert_int_equal(log_lines_with(h,
	    "event=reload_failed what=signing_pubkey_previous",
	    "action=keeping_old_keys", line, sizeof line), 1);
	assert_non_null(strstr(line, prev));
	assert_non_null(s1 = people_supporter(w, &old1));
	tclient_free(s1);

	/* Rotation done without a restart: key 2 over the previous file. */
	snprintf(priv, sizeof priv, "%s/key2b.key", h->dir);
	snprintf(extra, sizeof extra, "%s/key2b.pub", h->dir);
	assert_int_equal(cred_key_write(w->forger, priv, extra, err,
	    sizeof err), 0);
	assert_int_equal(rename(extra, prev), 0);
	assert_int_equal(hup_and_wait(h,
	    "event=reloaded what=signing_pubkey_previous"), 0);
	expect_refused(w, ROLE_(SUPPORTER), &old1, ERR_(BAD_CREDENTIAL));
	expect_refused(w, ROLE_(SUPPORTER), &other3, ERR_(BAD_CREDENTIAL));
	assert_non_null(s2 = people_supporter(w, &new2));
	tclient_free(s2);

	/* The option dropped at a restart: key 1 is refused. */
	free(w->extra);
	w->extra = NULL;
	assert_int_equal(world_restart_peerd(w), 0);
	expect_refused(w, ROLE_(SUPPORTER), &old1, ERR_(BAD_CREDENTIAL));
	expect_refused(w, ROLE_(SUPPORTER), &other3, ERR_(BAD_CREDENTIAL));
	assert_non_null(s2 = people_supporter(w, &new2));
	tclient_free(s2);
}

/*
 * Queue a requester with key on a new connection.  Returns it, or NULL
 * after printing why.
 */
static struct tclient *
queued_requester(struct world *w, const uint8_t *key)
{
	struct tclient	*r;
	Envelope	*env;
	int		 ok;

	if ((r = people_requester(w, key)) == NULL)
		return (NULL);
	env = people_request(r, NULL, NULL, NULL, 0);
	ok = env != NULL && env->body_case == BODY_(QUEUE_UPDATE);
	if (!ok)
		fprintf(stderr, "queued_requester: no QueueUpdate\n");
	frame_free(env);
	if (!ok) {
		tclient_free(r);
		return (NULL);
	}
	return (r);
}

/* Expect old to be told SESSION_REPLACED (its key asked again). */
static void
expect_replaced(struct tclient *old)
{
	Envelope	*env;

	assert_non_null(env = people_wait(old, "older requester",
	    BODY_(ERROR), PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(SESSION_REPLACED));
	frame_free(env);
}

/*
 * A new requester secret on SIGHUP: the same requester_key no longer
 * hashes to the same person (a second queued connection with it no
 * longer replaces the first), and the log says what that forgets.  A
 * secret file gone bad beside a good new signing key: reload_failed, and
 * neither is taken (key-1 credentials still admitted, the hash unchanged).
 */
static void
test_cred_requester_secret_rotated(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 one, two;
	struct tclient	*r1, *r2, *r3, *r4, *r5, *s;
	uint8_t		 key[32];
	char		 line[1024];

	memset(key, 0x5a, sizeof key);
	assert_non_null(r1 = queued_requester(w, key));
	assert_non_null(r2 = queued_requester(w, key));
	expect_replaced(r1);

	assert_int_equal(overwrite(w->secret,
	    "a-new-requester-secret-of-more-than-32-bytes", 44), 0);
	assert_int_equal(hup_and_wait(h,
	    "event=reloaded what=requester_secret_file"), 0);
	assert_int_equal(log_lines_with(h,
	    "event=reloaded what=requester_secret_file", "changed=yes", line,
	    sizeof line), 1);
	assert_non_null(strstr(line, "blocks, previous-supporter links and "
	    "kept queue places made before are forgotten"));
	assert_null(strstr(line, "a-new-requester-secret"));
	/* Unchanged on the same SIGHUP: the signing key. */
	assert_int_equal(log_lines_with(h, "event=reloaded what=signing_pubkey",
	    "changed=no", NULL, 0), 1);

	assert_non_null(r3 = queued_requester(w, key));
	assert_null(tclient_recv(r2, BODY_(ERROR), PEOPLE_QUIET_MS));
	assert_false(tclient_closed(r2));
	assert_non_null(r4 = queued_requester(w, key));
	expect_replaced(r3);

	/* Key 2 in place but the secret open to others: nothing taken. */
	assert_int_equal(world_cred(w, &one, "sup-one", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &two, "sup-two", NULL, 1,
	    PCRED_FORGED), 0);
	assert_int_equal(install_pubkey(w, w->forger, "key2"), 0);
	assert_int_equal(chmod(w->secret, 0644), 0);
	assert_int_equal(hup_and_wait(h,
	    "event=reload_failed what=requester_secret_file"), 0);
	assert_int_equal(log_lines_with(h,
	    "event=reload_failed what=requester_secret_file",
	    "mode 0644 lets group or others at it", NULL, 0), 1);
	expect_refused(w, ROLE_(SUPPORTER), &two, ERR_(BAD_CREDENTIAL));
	assert_non_null(s = people_supporter(w, &one));
	assert_non_null(r5 = queued_requester(w, key));
	expect_replaced(r4);
	tclient_free(s);
	tclient_free(r5);
	tclient_free(r4);
	tclient_free(r3);
	tclient_free(r2);
	tclient_free(r1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cred_valid, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_expired, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_not_yet_valid, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_forged, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_role_and_tags, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_revoked, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cred_revoked_while_redis_down, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cred_revocations_unknown_at_start, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_unrevoked, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_revoked_live, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_revoked_set_only,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cred_revoked_after_redis_restart, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_revoked_with_offer,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_revoked_while_away,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_expires_live, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_roles_enforced, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_capacity_limit, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_session_replaced,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_cred_signing_key_rotated,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cred_signing_key_previous, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cred_requester_secret_rotated, setup, world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
