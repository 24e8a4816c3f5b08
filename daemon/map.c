/*
 * map.c -- a hash map from nonzero 64-bit keys to pointers.
 *
 * Chained buckets, a power of two of them, doubled when the map holds more
 * entries than buckets.  Keys are mixed before use, so counters and hashes
 * spread as well as random ids.  The map owns its entries, never the
 * values.  Used for requests, supporters, offers and resume tokens.
 */
#include <stdint.h>
#include <stdlib.h>

#include "peerd.h"

#define MAP_MIN_BUCKETS	16	/* buckets of a map's first table */

struct map_entry {
	uint64_t		 key;
	void			*val;
	struct map_entry	*next;
};

/* Mix a key (splitmix64's finaliser). */
static uint64_t
map_hash(uint64_t k)
{
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (k);
}

/* Make an empty map (no allocation until the first put). */
void
map_init(struct map *m)
{
	m->buckets = NULL;
	m->nbuckets = 0;
	m->n = 0;
}

/* Free every entry (not the values) and empty the map. */
void
map_clear(struct map *m)
{
	struct map_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	map_init(m);
}

/* Double the table (or make the first one). */
static void
map_grow(struct map *m)
{
	struct map_entry	**nb, *e, *next;
	size_t			  n, i, j;

	n = m->nbuckets == 0 ? MAP_MIN_BUCKETS : m->nbuckets * 2;
	nb = xcalloc(n, sizeof *nb);
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			j = map_hash(e->key) & (n - 1);
			e->next = nb[j];
			nb[j] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

/* Return the value under key, or NULL. */
void *
map_get(const struct map *m, uint64_t key)
{
	struct map_entry	*e;

	if (m->nbuckets == 0)
		return (NULL);
	for (e = m->buckets[map_hash(key) & (m->nbuckets - 1)]; e != NULL;
	    e = e->next) {
		if (e->key == key)
			return (e->val);
	}
	return (NULL);
}

/* Store val under key.  Returns 0, or -1 if key is 0 or already present. */
int
map_put(struct map *m, uint64_t key, void *val)
{
	struct map_entry	*e;
	size_t			 j;

	if (key == 0 || map_get(m, key) != NULL)
		return (-1);
	if (m->n >= m->nbuckets)
		map_grow(m);
	e = xmalloc(sizeof *e);
	e->key = key;
	e->val = val;
	j = map_hash(key) & (m->nbuckets - 1);
	e->next = m->buckets[j];
	m->buckets[j] = e;
	m->n++;
	return (0);
}

/* Remove key; returns its value, or NULL if it was not there. */
void *
map_remove(struct map *m, uint64_t key)
{
	struct map_entry	**ep, *e;
	void			 *val;

	if (m->nbuckets == 0)
		return (NULL);
	for (ep = &m->buckets[map_hash(key) & (m->nbuckets - 1)];
	    (e = *ep) != NULL; ep = &e->next) {
		if (e->key == key) {
			*ep = e->next;
			val = e->val;
			free(e);
			m->n--;
			return (val);
		}
	}
	return (NULL);
}

/* Return a random nonzero key not in m. */
uint64_t
map_new_key(const struct map *m)
{
	uint64_t	key;

	do
		key = util_random_id();
	while (map_get(m, key) != NULL);
	return (key);
}
