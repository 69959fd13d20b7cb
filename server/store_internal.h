/* store_internal: the store's private structures, shared by store.c, store_cert.c and
 * store_retain.c only. */
#ifndef COBBLE_STORE_INTERNAL_H
#define COBBLE_STORE_INTERNAL_H

#include "common/map.h"
#include "server/store.h"

#include <pthread.h>
#include <time.h>

struct acct_rec {
	struct account a;
	char (*orders)[STORE_ID_LEN + 1];
	size_t norders, cap;
};

struct id_list {
	char (*ids)[STORE_ID_LEN + 1];
	size_t n, cap;
};

struct retain;

struct store {
	pthread_mutex_t lock;
	struct map *accounts;   /* id → struct acct_rec */
	struct map *by_key;     /* thumbprint → account id (char *) */
	struct map *authzs;     /* id → struct authz */
	struct map *orders;     /* id → struct order */
	struct map *certs;      /* id → struct cert */
	struct map *by_serial;  /* serial → cert id (char *) */
	struct map *by_certid;  /* RFC 9773 certID → cert id (char *) */
	struct map *valid_by_ident; /* "account|type|value|wildcard" → struct id_list of authzs that
	                               became valid, so reuse lookups never scan every authz */
	struct retain *retain;  /* owned: the order cap (store_retain.c) */
};

/* A fresh id not used in map m (ids are random so URLs from an earlier run never point at a
 * new object: a TXT record naming an old account URL must not match a new account). Lock held. */
void store_new_id(const struct map *m, char out[STORE_ID_LEN + 1]);
/* The valid_by_ident key of an identifier for an account. */
void store_ident_key(char *out, size_t outlen, const char *account, const struct identifier *id, bool wildcard);
/* RFC 8555 §7.1.6 status of an order, derived from its authorizations. Lock held. */
void store_order_refresh(struct store *s, struct order *o, time_t now);

/* store_retain.c. All with the lock held, except new/free. */
struct retain *store_retain_new(void);
void store_retain_free(struct retain *r);
/* An order was added (o is the stored one): count its authorizations' references, queue it by
 * age, and drop the oldest finished orders while there are more than the cap. */
void store_retain_added(struct store *s, const struct order *o);

#endif
