/*
 * admin.c -- the admin HTTP server (evhttp) on conf.admin_listen.
 *
 * Loopback by default.  GET /healthz answers 200 "ok" or 503 while Redis
 * is unreachable (peerd still serves then: it is degraded, not down).
 * /metrics and the operator pages arrive with the next issue.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "peerd.h"

static struct evhttp	*admin_http;

/* Answer a request with a status and a plain-text body. */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, code, reason, NULL);
}

/* GET /healthz. */
static void
admin_healthz(struct evhttp_request *req, void *arg)
{
	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		admin_reply(req, 405, "Method Not Allowed",
		    "method not allowed\n");
		return;
	}
	if (redis_is_up())
		admin_reply(req, 200, "OK", "ok\n");
	else
		admin_reply(req, 503, "Service Unavailable",
		    "degraded: redis unreachable\n");
}

/* Anything else. */
static void
admin_notfound(struct evhttp_request *req, void *arg)
{
	(void)arg;
	admin_reply(req, 404, "Not Found", "not found\n");
}

/* Bind conf.admin_listen and serve; 0 or -1 (logged). */
int
admin_start(void)
{
	char	*host;
	u_short	 port;

	if (config_split_addr(conf.admin_listen, &host, &port) != 0) {
		log_error("event=admin_failed addr=%s reason=bad_address",
		    conf.admin_listen);
		return (-1);
	}
	if ((admin_http = evhttp_new(server_base)) == NULL)
		fatalx("event=admin_failed reason=evhttp_new");
	evhttp_set_allowed_methods(admin_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(admin_http, 8192);
	evhttp_set_max_body_size(admin_http, 0);
	evhttp_set_timeout(admin_http, 10);
	evhttp_set_cb(admin_http, "/healthz", admin_healthz, NULL);
	evhttp_set_gencb(admin_http, admin_notfound, NULL);
	if (evhttp_bind_socket(admin_http, host, port) != 0) {
		log_error("event=admin_failed addr=%s reason=bind",
		    conf.admin_listen);
		free(host);
		evhttp_free(admin_http);
		admin_http = NULL;
		return (-1);
	}
	free(host);
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
}
