/* test_va_watchdog: the VA's per-job watchdog (server/va.c over common/workq.c). A validation whose
 * DNS lookup ignores the deadline (the fake resolver blocks on a condition variable) is failed by
 * the watchdog at deadline + grace with a detail naming the step; a job queued behind it completes
 * meanwhile on a replacement worker, the pool keeping its size; when the stuck lookup finally
 * returns, its late result is dropped (the stored verdict stays the watchdog's) and its thread
 * leaves. A JIT check stuck the same way has its request resumed exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "server/faillimit.h"
#include "server/va_classic.h"
#include "test/unit/va_fake.h"

#define DEADLINE 0.4
#define GRACE 0.3
#define STUCK "stuck.test"

/* The resolver that ignores its deadline: a question about STUCK waits until the test opens the
 * gate. Each worker gets its own fake (a fake records its questions), all on one zone. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool open;
	int blocked;                 /* questions waiting at the gate now */
	struct dns_fake fakes[8];
	size_t nfakes;
	const struct dns_fake_rr *zone;
} gate = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void block_on_stuck(void *ctx, const char *question)
{
	(void)ctx;
	if (!strstr(question, STUCK))
		return;
	pthread_mutex_lock(&gate.lock);
	gate.blocked++;
	while (!gate.open)
		pthread_cond_wait(&gate.cv, &gate.lock);
	gate.blocked--;
	pthread_mutex_unlock(&gate.lock);
}

static struct dns *worker_dns(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&gate.lock);
	assert_true(gate.nfakes < sizeof gate.fakes / sizeof gate.fakes[0]);
	struct dns_fake *f = &gate.fakes[gate.nfakes++];
	memset(f, 0, sizeof *f);
	f->rrs = gate.zone;
	f->on_question = block_on_stuck;
	pthread_mutex_unlock(&gate.lock);
	return dns_fake_new(f);
}

static void gate_reset(const struct dns_fake_rr *zone)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = false;
	gate.blocked = 0;
	gate.nfakes = 0;
	gate.zone = zone;
	pthread_mutex_unlock(&gate.lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.lock);
}

/* An authorization for job's identifier with one challenge of job's type, started as a challenge
 * POST starts it; fills job->authz_id and chal_id. */
static void add_authz(struct store *s, struct va_job *job)
{
	struct authz a = {.status = ST_PENDING, .expires = util_clock() + 3600, .nchal = 1, .wildcard = job->wildcard};
	a.ident = job->ident;
	snprintf(a.account_id, sizeof a.account_id, "%s", job->account_id);
	snprintf(a.chal[0].type, sizeof a.chal[0].type, "%s", job->type);
	snprintf(a.chal[0].token, sizeof a.chal[0].token, "%s", job->token);
	a.chal[0].status = ST_PENDING;
	store_authz_add(s, &a);
	snprintf(job->authz_id, sizeof job->authz_id, "%s", a.id);
	snprintf(job->chal_id, sizeof job->chal_id, "%s", a.chal[0].id);
	bool started = false;
	struct problem p;
	assert_int_equal(store_challenge_start(s, a.id, a.chal[0].id, &started, NULL, &p), 0);
	assert_true(started);
	store_authz_clear(&a);
}

/* The challenge as stored now (the caller clears *a). */
static const struct challenge *challenge_now(struct store *s, const struct va_job *job, struct authz *a)
{
	assert_int_equal(store_authz_get(s, job->authz_id, a), 0);
	return &a->chal[0];
}

/* Poll until job's challenge has left `processing`, at most `seconds`; returns its status. */
static enum status wait_verdict(struct store *s, const struct va_job *job, double seconds)
{
	double until = util_now_mono() + seconds;
	for (;;) {
		struct authz a;
		enum status st = challenge_now(s, job, &a)->status;
		store_authz_clear(&a);
		if (st != ST_PROCESSING || util_now_mono() > until)
			return st;
		usleep(5000);
	}
}

struct bench {
	struct va_fake f; /* configuration, server, store with the account, the first job */
	struct va *va;
};

static void bench_start(struct bench *b, const struct dns_fake_rr *zone, int workers)
{
	gate_reset(zone);
	va_fake_init(&b->f, STUCK, "dns-persist-01", zone);
	b->f.cfg.va_workers = workers;
	b->f.cfg.va_sleep_max = 0;
	b->f.cfg.caa = false;
	b->f.srv.fails = faillimit_new(b->f.cfg.fail_limit_identifier, b->f.cfg.fail_limit_account,
	                               b->f.cfg.fail_limit_window);
	const struct va_params p = {.deadline = DEADLINE, .grace = GRACE, .dns_new = worker_dns};
	char err[256];
	b->va = va_new_with(&b->f.srv, &p, err, sizeof err);
	assert_non_null(b->va);
}

/* Let the stuck lookups return and wait for their threads to leave. */
static void bench_release(struct bench *b)
{
	gate_open();
	size_t stuck = 1;
	for (double until = util_now_mono() + 5; stuck && util_now_mono() < until; usleep(5000))
		va_stats(b->va, NULL, NULL, NULL, &stuck);
	assert_int_equal(stuck, 0);
}

/* Stop the VA: every thread has been joined then, so nothing is left for the leak checker. */
static void bench_stop(struct bench *b)
{
	assert_int_equal(va_stop(b->va), 0);
	va_free(b->va);
	faillimit_free(b->f.srv.fails);
	va_fake_clear(&b->f);
}

static void test_stuck_job_is_failed_and_its_worker_replaced(void **state)
{
	static char digest[44];
	unsigned char raw[32];
	struct bench b;
	/* the job queued behind: dns-01 for ok.test with its record published */
	static struct dns_fake_rr zone[] = {{"_acme-challenge.ok.test", DNS_QTYPE_TXT, DNS_OK, 60, {digest}}, {0}};
	bench_start(&b, zone, 1);
	struct va_job stuck = b.f.job, behind = b.f.job;
	snprintf(behind.type, sizeof behind.type, "dns-01");
	snprintf(behind.ident.value, sizeof behind.ident.value, "ok.test");
	char b64[44];
	va_keyauthz_digest(behind.key_authz, raw, b64);
	memcpy(digest, b64, sizeof digest);
	add_authz(b.f.store, &stuck);
	add_authz(b.f.store, &behind);

	double t0 = util_now_mono();
	assert_int_equal(va_submit(b.va, &stuck), 0);
	assert_int_equal(va_submit(b.va, &behind), 0);

	/* the stuck job fails by its deadline + grace (and not before its deadline) */
	enum status st = wait_verdict(b.f.store, &stuck, DEADLINE + GRACE + 3);
	double took = util_now_mono() - t0;
	print_message("# the stuck validation ended after %.2f s (deadline %.1f s + grace %.1f s)\n", took, DEADLINE,
	              GRACE);
	assert_int_equal(st, ST_INVALID);
	assert_true(took >= DEADLINE);
	assert_true(took < DEADLINE + GRACE + 1.5);
	struct authz a;
	const struct challenge *c = challenge_now(b.f.store, &stuck, &a);
	print_message("# %s %d: %s\n", c->error.type, c->error.status, c->error.detail);
	assert_string_equal(c->error.type, "dns");
	assert_non_null(strstr(c->error.detail, "did not finish within its 0.4 s deadline"));
	assert_non_null(strstr(c->error.detail, "stuck in a DNS lookup"));
	assert_non_null(strstr(c->error.detail, STUCK));
	char *first_detail = xstrdup(c->error.detail);
	store_authz_clear(&a);

	/* the job behind it completes on the replacement while the stuck lookup still waits */
	assert_int_equal(wait_verdict(b.f.store, &behind, 3), ST_VALID);
	pthread_mutex_lock(&gate.lock);
	int blocked = gate.blocked;
	pthread_mutex_unlock(&gate.lock);
	assert_int_equal(blocked, 1);
	size_t workers, pending, abandoned, nstuck;
	va_stats(b.va, &workers, &pending, &abandoned, &nstuck);
	print_message("# workers %zu, pending %zu, abandoned %zu, stuck %zu\n", workers, pending, abandoned, nstuck);
	assert_int_equal(workers, 1);
	assert_int_equal(pending, 0);
	assert_int_equal(abandoned, 1);
	assert_int_equal(nstuck, 1);

	/* the lookup returns at last: its result is dropped, the watchdog's verdict stays */
	bench_release(&b);
	c = challenge_now(b.f.store, &stuck, &a);
	assert_int_equal(c->status, ST_INVALID);
	assert_string_equal(c->error.detail, first_detail);
	store_authz_clear(&a);
	free(first_detail);
	va_stats(b.va, &workers, NULL, &abandoned, &nstuck);
	assert_int_equal(workers, 1);
	assert_int_equal(abandoned, 1);
	bench_stop(&b);
}

static atomic_int resumed;
static void count_resume(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&resumed, 1);
}

/* dnsPersist.jit (draft §4.4): the suspended newOrder is resumed by the watchdog, once, and the
 * authorization stays pending (a JIT miss changes nothing). */
static void test_stuck_jit_check_resumes_its_request_once(void **state)
{
	static const struct dns_fake_rr zone[] = {{0}};
	struct bench b;
	bench_start(&b, zone, 2);
	struct va_job job = b.f.job;
	add_authz(b.f.store, &job);
	store_challenge_abort(b.f.store, job.authz_id, job.chal_id); /* JIT checks a pending challenge */
	job.jit = true;
	job.done = count_resume;
	atomic_store(&resumed, 0);
	double t0 = util_now_mono();
	assert_int_equal(va_submit(b.va, &job), 0);
	while (atomic_load(&resumed) == 0 && util_now_mono() - t0 < DEADLINE + GRACE + 3)
		usleep(5000);
	double took = util_now_mono() - t0;
	print_message("# the request was resumed after %.2f s\n", took);
	assert_int_equal(atomic_load(&resumed), 1);
	assert_true(took >= DEADLINE && took < DEADLINE + GRACE + 1.5);
	bench_release(&b);
	assert_int_equal(atomic_load(&resumed), 1);
	struct authz a;
	assert_int_equal(challenge_now(b.f.store, &job, &a)->status, ST_PENDING);
	store_authz_clear(&a);
	size_t workers, abandoned;
	va_stats(b.va, &workers, NULL, &abandoned, NULL);
	assert_int_equal(workers, 2);
	assert_int_equal(abandoned, 1);
	bench_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stuck_job_is_failed_and_its_worker_replaced),
	    cmocka_unit_test(test_stuck_jit_check_resumes_its_request_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
