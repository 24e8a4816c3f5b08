/*
 * frame.c -- length-prefixed Envelope frames.
 *
 * Untrusted input: the length is checked against the limit before the body
 * is looked at; protobuf-c allocates only after that, and only for a body we
 * already hold in full.
 */
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"

enum frame_status
frame_header_check(const uint8_t *buf, size_t len, size_t max,
    uint32_t *body_len)
{
	uint32_t	n;

	if (len < FRAME_HEADER)
		return (FRAME_NEED_MORE);
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	if (n == 0)
		return (FRAME_EMPTY);
	if (n > max || n > FRAME_MAX_HARD)
		return (FRAME_TOO_LARGE);
	*body_len = n;
	return (FRAME_OK);
}

enum frame_status
frame_decode(const uint8_t *buf, size_t len, size_t max, Envelope **env,
    size_t *used)
{
	enum frame_status	 st;
	uint32_t		 n;

	*env = NULL;
	if ((st = frame_header_check(buf, len, max, &n)) != FRAME_OK)
		return (st);
	if (len - FRAME_HEADER < n)
		return (FRAME_NEED_MORE);
	*env = peerd__v1__envelope__unpack(NULL, n, buf + FRAME_HEADER);
	if (*env == NULL)
		return (FRAME_BAD);
	*used = FRAME_HEADER + (size_t)n;
	return (FRAME_OK);
}

size_t
frame_size(const Envelope *env)
{
	return (FRAME_HEADER + peerd__v1__envelope__get_packed_size(env));
}

/* Write the 4-byte big-endian header for a body of n bytes. */
static void
frame_put_header(uint8_t *p, uint32_t n)
{
	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
}

size_t
frame_encode(const Envelope *env, size_t max, uint8_t *out, size_t outlen)
{
	size_t	n;

	n = peerd__v1__envelope__get_packed_size(env);
	if (n == 0 || n > max || n > FRAME_MAX_HARD || outlen < FRAME_HEADER + n)
		return (0);
	frame_put_header(out, (uint32_t)n);
	peerd__v1__envelope__pack(env, out + FRAME_HEADER);
	return (FRAME_HEADER + n);
}

enum frame_status
frame_read(struct evbuffer *in, size_t max, Envelope **env)
{
	enum frame_status	 st;
	uint8_t			 hdr[FRAME_HEADER];
	unsigned char		*p;
	uint32_t		 n;
	size_t			 have;

	*env = NULL;
	have = evbuffer_get_length(in);
	if (have < FRAME_HEADER)
		return (FRAME_NEED_MORE);
	if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
		return (FRAME_NEED_MORE);
	if ((st = frame_header_check(hdr, sizeof hdr, max, &n)) != FRAME_OK)
		return (st);
	if (have - FRAME_HEADER < n)
		return (FRAME_NEED_MORE);
	/* The whole frame is here and n <= max: making it contiguous is bounded. */
	if ((p = evbuffer_pullup(in, FRAME_HEADER + (ev_ssize_t)n)) == NULL)
		return (FRAME_BAD);
	*env = peerd__v1__envelope__unpack(NULL, n, p + FRAME_HEADER);
	evbuffer_drain(in, FRAME_HEADER + (size_t)n);
	return (*env == NULL ? FRAME_BAD : FRAME_OK);
}

int
frame_write(struct evbuffer *out, const Envelope *env, size_t max)
{
	struct evbuffer_iovec	 v;
	size_t			 n;

	n = peerd__v1__envelope__get_packed_size(env);
	if (n == 0 || n > max || n > FRAME_MAX_HARD)
		return (-1);
	if (evbuffer_reserve_space(out, FRAME_HEADER + n, &v, 1) < 1 ||
	    v.iov_len < FRAME_HEADER + n)
		return (-1);
	frame_put_header(v.iov_base, (uint32_t)n);
	peerd__v1__envelope__pack(env, (uint8_t *)v.iov_base + FRAME_HEADER);
	v.iov_len = FRAME_HEADER + n;
	return (evbuffer_commit_space(out, &v, 1));
}

void
frame_free(Envelope *env)
{
	if (env != NULL)
		peerd__v1__envelope__free_unpacked(env, NULL);
}

const char *
frame_status_name(enum frame_status st)
{
	switch (st) {
	case FRAME_OK:
		return ("ok");
	case FRAME_NEED_MORE:
		return ("need_more");
	case FRAME_EMPTY:
		return ("empty_frame");
	case FRAME_TOO_LARGE:
		return ("frame_too_large");
	case FRAME_BAD:
		return ("bad_envelope");
	}
	return ("unknown");
}

const char *
frame_body_name(const Envelope *env)
{
	const ProtobufCFieldDescriptor	*f;

	if (env->body_case == PEERD__V1__ENVELOPE__BODY__NOT_SET)
		return ("none");
	f = protobuf_c_message_descriptor_get_field(
	    &peerd__v1__envelope__descriptor, (unsigned)env->body_case);
	return (f != NULL ? f->name : "unknown");
}
