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
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "peerd.h"

#define ADMIN_HOST_MAX	300	/* bytes of a Host header we look at */

static struct evhttp	*admin_http;
static struct event	*admin_ev_sample;	/* history, once a minute */
static int		 admin_loopback;	/* bound to loopback */

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

/* Route a request: method, Host, then the path table. */
static void
admin_dispatch(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*path, *host;
	size_t			 i;

	(void)arg;
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
	struct timeval	 every = { STATS_HISTORY_EVERY, 0 };
	char		*host;
	u_short		 port;

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
	if (evhttp_bind_socket(admin_http, host, port) != 0) {
		log_error("event=admin_failed addr=%s reason=bind",
		    conf.admin_listen);
		free(host);
		evhttp_free(admin_http);
		admin_http = NULL;
		return (-1);
	}
	free(host);
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

/* Stop serving. */
void
admin_stop(void)
{
	if (admin_http != NULL) {
		evhttp_free(admin_http);
		admin_http = NULL;
	}
	if (admin_ev_sample != NULL) {
		event_free(admin_ev_sample);
		admin_ev_sample = NULL;
	}
}
