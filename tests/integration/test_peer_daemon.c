/*
 * test_peer_daemon.c -- the `peer` program in script mode against a real
 * peerd and Redis: the tag list, refusals, and whole conversations between
 * a requester and a supporter, both real `peer` processes.
 *
 * Each test makes an Ed25519 signing key in the harness's temp dir, starts
 * peerd with its public half, and signs the supporter credential with it.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"
#include "credential.h"
#include "harness.h"
#include "pane.h"
#include "relay.h"

#define T_MS		CHILD_MS /* ms, a step of a conversation */
#define T_TAGS								\
	"tag lgbtq LGBTQ+ peers, with words\n"				\
	"tag bme Black and minority ethnic\n"				\
	"tag prison Experience of prison\n"

/* ---- set-up: a signing key, peerd trusting it, a supporter credential -- */

/* Sign a supporter credential with key into dir/name. */
static void
issue(struct harness *h, EVP_PKEY *key, const char *name, char *path,
    size_t len)
{
	struct cred_info	 info;
	uint8_t			 buf[CRED_MAX];
	size_t			 blen;
	char			 err[CRED_ERR_MAX];

	memset(&info, 0, sizeof info);
	strcpy(info.id, "sam-1");
	strcpy(info.name, "Sam Smith");
	info.role = PEERD__V1__ROLE__SUPPORTER;
	strcpy(info.tags[0], "lgbtq");
	strcpy(info.tags[1], "bme");
	info.ntags = 2;
	strcpy(info.languages[0], "en");
	info.nlanguages = 1;
	info.capacity = 2;
	info.issued_at = (uint64_t)time(NULL) - 60;
	info.not_after = info.issued_at + 86400;
	assert_int_equal(cred_sign(&info, key, buf, sizeof buf, &blen, NULL),
	    CRED_OK);
	child_path(path, len, h->dir, name);
	assert_int_equal(cred_write_file(path, buf, blen, err, sizeof err), 0);
}

/*
 * Start Redis (flags HARNESS_REDIS) and peerd (with extra lines) trusting
 * a fresh signing key.
 */
static int
setup_flags(void **state, int flags, const char *extra)
{
	struct harness	*h;
	EVP_PKEY	*key;
	char		 priv[HARNESS_PATH], pub[HARNESS_PATH], cred[HARNESS_PATH];
	char		 err[CRED_ERR_MAX], conf[8192];

	if (harness_setup(state, flags | HARNESS_NO_PEERD, NULL) == -1)
		return (-1);
	h = *state;
	child_path(priv, sizeof priv, h->dir, "signing.key");
	child_path(pub, sizeof pub, h->dir, "signing.pub");
	if ((key = cred_key_generate()) == NULL ||
	    cred_key_write(key, priv, pub, err, sizeof err) == -1) {
		fprintf(stderr, "signing key: %s\n", err);
		return (-1);
	}
	issue(h, key, "sam.cred", cred, sizeof cred);
	EVP_PKEY_free(key);
	/* A credential from another organisation. */
	key = cred_key_generate();
	issue(h, key, "forged.cred", cred, sizeof cred);
	EVP_PKEY_free(key);
	snprintf(conf, sizeof conf, "signing_pubkey %s\n%s%s", pub, T_TAGS,
	    extra != NULL ? extra : "");
	return (harness_peerd_start(h, conf));
}

static int
setup_with(void **state, const char *extra)
{
	return (setup_flags(state, HARNESS_REDIS, extra));
}

static int
setup(void **state)
{
	return (setup_with(state, "grace 2\n"));
}

/* peerd started while Redis is down. */
static int
setup_no_redis(void **state)
{
	return (setup_flags(state, 0, "grace 2\n"));
}

/* ---- tests ---------------------------------------------------------------- */

/* `peer tags` prints the catalogue with descriptions and exits 0. */
static void
test_tags(void **state)
{
	struct harness	*h = *state;
	struct child	*c;

	c = child_start(h, 0, "tags.err", "tags", NULL);
	child_expect(c, "lgbtq   LGBTQ+ peers, with words");
	child_expect(c, "bme     Black and minority ethnic");
	child_expect(c, "prison  Experience of prison");
	assert_int_equal(child_wait(c, T_MS), 0);
	child_free(c);
}

/* An unknown tag: the error line with peerd's code, exit 1. */
static void
test_unknown_tag(void **state)
{
	struct harness	*h = *state;
	struct child	*c;

	c = child_start(h, 0, "req.err", "request", "--need", "astronauts",
	    NULL);
	child_expect(c, "error code=UNKNOWN_TAG message=");
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
}

/* A credential peerd's key did not sign: BAD_CREDENTIAL, exit 1. */
static void
test_bad_credential(void **state)
{
	struct harness	*h = *state;
	struct child	*c;
	char		 cred[HARNESS_PATH];

	child_path(cred, sizeof cred, h->dir, "forged.cred");
	c = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	child_expect(c, "error code=BAD_CREDENTIAL message=");
	assert_int_equal(child_wait(c, T_MS), 1);
	child_free(c);
}

/*
 * A whole conversation: the requester queues, the supporter is offered it
 * and accepts, lines flow both ways with accepted and delivered ticks, and
 * the requester's end of input ends it on both sides.
 */
static void
test_conversation(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], conv[64], want[128];
	const char	*line;

	child_path(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	/* Let the supporter become available before the request comes. */
	harness_msleep(500);
	r = child_start(h, 0, "req.err", "--wait-delivered", "request", "--need",
	    "lgbtq", "--prefer", "bme", NULL);
	child_say(r, "hello, is anyone there?");
	child_expect(r, "queued position=");
	line = child_expect(s, "offer id=");
	assert_string_equal(child_field(line, "shared="), "lgbtq,bme");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", child_field(line, "conversation="));
	assert_string_equal(child_field(line, "shared="), "lgbtq,bme");
	assert_true(strncmp(child_field(line, "peer="), "guest-", 6) == 0);
	line = child_expect(r, "matched conversation=");
	assert_string_equal(child_field(line, "conversation="), conv);
	assert_string_equal(child_field(line, "peer="), "Sam\\x20Smith");
	assert_string_equal(child_field(line, "shared="), "lgbtq,bme");

	/* The requester's first line waited for the match. */
	snprintf(want, sizeof want, "message conversation=%s seq=1 "
	    "text=hello, is anyone there?", conv);
	assert_string_equal(child_expect(s, "message "), want);
	assert_string_equal(child_expect(r, "accepted "), "accepted seq=1");
	assert_string_equal(child_expect(r, "delivered "), "delivered seq=1");

	child_say(s, "Hi, I'm Sam.\tI'm here.");
	assert_string_equal(child_expect(s, "accepted "), "accepted seq=2");
	snprintf(want, sizeof want, "message conversation=%s seq=2 "
	    "text=Hi, I'm Sam.\\tI'm here.", conv);
	assert_string_equal(child_expect(r, "message "), want);
	assert_string_equal(child_expect(s, "delivered "), "delivered seq=2");

	child_say(r, "thank you");
	child_eof(r);
	assert_string_equal(child_expect(r, "accepted "), "accepted seq=3");
	snprintf(want, sizeof want, "message conversation=%s seq=3 "
	    "text=thank you", conv);
	assert_string_equal(child_expect(s, "message "), want);
	assert_string_equal(child_expect(r, "delivered "), "delivered seq=3");
	snprintf(want, sizeof want, "ended conversation=%s "
	    "reason=by_requester", conv);
	assert_string_equal(child_expect(r, "ended "), want);
	assert_string_equal(child_expect(s, "ended "), want);
	assert_int_equal(child_wait(r, T_MS), 0);

	/* The supporter stays for the next one until its input ends. */
	child_say(s, "are you still there?");
	child_expect(s, "error code=NOT_FOUND message=");
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
}

/*
 * The supporter's end of input ends the conversation (by_supporter); a
 * requester that vanishes makes the supporter see peer-reconnecting, then
 * the end after the grace window (peer_gone).
 */
static void
test_supporter_end_and_gone(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], conv[64], want[128];
	const char	*line;

	child_path(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	r = child_start(h, 0, "req.err", "request", "--no-key", NULL);
	child_expect(r, "queued position=");
	child_expect(s, "offer id=");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", child_field(line, "conversation="));
	assert_string_equal(child_field(line, "shared="), "");
	child_expect(r, "matched conversation=");
	child_eof(s);
	snprintf(want, sizeof want, "ended conversation=%s "
	    "reason=by_supporter", conv);
	assert_string_equal(child_expect(s, "ended "), want);
	assert_string_equal(child_expect(r, "ended "), want);
	assert_int_equal(child_wait(s, T_MS), 0);
	assert_int_equal(child_wait(r, T_MS), 0);
	child_free(r);
	child_free(s);

	s = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	r = child_start(h, 0, "req.err", "request", "--no-key", NULL);
	child_expect(r, "queued position=");
	child_expect(s, "offer id=");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", child_field(line, "conversation="));
	child_expect(r, "matched conversation=");
	kill(r->pid, SIGKILL);
	assert_string_equal(child_expect(s, "peer-"), "peer-reconnecting");
	snprintf(want, sizeof want, "ended conversation=%s reason=peer_gone",
	    conv);
	assert_string_equal(child_expect(s, "ended "), want);
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
}

/*
 * The supporter's connection is cut mid-conversation: the requester sees
 * peer-reconnecting and keeps writing (peerd holds it); the supporter
 * reconnects by itself, resumes, receives what it missed exactly once,
 * and the requester sees resumed.
 */
static void
test_drop_and_resume(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], conv[64], want[128];
	const char	*line;
	pid_t		 relay;
	int		 port = relay_free_port();

	child_path(cred, sizeof cred, h->dir, "sam.cred");
	relay = relay_start(h, port);
	s = child_start(h, port, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	r = child_start(h, 0, "req.err", "request", "--no-key", NULL);
	child_expect(r, "queued position=");
	child_expect(s, "offer id=");
	line = child_expect(s, "matched conversation=");
	snprintf(conv, sizeof conv, "%s", child_field(line, "conversation="));
	child_expect(r, "matched conversation=");
	child_say(s, "hello");
	assert_string_equal(child_expect(s, "accepted "), "accepted seq=1");
	child_expect(r, "message ");
	assert_string_equal(child_expect(s, "delivered "), "delivered seq=1");

	relay_stop(relay);
	assert_string_equal(child_expect(r, "peer-"), "peer-reconnecting");
	child_say(r, "are you still there?");
	assert_string_equal(child_expect(r, "accepted "), "accepted seq=2");
	relay = relay_start(h, port);
	assert_string_equal(child_expect(r, "resumed"), "resumed");
	snprintf(want, sizeof want, "message conversation=%s seq=2 "
	    "text=are you still there?", conv);
	assert_string_equal(child_expect(s, "message "), want);
	assert_string_equal(child_expect(r, "delivered "), "delivered seq=2");
	child_say(s, "yes, my connection dropped");
	assert_string_equal(child_expect(s, "accepted "), "accepted seq=3");
	snprintf(want, sizeof want, "message conversation=%s seq=3 "
	    "text=yes, my connection dropped", conv);
	assert_string_equal(child_expect(r, "message "), want);
	assert_string_equal(child_expect(s, "delivered "), "delivered seq=3");
	child_eof(r);
	snprintf(want, sizeof want, "ended conversation=%s "
	    "reason=by_requester", conv);
	assert_string_equal(child_expect(r, "ended "), want);
	assert_string_equal(child_expect(s, "ended "), want);
	assert_int_equal(child_wait(r, T_MS), 0);
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
	relay_stop(relay);
}

/*
 * An interactive requester (in tmux) and a script-mode supporter through a
 * real peerd: the match, a message each way with the delivery ticks, and
 * the supporter's end seen on the screen.
 */
static void
test_tty_with_peerd(void **state)
{
	struct harness	*h = *state;
	struct child	*s;
	char		 cred[HARNESS_PATH], session[64];
	const char	*line;
	int		 ok = 0;

	if (pane_sh("command -v tmux >/dev/null") != 0)
		skip();
	if (h->peer_bin == NULL)
		fail_msg("PEER_BIN is not set");
	child_path(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	snprintf(session, sizeof session, "peerdtest%d", (int)getpid());
	assert_int_equal(pane_sh("tmux new-session -d -s %s -x 100 -y 30 "
	    "'HOME=%s LANG=C.UTF-8 LC_ALL=C.UTF-8 %s --server 127.0.0.1:%d "
	    "--ca %s request --need lgbtq --no-key; sleep 60'", session,
	    h->dir, h->peer_bin, h->port, h->ca), 0);
	if (pane_wait(session, "You are talking with Sam Smith. You share: "
	    "lgbtq.", T_MS))
		goto out;
	child_expect(s, "offer id=");
	child_expect(s, "matched conversation=");
	pane_sh("tmux send-keys -t %s 'hello Sam' Enter", session);
	line = child_expect(s, "message ");
	assert_non_null(strstr(line, " text=hello Sam"));
	if (pane_wait(session, "you: hello Sam \xe2\x9c\x93\xe2\x9c\x93",
	    T_MS))
		goto out;
	child_say(s, "Hello, I'm here for you.");
	child_expect(s, "accepted ");
	if (pane_wait(session, "Sam Smith: Hello, I'm here for you.", T_MS))
		goto out;
	child_expect(s, "delivered ");
	child_eof(s);
	child_expect(s, "ended ");
	if (pane_wait(session, "Sam Smith ended the conversation.", T_MS))
		goto out;
	pane_sh("tmux send-keys -t %s '/quit' Enter", session);
	if (pane_wait(session, "you left. Take care.", T_MS))
		goto out;
	ok = 1;
out:
	pane_sh("tmux kill-session -t %s 2>/dev/null", session);
	if (ok)
		ok = child_wait(s, T_MS) == 0;
	child_free(s);
	if (!ok)
		fail_msg("interactive screen or supporter went wrong");
}

static int
setup_slow(void **state)
{
	return (setup_with(state, "grace 2\nchat_rate 2\nchat_burst 1\n"));
}

/*
 * Over peerd's chat rate (2 a second, bursts of 1) the requester's lines
 * are refused with RATE_LIMITED, kept, and sent again a moment later: all
 * arrive, once each and in order, and the requester exits 0.
 */
static void
test_rate_limited(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH], want[128];
	const char	*line;
	int		 i, acc, del;

	child_path(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	harness_msleep(500);
	r = child_start(h, 0, "req.err", "--wait-delivered", "request", "--need",
	    "lgbtq", NULL);
	for (i = 1; i <= 5; i++) {
		snprintf(want, sizeof want, "line %d", i);
		child_say(r, want);
	}
	child_eof(r);
	child_expect(s, "offer id=");
	child_expect(s, "matched conversation=");
	for (i = 1; i <= 5; i++) {
		line = child_expect(s, "message ");
		snprintf(want, sizeof want, "seq=%d text=line %d", i, i);
		assert_non_null(strstr(line, want));
	}
	/* Each accepted and delivered once, in order; no error shown. */
	acc = del = 0;
	while ((line = child_line(r, T_MS)) != NULL &&
	    strncmp(line, "ended ", 6) != 0) {
		assert_null(strstr(line, "error"));
		if (sscanf(line, "accepted seq=%d", &i) == 1)
			assert_int_equal(i, ++acc);
		if (sscanf(line, "delivered seq=%d", &i) == 1)
			assert_int_equal(i, ++del);
	}
	assert_non_null(line);
	assert_int_equal(acc, 5);
	assert_int_equal(del, 5);
	child_expect(s, "ended ");
	assert_int_equal(child_wait(r, T_MS), 0);
	child_eof(s);
	assert_int_equal(child_wait(s, T_MS), 0);
	child_free(r);
	child_free(s);
}

/*
 * A supporter who connects before a freshly started peerd has read the
 * revocation list (Redis down) is told TRY_LATER; `peer support` keeps
 * trying and is in, and offered, once Redis is back.
 */
static void
test_try_later_retried(void **state)
{
	struct harness	*h = *state;
	struct child	*r, *s;
	char		 cred[HARNESS_PATH];
	const char	*line;

	child_path(cred, sizeof cred, h->dir, "sam.cred");
	s = child_start(h, 0, "sup.err", "support", "--credential", cred,
	    "--auto-accept", NULL);
	child_expect(s, "error code=TRY_LATER message=");
	assert_int_equal(harness_redis_start(h), 0);
	assert_int_equal(harness_log_wait(h, "event=revocations_known",
	    T_MS), 0);
	assert_int_equal(harness_log_wait(h, "event=auth role=supporter",
	    T_MS), 0);
	harness_msleep(500);
	r = child_start(h, 0, "req.err", "request", "--need", "lgbtq", NULL);
	child_expect(r, "queued position=");
	/* More TRY_LATER lines may come first: peer retried in between. */
	while ((line = child_line(s, T_MS)) != NULL &&
	    strncmp(line, "error code=TRY_LATER ", 21) == 0)
		;
	assert_non_null(line);
	assert_true(strncmp(line, "offer id=", 9) == 0);
	child_expect(r, "matched conversation=");
	child_free(r);
	child_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_try_later_retried,
		    setup_no_redis, harness_teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_tag, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_credential, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_conversation, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_supporter_end_and_gone,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_resume, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_tty_with_peerd, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, setup_slow,
		    harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
