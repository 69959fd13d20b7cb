/* workq: a fixed pool of worker threads fed by a bounded FIFO queue, with an optional watchdog
 * that takes over jobs running past their deadline and replaces their threads. */
#include "common/workq.h"
#include "common/log.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct item {
	workq_job_fn fn;
	void *job;
};

/* Where a worker stands; every change happens under q->lock. */
enum phase {
	PHASE_IDLE,      /* waiting for a job */
	PHASE_RUNNING,   /* inside a job the watchdog may take over */
	PHASE_CLAIMED,   /* inside a job that claimed its result: the watchdog leaves it */
	PHASE_ABANDONED, /* its job was taken over: the thread leaves as soon as the job returns */
};

/* One thread. On q->workers from its start until it is joined; the thread owns state and its
 * job, the list owns this record (freed by whoever joins the thread). */
struct worker {
	struct workq *q;
	pthread_t thread;
	void *state;         /* init's result (written before the first job, read by the watchdog) */
	void *job;           /* the job it is in, or NULL */
	double deadline;     /* that job's, from workq_job_deadline; 0: none */
	enum phase phase;
	bool overrun_done;   /* abandoned: the overrun function has returned, the job may be freed */
	bool exited;         /* past its last use of q: a join returns at once */
	struct worker *next;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_cond_t changed;  /* a worker exited, or an overrun call ended (monotonic clock) */
	struct item *ring;
	size_t cap, head, count, running;
	size_t size;             /* workers in the pool (abandoned ones are not) */
	size_t abandoned_total;  /* workers abandoned since the start */
	bool stopping;
	bool left_running;       /* workers were left inside jobs at a bounded stop: q is never freed */
	struct worker *workers;  /* every thread not yet joined, abandoned ones included */
	workq_init_fn init;
	workq_fini_fn fini;
	void *shared;
	/* the watchdog */
	bool watching, watch_stop;
	pthread_t watchdog;
	double grace;
	workq_overrun_fn overrun;
};

/* The worker record of the calling thread (NULL outside a pool's worker). */
static _Thread_local struct worker *self;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct workq *q = w->q;
	self = w;
	void *state = q->init ? q->init(q->shared) : q->shared;
	pthread_mutex_lock(&q->lock);
	w->state = state;
	for (;;) {
		while (q->count == 0 && !q->stopping)
			pthread_cond_wait(&q->nonempty, &q->lock);
		if (q->count == 0 && q->stopping)
			break;
		struct item it = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->running++;
		w->job = it.job;
		w->deadline = 0;
		w->phase = PHASE_RUNNING;
		pthread_mutex_unlock(&q->lock);

		it.fn(state, it.job);

		pthread_mutex_lock(&q->lock);
		if (w->phase == PHASE_ABANDONED)
			break; /* the watchdog finished the job and took this thread out of the pool */
		q->running--;
		w->job = NULL;
		w->phase = PHASE_IDLE;
	}
	pthread_mutex_unlock(&q->lock);
	if (q->fini)
		q->fini(state);
	pthread_mutex_lock(&q->lock);
	w->exited = true;
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* A new worker on q's list (under q->lock). Returns 0, or -1 when no thread could start. */
static int start_worker(struct workq *q)
{
	struct worker *w = xcalloc(1, sizeof *w);
	w->q = q;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		free(w);
		return -1;
	}
	w->next = q->workers;
	q->workers = w;
	q->size++;
	return 0;
}

/* Take the workers that have exited off q's list (under q->lock); the caller joins and frees
 * them with join_all once it no longer holds the lock. */
static struct worker *take_exited(struct workq *q)
{
	struct worker *done = NULL, **pp = &q->workers;
	while (*pp) {
		struct worker *w = *pp;
		if (w->exited) {
			*pp = w->next;
			w->next = done;
			done = w;
		} else {
			pp = &w->next;
		}
	}
	return done;
}

static void join_all(struct worker *list)
{
	while (list) {
		struct worker *next = list->next;
		pthread_join(list->thread, NULL);
		free(list);
		list = next;
	}
}

/* Wait on q->changed until `until` (a util_now_mono() time); under q->lock. */
static void wait_changed(struct workq *q, double until)
{
	struct timespec ts;
	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(&q->changed, &q->lock, &ts);
}

struct workq *workq_new(size_t nthreads, size_t capacity, workq_init_fn init, workq_fini_fn fini,
                        void *shared)
{
	struct workq *q = xcalloc(1, sizeof *q);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* util_now_mono's clock */
	pthread_cond_init(&q->changed, &ca);
	pthread_condattr_destroy(&ca);
	q->cap = capacity ? capacity : 1;
	q->ring = xcalloc(q->cap, sizeof *q->ring);
	q->init = init;
	q->fini = fini;
	q->shared = shared;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < (nthreads ? nthreads : 1); i++)
		if (start_worker(q) < 0)
			break;
	size_t started = q->size;
	pthread_mutex_unlock(&q->lock);
	if (started == 0) {
		workq_free(q);
		return NULL;
	}
	return q;
}

/* The watchdog: sleeps until the earliest deadline + grace of a running job (at most 1 s), takes
 * over the jobs past it, and joins the abandoned threads that have come back. */
static void *watchdog_main(void *arg)
{
	struct workq *q = arg;
	pthread_mutex_lock(&q->lock);
	while (!q->watch_stop) {
		double now = util_now_mono(), next = now + 1.0;
		struct worker *victim = NULL;
		for (struct worker *w = q->workers; w && !victim; w = w->next) {
			if (w->phase != PHASE_RUNNING || w->deadline <= 0)
				continue;
			if (now >= w->deadline + q->grace)
				victim = w;
			else if (w->deadline + q->grace < next)
				next = w->deadline + q->grace;
		}
		if (victim) {
			/* from here the job is the overrun function's to finish, and its thread no longer
			 * counts: a replacement keeps the pool at its size */
			victim->phase = PHASE_ABANDONED;
			double late = now - victim->deadline;
			q->running--;
			q->size--;
			q->abandoned_total++;
			if (!q->stopping && start_worker(q) < 0)
				log_error("workq watchdog: pthread_create failed: the pool is one worker short");
			pthread_mutex_unlock(&q->lock);
			/* victim stays on the list until it exits, and its state and job stay allocated
			 * until its claim has seen overrun_done */
			q->overrun(q->shared, victim->state, victim->job, late);
			pthread_mutex_lock(&q->lock);
			victim->overrun_done = true;
			pthread_cond_broadcast(&q->changed);
			continue;
		}
		struct worker *done = take_exited(q);
		if (done) {
			pthread_mutex_unlock(&q->lock);
			join_all(done);
			pthread_mutex_lock(&q->lock);
			continue;
		}
		wait_changed(q, next);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int workq_watch(struct workq *q, double grace, workq_overrun_fn overrun)
{
	q->grace = grace;
	q->overrun = overrun;
	if (pthread_create(&q->watchdog, NULL, watchdog_main, q) != 0)
		return -1;
	q->watching = true;
	return 0;
}

void workq_job_deadline(double at)
{
	struct worker *w = self;
	if (!w)
		return;
	pthread_mutex_lock(&w->q->lock);
	w->deadline = at;
	pthread_cond_broadcast(&w->q->changed); /* the watchdog may sleep past it */
	pthread_mutex_unlock(&w->q->lock);
}

bool workq_job_claim(void)
{
	struct worker *w = self;
	if (!w)
		return true;
	struct workq *q = w->q;
	pthread_mutex_lock(&q->lock);
	if (w->phase == PHASE_RUNNING)
		w->phase = PHASE_CLAIMED;
	bool mine = w->phase == PHASE_CLAIMED;
	/* taken over: the overrun function may still be reading the job the caller will free */
	while (!mine && !w->overrun_done)
		pthread_cond_wait(&q->changed, &q->lock);
	pthread_mutex_unlock(&q->lock);
	return mine;
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

static size_t count_stuck(struct workq *q)
{
	size_t n = 0;
	for (struct worker *w = q->workers; w; w = w->next)
		n += w->phase == PHASE_ABANDONED && !w->exited;
	return n;
}

void workq_stats(struct workq *q, size_t *workers, size_t *abandoned, size_t *stuck)
{
	pthread_mutex_lock(&q->lock);
	if (workers)
		*workers = q->size;
	if (abandoned)
		*abandoned = q->abandoned_total;
	if (stuck)
		*stuck = count_stuck(q);
	pthread_mutex_unlock(&q->lock);
}

/* Mark q stopping and end its watchdog (an overrun call in progress finishes first). Returns
 * false when q was stopped before. */
static bool begin_stop(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	bool first = !q->stopping;
	q->stopping = true;
	q->watch_stop = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
	if (first && q->watching)
		pthread_join(q->watchdog, NULL);
	return first;
}

/* Join every worker that has exited; detach the others (still inside a job) and leave q to them.
 * Returns how many were left. */
static size_t finish_stop(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	struct worker *done = take_exited(q);
	size_t left = 0;
	for (struct worker *w = q->workers; w; w = w->next, left++)
		pthread_detach(w->thread); /* ends with the process; its record stays on q's list */
	if (left)
		q->left_running = true;
	pthread_mutex_unlock(&q->lock);
	join_all(done);
	return left;
}

/* Whether every worker still in the pool has exited (under q->lock). */
static bool pool_exited(struct workq *q)
{
	for (struct worker *w = q->workers; w; w = w->next)
		if (w->phase != PHASE_ABANDONED && !w->exited)
			return false;
	return true;
}

void workq_stop(struct workq *q)
{
	if (!q || !begin_stop(q))
		return;
	pthread_mutex_lock(&q->lock);
	while (!pool_exited(q))
		pthread_cond_wait(&q->changed, &q->lock);
	pthread_mutex_unlock(&q->lock);
	finish_stop(q);
}

size_t workq_stop_within(struct workq *q, workq_job_fn drop, void *drop_state, double seconds)
{
	if (!q)
		return 0;
	if (!begin_stop(q)) { /* stopped before: nothing more to wait for here */
		pthread_mutex_lock(&q->lock);
		size_t left = 0;
		for (struct worker *w = q->workers; w; w = w->next)
			left += !w->exited;
		pthread_mutex_unlock(&q->lock);
		return left;
	}
	/* the queued jobs leave the queue now, so no worker starts one of them */
	pthread_mutex_lock(&q->lock);
	size_t n = q->count;
	struct item *queued = xcalloc(n ? n : 1, sizeof *queued);
	for (size_t i = 0; i < n; i++)
		queued[i] = q->ring[(q->head + i) % q->cap];
	q->count = 0;
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < n; i++)
		if (drop)
			drop(drop_state, queued[i].job);
	free(queued);

	double until = util_now_mono() + seconds;
	pthread_mutex_lock(&q->lock);
	while (!pool_exited(q) && util_now_mono() < until)
		wait_changed(q, until);
	pthread_mutex_unlock(&q->lock);
	return finish_stop(q);
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	workq_stop(q);
	if (q->left_running)
		return; /* a worker may still be inside a job that uses q */
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->changed);
	free(q->ring);
	free(q);
}
