/*
 * conv.c -- conversations: sequence numbers, the relay, held messages,
 * Delivered, Typing, EndConversation, Report and PeerStatus, and the grace
 * window of a side that dropped.
 *
 * One sequence per conversation, shared by both directions, from 1.  A
 * ChatMessage is accepted (MessageAccepted{seq}) only once it is held; it
 * stays held until its receiver acknowledges it with a cumulative
 * Delivered, so a receiver that drops and resumes gets every message it
 * has not acknowledged, in order, exactly once.  Nothing on this path
 * touches Redis or the disk; the only allocation is the held copy of the
 * text, which is cleansed before it is freed.
 *
 * A side is attached (it has a connection) or dropped:
 *
 *	attached --conn gone--> dropped --grace--> conversation ends,
 *	    ^                      |               END_PEER_GONE to the other
 *	    +--Hello.resume--------+
 *
 * A revoked supporter's conversations end at once (END_REVOKED), and at
 * shutdown every conversation ends with END_SHUTDOWN.
 *
 * Backpressure: a relayed message is written to its receiver at once;
 * if that takes the receiver's output over CONN_OUTPUT_HIGH (throttled),
 * the sender's connection is blocked (not read) until the receiver drains
 * to CONN_OUTPUT_LOW (conv_drained looks at its senders again).  A sender
 * is also looked at again whenever a receiver of its leaves (conv_unlink),
 * so none stays blocked on a connection that is gone.  Held messages sent
 * in bulk (a resume) go out only as far as they fit under the mark; the
 * side is pending meanwhile, and later messages queue behind them.
 *
 * Log lines carry conversation ids and counts, never text, names or tags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "peerd.h"

/* A held message: accepted, not yet acknowledged by its receiver. */
struct conv_msg {
	uint64_t		 seq;
	int			 to;		/* receiver's side index */
	size_t			 len;
	TAILQ_ENTRY(conv_msg)	 entry;
	char			 text[];	/* len bytes and a NUL */
};

static struct conv_list	 conv_all = TAILQ_HEAD_INITIALIZER(conv_all);
static struct map	 conv_byid;
static u_int		 conv_n;

static void	conv_grace_expired(evutil_socket_t, short, void *);

/* Return how many conversations there are. */
u_int
conv_count(void)
{
	return (conv_n);
}

/* Name an end reason, for logs. */
static const char *
conv_reason_name(Peerd__V1__EndReason reason)
{
	switch (reason) {
	case PEERD__V1__END_REASON__END_BY_REQUESTER:
		return ("by_requester");
	case PEERD__V1__END_REASON__END_BY_SUPPORTER:
		return ("by_supporter");
	case PEERD__V1__END_REASON__END_REPORTED:
		return ("reported");
	case PEERD__V1__END_REASON__END_PEER_GONE:
		return ("peer_gone");
	case PEERD__V1__END_REASON__END_SHUTDOWN:
		return ("shutdown");
	case PEERD__V1__END_REASON__END_REVOKED:
		return ("revoked");
	default:
		return ("unknown");
	}
}

/* Return the side of the conversation opposite s. */
static struct conv_side *
conv_other(struct conv_side *s)
{
	return (&s->conv->side[1 - s->idx]);
}

/* Send env to a side if it is attached. */
static void
conv_push(struct conv_side *s, const Envelope *env)
{
	if (s->c != NULL)
		conn_send(s->c, env);
}

/* Send Matched (new or resumed) to an attached side. */
static void
conv_send_matched(struct conv_side *s, int resumed)
{
	Peerd__V1__Matched	 m = PEERD__V1__MATCHED__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	struct conv		*cv = s->conv;
	char			*shared[CONF_TAGS_MAX];

	m.conversation_id = cv->id;
	m.peer_name = s->idx == CONV_REQUESTER ? cv->sup->name : cv->pseudonym;
	m.n_shared = match_tag_names(&cv->shared, shared, CONF_TAGS_MAX);
	m.shared = shared;
	m.explanation = cv->explain;
	m.resume_token.data = s->token;
	m.resume_token.len = sizeof s->token;
	m.resumed = resumed;
	m.last_client_msg_id = s->last_client_msg_id;
	m.delivered_seq = conv_other(s)->delivered;
	env.body_case = BODY(MATCHED);
	env.matched = &m;
	conv_push(s, &env);
}

/*
 * Send ChatMessage m to attached side s; with fit, only if it fits under
 * CONN_OUTPUT_HIGH (conn_fits).  Returns 0, or -1 if it was not queued.
 */
static int
conv_send_msg(struct conv_side *s, const struct conv_msg *m, int fit)
{
	Peerd__V1__ChatMessage	 cm = PEERD__V1__CHAT_MESSAGE__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;

	cm.conversation_id = s->conv->id;
	cm.seq = m->seq;
	cm.text = (char *)m->text;
	env.body_case = BODY(CHAT_MESSAGE);
	env.chat_message = &cm;
	if (fit && !conn_fits(s->c, frame_size(&env)))
		return (-1);
	return (conn_send(s->c, &env));
}

/*
 * Send attached side s the held messages addressed to it above sent_seq,
 * in order, as far as they fit under CONN_OUTPUT_HIGH; the rest wait
 * (pending) for conv_drained.  A backlog (a resume) thus never passes
 * the high-water mark, let alone max_output, however much is held.
 */
static void
conv_flush(struct conv_side *s)
{
	struct conv_msg	*m;

	if (s->c == NULL || !s->pending)
		return;
	TAILQ_FOREACH(m, &s->conv->held, entry) {
		if (s->c->flags & CONN_F_THROTTLED)
			return;
		if (m->to != s->idx || m->seq <= s->sent_seq)
			continue;
		if (conv_send_msg(s, m, 1) != 0)
			return;
		s->sent_seq = m->seq;
	}
	s->pending = 0;
}

/*
 * Relay the new held message m from sender connection c to side o.  It
 * goes out at once (as what is read from one socket is written to the
 * other in a proxy), unless older messages still wait for o, then in
 * turn.  If o's output is now over CONN_OUTPUT_HIGH, c is not read until
 * it drains: each sender puts at most one message past the mark.
 */
static void
conv_relay(struct conn *c, struct conv_side *o, const struct conv_msg *m)
{
	if (o->c == NULL)
		return;
	if (o->pending)
		conv_flush(o);
	else if (conv_send_msg(o, m, 0) != 0)
		o->pending = 1;
	else
		o->sent_seq = m->seq;
	if (o->c != NULL && (o->c->flags & CONN_F_THROTTLED))
		conn_block(c, o->c);
}

/* Tell side s that the other side dropped or came back. */
static void
conv_send_status(struct conv_side *s, Peerd__V1__PeerState state)
{
	Peerd__V1__PeerStatus	 ps = PEERD__V1__PEER_STATUS__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;

	ps.conversation_id = s->conv->id;
	ps.state = state;
	env.body_case = BODY(PEER_STATUS);
	env.peer_status = &ps;
	conv_push(s, &env);
}

/* Send Delivered{seq} to side s (its messages up to seq were read). */
static void
conv_send_delivered(struct conv_side *s, uint64_t seq)
{
	Peerd__V1__Delivered	 d = PEERD__V1__DELIVERED__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;

	d.conversation_id = s->conv->id;
	d.seq = seq;
	env.body_case = BODY(DELIVERED);
	env.delivered = &d;
	conv_push(s, &env);
}

/* Free a held message, wiping its text first. */
static void
conv_msg_free(struct conv *cv, struct conv_msg *m)
{
	TAILQ_REMOVE(&cv->held, m, entry);
	cv->nheld--;
	cv->held_bytes -= m->len;
	OPENSSL_cleanse(m->text, m->len);
	free(m);
}

/*
 * Side s acknowledged everything addressed to it up to seq: release those
 * messages and tell the sender.  Does nothing unless seq moves forward.
 * A side cannot have read what was never sent to it (a backlog, or what
 * came while it was away): seq is capped at sent_seq, so a client that
 * acknowledges ahead loses nothing and its sender is told nothing false.
 */
static void
conv_ack(struct conv_side *s, uint64_t seq)
{
	struct conv	*cv = s->conv;
	struct conv_msg	*m, *next;

	if (seq > s->sent_seq)
		seq = s->sent_seq;
	if (seq <= s->delivered)
		return;
	s->delivered = seq;
	for (m = TAILQ_FIRST(&cv->held); m != NULL && m->seq <= seq;
	    m = next) {
		next = TAILQ_NEXT(m, entry);
		if (m->to == s->idx)
			conv_msg_free(cv, m);
	}
	conv_send_delivered(conv_other(s), seq);
}

/* Link side s to connection c. */
static void
conv_link(struct conv_side *s, struct conn *c)
{
	s->c = c;
	TAILQ_INSERT_TAIL(&c->convs, s, entry);
}

/*
 * Unlink side s from its connection.  Its connection and the other side's
 * may have been blocked by this conversation: look at them again.
 */
static void
conv_unlink(struct conv_side *s)
{
	struct conn	*c = s->c;

	if (c == NULL)
		return;
	TAILQ_REMOVE(&c->convs, s, entry);
	s->c = NULL;
	s->pending = 0;
	conn_unblock(c);
	conn_unblock(conv_other(s)->c);
}

/*
 * A conversation is ending: send attached side s what was accepted for it
 * and not yet sent (a backlog after a resume, or held while its output was
 * over the mark), ignoring CONN_OUTPUT_HIGH but never past max_output,
 * which would drop the connection and all of it.  Returns how many could
 * not be sent.
 */
static u_int
conv_flush_last(struct conv_side *s)
{
	struct conv_msg	*m;
	u_int		 left = 0;

	if (s->c == NULL || !s->pending)
		return (0);
	TAILQ_FOREACH(m, &s->conv->held, entry) {
		if (m->to != s->idx || m->seq <= s->sent_seq)
			continue;
		if (left > 0 || conn_backlog(s->c) + m->len + 64 >
		    conf.max_output || conv_send_msg(s, m, 0) != 0) {
			left++;
			continue;
		}
		s->sent_seq = m->seq;
	}
	s->pending = 0;
	return (left);
}

/*
 * End a conversation: every attached side gets what was accepted for it
 * and is still unsent (not after a report or a revocation: those end
 * what was being said), then EndConversation{reason}; the held messages
 * are wiped, the supporter's slot is freed.  A requester still there
 * after END_PEER_GONE keeps its enqueue time.
 */
static void
conv_end(struct conv *cv, Peerd__V1__EndReason reason)
{
	Peerd__V1__EndConversation	 ec = PEERD__V1__END_CONVERSATION__INIT;
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;
	struct conv_side		*s;
	struct conv_msg			*m;
	u_int				 unsent = 0;
	int				 i;

	if (reason != PEERD__V1__END_REASON__END_REPORTED &&
	    reason != PEERD__V1__END_REASON__END_REVOKED)
		for (i = 0; i < 2; i++)
			unsent += conv_flush_last(&cv->side[i]);
	log_info("event=conv_ended conv=%llu reason=%s seq=%llu held=%u "
	    "unsent=%u", (unsigned long long)cv->id,
	    conv_reason_name(reason), (unsigned long long)cv->seq, cv->nheld,
	    unsent);
	for (i = 0; i < 2; i++) {
		s = &cv->side[i];
		ec.conversation_id = cv->id;
		ec.reason = reason;
		ec.requeue = 0;
		if (s->c != NULL && i == CONV_REQUESTER &&
		    (reason == PEERD__V1__END_REASON__END_PEER_GONE ||
		    reason == PEERD__V1__END_REASON__END_REVOKED)) {
			ec.requeue = 1;
			s->c->requeue_ms = cv->enq_ms;
		}
		env.body_case = BODY(END_CONVERSATION);
		env.end_conversation = &ec;
		conv_push(s, &env);
		conv_unlink(s);
		event_free(s->grace);
		resume_revoke(s);
		OPENSSL_cleanse(s->token, sizeof s->token);
	}
	while ((m = TAILQ_FIRST(&cv->held)) != NULL)
		conv_msg_free(cv, m);
	map_remove(&conv_byid, cv->id);
	TAILQ_REMOVE(&conv_all, cv, entry);
	conv_n--;
	supporter_conv_ended(cv->sup);
	free(cv->explain);
	free(cv);
	match_run();
}

/*
 * Start a conversation between requester rc and supporter s from an
 * accepted proposal; both get Matched.  enq_ms is the request's enqueue
 * time, kept for a requeue after END_PEER_GONE.
 */
void
conv_start(struct conn *rc, struct supporter *s,
    const struct matcher_proposal *p, uint64_t enq_ms)
{
	struct conv	*cv;
	uint16_t	 r;
	int		 i;

	cv = xcalloc(1, sizeof *cv);
	cv->id = map_new_key(&conv_byid);
	cv->sup = s;
	cv->rkey = rc->rkey;
	cv->enq_ms = enq_ms;
	cv->shared = p->shared;
	cv->explain = xstrdup(p->explain);
	util_random(&r, sizeof r);
	snprintf(cv->pseudonym, sizeof cv->pseudonym, "guest-%04x", r);
	TAILQ_INIT(&cv->held);
	for (i = 0; i < 2; i++) {
		cv->side[i].conv = cv;
		cv->side[i].idx = i;
		cv->side[i].grace = evtimer_new(server_base,
		    conv_grace_expired, &cv->side[i]);
		resume_issue(&cv->side[i]);
	}
	map_put(&conv_byid, cv->id, cv);
	TAILQ_INSERT_TAIL(&conv_all, cv, entry);
	conv_n++;
	conv_link(&cv->side[CONV_REQUESTER], rc);
	conv_link(&cv->side[CONV_SUPPORTER], s->conn);
	supporter_conv_started(s);
	stats.matches++;
	log_info("conn=%llu event=matched conv=%llu supporter_conn=%llu "
	    "decided_by=%s relaxed=%d", (unsigned long long)rc->id,
	    (unsigned long long)cv->id, (unsigned long long)s->conn->id,
	    matcher_rule_name(p->decided_by), p->relaxed);
	conv_send_matched(&cv->side[CONV_REQUESTER], 0);
	conv_send_matched(&cv->side[CONV_SUPPORTER], 0);
}

/* Side s's grace window passed without a resume: the conversation ends. */
static void
conv_grace_expired(evutil_socket_t fd, short events, void *arg)
{
	struct conv_side	*s = arg;

	(void)fd;
	(void)events;
	conv_end(s->conv, PEERD__V1__END_REASON__END_PEER_GONE);
}

/* Side s lost its connection: hold its messages for the grace window. */
static void
conv_drop(struct conv_side *s)
{
	struct timeval	 tv = { (time_t)conf.grace, 0 };
	struct conn	*c = s->c;

	conv_unlink(s);
	if (conf.grace == 0) {
		conv_end(s->conv, PEERD__V1__END_REASON__END_PEER_GONE);
		return;
	}
	log_info("conn=%llu event=peer_dropped conv=%llu side=%s",
	    (unsigned long long)c->id, (unsigned long long)s->conv->id,
	    s->idx == CONV_REQUESTER ? "requester" : "supporter");
	evtimer_add(s->grace, &tv);
	conv_send_status(conv_other(s),
	    PEERD__V1__PEER_STATE__PEER_RECONNECTING);
}

/*
 * Connection c is going: each of its conversations waits for it (grace),
 * or ends at once if its credential was revoked.
 */
void
conv_conn_gone(struct conn *c)
{
	struct conv_side	*s;

	while ((s = TAILQ_FIRST(&c->convs)) != NULL) {
		if (c->flags & CONN_F_REVOKED)
			conv_end(s->conv, PEERD__V1__END_REASON__END_REVOKED);
		else
			conv_drop(s);
	}
}

/*
 * Attach side s to connection c after a valid resume token: c gets
 * Matched{resumed}, then every message addressed to it above last_seq,
 * in order; the other side gets PeerStatus{PEER_RESUMED} if it had been
 * told of the drop.  last_seq also acknowledges what c says it already
 * has.  A live connection that held the side before (a requester's old
 * connection) is closed.
 */
void
conv_attach(struct conv_side *s, struct conn *c, uint64_t last_seq)
{
	struct conv	*cv = s->conv;
	struct conn	*old = s->c;

	conv_unlink(s);
	conv_link(s, c);
	evtimer_del(s->grace);
	if (s->idx == CONV_REQUESTER) {
		if (c->rkey == 0)
			c->rkey = cv->rkey;
		c->last_sup = cv->sup->nid;
	}
	stats.resumes++;
	log_info("conn=%llu event=resumed conv=%llu side=%s last_seq=%llu "
	    "seq=%llu", (unsigned long long)c->id, (unsigned long long)cv->id,
	    s->idx == CONV_REQUESTER ? "requester" : "supporter",
	    (unsigned long long)last_seq, (unsigned long long)cv->seq);
	conv_send_matched(s, 1);
	if (last_seq > s->sent_seq)
		last_seq = s->sent_seq;
	conv_ack(s, last_seq);
	s->sent_seq = last_seq;
	s->pending = 1;
	conv_flush(s);
	if (old == NULL)
		conv_send_status(conv_other(s),
		    PEERD__V1__PEER_STATE__PEER_RESUMED);
	if (old != NULL && old != c)
		conn_error(old, 0, ERR(SESSION_REPLACED), 1,
		    "this conversation was resumed on another connection");
}

/*
 * End at once (END_REVOKED) every conversation of supporter sup, whose
 * credential was revoked while its connection was gone.
 */
void
conv_end_supporter(struct supporter *sup)
{
	struct conv	*cv, *next;

	for (cv = TAILQ_FIRST(&conv_all); cv != NULL; cv = next) {
		next = TAILQ_NEXT(cv, entry);
		if (cv->sup == sup)
			conv_end(cv, PEERD__V1__END_REASON__END_REVOKED);
	}
}

/* Shutdown: end every conversation with END_SHUTDOWN. */
void
conv_shutdown_all(void)
{
	while (!TAILQ_EMPTY(&conv_all))
		conv_end(TAILQ_FIRST(&conv_all),
		    PEERD__V1__END_REASON__END_SHUTDOWN);
	map_clear(&conv_byid);
}

/* Return c's side of conversation id, or NULL after sending NOT_FOUND. */
static struct conv_side *
conv_find(struct conn *c, uint64_t reqid, uint64_t id)
{
	struct conv_side	*s;

	TAILQ_FOREACH(s, &c->convs, entry) {
		if (s->conv->id == id)
			return (s);
	}
	conn_error(c, reqid, ERR(NOT_FOUND), 0, "no such conversation");
	return (NULL);
}

/* Return the conversation id a conversation message names, or 0. */
static uint64_t
conv_id_of(const Envelope *env)
{
	switch (env->body_case) {
	case BODY(CHAT_MESSAGE):
		return (env->chat_message->conversation_id);
	case BODY(DELIVERED):
		return (env->delivered->conversation_id);
	case BODY(TYPING):
		return (env->typing->conversation_id);
	case BODY(END_CONVERSATION):
		return (env->end_conversation->conversation_id);
	case BODY(REPORT):
		return (env->report->conversation_id);
	default:
		return (0);
	}
}

/* Check any conversation message: a body naming a conversation. */
const char *
conv_check(struct conn *c, const Envelope *env)
{
	(void)c;
	if (env->chat_message == NULL)	/* the oneof's one pointer */
		return ("missing body");
	if (conv_id_of(env) == 0)
		return ("conversation_id missing");
	if (env->body_case == BODY(CHAT_MESSAGE) &&
	    env->chat_message->client_msg_id == 0)
		return ("client_msg_id must be nonzero");
	if (env->body_case == BODY(REPORT) &&
	    (strlen(env->report->reason) > CONV_REASON_MAX ||
	    !util_utf8_valid(env->report->reason,
	    strlen(env->report->reason))))
		return ("reason must be UTF-8 of at most 64 bytes");
	return (NULL);
}

/* Send MessageAccepted answering id. */
static void
conv_accepted(struct conn *c, uint64_t id, uint64_t conv_id,
    uint64_t client_msg_id, uint64_t seq)
{
	Peerd__V1__MessageAccepted	 ma = PEERD__V1__MESSAGE_ACCEPTED__INIT;
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;

	ma.conversation_id = conv_id;
	ma.client_msg_id = client_msg_id;
	ma.seq = seq;
	env.id = id;
	env.body_case = BODY(MESSAGE_ACCEPTED);
	env.message_accepted = &ma;
	conn_send(c, &env);
}

/*
 * Return 1 if c is over its chat rate: chat_rate messages a second, with
 * bursts of chat_burst (GCRA: each message moves a theoretical arrival
 * time one interval on; it may run at most chat_burst intervals ahead of
 * the clock).  Otherwise count this message and return 0.
 */
static int
conv_rate_limited(struct conn *c)
{
	uint64_t	now = util_now_ms(), interval, tat;

	interval = 1000 / conf.chat_rate;
	tat = c->chat_tat > now ? c->chat_tat : now;
	if (tat + interval - now > (uint64_t)conf.chat_burst * interval)
		return (1);
	c->chat_tat = tat + interval;
	return (0);
}

/*
 * ChatMessage: validate, stamp the next seq, hold, answer MessageAccepted,
 * relay if the other side is attached.  A client_msg_id not above the
 * last accepted is a retransmission: MessageAccepted{seq=0}, no relay.
 */
static void
conv_chat_accept(struct conn *c, const Envelope *env)
{
	const Peerd__V1__ChatMessage	*cm = env->chat_message;
	struct conv_side		*s, *o;
	struct conv			*cv;
	struct conv_msg			*m;
	size_t				 len = strlen(cm->text);

	if ((s = conv_find(c, env->id, cm->conversation_id)) == NULL)
		return;
	cv = s->conv;
	o = conv_other(s);
	if (len > conf.max_text || !util_utf8_valid(cm->text, len)) {
		conn_error(c, env->id, ERR(TEXT_TOO_LONG), 0, "text must be "
		    "UTF-8 of at most %u bytes", conf.max_text);
		return;
	}
	if (cm->client_msg_id <= s->last_client_msg_id) {
		conv_accepted(c, env->id, cv->id, cm->client_msg_id, 0);
		return;
	}
	if (conv_rate_limited(c)) {
		conn_error(c, env->id, ERR(RATE_LIMITED), 0, "more than %u "
		    "messages a second; slow down", conf.chat_rate);
		return;
	}
	if (cv->nheld >= conf.max_held_messages ||
	    (cv->nheld > 0 && cv->held_bytes + len > conf.max_held_bytes)) {
		stats.held_refused++;
		conn_error(c, env->id, ERR(RATE_LIMITED), 0, "%u messages are "
		    "waiting for the other side; try again later", cv->nheld);
		return;
	}
	m = xmalloc(sizeof *m + len + 1);
	m->seq = ++cv->seq;
	m->to = o->idx;
	m->len = len;
	memcpy(m->text, cm->text, len + 1);
	TAILQ_INSERT_TAIL(&cv->held, m, entry);
	cv->nheld++;
	cv->held_bytes += len;
	o->to_seq = m->seq;
	s->last_client_msg_id = cm->client_msg_id;
	stats.messages_relayed++;

	conv_accepted(c, env->id, cv->id, cm->client_msg_id, m->seq);
	conv_relay(c, o, m);
}

/* ChatMessage: handle it, then wipe the unpacked text before it is freed. */
void
conv_chat(struct conn *c, const Envelope *env)
{
	char	*text = env->chat_message->text;

	conv_chat_accept(c, env);
	OPENSSL_cleanse(text, strlen(text));
}

/* Delivered: release what the receiver has; tell the sender. */
void
conv_delivered(struct conn *c, const Envelope *env)
{
	struct conv_side	*s;

	if ((s = conv_find(c, env->id, env->delivered->conversation_id)) ==
	    NULL)
		return;
	conv_ack(s, env->delivered->seq);
}

/*
 * Typing: forward to the other side, unless its output is backed up: a
 * typing flag is worth nothing late, and nothing else bounds how many a
 * sender may send into a connection that is not reading.
 */
void
conv_typing(struct conn *c, const Envelope *env)
{
	Peerd__V1__Typing	 t = PEERD__V1__TYPING__INIT;
	Envelope		 out = PEERD__V1__ENVELOPE__INIT;
	struct conv_side	*s, *o;

	if ((s = conv_find(c, env->id, env->typing->conversation_id)) == NULL)
		return;
	o = conv_other(s);
	if (o->c == NULL || conn_backlog(o->c) > CONN_OUTPUT_LOW)
		return;
	t.conversation_id = s->conv->id;
	t.typing = env->typing->typing;
	out.body_case = BODY(TYPING);
	out.typing = &t;
	conv_push(o, &out);
}

/*
 * EndConversation: Ok, then both sides get EndConversation{BY_...}.  A
 * requester whose supporter has dropped may ask (requeue) to go back to
 * its original place in the queue rather than wait out the grace window.
 */
void
conv_end_request(struct conn *c, const Envelope *env)
{
	struct conv_side	*s;

	if ((s = conv_find(c, env->id,
	    env->end_conversation->conversation_id)) == NULL)
		return;
	conn_ok(c, env->id);
	if (s->idx == CONV_REQUESTER && env->end_conversation->requeue &&
	    conv_other(s)->c == NULL)
		c->requeue_ms = s->conv->enq_ms;
	conv_end(s->conv, s->idx == CONV_REQUESTER ?
	    PEERD__V1__END_REASON__END_BY_REQUESTER :
	    PEERD__V1__END_REASON__END_BY_SUPPORTER);
}

/*
 * Report: Ok, the pair is blocked for good (across visits for a requester
 * with a key), counted, and the conversation ends END_REPORTED.  The
 * reason is checked and dropped: it is never stored beside an id.
 */
void
conv_report(struct conn *c, const Envelope *env)
{
	struct conv_side	*s, *rs;
	struct conv		*cv;

	if ((s = conv_find(c, env->id, env->report->conversation_id)) == NULL)
		return;
	cv = s->conv;
	conn_ok(c, env->id);
	stats.reports++;
	if (matcher_block(match_matcher, cv->rkey, cv->sup->nid) != MATCHER_OK)
		log_warnx("event=matcher_failed call=block");
	match_forget(cv->rkey, cv->sup->nid);
	rs = &cv->side[CONV_REQUESTER];
	if (rs->c != NULL && rs->c->last_sup == cv->sup->nid)
		rs->c->last_sup = 0;
	log_info("conn=%llu event=reported conv=%llu by=%s",
	    (unsigned long long)c->id, (unsigned long long)cv->id,
	    s->idx == CONV_REQUESTER ? "requester" : "supporter");
	conv_end(cv, PEERD__V1__END_REASON__END_REPORTED);
}

/* Return 1 if a receiver of c's messages is throttled, else 0. */
int
conv_receiver_full(struct conn *c)
{
	struct conv_side	*s;
	struct conn		*rc;

	TAILQ_FOREACH(s, &c->convs, entry) {
		rc = conv_other(s)->c;
		if (rc != NULL && (rc->flags & CONN_F_THROTTLED))
			return (1);
	}
	return (0);
}

/*
 * Connection c's output drained after a throttle: send it what waited,
 * then let the senders blocked on it go (unless it filled up again).
 */
void
conv_drained(struct conn *c)
{
	struct conv_side	*s;

	TAILQ_FOREACH(s, &c->convs, entry)
		conv_flush(s);
	TAILQ_FOREACH(s, &c->convs, entry)
		conn_unblock(conv_other(s)->c);
}
