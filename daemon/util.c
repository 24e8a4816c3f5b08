/*
 * util.c -- small helpers with no better home.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "peerd.h"

/* Return monotonic seconds, for durations (never wall time). */
time_t
util_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

/* Return monotonic milliseconds, the clock the matcher runs on. */
uint64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Fill buf with len random bytes from OpenSSL's CSPRNG; it never fails. */
void
util_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		fatalx("event=fatal reason=RAND_bytes");
}

/*
 * Return a random nonzero 64-bit id.  Ids on the wire (offers,
 * conversations) are random rather than counters: a counter would tell
 * every client how busy the service is.
 */
uint64_t
util_random_id(void)
{
	uint64_t	id;

	do
		util_random(&id, sizeof id);
	while (id == 0);
	return (id);
}

/*
 * Return 1 if len bytes at p are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0.
 */
int
util_utf8_valid(const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 i = 0, n, k;
	uint32_t		 cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return (0);
		if (len - i <= n)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

/*
 * Read the secret file path whole into buf (size bytes): a regular file
 * that neither group nor others may read or write, of at most size bytes.
 * Returns how many bytes it holds, or -1 with *why a new reason that names
 * neither the file nor any of its bytes (buf is wiped then).
 */
ssize_t
util_read_secret(const char *path, void *buf, size_t size, char **why)
{
	struct stat	 st;
	uint8_t		 extra;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*why = xstrdup(strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		*why = xstrdup(strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = xstrdup("not a regular file");
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		xasprintf(why, "mode %04o lets group or others at it "
		    "(chmod 600)", (u_int)(st.st_mode & 07777));
		goto fail;
	}
	for (;;) {
		if (got == size)	/* one more byte would be too many */
			n = read(fd, &extra, 1);
		else
			n = read(fd, (uint8_t *)buf + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = xstrdup(strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (got == size) {
			xasprintf(why, "over %zu bytes", size);
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	return ((ssize_t)got);

fail:
	close(fd);
	OPENSSL_cleanse(buf, size);
	return (-1);
}
