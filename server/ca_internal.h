/* ca_internal: what server/ca.c and server/ca_csr.c share; not for other modules. */
#ifndef COBBLE_CA_INTERNAL_H
#define COBBLE_CA_INTERNAL_H

#include "server/ca.h"

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <time.h>

#define KEYID_LEN 20 /* RFC 5280 §4.2.1.2 method (1): SHA-1 of the key bits */

/* KeyUsage bit numbers, RFC 5280 §4.2.1.3. */
enum { KUBIT_DIGITAL_SIGNATURE = 0, KUBIT_KEY_ENCIPHERMENT = 2, KUBIT_KEY_CERT_SIGN = 5,
       KUBIT_CRL_SIGN = 6 };
#define KU(bit) (1u << (bit))
enum { EKU_SERVER = 1, EKU_CLIENT = 2 };

struct ca;

/* Log the failed OpenSSL call once, with OpenSSL's reason, and empty this thread's error queue. */
void ca_ossl_fail(const char *call);

/* Write a sentence for the client into err (when there is one) and empty OpenSSL's error queue. */
void ca_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For ca_crl.c: hierarchy i's issuing intermediate (new, caller frees), the shared issuing key
 * (borrowed) and its key id (borrowed, `*idlen` bytes). Returns 0, or -1 when i is out of range. */
int ca_crl_signer(const struct ca *ca, int i, X509 **cert, EVP_PKEY **key, const unsigned char **keyid,
                  size_t *idlen);

/* RFC 3279 §2.3.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }; its
 * template (ca_cert.c) reads and writes RSA keys without OpenSSL's encoders and decoders. */
struct ca_rsa_pub {
	BIGNUM *n, *e;
};
DECLARE_ASN1_ITEM(CA_RSA_PUB)

/* --- ca_cert.c: building one certificate --- */

/* Everything one certificate needs; ca_cert_make turns it into a signed X509. */
struct ca_cert_spec {
	const X509_NAME *subject, *issuer;
	EVP_PKEY *pub, *signer;
	const unsigned char *aki; /* issuer's key id (KEYID_LEN bytes); NULL for a root */
	time_t nb, na;
	int is_ca;
	int pathlen;  /* < 0: no pathLenConstraint */
	unsigned ku;  /* KU() mask, always critical */
	unsigned eku; /* EKU_* mask; 0: no extension */
	const char *const *dns;
	size_t ndns;
	const char *const *ips;
	size_t nips;
	const char *crl_url; /* NULL: no CRL Distribution Points */
};

/* A new signed certificate (caller frees), its SKI in keyid; NULL after logging. */
X509 *ca_cert_make(const struct ca_cert_spec *s, unsigned char keyid[KEYID_LEN]);
/* A new key of type t (caller frees); NULL after logging. */
EVP_PKEY *ca_cert_key_new(enum ca_key_type t);
/* "cn" (NULL: none) as the only attribute of a new name (caller frees); NULL after logging. */
X509_NAME *ca_cert_name_cn(const char *cn);
/* PEM of a certificate, PKCS#8 PEM of a private key: new strings (caller frees), NULL after logging. */
char *ca_cert_pem(X509 *x);
char *ca_cert_key_pem(EVP_PKEY *k);
/* Serial hex as ca_issued.serial: the INTEGER's content octets in lowercase hex; -1 when negative
 * or over 20 octets. */
int ca_cert_serial_hex(const ASN1_INTEGER *s, char out[41]);

#endif
