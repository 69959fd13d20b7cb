/* conformance: what each client did that RFC 8555, RFC 9773 or the dns-persist-01 draft says it
 * should not, as a CA can observe it. One table of checks (id, severity, reference, message);
 * counters per account and per User-Agent, each with its count and first occurrence (time, request
 * URL, the offending detail). Thread-safe: the request threads and the VA workers report into it;
 * the management listener and `cobble report` read it as JSON. */
#ifndef COBBLE_CONFORMANCE_H
#define COBBLE_CONFORMANCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/persist.h"
#include "server/store.h"

/* The checks; conformance.c has one table row per constant, in this order. */
enum conf_check {
	CONF_NO_USER_AGENT,
	CONF_JWS_CONTENT_TYPE,
	CONF_BADNONCE_NOT_RETRIED,
	CONF_POLL_BEFORE_RETRY_AFTER,
	CONF_POLL_TOO_FAST,
	CONF_GET_NOT_POST_AS_GET,
	CONF_CHALLENGE_BODY,
	CONF_FINALIZE_NOT_READY,
	CONF_ALTERNATE_NEVER_FETCHED,
	CONF_ARI_NEVER_ASKED,
	CONF_ARI_NO_REPLACES,
	CONF_PERSIST_LENIENT,
	CONF_PERSIST_WILDCARD_UNUSED,
	CONF_PERSIST_NO_UNTIL,
	CONF_PERSIST_BAD_ACCOUNT,
	CONF_NCHECKS
};

/* The client as cobble knows it at the moment of a request (all borrowed; any may be NULL or
 * empty): the account (once the JWS named it), the User-Agent (NULL in a request: none was
 * sent), and the request URL as base+path. */
struct conf_who {
	bool request;          /* false for a VA worker: no User-Agent known */
	const char *account;
	const char *ua;
	const char *base, *path;
};

/* Count one occurrence of check c for who's account and User-Agent (for a note without a
 * User-Agent, e.g. from a VA worker, the account's last one). */
void conformance_note(enum conf_check c, const struct conf_who *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- hooks, one per place in the request pipeline ---- */

/* Every ACME reply (http.c): counts the request, checks the User-Agent, and remembers the nonce
 * a badNonce answer carried (problem_type is the reply's problem type or NULL). */
void conformance_reply(const struct conf_who *who, const char *problem_type, const char *nonce);
/* A JWS about to be checked (wfe_post): after a badNonce, RFC 8555 §6.5 wants that answer's nonce. */
void conformance_nonce_used(const struct conf_who *who, const char *nonce);
/* A POST-as-GET read of an order, authorization or challenge (`obj`, e.g. "order:ID"), before
 * it is answered: is it sooner than the Retry-After (or a second) the last answer allowed? */
void conformance_polled(const struct conf_who *who, const char *obj);
/* Cobble answered about obj: still being worked on by the server (a poll may follow), with the
 * Retry-After it sent (0: none). Not in progress forgets obj. */
void conformance_answered(const char *account, const char *obj, bool in_progress, int retry_after);
/* A certificate download (chain index alt); st is used to read the order's identifiers. */
void conformance_cert_download(struct store *st, const struct conf_who *who, const struct cert *c,
                               unsigned long alt);
/* A renewalInfo request for a certificate of account (RFC 9773 §4). */
void conformance_renewal_info(const char *account);
/* A new order (after its checks passed). */
void conformance_new_order(const struct conf_who *who, const struct order *o);
/* dns-persist-01 records at record_name seen while validating for account (account_url is the
 * account URL of the challenge); matched is the validating record's index (-1 when none); st
 * NULL skips looking up the accounts that records name. */
void conformance_persist(struct store *st, const char *account, const char *account_url,
                         const char *record_name, const struct persist_rr *rrs, size_t nrrs, int matched,
                         bool wildcard, bool at_ancestor, bool has_persist_until);

/* ---- reading ---- */

/* The report: {"checks": [the table], "mustBroken": bool, "accounts": [...], "userAgents": [...]}.
 * With account set, that account's entry alone, or NULL when cobble never saw it. New reference. */
json_t *conformance_json(const char *account);
/* Forget everything (tests, and a server restart within one process). */
void conformance_reset(void);

#endif
