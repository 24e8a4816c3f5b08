/*
 * test_map.c -- the daemon's u64 -> pointer hash map (daemon/map.c):
 * put, get, remove, growth, key 0 and duplicates refused, random keys,
 * against a plain array as reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "peerd.h"

#define NKEYS	5000	/* keys in the growth test: several doublings */

static int	vals[NKEYS];

/* An empty map answers NULL and refuses key 0 and duplicates. */
static void
test_basic(void **state)
{
	struct map	m;
	int		a, b;

	(void)state;
	map_init(&m);
	assert_null(map_get(&m, 1));
	assert_null(map_remove(&m, 1));
	assert_int_equal(map_put(&m, 0, &a), -1);
	assert_int_equal(map_put(&m, 7, &a), 0);
	assert_int_equal(map_put(&m, 7, &b), -1);
	assert_ptr_equal(map_get(&m, 7), &a);
	assert_int_equal(m.n, 1);
	assert_ptr_equal(map_remove(&m, 7), &a);
	assert_null(map_get(&m, 7));
	assert_int_equal(m.n, 0);
	assert_int_equal(map_put(&m, 7, &b), 0);
	assert_ptr_equal(map_get(&m, 7), &b);
	map_clear(&m);
	assert_int_equal(m.n, 0);
	assert_null(map_get(&m, 7));
}

/* Thousands of keys (counters and spread ones) survive growth and removal. */
static void
test_growth(void **state)
{
	struct map	m;
	uint64_t	k;
	int		i;

	(void)state;
	map_init(&m);
	for (i = 0; i < NKEYS; i++) {
		k = (i % 2) ? (uint64_t)i + 1 : ((uint64_t)i + 1) << 40;
		assert_int_equal(map_put(&m, k, &vals[i]), 0);
	}
	assert_int_equal(m.n, NKEYS);
	assert_true(m.nbuckets >= NKEYS);
	for (i = 0; i < NKEYS; i++) {
		k = (i % 2) ? (uint64_t)i + 1 : ((uint64_t)i + 1) << 40;
		assert_ptr_equal(map_get(&m, k), &vals[i]);
	}
	for (i = 0; i < NKEYS; i += 3) {
		k = (i % 2) ? (uint64_t)i + 1 : ((uint64_t)i + 1) << 40;
		assert_ptr_equal(map_remove(&m, k), &vals[i]);
	}
	for (i = 0; i < NKEYS; i++) {
		k = (i % 2) ? (uint64_t)i + 1 : ((uint64_t)i + 1) << 40;
		if (i % 3 == 0)
			assert_null(map_get(&m, k));
		else
			assert_ptr_equal(map_get(&m, k), &vals[i]);
	}
	map_clear(&m);
}

/* map_new_key gives nonzero keys not yet present. */
static void
test_new_key(void **state)
{
	struct map	m;
	uint64_t	k;
	int		i;

	(void)state;
	map_init(&m);
	for (i = 0; i < 1000; i++) {
		k = map_new_key(&m);
		assert_true(k != 0);
		assert_null(map_get(&m, k));
		assert_int_equal(map_put(&m, k, &vals[i]), 0);
	}
	assert_int_equal(m.n, 1000);
	map_clear(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_new_key),
	};

	log_init(LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
