/* mgmt: the management listener (Pebble's): the status page, the roots and intermediates, the
 * certificate status by serial, and the set-renewal-info test hook. */
#ifndef COBBLE_MGMT_H
#define COBBLE_MGMT_H

#include "server/http.h"

/* Pebble's renewalInfo test hook, one of the management listener's POST resources. */
#define MGMT_SET_RENEWAL_INFO "/set-renewal-info/"

/* Every request on the management listener (its http_site fallback): GET and HEAD, plus POST at
 * the test hooks (MGMT_SET_RENEWAL_INFO, /inject, /maintenance, /rate-limits); path is the whole
 * request path. */
void mgmt_route(struct req *r, const char *path);

/* GET /crl/N: the CRL of hierarchy N (on the management listener and the CRL listener). */
void mgmt_crl(struct req *r, const char *num);
/* Every request on the plain-HTTP CRL listener (its http_site fallback): GET or HEAD /crl/N,
 * anything else 404. */
void mgmt_crl_listener(struct req *r, const char *path);

#endif
