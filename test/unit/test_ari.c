/* test_ari: server/ari.c — RFC 9773 §4.1 certIDs (made and parsed) and the §4.2 window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/ari.h"

/* RFC 9773 §4.1's example: keyIdentifier 69:88:5B:...:C8:D4, serial 00:87:65:43:21. */
static const unsigned char example_aki[20] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                                              0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
#define EXAMPLE_CERTID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

static void test_rfc9773_example_make(void **state)
{
	char out[ARI_CERTID_MAX];
	assert_int_equal(ari_certid_make(example_aki, sizeof example_aki, "87654321", out), 0);
	assert_string_equal(out, EXAMPLE_CERTID);
	/* leading zeros in the hex do not change the DER content octets */
	assert_int_equal(ari_certid_make(example_aki, sizeof example_aki, "0087654321", out), 0);
	assert_string_equal(out, EXAMPLE_CERTID);
}

static void test_rfc9773_example_parse(void **state)
{
	unsigned char aki[ARI_AKI_MAX];
	size_t n = 0;
	char serial[41], err[256];
	assert_int_equal(ari_certid_parse(EXAMPLE_CERTID, aki, &n, serial, err, sizeof err), 0);
	assert_int_equal(n, sizeof example_aki);
	assert_memory_equal(aki, example_aki, n);
	assert_string_equal(serial, "87654321");
}

static void test_make_parse_round_trip(void **state)
{
	static const char *const serials[] = {"1", "7f", "80", "5a0b", "ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00"};
	for (size_t i = 0; i < sizeof serials / sizeof serials[0]; i++) {
		char id[ARI_CERTID_MAX], serial[41], err[256];
		unsigned char aki[ARI_AKI_MAX];
		size_t n = 0;
		assert_int_equal(ari_certid_make(example_aki, sizeof example_aki, serials[i], id), 0);
		assert_int_equal(ari_certid_parse(id, aki, &n, serial, err, sizeof err), 0);
		assert_string_equal(serial, serials[i]);
	}
}

/* §4.1: malformed certIDs are refused with a reason that names the part at fault. */
static const struct {
	const char *certid, *reason;
} malformed[] = {
    {"", "exactly one '.'"},
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ", "exactly one '.'"},
    {"a.b.c", "exactly one '.'"},
    {".AIdlQyE", "keyIdentifier part is empty"},
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ.", "serial part is empty"},
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE", "keyIdentifier is not base64url"},
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdl+yE", "serial is not base64url"},
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ.h2VDIQ", "negative"},              /* 87 65 43 21 */
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AAEC", "needless leading zero"},  /* 00 01 02 */
    {"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQIDBAUGBwgJCgsMDQ4PEBESExQV", "at most 20"}, /* 21 octets */
    {"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh.AQ", "at most 32"},        /* 33 octets */
};

static void test_malformed_refused(void **state)
{
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		unsigned char aki[ARI_AKI_MAX];
		size_t n = 0;
		char serial[41], err[256] = "";
		assert_int_equal(ari_certid_parse(malformed[i].certid, aki, &n, serial, err, sizeof err), -1);
		if (!strstr(err, malformed[i].reason))
			fail_msg("certID \"%s\": reason \"%s\" lacks \"%s\"", malformed[i].certid, err,
			         malformed[i].reason);
	}
}

/* §4.2: a live certificate's window lies inside its validity, in its last third; a revoked
 * one's is entirely in the past; start always precedes end. */
static void test_window(void **state)
{
	time_t nb = 1000000, na = nb + 90 * 86400, s, e;
	ari_window(nb, na, false, nb, &s, &e);
	assert_true(s >= nb + (na - nb) * 2 / 3 - 1 && s < e && e < na);
	ari_window(nb, na, true, nb + 86400, &s, &e);
	assert_true(s < e && e < nb + 86400);
	ari_window(nb, nb, false, nb, &s, &e);
	assert_true(s < e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc9773_example_make),
	    cmocka_unit_test(test_rfc9773_example_parse),
	    cmocka_unit_test(test_make_parse_round_trip),
	    cmocka_unit_test(test_malformed_refused),
	    cmocka_unit_test(test_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
