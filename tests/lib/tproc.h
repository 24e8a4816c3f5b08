/*
 * tproc.h -- child processes for the test harness and the benchmark:
 * start one with its output in a log, wait for it, stop it, see whether
 * it listens on a port, find free ports, clear away the temp dirs of
 * runs that died.  Plain C (no cmocka, no libevent), so both link it.
 */
#ifndef TPROC_H
#define TPROC_H

#include <sys/types.h>

#include <stdint.h>

#define TPROC_POLL_MS	10	/* ms between checks while waiting */

/* Monotonic milliseconds. */
int64_t	tproc_now_ms(void);

/* Sleep ms milliseconds (through signals). */
void	tproc_msleep(int ms);

/*
 * Fork and exec argv (argv[0] looked up in PATH unless it has a slash),
 * stdin from /dev/null, stdout and stderr appended to logpath, default
 * signal dispositions.  The child is killed if the caller dies
 * (PR_SET_PDEATHSIG).  who prefixes error messages.  Returns the pid or
 * -1.
 */
pid_t	tproc_spawn(char *const argv[], const char *logpath, const char *who);

/*
 * Wait up to timeout_ms for *pid to exit; once it has, reap it, store the
 * wait status in *status (if not NULL; -1 if it was not our child) and
 * set *pid to -1.  Returns 0 once exited (or *pid was already -1), -1 on
 * timeout.
 */
int	tproc_reap(pid_t *pid, int timeout_ms, int *status);

/*
 * SIGTERM, wait up to timeout_ms, then SIGKILL and wait again; reap.
 * Returns 0 once gone, -1 if even SIGKILL did not end it in time.
 */
int	tproc_stop(pid_t *pid, int timeout_ms, int *status, const char *who);

/*
 * Run argv to completion within timeout_ms (killed after).  Returns its
 * exit code, or -1 if it could not start, was killed or ran out of time.
 */
int	tproc_run(char *const argv[], const char *logpath, int timeout_ms,
	    const char *who);

/*
 * Return 1 if something listens on 127.0.0.1:port (IPv4 or IPv6 table)
 * and, when pid is not -1, that something is a socket process pid holds;
 * 0 if not.  Read from /proc/net (no probe connection shows up in a
 * server's counters); without /proc, a connect() probe.
 */
int	tproc_listening(int port, pid_t pid);

/*
 * Return a port the kernel just handed out on 127.0.0.1 that is none of
 * the n in avoid (it may hand out one just closed again), or -1.
 */
int	tproc_free_port(const int *avoid, int n);

/* Remove the tree at path.  Returns 0 or -1. */
int	tproc_rmtree(const char *path);

/*
 * Remove the dirs in tmp named prefix + pid + "." + anything whose
 * creator pid is gone (a run killed before it cleaned up), except those
 * holding a file named keep (NULL: none kept).  Concurrent runs are safe:
 * a live creator's dir is never touched.
 */
void	tproc_sweep(const char *tmp, const char *prefix, const char *keep);

#endif /* TPROC_H */
