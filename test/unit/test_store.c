/* test_store: server/store.c — the state machines of RFC 8555 §7.1.6 (accounts, authorizations,
 * challenges, orders), key rollover (§7.3.5), the orders list (§7.1.2.1), authorization reuse,
 * certificates by serial and revocation (§7.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "server/challenge.h"
#include "server/store.h"

#define HOUR 3600

/* ---- helpers ---- */

static int setup(void **state)
{
	*state = store_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	store_free(*state);
	return 0;
}

/* A thumbprint-shaped string (43 characters) derived from n. */
static void tp_of(int n, char out[44])
{
	snprintf(out, 44, "tp%041d", n);
}

/* Add an account whose key is number `key`; returns its id in id. */
static void add_account(struct store *s, int key, char id[STORE_ID_LEN + 1])
{
	struct account a = {0};
	char existing[STORE_ID_LEN + 1] = "";
	char jwk[64];
	snprintf(jwk, sizeof jwk, "{\"kty\":\"test\",\"n\":%d}", key);
	a.jwk = jwk;
	tp_of(key, a.thumbprints[0]);
	a.nthumbprints = 1;
	a.created = time(NULL);
	a.tos_agreed = true;
	assert_int_equal(store_account_add(s, &a, id, existing), 0);
	assert_int_equal(strlen(id), STORE_ID_LEN);
}

/* Add an authorization for value with nchal pending challenges, status st, expiring at expires. */
static void add_authz(struct store *s, const char *account_id, const char *value, bool wildcard,
                      enum status st, time_t expires, size_t nchal, char id[STORE_ID_LEN + 1])
{
	struct authz a = {0};
	snprintf(a.account_id, sizeof a.account_id, "%s", account_id);
	snprintf(a.ident.type, sizeof a.ident.type, "dns");
	snprintf(a.ident.value, sizeof a.ident.value, "%s", value);
	a.wildcard = wildcard;
	a.status = st;
	a.expires = expires;
	for (size_t i = 0; i < nchal; i++) {
		snprintf(a.chal[i].type, sizeof a.chal[i].type, "%s", challenge_types[i].name);
		a.chal[i].status = ST_PENDING;
	}
	a.nchal = nchal;
	if (st == ST_VALID) {
		snprintf(a.validated_by, sizeof a.validated_by, "http-01");
		a.validated_at = time(NULL);
	}
	store_authz_add(s, &a);
	assert_int_equal(strlen(a.id), STORE_ID_LEN);
	for (size_t i = 0; i < nchal; i++)
		assert_int_equal(strlen(a.chal[i].id), STORE_ID_LEN);
	memcpy(id, a.id, STORE_ID_LEN + 1);
}

static enum status authz_status(struct store *s, const char *id)
{
	struct authz a = {0};
	assert_int_equal(store_authz_get(s, id, &a), 0);
	enum status st = a.status;
	store_authz_clear(&a);
	return st;
}

/* The challenge ids of an authorization. */
static void chal_ids(struct store *s, const char *authz_id, char ids[][STORE_ID_LEN + 1], size_t *n)
{
	struct authz a = {0};
	assert_int_equal(store_authz_get(s, authz_id, &a), 0);
	for (size_t i = 0; i < a.nchal; i++)
		memcpy(ids[i], a.chal[i].id, STORE_ID_LEN + 1);
	*n = a.nchal;
	store_authz_clear(&a);
}

static void add_order(struct store *s, const char *account_id, const char (*authz_ids)[STORE_ID_LEN + 1],
                      size_t n, time_t expires, char id[STORE_ID_LEN + 1])
{
	struct order o = {0};
	snprintf(o.account_id, sizeof o.account_id, "%s", account_id);
	o.status = ST_PENDING;
	o.created = time(NULL);
	o.expires = expires;
	o.nidents = n;
	o.idents = calloc(n ? n : 1, sizeof *o.idents);
	o.authz_ids = calloc(n ? n : 1, sizeof *o.authz_ids);
	for (size_t i = 0; i < n; i++) {
		snprintf(o.idents[i].type, sizeof o.idents[i].type, "dns");
		snprintf(o.idents[i].value, sizeof o.idents[i].value, "n%zu.example.com", i);
		memcpy(o.authz_ids[i], authz_ids[i], STORE_ID_LEN + 1);
	}
	store_order_add(s, &o);
	assert_int_equal(strlen(o.id), STORE_ID_LEN);
	memcpy(id, o.id, STORE_ID_LEN + 1);
	store_order_clear(&o);
}

/* What a test needs of an order, copied out so that a failing assertion leaks nothing. */
struct order_view {
	enum status status;
	const char *err_type; /* PROB_* (static) or NULL */
	int err_status;
	char err_detail[PROBLEM_DETAIL_MAX];
	char cert_id[STORE_ID_LEN + 1];
};

static enum status order_status(struct store *s, const char *id, struct order_view *out)
{
	struct order o = {0};
	assert_int_equal(store_order_get(s, id, &o), 0);
	enum status st = o.status;
	if (out) {
		out->status = st;
		out->err_type = o.error.type;
		out->err_status = o.error.status;
		snprintf(out->err_detail, sizeof out->err_detail, "%s", o.error.detail ? o.error.detail : "");
		memcpy(out->cert_id, o.cert_id, sizeof out->cert_id);
	}
	store_order_clear(&o);
	return st;
}

/* Drive a challenge of authz through start + finish(ok). */
static void validate(struct store *s, const char *authz_id, bool ok)
{
	char ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
	size_t n;
	bool started = false;
	struct problem p = {0}, err;
	chal_ids(s, authz_id, ids, &n);
	assert_true(n > 0);
	assert_int_equal(store_challenge_start(s, authz_id, ids[0], &started, NULL, &p), 0);
	assert_true(started);
	problem_set(&err, PROB_INCORRECT_RESPONSE, 403, "wrong answer");
	struct validation_outcome o = {.ok = ok, .error = ok ? NULL : &err};
	assert_int_equal(store_challenge_finish(s, authz_id, ids[0], &o), 0);
}

/* ---- status names ---- */

static void test_status_names_are_rfc8555_words(void **state)
{
	static const struct {
		enum status st;
		const char *name;
	} cases[] = {
	    {ST_PENDING, "pending"},   {ST_READY, "ready"},     {ST_PROCESSING, "processing"},
	    {ST_VALID, "valid"},       {ST_INVALID, "invalid"}, {ST_DEACTIVATED, "deactivated"},
	    {ST_EXPIRED, "expired"},   {ST_REVOKED, "revoked"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(store_status_name(cases[i].st), cases[i].name);
	assert_string_equal(store_status_name((enum status)99), "unknown");
}

static void test_free_and_clear_null_are_noops(void **state)
{
	store_free(NULL);
	store_account_clear(NULL);
	store_authz_clear(NULL);
	store_order_clear(NULL);
	store_cert_clear(NULL);
}

/* ---- accounts ---- */

static void test_account_add_get_and_lookup_by_key(void **state)
{
	struct store *s = *state;
	char id[STORE_ID_LEN + 1], tp[44];
	add_account(s, 1, id);
	struct account a = {0};
	assert_int_equal(store_account_get(s, id, &a), 0);
	assert_string_equal(a.id, id);
	assert_int_equal(a.status, ST_VALID); /* §7.1.6: accounts are created valid */
	assert_int_equal(a.nthumbprints, 1);
	tp_of(1, tp);
	assert_string_equal(a.thumbprints[0], tp);
	assert_string_equal(a.jwk, "{\"kty\":\"test\",\"n\":1}");
	store_account_clear(&a);

	assert_int_equal(store_account_by_thumbprint(s, tp, &a), 0);
	assert_string_equal(a.id, id);
	store_account_clear(&a);
	tp_of(2, tp);
	assert_int_equal(store_account_by_thumbprint(s, tp, &a), -1);
	assert_int_equal(store_account_get(s, "0000000000000000", &a), -1);
	assert_int_equal(store_account_get(s, "", &a), -1);
}

static void test_account_duplicate_key_returns_existing_id(void **state)
{
	struct store *s = *state;
	char id[STORE_ID_LEN + 1], id2[STORE_ID_LEN + 1] = "", existing[STORE_ID_LEN + 1] = "";
	add_account(s, 1, id);
	struct account a = {0};
	tp_of(1, a.thumbprints[0]);
	a.jwk = "{}";
	/* §7.3.1: one account per key */
	assert_int_equal(store_account_add(s, &a, id2, existing), -1);
	assert_string_equal(existing, id);
	size_t na, no, nz, nc;
	store_counts(s, &na, &no, &nz, &nc);
	assert_int_equal(na, 1);
}

static void test_account_update_contacts_and_deactivate(void **state)
{
	struct store *s = *state;
	char id[STORE_ID_LEN + 1];
	add_account(s, 1, id);
	struct account a = {0};

	assert_int_equal(store_account_update(s, id, "[\"mailto:a@example.com\"]", false), 0);
	assert_int_equal(store_account_get(s, id, &a), 0);
	assert_string_equal(a.contacts_json, "[\"mailto:a@example.com\"]");
	assert_int_equal(a.status, ST_VALID);
	store_account_clear(&a);

	/* NULL keeps the contacts */
	assert_int_equal(store_account_update(s, id, NULL, true), 0);
	assert_int_equal(store_account_get(s, id, &a), 0);
	assert_string_equal(a.contacts_json, "[\"mailto:a@example.com\"]");
	assert_int_equal(a.status, ST_DEACTIVATED);
	store_account_clear(&a);

	assert_int_equal(store_account_update(s, "ffffffffffffffff", NULL, true), -1);
}

/* RFC 8555 §7.3.5 */
static void test_rekey_moves_the_key_and_keeps_history_newest_first(void **state)
{
	struct store *s = *state;
	char id[STORE_ID_LEN + 1], conflict[STORE_ID_LEN + 1] = "", tp1[44], tp2[44], tp3[44];
	add_account(s, 1, id);
	tp_of(1, tp1);
	tp_of(2, tp2);
	tp_of(3, tp3);

	assert_int_equal(store_account_rekey(s, id, tp1, "{\"k\":2}", tp2, conflict), 0);
	assert_int_equal(store_account_rekey(s, id, tp2, "{\"k\":3}", tp3, conflict), 0);

	struct account a = {0};
	assert_int_equal(store_account_get(s, id, &a), 0);
	assert_string_equal(a.jwk, "{\"k\":3}");
	assert_int_equal(a.nthumbprints, 3);
	assert_string_equal(a.thumbprints[0], tp3);
	assert_string_equal(a.thumbprints[1], tp2);
	assert_string_equal(a.thumbprints[2], tp1);
	store_account_clear(&a);

	/* the new key finds the account, the old ones no longer do */
	assert_int_equal(store_account_by_thumbprint(s, tp3, &a), 0);
	assert_string_equal(a.id, id);
	store_account_clear(&a);
	assert_int_equal(store_account_by_thumbprint(s, tp1, &a), -1);
	assert_int_equal(store_account_by_thumbprint(s, tp2, &a), -1);

	/* a freed key can make a new account */
	char id2[STORE_ID_LEN + 1];
	add_account(s, 1, id2);
	assert_string_not_equal(id, id2);
}

static void test_rekey_history_is_bounded(void **state)
{
	struct store *s = *state;
	char id[STORE_ID_LEN + 1], conflict[STORE_ID_LEN + 1], old[44], new_tp[44];
	add_account(s, 0, id);
	for (int k = 1; k <= STORE_MAX_KEYS + 4; k++) {
		tp_of(k - 1, old);
		tp_of(k, new_tp);
		assert_int_equal(store_account_rekey(s, id, old, "{}", new_tp, conflict), 0);
	}
	struct account a = {0};
	assert_int_equal(store_account_get(s, id, &a), 0);
	assert_int_equal(a.nthumbprints, STORE_MAX_KEYS);
	for (int i = 0; i < STORE_MAX_KEYS; i++) {
		tp_of(STORE_MAX_KEYS + 4 - i, new_tp);
		assert_string_equal(a.thumbprints[i], new_tp);
	}
	store_account_clear(&a);
}

static void test_rekey_refusals_change_nothing(void **state)
{
	struct store *s = *state;
	char a_id[STORE_ID_LEN + 1], b_id[STORE_ID_LEN + 1], conflict[STORE_ID_LEN + 1] = "";
	char tp1[44], tp2[44], tp9[44];
	add_account(s, 1, a_id);
	add_account(s, 2, b_id);
	tp_of(1, tp1);
	tp_of(2, tp2);
	tp_of(9, tp9);
	static const struct {
		const char *name;
		int account; /* 0 = a, 1 = b, 2 = unknown */
		int old_key, new_key;
		int want;
	} cases[] = {
	    {"new key belongs to another account: conflict names it", 0, 1, 2, -1},
	    {"old key is not the current key (stale)", 0, 9, 8, -2},
	    {"old key of another account", 0, 2, 8, -2},
	    {"unknown account", 2, 1, 8, -2},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char old_tp[44], new_tp[44];
		tp_of(cases[i].old_key, old_tp);
		tp_of(cases[i].new_key, new_tp);
		const char *acct = cases[i].account == 0 ? a_id : cases[i].account == 1 ? b_id : "0123456789abcdef";
		memset(conflict, 0, sizeof conflict);
		int rc = store_account_rekey(s, acct, old_tp, "{\"changed\":1}", new_tp, conflict);
		if (rc != cases[i].want)
			fail_msg("%s: rc %d, want %d", cases[i].name, rc, cases[i].want);
		if (rc == -1)
			assert_string_equal(conflict, b_id);
	}
	/* nothing moved */
	struct account a = {0};
	assert_int_equal(store_account_get(s, a_id, &a), 0);
	assert_string_equal(a.thumbprints[0], tp1);
	assert_int_equal(a.nthumbprints, 1);
	assert_string_equal(a.jwk, "{\"kty\":\"test\",\"n\":1}");
	store_account_clear(&a);
	assert_int_equal(store_account_by_thumbprint(s, tp2, &a), 0);
	assert_string_equal(a.id, b_id);
	store_account_clear(&a);
	assert_int_equal(store_account_by_thumbprint(s, tp9, &a), -1);
}

/* ---- authorizations and challenges ---- */

/* issue 9, RFC 8555 §7.5.2: a validation that passes after its authorization was deactivated
 * makes nothing valid: the challenge ends invalid, the authorization stays deactivated. */
static void test_challenge_passing_after_deactivation_is_not_valid(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1], ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
	size_t n;
	bool started;
	struct problem p = {0};
	add_account(s, 1, acct);
	add_authz(s, acct, "late.example.com", false, ST_PENDING, time(NULL) + 7 * 24 * HOUR, 1, az);
	chal_ids(s, az, ids, &n);
	assert_int_equal(store_challenge_start(s, az, ids[0], &started, NULL, &p), 0);
	assert_int_equal(store_authz_deactivate(s, az, &p), 0);
	struct validation_outcome ok = {.ok = true, .validation_record = "[]"};
	assert_int_equal(store_challenge_finish(s, az, ids[0], &ok), 0);
	struct authz a = {0};
	assert_int_equal(store_authz_get(s, az, &a), 0);
	assert_int_equal(a.status, ST_DEACTIVATED);
	assert_int_equal(a.chal[0].status, ST_INVALID);
	assert_string_equal(a.chal[0].error.type, PROB_UNAUTHORIZED);
	assert_non_null(strstr(a.chal[0].error.detail, "had become deactivated"));
	store_authz_clear(&a);
}

static void test_challenge_success_makes_authz_valid(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1], ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
	size_t n;
	bool started;
	struct problem p = {0};
	time_t far = time(NULL) + 7 * 24 * HOUR;
	add_account(s, 1, acct);
	add_authz(s, acct, "a.example.com", false, ST_PENDING, far, 3, az);
	chal_ids(s, az, ids, &n);
	assert_int_equal(n, 3);

	/* pending → processing; the authz stays pending meanwhile */
	assert_int_equal(store_challenge_start(s, az, ids[1], &started, NULL, &p), 0);
	assert_true(started);
	struct authz a = {0};
	assert_int_equal(store_authz_get(s, az, &a), 0);
	assert_int_equal(a.status, ST_PENDING);
	assert_int_equal(a.chal[1].status, ST_PROCESSING);
	assert_int_equal(a.chal[0].status, ST_PENDING);
	store_authz_clear(&a);

	/* §7.5.1: a repeated POST changes nothing and is not an error */
	started = true;
	assert_int_equal(store_challenge_start(s, az, ids[1], &started, NULL, &p), 0);
	assert_false(started);

	/* another challenge of the same authz while one is being validated: refused */
	started = true;
	assert_int_equal(store_challenge_start(s, az, ids[0], &started, NULL, &p), -1);
	assert_false(started);
	assert_string_equal(p.type, PROB_MALFORMED);
	assert_int_equal(p.status, 400);

	struct validation_outcome ok = {.ok = true, .validation_record = "[{\"x\":1}]", .record_ttl = 300,
	                                .has_persist_until = true, .persist_until = 12345};
	time_t before = time(NULL);
	assert_int_equal(store_challenge_finish(s, az, ids[1], &ok), 0);
	assert_int_equal(store_authz_get(s, az, &a), 0);
	assert_int_equal(a.status, ST_VALID);
	assert_int_equal(a.chal[1].status, ST_VALID);
	assert_true(a.chal[1].validated >= before);
	assert_string_equal(a.chal[1].validation_record, "[{\"x\":1}]");
	assert_null(a.chal[1].error.type);
	assert_string_equal(a.validated_by, "dns-01");
	assert_true(a.validated_at >= before);
	assert_int_equal(a.record_ttl, 300);
	assert_true(a.has_persist_until);
	assert_int_equal(a.persist_until, 12345);
	assert_int_equal(a.expires, far);
	assert_int_equal(a.chal[0].status, ST_PENDING);
	store_authz_clear(&a);

	/* finishing again (not processing any more) is refused and changes nothing */
	struct problem e;
	problem_set(&e, PROB_INCORRECT_RESPONSE, 403, "late");
	struct validation_outcome bad = {.ok = false, .error = &e};
	assert_int_equal(store_challenge_finish(s, az, ids[1], &bad), -1);
	assert_int_equal(authz_status(s, az), ST_VALID);
	/* repeated POST on the valid challenge: nothing happens */
	assert_int_equal(store_challenge_start(s, az, ids[1], &started, NULL, &p), 0);
	assert_false(started);
	/* a pending challenge of a valid authz cannot be started */
	assert_int_equal(store_challenge_start(s, az, ids[2], &started, NULL, &p), -1);
	assert_false(started);
	assert_int_equal(authz_status(s, az), ST_VALID);
}

static void test_challenge_failure_makes_authz_invalid(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1], ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
	size_t n;
	bool started;
	struct problem p = {0}, e;
	add_account(s, 1, acct);
	add_authz(s, acct, "a.example.com", false, ST_PENDING, time(NULL) + HOUR, 2, az);
	chal_ids(s, az, ids, &n);
	assert_int_equal(store_challenge_start(s, az, ids[0], &started, NULL, &p), 0);
	problem_set(&e, PROB_DNS, 400, "no TXT record at _acme-challenge.a.example.com");
	struct validation_outcome bad = {.ok = false, .error = &e};
	assert_int_equal(store_challenge_finish(s, az, ids[0], &bad), 0);

	struct authz a = {0};
	assert_int_equal(store_authz_get(s, az, &a), 0);
	assert_int_equal(a.status, ST_INVALID); /* §7.1.6 */
	assert_int_equal(a.chal[0].status, ST_INVALID);
	assert_string_equal(a.chal[0].error.type, PROB_DNS);
	assert_int_equal(a.chal[0].error.status, 400);
	assert_string_equal(a.chal[0].error.detail, "no TXT record at _acme-challenge.a.example.com");
	assert_string_equal(a.validated_by, "");
	store_authz_clear(&a);

	/* the other challenge of an invalid authz cannot be started */
	started = true;
	assert_int_equal(store_challenge_start(s, az, ids[1], &started, NULL, &p), -1);
	assert_false(started);
	assert_int_equal(authz_status(s, az), ST_INVALID);
}

static void test_challenge_abort_returns_to_pending(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1], ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
	size_t n;
	bool started;
	struct problem p = {0};
	add_account(s, 1, acct);
	add_authz(s, acct, "a.example.com", false, ST_PENDING, time(NULL) + HOUR, 1, az);
	chal_ids(s, az, ids, &n);
	assert_int_equal(store_challenge_start(s, az, ids[0], &started, NULL, &p), 0);
	store_challenge_abort(s, az, ids[0]);
	struct authz a = {0};
	assert_int_equal(store_authz_get(s, az, &a), 0);
	assert_int_equal(a.chal[0].status, ST_PENDING);
	assert_int_equal(a.status, ST_PENDING);
	store_authz_clear(&a);
	/* and can be started again */
	assert_int_equal(store_challenge_start(s, az, ids[0], &started, NULL, &p), 0);
	assert_true(started);
}

static void test_challenge_expires_cap_shortens_only(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az1[STORE_ID_LEN + 1], az2[STORE_ID_LEN + 1];
	char ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
	size_t n;
	bool started;
	struct problem p = {0};
	time_t now = time(NULL), far = now + 30 * 24 * HOUR;
	add_account(s, 1, acct);
	add_authz(s, acct, "a.example.com", false, ST_PENDING, far, 1, az1);
	add_authz(s, acct, "b.example.com", false, ST_PENDING, far, 1, az2);

	chal_ids(s, az1, ids, &n);
	assert_int_equal(store_challenge_start(s, az1, ids[0], &started, NULL, &p), 0);
	struct validation_outcome o1 = {.ok = true, .expires_cap = now + HOUR};
	assert_int_equal(store_challenge_finish(s, az1, ids[0], &o1), 0);
	chal_ids(s, az2, ids, &n);
	assert_int_equal(store_challenge_start(s, az2, ids[0], &started, NULL, &p), 0);
	struct validation_outcome o2 = {.ok = true, .expires_cap = far + HOUR};
	assert_int_equal(store_challenge_finish(s, az2, ids[0], &o2), 0);

	struct authz a = {0};
	assert_int_equal(store_authz_get(s, az1, &a), 0);
	assert_int_equal(a.expires, now + HOUR);
	store_authz_clear(&a);
	assert_int_equal(store_authz_get(s, az2, &a), 0);
	assert_int_equal(a.expires, far);
	store_authz_clear(&a);
}

static void test_challenge_start_refused_unless_authz_pending(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	static const struct {
		const char *name;
		enum status st;
		long expires_in;
	} cases[] = {
	    {"valid authz", ST_VALID, HOUR},
	    {"invalid authz", ST_INVALID, HOUR},
	    {"deactivated authz", ST_DEACTIVATED, HOUR},
	    {"pending authz past its expiry", ST_PENDING, -1},
	    {"revoked authz", ST_REVOKED, HOUR},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char az[STORE_ID_LEN + 1], ids[STORE_MAX_CHALLENGES][STORE_ID_LEN + 1];
		size_t n;
		bool started = true;
		struct problem p = {0};
		add_authz(s, acct, "x.example.com", false, cases[i].st, now + cases[i].expires_in, 2, az);
		chal_ids(s, az, ids, &n);
		int rc = store_challenge_start(s, az, ids[0], &started, NULL, &p);
		if (rc != -1 || started)
			fail_msg("%s: challenge start rc %d started %d, want refused", cases[i].name, rc, started);
		assert_non_null(p.type);
		assert_true(p.status >= 400 && p.status < 500);
		struct authz a = {0};
		assert_int_equal(store_authz_get(s, az, &a), 0);
		assert_int_equal(a.chal[0].status, ST_PENDING);
		store_authz_clear(&a);
	}
}

static void test_challenge_unknown_is_404(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1];
	bool started = true;
	struct problem p = {0};
	add_account(s, 1, acct);
	add_authz(s, acct, "a.example.com", false, ST_PENDING, time(NULL) + HOUR, 1, az);
	assert_int_equal(store_challenge_start(s, az, "0000000000000000", &started, NULL, &p), -1);
	assert_false(started);
	assert_int_equal(p.status, 404);
	assert_int_equal(store_challenge_start(s, "0000000000000000", "0000000000000000", &started, NULL, &p), -1);
	assert_int_equal(p.status, 404);
	struct validation_outcome ok = {.ok = true};
	assert_int_equal(store_challenge_finish(s, az, "0000000000000000", &ok), -1);
	store_challenge_abort(s, "0000000000000000", "0000000000000000"); /* no crash */
}

static void test_authz_expiry_is_applied_when_read(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1];
	time_t past = time(NULL) - 1;
	add_account(s, 1, acct);
	static const struct {
		enum status stored, seen;
	} cases[] = {
	    {ST_PENDING, ST_EXPIRED},
	    {ST_VALID, ST_EXPIRED},
	    {ST_INVALID, ST_INVALID},
	    {ST_DEACTIVATED, ST_DEACTIVATED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		add_authz(s, acct, "a.example.com", false, cases[i].stored, past, 1, az);
		if (authz_status(s, az) != cases[i].seen)
			fail_msg("stored %s past expiry reads as %s, want %s", store_status_name(cases[i].stored),
			         store_status_name(authz_status(s, az)), store_status_name(cases[i].seen));
	}
}

/* RFC 8555 §7.5.2 */
static void test_authz_deactivation_rules(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	static const struct {
		const char *name;
		enum status st;
		long expires_in;
		bool allowed;
	} cases[] = {
	    {"pending → deactivated", ST_PENDING, HOUR, true},
	    {"valid → deactivated", ST_VALID, HOUR, true},
	    {"invalid stays invalid", ST_INVALID, HOUR, false},
	    {"deactivated cannot be deactivated again", ST_DEACTIVATED, HOUR, false},
	    {"expired (pending past expiry) stays expired", ST_PENDING, -1, false},
	    {"expired (valid past expiry) stays expired", ST_VALID, -1, false},
	    {"revoked stays revoked", ST_REVOKED, HOUR, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char az[STORE_ID_LEN + 1];
		struct problem p = {0};
		add_authz(s, acct, "a.example.com", false, cases[i].st, now + cases[i].expires_in, 1, az);
		enum status before = authz_status(s, az);
		int rc = store_authz_deactivate(s, az, &p);
		if ((rc == 0) != cases[i].allowed)
			fail_msg("%s: rc %d", cases[i].name, rc);
		enum status after = authz_status(s, az);
		if (cases[i].allowed) {
			assert_int_equal(after, ST_DEACTIVATED);
		} else {
			if (after != before)
				fail_msg("%s: refused but changed %s → %s", cases[i].name, store_status_name(before),
				         store_status_name(after));
			assert_non_null(p.type);
			assert_int_equal(p.status, 400);
		}
	}
	struct problem p = {0};
	assert_int_equal(store_authz_deactivate(s, "0000000000000000", &p), -1);
	assert_int_equal(p.status, 404);
}

struct accept_ctx {
	int calls;
	bool answer;
};

static bool accept_cb(const struct authz *a, time_t now, void *vctx)
{
	struct accept_ctx *c = vctx;
	c->calls++;
	return c->answer;
}

static void test_find_valid_matches_account_identifier_and_wildcard(void **state)
{
	struct store *s = *state;
	char a1[STORE_ID_LEN + 1], a2[STORE_ID_LEN + 1], out[STORE_ID_LEN + 1];
	char valid[STORE_ID_LEN + 1], wild[STORE_ID_LEN + 1], z[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, a1);
	add_account(s, 2, a2);
	add_authz(s, a1, "a.example.com", false, ST_VALID, now + HOUR, 1, valid);
	add_authz(s, a1, "a.example.com", true, ST_VALID, now + HOUR, 1, wild);
	add_authz(s, a1, "p.example.com", false, ST_PENDING, now + HOUR, 1, z);
	add_authz(s, a1, "e.example.com", false, ST_VALID, now - 1, 1, z);
	add_authz(s, a1, "d.example.com", false, ST_DEACTIVATED, now + HOUR, 1, z);
	add_authz(s, a1, "i.example.com", false, ST_INVALID, now + HOUR, 1, z);
	static const struct {
		const char *name;
		int account;
		const char *type, *value;
		bool wildcard;
		const char *want; /* "valid", "wild" or NULL */
	} cases[] = {
	    {"same account, name, not wildcard", 1, "dns", "a.example.com", false, "valid"},
	    {"same account, wildcard", 1, "dns", "a.example.com", true, "wild"},
	    {"another account", 2, "dns", "a.example.com", false, NULL},
	    {"another name", 1, "dns", "b.example.com", false, NULL},
	    {"another identifier type", 1, "ip", "a.example.com", false, NULL},
	    {"pending is not reusable", 1, "dns", "p.example.com", false, NULL},
	    {"expired is not reusable", 1, "dns", "e.example.com", false, NULL},
	    {"deactivated is not reusable", 1, "dns", "d.example.com", false, NULL},
	    {"invalid is not reusable", 1, "dns", "i.example.com", false, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct identifier id = {0};
		snprintf(id.type, sizeof id.type, "%s", cases[i].type);
		snprintf(id.value, sizeof id.value, "%s", cases[i].value);
		memset(out, 0, sizeof out);
		int rc = store_authz_find_valid(s, cases[i].account == 1 ? a1 : a2, &id, cases[i].wildcard, now,
		                                NULL, NULL, out);
		if (!cases[i].want) {
			if (rc != -1)
				fail_msg("%s: found %s", cases[i].name, out);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: not found", cases[i].name);
		assert_string_equal(out, strcmp(cases[i].want, "valid") == 0 ? valid : wild);
	}
}

static void test_find_valid_asks_accept_and_prefers_newest(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], old_id[STORE_ID_LEN + 1], new_id[STORE_ID_LEN + 1], out[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	/* two valid authzs for the same name, the second validated later */
	add_authz(s, acct, "a.example.com", false, ST_PENDING, now + HOUR, 1, old_id);
	validate(s, old_id, true);
	add_authz(s, acct, "a.example.com", false, ST_PENDING, now + HOUR, 1, new_id);
	validate(s, new_id, true);
	struct identifier id = {"dns", "a.example.com"};
	struct accept_ctx no = {0, false}, yes = {0, true};
	assert_int_equal(store_authz_find_valid(s, acct, &id, false, now, accept_cb, &no, out), -1);
	assert_int_equal(no.calls, 2); /* asked about each candidate */
	assert_int_equal(store_authz_find_valid(s, acct, &id, false, now, accept_cb, &yes, out), 0);
	assert_int_equal(yes.calls, 2);
	assert_true(strcmp(out, old_id) == 0 || strcmp(out, new_id) == 0);

	/* with distinct validation times the most recent wins */
	char later[STORE_ID_LEN + 1];
	struct authz in = {0};
	snprintf(in.account_id, sizeof in.account_id, "%s", acct);
	snprintf(in.ident.type, sizeof in.ident.type, "dns");
	snprintf(in.ident.value, sizeof in.ident.value, "a.example.com");
	in.status = ST_VALID;
	in.expires = now + HOUR;
	in.validated_at = now + 100;
	snprintf(in.validated_by, sizeof in.validated_by, "dns-01");
	store_authz_add(s, &in);
	memcpy(later, in.id, sizeof later);
	assert_int_equal(store_authz_find_valid(s, acct, &id, false, now, NULL, NULL, out), 0);
	assert_string_equal(out, later);
}

/* ---- orders ---- */

/* RFC 8555 §7.1.6: an order's status follows its authorizations. */
static void test_order_status_follows_authorizations(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	static const struct {
		const char *name;
		enum status a, b;
		long b_expires_in;
		enum status want;
	} cases[] = {
	    {"all pending → pending", ST_PENDING, ST_PENDING, HOUR, ST_PENDING},
	    {"one valid, one pending → pending", ST_VALID, ST_PENDING, HOUR, ST_PENDING},
	    {"all valid → ready", ST_VALID, ST_VALID, HOUR, ST_READY},
	    {"one invalid → invalid", ST_VALID, ST_INVALID, HOUR, ST_INVALID},
	    {"one deactivated → invalid", ST_PENDING, ST_DEACTIVATED, HOUR, ST_INVALID},
	    {"one expired → invalid", ST_VALID, ST_VALID, -1, ST_INVALID},
	    {"one revoked → invalid", ST_VALID, ST_REVOKED, HOUR, ST_INVALID},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char az[2][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
		add_authz(s, acct, "n0.example.com", false, cases[i].a, now + HOUR, 1, az[0]);
		add_authz(s, acct, "n1.example.com", false, cases[i].b, now + cases[i].b_expires_in, 1, az[1]);
		add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 2, now + HOUR, oid);
		struct order_view o = {0};
		enum status st = order_status(s, oid, &o);
		if (st != cases[i].want)
			fail_msg("%s: got %s", cases[i].name, store_status_name(st));
		if (st == ST_INVALID) {
			/* the order says why */
			assert_non_null(o.err_type);
			assert_true(o.err_detail[0] != '\0');
			assert_non_null(strstr(o.err_detail, "n1.example.com"));
		} else {
			assert_null(o.err_type);
		}
	}
}

static void test_order_becomes_ready_when_last_authz_validates(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[2][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	add_authz(s, acct, "n0.example.com", false, ST_PENDING, now + HOUR, 2, az[0]);
	add_authz(s, acct, "n1.example.com", false, ST_PENDING, now + HOUR, 2, az[1]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 2, now + HOUR, oid);
	assert_int_equal(order_status(s, oid, NULL), ST_PENDING);
	validate(s, az[0], true);
	assert_int_equal(order_status(s, oid, NULL), ST_PENDING);
	validate(s, az[1], true);
	assert_int_equal(order_status(s, oid, NULL), ST_READY);
	/* ready is stable on re-read */
	assert_int_equal(order_status(s, oid, NULL), ST_READY);
}

static void test_order_invalid_when_a_challenge_fails(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[2][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	add_authz(s, acct, "n0.example.com", false, ST_PENDING, now + HOUR, 1, az[0]);
	add_authz(s, acct, "n1.example.com", false, ST_PENDING, now + HOUR, 1, az[1]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 2, now + HOUR, oid);
	validate(s, az[0], true);
	validate(s, az[1], false);
	struct order_view o = {0};
	assert_int_equal(order_status(s, oid, &o), ST_INVALID);
	assert_non_null(o.err_type);
	/* invalid is final: nothing brings it back */
	struct problem p = {0};
	assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
	assert_string_equal(p.type, PROB_ORDER_NOT_READY);
	assert_int_equal(order_status(s, oid, NULL), ST_INVALID);
}

static void test_order_expiry(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[1][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	static const enum status authz_st[] = {ST_PENDING, ST_VALID};
	for (size_t i = 0; i < 2; i++) {
		add_authz(s, acct, "n0.example.com", false, authz_st[i], now + HOUR, 1, az[0]);
		add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 1, now - 1, oid);
		struct order_view o = {0};
		if (order_status(s, oid, &o) != ST_INVALID)
			fail_msg("an expired %s order is %s, want invalid",
			         authz_st[i] == ST_PENDING ? "pending" : "ready", store_status_name(o.status));
		assert_non_null(o.err_type);
		struct problem p = {0};
		assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
		assert_string_equal(p.type, PROB_ORDER_NOT_READY);
		assert_int_equal(p.status, 403);
	}
}

/* RFC 8555 §7.4: finalize only from ready; then processing → valid or invalid. */
static void test_begin_finalize_only_from_ready(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[1][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	struct problem p = {0};
	add_account(s, 1, acct);

	/* pending */
	add_authz(s, acct, "n0.example.com", false, ST_PENDING, now + HOUR, 1, az[0]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 1, now + HOUR, oid);
	assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
	assert_string_equal(p.type, PROB_ORDER_NOT_READY);
	assert_int_equal(p.status, 403);
	assert_non_null(strstr(p.detail, "pending"));
	assert_int_equal(order_status(s, oid, NULL), ST_PENDING);

	/* ready → processing, once */
	validate(s, az[0], true);
	assert_int_equal(order_status(s, oid, NULL), ST_READY);
	assert_int_equal(store_order_begin_finalize(s, oid, &p), 0);
	assert_int_equal(order_status(s, oid, NULL), ST_PROCESSING);
	assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
	assert_string_equal(p.type, PROB_ORDER_NOT_READY);
	assert_int_equal(order_status(s, oid, NULL), ST_PROCESSING);

	/* processing → valid with the certificate */
	assert_int_equal(store_order_finish(s, oid, "c0ffee0000000000", NULL), 0);
	struct order_view o = {0};
	assert_int_equal(order_status(s, oid, &o), ST_VALID);
	assert_string_equal(o.cert_id, "c0ffee0000000000");
	assert_null(o.err_type);
	/* valid is final */
	assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
	assert_string_equal(p.type, PROB_ORDER_NOT_READY);
	problem_set(&p, PROB_SERVER_INTERNAL, 500, "late failure");
	store_order_finish(s, oid, NULL, &p);
	assert_int_equal(order_status(s, oid, &o), ST_VALID);
	assert_string_equal(o.cert_id, "c0ffee0000000000");

	assert_int_equal(store_order_begin_finalize(s, "0000000000000000", &p), -1);
	assert_int_equal(p.status, 404);
	assert_int_equal(store_order_finish(s, "0000000000000000", "x", NULL), -1);
}

static void test_order_finish_invalid_keeps_the_problem(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[1][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	struct problem p = {0};
	add_account(s, 1, acct);
	add_authz(s, acct, "n0.example.com", false, ST_VALID, now + HOUR, 1, az[0]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 1, now + HOUR, oid);
	/* finish before begin_finalize does nothing */
	problem_set(&p, PROB_SERVER_INTERNAL, 500, "too early");
	assert_int_equal(store_order_finish(s, oid, NULL, &p), 0);
	assert_int_equal(order_status(s, oid, NULL), ST_READY);

	assert_int_equal(store_order_begin_finalize(s, oid, &p), 0);
	problem_set(&p, PROB_SERVER_INTERNAL, 500, "signing failed");
	assert_int_equal(store_order_finish(s, oid, NULL, &p), 0);
	struct order_view o = {0};
	assert_int_equal(order_status(s, oid, &o), ST_INVALID);
	assert_string_equal(o.err_type, PROB_SERVER_INTERNAL);
	assert_int_equal(o.err_status, 500);
	assert_string_equal(o.err_detail, "signing failed");
	assert_string_equal(o.cert_id, "");
}

static void test_begin_finalize_refuses_when_an_authz_expired_after_ready(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[1][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	struct problem p = {0};
	add_account(s, 1, acct);
	add_authz(s, acct, "n0.example.com", false, ST_VALID, now + 1, 1, az[0]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 1, now + HOUR, oid);
	assert_int_equal(order_status(s, oid, NULL), ST_READY);
	sleep(2);
	/* §7.1.6: an order whose authorization expired is invalid, also when read */
	struct order_view r = {0};
	enum status seen = order_status(s, oid, &r);
	if (seen != ST_INVALID)
		fail_msg("a ready order whose authorization expired reads as %s, want invalid",
		         store_status_name(seen));
	assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
	assert_string_equal(p.type, PROB_ORDER_NOT_READY);
	assert_int_equal(p.status, 403);
	struct order_view o = {0};
	assert_int_equal(order_status(s, oid, &o), ST_INVALID);
	assert_non_null(o.err_type);
}

/* RFC 8555 §7.1.6: "The order also moves to the invalid state if ... one of its authorizations
 * enters a final state other than valid" — also after the order became ready. */
static void test_ready_order_invalid_when_an_authz_is_deactivated(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[2][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1];
	time_t now = time(NULL);
	struct problem p = {0};
	add_account(s, 1, acct);
	add_authz(s, acct, "n0.example.com", false, ST_VALID, now + HOUR, 1, az[0]);
	add_authz(s, acct, "n1.example.com", false, ST_VALID, now + HOUR, 1, az[1]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 2, now + HOUR, oid);
	assert_int_equal(order_status(s, oid, NULL), ST_READY);
	assert_int_equal(store_authz_deactivate(s, az[1], &p), 0);
	struct order_view o = {0};
	enum status st = order_status(s, oid, &o);
	if (st != ST_INVALID)
		fail_msg("a ready order whose authorization was deactivated reads as %s, want invalid",
		         store_status_name(st));
	assert_non_null(o.err_type);
	assert_int_equal(store_order_begin_finalize(s, oid, &p), -1);
	assert_string_equal(p.type, PROB_ORDER_NOT_READY);
}

/* RFC 8555 §7.1.2.1: the orders list, newest first, in pages. */
static void test_orders_list_pages_newest_first(void **state)
{
	struct store *s = *state;
	enum { N = 120, PAGE = 50 };
	char acct[STORE_ID_LEN + 1], other[STORE_ID_LEN + 1], az[1][STORE_ID_LEN + 1];
	char made[N][STORE_ID_LEN + 1], ids[PAGE][STORE_ID_LEN + 1];
	time_t now = time(NULL);
	add_account(s, 1, acct);
	add_account(s, 2, other);
	add_authz(s, acct, "n0.example.com", false, ST_PENDING, now + HOUR, 1, az[0]);
	for (int i = 0; i < N; i++) {
		add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 1, now + HOUR, made[i]);
		if (i % 10 == 0) { /* orders of another account do not show up */
			char x[STORE_ID_LEN + 1];
			add_order(s, other, (const char(*)[STORE_ID_LEN + 1])az, 1, now + HOUR, x);
		}
	}
	static const struct {
		size_t offset, want;
	} pages[] = {{0, PAGE}, {PAGE, PAGE}, {2 * PAGE, N - 2 * PAGE}, {N, 0}, {N + 1000, 0}};
	for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
		size_t total = 0;
		size_t n = store_account_orders(s, acct, pages[p].offset, PAGE, ids, &total);
		assert_int_equal(total, N);
		if (n != pages[p].want)
			fail_msg("offset %zu: %zu orders, want %zu", pages[p].offset, n, pages[p].want);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(ids[i], made[N - 1 - pages[p].offset - i]);
	}
	size_t total = 99;
	assert_int_equal(store_account_orders(s, other, 0, PAGE, ids, &total), 12);
	assert_int_equal(total, 12);
	assert_int_equal(store_account_orders(s, "0000000000000000", 0, PAGE, ids, &total), 0);
	assert_int_equal(total, 0);
}

/* ---- certificates ---- */

static void test_serial_normalisation(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"0A:1b", "a1b"},
	    {"a1b", "a1b"},
	    {"00:0A:1B", "a1b"},
	    {"DEADBEEF", "deadbeef"},
	    {"de:ad:be:ef", "deadbeef"},
	    {"0", "0"},
	    {"00", "0"},
	    {"", "0"},
	    {"10", "10"},
	    {"0100", "100"},
	    {"1111111111222222222233333333334444444444", "1111111111222222222233333333334444444444"},
	    {"11111111112222222222333333333344444444445555", "1111111111222222222233333333334444444444"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[41];
		store_serial_norm(cases[i].in, out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("store_serial_norm(\"%s\") = \"%s\", want \"%s\"", cases[i].in, out, cases[i].want);
	}
	/* in place, as store_cert_add does */
	char buf[41] = "0A:1b";
	store_serial_norm(buf, buf);
	assert_string_equal(buf, "a1b");
}

static void add_cert(struct store *s, const char *serial, const char *acct, char id[STORE_ID_LEN + 1])
{
	struct cert c = {0};
	char *chains[2] = {"-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n",
	                   "-----BEGIN CERTIFICATE-----\nalt\n-----END CERTIFICATE-----\n"};
	snprintf(c.serial, sizeof c.serial, "%s", serial);
	snprintf(c.account_id, sizeof c.account_id, "%s", acct);
	snprintf(c.order_id, sizeof c.order_id, "0123456789abcdef");
	c.chains = chains;
	c.nchains = 2;
	c.not_before = 1000;
	c.not_after = 2000;
	c.issued = 1500;
	store_cert_add(s, &c);
	assert_int_equal(strlen(c.id), STORE_ID_LEN);
	memcpy(id, c.id, STORE_ID_LEN + 1);
}

static void test_cert_add_get_and_by_serial(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], id[STORE_ID_LEN + 1];
	add_account(s, 1, acct);
	add_cert(s, "0A:1b", acct, id);

	struct cert c = {0};
	assert_int_equal(store_cert_get(s, id, &c), 0);
	assert_string_equal(c.serial, "a1b");
	assert_string_equal(c.account_id, acct);
	assert_int_equal(c.nchains, 2);
	assert_non_null(strstr(c.chains[0], "leaf"));
	assert_non_null(strstr(c.chains[1], "alt"));
	assert_false(c.revoked);
	store_cert_clear(&c);

	static const char *const spellings[] = {"a1b", "A1B", "0a1b", "0A:1B", "00:0a:1b"};
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		if (store_cert_by_serial(s, spellings[i], &c) != 0)
			fail_msg("serial \"%s\" not found", spellings[i]);
		assert_string_equal(c.id, id);
		store_cert_clear(&c);
	}
	assert_int_equal(store_cert_by_serial(s, "a1c", &c), -1);
	assert_int_equal(store_cert_get(s, "0000000000000000", &c), -1);
}

/* RFC 8555 §7.6 */
static void test_revoke_then_already_revoked(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], id[STORE_ID_LEN + 1], id2[STORE_ID_LEN + 1];
	struct problem p = {0};
	add_account(s, 1, acct);
	add_cert(s, "0A:1b", acct, id);
	add_cert(s, "ff", acct, id2);
	time_t before = time(NULL);
	assert_int_equal(store_cert_revoke(s, "0a:1B", 4, &p), 0);
	struct cert c = {0};
	assert_int_equal(store_cert_get(s, id, &c), 0);
	assert_true(c.revoked);
	assert_int_equal(c.reason, 4);
	assert_true(c.revoked_at >= before);
	store_cert_clear(&c);

	assert_int_equal(store_cert_revoke(s, "a1b", 1, &p), -1);
	assert_string_equal(p.type, PROB_ALREADY_REVOKED);
	assert_int_equal(p.status, 400);
	assert_int_equal(store_cert_get(s, id, &c), 0);
	assert_int_equal(c.reason, 4); /* the second request changed nothing */
	store_cert_clear(&c);

	/* the other certificate is untouched */
	assert_int_equal(store_cert_get(s, id2, &c), 0);
	assert_false(c.revoked);
	store_cert_clear(&c);

	assert_int_equal(store_cert_revoke(s, "abcdef", 0, &p), -2);
}

static void test_counts(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[1][STORE_ID_LEN + 1], oid[STORE_ID_LEN + 1], cid[STORE_ID_LEN + 1];
	add_account(s, 1, acct);
	add_account(s, 2, acct);
	add_authz(s, acct, "n0.example.com", false, ST_PENDING, time(NULL) + HOUR, 1, az[0]);
	add_order(s, acct, (const char(*)[STORE_ID_LEN + 1])az, 1, time(NULL) + HOUR, oid);
	add_cert(s, "01", acct, cid);
	size_t na, no, nz, nc;
	store_counts(s, &na, &no, &nz, &nc);
	assert_int_equal(na, 2);
	assert_int_equal(no, 1);
	assert_int_equal(nz, 1);
	assert_int_equal(nc, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_names_are_rfc8555_words),
	    cmocka_unit_test(test_free_and_clear_null_are_noops),
	    T(test_account_add_get_and_lookup_by_key),
	    T(test_account_duplicate_key_returns_existing_id),
	    T(test_account_update_contacts_and_deactivate),
	    T(test_rekey_moves_the_key_and_keeps_history_newest_first),
	    T(test_rekey_history_is_bounded),
	    T(test_rekey_refusals_change_nothing),
	    T(test_challenge_success_makes_authz_valid),
	    T(test_challenge_passing_after_deactivation_is_not_valid),
	    T(test_challenge_failure_makes_authz_invalid),
	    T(test_challenge_abort_returns_to_pending),
	    T(test_challenge_expires_cap_shortens_only),
	    T(test_challenge_start_refused_unless_authz_pending),
	    T(test_challenge_unknown_is_404),
	    T(test_authz_expiry_is_applied_when_read),
	    T(test_authz_deactivation_rules),
	    T(test_find_valid_matches_account_identifier_and_wildcard),
	    T(test_find_valid_asks_accept_and_prefers_newest),
	    T(test_order_status_follows_authorizations),
	    T(test_order_becomes_ready_when_last_authz_validates),
	    T(test_order_invalid_when_a_challenge_fails),
	    T(test_order_expiry),
	    T(test_begin_finalize_only_from_ready),
	    T(test_order_finish_invalid_keeps_the_problem),
	    T(test_begin_finalize_refuses_when_an_authz_expired_after_ready),
	    T(test_ready_order_invalid_when_an_authz_is_deactivated),
	    T(test_orders_list_pages_newest_first),
	    T(test_serial_normalisation),
	    T(test_cert_add_get_and_by_serial),
	    T(test_revoke_then_already_revoked),
	    T(test_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
