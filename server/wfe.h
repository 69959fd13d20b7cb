/* wfe: the ACME resources (one file each) and what they share: URLs, the JWS pipeline of every
 * POST (RFC 8555 §6.2-6.5), and the JSON form of each object. */
#ifndef COBBLE_WFE_H
#define COBBLE_WFE_H

#include <jansson.h>

#include "server/http.h"
#include "server/jwk.h"
#include "server/jws.h"
#include "server/store.h"

/* Paths (relative to the base URL). */
#define PATH_DIRECTORY "/dir"
#define PATH_NEW_NONCE "/acme/new-nonce"
#define PATH_NEW_ACCOUNT "/acme/new-acct"
#define PATH_ACCOUNT "/acme/acct/"
#define PATH_KEY_CHANGE "/acme/key-change"
#define PATH_NEW_ORDER "/acme/new-order"
#define PATH_ORDER "/acme/order/"
#define PATH_FINALIZE "/acme/finalize/"
#define PATH_AUTHZ "/acme/authz/"
#define PATH_CHALLENGE "/acme/chall/"
#define PATH_CERT "/acme/cert/"
#define PATH_REVOKE "/acme/revoke-cert"
#define PATH_ACCOUNT_HASH "/acme/account-hash/"
/* RFC 9773 §4.1: the directory gives it without the slash; clients append "/" certID */
#define PATH_RENEWAL_INFO "/acme/renewal-info"

/* Handlers: `arg` is the path after the route's prefix ("" for exact routes). */
void wfe_directory(struct req *r, const char *arg);
void wfe_new_nonce(struct req *r, const char *arg);
void wfe_new_account(struct req *r, const char *arg);
void wfe_account(struct req *r, const char *arg);
void wfe_key_change(struct req *r, const char *arg);
void wfe_new_order(struct req *r, const char *arg);
void wfe_order(struct req *r, const char *arg);
void wfe_finalize(struct req *r, const char *arg);
void wfe_authz(struct req *r, const char *arg);
void wfe_challenge(struct req *r, const char *arg);
void wfe_cert(struct req *r, const char *arg);
void wfe_revoke(struct req *r, const char *arg);
void wfe_renewal_info(struct req *r, const char *arg);
/* Before a handler: an injected error or the maintenance switch (server/faults.c) answers the
 * request instead. Returns true when it did. The ACME listener's http_site "before" hook. */
bool wfe_faults(struct req *r, const char *resource, const char *arg);
/* The ACME listener's routes (wfe_directory.c), for http_start. */
extern const struct http_route wfe_routes[];
extern const size_t wfe_nroutes;

/* A new string: the base URL followed by the formatted path. */
char *wfe_url(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum post_auth { AUTH_KID, AUTH_JWK, AUTH_EITHER };

/* A verified POST: its JWS, the account (when authenticated by kid), the payload as JSON
 * (NULL for POST-as-GET). */
struct post {
	struct jws jws;
	struct account acct;
	bool have_acct;
	json_t *payload;
};

/* The pipeline every POST goes through: Content-Type, JWS syntax, nonce (single use, plus
 * COBBLE_WFE_NONCEREJECT), url == request URL, kid → valid account or jwk, signature, JSON
 * payload. Returns 0, or -1 with p filled (nothing changed). Free with wfe_post_clear. */
int wfe_post(struct req *r, enum post_auth auth, struct post *out, struct problem *p);
void wfe_post_clear(struct post *post);
/* The payload must be a JSON object (or POST-as-GET when allow_empty). */
int wfe_payload_object(const struct post *post, bool allow_empty, struct problem *p);

/* Replies a problem and returns; used as `return wfe_fail(r, &p);`. */
void wfe_fail(struct req *r, const struct problem *p);

json_t *wfe_account_json(struct req *r, const struct account *a);
json_t *wfe_order_json(struct req *r, const struct order *o);
json_t *wfe_authz_json(struct req *r, const struct authz *a);
json_t *wfe_challenge_json(struct req *r, const struct authz *a, const struct challenge *c);
json_t *wfe_stored_problem_json(const struct stored_problem *sp);

/* Fill a validation job for challenge c of authz a, requested by acct. */
struct va_job;
void wfe_va_job(struct req *r, const struct account *acct, const struct authz *a,
                const struct challenge *c, struct va_job *job);

/* RFC 9773 §5: newOrder's "replaces" must be a certID of a certificate of this CA, issued to
 * acct, sharing an identifier with o and not already replaced by an order that is not invalid.
 * Returns 0 with the certificate in *out (caller clears) and o->replaces set, or -1 with p. */
int wfe_replaces_check(struct req *r, const struct account *acct, struct order *o, json_t *replaces,
                       struct cert *out, struct problem *p);

/* The account URL a client sees (what a dns-persist-01 record must name). New string. */
char *wfe_account_url(struct req *r, const char *account_id);
/* json_string of s, freeing s (for wfe_url results). */
json_t *wfe_json_take(char *s);

#endif
