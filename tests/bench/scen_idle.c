/*
 * scen_idle.c -- scenario 3: what an idle TLS connection costs the
 * server.  A freshly started server (so no memory freed by earlier
 * traffic is reused), its VmRSS read, then bench.conns connections opened
 * (at most IDLE_INFLIGHT in progress at a time) and brought to the point
 * where a client would sit and wait: peerd after Hello/Welcome (as a
 * requester), mosquitto after CONNECT/CONNACK.  After IDLE_SETTLE_MS the
 * VmRSS is read again; the growth divided by the connections is the
 * figure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "load.h"

#define IDLE_INFLIGHT	256	/* connections being set up at once */
#define IDLE_SETTLE_MS	1000	/* ms before and after, for the server */
#define IDLE_TIMEOUT_MS	180000	/* ms for all connections to be ready */

struct idle {
	struct srv	*srv;
	struct ep	*eps;
	int		 n;
	int		 opened;
	int		 ready;
	int		 lost;
	int		 failed;
};

static void
idle_ready(struct ep *ep)
{
	struct idle	*id = ep->arg;

	id->ready++;
}

static void
idle_closed(struct ep *ep, const char *why)
{
	struct idle	*id = ep->arg;

	if (id->lost++ == 0)
		fprintf(stderr, "bench: idle %s: connection lost: %s\n",
		    srv_name(id->srv), why);
}

static const struct ep_ops idle_ops = {
	idle_ready, NULL, NULL, NULL, NULL, idle_closed
};

/* Condition and driver: open more while few are in progress. */
static int
idle_step(void *arg)
{
	struct idle	*id = arg;
	struct ep	*ep;

	while (!id->failed && id->opened < id->n &&
	    id->opened - id->ready - id->lost < IDLE_INFLIGHT) {
		ep = &id->eps[id->opened];
		ep_init(ep, id->srv->kind == SRV_PEERD ? EP_PEERD : EP_MQTT,
		    &idle_ops, id);
		ep->index = (uint32_t)id->opened;
		snprintf(ep->client_id, sizeof ep->client_id, "idle-%d",
		    id->opened);
		if (ep_open(ep, id->srv->port) == -1)
			id->failed = 1;
		id->opened++;
	}
	return (id->failed || id->lost > 0 || id->ready == id->n);
}

/* Measure one server.  Returns bytes per connection, or -1. */
static double
idle_one(enum srv_kind kind, const char *tag)
{
	struct srv	 srv;
	struct idle	 id = { 0 };
	long		 rss0, rss1;
	double		 t0, bytes = -1;
	int		 i;

	if (srv_start(&srv, kind, tag) == -1)
		return (-1);
	id.srv = &srv;
	id.n = bench.conns;
	if ((id.eps = calloc((size_t)id.n, sizeof *id.eps)) == NULL)
		goto out;
	loop_run_for(IDLE_SETTLE_MS);
	rss0 = srv_rss_kb(&srv);
	t0 = loop_now_s();
	if (loop_until(idle_step, &id, IDLE_TIMEOUT_MS) == -1 || id.failed ||
	    id.lost > 0) {
		fprintf(stderr, "bench: idle %s: %d of %d connections ready "
		    "(%d lost)\n", srv_name(&srv), id.ready, id.n, id.lost);
		srv_check(&srv);
		goto out;
	}
	printf("# idle server=%s conns=%d ready_in_s=%.1f\n", srv_name(&srv),
	    id.n, loop_now_s() - t0);
	loop_run_for(IDLE_SETTLE_MS);
	rss1 = srv_rss_kb(&srv);
	if (srv_check(&srv) == -1 || rss0 < 0 || rss1 < 0)
		goto out;
	bytes = (double)(rss1 - rss0) * 1024.0 / id.n;
	printf("# idle server=%s rss_before_kb=%ld rss_after_kb=%ld\n",
	    srv_name(&srv), rss0, rss1);
	printf("BENCH idle server=%s conns=%d bytes_per_conn=%.0f\n",
	    srv_name(&srv), id.n, bytes);
	fflush(stdout);
out:
	if (id.eps != NULL)
		for (i = 0; i < id.opened; i++)
			ep_close(&id.eps[i]);
	free(id.eps);
	srv_stop(&srv);
	return (bytes);
}

int
scen_idle(double bytes[2])
{
	if (bench.run_peerd &&
	    (bytes[0] = idle_one(SRV_PEERD, "idle-peerd")) < 0)
		return (-1);
	if (bench.run_other &&
	    (bytes[1] = idle_one(SRV_MOSQUITTO, "idle-mosquitto")) < 0)
		return (-1);
	return (0);
}
