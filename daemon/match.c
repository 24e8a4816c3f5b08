/*
 * match.c -- drive the matcher: the catalogue and languages, requests,
 * proposals turned into Offers, offer answers and timeouts, and the
 * QueueUpdate pushes to waiting requesters.
 *
 * The matcher (matcher/matcher.h) is pure: it owns the queue order and
 * the choice of supporter; this file owns everything with a connection or
 * a clock.  After every event that can make a pair possible (a request, a
 * supporter becoming available or freeing a slot, a decline, a tick that
 * lets a relaxation fall due) match_run asks the matcher for proposals
 * until it has none, and sends each one as an Offer.
 *
 * A request's life:
 *
 *	RequestPeer -> queued --proposal--> offered --AcceptOffer--> Matched
 *	                 ^                     |
 *	                 +--DeclineOffer, offer_timeout, supporter gone
 *
 * CancelRequest or the requester's disconnect removes it from any state.
 * The requester never sees an offer: while one is out they are told
 * position 1.
 *
 * A requester who presented a requester_key keeps their place across a
 * dropped connection: its enqueue time is kept for the grace window
 * (match_away), and a RequestPeer with the same key within it goes back
 * to that time, ahead of everyone who came after.  If the old connection
 * is not known to be gone yet (a phone that changed networks leaves a
 * half-open socket until the keepalive bound), the new RequestPeer takes
 * its request over: the old connection is closed with SESSION_REPLACED,
 * so one person never waits twice or gets an offer on a dead line.
 * Anonymous requesters cannot be recognised and start again.
 *
 * Ids: matcher request ids are a counter (never on the wire); offer ids
 * are random (util_random_id), so they say nothing about volume.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "peerd.h"

#define MATCH_RELAX_MAX		(7 * 86400) /* seconds, relax_after_s */
#define MATCH_ETA_FINE		120	/* seconds: below, eta_s in steps of
					   MATCH_ETA_STEP; above, in minutes */
#define MATCH_ETA_STEP		10	/* seconds */
#define MATCH_TICK_WORK		4000000	/* queue entries a tick may walk to
					   compute positions (a few ms) */
#define MATCH_LANGS_BY_REQUESTS	16	/* languages requests may add to the
					   table (of MATCHER_LANGS_MAX) */
#define MATCH_AWAY_MAX		65536	/* places kept for dropped
					   requesters (oldest dropped first) */

/* A requester waiting (or being offered); at most one per connection. */
struct request {
	uint64_t		 id;		/* matcher id, a counter */
	struct conn		*c;
	struct matcher_tags	 need;
	struct matcher_tags	 prefer;
	uint64_t		 langs;
	int			 urgent;
	uint32_t		 relax_after_s;	/* 0 = never */
	uint64_t		 previous;	/* supporter asked for, or 0 */
	uint64_t		 enq_ms;
	uint64_t		 key;		/* requester key hash, or 0 */
	struct offer		*offer;		/* out now, or NULL */
	struct position_set	 reach;		/* supporter classes that
						   could serve it */
	int			 reached;	/* reach is not empty */

	/* The last QueueUpdate sent, so only changes are pushed. */
	uint32_t		 sent_pos;
	uint32_t		 sent_eta;
	int			 sent_relaxed;
	uint64_t		 sent_ms;

	TAILQ_ENTRY(request)	 entry;
};
TAILQ_HEAD(request_list, request);

/* A proposal sent to a supporter, awaiting AcceptOffer or DeclineOffer. */
struct offer {
	uint64_t		 id;		/* random, on the wire */
	struct request		*req;
	struct supporter	*sup;
	struct event		*timer;		/* offer_timeout */
	struct matcher_proposal	 p;
	TAILQ_ENTRY(offer)	 entry;		/* in sup->offers */
};

/* A requester key's last supporter, for prefer_previous. */
struct previous {
	uint64_t		 key;
	uint64_t		 nid;
	TAILQ_ENTRY(previous)	 entry;		/* least recent first */
};
TAILQ_HEAD(previous_list, previous);

/* The place of a requester key whose connection dropped while queued. */
struct away {
	uint64_t		 key;
	uint64_t		 enq_ms;
	uint64_t		 until_ms;	/* grace window end */
	TAILQ_ENTRY(away)	 entry;		/* oldest first */
};
TAILQ_HEAD(away_list, away);

struct matcher			*match_matcher;

static struct request_list	 match_requests =
    TAILQ_HEAD_INITIALIZER(match_requests);
static struct map		 match_byid;	/* request id -> request */
static u_int			 match_nrequests;
static uint64_t			 match_next_id = 1;
static struct event		*match_tick_ev;

static char			 match_langs[MATCHER_LANGS_MAX][4];
static u_int			 match_nlangs;
static u_int			 match_nlangs_req; /* of them, added by
						     requests */

static struct map		 match_prev;	/* key -> struct previous */
static struct previous_list	 match_prev_lru =
    TAILQ_HEAD_INITIALIZER(match_prev_lru);
static struct map		 match_bykey;	/* requester key -> request */
static struct map		 match_away;	/* requester key -> away */
static struct away_list		 match_away_list =
    TAILQ_HEAD_INITIALIZER(match_away_list);

static void	match_tick(evutil_socket_t, short, void *);
static void	match_away_free(struct away *);
static void	match_request_free(struct request *);
static void	match_offer_expired(evutil_socket_t, short, void *);

/* Return the catalogue index of a tag name, or -1. */
int
match_tag_index(const char *name)
{
	const struct conf_tag	*t;

	if ((t = config_tag_find(name)) == NULL)
		return (-1);
	return ((int)(t - conf.tags));
}

/* Add tag t to a set. */
static void
match_tag_set(struct matcher_tags *set, u_int t)
{
	set->w[t / 64] |= 1ULL << (t % 64);
}

/*
 * Put the names of the tags in set into names (pointers into the
 * configuration, at most max); return how many.
 */
size_t
match_tag_names(const struct matcher_tags *set, char **names, size_t max)
{
	size_t	n = 0;
	u_int	t;

	for (t = 0; t < conf.ntags && n < max; t++) {
		if ((set->w[t / 64] >> (t % 64)) & 1)
			names[n++] = conf.tags[t].name;
	}
	return (n);
}

/* Return the matcher index of a language code in the table, or -1. */
static int
match_lang_find(const char *code)
{
	u_int	i;

	for (i = 0; i < match_nlangs; i++) {
		if (strcmp(match_langs[i], code) == 0)
			return ((int)i);
	}
	return (-1);
}

/*
 * Return the matcher index of a language a requester asked for, adding
 * it to the table only while requests have added fewer than
 * MATCH_LANGS_BY_REQUESTS: the table lives until restart, and anyone may
 * ask for made-up codes; the rest of it stays for the organisation's own
 * languages (the default, credentials), so those always match.  -1 when
 * it is not in the table and cannot be added: the request then matches
 * on its other languages.
 */
static int
match_lang_request(const char *code)
{
	int	l;

	if ((l = match_lang_find(code)) >= 0)
		return (l);
	if (match_nlangs_req >= MATCH_LANGS_BY_REQUESTS)
		return (-1);
	if ((l = match_lang_index(code)) >= 0)
		match_nlangs_req++;
	return (l);
}

/*
 * Return the matcher index of a language code, adding it to the table on
 * first use; -1 once all MATCHER_LANGS_MAX indices are taken.
 */
int
match_lang_index(const char *code)
{
	int	l;

	if ((l = match_lang_find(code)) >= 0)
		return (l);
	if (match_nlangs == MATCHER_LANGS_MAX || strlen(code) > 3)
		return (-1);
	snprintf(match_langs[match_nlangs], sizeof match_langs[0], "%s", code);
	return ((int)match_nlangs++);
}

/* Create the matcher with the catalogue and start the queue tick. */
int
match_start(void)
{
	struct matcher_tag_def	 defs[CONF_TAGS_MAX];
	struct timeval		 tv = { MATCH_TICK, 0 };
	u_int			 i;

	for (i = 0; i < conf.ntags; i++) {
		defs[i].name = conf.tags[i].name;
		defs[i].description = conf.tags[i].description;
	}
	if ((match_matcher = matcher_new(defs, conf.ntags)) == NULL) {
		log_warnx("event=start_failed reason=matcher_new");
		return (-1);
	}
	map_init(&match_byid);
	map_init(&match_prev);
	map_init(&match_bykey);
	map_init(&match_away);
	(void)match_lang_index(conf.default_language);
	match_tick_ev = event_new(server_base, -1, EV_PERSIST, match_tick,
	    NULL);
	evtimer_add(match_tick_ev, &tv);
	return (0);
}

/* Free the offer (not its request's place in the matcher). */
static void
match_offer_free(struct offer *o)
{
	TAILQ_REMOVE(&o->sup->offers, o, entry);
	o->req->offer = NULL;
	event_free(o->timer);
	free(o);
}

/* Forget a kept place. */
static void
match_away_free(struct away *a)
{
	TAILQ_REMOVE(&match_away_list, a, entry);
	map_remove(&match_away, a->key);
	free(a);
}

/*
 * Keep request r's place for its key until the grace window ends (its
 * connection is gone).  Bounded: past MATCH_AWAY_MAX the oldest goes.
 */
static void
match_away_keep(const struct request *r, uint64_t now)
{
	struct away	*a;

	if (r->key == 0 || conf.grace == 0)
		return;
	if ((a = map_get(&match_away, r->key)) != NULL)
		match_away_free(a);
	if (match_away.n >= MATCH_AWAY_MAX)
		match_away_free(TAILQ_FIRST(&match_away_list));
	a = xcalloc(1, sizeof *a);
	a->key = r->key;
	a->enq_ms = r->enq_ms;
	a->until_ms = now + (uint64_t)conf.grace * 1000;
	map_put(&match_away, a->key, a);
	TAILQ_INSERT_TAIL(&match_away_list, a, entry);
}

/* Drop the kept places whose grace window has ended. */
static void
match_away_expire(uint64_t now)
{
	struct away	*a;

	while ((a = TAILQ_FIRST(&match_away_list)) != NULL &&
	    a->until_ms <= now)
		match_away_free(a);
}

/*
 * Where a keyed requester arriving now goes back in the queue: the place
 * of the request its key still holds on another connection (which is
 * closed: the same person cannot wait twice), or the place kept since its
 * last connection dropped.  Returns the enqueue time, or 0 for none.
 */
static uint64_t
match_away_take(struct conn *c, uint64_t key, uint64_t now)
{
	struct request	*old;
	struct away	*a;
	struct conn	*oc;
	uint64_t	 enq;

	if (key == 0)
		return (0);
	if ((old = map_get(&match_bykey, key)) != NULL && old->c != c) {
		enq = old->enq_ms;
		oc = old->c;
		log_info("conn=%llu event=dequeued reason=replaced by=%llu",
		    (unsigned long long)oc->id, (unsigned long long)c->id);
		match_request_free(old);
		conn_error(oc, 0, ERR(SESSION_REPLACED), 1, "your place in "
		    "the queue moved to your newer connection");
		return (enq);
	}
	if ((a = map_get(&match_away, key)) == NULL)
		return (0);
	enq = a->until_ms > now ? a->enq_ms : 0;
	match_away_free(a);
	return (enq);
}

/*
 * Take a request out of our indexes and its connection and free it (the
 * one place a request is freed; the matcher's copy is the caller's).
 */
static void
match_request_unlink(struct request *r)
{
	map_remove(&match_byid, r->id);
	if (r->key != 0 && map_get(&match_bykey, r->key) == r)
		map_remove(&match_bykey, r->key);
	TAILQ_REMOVE(&match_requests, r, entry);
	match_nrequests--;
	if (r->c != NULL)
		r->c->request = NULL;
	free(r);
}

/* Remove a request from the queue and free it, with any offer out. */
static void
match_request_free(struct request *r)
{
	if (r->offer != NULL)
		match_offer_free(r->offer);
	(void)matcher_request_cancel(match_matcher, r->id);
	match_request_unlink(r);
}

/* Free everything (after the loop has ended). */
void
match_stop(void)
{
	struct previous	*p;

	while (!TAILQ_EMPTY(&match_requests))
		match_request_free(TAILQ_FIRST(&match_requests));
	map_clear(&match_byid);
	while ((p = TAILQ_FIRST(&match_prev_lru)) != NULL) {
		TAILQ_REMOVE(&match_prev_lru, p, entry);
		free(p);
	}
	while (!TAILQ_EMPTY(&match_away_list))
		match_away_free(TAILQ_FIRST(&match_away_list));
	map_clear(&match_bykey);
	map_clear(&match_away);
	map_clear(&match_prev);
	if (match_tick_ev != NULL)
		event_free(match_tick_ev);
	match_tick_ev = NULL;
	matcher_free(match_matcher);
	match_matcher = NULL;
	match_nlangs = match_nlangs_req = 0;
}

/* Return how many requests are queued (offered ones included). */
u_int
match_queued(void)
{
	return (match_nrequests);
}

/* Add one to counts[t] for every tag a queued request needs or prefers. */
void
match_tag_waiting(uint32_t *counts)
{
	struct request		*r;
	struct matcher_tags	 all;
	u_int			 t;

	TAILQ_FOREACH(r, &match_requests, entry) {
		all.w[0] = r->need.w[0] | r->prefer.w[0];
		all.w[1] = r->need.w[1] | r->prefer.w[1];
		for (t = 0; t < conf.ntags; t++) {
			if ((all.w[t / 64] >> (t % 64)) & 1)
				counts[t]++;
		}
	}
}

/* Remember that key was last served by supporter nid (bounded, LRU). */
void
match_remember(uint64_t key, uint64_t nid)
{
	struct previous	*p;

	if (key == 0)
		return;
	if ((p = map_get(&match_prev, key)) != NULL) {
		TAILQ_REMOVE(&match_prev_lru, p, entry);
	} else {
		if (match_prev.n >= MATCH_PREVIOUS_MAX) {
			p = TAILQ_FIRST(&match_prev_lru);
			TAILQ_REMOVE(&match_prev_lru, p, entry);
			map_remove(&match_prev, p->key);
			free(p);
		}
		p = xcalloc(1, sizeof *p);
		p->key = key;
		map_put(&match_prev, key, p);
	}
	p->nid = nid;
	TAILQ_INSERT_TAIL(&match_prev_lru, p, entry);
}

/* Forget key's previous supporter if it is nid (after a report). */
void
match_forget(uint64_t key, uint64_t nid)
{
	struct previous	*p;

	if (key == 0 || (p = map_get(&match_prev, key)) == NULL ||
	    p->nid != nid)
		return;
	TAILQ_REMOVE(&match_prev_lru, p, entry);
	map_remove(&match_prev, key);
	free(p);
}

/* Has request r's relaxation fallen due by now? */
static int
match_relaxed(const struct request *r, uint64_t now)
{
	if (r->relax_after_s == 0 ||
	    (r->need.w[0] == 0 && r->need.w[1] == 0))
		return (0);
	return (now >= r->enq_ms + (uint64_t)r->relax_after_s * 1000);
}

/* Round an estimate so it does not change every second. */
static uint32_t
match_eta_round(uint64_t ms)
{
	uint64_t	s = (ms + 999) / 1000;

	if (s == 0)
		return (0);
	if (s < MATCH_ETA_FINE)
		s = (s + MATCH_ETA_STEP - 1) / MATCH_ETA_STEP * MATCH_ETA_STEP;
	else
		s = (s + 59) / 60 * 60;
	return (s > UINT32_MAX ? UINT32_MAX : (uint32_t)s);
}

/* Work out which classes of supporters could serve r now. */
static void
match_reach(struct request *r, uint64_t now)
{
	struct matcher_tags	need = r->need;

	if (match_relaxed(r, now))
		need.w[0] = need.w[1] = 0;
	r->reached = position_reach(&need, r->langs, &r->reach);
}

/* Is o ahead of r in queue order: urgent first, then earlier? */
static int
match_ahead(const struct request *o, const struct request *r)
{
	if (o->urgent != r->urgent)
		return (o->urgent);
	return (o->enq_ms < r->enq_ms);
}

/*
 * Return r's position: one more than the waiting requests ahead of it
 * who could be served by a supporter who could serve r (position.c).  If
 * no supporter known could serve r, the matcher's rule: those ahead whose
 * required tags are a subset of r's.  *mpos gets the matcher's figure.
 */
static uint32_t
match_position(struct request *r, uint64_t now, uint32_t *mpos)
{
	struct request	*o;
	uint32_t	 pos = 1;

	if (matcher_position(match_matcher, r->id, now, mpos) != MATCHER_OK ||
	    *mpos == 0)
		*mpos = 1;
	if (!r->reached)
		return (*mpos);
	TAILQ_FOREACH(o, &match_requests, entry) {
		if (o != r && o->offer == NULL && o->reached &&
		    match_ahead(o, r) && position_meet(&o->reach, &r->reach))
			pos++;
	}
	return (pos);
}

/* Work out what a QueueUpdate for r would say now. */
static void
match_status(struct request *r, uint64_t now, uint32_t *pos, uint32_t *eta,
    int *relaxed)
{
	uint64_t	ms;
	uint32_t	mpos;

	*relaxed = match_relaxed(r, now);
	if (r->offer != NULL) {
		*pos = 1;	/* a supporter is considering them: next */
		*eta = 0;
		return;
	}
	*pos = match_position(r, now, &mpos);
	/* The matcher's estimate is for its own position: scale it. */
	if (matcher_eta(match_matcher, r->id, now, &ms) == MATCHER_OK)
		*eta = match_eta_round(ms * *pos / mpos);
	else
		*eta = 0;	/* unknown: no recent service to go on */
}

/* Send r's requester a QueueUpdate (id: the RequestPeer's, or 0). */
static void
match_send_update(struct request *r, uint64_t id, uint64_t now)
{
	Peerd__V1__QueueUpdate	 qu = PEERD__V1__QUEUE_UPDATE__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	struct matcher_tags	 need = r->need;
	int			 relaxed;

	match_status(r, now, &qu.position, &qu.eta_s, &relaxed);
	qu.relaxed = relaxed;
	if (relaxed)
		need.w[0] = need.w[1] = 0;
	qu.compatible_supporters = supporter_compatible(&need, r->langs);
	r->sent_pos = qu.position;
	r->sent_eta = qu.eta_s;
	r->sent_relaxed = relaxed;
	r->sent_ms = now;
	env.id = id;
	env.body_case = BODY(QUEUE_UPDATE);
	env.queue_update = &qu;
	conn_send(r->c, &env);
}

/* Send supporter o->sup the Offer for o->req. */
static void
match_send_offer(struct offer *o, uint64_t now)
{
	Peerd__V1__Offer	 of = PEERD__V1__OFFER__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	struct request		*r = o->req;
	struct matcher_tags	 need = r->need, prefer = r->prefer;
	char			*shared[CONF_TAGS_MAX], *needs[CONF_TAGS_MAX];
	char			*prefers[CONF_TAGS_MAX];
	char			*langs[MATCHER_LANGS_MAX];
	u_int			 i;

	/* Relaxed: what was required is now only preferred. */
	if (o->p.relaxed) {
		prefer.w[0] |= need.w[0];
		prefer.w[1] |= need.w[1];
		need.w[0] = need.w[1] = 0;
	}
	of.offer_id = o->id;
	of.n_shared = match_tag_names(&o->p.shared, shared, CONF_TAGS_MAX);
	of.shared = shared;
	of.n_need = match_tag_names(&need, needs, CONF_TAGS_MAX);
	of.need = needs;
	of.n_prefer = match_tag_names(&prefer, prefers, CONF_TAGS_MAX);
	of.prefer = prefers;
	for (i = 0; i < match_nlangs; i++) {
		if ((r->langs >> i) & 1)
			langs[of.n_languages++] = match_langs[i];
	}
	of.languages = langs;
	of.urgent = r->urgent;
	of.waited_s = now > r->enq_ms ? (uint32_t)((now - r->enq_ms) / 1000) :
	    0;
	of.expires_s = conf.offer_timeout;
	of.explanation = o->p.explain;
	of.returning = r->previous != 0 && r->previous == o->sup->nid;
	env.body_case = BODY(OFFER);
	env.offer = &of;
	conn_send(o->sup->conn, &env);
}

/*
 * Ask the matcher for pairs until it has none; send each as an Offer.
 * Called after every event that can make a pair possible.
 */
void
match_run(void)
{
	struct matcher_proposal	 p;
	struct timeval		 tv = { (time_t)conf.offer_timeout, 0 };
	struct request		*r;
	struct supporter	*s;
	struct offer		*o;
	uint64_t		 now = util_now_ms();
	int			 rc;

	if (match_matcher == NULL || server_stopping())
		return;
	while ((rc = matcher_next(match_matcher, now, &p)) == 1) {
		r = map_get(&match_byid, p.request_id);
		s = supporter_find(p.supporter_id);
		if (r == NULL || s == NULL || s->conn == NULL) {
			/* Broken invariant, but not worth the process. */
			log_warnx("event=proposal_dropped request=%d "
			    "supporter=%d", r != NULL, s != NULL);
			if (matcher_reject(match_matcher, p.request_id, now) !=
			    MATCHER_OK)
				(void)matcher_request_cancel(match_matcher,
				    p.request_id);
			continue;
		}
		o = xcalloc(1, sizeof *o);
		o->id = util_random_id();
		o->req = r;
		o->sup = s;
		o->p = p;
		o->timer = evtimer_new(server_base, match_offer_expired, o);
		evtimer_add(o->timer, &tv);
		TAILQ_INSERT_TAIL(&s->offers, o, entry);
		r->offer = o;
		log_info("conn=%llu event=offer_sent offer=%llu "
		    "requester_conn=%llu relaxed=%d",
		    (unsigned long long)s->conn->id,
		    (unsigned long long)o->id, (unsigned long long)r->c->id,
		    p.relaxed);
		match_send_offer(o, now);
	}
	if (rc < 0)
		log_warnx("event=matcher_failed reason=\"%s\"",
		    matcher_strerror(rc));
}

/*
 * Once a second: apply due relaxations, push changed QueueUpdates.
 *
 * A request's position and estimate cost three walks of the whole queue,
 * so a tick looks at no more requests than MATCH_TICK_WORK allows, taking
 * them from the head of the list and moving them to the tail: with a
 * long queue every requester is still looked at in turn, only less often
 * than every MATCH_UPDATE_EVERY.  Every request's reach is refreshed
 * first (supporters come and go, requests relax).
 */
static void
match_tick(evutil_socket_t fd, short events, void *arg)
{
	struct request	*r;
	uint64_t	 now;
	uint32_t	 pos, eta;
	u_int		 n, todo;
	int		 relaxed;

	(void)fd;
	(void)events;
	(void)arg;
	supporter_tick();
	match_run();
	now = util_now_ms();
	match_away_expire(now);
	position_refresh();
	TAILQ_FOREACH(r, &match_requests, entry)
		match_reach(r, now);
	todo = MATCH_TICK_WORK / (3 * (match_nrequests + 1));
	if (todo > match_nrequests)
		todo = match_nrequests;
	for (n = 0; n < todo; n++) {
		r = TAILQ_FIRST(&match_requests);
		TAILQ_REMOVE(&match_requests, r, entry);
		TAILQ_INSERT_TAIL(&match_requests, r, entry);
		if (now - r->sent_ms < MATCH_UPDATE_EVERY)
			continue;
		match_status(r, now, &pos, &eta, &relaxed);
		if (pos != r->sent_pos || eta != r->sent_eta ||
		    relaxed != r->sent_relaxed)
			match_send_update(r, 0, now);
	}
}

/* The supporter did not answer in time: the requester keeps its place. */
static void
match_offer_expired(evutil_socket_t fd, short events, void *arg)
{
	struct offer		*o = arg;
	struct supporter	*s = o->sup;
	uint64_t		 now = util_now_ms();

	(void)fd;
	(void)events;
	stats.offers_timed_out++;
	log_info("conn=%llu event=offer_timeout offer=%llu",
	    s->conn != NULL ? (unsigned long long)s->conn->id : 0ULL,
	    (unsigned long long)o->id);
	if (matcher_reject(match_matcher, o->req->id, now) != MATCHER_OK)
		log_warnx("event=matcher_failed call=reject");
	match_offer_free(o);
	supporter_offer_timed_out(s);
	match_run();
}

/* A requester left (or was replaced): its request goes. */
void
match_conn_gone(struct conn *c)
{
	if (c->request == NULL)
		return;
	log_info("conn=%llu event=dequeued reason=gone",
	    (unsigned long long)c->id);
	match_away_keep(c->request, util_now_ms());
	match_request_free(c->request);
	match_run();
}

/*
 * Supporter s is leaving the matcher (its connection went or was
 * replaced, or it is forgotten): drop our side of every offer out to it.
 * The caller then removes s from the matcher, which puts those requests
 * back in their places without counting a decline, and runs the matcher.
 */
void
match_supporter_gone(struct supporter *s)
{
	struct offer	*o;

	while ((o = TAILQ_FIRST(&s->offers)) != NULL) {
		log_info("event=offer_withdrawn offer=%llu "
		    "reason=supporter_gone", (unsigned long long)o->id);
		match_offer_free(o);
	}
}

/*
 * Return an enqueue time for a request arriving now: never the same as
 * an earlier request's, so a requester requeued with its original time
 * is ahead of everyone who came after it, even within a millisecond.
 * (Bursts over 1,000 a second push stamps a few ms ahead of the clock.)
 */
static uint64_t
match_stamp(uint64_t now)
{
	static uint64_t	last;

	last = now > last ? now : last + 1;
	return (last);
}

/* Check a language code: two or three lower-case letters. */
static int
match_lang_valid(const char *code)
{
	size_t	len = strlen(code);

	return (len >= 2 && len <= 3 &&
	    code[strspn(code, "abcdefghijklmnopqrstuvwxyz")] == '\0');
}

/* Check RequestPeer's fields (tag names are the handler's: UNKNOWN_TAG). */
const char *
match_check_request_peer(struct conn *c, const Envelope *env)
{
	const Peerd__V1__RequestPeer	*rp = env->request_peer;
	size_t				 i;

	(void)c;
	if (rp == NULL)
		return ("missing body");
	if (rp->n_need > conf.max_tags || rp->n_prefer > conf.max_tags)
		return ("too many tags");
	if (rp->n_languages > MATCH_LANGS_REQ)
		return ("too many languages");
	for (i = 0; i < rp->n_languages; i++) {
		if (!match_lang_valid(rp->languages[i]))
			return ("languages must be ISO 639-1 codes, e.g. en");
	}
	if (rp->relax_after_s > MATCH_RELAX_MAX)
		return ("relax_after_s is too large");
	return (NULL);
}

/* Map a list of tag names into set; return the bad index, or -1. */
static int
match_tags_from(char **names, size_t n, struct matcher_tags *set)
{
	size_t	i;
	int	t;

	memset(set, 0, sizeof *set);
	for (i = 0; i < n; i++) {
		if ((t = match_tag_index(names[i])) < 0)
			return ((int)i);
		match_tag_set(set, (u_int)t);
	}
	return (-1);
}

/* RequestPeer: queue the requester, then answer QueueUpdate. */
void
match_request_peer(struct conn *c, const Envelope *env)
{
	const Peerd__V1__RequestPeer	*rp = env->request_peer;
	struct matcher_request		 mr;
	struct request			*r;
	struct previous			*p;
	uint64_t			 now = util_now_ms(), enq;
	size_t				 i;
	int				 bad, l, rc;

	if (c->request != NULL || !TAILQ_EMPTY(&c->convs)) {
		conn_error(c, env->id, ERR(BAD_STATE), 0, "%s",
		    c->request != NULL ? "already queued" :
		    "already in a conversation");
		return;
	}
	memset(&mr, 0, sizeof mr);
	if ((bad = match_tags_from(rp->need, rp->n_need, &mr.required)) >= 0) {
		conn_error(c, env->id, ERR(UNKNOWN_TAG), 0,
		    "need[%d] is not in the catalogue", bad);
		return;
	}
	if ((bad = match_tags_from(rp->prefer, rp->n_prefer,
	    &mr.preferred)) >= 0) {
		conn_error(c, env->id, ERR(UNKNOWN_TAG), 0,
		    "prefer[%d] is not in the catalogue", bad);
		return;
	}
	if (rp->n_languages == 0) {
		if ((l = match_lang_index(conf.default_language)) >= 0)
			mr.langs |= 1ULL << l;
	}
	for (i = 0; i < rp->n_languages; i++) {
		if ((l = match_lang_request(rp->languages[i])) >= 0)
			mr.langs |= 1ULL << l;
	}
	if (mr.langs == 0) {
		conn_error(c, env->id, ERR(BAD_MESSAGE), 0,
		    "no supporter here speaks %s", rp->n_languages == 1 ?
		    "that language" : "any of those languages");
		return;
	}
	if (match_nrequests >= conf.max_queue) {
		conn_error(c, env->id, ERR(QUEUE_FULL), 0,
		    "the queue is full, try again in a few minutes");
		return;
	}

	if (c->rkey == 0) {
		/* Anonymous: a key for this session's blocks only. */
		if ((c->rkey = auth_requester_key(c)) == 0)
			c->rkey = util_random_id();
	}
	r = xcalloc(1, sizeof *r);
	r->id = match_next_id++;
	r->c = c;
	r->need = mr.required;
	r->prefer = mr.preferred;
	r->langs = mr.langs;
	r->urgent = rp->urgent;
	r->relax_after_s = rp->relax_after_s;
	r->key = auth_requester_key(c);
	if (rp->prefer_previous) {
		if (r->key != 0 && (p = map_get(&match_prev, r->key)) != NULL)
			r->previous = p->nid;
		else
			r->previous = c->last_sup;
	}
	/*
	 * Back after END_PEER_GONE, or after a dropped connection (or on a
	 * new one while the old is not yet known to be gone): the original
	 * place in the queue.
	 */
	enq = match_away_take(c, r->key, now);
	if (c->requeue_ms != 0 && c->requeue_ms <= now &&
	    (enq == 0 || c->requeue_ms < enq))
		enq = c->requeue_ms;
	r->enq_ms = enq != 0 && enq <= now ? enq : match_stamp(now);
	c->requeue_ms = 0;

	mr.id = r->id;
	mr.key = c->rkey;
	mr.urgent = r->urgent;
	mr.relax_after_ms = (uint64_t)r->relax_after_s * 1000;
	mr.previous = r->previous;
	if ((rc = matcher_request_enqueue(match_matcher, &mr,
	    r->enq_ms)) != MATCHER_OK) {
		free(r);
		conn_error(c, env->id, ERR(INTERNAL), 1, "cannot queue: %s",
		    matcher_strerror(rc));
		return;
	}
	map_put(&match_byid, r->id, r);
	if (r->key != 0)
		map_put(&match_bykey, r->key, r);
	TAILQ_INSERT_TAIL(&match_requests, r, entry);
	match_nrequests++;
	c->request = r;
	log_info("conn=%llu event=queued urgent=%d requeued=%d queued=%u",
	    (unsigned long long)c->id, r->urgent, r->enq_ms < now,
	    match_nrequests);

	match_run();
	if (c->request == r) {
		position_refresh();
		match_reach(r, now);
		match_send_update(r, env->id, now);
	}
}

/* CancelRequest: leave the queue; an offer out is withdrawn. */
void
match_cancel_request(struct conn *c, const Envelope *env)
{
	if (c->request == NULL) {
		conn_error(c, env->id, ERR(BAD_STATE), 0, "not queued");
		return;
	}
	log_info("conn=%llu event=dequeued reason=cancel",
	    (unsigned long long)c->id);
	match_request_free(c->request);
	conn_ok(c, env->id);
	match_run();
}

/* Check AcceptOffer/DeclineOffer: an offer id is given. */
const char *
match_check_offer(struct conn *c, const Envelope *env)
{
	(void)c;
	if (env->body_case == BODY(ACCEPT_OFFER))
		return (env->accept_offer == NULL ||
		    env->accept_offer->offer_id == 0 ? "offer_id missing" :
		    NULL);
	return (env->decline_offer == NULL ||
	    env->decline_offer->offer_id == 0 ? "offer_id missing" : NULL);
}

/* Return c's offer with this id, or NULL (sending NOT_FOUND). */
static struct offer *
match_find_offer(struct conn *c, uint64_t reqid, uint64_t offer_id)
{
	struct offer	*o;

	if (c->supporter != NULL) {
		TAILQ_FOREACH(o, &c->supporter->offers, entry) {
			if (o->id == offer_id)
				return (o);
		}
	}
	conn_error(c, reqid, ERR(NOT_FOUND), 0, "no such offer (it may have "
	    "expired or been withdrawn)");
	return (NULL);
}

/* AcceptOffer: Ok, then the conversation starts and both get Matched. */
void
match_accept_offer(struct conn *c, const Envelope *env)
{
	struct offer		*o;
	struct request		*r;
	struct supporter	*s;
	struct conn		*rc;
	struct matcher_proposal	 p;
	uint64_t		 now = util_now_ms(), enq, key;
	int			 err;

	if ((o = match_find_offer(c, env->id,
	    env->accept_offer->offer_id)) == NULL)
		return;
	r = o->req;
	s = o->sup;
	rc = r->c;
	if ((err = matcher_confirm(match_matcher, r->id, now)) != MATCHER_OK) {
		log_warnx("conn=%llu event=matcher_failed call=confirm "
		    "reason=\"%s\"", (unsigned long long)c->id,
		    matcher_strerror(err));
		conn_error(c, env->id, ERR(NOT_FOUND), 0, "offer is gone");
		return;
	}
	stats.offers_accepted++;
	p = o->p;
	enq = r->enq_ms;
	match_offer_free(o);
	/* The matcher has dropped the request; drop ours without cancel. */
	match_request_unlink(r);

	conn_ok(c, env->id);
	stats_wait(now > enq ? now - enq : 0);
	if ((key = auth_requester_key(rc)) != 0)
		match_remember(key, s->nid);
	rc->last_sup = s->nid;
	conv_start(rc, s, &p, enq);
	match_run();
}

/* DeclineOffer: Ok; the requester keeps its place. */
void
match_decline_offer(struct conn *c, const Envelope *env)
{
	struct offer	*o;

	if ((o = match_find_offer(c, env->id,
	    env->decline_offer->offer_id)) == NULL)
		return;
	stats.offers_declined++;
	log_info("conn=%llu event=offer_declined offer=%llu",
	    (unsigned long long)c->id, (unsigned long long)o->id);
	if (matcher_reject(match_matcher, o->req->id, util_now_ms()) !=
	    MATCHER_OK)
		log_warnx("event=matcher_failed call=reject");
	match_offer_free(o);
	conn_ok(c, env->id);
	match_run();
}
