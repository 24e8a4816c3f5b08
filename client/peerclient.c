/*
 * peerclient.c -- libpeerclient connections: TCP connect, TLS, frames.
 *
 * A client moves through these states:
 *
 *	IDLE --connect--> TCP --socket writable--> TLS --handshake--> OPEN
 *	OPEN --peerclient_close--> CLOSING --output flushed--> IDLE
 *	TCP, TLS, OPEN --failure, EOF, timeout--> IDLE (on_closed)
 *
 * The TCP connect is done here rather than by libevent so that TCP_NODELAY
 * is set before the first handshake byte and a refused connection is told
 * apart from a TLS failure (with dirty shutdowns allowed, bufferevent_openssl
 * would report a refused connect as EOF).
 *
 * Callbacks may free or close the client.  Every call into the application
 * goes through pc_enter()/pc_leave(): peerclient_free() inside a callback
 * only marks the client dead, and the last pc_leave() frees it; the caller
 * must return at once when pc_leave() says so.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "frame.h"
#include "peerclient.h"

#define PC_NAME_MAX	255	/* bytes, a DNS name or address to verify */
#define PC_DETAIL_MAX	256	/* bytes, a close reason's detail text */

enum pc_state {
	PC_IDLE = 0,		/* nothing open */
	PC_TCP,			/* non-blocking connect in progress */
	PC_TLS,			/* TLS handshake in progress */
	PC_OPEN,		/* frames flow */
	PC_CLOSING		/* flushing output before close_notify */
};

/* What the single timer is armed for. */
enum pc_timer {
	PC_TIMER_NONE = 0,
	PC_TIMER_CONNECT,	/* TCP + TLS took too long */
	PC_TIMER_LINGER,	/* output did not drain in time while closing */
	PC_TIMER_LOCAL		/* report a close of a connecting client */
};

struct peerclient_tls {
	SSL_CTX		*ctx;
};

struct peerclient {
	struct event_base		*base;
	SSL_CTX				*ctx;		/* own reference */
	struct peerclient_callbacks	 cb;
	void				*arg;

	enum pc_state			 state;
	int				 fd;		/* during PC_TCP only */
	struct event			*ev_connect;
	struct addrinfo			*ai_list;	/* during PC_TCP */
	struct addrinfo			*ai_next;	/* next to try */
	struct event			*ev_timer;
	enum pc_timer			 timer;
	struct event			*ev_keepalive;	/* persistent tick */
	struct bufferevent		*bev;		/* PC_TLS onwards */
	struct evbuffer			*pending;	/* before PC_OPEN */
	char				 name[PC_NAME_MAX + 1];

	size_t				 max_frame;
	size_t				 max_send;
	int				 max_send_fixed;
	int				 connect_timeout_ms;
	uint64_t			 next_id;

	int				 keepalive_s;
	int				 keepalive_fixed;
	int				 sent_recently;	/* since last tick */
	uint64_t			 keepalive_id;	/* Pong to swallow */

	int				 in_cb;
	int				 dead;
};

static void	pc_connect_cb(evutil_socket_t, short, void *);
static void	pc_timer_cb(evutil_socket_t, short, void *);
static void	pc_keepalive_cb(evutil_socket_t, short, void *);
static void	pc_readcb(struct bufferevent *, void *);
static void	pc_writecb(struct bufferevent *, void *);
static void	pc_eventcb(struct bufferevent *, short, void *);

struct peerclient_tls *
peerclient_tls_new(const char *ca_file, int *error)
{
	struct peerclient_tls	*tls;
	int			 dummy;

	if (error == NULL)
		error = &dummy;
	if (ca_file == NULL) {
		*error = PEERCLIENT_ERR_INVAL;
		return (NULL);
	}
	if ((tls = calloc(1, sizeof *tls)) == NULL) {
		*error = PEERCLIENT_ERR_NOMEM;
		return (NULL);
	}
	if ((tls->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto tls_fail;
	if (!SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION))
		goto tls_fail;
	SSL_CTX_set_options(tls->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(tls->ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(tls->ctx, ca_file, NULL) != 1) {
		ERR_clear_error();
		SSL_CTX_free(tls->ctx);
		free(tls);
		*error = PEERCLIENT_ERR_CA;
		return (NULL);
	}
	*error = PEERCLIENT_OK;
	return (tls);

tls_fail:
	ERR_clear_error();
	SSL_CTX_free(tls->ctx);
	free(tls);
	*error = PEERCLIENT_ERR_TLS;
	return (NULL);
}

void
peerclient_tls_free(struct peerclient_tls *tls)
{
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls);
}

struct peerclient *
peerclient_new(struct event_base *base, struct peerclient_tls *tls,
    const struct peerclient_callbacks *cb, void *arg)
{
	struct peerclient	*pc;

	if (base == NULL || tls == NULL)
		return (NULL);
	if ((pc = calloc(1, sizeof *pc)) == NULL)
		return (NULL);
	pc->base = base;
	pc->fd = -1;
	if (cb != NULL)
		pc->cb = *cb;
	pc->arg = arg;
	pc->max_frame = PEERCLIENT_MAX_FRAME_DEFAULT;
	pc->max_send = FRAME_MAX_HARD;
	pc->connect_timeout_ms = PEERCLIENT_CONNECT_TIMEOUT;
	pc->next_id = 1;
	pc->ev_timer = evtimer_new(base, pc_timer_cb, pc);
	pc->ev_keepalive = event_new(base, -1, EV_PERSIST, pc_keepalive_cb, pc);
	if (pc->ev_timer == NULL || pc->ev_keepalive == NULL ||
	    !SSL_CTX_up_ref(tls->ctx)) {
		if (pc->ev_timer != NULL)
			event_free(pc->ev_timer);
		if (pc->ev_keepalive != NULL)
			event_free(pc->ev_keepalive);
		free(pc);
		return (NULL);
	}
	pc->ctx = tls->ctx;
	return (pc);
}

/* Drop whatever connection is open, without callbacks; back to PC_IDLE. */
static void
pc_drop(struct peerclient *pc)
{
	if (pc->ev_connect != NULL) {
		event_free(pc->ev_connect);
		pc->ev_connect = NULL;
	}
	if (pc->fd != -1) {
		close(pc->fd);
		pc->fd = -1;
	}
	if (pc->ai_list != NULL) {
		freeaddrinfo(pc->ai_list);
		pc->ai_list = pc->ai_next = NULL;
	}
	if (pc->bev != NULL) {
		bufferevent_free(pc->bev);
		pc->bev = NULL;
	}
	if (pc->pending != NULL) {
		evbuffer_free(pc->pending);
		pc->pending = NULL;
	}
	evtimer_del(pc->ev_timer);
	pc->timer = PC_TIMER_NONE;
	event_del(pc->ev_keepalive);
	pc->keepalive_id = 0;
	pc->state = PC_IDLE;
}

/* Free everything; the client must not be inside a callback. */
static void
pc_destroy(struct peerclient *pc)
{
	pc_drop(pc);
	event_free(pc->ev_timer);
	event_free(pc->ev_keepalive);
	SSL_CTX_free(pc->ctx);
	free(pc);
}

void
peerclient_free(struct peerclient *pc)
{
	if (pc == NULL || pc->dead)
		return;
	if (pc->in_cb > 0) {
		pc_drop(pc);
		pc->dead = 1;
		return;
	}
	pc_destroy(pc);
}

/* Note that a callback is about to run. */
static void
pc_enter(struct peerclient *pc)
{
	pc->in_cb++;
}

/*
 * Note that a callback returned.  Returns -1 if the client was freed (the
 * caller must not touch it again), else 0.
 */
static int
pc_leave(struct peerclient *pc)
{
	if (--pc->in_cb == 0 && pc->dead) {
		pc_destroy(pc);
		return (-1);
	}
	return (pc->dead ? -1 : 0);
}

/* Drop the connection and tell the application why.  Returns as pc_leave. */
static int
pc_fail(struct peerclient *pc, enum peerclient_reason reason,
    const char *detail)
{
	pc_drop(pc);
	if (pc->cb.on_closed == NULL)
		return (0);
	pc_enter(pc);
	pc->cb.on_closed(pc, reason, detail != NULL ? detail : "", pc->arg);
	return (pc_leave(pc));
}

/* Arm the timer for why, ms from now (0: at the next loop iteration). */
static void
pc_timer_set(struct peerclient *pc, enum pc_timer why, int ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	pc->timer = why;
	evtimer_add(pc->ev_timer, &tv);
}

int
peerclient_set_max_frame(struct peerclient *pc, size_t bytes)
{
	if (pc == NULL || bytes == 0 || bytes > FRAME_MAX_HARD)
		return (PEERCLIENT_ERR_INVAL);
	pc->max_frame = bytes;
	return (PEERCLIENT_OK);
}

int
peerclient_set_max_send(struct peerclient *pc, size_t bytes)
{
	if (pc == NULL || bytes == 0 || bytes > FRAME_MAX_HARD)
		return (PEERCLIENT_ERR_INVAL);
	pc->max_send = bytes;
	pc->max_send_fixed = 1;
	return (PEERCLIENT_OK);
}

/* (Re)start the keepalive tick if the connection is open and it is on. */
static void
pc_keepalive_arm(struct peerclient *pc)
{
	struct timeval	tv;

	event_del(pc->ev_keepalive);
	if (pc->state != PC_OPEN || pc->keepalive_s <= 0)
		return;
	/*
	 * Tick at half the interval: a tick that finds nothing sent since the
	 * one before pings, so the server never sees more than one interval
	 * of silence (peerd drops a client after 1.5).
	 */
	tv.tv_sec = pc->keepalive_s / 2;
	tv.tv_usec = (pc->keepalive_s % 2) * 500000;
	pc->sent_recently = 0;
	event_add(pc->ev_keepalive, &tv);
}

int
peerclient_set_keepalive(struct peerclient *pc, int seconds)
{
	if (pc == NULL || seconds < 0)
		return (PEERCLIENT_ERR_INVAL);
	pc->keepalive_s = seconds;
	pc->keepalive_fixed = 1;
	pc_keepalive_arm(pc);
	return (PEERCLIENT_OK);
}

/* Keepalive tick: Ping unless anything was sent since the last tick. */
static void
pc_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peerclient	*pc = arg;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Ping		 ping = PEERD__V1__PING__INIT;

	(void)fd;
	(void)what;
	if (pc->state != PC_OPEN)
		return;
	if (!pc->sent_recently) {
		env.id = pc->next_id++;
		env.body_case = PEERD__V1__ENVELOPE__BODY_PING;
		env.ping = &ping;
		if (frame_write(bufferevent_get_output(pc->bev), &env,
		    pc->max_send) == 0)
			pc->keepalive_id = env.id;
	}
	pc->sent_recently = 0;
}

int
peerclient_set_connect_timeout(struct peerclient *pc, int ms)
{
	if (pc == NULL || ms < 0)
		return (PEERCLIENT_ERR_INVAL);
	pc->connect_timeout_ms = ms;
	return (PEERCLIENT_OK);
}

/* Return 1 if name is a literal IPv4 or IPv6 address. */
static int
pc_is_address(const char *name)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return (inet_pton(AF_INET, name, &a4) == 1 ||
	    inet_pton(AF_INET6, name, &a6) == 1);
}

/* Make the SSL object that verifies pc->name.  Returns NULL on failure. */
static SSL *
pc_ssl_new(struct peerclient *pc)
{
	SSL	*ssl;

	if ((ssl = SSL_new(pc->ctx)) == NULL)
		return (NULL);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (pc_is_address(pc->name)) {
		/* RFC 6066: no SNI for addresses; check the IP SAN. */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    pc->name) != 1)
			goto fail;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, pc->name) != 1 ||
		    SSL_set_tlsext_host_name(ssl, pc->name) != 1)
			goto fail;
	}
	return (ssl);
fail:
	SSL_free(ssl);
	return (NULL);
}

/* The TCP connection is up: wrap it in TLS.  Returns as pc_leave. */
static int
pc_start_tls(struct peerclient *pc)
{
	SSL	*ssl;
	int	 fd = pc->fd;

	if ((ssl = pc_ssl_new(pc)) == NULL) {
		ERR_clear_error();
		return (pc_fail(pc, PEERCLIENT_CLOSED_TLS,
		    "cannot make an SSL object"));
	}
	pc->bev = bufferevent_openssl_socket_new(pc->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (pc->bev == NULL) {
		/* With BEV_OPT_CLOSE_ON_FREE libevent freed ssl already. */
		return (pc_fail(pc, PEERCLIENT_CLOSED_NOMEM,
		    "cannot make a bufferevent"));
	}
	pc->fd = -1;	/* the bufferevent owns it now */
	bufferevent_openssl_set_allow_dirty_shutdown(pc->bev, 1);
	bufferevent_setcb(pc->bev, pc_readcb, pc_writecb, pc_eventcb, pc);
	bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
	pc->state = PC_TLS;
	return (0);
}

/*
 * Start a non-blocking connect to the next address that takes one.  Returns
 * 0 (pc->fd connecting, watched by pc->ev_connect) or an errno value once
 * no address is left.
 */
static int
pc_connect_next(struct peerclient *pc)
{
	struct addrinfo	*ai;
	int		 fd, one = 1, err = EHOSTUNREACH;

	while ((ai = pc->ai_next) != NULL) {
		pc->ai_next = ai->ai_next;
		fd = socket(ai->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		/* Nagle turns a relay into ~1,200 messages/s, 40 ms stalls. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			err = errno;
			close(fd);
			continue;
		}
		/*
		 * Even a connect that finished at once goes through the
		 * loop, so that no callback runs inside peerclient_connect.
		 */
		pc->ev_connect = event_new(pc->base, fd, EV_WRITE,
		    pc_connect_cb, pc);
		if (pc->ev_connect == NULL ||
		    event_add(pc->ev_connect, NULL) == -1) {
			if (pc->ev_connect != NULL)
				event_free(pc->ev_connect);
			pc->ev_connect = NULL;
			close(fd);
			return (ENOMEM);
		}
		pc->fd = fd;
		return (0);
	}
	return (err);
}

/*
 * The non-blocking connect finished one way or the other; on failure try
 * the host's next address (e.g. 127.0.0.1 after ::1 for "localhost").
 */
static void
pc_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peerclient	*pc = arg;
	socklen_t		 len;
	int			 err = 0;

	(void)what;
	event_free(pc->ev_connect);
	pc->ev_connect = NULL;
	len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		close(pc->fd);
		pc->fd = -1;
		if (pc->ai_next != NULL && pc_connect_next(pc) == 0)
			return;
		pc_fail(pc, PEERCLIENT_CLOSED_CONNECT, strerror(err));
		return;
	}
	freeaddrinfo(pc->ai_list);
	pc->ai_list = pc->ai_next = NULL;
	pc_start_tls(pc);
}

int
peerclient_connect(struct peerclient *pc, const char *host, const char *port,
    const char *verify_name)
{
	struct addrinfo		 hints;
	int			 err;

	if (pc == NULL || host == NULL || port == NULL)
		return (PEERCLIENT_ERR_INVAL);
	if (pc->state != PC_IDLE || pc->dead)
		return (PEERCLIENT_ERR_STATE);
	if (verify_name == NULL)
		verify_name = host;
	if (strlen(verify_name) > PC_NAME_MAX)
		return (PEERCLIENT_ERR_INVAL);
	strcpy(pc->name, verify_name);

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if (getaddrinfo(host, port, &hints, &pc->ai_list) != 0 ||
	    pc->ai_list == NULL) {
		pc->ai_list = NULL;
		return (PEERCLIENT_ERR_RESOLVE);
	}
	if ((pc->pending = evbuffer_new()) == NULL) {
		pc_drop(pc);
		return (PEERCLIENT_ERR_NOMEM);
	}
	pc->ai_next = pc->ai_list;
	if ((err = pc_connect_next(pc)) != 0) {
		pc_drop(pc);
		errno = err;
		return (err == ENOMEM ? PEERCLIENT_ERR_NOMEM :
		    PEERCLIENT_ERR_CONNECT);
	}
	pc->state = PC_TCP;
	if (pc->connect_timeout_ms > 0)
		pc_timer_set(pc, PC_TIMER_CONNECT, pc->connect_timeout_ms);
	return (PEERCLIENT_OK);
}

/* Finish a graceful close: close_notify, drop, report LOCAL. */
static void
pc_close_finish(struct peerclient *pc)
{
	SSL	*ssl;

	if (pc->bev != NULL &&
	    (ssl = bufferevent_openssl_get_ssl(pc->bev)) != NULL) {
		(void)SSL_shutdown(ssl);	/* best effort, non-blocking */
		ERR_clear_error();
	}
	pc_fail(pc, PEERCLIENT_CLOSED_LOCAL, "closed by the application");
}

int
peerclient_close(struct peerclient *pc)
{
	if (pc == NULL || pc->dead)
		return (PEERCLIENT_ERR_STATE);
	switch (pc->state) {
	case PC_IDLE:
	case PC_CLOSING:
		return (PEERCLIENT_ERR_STATE);
	case PC_TCP:
	case PC_TLS:
		pc_drop(pc);
		pc->state = PC_CLOSING;
		pc_timer_set(pc, PC_TIMER_LOCAL, 0);
		return (PEERCLIENT_OK);
	case PC_OPEN:
		break;
	}
	pc->state = PC_CLOSING;
	event_del(pc->ev_keepalive);
	bufferevent_disable(pc->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(pc->bev)) == 0)
		pc_timer_set(pc, PC_TIMER_LINGER, 0);
	else
		pc_timer_set(pc, PC_TIMER_LINGER, PEERCLIENT_CLOSE_LINGER);
	return (PEERCLIENT_OK);
}

int
peerclient_is_connected(const struct peerclient *pc)
{
	return (pc != NULL && !pc->dead && pc->state == PC_OPEN);
}

static void
pc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peerclient	*pc = arg;
	enum pc_timer		 why = pc->timer;

	(void)fd;
	(void)what;
	pc->timer = PC_TIMER_NONE;
	switch (why) {
	case PC_TIMER_CONNECT:
		pc_fail(pc, PEERCLIENT_CLOSED_TIMEOUT, pc->state == PC_TCP ?
		    "TCP connect timed out" : "TLS handshake timed out");
		break;
	case PC_TIMER_LINGER:
		pc_close_finish(pc);
		break;
	case PC_TIMER_LOCAL:
		pc_fail(pc, PEERCLIENT_CLOSED_LOCAL,
		    "closed by the application while connecting");
		break;
	case PC_TIMER_NONE:
		break;
	}
}

/* Decode and deliver every whole frame in the input buffer. */
static void
pc_readcb(struct bufferevent *bev, void *arg)
{
	struct peerclient	*pc = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	enum frame_status	 st;
	Envelope		*env;
	Peerd__V1__Limits	*lim;

	while (pc->state == PC_OPEN && pc->bev == bev) {
		st = frame_read(in, pc->max_frame, &env);
		if (st == FRAME_NEED_MORE)
			return;
		if (st != FRAME_OK) {
			pc_fail(pc, PEERCLIENT_CLOSED_FRAME,
			    frame_status_name(st));
			return;
		}
		if (env->body_case == PEERD__V1__ENVELOPE__BODY_WELCOME &&
		    env->welcome != NULL &&
		    (lim = env->welcome->limits) != NULL) {
			if (!pc->max_send_fixed && lim->max_frame > 0 &&
			    lim->max_frame <= FRAME_MAX_HARD)
				pc->max_send = lim->max_frame;
			if (!pc->keepalive_fixed &&
			    lim->keepalive_s != (uint32_t)pc->keepalive_s &&
			    lim->keepalive_s <= 86400) {
				pc->keepalive_s = (int)lim->keepalive_s;
				pc_keepalive_arm(pc);
			}
		}
		if (env->body_case == PEERD__V1__ENVELOPE__BODY_PONG &&
		    pc->keepalive_id != 0 && env->id == pc->keepalive_id) {
			pc->keepalive_id = 0;
			frame_free(env);
			continue;
		}
		if (pc->cb.on_envelope == NULL) {
			frame_free(env);
			continue;
		}
		pc_enter(pc);
		pc->cb.on_envelope(pc, env, pc->arg);
		if (pc_leave(pc) == -1)
			return;
	}
}

/* The output buffer drained. */
static void
pc_writecb(struct bufferevent *bev, void *arg)
{
	struct peerclient	*pc = arg;

	if (pc->bev != bev)
		return;
	if (pc->state == PC_CLOSING) {
		evtimer_del(pc->ev_timer);
		pc->timer = PC_TIMER_NONE;
		pc_close_finish(pc);
		return;
	}
	if (pc->state == PC_OPEN && pc->cb.on_drained != NULL) {
		pc_enter(pc);
		pc->cb.on_drained(pc, pc->arg);
		(void)pc_leave(pc);
	}
}

/*
 * Connected, EOF or error.  Before the handshake finished, a failed
 * certificate or host name check is TLS_VERIFY; other OpenSSL errors are
 * TLS; a socket error is ERROR; EOF during the handshake is TLS.
 */
static void
pc_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct peerclient	*pc = arg;
	char			 detail[PC_DETAIL_MAX];
	unsigned long		 e, first = 0;
	SSL			*ssl;
	long			 vr;
	int			 verify_failed = 0, saved_errno = errno;

	if (pc->bev != bev)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (pc->state != PC_TLS)
			return;
		pc->state = PC_OPEN;
		evtimer_del(pc->ev_timer);
		pc->timer = PC_TIMER_NONE;
		pc_keepalive_arm(pc);
		if (pc->pending != NULL) {
			if (evbuffer_get_length(pc->pending) > 0)
				bufferevent_write_buffer(bev, pc->pending);
			evbuffer_free(pc->pending);
			pc->pending = NULL;
		}
		if (pc->cb.on_connected != NULL) {
			pc_enter(pc);
			pc->cb.on_connected(pc, pc->arg);
			if (pc_leave(pc) == -1)
				return;
		}
		/* Frames may have arrived with the handshake's last flight. */
		if (pc->state == PC_OPEN && pc->bev == bev &&
		    evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			pc_readcb(bev, pc);
		return;
	}

	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		if (first == 0)
			first = e;
		if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
			verify_failed = 1;
	}
	ssl = bufferevent_openssl_get_ssl(bev);
	vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (pc->state == PC_TLS && (verify_failed || vr != X509_V_OK)) {
		snprintf(detail, sizeof detail, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		pc_fail(pc, PEERCLIENT_CLOSED_TLS_VERIFY, detail);
		return;
	}
	if (first != 0) {
		ERR_error_string_n(first, detail, sizeof detail);
		pc_fail(pc, PEERCLIENT_CLOSED_TLS, detail);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (pc->state == PC_TLS)
			pc_fail(pc, PEERCLIENT_CLOSED_TLS,
			    "connection closed during the TLS handshake");
		else
			pc_fail(pc, PEERCLIENT_CLOSED_EOF,
			    "connection closed by peerd");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		snprintf(detail, sizeof detail, "%s", saved_errno != 0 ?
		    strerror(saved_errno) : "socket error");
		pc_fail(pc, pc->state == PC_TLS ? PEERCLIENT_CLOSED_TLS :
		    PEERCLIENT_CLOSED_ERROR, detail);
		return;
	}
	pc_fail(pc, PEERCLIENT_CLOSED_ERROR, "unexpected bufferevent event");
}

int
peerclient_send(struct peerclient *pc, const Envelope *env)
{
	struct evbuffer	*out;
	size_t		 n;

	if (pc == NULL || env == NULL)
		return (PEERCLIENT_ERR_INVAL);
	if (pc->dead)
		return (PEERCLIENT_ERR_STATE);
	switch (pc->state) {
	case PC_TCP:
	case PC_TLS:
		out = pc->pending;
		break;
	case PC_OPEN:
		out = bufferevent_get_output(pc->bev);
		break;
	default:
		return (PEERCLIENT_ERR_STATE);
	}
	if (frame_write(out, env, pc->max_send) == 0) {
		pc->sent_recently = 1;
		return (PEERCLIENT_OK);
	}
	/* Only now pay for sizing the envelope again, to say why. */
	n = peerd__v1__envelope__get_packed_size(env);
	if (n == 0 || n > pc->max_send || n > FRAME_MAX_HARD)
		return (PEERCLIENT_ERR_TOO_LARGE);
	return (PEERCLIENT_ERR_NOMEM);
}

int
peerclient_send_ping(struct peerclient *pc, uint64_t id, uint64_t nonce)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Ping		ping = PEERD__V1__PING__INIT;

	ping.nonce = nonce;
	env.id = id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	return (peerclient_send(pc, &env));
}

uint64_t
peerclient_next_id(struct peerclient *pc)
{
	return (pc->next_id++);
}

size_t
peerclient_pending(const struct peerclient *pc)
{
	if (pc == NULL)
		return (0);
	if (pc->bev != NULL && pc->state != PC_TLS)
		return (evbuffer_get_length(bufferevent_get_output(pc->bev)));
	if (pc->pending != NULL)
		return (evbuffer_get_length(pc->pending));
	return (0);
}
