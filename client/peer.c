/*
 * peer.c -- the terminal client for requesters and supporters: command
 * line, signals, the event loop, and `peer tags`.
 *
 *	peer [GLOBAL OPTIONS] request [--need TAGS] [--prefer TAGS] ...
 *	peer [GLOBAL OPTIONS] support --credential FILE [--capacity N] ...
 *	peer [GLOBAL OPTIONS] tags
 *
 * Interactive (peer_tty.c) when stdin and stdout are terminals, script
 * mode (peer_script.c) otherwise; see client/PEER.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "peer.h"

#ifndef PEERD_VERSION
#define PEERD_VERSION	"unknown"
#endif

#define PEER_TIMEOUT_MAX	(7 * 86400)	/* s, longest --timeout */

static const char peer_usage_text[] =
"usage: peer [OPTIONS] request [--need TAGS] [--prefer TAGS] [--lang LANGS]\n"
"            [--relax-after DURATION] [--urgent] [--previous] [--no-key]\n"
"       peer [OPTIONS] support --credential FILE [--capacity N] [--auto-accept]\n"
"       peer [OPTIONS] tags\n";

static const char peer_help_text[] =
"\n"
"Talk to a peer supporter who shares who you are (request), offer support\n"
"(support), or list the identity tags a server knows (tags).\n"
"\n"
"Options:\n"
"  --server HOST:PORT  peerd to use (default " PEER_DEFAULT_HOST ":"
    PEER_DEFAULT_PORT "; [::1]:PORT for IPv6)\n"
"  --ca FILE           CA certificate to trust (default " PEER_DEFAULT_CA ")\n"
"  --tls-name NAME     name the server certificate must carry (default\n"
"                      " PEER_DEFAULT_TLS_NAME " with the default server, "
    "else HOST)\n"
"  --timeout SECONDS   give up after this long (exit status 3)\n"
"  --script            script mode even on a terminal\n"
"  --interactive       interactive mode (stdin and stdout must be terminals)\n"
"  --wait-delivered    script mode: at end of input, wait until the peer has\n"
"                      received every message, not only peerd\n"
"  -v, --verbose       say more on stderr\n"
"  -h, --help          this help;  -V, --version  the version\n"
"\n"
"request:\n"
"  --need TAGS         tags your peer must share, comma-separated (see 'peer "
    "tags')\n"
"  --prefer TAGS       tags your peer should share if possible\n"
"  --lang LANGS        languages you can talk in, ISO 639-1 (e.g. en,cy)\n"
"  --relax-after DUR   after waiting this long (90, 90s, 5m, 1h), count needed\n"
"                      tags as preferred (without it, never)\n"
"  --urgent            ask to be served first\n"
"  --previous          prefer the supporter you talked with last time\n"
"  --no-key            stay fully anonymous: send no requester key\n"
"  --key-file FILE     requester key (default ~/.config/peer/requester.key,\n"
"                      32 random bytes made on first use, mode 0600; lets\n"
"                      peerd keep blocks and --previous across visits)\n"
"\n"
"support:\n"
"  --credential FILE   the credential your organisation issued (required)\n"
"  --capacity N        conversations at once (default: the credential's)\n"
"  --auto-accept       accept every offer (script mode otherwise declines)\n"
"\n"
"Script mode (stdin or stdout not a terminal): each line of stdin is a\n"
"message; each event is one line on stdout:\n"
"  queued position=N eta_s=N\n"
"  offer id=ID shared=TAG,TAG\n"
"  matched conversation=ID peer=NAME shared=TAG,TAG\n"
"  message conversation=ID seq=N text=TEXT\n"
"  accepted seq=N\n"
"  delivered seq=N\n"
"  peer-reconnecting\n"
"  resumed\n"
"  ended conversation=ID reason=REASON\n"
"  error code=CODE message=TEXT\n"
"TEXT and NAME are escaped to one line (\\\\ \\n \\t, anything unprintable\n"
"as \\xHH; NAME also has spaces as \\x20).  CODE is the error's name in\n"
"peer.proto (UNKNOWN_TAG); REASON is by_requester, by_supporter, reported,\n"
"peer_gone, shutdown, revoked, or resume_failed / connection_lost when the\n"
"conversation ended on this side.  At end of input peer waits until peerd\n"
"has accepted every line, ends the conversation and exits.\n"
"\n"
"Interactive mode: type and press Enter to send; /help lists commands.\n"
"\n"
"SIGINT, SIGTERM, SIGHUP: end the conversation and leave (a second one:\n"
"at once).\n"
"\n"
"Exit status: 0 done, 1 error (refused, or the connection was lost for\n"
"good), 2 usage, 3 --timeout passed.  See client/PEER.md.\n";

enum {
	OPT_SERVER = 256,
	OPT_CA,
	OPT_TLS_NAME,
	OPT_TIMEOUT,
	OPT_SCRIPT,
	OPT_INTERACTIVE,
	OPT_WAIT_DELIVERED,
	OPT_NEED,
	OPT_PREFER,
	OPT_LANG,
	OPT_RELAX,
	OPT_URGENT,
	OPT_PREVIOUS,
	OPT_NO_KEY,
	OPT_KEY_FILE,
	OPT_CREDENTIAL,
	OPT_CAPACITY,
	OPT_AUTO_ACCEPT
};

static const struct option peer_options[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "tls-name", required_argument, NULL, OPT_TLS_NAME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "script", no_argument, NULL, OPT_SCRIPT },
	{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
	{ "wait-delivered", no_argument, NULL, OPT_WAIT_DELIVERED },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "need", required_argument, NULL, OPT_NEED },
	{ "prefer", required_argument, NULL, OPT_PREFER },
	{ "lang", required_argument, NULL, OPT_LANG },
	{ "relax-after", required_argument, NULL, OPT_RELAX },
	{ "urgent", no_argument, NULL, OPT_URGENT },
	{ "previous", no_argument, NULL, OPT_PREVIOUS },
	{ "no-key", no_argument, NULL, OPT_NO_KEY },
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "credential", required_argument, NULL, OPT_CREDENTIAL },
	{ "capacity", required_argument, NULL, OPT_CAPACITY },
	{ "auto-accept", no_argument, NULL, OPT_AUTO_ACCEPT },
	{ NULL, 0, NULL, 0 }
};

/* Print why the command line is wrong; return the usage exit code. */
static int
peer_usage(const char *why, const char *arg)
{
	if (why != NULL)
		fprintf(stderr, "peer: %s%s%s\n", why, arg != NULL ? ": " : "",
		    arg != NULL ? arg : "");
	fputs(peer_usage_text, stderr);
	fputs("Try 'peer --help'.\n", stderr);
	return (PEER_EXIT_USAGE);
}

/* Parse a number from 1 to max.  Returns 0 or -1. */
static int
peer_number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long	 v;
	char		*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v == 0 || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* Which command may use an option: -1 any, else an enum peer_cmd. */
static int
peer_option_cmd(int ch)
{
	switch (ch) {
	case OPT_NEED:
	case OPT_PREFER:
	case OPT_LANG:
	case OPT_RELAX:
	case OPT_URGENT:
	case OPT_PREVIOUS:
	case OPT_NO_KEY:
	case OPT_KEY_FILE:
		return (PEER_CMD_REQUEST);
	case OPT_CREDENTIAL:
	case OPT_CAPACITY:
	case OPT_AUTO_ACCEPT:
		return (PEER_CMD_SUPPORT);
	}
	return (-1);
}

/*
 * Parse the command line into o.  Returns -1 to go on, else an exit code
 * (help, version, usage error).
 */
static int
peer_parse(struct peer_opts *o, int argc, char **argv)
{
	unsigned long	 n;
	int		 ch, mode = -1, used[PEER_CMD_TAGS + 1] = { 0 };
	const char	*cmd;

	memset(o, 0, sizeof *o);
	strcpy(o->host, PEER_DEFAULT_HOST);
	strcpy(o->port, PEER_DEFAULT_PORT);
	o->tls_name = PEER_DEFAULT_TLS_NAME;
	o->ca = PEER_DEFAULT_CA;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "vhV", peer_options,
	    NULL)) != -1) {
		if (peer_option_cmd(ch) != -1)
			used[peer_option_cmd(ch)] = ch;
		switch (ch) {
		case OPT_SERVER:
			if (peerclient_split_hostport(optarg, o->host,
			    sizeof o->host, o->port, sizeof o->port) != PEERCLIENT_OK)
				return (peer_usage("--server must be "
				    "HOST:PORT", optarg));
			if (o->tls_name != NULL &&
			    strcmp(o->tls_name, PEER_DEFAULT_TLS_NAME) == 0)
				o->tls_name = NULL;	/* verify HOST */
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_TLS_NAME:
			o->tls_name = optarg;
			break;
		case OPT_TIMEOUT:
			if (peer_number(optarg, PEER_TIMEOUT_MAX, &n) == -1)
				return (peer_usage("--timeout must be a "
				    "number of seconds", optarg));
			o->timeout_s = (int)n;
			break;
		case OPT_SCRIPT:
			mode = 1;
			break;
		case OPT_INTERACTIVE:
			mode = 0;
			break;
		case OPT_WAIT_DELIVERED:
			o->wait_delivered = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			fputs(peer_usage_text, stdout);
			fputs(peer_help_text, stdout);
			return (PEER_EXIT_OK);
		case 'V':
			printf("peer %s\n", PEERD_VERSION);
			return (PEER_EXIT_OK);
		case OPT_NEED:
		case OPT_PREFER:
		case OPT_LANG:
			if (peer_list_parse(ch == OPT_NEED ? &o->need :
			    ch == OPT_PREFER ? &o->prefer : &o->langs,
			    optarg) == -1)
				return (peer_usage("a list is NAME,NAME,... "
				    "without empty names", optarg));
			break;
		case OPT_RELAX:
			if (peer_duration(optarg, &o->relax_after_s) == -1)
				return (peer_usage("--relax-after must be a "
				    "duration such as 90, 90s, 5m or 1h",
				    optarg));
			break;
		case OPT_URGENT:
			o->urgent = 1;
			break;
		case OPT_PREVIOUS:
			o->previous = 1;
			break;
		case OPT_NO_KEY:
			o->no_key = 1;
			break;
		case OPT_KEY_FILE:
			o->key_file = optarg;
			break;
		case OPT_CREDENTIAL:
			o->credential = optarg;
			break;
		case OPT_CAPACITY:
			if (peer_number(optarg, 1000, &n) == -1)
				return (peer_usage("--capacity must be a "
				    "number from 1", optarg));
			o->capacity = (uint32_t)n;
			break;
		case OPT_AUTO_ACCEPT:
			o->auto_accept = 1;
			break;
		default:
			return (peer_usage("unknown option or missing value",
			    optind > 0 && optind <= argc ? argv[optind - 1] :
			    NULL));
		}
	}
	if (optind != argc - 1)
		return (peer_usage(optind == argc ? "no command" :
		    "one command only", optind < argc ? argv[optind + 1] :
		    NULL));
	cmd = argv[optind];
	if (strcmp(cmd, "request") == 0)
		o->cmd = PEER_CMD_REQUEST;
	else if (strcmp(cmd, "support") == 0)
		o->cmd = PEER_CMD_SUPPORT;
	else if (strcmp(cmd, "tags") == 0)
		o->cmd = PEER_CMD_TAGS;
	else
		return (peer_usage("unknown command", cmd));
	if (o->cmd != PEER_CMD_REQUEST && used[PEER_CMD_REQUEST])
		return (peer_usage("option only for 'request'", NULL));
	if (o->cmd != PEER_CMD_SUPPORT && used[PEER_CMD_SUPPORT])
		return (peer_usage("option only for 'support'", NULL));
	if (o->previous && o->no_key)
		return (peer_usage("--previous needs the requester key "
		    "(without --no-key)", NULL));
	if (o->cmd == PEER_CMD_SUPPORT && o->credential == NULL)
		return (peer_usage("support needs --credential FILE", NULL));
	if (o->cmd == PEER_CMD_TAGS)
		o->no_key = 1;
	if (mode == -1)
		o->script = !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
	else
		o->script = mode;
	if (!o->script && o->cmd != PEER_CMD_TAGS &&
	    !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)))
		return (peer_usage("--interactive needs a terminal", NULL));
	if (o->tls_name == NULL)
		o->tls_name = o->host;
	return (-1);
}

/* ---- peer tags: connect, print the catalogue from Welcome, leave ------- */

static void
tags_welcome(struct peer *p)
{
	size_t	 i, w = 0, len;
	char	*name, *desc;

	for (i = 0; i < p->ntags; i++) {
		if ((len = strlen(p->tags[i].name)) > w)
			w = len;
	}
	for (i = 0; i < p->ntags; i++) {
		name = peer_escape(p->tags[i].name, strlen(p->tags[i].name));
		desc = peer_escape(p->tags[i].description,
		    strlen(p->tags[i].description));
		printf("%-*s  %s\n", (int)w, name, desc);
		free(name);
		free(desc);
	}
	fflush(stdout);
	peer_quit(p, PEER_EXIT_OK);
}

static void
tags_error(struct peer *p, struct peer_conv *c, struct peer_msg *m,
    const char *code, const char *text)
{
	(void)c;
	(void)m;
	fprintf(stderr, "peer: peerd refused: %s (%s)\n", text, code);
	peer_quit(p, PEER_EXIT_ERROR);
}

static void
tags_notice(struct peer *p, const char *text)
{
	(void)p;
	fprintf(stderr, "peer: %s\n", text);
}

static void
tags_nothing(struct peer *p)
{
	(void)p;
}

static const struct peer_ui peer_tags_ui = {
	tags_welcome, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, tags_error, tags_notice, tags_nothing, tags_nothing, NULL
};

/* ---- main --------------------------------------------------------------- */

struct peer_main {
	struct peer	*p;
	int		 signals;
};

/* --timeout passed: end what is open (without waiting) and go. */
static void
peer_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer		*p = arg;
	struct peer_conv	*c;
	char			 buf[64];

	(void)fd;
	(void)what;
	snprintf(buf, sizeof buf, "timed out after %d s", p->opts->timeout_s);
	p->ui->notice(p, buf);
	TAILQ_FOREACH(c, &p->convs, entry)
		peer_end(p, c);
	peer_quit(p, PEER_EXIT_TIMEOUT);
}

/* SIGINT, SIGTERM, SIGHUP: leave politely; a second one: at once. */
static void
peer_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct peer_main	*m = arg;

	(void)what;
	if (m->signals++ > 0 || m->p->state != PEER_S_READY) {
		peer_quit(m->p, PEER_EXIT_ERROR);
		return;
	}
	m->p->ui->notice(m->p, sig == SIGINT ? "interrupted; ending the "
	    "conversation" : "asked to stop; ending the conversation");
	peer_leave(m->p, PEER_EXIT_OK);
}

int
main(int argc, char **argv)
{
	struct peer_opts	 opts;
	struct peer		 p;
	struct peer_main	 m;
	struct event_base	*base;
	struct event		*ev_timeout = NULL, *ev_sig[3];
	const struct peer_ui	*ui;
	struct timeval		 tv;
	const int		 sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	int			 rc, i;

	if ((rc = peer_parse(&opts, argc, argv)) != -1)
		return (rc);
	/* OpenSSL writes to a socket peerd may have closed. */
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "peer: cannot make an event base\n");
		return (PEER_EXIT_ERROR);
	}
	if (opts.cmd == PEER_CMD_TAGS)
		ui = &peer_tags_ui;
	else if (opts.script)
		ui = &peer_script_ui;
	else
		ui = &peer_tty_ui;
	if (peer_session_init(&p, &opts, base, ui, NULL) == -1) {
		peer_session_free(&p);
		event_base_free(base);
		return (PEER_EXIT_ERROR);
	}
	m.p = &p;
	m.signals = 0;
	for (i = 0; i < 3; i++) {
		ev_sig[i] = evsignal_new(base, sigs[i], peer_signal_cb, &m);
		if (ev_sig[i] != NULL)
			evsignal_add(ev_sig[i], NULL);
	}
	if (opts.timeout_s > 0 &&
	    (ev_timeout = evtimer_new(base, peer_timeout_cb, &p)) != NULL) {
		tv.tv_sec = opts.timeout_s;
		tv.tv_usec = 0;
		evtimer_add(ev_timeout, &tv);
	}
	rc = 0;
	if (ui == &peer_script_ui)
		rc = peer_script_run(&p);
	else if (ui == &peer_tty_ui)
		rc = peer_tty_run(&p);
	if (rc == -1)
		p.exit_code = PEER_EXIT_ERROR;
	else {
		peer_session_start(&p);
		event_base_dispatch(base);
	}
	if (ui == &peer_script_ui)
		peer_script_free();
	else if (ui == &peer_tty_ui)
		peer_tty_free();
	rc = p.exit_code;
	for (i = 0; i < 3; i++) {
		if (ev_sig[i] != NULL)
			event_free(ev_sig[i]);
	}
	if (ev_timeout != NULL)
		event_free(ev_timeout);
	peer_session_free(&p);
	event_base_free(base);
	return (rc);
}
