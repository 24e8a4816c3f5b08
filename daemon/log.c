/*
 * log.c -- leveled key=value event lines on stderr.
 *
 * One line per event: "2026-01-01T12:00:00.123Z level=info conn=42
 * event=closed reason=timeout".  Callers write the key=value part; this file
 * adds the time and the level.  Client-supplied strings go through
 * log_escape first; message text is never logged at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peerd.h"

static enum log_level	 log_level = LOG_LVL_INFO;

static const char	*log_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_ERROR] = "error"
};

/* Start logging at the given level. */
void
log_init(enum log_level level)
{
	log_level = level;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* Change the level (config loaded, -v). */
void
log_set_level(enum log_level level)
{
	log_level = level;
}

/* Return the current level. */
enum log_level
log_get_level(void)
{
	return (log_level);
}

/* Return the name of a level. */
const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof log_names / sizeof log_names[0])
		return ("unknown");
	return (log_names[level]);
}

/* Return the level called name, or -1. */
int
log_level_from_name(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcmp(name, log_names[i]) == 0)
			return ((int)i);
	}
	return (-1);
}

/* Write one line at level, if the level is enabled. */
void
log_vlog(enum log_level level, const char *fmt, va_list ap)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32], line[2048];
	int		 saved = errno;

	if (level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "%s.%03ldZ level=%s %s\n", when, ts.tv_nsec / 1000000,
	    log_level_name(level), line);
	errno = saved;
}

#define LOG_FN(fn, level)				\
void							\
fn(const char *fmt, ...)				\
{							\
	va_list	ap;					\
							\
	va_start(ap, fmt);				\
	log_vlog(level, fmt, ap);			\
	va_end(ap);					\
}

/* Log at debug, info, warn and error level. */
LOG_FN(log_debug, LOG_LVL_DEBUG)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_warnx, LOG_LVL_WARN)
LOG_FN(log_error, LOG_LVL_ERROR)

/* Log at warn level with errno appended as error="...". */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("%s error=\"%s\"", buf, strerror(saved));
	errno = saved;
}

/* Log an error with errno appended and exit 1; for start-up only. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_error("%s error=\"%s\"", buf, strerror(saved));
	exit(1);
}

/* Log an error and exit 1; for start-up and broken invariants. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Escape len bytes of untrusted src into dst for a log value: printable
 * ASCII except quote and backslash is kept, everything else becomes \xNN,
 * and at most LOG_ESCAPE_MAX source bytes are used ("..." marks the cut).
 * Returns dst, always terminated.
 */
char *
log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	const unsigned char	*s = src;
	size_t			 i, o = 0;
	int			 cut = 0;

	if (dstlen == 0)
		return (dst);
	if (len > LOG_ESCAPE_MAX) {
		len = LOG_ESCAPE_MAX;
		cut = 1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = s[i];
		} else {
			if (o + 4 >= dstlen)
				break;
			snprintf(dst + o, 5, "\\x%02x", s[i]);
			o += 4;
		}
	}
	if (i < len)
		cut = 1;
	if (cut && o + 3 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return (dst);
}
