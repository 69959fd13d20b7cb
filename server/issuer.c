/* issuer: finalize's rules (validity window, profile, CSR names) and the signing pool: a job
 * signs with the CA and records the certificate and the order's outcome in the store. */
#include "server/issuer.h"
#include "common/log.h"
#include "common/util.h"
#include "common/workq.h"
#include "server/ari.h"
#include "server/events.h"
#include "server/faults.h"
#include "server/server.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALIDITY (398L * 86400)

struct issuer {
	struct server *srv; /* borrowed */
	struct workq *q;
	issuer_caa_fn caa;  /* NULL: no CAA recheck */
	void *caa_ctx;
};

/* One finalize waiting for a signing thread; owned by the queue, freed by issue_run. */
struct issue_job {
	struct server *srv;
	const struct issuer *is;
	char order_id[STORE_ID_LEN + 1];
	char account_id[STORE_ID_LEN + 1];
	char *account_url;
	EVP_PKEY *pub;
	struct identifier *idents;
	char (*authz_ids)[STORE_ID_LEN + 1]; /* one per identifier */
	size_t nidents;
	time_t nb, na;
};

struct issuer *issuer_new(struct server *srv, size_t workers, size_t queue)
{
	struct issuer *is = xcalloc(1, sizeof *is);
	is->srv = srv;
	is->q = workq_new(workers, queue, NULL, NULL, NULL);
	if (!is->q) {
		log_error("issuer_new: workq_new failed");
		free(is);
		return NULL;
	}
	return is;
}

void issuer_set_caa(struct issuer *is, issuer_caa_fn fn, void *ctx)
{
	is->caa = fn;
	is->caa_ctx = ctx;
}

bool issuer_caa_stale(time_t checked_at, time_t now)
{
	return now - checked_at > ISSUER_CAA_RECHECK_SECONDS;
}

void issuer_free(struct issuer *is)
{
	if (!is)
		return;
	workq_free(is->q);
	free(is);
}

int issuer_check_window(time_t not_before, time_t not_after, time_t now, struct problem *p)
{
	time_t start = not_before ? not_before : now;
	/* RFC 8555 §7.4 leaves the window to the CA: a certificate that starts more than an hour back
	 * (Boulder's own backdating) or a year ahead is a mistake, not a request (year 0, 1970...) */
	if (not_before && (not_before < now - ISSUER_BACKDATE_MAX || not_before > now + ISSUER_AHEAD_MAX)) {
		char from[32], to[32];
		util_time_fmt(now - ISSUER_BACKDATE_MAX, from, sizeof from);
		util_time_fmt(now + ISSUER_AHEAD_MAX, to, sizeof to);
		return problem_set(p, PROB_MALFORMED, 400,
		                   "notBefore must be between %s and %s (at most %ld minutes back, %ld days ahead), or "
		                   "left out",
		                   from, to, ISSUER_BACKDATE_MAX / 60, ISSUER_AHEAD_MAX / 86400);
	}
	if (not_after && not_after <= now) {
		char nowtext[32];
		util_time_fmt(now, nowtext, sizeof nowtext);
		return problem_set(p, PROB_MALFORMED, 400, "notAfter is in the past; it must be after now (%s)", nowtext);
	}
	if (not_after && not_after <= start)
		return problem_set(p, PROB_MALFORMED, 400, "notAfter must be later than notBefore (or now)");
	if (not_after && not_after - start > MAX_VALIDITY)
		return problem_set(p, PROB_MALFORMED, 400, "notAfter - notBefore is over %ld days",
		                   MAX_VALIDITY / 86400);
	return 0;
}

static const struct profile *find_profile(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

int issuer_check_profile(const struct config *cfg, const char *name, struct problem *p)
{
	if (find_profile(cfg, name))
		return 0;
	char list[512] = "";
	for (size_t k = 0; k < cfg->nprofiles; k++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
		         cfg->profiles[k].name);
	return problem_set(p, PROB_INVALID_PROFILE, 400, "unknown profile; this server offers: %s", list);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An identifier as issuer_csr_matches compares it: the value, a space and its kind ('d' for a
 * dNSName, 'i' for an iPAddress), so that an address sent as a dNSName does not match an ip
 * identifier (RFC 8738 §3: an ip identifier is an iPAddress SAN). */
static char *csr_key(const char *value, bool ip)
{
	return xasprintf("%s %c", value, ip ? 'i' : 'd');
}

/* A key back as text for the detail: the value, and "(as a dNSName)" for an address in one. */
static void csr_key_text(const char *key, char *out, size_t outlen)
{
	size_t n = strlen(key) - 2;
	unsigned char buf[16];
	char v[256];
	snprintf(v, sizeof v, "%.*s", (int)n, key);
	bool looks_ip = inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
	snprintf(out, outlen, "%s%s", v, key[n + 1] == 'd' && looks_ip ? " (as a dNSName)" : "");
}

int issuer_csr_matches(const struct order *o, const struct ca_csr *csr, struct problem *p)
{
	size_t n = csr->ndns + csr->nips;
	char **names = xcalloc(n ? n : 1, sizeof *names);
	char **want = xcalloc(o->nidents ? o->nidents : 1, sizeof *want);
	for (size_t i = 0; i < csr->ndns; i++)
		names[i] = csr_key(csr->dns[i], false);
	for (size_t i = 0; i < csr->nips; i++)
		names[csr->ndns + i] = csr_key(csr->ips[i], true);
	for (size_t i = 0; i < o->nidents; i++)
		want[i] = csr_key(o->idents[i].value, strcmp(o->idents[i].type, "ip") == 0);
	qsort(names, n, sizeof *names, cmp_str);
	qsort(want, o->nidents, sizeof *want, cmp_str);
	char extra[1024] = "", missing[1024] = "", one[300];
	size_t i = 0, k = 0;
	while (i < n || k < o->nidents) {
		int c = i >= n ? 1 : k >= o->nidents ? -1 : strcmp(names[i], want[k]);
		if (c == 0) {
			/* duplicates in the CSR are harmless */
			while (i + 1 < n && strcmp(names[i + 1], names[i]) == 0)
				i++;
			i++, k++;
		} else if (c < 0) {
			csr_key_text(names[i++], one, sizeof one);
			snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s%s", extra[0] ? ", " : "", one);
		} else {
			csr_key_text(want[k++], one, sizeof one);
			snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
			         missing[0] ? ", " : "", one);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	for (k = 0; k < o->nidents; k++)
		free(want[k]);
	free(names);
	free(want);
	if (extra[0] || missing[0]) {
		return problem_set(p, PROB_BAD_CSR, 400,
		                   "the CSR's names must be exactly the order's identifiers:%s%s%s%s",
		                   extra[0] ? " the CSR has " : "", extra,
		                   missing[0] ? (extra[0] ? "; it lacks " : " the CSR lacks ") : "", missing);
	}
	return 0;
}

static void issue_job_free(struct issue_job *job)
{
	EVP_PKEY_free(job->pub);
	free(job->idents);
	free(job->authz_ids);
	free(job->account_url);
	free(job);
}

/* BR §3.2.2.8: CAA again for every dns identifier whose authorization's CAA check is older than
 * ISSUER_CAA_RECHECK_SECONDS; a permit refreshes that time. Returns 0 (sign), or -1 with p
 * naming the identifier, the age and what CAA said. */
static int recheck_caa(const struct issue_job *job, struct problem *p)
{
	const struct issuer *is = job->is;
	const struct config *cfg = job->srv->cfg;
	if (!is->caa || !cfg->caa || cfg->va_always_valid)
		return 0;
	int rc = 0;
	for (size_t i = 0; i < job->nidents && rc == 0; i++) {
		struct authz a = {0};
		if (strcmp(job->idents[i].type, "dns") != 0 || store_authz_get(job->srv->store, job->authz_ids[i], &a) < 0)
			continue; /* RFC 8659 is about domain names; an authz gone meanwhile has nothing to recheck */
		time_t now = util_clock(); /* POST /clock moves it */
		long hours = (long)((now - a.caa_checked_at) / 3600);
		const char *name = job->idents[i].value;
		if (!issuer_caa_stale(a.caa_checked_at, now)) {
			store_authz_clear(&a);
			continue;
		}
		char subject[300];
		snprintf(subject, sizeof subject, "caa recheck %s", name);
		struct issuer_caa_check c = {a.ident.value, a.wildcard, a.validated_by, job->account_url};
		char said[512] = "";
		struct problem got;
		if (is->caa(is->caa_ctx, &c, said, sizeof said, &got) == 0) {
			store_authz_caa_checked(job->srv->store, a.id, now);
			log_info("caa recheck at issuance: %s order=%s account=%s last check %ld h old -> permitted: %s",
			         name, job->order_id, job->account_id, hours, said);
			events_add("caa", subject, job->account_id, "valid", "checked again at issuance of order %s "
			           "(last check %ld h old, over %ld h): permitted, %s", job->order_id, hours,
			           ISSUER_CAA_RECHECK_SECONDS / 3600, said);
		} else {
			/* RFC 8659 §3: a failed lookup forbids issuance as much as a forbidding record */
			bool internal = strcmp(got.type, PROB_SERVER_INTERNAL) == 0;
			problem_set(p, internal ? PROB_SERVER_INTERNAL : PROB_CAA, internal ? 500 : 403,
			            "CAA checked again at issuance for %s, because its %s was %ld hours old (CA/B Forum "
			            "BR §3.2.2.8: CAA within 8 hours before issuance; cobble, like Let's Encrypt, checks "
			            "again past %ld), so issuance is refused: %s",
			            name, a.caa_checked_at == a.validated_at ? "validation" : "last CAA check", hours,
			            ISSUER_CAA_RECHECK_SECONDS / 3600, got.detail);
			log_info("caa recheck at issuance: %s order=%s account=%s last check %ld h old -> refused: %s", name,
			         job->order_id, job->account_id, hours, got.detail);
			events_add("caa", subject, job->account_id, "invalid", "order %s: %s", job->order_id, p->detail);
			rc = -1;
		}
		store_authz_clear(&a);
	}
	return rc;
}

/* A signing thread: recheck CAA where due, sign, then record the certificate and finish the
 * order (valid, or invalid with caa when the recheck refused or serverInternal when signing
 * failed). */
static void issue_run(void *state, void *arg)
{
	struct issue_job *job = arg;
	struct server *srv = job->srv;
	struct problem refused;
	if (recheck_caa(job, &refused) < 0) {
		store_order_finish(srv->store, job->order_id, NULL, &refused);
		events_add("certificate", job->order_id, job->account_id, "failed", "%s", refused.detail);
		issue_job_free(job);
		return;
	}
	const char **dns = xcalloc(job->nidents, sizeof *dns), **ips = xcalloc(job->nidents, sizeof *ips);
	size_t nd = 0, ni = 0;
	for (size_t i = 0; i < job->nidents; i++) {
		if (strcmp(job->idents[i].type, "ip") == 0)
			ips[ni++] = job->idents[i].value;
		else
			dns[nd++] = job->idents[i].value;
	}
	struct ca_issued out = {0};
	if (ca_issue(srv->ca, job->pub, dns, nd, ips, ni, job->nb, job->na, &out) < 0) {
		struct problem p;
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "signing the certificate failed; see the server log");
		store_order_finish(srv->store, job->order_id, NULL, &p);
		events_add("certificate", job->order_id, job->account_id, "failed", "%s", p.detail);
	} else {
		struct cert c = {0};
		snprintf(c.serial, sizeof c.serial, "%s", out.serial);
		memcpy(c.account_id, job->account_id, sizeof c.account_id);
		memcpy(c.order_id, job->order_id, sizeof c.order_id);
		c.chains = out.chains;
		c.nchains = out.nchains;
		c.not_before = out.not_before;
		c.not_after = out.not_after;
		c.issued = time(NULL);
		memcpy(c.aki, out.aki, out.aki_len);
		c.aki_len = out.aki_len;
		if (ari_certid_make(c.aki, c.aki_len, c.serial, c.certid) < 0)
			log_error("issue: ari_certid_make failed for serial %s", c.serial);
		store_cert_add(srv->store, &c);
		faults_cert_issued(job->idents, job->nidents);
		store_order_finish(srv->store, job->order_id, c.id, NULL);
		log_info("issued certificate serial=%s order=%s account=%s names=%zu", c.serial, job->order_id,
		         job->account_id, job->nidents);
		events_add("certificate", job->idents[0].value, job->account_id, "issued", "serial %s, order %s",
		           c.serial, job->order_id);
	}
	ca_issued_clear(&out);
	free(dns);
	free(ips);
	issue_job_free(job);
}

int issuer_submit(struct issuer *is, const struct order *o, const char *account_url, EVP_PKEY **pub,
                  struct problem *p)
{
	const struct config *cfg = is->srv->cfg;
	struct issue_job *job = xcalloc(1, sizeof *job);
	job->srv = is->srv;
	job->is = is;
	memcpy(job->order_id, o->id, sizeof job->order_id);
	memcpy(job->account_id, o->account_id, sizeof job->account_id);
	job->account_url = xstrdup(account_url ? account_url : "");
	job->idents = xcalloc(o->nidents, sizeof *job->idents);
	memcpy(job->idents, o->idents, o->nidents * sizeof *job->idents);
	job->authz_ids = xcalloc(o->nidents, sizeof *job->authz_ids);
	memcpy(job->authz_ids, o->authz_ids, o->nidents * sizeof *job->authz_ids);
	job->nidents = o->nidents;
	job->nb = o->not_before;
	job->na = o->not_after;
	/* no notAfter from the client: the order's profile gives the lifetime */
	const struct profile *prof = job->na ? NULL : find_profile(cfg, o->profile[0] ? o->profile : "default");
	if (prof)
		job->na = (job->nb ? job->nb : time(NULL)) + prof->validity_seconds;
	job->pub = *pub;
	if (workq_submit(is->q, issue_run, job) < 0) {
		job->pub = NULL;
		issue_job_free(job);
		store_order_abort_finalize(is->srv->store, o->id);
		log_info("finalize of order %s refused: the issuer queue is full", o->id);
		return problem_set(p, PROB_RATE_LIMITED, 429,
		                   "the issuance queue is full; finalize this order again after the Retry-After "
		                   "interval");
	}
	*pub = NULL;
	return 0;
}
