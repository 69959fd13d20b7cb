/* faults: injected errors, the maintenance switch and Let's-Encrypt-style rate limits. */
#include "server/faults.h"
#include "common/map.h"
#include "common/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_INJECTIONS 64

const char *const faults_resources[] = {"newNonce", "newAccount", "account", "keyChange", "newOrder",
                                        "order", "authz", "challenge", "finalize", "cert",
                                        "revokeCert", "renewalInfo", "any", NULL};

/* Every ACME error type (RFC 8555 §6.7, RFC 9773 §7.4, profiles), so a chosen one is static. */
static const char *const types[] = {
    PROB_ACCOUNT_DOES_NOT_EXIST, PROB_ALREADY_REPLACED, PROB_ALREADY_REVOKED, PROB_BAD_CSR,
    PROB_BAD_NONCE, PROB_BAD_PUBLIC_KEY, PROB_BAD_REVOCATION_REASON, PROB_BAD_SIGNATURE_ALGORITHM,
    PROB_CAA, PROB_CONNECTION, PROB_DNS, PROB_EXTERNAL_ACCOUNT_REQUIRED, PROB_INCORRECT_RESPONSE,
    PROB_INVALID_CONTACT, PROB_INVALID_PROFILE, PROB_MALFORMED, PROB_ORDER_NOT_READY,
    PROB_RATE_LIMITED, PROB_REJECTED_IDENTIFIER, PROB_SERVER_INTERNAL, PROB_TLS, PROB_UNAUTHORIZED,
    PROB_UNSUPPORTED_CONTACT, PROB_UNSUPPORTED_IDENTIFIER, PROB_USER_ACTION_REQUIRED,
};

struct injection {
	char resource[16];   /* "" = any resource */
	char identifier[256]; /* "" = any identifier */
	int left;            /* requests still to fail */
	int hit;             /* requests failed so far */
	const char *type;    /* static */
	int status, retry_after;
	char detail[300];
};

enum { LIM_ORDERS, LIM_ACCOUNTS, LIM_DUPLICATES, NLIMITS };
static const char *const limit_names[NLIMITS] = {"newOrdersPerAccount", "newAccountsPerIP",
                                                 "duplicateCertificates"};

struct limit {
	int count, window;  /* count 0: off */
	unsigned long refused;
	struct map *seen;   /* key -> struct events */
};

struct events {
	int n;
	time_t t[];         /* oldest first, at most limit.count */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct injection inj[MAX_INJECTIONS];
static size_t ninj;
static bool maint_on;
static int maint_retry_after;
static unsigned long maint_refused;
static struct limit limits[NLIMITS];

static const char *type_named(const char *name)
{
	for (size_t i = 0; name && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i], name) == 0)
			return types[i];
	return NULL;
}

static bool known_resource(const char *name)
{
	for (size_t i = 0; faults_resources[i]; i++)
		if (strcmp(faults_resources[i], name) == 0)
			return true;
	return false;
}

/* An optional integer field of body between lo and hi into *out. */
static int int_field(json_t *body, const char *name, int lo, int hi, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(body, name);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "\"%s\" must be an integer from %d to %d", name, lo, hi);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

int faults_inject(json_t *body, char *err, size_t errlen)
{
	if (!json_is_object(body)) {
		snprintf(err, errlen, "the body must be a JSON object");
		return -1;
	}
	if (json_is_true(json_object_get(body, "clear"))) {
		pthread_mutex_lock(&lock);
		ninj = 0;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	struct injection in = {.left = 1, .status = 0, .retry_after = 0};
	const char *res = json_string_value(json_object_get(body, "resource"));
	const char *ident = json_string_value(json_object_get(body, "identifier"));
	const char *tname = json_string_value(json_object_get(body, "type"));
	const char *detail = json_string_value(json_object_get(body, "detail"));
	if ((json_object_get(body, "resource") && (!res || !known_resource(res))) ||
	    (json_object_get(body, "identifier") && (!ident || !*ident || strlen(ident) >= sizeof in.identifier))) {
		snprintf(err, errlen, "\"resource\" must be one of newNonce, newAccount, account, keyChange, "
		         "newOrder, order, authz, challenge, finalize, cert, revokeCert, renewalInfo, any; "
		         "\"identifier\" a name or address");
		return -1;
	}
	if (!res && !ident) {
		snprintf(err, errlen, "say which requests fail: \"resource\", \"identifier\" or both");
		return -1;
	}
	in.type = type_named(tname ? tname : PROB_SERVER_INTERNAL);
	if (!in.type) {
		snprintf(err, errlen, "\"type\" must be an ACME error name such as rateLimited or serverInternal "
		         "(without urn:ietf:params:acme:error:)");
		return -1;
	}
	in.status = strcmp(in.type, PROB_RATE_LIMITED) == 0 ? 429 : strcmp(in.type, PROB_SERVER_INTERNAL) == 0 ? 500 : 400;
	if (int_field(body, "count", 1, 1000000, &in.left, err, errlen) < 0 ||
	    int_field(body, "status", 400, 599, &in.status, err, errlen) < 0 ||
	    int_field(body, "retryAfter", 0, 86400 * 366, &in.retry_after, err, errlen) < 0)
		return -1;
	snprintf(in.resource, sizeof in.resource, "%s", res && strcmp(res, "any") != 0 ? res : "");
	snprintf(in.identifier, sizeof in.identifier, "%s", ident ? ident : "");
	snprintf(in.detail, sizeof in.detail, "%s", detail ? detail : "");
	pthread_mutex_lock(&lock);
	int rc = 0;
	if (ninj >= MAX_INJECTIONS) {
		snprintf(err, errlen, "at most %d injections at once; {\"clear\": true} drops them", MAX_INJECTIONS);
		rc = -1;
	} else {
		inj[ninj++] = in;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int faults_maintenance(json_t *body, char *err, size_t errlen)
{
	json_t *on = json_object_get(body, "on");
	int ra = 60;
	if (!json_is_boolean(on)) {
		snprintf(err, errlen, "the body must be {\"on\": true|false, \"retryAfter\": seconds}");
		return -1;
	}
	if (int_field(body, "retryAfter", 0, 86400 * 366, &ra, err, errlen) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	maint_on = json_is_true(on);
	maint_retry_after = ra;
	pthread_mutex_unlock(&lock);
	return 0;
}

static void events_free(void *v)
{
	free(v);
}

int faults_limits(json_t *body, char *err, size_t errlen)
{
	struct limit set[NLIMITS];
	if (!json_is_object(body)) {
		snprintf(err, errlen, "the body must be a JSON object");
		return -1;
	}
	pthread_mutex_lock(&lock);
	memcpy(set, limits, sizeof set);
	pthread_mutex_unlock(&lock);
	const char *name;
	json_t *v;
	json_object_foreach(body, name, v) {
		size_t i;
		for (i = 0; i < NLIMITS && strcmp(limit_names[i], name) != 0; i++)
			;
		if (i == NLIMITS) {
			snprintf(err, errlen, "unknown limit \"%.40s\"; the limits are newOrdersPerAccount, "
			         "newAccountsPerIP, duplicateCertificates", name);
			return -1;
		}
		if (!json_is_object(v) || int_field(v, "count", 0, 100000, &set[i].count, err, errlen) < 0 ||
		    int_field(v, "window", 1, 86400 * 366, &set[i].window, err, errlen) < 0 ||
		    !json_object_get(v, "count") || !json_object_get(v, "window")) {
			snprintf(err, errlen, "%s: expected {\"count\": N (0 turns it off), \"window\": seconds}", name);
			return -1;
		}
	}
	pthread_mutex_lock(&lock);
	for (int i = 0; i < NLIMITS; i++) {
		if (!json_object_get(body, limit_names[i]))
			continue;
		/* a new limit starts counting afresh */
		map_free(limits[i].seen);
		limits[i] = (struct limit){.count = set[i].count, .window = set[i].window};
		limits[i].seen = map_new(events_free);
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

void faults_limits_configure(const int count[3], const int window[3])
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < NLIMITS; i++) {
		map_free(limits[i].seen);
		limits[i] = (struct limit){.count = count[i], .window = window[i]};
		limits[i].seen = map_new(events_free);
	}
	pthread_mutex_unlock(&lock);
}

json_t *faults_json(void)
{
	pthread_mutex_lock(&lock);
	json_t *list = json_array();
	for (size_t i = 0; i < ninj; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:i, s:i, s:s, s:i, s:i, s:s}", "resource",
		                                      inj[i].resource[0] ? inj[i].resource : "any", "identifier",
		                                      inj[i].identifier, "count", inj[i].left, "failed", inj[i].hit,
		                                      "type", inj[i].type, "status", inj[i].status, "retryAfter",
		                                      inj[i].retry_after, "detail", inj[i].detail));
	json_t *lim = json_object();
	for (int i = 0; i < NLIMITS; i++)
		json_object_set_new(lim, limit_names[i],
		                    json_pack("{s:i, s:i, s:I}", "count", limits[i].count, "window", limits[i].window,
		                              "refused", (json_int_t)limits[i].refused));
	json_t *o = json_pack("{s:o, s:{s:b, s:i, s:I}, s:o}", "injections", list, "maintenance", "on", maint_on,
	                      "retryAfter", maint_retry_after, "refused", (json_int_t)maint_refused, "rateLimits",
	                      lim);
	pthread_mutex_unlock(&lock);
	return o;
}

/* ---- the request side ---- */

bool faults_want_identifiers(void)
{
	pthread_mutex_lock(&lock);
	bool want = false;
	for (size_t i = 0; i < ninj; i++)
		want |= inj[i].identifier[0] != '\0';
	pthread_mutex_unlock(&lock);
	return want;
}

static bool ident_matches(const struct injection *in, const struct identifier *ids, size_t n)
{
	if (!in->identifier[0])
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(ids[i].value, in->identifier) == 0)
			return true;
	return false;
}

bool faults_check(const char *resource, const struct identifier *idents, size_t nidents,
                  struct problem *p, int *retry_after)
{
	bool fail = false;
	*retry_after = 0;
	pthread_mutex_lock(&lock);
	if (maint_on && strcmp(resource, "directory") != 0) {
		maint_refused++;
		*retry_after = maint_retry_after;
		problem_set(p, PROB_SERVER_INTERNAL, 503, "cobble is in maintenance (switched on at the management "
		            "listener's /maintenance); retry after %d seconds", maint_retry_after);
		fail = true;
	}
	for (size_t i = 0; !fail && i < ninj; i++) {
		struct injection *in = &inj[i];
		if ((in->resource[0] && strcmp(in->resource, resource) != 0) || !ident_matches(in, idents, nidents))
			continue;
		in->left--;
		in->hit++;
		*retry_after = in->retry_after;
		problem_set(p, in->type, in->status, "%s", in->detail[0] ? in->detail
		            : "injected on purpose by the management listener's /inject to test your client");
		if (in->left <= 0) { /* used up: drop it, keeping the order of the rest */
			memmove(in, in + 1, (ninj - i - 1) * sizeof *in);
			ninj--;
		}
		fail = true;
	}
	pthread_mutex_unlock(&lock);
	return fail;
}

/* Under lock: one event for key under limit l; -1 with *retry_after when the window is full. */
static int window_take(struct limit *l, const char *key, int *retry_after)
{
	time_t now = time(NULL);
	struct events *e = map_get(l->seen, key);
	if (!e) {
		e = xcalloc(1, sizeof *e + (size_t)l->count * sizeof e->t[0]);
		map_put(l->seen, key, e);
	}
	int keep = 0;
	for (int i = 0; i < e->n; i++)
		if (e->t[i] > now - l->window)
			e->t[keep++] = e->t[i];
	e->n = keep;
	if (e->n >= l->count) {
		*retry_after = (int)(e->t[0] + l->window - now);
		if (*retry_after < 1)
			*retry_after = 1;
		l->refused++;
		return -1;
	}
	e->t[e->n++] = now;
	return 0;
}

static uint64_t set_key(const struct identifier *ids, size_t n, char *out, size_t outlen)
{
	uint64_t h = store_ident_set_hash(ids, n);
	snprintf(out, outlen, "%016llx", (unsigned long long)h);
	return h;
}

int faults_limit_new_order(const char *account, const struct identifier *idents, size_t n,
                           struct problem *p, int *retry_after)
{
	char key[24];
	int rc = 0;
	set_key(idents, n, key, sizeof key);
	pthread_mutex_lock(&lock);
	struct limit *dup = &limits[LIM_DUPLICATES], *ord = &limits[LIM_ORDERS];
	/* the duplicate-certificate limit counts issued certificates: look, do not take */
	struct events *e = dup->count ? map_get(dup->seen, key) : NULL;
	time_t now = time(NULL);
	int live = 0;
	for (int i = 0; e && i < e->n; i++)
		live += e->t[i] > now - dup->window;
	if (e && live >= dup->count) {
		for (int i = 0; i < e->n; i++)
			if (e->t[i] > now - dup->window) {
				*retry_after = (int)(e->t[i] + dup->window - now);
				break;
			}
		dup->refused++;
		problem_set(p, PROB_RATE_LIMITED, 429, "too many certificates (%d) already issued for this exact set "
		            "of identifiers in the last %d seconds (duplicateCertificates); retry after %d seconds",
		            dup->count, dup->window, *retry_after);
		rc = -1;
	} else if (ord->count && window_take(ord, account, retry_after) < 0) {
		problem_set(p, PROB_RATE_LIMITED, 429, "too many new orders (%d) from this account in the last %d "
		            "seconds (newOrdersPerAccount); retry after %d seconds", ord->count, ord->window,
		            *retry_after);
		rc = -1;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int faults_limit_new_account(const char *ip, struct problem *p, int *retry_after)
{
	int rc = 0;
	pthread_mutex_lock(&lock);
	struct limit *l = &limits[LIM_ACCOUNTS];
	if (l->count && window_take(l, ip, retry_after) < 0) {
		problem_set(p, PROB_RATE_LIMITED, 429, "too many new accounts (%d) from %s in the last %d seconds "
		            "(newAccountsPerIP); retry after %d seconds", l->count, ip, l->window, *retry_after);
		rc = -1;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void faults_cert_issued(const struct identifier *idents, size_t n)
{
	char key[24];
	set_key(idents, n, key, sizeof key);
	pthread_mutex_lock(&lock);
	struct limit *l = &limits[LIM_DUPLICATES];
	if (l->count) {
		int ra;
		struct events *e = map_get(l->seen, key);
		if (e && e->n >= l->count) /* keep the newest: drop the oldest */
			memmove(e->t, e->t + 1, (size_t)--e->n * sizeof e->t[0]);
		window_take(l, key, &ra);
	}
	pthread_mutex_unlock(&lock);
}
