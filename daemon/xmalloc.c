/*
 * xmalloc.c -- allocation that cannot fail: out of memory is fatal, and
 * size arithmetic is checked for overflow before it is used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerd.h"

/* Allocate size bytes (size 0 is a bug). */
void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		fatalx("event=bug where=xmalloc reason=zero_size");
	if ((p = malloc(size)) == NULL)
		fatal("event=out_of_memory bytes=%zu", size);
	return (p);
}

/* Allocate nmemb zeroed elements of size bytes. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("event=bug where=xcalloc reason=zero_size");
	if (SIZE_MAX / nmemb < size)
		fatalx("event=bug where=xcalloc reason=overflow");
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("event=out_of_memory bytes=%zu", nmemb * size);
	return (p);
}

/* Resize ptr to nmemb elements of size bytes. */
void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("event=bug where=xreallocarray reason=zero_size");
	if (SIZE_MAX / nmemb < size)
		fatalx("event=bug where=xreallocarray reason=overflow");
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal("event=out_of_memory bytes=%zu", nmemb * size);
	return (p);
}

/* Copy a string. */
char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("event=out_of_memory bytes=%zu", strlen(s) + 1);
	return (p);
}

/* Copy at most n bytes of a string. */
char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("event=out_of_memory bytes=%zu", n + 1);
	return (p);
}

/* Format into a new string; returns its length. */
int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	n;

	if ((n = vasprintf(ret, fmt, ap)) == -1)
		fatal("event=out_of_memory where=xvasprintf");
	return (n);
}

/* Format into a new string; returns its length. */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return (n);
}
