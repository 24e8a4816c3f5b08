/*
 * test_conv.c -- conversations end to end: a whole requester-supporter
 * conversation, seq/ack, Delivered and Typing forwarded, retransmissions,
 * ending from either side, a capacity-2 supporter, strangers kept out.
 *
 * Real peerd, real redis-server, real TLS through libpeerclient; each test
 * has its own peerd.
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
setup_held(void **state)
{
	return (world_setup_extra(state, "max_held_messages 5\n"));
}

static int
setup_short_text(void **state)
{
	return (world_setup_extra(state, "max_text 100\n"));
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

/* Expect EndConversation{conv, reason} pushed to c. */
static void
expect_end(struct tclient *c, const char *who, uint64_t conv, int reason)
{
	Envelope	*env;

	assert_non_null(env = people_wait(c, who, BODY_(END_CONVERSATION),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->end_conversation->conversation_id, conv);
	assert_int_equal(env->end_conversation->reason, reason);
	frame_free(env);
}

/* Send text from a to b in conv; check accepted seq and the copy b gets. */
static uint64_t
relay(struct tclient *a, struct tclient *b, uint64_t conv, uint64_t cmid,
    const char *text)
{
	Envelope	*env;
	uint64_t	 seq = 0;

	assert_int_equal(people_chat(a, conv, cmid, text, &seq), 0);
	assert_true(seq > 0);
	assert_non_null(env = people_wait_chat(b, conv, PEOPLE_PUSH_MS));
	assert_int_equal(env->chat_message->seq, seq);
	assert_int_equal(env->chat_message->client_msg_id, 0);
	assert_string_equal(env->chat_message->text, text);
	assert_int_equal(env->id, 0);
	frame_free(env);
	return (seq);
}

/*
 * The whole thing: ask, offer, accept, Matched on both sides with the same
 * reason, messages both ways with seqs, end by the requester.
 */
static void
test_conv_whole(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	Envelope	*env, *rm, *sm;
	uint64_t	 offer, conv, s1, s2, s3;
	size_t		 i;

	assert_int_equal(world_cred_full(w, &cred, "sup-ada", "Ada Lovelace",
	    PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_BME, "en", 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));

	assert_non_null(env = people_request(r, PEOPLE_TAG_LGBTQ,
	    PEOPLE_TAG_BME, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->position, 1);
	assert_int_equal(env->queue_update->compatible_supporters, 1);
	assert_false(env->queue_update->relaxed);
	frame_free(env);

	/* The offer says what the pair share and what was asked. */
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->id, 0);
	assert_int_not_equal(offer = env->offer->offer_id, 0);
	assert_true(has(env->offer->shared, env->offer->n_shared,
	    PEOPLE_TAG_LGBTQ));
	assert_true(has(env->offer->shared, env->offer->n_shared,
	    PEOPLE_TAG_BME));
	assert_int_equal(env->offer->n_need, 1);
	assert_string_equal(env->offer->need[0], PEOPLE_TAG_LGBTQ);
	assert_int_equal(env->offer->n_prefer, 1);
	assert_string_equal(env->offer->prefer[0], PEOPLE_TAG_BME);
	assert_true(env->offer->expires_s > 0 &&
	    env->offer->expires_s <= PEOPLE_OFFER_S);
	assert_true(strlen(env->offer->explanation) > 0);
	assert_false(env->offer->returning);
	frame_free(env);

	/* The requester sees nothing until the supporter accepts. */
	assert_null(tclient_recv(r, BODY_(MATCHED), 300));
	assert_int_equal(people_accept(s, offer), 0);

	assert_non_null(sm = people_wait(s, "supporter", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	assert_non_null(rm = people_wait(r, "requester", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	conv = rm->matched->conversation_id;
	assert_int_not_equal(conv, 0);
	assert_int_equal(sm->matched->conversation_id, conv);
	assert_string_equal(rm->matched->peer_name, "Ada Lovelace");
	assert_true(strlen(sm->matched->peer_name) > 0);
	assert_string_not_equal(sm->matched->peer_name, "Ada Lovelace");
	assert_string_equal(rm->matched->explanation,
	    sm->matched->explanation);
	assert_true(strlen(rm->matched->explanation) > 0);
	assert_int_equal(rm->matched->n_shared, sm->matched->n_shared);
	for (i = 0; i < rm->matched->n_shared; i++)
		assert_string_equal(rm->matched->shared[i],
		    sm->matched->shared[i]);
	assert_true(has(rm->matched->shared, rm->matched->n_shared,
	    PEOPLE_TAG_LGBTQ));
	assert_int_equal(rm->matched->resume_token.len, 32);
	assert_int_equal(sm->matched->resume_token.len, 32);
	assert_memory_not_equal(rm->matched->resume_token.data,
	    sm->matched->resume_token.data, 32);
	assert_false(rm->matched->resumed);
	assert_false(sm->matched->resumed);
	frame_free(rm);
	frame_free(sm);

	/* In a conversation: asking again is BAD_STATE. */
	env = people_request(r, NULL, NULL, NULL, 0);
	assert_int_equal(people_code(env), ERR_(BAD_STATE));
	frame_free(env);

	/* Messages both ways; seqs start at 1 and only go up. */
	s1 = relay(r, s, conv, 1, "hello, is anyone there?");
	assert_int_equal(s1, 1);
	s2 = relay(s, r, conv, 1, "hi, I'm here, take your time");
	assert_true(s2 > s1);
	s3 = relay(r, s, conv, 2, "thank you \xe2\x9d\xa4");
	assert_true(s3 > s2);

	/* End by the requester: Ok, then both are told who ended it. */
	assert_int_equal(people_end(r, conv), 0);
	expect_end(r, "requester", conv, END_(END_BY_REQUESTER));
	expect_end(s, "supporter", conv, END_(END_BY_REQUESTER));

	tclient_free(r);
	tclient_free(s);
}

/*
 * End by the supporter: both get END_BY_SUPPORTER, the slot is free again
 * (a capacity-1 supporter gets the next requester), and the ended
 * conversation takes no more messages.
 */
static void
test_conv_end_by_supporter(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r1, *r2, *s;
	struct pconv	 cv, cv2;
	int		 code;

	assert_int_equal(world_cred(w, &cred, "sup-bo", PEOPLE_TAG_WARD, 1,
	    0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_int_equal(people_match(r1, s, NULL, NULL, &cv), 0);
	relay(r1, s, cv.id, 1, "first");

	assert_int_equal(people_end(s, cv.id), 0);
	expect_end(s, "supporter", cv.id, END_(END_BY_SUPPORTER));
	expect_end(r1, "requester", cv.id, END_(END_BY_SUPPORTER));

	/* Nothing is relayed into an ended conversation. */
	code = people_chat(r1, cv.id, 2, "after the end", NULL);
	assert_true(code == ERR_(NOT_FOUND) || code == ERR_(BAD_STATE));
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 500));

	/* The slot is free: the next requester is offered to her. */
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(people_match(r2, s, NULL, NULL, &cv2), 0);
	assert_int_not_equal(cv2.id, cv.id);
	relay(r2, s, cv2.id, 1, "second conversation");

	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s);
}

/* The receiver's Delivered is forwarded to the sender. */
static void
test_conv_delivered_forwarded(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	uint64_t	 seq1, seq2;

	assert_int_equal(world_cred(w, &cred, "sup-cy", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	seq1 = relay(r, s, cv.id, 1, "one");
	seq2 = relay(r, s, cv.id, 2, "two");
	assert_true(seq2 > seq1);
	assert_int_equal(people_delivered(s, cv.id, seq2), 0);
	assert_non_null(env = people_wait(r, "requester", BODY_(DELIVERED),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->delivered->conversation_id, cv.id);
	assert_int_equal(env->delivered->seq, seq2);
	frame_free(env);

	/* And the other way. */
	seq1 = relay(s, r, cv.id, 1, "three");
	assert_int_equal(people_delivered(r, cv.id, seq1), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(DELIVERED),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->delivered->conversation_id, cv.id);
	assert_int_equal(env->delivered->seq, seq1);
	frame_free(env);

	/* Delivered is a notification: no reply came back to the sender. */
	assert_null(tclient_recv(s, BODY_(ERROR), 300));
	assert_null(tclient_recv(r, BODY_(ERROR), 0));
	tclient_free(r);
	tclient_free(s);
}

/* Typing on and off is forwarded to the other side. */
static void
test_conv_typing_forwarded(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-di", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	assert_int_equal(people_typing(s, cv.id, 1), 0);
	assert_non_null(env = people_wait(r, "requester", BODY_(TYPING),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->typing->conversation_id, cv.id);
	assert_true(env->typing->typing);
	frame_free(env);
	assert_int_equal(people_typing(s, cv.id, 0), 0);
	assert_non_null(env = people_wait(r, "requester", BODY_(TYPING),
	    PEOPLE_PUSH_MS));
	assert_false(env->typing->typing);
	frame_free(env);

	assert_int_equal(people_typing(r, cv.id, 1), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(TYPING),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->typing->conversation_id, cv.id);
	assert_true(env->typing->typing);
	frame_free(env);
	/* Typing is not echoed back to the one typing. */
	assert_null(tclient_recv(r, BODY_(TYPING), 300));
	tclient_free(r);
	tclient_free(s);
}

/*
 * A client_msg_id not above the last accepted is a retransmission:
 * MessageAccepted{seq 0}, relayed once only.
 */
static void
test_conv_retransmission_not_relayed(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	uint64_t	 seq, seq2;

	assert_int_equal(world_cred(w, &cred, "sup-ed", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	seq = relay(r, s, cv.id, 5, "only once");
	assert_int_equal(people_chat(r, cv.id, 5, "only once", &seq2), 0);
	assert_int_equal(seq2, 0);
	assert_int_equal(people_chat(r, cv.id, 3, "older", &seq2), 0);
	assert_int_equal(seq2, 0);
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 500));

	seq2 = relay(r, s, cv.id, 6, "next one");
	assert_true(seq2 > seq);
	assert_null(env = tclient_recv(s, BODY_(CHAT_MESSAGE), 300));
	tclient_free(r);
	tclient_free(s);
}

/*
 * A supporter with capacity 2 holds two conversations at once; each
 * message goes to the right one; a third requester waits until a slot
 * frees.
 */
static void
test_conv_capacity_two(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r1, *r2, *r3, *s;
	struct pconv	 c1, c2;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-fay", PEOPLE_TAG_PSYCHOSIS,
	    2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(r3 = people_requester(w, NULL));

	assert_int_equal(people_match(r1, s, NULL, NULL, &c1), 0);
	assert_int_equal(people_match(r2, s, PEOPLE_TAG_PSYCHOSIS, NULL, &c2),
	    0);
	assert_int_not_equal(c1.id, c2.id);
	assert_memory_not_equal(c1.stoken, c2.stoken, 32);

	/* Each message reaches only its own conversation's peer. */
	relay(r1, s, c1.id, 1, "from r1");
	relay(r2, s, c2.id, 1, "from r2");
	relay(s, r2, c2.id, 1, "to r2");
	relay(s, r1, c1.id, 1, "to r1");
	assert_null(tclient_recv(r1, BODY_(CHAT_MESSAGE), 300));
	assert_null(tclient_recv(r2, BODY_(CHAT_MESSAGE), 0));

	/* Full: a third requester is queued and no offer goes out. */
	assert_non_null(env = people_request(r3, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->position, 1);
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(OFFER), PEOPLE_QUIET_MS));

	/* A slot frees: the third requester is offered. */
	assert_int_equal(people_end(r1, c1.id), 0);
	expect_end(s, "supporter", c1.id, END_(END_BY_REQUESTER));
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	/* The other conversation is untouched. */
	relay(r2, s, c2.id, 2, "still here");

	tclient_free(r1);
	tclient_free(r2);
	tclient_free(r3);
	tclient_free(s);
}

/* Someone not in a conversation cannot write into it or end it. */
static void
test_conv_stranger_refused(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred, cred2;
	struct tclient	*r, *s, *x, *s2;
	struct pconv	 cv;
	Envelope	*env;
	int		 code;

	assert_int_equal(world_cred(w, &cred, "sup-gus", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &cred2, "sup-hal", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_non_null(x = people_requester(w, NULL));
	assert_non_null(s2 = people_supporter(w, &cred2));

	assert_int_equal(people_chat(x, cv.id, 1, "intruder", NULL),
	    ERR_(NOT_FOUND));
	assert_int_equal(people_chat(s2, cv.id, 1, "intruder", NULL),
	    ERR_(NOT_FOUND));
	code = people_end(x, cv.id);
	assert_int_equal(code, ERR_(NOT_FOUND));
	code = people_report(s2, cv.id, "abusive");
	assert_int_equal(code, ERR_(NOT_FOUND));
	/* Notifications too: an Error, nothing forwarded. */
	assert_int_equal(people_typing(x, cv.id, 1), 0);
	assert_non_null(env = people_wait(x, "stranger", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(NOT_FOUND));
	frame_free(env);
	assert_int_equal(people_delivered(s2, cv.id, 1), 0);
	assert_non_null(env = people_wait(s2, "other supporter", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(NOT_FOUND));
	frame_free(env);
	assert_null(tclient_recv(r, BODY_(TYPING), 300));
	assert_null(tclient_recv(r, BODY_(DELIVERED), 0));
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 500));
	assert_null(tclient_recv(r, BODY_(CHAT_MESSAGE), 0));
	assert_null(tclient_recv(r, BODY_(END_CONVERSATION), 0));

	/* The conversation goes on. */
	relay(r, s, cv.id, 1, "still private");
	tclient_free(x);
	tclient_free(s2);
	tclient_free(r);
	tclient_free(s);
}

/* Text over max_text (or not UTF-8) is refused and nothing is relayed. */
static void
test_conv_text_too_long(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	char		 text[102];

	assert_int_equal(world_cred(w, &cred, "sup-ivy", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	memset(text, 'x', 101);
	text[101] = '\0';
	assert_int_equal(people_chat(r, cv.id, 1, text, NULL),
	    ERR_(TEXT_TOO_LONG));
	assert_int_equal(people_chat(r, cv.id, 2, "bad \xff\xfe utf-8", NULL),
	    ERR_(TEXT_TOO_LONG));
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 500));
	text[100] = '\0';	/* exactly max_text: fine */
	relay(r, s, cv.id, 3, text);
	tclient_free(r);
	tclient_free(s);
}

/*
 * A conversation holding max_held_messages unacknowledged refuses the next
 * message with RATE_LIMITED (nothing stamped or relayed, not a
 * retransmission); once the receiver acknowledges, the same client_msg_id
 * goes through.  Nothing is dropped silently.
 */
static void
test_conv_held_limit(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	uint64_t	 seq[7];
	char		 text[32];
	int		 k;

	assert_int_equal(world_cred(w, &cred, "sup-full", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	for (k = 1; k <= 5; k++) {
		snprintf(text, sizeof text, "held-%d", k);
		assert_int_equal(people_chat(r, cv.id, k, text, &seq[k]), 0);
		assert_true(seq[k] > 0);
	}
	assert_int_equal(people_chat(r, cv.id, 6, "held-6", NULL),
	    ERR_(RATE_LIMITED));
	for (k = 1; k <= 5; k++) {
		assert_non_null(env = people_wait_chat(s, cv.id,
		    PEOPLE_PUSH_MS));
		assert_int_equal(env->chat_message->seq, seq[k]);
		frame_free(env);
	}
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 300));

	/* The receiver catches up; the refused message is sent again. */
	assert_int_equal(people_delivered(s, cv.id, seq[5]), 0);
	assert_non_null(env = people_wait(r, "requester", BODY_(DELIVERED),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_int_equal(people_chat(r, cv.id, 6, "held-6", &seq[6]), 0);
	assert_int_equal(seq[6], seq[5] + 1);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "held-6");
	assert_int_equal(env->chat_message->seq, seq[6]);
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

#define BURST	300	/* messages sent back to back */

/*
 * Messages sent back to back without waiting for each MessageAccepted
 * arrive in order, each once, with the seqs the sender was given; the
 * other side talking at the same time changes nothing.
 */
static void
test_conv_burst_in_order(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	static uint64_t	 ids[BURST + 1], seqs[BURST + 1];
	char		 text[64];
	uint64_t	 last = 0;
	int		 k;

	assert_int_equal(world_cred(w, &cred, "sup-burst", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	for (k = 1; k <= BURST; k++) {
		snprintf(text, sizeof text, "burst message %d", k);
		assert_int_not_equal(ids[k] = people_chat_send(r, cv.id, k,
		    text), 0);
	}
	assert_int_equal(people_chat(s, cv.id, 1, "meanwhile", NULL), 0);
	for (k = 1; k <= BURST; k++) {
		assert_non_null(env = tclient_recv_id(r, ids[k],
		    PEOPLE_PUSH_MS));
		assert_int_equal(env->body_case, BODY_(MESSAGE_ACCEPTED));
		assert_int_equal(env->message_accepted->client_msg_id, k);
		seqs[k] = env->message_accepted->seq;
		assert_true(seqs[k] > last);
		last = seqs[k];
		frame_free(env);
	}
	for (k = 1; k <= BURST; k++) {
		assert_non_null(env = people_wait_chat(s, cv.id,
		    PEOPLE_PUSH_MS));
		snprintf(text, sizeof text, "burst message %d", k);
		assert_string_equal(env->chat_message->text, text);
		assert_int_equal(env->chat_message->seq, seqs[k]);
		frame_free(env);
	}
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 300));
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "meanwhile");
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

/*
 * Field rules inside a conversation: client_msg_id 0 and a report reason
 * over 64 bytes are BAD_MESSAGE (not fatal), and change nothing.
 */
static void
test_conv_field_rules(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	char		 reason[80];

	assert_int_equal(world_cred(w, &cred, "sup-rules", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	assert_int_equal(people_chat(r, cv.id, 0, "no id", NULL),
	    ERR_(BAD_MESSAGE));
	memset(reason, 'r', sizeof reason - 1);
	reason[sizeof reason - 1] = '\0';
	assert_int_equal(people_report(r, cv.id, reason), ERR_(BAD_MESSAGE));
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 300));
	assert_null(tclient_recv(s, BODY_(END_CONVERSATION), 0));
	assert_false(tclient_closed(r));
	relay(r, s, cv.id, 1, "still fine");
	tclient_free(r);
	tclient_free(s);
}

/*
 * peerd stopping (SIGTERM): every conversation ends with END_SHUTDOWN on
 * both sides, before the SHUTTING_DOWN error.
 */
static void
test_conv_shutdown_ends(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	struct tclient	*side[2];
	int		 i;

	assert_int_equal(world_cred(w, &cred, "sup-last", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(harness_peerd_signal(w->h, SIGTERM), 0);
	side[0] = r;
	side[1] = s;
	for (i = 0; i < 2; i++) {
		assert_int_equal(tclient_wait_closed(side[i], HARNESS_IO_MS),
		    0);
		assert_non_null(env = tclient_recv(side[i], 0, 0));
		assert_int_equal(env->body_case, BODY_(END_CONVERSATION));
		assert_int_equal(env->end_conversation->conversation_id,
		    cv.id);
		assert_int_equal(env->end_conversation->reason,
		    END_(END_SHUTDOWN));
		frame_free(env);
		assert_non_null(env = tclient_recv(side[i], BODY_(ERROR), 0));
		assert_int_equal(env->error->code, ERR_(SHUTTING_DOWN));
		frame_free(env);
	}
	tclient_free(r);
	tclient_free(s);
}

/*
 * Capacity lowered below the load: no new offers until the load is under
 * the new capacity.
 */
static void
test_conv_capacity_lowered(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r1, *r2, *s;
	struct pconv	 c1;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-tired", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_int_equal(people_match(r1, s, NULL, NULL, &c1), 0);
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 1), 0);
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(env = people_request(r2, NULL, NULL, NULL, 0));
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_int_equal(people_end(s, c1.id), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s);
}

/*
 * An offer is accepted once: a second AcceptOffer (or a DeclineOffer after
 * it) is NOT_FOUND, and each side gets exactly one Matched.
 */
static void
test_conv_accept_once(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;

	assert_int_equal(world_cred(w, &cred, "sup-once", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_accept(s, cv.offer_id), ERR_(NOT_FOUND));
	assert_int_equal(people_decline(s, cv.offer_id), ERR_(NOT_FOUND));
	assert_null(tclient_recv(s, BODY_(MATCHED), 300));
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));
	relay(r, s, cv.id, 1, "just the one conversation");
	tclient_free(r);
	tclient_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conv_whole, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_end_by_supporter,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_delivered_forwarded,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_typing_forwarded,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_conv_retransmission_not_relayed, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_capacity_two, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_stranger_refused,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_text_too_long,
		    setup_short_text, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_held_limit,
		    setup_held, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_burst_in_order,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_field_rules, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_shutdown_ends, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_capacity_lowered,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_conv_accept_once, setup,
		    world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
