/* conformance: one table of checks of client behaviour, counters per account and per User-Agent. */
#include "server/conformance.h"
#include "common/map.h"
#include "common/util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum severity { SEV_MUST, SEV_SHOULD, SEV_INFO };
static const char *const sev_names[] = {"MUST", "SHOULD", "info"};

/* The table: adding a check is one row here (and its constant in conformance.h) plus its test. */
static const struct conf_row {
	enum conf_check check;
	const char *id;
	enum severity sev;
	const char *ref;
	const char *message;
} rows[] = {
    {CONF_NO_USER_AGENT, "no-user-agent", SEV_MUST, "RFC 8555 §6.1",
     "the request had no User-Agent header; ACME clients must send one naming the client"},
    {CONF_JWS_CONTENT_TYPE, "jws-content-type", SEV_MUST, "RFC 8555 §6.2",
     "a JWS was sent with a Content-Type other than application/jose+json"},
    {CONF_BADNONCE_NOT_RETRIED, "badnonce-not-retried", SEV_SHOULD, "RFC 8555 §6.5",
     "after a badNonce error the next request did not use the nonce that error response carried"},
    {CONF_POLL_BEFORE_RETRY_AFTER, "poll-before-retry-after", SEV_SHOULD, "RFC 8555 §7.5.1, §8.2",
     "polled an order, authorization or challenge sooner than the Retry-After cobble sent"},
    {CONF_POLL_TOO_FAST, "poll-too-fast", SEV_SHOULD, "RFC 8555 §7.5.1, §8.2",
     "polled an object the server was still working on more than once a second (no Retry-After was "
     "sent)"},
    {CONF_GET_NOT_POST_AS_GET, "get-not-post-as-get", SEV_MUST, "RFC 8555 §6.3",
     "used GET where RFC 8555 requires POST-as-GET (a signed POST with an empty payload)"},
    {CONF_CHALLENGE_BODY, "challenge-body-not-empty", SEV_SHOULD, "RFC 8555 §7.5.1",
     "answered a challenge with a body other than the empty JSON object {}"},
    {CONF_FINALIZE_NOT_READY, "finalize-not-ready", SEV_SHOULD, "RFC 8555 §7.4",
     "sent finalize for an order that was not ready"},
    {CONF_ALTERNATE_NEVER_FETCHED, "alternate-never-fetched", SEV_INFO, "RFC 8555 §7.4.2",
     "downloaded a certificate that has alternate chains (Link rel=\"alternate\") and never fetched "
     "one"},
    {CONF_ARI_NEVER_ASKED, "ari-never-asked", SEV_INFO, "RFC 9773 §4",
     "downloaded certificates but never asked renewalInfo, which the directory advertises"},
    {CONF_ARI_NO_REPLACES, "ari-renewal-without-replaces", SEV_INFO, "RFC 9773 §5",
     "ordered the same identifiers as a certificate it already has without \"replaces\""},
    {CONF_PERSIST_LENIENT, "persist-lenient-match", SEV_INFO, "draft-ietf-acme-dns-persist §3",
     "the dns-persist-01 record validated only thanks to cobble's leniency (issuer in upper case or "
     "with a trailing dot, a TAB, strings split); another CA may refuse it"},
    {CONF_PERSIST_WILDCARD_UNUSED, "persist-wildcard-unused", SEV_INFO,
     "draft-ietf-acme-dns-persist §5 (least privilege)",
     "the dns-persist-01 record has policy=wildcard but the account never ordered a wildcard or a "
     "subdomain"},
    {CONF_PERSIST_NO_UNTIL, "persist-no-persist-until", SEV_INFO, "draft-ietf-acme-dns-persist §3",
     "the validating dns-persist-01 record has no persistUntil: it authorizes the account forever"},
    {CONF_PERSIST_BAD_ACCOUNT, "persist-stale-account", SEV_INFO, "draft-ietf-acme-dns-persist §3",
     "a dns-persist-01 record names an account of this CA that is unknown or deactivated"},
};
_Static_assert(sizeof rows / sizeof rows[0] == CONF_NCHECKS, "one row per check");

#define MAX_CLIENTS 10000 /* accounts (and User-Agents) tracked; later ones are only counted */
#define MAX_POLLS 256     /* objects in progress tracked per account */
#define MAX_CERT_SETS 64  /* identifier sets of certificates per account (ARI replaces check) */

struct hit {
	unsigned long count;
	time_t first;
	char url[300];
	char detail[400];
};

struct poll {
	double at;          /* monotonic time of the answer */
	int window;         /* seconds the answer asked the client to wait */
	bool retry_after;   /* window came from a Retry-After header (else the 1 s fallback) */
};

struct client {
	char ua[160];                     /* accounts: the last User-Agent seen */
	unsigned long requests;
	struct hit *hits[CONF_NCHECKS];   /* NULL until the check fired */
	struct hit *expect[CONF_NCHECKS]; /* deferred checks: count unless met */
	bool met[CONF_NCHECKS];
	char badnonce[128];               /* the nonce of the last badNonce answer, until used */
	struct map *polls;                /* obj -> struct poll */
	uint64_t cert_sets[MAX_CERT_SETS];
	size_t ncert_sets;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct map *accounts, *uas;
static unsigned long untracked;

static void client_free(void *v)
{
	struct client *c = v;
	if (!c)
		return;
	for (int i = 0; i < CONF_NCHECKS; i++) {
		free(c->hits[i]);
		free(c->expect[i]);
	}
	map_free(c->polls);
	free(c);
}

/* Under lock. The entry for key in *m (made on first use), or NULL when the table is full. */
static struct client *client_get(struct map **m, const char *key)
{
	if (!*m)
		*m = map_new(client_free);
	struct client *c = map_get(*m, key);
	if (c)
		return c;
	if (map_size(*m) >= MAX_CLIENTS) {
		untracked++;
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	map_put(*m, key, c);
	return c;
}

static const char *ua_key(const char *ua)
{
	return ua && *ua ? ua : "(none)";
}

/* Under lock: the account's entry (remembering its User-Agent) or NULL. */
static struct client *account_of(const struct conf_who *who)
{
	if (!who->account || !who->account[0])
		return NULL;
	struct client *a = client_get(&accounts, who->account);
	if (a && who->request)
		snprintf(a->ua, sizeof a->ua, "%s", who->ua ? who->ua : "");
	return a;
}

static void hit_add(struct hit **slot, const struct conf_who *who, const char *detail)
{
	if (!*slot) {
		*slot = xcalloc(1, sizeof **slot);
		(*slot)->first = time(NULL);
		snprintf((*slot)->url, sizeof (*slot)->url, "%s%s", who->base ? who->base : "",
		         who->path ? who->path : "");
		snprintf((*slot)->detail, sizeof (*slot)->detail, "%s", detail);
	}
	(*slot)->count++;
}

/* Under lock: count c for the account and the User-Agent. */
static void note_locked(enum conf_check c, const struct conf_who *who, const char *detail)
{
	struct client *a = account_of(who);
	if (a)
		hit_add(&a->hits[c], who, detail);
	/* a VA worker has no request: the account's last User-Agent stands in */
	if (!who->request && !a)
		return;
	const char *ua = who->request ? who->ua : a->ua;
	struct client *u = client_get(&uas, ua_key(ua));
	if (u)
		hit_add(&u->hits[c], who, detail);
}

void conformance_note(enum conf_check c, const struct conf_who *who, const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	note_locked(c, who, detail);
	pthread_mutex_unlock(&lock);
}

/* Under lock: a deferred check, counted in the report unless the account meets it later. */
static void expect_locked(struct client *a, enum conf_check c, const struct conf_who *who,
                          const char *detail)
{
	if (a && !a->met[c])
		hit_add(&a->expect[c], who, detail);
}

static void met_locked(struct client *a, enum conf_check c)
{
	if (!a)
		return;
	a->met[c] = true;
	free(a->expect[c]);
	a->expect[c] = NULL;
}

/* ---- hooks ---- */

void conformance_reply(const struct conf_who *who, const char *problem_type, const char *nonce)
{
	pthread_mutex_lock(&lock);
	struct client *a = account_of(who);
	if (a)
		a->requests++;
	struct client *u = client_get(&uas, ua_key(who->ua));
	if (u)
		u->requests++;
	/* RFC 8555 §6.1: "ACME clients MUST send a User-Agent header field" */
	if (!who->ua || !who->ua[0])
		note_locked(CONF_NO_USER_AGENT, who, "no User-Agent header");
	/* §6.5: the badNonce answer's Replay-Nonce is the one to retry with */
	if (problem_type && strcmp(problem_type, PROB_BAD_NONCE) == 0 && nonce) {
		struct client *k = a ? a : u;
		if (k)
			snprintf(k->badnonce, sizeof k->badnonce, "%s", nonce);
	}
	pthread_mutex_unlock(&lock);
}

void conformance_nonce_used(const struct conf_who *who, const char *nonce)
{
	pthread_mutex_lock(&lock);
	struct client *a = account_of(who);
	/* without an account (newAccount) the client is known by its User-Agent only */
	struct client *k = a ? a : uas ? map_get(uas, ua_key(who->ua)) : NULL;
	if (k && k->badnonce[0]) {
		if (!nonce || strcmp(nonce, k->badnonce) != 0) {
			char detail[400];
			snprintf(detail, sizeof detail, "retried with nonce \"%.40s\", not \"%.40s\" from the badNonce "
			         "response's Replay-Nonce", nonce ? nonce : "(none)", k->badnonce);
			note_locked(CONF_BADNONCE_NOT_RETRIED, who, detail);
		}
		k->badnonce[0] = '\0';
	}
	pthread_mutex_unlock(&lock);
}

void conformance_polled(const struct conf_who *who, const char *obj)
{
	pthread_mutex_lock(&lock);
	struct client *a = account_of(who);
	struct poll *p = a && a->polls ? map_get(a->polls, obj) : NULL;
	if (p) {
		double waited = util_now_mono() - p->at;
		if (waited < p->window) {
			char detail[400];
			snprintf(detail, sizeof detail, "%s read again after %.2f s; %s %d s", obj, waited,
			         p->retry_after ? "cobble's Retry-After said" : "with no Retry-After, poll at most "
			                                                      "once every",
			         p->window);
			note_locked(p->retry_after ? CONF_POLL_BEFORE_RETRY_AFTER : CONF_POLL_TOO_FAST, who, detail);
		}
	}
	pthread_mutex_unlock(&lock);
}

void conformance_answered(const char *account, const char *obj, bool in_progress, int retry_after)
{
	if (!account || !account[0])
		return;
	pthread_mutex_lock(&lock);
	struct client *a = client_get(&accounts, account);
	if (a && !in_progress) {
		if (a->polls)
			map_del(a->polls, obj);
	} else if (a) {
		if (!a->polls)
			a->polls = map_new(free);
		struct poll *p = map_get(a->polls, obj);
		if (!p && map_size(a->polls) < MAX_POLLS) {
			p = xcalloc(1, sizeof *p);
			map_put(a->polls, obj, p);
		}
		if (p) {
			p->at = util_now_mono();
			p->retry_after = retry_after > 0;
			p->window = retry_after > 0 ? retry_after : 1;
		}
	}
	pthread_mutex_unlock(&lock);
}

void conformance_cert_download(struct store *st, const struct conf_who *who, const struct cert *c,
                               unsigned long alt)
{
	struct order o = {0};
	bool have_order = store_order_get(st, c->order_id, &o) == 0;
	uint64_t h = have_order ? store_ident_set_hash(o.idents, o.nidents) : 0;
	store_order_clear(&o);
	pthread_mutex_lock(&lock);
	struct client *a = account_of(who);
	if (a && alt > 0)
		met_locked(a, CONF_ALTERNATE_NEVER_FETCHED);
	else if (a && c->nchains > 1 && !a->met[CONF_ALTERNATE_NEVER_FETCHED])
		expect_locked(a, CONF_ALTERNATE_NEVER_FETCHED, who, "certificate downloaded; its alternate "
		              "chains were never fetched");
	if (a && !a->met[CONF_ARI_NEVER_ASKED])
		expect_locked(a, CONF_ARI_NEVER_ASKED, who, "certificate downloaded; renewalInfo was never asked");
	if (a && have_order) {
		bool known = false;
		for (size_t i = 0; i < a->ncert_sets; i++)
			known |= a->cert_sets[i] == h;
		if (!known)
			a->cert_sets[a->ncert_sets++ % MAX_CERT_SETS] = h;
		if (a->ncert_sets > MAX_CERT_SETS)
			a->ncert_sets = MAX_CERT_SETS;
	}
	pthread_mutex_unlock(&lock);
}

void conformance_renewal_info(const char *account)
{
	if (!account || !account[0])
		return;
	pthread_mutex_lock(&lock);
	met_locked(client_get(&accounts, account), CONF_ARI_NEVER_ASKED);
	pthread_mutex_unlock(&lock);
}

void conformance_new_order(const struct conf_who *who, const struct order *o)
{
	uint64_t h = store_ident_set_hash(o->idents, o->nidents);
	bool wildcard = false;
	for (size_t i = 0; i < o->nidents; i++)
		wildcard |= util_has_prefix(o->idents[i].value, "*.");
	pthread_mutex_lock(&lock);
	struct client *a = account_of(who);
	if (a && wildcard)
		met_locked(a, CONF_PERSIST_WILDCARD_UNUSED);
	bool renewal = false;
	for (size_t i = 0; a && i < a->ncert_sets; i++)
		renewal |= a->cert_sets[i] == h;
	/* RFC 9773 §5: a client that renews SHOULD say which certificate the order replaces */
	if (renewal && !o->replaces[0])
		note_locked(CONF_ARI_NO_REPLACES, who, "newOrder for the identifiers of a certificate this "
		            "account downloaded, without \"replaces\"");
	pthread_mutex_unlock(&lock);
}

/* ---- dns-persist-01 records ---- */

/* The record's RDATA joined (spec section 1: strings concatenated with no separator). New string. */
static char *rr_text(const struct persist_rr *rr)
{
	size_t n = 0;
	for (size_t i = 0; i < rr->nstrs; i++)
		n += rr->strs[i].len;
	char *s = xcalloc(1, n + 1), *p = s;
	for (size_t i = 0; i < rr->nstrs; i++) {
		memcpy(p, rr->strs[i].data, rr->strs[i].len);
		p += rr->strs[i].len;
	}
	return s;
}

/* The value of parameter tag (case-insensitive) in text, WSP-trimmed, into out; false if absent. */
static bool param(const char *text, const char *tag, char *out, size_t outlen)
{
	const char *seg = strchr(text, ';');
	while (seg) {
		seg++;
		seg += strspn(seg, " \t");
		size_t tl = strlen(tag);
		const char *eq = seg + tl;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (strncasecmp(seg, tag, tl) == 0 && *eq == '=') {
			const char *v = eq + 1 + strspn(eq + 1, " \t");
			size_t vl = strcspn(v, "; \t");
			snprintf(out, outlen, "%.*s", (int)vl, v);
			return true;
		}
		seg = strchr(seg, ';');
	}
	return false;
}

/* What leniency the validating record needed; "" when none. */
static void leniency(const struct persist_rr *rr, const char *text, char *out, size_t outlen)
{
	out[0] = '\0';
	size_t n = 0;
	const char *issuer = text + strspn(text, " \t");
	size_t il = strcspn(issuer, ";");
	while (il && (issuer[il - 1] == ' ' || issuer[il - 1] == '\t'))
		il--;
	bool upper = false;
	for (size_t i = 0; i < il; i++)
		upper |= isupper((unsigned char)issuer[i]) != 0;
	if (upper)
		n += (size_t)snprintf(out + n, outlen - n, "issuer \"%.*s\" is not lower case; ", (int)il, issuer);
	if (n < outlen && il && issuer[il - 1] == '.')
		n += (size_t)snprintf(out + n, outlen - n, "issuer \"%.*s\" has a trailing dot; ", (int)il, issuer);
	if (n < outlen && strchr(text, '\t'))
		n += (size_t)snprintf(out + n, outlen - n, "the record contains a TAB; ");
	if (n < outlen && rr->nstrs > 1)
		n += (size_t)snprintf(out + n, outlen - n, "the record is split into %zu strings; ", rr->nstrs);
	if (n >= 2 && n < outlen)
		out[n - 2] = '\0';
}

void conformance_persist(struct store *st, const char *account, const char *account_url,
                         const char *record_name, const struct persist_rr *rrs, size_t nrrs, int matched,
                         bool wildcard, bool at_ancestor, bool has_persist_until)
{
	struct conf_who who = {.account = account, .path = record_name};
	const char *slash = strrchr(account_url, '/');
	size_t prefix_len = slash ? (size_t)(slash - account_url) + 1 : 0;
	for (size_t i = 0; i < nrrs; i++) {
		char *text = rr_text(&rrs[i]);
		char uri[300], why[400];
		if (st && prefix_len && param(text, "accounturi", uri, sizeof uri) &&
		    strncmp(uri, account_url, prefix_len) == 0) {
			struct account acct = {0};
			const char *id = uri + prefix_len;
			int got = strlen(id) <= STORE_ID_LEN ? store_account_get(st, id, &acct) : -1;
			if (got < 0 || acct.status != ST_VALID) {
				snprintf(why, sizeof why, "record \"%.200s\" names %s account %.60s", text,
				         got < 0 ? "an unknown" : store_status_name(acct.status), id);
				conformance_note(CONF_PERSIST_BAD_ACCOUNT, &who, "%s", why);
			}
			store_account_clear(&acct);
		}
		if ((int)i == matched) {
			char pol[32];
			leniency(&rrs[i], text, why, sizeof why);
			if (why[0])
				conformance_note(CONF_PERSIST_LENIENT, &who, "record \"%.200s\": %s", text, why);
			if (!has_persist_until)
				conformance_note(CONF_PERSIST_NO_UNTIL, &who, "record \"%.300s\"", text);
			if (!wildcard && !at_ancestor && param(text, "policy", pol, sizeof pol) &&
			    strcasecmp(pol, "wildcard") == 0) {
				snprintf(why, sizeof why, "record \"%.200s\" at %s has policy=wildcard", text, record_name);
				pthread_mutex_lock(&lock);
				struct client *a = account_of(&who);
				expect_locked(a, CONF_PERSIST_WILDCARD_UNUSED, &who, why);
				pthread_mutex_unlock(&lock);
			}
		}
		free(text);
	}
}

/* ---- reading ---- */

static json_t *hit_json(const struct conf_row *row, const struct hit *h)
{
	char when[32];
	util_time_fmt(h->first, when, sizeof when);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:s, s:s, s:s}}", "id", row->id, "severity",
	                 sev_names[row->sev], "reference", row->ref, "message", row->message, "count",
	                 (json_int_t)h->count, "first", "time", when, "url", h->url, "detail", h->detail);
}

struct render {
	json_t *list;
	bool must;
	const char *label; /* "account" or "userAgent" */
	struct map *accounts; /* for User-Agents: add the deferred findings of their accounts */
};

/* Under lock: the deferred findings of the accounts whose last User-Agent is ua, summed into sum. */
struct ua_sum {
	const char *ua;
	struct hit sum[CONF_NCHECKS];
};

static int sum_expect(const char *key, void *value, void *ctx)
{
	struct client *a = value;
	struct ua_sum *s = ctx;
	if (strcmp(ua_key(a->ua[0] ? a->ua : NULL), s->ua) != 0)
		return 0;
	for (int i = 0; i < CONF_NCHECKS; i++) {
		if (!a->expect[i])
			continue;
		if (!s->sum[i].count || a->expect[i]->first < s->sum[i].first) {
			unsigned long n = s->sum[i].count;
			s->sum[i] = *a->expect[i];
			s->sum[i].count = n;
		}
		s->sum[i].count += a->expect[i]->count;
	}
	return 0;
}

static int render_client(const char *key, void *value, void *ctx)
{
	struct client *c = value;
	struct render *rd = ctx;
	json_t *findings = json_array();
	struct ua_sum *s = NULL;
	if (rd->accounts) {
		s = xcalloc(1, sizeof *s);
		s->ua = key;
		map_each(rd->accounts, sum_expect, s);
	}
	for (int i = 0; i < CONF_NCHECKS; i++) {
		struct hit h = {0};
		const struct hit *parts[] = {c->hits[i], c->expect[i], s && s->sum[i].count ? &s->sum[i] : NULL};
		for (size_t k = 0; k < 3; k++) {
			if (!parts[k])
				continue;
			if (!h.count || parts[k]->first < h.first) {
				unsigned long n = h.count;
				h = *parts[k];
				h.count = n;
			}
			h.count += parts[k]->count;
		}
		if (!h.count)
			continue;
		json_array_append_new(findings, hit_json(&rows[i], &h));
		rd->must |= rows[i].sev == SEV_MUST;
	}
	free(s);
	json_t *o = json_pack("{s:s, s:I, s:o}", rd->label, key, "requests", (json_int_t)c->requests,
	                      "findings", findings);
	if (!rd->accounts)
		json_object_set_new(o, "userAgent", json_string(c->ua));
	json_array_append_new(rd->list, o);
	return 0;
}

json_t *conformance_json(const char *account)
{
	json_t *out = NULL;
	pthread_mutex_lock(&lock);
	struct render acc = {.list = json_array(), .label = "account"};
	if (account) {
		struct client *c = accounts ? map_get(accounts, account) : NULL;
		if (c) {
			render_client(account, c, &acc);
			out = json_incref(json_array_get(acc.list, 0));
			json_object_set_new(out, "mustBroken", json_boolean(acc.must));
		}
		json_decref(acc.list);
		pthread_mutex_unlock(&lock);
		return out;
	}
	struct render ua = {.list = json_array(), .label = "userAgent", .accounts = accounts};
	if (accounts)
		map_each(accounts, render_client, &acc);
	if (uas)
		map_each(uas, render_client, &ua);
	json_t *checks = json_array();
	for (int i = 0; i < CONF_NCHECKS; i++)
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s}", "id", rows[i].id, "severity",
		                                        sev_names[rows[i].sev], "reference", rows[i].ref,
		                                        "message", rows[i].message));
	out = json_pack("{s:o, s:b, s:o, s:o, s:I}", "checks", checks, "mustBroken", acc.must || ua.must,
	                "accounts", acc.list, "userAgents", ua.list, "untracked", (json_int_t)untracked);
	pthread_mutex_unlock(&lock);
	return out;
}

void conformance_reset(void)
{
	pthread_mutex_lock(&lock);
	map_free(accounts);
	map_free(uas);
	accounts = uas = NULL;
	untracked = 0;
	pthread_mutex_unlock(&lock);
}
