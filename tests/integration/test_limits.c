/*
 * test_limits.c -- the daemon's limits on what one client may cost it:
 * connections in total and per address, the keepalive bound on silence,
 * a slow reader's output (max_output), backpressure from a receiver to
 * its sender and what frees a paused sender, and accept() out of file
 * descriptors.
 *
 * Each test runs its own peerd on 127.0.0.1.  A tclient reads its socket
 * only while the test calls into it, so a client the test leaves alone is
 * a client that has stopped reading.  Under HARNESS_SLOW (peerd under
 * valgrind) the waits scale; the tests built on a 1-2 s keepalive and the
 * descriptor test skip themselves.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

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
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "fault.h"
#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define ERR_(x)		PEERD__V1__ERROR_CODE__ ## x
#define STATE_(x)	PEERD__V1__PEER_STATE__ ## x

#define BIG_TEXT	200000	/* bytes of one large chat message */
#define BIG_N		120	/* large messages sent in a flood (24 MB,
				   well over what the kernel buffers) */
#define END_N		80	/* large messages held for a side that
				   returns (16 MB, over what the
				   kernel buffers) */
#define OVERFLOW	64	/* conn.c's CONN_OVERFLOW */
#define SLOW(ms)	((ms) * harness_slow())	/* a wait, scaled */

/* Large messages, no rate or held limit in the way. */
#define FLOOD_CONF \
	"max_frame 262144\nmax_text 200000\n" \
	"max_held_messages 100000\nmax_held_bytes 268435456\n" \
	"chat_rate 1000\nchat_burst 100000\n"

static int
setup_total(void **state)
{
	return (harness_setup(state, 0, "max_connections 3\n"));
}

static int
setup_per_addr(void **state)
{
	return (harness_setup(state, 0, "max_connections_per_addr 2\n"));
}

static int
setup_keepalive(void **state)
{
	return (harness_setup(state, 0, "keepalive 1\n"));
}

static int
setup_keepalive_world(void **state)
{
	return (world_setup_extra(state, "keepalive 2\n"));
}

/* max_output at its minimum: one byte over CONN_OUTPUT_HIGH (1 MiB). */
static int
setup_slow(void **state)
{
	return (world_setup_extra(state, FLOOD_CONF
	    "max_output 1048577\ngrace 30\n"));
}

/* No max_output in the way: only backpressure bounds the output. */
static int
setup_backpressure(void **state)
{
	return (world_setup_extra(state, FLOOD_CONF
	    "max_output 1073741824\n"));
}

/* As above, with the shortest idle_timeout (the write stall bound). */
static int
setup_stall(void **state)
{
	return (world_setup_extra(state, FLOOD_CONF
	    "max_output 1073741824\nidle_timeout 10\nkeepalive 5\n"
	    "grace 30\n"));
}

/* Room in max_output for a whole backlog of END_N messages. */
static int
setup_end_backlog(void **state)
{
	return (world_setup_extra(state, FLOOD_CONF
	    "max_output 33554432\ngrace 30\n"));
}

static int
setup_plain(void **state)
{
	return (harness_setup(state, 0, NULL));
}

/* Connect, say Hello as a requester; return the reply (Welcome, Error). */
static Envelope *
hello(struct harness *h, struct tclient **out)
{
	struct tclient	*c;
	Envelope	*env;

	*out = NULL;
	if ((c = tclient_connect(h)) == NULL)
		return (NULL);
	env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER, HARNESS_IO_MS);
	*out = c;
	return (env);
}

/* Expect a connection turned away: Error{TOO_MANY_CONNECTIONS}, close. */
static void
expect_too_many(struct harness *h, const char *words)
{
	struct tclient	*c;
	Envelope	*env;

	assert_non_null(c = tclient_connect(h));
	/* The Error comes right after the handshake, unasked. */
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, BODY_(ERROR));
	assert_int_equal(env->error->code, ERR_(TOO_MANY_CONNECTIONS));
	assert_true(env->error->fatal);
	if (words != NULL)
		assert_non_null(strstr(env->error->message, words));
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	tclient_free(c);
}

/* Expect a Welcome on a new connection; return the client and its id. */
static struct tclient *
expect_welcome(struct harness *h, uint64_t *id)
{
	struct tclient	*c;
	Envelope	*env;

	env = hello(h, &c);
	assert_non_null(env);
	assert_int_equal(env->body_case, BODY_(WELCOME));
	if (id != NULL)
		*id = env->welcome->connection_id;
	frame_free(env);
	return (c);
}

/* Close client c (connection id) and wait until peerd has freed it. */
static void
close_wait(struct harness *h, struct tclient *c, uint64_t id)
{
	char	needle[64];

	tclient_free(c);
	snprintf(needle, sizeof needle, "conn=%llu event=closed",
	    (unsigned long long)id);
	assert_int_equal(harness_log_wait(h, needle, HARNESS_IO_MS), 0);
}

/*
 * max_connections 3: the fourth is told TOO_MANY_CONNECTIONS and closed;
 * once one leaves there is room again.
 */
static void
test_limits_total(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c[3];
	uint64_t	 id[3];
	int		 i;

	for (i = 0; i < 3; i++)
		c[i] = expect_welcome(h, &id[i]);
	expect_too_many(h, NULL);
	assert_true(harness_log_contains(h, "code=too_many_connections"));
	close_wait(h, c[0], id[0]);
	c[0] = expect_welcome(h, NULL);
	for (i = 0; i < 3; i++)
		tclient_free(c[i]);
	assert_true(harness_peerd_alive(h));
}

/*
 * Connect from source address src (any 127/8 address reaches 127.0.0.1),
 * finish TLS, send Hello as a requester and return the first frame
 * peerd sends, or NULL.  Blocking I/O bounded by socket timeouts.
 */
static Envelope *
hello_from(struct harness *h, const char *src)
{
	Peerd__V1__Hello	 hl = PEERD__V1__HELLO__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT, *reply = NULL;
	struct sockaddr_in	 sin;
	struct timeval		 tv = { HARNESS_IO_MS / 1000, 0 };
	SSL_CTX			*ctx = NULL;
	SSL			*ssl = NULL;
	uint8_t			 buf[16384];
	size_t			 have = 0, used, n;
	int			 fd, r;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (NULL);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, src, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		goto out;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sin.sin_port = htons(h->port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		goto out;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(ctx, h->ca, NULL) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((ssl = SSL_new(ctx)) == NULL ||
	    SSL_set1_host(ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(ssl, "localhost") != 1 ||
	    SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
		goto out;
	hl.protocol_version = 1;
	hl.role = PEERD__V1__ROLE__REQUESTER;
	hl.client_name = (char *)"test_limits";
	env.id = 1;
	env.body_case = BODY_(HELLO);
	env.hello = &hl;
	if ((n = frame_encode(&env, sizeof buf, buf, sizeof buf)) == 0 ||
	    SSL_write(ssl, buf, (int)n) != (int)n)
		goto out;
	for (;;) {
		if (frame_decode(buf, have, FRAME_MAX_HARD, &reply, &used) ==
		    FRAME_OK || have == sizeof buf)
			break;
		if ((r = SSL_read(ssl, buf + have, sizeof buf - have)) <= 0)
			break;
		have += (size_t)r;
	}
out:
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return (reply);
}

/*
 * max_connections_per_addr 2: a third connection from 127.0.0.1 is told
 * TOO_MANY_CONNECTIONS (naming the address); 127.0.0.2 is counted apart;
 * a connection that closes is no longer counted; far over the limit,
 * connections are closed at accept.
 */
static void
test_limits_per_addr(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c[2];
	Envelope	*env;
	uint64_t	 id0;
	int		 fds[OVERFLOW + 1], i;

	for (i = 0; i < 2; i++)
		c[i] = expect_welcome(h, i == 0 ? &id0 : NULL);
	expect_too_many(h, "from your address");
	/* Another address still gets in. */
	assert_non_null(env = hello_from(h, "127.0.0.2"));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	/* A closed connection is no longer counted. */
	close_wait(h, c[0], id0);
	c[0] = expect_welcome(h, NULL);
	/*
	 * With 2 open, OVERFLOW more from the address are accepted (and
	 * would be told TOO_MANY_CONNECTIONS); the next is closed at once.
	 */
	for (i = 0; i <= OVERFLOW; i++)
		assert_int_not_equal(fds[i] = raw_tcp_connect(h->port), -1);
	assert_int_equal(harness_log_wait(h,
	    "event=refused reason=max_connections_per_addr", HARNESS_IO_MS),
	    0);
	assert_int_equal(raw_tcp_wait_closed(fds[OVERFLOW], HARNESS_IO_MS),
	    0);
	assert_int_equal(raw_tcp_wait_closed(fds[OVERFLOW - 1], 300), -1);
	assert_int_equal(harness_log_count(h,
	    "reason=max_connections_per_addr"), 1);
	for (i = 0; i <= OVERFLOW; i++)
		close(fds[i]);
	for (i = 0; i < 2; i++)
		tclient_free(c[i]);
	assert_true(harness_peerd_alive(h));
}

/*
 * keepalive 1: a client that sends nothing after Welcome is dropped with
 * TIMEOUT after 1.5 x keepalive, at least keepalive + 1 s (2 s here), not
 * after idle_timeout (300 s).
 */
static void
test_limits_keepalive_silent(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;
	int64_t		 t0, dt;

	assert_non_null(c = tclient_connect(h));
	assert_int_equal(peerclient_set_keepalive(tclient_pc(c), 0),
	    PEERCLIENT_OK);
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	assert_int_equal(env->welcome->limits->keepalive_s, 1);
	frame_free(env);
	t0 = harness_now_ms();
	assert_non_null(env = tclient_recv(c, 0, SLOW(6000)));
	dt = harness_now_ms() - t0;
	assert_int_equal(env->body_case, BODY_(ERROR));
	assert_int_equal(env->error->code, ERR_(TIMEOUT));
	assert_true(env->error->fatal);
	frame_free(env);
	assert_true(dt >= 1500);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	tclient_free(c);
	assert_true(harness_log_contains(h, "code=timeout fatal=1"));
}

/* keepalive 1: a client that pings as Welcome asks keeps its connection. */
static void
test_limits_keepalive_ping_kept(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;

	harness_skip_if_slow("a 2 s keepalive bound is too short under it");
	c = expect_welcome(h, NULL);
	/* libpeerclient pings every second while the test waits on it. */
	assert_null(tclient_recv(c, 0, 4500));
	assert_false(tclient_closed(c));
	assert_true(harness_log_contains(h, "event=frame body=ping"));
	assert_false(harness_log_contains(h, "code=timeout"));
	assert_int_not_equal(tclient_send_ping(c, 7), 0);
	assert_non_null(env = tclient_recv(c, BODY_(PONG), HARNESS_IO_MS));
	assert_int_equal(env->pong->nonce, 7);
	frame_free(env);
	tclient_free(c);
}

/* Connect as a requester and return the client and its connection id. */
static struct tclient *
requester_id(struct world *w, uint64_t *id)
{
	struct tclient	*c;
	Envelope	*env;

	if ((c = tclient_connect(w->h)) == NULL)
		return (NULL);
	env = people_hello(c, PEERD__V1__ROLE__REQUESTER, NULL, NULL, NULL, 0);
	if (env == NULL || env->body_case != BODY_(WELCOME)) {
		frame_free(env);
		tclient_free(c);
		return (NULL);
	}
	*id = env->welcome->connection_id;
	frame_free(env);
	return (c);
}

/* A requester matched with a supporter. */
struct pair {
	struct tclient	*r, *s;
	uint64_t	 rid;		/* the requester's connection id */
	struct pconv	 cv;
};

/* Match a new requester with a new available supporter (credential sup). */
static void
pair_up(struct world *w, const char *sup, struct pair *p)
{
	struct pcred	cred;

	assert_int_equal(world_cred(w, &cred, sup, NULL, 1, 0), 0);
	assert_non_null(p->s = people_supporter_available(w, &cred));
	assert_non_null(p->r = requester_id(w, &p->rid));
	assert_int_equal(people_match(p->r, p->s, NULL, NULL, &p->cv), 0);
}

/*
 * Connect a new requester resuming conv from seq 0; expect Welcome, then
 * Matched{resumed} within timeout_ms.  Returns the client.
 */
static struct tclient *
resume_requester(struct world *w, const struct pconv *cv, int timeout_ms)
{
	struct presume	 res = { cv->rtoken, cv->rtoken_len, 0 };
	struct tclient	*c;
	Envelope	*env;

	assert_non_null(c = tclient_connect(w->h));
	assert_non_null(env = people_hello(c, PEERD__V1__ROLE__REQUESTER,
	    NULL, NULL, &res, 1));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait(c, "requester", BODY_(MATCHED),
	    timeout_ms));
	assert_true(env->matched->resumed);
	frame_free(env);
	return (c);
}

/* Assert env is PeerStatus{state} for conv, and free it. */
static void
status_is(Envelope *env, uint64_t conv, int state)
{
	assert_non_null(env);
	assert_int_equal(env->peer_status->conversation_id, conv);
	assert_int_equal(env->peer_status->state, state);
	frame_free(env);
}

/* Expect PeerStatus{state} for conv on c. */
static void
expect_status(struct tclient *c, uint64_t conv, int state, int timeout_ms)
{
	status_is(people_wait(c, "supporter", BODY_(PEER_STATUS), timeout_ms),
	    conv, state);
}

/*
 * Expect PeerStatus{state} for conv on c within timeout_ms, c pinging
 * twice a second meanwhile (libpeerclient's own keepalive skips a tick
 * after the application sent something, which may leave it silent for
 * almost twice keepalive).
 */
static void
expect_status_pinging(struct tclient *c, uint64_t conv, int state,
    int timeout_ms)
{
	Envelope	*env = NULL;
	int64_t		 end = harness_now_ms() + timeout_ms;

	while (env == NULL && harness_now_ms() < end) {
		assert_int_not_equal(tclient_send_ping(c, 0), 0);
		env = tclient_recv(c, BODY_(PEER_STATUS), 500);
	}
	if (env == NULL)
		people_dump(c, "supporter");
	status_is(env, conv, state);
}

/*
 * A requester in a conversation falls silent (keepalive 2): it is dropped
 * with TIMEOUT, the supporter is told PEER_RECONNECTING as for any drop,
 * and the requester can resume within grace.
 */
static void
test_limits_keepalive_grace(void **state)
{
	struct world	*w = *state;
	struct pair	 p;
	struct tclient	*r2;
	char		 needle[64];

	harness_skip_if_slow("a 3 s keepalive bound is too short under it");
	pair_up(w, "sup-ka", &p);
	assert_int_equal(peerclient_set_keepalive(tclient_pc(p.r), 0),
	    PEERCLIENT_OK);
	/* s pings while the test waits on it; r is left alone. */
	expect_status_pinging(p.s, p.cv.id, STATE_(PEER_RECONNECTING), 8000);
	snprintf(needle, sizeof needle, "conn=%llu event=error code=timeout",
	    (unsigned long long)p.rid);
	assert_true(harness_log_contains(w->h, needle));
	tclient_free(p.r);

	r2 = resume_requester(w, &p.cv, PEOPLE_PUSH_MS);
	expect_status_pinging(p.s, p.cv.id, STATE_(PEER_RESUMED),
	    PEOPLE_PUSH_MS);
	assert_int_equal(harness_log_count(w->h, "code=timeout"), 1);
	tclient_free(r2);
	tclient_free(p.s);
}

/* Fill text with BIG_TEXT bytes telling message i apart. */
static void
big_text(char *text, int i)
{
	memset(text, 'a' + i % 26, BIG_TEXT);
	text[BIG_TEXT] = '\0';
}

/* A requester matched with a supporter who floods it. */
struct flood {
	struct pair	 p;
	uint64_t	 ids[BIG_N];	/* envelope ids of the messages */
	uint64_t	 seq;		/* last seq accepted */
};

/*
 * Match a new requester with a new supporter (credential sup) and send
 * BIG_N large messages from the supporter without waiting.
 */
static void
flood_start(struct world *w, const char *sup, struct flood *f)
{
	char	*text;
	int	 i;

	pair_up(w, sup, &f->p);
	f->seq = 0;
	assert_non_null(text = malloc(BIG_TEXT + 1));
	for (i = 0; i < BIG_N; i++) {
		big_text(text, i);
		assert_int_not_equal(f->ids[i] = people_chat_send(f->p.s,
		    f->p.cv.id, i + 1, text), 0);
	}
	free(text);
}

/*
 * Take MessageAccepted for ids[from..BIG_N) from the supporter in order,
 * each within timeout_ms; check the seqs rise.  Returns how many came.
 */
static int
accepted(struct flood *f, int from, int timeout_ms)
{
	Envelope	*env;
	int		 i;

	for (i = from; i < BIG_N; i++) {
		if ((env = tclient_recv_id(f->p.s, f->ids[i], timeout_ms)) ==
		    NULL)
			break;
		assert_int_equal(env->body_case, BODY_(MESSAGE_ACCEPTED));
		assert_true(env->message_accepted->seq > f->seq);
		f->seq = env->message_accepted->seq;
		frame_free(env);
	}
	return (i);
}

/*
 * Start a flood the requester does not read: the supporter's messages are
 * accepted until the requester's output is full, then (within timeout_ms
 * each) no more.  Returns how many were accepted.
 */
static int
flood_paused(struct world *w, const char *sup, struct flood *f,
    int timeout_ms)
{
	int	n;

	flood_start(w, sup, f);
	n = accepted(f, 0, timeout_ms);
	assert_true(n < BIG_N);
	return (n);
}

/*
 * Read the BIG_N messages on r, in order, each whole; while none is there,
 * let s write what it still has (its loop only runs when called).
 */
static void
read_flood(struct tclient *r, struct tclient *s, uint64_t conv)
{
	Envelope	*env;
	uint64_t	 seq = 0;
	int64_t		 end = harness_now_ms() + SLOW(60000);
	int		 i = 0;

	while (i < BIG_N && harness_now_ms() < end) {
		if ((env = tclient_recv(r, BODY_(CHAT_MESSAGE), 100)) ==
		    NULL) {
			if (s != NULL)
				tclient_flush(s, 100);
			continue;
		}
		assert_int_equal(env->chat_message->conversation_id, conv);
		assert_true(env->chat_message->seq > seq);
		seq = env->chat_message->seq;
		assert_int_equal(strlen(env->chat_message->text), BIG_TEXT);
		assert_int_equal(env->chat_message->text[0], 'a' + i % 26);
		frame_free(env);
		i++;
	}
	if (i < BIG_N)
		fprintf(stderr, "read_flood: %d of %d messages\n", i, BIG_N);
	assert_int_equal(i, BIG_N);
}

/*
 * max_output just over 1 MiB: a requester that stops reading while the
 * supporter floods it is dropped (slow_reader_dropped), the supporter is
 * told PEER_RECONNECTING and every message of its is accepted; the
 * requester resumes and gets all of them, in order, once.
 */
static void
test_limits_slow_reader(void **state)
{
	struct world	*w = *state;
	struct flood	 f;
	struct tclient	*r2;
	char		 needle[64];

	flood_start(w, "sup-slow", &f);
	snprintf(needle, sizeof needle, "conn=%llu event=slow_reader_dropped",
	    (unsigned long long)f.p.rid);
	/* s's loop writes the flood while the test waits on it. */
	assert_int_equal(accepted(&f, 0, SLOW(10000)), BIG_N);
	assert_int_equal(harness_log_wait(w->h, needle, HARNESS_IO_MS), 0);
	expect_status(f.p.s, f.p.cv.id, STATE_(PEER_RECONNECTING),
	    SLOW(PEOPLE_PUSH_MS));
	snprintf(needle, sizeof needle, "conn=%llu event=closed "
	    "reason=slow_reader", (unsigned long long)f.p.rid);
	assert_true(harness_log_contains(w->h, needle));
	tclient_free(f.p.r);

	r2 = resume_requester(w, &f.p.cv, SLOW(PEOPLE_PUSH_MS));
	/* 24 MB held: the resume is paced, r2 reads, nobody is dropped. */
	read_flood(r2, NULL, f.p.cv.id);
	assert_int_equal(harness_log_count(w->h, "event=slow_reader_dropped"),
	    1);
	expect_status(f.p.s, f.p.cv.id, STATE_(PEER_RESUMED),
	    SLOW(PEOPLE_PUSH_MS));
	tclient_free(r2);
	tclient_free(f.p.s);
}

/*
 * The supporter ends the conversation while the requester, back from a
 * drop, still has a backlog (16 MB held for it, sent at most 1 MiB at a
 * time as it reads): what was accepted is still delivered, all of it, in
 * order, before the EndConversation.
 */
static void
test_limits_end_with_backlog(void **state)
{
	struct world	*w = *state;
	struct pair	 p;
	struct tclient	*r2;
	Envelope	*env;
	char		*text;
	uint64_t	 seq = 0;
	int		 i, n = 0;

	pair_up(w, "sup-end", &p);
	tclient_free(p.r);
	expect_status(p.s, p.cv.id, STATE_(PEER_RECONNECTING),
	    SLOW(PEOPLE_PUSH_MS));
	assert_non_null(text = malloc(BIG_TEXT + 1));
	for (i = 0; i < END_N; i++) {
		big_text(text, i);
		assert_int_equal(people_chat(p.s, p.cv.id, i + 1, text, NULL),
		    0);
	}
	free(text);
	r2 = resume_requester(w, &p.cv, SLOW(PEOPLE_PUSH_MS));
	assert_int_equal(people_end(p.s, p.cv.id), 0);

	while ((env = tclient_recv(r2, 0, SLOW(PEOPLE_PUSH_MS))) != NULL) {
		if (env->body_case == BODY_(END_CONVERSATION)) {
			frame_free(env);
			break;
		}
		if (env->body_case == BODY_(CHAT_MESSAGE)) {
			assert_true(env->chat_message->seq > seq);
			seq = env->chat_message->seq;
			assert_int_equal(env->chat_message->text[0],
			    'a' + n % 26);
			n++;
		}
		frame_free(env);
	}
	assert_non_null(env);
	assert_int_equal(n, END_N);
	tclient_free(r2);
	tclient_free(p.s);
}

/*
 * Backpressure: the supporter floods a requester that does not read; the
 * supporter stops being read (its later messages are not accepted) while
 * the requester's output is over the mark, and goes on as the requester
 * reads.  Nothing is dropped, everything arrives in order.
 */
static void
test_limits_backpressure(void **state)
{
	struct world	*w = *state;
	struct flood	 f;
	char		 needle[80];
	int		 n;

	n = flood_paused(w, "sup-bp", &f, SLOW(3000));
	snprintf(needle, sizeof needle, "event=read_paused "
	    "reason=receiver_output receiver=%llu",
	    (unsigned long long)f.p.rid);
	assert_true(harness_log_contains(w->h, needle));
	/* The requester reads: the supporter goes on. */
	read_flood(f.p.r, f.p.s, f.p.cv.id);
	assert_int_equal(accepted(&f, n, SLOW(PEOPLE_PUSH_MS)), BIG_N);
	assert_true(harness_log_contains(w->h, "event=read_resumed"));
	assert_false(harness_log_contains(w->h, "event=slow_reader_dropped"));
	assert_false(tclient_closed(f.p.r));
	assert_false(tclient_closed(f.p.s));
	tclient_free(f.p.r);
	tclient_free(f.p.s);
}

/*
 * A sender paused by a receiver that never reads again is not stuck: the
 * receiver's output makes no progress for idle_timeout (10 s), it is
 * closed (write_timeout), the supporter is told PEER_RECONNECTING and the
 * rest of its messages are accepted (held for the requester).
 */
static void
test_limits_paused_sender_freed(void **state)
{
	struct world	*w = *state;
	struct flood	 f;
	char		 needle[64];
	int		 n;

	/* Not scaled: it must stay below idle_timeout (10 s). */
	n = flood_paused(w, "sup-stall", &f, 3000);
	/* Paused; then freed by the requester's write timeout. */
	expect_status(f.p.s, f.p.cv.id, STATE_(PEER_RECONNECTING),
	    SLOW(20000));
	snprintf(needle, sizeof needle, "conn=%llu event=closed "
	    "reason=write_timeout", (unsigned long long)f.p.rid);
	assert_true(harness_log_contains(w->h, needle));
	assert_int_equal(accepted(&f, n, SLOW(PEOPLE_PUSH_MS)), BIG_N);
	tclient_free(f.p.r);
	tclient_free(f.p.s);
}

/*
 * Out of descriptors (peerd's RLIMIT_NOFILE lowered under it), accept()
 * fails with EMFILE: peerd stops accepting for a second at a time instead
 * of spinning on the readable socket, keeps serving, and accepts again
 * once descriptors are back.
 */
static void
test_limits_emfile_backoff(void **state)
{
	struct harness	*h = *state;
	struct rlimit	 old;
	struct tclient	*c;
	Envelope	*env;
	int		 fds[8], i, n;

	harness_skip_if_slow("valgrind keeps descriptors of its own");
	c = expect_welcome(h, NULL);
	assert_true((n = fault_starve_fds(h, &old, fds, 7)) > 0);
	/*
	 * accept() fails as soon as no descriptor is left, queue or not;
	 * one more waits in the kernel's queue, so each resume fails anew.
	 */
	assert_int_not_equal(fds[n++] = raw_tcp_connect(h->port), -1);
	/* 2.5 s out of descriptors: a few tries, not thousands. */
	harness_msleep(2500);
	i = harness_log_count(h, "event=accept_failed");
	assert_true(i >= 2);
	assert_true(i <= 6);
	assert_true(harness_log_contains(h, "action=pause_1s"));
	/* The connection already open is served meanwhile. */
	assert_int_not_equal(tclient_send_ping(c, 1), 0);
	assert_non_null(env = tclient_recv(c, BODY_(PONG), HARNESS_IO_MS));
	frame_free(env);
	fault_unstarve_fds(h, &old, fds, n);
	tclient_free(c);
	c = expect_welcome(h, NULL);
	assert_true(harness_log_contains(h, "event=accept_resumed"));
	tclient_free(c);
	assert_true(harness_peerd_alive(h));
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_setup_teardown(test_limits_total,
		    setup_total, harness_teardown),
		cmocka_unit_test_setup_teardown(test_limits_per_addr,
		    setup_per_addr, harness_teardown),
		cmocka_unit_test_setup_teardown(test_limits_keepalive_silent,
		    setup_keepalive, harness_teardown),
		cmocka_unit_test_setup_teardown(test_limits_keepalive_ping_kept,
		    setup_keepalive, harness_teardown),
		cmocka_unit_test_setup_teardown(test_limits_keepalive_grace,
		    setup_keepalive_world, world_teardown),
		cmocka_unit_test_setup_teardown(test_limits_slow_reader,
		    setup_slow, world_teardown),
		cmocka_unit_test_setup_teardown(test_limits_end_with_backlog,
		    setup_end_backlog, world_teardown),
		cmocka_unit_test_setup_teardown(test_limits_backpressure,
		    setup_backpressure, world_teardown),
		cmocka_unit_test_setup_teardown(test_limits_paused_sender_freed,
		    setup_stall, world_teardown),
		cmocka_unit_test_setup_teardown(test_limits_emfile_backoff,
		    setup_plain, harness_teardown),
	};

	const char		*only = getenv("TEST_LIMITS_ONLY");

	if (only != NULL && *only != '\0')
		cmocka_set_test_filter(only);	/* e.g. "*emfile*" */
	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
