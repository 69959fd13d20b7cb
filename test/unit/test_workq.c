/* test_workq: common/workq.c, the pool behind the VA and the issuer — every job runs once, in
 * order on one worker, a full queue is refused at once (never waited on), stop finishes what was
 * queued and refuses the rest, and each worker's init/fini pair brackets its jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_job_runs_once_and_stop_finishes_the_queue),
	    cmocka_unit_test(test_one_worker_runs_jobs_in_order),
	    cmocka_unit_test(test_a_full_queue_is_refused_never_waited_on),
	    cmocka_unit_test(test_submit_after_stop_fails_and_stop_is_idempotent),
	    cmocka_unit_test(test_capacity_zero_holds_one_job),
	    cmocka_unit_test(test_init_and_fini_bracket_each_workers_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
