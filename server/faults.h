/* faults: deterministic trouble for clients to meet, set on the management listener: injected
 * errors (the next N requests to a resource, or about an identifier, fail with a chosen problem
 * type, status and Retry-After), a maintenance switch (503 + Retry-After on every ACME resource
 * but the directory), and limits in the style of Let's Encrypt's (new orders per account, new
 * accounts per IP, duplicate certificates), answered with rateLimited + Retry-After.
 * Thread-safe; all state is in memory. */
#ifndef COBBLE_FAULTS_H
#define COBBLE_FAULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/problem.h"
#include "server/store.h"

/* ---- the management side (each takes the request body as JSON, borrowed) ---- */

/* POST /inject {"resource": name, "identifier": name, "count": N, "type": short ACME error name,
 * "status": HTTP status, "retryAfter": seconds, "detail": text}; {"clear": true} drops them all.
 * Returns 0, or -1 with a sentence in err naming the bad field. */
int faults_inject(json_t *body, char *err, size_t errlen);
/* POST /maintenance {"on": bool, "retryAfter": seconds}. */
int faults_maintenance(json_t *body, char *err, size_t errlen);
/* POST /rate-limits {"newOrdersPerAccount": {"count": N, "window": seconds},
 * "newAccountsPerIP": {...}, "duplicateCertificates": {...}}; a count of 0 turns one off. */
int faults_limits(json_t *body, char *err, size_t errlen);
/* The limits of the configuration (rateLimits), at start-up: counts and windows in the order
 * newOrdersPerAccount, newAccountsPerIP, duplicateCertificates. */
void faults_limits_configure(const int count[3], const int window[3]);
/* Everything set now, and what it did. New reference. */
json_t *faults_json(void);
/* The resource names /inject accepts, for messages (static). */
extern const char *const faults_resources[];

/* ---- the request side ---- */

/* Before a handler runs: must this request fail? resource is the route's name ("newOrder", ...),
 * idents the identifiers it concerns (only asked for when faults_want_identifiers()). Returns
 * true with p filled and *retry_after (0: none) when it must. */
bool faults_check(const char *resource, const struct identifier *idents, size_t nidents,
                  struct problem *p, int *retry_after);
bool faults_want_identifiers(void);
/* RFC 8555 §6.6 rateLimited, Let's Encrypt's limits. Each returns 0 (and counts the event), or -1
 * with p and *retry_after filled. */
int faults_limit_new_order(const char *account, const struct identifier *idents, size_t n,
                           struct problem *p, int *retry_after);
int faults_limit_new_account(const char *ip, struct problem *p, int *retry_after);
/* A certificate was issued for these identifiers (the duplicate-certificate limit counts them). */
void faults_cert_issued(const struct identifier *idents, size_t n);

#endif
