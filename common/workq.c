/* workq: a fixed pool of worker threads fed by a bounded FIFO queue. */
#include "common/workq.h"
#include "common/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct item {
	workq_job_fn fn;
	void *job;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_cond_t exited_cv;
	struct item *ring;
	size_t cap, head, count, running, exited;
	bool stopping;
	bool abandoned; /* workers were left running at a bounded stop: q is never freed */
	pthread_t *threads;
	size_t nthreads;
	workq_init_fn init;
	workq_fini_fn fini;
	void *shared;
};

static void *worker_main(void *arg)
{
	struct workq *q = arg;
	void *state = q->init ? q->init(q->shared) : q->shared;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (q->count == 0 && !q->stopping)
			pthread_cond_wait(&q->nonempty, &q->lock);
		if (q->count == 0 && q->stopping) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		struct item it = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->running++;
		pthread_mutex_unlock(&q->lock);

		it.fn(state, it.job);

		pthread_mutex_lock(&q->lock);
		q->running--;
		pthread_mutex_unlock(&q->lock);
	}
	if (q->fini)
		q->fini(state);
	pthread_mutex_lock(&q->lock);
	q->exited++;
	pthread_cond_broadcast(&q->exited_cv);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct workq *workq_new(size_t nthreads, size_t capacity, workq_init_fn init, workq_fini_fn fini,
                        void *shared)
{
	struct workq *q = xcalloc(1, sizeof *q);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	pthread_cond_init(&q->exited_cv, NULL);
	q->cap = capacity ? capacity : 1;
	q->ring = xcalloc(q->cap, sizeof *q->ring);
	q->init = init;
	q->fini = fini;
	q->shared = shared;
	q->threads = xcalloc(nthreads ? nthreads : 1, sizeof *q->threads);
	for (size_t i = 0; i < (nthreads ? nthreads : 1); i++) {
		if (pthread_create(&q->threads[i], NULL, worker_main, q) != 0)
			break;
		q->nthreads++;
	}
	if (q->nthreads == 0) {
		workq_free(q);
		return NULL;
	}
	return q;
}

int workq_submit(struct workq *q, workq_job_fn fn, void *job)
{
	int rc = -1;
	pthread_mutex_lock(&q->lock);
	if (!q->stopping && q->count < q->cap) {
		q->ring[(q->head + q->count) % q->cap] = (struct item){fn, job};
		q->count++;
		pthread_cond_signal(&q->nonempty);
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

size_t workq_pending(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->count + q->running;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void workq_stop(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	bool joined = q->stopping; /* by an earlier workq_stop or workq_stop_within */
	q->stopping = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
	if (joined)
		return;
	for (size_t i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
}

size_t workq_stop_within(struct workq *q, workq_job_fn drop, void *drop_state, double seconds)
{
	if (!q)
		return 0;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) { /* stopped before: nothing more to wait for here */
		size_t left = q->abandoned ? q->nthreads - q->exited : 0;
		pthread_mutex_unlock(&q->lock);
		return left;
	}
	q->stopping = true;
	/* the queued jobs leave the queue now, so no worker starts one of them */
	size_t n = q->count;
	struct item *queued = xcalloc(n ? n : 1, sizeof *queued);
	for (size_t i = 0; i < n; i++)
		queued[i] = q->ring[(q->head + i) % q->cap];
	q->count = 0;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < n; i++)
		if (drop)
			drop(drop_state, queued[i].job);
	free(queued);

	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)seconds;
	until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (q->exited < q->nthreads && pthread_cond_timedwait(&q->exited_cv, &q->lock, &until) == 0)
		;
	size_t left = q->nthreads - q->exited;
	if (left)
		q->abandoned = true;
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < q->nthreads; i++) {
		if (left)
			pthread_detach(q->threads[i]); /* those still in a job end with the process */
		else
			pthread_join(q->threads[i], NULL);
	}
	return left;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	workq_stop(q);
	if (q->abandoned)
		return; /* a worker may still be inside a job that uses q */
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->exited_cv);
	free(q->threads);
	free(q->ring);
	free(q);
}
