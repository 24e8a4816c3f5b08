/*
 * peer_tty_draw.c -- the interactive screen: views, their lines, wrapping
 * and drawing.
 *
 * The screen is a function of the state: every change marks it dirty and
 * one redraw runs per turn of the event loop.  Drawing writes every row
 * from the top with "erase to end of line", so nothing needs diffing and a
 * resize or a garbled terminal heals at the next event.  Layout:
 *
 *	row 1          title: who we are, the conversations (Tab switches)
 *	rows 2..R-2    the view's lines, newest at the bottom
 *	row R-1        status: typing, queue, offers, notices
 *	row R          "> " and what is being typed
 *
 * Everything that came from the network was cleaned by peer_clean()
 * before it was stored, so no escape sequence from a peer reaches the
 * terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "peer.h"

#define TTY_INDENT	6	/* columns, continuation rows ("HH:MM ") */

/* One screen row: a piece of a line's full text. */
struct tty_row {
	const char	*s;
	size_t		 len;
	int		 indent;
	enum tty_who	 who;
};

void
tty_view_init(struct tty_view *v, struct peer_conv *c)
{
	memset(v, 0, sizeof *v);
	TAILQ_INIT(&v->lines);
	v->conv = c;
}

static void
tty_line_free(struct tty_line *l)
{
	explicit_bzero(l->text, strlen(l->text));
	free(l->text);
	free(l);
}

void
tty_view_free(struct tty_view *v)
{
	struct tty_line	*l;

	while ((l = TAILQ_FIRST(&v->lines)) != NULL) {
		TAILQ_REMOVE(&v->lines, l, entry);
		tty_line_free(l);
	}
	v->nlines = 0;
}

/* Append a line of untrusted text to a view.  Returns the line. */
struct tty_line *
tty_add(struct tty_view *v, enum tty_who who, const char *text, size_t len)
{
	struct tty_line	*l, *old;
	time_t		 now = time(NULL);
	struct tm	 tm;

	l = peer_xcalloc(1, sizeof *l);
	l->who = who;
	l->text = peer_clean(text, len, PEER_CLEAN_LINES |
	    (tty.utf8 ? 0 : PEER_CLEAN_ASCII));
	if (localtime_r(&now, &tm) != NULL)
		strftime(l->stamp, sizeof l->stamp, "%H:%M", &tm);
	TAILQ_INSERT_TAIL(&v->lines, l, entry);
	if (++v->nlines > TTY_HISTORY_MAX) {
		old = TAILQ_FIRST(&v->lines);
		TAILQ_REMOVE(&v->lines, old, entry);
		tty_line_free(old);
		v->nlines--;
	}
	if (v != tty.view)
		v->unread++;
	tty_dirty();
	return (l);
}

/* Append an information line (printf format). */
struct tty_line *
tty_addf(struct tty_view *v, const char *fmt, ...)
{
	struct tty_line	*l;
	va_list		 ap;
	char		*s;
	int		 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return (NULL);
	l = tty_add(v, TTY_INFO, s, (size_t)n);
	free(s);
	return (l);
}

/* Return the line we said with client_msg_id cmid, or NULL. */
struct tty_line *
tty_find_cmid(struct tty_view *v, uint64_t cmid)
{
	struct tty_line	*l;

	TAILQ_FOREACH_REVERSE(l, &v->lines, tty_lines, entry) {
		if (l->who == TTY_ME && l->cmid == cmid)
			return (l);
	}
	return (NULL);
}

/* Show a short notice on the status row for a while. */
void
tty_notice(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[sizeof tty.notice], *clean;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	clean = peer_clean(buf, strlen(buf), tty.utf8 ? 0 : PEER_CLEAN_ASCII);
	snprintf(tty.notice, sizeof tty.notice, "%s", clean);
	free(clean);
	tty.notice_until = peer_now_ms() + TTY_NOTICE_MS;
	tty_dirty();
}

/* Ask for one redraw at the next turn of the loop. */
void
tty_dirty(void)
{
	if (tty.ev_draw != NULL)
		event_active(tty.ev_draw, EV_TIMEOUT, 1);
}

/* Return the columns of one character at s (n bytes long). */
static int
tty_char_width(const char *s, size_t n)
{
	mbstate_t	st;
	wchar_t		wc;
	int		w;

	if (!tty.utf8 || n == 1)
		return (1);
	memset(&st, 0, sizeof st);
	if (mbrtowc(&wc, s, n, &st) != n || (w = wcwidth(wc)) < 0)
		return (1);
	return (w);
}

/* Return the byte length of the character at s (valid UTF-8, cleaned). */
static size_t
tty_char_len(const char *s)
{
	unsigned char	c = (unsigned char)*s;
	size_t		n = 1;

	if (c >= 0xf0)
		n = 4;
	else if (c >= 0xe0)
		n = 3;
	else if (c >= 0xc0)
		n = 2;
	while (n > 1 && s[n - 1] == '\0')
		n--;
	return (n);
}

/*
 * Measure how much of s fits in width columns, stopping at a newline or
 * the end.  Sets *bytes to the bytes that fit; returns their columns.
 */
int
tty_cut(const char *s, int width, size_t *bytes)
{
	size_t	i = 0, n;
	int	cols = 0, w;

	while (s[i] != '\0' && s[i] != '\n') {
		n = tty_char_len(s + i);
		w = tty_char_width(s + i, n);
		if (cols + w > width)
			break;
		cols += w;
		i += n;
	}
	*bytes = i;
	return (cols);
}

/* Return the tick shown after a line we said. */
static const char *
tty_tick(enum tty_tick t)
{
	switch (t) {
	case TTY_TICK_SENDING:
		return (tty.utf8 ? " \u00b7" : " .");
	case TTY_TICK_HELD:
		return (tty.utf8 ? " \u2713" : " +");
	case TTY_TICK_READ:
		return (tty.utf8 ? " \u2713\u2713" : " ++");
	case TTY_TICK_FAILED:
		return (tty.utf8 ? " \u2717 not sent" : " x not sent");
	case TTY_TICK_NONE:
		break;
	}
	return ("");
}

/* Make a line's full text: stamp, who, text, tick.  Free it. */
static char *
tty_line_text(struct tty_view *v, struct tty_line *l)
{
	char		*s;
	const char	*name;
	int		 n;

	if (l->who == TTY_INFO)
		n = asprintf(&s, "%s %s", l->stamp, l->text);
	else if (l->who == TTY_ME)
		n = asprintf(&s, "%s you: %s%s", l->stamp, l->text,
		    tty_tick(l->tick));
	else {
		name = v->conv != NULL && v->conv->peer_name[0] != '\0' ?
		    v->conv->peer_name : "peer";
		n = asprintf(&s, "%s %s: %s", l->stamp, name, l->text);
	}
	if (n < 0) {
		fprintf(stderr, "peer: out of memory\n");
		exit(PEER_EXIT_ERROR);
	}
	return (s);
}

/*
 * Split text into rows of width columns (continuations indented), at a
 * space where one is near.  Appends to rows (growing it); returns the
 * new count.
 */
static size_t
tty_wrap(const char *text, enum tty_who who, int width, struct tty_row **rows,
    size_t nrows, size_t *cap)
{
	const char	*s = text;
	size_t		 bytes, i;
	int		 indent = 0, w;

	for (;;) {
		w = width - indent;
		if (w < 1)
			w = 1;
		tty_cut(s, w, &bytes);
		if (bytes == 0 && s[0] != '\0' && s[0] != '\n')
			bytes = tty_char_len(s);	/* wider than the row */
		if (s[bytes] != '\0' && s[bytes] != '\n' && s[bytes] != ' ') {
			for (i = bytes; i > bytes / 2; i--) {
				if (s[i - 1] == ' ') {
					bytes = i;
					break;
				}
			}
		}
		if (nrows == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			if ((*rows = reallocarray(*rows, *cap,
			    sizeof **rows)) == NULL) {
				fprintf(stderr, "peer: out of memory\n");
				exit(PEER_EXIT_ERROR);
			}
		}
		(*rows)[nrows].s = s;
		(*rows)[nrows].len = bytes;
		(*rows)[nrows].indent = indent;
		(*rows)[nrows].who = who;
		nrows++;
		s += bytes;
		if (*s == '\n' || *s == ' ')
			s++;
		if (*s == '\0')
			return (nrows);
		indent = TTY_INDENT;
	}
}

/* Write all of buf to the terminal. */
static void
tty_write(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*data = (char *)evbuffer_pullup(b, -1);
	ssize_t	 n;

	while (len > 0) {
		n = write(STDOUT_FILENO, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Add s to b cut to width columns, then erase the rest of the row. */
static void
tty_put_row(struct evbuffer *b, const char *s, size_t len, int width)
{
	size_t	bytes;
	char	buf[1024];

	if (len >= sizeof buf)
		len = sizeof buf - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	tty_cut(buf, width, &bytes);
	evbuffer_add(b, buf, bytes);
	evbuffer_add(b, "\033[K", 3);
}

/* Draw the history of the view in rows 2 .. 1 + height. */
static void
tty_draw_history(struct evbuffer *b, int height)
{
	struct tty_view		*v = tty.view;
	struct tty_line		*l;
	struct tty_row		*rows = NULL, *lrows = NULL;
	char			**texts = NULL;
	size_t			 nrows = 0, cap = 0, ntexts = 0, n, lcap = 0, i;
	size_t			 need = (size_t)height + (size_t)tty.scroll;
	size_t			 first;
	int			 r;

	/* Newest first: wrap lines from the end until the screen is full. */
	TAILQ_FOREACH_REVERSE(l, &v->lines, tty_lines, entry) {
		if (nrows >= need)
			break;
		texts = reallocarray(texts, ntexts + 1, sizeof *texts);
		if (texts == NULL) {
			fprintf(stderr, "peer: out of memory\n");
			exit(PEER_EXIT_ERROR);
		}
		texts[ntexts] = tty_line_text(v, l);
		n = tty_wrap(texts[ntexts], l->who, tty.cols, &lrows, 0,
		    &lcap);
		ntexts++;
		for (i = n; i > 0; i--) {
			if (nrows == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				rows = reallocarray(rows, cap, sizeof *rows);
				if (rows == NULL) {
					fprintf(stderr, "peer: out of memory\n");
					exit(PEER_EXIT_ERROR);
				}
			}
			rows[nrows++] = lrows[i - 1];
		}
	}
	if (l == NULL && nrows < need)
		tty.scroll = nrows > (size_t)height ? (int)nrows - height : 0;
	/* rows[0] is the bottom row; show rows[scroll .. scroll+height). */
	first = (size_t)tty.scroll;
	for (r = height - 1; r >= 0; r--) {
		evbuffer_add_printf(b, "\033[%d;1H", 2 + r);
		i = first + (size_t)(height - 1 - r);
		if (i >= nrows) {
			evbuffer_add(b, "\033[K", 3);
			continue;
		}
		if (rows[i].who == TTY_INFO)
			evbuffer_add(b, "\033[2m", 4);
		else if (rows[i].who == TTY_PEER)
			evbuffer_add(b, "\033[1m", 4);
		evbuffer_add_printf(b, "%*s", rows[i].indent, "");
		tty_put_row(b, rows[i].s, rows[i].len,
		    tty.cols - rows[i].indent);
		evbuffer_add(b, "\033[0m", 4);
	}
	for (i = 0; i < ntexts; i++)
		free(texts[i]);
	free(texts);
	free(rows);
	free(lrows);
}

/* Write the title row's text into buf. */
static void
tty_title(char *buf, size_t len)
{
	struct peer		*p = tty.p;
	struct peer_conv	*c;
	const char		*st = "";
	size_t			 used;

	if (p->opts->cmd == PEER_CMD_SUPPORT) {
		switch (p->status) {
		case PEERD__V1__SUPPORTER_STATUS__AVAILABLE:
			st = "available";
			break;
		case PEERD__V1__SUPPORTER_STATUS__ON_BREAK:
			st = "on a break";
			break;
		default:
			st = "away";
			break;
		}
		snprintf(buf, len, " peer \u00b7 %s \u00b7 %s \u00b7 %d/%u  ",
		    p->display_name[0] != '\0' ? p->display_name : "supporter",
		    st, peer_conv_count(p), p->capacity != 0 ? p->capacity :
		    p->max_capacity);
	} else if ((c = tty.view->conv) != NULL ||
	    (peer_conv_count(p) > 0 && (c = p->current) != NULL))
		snprintf(buf, len, " peer \u00b7 %s %s  ", c->state ==
		    PEER_CONV_ENDED ? "talked with" : "talking with",
		    c->peer_name);
	else
		snprintf(buf, len, " peer \u00b7 %s  ", p->state !=
		    PEER_S_READY ? "connecting" : p->want_peer ?
		    "looking for a peer" : "not in a conversation");
	if (!tty.utf8) {
		/* The separators above are UTF-8; say it plainly instead. */
		for (used = 0; buf[used] != '\0'; used++) {
			if ((unsigned char)buf[used] >= 0x80)
				buf[used] = ' ';
		}
	}
	if (p->opts->cmd != PEER_CMD_SUPPORT && p->nconv <= 1)
		return;
	used = strlen(buf);
	snprintf(buf + used, len - used, "%s", tty.view == &tty.lobby ?
	    "[lobby]" : "lobby");
	TAILQ_FOREACH(c, &p->convs, entry) {
		struct tty_view	*v = c->ui;

		used = strlen(buf);
		if (v == NULL || used + 40 > len)
			break;
		snprintf(buf + used, len - used, " %s%u:%.16s%s%s",
		    v == tty.view ? "[" : "", c->number, c->peer_name,
		    c->state == PEER_CONV_ENDED ? "(ended)" :
		    v->unread > 0 ? "*" : "", v == tty.view ? "]" : "");
	}
}

/* Write the status row's text into buf. */
static void
tty_status(char *buf, size_t len)
{
	struct peer		*p = tty.p;
	struct peer_conv	*c = tty.view->conv;
	struct peer_offer	*o;
	int64_t			 now = peer_now_ms(), left, waited;

	buf[0] = '\0';
	if (tty.notice[0] != '\0' && now < tty.notice_until) {
		snprintf(buf, len, "%s", tty.notice);
		return;
	}
	if (p->state == PEER_S_WAITING) {
		snprintf(buf, len, "Connection lost; reconnecting. Nothing you "
		    "wrote is lost.");
		return;
	}
	if (p->state == PEER_S_CONNECTING) {
		snprintf(buf, len, "Connecting...");
		return;
	}
	if ((o = TAILQ_FIRST(&p->offers)) != NULL) {
		left = (o->expires_ms - now + 999) / 1000;
		snprintf(buf, len, "Offer %llu%s: shares %s; /accept or "
		    "/decline (%lld s)", (unsigned long long)o->id,
		    o->urgent ? " (urgent)" : "", o->shared[0] != '\0' ?
		    o->shared : "no tags", (long long)(left > 0 ? left : 0));
		return;
	}
	if (c != NULL && c->state != PEER_CONV_ENDED) {
		if (c->peer_away)
			snprintf(buf, len, "%s's connection dropped; they can "
			    "come back and will get your messages.",
			    c->peer_name);
		else if (c->peer_typing)
			snprintf(buf, len, "%s is typing...", c->peer_name);
		return;
	}
	if (c == NULL && tty.waiting_since != 0 && p->want_peer) {
		waited = (now - tty.waiting_since) / 1000;
		if (tty.position == 0)
			snprintf(buf, len, "Looking for a peer... (%lld:%02lld)",
			    (long long)waited / 60, (long long)waited % 60);
		else
			snprintf(buf, len, "Waiting: position %u, about %u "
			    "min%s (%lld:%02lld)", tty.position,
			    (tty.eta_s + 59) / 60, tty.relaxed ?
			    ", any peer now" : "", (long long)waited / 60,
			    (long long)waited % 60);
	}
}

/* Draw the whole screen. */
void
tty_draw(void)
{
	struct evbuffer	*b;
	char		 title[512], status[512], *in;
	size_t		 bytes, off = 0;
	int		 height = tty.rows - 3, cols;

	if (!tty.raw || (b = evbuffer_new()) == NULL)
		return;
	if (height < 1)
		height = 1;
	evbuffer_add(b, "\033[?25l\033[H\033[7m", 13);
	tty_title(title, sizeof title);
	tty_put_row(b, title, strlen(title), tty.cols);
	evbuffer_add(b, "\033[0m", 4);
	tty_draw_history(b, height);

	evbuffer_add_printf(b, "\033[%d;1H\033[2m", height + 2);
	tty_status(status, sizeof status);
	tty_put_row(b, status, strlen(status), tty.cols);
	evbuffer_add(b, "\033[0m", 4);

	/* The input row: show the end of what is typed. */
	evbuffer_add_printf(b, "\033[%d;1H> ", height + 3);
	in = peer_clean(tty.input, tty.ilen, tty.utf8 ? 0 : PEER_CLEAN_ASCII);
	while (tty_cut(in + off, 1 << 30, &bytes) > tty.cols - 3)
		off += tty_char_len(in + off);
	cols = tty_cut(in + off, tty.cols - 3, &bytes);
	evbuffer_add(b, in + off, bytes);
	evbuffer_add(b, "\033[K", 3);
	evbuffer_add_printf(b, "\033[%d;%dH\033[?25h", height + 3, 3 + cols);
	free(in);
	tty_write(b);
	evbuffer_free(b);
}
