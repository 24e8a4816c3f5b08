/*
 * child.c -- the real `peer` program as a child with pipes (see child.h).
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"

#define CHILD_ARGS	32	/* argv entries, with the NULL */

void
child_path(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		fail_msg("path too long: %s/%s", dir, name);
}

struct child *
child_start(struct harness *h, int port, const char *errname,
    const char *first, ...)
{
	struct child	*c;
	char		*argv[CHILD_ARGS], server[64];
	int		 in[2], out[2], fd, n = 0;
	const char	*a;
	va_list		 ap;

	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set (make test sets it)");
	assert_non_null(c = calloc(1, sizeof *c));
	snprintf(server, sizeof server, "127.0.0.1:%d",
	    port != 0 ? port : h->port);
	child_path(c->err, sizeof c->err, h->dir, errname);
	argv[n++] = (char *)h->peer_bin;
	argv[n++] = (char *)"--server";
	argv[n++] = server;
	argv[n++] = (char *)"--ca";
	argv[n++] = h->ca;
	va_start(ap, first);
	for (a = first; a != NULL && n < CHILD_ARGS - 1;
	    a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_true((c->pid = fork()) != -1);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		if ((fd = open(c->err, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) != -1)
			dup2(fd, 2);
		close(in[1]);
		close(out[0]);
		setenv("HOME", h->dir, 1);
		unsetenv("XDG_CONFIG_HOME");
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	signal(SIGPIPE, SIG_IGN);
	return (c);
}

void
child_say(struct child *c, const char *line)
{
	size_t	len = strlen(line);

	assert_int_equal(write(c->in, line, len), (ssize_t)len);
	assert_int_equal(write(c->in, "\n", 1), 1);
}

void
child_eof(struct child *c)
{
	if (c->in != -1)
		close(c->in);
	c->in = -1;
}

const char *
child_line(struct child *c, int timeout_ms)
{
	static char	 line[CHILD_LINE_MAX];
	struct pollfd	 pfd;
	int64_t		 end = harness_now_ms() + timeout_ms;
	char		*nl;
	ssize_t		 n;
	size_t		 len;

	pfd.fd = c->out;
	pfd.events = POLLIN;
	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			len = (size_t)(nl - c->buf);
			memcpy(line, c->buf, len);
			line[len] = '\0';
			memmove(c->buf, nl + 1, c->len - len - 1);
			c->len -= len + 1;
			return (line);
		}
		if (harness_now_ms() >= end ||
		    poll(&pfd, 1, (int)(end - harness_now_ms())) != 1)
			return (NULL);
		n = read(c->out, c->buf + c->len, sizeof c->buf - c->len - 1);
		if (n <= 0)
			return (NULL);
		c->len += (size_t)n;
	}
}

const char *
child_expect(struct child *c, const char *prefix)
{
	const char	*got = child_line(c, CHILD_MS);

	if (got == NULL)
		fail_msg("expected \"%s...\", got nothing", prefix);
	if (strncmp(got, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", prefix, got);
	return (got);
}

int
child_wait(struct child *c, int timeout_ms)
{
	int64_t	end = harness_now_ms() + timeout_ms;
	int	status;

	if (c->pid == -1)
		return (-1);
	while (harness_now_ms() < end) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = -1;
			return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		harness_msleep(20);
	}
	return (-1);
}

/* Return how many times needle occurs in the file path (0 if unreadable). */
static int
child_count(const char *path, const char *needle)
{
	char	 buf[65536];
	FILE	*fp;
	size_t	 n;
	int	 count = 0;
	char	*p;

	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		count++;
	return (count);
}

int
child_err_wait(struct child *c, const char *needle, int n, int timeout_ms)
{
	int64_t	end = harness_now_ms() + timeout_ms;
	int	got;

	while ((got = child_count(c->err, needle)) < n &&
	    harness_now_ms() < end)
		harness_msleep(20);
	return (got);
}

void
child_free(struct child *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	child_eof(c);
	close(c->out);
	free(c);
}

const char *
child_field(const char *line, const char *key)
{
	static char	 buf[256];
	const char	*p;
	size_t		 n;

	if ((p = strstr(line, key)) == NULL)
		return ("");
	p += strlen(key);
	n = strcspn(p, " ");
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return (buf);
}
