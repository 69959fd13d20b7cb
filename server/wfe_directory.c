/* wfe_directory: the directory (RFC 8555 §7.1.1) and newNonce (§7.2). */
#include "server/wfe.h"

#include <string.h>

/* RFC 8555 §7.1: the directory and newNonce are plain GETs; everything else is POST
 * (POST-as-GET for reads, §6.3). */
const struct http_route wfe_routes[] = {
    /* §6.3: POST-as-GET must be allowed for these two as well */
    {"directory", PATH_DIRECTORY, false, HTTP_GET | HTTP_HEAD | HTTP_POST, wfe_directory},
    {"newNonce", PATH_NEW_NONCE, false, HTTP_GET | HTTP_HEAD | HTTP_POST, wfe_new_nonce},
    {"newAccount", PATH_NEW_ACCOUNT, false, HTTP_POST, wfe_new_account},
    {"account", PATH_ACCOUNT, true, HTTP_POST, wfe_account},
    {"keyChange", PATH_KEY_CHANGE, false, HTTP_POST, wfe_key_change},
    {"newOrder", PATH_NEW_ORDER, false, HTTP_POST, wfe_new_order},
    {"order", PATH_ORDER, true, HTTP_POST, wfe_order},
    {"finalize", PATH_FINALIZE, true, HTTP_POST, wfe_finalize},
    {"authz", PATH_AUTHZ, true, HTTP_POST, wfe_authz},
    {"challenge", PATH_CHALLENGE, true, HTTP_POST, wfe_challenge},
    {"cert", PATH_CERT, true, HTTP_POST, wfe_cert},
    {"revokeCert", PATH_REVOKE, false, HTTP_POST, wfe_revoke},
    /* RFC 9773 §4.1: GET; POST-as-GET as for every other read */
    {"renewalInfo", PATH_RENEWAL_INFO "/", true, HTTP_GET | HTTP_HEAD | HTTP_POST, wfe_renewal_info},
};
const size_t wfe_nroutes = sizeof wfe_routes / sizeof wfe_routes[0];

/* §6.3: a POST to the directory or newNonce must be a valid POST-as-GET. */
static bool post_as_get_ok(struct req *r)
{
	if (strcmp(r->method, "POST") != 0)
		return true;
	struct post post;
	struct problem p;
	int rc = wfe_post(r, AUTH_EITHER, &post, &p);
	if (rc == 0 && !post.jws.post_as_get)
		rc = problem_set(&p, PROB_MALFORMED, 400, "a POST here must be POST-as-GET (empty payload)");
	if (rc == 0)
		wfe_post_clear(&post);
	else
		wfe_fail(r, &p);
	return rc == 0;
}

void wfe_directory(struct req *r, const char *arg)
{
	if (!post_as_get_ok(r))
		return;
	const struct config *c = r->srv->cfg;
	json_t *d = json_object();
	json_object_set_new(d, "newNonce", wfe_json_take(wfe_url(r, PATH_NEW_NONCE)));
	json_object_set_new(d, "newAccount", wfe_json_take(wfe_url(r, PATH_NEW_ACCOUNT)));
	json_object_set_new(d, "newOrder", wfe_json_take(wfe_url(r, PATH_NEW_ORDER)));
	json_object_set_new(d, "revokeCert", wfe_json_take(wfe_url(r, PATH_REVOKE)));
	json_object_set_new(d, "keyChange", wfe_json_take(wfe_url(r, PATH_KEY_CHANGE)));
	json_object_set_new(d, "renewalInfo", wfe_json_take(wfe_url(r, PATH_RENEWAL_INFO)));
	json_t *meta = json_object();
	json_object_set_new(meta, "termsOfService",
	                    json_string(c->terms_of_service[0]
	                                    ? c->terms_of_service
	                                    : "data:text/plain,cobble%20is%20a%20test%20CA%3A%20nothing%20"
	                                      "it%20issues%20is%20trusted%20anywhere"));
	json_object_set_new(meta, "externalAccountRequired", json_boolean(c->eab_required));
	/* RFC 8555 §7.1.1 caaIdentities; draft -02 §3.1: issuerDomainNames are a subset of them */
	size_t ncaa;
	const char *const *ids = config_caa_identities(c, &ncaa);
	json_t *caa = json_array(), *issuers = json_array();
	for (size_t i = 0; i < ncaa; i++)
		json_array_append_new(caa, json_string(ids[i]));
	for (size_t i = 0; i < c->nissuer_names; i++)
		json_array_append_new(issuers, json_string(c->issuer_names[i]));
	json_object_set_new(meta, "caaIdentities", caa);
	json_t *profiles = json_object();
	for (size_t i = 0; i < c->nprofiles; i++)
		json_object_set_new(profiles, c->profiles[i].name, json_string(c->profiles[i].description));
	json_object_set_new(meta, "profiles", profiles);
	if (c->persist_draft == PERSIST_DRAFT_02) {
		/* draft -02: what a client needs to compute the hashed account URI */
		json_object_set_new(meta, "accountHashPrefix",
		                    c->account_hash_prefix[0] ? json_string(c->account_hash_prefix)
		                                              : wfe_json_take(wfe_url(r, PATH_ACCOUNT_HASH)));
		json_object_set_new(meta, "issuerDomainNames", issuers);
		issuers = NULL;
	}
	json_decref(issuers);
	json_object_set_new(d, "meta", meta);
	http_reply_json(r, 200, d);
}

/* §7.2: HEAD answers 200, GET 204; the nonce itself is added by the reply path. */
void wfe_new_nonce(struct req *r, const char *arg)
{
	if (!post_as_get_ok(r))
		return;
	http_add_header(r, "Cache-Control", "no-store");
	http_reply_raw(r, strcmp(r->method, "HEAD") == 0 ? 200 : 204, NULL, NULL, 0);
}
