/*
 * relay.h -- a TCP relay between a client and peerd that a test can cut,
 * to drop connections the way a network would (no close_notify, no
 * EndConversation), then bring back on the same port.
 */
#ifndef RELAY_H
#define RELAY_H

#include <sys/types.h>

#include "harness.h"

/* Return a free TCP port on 127.0.0.1 (fails the test if none). */
int		 relay_free_port(void);

/*
 * Fork a relay listening on 127.0.0.1:port that connects each accepted
 * connection to peerd (h->port) and relays it in a child of its own.
 * Returns the relay's pid, which leads a process group of its own.
 */
pid_t		 relay_start(struct harness *h, int port);

/* Cut the relay and every connection through it at once. */
void		 relay_stop(pid_t pid);

#endif
