/*
 * peer_script.c -- script mode (stdin is not a terminal): each line of
 * stdin is a message, each event one key=value line on stdout.
 *
 *	queued position=N eta_s=N
 *	offer id=ID shared=TAG,TAG
 *	matched conversation=ID peer=NAME shared=TAG,TAG
 *	message conversation=ID seq=N text=TEXT
 *	accepted seq=N
 *	delivered seq=N
 *	peer-reconnecting
 *	resumed
 *	ended conversation=ID reason=REASON
 *	error code=CODE message=TEXT
 *
 * Lists are comma-separated without spaces (empty: "shared=").  TEXT and
 * NAME are escaped to one line by peer_escape(); NAME also has spaces as
 * \x20, so that only the last field of a line (text=, message=) may hold
 * spaces.  CODE is the ErrorCode's name in peer.proto; REASON is the
 * EndReason's name lowercased without END_, or resume_failed /
 * connection_lost when the conversation ended on our side.
 *
 * Notices (our own reconnects, lines not sent) go to stderr.
 *
 * At end of input: once every line was accepted by peerd (and, with
 * --wait-delivered, acknowledged by the peer), end the conversations and
 * exit.  A requester whose conversation ends exits too: 0, or 1 if it was
 * lost to a drop (resume_failed, connection_lost).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "peer.h"

struct script {
	struct event	*ev_stdin;
	struct evbuffer	*in;
	int		 eof;
	int		 lost;		/* a conversation was lost to a drop */
	unsigned long	 line;		/* lines read, for messages */
};

static struct script	script;

/* Print one event line and flush it: scripts read it at once. */
static void
script_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
script_out(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Escape s for a field that is not the last one: no spaces either. */
static char *
script_word(const char *s)
{
	char	*e, *out, *o;
	size_t	 n = 0, i;

	e = peer_escape(s, strlen(s));
	for (i = 0; e[i] != '\0'; i++)
		n += e[i] == ' ' ? 4 : 1;
	o = out = peer_xcalloc(1, n + 1);
	for (i = 0; e[i] != '\0'; i++) {
		if (e[i] == ' ') {
			memcpy(o, "\\x20", 4);
			o += 4;
		} else
			*o++ = e[i];
	}
	free(e);
	return (out);
}

static void
script_welcome(struct peer *p)
{
	if (p->opts->verbose)
		fprintf(stderr, "peer: connected to %s:%s (peerd %s)\n",
		    p->opts->host, p->opts->port, p->server_version);
}

static void
script_queued(struct peer *p, uint32_t position, uint32_t eta_s,
    int relaxed, uint32_t compatible)
{
	(void)p;
	(void)relaxed;
	(void)compatible;
	script_out("queued position=%u eta_s=%u", position, eta_s);
}

static void
script_offer(struct peer *p, struct peer_offer *o)
{
	char	*shared = script_word(o->shared);

	script_out("offer id=%llu shared=%s", (unsigned long long)o->id,
	    shared);
	free(shared);
	if (!p->opts->auto_accept) {
		/* Nobody here to answer: let the requester go elsewhere now. */
		fprintf(stderr, "peer: declining offer %llu (script mode "
		    "without --auto-accept)\n", (unsigned long long)o->id);
		peer_answer_offer(p, o, 0);
	}
}

static void
script_offer_gone(struct peer *p, struct peer_offer *o)
{
	(void)p;
	(void)o;
}

static void
script_matched(struct peer *p, struct peer_conv *c, int resumed)
{
	char	*name, *shared;

	(void)p;
	if (resumed) {
		fprintf(stderr, "peer: conversation %llu resumed\n",
		    (unsigned long long)c->id);
		return;
	}
	name = script_word(c->peer_name);
	shared = script_word(c->shared);
	script_out("matched conversation=%llu peer=%s shared=%s",
	    (unsigned long long)c->id, name, shared);
	free(name);
	free(shared);
}

static void
script_message(struct peer *p, struct peer_conv *c, uint64_t seq,
    const char *text, size_t len)
{
	char	*e = peer_escape(text, len);

	(void)p;
	script_out("message conversation=%llu seq=%llu text=%s",
	    (unsigned long long)c->id, (unsigned long long)seq, e);
	free(e);
}

static void
script_accepted(struct peer *p, struct peer_conv *c, struct peer_msg *m,
    uint64_t seq)
{
	(void)p;
	(void)c;
	(void)m;
	script_out("accepted seq=%llu", (unsigned long long)seq);
}

static void
script_delivered(struct peer *p, struct peer_conv *c, uint64_t seq)
{
	(void)p;
	(void)c;
	script_out("delivered seq=%llu", (unsigned long long)seq);
}

static void
script_typing(struct peer *p, struct peer_conv *c, int on)
{
	(void)p;
	(void)c;
	(void)on;
}

static void
script_peer_status(struct peer *p, struct peer_conv *c, int state)
{
	(void)p;
	(void)c;
	if (state == PEERD__V1__PEER_STATE__PEER_RECONNECTING)
		script_out("peer-reconnecting");
	else
		script_out("resumed");
}

static void
script_ended(struct peer *p, struct peer_conv *c, const char *reason)
{
	(void)p;
	script_out("ended conversation=%llu reason=%s",
	    (unsigned long long)c->id, reason);
	if (strcmp(reason, "resume_failed") == 0 ||
	    strcmp(reason, "connection_lost") == 0)
		script.lost = 1;
}

static void
script_error(struct peer *p, struct peer_conv *c, struct peer_msg *m,
    const char *code, const char *text)
{
	char	*e = peer_escape(text, strlen(text));

	(void)p;
	(void)c;
	(void)m;
	script_out("error code=%s message=%s", code, e);
	free(e);
}

static void
script_notice(struct peer *p, const char *text)
{
	char	*e = peer_escape(text, strlen(text));

	(void)p;
	fprintf(stderr, "peer: %s\n", e);
	free(e);
}

static void
script_status(struct peer *p)
{
	(void)p;
}

static void
script_forget(struct peer *p, struct peer_conv *c)
{
	(void)p;
	(void)c;
}

/* Decide whether the script is done; called after every event. */
static void
script_progress(struct peer *p)
{
	if (p->state == PEER_S_CLOSING || p->state == PEER_S_DONE ||
	    p->leaving)
		return;
	if (p->request_failed || p->avail_failed) {
		/* Refused: waiting would only run into --timeout. */
		peer_quit(p, PEER_EXIT_ERROR);
		return;
	}
	if (p->opts->cmd == PEER_CMD_REQUEST && p->nconv > 0 &&
	    peer_conv_count(p) == 0) {
		/* Our one conversation is over, whoever ended it. */
		peer_quit(p, script.lost ? PEER_EXIT_ERROR : PEER_EXIT_OK);
		return;
	}
	if (!script.eof || p->state != PEER_S_READY)
		return;
	if (!peer_outbox_empty(p))
		return;		/* lines still to be accepted */
	if (p->opts->wait_delivered && !peer_all_delivered(p))
		return;
	if (p->opts->cmd == PEER_CMD_REQUEST && p->nconv == 0)
		return;		/* still waiting for a peer */
	peer_leave(p, PEER_EXIT_OK);
}

/* Say one line of input (without its line end). */
static void
script_line(struct peer *p, char *line, size_t len)
{
	script.line++;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;		/* nothing to say */
	(void)peer_say(p, NULL, line, len);
}

/* Take every whole line out of the input buffer. */
static void
script_drain(struct peer *p)
{
	struct evbuffer_ptr	 eol;
	size_t			 len;
	char			*line;

	for (;;) {
		eol = evbuffer_search(script.in, "\n", 1, NULL);
		if (eol.pos == -1) {
			len = evbuffer_get_length(script.in);
			if (len == 0 || (!script.eof && len < PEER_LINE_MAX))
				return;
		} else
			len = (size_t)eol.pos;
		line = peer_xcalloc(1, len + 1);
		evbuffer_remove(script.in, line, len);
		if (eol.pos != -1)
			evbuffer_drain(script.in, 1);
		script_line(p, line, len);
		free(line);
	}
}

/*
 * Read stdin: once if it is watched by the event loop (it was readable, so
 * one read never blocks), else until end of input.  At end of input, note
 * it.
 */
static void
script_read(struct peer *p, int once)
{
	int	n;

	for (;;) {
		n = evbuffer_read(script.in, STDIN_FILENO, 65536);
		if (n > 0) {
			script_drain(p);
			if (once)
				return;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1)
			fprintf(stderr, "peer: stdin: %s\n", strerror(errno));
		script.eof = 1;
		if (script.ev_stdin != NULL)
			event_del(script.ev_stdin);
		script_drain(p);
		return;
	}
}

static void
script_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;

	(void)fd;
	(void)what;
	script_read(p, 1);
	script_progress(p);
}

/*
 * Start reading stdin.  A pipe or socket is watched by the event loop; a
 * file or /dev/null cannot be polled but never blocks, so it is read
 * whole now.  Returns 0 or -1.
 */
int
peer_script_run(struct peer *p)
{
	struct stat	sb;

	if ((script.in = evbuffer_new()) == NULL)
		return (-1);
	if (fstat(STDIN_FILENO, &sb) == -1 || S_ISREG(sb.st_mode) ||
	    (S_ISCHR(sb.st_mode) && !isatty(STDIN_FILENO))) {
		script_read(p, 0);
		return (0);
	}
	script.ev_stdin = event_new(p->base, STDIN_FILENO,
	    EV_READ | EV_PERSIST, script_stdin_cb, p);
	if (script.ev_stdin == NULL || event_add(script.ev_stdin, NULL) == -1) {
		fprintf(stderr, "peer: cannot watch stdin\n");
		return (-1);
	}
	return (0);
}

/* Release what script mode holds. */
void
peer_script_free(void)
{
	if (script.ev_stdin != NULL)
		event_free(script.ev_stdin);
	if (script.in != NULL)
		evbuffer_free(script.in);
	memset(&script, 0, sizeof script);
}

const struct peer_ui peer_script_ui = {
	script_welcome,
	script_queued,
	script_offer,
	script_offer_gone,
	script_matched,
	script_message,
	script_accepted,
	script_delivered,
	script_typing,
	script_peer_status,
	script_ended,
	script_error,
	script_notice,
	script_status,
	script_progress,
	script_forget
};
