/*
 * dispatch.c -- route each client frame through the dispatch table.
 *
 * A row says which roles may send a message, in which connection states,
 * how its fields are checked and who handles it (OpenSMTPD's smtp_session.c
 * command table).  Order of checks: known type, state, role, fields,
 * handler.  Before Hello every refusal is fatal; after it, a refused
 * message gets an Error and the connection is kept.
 *
 * To add a message: write its check (optional) and handler in the file of
 * its concept (match.c, conv.c, ...), prototype them in peerd.h, and fill
 * in the handle column of its row here.
 */
#include <stdio.h>
#include <string.h>

#include "credential.h"
#include "peerd.h"

#define DISPATCH_REQUESTER_KEY	32	/* bytes, Hello.requester_key */
#define DISPATCH_RESUME_MAX	16	/* Hello.resume entries */

static const char	*dispatch_check_hello(struct conn *, const Envelope *);
static void		 dispatch_hello(struct conn *, const Envelope *);
static void		 dispatch_ping(struct conn *, const Envelope *);
static void		 dispatch_pong(struct conn *, const Envelope *);

#define READY	CONN_S(CONN_READY)

static const struct dispatch_entry dispatch_table[] = {
	{ BODY(HELLO), "hello", ROLE_M(ROLE_NONE), CONN_S(CONN_HELLO),
	  dispatch_check_hello, dispatch_hello },
	{ BODY(PING), "ping", ROLE_ANY, READY, NULL, dispatch_ping },
	{ BODY(PONG), "pong", ROLE_ANY, READY, NULL, dispatch_pong },

	/* Requester. */
	{ BODY(REQUEST_PEER), "request_peer", ROLE_M(ROLE_REQUESTER), READY,
	  match_check_request_peer, match_request_peer },
	{ BODY(CANCEL_REQUEST), "cancel_request", ROLE_M(ROLE_REQUESTER),
	  READY, NULL, match_cancel_request },

	/* Supporter. */
	{ BODY(SET_AVAILABILITY), "set_availability", ROLE_M(ROLE_SUPPORTER),
	  READY, supporter_check_availability, supporter_set_availability },
	{ BODY(ACCEPT_OFFER), "accept_offer", ROLE_M(ROLE_SUPPORTER), READY,
	  match_check_offer, match_accept_offer },
	{ BODY(DECLINE_OFFER), "decline_offer", ROLE_M(ROLE_SUPPORTER), READY,
	  match_check_offer, match_decline_offer },

	/* Conversation (both sides). */
	{ BODY(CHAT_MESSAGE), "chat_message", ROLE_PEERS, READY, conv_check,
	  conv_chat },
	{ BODY(DELIVERED), "delivered", ROLE_PEERS, READY, conv_check,
	  conv_delivered },
	{ BODY(TYPING), "typing", ROLE_PEERS, READY, conv_check, conv_typing },
	{ BODY(END_CONVERSATION), "end_conversation", ROLE_PEERS, READY,
	  conv_check, conv_end_request },
	{ BODY(REPORT), "report", ROLE_PEERS, READY, conv_check, conv_report },

	/* Operator. */
	{ BODY(STATS_REQUEST), "stats_request", ROLE_M(ROLE_OPERATOR), READY,
	  NULL, stats_request },
};
#define DISPATCH_N	(sizeof dispatch_table / sizeof dispatch_table[0])

/* Return the row for a body type, or NULL (server-only or unknown). */
const struct dispatch_entry *
dispatch_find(Peerd__V1__Envelope__BodyCase body)
{
	size_t	i;

	for (i = 0; i < DISPATCH_N; i++) {
		if (dispatch_table[i].body == body)
			return (&dispatch_table[i]);
	}
	return (NULL);
}

/* Route one frame from a client. */
void
dispatch(struct conn *c, const Envelope *env)
{
	const struct dispatch_entry	*d;
	const char			*why;
	int				 hello = (c->state == CONN_HELLO);

	log_debug("conn=%llu event=frame body=%s id=%llu",
	    (unsigned long long)c->id, frame_body_name(env),
	    (unsigned long long)env->id);

	if ((d = dispatch_find(env->body_case)) == NULL) {
		if (hello)
			conn_error(c, env->id, ERR(HELLO_REQUIRED), 1,
			    "the first message must be Hello");
		else
			conn_error(c, env->id, ERR(BAD_MESSAGE), 0,
			    "%s is not a client message", frame_body_name(env));
		return;
	}
	if ((d->states & CONN_S(c->state)) == 0) {
		if (hello)
			conn_error(c, env->id, ERR(HELLO_REQUIRED), 1,
			    "the first message must be Hello");
		else
			conn_error(c, env->id, ERR(BAD_STATE), 0,
			    "%s is not allowed now", d->name);
		return;
	}
	if ((d->roles & ROLE_M(c->role)) == 0) {
		conn_error(c, env->id, ERR(PERMISSION_DENIED), hello,
		    "%s is not allowed for role %s", d->name,
		    conn_role_name(c->role));
		return;
	}
	if (d->check != NULL && (why = d->check(c, env)) != NULL) {
		conn_error(c, env->id, ERR(BAD_MESSAGE), hello, "%s: %s",
		    d->name, why);
		return;
	}
	if (d->handle == NULL) {
		conn_error(c, env->id, ERR(BAD_STATE), 0,
		    "%s is not available on this server yet", d->name);
		return;
	}
	d->handle(c, env);
}

/* Check Hello's fields (the version is the handler's: it has its code). */
static const char *
dispatch_check_hello(struct conn *c, const Envelope *env)
{
	const Hello	*h = env->hello;

	(void)c;
	if (h == NULL)
		return ("missing body");
	if (strlen(h->client_name) > 256 ||
	    !util_utf8_valid(h->client_name, strlen(h->client_name)))
		return ("client_name must be UTF-8 of at most 256 bytes");
	if (h->requester_key.len != 0 &&
	    h->requester_key.len != DISPATCH_REQUESTER_KEY)
		return ("requester_key must be 32 bytes");
	if (h->n_resume > DISPATCH_RESUME_MAX)
		return ("too many resume entries");
	return (NULL);
}

/* Build and send Welcome answering Hello id. */
static void
dispatch_welcome(struct conn *c, uint64_t id)
{
	Peerd__V1__Welcome	  w = PEERD__V1__WELCOME__INIT;
	Peerd__V1__Limits	  l = PEERD__V1__LIMITS__INIT;
	Peerd__V1__Tag		  tags[CONF_TAGS_MAX], *tagp[CONF_TAGS_MAX];
	Envelope		  env = PEERD__V1__ENVELOPE__INIT;
	const struct cred_info	 *ci;
	char			 *vetted[CRED_TAGS_MAX];
	u_int			  i;

	l.max_frame = conf.max_frame;
	l.max_text = conf.max_text;
	l.idle_timeout_s = conf.idle_timeout;
	l.keepalive_s = conf.keepalive;
	l.grace_s = conf.grace;
	l.offer_timeout_s = conf.offer_timeout;
	l.max_tags = conf.max_tags;
	for (i = 0; i < conf.ntags; i++) {
		peerd__v1__tag__init(&tags[i]);
		tags[i].name = conf.tags[i].name;
		tags[i].description = conf.tags[i].description;
		tagp[i] = &tags[i];
	}
	w.connection_id = c->id;
	w.server_version = (char *)PEERD_VERSION;
	w.limits = &l;
	w.n_tags = conf.ntags;
	w.tags = tagp;
	w.role = c->role;
	if ((ci = auth_cred(c)) != NULL) {
		/* Only the tags matched on: those in the catalogue. */
		w.display_name = (char *)ci->name;
		if (c->role == ROLE_SUPPORTER)
			w.max_capacity = ci->capacity;
		for (i = 0; i < ci->ntags && i < CRED_TAGS_MAX; i++) {
			if (config_tag_find(ci->tags[i]) != NULL)
				vetted[w.n_vetted_tags++] =
				    (char *)ci->tags[i];
		}
		w.vetted_tags = vetted;
	}
	env.id = id;
	env.body_case = BODY(WELCOME);
	env.welcome = &w;
	if (conn_send(c, &env) != 0)
		conn_error(c, id, ERR(INTERNAL), 1, "cannot send Welcome");
}

/* Hello: check the version, decide the role, answer Welcome. */
static void
dispatch_hello(struct conn *c, const Envelope *env)
{
	const Hello	*h = env->hello;
	ErrorCode	 code;
	Role		 role;
	char		 why[256], client[CONN_CLIENT_MAX];

	if (h->protocol_version != PEERD_PROTOCOL) {
		conn_error(c, env->id, ERR(UNSUPPORTED_VERSION), 1,
		    "protocol version %u is not supported (this server "
		    "speaks %d)", h->protocol_version, PEERD_PROTOCOL);
		return;
	}
	log_escape(client, sizeof client, h->client_name,
	    strlen(h->client_name));
	if ((code = auth_hello(c, h, &role, why, sizeof why)) != 0) {
		conn_error(c, env->id, code, 1, "%s", why);
		return;
	}
	conn_ready(c, role);
	log_info("conn=%llu event=hello role=%s client=\"%s\" resume=%zu",
	    (unsigned long long)c->id, conn_role_name(c->role), client,
	    h->n_resume);
	dispatch_welcome(c, env->id);
	if (c->role == ROLE_SUPPORTER)
		supporter_hello(c);
	resume_hello(c, h, env->id);
}

/* Ping: answer Pong with the same nonce and envelope id. */
static void
dispatch_ping(struct conn *c, const Envelope *env)
{
	Peerd__V1__Pong	pong = PEERD__V1__PONG__INIT;
	Envelope	reply = PEERD__V1__ENVELOPE__INIT;

	pong.nonce = env->ping != NULL ? env->ping->nonce : 0;
	reply.id = env->id;
	reply.body_case = BODY(PONG);
	reply.pong = &pong;
	conn_send(c, &reply);
}

/* Pong: a client answering a server Ping; reading it reset the idle timer. */
static void
dispatch_pong(struct conn *c, const Envelope *env)
{
	(void)c;
	(void)env;
}
