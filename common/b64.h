/* b64: base64url without padding (RFC 4648 §5, as JOSE and ACME use it). */
#ifndef COBBLE_B64_H
#define COBBLE_B64_H

#include <stddef.h>

/* Length of the encoding of n bytes, without the NUL. */
size_t b64url_encoded_len(size_t n);
/* Encode into out (outlen must be > b64url_encoded_len(n)); returns characters written or -1. */
int b64url_encode_buf(const void *in, size_t n, char *out, size_t outlen);
/* Encode into a new string the caller frees. */
char *b64url_encode(const void *in, size_t n);
/* Decode len characters (padding and any character outside the alphabet are rejected).
 * On success *out is a new buffer the caller frees (NUL-terminated for convenience), *outlen
 * its length; returns 0, or -1 on bad input. */
int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);
/* base64url of 32 random bytes: an ACME token (RFC 8555 §8.1; 43 characters + NUL). */
void b64url_random_token(char out[44]);

#endif
