/*
 * test_resume.c -- a side drops mid-conversation and comes back within the
 * grace window: nothing lost, nothing duplicated; after the window the
 * conversation ends; bad tokens are refused without ending the connection.
 *
 * The base config has grace 3 s.
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
#define END_(x)		PEERD__V1__END_REASON__ ## x
#define PEER_(x)	PEERD__V1__PEER_STATE__ ## x

#define NMSG		12	/* messages in the no-loss test */
#define BEFORE		4	/* of them, received before the drop */
#define TRAIL_MS	1000	/* ms listening for duplicates */

static int
setup(void **state)
{
	return (world_setup(state));
}

/* Messages one side received, in arrival order. */
struct got {
	uint64_t	 seq[64];
	char		 text[64][32];
	size_t		 n;
};

/* Take one ChatMessage of conv from c into g. */
static int
take(struct tclient *c, uint64_t conv, struct got *g, int timeout_ms)
{
	Envelope	*env;

	if ((env = tclient_recv(c, BODY_(CHAT_MESSAGE), timeout_ms)) == NULL)
		return (-1);
	assert_int_equal(env->chat_message->conversation_id, conv);
	assert_true(g->n < 64);
	g->seq[g->n] = env->chat_message->seq;
	snprintf(g->text[g->n], sizeof g->text[0], "%s",
	    env->chat_message->text);
	g->n++;
	frame_free(env);
	return (0);
}

/* Print what g holds (for a failing comparison). */
static void
got_dump(const struct got *g, const char *who)
{
	size_t	i;

	fprintf(stderr, "%s received %zu:", who, g->n);
	for (i = 0; i < g->n; i++)
		fprintf(stderr, " [seq %llu \"%s\"]",
		    (unsigned long long)g->seq[i], g->text[i]);
	fprintf(stderr, "\n");
}

/*
 * Take ChatMessages of conv from c into g until it holds n, then listen
 * TRAIL_MS more for any extra (a duplicate); assert exactly n came.
 */
static void
take_n(struct tclient *c, uint64_t conv, struct got *g, size_t n,
    const char *who)
{
	while (take(c, conv, g, g->n < n ? PEOPLE_PUSH_MS : TRAIL_MS) == 0)
		;
	if (g->n != n)
		got_dump(g, who);
	assert_int_equal(g->n, n);
}

/* Expect PeerStatus{conv, state} pushed to c. */
static void
expect_status(struct tclient *c, const char *who, uint64_t conv, int st)
{
	Envelope	*env;

	assert_non_null(env = people_wait(c, who, BODY_(PEER_STATUS),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->peer_status->conversation_id, conv);
	assert_int_equal(env->peer_status->state, st);
	frame_free(env);
}

/*
 * Connect with Hello{role, cred, resume {token, last_seq}}; expect Welcome
 * then Matched{resumed} for conv.  Returns the client; *m gets the Matched.
 */
static struct tclient *
come_back(struct world *w, Peerd__V1__Role role, const struct pcred *cred,
    const uint8_t *token, size_t len, uint64_t last_seq, uint64_t conv,
    Envelope **m)
{
	struct tclient	*c;
	struct presume	 res = { token, len, last_seq };
	Envelope	*env;
	char		 buf[512];

	assert_non_null(c = tclient_connect(w->h));
	env = people_hello(c, role, cred, NULL, &res, 1);
	if (env == NULL || env->body_case != BODY_(WELCOME))
		fprintf(stderr, "come_back: Hello got %s\n",
		    people_describe(env, buf, sizeof buf));
	assert_non_null(env);
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait(c, "returning side", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	assert_true(env->matched->resumed);
	assert_int_equal(env->matched->conversation_id, conv);
	*m = env;
	return (c);
}

/*
 * The supporter drops with messages in flight and resumes within grace
 * from last_seq = the second-to-last message it saw (as if the last was
 * lost): it then gets every later message once, in order; across the drop
 * the texts and seqs are exactly 1..N, each once.  Its own accepted
 * message is reported held (last_client_msg_id) and the requester's read
 * mark (delivered_seq) survives.
 */
static void
test_resume_supporter_no_loss(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	struct got	 got;
	Envelope	*m;
	uint64_t	 sent[NMSG + 1], sseq, last_seq;
	char		 text[32];
	size_t		 i;
	int		 k;

	memset(&got, 0, sizeof got);
	assert_int_equal(world_cred(w, &cred, "sup-drop", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	/* The supporter says something; the requester reads it. */
	assert_int_equal(people_chat(s, cv.id, 1, "supporter-1", &sseq), 0);
	assert_true(sseq > 0);
	assert_non_null(m = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	frame_free(m);
	assert_int_equal(people_delivered(r, cv.id, sseq), 0);

	/* BEFORE messages reach the supporter. */
	for (k = 1; k <= BEFORE; k++) {
		snprintf(text, sizeof text, "msg-%d", k);
		assert_int_equal(people_chat(r, cv.id, k, text, &sent[k]), 0);
		assert_int_equal(take(s, cv.id, &got, PEOPLE_PUSH_MS), 0);
	}
	assert_int_equal(people_delivered(s, cv.id, got.seq[BEFORE - 2]), 0);
	/* Pretend the last one never arrived: forget it. */
	got.n = BEFORE - 1;
	last_seq = got.seq[BEFORE - 2];
	harness_msleep(100);
	tclient_free(s);		/* drop, no goodbye */

	expect_status(r, "requester", cv.id, PEER_(PEER_RECONNECTING));
	for (k = BEFORE + 1; k <= NMSG; k++) {
		snprintf(text, sizeof text, "msg-%d", k);
		assert_int_equal(people_chat(r, cv.id, k, text, &sent[k]), 0);
		assert_true(sent[k] > sent[k - 1]);
	}

	s = come_back(w, PEERD__V1__ROLE__SUPPORTER, &cred, cv.stoken,
	    cv.stoken_len, last_seq, cv.id, &m);
	assert_int_equal(m->matched->last_client_msg_id, 1);
	assert_int_equal(m->matched->delivered_seq, sseq);
	assert_int_equal(m->matched->resume_token.len > 0 ?
	    m->matched->resume_token.len : 32, 32);
	frame_free(m);
	expect_status(r, "requester", cv.id, PEER_(PEER_RESUMED));
	/* It is told the status it had. */
	assert_non_null(m = people_wait(s, "supporter",
	    BODY_(SET_AVAILABILITY), PEOPLE_PUSH_MS));
	assert_int_equal(m->set_availability->status,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
	frame_free(m);

	/* Everything above last_seq, then listen for duplicates. */
	take_n(s, cv.id, &got, NMSG, "supporter");
	for (i = 0; i < NMSG; i++) {
		snprintf(text, sizeof text, "msg-%zu", i + 1);
		if (strcmp(got.text[i], text) != 0 ||
		    got.seq[i] != sent[i + 1])
			got_dump(&got, "supporter");
		assert_string_equal(got.text[i], text);
		assert_int_equal(got.seq[i], sent[i + 1]);
	}

	/* The conversation goes on both ways; a resend is not relayed. */
	assert_int_equal(people_chat(s, cv.id, 1, "supporter-1", &sseq), 0);
	assert_int_equal(sseq, 0);
	assert_int_equal(people_chat(s, cv.id, 2, "supporter-2", &sseq), 0);
	assert_true(sseq > sent[NMSG]);
	assert_non_null(m = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(m->chat_message->text, "supporter-2");
	frame_free(m);
	assert_null(tclient_recv(r, BODY_(CHAT_MESSAGE), 300));
	tclient_free(r);
	tclient_free(s);
}

/*
 * The requester drops and resumes with its token: it gets what the
 * supporter sent meanwhile, once each; its own unacknowledged messages
 * are held for it (last_client_msg_id).
 */
static void
test_resume_requester(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	struct got	 got;
	Envelope	*m;
	uint64_t	 seq[6], last_seq;
	char		 text[32];
	int		 k;

	memset(&got, 0, sizeof got);
	assert_int_equal(world_cred(w, &cred, "sup-stay", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	assert_int_equal(people_chat(s, cv.id, 1, "s-1", &seq[1]), 0);
	assert_int_equal(take(r, cv.id, &got, PEOPLE_PUSH_MS), 0);
	last_seq = got.seq[0];
	assert_int_equal(people_chat(r, cv.id, 7, "r-7", NULL), 0);
	harness_msleep(100);
	tclient_free(r);

	expect_status(s, "supporter", cv.id, PEER_(PEER_RECONNECTING));
	for (k = 2; k <= 5; k++) {
		snprintf(text, sizeof text, "s-%d", k);
		assert_int_equal(people_chat(s, cv.id, k, text, &seq[k]), 0);
	}
	r = come_back(w, PEERD__V1__ROLE__REQUESTER, NULL, cv.rtoken,
	    cv.rtoken_len, last_seq, cv.id, &m);
	assert_int_equal(m->matched->last_client_msg_id, 7);
	frame_free(m);
	expect_status(s, "supporter", cv.id, PEER_(PEER_RESUMED));
	take_n(r, cv.id, &got, 5, "requester");
	for (k = 1; k <= 5; k++) {
		snprintf(text, sizeof text, "s-%d", k);
		assert_string_equal(got.text[k - 1], text);
		assert_int_equal(got.seq[k - 1], seq[k]);
	}
	/* The supporter had the requester's message before the drop. */
	assert_non_null(m = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(m->chat_message->text, "r-7");
	frame_free(m);
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 300));
	tclient_free(r);
	tclient_free(s);
}

/*
 * A requester that resumes claiming more than it was ever sent
 * (last_seq 99 after one message) still gets the four that came while it
 * was away, and the supporter is not told they were delivered before the
 * requester acknowledges them.
 */
static void
test_resume_ack_ahead_capped(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	struct got	 got;
	Envelope	*m;
	char		 text[32];
	int		 k;

	memset(&got, 0, sizeof got);
	assert_int_equal(world_cred(w, &cred, "sup-ahead", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(s, cv.id, 1, "s-1", NULL), 0);
	assert_int_equal(take(r, cv.id, &got, PEOPLE_PUSH_MS), 0);
	tclient_free(r);
	expect_status(s, "supporter", cv.id, PEER_(PEER_RECONNECTING));
	for (k = 2; k <= 5; k++) {
		snprintf(text, sizeof text, "s-%d", k);
		assert_int_equal(people_chat(s, cv.id, k, text, NULL), 0);
	}

	r = come_back(w, PEERD__V1__ROLE__REQUESTER, NULL, cv.rtoken,
	    cv.rtoken_len, 99, cv.id, &m);
	frame_free(m);
	take_n(r, cv.id, &got, 5, "requester");
	for (k = 2; k <= 5; k++) {
		snprintf(text, sizeof text, "s-%d", k);
		assert_string_equal(got.text[k - 1], text);
	}
	/* At most s-1 may be reported read so far. */
	while ((m = tclient_recv(s, BODY_(DELIVERED), 300)) != NULL) {
		assert_true(m->delivered->seq <= got.seq[0]);
		frame_free(m);
	}
	assert_int_equal(people_delivered(r, cv.id, got.seq[4]), 0);
	assert_non_null(m = people_wait(s, "supporter", BODY_(DELIVERED),
	    PEOPLE_PUSH_MS));
	assert_int_equal(m->delivered->seq, got.seq[4]);
	frame_free(m);
	tclient_free(r);
	tclient_free(s);
}

/*
 * No return within grace: the side still there gets END_PEER_GONE (not
 * before grace, not much after), and the late token is refused with
 * RESUME_FAILED on a connection that otherwise works.
 */
static void
test_resume_after_grace(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	struct presume	 res;
	Envelope	*env;
	int64_t		 t0, dt;

	assert_int_equal(world_cred(w, &cred, "sup-gone", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	tclient_free(s);
	t0 = harness_now_ms();
	expect_status(r, "requester", cv.id, PEER_(PEER_RECONNECTING));
	assert_int_equal(people_chat(r, cv.id, 1, "are you there?", NULL), 0);

	assert_non_null(env = people_wait(r, "requester",
	    BODY_(END_CONVERSATION), (PEOPLE_GRACE_S + 4) * 1000));
	dt = harness_now_ms() - t0;
	assert_int_equal(env->end_conversation->conversation_id, cv.id);
	assert_int_equal(env->end_conversation->reason, END_(END_PEER_GONE));
	assert_true(env->end_conversation->requeue);
	frame_free(env);
	assert_true(dt >= PEOPLE_GRACE_S * 1000 - 500);

	/* Too late. */
	assert_non_null(s = tclient_connect(w->h));
	res.token = cv.stoken;
	res.len = cv.stoken_len;
	res.last_seq = 0;
	assert_non_null(env = people_hello(s, PEERD__V1__ROLE__SUPPORTER,
	    &cred, NULL, &res, 1));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait(s, "late supporter", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(RESUME_FAILED));
	assert_false(env->error->fatal);
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(MATCHED), 300));
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 0));
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	assert_int_equal(people_chat(r, cv.id, 2, "hello?", NULL),
	    ERR_(NOT_FOUND));
	tclient_free(r);
	tclient_free(s);
}

/*
 * Unknown tokens and the other side's token: RESUME_FAILED, not fatal,
 * and the live conversation does not notice.
 */
static void
test_resume_bad_tokens(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s, *x;
	struct pconv	 cv;
	struct presume	 res;
	Envelope	*env;
	uint8_t		 junk[32];

	assert_int_equal(world_cred(w, &cred, "sup-tok", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	/* Random bytes. */
	memset(junk, 0x5a, sizeof junk);
	res.token = junk;
	res.len = sizeof junk;
	res.last_seq = 0;
	assert_non_null(x = tclient_connect(w->h));
	assert_non_null(env = people_hello(x, PEERD__V1__ROLE__REQUESTER,
	    NULL, NULL, &res, 1));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait(x, "x", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(RESUME_FAILED));
	assert_false(env->error->fatal);
	frame_free(env);
	tclient_free(x);

	/* The supporter's token presented by a requester. */
	res.token = cv.stoken;
	res.len = cv.stoken_len;
	assert_non_null(x = tclient_connect(w->h));
	assert_non_null(env = people_hello(x, PEERD__V1__ROLE__REQUESTER,
	    NULL, NULL, &res, 1));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait(x, "x", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(RESUME_FAILED));
	frame_free(env);
	assert_null(tclient_recv(x, BODY_(MATCHED), 300));
	assert_null(tclient_recv(x, BODY_(CHAT_MESSAGE), 0));

	/* Nothing leaked to x; the real pair carries on undisturbed. */
	assert_int_equal(people_chat(s, cv.id, 1, "private", NULL), 0);
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);
	assert_null(tclient_recv(x, BODY_(CHAT_MESSAGE), 300));
	assert_null(tclient_recv(r, BODY_(PEER_STATUS), 0));
	assert_null(tclient_recv(s, BODY_(PEER_STATUS), 0));
	tclient_free(x);
	tclient_free(r);
	tclient_free(s);
}

/*
 * After END_PEER_GONE a requester who asks again on the same connection
 * keeps the enqueue time of the first request: ahead of one who came
 * later.
 */
static void
test_resume_gone_requeue_front(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*r1, *r2, *s1, *s2;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &c1, "sup-leaves", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-next", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(people_match(r1, s1, NULL, NULL, &cv), 0);
	assert_non_null(env = people_request(r2, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);

	tclient_free(s1);
	assert_non_null(env = people_wait(r1, "r1", BODY_(END_CONVERSATION),
	    (PEOPLE_GRACE_S + 4) * 1000));
	assert_int_equal(env->end_conversation->reason, END_(END_PEER_GONE));
	frame_free(env);

	assert_non_null(env = people_request(r1, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	assert_int_equal(env->queue_update->position, 1);
	frame_free(env);

	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(env = people_wait(s2, "s2", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_accept(s2, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r1, "r1", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_null(tclient_recv(r2, BODY_(MATCHED), 0));
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s2);
}

/*
 * A capacity-2 supporter drops holding two conversations and resumes both
 * in one Hello: each conversation gets exactly its own missed messages.
 */
static void
test_resume_two_conversations(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r1, *r2, *s;
	struct pconv	 c1, c2;
	struct presume	 res[2];
	Envelope	*env;
	uint64_t	 seq1[4], seq2[4];
	char		 text[32];
	int		 k, m1 = 0, m2 = 0;

	assert_int_equal(world_cred(w, &cred, "sup-two", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r1 = people_requester(w, NULL));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(people_match(r1, s, NULL, NULL, &c1), 0);
	assert_int_equal(people_match(r2, s, NULL, NULL, &c2), 0);
	tclient_free(s);
	expect_status(r1, "r1", c1.id, PEER_(PEER_RECONNECTING));
	expect_status(r2, "r2", c2.id, PEER_(PEER_RECONNECTING));
	for (k = 1; k <= 3; k++) {
		snprintf(text, sizeof text, "one-%d", k);
		assert_int_equal(people_chat(r1, c1.id, k, text, &seq1[k]), 0);
		snprintf(text, sizeof text, "two-%d", k);
		assert_int_equal(people_chat(r2, c2.id, k, text, &seq2[k]), 0);
	}

	assert_non_null(s = tclient_connect(w->h));
	res[0].token = c1.stoken;
	res[0].len = c1.stoken_len;
	res[0].last_seq = 0;
	res[1].token = c2.stoken;
	res[1].len = c2.stoken_len;
	res[1].last_seq = 0;
	assert_non_null(env = people_hello(s, PEERD__V1__ROLE__SUPPORTER,
	    &cred, NULL, res, 2));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	for (k = 0; k < 2; k++) {
		assert_non_null(env = people_wait(s, "supporter",
		    BODY_(MATCHED), PEOPLE_PUSH_MS));
		assert_true(env->matched->resumed);
		m1 += env->matched->conversation_id == c1.id;
		m2 += env->matched->conversation_id == c2.id;
		frame_free(env);
	}
	assert_int_equal(m1, 1);
	assert_int_equal(m2, 1);
	for (k = 1; k <= 3; k++) {
		assert_non_null(env = people_wait_chat(s, c1.id,
		    PEOPLE_PUSH_MS));
		snprintf(text, sizeof text, "one-%d", k);
		assert_string_equal(env->chat_message->text, text);
		assert_int_equal(env->chat_message->seq, seq1[k]);
		frame_free(env);
		assert_non_null(env = people_wait_chat(s, c2.id,
		    PEOPLE_PUSH_MS));
		snprintf(text, sizeof text, "two-%d", k);
		assert_string_equal(env->chat_message->text, text);
		assert_int_equal(env->chat_message->seq, seq2[k]);
		frame_free(env);
	}
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), TRAIL_MS));
	expect_status(r1, "r1", c1.id, PEER_(PEER_RESUMED));
	expect_status(r2, "r2", c2.id, PEER_(PEER_RESUMED));
	tclient_free(r1);
	tclient_free(r2);
	tclient_free(s);
}

/*
 * The requester's token on a new connection while the old one is still
 * open moves the conversation: the old connection gets SESSION_REPLACED,
 * the new one the conversation, and nothing goes to the old one.
 */
static void
test_resume_requester_moves(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *r2, *s;
	struct pconv	 cv;
	Envelope	*env;
	uint64_t	 seq;

	assert_int_equal(world_cred(w, &cred, "sup-moved", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(s, cv.id, 1, "before the move", &seq),
	    0);
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);

	r2 = come_back(w, PEERD__V1__ROLE__REQUESTER, NULL, cv.rtoken,
	    cv.rtoken_len, seq, cv.id, &env);
	frame_free(env);
	assert_non_null(env = people_wait(r, "old connection", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(SESSION_REPLACED));
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(r, HARNESS_IO_MS), 0);

	assert_int_equal(people_chat(s, cv.id, 2, "after the move", NULL), 0);
	assert_non_null(env = people_wait_chat(r2, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "after the move");
	frame_free(env);
	assert_null(tclient_recv(r2, BODY_(CHAT_MESSAGE), 300));
	assert_null(tclient_recv(r, BODY_(CHAT_MESSAGE), 0));
	assert_int_equal(people_chat(r2, cv.id, 1, "hello from here", NULL),
	    0);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r);
	tclient_free(r2);
	tclient_free(s);
}

/*
 * The same supporter connecting again with its token while the old
 * connection lives: the old one is replaced, the new one gets its status
 * back (pushed SetAvailability AVAILABLE) and the conversation.
 */
static void
test_resume_supporter_replaced(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s, *s2;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-newphone", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	s2 = come_back(w, PEERD__V1__ROLE__SUPPORTER, &cred, cv.stoken,
	    cv.stoken_len, 0, cv.id, &env);
	frame_free(env);
	assert_non_null(env = people_wait(s, "old connection", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(SESSION_REPLACED));
	frame_free(env);
	assert_non_null(env = people_wait(s2, "new connection",
	    BODY_(SET_AVAILABILITY), PEOPLE_PUSH_MS));
	assert_int_equal(env->id, 0);
	assert_int_equal(env->set_availability->status,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
	frame_free(env);

	assert_int_equal(people_chat(r, cv.id, 1, "which phone?", NULL), 0);
	assert_non_null(env = people_wait_chat(s2, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "which phone?");
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 0));
	assert_null(tclient_recv(r, BODY_(END_CONVERSATION), 0));
	tclient_free(r);
	tclient_free(s);
	tclient_free(s2);
}

/* Connect with one resume entry; expect Welcome, then RESUME_FAILED. */
static void
expect_resume_failed(struct world *w, Peerd__V1__Role role,
    const struct pcred *cred, const uint8_t *token, size_t len)
{
	struct tclient	*c;
	struct presume	 res = { token, len, 0 };
	Envelope	*env;

	assert_non_null(c = tclient_connect(w->h));
	assert_non_null(env = people_hello(c, role, cred, NULL, &res, 1));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait(c, "x", BODY_(ERROR),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->error->code, ERR_(RESUME_FAILED));
	assert_false(env->error->fatal);
	frame_free(env);
	assert_null(tclient_recv(c, BODY_(MATCHED), 300));
	assert_null(tclient_recv(c, BODY_(CHAT_MESSAGE), 0));
	tclient_free(c);
}

/*
 * A resume token works only for its owner: another supporter holding it,
 * or the requester's token presented as a supporter, gets RESUME_FAILED
 * and none of the conversation.
 */
static void
test_resume_token_not_transferable(void **state)
{
	struct world	*w = *state;
	struct pcred	 ca, cb;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &ca, "sup-owner", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &cb, "sup-thief", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &ca));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "secret", NULL), 0);
	tclient_free(s);	/* the owner is away: the token is "free" */
	expect_status(r, "requester", cv.id, PEER_(PEER_RECONNECTING));

	expect_resume_failed(w, PEERD__V1__ROLE__SUPPORTER, &cb, cv.stoken,
	    cv.stoken_len);
	expect_resume_failed(w, PEERD__V1__ROLE__SUPPORTER, &cb, cv.rtoken,
	    cv.rtoken_len);
	assert_null(tclient_recv(r, BODY_(PEER_STATUS), 300));

	/* The owner still can. */
	s = come_back(w, PEERD__V1__ROLE__SUPPORTER, &ca, cv.stoken,
	    cv.stoken_len, 0, cv.id, &env);
	frame_free(env);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "secret");
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

/*
 * The token stays the same for the whole conversation: drop, resume,
 * drop, resume with the same token; and once the conversation has ended
 * the token is refused.
 */
static void
test_resume_twice_then_ended(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	int		 round;

	assert_int_equal(world_cred(w, &cred, "sup-twice", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	for (round = 1; round <= 2; round++) {
		tclient_free(r);
		expect_status(s, "supporter", cv.id,
		    PEER_(PEER_RECONNECTING));
		assert_int_equal(people_chat(s, cv.id, round, round == 1 ?
		    "first gap" : "second gap", NULL), 0);
		r = come_back(w, PEERD__V1__ROLE__REQUESTER, NULL, cv.rtoken,
		    cv.rtoken_len, 0, cv.id, &env);
		if (env->matched->resume_token.len > 0)
			assert_memory_equal(env->matched->resume_token.data,
			    cv.rtoken, 32);
		frame_free(env);
		expect_status(s, "supporter", cv.id, PEER_(PEER_RESUMED));
	}
	/* Both held messages, once each (nothing was acknowledged). */
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "first gap");
	frame_free(env);
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "second gap");
	frame_free(env);
	assert_null(tclient_recv(r, BODY_(CHAT_MESSAGE), TRAIL_MS));

	assert_int_equal(people_end(s, cv.id), 0);
	assert_non_null(env = people_wait(r, "requester",
	    BODY_(END_CONVERSATION), PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r);
	expect_resume_failed(w, PEERD__V1__ROLE__REQUESTER, NULL, cv.rtoken,
	    cv.rtoken_len);
	tclient_free(s);
}

/*
 * The requester never comes back: after grace the supporter gets
 * END_PEER_GONE and its slot is free for the next requester; while the
 * conversation waited, that supporter's one slot was not offered.
 */
static void
test_resume_requester_gone_frees_slot(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *r2, *s;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-free", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	tclient_free(r);
	expect_status(s, "supporter", cv.id, PEER_(PEER_RECONNECTING));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(env = people_request(r2, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(OFFER), 1000));

	assert_non_null(env = people_wait(s, "supporter",
	    BODY_(END_CONVERSATION), (PEOPLE_GRACE_S + 4) * 1000));
	assert_int_equal(env->end_conversation->conversation_id, cv.id);
	assert_int_equal(env->end_conversation->reason, END_(END_PEER_GONE));
	frame_free(env);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r2);
	tclient_free(s);
}

/*
 * While a supporter is away with a conversation in its grace window it is
 * offered no one, even with a free slot; back, it is.
 */
static void
test_resume_gone_supporter_not_offered(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *r2, *s;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-two-slots", NULL, 2, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	tclient_free(s);
	expect_status(r, "requester", cv.id, PEER_(PEER_RECONNECTING));
	assert_non_null(r2 = people_requester(w, NULL));
	assert_non_null(env = people_request(r2, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	harness_msleep(500);

	s = come_back(w, PEERD__V1__ROLE__SUPPORTER, &cred, cv.stoken,
	    cv.stoken_len, 0, cv.id, &env);
	frame_free(env);
	/* No stale offer made while it was gone; a fresh one now. */
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_accept(s, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r2, "r2", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r);
	tclient_free(r2);
	tclient_free(s);
}

/*
 * Both sides drop at once and both come back late in the window (2 s of
 * grace 3 s): each gets what the other sent before dropping, once.
 */
static void
test_resume_both_drop(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-storm", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "r before the storm", NULL),
	    0);
	assert_int_equal(people_chat(s, cv.id, 1, "s before the storm", NULL),
	    0);
	tclient_free(r);
	tclient_free(s);
	harness_msleep(2000);

	s = come_back(w, PEERD__V1__ROLE__SUPPORTER, &cred, cv.stoken,
	    cv.stoken_len, 0, cv.id, &env);
	frame_free(env);
	r = come_back(w, PEERD__V1__ROLE__REQUESTER, NULL, cv.rtoken,
	    cv.rtoken_len, 0, cv.id, &env);
	frame_free(env);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "r before the storm");
	frame_free(env);
	assert_non_null(env = people_wait_chat(r, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "s before the storm");
	frame_free(env);
	assert_null(tclient_recv(r, BODY_(CHAT_MESSAGE), TRAIL_MS));
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), 0));
	/* Past the first window now: the conversation is alive. */
	harness_msleep(1500);
	assert_null(tclient_recv(r, BODY_(END_CONVERSATION), 0));
	assert_int_equal(people_chat(r, cv.id, 2, "we made it", NULL), 0);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

/*
 * A supporter with no conversations who disconnects is forgotten: its
 * next Hello starts AWAY (no pushed status, no offers) until it says
 * otherwise.
 */
static void
test_resume_idle_supporter_forgotten(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	Envelope	*env;

	assert_int_equal(world_cred(w, &cred, "sup-closed-app", NULL, 1, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &cred));
	tclient_free(s);
	harness_msleep(200);
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, NULL, NULL, NULL, 0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	assert_non_null(s = people_supporter(w, &cred));
	assert_null(tclient_recv(s, BODY_(SET_AVAILABILITY), PEOPLE_QUIET_MS));
	assert_null(tclient_recv(s, BODY_(OFFER), 0));
	assert_int_equal(people_avail(s,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE, 0), 0);
	assert_non_null(env = people_wait(s, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	tclient_free(r);
	tclient_free(s);
}

/*
 * A Delivered beyond what was sent counts only as far as what was sent:
 * the sender hears the real seq, and a later message is still held (so a
 * drop before reading it loses nothing).
 */
static void
test_resume_overeager_ack(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	uint64_t	 seq1, seq2;

	assert_int_equal(world_cred(w, &cred, "sup-acks", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(people_chat(r, cv.id, 1, "one", &seq1), 0);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);
	assert_int_equal(people_delivered(s, cv.id, seq1 + 1000), 0);
	assert_non_null(env = people_wait(r, "requester", BODY_(DELIVERED),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->delivered->seq, seq1);
	frame_free(env);

	assert_int_equal(people_chat(r, cv.id, 2, "two", &seq2), 0);
	tclient_free(s);		/* never read "two" */
	expect_status(r, "requester", cv.id, PEER_(PEER_RECONNECTING));
	s = come_back(w, PEERD__V1__ROLE__SUPPORTER, &cred, cv.stoken,
	    cv.stoken_len, seq1, cv.id, &env);
	frame_free(env);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_string_equal(env->chat_message->text, "two");
	assert_int_equal(env->chat_message->seq, seq2);
	frame_free(env);
	assert_null(tclient_recv(s, BODY_(CHAT_MESSAGE), TRAIL_MS));
	tclient_free(r);
	tclient_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resume_supporter_no_loss,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_requester, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_ack_ahead_capped,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_grace, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_bad_tokens, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_gone_requeue_front,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_two_conversations,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_requester_moves,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_supporter_replaced,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_resume_token_not_transferable, setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_twice_then_ended,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_resume_requester_gone_frees_slot, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_resume_gone_supporter_not_offered, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_both_drop, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_resume_idle_supporter_forgotten, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_resume_overeager_ack,
		    setup, world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
