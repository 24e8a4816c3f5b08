/*
 * peerctl_stats.c -- stats: one StatsReply from peerd, as a readable block
 * or one JSON object; and the operator connection that top shares.
 *
 * The operator connection is a small state machine on libpeerclient:
 *
 *	IDLE --connect--> CONNECTING --TLS up, Hello sent--> HELLO
 *	HELLO --Welcome{OPERATOR}--> READY (StatsRequest -> StatsReply, again)
 *	any --closed/failed--> IDLE (PEERCTL_OP_LOST, or nothing after
 *	    PEERCTL_OP_REFUSED)
 *
 * A refusal (bad, expired or revoked credential, a credential that is not
 * an operator's, PERMISSION_DENIED) is reported once as PEERCTL_OP_REFUSED
 * and never retried; anything else (refused connection, peerd stopping,
 * timeouts) is PEERCTL_OP_LOST, which top answers by reconnecting.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "credential.h"
#include "peerclient.h"
#include "peerctl.h"

#ifndef PEERD_VERSION
#define PEERD_VERSION		"unknown"
#endif

#define PEERCTL_CLIENT_NAME	"peerctl/" PEERD_VERSION
#define PEERCTL_STATS_TIMEOUT	10	/* s, connect to reply for `stats` */

static int	peerctl_stats(const struct peerctl_cmd *, int, char **);

/* Options of both stats and top (top has no --json). */
#define PEERCTL_OP_HELP							\
	"  --server HOST:PORT   peerd (default " PEERCTL_OP_SERVER ";\n"	\
	"                       [::1]:PORT for IPv6)\n"			\
	"  --ca FILE            CA certificate to trust (default "		\
	PEERCTL_OP_CA ")\n"						\
	"  --credential FILE    operator credential ('peerctl issue --role\n" \
	"                       operator'; default " PEERCTL_OP_CRED ")\n"	\
	"  --name NAME          host name the server certificate must carry\n" \
	"                       (default " PEERCTL_OP_NAME ")\n"

const struct peerctl_cmd peerctl_stats_cmd = {
	"stats", "[--json] [--server HOST:PORT] [--ca FILE] "
	"[--credential FILE]\n       [--name NAME]",
	"Print the queue, waits and supply/demand per tag once",
	PEERCTL_OP_HELP
	"  --json               one JSON object instead of the readable block\n"
	"\n"
	"Counts only: peerd never tells operators who is waiting or talking.\n"
	"A tag is marked GAP when more requesters wait for it (need or prefer)\n"
	"than available supporters with it have free conversation slots.\n"
	"\n"
	"JSON keys (stable): server, server_version, time (unix seconds),\n"
	"redis_up, queue_waiting, oldest_wait_s, wait_p50_s, wait_p90_s (waits\n"
	"of requesters matched in the last hour), tags (array of {tag, waiting,\n"
	"available_capacity, gap}; gap = waiting - available_capacity, or 0),\n"
	"gaps (tag names with gap > 0), supporters_available, supporters_away,\n"
	"supporters_on_break, conversations_active, matches_total,\n"
	"offers_accepted, offers_declined, offers_timed_out, reports_total,\n"
	"messages_relayed.\n"
	"\n"
	"Exit status 1 if peerd cannot be reached or refuses the credential.\n",
	peerctl_stats
};

enum peerctl_op_state {
	OP_IDLE,		/* nothing open (never connected, or lost) */
	OP_CONNECTING,		/* TCP + TLS under way */
	OP_HELLO,		/* Hello sent, Welcome awaited */
	OP_READY		/* Welcome{OPERATOR} came */
};

struct peerctl_op {
	const struct peerctl_cmd	*cmd;
	const struct peerctl_op_opts	*o;
	struct event_base		*base;
	struct peerclient_tls		*tls;
	struct peerclient		*pc;
	enum peerctl_op_state		 state;
	int				 refused;	/* reported; stay quiet */
	uint64_t			 hello_id;
	uint64_t			 stats_id;	/* outstanding, or 0 */
	peerctl_op_cb			 cb;
	void				*arg;
	char				 version[64];	/* Welcome's */
	char				 why[256];	/* from a fatal Error */
	uint8_t				 cred[CRED_MAX];
	size_t				 cred_len;
};

static void	op_connected(struct peerclient *, void *);
static void	op_envelope(struct peerclient *, Envelope *, void *);
static void	op_closed(struct peerclient *, enum peerclient_reason,
		    const char *, void *);

static const struct peerclient_callbacks op_callbacks = {
	op_connected, op_envelope, op_closed, NULL
};

/* Set o's server from HOST:PORT or [V6]:PORT.  Returns 0 or -1. */
static int
op_parse_server(struct peerctl_op_opts *o, const char *s)
{
	if (peerclient_split_hostport(s, o->host, sizeof o->host, o->port,
	    sizeof o->port) != PEERCLIENT_OK)
		return (-1);
	o->server = s;
	return (0);
}

/*
 * Parse the options of stats (json nonzero: --json allowed) or top into o.
 * Returns -1 to go on, else an exit code (help printed, or a usage error).
 */
int
peerctl_op_args(const struct peerctl_cmd *cmd, int argc, char **argv,
    struct peerctl_op_opts *o, int json)
{
	static const struct option	 opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'a' },
		{ "credential", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "tls-name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	memset(o, 0, sizeof *o);
	o->ca = PEERCTL_OP_CA;
	o->credential = PEERCTL_OP_CRED;
	o->name = PEERCTL_OP_NAME;
	if (op_parse_server(o, PEERCTL_OP_SERVER) == -1)
		return (PEERCTL_EXIT_ERROR);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (op_parse_server(o, optarg) == -1) {
				peerctl_warnx(cmd, "--server: \"%s\" is not "
				    "HOST:PORT", optarg);
				return (peerctl_usage(cmd));
			}
			break;
		case 'a':
			o->ca = optarg;
			break;
		case 'c':
			o->credential = optarg;
			break;
		case 'n':
			if (*optarg == '\0') {
				peerctl_warnx(cmd, "--name: empty");
				return (peerctl_usage(cmd));
			}
			o->name = optarg;
			break;
		case 'j':
			if (!json)
				return (peerctl_getopt_error(cmd, argc, argv));
			o->json = 1;
			break;
		case 'h':
			return (peerctl_help(cmd));
		default:
			return (peerctl_getopt_error(cmd, argc, argv));
		}
	}
	if (optind != argc) {
		peerctl_warnx(cmd, "unexpected argument: %s", argv[optind]);
		return (peerctl_usage(cmd));
	}
	return (-1);
}

/*
 * Make an operator connection (not yet connected): load the credential and
 * the CA.  Returns NULL after a message.  cb runs from the event loop and
 * must not free op.
 */
struct peerctl_op *
peerctl_op_new(const struct peerctl_cmd *cmd, struct event_base *base,
    const struct peerctl_op_opts *o, peerctl_op_cb cb, void *arg)
{
	struct peerctl_op	*op;
	char			 err[CRED_ERR_MAX];
	int			 error;

	if ((op = calloc(1, sizeof *op)) == NULL) {
		peerctl_warnx(cmd, "out of memory");
		return (NULL);
	}
	op->cmd = cmd;
	op->o = o;
	op->base = base;
	op->cb = cb;
	op->arg = arg;
	if (cred_read_file(o->credential, op->cred, sizeof op->cred,
	    &op->cred_len, err, sizeof err) == -1) {
		peerctl_warnx(cmd, "operator credential: %s (--credential "
		    "FILE)", err);
		peerctl_op_free(op);
		return (NULL);
	}
	if ((op->tls = peerclient_tls_new(o->ca, &error)) == NULL) {
		peerctl_warnx(cmd, "%s: %s", o->ca,
		    error == PEERCLIENT_ERR_CA ? "cannot load the CA "
		    "certificate (--ca FILE)" : peerclient_strerror(error));
		peerctl_op_free(op);
		return (NULL);
	}
	return (op);
}

/* Free op and close its connection at once.  NULL is fine. */
void
peerctl_op_free(struct peerctl_op *op)
{
	if (op == NULL)
		return;
	peerclient_free(op->pc);
	peerclient_tls_free(op->tls);
	explicit_bzero(op->cred, sizeof op->cred);
	free(op);
}

/*
 * Start a fresh connection (dropping any old one).  Returns 0, or -1 after
 * reporting PEERCTL_OP_LOST (or PEERCTL_OP_REFUSED) through the callback.
 */
int
peerctl_op_connect(struct peerctl_op *op)
{
	char	why[300];
	int	rc;

	peerclient_free(op->pc);
	op->state = OP_IDLE;
	op->stats_id = 0;
	op->why[0] = '\0';
	if ((op->pc = peerclient_new(op->base, op->tls, &op_callbacks,
	    op)) == NULL) {
		op->cb(op, PEERCTL_OP_LOST, NULL, "out of memory", op->arg);
		return (-1);
	}
	rc = peerclient_connect(op->pc, op->o->host, op->o->port,
	    op->o->name);
	if (rc != PEERCLIENT_OK) {
		snprintf(why, sizeof why, "cannot connect to %s: %s",
		    op->o->server, peerclient_strerror(rc));
		op->cb(op, PEERCTL_OP_LOST, NULL, why, op->arg);
		return (-1);
	}
	op->state = OP_CONNECTING;
	return (0);
}

/*
 * Send a StatsRequest if the connection is ready and no request is
 * outstanding.  Returns 0 when sent, 1 when not now (not ready or still
 * waiting), -1 if the send failed.
 */
int
peerctl_op_request(struct peerctl_op *op)
{
	Peerd__V1__StatsRequest	sr = PEERD__V1__STATS_REQUEST__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	if (op->state != OP_READY || op->stats_id != 0)
		return (1);
	env.id = peerclient_next_id(op->pc);
	env.body_case = PEERD__V1__ENVELOPE__BODY_STATS_REQUEST;
	env.stats_request = &sr;
	if (peerclient_send(op->pc, &env) != PEERCLIENT_OK)
		return (-1);
	op->stats_id = env.id;
	return (0);
}

/* Return 1 while the connection is welcomed as an operator. */
int
peerctl_op_connected(const struct peerctl_op *op)
{
	return (op->state == OP_READY);
}

/* Return peerd's version from its Welcome ("" before one). */
const char *
peerctl_op_version(const struct peerctl_op *op)
{
	return (op->version);
}

/* TLS is up: say Hello as an operator. */
static void
op_connected(struct peerclient *pc, void *arg)
{
	struct peerctl_op	*op = arg;
	struct peerclient_hello	 h;

	peerclient_hello_init(&h, PEERD__V1__ROLE__OPERATOR,
	    PEERCTL_CLIENT_NAME);
	peerclient_hello_set_credential(&h, op->cred, op->cred_len);
	op->hello_id = peerclient_next_id(pc);
	if (peerclient_send_hello(pc, &h, op->hello_id) != PEERCLIENT_OK) {
		snprintf(op->why, sizeof op->why, "cannot send Hello");
		peerclient_close(pc);
		return;
	}
	op->state = OP_HELLO;
}

/* Return the name of an error code ("BAD_CREDENTIAL"). */
static const char *
op_code_name(int code)
{
	const ProtobufCEnumValue	*v;

	v = protobuf_c_enum_descriptor_get_value(
	    &peerd__v1__error_code__descriptor, code);
	return (v != NULL ? v->name : "UNKNOWN");
}

/* Report a refusal once and close; nothing follows it. */
static void
op_refuse(struct peerctl_op *op, const char *why)
{
	op->refused = 1;
	op->cb(op, PEERCTL_OP_REFUSED, NULL, why, op->arg);
	if (op->pc != NULL && peerclient_is_connected(op->pc))
		peerclient_close(op->pc);
}

/* An Error from peerd: a refusal, or the reason the connection will end. */
static void
op_error(struct peerctl_op *op, const Envelope *env)
{
	const Peerd__V1__Error	*e = env->error;
	char			 why[sizeof op->why];

	snprintf(why, sizeof why, "%s: %.200s", op_code_name(e->code),
	    e->message != NULL ? e->message : "");
	switch (e->code) {
	case PEERD__V1__ERROR_CODE__BAD_CREDENTIAL:
	case PEERD__V1__ERROR_CODE__CREDENTIAL_EXPIRED:
	case PEERD__V1__ERROR_CODE__CREDENTIAL_REVOKED:
	case PEERD__V1__ERROR_CODE__PERMISSION_DENIED:
	case PEERD__V1__ERROR_CODE__UNSUPPORTED_VERSION:
		op_refuse(op, why);
		return;
	default:
		break;
	}
	/* Anything else ends this connection (or this request): retry. */
	snprintf(op->why, sizeof op->why, "%s", why);
	if (e->fatal || env->id == op->hello_id) {
		peerclient_close(op->pc);	/* op_closed() reports it */
		return;
	}
	if (env->id != 0 && env->id == op->stats_id) {
		/* This request failed; the connection stays for the next. */
		op->stats_id = 0;
		op->why[0] = '\0';
		op->cb(op, PEERCTL_OP_LOST, NULL, why, op->arg);
	}
}

/* One envelope from peerd. */
static void
op_envelope(struct peerclient *pc, Envelope *env, void *arg)
{
	struct peerctl_op	*op = arg;
	const Peerd__V1__Welcome *w;

	(void)pc;
	if (op->refused) {
		peerclient_envelope_free(env);
		return;
	}
	switch (env->body_case) {
	case PEERD__V1__ENVELOPE__BODY_WELCOME:
		w = env->welcome;
		if (w->role != PEERD__V1__ROLE__OPERATOR) {
			op_refuse(op, "peerd did not welcome us as an "
			    "operator");
			break;
		}
		snprintf(op->version, sizeof op->version, "%s",
		    w->server_version != NULL ? w->server_version : "");
		op->state = OP_READY;
		/* The callback learns of it through the first reply. */
		peerctl_op_request(op);
		break;
	case PEERD__V1__ENVELOPE__BODY_STATS_REPLY:
		if (env->id != op->stats_id)
			break;		/* a late answer to a dropped request */
		op->stats_id = 0;
		op->cb(op, PEERCTL_OP_REPLY, env->stats_reply, NULL, op->arg);
		break;
	case PEERD__V1__ENVELOPE__BODY_ERROR:
		op_error(op, env);
		break;
	default:
		break;		/* Pong and anything newer: not ours */
	}
	peerclient_envelope_free(env);
}

/* The connection is gone: say why, unless a refusal already did. */
static void
op_closed(struct peerclient *pc, enum peerclient_reason reason,
    const char *detail, void *arg)
{
	struct peerctl_op	*op = arg;
	char			 why[600];

	(void)pc;
	op->state = OP_IDLE;
	op->stats_id = 0;
	if (op->refused)
		return;
	if (op->why[0] != '\0')
		snprintf(why, sizeof why, "peerd closed the connection: %s",
		    op->why);
	else if (reason == PEERCLIENT_CLOSED_TLS_VERIFY)
		snprintf(why, sizeof why, "%s: the server certificate was "
		    "not accepted (--ca, --name): %s", op->o->server,
		    detail != NULL ? detail : "");
	else
		snprintf(why, sizeof why, "%s: %s%s%s", op->o->server,
		    peerclient_reason_name(reason),
		    detail != NULL && *detail != '\0' ? ": " : "",
		    detail != NULL ? detail : "");
	op->cb(op, PEERCTL_OP_LOST, NULL, why, op->arg);
}

/* ---- output -------------------------------------------------------------- */

/* Format seconds as "45s", "2m05s", "3h04m" or "2d03h". */
void
peerctl_stats_duration(uint32_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%us", s);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%uh%02um", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%ud%02uh", s / 86400, s % 86400 / 3600);
}

/* Return a tag name made safe for a terminal (tags are [a-z0-9-]). */
static const char *
stats_safe(const char *s, char *buf, size_t len)
{
	size_t	i;

	if (s == NULL)
		s = "";
	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		buf[i] = s[i] > ' ' && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return (buf);
}

/* Print the readable block (what top redraws, too) on f. */
void
peerctl_stats_text(FILE *f, const struct peerctl_op_opts *o,
    const char *version, const Peerd__V1__StatsReply *r)
{
	char	 oldest[32], p50[32], p90[32], tag[64];
	size_t	 i;
	unsigned int w = 3, ngaps = 0;

	peerctl_stats_duration(r->oldest_wait_s, oldest, sizeof oldest);
	peerctl_stats_duration(r->wait_p50_s, p50, sizeof p50);
	peerctl_stats_duration(r->wait_p90_s, p90, sizeof p90);
	fprintf(f, "peerd %s at %s, redis %s\n", version, o->server,
	    r->redis_up ? "up" : "DOWN");
	fprintf(f, "\nqueue\n");
	fprintf(f, "  waiting               %u\n", r->queue_waiting);
	fprintf(f, "  oldest wait           %s\n", r->queue_waiting > 0 ?
	    oldest : "-");
	if (r->matches_total == 0)
		fprintf(f, "  wait p50 / p90        -  (nobody matched yet)\n");
	else
		fprintf(f, "  wait p50 / p90        %s / %s  (requesters matched "
		    "in the last hour)\n", p50, p90);

	for (i = 0; i < r->n_tags; i++) {
		if (strlen(stats_safe(r->tags[i]->tag, tag, sizeof tag)) > w)
			w = (unsigned int)strlen(tag);
	}
	fprintf(f, "\nsupply and demand per tag (waiting: requesters who need "
	    "or prefer it;\ncapacity: free slots of available supporters who "
	    "have it)\n");
	fprintf(f, "  %-*s  %7s  %8s\n", (int)w, "tag", "waiting",
	    "capacity");
	for (i = 0; i < r->n_tags; i++) {
		const Peerd__V1__TagStat *t = r->tags[i];

		fprintf(f, "  %-*s  %7u  %8u", (int)w,
		    stats_safe(t->tag, tag, sizeof tag), t->waiting,
		    t->available_capacity);
		if (t->waiting > t->available_capacity) {
			fprintf(f, "  GAP %u", t->waiting -
			    t->available_capacity);
			ngaps++;
		}
		fputc('\n', f);
	}
	if (r->n_tags == 0)
		fprintf(f, "  (peerd has no tag catalogue)\n");
	else if (ngaps > 0)
		fprintf(f, "  %u tag%s where demand exceeds available "
		    "capacity\n", ngaps, ngaps == 1 ? "" : "s");

	fprintf(f, "\nsupporters\n");
	fprintf(f, "  available %u   away %u   on break %u\n",
	    r->supporters_available, r->supporters_away,
	    r->supporters_on_break);
	fprintf(f, "\nactivity\n");
	fprintf(f, "  conversations active  %u\n", r->conversations_active);
	fprintf(f, "  matches               %llu\n",
	    (unsigned long long)r->matches_total);
	fprintf(f, "  offers                accepted %llu   declined %llu   "
	    "timed out %llu\n", (unsigned long long)r->offers_accepted,
	    (unsigned long long)r->offers_declined,
	    (unsigned long long)r->offers_timed_out);
	fprintf(f, "  reports               %llu\n",
	    (unsigned long long)r->reports_total);
	fprintf(f, "  messages relayed      %llu\n",
	    (unsigned long long)r->messages_relayed);
}

/* Print s as a JSON string. */
static void
stats_json_string(FILE *f, const char *s)
{
	const unsigned char	*p;

	fputc('"', f);
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0';
	    p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Print the reply as one JSON object (keys in the help text) on f. */
static void
stats_json(FILE *f, const struct peerctl_op_opts *o, const char *version,
    const Peerd__V1__StatsReply *r)
{
	const Peerd__V1__TagStat	*t;
	size_t				 i;
	int				 first;

	fprintf(f, "{\"server\":");
	stats_json_string(f, o->server);
	fprintf(f, ",\"server_version\":");
	stats_json_string(f, version);
	fprintf(f, ",\"time\":%lld,\"redis_up\":%s", (long long)time(NULL),
	    r->redis_up ? "true" : "false");
	fprintf(f, ",\"queue_waiting\":%u,\"oldest_wait_s\":%u,"
	    "\"wait_p50_s\":%u,\"wait_p90_s\":%u", r->queue_waiting,
	    r->oldest_wait_s, r->wait_p50_s, r->wait_p90_s);
	fprintf(f, ",\"tags\":[");
	for (i = 0; i < r->n_tags; i++) {
		t = r->tags[i];
		fprintf(f, "%s{\"tag\":", i > 0 ? "," : "");
		stats_json_string(f, t->tag);
		fprintf(f, ",\"waiting\":%u,\"available_capacity\":%u,"
		    "\"gap\":%u}", t->waiting, t->available_capacity,
		    t->waiting > t->available_capacity ?
		    t->waiting - t->available_capacity : 0);
	}
	fprintf(f, "],\"gaps\":[");
	for (i = 0, first = 1; i < r->n_tags; i++) {
		t = r->tags[i];
		if (t->waiting <= t->available_capacity)
			continue;
		if (!first)
			fputc(',', f);
		stats_json_string(f, t->tag);
		first = 0;
	}
	fprintf(f, "],\"supporters_available\":%u,\"supporters_away\":%u,"
	    "\"supporters_on_break\":%u,\"conversations_active\":%u",
	    r->supporters_available, r->supporters_away,
	    r->supporters_on_break, r->conversations_active);
	fprintf(f, ",\"matches_total\":%llu,\"offers_accepted\":%llu,"
	    "\"offers_declined\":%llu,\"offers_timed_out\":%llu,"
	    "\"reports_total\":%llu,\"messages_relayed\":%llu}\n",
	    (unsigned long long)r->matches_total,
	    (unsigned long long)r->offers_accepted,
	    (unsigned long long)r->offers_declined,
	    (unsigned long long)r->offers_timed_out,
	    (unsigned long long)r->reports_total,
	    (unsigned long long)r->messages_relayed);
}

/* ---- stats: one request, one answer -------------------------------------- */

struct stats_run {
	struct event_base	*base;
	int			 rc;
};

/* The answer (or the failure) of the one request: print it and stop. */
static void
stats_cb(struct peerctl_op *op, enum peerctl_op_event ev,
    const Peerd__V1__StatsReply *r, const char *why, void *arg)
{
	struct stats_run	*run = arg;

	switch (ev) {
	case PEERCTL_OP_REPLY:
		if (op->o->json)
			stats_json(stdout, op->o, op->version, r);
		else
			peerctl_stats_text(stdout, op->o, op->version, r);
		run->rc = fflush(stdout) == 0 ? PEERCTL_EXIT_OK :
		    PEERCTL_EXIT_ERROR;
		break;
	case PEERCTL_OP_REFUSED:
		peerctl_warnx(op->cmd, "peerd refused the "
		    "credential %s: %s", op->o->credential, why);
		run->rc = PEERCTL_EXIT_ERROR;
		break;
	case PEERCTL_OP_LOST:
		peerctl_warnx(op->cmd, "%s", why);
		run->rc = PEERCTL_EXIT_ERROR;
		break;
	}
	event_base_loopexit(run->base, NULL);
}

/* stats: connect, ask once, print the answer; exit 1 after 10 s without one. */
static int
peerctl_stats(const struct peerctl_cmd *cmd, int argc, char **argv)
{
	struct peerctl_op_opts	 o;
	struct peerctl_op	*op;
	struct stats_run	 run;
	struct timeval		 tv = { PEERCTL_STATS_TIMEOUT, 0 };
	int			 rc;

	if ((rc = peerctl_op_args(cmd, argc, argv, &o, 1)) != -1)
		return (rc);
	signal(SIGPIPE, SIG_IGN);
	if ((run.base = event_base_new()) == NULL) {
		peerctl_warnx(cmd, "cannot make an event base");
		return (PEERCTL_EXIT_ERROR);
	}
	run.rc = -1;
	if ((op = peerctl_op_new(cmd, run.base, &o, stats_cb, &run)) ==
	    NULL) {
		event_base_free(run.base);
		return (PEERCTL_EXIT_ERROR);
	}
	if (peerctl_op_connect(op) == 0) {
		event_base_loopexit(run.base, &tv);
		event_base_dispatch(run.base);
	}
	if (run.rc == -1) {
		peerctl_warnx(cmd, "no answer from %s within %d seconds",
		    o.server, PEERCTL_STATS_TIMEOUT);
		run.rc = PEERCTL_EXIT_ERROR;
	}
	peerctl_op_free(op);
	event_base_free(run.base);
	return (run.rc);
}
