/*
 * tproc.c -- child processes for the test harness and the benchmark (see
 * tproc.h).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tproc.h"

int64_t
tproc_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
tproc_msleep(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

pid_t
tproc_spawn(char *const argv[], const char *logpath, const char *who)
{
	pid_t	pid, parent = getpid();
	int	fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
		return (-1);
	}
	if (pid != 0)
		return (pid);

	/* Child: die with the caller, default signals, quiet stdin. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
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
	fprintf(stderr, "%s: exec %s: %s\n", who, argv[0], strerror(errno));
	_exit(127);
}

int
tproc_reap(pid_t *pid, int timeout_ms, int *status)
{
	int64_t	deadline = tproc_now_ms() + timeout_ms;
	pid_t	r;
	int	st = 0;

	if (*pid <= 0)
		return (0);
	for (;;) {
		r = waitpid(*pid, &st, WNOHANG);
		if (r == *pid || (r == -1 && errno == ECHILD)) {
			if (status != NULL)
				*status = r == *pid ? st : -1;
			*pid = -1;
			return (0);
		}
		if (tproc_now_ms() >= deadline)
			return (-1);
		tproc_msleep(TPROC_POLL_MS);
	}
}

int
tproc_stop(pid_t *pid, int timeout_ms, int *status, const char *who)
{
	if (*pid <= 0)
		return (0);
	kill(*pid, SIGTERM);
	if (tproc_reap(pid, timeout_ms, status) == 0)
		return (0);
	fprintf(stderr, "%s: pid %ld ignored SIGTERM; SIGKILL\n", who,
	    (long)*pid);
	kill(*pid, SIGKILL);
	return (tproc_reap(pid, timeout_ms, status));
}

int
tproc_run(char *const argv[], const char *logpath, int timeout_ms,
    const char *who)
{
	pid_t	pid;
	int	status = -1;

	if ((pid = tproc_spawn(argv, logpath, who)) == -1)
		return (-1);
	if (tproc_reap(&pid, timeout_ms, &status) == -1) {
		kill(pid, SIGKILL);
		(void)tproc_reap(&pid, timeout_ms, &status);
		return (-1);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * Look for a LISTEN socket on port in one /proc/net/tcp* file.  Returns 1
 * (its inode in *inode), 0 if there is none, -1 if the file is unreadable.
 */
static int
tproc_listen_inode(const char *path, int port, unsigned long *inode)
{
	FILE		*f;
	char		 line[512], local[128], *colon;
	unsigned int	 lport, st;
	unsigned long	 ino;
	int		 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		/* The header line does not scan. */
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
tproc_has_socket(pid_t pid, unsigned long inode)
{
	char		 dir[64], path[PATH_MAX], link[128], want[64];
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
tproc_listening(int port, pid_t pid)
{
	struct sockaddr_in	sin;
	unsigned long		inode;
	int			r, fd, ok;

	r = tproc_listen_inode("/proc/net/tcp", port, &inode);
	if (r != 1 && tproc_listen_inode("/proc/net/tcp6", port, &inode) == 1)
		r = 1;
	if (r == 1)
		return (pid == -1 || tproc_has_socket(pid, inode));
	if (r == 0)
		return (0);
	/* No /proc: fall back to a probe connection. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return (ok);
}

/* Return a port the kernel just handed out on 127.0.0.1, or -1. */
static int
tproc_one_port(void)
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
tproc_free_port(const int *avoid, int n)
{
	int	try, i, port, clash;

	for (try = 0; try < 32; try++) {
		if ((port = tproc_one_port()) == -1)
			return (-1);
		for (clash = 0, i = 0; i < n; i++)
			clash |= avoid[i] == port;
		if (!clash)
			return (port);
	}
	return (-1);
}

/* nftw callback: remove one entry. */
static int
tproc_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path) == -1 ? -1 : 0);
}

int
tproc_rmtree(const char *path)
{
	return (nftw(path, tproc_rm, 16, FTW_DEPTH | FTW_PHYS));
}

void
tproc_sweep(const char *tmp, const char *prefix, const char *keep)
{
	char		 path[PATH_MAX], kept[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	char		*end;
	long		 pid;
	int		 n;

	if ((d = opendir(tmp)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (pid <= 1 || *end != '.' || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		n = snprintf(path, sizeof path, "%s/%s", tmp, de->d_name);
		if (n < 0 || (size_t)n >= sizeof path)
			continue;
		if (keep != NULL) {
			n = snprintf(kept, sizeof kept, "%s/%s", path, keep);
			if (n < 0 || (size_t)n >= sizeof kept ||
			    access(kept, F_OK) == 0)
				continue;
		}
		(void)tproc_rmtree(path);
	}
	closedir(d);
}
