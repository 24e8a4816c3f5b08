/*
 * test_matcher_random.c -- the matcher against a brute-force reference.
 *
 * Thousands of seeded random event sequences (arrivals, cancels, accepts,
 * declines, status and capacity changes, conversation ends, tag changes,
 * blocks, time passing) are applied to both the matcher and a deliberately
 * simple reference written here from the rules alone: on every next() the
 * reference sorts the whole queue, and for each waiting request in turn
 * looks at every supporter.  Every return code, every proposal (pair,
 * shared tags, deciding rule, explanation), positions and stats must agree.
 *
 * A failure prints the seed; MATCHER_SEED=n MATCHER_SEQS=1 reruns it.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "matcher.h"

#define R_TAGS_MAX	10	/* catalogue size */
#define R_LANGS		3	/* languages used */
#define R_SIDS_MAX	240	/* supporter ids 1..R_SIDS */
#define R_RIDS_MAX	64	/* request ids 1..R_RIDS */
#define R_KEYS		5	/* requester keys 1..R_KEYS (0 anonymous) */
#define R_DECLINED	R_SIDS_MAX /* declines remembered per request */

/*
 * Two shapes of sequence: many small ones where every corner is reached
 * often, and fewer large ones where candidate sets are big enough for the
 * matcher to walk its class heap instead of scanning.
 */
struct rconf {
	const char	*name;
	int		 tags, sids, rids, events, seqs, batch;
};

static const struct rconf r_small = { "small", 6, 12, 24, 120, 12000, 1 };
static const struct rconf r_large = { "large", 10, 240, 64, 400, 150, 30 };
static const struct rconf *rc_ = &r_small;

#define R_TAGS		(rc_->tags)
#define R_SIDS		(rc_->sids)
#define R_RIDS		(rc_->rids)
#define R_EVENTS	(rc_->events)

static const struct matcher_tag_def r_catalogue[R_TAGS_MAX] = {
	{ "lgbtq", "LGBT+" },
	{ "bame", "Black and minority ethnic" },
	{ "first-episode-psychosis", "first diagnosis of psychosis" },
	{ "prison", "prison or secure hospital" },
	{ "inpatient", "inpatient ward" },
	{ "women", "women" },
	{ "disabled", "disabled people" },
	{ "young", "under 25" },
	{ "refugee", "refugees and asylum seekers" },
	{ "carer", "unpaid carers" },
};

static const char *r_rules[] = {
	"only_candidate", "previous_supporter", "preferred_tags",
	"fewest_conversations", "longest_since_match", "tie_break",
};

struct rsup {
	int		 present;
	uint64_t	 tags;
	uint64_t	 langs;
	unsigned int	 cap, load, pending;
	int		 status;
	uint64_t	 last;
};

struct rreq {
	int		 present;
	uint64_t	 key, req, pref, langs, prev;
	int		 urgent;
	uint64_t	 relax_after, enq, seq;
	uint64_t	 offered;	/* supporter id, 0 = waiting */
	uint64_t	 declined[R_DECLINED];
	int		 ndeclined;
};

/* The reference: plain arrays indexed by id. */
struct ref {
	struct rsup	 s[R_SIDS_MAX + 1];
	struct rreq	 r[R_RIDS_MAX + 1];
	int		 blocked[R_KEYS + 1][R_SIDS_MAX + 1];
	uint64_t	 seq;
};

struct rprop {
	uint64_t	 rid, sid, shared;
	int		 rule, relaxed;
	char		 explain[MATCHER_EXPLAIN_MAX];
};

static uint64_t	r_state;
static uint64_t	r_seed;		/* the sequence running, for a failure */
static int	r_failed = 1;	/* cleared when all sequences agreed */
static uint64_t	r_rules_seen[6], r_relaxed, r_offers, r_none;

/* xorshift64*: small, seeded, the same everywhere. */
static uint64_t
r_rand(void)
{
	r_state ^= r_state >> 12;
	r_state ^= r_state << 25;
	r_state ^= r_state >> 27;
	return (r_state * 2685821657736338717ULL);
}

/* A number below n. */
static unsigned int
r_below(unsigned int n)
{
	return ((unsigned int)(r_rand() >> 33) % n);
}

/* Up to max random tags. */
static uint64_t
r_tags(int max)
{
	uint64_t	t = 0;
	int		n = r_below(max + 1);

	while (n-- > 0)
		t |= 1ULL << r_below(R_TAGS);
	return (t);
}

/* A nonempty random language mask. */
static uint64_t
r_langs(void)
{
	uint64_t	l = 0;

	while (l == 0)
		l = r_rand() & ((1ULL << R_LANGS) - 1);
	return (l);
}

/* A tag set from a mask. */
static struct matcher_tags
r_set(uint64_t t)
{
	struct matcher_tags	s = {{ t, 0 }};

	return (s);
}

/* Is the reference request relaxed at now? */
static int
ref_relaxed(const struct rreq *q, uint64_t now)
{
	return (q->relax_after != 0 && q->req != 0 &&
	    now >= q->enq + q->relax_after);
}

/* Could supporter sid serve request rid at now? */
static int
ref_candidate(const struct ref *f, int rid, int sid, uint64_t now)
{
	const struct rreq	*q = &f->r[rid];
	const struct rsup	*s = &f->s[sid];
	uint64_t		 req = ref_relaxed(q, now) ? 0 : q->req;
	int			 i;

	if (!s->present || s->status != MATCHER_AVAILABLE ||
	    s->load + s->pending >= s->cap || (s->langs & q->langs) == 0 ||
	    (req & ~s->tags) != 0)
		return (0);
	if (q->key != 0 && f->blocked[q->key][sid])
		return (0);
	for (i = 0; i < q->ndeclined; i++) {
		if (q->declined[i] == (uint64_t)sid)
			return (0);
	}
	return (1);
}

/* Compare candidates a and b for request q: negative if a ranks first. */
static int
ref_rank(const struct ref *f, const struct rreq *q, uint64_t pref, int a,
    int b)
{
	const struct rsup	*x = &f->s[a], *y = &f->s[b];
	int			 pa = __builtin_popcountll(x->tags & pref);
	int			 pb = __builtin_popcountll(y->tags & pref);

	(void)q;
	if (pa != pb)
		return (pb - pa);
	if (x->load + x->pending != y->load + y->pending)
		return ((int)(x->load + x->pending) -
		    (int)(y->load + y->pending));
	if (x->last != y->last)
		return (x->last < y->last ? -1 : 1);
	return (a - b);
}

/* Does request a come before b in queue order? */
static int
ref_before(const struct ref *f, int a, int b)
{
	const struct rreq	*x = &f->r[a], *y = &f->r[b];

	if (x->urgent != y->urgent)
		return (x->urgent > y->urgent);
	if (x->enq != y->enq)
		return (x->enq < y->enq);
	return (x->seq < y->seq);
}

/* Write an explanation the way the README specifies it. */
static void
ref_explain(char *buf, size_t len, uint64_t req, uint64_t shared, int rule,
    int relaxed)
{
	size_t	n = 0;
	int	t, first;

	n += snprintf(buf + n, len - n, "required=");
	for (first = 1, t = 0; t < R_TAGS; t++) {
		if ((req >> t) & 1) {
			n += snprintf(buf + n, len - n, "%s%s", first ? "" : ",",
			    r_catalogue[t].name);
			first = 0;
		}
	}
	if (first)
		n += snprintf(buf + n, len - n, "none");
	n += snprintf(buf + n, len - n, " shared_preferred=");
	for (first = 1, t = 0; t < R_TAGS; t++) {
		if ((shared >> t) & 1) {
			n += snprintf(buf + n, len - n, "%s%s", first ? "" : ",",
			    r_catalogue[t].name);
			first = 0;
		}
	}
	if (first)
		n += snprintf(buf + n, len - n, "none");
	n += snprintf(buf + n, len - n, " decided_by=%s", r_rules[rule]);
	if (relaxed)
		snprintf(buf + n, len - n, " relaxed=yes");
}

/* The reference next(): returns 1 and fills *p, or 0. */
static int
ref_next(struct ref *f, uint64_t now, struct rprop *p)
{
	struct rreq	*q;
	uint64_t	 req, pref;
	int		 order[R_RIDS_MAX], n = 0, i, j, k, rid, best, second;
	int		 rule, relaxed;

	for (i = 1; i <= R_RIDS; i++) {
		if (f->r[i].present && f->r[i].offered == 0)
			order[n++] = i;
	}
	for (i = 1; i < n; i++) {	/* insertion sort, queue order */
		for (j = i; j > 0 && ref_before(f, order[j], order[j - 1]);
		    j--) {
			k = order[j], order[j] = order[j - 1], order[j - 1] = k;
		}
	}
	for (i = 0; i < n; i++) {
		rid = order[i];
		q = &f->r[rid];
		relaxed = ref_relaxed(q, now);
		req = relaxed ? 0 : q->req;
		pref = relaxed ? q->req | q->pref : q->pref;
		best = second = 0;
		for (k = 1; k <= R_SIDS; k++) {
			if (!ref_candidate(f, rid, k, now))
				continue;
			if (best == 0 || ref_rank(f, q, pref, k, best) < 0) {
				second = best;
				best = k;
			} else if (second == 0 ||
			    ref_rank(f, q, pref, k, second) < 0)
				second = k;
		}
		if (best == 0)
			continue;
		if (q->prev != 0 && q->prev <= (uint64_t)R_SIDS &&
		    ref_candidate(f, rid, (int)q->prev, now)) {
			best = (int)q->prev;
			rule = MATCHER_RULE_PREVIOUS_SUPPORTER;
		} else if (second == 0)
			rule = MATCHER_RULE_ONLY_CANDIDATE;
		else if (__builtin_popcountll(f->s[best].tags & pref) !=
		    __builtin_popcountll(f->s[second].tags & pref))
			rule = MATCHER_RULE_PREFERRED_TAGS;
		else if (f->s[best].load + f->s[best].pending !=
		    f->s[second].load + f->s[second].pending)
			rule = MATCHER_RULE_FEWEST_CONVERSATIONS;
		else if (f->s[best].last != f->s[second].last)
			rule = MATCHER_RULE_LONGEST_SINCE_MATCH;
		else
			rule = MATCHER_RULE_TIE_BREAK;
		p->rid = rid;
		p->sid = best;
		p->shared = f->s[best].tags & (q->req | q->pref);
		p->rule = rule;
		p->relaxed = relaxed;
		ref_explain(p->explain, sizeof p->explain, req,
		    f->s[best].tags & pref, rule, relaxed);
		q->offered = best;
		f->s[best].pending++;
		return (1);
	}
	return (0);
}

/* The reference position of request rid. */
static uint32_t
ref_position(const struct ref *f, int rid, uint64_t now)
{
	const struct rreq	*q = &f->r[rid], *o;
	uint64_t		 req = ref_relaxed(q, now) ? 0 : q->req, oreq;
	uint32_t		 pos = 1;
	int			 i;

	if (q->offered != 0)
		return (0);
	for (i = 1; i <= R_RIDS; i++) {
		o = &f->r[i];
		if (i == rid || !o->present || o->offered != 0 ||
		    (o->langs & q->langs) == 0 || !ref_before(f, i, rid))
			continue;
		oreq = ref_relaxed(o, now) ? 0 : o->req;
		if ((oreq & ~req) == 0)
			pos++;
	}
	return (pos);
}

/* Compare supporter sid's state in both. */
static void
check_supporter(struct matcher *m, const struct ref *f, int sid)
{
	struct matcher_supporter	ms;
	const struct rsup		*s = &f->s[sid];
	int				rc;

	rc = matcher_supporter_get(m, sid, &ms);
	assert_int_equal(rc, s->present ? MATCHER_OK : MATCHER_ENOENT);
	if (!s->present)
		return;
	assert_int_equal(ms.load, s->load);
	assert_int_equal(ms.pending, s->pending);
	assert_int_equal(ms.capacity, s->cap);
	assert_int_equal(ms.status, s->status);
	assert_true(ms.last_match_ms == s->last);
}

/* Compare the stats in both. */
static void
check_stats(struct matcher *m, const struct ref *f, uint64_t now)
{
	struct matcher_stats	st;
	uint32_t		queued = 0, offered = 0, status[MATCHER_NSTATUS];
	uint32_t		supply = 0, dem[R_TAGS], sup[R_TAGS], spare;
	uint64_t		oldest = 0, req;
	int			i, t;

	memset(status, 0, sizeof status);
	memset(dem, 0, sizeof dem);
	memset(sup, 0, sizeof sup);
	for (i = 1; i <= R_RIDS; i++) {
		if (!f->r[i].present)
			continue;
		queued++;
		offered += f->r[i].offered != 0;
		if (now - f->r[i].enq > oldest)
			oldest = now - f->r[i].enq;
		req = ref_relaxed(&f->r[i], now) ? 0 : f->r[i].req;
		for (t = 0; t < R_TAGS; t++)
			dem[t] += (req >> t) & 1;
	}
	for (i = 1; i <= R_SIDS; i++) {
		if (!f->s[i].present)
			continue;
		status[f->s[i].status]++;
		if (f->s[i].status != MATCHER_AVAILABLE ||
		    f->s[i].load + f->s[i].pending >= f->s[i].cap)
			continue;
		spare = f->s[i].cap - f->s[i].load - f->s[i].pending;
		supply += spare;
		for (t = 0; t < R_TAGS; t++)
			sup[t] += ((f->s[i].tags >> t) & 1) * spare;
	}
	matcher_stats(m, now, &st);
	assert_int_equal(st.queued, queued);
	assert_int_equal(st.offered, offered);
	assert_true(st.oldest_wait_ms == oldest);
	assert_memory_equal(st.supporters, status, sizeof status);
	assert_int_equal(st.supply_total, supply);
	assert_memory_equal(st.demand_required, dem, sizeof dem);
	assert_memory_equal(st.supply, sup, sizeof sup);
}

/* Call next() on both until both say none; collect offers made. */
static void
drain(struct matcher *m, struct ref *f, uint64_t now, uint64_t *offers,
    int *noffers)
{
	struct matcher_proposal	p;
	struct rprop		rp;
	int			rc, rrc;

	for (;;) {
		rc = matcher_next(m, now, &p);
		rrc = ref_next(f, now, &rp);
		assert_int_equal(rc, rrc);
		if (rc == 0) {
			r_none++;
			return;
		}
		r_offers++;
		r_rules_seen[rp.rule]++;
		r_relaxed += rp.relaxed;
		assert_true(p.request_id == rp.rid);
		assert_true(p.supporter_id == rp.sid);
		assert_true(p.shared.w[0] == rp.shared && p.shared.w[1] == 0);
		assert_int_equal(p.decided_by, rp.rule);
		assert_int_equal(p.relaxed, rp.relaxed);
		assert_string_equal(p.explain, rp.explain);
		assert_true(p.requester_key == f->r[rp.rid].key);
		offers[(*noffers)++] = rp.rid;
	}
}

/* Run one seeded sequence. */
static void
run_sequence(uint64_t seed)
{
	struct matcher			*m;
	struct ref			*f;
	struct matcher_supporter	 ms;
	struct matcher_request		 mr;
	uint64_t			 now = 1000 + (seed % 7);
	uint64_t			 offers[R_RIDS_MAX];
	uint32_t			 pos;
	int				 noffers = 0, ev, rc, rrc, id, k, i;
	int				 prefill, kind;

	r_seed = seed;
	r_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	m = matcher_new(r_catalogue, R_TAGS);
	assert_non_null(m);
	f = calloc(1, sizeof *f);
	assert_non_null(f);
	/* Large sequences start with a full pool and a queue. */
	prefill = rc_->batch > 1 ? R_SIDS + R_RIDS / 2 : 0;
	for (ev = 0; ev < prefill + R_EVENTS; ev++) {
		id = 1 + r_below(R_SIDS);
		if (ev < prefill) {
			kind = ev < R_SIDS ? 0 : 7;
			if (ev < R_SIDS)
				id = ev + 1;
		} else
			kind = r_below(16);
		switch (kind) {
		case 0:
		case 1:		/* supporter joins */
			memset(&ms, 0, sizeof ms);
			ms.id = id;
			ms.tags = r_set(r_tags(3));
			ms.langs = r_langs();
			ms.capacity = r_below(4);
			ms.load = r_below(ms.capacity + 1);
			ms.status = r_below(3) == 0 ? r_below(MATCHER_NSTATUS) :
			    MATCHER_AVAILABLE;
			ms.last_match_ms = r_below(3) * 10;
			rc = matcher_supporter_add(m, &ms);
			rrc = f->s[id].present ? MATCHER_EEXIST : MATCHER_OK;
			assert_int_equal(rc, rrc);
			if (rc == MATCHER_OK) {
				f->s[id].present = 1;
				f->s[id].tags = ms.tags.w[0];
				f->s[id].langs = ms.langs;
				f->s[id].cap = ms.capacity;
				f->s[id].load = ms.load;
				f->s[id].pending = 0;
				f->s[id].status = ms.status;
				f->s[id].last = ms.last_match_ms;
			}
			break;
		case 2:		/* supporter leaves: offers go back */
			rc = matcher_supporter_remove(m, id);
			assert_int_equal(rc, f->s[id].present ? MATCHER_OK :
			    MATCHER_ENOENT);
			if (rc != MATCHER_OK)
				break;
			f->s[id].present = 0;
			for (i = 1; i <= R_RIDS; i++) {
				if (f->r[i].present &&
				    f->r[i].offered == (uint64_t)id)
					f->r[i].offered = 0;
			}
			for (i = 0; i < noffers; i++) {
				if (f->r[offers[i]].offered == 0)
					offers[i--] = offers[--noffers];
			}
			break;
		case 3:		/* status */
			k = r_below(MATCHER_NSTATUS);
			rc = matcher_supporter_set_status(m, id, k);
			assert_int_equal(rc, f->s[id].present ? MATCHER_OK :
			    MATCHER_ENOENT);
			if (rc == MATCHER_OK)
				f->s[id].status = k;
			break;
		case 4:		/* capacity */
			k = r_below(4);
			rc = matcher_supporter_set_capacity(m, id, k);
			assert_int_equal(rc, f->s[id].present ? MATCHER_OK :
			    MATCHER_ENOENT);
			if (rc == MATCHER_OK)
				f->s[id].cap = k;
			break;
		case 5:		/* conversation ends */
			rc = matcher_conversation_ended(m, id);
			rrc = !f->s[id].present ? MATCHER_ENOENT :
			    f->s[id].load == 0 ? MATCHER_ESTATE : MATCHER_OK;
			assert_int_equal(rc, rrc);
			if (rc == MATCHER_OK)
				f->s[id].load--;
			break;
		case 6:		/* vetted tags change */
			{
				uint64_t	t = r_tags(3), l = r_langs();
				struct matcher_tags s = r_set(t);

				rc = matcher_supporter_update(m, id, &s, l);
				assert_int_equal(rc, f->s[id].present ?
				    MATCHER_OK : MATCHER_ENOENT);
				if (rc == MATCHER_OK) {
					f->s[id].tags = t;
					f->s[id].langs = l;
				}
			}
			break;
		case 7:
		case 8:
		case 9:		/* request arrives */
			id = 1 + r_below(R_RIDS);
			memset(&mr, 0, sizeof mr);
			mr.id = id;
			mr.key = r_below(R_KEYS + 1);
			mr.required = r_set(r_tags(2));
			mr.preferred = r_set(r_tags(3));
			/* Over 8 preferred tags takes the counting search. */
			if (R_TAGS > 8 && r_below(10) == 0)
				mr.preferred = r_set(((1ULL << R_TAGS) - 1) &
				    ~(1ULL << r_below(R_TAGS)));
			mr.langs = r_langs();
			mr.urgent = r_below(5) == 0;
			mr.relax_after_ms = r_below(2) ? 0 : 1 + r_below(100);
			mr.previous = r_below(3) == 0 ? 1 + r_below(R_SIDS) : 0;
			rc = matcher_request_enqueue(m, &mr, now);
			assert_int_equal(rc, f->r[id].present ? MATCHER_EEXIST :
			    MATCHER_OK);
			if (rc != MATCHER_OK)
				break;
			memset(&f->r[id], 0, sizeof f->r[id]);
			f->r[id].present = 1;
			f->r[id].key = mr.key;
			f->r[id].req = mr.required.w[0];
			f->r[id].pref = mr.preferred.w[0];
			f->r[id].langs = mr.langs;
			f->r[id].prev = mr.previous;
			f->r[id].urgent = mr.urgent;
			f->r[id].relax_after = mr.relax_after_ms;
			f->r[id].enq = now;
			f->r[id].seq = ++f->seq;
			break;
		case 10:	/* request cancelled */
			id = 1 + r_below(R_RIDS);
			rc = matcher_request_cancel(m, id);
			assert_int_equal(rc, f->r[id].present ? MATCHER_OK :
			    MATCHER_ENOENT);
			if (rc != MATCHER_OK)
				break;
			if (f->r[id].offered != 0)
				f->s[f->r[id].offered].pending--;
			f->r[id].present = 0;
			for (i = 0; i < noffers; i++) {
				if (offers[i] == (uint64_t)id)
					offers[i--] = offers[--noffers];
			}
			break;
		case 11:	/* block */
			k = 1 + r_below(R_KEYS);
			assert_int_equal(matcher_block(m, k, id), MATCHER_OK);
			f->blocked[k][id] = 1;
			break;
		case 12:	/* time passes */
			now += r_below(60);
			break;
		case 13:	/* an offer is answered */
		case 14:
			if (noffers == 0)
				break;
			i = r_below(noffers);
			id = offers[i];
			offers[i] = offers[--noffers];
			k = f->r[id].offered;
			if (r_below(2)) {
				rc = matcher_confirm(m, id, now);
				assert_int_equal(rc, MATCHER_OK);
				f->s[k].pending--;
				f->s[k].load++;
				f->s[k].last = now;
				f->r[id].present = 0;
			} else {
				rc = matcher_reject(m, id, now);
				assert_int_equal(rc, MATCHER_OK);
				f->s[k].pending--;
				f->r[id].offered = 0;
				f->r[id].declined[f->r[id].ndeclined++] = k;
			}
			break;
		default:	/* the daemon drains after events */
			drain(m, f, now, offers, &noffers);
			break;
		}
		if (r_below(4) == 0)
			drain(m, f, now, offers, &noffers);
		if (r_below(8) == 0) {
			id = 1 + r_below(R_RIDS);
			rc = matcher_position(m, id, now, &pos);
			assert_int_equal(rc, f->r[id].present ? MATCHER_OK :
			    MATCHER_ENOENT);
			if (rc == MATCHER_OK)
				assert_int_equal(pos, ref_position(f, id, now));
			check_supporter(m, f, 1 + r_below(R_SIDS));
			check_stats(m, f, now);
		}
	}
	drain(m, f, now, offers, &noffers);
	for (i = 1; i <= R_SIDS; i++)
		check_supporter(m, f, i);
	check_stats(m, f, now);
	matcher_free(m);
	free(f);
}

/* Run one configuration's sequences; MATCHER_SEED and MATCHER_SEQS
 * override where they start and how many run. */
static void
run_config(const struct rconf *conf)
{
	const char	*e;
	uint64_t	 seed = 1, n, i;

	rc_ = conf;
	n = conf->seqs;
	r_offers = r_relaxed = r_none = 0;
	memset(r_rules_seen, 0, sizeof r_rules_seen);
	r_failed = 1;
	if ((e = getenv("MATCHER_SEED")) != NULL)
		seed = strtoull(e, NULL, 10);
	if ((e = getenv("MATCHER_SEQS")) != NULL)
		n = strtoull(e, NULL, 10);
	for (i = 0; i < n; i++) {
		if (getenv("MATCHER_VERBOSE") != NULL)
			fprintf(stderr, "seed %llu\n",
			    (unsigned long long)(seed + i));
		run_sequence(seed + i);
	}
	r_failed = 0;
	printf("random %s: %llu sequences of %d events from seed %llu agree: "
	    "%llu offers (%llu relaxed), %llu empty next() calls\n",
	    conf->name, (unsigned long long)n, R_EVENTS, (unsigned long long)seed,
	    (unsigned long long)r_offers, (unsigned long long)r_relaxed,
	    (unsigned long long)r_none);
	for (i = 0; i < 6; i++)
		printf("random %s: decided_by=%s %llu\n", conf->name, r_rules[i],
		    (unsigned long long)r_rules_seen[i]);
}

/* Many small sequences. */
static void
test_random_small(void **state)
{
	(void)state;
	run_config(&r_small);
}

/* Fewer, larger sequences. */
static void
test_random_large(void **state)
{
	(void)state;
	run_config(&r_large);
}

/* After a failure, say which sequence to rerun. */
static int
report_seed(void **state)
{
	(void)state;
	if (!r_failed)
		return (0);
	fprintf(stderr, "failed %s sequence: MATCHER_SEED=%llu MATCHER_SEQS=1\n",
	    rc_->name, (unsigned long long)r_seed);
	return (0);
}

/* Run both shapes of sequence. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_random_small, report_seed),
		cmocka_unit_test_teardown(test_random_large, report_seed),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
