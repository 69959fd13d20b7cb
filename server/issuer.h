/* issuer: issuance for finalize (RFC 8555 §7.4): the rules an order and its CSR must meet (the
 * validity window, the profile, the CSR's names) and the pool that signs off the request threads.
 * A full queue is refused with rateLimited, never signed on the caller's thread. */
#ifndef COBBLE_ISSUER_H
#define COBBLE_ISSUER_H

#include <openssl/evp.h>
#include <stdbool.h>
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
/* CA/Browser Forum BR §3.2.2.8: CAA is checked within 8 hours before issuance. Like Let's
 * Encrypt (Boulder's caaRecheckDuration), a signing job checks CAA again for every dns
 * identifier whose authorization's last CAA check is older than this by cobble's clock. */
#define ISSUER_CAA_RECHECK_SECONDS (7L * 3600)
/* True when a CAA check made at checked_at (cobble's clock) is too old to issue on at now. */
bool issuer_caa_stale(time_t checked_at, time_t now);
/* One CAA check again at issuance: what the validation's own check used. Strings borrowed. */
struct issuer_caa_check {
	const char *name;        /* the dns identifier, without "*." */
	bool wildcard;
	const char *method;      /* the challenge type the authorization was validated by */
	const char *account_url; /* as the client sees it (RFC 8657 accounturi) */
};
/* The check itself, on the signing thread (it may wait on DNS up to its own deadline). Returns
 * 0 when CAA permits, with what permitted it in said; or -1 with p filled (caa: forbidden, or the
 * lookup failed; serverInternal: cobble's own failure). */
typedef int (*issuer_caa_fn)(void *ctx, const struct issuer_caa_check *c, char *said, size_t saidlen,
                             struct problem *p);
/* Wire in the CAA check (main: va_caa_recheck, which lives above the issuer). Before the first
 * submit. Without one, or with `caa` off or VA_ALWAYS_VALID on, nothing is checked again. */
void issuer_set_caa(struct issuer *is, issuer_caa_fn fn, void *ctx);
/* Queue the signing of order o (already moved to processing) for the key *pub; account_url
 * (copied) is the order's account as the client sees it. On success the job owns the key and
 * *pub is set to NULL; the job rechecks CAA where due, then finishes the order valid or invalid.
 * Returns 0, or -1 when the queue is full: the order is ready again, *pub stays the caller's and
 * p says rateLimited (HTTP 429); the caller adds Retry-After. */
int issuer_submit(struct issuer *is, const struct order *o, const char *account_url, EVP_PKEY **pub,
                  struct problem *p);

#endif
