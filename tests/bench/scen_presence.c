/*
 * scen_presence.c -- scenario 5: presence churn under relay load.
 *
 * bench.supporters more supporters come online on the relay testbed's
 * peerd, each with its own credential (signed here, ids churn-<i>,
 * capacity 1), and say SetAvailability AVAILABLE.  No requester waits, so
 * nobody is offered to them.  Then rounds alternate:
 *
 *   churn on   bench.changes SetAvailability a second, round robin over
 *              the supporters, each toggling AVAILABLE <-> AWAY, paced
 *              from a 10 ms timer against the clock; the 512-byte relay
 *              round of scenario 1 runs meanwhile;
 *   churn off  the same relay round with the supporters connected and
 *              still (printed as a # line: it separates the cost of the
 *              connections from the cost of the changes).
 *
 * Redis commands a second come from INFO stats total_commands_processed,
 * summed over the whole churn-on rounds (see churn_redis).
 *
 * relay_loss_pct compares the median messages a second of the churn-on
 * rounds with that of the churn-off rounds: the same relay round of
 * scenario 1 on the same testbed, interleaved with them, so the two meet
 * the same minutes of a shared machine and differ only by the churn.
 * (Against scenario 1's own median, taken minutes earlier, the figure moved
 * by 0-6 points from run to run on this machine with the churn cost
 * unchanged: that comparison is a # line, with the loss in messages per
 * server CPU-second.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "load.h"

#define CHURN_SIZE	512	/* bytes, the relay message size */
#define CHURN_INFLIGHT	256	/* supporters being set up at once */
#define CHURN_TICK_MS	10	/* ms between pacing checks */
#define CHURN_UP_MS	300000	/* ms for all supporters to be available */

struct churn {
	struct srv	*srv;
	struct ep	*eps;
	struct cred	*creds;
	uint8_t		*away;		/* current status of each */
	int		 n;
	int		 opened, ready, lost, failed;
	uint64_t	 oks;		/* Ok replies to SetAvailability */
	uint64_t	 sent;		/* changes sent while churning */
	int		 next;
	struct event	*ev;
	int64_t		 start_ns;
	uint64_t	 start_sent;
};

static void
churn_ready(struct ep *ep)
{
	struct churn	*ch = ep->arg;

	ch->ready++;
	(void)ep_set_availability(ep, PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
}

static void
churn_ok(struct ep *ep)
{
	struct churn	*ch = ep->arg;

	ch->oks++;
}

static void
churn_closed(struct ep *ep, const char *why)
{
	struct churn	*ch = ep->arg;

	if (ch->lost++ == 0)
		fprintf(stderr, "bench: presence: supporter %u lost: %s\n",
		    ep->index, why);
}

static const struct ep_ops churn_ops = {
	churn_ready, NULL, NULL, NULL, churn_ok, churn_closed
};

/* Condition and driver: bring supporters up, a few hundred at a time. */
static int
churn_step(void *arg)
{
	struct churn	*ch = arg;
	struct ep	*ep;

	while (!ch->failed && ch->opened < ch->n &&
	    ch->opened - (int)ch->oks - ch->lost < CHURN_INFLIGHT) {
		ep = &ch->eps[ch->opened];
		ep_init(ep, EP_PEERD, &churn_ops, ch);
		ep->role = PEERD__V1__ROLE__SUPPORTER;
		ep->cred = &ch->creds[ch->opened];
		ep->index = (uint32_t)ch->opened;
		if (ep_open(ep, ch->srv->port) == -1)
			ch->failed = 1;
		ch->opened++;
	}
	return (ch->failed || ch->lost > 0 || ch->oks >= (uint64_t)ch->n);
}

/* Timer: send the changes the clock says are due. */
static void
churn_tick(evutil_socket_t fd, short what, void *arg)
{
	struct churn	*ch = arg;
	uint64_t	 due;
	int		 i;

	(void)fd;
	(void)what;
	due = ch->start_sent + (uint64_t)((double)(loop_now_ns() -
	    ch->start_ns) * bench.changes / 1e9);
	while (ch->sent < due) {
		i = ch->next;
		ch->next = (ch->next + 1) % ch->n;
		ch->away[i] ^= 1;
		(void)ep_set_availability(&ch->eps[i], ch->away[i] ?
		    PEERD__V1__SUPPORTER_STATUS__AWAY :
		    PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
		ch->sent++;
	}
}

/* Start or stop the churn timer. */
static int
churn_run(struct churn *ch, int on)
{
	struct timeval	tv = { 0, CHURN_TICK_MS * 1000 };

	if (!on)
		return (event_del(ch->ev));
	ch->start_ns = loop_now_ns();
	ch->start_sent = ch->sent;
	return (event_add(ch->ev, &tv));
}

/* Sign the credentials and bring every supporter up.  0 or -1. */
static int
churn_setup(struct churn *ch)
{
	char	id[64];
	double	t0;
	int	i;

	ch->n = bench.supporters;
	if ((ch->eps = calloc((size_t)ch->n, sizeof *ch->eps)) == NULL ||
	    (ch->creds = calloc((size_t)ch->n, sizeof *ch->creds)) == NULL ||
	    (ch->away = calloc((size_t)ch->n, 1)) == NULL ||
	    (ch->ev = event_new(loop_base, -1, EV_PERSIST, churn_tick,
	    ch)) == NULL)
		return (-1);
	t0 = loop_now_s();
	for (i = 0; i < ch->n; i++) {
		snprintf(id, sizeof id, "churn-%d", i);
		if (creds_make(&ch->creds[i], id) == -1)
			return (-1);
	}
	printf("# presence signed=%d in_s=%.2f\n", ch->n, loop_now_s() - t0);
	t0 = loop_now_s();
	if (loop_until(churn_step, ch, CHURN_UP_MS) == -1 || ch->failed ||
	    ch->lost > 0) {
		fprintf(stderr, "bench: presence: %llu of %d supporters "
		    "available\n", (unsigned long long)ch->oks, ch->n);
		srv_check(ch->srv);
		return (-1);
	}
	printf("# presence supporters=%d available_in_s=%.1f\n", ch->n,
	    loop_now_s() - t0);
	fflush(stdout);
	return (0);
}

/* Close the supporters and free everything. */
static void
churn_free(struct churn *ch)
{
	int	i;

	if (ch->ev != NULL)
		event_free(ch->ev);
	if (ch->eps != NULL)
		for (i = 0; i < ch->opened; i++)
			ep_close(&ch->eps[i]);
	if (ch->creds != NULL)
		for (i = 0; i < ch->n; i++)
			creds_clear(&ch->creds[i]);
	free(ch->eps);
	free(ch->creds);
	free(ch->away);
}

/*
 * Redis commands over whole rounds, warm-up and draining included: with
 * 10,000 supporters peerd's presence heartbeat rewrites every record each
 * presence_ttl/3 (10 s) in one burst, so a 3-5 s window alone would catch
 * it or not by chance.  Call before and after each stretch.
 */
struct churn_redis {
	uint64_t	 at;		/* commands at the stretch's start */
	double		 t0;
	int		 open;
	double		 n;		/* commands in closed stretches */
	double		 secs;		/* their duration */
};

/* Open or close a stretch.  Returns 0 or -1. */
static int
churn_redis(struct churn *ch, struct churn_redis *c)
{
	uint64_t	now;

	if (srv_redis_commands(ch->srv, &now) == -1) {
		fprintf(stderr, "bench: presence: Redis INFO failed\n");
		return (-1);
	}
	if (!c->open) {
		c->at = now;
		c->t0 = loop_now_s();
		c->open = 1;
		return (0);
	}
	c->n += (double)(now - c->at - 1);	/* less the INFO itself */
	c->secs += loop_now_s() - c->t0;
	c->open = 0;
	return (0);
}

int
scen_presence(struct pairs *set, double baseline)
{
	struct churn		 ch;
	struct relay_result	 one;
	struct churn_redis	 cmds[2];	/* churn on, off */
	double			*on_rate, *on_chg, *off_rate;
	double			*on_cpu, *off_cpu, loss;
	double			 on_med, off_med, on_cpu_med, off_cpu_med;
	int			 r, rc = -1;

	memset(&ch, 0, sizeof ch);
	ch.srv = set->srv;
	on_rate = calloc((size_t)bench.rounds, sizeof(double));
	on_chg = calloc((size_t)bench.rounds, sizeof(double));
	off_rate = calloc((size_t)bench.rounds, sizeof(double));
	on_cpu = calloc((size_t)bench.rounds, sizeof(double));
	off_cpu = calloc((size_t)bench.rounds, sizeof(double));
	memset(cmds, 0, sizeof cmds);
	if (on_rate == NULL || on_chg == NULL || off_rate == NULL ||
	    on_cpu == NULL || off_cpu == NULL)
		goto out;
	if (churn_setup(&ch) == -1)
		goto out;
	for (r = 0; r < bench.rounds; r++) {
		if (churn_redis(&ch, &cmds[0]) == -1 || churn_run(&ch, 1) == -1 ||
		    relay_round(set, CHURN_SIZE, &one, &ch.oks) == -1)
			goto out;
		churn_run(&ch, 0);
		if (churn_redis(&ch, &cmds[0]) == -1)
			goto out;
		on_rate[r] = one.msgs_per_s;
		on_chg[r] = one.changes_per_s;
		on_cpu[r] = one.msgs_per_cpu_s;
		printf("# presence churn=on round=%d msgs_per_s=%.0f "
		    "msgs_per_cpu_s=%.0f changes_per_s=%.0f "
		    "window_redis_cmds_per_s=%.0f faults_per_msg=%.2f\n",
		    r + 1, one.msgs_per_s, one.msgs_per_cpu_s,
		    one.changes_per_s, one.redis_cmds_per_s,
		    one.faults_per_msg);
		/* Let the last changes land before the quiet round. */
		loop_run_for(200);
		if (churn_redis(&ch, &cmds[1]) == -1 ||
		    relay_round(set, CHURN_SIZE, &one, NULL) == -1 ||
		    churn_redis(&ch, &cmds[1]) == -1)
			goto out;
		off_rate[r] = one.msgs_per_s;
		off_cpu[r] = one.msgs_per_cpu_s;
		printf("# presence churn=off round=%d msgs_per_s=%.0f "
		    "msgs_per_cpu_s=%.0f window_redis_cmds_per_s=%.0f "
		    "faults_per_msg=%.2f\n", r + 1, one.msgs_per_s,
		    one.msgs_per_cpu_s, one.redis_cmds_per_s,
		    one.faults_per_msg);
		fflush(stdout);
	}
	if (ch.lost > 0 || srv_check(ch.srv) == -1)
		goto out;
	on_med = stat_median(on_rate, bench.rounds);
	off_med = stat_median(off_rate, bench.rounds);
	on_cpu_med = stat_median(on_cpu, bench.rounds);
	off_cpu_med = stat_median(off_cpu, bench.rounds);
	loss = (off_med - on_med) / off_med * 100;
	printf("# presence churn_off_msgs_per_s=%.0f churn_on_msgs_per_s=%.0f "
	    "churn_off_redis_cmds_per_s=%.0f changes_done_per_s=%.0f\n",
	    off_med, on_med, cmds[1].n / cmds[1].secs,
	    stat_median(on_chg, bench.rounds));
	if (baseline > 0)
		printf("# presence scenario1_msgs_per_s=%.0f "
		    "loss_vs_scenario1_pct=%.1f\n", baseline,
		    (baseline - on_med) / baseline * 100);
	printf("# presence msgs_per_cpu_s churn_on=%.0f churn_off=%.0f "
	    "cpu_loss_pct=%.1f\n", on_cpu_med, off_cpu_med,
	    (off_cpu_med - on_cpu_med) / off_cpu_med * 100);
	printf("BENCH presence supporters=%d changes_per_s=%d "
	    "redis_cmds_per_s=%.0f relay_loss_pct=%.1f\n", bench.supporters,
	    bench.changes, cmds[0].n / cmds[0].secs, loss);
	printf("# target relay_loss_pct < 5 %s (per server CPU-second: %s)\n",
	    loss < 5 ? "met" : "NOT MET",
	    (off_cpu_med - on_cpu_med) / off_cpu_med * 100 < 5 ? "met" :
	    "NOT MET");
	fflush(stdout);
	rc = 0;
out:
	if (ch.ev != NULL)
		churn_run(&ch, 0);
	churn_free(&ch);
	free(on_rate);
	free(on_chg);
	free(off_rate);
	free(on_cpu);
	free(off_cpu);
	return (rc);
}
