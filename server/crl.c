/* crl: the revoked list and the signed CRL (DER) of every hierarchy. */
#include "server/crl.h"
#include "common/log.h"
#include "common/util.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRL_NEXT_UPDATE (7L * 86400) /* RFC 5280 §5.1.2.5; a new CRL comes with each revocation */
/* A CRL older than this is signed anew when it is next fetched, so a relying party never gets one
 * past its nextUpdate, even from a long-running cobble with no revocations (RFC 5280 §5: "issue a
 * new CRL ... on or before the nextUpdate time"; BR §4.9.7: at least every seven days). */
#define CRL_REFRESH (1L * 86400)

struct crl {
	struct ca *ca;
	pthread_mutex_t lock;
	struct ca_revoked *rev;
	size_t n, cap;
	long number;          /* §5.2.3: one more for every CRL signed */
	long refresh;         /* seconds: see CRL_REFRESH */
	time_t signed_at;     /* when sign_all last ran */
	unsigned char **der;  /* per hierarchy */
	size_t *len;
};

/* Under lock: sign every hierarchy's CRL again from c->rev. */
static int sign_all(struct crl *c)
{
	int nh = ca_nroots(c->ca);
	c->number++;
	for (int i = 0; i < nh; i++) {
		unsigned char *der;
		size_t len;
		if (ca_crl(c->ca, i, c->rev, c->n, c->number, CRL_NEXT_UPDATE, &der, &len) < 0)
			return -1;
		OPENSSL_free(c->der[i]);
		c->der[i] = der;
		c->len[i] = len;
	}
	c->signed_at = time(NULL);
	return 0;
}

struct crl *crl_new(struct ca *ca)
{
	return crl_new_refresh(ca, CRL_REFRESH);
}

struct crl *crl_new_refresh(struct ca *ca, long refresh)
{
	struct crl *c = xcalloc(1, sizeof *c);
	c->ca = ca;
	c->refresh = refresh;
	pthread_mutex_init(&c->lock, NULL);
	c->der = xcalloc((size_t)ca_nroots(ca), sizeof *c->der);
	c->len = xcalloc((size_t)ca_nroots(ca), sizeof *c->len);
	if (sign_all(c) < 0) {
		crl_free(c);
		return NULL;
	}
	return c;
}

void crl_free(struct crl *c)
{
	if (!c)
		return;
	for (int i = 0; i < ca_nroots(c->ca); i++)
		OPENSSL_free(c->der[i]);
	free(c->der);
	free(c->len);
	free(c->rev);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int crl_revoke(struct crl *c, const char *serial, int reason, time_t when)
{
	pthread_mutex_lock(&c->lock);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->rev = xrealloc(c->rev, c->cap * sizeof *c->rev);
	}
	struct ca_revoked *r = &c->rev[c->n++];
	snprintf(r->serial, sizeof r->serial, "%s", serial);
	r->when = when;
	r->reason = reason;
	int rc = sign_all(c);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		log_error("crl: signing the CRLs after revoking %s failed", serial);
	return rc;
}

unsigned char *crl_get(struct crl *c, int i, size_t *len)
{
	unsigned char *out = NULL;
	pthread_mutex_lock(&c->lock);
	if (time(NULL) - c->signed_at >= c->refresh && sign_all(c) < 0)
		log_error("crl: signing the CRLs again after %ld s failed; serving the previous ones", c->refresh);
	if (i >= 0 && i < ca_nroots(c->ca) && c->der[i]) {
		out = xmalloc(c->len[i]);
		memcpy(out, c->der[i], c->len[i]);
		*len = c->len[i];
	}
	pthread_mutex_unlock(&c->lock);
	return out;
}
