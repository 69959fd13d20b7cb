/* jws: RFC 8555 §6.2 flattened JWS parsing and verification (and the HMAC of an external account
 * binding, §7.3.4), JWK import/export, RFC 7638 thumbprints. */
#include "server/jws.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SUPPORTED_ALGS "RS256, ES256, ES384, ES512, EdDSA"
#define SUPPORTED_KEYS "RSA (2048 to 8192 bits), EC P-256, P-384, P-521 or OKP Ed25519"
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192 /* a bound on the cost of one verification */

enum key_kind { KEY_OTHER, KEY_RSA, KEY_P256, KEY_P384, KEY_P521, KEY_ED25519 };

/* RFC 7518 §3.1 names, with the key each one needs. */
static const struct alg_info {
	const char *alg;
	enum key_kind kind;
	const char *md;   /* digest name; NULL for EdDSA, which hashes internally */
	size_t coord;     /* ECDSA coordinate octets (RFC 7518 §3.4); 0 otherwise */
	const char *desc; /* the key, as a person names it */
} algs[] = {
    {"RS256", KEY_RSA, "SHA256", 0, "RSA"},     {"ES256", KEY_P256, "SHA256", 32, "P-256"},
    {"ES384", KEY_P384, "SHA384", 48, "P-384"}, {"ES512", KEY_P521, "SHA512", 66, "P-521"},
    {"EdDSA", KEY_ED25519, NULL, 0, "Ed25519"},
};

/* RFC 7518 §3.2: HMAC with SHA-2, only for an external account binding (RFC 8555 §7.3.4). */
static const struct mac_info {
	const char *alg;
	const char *md;
	size_t len; /* hash output octets, also the least key length */
} macs[] = {{"HS256", "SHA256", 32}, {"HS384", "SHA384", 48}, {"HS512", "SHA512", 64}};

static const struct curve_info {
	const char *crv;  /* JWK name (RFC 7518 §6.2.1.1) */
	const char *ossl; /* OpenSSL group name */
	enum key_kind kind;
	size_t coord;
} curves[] = {
    {"P-256", "prime256v1", KEY_P256, 32},
    {"P-384", "secp384r1", KEY_P384, 48},
    {"P-521", "secp521r1", KEY_P521, 66},
};

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

static const struct alg_info *alg_by_kind(enum key_kind kind)
{
	for (size_t i = 0; i < NELEM(algs); i++)
		if (algs[i].kind == kind)
			return &algs[i];
	return NULL;
}

static enum key_kind key_kind(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "RSA"))
		return KEY_RSA;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return KEY_ED25519;
	if (EVP_PKEY_is_a(key, "EC")) {
		char name[64];
		size_t len = 0;
		if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1)
			return KEY_OTHER;
		for (size_t i = 0; i < NELEM(curves); i++)
			if (strcmp(name, curves[i].ossl) == 0 || strcmp(name, curves[i].crv) == 0)
				return curves[i].kind;
	}
	return KEY_OTHER;
}

static const struct curve_info *curve_by_kind(enum key_kind kind)
{
	for (size_t i = 0; i < NELEM(curves); i++)
		if (curves[i].kind == kind)
			return &curves[i];
	return NULL;
}

/* A client-supplied name made safe to quote in a detail: short, printable ASCII only. */
static const char *shown(const char *s, char buf[48])
{
	size_t i = 0;
	for (; s[i] && i < 40; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 4);
	} else {
		buf[i] = '\0';
	}
	return buf;
}

/* Decode the base64url string member `name` of o; malformed when absent, not a string or not
 * base64url. */
static int b64_member(const json_t *o, const char *name, const char *where, unsigned char **out, size_t *outlen,
                      struct problem *p)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return problem_set(p, PROB_MALFORMED, 400, "%s \"%s\" is %s; it must be a base64url string", where, name,
		                   v ? "not a string" : "missing");
	/* RFC 7515 §2: base64url without padding, no white space. */
	if (b64url_decode(json_string_value(v), json_string_length(v), out, outlen) != 0)
		return problem_set(p, PROB_MALFORMED, 400,
		                   "%s \"%s\" is not valid base64url (RFC 7515 §2: characters A-Z a-z 0-9 - _ only, "
		                   "no padding, no white space)",
		                   where, name);
	return 0;
}

static BIGNUM *bn_member(const json_t *jwk, const char *name, struct problem *p)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (b64_member(jwk, name, "jwk member", &buf, &len, p) != 0)
		return NULL;
	BIGNUM *bn = NULL;
	if (len == 0)
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400, "jwk member \"%s\" is empty; it must encode a positive integer",
		            name);
	else if (!(bn = BN_bin2bn(buf, (int)len, NULL)))
		problem_set(p, PROB_SERVER_INTERNAL, 500, "could not import the key");
	free(buf);
	return bn;
}

/* Build a public key of type `type` from params. */
static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY *key = NULL;
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	ERR_clear_error();
	return key;
}

/* RFC 7518 §6.3.1: n and e. */
static EVP_PKEY *import_rsa(const json_t *jwk, struct problem *p)
{
	EVP_PKEY *key = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	if (!(n = bn_member(jwk, "n", p)) || !(e = bn_member(jwk, "e", p)))
		goto out;
	int bits = BN_num_bits(n);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400,
		            "RSA key is %d bits; cobble accepts %d to %d bits: make a new account key of 2048 or more bits",
		            bits, RSA_MIN_BITS, RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0) {
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400,
		            "RSA key is not a valid public key: n and e must be odd, e greater than 1 and less than n "
		            "(usually e is 65537, \"AQAB\")");
		goto out;
	}
	if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(key = from_params("RSA", bld))) {
		log_error("jws: EVP_PKEY_fromdata failed for an RSA key");
		problem_set(p, PROB_SERVER_INTERNAL, 500, "could not import the RSA key");
	}
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return key;
}

/* The key is usable only if OpenSSL's public-key check passes (point on the curve, in range). */
static int public_check(EVP_PKEY *key)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* Decode a fixed-length coordinate member (RFC 7518 §6.2.1.2 / §6.2.1.3, RFC 8037 §2). */
static unsigned char *coord_member(const json_t *jwk, const char *name, const char *crv, size_t want,
                                   struct problem *p)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (b64_member(jwk, name, "jwk member", &buf, &len, p) != 0)
		return NULL;
	if (len != want) {
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400,
		            "jwk \"%s\" is %zu octets, but %s coordinates are exactly %zu octets (RFC 7518 §6.2.1.2, "
		            "RFC 8037 §2: keep leading zero octets)",
		            name, len, crv, want);
		free(buf);
		return NULL;
	}
	return buf;
}

/* RFC 7518 §6.2.1: crv, x, y. */
static EVP_PKEY *import_ec(const json_t *jwk, struct problem *p)
{
	EVP_PKEY *key = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *x = NULL, *y = NULL, *pt = NULL;
	char b[48];
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const struct curve_info *c = NULL;
	for (size_t i = 0; crv && i < NELEM(curves); i++)
		if (strcmp(crv, curves[i].crv) == 0)
			c = &curves[i];
	if (!c) {
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400, "EC jwk curve %s%s%s is not supported; use P-256, P-384 or P-521",
		            crv ? "\"" : "", crv ? shown(crv, b) : "(missing \"crv\")", crv ? "\"" : "");
		goto out;
	}
	if (!(x = coord_member(jwk, "x", c->crv, c->coord, p)) || !(y = coord_member(jwk, "y", c->crv, c->coord, p)))
		goto out;
	/* SEC 1 §2.3.3 uncompressed point: 0x04 || x || y. */
	size_t ptlen = 1 + 2 * c->coord;
	pt = xmalloc(ptlen);
	pt[0] = 0x04;
	memcpy(pt + 1, x, c->coord);
	memcpy(pt + 1 + c->coord, y, c->coord);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen)) {
		log_error("jws: OSSL_PARAM_BLD failed for an EC key");
		problem_set(p, PROB_SERVER_INTERNAL, 500, "could not import the EC key");
		goto out;
	}
	key = from_params("EC", bld);
	if (!key || public_check(key) != 0) {
		EVP_PKEY_free(key);
		key = NULL;
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400,
		            "EC jwk (x, y) is not a point on %s; send the coordinates of the account key's own public point",
		            c->crv);
	}
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	free(pt);
	return key;
}

/* RFC 8037 §2: crv, x. */
static EVP_PKEY *import_okp(const json_t *jwk, struct problem *p)
{
	EVP_PKEY *key = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *x = NULL;
	char b[48];
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	if (!crv || strcmp(crv, "Ed25519") != 0) {
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400, "OKP jwk curve %s%s%s is not supported; use Ed25519",
		            crv ? "\"" : "", crv ? shown(crv, b) : "(missing \"crv\")", crv ? "\"" : "");
		goto out;
	}
	if (!(x = coord_member(jwk, "x", crv, 32, p)))
		goto out;
	if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, x, 32) ||
	    !(key = from_params("ED25519", bld))) {
		log_error("jws: EVP_PKEY_fromdata failed for an Ed25519 key");
		problem_set(p, PROB_SERVER_INTERNAL, 500, "could not import the Ed25519 key");
	}
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	return key;
}

EVP_PKEY *jwk_import(const json_t *jwk, struct problem *p)
{
	/* RFC 7517 §4 and RFC 7518 §6: members that only a private (or symmetric) key has. */
	static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	char b[48];
	if (!json_is_object(jwk)) {
		problem_set(p, PROB_MALFORMED, 400, "\"jwk\" must be a JSON object holding the public key (RFC 7517 §4)");
		return NULL;
	}
	for (size_t i = 0; i < NELEM(private_members); i++)
		if (json_object_get(jwk, private_members[i])) {
			problem_set(p, PROB_BAD_PUBLIC_KEY, 400,
			            "jwk has the private member \"%s\": send only the public key (RSA: kty, n, e; EC: kty, "
			            "crv, x, y; OKP: kty, crv, x), and make a new key, since this one has been disclosed",
			            private_members[i]);
			return NULL;
		}
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	if (!kty) {
		problem_set(p, PROB_MALFORMED, 400, "jwk has no \"kty\" string; use \"RSA\", \"EC\" or \"OKP\" (RFC 7517 §4.1)");
		return NULL;
	}
	if (strcmp(kty, "RSA") == 0)
		return import_rsa(jwk, p);
	if (strcmp(kty, "EC") == 0)
		return import_ec(jwk, p);
	if (strcmp(kty, "OKP") == 0)
		return import_okp(jwk, p);
	problem_set(p, PROB_BAD_PUBLIC_KEY, 400, "jwk kty \"%s\" is not supported; use " SUPPORTED_KEYS, shown(kty, b));
	return NULL;
}

static char *bn_b64(const BIGNUM *bn, size_t pad)
{
	size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
	unsigned char *buf = xmalloc(n);
	char *out = NULL;
	if (BN_bn2binpad(bn, buf, (int)n) == (int)n)
		out = b64url_encode(buf, n);
	free(buf);
	return out;
}

char *jwk_canonical(EVP_PKEY *key)
{
	json_t *o = NULL;
	BIGNUM *a = NULL, *b = NULL;
	char *sa = NULL, *sb = NULL, *out = NULL;
	enum key_kind kind = key ? key_kind(key) : KEY_OTHER;
	const struct curve_info *c = curve_by_kind(kind);
	/* RFC 7638 §3.2: the required members only, in lexicographic order, no white space. */
	if (kind == KEY_RSA) {
		/* RFC 7518 §6.3.1: minimal big-endian octets, no leading zero. */
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b) != 1 || !(sa = bn_b64(a, 0)) ||
		    !(sb = bn_b64(b, 0)))
			goto out;
		o = json_pack("{s:s, s:s, s:s}", "e", sb, "kty", "RSA", "n", sa);
	} else if (c) {
		/* RFC 7518 §6.2.1.2: coordinates are the full field size. */
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 1 || !(sa = bn_b64(a, c->coord)) ||
		    !(sb = bn_b64(b, c->coord)))
			goto out;
		o = json_pack("{s:s, s:s, s:s, s:s}", "crv", c->crv, "kty", "EC", "x", sa, "y", sb);
	} else if (kind == KEY_ED25519) {
		unsigned char raw[32];
		size_t len = sizeof raw;
		if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw)
			goto out;
		sa = b64url_encode(raw, len);
		o = json_pack("{s:s, s:s, s:s}", "crv", "Ed25519", "kty", "OKP", "x", sa);
	}
	if (o)
		out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
	ERR_clear_error();
	json_decref(o);
	BN_free(a);
	BN_free(b);
	free(sa);
	free(sb);
	return out;
}

int jwk_thumbprint(EVP_PKEY *key, char out[JWK_THUMBPRINT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *c = jwk_canonical(key);
	int rc = -1;
	/* RFC 7638 §3: SHA-256 over the UTF-8 canonical JSON. */
	if (c && EVP_Digest(c, strlen(c), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32 &&
	    b64url_encode_buf(md, mdlen, out, JWK_THUMBPRINT_LEN + 1) == JWK_THUMBPRINT_LEN)
		rc = 0;
	free(c);
	return rc;
}

/* Stored account keys, parsed once: importing a JWK runs OpenSSL's EVP_PKEY_fromdata and a full
 * public-key check (a point multiplication), about a third of a keep-alive flow's server CPU when
 * it was done on every request. Direct-mapped by a hash of the canonical JWK, so memory is bounded
 * (JWK_CACHE_SLOTS keys); a collision replaces the older key, which costs one re-import later. */
#define JWK_CACHE_SLOTS 1024
static struct {
	char *canonical; /* owned */
	EVP_PKEY *key;   /* owned: one reference */
} jwk_cache[JWK_CACHE_SLOTS];
static pthread_mutex_t jwk_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t jwk_slot(const char *s)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return (size_t)(h % JWK_CACHE_SLOTS);
}

EVP_PKEY *jwk_from_string(const char *canonical)
{
	if (!canonical)
		return NULL;
	size_t i = jwk_slot(canonical);
	EVP_PKEY *key = NULL;
	pthread_mutex_lock(&jwk_cache_lock);
	if (jwk_cache[i].canonical && strcmp(jwk_cache[i].canonical, canonical) == 0 &&
	    EVP_PKEY_up_ref(jwk_cache[i].key) == 1)
		key = jwk_cache[i].key;
	pthread_mutex_unlock(&jwk_cache_lock);
	if (key)
		return key;
	struct problem p;
	json_t *o = json_loads(canonical, JSON_REJECT_DUPLICATES, NULL);
	key = o ? jwk_import(o, &p) : NULL;
	json_decref(o);
	if (!key || EVP_PKEY_up_ref(key) != 1)
		return key;
	char *copy = xstrdup(canonical);
	pthread_mutex_lock(&jwk_cache_lock);
	char *old_s = jwk_cache[i].canonical;
	EVP_PKEY *old_k = jwk_cache[i].key;
	jwk_cache[i].canonical = copy;
	jwk_cache[i].key = key;
	pthread_mutex_unlock(&jwk_cache_lock);
	free(old_s);
	EVP_PKEY_free(old_k);
	return key;
}

void jwk_cache_clear(void)
{
	pthread_mutex_lock(&jwk_cache_lock);
	for (size_t i = 0; i < JWK_CACHE_SLOTS; i++) {
		free(jwk_cache[i].canonical);
		EVP_PKEY_free(jwk_cache[i].key);
		jwk_cache[i].canonical = NULL;
		jwk_cache[i].key = NULL;
	}
	pthread_mutex_unlock(&jwk_cache_lock);
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
		                   alg ? "\"" : "", alg ? shown(alg, b) : "(missing)", alg ? "\"" : "");
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
		                   shown(alg, b));
	return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
	                   "alg \"%s\" is not supported; use one of " SUPPORTED_ALGS, shown(alg, b));
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
			            shown(key, b));
		goto out;
	}
	if (b64_member(root, "protected", "JWS member", &prot, &prot_len, p) != 0 ||
	    b64_member(root, "payload", "JWS member", &out->payload, &out->payload_len, p) != 0 ||
	    b64_member(root, "signature", "JWS member", &out->sig, &out->sig_len, p) != 0)
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
	enum key_kind kind = key_kind(key);
	if (kind != ai->kind) {
		const struct alg_info *fit = alg_by_kind(kind);
		if (fit)
			return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400, "alg %s does not fit the %s key; use %s",
			                   ai->alg, fit->desc, fit->alg);
		return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
		                   "alg %s does not fit the %s key; cobble verifies " SUPPORTED_ALGS " with " SUPPORTED_KEYS
		                   " keys",
		                   ai->alg, EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "account");
	}
	if (kind == KEY_RSA && EVP_PKEY_get_bits(key) < RSA_MIN_BITS)
		return problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM, 400,
		                   "alg RS256 needs an RSA key of at least %d bits, and this key has %d; use a larger key",
		                   RSA_MIN_BITS, EVP_PKEY_get_bits(key));
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
	const struct alg_info *ai = key ? alg_by_kind(key_kind(key)) : NULL;
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
