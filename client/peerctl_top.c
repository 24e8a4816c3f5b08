/*
 * peerctl_top.c -- top: the queue, waits and supply/demand per tag, live.
 *
 * One timer ticks every second.  Each tick asks for a StatsReply on the
 * operator connection (peerctl_stats.c), or, while the connection is gone,
 * starts a new one: a restarted peerd is picked up again within a second
 * or two, and the screen says "reconnecting" meanwhile with the last
 * snapshot kept.  A request that has had no answer for TOP_STALE ticks
 * counts as a lost connection.
 *
 * On a terminal the screen is redrawn in place with plain ANSI sequences
 * (the alternate screen, no curses); stdin is put in non-canonical mode
 * so that 'q' quits at once, and Ctrl-C, SIGTERM and SIGHUP quit too; the
 * terminal is always restored.  When stdout is not a terminal each second
 * prints one line of key=value pairs instead (see the help text).
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "peerctl.h"

#define TOP_TICK_MS	1000	/* ms between snapshots */
#define TOP_STALE	5	/* ticks without an answer: reconnect */
#define TOP_ROWS	24	/* rows assumed when the terminal won't say */
#define TOP_COLS	80	/* columns, likewise */

static int	peerctl_top(const struct peerctl_cmd *, int, char **);

const struct peerctl_cmd peerctl_top_cmd = {
	"top", "[--server HOST:PORT] [--ca FILE] [--credential FILE] "
	"[--name NAME]",
	"Show the queue and supply/demand per tag live, every second",
	"  --server HOST:PORT   peerd (default " PEERCTL_OP_SERVER ";\n"
	"                       [::1]:PORT for IPv6)\n"
	"  --ca FILE            CA certificate to trust (default "
	PEERCTL_OP_CA ")\n"
	"  --credential FILE    operator credential (default "
	PEERCTL_OP_CRED ")\n"
	"  --name NAME          host name the server certificate must carry\n"
	"                       (default " PEERCTL_OP_NAME ")\n"
	"\n"
	"On a terminal: the same figures as 'peerctl stats', redrawn every\n"
	"second; tags where more requesters wait than available supporters\n"
	"have free slots are highlighted (GAP).  q, Ctrl-C or SIGTERM quits.\n"
	"If peerd goes away, top says \"reconnecting\" and carries on when it\n"
	"is back.\n"
	"\n"
	"Not on a terminal: one line a second,\n"
	"  time=ISO8601 state=ok queue_waiting=N oldest_wait_s=N wait_p50_s=N\n"
	"  wait_p90_s=N supporters_available=N supporters_away=N\n"
	"  supporters_on_break=N conversations_active=N matches_total=N\n"
	"  offers_accepted=N offers_declined=N offers_timed_out=N\n"
	"  reports_total=N messages_relayed=N redis_up=0|1\n"
	"  waiting=TAG:N,... capacity=TAG:N,... gaps=TAG,...\n"
	"or, while peerd cannot be reached,\n"
	"  time=ISO8601 state=reconnecting reason=\"...\"\n"
	"\n"
	"Exit status 0 when asked to quit, 1 if peerd refuses the credential.\n",
	peerctl_top
};

struct top {
	const struct peerctl_cmd	*cmd;
	struct peerctl_op_opts		 o;
	struct event_base		*base;
	struct peerctl_op		*op;
	struct event			*ev_tick;
	struct event			*ev_stdin;
	struct event			*ev_sig[4];
	int				 tty;		/* full-screen mode */
	int				 raw;		/* termios changed */
	struct termios			 saved;
	int				 ready;		/* last event a reply */
	int				 connecting;	/* a connect under way */
	int				 waited;	/* ticks on a request */
	time_t				 lost_at;	/* 0: not lost */
	char				 why[600];	/* why it was lost */
	char				*body;		/* last snapshot, text */
	time_t				 body_at;
	int				 rc;		/* exit code; -1 running */
};

/* Format t as "2026-11-23T18:30:00Z" (full) or "18:30:00" (clock). */
static void
top_time(time_t t, int full, char *buf, size_t len)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, full ? "%Y-%m-%dT%H:%M:%SZ" : "%H:%M:%S",
	    &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* Stop the loop with exit code rc (the first one wins). */
static void
top_quit(struct top *t, int rc)
{
	if (t->rc == -1)
		t->rc = rc;
	event_base_loopexit(t->base, NULL);
}

/* Write f's text to stdout; a closed pipe or a failed write ends top. */
static void
top_write(struct top *t, const char *s, size_t len)
{
	if (fwrite(s, 1, len, stdout) != len || fflush(stdout) != 0)
		top_quit(t, errno == EPIPE ? PEERCTL_EXIT_OK :
		    PEERCTL_EXIT_ERROR);
}

/* ---- the terminal -------------------------------------------------------- */

/* Take over the terminal: alternate screen, no cursor, keys unbuffered. */
static void
top_tty_enter(struct top *t)
{
	struct termios	tio;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		tio = t->saved;
		tio.c_lflag &= ~(ICANON | ECHO);	/* ISIG stays: Ctrl-C */
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0)
			t->raw = 1;
	}
	fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
}

/* Give the terminal back as it was. */
static void
top_tty_leave(struct top *t)
{
	if (!t->tty)
		return;
	fputs("\033[0m\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->raw = 0;
	t->tty = 0;
}

/* Add one screen line to f, cut to cols, highlighted if hl. */
static void
top_line(FILE *f, const char *s, size_t len, int cols, int hl)
{
	if (len > (size_t)cols)
		len = (size_t)cols;
	if (hl)
		fputs("\033[7m", f);
	fwrite(s, 1, len, f);
	if (hl)
		fputs("\033[0m", f);
	fputs("\033[K", f);
}

/* Redraw the whole screen: title, status, then the last snapshot. */
static void
top_draw(struct top *t)
{
	struct winsize	 ws;
	char		 clock[32], at[32], line[1024], *buf = NULL;
	const char	*p, *nl;
	size_t		 len = 0, n;
	FILE		*f;
	int		 rows = TOP_ROWS, cols = TOP_COLS, row = 0;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	}
	if ((f = open_memstream(&buf, &len)) == NULL)
		return;
	top_time(time(NULL), 0, clock, sizeof clock);
	fputs("\033[H", f);
	n = (size_t)snprintf(line, sizeof line, "peerctl top   %s   %s UTC   "
	    "q: quit", t->o.server, clock);
	top_line(f, line, n < sizeof line ? n : sizeof line - 1, cols, 1);
	row++;
	if (t->lost_at != 0) {
		top_time(t->body_at, 0, at, sizeof at);
		n = (size_t)snprintf(line, sizeof line, "reconnecting "
		    "(%lld s): %s%s%s", (long long)(time(NULL) - t->lost_at),
		    t->why, t->body != NULL ? "; figures below are from " :
		    "", t->body != NULL ? at : "");
	} else if (t->body == NULL)
		n = (size_t)snprintf(line, sizeof line, "connecting...");
	else
		n = (size_t)snprintf(line, sizeof line, "connected");
	n = n < sizeof line ? n : sizeof line - 1;
	fputc('\n', f);
	top_line(f, line, n, cols, t->lost_at != 0);
	row++;
	/* The block from peerctl_stats_text(), one screen line a line. */
	for (p = t->body; p != NULL && *p != '\0' && row < rows; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		fputc('\n', f);
		top_line(f, p, (size_t)(nl - p), cols,
		    memmem(p, (size_t)(nl - p), "  GAP ", 6) != NULL ||
		    memmem(p, (size_t)(nl - p), "redis DOWN", 10) != NULL);
		row++;
		if (*nl == '\0')
			break;
	}
	fputs("\033[J", f);
	if (fclose(f) == 0)
		top_write(t, buf, len);
	free(buf);
}

/* A key on stdin: q quits. */
static void
top_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct top	*t = arg;
	char		 buf[64];
	ssize_t		 n, i;

	(void)what;
	if ((n = read(fd, buf, sizeof buf)) <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			event_del(t->ev_stdin);	/* EOF: keys are gone */
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == 'q' || buf[i] == 'Q') {
			top_quit(t, PEERCTL_EXIT_OK);
			return;
		}
		if (buf[i] == '\014')		/* Ctrl-L */
			top_draw(t);
	}
}

/* ---- plain lines --------------------------------------------------------- */

/* Print one snapshot as a line of key=value pairs. */
static void
top_plain(struct top *t, const Peerd__V1__StatsReply *r)
{
	char	 now[32], *buf = NULL;
	size_t	 i, len = 0;
	FILE	*f;
	int	 first;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return;
	top_time(time(NULL), 1, now, sizeof now);
	fprintf(f, "time=%s state=ok queue_waiting=%u oldest_wait_s=%u "
	    "wait_p50_s=%u wait_p90_s=%u supporters_available=%u "
	    "supporters_away=%u supporters_on_break=%u "
	    "conversations_active=%u", now, r->queue_waiting,
	    r->oldest_wait_s, r->wait_p50_s, r->wait_p90_s,
	    r->supporters_available, r->supporters_away,
	    r->supporters_on_break, r->conversations_active);
	fprintf(f, " matches_total=%llu offers_accepted=%llu "
	    "offers_declined=%llu offers_timed_out=%llu reports_total=%llu "
	    "messages_relayed=%llu redis_up=%d",
	    (unsigned long long)r->matches_total,
	    (unsigned long long)r->offers_accepted,
	    (unsigned long long)r->offers_declined,
	    (unsigned long long)r->offers_timed_out,
	    (unsigned long long)r->reports_total,
	    (unsigned long long)r->messages_relayed, r->redis_up ? 1 : 0);
	fputs(" waiting=", f);
	for (i = 0; i < r->n_tags; i++)
		fprintf(f, "%s%s:%u", i > 0 ? "," : "", r->tags[i]->tag,
		    r->tags[i]->waiting);
	fputs(" capacity=", f);
	for (i = 0; i < r->n_tags; i++)
		fprintf(f, "%s%s:%u", i > 0 ? "," : "", r->tags[i]->tag,
		    r->tags[i]->available_capacity);
	fputs(" gaps=", f);
	for (i = 0, first = 1; i < r->n_tags; i++) {
		if (r->tags[i]->waiting <= r->tags[i]->available_capacity)
			continue;
		fprintf(f, "%s%s", first ? "" : ",", r->tags[i]->tag);
		first = 0;
	}
	fputc('\n', f);
	if (fclose(f) == 0)
		top_write(t, buf, len);
	free(buf);
}

/* Print that peerd cannot be reached, as a line. */
static void
top_plain_lost(struct top *t)
{
	char	now[32], line[800];
	size_t	i, n;

	top_time(time(NULL), 1, now, sizeof now);
	n = (size_t)snprintf(line, sizeof line, "time=%s state=reconnecting "
	    "reason=\"", now);
	for (i = 0; t->why[i] != '\0' && n + 4 < sizeof line; i++)
		line[n++] = t->why[i] == '"' || t->why[i] < ' ' ? '\'' :
		    t->why[i];
	line[n++] = '"';
	line[n++] = '\n';
	top_write(t, line, n);
}

/* ---- the connection ------------------------------------------------------ */

/* What the operator connection says: draw, or note that it is gone. */
static void
top_op_cb(struct peerctl_op *op, enum peerctl_op_event ev,
    const Peerd__V1__StatsReply *r, const char *why, void *arg)
{
	struct top	*t = arg;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*f;

	switch (ev) {
	case PEERCTL_OP_REPLY:
		t->connecting = 0;
		t->waited = 0;
		t->lost_at = 0;
		t->why[0] = '\0';
		if (!t->tty) {
			top_plain(t, r);
			break;
		}
		if ((f = open_memstream(&buf, &len)) == NULL)
			break;
		peerctl_stats_text(f, &t->o, peerctl_op_version(op), r);
		if (fclose(f) != 0) {
			free(buf);
			break;
		}
		free(t->body);
		t->body = buf;
		t->body_at = time(NULL);
		top_draw(t);
		break;
	case PEERCTL_OP_LOST:
		t->connecting = 0;
		t->waited = 0;
		if (t->lost_at == 0)
			t->lost_at = time(NULL);
		snprintf(t->why, sizeof t->why, "%s", why);
		break;
	case PEERCTL_OP_REFUSED:
		top_tty_leave(t);
		peerctl_warnx(t->cmd, "peerd refused the credential "
		    "%s: %s", t->o.credential, why);
		top_quit(t, PEERCTL_EXIT_ERROR);
		break;
	}
}

/* Every second: ask for a snapshot, or reconnect, and show the state. */
static void
top_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct top	*t = arg;

	(void)fd;
	(void)what;
	if (peerctl_op_connected(t->op)) {
		if (peerctl_op_request(t->op) == 1 && ++t->waited >= TOP_STALE) {
			snprintf(t->why, sizeof t->why, "no answer for %d s",
			    TOP_STALE);
			t->lost_at = time(NULL);
			t->connecting = 1;
			t->waited = 0;
			peerctl_op_connect(t->op);
		}
		return;
	}
	if (!t->connecting) {
		t->connecting = 1;
		/* A failure at once comes back through top_op_cb. */
		peerctl_op_connect(t->op);
	}
	if (t->lost_at != 0) {
		if (t->tty)
			top_draw(t);
		else
			top_plain_lost(t);
	}
}

/* SIGINT, SIGTERM, SIGHUP quit; SIGWINCH redraws. */
static void
top_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct top	*t = arg;

	(void)what;
	if (sig == SIGWINCH) {
		if (t->tty)
			top_draw(t);
		return;
	}
	top_quit(t, PEERCTL_EXIT_OK);
}

/* top: tick every second until q, a signal, or a refusal. */
static int
peerctl_top(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	static const int	 sigs[4] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct top		 t;
	struct timeval		 tv = { TOP_TICK_MS / 1000,
				    (TOP_TICK_MS % 1000) * 1000 };
	int			 rc, i;

	memset(&t, 0, sizeof t);
	t.cmd = cmd;
	t.rc = -1;
	if ((rc = peerctl_op_args(cmd, argc, argv, &t.o, 0)) != -1)
		return (rc);
	signal(SIGPIPE, SIG_IGN);
	if ((t.base = event_base_new()) == NULL) {
		peerctl_warnx(cmd, "cannot make an event base");
		return (PEERCTL_EXIT_ERROR);
	}
	if ((t.op = peerctl_op_new(cmd, t.base, &t.o, top_op_cb, &t)) ==
	    NULL) {
		event_base_free(t.base);
		return (PEERCTL_EXIT_ERROR);
	}
	t.ev_tick = event_new(t.base, -1, EV_PERSIST, top_tick_cb, &t);
	for (i = 0; i < 4; i++) {
		t.ev_sig[i] = evsignal_new(t.base, sigs[i], top_signal_cb, &t);
		if (t.ev_sig[i] == NULL || evsignal_add(t.ev_sig[i], NULL) != 0)
			t.rc = PEERCTL_EXIT_ERROR;
	}
	if (t.ev_tick == NULL || t.rc != -1) {
		peerctl_warnx(cmd, "cannot set up timers and signals");
		t.rc = PEERCTL_EXIT_ERROR;
		goto out;
	}
	t.tty = isatty(STDOUT_FILENO);
	if (t.tty) {
		top_tty_enter(&t);
		if (t.raw) {
			t.ev_stdin = event_new(t.base, STDIN_FILENO,
			    EV_READ | EV_PERSIST, top_stdin_cb, &t);
			if (t.ev_stdin != NULL)
				event_add(t.ev_stdin, NULL);
		}
		top_draw(&t);
	}
	event_add(t.ev_tick, &tv);
	t.connecting = 1;
	peerctl_op_connect(t.op);
	event_base_dispatch(t.base);
out:
	top_tty_leave(&t);
	peerctl_op_free(t.op);
	if (t.ev_tick != NULL)
		event_free(t.ev_tick);
	if (t.ev_stdin != NULL)
		event_free(t.ev_stdin);
	for (i = 0; i < 4; i++) {
		if (t.ev_sig[i] != NULL)
			event_free(t.ev_sig[i]);
	}
	free(t.body);
	event_base_free(t.base);
	return (t.rc == -1 ? PEERCTL_EXIT_OK : t.rc);
}
