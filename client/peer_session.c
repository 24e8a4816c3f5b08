/*
 * peer_session.c -- the connection to peerd: connect, Hello, Welcome,
 * keepalive, losing the connection and coming back.
 *
 * The session moves through these states:
 *
 *	CONNECTING --Welcome--> READY --lost--> WAITING --timer--> CONNECTING
 *	any --peer_quit--> CLOSING --closed--> DONE (the event loop exits)
 *
 * A connection that never reached Welcome the first time is not retried:
 * the server is not there, or refused us, and saying so at once is kinder
 * than spinning.  Once welcomed, a lost connection is retried with back-off
 * (PEER_BACKOFF_MIN doubling to PEER_BACKOFF_MAX) for as long as peerd
 * keeps a dropped conversation (Welcome.limits.grace_s); each Hello asks to
 * resume every open conversation, and peer_conv.c resends what peerd had
 * not accepted.  A fatal refusal (bad credential, replaced session) is
 * never retried.
 *
 * Frames from peerd go through session_table, one handler per body.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "credential.h"
#include "peer.h"

#ifndef PEERD_VERSION
#define PEERD_VERSION		"unknown"
#endif

#define PEER_CLIENT_NAME	"peer/" PEERD_VERSION

static void	session_connected(struct peerclient *, void *);
static void	session_envelope(struct peerclient *, Envelope *, void *);
static void	session_closed(struct peerclient *, enum peerclient_reason,
		    const char *, void *);
static void	session_reconnect_cb(evutil_socket_t, short, void *);
static void	session_ping_cb(evutil_socket_t, short, void *);
static void	session_closing_cb(evutil_socket_t, short, void *);
static void	session_retry_cb(evutil_socket_t, short, void *);
static void	session_welcome(struct peer *, Envelope *);
static void	session_error(struct peer *, Envelope *);
static void	session_ok(struct peer *, Envelope *);
static void	session_queue_update(struct peer *, Envelope *);
static void	session_set_availability(struct peer *, Envelope *);
static void	session_ignore(struct peer *, Envelope *);

/* What to do with each frame peerd sends. */
static const struct {
	Peerd__V1__Envelope__BodyCase	 body;
	void				(*handle)(struct peer *, Envelope *);
} session_table[] = {
	{ PEERD__V1__ENVELOPE__BODY_WELCOME, session_welcome },
	{ PEERD__V1__ENVELOPE__BODY_ERROR, session_error },
	{ PEERD__V1__ENVELOPE__BODY_OK, session_ok },
	{ PEERD__V1__ENVELOPE__BODY_PONG, session_ignore },
	{ PEERD__V1__ENVELOPE__BODY_QUEUE_UPDATE, session_queue_update },
	{ PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY,
	  session_set_availability },
	{ PEERD__V1__ENVELOPE__BODY_OFFER, peer_conv_offer },
	{ PEERD__V1__ENVELOPE__BODY_MATCHED, peer_conv_matched },
	{ PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE, peer_conv_message },
	{ PEERD__V1__ENVELOPE__BODY_MESSAGE_ACCEPTED, peer_conv_accepted },
	{ PEERD__V1__ENVELOPE__BODY_DELIVERED, peer_conv_delivered },
	{ PEERD__V1__ENVELOPE__BODY_TYPING, peer_conv_typing },
	{ PEERD__V1__ENVELOPE__BODY_END_CONVERSATION, peer_conv_ended },
	{ PEERD__V1__ENVELOPE__BODY_PEER_STATUS, peer_conv_peer_status },
};
#define SESSION_NTABLE	(sizeof session_table / sizeof session_table[0])

static const struct peerclient_callbacks session_callbacks = {
	session_connected, session_envelope, session_closed, NULL
};

/*
 * Set up p: TLS context, client, timers, the credential or requester key.
 * Returns 0, or -1 after printing why on stderr.
 */
int
peer_session_init(struct peer *p, const struct peer_opts *opts,
    struct event_base *base, const struct peer_ui *ui, void *ui_data)
{
	uint8_t	 buf[CRED_MAX];
	char	 err[CRED_ERR_MAX];
	int	 error;

	memset(p, 0, sizeof *p);
	p->opts = opts;
	p->base = base;
	p->ui = ui;
	p->ui_data = ui_data;
	p->grace_s = PEER_GRACE_DEFAULT;
	TAILQ_INIT(&p->offers);
	TAILQ_INIT(&p->convs);
	TAILQ_INIT(&p->unsent);

	if ((p->tls = peerclient_tls_new(opts->ca, &error)) == NULL) {
		fprintf(stderr, "peer: %s: %s\n", opts->ca,
		    error == PEERCLIENT_ERR_CA ? "cannot load the CA "
		    "certificate (--ca FILE)" : peerclient_strerror(error));
		return (-1);
	}
	if ((p->pc = peerclient_new(base, p->tls, &session_callbacks,
	    p)) == NULL) {
		fprintf(stderr, "peer: cannot make a client\n");
		return (-1);
	}
	p->ev_reconnect = evtimer_new(base, session_reconnect_cb, p);
	p->ev_ping = event_new(base, -1, EV_PERSIST, session_ping_cb, p);
	p->ev_closing = evtimer_new(base, session_closing_cb, p);
	p->ev_retry = evtimer_new(base, session_retry_cb, p);
	if (p->ev_reconnect == NULL || p->ev_ping == NULL ||
	    p->ev_closing == NULL || p->ev_retry == NULL) {
		fprintf(stderr, "peer: cannot make timers\n");
		return (-1);
	}

	if (opts->cmd == PEER_CMD_SUPPORT) {
		if (cred_read_file(opts->credential, buf, sizeof buf,
		    &p->cred_len, err, sizeof err) == -1) {
			fprintf(stderr, "peer: %s\n", err);
			return (-1);
		}
		p->cred = peer_xcalloc(1, p->cred_len);
		memcpy(p->cred, buf, p->cred_len);
		p->status = PEERD__V1__SUPPORTER_STATUS__AVAILABLE;
		p->capacity = opts->capacity;
	}
	if (opts->cmd == PEER_CMD_REQUEST) {
		p->want_peer = 1;
		if (!opts->no_key) {
			if (peer_key_load(opts->key_file, p->key, err,
			    sizeof err) == -1) {
				fprintf(stderr, "peer: %s\n", err);
				return (-1);
			}
			p->has_key = 1;
		}
	}
	return (0);
}

/* Free everything p holds.  The event loop must not be running it. */
void
peer_session_free(struct peer *p)
{
	struct peer_conv	*c;
	struct peer_offer	*o;
	struct peer_msg		*m;
	size_t			 i;

	peerclient_free(p->pc);
	peerclient_tls_free(p->tls);
	if (p->ev_reconnect != NULL)
		event_free(p->ev_reconnect);
	if (p->ev_ping != NULL)
		event_free(p->ev_ping);
	if (p->ev_closing != NULL)
		event_free(p->ev_closing);
	if (p->ev_retry != NULL)
		event_free(p->ev_retry);
	while ((c = TAILQ_FIRST(&p->convs)) != NULL)
		peer_conv_forget(p, c);
	while ((o = TAILQ_FIRST(&p->offers)) != NULL)
		peer_offer_free(p, o);
	while ((m = TAILQ_FIRST(&p->unsent)) != NULL) {
		TAILQ_REMOVE(&p->unsent, m, entry);
		free(m);
	}
	for (i = 0; i < p->ntags; i++) {
		free(p->tags[i].name);
		free(p->tags[i].description);
	}
	free(p->tags);
	free(p->vetted);
	if (p->cred != NULL) {
		explicit_bzero(p->cred, p->cred_len);
		free(p->cred);
	}
	explicit_bzero(p->key, sizeof p->key);
}

/* Report a lost or refused connection and retry or give up. */
static void
session_lost(struct peer *p, const char *what, const char *detail,
    int retry)
{
	struct peer_conv	*c, *next;
	char			 msg[512];
	int64_t			 now = peer_now_ms();
	struct timeval		 tv;

	event_del(p->ev_ping);
	event_del(p->ev_closing);
	p->state = PEER_S_WAITING;
	if ((!p->welcomed && !p->try_later) || !retry || p->no_retry) {
		/* After a fatal Error the error line said it all. */
		if (!p->no_retry) {
			snprintf(msg, sizeof msg, "%s %s:%s: %s", what,
			    p->opts->host, p->opts->port, detail);
			p->ui->notice(p, msg);
		}
		TAILQ_FOREACH_SAFE(c, &p->convs, entry, next) {
			if (c->state != PEER_CONV_ENDED)
				peer_conv_end_local(p, c, "connection_lost");
		}
		peer_quit(p, PEER_EXIT_ERROR);
		return;
	}
	if (p->lost_ms == 0)
		p->lost_ms = now;
	if (now - p->lost_ms > (int64_t)p->grace_s * 1000) {
		snprintf(msg, sizeof msg, "%s %s:%s: %s; gave up after %u s",
		    what, p->opts->host, p->opts->port, detail, p->grace_s);
		p->ui->notice(p, msg);
		TAILQ_FOREACH_SAFE(c, &p->convs, entry, next) {
			if (c->state != PEER_CONV_ENDED)
				peer_conv_end_local(p, c, "connection_lost");
		}
		peer_quit(p, PEER_EXIT_ERROR);
		return;
	}
	if (p->backoff_ms == 0)
		p->backoff_ms = PEER_BACKOFF_MIN;
	else if ((p->backoff_ms *= 2) > PEER_BACKOFF_MAX)
		p->backoff_ms = PEER_BACKOFF_MAX;
	snprintf(msg, sizeof msg, "%s %s:%s: %s; reconnecting in %d.%d s",
	    what, p->opts->host, p->opts->port, detail, p->backoff_ms / 1000,
	    (p->backoff_ms % 1000) / 100);
	p->ui->notice(p, msg);
	p->ui->status(p);
	tv.tv_sec = p->backoff_ms / 1000;
	tv.tv_usec = (p->backoff_ms % 1000) * 1000;
	evtimer_add(p->ev_reconnect, &tv);
}

/* Connect and send the Hello (queued until TLS is up). */
static void
session_connect(struct peer *p)
{
	struct peerclient_hello	 h;
	struct peer_conv	*c, *next;
	Peerd__V1__Role		 role;
	int			 rc;

	p->state = PEER_S_CONNECTING;
	rc = peerclient_connect(p->pc, p->opts->host, p->opts->port,
	    p->opts->tls_name);
	if (rc != PEERCLIENT_OK) {
		session_lost(p, "cannot connect to", peerclient_strerror(rc),
		    rc != PEERCLIENT_ERR_INVAL);
		return;
	}
	role = p->opts->cmd == PEER_CMD_SUPPORT ?
	    PEERD__V1__ROLE__SUPPORTER : PEERD__V1__ROLE__REQUESTER;
	peerclient_hello_init(&h, role, PEER_CLIENT_NAME);
	if (p->cred != NULL)
		peerclient_hello_set_credential(&h, p->cred, p->cred_len);
	if (p->has_key)
		peerclient_hello_set_requester_key(&h, p->key, sizeof p->key);
	TAILQ_FOREACH_SAFE(c, &p->convs, entry, next) {
		if (c->state == PEER_CONV_ENDED)
			continue;
		peer_conv_lost(p, c);
		if (c->token_len == 0 || peerclient_hello_add_resume(&h,
		    c->token, c->token_len, c->last_seq) != PEERCLIENT_OK)
			peer_conv_end_local(p, c, "resume_failed");
		else
			c->state = PEER_CONV_RESUMING;
	}
	p->hello_req = peerclient_next_id(p->pc);
	if ((rc = peerclient_send_hello(p->pc, &h, p->hello_req)) !=
	    PEERCLIENT_OK) {
		peerclient_free(p->pc);
		p->pc = peerclient_new(p->base, p->tls, &session_callbacks, p);
		if (p->pc == NULL) {
			session_lost(p, "cannot connect to", "out of memory", 0);
			return;
		}
		session_lost(p, "cannot send Hello to",
		    peerclient_strerror(rc), 1);
	}
}

/* Start the first connection. */
int
peer_session_start(struct peer *p)
{
	session_connect(p);
	return (0);
}

static void
session_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_connect(arg);
}

/* Keepalive: Ping so that peerd's idle timeout never ends a quiet chat. */
static void
session_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;

	(void)fd;
	(void)what;
	if (p->state == PEER_S_READY)
		(void)peerclient_send_ping(p->pc, peerclient_next_id(p->pc),
		    (uint64_t)peer_now_ms());
}

/* Leaving took too long: go anyway. */
static void
session_closing_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;

	(void)fd;
	(void)what;
	p->ui->notice(p, "peerd did not confirm the end in time; leaving");
	peer_quit(p, p->leave_code);
}

/* A while after RATE_LIMITED: send what waits again. */
static void
session_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_conv_retry(arg);
}

static void
session_connected(struct peerclient *pc, void *arg)
{
	(void)pc;
	(void)arg;
}

static void
session_envelope(struct peerclient *pc, Envelope *env, void *arg)
{
	struct peer	*p = arg;
	size_t		 i;

	(void)pc;
	if (p->state == PEER_S_CLOSING || p->state == PEER_S_DONE) {
		peerclient_envelope_free(env);
		return;
	}
	for (i = 0; i < SESSION_NTABLE; i++) {
		if (session_table[i].body == env->body_case) {
			session_table[i].handle(p, env);
			break;
		}
	}
	peerclient_envelope_free(env);
	if (p->state == PEER_S_CLOSING || p->state == PEER_S_DONE)
		return;
	peer_conv_gc(p);
	peer_leave_check(p);
	if (p->state != PEER_S_CLOSING && p->state != PEER_S_DONE)
		p->ui->progress(p);
}

static void
session_closed(struct peerclient *pc, enum peerclient_reason reason,
    const char *detail, void *arg)
{
	struct peer	*p = arg;
	char		 buf[256];

	(void)pc;
	if (p->state == PEER_S_CLOSING || p->state == PEER_S_DONE) {
		p->state = PEER_S_DONE;
		event_base_loopexit(p->base, NULL);
		return;
	}
	snprintf(buf, sizeof buf, "%s (%s)", detail,
	    peerclient_reason_name(reason));
	session_lost(p, p->state == PEER_S_READY ? "lost the connection to" :
	    "cannot connect to", buf, reason != PEERCLIENT_CLOSED_TLS_VERIFY);
	if (p->state != PEER_S_CLOSING && p->state != PEER_S_DONE) {
		peer_conv_gc(p);
		p->ui->progress(p);
	}
}

/* Copy the Welcome: limits, catalogue, who we are; then pick up. */
static void
session_welcome(struct peer *p, Envelope *env)
{
	Peerd__V1__Welcome	*w = env->welcome;
	struct timeval		 tv;
	struct peer_conv	*c;
	size_t			 i;
	int			 again = p->welcomed;

	if (w == NULL)
		return;
	if (w->limits != NULL) {
		p->max_text = w->limits->max_text;
		p->keepalive_s = w->limits->keepalive_s;
		if (w->limits->grace_s > 0)
			p->grace_s = w->limits->grace_s;
		p->offer_timeout_s = w->limits->offer_timeout_s;
	}
	for (i = 0; i < p->ntags; i++) {
		free(p->tags[i].name);
		free(p->tags[i].description);
	}
	free(p->tags);
	p->tags = peer_xcalloc(w->n_tags, sizeof *p->tags);
	for (p->ntags = 0; p->ntags < w->n_tags; p->ntags++) {
		p->tags[p->ntags].name = peer_xstrdup(w->tags[p->ntags]->name);
		p->tags[p->ntags].description =
		    peer_xstrdup(w->tags[p->ntags]->description);
	}
	snprintf(p->display_name, sizeof p->display_name, "%s",
	    w->display_name != NULL ? w->display_name : "");
	snprintf(p->server_version, sizeof p->server_version, "%s",
	    w->server_version != NULL ? w->server_version : "");
	p->max_capacity = w->max_capacity;
	free(p->vetted);
	p->vetted = peer_join(w->vetted_tags, w->n_vetted_tags);

	p->state = PEER_S_READY;
	p->welcomed = 1;
	p->lost_ms = 0;
	p->backoff_ms = 0;
	if (p->keepalive_s > 0 && p->keepalive_s <= 86400) {
		/* A little early, so a slow loop never misses the window. */
		tv.tv_sec = p->keepalive_s > 2 ? p->keepalive_s - 1 :
		    p->keepalive_s;
		tv.tv_usec = 0;
		event_add(p->ev_ping, &tv);
	}
	if (again)
		p->ui->notice(p, "reconnected");
	p->ui->welcome(p);

	if (p->opts->cmd == PEER_CMD_SUPPORT)
		peer_set_status(p, p->status, p->capacity);
	if (p->opts->cmd == PEER_CMD_REQUEST && p->want_peer) {
		TAILQ_FOREACH(c, &p->convs, entry) {
			if (c->state != PEER_CONV_ENDED)
				break;
		}
		if (c == NULL)
			peer_request(p);
	}
	if (p->leaving) {
		tv.tv_sec = PEER_END_WAIT / 1000;
		tv.tv_usec = 0;
		evtimer_add(p->ev_closing, &tv);
	}
	p->ui->status(p);
}

/* Return whether a fatal error code may go away by connecting again. */
static int
session_retryable(int code)
{
	switch (code) {
	case PEERD__V1__ERROR_CODE__SHUTTING_DOWN:
	case PEERD__V1__ERROR_CODE__TIMEOUT:
	case PEERD__V1__ERROR_CODE__INTERNAL:
	case PEERD__V1__ERROR_CODE__TOO_MANY_CONNECTIONS:
	case PEERD__V1__ERROR_CODE__TRY_LATER:
		return (1);
	}
	return (0);
}

/* An Error: find what it answers. */
static void
session_error(struct peer *p, Envelope *env)
{
	Peerd__V1__Error	*e = env->error;
	const char		*name, *text;

	if (e == NULL)
		return;
	name = peer_error_name(e->code);
	text = e->message != NULL ? e->message : "";
	if (e->fatal && !session_retryable(e->code))
		p->no_retry = 1;
	/* A server not ready for us yet (revocations unread): not a refusal. */
	if (e->code == PEERD__V1__ERROR_CODE__TRY_LATER)
		p->try_later = 1;
	if (e->code == PEERD__V1__ERROR_CODE__RESUME_FAILED) {
		peer_conv_resume_failed(p, name, text);
		return;
	}
	if (env->id != 0 && env->id == p->request_req) {
		p->request_req = 0;
		p->want_peer = 0;
		p->request_failed = 1;
		p->ui->error(p, NULL, NULL, name, text);
		return;
	}
	if (env->id != 0 && env->id == p->cancel_req) {
		p->cancel_req = 0;
		p->ui->error(p, NULL, NULL, name, text);
		return;
	}
	if (env->id != 0 && env->id == p->avail_req) {
		p->avail_req = 0;
		p->avail_failed = 1;
		p->ui->error(p, NULL, NULL, name, text);
		p->ui->status(p);
		return;
	}
	if (env->id != 0 && peer_conv_error(p, env->id, e->code, name, text))
		return;
	p->ui->error(p, NULL, NULL, name, text);
}

/* An Ok: find what it answers. */
static void
session_ok(struct peer *p, Envelope *env)
{
	if (env->id == 0)
		return;
	if (env->id == p->avail_req) {
		p->avail_req = 0;
		p->avail_failed = 0;
		p->ui->status(p);
		return;
	}
	if (env->id == p->cancel_req) {
		p->cancel_req = 0;
		p->queued = 0;
		p->want_peer = 0;
		p->ui->status(p);
		return;
	}
	(void)peer_conv_ok(p, env->id);
}

/* A QueueUpdate: the reply to RequestPeer, or a push while we wait. */
static void
session_queue_update(struct peer *p, Envelope *env)
{
	Peerd__V1__QueueUpdate	*q = env->queue_update;

	if (q == NULL)
		return;
	if (env->id != 0 && env->id == p->request_req)
		p->request_req = 0;
	if (!p->want_peer)
		return;
	p->queued = 1;
	p->ui->queued(p, q->position, q->eta_s, q->relaxed,
	    q->compatible_supporters);
}

/* peerd changed our availability (e.g. AWAY after an offer timed out). */
static void
session_set_availability(struct peer *p, Envelope *env)
{
	Peerd__V1__SetAvailability	*s = env->set_availability;
	struct peer_offer		*o;

	if (s == NULL || env->id != 0)
		return;
	/*
	 * Our own SetAvailability is on its way and peerd applies it after
	 * this push (the status we had before reconnecting): ours wins.
	 */
	if (p->avail_req != 0)
		return;
	p->status = s->status;
	if (s->capacity != 0)
		p->capacity = s->capacity;
	if (s->status != PEERD__V1__SUPPORTER_STATUS__AVAILABLE) {
		while ((o = TAILQ_FIRST(&p->offers)) != NULL) {
			p->ui->offer_gone(p, o);
			peer_offer_free(p, o);
		}
		if (s->status == PEERD__V1__SUPPORTER_STATUS__AWAY)
			p->ui->notice(p, "peerd set you away (an offer was "
			    "not answered in time)");
	}
	p->ui->status(p);
}

static void
session_ignore(struct peer *p, Envelope *env)
{
	(void)p;
	(void)env;
}

/* Send env with a fresh id.  Returns the id, or 0 if it was not sent. */
uint64_t
peer_send(struct peer *p, Envelope *env)
{
	if (p->state != PEER_S_READY)
		return (0);
	env->id = peerclient_next_id(p->pc);
	if (peerclient_send(p->pc, env) != PEERCLIENT_OK)
		return (0);
	return (env->id);
}

/* Ask for a peer (RequestPeer with the command line's wishes). */
int
peer_request(struct peer *p)
{
	const struct peer_opts		*o = p->opts;
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__RequestPeer		 r = PEERD__V1__REQUEST_PEER__INIT;

	p->want_peer = 1;
	p->request_failed = 0;
	r.n_need = o->need.n;
	r.need = (char **)o->need.v;
	r.n_prefer = o->prefer.n;
	r.prefer = (char **)o->prefer.v;
	r.n_languages = o->langs.n;
	r.languages = (char **)o->langs.v;
	r.urgent = o->urgent;
	r.relax_after_s = o->relax_after_s;
	r.prefer_previous = o->previous;
	env.body_case = PEERD__V1__ENVELOPE__BODY_REQUEST_PEER;
	env.request_peer = &r;
	p->request_req = peer_send(p, &env);
	return (p->request_req != 0 ? 0 : -1);
}

/* Stop waiting for a peer. */
int
peer_cancel(struct peer *p)
{
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__CancelRequest	 r = PEERD__V1__CANCEL_REQUEST__INIT;

	p->want_peer = 0;
	if (!p->queued && p->request_req == 0)
		return (0);
	env.body_case = PEERD__V1__ENVELOPE__BODY_CANCEL_REQUEST;
	env.cancel_request = &r;
	p->cancel_req = peer_send(p, &env);
	return (p->cancel_req != 0 ? 0 : -1);
}

/* Set our availability (and capacity, 0 to keep it). */
int
peer_set_status(struct peer *p, int status, uint32_t capacity)
{
	Envelope			 env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__SetAvailability	 s = PEERD__V1__SET_AVAILABILITY__INIT;

	p->status = status;
	if (capacity != 0)
		p->capacity = capacity;
	s.status = status;
	s.capacity = capacity;
	env.body_case = PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY;
	env.set_availability = &s;
	p->avail_req = peer_send(p, &env);
	return (p->avail_req != 0 ? 0 : -1);
}

/*
 * Leave: end every open conversation, withdraw a request, then quit with
 * code once peerd confirmed (or PEER_END_WAIT passed).
 */
void
peer_leave(struct peer *p, int code)
{
	struct peer_conv	*c;
	struct timeval		 tv;

	if (p->leaving)
		return;
	p->leaving = 1;
	p->leave_code = code;
	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->state != PEER_CONV_ENDED && !c->ending)
			peer_end(p, c);
	}
	if (p->want_peer || p->queued)
		peer_cancel(p);
	if (p->state == PEER_S_READY) {
		tv.tv_sec = PEER_END_WAIT / 1000;
		tv.tv_usec = 0;
		evtimer_add(p->ev_closing, &tv);
	}
	peer_leave_check(p);
}

/* Quit once leaving is complete. */
void
peer_leave_check(struct peer *p)
{
	struct peer_conv	*c;

	if (!p->leaving || p->state == PEER_S_CLOSING ||
	    p->state == PEER_S_DONE)
		return;
	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->state != PEER_CONV_ENDED)
			return;
	}
	if (p->cancel_req != 0)
		return;
	peer_quit(p, p->leave_code);
}

/* Close the connection and stop the event loop; exit with code. */
void
peer_quit(struct peer *p, int code)
{
	if (p->state == PEER_S_CLOSING || p->state == PEER_S_DONE)
		return;
	p->exit_code = code;
	event_del(p->ev_reconnect);
	event_del(p->ev_ping);
	event_del(p->ev_closing);
	p->state = PEER_S_CLOSING;
	if (peerclient_close(p->pc) != PEERCLIENT_OK) {
		p->state = PEER_S_DONE;
		event_base_loopexit(p->base, NULL);
	}
}
