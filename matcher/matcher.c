/*
 * matcher.c -- the public API: argument checks, the offer state machine and
 * the choice of who is served next.
 *
 * A request is WAITING (in its group) or OFFERED (one supporter's slot
 * reserved).  matcher_next moves WAITING -> OFFERED; matcher_reject and
 * supporter removal move it back, keeping its place; matcher_confirm and
 * matcher_request_cancel remove it.
 *
 * Who is next: the first waiting request in queue order that has any
 * candidate.  Checking every waiting request after every event would cost
 * the whole queue, so the matcher keeps this invariant instead:
 *
 *	every (waiting request, eligible supporter) pair that could be
 *	matched has the request or the supporter on a dirty list.
 *
 * Events that can create such a pair mark what they touch dirty (a new or
 * returned request, a relaxation, a supporter gaining a free slot or new
 * tags).  matcher_next searches candidates for dirty requests and the first
 * compatible request for dirty supporters, takes the earliest in queue
 * order, and drops from the lists whatever turned out to have no match.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matcher_int.h"

/* Grow a dirty list so it can hold n entries. */
static int
matcher_dirty_reserve(uint32_t **list, uint32_t *cap, uint32_t n)
{
	uint32_t	*p;

	if ((p = util_grow(*list, cap, n, sizeof *p)) == NULL)
		return (MATCHER_ENOMEM);
	*list = p;
	return (MATCHER_OK);
}

/* Mark supporter i dirty (the list has room for every supporter). */
static void
matcher_dirty_sup(struct matcher *m, uint32_t i)
{
	if (m->sups[i].flags & SUP_DIRTY)
		return;
	m->sups[i].flags |= SUP_DIRTY;
	m->dirtysups[m->ndirtysups++] = i;
}

/* Mark request i dirty (the list has room for every request). */
static void
matcher_dirty_req(struct matcher *m, uint32_t i)
{
	if (m->reqs[i].flags & REQ_DIRTY)
		return;
	m->reqs[i].flags |= REQ_DIRTY;
	m->dirtyreqs[m->ndirtyreqs++] = i;
}

/* Take entry j off a dirty list. */
static void
matcher_undirty_at(uint32_t *list, uint32_t *n, uint32_t j)
{
	list[j] = list[--*n];
}

/* Take index i off a dirty list, if it is there. */
static void
matcher_undirty(uint32_t *list, uint32_t *n, uint32_t i)
{
	uint32_t	j;

	for (j = 0; j < *n; j++) {
		if (list[j] == i) {
			matcher_undirty_at(list, n, j);
			return;
		}
	}
}

/* Are all tags in t inside a catalogue of ntags? */
static int
matcher_tags_within(tags_t t, uint32_t ntags)
{
	tags_t	all = {{ 0, 0 }};

	if (ntags >= 64)
		all.w[0] = ~0ULL;
	else
		all.w[0] = (1ULL << ntags) - 1;
	if (ntags >= 128)
		all.w[1] = ~0ULL;
	else if (ntags > 64)
		all.w[1] = (1ULL << (ntags - 64)) - 1;
	return (tags_subset(t, all));
}

/* Are all tags in t inside the catalogue? */
static int
matcher_tags_valid(const struct matcher *m, tags_t t)
{
	return (matcher_tags_within(t, m->ntags));
}

/* Check a catalogue's shape. */
static int
matcher_catalogue_valid(const struct matcher_tag_def *defs, size_t n)
{
	size_t	t;

	if (n > MATCHER_TAGS_MAX || (n > 0 && defs == NULL))
		return (0);
	for (t = 0; t < n; t++) {
		if (defs[t].name == NULL)
			return (0);
	}
	return (1);
}

/* Create a matcher. */
struct matcher *
matcher_new(const struct matcher_tag_def *defs, size_t n)
{
	struct matcher	*m;

	if (!matcher_catalogue_valid(defs, n))
		return (NULL);
	if ((m = calloc(1, sizeof *m)) == NULL)
		return (NULL);
	if (report_catalogue(m, defs, n) != MATCHER_OK) {
		free(m);
		return (NULL);
	}
	return (m);
}

/* Free a matcher. */
void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	pool_free(m);
	queue_free(m);
	block_free(m);
	search_free(m);
	report_free(m);
	free(m->dirtysups);
	free(m->dirtyreqs);
	free(m);
}

/* Replace the catalogue. */
int
matcher_set_catalogue(struct matcher *m, const struct matcher_tag_def *defs,
    size_t n)
{
	uint32_t	 i;

	if (!matcher_catalogue_valid(defs, n))
		return (MATCHER_EINVAL);
	for (i = 0; i < m->nsups; i++) {
		if ((m->sups[i].flags & SUP_USED) &&
		    !matcher_tags_within(m->clss[m->sups[i].cls].tags, n))
			return (MATCHER_EINVAL);
	}
	for (i = 0; i < m->nreqs; i++) {
		if ((m->reqs[i].flags & REQ_USED) && !matcher_tags_within(
		    tags_or(m->reqs[i].required, m->reqs[i].preferred), n))
			return (MATCHER_EINVAL);
	}
	return (report_catalogue(m, defs, n));
}

/* Add a supporter. */
int
matcher_supporter_add(struct matcher *m, const struct matcher_supporter *ms)
{
	uint32_t	i;
	int		rc;

	if (ms->id == 0 || ms->langs == 0 || !matcher_tags_valid(m, ms->tags) ||
	    (unsigned int)ms->status >= MATCHER_NSTATUS)
		return (MATCHER_EINVAL);
	if (pool_find(m, ms->id) != NONE)
		return (MATCHER_EEXIST);
	if (matcher_dirty_reserve(&m->dirtysups, &m->capdirtysups,
	    m->nsups + 1) != MATCHER_OK)
		return (MATCHER_ENOMEM);
	if ((rc = pool_add(m, ms)) != MATCHER_OK)
		return (rc);
	i = pool_find(m, ms->id);
	matcher_dirty_sup(m, i);
	return (MATCHER_OK);
}

/* Change a supporter's vetted tags and languages. */
int
matcher_supporter_update(struct matcher *m, uint64_t id,
    const struct matcher_tags *tags, uint64_t langs)
{
	uint32_t	i;
	int		rc;

	if (langs == 0 || !matcher_tags_valid(m, *tags))
		return (MATCHER_EINVAL);
	if ((i = pool_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	if ((rc = pool_move(m, i, *tags, langs)) != MATCHER_OK)
		return (rc);
	matcher_dirty_sup(m, i);
	return (MATCHER_OK);
}

/* Give back the slot request i's offer held on its supporter. */
static void
matcher_release(struct matcher *m, uint32_t i)
{
	uint32_t	s = m->reqs[i].sup;

	pool_detach(m, s);
	m->sups[s].pending--;
	pool_attach(m, s);
	matcher_dirty_sup(m, s);
}

/* Remove a supporter, withdrawing its offers. */
int
matcher_supporter_remove(struct matcher *m, uint64_t id)
{
	uint32_t	i, j;

	if ((i = pool_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	pool_detach(m, i);
	for (j = 0; m->sups[i].pending > 0 && j < m->nreqs; j++) {
		if ((m->reqs[j].flags & REQ_USED) && m->reqs[j].sup == i) {
			m->sups[i].pending--;
			queue_unoffer(m, j);
			matcher_dirty_req(m, j);
		}
	}
	pool_attach(m, i);
	if (m->sups[i].flags & SUP_DIRTY)
		matcher_undirty(m->dirtysups, &m->ndirtysups, i);
	pool_remove(m, i);
	return (MATCHER_OK);
}

/* Set a supporter's status. */
int
matcher_supporter_set_status(struct matcher *m, uint64_t id,
    enum matcher_status status)
{
	uint32_t	i;

	if ((unsigned int)status >= MATCHER_NSTATUS)
		return (MATCHER_EINVAL);
	if ((i = pool_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	pool_detach(m, i);
	m->nstatus[m->sups[i].status]--;
	m->sups[i].status = status;
	m->nstatus[status]++;
	pool_attach(m, i);
	matcher_dirty_sup(m, i);
	return (MATCHER_OK);
}

/* Set a supporter's capacity. */
int
matcher_supporter_set_capacity(struct matcher *m, uint64_t id, uint16_t cap)
{
	uint32_t	i;

	if ((i = pool_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	pool_detach(m, i);
	m->sups[i].cap = cap;
	pool_attach(m, i);
	matcher_dirty_sup(m, i);
	return (MATCHER_OK);
}

/* One of a supporter's conversations ended. */
int
matcher_conversation_ended(struct matcher *m, uint64_t id)
{
	uint32_t	i;

	if ((i = pool_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	if (m->sups[i].load == 0)
		return (MATCHER_ESTATE);
	pool_detach(m, i);
	m->sups[i].load--;
	pool_attach(m, i);
	matcher_dirty_sup(m, i);
	return (MATCHER_OK);
}

/* Copy a supporter out. */
int
matcher_supporter_get(const struct matcher *m, uint64_t id,
    struct matcher_supporter *out)
{
	const struct sup	*s;
	uint32_t		 i;

	if ((i = pool_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	s = &m->sups[i];
	memset(out, 0, sizeof *out);
	out->id = s->id;
	out->tags = m->clss[s->cls].tags;
	out->langs = m->clss[s->cls].langs;
	out->capacity = s->cap;
	out->load = s->load;
	out->pending = s->pending;
	out->status = s->status;
	out->last_match_ms = s->last_ms;
	return (MATCHER_OK);
}

/* Never match this requester key with this supporter. */
int
matcher_block(struct matcher *m, uint64_t key, uint64_t sid)
{
	if (key == 0 || sid == 0)
		return (MATCHER_EINVAL);
	return (block_add(m, key, sid));
}

/* Queue a request. */
int
matcher_request_enqueue(struct matcher *m, const struct matcher_request *mr,
    uint64_t now)
{
	uint32_t	i;
	int		rc;

	if (mr->id == 0 || mr->langs == 0 ||
	    !matcher_tags_valid(m, tags_or(mr->required, mr->preferred)))
		return (MATCHER_EINVAL);
	if (queue_find(m, mr->id) != NONE)
		return (MATCHER_EEXIST);
	if (matcher_dirty_reserve(&m->dirtyreqs, &m->capdirtyreqs,
	    m->nreqs + 1) != MATCHER_OK)
		return (MATCHER_ENOMEM);
	if ((rc = queue_add(m, mr, now, &i)) != MATCHER_OK)
		return (rc);
	matcher_dirty_req(m, i);
	return (MATCHER_OK);
}

/* Remove request i from the queue, withdrawing its offer. */
static void
matcher_drop(struct matcher *m, uint32_t i)
{
	if (m->reqs[i].sup != NONE)
		matcher_release(m, i);
	if (m->reqs[i].flags & REQ_DIRTY)
		matcher_undirty(m->dirtyreqs, &m->ndirtyreqs, i);
	queue_remove(m, i);
}

/* Cancel a request. */
int
matcher_request_cancel(struct matcher *m, uint64_t id)
{
	uint32_t	i;

	if ((i = queue_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	matcher_drop(m, i);
	return (MATCHER_OK);
}

/* Build the search for request i as it stands. */
static void
matcher_query(const struct matcher *m, uint32_t i, struct query *q)
{
	const struct req	*r = &m->reqs[i];

	/* matcher_next applies relaxations as they fall due. */
	queue_effective(r, 0, &q->required, &q->preferred);
	q->langs = r->langs;
	q->r = r;
	q->excl = NONE;
}

/*
 * Choose the request to serve next, or NONE; see the comment at the top.
 * If the winner came from the dirty requests, *sup and *rule are its best
 * candidate and deciding rule; otherwise *sup is NONE.
 */
static uint32_t
matcher_choose(struct matcher *m, uint32_t *sup, int *rule)
{
	struct query	q;
	uint32_t	win = NONE, i, j, f, s;
	int		r;

	for (j = 0; j < m->ndirtyreqs;) {
		i = m->dirtyreqs[j];
		if (m->reqs[i].sup == NONE && win != NONE &&
		    queue_less(m, win, i)) {
			j++;		/* cannot win now; stays dirty */
			continue;
		}
		if (m->reqs[i].sup == NONE) {
			matcher_query(m, i, &q);
			if ((s = search_best(m, &q, &r)) != NONE) {
				win = i;
				*sup = s;
				*rule = r;
				j++;
				continue;
			}
		}
		m->reqs[i].flags &= ~REQ_DIRTY;
		matcher_undirty_at(m->dirtyreqs, &m->ndirtyreqs, j);
	}
	for (j = 0; j < m->ndirtysups;) {
		i = m->dirtysups[j];
		if (m->sups[i].hpos != NONE &&
		    (f = queue_first_for(m, i)) != NONE) {
			if (win == NONE || queue_less(m, f, win)) {
				win = f;
				*sup = NONE;
			}
			j++;
			continue;
		}
		m->sups[i].flags &= ~SUP_DIRTY;
		matcher_undirty_at(m->dirtysups, &m->ndirtysups, j);
	}
	return (win);
}

/* Propose the next pair. */
int
matcher_next(struct matcher *m, uint64_t now, struct matcher_proposal *out)
{
	struct query	 q;
	struct req	*r;
	uint32_t	 i, s;
	int		 rc, rule = MATCHER_RULE_ONLY_CANDIDATE;

	while ((rc = queue_relax_due(m, now, &i)) == 1)
		matcher_dirty_req(m, i);
	if (rc < 0)
		return (rc);
	if ((i = matcher_choose(m, &s, &rule)) == NONE)
		return (0);
	matcher_query(m, i, &q);
	if (s == NONE)
		s = search_best(m, &q, &rule);
	r = &m->reqs[i];

	pool_detach(m, s);
	m->sups[s].pending++;
	pool_attach(m, s);
	queue_offer(m, i, s);
	if (r->flags & REQ_DIRTY) {
		r->flags &= ~REQ_DIRTY;
		matcher_undirty(m->dirtyreqs, &m->ndirtyreqs, i);
	}

	memset(out, 0, offsetof(struct matcher_proposal, explain));
	out->request_id = r->id;
	out->requester_key = r->key;
	out->supporter_id = m->sups[s].id;
	out->shared = tags_and(m->clss[m->sups[s].cls].tags,
	    tags_or(r->required, r->preferred));
	out->decided_by = rule;
	out->relaxed = r->relaxed;
	report_write(m, out, q.required, q.preferred,
	    m->clss[m->sups[s].cls].tags);
	return (1);
}

/* When the earliest pending relaxation falls due. */
int
matcher_wakeup(const struct matcher *m, uint64_t *when)
{
	if (m->relax.n == 0)
		return (0);
	*when = m->reqs[m->relax.v[0]].relax_ms;
	return (1);
}

/* The offer for a request was accepted. */
int
matcher_confirm(struct matcher *m, uint64_t id, uint64_t now)
{
	uint32_t	i, s;

	if ((i = queue_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	if ((s = m->reqs[i].sup) == NONE)
		return (MATCHER_ESTATE);
	pool_detach(m, s);
	m->sups[s].pending--;
	m->sups[s].load++;
	m->sups[s].last_ms = now;
	pool_attach(m, s);
	pool_served(m, s, now);
	queue_remove(m, i);
	return (MATCHER_OK);
}

/* The offer for a request was declined or timed out. */
int
matcher_reject(struct matcher *m, uint64_t id, uint64_t now)
{
	struct req	*r;
	uint64_t	*d;
	uint32_t	 i, cap;

	(void)now;
	if ((i = queue_find(m, id)) == NONE)
		return (MATCHER_ENOENT);
	r = &m->reqs[i];
	if (r->sup == NONE)
		return (MATCHER_ESTATE);
	cap = r->ndeclined;
	if ((d = util_grow(r->declined, &cap, r->ndeclined + 1, sizeof *d)) ==
	    NULL)
		return (MATCHER_ENOMEM);
	r->declined = d;
	d[r->ndeclined++] = m->sups[r->sup].id;
	matcher_release(m, i);
	queue_unoffer(m, i);
	matcher_dirty_req(m, i);
	return (MATCHER_OK);
}
