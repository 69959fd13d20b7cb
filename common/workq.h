/* workq: a fixed pool of worker threads fed by a bounded FIFO queue. The VA and the issuer use it
 * so that HTTP handlers never block: they submit a job and answer at once. A full queue is
 * reported to the caller (who answers rateLimited), never waited on.
 *
 * With a watchdog (workq_watch), a job that set itself a deadline (workq_job_deadline) and is still
 * running `grace` seconds past it is taken over: the watchdog hands it to the overrun function
 * (which finishes it as failed), gives up on its thread (abandoned: it is no longer counted in the
 * pool and nobody waits for it) and starts a replacement, so the pool keeps its size. Exactly one
 * of the two finishes the job: the job itself only after workq_job_claim returned true, the
 * overrun function only when the claim had not been made. */
#ifndef COBBLE_WORKQ_H
#define COBBLE_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

/* Per-worker state: init runs once in each worker thread before any job (e.g. to make that
 * worker's own DNS context); its result is passed to every job the worker runs, then to fini. */
typedef void *(*workq_init_fn)(void *shared);
typedef void (*workq_fini_fn)(void *worker_state);
typedef void (*workq_job_fn)(void *worker_state, void *job);
/* The watchdog's takeover of a job: runs on the watchdog thread while the job's own thread is
 * still inside it. It may read job and (what is safe to read concurrently of) worker_state, and
 * must not free either: the stuck thread still owns them and frees the job when it returns (its
 * workq_job_claim waits until this function has returned). late: seconds past the job's deadline. */
typedef void (*workq_overrun_fn)(void *shared, void *worker_state, void *job, double late);

struct workq;

/* Start nthreads workers with room for capacity queued jobs. init/fini may be NULL. */
struct workq *workq_new(size_t nthreads, size_t capacity, workq_init_fn init, workq_fini_fn fini,
                        void *shared);
/* Start q's watchdog (once, before the first submit): jobs still running `grace` seconds after
 * their deadline go to overrun(shared, …). Returns 0, or -1 when its thread could not start. */
int workq_watch(struct workq *q, double grace, workq_overrun_fn overrun);
/* From inside a job: the job must be over by `at` (a util_now_mono() time). A job that sets a
 * deadline must call workq_job_claim before it makes its result visible. Outside a worker of a
 * watched pool (a unit test calling a job directly) this does nothing. */
void workq_job_deadline(double at);
/* From inside a job, once its result is ready: true when the job is still this thread's to finish
 * (from then on the watchdog leaves it alone), false when the watchdog has already finished it
 * (then the job discards its result, frees what it owns and returns; its thread then exits).
 * Always true outside a worker thread. */
bool workq_job_claim(void);
/* Queue job for fn. Returns 0, or -1 when the queue is full or shutting down (job not taken). */
int workq_submit(struct workq *q, workq_job_fn fn, void *job);
/* Jobs queued or running right now (a job the watchdog took over no longer counts). */
size_t workq_pending(struct workq *q);
/* The pool's figures: workers in the pool (abandoned ones not counted), workers abandoned since the
 * start, and how many of those are still inside their job. Any pointer may be NULL. */
void workq_stats(struct workq *q, size_t *workers, size_t *abandoned, size_t *stuck);
/* Finish queued jobs and stop the workers; later submits fail. Abandoned workers are not waited
 * for. Idempotent; NULL is a no-op. */
void workq_stop(struct workq *q);
/* Stop at once: the queued jobs are taken off the queue and passed to drop(drop_state, job) (which
 * owns them), workers finish only the job they are in, and this waits at most `seconds` for them
 * (abandoned workers are not waited for). Returns how many workers, abandoned ones included, were
 * still inside a job then: 0 means all were joined; otherwise they are detached and left to end
 * with the process, and workq_free will not free q (they still use it). Later submits fail. NULL
 * is a no-op (returns 0). */
size_t workq_stop_within(struct workq *q, workq_job_fn drop, void *drop_state, double seconds);
/* workq_stop, then free, unless some worker (an abandoned one too) is still inside a job: then q
 * is left to the process's end, as those threads still use it. NULL is a no-op. */
void workq_free(struct workq *q);

#endif
