/* wfe_order: newOrder (RFC 8555 §7.4), the order resource, and finalize with asynchronous
 * issuance (signing runs on the issuer pool, never on a request thread). */
#include "common/b64.h"
#include "common/log.h"
#include "common/util.h"
#include "server/ari.h"
#include "server/challenge.h"
#include "server/events.h"
#include "server/faillimit.h"
#include "server/faults.h"
#include "server/issuer.h"
#include "server/va.h"
#include "server/wfe.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <libpsl.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDENTIFIERS 100

/* §7.1.4: a label starting "xn--" must be a proper A-label: it decodes, and IDNA 2008 encodes
 * the result back to the same label. */
static bool alabel_ok(const char *label, size_t n)
{
	char *a = xstrndup(label, n), *u = NULL, *back = NULL;
	bool ok = idn2_to_unicode_8z8z(a, &u, 0) == IDN2_OK &&
	          idn2_to_ascii_8z(u, &back, IDN2_NONTRANSITIONAL) == IDN2_OK && strcmp(back, a) == 0;
	free(a);
	idn2_free(u);
	idn2_free(back);
	return ok;
}

/* RFC 1035/1123 host name syntax, lowercase already; "*." handled by the caller. */
static bool dns_name_ok(const char *s, const char **why)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253) {
		*why = "a DNS name has 1 to 253 characters";
		return false;
	}
	if (!strchr(s, '.')) {
		*why = "a single-label name cannot get a certificate; use a name with a dot";
		return false;
	}
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0) {
				*why = "empty label (two dots, or a leading or trailing dot)";
				return false;
			}
			if (s[i - 1] == '-') {
				*why = "a label may not end with '-'";
				return false;
			}
			if (label >= 4 && strncmp(s + i - label, "xn--", 4) == 0 && !alabel_ok(s + i - label, label)) {
				*why = "a label starting with \"xn--\" is not a valid IDNA A-label";
				return false;
			}
			label = 0;
			continue;
		}
		if ((unsigned char)c >= 0x80) {
			*why = "non-ASCII characters: send the A-label (xn--...) form";
			return false;
		}
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-')) {
			*why = c == '*' ? "'*' is only allowed as the whole leftmost label of a wildcard"
			                : "only letters, digits and '-' are allowed in a label";
			return false;
		}
		if (label == 0 && c == '-') {
			*why = "a label may not start with '-'";
			return false;
		}
		if (++label > 63) {
			*why = "a label has at most 63 characters";
			return false;
		}
	}
	struct in_addr a4;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		*why = "this is an IP address: use an identifier of type \"ip\"";
		return false;
	}
	return true;
}

static bool blocked(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->ndomain_blocklist; i++) {
		const char *b = c->domain_blocklist[i];
		size_t nb = strlen(b), nn = strlen(name);
		if (strcmp(name, b) == 0 || (nn > nb && name[nn - nb - 1] == '.' && strcmp(name + nn - nb, b) == 0))
			return true;
	}
	return false;
}

/* Names no CA issues for, as Let's Encrypt refuses them: a public suffix itself (RFC 8555 §7.1.3
 * leaves policy to the CA; the ICANN section of the Public Suffix List) and an all-digit last
 * label ("127.1", "1.2.3.4.5", "0x7f.0.0.1": IP addresses in disguise, never a TLD). */
static bool dns_name_policy_ok(const char *base, const char **why)
{
	const char *last = strrchr(base, '.');
	last = last ? last + 1 : base;
	bool digits = *last != '\0';
	for (const char *c = last; *c; c++)
		digits = digits && isdigit((unsigned char)*c);
	if (digits) {
		*why = "the last label is all digits, which no top-level domain is (for an address, send an \"ip\" "
		       "identifier)";
		return false;
	}
	const psl_ctx_t *psl = psl_builtin();
	if (psl && psl_is_public_suffix2(psl, base, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE)) {
		*why = "the name is a public suffix (Public Suffix List, ICANN section); no one can prove control of it";
		return false;
	}
	return true;
}

/* RFC 8738 §3 leaves policy to the CA: an address nobody can be (unspecified, broadcast,
 * multicast, reserved) is refused; loopback and private ones stay allowed in a test CA. */
static bool ip_policy_ok(const unsigned char *a, bool v6, const char **why)
{
	static const unsigned char zero[16];
	if (!v6 && (a[0] == 0 || a[0] >= 224)) {
		*why = a[0] == 0 ? "0.0.0.0/8 is \"this network\", not a host (RFC 1122 §3.2.1.3)"
		       : a[0] < 240 ? "a multicast address (224.0.0.0/4) is not a host"
		                    : "a reserved or broadcast address (240.0.0.0/4) is not a host";
		return false;
	}
	if (v6 && (memcmp(a, zero, 16) == 0 || a[0] == 0xff)) {
		*why = a[0] == 0xff ? "a multicast address (ff00::/8) is not a host" : "the unspecified address :: is not a host";
		return false;
	}
	return true;
}

/* Parse, canonicalise and check the identifiers; subproblems per bad identifier (§6.7.1) go into
 * subs (PROBLEM_MAX_SUB slots, the caller's), which p then refers to. */
static int parse_identifiers(struct req *r, json_t *arr, struct identifier **out, size_t *nout,
                             struct subproblem *subs, struct problem *p)
{
	const struct config *cfg = r->srv->cfg;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return problem_set(p, PROB_MALFORMED, 400, "\"identifiers\" must be a non-empty array");
	if (json_array_size(arr) > MAX_IDENTIFIERS)
		return problem_set(p, PROB_REJECTED_IDENTIFIER, 400,
		                   "%zu identifiers; an order may have at most %d", json_array_size(arr),
		                   MAX_IDENTIFIERS);
	struct identifier *ids = xcalloc(json_array_size(arr), sizeof *ids);
	size_t n = 0;
	bool unsupported = false;
	size_t nbad = 0; /* every refused identifier; the subproblems hold the first PROBLEM_MAX_SUB */
	problem_set(p, PROB_REJECTED_IDENTIFIER, 400, "%s", "");
	problem_lend_subs(p, subs, PROBLEM_MAX_SUB);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *value = json_string_value(json_object_get(v, "value"));
		if (!json_is_object(v) || !type || !value) {
			free(ids);
			return problem_set(p, PROB_MALFORMED, 400,
			                   "identifier %zu must be {\"type\": \"dns\"|\"ip\", \"value\": text}", i);
		}
		struct identifier id = {0};
		const char *why = NULL;
		if (strcmp(type, "dns") == 0) {
			snprintf(id.type, sizeof id.type, "dns");
			if (strlen(value) >= sizeof id.value) {
				why = "name too long";
			} else {
				snprintf(id.value, sizeof id.value, "%s", value);
				util_lower(id.value);
				const char *base = util_has_prefix(id.value, "*.") ? id.value + 2 : id.value;
				if (!dns_name_ok(base, &why) || !dns_name_policy_ok(base, &why))
					;
				else if (blocked(cfg, base))
					why = "the name is on this server's domainBlocklist";
			}
		} else if (strcmp(type, "ip") == 0) {
			snprintf(id.type, sizeof id.type, "ip");
			unsigned char buf[16];
			/* RFC 8738: the canonical text form is what the certificate will carry */
			if (inet_pton(AF_INET, value, buf) == 1) {
				if (ip_policy_ok(buf, false, &why))
					inet_ntop(AF_INET, buf, id.value, sizeof id.value);
			} else if (inet_pton(AF_INET6, value, buf) == 1) {
				if (ip_policy_ok(buf, true, &why))
					inet_ntop(AF_INET6, buf, id.value, sizeof id.value);
			} else
				why = "not an IPv4 or IPv6 address (RFC 8738)";
		} else {
			problem_add_sub(p, PROB_UNSUPPORTED_IDENTIFIER, type, value,
			                "identifier type \"%.32s\" is not supported; use \"dns\" or \"ip\"", type);
			unsupported = true;
			nbad++;
			continue;
		}
		if (why) {
			problem_add_sub(p, PROB_REJECTED_IDENTIFIER, type, value, "%.200s: %s", value, why);
			nbad++;
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(ids[k].type, id.type) == 0 && strcmp(ids[k].value, id.value) == 0;
		if (!dup)
			ids[n++] = id;
	}
	if (p->nsub > 0) {
		free(ids);
		char first[600];
		snprintf(first, sizeof first, "%s", p->sub[0].detail);
		int nsub = p->nsub;
		char more[80] = "";
		if (nbad > (size_t)nsub)
			snprintf(more, sizeof more, "; the first %d are listed", nsub);
		problem_set(p, unsupported && nbad == 1 ? PROB_UNSUPPORTED_IDENTIFIER : PROB_REJECTED_IDENTIFIER,
		            400, "%zu identifier%s rejected: %s%s%s%s", nbad, nbad == 1 ? "" : "s", first,
		            nbad > 1 ? " (see subproblems" : "", more, nbad > 1 ? ")" : "");
		problem_lend_subs(p, subs, PROBLEM_MAX_SUB);
		p->nsub = nsub;
		return -1;
	}
	*out = ids;
	*nout = n;
	return 0;
}

static int parse_time_field(json_t *payload, const char *key, time_t *out, struct problem *p)
{
	json_t *v = json_object_get(payload, key);
	*out = 0;
	if (!v)
		return 0;
	if (!json_is_string(v) || util_time_parse(json_string_value(v), out) < 0)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "\"%s\" must be an RFC 3339 date-time such as 2026-01-01T00:00:00Z", key);
	if (*out <= 0)
		*out = -1; /* 1970-01-01T00:00:00Z and before: given (0 means absent), refused by the window check */
	return 0;
}

struct reuse_ctx {
	const struct config *cfg;
};

/* Which valid authorizations a new order may reuse: spec dns-persist-01 §4 for those validated
 * by dns-persist-01 (deterministic), Pebble's AUTHZREUSE percentage for the others. */
static bool accept_reuse(const struct authz *a, time_t now, void *vctx)
{
	const struct config *cfg = ((struct reuse_ctx *)vctx)->cfg;
	if (strcmp(a->validated_by, "dns-persist-01") == 0) {
		if (!cfg->persist_reuse)
			return false;
		if (now - a->validated_at >= (time_t)cfg->persist_reuse_days * 86400)
			return false;
		if (cfg->persist_draft == PERSIST_DRAFT_01)
			return now - a->validated_at < (time_t)a->record_ttl; /* TTL 0: never */
		return !a->has_persist_until || (uint64_t)now <= a->persist_until;
	}
	return util_chance(cfg->authz_reuse_percent);
}

/* §7.1.3/§8: which challenges an identifier gets. IP identifiers never get a DNS-based one;
 * wildcards only DNS-based ones. */
static void add_challenges(const struct config *cfg, struct authz *a)
{
	bool ip = strcmp(a->ident.type, "ip") == 0;
	for (const struct challenge_type *t = challenge_types; t->name && a->nchal < STORE_MAX_CHALLENGES; t++) {
		if (!config_challenge_enabled(cfg, t->config_name) || (ip && t->dns_based) ||
		    (a->wildcard && !t->dns_based))
			continue;
		struct challenge *c = &a->chal[a->nchal++];
		snprintf(c->type, sizeof c->type, "%s", t->name);
		c->status = ST_PENDING;
		if (t->has_token)
			b64url_random_token(c->token);
	}
}

static void reply_order(struct req *r, int status, const struct order *o)
{
	http_add_header(r, "Location", "%s%s%s", r->base, PATH_ORDER, o->id);
	if (o->status == ST_PROCESSING)
		http_add_header(r, "Retry-After", "%d", r->srv->cfg->retry_after_order);
	char obj[STORE_ID_LEN + 8];
	snprintf(obj, sizeof obj, "order:%s", o->id);
	conformance_answered(r->account, obj, o->status == ST_PROCESSING,
	                     o->status == ST_PROCESSING ? r->srv->cfg->retry_after_order : 0);
	http_reply_json(r, status, wfe_order_json(r, o));
}

/* Reply to newOrder with the order as it is now (after any JIT checks). */
static void new_order_reply(struct req *r)
{
	struct order o = {0};
	struct problem p;
	if (store_order_get(r->srv->store, r->cont_id, &o) == 0) {
		reply_order(r, 201, &o);
	} else {
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "order vanished");
		wfe_fail(r, &p);
	}
	store_order_clear(&o);
}

static void jit_done(void *ctx)
{
	struct req *r = ctx;
	if (atomic_fetch_sub(&r->pending, 1) == 1)
		http_resume(r);
}

/* dnsPersist.jit (draft §4.4): check each new authz's dns-persist-01 record on the VA pool while
 * this request is suspended (no request thread waits on DNS). Returns true when the reply will
 * come from the resumed request. */
static bool jit_start(struct req *r, const struct account *acct, const struct authz *fresh, size_t n)
{
	size_t jobs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < fresh[i].nchal; k++)
			jobs += strcmp(fresh[i].chal[k].type, "dns-persist-01") == 0;
	if (jobs == 0)
		return false;
	/* one extra count held here, so no job can resume the request before all are queued */
	atomic_store(&r->pending, (int)jobs + 1);
	http_suspend(r, new_order_reply);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < fresh[i].nchal; k++) {
			if (strcmp(fresh[i].chal[k].type, "dns-persist-01") != 0)
				continue;
			/* spec §4a: past a failed-validation limit the JIT check is not run either; the
			 * authz stays pending and its challenge POST is answered rateLimited */
			struct problem lp;
			int wait;
			if (faillimit_check(r->srv->fails, acct->id, fresh[i].ident.value, &lp, &wait) < 0) {
				jit_done(r);
				continue;
			}
			struct va_job job;
			wfe_va_job(r, acct, &fresh[i], &fresh[i].chal[k], &job);
			job.jit = true;
			job.done = jit_done;
			job.done_ctx = r;
			if (va_submit(r->srv->va, &job) < 0)
				jit_done(r); /* queue full: that authz simply stays pending */
		}
	}
	jit_done(r);
	return true;
}

void wfe_new_order(struct req *r, const char *arg)
{
	const struct conf_who who = http_who(r);
	struct server *srv = r->srv;
	const struct config *cfg = srv->cfg;
	struct post post;
	struct problem p;
	struct order o = {0};
	struct authz *fresh_authz = NULL;
	struct cert replaced = {0};
	struct subproblem *subs = xcalloc(PROBLEM_MAX_SUB, sizeof *subs); /* p may refer to it */
	if (wfe_post(r, AUTH_KID, &post, &p) < 0 || wfe_payload_object(&post, false, &p) < 0)
		goto fail;
	if (parse_identifiers(r, json_object_get(post.payload, "identifiers"), &o.idents, &o.nidents, subs,
	                      &p) < 0)
		goto fail;
	time_t now = time(NULL), clk = util_clock(); /* certificates: real time; objects: cobble's clock */
	if (parse_time_field(post.payload, "notBefore", &o.not_before, &p) < 0 ||
	    parse_time_field(post.payload, "notAfter", &o.not_after, &p) < 0)
		goto fail;
	if (issuer_check_window(o.not_before, o.not_after, now, &p) < 0)
		goto fail;
	json_t *profile = json_object_get(post.payload, "profile");
	if (profile) {
		const char *name = json_string_value(profile);
		if (issuer_check_profile(cfg, name, &p) < 0)
			goto fail;
		snprintf(o.profile, sizeof o.profile, "%s", name);
	}

	/* RFC 8555 §6.6: the configured limits (POST /rate-limits), before anything is created */
	int retry_after;
	if (faults_limit_new_order(post.acct.id, o.idents, o.nidents, &p, &retry_after) < 0) {
		http_add_header(r, "Retry-After", "%d", retry_after);
		goto fail;
	}
	/* RFC 9773 §5: checked before anything is created, so a refused order leaves no trace */
	json_t *replaces = json_object_get(post.payload, "replaces");
	if (replaces && wfe_replaces_check(r, &post.acct, &o, replaces, &replaced, &p) < 0)
		goto fail;

	o.authz_ids = xcalloc(o.nidents, sizeof *o.authz_ids);
	fresh_authz = xcalloc(o.nidents, sizeof *fresh_authz);
	size_t nfresh = 0;
	struct reuse_ctx rctx = {cfg};
	for (size_t i = 0; i < o.nidents; i++) {
		struct authz a = {0};
		a.wildcard = util_has_prefix(o.idents[i].value, "*.");
		snprintf(a.ident.type, sizeof a.ident.type, "%s", o.idents[i].type);
		snprintf(a.ident.value, sizeof a.ident.value, "%s", o.idents[i].value + (a.wildcard ? 2 : 0));
		if (store_authz_find_valid(srv->store, post.acct.id, &a.ident, a.wildcard, clk, accept_reuse,
		                           &rctx, o.authz_ids[i]) == 0)
			continue;
		snprintf(a.account_id, sizeof a.account_id, "%s", post.acct.id);
		a.status = ST_PENDING;
		a.expires = clk + cfg->pending_authz_lifetime;
		add_challenges(cfg, &a);
		if (a.nchal == 0) {
			problem_set(&p, PROB_UNSUPPORTED_IDENTIFIER, 400,
			            "no enabled challenge type can validate %s%s (enabled: see \"challenges\" in "
			            "the config)",
			            a.wildcard ? "*." : "", a.ident.value);
			goto fail;
		}
		store_authz_add(srv->store, &a);
		memcpy(o.authz_ids[i], a.id, sizeof a.id);
		fresh_authz[nfresh++] = a;
	}
	snprintf(o.account_id, sizeof o.account_id, "%s", post.acct.id);
	o.status = ST_PENDING;
	o.created = clk;
	o.expires = clk + cfg->order_lifetime;
	store_order_add(srv->store, &o);
	memcpy(r->cont_id, o.id, sizeof r->cont_id);
	if (replaces && store_cert_set_replaced(srv->store, replaced.id, replaced.replaced_by, o.id) < 0) {
		/* another newOrder claimed it between the check and now; this order stays, unlinked */
		problem_set(&p, PROB_ALREADY_REPLACED, 409,
		            "certificate %s was replaced by another order while this one was created",
		            replaced.serial);
		goto fail;
	}
	char names[300] = "";
	for (size_t i = 0; i < o.nidents && strlen(names) < sizeof names - 2; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", o.idents[i].value);
	events_add("order", names, o.account_id, "created", "order %s", o.id);
	conformance_new_order(&who, &o);
	if (!cfg->persist_jit || !jit_start(r, &post.acct, fresh_authz, nfresh))
		new_order_reply(r);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	free(subs);
	free(fresh_authz);
	store_cert_clear(&replaced);
	store_order_clear(&o);
	wfe_post_clear(&post);
}

/* Load an order of the requesting account, or fill p. */
static int own_order(struct req *r, const struct post *post, const char *id, struct order *o,
                     struct problem *p)
{
	if (store_order_get(r->srv->store, id, o) < 0)
		return problem_set(p, PROB_MALFORMED, 404, "no order %s", id);
	if (strcmp(o->account_id, post->acct.id) != 0) {
		store_order_clear(o);
		return problem_set(p, PROB_UNAUTHORIZED, 403, "order %s belongs to another account", id);
	}
	return 0;
}

void wfe_order(struct req *r, const char *arg)
{
	const struct conf_who who = http_who(r);
	struct post post;
	struct problem p;
	struct order o = {0};
	if (wfe_post(r, AUTH_KID, &post, &p) < 0 || own_order(r, &post, arg, &o, &p) < 0) {
		wfe_fail(r, &p);
	} else if (!post.jws.post_as_get) {
		problem_set(&p, PROB_MALFORMED, 400, "an order is read with POST-as-GET (empty payload)");
		wfe_fail(r, &p);
	} else {
		char obj[STORE_ID_LEN + 8];
		snprintf(obj, sizeof obj, "order:%s", o.id);
		conformance_polled(&who, obj);
		reply_order(r, 200, &o);
	}
	store_order_clear(&o);
	wfe_post_clear(&post);
}

/* ---- finalize ---- */

void wfe_finalize(struct req *r, const char *arg)
{
	const struct conf_who who = http_who(r);
	struct server *srv = r->srv;
	struct post post;
	struct problem p;
	struct order o = {0};
	struct ca_csr csr = {0};
	unsigned char *der = NULL;
	size_t derlen = 0;
	if (wfe_post(r, AUTH_KID, &post, &p) < 0 || wfe_payload_object(&post, false, &p) < 0 ||
	    own_order(r, &post, arg, &o, &p) < 0)
		goto fail;
	if (o.status != ST_READY) {
		conformance_note(CONF_FINALIZE_NOT_READY, &who, "order %s was %s", o.id,
		                 store_status_name(o.status));
		problem_set(&p, PROB_ORDER_NOT_READY, 403, "order is %s, not ready: %s", store_status_name(o.status),
		            o.status == ST_PENDING ? "complete a challenge of every authorization first"
		            : o.status == ST_INVALID ? "create a new order"
		                                     : "it was finalized already");
		goto fail;
	}
	const char *csr_b64 = json_string_value(json_object_get(post.payload, "csr"));
	if (!csr_b64 || b64url_decode(csr_b64, strlen(csr_b64), &der, &derlen) < 0) {
		problem_set(&p, PROB_MALFORMED, 400, "\"csr\" must be the base64url (no padding) of a DER CSR");
		goto fail;
	}
	char err[512];
	if (ca_csr_parse(der, derlen, &csr, err, sizeof err) < 0) {
		problem_set(&p, PROB_BAD_CSR, 400, "%s", err);
		goto fail;
	}
	if (issuer_csr_matches(&o, &csr, &p) < 0)
		goto fail;
	/* §11.1: the certificate key must not be the account key */
	EVP_PKEY *acct_key = jwk_from_string(post.acct.jwk);
	bool same = acct_key && EVP_PKEY_eq(acct_key, csr.pubkey) == 1;
	EVP_PKEY_free(acct_key);
	if (same) {
		problem_set(&p, PROB_BAD_CSR, 400,
		            "the CSR's public key is the account key; make a separate key for the "
		            "certificate (RFC 8555 §11.1)");
		goto fail;
	}
	if (store_order_begin_finalize(srv->store, o.id, &p) < 0)
		goto fail;
	char *acct_url = wfe_account_url(r, o.account_id);
	int queued = issuer_submit(srv->issuer, &o, acct_url, &csr.pubkey, &p);
	free(acct_url);
	if (queued < 0) {
		http_add_header(r, "Retry-After", "%d", srv->cfg->retry_after_order);
		goto fail;
	}
	store_order_clear(&o);
	if (store_order_get(srv->store, arg, &o) < 0) {
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "order vanished during finalize");
		goto fail;
	}
	reply_order(r, 200, &o);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	free(der);
	ca_csr_clear(&csr);
	store_order_clear(&o);
	wfe_post_clear(&post);
}
