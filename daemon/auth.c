/*
 * auth.c -- decide a connection's role from its Hello.
 *
 * Requesters are anonymous (an optional requester_key gives continuity;
 * its HMAC arrives with the next issue).  Supporters and operators must
 * present a credential signed by the organisation; until signing_pubkey
 * and proto/credential.h are wired in, they are refused.  Everything about
 * roles goes through auth_hello so that wiring is one change here.
 */
#include <stdio.h>
#include <string.h>

#include "peerd.h"

/*
 * Decide the role for Hello h.  Returns 0 with *role set, or the error code
 * to send (the connection then closes) with why filled in.  May attach
 * verified credential data to c->auth; auth_free releases it.
 */
ErrorCode
auth_hello(struct conn *c, const Hello *h, Role *role, char *why,
    size_t len)
{
	(void)c;
	switch (h->role) {
	case ROLE_REQUESTER:
		*role = ROLE_REQUESTER;
		return (0);
	case ROLE_SUPPORTER:
	case ROLE_OPERATOR:
		/* Next issue: credential_verify() against signing_pubkey. */
		snprintf(why, len, "credentials not configured");
		return (ERR(BAD_CREDENTIAL));
	default:
		snprintf(why, len, "unknown role %d", (int)h->role);
		return (ERR(BAD_MESSAGE));
	}
}

/* Release whatever auth_hello attached to c. */
void
auth_free(struct conn *c)
{
	c->auth = NULL;
}

/* Load the signing public key and the requester secret (stub). */
int
auth_init(char **why)
{
	*why = NULL;
	return (0);
}

/* Release what auth_init loaded (stub). */
void
auth_shutdown(void)
{
}

/* Return c's verified credential (stub: none yet). */
const struct cred_info *
auth_cred(const struct conn *c)
{
	(void)c;
	return (NULL);
}

/* Return c's requester continuity key (stub: anonymous). */
uint64_t
auth_requester_key(const struct conn *c)
{
	(void)c;
	return (0);
}
