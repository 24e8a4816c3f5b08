/*
 * xmalloc.c -- allocation that cannot fail: out of memory is fatal, and
 * size arithmetic is checked for overflow before it is used.  Also the
 * allocator handed to libevent, which wipes what it frees.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "peerd.h"

#define XMALLOC_TRIM	(64 * 1024 * 1024) /* bytes of free heap kept */

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

/* Free a block libevent allocated, wiping all of it first. */
static void
xmalloc_wipe_free(void *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

/* Allocate for libevent. */
static void *
xmalloc_wipe_malloc(size_t size)
{
	return (malloc(size));
}

/* Resize for libevent: move to a new block so the old one is wiped. */
static void *
xmalloc_wipe_realloc(void *p, size_t size)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return (malloc(size));
	if (size == 0) {
		xmalloc_wipe_free(p);
		return (NULL);
	}
	if ((q = malloc(size)) == NULL)
		return (NULL);
	old = malloc_usable_size(p);
	memcpy(q, p, old < size ? old : size);
	xmalloc_wipe_free(p);
	return (q);
}

/* protobuf-c's allocator, as malloc. */
static void *
xmalloc_pb_alloc(void *data, size_t size)
{
	(void)data;
	return (malloc(size));
}

/* protobuf-c's free, wiping the block first. */
static void
xmalloc_pb_free(void *data, void *p)
{
	(void)data;
	xmalloc_wipe_free(p);
}

/*
 * Unpack client frames with this allocator and free them with it: every
 * string and byte field a client sent (chat text, credentials, resume
 * tokens) is wiped when the envelope is freed, whichever path it took.
 */
ProtobufCAllocator	 xmalloc_wipe_pb = {
	xmalloc_pb_alloc, xmalloc_pb_free, NULL
};

/*
 * Make libevent wipe every block it frees: its buffers carry the frames,
 * chat text included, in and out of each connection, and a drained chain
 * would otherwise go back to malloc with the text in it.  Call before
 * anything else uses libevent.
 */
void
xmalloc_wipe_libevent(void)
{
	event_set_mem_functions(xmalloc_wipe_malloc, xmalloc_wipe_realloc,
	    xmalloc_wipe_free);
	/*
	 * Keep freed memory instead of handing the top of the heap back to
	 * the kernel at each free: the wipe touches every page of a block,
	 * so a trimmed heap made each reuse fault its pages in again (about
	 * 12 page faults per relayed 4 KiB message, half of peerd's CPU in
	 * make bench).  Up to XMALLOC_TRIM bytes of free heap are kept.
	 */
	(void)mallopt(M_TRIM_THRESHOLD, XMALLOC_TRIM);
}
