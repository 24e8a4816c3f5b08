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
 * hiredis frees the context itself after the connect callback reports a
 * failure and after the disconnect callback: redis_ctx is dropped there.
 * On disconnect, hiredis calls every pending command callback with a NULL
 * reply: callers must treat NULL as "dropped".
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "peerd.h"

static redisAsyncContext	*redis_ctx;
static struct event		*redis_timer;
static char			*redis_host;
static u_short			 redis_port;
static int			 redis_up;
static int			 redis_reported;	/* down state logged */
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

/* Record a failed attempt or a lost link and schedule the next attempt. */
static void
redis_down(const char *why)
{
	int	was_up = redis_up;

	redis_up = 0;
	redis_ping_pending = 0;
	if (redis_stopping)
		return;
	if (was_up || !redis_reported) {
		log_warnx("event=redis_down addr=%s reason=\"%s\" "
		    "retry_in=%us", conf.redis, why, redis_backoff);
		redis_reported = 1;
		if (was_up)
			redis_tell(0);
	} else {
		log_debug("event=redis_retry_failed addr=%s reason=\"%s\" "
		    "retry_in=%us", conf.redis, why, redis_backoff);
	}
	redis_timer_set(redis_backoff);
	redis_backoff *= 2;
	if (redis_backoff > REDIS_BACKOFF_MAX)
		redis_backoff = REDIS_BACKOFF_MAX;
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
	redis_up = 1;
	redis_reported = 0;
	redis_backoff = REDIS_BACKOFF_MIN;
	log_info("event=redis_up addr=%s", conf.redis);
	evtimer_del(redis_timer);
	redis_timer_set(REDIS_PING_EVERY);
	redis_tell(1);
}

/* hiredis: the link is gone (context freed by hiredis after this). */
static void
redis_disconnected(const redisAsyncContext *ac, int status)
{
	redis_ctx = NULL;
	if (status == REDIS_OK && !redis_ping_pending)
		redis_down("disconnected");
	else if (redis_ping_pending)
		redis_down("no reply to PING");
	else
		redis_down(ac->errstr[0] != '\0' ? ac->errstr : "link lost");
}

/* Start one connection attempt. */
static void
redis_connect(void)
{
	redisAsyncContext	*ac;

	ac = redisAsyncConnect(redis_host, redis_port);
	if (ac == NULL) {
		redis_down("out of memory");
		return;
	}
	if (ac->err) {
		redis_down(ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	if (redisLibeventAttach(ac, server_base) != REDIS_OK) {
		redisAsyncFree(ac);
		redis_down("cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, redis_connected);
	redisAsyncSetDisconnectCallback(ac, redis_disconnected);
	redis_ctx = ac;
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

	(void)fd;
	(void)events;
	(void)arg;
	if (redis_ctx == NULL) {
		redis_connect();
		return;
	}
	if (!redis_up) {
		ac = redis_ctx;
		redis_ctx = NULL;
		redisAsyncFree(ac);	/* not connected: no callbacks run */
		redis_down("connect timed out");
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
	redis_up = 0;
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
