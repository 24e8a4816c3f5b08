/*
 * scen_latency.c -- scenario 2: one pair ping-pong with 512-byte
 * messages.  Side 0 sends, side 1 echoes a message of its own the moment
 * it receives one (after queueing its Delivered / PUBACK), side 0 sends
 * the next when the echo arrives.  The figure is the ROUND TRIP (send to
 * echo received: two relays through the server), not half of it.
 *
 * bench.rtts round trips per server, in chunks of LAT_CHUNK that
 * alternate between the servers, each after a short warm-up.  On a shared
 * 2-core machine the tail is mostly the machine: a neighbour's burst puts
 * milliseconds into whichever chunk it hits.  So percentiles (nearest
 * rank) are taken per chunk and the BENCH line carries the median over
 * the chunks of each; the percentiles of all round trips pooled, and the
 * spread of the chunks' p99, go on # lines.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

#define LAT_SIZE	512	/* bytes a message */
#define LAT_CHUNK	2000	/* round trips per server before switching */
#define LAT_WARMUP	100	/* round trips before each chunk */

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

int
scen_latency(struct pairs *pd, struct pairs *mq, double p99[2])
{
	struct pairs	*sets[2] = { pd, mq };
	int64_t		*rtt[2] = { NULL, NULL }, *warm = NULL;
	double		*cp[2][3], med[3];
	uint64_t	 chunk, have[2] = { 0, 0 }, want;
	size_t		 maxchunks;
	int		 r, k, i, c, rc = -1, nchunks[2] = { 0, 0 };

	chunk = LAT_CHUNK;
	maxchunks = (size_t)bench.rtts / LAT_CHUNK + 1;
	memset(cp, 0, sizeof cp);
	for (k = 0; k < 2; k++)
		for (i = 0; i < 3; i++)
			if ((cp[k][i] = calloc(maxchunks, sizeof(double))) ==
			    NULL)
				goto out;
	for (k = 0; k < 2; k++)
		if (sets[k] == NULL)
			have[k] = (uint64_t)bench.rtts;	/* nothing to do */
	if ((rtt[0] = calloc((size_t)bench.rtts, sizeof(int64_t))) == NULL ||
	    (rtt[1] = calloc((size_t)bench.rtts, sizeof(int64_t))) == NULL ||
	    (warm = calloc(LAT_WARMUP, sizeof(int64_t))) == NULL)
		goto out;
	for (r = 0; have[0] < (uint64_t)bench.rtts ||
	    have[1] < (uint64_t)bench.rtts; r++)
		for (k = 0; k < 2; k++) {
			if (sets[k] == NULL)
				continue;
			want = (uint64_t)bench.rtts - have[k];
			if (want > chunk)
				want = chunk;
			if (pairs_pingpong(sets[k], LAT_SIZE, LAT_WARMUP,
			    warm) == -1 ||
			    pairs_pingpong(sets[k], LAT_SIZE, want,
			    rtt[k] + have[k]) == -1 ||
			    pairs_check(sets[k], "latency") == -1)
				goto out;
			qsort(rtt[k] + have[k], want, sizeof(int64_t),
			    lat_cmp);
			c = nchunks[k]++;
			cp[k][0][c] = lat_pct(rtt[k] + have[k], want, 0.50);
			cp[k][1][c] = lat_pct(rtt[k] + have[k], want, 0.99);
			cp[k][2][c] = lat_pct(rtt[k] + have[k], want, 0.999);
			have[k] += want;
		}
	for (k = 0; k < 2; k++) {
		if (sets[k] == NULL)
			continue;
		qsort(rtt[k], have[k], sizeof(int64_t), lat_cmp);
		printf("# latency server=%s pooled rtts=%llu p50_us=%.1f "
		    "p99_us=%.1f p999_us=%.1f\n", srv_name(sets[k]->srv),
		    (unsigned long long)have[k], lat_pct(rtt[k], have[k], 0.50),
		    lat_pct(rtt[k], have[k], 0.99),
		    lat_pct(rtt[k], have[k], 0.999));
		for (i = 0; i < 3; i++)
			med[i] = stat_median(cp[k][i], nchunks[k]); /* sorts */
		printf("# latency server=%s chunks=%d of %d rtts: p99_us "
		    "min=%.1f max=%.1f\n", srv_name(sets[k]->srv),
		    nchunks[k], LAT_CHUNK, cp[k][1][0],
		    cp[k][1][nchunks[k] - 1]);
		p99[k] = med[1];
		printf("BENCH latency server=%s size=%d p50_us=%.1f "
		    "p99_us=%.1f p999_us=%.1f\n", srv_name(sets[k]->srv),
		    LAT_SIZE, med[0], med[1], med[2]);
		fflush(stdout);
	}
	rc = 0;
out:
	free(rtt[0]);
	free(rtt[1]);
	free(warm);
	for (k = 0; k < 2; k++)
		for (i = 0; i < 3; i++)
			free(cp[k][i]);
	return (rc);
}
