/*
 * test_privacy.c -- what peerd remembers and what it writes down: message
 * text never reaches the log; tag names never share a log line with an id;
 * a requester key gives continuity with the previous supporter across
 * visits, and a report blocks the pair across visits.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "people.h"

#define BODY_(x)	PEERD__V1__ENVELOPE__BODY_ ## x
#define ERR_(x)		PEERD__V1__ERROR_CODE__ ## x
#define END_(x)		PEERD__V1__END_REASON__ ## x

#define CANARY		"CANARY-7d1e9b"	/* appears only in message text */

static int
setup(void **state)
{
	return (world_setup(state));
}

static const char *const all_tags[] = {
	PEOPLE_TAG_LGBTQ, PEOPLE_TAG_BME, PEOPLE_TAG_PRISON,
	PEOPLE_TAG_PSYCHOSIS, PEOPLE_TAG_WARD
};
#define NTAGS	(sizeof all_tags / sizeof all_tags[0])

/* Wait for EndConversation{conv, reason} on c. */
static void
expect_end(struct tclient *c, const char *who, uint64_t conv, int reason)
{
	Envelope	*env;

	assert_non_null(env = people_wait(c, who, BODY_(END_CONVERSATION),
	    PEOPLE_PUSH_MS));
	assert_int_equal(env->end_conversation->conversation_id, conv);
	assert_int_equal(env->end_conversation->reason, reason);
	frame_free(env);
}

/* RequestPeer, expect QueueUpdate. */
static void
ask(struct tclient *r, const char *need, const char *prefer, int flags)
{
	Envelope	*env;

	assert_non_null(env = people_request(r, need, prefer, NULL, flags));
	assert_int_equal(env->body_case, BODY_(QUEUE_UPDATE));
	frame_free(env);
}

static int	canary_files;	/* files holding CANARY, found by nftw */

/* nftw callback: count regular files that contain CANARY. */
static int
find_canary(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(sb->st_mode) || sb->st_size > (8 << 20))
		return (0);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	if ((buf = malloc((size_t)sb->st_size + 1)) != NULL) {
		n = fread(buf, 1, (size_t)sb->st_size, f);
		buf[n] = '\0';
		if (memmem(buf, n, CANARY, strlen(CANARY)) != NULL) {
			fprintf(stderr, "message text found in %s\n", path);
			canary_files++;
		}
		free(buf);
	}
	fclose(f);
	return (0);
}

/*
 * Message text in every path (relayed both ways, a retransmission, too
 * long, not UTF-8, held for a dropped peer and replayed) never appears in
 * peerd's log, even at log_level debug, nor in any file under the test's
 * directory (peerd's and Redis's working files).
 */
static void
test_privacy_text_not_logged(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	struct presume	 res;
	Envelope	*env;
	char		*big, line[1024];
	uint64_t	 seq;

	assert_int_equal(world_cred(w, &cred, "sup-quiet", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, NULL));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);

	assert_int_equal(people_chat(r, cv.id, 1, CANARY " I feel awful",
	    &seq), 0);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	frame_free(env);
	assert_int_equal(people_chat(s, cv.id, 1, CANARY " I hear you", NULL),
	    0);
	assert_int_equal(people_chat(r, cv.id, 1, CANARY " again", NULL), 0);
	assert_non_null(big = malloc(5000));
	memset(big, 'a', 4999);
	big[4999] = '\0';
	memcpy(big + 100, CANARY, strlen(CANARY));
	assert_int_equal(people_chat(r, cv.id, 2, big, NULL),
	    ERR_(TEXT_TOO_LONG));
	free(big);
	assert_int_equal(people_chat(r, cv.id, 3, CANARY " \xc3\x28 bad",
	    NULL), ERR_(TEXT_TOO_LONG));

	/* Held for a dropped supporter and replayed on resume. */
	tclient_free(s);
	assert_non_null(env = people_wait(r, "requester", BODY_(PEER_STATUS),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_int_equal(people_chat(r, cv.id, 4, CANARY " are you back?",
	    NULL), 0);
	assert_non_null(s = tclient_connect(w->h));
	res.token = cv.stoken;
	res.len = cv.stoken_len;
	res.last_seq = seq;
	assert_non_null(env = people_hello(s, PEERD__V1__ROLE__SUPPORTER,
	    &cred, NULL, &res, 1));
	assert_int_equal(env->body_case, BODY_(WELCOME));
	frame_free(env);
	assert_non_null(env = people_wait_chat(s, cv.id, PEOPLE_PUSH_MS));
	assert_non_null(strstr(env->chat_message->text, "are you back"));
	frame_free(env);

	assert_int_equal(people_end(r, cv.id), 0);
	tclient_free(r);
	tclient_free(s);
	harness_msleep(200);
	/* Also whatever peerd writes while stopping. */
	assert_int_equal(harness_peerd_stop(w->h), 0);

	if (log_lines_with(w->h, CANARY, NULL, line, sizeof line) != 0)
		fprintf(stderr, "peerd logged message text: %s", line);
	assert_int_equal(log_lines_with(w->h, CANARY, NULL, NULL, 0), 0);
	assert_int_equal(log_lines_with(w->h, "I feel awful", NULL, NULL, 0),
	    0);
	/* Sanity: the log exists and saw the conversation. */
	assert_true(log_lines_with(w->h, "conn=", NULL, NULL, 0) > 0);
	/* Nor any other file in peerd's (and Redis's) directory. */
	assert_int_equal(nftw(w->h->dir, find_canary, 16, FTW_PHYS), 0);
	assert_int_equal(canary_files, 0);
}

/*
 * Tag names (sensitive identity) never share a log line with an id (id=,
 * the supporter's credential id), through a whole match, decline, offer,
 * end and an unknown tag.
 */
static void
test_privacy_tags_not_beside_ids(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2;
	struct tclient	*s1, *s2, *r;
	struct pconv	 cv;
	Envelope	*env;
	char		 line[1024];
	size_t		 i;
	int		 bad = 0;

	assert_int_equal(world_cred(w, &c1, "sup-t1",
	    PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_BME "," PEOPLE_TAG_PRISON, 1, 0),
	    0);
	assert_int_equal(world_cred(w, &c2, "sup-t2",
	    PEOPLE_TAG_LGBTQ "," PEOPLE_TAG_PSYCHOSIS "," PEOPLE_TAG_WARD, 1,
	    0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, NULL));
	ask(r, PEOPLE_TAG_LGBTQ, PEOPLE_TAG_PRISON "," PEOPLE_TAG_BME, 0);
	assert_non_null(env = people_wait(s1, "s1", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_decline(s1, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(env = people_wait(s2, "s2", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_accept(s2, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r, "requester", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	cv.id = env->matched->conversation_id;
	frame_free(env);
	assert_int_equal(people_end(s2, cv.id), 0);
	env = people_request(r, PEOPLE_TAG_WARD ",qx-unknown", NULL, NULL, 0);
	assert_int_equal(people_code(env), ERR_(UNKNOWN_TAG));
	frame_free(env);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
	harness_msleep(200);

	for (i = 0; i < NTAGS; i++) {
		if (log_lines_with(w->h, all_tags[i], "id=", line,
		    sizeof line) != 0) {
			fprintf(stderr, "tag %s beside id=: %s", all_tags[i],
			    line);
			bad++;
		}
		if (log_lines_with(w->h, all_tags[i], "sup-t", line,
		    sizeof line) != 0) {
			fprintf(stderr, "tag %s beside a supporter id: %s",
			    all_tags[i], line);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* Sanity: the matches were logged at all. */
	assert_true(log_lines_with(w->h, "conn=", NULL, NULL, 0) > 0);
}

/*
 * Wait for an Offer to either supporter (listening to both in turn), then
 * a moment more for one to the other (which must not come).
 */
static void
first_offer(struct tclient *sa, struct tclient *sb, Envelope **ea,
    Envelope **eb)
{
	int64_t	deadline = harness_now_ms() + PEOPLE_PUSH_MS;

	*ea = *eb = NULL;
	while (*ea == NULL && *eb == NULL && harness_now_ms() < deadline) {
		*ea = tclient_recv(sa, BODY_(OFFER), 20);
		if (*ea == NULL)
			*eb = tclient_recv(sb, BODY_(OFFER), 20);
	}
	if (*ea == NULL)
		*ea = tclient_recv(sa, BODY_(OFFER), 300);
	if (*eb == NULL)
		*eb = tclient_recv(sb, BODY_(OFFER), 300);
}

/*
 * Continuity: a requester with a key, matched with supporter P, comes back
 * on a new connection with the same key and prefer_previous: P is offered
 * again (returning=true) although fairness alone would pick the other
 * supporter, who has waited longer since a match.
 */
static void
test_privacy_previous_supporter(void **state)
{
	struct world	*w = *state;
	struct pcred	 ca, cb;
	struct tclient	*sa, *sb, *p, *q, *r;
	struct pconv	 cv;
	Envelope	*env, *ea, *eb;
	uint8_t		 key[32];
	const char	*pname;

	memset(key, 0x42, sizeof key);
	key[0] = 0x01;
	assert_int_equal(world_cred(w, &ca, "sup-pa", NULL, 1, 0), 0);
	assert_int_equal(world_cred(w, &cb, "sup-pb", NULL, 1, 0), 0);
	assert_non_null(sa = people_supporter_available(w, &ca));
	assert_non_null(sb = people_supporter_available(w, &cb));

	/* First visit: whoever is offered becomes P. */
	assert_non_null(r = people_requester(w, key));
	ask(r, NULL, NULL, 0);
	first_offer(sa, sb, &ea, &eb);
	if ((ea != NULL) == (eb != NULL)) {
		char	b1[512], b2[512];

		fprintf(stderr, "one request, offers to %s: %s / %s\n",
		    ea != NULL ? "both supporters" : "neither supporter",
		    people_describe(ea, b1, sizeof b1),
		    people_describe(eb, b2, sizeof b2));
		people_dump(sa, "sup-pa");
		people_dump(sb, "sup-pb");
		people_dump(r, "requester");
	}
	assert_true((ea != NULL) != (eb != NULL));
	p = ea != NULL ? sa : sb;
	q = ea != NULL ? sb : sa;
	pname = ea != NULL ? ca.name : cb.name;
	env = ea != NULL ? ea : eb;
	assert_false(env->offer->returning);
	assert_int_equal(people_accept(p, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r, "requester", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	cv.id = env->matched->conversation_id;
	assert_string_equal(env->matched->peer_name, pname);
	frame_free(env);
	assert_int_equal(people_end(r, cv.id), 0);
	expect_end(p, "P", cv.id, END_(END_BY_REQUESTER));
	tclient_free(r);

	/* Second visit, same key: P again, marked returning. */
	assert_non_null(r = people_requester(w, key));
	ask(r, NULL, NULL, PREQ_PREVIOUS);
	assert_non_null(env = people_wait(p, "P", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_true(env->offer->returning);
	assert_int_equal(people_accept(p, env->offer->offer_id), 0);
	frame_free(env);
	assert_null(tclient_recv(q, BODY_(OFFER), 0));
	assert_non_null(env = people_wait(r, "requester", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	assert_string_equal(env->matched->peer_name, pname);
	frame_free(env);
	tclient_free(r);
	tclient_free(sa);
	tclient_free(sb);
}

/* Send StatsRequest as operator o; return the reply. */
static Envelope *
stats(struct tclient *o)
{
	Peerd__V1__StatsRequest	sr = PEERD__V1__STATS_REQUEST__INIT;
	Envelope		env = PEERD__V1__ENVELOPE__INIT;

	env.body_case = BODY_(STATS_REQUEST);
	env.stats_request = &sr;
	return (people_call(o, &env, HARNESS_IO_MS));
}

/*
 * The requester reports: both sides get END_REPORTED; that supporter is
 * never offered this requester again, on the same connection or on a new
 * visit with the same key; another supporter is; operators see the count.
 */
static void
test_privacy_report_blocks_pair(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1, c2, op;
	struct tclient	*s1, *s2, *r, *o;
	struct pconv	 cv;
	Envelope	*env;
	uint8_t		 key[32];

	memset(key, 0x99, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-reported", NULL, 2, 0), 0);
	assert_int_equal(world_cred(w, &c2, "sup-other", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, key));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);

	assert_int_equal(people_report(r, cv.id, "abusive"), 0);
	expect_end(r, "requester", cv.id, END_(END_REPORTED));
	expect_end(s1, "reported", cv.id, END_(END_REPORTED));

	/* Same connection: s1 has a free slot but is not offered. */
	ask(r, NULL, NULL, 0);
	assert_null(tclient_recv(s1, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_int_equal(people_cancel(r), 0);
	tclient_free(r);

	/* A new visit with the same key, asking for the previous one even. */
	assert_non_null(r = people_requester(w, key));
	ask(r, NULL, NULL, PREQ_PREVIOUS);
	assert_null(tclient_recv(s1, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_non_null(s2 = people_supporter_available(w, &c2));
	assert_non_null(env = people_wait(s2, "s2", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_false(env->offer->returning);
	frame_free(env);
	assert_null(tclient_recv(s1, BODY_(OFFER), 0));

	/* Operators see one report, and nothing else about it. */
	assert_int_equal(world_cred(w, &op, "op-stats", NULL, 1,
	    PCRED_OPERATOR), 0);
	assert_non_null(o = people_operator(w, &op));
	assert_non_null(env = stats(o));
	assert_int_equal(env->body_case, BODY_(STATS_REPLY));
	assert_int_equal(env->stats_reply->reports_total, 1);
	frame_free(env);
	tclient_free(o);
	tclient_free(r);
	tclient_free(s1);
	tclient_free(s2);
}

/*
 * The supporter reports: the same block, seen from the other side; other
 * requesters still reach that supporter.
 */
static void
test_privacy_supporter_reports(void **state)
{
	struct world	*w = *state;
	struct pcred	 c1;
	struct tclient	*s1, *r, *r2;
	struct pconv	 cv;
	Envelope	*env;
	uint8_t		 key[32];

	memset(key, 0x17, sizeof key);
	assert_int_equal(world_cred(w, &c1, "sup-reports", NULL, 1, 0), 0);
	assert_non_null(s1 = people_supporter_available(w, &c1));
	assert_non_null(r = people_requester(w, key));
	assert_int_equal(people_match(r, s1, NULL, NULL, &cv), 0);
	assert_int_equal(people_report(s1, cv.id, "threatening"), 0);
	expect_end(s1, "supporter", cv.id, END_(END_REPORTED));
	expect_end(r, "requester", cv.id, END_(END_REPORTED));
	tclient_free(r);

	assert_non_null(r = people_requester(w, key));
	ask(r, NULL, NULL, 0);
	assert_null(tclient_recv(s1, BODY_(OFFER), PEOPLE_QUIET_MS));
	assert_non_null(r2 = people_requester(w, NULL));
	ask(r2, NULL, NULL, 0);
	assert_non_null(env = people_wait(s1, "supporter", BODY_(OFFER),
	    PEOPLE_PUSH_MS));
	assert_int_equal(people_accept(s1, env->offer->offer_id), 0);
	frame_free(env);
	assert_non_null(env = people_wait(r2, "r2", BODY_(MATCHED),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	assert_null(tclient_recv(r, BODY_(MATCHED), 0));
	tclient_free(r);
	tclient_free(r2);
	tclient_free(s1);
}

/* Write len bytes as lower- and upper-case hex and base64 into out[3]. */
static void
encodings(const uint8_t *b, size_t len, char out[3][96])
{
	static const char	b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			i, o = 0;

	for (i = 0; i < len && i < 40; i++) {
		snprintf(out[0] + 2 * i, 3, "%02x", b[i]);
		snprintf(out[1] + 2 * i, 3, "%02X", b[i]);
	}
	/* base64 of the first 30 bytes (no padding involved). */
	for (i = 0; i + 3 <= len && i < 30; i += 3) {
		uint32_t	v = (uint32_t)b[i] << 16 | b[i + 1] << 8 | b[i + 2];

		out[2][o++] = b64[v >> 18 & 63];
		out[2][o++] = b64[v >> 12 & 63];
		out[2][o++] = b64[v >> 6 & 63];
		out[2][o++] = b64[v & 63];
	}
	out[2][o] = '\0';
}

/*
 * Secrets never reach the log: not the requester key, not the resume
 * tokens (whoever reads them could take over a conversation), in hex or
 * base64, whole or their first 8 bytes.
 */
static void
test_privacy_secrets_not_logged(void **state)
{
	struct world	*w = *state;
	struct pcred	 cred;
	struct tclient	*r, *s;
	struct pconv	 cv;
	Envelope	*env;
	uint8_t		 key[32];
	const uint8_t	*secret[3];
	char		 enc[3][96], probe[32], line[1024];
	size_t		 i, j;
	int		 bad = 0;

	for (i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(0xa0 + i * 7);
	assert_int_equal(world_cred(w, &cred, "sup-secret", NULL, 1, 0), 0);
	assert_non_null(s = people_supporter_available(w, &cred));
	assert_non_null(r = people_requester(w, key));
	assert_int_equal(people_match(r, s, NULL, NULL, &cv), 0);
	assert_int_equal(cv.rtoken_len, 32);
	assert_int_equal(cv.stoken_len, 32);
	/* Resume both sides, so the tokens go through Hello parsing too. */
	tclient_free(r);
	assert_non_null(env = people_wait(s, "supporter", BODY_(PEER_STATUS),
	    PEOPLE_PUSH_MS));
	frame_free(env);
	{
		struct presume	res = { cv.rtoken, cv.rtoken_len, 0 };

		assert_non_null(r = tclient_connect(w->h));
		assert_non_null(env = people_hello(r,
		    PEERD__V1__ROLE__REQUESTER, NULL, key, &res, 1));
		frame_free(env);
		assert_non_null(env = people_wait(r, "requester",
		    BODY_(MATCHED), PEOPLE_PUSH_MS));
		frame_free(env);
	}
	assert_int_equal(people_end(r, cv.id), 0);
	tclient_free(r);
	tclient_free(s);
	assert_int_equal(harness_peerd_stop(w->h), 0);

	secret[0] = key;
	secret[1] = cv.rtoken;
	secret[2] = cv.stoken;
	for (i = 0; i < 3; i++) {
		memset(enc, 0, sizeof enc);
		encodings(secret[i], 32, enc);
		for (j = 0; j < 3; j++) {
			snprintf(probe, sizeof probe, "%.16s", enc[j]);
			if (log_lines_with(w->h, probe, NULL, line,
			    sizeof line) != 0) {
				fprintf(stderr, "secret %zu (encoding %zu) "
				    "logged: %s", i, j, line);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_privacy_text_not_logged,
		    setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_privacy_tags_not_beside_ids, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_privacy_previous_supporter, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_privacy_report_blocks_pair, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_privacy_supporter_reports, setup, world_teardown),
		cmocka_unit_test_setup_teardown(
		    test_privacy_secrets_not_logged, setup, world_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
