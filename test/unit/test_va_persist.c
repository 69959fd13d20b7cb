/* test_va_persist: server/va_persist.c against a zone in a table (the DNS seam): which names it
 * asks for (spec dns-persist-01.md §2, the §5 ancestor walk up to the public suffix), how each DNS
 * outcome becomes a verdict (NXDOMAIN, NODATA, SERVFAIL, timeout, bogus), draft -02 account
 * binding with the account's key history (§3), persistUntil handed on for the expiry clamp (§4),
 * and the hint for a wildcard's record published at _validation-persist.*.F. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "server/va.h"
#include "test/unit/va_fake.h"

#define TXT DNS_QTYPE_TXT
#define REC01 "cobble.test; accounturi=" VA_FAKE_ACCOUNT_URL
#define REC01_WILD REC01 "; policy=wildcard"
/* the -02 test vector: d=example.com and d=* for VA_FAKE_THUMBPRINT and VA_FAKE_ACCOUNT_URL */
#define HASH_EXAMPLE VA_FAKE_HASH_PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"
#define HASH_ANY VA_FAKE_HASH_PREFIX "sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug"
#define REC02 "cobble.test; accounturi=" HASH_EXAMPLE
#define OTHER_TP "b3RoZXIta2V5LXRodW1icHJpbnQtb2YtNDMtY2hhcnM"
#define Y2100 "4102444800"
#define Y2000 "946684800"
#define VP "_validation-persist."

struct persist_case {
	const char *rule;
	const char *ident;                /* "*.x" for a wildcard */
	enum persist_draft draft;
	bool subdomains, deactivated, fail_internal;
	bool deactivated_later;           /* §3: deactivated after the job was queued */
	const char *rekeyed_later;        /* §3: the account's new key after the job was queued */
	const char *tps[STORE_MAX_KEYS];  /* the account's thumbprints, current first; default: the vector's */
	struct dns_fake_rr zone[6];
	struct va_fake_expect want;
	uint64_t persist_until;           /* expected when valid; 0: none */
	size_t unrecorded;                /* lookups left out of the validation record */
};

static const struct persist_case cases[] = {
    {"§2: a record for this CA and this account validates", "example.com", .zone = {{VP "example.com", TXT, DNS_OK, 300, {REC01}}},
     .want.asked = {"TXT " VP "example.com"}, .want.ttl = 300},
    {"§2: a record split into character-strings is joined before parsing", "example.com",
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {"cobble.test; accounturi=", VA_FAKE_ACCOUNT_URL}}},
     .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60},
    {"§2 step 2: NXDOMAIN without subdomains is a dns problem", "example.com", .want.type = "dns", .want.status = 400,
     .want.detail_has = "NXDOMAIN", .want.asked = {"TXT " VP "example.com"}},
    {"§2 step 2: SERVFAIL is a dns problem", "example.com", .zone = {DNS_FAKE_FAIL(VP "example.com", TXT, DNS_SERVFAIL)},
     .want.type = "dns", .want.status = 400, .want.detail_has = "SERVFAIL", .want.asked = {"TXT " VP "example.com"}},
    {"§2 step 2: a timeout is a dns problem", "example.com", .zone = {DNS_FAKE_FAIL(VP "example.com", TXT, DNS_TIMEOUT)},
     .want.type = "dns", .want.status = 400, .want.detail_has = "TIMEOUT", .want.asked = {"TXT " VP "example.com"}},
    {"§2 step 2: a DNSSEC-bogus answer is a dns problem", "example.com", .zone = {DNS_FAKE_FAIL(VP "example.com", TXT, DNS_BOGUS)},
     .want.type = "dns", .want.status = 400, .want.asked = {"TXT " VP "example.com"}},
    {"§2 step 2: NODATA is no record, unauthorized", "example.com",
     .zone = {{VP "example.com", DNS_QTYPE_A, DNS_OK, 60, {"192.0.2.1"}}}, .want.type = "unauthorized", .want.status = 403,
     .want.detail_has = "no TXT record", .want.asked = {"TXT " VP "example.com"}},
    {"§2 step 3: another CA's record is unauthorized", "example.com",
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {"other-ca.example; accounturi=" VA_FAKE_ACCOUNT_URL}}},
     .want.type = "unauthorized", .want.status = 403, .want.asked = {"TXT " VP "example.com"}},
    {"§3 -01: another account's URL is unauthorized", "example.com",
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {"cobble.test; accounturi=https://ca.example/acct/999"}}},
     .want.type = "unauthorized", .want.status = 403, .want.detail_has = "acct/999", .want.asked = {"TXT " VP "example.com"}},
    {"§3: a deactivated account never matches", "example.com", .deactivated = true,
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC01}}}, .want.type = "unauthorized", .want.status = 403,
     .want.asked = {"TXT " VP "example.com"}},
    {"§5 subdomains: an ancestor's policy=wildcard record validates a subdomain", "a.b.example.com",
     .subdomains = true, .zone = {{VP "example.com", TXT, DNS_OK, 120, {REC01_WILD}}},
     .want.asked = {"TXT " VP "a.b.example.com", "TXT " VP "b.example.com", "TXT " VP "example.com"}, .want.ttl = 120},
    {"§5 subdomains: an ancestor's record without policy=wildcard does not", "a.example.com", .subdomains = true,
     .zone = {{VP "example.com", TXT, DNS_OK, 120, {REC01}}}, .want.type = "unauthorized", .want.status = 403,
     .want.asked = {"TXT " VP "a.example.com", "TXT " VP "example.com"}},
    {"§5 subdomains: the walk stops below the public suffix", "a.example.com", .subdomains = true,
     .want.type = "unauthorized", .want.status = 403, .want.detail_has = "or any ancestor below the public suffix",
     .want.asked = {"TXT " VP "a.example.com", "TXT " VP "example.com"}},
    {"§5 subdomains: SERVFAIL at an ancestor ends the walk with a dns problem", "a.b.example.com",
     .subdomains = true,
     .zone = {DNS_FAKE_FAIL(VP "b.example.com", TXT, DNS_SERVFAIL), {VP "example.com", TXT, DNS_OK, 60, {REC01_WILD}}},
     .want.type = "dns", .want.status = 400, .want.detail_has = "SERVFAIL",
     .want.asked = {"TXT " VP "a.b.example.com", "TXT " VP "b.example.com"}},
    {"§5 subdomains: NODATA at the name goes on to the ancestor", "a.example.com", .subdomains = true,
     .zone = {{VP "a.example.com", DNS_QTYPE_AAAA, DNS_OK, 60, {"2001:db8::1"}},
              {VP "example.com", TXT, DNS_OK, 60, {REC01_WILD}}},
     .want.asked = {"TXT " VP "a.example.com", "TXT " VP "example.com"}, .want.ttl = 60},
    {"§5 subdomains: the name's own record is enough; no ancestor is asked", "a.example.com", .subdomains = true,
     .zone = {{VP "a.example.com", TXT, DNS_OK, 30, {REC01}}, {VP "example.com", TXT, DNS_OK, 60, {REC01_WILD}}},
     .want.asked = {"TXT " VP "a.example.com"}, .want.ttl = 30},
    {"§2: a policy=wildcard record at F validates *.F", "*.example.com",
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC01_WILD}}}, .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60},
    {"§2: a record without policy=wildcard does not validate *.F", "*.example.com",
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC01}}}, .want.type = "unauthorized", .want.status = 403,
     .want.asked = {"TXT " VP "example.com"}},
    {"wildcard hint: a record at _validation-persist.*.F is pointed out", "*.example.com",
     .zone = {{VP "*.example.com", TXT, DNS_OK, 60, {REC01_WILD}}}, .want.type = "unauthorized", .want.status = 403,
     .want.detail_has = "must stand at _validation-persist.example.com (without \"*.\") and carry policy=wildcard",
     .want.asked = {"TXT " VP "example.com", "TXT " VP "*.example.com"}},
    {"wildcard hint: none when nothing stands at _validation-persist.*.F", "*.example.com",
     .zone = {{VP "example.com", DNS_QTYPE_A, DNS_OK, 60, {"192.0.2.1"}}}, .want.type = "unauthorized", .want.status = 403,
     .want.detail_has = "no TXT record at " VP "example.com", .want.asked = {"TXT " VP "example.com", "TXT " VP "*.example.com"},
     .unrecorded = 1},
    {"§3 -02: the hashed accounturi of the current key validates", "example.com", .draft = PERSIST_DRAFT_02,
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC02}}}, .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60},
    {"§3 -02: a key the account used before still validates (key history)", "example.com",
     .draft = PERSIST_DRAFT_02, .tps = {OTHER_TP, VA_FAKE_THUMBPRINT},
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC02}}}, .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60},
    {"§3 -02: a key the account never had does not validate", "example.com", .draft = PERSIST_DRAFT_02,
     .tps = {OTHER_TP}, .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC02}}}, .want.type = "unauthorized",
     .want.status = 403, .want.asked = {"TXT " VP "example.com"}},
    {"§3: the account's status is read when the check runs (deactivated after queueing)", "example.com",
     .draft = PERSIST_DRAFT_02, .deactivated_later = true, .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC02}}},
     .want.type = "unauthorized", .want.status = 403, .want.detail_has = "is deactivated",
     .want.asked = {"TXT " VP "example.com"}},
    {"§3 -02: the account's keys are read when the check runs (key rolled over after queueing)", "example.com",
     .draft = PERSIST_DRAFT_02, .tps = {OTHER_TP}, .rekeyed_later = VA_FAKE_THUMBPRINT,
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC02}}}, .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60},
    {"§3 -02: d=* binds the record to any name", "example.com", .draft = PERSIST_DRAFT_02,
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {"cobble.test; accounturi=" HASH_ANY}}},
     .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60},
    {"§3 -02: a plain account URL is malformed", "example.com", .draft = PERSIST_DRAFT_02,
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC01}}}, .want.type = "malformed", .want.status = 400,
     .want.asked = {"TXT " VP "example.com"}},
    {"§4 -02: the record's persistUntil is handed on for the expiry clamp", "example.com",
     .draft = PERSIST_DRAFT_02, .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC02 "; persistUntil=" Y2100}}},
     .want.asked = {"TXT " VP "example.com"}, .want.ttl = 60, .persist_until = 4102444800u},
    {"§2: a record past its persistUntil does not validate", "example.com",
     .zone = {{VP "example.com", TXT, DNS_OK, 60, {REC01 "; persistUntil=" Y2000}}}, .want.type = "unauthorized",
     .want.status = 403, .want.asked = {"TXT " VP "example.com"}},
    {"cobble's own lookup failure is serverInternal", "example.com", .fail_internal = true,
     .want.type = "serverInternal", .want.status = 500, .want.asked = {"TXT " VP "example.com"}},
};

static void check_case(const struct persist_case *c)
{
	struct va_fake f;
	va_fake_init(&f, c->ident, "dns-persist-01", c->zone);
	f.cfg.persist_draft = c->draft;
	f.cfg.persist_subdomains = c->subdomains;
	f.job.account_deactivated = c->deactivated;
	f.zone.fail_internal = c->fail_internal;
	if (c->tps[0]) {
		for (f.job.nthumbprints = 0; f.job.nthumbprints < STORE_MAX_KEYS && c->tps[f.job.nthumbprints];
		     f.job.nthumbprints++)
			snprintf(f.job.thumbprints[f.job.nthumbprints], sizeof f.job.thumbprints[0], "%s",
			         c->tps[f.job.nthumbprints]);
	}
	va_fake_account(&f);
	/* what changed between queueing and the check: the validator must read it (§3) */
	char other[STORE_ID_LEN + 1];
	if (c->deactivated_later)
		assert_int_equal(store_account_update(f.store, f.job.account_id, NULL, true), 0);
	if (c->rekeyed_later)
		assert_int_equal(store_account_rekey(f.store, f.job.account_id, f.job.thumbprints[0], "{}",
		                                     c->rekeyed_later, other), 0);
	va_dns_persist(&f.w, &f.job, &f.res);

	va_fake_assert(&f, c->rule, &c->want);
	if (f.res.ok) {
		assert_int_equal(f.res.has_persist_until, c->persist_until != 0);
		assert_true(f.res.persist_until == c->persist_until);
	}
	/* every answered lookup is in the validation record */
	json_t *rec = json_loads(f.res.validation_record, 0, NULL);
	if (!c->fail_internal)
		assert_int_equal(json_array_size(rec), f.zone.nasked - c->unrecorded);
	json_decref(rec);
	va_fake_clear(&f);
}

static void test_persist_rules(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
}

/* --- the outcome the store records: spec §4's -02 expiry clamp (va_outcome in server/va.c) --- */

static const struct clamp_case {
	const char *rule;
	enum persist_draft draft;
	const char *type;
	bool ok, has_persist_until;
	uint64_t persist_until;
	time_t expires_cap; /* expected; 0 = none */
} clamps[] = {
    {"§4 -02: a valid persist authz expires no later than persistUntil", PERSIST_DRAFT_02, "dns-persist-01", true,
     true, 4102444800u, (time_t)4102444800},
    {"§4 -02: no persistUntil, no cap", PERSIST_DRAFT_02, "dns-persist-01", true, false, 0, 0},
    {"§4 -02: a persistUntil beyond time_t is no cap (far future)", PERSIST_DRAFT_02, "dns-persist-01", true, true,
     UINT64_MAX, 0},
    {"§4 -01: persistUntil does not cap the authz", PERSIST_DRAFT_01, "dns-persist-01", true, true, 4102444800u, 0},
    {"§4: an invalid result caps nothing", PERSIST_DRAFT_02, "dns-persist-01", false, true, 4102444800u, 0},
    {"§4: only dns-persist-01 is capped", PERSIST_DRAFT_02, "dns-01", true, true, 4102444800u, 0},
};

static void test_expiry_clamp(void **state)
{
	for (size_t i = 0; i < sizeof clamps / sizeof clamps[0]; i++) {
		const struct clamp_case *c = &clamps[i];
		struct va_fake f;
		va_fake_init(&f, "example.com", c->type, NULL);
		f.cfg.persist_draft = c->draft;
		f.res.ok = c->ok;
		f.res.has_persist_until = c->has_persist_until;
		f.res.persist_until = c->persist_until;
		f.res.record_ttl = 60;
		print_message("# %s\n", c->rule);
		struct validation_outcome o = va_outcome(&f.cfg, &f.job, &f.res);
		assert_int_equal(o.expires_cap, c->expires_cap);
		assert_int_equal(o.ok, c->ok);
		assert_int_equal(o.record_ttl, 60);
		assert_true(o.persist_until == c->persist_until);
		va_fake_clear(&f);
	}
}

/* the whole path: the validator reads persistUntil from the record and the outcome caps at it */
static void test_persist_until_from_the_record_caps_the_authz(void **state)
{
	static const struct dns_fake_rr zone[] = {
	    {VP "example.com", TXT, DNS_OK, 60, {REC02 "; persistUntil=" Y2100}},
	    {0},
	};
	struct va_fake f;
	va_fake_init(&f, "example.com", "dns-persist-01", zone);
	f.cfg.persist_draft = PERSIST_DRAFT_02;
	va_dns_persist(&f.w, &f.job, &f.res);
	assert_true(f.res.ok);
	struct validation_outcome o = va_outcome(&f.cfg, &f.job, &f.res);
	assert_int_equal(o.expires_cap, (time_t)4102444800);
	va_fake_clear(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_persist_rules),
	    cmocka_unit_test(test_expiry_clamp),
	    cmocka_unit_test(test_persist_until_from_the_record_caps_the_authz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
