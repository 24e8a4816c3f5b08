/*
 * load.h -- the load generator behind bench_relay: peerd against mosquitto
 * (and openssl s_server) on loopback, driven by one single-threaded
 * libevent loop over TLS.
 *
 * Pieces, one file each:
 *
 *   loop.c      the one event base; run it until a condition holds
 *   proc.c      child processes (PR_SET_PDEATHSIG, stopped by PID), free
 *               ports, /proc CPU time and RSS, the temp dir
 *   srv.c       redis-server + peerd, mosquitto, openssl s_server: configs,
 *               start, stop, Redis INFO
 *   creds.c     the organisation key made at start, credentials signed
 *               in-process
 *   tconn.c     one TLS client connection (TCP_NODELAY, rotating
 *               127.0.0.x source addresses, server certificate verified)
 *   ep.c        an endpoint: a tconn speaking peerd frames (proto/frame.c)
 *               or MQTT 3.1.1, behind one set of callbacks
 *   mqtt.c      the MQTT 3.1.1 encoder and decoder (CONNECT, SUBSCRIBE,
 *               PUBLISH QoS 1, PUBACK)
 *   pairs.c     requester-supporter pairs (or MQTT client pairs), the
 *               in-flight window, ping-pong, draining
 *   scen_*.c    one scenario each
 *
 * Everything binds or connects to 127.0.0.x only, and every wait has a
 * deadline.
 */
#ifndef LOAD_H
#define LOAD_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "peer.pb-c.h"

struct bufferevent;
struct event;
struct event_base;
struct evbuffer;

#define LOAD_PATH		PATH_MAX
#define LOAD_SRC_ADDRS		16	/* client source addresses 127.0.0.1-16 */
#define LOAD_NOFILE		131072	/* descriptors for us and the servers */
#define LOAD_START_MS		15000	/* ms, for a server to listen */
#define LOAD_STOP_MS		5000	/* ms, after SIGTERM before SIGKILL */
#define LOAD_IDX_LEN		16	/* bytes, hex message index heading
					   each message */
#define LOAD_MSG_MAX		65536	/* bytes, largest message size */
#define LOAD_FRAME_MAX		(1024 * 1024) /* bytes, a frame body read */

/* Options and paths of this run (bench_relay.c). */
struct bench {
	/* where things are */
	const char	*peerd_bin;
	const char	*src;		/* repository root */
	const char	*mosquitto_bin;
	const char	*redis_bin;
	const char	*openssl_bin;
	char		 dir[LOAD_PATH];	/* temp dir */
	char		 ca[LOAD_PATH];
	char		 cert[LOAD_PATH];
	char		 key[LOAD_PATH];
	char		 pub[LOAD_PATH];	/* signing public key */
	char		 secret[LOAD_PATH];	/* requester secret */

	/* what to run */
	double		 seconds;	/* measured window of a timed round */
	double		 warmup;	/* seconds before each window */
	int		 rounds;	/* timed rounds per server, median kept */
	int		 pairs;
	int		 window;	/* messages in flight per pair */
	int		 sizes[4];
	int		 nsizes;
	int		 rtts;		/* latency round trips per server */
	int		 conns;		/* idle connections */
	int		 supporters;	/* presence churn */
	int		 changes;	/* availability changes a second */
	int		 run_peerd;
	int		 run_other;	/* mosquitto / s_server */
	int		 verbose;
	int		 keep;
	const char	*dump_rtt;	/* file for every round trip, or NULL */
};
extern struct bench	 bench;

/* ---- loop.c ---- */

extern struct event_base *loop_base;

int		 loop_init(void);
void		 loop_free(void);
/*
 * Run the loop until cond(arg) is true or timeout_ms passes.  Returns 0
 * once the condition holds, -1 on timeout.
 */
int		 loop_until(int (*cond)(void *), void *arg, int timeout_ms);
/* Run the loop for ms milliseconds. */
void		 loop_run_for(int ms);
int64_t		 loop_now_ns(void);
double		 loop_now_s(void);

/* ---- proc.c ---- */

/*
 * Fork and exec argv (looked up in PATH unless it has a slash) with
 * RLIMIT_NOFILE raised, stdin from /dev/null, stdout and stderr appended
 * to logpath, dying with us.  Remembered until proc_stop.  Returns the
 * pid or -1.
 */
pid_t		 proc_spawn(char *const argv[], const char *logpath);
/* SIGTERM, wait, SIGKILL, reap; *pid becomes -1.  Returns 0 or -1. */
int		 proc_stop(pid_t *pid);
/* Reap *pid if it exited (then *pid is -1).  Returns 1 while it lives. */
int		 proc_alive(pid_t *pid);
/* Run argv to completion within timeout_ms.  Returns its exit code. */
int		 proc_run(char *const argv[], const char *logpath,
		     int timeout_ms);
/* Wait until pid listens on 127.0.0.1:port.  Returns 0 or -1. */
int		 proc_wait_listen(pid_t *pid, int port, int timeout_ms);
/* A port nobody had bound a moment ago and not in avoid[n], or -1. */
int		 proc_free_port(const int *avoid, int n);
/* utime + stime of pid, in microseconds, or -1. */
int64_t		 proc_cpu_us(pid_t pid);
/*
 * Read and write system calls (/proc/PID/io syscr + syscw) and minor page
 * faults (/proc/PID/stat minflt) of pid so far.  Returns 0 or -1.
 */
int		 proc_counters(pid_t pid, uint64_t *syscalls, uint64_t *minflt);
/* Our own utime + stime, in microseconds. */
int64_t		 proc_self_cpu_us(void);
/* VmRSS of pid in KiB, or -1. */
long		 proc_rss_kb(pid_t pid);
/* Kill every child still known (signal handlers, atexit). */
void		 proc_kill_all(void);
/* Install SIGINT/SIGTERM/SIGALRM handlers and the run's deadline. */
void		 proc_guard(int deadline_s);
/* Raise our RLIMIT_NOFILE toward LOAD_NOFILE.  Returns the soft limit. */
long		 proc_raise_nofile(void);
/* Make bench.dir (sweeping those of dead runs).  Returns 0 or -1. */
int		 proc_tmpdir(void);
/* Remove bench.dir unless bench.keep. */
void		 proc_tmpdir_remove(void);
/* Join bench.dir and name into out (LOAD_PATH bytes).  0 or -1. */
int		 proc_path(char *out, const char *name);
/* Print the last lines of a log file on stderr. */
void		 proc_log_tail(const char *path, int lines);

/* ---- srv.c ---- */

enum srv_kind { SRV_PEERD, SRV_MOSQUITTO, SRV_S_SERVER };

struct srv {
	enum srv_kind	 kind;
	pid_t		 pid;
	int		 port;
	pid_t		 redis_pid;	/* peerd only */
	int		 redis_port;
	int		 admin_port;
	char		 conf[LOAD_PATH];
	char		 log[LOAD_PATH];
	char		 redis_log[LOAD_PATH];
};

/* Start the server (peerd with its own redis-server).  Returns 0 or -1. */
int		 srv_start(struct srv *, enum srv_kind, const char *tag);
/* Stop what srv_start started; also after a failed start. */
void		 srv_stop(struct srv *);
/* Return "peerd", "mosquitto" or "s_server". */
const char	*srv_name(const struct srv *);
/* Server CPU (utime + stime) in microseconds, or -1. */
int64_t		 srv_cpu_us(const struct srv *);
/* Server VmRSS in KiB, or -1. */
long		 srv_rss_kb(const struct srv *);
/* Return 0 if the server process still runs, else -1 (and say so). */
int		 srv_check(struct srv *);
/* Redis INFO stats total_commands_processed into *n.  Returns 0 or -1. */
int		 srv_redis_commands(const struct srv *, uint64_t *n);
/* Read peerd's option table (peerd --help).  Returns 0 or -1. */
int		 srv_probe_peerd(void);
/* Return the largest value peerd allows for option name, 0 if unknown. */
long		 srv_peerd_option_max(const char *name);

/* ---- creds.c ---- */

struct cred {
	uint8_t		*buf;
	size_t		 len;
};

/* Make the signing key, write bench.pub and bench.secret.  0 or -1. */
int		 creds_init(void);
void		 creds_free(void);
/* Sign a supporter credential for id (capacity 1).  0 or -1. */
int		 creds_make(struct cred *, const char *id);
void		 creds_clear(struct cred *);

/* ---- tconn.c ---- */

struct tconn;

struct tconn_ops {
	void	(*up)(struct tconn *);			/* TLS is up */
	void	(*read)(struct tconn *, struct evbuffer *);
	void	(*closed)(struct tconn *, const char *why); /* not after
							   tconn_close */
};

struct tconn {
	const struct tconn_ops	*ops;
	void			*arg;
	int			 fd;
	struct event		*ev_connect;
	struct bufferevent	*bev;
	int			 up;
	int64_t			 started_ns;
};

/* Build the client TLS context trusting ca_file.  Returns 0 or -1. */
int		 tconn_init(const char *ca_file);
void		 tconn_shutdown(void);
/*
 * Start connecting to 127.0.0.1:port from the next source address.
 * Returns 0 (the outcome comes through ops) or -1 at once.
 */
int		 tconn_open(struct tconn *, int port, const struct tconn_ops *,
		     void *arg);
/* Drop the connection at once; no callback follows.  Idempotent. */
void		 tconn_close(struct tconn *);
/* The output buffer (the connection must be up or connecting TLS). */
struct evbuffer	*tconn_output(struct tconn *);
/* Bytes queued and not written yet. */
size_t		 tconn_pending(const struct tconn *);
/* Negotiated "TLSv1.3 TLS_AES_256_GCM_SHA384", or "?". */
const char	*tconn_describe(const struct tconn *, char *buf, size_t len);
/* Nonzero if the TLS session was resumed. */
int		 tconn_resumed(const struct tconn *);

/* ---- ep.c ---- */

enum ep_kind { EP_PEERD, EP_MQTT };
enum ep_state { EP_IDLE, EP_CONNECTING, EP_READY, EP_CLOSED };

struct ep;

/* What an endpoint reports; every member may be NULL. */
struct ep_ops {
	void	(*ready)(struct ep *);	/* Welcome; CONNACK (+ SUBACK) */
	void	(*msg)(struct ep *, uint64_t idx); /* a message for us */
	void	(*ack)(struct ep *);	/* MessageAccepted / PUBACK */
	void	(*matched)(struct ep *);	/* peerd Matched */
	void	(*ok)(struct ep *);		/* peerd Ok */
	void	(*closed)(struct ep *, const char *why);
};

struct ep {
	struct tconn		 tc;
	enum ep_kind		 kind;
	enum ep_state		 state;
	const struct ep_ops	*ops;
	void			*arg;
	int			 side;		/* 0 or 1 within a pair */
	uint32_t		 index;

	/* peerd */
	Peerd__V1__Role		 role;
	const struct cred	*cred;
	uint64_t		 next_id;	/* envelope ids */
	uint64_t		 conv;		/* conversation id */
	uint64_t		 next_msg_id;	/* client_msg_id */
	uint64_t		 seq_out;	/* last seq stamped on ours */
	uint64_t		 delivered;	/* last Delivered seen for ours */
	int			 auto_accept;	/* supporter: accept offers */
	struct event		*ev_ping;	/* keepalive while READY */
	int64_t			 last_send_ns;
	int			 keepalive_s;	/* Welcome.limits.keepalive_s */

	/* MQTT */
	char			 client_id[32];
	char			 topic_in[32];	/* subscribed; "" for none */
	char			 topic_out[32];
	uint16_t		 next_pid;
};

/* Problems seen on any endpoint, for the report. */
struct ep_stats {
	uint64_t	 errors;	/* peerd Error frames, MQTT refusals */
	uint64_t	 rate_limited;	/* RATE_LIMITED */
	uint64_t	 retransmit;	/* MessageAccepted with seq 0 */
	uint64_t	 closed;	/* connections lost unexpectedly */
	uint64_t	 unexpected;	/* frames or packets not expected */
	uint64_t	 bad_offer;	/* offers we could not accept */
	uint32_t	 last_error;	/* last peerd error code */
	char		 last_close[160];
};
extern struct ep_stats	 ep_stats;

/* Zero the endpoint and set what it is. */
void		 ep_init(struct ep *, enum ep_kind, const struct ep_ops *,
		     void *arg);
/*
 * Connect to port.  peerd: TLS, then Hello as ep->role (with ep->cred
 * for a supporter).  MQTT: TLS, CONNECT as ep->client_id, SUBSCRIBE to
 * ep->topic_in at QoS 1 unless it is empty.  ops->ready follows.
 * Returns 0 or -1.
 */
int		 ep_open(struct ep *, int port);
void		 ep_close(struct ep *);
/* Send message idx of size bytes (ChatMessage or PUBLISH QoS 1).  0/-1. */
int		 ep_send(struct ep *, uint64_t idx, size_t size);
/* peerd: RequestPeer with no tags. */
int		 ep_request_peer(struct ep *);
/* peerd: SetAvailability{status, capacity 0}. */
int		 ep_set_availability(struct ep *, Peerd__V1__SupporterStatus);
/* Fill the message template to LOAD_MSG_MAX bytes (once). */
void		 ep_text_init(void);
/* Read the index heading a message, or UINT64_MAX. */
uint64_t	 ep_text_index(const uint8_t *p, size_t len);
/* The message template with idx written into its head; NUL at size. */
char		*ep_text(uint64_t idx, size_t size);

/* ---- mqtt.c ---- */

/* Queue CONNECT (clean session, keepalive off).  0 or -1. */
int		 mqtt_connect(struct ep *);
int		 mqtt_subscribe(struct ep *);
int		 mqtt_publish(struct ep *, const void *payload, size_t len);
/* Handle every whole packet in in. */
void		 mqtt_read(struct ep *, struct evbuffer *in);

/* ---- pairs.c ---- */

struct pair_dir {
	uint64_t	 sent;		/* messages sent this way */
	uint64_t	 got;		/* ... the receiver has */
	uint64_t	 acked;		/* ... the sender has the server's ack */
};

struct pairs;

struct pair {
	struct ep	*ep[2];		/* peerd: 0 requester, 1 supporter */
	struct pair_dir	 dir[2];	/* dir[d]: sent by ep[d] */
};

enum pairs_mode { PAIRS_QUIET, PAIRS_RELAY, PAIRS_PINGPONG };

struct pairs {
	struct srv	*srv;
	struct pair	*pair;
	int		 n;
	struct ep	*eps;		/* 2n: endpoints, owned here */
	struct cred	*creds;		/* n: peerd supporters' */
	enum pairs_mode	 mode;
	size_t		 size;		/* bytes a message */
	int		 window;	/* in flight per direction */
	int		 sending;	/* 0 once draining */
	uint64_t	 done;		/* messages the receiver has and the
					   sender has its ack for */
	uint64_t	 order_errors;	/* message arrived out of order */

	/* set-up bookkeeping */
	int		 ready, oks, matched, lost;

	/* ping-pong */
	int64_t		 ping_ns;	/* when the outstanding ping left */
	uint64_t	 pings;		/* round trips wanted */
	uint64_t	 pongs;		/* round trips done */
	int64_t		*rtt_ns;	/* pongs of them */
	struct pairs	*alt;		/* takes turns with this set */
};

/* Bring up n pairs on srv through the real flow.  Returns 0 or -1. */
int		 pairs_setup(struct pairs *, struct srv *, int n);
void		 pairs_free(struct pairs *);
/* Start relaying size-byte messages, window in flight per pair. */
void		 pairs_relay_start(struct pairs *, size_t size, int window);
/* Stop sending; wait until everything sent is done.  Returns 0 or -1. */
int		 pairs_drain(struct pairs *, int timeout_ms);
/*
 * Ping-pong on pair 0 of a (and of b, if not NULL, taking turns round trip
 * by round trip, so that both see the same moments of the machine): n
 * round trips each of size bytes, RTTs (ns) into rtt_a and rtt_b.
 * Returns 0 or -1.
 */
int		 pairs_pingpong(struct pairs *a, struct pairs *b, size_t size,
		     uint64_t n, int64_t *rtt_a, int64_t *rtt_b);
/* Return -1 (after saying why) if any problem was counted.  */
int		 pairs_check(struct pairs *, const char *what);

/* ---- scen_*.c ---- */

/* One timed relay round: messages a second and a server CPU-second. */
struct relay_result {
	double		 msgs_per_s;
	double		 msgs_per_cpu_s;
	double		 cpu_share;	/* server CPU-s per wall-second */
	double		 self_share;	/* our CPU-s per wall-second */
	double		 syscalls_per_msg;	/* server reads + writes */
	double		 faults_per_msg;	/* server minor page faults */
	double		 redis_cmds_per_s;
	double		 changes_per_s;
};

/*
 * Run one warm-up + measured window on running pairs; if counter is not
 * NULL its growth over the window goes to changes_per_s.  Returns 0 or -1.
 */
int		 relay_round(struct pairs *, size_t size,
		     struct relay_result *, const uint64_t *counter);
/* Scenario 1.  Results [server][size index]; 0 or -1. */
int		 scen_relay(struct pairs *, struct pairs *,
		     struct relay_result res[2][4]);
/* Scenario 2.  p99 of each server in us into p99[2]. */
int		 scen_latency(struct pairs *, struct pairs *, double p99[2]);
/* Scenario 3.  Bytes per connection of each server. */
int		 scen_idle(double bytes[2]);
/* Scenario 4.  Handshakes per server CPU-second. */
int		 scen_handshake(double per_cpu_s[2]);
/* Scenario 5 against peerd's 512 B relay median (0: measure it here). */
int		 scen_presence(struct pairs *, double baseline);

/* Median of n values (sorts v). */
double		 stat_median(double *v, int n);

#endif
