/* test_dns_account01: the pure parts of dns-account-01 (draft-ietf-acme-dns-account-label-03
 * §3.2): the account label, the owner name, and the TXT value (the same as dns-01's). */
#include "server/va_classic.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Account URL → label. The first is the draft's own example (-03 §3.2: account
 * "https://example.com/acme/acct/ExampleAccount" publishes at "_ujmmovf2vn55tgye._acme-challenge");
 * the others were computed outside cobble (Python's hashlib + base64.b32encode, lowercased). */
static const struct {
	const char *rule, *account_url, *label;
} labels[] = {
    {"the draft's example", "https://example.com/acme/acct/ExampleAccount", "ujmmovf2vn55tgye"},
    {"a Boulder development URL", "http://localhost:4000/acme/acct/1", "vkbgbqfhr6yv2asd"},
    {"a Let's Encrypt production URL", "https://acme-v02.api.letsencrypt.org/acme/acct/12345", "lvrajhh53e27yh7f"},
    {"a numeric account id", "https://example.com/acme/acct/1", "vrr7uudrklshxb6l"},
};

static void test_label_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		char got[VA_DNS_ACCOUNT01_LABEL_LEN + 1];
		va_dns_account01_label(labels[i].account_url, got);
		if (strcmp(got, labels[i].label) != 0)
			fail_msg("%s: %s gave \"%s\", want \"%s\"", labels[i].rule, labels[i].account_url, got,
			         labels[i].label);
	}
}

/* §3.2: the owner name is "_" label "._acme-challenge." name; the draft's example record is at
 * _ujmmovf2vn55tgye._acme-challenge.example.org. */
static void test_owner_name_of_the_draft_example(void **state)
{
	(void)state;
	char *name = va_dns_account01_name("https://example.com/acme/acct/ExampleAccount", "example.org");
	assert_string_equal(name, "_ujmmovf2vn55tgye._acme-challenge.example.org");
	free(name);
}

/* §3.2: 10 bytes are 80 bits, 16 base32 symbols with no padding, all in the RFC 4648 alphabet
 * (lowercase here), and the label is a DNS label (at most 63 octets, the "_" included). */
static void test_label_shape(void **state)
{
	(void)state;
	static const char *const urls[] = {"", "x", "https://a.test/acme/acct/0", "https://[::1]:14000/acme/acct/ff"};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		char got[VA_DNS_ACCOUNT01_LABEL_LEN + 1];
		va_dns_account01_label(urls[i], got);
		assert_int_equal(strlen(got), 16);
		assert_int_equal(strspn(got, "abcdefghijklmnopqrstuvwxyz234567"), 16);
	}
}

/* §3.5: the label is taken from the account URL byte for byte, with no normalization: another
 * host spelling, a trailing slash or another case gives another label. */
static void test_label_has_no_normalization(void **state)
{
	(void)state;
	static const char *const same_account[] = {
	    "https://localhost:14000/acme/acct/1", "https://127.0.0.1:14000/acme/acct/1",
	    "https://localhost:14000/acme/acct/1/", "https://LOCALHOST:14000/acme/acct/1"};
	char seen[4][VA_DNS_ACCOUNT01_LABEL_LEN + 1];
	for (size_t i = 0; i < 4; i++) {
		va_dns_account01_label(same_account[i], seen[i]);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(seen[i], seen[k]);
	}
}

/* §3.2 step 1 and 2: the TXT value is dns-01's, base64url (no padding) of SHA-256 of the key
 * authorization "token.thumbprint" (RFC 8555 §8.1). Token from RFC 8555 §8.4, thumbprint from
 * RFC 7638 §3.1; the digest was computed with `openssl dgst -sha256 -binary | basenc --base64url`. */
static void test_value_is_the_key_authorization_digest(void **state)
{
	(void)state;
	char b64[44];
	unsigned char raw[32];
	va_keyauthz_digest("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	                   raw, b64);
	assert_string_equal(b64, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
	assert_int_equal(raw[0], 0x65); /* "ZTRx" decodes to 0x65 0x34 0x71 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_vectors),
	    cmocka_unit_test(test_owner_name_of_the_draft_example),
	    cmocka_unit_test(test_label_shape),
	    cmocka_unit_test(test_label_has_no_normalization),
	    cmocka_unit_test(test_value_is_the_key_authorization_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
