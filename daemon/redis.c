/*
 * redis.c -- one asynchronous hiredis connection, attached to the loop.
 *
 * Redis holds presence only, so peerd serves without it: while Redis is
 * away, redis_command drops commands (returns -1) and a timer reconnects
 * with capped exponential back-off.  One timer does three jobs depending on
 * the state: reconnect (no context), connect deadline (connecting: hiredis
 * 0.14 has no connect timeout) and liveness PING (up; a PING unanswered by
 * the next tick means the link is dead).
 *
 * The link counts as up only once its first command is answered: AUTH
 * with a password configured (redis_password or redis_password_file),
 * else PING, which a Redis that wants a password answers NOAUTH.  Until
 * then redis_command drops commands as while Redis is away, and /healthz
 * stays 503.  A refused AUTH, or NOAUTH, is logged as
 * event=redis_auth_failed with what Redis said (never the password) and
 * retried on the same back-off as a failed connect: the password may be
 * fixed on the Redis side.  The connect deadline covers that first reply.
 *
 * Names: hiredis 0.14 resolves a host name with a blocking getaddrinfo,
 * which would stop every conversation for as long as a resolver takes to
 * answer (seconds, with an unreachable name server) at every reconnect.
 * A configured name (say `redis:6379` in a container) is looked up here
 * with libevent's asynchronous evdns instead (/etc/hosts and
 * /etc/resolv.conf), and hiredis is given the numeric address: again
 * after every failed attempt or lost link, so a moved Redis is found.
 *
 * hiredis frees the context itself after the connect callback reports a
 * failure and after the disconnect callback: redis_ctx is dropped there.
 * A context we free ourselves is dropped from redis_ctx first, so its
 * callbacks, which hiredis still runs, know it is not the live one.  On
 * disconnect, hiredis calls every pending command callback with a NULL
 * reply: callers must treat NULL as "dropped".
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "peerd.h"

/* What the log last said of a failure, so a run of the same is quiet. */
enum redis_report {
	REDIS_R_NONE,
	REDIS_R_DOWN,		/* event=redis_down */
	REDIS_R_AUTH		/* event=redis_auth_failed */
};

static redisAsyncContext	*redis_ctx;
static struct event		*redis_timer;
static char			*redis_host;
static u_short			 redis_port;
static int			 redis_numeric;	/* redis_host is an address */
static struct evdns_base	*redis_dns;	/* for a host name */
static struct evdns_getaddrinfo_request *redis_dns_req;	/* in flight */
static char			 redis_ip[INET6_ADDRSTRLEN]; /* redis_host
						   resolved, or "" */
static int			 redis_ip_fresh; /* resolved since the last
						   failure */
static int			 redis_up;
static int			 redis_greeting; /* first command (AUTH or
						   PING) not answered yet */
static enum redis_report	 redis_reported;
static int			 redis_ping_pending;
static int			 redis_stopping;
static u_int			 redis_backoff = REDIS_BACKOFF_MIN; /* s */
static void			(*redis_notify[REDIS_LISTENERS_MAX])(int);
static u_int			 redis_nnotify;

static void	redis_connect(void);

/* Return 1 if Redis is connected. */
int
redis_is_up(void)
{
	return (redis_up);
}

/*
 * Call fn(up) on every change between up and down (presence republishes,
 * revocations are re-read).  Listeners are called in the order added; one
 * added twice is called once.
 */
void
redis_on_change(void (*fn)(int))
{
	u_int	i;

	for (i = 0; i < redis_nnotify; i++)
		if (redis_notify[i] == fn)
			return;
	if (redis_nnotify == REDIS_LISTENERS_MAX)
		fatalx("event=bug reason=too_many_redis_listeners");
	redis_notify[redis_nnotify++] = fn;
}

/* Tell every listener that Redis went up or down. */
static void
redis_tell(int up)
{
	u_int	i;

	for (i = 0; i < redis_nnotify; i++)
		redis_notify[i](up);
}

/* Arm the timer for secs seconds. */
static void
redis_timer_set(u_int secs)
{
	struct timeval	tv = { (time_t)secs, 0 };

	evtimer_add(redis_timer, &tv);
}

/* Schedule the next attempt after a failure; double the back-off. */
static void
redis_retry_later(void)
{
	redis_timer_set(redis_backoff);
	redis_backoff *= 2;
	if (redis_backoff > REDIS_BACKOFF_MAX)
		redis_backoff = REDIS_BACKOFF_MAX;
}

/* Record a failed attempt or a lost link and schedule the next attempt. */
static void
redis_down(const char *why)
{
	int	was_up = redis_up;

	redis_up = 0;
	redis_greeting = 0;
	redis_ping_pending = 0;
	redis_ip_fresh = 0;		/* look the name up again */
	if (redis_stopping)
		return;
	if (was_up || redis_reported != REDIS_R_DOWN) {
		log_warnx("event=redis_down addr=%s reason=\"%s\" "
		    "retry_in=%us", conf.redis, why, redis_backoff);
		redis_reported = REDIS_R_DOWN;
		if (was_up)
			redis_tell(0);
	} else {
		log_debug("event=redis_retry_failed addr=%s reason=\"%s\" "
		    "retry_in=%us", conf.redis, why, redis_backoff);
	}
	redis_retry_later();
}

/*
 * Record that Redis refused us (why: what it said): our AUTH, or NOAUTH
 * when we have no password.  Schedule the next attempt.  An error, not a
 * warning: it lasts until someone fixes the password on one side or the
 * other.
 */
static void
redis_auth_failed(const char *why)
{
	redis_greeting = 0;
	if (redis_stopping)
		return;
	if (redis_reported != REDIS_R_AUTH) {
		log_error("event=redis_auth_failed addr=%s user=%s "
		    "reason=\"%s\" retry_in=%us", conf.redis,
		    conf.redis_user != NULL ? conf.redis_user : "default", why,
		    redis_backoff);
		redis_reported = REDIS_R_AUTH;
	} else {
		log_debug("event=redis_retry_failed addr=%s reason=\"AUTH "
		    "refused: %s\" retry_in=%us", conf.redis, why,
		    redis_backoff);
	}
	redis_retry_later();
}

/* The link is usable (connected, and authenticated if we must). */
static void
redis_went_up(void)
{
	redis_up = 1;
	redis_reported = REDIS_R_NONE;
	redis_backoff = REDIS_BACKOFF_MIN;
	log_info("event=redis_up addr=%s auth=%s", conf.redis,
	    conf.redis_password != NULL ? "yes" : "no");
	evtimer_del(redis_timer);
	redis_timer_set(REDIS_PING_EVERY);
	redis_tell(1);
}

/*
 * Return 1 if r, the reply to AUTH, is +OK; else 0 with why set to what
 * Redis said, escaped (Redis never repeats the password in an error).
 */
int
redis_auth_ok(const struct redisReply *r, char *why, size_t len)
{
	if (r->type == REDIS_REPLY_STATUS && r->str != NULL && r->len == 2 &&
	    memcmp(r->str, "OK", 2) == 0)
		return (1);
	if (r->type == REDIS_REPLY_ERROR && r->str != NULL)
		log_escape(why, len, r->str, r->len);
	else
		snprintf(why, len, "unexpected reply type %d", r->type);
	return (0);
}

/*
 * Queue AUTH [user] password as the first command of the new connection
 * ac: hiredis sends it once connected, ahead of anything queued after it.
 * cb gets the reply.  The password goes as an argument, never through a
 * format string.  Returns 1 if queued, 0 if no password is configured, -1
 * if hiredis refused the command.
 */
int
redis_auth(struct redisAsyncContext *ac, redis_cb *cb, void *arg)
{
	const char	*argv[3];
	size_t		 argvlen[3];
	int		 argc = 0;

	if (conf.redis_password == NULL)
		return (0);
	argv[argc] = "AUTH";
	argvlen[argc++] = 4;
	if (conf.redis_user != NULL) {
		argv[argc] = conf.redis_user;
		argvlen[argc++] = strlen(conf.redis_user);
	}
	argv[argc] = conf.redis_password;
	argvlen[argc++] = strlen(conf.redis_password);
	if (redisAsyncCommandArgv(ac, cb, arg, argc, argv, argvlen) !=
	    REDIS_OK)
		return (-1);
	return (1);
}

/*
 * The answer to the link's first command (AUTH, or PING without a
 * password): up, or refused (close and retry later).
 */
static void
redis_greeted(redisAsyncContext *ac, void *reply, void *arg)
{
	const redisReply	*r = reply;
	char			 why[LOG_ESCAPE_MAX * 4 + 32];
	char			 esc[LOG_ESCAPE_MAX * 4 + 1];
	int			 auth;

	(void)arg;
	if (ac != redis_ctx || !redis_greeting || r == NULL)
		return;		/* not the live link, or it was lost */
	if (conf.redis_password != NULL ?
	    redis_auth_ok(r, why, sizeof why) : r->type == REDIS_REPLY_STATUS) {
		redis_greeting = 0;
		redis_went_up();
		return;
	}
	auth = conf.redis_password != NULL;
	if (!auth && r->type == REDIS_REPLY_ERROR && r->str != NULL) {
		log_escape(esc, sizeof esc, r->str, r->len);
		auth = strncmp(r->str, "NOAUTH", 6) == 0;
		snprintf(why, sizeof why, "%s%s", esc, auth ?
		    " (redis_password is not set)" : "");
	} else if (!auth)
		snprintf(why, sizeof why, "unexpected reply type %d to PING",
		    r->type);
	redis_ctx = NULL;
	redisAsyncFree(ac);	/* freed once this callback returns */
	if (auth)
		redis_auth_failed(why);
	else
		redis_down(why);	/* e.g. LOADING: try again later */
}

/* hiredis: the connect finished or failed. */
static void
redis_connected(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		redis_ctx = NULL;	/* hiredis frees it after we return */
		redis_down(ac->errstr[0] != '\0' ? ac->errstr : "connect failed");
		return;
	}
	/* Up once the first command is answered (redis_greeted). */
	log_debug("event=redis_connected addr=%s auth=%s", conf.redis,
	    conf.redis_password != NULL ? "pending" : "none");
}

/* hiredis: the link is gone (context freed by hiredis after this). */
static void
redis_disconnected(const redisAsyncContext *ac, int status)
{
	if (ac != redis_ctx)
		return;		/* one we freed ourselves, already handled */
	redis_ctx = NULL;
	if (status == REDIS_OK && !redis_ping_pending)
		redis_down("disconnected");
	else if (redis_ping_pending)
		redis_down("no reply to PING");
	else
		redis_down(ac->errstr[0] != '\0' ? ac->errstr : "link lost");
}

/* evdns answered for redis_host: connect to the first address. */
static void
redis_resolved(int err, struct evutil_addrinfo *ai, void *arg)
{
	const void	*addr = NULL;
	char		 why[256];

	(void)arg;
	redis_dns_req = NULL;
	if (ai != NULL && ai->ai_family == AF_INET)
		addr = &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
	else if (ai != NULL && ai->ai_family == AF_INET6)
		addr = &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
	if (err == 0 && addr != NULL &&
	    evutil_inet_ntop(ai->ai_family, addr, redis_ip,
	    sizeof redis_ip) != NULL)
		redis_ip_fresh = 1;
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	if (redis_stopping || err == EVUTIL_EAI_CANCEL)
		return;
	if (!redis_ip_fresh) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", redis_host,
		    err != 0 ? evutil_gai_strerror(err) : "no IP address");
		redis_down(why);
		return;
	}
	log_debug("event=redis_resolved host=%s addr=%s", redis_host,
	    redis_ip);
	redis_connect();
}

/*
 * Return a new context connecting to conf.redis, attached to the loop, or
 * NULL with why set (a host name not looked up yet: why is NULL).  The
 * address is the last one resolved (revoke.c's subscriber opens its link
 * here too, while the main link is up).
 */
redisAsyncContext *
redis_async_connect(const char **why)
{
	static char		 err[128];
	redisAsyncContext	*ac;
	const char		*host = redis_host;

	*why = NULL;
	if (!redis_numeric && redis_dns != NULL) {
		if (redis_ip[0] == '\0')
			return (NULL);
		host = redis_ip;
	}
	if ((ac = redisAsyncConnect(host, redis_port)) == NULL) {
		*why = "out of memory";
		return (NULL);
	}
	if (ac->err) {
		snprintf(err, sizeof err, "%s", ac->errstr);
		*why = err;
		redisAsyncFree(ac);
		return (NULL);
	}
	if (redisLibeventAttach(ac, server_base) != REDIS_OK) {
		*why = "cannot attach to the event loop";
		redisAsyncFree(ac);
		return (NULL);
	}
	return (ac);
}

/* Start one connection attempt (looking the host name up first). */
static void
redis_connect(void)
{
	struct evutil_addrinfo	 hints;
	redisAsyncContext	*ac;
	const char		*why;
	char			 port[8];
	int			 rc;

	if (redis_dns_req != NULL)
		return;			/* a lookup is on its way */
	if (!redis_numeric && redis_dns != NULL && !redis_ip_fresh) {
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		snprintf(port, sizeof port, "%u", redis_port);
		/* The callback may run before this returns (/etc/hosts). */
		redis_dns_req = evdns_getaddrinfo(redis_dns, redis_host, port,
		    &hints, redis_resolved, NULL);
		return;
	}
	if ((ac = redis_async_connect(&why)) == NULL) {
		redis_down(why != NULL ? why : "no address");
		return;
	}
	redisAsyncSetConnectCallback(ac, redis_connected);
	redisAsyncSetDisconnectCallback(ac, redis_disconnected);
	redis_ctx = ac;
	/* AUTH, or PING to learn whether Redis wants a password. */
	if ((rc = redis_auth(ac, redis_greeted, NULL)) == 0)
		rc = redisAsyncCommand(ac, redis_greeted, NULL, "PING") ==
		    REDIS_OK ? 1 : -1;
	if (rc == -1) {
		redis_ctx = NULL;
		redisAsyncFree(ac);
		redis_down("cannot queue the first command");
		return;
	}
	redis_greeting = 1;
	redis_timer_set(REDIS_CONNECT_TIMEOUT);
}

/* PING answered (or dropped with a NULL reply on disconnect). */
static void
redis_ping_done(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	(void)arg;
	if (reply != NULL)
		redis_ping_pending = 0;
}

/* The timer: reconnect, give up a slow connect, or check liveness. */
static void
redis_tick(evutil_socket_t fd, short events, void *arg)
{
	redisAsyncContext	*ac;
	const char		*why;

	(void)fd;
	(void)events;
	(void)arg;
	if (redis_ctx == NULL) {
		redis_connect();
		return;
	}
	if (!redis_up) {
		/* Connecting, or connected and AUTH or PING unanswered. */
		ac = redis_ctx;
		redis_ctx = NULL;
		why = (ac->c.flags & REDIS_CONNECTED) ?
		    "no reply to the first command" : "connect timed out";
		redisAsyncFree(ac);
		redis_down(why);
		return;
	}
	if (redis_ping_pending) {
		/* Runs redis_disconnected, which reschedules. */
		redisAsyncFree(redis_ctx);
		return;
	}
	if (redisAsyncCommand(redis_ctx, redis_ping_done, NULL, "PING") ==
	    REDIS_OK)
		redis_ping_pending = 1;
	redis_timer_set(REDIS_PING_EVERY);
}

/*
 * SIGHUP (server.c): read redis_password_file again.  Links already
 * authenticated stay; the new password is sent on the next connect, at
 * once if the old one was being refused.
 */
void
redis_reload(void)
{
	char	*why;

	if (conf.redis_password_file == NULL || redis_timer == NULL)
		return;
	switch (config_reload_secrets(&why)) {
	case -1:
		log_warnx("event=redis_password_reload_failed reason=\"%s\" "
		    "action=keeping_old_password", why);
		free(why);
		return;
	case 0:
		log_debug("event=redis_password_unchanged file=%s",
		    conf.redis_password_file);
		return;
	default:
		break;
	}
	log_info("event=redis_password_reloaded file=%s",
	    conf.redis_password_file);
	if (!redis_up && redis_ctx == NULL && !redis_stopping) {
		redis_backoff = REDIS_BACKOFF_MIN;
		redis_timer_set(0);
	}
}

/* Return 1 if host is a numeric IPv4 or IPv6 address. */
static int
redis_is_numeric(const char *host)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1);
}

/* Start connecting to conf.redis; never fails for an unreachable Redis. */
int
redis_start(void)
{
	if (config_split_addr(conf.redis, &redis_host, &redis_port) != 0) {
		log_error("event=redis_failed addr=%s reason=bad_address",
		    conf.redis);
		return (-1);
	}
	redis_stopping = 0;
	redis_numeric = redis_is_numeric(redis_host);
	redis_ip[0] = '\0';
	redis_ip_fresh = 0;
	if (!redis_numeric && (redis_dns = evdns_base_new(server_base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL)
		log_warnx("event=redis_dns_failed host=%s reason=\"cannot read "
		    "the resolver configuration: hiredis resolves it, "
		    "blocking\"", redis_host);
	redis_timer = evtimer_new(server_base, redis_tick, NULL);
	redis_connect();
	return (0);
}

/* Close the connection and stop reconnecting. */
void
redis_stop(void)
{
	redisAsyncContext	*ac;

	redis_stopping = 1;
	if (redis_timer != NULL) {
		event_free(redis_timer);
		redis_timer = NULL;
	}
	if ((ac = redis_ctx) != NULL) {
		redis_ctx = NULL;
		redisAsyncFree(ac);
	}
	if (redis_dns_req != NULL) {
		evdns_getaddrinfo_cancel(redis_dns_req);
		redis_dns_req = NULL;
	}
	if (redis_dns != NULL) {
		evdns_base_free(redis_dns, 0);
		redis_dns = NULL;
	}
	redis_up = 0;
	redis_greeting = 0;
	redis_reported = REDIS_R_NONE;
	redis_nnotify = 0;
	free(redis_host);
	redis_host = NULL;
}

/*
 * Write the commands queued so far to the socket now, without waiting for
 * the loop (at shutdown, before redis_stop, so last deletions are sent).
 * Best effort: what the socket does not take is lost.
 */
void
redis_flush(void)
{
	if (redis_up && redis_ctx != NULL)
		redisAsyncHandleWrite(redis_ctx);
}

/*
 * Send a command (printf-like, hiredis format) if Redis is up; cb (may be
 * NULL) gets the reply, or NULL if the link drops first.  Returns 0, or -1
 * when Redis is down: the command is dropped, never queued.
 */
int
redis_command(redis_cb *cb, void *arg, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	if (!redis_up || redis_ctx == NULL)
		return (-1);
	va_start(ap, fmt);
	rc = redisvAsyncCommand(redis_ctx, cb, arg, fmt, ap);
	va_end(ap);
	return (rc == REDIS_OK ? 0 : -1);
}

/* As redis_command, with an argument vector (binary-safe). */
int
redis_command_argv(redis_cb *cb, void *arg, int argc, const char **argv,
    const size_t *argvlen)
{
	if (!redis_up || redis_ctx == NULL)
		return (-1);
	if (redisAsyncCommandArgv(redis_ctx, cb, arg, argc, argv,
	    argvlen) != REDIS_OK)
		return (-1);
	return (0);
}

/*
 * As redis_command, with one command already in the Redis protocol
 * (RESP): for hot paths that format their own, as presence does.  cmd[len]
 * must be NUL: hiredis reads one byte past a one-argument command.
 */
int
redis_command_formatted(redis_cb *cb, void *arg, const char *cmd, size_t len)
{
	if (!redis_up || redis_ctx == NULL)
		return (-1);
	if (redisAsyncFormattedCommand(redis_ctx, cb, arg, cmd, len) !=
	    REDIS_OK)
		return (-1);
	return (0);
}
