/* va: the validation queue and workers; dispatch to one function per method. */
#include "server/va.h"
#include "common/dns.h"
#include "common/log.h"
#include "common/util.h"
#include "common/workq.h"
#include "server/challenge.h"
#include "server/events.h"
#include "server/faillimit.h"

#include <jansson.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct va {
	struct server *srv;
	struct workq *q;
	struct dns_options dns_opt;
	psl_ctx_t *psl;
	bool abandoned; /* va_stop left workers inside jobs: never freed */
};

static void *worker_init(void *shared)
{
	struct va *va = shared;
	struct va_worker *w = xcalloc(1, sizeof *w);
	w->srv = va->srv;
	w->psl = va->psl;
	char err[256];
	w->dns = dns_new(&va->dns_opt, err, sizeof err);
	if (!w->dns)
		log_error("va worker: DNS context: %s", err);
	return w;
}

static void worker_fini(void *state)
{
	struct va_worker *w = state;
	dns_free(w->dns);
	free(w);
}

/* The validation record in words for the status page: "TXT _validation-persist.x via
 * 127.0.0.1:53", "fetched http://x:5002/.well-known/...". */
static void describe_record(const char *record, char *out, size_t outlen)
{
	json_t *arr = record ? json_loads(record, 0, NULL) : NULL;
	size_t i, n = 0;
	json_t *e;
	out[0] = '\0';
	json_array_foreach(arr, i, e) {
		const char *url = json_string_value(json_object_get(e, "url"));
		const char *host = json_string_value(json_object_get(e, "hostname"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *via = json_string_value(json_object_get(e, "resolver"));
		const char *note = json_string_value(json_object_get(e, "note"));
		const char *port = json_string_value(json_object_get(e, "port"));
		if (n >= outlen - 1)
			break;
		if (url)
			n += (size_t)snprintf(out + n, outlen - n, "%sfetched %s", i ? "; " : "", url);
		else if (host && type)
			n += (size_t)snprintf(out + n, outlen - n, "%slooked up %s %s%s%s", i ? "; " : "", type, host,
			                      via ? " via " : "", via ? via : "");
		else if (host)
			n += (size_t)snprintf(out + n, outlen - n, "%sconnected to %s%s%s", i ? "; " : "", host,
			                      port ? " port " : "", port ? port : "");
		else if (note)
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? "; " : "", note);
	}
	json_decref(arr);
}

struct validation_outcome va_outcome(const struct config *cfg, const struct va_job *job,
                                     const struct va_result *res)
{
	struct validation_outcome o = {
	    .ok = res->ok,
	    .error = &res->error,
	    .validation_record = res->validation_record,
	    .record_ttl = res->record_ttl,
	    .has_persist_until = res->has_persist_until,
	    .persist_until = res->persist_until,
	    .valid_lifetime = cfg->authz_lifetime,
	};
	/* spec dns-persist-01 §4: under -02 a persist authz never outlives the record's persistUntil */
	if (res->ok && res->has_persist_until && cfg->persist_draft == PERSIST_DRAFT_02 &&
	    strcmp(job->type, "dns-persist-01") == 0)
		o.expires_cap = res->persist_until > (uint64_t)INT64_MAX ? 0 : (time_t)res->persist_until;
	return o;
}

/* The verdict as the store records it. */
static void record_outcome(struct va_worker *w, const struct va_job *job, const struct va_result *res)
{
	struct validation_outcome o = va_outcome(w->srv->cfg, job, res);
	store_challenge_finish(w->srv->store, job->authz_id, job->chal_id, &o);
}

/* One monotonic deadline for the whole job, DNS included. */
static void job_deadline_start(struct va_worker *w)
{
	w->deadline = util_now_mono() + VA_DEADLINE_SECONDS;
	if (w->dns)
		dns_set_deadline(w->dns, w->deadline);
}

/* JIT: a real check (never always-valid, never a pause); only a match changes anything. */
static void run_jit(struct va_worker *w, struct va_job *job)
{
	struct va_result res = {0};
	job_deadline_start(w);
	va_dns_persist(w, job, &res);
	/* spec §5: a JIT match must pass CAA too before the authz turns valid */
	if (res.ok && w->srv->cfg->caa)
		va_caa(w, job, &res);
	struct problem p;
	bool started = false;
	if (res.ok && store_challenge_start(w->srv->store, job->authz_id, job->chal_id, &started, NULL, &p) == 0 &&
	    started)
		record_outcome(w, job, &res);
	char subject[300];
	snprintf(subject, sizeof subject, "jit dns-persist-01 %s%s", job->wildcard ? "*." : "", job->ident.value);
	log_info("validation %s account=%s -> %s%s%s", subject, job->account_id,
	         res.ok ? "valid" : "pending (authz left for a challenge)", res.ok ? "" : ": ",
	         res.ok ? "" : res.error.detail);
	events_add("validation", subject, job->account_id, res.ok ? "valid" : "pending", "%s",
	           res.ok ? "record matched at newOrder" : res.error.detail);
	free(res.validation_record);
	if (job->done)
		job->done(job->done_ctx);
	free(job);
}

static void run_job(void *state, void *arg)
{
	struct va_worker *w = state;
	struct va_job *job = arg;
	const struct config *cfg = w->srv->cfg;
	struct va_result res = {0};
	double t0 = util_now_mono();

	if (job->jit) {
		run_jit(w, job);
		return;
	}
	/* Pebble: a random pause so clients that do not poll correctly are caught */
	if (cfg->va_sleep_max > 0 && !cfg->va_always_valid) {
		usleep((useconds_t)util_random_below((uint32_t)cfg->va_sleep_max * 1000 + 1) * 1000);
	}
	const struct challenge_type *t = challenge_find(job->type);
	job_deadline_start(w);
	if (cfg->va_always_valid) {
		res.ok = true;
		res.validation_record = xstrdup("[{\"note\":\"not validated: COBBLE_VA_ALWAYS_VALID is set\"}]");
	} else if (t) {
		t->validate(w, job, &res);
	} else {
		problem_set(&res.error, PROB_SERVER_INTERNAL, 500, "this build of cobble does not validate %s", job->type);
	}
	/* spec §5: CAA for every method, once its own check passed (never under always-valid) */
	if (res.ok && cfg->caa && !cfg->va_always_valid && strcmp(job->ident.type, "dns") == 0)
		va_caa(w, job, &res);
	record_outcome(w, job, &res);
	/* spec §4a: every dns-persist-01 outcome but valid counts against the limits */
	if (!res.ok && strcmp(job->type, "dns-persist-01") == 0)
		faillimit_record(w->srv->fails, job->account_id, job->ident.value);
	/* one line per validation: method, identifier, what was looked at, verdict, reason */
	char subject[300];
	snprintf(subject, sizeof subject, "%s %s%s", job->type, job->wildcard ? "*." : "", job->ident.value);
	log_info("validation %s account=%s looked-at=%s -> %s%s%s (%.0f ms)", subject, job->account_id,
	         res.validation_record ? res.validation_record : "[]", res.ok ? "valid" : "invalid",
	         res.ok ? "" : ": ", res.ok ? "" : res.error.detail, (util_now_mono() - t0) * 1000.0);
	char looked[600];
	describe_record(res.validation_record, looked, sizeof looked);
	events_add("validation", subject, job->account_id, res.ok ? "valid" : "invalid", "%s",
	           res.ok ? looked : res.error.detail);
	free(res.validation_record);
	free(job);
}

void va_dns_options(const struct config *c, struct dns_options *o)
{
	memset(o, 0, sizeof *o);
	o->resolvers = (const char *const *)c->resolvers;
	o->nresolvers = c->nresolvers;
	o->dnssec = strcmp(c->dnssec, "validate") == 0  ? DNS_DNSSEC_VALIDATE
	            : strcmp(c->dnssec, "require") == 0 ? DNS_DNSSEC_REQUIRE
	                                                : DNS_DNSSEC_OFF;
	o->trust_anchor_file = c->trust_anchor[0] ? c->trust_anchor : NULL;
	o->timeout_ms = (unsigned)c->dns_timeout_ms;
}

struct va *va_new(struct server *srv, char *err, size_t errlen)
{
	struct va *va = xcalloc(1, sizeof *va);
	const struct config *c = srv->cfg;
	va->srv = srv;
	va_dns_options(c, &va->dns_opt);
	/* fail at start-up, not at the first validation, when the DNS settings are unusable */
	struct dns *probe = dns_new(&va->dns_opt, err, errlen);
	if (!probe) {
		free(va);
		return NULL;
	}
	dns_free(probe);
	/* public suffixes for dnsPersist.subdomains: the newest of the built-in and system lists */
	va->psl = psl_latest(NULL);
	va->q = workq_new((size_t)c->va_workers, (size_t)c->va_queue, worker_init, worker_fini, va);
	if (!va->q) {
		snprintf(err, errlen, "could not start the validation workers");
		free(va);
		return NULL;
	}
	return va;
}

/* A queued job dropped at shutdown: a JIT check still resumes its suspended request. */
static void drop_job(void *state, void *arg)
{
	struct va_job *job = arg;
	(void)state;
	log_info("validation %s %s%s account=%s dropped: cobble is shutting down", job->type,
	         job->wildcard ? "*." : "", job->ident.value, job->account_id);
	if (job->done)
		job->done(job->done_ctx);
	free(job);
}

size_t va_stop(struct va *va)
{
	if (!va)
		return 0;
	size_t left = workq_stop_within(va->q, drop_job, NULL, VA_STOP_SECONDS);
	if (left)
		va->abandoned = true;
	return left;
}

void va_free(struct va *va)
{
	if (!va || va->abandoned) /* a worker still inside a job uses va */
		return;
	workq_free(va->q);
	psl_free(va->psl);
	free(va);
}

int va_submit(struct va *va, const struct va_job *job)
{
	struct va_job *copy = xmalloc(sizeof *copy);
	*copy = *job;
	if (workq_submit(va->q, run_job, copy) < 0) {
		free(copy);
		return -1;
	}
	return 0;
}
