/* crl: the revoked certificates and the current CRL of every issuing intermediate, signed anew
 * (server/ca_crl.c) on every revocation, and when a fetch finds them older than a day (their
 * nextUpdate is seven days on). Thread-safe. */
#ifndef COBBLE_CRL_H
#define COBBLE_CRL_H

#include <stddef.h>
#include <time.h>

#include "server/ca.h"

struct crl;

/* The CRLs of ca's hierarchies, empty at first (ca is borrowed for the CRL's lifetime). NULL
 * after logging when signing fails. */
struct crl *crl_new(struct ca *ca);
/* The same, signing anew on fetch once the CRLs are refresh seconds old (crl_new: one day). */
struct crl *crl_new_refresh(struct ca *ca, long refresh);
void crl_free(struct crl *c); /* NULL is a no-op */
/* Add a revocation and sign every CRL again. Returns 0 or -1 (logged). */
int crl_revoke(struct crl *c, const char *serial, int reason, time_t when);
/* A copy of hierarchy i's CRL (DER) for the caller to free, or NULL when i is out of range;
 * signed anew first when it is older than the refresh period. */
unsigned char *crl_get(struct crl *c, int i, size_t *len);

#endif
