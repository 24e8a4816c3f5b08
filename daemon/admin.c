/*
 * admin.c -- the admin HTTP server (evhttp) on conf.admin_listen.
 *
 * Loopback by default.  Read-only: GET and HEAD, anything else 405,
 * unknown paths 404.
 *
 *   /healthz     200 "ok"; 503 "degraded: redis unreachable" (peerd
 *                still serves then: it is degraded, not down), or 503
 *                "degraded: revocations unknown" while the revocation
 *                list has not been read since start (supporters are told
 *                TRY_LATER: Redis answers, but not to SMEMBERS)
 *   /metrics     Prometheus text format (admin_metrics.c)
 *   /stats.json  the same figures as JSON, with history (admin_json.c)
 *   /            the status page (admin_page.c)
 *
 * Every figure comes from one stats_snapshot() per request: counts only.
 * Requests are bounded (headers ADMIN_HEADERS_MAX, no body, ADMIN_TIMEOUT).
 * While bound to loopback, a request whose Host header is a name other than
 * localhost is refused (421): a web page the operator visits cannot use DNS
 * rebinding to read the figures through the operator's browser.
 *
 * Connections are bounded too: at most ADMIN_CONNS_MAX at once (more are
 * closed as soon as they are accepted), each closed ADMIN_TIMEOUT seconds
 * after it was accepted or last answered, whatever it is doing then, and
 * out of descriptors the port stops accepting for LISTENER_BACKOFF
 * seconds, as the TLS port does (listener.c).  How: "Bounding
 * connections" below.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "peerd.h"

#define ADMIN_HOST_MAX	300	/* bytes of a Host header we look at */
#define ADMIN_CONNS_MAX	32	/* connections at once: scrapers and a
				   few browser tabs, with room to spare */

/* A connection we bound: its evhttp connection and its deadline. */
struct admin_conn {
	struct evhttp_connection *evcon;	/* NULL: a free slot */
	struct event		*deadline;
};

/* A bufferevent handed to evhttp for a connection not adopted yet. */
struct admin_new {
	struct bufferevent	*bev;		/* holds our reference */
	TAILQ_ENTRY(admin_new)	 entry;
};

static struct evhttp		*admin_http;
static struct evconnlistener	*admin_listener; /* evhttp's */
static struct event		*admin_ev_sample; /* history, once a minute */
static struct event		*admin_ev_resume; /* after EMFILE */
static struct event		*admin_ev_adopt;  /* admin_adopt, once evhttp
						     has new connections */
static int			 admin_loopback;  /* bound to loopback */
static struct admin_conn	 admin_conns[ADMIN_CONNS_MAX];
static u_int			 admin_nconns;
static int			 admin_full_logged;
static int			 admin_odd_logged;
static TAILQ_HEAD(, admin_new)	 admin_new =
    TAILQ_HEAD_INITIALIZER(admin_new);

/* One path we serve. */
struct admin_route {
	const char	*path;
	void		 (*serve)(struct evhttp_request *);
};

static void	admin_healthz(struct evhttp_request *);
static void	admin_metrics(struct evhttp_request *);
static void	admin_stats_json(struct evhttp_request *);
static void	admin_page(struct evhttp_request *);

static const struct admin_route admin_routes[] = {
	{ "/healthz", admin_healthz },
	{ "/metrics", admin_metrics },
	{ "/stats.json", admin_stats_json },
	{ "/", admin_page },
	{ "/index.html", admin_page },
};

/* Add the headers every answer carries. */
static void
admin_headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy", admin_page_csp());
}

/*
 * Send the answer built in the output buffer.  evhttp would send a HEAD
 * request the body too: give its length and drop it.
 */
static void
admin_send(struct evhttp_request *req, int code, const char *reason)
{
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);
	char		 len[32];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof len, "%zu", evbuffer_get_length(out));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", len);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	evhttp_send_reply(req, code, reason, NULL);
}

/* Answer a request with a status and a plain-text body. */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
	admin_headers(req, "text/plain; charset=utf-8");
	evbuffer_add(evhttp_request_get_output_buffer(req), body,
	    strlen(body));
	admin_send(req, code, reason);
}

/* GET /healthz: Redis first, as the likelier cause of both. */
static void
admin_healthz(struct evhttp_request *req)
{
	if (!redis_is_up())
		admin_reply(req, 503, "Service Unavailable",
		    "degraded: redis unreachable\n");
	else if (!revoke_known())
		admin_reply(req, 503, "Service Unavailable",
		    "degraded: revocations unknown\n");
	else
		admin_reply(req, 200, "OK", "ok\n");
}

/* GET /metrics. */
static void
admin_metrics(struct evhttp_request *req)
{
	struct stats_snapshot	*sn;

	sn = xmalloc(sizeof *sn);
	stats_snapshot(sn);
	admin_headers(req, "text/plain; version=0.0.4; charset=utf-8");
	admin_metrics_write(evhttp_request_get_output_buffer(req), sn);
	free(sn);
	admin_send(req, 200, "OK");
}

/* GET /stats.json. */
static void
admin_stats_json(struct evhttp_request *req)
{
	struct stats_snapshot	*sn;

	sn = xmalloc(sizeof *sn);
	stats_snapshot(sn);
	admin_headers(req, "application/json");
	admin_json_write(evhttp_request_get_output_buffer(req), sn);
	free(sn);
	admin_send(req, 200, "OK");
}

/* GET /: the status page. */
static void
admin_page(struct evhttp_request *req)
{
	const char	*html;
	size_t		 len;

	html = admin_page_html(&len);
	admin_headers(req, "text/html; charset=utf-8");
	evbuffer_add_reference(evhttp_request_get_output_buffer(req), html,
	    len, NULL, NULL);
	admin_send(req, 200, "OK");
}

/*
 * Return 1 if a Host header may reach us: absent (HTTP/1.0), a numeric
 * address or localhost, with or without a port.
 */
static int
admin_host_ok(const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 buf[ADMIN_HOST_MAX], *p;
	size_t		 len;

	if (host == NULL)
		return (1);
	if ((len = strlen(host)) == 0 || len >= sizeof buf)
		return (0);
	memcpy(buf, host, len + 1);
	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) == NULL ||
		    (p[1] != '\0' && p[1] != ':'))
			return (0);
		*p = '\0';
		return (inet_pton(AF_INET6, buf + 1, &a6) == 1);
	}
	if ((p = strchr(buf, ':')) != NULL)
		*p = '\0';
	if (strcasecmp(buf, "localhost") == 0)
		return (1);
	return (inet_pton(AF_INET, buf, &a4) == 1);
}

/*
 * Bounding connections.  libevent 2.1's evhttp has no limit on
 * connections, and its timeout (evhttp_set_timeout) starts again with
 * every read: a client sending a byte every few seconds would hold a
 * connection for hours, and enough such clients every descriptor peerd
 * has.  So we keep a table of connections with a deadline each.
 *
 * evhttp tells of a new connection only by asking for its bufferevent
 * (admin_bev), before the connection object exists.  admin_bev takes a
 * reference on the bufferevent, so it outlives whatever evhttp does, and
 * makes admin_adopt run once evhttp's accept is over.  By then evhttp has
 * made the connection its bufferevent's callback argument (as evhttp
 * does in libevent 2.0 to 2.2; checked both ways), and admin_adopt either
 * closes it (ADMIN_CONNS_MAX are open) or gives it a slot: a close
 * callback that frees the slot, and a deadline.  A bufferevent with no
 * callbacks left is one evhttp has already freed: there is nothing to
 * bound.
 *
 * The deadline is ADMIN_TIMEOUT seconds from accept, and again from each
 * answer (a kept-alive connection has that long for its next request):
 * whole requests and answers have to fit in it, not single reads.
 */

/* Free the slot of a connection evhttp is freeing. */
static void
admin_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct admin_conn	*ac = arg;

	(void)evcon;
	evtimer_del(ac->deadline);
	ac->evcon = NULL;
	admin_nconns--;
}

/* The deadline passed: close the connection, whatever it is doing. */
static void
admin_conn_expired(evutil_socket_t fd, short events, void *arg)
{
	struct admin_conn	*ac = arg;

	(void)fd;
	(void)events;
	log_debug("event=admin_closed reason=deadline secs=%d", ADMIN_TIMEOUT);
	evhttp_connection_free(ac->evcon);	/* admin_conn_closed runs */
}

/* Give the connection of a slot ADMIN_TIMEOUT seconds from now. */
static void
admin_conn_arm(struct admin_conn *ac)
{
	struct timeval	tv = { ADMIN_TIMEOUT, 0 };

	evtimer_add(ac->deadline, &tv);
}

/* A request came whole on evcon: its answer and the next request's time. */
static void
admin_conn_answering(struct evhttp_connection *evcon)
{
	u_int	i;

	for (i = 0; evcon != NULL && i < ADMIN_CONNS_MAX; i++) {
		if (admin_conns[i].evcon == evcon) {
			admin_conn_arm(&admin_conns[i]);
			return;
		}
	}
}

/* Take a new connection into the table, or close it if it is full. */
static void
admin_conn_track(struct bufferevent *bev)
{
	struct evhttp_connection	*evcon;
	struct admin_conn		*ac = NULL;
	bufferevent_event_cb		 eventcb;
	void				*cbarg;
	u_int				 i;

	bufferevent_getcb(bev, NULL, NULL, &eventcb, &cbarg);
	if (eventcb == NULL || admin_http == NULL)
		return;		/* evhttp has freed it already */
	evcon = cbarg;
	if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) != bev ||
	    evhttp_connection_get_server(evcon) != admin_http) {
		/* Another evhttp than the one described above. */
		if (!admin_odd_logged)
			log_warnx("event=admin_untracked reason=\"connection "
			    "not found, not bounded\"");
		admin_odd_logged = 1;
		return;
	}
	for (i = 0; i < ADMIN_CONNS_MAX && ac == NULL; i++) {
		if (admin_conns[i].evcon == NULL)
			ac = &admin_conns[i];
	}
	if (ac == NULL) {
		if (!admin_full_logged)
			log_warnx("event=admin_refused reason=too_many_conns "
			    "max=%d", ADMIN_CONNS_MAX);
		admin_full_logged = 1;
		evhttp_connection_free(evcon);
		return;
	}
	admin_full_logged = 0;
	ac->evcon = evcon;
	admin_nconns++;
	evhttp_connection_set_closecb(evcon, admin_conn_closed, ac);
	admin_conn_arm(ac);
}

/* evhttp's accepts are over: bound the connections they made. */
static void
admin_adopt(evutil_socket_t fd, short events, void *arg)
{
	struct admin_new	*an;

	(void)fd;
	(void)events;
	(void)arg;
	while ((an = TAILQ_FIRST(&admin_new)) != NULL) {
		TAILQ_REMOVE(&admin_new, an, entry);
		admin_conn_track(an->bev);
		bufferevent_decref(an->bev);	/* evhttp's, or gone */
		free(an);
	}
}

/*
 * evhttp wants a bufferevent for a connection just accepted: the one it
 * makes itself, with a reference of ours until admin_adopt has run.
 */
static struct bufferevent *
admin_bev(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;
	struct admin_new	*an;

	(void)arg;
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return (NULL);
	bufferevent_incref(bev);
	an = xmalloc(sizeof *an);
	an->bev = bev;
	TAILQ_INSERT_TAIL(&admin_new, an, entry);
	event_active(admin_ev_adopt, EV_TIMEOUT, 0);
	return (bev);
}

/* The back-off is over: accept again. */
static void
admin_resume(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (admin_listener != NULL && !server_stopping()) {
		evconnlistener_enable(admin_listener);
		log_info("event=admin_accept_resumed");
	}
}

/*
 * accept() on the admin port failed.  Without this callback libevent
 * logs the error and tries again at once: out of descriptors, that is a
 * loop at full CPU filling the log.  Back off as listener.c does.
 */
static void
admin_accept_error(struct evconnlistener *l, void *arg)
{
	(void)arg;
	listener_backoff(l, admin_ev_resume, "admin_accept", admin_nconns);
}

/* Route a request: method, Host, then the path table. */
static void
admin_dispatch(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*path, *host;
	size_t			 i;

	(void)arg;
	admin_conn_answering(evhttp_request_get_connection(req));
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		admin_reply(req, 405, "Method Not Allowed",
		    "method not allowed\n");
		return;
	}
	host = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Host");
	if (admin_loopback && !admin_host_ok(host)) {
		admin_reply(req, 421, "Misdirected Request",
		    "misdirected request: use a numeric address or "
		    "localhost\n");
		return;
	}
	uri = evhttp_request_get_evhttp_uri(req);
	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL ||
	    *path == '\0')
		path = "/";
	for (i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
		if (strcmp(path, admin_routes[i].path) == 0) {
			admin_routes[i].serve(req);
			return;
		}
	}
	admin_reply(req, 404, "Not Found", "not found\n");
}

/* Once a minute: add a history sample. */
static void
admin_sample(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	stats_history_sample();
}

/* Return 1 if host is a loopback address (127/8, ::1) or localhost. */
static int
admin_is_loopback(const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127);
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return (IN6_IS_ADDR_LOOPBACK(&a6));
	return (strcasecmp(host, "localhost") == 0);
}

/* Bind conf.admin_listen and serve; 0 or -1 (logged). */
int
admin_start(void)
{
	struct timeval		 every = { STATS_HISTORY_EVERY, 0 };
	struct evhttp_bound_socket *bound;
	char			*host;
	u_short			 port;
	u_int			 i;

	if (config_split_addr(conf.admin_listen, &host, &port) != 0) {
		log_error("event=admin_failed addr=%s reason=bad_address",
		    conf.admin_listen);
		return (-1);
	}
	admin_loopback = admin_is_loopback(host);
	if ((admin_http = evhttp_new(server_base)) == NULL)
		fatalx("event=admin_failed reason=evhttp_new");
	/* Accept every method evhttp knows so others get our 405, not 501. */
	evhttp_set_allowed_methods(admin_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(admin_http, ADMIN_HEADERS_MAX);
	evhttp_set_max_body_size(admin_http, 0);
	evhttp_set_timeout(admin_http, ADMIN_TIMEOUT);
	evhttp_set_gencb(admin_http, admin_dispatch, NULL);
	evhttp_set_bevcb(admin_http, admin_bev, NULL);
	admin_ev_adopt = event_new(server_base, -1, 0, admin_adopt, NULL);
	admin_ev_resume = evtimer_new(server_base, admin_resume, NULL);
	if (admin_ev_adopt == NULL || admin_ev_resume == NULL)
		fatalx("event=admin_failed reason=events");
	for (i = 0; i < ADMIN_CONNS_MAX; i++) {
		admin_conns[i].evcon = NULL;
		admin_conns[i].deadline = evtimer_new(server_base,
		    admin_conn_expired, &admin_conns[i]);
		if (admin_conns[i].deadline == NULL)
			fatalx("event=admin_failed reason=events");
	}
	if ((bound = evhttp_bind_socket_with_handle(admin_http, host,
	    port)) == NULL) {
		log_error("event=admin_failed addr=%s reason=bind",
		    conf.admin_listen);
		free(host);
		admin_stop();
		return (-1);
	}
	free(host);
	admin_listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(admin_listener, admin_accept_error);
	if (admin_ev_sample == NULL) {
		stats_history_sample();
		admin_ev_sample = event_new(server_base, -1, EV_PERSIST,
		    admin_sample, NULL);
		if (admin_ev_sample == NULL ||
		    event_add(admin_ev_sample, &every) != 0)
			fatalx("event=admin_failed reason=timer");
	}
	log_info("event=listening addr=%s proto=http", conf.admin_listen);
	return (0);
}

/* Stop serving (again is fine). */
void
admin_stop(void)
{
	u_int	i;

	if (admin_http != NULL) {
		admin_listener = NULL;
		evhttp_free(admin_http); /* admin_conn_closed for each */
		admin_http = NULL;
	}
	admin_adopt(-1, 0, NULL);	/* references not yet dropped */
	for (i = 0; i < ADMIN_CONNS_MAX; i++) {
		if (admin_conns[i].deadline != NULL) {
			event_free(admin_conns[i].deadline);
			admin_conns[i].deadline = NULL;
		}
	}
	if (admin_ev_adopt != NULL) {
		event_free(admin_ev_adopt);
		admin_ev_adopt = NULL;
	}
	if (admin_ev_resume != NULL) {
		event_free(admin_ev_resume);
		admin_ev_resume = NULL;
	}
	if (admin_ev_sample != NULL) {
		event_free(admin_ev_sample);
		admin_ev_sample = NULL;
	}
}
