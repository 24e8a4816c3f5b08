/*
 * bench_matcher.c -- how fast the matcher decides, and how much memory it
 * holds, on synthetic pools shaped like real ones.
 *
 * 32 tags in a Zipf distribution (a few common identities, many rare),
 * supporters with 0-3 tags, requests with 0-3 required and 0-3 preferred
 * tags drawn the same way, 3 languages (one dominant).  For each pool size
 * and queue length two paths are timed, one decision at a time:
 *
 *   arrival  a request arrives: matcher_request_enqueue + matcher_next.
 *            The waiting queue holds requesters who need an identity no
 *            supporter has (tag 31: demand without supply), so it is long
 *            but cannot be served, as in a real gap.
 *   freed    every supporter is full and the queue is waiting; one
 *            conversation ends: matcher_conversation_ended + matcher_next
 *            hands the slot to the longest-waiting compatible requester.
 *
 * The reference is the linear-scan baseline a matcher without indexes
 * would be: arrival scans every supporter; freed scans the whole queue for
 * the first compatible requester, then every supporter for their best.  It
 * runs on a sample of decisions against a mirror of the same state, and
 * must choose the same supporter and requester (a check at scale).
 *
 * Output: one BENCH line per scenario (see the README).
 */

#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matcher.h"

#define NTAGS		32	/* tags in the synthetic catalogue */
#define GAP_TAG		31	/* a tag no supporter has (arrival path) */
#define NLANGS		3	/* languages */
#define ZIPF_S		1.1	/* tag skew exponent */
#define ROUNDS		20	/* timed rounds per scenario */
#define ROUND		10000	/* decisions per round */
#define REF_SAMPLES	60	/* reference decisions per scenario, at most */
#define REF_BUDGET_NS	(1500ULL * 1000 * 1000) /* ns, reference per scenario */

static double	 zipf_cdf[NTAGS];
static uint64_t	 rng = 88172645463325252ULL;

/* A mirror of the matcher's state for the reference, as flat arrays. */
struct mirror {
	uint32_t	 nsup;
	uint64_t	*stags, *slangs, *slast;
	uint16_t	*scap, *sload;
	uint32_t	 nreq;		/* slots; request id = slot + 1 */
	uint64_t	*rreq, *rpref, *rlangs, *renq, *rseq;
	uint8_t		*rurgent, *rwaiting;
};

/* xorshift64*: fast, seeded, the same every run. */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 2685821657736338717ULL);
}

/* A double in [0, 1). */
static double
rnd_unit(void)
{
	return ((rnd() >> 11) * (1.0 / 9007199254740992.0));
}

/* Monotonic nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

/* Bytes the allocator has handed out, including mmapped blocks. */
static size_t
heap_bytes(void)
{
	struct mallinfo2	mi = mallinfo2();

	return (mi.uordblks + mi.hblkhd);
}

/* Cumulative Zipf weights over the tags. */
static void
zipf_init(void)
{
	double	sum = 0, acc = 0, w[NTAGS];
	int	t;

	for (t = 0; t < NTAGS; t++)
		sum += w[t] = 1.0 / pow(t + 1, ZIPF_S);
	for (t = 0; t < NTAGS; t++) {
		acc += w[t] / sum;
		zipf_cdf[t] = acc;
	}
}

/* A tag drawn from the skewed distribution. */
static int
zipf_tag(int ntags)
{
	double	u = rnd_unit() * zipf_cdf[ntags - 1];
	int	t;

	for (t = 0; t < ntags - 1 && zipf_cdf[t] < u; t++)
		;
	return (t);
}

/* Up to max tags from the first ntags. */
static struct matcher_tags
tag_set(int max, int ntags)
{
	struct matcher_tags	s = {{ 0, 0 }};
	int			n = rnd() % (max + 1), t;

	while (n-- > 0) {
		t = zipf_tag(ntags);
		s.w[t / 64] |= 1ULL << (t % 64);
	}
	return (s);
}

/* One or two languages, the first dominant. */
static uint64_t
lang_set(void)
{
	static const double	cdf[NLANGS] = { 0.75, 0.90, 1.0 };
	uint64_t		l = 0;
	double			u;
	int			i, n = rnd_unit() < 0.1 ? 2 : 1;

	while (n-- > 0) {
		u = rnd_unit();
		for (i = 0; i < NLANGS - 1 && cdf[i] < u; i++)
			;
		l |= 1ULL << i;
	}
	return (l);
}

/* Does have cover need? */
static int
tags_cover(const uint64_t *have, struct matcher_tags need)
{
	return ((need.w[0] & ~have[0]) == 0 && (need.w[1] & ~have[1]) == 0);
}

/* Allocate the mirror; -1 if memory is short. */
static int
mirror_init(struct mirror *mr, uint32_t nsup, uint32_t nreq)
{
	memset(mr, 0, sizeof *mr);
	mr->stags = calloc(2 * (size_t)nsup, sizeof *mr->stags);
	mr->slangs = calloc(nsup, sizeof *mr->slangs);
	mr->slast = calloc(nsup, sizeof *mr->slast);
	mr->scap = calloc(nsup, sizeof *mr->scap);
	mr->sload = calloc(nsup, sizeof *mr->sload);
	mr->rreq = calloc(2 * (size_t)nreq, sizeof *mr->rreq);
	mr->rpref = calloc(2 * (size_t)nreq, sizeof *mr->rpref);
	mr->rlangs = calloc(nreq, sizeof *mr->rlangs);
	mr->renq = calloc(nreq, sizeof *mr->renq);
	mr->rseq = calloc(nreq, sizeof *mr->rseq);
	mr->rurgent = calloc(nreq, 1);
	mr->rwaiting = calloc(nreq, 1);
	return (mr->stags && mr->slangs && mr->slast && mr->scap &&
	    mr->sload && mr->rreq && mr->rpref && mr->rlangs && mr->renq &&
	    mr->rseq && mr->rurgent && mr->rwaiting ? 0 : -1);
}

/* Free the mirror. */
static void
mirror_free(struct mirror *mr)
{
	free(mr->stags);
	free(mr->slangs);
	free(mr->slast);
	free(mr->scap);
	free(mr->sload);
	free(mr->rreq);
	free(mr->rpref);
	free(mr->rlangs);
	free(mr->renq);
	free(mr->rseq);
	free(mr->rurgent);
	free(mr->rwaiting);
}

/* Reference: best supporter (index) for request slot r, or -1. */
static int64_t
ref_best(const struct mirror *mr, uint32_t r)
{
	struct matcher_tags	 req = {{ mr->rreq[2 * r], mr->rreq[2 * r + 1] }};
	const uint64_t		*pref = &mr->rpref[2 * r];
	int64_t			 best = -1;
	int			 bp = -1, p;
	uint32_t		 i;

	for (i = 0; i < mr->nsup; i++) {
		if (mr->sload[i] >= mr->scap[i] ||
		    (mr->slangs[i] & mr->rlangs[r]) == 0 ||
		    !tags_cover(&mr->stags[2 * i], req))
			continue;
		p = __builtin_popcountll(mr->stags[2 * i] & pref[0]) +
		    __builtin_popcountll(mr->stags[2 * i + 1] & pref[1]);
		if (best < 0 || p > bp || (p == bp &&
		    (mr->sload[i] < mr->sload[best] ||
		    (mr->sload[i] == mr->sload[best] &&
		    mr->slast[i] < mr->slast[best])))) {
			best = i;
			bp = p;
		}
	}
	return (best);
}

/* Does request slot a come before b in queue order? */
static int
ref_before(const struct mirror *mr, uint32_t a, uint32_t b)
{
	if (mr->rurgent[a] != mr->rurgent[b])
		return (mr->rurgent[a] > mr->rurgent[b]);
	if (mr->renq[a] != mr->renq[b])
		return (mr->renq[a] < mr->renq[b]);
	return (mr->rseq[a] < mr->rseq[b]);
}

/* Reference: first waiting request supporter s could serve, or -1. */
static int64_t
ref_first(const struct mirror *mr, uint32_t s)
{
	struct matcher_tags	req;
	int64_t			best = -1;
	uint32_t		r;

	for (r = 0; r < mr->nreq; r++) {
		if (!mr->rwaiting[r] || (mr->rlangs[r] & mr->slangs[s]) == 0)
			continue;
		req.w[0] = mr->rreq[2 * r];
		req.w[1] = mr->rreq[2 * r + 1];
		if (!tags_cover(&mr->stags[2 * s], req))
			continue;
		if (best < 0 || ref_before(mr, r, best))
			best = r;
	}
	return (best);
}

/* Supporter ids are index + 1 so that the lowest-id tie-break agrees. */
static void
add_supporters(struct matcher *m, struct mirror *mr, uint32_t n, int full)
{
	struct matcher_supporter	s;
	uint32_t			i;

	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof s);
		s.id = i + 1;
		s.tags = tag_set(3, GAP_TAG);
		s.langs = lang_set();
		s.capacity = 1 + rnd() % 4;
		s.load = full ? s.capacity : rnd() % s.capacity;
		s.status = MATCHER_AVAILABLE;
		s.last_match_ms = rnd() % 100000;
		if (matcher_supporter_add(m, &s) != MATCHER_OK)
			abort();
		mr->stags[2 * i] = s.tags.w[0];
		mr->stags[2 * i + 1] = s.tags.w[1];
		mr->slangs[i] = s.langs;
		mr->slast[i] = s.last_match_ms;
		mr->scap[i] = s.capacity;
		mr->sload[i] = s.load;
	}
	mr->nsup = n;
}

enum kind {
	REQ_NORMAL,		/* from the synthetic distribution */
	REQ_GAP,		/* also requires GAP_TAG: cannot be served */
	REQ_ANY,		/* anyone, any language: fills a free slot */
};

/* Queue request slot r (id r + 1) at now. */
static void
enqueue(struct matcher *m, struct mirror *mr, uint32_t r, uint64_t now,
    enum kind kind, uint64_t *seq)
{
	struct matcher_request	q;

	memset(&q, 0, sizeof q);
	q.id = r + 1;
	q.required = tag_set(3, NTAGS - 1);
	if (kind == REQ_GAP)
		q.required.w[0] |= 1ULL << GAP_TAG;
	q.preferred = tag_set(3, NTAGS - 1);
	q.langs = lang_set();
	q.urgent = rnd_unit() < 0.05;
	if (kind == REQ_ANY) {
		q.required.w[0] = q.required.w[1] = 0;
		q.langs = (1ULL << NLANGS) - 1;
		q.urgent = 0;
	}
	if (matcher_request_enqueue(m, &q, now) != MATCHER_OK)
		abort();
	mr->rreq[2 * r] = q.required.w[0];
	mr->rreq[2 * r + 1] = q.required.w[1];
	mr->rpref[2 * r] = q.preferred.w[0];
	mr->rpref[2 * r + 1] = q.preferred.w[1];
	mr->rlangs[r] = q.langs;
	mr->renq[r] = now;
	mr->rseq[r] = ++*seq;
	mr->rurgent[r] = q.urgent;
	mr->rwaiting[r] = 1;
}

/* qsort order for uint64_t. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* One scenario's state. */
struct scen {
	struct matcher		*m;
	struct mirror		 mr;
	struct matcher_tag_def	 defs[NTAGS];
	char			 names[NTAGS][8];
	uint64_t		 now;
	uint64_t		 seq;
	uint32_t		 next;		/* next free request slot */
	uint64_t		 ref_ns;
	uint32_t		 ref_n;
	uint32_t		 ref_bad;
	double			 bytes_sup;
	double			 bytes_req;
};

/* Build a pool of nsup (full or not) and a queue of nwait (gap or not). */
static void
scen_init(struct scen *sc, uint32_t nsup, uint32_t nwait, int full, int gap)
{
	struct matcher_proposal	p;
	size_t			b0, b1, b2;
	uint32_t		i, total = ROUNDS * ROUND + REF_SAMPLES;

	memset(sc, 0, sizeof *sc);
	for (i = 0; i < NTAGS; i++) {
		snprintf(sc->names[i], sizeof sc->names[i], "t%u", i);
		sc->defs[i].name = sc->names[i];
		sc->defs[i].description = "";
	}
	if (mirror_init(&sc->mr, nsup, nwait + 2 * total) != 0)
		abort();
	sc->now = 1000000;
	b0 = heap_bytes();
	sc->m = matcher_new(sc->defs, NTAGS);
	add_supporters(sc->m, &sc->mr, nsup, full);
	while (matcher_next(sc->m, sc->now, &p) == 1)
		abort();	/* nobody is waiting yet */
	b1 = heap_bytes();
	for (i = 0; i < nwait; i++)
		enqueue(sc->m, &sc->mr, sc->next++, sc->now++,
		    gap ? REQ_GAP : REQ_NORMAL, &sc->seq);
	while (matcher_next(sc->m, sc->now, &p) == 1)
		abort();	/* a gap queue, or everyone is full */
	b2 = heap_bytes();
	sc->bytes_sup = (double)(b1 - b0) / nsup;
	sc->bytes_req = (double)(b2 - b1) / nwait;
	sc->mr.nreq = sc->next;
}

/* Free a scenario. */
static void
scen_free(struct scen *sc)
{
	matcher_free(sc->m);
	mirror_free(&sc->mr);
}

/*
 * One arrival decision: a request arrives and is proposed a supporter.
 * Returns the matcher's time; with check, also times the reference and
 * compares their choices.
 */
static uint64_t
arrival_once(struct scen *sc, int check)
{
	struct matcher_proposal	p;
	uint64_t		t0, t1, t2;
	uint32_t		r = sc->next++;
	int64_t			want;
	int			rc;

	sc->now += 10;
	sc->mr.nreq = sc->next;
	t0 = now_ns();
	enqueue(sc->m, &sc->mr, r, sc->now, REQ_NORMAL, &sc->seq);
	rc = matcher_next(sc->m, sc->now, &p);
	t1 = now_ns();
	if (check) {
		want = ref_best(&sc->mr, r);
		t2 = now_ns();
		sc->ref_ns += t2 - t1;
		sc->ref_n++;
		if ((want < 0) != (rc == 0) || (rc == 1 &&
		    p.supporter_id != (uint64_t)want + 1))
			sc->ref_bad++;
	}
	/* Keep the pool steady: the conversation ends at once. */
	if (rc == 1) {
		matcher_confirm(sc->m, p.request_id, sc->now);
		matcher_conversation_ended(sc->m, p.supporter_id);
		sc->mr.slast[p.supporter_id - 1] = sc->now;
		while (matcher_next(sc->m, sc->now, &p) == 1)
			abort();
	} else
		matcher_request_cancel(sc->m, r + 1);
	sc->mr.rwaiting[r] = 0;
	return (t1 - t0);
}

/* Accept a proposal in the matcher and the mirror. */
static void
freed_confirm(struct scen *sc, const struct matcher_proposal *p)
{
	matcher_confirm(sc->m, p->request_id, sc->now);
	sc->mr.sload[p->supporter_id - 1]++;
	sc->mr.slast[p->supporter_id - 1] = sc->now;
	sc->mr.rwaiting[p->request_id - 1] = 0;
}

/*
 * One freed decision: a random supporter's conversation ends and the slot
 * is proposed to the longest-waiting compatible requester.  Served
 * requesters are replaced so the queue stays the same length.
 */
static uint64_t
freed_once(struct scen *sc, int check)
{
	struct matcher_proposal	p;
	uint64_t		t0, t1, t2;
	uint32_t		s;
	int64_t			wr, ws;
	int			rc;

	do			/* someone with a conversation to end */
		s = rnd() % sc->mr.nsup;
	while (sc->mr.sload[s] == 0);
	sc->now += 10;
	t0 = now_ns();
	matcher_conversation_ended(sc->m, s + 1);
	rc = matcher_next(sc->m, sc->now, &p);
	t1 = now_ns();
	sc->mr.sload[s]--;
	if (check) {
		wr = ref_first(&sc->mr, s);
		ws = wr < 0 ? -1 : ref_best(&sc->mr, wr);
		t2 = now_ns();
		sc->ref_ns += t2 - t1;
		sc->ref_n++;
		if ((wr < 0) != (rc == 0) || (rc == 1 &&
		    (p.request_id != (uint64_t)wr + 1 ||
		    p.supporter_id != (uint64_t)ws + 1)))
			sc->ref_bad++;
	}
	/* Keep the queue long: a served requester is replaced. */
	while (rc == 1) {
		freed_confirm(sc, &p);
		enqueue(sc->m, &sc->mr, sc->next++, sc->now, REQ_NORMAL,
		    &sc->seq);
		sc->mr.nreq = sc->next;
		rc = matcher_next(sc->m, sc->now, &p);
	}
	/* Keep the pool full: a slot nobody waiting fits goes to anyone. */
	while (sc->mr.sload[s] < sc->mr.scap[s]) {
		enqueue(sc->m, &sc->mr, sc->next++, sc->now, REQ_ANY,
		    &sc->seq);
		sc->mr.nreq = sc->next;
		if (matcher_next(sc->m, sc->now, &p) != 1)
			abort();
		freed_confirm(sc, &p);
	}
	return (t1 - t0);
}

/*
 * Time ROUNDS rounds of ROUND decisions and report the round with the
 * lowest p99: the machines these run on are shared, and a round that
 * another process's burst landed on says nothing about the matcher.  The
 * spread of p99 over the rounds goes to stderr.  Then
 * time the reference on REF_SAMPLES further decisions (kept apart so its
 * scans of the whole pool do not flush the caches between timed ones).
 */
static void
run(struct scen *sc, const char *path, uint32_t nsup, uint32_t nwait,
    uint64_t (*once)(struct scen *, int))
{
	static uint64_t	ns[ROUND];
	uint64_t	p99s[ROUNDS];
	uint64_t	total, best_total = 0, best_p50 = 0, best_p99 = 0;
	uint32_t	round, d;

	for (round = 0; round < ROUNDS; round++) {
		total = 0;
		for (d = 0; d < ROUND; d++)
			total += ns[d] = once(sc, 0);
		qsort(ns, ROUND, sizeof *ns, cmp_u64);
		p99s[round] = ns[ROUND * 99 / 100];
		if (round == 0 || ns[ROUND * 99 / 100] < best_p99) {
			best_total = total;
			best_p50 = ns[ROUND / 2];
			best_p99 = ns[ROUND * 99 / 100];
		}
	}
	qsort(p99s, ROUNDS, sizeof *p99s, cmp_u64);
	fprintf(stderr, "bench: supporters=%u waiting=%u path=%s p99_us over "
	    "%d rounds: min=%.2f median=%.2f max=%.2f\n", nsup, nwait, path,
	    ROUNDS, p99s[0] / 1e3, p99s[ROUNDS / 2] / 1e3,
	    p99s[ROUNDS - 1] / 1e3);
	for (d = 0; d < REF_SAMPLES && sc->ref_ns < REF_BUDGET_NS; d++)
		once(sc, 1);
	printf("BENCH matcher supporters=%u waiting=%u path=%s "
	    "decisions_per_s=%.0f p50_us=%.2f p99_us=%.2f "
	    "bytes_per_supporter=%.0f bytes_per_request=%.0f "
	    "speedup_vs_reference=%.0f\n", nsup, nwait, path,
	    1e9 * ROUND / best_total, best_p50 / 1e3, best_p99 / 1e3,
	    sc->bytes_sup, sc->bytes_req,
	    ((double)sc->ref_ns / sc->ref_n) / ((double)best_total / ROUND));
	if (sc->ref_bad != 0)
		fprintf(stderr, "bench: reference disagreed on %u of %u "
		    "decisions\n", sc->ref_bad, sc->ref_n);
	fflush(stdout);
}

/* Arrival path: a long queue that cannot be served, a pool with room. */
static void
bench_arrival(uint32_t nsup, uint32_t nwait)
{
	struct scen	sc;

	scen_init(&sc, nsup, nwait, 0, 1);
	run(&sc, "arrival", nsup, nwait, arrival_once);
	scen_free(&sc);
}

/* Freed path: a full pool, a waiting queue; conversations end. */
static void
bench_freed(uint32_t nsup, uint32_t nwait)
{
	struct scen	sc;

	scen_init(&sc, nsup, nwait, 1, 0);
	run(&sc, "freed", nsup, nwait, freed_once);
	scen_free(&sc);
}

/* Every scenario; an argument caps the pool size (for quick runs). */
int
main(int argc, char **argv)
{
	static const uint32_t	pools[] = { 1000, 100000, 1000000 };
	static const uint32_t	queues[] = { 10000, 100000 };
	uint32_t		i, j, maxpool = 1000000;

	if (argc > 1)
		maxpool = strtoul(argv[1], NULL, 10);
	zipf_init();
	for (i = 0; i < sizeof pools / sizeof *pools; i++) {
		if (pools[i] > maxpool)
			break;
		for (j = 0; j < sizeof queues / sizeof *queues; j++) {
			bench_arrival(pools[i], queues[j]);
			bench_freed(pools[i], queues[j]);
		}
	}
	return (0);
}
