/* test_map: common/map.c, the store's index — what a key finds, what replacing and deleting do to
 * the values the map owns, growth far past the first table, and map_each's early stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/map.h"

static int freed; /* values handed to free_value */

static void count_free(void *v)
{
	freed++;
	free(v);
}

static int *num(int n)
{
	int *p = malloc(sizeof *p);
	*p = n;
	return p;
}

static void test_get_finds_what_put_stored(void **state)
{
	struct map *m = map_new(count_free);
	assert_null(map_get(m, "a"));
	assert_int_equal(map_size(m), 0);
	map_put(m, "a", num(1));
	map_put(m, "b", num(2));
	assert_int_equal(*(int *)map_get(m, "a"), 1);
	assert_int_equal(*(int *)map_get(m, "b"), 2);
	assert_null(map_get(m, "c"));
	assert_null(map_get(m, "A")); /* keys are exact: no case folding */
	assert_null(map_get(m, ""));
	assert_int_equal(map_size(m), 2);
	map_free(m);
}

static void test_the_map_copies_keys(void **state)
{
	char key[8] = "k1";
	struct map *m = map_new(count_free);
	map_put(m, key, num(1));
	key[1] = '2';
	assert_non_null(map_get(m, "k1"));
	assert_null(map_get(m, "k2"));
	map_free(m);
}

static void test_replacing_frees_the_old_value(void **state)
{
	struct map *m = map_new(count_free);
	freed = 0;
	map_put(m, "a", num(1));
	map_put(m, "a", num(2));
	assert_int_equal(freed, 1);
	assert_int_equal(map_size(m), 1);
	assert_int_equal(*(int *)map_get(m, "a"), 2);
	map_free(m);
	assert_int_equal(freed, 2);
}

static void test_delete_frees_the_value_and_absent_is_minus_one(void **state)
{
	struct map *m = map_new(count_free);
	freed = 0;
	map_put(m, "a", num(1));
	map_put(m, "b", num(2));
	assert_int_equal(map_del(m, "a"), 0);
	assert_int_equal(freed, 1);
	assert_null(map_get(m, "a"));
	assert_int_equal(*(int *)map_get(m, "b"), 2);
	assert_int_equal(map_del(m, "a"), -1);
	assert_int_equal(map_del(m, "zz"), -1);
	assert_int_equal(freed, 1);
	assert_int_equal(map_size(m), 1);
	map_free(m);
	assert_int_equal(freed, 2);
}

/* many more keys than any first table: every one still found, deletes leave the rest */
static void test_growth_keeps_every_key(void **state)
{
	enum { N = 20000 };
	char key[32];
	struct map *m = map_new(count_free);
	freed = 0;
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		map_put(m, key, num(i));
	}
	assert_int_equal(map_size(m), N);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		int *v = map_get(m, key);
		assert_non_null(v);
		assert_int_equal(*v, i);
	}
	for (int i = 0; i < N; i += 2) {
		snprintf(key, sizeof key, "key-%d", i);
		assert_int_equal(map_del(m, key), 0);
	}
	assert_int_equal(map_size(m), N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		if (i % 2)
			assert_int_equal(*(int *)map_get(m, key), i);
		else
			assert_null(map_get(m, key));
	}
	map_free(m);
	assert_int_equal(freed, N);
}

struct visit {
	int seen, sum, stop_at;
};

static int visit(const char *key, void *value, void *ctx)
{
	struct visit *v = ctx;
	v->seen++;
	v->sum += *(int *)value;
	return v->seen == v->stop_at ? 42 : 0;
}

static void test_each_visits_every_entry_once_until_nonzero(void **state)
{
	struct map *m = map_new(count_free);
	for (int i = 1; i <= 100; i++) {
		char key[16];
		snprintf(key, sizeof key, "%d", i);
		map_put(m, key, num(i));
	}
	struct visit all = {0};
	assert_int_equal(map_each(m, visit, &all), 0);
	assert_int_equal(all.seen, 100);
	assert_int_equal(all.sum, 5050);
	struct visit some = {.stop_at = 7};
	assert_int_equal(map_each(m, visit, &some), 42);
	assert_int_equal(some.seen, 7);
	map_free(m);
}

static void test_without_free_value_and_null_free(void **state)
{
	int a = 1;
	struct map *m = map_new(NULL);
	map_put(m, "a", &a); /* borrowed values: nothing is freed */
	map_put(m, "a", &a);
	assert_int_equal(map_del(m, "a"), 0);
	map_put(m, "b", &a);
	map_free(m);
	map_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_finds_what_put_stored),
	    cmocka_unit_test(test_the_map_copies_keys),
	    cmocka_unit_test(test_replacing_frees_the_old_value),
	    cmocka_unit_test(test_delete_frees_the_value_and_absent_is_minus_one),
	    cmocka_unit_test(test_growth_keeps_every_key),
	    cmocka_unit_test(test_each_visits_every_entry_once_until_nonzero),
	    cmocka_unit_test(test_without_free_value_and_null_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
