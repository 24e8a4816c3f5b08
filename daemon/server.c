/*
 * server.c -- the event base, signals, start-up and orderly shutdown.
 *
 * Shutdown (SIGTERM, SIGINT): stop accepting, send every client
 * Error{SHUTTING_DOWN, fatal}, wait for their output to flush but no longer
 * than SERVER_STOP_WAIT, then leave the loop.  SIGHUP reloads the TLS
 * certificate and key (tls.c), and the signing key and requester secret
 * (auth.c), each pair whole or not at all, and the Redis password file
 * (redis.c).  Signals arrive as events, never in a raw
 * handler.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "peerd.h"

#define SERVER_STOP_WAIT	2	/* seconds to flush clients at shutdown */

struct event_base	*server_base;
struct stats		 stats;

static struct event	*server_ev_term;
static struct event	*server_ev_int;
static struct event	*server_ev_hup;
static struct event	*server_ev_stop;	/* bounds the shutdown flush */
static int		 server_stopping_now;

/*
 * Send a state line to the service manager if NOTIFY_SOCKET is set
 * (sd_notify protocol: one datagram to a unix socket; '@' means the
 * abstract namespace).  Failures are logged, never fatal.
 */
void
server_notify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 len;
	size_t			 plen;
	int			 fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    plen >= sizeof sun.sun_path) {
		log_warnx("event=notify_failed reason=bad_socket_path");
		return;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("event=notify_failed");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("event=notify_failed state=%s", state);
	close(fd);
}

/* Return 1 once shutdown has begun. */
int
server_stopping(void)
{
	return (server_stopping_now);
}

/* Leave the loop once the last client is gone during shutdown. */
void
server_conn_gone(void)
{
	if (server_stopping_now && stats.conns == 0)
		event_base_loopexit(server_base, NULL);
}

/* The shutdown flush took too long: leave anyway. */
static void
server_stop_timeout(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	log_info("event=shutdown_timeout conns=%u", stats.conns);
	event_base_loopexit(server_base, NULL);
}

/* Begin an orderly shutdown; a second signal leaves at once. */
static void
server_signal_stop(evutil_socket_t sig, short events, void *arg)
{
	struct timeval	tv = { SERVER_STOP_WAIT, 0 };

	(void)events;
	(void)arg;
	if (server_stopping_now) {
		log_info("event=shutdown_now signal=%d", (int)sig);
		event_base_loopbreak(server_base);
		return;
	}
	server_stopping_now = 1;
	log_info("event=shutdown signal=%s conns=%u",
	    sig == SIGTERM ? "TERM" : "INT", stats.conns);
	server_notify("STOPPING=1");
	listener_stop();
	admin_stop();
	server_ev_stop = evtimer_new(server_base, server_stop_timeout, NULL);
	evtimer_add(server_ev_stop, &tv);
	conn_shutdown_all();
	server_conn_gone();
}

/*
 * SIGHUP: reload the certificate, the signing keys and requester secret,
 * and the Redis password.  The reloads are independent: a bad certificate
 * does not hold back a new signing key, nor the other way round.
 */
static void
server_signal_hup(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	log_info("event=reload signal=HUP");
	tls_reload();
	auth_reload();
	redis_reload();
}

/* Create the event base and signal events; then listeners and Redis. */
int
server_start(void)
{
	struct event_config	*cfg;
	char			*why;

	signal(SIGPIPE, SIG_IGN);
	if ((cfg = event_config_new()) == NULL)
		fatalx("event=start_failed reason=event_config_new");
	/*
	 * Apply event changes once per turn of the loop, just before
	 * epoll_wait, so that an add and a delete of the same event in one
	 * turn cost no system call (conn.c writes output in the turn that
	 * queues it).  No descriptor of ours is dup()ed, the one case the
	 * changelist gets wrong.
	 */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	if ((server_base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event=start_failed reason=event_base_new");
	event_config_free(cfg);

	server_ev_term = evsignal_new(server_base, SIGTERM,
	    server_signal_stop, NULL);
	server_ev_int = evsignal_new(server_base, SIGINT,
	    server_signal_stop, NULL);
	server_ev_hup = evsignal_new(server_base, SIGHUP,
	    server_signal_hup, NULL);
	if (server_ev_term == NULL || server_ev_int == NULL ||
	    server_ev_hup == NULL ||
	    evsignal_add(server_ev_term, NULL) != 0 ||
	    evsignal_add(server_ev_int, NULL) != 0 ||
	    evsignal_add(server_ev_hup, NULL) != 0)
		fatalx("event=start_failed reason=signals");

	if (auth_init(&why) != 0) {
		log_error("event=start_failed reason=\"%s\"", why);
		free(why);
		return (-1);
	}
	if (match_start() != 0)
		return (-1);
	if (listener_start() != 0)
		return (-1);
	if (admin_start() != 0)
		return (-1);
	if (priv_drop() != 0)		/* ports bound, keys read */
		return (-1);
	redis_start();
	presence_start();
	revoke_start();
	return (0);
}

/* Run the loop until shutdown; free everything; returns the exit code. */
int
server_run(void)
{
	log_info("event=ready version=%s listen=%s admin=%s redis=%s "
	    "node=%s tags=%u", PEERD_VERSION, conf.listen, conf.admin_listen,
	    conf.redis, conf.node_id, conf.ntags);
	server_notify("READY=1");

	event_base_dispatch(server_base);

	conn_free_all();
	conv_shutdown_all();
	supporter_stop();
	match_stop();
	resume_stop();
	listener_stop();
	admin_stop();
	revoke_stop();
	presence_stop();	/* deletes our records before the link goes */
	redis_stop();
	if (server_ev_stop != NULL)
		event_free(server_ev_stop);
	event_free(server_ev_term);
	event_free(server_ev_int);
	event_free(server_ev_hup);
	event_base_free(server_base);
	server_base = NULL;
	tls_free();
	auth_shutdown();
	log_info("event=stopped accepted=%llu tls_failed=%llu",
	    (unsigned long long)stats.accepted,
	    (unsigned long long)stats.tls_failed);
	return (0);
}
