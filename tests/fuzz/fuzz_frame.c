/*
 * fuzz_frame.c -- libFuzzer harness for the frame codec (proto/frame.c).
 *
 * Input: one mode byte, then the byte stream a client sends.  The stream
 * is decoded twice, as a connection would:
 *
 *   - frame_read on an evbuffer that receives the stream in chunks (sizes
 *     from the mode byte), so frames straddle evbuffer chains and
 *     evbuffer_pullup has work to do;
 *   - frame_decode on the flat bytes.
 *
 * The first frame is read under the pre-Hello limit, the rest under the
 * post-Hello one (both picked by the mode byte from the configured
 * defaults, the option bounds and FRAME_MAX_HARD).  Decoding stops at the
 * first status that closes a connection.  Checked: both paths agree on
 * every frame and on where they stop; NEED_MORE consumes nothing; every
 * decoded envelope encodes again (frame_encode and frame_write give the
 * same bytes) and decodes to the same encoding -- unless it holds an
 * unknown field numbered 0: protobuf-c 1.4 accepts that tag when it is
 * written in more than one byte, keeps it, packs it in one byte and then
 * refuses its own output.  peerd never sends a client's bytes on, so only
 * the round trip is skipped for those.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FZ_FRAMES_MAX	64	/* frames compared per input */

/* Limits a connection can run with (config.c bounds and defaults). */
static const size_t fz_limits[] = {
	512,		/* max_frame_hello minimum */
	8192,		/* max_frame_hello default */
	1024,		/* max_frame minimum */
	65536,		/* max_frame default */
	16,		/* below any configuration: many TOO_LARGE */
	1048576,	/* max_frame_hello maximum */
	FRAME_MAX_HARD,
	4
};
#define FZ_NLIMITS	(sizeof fz_limits / sizeof fz_limits[0])

struct fz_result {
	enum frame_status	st[FZ_FRAMES_MAX + 1];
	size_t			used[FZ_FRAMES_MAX + 1];
	size_t			n;		/* frames decoded (FRAME_OK) */
	enum frame_status	last;		/* why decoding stopped */
};

static void	fz_fail(const char *) __attribute__((__noreturn__));

/* Die with a message: libFuzzer keeps the input. */
static void
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_frame: %s\n", what);
	abort();
}

/* Return whether m or a message inside it kept an unknown field 0. */
static int
fz_has_field0(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor	*f;
	const ProtobufCMessage		*sub, *const *subs;
	size_t				 i, j, n;

	for (i = 0; i < m->n_unknown_fields; i++) {
		if (m->unknown_fields[i].tag == 0)
			return (1);
	}
	for (i = 0; i < m->descriptor->n_fields; i++) {
		f = &m->descriptor->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
			    f->quantifier_offset);
			subs = *(const ProtobufCMessage *const *const *)
			    ((const char *)m + f->offset);
			for (j = 0; j < n; j++) {
				if (fz_has_field0(subs[j]))
					return (1);
			}
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
		    f->quantifier_offset) != f->id)
			continue;
		sub = *(const ProtobufCMessage *const *)((const char *)m +
		    f->offset);
		if (sub != NULL && fz_has_field0(sub))
			return (1);
	}
	return (0);
}

/* Encode env again, decode that, encode again: the bytes must agree. */
static void
fz_roundtrip(const Envelope *env)
{
	struct evbuffer	*eb;
	Envelope	*again;
	uint8_t		*a, *b;
	size_t		 n, m, used;

	if (peerd__v1__envelope__get_packed_size(env) == 0) {
		/* An all-default envelope packs to nothing: no frame. */
		if (frame_encode(env, FRAME_MAX_HARD, NULL, 0) != 0)
			fz_fail("empty envelope encoded");
		return;
	}
	if (fz_has_field0(&env->base))
		return;
	n = frame_size(env);
	if ((a = malloc(n)) == NULL || (b = malloc(n)) == NULL)
		fz_fail("out of memory");
	if (frame_encode(env, FRAME_MAX_HARD, a, n) != n)
		fz_fail("frame_encode refused a decoded envelope");
	if (frame_encode(env, FRAME_MAX_HARD, a, n - 1) != 0)
		fz_fail("frame_encode wrote past outlen");
	if (frame_encode(env, n - FRAME_HEADER - 1, a, n) != 0)
		fz_fail("frame_encode ignored max");

	/* frame_write must produce the same bytes. */
	if ((eb = evbuffer_new()) == NULL)
		fz_fail("out of memory");
	if (frame_write(eb, env, FRAME_MAX_HARD) != 0 ||
	    evbuffer_get_length(eb) != n ||
	    memcmp(evbuffer_pullup(eb, -1), a, n) != 0)
		fz_fail("frame_write and frame_encode differ");
	evbuffer_free(eb);

	if (frame_decode(a, n, FRAME_MAX_HARD, &again, &used) != FRAME_OK ||
	    used != n)
		fz_fail("a re-encoded envelope does not decode");
	m = frame_encode(again, FRAME_MAX_HARD, b, n);
	if (m != n || memcmp(a, b, n) != 0)
		fz_fail("encoding is not stable across a round trip");
	if (strcmp(frame_body_name(env), frame_body_name(again)) != 0)
		fz_fail("body changed across a round trip");
	frame_free(again);
	free(a);
	free(b);
}

/* Decode the flat stream with frame_decode. */
static void
fz_flat(const uint8_t *p, size_t len, size_t pre, size_t post,
    struct fz_result *r)
{
	enum frame_status	 st;
	Envelope		*env;
	size_t			 off = 0, used, max = pre;

	memset(r, 0, sizeof *r);
	for (;;) {
		used = 0;
		st = frame_decode(p + off, len - off, max, &env, &used);
		if (st != FRAME_OK) {
			if (env != NULL)
				fz_fail("frame_decode left an envelope");
			r->last = st;
			return;
		}
		if (used < FRAME_HEADER + 1 || used > len - off ||
		    used - FRAME_HEADER > max)
			fz_fail("frame_decode used a bad length");
		(void)frame_body_name(env);
		fz_roundtrip(env);
		frame_free(env);
		r->st[r->n] = st;
		r->used[r->n] = used;
		off += used;
		max = post;
		if (++r->n == FZ_FRAMES_MAX) {
			r->last = FRAME_OK;
			return;
		}
	}
}

/* Decode the stream as it arrives in chunks with frame_read. */
static void
fz_chunked(const uint8_t *p, size_t len, uint8_t mode, size_t pre,
    size_t post, struct fz_result *r)
{
	struct evbuffer		*in;
	enum frame_status	 st = FRAME_NEED_MORE;
	Envelope		*env;
	size_t			 off = 0, chunk, before, max = pre;
	uint32_t		 x = 0x9e3779b9u ^ mode;

	memset(r, 0, sizeof *r);
	if ((in = evbuffer_new()) == NULL)
		fz_fail("out of memory");
	while (off < len || st == FRAME_OK) {
		if (st == FRAME_NEED_MORE) {
			/* A small xorshift decides the chunk sizes. */
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			chunk = (mode & 0x80) ? 1 + x % 7 : 1 + x % 300;
			if (chunk > len - off)
				chunk = len - off;
			evbuffer_add(in, p + off, chunk);
			off += chunk;
		}
		before = evbuffer_get_length(in);
		st = frame_read(in, max, &env);
		switch (st) {
		case FRAME_NEED_MORE:
			if (env != NULL || evbuffer_get_length(in) != before)
				fz_fail("NEED_MORE consumed input");
			continue;
		case FRAME_OK:
			if (env == NULL)
				fz_fail("FRAME_OK without an envelope");
			r->st[r->n] = st;
			r->used[r->n] = before - evbuffer_get_length(in);
			frame_free(env);
			max = post;
			if (++r->n == FZ_FRAMES_MAX) {
				r->last = FRAME_OK;
				goto out;
			}
			continue;
		default:
			if (env != NULL)
				fz_fail("an error status left an envelope");
			r->last = st;
			goto out;
		}
	}
	r->last = FRAME_NEED_MORE;
out:
	evbuffer_free(in);
}

/* Decode one stream both ways and compare. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_result	flat, chunked;
	size_t			pre, post, i;
	uint8_t			mode;

	if (size < 1)
		return (0);
	mode = data[0];
	pre = fz_limits[mode % FZ_NLIMITS];
	post = fz_limits[(mode >> 3) % FZ_NLIMITS];
	data++;
	size--;

	fz_flat(data, size, pre, post, &flat);
	fz_chunked(data, size, mode, pre, post, &chunked);

	if (flat.n != chunked.n || flat.last != chunked.last) {
		fprintf(stderr, "flat: %zu frames, %s; chunked: %zu, %s\n",
		    flat.n, frame_status_name(flat.last), chunked.n,
		    frame_status_name(chunked.last));
		fz_fail("frame_decode and frame_read disagree");
	}
	for (i = 0; i < flat.n; i++) {
		if (flat.used[i] != chunked.used[i])
			fz_fail("frame_decode and frame_read consumed "
			    "different lengths");
	}
	(void)frame_status_name(flat.last);
	return (0);
}
