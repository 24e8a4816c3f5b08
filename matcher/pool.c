/*
 * pool.c -- the supporter pool: supporters, their classes and the bitsets
 * that let a search pick candidate classes by tag and language.
 *
 * Supporters with identical tags and languages share a class.  Real pools
 * have far fewer distinct identity combinations than people, so searches
 * work on classes (bitsets, a heap of classes) and only look inside the few
 * classes that can win.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matcher_int.h"

static int	pool_cls_less(const struct matcher *, uint32_t, uint32_t);
static void	pool_sup_setpos(struct matcher *, const struct heap *, uint32_t,
		    uint32_t);
static void	pool_cls_setpos(struct matcher *, const struct heap *, uint32_t,
		    uint32_t);

static uint64_t	pool_sup_hkey(const struct matcher *, uint32_t);
static uint64_t	pool_cls_hkey(const struct matcher *, uint32_t);

const struct heap_ops pool_sup_ops = {
	pool_sup_hkey, pool_sup_less, pool_sup_setpos
};
const struct heap_ops pool_cls_ops = {
	pool_cls_hkey, pool_cls_less, pool_cls_setpos
};

#define KEY_LAST_MAX	((1ULL << 48) - 1)	/* ms; 8,900 years */
#define KEY_ACTIVE_MAX	0xffffU			/* conversations */

/* Pack a rank key's prefix: active (16 bits) then last match (48 bits).
 * Saturated fields tie, and ties fall through to the full comparison. */
static uint64_t
pool_hkey(const struct skey *k)
{
	uint64_t	active = k->active, last = k->last;

	if (active > KEY_ACTIVE_MAX)
		active = KEY_ACTIVE_MAX;
	if (last > KEY_LAST_MAX)
		last = KEY_LAST_MAX;
	return (active << 48 | last);
}

/* Heap key of supporter i. */
static uint64_t
pool_sup_hkey(const struct matcher *m, uint32_t i)
{
	struct skey	k;

	pool_key(m, i, &k);
	return (pool_hkey(&k));
}

/* Heap key of class c: its top's. */
static uint64_t
pool_cls_hkey(const struct matcher *m, uint32_t c)
{
	return (pool_hkey(&m->clss[c].topkey));
}

/* Order supporters: fewest active (load and offers), longest since last
 * match, lowest id. */
int
pool_sup_less(const struct matcher *m, uint32_t a, uint32_t b)
{
	const struct sup	*x = &m->sups[a], *y = &m->sups[b];
	uint32_t		 ax = x->load + x->pending;
	uint32_t		 ay = y->load + y->pending;

	if (ax != ay)
		return (ax < ay);
	if (x->last_ms != y->last_ms)
		return (x->last_ms < y->last_ms);
	return (x->id < y->id);
}

/* Fill *k with supporter i's rank key. */
void
pool_key(const struct matcher *m, uint32_t i, struct skey *k)
{
	const struct sup	*s = &m->sups[i];

	k->active = (uint32_t)s->load + s->pending;
	k->last = s->last_ms;
	k->id = s->id;
}

/* Order classes by their best eligible supporter. */
static int
pool_cls_less(const struct matcher *m, uint32_t a, uint32_t b)
{
	return (skey_less(&m->clss[a].topkey, &m->clss[b].topkey));
}

/* Record a supporter's place in its class heap. */
static void
pool_sup_setpos(struct matcher *m, const struct heap *h, uint32_t i,
    uint32_t pos)
{
	(void)h;
	m->sups[i].hpos = pos;
}

/* Index of tag t among the tags of a set (how many set tags precede it). */
static uint32_t
pool_tag_rank(tags_t tags, uint32_t t)
{
	uint64_t	below = t % 64 == 0 ? 0 : ~0ULL >> (64 - t % 64);

	if (t < 64)
		return (popcount64(tags.w[0] & below));
	return (popcount64(tags.w[0]) + popcount64(tags.w[1] & below));
}

/* Record a class's place in the heap of classes or in a tag's heap. */
static void
pool_cls_setpos(struct matcher *m, const struct heap *h, uint32_t c,
    uint32_t pos)
{
	struct cls	*cl = &m->clss[c];

	if (h == &m->classes)
		cl->gpos = pos;
	else
		cl->tpos[pool_tag_rank(cl->tags, h - m->tagheaps)] = pos;
}

/* Hash a supporter slot by id. */
static uint64_t
pool_sup_hash(const struct matcher *m, uint32_t i)
{
	return (hash_mix(m->sups[i].id));
}

/* Compare a supporter slot with an id. */
static int
pool_sup_eq(const struct matcher *m, uint32_t i, const void *key)
{
	return (m->sups[i].id == *(const uint64_t *)key);
}

/* Hash a class key. */
static uint64_t
pool_key_hash(tags_t tags, uint64_t langs)
{
	return (hash_mix(tags.w[0] ^ hash_mix(tags.w[1] ^ hash_mix(langs))));
}

/* Hash a class slot. */
static uint64_t
pool_cls_hash(const struct matcher *m, uint32_t c)
{
	return (pool_key_hash(m->clss[c].tags, m->clss[c].langs));
}

/* Compare a class with a (tags, langs) key. */
static int
pool_cls_eq(const struct matcher *m, uint32_t c, const void *key)
{
	const struct cls	*k = key;

	return (tags_equal(m->clss[c].tags, k->tags) &&
	    m->clss[c].langs == k->langs);
}

/* Find a supporter slot by id; NONE if absent. */
uint32_t
pool_find(const struct matcher *m, uint64_t id)
{
	return (tab_lookup(m, &m->supid, hash_mix(id), pool_sup_eq, &id));
}

/* Grow one bitset to m->words words, zero-filling; NULL on failure. */
static uint64_t *
pool_bits_grow(uint64_t *b, uint32_t old, uint32_t words)
{
	uint64_t	*nb;

	if ((nb = realloc(b, words * sizeof *nb)) == NULL)
		return (NULL);
	memset(nb + old, 0, (words - old) * sizeof *nb);
	return (nb);
}

/* Make every class bitset (and the search scratch) hold words words. */
static int
pool_words(struct matcher *m, uint32_t words)
{
	uint64_t	*b;
	uint32_t	 old = m->words, i;

	if (words <= old)
		return (MATCHER_OK);
	for (i = 0; i < MATCHER_TAGS_MAX; i++) {
		if (m->tagbits[i] == NULL)
			continue;
		if ((b = pool_bits_grow(m->tagbits[i], old, words)) == NULL)
			return (MATCHER_ENOMEM);
		m->tagbits[i] = b;
	}
	for (i = 0; i < MATCHER_LANGS_MAX; i++) {
		if (m->langbits[i] == NULL)
			continue;
		if ((b = pool_bits_grow(m->langbits[i], old, words)) == NULL)
			return (MATCHER_ENOMEM);
		m->langbits[i] = b;
	}
	if ((b = pool_bits_grow(m->nonempty, old, words)) == NULL)
		return (MATCHER_ENOMEM);
	m->nonempty = b;
	b = realloc(m->lvl, (LEVELS_MAX + 2) * (size_t)words * sizeof *b);
	if (b == NULL)
		return (MATCHER_ENOMEM);
	m->lvl = b;
	m->words = words;
	return (MATCHER_OK);
}

/* Set class c's bit in the bitset *bp, allocating it first if needed. */
static int
pool_bit_set(struct matcher *m, uint64_t **bp, uint32_t c)
{
	if (*bp == NULL && (*bp = calloc(m->words, sizeof **bp)) == NULL)
		return (MATCHER_ENOMEM);
	(*bp)[c / 64] |= 1ULL << (c % 64);
	return (MATCHER_OK);
}

/* Find or create the class for (tags, langs); NONE when memory is short. */
static uint32_t
pool_class(struct matcher *m, tags_t tags, uint64_t langs)
{
	struct cls	 key, *cl;
	uint64_t	 h = pool_key_hash(tags, langs);
	uint32_t	*tpos, c, t, words;

	key.tags = tags;
	key.langs = langs;
	c = tab_lookup(m, &m->clsid, h, pool_cls_eq, &key);
	if (c != NONE)
		return (c);

	c = m->nclss;
	if ((cl = util_grow(m->clss, &m->capclss, c + 1, sizeof *cl)) == NULL)
		return (NONE);
	m->clss = cl;
	words = m->words == 0 ? 1 : m->words;
	while (c / 64 >= words)
		words *= 2;
	if (pool_words(m, words) != MATCHER_OK)
		return (NONE);
	/* The class heaps never allocate in pool_attach: reserve now. */
	if (heap_reserve(m, &m->classes, c + 1) != MATCHER_OK)
		return (NONE);
	for (t = 0; t < MATCHER_TAGS_MAX; t++) {
		if (((tags.w[t / 64] >> (t % 64)) & 1) &&
		    heap_reserve(m, &m->tagheaps[t], m->tagncls[t] + 1) !=
		    MATCHER_OK)
			return (NONE);
	}
	/* A failed earlier attempt may have left bits for index c. */
	for (t = 0; t < MATCHER_TAGS_MAX; t++) {
		if (m->tagbits[t] != NULL)
			m->tagbits[t][c / 64] &= ~(1ULL << (c % 64));
	}
	for (t = 0; t < MATCHER_LANGS_MAX; t++) {
		if (m->langbits[t] != NULL)
			m->langbits[t][c / 64] &= ~(1ULL << (c % 64));
	}
	for (t = 0; t < MATCHER_TAGS_MAX; t++) {
		if ((tags.w[t / 64] >> (t % 64)) & 1) {
			if (pool_bit_set(m, &m->tagbits[t], c) != MATCHER_OK)
				return (NONE);
		}
	}
	for (t = 0; t < MATCHER_LANGS_MAX; t++) {
		if ((langs >> t) & 1) {
			if (pool_bit_set(m, &m->langbits[t], c) != MATCHER_OK)
				return (NONE);
		}
	}
	if ((tpos = malloc((tags_count(tags) + 1) * sizeof *tpos)) == NULL)
		return (NONE);
	cl = &m->clss[c];
	memset(cl, 0, sizeof *cl);
	cl->tags = tags;
	cl->langs = langs;
	cl->gpos = NONE;
	cl->tpos = tpos;
	for (t = 0; t < (uint32_t)tags_count(tags); t++)
		tpos[t] = NONE;
	if (tab_insert(m, &m->clsid, pool_cls_hash, h, c) != MATCHER_OK) {
		/* Bits set for c are harmless: c is not a class yet. */
		free(tpos);
		return (NONE);
	}
	for (t = 0; t < MATCHER_TAGS_MAX; t++) {
		if ((tags.w[t / 64] >> (t % 64)) & 1)
			m->tagncls[t]++;
	}
	m->nclss++;
	return (c);
}

/* Spare slots supporter i offers while available. */
static uint32_t
pool_spare(const struct sup *s)
{
	uint32_t	active = (uint32_t)s->load + s->pending;

	if (s->status != MATCHER_AVAILABLE || active >= s->cap)
		return (0);
	return (s->cap - active);
}

/* Put class c in heap h, take it out, or move it, as its heap requires. */
static void
pool_sync(struct matcher *m, struct heap *h, uint32_t pos, uint32_t c)
{
	if (m->clss[c].h.n == 0) {
		if (pos != NONE)
			heap_remove(m, h, &pool_cls_ops, pos);
	} else if (pos == NONE) {
		/* Cannot fail: pool_class reserved a slot per class. */
		(void)heap_push(m, h, &pool_cls_ops, c);
	} else
		heap_fix(m, h, &pool_cls_ops, pos);
}

/* Keep the class heaps and the nonempty bit in step after class c's own
 * heap changed. */
static void
pool_class_changed(struct matcher *m, uint32_t c)
{
	struct cls	*cl = &m->clss[c];
	uint64_t	 w;
	uint32_t	 t, k = 0, i;

	if (cl->h.n != 0) {
		cl->top = cl->h.v[0];
		pool_key(m, cl->top, &cl->topkey);
		m->nonempty[c / 64] |= 1ULL << (c % 64);
	} else
		m->nonempty[c / 64] &= ~(1ULL << (c % 64));
	pool_sync(m, &m->classes, cl->gpos, c);
	for (i = 0; i < 2; i++) {
		for (w = cl->tags.w[i]; w != 0; w &= w - 1) {
			t = i * 64 + __builtin_ctzll(w);
			pool_sync(m, &m->tagheaps[t], cl->tpos[k++], c);
		}
	}
}

/*
 * Supporter state changes are bracketed: pool_detach before, pool_attach
 * after.  The supporter stays in its class heap in between (with a stale
 * key), so a change that keeps it eligible costs one sift, not a removal
 * and an insertion.
 */
void
pool_detach(struct matcher *m, uint32_t i)
{
	struct sup	*s = &m->sups[i];

	m->clss[s->cls].spare -= pool_spare(s);
}

/* Put supporter i's new state into the indexes. */
void
pool_attach(struct matcher *m, uint32_t i)
{
	struct sup	*s = &m->sups[i];
	struct cls	*cl = &m->clss[s->cls];

	cl->spare += pool_spare(s);
	if (sup_eligible(s)) {
		if (s->hpos == NONE) {
			/* Cannot fail: the class heap holds every member. */
			(void)heap_push(m, &cl->h, &pool_sup_ops, i);
		} else
			heap_fix(m, &cl->h, &pool_sup_ops, s->hpos);
	} else if (s->hpos != NONE)
		heap_remove(m, &cl->h, &pool_sup_ops, s->hpos);
	else
		return;
	pool_class_changed(m, s->cls);
}

/* Take a detached supporter out of its class heap. */
static void
pool_unlink(struct matcher *m, uint32_t i)
{
	struct sup	*s = &m->sups[i];

	if (s->hpos == NONE)
		return;
	heap_remove(m, &m->clss[s->cls].h, &pool_sup_ops, s->hpos);
	pool_class_changed(m, s->cls);
}

/* Make class c's heap able to hold one more member. */
static int
pool_reserve_member(struct matcher *m, uint32_t c)
{
	return (heap_reserve(m, &m->clss[c].h, m->clss[c].nmemb + 1));
}

/* Add a validated supporter that is not present. */
int
pool_add(struct matcher *m, const struct matcher_supporter *ms)
{
	struct sup	*s;
	uint32_t	*f, i, c;

	if (m->nfreesups == 0) {
		s = util_grow(m->sups, &m->capsups, m->nsups + 1, sizeof *s);
		if (s == NULL)
			return (MATCHER_ENOMEM);
		m->sups = s;
	}
	c = pool_class(m, ms->tags, ms->langs);
	if (c == NONE || pool_reserve_member(m, c) != MATCHER_OK)
		return (MATCHER_ENOMEM);
	i = m->nfreesups > 0 ? m->freesups[m->nfreesups - 1] : m->nsups;
	s = &m->sups[i];
	memset(s, 0, sizeof *s);
	s->id = ms->id;
	s->last_ms = ms->last_match_ms;
	s->cls = c;
	s->hpos = NONE;
	s->cap = ms->capacity;
	s->load = ms->load;
	s->status = ms->status;
	s->flags = SUP_USED;
	if (tab_insert(m, &m->supid, pool_sup_hash, hash_mix(s->id), i) !=
	    MATCHER_OK)
		return (MATCHER_ENOMEM);
	/* The free list must take every slot back without allocating. */
	f = util_grow(m->freesups, &m->capfreesups, m->capsups, sizeof *f);
	if (f == NULL) {
		tab_delete(m, &m->supid, pool_sup_hash, hash_mix(s->id), i);
		return (MATCHER_ENOMEM);
	}
	m->freesups = f;
	if (m->nfreesups > 0)
		m->nfreesups--;
	else
		m->nsups++;
	m->clss[c].nmemb++;
	m->nstatus[s->status]++;
	pool_attach(m, i);
	return (MATCHER_OK);
}

/* Move supporter i to the class for new tags and languages. */
int
pool_move(struct matcher *m, uint32_t i, tags_t tags, uint64_t langs)
{
	struct sup	*s = &m->sups[i];
	uint32_t	 c;

	c = pool_class(m, tags, langs);
	if (c == NONE)
		return (MATCHER_ENOMEM);
	if (c == s->cls)
		return (MATCHER_OK);
	if (pool_reserve_member(m, c) != MATCHER_OK)
		return (MATCHER_ENOMEM);
	pool_detach(m, i);
	pool_unlink(m, i);
	m->clss[s->cls].nmemb--;
	s->cls = c;
	m->clss[c].nmemb++;
	pool_attach(m, i);
	return (MATCHER_OK);
}

/* Remove supporter i; the caller has withdrawn its offers. */
void
pool_remove(struct matcher *m, uint32_t i)
{
	struct sup	*s = &m->sups[i];

	pool_detach(m, i);
	pool_unlink(m, i);
	m->clss[s->cls].nmemb--;
	m->nstatus[s->status]--;
	tab_delete(m, &m->supid, pool_sup_hash, hash_mix(s->id), i);
	s->flags = 0;
	m->freesups[m->nfreesups++] = i;
}

/* Decay a class's service count to now. */
static double
pool_svc_at(const struct cls *cl, uint64_t now)
{
	if (now <= cl->svc_ms)
		return (cl->svc);
	return (cl->svc * exp(-(double)(now - cl->svc_ms) / SVC_TAU_MS));
}

/* Count a confirmed match for supporter i's class at now. */
void
pool_served(struct matcher *m, uint32_t i, uint64_t now)
{
	struct cls	*cl = &m->clss[m->sups[i].cls];

	cl->svc = pool_svc_at(cl, now) + 1;
	if (now > cl->svc_ms)
		cl->svc_ms = now;
}

/*
 * Recent service rate, in matches per ms, of the classes that could serve
 * a request with these required tags and languages.  An exponentially
 * decayed count over SVC_TAU_MS estimates rate as count / tau.
 */
double
pool_rate(const struct matcher *m, tags_t required, uint64_t langs,
    uint64_t now)
{
	const struct cls	*cl;
	double			 sum = 0;
	uint32_t		 c;

	for (c = 0; c < m->nclss; c++) {
		cl = &m->clss[c];
		if ((cl->langs & langs) != 0 && tags_subset(required, cl->tags))
			sum += pool_svc_at(cl, now);
	}
	return (sum / SVC_TAU_MS);
}

/* Free everything the pool holds. */
void
pool_free(struct matcher *m)
{
	uint32_t	i;

	for (i = 0; i < m->nclss; i++) {
		heap_free(&m->clss[i].h);
		free(m->clss[i].tpos);
	}
	for (i = 0; i < MATCHER_TAGS_MAX; i++) {
		free(m->tagbits[i]);
		heap_free(&m->tagheaps[i]);
	}
	for (i = 0; i < MATCHER_LANGS_MAX; i++)
		free(m->langbits[i]);
	free(m->nonempty);
	free(m->clss);
	heap_free(&m->classes);
	free(m->sups);
	free(m->freesups);
	tab_free(&m->supid);
	tab_free(&m->clsid);
}
