/* wfe_cert: certificate download (RFC 8555 §7.4.2, alternate chains with rel="alternate") and
 * revokeCert (§7.6), by the issuing account or by the certificate's own key. */
#include "common/b64.h"
#include "common/util.h"
#include "server/crl.h"
#include "server/events.h"
#include "server/wfe.h"

#include <stdlib.h>
#include <string.h>

void wfe_cert(struct req *r, const char *arg)
{
	struct post post;
	struct problem p;
	struct cert c = {0};
	char id[STORE_ID_LEN + 1] = "";
	unsigned long alt = 0;
	const char *slash = strchr(arg, '/');
	size_t idlen = slash ? (size_t)(slash - arg) : strlen(arg);
	if (idlen <= STORE_ID_LEN)
		memcpy(id, arg, idlen);
	if (wfe_post(r, AUTH_KID, &post, &p) < 0)
		goto fail;
	if (slash) {
		char *end;
		if (!util_has_prefix(slash, "/alternate/") || !slash[11] ||
		    (alt = strtoul(slash + 11, &end, 10), *end) || alt == 0) {
			problem_set(&p, PROB_MALFORMED, 404, "no resource at %s", r->path);
			goto fail;
		}
	}
	if (!id[0] || store_cert_get(r->srv->store, id, &c) < 0) {
		problem_set(&p, PROB_MALFORMED, 404, "no certificate %.*s", (int)idlen, arg);
		goto fail;
	}
	if (strcmp(c.account_id, post.acct.id) != 0) {
		problem_set(&p, PROB_UNAUTHORIZED, 403, "certificate %s was issued to another account", id);
		goto fail;
	}
	if (alt >= c.nchains) {
		problem_set(&p, PROB_MALFORMED, 404, "certificate %s has %zu alternate chain%s", id,
		            c.nchains - 1, c.nchains == 2 ? "" : "s");
		goto fail;
	}
	/* §7.4.2: Link rel="alternate" to every other chain */
	for (size_t i = 0; i < c.nchains; i++)
		if (i != alt) {
			if (i == 0)
				http_add_header(r, "Link", "<%s%s%s>;rel=\"alternate\"", r->base, PATH_CERT, id);
			else
				http_add_header(r, "Link", "<%s%s%s/alternate/%zu>;rel=\"alternate\"", r->base,
				                PATH_CERT, id, i);
		}
	char *pem = xstrdup(c.chains[alt]);
	http_reply_raw(r, 200, "application/pem-certificate-chain", pem, strlen(pem));
	const struct conf_who who = http_who(r);
	conformance_cert_download(r->srv->store, &who, &c, alt);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	store_cert_clear(&c);
	wfe_post_clear(&post);
}

/* Does acct hold a valid authorization for every name of the certificate (§7.6)? A wildcard
 * name is covered by a wildcard authorization or one for its base name. */
static bool authorized_for_all(struct req *r, const struct account *acct, const struct cert *c)
{
	struct order o = {0};
	if (store_order_get(r->srv->store, c->order_id, &o) < 0)
		return false;
	time_t now = util_clock();
	bool all = o.nidents > 0;
	for (size_t i = 0; all && i < o.nidents; i++) {
		struct identifier id = o.idents[i];
		bool wildcard = util_has_prefix(id.value, "*.");
		if (wildcard)
			memmove(id.value, id.value + 2, strlen(id.value + 2) + 1);
		char found[STORE_ID_LEN + 1];
		all = store_authz_find_valid(r->srv->store, acct->id, &id, wildcard, now, NULL, NULL, found) == 0 ||
		      (wildcard && store_authz_find_valid(r->srv->store, acct->id, &id, false, now, NULL, NULL, found) == 0);
	}
	store_order_clear(&o);
	return all;
}

void wfe_revoke(struct req *r, const char *arg)
{
	struct server *srv = r->srv;
	struct post post;
	struct problem p;
	struct cert c = {0};
	unsigned char *der = NULL;
	size_t derlen;
	EVP_PKEY *cert_key = NULL;
	if (wfe_post(r, AUTH_EITHER, &post, &p) < 0 || wfe_payload_object(&post, false, &p) < 0)
		goto fail;
	const char *b64 = json_string_value(json_object_get(post.payload, "certificate"));
	if (!b64 || b64url_decode(b64, strlen(b64), &der, &derlen) < 0) {
		problem_set(&p, PROB_MALFORMED, 400,
		            "\"certificate\" must be the base64url (no padding) of the DER certificate");
		goto fail;
	}
	int reason = 0;
	json_t *jr = json_object_get(post.payload, "reason");
	if (jr) {
		/* RFC 5280 §5.3.1 reasons a subscriber may give (as Let's Encrypt accepts) */
		static const int allowed[] = {0, 1, 3, 4, 5};
		bool ok = false;
		if (json_is_integer(jr))
			for (size_t i = 0; i < 5; i++)
				ok |= json_integer_value(jr) == allowed[i];
		if (!ok) {
			problem_set(&p, PROB_BAD_REVOCATION_REASON, 400,
			            "revocation reason must be one of 0 (unspecified), 1 (keyCompromise), 3 "
			            "(affiliationChanged), 4 (superseded), 5 (cessationOfOperation)");
			goto fail;
		}
		reason = (int)json_integer_value(jr);
	}
	char serial[41], err[256];
	if (ca_cert_inspect(srv->ca, der, derlen, serial, &cert_key, err, sizeof err) < 0 ||
	    store_cert_by_serial(srv->store, serial, &c) < 0) {
		problem_set(&p, PROB_MALFORMED, 404, "this certificate was not issued by this CA%s%s",
		            cert_key ? "" : ": ", cert_key ? "" : err);
		goto fail;
	}
	/* §7.6: the issuing account, an account authorized for every name, or a request signed by
	 * the certificate's own key */
	if (post.have_acct) {
		if (strcmp(c.account_id, post.acct.id) != 0 && !authorized_for_all(r, &post.acct, &c)) {
			problem_set(&p, PROB_UNAUTHORIZED, 403,
			            "account %s did not issue certificate %s and holds no valid authorization for "
			            "all of its names; revoke it with the issuing account, an account authorized "
			            "for every name, or sign with the certificate's own key (jwk)",
			            post.acct.id, serial);
			goto fail;
		}
	} else if (EVP_PKEY_eq(post.jws.jwk, cert_key) != 1) {
		problem_set(&p, PROB_UNAUTHORIZED, 403,
		            "the jwk that signed this request is not the certificate's public key");
		goto fail;
	}
	if (store_cert_revoke(srv->store, serial, reason, &p) < 0)
		goto fail;
	crl_revoke(srv->crl, serial, reason, time(NULL)); /* RFC 5280 §5: a new CRL at once */
	events_add("revocation", serial, c.account_id, "revoked", "reason %d, requested %s", reason,
	           post.have_acct ? "by the issuing account" : "with the certificate's key");
	http_reply_raw(r, 200, NULL, NULL, 0);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	EVP_PKEY_free(cert_key);
	free(der);
	store_cert_clear(&c);
	wfe_post_clear(&post);
}
