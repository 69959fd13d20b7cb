/* test_caa: common/caa against RFC 8659, RFC 8657 and ../shared/spec/dns-persist-01.md section 5,
 * one table row per rule. */
#include "common/caa.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ACCT "https://localhost:14000/acme/acct/abc"
#define OWNER "example.test"

struct ccase {
	const char *name;     /* the rule */
	const char *rrs[5];   /* the relevant RRset, "flags tag value"; ends at NULL */
	bool wildcard;
	const char *method;   /* default dns-persist-01 */
	bool permitted;
	const char *has[3];   /* facts the detail must contain */
};

static const struct ccase cases[] = {
	/* RFC 8659 §3: no CAA anywhere permits */
	{"s3_empty_rrset_permits", {NULL}, .permitted = true, .has = {"no CAA record"}},
	/* §4.2 issue */
	{"s4_2_issue_names_this_ca", {"0 issue cobble.test"}, .permitted = true, .has = {"permits"}},
	{"s4_2_issue_names_another_ca", {"0 issue otherca.example"}, .permitted = false,
	 .has = {"CAA records at " OWNER, "0 issue \"otherca.example\"", "names otherca.example, not this CA"}},
	{"s4_2_one_of_several_issue_properties_suffices",
	 {"0 issue otherca.example", "0 issue cobble.test"}, .permitted = true},
	{"s4_2_issuer_compared_case_insensitively", {"0 issue CoBBle.TEST"}, .permitted = true},
	{"s4_2_issuer_trailing_dot_ignored", {"0 issue cobble.test."}, .permitted = true},
	{"s4_2_second_identity_matches", {"0 issue alt.test"}, .permitted = true},
	{"s4_2_empty_issuer_forbids_everyone", {"0 issue ;"}, .permitted = false, .has = {"names no CA"}},
	{"s4_2_empty_value_forbids_everyone", {"0 issue "}, .permitted = false, .has = {"names no CA"}},
	{"s4_2_wsp_around_issuer_and_parameters", {"0 issue \t cobble.test \t; \taccounturi = " ACCT " "},
	 .permitted = true},
	{"s4_2_malformed_value_authorizes_nobody", {"0 issue cobble.test; accounturi"}, .permitted = false,
	 .has = {"malformed", "has no \"=\""}},
	{"s4_2_trailing_semicolon_after_parameter_is_malformed", {"0 issue cobble.test; foo=1;"},
	 .permitted = false, .has = {"trailing"}},
	{"s4_2_issuer_alone_with_semicolon_is_fine", {"0 issue cobble.test;"}, .permitted = true},
	{"s4_2_bad_label_is_malformed", {"0 issue -cobble.test"}, .permitted = false,
	 .has = {"not a domain name"}},
	{"s4_2_unknown_parameters_ignored", {"0 issue cobble.test; foo=bar; x-y=1"}, .permitted = true},
	{"s4_1_tag_compared_case_insensitively", {"0 ISSUE cobble.test"}, .permitted = true},
	/* §4.3 issuewild */
	{"s4_3_wildcard_uses_issuewild_when_present", {"0 issue cobble.test", "0 issuewild otherca.example"},
	 .wildcard = true, .permitted = false, .has = {"issuewild", "names otherca.example"}},
	{"s4_3_wildcard_allowed_by_issuewild", {"0 issue otherca.example", "0 issuewild cobble.test"},
	 .wildcard = true, .permitted = true},
	{"s4_3_wildcard_falls_back_to_issue", {"0 issue cobble.test"}, .wildcard = true, .permitted = true},
	{"s4_3_wildcard_refused_by_issue_without_issuewild", {"0 issue otherca.example"}, .wildcard = true,
	 .permitted = false, .has = {"issue"}},
	{"s4_3_issuewild_ignored_for_a_plain_name", {"0 issue cobble.test", "0 issuewild ;"},
	 .permitted = true},
	{"s4_3_only_issuewild_does_not_restrict_a_plain_name", {"0 issuewild otherca.example"},
	 .permitted = true, .has = {"do not restrict"}},
	/* §4.1 flags and other properties */
	{"s4_1_iodef_alone_does_not_restrict", {"0 iodef mailto:a@example.test"}, .permitted = true},
	{"s4_1_unknown_noncritical_ignored", {"0 tbs foo", "0 issue cobble.test"}, .permitted = true},
	{"s4_1_unknown_critical_forbids", {"128 tbs foo", "0 issue cobble.test"}, .permitted = false,
	 .has = {"critical property 128 tbs \"foo\"", OWNER}},
	{"s4_1_known_critical_issue_is_fine", {"128 issue cobble.test"}, .permitted = true},
	{"s4_1_critical_iodef_is_known", {"128 iodef mailto:a@example.test"}, .permitted = true},
	/* RFC 8657 §3 accounturi */
	{"rfc8657_3_accounturi_equal", {"0 issue cobble.test; accounturi=" ACCT}, .permitted = true},
	{"rfc8657_3_accounturi_other_account", {"0 issue cobble.test; accounturi=" ACCT "x"},
	 .permitted = false, .has = {"accounturi=" ACCT "x is not this account (" ACCT ")"}},
	{"rfc8657_3_accounturi_compared_exactly", {"0 issue cobble.test; accounturi=HTTPS://localhost:14000/acme/acct/abc"},
	 .permitted = false},
	{"rfc8657_3_accounturi_tag_case_insensitive", {"0 issue cobble.test; AccountURI=" ACCT "x"},
	 .permitted = false},
	{"rfc8657_3_accounturi_twice_fails", {"0 issue cobble.test; accounturi=" ACCT "; accounturi=" ACCT},
	 .permitted = false, .has = {"appears twice"}},
	{"rfc8657_3_hashed_uri_never_matches",
	 {"0 issue cobble.test; accounturi=https://localhost:14000/acme/account-hash/sha-256/abc"},
	 .permitted = false},
	/* RFC 8657 §4 validationmethods */
	{"rfc8657_4_method_listed", {"0 issue cobble.test; validationmethods=dns-01,dns-persist-01"},
	 .permitted = true},
	{"rfc8657_4_method_not_listed", {"0 issue cobble.test; validationmethods=dns-01"}, .permitted = false,
	 .has = {"validationmethods=dns-01 does not include dns-persist-01"}},
	{"rfc8657_4_method_prefix_is_not_a_match", {"0 issue cobble.test; validationmethods=dns-persist-011"},
	 .permitted = false},
	{"rfc8657_4_http01_listed", {"0 issue cobble.test; validationmethods=http-01"}, .method = "http-01",
	 .permitted = true},
	{"rfc8657_4_both_parameters_must_allow",
	 {"0 issue cobble.test; accounturi=" ACCT "; validationmethods=http-01"}, .permitted = false},
	{"rfc8657_4_another_property_may_allow",
	 {"0 issue cobble.test; validationmethods=http-01", "0 issue cobble.test; validationmethods=dns-persist-01"},
	 .permitted = true},
};

static void run_case(void **state)
{
	const struct ccase *c = *state;
	const char *ids[] = {"cobble.test", "alt.test"};
	struct caa_request req = {ids, 2, c->wildcard, ACCT, c->method ? c->method : "dns-persist-01"};
	size_t n = 0;
	while (n < 5 && c->rrs[n])
		n++;
	struct caa_verdict v;
	caa_decide(c->rrs, n, OWNER, &req, &v);
	if (v.permitted != c->permitted)
		fail_msg("%s: permitted=%d, want %d: %s", c->name, v.permitted, c->permitted, v.detail);
	for (size_t i = 0; i < 3 && c->has[i]; i++) {
		const char *want = c->has[i];
		if (!strstr(v.detail, want))
			fail_msg("%s: detail lacks \"%s\": %s", c->name, want, v.detail);
	}
	if (!v.permitted && (!strstr(v.detail, OWNER)))
		fail_msg("%s: a refusal must name the owner: %s", c->name, v.detail);
}

static void property_parse_shapes(void **state)
{
	struct caa_property p;
	assert_int_equal(caa_property_parse("0 issue cobble.test", &p), 0);
	assert_int_equal(p.flags, 0);
	assert_string_equal(p.tag, "issue");
	assert_string_equal(p.value, "cobble.test");
	assert_int_equal(caa_property_parse("128 tbs ", &p), 0);
	assert_int_equal(p.flags, 128);
	assert_string_equal(p.value, "");
	assert_int_equal(caa_property_parse("x issue a", &p), -1);
	assert_int_equal(caa_property_parse("0 issue", &p), -1);
	assert_int_equal(caa_property_parse("256 issue a", &p), -1);
	assert_int_equal(caa_property_parse("0  a", &p), -1);
}

int main(void)
{
	size_t n = sizeof cases / sizeof cases[0];
	struct CMUnitTest *t = calloc(n + 1, sizeof *t);
	if (!t)
		return 1;
	for (size_t i = 0; i < n; i++) {
		t[i].name = cases[i].name;
		t[i].test_func = run_case;
		t[i].initial_state = (void *)&cases[i];
	}
	t[n++] = (struct CMUnitTest)cmocka_unit_test(property_parse_shapes);
	int rc = _cmocka_run_group_tests("caa", t, n, NULL, NULL);
	free(t);
	return rc;
}
