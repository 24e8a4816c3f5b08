/*
 * stats.c -- what operators see: StatsRequest -> StatsReply.
 *
 * Counts only: no ids, names or text.  Waits of recent matches sit in a
 * bounded ring (STATS_WAITS entries); the percentiles cover those of the
 * last STATS_WAIT_WINDOW seconds, so on a busy service they describe the
 * most recent STATS_WAITS matches of that hour.
 *
 * stats_snapshot() is the one place the figures are gathered: StatsReply
 * (peerctl), /metrics and /stats.json are all filled from it.  The wait
 * histogram counts every match since start (a Prometheus counter); the
 * history ring keeps one sample a minute for the status page's chart, in
 * memory only.
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

/* Bucket bounds of peerd_wait_seconds (seconds); 0 stands for +Inf. */
const uint32_t	stats_bucket_le[STATS_NBUCKETS] = {
	10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 0
};
static uint64_t			stats_buckets[STATS_NBUCKETS]; /* not
						   cumulative: one per match */
static uint64_t			stats_wait_count;
static uint64_t			stats_wait_sum_ms;

static struct stats_sample	stats_hist[STATS_HISTORY];
static u_int			stats_nhist;	/* filled */
static u_int			stats_hist_next; /* where the next goes */

/* Record the wait of a requester just matched (ms). */
void
stats_wait(uint64_t wait_ms)
{
	u_int	i;

	stats_waits[stats_next].at_ms = util_now_ms();
	stats_waits[stats_next].wait_s = wait_ms / 1000 > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)(wait_ms / 1000);
	stats_next = (stats_next + 1) % STATS_WAITS;
	if (stats_nwaits < STATS_WAITS)
		stats_nwaits++;

	for (i = 0; i < STATS_NBUCKETS - 1; i++) {
		if (wait_ms <= (uint64_t)stats_bucket_le[i] * 1000)
			break;
	}
	stats_buckets[i]++;
	stats_wait_count++;
	stats_wait_sum_ms += wait_ms;
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

/* Name a supporter status, as /metrics labels it. */
const char *
stats_status_name(enum stats_status st)
{
	static const char	*names[STATS_NSTATUS] = {
		"available", "away", "on_break", "offline"
	};

	return ((u_int)st < STATS_NSTATUS ? names[st] : "?");
}

/* Name a connection role, as /metrics labels it. */
const char *
stats_role_name(enum stats_role r)
{
	static const char	*names[STATS_NROLES] = {
		"requester", "supporter", "operator", "none"
	};

	return ((u_int)r < STATS_NROLES ? names[r] : "?");
}

/* Map a connection's role to its label. */
static enum stats_role
stats_role_of(Role role)
{
	switch (role) {
	case ROLE_REQUESTER:
		return (STATS_REQUESTER);
	case ROLE_SUPPORTER:
		return (STATS_SUPPORTER);
	case ROLE_OPERATOR:
		return (STATS_OPERATOR);
	default:
		return (STATS_NONE);
	}
}

/* Gather every operator figure into *sn (counts only). */
void
stats_snapshot(struct stats_snapshot *sn)
{
	struct matcher_stats	*ms;
	struct supporter	*s;
	struct conn		*c;
	uint32_t		 waiting[CONF_TAGS_MAX];
	uint64_t		 now = util_now_ms(), cum;
	u_int			 t, i, avail, away, brk;

	memset(sn, 0, sizeof *sn);
	sn->now = (int64_t)time(NULL);
	ms = xmalloc(sizeof *ms);	/* ~2.5 KiB: not on the stack */
	matcher_stats(match_matcher, now, ms);
	memset(waiting, 0, sizeof waiting);
	match_tag_waiting(waiting);

	sn->queue_waiting = match_queued();
	sn->oldest_wait_s = (uint32_t)(ms->oldest_wait_ms / 1000);
	stats_percentiles(now, &sn->wait_p50_s, &sn->wait_p90_s);
	sn->ntags = conf.ntags;
	for (t = 0; t < conf.ntags; t++) {
		sn->tags[t].name = conf.tags[t].name;
		sn->tags[t].description = conf.tags[t].description;
		sn->tags[t].waiting = waiting[t];
		sn->tags[t].capacity = ms->supply[t];
	}
	sn->capacity_total = ms->supply_total;
	free(ms);

	supporter_counts(&avail, &away, &brk);
	sn->supporters[STATS_AVAILABLE] = avail;
	sn->supporters[STATS_AWAY] = away;
	sn->supporters[STATS_ON_BREAK] = brk;
	TAILQ_FOREACH(s, &supporters, entry) {
		if (s->conn == NULL)
			sn->supporters[STATS_OFFLINE]++;
	}
	TAILQ_FOREACH(c, &conns, entry)
		sn->connections[stats_role_of(c->role)]++;

	sn->conversations_active = conv_count();
	sn->matches = stats.matches;
	sn->offers_accepted = stats.offers_accepted;
	sn->offers_declined = stats.offers_declined;
	sn->offers_timed_out = stats.offers_timed_out;
	sn->reports = stats.reports;
	sn->messages_relayed = stats.messages_relayed;
	sn->tls_failed = stats.tls_failed;
	sn->redis_up = redis_is_up();

	for (i = 0, cum = 0; i < STATS_NBUCKETS; i++) {
		cum += stats_buckets[i];
		sn->wait_buckets[i] = cum;
	}
	sn->wait_count = stats_wait_count;
	sn->wait_sum_ms = stats_wait_sum_ms;
}

/* Add one history sample: the queue and the waits now. */
void
stats_history_sample(void)
{
	struct stats_sample	*h = &stats_hist[stats_hist_next];
	struct matcher_stats	*ms;
	uint64_t		 now = util_now_ms();
	uint32_t		 p90;

	ms = xmalloc(sizeof *ms);
	matcher_stats(match_matcher, now, ms);
	h->t = (int64_t)time(NULL);
	h->waiting = match_queued();
	h->oldest_wait_s = (uint32_t)(ms->oldest_wait_ms / 1000);
	stats_percentiles(now, &h->wait_p50_s, &p90);
	free(ms);
	stats_hist_next = (stats_hist_next + 1) % STATS_HISTORY;
	if (stats_nhist < STATS_HISTORY)
		stats_nhist++;
}

/*
 * Return history sample i (0 = oldest) and set *n to how many there are;
 * NULL once i is past the last.
 */
const struct stats_sample *
stats_history(u_int i, u_int *n)
{
	*n = stats_nhist;
	if (i >= stats_nhist)
		return (NULL);
	return (&stats_hist[(stats_hist_next + STATS_HISTORY - stats_nhist +
	    i) % STATS_HISTORY]);
}

/* StatsRequest: answer StatsReply. */
void
stats_request(struct conn *c, const Envelope *env)
{
	Peerd__V1__StatsReply	 sr = PEERD__V1__STATS_REPLY__INIT;
	Peerd__V1__TagStat	 ts[CONF_TAGS_MAX], *tsp[CONF_TAGS_MAX];
	Envelope		 reply = PEERD__V1__ENVELOPE__INIT;
	struct stats_snapshot	*sn;
	u_int			 t;

	sn = xmalloc(sizeof *sn);	/* ~3.5 KiB: not on the stack */
	stats_snapshot(sn);
	sr.queue_waiting = sn->queue_waiting;
	sr.oldest_wait_s = sn->oldest_wait_s;
	sr.wait_p50_s = sn->wait_p50_s;
	sr.wait_p90_s = sn->wait_p90_s;
	for (t = 0; t < sn->ntags; t++) {
		peerd__v1__tag_stat__init(&ts[t]);
		ts[t].tag = (char *)sn->tags[t].name;
		ts[t].waiting = sn->tags[t].waiting;
		ts[t].available_capacity = sn->tags[t].capacity;
		tsp[t] = &ts[t];
	}
	sr.n_tags = sn->ntags;
	sr.tags = tsp;
	sr.supporters_available = sn->supporters[STATS_AVAILABLE];
	sr.supporters_away = sn->supporters[STATS_AWAY];
	sr.supporters_on_break = sn->supporters[STATS_ON_BREAK];
	sr.conversations_active = sn->conversations_active;
	sr.matches_total = sn->matches;
	sr.offers_accepted = sn->offers_accepted;
	sr.offers_declined = sn->offers_declined;
	sr.offers_timed_out = sn->offers_timed_out;
	sr.reports_total = sn->reports;
	sr.messages_relayed = sn->messages_relayed;
	sr.redis_up = sn->redis_up;

	reply.id = env->id;
	reply.body_case = BODY(STATS_REPLY);
	reply.stats_reply = &sr;
	conn_send(c, &reply);
	free(sn);
}
