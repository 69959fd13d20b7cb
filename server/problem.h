/* problem: RFC 8555 §6.7 problem documents (RFC 7807), one per client-caused failure. */
#ifndef COBBLE_PROBLEM_H
#define COBBLE_PROBLEM_H

#include <stdarg.h>

/* Short ACME error names; the document's type is "urn:ietf:params:acme:error:" + name. */
#define PROB_ACCOUNT_DOES_NOT_EXIST "accountDoesNotExist"
#define PROB_ALREADY_REPLACED "alreadyReplaced" /* RFC 9773 §7.4 */
#define PROB_ALREADY_REVOKED "alreadyRevoked"
#define PROB_BAD_CSR "badCSR"
#define PROB_BAD_NONCE "badNonce"
#define PROB_BAD_PUBLIC_KEY "badPublicKey"
#define PROB_BAD_REVOCATION_REASON "badRevocationReason"
#define PROB_BAD_SIGNATURE_ALGORITHM "badSignatureAlgorithm"
#define PROB_CAA "caa"
#define PROB_CONNECTION "connection"
#define PROB_DNS "dns"
#define PROB_EXTERNAL_ACCOUNT_REQUIRED "externalAccountRequired"
#define PROB_INCORRECT_RESPONSE "incorrectResponse"
#define PROB_INVALID_CONTACT "invalidContact"
#define PROB_INVALID_PROFILE "invalidProfile" /* draft-aaron-acme-profiles */
#define PROB_MALFORMED "malformed"
#define PROB_ORDER_NOT_READY "orderNotReady"
#define PROB_RATE_LIMITED "rateLimited"
#define PROB_REJECTED_IDENTIFIER "rejectedIdentifier"
#define PROB_SERVER_INTERNAL "serverInternal"
#define PROB_TLS "tls"
#define PROB_UNAUTHORIZED "unauthorized"
#define PROB_UNSUPPORTED_CONTACT "unsupportedContact"
#define PROB_UNSUPPORTED_IDENTIFIER "unsupportedIdentifier"
#define PROB_USER_ACTION_REQUIRED "userActionRequired"
/* Not ACME types: plain HTTP failures that still get a problem document (RFC 7807 "about:blank"
 * would carry no advice, so cobble uses malformed-like detail with these statuses). */

#define PROBLEM_DETAIL_MAX 2048
#define PROBLEM_MAX_SUB 16

struct subproblem {
	const char *type;
	char detail[512];
	char id_type[8];   /* identifier this subproblem is about ("dns"/"ip"), may be empty */
	char id_value[256];
};

/* A client-caused failure: type (a PROB_* name, static storage), HTTP status, detail. One sits
 * on the stack of every handler, so subproblems live in storage the caller lends (only newOrder
 * checks identifiers one by one): about 2 KB instead of 15. */
struct problem {
	const char *type;
	int status;
	char detail[PROBLEM_DETAIL_MAX];
	int nsub;
	int maxsub;
	struct subproblem *sub;  /* borrowed from problem_lend_subs, or NULL */
};

/* Fill p (type is a PROB_* constant; status the HTTP status). Always returns -1 so callers can
 * `return problem_set(...)`. */
int problem_set(struct problem *p, const char *type, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int problem_vset(struct problem *p, const char *type, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* Lend p room for max subproblems (storage stays the caller's and must outlive p's use); call it
 * after problem_set, which forgets any lent storage. */
void problem_lend_subs(struct problem *p, struct subproblem *storage, int max);
/* Add a subproblem about one identifier (RFC 8555 §6.7.1); silently dropped beyond the lent room
 * (all of them when none was lent). */
void problem_add_sub(struct problem *p, const char *type, const char *id_type, const char *id_value,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Put prefix (e.g. "inner JWS of keyChange: ") before the detail, truncating the end. */
void problem_prefix(struct problem *p, const char *prefix);
/* The default HTTP status of an ACME error type (400 for most). */
int problem_default_status(const char *type);

/* The RFC 8555 problem document as a new JSON object (caller owns the reference). */
struct json_t;
struct json_t *problem_to_json(const struct problem *p);

#endif
