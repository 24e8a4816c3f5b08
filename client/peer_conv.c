/*
 * peer_conv.c -- conversations and offers: what we say and what we hear.
 *
 * Nothing we say is dropped.  A line goes into the conversation's outbox
 * with the next client_msg_id and stays there until peerd answers
 * MessageAccepted (peerd holds it from then on) or refuses it with an
 * Error (reported, never silently).  A requester's lines said before the
 * first match wait in p->unsent and join it; any other line with no open
 * conversation is refused, since words meant for one person must never
 * reach another.  When the
 * connection drops, every outbox entry is marked unsent; after the resume
 * (Matched{resumed}), entries at or below last_client_msg_id were accepted
 * before the drop and are let go, the rest are sent again in order with
 * their original ids (peerd answers a duplicate with seq 0).
 *
 * Messages we receive are acknowledged with Delivered as soon as the UI
 * has shown them; a seq at or below the last one seen is a duplicate and
 * is only acknowledged again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "peer.h"

static void	conv_flush(struct peer *, struct peer_conv *);
static void	conv_hold(struct peer *, struct peer_conv *, const char *);

/*
 * Remember the id of a Delivered or Typing: they get no reply, except
 * NOT_FOUND when the conversation ended just before they arrived, which is
 * no news to anyone and is not shown.
 */
static void
conv_quiet(struct peer *p, uint64_t id)
{
	if (id != 0)
		p->quiet[p->nquiet++ % PEER_QUIET_IDS] = id;
}

/* Return the conversation with this id, or NULL. */
struct peer_conv *
peer_conv_find(struct peer *p, uint64_t id)
{
	struct peer_conv	*c;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->id == id)
			return (c);
	}
	return (NULL);
}

/* Return how many conversations are open. */
int
peer_conv_count(struct peer *p)
{
	struct peer_conv	*c;
	int			 n = 0;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->state != PEER_CONV_ENDED)
			n++;
	}
	return (n);
}

/* Return whether every line said so far was accepted by peerd. */
int
peer_outbox_empty(struct peer *p)
{
	struct peer_conv	*c;

	if (!TAILQ_EMPTY(&p->unsent))
		return (0);
	TAILQ_FOREACH(c, &p->convs, entry) {
		if (!TAILQ_EMPTY(&c->outbox))
			return (0);
	}
	return (1);
}

/* Return whether the peers acknowledged all our accepted messages. */
int
peer_all_delivered(struct peer *p)
{
	struct peer_conv	*c;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->state != PEER_CONV_ENDED &&
		    c->delivered_seq < c->accepted_seq)
			return (0);
	}
	return (1);
}

/* Pick the newest open conversation as the current one. */
static void
conv_pick_current(struct peer *p)
{
	struct peer_conv	*c;

	p->current = NULL;
	TAILQ_FOREACH_REVERSE(c, &p->convs, peer_convs, entry) {
		if (c->state != PEER_CONV_ENDED) {
			p->current = c;
			return;
		}
	}
}

/* Free the messages of an outbox. */
static void
conv_outbox_free(struct peer_msgs *box)
{
	struct peer_msg	*m;

	while ((m = TAILQ_FIRST(box)) != NULL) {
		TAILQ_REMOVE(box, m, entry);
		explicit_bzero(m->text, m->len);
		free(m);
	}
}

/* Remove a conversation entirely (the UI's state must be gone). */
void
peer_conv_forget(struct peer *p, struct peer_conv *c)
{
	TAILQ_REMOVE(&p->convs, c, entry);
	if (p->current == c)
		conv_pick_current(p);
	conv_outbox_free(&c->outbox);
	free(c->shared);
	free(c->explanation);
	free(c->report_reason);
	explicit_bzero(c->token, sizeof c->token);
	free(c);
}

/*
 * Let go of the oldest ended conversations beyond PEER_ENDED_KEEP.  Called
 * only where no loop over the conversations is under way.
 */
void
peer_conv_gc(struct peer *p)
{
	struct peer_conv	*c, *next;
	int			 ended = 0;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->state == PEER_CONV_ENDED)
			ended++;
	}
	TAILQ_FOREACH_SAFE(c, &p->convs, entry, next) {
		if (ended <= PEER_ENDED_KEEP)
			break;
		if (c->state != PEER_CONV_ENDED)
			continue;
		p->ui->forget(p, c);
		peer_conv_forget(p, c);
		ended--;
	}
}

/*
 * Mark a conversation over and tell the UI why (an EndReason name, or
 * "resume_failed" / "connection_lost" when it ended on our side).
 */
void
peer_conv_end_local(struct peer *p, struct peer_conv *c, const char *reason)
{
	struct peer_msg	*m;
	char		 buf[128];
	size_t		 n = 0;

	if (c->state == PEER_CONV_ENDED)
		return;
	c->state = PEER_CONV_ENDED;
	c->peer_typing = 0;
	TAILQ_FOREACH(m, &c->outbox, entry)
		n++;
	if (n > 0) {
		snprintf(buf, sizeof buf, "conversation %llu ended before "
		    "peerd accepted %zu message%s", (unsigned long long)c->id,
		    n, n == 1 ? "" : "s");
		p->ui->notice(p, buf);
	}
	conv_outbox_free(&c->outbox);
	if (p->current == c)
		conv_pick_current(p);
	p->ui->ended(p, c, reason);
}

/* The connection dropped: everything in flight must be sent again. */
void
peer_conv_lost(struct peer *p, struct peer_conv *c)
{
	struct peer_msg	*m;

	(void)p;
	TAILQ_FOREACH(m, &c->outbox, entry)
		m->req = 0;
	c->end_req = 0;
	c->held_full = 0;
	c->peer_typing = 0;
}

void
peer_offer_free(struct peer *p, struct peer_offer *o)
{
	TAILQ_REMOVE(&p->offers, o, entry);
	free(o->shared);
	free(o->need);
	free(o->prefer);
	free(o->langs);
	free(o->explanation);
	free(o);
}

/* An Offer pushed to a supporter. */
void
peer_conv_offer(struct peer *p, Envelope *env)
{
	Peerd__V1__Offer	*m = env->offer;
	struct peer_offer	*o;

	if (m == NULL)
		return;
	o = peer_xcalloc(1, sizeof *o);
	o->id = m->offer_id;
	o->shared = peer_join(m->shared, m->n_shared);
	o->need = peer_join(m->need, m->n_need);
	o->prefer = peer_join(m->prefer, m->n_prefer);
	o->langs = peer_join(m->languages, m->n_languages);
	o->explanation = peer_xstrdup(m->explanation);
	o->urgent = m->urgent;
	o->returning = m->returning;
	o->waited_s = m->waited_s;
	o->expires_ms = peer_now_ms() + (int64_t)m->expires_s * 1000;
	TAILQ_INSERT_TAIL(&p->offers, o, entry);
	p->ui->offer(p, o);
	if (p->opts->auto_accept && o->req == 0)
		peer_answer_offer(p, o, 1);
}

/* Move lines said before any conversation into c, in order. */
static void
conv_adopt_unsent(struct peer *p, struct peer_conv *c)
{
	struct peer_msg	*m;

	while ((m = TAILQ_FIRST(&p->unsent)) != NULL) {
		TAILQ_REMOVE(&p->unsent, m, entry);
		m->cmid = c->next_cmid++;
		m->req = 0;
		TAILQ_INSERT_TAIL(&c->outbox, m, entry);
	}
}

/* A Matched: a new conversation, or one of ours resumed. */
void
peer_conv_matched(struct peer *p, Envelope *env)
{
	Peerd__V1__Matched	*m = env->matched;
	struct peer_conv	*c;
	struct peer_msg		*msg, *next;

	if (m == NULL)
		return;
	if (m->resumed) {
		if ((c = peer_conv_find(p, m->conversation_id)) == NULL ||
		    c->state == PEER_CONV_ENDED)
			return;
		c->state = PEER_CONV_ACTIVE;
		c->peer_away = 0;
		if (m->resume_token.len > 0 &&
		    m->resume_token.len <= sizeof c->token) {
			memcpy(c->token, m->resume_token.data,
			    m->resume_token.len);
			c->token_len = m->resume_token.len;
		}
		TAILQ_FOREACH_SAFE(msg, &c->outbox, entry, next) {
			if (msg->cmid > m->last_client_msg_id)
				continue;
			/* Accepted before the drop; its seq never reached us. */
			TAILQ_REMOVE(&c->outbox, msg, entry);
			free(msg);
		}
		p->ui->matched(p, c, 1);
		if (m->delivered_seq > c->delivered_seq) {
			c->delivered_seq = m->delivered_seq;
			if (c->delivered_seq > c->accepted_seq)
				c->accepted_seq = c->delivered_seq;
			p->ui->delivered(p, c, c->delivered_seq);
		}
		conv_flush(p, c);
		return;
	}
	if ((c = peer_conv_find(p, m->conversation_id)) != NULL)
		return;		/* a repeat; nothing new */
	c = peer_xcalloc(1, sizeof *c);
	c->id = m->conversation_id;
	c->number = ++p->nconv;
	c->state = PEER_CONV_ACTIVE;
	c->next_cmid = 1;
	TAILQ_INIT(&c->outbox);
	snprintf(c->peer_name, sizeof c->peer_name, "%s",
	    m->peer_name != NULL ? m->peer_name : "");
	c->shared = peer_join(m->shared, m->n_shared);
	c->explanation = peer_xstrdup(m->explanation);
	if (m->resume_token.len <= sizeof c->token) {
		memcpy(c->token, m->resume_token.data, m->resume_token.len);
		c->token_len = m->resume_token.len;
	}
	TAILQ_INSERT_TAIL(&p->convs, c, entry);
	p->current = c;
	if (p->opts->cmd == PEER_CMD_REQUEST) {
		p->want_peer = 0;
		p->queued = 0;
		p->request_req = 0;
	}
	conv_adopt_unsent(p, c);
	p->ui->matched(p, c, 0);
	conv_flush(p, c);
}

/* A ChatMessage from the peer: show it, then acknowledge it. */
void
peer_conv_message(struct peer *p, Envelope *env)
{
	Peerd__V1__ChatMessage	*m = env->chat_message;
	Peerd__V1__Delivered	 d = PEERD__V1__DELIVERED__INIT;
	Envelope		 out = PEERD__V1__ENVELOPE__INIT;
	struct peer_conv	*c;
	const char		*text;

	if (m == NULL || (c = peer_conv_find(p, m->conversation_id)) == NULL)
		return;
	if (m->seq > c->last_seq) {
		c->last_seq = m->seq;
		c->peer_typing = 0;
		text = m->text != NULL ? m->text : "";
		p->ui->message(p, c, m->seq, text, strlen(text));
	}
	d.conversation_id = c->id;
	d.seq = c->last_seq;
	out.body_case = PEERD__V1__ENVELOPE__BODY_DELIVERED;
	out.delivered = &d;
	conv_quiet(p, peer_send(p, &out));
}

/* MessageAccepted: peerd holds one of ours. */
void
peer_conv_accepted(struct peer *p, Envelope *env)
{
	Peerd__V1__MessageAccepted	*a = env->message_accepted;
	struct peer_conv		*c;
	struct peer_msg			*m;

	if (a == NULL || (c = peer_conv_find(p, a->conversation_id)) == NULL)
		return;
	TAILQ_FOREACH(m, &c->outbox, entry) {
		if (m->cmid == a->client_msg_id)
			break;
	}
	if (m == NULL)
		return;
	TAILQ_REMOVE(&c->outbox, m, entry);
	if (a->seq != 0) {
		if (a->seq > c->accepted_seq)
			c->accepted_seq = a->seq;
		p->ui->accepted(p, c, m, a->seq);
	}
	explicit_bzero(m->text, m->len);
	free(m);
	conv_flush(p, c);
}

/* Delivered: the peer has read ours up to seq. */
void
peer_conv_delivered(struct peer *p, Envelope *env)
{
	Peerd__V1__Delivered	*d = env->delivered;
	struct peer_conv	*c;

	if (d == NULL || (c = peer_conv_find(p, d->conversation_id)) == NULL)
		return;
	if (d->seq <= c->delivered_seq)
		return;
	c->delivered_seq = d->seq;
	p->ui->delivered(p, c, d->seq);
	if (c->held_full) {
		/* The peer caught up: peerd has room again. */
		c->held_full = 0;
		conv_flush(p, c);
	}
}

void
peer_conv_typing(struct peer *p, Envelope *env)
{
	Peerd__V1__Typing	*t = env->typing;
	struct peer_conv	*c;

	if (t == NULL || (c = peer_conv_find(p, t->conversation_id)) == NULL)
		return;
	c->peer_typing = t->typing;
	p->ui->typing(p, c, t->typing);
}

/* EndConversation pushed by peerd: it is over. */
void
peer_conv_ended(struct peer *p, Envelope *env)
{
	Peerd__V1__EndConversation	*e = env->end_conversation;
	struct peer_conv		*c;

	if (e == NULL || (c = peer_conv_find(p, e->conversation_id)) == NULL)
		return;
	peer_conv_end_local(p, c, peer_reason_name(e->reason));
}

void
peer_conv_peer_status(struct peer *p, Envelope *env)
{
	Peerd__V1__PeerStatus	*s = env->peer_status;
	struct peer_conv	*c;

	if (s == NULL || (c = peer_conv_find(p, s->conversation_id)) == NULL ||
	    c->state == PEER_CONV_ENDED)
		return;
	if (s->state == PEERD__V1__PEER_STATE__PEER_RECONNECTING)
		c->peer_away = 1;
	else if (s->state == PEERD__V1__PEER_STATE__PEER_RESUMED)
		c->peer_away = 0;
	else
		return;
	c->peer_typing = 0;
	p->ui->peer_status(p, c, s->state);
}

/* Return the reason our own End gives. */
static const char *
conv_my_reason(struct peer *p, struct peer_conv *c)
{
	if (c->report)
		return (peer_reason_name(PEERD__V1__END_REASON__END_REPORTED));
	return (peer_reason_name(p->opts->cmd == PEER_CMD_SUPPORT ?
	    PEERD__V1__END_REASON__END_BY_SUPPORTER :
	    PEERD__V1__END_REASON__END_BY_REQUESTER));
}

/* An Ok that may answer an End, a Report or an offer answer. */
int
peer_conv_ok(struct peer *p, uint64_t id)
{
	struct peer_conv	*c;
	struct peer_offer	*o;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->end_req == id && c->state != PEER_CONV_ENDED) {
			c->end_req = 0;
			peer_conv_end_local(p, c, conv_my_reason(p, c));
			return (1);
		}
	}
	TAILQ_FOREACH(o, &p->offers, entry) {
		if (o->req == id) {
			p->ui->offer_gone(p, o);
			peer_offer_free(p, o);
			return (1);
		}
	}
	return (0);
}

/* An Error that may answer a message, an End or an offer answer. */
int
peer_conv_error(struct peer *p, uint64_t id, int code, const char *name,
    const char *text)
{
	struct peer_conv	*c;
	struct peer_offer	*o;
	struct peer_msg		*m;
	size_t			 i;

	for (i = 0; i < PEER_QUIET_IDS; i++) {
		if (p->quiet[i] == id &&
		    code == PEERD__V1__ERROR_CODE__NOT_FOUND)
			return (1);
	}
	TAILQ_FOREACH(c, &p->convs, entry) {
		TAILQ_FOREACH(m, &c->outbox, entry) {
			if (m->req != id)
				continue;
			if (code == PEERD__V1__ERROR_CODE__RATE_LIMITED) {
				/*
				 * Not refused, only early: keep it, and send
				 * it again when the peer reads (Delivered) or
				 * after PEER_RETRY_MS, whichever comes first.
				 */
				m->req = 0;
				conv_hold(p, c, text);
				return (1);
			}
			TAILQ_REMOVE(&c->outbox, m, entry);
			p->ui->error(p, c, m, name, text);
			free(m);
			conv_flush(p, c);
			return (1);
		}
		if (c->end_req == id) {
			c->end_req = 0;
			p->ui->error(p, c, NULL, name, text);
			if (code == PEERD__V1__ERROR_CODE__NOT_FOUND)
				peer_conv_end_local(p, c, conv_my_reason(p, c));
			else
				c->ending = c->report = 0;
			return (1);
		}
	}
	TAILQ_FOREACH(o, &p->offers, entry) {
		if (o->req == id) {
			p->ui->error(p, NULL, NULL, name, text);
			p->ui->offer_gone(p, o);
			peer_offer_free(p, o);
			return (1);
		}
	}
	return (0);
}

/* RESUME_FAILED answers the first resume entry not yet answered. */
void
peer_conv_resume_failed(struct peer *p, const char *name, const char *text)
{
	struct peer_conv	*c;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->state == PEER_CONV_RESUMING) {
			p->ui->error(p, c, NULL, name, text);
			peer_conv_end_local(p, c, "resume_failed");
			return;
		}
	}
	p->ui->error(p, NULL, NULL, name, text);
}

/* peerd said RATE_LIMITED: c waits, and a retry is armed once. */
static void
conv_hold(struct peer *p, struct peer_conv *c, const char *why)
{
	struct timeval	 tv = { PEER_RETRY_MS / 1000,
			    (PEER_RETRY_MS % 1000) * 1000 };
	char		 line[256];

	c->held_full = 1;
	if (evtimer_pending(p->ev_retry, NULL))
		return;
	(void)snprintf(line, sizeof line, "peerd: %s; sending again shortly",
	    why != NULL && *why != '\0' ? why : "too many messages");
	p->ui->notice(p, line);
	evtimer_add(p->ev_retry, &tv);
}

/* The retry timer fired: every held conversation tries again. */
void
peer_conv_retry(struct peer *p)
{
	struct peer_conv	*c;

	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->held_full) {
			c->held_full = 0;
			conv_flush(p, c);
		}
	}
}

/*
 * Send what c has not sent on this connection: the next message, or once
 * every message is accepted, the End.  One message is in flight at a
 * time, so a refused one (RATE_LIMITED) can be sent again with its own
 * client_msg_id without a later one having overtaken it, and nothing is
 * ever reordered or taken for a retransmission.
 */
static void
conv_flush(struct peer *p, struct peer_conv *c)
{
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__ChatMessage		 cm = PEERD__V1__CHAT_MESSAGE__INIT;
	Peerd__V1__EndConversation	 end = PEERD__V1__END_CONVERSATION__INIT;
	Peerd__V1__Report		 rep = PEERD__V1__REPORT__INIT;
	struct peer_msg			*m;

	if (p->state != PEER_S_READY || c->state != PEER_CONV_ACTIVE)
		return;
	if ((m = TAILQ_FIRST(&c->outbox)) != NULL) {
		if (m->req != 0 || c->held_full)
			return;		/* one in flight, or peerd is full */
		cm.conversation_id = c->id;
		cm.client_msg_id = m->cmid;
		cm.text = m->text;
		env.body_case = PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE;
		env.chat_message = &cm;
		m->req = peer_send(p, &env);
		return;
	}
	if (!c->ending || c->end_req != 0)
		return;
	if (c->report) {
		rep.conversation_id = c->id;
		rep.reason = c->report_reason != NULL ? c->report_reason : "";
		env.body_case = PEERD__V1__ENVELOPE__BODY_REPORT;
		env.report = &rep;
	} else {
		end.conversation_id = c->id;
		env.body_case = PEERD__V1__ENVELOPE__BODY_END_CONVERSATION;
		env.end_conversation = &end;
	}
	c->end_req = peer_send(p, &env);
}

/*
 * Say text (len bytes, UTF-8) in c, or in the current conversation if c is
 * NULL; a requester's lines before the first match wait for it.  Returns
 * 0, or -1 (after telling the UI) if the text is too long, not UTF-8, or
 * there is no conversation to say it in.
 */
int
peer_say(struct peer *p, struct peer_conv *c, const char *text, size_t len)
{
	struct peer_msg	*m;
	char		 buf[128];

	if (!peer_utf8_valid(text, len) || memchr(text, '\0', len) != NULL) {
		p->ui->error(p, c, NULL, "TEXT_TOO_LONG",
		    "not sent: the text is not valid UTF-8");
		return (-1);
	}
	if (p->max_text != 0 && len > p->max_text) {
		snprintf(buf, sizeof buf, "not sent: %zu bytes is over the "
		    "limit of %u bytes", len, p->max_text);
		p->ui->error(p, c, NULL, "TEXT_TOO_LONG", buf);
		return (-1);
	}
	if (c == NULL)
		c = p->current;
	if ((c == NULL || c->state == PEER_CONV_ENDED) &&
	    (p->opts->cmd != PEER_CMD_REQUEST || p->nconv > 0)) {
		/*
		 * Only a requester's first words wait for a peer: a line meant
		 * for a conversation that ended must never reach a new person.
		 */
		p->ui->error(p, c, NULL, "NOT_FOUND",
		    "not sent: no conversation is open");
		return (-1);
	}
	m = peer_xcalloc(1, sizeof *m + len + 1);
	memcpy(m->text, text, len);
	m->len = len;
	if (c == NULL || c->state == PEER_CONV_ENDED) {
		TAILQ_INSERT_TAIL(&p->unsent, m, entry);
		return (0);
	}
	m->cmid = c->next_cmid++;
	TAILQ_INSERT_TAIL(&c->outbox, m, entry);
	conv_flush(p, c);
	return (0);
}

/* End c (after whatever was said in it). */
int
peer_end(struct peer *p, struct peer_conv *c)
{
	if (c == NULL || c->state == PEER_CONV_ENDED || c->ending)
		return (-1);
	c->ending = 1;
	conv_flush(p, c);
	return (0);
}

/* Report the peer in c: ends it and blocks the pair. */
int
peer_report(struct peer *p, struct peer_conv *c, const char *reason)
{
	if (c == NULL || c->state == PEER_CONV_ENDED || c->end_req != 0)
		return (-1);
	c->ending = 1;
	c->report = 1;
	free(c->report_reason);
	c->report_reason = peer_xstrdup(reason);
	conv_flush(p, c);
	return (0);
}

/* Accept (accept != 0) or decline an offer. */
int
peer_answer_offer(struct peer *p, struct peer_offer *o, int accept)
{
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__AcceptOffer		 a = PEERD__V1__ACCEPT_OFFER__INIT;
	Peerd__V1__DeclineOffer		 d = PEERD__V1__DECLINE_OFFER__INIT;

	if (o->req != 0)
		return (-1);
	if (accept) {
		a.offer_id = o->id;
		env.body_case = PEERD__V1__ENVELOPE__BODY_ACCEPT_OFFER;
		env.accept_offer = &a;
	} else {
		d.offer_id = o->id;
		env.body_case = PEERD__V1__ENVELOPE__BODY_DECLINE_OFFER;
		env.decline_offer = &d;
	}
	o->req = peer_send(p, &env);
	return (o->req != 0 ? 0 : -1);
}

/* Tell the peer in c whether we are typing. */
void
peer_typing(struct peer *p, struct peer_conv *c, int on)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Typing	t = PEERD__V1__TYPING__INIT;

	if (c == NULL || c->state != PEER_CONV_ACTIVE)
		return;
	t.conversation_id = c->id;
	t.typing = on;
	env.body_case = PEERD__V1__ENVELOPE__BODY_TYPING;
	env.typing = &t;
	conv_quiet(p, peer_send(p, &env));
}
