/* faillimit: per-identifier and per-account sliding windows of failed dns-persist-01
 * validations; each key keeps only the times of its last `limit` failures. */
#include "server/faillimit.h"
#include "common/map.h"
#include "common/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAILLIMIT_SWEEP 4096 /* past this many keys, expired ones are dropped */

/* The times of one key's most recent failures, oldest first, in a ring of `limit` slots. */
struct window {
	double *t;
	int head, n;
};

struct faillimit {
	pthread_mutex_t lock;
	struct map *keys;       /* "i:<identifier>" or "a:<account id>" -> struct window */
	int limit[2];           /* per identifier, per account */
	double window;
	unsigned long refused;
};

static void window_free(void *v)
{
	struct window *w = v;
	if (w)
		free(w->t);
	free(w);
}

struct faillimit *faillimit_new(int per_identifier, int per_account, int window_seconds)
{
	struct faillimit *fl = xcalloc(1, sizeof *fl);
	pthread_mutex_init(&fl->lock, NULL);
	fl->keys = map_new(window_free);
	fl->limit[0] = per_identifier;
	fl->limit[1] = per_account;
	fl->window = window_seconds;
	return fl;
}

void faillimit_free(struct faillimit *fl)
{
	if (!fl)
		return;
	map_free(fl->keys);
	pthread_mutex_destroy(&fl->lock);
	free(fl);
}

/* Drop the failures that have left the window. */
static void expire(struct window *w, int limit, double now, double window)
{
	while (w->n > 0 && w->t[w->head] <= now - window) {
		w->head = (w->head + 1) % limit;
		w->n--;
	}
}

struct sweep_ctx {
	struct faillimit *fl;
	char **dead;
	size_t n;
	double now;
};

static int sweep_one(const char *key, void *value, void *ctx)
{
	struct sweep_ctx *c = ctx;
	struct window *w = value;
	expire(w, c->fl->limit[key[0] == 'a'], c->now, c->fl->window);
	if (w->n == 0)
		c->dead[c->n++] = xstrdup(key);
	return 0;
}

/* Drop the keys with no failure left in the window (keeps memory bounded by recent failures). */
static void sweep(struct faillimit *fl, double now)
{
	struct sweep_ctx c = {fl, xcalloc(map_size(fl->keys), sizeof(char *)), 0, now};
	map_each(fl->keys, sweep_one, &c);
	for (size_t i = 0; i < c.n; i++) {
		map_del(fl->keys, c.dead[i]);
		free(c.dead[i]);
	}
	free(c.dead);
}

static void record_key(struct faillimit *fl, int kind, const char *id, double now)
{
	int limit = fl->limit[kind];
	if (limit <= 0)
		return;
	char *key = xasprintf("%c:%s", kind ? 'a' : 'i', id);
	struct window *w = map_get(fl->keys, key);
	if (!w) {
		w = xcalloc(1, sizeof *w);
		w->t = xcalloc((size_t)limit, sizeof *w->t);
		map_put(fl->keys, key, w);
	}
	expire(w, limit, now, fl->window);
	if (w->n == limit) { /* full: the oldest gives way */
		w->head = (w->head + 1) % limit;
		w->n--;
	}
	w->t[(w->head + w->n) % limit] = now;
	w->n++;
	free(key);
}

void faillimit_record(struct faillimit *fl, const char *account_id, const char *identifier)
{
	if (!fl)
		return;
	double now = util_now_mono();
	pthread_mutex_lock(&fl->lock);
	record_key(fl, 0, identifier, now);
	record_key(fl, 1, account_id, now);
	if (map_size(fl->keys) > FAILLIMIT_SWEEP)
		sweep(fl, now);
	pthread_mutex_unlock(&fl->lock);
}

/* Seconds until the window frees a slot of w when it is full, else 0. */
static int reached(struct faillimit *fl, int kind, const char *id, double now, int *count)
{
	int limit = fl->limit[kind];
	*count = 0;
	if (limit <= 0)
		return 0;
	char *key = xasprintf("%c:%s", kind ? 'a' : 'i', id);
	struct window *w = map_get(fl->keys, key);
	free(key);
	if (!w)
		return 0;
	expire(w, limit, now, fl->window);
	*count = w->n;
	if (w->n < limit)
		return 0;
	double left = w->t[w->head] + fl->window - now;
	int secs = (int)left + (left > (int)left); /* rounded up */
	return secs < 1 ? 1 : secs;
}

int faillimit_check(struct faillimit *fl, const char *account_id, const char *identifier,
                    struct problem *p, int *retry_after)
{
	if (!fl)
		return 0;
	double now = util_now_mono();
	int n_ident, n_acct;
	pthread_mutex_lock(&fl->lock);
	int wait_ident = reached(fl, 0, identifier, now, &n_ident);
	int wait_acct = reached(fl, 1, account_id, now, &n_acct);
	if (wait_ident || wait_acct)
		fl->refused++;
	pthread_mutex_unlock(&fl->lock);
	if (!wait_ident && !wait_acct)
		return 0;
	/* draft -02 §9.3.1: a CA MUST rate-limit failed validations */
	bool by_ident = wait_ident >= wait_acct;
	*retry_after = by_ident ? wait_ident : wait_acct;
	problem_set(p, PROB_RATE_LIMITED, 429,
	            "too many failed dns-persist-01 validations: %d for %s %s in the last %.0f seconds, "
	            "the limit is %d (config dnsPersist.failedValidationLimits.%s); retry after %d "
	            "seconds, once the record is fixed (`cobble check-record` tells why it fails)",
	            by_ident ? n_ident : n_acct, by_ident ? "identifier" : "account",
	            by_ident ? identifier : account_id, fl->window, fl->limit[by_ident ? 0 : 1],
	            by_ident ? "perIdentifier" : "perAccount", *retry_after);
	return -1;
}

struct rows_ctx {
	struct faillimit *fl;
	struct faillimit_row *rows;
	size_t max, n;
	double now;
};

static int row_one(const char *key, void *value, void *ctx)
{
	struct rows_ctx *c = ctx;
	struct window *w = value;
	int kind = key[0] == 'a';
	expire(w, c->fl->limit[kind], c->now, c->fl->window);
	if (w->n == 0)
		return 0;
	struct faillimit_row row;
	snprintf(row.kind, sizeof row.kind, "%s", kind ? "account" : "identifier");
	snprintf(row.key, sizeof row.key, "%s", key + 2);
	row.failures = w->n;
	row.limit = c->fl->limit[kind];
	/* keep the highest counts: insertion into a sorted, bounded array */
	size_t i = c->n < c->max ? c->n++ : c->max;
	while (i > 0 && c->rows[i - 1].failures < row.failures) {
		if (i < c->max)
			c->rows[i] = c->rows[i - 1];
		i--;
	}
	if (i < c->max)
		c->rows[i] = row;
	return 0;
}

size_t faillimit_rows(struct faillimit *fl, struct faillimit_row *rows, size_t max,
                      unsigned long *refused)
{
	struct rows_ctx c = {fl, rows, max, 0, util_now_mono()};
	pthread_mutex_lock(&fl->lock);
	map_each(fl->keys, row_one, &c);
	*refused = fl->refused;
	pthread_mutex_unlock(&fl->lock);
	return c.n;
}
