/* test_store_retain: server/store_retain.c — past the cap on orders the oldest finished orders
 * go, with their authorizations (unless another order shares one), certificate, serial index and
 * place in the account's orders list; unfinished orders are never dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/store.h"

#define HOUR 3600

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

static void add_account(struct store *s, char id[STORE_ID_LEN + 1])
{
	struct account a = {0};
	char existing[STORE_ID_LEN + 1] = "";
	a.jwk = "{\"kty\":\"test\"}";
	snprintf(a.thumbprints[0], sizeof a.thumbprints[0], "%043d", 7);
	a.nthumbprints = 1;
	a.created = time(NULL);
	assert_int_equal(store_account_add(s, &a, id, existing), 0);
}

static void add_valid_authz(struct store *s, const char *acct, const char *name, char id[STORE_ID_LEN + 1])
{
	struct authz a = {0};
	snprintf(a.account_id, sizeof a.account_id, "%s", acct);
	snprintf(a.ident.type, sizeof a.ident.type, "dns");
	snprintf(a.ident.value, sizeof a.ident.value, "%s", name);
	a.status = ST_VALID;
	a.expires = time(NULL) + HOUR;
	snprintf(a.validated_by, sizeof a.validated_by, "http-01");
	a.validated_at = time(NULL);
	store_authz_add(s, &a);
	memcpy(id, a.id, STORE_ID_LEN + 1);
}

static void add_order(struct store *s, const char *acct, const char *authz_id, char id[STORE_ID_LEN + 1])
{
	struct order o = {0};
	snprintf(o.account_id, sizeof o.account_id, "%s", acct);
	o.status = ST_PENDING;
	o.created = time(NULL);
	o.expires = time(NULL) + HOUR;
	o.nidents = 1;
	o.idents = calloc(1, sizeof *o.idents);
	o.authz_ids = calloc(1, sizeof *o.authz_ids);
	snprintf(o.idents[0].type, sizeof o.idents[0].type, "dns");
	snprintf(o.idents[0].value, sizeof o.idents[0].value, "x.example.com");
	memcpy(o.authz_ids[0], authz_id, STORE_ID_LEN + 1);
	store_order_add(s, &o);
	memcpy(id, o.id, STORE_ID_LEN + 1);
	store_order_clear(&o);
}

/* ready → processing → valid with a certificate whose serial is serial. */
static void issue(struct store *s, const char *acct, const char *order_id, const char *serial,
                  char cert_id[STORE_ID_LEN + 1])
{
	struct problem p = {0};
	assert_int_equal(store_order_begin_finalize(s, order_id, &p), 0);
	struct cert c = {0};
	char pem[] = "-----BEGIN CERTIFICATE-----\n", *chains[] = {pem};
	snprintf(c.serial, sizeof c.serial, "%s", serial);
	snprintf(c.account_id, sizeof c.account_id, "%s", acct);
	snprintf(c.order_id, sizeof c.order_id, "%s", order_id);
	c.chains = chains;
	c.nchains = 1;
	store_cert_add(s, &c);
	memcpy(cert_id, c.id, STORE_ID_LEN + 1);
	assert_int_equal(store_order_finish(s, order_id, c.id, NULL), 0);
}

static bool order_exists(struct store *s, const char *id)
{
	struct order o = {0};
	int rc = store_order_get(s, id, &o);
	store_order_clear(&o);
	return rc == 0;
}

static bool authz_exists(struct store *s, const char *id)
{
	struct authz a = {0};
	int rc = store_authz_get(s, id, &a);
	store_authz_clear(&a);
	return rc == 0;
}

static bool cert_exists(struct store *s, const char *id, const char *serial)
{
	struct cert c = {0}, d = {0};
	int rc = store_cert_get(s, id, &c), rs = store_cert_by_serial(s, serial, &d);
	store_cert_clear(&c);
	store_cert_clear(&d);
	assert_int_equal(rc, rs); /* the serial index goes with the certificate */
	return rc == 0;
}

static void test_oldest_finished_orders_go_with_what_only_they_hold(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[6][STORE_ID_LEN + 1], ord[6][STORE_ID_LEN + 1], crt[6][STORE_ID_LEN + 1];
	char serial[6][8];
	add_account(s, acct);
	store_set_max_orders(s, 3);
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof name, "n%d.example.com", i);
		snprintf(serial[i], sizeof serial[i], "%02x", 0x10 + i);
		add_valid_authz(s, acct, name, az[i]);
		add_order(s, acct, az[i], ord[i]);
		issue(s, acct, ord[i], serial[i], crt[i]);
	}
	/* order 3's addition found 4 orders; order 4's and 5's likewise: 0, 1, 2 went */
	for (int i = 0; i < 6; i++) {
		bool kept = i >= 3;
		if (order_exists(s, ord[i]) != kept || authz_exists(s, az[i]) != kept ||
		    cert_exists(s, crt[i], serial[i]) != kept)
			fail_msg("order %d: expected it %s with its authorization and certificate", i,
			         kept ? "kept" : "dropped");
	}
	char ids[8][STORE_ID_LEN + 1];
	size_t total = 0;
	assert_int_equal(store_account_orders(s, acct, 0, 8, ids, &total), 3);
	assert_int_equal(total, 3);
	for (int i = 3; i < 6; i++) {
		bool listed = false;
		for (int k = 0; k < 3; k++)
			listed |= strcmp(ids[k], ord[i]) == 0;
		if (!listed)
			fail_msg("order %d is not in the account's orders list", i);
	}
	assert_int_equal(store_orders_dropped(s), 3);
	size_t na, no, nz, nc;
	store_counts(s, &na, &no, &nz, &nc);
	assert_int_equal(no, 3);
	assert_int_equal(nz, 3);
	assert_int_equal(nc, 3);
}

static void test_unfinished_orders_are_never_dropped(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1], ord[5][STORE_ID_LEN + 1];
	add_account(s, acct);
	store_set_max_orders(s, 2);
	add_valid_authz(s, acct, "a.example.com", az);
	for (int i = 0; i < 5; i++)
		add_order(s, acct, az, ord[i]); /* ready: all share one valid authorization */
	for (int i = 0; i < 5; i++)
		assert_true(order_exists(s, ord[i]));
	assert_int_equal(store_orders_dropped(s), 0);
}

static void test_a_shared_authorization_stays_while_an_order_holds_it(void **state)
{
	struct store *s = *state;
	char acct[STORE_ID_LEN + 1], az[STORE_ID_LEN + 1], az2[STORE_ID_LEN + 1], a[STORE_ID_LEN + 1],
	    b[STORE_ID_LEN + 1], c[STORE_ID_LEN + 1], crt[STORE_ID_LEN + 1];
	add_account(s, acct);
	store_set_max_orders(s, 2);
	add_valid_authz(s, acct, "shared.example.com", az);
	add_order(s, acct, az, a);
	issue(s, acct, a, "aa", crt);
	add_order(s, acct, az, b); /* reuse: b lists the same authorization, stays unfinished */
	add_valid_authz(s, acct, "other.example.com", az2);
	add_order(s, acct, az2, c); /* three orders: a, finished, goes */
	assert_false(order_exists(s, a));
	assert_true(order_exists(s, b));
	assert_true(authz_exists(s, az));
	char found[STORE_ID_LEN + 1] = "";
	struct identifier id = {.type = "dns", .value = "shared.example.com"};
	assert_int_equal(store_authz_find_valid(s, acct, &id, false, time(NULL), NULL, NULL, found), 0);
	assert_string_equal(found, az); /* still offered for reuse */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_oldest_finished_orders_go_with_what_only_they_hold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unfinished_orders_are_never_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_shared_authorization_stays_while_an_order_holds_it, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_retain", tests, NULL, NULL);
}
