/*
 * presence.c -- supporter presence records in Redis.
 *
 * This node keeps the truth in memory (one record per supporter connected
 * here) and Redis gets a copy, so nothing ever waits on Redis:
 *
 *   presence_set/remove --> table, record marked dirty --> flush timer
 *     (PRESENCE_FLUSH_MS: changes in between coalesce) --> one pipeline
 *
 * The records of one flush are written as one transaction (at most
 * PRESENCE_BATCH records): MULTI, SADD peerd:node:<node> <id>..., EXPIRE of
 * the node set, then per record HSET peerd:presence:<id> node status load
 * capacity updated and its EXPIRE, EXEC: a link lost half-way applies
 * nothing, so no record is ever left without its expiry.  A record is removed with a script that deletes
 * the hash only while its node field is ours (the supporter may have moved
 * to another node since) and takes the id out of our node set.
 *
 * A heartbeat rewrites every record once each presence_ttl/3 seconds,
 * which refreshes the expiries and restores records Redis lost.  It is
 * spread over that interval: each PRESENCE_BEAT_TICK it rewrites the
 * records of the next slice of the table's chains, so Redis never gets
 * them all in one burst.  A record written in the last half interval (a
 * change) is left for the next round: its expiry is still at least
 * presence_ttl - interval/2 away, and the next round comes within one
 * interval and a tick, well inside that for every presence_ttl >= 5.  When Redis comes
 * (back) up, every record is republished and the ids our node set lists
 * that we do not hold (a crash, removals while Redis was away) are deleted
 * the same careful way.  While Redis is down writes are dropped.
 *
 * Redis holds no display names and no tags: only opaque ids, the node,
 * status, load, capacity and the time of the last change.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "credential.h"
#include "peerd.h"

#define PRESENCE_FLUSH_MS	50	/* ms changes coalesce before a write */
#define PRESENCE_BUCKETS	1024	/* hash chains in the table */
#define PRESENCE_BEAT_TICK	1	/* seconds between heartbeat slices */
#define PRESENCE_BATCH		256	/* records in one MULTI...EXEC */
#define PRESENCE_STALE_MAX	100000	/* ids read back from our node set */
#define PRESENCE_KEY		"peerd:presence:"  /* + id: hash */
#define PRESENCE_NODE_KEY	"peerd:node:"	   /* + node id: set */
#define PRESENCE_RESP_MAX	512	/* bytes, one record's HSET in RESP:
					   ids <= CRED_ID_MAX, node_id <= 64 */

/*
 * Delete a presence hash only if this node wrote it, and forget the id in
 * this node's set.  KEYS: presence key, node set; ARGV: node id, id.
 */
#define PRESENCE_DEL_SCRIPT \
	"if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then " \
	"redis.call('DEL', KEYS[1]) end " \
	"redis.call('SREM', KEYS[2], ARGV[2]) return 0"

struct presence {
	char				 id[CRED_ID_MAX + 1];
	Peerd__V1__SupporterStatus	 status;
	u_int				 load;
	u_int				 capacity;
	long long			 updated;	/* unix s, last change */
	time_t				 sent;		/* monotonic s, last
							   written, or 0 */
	int				 flags;
#define PRESENCE_F_DIRTY	0x1	/* on the dirty list */
#define PRESENCE_F_GONE		0x2	/* removed: delete, then free */
	LIST_ENTRY(presence)		 chain;
	TAILQ_ENTRY(presence)		 dirty;
};
LIST_HEAD(presence_chain, presence);
TAILQ_HEAD(presence_dirty, presence);

static struct presence_chain	 presence_table[PRESENCE_BUCKETS];
static struct presence_dirty	 presence_dirty =
    TAILQ_HEAD_INITIALIZER(presence_dirty);
static u_int			 presence_count;	/* not gone */
static struct event		*presence_flush_ev;
static struct event		*presence_beat_ev;
static int			 presence_running;
static u_int			 presence_beat_next;	/* next chain */
static char			 presence_node_key[sizeof PRESENCE_NODE_KEY +
				    64];

static void	presence_flush(void);

/* Return the Redis text of a status. */
static const char *
presence_status_name(Peerd__V1__SupporterStatus status)
{
	switch (status) {
	case PEERD__V1__SUPPORTER_STATUS__AVAILABLE:
		return ("available");
	case PEERD__V1__SUPPORTER_STATUS__AWAY:
		return ("away");
	case PEERD__V1__SUPPORTER_STATUS__ON_BREAK:
		return ("on_break");
	default:
		return ("offline");
	}
}

/* Return the chain id belongs in. */
static struct presence_chain *
presence_chain_of(const char *id)
{
	uint32_t	h = 2166136261u;

	for (; *id != '\0'; id++) {
		h ^= (uint8_t)*id;
		h *= 16777619u;
	}
	return (&presence_table[h % PRESENCE_BUCKETS]);
}

/* Return the record of id, gone or not, or NULL. */
static struct presence *
presence_find(const char *id)
{
	struct presence	*p;

	LIST_FOREACH(p, presence_chain_of(id), chain)
		if (strcmp(p->id, id) == 0)
			return (p);
	return (NULL);
}

/* Queue p for the next flush. */
static void
presence_mark(struct presence *p)
{
	struct timeval	tv = { 0, PRESENCE_FLUSH_MS * 1000 };

	if (!(p->flags & PRESENCE_F_DIRTY)) {
		p->flags |= PRESENCE_F_DIRTY;
		TAILQ_INSERT_TAIL(&presence_dirty, p, dirty);
	}
	if (presence_flush_ev != NULL &&
	    !evtimer_pending(presence_flush_ev, NULL))
		evtimer_add(presence_flush_ev, &tv);
}

/* Free p (taken off the table and the dirty list). */
static void
presence_free(struct presence *p)
{
	if (p->flags & PRESENCE_F_DIRTY)
		TAILQ_REMOVE(&presence_dirty, p, dirty);
	LIST_REMOVE(p, chain);
	free(p);
}

/* Send the conditional delete of id's record (dropped if Redis is down). */
static void
presence_send_delete(const char *id)
{
	redis_command(NULL, NULL, "EVAL %s 2 " PRESENCE_KEY "%s %s %s %s",
	    PRESENCE_DEL_SCRIPT, id, presence_node_key, conf.node_id, id);
}

/*
 * One command in the Redis protocol, built in place.  hiredis's own
 * formatters cost ~20,000 instructions a command (its printf-like format
 * is parsed a character at a time) or ~5,500 (argument vectors); a
 * presence record is two commands, written on every availability change
 * and by the heartbeat, so records are formatted here (~1,000).
 */
struct presence_resp {
	char	buf[PRESENCE_RESP_MAX];
	size_t	len;
};

/*
 * Append len bytes (the callers' arguments are bounded: they fit), with a
 * NUL after them: hiredis reads the byte after a formatted command's first
 * argument to see if another follows, past the end for MULTI (valgrind).
 */
static void
presence_resp_put(struct presence_resp *r, const char *s, size_t len)
{
	if (len >= sizeof r->buf - r->len)
		fatalx("event=bug reason=presence_resp_overflow");
	memcpy(r->buf + r->len, s, len);
	r->len += len;
	r->buf[r->len] = '\0';
}

/* Append a decimal number followed by CRLF. */
static void
presence_resp_num(struct presence_resp *r, unsigned long long v)
{
	char	tmp[24];
	size_t	n = sizeof tmp;

	tmp[--n] = '\n';
	tmp[--n] = '\r';
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	presence_resp_put(r, tmp + n, sizeof tmp - n);
}

/* Start a command of argc arguments. */
static void
presence_resp_begin(struct presence_resp *r, u_int argc)
{
	r->len = 0;
	presence_resp_put(r, "*", 1);
	presence_resp_num(r, argc);
}

/* Append one argument of len bytes. */
static void
presence_resp_arg(struct presence_resp *r, const char *s, size_t len)
{
	presence_resp_put(r, "$", 1);
	presence_resp_num(r, len);
	presence_resp_put(r, s, len);
	presence_resp_put(r, "\r\n", 2);
}

/* Append a string argument. */
static void
presence_resp_str(struct presence_resp *r, const char *s)
{
	presence_resp_arg(r, s, strlen(s));
}

/* Append a number argument. */
static void
presence_resp_int(struct presence_resp *r, unsigned long long v)
{
	char	tmp[24];
	size_t	n = sizeof tmp;

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	presence_resp_arg(r, tmp + n, sizeof tmp - n);
}

/* Append the key of id's record. */
static void
presence_resp_key(struct presence_resp *r, const char *id)
{
	size_t	len = strlen(id);

	presence_resp_put(r, "$", 1);
	presence_resp_num(r, sizeof PRESENCE_KEY - 1 + len);
	presence_resp_put(r, PRESENCE_KEY, sizeof PRESENCE_KEY - 1);
	presence_resp_put(r, id, len);
	presence_resp_put(r, "\r\n", 2);
}

/* Send the command built in r. */
static void
presence_resp_send(struct presence_resp *r)
{
	(void)redis_command_formatted(NULL, NULL, r->buf, r->len);
}

/*
 * Send the n records of v as one transaction (dropped if Redis is down):
 * one SADD and EXPIRE of the node set for all of them, then each record
 * and its expiry.
 */
static void
presence_send(struct presence **v, u_int n)
{
	const char		*argv[2 + PRESENCE_BATCH];
	struct presence_resp	 r;
	time_t			 now = util_now();
	u_int			 i;

	presence_resp_begin(&r, 1);
	presence_resp_str(&r, "MULTI");
	if (n == 0 ||
	    redis_command_formatted(NULL, NULL, r.buf, r.len) != 0)
		return;
	argv[0] = "SADD";
	argv[1] = presence_node_key;
	for (i = 0; i < n; i++)
		argv[2 + i] = v[i]->id;
	(void)redis_command_argv(NULL, NULL, (int)(2 + n), argv, NULL);
	presence_resp_begin(&r, 3);
	presence_resp_str(&r, "EXPIRE");
	presence_resp_str(&r, presence_node_key);
	presence_resp_int(&r, conf.presence_ttl);
	presence_resp_send(&r);
	for (i = 0; i < n; i++) {
		presence_resp_begin(&r, 12);
		presence_resp_str(&r, "HSET");
		presence_resp_key(&r, v[i]->id);
		presence_resp_str(&r, "node");
		presence_resp_str(&r, conf.node_id);
		presence_resp_str(&r, "status");
		presence_resp_str(&r, presence_status_name(v[i]->status));
		presence_resp_str(&r, "load");
		presence_resp_int(&r, v[i]->load);
		presence_resp_str(&r, "capacity");
		presence_resp_int(&r, v[i]->capacity);
		presence_resp_str(&r, "updated");
		presence_resp_int(&r, (unsigned long long)v[i]->updated);
		presence_resp_send(&r);
		presence_resp_begin(&r, 3);
		presence_resp_str(&r, "EXPIRE");
		presence_resp_key(&r, v[i]->id);
		presence_resp_int(&r, conf.presence_ttl);
		presence_resp_send(&r);
		v[i]->sent = now;
	}
	presence_resp_begin(&r, 1);
	presence_resp_str(&r, "EXEC");
	presence_resp_send(&r);
}

/*
 * Write every dirty record (a pipeline: hiredis sends them together),
 * PRESENCE_BATCH records to a transaction.  A supporter changed several
 * times since the last flush is on the list once, with its latest state.
 */
static void
presence_flush(void)
{
	struct presence	*p, *batch[PRESENCE_BATCH];
	int		 up = redis_is_up();
	u_int		 n = 0, nb = 0;

	while ((p = TAILQ_FIRST(&presence_dirty)) != NULL) {
		TAILQ_REMOVE(&presence_dirty, p, dirty);
		p->flags &= ~PRESENCE_F_DIRTY;
		if (p->flags & PRESENCE_F_GONE) {
			if (up)
				presence_send_delete(p->id);
			presence_free(p);
		} else if (up) {
			batch[nb++] = p;
			if (nb == PRESENCE_BATCH) {
				presence_send(batch, nb);
				nb = 0;
			}
		}
		n++;
	}
	presence_send(batch, nb);
	if (n != 0)
		log_debug("event=presence_flush records=%u redis=%s", n,
		    up ? "up" : "down");
}

/* The flush timer. */
static void
presence_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	presence_flush();
}

/* Mark every live record dirty (to be rewritten). */
static void
presence_mark_all(void)
{
	struct presence	*p;
	u_int		 i;

	for (i = 0; i < PRESENCE_BUCKETS; i++)
		LIST_FOREACH(p, &presence_table[i], chain)
			if (!(p->flags & PRESENCE_F_GONE))
				presence_mark(p);
}

/* Return the seconds in which the heartbeat rewrites every record. */
static u_int
presence_beat_every(void)
{
	u_int	every = conf.presence_ttl / 3;

	return (every > PRESENCE_BEAT_TICK ? every : PRESENCE_BEAT_TICK);
}

/*
 * The heartbeat tick: rewrite the records of the next slice of chains
 * (every chain once per presence_beat_every), refreshing their expiry,
 * except those written in the last half interval.
 */
static void
presence_beat_cb(evutil_socket_t fd, short events, void *arg)
{
	struct presence	*p;
	u_int		 every = presence_beat_every(), per, i;
	time_t		 now = util_now(), recent = every / 2;

	(void)fd;
	(void)events;
	(void)arg;
	if (!redis_is_up())
		return;
	per = (PRESENCE_BUCKETS * PRESENCE_BEAT_TICK + every - 1) / every;
	for (i = 0; i < per; i++) {
		LIST_FOREACH(p, &presence_table[presence_beat_next], chain)
			if (!(p->flags & PRESENCE_F_GONE) &&
			    (p->sent == 0 || now - p->sent >= recent))
				presence_mark(p);
		presence_beat_next = (presence_beat_next + 1) %
		    PRESENCE_BUCKETS;
	}
	presence_flush();
}

/*
 * The members of our node set (untrusted: checked and bounded).  Delete
 * the records of ids we do not hold.
 */
static void
presence_stale_cb(struct redisAsyncContext *ac, void *r, void *arg)
{
	redisReply		*reply = r, *e;
	struct presence		*p;
	char			 id[CRED_ID_MAX + 1];
	size_t			 i, n;
	u_int			 stale = 0, bad = 0;

	(void)ac;
	(void)arg;
	if (reply == NULL || !presence_running)
		return;		/* link lost: done again on reconnect */
	if (reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("event=presence_stale_failed reason=\"reply type "
		    "%d\"", reply->type);
		return;
	}
	n = reply->elements;
	if (n > PRESENCE_STALE_MAX) {
		log_warnx("event=presence_stale_truncated members=%zu max=%d",
		    n, PRESENCE_STALE_MAX);
		n = PRESENCE_STALE_MAX;
	}
	for (i = 0; i < n; i++) {
		e = reply->element[i];
		if (e == NULL || e->type != REDIS_REPLY_STRING ||
		    e->len == 0 || e->len > CRED_ID_MAX) {
			bad++;
			continue;
		}
		memcpy(id, e->str, e->len);
		id[e->len] = '\0';
		if (!cred_id_valid(id)) {
			bad++;
			continue;
		}
		if ((p = presence_find(id)) != NULL &&
		    !(p->flags & PRESENCE_F_GONE))
			continue;
		presence_send_delete(id);
		stale++;
	}
	if (bad != 0)
		log_warnx("event=presence_stale_bad members=%u", bad);
	log_info("event=presence_synced node=%s records=%u stale=%u",
	    conf.node_id, presence_count, stale);
}

/* Redis went up or down: on up, republish everything and clear stale ids. */
static void
presence_redis_change(int up)
{
	if (!up || !presence_running)
		return;
	presence_mark_all();
	presence_flush();
	if (redis_command(presence_stale_cb, NULL, "SMEMBERS %s",
	    presence_node_key) != 0)
		log_warnx("event=presence_sync_failed reason=redis_down");
}

/* Start publishing presence: timers, and a sync whenever Redis comes up. */
int
presence_start(void)
{
	struct timeval	tv = { PRESENCE_BEAT_TICK, 0 };
	u_int		i;

	for (i = 0; i < PRESENCE_BUCKETS; i++)
		LIST_INIT(&presence_table[i]);
	snprintf(presence_node_key, sizeof presence_node_key, "%s%s",
	    PRESENCE_NODE_KEY, conf.node_id);
	presence_flush_ev = evtimer_new(server_base, presence_flush_cb, NULL);
	presence_beat_ev = event_new(server_base, -1, EV_PERSIST,
	    presence_beat_cb, NULL);
	if (presence_flush_ev == NULL || presence_beat_ev == NULL)
		fatalx("event=start_failed reason=presence_timers");
	evtimer_add(presence_beat_ev, &tv);
	presence_running = 1;
	redis_on_change(presence_redis_change);
	if (redis_is_up())
		presence_redis_change(1);
	return (0);
}

/*
 * Stop: delete every record this node published (best effort, written to
 * the socket at once: the loop is over) and forget the table.
 */
void
presence_stop(void)
{
	struct presence	*p;
	u_int		 i, n = 0;

	if (!presence_running)
		return;
	presence_running = 0;
	for (i = 0; i < PRESENCE_BUCKETS; i++) {
		while ((p = LIST_FIRST(&presence_table[i])) != NULL) {
			if (redis_is_up())
				presence_send_delete(p->id);
			presence_free(p);
			n++;
		}
	}
	redis_flush();
	presence_count = 0;
	event_free(presence_flush_ev);
	event_free(presence_beat_ev);
	presence_flush_ev = presence_beat_ev = NULL;
	log_info("event=presence_stopped records=%u", n);
}

/*
 * Record supporter id's presence (status, conversations held, capacity)
 * and publish it within PRESENCE_FLUSH_MS; never waits on Redis.  An
 * unchanged record is not rewritten.  An id that is not a credential id is
 * ignored (a bug upstream; logged).
 */
void
presence_set(const char *id, Peerd__V1__SupporterStatus status, u_int load,
    u_int capacity)
{
	struct presence	*p;

	if (!presence_running)
		return;
	if (id == NULL || !cred_id_valid(id)) {
		log_warnx("event=bug reason=presence_bad_id");
		return;
	}
	if ((p = presence_find(id)) == NULL) {
		p = xcalloc(1, sizeof *p);
		memcpy(p->id, id, strlen(id) + 1);
		LIST_INSERT_HEAD(presence_chain_of(id), p, chain);
		p->flags = PRESENCE_F_GONE;	/* counted below */
	}
	if (p->flags & PRESENCE_F_GONE) {
		p->flags &= ~PRESENCE_F_GONE;
		presence_count++;
	} else if (p->status == status && p->load == load &&
	    p->capacity == capacity)
		return;
	p->status = status;
	p->load = load;
	p->capacity = capacity;
	p->updated = (long long)time(NULL);
	presence_mark(p);
}

/*
 * Remove supporter id's record (within PRESENCE_FLUSH_MS; if Redis is down
 * now, when it comes back).  Unknown ids are ignored.
 */
void
presence_remove(const char *id)
{
	struct presence	*p;

	if (!presence_running || id == NULL ||
	    (p = presence_find(id)) == NULL || (p->flags & PRESENCE_F_GONE))
		return;
	p->flags |= PRESENCE_F_GONE;
	presence_count--;
	presence_mark(p);
}
