/* store: every ACME object (accounts, orders, authorizations, challenges, certificates), their
 * state machines (RFC 8555 §7.1.6), lifetimes and reuse, under one lock. Callers get deep copies
 * (free them with the matching *_clear) and never hold the lock across DNS, HTTP or signing. */
#ifndef COBBLE_STORE_H
#define COBBLE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/ari.h"
#include "server/problem.h"

#define STORE_ID_LEN 16     /* hex characters of an object id */
#define STORE_MAX_KEYS 16   /* thumbprints kept per account (current + earlier, draft -02) */
#define STORE_MAX_CHALLENGES 8  /* room for every row of the challenge-type table (checked there) */

enum status {
	ST_PENDING, ST_READY, ST_PROCESSING, ST_VALID, ST_INVALID,
	ST_DEACTIVATED, ST_EXPIRED, ST_REVOKED,
};
const char *store_status_name(enum status s);

struct identifier {
	char type[4];      /* "dns" or "ip" */
	char value[256];   /* lowercase name (may start "*."), or canonical IP text */
};

/* A stored failure (the problem a challenge or order ended with). */
struct stored_problem {
	const char *type;  /* PROB_* or NULL when none */
	int status;
	char *detail;
};

struct account {
	char id[STORE_ID_LEN + 1];
	enum status status;          /* ST_VALID, ST_DEACTIVATED, ST_REVOKED */
	char *jwk;                   /* current key, RFC 7638 canonical JSON */
	char thumbprints[STORE_MAX_KEYS][44]; /* [0] current, then earlier keys, newest first */
	size_t nthumbprints;
	char *contacts_json;         /* JSON array text as the client sent it (validated), or NULL */
	time_t created;
	bool tos_agreed;
	char eab_kid[128];           /* external account binding key id, "" when none */
	char *eab_json;              /* RFC 8555 §7.3.4: the binding JWS as sent (compact JSON), or NULL */
};

struct challenge {
	char id[STORE_ID_LEN + 1];
	char type[24];               /* a name from the challenge-type table (server/challenge.c) */
	enum status status;          /* pending, processing, valid, invalid */
	char token[44];              /* "" for dns-persist-01 */
	time_t validated;            /* when it became valid (0 before) */
	struct stored_problem error;
	char *validation_record;     /* JSON array text, or NULL */
};

struct authz {
	char id[STORE_ID_LEN + 1];
	char account_id[STORE_ID_LEN + 1];
	struct identifier ident;     /* value without "*."; wildcard below */
	bool wildcard;
	enum status status;          /* as stored; expiry is applied when read */
	time_t expires;
	struct challenge chal[STORE_MAX_CHALLENGES];
	size_t nchal;
	/* How it became valid, for the reuse rules (spec dns-persist-01 §4). */
	char validated_by[24];       /* challenge type, "" while not valid */
	time_t validated_at;
	uint32_t record_ttl;         /* dns-persist-01: TTL of the validating record */
	bool has_persist_until;
	uint64_t persist_until;
	time_t caa_checked_at;       /* the last CAA check: at validation, then each recheck at issuance */
};

struct order {
	char id[STORE_ID_LEN + 1];
	char account_id[STORE_ID_LEN + 1];
	enum status status;          /* derived from the authorizations when read */
	time_t expires, created;
	time_t not_before, not_after;  /* 0 when the client gave none */
	struct identifier *idents;   /* as requested (wildcards keep "*.") */
	char (*authz_ids)[STORE_ID_LEN + 1]; /* one per identifier */
	size_t nidents;
	char cert_id[STORE_ID_LEN + 1];      /* "" until issued */
	char profile[64];
	char replaces[ARI_CERTID_MAX]; /* RFC 9773 §5: certID of the certificate it replaces, or "" */
	struct stored_problem error;
};

struct cert {
	char id[STORE_ID_LEN + 1];   /* URL id */
	char serial[41];             /* hex, as the CA printed it */
	char account_id[STORE_ID_LEN + 1];
	char order_id[STORE_ID_LEN + 1];
	char **chains;               /* PEM per root (leaf + intermediates) */
	size_t nchains;
	time_t not_before, not_after, issued;
	bool revoked;
	int reason;
	time_t revoked_at;
	unsigned char aki[ARI_AKI_MAX]; /* the AKI keyIdentifier (the issuer's SKI) */
	size_t aki_len;
	char certid[ARI_CERTID_MAX];    /* RFC 9773 §4.1 certID, set at issuance */
	char replaced_by[STORE_ID_LEN + 1]; /* RFC 9773 §5: the order that replaces it, or "" */
	char *ari_response;             /* test hook: literal renewalInfo body to serve, or NULL */
};

struct store;

struct store *store_new(void);
void store_free(struct store *s); /* NULL is a no-op */
/* Memory bound: past max orders (0, the default: none; config maxOrders), the oldest finished
 * orders are dropped with their authorizations and certificate (store_retain.c). */
void store_set_max_orders(struct store *s, size_t max);
unsigned long store_orders_dropped(struct store *s);

void store_account_clear(struct account *a);
void store_authz_clear(struct authz *a);
void store_order_clear(struct order *o);
void store_cert_clear(struct cert *c);
void store_problem_set(struct stored_problem *sp, const struct problem *p);

/* --- accounts --- */
/* Add a (status valid) account whose current key is in->jwk/in->thumbprints[0]; assigns out_id.
 * Returns 0, or -1 (with *existing_id filled) when an account already has that key. */
int store_account_add(struct store *s, const struct account *in, char out_id[STORE_ID_LEN + 1],
                      char existing_id[STORE_ID_LEN + 1]);
int store_account_get(struct store *s, const char *id, struct account *out);
int store_account_by_thumbprint(struct store *s, const char *tp, struct account *out);
/* Replace the contacts (NULL keeps them); deactivate when `deactivate`. Returns 0 or -1. */
int store_account_update(struct store *s, const char *id, const char *contacts_json, bool deactivate);
/* RFC 8555 §7.3.5: atomically move the account to a new key. old_tp must still be current.
 * Returns 0; -1 with *conflict_id when another account holds the new key; -2 when the old key is
 * no longer current or the account is gone. */
int store_account_rekey(struct store *s, const char *id, const char *old_tp, const char *new_jwk,
                        const char *new_tp, char conflict_id[STORE_ID_LEN + 1]);
/* Ids of an account's orders that are not invalid (RFC 8555 §7.1.2.1), newest first, from
 * offset; returns how many written (<= max) and sets *total. */
size_t store_account_orders(struct store *s, const char *id, size_t offset, size_t max,
                            char (*ids)[STORE_ID_LEN + 1], size_t *total);

/* --- authorizations --- */
/* Store a new authorization (status, challenges etc. from in); assigns ids of it and its
 * challenges (written back into *in). */
void store_authz_add(struct store *s, struct authz *in);
int store_authz_get(struct store *s, const char *id, struct authz *out);
/* Find a valid, unexpired authz of this account for ident/wildcard that `accept` approves
 * (called under the lock: it must only look at the copy it gets). Returns 0 with out_id. */
int store_authz_find_valid(struct store *s, const char *account_id, const struct identifier *ident,
                           bool wildcard, time_t now,
                           bool (*accept)(const struct authz *a, time_t now, void *ctx), void *ctx,
                           char out_id[STORE_ID_LEN + 1]);
/* BR §3.2.2.8: CAA was checked again at `when` (cobble's clock) and permitted; later is kept. */
void store_authz_caa_checked(struct store *s, const char *id, time_t when);
/* Client deactivation (RFC 8555 §7.5.2): pending or valid → deactivated. */
int store_authz_deactivate(struct store *s, const char *id, struct problem *p);
/* Challenge POST: the authz must be pending (else a problem) and the challenge pending (or
 * already processing/valid/invalid: then nothing changes and *started is false). On 0, *out (when
 * not NULL) is a copy of the authorization as it is now (caller clears with store_authz_clear). */
int store_challenge_start(struct store *s, const char *authz_id, const char *chal_id, bool *started,
                          struct authz *out, struct problem *p);
/* The validation could not be queued: processing → pending again. */
void store_challenge_abort(struct store *s, const char *authz_id, const char *chal_id);
struct validation_outcome {
	bool ok;
	const struct problem *error;     /* when !ok */
	const char *validation_record;   /* JSON array text, may be NULL */
	uint32_t record_ttl;
	bool has_persist_until;
	uint64_t persist_until;
	time_t expires_cap;              /* 0, or a time the valid authz must not outlive */
	long valid_lifetime;             /* seconds a valid authz lives from now (0: keep expires) */
};
/* The VA's verdict: challenge valid/invalid and with it the authz (RFC 8555 §7.1.6). */
int store_challenge_finish(struct store *s, const char *authz_id, const char *chal_id,
                           const struct validation_outcome *o);

/* --- orders --- */
void store_order_add(struct store *s, struct order *in); /* assigns in->id */
int store_order_get(struct store *s, const char *id, struct order *out);
/* ready → processing, or a problem (orderNotReady naming the state). */
int store_order_begin_finalize(struct store *s, const char *id, struct problem *p);
/* The signing could not be queued: processing → ready again. */
void store_order_abort_finalize(struct store *s, const char *id);
/* processing → valid with cert_id, or → invalid with the problem. */
int store_order_finish(struct store *s, const char *id, const char *cert_id, const struct problem *p);

/* --- certificates --- */
void store_cert_add(struct store *s, struct cert *in); /* assigns in->id */
int store_cert_get(struct store *s, const char *id, struct cert *out);
int store_cert_by_serial(struct store *s, const char *serial, struct cert *out);
/* RFC 9773 §4.1: by certID (as ari_certid_make writes it). Returns 0 or -1. */
int store_cert_by_certid(struct store *s, const char *certid, struct cert *out);
/* RFC 9773 §5: record order_id as the replacement, if the replacement is still `expect` ("" for
 * none): compare-and-set under the lock. Returns 0, or -1 when it changed meanwhile or is gone. */
int store_cert_set_replaced(struct store *s, const char *id, const char *expect, const char *order_id);
/* Test hook (Pebble's set-renewal-info): serve `text` (copied) as the renewalInfo body of the
 * certificate with this serial. Returns 0, or -1 when unknown. */
int store_cert_set_ari_response(struct store *s, const char *serial, const char *text);
/* Returns 0; -1 with alreadyRevoked in p; -2 when unknown. */
int store_cert_revoke(struct store *s, const char *serial, int reason, struct problem *p);

/* Serial numbers as hex: lowercase, no leading zeros, no separators ("0A:1b" → "a1b"). */
void store_serial_norm(const char *in, char out[41]);

/* Counts for the logs and status page. */
/* A hash of an identifier set, the same whatever the order of ids (for "the same names"). */
uint64_t store_ident_set_hash(const struct identifier *ids, size_t n);
void store_counts(struct store *s, size_t *accounts, size_t *orders, size_t *authzs, size_t *certs);

#endif
