/*
 * presence.c -- supporter presence records in Redis (stub until written).
 */
#include "peerd.h"

/* Start publishing presence. */
int
presence_start(void)
{
	return (0);
}

/* Stop publishing presence. */
void
presence_stop(void)
{
}

/* Record a supporter's presence. */
void
presence_set(const char *id, Peerd__V1__SupporterStatus status, u_int load,
    u_int capacity)
{
	(void)id;
	(void)status;
	(void)load;
	(void)capacity;
}

/* Remove a supporter's presence. */
void
presence_remove(const char *id)
{
	(void)id;
}
