/*
 * pane.c -- interactive `peer` in tmux (see pane.h).
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pane.h"

#define PANE_POLL_MS	50	/* ms between captures */
#define PANE_MAX	16384	/* bytes of a captured pane */

const char *
pane_san_env(const char *dir)
{
	static char	 buf[2048];
	const char	*asan = getenv("ASAN_OPTIONS");
	const char	*ubsan = getenv("UBSAN_OPTIONS");

	snprintf(buf, sizeof buf, "ASAN_OPTIONS=\"%s%slog_path=%s/pane-san\" "
	    "UBSAN_OPTIONS=\"%s%slog_path=%s/pane-san\" ",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "",
	    dir, ubsan != NULL ? ubsan : "",
	    ubsan != NULL && *ubsan != '\0' ? ":" : "", dir);
	return (buf);
}

int
pane_sh(const char *fmt, ...)
{
	char	cmd[4096];
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return (rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc));
}

void
pane_capture(const char *session, char *buf, size_t len)
{
	char	 cmd[256];
	FILE	*p;
	size_t	 n = 0;

	snprintf(cmd, sizeof cmd, "tmux capture-pane -p -t %s 2>/dev/null",
	    session);
	if ((p = popen(cmd, "r")) != NULL) {
		n = fread(buf, 1, len - 1, p);
		pclose(p);
	}
	buf[n] = '\0';
}

int
pane_wait(const char *session, const char *needle, int timeout_ms)
{
	int64_t	 end = harness_now_ms() + timeout_ms;
	char	 buf[PANE_MAX];

	for (;;) {
		pane_capture(session, buf, sizeof buf);
		if (strstr(buf, needle) != NULL)
			return (0);
		if (harness_now_ms() >= end) {
			fprintf(stderr, "pane has no \"%s\":\n%s\n", needle,
			    buf);
			return (-1);
		}
		harness_msleep(PANE_POLL_MS);
	}
}
