/*
 * proc.c -- the processes the benchmark starts, and what /proc says about
 * them.
 *
 * Every child gets PR_SET_PDEATHSIG(SIGKILL), so nothing outlives a
 * benchmark that crashes, and is remembered until proc_stop, so the
 * SIGINT/SIGTERM/deadline handler and atexit can stop what is left by PID.
 * Readiness is "our pid holds a LISTEN socket on the port", read from
 * /proc/net/tcp: no probe connection shows up in a server's counters.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "load.h"
#include "lib/tproc.h"

#define PROC_KIDS	16	/* children alive at once, at most */
#define PROC_DIR_PREFIX	"peerd-bench."	/* + pid + ".XXXXXX" */

static volatile pid_t	proc_kids[PROC_KIDS];

/* Remember pid for the handlers. */
static void
proc_remember(pid_t pid)
{
	int	i;

	for (i = 0; i < PROC_KIDS; i++)
		if (proc_kids[i] == 0) {
			proc_kids[i] = pid;
			return;
		}
}

/* Forget pid. */
static void
proc_forget(pid_t pid)
{
	int	i;

	for (i = 0; i < PROC_KIDS; i++)
		if (proc_kids[i] == pid)
			proc_kids[i] = 0;
}

/* SIGKILL every child still remembered (async-signal-safe). */
void
proc_kill_all(void)
{
	int	i;

	for (i = 0; i < PROC_KIDS; i++)
		if (proc_kids[i] > 0) {
			kill(proc_kids[i], SIGKILL);
			proc_kids[i] = 0;
		}
}

/* SIGINT, SIGTERM, SIGALRM: stop the children and leave. */
static void
proc_on_signal(int sig)
{
	static const char	timeout[] = "bench: deadline passed, stopping\n";
	static const char	stop[] = "bench: interrupted, stopping\n";

	if (sig == SIGALRM)
		(void)!write(STDERR_FILENO, timeout, sizeof timeout - 1);
	else
		(void)!write(STDERR_FILENO, stop, sizeof stop - 1);
	proc_kill_all();
	_exit(sig == SIGALRM ? 3 : 130);
}

/* Install the handlers and arm the run's deadline. */
void
proc_guard(int deadline_s)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = proc_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(proc_kill_all);
	if (deadline_s > 0)
		alarm((unsigned)deadline_s);
}

/* Raise our descriptor limit toward LOAD_NOFILE; return the soft limit. */
long
proc_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return (-1);
	if (rl.rlim_max < LOAD_NOFILE) {
		struct rlimit	want = { LOAD_NOFILE, LOAD_NOFILE };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return (LOAD_NOFILE);	/* root may raise the hard one */
	}
	rl.rlim_cur = rl.rlim_max < LOAD_NOFILE ? rl.rlim_max : LOAD_NOFILE;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return ((long)rl.rlim_cur);
}

pid_t
proc_spawn(char *const argv[], const char *logpath)
{
	pid_t	pid;

	if ((pid = tproc_spawn(argv, logpath, "bench")) != -1)
		proc_remember(pid);
	return (pid);
}

int
proc_stop(pid_t *pid)
{
	pid_t	was = *pid;
	int	rc;

	rc = tproc_stop(pid, LOAD_STOP_MS, NULL, "bench");
	if (*pid == -1)
		proc_forget(was);
	return (rc);
}

int
proc_alive(pid_t *pid)
{
	pid_t	was = *pid;

	if (tproc_reap(pid, 0, NULL) == -1)
		return (1);
	proc_forget(was);
	return (0);
}

int
proc_run(char *const argv[], const char *logpath, int timeout_ms)
{
	return (tproc_run(argv, logpath, timeout_ms, "bench"));
}

int
proc_wait_listen(pid_t *pid, int port, int timeout_ms)
{
	int64_t	deadline = tproc_now_ms() + timeout_ms;

	for (;;) {
		if (!proc_alive(pid))
			return (-1);
		if (tproc_listening(port, *pid))
			return (0);
		if (tproc_now_ms() >= deadline)
			return (-1);
		tproc_msleep(TPROC_POLL_MS);
	}
}

int
proc_free_port(const int *avoid, int n)
{
	return (tproc_free_port(avoid, n));
}

int64_t
proc_cpu_us(pid_t pid)
{
	char			 path[64], buf[2048], *p;
	unsigned long long	 ut, st;
	long			 hz = sysconf(_SC_CLK_TCK);
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	/* The command name may hold spaces: fields start after the ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2 || hz <= 0)
		return (-1);
	return ((int64_t)((ut + st) * 1000000ULL / (unsigned long long)hz));
}

int
proc_counters(pid_t pid, uint64_t *syscalls, uint64_t *minflt)
{
	char			 path[64], line[256], buf[2048], *p;
	unsigned long long	 r = 0, w = 0, mf;
	ssize_t			 n;
	FILE			*f;
	int			 fd, got = 0;

	snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		got += sscanf(line, "syscr: %llu", &r) +
		    sscanf(line, "syscw: %llu", &w);
	fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (got != 2 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %llu", &mf) != 1)
		return (-1);
	*syscalls = r + w;
	*minflt = mf;
	return (0);
}

int64_t
proc_self_cpu_us(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return (-1);
	return ((int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

long
proc_rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return (kb);
}

int
proc_tmpdir(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	tproc_sweep(tmp, PROC_DIR_PREFIX, NULL);
	snprintf(bench.dir, sizeof bench.dir, "%s/" PROC_DIR_PREFIX
	    "%ld.XXXXXX", tmp, (long)getpid());
	if (mkdtemp(bench.dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", bench.dir,
		    strerror(errno));
		bench.dir[0] = '\0';
		return (-1);
	}
	return (0);
}

void
proc_tmpdir_remove(void)
{
	if (bench.dir[0] == '\0')
		return;
	if (bench.keep)
		fprintf(stderr, "bench: kept %s\n", bench.dir);
	else
		(void)tproc_rmtree(bench.dir);
	bench.dir[0] = '\0';
}

int
proc_path(char *out, const char *name)
{
	int	n;

	n = snprintf(out, LOAD_PATH, "%s/%s", bench.dir, name);
	return (n < 0 || n >= LOAD_PATH ? -1 : 0);
}

void
proc_log_tail(const char *path, int lines)
{
	FILE	*f;
	char	 line[1024];
	long	 size, off;
	int	 count = 0;

	if ((f = fopen(path, "r")) == NULL)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	/* Step back until enough newlines are behind the offset. */
	for (off = size - 1; off > 0 && count <= lines; off--) {
		fseek(f, off, SEEK_SET);
		if (fgetc(f) == '\n')
			count++;
	}
	fseek(f, off > 0 ? off + 2 : 0, SEEK_SET);
	fprintf(stderr, "---- last lines of %s\n", path);
	while (fgets(line, sizeof line, f) != NULL)
		fputs(line, stderr);
	fprintf(stderr, "----\n");
	fclose(f);
}
