/*
 * fuzz_dispatch.c -- libFuzzer harness: client frames through peerd's
 * real connection code (conn.c, dispatch.c and every handler behind it:
 * auth, match, supporter, conv, resume, stats, presence, revoke).
 *
 * Set up once (LLVMFuzzerInitialize): the configuration from its defaults
 * through config_load_buffer, with a tag catalogue and the fixture public
 * key (fixture.h) as signing_pubkey; auth_init; an event base; quiet logs
 * at debug level (every log line is still formatted).  No Redis: it is
 * never started, so presence and revocation run as they do while Redis
 * is away.
 *
 * Per input: the matcher and presence start, connections are opened and
 * driven as the input says, then everything is closed and freed in the
 * order server_run uses (connections, conversations, supporters, the
 * matcher, resume tokens, presence, revocations), so libFuzzer's leak
 * check sees anything a session leaks.
 *
 * A connection is made by the real conn_new on one end of a socketpair;
 * the harness is the client on the other end.  TLS is cut out at link
 * time (fuzz.mk links with -Wl,--wrap): tls_new_ssl returns an SSL of a
 * context made here, bufferevent_openssl_socket_new frees it and returns
 * a plain socket bufferevent with the same options, and the harness fires
 * BEV_EVENT_CONNECTED as the end of a TLS handshake would.  libevent's
 * bufferevent_openssl_* calls in conn.c find no SSL and do nothing.  From
 * there conn_read, frame_read, dispatch, the handlers, conn_write,
 * conn_event and conn_timer run unchanged.
 *
 * Time: clock_gettime and time are interposed so that the monotonic
 * clocks (libevent's timers, util_now, util_now_ms) and the wall clock
 * time() gives (credential expiry, presence) run ahead by what the input
 * says: Hello, idle and close deadlines, offers, grace windows, the match
 * tick, the chat rate limit and credential expiry all come due.  The
 * monotonic lead only grows; the wall clock's is reset per input, so the
 * prepared credentials stay valid.  libFuzzer's own clock (CLOCK_REALTIME)
 * is left alone.  Randomness (RAND_bytes, wrapped) is a fixed stream,
 * restarted per input, so a crash reproduces.
 *
 * Input: byte 0 turns configuration knobs (fz_knobs), then operations,
 * each an op byte (kind in bits 4-7, connection slot in bits 0-1, bit 3:
 * do not run the loop afterwards, so frames pile up) and its arguments:
 *
 *   OPEN  p       new connection in the slot (the old one is closed); p:
 *                 role (requester, requester with a key, supporter,
 *                 operator), whether the harness sends its Hello (READY)
 *                 or leaves it to the input (HELLO), which credential,
 *                 whether to resume every conversation seen so far
 *   DATA  n16 ... raw bytes to the server
 *   FRAME n16 ... an Envelope body: ids a client could not guess are
 *                 filled in (below), then it is framed and sent
 *   TICK  t       the clock moves on (fz_tick) and the loop runs
 *   EOF           the client half-closes
 *   CLOSE         the client closes
 *   REVOKE k      prepared credential k's id is revoked (revoke_add)
 *   SHUTDOWN      conn_shutdown_all, as on SIGTERM
 *   PAUSE         the client stops reading (again: starts); the server's
 *                 socket buffer is small, so its output backs up
 *   REPEAT n      the slot's last FRAME goes again, its envelope id and
 *                 client_msg_id counting up: n % 16 + 1 times, or for n
 *                 of 240 and up (n - 239) * 128 times (floods, the
 *                 held-message caps, backpressure)
 *   (kinds 10-15 are FRAME)
 *
 * Filling in ids: the harness reads all the server sends each client and
 * keeps the offer ids (Offer), conversation ids and resume tokens
 * (Matched).  In a FRAME, an offer_id or conversation_id of 1-16 becomes
 * the id seen that many back (cycling), a one-byte resume token k the
 * token seen k back, and a one-byte credential k prepared credential k
 * (two supporters, an operator, the first supporter with another
 * credential, a supporter without languages, expired, not yet valid, an
 * unknown tag).  So offers, the relay, resumes and reports are reachable
 * from small inputs.
 *
 * Checked: every frame the server sends unpacks and fits max_frame, and
 * nothing follows a fatal Error; after teardown no connection,
 * conversation, supporter or pending event is left.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <sanitizer/common_interface_defs.h>

#include "credential.h"
#include "peerd.h"
#include "fixture.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Linked in place of the real functions by fuzz.mk's -Wl,--wrap. */
SSL		*__wrap_tls_new_ssl(void);
struct bufferevent *__wrap_bufferevent_openssl_socket_new(struct event_base *,
		     evutil_socket_t, SSL *, enum bufferevent_ssl_state, int);
int		 __wrap_RAND_bytes(unsigned char *, int);
enum cred_status __wrap_cred_verify(const uint8_t *, size_t, EVP_PKEY *,
		     uint64_t, struct cred_info *);
enum cred_status __real_cred_verify(const uint8_t *, size_t, EVP_PKEY *,
		     uint64_t, struct cred_info *);
void		 __wrap_stats_wait(uint64_t);
void		 __real_stats_wait(uint64_t);

#define FZ_SLOTS	3	/* client connections at once */
#define FZ_IDS		16	/* ids remembered per kind */
#define FZ_CREDS	8	/* prepared credentials */
#define FZ_PASSES	256	/* loop passes to settle, at most */
#define FZ_WRITE_TRIES	64	/* loop passes a blocked write may wait */
#define FZ_READ_BUF	16384	/* bytes read from a socket at once */
#define FZ_SNDBUF	16384	/* bytes, the server end's socket buffer */
#define FZ_WAITS	256	/* match waits stats.c records, per
				   process (see __wrap_stats_wait) */
#define FZ_REPEAT_BIG	240	/* REPEAT n from here is a flood */
#define FZ_REPEAT_UNIT	128	/* frames per step of a flood */

enum fz_kind {
	FZ_OPEN,
	FZ_DATA,
	FZ_FRAME,
	FZ_TICK,
	FZ_EOF,
	FZ_CLOSE,
	FZ_REVOKE,
	FZ_SHUTDOWN,
	FZ_PAUSE,
	FZ_REPEAT
};

/* OPEN's argument. */
#define FZ_OPEN_ROLE(p)		((p) & 3)	/* requester, +key, sup, op */
#define FZ_OPEN_READY		0x04		/* the harness sends Hello */
#define FZ_OPEN_CRED(p)		(((p) >> 3) & 7)
#define FZ_OPEN_RESUME		0x40		/* resume all seen */
#define FZ_OPEN_KEY2		0x80		/* the other requester key */

/* The client end of one connection and what it has seen. */
struct fz_slot {
	int		 fd;		/* -1: none */
	struct evbuffer	*in;		/* server bytes not yet decoded */
	int		 fatal;		/* a fatal Error came */
	int		 paused;	/* not reading */
	uint8_t		*last;		/* the last FRAME body, for REPEAT */
	size_t		 lastlen;
	uint64_t	 bump;		/* REPEATs of it so far */
	uint64_t	 offers[FZ_IDS];
	u_int		 noffers;
	uint64_t	 convs[FZ_IDS];
	u_int		 nconvs;
};

/* A credential made at start-up, signed with the fixture key. */
struct fz_cred_def {
	const char	*id;
	const char	*name;
	Role		 role;
	const char	*tags;		/* space-separated */
	const char	*langs;
	u_int		 capacity;
	int		 from, to;	/* days from start-up */
};

static const struct fz_cred_def fz_cred_defs[FZ_CREDS] = {
	{ "sup-a", "Alex", ROLE_SUPPORTER, "lgbtq bme", "en fr", 2, -1, 30 },
	{ "sup-b", "Bo", ROLE_SUPPORTER, "faith", "en", 1, -1, 30 },
	{ "op-a", "Ops", ROLE_OPERATOR, "", "", 0, -1, 30 },
	{ "sup-a", "Alex again", ROLE_SUPPORTER, "youth", "de", 1, -1, 30 },
	{ "sup-c", "Cy", ROLE_SUPPORTER, "lgbtq youth neuro", "", 16, -1, 30 },
	{ "sup-old", "Old", ROLE_SUPPORTER, "", "en", 1, -40, -10 },
	{ "sup-new", "New", ROLE_SUPPORTER, "", "en", 1, 10, 40 },
	{ "sup-x", "Xe", ROLE_SUPPORTER, "lgbtq unlisted", "en", 1, -1, 30 },
};

/* A prepared credential and what cred_verify said of it at start-up. */
struct fz_cred {
	uint8_t			 buf[CRED_MAX];
	size_t			 len;
	enum cred_status	 status;
	struct cred_info	 info;
};

static struct fz_cred	 fz_creds[FZ_CREDS];

static const char	 fz_catalogue[] =
	"tag lgbtq LGBTQ+ peers\n"
	"tag bme Black and minority ethnic peers\n"
	"tag faith Faith-based support\n"
	"tag youth Under 25\n"
	"tag neuro Neurodivergent peers\n";

static struct fz_slot	 fz_slots[FZ_SLOTS];
static uint8_t		 fz_tokens[FZ_IDS][CONV_TOKEN_LEN];
static u_int		 fz_ntokens;
static SSL_CTX		*fz_ssl_ctx;
static struct config	 fz_defaults;	/* conf as loaded; its strings
					   stay owned by conf */
static uint64_t		 fz_rng;	/* RAND_bytes state */
static volatile uint64_t fz_clock_ns;	/* ahead of the monotonic clock */
static volatile time_t	 fz_wall_s;	/* ahead of time(), this input */

static void	fz_fail(const char *) __attribute__((__noreturn__));

/* Die with a message: libFuzzer keeps the input. */
static void
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_dispatch: %s\n", what);
	abort();
}

/* ---- what the link replaces (--wrap) or interposes ---- */

/* The monotonic clocks run fz_clock_ns ahead; CLOCK_REALTIME does not. */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int	(*real)(clockid_t, struct timespec *);
	uint64_t	  ahead = fz_clock_ns, ns;
	int		  rc;

	if (real == NULL) {
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
		    "clock_gettime");
		if (real == NULL)
			abort();
	}
	if ((rc = real(id, ts)) != 0 || ahead == 0)
		return (rc);
	if (id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_COARSE ||
	    id == CLOCK_MONOTONIC_RAW || id == CLOCK_BOOTTIME) {
		ns = (uint64_t)ts->tv_nsec + ahead % 1000000000;
		ts->tv_sec += (time_t)(ahead / 1000000000 + ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	}
	return (rc);
}

/* time() runs fz_wall_s ahead (peerd's wall clock; libFuzzer's is not). */
time_t
time(time_t *tp)
{
	static time_t	(*real)(time_t *);
	time_t		  t;

	if (real == NULL) {
		real = (time_t (*)(time_t *))dlsym(RTLD_NEXT, "time");
		if (real == NULL)
			abort();
	}
	t = real(NULL) + fz_wall_s;
	if (tp != NULL)
		*tp = t;
	return (t);
}

/* A fixed stream (splitmix64), restarted for every input. */
int
__wrap_RAND_bytes(unsigned char *buf, int num)
{
	uint64_t	z = 0;
	int		i;

	for (i = 0; i < num; i++) {
		if (i % 8 == 0) {
			z = (fz_rng += 0x9e3779b97f4a7c15ULL);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
			z ^= z >> 31;
		}
		buf[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
	return (1);
}

/*
 * The prepared credentials skip the signature check: the real cred_verify
 * checked each once at start-up, and the Ed25519 check was a quarter of
 * the time of an input (fuzz_credential fuzzes it).  Their times are
 * judged at now as cred_verify does.  Any other credential an input sends
 * goes to the real one.
 */
enum cred_status
__wrap_cred_verify(const uint8_t *buf, size_t len, EVP_PKEY *pub,
    uint64_t now, struct cred_info *out)
{
	const struct fz_cred	*fc;
	size_t			 i;

	for (i = 0; i < FZ_CREDS; i++) {
		fc = &fz_creds[i];
		if (fc->len == 0 || len != fc->len ||
		    memcmp(buf, fc->buf, len) != 0)
			continue;
		if (fc->status != CRED_OK && fc->status != CRED_EXPIRED &&
		    fc->status != CRED_NOT_YET_VALID)
			break;
		*out = fc->info;
		if (now >= fc->info.not_after)
			return (CRED_EXPIRED);
		if (fc->info.issued_at > CRED_CLOCK_SKEW &&
		    fc->info.issued_at - CRED_CLOCK_SKEW > now)
			return (CRED_NOT_YET_VALID);
		return (CRED_OK);
	}
	return (__real_cred_verify(buf, len, pub, now, out));
}

/*
 * stats.c keeps the waits of the last STATS_WAITS matches and nothing
 * resets them: after a few million inputs the ring is full and every
 * StatsRequest walks and sorts 4,096 entries, which took over half of the
 * fuzzing time.  Only the first FZ_WAITS matches of the process are
 * recorded: the percentiles still have data, and stay cheap.
 */
void
__wrap_stats_wait(uint64_t wait_ms)
{
	static u_int	n;

	if (n < FZ_WAITS) {
		n++;
		__real_stats_wait(wait_ms);
	}
}

/* An SSL for conn_new to hand over; never used for TLS. */
SSL *
__wrap_tls_new_ssl(void)
{
	return (SSL_new(fz_ssl_ctx));
}

/* A plain socket bufferevent where peerd asks for a TLS one. */
struct bufferevent *
__wrap_bufferevent_openssl_socket_new(struct event_base *base,
    evutil_socket_t fd, SSL *ssl, enum bufferevent_ssl_state state,
    int options)
{
	struct bufferevent	*bev;

	(void)state;
	if ((bev = bufferevent_socket_new(base, fd, options)) != NULL)
		SSL_free(ssl);	/* else conn_new frees it */
	return (bev);
}

/* ---- setup ---- */

/* Sign the prepared credentials with the fixture key; verify each once. */
static void
fz_make_creds(void)
{
	const struct fz_cred_def	*d;
	struct fz_cred			*fc;
	struct cred_info		 ci;
	const char			*why = NULL, *p;
	time_t				 now = time(NULL);
	size_t				 i, n;

	for (i = 0; i < FZ_CREDS; i++) {
		d = &fz_cred_defs[i];
		fc = &fz_creds[i];
		memset(&ci, 0, sizeof ci);
		snprintf(ci.id, sizeof ci.id, "%s", d->id);
		snprintf(ci.name, sizeof ci.name, "%s", d->name);
		ci.role = d->role;
		for (p = d->tags; *p != '\0'; p += n + (p[n] != '\0')) {
			n = strcspn(p, " ");
			snprintf(ci.tags[ci.ntags++], sizeof ci.tags[0],
			    "%.*s", (int)n, p);
		}
		for (p = d->langs; *p != '\0'; p += n + (p[n] != '\0')) {
			n = strcspn(p, " ");
			snprintf(ci.languages[ci.nlanguages++],
			    sizeof ci.languages[0], "%.*s", (int)n, p);
		}
		ci.capacity = d->capacity;
		ci.issued_at = (uint64_t)(now + d->from * (time_t)FIXTURE_DAY);
		ci.not_after = (uint64_t)(now + d->to * (time_t)FIXTURE_DAY);
		if (cred_sign(&ci, fixture_key(), fc->buf, sizeof fc->buf,
		    &fc->len, &why) != CRED_OK) {
			fprintf(stderr, "credential %zu: %s\n", i,
			    why != NULL ? why : "sign failed");
			fz_fail("cannot sign the prepared credentials");
		}
		fc->status = __real_cred_verify(fc->buf, fc->len,
		    fixture_key(), (uint64_t)now, &fc->info);
	}
}

/* FUZZ_MEMPROF=1: at exit, where the live heap was allocated. */
static void
fz_memprof(void)
{
	__sanitizer_print_memory_profile(90, 30);
}

/* Configure, start auth and the event base, prepare the credentials. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 dir[PATH_MAX], pub[PATH_MAX + 16], name[PATH_MAX + 16];
	char	 text[4096], *err = NULL;
	size_t	 i;

	(void)argc;
	(void)argv;
	fixture_quiet();
	log_init(LOG_LVL_DEBUG);
	signal(SIGPIPE, SIG_IGN);

	snprintf(dir, sizeof dir, "/tmp/fuzz_dispatch.XXXXXX");
	if (mkdtemp(dir) == NULL)
		fz_fail("mkdtemp");
	snprintf(pub, sizeof pub, "%s/signing.pub", dir);
	snprintf(name, sizeof name, "%s/peerd.conf", dir);
	if (fixture_write_pubkey(pub) != 0)
		fz_fail("cannot write the public key");
	snprintf(text, sizeof text, "%ssigning_pubkey %s\n"
	    "redis 127.0.0.1:1\nnode_id fuzz\n", fz_catalogue, pub);
	if (config_load_buffer(name, text, strlen(text), &err) != 0) {
		fprintf(stderr, "config: %s\n", err);
		fz_fail("cannot load the configuration");
	}
	if ((server_base = event_base_new()) == NULL)
		fz_fail("event_base_new");
	/* No Redis: the revocation mirror is what REVOKE puts in it. */
	revoke_assume_known();
	if (auth_init(&err) != 0) {
		fprintf(stderr, "auth_init: %s\n", err);
		fz_fail("auth_init");
	}
	unlink(pub);
	rmdir(dir);
	if ((fz_ssl_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fz_fail("SSL_CTX_new");
	fz_make_creds();
	fz_defaults = conf;
	if (getenv("FUZZ_MEMPROF") != NULL)
		atexit(fz_memprof);
	for (i = 0; i < FZ_SLOTS; i++) {
		fz_slots[i].fd = -1;
		if ((fz_slots[i].in = evbuffer_new()) == NULL)
			fz_fail("evbuffer_new");
	}
	return (0);
}

/*
 * Byte 0: configuration knobs on top of the defaults, each pushing a
 * limit to where its edge is reachable.
 */
static void
fz_knobs(uint8_t k)
{
	conf = fz_defaults;
	if (k & 0x01)
		conf.grace = 0;
	if (k & 0x02) {
		conf.chat_rate = 1;
		conf.chat_burst = 2;
		conf.max_held_messages = 2;
		conf.max_held_bytes = 1024;
	}
	if (k & 0x04)
		conf.max_queue = 1;
	if (k & 0x08) {
		conf.max_frame = 1024;
		conf.max_frame_hello = 512;
		conf.max_text = 1024 - 64;
	}
	if (k & 0x10)
		conf.max_text = 16;
	if (k & 0x20)
		conf.max_tags = 1;
	if (k & 0x40) {
		conf.offer_timeout = 5;
		conf.idle_timeout = 10;
		conf.keepalive = 5;
		conf.hello_timeout = 1;
	}
	if (k & 0x80)
		conf.max_connections = 1;
}

/* ---- the client side ---- */

/* Remember id in a ring of FZ_IDS. */
static void
fz_remember(uint64_t *ids, u_int *n, uint64_t id)
{
	ids[*n % FZ_IDS] = id;
	(*n)++;
}

/* Return the index of the entry k back (0: the latest), cycling. */
static u_int
fz_back(u_int n, u_int k)
{
	u_int	cnt = n < FZ_IDS ? n : FZ_IDS;

	return ((n - 1 - k % cnt) % FZ_IDS);
}

/* Look at one frame the server sent s. */
static void
fz_observe(struct fz_slot *s, const Envelope *env)
{
	const Peerd__V1__Matched	*m;

	if (s->fatal)
		fz_fail("a frame followed a fatal Error");
	switch (env->body_case) {
	case BODY(ERROR):
		if (env->error == NULL || env->error->code == 0)
			fz_fail("an Error without a code");
		if (env->error->fatal)
			s->fatal = 1;
		break;
	case BODY(OFFER):
		if (env->offer == NULL || env->offer->offer_id == 0)
			fz_fail("an Offer without an id");
		fz_remember(s->offers, &s->noffers, env->offer->offer_id);
		break;
	case BODY(MATCHED):
		m = env->matched;
		if (m == NULL || m->conversation_id == 0 ||
		    m->resume_token.len != CONV_TOKEN_LEN)
			fz_fail("a Matched without an id or token");
		fz_remember(s->convs, &s->nconvs, m->conversation_id);
		memcpy(fz_tokens[fz_ntokens % FZ_IDS], m->resume_token.data,
		    CONV_TOKEN_LEN);
		fz_ntokens++;
		break;
	default:
		break;
	}
}

/* The server is gone from s: close the client end. */
static void
fz_hangup(struct fz_slot *s)
{
	close(s->fd);
	s->fd = -1;
	s->paused = 0;
	evbuffer_drain(s->in, evbuffer_get_length(s->in));
}

/* Read what the server sent s and decode it; returns 1 if any came. */
static int
fz_drain(struct fz_slot *s)
{
	uint8_t			 buf[FZ_READ_BUF];
	enum frame_status	 st;
	Envelope		*env;
	ssize_t			 n;
	int			 got = 0;

	while (s->fd != -1 && !s->paused) {
		n = read(s->fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		got = 1;
		if (n <= 0) {
			fz_hangup(s);
			return (got);
		}
		evbuffer_add(s->in, buf, (size_t)n);
	}
	while ((st = frame_read(s->in, conf.max_frame, &env)) == FRAME_OK) {
		fz_observe(s, env);
		frame_free(env);
	}
	if (st != FRAME_NEED_MORE) {
		fprintf(stderr, "status %s\n", frame_status_name(st));
		fz_fail("the server sent a bad frame");
	}
	return (got);
}

/*
 * Run the loop until nothing moves: no callbacks waiting, no bytes
 * arriving at any client for two passes (a write queued in one pass
 * reaches the socket in the next).
 */
static void
fz_settle(void)
{
	int	i, idle = 0, got;
	size_t	s;

	for (i = 0; i < FZ_PASSES && idle < 2; i++) {
		event_base_loop(server_base, EVLOOP_NONBLOCK);
		got = 0;
		for (s = 0; s < FZ_SLOTS; s++)
			got |= fz_drain(&fz_slots[s]);
		if (got || event_base_get_num_events(server_base,
		    EVENT_BASE_COUNT_ACTIVE) != 0)
			idle = 0;
		else
			idle++;
	}
}

/*
 * Send len bytes from s's client end; a full socket waits for the loop.
 * Returns 0, or -1 if the server stopped reading or is gone.
 */
static int
fz_send(struct fz_slot *s, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;
	int		 tries = 0;

	while (len > 0 && s->fd != -1) {
		n = write(s->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (++tries > FZ_WRITE_TRIES)
				return (-1);	/* the server stopped reading */
			fz_settle();
			continue;
		}
		if (n <= 0)
			return (-1);	/* gone: fz_drain will see */
		p += n;
		len -= (size_t)n;
	}
	return (len == 0 ? 0 : -1);
}

/*
 * Frame env and send it; an envelope that packs to nothing goes as length
 * 0.  Returns as fz_send.
 */
static int
fz_send_env(struct fz_slot *s, const Envelope *env)
{
	static const uint8_t	 empty[FRAME_HEADER];
	struct evbuffer		*eb;
	int			 rc;

	if ((eb = evbuffer_new()) == NULL)
		fz_fail("evbuffer_new");
	if (frame_write(eb, env, FRAME_MAX_HARD) == 0)
		rc = fz_send(s, evbuffer_pullup(eb, -1),
		    evbuffer_get_length(eb));
	else
		rc = fz_send(s, empty, sizeof empty);
	evbuffer_free(eb);
	return (rc);
}

/* Close s's client end (the server sees EOF). */
static void
fz_close(struct fz_slot *s)
{
	if (s->fd == -1)
		return;
	fz_hangup(s);
	fz_settle();
}

/* Send the Hello OPEN's argument p describes. */
static void
fz_hello(struct fz_slot *s, u_int p)
{
	Hello			 h = PEERD__V1__HELLO__INIT;
	Peerd__V1__Resume	 rs[FZ_IDS], *rp[FZ_IDS];
	Envelope		 env = PEERD__V1__ENVELOPE__INIT;
	struct fz_cred		*fc = &fz_creds[FZ_OPEN_CRED(p)];
	uint8_t			 key[32];
	u_int			 i, cnt;

	h.protocol_version = PEERD_PROTOCOL;
	h.client_name = (char *)"fuzz/1";
	switch (FZ_OPEN_ROLE(p)) {
	case 0:
	case 1:
		h.role = ROLE_REQUESTER;
		if (FZ_OPEN_ROLE(p) == 1) {
			memset(key, (p & FZ_OPEN_KEY2) ? 'b' : 'a', sizeof key);
			h.requester_key.data = key;
			h.requester_key.len = sizeof key;
		}
		break;
	default:
		h.role = FZ_OPEN_ROLE(p) == 2 ? ROLE_SUPPORTER : ROLE_OPERATOR;
		h.credential.data = fc->buf;
		h.credential.len = fc->len;
		break;
	}
	if (p & FZ_OPEN_RESUME) {
		cnt = fz_ntokens < FZ_IDS ? fz_ntokens : FZ_IDS;
		for (i = 0; i < cnt; i++) {
			peerd__v1__resume__init(&rs[i]);
			rs[i].token.data = fz_tokens[i];
			rs[i].token.len = CONV_TOKEN_LEN;
			rp[i] = &rs[i];
		}
		h.n_resume = cnt;
		h.resume = rp;
	}
	env.id = 1;
	env.body_case = BODY(HELLO);
	env.hello = &h;
	(void)fz_send_env(s, &env);
}

/* OPEN: a new connection through conn_new, as the listener makes one. */
static void
fz_open(struct fz_slot *s, u_int slot, u_int p)
{
	struct sockaddr_in	 sin;
	struct conn		*c;
	int			 sv[2], sndbuf = FZ_SNDBUF;

	fz_close(s);
	s->fatal = 0;
	s->noffers = s->nconvs = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) != 0)
		fz_fail("socketpair");
	/* A small buffer: a client that does not read backs the server up. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof sndbuf) != 0)
		fz_fail("SO_SNDBUF");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)(40000 + slot));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c = conn_new(sv[0], (struct sockaddr *)&sin, sizeof sin)) ==
	    NULL) {
		close(sv[1]);	/* conn_new closed sv[0] */
		return;
	}
	s->fd = sv[1];
	/* The TLS handshake is over. */
	bufferevent_trigger_event(c->bev, BEV_EVENT_CONNECTED, 0);
	fz_settle();
	if (p & FZ_OPEN_READY)
		fz_hello(s, p);
}

/* Replace a bytes field (protobuf-c's allocator is malloc). */
static void
fz_set_bytes(ProtobufCBinaryData *b, const uint8_t *src, size_t len)
{
	uint8_t	*p;

	if ((p = malloc(len)) == NULL)
		fz_fail("out of memory");
	memcpy(p, src, len);
	free(b->data);
	b->data = p;
	b->len = len;
}

/* An id of 1..FZ_IDS becomes the one seen that many back. */
static void
fz_fill(uint64_t *v, const uint64_t *ids, u_int n)
{
	if (*v == 0 || *v > FZ_IDS || n == 0)
		return;
	*v = ids[fz_back(n, (u_int)(*v - 1))];
}

/* Fill in what a client would have learnt from the server (see top). */
static void
fz_patch(struct fz_slot *s, Envelope *env)
{
	Hello		*h;
	struct fz_cred	*fc;
	size_t		 i;

	switch (env->body_case) {
	case BODY(HELLO):
		if ((h = env->hello) == NULL)
			break;
		if (h->credential.len == 1) {
			fc = &fz_creds[h->credential.data[0] % FZ_CREDS];
			fz_set_bytes(&h->credential, fc->buf, fc->len);
		}
		for (i = 0; i < h->n_resume && fz_ntokens != 0; i++) {
			if (h->resume[i] == NULL ||
			    h->resume[i]->token.len != 1)
				continue;
			fz_set_bytes(&h->resume[i]->token, fz_tokens[fz_back(
			    fz_ntokens, h->resume[i]->token.data[0])],
			    CONV_TOKEN_LEN);
		}
		break;
	case BODY(ACCEPT_OFFER):
		if (env->accept_offer != NULL)
			fz_fill(&env->accept_offer->offer_id, s->offers,
			    s->noffers);
		break;
	case BODY(DECLINE_OFFER):
		if (env->decline_offer != NULL)
			fz_fill(&env->decline_offer->offer_id, s->offers,
			    s->noffers);
		break;
	case BODY(CHAT_MESSAGE):
		if (env->chat_message != NULL)
			fz_fill(&env->chat_message->conversation_id, s->convs,
			    s->nconvs);
		break;
	case BODY(DELIVERED):
		if (env->delivered != NULL)
			fz_fill(&env->delivered->conversation_id, s->convs,
			    s->nconvs);
		break;
	case BODY(TYPING):
		if (env->typing != NULL)
			fz_fill(&env->typing->conversation_id, s->convs,
			    s->nconvs);
		break;
	case BODY(END_CONVERSATION):
		if (env->end_conversation != NULL)
			fz_fill(&env->end_conversation->conversation_id,
			    s->convs, s->nconvs);
		break;
	case BODY(REPORT):
		if (env->report != NULL)
			fz_fill(&env->report->conversation_id, s->convs,
			    s->nconvs);
		break;
	default:
		break;
	}
}

/* FRAME: an envelope body, filled in and framed; garbage goes as is. */
static void
fz_frame(struct fz_slot *s, const uint8_t *body, size_t len)
{
	Envelope	*env;
	uint8_t		 hdr[FRAME_HEADER];

	free(s->last);
	s->last = NULL;
	s->bump = 0;
	if ((s->lastlen = len) != 0) {
		if ((s->last = malloc(len)) == NULL)
			fz_fail("out of memory");
		memcpy(s->last, body, len);
	}

	if ((env = peerd__v1__envelope__unpack(NULL, len, body)) == NULL) {
		hdr[0] = (uint8_t)(len >> 24);
		hdr[1] = (uint8_t)(len >> 16);
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		if (fz_send(s, hdr, sizeof hdr) == 0)
			(void)fz_send(s, body, len);
		return;
	}
	fz_patch(s, env);
	(void)fz_send_env(s, env);
	frame_free(env);
}

/*
 * REPEAT: the last FRAME again, its ids counting up from where the last
 * REPEAT of it stopped (else a second flood would be retransmissions).
 * Floods are slow (milliseconds), so only the top 16 values of n make one.
 */
static void
fz_repeat(struct fz_slot *s, uint8_t n)
{
	Envelope	*env;
	u_int		 i, count;

	if (n >= FZ_REPEAT_BIG)
		count = ((u_int)n - FZ_REPEAT_BIG + 1) * FZ_REPEAT_UNIT;
	else
		count = n % 16 + 1;

	if (s->last == NULL || (env = peerd__v1__envelope__unpack(NULL,
	    s->lastlen, s->last)) == NULL)
		return;
	fz_patch(s, env);
	env->id += s->bump;
	if (env->body_case == BODY(CHAT_MESSAGE) && env->chat_message != NULL)
		env->chat_message->client_msg_id += s->bump;
	for (i = 0; i < count && s->fd != -1; i++) {
		env->id++;
		if (env->body_case == BODY(CHAT_MESSAGE) &&
		    env->chat_message != NULL)
			env->chat_message->client_msg_id++;
		s->bump++;
		if (fz_send_env(s, env) != 0)
			break;
		if (i % 64 == 63)
			fz_settle();
	}
	frame_free(env);
}

/*
 * TICK: t < 128 moves the clocks t * 100 ms (up to 12.7 s), t < 240
 * (t - 127) * 5 s (up to 565 s), else (t - 239) * 3 days (up to 48 days:
 * past a credential's not_after).
 */
static void
fz_tick(uint8_t t)
{
	uint64_t	ms;

	if (t < 128)
		ms = (uint64_t)t * 100;
	else if (t < 240)
		ms = (uint64_t)(t - 127) * 5000;
	else
		ms = (uint64_t)(t - 239) * 3 * FIXTURE_DAY * 1000;
	fz_clock_ns += ms * 1000000;
	fz_wall_s += (time_t)(ms / 1000);
	fz_settle();
}

/* ---- one input ---- */

/* Start what a session needs. */
static void
fz_begin(uint8_t knobs)
{
	size_t	i;

	fz_rng = 0x7065657264ULL;
	fz_wall_s = 0;
	fz_ntokens = 0;
	for (i = 0; i < FZ_SLOTS; i++) {
		fz_slots[i].fatal = 0;
		fz_slots[i].paused = 0;
		fz_slots[i].noffers = fz_slots[i].nconvs = 0;
	}
	fz_knobs(knobs);
	if (match_start() != 0)
		fz_fail("match_start");
	presence_start();
}

/* Close every client, then free everything as server_run does. */
static void
fz_end(void)
{
	size_t	i;

	for (i = 0; i < FZ_SLOTS; i++) {
		if (fz_slots[i].fd != -1)
			fz_hangup(&fz_slots[i]);
		free(fz_slots[i].last);
		fz_slots[i].last = NULL;
		fz_slots[i].lastlen = 0;
		fz_slots[i].bump = 0;
	}
	fz_settle();		/* the EOFs arrive: conn_event frees */
	conn_free_all();
	conv_shutdown_all();
	supporter_stop();
	match_stop();
	resume_stop();
	presence_stop();
	revoke_stop();
	/* Freed bufferevents are finalized from the loop. */
	event_base_loop(server_base, EVLOOP_NONBLOCK);
	event_base_loop(server_base, EVLOOP_NONBLOCK);

	if (!TAILQ_EMPTY(&conns) || stats.conns != 0)
		fz_fail("a connection outlived teardown");
	if (conv_count() != 0 || !TAILQ_EMPTY(&supporters))
		fz_fail("a conversation or supporter outlived teardown");
	if (event_base_get_num_events(server_base, EVENT_BASE_COUNT_ADDED |
	    EVENT_BASE_COUNT_ACTIVE) != 0)
		fz_fail("an event outlived teardown");
}

/* Run one session: knobs, operations, teardown. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size;
	struct fz_slot	*s;
	size_t		 n;
	u_int		 slot, kind;
	uint8_t		 op, arg;

	if (size < 1)
		return (0);
	fz_begin(*p++);
	while (p < end) {
		op = *p++;
		slot = (op & 3) % FZ_SLOTS;
		s = &fz_slots[slot];
		kind = op >> 4;
		if (kind > FZ_REPEAT)
			kind = FZ_FRAME;
		switch ((enum fz_kind)kind) {
		case FZ_OPEN:
			arg = p < end ? *p++ : 0;
			fz_open(s, slot, arg);
			break;
		case FZ_DATA:
		case FZ_FRAME:
			n = 0;
			if (p < end)
				n = (size_t)*p++ << 8;
			if (p < end)
				n |= *p++;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			if (s->fd == -1)
				fz_open(s, slot, 0);
			if (kind == FZ_DATA)
				(void)fz_send(s, p, n);
			else
				fz_frame(s, p, n);
			p += n;
			break;
		case FZ_TICK:
			fz_tick(p < end ? *p++ : 0);
			break;
		case FZ_EOF:
			if (s->fd != -1)
				shutdown(s->fd, SHUT_WR);
			break;
		case FZ_CLOSE:
			fz_close(s);
			break;
		case FZ_REVOKE:
			arg = p < end ? *p++ : 0;
			(void)revoke_add(fz_cred_defs[arg % FZ_CREDS].id);
			break;
		case FZ_SHUTDOWN:
			conn_shutdown_all();
			break;
		case FZ_PAUSE:
			s->paused = !s->paused;
			break;
		case FZ_REPEAT:
			fz_repeat(s, p < end ? *p++ : 0);
			break;
		}
		if (!(op & 0x08))
			fz_settle();
	}
	fz_end();
	return (0);
}
