/* va: validation jobs run by a fixed pool of workers (each with its own DNS context), one file
 * per method (va_*.c). A challenge POST queues a job and answers at once; the worker records the
 * verdict in the store. A full queue is reported, never waited on. */
#ifndef COBBLE_VA_H
#define COBBLE_VA_H

#include <stdbool.h>
#include <time.h>

#include "server/server.h"
#include "server/va_method.h"

struct va;

struct dns_options;
/* The validators' DNS settings from the configuration (borrowing from c): what every worker's
 * resolver and `cobble check-record --config` use. */
void va_dns_options(const struct config *c, struct dns_options *o);
/* The VA with its defaults: VA_DEADLINE_SECONDS per validation, the watchdog's grace
 * VA_WATCHDOG_GRACE_SECONDS, each worker's DNS from the configuration. NULL with err filled. */
struct va *va_new(struct server *srv, char *err, size_t errlen);
/* What va_new_with may set otherwise (a unit test: a short deadline, a DNS it controls). */
struct va_params {
	double deadline;                   /* seconds for one validation, whole */
	double grace;                      /* the watchdog takes a job over this long past its deadline */
	struct dns *(*dns_new)(void *ctx); /* each worker's DNS (the worker frees it with dns_free); NULL:
	                                      getdns as the configuration says */
	void *dns_ctx;
};
struct va *va_new_with(struct server *srv, const struct va_params *p, char *err, size_t errlen);
/* For the status page: workers in the pool, jobs queued or running, workers the watchdog has
 * abandoned since the start and how many of those are still stuck. Any pointer may be NULL. */
void va_stats(struct va *va, size_t *workers, size_t *pending, size_t *abandoned, size_t *stuck);
/* At shutdown a stuck validation must not hold cobble: queued jobs are dropped (a JIT check's
 * suspended request is resumed), running ones get this long to end. */
#define VA_STOP_SECONDS 0.5
/* Stop at once (later submits fail): drop the queued jobs, wait VA_STOP_SECONDS for the running
 * ones. Returns how many were still running (then the caller exits without freeing what they
 * use). Before http_stop, so that requests suspended on a job are resumed. NULL is a no-op. */
size_t va_stop(struct va *va);
void va_free(struct va *va); /* va_stop, then free (not when va_stop left workers); NULL is a no-op */
/* Queue a copy of job. Returns 0, or -1 when the queue is full. */
int va_submit(struct va *va, const struct va_job *job);

/* The outcome the store records for a method's result: the one place a result becomes an
 * outcome (and so the one place of the -02 expiry clamp). Points into res (borrowed). */
struct validation_outcome va_outcome(const struct config *cfg, const struct va_job *job,
                                     const struct va_result *res);

#endif
