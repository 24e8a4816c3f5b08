/*
 * report.c -- what the matcher tells people: the tag catalogue's names,
 * the explanation every proposal carries, e.g.
 *
 *	required=lgbtq shared_preferred=first-episode-psychosis
 *	    decided_by=fewest_conversations
 *
 * a waiting requester's position and estimated wait, and the operators'
 * figures on where supply of peers fails demand.
 *
 * Explanations are shown to both sides of a match, so they name only the
 * tags the pair share and the rule that chose, nothing else about either.
 * Positions, estimates and stats walk the queue (O(queued) plus
 * O(classes)): they are for polls and dashboards, not for every event.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher_int.h"

/*
 * ms: a longer estimate is none.  The decayed service count falls by e
 * an hour, so an estimate passes this (136 years) once compatible
 * supporters last served someone a day or so ago; it must not overflow
 * the uint64_t it is returned in either.
 */
#define REPORT_ETA_MAX_MS	(4294967295.0 * 1000)

/* Rule names, indexed by enum matcher_rule. */
static const char *report_rules[] = {
	"only_candidate",
	"previous_supporter",
	"preferred_tags",
	"fewest_conversations",
	"longest_since_match",
	"tie_break",
};

/* Error strings, indexed by minus the error code. */
static const char *report_errors[] = {
	"ok",
	"out of memory",
	"invalid argument",
	"already present",
	"not found",
	"not allowed in this state",
	"no data for an estimate",
};

/* Name a rule. */
const char *
matcher_rule_name(enum matcher_rule rule)
{
	if ((unsigned int)rule >= sizeof report_rules / sizeof *report_rules)
		return ("unknown");
	return (report_rules[rule]);
}

/* Describe an error code. */
const char *
matcher_strerror(int error)
{
	if (error > 0 ||
	    (unsigned int)-error >= sizeof report_errors / sizeof *report_errors)
		return ("unknown error");
	return (report_errors[-error]);
}

/* Name a tag, or NULL outside the catalogue. */
const char *
matcher_tag_name(const struct matcher *m, unsigned int t)
{
	if (t >= m->ntags)
		return (NULL);
	return (m->names[t]);
}

/* Drop the catalogue's strings. */
void
report_free(struct matcher *m)
{
	uint32_t	t;

	for (t = 0; t < m->ntags; t++) {
		free(m->names[t]);
		free(m->descs[t]);
		m->names[t] = m->descs[t] = NULL;
	}
	m->ntags = 0;
}

/* Replace the catalogue with copies of n entries (already validated). */
int
report_catalogue(struct matcher *m, const struct matcher_tag_def *defs,
    size_t n)
{
	char		*names[MATCHER_TAGS_MAX], *descs[MATCHER_TAGS_MAX];
	const char	*d;
	size_t		 t;

	for (t = 0; t < n; t++) {
		d = defs[t].description != NULL ? defs[t].description : "";
		names[t] = strdup(defs[t].name);
		descs[t] = strdup(d);
		if (names[t] == NULL || descs[t] == NULL) {
			do {
				free(names[t]);
				free(descs[t]);
			} while (t-- > 0);
			return (MATCHER_ENOMEM);
		}
	}
	report_free(m);
	for (t = 0; t < n; t++) {
		m->names[t] = names[t];
		m->descs[t] = descs[t];
	}
	m->ntags = n;
	return (MATCHER_OK);
}

/* A bounded string being built; once full it stays full. */
struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 size;
};

/* Append a string. */
static void
report_put(struct sbuf *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->len + n >= b->size)
		n = b->size - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append key=name,name,... or key=none. */
static void
report_tags(const struct matcher *m, struct sbuf *b, const char *key,
    tags_t t)
{
	uint64_t	w;
	uint32_t	i, j;
	int		first = 1;

	report_put(b, key);
	for (j = 0; j < 2; j++) {
		for (w = t.w[j]; w != 0; w &= w - 1) {
			i = j * 64 + __builtin_ctzll(w);
			if (!first)
				report_put(b, ",");
			report_put(b, i < m->ntags ? m->names[i] : "?");
			first = 0;
		}
	}
	if (first)
		report_put(b, "none");
}

/* Write p->explain from the effective required and preferred tags and the
 * supporter's tags; p->decided_by and p->relaxed are already set. */
void
report_write(const struct matcher *m, struct matcher_proposal *p,
    tags_t required, tags_t preferred, tags_t tags)
{
	struct sbuf	b = { p->explain, 0, sizeof p->explain };

	p->explain[0] = '\0';
	report_tags(m, &b, "required=", required);
	report_tags(m, &b, " shared_preferred=", tags_and(preferred, tags));
	report_put(&b, " decided_by=");
	report_put(&b, matcher_rule_name(p->decided_by));
	if (p->relaxed)
		report_put(&b, " relaxed=yes");
}

/* Position of request i among waiting requests competing with it. */
static uint32_t
report_position(const struct matcher *m, uint32_t i, uint64_t now)
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
	*pos = m->reqs[i].sup != NONE ? 0 : report_position(m, i, now);
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
	double			 rate, est;
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
	est = report_position(m, i, now) / rate;
	if (!(est <= REPORT_ETA_MAX_MS))	/* also inf and NaN */
		return (MATCHER_ENODATA);
	*eta = (uint64_t)est;
	return (MATCHER_OK);
}

/* Add one to counts[t] for each tag t in set. */
static void
report_count(uint32_t *counts, tags_t set, uint32_t n)
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
		report_count(out->demand_required, req, 1);
		report_count(out->demand_preferred, pref, 1);
	}
	for (i = 0; i < m->nclss; i++) {
		cl = &m->clss[i];
		if (cl->spare == 0)
			continue;
		report_count(out->supply, cl->tags, cl->spare);
		out->supply_total += cl->spare;
	}
}
