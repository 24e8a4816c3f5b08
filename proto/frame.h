/*
 * frame.h -- the peerd frame codec, shared by daemon and client.
 *
 * A frame is a 4-byte big-endian body length followed by one serialized
 * peerd.v1.Envelope.  The length is checked against the caller's limit
 * before anything is allocated or unpacked.
 */
#ifndef PEERD_FRAME_H
#define PEERD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "peer.pb-c.h"

#define FRAME_HEADER	4		/* bytes, big-endian body length */
#define FRAME_MAX_HARD	(16u << 20)	/* bytes, no configuration may exceed it */

typedef Peerd__V1__Envelope Envelope;

struct evbuffer;

enum frame_status {
	FRAME_OK = 0,		/* a whole frame was decoded */
	FRAME_NEED_MORE,	/* not enough bytes yet; nothing consumed */
	FRAME_EMPTY,		/* declared length 0 */
	FRAME_TOO_LARGE,	/* declared length over the limit */
	FRAME_BAD		/* body did not unpack as an Envelope */
};

/*
 * Check the header at the front of buf (len bytes available).  Returns
 * FRAME_NEED_MORE while fewer than FRAME_HEADER bytes are there, FRAME_EMPTY
 * or FRAME_TOO_LARGE for a bad length, else FRAME_OK with *body_len set (the
 * body may still be incomplete: compare len with FRAME_HEADER + *body_len).
 */
enum frame_status frame_header_check(const uint8_t *buf, size_t len,
    size_t max, uint32_t *body_len);

/*
 * Decode one frame from buf.  On FRAME_OK, *env is a new envelope (free it
 * with frame_free) and *used the number of bytes consumed.  On any other
 * status *env is NULL and nothing was allocated.
 */
enum frame_status frame_decode(const uint8_t *buf, size_t len, size_t max,
    Envelope **env, size_t *used);

/*
 * Encode env as one frame into out (outlen bytes).  Returns the bytes
 * written, or 0 if the body would exceed max or out is too small.
 */
size_t frame_encode(const Envelope *env, size_t max, uint8_t *out,
    size_t outlen);

/* Return the size of env's frame (header included). */
size_t frame_size(const Envelope *env);

/*
 * Remove one frame from the front of an evbuffer and decode it.  Statuses
 * as frame_decode; on FRAME_NEED_MORE the buffer is left untouched, on
 * FRAME_OK the frame's bytes are drained.
 */
enum frame_status frame_read(struct evbuffer *in, size_t max, Envelope **env);

/*
 * Pack env as one frame straight onto the end of an evbuffer.  Returns 0, or
 * -1 if the body would exceed max or memory ran out (nothing is added then).
 */
int frame_write(struct evbuffer *out, const Envelope *env, size_t max);

/* Free an envelope returned by frame_decode or frame_read; NULL is fine. */
void frame_free(Envelope *env);

/* Return a static name for a status, for logs. */
const char *frame_status_name(enum frame_status);

/* Return the name of an envelope's body ("hello", "chat_message", ...). */
const char *frame_body_name(const Envelope *env);

#endif
