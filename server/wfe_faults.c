/* wfe_faults: the one place an ACME request meets server/faults.c before its handler: the
 * maintenance switch and injected errors, matched by resource and by the identifiers the request
 * is about (newOrder's payload, or the order, authorization or challenge its URL names). */
#include "common/b64.h"
#include "common/util.h"
#include "server/faults.h"
#include "server/wfe.h"

#include <stdlib.h>
#include <string.h>

/* newOrder's identifiers from the JWS payload, unverified: only to match an injection. */
static size_t payload_identifiers(struct req *r, struct identifier **out)
{
	json_t *jws = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	const char *p64 = json_string_value(json_object_get(jws, "payload"));
	unsigned char *raw = NULL;
	size_t rawlen = 0, n = 0;
	json_t *payload = NULL;
	if (p64 && b64url_decode(p64, strlen(p64), &raw, &rawlen) == 0)
		payload = json_loadb((const char *)raw, rawlen, 0, NULL);
	json_t *ids = json_object_get(payload, "identifiers"), *id;
	size_t i;
	*out = xcalloc(json_array_size(ids) + 1, sizeof **out);
	json_array_foreach(ids, i, id) {
		const char *v = json_string_value(json_object_get(id, "value"));
		if (v)
			snprintf((*out)[n++].value, sizeof (*out)[0].value, "%s", v);
	}
	json_decref(payload);
	free(raw);
	json_decref(jws);
	return n;
}

/* The identifiers the request is about; *out is the caller's to free. */
static size_t request_identifiers(struct req *r, const char *resource, const char *arg,
                                  struct identifier **out)
{
	struct store *st = r->srv->store;
	char id[STORE_ID_LEN + 1];
	snprintf(id, sizeof id, "%.*s", (int)strcspn(arg, "/"), arg);
	*out = NULL;
	if (strcmp(resource, "newOrder") == 0)
		return payload_identifiers(r, out);
	if (strcmp(resource, "order") == 0 || strcmp(resource, "finalize") == 0) {
		struct order o = {0};
		size_t n = 0;
		if (store_order_get(st, id, &o) == 0) {
			*out = xcalloc(o.nidents, sizeof **out);
			memcpy(*out, o.idents, o.nidents * sizeof **out);
			n = o.nidents;
		}
		store_order_clear(&o);
		return n;
	}
	if (strcmp(resource, "authz") == 0 || strcmp(resource, "challenge") == 0) {
		struct authz a = {0};
		size_t n = 0;
		if (store_authz_get(st, id, &a) == 0) {
			*out = xcalloc(1, sizeof **out);
			(*out)[0] = a.ident;
			n = 1;
		}
		store_authz_clear(&a);
		return n;
	}
	return 0;
}

bool wfe_faults(struct req *r, const char *resource, const char *arg)
{
	struct identifier *ids = NULL;
	size_t n = faults_want_identifiers() ? request_identifiers(r, resource, arg, &ids) : 0;
	/* a wildcard order's "*.example.com" is about example.com too */
	for (size_t i = 0; i < n; i++)
		if (util_has_prefix(ids[i].value, "*."))
			memmove(ids[i].value, ids[i].value + 2, strlen(ids[i].value) - 1);
	struct problem p;
	int retry_after = 0;
	bool failed = faults_check(resource, ids, n, &p, &retry_after);
	free(ids);
	if (!failed)
		return false;
	if (retry_after > 0) /* RFC 8555 §6.6: rateLimited (and a 503) may say when to come back */
		http_add_header(r, "Retry-After", "%d", retry_after);
	wfe_fail(r, &p);
	return true;
}
