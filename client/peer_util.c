/*
 * peer_util.c -- small helpers of peer: escaping untrusted text, lists,
 * durations, enum names and the requester key file.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

#define PEER_KEY_DIR	"peer"		/* under $XDG_CONFIG_HOME or ~/.config */
#define PEER_KEY_NAME	"requester.key"
#define PEER_KEY_HEX	(2 * PEERCLIENT_REQUESTER_KEY_LEN) /* characters */
#define PEER_DURATION_MAX (7 * 86400)	/* s, longest --relax-after */

int64_t
peer_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void *
peer_xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL) {
		fprintf(stderr, "peer: out of memory\n");
		exit(PEER_EXIT_ERROR);
	}
	return (p);
}

char *
peer_xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s != NULL ? s : "")) == NULL) {
		fprintf(stderr, "peer: out of memory\n");
		exit(PEER_EXIT_ERROR);
	}
	return (p);
}

/*
 * Decode one UTF-8 sequence at s (len bytes left).  Returns its length and
 * the code point in *cp, or 0 if it is not valid (overlong, surrogate,
 * truncated, over U+10FFFF).
 */
static size_t
peer_utf8_one(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t	c;
	size_t		n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (n);
}

int
peer_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n;

	while (len > 0) {
		if ((n = peer_utf8_one(p, len, &cp)) == 0)
			return (0);
		p += n;
		len -= n;
	}
	return (1);
}

/*
 * Return whether a code point may reach a terminal or a log line as it is:
 * not a control (C0, DEL, C1), not a line or paragraph separator, not a
 * bidirectional mark, embedding, override or isolate (which can make text
 * read differently from what it is).
 */
static int
peer_cp_safe(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return (0);
	if (cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x061c || cp == 0xfeff)
		return (0);
	return (1);
}

/*
 * Escape untrusted text to one safe line: backslash as \\, newline as \n,
 * tab as \t, and every byte of anything else unsafe (controls, invalid
 * UTF-8, separators, bidirectional controls) as \xHH.  Printable UTF-8
 * stays as it is.  Returns a string to free.
 */
char *
peer_escape(const char *text, size_t len)
{
	const unsigned char	*p = (const unsigned char *)text;
	char			*out, *o;
	uint32_t		 cp;
	size_t			 n, i;

	o = out = peer_xcalloc(len, 4 + 1);	/* worst case \xHH per byte */
	while (len > 0) {
		n = peer_utf8_one(p, len, &cp);
		if (n == 1 && cp == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (n == 1 && cp == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (n == 1 && cp == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (n > 0 && peer_cp_safe(cp)) {
			memcpy(o, p, n);
			o += n;
		} else {
			if (n == 0)
				n = 1;
			for (i = 0; i < n; i++) {
				snprintf(o, 5, "\\x%02x", p[i]);
				o += 4;
			}
		}
		p += n;
		len -= n;
	}
	*o = '\0';
	return (out);
}

/*
 * Clean untrusted text for the screen: printable UTF-8 and backslashes
 * stay, a newline stays only with PEER_CLEAN_LINES, a tab becomes a space,
 * anything unsafe (see peer_cp_safe) becomes '?', and with PEER_CLEAN_ASCII
 * (a terminal that is not UTF-8) so does every non-ASCII character.
 * Returns a string to free.
 */
char *
peer_clean(const char *text, size_t len, int flags)
{
	const unsigned char	*p = (const unsigned char *)text;
	char			*out, *o;
	uint32_t		 cp;
	size_t			 n;

	o = out = peer_xcalloc(len + 1, 1);
	while (len > 0) {
		n = peer_utf8_one(p, len, &cp);
		if (n == 1 && cp == '\n' && (flags & PEER_CLEAN_LINES))
			*o++ = '\n';
		else if (n == 1 && (cp == '\t' || cp == '\n'))
			*o++ = ' ';
		else if (n == 0 || !peer_cp_safe(cp) ||
		    (n > 1 && (flags & PEER_CLEAN_ASCII)))
			*o++ = '?';
		else {
			memcpy(o, p, n);
			o += n;
		}
		p += n == 0 ? 1 : n;
		len -= n == 0 ? 1 : n;
	}
	*o = '\0';
	return (out);
}

/*
 * Split s (modified in place) at commas into l.  An empty s is an empty
 * list.  Returns 0, or -1 for an empty entry or too many.
 */
int
peer_list_parse(struct peer_list *l, char *s)
{
	char	*next;

	l->n = 0;
	if (*s == '\0')
		return (0);
	for (;;) {
		if ((next = strchr(s, ',')) != NULL)
			*next = '\0';
		if (*s == '\0' || l->n == PEER_LIST_MAX)
			return (-1);
		l->v[l->n++] = s;
		if (next == NULL)
			return (0);
		s = next + 1;
	}
}

/* Join n strings with commas (no spaces).  Returns a string to free. */
char *
peer_join(char **v, size_t n)
{
	size_t	 len = 1, i;
	char	*out;

	for (i = 0; i < n; i++)
		len += strlen(v[i] != NULL ? v[i] : "") + 1;
	out = peer_xcalloc(1, len);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, v[i] != NULL ? v[i] : "");
	}
	return (out);
}

/*
 * Parse a duration: a number of seconds, or a number followed by s, m or
 * h ("90", "90s", "5m", "1h").  Returns 0, or -1 if it is not one or is
 * over a week.
 */
int
peer_duration(const char *s, uint32_t *out)
{
	unsigned long long	 v, mul = 1;
	char			*end;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return (-1);
	if (strcmp(end, "m") == 0)
		mul = 60;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return (-1);
	if (v > PEER_DURATION_MAX / mul)
		return (-1);
	*out = (uint32_t)(v * mul);
	return (0);
}

/* Write the default key path into buf.  Returns 0, or -1 without a home. */
static int
peer_key_path(char *buf, size_t len, char *dir, size_t dirlen)
{
	const char	*base, *home;
	int		 n;

	if ((base = getenv("XDG_CONFIG_HOME")) != NULL && *base == '/')
		n = snprintf(dir, dirlen, "%s/%s", base, PEER_KEY_DIR);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		n = snprintf(dir, dirlen, "%s/.config/%s", home, PEER_KEY_DIR);
	else
		return (-1);
	if (n < 0 || (size_t)n >= dirlen)
		return (-1);
	n = snprintf(buf, len, "%s/%s", dir, PEER_KEY_NAME);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/* Make dir and its parent (one level up) with mode 0700 if missing. */
static int
peer_mkdirs(char *dir)
{
	char	*slash;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return (0);
	if (errno != ENOENT || (slash = strrchr(dir, '/')) == NULL ||
	    slash == dir)
		return (-1);
	*slash = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		*slash = '/';
		return (-1);
	}
	*slash = '/';
	return (mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1);
}

/* Parse PEER_KEY_HEX hex characters into key.  Returns 0 or -1. */
static int
peer_key_hex(const char *s, size_t len, uint8_t *key)
{
	unsigned	v;
	size_t		i;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len != PEER_KEY_HEX)
		return (-1);
	for (i = 0; i < PEERCLIENT_REQUESTER_KEY_LEN; i++) {
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return (-1);
		key[i] = (uint8_t)v;
	}
	return (0);
}

/*
 * Load the requester key from path (NULL: $XDG_CONFIG_HOME/peer/
 * requester.key, else ~/.config/peer/requester.key), creating it (mode
 * 0600, 32 random bytes as hex) on first use.  Returns 0, or -1 with a
 * message in err.
 */
int
peer_key_load(const char *path, uint8_t *key, char *err, size_t errlen)
{
	char		 buf[PATH_MAX], dir[PATH_MAX], text[PEER_KEY_HEX + 4];
	struct stat	 sb;
	ssize_t		 n;
	size_t		 i;
	int		 fd;

	if (path == NULL) {
		if (peer_key_path(buf, sizeof buf, dir, sizeof dir) == -1) {
			snprintf(err, errlen, "no HOME to keep the requester "
			    "key in (use --key-file or --no-key)");
			return (-1);
		}
		if (peer_mkdirs(dir) == -1) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return (-1);
		}
		path = buf;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
			fprintf(stderr, "peer: warning: %s is readable by "
			    "others; chmod 600 it\n", path);
		n = read(fd, text, sizeof text);
		close(fd);
		if (n < 0 || peer_key_hex(text, (size_t)n, key) == -1) {
			snprintf(err, errlen, "%s: not a requester key (%d hex "
			    "digits); remove it to make a new one", path,
			    PEER_KEY_HEX);
			return (-1);
		}
		return (0);
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (getrandom(key, PEERCLIENT_REQUESTER_KEY_LEN, 0) !=
	    PEERCLIENT_REQUESTER_KEY_LEN) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return (-1);
	}
	for (i = 0; i < PEERCLIENT_REQUESTER_KEY_LEN; i++)
		snprintf(text + 2 * i, 3, "%02x", key[i]);
	text[PEER_KEY_HEX] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || write(fd, text, PEER_KEY_HEX + 1) != PEER_KEY_HEX + 1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(path);
		}
		return (-1);
	}
	close(fd);
	return (0);
}

/* Return an ErrorCode's name as in peer.proto ("UNKNOWN_TAG"). */
const char *
peer_error_name(int code)
{
	const ProtobufCEnumValue	*v;

	v = protobuf_c_enum_descriptor_get_value(
	    &peerd__v1__error_code__descriptor, code);
	return (v != NULL ? v->name : "ERROR_UNSPECIFIED");
}

/*
 * Return an EndReason's name from peer.proto lowercased without "END_"
 * ("by_requester"), in a static buffer valid until the next call.
 */
const char *
peer_reason_name(int reason)
{
	static char			 buf[PEER_NAME_MAX];
	const ProtobufCEnumValue	*v;
	const char			*name;
	size_t				 i;

	v = protobuf_c_enum_descriptor_get_value(
	    &peerd__v1__end_reason__descriptor, reason);
	name = v != NULL ? v->name : "END_UNSPECIFIED";
	if (strncmp(name, "END_", 4) == 0)
		name += 4;
	for (i = 0; name[i] != '\0' && i < sizeof buf - 1; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[i] = '\0';
	return (buf);
}
