/*
 * pane.h -- interactive `peer` in a detached tmux session: run shell
 * commands (tmux itself) and wait for text on the pane.
 */
#ifndef PANE_H
#define PANE_H

#include <stddef.h>

/*
 * Return shell assignments (a static buffer, ending in a blank) to put
 * before a program run in a tmux pane: this process's ASAN_OPTIONS and
 * UBSAN_OPTIONS (the tmux server has its own environment) with reports
 * written to dir/pane-san.PID, where the harness's teardown check finds
 * them (a pane's own output is gone with the pane).
 */
const char	*pane_san_env(const char *dir);

/* Run a shell command made from fmt; return its exit status or -1. */
int		 pane_sh(const char *fmt, ...)
		     __attribute__((format(printf, 1, 2)));

/* Copy what the tmux pane session shows into buf (len bytes). */
void		 pane_capture(const char *session, char *buf, size_t len);

/*
 * Wait up to timeout_ms until the pane shows needle.  Returns 0, or -1
 * after printing the pane to stderr.
 */
int		 pane_wait(const char *session, const char *needle,
		     int timeout_ms);

#endif
