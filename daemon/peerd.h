/*
 * peerd.h -- the private header of peerd: every daemon file includes it.
 *
 * Prototypes are grouped by the file that defines them; a file's functions
 * carry its name as their prefix (conn.c -> conn_*).
 */
#ifndef PEERD_H
#define PEERD_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "frame.h"
#include "matcher.h"

#ifndef PEERD_VERSION
#define PEERD_VERSION		"0.0.0"
#endif
#define PEERD_PROTOCOL		1		/* Hello.protocol_version we speak */
#define PEERD_CONF_DEFAULT	"/etc/peerd/peerd.conf"

#define PRINTFLIKE(f, a)	__attribute__((__format__(__printf__, f, a)))
#define DEAD			__attribute__((__noreturn__))

struct event_base;
struct bufferevent;
struct event;
struct sockaddr;
struct ssl_st;

/* Short names for the generated protobuf-c types. */
typedef Peerd__V1__Hello	Hello;
typedef Peerd__V1__ErrorCode	ErrorCode;
typedef Peerd__V1__Role		Role;

#define ROLE_NONE	PEERD__V1__ROLE__ROLE_UNSPECIFIED
#define ROLE_REQUESTER	PEERD__V1__ROLE__REQUESTER
#define ROLE_SUPPORTER	PEERD__V1__ROLE__SUPPORTER
#define ROLE_OPERATOR	PEERD__V1__ROLE__OPERATOR
#define ROLE_M(r)	(1u << (r))			/* role mask bit */
#define ROLE_ANY	(ROLE_M(ROLE_REQUESTER) | ROLE_M(ROLE_SUPPORTER) | \
			 ROLE_M(ROLE_OPERATOR))
#define ROLE_PEERS	(ROLE_M(ROLE_REQUESTER) | ROLE_M(ROLE_SUPPORTER))

#define ERR(x)		PEERD__V1__ERROR_CODE__ ## x	/* ERR(BAD_FRAME) */
#define BODY(x)		PEERD__V1__ENVELOPE__BODY_ ## x	/* BODY(HELLO) */

/* ---- log.c ---- */

enum log_level {
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR
};

#define LOG_ESCAPE_MAX	64	/* bytes of a client string kept in a log line */

void		 log_init(enum log_level);
void		 log_set_level(enum log_level);
enum log_level	 log_get_level(void);
const char	*log_level_name(enum log_level);
int		 log_level_from_name(const char *);
void		 log_debug(const char *, ...) PRINTFLIKE(1, 2);
void		 log_info(const char *, ...) PRINTFLIKE(1, 2);
void		 log_warn(const char *, ...) PRINTFLIKE(1, 2);
void		 log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void		 log_error(const char *, ...) PRINTFLIKE(1, 2);
void		 log_vlog(enum log_level, const char *, va_list)
		     PRINTFLIKE(2, 0);
DEAD void	 fatal(const char *, ...) PRINTFLIKE(1, 2);
DEAD void	 fatalx(const char *, ...) PRINTFLIKE(1, 2);
char		*log_escape(char *, size_t, const void *, size_t);

/* ---- xmalloc.c ---- */

void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...) PRINTFLIKE(2, 3);
int		 xvasprintf(char **, const char *, va_list) PRINTFLIKE(2, 0);
void		 xmalloc_wipe_libevent(void);
extern ProtobufCAllocator xmalloc_wipe_pb;	/* wipes what it frees */

/* ---- config.c ---- */

#define CONF_TAGS_MAX		128	/* tags in the catalogue */
#define CONF_TAG_NAME_MAX	32	/* bytes, [a-z0-9-] */
#define CONF_TAG_DESC_MAX	200	/* bytes of a tag's description */
#define CONF_INCLUDE_DEPTH	8	/* nested include files */
#define CONF_LINE_MAX		4096	/* bytes of one config line */

struct conf_tag {
	char		*name;
	char		*description;
	char		*where;		/* "file:line" of its definition */
};

/* Everything the config file sets; the option table points into it. */
struct config {
	char		*path;		/* the file given to -c */

	char		*listen;
	char		*admin_listen;
	char		*redis;
	char		*redis_user;	/* Redis 6 ACL user, or NULL */
	char		*redis_password; /* AUTH; read from redis_password_file
					   when that is set (never logged) */
	char		*redis_password_file;
	char		*tls_cert;
	char		*tls_key;
	int		 log_level;	/* enum log_level */

	u_int		 max_frame;
	u_int		 max_frame_hello;
	u_int		 max_text;
	u_int		 max_tags;
	u_int		 max_connections;
	u_int		 max_connections_per_addr; /* IPv4 or IPv6 /64 */
	u_int		 max_output;	/* bytes queued to one client */

	u_int		 handshake_timeout;
	u_int		 hello_timeout;
	u_int		 idle_timeout;
	u_int		 keepalive;

	char		*node_id;
	char		*default_language;

	char		*signing_pubkey;
	char		*signing_pubkey_previous; /* also accepted, rotating */
	char		*requester_secret_file;

	/* Matching and conversations (match.c, conv.c). */
	u_int		 grace;		/* seconds */
	u_int		 offer_timeout;	/* seconds */
	u_int		 max_queue;	/* requests */
	u_int		 max_held_messages; /* per conversation */
	u_int		 max_held_bytes;	/* per conversation */
	u_int		 chat_rate;	/* messages a second, per conn */
	u_int		 chat_burst;	/* messages */

	u_int		 presence_ttl;
	char		*user;
	char		*allow_root;	/* "yes": may stay root without user */

	struct conf_tag	 tags[CONF_TAGS_MAX];
	u_int		 ntags;
};

enum config_type {
	CONF_UINT,		/* decimal, min..max */
	CONF_STRING,		/* one word, min..max bytes */
	CONF_PATH,		/* one word, relative to the file naming it */
	CONF_ADDR,		/* host:port */
	CONF_LEVEL,		/* debug|info|warn|error */
	CONF_SECRET,		/* as STRING, but never echoed in an error;
				   wiped when freed */
	CONF_TAG,		/* tag NAME DESCRIPTION... (repeatable) */
	CONF_INCLUDE		/* include FILE */
};

/* One row of the option table. */
struct config_option {
	const char		*name;
	enum config_type	 type;
	long long		 min;	/* UINT: value; STRING: length */
	long long		 max;
	const char		*def;	/* default, parsed like a file value */
	void			*var;	/* into struct config */
	const char		*help;	/* one line, for --help and the docs */
	/* Extra rule for a value; returns NULL or why it is refused. */
	const char		*(*check)(const char *);
};

extern struct config	 conf;

void		 config_defaults(void);
int		 config_load(const char *, char **);
int		 config_load_buffer(const char *, const char *, size_t, char **);
void		 config_clear(void);
const struct config_option *config_table(size_t *);
const struct conf_tag	*config_tag_find(const char *);
int		 config_split_addr(const char *, char **, u_short *);
int		 config_reload_secrets(char **);

/* ---- tls.c ---- */

int		 tls_init(char **);
int		 tls_reload(void);
struct ssl_st	*tls_new_ssl(void);
void		 tls_free(void);
char		*tls_errors(char *, size_t);

/* ---- server.c ---- */

/* Counters for operators; never per person. */
struct stats {
	uint64_t	 accepted;
	uint64_t	 refused;		/* closed at accept: far over
						   max_connections or
						   max_connections_per_addr */
	uint64_t	 tls_failed;
	uint64_t	 closed;
	uint64_t	 frames_in;
	uint64_t	 frames_out;
	uint64_t	 errors_sent;
	uint32_t	 conns;			/* open now */

	uint64_t	 matches;		/* conversations started */
	uint64_t	 offers_accepted;
	uint64_t	 offers_declined;
	uint64_t	 offers_timed_out;
	uint64_t	 reports;
	uint64_t	 messages_relayed;	/* chat messages accepted */
	uint64_t	 held_refused;		/* RATE_LIMITED: held cap */
	uint64_t	 resumes;		/* sides resumed */
	uint64_t	 resume_failed;
};

extern struct event_base	*server_base;
extern struct stats		 stats;

int		 server_start(void);
int		 server_run(void);
int		 server_stopping(void);
void		 server_notify(const char *);
void		 server_conn_gone(void);

/* ---- listener.c ---- */

#define LISTENER_BACKOFF	1	/* seconds without accepting on EMFILE */

struct evconnlistener;

int		 listener_start(void);
void		 listener_stop(void);
void		 listener_backoff(struct evconnlistener *, struct event *,
		     const char *, u_int);

/* ---- conn.c ---- */

/*
 * The connection state machine (see proto/PROTOCOL.md):
 *
 *   TLS_HANDSHAKE --TLS up--> HELLO --Hello ok--> READY
 *        |                      |                   |
 *        | timeout, TLS error   | fatal Error       | fatal Error, silence
 *        v                      v                   v   (keepalive), shutdown
 *      freed                 CLOSING <--------------+
 *                               | output flushed (or CONN_CLOSE_WAIT)
 *                               v
 *                             freed
 *
 * Only conn_free releases a conn, and only the event, write and timer
 * callbacks call it, never a message handler: a handler that wants the
 * connection gone sends a fatal Error (conn_error) and returns.  A client
 * whose output passes max_output (CONN_F_SLOW) is freed from its timer on
 * the next turn of the loop; until then nothing more is queued to it.
 *
 * Backpressure: a connection whose output is over CONN_OUTPUT_HIGH is
 * THROTTLED until it drains to CONN_OUTPUT_LOW: it is not read, and each
 * sender that relays into it is BLOCKED (not read) until none of its
 * receivers is throttled any more, or they are gone.  A backlog of held
 * messages (a resume) is sent only as far as it fits under the mark
 * (conn_fits), the rest as the output drains.
 */
enum conn_state {
	CONN_TLS_HANDSHAKE,
	CONN_HELLO,		/* TLS up, waiting for Hello */
	CONN_READY,		/* Hello accepted, Welcome sent */
	CONN_CLOSING		/* fatal Error queued, flushing */
};
#define CONN_S(s)	(1u << (s))			/* state mask bit */

#define CONN_CLOSE_WAIT		2	/* seconds to flush before closing */
#define CONN_ADDR_MAX		64	/* bytes of "host:port" */
#define CONN_OUTPUT_HIGH	(1024 * 1024) /* bytes queued to a client
						 before we stop reading it
						 and its senders */
#define CONN_OUTPUT_LOW		(256 * 1024) /* bytes: resume reading */
#define CONN_KEEPALIVE_SLACK	1000	/* ms a keepalive may be late, at
					   least (else keepalive / 2) */
#define CONN_CLIENT_MAX		(LOG_ESCAPE_MAX * 4 + 4) /* bytes, escaped
						   Hello.client_name (logged,
						   not kept) */

struct conv_side;
TAILQ_HEAD(conv_side_list, conv_side);

struct conn {
	uint64_t		 id;		/* in logs and Welcome */
	enum conn_state		 state;
	Role			 role;		/* ROLE_NONE before Hello */
	struct bufferevent	*bev;
	struct event		*timer;		/* handshake, hello, close */
	size_t			 max_frame;	/* bytes, the limit now */
	char			 addr[CONN_ADDR_MAX];
	uint64_t		 addr_key;	/* its per-address count */
	time_t			 since;		/* accepted, monotonic s */
	const char		*reason;	/* why it is closing */
	int			 flags;
#define CONN_F_TLS_UP		0x1	/* handshake done: may close_notify */
#define CONN_F_OVER_LIMIT	0x2	/* accepted over max_connections or
					   max_connections_per_addr */
#define CONN_F_WRITE_SHUT	0x4	/* close_notify and FIN sent */
#define CONN_F_THROTTLED	0x8	/* output over CONN_OUTPUT_HIGH, not
					   yet down to CONN_OUTPUT_LOW: not
					   read, not relayed to */
#define CONN_F_REVOKED		0x10	/* credential revoked: its conversations
					   end at once (set it before the
					   fatal Error) */
#define CONN_F_DETACHED		0x20	/* left its conversations and queue */
#define CONN_F_OVER_ADDR	0x40	/* over the per-address limit */
#define CONN_F_BLOCKED		0x80	/* not read: one of its receivers is
					   THROTTLED */
#define CONN_F_SLOW		0x100	/* output passed max_output: freed on
					   the next turn of the loop */
	uint64_t		 frames_in;
	uint64_t		 frames_out;

	/* Filled by auth.c from a credential (next issue). */
	void			*auth;

	/* Matching and conversations (match.c, supporter.c, conv.c). */
	struct request		*request;	/* requester: queued, or NULL */
	struct supporter	*supporter;	/* supporter: registry entry */
	struct conv_side_list	 convs;		/* sides this conn holds */
	uint64_t		 rkey;		/* requester: matcher key */
	uint64_t		 last_sup;	/* requester: last supporter, this
						   session (matcher id) */
	uint64_t		 requeue_ms;	/* requester: enqueue time kept
						   after END_PEER_GONE, or 0 */
	uint64_t		 chat_tat;	/* ms, chat rate limit (GCRA
						   theoretical arrival time) */

	TAILQ_ENTRY(conn)	 entry;
};
TAILQ_HEAD(conn_list, conn);

extern struct conn_list	 conns;

struct conn	*conn_new(int, const struct sockaddr *, int);
void		 conn_free(struct conn *, const char *);
int		 conn_send(struct conn *, const Envelope *);
void		 conn_ok(struct conn *, uint64_t);
size_t		 conn_backlog(struct conn *);
int		 conn_fits(struct conn *, size_t);
void		 conn_error(struct conn *, uint64_t, ErrorCode, int,
		     const char *, ...) PRINTFLIKE(5, 6);
void		 conn_ready(struct conn *, Role);
void		 conn_block(struct conn *, struct conn *);
void		 conn_unblock(struct conn *);
void		 conn_shutdown_all(void);
void		 conn_free_all(void);
const char	*conn_state_name(enum conn_state);
const char	*conn_role_name(Role);
const char	*conn_code_name(ErrorCode);

/* ---- dispatch.c ---- */

/*
 * One row per message a client may send.  dispatch() checks the state,
 * then the role, then the fields (check), then calls handle.  A NULL
 * handle means "not implemented yet": the client gets BAD_STATE.
 */
struct dispatch_entry {
	Peerd__V1__Envelope__BodyCase	 body;
	const char			*name;
	u_int				 roles;	/* ROLE_M() mask */
	u_int				 states; /* CONN_S() mask */
	/* Return NULL or why a field breaks its rule (BAD_MESSAGE). */
	const char			*(*check)(struct conn *,
					    const Envelope *);
	void				 (*handle)(struct conn *,
					    const Envelope *);
};

void		 dispatch(struct conn *, const Envelope *);
const struct dispatch_entry *dispatch_find(Peerd__V1__Envelope__BodyCase);

/* ---- map.c ---- */

/* A hash map from nonzero 64-bit keys to pointers (chained, grows). */
struct map_entry;
struct map {
	struct map_entry	**buckets;
	size_t			  nbuckets;	/* a power of two, or 0 */
	size_t			  n;
};

void		 map_init(struct map *);
void		 map_clear(struct map *);
int		 map_put(struct map *, uint64_t, void *);
void		*map_get(const struct map *, uint64_t);
void		*map_remove(struct map *, uint64_t);
uint64_t	 map_new_key(const struct map *);

/* ---- match.c ---- */

#define MATCH_TICK		1	/* seconds between queue ticks */
#define MATCH_UPDATE_EVERY	2000	/* ms, at most one QueueUpdate push */
#define MATCH_LANGS_REQ		8	/* languages in one RequestPeer */
#define MATCH_PREVIOUS_MAX	65536	/* requester keys remembered for
					   "previous supporter" */

struct request;
struct offer;
TAILQ_HEAD(offer_list, offer);

extern struct matcher	*match_matcher;

int		 match_start(void);
void		 match_stop(void);
void		 match_run(void);
int		 match_tag_index(const char *);
int		 match_lang_index(const char *);
size_t		 match_tag_names(const struct matcher_tags *, char **, size_t);
void		 match_conn_gone(struct conn *);
void		 match_supporter_gone(struct supporter *);
void		 match_remember(uint64_t, uint64_t);
void		 match_forget(uint64_t, uint64_t);
u_int		 match_queued(void);
void		 match_tag_waiting(uint32_t *);
const char	*match_check_request_peer(struct conn *, const Envelope *);
void		 match_request_peer(struct conn *, const Envelope *);
void		 match_cancel_request(struct conn *, const Envelope *);
const char	*match_check_offer(struct conn *, const Envelope *);
void		 match_accept_offer(struct conn *, const Envelope *);
void		 match_decline_offer(struct conn *, const Envelope *);

/* ---- position.c ---- */

#define POSITION_CLASSES	256	/* distinct supporter classes told
					   apart; beyond, the matcher's rule */

/* A set of supporter classes (bit i: class i). */
struct position_set {
	uint64_t	w[POSITION_CLASSES / 64];
};

void		 position_invalidate(void);
void		 position_refresh(void);
int		 position_reach(const struct matcher_tags *, uint64_t,
		     struct position_set *);
int		 position_meet(const struct position_set *,
		     const struct position_set *);

/* ---- supporter.c ---- */

#define SUPPORTER_ID_MAX	64	/* bytes, credential id */
#define SUPPORTER_NAME_MAX	64	/* bytes, display name */

/*
 * A supporter known to this node, by credential id.  It outlives its
 * connection while it has conversations (they wait in their grace window):
 * then conn is NULL and it is out of the matcher, so it is offered no
 * one; status keeps what the supporter chose, restored when it returns.
 */
struct supporter {
	uint64_t			 nid;	/* matcher id: a hash of id,
						   stable across reconnects */
	char				 id[SUPPORTER_ID_MAX + 1];
	char				 name[SUPPORTER_NAME_MAX + 1];
	struct conn			*conn;	/* NULL while dropped */
	Peerd__V1__SupporterStatus	 status; /* as chosen */
	u_int				 capacity;
	u_int				 max_capacity; /* the credential's */
	u_int				 nconvs;
	uint64_t			 last_match_ms; /* kept while dropped */
	struct matcher_tags		 tags;	/* vetted, catalogue indices */
	uint64_t			 langs;
	struct offer_list		 offers; /* out to this supporter */
	TAILQ_ENTRY(supporter)		 entry;
};
TAILQ_HEAD(supporter_list, supporter);

extern struct supporter_list	 supporters;

void		 supporter_hello(struct conn *);
void		 supporter_conn_gone(struct conn *);
struct supporter *supporter_find(uint64_t);
void		 supporter_conv_started(struct supporter *);
void		 supporter_conv_ended(struct supporter *);
void		 supporter_offer_timed_out(struct supporter *);
u_int		 supporter_compatible(const struct matcher_tags *, uint64_t);
void		 supporter_counts(u_int *, u_int *, u_int *);
void		 supporter_tick(void);
void		 supporter_stop(void);
const char	*supporter_check_availability(struct conn *,
		     const Envelope *);
void		 supporter_set_availability(struct conn *, const Envelope *);

/* ---- conv.c ---- */

#define CONV_REQUESTER		0	/* index of a side in conv->side[] */
#define CONV_SUPPORTER		1
#define CONV_TOKEN_LEN		32	/* bytes, a resume token */
#define CONV_PSEUDONYM_MAX	16	/* bytes, "guest-7f3a" */
#define CONV_REASON_MAX		64	/* bytes, Report.reason */

struct conv;
struct conv_msg;
TAILQ_HEAD(conv_msg_list, conv_msg);

/* One side of a conversation; attached to a conn, or dropped (c NULL). */
struct conv_side {
	struct conv		*conv;
	int			 idx;		/* CONV_REQUESTER or
						   CONV_SUPPORTER */
	struct conn		*c;		/* NULL while dropped */
	uint8_t			 token[CONV_TOKEN_LEN];
	uint64_t		 token_key;	/* resume.c index */
	uint64_t		 last_client_msg_id; /* highest accepted */
	uint64_t		 delivered;	/* highest seq to it, acked */
	uint64_t		 to_seq;	/* highest seq addressed to it */
	uint64_t		 sent_seq;	/* highest seq queued to its
						   connection */
	int			 pending;	/* held messages above sent_seq
						   wait for room in its output */
	struct event		*grace;		/* runs while dropped */
	TAILQ_ENTRY(conv_side)	 entry;		/* in c->convs */
};

struct conv {
	uint64_t		 id;		/* random, on the wire */
	struct conv_side	 side[2];
	struct supporter	*sup;		/* holds one of its slots */
	uint64_t		 rkey;		/* requester's matcher key */
	uint64_t		 enq_ms;	/* the request's enqueue time */
	uint64_t		 seq;		/* last seq stamped */
	struct conv_msg_list	 held;		/* accepted, not yet acked */
	u_int			 nheld;
	size_t			 held_bytes;
	struct matcher_tags	 shared;
	char			*explain;
	char			 pseudonym[CONV_PSEUDONYM_MAX];
	TAILQ_ENTRY(conv)	 entry;
};
TAILQ_HEAD(conv_list, conv);

void		 conv_start(struct conn *, struct supporter *,
		     const struct matcher_proposal *, uint64_t);
void		 conv_conn_gone(struct conn *);
void		 conv_attach(struct conv_side *, struct conn *, uint64_t);
void		 conv_end_supporter(struct supporter *);
void		 conv_shutdown_all(void);
u_int		 conv_count(void);
const char	*conv_check(struct conn *, const Envelope *);
void		 conv_chat(struct conn *, const Envelope *);
void		 conv_delivered(struct conn *, const Envelope *);
void		 conv_typing(struct conn *, const Envelope *);
void		 conv_end_request(struct conn *, const Envelope *);
void		 conv_report(struct conn *, const Envelope *);
int		 conv_receiver_full(struct conn *);
void		 conv_drained(struct conn *);

/* ---- resume.c ---- */

void		 resume_issue(struct conv_side *);
void		 resume_revoke(struct conv_side *);
void		 resume_hello(struct conn *, const Hello *, uint64_t);
void		 resume_stop(void);

/* ---- stats.c ---- */

#define STATS_WAITS		4096	/* matches remembered for wait
					   percentiles */
#define STATS_WAIT_WINDOW	3600	/* seconds of matches they cover */

#define STATS_HISTORY		1440	/* samples kept: 24 h at one a minute */
#define STATS_HISTORY_EVERY	60	/* seconds between samples */
#define STATS_NBUCKETS		11	/* wait histogram buckets, +Inf too */

enum stats_status {		/* supporters by status */
	STATS_AVAILABLE,
	STATS_AWAY,
	STATS_ON_BREAK,
	STATS_OFFLINE,		/* dropped, conversations in grace */
	STATS_NSTATUS
};

enum stats_role {		/* connections by role */
	STATS_REQUESTER,
	STATS_SUPPORTER,
	STATS_OPERATOR,
	STATS_NONE,		/* before Hello */
	STATS_NROLES
};

/* One catalogue tag: counts, no person attached. */
struct stats_tag {
	const char	*name;		/* conf.tags[] */
	const char	*description;
	uint32_t	 waiting;	/* queued needing or preferring it */
	uint32_t	 capacity;	/* free slots of available supporters
					   with it */
};

/* One history sample (one a minute). */
struct stats_sample {
	int64_t		 t;		/* wall clock, unix seconds */
	uint32_t	 waiting;
	uint32_t	 oldest_wait_s;
	uint32_t	 wait_p50_s;	/* matches of the last hour */
};

/* Everything operators see, filled once for StatsReply, /metrics, JSON. */
struct stats_snapshot {
	int64_t		 now;		/* wall clock, unix seconds */
	uint32_t	 queue_waiting;
	uint32_t	 oldest_wait_s;
	uint32_t	 wait_p50_s;
	uint32_t	 wait_p90_s;
	u_int		 ntags;
	struct stats_tag tags[CONF_TAGS_MAX];
	uint32_t	 capacity_total; /* free slots, all available */
	uint32_t	 supporters[STATS_NSTATUS];
	uint32_t	 conversations_active;
	uint32_t	 connections[STATS_NROLES];
	uint64_t	 matches;
	uint64_t	 offers_accepted;
	uint64_t	 offers_declined;
	uint64_t	 offers_timed_out;
	uint64_t	 reports;
	uint64_t	 messages_relayed;
	uint64_t	 tls_failed;
	int		 redis_up;
	/* peerd_wait_seconds: cumulative counts, le = stats_bucket_le[i] */
	uint64_t	 wait_buckets[STATS_NBUCKETS];
	uint64_t	 wait_count;
	uint64_t	 wait_sum_ms;
};

extern const uint32_t	 stats_bucket_le[STATS_NBUCKETS]; /* seconds;
						    last is +Inf (0) */

void		 stats_wait(uint64_t);
void		 stats_snapshot(struct stats_snapshot *);
void		 stats_history_sample(void);
const struct stats_sample *stats_history(u_int, u_int *);
const char	*stats_status_name(enum stats_status);
const char	*stats_role_name(enum stats_role);
void		 stats_request(struct conn *, const Envelope *);

/* ---- auth.c ---- */

struct cred_info;

int		 auth_init(char **);
int		 auth_check(char **);
int		 auth_reload(void);
void		 auth_shutdown(void);
ErrorCode	 auth_hello(struct conn *, const Hello *, Role *, char *,
		     size_t);
void		 auth_free(struct conn *);
/* The verified credential of a supporter or operator, else NULL. */
const struct cred_info *auth_cred(const struct conn *);
/* A requester's continuity key (keyed hash of Hello.requester_key), 0 if none. */
uint64_t	 auth_requester_key(const struct conn *);

/* ---- presence.c ---- */

int		 presence_start(void);
void		 presence_stop(void);
/* Publish (batched, async) a supporter's presence; never waits on Redis. */
void		 presence_set(const char *, Peerd__V1__SupporterStatus, u_int,
		     u_int);
void		 presence_remove(const char *);

/* ---- revoke.c ---- */

int		 revoke_start(void);
void		 revoke_stop(void);
int		 revoke_is_revoked(const char *);
/* 1 once the whole revocation set was read since revoke_start. */
int		 revoke_known(void);
/* For unit tests and fuzzers, which have no Redis; never peerd. */
void		 revoke_assume_known(void);
/* Mark an id revoked locally and end its live sessions (0, or -1). */
int		 revoke_add(const char *);

/* ---- redis.c ---- */

#define REDIS_CONNECT_TIMEOUT	2	/* seconds before a connect is given up */
#define REDIS_BACKOFF_MIN	1	/* seconds, first reconnect delay */
#define REDIS_BACKOFF_MAX	30	/* seconds, reconnect delay cap */
#define REDIS_PING_EVERY	5	/* seconds between liveness PINGs */
#define REDIS_LISTENERS_MAX	8	/* redis_on_change callbacks */

struct redisAsyncContext;
struct redisReply;
typedef void redis_cb(struct redisAsyncContext *, void *, void *);

int		 redis_start(void);
void		 redis_stop(void);
int		 redis_is_up(void);
int		 redis_command(redis_cb *, void *, const char *, ...);
int		 redis_command_argv(redis_cb *, void *, int, const char **,
		     const size_t *);
int		 redis_command_formatted(redis_cb *, void *, const char *,
		     size_t);
void		 redis_on_change(void (*)(int));
void		 redis_flush(void);
void		 redis_reload(void);
int		 redis_auth(struct redisAsyncContext *, redis_cb *, void *);
struct redisAsyncContext *redis_async_connect(const char **);
int		 redis_auth_ok(const struct redisReply *, char *, size_t);

/* ---- admin.c ---- */

#define ADMIN_HEADERS_MAX	8192	/* bytes of a request's headers */
#define ADMIN_TIMEOUT		10	/* seconds to read a request */

struct evbuffer;

int		 admin_start(void);
void		 admin_stop(void);

/* ---- admin_metrics.c ---- */

void		 admin_metrics_write(struct evbuffer *,
		     const struct stats_snapshot *);

/* ---- admin_json.c ---- */

void		 admin_json_write(struct evbuffer *,
		     const struct stats_snapshot *);

/* ---- admin_page.c ---- */

const char	*admin_page_html(size_t *);
const char	*admin_page_csp(void);

/* ---- priv.c ---- */

int		 priv_drop(void);
int		 priv_check(char **);

/* ---- util.c ---- */

time_t		 util_now(void);
uint64_t	 util_now_ms(void);
void		 util_random(void *, size_t);
uint64_t	 util_random_id(void);
int		 util_utf8_valid(const void *, size_t);
ssize_t		 util_read_secret(const char *, void *, size_t, char **);

#endif /* PEERD_H */
