/* test_issuer: finalize's rules (RFC 8555 §7.4 CSR names, the validity window, profiles) and the
 * signing pool: a full queue refuses with rateLimited and signs nothing on the caller's thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "server/config.h"
#include "server/issuer.h"
#include "server/server.h"
#include "server/store.h"

#define ACCOUNT "00000000000000aa"
#define ACCOUNT_URL "https://acme.test/acme/acct/1"

struct fixture {
	struct config cfg;
	struct server srv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	config_defaults(&f->cfg);
	f->srv.cfg = &f->cfg;
	f->srv.store = store_new();
	f->srv.ca = ca_new(&f->cfg.ca);
	assert_non_null(f->srv.ca);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->srv.store);
	ca_free(f->srv.ca);
	config_clear(&f->cfg);
	free(f);
	return 0;
}

/* An order for one name whose authorization is valid, moved to processing as finalize does. */
static void processing_order(struct store *s, const char *name, struct order *out)
{
	time_t now = time(NULL);
	struct authz a = {0};
	snprintf(a.account_id, sizeof a.account_id, ACCOUNT);
	snprintf(a.ident.type, sizeof a.ident.type, "dns");
	snprintf(a.ident.value, sizeof a.ident.value, "%s", name);
	a.status = ST_VALID;
	a.expires = now + 3600;
	store_authz_add(s, &a);
	struct identifier id = a.ident;
	char authz_id[STORE_ID_LEN + 1];
	memcpy(authz_id, a.id, sizeof authz_id);
	struct order o = {0};
	snprintf(o.account_id, sizeof o.account_id, ACCOUNT);
	o.status = ST_PENDING;
	o.created = now;
	o.expires = now + 3600;
	o.idents = &id;
	o.authz_ids = &authz_id;
	o.nidents = 1;
	store_order_add(s, &o);
	struct problem p;
	assert_int_equal(store_order_begin_finalize(s, o.id, &p), 0);
	assert_int_equal(store_order_get(s, o.id, out), 0);
	assert_int_equal(out->status, ST_PROCESSING);
}

static enum status order_status(struct store *s, const char *id, char cert_id[STORE_ID_LEN + 1])
{
	struct order o = {0};
	assert_int_equal(store_order_get(s, id, &o), 0);
	enum status st = o.status;
	memcpy(cert_id, o.cert_id, STORE_ID_LEN + 1);
	store_order_clear(&o);
	return st;
}

/* The queue holds one job and one thread signs: a burst of finalizes overflows it. Every refused
 * one is answered rateLimited (429), is ready again and got no certificate (nothing was signed
 * on this thread); every accepted one ends valid with a certificate. */
static void full_queue_refuses_with_rate_limited(void **state)
{
	struct fixture *f = *state;
	struct issuer *is = issuer_new(&f->srv, 1, 1);
	assert_non_null(is);
	EVP_PKEY *key = EVP_EC_gen("P-256");
	assert_non_null(key);
	enum { BURST = 400 };
	static char accepted[BURST][STORE_ID_LEN + 1];
	size_t naccepted = 0, nrefused = 0;
	for (int i = 0; i < BURST && nrefused < 3; i++) {
		char name[64];
		snprintf(name, sizeof name, "n%d.example.com", i);
		struct order o = {0};
		processing_order(f->srv.store, name, &o);
		EVP_PKEY_up_ref(key);
		EVP_PKEY *pub = key;
		struct problem p;
		if (issuer_submit(is, &o, ACCOUNT_URL, &pub, &p) == 0) {
			assert_null(pub); /* the job owns it now */
			memcpy(accepted[naccepted++], o.id, STORE_ID_LEN + 1);
		} else {
			nrefused++;
			assert_ptr_equal(pub, key); /* still ours */
			EVP_PKEY_free(pub);
			assert_string_equal(p.type, "rateLimited");
			assert_int_equal(p.status, 429);
			assert_non_null(strstr(p.detail, "the issuance queue is full"));
			char cert_id[STORE_ID_LEN + 1];
			assert_int_equal(order_status(f->srv.store, o.id, cert_id), ST_READY);
			assert_string_equal(cert_id, "");
		}
		store_order_clear(&o);
	}
	assert_true(nrefused > 0);
	assert_true(naccepted > 0);
	issuer_free(is); /* finishes what was queued */
	for (size_t i = 0; i < naccepted; i++) {
		char cert_id[STORE_ID_LEN + 1];
		assert_int_equal(order_status(f->srv.store, accepted[i], cert_id), ST_VALID);
		assert_int_equal(strlen(cert_id), STORE_ID_LEN);
	}
	EVP_PKEY_free(key);
}

/* The profile's validity gives notAfter when the client asked for none. */
static void profile_validity_sets_not_after(void **state)
{
	struct fixture *f = *state;
	struct issuer *is = issuer_new(&f->srv, 1, 8);
	EVP_PKEY *pub = EVP_EC_gen("P-256");
	struct order o = {0};
	processing_order(f->srv.store, "profile.example.com", &o);
	struct problem p;
	time_t before = time(NULL);
	assert_int_equal(issuer_submit(is, &o, ACCOUNT_URL, &pub, &p), 0);
	issuer_free(is);
	char cert_id[STORE_ID_LEN + 1];
	assert_int_equal(order_status(f->srv.store, o.id, cert_id), ST_VALID);
	struct cert c = {0};
	assert_int_equal(store_cert_get(f->srv.store, cert_id, &c), 0);
	long lifetime = (long)(c.not_after - before);
	long want = f->cfg.profiles[0].validity_seconds;
	assert_true(lifetime >= want - 120 && lifetime <= want + 120);
	store_cert_clear(&c);
	store_order_clear(&o);
}

/* BR §3.2.2.8 (Boulder's caaRecheckDuration): a CAA check up to 7 h old is enough; older is not. */
static void caa_stale_after_seven_hours(void **state)
{
	(void)state;
	time_t now = 1800000000;
	assert_false(issuer_caa_stale(now, now));
	assert_false(issuer_caa_stale(now - 7 * 3600, now));
	assert_true(issuer_caa_stale(now - 7 * 3600 - 1, now));
	assert_true(issuer_caa_stale(0, now)); /* never checked */
	assert_false(issuer_caa_stale(now + 60, now));
}

/* The recheck's stand-in: counts calls, remembers what it was asked, permits or refuses. */
struct fake_caa {
	int calls;
	bool permit;
	bool servfail; /* the lookup fails, as va_caa_lookup reports it */
	char name[256], method[24], account_url[128];
	bool wildcard;
};

static int fake_caa_check(void *ctx, const struct issuer_caa_check *c, char *said, size_t saidlen,
                          struct problem *p)
{
	struct fake_caa *f = ctx;
	f->calls++;
	snprintf(f->name, sizeof f->name, "%s", c->name);
	snprintf(f->method, sizeof f->method, "%s", c->method);
	snprintf(f->account_url, sizeof f->account_url, "%s", c->account_url);
	f->wildcard = c->wildcard;
	if (f->permit) {
		snprintf(said, saidlen, "0 issue \"cobble.test\" names this CA");
		return 0;
	}
	if (f->servfail)
		return problem_set(p, PROB_DNS, 400, "CAA lookup for %s: SERVFAIL", c->name);
	return problem_set(p, PROB_CAA, 403, "CAA at %s: 0 issue \"other.example\" names otherca", c->name);
}

/* The authorization of o's first identifier, as the store has it now. */
static time_t caa_checked_at(struct store *s, const struct order *o)
{
	struct authz a = {0};
	assert_int_equal(store_authz_get(s, o->authz_ids[0], &a), 0);
	time_t t = a.caa_checked_at;
	store_authz_clear(&a);
	return t;
}

/* Finalize an order for name whose authorization's last CAA check is age seconds old (< 0: never
 * checked), through an issuer wired to fc; returns when the job is done. */
static void finalize_with_caa_age(struct fixture *f, struct fake_caa *fc, const char *name, long age,
                                  struct order *o)
{
	struct issuer *is = issuer_new(&f->srv, 1, 8);
	issuer_set_caa(is, fake_caa_check, fc);
	processing_order(f->srv.store, name, o);
	if (age >= 0)
		store_authz_caa_checked(f->srv.store, o->authz_ids[0], util_clock() - age);
	EVP_PKEY *pub = EVP_EC_gen("P-256");
	struct problem p;
	assert_int_equal(issuer_submit(is, o, ACCOUNT_URL, &pub, &p), 0);
	issuer_free(is); /* waits for the job */
}

/* An order whose authorization's CAA check is 8 h old: the recheck refuses (or its lookup fails),
 * and the order is invalid with caa naming the identifier and the age; nothing is signed. */
static void stale_caa_refused_at_issuance(void **state)
{
	struct fixture *f = *state;
	struct fake_caa fc = {.permit = false};
	struct order o = {0};
	finalize_with_caa_age(f, &fc, "stale.example.com", 8 * 3600 + 30, &o);
	assert_int_equal(fc.calls, 1);
	assert_string_equal(fc.name, "stale.example.com");
	assert_string_equal(fc.account_url, ACCOUNT_URL);
	struct order got = {0};
	assert_int_equal(store_order_get(f->srv.store, o.id, &got), 0);
	assert_int_equal(got.status, ST_INVALID);
	assert_string_equal(got.cert_id, "");
	assert_string_equal(got.error.type, PROB_CAA);
	assert_int_equal(got.error.status, 403);
	/* processing_order's authz has no validated_at: the age is that of its last CAA check */
	assert_non_null(strstr(got.error.detail, "CAA checked again at issuance for stale.example.com, because its "
	                                         "last CAA check was 8 hours old"));
	assert_non_null(strstr(got.error.detail, "0 issue \"other.example\""));
	store_order_clear(&got);
	store_order_clear(&o);

	/* RFC 8659 §3: a lookup that fails forbids issuance too, as caa */
	fc.servfail = true;
	finalize_with_caa_age(f, &fc, "servfail.example.com", 30 * 3600, &o);
	assert_int_equal(store_order_get(f->srv.store, o.id, &got), 0);
	assert_int_equal(got.status, ST_INVALID);
	assert_string_equal(got.error.type, PROB_CAA);
	assert_int_equal(got.error.status, 403);
	assert_non_null(strstr(got.error.detail, "was 30 hours old"));
	assert_non_null(strstr(got.error.detail, "CAA lookup for servfail.example.com: SERVFAIL"));
	store_order_clear(&got);
	store_order_clear(&o);
}

/* A permit signs and refreshes the time of the check; a check under 7 h old is not repeated;
 * with `caa` off nothing is checked again at all. */
static void fresh_caa_skips_and_permit_refreshes(void **state)
{
	struct fixture *f = *state;
	struct fake_caa fc = {.permit = true};
	struct order o = {0};
	char cert_id[STORE_ID_LEN + 1];
	finalize_with_caa_age(f, &fc, "fresh.example.com", 7 * 3600 - 60, &o);
	assert_int_equal(order_status(f->srv.store, o.id, cert_id), ST_VALID);
	assert_int_equal(fc.calls, 0); /* within 7 h: no recheck */
	store_order_clear(&o);

	time_t before = util_clock();
	finalize_with_caa_age(f, &fc, "old.example.com", 9 * 3600, &o);
	assert_int_equal(fc.calls, 1);
	assert_int_equal(order_status(f->srv.store, o.id, cert_id), ST_VALID);
	assert_true(caa_checked_at(f->srv.store, &o) >= before); /* refreshed by the permit */
	store_order_clear(&o);

	f->cfg.caa = false;
	finalize_with_caa_age(f, &fc, "off.example.com", -1, &o);
	assert_int_equal(fc.calls, 1); /* caa off: never checked again */
	assert_int_equal(order_status(f->srv.store, o.id, cert_id), ST_VALID);
	store_order_clear(&o);
}

/* A table case's verdict: accepted when want_detail is NULL, else -1 with that type and detail. */
static void expect(const char *rule, int rc, const struct problem *p, const char *want_type,
                   const char *want_detail)
{
	if (!want_detail) {
		if (rc != 0)
			fail_msg("%s: refused with \"%s\"", rule, p->detail);
		return;
	}
	if (rc != -1 || strcmp(p->type, want_type) != 0 || strcmp(p->detail, want_detail) != 0)
		fail_msg("%s: rc %d, got %s \"%s\"", rule, rc, rc ? p->type : "", rc ? p->detail : "");
}

struct csr_case {
	const char *rule;
	const char *order[3];
	const char *csr[4];
	const char *detail; /* NULL: accepted */
};

/* RFC 8555 §7.4: exactly the order's identifiers, no more and no fewer; duplicates are harmless. */
static void csr_names_must_equal_the_order(void **state)
{
	static const struct csr_case cases[] = {
	    {"same names", {"a.example", "b.example"}, {"b.example", "a.example"}, NULL},
	    {"a duplicate in the CSR", {"a.example"}, {"a.example", "a.example"}, NULL},
	    {"an extra name", {"a.example"}, {"a.example", "x.example"},
	     "the CSR's names must be exactly the order's identifiers: the CSR has x.example"},
	    {"a missing name", {"a.example", "b.example"}, {"a.example"},
	     "the CSR's names must be exactly the order's identifiers: the CSR lacks b.example"},
	    {"both", {"a.example", "b.example"}, {"a.example", "c.example"},
	     "the CSR's names must be exactly the order's identifiers: the CSR has c.example; it lacks "
	     "b.example"},
	    /* issue 9, RFC 8738 §3: an ip identifier is an iPAddress SAN, never a dNSName */
	    {"an ip identifier sent as a dNSName", {"192.0.2.1"}, {"192.0.2.1"},
	     "the CSR's names must be exactly the order's identifiers: the CSR has 192.0.2.1 (as a dNSName); it "
	     "lacks 192.0.2.1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct csr_case *c = &cases[i];
		struct identifier ids[3] = {0};
		struct order o = {.idents = ids};
		for (; o.nidents < 3 && c->order[o.nidents]; o.nidents++) {
			unsigned char a[16];
			snprintf(ids[o.nidents].value, sizeof ids[0].value, "%s", c->order[o.nidents]);
			snprintf(ids[o.nidents].type, sizeof ids[0].type, "%s",
			         inet_pton(AF_INET, c->order[o.nidents], a) == 1 ? "ip" : "dns");
		}
		struct ca_csr csr = {.dns = (char **)c->csr};
		while (csr.ndns < 4 && c->csr[csr.ndns])
			csr.ndns++;
		struct problem p;
		expect(c->rule, issuer_csr_matches(&o, &csr, &p), &p, "badCSR", c->detail);
	}
}

struct window_case {
	const char *rule;
	long nb, na; /* seconds from now; 0 = not given */
	const char *detail; /* how the refusal's detail starts */
};

/* issue 9: RFC 8555 §7.4 leaves the window to the CA; the detail gives the allowed one */
static void validity_window_rules(void **state)
{
	static const struct window_case cases[] = {
	    {"none given", 0, 0, NULL},
	    {"a week", 0, 7 * 86400, NULL},
	    {"backdated 30 minutes", -1800, 0, NULL},
	    {"notAfter before notBefore", 7200, 3600, "notAfter must be later than notBefore (or now)"},
	    {"notAfter in the past", 0, -3600, "notAfter is in the past; it must be after now ("},
	    {"notBefore backdated 397 days", -397L * 86400, 0, "notBefore must be between "},
	    {"notBefore backdated 2 hours", -7200, 3600, "notBefore must be between "},
	    {"notBefore too far ahead", 366L * 86400, 0, "notBefore must be between "},
	    {"too long", 0, 399L * 86400, "notAfter - notBefore is over 398 days"},
	};
	time_t now = time(NULL);
	struct problem p;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct window_case *c = &cases[i];
		int rc = issuer_check_window(c->nb ? now + c->nb : 0, c->na ? now + c->na : 0, now, &p);
		if (!c->detail && rc != 0)
			fail_msg("%s: refused with \"%s\"", c->rule, p.detail);
		if (c->detail && (rc != -1 || strcmp(p.type, "malformed") != 0 ||
		                  strncmp(p.detail, c->detail, strlen(c->detail)) != 0))
			fail_msg("%s: rc %d, got %s \"%s\"", c->rule, rc, rc ? p.type : "", rc ? p.detail : "");
	}
	/* 1970-01-01T00:00:00Z and before (year 0) come in as a negative time */
	assert_int_equal(issuer_check_window(-1, 0, now, &p), -1);
	assert_non_null(strstr(p.detail, "at most 60 minutes back, 365 days ahead"));
	assert_int_equal(issuer_check_window(0, -1, now, &p), -1);
	assert_non_null(strstr(p.detail, "notAfter is in the past"));
}

static void unknown_profile_names_the_offered_ones(void **state)
{
	struct fixture *f = *state;
	struct problem p;
	assert_int_equal(issuer_check_profile(&f->cfg, "default", &p), 0);
	assert_int_equal(issuer_check_profile(&f->cfg, "shortlived", &p), -1);
	assert_string_equal(p.type, "invalidProfile");
	assert_string_equal(p.detail, "unknown profile; this server offers: default");
	assert_int_equal(issuer_check_profile(&f->cfg, NULL, &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(full_queue_refuses_with_rate_limited, setup, teardown),
	    cmocka_unit_test_setup_teardown(profile_validity_sets_not_after, setup, teardown),
	    cmocka_unit_test(csr_names_must_equal_the_order),
	    cmocka_unit_test(caa_stale_after_seven_hours),
	    cmocka_unit_test_setup_teardown(stale_caa_refused_at_issuance, setup, teardown),
	    cmocka_unit_test_setup_teardown(fresh_caa_skips_and_permit_refreshes, setup, teardown),
	    cmocka_unit_test(validity_window_rules),
	    cmocka_unit_test_setup_teardown(unknown_profile_names_the_offered_ones, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
