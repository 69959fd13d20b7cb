/* fuzz_persist: libFuzzer target for common/persist. Input: one option byte, then TXT RRs
 * separated by '\n', each split into character-strings at 0x1e. Checks the result's invariants
 * (detail always set and plain ASCII, type consistent with status) besides memory safety. */
#include "common/persist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RRS 64
#define MAX_STRS 512

static const char *const issuers[] = {"authority.example", "xn--bcher-kva.example", "cobble.test"};
static const char *const tps[] = {"fT3mQ9vLx2bK8sJpR4wN7cY1aZ6eH0uD5gV3iO9kM2q",
                                  "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"};
static const int64_t times[] = {1781524800, 0, -1, INT64_MAX, INT64_MIN, 1, 4102444800, 253402300800};

static void check_result(const struct persist_result *r, size_t nrrs)
{
	if (!r->detail)
		abort();
	for (const char *p = r->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
	if (r->status == PERSIST_VALID) {
		if (r->type || r->matched_rr < 0 || (size_t)r->matched_rr >= nrrs || r->nmatching == 0)
			abort();
	} else {
		if (!r->type || r->matched_rr != -1)
			abort();
		if (strcmp(r->type, "malformed") != 0 && strcmp(r->type, "unauthorized") != 0)
			abort();
		if (strcmp(r->type, "malformed") == 0 && r->nmatching == 0)
			abort();
	}
	if (r->nmatching > nrrs)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opt = data[0];
	data++;
	size--;

	static struct persist_str strs[MAX_STRS];
	static struct persist_rr rrs[MAX_RRS];
	size_t nrrs = 0, nstrs = 0, start = 0;
	rrs[0].strs = strs;
	rrs[0].nstrs = 0;
	for (size_t i = 0; i <= size && nrrs < MAX_RRS && nstrs < MAX_STRS; i++) {
		if (i == size || data[i] == '\n' || data[i] == 0x1e) {
			strs[nstrs].data = data + start;
			strs[nstrs].len = i - start;
			nstrs++;
			rrs[nrrs].nstrs++;
			start = i + 1;
			if (i == size || data[i] == '\n') {
				nrrs++;
				if (nrrs < MAX_RRS) {
					rrs[nrrs].strs = strs + nstrs;
					rrs[nrrs].nstrs = 0;
				}
			}
		}
	}
	if (nrrs < MAX_RRS && rrs[nrrs].nstrs > 0)
		nrrs++;
	if (opt & 0x80)
		nrrs = 0; /* the empty answer */

	bool wildcard = opt & 0x04, ancestor = opt & 0x08;
	struct persist_input in = {
		.identifier = wildcard ? "*.example.com" : ancestor ? "www.example.com" : "example.com",
		.record_name = ancestor ? "_validation-persist.example.com" : NULL,
		.at_ancestor = ancestor,
		.account_url = "https://ca.example/acme/acct/123",
		.account_deactivated = (opt & 0x70) == 0x70,
		.issuers = issuers,
		.nissuers = sizeof issuers / sizeof issuers[0],
		.time = times[(opt >> 4) & 7],
		.draft = (opt & 1) ? PERSIST_DRAFT_02 : PERSIST_DRAFT_01,
		.strict = opt & 2,
		.thumbprints = tps,
		.nthumbprints = 2,
		.hash_prefix = "https://ca.example/account-hash/",
	};
	struct persist_result r;
	if (persist_check(rrs, nrrs, &in, &r) != 0)
		abort();
	check_result(&r, nrrs);
	persist_result_clear(&r);

	/* The first string as an issuer name (length-bounded, NULs included), and as record text. */
	if (nstrs > 0) {
		char *n = persist_normalize_issuer((const char *)strs[0].data, strs[0].len, opt & 2);
		if (n) {
			/* A normal form is canonical: normalising it again, strictly, is the identity. */
			char *again = persist_normalize_issuer(n, strlen(n), true);
			if (!again || strcmp(again, n) != 0)
				abort();
			free(again);
		}
		char *iss = strndup((const char *)strs[0].data, strs[0].len);
		char *acct = nstrs > 1 ? strndup((const char *)strs[1].data, strs[1].len) : NULL;
		char *t = persist_record_text(iss, acct, wildcard, (uint64_t)size << 20);
		if (!t)
			abort();
		/* A record we would tell a user to publish, for a canonical issuer and a valid URL, validates. */
		if (n && strcmp(n, iss) == 0 && acct && acct[0] && strlen(acct) == strs[1].len) {
			bool url_ok = true;
			for (const char *p = acct; *p; p++)
				url_ok = url_ok && (unsigned char)*p >= 0x21 && (unsigned char)*p <= 0x7e && *p != ';';
			if (url_ok) {
				const char *mine[] = {n};
				struct persist_str s = {(const unsigned char *)t, strlen(t)};
				struct persist_rr rr = {&s, 1};
				struct persist_input in2 = {.identifier = wildcard ? "*.example.com" : "example.com",
				                            .account_url = acct, .issuers = mine, .nissuers = 1,
				                            .time = 0, .strict = true};
				if (persist_check(&rr, 1, &in2, &r) != 0 || r.status != PERSIST_VALID)
					abort();
				persist_result_clear(&r);
			}
		}
		free(t);
		free(acct);
		free(iss);
		free(n);
	}
	return 0;
}
