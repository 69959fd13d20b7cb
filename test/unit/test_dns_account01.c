/* test_dns_account01: dns-account-01 (draft-ietf-acme-dns-account-label-03): the account label,
 * the owner name and the TXT value (§3.2), then the validator's verdicts and details with a zone
 * in a table (the DNS seam): where it looks, what a failure says (§3.4), and dns-01's plain name
 * looked at only to explain a failure. */
#include "server/va_classic.h"
#include "test/unit/va_fake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* --- the validator, with a zone in a table ------------------------------------------------- */

/* VA_FAKE_ACCOUNT_URL's label (computed outside cobble, as above) and names under example.com */
#define LABEL "h5zlfqoi7m5jaytl"
#define OWNER "_" LABEL "._acme-challenge.example.com"
#define PLAIN "_acme-challenge.example.com"
static char digest[44];

struct result_case {
	const char *rule;
	const char *ident;
	bool fail_internal;
	struct dns_fake_rr zone[3];
	struct va_fake_expect want;
	const char *detail_lacks; /* NULL, or words the detail must not contain */
};

static const struct result_case cases[] = {
    {"§3.3: the digest at _<label>._acme-challenge validates", "example.com",
     .zone = {{OWNER, DNS_QTYPE_TXT, DNS_OK, 300, {digest}}}, .want.asked = {"TXT " OWNER}, .want.ttl = 300},
    {"§3.3 (RFC 8555 §7.1.3): a wildcard validates at its base name's label", "*.example.com",
     .zone = {{OWNER, DNS_QTYPE_TXT, DNS_OK, 60, {digest}}}, .want.asked = {"TXT " OWNER}, .want.ttl = 60},
    {"§3.3: one matching record among other accounts' values is enough", "example.com",
     .zone = {{OWNER, DNS_QTYPE_TXT, DNS_OK, 60, {"stale"}}, {OWNER, DNS_QTYPE_TXT, DNS_OK, 90, {digest}}},
     .want.asked = {"TXT " OWNER}, .want.ttl = 90},
    {"§3.4: another value at the label is incorrectResponse naming it and the account URL", "example.com",
     .zone = {{OWNER, DNS_QTYPE_TXT, DNS_OK, 60, {"not-the-digest"}}}, .want.type = "incorrectResponse",
     .want.status = 403, .want.detail_has = "\"" VA_FAKE_ACCOUNT_URL "\"", .want.asked = {"TXT " OWNER}},
    {"§3.4: nothing at the label (NXDOMAIN) is a dns problem that explains the label", "example.com",
     .want.type = "dns", .want.status = 400, .want.detail_has = "SHA-256 of the account URL \"" VA_FAKE_ACCOUNT_URL,
     .want.asked = {"TXT " OWNER, "TXT " PLAIN}, .detail_lacks = "IS published"},
    {"the value at dns-01's plain name by habit: the detail says so and where it belongs", "example.com",
     .zone = {{PLAIN, DNS_QTYPE_TXT, DNS_OK, 60, {digest}}}, .want.type = "dns", .want.status = 400,
     .want.detail_has = "IS published at " PLAIN ", which is dns-01's name; dns-account-01 never looks there: "
                        "publish it at " OWNER " instead.",
     .want.asked = {"TXT " OWNER, "TXT " PLAIN}},
    {"other values at the plain name are counted, not taken for the answer", "example.com",
     .zone = {{OWNER, DNS_QTYPE_A, DNS_OK, 60, {"192.0.2.1"}}, {PLAIN, DNS_QTYPE_TXT, DNS_OK, 60, {"old"}}},
     .want.type = "unauthorized", .want.status = 403, .want.detail_has = PLAIN ", dns-01's name, has 1 TXT record",
     .want.asked = {"TXT " OWNER, "TXT " PLAIN}, .detail_lacks = "IS published"},
    {"a failed lookup at the label (SERVFAIL) is a dns problem; the plain name is not asked", "example.com",
     .zone = {DNS_FAKE_FAIL(OWNER, DNS_QTYPE_TXT, DNS_SERVFAIL)}, .want.type = "dns", .want.status = 400,
     .want.detail_has = VA_FAKE_ACCOUNT_URL, .want.asked = {"TXT " OWNER}},
    {"cobble's own lookup failure is serverInternal, without the label's explanation", "example.com",
     .fail_internal = true, .want.type = "serverInternal", .want.status = 500, .want.asked = {"TXT " OWNER},
     .detail_lacks = "SHA-256"},
};

static void test_validator_results(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct result_case *c = &cases[i];
		struct va_fake f;
		va_fake_init(&f, c->ident, "dns-account-01", c->zone);
		f.zone.fail_internal = c->fail_internal;
		va_dns_account01(&f.w, &f.job, &f.res);
		va_fake_assert(&f, c->rule, &c->want);
		if (c->detail_lacks && strstr(f.res.error.detail, c->detail_lacks))
			fail_msg("%s: the detail has \"%s\": %s", c->rule, c->detail_lacks, f.res.error.detail);
		va_fake_clear(&f);
	}
}

/* A detail too long for the problem (eight long records found, a 200-character name, a
 * 511-character account URL) keeps the label's explanation whole: dns-01's list of the records
 * found is what gets cut. */
static void test_long_detail_keeps_the_explanation(void **state)
{
	(void)state;
	static char big[8][120], url[512], name[201];
	memset(url, 'u', sizeof url - 1);
	memcpy(url, "https://", 8);
	for (size_t i = 0; i < 8; i++)
		memset(big[i], 'x', sizeof big[i] - 1);
	for (size_t i = 0; i < sizeof name - 1; i++)
		name[i] = i % 50 == 49 ? '.' : 'n';
	name[sizeof name - 2] = 'n';
	struct va_fake f;
	va_fake_init(&f, name, "dns-account-01", NULL);
	snprintf(f.job.account_url, sizeof f.job.account_url, "%s", url);
	char *owner = va_dns_account01_name(url, name);
	struct dns_fake_rr zone[9] = {{0}};
	for (size_t i = 0; i < 8; i++)
		zone[i] = (struct dns_fake_rr){owner, DNS_QTYPE_TXT, DNS_OK, 60, {big[i]}};
	f.zone.rrs = zone;
	va_dns_account01(&f.w, &f.job, &f.res);
	assert_false(f.res.ok);
	assert_string_equal(f.res.error.type, "incorrectResponse");
	const char *d = f.res.error.detail, *tail = "draft-ietf-acme-dns-account-label-03 §3.2.";
	assert_true(strlen(d) < sizeof f.res.error.detail);
	assert_non_null(strstr(d, "…"));
	assert_non_null(strstr(d, url));
	assert_string_equal(d + strlen(d) - strlen(tail), tail);
	free(owner);
	va_fake_clear(&f);
}

int main(void)
{
	struct va_fake f;
	va_fake_init(&f, "example.com", "dns-account-01", NULL);
	va_keyauthz_digest(f.job.key_authz, NULL, digest);
	va_fake_clear(&f);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validator_results),
	    cmocka_unit_test(test_long_detail_keeps_the_explanation),
	    cmocka_unit_test(test_label_vectors),
	    cmocka_unit_test(test_owner_name_of_the_draft_example),
	    cmocka_unit_test(test_label_shape),
	    cmocka_unit_test(test_label_has_no_normalization),
	    cmocka_unit_test(test_value_is_the_key_authorization_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
