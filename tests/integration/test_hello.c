/*
 * test_hello.c -- Hello/Welcome, Ping/Pong and the Hello-first rule against
 * a real peerd (with Redis).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

/* Limits chosen to differ from peerd's defaults, so Welcome must echo them. */
#define CONF_HELLO							\
	"max_frame 32768\n"						\
	"max_frame_hello 2048\n"					\
	"max_text 2000\n"						\
	"idle_timeout 120\n"						\
	"keepalive 17\n"						\
	"tag harness-alpha Alpha test tag, with words\n"		\
	"tag harness-beta Beta test tag\n"

static int
setup(void **state)
{
	return (harness_setup(state, HARNESS_REDIS, CONF_HELLO));
}

/* Return the catalogue entry called name in a Welcome, or NULL. */
static const Peerd__V1__Tag *
find_tag(const Peerd__V1__Welcome *w, const char *name)
{
	size_t	i;

	for (i = 0; i < w->n_tags; i++)
		if (w->tags[i]->name != NULL &&
		    strcmp(w->tags[i]->name, name) == 0)
			return (w->tags[i]);
	return (NULL);
}

/* Hello as a requester gets a Welcome echoing id, limits, tags and role. */
static void
test_hello_welcome(void **state)
{
	struct harness			*h = *state;
	struct tclient			*c;
	const Peerd__V1__Welcome	*w;
	const Peerd__V1__Tag		*t;
	Envelope			*env;
	uint64_t			 id;

	assert_non_null(c = tclient_connect(h));
	assert_int_not_equal(id = tclient_send_hello(c,
	    PEERD__V1__ROLE__REQUESTER), 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_equal(env->id, id);
	w = env->welcome;
	assert_int_not_equal(w->connection_id, 0);
	assert_int_equal(w->role, PEERD__V1__ROLE__REQUESTER);
	assert_non_null(w->limits);
	assert_int_equal(w->limits->max_frame, 32768);
	assert_int_equal(w->limits->max_text, 2000);
	assert_int_equal(w->limits->idle_timeout_s, 120);
	assert_int_equal(w->limits->keepalive_s, 17);
	assert_non_null(t = find_tag(w, "harness-alpha"));
	assert_string_equal(t->description, "Alpha test tag, with words");
	assert_non_null(t = find_tag(w, "harness-beta"));
	assert_string_equal(t->description, "Beta test tag");
	assert_null(find_tag(w, "harness-gamma"));
	frame_free(env);
	tclient_free(c);
}

static int
setup_later(void **state)
{
	return (harness_setup(state, HARNESS_REDIS | HARNESS_NO_PEERD, NULL));
}

/* The shipped catalogue, included from deploy/tags.conf, is in Welcome. */
static void
test_catalogue_from_include(void **state)
{
	static const char		*names[] = { "lgbtq", "bme",
	    "first-episode-psychosis", "prison", "inpatient", "women" };
	struct harness			*h = *state;
	struct tclient			*c;
	const Peerd__V1__Tag		*t;
	Envelope			*env;
	char				 conf[HARNESS_PATH + 32];
	size_t				 i;

	snprintf(conf, sizeof conf, "include %s/deploy/tags.conf\n", h->src);
	assert_int_equal(harness_peerd_start(h, conf), 0);
	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		t = find_tag(env->welcome, names[i]);
		if (t == NULL)
			fail_msg("tag %s missing from Welcome", names[i]);
		assert_true(t->description != NULL &&
		    strlen(t->description) > 0);
	}
	frame_free(env);
	tclient_free(c);
}

/* Two connections get different connection ids. */
static void
test_connection_ids_distinct(void **state)
{
	struct harness	*h = *state;
	struct tclient	*a, *b;
	Envelope	*ea, *eb;

	assert_non_null(a = tclient_connect(h));
	assert_non_null(b = tclient_connect(h));
	assert_non_null(ea = tclient_hello(a, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_non_null(eb = tclient_hello(b, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(ea->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_equal(eb->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	assert_int_not_equal(ea->welcome->connection_id, 0);
	assert_int_not_equal(eb->welcome->connection_id, 0);
	assert_int_not_equal(ea->welcome->connection_id,
	    eb->welcome->connection_id);
	frame_free(ea);
	frame_free(eb);
	tclient_free(a);
	tclient_free(b);
}

/* Ping{nonce} after Welcome is answered by Pong{same nonce}, same id. */
static void
test_ping_pong(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;
	uint64_t	 id1, id2;

	assert_non_null(c = tclient_connect(h));
	assert_non_null(env = tclient_hello(c, PEERD__V1__ROLE__REQUESTER,
	    HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_WELCOME);
	frame_free(env);

	assert_int_not_equal(id1 = tclient_send_ping(c, 0xfeedface12345678ULL),
	    0);
	assert_int_not_equal(id2 = tclient_send_ping(c, 7), 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_PONG);
	assert_int_equal(env->id, id1);
	assert_int_equal(env->pong->nonce, 0xfeedface12345678ULL);
	frame_free(env);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_PONG);
	assert_int_equal(env->id, id2);
	assert_int_equal(env->pong->nonce, 7);
	frame_free(env);
	assert_false(tclient_closed(c));
	tclient_free(c);
}

/* A first frame that is not Hello: Error{HELLO_REQUIRED, fatal}, close. */
static void
test_first_frame_not_hello(void **state)
{
	struct harness	*h = *state;
	struct tclient	*c;
	Envelope	*env;
	uint64_t	 id;

	assert_non_null(c = tclient_connect(h));
	assert_int_not_equal(id = tclient_send_ping(c, 99), 0);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code,
	    PEERD__V1__ERROR_CODE__HELLO_REQUIRED);
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	assert_int_equal(tclient_reason(c), PEERCLIENT_CLOSED_EOF);
	assert_null(tclient_recv(c, 0, 0));	/* no Pong slipped through */
	tclient_free(c);
}

/* Hello with protocol_version 2: Error{UNSUPPORTED_VERSION, fatal}, close. */
static void
test_unsupported_version(void **state)
{
	struct harness		*h = *state;
	struct tclient		*c;
	struct peerclient_hello	 hb;
	Envelope		*env;

	assert_non_null(c = tclient_connect(h));
	peerclient_hello_init(&hb, PEERD__V1__ROLE__REQUESTER, "tests");
	hb.hello.protocol_version = 2;
	assert_int_equal(peerclient_send_hello(tclient_pc(c), &hb, 5),
	    PEERCLIENT_OK);
	assert_non_null(env = tclient_recv(c, 0, HARNESS_IO_MS));
	assert_int_equal(env->body_case, PEERD__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code,
	    PEERD__V1__ERROR_CODE__UNSUPPORTED_VERSION);
	assert_true(env->error->fatal);
	frame_free(env);
	assert_int_equal(tclient_wait_closed(c, HARNESS_IO_MS), 0);
	tclient_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_welcome, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_catalogue_from_include,
		    setup_later, harness_teardown),
		cmocka_unit_test_setup_teardown(test_connection_ids_distinct,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ping_pong, setup,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(test_first_frame_not_hello,
		    setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_version,
		    setup, harness_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
