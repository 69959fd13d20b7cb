/* va_fake: see va_fake.h. */
#include "test/unit/va_fake.h"
#include "common/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void va_fake_init(struct va_fake *f, const char *identifier, const char *type, const struct dns_fake_rr *rrs)
{
	memset(f, 0, sizeof *f);
	config_defaults(&f->cfg);
	f->srv.cfg = &f->cfg;
	f->zone.rrs = rrs;
	f->w.srv = &f->srv;
	f->w.dns = dns_fake_new(&f->zone);
	f->w.psl = psl_builtin();
	f->w.deadline = util_now_mono() + VA_DEADLINE_SECONDS; /* as run_job sets it */
	struct va_job *j = &f->job;
	snprintf(j->type, sizeof j->type, "%s", type);
	snprintf(j->ident.type, sizeof j->ident.type, "dns");
	j->wildcard = strncmp(identifier, "*.", 2) == 0;
	snprintf(j->ident.value, sizeof j->ident.value, "%s", identifier + (j->wildcard ? 2 : 0));
	snprintf(j->token, sizeof j->token, "token-of-the-challenge");
	snprintf(j->key_authz, sizeof j->key_authz, "%s.%s", j->token, VA_FAKE_THUMBPRINT);
	snprintf(j->account_url, sizeof j->account_url, "%s", VA_FAKE_ACCOUNT_URL);
	snprintf(j->thumbprints[0], sizeof j->thumbprints[0], "%s", VA_FAKE_THUMBPRINT);
	j->nthumbprints = 1;
	snprintf(j->hash_prefix, sizeof j->hash_prefix, "%s", VA_FAKE_HASH_PREFIX);
	va_fake_account(f);
}

void va_fake_account(struct va_fake *f)
{
	struct va_job *j = &f->job;
	store_free(f->store);
	f->store = store_new();
	f->srv.store = f->store;
	/* the oldest key first, then a rollover to each newer one: the store keeps them newest first */
	struct account a = {.jwk = "{}"};
	size_t n = j->nthumbprints;
	snprintf(a.thumbprints[0], sizeof a.thumbprints[0], "%s", n ? j->thumbprints[n - 1] : "");
	char id[STORE_ID_LEN + 1], other[STORE_ID_LEN + 1];
	assert_int_equal(store_account_add(f->store, &a, id, other), 0);
	for (size_t i = n > 1 ? n - 1 : 0; i > 0; i--)
		assert_int_equal(store_account_rekey(f->store, id, j->thumbprints[i], "{}", j->thumbprints[i - 1], other), 0);
	if (j->account_deactivated)
		assert_int_equal(store_account_update(f->store, id, NULL, true), 0);
	snprintf(j->account_id, sizeof j->account_id, "%s", id);
}

void va_fake_clear(struct va_fake *f)
{
	dns_free(f->w.dns);
	store_free(f->store);
	free(f->res.validation_record);
	config_clear(&f->cfg);
	memset(f, 0, sizeof *f);
}

void va_fake_assert(const struct va_fake *f, const char *rule, const struct va_fake_expect *want)
{
	const struct va_result *r = &f->res;
	print_message("# %s: %s%s%s\n", rule, r->ok ? "valid" : r->error.type, r->ok ? "" : " -- ",
	              r->ok ? "" : r->error.detail);
	if (!want->type) {
		assert_true(r->ok);
		assert_int_equal(r->record_ttl, want->ttl);
	} else {
		assert_false(r->ok);
		assert_string_equal(r->error.type, want->type);
		assert_int_equal(r->error.status, want->status);
	}
	if (want->detail_has)
		assert_non_null(strstr(r->error.detail, want->detail_has));
	size_t n = 0;
	for (; n < VA_FAKE_MAX_ASKED && want->asked[n]; n++) {
		assert_true(n < f->zone.nasked);
		assert_string_equal(f->zone.asked[n], want->asked[n]);
	}
	assert_int_equal(f->zone.nasked, n);
	json_t *rec = json_loads(r->validation_record, 0, NULL);
	assert_true(json_is_array(rec));
	json_decref(rec);
}
