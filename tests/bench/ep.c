/*
 * ep.c -- an endpoint: one TLS connection speaking either peerd frames
 * (proto/frame.c, the Hello built with libpeerclient's builder) or MQTT
 * 3.1.1 (mqtt.c), reported through the same callbacks so that pairs.c and
 * the scenarios never look at the protocol.
 *
 * peerd side: Hello as requester or supporter; a supporter with
 * auto_accept answers every Offer with AcceptOffer; every ChatMessage
 * received is answered with its own Delivered (as every MQTT PUBLISH is
 * answered with its PUBACK), then reported as a message.
 *
 * Messages are ASCII (valid UTF-8 for peerd): LOAD_IDX_LEN hex digits of
 * the sender's message index, then 'x' up to the size.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "frame.h"
#include "peerclient.h"
#include "load.h"

#define EP_ERRORS_SHOWN	5	/* peerd Error frames printed, at most */
#define EP_CLIENT_NAME	"bench_relay/0.1"
#define EP_KEEPALIVE_S	30	/* seconds, when Welcome names none */

struct ep_stats	 ep_stats;

static char	 ep_buf[LOAD_MSG_MAX + 1];
static size_t	 ep_buf_end = LOAD_MSG_MAX;	/* where the NUL is */

static void	 ep_up(struct tconn *);
static void	 ep_read(struct tconn *, struct evbuffer *);
static void	 ep_lost(struct tconn *, const char *);

static const struct tconn_ops ep_tconn_ops = { ep_up, ep_read, ep_lost };

void
ep_text_init(void)
{
	memset(ep_buf, 'x', LOAD_MSG_MAX);
	ep_buf[LOAD_MSG_MAX] = '\0';
	ep_buf_end = LOAD_MSG_MAX;
}

char *
ep_text(uint64_t idx, size_t size)
{
	static const char	hex[] = "0123456789abcdef";
	int			i;

	if (size > LOAD_MSG_MAX)
		size = LOAD_MSG_MAX;
	ep_buf[ep_buf_end] = 'x';
	ep_buf[size] = '\0';
	ep_buf_end = size;
	for (i = LOAD_IDX_LEN - 1; i >= 0; i--, idx >>= 4)
		ep_buf[i] = hex[idx & 0xf];
	return (ep_buf);
}

uint64_t
ep_text_index(const uint8_t *p, size_t len)
{
	uint64_t	v = 0;
	int		i, d;

	if (len < LOAD_IDX_LEN)
		return (UINT64_MAX);
	for (i = 0; i < LOAD_IDX_LEN; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else
			return (UINT64_MAX);
		v = v << 4 | (uint64_t)d;
	}
	return (v);
}

void
ep_init(struct ep *ep, enum ep_kind kind, const struct ep_ops *ops,
    void *arg)
{
	memset(ep, 0, sizeof *ep);
	ep->kind = kind;
	ep->ops = ops;
	ep->arg = arg;
	ep->state = EP_IDLE;
	ep->role = PEERD__V1__ROLE__REQUESTER;
	ep->next_pid = 1;
}

int
ep_open(struct ep *ep, int port)
{
	ep->state = EP_CONNECTING;
	if (tconn_open(&ep->tc, port, &ep_tconn_ops, ep) == -1) {
		ep->state = EP_CLOSED;
		return (-1);
	}
	return (0);
}

void
ep_close(struct ep *ep)
{
	if (ep->ev_ping != NULL)
		event_free(ep->ev_ping);
	ep->ev_ping = NULL;
	tconn_close(&ep->tc);
	ep->state = EP_CLOSED;
}

/* Pack env as one frame onto the output.  Returns 0 or -1. */
static int
ep_frame(struct ep *ep, Envelope *env)
{
	struct evbuffer	*out = tconn_output(&ep->tc);

	if (out == NULL || ep->state == EP_CLOSED)
		return (-1);
	env->id = ++ep->next_id;
	ep->last_send_ns = loop_now_ns();
	return (frame_write(out, env, LOAD_FRAME_MAX));
}

/*
 * Keepalive timer, every half keepalive: Ping if nothing else went out
 * meanwhile (peerd drops a client silent for 1.5 keepalives), as
 * libpeerclient does.
 */
static void
ep_ping(evutil_socket_t fd, short what, void *arg)
{
	Peerd__V1__Ping	 ping = PEERD__V1__PING__INIT;
	Envelope	 env = PEERD__V1__ENVELOPE__INIT;
	struct ep	*ep = arg;
	int64_t		 half = (int64_t)ep->keepalive_s * 500000000;

	(void)fd;
	(void)what;
	if (loop_now_ns() - ep->last_send_ns < half)
		return;
	env.body_case = PEERD__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	(void)ep_frame(ep, &env);
}

/* Arm the keepalive after Welcome. */
static void
ep_keepalive_start(struct ep *ep, const Peerd__V1__Welcome *w)
{
	struct timeval	tv;

	ep->keepalive_s = w->limits != NULL && w->limits->keepalive_s > 0 ?
	    (int)w->limits->keepalive_s : EP_KEEPALIVE_S;
	tv.tv_sec = ep->keepalive_s / 2;
	tv.tv_usec = (ep->keepalive_s % 2) * 500000;
	if (ep->ev_ping == NULL &&
	    (ep->ev_ping = event_new(loop_base, -1, EV_PERSIST, ep_ping,
	    ep)) != NULL)
		event_add(ep->ev_ping, &tv);
}

/* TLS is up: say Hello, or CONNECT. */
static void
ep_up(struct tconn *t)
{
	struct ep		*ep = t->arg;
	struct peerclient_hello	 h;

	if (ep->kind == EP_MQTT) {
		(void)mqtt_connect(ep);
		return;
	}
	peerclient_hello_init(&h, ep->role, EP_CLIENT_NAME);
	if (ep->cred != NULL)
		(void)peerclient_hello_set_credential(&h, ep->cred->buf,
		    ep->cred->len);
	(void)ep_frame(ep, peerclient_hello_envelope(&h, 0));
}

/* The connection went away under us. */
static void
ep_lost(struct tconn *t, const char *why)
{
	struct ep	*ep = t->arg;

	if (ep->ev_ping != NULL)
		event_free(ep->ev_ping);
	ep->ev_ping = NULL;
	ep->state = EP_CLOSED;
	ep_stats.closed++;
	snprintf(ep_stats.last_close, sizeof ep_stats.last_close, "%s",
	    why);
	if (ep->ops->closed != NULL)
		ep->ops->closed(ep, why);
}

/* Count (and show the first few of) peerd's Error frames. */
static void
ep_peerd_error(struct ep *ep, const Peerd__V1__Error *e)
{
	if (e->code == PEERD__V1__ERROR_CODE__RATE_LIMITED) {
		ep_stats.rate_limited++;
		return;
	}
	ep_stats.last_error = (uint32_t)e->code;
	if (ep_stats.errors++ < EP_ERRORS_SHOWN)
		fprintf(stderr, "bench: peerd error code=%d fatal=%d "
		    "msg=\"%s\" (conn %u)\n", (int)e->code, (int)e->fatal,
		    e->message != NULL ? e->message : "", ep->index);
}

/* React to one envelope from peerd. */
static void
ep_peerd_envelope(struct ep *ep, const Envelope *env)
{
	Peerd__V1__AcceptOffer	 ao = PEERD__V1__ACCEPT_OFFER__INIT;
	Peerd__V1__Delivered	 dl = PEERD__V1__DELIVERED__INIT;
	Envelope		 out = PEERD__V1__ENVELOPE__INIT;
	const char		*text;

	switch (env->body_case) {
	case PEERD__V1__ENVELOPE__BODY_WELCOME:
		ep->state = EP_READY;
		ep_keepalive_start(ep, env->welcome);
		if (ep->ops->ready != NULL)
			ep->ops->ready(ep);
		break;
	case PEERD__V1__ENVELOPE__BODY_OK:
		if (ep->ops->ok != NULL)
			ep->ops->ok(ep);
		break;
	case PEERD__V1__ENVELOPE__BODY_ERROR:
		ep_peerd_error(ep, env->error);
		break;
	case PEERD__V1__ENVELOPE__BODY_OFFER:
		if (!ep->auto_accept) {
			ep_stats.bad_offer++;
			break;
		}
		ao.offer_id = env->offer->offer_id;
		out.body_case = PEERD__V1__ENVELOPE__BODY_ACCEPT_OFFER;
		out.accept_offer = &ao;
		(void)ep_frame(ep, &out);
		break;
	case PEERD__V1__ENVELOPE__BODY_MATCHED:
		ep->conv = env->matched->conversation_id;
		if (ep->ops->matched != NULL)
			ep->ops->matched(ep);
		break;
	case PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE:
		/* Acknowledge first, as the MQTT side sends PUBACK first. */
		dl.conversation_id = env->chat_message->conversation_id;
		dl.seq = env->chat_message->seq;
		out.body_case = PEERD__V1__ENVELOPE__BODY_DELIVERED;
		out.delivered = &dl;
		(void)ep_frame(ep, &out);
		text = env->chat_message->text != NULL ?
		    env->chat_message->text : "";
		if (ep->ops->msg != NULL)
			ep->ops->msg(ep, ep_text_index((const uint8_t *)text,
			    strlen(text)));
		break;
	case PEERD__V1__ENVELOPE__BODY_MESSAGE_ACCEPTED:
		if (env->message_accepted->seq == 0) {
			ep_stats.retransmit++;
			break;
		}
		ep->seq_out = env->message_accepted->seq;
		if (ep->ops->ack != NULL)
			ep->ops->ack(ep);
		break;
	case PEERD__V1__ENVELOPE__BODY_DELIVERED:
		ep->delivered = env->delivered->seq;
		break;
	case PEERD__V1__ENVELOPE__BODY_QUEUE_UPDATE:
	case PEERD__V1__ENVELOPE__BODY_PONG:
	case PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY:
		break;
	default:
		ep_stats.unexpected++;
		break;
	}
}

/* Bytes arrived: decode every whole frame or MQTT packet. */
static void
ep_read(struct tconn *t, struct evbuffer *in)
{
	struct ep		*ep = t->arg;
	enum frame_status	 st;
	Envelope		*env;

	if (ep->kind == EP_MQTT) {
		mqtt_read(ep, in);
		return;
	}
	/* A callback may close the endpoint: then in is gone. */
	while (ep->state != EP_CLOSED) {
		st = frame_read(in, LOAD_FRAME_MAX, &env);
		if (st == FRAME_NEED_MORE)
			return;
		if (st != FRAME_OK) {
			ep_close(ep);
			ep_lost(t, frame_status_name(st));
			return;
		}
		ep_peerd_envelope(ep, env);
		frame_free(env);
	}
}

int
ep_send(struct ep *ep, uint64_t idx, size_t size)
{
	Peerd__V1__ChatMessage	cm = PEERD__V1__CHAT_MESSAGE__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	if (ep->kind == EP_MQTT)
		return (mqtt_publish(ep, ep_text(idx, size), size));
	cm.conversation_id = ep->conv;
	cm.client_msg_id = ++ep->next_msg_id;
	cm.text = ep_text(idx, size);
	env.body_case = PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE;
	env.chat_message = &cm;
	return (ep_frame(ep, &env));
}

int
ep_request_peer(struct ep *ep)
{
	Peerd__V1__RequestPeer	rp = PEERD__V1__REQUEST_PEER__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	env.body_case = PEERD__V1__ENVELOPE__BODY_REQUEST_PEER;
	env.request_peer = &rp;
	return (ep_frame(ep, &env));
}

int
ep_set_availability(struct ep *ep, Peerd__V1__SupporterStatus status)
{
	Peerd__V1__SetAvailability	sa = PEERD__V1__SET_AVAILABILITY__INIT;
	Envelope			env = PEERD__V1__ENVELOPE__INIT;

	sa.status = status;
	env.body_case = PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY;
	env.set_availability = &sa;
	return (ep_frame(ep, &env));
}
