/*
 * scen_handshake.c -- scenario 4: full TLS 1.3 handshakes per second of
 * server CPU, peerd against openssl s_server on the same ECDSA P-256
 * certificate and key.
 *
 * HS_INFLIGHT connections at a time; each is counted the moment the
 * client's handshake completes (server Finished verified) and is closed
 * at once (no close_notify; peerd sees EOF in its Hello state), and a new
 * one is opened in its place.  The client keeps no session, so no
 * handshake is resumed (checked).  Rounds alternate between the servers;
 * each is bench.warmup seconds of warm-up then bench.seconds measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

#define HS_INFLIGHT	16	/* handshakes in progress at once */
#define HS_MAX_FAILS	100	/* failed connections tolerated per round */

struct hs {
	struct srv	*srv;
	struct tconn	 tc[HS_INFLIGHT];
	int		 running;
	uint64_t	 done;
	uint64_t	 resumed;
	int		 fails;
};

static void	hs_up(struct tconn *);
static void	hs_closed(struct tconn *, const char *);

static const struct tconn_ops hs_ops = { hs_up, NULL, hs_closed };

/* Open slot t again while the round runs. */
static void
hs_next(struct hs *hs, struct tconn *t)
{
	if (!hs->running)
		return;
	if (tconn_open(t, hs->srv->port, &hs_ops, hs) == -1)
		hs->fails++;
}

/* Handshake complete: count, close, go again. */
static void
hs_up(struct tconn *t)
{
	struct hs	*hs = t->arg;

	hs->done++;
	if (tconn_resumed(t))
		hs->resumed++;
	tconn_close(t);
	hs_next(hs, t);
}

static void
hs_closed(struct tconn *t, const char *why)
{
	struct hs	*hs = t->arg;

	if (hs->fails++ == 0)
		fprintf(stderr, "bench: handshake %s: %s\n",
		    srv_name(hs->srv), why);
	hs_next(hs, t);
}

/* One round on one server: handshakes per server CPU-second, or -1. */
static double
hs_round(struct srv *srv, double *rate)
{
	struct hs	 hs;
	int64_t		 t0, t1, c0, c1;
	uint64_t	 d0, d1;
	int		 i;

	memset(&hs, 0, sizeof hs);
	hs.srv = srv;
	hs.running = 1;
	for (i = 0; i < HS_INFLIGHT; i++)
		hs_next(&hs, &hs.tc[i]);
	loop_run_for((int)(bench.warmup * 1000));
	t0 = loop_now_ns();
	c0 = srv_cpu_us(srv);
	d0 = hs.done;
	loop_run_for((int)(bench.seconds * 1000));
	d1 = hs.done;
	c1 = srv_cpu_us(srv);
	t1 = loop_now_ns();
	hs.running = 0;
	for (i = 0; i < HS_INFLIGHT; i++)
		tconn_close(&hs.tc[i]);
	if (srv_check(srv) == -1)
		return (-1);
	if (hs.fails > HS_MAX_FAILS || hs.resumed > 0 || c1 <= c0 ||
	    c0 < 0) {
		fprintf(stderr, "bench: handshake %s: failed=%d resumed=%llu "
		    "cpu_us=%lld\n", srv_name(srv), hs.fails,
		    (unsigned long long)hs.resumed, (long long)(c1 - c0));
		return (-1);
	}
	*rate = (double)(d1 - d0) / ((double)(t1 - t0) / 1e9);
	return ((double)(d1 - d0) / ((double)(c1 - c0) / 1e6));
}

int
scen_handshake(double per_cpu_s[2])
{
	struct srv	 srv[2];
	int		 on[2] = { bench.run_peerd, bench.run_other };
	double		*v[2] = { NULL, NULL }, rate;
	int		 r, k, rc = -1;

	srv[0].pid = srv[0].redis_pid = srv[1].pid = srv[1].redis_pid = -1;
	if ((on[0] && srv_start(&srv[0], SRV_PEERD, "hs-peerd") == -1) ||
	    (on[1] && srv_start(&srv[1], SRV_S_SERVER, "hs-s_server") == -1))
		goto out;
	if ((v[0] = calloc((size_t)bench.rounds, sizeof(double))) == NULL ||
	    (v[1] = calloc((size_t)bench.rounds, sizeof(double))) == NULL)
		goto out;
	for (r = 0; r < bench.rounds; r++)
		for (k = 0; k < 2; k++) {
			if (!on[k])
				continue;
			if ((v[k][r] = hs_round(&srv[k], &rate)) < 0)
				goto out;
			printf("# handshake server=%s round=%d per_s=%.0f "
			    "per_cpu_s=%.0f\n", srv_name(&srv[k]), r + 1,
			    rate, v[k][r]);
			fflush(stdout);
		}
	for (k = 0; k < 2; k++) {
		if (!on[k])
			continue;
		per_cpu_s[k] = stat_median(v[k], bench.rounds);
		printf("BENCH handshake server=%s per_cpu_s=%.0f\n",
		    srv_name(&srv[k]), per_cpu_s[k]);
		fflush(stdout);
	}
	rc = 0;
out:
	for (k = 0; k < 2; k++)
		if (on[k])
			srv_stop(&srv[k]);
	free(v[0]);
	free(v[1]);
	return (rc);
}
