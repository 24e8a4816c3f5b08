/*
 * queue.c -- the waiting queue: requests, their groups and relaxation.
 *
 * Queue order is urgent first, then earliest enqueue time, then arrival
 * order.  Waiting requests with the same effective required tags and
 * languages share a group, a heap in queue order.  When a supporter frees
 * capacity, only groups whose required tags are a subset of the
 * supporter's tags can use it; a supporter has few tags, so the groups are
 * found by enumerating those subsets (2^k lookups) rather than by scanning
 * the queue.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matcher_int.h"

static int	queue_relax_less(const struct matcher *, uint32_t, uint32_t);
static void	queue_req_setpos(struct matcher *, const struct heap *, uint32_t,
		    uint32_t);
static void	queue_relax_setpos(struct matcher *, const struct heap *,
		    uint32_t, uint32_t);

static uint64_t	queue_req_hkey(const struct matcher *, uint32_t);
static uint64_t	queue_relax_hkey(const struct matcher *, uint32_t);

const struct heap_ops queue_req_ops = {
	queue_req_hkey, queue_less, queue_req_setpos
};
static const struct heap_ops queue_relax_ops = {
	queue_relax_hkey, queue_relax_less, queue_relax_setpos
};

/* Heap key of a request: urgent first, then enqueue time (63 bits). */
static uint64_t
queue_req_hkey(const struct matcher *m, uint32_t i)
{
	const struct req	*r = &m->reqs[i];
	uint64_t		 enq = r->enq_ms;

	if (enq > INT64_MAX)
		enq = INT64_MAX;
	return ((uint64_t)!r->urgent << 63 | enq);
}

/* Heap key of a pending relaxation: when it falls due. */
static uint64_t
queue_relax_hkey(const struct matcher *m, uint32_t i)
{
	return (m->reqs[i].relax_ms);
}

/* Order requests: urgent first, then longest waiting, then first queued. */
int
queue_less(const struct matcher *m, uint32_t a, uint32_t b)
{
	const struct req	*x = &m->reqs[a], *y = &m->reqs[b];

	if (x->urgent != y->urgent)
		return (x->urgent > y->urgent);
	if (x->enq_ms != y->enq_ms)
		return (x->enq_ms < y->enq_ms);
	return (x->seq < y->seq);
}

/* Order pending relaxations by when they fall due. */
static int
queue_relax_less(const struct matcher *m, uint32_t a, uint32_t b)
{
	const struct req	*x = &m->reqs[a], *y = &m->reqs[b];

	if (x->relax_ms != y->relax_ms)
		return (x->relax_ms < y->relax_ms);
	return (x->seq < y->seq);
}

/* Record a request's place in its group heap. */
static void
queue_req_setpos(struct matcher *m, const struct heap *h, uint32_t i,
    uint32_t pos)
{
	(void)h;
	m->reqs[i].gpos = pos;
}

/* Record a request's place in the relaxation heap. */
static void
queue_relax_setpos(struct matcher *m, const struct heap *h, uint32_t i,
    uint32_t pos)
{
	(void)h;
	m->reqs[i].rpos = pos;
}

/* Hash a request slot by id. */
static uint64_t
queue_req_hash(const struct matcher *m, uint32_t i)
{
	return (hash_mix(m->reqs[i].id));
}

/* Compare a request slot with an id. */
static int
queue_req_eq(const struct matcher *m, uint32_t i, const void *key)
{
	return (m->reqs[i].id == *(const uint64_t *)key);
}

/* Hash a required-tag set. */
static uint64_t
queue_tags_hash(tags_t t)
{
	return (hash_mix(t.w[0] ^ hash_mix(t.w[1] + 0x9e3779b97f4a7c15ULL)));
}

/* Hash a group slot. */
static uint64_t
queue_grp_hash(const struct matcher *m, uint32_t g)
{
	return (hash_mix(queue_tags_hash(m->grps[g].required) ^
	    m->grps[g].langs));
}

/* Compare a group with a (required, langs) key. */
static int
queue_grp_eq(const struct matcher *m, uint32_t g, const void *key)
{
	const struct grp	*k = key;

	return (tags_equal(m->grps[g].required, k->required) &&
	    m->grps[g].langs == k->langs);
}

/* Hash a required-set slot. */
static uint64_t
queue_rset_hash(const struct matcher *m, uint32_t r)
{
	return (queue_tags_hash(m->rsets[r].required));
}

/* Compare a required-set slot with a tag set. */
static int
queue_rset_eq(const struct matcher *m, uint32_t r, const void *key)
{
	return (tags_equal(m->rsets[r].required, *(const tags_t *)key));
}

/* Find a request slot by id; NONE if absent. */
uint32_t
queue_find(const struct matcher *m, uint64_t id)
{
	return (tab_lookup(m, &m->reqid, hash_mix(id), queue_req_eq, &id));
}

/* Find or create the required-set entry for t; NONE when memory is short. */
static uint32_t
queue_rset(struct matcher *m, tags_t t)
{
	struct rset	*rs;
	uint64_t	 h = queue_tags_hash(t);
	uint32_t	 r;

	r = tab_lookup(m, &m->rsetid, h, queue_rset_eq, &t);
	if (r != NONE)
		return (r);
	r = m->nrsets;
	rs = util_grow(m->rsets, &m->caprsets, r + 1, sizeof *rs);
	if (rs == NULL)
		return (NONE);
	m->rsets = rs;
	memset(&rs[r], 0, sizeof rs[r]);
	rs[r].required = t;
	if (tab_insert(m, &m->rsetid, queue_rset_hash, h, r) != MATCHER_OK)
		return (NONE);
	m->nrsets++;
	return (r);
}

/* Find or create the group for (required, langs) with room for one more
 * member; NONE when memory is short. */
static uint32_t
queue_grp(struct matcher *m, tags_t required, uint64_t langs)
{
	struct grp	 key, *gs;
	struct rset	*rs;
	uint32_t	*v, g, r;
	uint64_t	 h;

	key.required = required;
	key.langs = langs;
	h = hash_mix(queue_tags_hash(required) ^ langs);
	g = tab_lookup(m, &m->grpid, h, queue_grp_eq, &key);
	if (g == NONE) {
		if ((r = queue_rset(m, required)) == NONE)
			return (NONE);
		rs = &m->rsets[r];
		v = util_grow(rs->grps, &rs->capgrps, rs->ngrps + 1, sizeof *v);
		if (v == NULL)
			return (NONE);
		rs->grps = v;
		g = m->ngrps;
		gs = util_grow(m->grps, &m->capgrps, g + 1, sizeof *gs);
		if (gs == NULL)
			return (NONE);
		m->grps = gs;
		memset(&gs[g], 0, sizeof gs[g]);
		gs[g].required = required;
		gs[g].langs = langs;
		if (tab_insert(m, &m->grpid, queue_grp_hash, h, g) != MATCHER_OK)
			return (NONE);
		m->ngrps++;
		rs->grps[rs->ngrps++] = g;
	}
	if (heap_reserve(m, &m->grps[g].h, m->grps[g].nmemb + 1) != MATCHER_OK)
		return (NONE);
	return (g);
}

/* Add a validated request that is not queued; *idx gets its slot. */
int
queue_add(struct matcher *m, const struct matcher_request *mr, uint64_t now,
    uint32_t *idx)
{
	struct req	*r;
	uint32_t	*f, i, g;

	if (m->nfreereqs == 0) {
		r = util_grow(m->reqs, &m->capreqs, m->nreqs + 1, sizeof *r);
		if (r == NULL)
			return (MATCHER_ENOMEM);
		m->reqs = r;
	}
	f = util_grow(m->freereqs, &m->capfreereqs, m->capreqs, sizeof *f);
	if (f == NULL)
		return (MATCHER_ENOMEM);
	m->freereqs = f;
	if ((g = queue_grp(m, mr->required, mr->langs)) == NONE)
		return (MATCHER_ENOMEM);
	if (heap_reserve(m, &m->relax, m->queued + 1) != MATCHER_OK)
		return (MATCHER_ENOMEM);
	i = m->nfreereqs > 0 ? m->freereqs[m->nfreereqs - 1] : m->nreqs;
	r = &m->reqs[i];
	memset(r, 0, sizeof *r);
	r->id = mr->id;
	r->key = mr->key;
	r->required = mr->required;
	r->preferred = mr->preferred;
	r->langs = mr->langs;
	r->previous = mr->previous;
	r->enq_ms = now;
	r->relax_ms = UINT64_MAX;
	if (mr->relax_after_ms != 0 && !tags_empty(mr->required) &&
	    mr->relax_after_ms < UINT64_MAX - now)
		r->relax_ms = now + mr->relax_after_ms;
	r->seq = ++m->seq;
	r->grp = g;
	r->gpos = NONE;
	r->rpos = NONE;
	r->sup = NONE;
	r->urgent = mr->urgent != 0;
	r->flags = REQ_USED;
	if (tab_insert(m, &m->reqid, queue_req_hash, hash_mix(r->id), i) !=
	    MATCHER_OK)
		return (MATCHER_ENOMEM);
	if (m->nfreereqs > 0)
		m->nfreereqs--;
	else
		m->nreqs++;
	m->queued++;
	m->grps[g].nmemb++;
	(void)heap_push(m, &m->grps[g].h, &queue_req_ops, i);
	if (r->relax_ms != UINT64_MAX)
		(void)heap_push(m, &m->relax, &queue_relax_ops, i);
	*idx = i;
	return (MATCHER_OK);
}

/* Remove request i; the caller has released any offer's supporter. */
void
queue_remove(struct matcher *m, uint32_t i)
{
	struct req	*r = &m->reqs[i];
	struct grp	*g = &m->grps[r->grp];

	if (r->gpos != NONE)
		heap_remove(m, &g->h, &queue_req_ops, r->gpos);
	if (r->sup != NONE)
		m->offered--;
	if (r->rpos != NONE)
		heap_remove(m, &m->relax, &queue_relax_ops, r->rpos);
	g->nmemb--;
	m->queued--;
	tab_delete(m, &m->reqid, queue_req_hash, hash_mix(r->id), i);
	free(r->declined);
	r->declined = NULL;
	r->flags = 0;
	m->freereqs[m->nfreereqs++] = i;
}

/* Request i is offered supporter s: it stops waiting. */
void
queue_offer(struct matcher *m, uint32_t i, uint32_t s)
{
	struct req	*r = &m->reqs[i];

	heap_remove(m, &m->grps[r->grp].h, &queue_req_ops, r->gpos);
	r->sup = s;
	m->offered++;
}

/* Request i's offer ended without a match: it waits again in its place. */
void
queue_unoffer(struct matcher *m, uint32_t i)
{
	struct req	*r = &m->reqs[i];

	r->sup = NONE;
	m->offered--;
	/* Cannot fail: the group reserves a slot per member. */
	(void)heap_push(m, &m->grps[r->grp].h, &queue_req_ops, i);
}

/*
 * Apply the earliest relaxation due by now: the request's required tags
 * become preferred, so it moves to the group with no required tags.
 * Returns 1 and sets *idx, 0 if none is due, or ENOMEM.
 */
int
queue_relax_due(struct matcher *m, uint64_t now, uint32_t *idx)
{
	struct req	*r;
	uint32_t	 i, g;
	tags_t		 none = {{ 0, 0 }};

	if (m->relax.n == 0 || m->reqs[m->relax.v[0]].relax_ms > now)
		return (0);
	i = m->relax.v[0];
	r = &m->reqs[i];
	if ((g = queue_grp(m, none, r->langs)) == NONE)
		return (MATCHER_ENOMEM);
	heap_remove(m, &m->relax, &queue_relax_ops, 0);
	if (r->gpos != NONE)
		heap_remove(m, &m->grps[r->grp].h, &queue_req_ops, r->gpos);
	m->grps[r->grp].nmemb--;
	r->grp = g;
	r->relaxed = 1;
	m->grps[g].nmemb++;
	if (r->sup == NONE)
		(void)heap_push(m, &m->grps[g].h, &queue_req_ops, i);
	*idx = i;
	return (1);
}

/* Has request r relaxed by now (applied or due)? */
int
queue_relaxed_at(const struct req *r, uint64_t now)
{
	return (r->relaxed || now >= r->relax_ms);
}

/* The required and preferred tags that apply to r at now. */
void
queue_effective(const struct req *r, uint64_t now, tags_t *required,
    tags_t *preferred)
{
	if (queue_relaxed_at(r, now)) {
		required->w[0] = required->w[1] = 0;
		*preferred = tags_or(r->required, r->preferred);
	} else {
		*required = r->required;
		*preferred = r->preferred;
	}
}

/* Has r declined supporter id? */
int
queue_declined(const struct req *r, uint64_t id)
{
	uint32_t	i;

	for (i = 0; i < r->ndeclined; i++) {
		if (r->declined[i] == id)
			return (1);
	}
	return (0);
}

/* The search for one supporter's first compatible waiting request. */
struct first {
	uint64_t	 sid;
	tags_t		 tags;
	uint64_t	 langs;
	uint32_t	 best;
};

/* Stop a group walk at the first request that may be offered s. */
static int
queue_allowed(struct matcher *m, uint32_t i, void *arg)
{
	const struct first	*f = arg;
	const struct req	*r = &m->reqs[i];

	if (r->ndeclined != 0 && queue_declined(r, f->sid))
		return (0);
	if (r->key != 0 && m->nblocks != 0 && block_has(m, r->key, f->sid))
		return (0);
	return (1);
}

/* Consider the groups of required-set rs for supporter f->s. */
static void
queue_first_in(struct matcher *m, struct first *f, const struct rset *rs)
{
	const struct grp	*g;
	uint32_t		 j, i;

	for (j = 0; j < rs->ngrps; j++) {
		g = &m->grps[rs->grps[j]];
		if (g->h.n == 0 || (g->langs & f->langs) == 0)
			continue;
		/* The group's order is queue order: a better one cannot
		 * follow a worse top. */
		if (f->best != NONE && queue_less(m, f->best, g->h.v[0]))
			continue;
		i = heap_walk(m, &g->h, &queue_req_ops, 0, queue_allowed, f);
		if (i != NONE && (f->best == NONE || queue_less(m, i, f->best)))
			f->best = i;
	}
}

/* Return the first waiting request in queue order that supporter s could
 * serve, or NONE. */
uint32_t
queue_first_for(struct matcher *m, uint32_t s)
{
	struct first	 f;
	tags_t		 sub;
	uint32_t	 bits[MATCHER_TAGS_MAX], r, t, mask;
	int		 k = 0, j;

	f.sid = m->sups[s].id;
	f.tags = m->clss[m->sups[s].cls].tags;
	f.langs = m->clss[m->sups[s].cls].langs;
	f.best = NONE;
	for (t = 0; t < MATCHER_TAGS_MAX; t++) {
		if ((f.tags.w[t / 64] >> (t % 64)) & 1)
			bits[k++] = t;
	}
	if (k > SUBSETS_MAX || (1U << k) > m->nrsets) {
		for (r = 0; r < m->nrsets; r++) {
			if (tags_subset(m->rsets[r].required, f.tags))
				queue_first_in(m, &f, &m->rsets[r]);
		}
		return (f.best);
	}
	for (mask = 0; mask < (1U << k); mask++) {
		sub.w[0] = sub.w[1] = 0;
		for (j = 0; j < k; j++) {
			if ((mask >> j) & 1)
				sub.w[bits[j] / 64] |= 1ULL << (bits[j] % 64);
		}
		r = tab_lookup(m, &m->rsetid, queue_tags_hash(sub),
		    queue_rset_eq, &sub);
		if (r != NONE)
			queue_first_in(m, &f, &m->rsets[r]);
	}
	return (f.best);
}

/* Free everything the queue holds. */
void
queue_free(struct matcher *m)
{
	uint32_t	i;

	for (i = 0; i < m->nreqs; i++) {
		if (m->reqs[i].flags & REQ_USED)
			free(m->reqs[i].declined);
	}
	for (i = 0; i < m->ngrps; i++)
		heap_free(&m->grps[i].h);
	for (i = 0; i < m->nrsets; i++)
		free(m->rsets[i].grps);
	free(m->reqs);
	free(m->freereqs);
	free(m->grps);
	free(m->rsets);
	heap_free(&m->relax);
	tab_free(&m->reqid);
	tab_free(&m->grpid);
	tab_free(&m->rsetid);
}
