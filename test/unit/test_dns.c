/* test_dns: common/dns.c without a network — how dns_addrs merges its A and AAAA answers
 * (Boulder's rule: addresses from either make the answer; otherwise the more telling failure
 * decides), asked through the DNS seam (dns_new_backend, test/unit/dns_fake.c); the resolver
 * syntax dns_new accepts and its messages for what it refuses; the result names in details. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/dns.h"
#include "test/unit/dns_fake.h"

#define A DNS_QTYPE_A
#define AAAA DNS_QTYPE_AAAA
#define H "h.example"

struct addrs_case {
	const char *rule;
	struct dns_fake_rr zone[5];
	enum dns_rcode_class result;
	const char *addrs[4];      /* in order */
	uint32_t min_ttl;
	const char *detail_has;
};

static const struct addrs_case addrs_cases[] = {
    {"A and AAAA: every address, A first", {{H, AAAA, DNS_OK, 60, {"2001:db8::1"}}, {H, A, DNS_OK, 300, {"192.0.2.1"}},
     {H, A, DNS_OK, 300, {"192.0.2.2"}}}, DNS_OK, {"192.0.2.1", "192.0.2.2", "2001:db8::1"}, 60,
     "3 addresses for " H " from " DNS_FAKE_RESOLVER},
    {"A only (AAAA NODATA)", {{H, A, DNS_OK, 300, {"192.0.2.1"}}}, DNS_OK, {"192.0.2.1"}, 300,
     "1 address for " H " from " DNS_FAKE_RESOLVER},
    {"AAAA only (A NODATA)", {{H, AAAA, DNS_OK, 30, {"2001:db8::1"}}}, DNS_OK, {"2001:db8::1"}, 30, "1 address for"},
    {"a failed A lookup does not hide AAAA addresses", {DNS_FAKE_FAIL(H, A, DNS_SERVFAIL),
     {H, AAAA, DNS_OK, 60, {"2001:db8::1"}}}, DNS_OK, {"2001:db8::1"}, 60, "(A lookup: failed)"},
    {"a failed AAAA lookup does not hide A addresses, and is named", {{H, A, DNS_OK, 60, {"192.0.2.1"}},
     DNS_FAKE_FAIL(H, AAAA, DNS_TIMEOUT)}, DNS_OK, {"192.0.2.1"}, 60, "(AAAA lookup: TIMEOUT from"},
    {"no such name: NXDOMAIN", {{"other.example", A, DNS_OK, 60, {"192.0.2.9"}}}, DNS_NXDOMAIN, {NULL}, 0,
     "NXDOMAIN from " DNS_FAKE_RESOLVER ": " H " does not exist"},
    {"a name with neither: NODATA, said for both types", {{H, DNS_QTYPE_TXT, DNS_OK, 60, {"x"}}}, DNS_NODATA, {NULL},
     0, "no A or AAAA record at " H " (NOERROR, no data) from " DNS_FAKE_RESOLVER},
    {"A NODATA, AAAA SERVFAIL: the AAAA failure is the more telling",
     {{H, DNS_QTYPE_TXT, DNS_OK, 60, {"x"}}, DNS_FAKE_FAIL(H, AAAA, DNS_SERVFAIL)}, DNS_SERVFAIL, {NULL}, 0,
     "SERVFAIL from " DNS_FAKE_RESOLVER " for AAAA " H},
    {"A SERVFAIL, AAAA NODATA: the A failure stands", {DNS_FAKE_FAIL(H, A, DNS_SERVFAIL)}, DNS_SERVFAIL, {NULL}, 0,
     "for A " H},
    {"A TIMEOUT, AAAA SERVFAIL: the A failure stands",
     {DNS_FAKE_FAIL(H, A, DNS_TIMEOUT), DNS_FAKE_FAIL(H, AAAA, DNS_SERVFAIL)}, DNS_TIMEOUT, {NULL}, 0, "for A " H},
    {"A NXDOMAIN, AAAA NODATA: NXDOMAIN stands", {DNS_FAKE_FAIL(H, A, DNS_NXDOMAIN)}, DNS_NXDOMAIN, {NULL}, 0,
     "for A " H},
    {"A bogus: DNSSEC failure stands over AAAA's NODATA", {DNS_FAKE_FAIL(H, A, DNS_BOGUS)}, DNS_BOGUS, {NULL}, 0,
     "BOGUS"},
};

static void test_addrs_merges_a_and_aaaa(void **state)
{
	for (size_t i = 0; i < sizeof addrs_cases / sizeof addrs_cases[0]; i++) {
		const struct addrs_case *c = &addrs_cases[i];
		struct dns_fake f = {.rrs = c->zone};
		struct dns *d = dns_fake_new(&f);
		struct dns_answer ans;
		print_message("# %s\n", c->rule);
		assert_int_equal(dns_addrs(d, H, &ans), 0);
		print_message("#   %s: %s\n", dns_result_name(ans.result), ans.detail);
		assert_int_equal(ans.result, c->result);
		size_t n = 0;
		for (; n < 4 && c->addrs[n]; n++) {
			assert_true(n < ans.naddrs);
			assert_string_equal(ans.addrs[n], c->addrs[n]);
		}
		assert_int_equal(ans.naddrs, n);
		if (n)
			assert_int_equal(ans.min_ttl, c->min_ttl);
		assert_non_null(strstr(ans.detail, c->detail_has));
		assert_int_equal(f.nasked, 2); /* always both questions, A first */
		assert_string_equal(f.asked[0], "A " H);
		assert_string_equal(f.asked[1], "AAAA " H);
		dns_answer_clear(&ans);
		dns_free(d);
	}
}

static void test_an_internal_failure_is_minus_one(void **state)
{
	struct dns_fake f = {.fail_internal = 1};
	struct dns *d = dns_fake_new(&f);
	struct dns_answer ans;
	assert_int_equal(dns_txt(d, "x.example", &ans), -1);
	dns_answer_clear(&ans);
	assert_int_equal(dns_addrs(d, "x.example", &ans), -1);
	dns_answer_clear(&ans);
	assert_int_equal(dns_caa(d, "x.example", &ans), -1);
	dns_answer_clear(&ans);
	dns_free(d);
}

static void test_txt_and_caa_pass_through(void **state)
{
	static const struct dns_fake_rr zone[] = {
	    {"t.example", DNS_QTYPE_TXT, DNS_OK, 120, {"two ", "strings"}},
	    {"t.example", DNS_QTYPE_CAA, DNS_OK, 60, {"0 issue \"cobble.test\""}},
	    {0},
	};
	struct dns_fake f = {.rrs = zone};
	struct dns *d = dns_fake_new(&f);
	struct dns_answer ans;
	assert_int_equal(dns_txt(d, "t.example", &ans), 0);
	assert_int_equal(ans.result, DNS_OK);
	assert_int_equal(ans.ntxt, 1);
	assert_int_equal(ans.txt[0].nstrs, 2);
	assert_int_equal(ans.txt[0].ttl, 120);
	assert_memory_equal(ans.txt[0].strs[1].data, "strings", 7);
	dns_answer_clear(&ans);
	assert_int_equal(dns_caa(d, "t.example", &ans), 0);
	assert_int_equal(ans.ncaa, 1);
	assert_string_equal(ans.caa[0], "0 issue \"cobble.test\"");
	dns_answer_clear(&ans);
	assert_string_equal(f.asked[0], "TXT t.example");
	assert_string_equal(f.asked[1], "CAA t.example");
	dns_free(d);
}

/* --- dns_new: which resolvers it takes, and what it says about the others --------------------- */

static void test_resolver_syntax(void **state)
{
	static const char *const good[] = {"127.0.0.1", "127.0.0.1:5353", "[::1]:53", "[::1]", "::1", "192.0.2.1:1",
	                                   "[2001:db8::53]:65535"};
	static const struct {
		const char *resolver, *message;
	} bad[] = {
	    {"dns.example:53", "resolver \"dns.example:53\": not an IP address (HOST:PORT, HOST or [IPv6]:PORT)"},
	    {"127.0.0.1:0", "resolver \"127.0.0.1:0\": the port must be 1 to 65535"},
	    {"127.0.0.1:65536", "resolver \"127.0.0.1:65536\": the port must be 1 to 65535"},
	    {"127.0.0.1:53x", "resolver \"127.0.0.1:53x\": the port must be 1 to 65535"},
	    {"127.0.0.1:", "resolver \"127.0.0.1:\": the port must be 1 to 65535"},
	    {"[::1", "resolver \"[::1\": expected [IPv6]:PORT"},
	    {"[::1]53", "resolver \"[::1]53\": expected [IPv6]:PORT"},
	    {"[127.0.0.1.2]:53", "resolver \"[127.0.0.1.2]:53\": not an IP address (HOST:PORT, HOST or [IPv6]:PORT)"},
	};
	char err[256];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		const char *list[] = {good[i]};
		struct dns_options opt = {.resolvers = list, .nresolvers = 1};
		struct dns *d = dns_new(&opt, err, sizeof err);
		if (!d)
			fail_msg("resolver \"%s\" refused: %s", good[i], err);
		dns_free(d);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *list[] = {"127.0.0.1:53", bad[i].resolver};
		struct dns_options opt = {.resolvers = list, .nresolvers = 2};
		err[0] = '\0';
		assert_null(dns_new(&opt, err, sizeof err));
		assert_string_equal(err, bad[i].message);
	}
	dns_free(NULL);
}

static void test_result_names(void **state)
{
	static const struct {
		enum dns_rcode_class c;
		const char *name;
	} names[] = {{DNS_OK, "NOERROR"},       {DNS_NODATA, "NODATA"}, {DNS_NXDOMAIN, "NXDOMAIN"}, {DNS_SERVFAIL, "SERVFAIL"},
	             {DNS_TIMEOUT, "TIMEOUT"}, {DNS_BOGUS, "BOGUS"},   {DNS_INSECURE, "INSECURE"}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		assert_string_equal(dns_result_name(names[i].c), names[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addrs_merges_a_and_aaaa),
	    cmocka_unit_test(test_an_internal_failure_is_minus_one),
	    cmocka_unit_test(test_txt_and_caa_pass_through),
	    cmocka_unit_test(test_resolver_syntax),
	    cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
