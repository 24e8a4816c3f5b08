/*
 * mqtt.c -- just enough MQTT 3.1.1 for the comparison, written here (no
 * libmosquitto, no threads): CONNECT (clean session, keepalive off),
 * SUBSCRIBE at QoS 1, PUBLISH at QoS 1 answered by PUBACK in both
 * directions.
 *
 * Packet layout (MQTT 3.1.1 section 2): one byte of type and flags, the
 * remaining length as a base-128 varint of 1-4 bytes, then the variable
 * header and payload.  Strings are a 2-byte big-endian length and bytes.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "load.h"

#define MQTT_CONNECT	1
#define MQTT_CONNACK	2
#define MQTT_PUBLISH	3
#define MQTT_PUBACK	4
#define MQTT_SUBSCRIBE	8
#define MQTT_SUBACK	9
#define MQTT_PINGRESP	13

#define MQTT_HEAD_MAX	5	/* bytes, type + 4-byte remaining length */
#define MQTT_REM_MAX	268435455 /* bytes, largest remaining length */
#define MQTT_PEEK	(MQTT_HEAD_MAX + 2 + 256 + 2 + LOAD_IDX_LEN)
				/* bytes of a PUBLISH looked at: header,
				   topic, packet id, message index */

/* Write the fixed header for type/flags and rem bytes.  Returns its size. */
static size_t
mqtt_head(uint8_t *p, uint8_t first, size_t rem)
{
	size_t	n = 0;

	p[n++] = first;
	do {
		p[n] = rem & 0x7f;
		rem >>= 7;
		if (rem > 0)
			p[n] |= 0x80;
		n++;
	} while (rem > 0);
	return (n);
}

/* Append a 2-byte length and s.  Returns the bytes written. */
static size_t
mqtt_string(uint8_t *p, const char *s)
{
	size_t	len = strlen(s);

	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	memcpy(p + 2, s, len);
	return (2 + len);
}

/* Queue bytes on the endpoint's output.  Returns 0 or -1. */
static int
mqtt_out(struct ep *ep, const void *p, size_t len)
{
	struct evbuffer	*out = tconn_output(&ep->tc);

	if (out == NULL || ep->state == EP_CLOSED)
		return (-1);
	return (evbuffer_add(out, p, len));
}

/* Return the next packet id (1-65535, never 0). */
static uint16_t
mqtt_pid(struct ep *ep)
{
	if (ep->next_pid == 0)
		ep->next_pid = 1;
	return (ep->next_pid++);
}

int
mqtt_connect(struct ep *ep)
{
	uint8_t	body[128], pkt[160];
	size_t	n = 0, h;

	n += mqtt_string(body + n, "MQTT");
	body[n++] = 4;			/* protocol level 3.1.1 */
	body[n++] = 0x02;		/* clean session */
	body[n++] = 0;			/* keepalive 0: off */
	body[n++] = 0;
	n += mqtt_string(body + n, ep->client_id);
	h = mqtt_head(pkt, MQTT_CONNECT << 4, n);
	memcpy(pkt + h, body, n);
	return (mqtt_out(ep, pkt, h + n));
}

int
mqtt_subscribe(struct ep *ep)
{
	uint8_t		body[64], pkt[80];
	uint16_t	pid = mqtt_pid(ep);
	size_t		n = 0, h;

	body[n++] = (uint8_t)(pid >> 8);
	body[n++] = (uint8_t)pid;
	n += mqtt_string(body + n, ep->topic_in);
	body[n++] = 1;			/* QoS 1 */
	h = mqtt_head(pkt, MQTT_SUBSCRIBE << 4 | 0x02, n);
	memcpy(pkt + h, body, n);
	return (mqtt_out(ep, pkt, h + n));
}

int
mqtt_publish(struct ep *ep, const void *payload, size_t len)
{
	uint8_t		head[MQTT_HEAD_MAX + 2 + sizeof ep->topic_out + 2];
	uint16_t	pid = mqtt_pid(ep);
	size_t		tlen = strlen(ep->topic_out), h, n;

	h = mqtt_head(head, MQTT_PUBLISH << 4 | 0x02, 2 + tlen + 2 + len);
	n = h + mqtt_string(head + h, ep->topic_out);
	head[n++] = (uint8_t)(pid >> 8);
	head[n++] = (uint8_t)pid;
	if (mqtt_out(ep, head, n) == -1)
		return (-1);
	return (mqtt_out(ep, payload, len));
}

/* Answer a QoS 1 PUBLISH. */
static int
mqtt_puback(struct ep *ep, uint16_t pid)
{
	uint8_t	pkt[4] = { MQTT_PUBACK << 4, 2, (uint8_t)(pid >> 8),
		    (uint8_t)pid };

	return (mqtt_out(ep, pkt, sizeof pkt));
}

/* A protocol failure: drop the connection and report it. */
static void
mqtt_fail(struct ep *ep, const char *why)
{
	ep_stats.errors++;
	ep_close(ep);
	ep_stats.closed++;
	snprintf(ep_stats.last_close, sizeof ep_stats.last_close, "mqtt: %s",
	    why);
	if (ep->ops->closed != NULL)
		ep->ops->closed(ep, why);
}

/*
 * Handle one whole packet whose first bytes (up to MQTT_PEEK) are in p;
 * hlen is the fixed header's size, rem the remaining length.
 */
static void
mqtt_packet(struct ep *ep, const uint8_t *p, size_t plen, size_t hlen,
    size_t rem)
{
	const uint8_t	*v = p + hlen;
	size_t		 tlen, off;
	uint16_t	 pid = 0;
	int		 qos;

	switch (p[0] >> 4) {
	case MQTT_CONNACK:
		if (rem != 2 || v[1] != 0) {
			mqtt_fail(ep, "CONNACK refused");
			return;
		}
		if (ep->topic_in[0] != '\0') {
			(void)mqtt_subscribe(ep);
			return;
		}
		ep->state = EP_READY;
		if (ep->ops->ready != NULL)
			ep->ops->ready(ep);
		return;
	case MQTT_SUBACK:
		if (rem != 3 || v[2] == 0x80) {
			mqtt_fail(ep, "SUBACK refused");
			return;
		}
		ep->state = EP_READY;
		if (ep->ops->ready != NULL)
			ep->ops->ready(ep);
		return;
	case MQTT_PUBLISH:
		qos = (p[0] >> 1) & 3;
		if (rem < 2 || hlen + 2 > plen) {
			mqtt_fail(ep, "bad PUBLISH");
			return;
		}
		tlen = (size_t)v[0] << 8 | v[1];
		off = 2 + tlen;
		if (off + (qos > 0 ? 2 : 0) > rem || hlen + off + 2 > plen) {
			mqtt_fail(ep, "bad PUBLISH");
			return;
		}
		if (qos > 0) {
			pid = (uint16_t)(v[off] << 8 | v[off + 1]);
			off += 2;
			(void)mqtt_puback(ep, pid);
		}
		if (ep->ops->msg != NULL)
			ep->ops->msg(ep, ep_text_index(v + off,
			    plen - hlen - off < rem - off ?
			    plen - hlen - off : rem - off));
		return;
	case MQTT_PUBACK:
		if (ep->ops->ack != NULL)
			ep->ops->ack(ep);
		return;
	case MQTT_PINGRESP:
		return;
	default:
		ep_stats.unexpected++;
		return;
	}
}

void
mqtt_read(struct ep *ep, struct evbuffer *in)
{
	uint8_t		p[MQTT_PEEK];
	size_t		len, hlen, rem, have;
	ev_ssize_t	n;
	int		shift;

	while (ep->state != EP_CLOSED) {
		len = evbuffer_get_length(in);
		if (len < 2)
			return;
		n = evbuffer_copyout(in, p, len < MQTT_PEEK ? len : MQTT_PEEK);
		if (n < 2)
			return;
		have = (size_t)n;
		/* Remaining length: 1-4 bytes of 7 bits, low group first. */
		rem = 0;
		for (hlen = 1, shift = 0; ; hlen++, shift += 7) {
			if (hlen >= have)
				return;		/* need more */
			if (hlen > 4) {
				mqtt_fail(ep, "bad remaining length");
				return;
			}
			rem |= (size_t)(p[hlen] & 0x7f) << shift;
			if ((p[hlen] & 0x80) == 0)
				break;
		}
		hlen++;
		if (len < hlen + rem)
			return;
		mqtt_packet(ep, p, have < hlen + rem ? have : hlen + rem,
		    hlen, rem);
		if (ep->state == EP_CLOSED)
			return;
		evbuffer_drain(in, hlen + rem);
	}
}
