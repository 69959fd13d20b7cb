/* test_va_results: how the classic validators (server/va_dns01.c, va_http01.c, va_tlsalpn01.c)
 * turn what DNS answered into a verdict, with a zone in a table (the DNS seam): RFC 8555 §8.4's
 * TXT match, and for http-01 (§8.3) and tls-alpn-01 (RFC 8737) the A/AAAA lookup before any
 * connection, then a refused connection on loopback. Problem types as Boulder and Pebble use them:
 * `dns` when the lookup failed, `unauthorized` when nothing was published, `incorrectResponse`
 * when something else was, `connection` when nothing listens, `serverInternal` for cobble's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/va_classic.h"
#include "test/unit/va_fake.h"

#define TXT DNS_QTYPE_TXT
#define A DNS_QTYPE_A
#define AAAA DNS_QTYPE_AAAA

/* base64url(SHA-256(key authorization)) of the fake job, and its two halves; filled by main */
static char digest[44], half1[22], half2[23];

struct result_case {
	const char *rule;
	const char *method;
	const char *ident;                /* "*.x" for a wildcard */
	bool fail_internal;
	struct dns_fake_rr zone[4];
	struct va_fake_expect want;
};

#define CH "_acme-challenge."
static const struct result_case cases[] = {
    /* dns-01 */
    {"§8.4: a TXT record equal to the digest validates", "dns-01", "example.com",
     .zone = {{CH "example.com", TXT, DNS_OK, 300, {digest}}}, .want.asked = {"TXT " CH "example.com"}, .want.ttl = 300},
    {"§8.4: a record's character-strings are joined", "dns-01", "example.com",
     .zone = {{CH "example.com", TXT, DNS_OK, 60, {half1, half2}}}, .want.asked = {"TXT " CH "example.com"}, .want.ttl = 60},
    {"§8.4: one matching record among others is enough", "dns-01", "example.com",
     .zone = {{CH "example.com", TXT, DNS_OK, 60, {"stale"}}, {CH "example.com", TXT, DNS_OK, 90, {digest}}},
     .want.asked = {"TXT " CH "example.com"}, .want.ttl = 90},
    {"§8.4: a wildcard's record stands at _acme-challenge of the base name", "dns-01", "*.example.com",
     .zone = {{CH "example.com", TXT, DNS_OK, 60, {digest}}}, .want.asked = {"TXT " CH "example.com"}, .want.ttl = 60},
    {"§8.4: other TXT records only are incorrectResponse, naming what was found", "dns-01", "example.com",
     .zone = {{CH "example.com", TXT, DNS_OK, 60, {"not-the-digest"}}}, .want.type = "incorrectResponse",
     .want.status = 403, .want.detail_has = "found \"not-the-digest\"", .want.asked = {"TXT " CH "example.com"}},
    {"§8.4: NODATA (no TXT record) is unauthorized", "dns-01", "example.com",
     .zone = {{CH "example.com", A, DNS_OK, 60, {"192.0.2.1"}}}, .want.type = "unauthorized", .want.status = 403,
     .want.detail_has = "no TXT record at " CH "example.com", .want.asked = {"TXT " CH "example.com"}},
    {"§8.4: NXDOMAIN is a dns problem", "dns-01", "example.com", .want.type = "dns", .want.status = 400,
     .want.detail_has = "NXDOMAIN", .want.asked = {"TXT " CH "example.com"}},
    {"§8.4: SERVFAIL is a dns problem", "dns-01", "example.com", .zone = {DNS_FAKE_FAIL(CH "example.com", TXT, DNS_SERVFAIL)},
     .want.type = "dns", .want.status = 400, .want.detail_has = "SERVFAIL", .want.asked = {"TXT " CH "example.com"}},
    {"§8.4: a timeout is a dns problem", "dns-01", "example.com", .zone = {DNS_FAKE_FAIL(CH "example.com", TXT, DNS_TIMEOUT)},
     .want.type = "dns", .want.status = 400, .want.asked = {"TXT " CH "example.com"}},
    {"§8.4: a DNSSEC failure is a dns problem", "dns-01", "example.com",
     .zone = {DNS_FAKE_FAIL(CH "example.com", TXT, DNS_BOGUS)}, .want.type = "dns", .want.status = 400, .want.asked = {"TXT " CH "example.com"}},
    {"dns-01: cobble's own lookup failure is serverInternal", "dns-01", "example.com", .fail_internal = true,
     .want.type = "serverInternal", .want.status = 500, .want.asked = {"TXT " CH "example.com"}},
    /* http-01 and tls-alpn-01: the address lookup */
    {"§8.3: a name without A or AAAA (NXDOMAIN) is a dns problem", "http-01", "example.com", .want.type = "dns",
     .want.status = 400, .want.detail_has = "no A/AAAA records for example.com", .want.asked = {"A example.com", "AAAA example.com"}},
    {"§8.3: a name with neither A nor AAAA (NODATA) is a dns problem", "http-01", "example.com",
     .zone = {{"example.com", TXT, DNS_OK, 60, {"x"}}}, .want.type = "dns", .want.status = 400,
     .want.detail_has = "no A/AAAA records for example.com", .want.asked = {"A example.com", "AAAA example.com"}},
    {"§8.3: a failed address lookup is a dns problem", "http-01", "example.com",
     .zone = {DNS_FAKE_FAIL("example.com", A, DNS_SERVFAIL), DNS_FAKE_FAIL("example.com", AAAA, DNS_SERVFAIL)}, .want.type = "dns", .want.status = 400,
     .want.detail_has = "looking up A/AAAA for example.com failed", .want.asked = {"A example.com", "AAAA example.com"}},
    {"§8.3: nothing listening on httpPort is a connection problem", "http-01", "example.com",
     .zone = {{"example.com", A, DNS_OK, 60, {"127.0.0.1"}}}, .want.type = "connection", .want.status = 400,
     .want.detail_has = "address 127.0.0.1", .want.asked = {"A example.com", "AAAA example.com"}},
    {"§8.3: an address from either lookup is used when the other fails", "http-01", "example.com",
     .zone = {{"example.com", A, DNS_OK, 60, {"127.0.0.1"}}, DNS_FAKE_FAIL("example.com", AAAA, DNS_SERVFAIL)},
     .want.type = "connection", .want.status = 400, .want.detail_has = "address 127.0.0.1",
     .want.asked = {"A example.com", "AAAA example.com"}},
    {"http-01: cobble's own lookup failure is serverInternal", "http-01", "example.com", .fail_internal = true,
     .want.type = "serverInternal", .want.status = 500, .want.asked = {"A example.com"}},
    {"RFC 8737 §3: a name without addresses is a dns problem", "tls-alpn-01", "example.com", .want.type = "dns",
     .want.status = 400, .want.detail_has = "no A/AAAA records for example.com", .want.asked = {"A example.com", "AAAA example.com"}},
    {"RFC 8737 §3: nothing listening on tlsPort is a connection problem", "tls-alpn-01", "example.com",
     .zone = {{"example.com", A, DNS_OK, 60, {"127.0.0.1"}}}, .want.type = "connection", .want.status = 400,
     .want.detail_has = "connecting to 127.0.0.1 port", .want.asked = {"A example.com", "AAAA example.com"}},
};

/* A loopback TCP port nothing listens on (bound, then closed: connecting to it is refused). */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void check_case(const struct result_case *c)
{
	struct va_fake f;
	va_fake_init(&f, c->ident, c->method, c->zone);
	f.zone.fail_internal = c->fail_internal;
	f.cfg.http_port = closed_port();
	f.cfg.tls_port = closed_port();
	if (strcmp(c->method, "dns-01") == 0)
		va_dns01(&f.w, &f.job, &f.res);
	else if (strcmp(c->method, "http-01") == 0)
		va_http01(&f.w, &f.job, &f.res);
	else
		va_tlsalpn01(&f.w, &f.job, &f.res);

	va_fake_assert(&f, c->rule, &c->want);
	va_fake_clear(&f);
}

static void test_result_mapping(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
}

int main(void)
{
	struct va_fake f;
	va_fake_init(&f, "example.com", "dns-01", NULL);
	va_keyauthz_digest(f.job.key_authz, NULL, digest);
	va_fake_clear(&f);
	memcpy(half1, digest, 21);
	memcpy(half2, digest + 21, 22);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_result_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
