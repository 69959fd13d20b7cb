/* config: every default in config_defaults(), the JSON file (Pebble's key names where Pebble has
 * one), the COBBLE_/PEBBLE_ environment knobs, and validation with messages naming the key. */
#ifndef COBBLE_CONFIG_H
#define COBBLE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/persist.h"
#include "server/ca.h"

#define CONFIG_MAX_LIST 16

/* An external account binding MAC key (RFC 8555 §7.3.4), from "externalAccountMACKeys". */
struct eab_key {
	char *kid;            /* key identifier, 1 to CONFIG_EAB_KID_MAX octets */
	unsigned char *key;   /* the decoded MAC key, CONFIG_EAB_KEY_MIN octets or more */
	size_t keylen;
};

#define CONFIG_EAB_KID_MAX 127 /* fits struct account's eab_kid */
#define CONFIG_EAB_KEY_MIN 32  /* RFC 7518 §3.2: an HS256 key is at least as long as the hash */

struct profile {
	char name[64];
	char description[256];
	long validity_seconds;
};

struct config {
	/* listeners */
	char listen_address[128];       /* "127.0.0.1:14000" */
	char management_address[128];   /* "127.0.0.1:15000" */
	char certificate[512];          /* TLS cert file; "" = made at start-up */
	char private_key[512];
	char ca_bundle_out[512];        /* where the made-up TLS root is written */
	char base_url[256];             /* fixes every URL handed out; "" = from Host */
	char *tls_names[CONFIG_MAX_LIST]; /* extra names/IPs on the made-up TLS certificate */
	size_t ntls_names;
	/* Pebble's keys */
	int http_port, tls_port;
	char ocsp_responder_url[256];
	char crl_listen_address[128];   /* plain-HTTP CRL listener "HOST:PORT"; "" = none */
	bool crl_cdp;                   /* leaves name that listener's /crl/0 (CRL Distribution Points) */
	bool eab_required;
	struct eab_key *eab_keys;       /* owned; config_clear wipes and frees them */
	size_t neab_keys;
	char *domain_blocklist[CONFIG_MAX_LIST];
	size_t ndomain_blocklist;
	int retry_after_authz, retry_after_order;
	int order_lifetime, authz_lifetime, pending_authz_lifetime; /* seconds (RFC 8555 "expires") */
	/* rateLimits, in config_rate_limit_names' order (server/faults.c applies them): count 0 = off */
	int rate_limit_count[3], rate_limit_window[3];
	struct profile profiles[CONFIG_MAX_LIST];
	size_t nprofiles;
	char terms_of_service[256];
	/* CA */
	struct ca_options ca;
	/* challenges offered */
	char *challenges[8];
	size_t nchallenges;
	/* dns-persist-01 (spec §3-5) */
	enum persist_draft persist_draft;
	char *issuer_names[10];
	size_t nissuer_names;
	bool persist_jit, persist_subdomains, persist_strict, persist_reuse;
	int persist_reuse_days;         /* <= 10 */
	char account_hash_prefix[256];  /* -02; "" = <base>/acme/account-hash/ */
	/* spec §4a: failed dns-persist-01 validations in a sliding window; 0 turns a limit off */
	int fail_limit_identifier, fail_limit_account, fail_limit_window;
	/* CAA (RFC 8659, RFC 8657; spec §5) */
	bool caa;                       /* check CAA after every method's own check */
	char *caa_identities[10];       /* none configured = the issuer domain names */
	size_t ncaa_identities;
	/* DNS */
	char *resolvers[CONFIG_MAX_LIST];
	size_t nresolvers;
	char dnssec[16];                /* off, validate, require */
	char trust_anchor[512];
	int dns_timeout_ms;
	/* listeners (README "Reliability"): the guard's limits and the front end's handshake deadline */
	struct {
		int max_connections, per_address, reserve, reserve_holding;
		int request_seconds, handshake_seconds;
	} listeners;
	/* VA and knobs (Pebble's environment variables) */
	int va_workers, va_queue;
	int max_orders;       /* maxOrders: the store's cap on orders (0: none); oldest finished go first */
	bool va_always_valid;
	int va_sleep_max;               /* seconds of random sleep before a validation; 0 = none */
	int nonce_reject_percent;
	int authz_reuse_percent;
	bool strict;
	/* logging */
	char log_level[16];
	char log_format[16];            /* text or json */
};

/* Fill c with every default (the embedded default configuration). */
void config_defaults(struct config *c);
/* Read a JSON config file over the defaults. Accepts the keys at top level or inside a "cobble"
 * or "pebble" object (so Pebble's files load). Unknown keys are errors. Returns 0, or -1 with a
 * message naming the file and key in err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
/* The keys of rateLimits: newOrdersPerAccount, newAccountsPerIP, duplicateCertificates. */
extern const char *const config_rate_limit_names[3];

/* Apply COBBLE_* (and PEBBLE_*) environment variables. Returns 0 or -1 with err. */
int config_env(struct config *c, char *err, size_t errlen);
/* Check the whole configuration. Returns 0 or -1 with err naming the key. */
int config_validate(const struct config *c, char *err, size_t errlen);
void config_clear(struct config *c);
bool config_challenge_enabled(const struct config *c, const char *type);
/* The base of every URL cobble hands out when the request plays no part (spec §3): baseURL
 * without a trailing '/', else under draft 02 https://localhost:<ACME port>. Returns false under
 * 01 without baseURL, where URLs follow the request's Host header as Pebble's do. */
bool config_fixed_base(const struct config *c, char *out, size_t outlen);
/* The CA's CAA identities (borrowed from c): caaIdentities, else the issuer domain names. */
const char *const *config_caa_identities(const struct config *c, size_t *n);
/* The MAC key configured for kid (borrowed from c), or NULL. */
const struct eab_key *config_eab_key(const struct config *c, const char *kid);

#endif
