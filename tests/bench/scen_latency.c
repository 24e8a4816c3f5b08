/*
 * scen_latency.c -- scenario 2: one pair ping-pong with 512-byte
 * messages.  Side 0 sends, side 1 echoes a message of its own the moment
 * it receives one (after queueing its Delivered / PUBACK), side 0 sends
 * the next when the echo arrives.  The figure is the ROUND TRIP (send to
 * echo received: two relays through the server), not half of it.
 *
 * The two servers take turns round trip by round trip (a peerd round
 * trip, a mosquitto one, a peerd one, ...): on a shared 2-core machine the
 * tail is mostly the neighbours, and this way both servers meet the same
 * moments of it, so the ratio stays fair even when the absolute tail does
 * not.  LAT_WARMUP round trips each first, not counted; then bench.rtts
 * each; percentiles are nearest-rank over all of them.  A # line adds
 * each server's CPU time, system calls and page faults per round trip
 * (the CPU of the two servers is told apart by PID).
 *
 * Then the same again with the bench and both servers pinned to one CPU
 * (# lines only, pinned=1): no wake-up then crosses CPUs, so the round
 * trip is the two programs' own work plus one core's context switches,
 * without the inter-processor interrupts and idle exits of a virtual
 * machine's CPUs that dominate the unpinned figure here.  It tells what
 * the server's own code costs from what the machine adds.
 */
#include <sched.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "load.h"

#define LAT_SIZE	512	/* bytes a message */
#define LAT_WARMUP	1000	/* round trips each before measuring */

/* Order int64_t. */
static int
lat_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Nearest-rank percentile q (0-1] of sorted v[n], in microseconds. */
static double
lat_pct(const int64_t *v, uint64_t n, double q)
{
	uint64_t	rank = (uint64_t)ceil(q * (double)n);

	if (n == 0)
		return (0);
	if (rank < 1)
		rank = 1;
	return ((double)v[rank - 1] / 1000.0);
}

/* Write every round trip, in the order taken, to bench.dump_rtt. */
static void
lat_dump(struct pairs *a, struct pairs *b, int64_t *rtt[2], uint64_t n)
{
	FILE		*f;
	uint64_t	 i;

	if ((f = fopen(bench.dump_rtt, "w")) == NULL) {
		fprintf(stderr, "bench: cannot write %s\n", bench.dump_rtt);
		return;
	}
	fprintf(f, "# i server rtt_us\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "%llu %s %.1f\n", (unsigned long long)i,
		    srv_name(a->srv), (double)rtt[0][i] / 1000);
		if (b != NULL)
			fprintf(f, "%llu %s %.1f\n", (unsigned long long)i,
			    srv_name(b->srv), (double)rtt[1][i] / 1000);
	}
	fclose(f);
}

/*
 * Ping-pong n round trips through a (and b, alternating) after the
 * warm-up; print the # and (unless pinned) BENCH lines and set p99[] by
 * server (0 peerd, 1 the other).  Returns 0 or -1.
 */
static int
lat_measure(struct pairs *pd, struct pairs *mq, uint64_t n, int pinned,
    double p99[2])
{
	struct pairs	*sets[2] = { pd, mq }, *a, *b;
	int64_t		*rtt[2] = { NULL, NULL }, *warm[2] = { NULL, NULL };
	int64_t		 c0[2] = { 0, 0 }, c1[2] = { 0, 0 };
	uint64_t	 sc0[2] = { 0, 0 }, sc1[2] = { 0, 0 };
	uint64_t	 mf0[2] = { 0, 0 }, mf1[2] = { 0, 0 };
	int		 k, rc = -1;

	a = pd != NULL ? pd : mq;
	b = pd != NULL ? mq : NULL;
	for (k = 0; k < 2; k++)
		if ((rtt[k] = calloc(n, sizeof(int64_t))) == NULL ||
		    (warm[k] = calloc(LAT_WARMUP, sizeof(int64_t))) == NULL)
			goto out;
	if (pairs_pingpong(a, b, LAT_SIZE, LAT_WARMUP, warm[0], warm[1]) ==
	    -1)
		goto out;
	for (k = 0; k < 2; k++)
		if (sets[k] != NULL) {
			c0[k] = srv_cpu_us(sets[k]->srv);
			(void)proc_counters(sets[k]->srv->pid, &sc0[k],
			    &mf0[k]);
		}
	if (pairs_pingpong(a, b, LAT_SIZE, n, rtt[0], rtt[1]) == -1 ||
	    pairs_check(a, "latency") == -1 ||
	    (b != NULL && pairs_check(b, "latency") == -1))
		goto out;
	for (k = 0; k < 2; k++)
		if (sets[k] != NULL) {
			c1[k] = srv_cpu_us(sets[k]->srv);
			(void)proc_counters(sets[k]->srv->pid, &sc1[k],
			    &mf1[k]);
		}
	if (bench.dump_rtt != NULL && !pinned)
		lat_dump(a, b, rtt, n);
	for (k = 0; k < 2; k++) {
		/* rtt[0] belongs to a, rtt[1] to b. */
		struct pairs	*set = k == 0 ? a : b;
		int		 s = set == pd ? 0 : 1;

		if (set == NULL)
			continue;
		qsort(rtt[k], n, sizeof(int64_t), lat_cmp);
		p99[s] = lat_pct(rtt[k], n, 0.99);
		printf("# latency server=%s pinned=%d rtts=%llu min_us=%.1f "
		    "max_us=%.1f; per rtt: server_cpu_us=%.1f syscalls=%.1f "
		    "faults=%.2f\n", srv_name(set->srv), pinned,
		    (unsigned long long)n, (double)rtt[k][0] / 1000,
		    (double)rtt[k][n - 1] / 1000,
		    (double)(c1[s] - c0[s]) / n, (double)(sc1[s] - sc0[s]) / n,
		    (double)(mf1[s] - mf0[s]) / n);
		printf("%s server=%s size=%d p50_us=%.1f p99_us=%.1f "
		    "p999_us=%.1f\n", pinned ? "# latency pinned=1" :
		    "BENCH latency", srv_name(set->srv), LAT_SIZE,
		    lat_pct(rtt[k], n, 0.50), p99[s],
		    lat_pct(rtt[k], n, 0.999));
		fflush(stdout);
	}
	rc = 0;
out:
	for (k = 0; k < 2; k++) {
		free(rtt[k]);
		free(warm[k]);
	}
	return (rc);
}

/*
 * Set the CPU affinity of this process and of each server to set (or,
 * with set NULL, back to saved[]).  Returns 0 or -1.
 */
static int
lat_pin(struct pairs *sets[2], const cpu_set_t *set, cpu_set_t saved[3])
{
	pid_t	pids[3] = { 0, -1, -1 };
	int	k;

	for (k = 0; k < 2; k++)
		if (sets[k] != NULL)
			pids[k + 1] = sets[k]->srv->pid;
	for (k = 0; k < 3; k++) {
		if (pids[k] == -1)
			continue;
		if (set != NULL && sched_getaffinity(pids[k],
		    sizeof saved[k], &saved[k]) == -1)
			return (-1);
		if (sched_setaffinity(pids[k], sizeof(cpu_set_t),
		    set != NULL ? set : &saved[k]) == -1)
			return (-1);
	}
	return (0);
}

int
scen_latency(struct pairs *pd, struct pairs *mq, double p99[2])
{
	struct pairs	*sets[2] = { pd, mq };
	cpu_set_t	 one, saved[3];
	double		 pp99[2] = { 0, 0 };
	int		 rc;

	if (pd == NULL && mq == NULL)
		return (0);
	if (lat_measure(pd, mq, (uint64_t)bench.rtts, 0, p99) == -1)
		return (-1);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (lat_pin(sets, &one, saved) == -1) {
		printf("# latency pinned=1 skipped: sched_setaffinity failed\n");
		return (0);
	}
	rc = lat_measure(pd, mq, (uint64_t)bench.rtts, 1, pp99);
	(void)lat_pin(sets, NULL, saved);
	if (rc == 0 && pp99[0] > 0 && pp99[1] > 0)
		printf("# latency pinned=1 ratio_p99=peerd/%s %.2f\n",
		    srv_name(mq->srv), pp99[0] / pp99[1]);
	return (rc);
}
