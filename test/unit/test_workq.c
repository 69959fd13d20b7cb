/* test_workq: common/workq.c, the pool behind the VA and the issuer — every job runs once, in
 * order on one worker, a full queue is refused at once (never waited on), stop finishes what was
 * queued and refuses the rest, and each worker's init/fini pair brackets its jobs. The watchdog:
 * a job past its deadline + grace is finished by the overrun function, exactly once, on a pool
 * that keeps its size, and a bounded stop does not wait for the abandoned thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "common/workq.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct record {
	int ran;        /* jobs run */
	int order[64];  /* job numbers in the order they ran */
};

static void job_record(void *worker, void *job)
{
	struct record *r = worker;
	pthread_mutex_lock(&lock);
	if (r->ran < 64)
		r->order[r->ran] = (int)(intptr_t)job;
	r->ran++;
	pthread_mutex_unlock(&lock);
}

static void test_every_job_runs_once_and_stop_finishes_the_queue(void **state)
{
	struct record r = {0};
	struct workq *q = workq_new(4, 1000, NULL, NULL, &r);
	assert_non_null(q);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(workq_submit(q, job_record, (void *)(intptr_t)i), 0);
	workq_stop(q);
	assert_int_equal(r.ran, 1000);
	assert_int_equal(workq_pending(q), 0);
	workq_free(q);
}

static void test_one_worker_runs_jobs_in_order(void **state)
{
	struct record r = {0};
	struct workq *q = workq_new(1, 64, NULL, NULL, &r);
	for (int i = 0; i < 64; i++)
		assert_int_equal(workq_submit(q, job_record, (void *)(intptr_t)i), 0);
	workq_free(q);
	assert_int_equal(r.ran, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(r.order[i], i);
}

/* A job that holds its worker until released. */
struct gate {
	sem_t started, release;
};

static void job_gate(void *worker, void *job)
{
	struct gate *g = job;
	sem_post(&g->started);
	sem_wait(&g->release);
}

/* One worker with room for capacity jobs, busy with a gate job: the queue itself is empty. */
static struct workq *busy_queue(size_t capacity, struct record *r, struct gate *g)
{
	sem_init(&g->started, 0, 0);
	sem_init(&g->release, 0, 0);
	struct workq *q = workq_new(1, capacity, NULL, NULL, r);
	assert_int_equal(workq_submit(q, job_gate, g), 0);
	sem_wait(&g->started);
	return q;
}

/* Let the gate job end, finish the queue, free it. */
static void release_and_free(struct workq *q, struct gate *g)
{
	sem_post(&g->release);
	workq_free(q);
	sem_destroy(&g->started);
	sem_destroy(&g->release);
}

static void test_a_full_queue_is_refused_never_waited_on(void **state)
{
	struct record r = {0};
	struct gate g;
	struct workq *q = busy_queue(2, &r, &g);
	assert_int_equal(workq_pending(q), 1);
	assert_int_equal(workq_submit(q, job_record, (void *)1), 0);
	assert_int_equal(workq_submit(q, job_record, (void *)2), 0);
	assert_int_equal(workq_pending(q), 3);
	assert_int_equal(workq_submit(q, job_record, (void *)3), -1); /* at capacity: refused at once */
	release_and_free(q, &g);
	assert_int_equal(r.ran, 2);
}

static void test_submit_after_stop_fails_and_stop_is_idempotent(void **state)
{
	struct record r = {0};
	struct workq *q = workq_new(2, 8, NULL, NULL, &r);
	workq_stop(q);
	assert_int_equal(workq_submit(q, job_record, (void *)1), -1);
	workq_stop(q);
	assert_int_equal(r.ran, 0);
	workq_free(q);
	workq_stop(NULL);
	workq_free(NULL);
}

static void test_capacity_zero_holds_one_job(void **state)
{
	struct record r = {0};
	struct gate g;
	struct workq *q = busy_queue(0, &r, &g);
	assert_int_equal(workq_submit(q, job_record, (void *)1), 0);
	assert_int_equal(workq_submit(q, job_record, (void *)2), -1);
	release_and_free(q, &g);
	assert_int_equal(r.ran, 1);
}

/* init makes each worker's own state; every job sees its worker's state; fini gets it back */
struct pool {
	int inits, finis, jobs_in_finis;
};

struct worker {
	struct pool *pool;
	int jobs;
	int magic;
};

static void *worker_init(void *shared)
{
	struct worker *w = calloc(1, sizeof *w);
	w->pool = shared;
	w->magic = 0x5eed;
	pthread_mutex_lock(&lock);
	w->pool->inits++;
	pthread_mutex_unlock(&lock);
	return w;
}

static void worker_job(void *state, void *job)
{
	struct worker *w = state;
	assert_int_equal(w->magic, 0x5eed);
	w->jobs++;
}

static void worker_fini(void *state)
{
	struct worker *w = state;
	pthread_mutex_lock(&lock);
	w->pool->finis++;
	w->pool->jobs_in_finis += w->jobs;
	pthread_mutex_unlock(&lock);
	free(w);
}

static void test_init_and_fini_bracket_each_workers_jobs(void **state)
{
	struct pool p = {0};
	struct workq *q = workq_new(3, 500, worker_init, worker_fini, &p);
	for (int i = 0; i < 500; i++)
		assert_int_equal(workq_submit(q, worker_job, NULL), 0);
	workq_free(q);
	assert_int_equal(p.inits, 3);
	assert_int_equal(p.finis, 3);
	assert_int_equal(p.jobs_in_finis, 500);
}

/* --- the watchdog ---------------------------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool open;
	int overruns;   /* overrun calls */
	int claimed;    /* stuck jobs that finished themselves (must stay 0) */
	int dropped;    /* stuck jobs whose claim said the watchdog had finished them */
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* a job that sets itself a 0.2 s deadline, then ignores it until the gate opens */
static void job_stuck(void *state, void *job)
{
	workq_job_deadline(util_now_mono() + 0.2);
	pthread_mutex_lock(&wd.lock);
	while (!wd.open)
		pthread_cond_wait(&wd.cv, &wd.lock);
	pthread_mutex_unlock(&wd.lock);
	bool mine = workq_job_claim();
	pthread_mutex_lock(&wd.lock);
	if (mine)
		wd.claimed++;
	else
		wd.dropped++;
	pthread_mutex_unlock(&wd.lock);
}

static void on_overrun(void *shared, void *state, void *job, double late)
{
	assert_true(late >= 0.1); /* the grace */
	pthread_mutex_lock(&wd.lock);
	wd.overruns++;
	pthread_mutex_unlock(&wd.lock);
}

static int wd_get(const int *field)
{
	pthread_mutex_lock(&wd.lock);
	int v = *field;
	pthread_mutex_unlock(&wd.lock);
	return v;
}

static int ran_get(struct record *r)
{
	pthread_mutex_lock(&lock);
	int v = r->ran;
	pthread_mutex_unlock(&lock);
	return v;
}

/* the pool the test leaves to the process's end: its abandoned thread still uses it */
static struct workq *left_to_exit;

static void test_watchdog_takes_over_a_stuck_job_and_stop_leaves_it(void **state)
{
	struct record r = {0};
	struct workq *q = workq_new(1, 8, NULL, NULL, &r);
	assert_int_equal(workq_watch(q, 0.1, on_overrun), 0);
	double t0 = util_now_mono();
	assert_int_equal(workq_submit(q, job_stuck, NULL), 0);
	assert_int_equal(workq_submit(q, job_record, (void *)7), 0);
	/* taken over at deadline + grace; the job behind it runs on the replacement */
	while ((wd_get(&wd.overruns) == 0 || ran_get(&r) == 0) && util_now_mono() - t0 < 3)
		usleep(2000);
	double took = util_now_mono() - t0;
	assert_int_equal(wd_get(&wd.overruns), 1);
	assert_int_equal(ran_get(&r), 1);
	assert_true(took >= 0.3 && took < 1.5);
	size_t workers, abandoned, stuck;
	workq_stats(q, &workers, &abandoned, &stuck);
	assert_int_equal(workers, 1);
	assert_int_equal(abandoned, 1);
	assert_int_equal(stuck, 1);
	assert_int_equal(workq_pending(q), 0);
	/* the replacement is idle and the abandoned thread is not waited for */
	t0 = util_now_mono();
	assert_int_equal(workq_stop_within(q, NULL, NULL, 2.0), 1);
	assert_true(util_now_mono() - t0 < 1.0);
	left_to_exit = q;
	workq_free(q); /* leaves q to its stuck thread */
	/* the stuck job returns at last: its claim says it was finished already */
	pthread_mutex_lock(&wd.lock);
	wd.open = true;
	pthread_cond_broadcast(&wd.cv);
	pthread_mutex_unlock(&wd.lock);
	for (t0 = util_now_mono(); wd_get(&wd.dropped) == 0 && util_now_mono() - t0 < 3;)
		usleep(2000);
	assert_int_equal(wd_get(&wd.dropped), 1);
	assert_int_equal(wd_get(&wd.claimed), 0);
	assert_int_equal(wd_get(&wd.overruns), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_job_runs_once_and_stop_finishes_the_queue),
	    cmocka_unit_test(test_one_worker_runs_jobs_in_order),
	    cmocka_unit_test(test_a_full_queue_is_refused_never_waited_on),
	    cmocka_unit_test(test_submit_after_stop_fails_and_stop_is_idempotent),
	    cmocka_unit_test(test_capacity_zero_holds_one_job),
	    cmocka_unit_test(test_init_and_fini_bracket_each_workers_jobs),
	    cmocka_unit_test(test_watchdog_takes_over_a_stuck_job_and_stop_leaves_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
