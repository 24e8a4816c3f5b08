/*
 * block.c -- pairs that must never be matched: a requester key and a
 * supporter id, from a block or a report.  Blocks are never lifted by the
 * matcher, so the set only grows: an open-addressed table with linear
 * probing and no deletion.  Key 0 (anonymous) never appears, so an entry
 * with key 0 marks an empty slot.
 */

#include <stdint.h>
#include <stdlib.h>

#include "matcher_int.h"

#define BLOCK_MIN	16	/* slots, first table */

/* Hash a pair. */
static uint64_t
block_hash(uint64_t key, uint64_t sid)
{
	return (hash_mix(key ^ hash_mix(sid)));
}

/* Put a pair in the first free slot (the table has room). */
static void
block_place(struct block *t, uint32_t mask, uint64_t key, uint64_t sid)
{
	uint32_t	i;

	for (i = block_hash(key, sid) & mask; t[i].key != 0; i = (i + 1) & mask)
		;
	t[i].key = key;
	t[i].sid = sid;
}

/* Is the pair blocked? */
int
block_has(const struct matcher *m, uint64_t key, uint64_t sid)
{
	uint32_t	i;

	if (m->blocks == NULL)
		return (0);
	for (i = block_hash(key, sid) & m->blockmask; m->blocks[i].key != 0;
	    i = (i + 1) & m->blockmask) {
		if (m->blocks[i].key == key && m->blocks[i].sid == sid)
			return (1);
	}
	return (0);
}

/* Block a pair; blocking twice is not an error. */
int
block_add(struct matcher *m, uint64_t key, uint64_t sid)
{
	struct block	*nt;
	uint32_t	 size, i;

	if (block_has(m, key, sid))
		return (MATCHER_OK);
	size = m->blocks == NULL ? 0 : m->blockmask + 1;
	if (2 * (m->nblocks + 1) > size) {
		size = size == 0 ? BLOCK_MIN : 2 * size;
		if ((nt = calloc(size, sizeof *nt)) == NULL)
			return (MATCHER_ENOMEM);
		for (i = 0; m->blocks != NULL && i <= m->blockmask; i++) {
			if (m->blocks[i].key != 0)
				block_place(nt, size - 1, m->blocks[i].key,
				    m->blocks[i].sid);
		}
		free(m->blocks);
		m->blocks = nt;
		m->blockmask = size - 1;
	}
	block_place(m->blocks, m->blockmask, key, sid);
	m->nblocks++;
	return (MATCHER_OK);
}

/* Free the set. */
void
block_free(struct matcher *m)
{
	free(m->blocks);
	m->blocks = NULL;
}
