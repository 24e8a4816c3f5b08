/*
 * test_peer_client.c -- the `peer` program against a real peerd and Redis,
 * event line by event line.
 *
 * Each test runs the real $PEER_BIN (script mode through pipes, or
 * interactive mode in tmux) against the harness's peerd.  Its counterpart
 * is a synchronous client from people.h, so the test decides when the
 * other side reads, acknowledges, drops, resumes or ends, and checks what
 * peerd relayed from `peer`.  Drops are real: a relay that is cut
 * (relay.h), or peerd killed and started again (conversations live in its
 * memory).  Every event line of client/PEER.md, the escaping of TEXT, the
 * exit codes, the requester key, resending after a drop, RATE_LIMITED and
 * both interactive roles are checked.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
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

#include "child.h"
#include "frame.h"
#include "harness.h"
#include "pane.h"
#include "people.h"
#include "relay.h"

#define T_MS		CHILD_MS /* ms, anything due soon */
#define T_QUIET_MS	300	/* ms, listening for what must not come */
#define T_HELD		"sending again shortly" /* peer's RATE_LIMITED notice */

/* ---- set-up ------------------------------------------------------------ */

/*
 * Config lines for the tests: max_text 100 (a long line is refused);
 * max_held_messages 1 (the second unread message gets RATE_LIMITED);
 * grace 1 (a gone peer is ended at once); grace 10 (peer keeps trying
 * while peerd restarts).
 */
#define T_CONF		"max_text 100\n"
#define T_HELD1		"max_held_messages 1\n"
#define T_GRACE1	"grace 1\n"
#define T_GRACE10	"grace 10\n"

/* A world whose peerd also has the config lines given as the prestate. */
static int
setup(void **state)
{
	return (world_setup_extra(state, *state));
}

/* ---- helpers ------------------------------------------------------------- */

/* Sign a supporter credential and write it to dir/<id>.cred. */
static void
cred_file(struct world *w, struct pcred *cred, const char *id,
    const char *name, const char *tags, uint32_t capacity, char *path,
    size_t len)
{
	char	err[CRED_ERR_MAX], file[64];

	assert_int_equal(world_cred_full(w, cred, id, name, tags, "en,cy",
	    capacity, 0), 0);
	snprintf(file, sizeof file, "%s.cred", id);
	child_path(path, len, w->h->dir, file);
	assert_int_equal(cred_write_file(path, cred->buf, cred->len, err,
	    sizeof err), 0);
}

/*
 * The supporter s takes the next offer: accept it and wait for Matched.
 * Fills *cv (supporter side).  Returns the Offer (frame_free()).
 */
static Envelope *
take_offer(struct tclient *s, struct pconv *cv)
{
	Envelope	*offer, *m;

	memset(cv, 0, sizeof *cv);
	assert_non_null(offer = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_OFFER, T_MS));
	cv->offer_id = offer->offer->offer_id;
	assert_int_equal(people_accept(s, cv->offer_id), 0);
	assert_non_null(m = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, T_MS));
	people_note_matched(cv, m, 0);
	frame_free(m);
	return (offer);
}

/* The next ChatMessage to c in conv must be seq with text. */
static void
expect_chat(struct tclient *c, uint64_t conv, uint64_t seq, const char *text)
{
	Envelope	*env;

	assert_non_null(env = people_wait_chat(c, conv, T_MS));
	assert_string_equal(env->chat_message->text, text);
	assert_int_equal(env->chat_message->seq, seq);
	frame_free(env);
}

/* Match a ChatMessage in the conversation *arg (a uint64_t). */
static int
is_chat_in(const Envelope *env, void *arg)
{
	return (env->body_case == PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE &&
	    env->chat_message->conversation_id == *(uint64_t *)arg);
}

/* No ChatMessage may be waiting for c, nor arrive within T_QUIET_MS. */
static void
expect_no_chat(struct tclient *c, uint64_t conv)
{
	Envelope	*env;

	if ((env = tclient_recv_if(c, is_chat_in, &conv, T_QUIET_MS)) != NULL)
		fail_msg("unexpected message \"%s\"", env->chat_message->text);
}

/* The next PeerStatus to c must say state. */
static void
expect_status(struct tclient *c, Peerd__V1__PeerState state)
{
	Envelope	*env;

	assert_non_null(env = people_wait(c, "counterpart",
	    PEERD__V1__ENVELOPE__BODY_PEER_STATUS, T_MS));
	assert_int_equal(env->peer_status->state, state);
	frame_free(env);
}

/* The next EndConversation to c must end conv for reason. */
static void
expect_end(struct tclient *c, uint64_t conv, Peerd__V1__EndReason reason)
{
	Envelope	*env;

	assert_non_null(env = people_wait(c, "counterpart",
	    PEERD__V1__ENVELOPE__BODY_END_CONVERSATION, T_MS));
	assert_int_equal(env->end_conversation->conversation_id, conv);
	assert_int_equal(env->end_conversation->reason, reason);
	frame_free(env);
}

/* The next Delivered to c must be seq. */
static void
expect_delivered(struct tclient *c, uint64_t seq)
{
	Envelope	*env;

	assert_non_null(env = people_wait(c, "counterpart",
	    PEERD__V1__ENVELOPE__BODY_DELIVERED, T_MS));
	assert_int_equal(env->delivered->seq, seq);
	frame_free(env);
}

/* The next line of c must be exactly the printf-formatted want. */
static void
expect_line(struct child *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
expect_line(struct child *c, const char *fmt, ...)
{
	char	want[CHILD_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	assert_string_equal(child_expect(c, ""), want);
}

/* Parse "queued position=N eta_s=N" into *pos; fail on anything else. */
static void
expect_queued(struct child *c, unsigned int pos)
{
	const char	*line = child_expect(c, "queued ");
	unsigned int	 p, eta;
	char		 end;

	if (sscanf(line, "queued position=%u eta_s=%u%c", &p, &eta,
	    &end) != 2)
		fail_msg("bad queued line \"%s\"", line);
	assert_int_equal(p, pos);
}

/*
 * A supporter s (a client signed in as id, display name name, tag
 * qx-lgbtq) is available; `peer request` (with --no-key if nokey) starts
 * through port (0: peerd's own), queues first, and is matched with s.
 * Fills *cv (supporter side) and returns the child.
 */
static struct child *
start_matched(struct world *w, int port, int nokey, const char *name,
    struct pcred *cred, struct tclient **s, struct pconv *cv)
{
	struct child	*c;
	char		 cpath[HARNESS_PATH];

	cred_file(w, cred, "sup-1", name, "qx-lgbtq", 2, cpath,
	    sizeof cpath);
	assert_non_null(*s = people_supporter_available(w, cred));
	c = child_start(w->h, port, "req.err", "request",
	    nokey ? "--no-key" : NULL, NULL);
	expect_queued(c, 1);
	frame_free(take_offer(*s, cv));
	expect_line(c, "matched conversation=%llu peer=%s shared=",
	    (unsigned long long)cv->id, name);
	return (c);
}

/* ---- script mode: requester ---------------------------------------------- */

/*
 * A whole conversation: queued (the reply, then a push as the queue
 * moves), a line said before the match held for it, matched (NAME
 * escaped), accepted, delivered, a message with every kind of escape,
 * peer-reconnecting and resumed as the supporter drops and resumes,
 * lines peer refuses (too long, not UTF-8), then end of input ends it.
 * The request's fields reach the supporter's Offer; the key file is made
 * (0600 in 0700), and a later --previous request is offered to the same
 * supporter as returning, so the key reached peerd and is reused.
 */
static void
test_requester_lines(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct pconv	 cv;
	struct presume	 res;
	struct tclient	*a, *s;
	struct child	*c;
	Envelope	*env;
	Peerd__V1__Offer *o;
	char		 path[HARNESS_PATH], key[128], cpath[HARNESS_PATH];
	char		 big[128];
	struct stat	 sb;
	FILE		*fp;
	size_t		 i;

	cred_file(w, &cred, "sam-1", "Sam Smith", "qx-lgbtq,qx-bme", 2,
	    cpath, sizeof cpath);
	/* Someone urgent is waiting already: ours is second, then first. */
	assert_non_null(a = people_requester(w, NULL));
	assert_non_null(env = people_request(a, NULL, NULL, NULL,
	    PREQ_URGENT));
	assert_int_equal(env->queue_update->position, 1);
	frame_free(env);
	c = child_start(h, 0, "req.err", "request", "--need", "qx-lgbtq",
	    "--prefer", "qx-bme", "--lang", "en,cy", "--relax-after", "5m",
	    "--urgent", NULL);
	expect_queued(c, 2);
	child_path(path, sizeof path, h->dir, ".config/peer/requester.key");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(key, sizeof key, fp));
	fclose(fp);
	assert_int_equal(strspn(key, "0123456789abcdef"), 64);
	child_path(path, sizeof path, h->dir, ".config/peer");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(people_cancel(a), 0);
	expect_queued(c, 1);

	/* A line said before the match waits for it. */
	child_say(c, "first, before anyone is there");
	assert_non_null(s = people_supporter_available(w, &cred));
	env = take_offer(s, &cv);
	o = env->offer;
	assert_int_equal(o->n_need, 1);
	assert_string_equal(o->need[0], "qx-lgbtq");
	assert_int_equal(o->n_prefer, 1);
	assert_string_equal(o->prefer[0], "qx-bme");
	assert_int_equal(o->n_languages, 2);
	assert_string_equal(o->languages[0], "en");
	assert_string_equal(o->languages[1], "cy");
	assert_true(o->urgent);
	frame_free(env);
	expect_line(c, "matched conversation=%llu peer=Sam\\x20Smith "
	    "shared=qx-lgbtq,qx-bme", (unsigned long long)cv.id);
	expect_chat(s, cv.id, 1, "first, before anyone is there");
	expect_line(c, "accepted seq=1");
	assert_int_equal(people_delivered(s, cv.id, 1), 0);
	expect_line(c, "delivered seq=1");

	/* TEXT escaped: newline, tab, backslash, control, bidi; é kept. */
	assert_int_equal(people_chat(s, cv.id, 1,
	    "hi\nthere\t\\ \x01 caf\xc3\xa9 \xe2\x80\xae!", NULL), 0);
	expect_line(c, "message conversation=%llu seq=2 text=hi\\nthere\\t"
	    "\\\\ \\x01 caf\xc3\xa9 \\xe2\\x80\\xae!",
	    (unsigned long long)cv.id);
	expect_delivered(s, 2);

	/* The supporter's connection drops, then it resumes. */
	tclient_free(s);
	expect_line(c, "peer-reconnecting");
	res.token = cv.stoken;
	res.len = cv.stoken_len;
	res.last_seq = 2;
	assert_non_null(s = tclient_connect(h));
	assert_non_null(env = people_hello(s, PEERD__V1__ROLE__SUPPORTER,
	    &cred, NULL, &res, 1));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);
	assert_non_null(env = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, T_MS));
	assert_true(env->matched->resumed);
	assert_int_equal(env->matched->conversation_id, cv.id);
	frame_free(env);
	expect_line(c, "resumed");

	/* Lines peer refuses itself: over max_text (100), not UTF-8. */
	memset(big, 'x', 101);
	big[101] = '\0';
	child_say(c, big);
	child_expect(c, "error code=TEXT_TOO_LONG message=");
	child_say(c, "caf\xe9 \xff");
	child_expect(c, "error code=TEXT_TOO_LONG message=");

	/* End of input: the last line is accepted, then the End goes out. */
	child_say(c, "bye");
	child_eof(c);
	expect_line(c, "accepted seq=3");
	expect_chat(s, cv.id, 3, "bye");
	expect_end(s, cv.id, PEERD__V1__END_REASON__END_BY_REQUESTER);
	expect_line(c, "ended conversation=%llu reason=by_requester",
	    (unsigned long long)cv.id);
	assert_int_equal(child_wait(c, T_MS), 0);
	assert_null(child_line(c, 100));
	/* Nothing refused reached the supporter. */
	for (i = 0; i < tclient_queued(s); i++)
		assert_int_not_equal(tclient_peek(s, i)->body_case,
		    PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	child_free(c);

	/* The key file is reused and reached peerd: --previous finds Sam. */
	assert_int_equal(people_avail(s, PEERD__V1__SUPPORTER_STATUS__AVAILABLE,
	    0), 0);
	c = child_start(h, 0, "req.err", "request", "--previous", NULL);
	child_eof(c);
	expect_queued(c, 1);
	env = take_offer(s, &cv);
	assert_true(env->offer->returning);
	frame_free(env);
	expect_line(c, "matched conversation=%llu peer=Sam\\x20Smith "
	    "shared=", (unsigned long long)cv.id);
	expect_end(s, cv.id, PEERD__V1__END_REASON__END_BY_REQUESTER);
	expect_line(c, "ended conversation=%llu reason=by_requester",
	    (unsigned long long)cv.id);
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
	tclient_free(s);
	tclient_free(a);
}

/*
 * peer's own connection is cut (a relay) with a line still to send:
 * peer reconnects, resumes, catches up on what the supporter received
 * and said meanwhile, sends the line exactly once and nothing it had sent
 * before, and prints nothing about its own drop.  The supporter sees the
 * requester reconnecting and resumed.
 */
static void
test_requester_resume(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct pconv	 cv;
	struct tclient	*s;
	struct child	*c;
	char		 lines[3][CHILD_LINE_MAX];
	char		 want[3][128];
	const char	*line;
	pid_t		 relay;
	int		 port = relay_free_port(), i, j, found;

	relay = relay_start(h, port);
	c = start_matched(w, port, 0, "Alex", &cred, &s, &cv);
	assert_int_equal(people_chat(s, cv.id, 1, "hello", NULL), 0);
	expect_line(c, "message conversation=%llu seq=1 text=hello",
	    (unsigned long long)cv.id);
	expect_delivered(s, 1);
	child_say(c, "one");
	expect_line(c, "accepted seq=2");
	expect_chat(s, cv.id, 2, "one");

	relay_stop(relay);
	expect_status(s, PEERD__V1__PEER_STATE__PEER_RECONNECTING);
	child_say(c, "two");
	assert_int_equal(people_delivered(s, cv.id, 2), 0);
	assert_int_equal(people_chat(s, cv.id, 2, "while you were away",
	    NULL), 0);
	relay = relay_start(h, port);
	expect_status(s, PEERD__V1__PEER_STATE__PEER_RESUMED);
	expect_chat(s, cv.id, 4, "two");
	/* Its second Hello asked to resume the one conversation. */
	assert_int_equal(log_lines_with(h, "event=hello role=requester",
	    "resume=1", NULL, 0), 1);

	/* Catch-up, the held message and the resent line, in any order. */
	snprintf(want[0], sizeof want[0], "delivered seq=2");
	snprintf(want[1], sizeof want[1], "message conversation=%llu seq=3 "
	    "text=while you were away", (unsigned long long)cv.id);
	snprintf(want[2], sizeof want[2], "accepted seq=4");
	for (i = 0; i < 3; i++) {
		if ((line = child_line(c, T_MS)) == NULL)
			fail_msg("line %d after the resume never came", i);
		snprintf(lines[i], sizeof lines[i], "%s", line);
	}
	for (j = 0; j < 3; j++) {
		for (found = i = 0; i < 3; i++)
			found += strcmp(lines[i], want[j]) == 0;
		if (found != 1)
			fail_msg("\"%s\" came %d times (%s | %s | %s)",
			    want[j], found, lines[0], lines[1], lines[2]);
	}
	/* "one" was accepted before the drop: never sent again. */
	expect_no_chat(s, cv.id);

	/* The supporter ends it: the requester is done. */
	assert_int_equal(people_end(s, cv.id), 0);
	expect_line(c, "ended conversation=%llu reason=by_supporter",
	    (unsigned long long)cv.id);
	assert_int_equal(child_wait(c, T_MS), 0);
	assert_null(child_line(c, 100));
	child_free(c);
	tclient_free(s);
	relay_stop(relay);
}

/*
 * RATE_LIMITED (peerd holds max_held_messages unread) is not a refusal:
 * of three lines written at once, each refused one waits (peer says so on
 * stderr and retries every second, refused again while the peer has not
 * read), goes once the supporter's Delivered comes, and all arrive exactly
 * once, in order.
 */
static void
test_rate_limited(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct pconv	 cv;
	struct tclient	*s;
	struct child	*c;

	c = start_matched(w, 0, 1, "Sam", &cred, &s, &cv);
	assert_int_equal(write(c->in, "one\ntwo\nthree\n", 14), 14);
	expect_line(c, "accepted seq=1");
	expect_chat(s, cv.id, 1, "one");
	/* "two" was refused: peer says so on stderr and waits. */
	assert_true(child_err_wait(c, T_HELD, 1, T_MS) >= 1);
	expect_no_chat(s, cv.id);
	assert_null(child_line(c, 0));
	assert_int_equal(people_delivered(s, cv.id, 1), 0);
	expect_line(c, "delivered seq=1");
	expect_line(c, "accepted seq=2");
	expect_chat(s, cv.id, 2, "two");
	/* Again once peer's 1 s retry is refused (a slow run: sooner). */
	assert_true(child_err_wait(c, T_HELD, 2, T_MS) >= 2);
	expect_no_chat(s, cv.id);
	assert_int_equal(people_delivered(s, cv.id, 2), 0);
	expect_line(c, "delivered seq=2");
	expect_line(c, "accepted seq=3");
	expect_chat(s, cv.id, 3, "three");
	child_eof(c);
	expect_end(s, cv.id, PEERD__V1__END_REASON__END_BY_REQUESTER);
	expect_line(c, "ended conversation=%llu reason=by_requester",
	    (unsigned long long)cv.id);
	assert_int_equal(child_wait(c, T_MS), 0);
	expect_no_chat(s, cv.id);
	child_free(c);
	tclient_free(s);
}

/* A refused request prints peerd's error and exits 1; --no-key: no key. */
static void
test_requester_refused(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct child	*c;
	char		 path[HARNESS_PATH];
	struct stat	 sb;

	c = child_start(h, 0, "req.err", "request", "--need", "nonsense",
	    "--no-key", NULL);
	expect_line(c, "error code=UNKNOWN_TAG message=need[0] is not in the "
	    "catalogue");
	assert_int_equal(child_wait(c, T_MS), 1);
	assert_null(child_line(c, 100));
	child_path(path, sizeof path, h->dir, ".config/peer/requester.key");
	assert_int_equal(stat(path, &sb), -1);
	child_free(c);
}

/*
 * peerd dies with the conversation open and comes back (it keeps
 * conversations in memory): the resume is refused, so the conversation
 * ends as resume_failed and peer exits 1.
 */
static void
test_resume_failed(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct pconv	 cv;
	struct tclient	*s;
	struct child	*c;
	char		 *conf;

	c = start_matched(w, 0, 1, "Sam", &cred, &s, &cv);
	/* The supporter stays till peerd dies: no peer-reconnecting. */
	assert_non_null(conf = strdup(h->extra));
	assert_int_equal(harness_peerd_signal(h, SIGKILL), 0);
	assert_int_equal(harness_peerd_wait(h, T_MS), 0);
	tclient_free(s);
	assert_int_equal(harness_peerd_start(h, conf), 0);
	free(conf);
	child_expect(c, "error code=RESUME_FAILED message=");
	expect_line(c, "ended conversation=%llu reason=resume_failed",
	    (unsigned long long)cv.id);
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
}

/*
 * peer's connection is cut for longer than the grace window: it gives up
 * (connection_lost, exit 1), and peerd ends it for the supporter.
 */
static void
test_connection_lost(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct pconv	 cv;
	struct tclient	*s;
	struct child	*c;
	pid_t		 relay;
	int		 port = relay_free_port();
	int64_t		 start;

	relay = relay_start(h, port);
	c = start_matched(w, port, 1, "Sam", &cred, &s, &cv);
	start = harness_now_ms();
	relay_stop(relay);
	expect_status(s, PEERD__V1__PEER_STATE__PEER_RECONNECTING);
	expect_end(s, cv.id, PEERD__V1__END_REASON__END_PEER_GONE);
	expect_line(c, "ended conversation=%llu reason=connection_lost",
	    (unsigned long long)cv.id);
	assert_true(harness_now_ms() - start >= 900);
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
	tclient_free(s);
}

/* --timeout: exit 3 while still waiting in the queue. */
static void
test_timeout(void **state)
{
	struct world	*w = *state;
	struct child	*c;
	int64_t		 start = harness_now_ms();

	c = child_start(w->h, 0, "req.err", "--timeout", "1", "request",
	    "--no-key", NULL);
	expect_queued(c, 1);
	assert_int_equal(child_wait(c, T_MS), 3);
	assert_true(harness_now_ms() - start >= 900);
	assert_null(child_line(c, 100));
	child_free(c);
}

/* Nothing listening: exit 1 at once; a bad command line: exit 2. */
static void
test_exit_codes(void **state)
{
	struct world	*w = *state;
	struct child	*c;

	c = child_start(w->h, relay_free_port(), "x.err", "request",
	    "--no-key", NULL);
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
	c = child_start(w->h, 0, "x.err", "request", "--capacity", "2", NULL);
	assert_int_equal(child_wait(c, T_MS), 2);
	child_free(c);
	c = child_start(w->h, 0, "x.err", "support", NULL);
	assert_int_equal(child_wait(c, T_MS), 2);
	child_free(c);
	c = child_start(w->h, 0, "x.err", "request", "--relax-after", "soon",
	    NULL);
	assert_int_equal(child_wait(c, T_MS), 2);
	child_free(c);
}

/* ---- script mode: supporter ---------------------------------------------- */

/*
 * Available with --capacity 1 after Welcome, an offer accepted
 * (--auto-accept), matched, a line sent and relayed, the requester gone
 * (peer-reconnecting, then peer_gone), then end of input with nothing
 * open: exit 0.
 */
static void
test_supporter_lines(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct tclient	*r;
	struct child	*c;
	Envelope	*env, *m;
	char		 cpath[HARNESS_PATH], conv[32];
	const char	*line;

	cred_file(w, &cred, "sam-1", "Sam", "qx-lgbtq", 2, cpath,
	    sizeof cpath);
	c = child_start(h, 0, "sup.err", "support", "--credential", cpath,
	    "--auto-accept", "--capacity", "1", NULL);
	assert_int_equal(redis_presence_wait(h, "sam-1", "status",
	    "available", T_MS), 0);
	assert_int_equal(redis_presence_wait(h, "sam-1", "capacity", "1",
	    T_MS), 0);
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, "qx-lgbtq", NULL, NULL, 0));
	frame_free(env);
	line = child_expect(c, "offer id=");
	assert_string_equal(child_field(line, "shared="), "qx-lgbtq");
	assert_non_null(m = people_wait(r, "requester",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, T_MS));
	snprintf(conv, sizeof conv, "%llu",
	    (unsigned long long)m->matched->conversation_id);
	assert_string_equal(m->matched->peer_name, "Sam");
	line = child_expect(c, "matched conversation=");
	assert_string_equal(child_field(line, "conversation="), conv);
	assert_true(strncmp(child_field(line, "peer="), "guest-", 6) == 0);
	assert_string_equal(child_field(line, "shared="), "qx-lgbtq");
	child_say(c, "Hello, I'm Sam. Take your time.");
	expect_line(c, "accepted seq=1");
	expect_chat(r, m->matched->conversation_id, 1,
	    "Hello, I'm Sam. Take your time.");
	frame_free(m);
	tclient_free(r);
	expect_line(c, "peer-reconnecting");
	expect_line(c, "ended conversation=%s reason=peer_gone", conv);
	child_eof(c);
	assert_int_equal(child_wait(c, T_MS), 0);
	assert_null(child_line(c, 100));
	child_free(c);
}

/* Without --auto-accept, script mode declines each offer at once. */
static void
test_supporter_declines(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct tclient	*r;
	struct child	*c;
	Envelope	*env;
	char		 cpath[HARNESS_PATH], want[64];
	const char	*line;
	int64_t		 start;

	cred_file(w, &cred, "sam-1", "Sam", "qx-lgbtq", 2, cpath,
	    sizeof cpath);
	c = child_start(h, 0, "sup.err", "support", "--credential", cpath,
	    NULL);
	assert_int_equal(redis_presence_wait(h, "sam-1", "status",
	    "available", T_MS), 0);
	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, NULL, NULL, NULL, 0));
	frame_free(env);
	line = child_expect(c, "offer id=");
	start = harness_now_ms();
	assert_string_equal(child_field(line, "shared="), "");
	snprintf(want, sizeof want, "event=offer_declined offer=%s",
	    child_field(line, "id="));
	/* Before the offer could have timed out (offer_timeout 5 s). */
	assert_int_equal(harness_log_wait(h, want,
	    PEOPLE_OFFER_S * 1000 - 1000), 0);
	assert_true(harness_now_ms() - start < PEOPLE_OFFER_S * 1000 - 1000);
	assert_null(tclient_recv(r, PEERD__V1__ENVELOPE__BODY_MATCHED,
	    T_QUIET_MS));
	child_eof(c);
	assert_int_equal(child_wait(c, T_MS), 0);
	assert_null(child_line(c, 100));
	child_free(c);
	tclient_free(r);
}

/* ---- interactive mode in tmux -------------------------------------------- */

/* Wait for the file path to hold a line; return it as a number, or -1. */
static int
status_file(const char *path)
{
	char	 buf[16];
	FILE	*fp;
	int	 n;

	for (n = 0; n < T_MS / 50; n++) {
		if ((fp = fopen(path, "r")) != NULL) {
			if (fgets(buf, sizeof buf, fp) != NULL) {
				fclose(fp);
				return (atoi(buf));
			}
			fclose(fp);
		}
		harness_msleep(50);
	}
	return (-1);
}

/* Copy the word after needle on the pane into out ("" if none). */
static void
pane_word(const char *session, const char *needle, char *out, size_t len)
{
	char		 buf[16384];
	const char	*p;
	size_t		 n;

	pane_capture(session, buf, sizeof buf);
	out[0] = '\0';
	if ((p = strstr(buf, needle)) == NULL)
		return;
	p += strlen(needle);
	for (n = 0; n + 1 < len && (isalnum((unsigned char)p[n]) ||
	    p[n] == '-'); n++)
		out[n] = p[n];
	out[n] = '\0';
}

/*
 * Interactive requester: the waiting screen with its queue position, the
 * chat with a message ticked as peerd holds it and as the supporter
 * receives it (and one waiting while peerd is full), the typing sign, the
 * supporter's message cleaned, /help, the supporter dropping and coming
 * back, /end, and /quit leaving with status 0.
 */
static void
test_tty_requester(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct pconv	 cv;
	struct presume	 res;
	struct tclient	*s = NULL;
	Envelope	*env;
	char		 session[64], status[HARNESS_PATH], cpath[HARNESS_PATH];
	int		 ok = 0;

	if (pane_sh("command -v tmux >/dev/null") != 0)
		skip();
	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set");
	cred_file(w, &cred, "sam-1", "Sam", "qx-lgbtq", 2, cpath,
	    sizeof cpath);
	snprintf(session, sizeof session, "peertest%d", (int)getpid());
	child_path(status, sizeof status, h->dir, "tty.status");
	assert_int_equal(pane_sh("tmux new-session -d -s %s -x 100 -y 30 "
	    "'%sHOME=%s LANG=C.UTF-8 LC_ALL=C.UTF-8 %s --server 127.0.0.1:%d "
	    "--ca %s request --need qx-lgbtq; echo $? > %s; sleep 60'",
	    session, pane_san_env(h->dir), h->dir, h->peer_bin, h->port,
	    h->ca, status), 0);
	if (pane_wait(session, "Looking for a peer who shares qx-lgbtq",
	    T_MS) || pane_wait(session, "Waiting: position 1", T_MS))
		goto out;

	assert_non_null(s = people_supporter_available(w, &cred));
	frame_free(take_offer(s, &cv));
	if (pane_wait(session, "You are talking with Sam. You share: "
	    "qx-lgbtq.", T_MS) || pane_wait(session, "talking with Sam", T_MS))
		goto out;
	pane_sh("tmux send-keys -t %s 'I have had a hard week' Enter",
	    session);
	/* Typing is announced, then the message itself. */
	assert_non_null(env = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_TYPING, T_MS));
	assert_true(env->typing->typing);
	frame_free(env);
	assert_non_null(env = people_wait(s, "supporter",
	    PEERD__V1__ENVELOPE__BODY_TYPING, T_MS));
	assert_false(env->typing->typing);
	frame_free(env);
	expect_chat(s, cv.id, 1, "I have had a hard week");
	if (pane_wait(session, "you: I have had a hard week \xe2\x9c\x93",
	    T_MS))
		goto out;
	/* peerd holds one unread message at most: the next one waits. */
	pane_sh("tmux send-keys -t %s 'and a long one' Enter", session);
	if (pane_wait(session, "you: and a long one \xc2\xb7", T_MS))
		goto out;
	expect_no_chat(s, cv.id);
	if (pane_wait(session, "you: and a long one \xc2\xb7", 0))
		goto out;
	assert_int_equal(people_delivered(s, cv.id, 1), 0);
	if (pane_wait(session, "hard week \xe2\x9c\x93\xe2\x9c\x93", T_MS) ||
	    pane_wait(session, "you: and a long one \xe2\x9c\x93", T_MS))
		goto out;
	expect_chat(s, cv.id, 2, "and a long one");
	assert_int_equal(people_delivered(s, cv.id, 2), 0);
	if (pane_wait(session, "long one \xe2\x9c\x93\xe2\x9c\x93", T_MS))
		goto out;

	assert_int_equal(people_typing(s, cv.id, 1), 0);
	if (pane_wait(session, "Sam is typing...", T_MS))
		goto out;
	assert_int_equal(people_chat(s, cv.id, 1,
	    "I'm sorry to hear that. \x1b[31mI'm here.", NULL), 0);
	if (pane_wait(session, "Sam: I'm sorry to hear that. ?[31mI'm here.",
	    T_MS))
		goto out;
	expect_delivered(s, 3);

	pane_sh("tmux send-keys -t %s '/help' Enter", session);
	if (pane_wait(session, "/report [REASON]", T_MS))
		goto out;
	tclient_free(s);
	if ((s = NULL, pane_wait(session, "Sam's connection dropped", T_MS)))
		goto out;
	res.token = cv.stoken;
	res.len = cv.stoken_len;
	res.last_seq = 2;
	assert_non_null(s = tclient_connect(h));
	assert_non_null(env = people_hello(s, PEERD__V1__ROLE__SUPPORTER,
	    &cred, NULL, &res, 1));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);
	if (pane_wait(session, "Sam is back.", T_MS))
		goto out;

	pane_sh("tmux send-keys -t %s '/end' Enter", session);
	expect_end(s, cv.id, PEERD__V1__END_REASON__END_BY_REQUESTER);
	if (pane_wait(session, "You ended the conversation.", T_MS) ||
	    pane_wait(session, "/new to talk with another peer", T_MS))
		goto out;
	pane_sh("tmux send-keys -t %s '/quit' Enter", session);
	if (pane_wait(session, "you left. Take care.", T_MS))
		goto out;
	/* The shell writes the status once peer has exited. */
	assert_int_equal(status_file(status), 0);
	ok = 1;
out:
	pane_sh("tmux kill-session -t %s 2>/dev/null", session);
	tclient_free(s);
	if (!ok)
		fail_msg("interactive screen did not show what it should");
}

/*
 * Interactive supporter: signed in and available, an offer with its
 * countdown, /accept, the conversation, a second offer accepted by id,
 * the second conversation (unread mark, Tab to switch, a reply that
 * reaches only its requester, its end), /break (seen in Redis), and
 * Ctrl-C twice to leave, ending the conversation still open.
 */
static void
test_tty_supporter(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	struct pcred	 cred;
	struct tclient	*a = NULL, *b = NULL;
	Envelope	*env, *ma = NULL, *mb = NULL;
	char		 session[64], cpath[HARNESS_PATH], ga[64], gb[64];
	char		 id[32], text[160];
	int		 ok = 0;

	if (pane_sh("command -v tmux >/dev/null") != 0)
		skip();
	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set");
	cred_file(w, &cred, "sam-1", "Sam", "qx-lgbtq", 2, cpath,
	    sizeof cpath);
	snprintf(session, sizeof session, "peertests%d", (int)getpid());
	assert_int_equal(pane_sh("tmux new-session -d -s %s -x 100 -y 30 "
	    "'%sHOME=%s LANG=C.UTF-8 LC_ALL=C.UTF-8 %s --server 127.0.0.1:%d "
	    "--ca %s support --credential %s; sleep 60'", session,
	    pane_san_env(h->dir), h->dir, h->peer_bin, h->port, h->ca,
	    cpath), 0);
	if (pane_wait(session, "Signed in as Sam", T_MS) ||
	    pane_wait(session, "available", T_MS))
		goto out;
	assert_int_equal(redis_presence_wait(h, "sam-1", "status",
	    "available", T_MS), 0);
	assert_non_null(a = people_requester(w, NULL));
	assert_non_null(env = people_request(a, "qx-lgbtq", NULL, NULL, 0));
	frame_free(env);
	if (pane_wait(session, ": shares qx-lgbtq", T_MS) ||
	    pane_wait(session, "/accept or /decline (", T_MS))
		goto out;
	pane_sh("tmux send-keys -t %s '/accept' Enter", session);
	assert_non_null(ma = people_wait(a, "requester a",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, T_MS));
	if (pane_wait(session, "You are talking with guest-", T_MS) ||
	    pane_wait(session, "1/2", T_MS))
		goto out;
	pane_word(session, "You are talking with ", ga, sizeof ga);

	/* A second conversation: offered, accepted by id, told. */
	assert_non_null(b = people_requester(w, NULL));
	assert_non_null(env = people_request(b, NULL, NULL, NULL, 0));
	frame_free(env);
	if (pane_wait(session, ": shares no tags", T_MS))
		goto out;
	pane_word(session, "Offer ", id, sizeof id);
	assert_true(id[0] != '\0');
	pane_sh("tmux send-keys -t %s '/accept %s' Enter", session, id);
	assert_non_null(mb = people_wait(b, "requester b",
	    PEERD__V1__ENVELOPE__BODY_MATCHED, T_MS));
	if (pane_wait(session, "New conversation 2 with guest-", T_MS))
		goto out;
	pane_word(session, "New conversation 2 with ", gb, sizeof gb);
	snprintf(text, sizeof text, "[1:%s] 2:%s", ga, gb);
	if (pane_wait(session, text, T_MS))
		goto out;
	assert_int_equal(people_chat(b, mb->matched->conversation_id, 1,
	    "hello from the second", NULL), 0);
	snprintf(text, sizeof text, "2:%s*", gb);
	if (pane_wait(session, text, T_MS))
		goto out;
	expect_delivered(b, 1);
	pane_sh("tmux send-keys -t %s Tab", session);
	snprintf(text, sizeof text, "1:%s [2:%s]", ga, gb);
	if (pane_wait(session, text, T_MS))
		goto out;
	snprintf(text, sizeof text, "%s: hello from the second", gb);
	if (pane_wait(session, text, T_MS))
		goto out;
	pane_sh("tmux send-keys -t %s 'welcome' Enter", session);
	expect_chat(b, mb->matched->conversation_id, 2, "welcome");
	expect_no_chat(a, ma->matched->conversation_id);
	assert_int_equal(people_end(b, mb->matched->conversation_id), 0);
	snprintf(text, sizeof text, "%s ended the conversation.", gb);
	if (pane_wait(session, text, T_MS))
		goto out;

	pane_sh("tmux send-keys -t %s '/break' Enter", session);
	if (pane_wait(session, "on a break", T_MS))
		goto out;
	assert_int_equal(redis_presence_wait(h, "sam-1", "status",
	    "on_break", T_MS), 0);
	pane_sh("tmux send-keys -t %s C-c", session);
	if (pane_wait(session, "This ends your conversation", T_MS))
		goto out;
	pane_sh("tmux send-keys -t %s C-c", session);
	expect_end(a, ma->matched->conversation_id,
	    PEERD__V1__END_REASON__END_BY_SUPPORTER);
	if (pane_wait(session, "you left. Take care.", T_MS))
		goto out;
	ok = 1;
out:
	pane_sh("tmux kill-session -t %s 2>/dev/null", session);
	if (ma != NULL)
		frame_free(ma);
	if (mb != NULL)
		frame_free(mb);
	tclient_free(a);
	tclient_free(b);
	if (!ok)
		fail_msg("interactive screen did not show what it should");
}

#define T_TEST(f, conf)							\
	cmocka_unit_test_prestate_setup_teardown(f, setup, world_teardown, \
	    (void *)(conf))

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T_TEST(test_requester_lines, T_CONF),
		T_TEST(test_requester_resume, T_CONF),
		T_TEST(test_rate_limited, T_HELD1),
		T_TEST(test_requester_refused, T_CONF),
		T_TEST(test_resume_failed, T_GRACE10),
		T_TEST(test_connection_lost, T_GRACE1),
		T_TEST(test_timeout, T_CONF),
		T_TEST(test_exit_codes, T_CONF),
		T_TEST(test_supporter_lines, T_GRACE1),
		T_TEST(test_supporter_declines, T_CONF),
		T_TEST(test_tty_requester, T_HELD1),
		T_TEST(test_tty_supporter, T_CONF),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
