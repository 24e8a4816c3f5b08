/*
 * peer_tty.c -- interactive mode (placeholder until the screen lands).
 */
#include <stdio.h>

#include "peer.h"

const struct peer_ui peer_tty_ui;

/* Start interactive mode.  Returns 0, or -1 after saying why. */
int
peer_tty_run(struct peer *p)
{
	(void)p;
	fprintf(stderr, "peer: interactive mode is not available yet; "
	    "use --script\n");
	return (-1);
}

void
peer_tty_free(void)
{
}
