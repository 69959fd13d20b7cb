/* test_persist: common/persist against ../shared/spec/dns-persist-01.md sections 1-3, one table
 * row per rule, then one test per public conformance vector of test/vectors/dns-persist-01.jsonl
 * (read as `cobble check-record --vectors` reads it; also run end to end by test/e2e/vectors.sh). */
#include "common/persist.h"
#include "common/persist_vector.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ISS "authority.example"
#define ACCT "https://ca.example/acme/acct/123"
#define REC(params) ISS "; accounturi=" ACCT params
#define T0 1781524800 /* 2026-06-15T12:00:00Z */

/* Draft -02 (spec §3): the draft's test account and two keys, tp1 the draft's thumbprint. */
#define ACCT2 "https://ca.example/acct/123"
#define PREFIX "https://ca.example/account-hash/"
#define TP0 "fT3mQ9vLx2bK8sJpR4wN7cY1aZ6eH0uD5gV3iO9kM2q"
#define TP1 "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
#define H_EX_TP0 PREFIX "sha-256/DjU_tMJlfsTnpFAjsO9psEkkt_UqYs4Q5caYxlB2MAg"
#define H_STAR_TP0 PREFIX "sha-256/bbWktFJ46YmuFiA9jjcS5dciF6HHX1-a4943PkAJNyg"
#define H_EX_TP1 PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"
#define H_WWW_TP1 PREFIX "sha-256/-DOo-0FYz3izjZCLExkKNuhpAI8To5TBY1pooKesYdE"
#define REC2(h, params) ISS "; accounturi=" h params
/* A well-shaped hash part that matches no key: 43 times the one-character string c. */
#define H43(c) PREFIX "sha-256/" H43_(c)
#define H43_(c) H10(c) H10(c) H10(c) H10(c) H3(c)
#define H10(c) H3(c) H3(c) H3(c) H1(c)
#define H3(c) H1(c) H1(c) H1(c)
#define H1(c) c

struct pcase {
	const char *name;       /* the spec rule */
	const char *rr[4][4];   /* TXT RRs of up to 4 strings; the list ends at an RR with no string */
	const char *identifier; /* default example.com */
	const char *record_name;
	const char *account;    /* default ACCT (ACCT2 for draft 02) */
	const char *issuer;     /* default ISS */
	bool at_ancestor, deactivated, strict, d02;
	int64_t time;           /* default T0 */
	const char *tps[3];     /* draft 02: default {TP0, TP1} */
	const char *expect;     /* "valid", "malformed" or "unauthorized" */
	const char *has[4];     /* facts the detail must contain */
	const char *lacks;      /* and one it must not */
	int matched;            /* matched_rr when valid */
	const char *until;      /* when valid: persist_until of the validating record as text, or NULL */
	const char *rule;       /* the PERSIST_RULE_* the verdict must name, or NULL: not checked */
	int key;                /* draft 02, valid: matched_key (0 the current key) */
};

static const struct pcase cases[] = {
	/* §1 transport */
	{"s1_strings_of_one_rr_joined_with_no_separator",
	 {{ISS "; accounturi=https://ca.example/acme", "/acct/123"}}, .expect = "valid"},
	{"s1_strings_joined_no_space_inserted_inside_a_value",
	 {{ISS "; accounturi=https://ca.exa", "mple/acme/acct/", "123"}}, .expect = "valid"},
	{"s1_strings_empty_string_contributes_nothing", {{"", REC(""), ""}}, .expect = "valid"},
	{"s1_record_split_across_rrs_is_two_broken_records",
	 {{ISS ";"}, {" accounturi=" ACCT}}, .expect = "malformed",
	 .has = {"record 1 \"authority.example;\" is malformed", "missing accounturi",
	         "ignored for another issuer name: record 2 \" accounturi=" ACCT "\""}},
	{"s1_tab_is_wsp_around_issuer_and_parameters",
	 {{"\t" ISS "\t;\taccounturi\t=\t" ACCT "\t;\tpolicy=x\t"}}, .expect = "valid"},
	{"s1_tab_inside_a_value_is_not_allowed", {{REC("; foo=a\tb")}}, .expect = "malformed",
	 .has = {"character 0x09 not allowed in a parameter value", "foo=a\\tb"}},

	/* §2 step 3: the issuer */
	{"s2_3_issuer_is_text_before_first_semicolon", {{REC("; x=authority.example;z=1")}}, .expect = "valid"},
	{"s2_3_issuer_lowercased", {{"AuThOrItY.ExAmPlE; accounturi=" ACCT}}, .expect = "valid"},
	{"s2_3_idn_ulabel_issuer_matches_alabel_config",
	 {{"b\xc3\xbc" "cher.example; accounturi=" ACCT}}, .issuer = "xn--bcher-kva.example", .expect = "valid"},
	{"s2_3_idn_uppercase_ulabel_mapped_by_uts46",
	 {{"B\xc3\x9c" "CHER.example; accounturi=" ACCT}}, .issuer = "xn--bcher-kva.example", .expect = "valid"},
	{"s2_3_idn_ideographic_full_stop_mapped_to_dot",
	 {{"authority\xe3\x80\x82" "example; accounturi=" ACCT}}, .expect = "valid"},
	{"s2_3_idn_nontransitional_eszett_stays_distinct",
	 {{"fa\xc3\x9f.example; accounturi=" ACCT}}, .issuer = "fass.example", .expect = "unauthorized",
	 .has = {"(xn--fa-hia.example)"}},
	{"s2_3_one_trailing_dot_stripped", {{ISS ".; accounturi=" ACCT}}, .expect = "valid"},
	{"s2_3_only_one_trailing_dot_stripped", {{ISS "..; accounturi=" ACCT}}, .expect = "unauthorized",
	 .has = {"\"authority.example..\" (not a valid domain name)"}},
	{"s2_3_empty_issuer_ignored", {{"; accounturi=" ACCT}}, .expect = "unauthorized",
	 .has = {"found issuer names (empty)", "this CA accepts authority.example"}},
	{"s2_3_wsp_only_issuer_ignored", {{" \t ; accounturi=" ACCT}}, .expect = "unauthorized"},
	{"s2_3_issuer_with_inner_space_is_not_normalisable", {{"authority.exam ple; accounturi=" ACCT}},
	 .expect = "unauthorized", .has = {"(not a valid domain name)"}},
	{"s2_3_issuer_with_underscore_is_not_normalisable", {{"authority_.example; accounturi=" ACCT}},
	 .issuer = "authority.example", .expect = "unauthorized"},
	{"s2_3_uts46_mapping_to_non_ldh_is_not_normalisable",
	 {{"\xe2\x91\xb4.example; accounturi=" ACCT}}, .issuer = "example", .expect = "unauthorized"},
	{"s2_3_no_semicolon_whole_text_is_issuer", {{ISS " accounturi=" ACCT}}, .expect = "unauthorized"},
	{"s2_3_nonmatching_broken_record_ignored",
	 {{"other.example; persistUntil=bad;;"}, {REC("")}}, .expect = "valid", .matched = 1},
	{"s2_3_nonmatching_broken_record_alone_is_unauthorized_not_malformed",
	 {{"other.example; persistUntil=bad;;"}}, .expect = "unauthorized",
	 .has = {"no TXT record at _validation-persist.example.com names this CA's issuer",
	         "\"other.example\"", "this CA accepts authority.example"}},
	{"s2_3_unmatched_detail_lists_every_issuer_found_and_accepted",
	 {{"other.example; accounturi=" ACCT}, {"Third.Example; accounturi=" ACCT}}, .expect = "unauthorized",
	 .has = {"\"other.example\"", "\"Third.Example\" (third.example)", "this CA accepts authority.example"}},

	/* §5 strict issuer names: already canonical */
	{"s5_strict_canonical_issuer_matches", {{REC("")}}, .strict = true, .expect = "valid"},
	{"s5_strict_uppercase_issuer_ignored", {{"AUTHORITY.EXAMPLE; accounturi=" ACCT}}, .strict = true,
	 .expect = "unauthorized"},
	{"s5_strict_trailing_dot_issuer_ignored", {{ISS ".; accounturi=" ACCT}}, .strict = true,
	 .expect = "unauthorized"},
	{"s5_strict_ulabel_issuer_ignored", {{"b\xc3\xbc" "cher.example; accounturi=" ACCT}},
	 .issuer = "xn--bcher-kva.example", .strict = true, .expect = "unauthorized"},

	/* §2 step 4: syntax failures of matching records */
	{"s2_4_empty_segment_double_semicolon", {{ISS ";; accounturi=" ACCT}}, .expect = "malformed",
	 .has = {"empty parameter"}},
	{"s2_4_empty_segment_wsp_between_semicolons", {{REC("; \t ;foo=1")}}, .expect = "malformed",
	 .has = {"empty parameter"}},
	{"s2_4_trailing_semicolon", {{REC(";")}}, .expect = "malformed", .has = {"trailing \";\""}},
	{"s2_4_trailing_semicolon_and_wsp", {{REC(" ; ")}}, .expect = "malformed"},
	{"s2_4_semicolon_with_no_parameters_lacks_accounturi", {{ISS ";"}}, .expect = "malformed",
	 .has = {"missing accounturi parameter"}, .lacks = "empty parameter"},
	{"s2_4_segment_without_equals", {{REC("; foo")}}, .expect = "malformed",
	 .has = {"parameter \"foo\" has no \"=\""}},
	{"s2_4_empty_tag", {{REC("; =1")}}, .expect = "malformed", .has = {"empty parameter tag"}},
	{"s2_4_value_space_not_allowed", {{REC("; policy=wild card")}}, .expect = "malformed",
	 .has = {"parameter policy: character 0x20 not allowed in a parameter value"}},
	{"s2_4_value_non_ascii_not_allowed", {{REC("; foo=caf\xc3\xa9")}}, .expect = "malformed",
	 .has = {"character 0xc3 not allowed in a parameter value", "foo=caf\\xc3\\xa9"}},
	{"s2_4_value_control_byte_not_allowed_and_escaped", {{REC("; foo=a\x01z")}}, .expect = "malformed",
	 .has = {"character 0x01 not allowed", "foo=a\\x01z"}},
	{"s2_4_value_del_not_allowed", {{REC("; foo=\x7f")}}, .expect = "malformed", .has = {"0x7f"}},
	{"s2_4_value_may_contain_equals", {{ISS "; accounturi=https://ca.example/a?x=y"}},
	 .account = "https://ca.example/a?x=y", .expect = "valid"},
	{"s2_4_duplicate_accounturi", {{REC("; accounturi=" ACCT)}}, .expect = "malformed",
	 .has = {"duplicate parameter accounturi"}},
	{"s2_4_duplicate_accounturi_case_insensitive", {{REC("; ACCOUNTURI=" ACCT)}}, .expect = "malformed",
	 .has = {"duplicate parameter accounturi"}},
	{"s2_4_duplicate_policy", {{REC("; policy=wildcard; Policy=wildcard")}}, .expect = "malformed",
	 .has = {"duplicate parameter policy"}},
	{"s2_4_duplicate_persistuntil", {{REC("; persistUntil=1; PERSISTUNTIL=2")}}, .expect = "malformed",
	 .has = {"duplicate parameter persistUntil"}},
	{"s2_4_missing_accounturi", {{ISS "; policy=wildcard"}}, .expect = "malformed",
	 .has = {"missing accounturi parameter"}},
	{"s2_4_issuer_alone_lacks_accounturi", {{ISS}}, .expect = "malformed",
	 .has = {"missing accounturi parameter"}},
	{"s2_4_empty_accounturi", {{ISS "; accounturi= "}}, .expect = "malformed", .has = {"accounturi is empty"}},
	{"s2_4_persistuntil_non_digit", {{REC("; persistUntil=tomorrow")}}, .expect = "malformed",
	 .has = {"persistUntil \"tomorrow\" is not a number"}},
	{"s2_4_persistuntil_empty", {{REC("; persistUntil=")}}, .expect = "malformed"},
	{"s2_4_persistuntil_signed", {{REC("; persistUntil=+1781524800")}}, .expect = "malformed"},
	{"s2_4_persistuntil_negative", {{REC("; persistUntil=-1")}}, .expect = "malformed"},
	{"s2_4_every_failure_of_a_record_listed", {{ISS ";; foo; accounturi="}}, .expect = "malformed",
	 .has = {"empty parameter", "parameter \"foo\" has no \"=\"", "accounturi is empty"}},
	{"s2_4_tags_case_insensitive_accounturi", {{ISS "; AccountURI=" ACCT}}, .expect = "valid"},
	{"s2_4_tags_case_insensitive_persistuntil", {{REC("; persistuntil=1700000000")}},
	 .expect = "unauthorized", .has = {"persistUntil 1700000000"}},
	{"s2_4_tags_case_insensitive_policy", {{REC("; POLICY=wildcard")}}, .identifier = "*.example.com",
	 .expect = "valid"},
	{"s2_4_wsp_around_equals", {{ISS "; accounturi \t= \t" ACCT}}, .expect = "valid"},
	{"s2_4_unknown_tag_ignored", {{REC("; foo=bar; x-y-z=")}}, .expect = "valid"},
	{"s2_4_unknown_tag_spelling_not_checked", {{REC("; fo_o=1; -x=2; a b=3")}}, .expect = "valid"},
	{"s2_4_duplicate_unknown_tags_ignored", {{REC("; foo=1; FOO=2")}}, .expect = "valid"},
	{"s5_strict_unknown_tag_spelling_checked", {{REC("; fo_o=1")}}, .strict = true, .expect = "malformed",
	 .has = {"parameter tag \"fo_o\""}},
	{"s5_strict_unknown_tag_trailing_hyphen", {{REC("; foo-=1")}}, .strict = true, .expect = "malformed"},
	{"s5_strict_duplicate_unknown_tags", {{REC("; foo=1; Foo=2")}}, .strict = true, .expect = "malformed",
	 .has = {"duplicate parameter Foo"}},
	{"s5_strict_wellformed_unknown_tags_ignored", {{REC("; foo=1; b-a-r=2; x9=")}}, .strict = true,
	 .expect = "valid"},

	/* §2 step 5: the checks, in order */
	{"s2_5a_accounturi_mismatch", {{ISS "; accounturi=https://ca.example/acme/acct/124"}},
	 .expect = "unauthorized",
	 .has = {"accounturi mismatch: record has https://ca.example/acme/acct/124, expected " ACCT}},
	{"s2_5a_accounturi_compared_without_case_folding", {{ISS "; accounturi=HTTPS://ca.example/acme/acct/123"}},
	 .expect = "unauthorized"},
	{"s2_5a_checked_before_policy", {{ISS "; accounturi=https://x.example/1"}}, .identifier = "*.example.com",
	 .expect = "unauthorized", .has = {"accounturi mismatch"}, .lacks = "policy=wildcard required"},
	{"s2_5b_wildcard_needs_policy", {{REC("")}}, .identifier = "*.example.com", .expect = "unauthorized",
	 .has = {"policy=wildcard required for *.example.com", "_validation-persist.example.com"}},
	{"s2_5b_wildcard_other_policy", {{REC("; policy=wildcards")}}, .identifier = "*.example.com",
	 .expect = "unauthorized", .has = {"policy=wildcard required for *.example.com (record has policy=wildcards)"}},
	{"s2_5b_policy_case_insensitive", {{REC("; policy=WildCard")}}, .identifier = "*.example.com",
	 .expect = "valid"},
	{"s2_5b_policy_irrelevant_without_wildcard", {{REC("; policy=anything")}}, .expect = "valid"},
	{"s2_5b_checked_before_persistuntil", {{REC("; persistUntil=1")}}, .identifier = "*.example.com",
	 .expect = "unauthorized", .has = {"policy=wildcard required"}, .lacks = "persistUntil 1 "},
	{"s5_at_ancestor_needs_policy_wildcard", {{REC("")}}, .identifier = "www.example.com",
	 .record_name = "_validation-persist.example.com", .at_ancestor = true, .expect = "unauthorized",
	 .has = {"policy=wildcard required for a record at an ancestor (_validation-persist.example.com)",
	         "www.example.com"}},
	{"s5_at_ancestor_with_policy_wildcard", {{REC("; policy=wildcard")}}, .identifier = "www.example.com",
	 .record_name = "_validation-persist.example.com", .at_ancestor = true, .expect = "valid"},
	{"s2_5c_persistuntil_equal_to_t_passes", {{REC("; persistUntil=1781524800")}}, .expect = "valid",
	 .until = "1781524800"},
	{"s2_5c_persistuntil_leading_zeros", {{REC("; persistUntil=0001781524800")}}, .expect = "valid",
	 .until = "1781524800"},
	{"s2_5c_persistuntil_before_t_fails", {{REC("; persistUntil=1767225600")}}, .expect = "unauthorized",
	 .has = {"persistUntil 1767225600 (2026-01-01T00:00:00Z) is before validation time 1781524800 "
	         "(2026-06-15T12:00:00Z)"}},
	{"s2_5c_persistuntil_one_second_before_t_fails", {{REC("; persistUntil=1781524799")}},
	 .expect = "unauthorized"},
	{"s2_5c_persistuntil_30_digits_is_far_future", {{REC("; persistUntil=123456789012345678901234567890")}},
	 .expect = "valid", .until = "18446744073709551615"},
	{"s2_5c_persistuntil_2_pow_64_is_far_future", {{REC("; persistUntil=18446744073709551616")}},
	 .expect = "valid", .until = "18446744073709551615"},
	{"s2_5c_persistuntil_beyond_int64", {{REC("; persistUntil=9223372036854775808")}}, .expect = "valid",
	 .until = "9223372036854775808"},
	{"s2_5c_persistuntil_zero_fails", {{REC("; persistUntil=0")}}, .expect = "unauthorized",
	 .has = {"persistUntil 0 (1970-01-01T00:00:00Z)"}},
	{"s2_5c_validation_time_far_past", {{REC("; persistUntil=10")}}, .time = -5, .expect = "valid"},

	/* §2 step 6: the verdict */
	{"s2_6_empty_record_set_unauthorized", {{NULL}}, .expect = "unauthorized",
	 .has = {"no TXT record at _validation-persist.example.com"}},
	{"s2_6_record_name_reported_as_given", {{NULL}}, .record_name = "_validation-persist.Example.COM.",
	 .expect = "unauthorized", .has = {"_validation-persist.Example.COM."}},
	{"s2_6_valid_if_any_record_passes", {{ISS "; accounturi=" ACCT "/x"}, {REC("")}}, .expect = "valid",
	 .matched = 1},
	{"s2_6_valid_beats_malformed", {{REC(";;")}, {REC("")}}, .expect = "valid", .matched = 1,
	 .has = {"other records for this CA: record 1 ", "is malformed: empty parameter"}},
	{"s2_6_malformed_beats_unauthorized", {{ISS "; accounturi=https://x.example/1"}, {REC("; foo")}},
	 .expect = "malformed",
	 .has = {"record 1 \"authority.example; accounturi=https://x.example/1\" does not match: accounturi mismatch",
	         "record 2 ", "is malformed: parameter \"foo\" has no \"=\""}},
	{"s2_6_unauthorized_when_no_record_is_malformed",
	 {{ISS "; accounturi=https://x.example/1"}, {REC("; persistUntil=5")}}, .expect = "unauthorized",
	 .has = {"2 of 2 TXT records name this CA's issuer"}},
	{"s2_6_other_issuers_do_not_count", {{"other.example; foo"}, {ISS "; accounturi=https://x.example/1"}},
	 .expect = "unauthorized",
	 .has = {"1 of 2 TXT records names this CA's issuer",
	         "ignored for another issuer name: record 1 \"other.example; foo\""}},
	{"s2_6_longest_lived_passing_record_validates",
	 {{REC("; persistUntil=2000000000")}, {REC("")}, {REC("; persistUntil=3000000000")}},
	 .expect = "valid", .matched = 1, .has = {"record 1 ", "persistUntil=2000000000\" also matches"}},
	{"s2_6_latest_persistuntil_validates", {{REC("; persistUntil=2000000000")}, {REC("; persistUntil=3000000000")}},
	 .expect = "valid", .matched = 1, .until = "3000000000"},
	{"s2_6_valid_detail_names_record_and_account", {{"other.example; x"}, {REC("")}}, .expect = "valid",
	 .matched = 1, .has = {"TXT record 2 at _validation-persist.example.com", "authorizes account " ACCT}},
	{"s3_deactivated_account_never_matches_01", {{REC("")}}, .deactivated = true, .expect = "unauthorized",
	 .has = {"deactivated"}},

	/* §3 draft 02: hashed account URIs */
	{"s3_02_current_key_fqdn", {{REC2(H_EX_TP0, "")}}, .d02 = true, .expect = "valid"},
	{"s3_02_current_key_any_domain", {{REC2(H_STAR_TP0, "")}}, .d02 = true, .expect = "valid"},
	{"s3_02_earlier_key_after_rollover", {{REC2(H_EX_TP1, "")}}, .d02 = true, .expect = "valid", .key = 1},
	{"s3_02_earlier_key_only_when_listed", {{REC2(H_EX_TP1, "")}}, .d02 = true, .tps = {TP0},
	 .expect = "unauthorized",
	 .has = {"accounturi mismatch: record has " H_EX_TP1 ", expected " H_EX_TP0 " (d=example.com) or " H_STAR_TP0
	         " (d=*)"}},
	{"s3_02_mismatch_mentions_earlier_keys", {{REC2(H43("A"), "")}}, .d02 = true,
	 .expect = "unauthorized", .has = {"1 earlier keys"}, .rule = PERSIST_RULE_ACCOUNT},
	{"s3_02_wildcard_identifier_hashes_f", {{REC2(H_EX_TP0, "; policy=wildcard")}}, .d02 = true,
	 .identifier = "*.example.com", .expect = "valid"},
	{"s3_02_d_is_where_the_record_was_found", {{REC2(H_EX_TP1, "; policy=wildcard")}}, .d02 = true,
	 .identifier = "www.example.com", .record_name = "_validation-persist.example.com", .at_ancestor = true,
	 .expect = "valid", .key = 1},
	{"s3_02_d_is_not_the_identifier_at_an_ancestor", {{REC2(H_WWW_TP1, "; policy=wildcard")}}, .d02 = true,
	 .identifier = "www.example.com", .record_name = "_validation-persist.example.com", .at_ancestor = true,
	 .expect = "unauthorized"},
	{"s3_02_d_lowercased_without_trailing_dot", {{REC2(H_EX_TP1, "")}}, .d02 = true,
	 .record_name = "_Validation-Persist.EXAMPLE.com.", .expect = "valid", .key = 1},
	{"s3_02_plain_url_is_malformed", {{ISS "; accounturi=" ACCT2}}, .d02 = true, .expect = "malformed",
	 .has = {"not under the account hash prefix " PREFIX}},
	{"s3_02_other_prefix_is_malformed", {{ISS "; accounturi=https://other.example/account-hash/sha-256/x"}},
	 .d02 = true, .expect = "malformed"},
	{"s3_02_other_hash_name_is_malformed", {{ISS "; accounturi=" PREFIX "sha-512/abc"}}, .d02 = true,
	 .expect = "malformed", .has = {"hash name \"sha-512\""}},
	{"s3_02_hash_name_case_sensitive", {{ISS "; accounturi=" PREFIX "SHA-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"}},
	 .d02 = true, .expect = "malformed"},
	{"s3_02_deactivated_account_never_matches", {{REC2(H_EX_TP0, "")}}, .d02 = true, .deactivated = true,
	 .expect = "unauthorized", .has = {"deactivated"}},
	{"s3_02_hash_42_characters_is_malformed", {{REC2(PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-k", "")}},
	 .d02 = true, .expect = "malformed", .has = {"has 42 characters", "exactly 43 base64url"},
	 .rule = PERSIST_RULE_HASHED},
	{"s3_02_hash_44_characters_is_malformed", {{REC2(H_EX_TP1 "w", "")}}, .d02 = true, .expect = "malformed",
	 .has = {"has 44 characters"}},
	{"s3_02_hash_with_padding_is_malformed", {{REC2(H_EX_TP1 "=", "")}}, .d02 = true, .expect = "malformed",
	 .has = {"outside the base64url alphabet (0x3d '=')"}},
	{"s3_02_hash_with_plus_is_malformed", {{REC2(PREFIX "sha-256/5SQm7n6tPh2+PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", "")}},
	 .d02 = true, .expect = "malformed", .has = {"(0x2b '+')"}},
	{"s3_02_hash_with_slash_is_malformed", {{REC2(PREFIX "sha-256/5SQm7n6tPh2/PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", "")}},
	 .d02 = true, .expect = "malformed", .has = {"(0x2f '/')"}},
	{"s3_02_hash_empty_is_malformed", {{REC2(PREFIX "sha-256/", "")}}, .d02 = true, .expect = "malformed",
	 .has = {"has 0 characters"}},
	{"s3_02_hash_name_without_hash_is_malformed", {{REC2(PREFIX "sha-256", "")}}, .d02 = true,
	 .expect = "malformed", .has = {"ends without the hash"}},
	{"s3_02_hash_shape_checked_before_other_failures_count_as_mismatch",
	 {{REC2(H43("A"), "")}, {REC2(H_EX_TP1 "==", "")}}, .d02 = true, .expect = "malformed",
	 .rule = PERSIST_RULE_HASHED},
	{"s3_02_well_shaped_wrong_hash_is_unauthorized", {{REC2(H43("w"), "")}}, .d02 = true,
	 .expect = "unauthorized", .rule = PERSIST_RULE_ACCOUNT},
	{"s3_02_current_key_tried_first", {{REC2(H_EX_TP1, "")}}, .d02 = true, .tps = {TP1, TP0}, .expect = "valid",
	 .key = 0, .has = {"(hashed with the account's current key)"}},
	{"s3_02_earlier_keys_newest_first", {{REC2(H_EX_TP1, "")}}, .d02 = true, .tps = {TP0, TP1, TP1},
	 .expect = "valid", .key = 1, .has = {"earlier key 1,"}},
	{"s3_02_key_order_any_domain_form_too", {{REC2(H_STAR_TP0, "")}}, .d02 = true, .tps = {TP1, TP0},
	 .expect = "valid", .key = 1},
	{"s2_4_02_duplicate_unknown_tag_is_malformed", {{REC2(H_EX_TP0, "; foo=1; foo=2")}}, .d02 = true,
	 .expect = "malformed", .has = {"duplicate parameter foo (draft 02 allows each tag once"},
	 .rule = PERSIST_RULE_SYNTAX},
	{"s2_4_02_duplicate_unknown_tag_case_insensitive", {{REC2(H_EX_TP0, "; Foo=1; fOO=2")}}, .d02 = true,
	 .expect = "malformed", .has = {"duplicate parameter fOO"}},
	{"s2_4_02_duplicate_known_tag_is_malformed", {{REC2(H_EX_TP0, "; policy=wildcard; POLICY=x")}},
	 .d02 = true, .expect = "malformed", .has = {"duplicate parameter policy"}},
	{"s2_4_02_distinct_unknown_tags_pass", {{REC2(H_EX_TP0, "; foo=1; bar=1; fo_o=1")}}, .d02 = true,
	 .expect = "valid"},
	{"s2_4_01_duplicate_unknown_tags_still_ignored", {{REC("; Foo=1; fOO=2")}}, .expect = "valid",
	 .rule = PERSIST_RULE_VALID},
	{"s3_02_persistuntil_still_checked", {{REC2(H_EX_TP0, "; persistUntil=5")}}, .d02 = true,
	 .expect = "unauthorized", .has = {"persistUntil 5"}},
};

static void run_case(void **state)
{
	const struct pcase *c = *state;
	struct persist_str strs[4][4];
	struct persist_rr rrs[4];
	size_t n = 0;
	for (; n < 4 && c->rr[n][0]; n++) {
		size_t k = 0;
		for (; k < 4 && c->rr[n][k]; k++) {
			strs[n][k].data = (const unsigned char *)c->rr[n][k];
			strs[n][k].len = strlen(c->rr[n][k]);
		}
		rrs[n].strs = strs[n];
		rrs[n].nstrs = k;
	}
	const char *issuers[] = {c->issuer ? c->issuer : ISS, "second.example"};
	const char *tps[3] = {TP0, TP1, NULL};
	size_t ntps = 2;
	if (c->tps[0]) {
		for (ntps = 0; ntps < 3 && c->tps[ntps]; ntps++)
			tps[ntps] = c->tps[ntps];
	}
	struct persist_input in = {
		.identifier = c->identifier ? c->identifier : "example.com",
		.record_name = c->record_name,
		.at_ancestor = c->at_ancestor,
		.account_url = c->account ? c->account : c->d02 ? ACCT2 : ACCT,
		.account_deactivated = c->deactivated,
		.issuers = issuers,
		.nissuers = 2,
		.time = c->time ? c->time : T0,
		.draft = c->d02 ? PERSIST_DRAFT_02 : PERSIST_DRAFT_01,
		.strict = c->strict,
		.thumbprints = tps,
		.nthumbprints = ntps,
		.hash_prefix = PREFIX,
	};
	struct persist_result r;
	assert_int_equal(persist_check(rrs, n, &in, &r), 0);
	assert_non_null(r.detail);
	/* On failure the message carries the detail, so a failing row explains itself. */
#define EXPECT(cond, ...) do { if (!(cond)) fail_msg(__VA_ARGS__); } while (0)
	if (strcmp(c->expect, "valid") == 0) {
		EXPECT(r.status == PERSIST_VALID && r.type == NULL, "want valid, got %s: %s",
		       r.type ? r.type : "valid?", r.detail);
		EXPECT(r.matched_rr == c->matched, "matched_rr %d, want %d: %s", r.matched_rr, c->matched, r.detail);
		EXPECT(r.matched_key == (c->d02 ? c->key : -1), "matched_key %d, want %d: %s", r.matched_key,
		       c->d02 ? c->key : -1, r.detail);
		EXPECT(strcmp(r.rule, PERSIST_RULE_VALID) == 0, "rule %s on valid", r.rule);
		if (c->until) {
			char buf[32];
			snprintf(buf, sizeof buf, "%llu", (unsigned long long)r.persist_until);
			EXPECT(r.has_persist_until && strcmp(buf, c->until) == 0, "persist_until %s, want %s", buf,
			       c->until);
		}
	} else {
		EXPECT(r.status == PERSIST_INVALID && r.type && strcmp(r.type, c->expect) == 0, "want %s, got %s: %s",
		       c->expect, r.type ? r.type : "valid", r.detail);
		EXPECT(r.matched_rr == -1, "matched_rr %d on invalid", r.matched_rr);
		EXPECT(r.matched_key == -1, "matched_key %d on invalid", r.matched_key);
	}
	EXPECT(!c->rule || strcmp(r.rule, c->rule) == 0, "rule %s, want %s: %s", r.rule, c->rule, r.detail);
	EXPECT(r.rule && persist_rule_title(r.rule)[0], "rule %s has no title", r.rule ? r.rule : "(null)");
	for (size_t i = 0; i < 4 && c->has[i]; i++)
		EXPECT(strstr(r.detail, c->has[i]), "detail lacks \"%s\": %s", c->has[i], r.detail);
	EXPECT(!c->lacks || !strstr(r.detail, c->lacks), "detail has \"%s\": %s", c->lacks, r.detail);
	for (const char *p = r.detail; *p; p++) /* plain ASCII: valid UTF-8 for JSON, safe on a terminal */
		EXPECT((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "byte 0x%02x in detail: %s",
		       (unsigned char)*p, r.detail);
#undef EXPECT
	persist_result_clear(&r);
	assert_null(r.detail);
}

/* §1: raw octets, a NUL byte included, reach the parser unchanged. */
static void s1_raw_octets_nul_byte_is_not_a_terminator(void **state)
{
	static const unsigned char a[] = "authority.example; accounturi=" ACCT "; foo=a\0b";
	struct persist_str s = {a, sizeof a - 1};
	struct persist_rr rr = {&s, 1};
	const char *iss[] = {ISS};
	struct persist_input in = {.identifier = "example.com", .account_url = ACCT, .issuers = iss,
	                           .nissuers = 1, .time = T0};
	struct persist_result r;
	assert_int_equal(persist_check(&rr, 1, &in, &r), 0);
	assert_string_equal(r.type, "malformed");
	assert_non_null(strstr(r.detail, "character 0x00 not allowed"));
	assert_non_null(strstr(r.detail, "foo=a\\x00b\""));
	assert_int_equal(r.nmatching, 1);
	persist_result_clear(&r);
}

/* §3: the draft's test vectors, exactly. */
static void s3_02_hash_uri_draft_test_vectors(void **state)
{
	char *h = persist_hash_uri("https://ca.example/account-hash/", "example.com", TP1, ACCT2);
	assert_string_equal(h, H_EX_TP1);
	free(h);
	h = persist_hash_uri("", "*", TP1, ACCT2);
	assert_string_equal(h, "sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug");
	free(h);
	h = persist_hash_uri("p/", "example.com", TP0, ACCT2);
	assert_string_equal(h, "p/sha-256/DjU_tMJlfsTnpFAjsO9psEkkt_UqYs4Q5caYxlB2MAg");
	free(h);
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_null(persist_hash_uri("", big, TP1, ACCT2)); /* len(d) is one octet */
	assert_null(persist_hash_uri(NULL, "*", TP1, ACCT2));
}

/* §2 step 3 and §5: persist_normalize_issuer on its own. */
static void s2_3_normalize_issuer_table(void **state)
{
	static const struct {
		const char *in;
		bool strict;
		const char *out; /* NULL: not normalisable */
	} t[] = {
		{"authority.example", false, "authority.example"},
		{"AUTHORITY.example", false, "authority.example"},
		{"authority.example.", false, "authority.example"},
		{"authority.example..", false, NULL},
		{".", false, NULL},
		{"", false, NULL},
		{"a..b", false, NULL},
		{"-a.example", false, NULL},
		{"a-.example", false, NULL},
		{"a--b.example", false, "a--b.example"},
		{"a_b.example", false, NULL},
		{"a b", false, NULL},
		{"b\xc3\xbc" "cher.example", false, "xn--bcher-kva.example"},
		{"bu\xcc\x88" "cher.example", false, "xn--bcher-kva.example"}, /* NFC by UTS-46 */
		{"XN--BCHER-KVA.example", false, "xn--bcher-kva.example"},
		{"fa\xc3\x9f.de", false, "xn--fa-hia.de"},
		{"\xef\xbd\x81.example", false, "a.example"}, /* fullwidth a */
		{"\xff.example", false, NULL},                /* not UTF-8 */
		{"\xe2\x91\xb4.example", false, NULL},        /* maps to "(1)" */
		{"authority.example", true, "authority.example"},
		{"Authority.example", true, NULL},
		{"authority.example.", true, NULL},
		{"b\xc3\xbc" "cher.example", true, NULL},
		{"xn--bcher-kva.example", true, "xn--bcher-kva.example"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *o = persist_normalize_issuer(t[i].in, strlen(t[i].in), t[i].strict);
		if (t[i].out == NULL && o != NULL)
			fail_msg("\"%s\" (strict %d) gave \"%s\", want failure", t[i].in, t[i].strict, o);
		if (t[i].out && (!o || strcmp(o, t[i].out) != 0))
			fail_msg("\"%s\" (strict %d) gave \"%s\", want \"%s\"", t[i].in, t[i].strict, o ? o : "(null)",
			         t[i].out);
		free(o);
	}
	char nul[] = "a\0b.example";
	assert_null(persist_normalize_issuer(nul, sizeof nul - 1, false));
	/* length-bounded: the ';' after the name is not read */
	char *o = persist_normalize_issuer("authority.example;x", strlen(ISS), false);
	assert_string_equal(o, ISS);
	free(o);
}

static void persist_record_text_forms(void **state)
{
	char *s = persist_record_text(ISS, ACCT, false, 0);
	assert_string_equal(s, ISS "; accounturi=" ACCT);
	free(s);
	s = persist_record_text(ISS, ACCT, true, 0);
	assert_string_equal(s, ISS "; accounturi=" ACCT "; policy=wildcard");
	free(s);
	s = persist_record_text(ISS, ACCT, true, UINT64_MAX);
	assert_string_equal(s, ISS "; accounturi=" ACCT "; policy=wildcard; persistUntil=18446744073709551615");
	free(s);
	/* What we tell users to publish must validate. */
	s = persist_record_text(ISS, ACCT, true, 1781524800);
	struct persist_str str = {(const unsigned char *)s, strlen(s)};
	struct persist_rr rr = {&str, 1};
	const char *iss[] = {ISS};
	struct persist_input in = {.identifier = "*.example.com", .account_url = ACCT, .issuers = iss,
	                           .nissuers = 1, .time = T0, .strict = true};
	struct persist_result r;
	assert_int_equal(persist_check(&rr, 1, &in, &r), 0);
	assert_int_equal(r.status, PERSIST_VALID);
	persist_result_clear(&r);
	free(s);
	persist_result_clear(NULL);
}

/* One public vector: persist_check must come to its "expect" (test/vectors/README.md). */
static void run_vector(void **state)
{
	json_t *o = *state;
	struct persist_vector v = {0};
	const char *why = persist_vector_parse(o, &v);
	if (why)
		fail_msg("not a vector: %s", why);
	if (!v.expect)
		fail_msg("the vector has no \"expect\"");
	struct persist_result r;
	assert_int_equal(persist_check(v.rrs, v.nrrs, &v.in, &r), 0);
	const char *got = r.status == PERSIST_VALID ? "valid" : r.type;
	if (strcmp(got, v.expect) != 0)
		fail_msg("want %s, got %s (rule %s): %s", v.expect, got, r.rule, r.detail);
	persist_result_clear(&r);
	persist_vector_clear(&v);
}

/* The vectors file: $COBBLE_VECTORS, else test/vectors/dns-persist-01.jsonl from the repository
 * root (where test/run.sh runs the unit tests). Returns its lines as JSON objects. */
static json_t *load_vectors(const char **path)
{
	*path = getenv("COBBLE_VECTORS");
	if (!*path)
		*path = "test/vectors/dns-persist-01.jsonl";
	FILE *f = fopen(*path, "r");
	if (!f)
		return NULL;
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	for (unsigned long no = 1; (len = getline(&line, &cap, f)) >= 0; no++) {
		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;
		json_error_t e;
		json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &e);
		if (!o) {
			fprintf(stderr, "%s line %lu: %s\n", *path, no, e.text);
			json_decref(all);
			all = NULL;
			break;
		}
		json_array_append_new(all, o);
	}
	free(line);
	fclose(f);
	return all;
}

int main(void)
{
	const char *vpath;
	json_t *vecs = load_vectors(&vpath);
	if (!vecs || json_array_size(vecs) == 0) {
		/* the file is part of the repository: its absence is a failure, never a skip */
		printf("not ok - the conformance vectors %s could not be read (run from the repository root, or "
		       "set COBBLE_VECTORS)\n", vpath);
		json_decref(vecs);
		return 1;
	}
	size_t nv = json_array_size(vecs);
	char (*names)[64] = calloc(nv, sizeof *names);
	size_t n = sizeof cases / sizeof cases[0];
	struct CMUnitTest *t = calloc(n + 4 + nv, sizeof *t);
	if (!t || !names)
		return 1;
	for (size_t i = 0; i < n; i++) {
		t[i].name = cases[i].name;
		t[i].test_func = run_case;
		t[i].initial_state = (void *)&cases[i];
	}
	t[n++] = (struct CMUnitTest)cmocka_unit_test(s1_raw_octets_nul_byte_is_not_a_terminator);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(s3_02_hash_uri_draft_test_vectors);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(s2_3_normalize_issuer_table);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(persist_record_text_forms);
	for (size_t i = 0; i < nv; i++) {
		json_t *o = json_array_get(vecs, i), *id = json_object_get(o, "id");
		if (json_is_string(id))
			snprintf(names[i], sizeof names[i], "vector %s", json_string_value(id));
		else
			snprintf(names[i], sizeof names[i], "vector %zu (it has no id)", i + 1);
		t[n].name = names[i];
		t[n].test_func = run_vector;
		t[n++].initial_state = o;
	}
	int rc = _cmocka_run_group_tests("persist", t, n, NULL, NULL);
	free(t);
	free(names);
	json_decref(vecs);
	return rc;
}
