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
	struct va_params params;
	psl_ctx_t *psl;
	bool abandoned; /* va_stop left workers inside jobs: never freed */
};

/* One worker thread's state (workq's worker state): what the methods see, and its VA. Owned by
 * the thread; the watchdog only reads w.step (atomic) while the thread is stuck in a job. */
struct va_thread {
	struct va_worker w;
	struct va *va;
};

static void *worker_init(void *shared)
{
	struct va *va = shared;
	struct va_thread *t = xcalloc(1, sizeof *t);
	t->va = va;
	t->w.srv = va->srv;
	t->w.psl = va->psl;
	char err[256] = "";
	t->w.dns = va->params.dns_new ? va->params.dns_new(va->params.dns_ctx) : dns_new(&va->dns_opt, err, sizeof err);
	if (!t->w.dns)
		log_error("va worker: DNS context: %s", err);
	return t;
}

static void worker_fini(void *state)
{
	struct va_thread *t = state;
	dns_free(t->w.dns);
	free(t);
}

/* Each step's words and problem type for the watchdog's detail (RFC 8555 §6.7: dns for a lookup,
 * connection and tls for the client's server; a job stuck before any step is cobble's own fault). */
static const struct {
	const char *words, *type;
	int status;
} steps[] = {
    [VA_STEP_START] = {"before its first step", PROB_SERVER_INTERNAL, 500},
    [VA_STEP_DNS] = {"a DNS lookup", PROB_DNS, 400},
    [VA_STEP_CONNECT] = {"connecting to the server", PROB_CONNECTION, 400},
    [VA_STEP_TLS] = {"the TLS handshake", PROB_TLS, 400},
    [VA_STEP_HTTP] = {"the HTTP fetch", PROB_CONNECTION, 400},
    [VA_STEP_CAA] = {"the CAA lookup", PROB_DNS, 400},
};

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
static void record_outcome(struct server *srv, const struct va_job *job, const struct va_result *res)
{
	struct validation_outcome o = va_outcome(srv->cfg, job, res);
	store_challenge_finish(srv->store, job->authz_id, job->chal_id, &o);
}

/* One monotonic deadline for the whole job, DNS included; the watchdog holds the job to it. */
static void job_deadline_start(struct va_thread *t)
{
	struct va_worker *w = &t->w;
	w->deadline = util_now_mono() + t->va->params.deadline;
	va_step(w, VA_STEP_START);
	if (w->dns)
		dns_set_deadline(w->dns, w->deadline);
	workq_job_deadline(w->deadline);
}

/* A JIT check's end, by its worker or by the watchdog: log it and resume the request. */
static void finish_jit(const struct va_job *job, const struct va_result *res)
{
	char subject[300];
	snprintf(subject, sizeof subject, "jit dns-persist-01 %s%s", job->wildcard ? "*." : "", job->ident.value);
	log_info("validation %s account=%s -> %s%s%s", subject, job->account_id,
	         res->ok ? "valid" : "pending (authz left for a challenge)", res->ok ? "" : ": ",
	         res->ok ? "" : res->error.detail);
	events_add("validation", subject, job->account_id, res->ok ? "valid" : "pending", "%s",
	           res->ok ? "record matched at newOrder" : res->error.detail);
	if (job->done)
		job->done(job->done_ctx);
}

/* JIT: a real check (never always-valid, never a pause); only a match changes anything. */
static void run_jit(struct va_thread *t, struct va_job *job)
{
	struct va_worker *w = &t->w;
	struct va_result res = {0};
	job_deadline_start(t);
	va_dns_persist(w, job, &res);
	/* spec §5: a JIT match must pass CAA too before the authz turns valid */
	if (res.ok && w->srv->cfg->caa)
		va_caa(w, job, &res);
	if (workq_job_claim()) { /* else the watchdog has resumed the request already */
		struct problem p;
		bool started = false;
		if (res.ok &&
		    store_challenge_start(w->srv->store, job->authz_id, job->chal_id, &started, NULL, &p) == 0 &&
		    started)
			record_outcome(w->srv, job, &res);
		finish_jit(job, &res);
	}
	free(res.validation_record);
	free(job);
}

/* A validation's end, by its worker or by the watchdog: the verdict into the store, the
 * failure limits, one log line and one event. */
static void finish_job(struct server *srv, const struct va_job *job, const struct va_result *res, double t0)
{
	record_outcome(srv, job, res);
	/* spec §4a: every dns-persist-01 outcome but valid counts against the limits */
	if (!res->ok && strcmp(job->type, "dns-persist-01") == 0)
		faillimit_record(srv->fails, job->account_id, job->ident.value);
	/* one line per validation: method, identifier, what was looked at, verdict, reason */
	char subject[300];
	snprintf(subject, sizeof subject, "%s %s%s", job->type, job->wildcard ? "*." : "", job->ident.value);
	log_info("validation %s account=%s looked-at=%s -> %s%s%s (%.0f ms)", subject, job->account_id,
	         res->validation_record ? res->validation_record : "[]", res->ok ? "valid" : "invalid",
	         res->ok ? "" : ": ", res->ok ? "" : res->error.detail, (util_now_mono() - t0) * 1000.0);
	char looked[600];
	describe_record(res->validation_record, looked, sizeof looked);
	events_add("validation", subject, job->account_id, res->ok ? "valid" : "invalid", "%s",
	           res->ok ? looked : res->error.detail);
}

/* The watchdog's takeover (workq_overrun_fn) of a job still running grace seconds past its
 * deadline: fail it (a JIT check: leave the authz pending and resume the request) with the step
 * it was stuck in. The stuck thread owns job and state and frees the job once its claim fails;
 * this only reads them (state's step atomically). */
static void job_overrun(void *shared, void *state, void *arg, double late)
{
	struct va *va = shared;
	struct va_thread *t = state;
	const struct va_job *job = arg;
	int step = atomic_load(&t->w.step);
	if (step < 0 || (size_t)step >= sizeof steps / sizeof steps[0])
		step = VA_STEP_START;
	struct va_result res = {0};
	problem_set(&res.error, steps[step].type, steps[step].status,
	            "the validation of %s%s did not finish within its %g s deadline: it was stuck in %s, "
	            "and cobble stopped waiting for it %.1f s later",
	            job->wildcard ? "*." : "", job->ident.value, va->params.deadline, steps[step].words, late);
	log_error("va watchdog: %s %s%s account=%s stuck in %s %.1f s past its deadline: worker abandoned and "
	          "replaced",
	          job->type, job->wildcard ? "*." : "", job->ident.value, job->account_id, steps[step].words, late);
	if (job->jit) {
		finish_jit(job, &res);
		return;
	}
	res.validation_record = xstrdup("[{\"note\":\"stopped by the watchdog past the validation's deadline\"}]");
	finish_job(va->srv, job, &res, t->w.deadline - va->params.deadline);
	free(res.validation_record);
}

static void run_job(void *state, void *arg)
{
	struct va_thread *t = state;
	struct va_worker *w = &t->w;
	struct va_job *job = arg;
	const struct config *cfg = w->srv->cfg;
	struct va_result res = {0};
	double t0 = util_now_mono();

	if (job->jit) {
		run_jit(t, job);
		return;
	}
	/* Pebble: a random pause so clients that do not poll correctly are caught */
	if (cfg->va_sleep_max > 0 && !cfg->va_always_valid) {
		usleep((useconds_t)util_random_below((uint32_t)cfg->va_sleep_max * 1000 + 1) * 1000);
	}
	const struct challenge_type *ct = challenge_find(job->type);
	job_deadline_start(t);
	if (cfg->va_always_valid) {
		res.ok = true;
		res.validation_record = xstrdup("[{\"note\":\"not validated: COBBLE_VA_ALWAYS_VALID is set\"}]");
	} else if (ct) {
		ct->validate(w, job, &res);
	} else {
		problem_set(&res.error, PROB_SERVER_INTERNAL, 500, "this build of cobble does not validate %s", job->type);
	}
	/* spec §5: CAA for every method, once its own check passed (never under always-valid) */
	if (res.ok && cfg->caa && !cfg->va_always_valid && strcmp(job->ident.type, "dns") == 0)
		va_caa(w, job, &res);
	if (workq_job_claim())
		finish_job(w->srv, job, &res, t0);
	else /* the watchdog failed this validation already: this late result is dropped */
		log_info("validation %s %s%s account=%s came back after the watchdog had failed it: result dropped",
		         job->type, job->wildcard ? "*." : "", job->ident.value, job->account_id);
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
	const struct va_params p = {.deadline = VA_DEADLINE_SECONDS, .grace = VA_WATCHDOG_GRACE_SECONDS};
	return va_new_with(srv, &p, err, errlen);
}

struct va *va_new_with(struct server *srv, const struct va_params *p, char *err, size_t errlen)
{
	struct va *va = xcalloc(1, sizeof *va);
	const struct config *c = srv->cfg;
	va->srv = srv;
	va->params = *p;
	va_dns_options(c, &va->dns_opt);
	/* fail at start-up, not at the first validation, when the DNS settings are unusable */
	struct dns *probe = p->dns_new ? NULL : dns_new(&va->dns_opt, err, errlen);
	if (!p->dns_new && !probe) {
		free(va);
		return NULL;
	}
	dns_free(probe);
	/* public suffixes for dnsPersist.subdomains: the newest of the built-in and system lists */
	va->psl = psl_latest(NULL);
	va->q = workq_new((size_t)c->va_workers, (size_t)c->va_queue, worker_init, worker_fini, va);
	if (!va->q || workq_watch(va->q, p->grace, job_overrun) < 0) {
		snprintf(err, errlen, "could not start the validation workers");
		workq_free(va->q);
		psl_free(va->psl);
		free(va);
		return NULL;
	}
	return va;
}

void va_stats(struct va *va, size_t *workers, size_t *pending, size_t *abandoned, size_t *stuck)
{
	workq_stats(va->q, workers, abandoned, stuck);
	if (pending)
		*pending = workq_pending(va->q);
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
