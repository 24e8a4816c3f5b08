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

#define PROC_KIDS	16	/* children alive at once, at most */
#define PROC_POLL_MS	10	/* ms between checks while waiting */
#define PROC_DIR_PREFIX	"peerd-bench."	/* + pid + ".XXXXXX" */

static volatile pid_t	proc_kids[PROC_KIDS];

/* Sleep ms milliseconds. */
static void
proc_msleep(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

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
	pid_t	pid, parent = getpid();
	int	fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		return (-1);
	}
	if (pid != 0) {
		proc_remember(pid);
		return (pid);
	}

	/* Child: die with the benchmark, many descriptors, quiet stdin. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	(void)proc_raise_nofile();
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Wait up to ms for *pid to exit; reap it.  0 once gone, -1 if alive. */
static int
proc_reap(pid_t *pid, int ms, int *status)
{
	int64_t	deadline = loop_now_ns() + (int64_t)ms * 1000000;
	pid_t	r;
	int	st = 0;

	if (*pid <= 0)
		return (0);
	for (;;) {
		r = waitpid(*pid, &st, WNOHANG);
		if (r == *pid || (r == -1 && errno == ECHILD)) {
			if (status != NULL)
				*status = st;
			proc_forget(*pid);
			*pid = -1;
			return (0);
		}
		if (loop_now_ns() >= deadline)
			return (-1);
		proc_msleep(PROC_POLL_MS);
	}
}

int
proc_stop(pid_t *pid)
{
	if (*pid <= 0)
		return (0);
	kill(*pid, SIGTERM);
	if (proc_reap(pid, LOAD_STOP_MS, NULL) == 0)
		return (0);
	fprintf(stderr, "bench: pid %ld ignored SIGTERM; SIGKILL\n",
	    (long)*pid);
	kill(*pid, SIGKILL);
	return (proc_reap(pid, LOAD_STOP_MS, NULL));
}

int
proc_alive(pid_t *pid)
{
	return (proc_reap(pid, 0, NULL) == -1);
}

int
proc_run(char *const argv[], const char *logpath, int timeout_ms)
{
	pid_t	pid;
	int	status = -1;

	if ((pid = proc_spawn(argv, logpath)) == -1)
		return (-1);
	if (proc_reap(&pid, timeout_ms, &status) == -1) {
		proc_stop(&pid);
		return (-1);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * Look for a LISTEN socket on port in one /proc/net/tcp* file.  Returns 1
 * with its inode in *inode, 0 if there is none, -1 if unreadable.
 */
static int
proc_listen_inode(const char *path, int port, unsigned long *inode)
{
	FILE		*f;
	char		 line[512], local[128], *colon;
	unsigned int	 lport, st;
	unsigned long	 ino;
	int		 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%*d: %127s %*s %x %*s %*s %*s %*s %*s %lu",
		    local, &st, &ino) != 3)
			continue;
		if ((colon = strrchr(local, ':')) == NULL ||
		    sscanf(colon + 1, "%x", &lport) != 1)
			continue;
		if ((int)lport == port && st == 0x0a) {	/* TCP_LISTEN */
			*inode = ino;
			found = 1;
			break;
		}
	}
	fclose(f);
	return (found);
}

/* Return 1 if process pid holds the socket with this inode. */
static int
proc_has_socket(pid_t pid, unsigned long inode)
{
	char		 dir[64], path[LOAD_PATH], link[128], want[64];
	struct dirent	*de;
	DIR		*d;
	ssize_t		 n;
	int		 found = 0;

	snprintf(dir, sizeof dir, "/proc/%ld/fd", (long)pid);
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	if ((d = opendir(dir)) == NULL)
		return (0);
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if ((n = readlink(path, link, sizeof link - 1)) <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return (found);
}

int
proc_wait_listen(pid_t *pid, int port, int timeout_ms)
{
	int64_t		deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
	unsigned long	inode;

	for (;;) {
		if (!proc_alive(pid))
			return (-1);
		if (proc_listen_inode("/proc/net/tcp", port, &inode) == 1 &&
		    proc_has_socket(*pid, inode))
			return (0);
		if (loop_now_ns() >= deadline)
			return (-1);
		proc_msleep(PROC_POLL_MS);
	}
}

/* Return a port the kernel just handed out on 127.0.0.1, or -1. */
static int
proc_one_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

int
proc_free_port(const int *avoid, int n)
{
	int	try, i, port, clash;

	for (try = 0; try < 32; try++) {
		if ((port = proc_one_port()) == -1)
			return (-1);
		for (clash = 0, i = 0; i < n; i++)
			clash |= avoid[i] == port;
		if (!clash)
			return (port);
	}
	return (-1);
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

/* nftw callback: remove one entry. */
static int
proc_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path) == -1 ? -1 : 0);
}

/* Remove temp dirs of benchmark runs whose process is gone. */
static void
proc_sweep(const char *tmp)
{
	char		 path[LOAD_PATH];
	struct dirent	*de;
	DIR		*d;
	char		*end;
	long		 pid;

	if ((d = opendir(tmp)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, PROC_DIR_PREFIX,
		    strlen(PROC_DIR_PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(PROC_DIR_PREFIX), &end, 10);
		if (pid <= 1 || *end != '.' || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmp, de->d_name);
		nftw(path, proc_rm, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

int
proc_tmpdir(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	proc_sweep(tmp);
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
		nftw(bench.dir, proc_rm, 16, FTW_DEPTH | FTW_PHYS);
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
