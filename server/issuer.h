/* issuer: issuance for finalize (RFC 8555 §7.4): the rules an order and its CSR must meet (the
 * validity window, the profile, the CSR's names) and the pool that signs off the request threads.
 * A full queue is refused with rateLimited, never signed on the caller's thread. */
#ifndef COBBLE_ISSUER_H
#define COBBLE_ISSUER_H

#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#include "server/ca.h"
#include "server/config.h"
#include "server/problem.h"
#include "server/store.h"

#define ISSUER_WORKERS 2      /* signing threads (one signature takes well under a millisecond) */
#define ISSUER_QUEUE 1024     /* finalize jobs waiting for a signing thread */

struct server;
struct issuer;

/* Start `workers` signing threads with room for `queue` waiting jobs. srv (borrowed) must outlive
 * the issuer; its store, CA and configuration are what the jobs use. NULL on failure. */
struct issuer *issuer_new(struct server *srv, size_t workers, size_t queue);
/* Finish the queued jobs, stop the threads and free. NULL is a no-op. */
void issuer_free(struct issuer *is);

/* newOrder's notBefore may start at most this long before now, or this long after it. */
#define ISSUER_BACKDATE_MAX 3600L
#define ISSUER_AHEAD_MAX (365L * 86400)
/* newOrder's notBefore/notAfter (0 when the client gave none; a negative time for a date at or
 * before 1970-01-01T00:00:00Z), checked against now. Returns 0, or -1 with malformed in p, whose
 * detail gives the allowed window. */
int issuer_check_window(time_t not_before, time_t not_after, time_t now, struct problem *p);
/* draft-aaron-acme-profiles: name (NULL when "profile" is not a string) must be offered.
 * Returns 0, or -1 with invalidProfile in p naming the offered profiles. */
int issuer_check_profile(const struct config *cfg, const char *name, struct problem *p);
/* RFC 8555 §7.4: the CSR must name exactly the order's identifiers, no more and no fewer.
 * Returns 0, or -1 with badCSR in p naming the extra and the missing names. */
int issuer_csr_matches(const struct order *o, const struct ca_csr *csr, struct problem *p);
/* Queue the signing of order o (already moved to processing) for the key *pub. On success the
 * job owns the key and *pub is set to NULL; the job finishes the order valid or invalid. Returns
 * 0, or -1 when the queue is full: the order is ready again, *pub stays the caller's and p says
 * rateLimited (HTTP 429); the caller adds Retry-After. */
int issuer_submit(struct issuer *is, const struct order *o, EVP_PKEY **pub, struct problem *p);

#endif
