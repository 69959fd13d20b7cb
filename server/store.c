/* store: every ACME object, its state machine and lifetime, under one lock; callers get copies. */
#include "server/store.h"
#include "server/store_internal.h"
#include "common/map.h"
#include "common/util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_id_list(void *v)
{
	struct id_list *l = v;
	free(l->ids);
	free(l);
}

static void index_valid(struct store *s, const struct authz *a);

void store_ident_key(char *out, size_t outlen, const char *account, const struct identifier *id, bool wildcard)
{
	snprintf(out, outlen, "%s|%s|%s|%d", account, id->type, id->value, wildcard);
}

static const char *const status_names[] = {
    "pending", "ready", "processing", "valid", "invalid", "deactivated", "expired", "revoked",
};

const char *store_status_name(enum status s)
{
	return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "unknown";
}

/* ---- copies ---- */

static void problem_copy(struct stored_problem *dst, const struct stored_problem *src)
{
	dst->type = src->type;
	dst->status = src->status;
	dst->detail = xstrdup(src->detail);
}

static void stored_problem_clear(struct stored_problem *sp)
{
	free(sp->detail);
	memset(sp, 0, sizeof *sp);
}

void store_problem_set(struct stored_problem *sp, const struct problem *p)
{
	stored_problem_clear(sp);
	if (!p)
		return;
	sp->type = p->type;
	sp->status = p->status;
	sp->detail = xstrdup(p->detail);
}

static void account_copy(struct account *dst, const struct account *src)
{
	*dst = *src;
	dst->jwk = xstrdup(src->jwk);
	dst->contacts_json = xstrdup(src->contacts_json);
	dst->eab_json = xstrdup(src->eab_json);
}

void store_account_clear(struct account *a)
{
	if (!a)
		return;
	free(a->jwk);
	free(a->contacts_json);
	free(a->eab_json);
	memset(a, 0, sizeof *a);
}

static void authz_copy(struct authz *dst, const struct authz *src)
{
	*dst = *src;
	for (size_t i = 0; i < src->nchal; i++) {
		problem_copy(&dst->chal[i].error, &src->chal[i].error);
		dst->chal[i].validation_record = xstrdup(src->chal[i].validation_record);
	}
}

void store_authz_clear(struct authz *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nchal; i++) {
		stored_problem_clear(&a->chal[i].error);
		free(a->chal[i].validation_record);
	}
	memset(a, 0, sizeof *a);
}

static void order_copy(struct order *dst, const struct order *src)
{
	*dst = *src;
	dst->idents = xcalloc(src->nidents, sizeof *dst->idents);
	dst->authz_ids = xcalloc(src->nidents, sizeof *dst->authz_ids);
	memcpy(dst->idents, src->idents, src->nidents * sizeof *dst->idents);
	memcpy(dst->authz_ids, src->authz_ids, src->nidents * sizeof *dst->authz_ids);
	problem_copy(&dst->error, &src->error);
}

void store_order_clear(struct order *o)
{
	if (!o)
		return;
	free(o->idents);
	free(o->authz_ids);
	stored_problem_clear(&o->error);
	memset(o, 0, sizeof *o);
}

static void free_acct_rec(void *v)
{
	struct acct_rec *r = v;
	store_account_clear(&r->a);
	free(r->orders);
	free(r);
}

static void free_authz(void *v)
{
	store_authz_clear(v);
	free(v);
}

static void free_order(void *v)
{
	store_order_clear(v);
	free(v);
}

static void free_cert(void *v)
{
	store_cert_clear(v);
	free(v);
}

struct store *store_new(void)
{
	struct store *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->accounts = map_new(free_acct_rec);
	s->by_key = map_new(free);
	s->authzs = map_new(free_authz);
	s->orders = map_new(free_order);
	s->certs = map_new(free_cert);
	s->by_serial = map_new(free);
	s->by_certid = map_new(free);
	s->valid_by_ident = map_new(free_id_list);
	s->retain = store_retain_new();
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	map_free(s->accounts);
	map_free(s->by_key);
	map_free(s->authzs);
	map_free(s->orders);
	map_free(s->certs);
	map_free(s->by_serial);
	map_free(s->by_certid);
	map_free(s->valid_by_ident);
	store_retain_free(s->retain);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void store_new_id(const struct map *m, char out[STORE_ID_LEN + 1])
{
	do
		util_random_hex(out, STORE_ID_LEN / 2);
	while (map_get(m, out));
}

/* ---- accounts ---- */

int store_account_add(struct store *s, const struct account *in, char out_id[STORE_ID_LEN + 1],
                      char existing_id[STORE_ID_LEN + 1])
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	const char *have = map_get(s->by_key, in->thumbprints[0]);
	if (have) {
		snprintf(existing_id, STORE_ID_LEN + 1, "%s", have);
		rc = -1;
		goto out;
	}
	struct acct_rec *r = xcalloc(1, sizeof *r);
	account_copy(&r->a, in);
	store_new_id(s->accounts, r->a.id);
	r->a.status = ST_VALID;
	r->a.nthumbprints = 1;
	snprintf(out_id, STORE_ID_LEN + 1, "%s", r->a.id);
	map_put(s->by_key, in->thumbprints[0], xstrdup(r->a.id));
	map_put(s->accounts, r->a.id, r);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_account_get(struct store *s, const char *id, struct account *out)
{
	pthread_mutex_lock(&s->lock);
	struct acct_rec *r = map_get(s->accounts, id);
	if (r)
		account_copy(out, &r->a);
	pthread_mutex_unlock(&s->lock);
	return r ? 0 : -1;
}

int store_account_by_thumbprint(struct store *s, const char *tp, struct account *out)
{
	pthread_mutex_lock(&s->lock);
	const char *id = map_get(s->by_key, tp);
	struct acct_rec *r = id ? map_get(s->accounts, id) : NULL;
	if (r)
		account_copy(out, &r->a);
	pthread_mutex_unlock(&s->lock);
	return r ? 0 : -1;
}

int store_account_update(struct store *s, const char *id, const char *contacts_json, bool deactivate)
{
	pthread_mutex_lock(&s->lock);
	struct acct_rec *r = map_get(s->accounts, id);
	if (r) {
		if (contacts_json) {
			free(r->a.contacts_json);
			r->a.contacts_json = xstrdup(contacts_json);
		}
		if (deactivate)
			r->a.status = ST_DEACTIVATED;
	}
	pthread_mutex_unlock(&s->lock);
	return r ? 0 : -1;
}

int store_account_rekey(struct store *s, const char *id, const char *old_tp, const char *new_jwk,
                        const char *new_tp, char conflict_id[STORE_ID_LEN + 1])
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	struct acct_rec *r = map_get(s->accounts, id);
	const char *holder = map_get(s->by_key, new_tp);
	if (!r || strcmp(r->a.thumbprints[0], old_tp) != 0) {
		rc = -2;
	} else if (holder) {
		snprintf(conflict_id, STORE_ID_LEN + 1, "%s", holder);
		rc = -1;
	} else {
		map_del(s->by_key, old_tp);
		map_put(s->by_key, new_tp, xstrdup(id));
		free(r->a.jwk);
		r->a.jwk = xstrdup(new_jwk);
		/* keep earlier thumbprints, newest first, for draft -02 hashed account URIs */
		size_t n = r->a.nthumbprints < STORE_MAX_KEYS ? r->a.nthumbprints : STORE_MAX_KEYS - 1;
		memmove(r->a.thumbprints[1], r->a.thumbprints[0], n * sizeof r->a.thumbprints[0]);
		snprintf(r->a.thumbprints[0], sizeof r->a.thumbprints[0], "%s", new_tp);
		r->a.nthumbprints = n + 1;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}


size_t store_account_orders(struct store *s, const char *id, size_t offset, size_t max,
                            char (*ids)[STORE_ID_LEN + 1], size_t *total)
{
	size_t n = 0, listed = 0;
	time_t now = util_clock(); /* POST /clock moves it */
	pthread_mutex_lock(&s->lock);
	struct acct_rec *r = map_get(s->accounts, id);
	for (size_t i = 0; r && i < r->norders; i++) {
		/* RFC 8555 §7.1.2.1: the list SHOULD NOT include invalid orders */
		struct order *o = map_get(s->orders, r->orders[r->norders - 1 - i]);
		if (!o)
			continue;
		store_order_refresh(s, o, now);
		if (o->status == ST_INVALID)
			continue;
		if (listed++ >= offset && n < max)
			memcpy(ids[n++], o->id, STORE_ID_LEN + 1);
	}
	*total = listed;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- authorizations ---- */

/* The status a reader sees: a pending or valid authz past its expiry is expired. */
static enum status authz_effective(const struct authz *a, time_t now)
{
	if ((a->status == ST_PENDING || a->status == ST_VALID) && now >= a->expires)
		return ST_EXPIRED;
	return a->status;
}

void store_authz_add(struct store *s, struct authz *in)
{
	pthread_mutex_lock(&s->lock);
	store_new_id(s->authzs, in->id);
	for (size_t i = 0; i < in->nchal; i++)
		util_random_hex(in->chal[i].id, STORE_ID_LEN / 2);
	struct authz *a = xcalloc(1, sizeof *a);
	authz_copy(a, in);
	map_put(s->authzs, a->id, a);
	if (a->status == ST_VALID)
		index_valid(s, a);
	pthread_mutex_unlock(&s->lock);
}

int store_authz_get(struct store *s, const char *id, struct authz *out)
{
	time_t now = util_clock(); /* POST /clock moves it */
	pthread_mutex_lock(&s->lock);
	struct authz *a = map_get(s->authzs, id);
	if (a) {
		a->status = authz_effective(a, now);
		authz_copy(out, a);
	}
	pthread_mutex_unlock(&s->lock);
	return a ? 0 : -1;
}

void store_authz_caa_checked(struct store *s, const char *id, time_t when)
{
	pthread_mutex_lock(&s->lock);
	struct authz *a = map_get(s->authzs, id);
	if (a && when > a->caa_checked_at)
		a->caa_checked_at = when;
	pthread_mutex_unlock(&s->lock);
}

int store_authz_find_valid(struct store *s, const char *account_id, const struct identifier *ident,
                           bool wildcard, time_t now,
                           bool (*accept)(const struct authz *a, time_t now, void *ctx), void *ctx,
                           char out_id[STORE_ID_LEN + 1])
{
	char key[STORE_ID_LEN + sizeof ident->value + 16];
	store_ident_key(key, sizeof key, account_id, ident, wildcard);
	const struct authz *best = NULL;
	pthread_mutex_lock(&s->lock);
	const struct id_list *l = map_get(s->valid_by_ident, key);
	for (size_t i = 0; l && i < l->n; i++) {
		const struct authz *a = map_get(s->authzs, l->ids[i]);
		if (!a || a->status != ST_VALID || authz_effective(a, now) != ST_VALID)
			continue;
		if (accept && !accept(a, now, ctx))
			continue;
		/* prefer the most recently validated one */
		if (!best || a->validated_at > best->validated_at)
			best = a;
	}
	if (best)
		memcpy(out_id, best->id, STORE_ID_LEN + 1);
	pthread_mutex_unlock(&s->lock);
	return best ? 0 : -1;
}

int store_authz_deactivate(struct store *s, const char *id, struct problem *p)
{
	int rc = 0;
	time_t now = util_clock(); /* POST /clock moves it */
	pthread_mutex_lock(&s->lock);
	struct authz *a = map_get(s->authzs, id);
	enum status st = a ? authz_effective(a, now) : ST_INVALID;
	if (!a) {
		rc = problem_set(p, PROB_MALFORMED, 404, "no authorization %s", id);
	} else if (st != ST_PENDING && st != ST_VALID) {
		rc = problem_set(p, PROB_MALFORMED, 400,
		                 "authorization is %s; only a pending or valid authorization can be "
		                 "deactivated (RFC 8555 §7.5.2)",
		                 store_status_name(st));
	} else {
		a->status = ST_DEACTIVATED;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static struct challenge *find_chal(struct authz *a, const char *chal_id)
{
	for (size_t i = 0; i < a->nchal; i++)
		if (strcmp(a->chal[i].id, chal_id) == 0)
			return &a->chal[i];
	return NULL;
}

int store_challenge_start(struct store *s, const char *authz_id, const char *chal_id, bool *started,
                          struct authz *out, struct problem *p)
{
	int rc = 0;
	time_t now = util_clock(); /* POST /clock moves it */
	*started = false;
	pthread_mutex_lock(&s->lock);
	struct authz *a = map_get(s->authzs, authz_id);
	struct challenge *c = a ? find_chal(a, chal_id) : NULL;
	if (!c) {
		rc = problem_set(p, PROB_MALFORMED, 404, "no challenge %s/%s", authz_id, chal_id);
		goto out;
	}
	a->status = authz_effective(a, now);
	if (c->status != ST_PENDING)
		goto out; /* RFC 8555 §7.5.1: a repeated POST just returns the challenge */
	if (a->status != ST_PENDING) {
		rc = problem_set(p, PROB_MALFORMED, 400,
		                 "the authorization for %s is %s; only challenges of a pending "
		                 "authorization can be started",
		                 a->ident.value, store_status_name(a->status));
		goto out;
	}
	for (size_t i = 0; i < a->nchal; i++) {
		if (a->chal[i].status == ST_PROCESSING) {
			rc = problem_set(p, PROB_MALFORMED, 400,
			                 "the %s challenge of this authorization is already being validated; "
			                 "wait for its result",
			                 a->chal[i].type);
			goto out;
		}
	}
	c->status = ST_PROCESSING;
	*started = true;
out:
	if (rc == 0 && out)
		authz_copy(out, a);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Lock held: remember that authz a became valid, for store_authz_find_valid. */
static void index_valid(struct store *s, const struct authz *a)
{
	char key[STORE_ID_LEN + sizeof a->ident.value + 16];
	store_ident_key(key, sizeof key, a->account_id, &a->ident, a->wildcard);
	struct id_list *l = map_get(s->valid_by_ident, key);
	if (!l) {
		l = xcalloc(1, sizeof *l);
		map_put(s->valid_by_ident, key, l);
	}
	/* drop entries no longer valid, so a list stays as short as the live authzs */
	time_t now = util_clock(); /* POST /clock moves it */
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct authz *o = map_get(s->authzs, l->ids[i]);
		if (o && authz_effective(o, now) == ST_VALID)
			memcpy(l->ids[k++], l->ids[i], sizeof l->ids[0]);
	}
	l->n = k;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->ids = xrealloc(l->ids, l->cap * sizeof *l->ids);
	}
	memcpy(l->ids[l->n++], a->id, sizeof l->ids[0]);
}

void store_challenge_abort(struct store *s, const char *authz_id, const char *chal_id)
{
	pthread_mutex_lock(&s->lock);
	struct authz *a = map_get(s->authzs, authz_id);
	struct challenge *c = a ? find_chal(a, chal_id) : NULL;
	if (c && c->status == ST_PROCESSING)
		c->status = ST_PENDING;
	pthread_mutex_unlock(&s->lock);
}

int store_challenge_finish(struct store *s, const char *authz_id, const char *chal_id,
                           const struct validation_outcome *o)
{
	int rc = -1;
	time_t now = util_clock(); /* POST /clock moves it */
	pthread_mutex_lock(&s->lock);
	struct authz *a = map_get(s->authzs, authz_id);
	struct challenge *c = a ? find_chal(a, chal_id) : NULL;
	if (!c || c->status != ST_PROCESSING)
		goto out;
	free(c->validation_record);
	c->validation_record = xstrdup(o->validation_record);
	if (o->ok && a->status != ST_PENDING && a->status != ST_VALID) {
		/* RFC 8555 §7.5.2: a deactivated (or expired, revoked) authorization is final; a challenge
		 * that passed after that does not make anything valid inside it */
		struct problem late;
		problem_set(&late, PROB_UNAUTHORIZED, 403,
		            "the validation passed, but its authorization had become %s meanwhile; nothing was "
		            "authorized",
		            store_status_name(a->status));
		c->status = ST_INVALID;
		store_problem_set(&c->error, &late);
	} else if (o->ok) {
		c->status = ST_VALID;
		c->validated = now;
		if (a->status == ST_PENDING) {
			a->status = ST_VALID;
			index_valid(s, a);
			snprintf(a->validated_by, sizeof a->validated_by, "%s", c->type);
			a->validated_at = now;
			a->caa_checked_at = now; /* the VA checks CAA before a valid verdict (spec §5) */
			a->record_ttl = o->record_ttl;
			a->has_persist_until = o->has_persist_until;
			a->persist_until = o->persist_until;
			if (o->valid_lifetime > 0) /* RFC 8555 §7.1.4: a valid authz has its own expiry */
				a->expires = now + o->valid_lifetime;
			if (o->expires_cap && o->expires_cap < a->expires)
				a->expires = o->expires_cap;
		}
	} else {
		c->status = ST_INVALID;
		store_problem_set(&c->error, o->error);
		if (a->status == ST_PENDING)
			a->status = ST_INVALID; /* RFC 8555 §7.1.6 */
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- orders ---- */

void store_order_add(struct store *s, struct order *in)
{
	pthread_mutex_lock(&s->lock);
	store_new_id(s->orders, in->id);
	struct order *o = xcalloc(1, sizeof *o);
	order_copy(o, in);
	map_put(s->orders, o->id, o);
	struct acct_rec *r = map_get(s->accounts, in->account_id);
	if (r) {
		if (r->norders == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 8;
			r->orders = xrealloc(r->orders, r->cap * sizeof *r->orders);
		}
		memcpy(r->orders[r->norders++], o->id, STORE_ID_LEN + 1);
	}
	store_retain_added(s, o);
	pthread_mutex_unlock(&s->lock);
}

/* RFC 8555 §7.1.6: a pending order becomes ready when every authorization is valid and invalid
 * when one is not going to be; an unfinished order past its expiry is invalid. Lock held. */
void store_order_refresh(struct store *s, struct order *o, time_t now)
{
	if ((o->status == ST_PENDING || o->status == ST_READY) && now >= o->expires) {
		o->status = ST_INVALID;
		struct problem p;
		problem_set(&p, PROB_MALFORMED, 403, "order expired before it was finalized");
		store_problem_set(&o->error, &p);
		return;
	}
	/* a ready order whose authorization is deactivated or expires is invalid too (§7.1.6) */
	if (o->status != ST_PENDING && o->status != ST_READY)
		return;
	bool all_valid = true;
	for (size_t i = 0; i < o->nidents; i++) {
		struct authz *a = map_get(s->authzs, o->authz_ids[i]);
		enum status st = a ? authz_effective(a, now) : ST_INVALID;
		if (st == ST_VALID)
			continue;
		all_valid = false;
		if (st != ST_PENDING) {
			o->status = ST_INVALID;
			/* carry the failed challenge's reason, so the order alone says what to fix */
			const struct challenge *failed = NULL;
			for (size_t k = 0; a && k < a->nchal; k++)
				if (a->chal[k].status == ST_INVALID && a->chal[k].error.detail)
					failed = &a->chal[k];
			struct problem p;
			problem_set(&p, failed ? failed->error.type : PROB_UNAUTHORIZED, 403,
			            "authorization for %s is %s%s%s%s%s", o->idents[i].value, store_status_name(st),
			            failed ? ": " : "", failed ? failed->type : "", failed ? " failed: " : "",
			            failed ? failed->error.detail : "");
			store_problem_set(&o->error, &p);
			return;
		}
	}
	if (all_valid)
		o->status = ST_READY;
}

int store_order_get(struct store *s, const char *id, struct order *out)
{
	time_t now = util_clock(); /* POST /clock moves it */
	pthread_mutex_lock(&s->lock);
	struct order *o = map_get(s->orders, id);
	if (o) {
		store_order_refresh(s, o, now);
		order_copy(out, o);
	}
	pthread_mutex_unlock(&s->lock);
	return o ? 0 : -1;
}

int store_order_begin_finalize(struct store *s, const char *id, struct problem *p)
{
	int rc = 0;
	time_t now = util_clock(); /* POST /clock moves it */
	pthread_mutex_lock(&s->lock);
	struct order *o = map_get(s->orders, id);
	if (!o) {
		rc = problem_set(p, PROB_MALFORMED, 404, "no order %s", id);
		goto out;
	}
	store_order_refresh(s, o, now);
	if (o->status == ST_READY) {
		/* spec dns-persist-01 §4: an authz past its persistUntil cap cannot be used now */
		for (size_t i = 0; i < o->nidents; i++) {
			struct authz *a = map_get(s->authzs, o->authz_ids[i]);
			if (!a || authz_effective(a, now) != ST_VALID) {
				char when[32] = "";
				if (a)
					util_time_fmt(a->expires, when, sizeof when);
				struct problem e;
				problem_set(&e, PROB_UNAUTHORIZED, 403,
				            "authorization for %s expired at %s; create a new order",
				            o->idents[i].value, when);
				o->status = ST_INVALID;
				store_problem_set(&o->error, &e);
				rc = problem_set(p, PROB_ORDER_NOT_READY, 403, "%s", e.detail);
				goto out;
			}
		}
		o->status = ST_PROCESSING;
	} else {
		rc = problem_set(p, PROB_ORDER_NOT_READY, 403,
		                 "order is %s, not ready: %s", store_status_name(o->status),
		                 o->status == ST_PENDING
		                     ? "complete a challenge of every authorization first"
		                 : o->status == ST_INVALID ? "create a new order"
		                                           : "it was finalized already");
	}
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void store_order_abort_finalize(struct store *s, const char *id)
{
	pthread_mutex_lock(&s->lock);
	struct order *o = map_get(s->orders, id);
	if (o && o->status == ST_PROCESSING)
		o->status = ST_READY;
	pthread_mutex_unlock(&s->lock);
}

int store_order_finish(struct store *s, const char *id, const char *cert_id, const struct problem *p)
{
	pthread_mutex_lock(&s->lock);
	struct order *o = map_get(s->orders, id);
	if (o && o->status == ST_PROCESSING) {
		if (cert_id) {
			o->status = ST_VALID;
			snprintf(o->cert_id, sizeof o->cert_id, "%s", cert_id);
		} else {
			o->status = ST_INVALID;
			store_problem_set(&o->error, p);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return o ? 0 : -1;
}

void store_counts(struct store *s, size_t *accounts, size_t *orders, size_t *authzs, size_t *certs)
{
	pthread_mutex_lock(&s->lock);
	*accounts = map_size(s->accounts);
	*orders = map_size(s->orders);
	*authzs = map_size(s->authzs);
	*certs = map_size(s->certs);
	pthread_mutex_unlock(&s->lock);
}

static int ident_cmp(const void *x, const void *y)
{
	const struct identifier *a = x, *b = y;
	int c = strcmp(a->type, b->type);
	return c ? c : strcmp(a->value, b->value);
}

/* FNV-1a over the sorted set (values case-folded): one hash per set of names. */
uint64_t store_ident_set_hash(const struct identifier *ids, size_t n)
{
	struct identifier *s = xcalloc(n ? n : 1, sizeof *s);
	memcpy(s, ids, n * sizeof *s);
	qsort(s, n, sizeof *s, ident_cmp);
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		for (const char *p = s[i].type; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ ':') * 1099511628211ull;
		for (const char *p = s[i].value; *p; p++)
			h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ull;
		h = (h ^ '\n') * 1099511628211ull;
	}
	free(s);
	return h;
}
