/* wfe_renewal: ACME Renewal Information (RFC 9773): the renewalInfo resource (§4) and the checks
 * on newOrder's "replaces" (§5). */
#include "common/util.h"
#include "server/ari.h"
#include "server/wfe.h"

#include <stdio.h>
#include <string.h>

#define ARI_RETRY_AFTER (6 * 3600) /* §4.3: how soon to ask again; Let's Encrypt's and Pebble's */

/* Parse certID text and find its certificate. Returns 0 with *out (caller clears), or -1 with p:
 * 400 for a malformed certID, 404 for one this CA did not issue. */
static int cert_by_certid(struct req *r, const char *text, struct cert *out, struct problem *p)
{
	unsigned char aki[ARI_AKI_MAX];
	size_t aki_len = 0;
	char serial[41], err[256], canon[ARI_CERTID_MAX];
	if (strlen(text) >= ARI_CERTID_MAX)
		return problem_set(p, PROB_MALFORMED, 400, "the certID is longer than any this CA issues");
	if (ari_certid_parse(text, aki, &aki_len, serial, err, sizeof err) < 0)
		return problem_set(p, PROB_MALFORMED, 400, "%s", err);
	/* re-encoded, so a certID with non-canonical trailing base64url bits still matches */
	if (ari_certid_make(aki, aki_len, serial, canon) < 0)
		return problem_set(p, PROB_MALFORMED, 400, "the certID does not encode a usable serial");
	if (store_cert_by_certid(r->srv->store, canon, out) == 0)
		return 0;
	if (store_cert_by_serial(r->srv->store, serial, out) == 0) {
		store_cert_clear(out);
		return problem_set(p, PROB_MALFORMED, 404,
		                   "the certID's keyIdentifier is not this CA's issuing key (serial %s is "
		                   "known: take the keyIdentifier from the certificate's Authority Key "
		                   "Identifier)", serial);
	}
	return problem_set(p, PROB_MALFORMED, 404, "the certID's serial %s is not one this CA issued", serial);
}

void wfe_renewal_info(struct req *r, const char *arg)
{
	struct post post = {0};
	struct problem p;
	struct cert c = {0};
	bool posted = strcmp(r->method, "POST") == 0;
	if (posted) {
		if (wfe_post(r, AUTH_KID, &post, &p) < 0)
			goto fail;
		if (!post.jws.post_as_get) {
			problem_set(&p, PROB_MALFORMED, 400,
			            "renewalInfo is read with GET or POST-as-GET (empty payload)");
			goto fail;
		}
	}
	if (cert_by_certid(r, arg, &c, &p) < 0)
		goto fail;
	conformance_renewal_info(c.account_id);
	http_add_header(r, "Retry-After", "%d", ARI_RETRY_AFTER);
	if (c.ari_response) {
		/* the management hook's text, served as given (it may be deliberately broken) */
		char *body = xstrdup(c.ari_response);
		http_reply_raw(r, 200, "application/json", body, strlen(body));
		goto out;
	}
	time_t start, end;
	char s[32], e[32];
	/* cobble's clock (POST /clock): a CI moves into the window without waiting */
	ari_window(c.not_before, c.not_after, c.revoked, util_clock(), &start, &end);
	util_time_fmt(start, s, sizeof s);
	util_time_fmt(end, e, sizeof e);
	http_reply_json(r, 200, json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start", s, "end", e));
	goto out;
fail:
	wfe_fail(r, &p);
out:
	store_cert_clear(&c);
	if (posted)
		wfe_post_clear(&post);
}

static bool ident_eq(const struct identifier *a, const struct identifier *b)
{
	return strcmp(a->type, b->type) == 0 && strcmp(a->value, b->value) == 0;
}

int wfe_replaces_check(struct req *r, const struct account *acct, struct order *o, json_t *replaces,
                       struct cert *out, struct problem *p)
{
	struct order prev = {0}, by = {0};
	struct problem lookup;
	int rc = -1;
	const char *text = json_string_value(replaces);
	if (!text || !*text) {
		problem_set(p, PROB_MALFORMED, 400, "\"replaces\" must be a certID string (RFC 9773 §5)");
		goto out;
	}
	if (cert_by_certid(r, text, out, &lookup) < 0) {
		/* in newOrder every one of these is the request's fault: 400 */
		problem_set(p, PROB_MALFORMED, 400, "\"replaces\": %s", lookup.detail);
		goto out;
	}
	/* §5: "the same ACME Account" */
	if (strcmp(out->account_id, acct->id) != 0) {
		problem_set(p, PROB_UNAUTHORIZED, 403,
		            "\"replaces\" names certificate %s, which was issued to another account; an order "
		            "can only replace this account's certificates", out->serial);
		goto out;
	}
	/* §5: "share at least one identifier" */
	if (store_order_get(r->srv->store, out->order_id, &prev) < 0) {
		problem_set(p, PROB_SERVER_INTERNAL, 500, "the order of certificate %s is gone", out->serial);
		goto out;
	}
	bool shared = false;
	for (size_t i = 0; i < prev.nidents && !shared; i++)
		for (size_t k = 0; k < o->nidents && !shared; k++)
			shared = ident_eq(&prev.idents[i], &o->idents[k]);
	if (!shared) {
		char names[300] = "";
		for (size_t i = 0; i < prev.nidents && strlen(names) < sizeof names - 2; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
			         prev.idents[i].value);
		problem_set(p, PROB_MALFORMED, 400,
		            "\"replaces\" names certificate %s (for %s), which shares no identifier with this "
		            "order; a replacement must keep at least one (RFC 9773 §5)", out->serial, names);
		goto out;
	}
	/* §5: not "already been marked as replaced by a different Order that is not invalid" */
	if (out->replaced_by[0] && store_order_get(r->srv->store, out->replaced_by, &by) == 0 &&
	    by.status != ST_INVALID) {
		problem_set(p, PROB_ALREADY_REPLACED, 409,
		            "certificate %s is already replaced by order %s%s%s (status %s); renew from that "
		            "order, or send the new order without \"replaces\"", out->serial, r->base,
		            PATH_ORDER, by.id, store_status_name(by.status));
		goto out;
	}
	snprintf(o->replaces, sizeof o->replaces, "%s", text);
	rc = 0;
out:
	if (rc < 0)
		store_cert_clear(out);
	store_order_clear(&prev);
	store_order_clear(&by);
	return rc;
}
