/*
 * peer.h -- private header of peer, the terminal client for requesters and
 * supporters.
 *
 * peer.c parses the command line and runs the event loop.  peer_session.c
 * owns the connection to peerd: Hello, reconnects with back-off and resume,
 * the request table (which reply answers what) and the conversations with
 * their outboxes.  It reports what happens through a struct peer_ui, which
 * peer_script.c (one key=value line per event, stdin not a terminal) and
 * peer_tty.c (an interactive screen) implement.  peer_util.c holds the
 * small helpers: escaping, lists, durations, the requester key file.
 */
#ifndef PEER_H
#define PEER_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "peerclient.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* Exit codes. */
#define PEER_EXIT_OK		0	/* done: conversations ended normally */
#define PEER_EXIT_ERROR		1	/* refused, or connection lost for good */
#define PEER_EXIT_USAGE		2	/* bad command line */
#define PEER_EXIT_TIMEOUT	3	/* --timeout passed */

#define PEER_DEFAULT_HOST	"127.0.0.1"	/* make run's peerd */
#define PEER_DEFAULT_PORT	"7474"
#define PEER_DEFAULT_TLS_NAME	"localhost"	/* name in the dev certificate */
#define PEER_DEFAULT_CA		"run/ca.pem"	/* written by make run */

#define PEER_LIST_MAX		128	/* entries in --need, --prefer, --lang */
#define PEER_NAME_MAX		128	/* bytes, a display name or tag */
#define PEER_TOKEN_MAX		64	/* bytes, a resume token */
#define PEER_LINE_MAX		(1024 * 1024) /* bytes, one line of stdin */
#define PEER_BACKOFF_MIN	250	/* ms, first reconnect delay */
#define PEER_BACKOFF_MAX	8000	/* ms, longest reconnect delay */
#define PEER_GRACE_DEFAULT	120	/* s, reconnect window until Welcome */
#define PEER_END_WAIT		5000	/* ms, for the Ok of a final End */
#define PEER_QUIET_IDS		16	/* Delivered/Typing ids remembered */
#define PEER_ENDED_KEEP		8	/* ended conversations kept (the
					   screen shows them; text is
					   dropped after) */

/* Flags of peer_clean(). */
#define PEER_CLEAN_LINES	0x1	/* keep newlines */
#define PEER_CLEAN_ASCII	0x2	/* the terminal is not UTF-8 */

enum peer_cmd {
	PEER_CMD_REQUEST,
	PEER_CMD_SUPPORT,
	PEER_CMD_TAGS
};

/* A comma-separated list from the command line, split in place. */
struct peer_list {
	char	*v[PEER_LIST_MAX];
	size_t	 n;
};

struct peer_opts {
	enum peer_cmd	 cmd;
	char		 host[256];
	char		 port[16];
	const char	*tls_name;	/* certificate name to verify */
	const char	*ca;
	int		 script;	/* 1 script mode, 0 interactive */
	int		 timeout_s;	/* 0: none */
	int		 wait_delivered;
	int		 verbose;

	/* request */
	struct peer_list need;
	struct peer_list prefer;
	struct peer_list langs;
	uint32_t	 relax_after_s;
	int		 urgent;
	int		 previous;
	int		 no_key;
	const char	*key_file;	/* NULL: the default path */

	/* support */
	const char	*credential;
	uint32_t	 capacity;	/* 0: the credential's */
	int		 auto_accept;
};

/* One line we say, held until peerd accepts it (MessageAccepted). */
struct peer_msg {
	TAILQ_ENTRY(peer_msg)	 entry;
	uint64_t		 cmid;		/* client_msg_id, 0 unassigned */
	uint64_t		 req;		/* envelope id on this
						   connection, 0 not sent */
	size_t			 len;
	char			 text[];
};
TAILQ_HEAD(peer_msgs, peer_msg);

enum peer_conv_state {
	PEER_CONV_ACTIVE,	/* messages flow */
	PEER_CONV_RESUMING,	/* reconnected, waiting for Matched{resumed} */
	PEER_CONV_ENDED		/* over; kept only until the UI lets go */
};

struct peer_conv {
	TAILQ_ENTRY(peer_conv)	 entry;
	uint64_t		 id;
	unsigned		 number;	/* 1, 2, ... in this run */
	enum peer_conv_state	 state;
	char			 peer_name[PEER_NAME_MAX];
	char			*shared;	/* "a,b" */
	char			*explanation;
	uint8_t			 token[PEER_TOKEN_MAX];
	size_t			 token_len;

	uint64_t		 last_seq;	/* highest seq received */
	uint64_t		 next_cmid;	/* next client_msg_id */
	uint64_t		 accepted_seq;	/* highest seq of ours */
	uint64_t		 delivered_seq;	/* of ours, peer read */
	struct peer_msgs	 outbox;	/* said, not yet accepted */
	int			 peer_away;	/* PEER_RECONNECTING seen */
	int			 peer_typing;
	int			 held_full;	/* RATE_LIMITED: wait for a
						   Delivered or ev_retry */
	int			 ending;	/* End or Report wanted */
	int			 report;	/* ending by Report */
	char			*report_reason;
	uint64_t		 end_req;	/* id of End or Report */

	void			*ui;		/* the UI's own state */
};
TAILQ_HEAD(peer_convs, peer_conv);

/* An offer a supporter has not answered yet. */
struct peer_offer {
	TAILQ_ENTRY(peer_offer)	 entry;
	uint64_t		 id;
	char			*shared;
	char			*need;
	char			*prefer;
	char			*langs;
	char			*explanation;
	int			 urgent;
	int			 returning;
	uint32_t		 waited_s;
	int64_t			 expires_ms;	/* monotonic */
	uint64_t		 req;		/* our Accept/Decline, or 0 */
};
TAILQ_HEAD(peer_offers, peer_offer);

struct peer_tag {
	char			*name;
	char			*description;
};

enum peer_state {
	PEER_S_CONNECTING,	/* TCP + TLS + Hello under way */
	PEER_S_READY,		/* Welcome received */
	PEER_S_WAITING,		/* lost; a reconnect timer runs */
	PEER_S_CLOSING,		/* leaving: close under way */
	PEER_S_DONE
};

struct peer;

/*
 * What the session reports.  Every member must be set; the session calls
 * them from the event loop.  Strings are only valid during the call.
 */
struct peer_ui {
	void	(*welcome)(struct peer *);
	void	(*queued)(struct peer *, uint32_t, uint32_t, int, uint32_t);
	void	(*offer)(struct peer *, struct peer_offer *);
	void	(*offer_gone)(struct peer *, struct peer_offer *);
	void	(*matched)(struct peer *, struct peer_conv *, int);
	void	(*message)(struct peer *, struct peer_conv *, uint64_t,
		    const char *, size_t);
	void	(*accepted)(struct peer *, struct peer_conv *,
		    struct peer_msg *, uint64_t);
	void	(*delivered)(struct peer *, struct peer_conv *, uint64_t);
	void	(*typing)(struct peer *, struct peer_conv *, int);
	void	(*peer_status)(struct peer *, struct peer_conv *, int);
	void	(*ended)(struct peer *, struct peer_conv *, const char *);
	void	(*error)(struct peer *, struct peer_conv *, struct peer_msg *,
		    const char *, const char *);
	void	(*notice)(struct peer *, const char *);
	void	(*status)(struct peer *);	/* availability, connection */
	void	(*progress)(struct peer *);	/* after each event */
	void	(*forget)(struct peer *, struct peer_conv *); /* let go */
};

struct peer {
	const struct peer_opts	*opts;
	struct event_base	*base;
	struct peerclient_tls	*tls;
	struct peerclient	*pc;
	const struct peer_ui	*ui;
	void			*ui_data;

	enum peer_state		 state;
	int			 welcomed;	/* at least once */
	int			 exit_code;
	uint64_t		 hello_req;
	struct event		*ev_reconnect;
	struct event		*ev_ping;
	struct event		*ev_closing;
	struct event		*ev_retry;	/* after RATE_LIMITED */
	int			 backoff_ms;
	int64_t			 lost_ms;	/* monotonic, 0 connected */
	int			 no_retry;	/* fatal refusal seen */
	int			 try_later;	/* TRY_LATER: retry even before
						   the first Welcome */

	/* From Welcome. */
	uint32_t		 max_text;
	uint32_t		 keepalive_s;
	uint32_t		 grace_s;
	uint32_t		 offer_timeout_s;
	struct peer_tag		*tags;
	size_t			 ntags;
	char			 display_name[PEER_NAME_MAX];
	uint32_t		 max_capacity;
	char			*vetted;	/* "a,b" */
	char			 server_version[64];

	/* Requester. */
	uint8_t			 key[PEERCLIENT_REQUESTER_KEY_LEN];
	int			 has_key;
	int			 want_peer;	/* RequestPeer wanted */
	uint64_t		 request_req;	/* its envelope id */
	int			 queued;	/* QueueUpdate seen */
	int			 request_failed; /* RequestPeer refused */
	uint64_t		 cancel_req;

	/* Supporter. */
	uint8_t			*cred;
	size_t			 cred_len;
	int			 status;	/* SupporterStatus wanted */
	uint32_t		 capacity;	/* 0: the credential's */
	uint64_t		 avail_req;
	int			 avail_failed;	/* SetAvailability refused */
	struct peer_offers	 offers;

	struct peer_convs	 convs;
	struct peer_conv	*current;	/* where lines go */
	unsigned		 nconv;		/* conversations so far */
	struct peer_msgs	 unsent;	/* lines before any conv */
	uint64_t		 quiet[PEER_QUIET_IDS]; /* Delivered/Typing
						   sent lately */
	unsigned		 nquiet;
	int			 leaving;	/* ending everything */
	int			 leave_code;	/* exit code once left */
};

/* peer_session.c */
int		 peer_session_init(struct peer *, const struct peer_opts *,
		     struct event_base *, const struct peer_ui *, void *);
void		 peer_session_free(struct peer *);
int		 peer_session_start(struct peer *);
uint64_t	 peer_send(struct peer *, Envelope *);
int		 peer_request(struct peer *);
int		 peer_cancel(struct peer *);
int		 peer_set_status(struct peer *, int, uint32_t);
void		 peer_leave(struct peer *, int);
void		 peer_leave_check(struct peer *);
void		 peer_quit(struct peer *, int);

/* peer_conv.c */
void		 peer_conv_offer(struct peer *, Envelope *);
void		 peer_conv_matched(struct peer *, Envelope *);
void		 peer_conv_message(struct peer *, Envelope *);
void		 peer_conv_accepted(struct peer *, Envelope *);
void		 peer_conv_delivered(struct peer *, Envelope *);
void		 peer_conv_typing(struct peer *, Envelope *);
void		 peer_conv_ended(struct peer *, Envelope *);
void		 peer_conv_peer_status(struct peer *, Envelope *);
int		 peer_conv_ok(struct peer *, uint64_t);
int		 peer_conv_error(struct peer *, uint64_t, int, const char *,
		     const char *);
void		 peer_conv_resume_failed(struct peer *, const char *,
		     const char *);
void		 peer_conv_lost(struct peer *, struct peer_conv *);
void		 peer_conv_end_local(struct peer *, struct peer_conv *,
		     const char *);
void		 peer_conv_forget(struct peer *, struct peer_conv *);
void		 peer_conv_gc(struct peer *);
void		 peer_conv_retry(struct peer *);
struct peer_conv *peer_conv_find(struct peer *, uint64_t);
int		 peer_conv_count(struct peer *);
void		 peer_offer_free(struct peer *, struct peer_offer *);
int		 peer_say(struct peer *, struct peer_conv *, const char *,
		     size_t);
int		 peer_end(struct peer *, struct peer_conv *);
int		 peer_report(struct peer *, struct peer_conv *, const char *);
int		 peer_answer_offer(struct peer *, struct peer_offer *, int);
void		 peer_typing(struct peer *, struct peer_conv *, int);
int		 peer_outbox_empty(struct peer *);
int		 peer_all_delivered(struct peer *);

/* peer_script.c */
extern const struct peer_ui peer_script_ui;
int		 peer_script_run(struct peer *);
void		 peer_script_free(void);

/* peer_tty.c and peer_tty_draw.c: the interactive screen. */
#define PEER_RETRY_MS		1000	/* ms, resend after RATE_LIMITED */
#define TTY_INPUT_MAX		8192	/* bytes, the line being typed */
#define TTY_HISTORY_MAX		2000	/* lines kept per view */
#define TTY_NOTICE_MS		6000	/* ms, a notice stays on show */
#define TTY_TYPING_IDLE_MS	5000	/* ms without a key: stopped typing */
#define TTY_PEER_TYPING_MS	15000	/* ms, the peer's typing sign lasts */
#define TTY_CONFIRM_MS		5000	/* ms, a second /quit confirms */

enum tty_who {
	TTY_ME,			/* a line we said */
	TTY_PEER,		/* a line the peer said */
	TTY_INFO		/* what peer tells the person */
};

enum tty_tick {
	TTY_TICK_NONE,
	TTY_TICK_SENDING,	/* not yet held by peerd */
	TTY_TICK_HELD,		/* MessageAccepted */
	TTY_TICK_READ,		/* Delivered */
	TTY_TICK_FAILED		/* refused: not sent */
};

struct tty_line {
	TAILQ_ENTRY(tty_line)	 entry;
	enum tty_who		 who;
	enum tty_tick		 tick;
	uint64_t		 cmid;
	uint64_t		 seq;
	char			 stamp[8];	/* HH:MM */
	char			*text;		/* cleaned for the screen */
};
TAILQ_HEAD(tty_lines, tty_line);

/* The lobby (conv NULL) or one conversation. */
struct tty_view {
	struct tty_lines	 lines;
	size_t			 nlines;
	struct peer_conv	*conv;
	unsigned		 unread;
};

struct tty {
	struct peer		*p;
	int			 raw;		/* termios changed */
	int			 rows;
	int			 cols;
	int			 utf8;
	struct event		*ev_in;
	struct event		*ev_winch;
	struct event		*ev_tick;
	struct event		*ev_draw;
	struct tty_view		 lobby;
	struct tty_view		*view;		/* on screen */
	int			 scroll;	/* rows up from the end */

	char			 input[TTY_INPUT_MAX];
	size_t			 ilen;
	int			 esc;		/* escape sequence state */
	char			 escbuf[16];
	size_t			 esclen;

	char			 notice[256];
	int64_t			 notice_until;
	int			 typing_sent;
	int64_t			 last_key;
	int64_t			 peer_typing_at;
	int64_t			 confirm_until;	/* /quit armed */

	uint32_t		 position;
	uint32_t		 eta_s;
	int			 relaxed;
	uint32_t		 compatible;
	int64_t			 waiting_since;	/* 0: not waiting */
	char			 goodbye[256];
	char			 last_notice[256];
};

extern struct tty tty;

/* peer_tty.c */
int		 peer_tty_run(struct peer *);
void		 peer_tty_free(void);

/* peer_tty_events.c */
extern const struct peer_ui peer_tty_ui;

/* peer_tty_draw.c */
void		 tty_view_init(struct tty_view *, struct peer_conv *);
void		 tty_view_free(struct tty_view *);
struct tty_line	*tty_add(struct tty_view *, enum tty_who, const char *,
		     size_t);
struct tty_line	*tty_addf(struct tty_view *, const char *, ...)
		     __attribute__((format(printf, 2, 3)));
struct tty_line	*tty_find_cmid(struct tty_view *, uint64_t);
void		 tty_notice(const char *, ...)
		     __attribute__((format(printf, 1, 2)));
void		 tty_dirty(void);
void		 tty_draw(void);
int		 tty_cut(const char *, int, size_t *);

/* peer_util.c */
int64_t		 peer_now_ms(void);
char		*peer_escape(const char *, size_t);
char		*peer_clean(const char *, size_t, int);
int		 peer_utf8_valid(const char *, size_t);
int		 peer_list_parse(struct peer_list *, char *);
char		*peer_join(char **, size_t);
int		 peer_duration(const char *, uint32_t *);
int		 peer_key_load(const char *, uint8_t *, char *, size_t);
const char	*peer_error_name(int);
const char	*peer_reason_name(int);
void		*peer_xcalloc(size_t, size_t);
char		*peer_xstrdup(const char *);

#endif
