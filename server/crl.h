/* crl: the revoked certificates and the current CRL of every issuing intermediate, signed anew
 * (server/ca_crl.c) on every revocation. Thread-safe. */
#ifndef COBBLE_CRL_H
#define COBBLE_CRL_H

#include <stddef.h>
#include <time.h>

#include "server/ca.h"

struct crl;

/* The CRLs of ca's hierarchies, empty at first (ca is borrowed for the CRL's lifetime). NULL
 * after logging when signing fails. */
struct crl *crl_new(struct ca *ca);
void crl_free(struct crl *c); /* NULL is a no-op */
/* Add a revocation and sign every CRL again. Returns 0 or -1 (logged). */
int crl_revoke(struct crl *c, const char *serial, int reason, time_t when);
/* A copy of hierarchy i's CRL (DER) for the caller to free, or NULL when i is out of range. */
unsigned char *crl_get(struct crl *c, int i, size_t *len);

#endif
