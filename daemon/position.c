/*
 * position.c -- who competes with whom in the queue, for
 * QueueUpdate.position.
 *
 * PROTOCOL.md: position counts the requesters ahead "who compete for the
 * same supporters".  Two requesters compete when some supporter could
 * serve either of them.  Supporters fall into few classes (the same
 * vetted tags and languages), so each request gets the set of classes
 * that could serve it (its reach), and two requests compete when their
 * reaches meet: one AND per pair instead of a walk of the supporters.
 *
 * Classes are rebuilt from every supporter this node knows, whatever its
 * status (an away supporter may be back in a minute), when one is added,
 * forgotten or changes credential (position_invalidate), at the latest
 * before the next position is worked out.  With more than POSITION_CLASSES
 * distinct classes, or for a request no known supporter could serve,
 * positions fall back to the matcher's own rule (see match.c).
 */
#include <string.h>

#include "peerd.h"

/* One class of supporters: the same vetted tags and languages. */
struct position_class {
	struct matcher_tags	tags;
	uint64_t		langs;
};

static struct position_class	position_classes[POSITION_CLASSES];
static u_int			position_nclasses;
static int			position_overflow;	/* too many classes */
static int			position_stale = 1;	/* rebuild first */

/* The supporters changed: rebuild the classes before they are next used. */
void
position_invalidate(void)
{
	position_stale = 1;
}

/* Rebuild the classes from the supporters known now, if they changed. */
void
position_refresh(void)
{
	struct supporter	*s;
	u_int			 i;

	if (!position_stale)
		return;
	position_stale = 0;
	position_nclasses = 0;
	position_overflow = 0;
	TAILQ_FOREACH(s, &supporters, entry) {
		for (i = 0; i < position_nclasses; i++) {
			if (position_classes[i].langs == s->langs &&
			    memcmp(&position_classes[i].tags, &s->tags,
			    sizeof s->tags) == 0)
				break;
		}
		if (i < position_nclasses)
			continue;
		if (position_nclasses == POSITION_CLASSES) {
			position_overflow = 1;
			return;
		}
		position_classes[position_nclasses].tags = s->tags;
		position_classes[position_nclasses].langs = s->langs;
		position_nclasses++;
	}
}

/*
 * Fill *out with the classes that could serve a request needing need in
 * one of langs.  Returns 1 if there is at least one, 0 if none (or too
 * many classes to tell): the caller then uses the matcher's rule.
 */
int
position_reach(const struct matcher_tags *need, uint64_t langs,
    struct position_set *out)
{
	const struct position_class	*cl;
	u_int				 i;
	int				 any = 0;

	memset(out, 0, sizeof *out);
	if (position_overflow)
		return (0);
	for (i = 0; i < position_nclasses; i++) {
		cl = &position_classes[i];
		if ((cl->langs & langs) == 0 ||
		    (need->w[0] & ~cl->tags.w[0]) != 0 ||
		    (need->w[1] & ~cl->tags.w[1]) != 0)
			continue;
		out->w[i / 64] |= 1ULL << (i % 64);
		any = 1;
	}
	return (any);
}

/* Return 1 if two reaches share a class: those requesters compete. */
int
position_meet(const struct position_set *a, const struct position_set *b)
{
	u_int	i;

	for (i = 0; i < POSITION_CLASSES / 64; i++) {
		if (a->w[i] & b->w[i])
			return (1);
	}
	return (0);
}
