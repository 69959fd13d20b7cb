/* va_persist: the dns-persist-01 validator (spec/dns-persist-01.md §2 and §5): query
 * _validation-persist.<F> (and, with dnsPersist.subdomains, its ancestors below the public
 * suffix) through this worker's resolver and hand the raw records to persist_check, the same
 * matcher `cobble check-record` uses. */
#include "common/dns.h"
#include "common/persist.h"
#include "common/util.h"
#include "server/conformance.h"
#include "server/server.h"
#include "server/store.h"
#include "server/va_method.h"

#include <jansson.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

/* The records of one lookup as persist_check wants them (pointing into ans). */
struct rrset {
	struct persist_rr *rrs;
	struct persist_str *strs;
};

static void rrset_from(struct rrset *set, const struct dns_answer *ans)
{
	size_t total = 0;
	for (size_t i = 0; i < ans->ntxt; i++)
		total += ans->txt[i].nstrs;
	set->rrs = xcalloc(ans->ntxt ? ans->ntxt : 1, sizeof *set->rrs);
	set->strs = xcalloc(total ? total : 1, sizeof *set->strs);
	size_t k = 0;
	for (size_t i = 0; i < ans->ntxt; i++) {
		set->rrs[i].strs = &set->strs[k];
		set->rrs[i].nstrs = ans->txt[i].nstrs;
		for (size_t j = 0; j < ans->txt[i].nstrs; j++, k++) {
			set->strs[k].data = ans->txt[i].strs[j].data;
			set->strs[k].len = ans->txt[i].strs[j].len;
		}
	}
}

static void rrset_clear(struct rrset *set)
{
	free(set->rrs);
	free(set->strs);
	memset(set, 0, sizeof *set);
}

/* Check one owner name. Returns 1 when the lookup failed (res->error set), else 0 with pr filled. */
static int check_name(struct va_worker *w, const struct va_job *job, const char *fqdn, bool at_ancestor,
                      struct dns_answer *ans, struct persist_result *pr, struct va_result *res,
                      json_t *records)
{
	const struct config *cfg = w->srv->cfg;
	char *name = xasprintf("_validation-persist.%s", fqdn);
	char *ident = xasprintf("%s%s", job->wildcard ? "*." : "", job->ident.value);
	struct rrset set = {0};
	int rc = 0;
	va_step(w, VA_STEP_DNS);
	if (dns_txt(w->dns, name, ans) < 0) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "DNS lookup of %s failed inside cobble", name);
		rc = 1;
		goto out;
	}
	json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:s}", "hostname", name, "type", "TXT",
	                                         "resolver", ans->resolver, "result",
	                                         dns_result_name(ans->result)));
	rrset_from(&set, ans);
	const char *tps[STORE_MAX_KEYS];
	for (size_t i = 0; i < job->nthumbprints; i++)
		tps[i] = job->thumbprints[i];
	struct persist_input in = {
	    .identifier = ident,
	    .record_name = name,
	    .at_ancestor = at_ancestor,
	    .account_url = job->account_url,
	    .account_deactivated = job->account_deactivated,
	    .issuers = (const char *const *)cfg->issuer_names,
	    .nissuers = cfg->nissuer_names,
	    .time = (int64_t)util_clock(), /* POST /clock moves it: persistUntil tests */
	    .draft = cfg->persist_draft,
	    .strict = cfg->persist_strict,
	    .thumbprints = tps,
	    .nthumbprints = job->nthumbprints,
	    .hash_prefix = job->hash_prefix,
	};
	if (persist_check(set.rrs, ans->result == DNS_OK ? ans->ntxt : 0, &in, pr) < 0) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "dns-persist-01 matcher failed");
		rc = 1;
	}
out:
	rrset_clear(&set);
	free(name);
	free(ident);
	return rc;
}

static bool is_lookup_failure(enum dns_rcode_class c)
{
	return c != DNS_OK && c != DNS_NODATA && c != DNS_NXDOMAIN;
}

static void hint_wildcard_owner(struct va_worker *w, const struct va_job *job, struct va_result *res,
                                json_t *records)
{
	struct dns_answer wrong = {0};
	char *name = xasprintf("_validation-persist.*.%s", job->ident.value);
	if (dns_txt(w->dns, name, &wrong) == 0 && wrong.result == DNS_OK && wrong.ntxt > 0) {
		json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:s}", "hostname", name, "type", "TXT",
		                                         "resolver", wrong.resolver, "result", "NOERROR"));
		size_t n = strlen(res->error.detail);
		snprintf(res->error.detail + n, sizeof res->error.detail - n,
		         " -- there is a TXT record at %s, but for the wildcard *.%s the record must stand at "
		         "_validation-persist.%s (without \"*.\") and carry policy=wildcard",
		         name, job->ident.value, job->ident.value);
	}
	dns_answer_clear(&wrong);
	free(name);
}

/* The records as the conformance report wants them: valid-but-lenient matches, no persistUntil,
 * records naming unknown or deactivated accounts. */
static void report_records(struct va_worker *w, const struct va_job *job, const char *fqdn,
                           const struct dns_answer *ans, int matched, bool at_ancestor, bool has_until)
{
	if (ans->result != DNS_OK || ans->ntxt == 0)
		return;
	struct rrset set = {0};
	rrset_from(&set, ans);
	char *name = xasprintf("_validation-persist.%s", fqdn);
	conformance_persist(w->srv->store, job->account_id, job->account_url, name, set.rrs, ans->ntxt, matched,
	                    job->wildcard, at_ancestor, has_until);
	free(name);
	rrset_clear(&set);
}

/* Spec §3: the account's status and keys are read at every attempt, never cached, so a job
 * queued before a deactivation or a key rollover sees the account as it is now. The keys stay
 * in the store's order: the current key first, then earlier keys newest first. */
static void account_now(struct va_worker *w, struct va_job *job)
{
	struct account a = {0};
	if (store_account_get(w->srv->store, job->account_id, &a) != 0) {
		job->account_deactivated = true; /* gone: never matches */
		return;
	}
	job->account_deactivated = a.status != ST_VALID;
	memcpy(job->thumbprints, a.thumbprints, sizeof job->thumbprints);
	job->nthumbprints = a.nthumbprints;
	store_account_clear(&a);
}

void va_dns_persist(struct va_worker *w, const struct va_job *queued, struct va_result *res)
{
	const struct config *cfg = w->srv->cfg;
	struct va_job now = *queued;
	const struct va_job *job = &now;
	account_now(w, &now);
	json_t *records = json_array();
	struct dns_answer ans = {0};
	struct persist_result pr = {0};
	const char *fqdn = job->ident.value;
	bool at_ancestor = false;

	if (!w->dns) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500,
		            "the validator has no DNS resolver; see the server log");
		json_decref(records);
		return;
	}

	for (;;) {
		dns_answer_clear(&ans);
		persist_result_clear(&pr);
		if (check_name(w, job, fqdn, at_ancestor, &ans, &pr, res, records))
			goto out;
		/* §2 step 2: SERVFAIL, timeout, bogus → dns; without subdomains NXDOMAIN too */
		if (is_lookup_failure(ans.result) || (!cfg->persist_subdomains && ans.result == DNS_NXDOMAIN)) {
			/* the step, then what DNS said (which may name a CNAME target instead) */
			problem_set(&res->error, PROB_DNS, 400, "looking up TXT _validation-persist.%s: %s", fqdn, ans.detail);
			goto out;
		}
		if (pr.nmatching > 0 || !cfg->persist_subdomains)
			break;
		/* §5 subdomains: the next ancestor, stopping before the public suffix */
		const char *dot = strchr(fqdn, '.');
		if (!dot || !w->psl || psl_is_public_suffix(w->psl, dot + 1))
			break;
		fqdn = dot + 1;
		at_ancestor = true;
	}
	if (pr.status == PERSIST_VALID) {
		res->ok = true;
		res->record_ttl = pr.matched_rr >= 0 ? ans.txt[pr.matched_rr].ttl : 0;
		res->has_persist_until = pr.has_persist_until;
		res->persist_until = pr.persist_until;
	} else if (pr.nmatching == 0 && at_ancestor) {
		problem_set(&res->error, PROB_UNAUTHORIZED, 403,
		            "no dns-persist-01 record for this CA at _validation-persist.%s or any ancestor "
		            "below the public suffix (looked up: see validationRecord); last answer: %s",
		            job->ident.value, pr.detail);
	} else {
		bool malformed = pr.type && strcmp(pr.type, "malformed") == 0;
		problem_set(&res->error, malformed ? PROB_MALFORMED : PROB_UNAUTHORIZED, malformed ? 400 : 403,
		            "%s", pr.detail);
	}
	/* a common first mistake: the record of a wildcard published at _validation-persist.*.F */
	if (!res->ok && job->wildcard && pr.nmatching == 0)
		hint_wildcard_owner(w, job, res, records);
	report_records(w, job, fqdn, &ans, res->ok ? pr.matched_rr : -1, at_ancestor, pr.has_persist_until);
out:
	res->validation_record = json_dumps(records, JSON_COMPACT);
	json_decref(records);
	persist_result_clear(&pr);
	dns_answer_clear(&ans);
}
