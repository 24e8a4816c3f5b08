/*
 * test_hostport.c -- peerclient_split_hostport, the one parser of the
 * --server HOST:PORT that peer and peerctl accept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "peerclient.h"

/* Split s into buffers of the given sizes; return the result. */
static int
split(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	return (peerclient_split_hostport(s, host, hl, port, pl));
}

static void
test_good(void **state)
{
	char	host[64], port[8];

	(void)state;
	assert_int_equal(split("localhost:7474", host, sizeof host, port,
	    sizeof port), PEERCLIENT_OK);
	assert_string_equal(host, "localhost");
	assert_string_equal(port, "7474");
	assert_int_equal(split("[::1]:1", host, sizeof host, port,
	    sizeof port), PEERCLIENT_OK);
	assert_string_equal(host, "::1");
	assert_string_equal(port, "1");
	assert_int_equal(split("127.0.0.1:65535", host, sizeof host, port,
	    sizeof port), PEERCLIENT_OK);
	assert_string_equal(port, "65535");
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"localhost", "localhost:", ":7474", "h:0", "h:65536",
		"h:99999999999999999999", "h:12a", "h:-1", "[::1]7474",
		"[]:7474", "h: 1", ""
	};
	char	host[64], port[8];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(host, "untouched", 10);
		assert_int_equal(split(bad[i], host, sizeof host, port,
		    sizeof port), PEERCLIENT_ERR_INVAL);
		assert_string_equal(host, "untouched");
	}
	assert_int_equal(split(NULL, host, sizeof host, port, sizeof port),
	    PEERCLIENT_ERR_INVAL);
}

static void
test_too_long(void **state)
{
	char	host[4], port[8];

	(void)state;
	assert_int_equal(split("abc:1", host, sizeof host, port, sizeof port),
	    PEERCLIENT_OK);
	assert_int_equal(split("abcd:1", host, sizeof host, port,
	    sizeof port), PEERCLIENT_ERR_INVAL);
	assert_int_equal(split("abc:00001", host, sizeof host, port, 5),
	    PEERCLIENT_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_long),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
