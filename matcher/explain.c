/*
 * explain.c -- the tag catalogue and the explanation every proposal
 * carries, e.g.
 *
 *	required=lgbtq shared_preferred=first-episode-psychosis
 *	    decided_by=fewest_conversations
 *
 * Explanations are shown to both sides of a match, so they name only the
 * tags the pair share and the rule that chose, nothing else about either.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher_int.h"

/* Rule names, indexed by enum matcher_rule. */
static const char *explain_rules[] = {
	"only_candidate",
	"previous_supporter",
	"preferred_tags",
	"fewest_conversations",
	"longest_since_match",
	"tie_break",
};

/* Error strings, indexed by minus the error code. */
static const char *explain_errors[] = {
	"ok",
	"out of memory",
	"invalid argument",
	"already present",
	"not found",
	"not allowed in this state",
	"no data for an estimate",
};

/* Name a rule. */
const char *
matcher_rule_name(enum matcher_rule rule)
{
	if ((unsigned int)rule >= sizeof explain_rules / sizeof *explain_rules)
		return ("unknown");
	return (explain_rules[rule]);
}

/* Describe an error code. */
const char *
matcher_strerror(int error)
{
	if (error > 0 ||
	    (unsigned int)-error >= sizeof explain_errors / sizeof *explain_errors)
		return ("unknown error");
	return (explain_errors[-error]);
}

/* Name a tag, or NULL outside the catalogue. */
const char *
matcher_tag_name(const struct matcher *m, unsigned int t)
{
	if (t >= m->ntags)
		return (NULL);
	return (m->names[t]);
}

/* Drop the catalogue's strings. */
void
explain_free(struct matcher *m)
{
	uint32_t	t;

	for (t = 0; t < m->ntags; t++) {
		free(m->names[t]);
		free(m->descs[t]);
		m->names[t] = m->descs[t] = NULL;
	}
	m->ntags = 0;
}

/* Replace the catalogue with copies of n entries (already validated). */
int
explain_catalogue(struct matcher *m, const struct matcher_tag_def *defs,
    size_t n)
{
	char		*names[MATCHER_TAGS_MAX], *descs[MATCHER_TAGS_MAX];
	const char	*d;
	size_t		 t;

	for (t = 0; t < n; t++) {
		d = defs[t].description != NULL ? defs[t].description : "";
		names[t] = strdup(defs[t].name);
		descs[t] = strdup(d);
		if (names[t] == NULL || descs[t] == NULL) {
			do {
				free(names[t]);
				free(descs[t]);
			} while (t-- > 0);
			return (MATCHER_ENOMEM);
		}
	}
	explain_free(m);
	for (t = 0; t < n; t++) {
		m->names[t] = names[t];
		m->descs[t] = descs[t];
	}
	m->ntags = n;
	return (MATCHER_OK);
}

/* A bounded string being built; once full it stays full. */
struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 size;
};

/* Append a string. */
static void
explain_put(struct sbuf *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->len + n >= b->size)
		n = b->size - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append key=name,name,... or key=none. */
static void
explain_tags(const struct matcher *m, struct sbuf *b, const char *key,
    tags_t t)
{
	uint32_t	i;
	int		first = 1;

	explain_put(b, key);
	for (i = 0; i < MATCHER_TAGS_MAX; i++) {
		if (((t.w[i / 64] >> (i % 64)) & 1) == 0)
			continue;
		if (!first)
			explain_put(b, ",");
		explain_put(b, i < m->ntags ? m->names[i] : "?");
		first = 0;
	}
	if (first)
		explain_put(b, "none");
}

/* Write p->explain from the effective required and preferred tags and the
 * supporter's tags; p->decided_by and p->relaxed are already set. */
void
explain_write(const struct matcher *m, struct matcher_proposal *p,
    tags_t required, tags_t preferred, tags_t tags)
{
	struct sbuf	b = { p->explain, 0, sizeof p->explain };

	p->explain[0] = '\0';
	explain_tags(m, &b, "required=", required);
	explain_tags(m, &b, " shared_preferred=", tags_and(preferred, tags));
	explain_put(&b, " decided_by=");
	explain_put(&b, matcher_rule_name(p->decided_by));
	if (p->relaxed)
		explain_put(&b, " relaxed=yes");
}
