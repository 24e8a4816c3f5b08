/*
 * test_admin.c -- the admin HTTP port against a real peerd and Redis:
 * /metrics after real activity (a requester queued for a tag nobody has,
 * a match, a relayed message), /stats.json with the same figures, no id,
 * name or message text in either, 404/405/421, headers, bounded requests,
 * and /healthz while Redis is away or the revocation list cannot be read.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "credential.h"
#include "fault.h"
#include "frame.h"
#include "harness.h"
#include "people.h"

#define T_BODY_MAX	(256 * 1024)	/* bytes of an answer kept */
#define T_WAIT_MS	10000		/* ms, for a figure to change */
#define T_SUP_ID	"sup-zq7"	/* the supporter's credential id */
#define T_SUP_NAME	"Zebedee Quillfeather"	/* its display name */
#define T_TEXT		"plumtree-whisper-4471"	/* message text */
#define T_CAPACITY	2		/* the supporter's slots */

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_##x

static char	body[T_BODY_MAX];

/* GET path into body; return the status. */
static int
get(struct world *w, const char *path)
{
	return (raw_http_get(w->h->admin_port, path, body, sizeof body,
	    HARNESS_IO_MS));
}

/*
 * Send a whole raw request and read the whole answer (headers too) into
 * out until the server closes.  Returns the status, or -1.
 */
static int
http_raw(int port, const char *req, size_t reqlen, char *out, size_t len)
{
	int64_t		 end = harness_now_ms() + HARNESS_IO_MS;
	struct pollfd	 pfd;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, status = -1;

	out[0] = '\0';
	if ((fd = raw_tcp_connect(port)) == -1)
		return (-1);
	if (raw_tcp_send(fd, req, reqlen) == -1) {
		/* peerd may have answered and closed before reading it all. */
	}
	while (got < len - 1 && harness_now_ms() < end) {
		n = recv(fd, out + got, len - 1 - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, 100);
	}
	out[got] = '\0';
	close(fd);
	if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
		return (-1);
	return (status);
}

/* Return the value of the sample line "name value" in a metrics body. */
static long long
metric(const char *text, const char *name)
{
	char		 key[256];
	const char	*p;
	long long	 v;

	snprintf(key, sizeof key, "\n%s ", name);
	if ((p = strstr(text, key)) == NULL)
		return (-1);
	if (sscanf(p + strlen(key), "%lld", &v) != 1)
		return (-1);
	return (v);
}

/* Poll /metrics until name has value want; return the last value. */
static long long
metric_wait(struct world *w, const char *name, long long want)
{
	int64_t		end = harness_now_ms() + T_WAIT_MS;
	long long	v = -1;

	while (harness_now_ms() < end) {
		if (get(w, "/metrics") == 200 &&
		    (v = metric(body, name)) == want)
			break;
		harness_msleep(50);
	}
	return (v);
}

/* Fail if body holds anything that names a person or their words. */
static void
assert_anonymous(const char *what)
{
	const char	*bad[] = { T_SUP_ID, T_SUP_NAME, "Zebedee", T_TEXT,
	    "Peer sup", "guest-" };
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (strstr(body, bad[i]) != NULL)
			fail_msg("%s contains \"%s\"", what, bad[i]);
	}
}

/*
 * Check s is one JSON object: balanced braces and brackets outside
 * strings, valid escapes, nothing after the end but a newline.
 */
static void
assert_json(const char *s)
{
	char	 stack[64];
	int	 depth = 0, in_str = 0;

	assert_int_equal(*s, '{');
	for (; *s != '\0'; s++) {
		if (in_str) {
			if (*s == '\\') {
				assert_non_null(strchr("\"\\/bfnrtu", s[1]));
				s++;
			} else if (*s == '"')
				in_str = 0;
			else
				assert_true((unsigned char)*s >= 0x20);
			continue;
		}
		if (*s == '"')
			in_str = 1;
		else if (*s == '{' || *s == '[') {
			assert_true(depth < (int)sizeof stack);
			stack[depth++] = *s == '{' ? '}' : ']';
		} else if (*s == '}' || *s == ']') {
			assert_true(depth > 0);
			assert_int_equal(*s, stack[--depth]);
			if (depth == 0)
				break;
		}
	}
	assert_int_equal(depth, 0);
	assert_string_equal(s, "}\n");
}

/* A requester queued for lgbtq, which no supporter has. */
static struct tclient *
queue_lgbtq(struct world *w)
{
	struct tclient	*r;
	Envelope	*env;

	assert_non_null(r = people_requester(w, NULL));
	assert_non_null(env = people_request(r, PEOPLE_TAG_LGBTQ, NULL, NULL,
	    0));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
	return (r);
}

/* The supporter T_SUP_ID (bme, T_CAPACITY slots), available. */
static struct tclient *
supporter_bme(struct world *w)
{
	struct pcred	 c;
	struct tclient	*s;

	assert_int_equal(world_cred_full(w, &c, T_SUP_ID, T_SUP_NAME,
	    PEOPLE_TAG_BME, "en", T_CAPACITY, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c));
	return (s);
}

static int
setup(void **state)
{
	return (world_setup(state));
}

/* Every metric the issue names is there, with HELP and TYPE. */
static void
test_metrics_names(void **state)
{
	struct world	*w = *state;
	const char	*names[] = { "peerd_queue_waiting",
	    "peerd_queue_waiting_by_tag", "peerd_queue_oldest_wait_seconds",
	    "peerd_wait_seconds", "peerd_supporters",
	    "peerd_supporter_capacity_available_by_tag",
	    "peerd_conversations_active", "peerd_messages_relayed_total",
	    "peerd_matches_total", "peerd_offers_total",
	    "peerd_reports_total", "peerd_connections",
	    "peerd_tls_handshake_failures_total", "peerd_redis_up",
	    "peerd_revocations_known" };
	char		 line[256];
	size_t		 i;

	assert_int_equal(get(w, "/metrics"), 200);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(line, sizeof line, "# HELP %s ", names[i]);
		if (strstr(body, line) == NULL)
			fail_msg("no HELP for %s", names[i]);
		snprintf(line, sizeof line, "# TYPE %s ", names[i]);
		if (strstr(body, line) == NULL)
			fail_msg("no TYPE for %s", names[i]);
	}
	assert_non_null(strstr(body, "# TYPE peerd_wait_seconds histogram\n"));
	assert_non_null(strstr(body,
	    "# TYPE peerd_matches_total counter\n"));
	assert_non_null(strstr(body, "# TYPE peerd_queue_waiting gauge\n"));
	/* Every label value the issue lists. */
	assert_int_equal(metric(body,
	    "peerd_supporters{status=\"offline\"}"), 0);
	assert_int_equal(metric(body, "peerd_supporters{status=\"on_break\"}"),
	    0);
	assert_int_equal(metric(body,
	    "peerd_offers_total{outcome=\"timed_out\"}"), 0);
	assert_int_equal(metric(body,
	    "peerd_offers_total{outcome=\"declined\"}"), 0);
	assert_int_equal(metric(body, "peerd_connections{role=\"operator\"}"),
	    0);
	assert_int_equal(metric(body, "peerd_wait_seconds_count"), 0);
	assert_int_equal(metric(body,
	    "peerd_wait_seconds_bucket{le=\"+Inf\"}"), 0);
	/* Every catalogue tag has its series, at zero. */
	assert_int_equal(metric(body,
	    "peerd_queue_waiting_by_tag{tag=\"" PEOPLE_TAG_WARD "\"}"), 0);
	assert_int_equal(metric(body, "peerd_supporter_capacity_available_by_"
	    "tag{tag=\"" PEOPLE_TAG_WARD "\"}"), 0);
	assert_int_equal(metric(body, "peerd_redis_up"), 1);
}

/*
 * A queued requester for a tag nobody has, then a match and a message:
 * the figures follow, and neither /metrics nor /stats.json names anyone.
 */
static void
test_metrics_activity(void **state)
{
	struct world	*w = *state;
	struct tclient	*r1, *r2, *s;
	struct pconv	 cv;
	Envelope	*m;

	r1 = queue_lgbtq(w);
	s = supporter_bme(w);
	assert_int_equal(get(w, "/metrics"), 200);
	assert_int_equal(metric(body, "peerd_queue_waiting"), 1);
	assert_int_equal(metric(body, "peerd_queue_waiting_by_tag{tag=\""
	    PEOPLE_TAG_LGBTQ "\"}"), 1);
	assert_int_equal(metric(body, "peerd_queue_waiting_by_tag{tag=\""
	    PEOPLE_TAG_BME "\"}"), 0);
	assert_int_equal(metric(body, "peerd_supporter_capacity_available_by_"
	    "tag{tag=\"" PEOPLE_TAG_BME "\"}"), T_CAPACITY);
	assert_int_equal(metric(body, "peerd_supporter_capacity_available_by_"
	    "tag{tag=\"" PEOPLE_TAG_LGBTQ "\"}"), 0);
	assert_int_equal(metric(body,
	    "peerd_supporters{status=\"available\"}"), 1);
	assert_int_equal(metric(body, "peerd_supporters{status=\"away\"}"), 0);
	assert_int_equal(metric(body,
	    "peerd_connections{role=\"requester\"}"), 1);
	assert_int_equal(metric(body,
	    "peerd_connections{role=\"supporter\"}"), 1);
	assert_int_equal(metric(body, "peerd_matches_total"), 0);
	assert_int_equal(metric(body, "peerd_redis_up"), 1);
	assert_true(metric(body, "peerd_queue_oldest_wait_seconds") >= 0);

	/* A second requester asks for bme: matched, then one message. */
	assert_non_null(r2 = people_requester(w, NULL));
	assert_int_equal(people_match(r2, s, PEOPLE_TAG_BME, NULL, &cv), 0);
	assert_int_equal(people_chat(r2, cv.id, 1, T_TEXT, NULL), 0);
	assert_non_null(m = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	frame_free(m);

	assert_int_equal(metric_wait(w, "peerd_messages_relayed_total", 1),
	    1);
	assert_int_equal(metric(body, "peerd_matches_total"), 1);
	assert_int_equal(metric(body,
	    "peerd_offers_total{outcome=\"accepted\"}"), 1);
	assert_int_equal(metric(body, "peerd_conversations_active"), 1);
	assert_int_equal(metric(body, "peerd_queue_waiting"), 1);
	assert_int_equal(metric(body, "peerd_wait_seconds_count"), 1);
	assert_int_equal(metric(body,
	    "peerd_wait_seconds_bucket{le=\"10\"}"), 1);
	assert_int_equal(metric(body,
	    "peerd_wait_seconds_bucket{le=\"+Inf\"}"), 1);
	assert_int_equal(metric(body, "peerd_supporter_capacity_available_by_"
	    "tag{tag=\"" PEOPLE_TAG_BME "\"}"), T_CAPACITY - 1);
	assert_int_equal(metric(body,
	    "peerd_connections{role=\"requester\"}"), 2);
	assert_int_equal(metric(body, "peerd_reports_total"), 0);
	assert_int_equal(metric(body, "peerd_tls_handshake_failures_total"),
	    0);
	assert_anonymous("/metrics");

	assert_int_equal(get(w, "/stats.json"), 200);
	assert_json(body);
	assert_anonymous("/stats.json");
	assert_non_null(strstr(body, "\"queue\":{\"waiting\":1,"));
	assert_non_null(strstr(body, "\"tag\":\"" PEOPLE_TAG_LGBTQ "\""));
	assert_non_null(strstr(body, "\"matches\":1,"));
	assert_non_null(strstr(body, "\"messages_relayed\":1,"));
	assert_non_null(strstr(body, "\"redis_up\":true"));
	assert_non_null(strstr(body, "\"conversations_active\":1,"));

	tclient_free(r2);
	tclient_free(s);
	tclient_free(r1);
}

/* /stats.json: one JSON object with the figures, per tag and over time. */
static void
test_stats_json(void **state)
{
	struct world	*w = *state;
	struct tclient	*r, *s;
	char		 want[256];

	r = queue_lgbtq(w);
	s = supporter_bme(w);
	assert_int_equal(get(w, "/stats.json"), 200);
	assert_json(body);
	assert_anonymous("/stats.json");
	assert_non_null(strstr(body, "\"queue\":{\"waiting\":1,"));
	assert_non_null(strstr(body, "\"supporters\":{\"available\":1,"
	    "\"away\":0,\"on_break\":0,\"offline\":0}"));
	snprintf(want, sizeof want, "\"capacity_available\":%d,", T_CAPACITY);
	assert_non_null(strstr(body, want));
	/* lgbtq: 1 waiting, no free place: a gap of 1. */
	assert_non_null(strstr(body, "{\"tag\":\"" PEOPLE_TAG_LGBTQ "\","));
	assert_non_null(strstr(strstr(body, "\"tag\":\"" PEOPLE_TAG_LGBTQ
	    "\""), "\"waiting\":1,\"capacity_available\":0,\"gap\":1}"));
	snprintf(want, sizeof want, "\"waiting\":0,\"capacity_available\":%d,"
	    "\"gap\":0}", T_CAPACITY);
	assert_non_null(strstr(strstr(body, "\"tag\":\"" PEOPLE_TAG_BME "\""),
	    want));
	assert_non_null(strstr(body, "\"connections\":{\"requester\":1,"
	    "\"supporter\":1,\"operator\":0,\"none\":0}"));
	assert_non_null(strstr(body, "\"wait_histogram\":{\"buckets\":["));
	assert_non_null(strstr(body, "\"history_every_s\":60,"));
	/* peerd took a sample as it started. */
	assert_non_null(strstr(body, "\"history\":[{\"t\":"));
	assert_non_null(strstr(body, "\"redis_up\":true"));
	tclient_free(s);
	tclient_free(r);
}

/* Unknown paths 404; other methods 405 with Allow; HEAD has no body. */
static void
test_methods_paths(void **state)
{
	struct world	*w = *state;
	const char	*methods[] = { "POST", "PUT", "DELETE", "OPTIONS",
	    "PATCH" };
	char		 req[512];
	size_t		 i;
	int		 port = w->h->admin_port, n;

	assert_int_equal(get(w, "/nope"), 404);
	assert_int_equal(get(w, "/metrics/x"), 404);
	assert_int_equal(get(w, "/../etc/passwd"), 404);
	assert_int_equal(get(w, "/healthz"), 200);
	assert_string_equal(body, "ok\n");
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		n = snprintf(req, sizeof req, "%s /metrics HTTP/1.1\r\n"
		    "Host: 127.0.0.1\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n", methods[i]);
		if (http_raw(port, req, (size_t)n, body, sizeof body) != 405)
			fail_msg("%s: %.80s", methods[i], body);
		assert_non_null(strstr(body, "\r\nAllow: GET, HEAD\r\n"));
	}
	n = snprintf(req, sizeof req, "HEAD /metrics HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(http_raw(port, req, (size_t)n, body, sizeof body),
	    200);
	assert_non_null(strstr(body, "\r\n\r\n"));
	assert_string_equal(strstr(body, "\r\n\r\n"), "\r\n\r\n");
	assert_null(strstr(body, "\r\nContent-Length: 0\r\n"));
}

/* Headers: type, no caching, nosniff, a CSP with no inline allowance. */
static void
test_headers(void **state)
{
	struct world	*w = *state;
	const char	*paths[] = { "/", "/metrics", "/stats.json",
	    "/healthz" };
	const char	*types[] = { "text/html; charset=utf-8",
	    "text/plain; version=0.0.4; charset=utf-8", "application/json",
	    "text/plain; charset=utf-8" };
	char		 req[256], type[128];
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n"
		    "Host: localhost:%d\r\nConnection: close\r\n\r\n",
		    paths[i], w->h->admin_port);
		assert_int_equal(http_raw(w->h->admin_port, req, (size_t)n,
		    body, sizeof body), 200);
		snprintf(type, sizeof type, "\r\nContent-Type: %s\r\n",
		    types[i]);
		if (strstr(body, type) == NULL)
			fail_msg("%s: no %s", paths[i], type + 2);
		assert_non_null(strstr(body,
		    "\r\nCache-Control: no-store\r\n"));
		assert_non_null(strstr(body,
		    "\r\nX-Content-Type-Options: nosniff\r\n"));
		assert_non_null(strstr(body, "\r\nContent-Security-Policy: "
		    "default-src 'none'; script-src 'sha256-"));
		assert_null(strstr(body, "unsafe-inline"));
	}
	/* The page fetches nothing from elsewhere. */
	assert_int_equal(get(w, "/"), 200);
	assert_non_null(strstr(body, "People waiting"));
	assert_non_null(strstr(body, "Supporters free, by identity"));
	assert_null(strstr(body, " src="));
	assert_null(strstr(body, "<link"));
	assert_null(strstr(body, "@import"));
	assert_null(strstr(body, "url("));
	assert_null(strstr(body, "https://"));
}

/*
 * A name in Host other than localhost is refused while the port is on
 * loopback (DNS rebinding); numeric addresses and localhost are fine.
 */
static void
test_host(void **state)
{
	struct world	*w = *state;
	const char	*ok[] = { "127.0.0.1", "127.0.0.1:80", "localhost",
	    "LOCALHOST:7475", "[::1]:7475" };
	const char	*bad[] = { "evil.example", "evil.example:7475",
	    "127.0.0.1.evil.example", "[::1", "" };
	char		 req[256];
	size_t		 i;
	int		 n, port = w->h->admin_port;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		n = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\n"
		    "Host: %s\r\nConnection: close\r\n\r\n", ok[i]);
		if (http_raw(port, req, (size_t)n, body, sizeof body) != 200)
			fail_msg("Host: %s: %.80s", ok[i], body);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = snprintf(req, sizeof req, "GET /stats.json HTTP/1.1\r\n"
		    "Host: %s\r\nConnection: close\r\n\r\n", bad[i]);
		if (http_raw(port, req, (size_t)n, body, sizeof body) != 421)
			fail_msg("Host: %s: %.80s", bad[i], body);
		assert_null(strstr(body, "\"queue\""));
	}
}

/* Oversized headers and a body are refused; peerd carries on. */
static void
test_bounded(void **state)
{
	struct world	*w = *state;
	char		*req;
	size_t		 len = 64 * 1024;
	int		 n, st;

	req = malloc(len);
	assert_non_null(req);
	n = snprintf(req, len, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "X-Big: ");
	memset(req + n, 'a', len - (size_t)n - 8);
	memcpy(req + len - 8, "\r\n\r\n", 5);
	st = http_raw(w->h->admin_port, req, len - 4, body, sizeof body);
	assert_true(st == -1 || st == 400 || st == 413 || st == 431);
	n = snprintf(req, len, "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 100000\r\n\r\n");
	memset(req + n, 'b', 1000);
	st = http_raw(w->h->admin_port, req, (size_t)n + 1000, body,
	    sizeof body);
	assert_true(st == -1 || st == 405 || st == 413);
	free(req);
	assert_int_equal(get(w, "/healthz"), 200);
	assert_true(harness_peerd_alive(w->h));
}

/* Redis stopped: /healthz 503 with the reason, peerd_redis_up 0. */
static void
test_healthz_redis_down(void **state)
{
	struct world	*w = *state;
	int64_t		 end;
	int		 st = -1;

	assert_int_equal(get(w, "/healthz"), 200);
	assert_int_equal(harness_redis_stop(w->h), 0);
	for (end = harness_now_ms() + T_WAIT_MS; harness_now_ms() < end;
	    harness_msleep(100)) {
		if ((st = get(w, "/healthz")) == 503)
			break;
	}
	assert_int_equal(st, 503);
	assert_string_equal(body, "degraded: redis unreachable\n");
	assert_int_equal(get(w, "/metrics"), 200);
	assert_int_equal(metric(body, "peerd_redis_up"), 0);
	assert_int_equal(get(w, "/stats.json"), 200);
	assert_non_null(strstr(body, "\"redis_up\":false"));
}

/*
 * Poll /healthz until it answers want with body text, or T_WAIT_MS
 * passes.  Returns the last status seen.
 */
static int
healthz_wait(struct world *w, int want, const char *text)
{
	int64_t	end = harness_now_ms() + T_WAIT_MS;
	int	st;

	for (;;) {
		st = get(w, "/healthz");
		if ((st == want && strcmp(body, text) == 0) ||
		    harness_now_ms() >= end)
			return (st);
		harness_msleep(100);
	}
}

/*
 * peerd:revoked has the wrong type when peerd first reaches Redis, so
 * the revocation list is never read and supporters are told TRY_LATER:
 * /healthz is 503 "degraded: revocations unknown", the gauge
 * peerd_revocations_known is 0, and the failure is logged once, not at
 * every read.  Once the key is fixed: 200 and 1 within seconds.
 */
static void
test_healthz_revocations_unknown(void **state)
{
	struct world	*w = *state;
	struct harness	*h = w->h;
	char		 buf[64];

	assert_int_equal(get(w, "/metrics"), 200);
	assert_int_equal(metric(body, "peerd_revocations_known"), 1);

	/* A snapshot the next redis-server loads; peerd starts first. */
	assert_int_equal(harness_peerd_stop(h), 0);
	assert_int_equal(fault_redis(h, buf, sizeof buf, "SET %s oops",
	    CRED_REDIS_REVOKED), 0);
	assert_int_equal(fault_redis(h, buf, sizeof buf, "SAVE"), 0);
	assert_int_equal(harness_redis_stop(h), 0);
	assert_int_equal(harness_peerd_start(h, world_conf(w, NULL)), 0);
	assert_int_equal(harness_redis_start(h), 0);

	assert_int_equal(healthz_wait(w, 503,
	    "degraded: revocations unknown\n"), 503);
	assert_string_equal(body, "degraded: revocations unknown\n");
	assert_int_equal(get(w, "/metrics"), 200);
	assert_int_equal(metric(body, "peerd_revocations_known"), 0);
	assert_int_equal(metric(body, "peerd_redis_up"), 1);
	assert_non_null(strstr(body, "# TYPE peerd_revocations_known gauge\n"));
	/* Two full reads (2 s apart) and many polls later: said once. */
	harness_msleep(4500);
	assert_int_equal(get(w, "/healthz"), 503);
	assert_int_equal(log_lines_with(h, "event=revoke_refresh_failed",
	    "WRONGTYPE", NULL, 0), 1);

	assert_int_equal(fault_redis(h, buf, sizeof buf, "DEL %s",
	    CRED_REDIS_REVOKED), 0);
	assert_int_equal(healthz_wait(w, 200, "ok\n"), 200);
	assert_int_equal(get(w, "/metrics"), 200);
	assert_int_equal(metric(body, "peerd_revocations_known"), 1);
	assert_true(harness_log_contains(h, "event=revocations_known"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics_names, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_metrics_activity, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_stats_json, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_methods_paths, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_headers, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_host, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(test_healthz_redis_down, setup,
		    world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_healthz_revocations_unknown, setup, world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
