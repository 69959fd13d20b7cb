/* va_caa: CAA for every validation method (RFC 8659 §3, RFC 8657, draft-ietf-acme-dns-persist-02
 * §7.7, ../shared/spec/dns-persist-01.md section 5), run after the method's own check passed:
 * climb from F towards the root to the first non-empty CAA RRset and let caa_decide judge it. */
#include "common/caa.h"
#include "common/dns.h"
#include "common/log.h"
#include "common/util.h"
#include "server/config.h"
#include "server/issuer.h"
#include "server/va.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int va_caa_lookup(struct dns *dns, const char *fqdn, struct dns_answer *ans, const char **owner,
                  struct problem *p)
{
	/* RFC 8659 §3: F, then each parent, up to and including the top-level domain */
	for (const char *name = fqdn;;) {
		if (dns_caa(dns, name, ans) < 0)
			return problem_set(p, PROB_SERVER_INTERNAL, 500, "DNS lookup of CAA %s failed inside cobble",
			                   name);
		if (ans->result == DNS_OK && ans->ncaa > 0) {
			*owner = name;
			return 0;
		}
		/* spec §5: NXDOMAIN, NODATA and REFUSED (a server that does not serve that zone) mean "no
		 * CAA here"; any other failure is the CA's to report, never a silent permit */
		bool none = ans->result == DNS_NODATA || ans->result == DNS_NXDOMAIN || ans->result == DNS_OK ||
		            (ans->result == DNS_SERVFAIL && ans->refused);
		if (!none)
			return problem_set(p, PROB_DNS, 400, "CAA lookup for %s: %s (RFC 8659 §3: a CA may not issue "
			                   "when it cannot tell whether CAA forbids it)", name, ans->detail);
		const char *dot = strchr(name, '.');
		if (!dot || !dot[1]) {
			*owner = fqdn;
			return 0; /* climbed to the top: no CAA anywhere */
		}
		dns_answer_clear(ans);
		name = dot + 1;
	}
}

/* The one decision, for a validation and for its recheck at issuance: the same identities,
 * method, account URL and wildcard rule (RFC 8659 §4, RFC 8657). */
static void decide(const struct config *cfg, const struct dns_answer *ans, const char *owner, bool wildcard,
                   const char *account_url, const char *method, struct caa_verdict *v)
{
	size_t nids;
	const char *const *ids = config_caa_identities(cfg, &nids);
	struct caa_request req = {ids, nids, wildcard, account_url, method};
	caa_decide((const char *const *)ans->caa, ans->result == DNS_OK ? ans->ncaa : 0, owner, &req, v);
}

int va_caa_recheck(void *ctx, const struct issuer_caa_check *c, char *said, size_t saidlen, struct problem *p)
{
	const struct server *srv = ctx;
	struct dns_options opt;
	va_dns_options(srv->cfg, &opt);
	char err[256];
	struct dns *dns = dns_new(&opt, err, sizeof err);
	if (!dns) {
		log_error("va_caa_recheck: dns_new failed: %s", err);
		return problem_set(p, PROB_SERVER_INTERNAL, 500, "cobble could not start a DNS resolver for the CAA "
		                   "check; see the server log");
	}
	/* the same bound as a validation's: the signing thread never waits longer */
	dns_set_deadline(dns, util_now_mono() + VA_DEADLINE_SECONDS);
	struct dns_answer ans = {0};
	const char *owner = c->name;
	int rc = -1;
	if (va_caa_lookup(dns, c->name, &ans, &owner, p) < 0)
		goto out;
	struct caa_verdict v;
	decide(srv->cfg, &ans, owner, c->wildcard, c->account_url, c->method, &v);
	if (!v.permitted) {
		problem_set(p, PROB_CAA, 403, "%s", v.detail);
		goto out;
	}
	snprintf(said, saidlen, "%s", v.detail);
	rc = 0;
out:
	dns_answer_clear(&ans);
	dns_free(dns);
	return rc;
}

void va_caa(struct va_worker *w, const struct va_job *job, struct va_result *res)
{
	const struct config *cfg = w->srv->cfg;
	struct dns_answer ans = {0};
	const char *owner = job->ident.value;
	json_t *records = res->validation_record ? json_loads(res->validation_record, 0, NULL) : NULL;
	if (!json_is_array(records)) {
		json_decref(records);
		records = json_array();
	}
	if (!w->dns) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "the validator has no DNS resolver; see the "
		            "server log");
		res->ok = false;
		goto out;
	}
	va_step(w, VA_STEP_CAA);
	if (va_caa_lookup(w->dns, job->ident.value, &ans, &owner, &res->error) < 0) {
		res->ok = false;
		goto out;
	}
	struct caa_verdict v;
	decide(cfg, &ans, owner, job->wildcard, job->account_url, job->type, &v);
	/* the CAA answer is kept beside the method's own records (spec §5) */
	json_t *props = json_array();
	for (size_t i = 0; ans.result == DNS_OK && i < ans.ncaa; i++) {
		json_t *text = json_string(ans.caa[i]);
		json_array_append_new(props, text ? text : json_string("(a CAA value that is not UTF-8)"));
	}
	json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:o, s:s}", "type", "CAA", "hostname", owner,
	                                         "resolver", ans.resolver, "caa", props, "caaVerdict",
	                                         v.permitted ? "permitted" : "forbidden"));
	if (!v.permitted) {
		res->ok = false;
		problem_set(&res->error, PROB_CAA, 403, "%s", v.detail);
	}
out:
	free(res->validation_record);
	res->validation_record = json_dumps(records, JSON_COMPACT);
	json_decref(records);
	dns_answer_clear(&ans);
}
