/*
 * fault.c -- helpers for the fault tests (see fault.h): the message
 * ledger, /proc figures, Redis one-liners and abusable TLS clients.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/err.h>

#include "fault.h"
#include "frame.h"
#include "people.h"

#define FAULT_BURST_MAX	256	/* messages pipelined at once */
#define FAULT_SPIN_ID	UINT64_MAX /* an envelope id never used */
#define FAULT_REDIS_S	2	/* seconds, Redis connect and reply */
#define FAULT_REPLY_MAX	256	/* array elements formatted */
#define FAULT_READ_MAX	16384	/* bytes read from TLS at a time */

/* ---- one direction ------------------------------------------------------ */

/* Append (seq, text) to a list of at most FAULT_MSGS_MAX.  0 or -1. */
static int
fault_msg_add(struct fault_msg *v, size_t *n, uint64_t seq, const char *text)
{
	size_t	len;

	if (*n >= FAULT_MSGS_MAX) {
		fprintf(stderr, "fault: more than %d messages in one "
		    "direction\n", FAULT_MSGS_MAX);
		return (-1);
	}
	len = strnlen(text, sizeof v[*n].text - 1);	/* truncated */
	v[*n].seq = seq;
	memcpy(v[*n].text, text, len);
	v[*n].text[len] = '\0';
	(*n)++;
	return (0);
}

int
fault_dir_sent(struct fault_dir *d, uint64_t seq, const char *text)
{
	return (fault_msg_add(d->sent, &d->nsent, seq, text));
}

int
fault_dir_got(struct fault_dir *d, uint64_t seq, const char *text)
{
	if (d->ngot > 0 && seq <= d->got[d->ngot - 1].seq)
		d->dups++;
	return (fault_msg_add(d->got, &d->ngot, seq, text));
}

/* Return 1 if v (n entries) holds seq with text. */
static int
fault_msg_has(const struct fault_msg *v, size_t n, uint64_t seq,
    const char *text)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i].seq == seq && strcmp(v[i].text, text) == 0)
			return (1);
	return (0);
}

/* Print a list of messages under a title. */
static void
fault_msg_dump(const char *title, const struct fault_msg *v, size_t n)
{
	size_t	i;

	fprintf(stderr, "  %s (%zu):", title, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, " [%llu \"%s\"]", (unsigned long long)v[i].seq,
		    v[i].text);
	fprintf(stderr, "\n");
}

int
fault_dir_check(const struct fault_dir *d, const char *label)
{
	size_t	i, lost = 0, alien = 0, misplaced = 0;
	int	ok;

	for (i = 0; i < d->nsent; i++)
		if (!fault_msg_has(d->got, d->ngot, d->sent[i].seq,
		    d->sent[i].text))
			lost++;
	for (i = 0; i < d->ngot; i++) {
		if (!fault_msg_has(d->sent, d->nsent, d->got[i].seq,
		    d->got[i].text))
			alien++;
		else if (i >= d->nsent || d->got[i].seq != d->sent[i].seq)
			misplaced++;	/* after a loss, a copy; reordered */
	}
	ok = lost == 0 && alien == 0 && misplaced == 0 && d->dups == 0 &&
	    d->ngot == d->nsent;
	fprintf(stderr, "fault: %s: sent %zu, received %zu, lost %zu, "
	    "duplicated %zu, out of place %zu, unknown %zu%s\n", label,
	    d->nsent, d->ngot, lost, d->dups, misplaced, alien,
	    ok ? "" : "  <-- FAILED");
	if (!ok) {
		fault_msg_dump("sent", d->sent, d->nsent);
		fault_msg_dump("received", d->got, d->ngot);
	}
	return (ok ? 0 : -1);
}

/* ---- a conversation ----------------------------------------------------- */

struct fault_chat *
fault_chat_new(uint64_t conv, struct tclient *r, struct tclient *s)
{
	struct fault_chat	*fc;

	if ((fc = calloc(1, sizeof *fc)) == NULL)
		return (NULL);
	fc->conv = conv;
	fc->c[FAULT_R] = r;
	fc->c[FAULT_S] = s;
	return (fc);
}

struct fault_chat *
fault_chat_match(struct world *w, struct tclient *s)
{
	struct fault_chat	*fc;
	struct tclient		*r;
	struct pconv		 cv;

	if ((r = people_requester(w, NULL)) == NULL)
		return (NULL);
	if (people_match(r, s, NULL, NULL, &cv) != 0 ||
	    (fc = fault_chat_new(cv.id, r, s)) == NULL) {
		fprintf(stderr, "fault: no conversation for a new requester\n");
		tclient_free(r);
		return (NULL);
	}
	return (fc);
}

void
fault_chat_free(struct fault_chat *fc)
{
	free(fc);
}

/* Name of a side, for messages. */
static const char *
fault_side_name(int side)
{
	return (side == FAULT_R ? "requester" : "supporter");
}

int
fault_chat_say(struct fault_chat *fc, int side, const char *label, int n)
{
	struct tclient	*c = fc->c[side];
	Envelope	*rep;
	uint64_t	 ids[FAULT_BURST_MAX], cmid0 = fc->cmid[side];
	char		 text[FAULT_BURST_MAX][FAULT_TEXT_MAX], buf[512];
	int		 i;

	if (n < 1 || n > FAULT_BURST_MAX)
		return (-1);
	for (i = 0; i < n; i++) {
		snprintf(text[i], sizeof text[i], "%s %c%llu", label,
		    side == FAULT_R ? 'r' : 's',
		    (unsigned long long)(cmid0 + i + 1));
		ids[i] = people_chat_send(c, fc->conv, cmid0 + i + 1, text[i]);
		if (ids[i] == 0) {
			fprintf(stderr, "fault: %s cannot send \"%s\"\n",
			    fault_side_name(side), text[i]);
			return (-1);
		}
	}
	fc->cmid[side] = cmid0 + n;
	for (i = 0; i < n; i++) {
		rep = tclient_recv_id(c, ids[i], PEOPLE_PUSH_MS);
		if (rep == NULL ||
		    rep->body_case !=
		    PEERD__V1__ENVELOPE__BODY_MESSAGE_ACCEPTED ||
		    rep->message_accepted->seq == 0 ||
		    rep->message_accepted->client_msg_id != cmid0 + i + 1) {
			fprintf(stderr, "fault: %s \"%s\" answered %s\n",
			    fault_side_name(side), text[i],
			    people_describe(rep, buf, sizeof buf));
			frame_free(rep);
			return (-1);
		}
		if (fault_dir_sent(&fc->dir[side],
		    rep->message_accepted->seq, text[i]) == -1) {
			frame_free(rep);
			return (-1);
		}
		frame_free(rep);
	}
	return (0);
}

/* tclient_match: a ChatMessage of conversation *(uint64_t *)arg. */
static int
fault_is_chat_of(const Envelope *env, void *arg)
{
	return (env->body_case == PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE &&
	    env->chat_message->conversation_id == *(uint64_t *)arg);
}

/* Record one ChatMessage that side received. */
static int
fault_chat_got(struct fault_chat *fc, int side, const Envelope *env)
{
	return (fault_dir_got(&fc->dir[1 - side], env->chat_message->seq,
	    env->chat_message->text));
}

/* Acknowledge everything side has received so far. */
static int
fault_chat_ack(struct fault_chat *fc, int side)
{
	struct fault_dir	*d = &fc->dir[1 - side];
	uint64_t		 seq;

	if (d->ngot == 0 || (seq = d->got[d->ngot - 1].seq) <= fc->acked[side])
		return (0);
	fc->acked[side] = seq;
	return (people_delivered(fc->c[side], fc->conv, seq));
}

int
fault_chat_take(struct fault_chat *fc, int side, int timeout_ms)
{
	int64_t		 deadline = harness_now_ms() + timeout_ms, left;
	Envelope	*env;
	int		 n = 0;

	for (;;) {
		left = deadline - harness_now_ms();
		env = tclient_recv_if(fc->c[side], fault_is_chat_of, &fc->conv,
		    left > 0 ? (int)left : 0);
		if (env == NULL)
			break;
		fault_chat_got(fc, side, env);
		frame_free(env);
		n++;
	}
	fault_chat_ack(fc, side);
	return (n);
}

int
fault_chat_drain(struct fault_chat *fc, int timeout_ms)
{
	struct fault_dir	*d;
	Envelope		*env;
	int			 side;

	for (side = 0; side < 2; side++) {
		d = &fc->dir[1 - side];
		while (d->ngot < d->nsent) {
			env = tclient_recv_if(fc->c[side], fault_is_chat_of,
			    &fc->conv, timeout_ms);
			if (env == NULL) {
				fprintf(stderr, "fault: %s has %zu of %zu "
				    "messages after waiting %d ms\n",
				    fault_side_name(side), d->ngot, d->nsent,
				    timeout_ms);
				people_dump(fc->c[side],
				    fault_side_name(side));
				return (-1);
			}
			fault_chat_got(fc, side, env);
			frame_free(env);
		}
		if (fault_chat_ack(fc, side) == -1)
			return (-1);
	}
	return (0);
}

int
fault_chat_exchange(struct fault_chat *fc, const char *label, int n)
{
	if (fault_chat_say(fc, FAULT_R, label, n) == -1 ||
	    fault_chat_say(fc, FAULT_S, label, n) == -1)
		return (-1);
	return (fault_chat_drain(fc, PEOPLE_PUSH_MS));
}

int
fault_chat_check(struct fault_chat *fc, const char *label, int quiet_ms)
{
	char	what[256];
	int	rc = 0;

	fault_chat_take(fc, FAULT_R, quiet_ms);
	fault_chat_take(fc, FAULT_S, 0);
	snprintf(what, sizeof what, "%s, requester->supporter", label);
	if (fault_dir_check(&fc->dir[FAULT_R], what) == -1)
		rc = -1;
	snprintf(what, sizeof what, "%s, supporter->requester", label);
	if (fault_dir_check(&fc->dir[FAULT_S], what) == -1)
		rc = -1;
	return (rc);
}

void
fault_spin(struct tclient *c, int ms)
{
	Envelope	*env;

	/* No reply ever carries this id: the call only runs the loop. */
	if ((env = tclient_recv_id(c, FAULT_SPIN_ID, ms)) != NULL)
		frame_free(env);
}

/* ---- /proc -------------------------------------------------------------- */

int
fault_proc_fds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

int
fault_starve_fds(struct harness *h, struct rlimit *old, int *fds, int max)
{
	struct rlimit	low;
	int		nfd, n;

	if ((nfd = fault_proc_fds(h->peerd_pid)) <= 0 ||
	    prlimit(h->peerd_pid, RLIMIT_NOFILE, NULL, old) != 0) {
		fprintf(stderr, "fault: cannot read peerd's descriptors\n");
		return (-1);
	}
	low.rlim_cur = (rlim_t)nfd;
	low.rlim_max = old->rlim_max;
	if (prlimit(h->peerd_pid, RLIMIT_NOFILE, &low, NULL) != 0) {
		fprintf(stderr, "fault: prlimit: %s\n", strerror(errno));
		return (-1);
	}
	/* Fill any hole below the limit until accept() fails. */
	for (n = 0; n < max - 1; n++) {
		if ((fds[n] = raw_tcp_connect(h->port)) == -1)
			break;
		if (harness_log_wait(h, "event=accept_failed", 200) == 0)
			return (n + 1);
	}
	fprintf(stderr, "fault: peerd still accepts after %d connections\n",
	    n);
	fault_unstarve_fds(h, old, fds, n);
	return (-1);
}

void
fault_unstarve_fds(struct harness *h, const struct rlimit *old,
    const int *fds, int n)
{
	int	i;

	(void)prlimit(h->peerd_pid, RLIMIT_NOFILE, old, NULL);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

long
fault_proc_rss_kib(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return (kib);
}

/* ---- Redis -------------------------------------------------------------- */

/* qsort comparator for C strings. */
static int
fault_strcmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Format one reply element into buf (len bytes). */
static void
fault_reply_text(const redisReply *r, char *buf, size_t len)
{
	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		snprintf(buf, len, "%s", r->str);
		break;
	case REDIS_REPLY_INTEGER:
		snprintf(buf, len, "%lld", r->integer);
		break;
	case REDIS_REPLY_NIL:
		snprintf(buf, len, "(nil)");
		break;
	default:
		snprintf(buf, len, "(type %d)", r->type);
		break;
	}
}

int
fault_redis(struct harness *h, char *out, size_t len, const char *fmt, ...)
{
	struct timeval	 tv = { FAULT_REDIS_S, 0 };
	redisContext	*rc;
	redisReply	*r;
	const char	*v[FAULT_REPLY_MAX];
	size_t		 i, n, used = 0;
	va_list		 ap;
	int		 rv = -1;

	if (len > 0)
		*out = '\0';
	rc = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "fault: Redis 127.0.0.1:%d: %s\n",
		    h->redis_port, rc != NULL ? rc->errstr : "no memory");
		if (rc != NULL)
			redisFree(rc);
		return (-1);
	}
	redisSetTimeout(rc, tv);
	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "fault: Redis command failed: %s\n",
		    r != NULL ? r->str : rc->errstr);
		goto out;
	}
	if (r->type == REDIS_REPLY_ARRAY) {
		for (n = 0; n < r->elements && n < FAULT_REPLY_MAX; n++)
			v[n] = r->element[n]->str != NULL ?
			    r->element[n]->str : "?";
		qsort(v, n, sizeof v[0], fault_strcmp);
		for (i = 0; i < n && used < len; i++)
			used += snprintf(out + used, len - used, "%s%s",
			    i > 0 ? " " : "", v[i]);
	} else
		fault_reply_text(r, out, len);
	rv = 0;
out:
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (rv);
}

int
fault_redis_kill(struct harness *h)
{
	pid_t	pid = h->redis_pid;

	if (pid == -1 || kill(pid, SIGKILL) == -1)
		return (-1);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	h->redis_pid = -1;
	return (0);
}

/* ---- TLS ---------------------------------------------------------------- */

SSL_CTX *
fault_tls_ctx(const char *ca_file)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

/* Poll fd for events until deadline.  Returns 1 ready, 0 timeout or error. */
static int
fault_poll(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		r;

	for (;;) {
		left = deadline - harness_now_ms();
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (r == -1 && errno == EINTR)
			continue;
		return (r > 0);
	}
}

/*
 * Wait for what the last SSL call wants.  Returns 1 to retry, 0 for a
 * close or error, -1 on timeout.
 */
static int
fault_ssl_wait(struct fault_tls *t, int r, int64_t deadline)
{
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return (fault_poll(t->fd, POLLIN, deadline) ? 1 : -1);
	case SSL_ERROR_WANT_WRITE:
		return (fault_poll(t->fd, POLLOUT, deadline) ? 1 : -1);
	default:
		ERR_clear_error();
		return (0);
	}
}

struct fault_tls *
fault_tls_open(SSL_CTX *ctx, int port)
{
	struct fault_tls	*t;
	int64_t			 deadline;
	int			 r;

	deadline = harness_now_ms() + HARNESS_IO_MS;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return (NULL);
	if ((t->fd = raw_tcp_connect(port)) == -1 ||
	    (t->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set1_host(t->ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(t->ssl, "localhost") != 1 ||
	    SSL_set_fd(t->ssl, t->fd) != 1)
		goto fail;
	while ((r = SSL_connect(t->ssl)) != 1)
		if (fault_ssl_wait(t, r, deadline) != 1)
			goto fail;
	return (t);
fail:
	fprintf(stderr, "fault: TLS connection to port %d failed\n", port);
	ERR_clear_error();
	fault_tls_free(t);
	return (NULL);
}

int
fault_tls_write(struct fault_tls *t, const void *buf, size_t len)
{
	int64_t	deadline = harness_now_ms() + HARNESS_IO_MS;
	int	r;

	while ((r = SSL_write(t->ssl, buf, (int)len)) <= 0)
		if (fault_ssl_wait(t, r, deadline) != 1)
			return (-1);
	return (r == (int)len ? 0 : -1);
}

int
fault_tls_hello(struct fault_tls *t)
{
	struct peerclient_hello	 hb;
	Envelope		*env = NULL;
	uint8_t			 out[1024], in[FAULT_READ_MAX];
	size_t			 n, have = 0, used;
	int64_t			 deadline;
	int			 r, ok;

	deadline = harness_now_ms() + HARNESS_IO_MS;
	peerclient_hello_init(&hb, PEERD__V1__ROLE__REQUESTER, "tests/fault");
	if ((n = frame_encode(peerclient_hello_envelope(&hb, 1), sizeof out,
	    out, sizeof out)) == 0 || fault_tls_write(t, out, n) == -1)
		return (-1);
	while (frame_decode(in, have, sizeof in, &env, &used) ==
	    FRAME_NEED_MORE) {
		if (have == sizeof in)
			return (-1);
		r = SSL_read(t->ssl, in + have, (int)(sizeof in - have));
		if (r > 0)
			have += (size_t)r;
		else if (fault_ssl_wait(t, r, deadline) != 1)
			return (-1);
	}
	ok = env != NULL &&
	    env->body_case == PEERD__V1__ENVELOPE__BODY_WELCOME;
	if (!ok)
		fprintf(stderr, "fault: Hello answered %s\n",
		    env != NULL ? frame_body_name(env) : "(undecodable)");
	frame_free(env);
	return (ok ? 0 : -1);
}

int
fault_tls_wait_closed(struct fault_tls *t, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	char	buf[FAULT_READ_MAX];
	int	r, w;

	for (;;) {
		if ((r = SSL_read(t->ssl, buf, sizeof buf)) > 0)
			continue;
		if ((w = fault_ssl_wait(t, r, deadline)) == 0)
			return (0);
		if (w == -1)
			return (-1);
	}
}

void
fault_tls_free(struct fault_tls *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL)
		SSL_free(t->ssl);	/* no SSL_shutdown: no close_notify */
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

size_t
fault_client_hello(SSL_CTX *ctx, uint8_t *buf, size_t len)
{
	SSL	*ssl;
	BIO	*rb, *wb;
	size_t	 n = 0;
	int	 pending;

	if ((ssl = SSL_new(ctx)) == NULL)
		return (0);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	if (rb == NULL || wb == NULL) {
		BIO_free(rb);
		BIO_free(wb);
		SSL_free(ssl);
		return (0);
	}
	SSL_set_bio(ssl, rb, wb);
	SSL_set_tlsext_host_name(ssl, "localhost");
	/* Nothing to read: it writes the ClientHello and wants the reply. */
	if (SSL_connect(ssl) == -1 &&
	    SSL_get_error(ssl, -1) == SSL_ERROR_WANT_READ &&
	    (pending = BIO_pending(wb)) > 0 && (size_t)pending <= len)
		n = (size_t)BIO_read(wb, buf, pending);
	ERR_clear_error();
	SSL_free(ssl);
	return (n);
}

void
fault_close_rst(int fd)
{
	struct linger	l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}
