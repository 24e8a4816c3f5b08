/*
 * peerclient.h -- libpeerclient, the C API an application embeds to talk to
 * peerd.
 *
 * The application owns the event loop: it passes its struct event_base and
 * runs it.  libpeerclient connects over TCP (TCP_NODELAY), starts TLS
 * (1.2 minimum, server certificate verified against a CA file, host name or
 * IP address checked, SNI sent for names), and then exchanges frames: a
 * 4-byte big-endian length and one serialized peerd.v1.Envelope.  Envelopes
 * are packed straight into the connection's output buffer; the only
 * allocation per message is protobuf-c's own unpack of received envelopes.
 *
 * Typical use:
 *
 *	struct peerclient_tls *tls = peerclient_tls_new("ca.pem", &err);
 *	struct peerclient_callbacks cb = { on_connected, on_envelope,
 *	    on_closed, NULL };
 *	struct peerclient *pc = peerclient_new(base, tls, &cb, app);
 *	peerclient_connect(pc, "peer.example.org", "4433", NULL);
 *	... in on_connected: build a Hello with peerclient_hello_init() and
 *	    send it with peerclient_send_hello() ...
 *	... in on_envelope: handle the Welcome and what follows, then
 *	    peerclient_envelope_free() it ...
 *	event_base_dispatch(base);
 *
 * Signals: OpenSSL writes with write(2), so a peer that resets the
 * connection raises SIGPIPE; the application must ignore SIGPIPE.
 *
 * Threads: a struct peerclient belongs to the thread running its event
 * base; nothing here locks.  A struct peerclient_tls may be shared by many
 * clients of one thread (it is reference counted, not locked).
 *
 * Link with libpeerclient.a, libproto.a (the generated protobuf-c code and
 * the frame codec), libevent_openssl, libevent, OpenSSL and libprotobuf-c.
 */
#ifndef PEERCLIENT_H
#define PEERCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "peer.pb-c.h"

/* Same type as frame.h's; C11 allows the repeated typedef. */
typedef Peerd__V1__Envelope Envelope;

struct event_base;
struct peerclient;
struct peerclient_tls;

#define PEERCLIENT_PROTOCOL_VERSION	1
#define PEERCLIENT_MAX_FRAME_DEFAULT	(1024 * 1024)	/* bytes, a body read */
#define PEERCLIENT_CONNECT_TIMEOUT	10000	/* ms, TCP + TLS handshake */
#define PEERCLIENT_CLOSE_LINGER		2000	/* ms, flushing on close */
#define PEERCLIENT_MAX_RESUME		16	/* Resume entries in a Hello */
#define PEERCLIENT_REQUESTER_KEY_LEN	32	/* bytes, Hello.requester_key */

/*
 * Return values of the functions below.  0 is success; each function lists
 * the errors it can give.
 */
enum peerclient_error {
	PEERCLIENT_OK = 0,
	PEERCLIENT_ERR_INVAL,		/* a NULL or out-of-range argument */
	PEERCLIENT_ERR_NOMEM,		/* memory ran out */
	PEERCLIENT_ERR_STATE,		/* not allowed in the current state */
	PEERCLIENT_ERR_RESOLVE,		/* host or port did not resolve */
	PEERCLIENT_ERR_CONNECT,		/* socket() or connect() failed */
	PEERCLIENT_ERR_TLS,		/* OpenSSL refused a setting */
	PEERCLIENT_ERR_CA,		/* the CA file could not be loaded */
	PEERCLIENT_ERR_TOO_LARGE,	/* envelope empty or over the limit */
	PEERCLIENT_ERR_FULL		/* no room left in a Hello builder */
};

/* Why a connection ended; passed to on_closed. */
enum peerclient_reason {
	PEERCLIENT_CLOSED_LOCAL = 0,	/* peerclient_close() finished */
	PEERCLIENT_CLOSED_EOF,		/* peerd closed the connection */
	PEERCLIENT_CLOSED_CONNECT,	/* TCP connect refused, unreachable */
	PEERCLIENT_CLOSED_TLS_VERIFY,	/* certificate or name rejected */
	PEERCLIENT_CLOSED_TLS,		/* other TLS failure */
	PEERCLIENT_CLOSED_ERROR,	/* socket error after connecting */
	PEERCLIENT_CLOSED_TIMEOUT,	/* connect + handshake too slow */
	PEERCLIENT_CLOSED_FRAME,	/* empty, oversized or bad frame */
	PEERCLIENT_CLOSED_NOMEM		/* memory ran out */
};

/*
 * Callbacks, all optional (NULL).  They run from the application's event
 * loop.  Inside any of them the application may call any function here,
 * including peerclient_close() and peerclient_free() on the same client.
 *
 * on_connected: TLS is up and the server certificate verified.  Send the
 *     Hello now (or earlier: envelopes sent while connecting are queued).
 * on_envelope: one envelope arrived.  The callback OWNS env: it must
 *     release it with peerclient_envelope_free(), now or later (it may keep
 *     it past the callback).  Envelopes arrive in order.
 * on_closed: the connection is gone (never called for a connection that
 *     peerclient_free() tore down).  detail is a short human-readable
 *     explanation (OpenSSL's verify error, errno text, ...), valid only
 *     during the call.  After on_closed the client may be connected again
 *     with peerclient_connect() or freed.
 * on_drained: the output buffer emptied after a send (for flow control in
 *     applications that send a lot; see peerclient_pending()).
 */
struct peerclient_callbacks {
	void	(*on_connected)(struct peerclient *pc, void *arg);
	void	(*on_envelope)(struct peerclient *pc, Envelope *env, void *arg);
	void	(*on_closed)(struct peerclient *pc,
		    enum peerclient_reason reason, const char *detail,
		    void *arg);
	void	(*on_drained)(struct peerclient *pc, void *arg);
};

/* ---- TLS context (one per application, shared by its clients) ---------- */

/*
 * Make a TLS client context that trusts the certificates in ca_file (PEM).
 * TLS 1.2 is the minimum, compression and renegotiation are off.
 * Returns the context, or NULL with *error (if error is not NULL) set to
 * PEERCLIENT_ERR_INVAL (ca_file NULL), PEERCLIENT_ERR_NOMEM,
 * PEERCLIENT_ERR_TLS (OpenSSL failed to make a context) or
 * PEERCLIENT_ERR_CA (ca_file unreadable or holds no certificate).
 */
struct peerclient_tls *peerclient_tls_new(const char *ca_file, int *error);

/*
 * Release the application's reference to a TLS context.  Clients made with
 * it keep their own reference, so this may be called while they live.
 * NULL is fine.
 */
void	peerclient_tls_free(struct peerclient_tls *tls);

/* ---- client lifetime ---------------------------------------------------- */

/*
 * Make a client on the application's event base.  cb is copied (NULL means
 * no callbacks); arg is passed to every callback.  Nothing is connected yet.
 * Returns the client, or NULL if base or tls is NULL or memory ran out.
 */
struct peerclient *peerclient_new(struct event_base *base,
	    struct peerclient_tls *tls, const struct peerclient_callbacks *cb,
	    void *arg);

/*
 * Tear the client down at once: the connection (if any) is dropped without
 * flushing, queued output is discarded, on_closed is NOT called.  Safe
 * inside the client's own callbacks.  NULL is fine.
 */
void	peerclient_free(struct peerclient *pc);

/*
 * Set the largest envelope body accepted from peerd (bytes).  A bigger
 * declared length closes the connection with PEERCLIENT_CLOSED_FRAME before
 * anything is allocated for it.  Default PEERCLIENT_MAX_FRAME_DEFAULT.
 * Returns PEERCLIENT_OK, or PEERCLIENT_ERR_INVAL if bytes is 0 or over
 * 16 MiB (the codec's hard limit).
 */
int	peerclient_set_max_frame(struct peerclient *pc, size_t bytes);

/*
 * Set the largest envelope body peerclient_send() will pack (bytes).  By
 * default it is 16 MiB until a Welcome arrives, then Welcome.limits.max_frame
 * (so the application learns of an oversized envelope locally instead of
 * being disconnected).  Calling this turns the Welcome adjustment off.
 * Returns PEERCLIENT_OK, or PEERCLIENT_ERR_INVAL if bytes is 0 or over
 * 16 MiB.
 */
int	peerclient_set_max_send(struct peerclient *pc, size_t bytes);

/*
 * Set the time allowed for the TCP connect plus the TLS handshake, in
 * milliseconds (0 means no limit).  Default PEERCLIENT_CONNECT_TIMEOUT.
 * Applies to the next peerclient_connect().  Returns PEERCLIENT_OK.
 */
int	peerclient_set_connect_timeout(struct peerclient *pc, int ms);

/*
 * Send a Ping whenever nothing else was sent for seconds (0 turns it off),
 * so that peerd, which drops a client silent for 1.5 times its keepalive,
 * never ends a quiet connection.  By default
 * keepalive is off until a Welcome arrives, then follows
 * Welcome.limits.keepalive_s; calling this turns that adjustment off.  The
 * pings take their ids from peerclient_next_id() and the Pongs answering
 * them are consumed here, never passed to on_envelope.
 * Returns PEERCLIENT_OK, or PEERCLIENT_ERR_INVAL (NULL, seconds < 0).
 */
int	peerclient_set_keepalive(struct peerclient *pc, int seconds);

/* ---- connecting and closing --------------------------------------------- */

/*
 * Start connecting to host:port.  host is a name or an IP address (names
 * are resolved with getaddrinfo(), which blocks: applications that cannot
 * block resolve first and pass the address); each address the name has is
 * tried in turn until one accepts the TCP connection.  The server certificate must
 * chain to the context's CA and match verify_name (NULL means host); a
 * name is also sent as SNI, an IP address is checked against the
 * certificate's IP SANs and not sent.
 * The result comes later through on_connected or on_closed (reason
 * CONNECT, TLS_VERIFY, TLS, TIMEOUT, EOF or ERROR).
 * Returns PEERCLIENT_OK; PEERCLIENT_ERR_INVAL (NULL host or port);
 * PEERCLIENT_ERR_STATE (already connecting, connected or closing);
 * PEERCLIENT_ERR_RESOLVE (lookup failed); PEERCLIENT_ERR_CONNECT (socket or
 * connect failed at once, errno kept); PEERCLIENT_ERR_TLS (OpenSSL refused
 * the name or a new SSL object); PEERCLIENT_ERR_NOMEM.  On error no
 * callback follows.
 */
int	peerclient_connect(struct peerclient *pc, const char *host,
	    const char *port, const char *verify_name);

/*
 * Close gracefully: stop reading, flush queued output (for at most
 * PEERCLIENT_CLOSE_LINGER ms), send a TLS close_notify, then call
 * on_closed with PEERCLIENT_CLOSED_LOCAL (from the event loop, never from
 * inside this call).  A client still connecting is simply dropped (still
 * reported as LOCAL).
 * Returns PEERCLIENT_OK, or PEERCLIENT_ERR_STATE if nothing is open or a
 * close is already under way.
 */
int	peerclient_close(struct peerclient *pc);

/* Return nonzero while TLS is up and the client is not closing. */
int	peerclient_is_connected(const struct peerclient *pc);

/* ---- sending ------------------------------------------------------------ */

/*
 * Pack env as one frame onto the connection's output.  While connecting the
 * frame is queued and sent once TLS is up.  env is only read; the caller
 * keeps ownership (stack-allocated envelopes are the normal case).
 * Returns PEERCLIENT_OK; PEERCLIENT_ERR_INVAL (NULL); PEERCLIENT_ERR_STATE
 * (not connecting or connected, e.g. closed or closing);
 * PEERCLIENT_ERR_TOO_LARGE (body empty or over the send limit, nothing
 * queued); PEERCLIENT_ERR_NOMEM.
 */
int	peerclient_send(struct peerclient *pc, const Envelope *env);

/*
 * Send Ping{nonce} with request id id.  Returns as peerclient_send().
 */
int	peerclient_send_ping(struct peerclient *pc, uint64_t id,
	    uint64_t nonce);

/*
 * Return a fresh request id for this connection: 1, 2, 3, ...  (never 0,
 * which peerd uses for pushed frames).
 */
uint64_t peerclient_next_id(struct peerclient *pc);

/* Return the bytes queued for sending and not yet written to the socket. */
size_t	peerclient_pending(const struct peerclient *pc);

/* Release an envelope handed to on_envelope.  NULL is fine. */
void	peerclient_envelope_free(Envelope *env);

/* ---- building a Hello without hand-rolled protobuf ----------------------- */

/*
 * A Hello under construction.  It lives where the caller puts it (usually
 * the stack) and points at the caller's bytes without copying them: keep
 * credential, key, tokens and name alive until it has been sent.  Treat the
 * members as private.
 */
struct peerclient_hello {
	Envelope		 env;
	Peerd__V1__Hello	 hello;
	Peerd__V1__Resume	 resume[PEERCLIENT_MAX_RESUME];
	Peerd__V1__Resume	*resume_ptr[PEERCLIENT_MAX_RESUME];
};

/*
 * Start a Hello for protocol version PEERCLIENT_PROTOCOL_VERSION with the
 * given role (PEERD__V1__ROLE__REQUESTER, __SUPPORTER or __OPERATOR) and
 * client_name (may be NULL, e.g. "peer/0.1").  Cannot fail.
 */
void	peerclient_hello_init(struct peerclient_hello *h, Peerd__V1__Role role,
	    const char *client_name);

/*
 * Attach a serialized Credential (the file a supporter or operator holds).
 * Returns PEERCLIENT_OK, or PEERCLIENT_ERR_INVAL if cred is NULL or len 0.
 */
int	peerclient_hello_set_credential(struct peerclient_hello *h,
	    const void *cred, size_t len);

/*
 * Attach the requester continuity key (PEERCLIENT_REQUESTER_KEY_LEN random
 * bytes the app keeps between sessions).  Returns PEERCLIENT_OK, or
 * PEERCLIENT_ERR_INVAL if key is NULL or len is not 32.
 */
int	peerclient_hello_set_requester_key(struct peerclient_hello *h,
	    const void *key, size_t len);

/*
 * Ask to resume a conversation: token from Matched.resume_token, last_seq
 * the highest server seq received in it.  Returns PEERCLIENT_OK;
 * PEERCLIENT_ERR_INVAL (token NULL or len 0); PEERCLIENT_ERR_FULL
 * (PEERCLIENT_MAX_RESUME entries already).
 */
int	peerclient_hello_add_resume(struct peerclient_hello *h,
	    const void *token, size_t len, uint64_t last_seq);

/*
 * Return the finished envelope (id as given) for peerclient_send() or for
 * the frame codec.  It points into h.
 */
Envelope *peerclient_hello_envelope(struct peerclient_hello *h, uint64_t id);

/* Send the Hello with request id id.  Returns as peerclient_send(). */
int	peerclient_send_hello(struct peerclient *pc, struct peerclient_hello *h,
	    uint64_t id);

/* ---- addresses ----------------------------------------------------------- */

/*
 * Split "HOST:PORT" or "[V6ADDR]:PORT" into host (hostlen bytes) and port
 * (portlen bytes), NUL-terminated.  Returns PEERCLIENT_OK, or
 * PEERCLIENT_ERR_INVAL if there is no host, the port is not a number from
 * 1 to 65535, or either part does not fit.
 */
int	peerclient_split_hostport(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen);

/* ---- names for logs ----------------------------------------------------- */

/* Return a static string for an enum peerclient_error value. */
const char *peerclient_strerror(int error);

/* Return a static name for a close reason ("eof", "tls_verify", ...). */
const char *peerclient_reason_name(enum peerclient_reason reason);

#endif
