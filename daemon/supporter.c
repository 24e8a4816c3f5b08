/*
 * supporter.c -- the supporters known to this node: their vetted tags,
 * languages, status, capacity and load, kept in step with the matcher and
 * published to presence.
 *
 * A supporter is known by its credential id.  Its matcher id (nid) is a
 * hash of that id, so blocks and "previous supporter" memories survive a
 * reconnect.  Life of an entry:
 *
 *	Hello ------------------------> online, AWAY, capacity = credential's
 *	SetAvailability --------------> status, capacity changed
 *	conn drops, no conversations -> forgotten
 *	conn drops, conversations ----> dropped: out of the matcher (no
 *	                                offers), presence OFFLINE, status,
 *	                                capacity and last match remembered
 *	Hello again (dropped or live) > online again with the remembered
 *	                                status, pushed as SetAvailability; a
 *	                                live older connection gets
 *	                                SESSION_REPLACED
 *	last conversation ends while dropped -> forgotten
 *
 * The matcher holds exactly the supporters with a connection.  Offers out
 * to a supporter that drops are withdrawn, not declined: the requesters
 * keep their places and may be offered it again once it is back.  Tag
 * names never appear in log lines here, only counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "peerd.h"

struct supporter_list	 supporters = TAILQ_HEAD_INITIALIZER(supporters);
static struct map	 supporter_bynid;

/* Map a wire status to the matcher's. */
static enum matcher_status
supporter_mstatus(Peerd__V1__SupporterStatus st)
{
	switch (st) {
	case PEERD__V1__SUPPORTER_STATUS__AVAILABLE:
		return (MATCHER_AVAILABLE);
	case PEERD__V1__SUPPORTER_STATUS__ON_BREAK:
		return (MATCHER_ON_BREAK);
	case PEERD__V1__SUPPORTER_STATUS__AWAY:
		return (MATCHER_AWAY);
	default:
		return (MATCHER_OFFLINE);
	}
}

/* Name a status, for logs. */
static const char *
supporter_status_name(Peerd__V1__SupporterStatus st)
{
	switch (st) {
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

/* Return a stable nonzero matcher id for a credential id (FNV-1a). */
static uint64_t
supporter_nid(const char *id)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *id != '\0'; id++) {
		h ^= (u_char)*id;
		h *= 0x100000001b3ULL;
	}
	return (h != 0 ? h : 1);
}

/* Return the supporter with this matcher id, or NULL. */
struct supporter *
supporter_find(uint64_t nid)
{
	return (map_get(&supporter_bynid, nid));
}

/* Publish s's presence as it stands. */
static void
supporter_publish(struct supporter *s)
{
	presence_set(s->id, s->conn != NULL ? s->status :
	    PEERD__V1__SUPPORTER_STATUS__OFFLINE, s->nconvs, s->capacity);
}

/* Tell s's connection its status and capacity (pushed, id 0). */
static void
supporter_push_status(struct supporter *s)
{
	Peerd__V1__SetAvailability	 sa = PEERD__V1__SET_AVAILABILITY__INIT;
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;

	if (s->conn == NULL)
		return;
	sa.status = s->status;
	sa.capacity = s->capacity;
	env.body_case = BODY(SET_AVAILABILITY);
	env.set_availability = &sa;
	conn_send(s->conn, &env);
}

/*
 * Put s into the matcher as it stands (while it has a connection).
 * Returns 0 or a matcher error.
 */
static int
supporter_matcher_add(struct supporter *s)
{
	struct matcher_supporter	ms;

	memset(&ms, 0, sizeof ms);
	ms.id = s->nid;
	ms.tags = s->tags;
	ms.langs = s->langs;
	ms.capacity = (uint16_t)s->capacity;
	ms.load = (uint16_t)s->nconvs;
	ms.status = supporter_mstatus(s->status);
	ms.last_match_ms = s->last_match_ms;
	return (matcher_supporter_add(match_matcher, &ms));
}

/*
 * Take s out of the matcher (its connection is gone).  Offers out to it
 * are withdrawn without counting as declines: those requesters keep
 * their places and may be offered s again when it is back.
 */
static void
supporter_matcher_remove(struct supporter *s)
{
	struct matcher_supporter	ms;

	if (matcher_supporter_get(match_matcher, s->nid, &ms) == MATCHER_OK)
		s->last_match_ms = ms.last_match_ms;
	match_supporter_gone(s);
	(void)matcher_supporter_remove(match_matcher, s->nid);
}

/* Forget s: out of the matcher, presence and the registry. */
static void
supporter_free(struct supporter *s)
{
	if (s->conn != NULL)
		supporter_matcher_remove(s);
	presence_remove(s->id);
	map_remove(&supporter_bynid, s->nid);
	TAILQ_REMOVE(&supporters, s, entry);
	free(s);
	position_invalidate();
}

/* Read a credential's tags and languages into matcher sets. */
static void
supporter_from_cred(const struct cred_info *ci, struct matcher_tags *tags,
    uint64_t *langs, u_int *unknown)
{
	size_t	i;
	int	t, l;

	memset(tags, 0, sizeof *tags);
	*langs = 0;
	*unknown = 0;
	for (i = 0; i < ci->ntags; i++) {
		if ((t = match_tag_index(ci->tags[i])) < 0)
			(*unknown)++;
		else
			tags->w[t / 64] |= 1ULL << (t % 64);
	}
	for (i = 0; i < ci->nlanguages; i++) {
		if ((l = match_lang_index(ci->languages[i])) >= 0)
			*langs |= 1ULL << l;
	}
	if (*langs == 0 && ci->nlanguages > 0)
		log_warnx("event=languages_full max=%d reason=\"none of a "
		    "credential's languages fits the table: the default is "
		    "used\"", MATCHER_LANGS_MAX);
	if (*langs == 0 && (l = match_lang_index(conf.default_language)) >= 0)
		*langs |= 1ULL << l;
}

/*
 * A supporter's Hello was accepted (Welcome sent): register it, or take
 * over the entry of its older connection or of its dropped session.
 */
void
supporter_hello(struct conn *c)
{
	const struct cred_info	*ci;
	struct supporter	*s;
	struct conn		*old;
	struct matcher_tags	 tags;
	uint64_t		 langs, nid;
	u_int			 unknown, cap;
	int			 restored = 0, rc;

	if ((ci = auth_cred(c)) == NULL) {
		conn_error(c, 0, ERR(INTERNAL), 1, "no credential");
		return;
	}
	supporter_from_cred(ci, &tags, &langs, &unknown);
	cap = ci->capacity > 0 ? ci->capacity : 1;
	nid = supporter_nid(ci->id);
	if ((s = supporter_find(nid)) != NULL && strcmp(s->id, ci->id) != 0) {
		log_warnx("conn=%llu event=supporter_refused reason=nid_clash",
		    (unsigned long long)c->id);
		conn_error(c, 0, ERR(INTERNAL), 1, "cannot register");
		return;
	}
	if (s != NULL && (old = s->conn) != NULL) {
		/* Detach the old connection first: it must not free s. */
		supporter_matcher_remove(s);
		old->supporter = NULL;
		s->conn = NULL;
		log_info("conn=%llu event=session_replaced by=%llu",
		    (unsigned long long)old->id, (unsigned long long)c->id);
		conn_error(old, 0, ERR(SESSION_REPLACED), 1,
		    "this supporter connected again elsewhere");
		/* Its conversations may have ended (grace 0): look again. */
		s = supporter_find(nid);
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->nid = nid;
		snprintf(s->id, sizeof s->id, "%s", ci->id);
		s->status = PEERD__V1__SUPPORTER_STATUS__AWAY;
		s->capacity = cap;
		TAILQ_INIT(&s->offers);
		map_put(&supporter_bynid, nid, s);
		TAILQ_INSERT_TAIL(&supporters, s, entry);
	} else {
		/* Back: a newer credential may say something else. */
		restored = 1;
		if (s->capacity > cap)
			s->capacity = cap;
	}
	snprintf(s->name, sizeof s->name, "%s", ci->name);
	s->max_capacity = cap;
	s->tags = tags;
	s->langs = langs;
	position_invalidate();
	if ((rc = supporter_matcher_add(s)) != MATCHER_OK) {
		log_warnx("conn=%llu event=matcher_failed call=add "
		    "reason=\"%s\"", (unsigned long long)c->id,
		    matcher_strerror(rc));
		if (s->nconvs == 0)
			supporter_free(s);	/* s->conn is NULL: not added */
		conn_error(c, 0, ERR(INTERNAL), 1, "cannot register");
		return;
	}
	s->conn = c;
	c->supporter = s;
	log_info("conn=%llu event=supporter_online status=%s capacity=%u "
	    "conversations=%u restored=%d unknown_tags=%u",
	    (unsigned long long)c->id, supporter_status_name(s->status),
	    s->capacity, s->nconvs, restored, unknown);
	supporter_publish(s);
	if (restored)
		supporter_push_status(s);
	match_run();
}

/* A supporter's connection is going: drop or forget its entry. */
void
supporter_conn_gone(struct conn *c)
{
	struct supporter	*s;

	if ((s = c->supporter) == NULL)
		return;
	c->supporter = NULL;
	if (s->nconvs == 0) {
		supporter_free(s);
	} else {
		supporter_matcher_remove(s);
		s->conn = NULL;
		supporter_publish(s);
		log_info("conn=%llu event=supporter_dropped conversations=%u",
		    (unsigned long long)c->id, s->nconvs);
	}
	match_run();
}

/* A conversation of s started (the matcher already counted it). */
void
supporter_conv_started(struct supporter *s)
{
	s->nconvs++;
	supporter_publish(s);
}

/* A conversation of s ended: free the slot; forget s if it has gone. */
void
supporter_conv_ended(struct supporter *s)
{
	if (s->nconvs > 0)
		s->nconvs--;
	if (s->conn != NULL &&
	    matcher_conversation_ended(match_matcher, s->nid) != MATCHER_OK)
		log_warnx("event=matcher_failed call=conversation_ended");
	if (s->conn == NULL && s->nconvs == 0)
		supporter_free(s);
	else
		supporter_publish(s);
}

/* An offer to s timed out: s becomes AWAY and is told so. */
void
supporter_offer_timed_out(struct supporter *s)
{
	if (s->status == PEERD__V1__SUPPORTER_STATUS__AWAY)
		return;
	s->status = PEERD__V1__SUPPORTER_STATUS__AWAY;
	if (s->conn != NULL)
		(void)matcher_supporter_set_status(match_matcher, s->nid,
		    MATCHER_AWAY);
	supporter_publish(s);
	supporter_push_status(s);
}

/* Count online supporters whose tags cover need and who speak a language. */
u_int
supporter_compatible(const struct matcher_tags *need, uint64_t langs)
{
	struct supporter	*s;
	u_int			 n = 0;

	TAILQ_FOREACH(s, &supporters, entry) {
		if (s->conn != NULL && (s->langs & langs) != 0 &&
		    (need->w[0] & ~s->tags.w[0]) == 0 &&
		    (need->w[1] & ~s->tags.w[1]) == 0)
			n++;
	}
	return (n);
}

/* Count online supporters by status. */
void
supporter_counts(u_int *available, u_int *away, u_int *on_break)
{
	struct supporter	*s;

	*available = *away = *on_break = 0;
	TAILQ_FOREACH(s, &supporters, entry) {
		if (s->conn == NULL)
			continue;
		if (s->status == PEERD__V1__SUPPORTER_STATUS__AVAILABLE)
			(*available)++;
		else if (s->status == PEERD__V1__SUPPORTER_STATUS__ON_BREAK)
			(*on_break)++;
		else
			(*away)++;
	}
}

/*
 * Once a second: a dropped supporter whose credential has been revoked
 * since loses its conversations now, not when the grace window ends (a
 * live one is ended by revoke.c through CONN_F_REVOKED).
 */
void
supporter_tick(void)
{
	struct supporter	*s, *next;

	for (s = TAILQ_FIRST(&supporters); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->conn != NULL || !revoke_is_revoked(s->id))
			continue;
		log_info("event=supporter_revoked conversations=%u", s->nconvs);
		/* The last conversation's end frees s. */
		conv_end_supporter(s);
	}
}

/* Forget every supporter (after the loop has ended). */
void
supporter_stop(void)
{
	while (!TAILQ_EMPTY(&supporters))
		supporter_free(TAILQ_FIRST(&supporters));
	map_clear(&supporter_bynid);
}

/* Check SetAvailability: a settable status, capacity within the credential. */
const char *
supporter_check_availability(struct conn *c, const Envelope *env)
{
	static char				 why[64];
	const Peerd__V1__SetAvailability	*sa = env->set_availability;

	if (sa == NULL)
		return ("missing body");
	if (sa->status != PEERD__V1__SUPPORTER_STATUS__AVAILABLE &&
	    sa->status != PEERD__V1__SUPPORTER_STATUS__AWAY &&
	    sa->status != PEERD__V1__SUPPORTER_STATUS__ON_BREAK)
		return ("status must be AVAILABLE, AWAY or ON_BREAK");
	if (c->supporter != NULL && sa->capacity > c->supporter->max_capacity) {
		snprintf(why, sizeof why, "capacity is over the credential's "
		    "maximum (%u)", c->supporter->max_capacity);
		return (why);
	}
	return (NULL);
}

/* SetAvailability: change status and capacity, answer Ok. */
void
supporter_set_availability(struct conn *c, const Envelope *env)
{
	const Peerd__V1__SetAvailability	*sa = env->set_availability;
	struct supporter			*s = c->supporter;

	if (s == NULL) {
		conn_error(c, env->id, ERR(BAD_STATE), 0, "not registered");
		return;
	}
	s->status = sa->status;
	if (sa->capacity != 0)
		s->capacity = sa->capacity;
	(void)matcher_supporter_set_capacity(match_matcher, s->nid,
	    (uint16_t)s->capacity);
	(void)matcher_supporter_set_status(match_matcher, s->nid,
	    supporter_mstatus(s->status));
	supporter_publish(s);
	/* Debug: supporters may change it many times a minute. */
	log_debug("conn=%llu event=availability status=%s capacity=%u",
	    (unsigned long long)c->id, supporter_status_name(s->status),
	    s->capacity);
	conn_ok(c, env->id);
	match_run();
}
