/*
 * test_client.c -- libpeerclient against a real peerd: certificate and
 * host name verification, connect failures, frame limits both ways,
 * sending while connecting, graceful close.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "frame.h"
#include "harness.h"

#define CONF_CLIENT							\
	"max_frame 1024\n"						\
	"max_text 500\n"						\
	"tag client-test A description long enough to make the Welcome" \
	" bigger than sixty-four bytes\n"

static int
setup(void **state)
{
	return (harness_setup(state, 0, CONF_CLIENT));
}

/* Open with ca and name; expect the connection to fail with reason. */
static void
expect_refused(struct harness *h, const char *ca, const char *name,
    enum peerclient_reason reason)
{
	struct tclient	*c;

	assert_non_null(c = tclient_open(h->port, ca, name));
	assert_int_equal(tclient_wait_connected(c, HARNESS_IO_MS), -1);
	assert_true(tclient_closed(c));
	assert_int_equal(tclient_reason(c), reason);
	assert_true(strlen(tclient_detail(c)) > 0);
	tclient_free(c);
}

/* A server certificate from another CA is refused: TLS_VERIFY. */
static void
test_wrong_ca(void **state)
{
	struct harness	*h = *state;
	char		 other[HARNESS_PATH];
	struct tclient	*c;

	assert_int_equal(harness_make_ca(h, "other", other, sizeof other), 0);
	expect_refused(h, other, "localhost", PEERCLIENT_CLOSED_TLS_VERIFY);
	expect_refused(h, other, "127.0.0.1", PEERCLIENT_CLOSED_TLS_VERIFY);
	/* The right CA, same name, connects: the refusal was about the CA. */
	assert_non_null(c = tclient_open(h->port, h->ca, "localhost"));
	assert_int_equal(tclient_wait_connected(c, HARNESS_IO_MS), 0);
	tclient_free(c);
	assert_true(harness_peerd_alive(h));
}

/* A name the certificate does not carry is refused: TLS_VERIFY. */
static void
test_wrong_hostname(void **state)
{
	struct harness	*h = *state;

	expect_refused(h, h->ca, "wrong.example",
	    PEERCLIENT_CLOSED_TLS_VERIFY);
}

/* An IP address not in the certificate's SANs is refused. */
static void
test_wrong_ip(void **state)
{
	struct harness	*h = *state;

	expect_refused(h, h->ca, "10.9.8.7", PEERCLIENT_CLOSED_TLS_VERIFY);
}

/* The right CA with the name, or with the IP SAN 127.0.0.1, connects. */
static void
test_right_name_and_ip(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;

	assert_non_null(c = tclient_open(h->port, h->ca, "localhost"));
	assert_int_equal(tclient_wait_connected(c, HARNESS_IO_MS), 0);
	tclient_free(c);
	assert_non_null(c = tclient_open(h->port, h->ca, "127.0.0.1"));
	assert_int_equal(tclient_wait_connected(c, HARNESS_IO_MS), 0);
	tclient_free(c);
}

/* Nothing listening: CONNECT, not a TLS failure. */
static void
test_connect_refused(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;

	/* No Redis in this file: nothing listens on its port. */
	assert_false(harness_port_listening(h->redis_port));
	assert_non_null(c = tclient_open(h->redis_port, h->ca, "localhost"));
	assert_int_equal(tclient_wait_connected(c, HARNESS_IO_MS), -1);
	assert_int_equal(tclient_reason(c), PEERCLIENT_CLOSED_CONNECT);
	tclient_free(c);
}

/* A frame from peerd over the client's receive limit closes: FRAME. */
static void
test_receive_limit(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;

	assert_non_null(c = tclient_open(h->port, h->ca, NULL));
	assert_int_equal(peerclient_set_max_frame(tclient_pc(c), 64),
	    PEERCLIENT_OK);
	assert_int_equal(tclient_wait_connected(c, HARNESS_IO_MS), 0);
	assert_int_not_equal(tclient_send_hello(c,
	    PEERD__V1__ROLE__REQUESTER), 0);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	assert_int_equal(tclient_reason(c), PEERCLIENT_CLOSED_FRAME);
	assert_int_equal(tclient_queued(c), 0);
	tclient_free(c);
}

/* After Welcome, sends over limits.max_frame are refused locally. */
static void
test_send_limit_from_welcome(void **state)
{
	static char			 text[1500];
	struct harness			*h = *state;
	struct tclient			*c;
	Envelope			 e = PEERD__V1__ENVELOPE__INIT, *env;
	Peerd__V1__ChatMessage		 m = PEERD__V1__CHAT_MESSAGE__INIT;

	memset(text, 'a', sizeof text - 1);
	m.conversation_id = 1;
	m.client_msg_id = 1;
	m.text = text;
	e.id = 100;
	e.body_case = PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE;
	e.chat_message = &m;

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_equal(env->welcome->limits->max_frame, 1024);
	frame_free(env);
	assert_int_equal(peerclient_pending(tclient_pc(c)), 0);
	assert_int_equal(tclient_send(c, &e), PEERCLIENT_ERR_TOO_LARGE);
	assert_int_equal(peerclient_pending(tclient_pc(c)), 0);
	/* The connection is intact. */
	assert_int_not_equal(tclient_send_ping(c, 3), 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_PONG);
	frame_free(env);
	tclient_free(c);
}

/* A Hello sent before TLS is up is queued and answered. */
static void
test_send_while_connecting(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;
	uint64_t	 id;

	assert_non_null(c = tclient_open(h->port, h->ca, NULL));
	assert_false(peerclient_is_connected(tclient_pc(c)));
	assert_int_not_equal(id = tclient_send_hello(c,
	    PEERD__V1__ROLE__REQUESTER), 0);
	assert_true(peerclient_pending(tclient_pc(c)) > 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_equal(env->id, id);
	frame_free(env);
	tclient_free(c);
}

/* peerclient_close flushes what was sent, then reports LOCAL. */
static void
test_graceful_close(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	frame_free(env);
	assert_int_not_equal(tclient_send_ping(c, 77), 0);
	assert_int_equal(peerclient_close(tclient_pc(c)), PEERCLIENT_OK);
	assert_int_equal(peerclient_close(tclient_pc(c)), PEERCLIENT_ERR_STATE);
	assert_int_equal(peerclient_send_ping(tclient_pc(c), 9, 9),
	    PEERCLIENT_ERR_STATE);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	assert_int_equal(tclient_reason(c), PEERCLIENT_CLOSED_LOCAL);
	/* peerd got the Ping that was queued before the close. */
	assert_int_equal(harness_log_wait(h, "event=frame body=ping",
	    HARNESS_IO_MS), 0);
	tclient_free(c);
}

static int
setup_keepalive(void **state)
{
	return (harness_setup(state, 0, "keepalive 1\n"));
}

/*
 * Welcome says keepalive 1 s: a quiet client pings by itself, and the
 * Pongs answering it never reach the application.
 */
static void
test_keepalive_from_welcome(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_equal(env->welcome->limits->keepalive_s, 1);
	frame_free(env);
	assert_false(harness_log_contains(h, "event=frame body=ping"));
	assert_null(tclient_recv(c, 0, 1700));	/* no Pong surfaces */
	assert_int_equal(harness_log_wait(h, "event=frame body=ping", 1000),
	    0);
	assert_false(tclient_closed(c));
	tclient_free(c);
}

/* peerclient_set_keepalive(0) keeps a quiet client quiet. */
static void
test_keepalive_off(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;

	assert_non_null(c = tclient_connect(h));
	assert_int_equal(peerclient_set_keepalive(tclient_pc(c), 0),
	    PEERCLIENT_OK);
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	frame_free(env);
	assert_null(tclient_recv(c, 0, 1700));
	assert_false(harness_log_contains(h, "event=frame body=ping"));
	tclient_free(c);
}

/* What the direct-API test saw. */
struct direct {
	struct event_base	*base;
	int			 connected;
	int			 closed;
	enum peerclient_reason	 reason;
};

/* on_closed that frees its client from inside the callback. */
static void
direct_closed(struct peerclient *pc, enum peerclient_reason reason,
    const char *detail, void *arg)
{
	struct direct	*d = arg;

	(void)detail;
	d->closed = 1;
	d->reason = reason;
	peerclient_free(pc);
	event_base_loopbreak(d->base);
}

/*
 * A server that accepts TCP but never speaks TLS: the connect timeout
 * fires (TIMEOUT), and freeing the client inside on_closed is safe.
 */
static void
test_connect_timeout(void **state)
{
	struct peerclient_callbacks	 cb = { NULL, NULL, direct_closed,
	    NULL };
	struct harness			*h = *state;
	struct direct			 d;
	struct peerclient_tls		*tls;
	struct peerclient		*pc;
	struct sockaddr_in		 sin;
	socklen_t			 len = sizeof sin;
	struct timeval			 tv = { 3, 0 };
	char				 port[16];
	int64_t				 t0, dt;
	int				 lfd;

	/* The kernel completes TCP for a listener that never accepts. */
	assert_int_not_equal(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(port, sizeof port, "%d", ntohs(sin.sin_port));

	memset(&d, 0, sizeof d);
	assert_non_null(d.base = event_base_new());
	assert_non_null(tls = peerclient_tls_new(h->ca, NULL));
	assert_non_null(pc = peerclient_new(d.base, tls, &cb, &d));
	peerclient_tls_free(tls);	/* the client keeps its own reference */
	assert_int_equal(peerclient_set_connect_timeout(pc, 300),
	    PEERCLIENT_OK);
	assert_int_equal(peerclient_connect(pc, "127.0.0.1", port,
	    "localhost"), PEERCLIENT_OK);
	assert_int_equal(peerclient_connect(pc, "127.0.0.1", port,
	    "localhost"), PEERCLIENT_ERR_STATE);
	t0 = harness_now_ms();
	event_base_loopexit(d.base, &tv);
	event_base_dispatch(d.base);
	dt = harness_now_ms() - t0;
	assert_true(d.closed);
	assert_int_equal(d.reason, PEERCLIENT_CLOSED_TIMEOUT);
	assert_true(dt >= 250 && dt < 2000);
	event_base_free(d.base);
	close(lfd);
}

/* on_connected for the direct-API tests: stop the loop. */
static void
direct_connected(struct peerclient *pc, void *arg)
{
	struct direct	*d = arg;

	(void)pc;
	d->connected = 1;
	event_base_loopbreak(d->base);
}

/*
 * Connecting by name: "localhost" may resolve to ::1 first, where peerd
 * does not listen; the next address (127.0.0.1) must be tried.
 */
static void
test_connect_by_name(void **state)
{
	struct peerclient_callbacks	 cb = { direct_connected, NULL,
	    direct_closed, NULL };
	struct harness			*h = *state;
	struct direct			 d;
	struct peerclient_tls		*tls;
	struct peerclient		*pc;
	struct timeval			 tv = { 3, 0 };
	char				 port[16];

	memset(&d, 0, sizeof d);
	snprintf(port, sizeof port, "%d", h->port);
	assert_non_null(d.base = event_base_new());
	assert_non_null(tls = peerclient_tls_new(h->ca, NULL));
	assert_non_null(pc = peerclient_new(d.base, tls, &cb, &d));
	assert_int_equal(peerclient_connect(pc, "localhost", port, NULL),
	    PEERCLIENT_OK);
	event_base_loopexit(d.base, &tv);
	event_base_dispatch(d.base);
	if (d.closed)
		fail_msg("closed: %s", peerclient_reason_name(d.reason));
	assert_true(d.connected);
	assert_true(peerclient_is_connected(pc));
	peerclient_free(pc);
	peerclient_tls_free(tls);
	event_base_free(d.base);
}

/* The Hello builder packs what it was given. */
static void
test_hello_builder(void **state)
{
	static const uint8_t	 key[32] = { 1, 2, 3 };
	static const uint8_t	 cred[] = "credential-bytes";
	static const uint8_t	 tok[32] = { 7 };
	struct peerclient_hello	 hb;
	Envelope		*env, *out;
	uint8_t			 buf[2048];
	size_t			 n, used;
	int			 i;

	(void)state;
	peerclient_hello_init(&hb, PEERD__V1__ROLE__SUPPORTER, "peer/0.1");
	assert_int_equal(peerclient_hello_set_requester_key(&hb, key, 31),
	    PEERCLIENT_ERR_INVAL);
	assert_int_equal(peerclient_hello_set_requester_key(&hb, key, 32),
	    PEERCLIENT_OK);
	assert_int_equal(peerclient_hello_set_credential(&hb, cred,
	    sizeof cred), PEERCLIENT_OK);
	for (i = 0; i < PEERCLIENT_MAX_RESUME; i++)
		assert_int_equal(peerclient_hello_add_resume(&hb, tok,
		    sizeof tok, (uint64_t)i + 10), PEERCLIENT_OK);
	assert_int_equal(peerclient_hello_add_resume(&hb, tok, sizeof tok, 1),
	    PEERCLIENT_ERR_FULL);
	env = peerclient_hello_envelope(&hb, 42);
	n = frame_encode(env, FRAME_MAX_HARD, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(frame_decode(buf, n, FRAME_MAX_HARD, &out, &used),
	    FRAME_OK);
	assert_int_equal(out->id, 42);
	assert_int_equal(out->hello->protocol_version, 1);
	assert_int_equal(out->hello->role, PEERD__V1__ROLE__SUPPORTER);
	assert_string_equal(out->hello->client_name, "peer/0.1");
	assert_int_equal(out->hello->requester_key.len, 32);
	assert_memory_equal(out->hello->credential.data, cred, sizeof cred);
	assert_int_equal(out->hello->n_resume, PEERCLIENT_MAX_RESUME);
	i = PEERCLIENT_MAX_RESUME - 1;
	assert_int_equal(out->hello->resume[i]->last_seq, i + 10);
	frame_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_ca, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_hostname, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_ip, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_right_name_and_ip, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_receive_limit, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_send_limit_from_welcome,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_send_while_connecting,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_graceful_close, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_from_welcome,
		    setup_keepalive, harness_teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_off,
		    setup_keepalive, harness_teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_connect_by_name,
		    setup, harness_teardown),
		cmocka_unit_test(test_hello_builder),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
