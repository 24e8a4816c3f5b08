/*
 * listener.c -- accept client connections on conf.listen.
 *
 * Out of file descriptors (EMFILE, ENFILE) the listener is disabled for
 * LISTENER_BACKOFF and then re-enabled, rather than spinning on a socket
 * that stays readable (as tmux's server_accept does).
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "peerd.h"

#define LISTENER_BACKLOG	512	/* pending connections in the kernel */

static struct evconnlistener	*listener;
static struct event		*listener_ev_resume;

/* Accept one connection: hand it to conn.c. */
static void
listener_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)arg;
	conn_new(fd, sa, salen);
}

/* The back-off is over: accept again. */
static void
listener_resume(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (listener != NULL && !server_stopping()) {
		evconnlistener_enable(listener);
		log_info("event=accept_resumed");
	}
}

/*
 * accept() on l just failed: log it as event=<what>_failed (nconns: how
 * many connections that port has).  Out of descriptors or memory, the
 * pending connection stays queued and the socket readable, so the loop
 * would call accept() again at once, for ever: disable l and add resume
 * (a timer that enables it again) for LISTENER_BACKOFF seconds.  Any
 * other error: accepting goes on.  The admin port (admin.c) backs off
 * the same way.
 */
void
listener_backoff(struct evconnlistener *l, struct event *resume,
    const char *what, u_int nconns)
{
	struct timeval	tv = { LISTENER_BACKOFF, 0 };
	int		error = EVUTIL_SOCKET_ERROR();

	if (error != EMFILE && error != ENFILE && error != ENOBUFS &&
	    error != ENOMEM) {
		log_warnx("event=%s_failed reason=\"%s\"", what,
		    strerror(error));
		return;
	}
	evconnlistener_disable(l);
	evtimer_add(resume, &tv);
	log_warnx("event=%s_failed reason=\"%s\" conns=%u action=pause_%ds",
	    what, strerror(error), nconns, LISTENER_BACKOFF);
}

/* accept() failed: back off when out of descriptors, else just log. */
static void
listener_error(struct evconnlistener *l, void *arg)
{
	(void)arg;
	listener_backoff(l, listener_ev_resume, "accept", stats.conns);
}

/* Bind conf.listen and start accepting; 0 or -1 (logged). */
int
listener_start(void)
{
	struct sockaddr_storage	ss;
	int			sslen = sizeof ss;

	if (evutil_parse_sockaddr_port(conf.listen, (struct sockaddr *)&ss,
	    &sslen) != 0) {
		log_error("event=listen_failed addr=%s reason=bad_address",
		    conf.listen);
		return (-1);
	}
	listener = evconnlistener_new_bind(server_base, listener_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    LISTENER_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (listener == NULL) {
		log_error("event=listen_failed addr=%s reason=\"%s\"",
		    conf.listen, strerror(errno));
		return (-1);
	}
	evconnlistener_set_error_cb(listener, listener_error);
	listener_ev_resume = evtimer_new(server_base, listener_resume, NULL);
	log_info("event=listening addr=%s proto=tls", conf.listen);
	return (0);
}

/* Stop accepting and close the socket. */
void
listener_stop(void)
{
	if (listener_ev_resume != NULL) {
		event_free(listener_ev_resume);
		listener_ev_resume = NULL;
	}
	if (listener != NULL) {
		evconnlistener_free(listener);
		listener = NULL;
		log_info("event=listen_closed addr=%s", conf.listen);
	}
}
