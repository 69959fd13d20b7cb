/* cmd_record: `cobble record` prints the exact TXT record a user must publish for an account and
 * a name, with the zone-file line and the knotc and nsupdate commands that add it: dns-persist-01
 * (spec/dns-persist-01.md §1 and §3) or dns-account-01 (draft-ietf-acme-dns-account-label-03). */
#include "common/persist.h"
#include "common/util.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/jwk.h"
#include "server/va_classic.h"

#include <errno.h>
#include <jansson.h>
#include <libpsl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: cobble record --identifier NAME --account-url URL [--wildcard]\n"
	      "                     [--persist-until UNIX|RFC3339] [--issuer NAME] [--config FILE]\n"
	      "                     [--draft 01|02 --account-key FILE [--hash-prefix URL] [--any-domain]]\n"
	      "                     [--ttl SECONDS] [--zone ZONE]\n"
	      "       cobble record --challenge dns-account-01 --identifier NAME --account-url URL\n"
	      "                     [--token TOKEN (--thumbprint TP | --account-key FILE)]\n"
	      "                     [--ttl SECONDS] [--zone ZONE]\n"
	      "Prints the TXT record that authorizes the account to get certificates for NAME by\n"
	      "dns-persist-01 (the default --challenge), in zone-file form, and the knotc and nsupdate\n"
	      "commands that add it.\n"
	      "--account-key: the account's key (PEM, public or private, or a JWK file), for draft 02's\n"
	      "hashed account URI and for dns-account-01's key authorization. --issuer defaults to the\n"
	      "first dnsPersist.issuerDomainNames of the config (cobble.test without one).\n"
	      "dns-account-01: the owner name _<label>._acme-challenge.NAME comes from the account URL\n"
	      "alone (the Location of newAccount, the kid of every request); the value from the\n"
	      "challenge's token and the account key's thumbprint. Without --token only the owner name\n"
	      "is printed.\n",
	      f);
}

static int fail_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "cobble record: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	usage(stderr);
	return 2;
}

/* The thumbprint of the key in a PEM (public or private) or JWK file. */
static int key_thumbprint(const char *path, char tp[JWK_THUMBPRINT_LEN + 1], char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!key) {
		rewind(f);
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	if (!key) {
		rewind(f);
		json_t *j = json_loadf(f, 0, NULL);
		struct problem p;
		json_t *pub = j ? json_deep_copy(j) : NULL;
		/* a private JWK is fine here: keep the public members only */
		static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};
		for (size_t i = 0; pub && i < sizeof priv / sizeof priv[0]; i++)
			json_object_del(pub, priv[i]);
		key = pub ? jwk_import(pub, &p) : NULL;
		json_decref(pub);
		json_decref(j);
	}
	fclose(f);
	if (!key) {
		snprintf(err, errlen, "%s: not a PEM key or a JWK", path);
		return -1;
	}
	int rc = jwk_thumbprint(key, tp);
	EVP_PKEY_free(key);
	if (rc < 0)
		snprintf(err, errlen, "%s: unsupported key type", path);
	return rc;
}

/* "https://host:port/acme/acct/ID" → "https://host:port/acme/account-hash/" (cobble's default). */
static char *default_hash_prefix(const char *account_url)
{
	const char *p = strstr(account_url, "/acme/acct/");
	if (!p)
		return NULL;
	return xasprintf("%.*s/acme/account-hash/", (int)(p - account_url), account_url);
}

/* s in single quotes for a POSIX shell ('  →  '\'' ). New string. */
static char *shell_quote(const char *s)
{
	size_t n = 2;
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *out = xmalloc(n + 1), *o = out;
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* The zone to edit when --zone is not given: the registrable domain (libpsl), which is what most
 * users own. New string. */
static char *default_zone(const char *fqdn)
{
	psl_ctx_t *psl = psl_latest(NULL);
	const char *reg = psl ? psl_registrable_domain(psl, fqdn) : NULL;
	char *zone = xstrdup(reg ? reg : fqdn);
	psl_free(psl);
	return zone;
}

/* The record at owner name `name` holding rdata (one string, split into <=255-octet strings for
 * the zone file): owner and value, the zone-file line, the knotc and nsupdate commands. */
static void print_record(const char *name, const char *rdata, long ttl, const char *zone)
{
	char *txt = persist_zone_txt((const unsigned char *)rdata, strlen(rdata));
	printf("  owner: %s.\n  value: %s\n\n", name, rdata);
	printf("Zone file:\n  %s. %ld IN TXT %s\n\n", name, ttl, txt);
	/* the TXT data is zone-file syntax ("..." strings): single-quote it for the shell, or the
	 * shell eats the double quotes and knotc reads everything after ';' as a comment */
	char *shq = shell_quote(txt);
	printf("Knot DNS:\n  knotc zone-begin %s && knotc zone-set %s %s. %ld TXT %s && knotc zone-commit %s\n\n",
	       zone, zone, name, ttl, shq, zone);
	free(shq);
	printf("nsupdate (dynamic update):\nnsupdate -k KEYFILE <<'EOF'\nupdate add %s. %ld TXT %s\nsend\nEOF\n",
	       name, ttl, txt);
	free(txt);
}

/* dns-account-01 (draft-ietf-acme-dns-account-label-03 §3.2): the owner name from the account
 * URL; the value, dns-01's digest of the key authorization, when a token is given. fqdn has no
 * "*." (a wildcard is validated at its base name). */
static int record_dns_account01(const char *fqdn, bool wildcard, const char *account_url, const char *token,
                                const char *thumbprint, const char *key_file, long ttl, const char *zone)
{
	char tp[JWK_THUMBPRINT_LEN + 1], err[1024], label[VA_DNS_ACCOUNT01_LABEL_LEN + 1];
	char *name = va_dns_account01_name(account_url, fqdn), *zone_owned = NULL, *key_authz = NULL;
	int rc = 2;
	va_dns_account01_label(account_url, label);
	if (token && !thumbprint && !key_file) {
		fail_usage("--token needs the account key's --thumbprint or --account-key", NULL);
		goto out;
	}
	if (token && (!*token || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
	                                strlen(token))) {
		fail_usage("--token is the challenge's token, base64url characters only", token);
		goto out;
	}
	if (thumbprint && strlen(thumbprint) != JWK_THUMBPRINT_LEN) {
		fail_usage("--thumbprint is the RFC 7638 thumbprint, 43 base64url characters", thumbprint);
		goto out;
	}
	if (key_file && !thumbprint) {
		if (key_thumbprint(key_file, tp, err, sizeof err) < 0) {
			fprintf(stderr, "cobble record: %s\n", err);
			goto out;
		}
		thumbprint = tp;
	}
	if (!zone)
		zone = zone_owned = default_zone(fqdn);
	printf("dns-account-01 for %s%s by the account %s:\n", wildcard ? "*." : "", fqdn, account_url);
	printf("the label _%s is the lowercase base32 of the first 10 bytes of SHA-256 of that URL.\n\n", label);
	if (!token) {
		printf("  owner: %s.\n\nThe value changes with every challenge: give --token (and --thumbprint or\n"
		       "--account-key) to print it. The owner name never changes for this account, so it can be\n"
		       "delegated once with a CNAME.\n",
		       name);
		rc = 0;
		goto out;
	}
	/* RFC 8555 §8.1 key authorization; §8.4 (and -03 §3.2) its digest is the value */
	char value[44];
	key_authz = xasprintf("%s.%s", token, thumbprint);
	va_keyauthz_digest(key_authz, NULL, value);
	printf("Publish this TXT record:\n\n");
	print_record(name, value, ttl, zone);
	rc = 0;
out:
	free(name);
	free(zone_owned);
	free(key_authz);
	return rc;
}

static int parse_when(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!errno && *s && !*end) {
		*out = v;
		return 0;
	}
	time_t t;
	if (util_time_parse(s, &t) == 0 && t > 0) {
		*out = (uint64_t)t;
		return 0;
	}
	return -1;
}

int cmd_record(int argc, char **argv)
{
	const char *ident = NULL, *account_url = NULL, *issuer = NULL, *config_file = NULL;
	const char *key_file = NULL, *hash_prefix = NULL, *draft_s = NULL, *zone = NULL;
	const char *challenge = "dns-persist-01", *token = NULL, *thumbprint = NULL;
	bool wildcard = false, any_domain = false;
	uint64_t persist_until = 0;
	long ttl = 300;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (strcmp(a, "--wildcard") == 0) {
			wildcard = true;
			continue;
		}
		if (strcmp(a, "--any-domain") == 0) {
			any_domain = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc)
			return fail_usage("missing value for", a);
		const char *v = argv[++i];
		if (strcmp(a, "--identifier") == 0)
			dst = &ident;
		else if (strcmp(a, "--account-url") == 0)
			dst = &account_url;
		else if (strcmp(a, "--issuer") == 0)
			dst = &issuer;
		else if (strcmp(a, "--config") == 0)
			dst = &config_file;
		else if (strcmp(a, "--account-key") == 0)
			dst = &key_file;
		else if (strcmp(a, "--hash-prefix") == 0)
			dst = &hash_prefix;
		else if (strcmp(a, "--draft") == 0)
			dst = &draft_s;
		else if (strcmp(a, "--zone") == 0)
			dst = &zone;
		else if (strcmp(a, "--challenge") == 0)
			dst = &challenge;
		else if (strcmp(a, "--token") == 0)
			dst = &token;
		else if (strcmp(a, "--thumbprint") == 0)
			dst = &thumbprint;
		else if (strcmp(a, "--persist-until") == 0) {
			if (parse_when(v, &persist_until) < 0)
				return fail_usage("--persist-until takes UNIX seconds or an RFC 3339 time", v);
			continue;
		} else if (strcmp(a, "--ttl") == 0) {
			char *end;
			ttl = strtol(v, &end, 10);
			if (*end || ttl < 0 || ttl > 2147483647)
				return fail_usage("--ttl takes seconds", v);
			continue;
		} else
			return fail_usage("unknown option", a);
		*dst = v;
	}
	if (!ident || !account_url)
		return fail_usage("--identifier and --account-url are required", NULL);
	bool account01 = strcmp(challenge, "dns-account-01") == 0;
	if (!account01 && strcmp(challenge, "dns-persist-01") != 0)
		return fail_usage("--challenge takes dns-persist-01 or dns-account-01", challenge);
	if (!account01 && (token || thumbprint))
		return fail_usage("--token and --thumbprint are for --challenge dns-account-01", NULL);

	struct config cfg;
	char err[1024];
	config_defaults(&cfg);
	if (config_file && config_load(&cfg, config_file, err, sizeof err) < 0) {
		fprintf(stderr, "cobble record: %s\n", err);
		config_clear(&cfg);
		return 2;
	}
	enum persist_draft draft = cfg.persist_draft;
	if (draft_s && strcmp(draft_s, "01") == 0)
		draft = PERSIST_DRAFT_01;
	else if (draft_s && strcmp(draft_s, "02") == 0)
		draft = PERSIST_DRAFT_02;
	else if (draft_s) {
		config_clear(&cfg);
		return fail_usage("--draft takes 01 or 02", draft_s);
	}

	int rc = 2;
	char *name = NULL, *accounturi = NULL, *rdata = NULL, *prefix_owned = NULL;
	char *zone_owned = NULL, *issuer_norm = NULL;
	/* §1: the owner name drops a leading "*."; a wildcard needs policy=wildcard */
	char *fqdn = util_lower(xstrdup(ident));
	if (util_has_prefix(fqdn, "*.")) {
		memmove(fqdn, fqdn + 2, strlen(fqdn + 2) + 1);
		wildcard = true;
	}
	size_t n = strlen(fqdn);
	if (n && fqdn[n - 1] == '.')
		fqdn[n - 1] = '\0';
	if (!*fqdn || strchr(fqdn, '*')) {
		fail_usage("not a DNS name", ident);
		goto out;
	}
	if (account01) {
		rc = record_dns_account01(fqdn, wildcard, account_url, token, thumbprint, key_file, ttl, zone);
		goto out;
	}
	const char *iss = issuer ? issuer : cfg.issuer_names[0];
	issuer_norm = persist_normalize_issuer(iss, strlen(iss), false);
	if (!issuer_norm) {
		fail_usage("not a valid issuer domain name", iss);
		goto out;
	}
	name = xasprintf("_validation-persist.%s", fqdn);
	if (draft == PERSIST_DRAFT_02) {
		char tp[JWK_THUMBPRINT_LEN + 1];
		if (!key_file) {
			fail_usage("draft 02 needs --account-key (the account's key) for the hashed account URI", NULL);
			goto out;
		}
		if (key_thumbprint(key_file, tp, err, sizeof err) < 0) {
			fprintf(stderr, "cobble record: %s\n", err);
			goto out;
		}
		const char *prefix = hash_prefix ? hash_prefix
		                     : cfg.account_hash_prefix[0] ? cfg.account_hash_prefix
		                     : (prefix_owned = default_hash_prefix(account_url));
		if (!prefix) {
			fail_usage("give --hash-prefix (the directory's meta.accountHashPrefix)", NULL);
			goto out;
		}
		accounturi = persist_hash_uri(prefix, any_domain ? "*" : fqdn, tp, account_url);
	} else {
		accounturi = xstrdup(account_url);
	}
	rdata = persist_record_text(issuer_norm, accounturi, wildcard, persist_until);
	if (!zone)
		zone = zone_owned = default_zone(fqdn);
	printf("Publish this TXT record for %s%s:\n\n", wildcard ? "*." : "", fqdn);
	print_record(name, rdata, ttl, zone);
	if (draft == PERSIST_DRAFT_01 && ttl > 0)
		printf("\nUnder draft 01 cobble reuses the validation for at most the record's TTL (%ld s) and "
		       "never over 10 days.\n",
		       ttl);
	rc = 0;
out:
	free(fqdn);
	free(name);
	free(accounturi);
	free(rdata);
	free(prefix_owned);
	free(zone_owned);
	free(issuer_norm);
	config_clear(&cfg);
	return rc;
}
