/*
 * stats.c -- what operators and waiting requesters are told: a request's
 * position and estimated wait, and the queue and supply figures that show
 * where supply of peers fails demand.  These walk the queue (O(queued) plus
 * O(classes)); they are for dashboards and occasional polls, not for every
 * event.
 */

#include <stdint.h>
#include <string.h>

#include "matcher_int.h"

/* Position of request i among waiting requests competing with it. */
static uint32_t
stats_position(const struct matcher *m, uint32_t i, uint64_t now)
{
	const struct req	*r = &m->reqs[i], *o;
	tags_t			 req, pref, oreq, opref;
	uint32_t		 j, pos = 1;

	/*
	 * A request ahead of r competes with it when every supporter who
	 * could serve r could serve it too, as far as tags go (its required
	 * tags are a subset of r's) and they share a language.
	 */
	queue_effective(r, now, &req, &pref);
	for (j = 0; j < m->nreqs; j++) {
		o = &m->reqs[j];
		if (j == i || !(o->flags & REQ_USED) || o->sup != NONE ||
		    (o->langs & r->langs) == 0 || !queue_less(m, j, i))
			continue;
		queue_effective(o, now, &oreq, &opref);
		if (tags_subset(oreq, req))
			pos++;
	}
	return (pos);
}

/* Position of a request in the queue. */
int
matcher_position(struct matcher *m, uint64_t id, uint64_t now, uint32_t *pos)
{
	uint32_t	i;

	if ((i = queue_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	*pos = m->reqs[i].sup != NONE ? 0 : stats_position(m, i, now);
	return (MATCHER_OK);
}

/*
 * Estimated wait: position / rate, where rate is the recent rate of
 * confirmed matches by supporters who could serve the request (see
 * pool_rate).  A request with an offer out waits 0.
 */
int
matcher_eta(struct matcher *m, uint64_t id, uint64_t now, uint64_t *eta)
{
	const struct req	*r;
	tags_t			 req, pref;
	double			 rate;
	uint32_t		 i;

	if ((i = queue_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	r = &m->reqs[i];
	if (r->sup != NONE) {
		*eta = 0;
		return (MATCHER_OK);
	}
	queue_effective(r, now, &req, &pref);
	rate = pool_rate(m, req, r->langs, now);
	if (rate <= 0)
		return (MATCHER_ENODATA);
	*eta = (uint64_t)(stats_position(m, i, now) / rate);
	return (MATCHER_OK);
}

/* Add one to counts[t] for each tag t in set. */
static void
stats_count(uint32_t *counts, tags_t set, uint32_t n)
{
	uint32_t	t;

	for (t = 0; t < MATCHER_TAGS_MAX; t++) {
		if ((set.w[t / 64] >> (t % 64)) & 1)
			counts[t] += n;
	}
}

/* Fill the operator's figures. */
void
matcher_stats(struct matcher *m, uint64_t now, struct matcher_stats *out)
{
	const struct req	*r;
	const struct cls	*cl;
	tags_t			 req, pref;
	uint32_t		 i;

	memset(out, 0, sizeof *out);
	out->queued = m->queued;
	out->offered = m->offered;
	memcpy(out->supporters, m->nstatus, sizeof out->supporters);
	for (i = 0; i < m->nreqs; i++) {
		r = &m->reqs[i];
		if (!(r->flags & REQ_USED))
			continue;
		if (now > r->enq_ms && now - r->enq_ms > out->oldest_wait_ms)
			out->oldest_wait_ms = now - r->enq_ms;
		queue_effective(r, now, &req, &pref);
		stats_count(out->demand_required, req, 1);
		stats_count(out->demand_preferred, pref, 1);
	}
	for (i = 0; i < m->nclss; i++) {
		cl = &m->clss[i];
		if (cl->spare == 0)
			continue;
		stats_count(out->supply, cl->tags, cl->spare);
		out->supply_total += cl->spare;
	}
}
