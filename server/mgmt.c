/* mgmt: the management listener's resources, as Pebble's: roots, intermediates and their keys
 * (with rel="alternate" links), and certificate status by serial. */
#include "common/util.h"
#include "server/wfe.h"

#include <stdlib.h>
#include <string.h>

static void not_found(struct req *r, const char *what)
{
	struct problem p;
	problem_set(&p, PROB_MALFORMED, 404, "%s", what);
	http_reply_problem(r, &p);
}

/* /roots/N, /root-keys/N, /intermediates/N, /intermediate-keys/N */
static bool pem_resource(struct req *r, const char *path)
{
	static const struct {
		const char *prefix;
		char *(*get)(const struct ca *, int);
	} kinds[] = {
	    {"/roots/", ca_root_pem},
	    {"/root-keys/", ca_root_key_pem},
	    {"/intermediates/", ca_intermediate_pem},
	    {"/intermediate-keys/", ca_intermediate_key_pem},
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		if (!util_has_prefix(path, kinds[k].prefix))
			continue;
		const char *num = path + strlen(kinds[k].prefix);
		char *end;
		long i = strtol(num, &end, 10);
		int n = ca_nroots(r->srv->ca);
		if (!*num || *end || i < 0 || i >= n) {
			char msg[128];
			snprintf(msg, sizeof msg, "%s takes an index from 0 to %d", kinds[k].prefix, n - 1);
			not_found(r, msg);
			return true;
		}
		for (int j = 0; j < n; j++)
			if (j != i)
				http_add_header(r, "Link", "<%s%s%d>;rel=\"alternate\"", r->base, kinds[k].prefix, j);
		char *pem = kinds[k].get(r->srv->ca, (int)i);
		if (!pem) {
			not_found(r, "no such certificate or key");
			return true;
		}
		http_reply_raw(r, 200, "application/x-pem-file", pem, strlen(pem));
		return true;
	}
	return false;
}

static void cert_status(struct req *r, const char *serial)
{
	struct cert c = {0};
	if (!*serial || strlen(serial) > 64 || store_cert_by_serial(r->srv->store, serial, &c) < 0) {
		not_found(r, "no certificate with that serial (hex, as openssl x509 -serial prints it)");
		return;
	}
	/* the leaf alone: the first PEM block of the chain */
	const char *end = strstr(c.chains[0], "-----END CERTIFICATE-----");
	char *leaf = end ? xstrndup(c.chains[0], (size_t)(end - c.chains[0]) + 26) : xstrdup(c.chains[0]);
	json_t *o = json_pack("{s:s, s:s, s:s}", "Serial", c.serial, "Status", c.revoked ? "Revoked" : "Valid",
	                      "Certificate", leaf);
	free(leaf);
	if (c.revoked) {
		char when[32];
		util_time_fmt(c.revoked_at, when, sizeof when);
		json_object_set_new(o, "Reason", json_integer(c.reason));
		json_object_set_new(o, "RevokedAt", json_string(when));
	}
	cert_clear(&c);
	http_reply_json(r, 200, o);
}

static void index_page(struct req *r)
{
	size_t accounts, orders, authzs, certs;
	store_counts(r->srv->store, &accounts, &orders, &authzs, &certs);
	char *body = xasprintf("cobble management interface\n\n"
	                       "GET /roots/N, /root-keys/N, /intermediates/N, /intermediate-keys/N (N from 0 to %d)\n"
	                       "GET /cert-status-by-serial/HEX\n\n"
	                       "accounts %zu, orders %zu, authorizations %zu, certificates %zu\n",
	                       ca_nroots(r->srv->ca) - 1, accounts, orders, authzs, certs);
	http_reply_raw(r, 200, "text/plain; charset=utf-8", body, strlen(body));
}

void mgmt_route(struct req *r, const char *path)
{
	if (strcmp(path, "/") == 0) {
		index_page(r);
		return;
	}
	if (pem_resource(r, path))
		return;
	if (util_has_prefix(path, "/cert-status-by-serial/")) {
		cert_status(r, path + strlen("/cert-status-by-serial/"));
		return;
	}
	not_found(r, "no management resource here; see / for the list");
}
