/*
 * test_peer_client.c -- the `peer` program against a scripted peerd.
 *
 * A real peerd cannot be told to drop a connection at a chosen frame or to
 * answer a resume in a chosen way, so these tests run the real $PEER_BIN
 * against a small blocking TLS server in the test itself (the harness's
 * certificates and a free port), which plays peerd's side of
 * proto/PROTOCOL.md frame by frame.  Script mode is checked line by line
 * (every event line of client/PEER.md, exit codes, the requester key,
 * resending after a drop); interactive mode is driven in tmux.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "credential.h"
#include "harness.h"

#define T_MS		5000	/* ms, anything the client should do at once */
#define T_LINE_MAX	4096	/* bytes, one line of peer's stdout */
#define T_TOKEN		"0123456789abcdef0123456789abcdef" /* 32 bytes */

/* Write dir/name into out (len bytes). */
static void
tpath(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fail_msg("path too long: %s/%s", dir, name);
}

/* ---- a scripted peerd: blocking TLS, one connection at a time ---------- */

struct fake {
	int	 lfd;
	SSL_CTX	*ctx;
	int	 fd;
	SSL	*ssl;
};

static struct fake *
fake_new(struct harness *h)
{
	struct fake		*f = calloc(1, sizeof *f);
	struct sockaddr_in	 sin;
	int			 one = 1;

	assert_non_null(f);
	f->fd = -1;
	assert_true((f->lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)h->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_non_null(f->ctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate_chain_file(f->ctx, h->cert),
	    1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(f->ctx, h->key,
	    SSL_FILETYPE_PEM), 1);
	return (f);
}

/* Drop the connection without a close_notify, as a network loss would. */
static void
fake_drop(struct fake *f)
{
	if (f->ssl != NULL)
		SSL_free(f->ssl);
	f->ssl = NULL;
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
}

static void
fake_free(struct fake *f)
{
	if (f == NULL)
		return;
	fake_drop(f);
	close(f->lfd);
	SSL_CTX_free(f->ctx);
	free(f);
}

/* Accept the client's (next) connection and its TLS handshake. */
static void
fake_accept(struct fake *f, int timeout_ms)
{
	struct pollfd	pfd = { f->lfd, POLLIN, 0 };
	struct timeval	tv = { T_MS / 1000, 0 };

	fake_drop(f);
	assert_int_equal(poll(&pfd, 1, timeout_ms), 1);
	assert_true((f->fd = accept(f->lfd, NULL, NULL)) != -1);
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	assert_non_null(f->ssl = SSL_new(f->ctx));
	SSL_set_fd(f->ssl, f->fd);
	assert_int_equal(SSL_accept(f->ssl), 1);
}

static int
fake_read(struct fake *f, void *buf, size_t len)
{
	uint8_t	*p = buf;
	int	 n;

	while (len > 0) {
		if ((n = SSL_read(f->ssl, p, (int)len)) <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Return the next envelope from the client, skipping Pings; NULL if none. */
static Envelope *
fake_recv(struct fake *f)
{
	uint8_t		 hdr[4], *buf;
	uint32_t	 len;
	Envelope	*env;

	for (;;) {
		if (fake_read(f, hdr, 4) == -1)
			return (NULL);
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		assert_true(len > 0 && len < 65536);
		assert_non_null(buf = malloc(len));
		assert_int_equal(fake_read(f, buf, len), 0);
		env = peerd__v1__envelope__unpack(NULL, len, buf);
		free(buf);
		assert_non_null(env);
		if (env->body_case != PEERD__V1__ENVELOPE__BODY_PING)
			return (env);
		peerd__v1__envelope__free_unpacked(env, NULL);
	}
}

/* Return the next envelope, which must be of kind body. */
static Envelope *
fake_expect(struct fake *f, Peerd__V1__Envelope__BodyCase body)
{
	Envelope	*env;

	assert_non_null(env = fake_recv(f));
	if (env->body_case != body)
		fail_msg("expected body %d, got %d", body, env->body_case);
	return (env);
}

static void
fake_send(struct fake *f, Envelope *env)
{
	size_t	 len = peerd__v1__envelope__get_packed_size(env);
	uint8_t	*buf = malloc(len + 4);

	assert_non_null(buf);
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	peerd__v1__envelope__pack(env, buf + 4);
	assert_int_equal(SSL_write(f->ssl, buf, (int)len + 4), (int)len + 4);
	free(buf);
}

/* Read the Hello and answer Welcome; return the Hello (free it). */
static Envelope *
fake_welcome(struct fake *f, Peerd__V1__Role role)
{
	Envelope		*hello, env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Welcome	 w = PEERD__V1__WELCOME__INIT;
	Peerd__V1__Limits	 lim = PEERD__V1__LIMITS__INIT;
	Peerd__V1__Tag		 t1 = PEERD__V1__TAG__INIT, t2 = t1;
	Peerd__V1__Tag		*tags[2] = { &t1, &t2 };
	char			*vetted[] = { (char *)"lgbtq" };

	hello = fake_expect(f, PEERD__V1__ENVELOPE__BODY_HELLO);
	assert_int_equal(hello->hello->protocol_version, 1);
	assert_int_equal(hello->hello->role, role);
	lim.max_frame = 65536;
	lim.max_text = 100;
	lim.idle_timeout_s = 300;
	lim.grace_s = 30;
	lim.offer_timeout_s = 30;
	t1.name = (char *)"lgbtq";
	t1.description = (char *)"LGBTQ+ peers";
	t2.name = (char *)"bme";
	t2.description = (char *)"Black and minority ethnic";
	w.connection_id = 1;
	w.server_version = (char *)"fake";
	w.limits = &lim;
	w.n_tags = 2;
	w.tags = tags;
	w.role = role;
	if (role == PEERD__V1__ROLE__SUPPORTER) {
		w.display_name = (char *)"Sam";
		w.max_capacity = 2;
		w.n_vetted_tags = 1;
		w.vetted_tags = vetted;
	}
	env.id = hello->id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	fake_send(f, &env);
	return (hello);
}

static void
fake_ok(struct fake *f, uint64_t id)
{
	Envelope	env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Ok	ok = PEERD__V1__OK__INIT;

	env.id = id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_OK;
	env.ok = &ok;
	fake_send(f, &env);
}

static void
fake_error(struct fake *f, uint64_t id, Peerd__V1__ErrorCode code,
    const char *msg, int fatal)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Error	e = PEERD__V1__ERROR__INIT;

	e.code = code;
	e.message = (char *)msg;
	e.fatal = fatal;
	env.id = id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	fake_send(f, &env);
}

static void
fake_queue(struct fake *f, uint64_t id, uint32_t position, uint32_t eta)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__QueueUpdate	q = PEERD__V1__QUEUE_UPDATE__INIT;

	q.position = position;
	q.eta_s = eta;
	env.id = id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_QUEUE_UPDATE;
	env.queue_update = &q;
	fake_send(f, &env);
}

static void
fake_matched(struct fake *f, uint64_t conv, const char *name, char **shared,
    size_t nshared, int resumed, uint64_t last_cmid, uint64_t delivered)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Matched	m = PEERD__V1__MATCHED__INIT;

	m.conversation_id = conv;
	m.peer_name = (char *)name;
	m.shared = shared;
	m.n_shared = nshared;
	m.explanation = (char *)"required=lgbtq";
	m.resume_token.data = (uint8_t *)T_TOKEN;
	m.resume_token.len = 32;
	m.resumed = resumed;
	m.last_client_msg_id = last_cmid;
	m.delivered_seq = delivered;
	env.body_case = PEERD__V1__ENVELOPE__BODY_MATCHED;
	env.matched = &m;
	fake_send(f, &env);
}

static void
fake_chat(struct fake *f, uint64_t conv, uint64_t seq, const char *text)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__ChatMessage	m = PEERD__V1__CHAT_MESSAGE__INIT;

	m.conversation_id = conv;
	m.seq = seq;
	m.text = (char *)text;
	env.body_case = PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE;
	env.chat_message = &m;
	fake_send(f, &env);
}

static void
fake_accepted(struct fake *f, uint64_t id, uint64_t conv, uint64_t cmid,
    uint64_t seq)
{
	Envelope			env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__MessageAccepted	a = PEERD__V1__MESSAGE_ACCEPTED__INIT;

	a.conversation_id = conv;
	a.client_msg_id = cmid;
	a.seq = seq;
	env.id = id;
	env.body_case = PEERD__V1__ENVELOPE__BODY_MESSAGE_ACCEPTED;
	env.message_accepted = &a;
	fake_send(f, &env);
}

static void
fake_delivered(struct fake *f, uint64_t conv, uint64_t seq)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Delivered	d = PEERD__V1__DELIVERED__INIT;

	d.conversation_id = conv;
	d.seq = seq;
	env.body_case = PEERD__V1__ENVELOPE__BODY_DELIVERED;
	env.delivered = &d;
	fake_send(f, &env);
}

static void
fake_peer_status(struct fake *f, uint64_t conv, Peerd__V1__PeerState st)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__PeerStatus	s = PEERD__V1__PEER_STATUS__INIT;

	s.conversation_id = conv;
	s.state = st;
	env.body_case = PEERD__V1__ENVELOPE__BODY_PEER_STATUS;
	env.peer_status = &s;
	fake_send(f, &env);
}

static void
fake_end(struct fake *f, uint64_t conv, Peerd__V1__EndReason reason)
{
	Envelope			env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__EndConversation	e = PEERD__V1__END_CONVERSATION__INIT;

	e.conversation_id = conv;
	e.reason = reason;
	env.body_case = PEERD__V1__ENVELOPE__BODY_END_CONVERSATION;
	env.end_conversation = &e;
	fake_send(f, &env);
}

static void
fake_offer(struct fake *f, uint64_t id, char **shared, size_t nshared)
{
	Envelope		env = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Offer	o = PEERD__V1__OFFER__INIT;

	o.offer_id = id;
	o.shared = shared;
	o.n_shared = nshared;
	o.need = shared;
	o.n_need = nshared;
	o.expires_s = 30;
	o.waited_s = 12;
	env.body_case = PEERD__V1__ENVELOPE__BODY_OFFER;
	env.offer = &o;
	fake_send(f, &env);
}

/* ---- the peer program as a child with pipes ----------------------------- */

struct child {
	pid_t	 pid;
	int	 in;		/* its stdin, -1 once closed */
	int	 out;		/* its stdout */
	char	 buf[T_LINE_MAX];
	size_t	 len;
	char	 err[HARNESS_PATH];	/* its stderr, a file */
};

/* Start $PEER_BIN with args (NULL-terminated) and h's server and CA. */
static struct child *
child_start(struct harness *h, const char *first, ...)
{
	struct child	*c;
	char		*argv[32], server[64];
	int		 in[2], out[2], fd, n = 0;
	const char	*a;
	va_list		 ap;

	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set (make test sets it)");
	assert_non_null(c = calloc(1, sizeof *c));
	snprintf(server, sizeof server, "127.0.0.1:%d", h->port);
	tpath(c->err, sizeof c->err, h->dir, "peer.stderr");
	argv[n++] = (char *)h->peer_bin;
	argv[n++] = (char *)"--server";
	argv[n++] = server;
	argv[n++] = (char *)"--ca";
	argv[n++] = h->ca;
	va_start(ap, first);
	for (a = first; a != NULL && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_true((c->pid = fork()) != -1);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		if ((fd = open(c->err, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) != -1)
			dup2(fd, 2);
		close(in[1]);
		close(out[0]);
		setenv("HOME", h->dir, 1);
		unsetenv("XDG_CONFIG_HOME");
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	signal(SIGPIPE, SIG_IGN);
	return (c);
}

/* Write one line to the child's stdin. */
static void
child_say(struct child *c, const char *line)
{
	size_t	len = strlen(line);

	assert_int_equal(write(c->in, line, len), (ssize_t)len);
	assert_int_equal(write(c->in, "\n", 1), 1);
}

static void
child_eof(struct child *c)
{
	if (c->in != -1)
		close(c->in);
	c->in = -1;
}

/* Return the child's next stdout line (static buffer) or NULL at timeout. */
static const char *
child_line(struct child *c, int timeout_ms)
{
	static char	 line[T_LINE_MAX];
	struct pollfd	 pfd = { c->out, POLLIN, 0 };
	int64_t		 end = harness_now_ms() + timeout_ms;
	char		*nl;
	ssize_t		 n;
	size_t		 len;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			len = (size_t)(nl - c->buf);
			memcpy(line, c->buf, len);
			line[len] = '\0';
			memmove(c->buf, nl + 1, c->len - len - 1);
			c->len -= len + 1;
			return (line);
		}
		if (harness_now_ms() >= end ||
		    poll(&pfd, 1, (int)(end - harness_now_ms())) != 1)
			return (NULL);
		n = read(c->out, c->buf + c->len, sizeof c->buf - c->len - 1);
		if (n <= 0)
			return (NULL);
		c->len += (size_t)n;
	}
}

/* The next line must be exactly want. */
static void
child_expect(struct child *c, const char *want)
{
	const char	*got = child_line(c, T_MS);

	if (got == NULL)
		fail_msg("expected \"%s\", got nothing", want);
	if (strcmp(got, want) != 0)
		fail_msg("expected \"%s\", got \"%s\"", want, got);
}

/* Wait for the child to exit; return its exit status, or -1. */
static int
child_wait(struct child *c, int timeout_ms)
{
	int64_t	end = harness_now_ms() + timeout_ms;
	int	status;

	while (harness_now_ms() < end) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = -1;
			return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		harness_msleep(20);
	}
	return (-1);
}

static void
child_free(struct child *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	child_eof(c);
	close(c->out);
	free(c);
}

/* Write a supporter credential (any key: the fake does not check it). */
static void
write_credential(struct harness *h, char *path, size_t len)
{
	struct cred_info	 info;
	EVP_PKEY		*key;
	uint8_t			 buf[CRED_MAX];
	size_t			 blen;
	char			 err[CRED_ERR_MAX];

	memset(&info, 0, sizeof info);
	strcpy(info.id, "s1");
	strcpy(info.name, "Sam");
	info.role = PEERD__V1__ROLE__SUPPORTER;
	strcpy(info.tags[0], "lgbtq");
	info.ntags = 1;
	strcpy(info.languages[0], "en");
	info.nlanguages = 1;
	info.capacity = 2;
	info.issued_at = (uint64_t)time(NULL);
	info.not_after = info.issued_at + 86400;
	assert_non_null(key = cred_key_generate());
	assert_int_equal(cred_sign(&info, key, buf, sizeof buf, &blen, NULL),
	    CRED_OK);
	tpath(path, len, h->dir, "s1.cred");
	assert_int_equal(cred_write_file(path, buf, blen, err, sizeof err), 0);
	EVP_PKEY_free(key);
}

static int
setup(void **state)
{
	return (harness_setup(state, HARNESS_NO_PEERD, NULL));
}

/* ---- script mode: requester ---------------------------------------------- */

/*
 * A whole conversation: queued, matched, message (escaped), accepted,
 * delivered, peer-reconnecting, resumed, error; then end of input ends it.
 */
static void
test_requester_lines(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;
	char		*shared[] = { (char *)"lgbtq", (char *)"bme" };
	char		 path[HARNESS_PATH];
	struct stat	 sb;

	c = child_start(h, "request", "--need", "lgbtq", "--prefer", "bme",
	    "--lang", "en,cy", "--relax-after", "5m", "--urgent", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	assert_int_equal(hello->hello->requester_key.len, 32);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	tpath(path, sizeof path, h->dir, ".config/peer/requester.key");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	assert_int_equal(env->request_peer->n_need, 1);
	assert_string_equal(env->request_peer->need[0], "lgbtq");
	assert_string_equal(env->request_peer->prefer[0], "bme");
	assert_int_equal(env->request_peer->n_languages, 2);
	assert_string_equal(env->request_peer->languages[1], "cy");
	assert_int_equal(env->request_peer->relax_after_s, 300);
	assert_true(env->request_peer->urgent);
	fake_queue(f, env->id, 2, 60);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "queued position=2 eta_s=60");
	fake_queue(f, 0, 1, 20);
	child_expect(c, "queued position=1 eta_s=20");

	/* A line said before the match waits for it. */
	child_say(c, "first, before anyone is there");
	fake_matched(f, 7, "Sam Smith", shared, 2, 0, 0, 0);
	child_expect(c, "matched conversation=7 peer=Sam\\x20Smith "
	    "shared=lgbtq,bme");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->conversation_id, 7);
	assert_int_equal(env->chat_message->client_msg_id, 1);
	assert_string_equal(env->chat_message->text,
	    "first, before anyone is there");
	fake_accepted(f, env->id, 7, 1, 1);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=1");
	fake_delivered(f, 7, 1);
	child_expect(c, "delivered seq=1");

	fake_chat(f, 7, 2, "hi\nthere\t\\ \x01 caf\xc3\xa9 \xe2\x80\xae!");
	child_expect(c, "message conversation=7 seq=2 text=hi\\nthere\\t\\\\ "
	    "\\x01 caf\xc3\xa9 \\xe2\\x80\\xae!");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_DELIVERED);
	assert_int_equal(env->delivered->seq, 2);
	peerd__v1__envelope__free_unpacked(env, NULL);

	fake_peer_status(f, 7, PEERD__V1__PEER_STATE__PEER_RECONNECTING);
	child_expect(c, "peer-reconnecting");
	fake_peer_status(f, 7, PEERD__V1__PEER_STATE__PEER_RESUMED);
	child_expect(c, "resumed");
	fake_error(f, 0, PEERD__V1__ERROR_CODE__RATE_LIMITED,
	    "slow down, please", 0);
	child_expect(c, "error code=RATE_LIMITED message=slow down, please");

	/* End of input: the last line is accepted, then the End goes out. */
	child_say(c, "bye");
	child_eof(c);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 2);
	fake_accepted(f, env->id, 7, 2, 3);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=3");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_END_CONVERSATION);
	assert_int_equal(env->end_conversation->conversation_id, 7);
	fake_ok(f, env->id);
	fake_end(f, 7, PEERD__V1__END_REASON__END_BY_REQUESTER);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "ended conversation=7 reason=by_requester");
	assert_int_equal(child_wait(c, T_MS), 0);
	assert_null(child_line(c, 100));
	child_free(c);
	fake_free(f);
}

/*
 * The connection drops with a message not yet accepted: peer reconnects,
 * asks to resume with its token and last seq, and sends again only what
 * peerd did not hold; the same requester key is sent again.
 */
static void
test_requester_resume(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;
	uint8_t		 key[32];

	c = child_start(h, "request", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	assert_int_equal(hello->hello->requester_key.len, 32);
	memcpy(key, hello->hello->requester_key.data, 32);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	assert_int_equal(env->request_peer->n_need, 0);
	fake_queue(f, env->id, 1, 0);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "queued position=1 eta_s=0");
	fake_matched(f, 9, "Alex", NULL, 0, 0, 0, 0);
	child_expect(c, "matched conversation=9 peer=Alex shared=");
	fake_chat(f, 9, 1, "hello");
	child_expect(c, "message conversation=9 seq=1 text=hello");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_DELIVERED);
	peerd__v1__envelope__free_unpacked(env, NULL);

	child_say(c, "one");
	child_say(c, "two");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	fake_accepted(f, env->id, 9, 1, 2);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=2");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 2);
	peerd__v1__envelope__free_unpacked(env, NULL);
	fake_drop(f);		/* "two" was never accepted */

	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	assert_int_equal(hello->hello->n_resume, 1);
	assert_int_equal(hello->hello->resume[0]->token.len, 32);
	assert_memory_equal(hello->hello->resume[0]->token.data, T_TOKEN, 32);
	assert_int_equal(hello->hello->resume[0]->last_seq, 1);
	assert_memory_equal(hello->hello->requester_key.data, key, 32);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	fake_matched(f, 9, "Alex", NULL, 0, 1, 1, 2);
	child_expect(c, "delivered seq=2");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 2);
	assert_string_equal(env->chat_message->text, "two");
	fake_accepted(f, env->id, 9, 2, 3);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=3");

	/* The supporter ends it: the requester is done. */
	fake_end(f, 9, PEERD__V1__END_REASON__END_BY_SUPPORTER);
	child_expect(c, "ended conversation=9 reason=by_supporter");
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
	fake_free(f);
}

/*
 * RATE_LIMITED on a message is not a refusal: the line waits until the
 * peer's Delivered, then goes again with its own client_msg_id, and no
 * later line overtakes it.
 */
static void
test_rate_limited(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;

	c = child_start(h, "request", "--no-key", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	fake_queue(f, env->id, 1, 0);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "queued position=1 eta_s=0");
	fake_matched(f, 4, "Sam", NULL, 0, 0, 0, 0);
	child_expect(c, "matched conversation=4 peer=Sam shared=");
	child_say(c, "one");
	child_say(c, "two");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 1);
	fake_accepted(f, env->id, 4, 1, 1);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=1");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 2);
	fake_error(f, env->id, PEERD__V1__ERROR_CODE__RATE_LIMITED,
	    "too many unacknowledged messages", 0);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_say(c, "three");
	fake_delivered(f, 4, 1);
	child_expect(c, "delivered seq=1");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 2);
	assert_string_equal(env->chat_message->text, "two");
	fake_accepted(f, env->id, 4, 2, 2);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=2");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->client_msg_id, 3);
	assert_string_equal(env->chat_message->text, "three");
	fake_accepted(f, env->id, 4, 3, 3);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=3");
	child_eof(c);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_END_CONVERSATION);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "ended conversation=4 reason=by_requester");
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
	fake_free(f);
}

/* A refused request prints the error line and exits 1; --no-key: no key. */
static void
test_requester_refused(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;

	c = child_start(h, "request", "--need", "nonsense", "--no-key", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	assert_int_equal(hello->hello->requester_key.len, 0);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	fake_error(f, env->id, PEERD__V1__ERROR_CODE__UNKNOWN_TAG,
	    "unknown tag \"nonsense\"", 0);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "error code=UNKNOWN_TAG message=unknown tag "
	    "\"nonsense\"");
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
	fake_free(f);
}

/* A resume peerd refuses ends the conversation: resume_failed, exit 1. */
static void
test_resume_failed(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;

	c = child_start(h, "request", "--no-key", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	fake_queue(f, env->id, 1, 5);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "queued position=1 eta_s=5");
	fake_matched(f, 3, "Sam", NULL, 0, 0, 0, 0);
	child_expect(c, "matched conversation=3 peer=Sam shared=");
	fake_drop(f);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	assert_int_equal(hello->hello->n_resume, 1);
	fake_error(f, hello->id, PEERD__V1__ERROR_CODE__RESUME_FAILED,
	    "resume token unknown", 0);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	child_expect(c, "error code=RESUME_FAILED message=resume token "
	    "unknown");
	child_expect(c, "ended conversation=3 reason=resume_failed");
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
	fake_free(f);
}

/* --timeout: exit 3 while still waiting. */
static void
test_timeout(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;
	int64_t		 start = harness_now_ms();

	c = child_start(h, "--timeout", "1", "request", "--no-key", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	peerd__v1__envelope__free_unpacked(env, NULL);
	assert_int_equal(child_wait(c, T_MS), 3);
	assert_true(harness_now_ms() - start >= 900);
	child_free(c);
	fake_free(f);
}

/* Nothing listening: exit 1 at once; a bad command line: exit 2. */
static void
test_exit_codes(void **state)
{
	struct harness	*h = *state;
	struct child	*c;

	c = child_start(h, "request", "--no-key", NULL);
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
	c = child_start(h, "request", "--capacity", "2", NULL);
	assert_int_equal(child_wait(c, T_MS), 2);
	child_free(c);
	c = child_start(h, "support", NULL);
	assert_int_equal(child_wait(c, T_MS), 2);
	child_free(c);
	c = child_start(h, "request", "--relax-after", "soon", NULL);
	assert_int_equal(child_wait(c, T_MS), 2);
	child_free(c);
}

/* ---- script mode: supporter ---------------------------------------------- */

/*
 * Available after Welcome, an offer accepted (--auto-accept), matched with
 * an empty shared list, a line sent, ended by the requester, then end of
 * input with nothing open: exit 0.
 */
static void
test_supporter_lines(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;
	char		 cred[HARNESS_PATH];
	char		*shared[] = { (char *)"lgbtq" };

	write_credential(h, cred, sizeof cred);
	c = child_start(h, "support", "--credential", cred, "--auto-accept",
	    "--capacity", "1", NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__SUPPORTER);
	assert_true(hello->hello->credential.len > 64);
	assert_int_equal(hello->hello->requester_key.len, 0);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY);
	assert_int_equal(env->set_availability->status,
	    PEERD__V1__SUPPORTER_STATUS__AVAILABLE);
	assert_int_equal(env->set_availability->capacity, 1);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);

	fake_offer(f, 41, shared, 1);
	child_expect(c, "offer id=41 shared=lgbtq");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_ACCEPT_OFFER);
	assert_int_equal(env->accept_offer->offer_id, 41);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	fake_matched(f, 12, "guest-7f3a", NULL, 0, 0, 0, 0);
	child_expect(c, "matched conversation=12 peer=guest-7f3a shared=");
	child_say(c, "Hello, I'm Sam. Take your time.");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->conversation_id, 12);
	fake_accepted(f, env->id, 12, 1, 1);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_expect(c, "accepted seq=1");
	fake_end(f, 12, PEERD__V1__END_REASON__END_PEER_GONE);
	child_expect(c, "ended conversation=12 reason=peer_gone");
	child_eof(c);
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
	fake_free(f);
}

/* Without --auto-accept, script mode declines offers at once. */
static void
test_supporter_declines(void **state)
{
	struct harness	*h = *state;
	struct fake	*f = fake_new(h);
	struct child	*c;
	Envelope	*env, *hello;
	char		 cred[HARNESS_PATH];

	write_credential(h, cred, sizeof cred);
	c = child_start(h, "support", "--credential", cred, NULL);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__SUPPORTER);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	fake_offer(f, 5, NULL, 0);
	child_expect(c, "offer id=5 shared=");
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_DECLINE_OFFER);
	assert_int_equal(env->decline_offer->offer_id, 5);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	child_eof(c);
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
	fake_free(f);
}

/* ---- interactive mode in tmux -------------------------------------------- */

/* Run a shell command; return its exit status. */
static int
sh(const char *fmt, ...)
{
	char	cmd[2048];
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return (rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc));
}

/* Wait until the tmux pane shows needle.  Returns 0, or -1 (pane dumped). */
static int
pane_wait(const char *session, const char *needle, int timeout_ms)
{
	int64_t	 end = harness_now_ms() + timeout_ms;
	char	 cmd[256], buf[16384];
	FILE	*p;
	size_t	 n;

	snprintf(cmd, sizeof cmd, "tmux capture-pane -p -t %s 2>/dev/null",
	    session);
	for (;;) {
		buf[0] = '\0';
		if ((p = popen(cmd, "r")) != NULL) {
			n = fread(buf, 1, sizeof buf - 1, p);
			buf[n] = '\0';
			pclose(p);
		}
		if (strstr(buf, needle) != NULL)
			return (0);
		if (harness_now_ms() >= end) {
			fprintf(stderr, "pane has no \"%s\":\n%s\n", needle,
			    buf);
			return (-1);
		}
		harness_msleep(50);
	}
}

/*
 * Interactive requester: waiting screen with the queue position, the chat
 * screen with a ticked message and the peer's message, the typing sign,
 * /help, the end, and /quit leaving with status 0.
 */
static void
test_tty_requester(void **state)
{
	struct harness	*h = *state;
	struct fake	*f;
	Envelope	*env, *hello;
	char		 session[64], status[HARNESS_PATH], *shared[1];
	char		 buf[16];
	FILE		*fp;
	int		 n;
	Envelope	 tenv = PEERD__V1__ENVELOPE__INIT;
	Peerd__V1__Typing typing = PEERD__V1__TYPING__INIT;

	if (sh("command -v tmux >/dev/null") != 0)
		skip();
	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set");
	f = fake_new(h);
	shared[0] = (char *)"lgbtq";
	snprintf(session, sizeof session, "peertest%d", (int)getpid());
	tpath(status, sizeof status, h->dir, "tty.status");
	assert_int_equal(sh("tmux new-session -d -s %s -x 100 -y 30 "
	    "'HOME=%s LANG=C.UTF-8 LC_ALL=C.UTF-8 %s --server 127.0.0.1:%d "
	    "--ca %s request --need lgbtq; echo $? > %s; sleep 60'", session,
	    h->dir, h->peer_bin, h->port, h->ca, status), 0);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__REQUESTER);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_REQUEST_PEER);
	fake_queue(f, env->id, 3, 240);
	peerd__v1__envelope__free_unpacked(env, NULL);
	if (pane_wait(session, "Looking for a peer who shares lgbtq", T_MS) ||
	    pane_wait(session, "Waiting: position 3, about 4 min", T_MS))
		goto fail;

	fake_matched(f, 5, "Sam", shared, 1, 0, 0, 0);
	if (pane_wait(session, "You are talking with Sam. You share: lgbtq.",
	    T_MS) || pane_wait(session, "talking with Sam", T_MS))
		goto fail;
	sh("tmux send-keys -t %s 'I have had a hard week' Enter", session);
	/* Typing is announced, then the message itself. */
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_TYPING);
	assert_true(env->typing->typing);
	peerd__v1__envelope__free_unpacked(env, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_TYPING);
	assert_false(env->typing->typing);
	peerd__v1__envelope__free_unpacked(env, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_string_equal(env->chat_message->text, "I have had a hard week");
	if (pane_wait(session, "you: I have had a hard week \xc2\xb7", T_MS))
		goto fail;
	fake_accepted(f, env->id, 5, 1, 1);
	peerd__v1__envelope__free_unpacked(env, NULL);
	if (pane_wait(session, "you: I have had a hard week \xe2\x9c\x93",
	    T_MS))
		goto fail;
	fake_delivered(f, 5, 1);
	if (pane_wait(session, "hard week \xe2\x9c\x93\xe2\x9c\x93", T_MS))
		goto fail;

	typing.conversation_id = 5;
	typing.typing = 1;
	tenv.body_case = PEERD__V1__ENVELOPE__BODY_TYPING;
	tenv.typing = &typing;
	fake_send(f, &tenv);
	if (pane_wait(session, "Sam is typing...", T_MS))
		goto fail;
	fake_chat(f, 5, 2, "I'm sorry to hear that. \x1b[31mI'm here.");
	if (pane_wait(session, "Sam: I'm sorry to hear that. ?[31mI'm here.",
	    T_MS))
		goto fail;
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_DELIVERED);
	assert_int_equal(env->delivered->seq, 2);
	peerd__v1__envelope__free_unpacked(env, NULL);

	sh("tmux send-keys -t %s '/help' Enter", session);
	if (pane_wait(session, "/report [REASON]", T_MS))
		goto fail;
	fake_peer_status(f, 5, PEERD__V1__PEER_STATE__PEER_RECONNECTING);
	if (pane_wait(session, "Sam's connection dropped", T_MS))
		goto fail;
	fake_peer_status(f, 5, PEERD__V1__PEER_STATE__PEER_RESUMED);
	if (pane_wait(session, "Sam is back.", T_MS))
		goto fail;

	sh("tmux send-keys -t %s '/end' Enter", session);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_END_CONVERSATION);
	fake_ok(f, env->id);
	fake_end(f, 5, PEERD__V1__END_REASON__END_BY_REQUESTER);
	peerd__v1__envelope__free_unpacked(env, NULL);
	if (pane_wait(session, "You ended the conversation.", T_MS) ||
	    pane_wait(session, "/new to talk with another peer", T_MS))
		goto fail;
	sh("tmux send-keys -t %s '/quit' Enter", session);
	if (pane_wait(session, "you left. Take care.", T_MS))
		goto fail;
	/* The shell writes the status once peer has exited. */
	fp = NULL;
	for (n = 0; n < T_MS / 50 && fp == NULL; n++) {
		if ((fp = fopen(status, "r")) == NULL ||
		    fgets(buf, sizeof buf, fp) == NULL) {
			if (fp != NULL)
				fclose(fp);
			fp = NULL;
			harness_msleep(50);
		}
	}
	assert_non_null(fp);
	fclose(fp);
	assert_string_equal(buf, "0\n");
	sh("tmux kill-session -t %s 2>/dev/null", session);
	fake_free(f);
	return;
fail:
	sh("tmux kill-session -t %s 2>/dev/null", session);
	fake_free(f);
	fail_msg("interactive screen did not show what it should");
}

/*
 * Interactive supporter: an offer with its countdown, /accept, the new
 * conversation, a second one (unread mark, Tab to switch, a reply to the
 * right conversation), /break, and Ctrl-C twice to leave (ending the
 * conversation still open).
 */
static void
test_tty_supporter(void **state)
{
	struct harness	*h = *state;
	struct fake	*f;
	Envelope	*env, *hello;
	char		 session[64], cred[HARNESS_PATH], *shared[1];

	if (sh("command -v tmux >/dev/null") != 0)
		skip();
	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set");
	f = fake_new(h);
	shared[0] = (char *)"lgbtq";
	write_credential(h, cred, sizeof cred);
	snprintf(session, sizeof session, "peertests%d", (int)getpid());
	assert_int_equal(sh("tmux new-session -d -s %s -x 100 -y 30 "
	    "'HOME=%s LANG=C.UTF-8 LC_ALL=C.UTF-8 %s --server 127.0.0.1:%d "
	    "--ca %s support --credential %s; sleep 60'", session, h->dir,
	    h->peer_bin, h->port, h->ca, cred), 0);
	fake_accept(f, T_MS);
	hello = fake_welcome(f, PEERD__V1__ROLE__SUPPORTER);
	peerd__v1__envelope__free_unpacked(hello, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	if (pane_wait(session, "Signed in as Sam", T_MS) ||
	    pane_wait(session, "available", T_MS))
		goto fail;
	fake_offer(f, 77, shared, 1);
	if (pane_wait(session, "Offer 77: shares lgbtq", T_MS) ||
	    pane_wait(session, "/accept or /decline (", T_MS))
		goto fail;
	sh("tmux send-keys -t %s '/accept' Enter", session);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_ACCEPT_OFFER);
	assert_int_equal(env->accept_offer->offer_id, 77);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	fake_matched(f, 8, "guest-7f3a", shared, 1, 0, 0, 0);
	if (pane_wait(session, "You are talking with guest-7f3a", T_MS) ||
	    pane_wait(session, "1/2", T_MS))
		goto fail;
	/* A second conversation: told, then Tab switches to it. */
	fake_offer(f, 78, NULL, 0);
	if (pane_wait(session, "Offer 78: shares no tags", T_MS))
		goto fail;
	sh("tmux send-keys -t %s '/accept 78' Enter", session);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_ACCEPT_OFFER);
	assert_int_equal(env->accept_offer->offer_id, 78);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	fake_matched(f, 9, "guest-91bc", NULL, 0, 0, 0, 0);
	if (pane_wait(session, "New conversation 2 with guest-91bc", T_MS) ||
	    pane_wait(session, "[1:guest-7f3a] 2:guest-91bc", T_MS))
		goto fail;
	fake_chat(f, 9, 1, "hello from the second");
	if (pane_wait(session, "2:guest-91bc*", T_MS))
		goto fail;
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_DELIVERED);
	peerd__v1__envelope__free_unpacked(env, NULL);
	sh("tmux send-keys -t %s Tab", session);
	if (pane_wait(session, "1:guest-7f3a [2:guest-91bc]", T_MS) ||
	    pane_wait(session, "guest-91bc: hello from the second", T_MS))
		goto fail;
	sh("tmux send-keys -t %s 'welcome' Enter", session);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_TYPING);
	peerd__v1__envelope__free_unpacked(env, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_TYPING);
	peerd__v1__envelope__free_unpacked(env, NULL);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_CHAT_MESSAGE);
	assert_int_equal(env->chat_message->conversation_id, 9);
	fake_accepted(f, env->id, 9, 1, 2);
	peerd__v1__envelope__free_unpacked(env, NULL);
	fake_end(f, 9, PEERD__V1__END_REASON__END_BY_REQUESTER);
	if (pane_wait(session, "guest-91bc ended the conversation.", T_MS))
		goto fail;

	sh("tmux send-keys -t %s '/break' Enter", session);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_SET_AVAILABILITY);
	assert_int_equal(env->set_availability->status,
	    PEERD__V1__SUPPORTER_STATUS__ON_BREAK);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	if (pane_wait(session, "on a break", T_MS))
		goto fail;
	sh("tmux send-keys -t %s C-c", session);
	if (pane_wait(session, "This ends your conversation", T_MS))
		goto fail;
	sh("tmux send-keys -t %s C-c", session);
	env = fake_expect(f, PEERD__V1__ENVELOPE__BODY_END_CONVERSATION);
	assert_int_equal(env->end_conversation->conversation_id, 8);
	fake_ok(f, env->id);
	peerd__v1__envelope__free_unpacked(env, NULL);
	if (pane_wait(session, "you left. Take care.", T_MS))
		goto fail;
	sh("tmux kill-session -t %s 2>/dev/null", session);
	fake_free(f);
	return;
fail:
	sh("tmux kill-session -t %s 2>/dev/null", session);
	fake_free(f);
	fail_msg("interactive screen did not show what it should");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requester_lines, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_requester_resume, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_requester_refused, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_resume_failed, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_supporter_lines, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_supporter_declines, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_tty_requester, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_tty_supporter, setup,
		    harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
