/*
 * people_redis.c -- what peerd wrote to Redis (presence), revocation as an
 * operator does it, and peerd's log read line by line.
 *
 * hiredis's synchronous API with a timeout on every step: one short
 * connection per question, so a Redis restarted under the test is fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "credential.h"
#include "people.h"

#define REDIS_IO_S		2	/* seconds, connect and each reply */
#define REDIS_POLL_MS		50	/* ms between checks while waiting */

/* Connect to the harness's Redis.  Returns NULL after printing why. */
static redisContext *
redis_open(struct harness *h)
{
	struct timeval	 tv = { REDIS_IO_S, 0 };
	redisContext	*rc;

	rc = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "people_redis: connect 127.0.0.1:%d: %s\n",
		    h->redis_port, rc != NULL ? rc->errstr : "no memory");
		if (rc != NULL)
			redisFree(rc);
		return (NULL);
	}
	redisSetTimeout(rc, tv);
	return (rc);
}

/* qsort comparator for "field=value" strings. */
static int
redis_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

int
redis_presence(struct harness *h, const char *id, char *buf, size_t len)
{
	redisContext	*rc;
	redisReply	*r;
	char		*pairs[64];
	size_t		 i, n = 0, used = 0;
	int		 count = -1;

	if (len > 0)
		*buf = '\0';
	if ((rc = redis_open(h)) == NULL)
		return (-1);
	r = redisCommand(rc, "HGETALL peerd:presence:%s", id);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i + 1 < r->elements && n < 64; i += 2) {
		if (asprintf(&pairs[n], "%s=%s", r->element[i]->str,
		    r->element[i + 1]->str) == -1)
			break;
		n++;
	}
	qsort(pairs, n, sizeof pairs[0], redis_cmp);
	for (i = 0; i < n; i++) {
		if (used < len)
			used += snprintf(buf + used, len - used, "%s%s",
			    i > 0 ? " " : "", pairs[i]);
		free(pairs[i]);
	}
	count = (int)(r->elements / 2);
out:
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (count);
}

const char *
redis_presence_field(struct harness *h, const char *id, const char *field,
    char *buf, size_t len)
{
	redisContext	*rc;
	redisReply	*r;
	const char	*ret = NULL;

	if ((rc = redis_open(h)) == NULL)
		return (NULL);
	r = redisCommand(rc, "HGET peerd:presence:%s %s", id, field);
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		snprintf(buf, len, "%s", r->str);
		ret = buf;
	}
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (ret);
}

long long
redis_ttl(struct harness *h, const char *key)
{
	redisContext	*rc;
	redisReply	*r;
	long long	 v = -3;

	if ((rc = redis_open(h)) == NULL)
		return (-3);
	r = redisCommand(rc, "TTL %s", key);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (v);
}

int
redis_sismember(struct harness *h, const char *key, const char *member)
{
	redisContext	*rc;
	redisReply	*r;
	int		 v = -1;

	if ((rc = redis_open(h)) == NULL)
		return (-1);
	r = redisCommand(rc, "SISMEMBER %s %s", key, member);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer != 0;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (v);
}

/* Append one line to buf at *used. */
static void
redis_cat(char *buf, size_t len, size_t *used, const char *a, const char *b)
{
	if (*used < len)
		*used += snprintf(buf + *used, len - *used, "%s%s%s\n", a,
		    b != NULL ? " " : "", b != NULL ? b : "");
	if (*used > len)
		*used = len;
}

int
redis_dump_all(struct harness *h, char *buf, size_t len)
{
	redisContext	*rc;
	redisReply	*keys, *t, *v;
	size_t		 i, j, used = 0;

	if (len > 0)
		*buf = '\0';
	if ((rc = redis_open(h)) == NULL)
		return (-1);
	if ((keys = redisCommand(rc, "KEYS *")) == NULL ||
	    keys->type != REDIS_REPLY_ARRAY) {
		if (keys != NULL)
			freeReplyObject(keys);
		redisFree(rc);
		return (-1);
	}
	for (i = 0; i < keys->elements; i++) {
		const char	*k = keys->element[i]->str;

		redis_cat(buf, len, &used, "key", k);
		if ((t = redisCommand(rc, "TYPE %s", k)) == NULL)
			continue;
		v = NULL;
		if (strcmp(t->str, "string") == 0)
			v = redisCommand(rc, "GET %s", k);
		else if (strcmp(t->str, "hash") == 0)
			v = redisCommand(rc, "HGETALL %s", k);
		else if (strcmp(t->str, "set") == 0)
			v = redisCommand(rc, "SMEMBERS %s", k);
		else if (strcmp(t->str, "list") == 0)
			v = redisCommand(rc, "LRANGE %s 0 -1", k);
		else if (strcmp(t->str, "zset") == 0)
			v = redisCommand(rc, "ZRANGE %s 0 -1", k);
		if (v != NULL && v->type == REDIS_REPLY_STRING)
			redis_cat(buf, len, &used, "  value", v->str);
		if (v != NULL && v->type == REDIS_REPLY_ARRAY)
			for (j = 0; j < v->elements; j++)
				if (v->element[j]->str != NULL)
					redis_cat(buf, len, &used, "  value",
					    v->element[j]->str);
		if (v != NULL)
			freeReplyObject(v);
		freeReplyObject(t);
	}
	freeReplyObject(keys);
	redisFree(rc);
	return (0);
}

int
redis_presence_wait(struct harness *h, const char *id, const char *field,
    const char *value, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	char	buf[512], all[1024];

	for (;;) {
		if (field == NULL || value == NULL) {
			if (redis_presence(h, id, all, sizeof all) > 0)
				return (0);
		} else if (redis_presence_field(h, id, field, buf,
		    sizeof buf) != NULL && strcmp(buf, value) == 0)
			return (0);
		if (harness_now_ms() >= deadline)
			break;
		harness_msleep(REDIS_POLL_MS);
	}
	redis_presence(h, id, all, sizeof all);
	fprintf(stderr, "people_redis: peerd:presence:%s never had %s=%s "
	    "(now: \"%s\")\n", id, field != NULL ? field : "(any)",
	    value != NULL ? value : "(any)", all);
	return (-1);
}

int
redis_presence_gone(struct harness *h, const char *id, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;
	char	all[1024];

	for (;;) {
		if (redis_presence(h, id, all, sizeof all) == 0)
			return (0);
		if (harness_now_ms() >= deadline)
			break;
		harness_msleep(REDIS_POLL_MS);
	}
	fprintf(stderr, "people_redis: peerd:presence:%s still there after "
	    "%d ms: \"%s\"\n", id, timeout_ms, all);
	return (-1);
}

int
redis_revoked_add(struct harness *h, const char *id)
{
	redisContext	*rc;
	redisReply	*r;
	int		 ok;

	if ((rc = redis_open(h)) == NULL)
		return (-1);
	r = redisCommand(rc, "SADD %s %s", CRED_REDIS_REVOKED, id);
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (ok ? 0 : -1);
}

int
people_revoke(struct world *w, const char *id)
{
	struct harness	*h = w->h;
	redisContext	*rc;
	redisReply	*r;
	char		 addr[64];
	char		*argv[] = { (char *)h->peerctl_bin, (char *)"revoke",
		    (char *)id, (char *)"--redis", addr, NULL };
	int		 ok;

	if (h->peerctl_bin != NULL && *h->peerctl_bin != '\0') {
		snprintf(addr, sizeof addr, "127.0.0.1:%d", h->redis_port);
		if ((ok = harness_run_cmd(h, argv, 10000)) != 0) {
			fprintf(stderr, "people: peerctl revoke %s exited "
			    "%d\n", id, ok);
			return (-1);
		}
		return (0);
	}
	if (redis_revoked_add(h, id) == -1 || (rc = redis_open(h)) == NULL)
		return (-1);
	r = redisCommand(rc, "PUBLISH %s %s", CRED_REDIS_REVOCATIONS, id);
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	return (ok ? 0 : -1);
}

/* ---- the log ------------------------------------------------------------ */

int
log_lines_with(struct harness *h, const char *a, const char *b, char *first,
    size_t len)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 count = 0;

	if (first != NULL && len > 0)
		*first = '\0';
	if ((f = fopen(h->log, "r")) == NULL)
		return (0);
	while ((n = getline(&line, &cap, f)) != -1) {
		if (strstr(line, a) == NULL ||
		    (b != NULL && strstr(line, b) == NULL))
			continue;
		if (count++ == 0 && first != NULL)
			snprintf(first, len, "%s", line);
	}
	free(line);
	fclose(f);
	return (count);
}
