/* ca_internal: what server/ca.c and server/ca_csr.c share; not for other modules. */
#ifndef COBBLE_CA_INTERNAL_H
#define COBBLE_CA_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

struct ca;

/* Write a sentence for the client into err (when there is one) and empty OpenSSL's error queue. */
void ca_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For ca_crl.c: hierarchy i's issuing intermediate (new, caller frees), the shared issuing key
 * (borrowed) and its key id (borrowed, `*idlen` bytes). Returns 0, or -1 when i is out of range. */
int ca_crl_signer(const struct ca *ca, int i, X509 **cert, EVP_PKEY **key, const unsigned char **keyid,
                  size_t *idlen);

#endif
