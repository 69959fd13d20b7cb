/* test_challenge: the one table of challenge types and the configuration that reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/challenge.h"
#include "server/config.h"
#include "server/store.h"

/* Every row has a name, a configuration name and a method; names are unique and found again. */
static void rows_are_complete_and_unique(void **state)
{
	size_t n = 0;
	for (const struct challenge_type *t = challenge_types; t->name; t++, n++) {
		assert_non_null(t->config_name);
		assert_non_null(t->validate);
		assert_ptr_equal(challenge_find(t->name), t);
		assert_ptr_equal(challenge_find_config(t->config_name), t);
		for (const struct challenge_type *u = challenge_types; u != t; u++)
			assert_string_not_equal(u->name, t->name);
	}
	assert_true(n >= 1 && n <= STORE_MAX_CHALLENGES);
	assert_null(challenge_find("http-02"));
	assert_null(challenge_find(NULL));
}

/* RFC 8555 §8.4, RFC 8737, spec dns-persist-01: what each classic type is. */
static void known_types_have_their_properties(void **state)
{
	static const struct {
		const char *name;
		bool dns_based, has_token;
	} want[] = {
	    {"http-01", false, true},
	    {"dns-01", true, true},
	    {"tls-alpn-01", false, true},
	    {"dns-persist-01", true, false},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct challenge_type *t = challenge_find(want[i].name);
		assert_non_null(t);
		assert_int_equal(t->dns_based, want[i].dns_based);
		assert_int_equal(t->has_token, want[i].has_token);
	}
}

/* The default configuration offers every row, in table order; an unknown name is refused with
 * the list of known ones, taken from the table. */
static void config_reads_the_table(void **state)
{
	struct config c;
	config_defaults(&c);
	size_t i = 0;
	for (const struct challenge_type *t = challenge_types; t->name; t++, i++) {
		assert_true(i < c.nchallenges);
		assert_string_equal(c.challenges[i], t->config_name);
	}
	assert_int_equal(i, c.nchallenges);
	char err[512];
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
	free(c.challenges[0]);
	c.challenges[0] = strdup("http-02");
	assert_int_equal(config_validate(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "challenges: unknown type \"http-02\" (known: "));
	for (const struct challenge_type *t = challenge_types; t->name; t++)
		assert_non_null(strstr(err, t->config_name));
	config_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rows_are_complete_and_unique),
	    cmocka_unit_test(known_types_have_their_properties),
	    cmocka_unit_test(config_reads_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
