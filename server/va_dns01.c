/* va_dns01: the dns-01 validator (RFC 8555 §8.4): the TXT records at _acme-challenge.<name>
 * (the name without "*." for a wildcard) through this worker's resolver; valid when one record,
 * its character-strings joined, is base64url(SHA-256(key authorization)). */
#include "common/util.h"
#include "server/va_classic.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool va_dns01_rr_matches(const struct dns_txt_rr *rr, const char *digest)
{
	size_t want = strlen(digest), off = 0;
	for (size_t i = 0; i < rr->nstrs; i++) {
		const struct dns_txt_string *s = &rr->strs[i];
		if (off + s->len > want || memcmp(digest + off, s->data, s->len) != 0)
			return false;
		off += s->len;
	}
	return off == want;
}

/* What was found, for the detail: each record's joined strings, escaped, at most a few. */
static void describe(const struct dns_answer *ans, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ans->ntxt && o + 1 < outlen; i++) {
		if (i == 8) {
			snprintf(out + o, outlen - o, ", and %zu more", ans->ntxt - i);
			return;
		}
		size_t total = 0;
		for (size_t j = 0; j < ans->txt[i].nstrs; j++)
			total += ans->txt[i].strs[j].len;
		char *joined = xmalloc(total + 1);
		size_t k = 0;
		for (size_t j = 0; j < ans->txt[i].nstrs; j++) {
			memcpy(joined + k, ans->txt[i].strs[j].data, ans->txt[i].strs[j].len);
			k += ans->txt[i].strs[j].len;
		}
		char one[200];
		va_escape(joined, total, 100, one, sizeof one);
		free(joined);
		int n = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", one);
		if (n < 0 || (size_t)n >= outlen - o)
			return;
		o += (size_t)n;
	}
}

enum dns_rcode_class va_dns01_check(struct va_worker *w, const struct va_job *job, const char *name, json_t *records,
                                    struct va_result *res)
{
	struct dns_answer ans = {0};
	char digest[44], seen[1200];
	enum dns_rcode_class got = DNS_SERVFAIL;

	va_keyauthz_digest(job->key_authz, NULL, digest);
	if (!w->dns) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "the validator has no DNS resolver; see the server log");
		goto out;
	}
	va_step(w, VA_STEP_DNS);
	if (dns_txt(w->dns, name, &ans) < 0) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "DNS lookup of TXT %s failed inside cobble: %s", name,
		            ans.detail);
		goto out;
	}
	got = ans.result;
	json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:[s], s:s}", "hostname", job->ident.value,
	                                         "name", name, "type", "TXT", "resolverAddrs", ans.resolver,
	                                         "result", dns_result_name(ans.result)));
	switch (ans.result) {
	case DNS_OK:
		for (size_t i = 0; i < ans.ntxt; i++) {
			if (va_dns01_rr_matches(&ans.txt[i], digest)) {
				res->ok = true;
				res->record_ttl = ans.txt[i].ttl;
				goto out;
			}
		}
		describe(&ans, seen, sizeof seen);
		problem_set(&res->error, PROB_INCORRECT_RESPONSE, 403,
		            "%zu TXT record%s at %s, none equal to the expected \"%s\" (base64url of SHA-256 of the "
		            "key authorization): found %s",
		            ans.ntxt, ans.ntxt == 1 ? "" : "s", name, digest, seen);
		break;
	case DNS_NODATA:
		problem_set(&res->error, PROB_UNAUTHORIZED, 403, "no TXT record at %s (%s); expected \"%s\"", name,
		            ans.detail, digest);
		break;
	default:
		/* NXDOMAIN, SERVFAIL, timeout, DNSSEC failure: the lookup itself failed */
		problem_set(&res->error, PROB_DNS, 400, "looking up TXT %s: %s; expected a TXT record \"%s\"", name,
		            ans.detail, digest);
		break;
	}
out:
	dns_answer_clear(&ans);
	return got;
}

void va_dns01(struct va_worker *w, const struct va_job *job, struct va_result *res)
{
	json_t *records = json_array();
	char *name = xasprintf("_acme-challenge.%s", job->ident.value);
	va_dns01_check(w, job, name, records, res);
	res->validation_record = json_dumps(records, JSON_COMPACT);
	json_decref(records);
	free(name);
}
