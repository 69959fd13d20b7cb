/* workq: a fixed pool of worker threads fed by a bounded FIFO queue. The VA and the issuer use it
 * so that HTTP handlers never block: they submit a job and answer at once. A full queue is
 * reported to the caller (who answers rateLimited), never waited on. */
#ifndef COBBLE_WORKQ_H
#define COBBLE_WORKQ_H

#include <stddef.h>

/* Per-worker state: init runs once in each worker thread before any job (e.g. to make that
 * worker's own DNS context); its result is passed to every job the worker runs, then to fini. */
typedef void *(*workq_init_fn)(void *shared);
typedef void (*workq_fini_fn)(void *worker_state);
typedef void (*workq_job_fn)(void *worker_state, void *job);

struct workq;

/* Start nthreads workers with room for capacity queued jobs. init/fini may be NULL. */
struct workq *workq_new(size_t nthreads, size_t capacity, workq_init_fn init, workq_fini_fn fini,
                        void *shared);
/* Queue job for fn. Returns 0, or -1 when the queue is full or shutting down (job not taken). */
int workq_submit(struct workq *q, workq_job_fn fn, void *job);
/* Jobs queued or running right now. */
size_t workq_pending(struct workq *q);
/* Finish queued jobs and stop the workers; later submits fail. Idempotent; NULL is a no-op. */
void workq_stop(struct workq *q);
/* Stop at once: the queued jobs are taken off the queue and passed to drop(drop_state, job) (which
 * owns them), workers finish only the job they are in, and this waits at most `seconds` for them.
 * Returns how many workers were still inside a job then: 0 means all were joined; otherwise they
 * are detached and left to end with the process, and workq_free will not free q. Later submits
 * fail. NULL is a no-op (returns 0). */
size_t workq_stop_within(struct workq *q, workq_job_fn drop, void *drop_state, double seconds);
/* workq_stop, then free (unless workers were left running by workq_stop_within). NULL is a no-op. */
void workq_free(struct workq *q);

#endif
