/*
 * revoke.c -- the revoked credential ids, mirrored from Redis.
 *
 * `peerctl revoke ID` adds ID to the set peerd:revoked and PUBLISHes it on
 * peerd:revocations.  peerd keeps a local copy of the set, so the check at
 * Hello (revoke_is_revoked) never waits on Redis, and ends live sessions
 * with a revoked id:
 *
 *   - SMEMBERS peerd:revoked when Redis comes up and every
 *     REVOKE_REFRESH_EVERY seconds replaces the copy (unrevoke shows up
 *     here; but see the marker below); this alone bounds the time to end
 *     a live session;
 *   - in between, SCARD every REVOKE_POLL_MS (O(1) for Redis) reads the
 *     set again as soon as its size changes, so an id added without a
 *     PUBLISH is refused at Hello a fraction of a second later;
 *   - a second connection SUBSCRIBEd to peerd:revocations adds an id the
 *     moment it is published (pub/sub is fire-and-forget: the refresh
 *     covers what it misses).  An id heard while a refresh was in flight is
 *     kept when that refresh's older answer arrives.
 *
 * While Redis is away the last copy is kept.  Everything Redis says is
 * untrusted: replies are type-checked and the copy is bounded (REVOKE_MAX
 * ids, each a valid credential id of at most CRED_ID_MAX bytes); what is
 * beyond is ignored and logged once.  A read that fails (the key has
 * another type, an ACL refuses SMEMBERS) keeps the copy and is logged
 * at most once every REVOKE_FAIL_LOG_EVERY seconds.
 *
 * A set Redis lost is not an empty set.  Redis here keeps nothing on
 * disk (deploy/redis-presence.conf), so a restart, a FLUSHALL or a
 * fail-over to an empty replica would read as "nobody is revoked" and
 * let every revoked supporter back in.  The marker
 * CRED_REDIS_REVOKED_EPOCH, a random value set once (SETNX, by peerctl
 * revoke or by peerd) and never changed, lives and dies with the set, so
 * each read takes both in one MULTI/EXEC:
 *
 *   - marker == the one our copy was read under (revoke_epoch): the set
 *     is the truth and replaces the copy, removals included (peerctl
 *     unrevoke's SREM, a DEL of the set: deliberate, the marker stays);
 *   - anything else (marker missing, another value, or none seen yet
 *     since start): the set may have lost ids.  The copy becomes the set
 *     plus every id we held, and if that added any, or the marker is
 *     missing (or not one we could follow), one MULTI writes them all
 *     back (SADD), sets a fresh marker (SETNX; SET over an unusable one)
 *     and reads the marker we then follow (GET).  Every node with
 *     a copy does the same, so the fleet's union is restored; a node
 *     that finds a marker another node set merges its ids the same way
 *     before following it.  Restored ids are logged as
 *     event=revocations_restored at warning level.
 *
 * At start the copy is empty, so a first read restores nothing, whatever
 * the marker; with none there peerd sets it.  The cost of failing closed:
 * an id unrevoked while some node was cut off from Redis across a loss
 * of the set comes back from that node's copy (unrevoke it again).
 *
 * Fail closed at start: until one SMEMBERS answer has been applied since
 * revoke_start, the copy may lack ids that Redis holds, so revoke_known()
 * is 0 and auth.c defers supporters (TRY_LATER) rather than admit one
 * whose credential may be revoked.  Once known it stays known: a later
 * outage keeps the last copy, which is what a running peerd had anyway.
 *
 * The subscriber connection authenticates as the main one does (AUTH
 * first, from redis.c), and SUBSCRIBEs only once AUTH is answered +OK: a
 * SUBSCRIBE refused with NOAUTH would leave hiredis's subscriber state
 * half set.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/rand.h>

#include "credential.h"
#include "peerd.h"

#define REVOKE_MAX		100000	/* ids kept in the mirror */
#define REVOKE_REFRESH_EVERY	2	/* seconds between full reads */
#define REVOKE_POLL_MS		100	/* ms between SCARD polls */
#define REVOKE_POLLS_PER_REFRESH (REVOKE_REFRESH_EVERY * 1000 / \
				 REVOKE_POLL_MS)
#define REVOKE_RECENT		64	/* ids heard on the channel, kept
					   across one refresh */
#define REVOKE_EPOCH_MAX	64	/* bytes of a marker we follow; a
					   longer one is replaced */
#define REVOKE_FAIL_LOG_EVERY	60	/* seconds between warnings of a
					   read that keeps failing */
#define REVOKE_HEAL_RETRY	10	/* seconds after a failed write-back
					   before the next (an ACL refusing
					   it would otherwise resend every id
					   every refresh) */

/* An open-addressed hash set of ids (linear probing, no deletion). */
struct revoke_set {
	char		**slot;
	size_t		  cap;		/* power of 2, or 0 */
	size_t		  n;
};

/* An id heard on the channel, and when (monotonic s). */
struct revoke_recent {
	char		id[CRED_ID_MAX + 1];
	time_t		when;
};

static struct revoke_set	 revoke_set;
static uint64_t			 revoke_seed;	/* against chosen collisions */
static int			 revoke_full_logged;
static int			 revoke_bad_logged;
static struct revoke_recent	 revoke_recent[REVOKE_RECENT];
static u_int			 revoke_nrecent;	/* next slot, mod */
static struct event		*revoke_timer;
static int			 revoke_refreshing;	/* SMEMBERS in flight */
static int			 revoke_polling;	/* SCARD in flight */
static long long		 revoke_last_card = -1;	/* members in the
							   last SMEMBERS */
static u_int			 revoke_ticks;
static time_t			 revoke_refresh_sent;	/* monotonic s */
static redisAsyncContext	*revoke_sub;		/* the subscriber */
static int			 revoke_sub_up;
static int			 revoke_sub_authing;	/* AUTH unanswered */
static int			 revoke_sub_auth_logged;
static time_t			 revoke_sub_since;	/* connect started */
static int			 revoke_running;
static int			 revoke_known_now;	/* one SMEMBERS applied
							   since revoke_start */
static char			 revoke_epoch[REVOKE_EPOCH_MAX + 1]; /* the
					   marker the copy was read under,
					   "" until one is followed */
static int			 revoke_healing;	/* write-back sent */
static time_t			 revoke_heal_after;	/* monotonic s: no
							   write-back before */
static size_t			 revoke_heal_added;	/* ids it restores */
static int			 revoke_failing;	/* reads fail */
static time_t			 revoke_fail_logged;	/* monotonic s of the
							   last warning, or 0 */

static void	revoke_sub_close(void);

/* Pick the hash seed once, before the first id is stored. */
static void
revoke_seed_init(void)
{
	if (revoke_seed == 0 &&
	    RAND_bytes((uint8_t *)&revoke_seed, sizeof revoke_seed) != 1)
		revoke_seed = 0x9e3779b97f4a7c15ULL;
}

/* Return the hash of id (FNV-1a, seeded). */
static uint64_t
revoke_hash(const char *id)
{
	uint64_t	h = 0xcbf29ce484222325ULL ^ revoke_seed;

	for (; *id != '\0'; id++) {
		h ^= (uint8_t)*id;
		h *= 0x100000001b3ULL;
	}
	return (h ^ (h >> 29));
}

/* Return the slot of id in s, or of the empty slot where it would go. */
static size_t
revoke_slot(const struct revoke_set *s, const char *id)
{
	size_t	i = (size_t)revoke_hash(id) & (s->cap - 1);

	while (s->slot[i] != NULL && strcmp(s->slot[i], id) != 0)
		i = (i + 1) & (s->cap - 1);
	return (i);
}

/* Return whether s holds id. */
static int
revoke_set_has(const struct revoke_set *s, const char *id)
{
	return (s->cap != 0 && s->slot[revoke_slot(s, id)] != NULL);
}

/*
 * Add id to s (a copy).  Returns 1 if added, 0 if it was there, -1 if it
 * is not a valid id or s is full.
 */
static int
revoke_set_add(struct revoke_set *s, const char *id)
{
	char	**old;
	size_t	  oldcap, i, j;

	if (!cred_id_valid(id))
		return (-1);
	revoke_seed_init();
	if (revoke_set_has(s, id))
		return (0);
	if (s->n >= REVOKE_MAX)
		return (-1);
	if (s->cap == 0 || (s->n + 1) * 2 > s->cap) {
		old = s->slot;
		oldcap = s->cap;
		s->cap = oldcap == 0 ? 64 : oldcap * 2;
		s->slot = xcalloc(s->cap, sizeof *s->slot);
		for (i = 0; i < oldcap; i++) {
			if (old[i] == NULL)
				continue;
			j = revoke_slot(s, old[i]);
			s->slot[j] = old[i];
		}
		free(old);
	}
	s->slot[revoke_slot(s, id)] = xstrdup(id);
	s->n++;
	return (1);
}

/* Empty s. */
static void
revoke_set_clear(struct revoke_set *s)
{
	size_t	i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* End every live session whose credential id is revoked now. */
static void
revoke_sweep(void)
{
	const struct cred_info	*ci;
	struct conn		*c;

	TAILQ_FOREACH(c, &conns, entry) {
		if (c->state == CONN_CLOSING || (c->flags & CONN_F_REVOKED))
			continue;
		if ((ci = auth_cred(c)) == NULL ||
		    !revoke_set_has(&revoke_set, ci->id))
			continue;
		log_info("conn=%llu event=revoked id=%s",
		    (unsigned long long)c->id, ci->id);
		c->flags |= CONN_F_REVOKED;
		conn_error(c, 0, ERR(CREDENTIAL_REVOKED), 1,
		    "credential revoked");
	}
}

/* Log once that the mirror is full (again after it was not). */
static void
revoke_log_full(void)
{
	if (!revoke_full_logged)
		log_warnx("event=revoke_full max=%d reason=\"ids beyond are "
		    "ignored\"", REVOKE_MAX);
	revoke_full_logged = 1;
}

/*
 * Mark id revoked in the local mirror and end any live session with it.
 * Returns 0, or -1 if id is not a valid id or the mirror is full.
 */
int
revoke_add(const char *id)
{
	int	rc;

	if ((rc = revoke_set_add(&revoke_set, id)) < 0) {
		if (cred_id_valid(id))
			revoke_log_full();
		return (-1);
	}
	if (rc == 1)
		revoke_sweep();
	return (0);
}

/*
 * Copy a reply element that should be an id into buf.  Returns 0, or -1
 * if it is not a string holding a valid credential id.
 */
static int
revoke_reply_id(const redisReply *e, char *buf)
{
	if (e == NULL || e->type != REDIS_REPLY_STRING || e->str == NULL ||
	    e->len == 0 || e->len > CRED_ID_MAX)
		return (-1);
	memcpy(buf, e->str, e->len);
	buf[e->len] = '\0';
	return (cred_id_valid(buf) ? 0 : -1);
}

/*
 * Return whether the SMEMBERS answer would leave the mirror as it is: its
 * valid ids (the first REVOKE_MAX of them) are exactly the ones we hold.
 * Only lookups, so an unchanged set costs no allocation.
 */
static int
revoke_same(const redisReply *reply)
{
	char	id[CRED_ID_MAX + 1];
	size_t	i, valid = 0;

	for (i = 0; i < reply->elements && valid < REVOKE_MAX; i++) {
		if (revoke_reply_id(reply->element[i], id) != 0)
			continue;
		if (!revoke_set_has(&revoke_set, id))
			return (0);
		valid++;
	}
	return (valid == revoke_set.n);
}

/* The mirror holds a full read of the set: supporters may be admitted. */
static void
revoke_now_known(void)
{
	if (revoke_known_now)
		return;
	revoke_known_now = 1;
	log_info("event=revocations_known count=%zu", revoke_set.n);
}

/*
 * Return 1 if a warning that Redis refused a read or a write is due: the
 * first, then at most one every REVOKE_FAIL_LOG_EVERY seconds while it
 * goes on, so the log shows a failure that lasts without filling up.
 */
static int
revoke_warn_due(void)
{
	time_t	now = util_now();

	if (revoke_fail_logged != 0 &&
	    now - revoke_fail_logged < REVOKE_FAIL_LOG_EVERY)
		return (0);
	revoke_fail_logged = now != 0 ? now : 1;
	return (1);
}

/* Describe a reply that is not what was asked for, for a log value. */
static const char *
revoke_describe(const redisReply *r, char *buf, size_t len)
{
	if (r->type == REDIS_REPLY_ERROR && r->str != NULL)
		return (log_escape(buf, len, r->str, r->len));
	snprintf(buf, len, "reply type %d", r->type);
	return (buf);
}

/* A read of the set failed (reply r): keep the copy, and say so. */
static void
revoke_read_failed(const redisReply *r)
{
	char	why[LOG_ESCAPE_MAX * 4 + 1];

	revoke_failing = 1;
	if (revoke_warn_due())
		log_warnx("event=revoke_refresh_failed key=%s known=%d "
		    "reason=\"%s, keeping the last copy\"", CRED_REDIS_REVOKED,
		    revoke_known_now, revoke_describe(r, why, sizeof why));
}

/* What a read found of the marker, against the one we follow. */
enum revoke_marker {
	REVOKE_M_SAME,		/* revoke_epoch: the set is the truth */
	REVOKE_M_OTHER,		/* another value, one we may follow */
	REVOKE_M_MISSING,	/* no such key: the set was lost, or new */
	REVOKE_M_BAD		/* another type or length: to be replaced */
};

/* Classify the GET of the marker. */
static enum revoke_marker
revoke_marker(const redisReply *m)
{
	if (m->type == REDIS_REPLY_NIL)
		return (REVOKE_M_MISSING);
	if (m->type != REDIS_REPLY_STRING || m->str == NULL || m->len == 0 ||
	    m->len > REVOKE_EPOCH_MAX)
		return (REVOKE_M_BAD);
	if (revoke_epoch[0] != '\0' && m->len == strlen(revoke_epoch) &&
	    memcmp(m->str, revoke_epoch, m->len) == 0)
		return (REVOKE_M_SAME);
	return (REVOKE_M_OTHER);
}

/* Follow marker m (a string of 1..REVOKE_EPOCH_MAX bytes) from now on. */
static void
revoke_epoch_set(const redisReply *m)
{
	memcpy(revoke_epoch, m->str, m->len);
	revoke_epoch[m->len] = '\0';
}

/*
 * Fill next (empty) with the valid ids of an SMEMBERS answer and the ids
 * heard on the channel since it was asked for (kept so an older answer
 * does not undo them).  Ids that are not ids, and a full set, are logged
 * once.
 */
static void
revoke_read_ids(struct revoke_set *next, const redisReply *members)
{
	char	id[CRED_ID_MAX + 1];
	size_t	i;
	u_int	bad = 0, full = 0;

	memset(next, 0, sizeof *next);
	for (i = 0; i < members->elements; i++) {
		if (revoke_reply_id(members->element[i], id) != 0) {
			bad++;
			continue;
		}
		if (revoke_set_add(next, id) < 0) {
			full = 1;
			break;
		}
	}
	for (i = 0; i < REVOKE_RECENT; i++) {
		if (revoke_recent[i].id[0] != '\0' &&
		    revoke_recent[i].when >= revoke_refresh_sent &&
		    revoke_set_add(next, revoke_recent[i].id) < 0)
			full = 1;
	}
	if (full)
		revoke_log_full();
	else
		revoke_full_logged = 0;
	if (bad != 0 && !revoke_bad_logged)
		log_warnx("event=revoke_bad_ids count=%u reason=\"not "
		    "credential ids, ignored\"", bad);
	revoke_bad_logged = (bad != 0);
}

/* Make next the copy, and end live sessions it revokes. */
static void
revoke_replace(struct revoke_set *next)
{
	size_t	before = revoke_set.n;

	revoke_set_clear(&revoke_set);
	revoke_set = *next;
	log_info("event=revocations count=%zu was=%zu", revoke_set.n, before);
	revoke_now_known();
	revoke_sweep();
}

/* The set was read under our marker: it replaces the copy. */
static void
revoke_follow(const redisReply *members)
{
	struct revoke_set	next;

	if (revoke_same(members)) {
		revoke_now_known();
		return;
	}
	revoke_read_ids(&next, members);
	revoke_replace(&next);
}

/* The answer to the write-back: follow the marker it read. */
static void
revoke_heal_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r, *e = r;
	char		 why[LOG_ESCAPE_MAX * 4 + 1];
	size_t		 i;

	(void)ac;
	(void)arg;
	revoke_healing = 0;
	if (reply == NULL || !revoke_running)
		return;		/* link lost: read again later */
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
		for (i = 0; i < reply->elements; i++) {
			if ((e = reply->element[i])->type ==
			    REDIS_REPLY_ERROR)
				break;
		}
		/* All done: e is the GET of the marker. */
		if (i == reply->elements &&
		    revoke_marker(e) != REVOKE_M_MISSING &&
		    revoke_marker(e) != REVOKE_M_BAD) {
			revoke_epoch_set(e);
			if (revoke_heal_added > 0)
				log_warnx("event=revocations_restored "
				    "count=%zu reason=\"revocation set lost "
				    "in Redis\"", revoke_heal_added);
			else
				log_info("event=revocations_marker_set "
				    "key=%s", CRED_REDIS_REVOKED_EPOCH);
			return;
		}
	}
	/* revoke_epoch is unchanged, so a later read tries again. */
	revoke_heal_after = util_now() + REVOKE_HEAL_RETRY;
	if (revoke_warn_due())
		log_warnx("event=revoke_restore_failed key=%s count=%zu "
		    "reason=\"%s, keeping the last copy\"", CRED_REDIS_REVOKED,
		    revoke_heal_added, revoke_describe(e, why, sizeof why));
}

/*
 * In one transaction: add every id of the copy to the set, set the
 * marker (a fresh random value; only if there is none, unless replace)
 * and read the marker to follow.  Whoever then reads the set under that
 * marker finds every id this node holds.  added is how many of them
 * Redis had lost, for the log.
 */
static void
revoke_heal(size_t added, int replace)
{
	const char	**argv;
	char		  epoch[CRED_EPOCH_LEN + 1];
	size_t		  i, n = 0;
	int		  ok = 1;

	if (cred_epoch_new(epoch) == -1)
		fatalx("event=revoke_failed reason=\"no random bytes\"");

	if (redis_command(NULL, NULL, "MULTI") != 0)
		return;
	if (revoke_set.n > 0) {
		argv = xcalloc(revoke_set.n + 2, sizeof *argv);
		argv[n++] = "SADD";
		argv[n++] = CRED_REDIS_REVOKED;
		for (i = 0; i < revoke_set.cap; i++) {
			if (revoke_set.slot[i] != NULL)
				argv[n++] = revoke_set.slot[i];
		}
		ok = redis_command_argv(NULL, NULL, (int)n, argv, NULL) == 0;
		free(argv);
	}
	ok = ok && redis_command(NULL, NULL, replace ? "SET %s %s" :
	    "SETNX %s %s", CRED_REDIS_REVOKED_EPOCH, epoch) == 0 &&
	    redis_command(NULL, NULL, "GET %s", CRED_REDIS_REVOKED_EPOCH) == 0;
	/* A marker set without the ids would bless the set as it is. */
	if (!ok) {
		(void)redis_command(NULL, NULL, "DISCARD");
		return;
	}
	if (redis_command(revoke_heal_cb, NULL, "EXEC") == 0) {
		revoke_healing = 1;
		revoke_heal_added = added;
	}
}

/*
 * The set was read under another marker than ours, or none: Redis may
 * have lost ids we hold.  The copy becomes the set plus all we held (a
 * loss is never taken for a removal); unless nothing was missing and
 * there is a marker to follow, write it all back.
 */
static void
revoke_reconcile(const redisReply *members, const redisReply *marker)
{
	struct revoke_set	next;
	enum revoke_marker	m = revoke_marker(marker);
	size_t			i, added = 0;

	/* The set is the copy (a write-back failed before): nothing to do. */
	if (revoke_same(members)) {
		revoke_now_known();
	} else {
		revoke_read_ids(&next, members);
		for (i = 0; i < revoke_set.cap; i++) {
			if (revoke_set.slot[i] == NULL)
				continue;
			switch (revoke_set_add(&next, revoke_set.slot[i])) {
			case 1:
				added++;
				break;
			case -1:
				revoke_log_full();
				break;
			}
		}
		revoke_replace(&next);
	}
	if (m == REVOKE_M_OTHER && added == 0) {
		/* A first read, or another node has restored the set. */
		revoke_epoch_set(marker);
		return;
	}
	if (util_now() >= revoke_heal_after)
		revoke_heal(added, m == REVOKE_M_BAD);
}

/*
 * The answer to MULTI, SMEMBERS peerd:revoked, GET its marker, EXEC (one
 * moment's set and marker): follow the set if it is the one the copy
 * came from, else reconcile.
 */
static void
revoke_refresh_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;

	(void)ac;
	(void)arg;
	revoke_refreshing = 0;
	if (reply == NULL || !revoke_running)
		return;			/* link lost: keep what we have */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		revoke_read_failed(reply);
		return;
	}
	if (reply->element[0]->type != REDIS_REPLY_ARRAY) {
		revoke_read_failed(reply->element[0]);	/* WRONGTYPE */
		return;
	}
	if (revoke_failing) {
		revoke_failing = 0;
		revoke_fail_logged = 0;
		log_info("event=revoke_refresh_ok key=%s", CRED_REDIS_REVOKED);
	}
	revoke_last_card = (long long)reply->element[0]->elements;
	if (revoke_marker(reply->element[1]) == REVOKE_M_SAME)
		revoke_follow(reply->element[0]);
	else
		revoke_reconcile(reply->element[0], reply->element[1]);
}

/*
 * Read the set and its marker (unless a read or a write-back is in
 * flight, or Redis is down).  MULTI makes them one moment's: a flush
 * between the two would otherwise pair a lost set with the old marker.
 */
static void
revoke_refresh(void)
{
	if (revoke_refreshing || revoke_healing)
		return;
	if (redis_command(NULL, NULL, "MULTI") != 0)
		return;
	(void)redis_command(NULL, NULL, "SMEMBERS %s", CRED_REDIS_REVOKED);
	(void)redis_command(NULL, NULL, "GET %s", CRED_REDIS_REVOKED_EPOCH);
	if (redis_command(revoke_refresh_cb, NULL, "EXEC") == 0) {
		revoke_refreshing = 1;
		revoke_refresh_sent = util_now();
	}
}

/* A message on peerd:revocations (or the SUBSCRIBE confirmation). */
static void
revoke_sub_msg(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply		*reply = r;
	struct revoke_recent	*rr;
	char			 id[CRED_ID_MAX + 1];

	(void)ac;
	(void)arg;
	if (reply == NULL || !revoke_running)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0] == NULL ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		log_debug("event=revoke_subscribed channel=%s",
		    CRED_REDIS_REVOCATIONS);
		return;
	}
	if (strcmp(reply->element[0]->str, "message") != 0)
		return;
	if (revoke_reply_id(reply->element[2], id) != 0) {
		log_warnx("event=revoke_bad_message channel=%s",
		    CRED_REDIS_REVOCATIONS);
		return;
	}
	rr = &revoke_recent[revoke_nrecent++ % REVOKE_RECENT];
	memcpy(rr->id, id, sizeof rr->id);
	rr->when = util_now();
	log_info("event=revocation_heard id=%s", id);
	revoke_add(id);
}

/* hiredis: the subscriber connected, or failed to. */
static void
revoke_sub_connected(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		log_debug("event=revoke_subscribe_failed reason=\"%s\"",
		    ac->errstr);
		revoke_sub = NULL;	/* hiredis frees it */
		revoke_sub_up = 0;
		revoke_sub_authing = 0;
		return;
	}
	if (!revoke_sub_authing)
		revoke_sub_up = 1;
}

/* Send SUBSCRIBE on the subscriber; 0, or -1 if hiredis refused it. */
static int
revoke_sub_subscribe(redisAsyncContext *ac)
{
	if (redisAsyncCommand(ac, revoke_sub_msg, NULL, "SUBSCRIBE %s",
	    CRED_REDIS_REVOCATIONS) != REDIS_OK)
		return (-1);
	return (0);
}

/* The answer to the subscriber's AUTH: SUBSCRIBE, or drop the link. */
static void
revoke_sub_auth_done(redisAsyncContext *ac, void *reply, void *arg)
{
	char	why[LOG_ESCAPE_MAX * 4 + 1];

	(void)arg;
	if (ac != revoke_sub || !revoke_sub_authing || reply == NULL ||
	    !revoke_running)
		return;
	revoke_sub_authing = 0;
	if (!redis_auth_ok(reply, why, sizeof why)) {
		/* The main link passed AUTH, so this is rare: say it once. */
		if (!revoke_sub_auth_logged)
			log_error("event=redis_auth_failed addr=%s user=%s "
			    "link=revocations reason=\"%s\"", conf.redis,
			    conf.redis_user != NULL ? conf.redis_user :
			    "default", why);
		revoke_sub_auth_logged = 1;
		revoke_sub_close();	/* freed once this callback returns */
		return;
	}
	revoke_sub_auth_logged = 0;
	if (revoke_sub_subscribe(ac) == 0)
		revoke_sub_up = 1;
	else
		revoke_sub_close();	/* the timer opens another */
}

/* hiredis: the subscriber's link is gone (freed by hiredis after this). */
static void
revoke_sub_disconnected(const redisAsyncContext *ac, int status)
{
	if (ac != revoke_sub)
		return;		/* one we freed ourselves */
	if (revoke_running && status != REDIS_OK)
		log_debug("event=revoke_subscriber_lost");
	revoke_sub = NULL;
	revoke_sub_up = 0;
	revoke_sub_authing = 0;
}

/* Drop the subscriber connection (it reconnects from the timer). */
static void
revoke_sub_close(void)
{
	redisAsyncContext	*ac;

	if ((ac = revoke_sub) != NULL) {
		revoke_sub = NULL;
		revoke_sub_up = 0;
		revoke_sub_authing = 0;
		redisAsyncFree(ac);
	}
}

/* Open the subscriber connection and SUBSCRIBE (sent once connected). */
static void
revoke_sub_open(void)
{
	redisAsyncContext	*ac;
	const char		*why;

	/* By the address redis.c resolved: never a blocking lookup here. */
	if ((ac = redis_async_connect(&why)) == NULL)
		return;
	redisAsyncSetConnectCallback(ac, revoke_sub_connected);
	redisAsyncSetDisconnectCallback(ac, revoke_sub_disconnected);
	revoke_sub = ac;
	revoke_sub_up = 0;
	revoke_sub_authing = 0;
	revoke_sub_since = util_now();
	switch (redis_auth(ac, revoke_sub_auth_done, NULL)) {
	case 1:
		revoke_sub_authing = 1;	/* SUBSCRIBE once it is answered */
		return;
	case 0:
		if (revoke_sub_subscribe(ac) == 0)
			return;
		break;
	default:
		break;
	}
	revoke_sub_close();
}

/* The answer to SCARD peerd:revoked: read the set if its size changed. */
static void
revoke_poll_cb(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = r;

	(void)ac;
	(void)arg;
	revoke_polling = 0;
	if (reply == NULL || !revoke_running ||
	    reply->type != REDIS_REPLY_INTEGER)
		return;		/* a wrong type shows in the next refresh */
	if (reply->integer != revoke_last_card)
		revoke_refresh();
}

/*
 * Every REVOKE_POLL_MS: poll the set's size; every REVOKE_REFRESH_EVERY
 * seconds read it whole and mind the subscriber connection.
 */
static void
revoke_tick(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (!redis_is_up())
		return;
	if (++revoke_ticks % REVOKE_POLLS_PER_REFRESH != 0) {
		if (!revoke_polling && !revoke_refreshing && !revoke_healing &&
		    redis_command(revoke_poll_cb, NULL, "SCARD %s",
		    CRED_REDIS_REVOKED) == 0)
			revoke_polling = 1;
		return;
	}
	revoke_refresh();
	if (revoke_sub != NULL && !revoke_sub_up &&
	    util_now() - revoke_sub_since >= REDIS_CONNECT_TIMEOUT)
		revoke_sub_close();	/* a connect that hangs */
	if (revoke_sub == NULL)
		revoke_sub_open();
}

/* Redis went up (read everything now, subscribe) or down (keep the copy). */
static void
revoke_redis_change(int up)
{
	if (!revoke_running)
		return;
	if (up) {
		revoke_refreshing = 0;	/* a read in flight died with the link */
		revoke_polling = 0;
		revoke_healing = 0;
		revoke_refresh();
		if (revoke_sub == NULL)
			revoke_sub_open();
	} else
		revoke_sub_close();
}

/* Start following revocations. */
int
revoke_start(void)
{
	struct timeval	tv = { 0, REVOKE_POLL_MS * 1000 };

	revoke_seed_init();
	revoke_known_now = 0;
	revoke_timer = event_new(server_base, -1, EV_PERSIST, revoke_tick,
	    NULL);
	if (revoke_timer == NULL)
		fatalx("event=start_failed reason=revoke_timer");
	evtimer_add(revoke_timer, &tv);
	revoke_running = 1;
	redis_on_change(revoke_redis_change);
	if (redis_is_up())
		revoke_redis_change(1);
	return (0);
}

/* Stop following revocations and forget the mirror. */
void
revoke_stop(void)
{
	revoke_running = 0;
	revoke_sub_close();
	if (revoke_timer != NULL) {
		event_free(revoke_timer);
		revoke_timer = NULL;
	}
	revoke_refreshing = 0;
	revoke_polling = 0;
	revoke_healing = 0;
	revoke_failing = 0;
	revoke_last_card = -1;
	revoke_epoch[0] = '\0';
	revoke_set_clear(&revoke_set);
	memset(revoke_recent, 0, sizeof revoke_recent);
}

/*
 * Return 1 once the mirror holds a full read of peerd:revoked (one
 * SMEMBERS answer applied since revoke_start), else 0: until then a
 * revoked id may be missing from it.
 */
int
revoke_known(void)
{
	return (revoke_known_now);
}

/*
 * Treat the mirror as a full copy without reading Redis.  For programs
 * that have no Redis and fill the mirror with revoke_add themselves (unit
 * tests, fuzzers); peerd never calls it.
 */
void
revoke_assume_known(void)
{
	revoke_known_now = 1;
}

/* Return whether id is revoked (the local mirror; never waits). */
int
revoke_is_revoked(const char *id)
{
	return (id != NULL && revoke_set_has(&revoke_set, id));
}
