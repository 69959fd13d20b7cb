/* test_problem: server/problem.c — RFC 8555 §6.7 problem documents: type URN, status, detail,
 * subproblems with identifiers (§6.7.1), "algorithms" for badSignatureAlgorithm (§6.2), and a
 * document that is always valid JSON (RFC 8555 §5: UTF-8), whatever bytes a detail quotes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/problem.h"

#define URN "urn:ietf:params:acme:error:"

/* The document as JSON text and back, as a client receives it. Fails the test when the document
 * cannot be built or encoded. Caller frees with json_decref. */
static json_t *roundtrip(const struct problem *p)
{
	json_t *o = problem_to_json(p);
	if (!o) {
		char shown[256];
		size_t n = 0;
		for (const unsigned char *c = (const unsigned char *)p->detail; *c && n + 5 < sizeof shown; c++)
			n += (size_t)snprintf(shown + n, sizeof shown - n, *c >= 0x20 && *c < 0x7f ? "%c" : "\\x%02x", *c);
		fail_msg("problem_to_json returned NULL for type %s detail \"%s\"", p->type, shown);
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		fail_msg("the problem document could not be encoded as JSON");
	json_error_t err;
	json_t *back = json_loads(s, 0, &err);
	free(s);
	if (!back)
		fail_msg("the problem document is not valid JSON: %s", err.text);
	return back;
}

static bool valid_utf8(const char *s)
{
	json_t *j = json_string(s); /* jansson accepts only valid UTF-8 */
	bool ok = j != NULL;
	json_decref(j);
	return ok;
}

static void test_set_fills_type_status_detail(void **state)
{
	struct problem p;
	memset(&p, 0x5a, sizeof p);
	assert_int_equal(problem_set(&p, PROB_MALFORMED, 400, "bad %s number %d", "thing", 7), -1);
	assert_string_equal(p.type, PROB_MALFORMED);
	assert_int_equal(p.status, 400);
	assert_string_equal(p.detail, "bad thing number 7");
	assert_int_equal(p.nsub, 0);
}

static void test_set_resets_subproblems(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_REJECTED_IDENTIFIER, 400, "first");
	struct subproblem room[PROBLEM_MAX_SUB];
	problem_lend_subs(&p, room, PROBLEM_MAX_SUB);
	problem_add_sub(&p, PROB_REJECTED_IDENTIFIER, "dns", "a.example", "no");
	assert_int_equal(p.nsub, 1);
	problem_set(&p, PROB_MALFORMED, 400, "second");
	assert_int_equal(p.nsub, 0);
	json_t *o = roundtrip(&p);
	assert_null(json_object_get(o, "subproblems"));
	json_decref(o);
}

static void test_long_detail_is_truncated(void **state)
{
	struct problem p = {0};
	static char big[3 * PROBLEM_DETAIL_MAX];
	memset(big, 'x', 3 * PROBLEM_DETAIL_MAX - 1);
	big[3 * PROBLEM_DETAIL_MAX - 1] = '\0';
	problem_set(&p, PROB_MALFORMED, 400, "%s", big);
	assert_int_equal(strlen(p.detail), PROBLEM_DETAIL_MAX - 1);
}

/* RFC 8555 §6.7: the type is the ACME URN; status and detail as set. */
static void test_to_json_type_urn_status_detail(void **state)
{
	static const struct {
		const char *type;
		int status;
	} cases[] = {
	    {PROB_MALFORMED, 400},       {PROB_UNAUTHORIZED, 403},      {PROB_UNAUTHORIZED, 401},
	    {PROB_BAD_NONCE, 400},       {PROB_ORDER_NOT_READY, 403},   {PROB_SERVER_INTERNAL, 500},
	    {PROB_RATE_LIMITED, 429},    {PROB_ALREADY_REVOKED, 400},   {PROB_INVALID_PROFILE, 400},
	    {PROB_MALFORMED, 404},       {PROB_MALFORMED, 405},         {PROB_MALFORMED, 413},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct problem p = {0};
		problem_set(&p, cases[i].type, cases[i].status, "detail %zu", i);
		json_t *o = roundtrip(&p);
		char want[128];
		snprintf(want, sizeof want, URN "%s", cases[i].type);
		assert_string_equal(json_string_value(json_object_get(o, "type")), want);
		assert_true(json_is_integer(json_object_get(o, "status")));
		assert_int_equal(json_integer_value(json_object_get(o, "status")), cases[i].status);
		char d[32];
		snprintf(d, sizeof d, "detail %zu", i);
		assert_string_equal(json_string_value(json_object_get(o, "detail")), d);
		/* §6.7.1: "identifier" only ever inside subproblems */
		assert_null(json_object_get(o, "identifier"));
		assert_null(json_object_get(o, "subproblems"));
		json_decref(o);
	}
}

/* RFC 8555 §6.7.1 */
static void test_subproblems_with_identifiers(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_REJECTED_IDENTIFIER, 400, "2 identifiers rejected");
	struct subproblem room[PROBLEM_MAX_SUB];
	problem_lend_subs(&p, room, PROBLEM_MAX_SUB);
	problem_add_sub(&p, PROB_REJECTED_IDENTIFIER, "dns", "bad_name.example", "underscore in %s", "bad_name");
	problem_add_sub(&p, PROB_UNSUPPORTED_IDENTIFIER, "email", "a@example.com", "no email");
	problem_add_sub(&p, PROB_MALFORMED, NULL, NULL, "not about one identifier");
	problem_add_sub(&p, PROB_CAA, "ip", "192.0.2.1", "%d records", 3);
	json_t *o = roundtrip(&p);
	json_t *subs = json_object_get(o, "subproblems");
	assert_true(json_is_array(subs));
	assert_int_equal(json_array_size(subs), 4);
	static const struct {
		const char *type, *id_type, *id_value, *detail;
	} want[] = {
	    {URN "rejectedIdentifier", "dns", "bad_name.example", "underscore in bad_name"},
	    {URN "unsupportedIdentifier", "email", "a@example.com", "no email"},
	    {URN "malformed", NULL, NULL, "not about one identifier"},
	    {URN "caa", "ip", "192.0.2.1", "3 records"},
	};
	for (size_t i = 0; i < 4; i++) {
		json_t *s = json_array_get(subs, i);
		assert_string_equal(json_string_value(json_object_get(s, "type")), want[i].type);
		assert_string_equal(json_string_value(json_object_get(s, "detail")), want[i].detail);
		json_t *id = json_object_get(s, "identifier");
		if (!want[i].id_type) {
			assert_null(id);
			continue;
		}
		assert_true(json_is_object(id));
		assert_string_equal(json_string_value(json_object_get(id, "type")), want[i].id_type);
		assert_string_equal(json_string_value(json_object_get(id, "value")), want[i].id_value);
	}
	json_decref(o);
}

static void test_subproblems_beyond_the_maximum_are_dropped(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_REJECTED_IDENTIFIER, 400, "many");
	struct subproblem room[PROBLEM_MAX_SUB];
	problem_lend_subs(&p, room, PROBLEM_MAX_SUB);
	for (int i = 0; i < PROBLEM_MAX_SUB + 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "n%d.example", i);
		problem_add_sub(&p, PROB_REJECTED_IDENTIFIER, "dns", name, "no %d", i);
	}
	assert_int_equal(p.nsub, PROBLEM_MAX_SUB);
	assert_string_equal(p.sub[PROBLEM_MAX_SUB - 1].id_value, "n15.example");
	json_t *o = roundtrip(&p);
	assert_int_equal(json_array_size(json_object_get(o, "subproblems")), PROBLEM_MAX_SUB);
	json_decref(o);
}

/* Subproblems live in storage the caller lends; without it they are dropped, never written
 * through a stale pointer (problem_set forgets earlier storage). */
static void test_subproblems_need_lent_room(void **state)
{
	struct problem p;
	memset(&p, 0x5a, sizeof p);
	problem_set(&p, PROB_REJECTED_IDENTIFIER, 400, "none lent");
	problem_add_sub(&p, PROB_REJECTED_IDENTIFIER, "dns", "a.example", "no");
	assert_int_equal(p.nsub, 0);
	json_t *o = roundtrip(&p);
	assert_null(json_object_get(o, "subproblems"));
	json_decref(o);
	assert_true(sizeof p < 4096); /* it sits on every handler's stack */
}

/* RFC 8555 §6.2: badSignatureAlgorithm MUST carry "algorithms", the supported "alg" values. */
static void test_bad_signature_algorithm_lists_algorithms(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_BAD_SIGNATURE_ALGORITHM, 400, "alg \"none\" is not allowed");
	json_t *o = roundtrip(&p);
	json_t *algs = json_object_get(o, "algorithms");
	assert_true(json_is_array(algs));
	assert_true(json_array_size(algs) >= 1);
	bool es256 = false;
	size_t i;
	json_t *v;
	json_array_foreach(algs, i, v) {
		assert_true(json_is_string(v));
		es256 |= strcmp(json_string_value(v), "ES256") == 0; /* §6.2: MUST implement ES256 */
		assert_string_not_equal(json_string_value(v), "none");
		assert_false(strncmp(json_string_value(v), "HS", 2) == 0);
	}
	assert_true(es256);
	json_decref(o);

	/* other types do not carry it */
	static const char *const others[] = {PROB_MALFORMED, PROB_BAD_PUBLIC_KEY, PROB_BAD_NONCE};
	for (size_t k = 0; k < 3; k++) {
		problem_set(&p, others[k], 400, "x");
		o = roundtrip(&p);
		assert_null(json_object_get(o, "algorithms"));
		json_decref(o);
	}
}

static void test_prefix(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_MALFORMED, 400, "JWS signature is invalid");
	problem_prefix(&p, "inner JWS of keyChange: ");
	assert_string_equal(p.detail, "inner JWS of keyChange: JWS signature is invalid");
	assert_string_equal(p.type, PROB_MALFORMED);
	assert_int_equal(p.status, 400);

	problem_set(&p, PROB_MALFORMED, 400, "%s", "");
	problem_prefix(&p, "only: ");
	assert_string_equal(p.detail, "only: ");

	/* a full detail keeps the prefix and loses its end */
	static char big[PROBLEM_DETAIL_MAX];
	memset(big, 'y', PROBLEM_DETAIL_MAX - 1);
	big[PROBLEM_DETAIL_MAX - 1] = '\0';
	problem_set(&p, PROB_MALFORMED, 400, "%s", big);
	problem_prefix(&p, "PREFIX: ");
	assert_int_equal(strlen(p.detail), PROBLEM_DETAIL_MAX - 1);
	assert_memory_equal(p.detail, "PREFIX: yyy", 11);

	/* a prefix longer than the buffer fills it, still terminated */
	static char huge[2 * PROBLEM_DETAIL_MAX];
	memset(huge, 'p', 2 * PROBLEM_DETAIL_MAX - 1);
	huge[2 * PROBLEM_DETAIL_MAX - 1] = '\0';
	problem_set(&p, PROB_MALFORMED, 400, "tail");
	problem_prefix(&p, huge);
	assert_int_equal(strlen(p.detail), PROBLEM_DETAIL_MAX - 1);
}

static void test_default_status(void **state)
{
	static const struct {
		const char *type;
		int status;
	} cases[] = {
	    {PROB_UNAUTHORIZED, 403},          {PROB_ORDER_NOT_READY, 403}, /* §7.4 */
	    {PROB_RATE_LIMITED, 429},          {PROB_SERVER_INTERNAL, 500},
	    {PROB_USER_ACTION_REQUIRED, 403},  /* §7.3.3 */
	    {PROB_ACCOUNT_DOES_NOT_EXIST, 400}, /* §7.3.1 */
	    {PROB_ALREADY_REVOKED, 400},       /* §7.6 */
	    {PROB_BAD_NONCE, 400},             /* §6.5 */
	    {PROB_BAD_SIGNATURE_ALGORITHM, 400}, {PROB_BAD_PUBLIC_KEY, 400}, /* §6.2 */
	    {PROB_MALFORMED, 400},             {PROB_BAD_CSR, 400},
	    {PROB_BAD_REVOCATION_REASON, 400}, {PROB_INVALID_CONTACT, 400},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (problem_default_status(cases[i].type) != cases[i].status)
			fail_msg("%s: %d, want %d", cases[i].type, problem_default_status(cases[i].type), cases[i].status);
}

/* RFC 8555 §5: responses are UTF-8. Details quote client input (names, headers, contacts), which
 * can be any bytes; the document must still be valid JSON, never a missing body. */
static void test_invalid_utf8_in_detail_still_gives_json(void **state)
{
	static const char *const inputs[] = {
	    "\xff\xfe",            /* never valid */
	    "\xc3",                /* truncated two-byte sequence */
	    "\xe2\x82",            /* truncated three-byte sequence */
	    "\xc0\xaf",            /* overlong '/' */
	    "ok \xed\xa0\x80 ok",  /* UTF-16 surrogate */
	    "\x80 lone continuation",
	    "caf\xc3\xa9 is fine", /* valid: kept */
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		struct problem p = {0};
		problem_set(&p, PROB_MALFORMED, 400, "contact \"%s\" is bad", inputs[i]);
		json_t *o = roundtrip(&p);
		const char *d = json_string_value(json_object_get(o, "detail"));
		assert_non_null(d);
		assert_non_null(strstr(d, "contact \""));
		assert_non_null(strstr(d, "\" is bad"));
		json_decref(o);
	}
	struct problem p = {0};
	problem_set(&p, PROB_MALFORMED, 400, "caf\xc3\xa9");
	assert_string_equal(p.detail, "caf\xc3\xa9"); /* valid UTF-8 passes unchanged */
}

static void test_invalid_utf8_in_subproblem_still_gives_json(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_REJECTED_IDENTIFIER, 400, "1 identifier rejected");
	struct subproblem room[PROBLEM_MAX_SUB];
	problem_lend_subs(&p, room, PROBLEM_MAX_SUB);
	problem_add_sub(&p, PROB_REJECTED_IDENTIFIER, "dns", "bad\xff.example", "%s: not ASCII", "bad\xff.example");
	json_t *o = roundtrip(&p);
	json_t *s = json_array_get(json_object_get(o, "subproblems"), 0);
	assert_non_null(json_string_value(json_object_get(s, "detail")));
	assert_non_null(json_string_value(json_object_get(json_object_get(s, "identifier"), "value")));
	json_decref(o);
}

/* A detail cut at the buffer's end in the middle of a multi-byte character. */
static void test_truncation_mid_character_still_gives_json(void **state)
{
	struct problem p = {0};
	/* "x" then 2-byte characters: 2047 bytes fit, so the last character is cut */
	static char big[4 * PROBLEM_DETAIL_MAX];
	size_t n = 0;
	big[n++] = 'x';
	while (n + 2 < 4 * PROBLEM_DETAIL_MAX) {
		big[n++] = '\xc3';
		big[n++] = '\xa9';
	}
	big[n] = '\0';
	for (int shift = 0; shift < 2; shift++) {
		problem_set(&p, PROB_MALFORMED, 400, "%s", big + shift);
		assert_true(valid_utf8(p.detail));
		json_t *o = roundtrip(&p);
		json_decref(o);
	}
}

static void test_prefix_truncation_mid_character_still_gives_json(void **state)
{
	struct problem p = {0};
	/* a full detail of 2-byte characters; a 3-byte prefix pushes an odd number of bytes out */
	static char big[PROBLEM_DETAIL_MAX + 2];
	size_t n = 0;
	while (n + 2 < PROBLEM_DETAIL_MAX) {
		big[n++] = '\xc3';
		big[n++] = '\xa9';
	}
	big[n] = '\0';
	problem_set(&p, PROB_MALFORMED, 400, "%s", big);
	assert_true(valid_utf8(p.detail));
	problem_prefix(&p, "ab: ");
	if (!valid_utf8(p.detail))
		fail_msg("problem_prefix cut a character in half: the detail is no longer UTF-8");
	json_t *o = roundtrip(&p);
	json_decref(o);
	problem_set(&p, PROB_MALFORMED, 400, "%s", big);
	problem_prefix(&p, "abc: ");
	assert_true(valid_utf8(p.detail));
	o = roundtrip(&p);
	json_decref(o);
}

/* The struct is public: a caller that writes bytes into detail directly still gets a document. */
static void test_to_json_with_raw_invalid_bytes(void **state)
{
	struct problem p = {0};
	problem_set(&p, PROB_MALFORMED, 400, "placeholder");
	snprintf(p.detail, sizeof p.detail, "raw \xff\xfe bytes");
	json_t *o = roundtrip(&p);
	const char *d = json_string_value(json_object_get(o, "detail"));
	assert_non_null(d);
	assert_non_null(strstr(d, "raw "));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_fills_type_status_detail),
	    cmocka_unit_test(test_set_resets_subproblems),
	    cmocka_unit_test(test_long_detail_is_truncated),
	    cmocka_unit_test(test_to_json_type_urn_status_detail),
	    cmocka_unit_test(test_subproblems_with_identifiers),
	    cmocka_unit_test(test_subproblems_beyond_the_maximum_are_dropped),
	    cmocka_unit_test(test_subproblems_need_lent_room),
	    cmocka_unit_test(test_bad_signature_algorithm_lists_algorithms),
	    cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_default_status),
	    cmocka_unit_test(test_invalid_utf8_in_detail_still_gives_json),
	    cmocka_unit_test(test_invalid_utf8_in_subproblem_still_gives_json),
	    cmocka_unit_test(test_truncation_mid_character_still_gives_json),
	    cmocka_unit_test(test_prefix_truncation_mid_character_still_gives_json),
	    cmocka_unit_test(test_to_json_with_raw_invalid_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
