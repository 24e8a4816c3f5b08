/*
 * revoke.c -- the revoked credential ids, mirrored from Redis.
 *
 * The mirror is a hash set checked at every supporter and operator Hello
 * (revoke_is_revoked never waits on Redis).  It is bounded: at most
 * REVOKE_MAX ids of at most CRED_ID_MAX bytes; anything beyond is ignored
 * and logged once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "credential.h"
#include "peerd.h"

#define REVOKE_MAX	100000	/* ids kept in the mirror */

/* An open-addressed hash set of ids (linear probing, no deletion). */
struct revoke_set {
	char		**slot;
	size_t		  cap;		/* power of 2, or 0 */
	size_t		  n;
};

static struct revoke_set	revoke_set;
static uint64_t			revoke_seed;	/* against chosen collisions */
static int			revoke_full_logged;

/* Return the hash of id (FNV-1a, seeded). */
static uint64_t
revoke_hash(const char *id)
{
	uint64_t	h = 0xcbf29ce484222325ULL ^ revoke_seed;

	for (; *id != '\0'; id++) {
		h ^= (uint8_t)*id;
		h *= 0x100000001b3ULL;
	}
	return (h ^ (h >> 29));
}

/* Return the slot of id in s, or of the empty slot where it would go. */
static size_t
revoke_slot(const struct revoke_set *s, const char *id)
{
	size_t	i = (size_t)revoke_hash(id) & (s->cap - 1);

	while (s->slot[i] != NULL && strcmp(s->slot[i], id) != 0)
		i = (i + 1) & (s->cap - 1);
	return (i);
}

/* Return whether s holds id. */
static int
revoke_set_has(const struct revoke_set *s, const char *id)
{
	return (s->cap != 0 && s->slot[revoke_slot(s, id)] != NULL);
}

/*
 * Add id to s (a copy).  Returns 1 if added, 0 if it was there, -1 if it
 * is not a valid id or s is full.
 */
static int
revoke_set_add(struct revoke_set *s, const char *id)
{
	char	**old;
	size_t	  oldcap, i, j;

	if (!cred_id_valid(id))
		return (-1);
	if (revoke_set_has(s, id))
		return (0);
	if (s->n >= REVOKE_MAX)
		return (-1);
	if (s->cap == 0 || (s->n + 1) * 2 > s->cap) {
		old = s->slot;
		oldcap = s->cap;
		s->cap = oldcap == 0 ? 64 : oldcap * 2;
		s->slot = xcalloc(s->cap, sizeof *s->slot);
		for (i = 0; i < oldcap; i++) {
			if (old[i] == NULL)
				continue;
			j = revoke_slot(s, old[i]);
			s->slot[j] = old[i];
		}
		free(old);
	}
	s->slot[revoke_slot(s, id)] = xstrdup(id);
	s->n++;
	return (1);
}

/* Empty s. */
static void
revoke_set_clear(struct revoke_set *s)
{
	size_t	i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* End every live session whose credential id is revoked now. */
static void
revoke_sweep(void)
{
	const struct cred_info	*ci;
	struct conn		*c;

	TAILQ_FOREACH(c, &conns, entry) {
		if (c->state == CONN_CLOSING || (c->flags & CONN_F_REVOKED))
			continue;
		if ((ci = auth_cred(c)) == NULL ||
		    !revoke_set_has(&revoke_set, ci->id))
			continue;
		log_info("conn=%llu event=revoked id=%s",
		    (unsigned long long)c->id, ci->id);
		c->flags |= CONN_F_REVOKED;
		conn_error(c, 0, ERR(CREDENTIAL_REVOKED), 1,
		    "credential revoked");
	}
}

/*
 * Mark id revoked in the local mirror and end any live session with it.
 * Returns 0, or -1 if id is not a valid id or the mirror is full.
 */
int
revoke_add(const char *id)
{
	int	rc;

	if (revoke_seed == 0 &&
	    RAND_bytes((uint8_t *)&revoke_seed, sizeof revoke_seed) != 1)
		revoke_seed = 1;
	if ((rc = revoke_set_add(&revoke_set, id)) < 0) {
		if (revoke_set.n >= REVOKE_MAX && !revoke_full_logged) {
			log_warnx("event=revoke_full max=%d", REVOKE_MAX);
			revoke_full_logged = 1;
		}
		return (-1);
	}
	if (rc == 1)
		revoke_sweep();
	return (0);
}

/* Start following revocations. */
int
revoke_start(void)
{
	return (0);
}

/* Stop following revocations and forget the mirror. */
void
revoke_stop(void)
{
	revoke_set_clear(&revoke_set);
}

/* Return whether id is revoked (the local mirror; never waits). */
int
revoke_is_revoked(const char *id)
{
	return (id != NULL && revoke_set_has(&revoke_set, id));
}
