/*
 * loop.c -- the one event base every connection of the load generator
 * lives on, run in slices until a condition holds or a deadline passes.
 */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "load.h"

#define LOOP_TICK_MS	20	/* ms, longest sleep between condition checks */

struct event_base	*loop_base;
static struct event	*loop_tick;

/* Timer callback: only wakes the loop so conditions are looked at. */
static void
loop_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Make the event base and the wake-up tick.  Returns 0 or -1. */
int
loop_init(void)
{
	struct timeval	tv = { 0, LOOP_TICK_MS * 1000 };

	if ((loop_base = event_base_new()) == NULL)
		return (-1);
	loop_tick = event_new(loop_base, -1, EV_PERSIST, loop_wake, NULL);
	if (loop_tick == NULL || event_add(loop_tick, &tv) == -1)
		return (-1);
	return (0);
}

/* Free the tick and the base (connections must be gone). */
void
loop_free(void)
{
	if (loop_tick != NULL)
		event_free(loop_tick);
	loop_tick = NULL;
	if (loop_base != NULL)
		event_base_free(loop_base);
	loop_base = NULL;
}

/* Return CLOCK_MONOTONIC in nanoseconds. */
int64_t
loop_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* Return CLOCK_MONOTONIC in seconds. */
double
loop_now_s(void)
{
	return ((double)loop_now_ns() / 1e9);
}

/* Run the loop until cond(arg) holds (0) or timeout_ms passes (-1). */
int
loop_until(int (*cond)(void *), void *arg, int timeout_ms)
{
	int64_t	deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		if (cond != NULL && cond(arg))
			return (0);
		if (loop_now_ns() >= deadline)
			return (cond == NULL ? 0 : -1);
		event_base_loop(loop_base, EVLOOP_ONCE);
	}
}

/* Run the loop for ms milliseconds. */
void
loop_run_for(int ms)
{
	(void)loop_until(NULL, NULL, ms);
}
