/* jws: RFC 8555 §6.2 flattened JWS parsing and verification (and the HMAC of an external account
 * binding, §7.3.4); the keys are server/jwk.c's. */
#include "server/jws.h"
#include "server/jwk.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/util.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#define SUPPORTED_ALGS "RS256, ES256, ES384, ES512, EdDSA"

/* RFC 7518 §3.1 names, with the key each one needs. */
static const struct alg_info {
	const char *alg;
	enum jwk_kind kind;
	const char *md;   /* digest name; NULL for EdDSA, which hashes internally */
	size_t coord;     /* ECDSA coordinate octets (RFC 7518 §3.4); 0 otherwise */
	const char *desc; /* the key, as a person names it */
} algs[] = {
    {"RS256", JWK_RSA, "SHA256", 0, "RSA"},     {"ES256", JWK_P256, "SHA256", 32, "P-256"},
    {"ES384", JWK_P384, "SHA384", 48, "P-384"}, {"ES512", JWK_P521, "SHA512", 66, "P-521"},
    {"EdDSA", JWK_ED25519, NULL, 0, "Ed25519"},
};

/* RFC 7518 §3.2: HMAC with SHA-2, only for an external account binding (RFC 8555 §7.3.4). */
static const struct mac_info {
	const char *alg;
	const char *md;
	size_t len; /* hash output octets, also the least key length */
} macs[] = {{"HS256", "SHA256", 32}, {"HS384", "SHA384", 48}, {"HS512", "SHA512", 64}};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct alg_info *alg_by_name(const char *name)
{
	for (size_t i = 0; i < NELEM(algs); i++)
		if (strcmp(algs[i].alg, name) == 0)
			return &algs[i];
	return NULL;
}

static const struct mac_info *mac_by_name(const char *name)
{
	for (size_t i = 0; i < NELEM(macs); i++)
		if (strcmp(macs[i].alg, name) == 0)
			return &macs[i];
	return NULL;
}

static const struct alg_info *alg_by_kind(enum jwk_kind kind)
{
	for (size_t i = 0; i < NELEM(algs); i++)
		if (algs[i].kind == kind)
			return &algs[i];
	return NULL;
}

void jws_clear(struct jws *j)
{
	if (!j)
		return;
	free(j->nonce);
	free(j->url);
	free(j->kid);
	EVP_PKEY_free(j->jwk);
	json_decref(j->protected_hdr);
	free(j->payload);
	free(j->signing_input);
	free(j->sig);
	memset(j, 0, sizeof *j);
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	default: return "an object";
	}
}

/* RFC 8555 §6.2: "alg" is a supported asymmetric algorithm; never "none", never a MAC.
 * §7.3.4: with JWS_MAC, the other way round: a MAC algorithm and nothing else. */
static int check_alg(const json_t *hdr, unsigned flags, struct jws *out, struct problem *p)
{
	char b[48];
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	if (flags & JWS_MAC) {
		const struct mac_info *mi = alg ? mac_by_name(alg) : NULL;
		if (mi) {
			snprintf(out->alg, sizeof out->alg, "%s", mi->alg);
			return 0;
		}
		return problem_set(p, PROB_MALFORMED, 400,
		                   "alg %s%s%s is not a MAC algorithm: an external account binding is MAC'd with the "
		                   "key the CA gave you, alg HS256 (or HS384, HS512) (RFC 8555 §7.3.4)",
		                   alg ? "\"" : "", alg ? jwk_shown(alg, b) : "(missing)", alg ? "\"" : "");
	}
	if (!alg)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS protected header has no \"alg\" string; set it to one of " SUPPORTED_ALGS
		                   " (RFC 8555 §6.2)");
	const struct alg_info *ai = alg_by_name(alg);
	if (ai) {
		snprintf(out->alg, sizeof out->alg, "%s", ai->alg);
		return 0;
	}
	if (strcmp(alg, "none") == 0)
		return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
		                   "alg \"none\" is not allowed: ACME requests must be signed with the account key "
		                   "(RFC 8555 §6.2); use one of " SUPPORTED_ALGS);
	if (util_has_prefix(alg, "HS"))
		return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
		                   "alg \"%s\" is a MAC algorithm, which ACME forbids (RFC 8555 §6.2); sign with the "
		                   "account key using one of " SUPPORTED_ALGS,
		                   jwk_shown(alg, b));
	return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
	                   "alg \"%s\" is not supported; use one of " SUPPORTED_ALGS, jwk_shown(alg, b));
}

/* RFC 8555 §6.2: exactly one of "jwk" and "kid"; "url" always; "nonce" a string when present.
 * §7.3.4: with JWS_MAC, "kid" is the CA's key id and there is no "jwk". */
static int check_header(const json_t *hdr, unsigned flags, struct jws *out, struct problem *p)
{
	json_t *jwk = json_object_get(hdr, "jwk"), *kid = json_object_get(hdr, "kid");
	json_t *url = json_object_get(hdr, "url"), *nonce = json_object_get(hdr, "nonce");
	if ((flags & JWS_MAC) && jwk)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "the protected header has \"jwk\", but an external account binding names its MAC key "
		                   "with \"kid\" only; the account key is its payload (RFC 8555 §7.3.4)");
	if ((flags & JWS_MAC) && (!json_is_string(kid) || json_string_length(kid) == 0))
		return problem_set(p, PROB_MALFORMED, 400,
		                   "the protected header has %s \"kid\"; an external account binding's \"kid\" is the key "
		                   "identifier the CA gave you with the MAC key (RFC 8555 §7.3.4)",
		                   kid ? "an empty or non-string" : "no");
	if (jwk && kid)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS protected header has both \"jwk\" and \"kid\"; send exactly one: \"jwk\" for "
		                   "newAccount (and revokeCert signed by the certificate key), \"kid\" (the account URL) "
		                   "for every other request (RFC 8555 §6.2)");
	if (!jwk && !kid)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS protected header has neither \"jwk\" nor \"kid\"; send exactly one: \"jwk\" for "
		                   "newAccount (and revokeCert signed by the certificate key), \"kid\" (the account URL) "
		                   "for every other request (RFC 8555 §6.2)");
	if (kid && !json_is_string(kid))
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS \"kid\" must be a string: the account URL from the newAccount response's Location "
		                   "header (RFC 8555 §6.2)");
	if (!json_is_string(url))
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS protected header has %s \"url\"; set it to the exact URL this request is sent to "
		                   "(RFC 8555 §6.4)",
		                   url ? "a non-string" : "no");
	if (nonce && !json_is_string(nonce))
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS \"nonce\" must be a string: the value of the latest Replay-Nonce header "
		                   "(RFC 8555 §6.5)");
	/* RFC 7515 §4.1.11: an extension we do not understand makes the JWS invalid. */
	if (json_object_get(hdr, "crit"))
		return problem_set(p, PROB_MALFORMED, 400,
		                   "JWS protected header has \"crit\", but cobble understands no JWS extensions "
		                   "(RFC 7515 §4.1.11); remove it");
	if (jwk && !(out->jwk = jwk_import(jwk, p)))
		return -1;
	out->jwk_json = jwk;
	out->kid = xstrdup(json_string_value(kid));
	out->url = xstrdup(json_string_value(url));
	out->nonce = xstrdup(json_string_value(nonce));
	return 0;
}

int jws_parse(const char *body, size_t len, struct jws *out, struct problem *p)
{
	return jws_parse_ex(body, len, 0, out, p);
}

int jws_parse_ex(const char *body, size_t len, unsigned flags, struct jws *out, struct problem *p)
{
	json_t *root = NULL;
	unsigned char *prot = NULL;
	size_t prot_len = 0;
	json_error_t err;
	const char *key;
	json_t *v;
	char b[48];
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!body || !(root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err))) {
		problem_set(p, PROB_MALFORMED, 400,
		            "request body is not JSON (%s, line %d column %d); send a flattened JWS "
		            "{\"protected\", \"payload\", \"signature\"} (RFC 8555 §6.2)",
		            body ? err.text : "empty", body ? err.line : 0, body ? err.column : 0);
		goto out;
	}
	if (!json_is_object(root)) {
		problem_set(p, PROB_MALFORMED, 400,
		            "request body is %s; it must be a flattened JWS object with exactly \"protected\", "
		            "\"payload\" and \"signature\" (RFC 8555 §6.2)",
		            json_kind(root));
		goto out;
	}
	/* RFC 8555 §6.2: flattened serialization only, and no unprotected header. */
	json_object_foreach(root, key, v) {
		if (strcmp(key, "protected") == 0 || strcmp(key, "payload") == 0 || strcmp(key, "signature") == 0)
			continue;
		if (strcmp(key, "header") == 0)
			problem_set(p, PROB_MALFORMED, 400,
			            "JWS has an unprotected \"header\" member, which RFC 8555 §6.2 forbids; move every "
			            "header parameter into \"protected\"");
		else if (strcmp(key, "signatures") == 0)
			problem_set(p, PROB_MALFORMED, 400,
			            "JWS uses the general serialization (\"signatures\"); ACME accepts only the flattened "
			            "form with exactly \"protected\", \"payload\" and \"signature\" (RFC 8555 §6.2)");
		else
			problem_set(p, PROB_MALFORMED, 400,
			            "JWS has the unexpected member \"%s\"; a flattened JWS has exactly \"protected\", "
			            "\"payload\" and \"signature\" (RFC 8555 §6.2)",
			            jwk_shown(key, b));
		goto out;
	}
	if (jwk_b64_member(root, "protected", "JWS member", &prot, &prot_len, p) != 0 ||
	    jwk_b64_member(root, "payload", "JWS member", &out->payload, &out->payload_len, p) != 0 ||
	    jwk_b64_member(root, "signature", "JWS member", &out->sig, &out->sig_len, p) != 0)
		goto out;
	out->protected_hdr = json_loadb((const char *)prot, prot_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!out->protected_hdr) {
		problem_set(p, PROB_MALFORMED, 400,
		            "JWS protected header is not JSON (%s); it must be the base64url of a JSON object "
		            "(RFC 7515 §7.2.1)",
		            err.text);
		goto out;
	}
	if (!json_is_object(out->protected_hdr)) {
		problem_set(p, PROB_MALFORMED, 400,
		            "JWS protected header is %s; it must be a JSON object with alg, nonce, url and jwk or kid "
		            "(RFC 8555 §6.2)",
		            json_kind(out->protected_hdr));
		goto out;
	}
	if (check_alg(out->protected_hdr, flags, out, p) != 0 || check_header(out->protected_hdr, flags, out, p) != 0)
		goto out;
	/* RFC 8555 §6.3: an empty payload is a POST-as-GET. */
	out->post_as_get = out->payload_len == 0;
	/* RFC 7515 §5.2: the signing input is the two strings as sent. */
	out->signing_input = xasprintf("%s.%s", json_string_value(json_object_get(root, "protected")),
	                               json_string_value(json_object_get(root, "payload")));
	rc = 0;
out:
	if (rc != 0)
		jws_clear(out);
	free(prot);
	json_decref(root);
	return rc;
}

/* RFC 7518 §3.4: JOSE r||s (each `coord` octets) as the DER ECDSA-Sig-Value OpenSSL verifies. */
static unsigned char *ecdsa_der(const unsigned char *sig, size_t coord, size_t *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)coord, NULL), *s = BN_bin2bn(sig + coord, (int)coord, NULL);
	unsigned char *der = NULL;
	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
	} else {
		int n = i2d_ECDSA_SIG(es, &der);
		*derlen = n > 0 ? (size_t)n : 0;
		if (n <= 0)
			der = NULL;
	}
	ECDSA_SIG_free(es);
	return der;
}

int jws_verify(const struct jws *j, EVP_PKEY *key, struct problem *p)
{
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;
	const struct alg_info *ai = alg_by_name(j->alg);
	if (!ai || !key || !j->signing_input) {
		log_error("jws_verify: called without a parsed JWS or a key");
		return problem_set(p, PROB_SERVER_INTERNAL, 500, "internal error while checking the JWS signature");
	}
	enum jwk_kind kind = jwk_kind(key);
	if (kind != ai->kind) {
		const struct alg_info *fit = alg_by_kind(kind);
		if (fit)
			return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400, "alg %s does not fit the %s key; use %s",
			                   ai->alg, fit->desc, fit->alg);
		return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
		                   "alg %s does not fit the %s key; cobble verifies " SUPPORTED_ALGS " with " JWK_SUPPORTED_KEYS
		                   " keys",
		                   ai->alg, EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "account");
	}
	if (kind == JWK_RSA && EVP_PKEY_get_bits(key) < JWK_RSA_MIN_BITS)
		return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
		                   "alg RS256 needs an RSA key of at least %d bits, and this key has %d; use a larger key",
		                   JWK_RSA_MIN_BITS, EVP_PKEY_get_bits(key));
	const unsigned char *sig = j->sig;
	size_t siglen = j->sig_len;
	if (ai->coord) {
		if (j->sig_len != 2 * ai->coord)
			return problem_set(p, PROB_MALFORMED, 400,
			                   "JWS signature is invalid: an %s signature is r||s, exactly %zu octets "
			                   "(RFC 7518 §3.4), not %zu (DER-encoded signatures are not accepted)",
			                   ai->alg, 2 * ai->coord, j->sig_len);
		if (!(der = ecdsa_der(j->sig, ai->coord, &siglen))) {
			log_error("jws_verify: i2d_ECDSA_SIG failed");
			problem_set(p, PROB_SERVER_INTERNAL, 500, "internal error while checking the JWS signature");
			goto out;
		}
		sig = der;
	}
	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestVerifyInit_ex(ctx, NULL, ai->md, NULL, NULL, key, NULL) != 1) {
		log_error("jws_verify: EVP_DigestVerifyInit_ex failed for %s", ai->alg);
		problem_set(p, PROB_SERVER_INTERNAL, 500, "internal error while checking the JWS signature");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)j->signing_input, strlen(j->signing_input)) != 1) {
		problem_set(p, PROB_MALFORMED, 400,
		            "JWS signature is invalid: sign ASCII(protected || \".\" || payload), exactly as sent, with "
		            "the private key of the %s",
		            j->kid ? "account named by \"kid\"" : "\"jwk\" in the protected header");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}

int jws_verify_hmac(const struct jws *j, const unsigned char *key, size_t keylen, struct problem *p)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	const struct mac_info *mi = mac_by_name(j->alg);
	if (!mi || !key || !j->signing_input) {
		log_error("jws_verify_hmac: called without a JWS parsed with JWS_MAC or a key");
		return problem_set(p, PROB_SERVER_INTERNAL, 500, "internal error while checking the JWS MAC");
	}
	if (keylen < mi->len)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "alg %s needs a MAC key of at least %zu bytes (RFC 7518 §3.2), and this key has %zu; "
		                   "use HS256",
		                   mi->alg, mi->len, keylen);
	if (!EVP_Q_mac(NULL, "HMAC", NULL, mi->md, NULL, key, keylen, (const unsigned char *)j->signing_input,
	               strlen(j->signing_input), mac, sizeof mac, &maclen)) {
		log_error("jws_verify_hmac: EVP_Q_mac failed for %s", mi->alg);
		ERR_clear_error();
		return problem_set(p, PROB_SERVER_INTERNAL, 500, "internal error while checking the JWS MAC");
	}
	int bad = j->sig_len != maclen || CRYPTO_memcmp(mac, j->sig, maclen) != 0;
	OPENSSL_cleanse(mac, sizeof mac);
	if (bad)
		return problem_set(p, PROB_UNAUTHORIZED, 403,
		                   "the %s MAC is invalid: compute HMAC-SHA-%s over ASCII(protected || \".\" || "
		                   "payload), exactly as sent, with the MAC key the CA gave you for this \"kid\", "
		                   "base64url-decoded (not its text)",
		                   mi->alg, mi->alg + 2);
	return 0;
}

/* JOSE r||s from the DER signature OpenSSL makes. */
static unsigned char *ecdsa_raw(const unsigned char *der, size_t derlen, size_t coord)
{
	const unsigned char *q = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)derlen);
	unsigned char *raw = NULL;
	if (es) {
		const BIGNUM *r, *s;
		ECDSA_SIG_get0(es, &r, &s);
		raw = xmalloc(2 * coord);
		if (BN_bn2binpad(r, raw, (int)coord) != (int)coord || BN_bn2binpad(s, raw + coord, (int)coord) != (int)coord) {
			free(raw);
			raw = NULL;
		}
	}
	ECDSA_SIG_free(es);
	return raw;
}

char *jws_sign(EVP_PKEY *key, json_t *protected_members, const char *payload)
{
	json_t *hdr = NULL, *body = NULL;
	char *hdr_s = NULL, *prot = NULL, *pay = NULL, *input = NULL, *sig_b64 = NULL, *out = NULL;
	unsigned char *sig = NULL, *raw = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *ctx = NULL;
	const struct alg_info *ai = key ? alg_by_kind(jwk_kind(key)) : NULL;
	if (!ai)
		goto out;
	hdr = protected_members ? json_deep_copy(protected_members) : json_object();
	if (!json_is_object(hdr) || json_object_set_new(hdr, "alg", json_string(ai->alg)) != 0 ||
	    !(hdr_s = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS)))
		goto out;
	if (!payload)
		payload = "";
	prot = b64url_encode(hdr_s, strlen(hdr_s));
	pay = b64url_encode(payload, strlen(payload));
	input = xasprintf("%s.%s", prot, pay);
	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestSignInit_ex(ctx, NULL, ai->md, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		goto out;
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		goto out;
	if (ai->coord) {
		if (!(raw = ecdsa_raw(sig, siglen, ai->coord)))
			goto out;
		sig_b64 = b64url_encode(raw, 2 * ai->coord);
	} else {
		sig_b64 = b64url_encode(sig, siglen);
	}
	body = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", pay, "signature", sig_b64);
	if (body)
		out = json_dumps(body, JSON_COMPACT);
out:
	if (!out)
		log_error("jws_sign: could not sign");
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	json_decref(hdr);
	json_decref(body);
	free(hdr_s);
	free(prot);
	free(pay);
	free(input);
	free(sig);
	free(raw);
	free(sig_b64);
	return out;
}
