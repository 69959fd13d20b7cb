/* config: every default in one function, the JSON file, the environment knobs, validation. */
#include "server/config.h"
#include "common/b64.h"
#include "common/util.h"
#include "server/challenge.h"
#include "server/http_front.h"
#include "server/http_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->listen_address, sizeof c->listen_address, "127.0.0.1:14000");
	snprintf(c->management_address, sizeof c->management_address, "127.0.0.1:15000");
	c->http_port = 5002;
	c->tls_port = 5001;
	c->retry_after_authz = 3;
	/* as Let's Encrypt: orders and pending authorizations 7 days, valid authorizations 30 */
	c->order_lifetime = 7 * 86400;
	c->pending_authz_lifetime = 7 * 86400;
	c->authz_lifetime = 30 * 86400;
	/* Let's Encrypt's windows; every limit off until a count is set */
	c->rate_limit_window[0] = c->rate_limit_window[1] = 3 * 3600;
	c->rate_limit_window[2] = 7 * 86400;
	c->retry_after_order = 5;
	snprintf(c->profiles[0].name, sizeof c->profiles[0].name, "default");
	snprintf(c->profiles[0].description, sizeof c->profiles[0].description,
	         "The profile you know and love");
	c->profiles[0].validity_seconds = 90L * 86400;
	c->nprofiles = 1;
	c->ca.key_type = CA_KEY_ECDSA_P256;
	c->ca.chain_length = 1;
	c->ca.alternate_roots = 0;
	c->ca.validity_days = 90;
	for (const struct challenge_type *t = challenge_types;
	     t->name && c->nchallenges < sizeof c->challenges / sizeof c->challenges[0]; t++)
		c->challenges[c->nchallenges++] = xstrdup(t->config_name);
	c->persist_draft = PERSIST_DRAFT_01;
	c->issuer_names[c->nissuer_names++] = xstrdup("cobble.test");
	c->persist_reuse = true;
	c->persist_reuse_days = 10;
	c->fail_limit_identifier = 30;
	c->fail_limit_account = 300;
	c->fail_limit_window = 3600;
	c->caa = true;
	snprintf(c->dnssec, sizeof c->dnssec, "off");
	c->dns_timeout_ms = 5000;
	c->listeners.max_connections = HTTP_GUARD_MAX_CONNECTIONS;
	c->listeners.per_address = HTTP_GUARD_PER_ADDRESS;
	c->listeners.reserve = HTTP_GUARD_RESERVE;
	c->listeners.reserve_holding = HTTP_GUARD_RESERVE_HOLDING;
	c->listeners.request_seconds = (int)HTTP_GUARD_REQUEST_SECONDS;
	c->listeners.handshake_seconds = (int)HTTP_FRONT_HANDSHAKE_SECONDS;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	c->va_workers = ncpu > 0 ? (int)(ncpu * 4) : 8;
	c->va_queue = 4096;
	c->va_sleep_max = 4;          /* Pebble: a random pause before each validation */
	c->nonce_reject_percent = 5;  /* Pebble: some valid nonces are refused, clients must retry */
	c->max_orders = 5000; /* ~25 MB of orders, authorizations and chains; see README Performance */
	c->authz_reuse_percent = 50;  /* Pebble: half the valid authorizations are reused */
	snprintf(c->log_level, sizeof c->log_level, "info");
	snprintf(c->log_format, sizeof c->log_format, "text");
}

static void free_list(char **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(list[i]);
	*n = 0;
}

static void free_eab_keys(struct config *c)
{
	for (size_t i = 0; i < c->neab_keys; i++) {
		OPENSSL_cleanse(c->eab_keys[i].key, c->eab_keys[i].keylen);
		free(c->eab_keys[i].key);
		free(c->eab_keys[i].kid);
	}
	free(c->eab_keys);
	c->eab_keys = NULL;
	c->neab_keys = 0;
}

void config_clear(struct config *c)
{
	free_eab_keys(c);
	free_list(c->domain_blocklist, &c->ndomain_blocklist);
	free_list(c->challenges, &c->nchallenges);
	free_list(c->issuer_names, &c->nissuer_names);
	free_list(c->caa_identities, &c->ncaa_identities);
	free_list(c->resolvers, &c->nresolvers);
	free_list(c->tls_names, &c->ntls_names);
}

bool config_challenge_enabled(const struct config *c, const char *type)
{
	for (size_t i = 0; i < c->nchallenges; i++)
		if (strcmp(c->challenges[i], type) == 0)
			return true;
	return false;
}

bool config_fixed_base(const struct config *c, char *out, size_t outlen)
{
	if (c->base_url[0]) {
		snprintf(out, outlen, "%s", c->base_url);
		size_t n = strlen(out);
		if (n && out[n - 1] == '/')
			out[n - 1] = '\0';
		return true;
	}
	if (c->persist_draft != PERSIST_DRAFT_02)
		return false;
	/* spec §3 (draft -02 §4.5): account URLs stay stable for the account's lifetime, so without
	 * baseURL they are built from https://localhost:<ACME port>, never from Host */
	const char *colon = strrchr(c->listen_address, ':');
	snprintf(out, outlen, "https://localhost:%s", colon ? colon + 1 : "443");
	return true;
}

const char *const *config_caa_identities(const struct config *c, size_t *n)
{
	*n = c->ncaa_identities ? c->ncaa_identities : c->nissuer_names;
	return (const char *const *)(c->ncaa_identities ? c->caa_identities : c->issuer_names);
}

const struct eab_key *config_eab_key(const struct config *c, const char *kid)
{
	for (size_t i = 0; kid && i < c->neab_keys; i++)
		if (strcmp(c->eab_keys[i].kid, kid) == 0)
			return &c->eab_keys[i];
	return NULL;
}

/* ---- JSON loading ---- */

/* Every configuration error: the message into err, and -1 for the caller to return. */
static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	char raw[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* one line, whatever a key or value in the file holds: control characters as \xNN (a key
	 * "a\nb" must not start a second line of the error, or of a log) */
	size_t o = 0;
	for (const unsigned char *c = (const unsigned char *)raw; *c && errlen && o + 1 < errlen; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			if (o + 5 >= errlen)
				break;
			o += (size_t)snprintf(err + o, errlen - o, "\\x%02x", *c);
		} else {
			err[o++] = (char)*c;
		}
	}
	if (errlen)
		err[o] = '\0';
	return -1;
}

enum kind { K_STR, K_INT, K_BOOL, K_LIST, K_FN };

/* A key with a shape of its own: parses v into c, or fails naming where+name. */
typedef int (*key_parse_fn)(struct config *c, json_t *v, const char *where, const char *name, char *err,
                            size_t errlen);

struct key {
	const char *name;
	enum kind kind;
	size_t off;   /* offset in struct config */
	size_t size;  /* K_STR: buffer size; K_LIST: capacity; */
	size_t noff;  /* K_LIST: offset of the count */
	key_parse_fn parse; /* K_FN */
};

#define STR(n, f) {n, K_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, NULL}
#define INT(n, f) {n, K_INT, offsetof(struct config, f), 0, 0, NULL}
#define BOOL(n, f) {n, K_BOOL, offsetof(struct config, f), 0, 0, NULL}
#define LIST(n, f, cnt) \
	{n, K_LIST, offsetof(struct config, f), sizeof(((struct config *)0)->f) / sizeof(char *), \
	 offsetof(struct config, cnt), NULL}
#define FN(n, fn) {n, K_FN, 0, 0, 0, fn}
#define NKEYS(keys) (sizeof keys / sizeof keys[0])

static int load_section(struct config *c, json_t *obj, const struct key *keys, size_t nkeys,
                        const char *where, char *err, size_t errlen);

static int unknown_key(const char *where, const char *name, char *err, size_t errlen)
{
	return fail(err, errlen, "unknown key \"%s%s\"", where, name);
}

static int parse_retry_after(struct config *c, json_t *v, const char *where, const char *name, char *err,
                             size_t errlen)
{
	json_t *a = json_object_get(v, "authz"), *o = json_object_get(v, "order");
	if (!json_is_object(v) || (a && !json_is_integer(a)) || (o && !json_is_integer(o)) ||
	    json_object_size(v) != (size_t)(!!a + !!o))
		return fail(err, errlen, "%s%s: expected {\"authz\": seconds, \"order\": seconds}", where, name);
	if (a)
		c->retry_after_authz = (int)json_integer_value(a);
	if (o)
		c->retry_after_order = (int)json_integer_value(o);
	return 0;
}

const char *const config_rate_limit_names[3] = {"newOrdersPerAccount", "newAccountsPerIP",
                                                "duplicateCertificates"};

/* rateLimits: {"newOrdersPerAccount": {"count": N, "window": seconds}, ...} (as POST /rate-limits) */
static int parse_rate_limits(struct config *c, json_t *v, const char *where, const char *name, char *err,
                             size_t errlen)
{
	const char *k;
	json_t *lim;
	if (!json_is_object(v))
		return fail(err, errlen, "%s%s: expected an object of limits", where, name);
	json_object_foreach(v, k, lim) {
		int i;
		for (i = 0; i < 3 && strcmp(config_rate_limit_names[i], k) != 0; i++)
			;
		json_t *n = json_object_get(lim, "count"), *w = json_object_get(lim, "window");
		if (i == 3)
			return fail(err, errlen, "%s%s.%s: unknown limit; the limits are newOrdersPerAccount, "
			            "newAccountsPerIP, duplicateCertificates", where, name, k);
		if (!json_is_integer(n) || !json_is_integer(w) || json_object_size(lim) != 2 ||
		    json_integer_value(n) < 0 || json_integer_value(n) > 100000 || json_integer_value(w) < 1 ||
		    json_integer_value(w) > 366L * 86400)
			return fail(err, errlen, "%s%s.%s: expected {\"count\": 0 to 100000 (0: off), \"window\": "
			            "seconds}", where, name, k);
		c->rate_limit_count[i] = (int)json_integer_value(n);
		c->rate_limit_window[i] = (int)json_integer_value(w);
	}
	return 0;
}

static int parse_key_algorithm(struct config *c, json_t *v, const char *where, const char *name, char *err,
                               size_t errlen)
{
	const char *s = json_string_value(v);
	if (s && strcmp(s, "ecdsa") == 0)
		c->ca.key_type = CA_KEY_ECDSA_P256;
	else if (s && strcmp(s, "rsa") == 0)
		c->ca.key_type = CA_KEY_RSA2048;
	else
		return fail(err, errlen, "%s%s: expected \"ecdsa\" or \"rsa\"", where, name);
	return 0;
}

/* Pebble's {"name": {"description": text, "validityPeriod": seconds}, ...}. */
static int parse_profiles(struct config *c, json_t *v, const char *where, const char *name, char *err,
                          size_t errlen)
{
	const char *pname;
	json_t *pv;
	if (!json_is_object(v) || json_object_size(v) == 0 || json_object_size(v) > CONFIG_MAX_LIST)
		return fail(err, errlen, "%s%s: expected an object of 1 to %d profiles", where, name, CONFIG_MAX_LIST);
	c->nprofiles = 0;
	json_object_foreach(v, pname, pv) {
		struct profile *p = &c->profiles[c->nprofiles++];
		json_t *d = json_object_get(pv, "description");
		json_t *vp = json_object_get(pv, "validityPeriod");
		if (!json_is_object(pv) || strlen(pname) >= sizeof p->name || (d && !json_is_string(d)) ||
		    (vp && !json_is_integer(vp)))
			return fail(err, errlen, "%s%s.%s: expected {\"description\": text, \"validityPeriod\": seconds}",
			            where, name, pname);
		snprintf(p->name, sizeof p->name, "%s", pname);
		snprintf(p->description, sizeof p->description, "%s", d ? json_string_value(d) : "");
		p->validity_seconds = vp ? (long)json_integer_value(vp) : 90L * 86400;
	}
	return 0;
}

/* Pebble's {"kid": "base64url MAC key", ...}. Pebble takes any non-empty unpadded base64url;
 * cobble also wants at least CONFIG_EAB_KEY_MIN octets, since a shorter key cannot verify HS256
 * (RFC 7518 §3.2) and would only fail later, at a client's newAccount. */
static int parse_eab_keys(struct config *c, json_t *v, const char *where, const char *name, char *err,
                          size_t errlen)
{
	const char *kid;
	json_t *k;
	if (!json_is_object(v))
		return fail(err, errlen, "%s%s: expected an object {\"key id\": \"base64url MAC key\"}", where, name);
	free_eab_keys(c);
	c->eab_keys = xcalloc(json_object_size(v) + 1, sizeof *c->eab_keys);
	json_object_foreach(v, kid, k) {
		unsigned char *key = NULL;
		size_t keylen = 0;
		size_t kidlen = strlen(kid);
		if (kidlen == 0 || kidlen > CONFIG_EAB_KID_MAX)
			return fail(err, errlen, "%s%s: a key id must be 1 to %d characters, not %zu", where, name,
			            CONFIG_EAB_KID_MAX, kidlen);
		if (!json_is_string(k) || json_string_length(k) == 0 ||
		    b64url_decode(json_string_value(k), json_string_length(k), &key, &keylen) != 0)
			return fail(err, errlen,
			            "%s%s.%s: expected the MAC key as a base64url string (RFC 4648 §5: "
			            "A-Z a-z 0-9 - _, no padding)",
			            where, name, kid);
		if (keylen < CONFIG_EAB_KEY_MIN) {
			OPENSSL_cleanse(key, keylen);
			free(key);
			return fail(err, errlen,
			            "%s%s.%s: the key is %zu bytes; HS256 needs at least %d (RFC 7518 "
			            "§3.2), e.g. `openssl rand 32 | basenc --base64url | tr -d =`",
			            where, name, kid, keylen, CONFIG_EAB_KEY_MIN);
		}
		struct eab_key *e = &c->eab_keys[c->neab_keys++];
		e->kid = xstrdup(kid);
		e->key = key;
		e->keylen = keylen;
	}
	return 0;
}

/* Pebble reads certificateValidityPeriod and, deprecated in favour of profiles, uses it for nothing. */
static int parse_ignored_integer(struct config *c, json_t *v, const char *where, const char *name, char *err,
                                 size_t errlen)
{
	return json_is_integer(v) ? 0 : unknown_key(where, name, err, errlen);
}

static int parse_persist_draft(struct config *c, json_t *v, const char *where, const char *name, char *err,
                               size_t errlen)
{
	const char *s = json_string_value(v);
	if (s && strcmp(s, "01") == 0)
		c->persist_draft = PERSIST_DRAFT_01;
	else if (s && strcmp(s, "02") == 0)
		c->persist_draft = PERSIST_DRAFT_02;
	else
		return fail(err, errlen, "%s%s: expected \"01\" or \"02\"", where, name);
	return 0;
}

/* spec §4a: {"perIdentifier": n, "perAccount": n, "windowSeconds": n}, any subset. */
static int parse_fail_limits(struct config *c, json_t *v, const char *where, const char *name, char *err,
                             size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
	    {"perIdentifier", offsetof(struct config, fail_limit_identifier)},
	    {"perAccount", offsetof(struct config, fail_limit_account)},
	    {"windowSeconds", offsetof(struct config, fail_limit_window)},
	};
	const char *k;
	json_t *n;
	if (!json_is_object(v))
		goto bad;
	json_object_foreach(v, k, n) {
		size_t i = 0;
		while (i < NKEYS(keys) && strcmp(keys[i].name, k) != 0)
			i++;
		if (i == NKEYS(keys) || !json_is_integer(n) || json_integer_value(n) < 0 ||
		    json_integer_value(n) > 1000000000)
			goto bad;
		*(int *)((char *)c + keys[i].off) = (int)json_integer_value(n);
	}
	return 0;
bad:
	return fail(err, errlen, "%s%s: expected {\"perIdentifier\": n, \"perAccount\": n, \"windowSeconds\": "
	            "seconds} with whole numbers >= 0 (0 turns a limit off)", where, name);
}

static const struct key persist_keys[] = {
    FN("draft", parse_persist_draft),
    LIST("issuerDomainNames", issuer_names, nissuer_names),
    BOOL("jit", persist_jit),
    BOOL("subdomains", persist_subdomains),
    BOOL("strict", persist_strict),
    BOOL("reuse", persist_reuse),
    INT("reuseMaxDays", persist_reuse_days),
    STR("accountHashPrefix", account_hash_prefix),
    FN("failedValidationLimits", parse_fail_limits),
};

static const struct key dns_keys[] = {
    LIST("resolvers", resolvers, nresolvers),
    STR("dnssec", dnssec),
    STR("trustAnchor", trust_anchor),
    INT("timeoutMs", dns_timeout_ms),
};

static const struct key listener_keys[] = {
    INT("maxConnections", listeners.max_connections),
    INT("perAddress", listeners.per_address),
    INT("reserve", listeners.reserve),
    INT("reserveHolding", listeners.reserve_holding),
    INT("requestSeconds", listeners.request_seconds),
    INT("handshakeSeconds", listeners.handshake_seconds),
};

static int parse_listeners(struct config *c, json_t *v, const char *where, const char *name, char *err,
                           size_t errlen)
{
	if (!json_is_object(v))
		return unknown_key(where, name, err, errlen);
	return load_section(c, v, listener_keys, NKEYS(listener_keys), "listeners.", err, errlen);
}

static int parse_persist(struct config *c, json_t *v, const char *where, const char *name, char *err,
                         size_t errlen)
{
	if (!json_is_object(v))
		return unknown_key(where, name, err, errlen);
	return load_section(c, v, persist_keys, NKEYS(persist_keys), "dnsPersist.", err, errlen);
}

static int parse_dns(struct config *c, json_t *v, const char *where, const char *name, char *err, size_t errlen)
{
	if (!json_is_object(v))
		return unknown_key(where, name, err, errlen);
	return load_section(c, v, dns_keys, NKEYS(dns_keys), "dns.", err, errlen);
}

static const struct key top_keys[] = {
    STR("listenAddress", listen_address),
    STR("managementListenAddress", management_address),
    STR("certificate", certificate),
    STR("privateKey", private_key),
    STR("baseURL", base_url),
    STR("caBundleOut", ca_bundle_out),
    LIST("tlsNames", tls_names, ntls_names),
    INT("httpPort", http_port),
    INT("tlsPort", tls_port),
    STR("ocspResponderURL", ocsp_responder_url),
    STR("crlListenAddress", crl_listen_address),
    INT("orderLifetime", order_lifetime),
    INT("authzLifetime", authz_lifetime),
    INT("pendingAuthzLifetime", pending_authz_lifetime),
    BOOL("crlDistributionPoints", crl_cdp),
    BOOL("externalAccountBindingRequired", eab_required),
    FN("externalAccountMACKeys", parse_eab_keys),
    LIST("domainBlocklist", domain_blocklist, ndomain_blocklist),
    FN("retryAfter", parse_retry_after),
    FN("rateLimits", parse_rate_limits),
    FN("profiles", parse_profiles),
    FN("certificateValidityPeriod", parse_ignored_integer),
    STR("termsOfService", terms_of_service),
    LIST("challenges", challenges, nchallenges),
    FN("keyAlgorithm", parse_key_algorithm),
    INT("certificateValidityDays", ca.validity_days),
    INT("chainLength", ca.chain_length),
    INT("alternateRoots", ca.alternate_roots),
    FN("dnsPersist", parse_persist),
    FN("dns", parse_dns),
    FN("listeners", parse_listeners),
    INT("vaWorkers", va_workers),
    INT("maxOrders", max_orders),
    STR("logLevel", log_level),
    STR("logFormat", log_format),
    BOOL("strict", strict),
    BOOL("caa", caa),
    LIST("caaIdentities", caa_identities, ncaa_identities),
};

static int set_key(struct config *c, const struct key *k, const char *where, json_t *v, char *err,
                   size_t errlen)
{
	char *base = (char *)c;
	switch (k->kind) {
	case K_FN:
		return k->parse(c, v, where, k->name, err, errlen);
	case K_STR:
		if (!json_is_string(v) || json_string_length(v) >= k->size)
			break;
		snprintf(base + k->off, k->size, "%s", json_string_value(v));
		return 0;
	case K_INT:
		if (!json_is_integer(v) || json_integer_value(v) < -1000000000 ||
		    json_integer_value(v) > 1000000000)
			break;
		*(int *)(base + k->off) = (int)json_integer_value(v);
		return 0;
	case K_BOOL:
		if (!json_is_boolean(v))
			break;
		*(bool *)(base + k->off) = json_is_true(v);
		return 0;
	case K_LIST: {
		char **list = (char **)(base + k->off);
		size_t *n = (size_t *)(base + k->noff);
		size_t i;
		if (!json_is_array(v) || json_array_size(v) > k->size)
			break;
		for (i = 0; i < json_array_size(v) && json_is_string(json_array_get(v, i)); i++)
			;
		if (i < json_array_size(v))
			break;
		free_list(list, n);
		for (i = 0; i < json_array_size(v); i++)
			list[(*n)++] = xstrdup(json_string_value(json_array_get(v, i)));
		return 0;
	}
	}
	return fail(err, errlen, "%s%s: expected %s", where, k->name,
	            k->kind == K_STR    ? "a string"
	            : k->kind == K_INT  ? "an integer"
	            : k->kind == K_BOOL ? "true or false"
	            : "an array of strings (at most the documented number)");
}

static int load_section(struct config *c, json_t *obj, const struct key *keys, size_t nkeys,
                        const char *where, char *err, size_t errlen)
{
	const char *name;
	json_t *v;
	json_object_foreach(obj, name, v) {
		size_t i;
		for (i = 0; i < nkeys && strcmp(keys[i].name, name) != 0; i++)
			;
		if (i == nkeys)
			return unknown_key(where, name, err, errlen);
		if (set_key(c, &keys[i], where, v, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	char inner[512] = "";
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jansson quotes the text near the error, newlines and all: through fail() */
		return fail(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	}
	json_t *obj = root;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: the configuration must be a JSON object", path);
		json_decref(root);
		return -1;
	}
	/* Pebble's files wrap everything in {"pebble": {...}}; cobble's may use {"cobble": {...}}. */
	json_t *wrapped = json_object_get(root, "cobble");
	if (!wrapped)
		wrapped = json_object_get(root, "pebble");
	if (wrapped && json_is_object(wrapped) && json_object_size(root) == 1)
		obj = wrapped;
	int rc = load_section(c, obj, top_keys, NKEYS(top_keys), "", inner, sizeof inner);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, inner);
	json_decref(root);
	return rc;
}

/* ---- environment ---- */

/* COBBLE_<name>, else PEBBLE_<name>, else NULL. */
static const char *env2(const char *name)
{
	char buf[64];
	snprintf(buf, sizeof buf, "COBBLE_%s", name);
	const char *v = getenv(buf);
	if (v && *v)
		return v;
	snprintf(buf, sizeof buf, "PEBBLE_%s", name);
	v = getenv(buf);
	return v && *v ? v : NULL;
}

static int env_int(const char *name, int lo, int hi, int *out, char *err, size_t errlen)
{
	const char *v = env2(name);
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return fail(err, errlen, "COBBLE_%s (or PEBBLE_%s) = \"%s\": expected a whole number from %d to %d",
		            name, name, v, lo, hi);
	*out = (int)n;
	return 0;
}

static int env_bool(const char *name, bool *out, char *err, size_t errlen)
{
	const char *v = env2(name);
	if (!v)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		*out = false;
	else
		return fail(err, errlen, "COBBLE_%s (or PEBBLE_%s) = \"%s\": expected 1/0 or true/false", name,
		            name, v);
	return 0;
}

int config_env(struct config *c, char *err, size_t errlen)
{
	bool nosleep = false;
	if (env_bool("VA_ALWAYS_VALID", &c->va_always_valid, err, errlen) < 0 ||
	    env_bool("VA_NOSLEEP", &nosleep, err, errlen) < 0 ||
	    env_int("VA_SLEEPTIME", 0, 60, &c->va_sleep_max, err, errlen) < 0 ||
	    env_int("WFE_NONCEREJECT", 0, 100, &c->nonce_reject_percent, err, errlen) < 0 ||
	    env_int("AUTHZREUSE", 0, 100, &c->authz_reuse_percent, err, errlen) < 0 ||
	    env_int("MAX_ORDERS", 0, 100000000, &c->max_orders, err, errlen) < 0 ||
	    env_int("CHAIN_LENGTH", 1, 10, &c->ca.chain_length, err, errlen) < 0 ||
	    env_int("ALTERNATE_ROOTS", 0, 10, &c->ca.alternate_roots, err, errlen) < 0)
		return -1;
	if (nosleep)
		c->va_sleep_max = 0;
	return 0;
}

/* ---- validation ---- */

static bool valid_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return false;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	return *end == '\0' && colon[1] != '\0' && port >= 0 && port <= 65535;
}

/* "1.2.3.4:53", "[::1]:53" or a bare address (port 53). */
static bool valid_ip_port(const char *s)
{
	char host[64];
	unsigned char buf[16];
	const char *end;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof host)
			return false;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		end++;
		if (*end == '\0')
			return inet_pton(AF_INET6, host, buf) == 1;
		return *end == ':' && valid_hostport(s) && inet_pton(AF_INET6, host, buf) == 1;
	}
	if (inet_pton(AF_INET6, s, buf) == 1 || inet_pton(AF_INET, s, buf) == 1)
		return true;
	end = strrchr(s, ':');
	if (!end || (size_t)(end - s) >= sizeof host)
		return false;
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = '\0';
	return valid_hostport(s) && inet_pton(AF_INET, host, buf) == 1;
}

/* An IP address, or a host name of letters, digits, '-' and '.' (a compose service name). */
static bool valid_tls_name(const char *s)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return true;
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || strstr(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

static bool canonical_issuer(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return strstr(s, "..") == NULL;
}

/* An absolute https URI with a host and none of the characters a CAA/dns-persist parameter value
 * cannot carry (draft -02 §3.2: accountHashPrefix goes into a record's accounturi). */
static bool valid_hash_prefix(const char *s)
{
	if (!util_has_prefix(s, "https://") || !s[8] || s[8] == '/')
		return false;
	for (const char *p = s; *p; p++)
		if (*p == ';' || *p == '=' || (unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* spec §3, §4a and §5: draft -02 URLs, failed-validation limits, CAA identities. */
static int validate_persist(const struct config *c, char *err, size_t errlen)
{
	if (c->account_hash_prefix[0] && !valid_hash_prefix(c->account_hash_prefix))
		return fail(err, errlen,
		            "dnsPersist.accountHashPrefix \"%s\": expected an absolute https URI prefix with a host "
		            "and no \";\", \"=\" or white space (draft -02 §3.2), e.g. "
		            "\"https://ca.internal:14000/acme/account-hash/\"",
		            c->account_hash_prefix);
	if (c->fail_limit_window < 1 || c->fail_limit_window > 30 * 86400)
		return fail(err, errlen, "dnsPersist.failedValidationLimits.windowSeconds: expected 1 to %d",
		            30 * 86400);
	for (size_t i = 0; i < c->ncaa_identities; i++)
		if (!canonical_issuer(c->caa_identities[i]))
			return fail(err, errlen,
			            "caaIdentities: \"%s\" is not a lowercase A-label domain name without a trailing dot",
			            c->caa_identities[i]);
	/* draft -02 §3.1-3.2: every issuer domain name a challenge carries is one of the CA's CAA
	 * identities (the directory's issuerDomainNames are the same list, so they all appear) */
	for (size_t i = 0; c->ncaa_identities && i < c->nissuer_names; i++) {
		bool found = false;
		for (size_t k = 0; k < c->ncaa_identities; k++)
			found |= strcmp(c->issuer_names[i], c->caa_identities[k]) == 0;
		if (!found)
			return fail(err, errlen,
			            "caaIdentities: lacks \"%s\" from dnsPersist.issuerDomainNames; every issuer domain "
			            "name must also be a CAA identity (draft -02 §3.1-3.2): add it to caaIdentities or "
			            "remove it from issuerDomainNames",
			            c->issuer_names[i]);
	}
	return 0;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	if (!valid_hostport(c->listen_address))
		return fail(err, errlen, "listenAddress \"%s\": expected HOST:PORT", c->listen_address);
	if (!valid_hostport(c->management_address))
		return fail(err, errlen, "managementListenAddress \"%s\": expected HOST:PORT",
		            c->management_address);
	if (!!c->certificate[0] != !!c->private_key[0])
		return fail(err, errlen, "certificate and privateKey: give both or neither");
	if (c->crl_listen_address[0] && !valid_hostport(c->crl_listen_address))
		return fail(err, errlen, "crlListenAddress \"%s\": expected HOST:PORT", c->crl_listen_address);
	if (c->crl_cdp && !c->crl_listen_address[0])
		return fail(err, errlen, "crlDistributionPoints is true but crlListenAddress is empty: the URL "
		            "in the certificates must be plain http (RFC 5280 §4.2.1.13); set crlListenAddress");
	if (c->eab_required && c->neab_keys == 0)
		return fail(err, errlen,
		            "externalAccountBindingRequired is true but externalAccountMACKeys is empty: "
		            "no client could create an account; add {\"key id\": \"base64url MAC key\"}");
	if (c->http_port < 1 || c->http_port > 65535 || c->tls_port < 1 || c->tls_port > 65535)
		return fail(err, errlen, "httpPort/tlsPort: expected a port from 1 to 65535");
	if (c->order_lifetime < 1 || c->authz_lifetime < 1 || c->pending_authz_lifetime < 1)
		return fail(err, errlen, "orderLifetime, authzLifetime, pendingAuthzLifetime: expected seconds >= 1");
	if (c->retry_after_authz < 0 || c->retry_after_order < 0)
		return fail(err, errlen, "retryAfter: seconds must not be negative");
	if (c->ca.validity_days < 1 || c->ca.validity_days > 3650)
		return fail(err, errlen, "certificateValidityDays: expected 1 to 3650");
	if (c->ca.chain_length < 1 || c->ca.chain_length > 10)
		return fail(err, errlen, "chainLength: expected 1 to 10");
	if (c->ca.alternate_roots < 0 || c->ca.alternate_roots > 10)
		return fail(err, errlen, "alternateRoots: expected 0 to 10");
	if (c->nchallenges == 0)
		return fail(err, errlen, "challenges: enable at least one challenge type");
	for (size_t i = 0; i < c->nchallenges; i++) {
		if (challenge_find_config(c->challenges[i]))
			continue;
		char known[256] = "";
		for (const struct challenge_type *t = challenge_types; t->name; t++)
			snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", known[0] ? ", " : "",
			         t->config_name);
		return fail(err, errlen, "challenges: unknown type \"%s\" (known: %s)", c->challenges[i], known);
	}
	if (c->nissuer_names < 1 || c->nissuer_names > 10)
		return fail(err, errlen, "dnsPersist.issuerDomainNames: expected 1 to 10 names");
	for (size_t i = 0; i < c->nissuer_names; i++)
		if (!canonical_issuer(c->issuer_names[i]))
			return fail(err, errlen,
			            "dnsPersist.issuerDomainNames: \"%s\" is not a lowercase A-label domain "
			            "name without a trailing dot",
			            c->issuer_names[i]);
	if (c->persist_reuse_days < 0 || c->persist_reuse_days > 10)
		return fail(err, errlen,
		            "dnsPersist.reuseMaxDays: expected 0 to 10 (the Baseline Requirements cap "
		            "reuse at 10 days)");
	for (size_t i = 0; i < c->nresolvers; i++)
		if (!valid_ip_port(c->resolvers[i]))
			return fail(err, errlen,
			            "dns.resolvers: \"%s\" is not IP:PORT (an address, not a name: cobble asks "
			            "no other resolver to find its resolver; IPv6 as [::1]:53)",
			            c->resolvers[i]);
	for (size_t i = 0; i < c->ntls_names; i++)
		if (!valid_tls_name(c->tls_names[i]))
			return fail(err, errlen, "tlsNames: \"%s\" is not a host name or IP address",
			            c->tls_names[i]);
	if (strcmp(c->dnssec, "off") != 0 && strcmp(c->dnssec, "validate") != 0 &&
	    strcmp(c->dnssec, "require") != 0)
		return fail(err, errlen, "dns.dnssec: expected \"off\", \"validate\" or \"require\"");
	if (strcmp(c->dnssec, "off") != 0 && !c->trust_anchor[0])
		return fail(err, errlen, "dns.trustAnchor: a trust anchor file is required when dns.dnssec "
		            "is not \"off\" (cobble never downloads one)");
	if (c->dns_timeout_ms < 100 || c->dns_timeout_ms > 60000)
		return fail(err, errlen, "dns.timeoutMs: expected 100 to 60000");
	if (c->max_orders < 0)
		return fail(err, errlen, "maxOrders: expected 0 (no cap) or the number of orders to keep");
	const int lmax = c->listeners.max_connections;
	if (lmax < 1 || lmax > 100000)
		return fail(err, errlen, "listeners.maxConnections: expected 1 to 100000");
	if (c->listeners.per_address < 1 || c->listeners.per_address > lmax)
		return fail(err, errlen, "listeners.perAddress: expected 1 to listeners.maxConnections (%d)", lmax);
	if (c->listeners.reserve < 0 || c->listeners.reserve >= lmax)
		return fail(err, errlen, "listeners.reserve: expected 0 to listeners.maxConnections - 1 (%d)", lmax - 1);
	if (c->listeners.reserve_holding < 1)
		return fail(err, errlen, "listeners.reserveHolding: expected 1 or more connections");
	if (c->listeners.request_seconds < 1 || c->listeners.request_seconds > 3600)
		return fail(err, errlen, "listeners.requestSeconds: expected 1 to 3600");
	if (c->listeners.handshake_seconds < 1 || c->listeners.handshake_seconds > 3600)
		return fail(err, errlen, "listeners.handshakeSeconds: expected 1 to 3600");
	if (c->va_workers < 1 || c->va_workers > 256)
		return fail(err, errlen, "vaWorkers: expected 1 to 256");
	if (strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "json") != 0)
		return fail(err, errlen, "logFormat: expected \"text\" or \"json\"");
	if (strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") && strcmp(c->log_level, "warn") &&
	    strcmp(c->log_level, "error"))
		return fail(err, errlen, "logLevel: expected debug, info, warn or error");
	if (c->base_url[0] && !util_has_prefix(c->base_url, "https://"))
		return fail(err, errlen, "baseURL: must start with https://");
	return validate_persist(c, err, errlen);
}
