/*
 * fault.h -- helpers for the fault tests (test_faults.c): a ledger of
 * every chat message of a conversation, so a test can say "nothing lost,
 * nothing duplicated" with figures; peerd's file descriptors and resident
 * memory from /proc; short Redis commands; and TLS clients whose socket
 * the test can abuse (garbage under the TLS layer, half a ClientHello).
 *
 * Like people.c, helpers never call cmocka: they return -1 (or NULL)
 * after printing why on stderr and the test asserts.
 *
 *	struct fault_chat	*fc = fault_chat_match(w, s);
 *
 *	assert_int_equal(fault_chat_exchange(fc, "before", 5), 0);
 *	...
 *	assert_int_equal(fault_chat_check(fc, "after outage", 300), 0);
 *	fault_chat_free(fc);
 */
#ifndef FAULT_H
#define FAULT_H

#include <sys/types.h>
#include <sys/resource.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "harness.h"

struct world;

#define FAULT_MSGS_MAX	4096	/* messages one direction may carry */
#define FAULT_TEXT_MAX	48	/* bytes of a message text kept */

/* Sides of a fault_chat. */
#define FAULT_R		0	/* the requester */
#define FAULT_S		1	/* the supporter */

/* ---- one direction of a conversation ------------------------------------ */

struct fault_msg {
	uint64_t	 seq;
	char		 text[FAULT_TEXT_MAX];
};

/* What one side sent (as peerd stamped it) and the other side received. */
struct fault_dir {
	struct fault_msg sent[FAULT_MSGS_MAX];
	size_t		 nsent;
	struct fault_msg got[FAULT_MSGS_MAX];
	size_t		 ngot;
	size_t		 dups;		/* received with a seq not above
					   the last one received:
					   duplicated or out of order */
};

/* Record a message peerd accepted with seq.  Returns 0, -1 when full. */
int		 fault_dir_sent(struct fault_dir *d, uint64_t seq,
		     const char *text);

/*
 * Record a message received with seq; one whose seq is not above the last
 * received counts in d->dups (and is kept, so the dump shows it).
 * Returns 0, -1 when full.
 */
int		 fault_dir_got(struct fault_dir *d, uint64_t seq,
		     const char *text);

/*
 * Compare what was received with what was sent: the same messages, same
 * seqs and texts, in order, none twice.  Prints one line of figures under
 * label (and both lists when they differ).  Returns 0 or -1.
 */
int		 fault_dir_check(const struct fault_dir *d,
		     const char *label);

/* ---- a conversation between two tclients ------------------------------ */

struct fault_chat {
	uint64_t	 conv;
	struct tclient	*c[2];		/* FAULT_R, FAULT_S */
	uint64_t	 cmid[2];	/* last client_msg_id used */
	uint64_t	 acked[2];	/* last seq each side acknowledged */
	struct fault_dir dir[2];	/* dir[i]: sent by side i */
};

/* Start a ledger for conv between requester r and supporter s. */
struct fault_chat *fault_chat_new(uint64_t conv, struct tclient *r,
		     struct tclient *s);

/*
 * Connect a new requester to world w, match it with supporter s (who must
 * be available) and start a ledger for their conversation; the requester
 * is fc->c[FAULT_R], for the caller to free.  Returns NULL on failure.
 */
struct fault_chat *fault_chat_match(struct world *w, struct tclient *s);

/* Free the ledger (not the clients).  NULL is fine. */
void		 fault_chat_free(struct fault_chat *fc);

/*
 * Side sends n messages "<label> <r|s><number>" pipelined (all written
 * before any reply is read), then reads the n MessageAccepted replies and
 * records their seqs.  Returns 0, or -1 if one was refused or missing.
 */
int		 fault_chat_say(struct fault_chat *fc, int side,
		     const char *label, int n);

/*
 * Receive on both sides until each has every message the other sent, and
 * acknowledge them (Delivered).  Returns 0, or -1 after timeout_ms
 * without progress.
 */
int		 fault_chat_drain(struct fault_chat *fc, int timeout_ms);

/*
 * One round both ways: the requester says n messages "<label> r<number>",
 * the supporter n "<label> s<number>", then both drain within
 * PEOPLE_PUSH_MS.  Returns 0, or -1 if a message was refused or missing.
 */
int		 fault_chat_exchange(struct fault_chat *fc, const char *label,
		     int n);

/*
 * Take every ChatMessage of the conversation already queued on side or
 * arriving within timeout_ms (none waited for: 0 reads only what is
 * there).  Returns how many were taken.
 */
int		 fault_chat_take(struct fault_chat *fc, int side,
		     int timeout_ms);

/*
 * Listen quiet_ms more on both sides for extra copies, then check both
 * directions with fault_dir_check.  Returns 0 or -1.
 */
int		 fault_chat_check(struct fault_chat *fc, const char *label,
		     int quiet_ms);

/*
 * Run c's loop for ms milliseconds without taking anything (its keepalive
 * Pings go out; arriving envelopes stay queued).
 */
void		 fault_spin(struct tclient *c, int ms);

/* ---- peerd's resources --------------------------------------------------- */

/* Return how many file descriptors process pid has open, or -1. */
int		 fault_proc_fds(pid_t pid);

/*
 * Starve peerd of descriptors: lower its RLIMIT_NOFILE to what it has
 * open (the limit before goes to *old) and open TCP connections to its
 * TLS port into fds (at most max - 1) until it logs event=accept_failed.
 * Returns how many are open, or -1.
 */
int		 fault_starve_fds(struct harness *h, struct rlimit *old,
		     int *fds, int max);

/* Give peerd its limit old back and close the n fds. */
void		 fault_unstarve_fds(struct harness *h, const struct rlimit *old,
		     const int *fds, int n);

/* Return process pid's resident set (VmRSS) in KiB, or -1. */
long		 fault_proc_rss_kib(pid_t pid);

/* ---- Redis ------------------------------------------------------------ */

/*
 * Run one command (printf-like, hiredis formatting) against the harness's
 * Redis and write the reply to out as text: a string or status as is, an
 * integer in decimal, an array as its elements sorted and joined by
 * spaces, nil as "(nil)".  Returns 0, or -1 (no Redis, error reply).
 */
int		 fault_redis(struct harness *h, char *out, size_t len,
		     const char *fmt, ...);

/* SIGKILL Redis (no shutdown, no save) and reap it.  Returns 0 or -1. */
int		 fault_redis_kill(struct harness *h);

/* ---- TLS clients with their socket in reach --------------------------- */

/* A client TLS context trusting ca_file (name checked: localhost). */
SSL_CTX		*fault_tls_ctx(const char *ca_file);

/* A TLS connection made with fault_tls_open. */
struct fault_tls {
	int	 fd;
	SSL	*ssl;
};

/*
 * Connect to 127.0.0.1:port and finish the TLS handshake within
 * HARNESS_IO_MS.  Returns NULL on failure.
 */
struct fault_tls *fault_tls_open(SSL_CTX *ctx, int port);

/* Write all of buf through TLS within HARNESS_IO_MS.  Returns 0 or -1. */
int		 fault_tls_write(struct fault_tls *t, const void *buf,
		     size_t len);

/* Send a requester Hello and wait for the Welcome.  Returns 0 or -1. */
int		 fault_tls_hello(struct fault_tls *t);

/*
 * Wait up to timeout_ms for the server to close the connection (EOF,
 * reset, close_notify or a TLS error), discarding what it sends.
 * Returns 0 once closed, -1 on timeout.
 */
int		 fault_tls_wait_closed(struct fault_tls *t, int timeout_ms);

/* Close the socket without close_notify and free.  NULL is fine. */
void		 fault_tls_free(struct fault_tls *t);

/*
 * Write the TLS ClientHello a client made with ctx would send first (one
 * record, produced in memory: nothing is connected) into buf.  Returns
 * its length, or 0 if it does not fit or OpenSSL failed.
 */
size_t		 fault_client_hello(SSL_CTX *ctx, uint8_t *buf,
		     size_t len);

/* Close fd with a RST instead of a FIN (SO_LINGER 0). */
void		 fault_close_rst(int fd);

#endif
