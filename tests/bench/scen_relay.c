/*
 * scen_relay.c -- scenario 1, throughput: bench.pairs pairs with
 * bench.window messages in flight per pair (half each way), for each
 * message size, against peerd and mosquitto in alternating rounds.
 *
 * A round: start the window, bench.warmup seconds of warm-up, then
 * bench.seconds measured: messages done (pairs.c) per wall second and per
 * second of server CPU (utime + stime of the server process from
 * /proc/PID/stat; peerd's redis-server is not counted, it is not on the
 * message path).  Then the traffic drains completely, so every round
 * starts from an idle server and nothing is left held.  The BENCH line
 * carries the median of the rounds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "load.h"

#define RELAY_DRAIN_MS	15000	/* ms for a round's traffic to settle */

/* Order doubles. */
static int
stat_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

double
stat_median(double *v, int n)
{
	if (n <= 0)
		return (0);
	qsort(v, (size_t)n, sizeof *v, stat_cmp);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

int
relay_round(struct pairs *set, size_t size, struct relay_result *res,
    const uint64_t *counter)
{
	struct srv	*s = set->srv;
	int64_t		 t0, t1, c0, c1, m0, m1;
	uint64_t	 d0, d1, r0 = 0, r1 = 0, k0 = 0, k1 = 0;
	uint64_t	 sc0 = 0, sc1 = 0, mf0 = 0, mf1 = 0;
	double		 secs, cpu;
	int		 redis;

	pairs_relay_start(set, size, bench.window);
	loop_run_for((int)(bench.warmup * 1000));
	redis = s->kind == SRV_PEERD && srv_redis_commands(s, &r0) == 0;
	k0 = counter != NULL ? *counter : 0;
	t0 = loop_now_ns();
	c0 = srv_cpu_us(s);
	(void)proc_counters(s->pid, &sc0, &mf0);
	m0 = proc_self_cpu_us();
	d0 = set->done;
	loop_run_for((int)(bench.seconds * 1000));
	d1 = set->done;
	m1 = proc_self_cpu_us();
	(void)proc_counters(s->pid, &sc1, &mf1);
	c1 = srv_cpu_us(s);
	t1 = loop_now_ns();
	k1 = counter != NULL ? *counter : 0;
	if (redis && srv_redis_commands(s, &r1) != 0)
		redis = 0;
	if (pairs_drain(set, RELAY_DRAIN_MS) == -1 ||
	    pairs_check(set, "relay") == -1 || srv_check(s) == -1)
		return (-1);
	secs = (double)(t1 - t0) / 1e9;
	cpu = (double)(c1 - c0) / 1e6;
	if (c0 < 0 || c1 < 0 || cpu <= 0 || secs <= 0) {
		fprintf(stderr, "bench: %s: no CPU time measured\n",
		    srv_name(s));
		return (-1);
	}
	res->msgs_per_s = (double)(d1 - d0) / secs;
	res->msgs_per_cpu_s = (double)(d1 - d0) / cpu;
	res->cpu_share = cpu / secs;
	res->self_share = (double)(m1 - m0) / 1e6 / secs;
	res->syscalls_per_msg = d1 > d0 ? (double)(sc1 - sc0) / (d1 - d0) : 0;
	res->faults_per_msg = d1 > d0 ? (double)(mf1 - mf0) / (d1 - d0) : 0;
	/* The second INFO counts itself: one command less. */
	res->redis_cmds_per_s = redis ? (double)(r1 - r0 - 1) / secs : -1;
	res->changes_per_s = (double)(k1 - k0) / secs;
	return (0);
}

int
scen_relay(struct pairs *pd, struct pairs *mq, struct relay_result res[2][4])
{
	struct pairs		*sets[2] = { pd, mq };
	struct relay_result	 one;
	double			*rate[2], *per_cpu[2];
	int			 si, r, k, rc = -1;

	rate[0] = calloc((size_t)bench.rounds, sizeof(double));
	rate[1] = calloc((size_t)bench.rounds, sizeof(double));
	per_cpu[0] = calloc((size_t)bench.rounds, sizeof(double));
	per_cpu[1] = calloc((size_t)bench.rounds, sizeof(double));
	if (rate[0] == NULL || rate[1] == NULL || per_cpu[0] == NULL ||
	    per_cpu[1] == NULL)
		goto out;
	for (si = 0; si < bench.nsizes; si++) {
		for (r = 0; r < bench.rounds; r++)
			for (k = 0; k < 2; k++) {
				if (sets[k] == NULL)
					continue;
				if (relay_round(sets[k],
				    (size_t)bench.sizes[si], &one, NULL) == -1)
					goto out;
				rate[k][r] = one.msgs_per_s;
				per_cpu[k][r] = one.msgs_per_cpu_s;
				printf("# relay server=%s size=%d round=%d "
				    "msgs_per_s=%.0f msgs_per_cpu_s=%.0f "
				    "server_cpu=%.0f%% bench_cpu=%.0f%% "
				    "syscalls_per_msg=%.2f faults_per_msg=%.2f\n",
				    srv_name(sets[k]->srv), bench.sizes[si],
				    r + 1, one.msgs_per_s, one.msgs_per_cpu_s,
				    one.cpu_share * 100, one.self_share * 100,
				    one.syscalls_per_msg, one.faults_per_msg);
				fflush(stdout);
			}
		for (k = 0; k < 2; k++) {
			if (sets[k] == NULL)
				continue;
			res[k][si].msgs_per_s = stat_median(rate[k],
			    bench.rounds);
			res[k][si].msgs_per_cpu_s = stat_median(per_cpu[k],
			    bench.rounds);
			printf("BENCH relay server=%s size=%d pairs=%d "
			    "msgs_per_s=%.0f msgs_per_cpu_s=%.0f\n",
			    srv_name(sets[k]->srv), bench.sizes[si],
			    bench.pairs, res[k][si].msgs_per_s,
			    res[k][si].msgs_per_cpu_s);
			fflush(stdout);
		}
	}
	rc = 0;
out:
	for (k = 0; k < 2; k++) {
		free(rate[k]);
		free(per_cpu[k]);
	}
	return (rc);
}
