/*
 * revoke.c -- the revoked credential ids, mirrored from Redis (stub).
 */
#include "peerd.h"

/* Start following revocations. */
int
revoke_start(void)
{
	return (0);
}

/* Stop following revocations. */
void
revoke_stop(void)
{
}

/* Return whether id is revoked. */
int
revoke_is_revoked(const char *id)
{
	(void)id;
	return (0);
}
