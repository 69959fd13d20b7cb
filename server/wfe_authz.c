/* wfe_authz: authorizations (RFC 8555 §7.5, deactivation §7.5.2) and challenges (§7.5.1):
 * a challenge POST queues the validation and answers at once with the challenge `processing`. */
#include "common/util.h"
#include "server/faillimit.h"
#include "server/va.h"
#include "server/wfe.h"

#include <stdlib.h>
#include <string.h>

static int own_authz(struct req *r, const struct post *post, const char *id, struct authz *a,
                     struct problem *p)
{
	if (strlen(id) > STORE_ID_LEN || store_authz_get(r->srv->store, id, a) < 0)
		return problem_set(p, PROB_MALFORMED, 404, "no authorization %s", id);
	if (strcmp(a->account_id, post->acct.id) != 0) {
		store_authz_clear(a);
		return problem_set(p, PROB_UNAUTHORIZED, 403, "authorization %s belongs to another account", id);
	}
	return 0;
}

/* For the conformance report's polling checks: is the server still working on it? */
static bool authz_in_progress(const struct authz *a)
{
	for (size_t i = 0; i < a->nchal; i++)
		if (a->chal[i].status == ST_PROCESSING)
			return true;
	return false;
}

void wfe_authz(struct req *r, const char *arg)
{
	const struct conf_who who = http_who(r);
	char obj[STORE_ID_LEN + 8];
	struct post post;
	struct problem p;
	struct authz a = {0};
	if (wfe_post(r, AUTH_KID, &post, &p) < 0 || own_authz(r, &post, arg, &a, &p) < 0)
		goto fail;
	if (!post.jws.post_as_get) {
		if (wfe_payload_object(&post, false, &p) < 0)
			goto fail;
		const char *st = json_string_value(json_object_get(post.payload, "status"));
		if (!st || strcmp(st, "deactivated") != 0) {
			problem_set(&p, PROB_MALFORMED, 400,
			            "the only change a client may make to an authorization is {\"status\": "
			            "\"deactivated\"} (RFC 8555 §7.5.2)");
			goto fail;
		}
		if (store_authz_deactivate(r->srv->store, a.id, &p) < 0)
			goto fail;
		store_authz_clear(&a);
		store_authz_get(r->srv->store, arg, &a);
	}
	snprintf(obj, sizeof obj, "authz:%s", a.id);
	if (post.jws.post_as_get)
		conformance_polled(&who, obj);
	conformance_answered(r->account, obj, authz_in_progress(&a), 0);
	http_reply_json(r, 200, wfe_authz_json(r, &a));
	goto out;
fail:
	wfe_fail(r, &p);
out:
	store_authz_clear(&a);
	wfe_post_clear(&post);
}

static const struct challenge *find_chal(const struct authz *a, const char *id)
{
	for (size_t i = 0; i < a->nchal; i++)
		if (strcmp(a->chal[i].id, id) == 0)
			return &a->chal[i];
	return NULL;
}

static void reply_challenge(struct req *r, const struct authz *a, const struct challenge *c)
{
	/* §7.5.1: Link rel="up" to the authorization */
	http_add_header(r, "Link", "<%s%s%s>;rel=\"up\"", r->base, PATH_AUTHZ, a->id);
	if (c->status == ST_PROCESSING || c->status == ST_PENDING)
		http_add_header(r, "Retry-After", "%d", r->srv->cfg->retry_after_authz);
	char obj[2 * STORE_ID_LEN + 8];
	snprintf(obj, sizeof obj, "chall:%s/%s", a->id, c->id);
	conformance_answered(r->account, obj, c->status == ST_PROCESSING,
	                     c->status == ST_PROCESSING ? r->srv->cfg->retry_after_authz : 0);
	http_reply_json(r, 200, wfe_challenge_json(r, a, c));
}

void wfe_va_job(struct req *r, const struct account *acct, const struct authz *a,
                const struct challenge *c, struct va_job *job)
{
	const struct config *cfg = r->srv->cfg;
	memset(job, 0, sizeof *job);
	memcpy(job->authz_id, a->id, sizeof job->authz_id);
	memcpy(job->chal_id, c->id, sizeof job->chal_id);
	snprintf(job->type, sizeof job->type, "%s", c->type);
	job->ident = a->ident;
	job->wildcard = a->wildcard;
	memcpy(job->token, c->token, sizeof job->token);
	snprintf(job->key_authz, sizeof job->key_authz, "%s.%s", c->token, acct->thumbprints[0]);
	memcpy(job->account_id, acct->id, sizeof job->account_id);
	char *url = wfe_account_url(r, acct->id);
	snprintf(job->account_url, sizeof job->account_url, "%s", url);
	free(url);
	job->account_deactivated = acct->status != ST_VALID;
	memcpy(job->thumbprints, acct->thumbprints, sizeof job->thumbprints);
	job->nthumbprints = acct->nthumbprints;
	if (cfg->account_hash_prefix[0])
		snprintf(job->hash_prefix, sizeof job->hash_prefix, "%s", cfg->account_hash_prefix);
	else
		snprintf(job->hash_prefix, sizeof job->hash_prefix, "%s%s", r->base, PATH_ACCOUNT_HASH);
}

void wfe_challenge(struct req *r, const char *arg)
{
	const struct conf_who who = http_who(r);
	struct server *srv = r->srv;
	struct post post;
	struct problem p;
	struct authz a = {0};
	char authz_id[STORE_ID_LEN + 1] = "";
	const char *slash = strchr(arg, '/');
	if (!slash || (size_t)(slash - arg) > STORE_ID_LEN) {
		problem_set(&p, PROB_MALFORMED, 404, "no challenge at %s", r->path);
		wfe_fail(r, &p);
		return;
	}
	memcpy(authz_id, arg, (size_t)(slash - arg));
	const char *chal_id = slash + 1;
	if (wfe_post(r, AUTH_KID, &post, &p) < 0 || own_authz(r, &post, authz_id, &a, &p) < 0)
		goto fail;
	const struct challenge *c = find_chal(&a, chal_id);
	if (!c) {
		problem_set(&p, PROB_MALFORMED, 404, "no challenge %s in authorization %s", chal_id, authz_id);
		goto fail;
	}
	char obj[2 * STORE_ID_LEN + 8];
	if (post.jws.post_as_get) {
		snprintf(obj, sizeof obj, "chall:%s/%s", a.id, c->id);
		conformance_polled(&who, obj);
		reply_challenge(r, &a, c);
		goto out;
	}
	/* §7.5.1: the client says it is ready with an empty JSON object */
	if (post.jws.payload_len != 2 || memcmp(post.jws.payload, "{}", 2) != 0)
		conformance_note(CONF_CHALLENGE_BODY, &who, "body %.*s", (int)(post.jws.payload_len > 200 ? 200 : post.jws.payload_len),
		                 (const char *)post.jws.payload);
	if (wfe_payload_object(&post, false, &p) < 0)
		goto fail;
	if (srv->cfg->strict && (post.jws.payload_len != 2 || memcmp(post.jws.payload, "{}", 2) != 0)) {
		problem_set(&p, PROB_MALFORMED, 400,
		            "the challenge POST body must be exactly {} (RFC 8555 §7.5.1; -strict is on)");
		goto fail;
	}
	if (json_object_get(post.payload, "keyAuthorization")) {
		problem_set(&p, PROB_MALFORMED, 400,
		            "do not send \"keyAuthorization\": the server computes it (RFC 8555 §7.5.1); POST {}");
		goto fail;
	}
	/* spec §4a (draft -02 §9.3.1): past a failed-validation limit no new attempt starts */
	int wait;
	if (strcmp(c->type, "dns-persist-01") == 0 && c->status == ST_PENDING &&
	    faillimit_check(srv->fails, post.acct.id, a.ident.value, &p, &wait) < 0) {
		http_add_header(r, "Retry-After", "%d", wait);
		goto fail;
	}
	bool started;
	struct authz now = {0};
	if (store_challenge_start(srv->store, a.id, c->id, &started, &now, &p) < 0)
		goto fail;
	if (started) {
		struct va_job job;
		wfe_va_job(r, &post.acct, &a, c, &job);
		if (va_submit(srv->va, &job) < 0) {
			store_authz_clear(&now);
			store_challenge_abort(srv->store, a.id, c->id);
			http_add_header(r, "Retry-After", "%d", srv->cfg->retry_after_authz);
			problem_set(&p, PROB_RATE_LIMITED, 503,
			            "the validation queue is full; retry this challenge after a few seconds");
			goto fail;
		}
	}
	store_authz_clear(&a);
	a = now; /* the authorization as the start left it: no second read */
	c = find_chal(&a, chal_id);
	/* the first read of the authorization after answering a challenge is not a poll */
	snprintf(obj, sizeof obj, "authz:%s", a.id);
	conformance_answered(r->account, obj, false, 0);
	reply_challenge(r, &a, c);
	goto out;
fail:
	wfe_fail(r, &p);
out:
	store_authz_clear(&a);
	wfe_post_clear(&post);
}
