/*
 * tconn.c -- one TLS client connection of the load generator.
 *
 * A non-blocking connect from the next of LOAD_SRC_ADDRS loopback source
 * addresses (IP_BIND_ADDRESS_NO_PORT, so the port is picked per
 * destination and 10,000 connections never run out of ephemeral ports),
 * TCP_NODELAY, then bufferevent_openssl as a client: TLS 1.2 minimum, the
 * server certificate verified against the bench CA for "localhost", SNI
 * sent, no session cache (every handshake is a full one).  Callbacks run
 * from the loop; tconn_close drops a connection at once and no callback
 * follows it.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "load.h"

#define TCONN_CONNECT_S	60	/* seconds for the TCP connect */
#define TCONN_NAME	"localhost"	/* certificate name checked, SNI */

static SSL_CTX	*tconn_ctx;
static unsigned	 tconn_next_src;

int
tconn_init(const char *ca_file)
{
	if ((tconn_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (-1);
	if (!SSL_CTX_set_min_proto_version(tconn_ctx, TLS1_2_VERSION))
		return (-1);
	SSL_CTX_set_options(tconn_ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(tconn_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* 20,000 client connections: keep our own side small too. */
	SSL_CTX_set_mode(tconn_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(tconn_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(tconn_ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(tconn_ctx, ca_file, NULL) != 1) {
		fprintf(stderr, "bench: cannot load CA %s\n", ca_file);
		return (-1);
	}
	return (0);
}

void
tconn_shutdown(void)
{
	SSL_CTX_free(tconn_ctx);
	tconn_ctx = NULL;
}

/* Tear down and report why to the owner. */
static void
tconn_fail(struct tconn *t, const char *why)
{
	tconn_close(t);
	if (t->ops != NULL && t->ops->closed != NULL)
		t->ops->closed(t, why);
}

/* Bytes arrived. */
static void
tconn_readcb(struct bufferevent *bev, void *arg)
{
	struct tconn	*t = arg;

	if (t->ops->read != NULL)
		t->ops->read(t, bufferevent_get_input(bev));
}

/* TLS up, EOF or an error. */
static void
tconn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct tconn	*t = arg;
	unsigned long	 e;
	char		 why[256], one[160];
	int		 saved = errno;

	if (what & BEV_EVENT_CONNECTED) {
		t->up = 1;
		if (t->ops->up != NULL)
			t->ops->up(t);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "eof%s", t->up ? "" :
		    " during the handshake");
	else {
		snprintf(why, sizeof why, "%s", saved != 0 ?
		    strerror(saved) : "error");
		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			ERR_error_string_n(e, one, sizeof one);
			snprintf(why, sizeof why, "tls: %s", one);
		}
	}
	tconn_fail(t, why);
}

/* The TCP connect finished (or timed out): start TLS. */
static void
tconn_connected(evutil_socket_t fd, short what, void *arg)
{
	struct tconn	*t = arg;
	socklen_t	 len = sizeof(int);
	SSL		*ssl;
	int		 err = 0;

	event_free(t->ev_connect);
	t->ev_connect = NULL;
	if (what & EV_TIMEOUT) {
		tconn_fail(t, "connect timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		tconn_fail(t, strerror(err));
		return;
	}
	if ((ssl = SSL_new(tconn_ctx)) == NULL ||
	    SSL_set_tlsext_host_name(ssl, TCONN_NAME) != 1 ||
	    SSL_set1_host(ssl, TCONN_NAME) != 1) {
		SSL_free(ssl);
		tconn_fail(t, "cannot make an SSL object");
		return;
	}
	t->bev = bufferevent_openssl_socket_new(loop_base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (t->bev == NULL) {
		tconn_fail(t, "cannot make a bufferevent");
		return;
	}
	t->fd = -1;	/* the bufferevent owns it */
	bufferevent_openssl_set_allow_dirty_shutdown(t->bev, 1);
	bufferevent_setcb(t->bev, tconn_readcb, NULL, tconn_eventcb, t);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
}

int
tconn_open(struct tconn *t, int port, const struct tconn_ops *ops,
    void *arg)
{
	struct sockaddr_in	 src, dst;
	struct timeval		 tv = { TCONN_CONNECT_S, 0 };
	int			 fd, one = 1;

	memset(t, 0, sizeof *t);
	t->ops = ops;
	t->arg = arg;
	t->fd = -1;
	t->started_ns = loop_now_ns();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "bench: socket: %s\n", strerror(errno));
		return (-1);
	}
	/* Nagle would turn a relay into ~1,200 messages/s (FACTS.md). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof one);
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK +
	    tconn_next_src++ % LOAD_SRC_ADDRS);
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) == -1 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof dst) == -1 &&
	    errno != EINPROGRESS)) {
		fprintf(stderr, "bench: connect 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	t->fd = fd;
	t->ev_connect = event_new(loop_base, fd, EV_WRITE, tconn_connected, t);
	if (t->ev_connect == NULL || event_add(t->ev_connect, &tv) == -1) {
		tconn_close(t);
		return (-1);
	}
	return (0);
}

void
tconn_close(struct tconn *t)
{
	if (t->ev_connect != NULL)
		event_free(t->ev_connect);
	t->ev_connect = NULL;
	if (t->bev != NULL)
		bufferevent_free(t->bev);	/* closes fd, frees SSL */
	else if (t->fd != -1)
		close(t->fd);
	t->bev = NULL;
	t->fd = -1;
	t->up = 0;
}

struct evbuffer *
tconn_output(struct tconn *t)
{
	return (t->bev != NULL ? bufferevent_get_output(t->bev) : NULL);
}

size_t
tconn_pending(const struct tconn *t)
{
	if (t->bev == NULL)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(t->bev)));
}

const char *
tconn_describe(const struct tconn *t, char *buf, size_t len)
{
	SSL	*ssl;

	if (t->bev == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(t->bev)) == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
	return (buf);
}

int
tconn_resumed(const struct tconn *t)
{
	SSL	*ssl;

	if (t->bev == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(t->bev)) == NULL)
		return (0);
	return (SSL_session_reused(ssl));
}
