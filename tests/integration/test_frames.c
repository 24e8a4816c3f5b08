/*
 * test_frames.c -- hostile framing against a real peerd: lengths at, over
 * and far over the limits before and after Hello, zero lengths, bodies that
 * are not Envelopes, and plaintext on the TLS port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

#define MAX_HELLO	1024	/* bytes, max_frame_hello in this file */
#define MAX_FRAME	2048	/* bytes, max_frame in this file */
#define PAD_FIELD	999	/* an Envelope field number nobody uses */

#define CONF_FRAMES							\
	"max_frame_hello 1024\n"					\
	"max_frame 2048\n"						\
	"max_text 1000\n"						\
	"handshake_timeout 5\n"						\
	"hello_timeout 5\n"

static int
setup(void **state)
{
	return (harness_setup(state, 0, CONF_FRAMES));
}

/* Bytes a varint of v takes. */
static size_t
varint_len(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return (n);
}

/* Write v as a varint at p; returns the bytes written. */
static size_t
varint_put(uint8_t *p, uint64_t v)
{
	size_t	n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return (n);
}

/*
 * Send env as one frame whose body is exactly body_len bytes: env packed,
 * then an unknown length-delimited field of padding (which protobuf
 * ignores).
 */
static void
send_padded(struct raw_tls *t, const Envelope *env, size_t body_len)
{
	uint8_t		*buf, *p;
	size_t		 base, tag, vs, pad = 0;

	base = peerd__v1__envelope__get_packed_size(env);
	tag = varint_len(PAD_FIELD << 3 | 2);
	for (vs = 1; vs <= 3; vs++) {
		if (base + tag + vs > body_len)
			break;
		pad = body_len - base - tag - vs;
		if (varint_len(pad) == vs)
			break;
	}
	assert_true(vs <= 3 && base + tag + vs + pad == body_len);
	assert_non_null(buf = malloc(FRAME_HEADER + body_len));
	buf[0] = body_len >> 24;
	buf[1] = body_len >> 16;
	buf[2] = body_len >> 8;
	buf[3] = body_len;
	p = buf + FRAME_HEADER;
	p += peerd__v1__envelope__pack(env, p);
	p += varint_put(p, PAD_FIELD << 3 | 2);
	p += varint_put(p, pad);
	memset(p, 'x', pad);
	p += pad;
	assert_int_equal(p - buf, FRAME_HEADER + body_len);
	assert_int_equal(raw_tls_write(t, buf, FRAME_HEADER + body_len), 0);
	free(buf);
}

/* Send a requester Hello (id 1) on a raw connection. */
static void
raw_hello(struct raw_tls *t)
{
	struct peerclient_hello	h;

	peerclient_hello_init(&h, PEERD__V1__ROLE__REQUESTER, "tests/raw");
	assert_int_equal(raw_tls_send(t, peerclient_hello_envelope(&h, 1)), 0);
}

/* Open a raw TLS connection and complete Hello/Welcome on it. */
static struct raw_tls *
raw_ready(struct harness *h)
{
	struct raw_tls	*t;
	Envelope	*env;

	assert_non_null(t = raw_tls_connect(h->port, h->ca));
	raw_hello(t);
	assert_non_null(env = raw_tls_recv(t, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);
	return (t);
}

/* Expect Error{code, fatal} and then the connection closing. */
static void
expect_fatal(struct raw_tls *t, Peerd__V1__ErrorCode code)
{
	Envelope	*env;

	assert_non_null(env = raw_tls_recv(t, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code, code);
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(raw_tls_wait_closed(t, HARNESS_IO_MS), 0);
	assert_null(raw_tls_recv(t, 0));	/* nothing after the Error */
}

/* A Hello of exactly max_frame_hello bytes is accepted. */
static void
test_hello_at_limit(void **state)
{
	struct harness		*h = *state;
	struct raw_tls		*t;
	struct peerclient_hello	 hb;
	Envelope		*env;

	assert_non_null(t = raw_tls_connect(h->port, h->ca));
	peerclient_hello_init(&hb, PEERD__V1__ROLE__REQUESTER, "tests/pad");
	send_padded(t, peerclient_hello_envelope(&hb, 3), MAX_HELLO);
	assert_non_null(env = raw_tls_recv(t, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_equal(env->id, 3);
	frame_free(env);
	raw_tls_free(t);
}

/* Before Hello, a header declaring max_frame_hello + 1: BAD_FRAME, close. */
static void
test_hello_over_limit(void **state)
{
	struct harness	*h = *state;
	struct raw_tls	*t;

	assert_non_null(t = raw_tls_connect(h->port, h->ca));
	/* The body is never sent: peerd must decide from the header. */
	assert_int_equal(raw_tls_send_header(t, MAX_HELLO + 1), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_FRAME);
	raw_tls_free(t);
}

/* A header declaring 4 GiB - 1: BAD_FRAME and close, nothing awaited. */
static void
test_huge_length(void **state)
{
	struct harness	*h = *state;
	struct raw_tls	*t;

	assert_non_null(t = raw_tls_connect(h->port, h->ca));
	assert_int_equal(raw_tls_send_header(t, UINT32_MAX), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_FRAME);
	raw_tls_free(t);
	assert_true(harness_peerd_alive(h));
}

/* After Hello, a frame of exactly max_frame bytes is accepted. */
static void
test_frame_at_limit(void **state)
{
	struct harness		*h = *state;
	struct raw_tls		*t;
	Envelope		 e = PEERD__V1__ENVELOPE__INIT, *env;
	Peerd__V1__Ping		 ping = PEERD__V1__PING__INIT;

	t = raw_ready(h);
	ping.nonce = 4242;
	e.id = 2;
	e.body_case = PEERD__V1__ENVELOPE__BODY_PING;
	e.ping = &ping;
	send_padded(t, &e, MAX_FRAME);
	assert_non_null(env = raw_tls_recv(t, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_PONG);
	assert_int_equal(env->id, 2);
	assert_int_equal(env->pong->nonce, 4242);
	frame_free(env);
	raw_tls_free(t);
}

/* After Hello, a header declaring max_frame + 1: BAD_FRAME, close. */
static void
test_frame_over_limit(void **state)
{
	struct harness	*h = *state;
	struct raw_tls	*t;

	t = raw_ready(h);
	assert_int_equal(raw_tls_send_header(t, MAX_FRAME + 1), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_FRAME);
	raw_tls_free(t);
}

/* A frame declaring length 0: BAD_FRAME, close. */
static void
test_zero_length(void **state)
{
	struct harness	*h = *state;
	struct raw_tls	*t;

	assert_non_null(t = raw_tls_connect(h->port, h->ca));
	assert_int_equal(raw_tls_send_header(t, 0), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_FRAME);
	raw_tls_free(t);
}

/* A zero-length frame after Hello: BAD_FRAME, close. */
static void
test_zero_length_after_hello(void **state)
{
	struct harness	*h = *state;
	struct raw_tls	*t;

	t = raw_ready(h);
	assert_int_equal(raw_tls_send_header(t, 0), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_FRAME);
	raw_tls_free(t);
}

/* A body that is not an Envelope: BAD_MESSAGE, close. */
static void
test_bad_envelope(void **state)
{
	static const uint8_t	 junk[] = { 0, 0, 0, 8,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct harness		*h = *state;
	struct raw_tls		*t;

	assert_non_null(t = raw_tls_connect(h->port, h->ca));
	assert_int_equal(raw_tls_write(t, junk, sizeof junk), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_MESSAGE);
	raw_tls_free(t);
}

/* The same after Hello: BAD_MESSAGE, close. */
static void
test_bad_envelope_after_hello(void **state)
{
	/* Field 12 (error), length 50, but only 2 bytes follow. */
	static const uint8_t	 junk[] = { 0, 0, 0, 4, 12 << 3 | 2, 50, 1, 2 };
	struct harness		*h = *state;
	struct raw_tls		*t;

	t = raw_ready(h);
	assert_int_equal(raw_tls_write(t, junk, sizeof junk), 0);
	expect_fatal(t, PEERD__V1__ERROR_CODE__BAD_MESSAGE);
	raw_tls_free(t);
}

/* Plaintext HTTP on the TLS port is dropped; peerd keeps serving. */
static void
test_plaintext_on_tls_port(void **state)
{
	static const char	 req[] = "GET / HTTP/1.0\r\n\r\n";
	struct harness		*h = *state;
	struct tclient		*c;
	Envelope		*env;
	int64_t			 t0;
	int			 fd;

	assert_int_not_equal(fd = raw_tcp_connect(h->port), -1);
	assert_int_equal(raw_tcp_send(fd, req, sizeof req - 1), 0);
	t0 = harness_now_ms();
	/* handshake_timeout is 5 s: closing sooner means the bytes did it. */
	assert_int_equal(raw_tcp_wait_closed(fd, 3000), 0);
	assert_true(harness_now_ms() - t0 < 3000);
	close(fd);
	assert_int_equal(harness_log_wait(h, "event=tls_failed", 2000), 0);

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);
	tclient_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_at_limit, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_hello_over_limit, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_huge_length, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_frame_at_limit, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_frame_over_limit, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_after_hello,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_envelope, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_envelope_after_hello,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_plaintext_on_tls_port,
		    setup, harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
