/* test_va: the pure checks of the http-01, dns-01 and tls-alpn-01 validators (server/va_classic.h):
 * Boulder's redirect rule adapted to httpPort/tlsPort, the §8.3 body comparison, the §8.4 digest
 * and TXT matching, RFC 8738 reverse names, and the RFC 8737 §3 certificate checks. */
#include "server/va_classic.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define HTTP_PORT 5002
#define TLS_PORT 5001

/* --- http-01: the redirect rule ------------------------------------------------------------ */

static const struct {
	const char *name, *url;
	int ok;
	int https, port, is_ip;
	const char *host, *path;
	const char *why; /* a word the refusal must contain */
} redirects[] = {
    {"http without a port is fetched from httpPort", "http://a.test/x", 1, 0, HTTP_PORT, 0, "a.test", "/x", NULL},
    {"http port 80 is fetched from httpPort", "http://a.test:80/x", 1, 0, HTTP_PORT, 0, "a.test", "/x", NULL},
    {"http port httpPort itself", "http://a.test:5002/.well-known/acme-challenge/t", 1, 0, HTTP_PORT, 0, "a.test",
     "/.well-known/acme-challenge/t", NULL},
    {"https without a port is fetched from tlsPort", "https://b.test/y", 1, 1, TLS_PORT, 0, "b.test", "/y", NULL},
    {"https port 443 is fetched from tlsPort", "https://b.test:443/y", 1, 1, TLS_PORT, 0, "b.test", "/y", NULL},
    {"https port tlsPort itself", "https://b.test:5001/y", 1, 1, TLS_PORT, 0, "b.test", "/y", NULL},
    {"the query is kept, the fragment dropped", "http://a.test/p?q=1#frag", 1, 0, HTTP_PORT, 0, "a.test", "/p?q=1",
     NULL},
    {"host names are lowercased, a trailing dot dropped", "http://A.Test./", 1, 0, HTTP_PORT, 0, "a.test", "/",
     NULL},
    {"an empty path is /", "http://a.test", 1, 0, HTTP_PORT, 0, "a.test", "/", NULL},
    {"an IPv4 literal is an address, not a name", "http://127.0.0.1/z", 1, 0, HTTP_PORT, 1, "127.0.0.1", "/z", NULL},
    {"an IPv6 literal loses its brackets", "http://[::1]:80/z", 1, 0, HTTP_PORT, 1, "::1", "/z", NULL},
    {"http on another port is refused", "http://a.test:8080/x", 0, 0, 0, 0, NULL, NULL, "port 8080"},
    {"http on tlsPort is refused", "http://a.test:5001/x", 0, 0, 0, 0, NULL, NULL, "port 5001"},
    {"https on httpPort is refused", "https://a.test:5002/x", 0, 0, 0, 0, NULL, NULL, "port 5002"},
    {"https on port 80 is refused", "https://a.test:80/x", 0, 0, 0, 0, NULL, NULL, "port 80"},
    {"ftp is refused", "ftp://a.test/x", 0, 0, 0, 0, NULL, NULL, "ftp"},
    {"file is refused", "file:///etc/passwd", 0, 0, 0, 0, NULL, NULL, NULL},
    {"a relative URL is not a target", "/just/a/path", 0, 0, 0, 0, NULL, NULL, NULL},
};

static void test_redirect_rule(void **state)
{
	for (size_t i = 0; i < sizeof redirects / sizeof redirects[0]; i++) {
		struct va_http_target t;
		char why[512] = "";
		int rc = va_http01_redirect_target(redirects[i].url, HTTP_PORT, TLS_PORT, &t, why, sizeof why);
		print_message("# %s: %s -> %d %s\n", redirects[i].name, redirects[i].url, rc, why);
		if (!redirects[i].ok) {
			assert_int_equal(rc, -1);
			assert_true(why[0] != '\0');
			if (redirects[i].why)
				assert_non_null(strstr(why, redirects[i].why));
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(t.https, redirects[i].https);
		assert_int_equal(t.port, redirects[i].port);
		assert_int_equal(t.host_is_ip, redirects[i].is_ip);
		assert_string_equal(t.host, redirects[i].host);
		assert_string_equal(t.path, redirects[i].path);
	}
}

static void test_url_brackets_ipv6(void **state)
{
	struct va_http_target t = {.https = false, .host = "::1", .port = 5002, .path = "/a", .host_is_ip = true};
	char url[128];
	va_http01_url(&t, url, sizeof url);
	assert_string_equal(url, "http://[::1]:5002/a");
	struct va_http_target u = {.https = true, .host = "a.test", .port = 5001, .path = "/b"};
	va_http01_url(&u, url, sizeof url);
	assert_string_equal(url, "https://a.test:5001/b");
}

/* --- http-01: RFC 8555 §8.3 body comparison ------------------------------------------------ */

#define KA "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"

static void test_body_trailing_whitespace_is_ignored(void **state)
{
	static const char *const good[] = {KA, KA "\n", KA "\r\n", KA " \t\r\n\v\f  "};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(va_http01_body_matches(good[i], strlen(good[i]), KA));
}

static void test_body_anything_else_fails(void **state)
{
	static const char *const bad[] = {"", " " KA, "\n" KA, KA "x", KA ".", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(va_http01_body_matches(bad[i], strlen(bad[i]), KA));
	/* a NUL is not whitespace */
	char nul[sizeof KA + 1];
	memcpy(nul, KA, sizeof KA);
	nul[sizeof KA] = '\0';
	assert_false(va_http01_body_matches(nul, sizeof nul, KA));
}

/* --- dns-01: RFC 8555 §8.4 ------------------------------------------------------------------ */

/* base64url(SHA-256(KA)), computed with `openssl dgst -sha256 -binary | basenc --base64url` */
#define KA_DIGEST "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0"

static void test_digest_is_base64url_sha256(void **state)
{
	char b64[44];
	unsigned char raw[32];
	va_keyauthz_digest(KA, raw, b64);
	assert_string_equal(b64, KA_DIGEST);
	assert_int_equal(strlen(b64), 43);
	char hex[65];
	va_hex(raw, 32, hex, sizeof hex);
	assert_int_equal(strlen(hex), 64);
}

static struct dns_txt_string S(const char *s)
{
	return (struct dns_txt_string){(unsigned char *)s, strlen(s)};
}

static void test_txt_strings_are_joined(void **state)
{
	struct dns_txt_string one[] = {S(KA_DIGEST)};
	struct dns_txt_string split[] = {S("NGwKoXBgCT8JhEa0bK7Awf"), S("SqHyu_ZWeugV07fLGIVq0")};
	struct dns_txt_string three[] = {S(""), S("NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0"), S("")};
	struct dns_txt_string longer[] = {S(KA_DIGEST), S("=")};
	struct dns_txt_string shorter[] = {S("NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq")};
	struct dns_txt_string padded[] = {S(KA_DIGEST "=")};
	struct dns_txt_rr rr;
	rr = (struct dns_txt_rr){one, 1, 60};
	assert_true(va_dns01_rr_matches(&rr, KA_DIGEST));
	rr = (struct dns_txt_rr){split, 2, 60};
	assert_true(va_dns01_rr_matches(&rr, KA_DIGEST));
	rr = (struct dns_txt_rr){three, 3, 60};
	assert_true(va_dns01_rr_matches(&rr, KA_DIGEST));
	rr = (struct dns_txt_rr){longer, 2, 60};
	assert_false(va_dns01_rr_matches(&rr, KA_DIGEST));
	rr = (struct dns_txt_rr){shorter, 1, 60};
	assert_false(va_dns01_rr_matches(&rr, KA_DIGEST));
	rr = (struct dns_txt_rr){padded, 1, 60};
	assert_false(va_dns01_rr_matches(&rr, KA_DIGEST));
	rr = (struct dns_txt_rr){NULL, 0, 60};
	assert_false(va_dns01_rr_matches(&rr, KA_DIGEST));
}

/* --- what was seen, escaped --------------------------------------------------------------- */

static void test_escape(void **state)
{
	char out[64];
	va_escape("a\"b\\c\n\r\t\x01\xff", 10, 100, out, sizeof out);
	assert_string_equal(out, "\"a\\\"b\\\\c\\n\\r\\t\\x01\\xff\"");
	va_escape("abcdefgh", 8, 3, out, sizeof out);
	assert_string_equal(out, "\"abc\"... (8 bytes in all)");
	char small[16];
	va_escape("abcdefghijklmnopqrstuvwxyz", 26, 100, small, sizeof small);
	assert_true(strlen(small) < sizeof small);
	va_escape(NULL, 0, 10, out, sizeof out);
	assert_string_equal(out, "\"\"");
}

/* --- RFC 8738 §6 reverse names ------------------------------------------------------------- */

static void test_reverse_names(void **state)
{
	char out[128];
	assert_int_equal(va_reverse_name("127.0.0.1", out, sizeof out), 0);
	assert_string_equal(out, "1.0.0.127.in-addr.arpa");
	assert_int_equal(va_reverse_name("192.0.2.10", out, sizeof out), 0);
	assert_string_equal(out, "10.2.0.192.in-addr.arpa");
	assert_int_equal(va_reverse_name("2001:db8::567:89ab", out, sizeof out), 0);
	assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(va_reverse_name("a.test", out, sizeof out), -1);
}

/* --- RFC 8737 §3 certificate checks -------------------------------------------------------- */

static EVP_PKEY *key;

static int setup_key(void **state)
{
	key = EVP_EC_gen("P-256");
	return key ? 0 : -1;
}

static int free_key(void **state)
{
	EVP_PKEY_free(key);
	return 0;
}

/* A self-signed certificate with SAN san (NULL: none) and, when ext is not NULL, the
 * acmeIdentifier extension holding ext[0..extlen) as its extnValue. */
static X509 *make_cert(const char *san, const unsigned char *ext, size_t extlen, int critical)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"acme-tls-alpn-01", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, key);
	if (san) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (ext) {
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(os, ext, (int)extlen);
		X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, critical, os);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(oid);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* The DER OCTET STRING of SHA-256(KA): 04 20 + digest. */
static size_t good_value(unsigned char out[34])
{
	out[0] = 0x04;
	out[1] = 0x20;
	va_keyauthz_digest(KA, out + 2, NULL);
	return 34;
}

static const struct identifier DNS_ID = {"dns", "a.test"};
static const struct identifier IP_ID = {"ip", "127.0.0.1"};

/* check: run the checker, expect rc; when failing, type and a word of the detail. */
static void check(X509 *x, const struct identifier *id, int rc, const char *type, const char *word)
{
	struct problem p = {0};
	int got = va_tlsalpn01_check_cert(x, id, KA, &p);
	print_message("# %s -> %d %s: %s\n", id->value, got, p.type ? p.type : "-", p.detail);
	assert_int_equal(got, rc);
	if (rc < 0) {
		assert_string_equal(p.type, type);
		assert_non_null(strstr(p.detail, word));
	}
	X509_free(x);
}

static void test_cert_good(void **state)
{
	unsigned char v[34];
	size_t l = good_value(v);
	check(make_cert("DNS:a.test", v, l, 1), &DNS_ID, 0, NULL, NULL);
	check(make_cert("DNS:A.TEST", v, l, 1), &DNS_ID, 0, NULL, NULL); /* names are case-insensitive */
	check(make_cert("IP:127.0.0.1", v, l, 1), &IP_ID, 0, NULL, NULL);
}

static void test_cert_san_must_be_exactly_the_identifier(void **state)
{
	unsigned char v[34];
	size_t l = good_value(v);
	check(make_cert(NULL, v, l, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "no subjectAltName");
	check(make_cert("DNS:b.test", v, l, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "DNS:\"b.test\"");
	check(make_cert("DNS:a.test,DNS:b.test", v, l, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "2 entries");
	check(make_cert("DNS:a.test.evil", v, l, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "a.test.evil");
	check(make_cert("IP:127.0.0.1", v, l, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "IP:127.0.0.1");
	check(make_cert("DNS:127.0.0.1", v, l, 1), &IP_ID, -1, PROB_INCORRECT_RESPONSE, "wants exactly one, IP:127.0.0.1");
	check(make_cert("IP:127.0.0.2", v, l, 1), &IP_ID, -1, PROB_INCORRECT_RESPONSE, "IP:127.0.0.2");
}

static void test_cert_extension_rules(void **state)
{
	unsigned char v[34];
	size_t l = good_value(v);
	check(make_cert("DNS:a.test", NULL, 0, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "no acmeIdentifier extension");
	check(make_cert("DNS:a.test", v, l, 0), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "not marked critical");
	/* the raw digest without the OCTET STRING wrapper */
	check(make_cert("DNS:a.test", v + 2, 32, 1), &DNS_ID, -1, PROB_MALFORMED, "not a DER OCTET STRING");
	/* BER long-form length: not DER */
	unsigned char ber[35] = {0x04, 0x81, 0x20};
	memcpy(ber + 3, v + 2, 32);
	check(make_cert("DNS:a.test", ber, sizeof ber, 1), &DNS_ID, -1, PROB_MALFORMED, "not a DER OCTET STRING");
	/* trailing garbage after the OCTET STRING */
	unsigned char trail[35];
	memcpy(trail, v, 34);
	trail[34] = 0;
	check(make_cert("DNS:a.test", trail, sizeof trail, 1), &DNS_ID, -1, PROB_MALFORMED, "not a DER OCTET STRING");
	/* another key authorization's digest */
	unsigned char wrong[34];
	memcpy(wrong, v, 34);
	wrong[33] ^= 1;
	check(make_cert("DNS:a.test", wrong, l, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "expected ");
	/* a 31-octet value */
	unsigned char shortv[33] = {0x04, 0x1f};
	memcpy(shortv + 2, v + 2, 31);
	check(make_cert("DNS:a.test", shortv, sizeof shortv, 1), &DNS_ID, -1, PROB_INCORRECT_RESPONSE, "31 octets");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redirect_rule),
	    cmocka_unit_test(test_url_brackets_ipv6),
	    cmocka_unit_test(test_body_trailing_whitespace_is_ignored),
	    cmocka_unit_test(test_body_anything_else_fails),
	    cmocka_unit_test(test_digest_is_base64url_sha256),
	    cmocka_unit_test(test_txt_strings_are_joined),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_reverse_names),
	    cmocka_unit_test(test_cert_good),
	    cmocka_unit_test(test_cert_san_must_be_exactly_the_identifier),
	    cmocka_unit_test(test_cert_extension_rules),
	};
	return cmocka_run_group_tests(tests, setup_key, free_key);
}
