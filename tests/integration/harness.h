/*
 * harness.h -- integration test harness: a real redis-server and a real
 * peerd on free loopback ports, certificates in a fresh temp dir, a
 * synchronous client on libpeerclient, raw sockets for hostile tests and a
 * tiny HTTP GET for the admin port.
 *
 * Everything is bounded in time and listens on 127.0.0.1 only.  Processes
 * are stopped by PID (SIGTERM, then SIGKILL) and also get PR_SET_PDEATHSIG,
 * so nothing outlives a test binary that crashes.
 *
 * Environment (set by `make test`): PEERD_BIN, PEER_BIN, PEERCTL_BIN,
 * PEERD_SRC (the repository root).  HARNESS_VERBOSE=1 prints peerd's log
 * at teardown; HARNESS_KEEP=1 keeps the temp dir (remove it yourself).
 * PEERD_WRAPPER (set by `make memcheck`) is a command peerd runs under,
 * split on blanks, e.g.
 * "valgrind --error-exitcode=99 --log-file=%q{PEERD_TEST_DIR}/valgrind.%p.log";
 * peerd's environment has PEERD_TEST_DIR, the temp dir.  HARNESS_SLOW=N
 * (1..100, default 1) multiplies the harness's waits below, for a peerd
 * that slow.
 *
 * Teardown is a check: harness_teardown() fails the test when a sanitizer
 * (ASan, LSan, UBSan) reported anything in any file of the temp dir (peerd's
 * log, the children's stderr), when a valgrind log there shows errors or
 * definite or indirect leaks, when peerd crashed or exited with valgrind's
 * error code 99, or when a peerd the harness stopped with SIGTERM did not
 * exit 0 in time.
 *
 * A test file usually reads:
 *
 *	static int setup(void **state)
 *	{ return (harness_setup(state, HARNESS_REDIS, "hello_timeout 1\n")); }
 *
 *	static void test_x(void **state)
 *	{
 *		struct harness	*h = *state;
 *		struct tclient	*c = tclient_connect(h);
 *		...
 *	}
 *	... cmocka_unit_test_setup_teardown(test_x, setup, harness_teardown)
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "peerclient.h"

/*
 * Waits in ms, each times harness_slow(): HARNESS_START_MS for peerd or
 * Redis to listen, HARNESS_STOP_MS after SIGTERM before SIGKILL,
 * HARNESS_IO_MS for a reply due at once.
 */
#define HARNESS_START_MS	(10000 * harness_slow())
#define HARNESS_STOP_MS		(5000 * harness_slow())
#define HARNESS_IO_MS		(3000 * harness_slow())
#define HARNESS_SLOW_MAX	100	/* largest HARNESS_SLOW honoured */
#define HARNESS_PATH		PATH_MAX

/* Flags for harness_setup(). */
#define HARNESS_REDIS		0x1	/* start Redis before peerd */
#define HARNESS_NO_PEERD	0x2	/* do not start peerd (the test will) */

struct harness {
	char		 dir[HARNESS_PATH];	/* fresh temp dir */
	char		 conf[HARNESS_PATH];	/* dir/peerd.conf */
	char		 log[HARNESS_PATH];	/* dir/peerd.log (stderr) */
	char		 redis_log[HARNESS_PATH]; /* dir/redis.log */
	char		 ca[HARNESS_PATH];	/* dir/ca.pem */
	char		 cert[HARNESS_PATH];	/* dir/server.pem */
	char		 key[HARNESS_PATH];	/* dir/server.key */

	const char	*src;			/* $PEERD_SRC */
	const char	*peerd_bin;		/* $PEERD_BIN */
	const char	*peer_bin;		/* $PEER_BIN (may be NULL) */
	const char	*peerctl_bin;		/* $PEERCTL_BIN (may be NULL) */

	int		 port;			/* peerd TLS port */
	int		 admin_port;		/* peerd admin HTTP port */
	int		 redis_port;		/* in the config even while
						   Redis is down */
	pid_t		 peerd_pid;		/* -1 when not running */
	pid_t		 redis_pid;		/* -1 when not running */
	int		 peerd_status;		/* wait status of the last peerd
						   reaped, -1 before */
	char		*extra;			/* last extra config lines */
	char		 unclean[256];		/* why a peerd run was not
						   clean ("" while all were) */
	int		 peerd_asked;		/* a test sent it SIGTERM or
						   SIGINT: it is stopping */
	char		 redis_password[128];	/* Redis's requirepass from
						   the next harness_redis_start
						   ("" by default: none) */
};

/*
 * Return the factor waits are scaled by: $HARNESS_SLOW (1..HARNESS_SLOW_MAX),
 * 1 when unset or invalid.
 */
int		 harness_slow(void);

/*
 * Skip the running cmocka test (printing why) when harness_slow() > 1: for
 * the few tests whose timing a peerd under valgrind cannot keep.
 */
void		 harness_skip_if_slow(const char *why);

/* ---- harness.c: environment, processes, logs ---------------------------- */

/*
 * Make a temp dir with certificates (deploy/gen-dev-certs.sh) and pick free
 * ports; start nothing.  Returns NULL (after printing why) if PEERD_SRC is
 * unset or the dir or certificates cannot be made.
 */
struct harness	*harness_new(void);

/* Stop peerd and Redis, remove the temp dir, free h.  NULL is fine. */
void		 harness_free(struct harness *h);

/*
 * Stop peerd and Redis, then look for what makes the run unclean (see the
 * top of this file) and print each finding with the report's text.
 * Returns 0 when clean (or h is NULL), -1 otherwise.
 */
int		 harness_check(struct harness *h);

/*
 * Start redis-server on h->redis_port and wait until it listens; with
 * h->redis_password set, it starts with --requirepass that password.
 * Before peerd has started, a taken port is replaced by a fresh one.
 * Returns 0, or -1 (already running, exec failed, or not listening in
 * time).
 */
int		 harness_redis_start(struct harness *h);

/*
 * Connect to h's Redis (hiredis, synchronous, HARNESS_IO_MS for the
 * connect and each reply) and AUTH with h->redis_password if it is set.
 * Returns the context (redisFree() it), or NULL after printing why.
 */
struct redisContext;
struct redisContext *harness_redis_connect(struct harness *h);

/* Stop Redis (SIGTERM, SIGKILL after HARNESS_STOP_MS).  Returns 0 or -1. */
int		 harness_redis_stop(struct harness *h);

/*
 * Write h->conf (listen, admin_listen, tls_cert, tls_key, redis, log_level
 * debug, node_id, then the extra lines, which may be NULL), start $PEERD_BIN
 * -c h->conf with stdout and stderr appended to h->log, and wait until the
 * TLS port listens.  With Redis running, wait also (HARNESS_START_MS at
 * most) until peerd has read the revocation list or logged why it cannot
 * (redis_down, redis_auth_failed): until it has, peerd tells supporters
 * TRY_LATER.  A start that fails while the ports were taken retries on
 * fresh ports.  Returns 0, or -1 after printing the log's tail.
 */
int		 harness_peerd_start(struct harness *h, const char *extra);

/* Send sig to peerd.  Returns 0, or -1 if it is not running. */
int		 harness_peerd_signal(struct harness *h, int sig);

/*
 * Wait up to timeout_ms for peerd to exit; reaps it and sets
 * h->peerd_status.  Returns 0 when it exited, -1 on timeout.
 */
int		 harness_peerd_wait(struct harness *h, int timeout_ms);

/* Return 1 if peerd is still running (reaping it if it just exited). */
int		 harness_peerd_alive(struct harness *h);

/*
 * Stop peerd: SIGTERM, SIGKILL after HARNESS_STOP_MS; when a test has
 * already sent SIGTERM or SIGINT through harness_peerd_signal(), first
 * wait HARNESS_STOP_MS for that shutdown (a second signal makes peerd
 * leave at once, and one landing after its loop has ended kills it).  A
 * peerd that does not exit 0 makes the run unclean (h->unclean).  Returns
 * 0 or -1.
 */
int		 harness_peerd_stop(struct harness *h);

/* Return 1 if peerd's log contains needle, else 0. */
int		 harness_log_contains(struct harness *h, const char *needle);

/* Return how many times needle occurs in peerd's log. */
int		 harness_log_count(struct harness *h, const char *needle);

/*
 * Wait up to timeout_ms for needle to appear in peerd's log.  Returns 0
 * when it did, -1 on timeout.
 */
int		 harness_log_wait(struct harness *h, const char *needle,
		     int timeout_ms);

/* Print the last lines of peerd's log to stderr (for failing tests). */
void		 harness_log_dump(struct harness *h);

/*
 * Make another, unrelated CA (and server certificate) in dir/NAME with the
 * same script; write the path of its ca.pem to out.  Returns 0 or -1.
 */
int		 harness_make_ca(struct harness *h, const char *name, char *out,
		     size_t outlen);

/*
 * Run argv (argv[0] looked up in PATH unless it has a slash) to completion
 * within timeout_ms, stdout and stderr appended to dir/commands.log.
 * Returns its exit code, or -1 (exec failed, killed, or too slow).
 */
int		 harness_run_cmd(struct harness *h, char *const argv[],
		     int timeout_ms);

/*
 * Read the start of a (small) file into buf, at most len - 1 bytes, as a
 * string; "" if it is missing.  Returns buf.
 */
char		*harness_read_file(const char *path, char *buf, size_t len);

/* harness_read_file of dir/commands.log (harness_run_cmd's output). */
char		*harness_commands_log(struct harness *h, char *buf,
		     size_t len);

/*
 * cmocka setup: harness_new(), then Redis if flags has HARNESS_REDIS, then
 * peerd with extra config lines unless HARNESS_NO_PEERD.  *state is the
 * struct harness.  Returns 0, or -1 (cmocka then skips the test, failed).
 */
int		 harness_setup(void **state, int flags, const char *extra);

/*
 * cmocka teardown: harness_check(*state), then harness_free(*state).
 * Returns 0, or -1 (cmocka then reports the test as an error) when the
 * check found something.
 */
int		 harness_teardown(void **state);

/* Milliseconds on the monotonic clock. */
int64_t		 harness_now_ms(void);

/* Sleep ms milliseconds. */
void		 harness_msleep(int ms);

/* Return 1 if something listens on 127.0.0.1:port (TCP), else 0. */
int		 harness_port_listening(int port);

/* ---- tclient.c: a synchronous client on libpeerclient ------------------- */

/*
 * The client owns a private event_base and runs it only inside the calls
 * below (event_base_loop(EVLOOP_ONCE) with a timer), so tests read
 * linearly.  Envelopes that arrive are queued until a tclient_recv() takes
 * them.
 */
struct tclient;

/*
 * Start connecting to 127.0.0.1:port trusting ca_file and verifying
 * verify_name (NULL: "localhost"); does not wait.  Returns NULL if the
 * connect could not even start (reason printed).
 */
struct tclient	*tclient_open(int port, const char *ca_file,
		     const char *verify_name);

/*
 * Wait up to timeout_ms for TLS to be up.  Returns 0 when connected, -1 if
 * the connection closed (see tclient_reason()) or time ran out.
 */
int		 tclient_wait_connected(struct tclient *c, int timeout_ms);

/* Open to h's peerd with h's CA, wait HARNESS_IO_MS.  NULL on failure. */
struct tclient	*tclient_connect(struct harness *h);

/* Send env as one frame.  Returns a PEERCLIENT_* code. */
int		 tclient_send(struct tclient *c, const Envelope *env);

/* Send Hello{version 1, role}.  Returns the envelope id used, 0 on error. */
uint64_t	 tclient_send_hello(struct tclient *c, Peerd__V1__Role role);

/*
 * Send Hello{role} and wait for the reply.  Returns the envelope (a
 * Welcome, or an Error if peerd refused), or NULL on timeout or close.
 * Free it with frame_free().
 */
Envelope	*tclient_hello(struct tclient *c, Peerd__V1__Role role,
		     int timeout_ms);

/* Send Ping{nonce}.  Returns the envelope id used, 0 on error. */
uint64_t	 tclient_send_ping(struct tclient *c, uint64_t nonce);

/*
 * Wait up to timeout_ms for the next envelope; body is a
 * PEERD__V1__ENVELOPE__BODY_* value, or 0 for any.  With a body given,
 * earlier envelopes of other kinds stay queued.  Returns the envelope
 * (free it with frame_free()), or NULL on timeout or close.
 */
Envelope	*tclient_recv(struct tclient *c, int body, int timeout_ms);

/* A predicate on envelopes for tclient_recv_if(). */
typedef int (*tclient_match)(const Envelope *env, void *arg);

/*
 * Wait up to timeout_ms for the first envelope match(env, arg) accepts;
 * others stay queued.  Returns it (frame_free()), or NULL on timeout or
 * close.
 */
Envelope	*tclient_recv_if(struct tclient *c, tclient_match match,
		     void *arg, int timeout_ms);

/*
 * Wait up to timeout_ms for the envelope answering request id (Envelope.id
 * == id, which must not be 0); envelopes with other ids stay queued.
 * Returns it (frame_free()), or NULL on timeout or close.
 */
Envelope	*tclient_recv_id(struct tclient *c, uint64_t id, int timeout_ms);

/* Return how many envelopes are queued unread. */
size_t		 tclient_queued(struct tclient *c);

/*
 * Run c's loop until everything sent has been written to the socket (the
 * loop runs only inside tclient calls, so a frame sent with nothing waited
 * for afterwards would otherwise sit in the output buffer).  Returns 0, or
 * -1 if the connection closed or timeout_ms passed first.
 */
int		 tclient_flush(struct tclient *c, int timeout_ms);

/* Return queued envelope i (0 = oldest) without taking it, or NULL. */
const Envelope	*tclient_peek(struct tclient *c, size_t i);

/*
 * Wait up to timeout_ms for the connection to close.  Returns 0 once it is
 * closed (queued envelopes stay readable), -1 on timeout.
 */
int		 tclient_wait_closed(struct tclient *c, int timeout_ms);

/* Return 1 once the connection has closed, else 0. */
int		 tclient_closed(struct tclient *c);

/* Return why the connection closed (valid once tclient_closed()). */
enum peerclient_reason tclient_reason(struct tclient *c);

/* Return the close detail text ("" before a close). */
const char	*tclient_detail(struct tclient *c);

/* Return the underlying libpeerclient handle. */
struct peerclient *tclient_pc(struct tclient *c);

/* Drop the connection and free everything.  NULL is fine. */
void		 tclient_free(struct tclient *c);

/* ---- raw.c: hostile peers and the admin port ---------------------------- */

/* Connect a plain TCP socket to 127.0.0.1:port.  Returns the fd or -1. */
int		 raw_tcp_connect(int port);

/* Write all of buf to a plain socket.  Returns 0 or -1. */
int		 raw_tcp_send(int fd, const void *buf, size_t len);

/*
 * Wait up to timeout_ms for the peer to close a plain socket (EOF or
 * reset), discarding what it sends.  Returns 0 when closed, -1 on timeout.
 */
int		 raw_tcp_wait_closed(int fd, int timeout_ms);

/* A TLS connection whose bytes the test writes itself. */
struct raw_tls;

/*
 * Connect to 127.0.0.1:port and finish a TLS handshake (verifying the
 * server against ca_file, SNI localhost) within HARNESS_IO_MS.  Returns
 * NULL on failure.
 */
struct raw_tls	*raw_tls_connect(int port, const char *ca_file);

/* Write len arbitrary bytes.  Returns 0, or -1 (closed, timeout, error). */
int		 raw_tls_write(struct raw_tls *t, const void *buf, size_t len);

/* Write a 4-byte big-endian frame header declaring len.  As raw_tls_write. */
int		 raw_tls_send_header(struct raw_tls *t, uint32_t len);

/* Write env as one frame (no limit but the codec's).  As raw_tls_write. */
int		 raw_tls_send(struct raw_tls *t, const Envelope *env);

/*
 * Wait up to timeout_ms for one whole frame.  Returns it (frame_free()),
 * or NULL on timeout, close, or a frame that does not decode.
 */
Envelope	*raw_tls_recv(struct raw_tls *t, int timeout_ms);

/*
 * Wait up to timeout_ms for the server to close (close_notify, EOF or
 * reset); received bytes stay buffered for raw_tls_recv().  Returns 0 when
 * closed, -1 on timeout.
 */
int		 raw_tls_wait_closed(struct raw_tls *t, int timeout_ms);

/* Close and free.  NULL is fine. */
void		 raw_tls_free(struct raw_tls *t);

/*
 * GET path from 127.0.0.1:port over plain HTTP/1.0 within timeout_ms.
 * Copies up to bodylen-1 bytes of the body to body (NUL-terminated; body
 * may be NULL).  Returns the HTTP status, or -1 on failure.
 */
int		 raw_http_get(int port, const char *path, char *body,
		     size_t bodylen, int timeout_ms);

/*
 * Poll GET /healthz on port until it answers want or timeout_ms passes;
 * the last body goes to body as with raw_http_get.  Returns the last
 * status seen.
 */
int		 raw_healthz_wait(int port, int want, char *body,
		     size_t bodylen, int timeout_ms);

#endif
