/*
 * child.h -- the real `peer` program as a child process for integration
 * tests: stdin and stdout are pipes the test writes and reads line by
 * line, stderr is a file in the harness's temp dir.  Also a small helper
 * for peer's "key=value" event lines.
 *
 * child_start(), child_expect() and child_say() fail the running cmocka
 * test themselves, so a test reads as the conversation it checks.
 */
#ifndef CHILD_H
#define CHILD_H

#include <sys/types.h>

#include <stddef.h>

#include "harness.h"

#define CHILD_MS	(8000 * harness_slow()) /* ms, a line peer should
						   print soon */
#define CHILD_LINE_MAX	4096	/* bytes, one line of peer's stdout */

struct child {
	pid_t	 pid;			/* -1 once reaped */
	int	 in;			/* its stdin, -1 once closed */
	int	 out;			/* its stdout */
	char	 buf[CHILD_LINE_MAX];	/* read, not yet a whole line */
	size_t	 len;
	char	 err[HARNESS_PATH];	/* its stderr, a file */
};

/* Write dir/name into out (len bytes); fails the test if too long. */
void		 child_path(char *out, size_t len, const char *dir,
		     const char *name);

/*
 * Start $PEER_BIN --server 127.0.0.1:PORT --ca h->ca followed by the
 * NULL-terminated arguments, with HOME set to h->dir and stderr appended
 * to dir/errname.  port 0 means peerd's own port (h->port).
 */
struct child	*child_start(struct harness *h, int port, const char *errname,
		     const char *first, ...);

/* Write line and a newline to the child's stdin. */
void		 child_say(struct child *c, const char *line);

/* Close the child's stdin (end of input). */
void		 child_eof(struct child *c);

/*
 * Return the child's next stdout line (a static buffer), or NULL if none
 * came within timeout_ms or stdout closed.
 */
const char	*child_line(struct child *c, int timeout_ms);

/*
 * Return the next line, which must come within CHILD_MS and start with
 * prefix (else the test fails, saying what came).
 */
const char	*child_expect(struct child *c, const char *prefix);

/*
 * Wait up to timeout_ms for the child to exit.  Returns its exit status,
 * or -1 (killed by a signal, or still running).
 */
int		 child_wait(struct child *c, int timeout_ms);

/*
 * Wait up to timeout_ms for needle to occur at least n times in the
 * child's stderr.  Returns how many times it occurs then (fewer than n on
 * timeout).
 */
int		 child_err_wait(struct child *c, const char *needle, int n,
		     int timeout_ms);

/* Kill the child if it still runs, close its pipes, free it.  NULL ok. */
void		 child_free(struct child *c);

/*
 * Return the value of "key" (e.g. "conversation=") in an event line, up
 * to the next space, in a static buffer; "" if the line has no such key.
 */
const char	*child_field(const char *line, const char *key);

#endif
