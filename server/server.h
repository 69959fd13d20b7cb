/* server: the wiring every request handler reaches through struct req. */
#ifndef COBBLE_SERVER_H
#define COBBLE_SERVER_H

#include "server/ca.h"
#include "server/config.h"
#include "server/nonce.h"
#include "server/store.h"

struct crl;
struct faillimit;
struct va;
struct issuer;

struct server {
	struct config *cfg;
	struct store *store;
	struct ca *ca;
	struct crl *crl;          /* the CRLs of the issuing intermediates */
	struct nonce_pool *nonces;
	struct va *va;
	struct issuer *issuer;    /* finalize jobs: signing happens off the request threads */
	struct faillimit *fails;  /* failed dns-persist-01 validations (spec §4a) */
	char *tls_root_pem;       /* what a client must trust to reach the listeners */
};

#endif
