/*
 * test_matcher.c -- one test per matching rule (see matcher/README.md),
 * plus the API's error contract.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "matcher.h"

enum { LGBTQ, BAME, FEP, PRISON, WOMEN, NTAGS };

#define EN	(1ULL << 0)	/* language indices, as masks */
#define CY	(1ULL << 1)
#define T(t)	(1ULL << (t))	/* a tag, as a mask */

static const struct matcher_tag_def catalogue[NTAGS] = {
	{ "lgbtq", "LGBT+ people" },
	{ "bame", "Black and minority ethnic communities" },
	{ "first-episode-psychosis", "a first diagnosis of psychosis" },
	{ "prison", "women in prison and secure hospitals" },
	{ "women", "women" },
};

/* A tag set from a mask of the first 64 tags. */
static struct matcher_tags
tags(uint64_t mask)
{
	struct matcher_tags	t = {{ mask, 0 }};

	return (t);
}

/* Add an available supporter. */
static void
sup(struct matcher *m, uint64_t id, uint64_t tagmask, uint64_t langs,
    uint16_t cap, uint16_t load, uint64_t last)
{
	struct matcher_supporter	s;

	memset(&s, 0, sizeof s);
	s.id = id;
	s.tags = tags(tagmask);
	s.langs = langs;
	s.capacity = cap;
	s.load = load;
	s.status = MATCHER_AVAILABLE;
	s.last_match_ms = last;
	assert_int_equal(matcher_supporter_add(m, &s), MATCHER_OK);
}

/* Queue a request. */
static void
req(struct matcher *m, uint64_t id, uint64_t key, uint64_t required,
    uint64_t preferred, uint64_t langs, int urgent, uint64_t now)
{
	struct matcher_request	r;

	memset(&r, 0, sizeof r);
	r.id = id;
	r.key = key;
	r.required = tags(required);
	r.preferred = tags(preferred);
	r.langs = langs;
	r.urgent = urgent;
	assert_int_equal(matcher_request_enqueue(m, &r, now), MATCHER_OK);
}

/* Expect the next proposal to pair request rid with supporter sid. */
static void
expect(struct matcher *m, uint64_t now, uint64_t rid, uint64_t sid,
    enum matcher_rule rule)
{
	struct matcher_proposal	p;

	assert_int_equal(matcher_next(m, now, &p), 1);
	assert_true(p.request_id == rid);
	assert_true(p.supporter_id == sid);
	assert_int_equal(p.decided_by, rule);
}

/* Expect no proposal. */
static void
expect_none(struct matcher *m, uint64_t now)
{
	struct matcher_proposal	p;

	assert_int_equal(matcher_next(m, now, &p), 0);
}

/* A fresh matcher with the test catalogue. */
static int
setup(void **state)
{
	*state = matcher_new(catalogue, NTAGS);
	return (*state == NULL ? -1 : 0);
}

/* Free it. */
static int
teardown(void **state)
{
	matcher_free(*state);
	return (0);
}

/* Rule 1: only available supporters are candidates. */
static void
test_candidate_available(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, EN, 2, 0, 0);
	assert_int_equal(matcher_supporter_set_status(m, 1, MATCHER_AWAY),
	    MATCHER_OK);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect_none(m, 100);
	matcher_supporter_set_status(m, 1, MATCHER_ON_BREAK);
	expect_none(m, 100);
	matcher_supporter_set_status(m, 1, MATCHER_OFFLINE);
	expect_none(m, 100);
	matcher_supporter_set_status(m, 1, MATCHER_AVAILABLE);
	expect(m, 100, 10, 1, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 1: load must be below capacity. */
static void
test_candidate_capacity(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, EN, 2, 2, 0);
	sup(m, 2, 0, EN, 0, 0, 0);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect_none(m, 100);
	assert_int_equal(matcher_supporter_set_capacity(m, 2, 1), MATCHER_OK);
	expect(m, 100, 10, 2, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 1: a shared language. */
static void
test_candidate_language(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, CY, 1, 0, 0);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect_none(m, 100);
	req(m, 11, 0, 0, 0, EN | CY, 0, 101);
	expect(m, 101, 11, 1, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 1: every required tag covered. */
static void
test_candidate_required(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, T(LGBTQ), EN, 1, 0, 0);
	sup(m, 2, T(BAME) | T(FEP), EN, 1, 0, 0);
	req(m, 10, 0, T(LGBTQ) | T(BAME), 0, EN, 0, 100);
	expect_none(m, 100);
	req(m, 11, 0, T(BAME) | T(FEP), 0, EN, 0, 101);
	expect(m, 101, 11, 2, MATCHER_RULE_ONLY_CANDIDATE);
	req(m, 12, 0, T(LGBTQ), 0, EN, 0, 102);
	expect(m, 102, 12, 1, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 1: a blocked pair is never matched. */
static void
test_candidate_blocked(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, EN, 1, 0, 0);
	assert_int_equal(matcher_block(m, 77, 1), MATCHER_OK);
	req(m, 10, 77, 0, 0, EN, 0, 100);
	expect_none(m, 100);
	/* Someone else may still be served by that supporter. */
	req(m, 11, 78, 0, 0, EN, 0, 101);
	expect(m, 101, 11, 1, MATCHER_RULE_ONLY_CANDIDATE);
	/* And a free supporter later serves the blocked requester. */
	sup(m, 2, 0, EN, 1, 0, 0);
	expect(m, 102, 10, 2, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 2: the requested previous supporter comes first. */
static void
test_rank_previous(void **state)
{
	struct matcher		*m = *state;
	struct matcher_request	 r;

	sup(m, 1, T(LGBTQ), EN, 3, 0, 0);
	sup(m, 2, 0, EN, 3, 2, 500);
	memset(&r, 0, sizeof r);
	r.id = 10;
	r.key = 5;
	r.preferred = tags(T(LGBTQ));
	r.langs = EN;
	r.previous = 2;
	assert_int_equal(matcher_request_enqueue(m, &r, 100), MATCHER_OK);
	expect(m, 100, 10, 2, MATCHER_RULE_PREVIOUS_SUPPORTER);
}

/* Rule 2: then the most preferred tags shared. */
static void
test_rank_preferred(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, T(LGBTQ), EN, 3, 0, 0);
	sup(m, 2, T(LGBTQ) | T(FEP), EN, 3, 2, 500);
	sup(m, 3, T(FEP), EN, 3, 0, 0);
	req(m, 10, 0, 0, T(LGBTQ) | T(FEP), EN, 0, 100);
	expect(m, 100, 10, 2, MATCHER_RULE_PREFERRED_TAGS);
}

/* Rule 2: then the fewest active conversations (offers count). */
static void
test_rank_fewest(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, EN, 3, 2, 0);
	sup(m, 2, 0, EN, 3, 1, 900);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect(m, 100, 10, 2, MATCHER_RULE_FEWEST_CONVERSATIONS);
	/* The offer to 2 is pending: both now have 2 active. */
	req(m, 11, 0, 0, 0, EN, 0, 101);
	expect(m, 101, 11, 1, MATCHER_RULE_LONGEST_SINCE_MATCH);
}

/* Rule 2: then the longest since the last match. */
static void
test_rank_longest(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, EN, 3, 1, 700);
	sup(m, 2, 0, EN, 3, 1, 300);
	req(m, 10, 0, 0, 0, EN, 0, 1000);
	expect(m, 1000, 10, 2, MATCHER_RULE_LONGEST_SINCE_MATCH);
	assert_int_equal(matcher_confirm(m, 10, 1000), MATCHER_OK);
	assert_int_equal(matcher_conversation_ended(m, 2), MATCHER_OK);
	/* 2 was just matched: now 1 has waited longest. */
	req(m, 11, 0, 0, 0, EN, 0, 1001);
	expect(m, 1001, 11, 1, MATCHER_RULE_LONGEST_SINCE_MATCH);
}

/* Rule 2: then a stable tie-break (lowest supporter id). */
static void
test_rank_tie_break(void **state)
{
	struct matcher	*m = *state;

	sup(m, 9, 0, EN, 1, 0, 0);
	sup(m, 4, 0, EN, 1, 0, 0);
	sup(m, 6, 0, EN, 1, 0, 0);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect(m, 100, 10, 4, MATCHER_RULE_TIE_BREAK);
}

/* Rule 3: urgent before non-urgent, then longest waiting. */
static void
test_queue_order(void **state)
{
	struct matcher	*m = *state;

	req(m, 10, 0, 0, 0, EN, 0, 100);
	req(m, 11, 0, 0, 0, EN, 0, 200);
	req(m, 12, 0, 0, 0, EN, 1, 300);
	req(m, 13, 0, 0, 0, EN, 1, 400);
	expect_none(m, 400);
	sup(m, 1, 0, EN, 4, 0, 0);
	expect(m, 500, 12, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect(m, 500, 13, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect(m, 500, 10, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect(m, 500, 11, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect_none(m, 500);
}

/* Rule 3: a requester who cannot be served does not hold up others. */
static void
test_queue_no_blocking(void **state)
{
	struct matcher	*m = *state;

	req(m, 10, 0, T(PRISON), 0, EN, 1, 100);	/* urgent, first */
	sup(m, 1, T(LGBTQ), EN, 1, 0, 0);
	req(m, 11, 0, T(LGBTQ), 0, EN, 0, 200);
	expect(m, 200, 11, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect_none(m, 200);
}

/* Rule 3: freed capacity goes to the longest-waiting compatible
 * requester, however it frees. */
static void
test_queue_freed(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, T(BAME), EN, 1, 1, 0);
	req(m, 10, 0, T(LGBTQ), 0, EN, 0, 100);	/* incompatible */
	req(m, 11, 0, T(BAME), 0, EN, 0, 200);
	req(m, 12, 0, 0, 0, EN, 0, 300);
	expect_none(m, 300);
	/* A conversation ends. */
	assert_int_equal(matcher_conversation_ended(m, 1), MATCHER_OK);
	expect(m, 400, 11, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect_none(m, 400);
	/* Capacity is raised. */
	assert_int_equal(matcher_supporter_set_capacity(m, 1, 2), MATCHER_OK);
	expect(m, 500, 12, 1, MATCHER_RULE_ONLY_CANDIDATE);
	/* A supporter comes back from a break. */
	sup(m, 2, T(LGBTQ), EN, 1, 0, 0);
	matcher_supporter_set_status(m, 2, MATCHER_ON_BREAK);
	expect_none(m, 600);
	matcher_supporter_set_status(m, 2, MATCHER_AVAILABLE);
	expect(m, 700, 10, 2, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 4: required tags relax only after the consented time. */
static void
test_relax_consent(void **state)
{
	struct matcher		*m = *state;
	struct matcher_request	 r;
	struct matcher_proposal	 p;
	uint64_t		 when;

	sup(m, 1, T(WOMEN), EN, 1, 0, 0);
	req(m, 9, 0, T(LGBTQ), 0, EN, 0, 100);	/* never consented */
	assert_int_equal(matcher_wakeup(m, &when), 0);
	memset(&r, 0, sizeof r);
	r.id = 10;
	r.required = tags(T(LGBTQ));
	r.langs = EN;
	r.relax_after_ms = 5000;
	assert_int_equal(matcher_request_enqueue(m, &r, 1000), MATCHER_OK);
	assert_int_equal(matcher_wakeup(m, &when), 1);
	assert_true(when == 6000);
	expect_none(m, 1000);
	expect_none(m, 5999);
	assert_int_equal(matcher_next(m, 6000, &p), 1);
	assert_true(p.request_id == 10 && p.supporter_id == 1);
	assert_int_equal(p.relaxed, 1);
	assert_int_equal(matcher_wakeup(m, &when), 0);
	assert_string_equal(p.explain, "required=none shared_preferred=none "
	    "decided_by=only_candidate relaxed=yes");
	/* Request 9 never relaxes, however long it waits. */
	sup(m, 2, T(WOMEN), EN, 1, 0, 0);
	expect_none(m, 1000000000);
}

/* Rule 5: an offer reserves the slot; confirm makes it load. */
static void
test_offer_confirm(void **state)
{
	struct matcher			*m = *state;
	struct matcher_supporter	 s;

	sup(m, 1, 0, EN, 1, 0, 0);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	req(m, 11, 0, 0, 0, EN, 0, 101);
	expect(m, 101, 10, 1, MATCHER_RULE_ONLY_CANDIDATE);
	expect_none(m, 101);		/* the slot is reserved */
	matcher_supporter_get(m, 1, &s);
	assert_int_equal(s.pending, 1);
	assert_int_equal(s.load, 0);
	assert_int_equal(matcher_confirm(m, 10, 150), MATCHER_OK);
	matcher_supporter_get(m, 1, &s);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.load, 1);
	assert_true(s.last_match_ms == 150);
	assert_int_equal(matcher_confirm(m, 10, 150), MATCHER_ENOENT);
	assert_int_equal(matcher_confirm(m, 11, 150), MATCHER_ESTATE);
	expect_none(m, 160);
}

/* Rule 5: on rejection the requester keeps their place and is not offered
 * that supporter again. */
static void
test_offer_reject(void **state)
{
	struct matcher	*m = *state;
	uint32_t	 pos;

	sup(m, 1, 0, EN, 1, 0, 0);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect(m, 100, 10, 1, MATCHER_RULE_ONLY_CANDIDATE);
	req(m, 11, 0, 0, 0, EN, 0, 200);
	assert_int_equal(matcher_reject(m, 10, 300), MATCHER_OK);
	assert_int_equal(matcher_reject(m, 10, 300), MATCHER_ESTATE);
	/* 11 gets supporter 1; 10 still comes first for anyone else. */
	expect(m, 300, 11, 1, MATCHER_RULE_ONLY_CANDIDATE);
	assert_int_equal(matcher_position(m, 10, 300, &pos), MATCHER_OK);
	assert_int_equal(pos, 1);
	req(m, 12, 0, 0, 0, EN, 0, 400);
	sup(m, 2, 0, EN, 1, 0, 0);
	expect(m, 400, 10, 2, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 5: a supporter who leaves withdraws their offers. */
static void
test_offer_supporter_leaves(void **state)
{
	struct matcher	*m = *state;

	sup(m, 1, 0, EN, 1, 0, 0);
	req(m, 10, 0, 0, 0, EN, 0, 100);
	expect(m, 100, 10, 1, MATCHER_RULE_ONLY_CANDIDATE);
	assert_int_equal(matcher_supporter_remove(m, 1), MATCHER_OK);
	assert_int_equal(matcher_confirm(m, 10, 100), MATCHER_ESTATE);
	sup(m, 2, 0, EN, 1, 0, 0);
	expect(m, 200, 10, 2, MATCHER_RULE_ONLY_CANDIDATE);
	assert_int_equal(matcher_request_cancel(m, 10), MATCHER_OK);
	/* Cancelling gave the slot back. */
	req(m, 11, 0, 0, 0, EN, 0, 300);
	expect(m, 300, 11, 2, MATCHER_RULE_ONLY_CANDIDATE);
}

/* Rule 6: every proposal says what is shared and which rule decided. */
static void
test_explanation(void **state)
{
	struct matcher		*m = *state;
	struct matcher_proposal	 p;

	sup(m, 1, T(LGBTQ) | T(FEP) | T(WOMEN), EN, 3, 1, 0);
	sup(m, 2, T(LGBTQ) | T(FEP), EN, 3, 2, 0);
	sup(m, 3, T(LGBTQ), EN, 3, 0, 0);
	req(m, 10, 0, T(LGBTQ), T(FEP) | T(BAME), EN, 0, 100);
	assert_int_equal(matcher_next(m, 100, &p), 1);
	assert_true(p.supporter_id == 1);
	assert_string_equal(p.explain, "required=lgbtq "
	    "shared_preferred=first-episode-psychosis "
	    "decided_by=fewest_conversations");
	assert_true(p.shared.w[0] == (T(LGBTQ) | T(FEP)));
	assert_string_equal(matcher_rule_name(p.decided_by),
	    "fewest_conversations");
}

/* Rule 7: position counts only those ahead who compete for the same
 * supporters. */
static void
test_position(void **state)
{
	struct matcher	*m = *state;
	uint32_t	 pos;

	req(m, 10, 0, 0, 0, EN, 0, 100);		/* competes with all */
	req(m, 11, 0, T(PRISON), 0, EN, 0, 200);	/* narrower */
	req(m, 12, 0, 0, 0, CY, 0, 300);		/* other language */
	req(m, 13, 0, T(LGBTQ), 0, EN, 0, 400);
	req(m, 14, 0, T(LGBTQ) | T(BAME), 0, EN, 0, 500);
	assert_int_equal(matcher_position(m, 14, 500, &pos), MATCHER_OK);
	assert_int_equal(pos, 3);	/* behind 10 and 13 */
	assert_int_equal(matcher_position(m, 10, 500, &pos), MATCHER_OK);
	assert_int_equal(pos, 1);
	assert_int_equal(matcher_position(m, 99, 500, &pos), MATCHER_ENOENT);
}

/* Rule 7: the wait estimate comes from recent service rates. */
static void
test_eta(void **state)
{
	struct matcher	*m = *state;
	uint64_t	 eta, now = 1000000, i;

	req(m, 1, 0, 0, 0, EN, 0, now);
	assert_int_equal(matcher_eta(m, 1, now, &eta), MATCHER_ENODATA);
	sup(m, 100, 0, EN, 1, 0, 0);
	/* Serve ten requesters a minute apart. */
	for (i = 0; i < 10; i++) {
		if (i > 0)
			req(m, 1 + i, 0, 0, 0, EN, 0, now);
		expect(m, now, 1 + i, 100, MATCHER_RULE_ONLY_CANDIDATE);
		assert_int_equal(matcher_confirm(m, 1 + i, now), MATCHER_OK);
		assert_int_equal(matcher_conversation_ended(m, 100),
		    MATCHER_OK);
		now += 60000;
	}
	matcher_supporter_set_status(m, 100, MATCHER_AWAY);
	req(m, 50, 0, 0, 0, EN, 0, now);
	req(m, 51, 0, 0, 0, EN, 0, now + 1);
	assert_int_equal(matcher_eta(m, 51, now + 1, &eta), MATCHER_OK);
	/* About 10 served in the last ~10 minutes with a one-hour memory:
	 * rate ~ 9 per hour, so second in line waits roughly 13 minutes. */
	assert_true(eta > 5 * 60000 && eta < 30 * 60000);
	/* Nobody compatible has served: no estimate. */
	req(m, 52, 0, T(PRISON), 0, EN, 0, now);
	assert_int_equal(matcher_eta(m, 52, now, &eta), MATCHER_ENODATA);
}

/* Rule 7: stats show the supply/demand gap per identity. */
static void
test_stats(void **state)
{
	struct matcher		*m = *state;
	struct matcher_stats	 st;

	sup(m, 1, T(LGBTQ), EN, 3, 1, 0);
	sup(m, 2, T(LGBTQ) | T(BAME), EN, 2, 0, 0);
	sup(m, 3, T(PRISON), EN, 2, 0, 0);
	matcher_supporter_set_status(m, 3, MATCHER_AWAY);
	req(m, 10, 0, T(PRISON), T(WOMEN), EN, 0, 1000);
	req(m, 11, 0, T(PRISON), 0, EN, 0, 4000);
	expect_none(m, 5000);
	matcher_stats(m, 5000, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.offered, 0);
	assert_true(st.oldest_wait_ms == 4000);
	assert_int_equal(st.demand_required[PRISON], 2);
	assert_int_equal(st.demand_preferred[WOMEN], 1);
	assert_int_equal(st.supply[PRISON], 0);	/* the gap */
	assert_int_equal(st.supply[LGBTQ], 4);
	assert_int_equal(st.supply[BAME], 2);
	assert_int_equal(st.supply_total, 4);
	assert_int_equal(st.supporters[MATCHER_AVAILABLE], 2);
	assert_int_equal(st.supporters[MATCHER_AWAY], 1);
}

/* More than LEVELS_MAX preferred tags still rank by count. */
static void
test_many_preferred(void **state)
{
	struct matcher_tag_def	 defs[20];
	struct matcher		*m;
	struct matcher_supporter s;
	struct matcher_request	 r;
	struct matcher_proposal	 p;
	char			 names[20][8];
	int			 i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(names[i], sizeof names[i], "t%d", i);
		defs[i].name = names[i];
		defs[i].description = NULL;
	}
	assert_non_null(m = matcher_new(defs, 20));
	memset(&s, 0, sizeof s);
	s.langs = EN;
	s.capacity = 1;
	for (i = 0; i < 5; i++) {
		s.id = 1 + i;
		s.tags = tags((1ULL << (3 * i + 1)) - 1);	/* 1, 4, ... 13 */
		s.load = 0;
		assert_int_equal(matcher_supporter_add(m, &s), MATCHER_OK);
	}
	memset(&r, 0, sizeof r);
	r.id = 10;
	r.preferred = tags(0xfffff);
	r.langs = EN;
	assert_int_equal(matcher_request_enqueue(m, &r, 1), MATCHER_OK);
	assert_int_equal(matcher_next(m, 1, &p), 1);
	assert_true(p.supporter_id == 5);
	assert_int_equal(p.decided_by, MATCHER_RULE_PREFERRED_TAGS);
	matcher_free(m);
}

/* The error contract. */
static void
test_errors(void **state)
{
	struct matcher			*m = *state;
	struct matcher_supporter	 s;
	struct matcher_request		 r;
	struct matcher_tags		 bad = {{ T(NTAGS), 0 }};
	uint64_t			 eta;
	uint32_t			 pos;

	memset(&s, 0, sizeof s);
	s.id = 1;
	s.langs = EN;
	s.capacity = 1;
	assert_int_equal(matcher_supporter_add(m, &s), MATCHER_OK);
	assert_int_equal(matcher_supporter_add(m, &s), MATCHER_EEXIST);
	s.id = 0;
	assert_int_equal(matcher_supporter_add(m, &s), MATCHER_EINVAL);
	s.id = 2;
	s.langs = 0;
	assert_int_equal(matcher_supporter_add(m, &s), MATCHER_EINVAL);
	s.langs = EN;
	s.tags = bad;
	assert_int_equal(matcher_supporter_add(m, &s), MATCHER_EINVAL);
	assert_int_equal(matcher_supporter_update(m, 1, &bad, EN),
	    MATCHER_EINVAL);
	s.tags = tags(T(BAME));
	assert_int_equal(matcher_supporter_update(m, 9, &s.tags, EN),
	    MATCHER_ENOENT);
	assert_int_equal(matcher_supporter_set_status(m, 1, 7),
	    MATCHER_EINVAL);
	assert_int_equal(matcher_supporter_set_status(m, 9, 0),
	    MATCHER_ENOENT);
	assert_int_equal(matcher_supporter_set_capacity(m, 9, 1),
	    MATCHER_ENOENT);
	assert_int_equal(matcher_conversation_ended(m, 1), MATCHER_ESTATE);
	assert_int_equal(matcher_conversation_ended(m, 9), MATCHER_ENOENT);
	assert_int_equal(matcher_supporter_remove(m, 9), MATCHER_ENOENT);
	assert_int_equal(matcher_supporter_get(m, 9, &s), MATCHER_ENOENT);
	assert_int_equal(matcher_block(m, 0, 1), MATCHER_EINVAL);
	assert_int_equal(matcher_block(m, 1, 0), MATCHER_EINVAL);

	memset(&r, 0, sizeof r);
	r.id = 10;
	r.langs = EN;
	r.required = tags(T(PRISON));
	assert_int_equal(matcher_request_enqueue(m, &r, 1), MATCHER_OK);
	assert_int_equal(matcher_request_enqueue(m, &r, 1), MATCHER_EEXIST);
	r.id = 0;
	assert_int_equal(matcher_request_enqueue(m, &r, 1), MATCHER_EINVAL);
	r.id = 11;
	r.langs = 0;
	assert_int_equal(matcher_request_enqueue(m, &r, 1), MATCHER_EINVAL);
	r.langs = EN;
	r.preferred = bad;
	assert_int_equal(matcher_request_enqueue(m, &r, 1), MATCHER_EINVAL);
	assert_int_equal(matcher_request_cancel(m, 11), MATCHER_ENOENT);
	assert_int_equal(matcher_confirm(m, 11, 1), MATCHER_ENOENT);
	assert_int_equal(matcher_reject(m, 11, 1), MATCHER_ENOENT);
	assert_int_equal(matcher_reject(m, 10, 1), MATCHER_ESTATE);
	assert_int_equal(matcher_position(m, 11, 1, &pos), MATCHER_ENOENT);
	assert_int_equal(matcher_eta(m, 11, 1, &eta), MATCHER_ENOENT);

	/* The catalogue cannot shrink below a tag in use. */
	assert_int_equal(matcher_set_catalogue(m, catalogue, PRISON),
	    MATCHER_EINVAL);
	assert_int_equal(matcher_set_catalogue(m, catalogue, NTAGS),
	    MATCHER_OK);
	assert_string_equal(matcher_tag_name(m, FEP),
	    "first-episode-psychosis");
	assert_null(matcher_tag_name(m, NTAGS));
	assert_string_equal(matcher_strerror(MATCHER_ENOENT), "not found");
	assert_null(matcher_new(NULL, 1));
}

/* Run every rule's test. */
int
main(void)
{
#define T_(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T_(test_candidate_available),
		T_(test_candidate_capacity),
		T_(test_candidate_language),
		T_(test_candidate_required),
		T_(test_candidate_blocked),
		T_(test_rank_previous),
		T_(test_rank_preferred),
		T_(test_rank_fewest),
		T_(test_rank_longest),
		T_(test_rank_tie_break),
		T_(test_queue_order),
		T_(test_queue_no_blocking),
		T_(test_queue_freed),
		T_(test_relax_consent),
		T_(test_offer_confirm),
		T_(test_offer_reject),
		T_(test_offer_supporter_leaves),
		T_(test_explanation),
		T_(test_position),
		T_(test_eta),
		T_(test_stats),
		cmocka_unit_test(test_many_preferred),
		T_(test_errors),
	};
#undef T_

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
