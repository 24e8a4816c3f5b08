/*
 * stats.c -- what operators see: StatsRequest -> StatsReply.
 *
 * Counts only: no ids, names or text.  Waits of recent matches sit in a
 * bounded ring (STATS_WAITS entries); the percentiles cover those of the
 * last STATS_WAIT_WINDOW seconds, so on a busy service they describe the
 * most recent STATS_WAITS matches of that hour.
 */
#include <stdlib.h>
#include <string.h>

#include "peerd.h"

/* One match: when it happened and how long its requester waited. */
struct stats_wait_entry {
	uint64_t	at_ms;
	uint32_t	wait_s;
};

static struct stats_wait_entry	stats_waits[STATS_WAITS];
static u_int			stats_nwaits;	/* filled, <= STATS_WAITS */
static u_int			stats_next;	/* where the next goes */

/* Record the wait of a requester just matched (ms). */
void
stats_wait(uint64_t wait_ms)
{
	stats_waits[stats_next].at_ms = util_now_ms();
	stats_waits[stats_next].wait_s = wait_ms / 1000 > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)(wait_ms / 1000);
	stats_next = (stats_next + 1) % STATS_WAITS;
	if (stats_nwaits < STATS_WAITS)
		stats_nwaits++;
}

/* Order waits for qsort. */
static int
stats_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

/* Fill p50 and p90 (nearest rank) of the waits in the window. */
static void
stats_percentiles(uint64_t now, uint32_t *p50, uint32_t *p90)
{
	static uint32_t	v[STATS_WAITS];
	uint64_t	since;
	u_int		i, n = 0;

	since = now > (uint64_t)STATS_WAIT_WINDOW * 1000 ?
	    now - (uint64_t)STATS_WAIT_WINDOW * 1000 : 0;
	for (i = 0; i < stats_nwaits; i++) {
		if (stats_waits[i].at_ms >= since)
			v[n++] = stats_waits[i].wait_s;
	}
	*p50 = *p90 = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof v[0], stats_cmp);
	*p50 = v[(n * 50 + 99) / 100 - 1];
	*p90 = v[(n * 90 + 99) / 100 - 1];
}

/* StatsRequest: answer StatsReply. */
void
stats_request(struct conn *c, const Envelope *env)
{
	Peerd__V1__StatsReply	 sr = PEERD__V1__STATS_REPLY__INIT;
	Peerd__V1__TagStat	 ts[CONF_TAGS_MAX], *tsp[CONF_TAGS_MAX];
	Envelope		 reply = PEERD__V1__ENVELOPE__INIT;
	struct matcher_stats	*ms;
	uint32_t		 waiting[CONF_TAGS_MAX];
	uint64_t		 now = util_now_ms();
	u_int			 t, avail, away, brk;

	ms = xmalloc(sizeof *ms);	/* ~2.5 KiB: not on the stack */
	matcher_stats(match_matcher, now, ms);
	memset(waiting, 0, sizeof waiting);
	match_tag_waiting(waiting);
	supporter_counts(&avail, &away, &brk);

	sr.queue_waiting = match_queued();
	sr.oldest_wait_s = (uint32_t)(ms->oldest_wait_ms / 1000);
	stats_percentiles(now, &sr.wait_p50_s, &sr.wait_p90_s);
	for (t = 0; t < conf.ntags; t++) {
		peerd__v1__tag_stat__init(&ts[t]);
		ts[t].tag = conf.tags[t].name;
		ts[t].waiting = waiting[t];
		ts[t].available_capacity = ms->supply[t];
		tsp[t] = &ts[t];
	}
	sr.n_tags = conf.ntags;
	sr.tags = tsp;
	sr.supporters_available = avail;
	sr.supporters_away = away;
	sr.supporters_on_break = brk;
	sr.conversations_active = conv_count();
	sr.matches_total = stats.matches;
	sr.offers_accepted = stats.offers_accepted;
	sr.offers_declined = stats.offers_declined;
	sr.offers_timed_out = stats.offers_timed_out;
	sr.reports_total = stats.reports;
	sr.messages_relayed = stats.messages_relayed;
	sr.redis_up = redis_is_up();
	free(ms);

	reply.id = env->id;
	reply.body_case = BODY(STATS_REPLY);
	reply.stats_reply = &sr;
	conn_send(c, &reply);
}
