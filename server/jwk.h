/* jwk: JSON Web Keys (RFC 7517) as cobble takes account keys: import of a public JWK (RSA, EC
 * P-256/P-384/P-521, OKP Ed25519; RFC 7518 §6, RFC 8037 §2), the RFC 7638 canonical form and
 * thumbprint, and a bounded cache of stored account keys parsed once. */
#ifndef COBBLE_JWK_H
#define COBBLE_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#include "server/problem.h"

#define JWK_THUMBPRINT_LEN 43 /* base64url of a SHA-256 digest */
#define JWK_RSA_MIN_BITS 2048
#define JWK_SUPPORTED_KEYS "RSA (2048 to 8192 bits), EC P-256, P-384, P-521 or OKP Ed25519"

/* The kinds of account key cobble verifies with; JWK_OTHER for any other key. */
enum jwk_kind { JWK_OTHER, JWK_RSA, JWK_P256, JWK_P384, JWK_P521, JWK_ED25519 };

/* The kind of key (borrowed). */
enum jwk_kind jwk_kind(EVP_PKEY *key);

/* Import a public JWK (kty RSA, EC with crv P-256/P-384/P-521, OKP with crv Ed25519). Private
 * members are refused. Returns a new key the caller frees, or NULL with p filled
 * (badPublicKey or malformed). RSA keys under 2048 bits are refused (badPublicKey). */
EVP_PKEY *jwk_import(const json_t *jwk, struct problem *p);

/* The RFC 7638 canonical JSON (required members only, sorted, no white space) of a public key,
 * as a new string the caller frees; NULL for an unsupported key type. This is what the store
 * keeps as an account's key. */
char *jwk_canonical(EVP_PKEY *key);

/* RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)), JWK_THUMBPRINT_LEN chars + NUL. */
int jwk_thumbprint(EVP_PKEY *key, char out[JWK_THUMBPRINT_LEN + 1]);

/* Import a key from its canonical JSON string (as jwk_canonical made it). Caller frees (one
 * reference: keys are cached and shared, never modify one). Thread-safe. */
EVP_PKEY *jwk_from_string(const char *canonical);
/* Drop the cached keys (at shutdown). */
void jwk_cache_clear(void);

/* Decode the base64url string member `name` of the JOSE object o (RFC 7515 §2) into a new buffer
 * the caller frees; malformed (p filled, -1) when absent, not a string or not base64url. `where`
 * names the object in the detail ("JWS member", "jwk member"). */
int jwk_b64_member(const json_t *o, const char *name, const char *where, unsigned char **out, size_t *outlen,
                   struct problem *p);

/* A client-supplied name made safe to quote in a detail: at most 40 printable ASCII characters
 * (then "..."), written to buf, which is returned. */
const char *jwk_shown(const char *s, char buf[48]);

#endif
