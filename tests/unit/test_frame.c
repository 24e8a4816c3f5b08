/*
 * test_frame.c -- the frame codec (proto/frame.c) against hostile lengths,
 * truncation, garbage and evbuffer corner cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "frame.h"

#define TEST_BUF	4096	/* bytes, scratch space for one frame */

/* Put a big-endian length at p. */
static void
put_len(uint8_t *p, uint32_t n)
{
	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
}

/* Fill env with a Ping carrying nonce, under request id id. */
static void
make_ping(Envelope *env, Peerd__V1__Ping *ping, uint64_t id, uint64_t nonce)
{
	static const Envelope		e = PEERD__V1__ENVELOPE__INIT;
	static const Peerd__V1__Ping	p = PEERD__V1__PING__INIT;

	*env = e;
	*ping = p;
	ping->nonce = nonce;
	env->id = id;
	env->body_case = PEERD__V1__ENVELOPE__BODY_PING;
	env->ping = ping;
}

/* Encode a ping frame into out; returns its length. */
static size_t
ping_frame(uint8_t *out, size_t outlen, uint64_t id, uint64_t nonce)
{
	Envelope		env;
	Peerd__V1__Ping		ping;
	size_t			n;

	make_ping(&env, &ping, id, nonce);
	n = frame_encode(&env, FRAME_MAX_HARD, out, outlen);
	assert_true(n > FRAME_HEADER);
	return (n);
}

/* A body of exactly max bytes is accepted; the header carries its length. */
static void
test_exact_limit(void **state)
{
	uint8_t		 buf[TEST_BUF];
	Envelope	*env;
	size_t		 n, used, body;
	uint32_t	 len;

	(void)state;
	n = ping_frame(buf, sizeof buf, 7, 0x1122334455667788ULL);
	body = n - FRAME_HEADER;
	assert_int_equal(frame_header_check(buf, n, body, &len), FRAME_OK);
	assert_int_equal(len, body);
	assert_int_equal(frame_decode(buf, n, body, &env, &used), FRAME_OK);
	assert_non_null(env);
	assert_int_equal(used, n);
	assert_int_equal(env->id, 7);
	frame_free(env);
}

/* A body one byte over the limit is refused, decoding and encoding. */
static void
test_limit_plus_one(void **state)
{
	uint8_t		 buf[TEST_BUF], out[TEST_BUF];
	Envelope	 e, *env = (Envelope *)1;
	Peerd__V1__Ping	 ping;
	size_t		 n, used = 99, body;
	uint32_t	 len;

	(void)state;
	n = ping_frame(buf, sizeof buf, 7, 42);
	body = n - FRAME_HEADER;
	assert_int_equal(frame_header_check(buf, n, body - 1, &len),
	    FRAME_TOO_LARGE);
	assert_int_equal(frame_decode(buf, n, body - 1, &env, &used),
	    FRAME_TOO_LARGE);
	assert_null(env);
	assert_int_equal(used, 99);

	make_ping(&e, &ping, 7, 42);
	assert_int_equal(frame_encode(&e, body - 1, out, sizeof out), 0);
	assert_int_equal(frame_encode(&e, body, out, sizeof out), n);
	assert_memory_equal(out, buf, n);
}

/* A declared length of zero is FRAME_EMPTY, never an empty envelope. */
static void
test_zero_length(void **state)
{
	uint8_t			 buf[8] = { 0, 0, 0, 0, 1, 2, 3, 4 };
	struct evbuffer		*eb;
	Envelope		*env = (Envelope *)1;
	size_t			 used;

	(void)state;
	assert_int_equal(frame_decode(buf, sizeof buf, 1024, &env, &used),
	    FRAME_EMPTY);
	assert_null(env);

	assert_non_null(eb = evbuffer_new());
	assert_int_equal(evbuffer_add(eb, buf, FRAME_HEADER), 0);
	env = (Envelope *)1;
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_EMPTY);
	assert_null(env);
	evbuffer_free(eb);
}

/* Fewer than four header bytes is always "need more". */
static void
test_truncated_header(void **state)
{
	uint8_t		 buf[TEST_BUF];
	Envelope	*env;
	size_t		 used, i;
	uint32_t	 len;

	(void)state;
	ping_frame(buf, sizeof buf, 1, 2);
	for (i = 0; i < FRAME_HEADER; i++) {
		env = (Envelope *)1;
		assert_int_equal(frame_header_check(buf, i, 1024, &len),
		    FRAME_NEED_MORE);
		assert_int_equal(frame_decode(buf, i, 1024, &env, &used),
		    FRAME_NEED_MORE);
		assert_null(env);
	}
}

/* Every prefix of a frame short of its end is "need more". */
static void
test_truncated_body(void **state)
{
	uint8_t		 buf[TEST_BUF];
	Envelope	*env;
	size_t		 n, used, i;

	(void)state;
	n = ping_frame(buf, sizeof buf, 1, 0xdeadbeefULL);
	for (i = FRAME_HEADER; i < n; i++) {
		env = (Envelope *)1;
		assert_int_equal(frame_decode(buf, i, 1024, &env, &used),
		    FRAME_NEED_MORE);
		assert_null(env);
	}
	assert_int_equal(frame_decode(buf, n, 1024, &env, &used), FRAME_OK);
	frame_free(env);
}

/* Bytes that are not an Envelope are FRAME_BAD with nothing returned. */
static void
test_garbage(void **state)
{
	uint8_t			 buf[FRAME_HEADER + 8];
	struct evbuffer		*eb;
	Envelope		*env = (Envelope *)1;
	size_t			 used;

	(void)state;
	put_len(buf, 8);
	memset(buf + FRAME_HEADER, 0xff, 8);	/* an unterminated varint tag */
	assert_int_equal(frame_decode(buf, sizeof buf, 1024, &env, &used),
	    FRAME_BAD);
	assert_null(env);

	/* Field 10 (hello), wire type 2, declaring 100 bytes it lacks. */
	put_len(buf, 3);
	buf[4] = 10 << 3 | 2;
	buf[5] = 100;
	buf[6] = 0;
	env = (Envelope *)1;
	assert_int_equal(frame_decode(buf, FRAME_HEADER + 3, 1024, &env,
	    &used), FRAME_BAD);
	assert_null(env);

	assert_non_null(eb = evbuffer_new());
	put_len(buf, 8);
	memset(buf + FRAME_HEADER, 0xff, 8);
	assert_int_equal(evbuffer_add(eb, buf, sizeof buf), 0);
	env = (Envelope *)1;
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_BAD);
	assert_null(env);
	evbuffer_free(eb);
}

/*
 * A header declaring ~4 GiB is refused from the header alone: not "need
 * more" (which would wait for 4 GiB), and not even under a huge limit.
 */
static void
test_4gib_length(void **state)
{
	uint8_t			 buf[FRAME_HEADER] = { 0xff, 0xff, 0xff, 0xff };
	struct evbuffer		*eb;
	Envelope		*env = (Envelope *)1;
	size_t			 used;
	uint32_t		 len;

	(void)state;
	assert_int_equal(frame_header_check(buf, sizeof buf, SIZE_MAX, &len),
	    FRAME_TOO_LARGE);
	assert_int_equal(frame_decode(buf, sizeof buf, SIZE_MAX, &env, &used),
	    FRAME_TOO_LARGE);
	assert_null(env);

	put_len(buf, FRAME_MAX_HARD + 1);
	assert_int_equal(frame_header_check(buf, sizeof buf, SIZE_MAX, &len),
	    FRAME_TOO_LARGE);
	put_len(buf, FRAME_MAX_HARD);
	assert_int_equal(frame_header_check(buf, sizeof buf, SIZE_MAX, &len),
	    FRAME_OK);
	assert_int_equal(len, FRAME_MAX_HARD);

	assert_non_null(eb = evbuffer_new());
	memset(buf, 0xff, sizeof buf);
	assert_int_equal(evbuffer_add(eb, buf, sizeof buf), 0);
	env = (Envelope *)1;
	assert_int_equal(frame_read(eb, SIZE_MAX, &env), FRAME_TOO_LARGE);
	assert_null(env);
	evbuffer_free(eb);
}

/* A Hello with every kind of field survives encode and decode intact. */
static void
test_round_trip(void **state)
{
	static const uint8_t	 cred[] = { 0, 1, 2, 0xfe, 0xff };
	static const uint8_t	 token[32] = { 9, 8, 7 };
	Envelope		 e = PEERD__V1__ENVELOPE__INIT, *env;
	Peerd__V1__Hello	 h = PEERD__V1__HELLO__INIT;
	Peerd__V1__Resume	 r = PEERD__V1__RESUME__INIT, *rp = &r;
	uint8_t			 buf[TEST_BUF];
	size_t			 n, used;

	(void)state;
	h.protocol_version = 1;
	h.role = PEERD__V1__ROLE__SUPPORTER;
	h.credential.data = (uint8_t *)cred;
	h.credential.len = sizeof cred;
	h.client_name = (char *)"test/1 \xc3\xa9";
	r.token.data = (uint8_t *)token;
	r.token.len = sizeof token;
	r.last_seq = UINT64_MAX;
	h.n_resume = 1;
	h.resume = &rp;
	e.id = UINT64_MAX - 1;
	e.body_case = PEERD__V1__ENVELOPE__BODY_HELLO;
	e.hello = &h;

	n = frame_encode(&e, FRAME_MAX_HARD, buf, sizeof buf);
	assert_int_equal(n, frame_size(&e));
	assert_int_equal(frame_encode(&e, FRAME_MAX_HARD, buf, n - 1), 0);
	assert_int_equal(frame_decode(buf, n, FRAME_MAX_HARD, &env, &used),
	    FRAME_OK);
	assert_int_equal(used, n);
	assert_int_equal(env->id, UINT64_MAX - 1);
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_HELLO);
	assert_string_equal(frame_body_name(env), "hello");
	assert_int_equal(env->hello->protocol_version, 1);
	assert_int_equal(env->hello->role, PEERD__V1__ROLE__SUPPORTER);
	assert_int_equal(env->hello->credential.len, sizeof cred);
	assert_memory_equal(env->hello->credential.data, cred, sizeof cred);
	assert_string_equal(env->hello->client_name, "test/1 \xc3\xa9");
	assert_int_equal(env->hello->n_resume, 1);
	assert_int_equal(env->hello->resume[0]->last_seq, UINT64_MAX);
	assert_memory_equal(env->hello->resume[0]->token.data, token,
	    sizeof token);
	frame_free(env);
}

/* An envelope with nothing set packs to zero bytes: refused, not sent. */
static void
test_empty_envelope_refused(void **state)
{
	Envelope		 e = PEERD__V1__ENVELOPE__INIT;
	struct evbuffer		*eb;
	uint8_t			 buf[16];

	(void)state;
	assert_int_equal(frame_encode(&e, 1024, buf, sizeof buf), 0);
	assert_non_null(eb = evbuffer_new());
	assert_int_equal(frame_write(eb, &e, 1024), -1);
	assert_int_equal(evbuffer_get_length(eb), 0);
	evbuffer_free(eb);
}

/* frame_read leaves the buffer untouched, byte for byte, on need-more. */
static void
test_read_need_more_untouched(void **state)
{
	uint8_t			 buf[TEST_BUF], copy[TEST_BUF];
	struct evbuffer		*eb;
	Envelope		*env;
	size_t			 n, i;

	(void)state;
	n = ping_frame(buf, sizeof buf, 3, 4);
	assert_non_null(eb = evbuffer_new());
	for (i = 0; i < n; i++) {
		/* Feed one byte at a time: one chain each, the worst case. */
		if (i > 0)
			assert_int_equal(evbuffer_add(eb, buf + i - 1, 1), 0);
		env = (Envelope *)1;
		assert_int_equal(frame_read(eb, 1024, &env), FRAME_NEED_MORE);
		assert_null(env);
		assert_int_equal(evbuffer_get_length(eb), i);
		if (i > 0) {
			assert_int_equal(evbuffer_copyout(eb, copy, i),
			    (ev_ssize_t)i);
			assert_memory_equal(copy, buf, i);
		}
	}
	assert_int_equal(evbuffer_add(eb, buf + n - 1, 1), 0);
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_OK);
	assert_int_equal(env->ping->nonce, 4);
	assert_int_equal(evbuffer_get_length(eb), 0);
	frame_free(env);
	evbuffer_free(eb);
}

/* frame_read drains exactly one frame and leaves what follows. */
static void
test_read_drains_one(void **state)
{
	uint8_t			 buf[TEST_BUF], rest[8];
	struct evbuffer		*eb;
	Envelope		*env;
	size_t			 n;

	(void)state;
	n = ping_frame(buf, sizeof buf, 11, 12);
	memcpy(buf + n, "\0\0\0\x05xyz", 8);	/* start of a next frame */
	assert_non_null(eb = evbuffer_new());
	assert_int_equal(evbuffer_add(eb, buf, n + 8), 0);
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_OK);
	assert_int_equal(env->id, 11);
	assert_int_equal(env->ping->nonce, 12);
	frame_free(env);
	assert_int_equal(evbuffer_get_length(eb), 8);
	assert_int_equal(evbuffer_copyout(eb, rest, 8), 8);
	assert_memory_equal(rest, "\0\0\0\x05xyz", 8);
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_NEED_MORE);
	assert_int_equal(evbuffer_get_length(eb), 8);
	evbuffer_free(eb);
}

/* Two frames written back to back come out in order, then need-more. */
static void
test_two_frames_back_to_back(void **state)
{
	Envelope		 e1, e2, *env;
	Peerd__V1__Ping		 p1, p2;
	struct evbuffer		*eb;
	size_t			 n1;

	(void)state;
	make_ping(&e1, &p1, 1, 100);
	make_ping(&e2, &p2, 2, 200);
	assert_non_null(eb = evbuffer_new());
	assert_int_equal(frame_write(eb, &e1, 1024), 0);
	n1 = evbuffer_get_length(eb);
	assert_int_equal(n1, frame_size(&e1));
	assert_int_equal(frame_write(eb, &e2, 1024), 0);
	assert_int_equal(evbuffer_get_length(eb), n1 + frame_size(&e2));

	assert_int_equal(frame_read(eb, 1024, &env), FRAME_OK);
	assert_int_equal(env->id, 1);
	assert_int_equal(env->ping->nonce, 100);
	frame_free(env);
	assert_int_equal(evbuffer_get_length(eb), frame_size(&e2));
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_OK);
	assert_int_equal(env->id, 2);
	assert_int_equal(env->ping->nonce, 200);
	frame_free(env);
	assert_int_equal(evbuffer_get_length(eb), 0);
	env = (Envelope *)1;
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_NEED_MORE);
	assert_null(env);
	evbuffer_free(eb);
}

/* frame_write refuses a body over its limit and adds nothing. */
static void
test_write_over_limit(void **state)
{
	Envelope		 e;
	Peerd__V1__Ping		 p;
	struct evbuffer		*eb;
	size_t			 body;

	(void)state;
	make_ping(&e, &p, 5, UINT64_MAX);
	body = frame_size(&e) - FRAME_HEADER;
	assert_non_null(eb = evbuffer_new());
	assert_int_equal(frame_write(eb, &e, body - 1), -1);
	assert_int_equal(evbuffer_get_length(eb), 0);
	assert_int_equal(frame_write(eb, &e, body), 0);
	assert_int_equal(evbuffer_get_length(eb), body + FRAME_HEADER);
	evbuffer_free(eb);
}

/* frame_read over the limit reports it before the body arrives. */
static void
test_read_over_limit_header_only(void **state)
{
	uint8_t			 hdr[FRAME_HEADER];
	struct evbuffer		*eb;
	Envelope		*env = (Envelope *)1;

	(void)state;
	put_len(hdr, 1025);
	assert_non_null(eb = evbuffer_new());
	assert_int_equal(evbuffer_add(eb, hdr, sizeof hdr), 0);
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_TOO_LARGE);
	assert_null(env);
	put_len(hdr, 1024);
	evbuffer_drain(eb, evbuffer_get_length(eb));
	assert_int_equal(evbuffer_add(eb, hdr, sizeof hdr), 0);
	assert_int_equal(frame_read(eb, 1024, &env), FRAME_NEED_MORE);
	evbuffer_free(eb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_limit),
		cmocka_unit_test(test_limit_plus_one),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_truncated_body),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_4gib_length),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_envelope_refused),
		cmocka_unit_test(test_read_need_more_untouched),
		cmocka_unit_test(test_read_drains_one),
		cmocka_unit_test(test_two_frames_back_to_back),
		cmocka_unit_test(test_write_over_limit),
		cmocka_unit_test(test_read_over_limit_header_only),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
