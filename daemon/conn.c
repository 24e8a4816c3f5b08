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
 *
 * Limits enforced here: connections in total (max_connections) and from
 * one address (max_connections_per_addr, an IPv4 address or an IPv6 /64,
 * counted in conn_byaddr): a few over either get TOO_MANY_CONNECTIONS
 * after the handshake, more are closed at accept.  After Hello, a client
 * that sends nothing for 1.5 x keepalive (at least keepalive + 1 s; at
 * most idle_timeout) gets TIMEOUT; one whose output cannot be written for
 * idle_timeout is closed.  Output over CONN_OUTPUT_HIGH throttles (see
 * peerd.h); output over max_output drops the client as a slow reader.
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
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "peerd.h"

#define CONN_READ_MAX	(4096 - 64) /* bytes decrypted per read: the input
				   chain libevent allocates for it (plus its
				   header) is then 4 KiB, which is wiped when
				   freed, instead of the 32 KiB that the
				   default 16 KiB read would take */
#define CONN_OVERFLOW	64	/* connections over max_connections that still
				   get a TOO_MANY_CONNECTIONS Error; beyond
				   that they are closed at accept */

/* Connections open from one address (a value of conn_byaddr). */
struct conn_addr {
	u_int			 n;
};

struct conn_list	 conns = TAILQ_HEAD_INITIALIZER(conns);
static uint64_t		 conn_next_id = 1;
static struct map	 conn_byaddr;	/* conn_addr_key() -> conn_addr */

static void	conn_read(struct bufferevent *, void *);
static void	conn_write(struct bufferevent *, void *);
static void	conn_event(struct bufferevent *, short, void *);
static void	conn_timer(evutil_socket_t, short, void *);
static void	conn_close(struct conn *, const char *);
static void	conn_reading(struct conn *);

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

/*
 * Return the key an address is counted under: an IPv4 address (also one
 * mapped into IPv6) as 2^32 + the address, an IPv6 address by its /64 (a
 * host is usually given a whole /64, so counting single addresses would
 * limit nothing).  The two ranges meet only inside ::/8, which is
 * reserved; ::/64 (::1) counts as key 1 because 0 is not a key.
 */
static uint64_t
conn_addr_key(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;
	uint64_t			 k = 0;
	int				 i;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		return ((1ULL << 32) | ntohl(sin->sin_addr.s_addr));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		b = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return ((1ULL << 32) | (uint32_t)b[12] << 24 |
			    (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
			    b[15]);
		for (i = 0; i < 8; i++)
			k = k << 8 | b[i];
		return (k != 0 ? k : 1);
	default:
		return (2);	/* another reserved IPv6 /64 */
	}
}

/* Return how many connections are open from address key. */
static u_int
conn_addr_count(uint64_t key)
{
	struct conn_addr	*a;

	return ((a = map_get(&conn_byaddr, key)) != NULL ? a->n : 0);
}

/* Count one more connection from address key. */
static void
conn_addr_add(uint64_t key)
{
	struct conn_addr	*a;

	if ((a = map_get(&conn_byaddr, key)) == NULL) {
		a = xcalloc(1, sizeof *a);
		map_put(&conn_byaddr, key, a);
	}
	a->n++;
}

/* Count one connection less from address key; forget it at zero. */
static void
conn_addr_del(uint64_t key)
{
	struct conn_addr	*a;

	if ((a = map_get(&conn_byaddr, key)) == NULL)
		fatalx("event=bug where=conn_addr_del reason=not_counted");
	if (--a->n == 0)
		free(map_remove(&conn_byaddr, key));
}

/*
 * Return how long (ms) a READY client may send nothing: 1.5 x keepalive,
 * but at least CONN_KEEPALIVE_SLACK over it (a Ping sent on time may be
 * delayed on the way) and no more than idle_timeout.
 */
static u_int
conn_silence_ms(void)
{
	u_int	ka = conf.keepalive * 1000, slack = ka / 2;

	if (slack < CONN_KEEPALIVE_SLACK)
		slack = CONN_KEEPALIVE_SLACK;
	if (ka + slack > conf.idle_timeout * 1000)
		return (conf.idle_timeout * 1000);
	return (ka + slack);
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
	uint64_t	 key = conn_addr_key(sa);
	u_int		 from = conn_addr_count(key);
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
	if (from >= conf.max_connections_per_addr + CONN_OVERFLOW) {
		stats.refused++;
		log_warnx("event=refused reason=max_connections_per_addr "
		    "from_addr=%u", from);
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
	bufferevent_set_max_single_read(c->bev, CONN_READ_MAX);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    FRAME_HEADER + c->max_frame);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->timer = evtimer_new(server_base, conn_timer, c);
	conn_timer_set(c, conf.handshake_timeout);

	if (stats.conns >= conf.max_connections)
		c->flags |= CONN_F_OVER_LIMIT;
	else if (from >= conf.max_connections_per_addr)
		c->flags |= CONN_F_OVER_LIMIT | CONN_F_OVER_ADDR;
	c->addr_key = key;
	conn_addr_add(key);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	stats.conns++;
	stats.accepted++;
	log_debug("conn=%llu event=accepted addr=%s conns=%u from_addr=%u",
	    (unsigned long long)c->id, c->addr, stats.conns, from + 1);
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
	conn_addr_del(c->addr_key);
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
 * The output passed max_output: the client reads far slower than it is
 * sent to.  Queue nothing more and free it on the next turn of the loop
 * (from its timer: the caller may be a handler of another connection, or
 * conv.c walking this one's conversations).  Its conversations then wait
 * for it in their grace window as for any drop.
 */
static void
conn_slow(struct conn *c, size_t queued)
{
	c->flags |= CONN_F_SLOW;
	log_info("conn=%llu event=slow_reader_dropped output=%zu "
	    "max_output=%u", (unsigned long long)c->id, queued,
	    conf.max_output);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evtimer_del(c->timer);
	event_active(c->timer, EV_TIMEOUT, 1);
}

/*
 * The output went over CONN_OUTPUT_HIGH: stop reading c (a client that
 * sends but never reads cannot grow our memory), and each sender relaying
 * into it (conv.c blocks them), until conn_write sees the output down to
 * CONN_OUTPUT_LOW.
 */
static void
conn_throttle(struct conn *c, size_t queued)
{
	c->flags |= CONN_F_THROTTLED;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_LOW, 0);
	log_debug("conn=%llu event=throttled output=%zu",
	    (unsigned long long)c->id, queued);
}

/*
 * Output is about to be queued to c with none waiting: have it written
 * once the callback running now returns, in this turn of the loop, rather
 * than after the next epoll_wait reports the socket writable.  Every frame
 * queued to c until then goes out in the same SSL_write (frame_write packs
 * them into one chain), and the write event that libevent adds for the new
 * output and deletes once it is written never reaches the kernel: the base
 * uses epoll's changelist (server.c), where an add and a delete within one
 * turn cancel out.  If the socket cannot take it all, libevent's write
 * event stays added and finishes the job as before.
 */
static void
conn_write_soon(struct conn *c)
{
	event_active(&c->bev->ev_write, EV_WRITE, 1);
}

/*
 * Return 1 if bytes more may be queued to c without passing
 * CONN_OUTPUT_HIGH (always when nothing is queued).  Otherwise throttle c
 * as if it had passed the mark, so conn_write calls conv_drained once
 * there is room, and return 0.
 */
int
conn_fits(struct conn *c, size_t bytes)
{
	size_t	queued = conn_backlog(c);

	if (c->flags & (CONN_F_THROTTLED | CONN_F_SLOW))
		return (0);
	if (queued == 0 || queued + bytes <= CONN_OUTPUT_HIGH)
		return (1);
	conn_throttle(c, queued);
	return (0);
}

/*
 * Queue env as one frame.  Returns 0, or -1 if the connection is closing
 * (nothing more may follow the fatal Error), is being dropped as a slow
 * reader, or the frame could not be packed (over max_frame, out of
 * memory).  Past CONN_OUTPUT_HIGH the connection is throttled, past
 * max_output dropped (the frame is queued all the same).
 */
int
conn_send(struct conn *c, const Envelope *env)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 queued;

	if (c->state == CONN_CLOSING || c->state == CONN_TLS_HANDSHAKE ||
	    (c->flags & CONN_F_SLOW))
		return (-1);
	if (evbuffer_get_length(out) == 0)
		conn_write_soon(c);
	if (frame_write(out, env, conf.max_frame) != 0) {
		log_warnx("conn=%llu event=send_failed body=%s bytes=%zu",
		    (unsigned long long)c->id, frame_body_name(env),
		    frame_size(env));
		return (-1);
	}
	c->frames_out++;
	stats.frames_out++;
	queued = evbuffer_get_length(out);
	if (queued > conf.max_output)
		conn_slow(c, queued);
	else if (queued > CONN_OUTPUT_HIGH && !(c->flags & CONN_F_THROTTLED))
		conn_throttle(c, queued);
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

	if (c->state == CONN_CLOSING || c->state == CONN_TLS_HANDSHAKE ||
	    (c->flags & CONN_F_SLOW))
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

/*
 * Hello accepted: switch to READY with the post-Hello limits.  The read
 * timeout is the keepalive bound (libevent runs it only while reading is
 * on, so a throttled or blocked connection is not timed out for the
 * silence we impose); output that cannot be written for idle_timeout is
 * a dead peer too.
 */
void
conn_ready(struct conn *c, Role role)
{
	struct timeval	idle = { (time_t)conf.idle_timeout, 0 };
	struct timeval	silence;
	u_int		ms = conn_silence_ms();

	c->state = CONN_READY;
	c->role = role;
	c->max_frame = conf.max_frame;
	evtimer_del(c->timer);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    FRAME_HEADER + c->max_frame);
	silence.tv_sec = ms / 1000;
	silence.tv_usec = (ms % 1000) * 1000;
	bufferevent_set_timeouts(c->bev, &silence, &idle);
}

/*
 * Turn reading of c on or off to match its flags; frames already read
 * are dispatched from a deferred read callback, not from the caller.
 */
static void
conn_reading(struct conn *c)
{
	if (c->state != CONN_HELLO && c->state != CONN_READY)
		return;
	if (c->flags & (CONN_F_THROTTLED | CONN_F_BLOCKED | CONN_F_SLOW)) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) != 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * Sender c relayed into receiver rc, which is throttled: stop reading c
 * until conn_unblock finds none of its receivers throttled.
 */
void
conn_block(struct conn *c, struct conn *rc)
{
	if (c->flags & CONN_F_BLOCKED)
		return;
	c->flags |= CONN_F_BLOCKED;
	bufferevent_disable(c->bev, EV_READ);
	log_debug("conn=%llu event=read_paused reason=receiver_output "
	    "receiver=%llu", (unsigned long long)c->id,
	    (unsigned long long)rc->id);
}

/*
 * A receiver of blocked sender c drained or went away: read c again
 * unless another of its receivers is still throttled.  NULL is fine.
 */
void
conn_unblock(struct conn *c)
{
	if (c == NULL || !(c->flags & CONN_F_BLOCKED))
		return;
	if (c->flags & CONN_F_DETACHED) {	/* closing: nothing to read */
		c->flags &= ~CONN_F_BLOCKED;
		return;
	}
	if (conv_receiver_full(c))
		return;
	c->flags &= ~CONN_F_BLOCKED;
	log_debug("conn=%llu event=read_resumed", (unsigned long long)c->id);
	conn_reading(c);
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
 * Take one frame off the front of in and unpack it with the wiping
 * allocator (free it with conn_frame_free: every field a client sent,
 * chat text included, is wiped then, dispatched or refused).  Statuses as
 * frame_read().
 */
static enum frame_status
conn_frame_read(struct evbuffer *in, size_t max, Envelope **env)
{
	uint8_t			 hdr[FRAME_HEADER];
	enum frame_status	 st;
	unsigned char		*p;
	uint32_t		 n;

	*env = NULL;
	if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
		return (FRAME_NEED_MORE);
	if ((st = frame_header_check(hdr, sizeof hdr, max, &n)) != FRAME_OK)
		return (st);
	if (evbuffer_get_length(in) - FRAME_HEADER < n)
		return (FRAME_NEED_MORE);
	/* The whole frame is here and n <= max: the copy is bounded. */
	if ((p = evbuffer_pullup(in, FRAME_HEADER + (ev_ssize_t)n)) == NULL)
		return (FRAME_BAD);
	*env = peerd__v1__envelope__unpack(&xmalloc_wipe_pb, n,
	    p + FRAME_HEADER);
	evbuffer_drain(in, FRAME_HEADER + (size_t)n);
	return (*env == NULL ? FRAME_BAD : FRAME_OK);
}

/* Free an envelope from conn_frame_read, wiping what the client sent. */
static void
conn_frame_free(Envelope *env)
{
	if (env != NULL)
		peerd__v1__envelope__free_unpacked(env, &xmalloc_wipe_pb);
}

/* Read and dispatch every whole frame in the input buffer. */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	enum frame_status	 st;
	Envelope		*env;

	if (c->flags & CONN_F_SLOW)
		return;
	while (c->state == CONN_HELLO || c->state == CONN_READY) {
		/* Throttled or blocked by a frame just handled. */
		if (c->flags & (CONN_F_THROTTLED | CONN_F_BLOCKED))
			return;
		st = conn_frame_read(in, c->max_frame, &env);
		switch (st) {
		case FRAME_NEED_MORE:
			return;
		case FRAME_OK:
			c->frames_in++;
			stats.frames_in++;
			dispatch(c, env);
			conn_frame_free(env);
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

/*
 * The output buffer drained: a throttled connection (down to
 * CONN_OUTPUT_LOW) gets the messages held for it, its blocked senders and
 * its own reading resume; a closing one shuts down.
 */
static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	int		 unread = 0;

	if (c->flags & CONN_F_SLOW)
		return;
	if (c->state != CONN_CLOSING && (c->flags & CONN_F_THROTTLED)) {
		c->flags &= ~CONN_F_THROTTLED;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		log_debug("conn=%llu event=unthrottled output=%zu",
		    (unsigned long long)c->id,
		    evbuffer_get_length(bufferevent_get_output(bev)));
		conv_drained(c);	/* may throttle it again */
		conn_reading(c);
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
		    "too many connections%s, try again later",
		    (c->flags & CONN_F_OVER_ADDR) ? " from your address" : "");
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
			    "nothing received for %u ms; send Ping every %u s",
			    conn_silence_ms(), conf.keepalive);
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
	if (c->flags & CONN_F_SLOW) {
		conn_free(c, "slow_reader");
		return;
	}
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
	map_clear(&conn_byaddr);
}
