/*
 * tclient.c -- a synchronous test client on libpeerclient.
 *
 * Each client has a private event_base that runs only inside the waiting
 * calls: event_base_loop(EVLOOP_ONCE) until the condition holds, with a
 * timer so that every wait ends by its deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "frame.h"
#include "harness.h"

#define TCLIENT_DETAIL	256	/* bytes, close detail kept */

struct tclient {
	struct event_base	 *base;
	struct event		 *ev_wake;
	struct peerclient_tls	 *tls;
	struct peerclient	 *pc;

	Envelope		**q;		/* received, oldest first */
	size_t			  qlen;
	size_t			  qcap;

	int			  connected;
	int			  closed;
	int			  nomem;
	enum peerclient_reason	  reason;
	char			  detail[TCLIENT_DETAIL];
};

static void
tclient_on_connected(struct peerclient *pc, void *arg)
{
	struct tclient	*c = arg;

	(void)pc;
	c->connected = 1;
}

static void
tclient_on_envelope(struct peerclient *pc, Envelope *env, void *arg)
{
	struct tclient	 *c = arg;
	Envelope	**q;
	size_t		  cap;

	(void)pc;
	if (c->qlen == c->qcap) {
		cap = c->qcap == 0 ? 16 : c->qcap * 2;
		if ((q = realloc(c->q, cap * sizeof *q)) == NULL) {
			c->nomem = 1;
			frame_free(env);
			return;
		}
		c->q = q;
		c->qcap = cap;
	}
	c->q[c->qlen++] = env;
}

static void
tclient_on_closed(struct peerclient *pc, enum peerclient_reason reason,
    const char *detail, void *arg)
{
	struct tclient	*c = arg;

	(void)pc;
	c->closed = 1;
	c->connected = 0;
	c->reason = reason;
	snprintf(c->detail, sizeof c->detail, "%s", detail);
}

/* Timer callback: only wakes event_base_loop up. */
static void
tclient_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

struct tclient *
tclient_open(int port, const char *ca_file, const char *verify_name)
{
	static const struct peerclient_callbacks cb = {
		tclient_on_connected, tclient_on_envelope, tclient_on_closed,
		NULL
	};
	struct tclient	*c;
	char		 portstr[16];
	int		 err;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return (NULL);
	if ((c->base = event_base_new()) == NULL ||
	    (c->ev_wake = evtimer_new(c->base, tclient_wake, c)) == NULL)
		goto fail;
	if ((c->tls = peerclient_tls_new(ca_file, &err)) == NULL) {
		fprintf(stderr, "tclient: TLS context: %s\n",
		    peerclient_strerror(err));
		goto fail;
	}
	if ((c->pc = peerclient_new(c->base, c->tls, &cb, c)) == NULL)
		goto fail;
	snprintf(portstr, sizeof portstr, "%d", port);
	err = peerclient_connect(c->pc, "127.0.0.1", portstr,
	    verify_name != NULL ? verify_name : "localhost");
	if (err != PEERCLIENT_OK) {
		fprintf(stderr, "tclient: connect: %s\n",
		    peerclient_strerror(err));
		goto fail;
	}
	return (c);
fail:
	tclient_free(c);
	return (NULL);
}

/* Condition for tclient_run(). */
typedef int (*tclient_cond)(struct tclient *, void *);

#define TCLIENT_POLL_PASSES	4	/* non-blocking loop passes at a deadline */

/*
 * Run the loop until cond holds or timeout_ms passes.  Returns 0 when it
 * holds, -1 on timeout.  Whatever has already arrived on the socket is
 * always looked at, even with timeout_ms 0 (the loop runs only inside
 * these calls, so without that a zero wait would see only what an earlier
 * call happened to read).
 */
static int
tclient_run(struct tclient *c, tclient_cond cond, void *arg, int timeout_ms)
{
	int64_t		deadline = harness_now_ms() + timeout_ms, left;
	struct timeval	tv;
	int		i;

	while (!cond(c, arg)) {
		if ((left = deadline - harness_now_ms()) <= 0) {
			for (i = 0; i < TCLIENT_POLL_PASSES && !cond(c, arg);
			    i++)
				event_base_loop(c->base, EVLOOP_NONBLOCK);
			evtimer_del(c->ev_wake);
			return (cond(c, arg) ? 0 : -1);
		}
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		evtimer_add(c->ev_wake, &tv);
		event_base_loop(c->base, EVLOOP_ONCE);
	}
	evtimer_del(c->ev_wake);
	return (0);
}

static int
tclient_cond_connected(struct tclient *c, void *arg)
{
	(void)arg;
	return (c->connected || c->closed);
}

int
tclient_wait_connected(struct tclient *c, int timeout_ms)
{
	tclient_run(c, tclient_cond_connected, NULL, timeout_ms);
	return (c->connected ? 0 : -1);
}

struct tclient *
tclient_connect(struct harness *h)
{
	struct tclient	*c;

	if ((c = tclient_open(h->port, h->ca, "localhost")) == NULL)
		return (NULL);
	if (tclient_wait_connected(c, HARNESS_IO_MS) == -1) {
		fprintf(stderr, "tclient: not connected: %s %s\n",
		    c->closed ? peerclient_reason_name(c->reason) : "timeout",
		    c->detail);
		tclient_free(c);
		return (NULL);
	}
	return (c);
}

int
tclient_send(struct tclient *c, const Envelope *env)
{
	return (peerclient_send(c->pc, env));
}

uint64_t
tclient_send_hello(struct tclient *c, Peerd__V1__Role role)
{
	struct peerclient_hello	h;
	uint64_t		id = peerclient_next_id(c->pc);

	peerclient_hello_init(&h, role, "peerd-tests/1");
	if (peerclient_send_hello(c->pc, &h, id) != PEERCLIENT_OK)
		return (0);
	return (id);
}

Envelope *
tclient_hello(struct tclient *c, Peerd__V1__Role role, int timeout_ms)
{
	if (tclient_send_hello(c, role) == 0)
		return (NULL);
	return (tclient_recv(c, 0, timeout_ms));
}

uint64_t
tclient_send_ping(struct tclient *c, uint64_t nonce)
{
	uint64_t	id = peerclient_next_id(c->pc);

	if (peerclient_send_ping(c->pc, id, nonce) != PEERCLIENT_OK)
		return (0);
	return (id);
}

/* Index of the first queued envelope with body (0: any), or -1. */
static ssize_t
tclient_find(struct tclient *c, int body)
{
	size_t	i;

	for (i = 0; i < c->qlen; i++)
		if (body == 0 || (int)c->q[i]->body_case == body)
			return ((ssize_t)i);
	return (-1);
}

static int
tclient_cond_recv(struct tclient *c, void *arg)
{
	return (tclient_find(c, *(int *)arg) != -1 || c->closed);
}

Envelope *
tclient_recv(struct tclient *c, int body, int timeout_ms)
{
	Envelope	*env;
	ssize_t		 i;

	tclient_run(c, tclient_cond_recv, &body, timeout_ms);
	if ((i = tclient_find(c, body)) == -1)
		return (NULL);
	env = c->q[i];
	memmove(&c->q[i], &c->q[i + 1], (c->qlen - i - 1) * sizeof *c->q);
	c->qlen--;
	return (env);
}

/* Index of the first queued envelope match accepts, or -1. */
static ssize_t
tclient_find_if(struct tclient *c, tclient_match match, void *arg)
{
	size_t	i;

	for (i = 0; i < c->qlen; i++)
		if (match(c->q[i], arg))
			return ((ssize_t)i);
	return (-1);
}

struct tclient_if {
	tclient_match	 match;
	void		*arg;
};

static int
tclient_cond_recv_if(struct tclient *c, void *arg)
{
	struct tclient_if	*t = arg;

	return (tclient_find_if(c, t->match, t->arg) != -1 || c->closed);
}

Envelope *
tclient_recv_if(struct tclient *c, tclient_match match, void *arg,
    int timeout_ms)
{
	struct tclient_if	 t = { match, arg };
	Envelope		*env;
	ssize_t			 i;

	tclient_run(c, tclient_cond_recv_if, &t, timeout_ms);
	if ((i = tclient_find_if(c, match, arg)) == -1)
		return (NULL);
	env = c->q[i];
	memmove(&c->q[i], &c->q[i + 1], (c->qlen - i - 1) * sizeof *c->q);
	c->qlen--;
	return (env);
}

static int
tclient_match_id(const Envelope *env, void *arg)
{
	return (env->id == *(uint64_t *)arg);
}

Envelope *
tclient_recv_id(struct tclient *c, uint64_t id, int timeout_ms)
{
	if (id == 0)
		return (NULL);
	return (tclient_recv_if(c, tclient_match_id, &id, timeout_ms));
}

size_t
tclient_queued(struct tclient *c)
{
	return (c->qlen);
}

static int
tclient_cond_flushed(struct tclient *c, void *arg)
{
	(void)arg;
	return (c->closed || peerclient_pending(c->pc) == 0);
}

int
tclient_flush(struct tclient *c, int timeout_ms)
{
	tclient_run(c, tclient_cond_flushed, NULL, timeout_ms);
	return (!c->closed && peerclient_pending(c->pc) == 0 ? 0 : -1);
}

const Envelope *
tclient_peek(struct tclient *c, size_t i)
{
	return (i < c->qlen ? c->q[i] : NULL);
}

static int
tclient_cond_closed(struct tclient *c, void *arg)
{
	(void)arg;
	return (c->closed);
}

int
tclient_wait_closed(struct tclient *c, int timeout_ms)
{
	return (tclient_run(c, tclient_cond_closed, NULL, timeout_ms));
}

int
tclient_closed(struct tclient *c)
{
	return (c->closed);
}

enum peerclient_reason
tclient_reason(struct tclient *c)
{
	return (c->reason);
}

const char *
tclient_detail(struct tclient *c)
{
	return (c->detail);
}

struct peerclient *
tclient_pc(struct tclient *c)
{
	return (c->pc);
}

void
tclient_free(struct tclient *c)
{
	size_t	i;

	if (c == NULL)
		return;
	peerclient_free(c->pc);
	peerclient_tls_free(c->tls);
	for (i = 0; i < c->qlen; i++)
		frame_free(c->q[i]);
	free(c->q);
	if (c->ev_wake != NULL)
		event_free(c->ev_wake);
	if (c->base != NULL)
		event_base_free(c->base);
	free(c);
}
