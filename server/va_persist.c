/* va_persist: the dns-persist-01 validator (spec/dns-persist-01.md §2): query
 * _validation-persist.<F> through this worker's resolver and hand the raw records to
 * persist_check, the same matcher `cobble check-record` uses. */
#include "common/dns.h"
#include "common/persist.h"
#include "common/util.h"
#include "server/va.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void va_dns_persist(struct va_worker *w, const struct va_job *job, struct va_result *res)
{
	const struct config *cfg = w->srv->cfg;
	struct dns_answer ans = {0};
	struct persist_result pr = {0};
	struct persist_rr *rrs = NULL;
	struct persist_str *strs = NULL;
	char *name = xasprintf("_validation-persist.%s", job->ident.value);
	char *ident = xasprintf("%s%s", job->wildcard ? "*." : "", job->ident.value);

	if (dns_txt(w->dns, name, &ans) < 0) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "DNS lookup of %s failed inside cobble", name);
		goto out;
	}
	json_t *vr = json_pack("[{s:s, s:s, s:s, s:s}]", "hostname", name, "type", "TXT", "resolver",
	                       ans.resolver, "result", dns_result_name(ans.result));
	res->validation_record = json_dumps(vr, JSON_COMPACT);
	json_decref(vr);
	/* §2 step 2: a failed lookup is a dns problem; NOERROR without TXT is unauthorized */
	if (ans.result != DNS_OK && ans.result != DNS_NODATA) {
		problem_set(&res->error, PROB_DNS, 400, "%s", ans.detail);
		goto out;
	}
	size_t total = 0;
	for (size_t i = 0; i < ans.ntxt; i++)
		total += ans.txt[i].nstrs;
	rrs = xcalloc(ans.ntxt ? ans.ntxt : 1, sizeof *rrs);
	strs = xcalloc(total ? total : 1, sizeof *strs);
	size_t k = 0;
	for (size_t i = 0; i < ans.ntxt; i++) {
		rrs[i].strs = &strs[k];
		rrs[i].nstrs = ans.txt[i].nstrs;
		for (size_t j = 0; j < ans.txt[i].nstrs; j++, k++) {
			strs[k].data = ans.txt[i].strs[j].data;
			strs[k].len = ans.txt[i].strs[j].len;
		}
	}
	struct persist_input in = {
	    .identifier = ident,
	    .record_name = name,
	    .account_url = job->account_url,
	    .account_deactivated = job->account_deactivated,
	    .issuers = (const char *const *)cfg->issuer_names,
	    .nissuers = cfg->nissuer_names,
	    .time = (int64_t)time(NULL),
	    .draft = cfg->persist_draft,
	    .strict = cfg->persist_strict,
	    .thumbprints = NULL,
	    .nthumbprints = job->nthumbprints,
	    .hash_prefix = job->hash_prefix,
	};
	const char *tps[STORE_MAX_KEYS];
	for (size_t i = 0; i < job->nthumbprints; i++)
		tps[i] = job->thumbprints[i];
	in.thumbprints = tps;
	if (persist_check(rrs, ans.ntxt, &in, &pr) < 0) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "dns-persist-01 matcher failed");
		goto out;
	}
	if (pr.status == PERSIST_VALID) {
		res->ok = true;
		res->record_ttl = pr.matched_rr >= 0 ? ans.txt[pr.matched_rr].ttl : 0;
		res->has_persist_until = pr.has_persist_until;
		res->persist_until = pr.persist_until;
	} else {
		bool malformed = strcmp(pr.type, "malformed") == 0;
		problem_set(&res->error, malformed ? PROB_MALFORMED : PROB_UNAUTHORIZED, malformed ? 400 : 403,
		            "%s", pr.detail);
	}
out:
	persist_result_clear(&pr);
	free(rrs);
	free(strs);
	dns_answer_clear(&ans);
	free(name);
	free(ident);
}
