/*
 * resume.c -- resume tokens: issued with Matched, presented in
 * Hello.resume after a drop.
 *
 * A token is 32 bytes from RAND_bytes, one per side of a conversation, so
 * it is bound to the conversation and to the role; a supporter's token is
 * also bound to its credential id.  Tokens live only in memory and die
 * with the conversation.
 *
 * Lookup: the index is keyed by the token's first 8 bytes (random, so
 * they spread well); the whole token is then compared with CRYPTO_memcmp.
 * Timing can at most tell whether some live token starts with the same 8
 * bytes, which leaves 192 secret bits.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "peerd.h"

static struct map	 resume_index;	/* first 8 token bytes -> side */

/* Give side s a fresh token and index it. */
void
resume_issue(struct conv_side *s)
{
	uint64_t	key;

	do {
		util_random(s->token, sizeof s->token);
		memcpy(&key, s->token, sizeof key);
	} while (key == 0 || map_get(&resume_index, key) != NULL);
	s->token_key = key;
	map_put(&resume_index, key, s);
}

/* Forget side s's token (its conversation ended). */
void
resume_revoke(struct conv_side *s)
{
	if (s->token_key != 0 && map_get(&resume_index, s->token_key) == s)
		map_remove(&resume_index, s->token_key);
	s->token_key = 0;
}

/* Return the side whose token is the len bytes at token, or NULL. */
static struct conv_side *
resume_find(const uint8_t *token, size_t len)
{
	struct conv_side	*s;
	uint64_t		 key;

	if (len != CONV_TOKEN_LEN)
		return (NULL);
	memcpy(&key, token, sizeof key);
	if ((s = map_get(&resume_index, key)) == NULL)
		return (NULL);
	if (CRYPTO_memcmp(s->token, token, CONV_TOKEN_LEN) != 0)
		return (NULL);
	return (s);
}

/*
 * Why side s may not be resumed by connection c, or NULL if it may: the
 * role must match, and a supporter must be the conversation's supporter.
 */
static const char *
resume_refuse(struct conv_side *s, struct conn *c)
{
	if (s->c == c)
		return ("already resumed on this connection");
	switch (c->role) {
	case ROLE_REQUESTER:
		if (s->idx != CONV_REQUESTER)
			return ("token is for another role");
		return (NULL);
	case ROLE_SUPPORTER:
		if (s->idx != CONV_SUPPORTER)
			return ("token is for another role");
		if (c->supporter == NULL || c->supporter != s->conv->sup)
			return ("token is for another supporter");
		return (NULL);
	default:
		return ("token is for another role");
	}
}

/*
 * After Welcome: resume each conversation Hello h names.  A bad entry
 * gets Error{RESUME_FAILED} (not fatal, answering the Hello's id) and the
 * others go on.
 */
void
resume_hello(struct conn *c, const Hello *h, uint64_t id)
{
	const Peerd__V1__Resume	*r;
	struct conv_side	*s;
	const char		*why;
	size_t			 i;

	for (i = 0; i < h->n_resume && c->state == CONN_READY; i++) {
		r = h->resume[i];
		if ((s = resume_find(r->token.data, r->token.len)) == NULL)
			why = "token is unknown or expired";
		else
			why = resume_refuse(s, c);
		if (why != NULL) {
			stats.resume_failed++;
			log_info("conn=%llu event=resume_failed entry=%zu",
			    (unsigned long long)c->id, i);
			conn_error(c, id, ERR(RESUME_FAILED), 0,
			    "resume[%zu]: %s", i, why);
			continue;
		}
		conv_attach(s, c, r->last_seq);
	}
}

/* Forget every token (after the loop has ended). */
void
resume_stop(void)
{
	map_clear(&resume_index);
}
