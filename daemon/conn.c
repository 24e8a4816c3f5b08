/*
 * conn.c -- one client connection: TLS, frames, limits, timeouts, closing.
 *
 * The state machine is drawn in peerd.h above enum conn_state.  Three
 * callbacks drive it: conn_read (frames in), conn_write (output drained),
 * conn_event (TLS up, EOF, errors, idle timeout), plus one timer per
 * connection whose meaning depends on the state (handshake deadline, Hello
 * deadline, close deadline).  conn_free is the only way out and runs once.
 *
 * Closing after an Error: the Error is queued, reading continues but input
 * is discarded (so the kernel never answers unread data with a RST that
 * would destroy the Error in flight), and once the output is flushed we
 * send close_notify and a FIN and wait for the peer's EOF, all bounded by
 * CONN_CLOSE_WAIT.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
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

#include "peerd.h"

#define CONN_OVERFLOW	64	/* connections over max_connections that still
				   get a TOO_MANY_CONNECTIONS Error; beyond
				   that they are closed at accept */

struct conn_list	 conns = TAILQ_HEAD_INITIALIZER(conns);
static uint64_t		 conn_next_id = 1;

static void	conn_read(struct bufferevent *, void *);
static void	conn_write(struct bufferevent *, void *);
static void	conn_event(struct bufferevent *, short, void *);
static void	conn_timer(evutil_socket_t, short, void *);
static void	conn_close(struct conn *, const char *);
static int	conn_throttle(struct conn *);

/* Return the name of a state, for logs. */
const char *
conn_state_name(enum conn_state state)
{
	switch (state) {
	case CONN_TLS_HANDSHAKE:
		return ("tls_handshake");
	case CONN_HELLO:
		return ("hello");
	case CONN_READY:
		return ("ready");
	case CONN_CLOSING:
		return ("closing");
	}
	return ("unknown");
}

/* Return the name of a role, for logs. */
const char *
conn_role_name(Role role)
{
	switch (role) {
	case ROLE_REQUESTER:
		return ("requester");
	case ROLE_SUPPORTER:
		return ("supporter");
	case ROLE_OPERATOR:
		return ("operator");
	default:
		return ("none");
	}
}

/* Return the lower-case name of an error code ("bad_frame"), for logs. */
const char *
conn_code_name(ErrorCode code)
{
	static char			 names[64][32];
	const ProtobufCEnumValue	*v;
	size_t				 i;

	if ((u_int)code >= 64)
		return ("unknown");
	if (names[code][0] != '\0')
		return (names[code]);
	v = protobuf_c_enum_descriptor_get_value(
	    &peerd__v1__error_code__descriptor, code);
	if (v == NULL)
		return ("unknown");
	for (i = 0; v->name[i] != '\0' && i < sizeof names[0] - 1; i++)
		names[code][i] = tolower((u_char)v->name[i]);
	names[code][i] = '\0';
	return (names[code]);
}

/* Format a peer address as "host:port" ("[v6]:port"). */
static void
conn_format_addr(const struct sockaddr *sa, int salen, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN], port[8];

	if (getnameinfo(sa, (socklen_t)salen, host, sizeof host, port,
	    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
}

/* Arm the connection's timer for secs seconds. */
static void
conn_timer_set(struct conn *c, u_int secs)
{
	struct timeval	tv = { (time_t)secs, 0 };

	evtimer_add(c->timer, &tv);
}

/*
 * Take over an accepted socket: start the TLS handshake under the
 * handshake deadline.  Returns the conn, or NULL if the socket was closed
 * (shutting down, far over max_connections, out of resources).
 */
struct conn *
conn_new(int fd, const struct sockaddr *sa, int salen)
{
	struct conn	*c;
	SSL		*ssl;
	int		 one = 1;

	if (server_stopping()) {
		close(fd);
		return (NULL);
	}
	if (stats.conns >= conf.max_connections + CONN_OVERFLOW) {
		stats.refused++;
		log_warnx("event=refused reason=max_connections conns=%u",
		    stats.conns);
		close(fd);
		return (NULL);
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		log_warn("event=setsockopt option=TCP_NODELAY");
	if ((ssl = tls_new_ssl()) == NULL) {
		log_warnx("event=accept_failed reason=SSL_new");
		close(fd);
		return (NULL);
	}

	c = xcalloc(1, sizeof *c);
	c->id = conn_next_id++;
	c->state = CONN_TLS_HANDSHAKE;
	c->role = ROLE_NONE;
	c->max_frame = conf.max_frame_hello;
	c->since = util_now();
	TAILQ_INIT(&c->convs);
	conn_format_addr(sa, salen, c->addr, sizeof c->addr);

	c->bev = bufferevent_openssl_socket_new(server_base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		log_warnx("conn=%llu event=accept_failed reason=bufferevent",
		    (unsigned long long)c->id);
		SSL_free(ssl);
		close(fd);
		free(c);
		return (NULL);
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    FRAME_HEADER + c->max_frame);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->timer = evtimer_new(server_base, conn_timer, c);
	conn_timer_set(c, conf.handshake_timeout);

	if (stats.conns >= conf.max_connections)
		c->flags |= CONN_F_OVER_LIMIT;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	stats.conns++;
	stats.accepted++;
	log_debug("conn=%llu event=accepted addr=%s conns=%u",
	    (unsigned long long)c->id, c->addr, stats.conns);
	return (c);
}

/*
 * Leave the queue and the conversations: a requester's request goes, a
 * supporter's offers are rejected, and each conversation waits for this
 * side's return (grace), or ends at once for a revoked credential (so
 * CONN_F_REVOKED must be set before the fatal Error).  Runs once, when
 * the connection starts closing or, failing that, when it is freed.
 */
static void
conn_detach(struct conn *c)
{
	if (c->flags & CONN_F_DETACHED)
		return;
	c->flags |= CONN_F_DETACHED;
	conv_conn_gone(c);
	match_conn_gone(c);
	supporter_conn_gone(c);
}

/* Release a connection; the one place a conn is freed. */
void
conn_free(struct conn *c, const char *reason)
{
	log_info("conn=%llu event=closed reason=%s state=%s role=%s secs=%lld "
	    "frames_in=%llu frames_out=%llu", (unsigned long long)c->id,
	    reason, conn_state_name(c->state), conn_role_name(c->role),
	    (long long)(util_now() - c->since),
	    (unsigned long long)c->frames_in,
	    (unsigned long long)c->frames_out);
	conn_detach(c);
	TAILQ_REMOVE(&conns, c, entry);
	stats.conns--;
	stats.closed++;
	auth_free(c);
	event_free(c->timer);
	bufferevent_free(c->bev);	/* closes the socket, frees the SSL */
	free(c);
	server_conn_gone();
}

/* Collect the OpenSSL errors of this connection into buf. */
static char *
conn_ssl_errors(struct conn *c, char *buf, size_t len)
{
	unsigned long	 e;
	size_t		 o = 0;
	char		 one[256];

	buf[0] = '\0';
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue;	/* errno values libevent queued */
		ERR_error_string_n(e, one, sizeof one);
		if (o < len)
			o += snprintf(buf + o, len - o, "%s%s", o ? "; " : "",
			    one);
	}
	tls_errors(buf + (o < len ? o : len - 1), o < len ? len - o : 1);
	return (buf);
}

/*
 * Queue env as one frame.  Returns 0, or -1 if the connection is closing
 * (nothing more may follow the fatal Error) or the frame could not be
 * packed (over max_frame, out of memory).
 */
int
conn_send(struct conn *c, const Envelope *env)
{
	if (c->state == CONN_CLOSING || c->state == CONN_TLS_HANDSHAKE)
		return (-1);
	if (frame_write(bufferevent_get_output(c->bev), env,
	    conf.max_frame) != 0) {
		log_warnx("conn=%llu event=send_failed body=%s bytes=%zu",
		    (unsigned long long)c->id, frame_body_name(env),
		    frame_size(env));
		return (-1);
	}
	c->frames_out++;
	stats.frames_out++;
	return (0);
}

/*
 * Send Error{code, message, fatal} answering request id (0 when pushed).
 * A fatal error moves the connection to CLOSING; it is freed once the
 * Error has been flushed.  The message is ours (never client text) but is
 * escaped in the log anyway.
 */
void
conn_error(struct conn *c, uint64_t id, ErrorCode code, int fatal,
    const char *fmt, ...)
{
	Peerd__V1__Error	 err = PEERD__V1__ERROR__INIT;
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	char			 msg[256], esc[LOG_ESCAPE_MAX * 4 + 8];
	va_list			 ap;

	if (c->state == CONN_CLOSING || c->state == CONN_TLS_HANDSHAKE)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	log_escape(esc, sizeof esc, msg, strlen(msg));
	if (fatal)
		log_info("conn=%llu event=error code=%s fatal=1 id=%llu "
		    "msg=\"%s\"", (unsigned long long)c->id,
		    conn_code_name(code), (unsigned long long)id, esc);
	else
		log_debug("conn=%llu event=error code=%s fatal=0 id=%llu "
		    "msg=\"%s\"", (unsigned long long)c->id,
		    conn_code_name(code), (unsigned long long)id, esc);

	err.code = code;
	err.message = msg;
	err.fatal = fatal ? 1 : 0;
	env.id = id;
	env.body_case = BODY(ERROR);
	env.error = &err;
	stats.errors_sent++;
	conn_send(c, &env);
	if (fatal)
		conn_close(c, conn_code_name(code));
}

/* Return how many bytes wait to be written to c. */
size_t
conn_backlog(struct conn *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)));
}

/* Answer request id with Ok. */
void
conn_ok(struct conn *c, uint64_t id)
{
	Peerd__V1__Ok	ok = PEERD__V1__OK__INIT;
	Envelope	env = PEERD__V1__ENVELOPE__INIT;

	env.id = id;
	env.body_case = BODY(OK);
	env.ok = &ok;
	conn_send(c, &env);
}

/* Hello accepted: switch to READY with the post-Hello limits. */
void
conn_ready(struct conn *c, Role role)
{
	struct timeval	idle = { (time_t)conf.idle_timeout, 0 };

	c->state = CONN_READY;
	c->role = role;
	c->max_frame = conf.max_frame;
	evtimer_del(c->timer);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    FRAME_HEADER + c->max_frame);
	/* Output that cannot be written for as long is a dead peer too. */
	bufferevent_set_timeouts(c->bev, &idle, &idle);
}

/* Send close_notify and a FIN once the output is flushed. */
static void
conn_shutdown_write(struct conn *c)
{
	SSL	*ssl;

	if (c->flags & CONN_F_WRITE_SHUT)
		return;
	c->flags |= CONN_F_WRITE_SHUT;
	if ((c->flags & CONN_F_TLS_UP) &&
	    (ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL) {
		SSL_shutdown(ssl);
		ERR_clear_error();
	}
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
}

/* Enter CLOSING: keep draining input, flush output, then free. */
static void
conn_close(struct conn *c, const char *reason)
{
	c->state = CONN_CLOSING;
	c->reason = reason;
	conn_detach(c);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_del(c->timer);
	conn_timer_set(c, CONN_CLOSE_WAIT);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_shutdown_write(c);
}

/*
 * Backpressure: while more than CONN_OUTPUT_HIGH bytes wait to be sent to
 * this client, read nothing more from it (a client that sends but never
 * reads cannot grow our memory); conn_write resumes reading once the
 * output is down to CONN_OUTPUT_LOW.  Returns 1 while throttled.
 */
static int
conn_throttle(struct conn *c)
{
	if (c->flags & CONN_F_THROTTLED)
		return (1);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <=
	    CONN_OUTPUT_HIGH)
		return (0);
	c->flags |= CONN_F_THROTTLED;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_LOW, 0);
	log_debug("conn=%llu event=throttled output=%zu",
	    (unsigned long long)c->id,
	    evbuffer_get_length(bufferevent_get_output(c->bev)));
	return (1);
}

/* Read and dispatch every whole frame in the input buffer. */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	enum frame_status	 st;
	Envelope		*env;

	while (c->state == CONN_HELLO || c->state == CONN_READY) {
		if (conn_throttle(c))
			return;
		st = frame_read(in, c->max_frame, &env);
		switch (st) {
		case FRAME_NEED_MORE:
			return;
		case FRAME_OK:
			c->frames_in++;
			stats.frames_in++;
			dispatch(c, env);
			frame_free(env);
			break;
		case FRAME_EMPTY:
		case FRAME_TOO_LARGE:
			conn_error(c, 0, ERR(BAD_FRAME), 1,
			    "%s: frame length must be 1..%zu bytes",
			    frame_status_name(st), c->max_frame);
			break;
		case FRAME_BAD:
			conn_error(c, 0, ERR(BAD_MESSAGE), 1,
			    "frame body is not an Envelope");
			break;
		}
	}
	/* CLOSING: nothing more is read, but unread data must not pile up. */
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The output buffer drained: a closing connection shuts down. */
static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	int		 unread = 0;

	if (c->state != CONN_CLOSING && (c->flags & CONN_F_THROTTLED)) {
		c->flags &= ~CONN_F_THROTTLED;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(bev, EV_READ);
		log_debug("conn=%llu event=unthrottled",
		    (unsigned long long)c->id);
		conn_read(bev, c);	/* frames already buffered */
		return;
	}
	if (c->state != CONN_CLOSING ||
	    evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	conn_shutdown_write(c);
	/*
	 * Normally linger until the peer's EOF or the timer: a client still
	 * sending (say, the rest of an oversized frame) must not get a RST
	 * before it has read the Error.  At shutdown, leave as soon as
	 * nothing unread sits in the kernel (closing sends no RST then).
	 */
	if (server_stopping() &&
	    ioctl(bufferevent_getfd(bev), FIONREAD, &unread) == 0 &&
	    unread == 0)
		conn_free(c, c->reason);
}

/* The TLS handshake finished: wait for Hello. */
static void
conn_tls_up(struct conn *c)
{
	SSL	*ssl;

	c->state = CONN_HELLO;
	c->flags |= CONN_F_TLS_UP;
	evtimer_del(c->timer);
	conn_timer_set(c, conf.hello_timeout);
	if ((ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL)
		log_debug("conn=%llu event=tls_up version=%s cipher=%s",
		    (unsigned long long)c->id, SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
	if (c->flags & CONN_F_OVER_LIMIT) {
		conn_error(c, 0, ERR(TOO_MANY_CONNECTIONS), 1,
		    "too many connections, try again later");
		return;
	}
	/* Hello may have arrived with the end of the handshake. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) != 0)
		conn_read(c->bev, c);
}

/*
 * The one event callback: TLS up, idle timeout, EOF and errors.  Every
 * path that ends the connection goes through conn_free with its reason.
 */
static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	char		 err[512];
	const char	*reason;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		conn_tls_up(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (what & BEV_EVENT_WRITING)
			conn_free(c, "write_timeout");	/* cannot send */
		else if (c->state == CONN_READY) {
			conn_error(c, 0, ERR(TIMEOUT), 1,
			    "idle for %u seconds", conf.idle_timeout);
		} else
			conn_free(c, "timeout");
		return;
	}

	conn_ssl_errors(c, err, sizeof err);
	if (c->state == CONN_TLS_HANDSHAKE) {
		stats.tls_failed++;
		log_info("conn=%llu event=tls_failed reason=%s ssl=\"%s\"",
		    (unsigned long long)c->id,
		    (what & BEV_EVENT_EOF) ? "eof" : "error", err);
		conn_free(c, "tls_failed");
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_shutdown_write(c);	/* answer close_notify */
	if (c->state == CONN_CLOSING)
		reason = c->reason;
	else if (what & BEV_EVENT_EOF)
		reason = "eof";
	else if (err[0] != '\0')
		reason = "tls_error";
	else
		reason = "io_error";
	if (err[0] != '\0')
		log_debug("conn=%llu event=tls_error ssl=\"%s\"",
		    (unsigned long long)c->id, err);
	conn_free(c, reason);
}

/* The connection's timer: handshake, Hello or close deadline. */
static void
conn_timer(evutil_socket_t fd, short events, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)events;
	switch (c->state) {
	case CONN_TLS_HANDSHAKE:
		conn_free(c, "handshake_timeout");
		break;
	case CONN_HELLO:
		conn_error(c, 0, ERR(TIMEOUT), 1, "no Hello within %u seconds",
		    conf.hello_timeout);
		break;
	case CONN_READY:
		break;
	case CONN_CLOSING:
		conn_free(c, c->reason);
		break;
	}
}

/*
 * Shutdown: end every conversation (EndConversation{END_SHUTDOWN} to both
 * sides), then tell every client, drop unfinished handshakes.
 */
void
conn_shutdown_all(void)
{
	struct conn	*c, *next;

	conv_shutdown_all();
	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		switch (c->state) {
		case CONN_TLS_HANDSHAKE:
			conn_free(c, "shutdown");
			break;
		case CONN_HELLO:
		case CONN_READY:
			conn_error(c, 0, ERR(SHUTTING_DOWN), 1,
			    "server is shutting down");
			break;
		case CONN_CLOSING:
			break;
		}
	}
}

/* Free every connection (after the loop has ended). */
void
conn_free_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_free(c, c->state == CONN_CLOSING ? c->reason : "shutdown");
}
