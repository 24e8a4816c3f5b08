/*
 * test_flows.c -- matching and conversation flows beyond the basic ones,
 * against a real peerd (with Redis): Report blocks the pair across visits,
 * StatsReply counts, the held-message cap and the chat rate (RATE_LIMITED,
 * connection kept), a requester's conversation taken over by a new
 * connection, EndConversation{requeue} while the supporter is away, a
 * dropped supporter revoked meanwhile, END_SHUTDOWN before SHUTTING_DOWN,
 * END_REVOKED for a live revocation, a replaced supporter session resumed
 * on the new connection, roles and states, pushed QueueUpdates, previous
 * supporter and relaxation.
 */
#include <setjmp.h>
#include <signal.h>
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
#define END_(x)		PEERD__V1__END_REASON__ ## x

static int
setup(void **state)
{
	return (world_setup(state));
}

static int
setup_rate(void **state)
{
	return (world_setup_extra(state, "chat_rate 1\nchat_burst 3\n"));
}

static int
setup_grace30(void **state)
{
	return (world_setup_extra(state, "grace 30\n"));
}

static int
setup_held(void **state)
{
	return (world_setup_extra(state, "max_held_messages 3\n"));
}

/* Run c's loop until a Pong, so queued notifications have gone out. */
static void
pump(struct tclient *c)
{
	Envelope	*e;

	tclient_send_ping(c, 7);
	e = tclient_recv(c, BODY_(PONG), 2000);
	frame_free(e);
}

/* Wait for a pushed envelope of kind body (0: any); fail without one. */
static Envelope *
expect(struct tclient *c, const char *who, int body)
{
	Envelope	*e = people_wait(c, who, body, PEOPLE_PUSH_MS);

	assert_non_null(e);
	return (e);
}

/*
 * Report ends it for both; the same requester key is never offered to that
 * supporter again, on a later visit too.
 */
static void
test_report_blocks(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*r, *s1, *s2;
	struct pconv	 cv;
	Envelope	*e;
	uint8_t		 key[32];

	memset(key, 0x42, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-b", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, key));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_int_equal(people_report(r, cv.id, "abusive"), 0);
	e = expect(r, "r", BODY_(END_CONVERSATION));
	assert_int_equal(e->end_conversation->reason, END_(END_REPORTED));
	frame_free(e);
	e = expect(s1, "s1", BODY_(END_CONVERSATION));
	assert_int_equal(e->end_conversation->reason, END_(END_REPORTED));
	frame_free(e);
	tclient_free(r);

	/* Same key, new visit: s1 is never offered it. */
	assert_non_null(r = people_requester(w, key));
	assert_non_null(e = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(e->body_case, BODY_(QUEUE_UPDATE));
	frame_free(e);
	assert_null(tclient_recv(s1, BODY_(OFFER), 1500));
	assert_non_null(s2 = people_supporter_available(w, &c2));
	e = expect(s2, "s2", BODY_(OFFER));
	frame_free(e);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * StatsReply counts a match, a message, an available supporter; a requester
 * may not ask.
 */
static void
test_stats(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, op;
	struct tclient	*r, *s1, *o;
	struct pconv	 cv;
	Envelope	*e, req = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__StatsRequest sr = PEERD__V1__STATS_REQUEST__INIT;

	assert_int_equal(world_cred(w, &c1, "sup-a", "qx-lgbtq", 2, 0), 0);
	assert_int_equal(world_cred(w, &op, "op-1", NULL, 0, PCRED_OPERATOR),
	    0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, "qx-lgbtq", NULL, &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "hi", NULL), 0);
	assert_non_null(o = people_operator(w, &op));
	req.body_case = BODY_(STATS_REQUEST);
	req.stats_request = &sr;
	assert_non_null(e = people_call(o, &req, 3000));
	assert_int_equal(e->body_case, BODY_(STATS_REPLY));
	assert_int_equal(e->stats_reply->matches_total, 1);
	assert_int_equal(e->stats_reply->conversations_active, 1);
	assert_int_equal(e->stats_reply->messages_relayed, 1);
	assert_int_equal(e->stats_reply->supporters_available, 1);
	assert_int_equal(e->stats_reply->offers_accepted, 1);
	assert_true(e->stats_reply->n_tags == 5);
	assert_true(e->stats_reply->redis_up);
	assert_int_equal(e->stats_reply->queue_waiting, 0);
	frame_free(e);
	/* Requester may not ask. */
	assert_non_null(e = people_call(r, &req, 3000));
	assert_int_equal(people_code(e), ERR_(PERMISSION_DENIED));
	frame_free(e);
	tclient_free(o);
	tclient_free(r);
	tclient_free(s1);
}

/* Past max_held_messages unacknowledged: RATE_LIMITED; Delivered frees room. */
static void
test_held_cap(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1;
	struct pconv	 cv;
	uint64_t	 seq;
	Envelope	*e;
	int		 i;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	for (i = 1; i <= 3; i++)
		assert_int_equal(people_chat(r, cv.id, i, "m", &seq), 0);
	assert_int_equal(people_chat(r, cv.id, 4, "m", NULL),
	    ERR_(RATE_LIMITED));
	for (i = 0; i < 3; i++) {
		e = people_wait_chat(s1, cv.id, 3000);
		assert_non_null(e);
		frame_free(e);
	}
	assert_int_equal(people_delivered(s1, cv.id, seq), 0);
	pump(s1);
	e = expect(r, "r", BODY_(DELIVERED));
	assert_int_equal(e->delivered->seq, seq);
	frame_free(e);
	assert_int_equal(people_chat(r, cv.id, 4, "m", &seq), 0);
	assert_int_equal(seq, 4);
	tclient_free(r);
	tclient_free(s1);
}

/* SIGTERM: EndConversation{END_SHUTDOWN} to both, then SHUTTING_DOWN. */
static void
test_shutdown_ends(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1;
	struct pconv	 cv;
	Envelope	*e;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	harness_peerd_signal(w->h, SIGTERM);
	e = expect(r, "r", 0);
	assert_int_equal(e->body_case, BODY_(END_CONVERSATION));
	assert_int_equal(e->end_conversation->reason, END_(END_SHUTDOWN));
	frame_free(e);
	e = expect(r, "r", 0);
	assert_int_equal(e->body_case, BODY_(ERROR));
	assert_int_equal(e->error->code, ERR_(SHUTTING_DOWN));
	frame_free(e);
	e = expect(s1, "s", 0);
	assert_int_equal(e->body_case, BODY_(END_CONVERSATION));
	frame_free(e);
	tclient_free(r);
	tclient_free(s1);
}

/* A live revocation ends the conversation END_REVOKED, requeue set. */
static void
test_revoked_ends(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1;
	struct pconv	 cv;
	Envelope	*e;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_int_equal(people_revoke(w, "sup-a"), 0);
	e = expect(r, "r", BODY_(END_CONVERSATION));
	assert_int_equal(e->end_conversation->reason, END_(END_REVOKED));
	assert_true(e->end_conversation->requeue);
	frame_free(e);
	assert_null(tclient_recv(r, BODY_(PEER_STATUS), 300));
	tclient_free(r);
	tclient_free(s1);
}

/*
 * A supporter connecting again takes over: the old connection gets
 * SESSION_REPLACED, the new one its status back and the conversation with
 * the unacknowledged message; the requester sees RECONNECTING, RESUMED.
 */
static void
test_replaced_resume(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1, *s2;
	struct pconv	 cv;
	struct presume	 res;
	Envelope	*e;
	uint64_t	 seq;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "one", &seq), 0);
	e = people_wait_chat(s1, cv.id, 3000);
	assert_non_null(e);
	frame_free(e);

	res.token = cv.stoken;
	res.len = cv.stoken_len;
	res.last_seq = 0;	/* did not ack: must get "one" again */
	assert_non_null(s2 = tclient_connect(w->h));
	assert_non_null(e = people_hello(s2, PEERD__V1__ROLE__SUPPORTER, &c1,
	    NULL, &res, 1));
	assert_int_equal(e->body_case, BODY_(WELCOME));
	frame_free(e);
	e = expect(s1, "s1", BODY_(ERROR));
	assert_int_equal(e->error->code, ERR_(SESSION_REPLACED));
	frame_free(e);
	e = expect(s2, "s2", BODY_(SET_AVAILABILITY));
	assert_int_equal(e->set_availability->status,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
	frame_free(e);
	e = expect(s2, "s2", BODY_(MATCHED));
	assert_true(e->matched->resumed);
	frame_free(e);
	e = people_wait_chat(s2, cv.id, 3000);
	assert_non_null(e);
	assert_string_equal(e->chat_message->text, "one");
	frame_free(e);
	e = expect(r, "r", BODY_(PEER_STATUS));
	assert_int_equal(e->peer_status->state,
	    PEERD__V1__PEER_STATE__PEER_RECONNECTING);
	frame_free(e);
	e = expect(r, "r", BODY_(PEER_STATUS));
	assert_int_equal(e->peer_status->state,
	    PEERD__V1__PEER_STATE__PEER_RESUMED);
	frame_free(e);
	assert_int_equal(people_chat(s2, cv.id, 1, "back", &seq), 0);
	e = people_wait_chat(r, cv.id, 3000);
	assert_non_null(e);
	assert_string_equal(e->chat_message->text, "back");
	frame_free(e);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * Wrong role: PERMISSION_DENIED; wrong state: BAD_STATE; bad fields:
 * BAD_MESSAGE; the connection is kept.
 */
static void
test_roles_states(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1;
	Envelope	*e, req = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__AcceptOffer ao = PEERD__V1__ACCEPT_OFFER__INIT;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	ao.offer_id = 5;
	req.body_case = BODY_(ACCEPT_OFFER);
	req.accept_offer = &ao;
	assert_non_null(e = people_call(r, &req, 3000));
	assert_int_equal(people_code(e), ERR_(PERMISSION_DENIED));
	frame_free(e);
	assert_non_null(e = people_request(s1, NULL, NULL, NULL, 0));
	assert_int_equal(people_code(e), ERR_(PERMISSION_DENIED));
	frame_free(e);
	assert_int_equal(people_cancel(r), ERR_(BAD_STATE));
	assert_non_null(e = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(e->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(e->queue_update->position, 1);
	assert_int_equal(e->queue_update->compatible_supporters, 1);
	frame_free(e);
	assert_non_null(e = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(people_code(e), ERR_(BAD_STATE));
	frame_free(e);
	assert_int_equal(people_avail(s1,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 3), ERR_(BAD_MESSAGE));
	assert_int_equal(people_avail(s1, PEERD__V1__SUPPORTER_STATUS__OFFLINE,
	    0), ERR_(BAD_MESSAGE));
	assert_non_null(e = people_request(r, "nope", NULL, NULL, 0));
	assert_int_equal(people_code(e), ERR_(BAD_STATE));
	frame_free(e);
	tclient_free(r);
	tclient_free(s1);
}

/* A cancel ahead pushes QueueUpdate{position 1} (id 0) to the next. */
static void
test_queue_push(void **state)
{
	struct world	*w = *state;
	struct tclient	*r1, *r2;
	Envelope	*e;

	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(e = people_request(r1, NULL, NULL, NULL, 0));
	assert_int_equal(e->queue_update->position, 1);
	frame_free(e);
	assert_non_null(e = people_request(r2, NULL, NULL, NULL, 0));
	assert_int_equal(e->queue_update->position, 2);
	frame_free(e);
	assert_int_equal(people_cancel(r1), 0);
	e = expect(r2, "r2", BODY_(QUEUE_UPDATE));
	assert_int_equal(e->queue_update->position, 1);
	assert_int_equal(e->id, 0);
	frame_free(e);
	tclient_free(r1);
	tclient_free(r2);
}

/*
 * prefer_previous offers the last supporter first (returning); a relaxed
 * request is offered without its need, and told relaxed=true.
 */
static void
test_previous_and_relax(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*r, *s1, *s2;
	struct pconv	 cv;
	Envelope	*e, req = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__RequestPeer rp = PEERD__V1__REQUEST_PEER__INIT;
	char		*need[] = { "qx-prison" };
	uint8_t		 key[32];

	memset(key, 0x17, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-b", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, key));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_int_equal(people_end(r, cv.id), 0);
	e = expect(s1, "s1", BODY_(END_CONVERSATION));
	frame_free(e);
	e = expect(r, "r", BODY_(END_CONVERSATION));
	assert_int_equal(e->end_conversation->reason, END_(END_BY_REQUESTER));
	frame_free(e);
	tclient_free(r);
	/* s2 is the fairer choice (never matched), but r asks for s1. */
	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(r = people_requester(w, key));
	assert_non_null(e = people_request(r, NULL, NULL, NULL, PREQ_PREVIOUS));
	frame_free(e);
	e = expect(s1, "s1", BODY_(OFFER));
	assert_true(e->offer->returning);
	assert_int_equal(people_decline(s1, e->offer->offer_id), 0);
	frame_free(e);
	e = expect(s2, "s2", BODY_(OFFER));
	assert_false(e->offer->returning);
	assert_int_equal(people_decline(s2, e->offer->offer_id), 0);
	frame_free(e);
	assert_int_equal(people_cancel(r), 0);

	/* Relax: nobody has qx-prison; after 2 s it is only preferred. */
	rp.n_need = 1;
	rp.need = need;
	rp.relax_after_s = 2;
	req.body_case = BODY_(REQUEST_PEER);
	req.request_peer = &rp;
	assert_non_null(e = people_call(r, &req, 3000));
	assert_int_equal(e->body_case, BODY_(QUEUE_UPDATE));
	assert_false(e->queue_update->relaxed);
	assert_int_equal(e->queue_update->compatible_supporters, 0);
	frame_free(e);
	/* A new request: s2, never matched, is the fairer choice. */
	e = expect(s2, "s2", BODY_(OFFER));
	assert_int_equal(e->offer->n_need, 0);
	assert_int_equal(e->offer->n_prefer, 1);
	assert_string_equal(e->offer->prefer[0], "qx-prison");
	frame_free(e);
	e = expect(r, "r", BODY_(QUEUE_UPDATE));
	assert_true(e->queue_update->relaxed);
	frame_free(e);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * chat_rate/chat_burst: RATE_LIMITED past the burst, retransmissions free,
 * room again a second later, each connection its own allowance.
 */
static void
test_chat_rate(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1;
	struct pconv	 cv;
	int		 i;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 2, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	for (i = 1; i <= 3; i++)
		assert_int_equal(people_chat(r, cv.id, i, "m", NULL), 0);
	assert_int_equal(people_chat(r, cv.id, 4, "m", NULL),
	    ERR_(RATE_LIMITED));
	/* A retransmission is not counted, and still answered. */
	assert_int_equal(people_chat(r, cv.id, 3, "m", NULL), 0);
	harness_msleep(1100);
	assert_int_equal(people_chat(r, cv.id, 4, "m", NULL), 0);
	assert_int_equal(people_chat(r, cv.id, 5, "m", NULL),
	    ERR_(RATE_LIMITED));
	/* The other side has its own allowance. */
	assert_int_equal(people_chat(s1, cv.id, 1, "m", NULL), 0);
	tclient_free(r);
	tclient_free(s1);
}

/*
 * EndConversation{requeue} while the supporter is away keeps the
 * requester's place; a dropped supporter revoked meanwhile ends at once.
 */
static void
test_requeue_and_revoke_dropped(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*r, *r2, *s1, *s2;
	struct pconv	 cv, cv2;
	Envelope	*e, req = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__EndConversation ec = PEERD__V1__END_CONVERSATION__INIT;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-b", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_non_null(e = people_request(r2, NULL, NULL, NULL, 0));
	frame_free(e);
	tclient_free(s1);
	e = expect(r, "r", BODY_(PEER_STATUS));
	frame_free(e);
	/* r leaves the dropped conversation, asking to keep its place. */
	ec.conversation_id = cv.id;
	ec.requeue = 1;
	req.body_case = BODY_(END_CONVERSATION);
	req.end_conversation = &ec;
	assert_non_null(e = people_call(r, &req, 3000));
	assert_int_equal(people_code(e), 0);
	frame_free(e);
	e = expect(r, "r", BODY_(END_CONVERSATION));
	frame_free(e);
	assert_non_null(e = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(e->queue_update->position, 1);
	frame_free(e);
	assert_non_null(s2 = people_supporter_available(w, &c2));
	e = expect(s2, "s2", BODY_(OFFER));
	assert_int_equal(people_accept(s2, e->offer->offer_id), 0);
	frame_free(e);
	e = expect(r, "r", BODY_(MATCHED));
	cv2.id = e->matched->conversation_id;
	frame_free(e);

	/* s2 drops, then is revoked: r hears END_REVOKED long before grace. */
	tclient_free(s2);
	e = expect(r, "r", BODY_(PEER_STATUS));
	frame_free(e);
	assert_int_equal(people_revoke(w, "sup-b"), 0);
	e = expect(r, "r", BODY_(END_CONVERSATION));
	assert_int_equal(e->end_conversation->conversation_id, cv2.id);
	assert_int_equal(e->end_conversation->reason, END_(END_REVOKED));
	frame_free(e);
	tclient_free(r);
	tclient_free(r2);
}

/*
 * A requester's token on a new connection while the old one is open: the
 * old gets SESSION_REPLACED, last_seq acknowledges, no PeerStatus.
 */
static void
test_requester_takeover(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *r2, *s1;
	struct pconv	 cv;
	struct presume	 res;
	Envelope	*e;
	uint64_t	 seq;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 5, "one", &seq), 0);
	assert_int_equal(people_chat(s1, cv.id, 1, "to r", &seq), 0);
	e = people_wait_chat(r, cv.id, 3000);
	frame_free(e);
	res.token = cv.rtoken;
	res.len = cv.rtoken_len;
	res.last_seq = seq;
	assert_non_null(r2 = tclient_connect(w->h));
	assert_non_null(e = people_hello(r2, PEERD__V1__ROLE__REQUESTER, NULL,
	    NULL, &res, 1));
	assert_int_equal(e->body_case, BODY_(WELCOME));
	frame_free(e);
	e = expect(r2, "r2", BODY_(MATCHED));
	assert_true(e->matched->resumed);
	assert_int_equal(e->matched->last_client_msg_id, 5);
	assert_string_equal(e->matched->peer_name, "Peer sup-a");
	frame_free(e);
	assert_null(tclient_recv(r2, BODY_(CHAT_MESSAGE), 300));
	e = expect(r, "r", BODY_(ERROR));
	assert_int_equal(e->error->code, ERR_(SESSION_REPLACED));
	frame_free(e);
	/* s1 sees the implicit ack, no status flapping. */
	e = expect(s1, "s1", BODY_(DELIVERED));
	assert_int_equal(e->delivered->seq, seq);
	frame_free(e);
	assert_null(tclient_recv(s1, BODY_(PEER_STATUS), 500));
	assert_int_equal(people_chat(r2, cv.id, 5, "one", &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(people_chat(r2, cv.id, 6, "two", &seq), 0);
	e = people_wait_chat(s1, cv.id, 3000);
	assert_non_null(e);
	assert_string_equal(e->chat_message->text, "one");
	frame_free(e);
	e = people_wait_chat(s1, cv.id, 3000);
	assert_string_equal(e->chat_message->text, "two");
	frame_free(e);
	tclient_free(r);
	tclient_free(r2);
	tclient_free(s1);
}

/*
 * A supporter whose connection drops with an offer out is offered the same
 * requester again once back: a drop is not a decline.
 */
static void
test_drop_is_not_decline(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*r, *s1;
	Envelope	*e;

	assert_int_equal(world_cred(w, &c1, "sup-a", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(e = people_request(r, NULL, NULL, NULL, 0));
	frame_free(e);
	e = expect(s1, "s1", BODY_(OFFER));
	frame_free(e);
	tclient_free(s1);
	harness_msleep(300);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	e = expect(s1, "s1 again", BODY_(OFFER));
	assert_int_equal(people_accept(s1, e->offer->offer_id), 0);
	frame_free(e);
	e = expect(r, "r", BODY_(MATCHED));
	frame_free(e);
	tclient_free(r);
	tclient_free(s1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_blocks,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_stats,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_held_cap,
		    setup_held, world_teardown),
		cmocka_unit_test_setup_teardown(test_drop_is_not_decline,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_chat_rate,
		    setup_rate, world_teardown),
		cmocka_unit_test_setup_teardown(test_requester_takeover,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_requeue_and_revoke_dropped,
		    setup_grace30, world_teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_ends,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_revoked_ends,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_replaced_resume,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_roles_states,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_queue_push,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_previous_and_relax,
		    setup, world_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
