/*
 * peer_tty.c -- interactive mode: the terminal, keys, commands, and what
 * the session reports, turned into lines on the screen (peer_tty_draw.c).
 *
 * The terminal is put in a raw-ish mode (no canonical input, no echo, no
 * signals from keys) on the alternate screen, so the conversation leaves
 * nothing in the terminal's scrollback when peer exits.  Keys are read by
 * a libevent event on stdin; nothing here blocks the loop.
 *
 * Keys: Enter sends, Backspace, Ctrl-U (erase line), Ctrl-W (erase word),
 * Tab (next conversation), PageUp/PageDown (scroll), Ctrl-L (redraw),
 * Ctrl-C or Ctrl-D on an empty line (leave, asking once to confirm while
 * a conversation is open).
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "peer.h"

#define TTY_TICK_MS	1000	/* ms, clock for countdowns and timeouts */

struct tty		 tty;
static struct termios	 tty_saved;

static void	tty_cmd_help(struct peer *, char *);
static void	tty_cmd_quit(struct peer *, char *);
static void	tty_cmd_end(struct peer *, char *);
static void	tty_cmd_report(struct peer *, char *);
static void	tty_cmd_new(struct peer *, char *);
static void	tty_cmd_cancel(struct peer *, char *);
static void	tty_cmd_accept(struct peer *, char *);
static void	tty_cmd_decline(struct peer *, char *);
static void	tty_cmd_available(struct peer *, char *);
static void	tty_cmd_away(struct peer *, char *);
static void	tty_cmd_break(struct peer *, char *);
static void	tty_cmd_capacity(struct peer *, char *);
static void	tty_cmd_switch(struct peer *, char *);

/* Who may use a command. */
#define TTY_R	0x1	/* requester */
#define TTY_S	0x2	/* supporter */

static const struct {
	const char	*name;
	int		 who;
	void		(*fn)(struct peer *, char *);
	const char	*help;
} tty_cmds[] = {
	{ "help", TTY_R | TTY_S, tty_cmd_help, "/help: this list" },
	{ "end", TTY_R | TTY_S, tty_cmd_end,
	  "/end: end this conversation kindly" },
	{ "report", TTY_R | TTY_S, tty_cmd_report,
	  "/report [REASON]: end it, report the other person, never be "
	  "matched with them again" },
	{ "new", TTY_R, tty_cmd_new,
	  "/new: ask for a peer again after a conversation ended" },
	{ "cancel", TTY_R, tty_cmd_cancel, "/cancel: stop waiting for a peer" },
	{ "accept", TTY_S, tty_cmd_accept,
	  "/accept [ID]: take the offer shown (or offer ID)" },
	{ "decline", TTY_S, tty_cmd_decline,
	  "/decline [ID]: let the offer go to someone else" },
	{ "available", TTY_S, tty_cmd_available,
	  "/available: ready for new conversations" },
	{ "away", TTY_S, tty_cmd_away, "/away: no new conversations" },
	{ "break", TTY_S, tty_cmd_break,
	  "/break: on a break (no new conversations)" },
	{ "capacity", TTY_S, tty_cmd_capacity,
	  "/capacity N: conversations at once" },
	{ "go", TTY_S, tty_cmd_switch,
	  "/go N: show conversation N (/go 0: the lobby; Tab: next)" },
	{ "quit", TTY_R | TTY_S, tty_cmd_quit,
	  "/quit: end your conversations and leave" },
};
#define TTY_NCMDS	(sizeof tty_cmds / sizeof tty_cmds[0])

/* Put the terminal back as it was. */
static void
tty_restore(void)
{
	if (!tty.raw)
		return;
	tty.raw = 0;
	/* Leave the alternate screen; show the cursor again. */
	(void)!write(STDOUT_FILENO, "\033[?25h\033[?1049l", 14);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
}

/* Read the window size. */
static void
tty_size(void)
{
	struct winsize	ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		tty.rows = ws.ws_row;
		tty.cols = ws.ws_col;
	} else {
		tty.rows = 24;
		tty.cols = 80;
	}
	if (tty.cols < 20)
		tty.cols = 20;
}

/* Show view v. */
static void
tty_show(struct tty_view *v)
{
	tty.view = v;
	tty.scroll = 0;
	v->unread = 0;
	tty_dirty();
}

/* Stop saying we type. */
static void
tty_typing_off(void)
{
	if (tty.typing_sent && tty.view->conv != NULL)
		peer_typing(tty.p, tty.view->conv, 0);
	tty.typing_sent = 0;
}

/* ---- commands ----------------------------------------------------------- */

static void
tty_cmd_help(struct peer *p, char *arg)
{
	size_t	i;
	int	who = p->opts->cmd == PEER_CMD_SUPPORT ? TTY_S : TTY_R;

	(void)arg;
	tty_addf(tty.view, "Type and press Enter to send. Commands:");
	for (i = 0; i < TTY_NCMDS; i++) {
		if (tty_cmds[i].who & who)
			tty_addf(tty.view, "  %s", tty_cmds[i].help);
	}
	tty_addf(tty.view, "  PageUp/PageDown scroll; Ctrl-C twice leaves.");
}

/* Leave, asking once to confirm while a conversation is open. */
static void
tty_cmd_quit(struct peer *p, char *arg)
{
	int64_t	now = peer_now_ms();

	(void)arg;
	if (peer_conv_count(p) > 0 && now > tty.confirm_until) {
		tty.confirm_until = now + TTY_CONFIRM_MS;
		tty_notice("This ends your conversation%s. Press Ctrl-C or "
		    "type /quit again to leave.", peer_conv_count(p) > 1 ?
		    "s" : "");
		return;
	}
	tty_typing_off();
	snprintf(tty.goodbye, sizeof tty.goodbye, "peer: you left. Take "
	    "care.");
	if (p->state != PEER_S_READY)
		peer_quit(p, PEER_EXIT_OK);
	else
		peer_leave(p, PEER_EXIT_OK);
	tty_notice("Leaving...");
}

/* Return the conversation on screen, or NULL after saying there is none. */
static struct peer_conv *
tty_conv_here(void)
{
	struct peer_conv	*c = tty.view->conv;

	if (c == NULL && peer_conv_count(tty.p) == 1)
		c = tty.p->current;	/* the only one there is */
	if (c == NULL || c->state == PEER_CONV_ENDED) {
		tty_notice("There is no conversation here.");
		return (NULL);
	}
	return (c);
}

static void
tty_cmd_end(struct peer *p, char *arg)
{
	struct peer_conv	*c;

	(void)arg;
	if ((c = tty_conv_here()) == NULL)
		return;
	tty_typing_off();
	if (peer_end(p, c) == 0)
		tty_notice("Ending the conversation...");
}

static void
tty_cmd_report(struct peer *p, char *arg)
{
	struct peer_conv	*c;

	if ((c = tty_conv_here()) == NULL)
		return;
	tty_typing_off();
	if (peer_report(p, c, *arg != '\0' ? arg : "unspecified") == 0)
		tty_notice("Reporting and ending the conversation...");
}

static void
tty_cmd_new(struct peer *p, char *arg)
{
	(void)arg;
	if (peer_conv_count(p) > 0 || p->want_peer) {
		tty_notice("You are already %s.", p->want_peer ?
		    "waiting for a peer" : "in a conversation");
		return;
	}
	if (p->state != PEER_S_READY) {
		tty_notice("Not connected yet; try again in a moment.");
		return;
	}
	peer_request(p);
	tty.waiting_since = peer_now_ms();
	tty.position = 0;
	tty_show(&tty.lobby);
	tty_addf(&tty.lobby, "Looking for a peer...");
}

static void
tty_cmd_cancel(struct peer *p, char *arg)
{
	(void)arg;
	if (!p->want_peer) {
		tty_notice("You are not waiting for a peer.");
		return;
	}
	peer_cancel(p);
	tty.waiting_since = 0;
	tty_addf(&tty.lobby, "You stopped waiting. /new asks again.");
}

/* Return the offer named by arg (or the oldest), or NULL after saying. */
static struct peer_offer *
tty_offer(struct peer *p, const char *arg)
{
	struct peer_offer	*o;
	unsigned long long	 id;

	if (*arg == '\0') {
		if ((o = TAILQ_FIRST(&p->offers)) == NULL)
			tty_notice("There is no offer to answer.");
		return (o);
	}
	id = strtoull(arg, NULL, 10);
	TAILQ_FOREACH(o, &p->offers, entry) {
		if (o->id == id)
			return (o);
	}
	tty_notice("There is no offer %s.", arg);
	return (NULL);
}

static void
tty_cmd_accept(struct peer *p, char *arg)
{
	struct peer_offer	*o;

	if ((o = tty_offer(p, arg)) != NULL && peer_answer_offer(p, o, 1) == 0)
		tty_notice("Accepting offer %llu...",
		    (unsigned long long)o->id);
}

static void
tty_cmd_decline(struct peer *p, char *arg)
{
	struct peer_offer	*o;

	if ((o = tty_offer(p, arg)) != NULL && peer_answer_offer(p, o, 0) == 0)
		tty_notice("Declined offer %llu.", (unsigned long long)o->id);
}

/* Set our availability and say what it means. */
static void
tty_set_status(struct peer *p, int st)
{
	peer_set_status(p, st, 0);
	tty_addf(&tty.lobby, "%s", st ==
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE ? "You are available for "
	    "new conversations." : st == PEERD__V1__SUPPORTER_STATUS__AWAY ?
	    "You are away: no new conversations." : "You are on a break: no "
	    "new conversations. /available when you are ready.");
}

static void
tty_cmd_available(struct peer *p, char *arg)
{
	(void)arg;
	tty_set_status(p, PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
}

static void
tty_cmd_away(struct peer *p, char *arg)
{
	(void)arg;
	tty_set_status(p, PEERD__V1__SUPPORTER_STATUS__AWAY);
}

static void
tty_cmd_break(struct peer *p, char *arg)
{
	(void)arg;
	tty_set_status(p, PEERD__V1__SUPPORTER_STATUS__ON_BREAK);
}

static void
tty_cmd_capacity(struct peer *p, char *arg)
{
	unsigned long	 n;
	char		*end;

	n = strtoul(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || n == 0 ||
	    (p->max_capacity != 0 && n > p->max_capacity)) {
		tty_notice("Capacity is a number from 1 to %u.",
		    p->max_capacity);
		return;
	}
	peer_set_status(p, p->status, (uint32_t)n);
	tty_notice("Up to %lu conversation%s at once.", n, n == 1 ? "" : "s");
}

/* Show the next view (arg empty) or conversation number arg. */
static void
tty_cmd_switch(struct peer *p, char *arg)
{
	struct peer_conv	*c;
	unsigned long		 n;

	if (*arg != '\0') {
		n = strtoul(arg, NULL, 10);
		if (n == 0) {
			tty_show(&tty.lobby);
			return;
		}
		TAILQ_FOREACH(c, &p->convs, entry) {
			if (c->number == n && c->ui != NULL) {
				tty_show(c->ui);
				return;
			}
		}
		tty_notice("There is no conversation %s.", arg);
		return;
	}
	tty_typing_off();
	c = tty.view->conv != NULL ? TAILQ_NEXT(tty.view->conv, entry) :
	    TAILQ_FIRST(&p->convs);
	while (c != NULL && (c->ui == NULL || c->state == PEER_CONV_ENDED))
		c = TAILQ_NEXT(c, entry);
	tty_show(c != NULL ? c->ui : &tty.lobby);
}

/* ---- keys --------------------------------------------------------------- */

/* Act on the line typed: a command or a message. */
static void
tty_submit(struct peer *p)
{
	struct peer_conv	*c = tty.view->conv;
	struct tty_line		*l;
	char			*arg, *name;
	size_t			 i, len;
	int			 who = p->opts->cmd == PEER_CMD_SUPPORT ?
				     TTY_S : TTY_R;

	tty.input[tty.ilen] = '\0';
	tty.scroll = 0;
	if (tty.input[0] == '/' && tty.input[1] != '/') {
		name = tty.input + 1;
		len = strcspn(name, " ");
		arg = name + len;
		while (*arg == ' ')
			arg++;
		for (i = 0; i < TTY_NCMDS; i++) {
			if ((tty_cmds[i].who & who) &&
			    strlen(tty_cmds[i].name) == len &&
			    strncasecmp(tty_cmds[i].name, name, len) == 0)
				break;
		}
		if (i == TTY_NCMDS)
			tty_notice("Unknown command; /help lists them. (Start "
			    "a message with // to send a slash.)");
		else
			tty_cmds[i].fn(p, arg);
		tty.ilen = 0;
		tty_dirty();
		return;
	}
	if (tty.ilen == 0)
		return;
	if (c == NULL || c->state == PEER_CONV_ENDED) {
		tty_notice(p->opts->cmd == PEER_CMD_REQUEST ? "You can write "
		    "once you are talking with a peer." : "Pick a "
		    "conversation first (Tab).");
		return;
	}
	arg = tty.input[0] == '/' ? tty.input + 1 : tty.input;
	len = tty.ilen - (size_t)(arg - tty.input);
	tty_typing_off();
	if (peer_say(p, c, arg, len) == -1)
		return;		/* the error is shown; the text stays */
	l = tty_add(c->ui, TTY_ME, arg, len);
	l->cmid = c->next_cmid - 1;
	l->tick = TTY_TICK_SENDING;
	tty.ilen = 0;
	tty_dirty();
}

/* Remove the last character (UTF-8) of the input. */
static void
tty_backspace(void)
{
	while (tty.ilen > 0 &&
	    ((unsigned char)tty.input[--tty.ilen] & 0xc0) == 0x80)
		;
}

/* Handle the end of an escape sequence: PageUp, PageDown. */
static void
tty_escape(void)
{
	int	page = tty.rows / 2 > 1 ? tty.rows / 2 : 1;

	tty.escbuf[tty.esclen] = '\0';
	if (strcmp(tty.escbuf, "5~") == 0)
		tty.scroll += page;
	else if (strcmp(tty.escbuf, "6~") == 0)
		tty.scroll = tty.scroll > page ? tty.scroll - page : 0;
	tty_dirty();
}

/* Handle one byte typed. */
static void
tty_key(struct peer *p, unsigned char ch)
{
	if (tty.esc == 1) {
		tty.esc = (ch == '[' || ch == 'O') ? 2 : 0;
		tty.esclen = 0;
		return;
	}
	if (tty.esc == 2) {
		if (ch >= 0x40 && ch <= 0x7e) {
			tty.esc = 0;
			if (tty.esclen < sizeof tty.escbuf - 1)
				tty.escbuf[tty.esclen++] = (char)ch;
			tty_escape();
		} else if (tty.esclen < sizeof tty.escbuf - 2)
			tty.escbuf[tty.esclen++] = (char)ch;
		return;
	}
	switch (ch) {
	case 0x1b:
		tty.esc = 1;
		return;
	case '\r':
	case '\n':
		tty_submit(p);
		return;
	case 0x03:	/* Ctrl-C */
		tty_cmd_quit(p, (char *)"");
		return;
	case 0x04:	/* Ctrl-D */
		if (tty.ilen == 0)
			tty_cmd_quit(p, (char *)"");
		return;
	case '\t':
		/* A requester has one conversation: nothing to switch. */
		if (p->opts->cmd == PEER_CMD_SUPPORT)
			tty_cmd_switch(p, (char *)"");
		return;
	case 0x0c:	/* Ctrl-L */
		tty_size();
		(void)!write(STDOUT_FILENO, "\033[2J", 4);
		break;
	case 0x15:	/* Ctrl-U */
		tty.ilen = 0;
		break;
	case 0x17:	/* Ctrl-W */
		while (tty.ilen > 0 && tty.input[tty.ilen - 1] == ' ')
			tty.ilen--;
		while (tty.ilen > 0 && tty.input[tty.ilen - 1] != ' ')
			tty_backspace();
		break;
	case 0x7f:
	case 0x08:
		tty_backspace();
		break;
	default:
		if (ch < 0x20 || tty.ilen >= sizeof tty.input - 1)
			return;
		tty.input[tty.ilen++] = (char)ch;
		tty.last_key = peer_now_ms();
		if (!tty.typing_sent && tty.view->conv != NULL &&
		    tty.input[0] != '/') {
			peer_typing(p, tty.view->conv, 1);
			tty.typing_sent = 1;
		}
		break;
	}
	if (tty.ilen == 0)
		tty_typing_off();
	tty_dirty();
}

static void
tty_in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;
	unsigned char	 buf[512];
	ssize_t		 n, i;

	(void)what;
	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The terminal went away: leave without asking. */
		event_del(tty.ev_in);
		tty.confirm_until = INT64_MAX;
		peer_leave(p, PEER_EXIT_OK);
		return;
	}
	for (i = 0; i < n && p->state != PEER_S_DONE; i++)
		tty_key(p, buf[i]);
}

static void
tty_winch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	tty_size();
	tty_dirty();
}

static void
tty_draw_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	tty_draw();
}

/* Every second: countdowns, typing timeouts, expired offers. */
static void
tty_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer		*p = arg;
	struct peer_offer	*o, *next;
	struct peer_conv	*c;
	int64_t			 now = peer_now_ms();

	(void)fd;
	(void)what;
	if (tty.typing_sent && now - tty.last_key > TTY_TYPING_IDLE_MS)
		tty_typing_off();
	TAILQ_FOREACH(c, &p->convs, entry) {
		if (c->peer_typing && now - tty.peer_typing_at >
		    TTY_PEER_TYPING_MS)
			c->peer_typing = 0;
	}
	TAILQ_FOREACH_SAFE(o, &p->offers, entry, next) {
		if (o->req == 0 && now > o->expires_ms) {
			tty_addf(&tty.lobby, "Offer %llu expired.",
			    (unsigned long long)o->id);
			peer_offer_free(p, o);
		}
	}
	tty_dirty();
}

/*
 * Start interactive mode: raw terminal, alternate screen, events.
 * Returns 0, or -1 after saying why.
 */
int
peer_tty_run(struct peer *p)
{
	struct termios	raw;
	struct timeval	tv = { TTY_TICK_MS / 1000, (TTY_TICK_MS % 1000) * 1000 };
	const char	*cs;

	memset(&tty, 0, sizeof tty);
	tty.p = p;
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	tty.utf8 = cs != NULL && strcasecmp(cs, "UTF-8") == 0;
	tty_view_init(&tty.lobby, NULL);
	tty.view = &tty.lobby;
	if (tcgetattr(STDIN_FILENO, &tty_saved) == -1) {
		fprintf(stderr, "peer: stdin is not a terminal: %s\n",
		    strerror(errno));
		return (-1);
	}
	tty.ev_in = event_new(p->base, STDIN_FILENO, EV_READ | EV_PERSIST,
	    tty_in_cb, p);
	tty.ev_winch = evsignal_new(p->base, SIGWINCH, tty_winch_cb, p);
	tty.ev_tick = event_new(p->base, -1, EV_PERSIST, tty_tick_cb, p);
	tty.ev_draw = event_new(p->base, -1, 0, tty_draw_cb, p);
	if (tty.ev_in == NULL || tty.ev_winch == NULL || tty.ev_tick == NULL ||
	    tty.ev_draw == NULL || event_add(tty.ev_in, NULL) == -1) {
		fprintf(stderr, "peer: cannot watch the terminal\n");
		return (-1);
	}
	evsignal_add(tty.ev_winch, NULL);
	event_add(tty.ev_tick, &tv);

	raw = tty_saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL | INLCR);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == -1) {
		fprintf(stderr, "peer: cannot set up the terminal: %s\n",
		    strerror(errno));
		return (-1);
	}
	tty.raw = 1;
	atexit(tty_restore);
	(void)!write(STDOUT_FILENO, "\033[?1049h\033[2J", 12);
	tty_size();
	tty_addf(&tty.lobby, "Connecting to %s:%s...", p->opts->host,
	    p->opts->port);
	tty_dirty();
	return (0);
}

/* Restore the terminal, say goodbye, free the screen's state. */
void
peer_tty_free(void)
{
	struct peer_conv	*c;

	tty_restore();
	if (tty.p != NULL && tty.p->exit_code != PEER_EXIT_OK &&
	    tty.last_notice[0] != '\0')
		fprintf(stderr, "peer: %s\n", tty.last_notice);
	else if (tty.goodbye[0] != '\0')
		fprintf(stderr, "%s\n", tty.goodbye);
	if (tty.p != NULL) {
		TAILQ_FOREACH(c, &tty.p->convs, entry) {
			if (c->ui != NULL) {
				tty_view_free(c->ui);
				free(c->ui);
				c->ui = NULL;
			}
		}
	}
	tty_view_free(&tty.lobby);
	if (tty.ev_in != NULL)
		event_free(tty.ev_in);
	if (tty.ev_winch != NULL)
		event_free(tty.ev_winch);
	if (tty.ev_tick != NULL)
		event_free(tty.ev_tick);
	if (tty.ev_draw != NULL)
		event_free(tty.ev_draw);
	explicit_bzero(tty.input, sizeof tty.input);
	memset(&tty, 0, sizeof tty);
}
