/* store_cert: the certificates in the store: their copies, the serial and RFC 9773 certID
 * indexes, ARI replacement and revocation (store_internal.h: same lock and maps as store.c). */
#include "server/store.h"
#include "server/store_internal.h"
#include "common/map.h"
#include "common/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void cert_copy(struct cert *dst, const struct cert *src)
{
	*dst = *src;
	dst->chains = xcalloc(src->nchains, sizeof *dst->chains);
	for (size_t i = 0; i < src->nchains; i++)
		dst->chains[i] = xstrdup(src->chains[i]);
	dst->ari_response = xstrdup(src->ari_response);
}

void store_cert_clear(struct cert *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nchains; i++)
		free(c->chains[i]);
	free(c->chains);
	free(c->ari_response);
	memset(c, 0, sizeof *c);
}

/* ---- certificates ---- */

void store_serial_norm(const char *in, char out[41])
{
	size_t n = 0;
	for (; *in && n < 40; in++) {
		char c = *in;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			continue;
		if (n == 0 && c == '0')
			continue;
		out[n++] = c;
	}
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
}

void store_cert_add(struct store *s, struct cert *in)
{
	store_serial_norm(in->serial, in->serial);
	pthread_mutex_lock(&s->lock);
	store_new_id(s->certs, in->id);
	struct cert *c = xcalloc(1, sizeof *c);
	cert_copy(c, in);
	map_put(s->certs, c->id, c);
	map_put(s->by_serial, c->serial, xstrdup(c->id));
	if (c->certid[0])
		map_put(s->by_certid, c->certid, xstrdup(c->id));
	pthread_mutex_unlock(&s->lock);
}

int store_cert_by_certid(struct store *s, const char *certid, struct cert *out)
{
	pthread_mutex_lock(&s->lock);
	const char *id = map_get(s->by_certid, certid);
	struct cert *c = id ? map_get(s->certs, id) : NULL;
	if (c)
		cert_copy(out, c);
	pthread_mutex_unlock(&s->lock);
	return c ? 0 : -1;
}

int store_cert_set_replaced(struct store *s, const char *id, const char *expect, const char *order_id)
{
	int rc = -1;
	pthread_mutex_lock(&s->lock);
	struct cert *c = map_get(s->certs, id);
	if (c && strcmp(c->replaced_by, expect) == 0) {
		snprintf(c->replaced_by, sizeof c->replaced_by, "%s", order_id);
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_cert_set_ari_response(struct store *s, const char *serial_in, const char *text)
{
	char serial[41];
	store_serial_norm(serial_in, serial);
	pthread_mutex_lock(&s->lock);
	const char *id = map_get(s->by_serial, serial);
	struct cert *c = id ? map_get(s->certs, id) : NULL;
	if (c) {
		free(c->ari_response);
		c->ari_response = xstrdup(text);
	}
	pthread_mutex_unlock(&s->lock);
	return c ? 0 : -1;
}

int store_cert_get(struct store *s, const char *id, struct cert *out)
{
	pthread_mutex_lock(&s->lock);
	struct cert *c = map_get(s->certs, id);
	if (c)
		cert_copy(out, c);
	pthread_mutex_unlock(&s->lock);
	return c ? 0 : -1;
}

int store_cert_by_serial(struct store *s, const char *serial_in, struct cert *out)
{
	char serial[41];
	store_serial_norm(serial_in, serial);
	pthread_mutex_lock(&s->lock);
	const char *id = map_get(s->by_serial, serial);
	struct cert *c = id ? map_get(s->certs, id) : NULL;
	if (c)
		cert_copy(out, c);
	pthread_mutex_unlock(&s->lock);
	return c ? 0 : -1;
}

int store_cert_revoke(struct store *s, const char *serial_in, int reason, struct problem *p)
{
	int rc = 0;
	char serial[41];
	store_serial_norm(serial_in, serial);
	pthread_mutex_lock(&s->lock);
	const char *id = map_get(s->by_serial, serial);
	struct cert *c = id ? map_get(s->certs, id) : NULL;
	if (!c) {
		rc = -2;
	} else if (c->revoked) {
		rc = problem_set(p, PROB_ALREADY_REVOKED, 400,
		                 "certificate %s was already revoked (reason %d)", serial, c->reason);
	} else {
		c->revoked = true;
		c->reason = reason;
		c->revoked_at = time(NULL);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
