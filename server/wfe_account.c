/* wfe_account: newAccount (RFC 8555 §7.3) with external account binding (§7.3.4), the account
 * resource and its orders list (§7.1.2.1, §7.3.2, §7.3.6), and keyChange (§7.3.5). */
#include "common/log.h"
#include "common/util.h"
#include "server/faults.h"
#include "server/wfe.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONTACTS 10
#define ORDERS_PAGE 50

/* §7.3: contacts are mailto: URLs (the only scheme cobble supports, as Let's Encrypt).
 * Returns the canonical JSON text of the array, or NULL with p filled. */
static char *check_contacts(const json_t *contact, struct problem *p)
{
	if (!json_is_array(contact)) {
		problem_set(p, PROB_MALFORMED, 400, "\"contact\" must be an array of mailto: URLs");
		return NULL;
	}
	if (json_array_size(contact) > MAX_CONTACTS) {
		problem_set(p, PROB_MALFORMED, 400, "too many contacts (%zu); at most %d",
		            json_array_size(contact), MAX_CONTACTS);
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(contact, i, v) {
		const char *s = json_string_value(v);
		if (!s) {
			problem_set(p, PROB_MALFORMED, 400, "contact %zu is not a string", i);
			return NULL;
		}
		if (strncasecmp(s, "mailto:", 7) != 0) {
			problem_set(p, PROB_UNSUPPORTED_CONTACT, 400,
			            "contact \"%.200s\": only mailto: contacts are supported", s);
			return NULL;
		}
		const char *addr = s + 7, *at = strchr(addr, '@');
		bool ok = at && at != addr && at[1] && !strchr(at + 1, '@') && strchr(at + 1, '.') &&
		          strlen(s) < 320;
		for (const char *q = addr; ok && *q; q++)
			ok = (unsigned char)*q > 0x20 && (unsigned char)*q < 0x7f && !strchr(",?<>\"", *q);
		if (!ok) {
			problem_set(p, PROB_INVALID_CONTACT, 400,
			            "contact \"%.200s\" is not a single e-mail address (mailto:name@example.com; no "
			            "hfields, no lists)",
			            s);
			return NULL;
		}
	}
	return json_dumps(contact, JSON_COMPACT);
}

/* A client-supplied name made safe to quote in a detail and a log line. */
static const char *printable(const char *s, char out[72])
{
	size_t i = 0;
	for (; s[i] && i < 64; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	snprintf(out + i, 72 - i, "%s", s[i] ? "..." : "");
	return out;
}

/* RFC 8555 §7.3.4: check the "externalAccountBinding" of a newAccount, step by step as the RFC
 * lists them. On success sets acct->eab_kid and acct->eab_json (the JWS as sent, which the
 * account object shows; it holds a MAC, not the key). Returns 0, or -1 with p filled. A key id
 * may bind any number of accounts, as with Pebble. */
static int check_eab(struct req *r, const struct post *post, const json_t *eab, struct account *acct,
                     struct problem *p)
{
	struct jws j = {0};
	char *text = NULL;
	json_t *payload = NULL;
	EVP_PKEY *bound = NULL;
	char b[72], b2[128];
	int rc = -1;
	if (!json_is_object(eab)) {
		problem_set(p, PROB_MALFORMED, 400,
		            "\"externalAccountBinding\" must be a flattened JWS object {\"protected\", \"payload\", "
		            "\"signature\"} MAC'd with the key the CA gave you (RFC 8555 §7.3.4)");
		goto out;
	}
	if (!(text = json_dumps(eab, JSON_COMPACT))) {
		log_msg(LOG_ERROR, r->reqid, "newAccount: json_dumps failed for the external account binding");
		problem_set(p, PROB_SERVER_INTERNAL, 500, "could not read the external account binding");
		goto out;
	}
	/* 1. a well-formed JWS with a MAC algorithm; 2. "kid" present */
	if (jws_parse_ex(text, strlen(text), JWS_MAC, &j, p) < 0) {
		problem_prefix(p, "externalAccountBinding: ");
		goto out;
	}
	/* 2. no "nonce", and "url" the same as the outer JWS's */
	if (j.nonce) {
		problem_set(p, PROB_MALFORMED, 400,
		            "externalAccountBinding: the protected header must not have a \"nonce\" (RFC 8555 §7.3.4)");
		goto out;
	}
	if (strcmp(j.url, post->jws.url) != 0) {
		problem_set(p, PROB_MALFORMED, 400,
		            "externalAccountBinding: \"url\" is \"%s\" but must be the outer JWS's \"url\", the "
		            "newAccount URL %s (RFC 8555 §7.3.4)",
		            printable(j.url, b), post->jws.url);
		goto out;
	}
	/* 3. the MAC key named by "kid" */
	const struct eab_key *k = config_eab_key(r->srv->cfg, j.kid);
	if (!k) {
		problem_set(p, PROB_UNAUTHORIZED, 403,
		            "externalAccountBinding: \"kid\" \"%s\" is not a key id this server knows%s",
		            printable(j.kid, b),
		            r->srv->cfg->neab_keys ? "; use a key id and MAC key from its externalAccountMACKeys"
		                                   : " (it has no externalAccountMACKeys configured)");
		goto out;
	}
	/* 4. the MAC verifies with that key */
	if (jws_verify_hmac(&j, k->key, k->keylen, p) < 0) {
		snprintf(b2, sizeof b2, "externalAccountBinding for kid \"%s\": ", printable(j.kid, b));
		problem_prefix(p, b2);
		goto out;
	}
	/* 5. the payload is the key that signs the outer JWS */
	payload = json_loadb((const char *)j.payload, j.payload_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(payload)) {
		problem_set(p, PROB_MALFORMED, 400,
		            "externalAccountBinding: the payload must be the account key as a JWK, the same key as "
		            "the outer JWS's \"jwk\" (RFC 8555 §7.3.4)");
		goto out;
	}
	if (!(bound = jwk_import(payload, p))) {
		problem_prefix(p, "externalAccountBinding payload: ");
		goto out;
	}
	if (EVP_PKEY_eq(bound, post->jws.jwk) != 1) {
		problem_set(p, PROB_UNAUTHORIZED, 403,
		            "externalAccountBinding: the payload is a different key from the one that signs this "
		            "request; MAC the account key's JWK, the outer JWS's \"jwk\" (RFC 8555 §7.3.4)");
		goto out;
	}
	snprintf(acct->eab_kid, sizeof acct->eab_kid, "%s", j.kid);
	acct->eab_json = text;
	text = NULL;
	log_msg(LOG_INFO, r->reqid, "newAccount: external account binding verified for kid \"%s\"",
	        printable(acct->eab_kid, b));
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(bound);
	json_decref(payload);
	free(text);
	jws_clear(&j);
	return rc;
}

static void reply_account(struct req *r, int status, const struct account *a)
{
	http_add_header(r, "Location", "%s%s%s", r->base, PATH_ACCOUNT, a->id);
	http_reply_json(r, status, wfe_account_json(r, a));
}

/* Reply with the account as it is in the store now (after a change). */
static void reply_current_account(struct req *r, const char *id)
{
	struct account a = {0};
	if (store_account_get(r->srv->store, id, &a) == 0) {
		reply_account(r, 200, &a);
	} else {
		struct problem p;
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "account %s vanished during the change", id);
		wfe_fail(r, &p);
	}
	store_account_clear(&a);
}

void wfe_new_account(struct req *r, const char *arg)
{
	struct server *srv = r->srv;
	struct post post;
	struct problem p;
	struct account acct = {0};
	char *contacts = NULL;
	if (wfe_post(r, AUTH_JWK, &post, &p) < 0 || wfe_payload_object(&post, false, &p) < 0)
		goto fail;
	char tp[JWK_THUMBPRINT_LEN + 1];
	if (jwk_thumbprint(post.jws.jwk, tp) < 0) {
		problem_set(&p, PROB_BAD_PUBLIC_KEY, 400, "unsupported account key type");
		goto fail;
	}
	/* §7.3.1: an existing account for this key is returned, not recreated */
	if (store_account_by_thumbprint(srv->store, tp, &acct) == 0) {
		snprintf(r->account, sizeof r->account, "%s", acct.id);
		if (acct.status != ST_VALID) { /* §7.3.6: a deactivated account answers nothing */
			problem_set(&p, PROB_UNAUTHORIZED, 401,
			            "the account for this key (%s%s%s) is %s; create a new account with a new key",
			            r->base, PATH_ACCOUNT, acct.id, store_status_name(acct.status));
			goto fail;
		}
		reply_account(r, 200, &acct);
		goto out;
	}
	json_t *only = json_object_get(post.payload, "onlyReturnExisting");
	if (json_is_true(only)) {
		problem_set(&p, PROB_ACCOUNT_DOES_NOT_EXIST, 400,
		            "no account exists for this key (onlyReturnExisting was set)");
		goto fail;
	}
	/* RFC 8555 §7.3.4 */
	json_t *eab = json_object_get(post.payload, "externalAccountBinding");
	if (srv->cfg->eab_required && !eab) {
		problem_set(&p, PROB_EXTERNAL_ACCOUNT_REQUIRED, 400,
		            "this server requires an externalAccountBinding to create an account: a JWS over the "
		            "account key's JWK, MAC'd (HS256) with a key id and MAC key the CA gives you "
		            "(RFC 8555 §7.3.4)");
		goto fail;
	}
	if (eab && check_eab(r, &post, eab, &acct, &p) < 0)
		goto fail;
	if (!json_is_true(json_object_get(post.payload, "termsOfServiceAgreed"))) {
		problem_set(&p, PROB_MALFORMED, 400,
		            "you must agree to the terms of service: set \"termsOfServiceAgreed\": true "
		            "(the terms are at the directory's meta.termsOfService)");
		goto fail;
	}
	json_t *contact = json_object_get(post.payload, "contact");
	if (contact && !(contacts = check_contacts(contact, &p)))
		goto fail;
	acct.jwk = jwk_canonical(post.jws.jwk);
	if (!acct.jwk) {
		problem_set(&p, PROB_BAD_PUBLIC_KEY, 400, "unsupported account key type");
		goto fail;
	}
	memcpy(acct.thumbprints[0], tp, sizeof tp);
	acct.nthumbprints = 1;
	acct.contacts_json = contacts;
	contacts = NULL;
	acct.created = time(NULL);
	acct.tos_agreed = true;
	acct.status = ST_VALID;
	char ip[64];
	int retry_after;
	http_client_ip(r, ip, sizeof ip);
	if (faults_limit_new_account(ip, &p, &retry_after) < 0) { /* RFC 8555 §6.6 */
		http_add_header(r, "Retry-After", "%d", retry_after);
		goto fail;
	}
	char id[STORE_ID_LEN + 1], existing[STORE_ID_LEN + 1];
	if (store_account_add(srv->store, &acct, id, existing) < 0) {
		/* a concurrent newAccount with the same key won: answer as §7.3.1 */
		store_account_clear(&acct);
		if (store_account_get(srv->store, existing, &acct) == 0) {
			reply_account(r, 200, &acct);
			goto out;
		}
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "account creation raced and lost");
		goto fail;
	}
	memcpy(acct.id, id, sizeof id);
	snprintf(r->account, sizeof r->account, "%s", id);
	reply_account(r, 201, &acct);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	free(contacts);
	store_account_clear(&acct);
	wfe_post_clear(&post);
}

/* §7.1.2.1: the orders list, newest first, in pages linked with rel="next". */
static void orders_list(struct req *r, struct post *post, const char *page_arg)
{
	char *end;
	unsigned long page = page_arg && *page_arg ? strtoul(page_arg, &end, 10) : 0;
	if (page_arg && *page_arg && (*end || page > 1000000)) {
		struct problem p;
		problem_set(&p, PROB_MALFORMED, 404, "no such page of the orders list");
		wfe_fail(r, &p);
		return;
	}
	char(*ids)[STORE_ID_LEN + 1] = xcalloc(ORDERS_PAGE, sizeof *ids);
	size_t total;
	size_t n = store_account_orders(r->srv->store, post->acct.id, page * ORDERS_PAGE, ORDERS_PAGE, ids,
	                                &total);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, wfe_json_take(wfe_url(r, PATH_ORDER "%s", ids[i])));
	free(ids);
	if ((page + 1) * ORDERS_PAGE < total)
		http_add_header(r, "Link", "<%s%s%s/orders/%lu>;rel=\"next\"", r->base, PATH_ACCOUNT,
		                post->acct.id, page + 1);
	http_reply_json(r, 200, json_pack("{s:o}", "orders", list));
}

void wfe_account(struct req *r, const char *arg)
{
	struct server *srv = r->srv;
	struct post post;
	struct problem p;
	char id[STORE_ID_LEN + 1];
	const char *slash = strchr(arg, '/');
	size_t idlen = slash ? (size_t)(slash - arg) : strlen(arg);
	snprintf(id, sizeof id, "%.*s", (int)(idlen < sizeof id ? idlen : 0), arg);
	if (wfe_post(r, AUTH_KID, &post, &p) < 0)
		goto fail;
	/* §7.3.2: an account can only be read or changed with its own key */
	if (strcmp(post.acct.id, id) != 0) {
		problem_set(&p, PROB_UNAUTHORIZED, 403,
		            "the request is signed by account %s but is for %s%s%.*s", post.acct.id, r->base,
		            PATH_ACCOUNT, (int)idlen, arg);
		goto fail;
	}
	if (slash) {
		const char *rest = slash + 1;
		if (strncmp(rest, "orders", 6) == 0 && (rest[6] == '\0' || rest[6] == '/')) {
			if (!post.jws.post_as_get) {
				problem_set(&p, PROB_MALFORMED, 400, "the orders list is read with POST-as-GET");
				goto fail;
			}
			orders_list(r, &post, rest[6] ? rest + 7 : NULL);
			goto out;
		}
		problem_set(&p, PROB_MALFORMED, 404, "no resource at %s", r->path);
		goto fail;
	}
	if (!post.jws.post_as_get) {
		if (wfe_payload_object(&post, false, &p) < 0)
			goto fail;
		/* §7.3.2: the server MUST ignore updates of "status" other than deactivation (§7.3.6),
		 * of "orders" and "termsOfServiceAgreed", and of fields it does not know */
		const char *status = json_string_value(json_object_get(post.payload, "status"));
		bool deactivate = status && strcmp(status, "deactivated") == 0;
		char *contacts = NULL;
		json_t *contact = json_object_get(post.payload, "contact");
		if (contact && !(contacts = check_contacts(contact, &p)))
			goto fail;
		store_account_update(srv->store, id, contacts, deactivate);
		free(contacts);
		reply_current_account(r, id);
		goto out;
	}
	reply_account(r, 200, &post.acct);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	wfe_post_clear(&post);
}

/* §7.3.5: the outer JWS is signed by the old key (kid), the inner by the new key (jwk) over
 * {"account": kid, "oldKey": old jwk}. */
void wfe_key_change(struct req *r, const char *arg)
{
	struct server *srv = r->srv;
	struct post post;
	struct problem p;
	struct jws inner = {0};
	char *new_canon = NULL;
	EVP_PKEY *old_key = NULL, *claimed_old = NULL;
	json_t *ipayload = NULL;
	if (wfe_post(r, AUTH_KID, &post, &p) < 0 || wfe_payload_object(&post, false, &p) < 0)
		goto fail;
	if (jws_parse((const char *)post.jws.payload, post.jws.payload_len, &inner, &p) < 0) {
		problem_prefix(&p, "inner JWS of keyChange: ");
		goto fail;
	}
	if (!inner.jwk || inner.kid) {
		problem_set(&p, PROB_MALFORMED, 400, "the inner JWS must carry the new key as \"jwk\" (no kid)");
		goto fail;
	}
	if (inner.nonce) {
		problem_set(&p, PROB_MALFORMED, 400, "the inner JWS must not have a \"nonce\" (RFC 8555 §7.3.5)");
		goto fail;
	}
	if (strcmp(inner.url, post.jws.url) != 0) {
		problem_set(&p, PROB_MALFORMED, 400,
		            "the inner JWS \"url\" (%s) must equal the outer one (%s)", inner.url, post.jws.url);
		goto fail;
	}
	if (jws_verify(&inner, inner.jwk, &p) < 0) {
		problem_prefix(&p, "inner JWS of keyChange (signed by the new key): ");
		goto fail;
	}
	ipayload = json_loadb((const char *)inner.payload, inner.payload_len, JSON_REJECT_DUPLICATES, NULL);
	const char *acct_url = json_string_value(json_object_get(ipayload, "account"));
	json_t *old_jwk = json_object_get(ipayload, "oldKey");
	if (!json_is_object(ipayload) || !acct_url || !json_is_object(old_jwk)) {
		problem_set(&p, PROB_MALFORMED, 400,
		            "the inner payload must be {\"account\": <account URL>, \"oldKey\": <current JWK>}");
		goto fail;
	}
	if (strcmp(acct_url, post.jws.kid) != 0) {
		problem_set(&p, PROB_UNAUTHORIZED, 403,
		            "inner \"account\" (%s) is not the account that signed the request (%s)", acct_url,
		            post.jws.kid);
		goto fail;
	}
	old_key = jwk_from_string(post.acct.jwk);
	claimed_old = jwk_import(old_jwk, &p);
	if (!claimed_old)
		goto fail;
	if (!old_key || EVP_PKEY_eq(old_key, claimed_old) != 1) {
		problem_set(&p, PROB_UNAUTHORIZED, 403, "\"oldKey\" is not this account's current key");
		goto fail;
	}
	char new_tp[JWK_THUMBPRINT_LEN + 1];
	new_canon = jwk_canonical(inner.jwk);
	if (!new_canon || jwk_thumbprint(inner.jwk, new_tp) < 0) {
		problem_set(&p, PROB_BAD_PUBLIC_KEY, 400, "unsupported new key type");
		goto fail;
	}
	char conflict[STORE_ID_LEN + 1];
	int rc = store_account_rekey(srv->store, post.acct.id, post.acct.thumbprints[0], new_canon, new_tp,
	                             conflict);
	if (rc == -1) {
		/* §7.3.5: 409 with the Location of the account that has the key */
		http_add_header(r, "Location", "%s%s%s", r->base, PATH_ACCOUNT, conflict);
		problem_set(&p, PROB_MALFORMED, 409, "the new key already belongs to account %s%s%s", r->base,
		            PATH_ACCOUNT, conflict);
		goto fail;
	}
	if (rc < 0) {
		problem_set(&p, PROB_MALFORMED, 409, "the account key changed meanwhile; retry with the current key");
		goto fail;
	}
	reply_current_account(r, post.acct.id);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	EVP_PKEY_free(old_key);
	EVP_PKEY_free(claimed_old);
	free(new_canon);
	json_decref(ipayload);
	jws_clear(&inner);
	wfe_post_clear(&post);
}
