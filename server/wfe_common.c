/* wfe_common: what every ACME resource shares: URLs, the POST pipeline, JSON renderers. */
#include "common/log.h"
#include "common/util.h"
#include "server/challenge.h"
#include "server/config.h"
#include "server/wfe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *wfe_url(struct req *r, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	return xasprintf("%s%s", r->base, path);
}

char *wfe_account_url(struct req *r, const char *account_id)
{
	return wfe_url(r, PATH_ACCOUNT "%s", account_id);
}

void wfe_fail(struct req *r, const struct problem *p)
{
	http_reply_problem(r, p);
}

void wfe_post_clear(struct post *post)
{
	jws_clear(&post->jws);
	store_account_clear(&post->acct);
	json_decref(post->payload);
	memset(post, 0, sizeof *post);
}

static bool content_type_ok(const char *ct)
{
	static const char want[] = "application/jose+json";
	if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
		return false;
	char next = ct[sizeof want - 1];
	return next == '\0' || next == ';' || next == ' ';
}

int wfe_post(struct req *r, enum post_auth auth, struct post *out, struct problem *p)
{
	struct server *srv = r->srv;
	EVP_PKEY *acct_key = NULL;
	char *url = NULL;
	int rc = -1;
	memset(out, 0, sizeof *out);

	/* RFC 8555 §6.2: JWS bodies are application/jose+json */
	const char *ct = http_header(r, "Content-Type");
	struct conf_who who = http_who(r);
	/* a wrong Content-Type is answered with 415 below, once the JWS named (and proved) its
	 * account, so that the conformance report can name the client */
	bool bad_ct = !content_type_ok(ct), verified = false;
	if (!r->body || r->body_len == 0) {
		problem_set(p, PROB_MALFORMED, 400, "the request has no body; expected a flattened JWS");
		goto out;
	}
	if (jws_parse(r->body, r->body_len, &out->jws, p) < 0)
		goto out;

	/* RFC 8555 §6.4: the url header must be the URL this request was sent to, as sent: with its
	 * query and its %XX escapes (a "?x=1" or "%00junk" the routing ignores still counts) */
	url = xasprintf("%s%s", r->base, r->target ? r->target : r->path);
	if (strcmp(out->jws.url, url) != 0) {
		problem_set(p, PROB_UNAUTHORIZED, 401,
		            "the JWS \"url\" header is \"%s\" but this request was sent to \"%s\"; sign the "
		            "exact URL you POST to",
		            out->jws.url, url);
		goto out;
	}

	/* §6.2: exactly one of jwk (newAccount, revokeCert by certificate key) and kid */
	if (auth == AUTH_KID && !out->jws.kid) {
		problem_set(p, PROB_MALFORMED, 400,
		            "this request must be signed with an account key and name the account in the "
		            "\"kid\" header (RFC 8555 §6.2), not with an embedded \"jwk\"");
		goto out;
	}
	if (auth == AUTH_JWK && !out->jws.jwk) {
		problem_set(p, PROB_MALFORMED, 400,
		            "this request must carry the public key in the \"jwk\" header (RFC 8555 §6.2), "
		            "not a \"kid\"");
		goto out;
	}
	EVP_PKEY *key = out->jws.jwk;
	if (out->jws.kid) {
		char *prefix = wfe_url(r, PATH_ACCOUNT);
		const char *id = util_has_prefix(out->jws.kid, prefix) ? out->jws.kid + strlen(prefix) : NULL;
		if (!id || store_account_get(srv->store, id, &out->acct) < 0) {
			problem_set(p, PROB_ACCOUNT_DOES_NOT_EXIST, 400,
			            "no account at \"%s\"%s; accounts of this server are at %s<id> (cobble keeps "
			            "accounts in memory: they are gone after a restart)",
			            out->jws.kid,
			            id ? "" : " (the kid must be an account URL of this server and host)", prefix);
			free(prefix);
			goto out;
		}
		free(prefix);
		out->have_acct = true;
		snprintf(r->account, sizeof r->account, "%s", out->acct.id);
		acct_key = jwk_from_string(out->acct.jwk);
		if (!acct_key) {
			problem_set(p, PROB_SERVER_INTERNAL, 500, "stored account key could not be loaded");
			goto out;
		}
		key = acct_key;
	}
	if (jws_verify(&out->jws, key, p) < 0)
		goto out;
	verified = true;
	if (bad_ct)
		goto out;

	/* §6.5: a nonce this server issued, used once */
	conformance_nonce_used(&who, out->jws.nonce);
	if (!out->jws.nonce) {
		problem_set(p, PROB_BAD_NONCE, 400,
		            "the JWS protected header has no \"nonce\"; get one from newNonce or the "
		            "Replay-Nonce header of the last response");
		goto out;
	}
	if (out->jws.nonce[strspn(out->jws.nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                           "0123456789-_")] != '\0' ||
	    !out->jws.nonce[0]) {
		problem_set(p, PROB_MALFORMED, 400,
		            "the \"nonce\" header is not base64url (RFC 8555 §6.5.2); use the Replay-Nonce "
		            "value exactly as received");
		goto out;
	}
	if (!nonce_redeem(srv->nonces, out->jws.nonce)) {
		problem_set(p, PROB_BAD_NONCE, 400,
		            "nonce \"%.64s\" is not valid here: it was used already, is too old, or was not "
		            "issued by this server; retry with the Replay-Nonce of this response",
		            out->jws.nonce);
		goto out;
	}
	if (srv->cfg->nonce_reject_percent > 0) {
		if (util_chance(srv->cfg->nonce_reject_percent)) {
			problem_set(p, PROB_BAD_NONCE, 400,
			            "nonce refused on purpose to test your client's retry (as Pebble does; "
			            "COBBLE_WFE_NONCEREJECT=%d%%): retry with the Replay-Nonce of this response",
			            srv->cfg->nonce_reject_percent);
			goto out;
		}
	}

	if (out->have_acct && out->acct.status != ST_VALID) {
		problem_set(p, PROB_UNAUTHORIZED, 401, "account %s is %s and can no longer be used",
		            out->acct.id, store_status_name(out->acct.status));
		goto out;
	}

	if (!out->jws.post_as_get) {
		json_error_t jerr;
		out->payload = json_loadb((const char *)out->jws.payload, out->jws.payload_len,
		                          JSON_REJECT_DUPLICATES, &jerr);
		if (!out->payload) {
			problem_set(p, PROB_MALFORMED, 400, "the JWS payload is not valid JSON: %s (column %d)",
			            jerr.text, jerr.column);
			goto out;
		}
		/* -strict (as Pebble): the ACME v1 "resource" field is a client bug */
		const char *resource = json_string_value(json_object_get(out->payload, "resource"));
		if (srv->cfg->strict && resource && *resource) {
			problem_set(p, PROB_MALFORMED, 400,
			            "the payload has the ACME v1 \"resource\" field (\"%.64s\"); RFC 8555 has no "
			            "such field (refused because cobble runs with -strict)",
			            resource);
			goto out;
		}
	}
	rc = 0;
out:
	if (bad_ct) {
		if (!verified)
			who.account = NULL;
		conformance_note(CONF_JWS_CONTENT_TYPE, &who, "Content-Type: %.100s", ct ? ct : "(none)");
		problem_set(p, PROB_MALFORMED, 415,
		            "Content-Type is \"%s\"; ACME requests must be sent as application/jose+json",
		            ct ? ct : "(none)");
		rc = -1;
	}
	EVP_PKEY_free(acct_key);
	free(url);
	if (rc < 0)
		wfe_post_clear(out);
	return rc;
}

int wfe_payload_object(const struct post *post, bool allow_empty, struct problem *p)
{
	if (post->jws.post_as_get) {
		if (allow_empty)
			return 0;
		return problem_set(p, PROB_MALFORMED, 400,
		                   "this request needs a JSON object payload, not POST-as-GET");
	}
	if (!json_is_object(post->payload))
		return problem_set(p, PROB_MALFORMED, 400, "the JWS payload must be a JSON object");
	return 0;
}

/* ---- JSON renderers ---- */

static json_t *time_json(time_t t)
{
	char buf[32];
	util_time_fmt(t, buf, sizeof buf);
	return json_string(buf);
}

json_t *wfe_stored_problem_json(const struct stored_problem *sp)
{
	if (!sp->type)
		return NULL;
	struct problem p;
	problem_set(&p, sp->type, sp->status, "%s", sp->detail ? sp->detail : "");
	return problem_to_json(&p);
}

json_t *wfe_account_json(struct req *r, const struct account *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(store_status_name(a->status)));
	json_t *contacts = a->contacts_json ? json_loads(a->contacts_json, 0, NULL) : NULL;
	json_object_set_new(o, "contact", contacts ? contacts : json_array());
	json_object_set_new(o, "termsOfServiceAgreed", json_boolean(a->tos_agreed));
	json_t *key = json_loads(a->jwk, 0, NULL);
	if (key)
		json_object_set_new(o, "key", key);
	json_object_set_new(o, "orders", wfe_json_take(wfe_url(r, PATH_ACCOUNT "%s/orders", a->id)));
	json_object_set_new(o, "createdAt", time_json(a->created));
	/* RFC 8555 §7.1.2: the binding as the client sent it (a MAC, never the key) */
	json_t *eab = a->eab_json ? json_loads(a->eab_json, 0, NULL) : NULL;
	if (eab)
		json_object_set_new(o, "externalAccountBinding", eab);
	return o;
}

json_t *wfe_json_take(char *s)
{
	json_t *j = json_string(s);
	free(s);
	return j;
}

static json_t *ident_json(const struct identifier *id)
{
	return json_pack("{s:s, s:s}", "type", id->type, "value", id->value);
}

json_t *wfe_order_json(struct req *r, const struct order *o)
{
	json_t *j = json_object();
	json_object_set_new(j, "status", json_string(store_status_name(o->status)));
	json_object_set_new(j, "expires", time_json(o->expires));
	json_t *ids = json_array(), *authzs = json_array();
	for (size_t i = 0; i < o->nidents; i++) {
		json_array_append_new(ids, ident_json(&o->idents[i]));
		json_array_append_new(authzs, wfe_json_take(wfe_url(r, PATH_AUTHZ "%s", o->authz_ids[i])));
	}
	json_object_set_new(j, "identifiers", ids);
	if (o->not_before)
		json_object_set_new(j, "notBefore", time_json(o->not_before));
	if (o->not_after)
		json_object_set_new(j, "notAfter", time_json(o->not_after));
	json_object_set_new(j, "authorizations", authzs);
	json_object_set_new(j, "finalize", wfe_json_take(wfe_url(r, PATH_FINALIZE "%s", o->id)));
	if (o->profile[0])
		json_object_set_new(j, "profile", json_string(o->profile));
	if (o->replaces[0])
		json_object_set_new(j, "replaces", json_string(o->replaces));
	if (o->cert_id[0])
		json_object_set_new(j, "certificate", wfe_json_take(wfe_url(r, PATH_CERT "%s", o->cert_id)));
	json_t *err = wfe_stored_problem_json(&o->error);
	if (err)
		json_object_set_new(j, "error", err);
	return j;
}

json_t *wfe_challenge_json(struct req *r, const struct authz *a, const struct challenge *c)
{
	const struct config *cfg = r->srv->cfg;
	json_t *j = json_object();
	json_object_set_new(j, "type", json_string(c->type));
	json_object_set_new(j, "url", wfe_json_take(wfe_url(r, PATH_CHALLENGE "%s/%s", a->id, c->id)));
	json_object_set_new(j, "status", json_string(store_status_name(c->status)));
	const struct challenge_type *t = challenge_find(c->type);
	if (t && t->has_token)
		json_object_set_new(j, "token", json_string(c->token));
	if (strcmp(c->type, "dns-persist-01") == 0) {
		json_t *names = json_array();
		for (size_t i = 0; i < cfg->nissuer_names; i++)
			json_array_append_new(names, json_string(cfg->issuer_names[i]));
		if (cfg->persist_draft == PERSIST_DRAFT_01) {
			/* draft -01 §3: issuer-domain-names and the account URI to publish; no token */
			json_object_set_new(j, "issuer-domain-names", names);
			json_object_set_new(j, "accounturi", wfe_json_take(wfe_account_url(r, a->account_id)));
		} else {
			json_object_set_new(j, "issuerDomainNames", names);
		}
	}
	if (c->validated)
		json_object_set_new(j, "validated", time_json(c->validated));
	json_t *err = wfe_stored_problem_json(&c->error);
	if (err)
		json_object_set_new(j, "error", err);
	if (c->validation_record) {
		json_t *vr = json_loads(c->validation_record, 0, NULL);
		if (vr)
			json_object_set_new(j, "validationRecord", vr);
	}
	return j;
}

static bool has_invalid(const struct authz *a)
{
	for (size_t i = 0; i < a->nchal; i++)
		if (a->chal[i].status == ST_INVALID)
			return true;
	return false;
}

json_t *wfe_authz_json(struct req *r, const struct authz *a)
{
	json_t *j = json_object();
	json_object_set_new(j, "status", json_string(store_status_name(a->status)));
	json_object_set_new(j, "expires", time_json(a->expires));
	json_object_set_new(j, "identifier", ident_json(&a->ident));
	json_t *chals = json_array();
	for (size_t i = 0; i < a->nchal; i++) {
		/* RFC 8555 §7.1.4: a valid authz lists the challenge that validated it, an invalid one
		 * the challenge that failed */
		if ((a->status == ST_VALID && a->chal[i].status != ST_VALID) ||
		    (a->status == ST_INVALID && a->chal[i].status != ST_INVALID && has_invalid(a)))
			continue;
		json_array_append_new(chals, wfe_challenge_json(r, a, &a->chal[i]));
	}
	json_object_set_new(j, "challenges", chals);
	if (a->wildcard)
		json_object_set_new(j, "wildcard", json_true());
	return j;
}
