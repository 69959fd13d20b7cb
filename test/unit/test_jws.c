/* test_jws: server/jws.c — RFC 8555 §6.2 flattened JWS, RFC 7517/7518 JWK import, RFC 7638 thumbprints,
 * and the HMAC of an external account binding (RFC 8555 §7.3.4, RFC 7518 §3.2).
 * Each table row is one test, named after the rule it checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "server/jwk.h"
#include "server/jws.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SUPPORTED "RS256, ES256, ES384, ES512, EdDSA"

/* Keys made once by the group setup. */
static EVP_PKEY *k_rsa, *k_rsa1024, *k_p256, *k_p384, *k_p521, *k_ed25519, *k_ed448;
/* JWK texts the parse table substitutes for $NAME. */
static char *jwk_p256, *jwk_rsa1024, *jwk_priv, *jwk_offcurve, *jwk_shortx, *jwk_rsa_even_e;

/* ---- helpers ---- */

static char *b64s(const char *s)
{
	return b64url_encode(s, strlen(s));
}

static json_t *jwk_json_of(EVP_PKEY *k)
{
	char *c = jwk_canonical(k);
	assert_non_null(c);
	json_t *o = json_loads(c, 0, NULL);
	assert_non_null(o);
	free(c);
	return o;
}

/* A JWS over payload signed by k, carrying either k's jwk or a kid. */
static char *sign_as(EVP_PKEY *k, int with_jwk, const char *payload)
{
	json_t *m = json_pack("{s:s, s:s}", "url", "https://ca.test/acme/new-order", "nonce", "bm9uY2U");
	if (with_jwk)
		json_object_set_new(m, "jwk", jwk_json_of(k));
	else
		json_object_set_new(m, "kid", json_string("https://ca.test/acme/acct/1"));
	char *body = jws_sign(k, m, payload);
	assert_non_null(body);
	json_decref(m);
	return body;
}

/* Replace member `name` of the JWS object text with the string value v (owned by the caller). */
static char *with_member(const char *body, const char *name, const char *v)
{
	json_t *o = json_loads(body, 0, NULL);
	assert_non_null(o);
	json_object_set_new(o, name, json_string(v));
	char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static const char *member(const char *body, const char *name, json_t **hold)
{
	*hold = json_loads(body, 0, NULL);
	assert_non_null(*hold);
	return json_string_value(json_object_get(*hold, name));
}

/* Copy of s with every $NAME token replaced by its JWK text. */
static char *subst(const char *s)
{
	static const struct {
		const char *tok;
		char **val;
	} t[] = {
	    {"$P256", &jwk_p256},         {"$RSA1024", &jwk_rsa1024}, {"$PRIV", &jwk_priv},
	    {"$OFFCURVE", &jwk_offcurve}, {"$SHORTX", &jwk_shortx},   {"$EVEN_E", &jwk_rsa_even_e},
	};
	char *out = strdup(s);
	for (size_t i = 0; i < NELEM(t); i++) {
		char *at;
		while ((at = strstr(out, t[i].tok))) {
			size_t pre = (size_t)(at - out), tl = strlen(t[i].tok);
			char *n = NULL;
			assert_true(asprintf(&n, "%.*s%s%s", (int)pre, out, *t[i].val, at + tl) > 0);
			free(out);
			out = n;
		}
	}
	return out;
}

static void expect_problem(const struct problem *p, const char *type, const char *detail_part)
{
	assert_non_null(p->type);
	if (strcmp(p->type, type) != 0)
		fail_msg("problem type %s, want %s (detail: %s)", p->type, type, p->detail);
	assert_int_equal(p->status, 400);
	if (!strstr(p->detail, detail_part))
		fail_msg("detail \"%s\" does not mention \"%s\"", p->detail, detail_part);
}

static void expect_cleared(const struct jws *j)
{
	static const struct jws zero;
	assert_memory_equal(j, &zero, sizeof zero);
}

/* ---- sign/verify round trip, one row per algorithm ---- */

struct alg_case {
	const char *alg;
	EVP_PKEY **key;
};

static void run_round_trip(void **state)
{
	const struct alg_case *c = *state;
	struct jws j;
	struct problem p;
	/* With "jwk": the key comes from the request. */
	char *body = sign_as(*c->key, 1, "{\"termsOfServiceAgreed\":true}");
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_string_equal(j.alg, c->alg);
	assert_string_equal(j.url, "https://ca.test/acme/new-order");
	assert_string_equal(j.nonce, "bm9uY2U");
	assert_null(j.kid);
	assert_non_null(j.jwk);
	assert_non_null(j.jwk_json);
	assert_false(j.post_as_get);
	assert_string_equal((const char *)j.payload, "{\"termsOfServiceAgreed\":true}");
	assert_int_equal(j.payload_len, strlen("{\"termsOfServiceAgreed\":true}"));
	assert_int_equal(EVP_PKEY_eq(j.jwk, *c->key), 1);
	assert_int_equal(jws_verify(&j, j.jwk, &p), 0);
	jws_clear(&j);
	free(body);

	/* With "kid": the key is the stored account key, as jwk_from_string gives it back. */
	body = sign_as(*c->key, 0, "{}");
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_string_equal(j.kid, "https://ca.test/acme/acct/1");
	assert_null(j.jwk);
	assert_null(j.jwk_json);
	char *canon = jwk_canonical(*c->key);
	EVP_PKEY *stored = jwk_from_string(canon);
	assert_non_null(stored);
	assert_int_equal(jws_verify(&j, stored, &p), 0);
	assert_int_equal(jws_verify(&j, *c->key, &p), 0);
	EVP_PKEY_free(stored);
	free(canon);
	jws_clear(&j);
	free(body);
}

static const struct alg_case round_trips[] = {
    {"RS256", &k_rsa}, {"ES256", &k_p256}, {"ES384", &k_p384}, {"ES512", &k_p521}, {"EdDSA", &k_ed25519},
};

/* ---- tampering: every part is covered by the signature ---- */

enum part { PAYLOAD, PROTECTED, SIGNATURE, OTHER_KEY };

struct tamper_case {
	EVP_PKEY **key;
	enum part part;
};

static void run_tamper(void **state)
{
	const struct tamper_case *c = *state;
	struct jws j;
	struct problem p;
	json_t *hold = NULL;
	char *body = sign_as(*c->key, 1, "{\"status\":\"deactivated\"}"), *bad = NULL, *enc = NULL;
	EVP_PKEY *verify_key = NULL;
	if (c->part == PAYLOAD) {
		enc = b64s("{\"status\":\"valid\"}");
		bad = with_member(body, "payload", enc);
	} else if (c->part == PROTECTED) {
		const char *prot = member(body, "protected", &hold);
		unsigned char *raw = NULL;
		size_t len = 0;
		assert_int_equal(b64url_decode(prot, strlen(prot), &raw, &len), 0);
		json_t *h = json_loads((const char *)raw, 0, NULL);
		json_object_set_new(h, "url", json_string("https://ca.test/acme/revoke-cert"));
		char *text = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
		enc = b64s(text);
		bad = with_member(body, "protected", enc);
		free(text);
		json_decref(h);
		free(raw);
	} else if (c->part == SIGNATURE) {
		const char *sig = member(body, "signature", &hold);
		unsigned char *raw = NULL;
		size_t len = 0;
		assert_int_equal(b64url_decode(sig, strlen(sig), &raw, &len), 0);
		raw[len / 2] ^= 0x01;
		enc = b64url_encode(raw, len);
		bad = with_member(body, "signature", enc);
		free(raw);
	} else {
		bad = strdup(body);
		verify_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_non_null(verify_key);
	}
	assert_int_equal(jws_parse(bad, strlen(bad), &j, &p), 0);
	assert_int_equal(jws_verify(&j, verify_key ? verify_key : j.jwk, &p), -1);
	expect_problem(&p, PROB_MALFORMED, "JWS signature is invalid");
	jws_clear(&j);
	EVP_PKEY_free(verify_key);
	json_decref(hold);
	free(enc);
	free(bad);
	free(body);
}

static const struct tamper_case tampers[] = {
    {&k_rsa, PAYLOAD},       {&k_rsa, PROTECTED},       {&k_rsa, SIGNATURE},       {&k_p256, PAYLOAD},
    {&k_p256, PROTECTED},    {&k_p256, SIGNATURE},      {&k_p384, PAYLOAD},        {&k_p384, PROTECTED},
    {&k_p384, SIGNATURE},    {&k_p521, PAYLOAD},        {&k_p521, PROTECTED},      {&k_p521, SIGNATURE},
    {&k_ed25519, PAYLOAD},   {&k_ed25519, PROTECTED},   {&k_ed25519, SIGNATURE},   {&k_p256, OTHER_KEY},
};
static char tamper_names[NELEM(tampers)][64];

/* ---- alg and key must fit ---- */

struct fit_case {
	const char *name;
	const char *alg;  /* "alg" in the header */
	EVP_PKEY **key;   /* key the JWS is verified with */
	const char *type; /* expected problem */
	const char *detail;
};

static char *crafted(const char *prot_text, const char *payload, const unsigned char *sig, size_t siglen)
{
	char *p64 = b64s(prot_text), *pl64 = b64s(payload), *s64 = b64url_encode(sig, siglen);
	json_t *o = json_pack("{s:s, s:s, s:s}", "protected", p64, "payload", pl64, "signature", s64);
	char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(p64);
	free(pl64);
	free(s64);
	return out;
}

static void run_fit(void **state)
{
	const struct fit_case *c = *state;
	struct jws j;
	struct problem p;
	unsigned char sig[132] = {1};
	char *prot = NULL;
	assert_true(asprintf(&prot, "{\"alg\":\"%s\",\"kid\":\"https://ca.test/acme/acct/1\",\"nonce\":\"n\","
	                            "\"url\":\"https://ca.test/acme/new-order\"}",
	                     c->alg) > 0);
	char *body = crafted(prot, "{}", sig, sizeof sig);
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_int_equal(jws_verify(&j, *c->key, &p), -1);
	expect_problem(&p, c->type, c->detail);
	jws_clear(&j);
	free(body);
	free(prot);
}

static const struct fit_case fits[] = {
    {"alg ES256 refused for a P-384 key", "ES256", &k_p384, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg ES256 does not fit the P-384 key; use ES384"},
    {"alg ES384 refused for a P-256 key", "ES384", &k_p256, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg ES384 does not fit the P-256 key; use ES256"},
    {"alg ES512 refused for a P-256 key", "ES512", &k_p256, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg ES512 does not fit the P-256 key; use ES256"},
    {"alg ES256 refused for a P-521 key", "ES256", &k_p521, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg ES256 does not fit the P-521 key; use ES512"},
    {"alg RS256 refused for a P-256 key", "RS256", &k_p256, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg RS256 does not fit the P-256 key; use ES256"},
    {"alg ES256 refused for an RSA key", "ES256", &k_rsa, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg ES256 does not fit the RSA key; use RS256"},
    {"alg EdDSA refused for an RSA key", "EdDSA", &k_rsa, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg EdDSA does not fit the RSA key; use RS256"},
    {"alg RS256 refused for an Ed25519 key", "RS256", &k_ed25519, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg RS256 does not fit the Ed25519 key; use EdDSA"},
    {"alg EdDSA refused for a P-256 key", "EdDSA", &k_p256, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg EdDSA does not fit the P-256 key; use ES256"},
    {"alg ES256 refused for an Ed25519 key", "ES256", &k_ed25519, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg ES256 does not fit the Ed25519 key; use EdDSA"},
    {"alg EdDSA refused for an Ed448 key", "EdDSA", &k_ed448, PROB_BAD_SIGNATURE_ALGORITHM,
     "alg EdDSA does not fit the ED448 key"},
    {"RS256 refused for a stored RSA 1024 key", "RS256", &k_rsa1024, PROB_BAD_SIGNATURE_ALGORITHM,
     "at least 2048 bits"},
};

/* ---- ECDSA signatures are fixed-length r||s (RFC 7518 §3.4) ---- */

struct eclen_case {
	const char *name;
	EVP_PKEY **key;
	int delta; /* octets added to (or removed from) the right length; 0: send DER instead */
	const char *detail;
};

static void run_ec_length(void **state)
{
	const struct eclen_case *c = *state;
	struct jws j;
	struct problem p;
	json_t *hold = NULL;
	char *body = sign_as(*c->key, 1, "{}"), *bad = NULL, *enc = NULL;
	const char *sig = member(body, "signature", &hold);
	unsigned char *raw = NULL, *der = NULL;
	size_t len = 0;
	assert_int_equal(b64url_decode(sig, strlen(sig), &raw, &len), 0);
	if (c->delta) {
		unsigned char buf[200] = {0};
		memcpy(buf, raw, len);
		enc = b64url_encode(buf, (size_t)((int)len + c->delta));
	} else {
		/* The DER form OpenSSL itself produces. */
		ECDSA_SIG *es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn(raw, (int)len / 2, NULL), BN_bin2bn(raw + len / 2, (int)len / 2, NULL));
		int n = i2d_ECDSA_SIG(es, &der);
		assert_true(n > 0);
		enc = b64url_encode(der, (size_t)n);
		ECDSA_SIG_free(es);
	}
	bad = with_member(body, "signature", enc);
	assert_int_equal(jws_parse(bad, strlen(bad), &j, &p), 0);
	assert_int_equal(jws_verify(&j, j.jwk, &p), -1);
	expect_problem(&p, PROB_MALFORMED, c->detail);
	jws_clear(&j);
	OPENSSL_free(der);
	free(raw);
	json_decref(hold);
	free(enc);
	free(bad);
	free(body);
}

static const struct eclen_case eclens[] = {
    {"ES256 signature of 63 octets refused", &k_p256, -1, "exactly 64 octets"},
    {"ES256 signature of 65 octets refused", &k_p256, +1, "exactly 64 octets"},
    {"ES256 DER signature refused", &k_p256, 0, "exactly 64 octets"},
    {"ES384 signature of 95 octets refused", &k_p384, -1, "exactly 96 octets"},
    {"ES384 DER signature refused", &k_p384, 0, "exactly 96 octets"},
    {"ES512 signature of 131 octets refused", &k_p521, -1, "exactly 132 octets"},
    {"ES512 signature of 133 octets refused", &k_p521, +1, "exactly 132 octets"},
};

/* ---- parse rules: body shape, protected header, JWK import ---- */

struct parse_case {
	const char *name;
	const char *raw;   /* the whole body, or NULL to build one from prot and extra */
	const char *prot;  /* protected header text ($NAME tokens replaced) */
	const char *extra; /* text appended inside the top-level object */
	const char *type;
	const char *detail;
};

#define HDR_TAIL "\"nonce\":\"n\",\"url\":\"https://ca.test/acme/new-order\""
#define GOOD_PROT "{\"alg\":\"ES256\",\"jwk\":$P256," HDR_TAIL "}"
#define KID_PROT(alg) "{\"alg\":" alg ",\"kid\":\"https://ca.test/acme/acct/1\"," HDR_TAIL "}"

static const struct parse_case parses[] = {
    /* RFC 8555 §6.2: the body is a flattened JWS object. */
    {"empty body refused", "", NULL, NULL, PROB_MALFORMED, "not JSON"},
    {"body that is not JSON refused", "protected.payload.signature", NULL, NULL, PROB_MALFORMED, "not JSON"},
    {"body with trailing garbage refused", "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\"} x", NULL,
     NULL, PROB_MALFORMED, "not JSON"},
    {"body that is a JSON array refused", "[]", NULL, NULL, PROB_MALFORMED, "is an array"},
    {"unprotected header member refused", NULL, GOOD_PROT, ",\"header\":{}", PROB_MALFORMED, "\"header\""},
    {"general serialization signatures refused", NULL, GOOD_PROT, ",\"signatures\":[]", PROB_MALFORMED,
     "\"signatures\""},
    {"unknown top-level member refused", NULL, GOOD_PROT, ",\"extra\":1", PROB_MALFORMED, "\"extra\""},
    {"duplicate top-level member refused", NULL, GOOD_PROT, ",\"payload\":\"\"", PROB_MALFORMED, "duplicate"},
    {"missing protected refused", "{\"payload\":\"e30\",\"signature\":\"c2ln\"}", NULL, NULL, PROB_MALFORMED,
     "\"protected\" is missing"},
    {"missing payload refused", "{\"protected\":\"e30\",\"signature\":\"c2ln\"}", NULL, NULL, PROB_MALFORMED,
     "\"payload\" is missing"},
    {"missing signature refused", "{\"protected\":\"e30\",\"payload\":\"e30\"}", NULL, NULL, PROB_MALFORMED,
     "\"signature\" is missing"},
    {"protected that is not a string refused", "{\"protected\":{},\"payload\":\"e30\",\"signature\":\"c2ln\"}", NULL,
     NULL, PROB_MALFORMED, "\"protected\" is not a string"},
    /* RFC 7515 §2: base64url, no padding. */
    {"protected with padding refused", "{\"protected\":\"e30=\",\"payload\":\"e30\",\"signature\":\"c2ln\"}", NULL,
     NULL, PROB_MALFORMED, "\"protected\" is not valid base64url"},
    {"protected in the standard alphabet refused",
     "{\"protected\":\"e3+/\",\"payload\":\"e30\",\"signature\":\"c2ln\"}", NULL, NULL, PROB_MALFORMED,
     "\"protected\" is not valid base64url"},
    {"payload with a bad character refused", "{\"protected\":\"e30\",\"payload\":\"e3 0\",\"signature\":\"c2ln\"}",
     NULL, NULL, PROB_MALFORMED, "\"payload\" is not valid base64url"},
    {"signature with a bad character refused", "{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"c2l.\"}",
     NULL, NULL, PROB_MALFORMED, "\"signature\" is not valid base64url"},
    /* RFC 7515 §7.2.1: the protected header is a JSON object. */
    {"protected that is not JSON refused", NULL, "alg=ES256", NULL, PROB_MALFORMED, "protected header is not JSON"},
    {"protected that is an array refused", NULL, "[\"alg\",\"ES256\"]", NULL, PROB_MALFORMED,
     "protected header is an array"},
    {"protected that is a string refused", NULL, "\"ES256\"", NULL, PROB_MALFORMED, "protected header is a string"},
    {"duplicate protected member refused", NULL, "{\"alg\":\"ES256\",\"alg\":\"none\",\"jwk\":$P256," HDR_TAIL "}",
     NULL, PROB_MALFORMED, "duplicate"},
    /* RFC 8555 §6.2: alg. */
    {"missing alg refused", NULL, "{\"jwk\":$P256," HDR_TAIL "}", NULL, PROB_MALFORMED, "no \"alg\""},
    {"alg that is not a string refused", NULL, KID_PROT("256"), NULL, PROB_MALFORMED, "no \"alg\""},
    {"alg none refused", NULL, KID_PROT("\"none\""), NULL, PROB_BAD_SIGNATURE_ALGORITHM, SUPPORTED},
    {"alg HS256 refused", NULL, KID_PROT("\"HS256\""), NULL, PROB_BAD_SIGNATURE_ALGORITHM, SUPPORTED},
    {"alg HS256 detail says MAC", NULL, KID_PROT("\"HS256\""), NULL, PROB_BAD_SIGNATURE_ALGORITHM, "MAC"},
    {"alg RS512 refused", NULL, KID_PROT("\"RS512\""), NULL, PROB_BAD_SIGNATURE_ALGORITHM, SUPPORTED},
    {"alg PS256 refused", NULL, KID_PROT("\"PS256\""), NULL, PROB_BAD_SIGNATURE_ALGORITHM, SUPPORTED},
    {"alg es256 in lower case refused", NULL, KID_PROT("\"es256\""), NULL, PROB_BAD_SIGNATURE_ALGORITHM,
     SUPPORTED},
    /* RFC 8555 §6.2: exactly one of jwk and kid. */
    {"jwk and kid both refused", NULL,
     "{\"alg\":\"ES256\",\"jwk\":$P256,\"kid\":\"https://ca.test/acme/acct/1\"," HDR_TAIL "}", NULL, PROB_MALFORMED,
     "both \"jwk\" and \"kid\""},
    {"neither jwk nor kid refused", NULL, "{\"alg\":\"ES256\"," HDR_TAIL "}", NULL, PROB_MALFORMED,
     "neither \"jwk\" nor \"kid\""},
    {"kid that is not a string refused", NULL, "{\"alg\":\"ES256\",\"kid\":1," HDR_TAIL "}", NULL, PROB_MALFORMED,
     "\"kid\" must be a string"},
    /* RFC 8555 §6.4: url; §6.5: nonce. */
    {"missing url refused", NULL, "{\"alg\":\"ES256\",\"jwk\":$P256,\"nonce\":\"n\"}", NULL, PROB_MALFORMED,
     "\"url\""},
    {"url that is not a string refused", NULL, "{\"alg\":\"ES256\",\"jwk\":$P256,\"nonce\":\"n\",\"url\":[]}", NULL,
     PROB_MALFORMED, "\"url\""},
    {"nonce that is not a string refused", NULL,
     "{\"alg\":\"ES256\",\"jwk\":$P256,\"nonce\":7,\"url\":\"https://ca.test/x\"}", NULL, PROB_MALFORMED,
     "\"nonce\" must be a string"},
    /* RFC 7515 §4.1.11. */
    {"crit refused", NULL, "{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false,\"jwk\":$P256," HDR_TAIL "}", NULL,
     PROB_MALFORMED, "\"crit\""},
    /* JWK import (RFC 7517, RFC 7518 §6, RFC 8037). */
    {"jwk that is not an object refused", NULL, "{\"alg\":\"ES256\",\"jwk\":\"key\"," HDR_TAIL "}", NULL,
     PROB_MALFORMED, "\"jwk\" must be a JSON object"},
    {"jwk without kty refused", NULL, "{\"alg\":\"ES256\",\"jwk\":{\"crv\":\"P-256\"}," HDR_TAIL "}", NULL,
     PROB_MALFORMED, "\"kty\""},
    {"jwk kty oct refused", NULL, "{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"oct\"}," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "kty \"oct\" is not supported"},
    {"RSA 1024 jwk refused", NULL, "{\"alg\":\"RS256\",\"jwk\":$RSA1024," HDR_TAIL "}", NULL, PROB_BAD_PUBLIC_KEY,
     "1024 bits"},
    {"RSA jwk with an even exponent refused", NULL, "{\"alg\":\"RS256\",\"jwk\":$EVEN_E," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "odd"},
    {"RSA jwk without e refused", NULL, "{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"AQAB\"}," HDR_TAIL "}",
     NULL, PROB_MALFORMED, "\"e\" is missing"},
    {"private jwk refused", NULL, "{\"alg\":\"ES256\",\"jwk\":$PRIV," HDR_TAIL "}", NULL, PROB_BAD_PUBLIC_KEY,
     "private member \"d\""},
    {"EC point not on the curve refused", NULL, "{\"alg\":\"ES256\",\"jwk\":$OFFCURVE," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "not a point on P-256"},
    {"EC coordinate of the wrong length refused", NULL, "{\"alg\":\"ES256\",\"jwk\":$SHORTX," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "\"x\" is 31 octets"},
    {"EC curve P-192 refused", NULL,
     "{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "\"P-192\" is not supported"},
    {"OKP curve Ed448 refused", NULL,
     "{\"alg\":\"EdDSA\",\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"AA\"}," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "use Ed25519"},
    {"OKP x of the wrong length refused", NULL,
     "{\"alg\":\"EdDSA\",\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}," HDR_TAIL "}", NULL,
     PROB_BAD_PUBLIC_KEY, "exactly 32 octets"},
};

/* RFC 8555 §7.3.4, jws_parse_ex with JWS_MAC: an external account binding is MAC'd, names the CA's
 * key id, has no jwk. */
#define EAB_TAIL "\"url\":\"https://ca.test/acme/new-acct\"}"

static const struct parse_case eab_parses[] = {
    {"EAB: alg RS256 refused as malformed", NULL, "{\"alg\":\"RS256\",\"kid\":\"kid-1\"," EAB_TAIL, NULL,
     PROB_MALFORMED, "not a MAC algorithm"},
    {"EAB: alg ES256 refused as malformed", NULL, "{\"alg\":\"ES256\",\"kid\":\"kid-1\"," EAB_TAIL, NULL,
     PROB_MALFORMED, "HS256"},
    {"EAB: alg none refused as malformed", NULL, "{\"alg\":\"none\",\"kid\":\"kid-1\"," EAB_TAIL, NULL,
     PROB_MALFORMED, "alg \"none\" is not a MAC algorithm"},
    {"EAB: missing alg refused", NULL, "{\"kid\":\"kid-1\"," EAB_TAIL, NULL, PROB_MALFORMED, "(missing)"},
    {"EAB: alg hs256 in lower case refused", NULL, "{\"alg\":\"hs256\",\"kid\":\"kid-1\"," EAB_TAIL, NULL,
     PROB_MALFORMED, "not a MAC algorithm"},
    {"EAB: jwk in the header refused", NULL, "{\"alg\":\"HS256\",\"jwk\":$P256,\"kid\":\"kid-1\"," EAB_TAIL, NULL,
     PROB_MALFORMED, "has \"jwk\""},
    {"EAB: missing kid refused", NULL, "{\"alg\":\"HS256\"," EAB_TAIL, NULL, PROB_MALFORMED, "no \"kid\""},
    {"EAB: empty kid refused", NULL, "{\"alg\":\"HS256\",\"kid\":\"\"," EAB_TAIL, NULL, PROB_MALFORMED,
     "empty or non-string \"kid\""},
    {"EAB: kid that is not a string refused", NULL, "{\"alg\":\"HS256\",\"kid\":7," EAB_TAIL, NULL,
     PROB_MALFORMED, "empty or non-string \"kid\""},
    {"EAB: missing url refused", NULL, "{\"alg\":\"HS256\",\"kid\":\"kid-1\"}", NULL, PROB_MALFORMED, "\"url\""},
    {"EAB: crit refused", NULL, "{\"alg\":\"HS256\",\"crit\":[\"x\"],\"kid\":\"kid-1\"," EAB_TAIL, NULL,
     PROB_MALFORMED, "\"crit\""},
};

static void parse_fails(const struct parse_case *c, unsigned flags)
{
	struct jws j;
	struct problem p;
	char *body = NULL;
	if (c->raw) {
		body = strdup(c->raw);
	} else {
		char *prot = subst(c->prot), *p64 = b64s(prot);
		assert_true(asprintf(&body, "{\"protected\":\"%s\",\"payload\":\"e30\",\"signature\":\"c2ln\"%s}", p64,
		                     c->extra ? c->extra : "") > 0);
		free(p64);
		free(prot);
	}
	memset(&j, 0x5a, sizeof j); /* jws_parse must leave *out clear on failure, whatever it held */
	memset(&p, 0, sizeof p);
	if (flags)
		assert_int_equal(jws_parse_ex(body, strlen(body), flags, &j, &p), -1);
	else
		assert_int_equal(jws_parse(body, strlen(body), &j, &p), -1);
	expect_problem(&p, c->type, c->detail);
	expect_cleared(&j);
	jws_clear(&j);
	free(body);
}

static void run_parse(void **state)
{
	parse_fails(*state, 0);
}

static void run_eab_parse(void **state)
{
	parse_fails(*state, JWS_MAC);
}

/* ---- RFC 8555 §7.3.4: the HMAC of an external account binding (RFC 7518 §3.2) ---- */

static const unsigned char mac_key32[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char mac_key64[64] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const unsigned char mac_other[32] = "fedcba9876543210fedcba9876543210";

/* An external account binding as a client makes it: header {alg, kid, url}, payload the account
 * key's JWK, MAC'd with key. */
static char *mac_jws(const char *alg, const unsigned char *key, size_t keylen, const char *payload)
{
	const char *md = strcmp(alg, "HS512") == 0 ? "SHA512" : strcmp(alg, "HS384") == 0 ? "SHA384" : "SHA256";
	char *prot = NULL, *input = NULL, *body = NULL;
	assert_true(asprintf(&prot, "{\"alg\":\"%s\",\"kid\":\"kid-1\",\"url\":\"https://ca.test/acme/new-acct\"}",
	                     alg) > 0);
	char *p64 = b64s(prot), *pl64 = b64s(payload);
	assert_true(asprintf(&input, "%s.%s", p64, pl64) > 0);
	unsigned char mac[64];
	size_t maclen = 0;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, keylen, (unsigned char *)input, strlen(input), mac,
	                          sizeof mac, &maclen));
	char *sig = b64url_encode(mac, maclen);
	assert_true(asprintf(&body, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, pl64, sig) >
	            0);
	free(prot);
	free(input);
	free(p64);
	free(pl64);
	free(sig);
	return body;
}

enum mac_change { MAC_AS_MADE, MAC_OTHER_KEY, MAC_PAYLOAD, MAC_TRUNCATED, MAC_EMPTY };

struct mac_case {
	const char *name;
	const char *alg;
	const unsigned char *sign_key, *verify_key;
	size_t sign_len, verify_len;
	enum mac_change change;
	const char *type; /* NULL: verifies */
	int status;
	const char *detail;
};

static const struct mac_case macs[] = {
    {"EAB: HS256 MAC verifies with the CA's key", "HS256", mac_key32, mac_key32, 32, 32, MAC_AS_MADE, NULL, 0, NULL},
    {"EAB: HS384 MAC verifies with a 64-byte key", "HS384", mac_key64, mac_key64, 64, 64, MAC_AS_MADE, NULL, 0, NULL},
    {"EAB: HS512 MAC verifies with a 64-byte key", "HS512", mac_key64, mac_key64, 64, 64, MAC_AS_MADE, NULL, 0, NULL},
    {"EAB: HS256 MAC made with another key is unauthorized", "HS256", mac_other, mac_key32, 32, 32, MAC_AS_MADE,
     PROB_UNAUTHORIZED, 403, "MAC is invalid"},
    {"EAB: HS256 MAC over a changed payload is unauthorized", "HS256", mac_key32, mac_key32, 32, 32, MAC_PAYLOAD,
     PROB_UNAUTHORIZED, 403, "MAC is invalid"},
    {"EAB: HS256 MAC truncated to 16 bytes is unauthorized", "HS256", mac_key32, mac_key32, 32, 32, MAC_TRUNCATED,
     PROB_UNAUTHORIZED, 403, "MAC is invalid"},
    {"EAB: an empty MAC is unauthorized", "HS256", mac_key32, mac_key32, 32, 32, MAC_EMPTY, PROB_UNAUTHORIZED, 403,
     "MAC is invalid"},
    {"EAB: HS512 with a 32-byte key is malformed (RFC 7518 §3.2)", "HS512", mac_key32, mac_key32, 32, 32,
     MAC_AS_MADE, PROB_MALFORMED, 400, "at least 64 bytes"},
    {"EAB: HS384 with a 32-byte key is malformed (RFC 7518 §3.2)", "HS384", mac_key32, mac_key32, 32, 32,
     MAC_AS_MADE, PROB_MALFORMED, 400, "at least 48 bytes"},
};

static void run_mac(void **state)
{
	const struct mac_case *c = *state;
	struct jws j;
	struct problem p;
	char *body = mac_jws(c->alg, c->sign_key, c->sign_len, jwk_p256), *changed = NULL;
	json_t *hold = NULL;
	if (c->change == MAC_PAYLOAD) {
		changed = with_member(body, "payload", "e30");
	} else if (c->change == MAC_TRUNCATED || c->change == MAC_EMPTY) {
		char *sig = NULL;
		if (c->change == MAC_TRUNCATED) {
			const char *full = member(body, "signature", &hold);
			unsigned char *raw = NULL;
			size_t rawlen = 0;
			assert_int_equal(b64url_decode(full, strlen(full), &raw, &rawlen), 0);
			sig = b64url_encode(raw, 16);
			free(raw);
		}
		changed = with_member(body, "signature", sig ? sig : "");
		free(sig);
	}
	const char *use = changed ? changed : body;
	memset(&p, 0, sizeof p);
	assert_int_equal(jws_parse_ex(use, strlen(use), JWS_MAC, &j, &p), 0);
	assert_string_equal(j.alg, c->alg);
	assert_string_equal(j.kid, "kid-1");
	assert_null(j.jwk);
	assert_null(j.nonce);
	int rc = jws_verify_hmac(&j, c->verify_key, c->verify_len, &p);
	if (!c->type) {
		if (rc != 0)
			fail_msg("MAC refused: %s %s", p.type, p.detail);
		assert_memory_equal(j.payload, jwk_p256, strlen(jwk_p256));
	} else {
		assert_int_equal(rc, -1);
		assert_string_equal(p.type, c->type);
		assert_int_equal(p.status, c->status);
		if (!strstr(p.detail, c->detail))
			fail_msg("detail \"%s\" does not mention \"%s\"", p.detail, c->detail);
	}
	jws_clear(&j);
	json_decref(hold);
	free(changed);
	free(body);
}

/* The same binding is refused by jws_parse: normal requests never accept a MAC (RFC 8555 §6.2). */
static void test_mac_jws_refused_without_the_flag(void **state)
{
	(void)state;
	struct jws j;
	struct problem p;
	char *body = mac_jws("HS256", mac_key32, sizeof mac_key32, jwk_p256);
	memset(&p, 0, sizeof p);
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), -1);
	expect_problem(&p, PROB_BAD_SIGNATURE_ALGORITHM, "MAC");
	expect_cleared(&j);
	free(body);
}

/* A JWS parsed for a request cannot be passed off as MAC'd: jws_verify_hmac wants a MAC alg. */
static void test_verify_hmac_needs_a_mac_alg(void **state)
{
	(void)state;
	struct jws j;
	struct problem p;
	char *body = sign_as(k_p256, 1, "{}");
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	memset(&p, 0, sizeof p);
	assert_int_equal(jws_verify_hmac(&j, mac_key32, sizeof mac_key32, &p), -1);
	assert_string_equal(p.type, PROB_SERVER_INTERNAL);
	jws_clear(&j);
	free(body);
}

/* ---- RFC 7638 ---- */

#define RFC7638_N                                                                                                  \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjh" \
	"Mstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQv" \
	"RL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzK" \
	"nqDKgw"

/* RFC 7638 §3.1: the example key, with its non-required members, has this thumbprint. */
static void test_rfc7638_example_thumbprint(void **state)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n", RFC7638_N, "e", "AQAB", "alg", "RS256",
	                        "kid", "2011-04-29");
	struct problem p;
	EVP_PKEY *k = jwk_import(jwk, &p);
	assert_non_null(k);
	char tp[JWK_THUMBPRINT_LEN + 1];
	assert_int_equal(jwk_thumbprint(k, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* RFC 7638 §3.1: the canonical JSON, required members in order, no white space. */
	char *c = jwk_canonical(k);
	assert_string_equal(c, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}");
	free(c);
	EVP_PKEY_free(k);
	json_decref(jwk);
}

/* RFC 7518 §6.3.1.1: leading zero octets of n are not part of the canonical form. */
static void test_rsa_canonical_is_minimal(void **state)
{
	unsigned char *n = NULL;
	size_t len = 0;
	assert_int_equal(b64url_decode(RFC7638_N, strlen(RFC7638_N), &n, &len), 0);
	unsigned char *padded = calloc(1, len + 1);
	memcpy(padded + 1, n, len);
	char *n0 = b64url_encode(padded, len + 1);
	json_t *jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n0, "e", "AAEAAQ");
	struct problem p;
	EVP_PKEY *k = jwk_import(jwk, &p);
	assert_non_null(k);
	char tp[JWK_THUMBPRINT_LEN + 1];
	assert_int_equal(jwk_thumbprint(k, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	EVP_PKEY_free(k);
	json_decref(jwk);
	free(n0);
	free(padded);
	free(n);
}

/* RFC 7518 §6.2.1.2: EC coordinates keep their full length, leading zeros included. */
static void test_ec_canonical_is_fixed_length(void **state)
{
	EVP_PKEY *k = NULL;
	for (int tries = 0; tries < 200; tries++) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		assert_non_null(k);
		BIGNUM *x = NULL;
		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
		int bytes = BN_num_bytes(x);
		BN_free(x);
		if (bytes < 66)
			break; /* a key whose x has a leading zero octet */
		EVP_PKEY_free(k);
		k = NULL;
	}
	assert_non_null(k);
	json_t *o = jwk_json_of(k);
	const char *x = json_string_value(json_object_get(o, "x")), *y = json_string_value(json_object_get(o, "y"));
	assert_int_equal(strlen(x), b64url_encoded_len(66));
	assert_int_equal(strlen(y), b64url_encoded_len(66));
	EVP_PKEY *back = jwk_import(o, &(struct problem){0});
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, k), 1);
	EVP_PKEY_free(back);
	json_decref(o);
	EVP_PKEY_free(k);
}

/* jwk_canonical and jwk_from_string are inverses, with RFC 7638 §3.2 member order. */
struct canon_case {
	EVP_PKEY **key;
	const char *prefix;
};

static void run_canonical(void **state)
{
	const struct canon_case *c = *state;
	char *s = jwk_canonical(*c->key);
	assert_non_null(s);
	if (strncmp(s, c->prefix, strlen(c->prefix)) != 0)
		fail_msg("canonical %s does not start with %s", s, c->prefix);
	assert_null(strpbrk(s, " \n\t="));
	EVP_PKEY *k = jwk_from_string(s);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_eq(k, *c->key), 1);
	char *again = jwk_canonical(k);
	assert_string_equal(again, s);
	char t1[JWK_THUMBPRINT_LEN + 1], t2[JWK_THUMBPRINT_LEN + 1];
	assert_int_equal(jwk_thumbprint(k, t1), 0);
	assert_int_equal(jwk_thumbprint(*c->key, t2), 0);
	assert_int_equal(strlen(t1), JWK_THUMBPRINT_LEN);
	assert_string_equal(t1, t2);
	EVP_PKEY_free(k);
	free(again);
	free(s);
}

static const struct canon_case canons[] = {
    {&k_rsa, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\""},
    {&k_p256, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\""},
    {&k_p384, "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\""},
    {&k_p521, "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\""},
    {&k_ed25519, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\""},
};

static void test_canonical_of_unsupported_key_is_null(void **state)
{
	assert_null(jwk_canonical(k_ed448));
	assert_null(jwk_from_string("not json"));
	assert_null(jwk_from_string("{\"kty\":\"RSA\"}"));
	assert_null(jwk_from_string(NULL));
	char tp[JWK_THUMBPRINT_LEN + 1];
	assert_int_equal(jwk_thumbprint(k_ed448, tp), -1);
}

/* Stored keys are parsed once and shared: the second call gives the same key (one more
 * reference, freed by the caller as before); after jwk_cache_clear keys are imported again. */
static void test_from_string_caches_and_shares(void **state)
{
	char *s = jwk_canonical(k_p256), *t = jwk_canonical(k_p384);
	EVP_PKEY *a = jwk_from_string(s), *b = jwk_from_string(s), *c = jwk_from_string(t);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_int_equal(EVP_PKEY_eq(c, k_p384), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	jwk_cache_clear();
	EVP_PKEY *d = jwk_from_string(s);
	assert_non_null(d);
	assert_int_equal(EVP_PKEY_eq(d, k_p256), 1);
	assert_int_equal(EVP_PKEY_eq(c, k_p384), 1); /* a caller's reference outlives the cache */
	EVP_PKEY_free(c);
	EVP_PKEY_free(d);
	jwk_cache_clear();
	free(s);
	free(t);
}

/* ---- payload and signing input ---- */

/* RFC 8555 §6.3: an empty payload is a POST-as-GET; "{}" is not. */
static void test_post_as_get_detected(void **state)
{
	struct jws j;
	struct problem p;
	char *body = sign_as(k_p256, 0, "");
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_true(j.post_as_get);
	assert_int_equal(j.payload_len, 0);
	assert_non_null(j.payload);
	assert_string_equal((const char *)j.payload, "");
	assert_int_equal(jws_verify(&j, k_p256, &p), 0);
	jws_clear(&j);
	free(body);

	body = sign_as(k_p256, 0, "{}");
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_false(j.post_as_get);
	assert_int_equal(j.payload_len, 2);
	jws_clear(&j);
	free(body);
}

/* RFC 7515 §5.2: the signing input is the protected string as sent, whatever its white space. */
static void test_signing_input_is_as_sent(void **state)
{
	const char *prot = "{ \"alg\" : \"EdDSA\",\n  \"kid\": \"https://ca.test/acme/acct/1\",\n  \"nonce\": \"n\",\n"
	                   "  \"url\": \"https://ca.test/acme/order/1\" }";
	char *p64 = b64s(prot), *pl64 = b64s(""), *input = NULL;
	assert_true(asprintf(&input, "%s.%s", p64, pl64) > 0);
	unsigned char sig[64];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, k_ed25519, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	char *body = crafted(prot, "", sig, siglen);
	struct jws j;
	struct problem p;
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_string_equal(j.signing_input, input);
	assert_int_equal(jws_verify(&j, k_ed25519, &p), 0);
	jws_clear(&j);
	free(body);
	free(input);
	free(p64);
	free(pl64);
}

/* jws_sign sets "alg" from the key, whatever the caller put there. */
static void test_sign_sets_alg_from_key(void **state)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "alg", "none", "kid", "https://ca.test/acme/acct/1", "url",
	                      "https://ca.test/x");
	char *body = jws_sign(k_p384, m, "{}");
	struct jws j;
	struct problem p;
	assert_int_equal(jws_parse(body, strlen(body), &j, &p), 0);
	assert_string_equal(j.alg, "ES384");
	assert_null(j.nonce); /* optional at this layer */
	assert_int_equal(jws_verify(&j, k_p384, &p), 0);
	jws_clear(&j);
	jws_clear(&j); /* clearing twice is harmless */
	free(body);
	json_decref(m);
	assert_null(jws_sign(k_ed448, NULL, "{}"));
}

/* ---- fixtures ---- */

static char *dump_sorted(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	return s;
}

static int setup(void **state)
{
	k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	k_p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	k_p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	k_ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k_ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	if (!k_rsa || !k_rsa1024 || !k_p256 || !k_p384 || !k_p521 || !k_ed25519 || !k_ed448)
		return -1;
	jwk_p256 = jwk_canonical(k_p256);
	jwk_rsa1024 = jwk_canonical(k_rsa1024);

	json_t *o = jwk_json_of(k_p256);
	json_object_set_new(o, "d", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	jwk_priv = dump_sorted(o);
	json_decref(o);

	o = jwk_json_of(k_p256);
	const char *y = json_string_value(json_object_get(o, "y"));
	unsigned char *raw = NULL;
	size_t len = 0;
	assert_int_equal(b64url_decode(y, strlen(y), &raw, &len), 0);
	raw[len - 1] ^= 0x01; /* (x, y') with y' = y ^ 1 is not on P-256 */
	char *y2 = b64url_encode(raw, len);
	json_object_set_new(o, "y", json_string(y2));
	free(y2);
	free(raw);
	jwk_offcurve = dump_sorted(o);
	json_decref(o);

	o = jwk_json_of(k_p256);
	const char *x = json_string_value(json_object_get(o, "x"));
	assert_int_equal(b64url_decode(x, strlen(x), &raw, &len), 0);
	char *x31 = b64url_encode(raw + 1, len - 1);
	json_object_set_new(o, "x", json_string(x31));
	free(x31);
	free(raw);
	jwk_shortx = dump_sorted(o);
	json_decref(o);

	o = jwk_json_of(k_rsa);
	json_object_set_new(o, "e", json_string("AQAA")); /* 65536 */
	jwk_rsa_even_e = dump_sorted(o);
	json_decref(o);
	return 0;
}

static int teardown(void **state)
{
	jwk_cache_clear();
	EVP_PKEY *keys[] = {k_rsa, k_rsa1024, k_p256, k_p384, k_p521, k_ed25519, k_ed448};
	for (size_t i = 0; i < NELEM(keys); i++)
		EVP_PKEY_free(keys[i]);
	char *texts[] = {jwk_p256, jwk_rsa1024, jwk_priv, jwk_offcurve, jwk_shortx, jwk_rsa_even_e};
	for (size_t i = 0; i < NELEM(texts); i++)
		free(texts[i]);
	return 0;
}

int main(void)
{
	static const char *const part_names[] = {"payload", "protected header", "signature", "key"};
	struct CMUnitTest tests[192];
	size_t n = 0;
	char names[NELEM(round_trips)][64];

	if (NELEM(round_trips) + NELEM(tampers) + NELEM(fits) + NELEM(eclens) + NELEM(parses) + NELEM(canons) + NELEM(macs) + NELEM(eab_parses) + 9 >
	    NELEM(tests))
		abort();
	for (size_t i = 0; i < NELEM(round_trips); i++) {
		snprintf(names[i], sizeof names[i], "%s sign and verify round trip, jwk and kid", round_trips[i].alg);
		tests[n++] = (struct CMUnitTest){.name = names[i], .test_func = run_round_trip,
		                                 .initial_state = (void *)&round_trips[i]};
	}
	for (size_t i = 0; i < NELEM(tampers); i++) {
		const char *alg = tampers[i].key == &k_rsa ? "RS256" : tampers[i].key == &k_p256 ? "ES256"
		                  : tampers[i].key == &k_p384 ? "ES384" : tampers[i].key == &k_p521 ? "ES512" : "EdDSA";
		snprintf(tamper_names[i], sizeof tamper_names[i], "%s with a %s %s is invalid", alg,
		         tampers[i].part == OTHER_KEY ? "different" : "tampered", part_names[tampers[i].part]);
		tests[n++] = (struct CMUnitTest){.name = tamper_names[i], .test_func = run_tamper,
		                                 .initial_state = (void *)&tampers[i]};
	}
	for (size_t i = 0; i < NELEM(fits); i++)
		tests[n++] = (struct CMUnitTest){.name = fits[i].name, .test_func = run_fit, .initial_state = (void *)&fits[i]};
	for (size_t i = 0; i < NELEM(eclens); i++)
		tests[n++] = (struct CMUnitTest){.name = eclens[i].name, .test_func = run_ec_length,
		                                 .initial_state = (void *)&eclens[i]};
	for (size_t i = 0; i < NELEM(parses); i++)
		tests[n++] = (struct CMUnitTest){.name = parses[i].name, .test_func = run_parse,
		                                 .initial_state = (void *)&parses[i]};
	for (size_t i = 0; i < NELEM(eab_parses); i++)
		tests[n++] = (struct CMUnitTest){.name = eab_parses[i].name, .test_func = run_eab_parse,
		                                 .initial_state = (void *)&eab_parses[i]};
	for (size_t i = 0; i < NELEM(macs); i++)
		tests[n++] = (struct CMUnitTest){.name = macs[i].name, .test_func = run_mac, .initial_state = (void *)&macs[i]};
	static const char *const canon_names[] = {
	    "RSA canonical JWK round trip", "P-256 canonical JWK round trip", "P-384 canonical JWK round trip",
	    "P-521 canonical JWK round trip", "Ed25519 canonical JWK round trip"};
	for (size_t i = 0; i < NELEM(canons); i++)
		tests[n++] = (struct CMUnitTest){.name = canon_names[i], .test_func = run_canonical,
		                                 .initial_state = (void *)&canons[i]};
	const struct CMUnitTest plain[] = {
	    cmocka_unit_test(test_rfc7638_example_thumbprint),
	    cmocka_unit_test(test_rsa_canonical_is_minimal),
	    cmocka_unit_test(test_ec_canonical_is_fixed_length),
	    cmocka_unit_test(test_canonical_of_unsupported_key_is_null),
	    cmocka_unit_test(test_from_string_caches_and_shares),
	    cmocka_unit_test(test_post_as_get_detected),
	    cmocka_unit_test(test_signing_input_is_as_sent),
	    cmocka_unit_test(test_sign_sets_alg_from_key),
	    cmocka_unit_test(test_mac_jws_refused_without_the_flag),
	    cmocka_unit_test(test_verify_hmac_needs_a_mac_alg),
	};
	for (size_t i = 0; i < NELEM(plain); i++)
		tests[n++] = plain[i];
	return _cmocka_run_group_tests("jws", tests, n, setup, teardown);
}
