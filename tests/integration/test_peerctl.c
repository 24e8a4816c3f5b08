/*
 * test_peerctl.c -- `peerctl stats` and `peerctl top` against a real peerd
 * and Redis, run as child processes ($PEERCTL_BIN) with an operator
 * credential signed by the world's organisation key.
 *
 * Each test has a requester queued for PEOPLE_TAG_LGBTQ (nobody has it)
 * and, where supply matters, a supporter AVAILABLE with PEOPLE_TAG_BME:
 * so lgbtq shows 1 waiting against 0 capacity (a gap) and bme 0 against
 * the supporter's free slots.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "credential.h"
#include "frame.h"
#include "harness.h"
#include "pane.h"
#include "people.h"

#define T_RUN_MS	15000		/* ms, one `peerctl stats` */
#define T_OUT_MAX	(64 * 1024)	/* bytes of a child's output kept */
#define T_SUP_CAPACITY	2		/* the bme supporter's slots */
#define T_EXIT_ERROR	1		/* peerctl: failed or refused */

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_##x

/* Write dir/name into out. */
static void
tpath(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fail_msg("path too long: %s/%s", dir, name);
}

/* Write the credential as an armored file dir/name; path into out. */
static void
cred_file(struct world *w, const struct pcred *c, const char *name,
    char *out, size_t len)
{
	char	err[CRED_ERR_MAX];

	tpath(out, len, w->h->dir, name);
	if (cred_write_file(out, c->buf, c->len, err, sizeof err) == -1)
		fail_msg("cred_write_file: %s", err);
}

/*
 * Start $PEERCTL_BIN CMD --server --ca with the arguments that follow
 * (NULL-terminated), stdout to dir/out, stderr to dir/err.
 */
static pid_t
peerctl_spawn(struct harness *h, const char *out, const char *err,
    const char *cmd, ...)
{
	char		*argv[32], server[64], po[HARNESS_PATH], pe[HARNESS_PATH];
	const char	*a;
	va_list		 ap;
	pid_t		 pid;
	int		 n = 0, fd;

	if (h->peerctl_bin == NULL)
		fail_msg("PEERCTL_BIN is not set (make test sets it)");
	snprintf(server, sizeof server, "127.0.0.1:%d", h->port);
	tpath(po, sizeof po, h->dir, out);
	tpath(pe, sizeof pe, h->dir, err);
	argv[n++] = (char *)h->peerctl_bin;
	argv[n++] = (char *)cmd;
	argv[n++] = (char *)"--server";
	argv[n++] = server;
	argv[n++] = (char *)"--ca";
	argv[n++] = h->ca;
	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) != NULL && n < 30)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	unlink(po);
	unlink(pe);
	if ((pid = fork()) == -1)
		fail_msg("fork failed");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		if ((fd = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1)
			dup2(fd, STDOUT_FILENO);
		if ((fd = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1)
			dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	return (pid);
}

/* Wait up to ms for pid; return its exit code, or -1 (killed, too slow). */
static int
child_wait(pid_t pid, int ms)
{
	int64_t	end = harness_now_ms() + ms;
	int	status;
	pid_t	r;

	for (;;) {
		if ((r = waitpid(pid, &status, WNOHANG)) == pid)
			return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		if (r == -1 || harness_now_ms() > end)
			break;
		harness_msleep(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return (-1);
}

/* Run peerctl CMD ARGS... to completion; output in dir/out, dir/err. */
#define peerctl_run(h, out, err, ...)					\
	child_wait(peerctl_spawn((h), (out), (err), __VA_ARGS__, NULL),	\
	    T_RUN_MS)

/* Count the lines of s containing needle. */
static int
lines_with(const char *s, const char *needle)
{
	const char	*p, *nl;
	int		 n = 0;

	for (p = s; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (memmem(p, (size_t)(nl - p), needle, strlen(needle)) != NULL)
			n++;
		if (*nl == '\0')
			break;
	}
	return (n);
}

/*
 * Return the number after label on the line of s that starts with
 * "  label" (the readable block), or -1.
 */
static long
text_figure(const char *s, const char *label, int column)
{
	char		 key[128];
	const char	*p;
	long		 v[2] = { -1, -1 };

	snprintf(key, sizeof key, "\n  %s ", label);
	if ((p = strstr(s, key)) == NULL)
		return (-1);
	p += strlen(key);
	if (sscanf(p, "%ld %ld", &v[0], &v[1]) < column + 1)
		return (-1);
	return (v[column]);
}

/* A world with a requester queued for lgbtq; returns the requester. */
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
	/* The request is on the wire and answered: peerd has it queued. */
	return (r);
}

/* An available supporter with bme and T_SUP_CAPACITY slots. */
static struct tclient *
supporter_bme(struct world *w)
{
	struct pcred	 c;
	struct tclient	*s;

	assert_int_equal(world_cred(w, &c, "sup-bme", PEOPLE_TAG_BME,
	    T_SUP_CAPACITY, 0), 0);
	assert_non_null(s = people_supporter_available(w, &c));
	return (s);
}

/* An operator credential file; path into out. */
static void
operator_file(struct world *w, char *out, size_t len)
{
	struct pcred	c;

	assert_int_equal(world_cred(w, &c, "op-1", NULL, 1, PCRED_OPERATOR),
	    0);
	cred_file(w, &c, "operator.cred", out, len);
}

static int
setup(void **state)
{
	return (world_setup(state));
}

/* stats: the readable block counts the queue and flags the lgbtq gap. */
static void
test_peerctl_stats_text(void **state)
{
	struct world	*w = *state;
	struct tclient	*r, *s;
	char		 op[HARNESS_PATH], out[T_OUT_MAX], path[HARNESS_PATH];
	char		 line[256];

	operator_file(w, op, sizeof op);
	r = queue_lgbtq(w);
	s = supporter_bme(w);
	assert_int_equal(peerctl_run(w->h, "out", "err", "stats",
	    "--credential", op, "--name", "localhost"), 0);
	tpath(path, sizeof path, w->h->dir, "out");
	harness_read_file(path, out, sizeof out);
	assert_int_equal(text_figure(out, "waiting", 0), 1);
	assert_int_equal(text_figure(out, PEOPLE_TAG_LGBTQ, 0), 1);
	assert_int_equal(text_figure(out, PEOPLE_TAG_LGBTQ, 1), 0);
	assert_int_equal(text_figure(out, PEOPLE_TAG_BME, 0), 0);
	assert_int_equal(text_figure(out, PEOPLE_TAG_BME, 1), T_SUP_CAPACITY);
	/* The gap is flagged on the lgbtq line, and only there. */
	snprintf(line, sizeof line, "  %s ", PEOPLE_TAG_LGBTQ);
	assert_int_equal(lines_with(out, "GAP"), 1);
	assert_non_null(strstr(strstr(out, line), "GAP 1"));
	assert_non_null(strstr(out, "available 1   away 0   on break 0"));
	tclient_free(s);
	tclient_free(r);
}

/* stats --json: one object with the documented keys and the figures. */
static void
test_peerctl_stats_json(void **state)
{
	struct world	*w = *state;
	struct tclient	*r, *s;
	char		 op[HARNESS_PATH], out[T_OUT_MAX], path[HARNESS_PATH];
	char		 want[256];
	static const char *const keys[] = {
		"\"server\":", "\"server_version\":", "\"time\":",
		"\"redis_up\":true", "\"oldest_wait_s\":", "\"wait_p50_s\":",
		"\"wait_p90_s\":", "\"supporters_away\":0",
		"\"supporters_on_break\":0", "\"conversations_active\":0",
		"\"matches_total\":0", "\"offers_accepted\":0",
		"\"offers_declined\":0", "\"offers_timed_out\":0",
		"\"reports_total\":0", "\"messages_relayed\":0"
	};
	size_t		 i;

	operator_file(w, op, sizeof op);
	r = queue_lgbtq(w);
	s = supporter_bme(w);
	assert_int_equal(peerctl_run(w->h, "out", "err", "stats", "--json",
	    "--credential", op), 0);
	tpath(path, sizeof path, w->h->dir, "out");
	harness_read_file(path, out, sizeof out);
	/* One object on one line. */
	assert_int_equal(out[0], '{');
	assert_int_equal(lines_with(out, "{"), 1);
	assert_non_null(strstr(out, "}\n"));
	assert_null(strchr(strchr(out, '\n') + 1, '\n'));
	assert_non_null(strstr(out, "\"queue_waiting\":1,"));
	assert_non_null(strstr(out, "\"supporters_available\":1,"));
	snprintf(want, sizeof want, "{\"tag\":\"%s\",\"waiting\":1,"
	    "\"available_capacity\":0,\"gap\":1}", PEOPLE_TAG_LGBTQ);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof want, "{\"tag\":\"%s\",\"waiting\":0,"
	    "\"available_capacity\":%d,\"gap\":0}", PEOPLE_TAG_BME,
	    T_SUP_CAPACITY);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof want, "\"gaps\":[\"%s\"]", PEOPLE_TAG_LGBTQ);
	assert_non_null(strstr(out, want));
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strstr(out, keys[i]) == NULL)
			fail_msg("no %s in %s", keys[i], out);
	}
	tclient_free(s);
	tclient_free(r);
}

/*
 * stats is refused without a credential (no file) and with a supporter's
 * credential (peerd says BAD_CREDENTIAL); nothing goes to stdout.
 */
static void
test_peerctl_stats_refused(void **state)
{
	struct world	*w = *state;
	struct pcred	 c;
	char		 sup[HARNESS_PATH], none[HARNESS_PATH];
	char		 out[T_OUT_MAX], err[T_OUT_MAX], path[HARNESS_PATH];

	tpath(none, sizeof none, w->h->dir, "no-such.cred");
	assert_int_equal(peerctl_run(w->h, "out", "err", "stats",
	    "--credential", none), T_EXIT_ERROR);
	tpath(path, sizeof path, w->h->dir, "err");
	assert_non_null(strstr(harness_read_file(path, err, sizeof err),
	    "no-such.cred"));
	tpath(path, sizeof path, w->h->dir, "out");
	assert_string_equal(harness_read_file(path, out, sizeof out), "");

	assert_int_equal(world_cred(w, &c, "sup-1", PEOPLE_TAG_LGBTQ, 1, 0),
	    0);
	cred_file(w, &c, "supporter.cred", sup, sizeof sup);
	assert_int_equal(peerctl_run(w->h, "out", "err", "stats", "--json",
	    "--credential", sup), T_EXIT_ERROR);
	tpath(path, sizeof path, w->h->dir, "err");
	assert_non_null(strstr(harness_read_file(path, err, sizeof err),
	    "BAD_CREDENTIAL"));
	tpath(path, sizeof path, w->h->dir, "out");
	assert_string_equal(harness_read_file(path, out, sizeof out), "");

	/* A command line it does not understand is a usage error. */
	assert_int_equal(peerctl_run(w->h, "out", "err", "stats", "--bogus"),
	    2);
}

/* Return the unsigned number after "key": in a JSON text, or -1. */
static long long
json_number(const char *s, const char *key)
{
	char		 k[128];
	const char	*p;

	snprintf(k, sizeof k, "\"%s\":", key);
	if ((p = strstr(s, k)) == NULL || p[strlen(k)] < '0' ||
	    p[strlen(k)] > '9')
		return (-1);
	return (strtoll(p + strlen(k), NULL, 10));
}

/*
 * stats --json after some activity: supporters by status, an offer
 * declined then one accepted after a wait of 2 s (p50/p90), the active
 * conversation, a message relayed, capacity net of the conversation.
 */
static void
test_peerctl_stats_activity(void **state)
{
	struct world	*w = *state;
	struct pcred	 cb, ca, c1, c2;
	struct tclient	*sb, *sa, *s1, *s2, *r;
	struct pconv	 cv;
	Envelope	*env;
	char		 op[HARNESS_PATH], out[T_OUT_MAX], path[HARNESS_PATH];
	char		 want[256];
	uint64_t	 seq;

	operator_file(w, op, sizeof op);
	assert_int_equal(world_cred(w, &cb, "sup-break", PEOPLE_TAG_BME, 1, 0),
	    0);
	assert_non_null(sb = people_supporter(w, &cb));
	assert_int_equal(people_avail(sb, PEERD__V1__SUPPORTER_STATUS__ON_BREAK,
	    0), 0);
	assert_int_equal(world_cred(w, &ca, "sup-away", PEOPLE_TAG_BME, 1, 0),
	    0);
	assert_non_null(sa = people_supporter(w, &ca));	/* AWAY */

	r = queue_lgbtq(w);
	harness_msleep(2100);
	/* The first supporter declines, the second accepts. */
	assert_int_equal(world_cred(w, &c1, "sup-l1", PEOPLE_TAG_LGBTQ, 1, 0),
	    0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(env = people_wait(s1, "sup-l1", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_decline(s1, env->offer->offer_id), 0);
	frame_free(env);
	assert_int_equal(world_cred(w, &c2, "sup-l2", PEOPLE_TAG_LGBTQ, 2, 0),
	    0);
	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(env = people_wait(s2, "sup-l2", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	memset(&cv, 0, sizeof cv);
	cv.offer_id = env->offer->offer_id;
	frame_free(env);
	assert_int_equal(people_accept(s2, cv.offer_id), 0);
	assert_non_null(env = people_wait(r, "requester", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	cv.id = env->matched->conversation_id;
	frame_free(env);
	assert_int_equal(people_chat(r, cv.id, 1, "hello", &seq), 0);
	assert_non_null(env = people_wait_chat(s2, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);

	assert_int_equal(peerctl_run(w->h, "out", "err", "stats", "--json",
	    "--credential", op), 0);
	tpath(path, sizeof path, w->h->dir, "out");
	harness_read_file(path, out, sizeof out);
	assert_int_equal(json_number(out, "queue_waiting"), 0);
	assert_int_equal(json_number(out, "supporters_available"), 2);
	assert_int_equal(json_number(out, "supporters_away"), 1);
	assert_int_equal(json_number(out, "supporters_on_break"), 1);
	assert_int_equal(json_number(out, "conversations_active"), 1);
	assert_int_equal(json_number(out, "matches_total"), 1);
	assert_int_equal(json_number(out, "offers_accepted"), 1);
	assert_int_equal(json_number(out, "offers_declined"), 1);
	assert_int_equal(json_number(out, "offers_timed_out"), 0);
	assert_int_equal(json_number(out, "messages_relayed"), 1);
	assert_in_range(json_number(out, "wait_p50_s"), 2, 10);
	assert_in_range(json_number(out, "wait_p90_s"), 2, 10);
	/* lgbtq: sup-l1's free slot and one of sup-l2's two. */
	snprintf(want, sizeof want, "{\"tag\":\"%s\",\"waiting\":0,"
	    "\"available_capacity\":2,\"gap\":0}", PEOPLE_TAG_LGBTQ);
	assert_non_null(strstr(out, want));
	/* bme: on a break and away count for nothing. */
	snprintf(want, sizeof want, "{\"tag\":\"%s\",\"waiting\":0,"
	    "\"available_capacity\":0,\"gap\":0}", PEOPLE_TAG_BME);
	assert_non_null(strstr(out, want));
	tclient_free(r);
	tclient_free(s2);
	tclient_free(s1);
	tclient_free(sa);
	tclient_free(sb);
}

/*
 * An offer left unanswered: after offer_timeout it counts as timed out,
 * the supporter is away, and the requester waits on with a gap.
 */
static void
test_peerctl_stats_offer_timeout(void **state)
{
	struct world	*w = *state;
	struct pcred	 c;
	struct tclient	*s, *r;
	Envelope	*env;
	char		 op[HARNESS_PATH], out[T_OUT_MAX], path[HARNESS_PATH];
	char		 want[256];

	operator_file(w, op, sizeof op);
	assert_int_equal(world_cred(w, &c, "sup-slow", PEOPLE_TAG_LGBTQ, 1, 0),
	    0);
	assert_non_null(s = people_supporter_available(w, &c));
	r = queue_lgbtq(w);
	assert_non_null(env = people_wait(s, "sup-slow", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	/* The server tells the supporter it is away once the offer lapses. */
	assert_non_null(env = people_wait(s, "sup-slow",
	    BODY_(SET_AVAILABILITY), PEOPLE_OFFER_S * 1000 + PEOPLE_PUSH_MS));
	frame_free(env);

	assert_int_equal(peerctl_run(w->h, "out", "err", "stats", "--json",
	    "--credential", op), 0);
	tpath(path, sizeof path, w->h->dir, "out");
	harness_read_file(path, out, sizeof out);
	assert_int_equal(json_number(out, "offers_timed_out"), 1);
	assert_int_equal(json_number(out, "offers_declined"), 0);
	assert_int_equal(json_number(out, "offers_accepted"), 0);
	assert_int_equal(json_number(out, "supporters_available"), 0);
	assert_int_equal(json_number(out, "supporters_away"), 1);
	assert_int_equal(json_number(out, "queue_waiting"), 1);
	assert_in_range(json_number(out, "oldest_wait_s"), PEOPLE_OFFER_S,
	    PEOPLE_OFFER_S + 10);
	snprintf(want, sizeof want, "{\"tag\":\"%s\",\"waiting\":1,"
	    "\"available_capacity\":0,\"gap\":1}", PEOPLE_TAG_LGBTQ);
	assert_non_null(strstr(out, want));
	tclient_free(r);
	tclient_free(s);
}

/* Wait up to ms until dir/name has n lines containing needle. */
static int
wait_lines(struct harness *h, const char *name, const char *needle, int n,
    int ms, char *buf, size_t len)
{
	char	path[HARNESS_PATH];
	int64_t	end = harness_now_ms() + ms;

	tpath(path, sizeof path, h->dir, name);
	do {
		if (lines_with(harness_read_file(path, buf, len), needle) >= n)
			return (0);
		harness_msleep(50);
	} while (harness_now_ms() < end);
	fprintf(stderr, "wanted %d lines with \"%s\" in %s, got:\n%s\n", n,
	    needle, name, buf);
	return (-1);
}

/*
 * top with stdout not a terminal: at least two snapshots within 3 s, each
 * one line with the queue; SIGTERM ends it cleanly.
 */
static void
test_peerctl_top_plain(void **state)
{
	struct world	*w = *state;
	struct tclient	*r;
	char		 op[HARNESS_PATH], out[T_OUT_MAX], want[128];
	pid_t		 pid;

	operator_file(w, op, sizeof op);
	r = queue_lgbtq(w);
	pid = peerctl_spawn(w->h, "top", "top.err", "top", "--credential", op,
	    NULL);
	assert_int_equal(wait_lines(w->h, "top", "state=ok queue_waiting=1 ",
	    2, 3000, out, sizeof out), 0);
	snprintf(want, sizeof want, "waiting=%s:1,", PEOPLE_TAG_LGBTQ);
	assert_int_equal(lines_with(out, want), lines_with(out, "state=ok"));
	snprintf(want, sizeof want, " gaps=%s\n", PEOPLE_TAG_LGBTQ);
	assert_non_null(strstr(out, want));
	kill(pid, SIGTERM);
	assert_int_equal(child_wait(pid, 3000), 0);
	tclient_free(r);
}

/*
 * top survives a peerd restart: it says reconnecting while peerd is down
 * and prints snapshots again once it is back.
 */
static void
test_peerctl_top_reconnects(void **state)
{
	struct world	*w = *state;
	char		 op[HARNESS_PATH], out[T_OUT_MAX];
	pid_t		 pid;
	int		 port = w->h->port, ok;

	operator_file(w, op, sizeof op);
	pid = peerctl_spawn(w->h, "top", "top.err", "top", "--credential", op,
	    NULL);
	assert_int_equal(wait_lines(w->h, "top", "state=ok", 1, 3000, out,
	    sizeof out), 0);
	assert_int_equal(harness_peerd_stop(w->h), 0);
	assert_int_equal(wait_lines(w->h, "top", "state=reconnecting", 1,
	    3000, out, sizeof out), 0);
	assert_int_equal(harness_peerd_start(w->h, world_conf(w, w->extra)),
	    0);
	if (w->h->port != port) {
		kill(pid, SIGKILL);
		child_wait(pid, 1000);
		skip();		/* the port was taken meanwhile */
	}
	ok = lines_with(out, "state=ok");
	assert_int_equal(wait_lines(w->h, "top", "state=ok", ok + 1, 5000,
	    out, sizeof out), 0);
	/* The line after the last reconnecting one is a snapshot. */
	assert_non_null(strstr(strstr(out, "state=reconnecting"),
	    "state=ok"));
	kill(pid, SIGTERM);
	assert_int_equal(child_wait(pid, 3000), 0);
}

/*
 * top on a terminal (tmux): the full-screen view with the queue and the
 * lgbtq gap; q quits with status 0 and gives the screen back.
 */
static void
test_peerctl_top_tty(void **state)
{
	struct world	*w = *state;
	struct tclient	*r;
	char		 op[HARNESS_PATH], sock[64], buf[16384];
	int		 ok;

	if (pane_sh("command -v tmux >/dev/null") != 0)
		skip();
	if (w->h->peerctl_bin == NULL)
		fail_msg("PEERCTL_BIN is not set (make test sets it)");
	operator_file(w, op, sizeof op);
	r = queue_lgbtq(w);
	snprintf(sock, sizeof sock, "peerctl%d", (int)getpid());
	assert_int_equal(pane_sh("tmux new-session -d -s %s -x 100 -y 40 "
	    "'echo before-top; %s%s top --server 127.0.0.1:%d --ca %s "
	    "--credential %s; echo top-status=$?; stty -a | grep -q -- "
	    "-icanon || echo canon-again; sleep 60'", sock,
	    pane_san_env(w->h->dir), w->h->peerctl_bin, w->h->port, w->h->ca,
	    op), 0);
	ok = pane_wait(sock, "peerctl top", 5000) == 0 &&
	    pane_wait(sock, "connected", 5000) == 0 &&
	    pane_wait(sock, "GAP 1", 5000) == 0 &&
	    pane_wait(sock, "  waiting               1", 5000) == 0;
	/* The view is redrawn in place: one title, not one per second. */
	harness_msleep(1500);
	pane_capture(sock, buf, sizeof buf);
	ok = ok && lines_with(buf, "peerctl top") == 1;
	pane_sh("tmux send-keys -t %s q", sock);
	ok = ok && pane_wait(sock, "top-status=0", 5000) == 0 &&
	    pane_wait(sock, "canon-again", 5000) == 0;
	/* The alternate screen is gone: what was there before is back. */
	pane_capture(sock, buf, sizeof buf);
	pane_sh("tmux kill-session -t %s 2>/dev/null", sock);
	tclient_free(r);
	assert_true(ok);
	assert_non_null(strstr(buf, "before-top"));
	assert_null(strstr(buf, "supply and demand"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peerctl_stats_text,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_stats_json,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_stats_refused,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_stats_activity,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_stats_offer_timeout,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_top_plain,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_top_reconnects,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_peerctl_top_tty,
		    setup, world_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
