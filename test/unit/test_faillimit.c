/* test_faillimit: server/faillimit against spec/dns-persist-01.md §4a: per identifier and per
 * account, a sliding window, 0 turns a limit off, the detail names the limit and the key. */
#include "server/faillimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void s4a_per_identifier_limit_and_detail(void **state)
{
	struct faillimit *fl = faillimit_new(2, 0, 60);
	struct problem p;
	int wait = 0;
	faillimit_record(fl, "acct1", "a.test");
	assert_int_equal(faillimit_check(fl, "acct1", "a.test", &p, &wait), 0);
	faillimit_record(fl, "acct2", "a.test"); /* another account, the same identifier */
	assert_int_equal(faillimit_check(fl, "acct3", "a.test", &p, &wait), -1);
	assert_string_equal(p.type, PROB_RATE_LIMITED);
	assert_int_equal(p.status, 429);
	assert_true(wait >= 59 && wait <= 60);
	assert_non_null(strstr(p.detail, "2 for identifier a.test"));
	assert_non_null(strstr(p.detail, "the limit is 2"));
	assert_non_null(strstr(p.detail, "dnsPersist.failedValidationLimits.perIdentifier"));
	assert_int_equal(faillimit_check(fl, "acct1", "b.test", &p, &wait), 0);
	faillimit_free(fl);
}

static void s4a_per_account_limit(void **state)
{
	struct faillimit *fl = faillimit_new(0, 3, 60);
	struct problem p;
	int wait = 0;
	faillimit_record(fl, "acct1", "a.test");
	faillimit_record(fl, "acct1", "b.test");
	assert_int_equal(faillimit_check(fl, "acct1", "c.test", &p, &wait), 0);
	faillimit_record(fl, "acct1", "c.test");
	assert_int_equal(faillimit_check(fl, "acct1", "d.test", &p, &wait), -1);
	assert_non_null(strstr(p.detail, "for account acct1"));
	assert_non_null(strstr(p.detail, "perAccount"));
	assert_int_equal(faillimit_check(fl, "acct2", "d.test", &p, &wait), 0);
	faillimit_free(fl);
}

static void s4a_window_slides(void **state)
{
	struct faillimit *fl = faillimit_new(1, 1, 1);
	struct problem p;
	int wait = 0;
	faillimit_record(fl, "acct1", "a.test");
	assert_int_equal(faillimit_check(fl, "acct1", "a.test", &p, &wait), -1);
	assert_int_equal(wait, 1);
	usleep(1100 * 1000);
	assert_int_equal(faillimit_check(fl, "acct1", "a.test", &p, &wait), 0);
	faillimit_free(fl);
}

static void s4a_status_page_rows_and_refusals(void **state)
{
	struct faillimit *fl = faillimit_new(5, 5, 60);
	struct problem p;
	int wait;
	for (int i = 0; i < 5; i++)
		faillimit_record(fl, "acct1", "a.test");
	faillimit_record(fl, "acct2", "b.test");
	assert_int_equal(faillimit_check(fl, "acct1", "a.test", &p, &wait), -1);
	struct faillimit_row rows[3];
	unsigned long refused = 0;
	size_t n = faillimit_rows(fl, rows, 3, &refused);
	assert_int_equal(n, 3); /* the highest three of four counters */
	assert_int_equal(refused, 1);
	assert_int_equal(rows[0].failures, 5);
	assert_int_equal(rows[1].failures, 5);
	assert_int_equal(rows[2].failures, 1);
	faillimit_free(fl);
}

static void s4a_null_and_off(void **state)
{
	struct problem p;
	int wait;
	faillimit_record(NULL, "a", "b");
	assert_int_equal(faillimit_check(NULL, "a", "b", &p, &wait), 0);
	struct faillimit *fl = faillimit_new(0, 0, 60);
	for (int i = 0; i < 100; i++)
		faillimit_record(fl, "acct1", "a.test");
	assert_int_equal(faillimit_check(fl, "acct1", "a.test", &p, &wait), 0);
	faillimit_free(fl);
	faillimit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(s4a_per_identifier_limit_and_detail),
	    cmocka_unit_test(s4a_per_account_limit),
	    cmocka_unit_test(s4a_window_slides),
	    cmocka_unit_test(s4a_status_page_rows_and_refusals),
	    cmocka_unit_test(s4a_null_and_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
