/* jws: RFC 8555 §6.2 flattened JWS (RFC 7515) parsing and verification. Algorithms: RS256, ES256,
 * ES384, ES512, EdDSA (Ed25519); HS256, HS384, HS512 only for an external account binding
 * (RFC 8555 §7.3.4). The keys themselves (JWK import, thumbprints) are server/jwk.h's. */
#ifndef COBBLE_JWS_H
#define COBBLE_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/problem.h"

struct jws {
	char alg[16];
	char *nonce;           /* protected "nonce", or NULL when absent */
	char *url;             /* protected "url" (required: parse fails without it) */
	char *kid;             /* protected "kid", or NULL */
	EVP_PKEY *jwk;         /* protected "jwk" imported, or NULL */
	json_t *jwk_json;      /* protected "jwk" as sent (borrowed from `protected_hdr`), or NULL */
	unsigned char *payload;/* decoded payload, NUL-terminated; "" for POST-as-GET */
	size_t payload_len;
	bool post_as_get;      /* payload was the empty string (RFC 8555 §6.3) */
	/* internal, for jws_verify */
	json_t *protected_hdr;
	char *signing_input;   /* ASCII(protected "." payload) as sent */
	unsigned char *sig;
	size_t sig_len;
};

/* Parse a flattened JWS JSON body (RFC 8555 §6.2): exactly the members protected, payload,
 * signature; "alg" one of the supported ones (else badSignatureAlgorithm) and not "none"/MAC;
 * exactly one of "jwk" and "kid" (else malformed); "url" present. Does not check the signature or
 * the nonce. On success fills *out (free with jws_clear) and returns 0; otherwise fills p
 * (malformed/badSignatureAlgorithm/badPublicKey, status 400) and returns -1, leaving *out clear. */
int jws_parse(const char *body, size_t len, struct jws *out, struct problem *p);

/* jws_parse_ex flags. */
#define JWS_MAC 0x1 /* RFC 8555 §7.3.4 external account binding: "alg" HS256/HS384/HS512 and
                     * nothing else (else malformed), "kid" (the CA's key id) and no "jwk" */

/* jws_parse with flags (0 is jws_parse). Same ownership and errors. */
int jws_parse_ex(const char *body, size_t len, unsigned flags, struct jws *out, struct problem *p);

/* Verify j's signature with key: the key type must fit j->alg (RSA >= 2048 bits for RS256,
 * P-256/P-384/P-521 for ES256/384/512, Ed25519 for EdDSA), else badSignatureAlgorithm;
 * a bad signature is malformed ("JWS signature is invalid"). ECDSA signatures are the JOSE
 * fixed-size r||s form. Returns 0 when valid, -1 with p filled. */
int jws_verify(const struct jws *j, EVP_PKEY *key, struct problem *p);

/* Verify the MAC of j (parsed with JWS_MAC) with the raw key (borrowed). The key must be at least
 * as long as the hash (RFC 7518 §3.2), else malformed; a wrong MAC is unauthorized (the MAC is the
 * proof of the external account). Compares in constant time. Returns 0 when valid, -1 with p. */
int jws_verify_hmac(const struct jws *j, const unsigned char *key, size_t keylen, struct problem *p);

/* Free what *j owns and zero it. */
void jws_clear(struct jws *j);

/* Sign for tests and tools: produce a flattened JWS JSON string over `payload` (may be "" for
 * POST-as-GET) with the given protected header members (the function adds "alg" from the key:
 * RS256/ES256/ES384/ES512/EdDSA). Caller frees. NULL on failure. */
char *jws_sign(EVP_PKEY *key, json_t *protected_members, const char *payload);

#endif
