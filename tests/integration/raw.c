/*
 * raw.c -- hostile peers for integration tests: a plain TCP socket, a TLS
 * connection whose bytes the test chooses, and an HTTP/1.0 GET for the
 * admin port.  All sockets are non-blocking and every wait is a poll() with
 * a deadline.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "harness.h"

#define RAW_CHUNK	16384	/* bytes read at a time */

struct raw_tls {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	struct evbuffer	*in;		/* decrypted bytes not yet framed */
	int		 closed;
};

/* Milliseconds left until deadline, at least 0. */
static int
raw_left(int64_t deadline)
{
	int64_t	left = deadline - harness_now_ms();

	return (left < 0 ? 0 : (int)left);
}

/* Poll fd for events until deadline.  Returns 1 ready, 0 timeout, -1 error. */
static int
raw_poll(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int		r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, raw_left(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return (-1);
		return (r > 0 ? 1 : 0);
	}
}

int
raw_tcp_connect(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1, err;
	socklen_t		len = sizeof err;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return (-1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
		return (fd);
	if (errno != EINPROGRESS ||
	    raw_poll(fd, POLLOUT, harness_now_ms() + HARNESS_IO_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

int
raw_tcp_send(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	int64_t		 deadline = harness_now_ms() + HARNESS_IO_MS;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR) &&
		    raw_poll(fd, POLLOUT, deadline) == 1)
			continue;
		return (-1);
	}
	return (0);
}

int
raw_tcp_wait_closed(int fd, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	char	buf[RAW_CHUNK];
	ssize_t	n;

	for (;;) {
		n = recv(fd, buf, sizeof buf, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return (0);
		if (n > 0)
			continue;
		if (raw_poll(fd, POLLIN, deadline) != 1)
			return (-1);
	}
}

/*
 * Drive one SSL call's retry: wait for what it wants until deadline.
 * Returns 1 to retry, 0 for a clean close, -1 for an error or timeout.
 */
static int
raw_ssl_retry(struct raw_tls *t, int r, int64_t deadline)
{
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return (raw_poll(t->fd, POLLIN, deadline) == 1 ? 1 : -1);
	case SSL_ERROR_WANT_WRITE:
		return (raw_poll(t->fd, POLLOUT, deadline) == 1 ? 1 : -1);
	case SSL_ERROR_ZERO_RETURN:
		return (0);
	default:
		ERR_clear_error();
		return (-1);
	}
}

struct raw_tls *
raw_tls_connect(int port, const char *ca_file)
{
	struct raw_tls	*t;
	int64_t		 deadline = harness_now_ms() + HARNESS_IO_MS;
	int		 r;

	if ((t = calloc(1, sizeof *t)) == NULL)
		return (NULL);
	t->fd = -1;
	if ((t->in = evbuffer_new()) == NULL ||
	    (t->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1 ||
	    (t->ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set1_host(t->ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(t->ssl, "localhost") != 1)
		goto fail;
	if ((t->fd = raw_tcp_connect(port)) == -1 ||
	    SSL_set_fd(t->ssl, t->fd) != 1)
		goto fail;
	while ((r = SSL_connect(t->ssl)) != 1) {
		if (raw_ssl_retry(t, r, deadline) != 1) {
			fprintf(stderr, "raw_tls: handshake failed\n");
			goto fail;
		}
	}
	return (t);
fail:
	ERR_clear_error();
	raw_tls_free(t);
	return (NULL);
}

int
raw_tls_write(struct raw_tls *t, const void *buf, size_t len)
{
	int64_t	deadline = harness_now_ms() + HARNESS_IO_MS;
	int	r;

	if (len == 0)
		return (0);
	while ((r = SSL_write(t->ssl, buf, (int)len)) <= 0) {
		if (raw_ssl_retry(t, r, deadline) != 1)
			return (-1);
	}
	return (r == (int)len ? 0 : -1);
}

int
raw_tls_send_header(struct raw_tls *t, uint32_t len)
{
	uint8_t	hdr[FRAME_HEADER];

	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	return (raw_tls_write(t, hdr, sizeof hdr));
}

int
raw_tls_send(struct raw_tls *t, const Envelope *env)
{
	uint8_t	*buf;
	size_t	 n, len = frame_size(env);
	int	 r;

	if ((buf = malloc(len)) == NULL)
		return (-1);
	n = frame_encode(env, FRAME_MAX_HARD, buf, len);
	r = n == 0 ? -1 : raw_tls_write(t, buf, n);
	free(buf);
	return (r);
}

/*
 * Read what is available (waiting until deadline if nothing is).  Returns
 * 1 if bytes were added, 0 on timeout, -1 once the connection closed.
 */
static int
raw_tls_fill(struct raw_tls *t, int64_t deadline)
{
	char	buf[RAW_CHUNK];
	int	r, rr;

	if (t->closed)
		return (-1);
	for (;;) {
		r = SSL_read(t->ssl, buf, sizeof buf);
		if (r > 0) {
			evbuffer_add(t->in, buf, r);
			return (1);
		}
		rr = SSL_get_error(t->ssl, r);
		if (rr == SSL_ERROR_WANT_READ) {
			/* e.g. a NewSessionTicket was all there was. */
			if (raw_poll(t->fd, POLLIN, deadline) != 1)
				return (0);
			continue;
		}
		if (rr == SSL_ERROR_WANT_WRITE) {
			if (raw_poll(t->fd, POLLOUT, deadline) != 1)
				return (0);
			continue;
		}
		/* close_notify, EOF, reset or a TLS error: closed. */
		ERR_clear_error();
		t->closed = 1;
		return (-1);
	}
}

Envelope *
raw_tls_recv(struct raw_tls *t, int timeout_ms)
{
	int64_t			 deadline = harness_now_ms() + timeout_ms;
	enum frame_status	 st;
	Envelope		*env;

	for (;;) {
		st = frame_read(t->in, FRAME_MAX_HARD, &env);
		if (st == FRAME_OK)
			return (env);
		if (st != FRAME_NEED_MORE) {
			fprintf(stderr, "raw_tls: bad frame from peerd: %s\n",
			    frame_status_name(st));
			return (NULL);
		}
		if (raw_tls_fill(t, deadline) != 1)
			return (NULL);
	}
}

int
raw_tls_wait_closed(struct raw_tls *t, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	int	r;

	while ((r = raw_tls_fill(t, deadline)) == 1)
		;
	return (r == -1 ? 0 : -1);
}

void
raw_tls_free(struct raw_tls *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL)
		SSL_free(t->ssl);
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	if (t->fd != -1)
		close(t->fd);
	if (t->in != NULL)
		evbuffer_free(t->in);
	free(t);
}

int
raw_http_get(int port, const char *path, char *body, size_t bodylen,
    int timeout_ms)
{
	int64_t		 deadline = harness_now_ms() + timeout_ms;
	char		 req[512], *resp = NULL, *p, *nb;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 fd, status = -1, rlen;

	if (body != NULL && bodylen > 0)
		*body = '\0';
	rlen = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n"
	    "Host: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
	if (rlen < 0 || (size_t)rlen >= sizeof req)
		return (-1);
	if ((fd = raw_tcp_connect(port)) == -1)
		return (-1);
	if (raw_tcp_send(fd, req, rlen) == -1)
		goto out;
	for (;;) {
		if (cap - len < RAW_CHUNK) {
			cap = cap == 0 ? 2 * RAW_CHUNK : cap * 2;
			if (cap > (1 << 24) ||
			    (nb = realloc(resp, cap)) == NULL)
				goto out;
			resp = nb;
		}
		n = recv(fd, resp + len, cap - len - 1, 0);
		if (n > 0) {
			len += n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			goto out;
		if (raw_poll(fd, POLLIN, deadline) != 1)
			goto out;
	}
	resp[len] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) {
		status = -1;
		goto out;
	}
	if (body != NULL && bodylen > 0 &&
	    (p = strstr(resp, "\r\n\r\n")) != NULL)
		snprintf(body, bodylen, "%s", p + 4);
out:
	free(resp);
	close(fd);
	return (status);
}

int
raw_healthz_wait(int port, int want, char *body, size_t bodylen,
    int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	int	st;

	for (;;) {
		st = raw_http_get(port, "/healthz", body, bodylen,
		    HARNESS_IO_MS);
		if (st == want || harness_now_ms() >= deadline)
			return (st);
		harness_msleep(50);
	}
}
