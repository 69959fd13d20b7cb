/* jwk: JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2) as cobble takes account keys: import
 * of a public JWK, the RFC 7638 canonical form and thumbprint, and the cache of stored account
 * keys parsed once. server/jws.c verifies signatures with the keys made here. */
#include "server/jwk.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MAX_BITS 8192 /* a bound on the cost of one verification */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct curve_info {
	const char *crv;  /* JWK name (RFC 7518 §6.2.1.1) */
	const char *ossl; /* OpenSSL group name */
	enum jwk_kind kind;
	size_t coord;
} curves[] = {
    {"P-256", "prime256v1", JWK_P256, 32},
    {"P-384", "secp384r1", JWK_P384, 48},
    {"P-521", "secp521r1", JWK_P521, 66},
};

enum jwk_kind jwk_kind(EVP_PKEY *key)
{
	/* the base id, not EVP_PKEY_is_a: a name lookup under OpenSSL's lock on every request */
	int id = EVP_PKEY_get_base_id(key);
	if (id == EVP_PKEY_RSA)
		return JWK_RSA;
	if (id == EVP_PKEY_ED25519)
		return JWK_ED25519;
	if (id == EVP_PKEY_EC) {
		char name[64];
		size_t len = 0;
		if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1)
			return JWK_OTHER;
		for (size_t i = 0; i < NELEM(curves); i++)
			if (strcmp(name, curves[i].ossl) == 0 || strcmp(name, curves[i].crv) == 0)
				return curves[i].kind;
	}
	return JWK_OTHER;
}

static const struct curve_info *curve_by_kind(enum jwk_kind kind)
{
	for (size_t i = 0; i < NELEM(curves); i++)
		if (curves[i].kind == kind)
			return &curves[i];
	return NULL;
}

/* A client-supplied name made safe to quote in a detail: short, printable ASCII only. */
const char *jwk_shown(const char *s, char buf[48])
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
int jwk_b64_member(const json_t *o, const char *name, const char *where, unsigned char **out, size_t *outlen,
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
	if (jwk_b64_member(jwk, name, "jwk member", &buf, &len, p) != 0)
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
	if (bits < JWK_RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		problem_set(p, PROB_BAD_PUBLIC_KEY, 400,
		            "RSA key is %d bits; cobble accepts %d to %d bits: make a new account key of 2048 or more bits",
		            bits, JWK_RSA_MIN_BITS, RSA_MAX_BITS);
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
		log_error("jwk: EVP_PKEY_fromdata failed for an RSA key");
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
	if (jwk_b64_member(jwk, name, "jwk member", &buf, &len, p) != 0)
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
		            crv ? "\"" : "", crv ? jwk_shown(crv, b) : "(missing \"crv\")", crv ? "\"" : "");
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
		log_error("jwk: OSSL_PARAM_BLD failed for an EC key");
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
		            crv ? "\"" : "", crv ? jwk_shown(crv, b) : "(missing \"crv\")", crv ? "\"" : "");
		goto out;
	}
	if (!(x = coord_member(jwk, "x", crv, 32, p)))
		goto out;
	if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, x, 32) ||
	    !(key = from_params("ED25519", bld))) {
		log_error("jwk: EVP_PKEY_fromdata failed for an Ed25519 key");
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
	problem_set(p, PROB_BAD_PUBLIC_KEY, 400, "jwk kty \"%s\" is not supported; use " JWK_SUPPORTED_KEYS, jwk_shown(kty, b));
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
	enum jwk_kind kind = key ? jwk_kind(key) : JWK_OTHER;
	const struct curve_info *c = curve_by_kind(kind);
	/* RFC 7638 §3.2: the required members only, in lexicographic order, no white space. */
	if (kind == JWK_RSA) {
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
	} else if (kind == JWK_ED25519) {
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

