/* store_retain: memory stays bounded however many flows run. Past the cap on orders
 * (store_set_max_orders, config maxOrders), the oldest finished orders (valid or invalid) are
 * dropped with what only they hold: their authorizations once no other order shares them
 * (authorization reuse), their certificate and its serial and ARI indexes, and their place in
 * the account's order list (RFC 8555 §7.1.2.1). Pending, ready and processing orders are never
 * dropped; when every old order is unfinished the store grows past the cap until they finish. */
#include "server/store_internal.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

/* How many unfinished orders one eviction pass moves to the back before it gives up. */
#define RETAIN_SCAN_MAX 32

struct retain {
	size_t max_orders;    /* 0: no cap */
	struct id_list queue; /* order ids, oldest first from head */
	size_t head;
	struct map *refs;     /* authz id → size_t * (orders that list it) */
	unsigned long dropped;
};

struct retain *store_retain_new(void)
{
	struct retain *r = xcalloc(1, sizeof *r);
	r->refs = map_new(free);
	return r;
}

void store_retain_free(struct retain *r)
{
	if (!r)
		return;
	free(r->queue.ids);
	map_free(r->refs);
	free(r);
}

void store_set_max_orders(struct store *s, size_t max)
{
	pthread_mutex_lock(&s->lock);
	s->retain->max_orders = max;
	pthread_mutex_unlock(&s->lock);
}

unsigned long store_orders_dropped(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned long n = s->retain->dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void queue_push(struct retain *r, const char *id)
{
	struct id_list *q = &r->queue;
	if (r->head > 0 && r->head >= q->n / 2) { /* reclaim the popped front */
		memmove(q->ids, q->ids + r->head, (q->n - r->head) * sizeof q->ids[0]);
		q->n -= r->head;
		r->head = 0;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 64;
		q->ids = xrealloc(q->ids, q->cap * sizeof q->ids[0]);
	}
	memcpy(q->ids[q->n++], id, sizeof q->ids[0]);
}

static void list_remove(struct id_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->ids[i], id) == 0) {
			memmove(l->ids + i, l->ids + i + 1, (l->n - i - 1) * sizeof l->ids[0]);
			l->n--;
			return;
		}
}

static void drop_authz(struct store *s, const char *id)
{
	size_t *n = map_get(s->retain->refs, id);
	if (n && --*n > 0)
		return;
	map_del(s->retain->refs, id);
	const struct authz *a = map_get(s->authzs, id);
	if (!a)
		return;
	char key[STORE_ID_LEN + sizeof a->ident.value + 16];
	store_ident_key(key, sizeof key, a->account_id, &a->ident, a->wildcard);
	struct id_list *l = map_get(s->valid_by_ident, key);
	if (l) {
		list_remove(l, id);
		if (l->n == 0)
			map_del(s->valid_by_ident, key);
	}
	map_del(s->authzs, id);
}

static void drop_cert(struct store *s, const char *id)
{
	const struct cert *c = map_get(s->certs, id);
	if (!c)
		return;
	const char *by = map_get(s->by_serial, c->serial);
	if (by && strcmp(by, id) == 0)
		map_del(s->by_serial, c->serial);
	by = c->certid[0] ? map_get(s->by_certid, c->certid) : NULL;
	if (by && strcmp(by, id) == 0)
		map_del(s->by_certid, c->certid);
	map_del(s->certs, id);
}

static void drop_order(struct store *s, struct order *o)
{
	struct acct_rec *a = map_get(s->accounts, o->account_id);
	for (size_t i = 0; a && i < a->norders; i++) /* the oldest are first: found early */
		if (strcmp(a->orders[i], o->id) == 0) {
			memmove(a->orders + i, a->orders + i + 1, (a->norders - i - 1) * sizeof a->orders[0]);
			a->norders--;
			break;
		}
	for (size_t i = 0; i < o->nidents; i++)
		drop_authz(s, o->authz_ids[i]);
	if (o->cert_id[0])
		drop_cert(s, o->cert_id);
	s->retain->dropped++;
	map_del(s->orders, o->id); /* frees o */
}

void store_retain_added(struct store *s, const struct order *o)
{
	struct retain *r = s->retain;
	for (size_t i = 0; i < o->nidents; i++) {
		size_t *n = map_get(r->refs, o->authz_ids[i]);
		if (!n) {
			n = xcalloc(1, sizeof *n);
			map_put(r->refs, o->authz_ids[i], n);
		}
		++*n;
	}
	queue_push(r, o->id);
	time_t now = time(NULL);
	for (int scanned = 0; r->max_orders && map_size(s->orders) > r->max_orders && r->head < r->queue.n;) {
		char id[STORE_ID_LEN + 1];
		memcpy(id, r->queue.ids[r->head++], sizeof id);
		struct order *old = map_get(s->orders, id);
		if (!old)
			continue;
		store_order_refresh(s, old, now);
		if (old->status == ST_VALID || old->status == ST_INVALID) {
			drop_order(s, old);
		} else {
			queue_push(r, id); /* still in use: to the back */
			if (++scanned >= RETAIN_SCAN_MAX)
				break;
		}
	}
}
