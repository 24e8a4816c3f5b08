/*
 * pairs.c -- N pairs of endpoints that talk to each other through one
 * server, and the traffic between them.
 *
 * peerd pairs come up through the real flow: N supporters (credential
 * capacity 1) say Hello and SetAvailability AVAILABLE; then N requesters
 * say Hello and RequestPeer; supporters accept every Offer; a pair is the
 * requester and the supporter whose Matched carry the same conversation
 * id.  MQTT pairs are two clients, each subscribed at QoS 1 to its own
 * topic "p<i>/to<side>" and publishing to the other's.
 *
 * A message is *done* when the receiver has it and the sender has the
 * server's acknowledgement of it (peerd MessageAccepted, MQTT PUBACK): the
 * same definition for both servers, observable because both ends live in
 * this process.  In relay mode each direction of a pair keeps window/2
 * messages sent and not done, so a pair has `window` in flight; a new
 * message goes out the moment one is done.  Messages carry their index,
 * so loss or reordering is counted, and draining waits until everything
 * sent is done (for peerd also until the sender has seen the Delivered
 * for its last message, so peerd holds nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

#define PAIRS_SETUP_MS		30000	/* ms, base for bringing pairs up */
#define PAIRS_SETUP_PER_MS	20	/* ms more per pair */
#define PAIRS_PING_SLACK_MS	20000	/* ms beyond 1 ms per round trip */
#define PAIRS_STUCK_SHOWN	4	/* stuck pairs described on a stall */

static void	pairs_ready(struct ep *);
static void	pairs_msg(struct ep *, uint64_t);
static void	pairs_ack(struct ep *);
static void	pairs_matched(struct ep *);
static void	pairs_ok(struct ep *);
static void	pairs_closed(struct ep *, const char *);

static const struct ep_ops pairs_ops = {
	pairs_ready, pairs_msg, pairs_ack, pairs_matched, pairs_ok,
	pairs_closed
};

/* Problems already reported by pairs_check. */
static struct ep_stats	pairs_seen;
static uint64_t		pairs_seen_order;

/* Return the smaller of a and b. */
static uint64_t
pairs_min(uint64_t a, uint64_t b)
{
	return (a < b ? a : b);
}

/* Set-up: Welcome or CONNACK/SUBACK arrived. */
static void
pairs_ready(struct ep *ep)
{
	struct pairs	*set = ep->arg;

	set->ready++;
	if (ep->kind != EP_PEERD)
		return;
	if (ep->role == PEERD__V1__ROLE__SUPPORTER)
		(void)ep_set_availability(ep,
		    PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
	else
		(void)ep_request_peer(ep);
}

static void
pairs_ok(struct ep *ep)
{
	struct pairs	*set = ep->arg;

	set->oks++;
}

static void
pairs_matched(struct ep *ep)
{
	struct pairs	*set = ep->arg;

	set->matched++;
}

static void
pairs_closed(struct ep *ep, const char *why)
{
	struct pairs	*set = ep->arg;

	if (set->lost++ == 0)
		fprintf(stderr, "bench: %s connection lost: %s\n",
		    srv_name(set->srv), why);
}

/* Send the next message of direction d of p. */
static int
pairs_send(struct pairs *set, struct pair *p, int d)
{
	if (ep_send(p->ep[d], p->dir[d].sent, set->size) == -1)
		return (-1);
	p->dir[d].sent++;
	return (0);
}

/* Keep direction d of p at its window. */
static void
pairs_pump(struct pairs *set, struct pair *p, int d)
{
	struct pair_dir	*pd = &p->dir[d];

	while (set->sending &&
	    pd->sent - pairs_min(pd->got, pd->acked) < (uint64_t)set->window)
		if (pairs_send(set, p, d) == -1)
			break;
}

/* Send set's next ping, if it wants more round trips. */
static void
pairs_ping(struct pairs *set)
{
	if (set->pongs >= set->pings)
		return;
	set->ping_ns = loop_now_ns();
	(void)pairs_send(set, &set->pair[0], 0);
}

/* A message for ep arrived (sent by the other side). */
static void
pairs_msg(struct ep *ep, uint64_t idx)
{
	struct pairs	*set = ep->arg;
	struct pair	*p = &set->pair[ep->index];
	struct pair_dir	*pd = &p->dir[1 - ep->side];
	uint64_t	 before = pairs_min(pd->got, pd->acked);

	if (idx != pd->got)
		set->order_errors++;
	pd->got++;
	set->done += pairs_min(pd->got, pd->acked) - before;
	switch (set->mode) {
	case PAIRS_RELAY:
		pairs_pump(set, p, 1 - ep->side);
		break;
	case PAIRS_PINGPONG:
		if (ep->side == 1) {		/* echo at once */
			(void)pairs_send(set, p, 1);
			break;
		}
		set->rtt_ns[set->pongs++] = loop_now_ns() - set->ping_ns;
		pairs_ping(set->alt != NULL && set->alt->pongs <
		    set->alt->pings ? set->alt : set);
		break;
	case PAIRS_QUIET:
		break;
	}
}

/* The server acknowledged ep's oldest unacknowledged message. */
static void
pairs_ack(struct ep *ep)
{
	struct pairs	*set = ep->arg;
	struct pair	*p = &set->pair[ep->index];
	struct pair_dir	*pd = &p->dir[ep->side];
	uint64_t	 before = pairs_min(pd->got, pd->acked);

	pd->acked++;
	set->done += pairs_min(pd->got, pd->acked) - before;
	if (set->mode == PAIRS_RELAY)
		pairs_pump(set, p, ep->side);
}

/* Conditions for loop_until. */
static int
pairs_all_ready(void *arg)
{
	struct pairs	*set = arg;

	return (set->lost > 0 || set->ready == 2 * set->n);
}

static int
pairs_all_available(void *arg)
{
	struct pairs	*set = arg;

	return (set->lost > 0 || set->oks == set->n);
}

static int
pairs_all_matched(void *arg)
{
	struct pairs	*set = arg;

	return (set->lost > 0 || set->matched == 2 * set->n);
}

/* Order endpoints by conversation id. */
static int
pairs_cmp_conv(const void *a, const void *b)
{
	const struct ep	*x = *(struct ep * const *)a;
	const struct ep	*y = *(struct ep * const *)b;

	return (x->conv < y->conv ? -1 : x->conv > y->conv);
}

/* Bring up peerd pairs: supporters available, requesters matched. */
static int
pairs_setup_peerd(struct pairs *set, int timeout_ms)
{
	struct ep	**sup, key, *kp, **hit;
	char		  id[64];
	int		  i, n = set->n;

	if ((set->creds = calloc((size_t)n, sizeof *set->creds)) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "pair-%d", i);
		if (creds_make(&set->creds[i], id) == -1)
			return (-1);
	}
	/* eps[0..n-1] requesters, eps[n..2n-1] supporters. */
	for (i = 0; i < n; i++) {
		struct ep	*s = &set->eps[n + i];

		ep_init(s, EP_PEERD, &pairs_ops, set);
		s->role = PEERD__V1__ROLE__SUPPORTER;
		s->cred = &set->creds[i];
		s->auto_accept = 1;
		if (ep_open(s, set->srv->port) == -1)
			return (-1);
	}
	if (loop_until(pairs_all_available, set, timeout_ms) == -1 ||
	    set->lost > 0) {
		fprintf(stderr, "bench: peerd: %d of %d supporters available\n",
		    set->oks, n);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		ep_init(&set->eps[i], EP_PEERD, &pairs_ops, set);
		if (ep_open(&set->eps[i], set->srv->port) == -1)
			return (-1);
	}
	if (loop_until(pairs_all_matched, set, timeout_ms) == -1 ||
	    set->lost > 0) {
		fprintf(stderr, "bench: peerd: %d of %d matched\n",
		    set->matched, 2 * n);
		return (-1);
	}
	if ((sup = calloc((size_t)n, sizeof *sup)) == NULL)
		return (-1);
	for (i = 0; i < n; i++)
		sup[i] = &set->eps[n + i];
	qsort(sup, (size_t)n, sizeof *sup, pairs_cmp_conv);
	for (i = 0; i < n; i++) {
		key.conv = set->eps[i].conv;
		kp = &key;
		hit = bsearch(&kp, sup, (size_t)n, sizeof *sup, pairs_cmp_conv);
		if (hit == NULL) {
			fprintf(stderr, "bench: peerd: requester %d matched "
			    "no supporter of ours\n", i);
			free(sup);
			return (-1);
		}
		set->pair[i].ep[0] = &set->eps[i];
		set->pair[i].ep[1] = *hit;
		set->eps[i].index = (*hit)->index = (uint32_t)i;
		set->eps[i].side = 0;
		(*hit)->side = 1;
	}
	free(sup);
	return (0);
}

/* Bring up MQTT pairs: every client connected and subscribed. */
static int
pairs_setup_mqtt(struct pairs *set, int timeout_ms)
{
	struct ep	*ep;
	int		 i, side;

	for (i = 0; i < set->n; i++)
		for (side = 0; side < 2; side++) {
			ep = &set->eps[2 * i + side];
			ep_init(ep, EP_MQTT, &pairs_ops, set);
			ep->index = (uint32_t)i;
			ep->side = side;
			snprintf(ep->client_id, sizeof ep->client_id,
			    "bench-%d-%d", i, side);
			snprintf(ep->topic_in, sizeof ep->topic_in,
			    "p%d/to%d", i, side);
			snprintf(ep->topic_out, sizeof ep->topic_out,
			    "p%d/to%d", i, 1 - side);
			set->pair[i].ep[side] = ep;
			if (ep_open(ep, set->srv->port) == -1)
				return (-1);
		}
	if (loop_until(pairs_all_ready, set, timeout_ms) == -1 ||
	    set->lost > 0) {
		fprintf(stderr, "bench: mosquitto: %d of %d clients "
		    "subscribed\n", set->ready, 2 * set->n);
		return (-1);
	}
	return (0);
}

int
pairs_setup(struct pairs *set, struct srv *srv, int n)
{
	int	timeout_ms = PAIRS_SETUP_MS + n * PAIRS_SETUP_PER_MS, rc;

	memset(set, 0, sizeof *set);
	set->srv = srv;
	set->n = n;
	set->mode = PAIRS_QUIET;
	if ((set->pair = calloc((size_t)n, sizeof *set->pair)) == NULL ||
	    (set->eps = calloc((size_t)n * 2, sizeof *set->eps)) == NULL)
		return (-1);
	if (srv->kind == SRV_PEERD)
		rc = pairs_setup_peerd(set, timeout_ms);
	else
		rc = pairs_setup_mqtt(set, timeout_ms);
	if (rc == -1)
		srv_check(srv);
	return (rc);
}

void
pairs_free(struct pairs *set)
{
	int	i;

	if (set->eps != NULL)
		for (i = 0; i < 2 * set->n; i++)
			ep_close(&set->eps[i]);
	if (set->creds != NULL)
		for (i = 0; i < set->n; i++)
			creds_clear(&set->creds[i]);
	free(set->eps);
	free(set->pair);
	free(set->creds);
	set->eps = NULL;
	set->pair = NULL;
	set->creds = NULL;
	set->n = 0;
}

void
pairs_relay_start(struct pairs *set, size_t size, int window)
{
	int	i;

	set->mode = PAIRS_RELAY;
	set->size = size;
	set->window = window / 2 > 0 ? window / 2 : 1;
	set->sending = 1;
	for (i = 0; i < set->n; i++) {
		pairs_pump(set, &set->pair[i], 0);
		pairs_pump(set, &set->pair[i], 1);
	}
}

/* Return 1 once direction d of p has nothing outstanding. */
static int
pairs_dir_settled(const struct pair *p, int d)
{
	const struct pair_dir	*pd = &p->dir[d];
	const struct ep		*ep = p->ep[d];

	if (pd->got != pd->sent || pd->acked != pd->sent)
		return (0);
	/* peerd: the sender also saw the Delivered for its last message. */
	return (ep->kind != EP_PEERD || pd->sent == 0 ||
	    ep->delivered == ep->seq_out);
}

static int
pairs_settled(void *arg)
{
	struct pairs	*set = arg;
	int		 i;

	if (set->lost > 0)
		return (1);
	for (i = 0; i < set->n; i++)
		if (!pairs_dir_settled(&set->pair[i], 0) ||
		    !pairs_dir_settled(&set->pair[i], 1))
			return (0);
	return (1);
}

int
pairs_drain(struct pairs *set, int timeout_ms)
{
	const struct pair_dir	*pd;
	const struct pair	*p;
	int			 i, d, shown = 0;

	set->sending = 0;
	if (loop_until(pairs_settled, set, timeout_ms) == 0 && set->lost == 0)
		return (0);
	fprintf(stderr, "bench: %s: traffic did not settle within %d ms "
	    "(lost connections %d)\n", srv_name(set->srv), timeout_ms,
	    set->lost);
	for (i = 0; i < set->n && shown < PAIRS_STUCK_SHOWN; i++) {
		p = &set->pair[i];
		for (d = 0; d < 2; d++) {
			if (pairs_dir_settled(p, d))
				continue;
			pd = &p->dir[d];
			fprintf(stderr, "bench:   pair %d dir %d: sent=%llu "
			    "received=%llu acked=%llu", i, d,
			    (unsigned long long)pd->sent,
			    (unsigned long long)pd->got,
			    (unsigned long long)pd->acked);
			if (p->ep[d]->kind == EP_PEERD)
				fprintf(stderr, " last_seq=%llu "
				    "delivered_seen=%llu pending_out=%zu",
				    (unsigned long long)p->ep[d]->seq_out,
				    (unsigned long long)p->ep[d]->delivered,
				    tconn_pending(&p->ep[d]->tc));
			fputc('\n', stderr);
			shown++;
		}
	}
	srv_check(set->srv);
	return (-1);
}

/* Condition: every round trip asked for is done, on both sets. */
static int
pairs_pongs_done(void *arg)
{
	struct pairs	*set = arg;

	if (set->lost > 0 || (set->alt != NULL && set->alt->lost > 0))
		return (1);
	return (set->pongs == set->pings &&
	    (set->alt == NULL || set->alt->pongs == set->alt->pings));
}

/* Make set ready for n round trips into rtt. */
static void
pairs_pingpong_arm(struct pairs *set, struct pairs *alt, size_t size,
    uint64_t n, int64_t *rtt)
{
	set->mode = PAIRS_PINGPONG;
	set->size = size;
	set->pings = n;
	set->pongs = 0;
	set->rtt_ns = rtt;
	set->alt = alt;
}

int
pairs_pingpong(struct pairs *a, struct pairs *b, size_t size, uint64_t n,
    int64_t *rtt_a, int64_t *rtt_b)
{
	int	timeout_ms = PAIRS_PING_SLACK_MS + (int)(n / 1000) * 1000 *
		    (b != NULL ? 2 : 1), rc = 0;

	if (a->n < 1 || (b != NULL && b->n < 1) || n == 0)
		return (-1);
	pairs_pingpong_arm(a, b, size, n, rtt_a);
	if (b != NULL)
		pairs_pingpong_arm(b, a, size, n, rtt_b);
	pairs_ping(a);
	if (loop_until(pairs_pongs_done, a, timeout_ms) == -1 ||
	    a->lost > 0 || (b != NULL && b->lost > 0)) {
		fprintf(stderr, "bench: ping-pong: %s %llu of %llu round "
		    "trips", srv_name(a->srv), (unsigned long long)a->pongs,
		    (unsigned long long)n);
		if (b != NULL)
			fprintf(stderr, ", %s %llu", srv_name(b->srv),
			    (unsigned long long)b->pongs);
		fprintf(stderr, " in %d ms\n", timeout_ms);
		srv_check(a->srv);
		if (b != NULL)
			srv_check(b->srv);
		rc = -1;
	}
	a->mode = PAIRS_QUIET;
	a->alt = NULL;
	if (b != NULL) {
		b->mode = PAIRS_QUIET;
		b->alt = NULL;
	}
	if (rc == 0 && (pairs_drain(a, 10000) == -1 ||
	    (b != NULL && pairs_drain(b, 10000) == -1)))
		rc = -1;
	return (rc);
}

int
pairs_check(struct pairs *set, const char *what)
{
	struct ep_stats	*s = &ep_stats, *o = &pairs_seen;
	int		 bad = 0;

	if (s->errors != o->errors || s->closed != o->closed ||
	    s->retransmit != o->retransmit || s->unexpected != o->unexpected ||
	    s->bad_offer != o->bad_offer ||
	    set->order_errors != pairs_seen_order) {
		fprintf(stderr, "bench: %s %s: errors=%llu (last code %u) "
		    "closed=%llu (%s) retransmits=%llu unexpected=%llu "
		    "offers_refused=%llu out_of_order=%llu\n",
		    srv_name(set->srv), what,
		    (unsigned long long)(s->errors - o->errors),
		    s->last_error,
		    (unsigned long long)(s->closed - o->closed),
		    s->last_close,
		    (unsigned long long)(s->retransmit - o->retransmit),
		    (unsigned long long)(s->unexpected - o->unexpected),
		    (unsigned long long)(s->bad_offer - o->bad_offer),
		    (unsigned long long)(set->order_errors -
		    pairs_seen_order));
		bad = 1;
	}
	if (s->rate_limited != o->rate_limited) {
		fprintf(stderr, "bench: %s %s: %llu messages RATE_LIMITED "
		    "(the bench config should prevent this)\n",
		    srv_name(set->srv), what,
		    (unsigned long long)(s->rate_limited - o->rate_limited));
		bad = 1;
	}
	*o = *s;
	pairs_seen_order = set->order_errors;
	return (bad ? -1 : 0);
}
