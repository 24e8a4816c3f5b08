/*
 * matcher_int.h -- private to the matcher: the structures behind the handle
 * and the prototypes shared between its files.
 */

#ifndef MATCHER_INT_H
#define MATCHER_INT_H

#include <stdint.h>

#include "matcher.h"

#define NONE		UINT32_MAX	/* no index */
#define LEVELS_MAX	8	/* preferred tags counted with bitset levels */
#define SUBSETS_MAX	12	/* supporter tags enumerated as subsets */
#define SVC_TAU_MS	(60ULL * 60 * 1000) /* ms, service-rate memory */

/* A tag set as two words, by value. */
typedef struct matcher_tags tags_t;

/*
 * Binary min-heap of indices; the owner supplies order and back-pointers.
 * Each entry also holds a 64-bit key, a prefix of the order (key(a) <
 * key(b) implies a before b), so most comparisons read the heap's own
 * arrays rather than the items; less() decides only between equal keys.
 */
struct heap {
	uint32_t	*v;
	uint64_t	*k;
	uint32_t	 n;
	uint32_t	 cap;
};

struct heap_ops {
	uint64_t (*key)(const struct matcher *, uint32_t);
	int	(*less)(const struct matcher *, uint32_t, uint32_t);
	void	(*setpos)(struct matcher *, const struct heap *, uint32_t,
		    uint32_t);
};

/* Open-addressed table of indices; the owner supplies hash and equality. */
struct tab {
	uint32_t	*slot;
	uint32_t	 mask;
	uint32_t	 n;
};

typedef uint64_t	(*tab_hash_fn)(const struct matcher *, uint32_t);

/*
 * A supporter (32 bytes; its tags and languages are its class's).
 * Invariant: it is in its class's heap (hpos != NONE) exactly when it is
 * eligible: available and load + pending < capacity.
 */
struct sup {
	uint64_t	id;
	uint64_t	last_ms;
	uint32_t	cls;
	uint32_t	hpos;
	uint16_t	cap;
	uint16_t	load;
	uint16_t	pending;
	uint8_t		status;
	uint8_t		flags;
#define SUP_USED	0x1
#define SUP_DIRTY	0x2
};

/* Where a supporter ranks in the pool: fewest active (load and offers),
 * then longest since last match, then lowest id. */
struct skey {
	uint32_t	active;
	uint64_t	last;
	uint64_t	id;
};

/*
 * A class: all supporters with the same tags and languages.  Its heap holds
 * the eligible ones, best on top; nonempty classes sit in the matcher's
 * class heap ordered by their top supporter, so walking that heap visits
 * classes best-first.  The top's key is copied into the class so searches
 * compare classes without touching the supporters.
 */
struct cls {
	struct skey	topkey;		/* valid while h.n > 0 */
	uint32_t	top;		/* h.v[0] while h.n > 0 */
	tags_t		tags;
	uint32_t	*tpos;		/* place in each of its tags' heaps */
	uint64_t	langs;
	struct heap	h;
	uint32_t	gpos;		/* in m->classes, NONE if empty */
	uint32_t	nmemb;		/* members, eligible or not */
	uint32_t	spare;		/* free slots of available members */
	double		svc;		/* decayed confirmed matches */
	uint64_t	svc_ms;		/* when svc was last decayed */
};

/*
 * A queued request.  It is in its group's heap exactly while waiting (no
 * offer out, sup == NONE).  grp is the group for its effective required
 * tags: the original ones, or none once relaxed.
 */
struct req {
	uint64_t	id;
	uint64_t	key;
	tags_t		required;
	tags_t		preferred;
	uint64_t	langs;
	uint64_t	previous;
	uint64_t	enq_ms;
	uint64_t	relax_ms;	/* absolute; UINT64_MAX = never */
	uint64_t	seq;
	uint64_t	*declined;	/* supporter ids not to offer again */
	uint32_t	ndeclined;
	uint32_t	grp;
	uint32_t	gpos;
	uint32_t	rpos;		/* in m->relax, NONE if not pending */
	uint32_t	sup;		/* supporter offered, NONE if waiting */
	uint8_t		urgent;
	uint8_t		relaxed;
	uint8_t		flags;
#define REQ_USED	0x1
#define REQ_DIRTY	0x2
};

/* Waiting requests with the same effective required tags and languages. */
struct grp {
	tags_t		required;
	uint64_t	langs;
	struct heap	h;
	uint32_t	nmemb;		/* requests with this group, any state */
};

/* All groups sharing one required-tag set, for lookup by subset. */
struct rset {
	tags_t		required;
	uint32_t	*grps;
	uint32_t	 ngrps;
	uint32_t	 capgrps;
};

/* A blocked (requester key, supporter id) pair. */
struct block {
	uint64_t	key;
	uint64_t	sid;
};

/* A candidate search: what the requester asks, and who is ruled out. */
struct query {
	tags_t		 required;
	tags_t		 preferred;
	uint64_t	 langs;
	const struct req *r;
	uint32_t	 excl;		/* one more supporter to skip */
};

struct matcher {
	char		*names[MATCHER_TAGS_MAX];
	char		*descs[MATCHER_TAGS_MAX];
	uint32_t	 ntags;

	/* pool.c */
	struct sup	*sups;
	uint32_t	 nsups;		/* slots in use or free */
	uint32_t	 capsups;
	uint32_t	*freesups;
	uint32_t	 nfreesups;
	uint32_t	 capfreesups;
	struct tab	 supid;
	uint32_t	 nstatus[MATCHER_NSTATUS];
	struct cls	*clss;
	uint32_t	 nclss;
	uint32_t	 capclss;
	struct tab	 clsid;
	struct heap	 classes;	/* nonempty classes, best top first */
	struct heap	 tagheaps[MATCHER_TAGS_MAX]; /* the same, per tag */
	uint32_t	 tagncls[MATCHER_TAGS_MAX]; /* classes with the tag */
	uint32_t	 words;		/* bitset words per class bitset */
	uint64_t	*tagbits[MATCHER_TAGS_MAX];
	uint64_t	*langbits[MATCHER_LANGS_MAX];
	uint64_t	*nonempty;

	/* search.c scratch */
	uint64_t	*lvl;		/* (LEVELS_MAX + 2) * words */
	uint32_t	*aux[2];	/* heap walks, nested two deep */
	uint32_t	 auxcap[2];

	/* queue.c */
	struct req	*reqs;
	uint32_t	 nreqs;
	uint32_t	 capreqs;
	uint32_t	*freereqs;
	uint32_t	 nfreereqs;
	uint32_t	 capfreereqs;
	uint32_t	 queued;
	uint32_t	 offered;
	struct tab	 reqid;
	uint64_t	 seq;
	struct grp	*grps;
	uint32_t	 ngrps;
	uint32_t	 capgrps;
	struct tab	 grpid;
	struct rset	*rsets;
	uint32_t	 nrsets;
	uint32_t	 caprsets;
	struct tab	 rsetid;
	struct heap	 relax;		/* requests by relax_ms */

	/* block.c */
	struct block	*blocks;
	uint32_t	 blockmask;
	uint32_t	 nblocks;

	/* matcher.c: what may have become matchable since the last next() */
	uint32_t	*dirtysups;
	uint32_t	 ndirtysups;
	uint32_t	 capdirtysups;
	uint32_t	*dirtyreqs;
	uint32_t	 ndirtyreqs;
	uint32_t	 capdirtyreqs;
};

/* Is a a subset of b? */
static inline int
tags_subset(tags_t a, tags_t b)
{
	return (((a.w[0] & ~b.w[0]) | (a.w[1] & ~b.w[1])) == 0);
}

/* Intersection. */
static inline tags_t
tags_and(tags_t a, tags_t b)
{
	tags_t	t = {{ a.w[0] & b.w[0], a.w[1] & b.w[1] }};

	return (t);
}

/* Union. */
static inline tags_t
tags_or(tags_t a, tags_t b)
{
	tags_t	t = {{ a.w[0] | b.w[0], a.w[1] | b.w[1] }};

	return (t);
}

/* Count bits without a libgcc call (the build has no -mpopcnt). */
static inline int
popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return ((int)((x * 0x0101010101010101ULL) >> 56));
}

/* Number of tags in a set. */
static inline int
tags_count(tags_t a)
{
	return (popcount64(a.w[0]) + popcount64(a.w[1]));
}

/* Does rank key a come before b? */
static inline int
skey_less(const struct skey *a, const struct skey *b)
{
	if (a->active != b->active)
		return (a->active < b->active);
	if (a->last != b->last)
		return (a->last < b->last);
	return (a->id < b->id);
}

/* Is the set empty? */
static inline int
tags_empty(tags_t a)
{
	return ((a.w[0] | a.w[1]) == 0);
}

/* Are two sets equal? */
static inline int
tags_equal(tags_t a, tags_t b)
{
	return (a.w[0] == b.w[0] && a.w[1] == b.w[1]);
}

/* Mix 64 bits (the murmur3 finalizer). */
static inline uint64_t
hash_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (x);
}

/* Can supporter s take an offer now? */
static inline int
sup_eligible(const struct sup *s)
{
	return (s->status == MATCHER_AVAILABLE &&
	    (uint32_t)s->load + s->pending < s->cap);
}

/* util.c */
void		*util_grow(void *, uint32_t *, uint32_t, size_t);
void		 heap_free(struct heap *);
int		 heap_reserve(struct matcher *, struct heap *, uint32_t);
int		 heap_push(struct matcher *, struct heap *,
		     const struct heap_ops *, uint32_t);
void		 heap_remove(struct matcher *, struct heap *,
		     const struct heap_ops *, uint32_t);
void		 heap_fix(struct matcher *, struct heap *,
		     const struct heap_ops *, uint32_t);
uint32_t	 heap_walk(struct matcher *, const struct heap *,
		     const struct heap_ops *, int,
		     int (*)(struct matcher *, uint32_t, void *), void *);
typedef int	(*tab_eq_fn)(const struct matcher *, uint32_t, const void *);
uint32_t	 tab_lookup(const struct matcher *, const struct tab *, uint64_t,
		     tab_eq_fn, const void *);
int		 tab_insert(const struct matcher *, struct tab *, tab_hash_fn,
		     uint64_t, uint32_t);
void		 tab_delete(const struct matcher *, struct tab *, tab_hash_fn,
		     uint64_t, uint32_t);
void		 tab_free(struct tab *);

/* pool.c */
extern const struct heap_ops pool_sup_ops;
extern const struct heap_ops pool_cls_ops;
int		 pool_sup_less(const struct matcher *, uint32_t, uint32_t);
void		 pool_key(const struct matcher *, uint32_t, struct skey *);
uint32_t	 pool_find(const struct matcher *, uint64_t);
int		 pool_add(struct matcher *, const struct matcher_supporter *);
int		 pool_move(struct matcher *, uint32_t, tags_t, uint64_t);
void		 pool_remove(struct matcher *, uint32_t);
void		 pool_detach(struct matcher *, uint32_t);
void		 pool_attach(struct matcher *, uint32_t);
void		 pool_served(struct matcher *, uint32_t, uint64_t);
double		 pool_rate(const struct matcher *, tags_t, uint64_t, uint64_t);
void		 pool_free(struct matcher *);

/* search.c */
uint32_t	 search_best(struct matcher *, const struct query *, int *);
int		 search_excluded(const struct matcher *, const struct query *,
		     uint32_t);
void		 search_free(struct matcher *);

/* queue.c */
extern const struct heap_ops queue_req_ops;
int		 queue_less(const struct matcher *, uint32_t, uint32_t);
uint32_t	 queue_find(const struct matcher *, uint64_t);
int		 queue_add(struct matcher *, const struct matcher_request *,
		     uint64_t, uint32_t *);
void		 queue_remove(struct matcher *, uint32_t);
void		 queue_offer(struct matcher *, uint32_t, uint32_t);
void		 queue_unoffer(struct matcher *, uint32_t);
int		 queue_relax_due(struct matcher *, uint64_t, uint32_t *);
uint32_t	 queue_first_for(struct matcher *, uint32_t);
int		 queue_relaxed_at(const struct req *, uint64_t);
void		 queue_effective(const struct req *, uint64_t, tags_t *,
		     tags_t *);
int		 queue_declined(const struct req *, uint64_t);
void		 queue_free(struct matcher *);

/* block.c */
int		 block_add(struct matcher *, uint64_t, uint64_t);
int		 block_has(const struct matcher *, uint64_t, uint64_t);
void		 block_free(struct matcher *);

/* report.c */
int		 report_catalogue(struct matcher *,
		     const struct matcher_tag_def *, size_t);
void		 report_free(struct matcher *);
void		 report_write(const struct matcher *, struct matcher_proposal *,
		     tags_t, tags_t, tags_t);

#endif /* MATCHER_INT_H */
