/*
 * test_peer_daemon.c -- the `peer` program in script mode against a real
 * peerd and Redis: the tag list, refusals, and whole conversations between
 * a requester and a supporter, both real `peer` processes.
 *
 * Each test makes an Ed25519 signing key in the harness's temp dir, starts
 * peerd with its public half, and signs the supporter credential with it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

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

#include "credential.h"
#include "harness.h"

#define T_MS		8000	/* ms, a step of a conversation */
#define T_LINE_MAX	4096	/* bytes, one line of peer's stdout */
#define T_TAGS								\
	"tag lgbtq LGBTQ+ peers, with words\n"				\
	"tag bme Black and minority ethnic\n"				\
	"tag prison Experience of prison\n"

/* Write dir/name into out (len bytes). */
static void
tpath(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fail_msg("path too long: %s/%s", dir, name);
}

/* ---- the peer program as a child with pipes ----------------------------- */

struct child {
	pid_t	 pid;
	int	 in;
	int	 out;
	char	 buf[T_LINE_MAX];
	size_t	 len;
};

static int	child_port;	/* 0: peerd's own port */

/* Start $PEER_BIN against h's peerd with args (NULL-terminated). */
static struct child *
child_start(struct harness *h, const char *errname, const char *first, ...)
{
	struct child	*c;
	char		*argv[32], server[64], err[HARNESS_PATH];
	int		 in[2], out[2], fd, n = 0;
	const char	*a;
	va_list		 ap;

	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set (make test sets it)");
	assert_non_null(c = calloc(1, sizeof *c));
	snprintf(server, sizeof server, "127.0.0.1:%d",
	    child_port != 0 ? child_port : h->port);
	tpath(err, sizeof err, h->dir, errname);
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
		if ((fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1)
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

/* Return the next stdout line (static buffer), or NULL at timeout/EOF. */
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

/* The next line must start with prefix; return it. */
static const char *
child_expect(struct child *c, const char *prefix)
{
	const char	*got = child_line(c, T_MS);

	if (got == NULL)
		fail_msg("expected \"%s...\", got nothing", prefix);
	if (strncmp(got, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", prefix, got);
	return (got);
}

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

/* ---- a TCP relay that can be cut, for drops and resumes ----------------- */

/* Relay bytes between two sockets until either closes. */
static void
relay(int a, int b)
{
	struct pollfd	pfd[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	char		buf[16384];
	ssize_t		n;
	int		i;

	for (;;) {
		if (poll(pfd, 2, -1) <= 0)
			return;
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof buf);
			if (n <= 0 || write(pfd[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

/*
 * Fork a relay from 127.0.0.1:port to peerd: each accepted connection is
 * relayed by a child of the relay process.  Killing the returned process
 * group cuts every relayed connection at once.
 */
static pid_t
proxy_start(struct harness *h, int port)
{
	struct sockaddr_in	 sin;
	pid_t			 pid;
	int			 lfd, cfd, sfd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sin.sin_port = htons((uint16_t)port);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_true((pid = fork()) != -1);
	if (pid > 0) {
		close(lfd);
		return (pid);
	}
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Hold no copy of the test's pipes: a child's stdin must reach EOF. */
	for (cfd = 3; cfd < 1024; cfd++) {
		if (cfd != lfd)
			close(cfd);
	}
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((cfd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		sfd = socket(AF_INET, SOCK_STREAM, 0);
		sin.sin_port = htons((uint16_t)h->port);
		if (sfd == -1 || connect(sfd, (struct sockaddr *)&sin,
		    sizeof sin) == -1) {
			close(cfd);
			continue;
		}
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			relay(cfd, sfd);
			_exit(0);
		}
		close(cfd);
		close(sfd);
	}
}

/* Cut the relay and every connection through it. */
static void
proxy_stop(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Return a free TCP port on 127.0.0.1. */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

/* ---- set-up: a signing key, peerd trusting it, a supporter credential -- */

/* Sign a supporter credential with key into dir/name. */
static void
issue(struct harness *h, EVP_PKEY *key, const char *name, char *path,
    size_t len)
{
	struct cred_info	 info;
	uint8_t			 buf[CRED_MAX];
	size_t			 blen;
	char			 err[CRED_ERR_MAX];

	memset(&info, 0, sizeof info);
	strcpy(info.id, "sam-1");
	strcpy(info.name, "Sam Smith");
	info.role = PEERD__V1__ROLE__SUPPORTER;
	strcpy(info.tags[0], "lgbtq");
	strcpy(info.tags[1], "bme");
	info.ntags = 2;
	strcpy(info.languages[0], "en");
	info.nlanguages = 1;
	info.capacity = 2;
	info.issued_at = (uint64_t)time(NULL) - 60;
	info.not_after = info.issued_at + 86400;
	assert_int_equal(cred_sign(&info, key, buf, sizeof buf, &blen, NULL),
	    CRED_OK);
	tpath(path, len, h->dir, name);
	assert_int_equal(cred_write_file(path, buf, blen, err, sizeof err), 0);
}

/* Start Redis and peerd (with extra lines) trusting a fresh signing key. */
static int
setup_with(void **state, const char *extra)
{
	struct harness	*h;
	EVP_PKEY	*key;
	char		 priv[HARNESS_PATH], pub[HARNESS_PATH], cred[HARNESS_PATH];
	char		 err[CRED_ERR_MAX], conf[8192];

	if (harness_setup(state, HARNESS_REDIS | HARNESS_NO_PEERD, NULL) == -1)
		return (-1);
	h = *state;
	tpath(priv, sizeof priv, h->dir, "signing.key");
	tpath(pub, sizeof pub, h->dir, "signing.pub");
	if ((key = cred_key_generate()) == NULL ||
	    cred_key_write(key, priv, pub, err, sizeof err) == -1) {
		fprintf(stderr, "signing key: %s\n", err);
		return (-1);
	}
	issue(h, key, "sam.cred", cred, sizeof cred);
	EVP_PKEY_free(key);
	/* A credential from another organisation. */
	key = cred_key_generate();
	issue(h, key, "forged.cred", cred, sizeof cred);
	EVP_PKEY_free(key);
	snprintf(conf, sizeof conf, "signing_pubkey %s\n%s%s", pub, T_TAGS,
	    extra != NULL ? extra : "");
	return (harness_peerd_start(h, conf));
}

static int
setup(void **state)
{
	return (setup_with(state, "grace 2\n"));
}

/* ---- tests ---------------------------------------------------------------- */

/* `peer tags` prints the catalogue with descriptions and exits 0. */
static void
test_tags(void **state)
{
	struct harness	*h = *state;
	struct child	*c;

	c = child_start(h, "tags.err", "tags", NULL);
	child_expect(c, "lgbtq   LGBTQ+ peers, with words");
	child_expect(c, "bme     Black and minority ethnic");
	child_expect(c, "prison  Experience of prison");
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
}

/* An unknown tag: the error line with peerd's code, exit 1. */
static void
test_unknown_tag(void **state)
{
	struct harness	*h = *state;
	struct child	*c;

	c = child_start(h, "req.err", "request", "--need", "astronauts",
	    NULL);
	child_expect(c, "error code=UNKNOWN_TAG message=");
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
}

/* A credential peerd's key did not sign: BAD_CREDENTIAL, exit 1. */
static void
test_bad_credential(void **state)
{
	struct harness	*h = *state;
	struct child	*c;
	char		 cred[HARNESS_PATH];

	tpath(cred, sizeof cred, h->dir, "forged.cred");
	c = child_start(h, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	child_expect(c, "error code=BAD_CREDENTIAL message=");
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
}

/* Return the text after "key=" in line, up to a space (static buffer). */
static const char *
field(const char *line, const char *key)
{
	static char	 buf[256];
	const char	*p;
	size_t		 n;

	if ((p = strstr(line, key)) == NULL)
		return ("");
	p += strlen(key);
	n = strcspn(p, " ");
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return (buf);
}

/*
 * A whole conversation: the requester queues, the supporter is offered it
 * and accepts, lines flow both ways with accepted and delivered ticks, and
 * the requester's end of input ends it on both sides.
 */
static void
test_conversation(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], conv[64], want[128];
	const char	*line;

	tpath(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	/* Let the supporter become available before the request comes. */
	harness_msleep(500);
	r = child_start(h, "req.err", "--wait-delivered", "request", "--need",
	    "lgbtq", "--prefer", "bme", NULL);
	child_say(r, "hello, is anyone there?");
	child_expect(r, "queued position=");
	line = child_expect(s, "offer id=");
	assert_string_equal(field(line, "shared="), "lgbtq,bme");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", field(line, "conversation="));
	assert_string_equal(field(line, "shared="), "lgbtq,bme");
	assert_true(strncmp(field(line, "peer="), "guest-", 6) == 0);
	line = child_expect(r, "matched conversation=");
	assert_string_equal(field(line, "conversation="), conv);
	assert_string_equal(field(line, "peer="), "Sam\\x20Smith");
	assert_string_equal(field(line, "shared="), "lgbtq,bme");

	/* The requester's first line waited for the match. */
	snprintf(want, sizeof want, "message conversation=%s seq=1 "
	    "text=hello, is anyone there?", conv);
	assert_string_equal(child_expect(s, "message "), want);
	assert_string_equal(child_expect(r, "accepted "), "accepted seq=1");
	assert_string_equal(child_expect(r, "delivered "), "delivered seq=1");

	child_say(s, "Hi, I'm Sam.\tI'm here.");
	assert_string_equal(child_expect(s, "accepted "), "accepted seq=2");
	snprintf(want, sizeof want, "message conversation=%s seq=2 "
	    "text=Hi, I'm Sam.\\tI'm here.", conv);
	assert_string_equal(child_expect(r, "message "), want);
	assert_string_equal(child_expect(s, "delivered "), "delivered seq=2");

	child_say(r, "thank you");
	child_eof(r);
	assert_string_equal(child_expect(r, "accepted "), "accepted seq=3");
	snprintf(want, sizeof want, "message conversation=%s seq=3 "
	    "text=thank you", conv);
	assert_string_equal(child_expect(s, "message "), want);
	assert_string_equal(child_expect(r, "delivered "), "delivered seq=3");
	snprintf(want, sizeof want, "ended conversation=%s "
	    "reason=by_requester", conv);
	assert_string_equal(child_expect(r, "ended "), want);
	assert_string_equal(child_expect(s, "ended "), want);
	assert_int_equal(child_wait(r, T_MS), 0);

	/* The supporter stays for the next one until its input ends. */
	child_say(s, "are you still there?");
	child_expect(s, "error code=NOT_FOUND message=");
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
}

/*
 * The supporter's end of input ends the conversation (by_supporter); a
 * requester that vanishes makes the supporter see peer-reconnecting, then
 * the end after the grace window (peer_gone).
 */
static void
test_supporter_end_and_gone(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], conv[64], want[128];
	const char	*line;

	tpath(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	r = child_start(h, "req.err", "request", "--no-key", NULL);
	child_expect(r, "queued position=");
	child_expect(s, "offer id=");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", field(line, "conversation="));
	assert_string_equal(field(line, "shared="), "");
	child_expect(r, "matched conversation=");
	child_eof(s);
	snprintf(want, sizeof want, "ended conversation=%s "
	    "reason=by_supporter", conv);
	assert_string_equal(child_expect(s, "ended "), want);
	assert_string_equal(child_expect(r, "ended "), want);
	assert_int_equal(child_wait(s, T_MS), 0);
	assert_int_equal(child_wait(r, T_MS), 0);
	child_free(r);
	child_free(s);

	s = child_start(h, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	r = child_start(h, "req.err", "request", "--no-key", NULL);
	child_expect(r, "queued position=");
	child_expect(s, "offer id=");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", field(line, "conversation="));
	child_expect(r, "matched conversation=");
	kill(r->pid, SIGKILL);
	assert_string_equal(child_expect(s, "peer-"), "peer-reconnecting");
	snprintf(want, sizeof want, "ended conversation=%s reason=peer_gone",
	    conv);
	assert_string_equal(child_expect(s, "ended "), want);
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
}

/*
 * The supporter's connection is cut mid-conversation: the requester sees
 * peer-reconnecting and keeps writing (peerd holds it); the supporter
 * reconnects by itself, resumes, receives what it missed exactly once,
 * and the requester sees resumed.
 */
static void
test_drop_and_resume(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], conv[64], want[128];
	const char	*line;
	pid_t		 proxy;
	int		 port = free_port();

	tpath(cred, sizeof cred, h->dir, "sam.cred");
	proxy = proxy_start(h, port);
	child_port = port;
	s = child_start(h, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	child_port = 0;
	harness_msleep(500);
	r = child_start(h, "req.err", "request", "--no-key", NULL);
	child_expect(r, "queued position=");
	child_expect(s, "offer id=");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", field(line, "conversation="));
	child_expect(r, "matched conversation=");
	child_say(s, "hello");
	assert_string_equal(child_expect(s, "accepted "), "accepted seq=1");
	child_expect(r, "message ");
	assert_string_equal(child_expect(s, "delivered "), "delivered seq=1");

	proxy_stop(proxy);
	assert_string_equal(child_expect(r, "peer-"), "peer-reconnecting");
	child_say(r, "are you still there?");
	assert_string_equal(child_expect(r, "accepted "), "accepted seq=2");
	proxy = proxy_start(h, port);
	assert_string_equal(child_expect(r, "resumed"), "resumed");
	snprintf(want, sizeof want, "message conversation=%s seq=2 "
	    "text=are you still there?", conv);
	assert_string_equal(child_expect(s, "message "), want);
	assert_string_equal(child_expect(r, "delivered "), "delivered seq=2");
	child_say(s, "yes, my connection dropped");
	assert_string_equal(child_expect(s, "accepted "), "accepted seq=3");
	snprintf(want, sizeof want, "message conversation=%s seq=3 "
	    "text=yes, my connection dropped", conv);
	assert_string_equal(child_expect(r, "message "), want);
	assert_string_equal(child_expect(s, "delivered "), "delivered seq=3");
	child_eof(r);
	snprintf(want, sizeof want, "ended conversation=%s "
	    "reason=by_requester", conv);
	assert_string_equal(child_expect(r, "ended "), want);
	assert_string_equal(child_expect(s, "ended "), want);
	assert_int_equal(child_wait(r, T_MS), 0);
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
	proxy_stop(proxy);
}

/* Run a shell command; return its exit status. */
static int
sh(const char *fmt, ...)
{
	char	cmd[4096];
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
 * An interactive requester (in tmux) and a script-mode supporter through a
 * real peerd: the match, a message each way with the delivery ticks, and
 * the supporter's end seen on the screen.
 */
static void
test_tty_with_peerd(void **state)
{
	struct harness	*h = *state;
	struct child	*s;
	char		 cred[HARNESS_PATH], session[64];
	const char	*line;
	int		 ok = 0;

	if (sh("command -v tmux >/dev/null") != 0)
		skip();
	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set");
	tpath(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	snprintf(session, sizeof session, "peerdtest%d", (int)getpid());
	assert_int_equal(sh("tmux new-session -d -s %s -x 100 -y 30 "
	    "'HOME=%s LANG=C.UTF-8 LC_ALL=C.UTF-8 %s --server 127.0.0.1:%d "
	    "--ca %s request --need lgbtq --no-key; sleep 60'", session,
	    h->dir, h->peer_bin, h->port, h->ca), 0);
	if (pane_wait(session, "You are talking with Sam Smith. You share: "
	    "lgbtq.", T_MS))
		goto out;
	child_expect(s, "offer id=");
	child_expect(s, "matched conversation=");
	sh("tmux send-keys -t %s 'hello Sam' Enter", session);
	line = child_expect(s, "message ");
	assert_non_null(strstr(line, " text=hello Sam"));
	if (pane_wait(session, "you: hello Sam \xe2\x9c\x93\xe2\x9c\x93",
	    T_MS))
		goto out;
	child_say(s, "Hello, I'm here for you.");
	child_expect(s, "accepted ");
	if (pane_wait(session, "Sam Smith: Hello, I'm here for you.", T_MS))
		goto out;
	child_expect(s, "delivered ");
	child_eof(s);
	child_expect(s, "ended ");
	if (pane_wait(session, "Sam Smith ended the conversation.", T_MS))
		goto out;
	sh("tmux send-keys -t %s '/quit' Enter", session);
	if (pane_wait(session, "you left. Take care.", T_MS))
		goto out;
	ok = 1;
out:
	sh("tmux kill-session -t %s 2>/dev/null", session);
	if (ok)
		ok = child_wait(s, T_MS) == 0;
	child_free(s);
	if (!ok)
		fail_msg("interactive screen or supporter went wrong");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tags, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_tag, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_credential, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_conversation, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_supporter_end_and_gone,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_resume, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_tty_with_peerd, setup,
		    harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
