/*
 * matcher.h -- the peerd matching engine: public contract.
 *
 * A pure library: no I/O, no clock reads, no threads.  The caller owns time
 * (every call that needs it takes now_ms, a monotonic millisecond clock) and
 * identity (supporter ids, request ids and requester keys are numbers the
 * caller chooses; 0 is reserved as "none" everywhere).
 *
 * Tags are indices 0..127 into a catalogue the caller supplies (names are
 * only used to write explanations); languages are indices 0..63 (the caller
 * maps ISO 639-1 codes to indices).
 *
 * The daemon's loop: after any event call matcher_next() until it returns 0.
 * Each proposal reserves one of the supporter's slots until the caller calls
 * matcher_confirm() (accepted) or matcher_reject() (declined or timed out).
 *
 * Every function returning int returns MATCHER_OK (0) or a negative
 * enum matcher_error unless it says otherwise.  A failed call changes
 * nothing, except that MATCHER_ENOMEM from matcher_next() may leave the
 * matcher unable to propose until memory is available again (state stays
 * consistent).  The handle is not thread-safe.
 */

#ifndef MATCHER_H
#define MATCHER_H

#include <stddef.h>
#include <stdint.h>

#define MATCHER_TAGS_MAX	128	/* tags in a catalogue */
#define MATCHER_LANGS_MAX	64	/* language indices */
#define MATCHER_EXPLAIN_MAX	1024	/* bytes, explanation incl. NUL */

struct matcher;

/* A set of tag indices; bit t of w[t / 64] is tag t. */
struct matcher_tags {
	uint64_t	w[2];
};

enum matcher_error {
	MATCHER_OK = 0,
	MATCHER_ENOMEM = -1,	/* allocation failed; nothing changed */
	MATCHER_EINVAL = -2,	/* bad argument: id 0, unknown tag, no language */
	MATCHER_EEXIST = -3,	/* that id is already present */
	MATCHER_ENOENT = -4,	/* no such supporter or request */
	MATCHER_ESTATE = -5,	/* not allowed in the current state */
	MATCHER_ENODATA = -6,	/* no estimate: no recent service to go on */
};

enum matcher_status {
	MATCHER_AVAILABLE = 0,
	MATCHER_AWAY,
	MATCHER_ON_BREAK,
	MATCHER_OFFLINE,
};
#define MATCHER_NSTATUS	4

/* Which rule separated the chosen supporter from the runner-up. */
enum matcher_rule {
	MATCHER_RULE_ONLY_CANDIDATE = 0,
	MATCHER_RULE_PREVIOUS_SUPPORTER,
	MATCHER_RULE_PREFERRED_TAGS,
	MATCHER_RULE_FEWEST_CONVERSATIONS,
	MATCHER_RULE_LONGEST_SINCE_MATCH,
	MATCHER_RULE_TIE_BREAK,
};

/* One catalogue entry; the matcher copies both strings. */
struct matcher_tag_def {
	const char	*name;		/* short stable name, e.g. "lgbtq" */
	const char	*description;
};

struct matcher_supporter {
	uint64_t		id;		/* nonzero */
	struct matcher_tags	tags;		/* vetted identity tags */
	uint64_t		langs;		/* language mask, nonzero */
	uint16_t		capacity;	/* max concurrent conversations */
	uint16_t		load;		/* conversations in progress */
	uint16_t		pending;	/* offers awaiting an answer (get only) */
	enum matcher_status	status;
	uint64_t		last_match_ms;	/* 0 = never */
};

struct matcher_request {
	uint64_t		id;		/* nonzero, unique while queued */
	uint64_t		key;		/* requester key; 0 = anonymous */
	struct matcher_tags	required;	/* must share */
	struct matcher_tags	preferred;	/* nice to share */
	uint64_t		langs;		/* accepted languages, nonzero */
	int			urgent;
	uint64_t		relax_after_ms;	/* 0 = never relax */
	uint64_t		previous;	/* supporter id to prefer, 0 = none */
};

struct matcher_proposal {
	uint64_t		request_id;
	uint64_t		requester_key;
	uint64_t		supporter_id;
	struct matcher_tags	shared;		/* supporter tags in required|preferred */
	enum matcher_rule	decided_by;
	int			relaxed;	/* requirements were relaxed */
	char			explain[MATCHER_EXPLAIN_MAX];
};

struct matcher_stats {
	uint32_t	queued;			/* requests not yet confirmed */
	uint32_t	offered;		/* of those, with an offer out */
	uint64_t	oldest_wait_ms;		/* 0 if the queue is empty */
	uint32_t	supporters[MATCHER_NSTATUS]; /* by status */
	uint32_t	demand_required[MATCHER_TAGS_MAX]; /* queued requiring t */
	uint32_t	demand_preferred[MATCHER_TAGS_MAX]; /* queued preferring t */
	uint32_t	supply[MATCHER_TAGS_MAX]; /* free slots, available with t */
	uint32_t	supply_total;		/* free slots, all available */
};

/*
 * Create a matcher with a catalogue of ntags entries (tags 0..ntags-1; may be
 * NULL/0 and set later).  Returns NULL if ntags > MATCHER_TAGS_MAX, a name is
 * NULL, or memory is short.
 */
struct matcher	*matcher_new(const struct matcher_tag_def *, size_t);
/* Free the matcher and everything it holds; NULL is allowed. */
void		 matcher_free(struct matcher *);
/* Replace the catalogue.  EINVAL: too many tags, a NULL name, or a tag in use
 * (by a supporter or a queued request) beyond the new size.  ENOMEM. */
int		 matcher_set_catalogue(struct matcher *,
		     const struct matcher_tag_def *, size_t);
/* Name of tag t, or NULL if outside the catalogue. */
const char	*matcher_tag_name(const struct matcher *, unsigned int);
/* Static string for an error code or a rule. */
const char	*matcher_strerror(int);
const char	*matcher_rule_name(enum matcher_rule);

/* Add a supporter (id, tags, langs, capacity, load, status, last_match_ms
 * are read).  EINVAL: id 0, no language, unknown tag, bad status.  EEXIST.
 * ENOMEM. */
int	matcher_supporter_add(struct matcher *, const struct matcher_supporter *);
/* Replace a supporter's vetted tags and languages; offers already out stay
 * out.  ENOENT, EINVAL, ENOMEM. */
int	matcher_supporter_update(struct matcher *, uint64_t,
	    const struct matcher_tags *, uint64_t);
/* Remove a supporter; offers out to them are withdrawn and those requesters
 * wait again in their old place.  ENOENT. */
int	matcher_supporter_remove(struct matcher *, uint64_t);
/* Set status.  ENOENT, EINVAL.  Offers already out stay out. */
int	matcher_supporter_set_status(struct matcher *, uint64_t,
	    enum matcher_status);
/* Set capacity (may drop below current load; no new offers until it frees).
 * ENOENT. */
int	matcher_supporter_set_capacity(struct matcher *, uint64_t, uint16_t);
/* A conversation of this supporter ended (load - 1).  ENOENT; ESTATE if the
 * load is already 0. */
int	matcher_conversation_ended(struct matcher *, uint64_t);
/* Copy a supporter's state out.  ENOENT. */
int	matcher_supporter_get(const struct matcher *, uint64_t,
	    struct matcher_supporter *);

/* Never match this requester key with this supporter (a block or a report);
 * an offer already out between them is left for the caller to reject.
 * EINVAL: key 0 or id 0.  ENOMEM. */
int	matcher_block(struct matcher *, uint64_t, uint64_t);

/* Queue a request at now_ms.  EINVAL: id 0, no language, unknown tag.
 * EEXIST: the id is queued.  ENOMEM. */
int	matcher_request_enqueue(struct matcher *, const struct matcher_request *,
	    uint64_t);
/* Remove a queued request; an offer out is withdrawn.  ENOENT. */
int	matcher_request_cancel(struct matcher *, uint64_t);

/*
 * Propose the next pair, if any: the first requester in queue order (urgent
 * first, then longest waiting) who has a candidate, with their best
 * candidate.  Relaxations due by now_ms are applied first.  Returns 1 and
 * fills *out, 0 if there is nothing to propose, or ENOMEM.
 */
int	matcher_next(struct matcher *, uint64_t, struct matcher_proposal *);
/* When matcher_next next has work without any event: the earliest
 * relax-after time still pending.  Returns 1 and sets *when_ms, or 0 if no
 * relaxation is pending (the daemon then needs no timer). */
int	matcher_wakeup(const struct matcher *, uint64_t *);
/* The offer for this request was accepted: the supporter's load grows, the
 * request leaves the queue.  ENOENT; ESTATE if no offer is out. */
int	matcher_confirm(struct matcher *, uint64_t, uint64_t);
/* The offer was declined or timed out: the request keeps its place and will
 * not be offered that supporter again.  ENOENT; ESTATE if no offer is out;
 * ENOMEM. */
int	matcher_reject(struct matcher *, uint64_t, uint64_t);

/* Position (1 = next) among waiting requesters competing for the same
 * supporters; 0 if an offer is out.  ENOENT. */
int	matcher_position(struct matcher *, uint64_t, uint64_t, uint32_t *);
/* Estimated wait in ms from recent service rates (see README).  ENOENT;
 * ENODATA if compatible supporters have served no one recently. */
int	matcher_eta(struct matcher *, uint64_t, uint64_t, uint64_t *);
/* Fill *out.  Never fails. */
void	matcher_stats(struct matcher *, uint64_t, struct matcher_stats *);

#endif /* MATCHER_H */
