/*
 * relay.c -- a TCP relay the test can cut (see relay.h).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "relay.h"

#define RELAY_FD_MAX	1024	/* fds closed in the relay, from 3 */

/* Relay bytes between two sockets until either closes. */
static void
relay_copy(int a, int b)
{
	struct pollfd	pfd[2];
	char		buf[16384];
	ssize_t		n;
	int		i;

	pfd[0].fd = a;
	pfd[1].fd = b;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) <= 0)
			return;
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof buf);
			if (n <= 0 || write(pfd[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

int
relay_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

pid_t
relay_start(struct harness *h, int port)
{
	struct sockaddr_in	 sin;
	pid_t			 pid;
	int			 lfd, cfd, sfd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sin.sin_port = htons((uint16_t)port);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_true((pid = fork()) != -1);
	if (pid > 0) {
		close(lfd);
		return (pid);
	}
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Hold no copy of the test's pipes: a child's stdin must reach EOF. */
	for (cfd = 3; cfd < RELAY_FD_MAX; cfd++) {
		if (cfd != lfd)
			close(cfd);
	}
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((cfd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		sfd = socket(AF_INET, SOCK_STREAM, 0);
		sin.sin_port = htons((uint16_t)h->port);
		if (sfd == -1 || connect(sfd, (struct sockaddr *)&sin,
		    sizeof sin) == -1) {
			close(cfd);
			if (sfd != -1)
				close(sfd);
			continue;
		}
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			relay_copy(cfd, sfd);
			_exit(0);
		}
		close(cfd);
		close(sfd);
	}
}

void
relay_stop(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
