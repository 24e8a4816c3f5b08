/*
 * search.c -- find a request's best candidate and the rule that chose it.
 *
 * Candidates are eligible supporters who share a language, cover every
 * required tag and are not ruled out (blocked, declined).  They rank by
 * preferred tags shared (most first), then by the pool order (fewest active,
 * longest since last match, lowest id).
 *
 * The search works on classes.  One pass over the class bitsets builds, for
 * k = 0..p, the set of candidate classes sharing at least k of the p
 * preferred tags (a bit-sliced count).  Then from the highest level down,
 * the best class of "exactly k" wins.  A small set is scanned in index
 * order.  A large one is found by walking, best-first, heaps of nonempty
 * classes that hold every member of the set (the heap of the rarest
 * required tag, or of each preferred tag, or of all classes) until the
 * next class's top cannot place; about (heap size / set size) steps.
 * Scanning n costs n, walking costs H / n, so we scan when
 * n * n <= H * SCAN_FACTOR.
 */

#include <stdint.h>
#include <stdlib.h>

#include "matcher_int.h"

#define SCAN_FACTOR	4	/* see above */
#define SCAN_MIN	16	/* classes; always scan sets this small */

/* A candidate: a supporter, its class, preferred tags shared, rank key. */
struct cand {
	uint32_t	 sup;		/* NONE: no candidate */
	uint32_t	 cls;
	int		 pref;
	struct skey	 key;
};

/*
 * The search in progress.  It keeps the best two candidates, so that the
 * runner-up (for the explanation) costs no second pass over the classes.
 */
struct search {
	const struct query	*q;
	const uint64_t		*hi;	/* at least k preferred */
	const uint64_t		*lo;	/* at least k + 1, or NULL */
	int			 counted;	/* scan mode: count per class */
	uint32_t		 words;		/* bitset words in use */
	uint32_t		 wlo, whi;	/* words that may be nonzero */
	struct heap		*piv[MATCHER_TAGS_MAX]; /* heaps to walk */
	int			 npiv;
	uint32_t		 pivn;		/* classes in those heaps */
	struct cand		 best;
	struct cand		 second;
};

/* Does a rank before b (b may be empty)? */
static int
search_better(const struct cand *a, const struct cand *b)
{
	if (b->sup == NONE)
		return (1);
	if (a->pref != b->pref)
		return (a->pref > b->pref);
	return (skey_less(&a->key, &b->key));
}

/* Is supporter i ruled out for this query?  Touches the supporter only
 * when there are declines or blocks to check. */
int
search_excluded(const struct matcher *m, const struct query *q, uint32_t i)
{
	if (i == q->excl)
		return (1);
	if (q->r == NULL)
		return (0);
	if (q->r->ndeclined != 0 && queue_declined(q->r, m->sups[i].id))
		return (1);
	if (q->r->key != 0 && m->nblocks != 0 &&
	    block_has(m, q->r->key, m->sups[i].id))
		return (1);
	return (0);
}

/* Stop a walk at the first supporter not ruled out. */
static int
search_allowed(struct matcher *m, uint32_t i, void *arg)
{
	return (!search_excluded(m, arg, i));
}

/* Best supporter of class c not ruled out (key in *k), or NONE. */
static uint32_t
search_in_class(struct matcher *m, const struct query *q, uint32_t c,
    struct skey *k)
{
	const struct cls	*cl = &m->clss[c];
	uint32_t		 i;

	if (!search_excluded(m, q, cl->top)) {
		*k = cl->topkey;
		return (cl->top);
	}
	i = heap_walk(m, &cl->h, &pool_sup_ops, 1, search_allowed, (void *)q);
	if (i != NONE)
		pool_key(m, i, k);
	return (i);
}

/* Is class c in the current set? */
static int
search_member(const struct search *st, uint32_t c)
{
	uint64_t	bit = 1ULL << (c % 64);

	if ((st->hi[c / 64] & bit) == 0)
		return (0);
	return (st->lo == NULL || (st->lo[c / 64] & bit) == 0);
}

/* Offer class c's best to the search. */
static void
search_consider(struct matcher *m, struct search *st, uint32_t c)
{
	struct cand	x;

	/* A class in two walked heaps comes up twice. */
	if ((st->best.sup != NONE && st->best.cls == c) ||
	    (st->second.sup != NONE && st->second.cls == c))
		return;
	x.cls = c;
	x.pref = 0;
	if (st->counted)
		x.pref = tags_count(tags_and(m->clss[c].tags, st->q->preferred));
	/* The class's top bounds all its members: skip if it cannot place. */
	x.sup = m->clss[c].top;
	x.key = m->clss[c].topkey;
	if (st->second.sup != NONE && !search_better(&x, &st->second))
		return;
	if ((x.sup = search_in_class(m, st->q, c, &x.key)) == NONE)
		return;
	if (search_better(&x, &st->best)) {
		st->second = st->best;
		st->best = x;
	} else if (search_better(&x, &st->second))
		st->second = x;
}

/* Walk visitor: consider members of the set until none can place. */
static int
search_visit(struct matcher *m, uint32_t c, void *arg)
{
	struct search	*st = arg;

	if (st->second.sup != NONE &&
	    skey_less(&st->second.key, &m->clss[c].topkey))
		return (1);
	if (search_member(st, c))
		search_consider(m, st, c);
	return (0);
}

/* Integer square root, for the scan limit. */
static uint32_t
search_isqrt(uint64_t x)
{
	uint64_t	r = 0, b = 1ULL << 62;

	while (b > x)
		b >>= 2;
	while (b != 0) {
		if (x >= r + b) {
			x -= r + b;
			r = (r >> 1) + b;
		} else
			r >>= 1;
		b >>= 2;
	}
	return ((uint32_t)r);
}

/* Best candidate in the set (hi minus lo), or NONE. */
static uint32_t
search_set(struct matcher *m, struct search *st)
{
	uint64_t	x;
	uint32_t	w, n = 0, limit;
	int		i;

	st->best.sup = st->second.sup = NONE;
	limit = search_isqrt((uint64_t)st->pivn * SCAN_FACTOR);
	if (limit < SCAN_MIN)
		limit = SCAN_MIN;
	if (st->counted)
		limit = UINT32_MAX;
	/* Count members only as far as the scan limit. */
	for (w = st->wlo; w < st->whi && n <= limit; w++) {
		x = st->hi[w] & (st->lo != NULL ? ~st->lo[w] : ~0ULL);
		n += popcount64(x);
	}
	if (n == 0)
		return (NONE);
	if (n <= limit) {
		for (w = st->wlo; w < st->whi; w++) {
			x = st->hi[w] & (st->lo != NULL ? ~st->lo[w] : ~0ULL);
			while (x != 0) {
				search_consider(m, st, w * 64 +
				    __builtin_ctzll(x));
				x &= x - 1;
			}
		}
	} else {
		for (i = 0; i < st->npiv; i++)
			heap_walk(m, st->piv[i], &pool_cls_ops, 0, search_visit,
			    st);
	}
	return (st->best.sup);
}

/* Collect the bitsets of the tags in t; returns the count or -1 if a tag
 * has no class at all (then nothing can cover t). */
static int
search_tagbits(const struct matcher *m, tags_t t, const uint64_t **out,
    int skipnull)
{
	uint32_t	i;
	int		n = 0;

	for (i = 0; i < MATCHER_TAGS_MAX; i++) {
		if (((t.w[i / 64] >> (i % 64)) & 1) == 0)
			continue;
		if (m->tagbits[i] == NULL) {
			if (skipnull)
				continue;
			return (-1);
		}
		out[n++] = m->tagbits[i];
	}
	return (n);
}

/*
 * Fill m->lvl: level k holds candidate classes sharing at least k preferred
 * tags (or, with more than LEVELS_MAX preferred tags, level 0 alone), and
 * st->wlo..whi the words that hold any, so later passes skip the rest.
 * Returns the number of levels above 0, or -1 if there is no candidate
 * class at all.
 */
static int
search_prepare(struct matcher *m, const struct query *q, struct search *st)
{
	const uint64_t	*req[MATCHER_TAGS_MAX], *pref[MATCHER_TAGS_MAX];
	const uint64_t	*lang[MATCHER_LANGS_MAX];
	uint64_t	 g[LEVELS_MAX + 1], b, lw, x;
	uint32_t	 w, l, words;
	int		 nreq, npref, nlang = 0, p, j, k;

	/* Only words that hold classes; the bitsets may be longer. */
	st->words = words = (m->nclss + 63) / 64;
	st->wlo = words;
	st->whi = 0;
	if (words == 0 || m->classes.n == 0)
		return (-1);
	if ((nreq = search_tagbits(m, q->required, req, 0)) < 0)
		return (-1);
	npref = search_tagbits(m, q->preferred, pref, 1);
	for (l = 0; l < MATCHER_LANGS_MAX; l++) {
		if (((q->langs >> l) & 1) && m->langbits[l] != NULL)
			lang[nlang++] = m->langbits[l];
	}
	if (nlang == 0)
		return (-1);
	st->counted = npref > LEVELS_MAX;
	p = st->counted ? 0 : npref;
	for (w = 0; w < words; w++) {
		b = m->nonempty[w];
		for (j = 0; j < nreq && b != 0; j++)
			b &= req[j][w];
		for (lw = 0, j = 0; j < nlang && b != 0; j++)
			lw |= lang[j][w];
		b &= lw;
		if (b != 0) {
			if (w < st->wlo)
				st->wlo = w;
			st->whi = w + 1;
		}
		g[0] = b;
		for (k = 1; k <= p; k++)
			g[k] = 0;
		for (j = 0; j < p && b != 0; j++) {
			x = pref[j][w];
			for (k = j + 1; k >= 1; k--)
				g[k] |= g[k - 1] & x;
		}
		for (k = 0; k <= p; k++)
			m->lvl[(size_t)k * words + w] = g[k];
	}
	return (p);
}

/*
 * Choose the heaps a walk of level k visits: every member must be in one.
 * With required tags, the heap of the rarest; else at level k > 0 every
 * member has a preferred tag, so the heaps of those; else all classes.
 */
static void
search_pivots(struct matcher *m, struct search *st, int k)
{
	const struct query	*q = st->q;
	struct heap		*h, *rarest = NULL;
	uint64_t		 w;
	uint32_t		 i, t;

	st->npiv = 0;
	st->pivn = 0;
	for (i = 0; i < 2; i++) {
		for (w = q->required.w[i]; w != 0; w &= w - 1) {
			t = i * 64 + __builtin_ctzll(w);
			h = &m->tagheaps[t];
			if (rarest == NULL || h->n < rarest->n)
				rarest = h;
		}
	}
	if (rarest != NULL) {
		st->piv[st->npiv++] = rarest;
		st->pivn = rarest->n;
		return;
	}
	if (k == 0) {
		st->piv[st->npiv++] = &m->classes;
		st->pivn = m->classes.n;
		return;
	}
	for (i = 0; i < 2; i++) {
		for (w = q->preferred.w[i]; w != 0; w &= w - 1) {
			t = i * 64 + __builtin_ctzll(w);
			if (m->tagheaps[t].n == 0)
				continue;
			st->piv[st->npiv++] = &m->tagheaps[t];
			st->pivn += m->tagheaps[t].n;
		}
	}
}

/* Best candidate from level k down; sets *level to where it was found. */
static uint32_t
search_levels(struct matcher *m, struct search *st, int p, int k, int *level)
{
	uint32_t	i;

	for (; k >= 0; k--) {
		search_pivots(m, st, k);
		st->hi = m->lvl + (size_t)k * st->words;
		st->lo = k < p ? st->hi + st->words : NULL;
		if ((i = search_set(m, st)) != NONE) {
			*level = k;
			return (i);
		}
	}
	return (NONE);
}

/* Is supporter i the requester's previous supporter and a candidate? */
static int
search_previous(const struct matcher *m, const struct query *q, uint32_t i)
{
	const struct sup	*s = &m->sups[i];
	const struct cls	*cl = &m->clss[s->cls];

	return (s->hpos != NONE && (cl->langs & q->langs) != 0 &&
	    tags_subset(q->required, cl->tags) && !search_excluded(m, q, i));
}

/* The first ranking rule that tells best from runner-up. */
static int
search_rule(const struct cand *best, const struct cand *run)
{
	if (run->sup == NONE)
		return (MATCHER_RULE_ONLY_CANDIDATE);
	if (run->pref != best->pref)
		return (MATCHER_RULE_PREFERRED_TAGS);
	if (run->key.active != best->key.active)
		return (MATCHER_RULE_FEWEST_CONVERSATIONS);
	if (run->key.last != best->key.last)
		return (MATCHER_RULE_LONGEST_SINCE_MATCH);
	return (MATCHER_RULE_TIE_BREAK);
}

/*
 * Return the best candidate for q, or NONE.  If rule is not NULL, also find
 * the runner-up and set *rule to the first ranking rule that tells them
 * apart.  The runner-up is the better of the second-best class's best and
 * the next member of the winning class; failing both, the best of a lower
 * level (fewer preferred tags).
 */
uint32_t
search_best(struct matcher *m, const struct query *q, int *rule)
{
	struct search	 st;
	struct query	 q2;
	struct cand	 best, run;
	int		 p, level, level2;

	if (q->r != NULL && q->r->previous != 0) {
		best.sup = pool_find(m, q->r->previous);
		if (best.sup != NONE && search_previous(m, q, best.sup)) {
			if (rule != NULL)
				*rule = MATCHER_RULE_PREVIOUS_SUPPORTER;
			return (best.sup);
		}
	}
	if ((p = search_prepare(m, q, &st)) < 0 || st.wlo >= st.whi)
		return (NONE);
	st.q = q;
	if (search_levels(m, &st, p, p, &level) == NONE)
		return (NONE);
	if (rule == NULL)
		return (st.best.sup);
	best = st.best;
	run = st.second;

	q2 = *q;
	q2.excl = best.sup;
	run.cls = best.cls;
	run.pref = best.pref;
	if ((run.sup = search_in_class(m, &q2, best.cls, &run.key)) == NONE ||
	    (st.second.sup != NONE && search_better(&st.second, &run)))
		run = st.second;
	if (run.sup == NONE && level > 0 &&
	    search_levels(m, &st, p, level - 1, &level2) != NONE) {
		run = st.best;
		run.pref = best.pref - 1;	/* any lower level differs */
	}
	*rule = search_rule(&best, &run);
	return (best.sup);
}

/* Free the search scratch. */
void
search_free(struct matcher *m)
{
	free(m->lvl);
	free(m->aux[0]);
	free(m->aux[1]);
}
