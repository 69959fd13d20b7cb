/* test_b64: common/b64.c (RFC 4648 §5 base64url, no padding) and the RFC 3339 helpers of common/util.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/util.h"

/* RFC 4648 §10 vectors, written in the §5 alphabet without the "=" padding (RFC 7515 §2). */
static const struct {
	const char *plain, *enc;
} rfc4648[] = {
    {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors_encode(void **state)
{
	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		size_t n = strlen(rfc4648[i].plain);
		char *e = b64url_encode(rfc4648[i].plain, n);
		assert_string_equal(e, rfc4648[i].enc);
		assert_int_equal(b64url_encoded_len(n), strlen(rfc4648[i].enc));
		free(e);
	}
}

static void test_rfc4648_vectors_decode(void **state)
{
	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		unsigned char *d = NULL;
		size_t n = 99;
		assert_int_equal(b64url_decode(rfc4648[i].enc, strlen(rfc4648[i].enc), &d, &n), 0);
		assert_int_equal(n, strlen(rfc4648[i].plain));
		assert_memory_equal(d, rfc4648[i].plain, n);
		assert_int_equal(d[n], '\0'); /* NUL-terminated for convenience */
		free(d);
	}
}

/* RFC 4648 §5: 62 is "-" and 63 is "_" (not "+" and "/"). */
static void test_url_alphabet(void **state)
{
	static const unsigned char in[] = {0xfb, 0xff, 0xbf, 0xfb, 0xef};
	char *e = b64url_encode(in, sizeof in);
	assert_string_equal(e, "-_-_--8");
	unsigned char *d = NULL;
	size_t n = 0;
	assert_int_equal(b64url_decode(e, strlen(e), &d, &n), 0);
	assert_int_equal(n, sizeof in);
	assert_memory_equal(d, in, sizeof in);
	free(d);
	free(e);
}

static void test_round_trip_all_lengths(void **state)
{
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof buf; n++) {
		char *e = b64url_encode(buf, n);
		assert_int_equal(strlen(e), b64url_encoded_len(n));
		assert_null(strpbrk(e, "+/="));
		unsigned char *d = NULL;
		size_t dn = 0;
		assert_int_equal(b64url_decode(e, strlen(e), &d, &dn), 0);
		assert_int_equal(dn, n);
		assert_memory_equal(d, buf, n);
		free(d);
		free(e);
	}
}

static void test_encode_buf_needs_room_for_nul(void **state)
{
	char out[8];
	assert_int_equal(b64url_encode_buf("foo", 3, out, 4), -1); /* 4 characters + NUL need 5 */
	assert_int_equal(b64url_encode_buf("foo", 3, out, 5), 4);
	assert_string_equal(out, "Zm9v");
	assert_int_equal(b64url_encode_buf("", 0, out, 1), 0);
	assert_string_equal(out, "");
}

/* Refused: padding, the standard alphabet's "+" and "/", white space, other bytes, an impossible
 * length, and non-zero pad bits (RFC 4648 §3.5, a non-canonical encoding). */
static const struct {
	const char *rule;
	const char *in;
	size_t len;
} bad_decode[] = {
    {"padding one", "Zm8=", 4},
    {"padding two", "Zg==", 4},
    {"padding alone", "====", 4},
    {"plus from the standard alphabet", "+/8A", 4},
    {"slash from the standard alphabet", "ab/c", 4},
    {"white space inside", "Zm9v Zm9v", 9},
    {"trailing newline", "Zm9v\n", 5},
    {"other punctuation", "Zm9v!A", 6},
    {"non-ASCII octet", "Zm9\xc3\xa9", 5},
    {"embedded NUL", "Zm\0v", 4},
    {"length 1 mod 4", "Z", 1},
    {"length 1 mod 4, longer", "Zm9vY", 5},
    {"non-zero pad bits after one octet", "Zh", 2},
    {"non-zero pad bits after two octets", "Zm9", 3},
};

static void test_decode_rejects(void **state)
{
	for (size_t i = 0; i < sizeof bad_decode / sizeof bad_decode[0]; i++) {
		unsigned char *d = NULL;
		size_t n = 0;
		if (b64url_decode(bad_decode[i].in, bad_decode[i].len, &d, &n) != -1)
			fail_msg("b64url_decode accepted: %s", bad_decode[i].rule);
		assert_null(d);
	}
}

/* RFC 3339 §5.6: Z, offsets, fractions; the lower-case "t" and "z" of the §5.6 NOTE. */
static const struct {
	const char *s;
	long long want;
} good_times[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2026-01-01T00:00:00Z", 1767225600},
    {"2026-01-01t00:00:00z", 1767225600},
    {"2026-01-01T00:00:00.5Z", 1767225600},
    {"2026-01-01T00:00:00.123456789Z", 1767225600},
    {"2026-01-01T01:00:00+01:00", 1767225600},
    {"2025-12-31T18:30:00-05:30", 1767225600},
    {"2026-01-01T00:00:00-00:00", 1767225600},
    {"2026-01-01T00:00:00.25+00:00", 1767225600},
    {"2000-02-29T12:34:56Z", 951827696},
};

static void test_time_parse_accepts(void **state)
{
	for (size_t i = 0; i < sizeof good_times / sizeof good_times[0]; i++) {
		time_t t = 0;
		if (util_time_parse(good_times[i].s, &t) != 0)
			fail_msg("util_time_parse refused %s", good_times[i].s);
		if ((long long)t != good_times[i].want)
			fail_msg("util_time_parse(%s) = %lld, want %lld", good_times[i].s, (long long)t, good_times[i].want);
	}
}

static const char *const bad_times[] = {
    "",
    "garbage",
    "2026-01-01",
    "2026-01-01T00:00:00",      /* no offset */
    "2026-01-01T00:00Z",        /* no seconds */
    "2026-01-01 00:00:00Z",     /* space instead of T */
    " 2026-01-01T00:00:00Z",    /* leading space */
    "2026-01-01T00:00:00Z ",    /* trailing space */
    "2026-01-01T00:00:00Zjunk", /* trailing text */
    "26-01-01T00:00:00Z",       /* two-digit year */
    "2026-1-1T0:0:0Z",          /* short fields */
    "2026-13-01T00:00:00Z",     /* month 13 */
    "2026-00-01T00:00:00Z",     /* month 0 */
    "2026-02-30T00:00:00Z",     /* no 30 February */
    "2025-02-29T00:00:00Z",     /* not a leap year */
    "2026-01-01T24:00:00Z",     /* hour 24 */
    "2026-01-01T00:60:00Z",     /* minute 60 */
    "2026-01-01T00:00:61Z",     /* second 61 */
    "2026-01-01T00:00:00.Z",    /* empty fraction */
    "2026-01-01T00:00:00+0100", /* offset without colon */
    "2026-01-01T00:00:00+01",   /* offset without minutes */
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00+01:60",
    "2026-01-01T00:00:00+",
    "+2026-01-01T00:00:00Z",
};

static void test_time_parse_rejects(void **state)
{
	for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
		time_t t = 12345;
		if (util_time_parse(bad_times[i], &t) != -1)
			fail_msg("util_time_parse accepted \"%s\"", bad_times[i]);
		assert_int_equal(t, 12345);
	}
}

static void test_time_fmt(void **state)
{
	char buf[32];
	util_time_fmt(0, buf, sizeof buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	util_time_fmt(951827696, buf, sizeof buf);
	assert_string_equal(buf, "2000-02-29T12:34:56Z");
	util_time_fmt(1767225600, buf, 21); /* the documented minimum */
	assert_string_equal(buf, "2026-01-01T00:00:00Z");
	util_time_fmt(1767225600, buf, 10); /* too small: empty, never garbage */
	assert_string_equal(buf, "");
}

static void test_time_fmt_parse_round_trip(void **state)
{
	static const time_t ts[] = {0, 86399, 951827696, 1767225600, 4102444799};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		char buf[32];
		time_t back = -1;
		util_time_fmt(ts[i], buf, sizeof buf);
		assert_int_equal(util_time_parse(buf, &back), 0);
		assert_int_equal(back, ts[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_vectors_encode),
	    cmocka_unit_test(test_rfc4648_vectors_decode),
	    cmocka_unit_test(test_url_alphabet),
	    cmocka_unit_test(test_round_trip_all_lengths),
	    cmocka_unit_test(test_encode_buf_needs_room_for_nul),
	    cmocka_unit_test(test_decode_rejects),
	    cmocka_unit_test(test_time_parse_accepts),
	    cmocka_unit_test(test_time_parse_rejects),
	    cmocka_unit_test(test_time_fmt),
	    cmocka_unit_test(test_time_fmt_parse_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
