/*
 * peer_tty_events.c -- interactive mode: what the session reports, said
 * calmly on the screen.
 *
 * The words matter more than anywhere else in peer: the person reading
 * them may be in distress.  Say what happened, that nothing they wrote is
 * lost when that is true, and what they can do next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

/* Ring the terminal bell (a new offer, a new conversation). */
static void
tty_bell(void)
{
	(void)!write(STDOUT_FILENO, "\a", 1);
}

/* Return the view of c, making it on first use. */
static struct tty_view *
tty_conv_view(struct peer_conv *c)
{
	struct tty_view	*v;

	if (c->ui == NULL) {
		v = peer_xcalloc(1, sizeof *v);
		tty_view_init(v, c);
		c->ui = v;
	}
	return (c->ui);
}

static void
tty_ev_welcome(struct peer *p)
{
	const struct peer_opts	*o = p->opts;
	char			*need, *prefer;

	if (p->opts->cmd == PEER_CMD_SUPPORT) {
		tty_addf(&tty.lobby, "Signed in as %s. Your vetted tags: %s. "
		    "Up to %u conversation%s at once.", p->display_name,
		    p->vetted[0] != '\0' ? p->vetted : "none",
		    p->capacity != 0 ? p->capacity : p->max_capacity,
		    (p->capacity != 0 ? p->capacity : p->max_capacity) == 1 ?
		    "" : "s");
		tty_addf(&tty.lobby, "Offers will show here. /help lists "
		    "commands; /break when you need one.");
		return;
	}
	if (!p->want_peer || tty.waiting_since != 0)
		return;
	need = peer_join((char **)o->need.v, o->need.n);
	prefer = peer_join((char **)o->prefer.v, o->prefer.n);
	if (need[0] == '\0' && prefer[0] == '\0')
		tty_addf(&tty.lobby, "Connected. Looking for the first peer "
		    "supporter free.");
	else
		tty_addf(&tty.lobby, "Connected. Looking for a peer who "
		    "shares%s%s%s%s%s.", need[0] != '\0' ? " " : "", need,
		    need[0] != '\0' ? " (needed)" : "",
		    prefer[0] != '\0' ? need[0] != '\0' ? ", and if possible " :
		    " if possible " : "", prefer);
	tty_addf(&tty.lobby, "You can leave at any time with /quit. /help "
	    "lists commands.");
	free(need);
	free(prefer);
	tty.waiting_since = peer_now_ms();
}

static void
tty_ev_queued(struct peer *p, uint32_t position, uint32_t eta_s,
    int relaxed, uint32_t compatible)
{
	(void)p;
	if (tty.position == 0 && compatible == 0)
		tty_addf(&tty.lobby, "No peer supporter who fits is online "
		    "right now. You keep your place; we will connect you as "
		    "soon as one is.");
	if (relaxed && !tty.relaxed)
		tty_addf(&tty.lobby, "As you asked, you can now be matched "
		    "with a peer who does not share every tag.");
	tty.position = position;
	tty.eta_s = eta_s;
	tty.relaxed = relaxed;
	tty.compatible = compatible;
	if (tty.waiting_since == 0)
		tty.waiting_since = peer_now_ms();
	tty_dirty();
}

static void
tty_ev_offer(struct peer *p, struct peer_offer *o)
{
	(void)p;
	tty_addf(&tty.lobby, "Offer %llu%s%s: shares %s; needs %s; prefers "
	    "%s; languages %s; waited %u s.  /accept %llu or /decline %llu",
	    (unsigned long long)o->id, o->urgent ? " (urgent)" : "",
	    o->returning ? " (asked for you again)" : "",
	    o->shared[0] != '\0' ? o->shared : "no tags",
	    o->need[0] != '\0' ? o->need : "nothing",
	    o->prefer[0] != '\0' ? o->prefer : "nothing",
	    o->langs[0] != '\0' ? o->langs : "any", o->waited_s,
	    (unsigned long long)o->id, (unsigned long long)o->id);
	/* The offer's countdown matters more than an older notice. */
	tty.notice_until = 0;
	tty_bell();
}

static void
tty_ev_offer_gone(struct peer *p, struct peer_offer *o)
{
	(void)p;
	(void)o;
	tty_dirty();
}

static void
tty_ev_matched(struct peer *p, struct peer_conv *c, int resumed)
{
	struct tty_view	*v = tty_conv_view(c);

	if (resumed) {
		tty_addf(v, "Reconnected. The conversation goes on.");
		return;
	}
	if (c->shared[0] != '\0')
		tty_addf(v, "You are talking with %s. You share: %s.",
		    c->peer_name, c->shared);
	else
		tty_addf(v, "You are talking with %s. %s", c->peer_name,
		    p->opts->cmd == PEER_CMD_SUPPORT ? "They asked for the "
		    "first peer free." : "You asked for the first peer free.");
	if (p->opts->cmd == PEER_CMD_REQUEST)
		tty_addf(v, "Take your time. /end finishes the conversation; "
		    "/report if something is wrong.");
	tty.waiting_since = 0;
	tty.position = 0;
	if (tty.view == &tty.lobby || tty.view->conv == NULL ||
	    tty.view->conv->state == PEER_CONV_ENDED)
		tty.view = v;
	else
		tty_notice("New conversation %u with %s: Tab to switch.",
		    c->number, c->peer_name);
	v->unread = tty.view == v ? 0 : v->unread;
	tty_bell();
	tty_dirty();
}

static void
tty_ev_message(struct peer *p, struct peer_conv *c, uint64_t seq,
    const char *text, size_t len)
{
	struct tty_view	*v = tty_conv_view(c);

	(void)p;
	(void)seq;
	tty_add(v, TTY_PEER, text, len);
	if (v != tty.view)
		tty_notice("%s wrote in conversation %u: Tab to switch.",
		    c->peer_name, c->number);
}

static void
tty_ev_accepted(struct peer *p, struct peer_conv *c, struct peer_msg *m,
    uint64_t seq)
{
	struct tty_line	*l;

	(void)p;
	if (c->ui == NULL || (l = tty_find_cmid(c->ui, m->cmid)) == NULL)
		return;
	l->seq = seq;
	l->tick = seq <= c->delivered_seq ? TTY_TICK_READ : TTY_TICK_HELD;
	tty_dirty();
}

static void
tty_ev_delivered(struct peer *p, struct peer_conv *c, uint64_t seq)
{
	struct tty_view	*v = c->ui;
	struct tty_line	*l;

	(void)p;
	if (v == NULL)
		return;
	TAILQ_FOREACH(l, &v->lines, entry) {
		if (l->who == TTY_ME && l->tick == TTY_TICK_HELD &&
		    l->seq != 0 && l->seq <= seq)
			l->tick = TTY_TICK_READ;
	}
	tty_dirty();
}

static void
tty_ev_typing(struct peer *p, struct peer_conv *c, int on)
{
	(void)p;
	(void)c;
	if (on)
		tty.peer_typing_at = peer_now_ms();
	tty_dirty();
}

static void
tty_ev_peer_status(struct peer *p, struct peer_conv *c, int state)
{
	struct tty_view	*v = tty_conv_view(c);

	if (state == PEERD__V1__PEER_STATE__PEER_RECONNECTING)
		tty_addf(v, "%s's connection dropped. They have %u s to come "
		    "back; what you write waits for them.", c->peer_name,
		    p->grace_s);
	else
		tty_addf(v, "%s is back.", c->peer_name);
}

/* Return a kind sentence for why a conversation ended. */
static const char *
tty_why(struct peer *p, struct peer_conv *c, const char *reason, char *buf,
    size_t len)
{
	const char	*me = p->opts->cmd == PEER_CMD_SUPPORT ?
			    "by_supporter" : "by_requester";

	if (strcmp(reason, me) == 0)
		return ("You ended the conversation.");
	if (strcmp(reason, "by_requester") == 0 ||
	    strcmp(reason, "by_supporter") == 0)
		snprintf(buf, len, "%s ended the conversation.", c->peer_name);
	else if (strcmp(reason, "reported") == 0)
		snprintf(buf, len, "The conversation ended with a report. You "
		    "will not be matched with %s again.", c->peer_name);
	else if (strcmp(reason, "peer_gone") == 0)
		snprintf(buf, len, "%s could not come back in time, so the "
		    "conversation has ended.", c->peer_name);
	else if (strcmp(reason, "shutdown") == 0)
		snprintf(buf, len, "The service is restarting, so the "
		    "conversation has ended.");
	else if (strcmp(reason, "resume_failed") == 0 ||
	    strcmp(reason, "connection_lost") == 0)
		snprintf(buf, len, "Your connection was away too long, so the "
		    "conversation could not go on.");
	else
		snprintf(buf, len, "The conversation has ended.");
	return (buf);
}

static void
tty_ev_ended(struct peer *p, struct peer_conv *c, const char *reason)
{
	struct tty_view	*v = tty_conv_view(c);
	char		 buf[256];

	tty_addf(v, "%s", tty_why(p, c, reason, buf, sizeof buf));
	if (p->opts->cmd == PEER_CMD_REQUEST && !p->leaving)
		tty_addf(v, "Thank you for reaching out. /new to talk with "
		    "another peer%s, /quit to leave.", strcmp(reason,
		    "peer_gone") == 0 || strcmp(reason, "revoked") == 0 ?
		    " (you go back to the front of the queue)" : "");
	if (v != tty.view)
		tty_notice("Conversation %u with %s has ended.", c->number,
		    c->peer_name);
	if (c == tty.view->conv && tty.typing_sent)
		tty.typing_sent = 0;
}

/* Name the tags asked for that this server does not know. */
static void
tty_unknown_tags(struct peer *p)
{
	const struct peer_list	*lists[2] = { &p->opts->need, &p->opts->prefer };
	size_t			 i, j, k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < lists[k]->n; i++) {
			for (j = 0; j < p->ntags; j++) {
				if (strcmp(p->tags[j].name,
				    lists[k]->v[i]) == 0)
					break;
			}
			if (j == p->ntags)
				tty_addf(&tty.lobby, "This service has no tag "
				    "\"%s\".", lists[k]->v[i]);
		}
	}
}

static void
tty_ev_error(struct peer *p, struct peer_conv *c, struct peer_msg *m,
    const char *code, const char *text)
{
	struct tty_line	*l;

	snprintf(tty.last_notice, sizeof tty.last_notice, "%s (%s)", text,
	    code);
	if (c != NULL && m != NULL && c->ui != NULL &&
	    (l = tty_find_cmid(c->ui, m->cmid)) != NULL) {
		l->tick = TTY_TICK_FAILED;
		tty_notice("Not sent: %s", text);
		return;
	}
	if (c != NULL && m == NULL && strcmp(code, "TEXT_TOO_LONG") == 0) {
		tty_notice("%s", text);
		return;
	}
	if (p->request_failed) {
		tty_addf(&tty.lobby, "Your request was not taken: %s (%s).",
		    text, code);
		if (strcmp(code, "UNKNOWN_TAG") == 0)
			tty_unknown_tags(p);
		tty_addf(&tty.lobby, "/new to try again, or start peer again "
		    "with other tags (peer tags lists them).");
		tty.waiting_since = 0;
		return;
	}
	tty_addf(tty.view, "peerd says: %s (%s)", text, code);
}

static void
tty_ev_notice(struct peer *p, const char *text)
{
	(void)p;
	snprintf(tty.last_notice, sizeof tty.last_notice, "%s", text);
	tty_addf(tty.view, "%s", text);
	tty_notice("%s", text);
}

static void
tty_ev_status(struct peer *p)
{
	(void)p;
	tty_dirty();
}

static void
tty_ev_progress(struct peer *p)
{
	(void)p;
	tty_dirty();
}

/* An old ended conversation goes: free its lines (the words in them). */
static void
tty_ev_forget(struct peer *p, struct peer_conv *c)
{
	(void)p;
	if (c->ui == NULL)
		return;
	if (tty.view == c->ui)
		tty.view = &tty.lobby;
	tty_view_free(c->ui);
	free(c->ui);
	c->ui = NULL;
	tty_dirty();
}

const struct peer_ui peer_tty_ui = {
	tty_ev_welcome,
	tty_ev_queued,
	tty_ev_offer,
	tty_ev_offer_gone,
	tty_ev_matched,
	tty_ev_message,
	tty_ev_accepted,
	tty_ev_delivered,
	tty_ev_typing,
	tty_ev_peer_status,
	tty_ev_ended,
	tty_ev_error,
	tty_ev_notice,
	tty_ev_status,
	tty_ev_progress,
	tty_ev_forget
};
