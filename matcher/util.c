/*
 * util.c -- growable arrays, index heaps and index hash tables used by the
 * rest of the matcher.  Everything here works on uint32_t indices into the
 * owner's arrays: a table slot costs 4 bytes, a heap entry 12 (the index
 * and a 64-bit key prefix).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matcher_int.h"

#define GROW_MIN	2	/* entries, first allocation */
#define TAB_MIN		16	/* slots, first table */

static void	heap_order(struct matcher *, struct heap *,
		    const struct heap_ops *, uint32_t);

/* Make room for at least need entries of size sz; returns NULL on failure. */
void *
util_grow(void *p, uint32_t *cap, uint32_t need, size_t sz)
{
	uint64_t	 ncap;
	void		*np;

	if (need <= *cap)
		return (p);
	ncap = *cap < GROW_MIN ? GROW_MIN : *cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX || ncap > SIZE_MAX / sz)
		return (NULL);
	if ((np = realloc(p, ncap * sz)) == NULL)
		return (NULL);
	*cap = ncap;
	return (np);
}

/* Does the entry at position a come before the one at b? */
static inline int
heap_before(const struct matcher *m, const struct heap *h,
    const struct heap_ops *ops, uint32_t a, uint32_t b)
{
	if (h->k[a] != h->k[b])
		return (h->k[a] < h->k[b]);
	return (ops->less(m, h->v[a], h->v[b]));
}

/* Place item (with key) at pos and tell the owner. */
static void
heap_set(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t pos, uint32_t item, uint64_t key)
{
	h->v[pos] = item;
	h->k[pos] = key;
	ops->setpos(m, h, item, pos);
}

/* Move the entry at pos towards the root while it beats its parent. */
static void
heap_up(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t pos)
{
	uint32_t	item = h->v[pos], parent;
	uint64_t	key = h->k[pos];

	while (pos > 0) {
		parent = (pos - 1) / 2;
		if (key > h->k[parent] || (key == h->k[parent] &&
		    !ops->less(m, item, h->v[parent])))
			break;
		heap_set(m, h, ops, pos, h->v[parent], h->k[parent]);
		pos = parent;
	}
	heap_set(m, h, ops, pos, item, key);
}

/* Move the entry at pos towards the leaves while a child beats it. */
static void
heap_down(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t pos)
{
	uint32_t	item = h->v[pos], child;
	uint64_t	key = h->k[pos];

	for (;;) {
		child = 2 * pos + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && heap_before(m, h, ops, child + 1, child))
			child++;
		if (key < h->k[child] || (key == h->k[child] &&
		    !ops->less(m, h->v[child], item)))
			break;
		heap_set(m, h, ops, pos, h->v[child], h->k[child]);
		pos = child;
	}
	heap_set(m, h, ops, pos, item, key);
}

/*
 * Make sure both walk buffers can hold n + 1 positions: a walk over a heap
 * of n never holds more, so heap_walk itself never allocates.
 */
static int
heap_reserve_aux(struct matcher *m, uint32_t n)
{
	uint32_t	*p;
	int		 i;

	for (i = 0; i < 2; i++) {
		p = util_grow(m->aux[i], &m->auxcap[i], n + 1, sizeof *p);
		if (p == NULL)
			return (MATCHER_ENOMEM);
		m->aux[i] = p;
	}
	return (MATCHER_OK);
}

/* Make room for need items, so pushes up to that many cannot fail. */
int
heap_reserve(struct matcher *m, struct heap *h, uint32_t need)
{
	uint64_t	*k;
	uint32_t	*v, cap;

	if (need <= h->cap)
		return (MATCHER_OK);
	cap = h->cap;
	if ((k = util_grow(h->k, &cap, need, sizeof *k)) == NULL)
		return (MATCHER_ENOMEM);
	h->k = k;
	cap = h->cap;
	if ((v = util_grow(h->v, &cap, need, sizeof *v)) == NULL)
		return (MATCHER_ENOMEM);
	h->v = v;
	h->cap = cap;
	return (heap_reserve_aux(m, h->cap));
}

/* Insert item. */
int
heap_push(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t item)
{
	if (heap_reserve(m, h, h->n + 1) != MATCHER_OK)
		return (MATCHER_ENOMEM);
	h->v[h->n] = item;
	h->k[h->n] = ops->key(m, item);
	h->n++;
	heap_up(m, h, ops, h->n - 1);
	return (MATCHER_OK);
}

/* Remove the item at pos. */
void
heap_remove(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t pos)
{
	uint32_t	gone = h->v[pos];

	ops->setpos(m, h, gone, NONE);
	h->n--;
	if (pos == h->n)
		return;
	heap_set(m, h, ops, pos, h->v[h->n], h->k[h->n]);
	heap_order(m, h, ops, pos);
}

/* Restore order after the key of the item at pos changed. */
void
heap_fix(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t pos)
{
	h->k[pos] = ops->key(m, h->v[pos]);
	heap_order(m, h, ops, pos);
}

/* Move the entry at pos up or down to where it belongs. */
static void
heap_order(struct matcher *m, struct heap *h, const struct heap_ops *ops,
    uint32_t pos)
{
	if (pos > 0 && heap_before(m, h, ops, pos, (pos - 1) / 2))
		heap_up(m, h, ops, pos);
	else
		heap_down(m, h, ops, pos);
}

/*
 * Visit items in order, best first, until visit returns nonzero; return that
 * item, or NONE if all were visited.  A second min-heap of positions (in
 * m->aux[which]) holds the frontier: popping a position exposes its two
 * children, so k visits cost O(k log k) whatever the heap's size.  visit
 * must not change the heap; which lets one walk nest inside another.
 */
uint32_t
heap_walk(struct matcher *m, const struct heap *h, const struct heap_ops *ops,
    int which, int (*visit)(struct matcher *, uint32_t, void *), void *arg)
{
	uint32_t	*a = m->aux[which], n = 0, p, c, i, j, k, pos;

	if (h->n == 0)
		return (NONE);
	a[n++] = 0;
	while (n > 0) {
		pos = a[0];
		if (visit(m, h->v[pos], arg))
			return (h->v[pos]);
		/* Pop the frontier's minimum, then push pos's children. */
		a[0] = a[--n];
		for (i = 0;;) {
			j = 2 * i + 1;
			if (j >= n)
				break;
			if (j + 1 < n && heap_before(m, h, ops, a[j + 1], a[j]))
				j++;
			if (!heap_before(m, h, ops, a[j], a[i]))
				break;
			k = a[i], a[i] = a[j], a[j] = k;
			i = j;
		}
		for (c = 2 * pos + 1; c <= 2 * pos + 2 && c < h->n; c++) {
			i = n;
			a[n++] = c;
			while (i > 0) {
				p = (i - 1) / 2;
				if (!heap_before(m, h, ops, a[i], a[p]))
					break;
				k = a[i], a[i] = a[p], a[p] = k;
				i = p;
			}
		}
	}
	return (NONE);
}

/* Release a heap's arrays. */
void
heap_free(struct heap *h)
{
	free(h->v);
	free(h->k);
	h->v = NULL;
	h->k = NULL;
	h->n = h->cap = 0;
}

/* Find the index whose key eq accepts, probing from hash h; NONE if absent. */
uint32_t
tab_lookup(const struct matcher *m, const struct tab *t, uint64_t h,
    tab_eq_fn eq, const void *key)
{
	uint32_t	i;

	if (t->slot == NULL)
		return (NONE);
	for (i = h & t->mask; t->slot[i] != NONE; i = (i + 1) & t->mask) {
		if (eq(m, t->slot[i], key))
			return (t->slot[i]);
	}
	return (NONE);
}

/* Put idx in the first free slot from h (the table has room). */
static void
tab_place(struct tab *t, uint64_t h, uint32_t idx)
{
	uint32_t	i;

	for (i = h & t->mask; t->slot[i] != NONE; i = (i + 1) & t->mask)
		;
	t->slot[i] = idx;
}

/* Insert idx with hash h, doubling the table past half full. */
int
tab_insert(const struct matcher *m, struct tab *t, tab_hash_fn hash,
    uint64_t h, uint32_t idx)
{
	struct tab	nt;
	uint32_t	size, i;

	size = t->slot == NULL ? 0 : t->mask + 1;
	if (2 * (t->n + 1) > size) {
		nt.mask = (size == 0 ? TAB_MIN : 2 * size) - 1;
		nt.n = t->n;
		if ((nt.slot = malloc((nt.mask + 1) * sizeof *nt.slot)) == NULL)
			return (MATCHER_ENOMEM);
		memset(nt.slot, 0xff, (nt.mask + 1) * sizeof *nt.slot);
		for (i = 0; i < size; i++) {
			if (t->slot[i] != NONE)
				tab_place(&nt, hash(m, t->slot[i]), t->slot[i]);
		}
		free(t->slot);
		*t = nt;
	}
	tab_place(t, h, idx);
	t->n++;
	return (MATCHER_OK);
}

/*
 * Delete idx (hash h).  Linear probing needs no tombstones if each later
 * entry in the run moves back into the hole when its home slot allows.
 */
void
tab_delete(const struct matcher *m, struct tab *t, tab_hash_fn hash,
    uint64_t h, uint32_t idx)
{
	uint32_t	i, j, home;

	for (i = h & t->mask; t->slot[i] != idx; i = (i + 1) & t->mask)
		;
	t->slot[i] = NONE;
	t->n--;
	for (j = (i + 1) & t->mask; t->slot[j] != NONE; j = (j + 1) & t->mask) {
		home = hash(m, t->slot[j]) & t->mask;
		/* Move j back to i unless home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			t->slot[i] = t->slot[j];
			t->slot[j] = NONE;
			i = j;
		}
	}
}

/* Release a table. */
void
tab_free(struct tab *t)
{
	free(t->slot);
	t->slot = NULL;
	t->n = 0;
	t->mask = 0;
}
