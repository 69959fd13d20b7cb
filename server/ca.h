/* ca: the in-memory signing CA (OpenSSL only: no JSON, no HTTP). Key hierarchy made at start-up,
 * CSR checks, leaf issuance, chains, and the TLS identity of cobble's own listeners. */
#ifndef COBBLE_CA_H
#define COBBLE_CA_H

#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

enum ca_key_type { CA_KEY_ECDSA_P256, CA_KEY_RSA2048 };

struct ca_options {
	enum ca_key_type key_type; /* of the roots and intermediates */
	int chain_length;          /* intermediates between leaf and root, >= 1 (Pebble's CHAIN_LENGTH) */
	int alternate_roots;       /* extra hierarchies, >= 0 (Pebble's ALTERNATE_ROOTS) */
	int validity_days;         /* default leaf validity when the order gives no notAfter, >= 1 */
	char crl_url[256];         /* RFC 5280 §4.2.1.13: put in every leaf's CRL Distribution
	                              Points when not empty */
};

struct ca;

/* Make 1 + alternate_roots hierarchies. Every hierarchy's issuing (lowest) intermediate has the
 * same subject and key, so one signed leaf verifies under every root (as Pebble's alternate
 * chains). Returns NULL (after logging the failed OpenSSL call) on failure. */
struct ca *ca_new(const struct ca_options *opt);
void ca_free(struct ca *ca); /* NULL is a no-op */

int ca_nroots(const struct ca *ca);
/* PEM of root i, root i's private key, the issuing intermediate of hierarchy i, its key.
 * New strings the caller frees; NULL when i is out of range. */
char *ca_root_pem(const struct ca *ca, int i);
char *ca_root_key_pem(const struct ca *ca, int i);
char *ca_intermediate_pem(const struct ca *ca, int i);
char *ca_intermediate_key_pem(const struct ca *ca, int i);

/* A parsed, self-signature-checked CSR. Names are lowercased; IPs in inet_ntop text form. */
struct ca_csr {
	EVP_PKEY *pubkey;
	char **dns;   /* SAN dNSNames, plus the subject CN when it is a name not already listed */
	size_t ndns;
	char **ips;   /* SAN iPAddresses, plus the CN when it is an IP literal not already listed */
	size_t nips;
};

/* Parse a DER PKCS#10 CSR and verify its signature. On failure writes a sentence a person can
 * act on into err (e.g. "CSR signature does not verify", "CSR public key is RSA 1024 bits; use
 * RSA 2048-4096 or ECDSA P-256/P-384") and returns -1. The key must be RSA 2048..4096 bits or
 * ECDSA P-256/P-384. Free with ca_csr_clear. */
int ca_csr_parse(const unsigned char *der, size_t len, struct ca_csr *out, char *err, size_t errlen);
void ca_csr_clear(struct ca_csr *csr);

struct ca_issued {
	char serial[41];   /* lowercase hex, no leading zeros beyond what DER needs */
	unsigned char aki[32]; /* AKI keyIdentifier (the issuing intermediate's SKI), RFC 9773 §4.1 */
	size_t aki_len;
	char **chains;     /* per root: PEM of leaf then intermediates up to (not including) the root */
	size_t nchains;
	time_t not_before, not_after;
};

/* Sign a leaf for pub with the names as SANs (CN = first DNS name when <= 64 characters),
 * serial of 16 CSPRNG bytes, SKI/AKI, KU digitalSignature (+ keyEncipherment for RSA),
 * EKU serverAuth+clientAuth, basicConstraints CA:FALSE. nb/na: 0 means now / now+validity.
 * Thread-safe. Returns 0 or -1; free out with ca_issued_clear. */
int ca_issue(struct ca *ca, EVP_PKEY *pub, const char *const *dns, size_t ndns,
             const char *const *ips, size_t nips, time_t nb, time_t na, struct ca_issued *out);
void ca_issued_clear(struct ca_issued *out);

/* For revokeCert: parse a DER certificate, check it was signed by this CA's issuing
 * intermediate; write its serial (as ca_issued) and return its public key (caller frees) in *pub.
 * Returns 0, or -1 with a sentence in err. */
int ca_cert_inspect(const struct ca *ca, const unsigned char *der, size_t len, char serial[41],
                    EVP_PKEY **pub, char *err, size_t errlen);

/* One revoked certificate, for ca_crl. */
struct ca_revoked {
	char serial[41]; /* hex, as ca_issued writes it */
	time_t when;
	int reason;      /* RFC 5280 §5.3.1 CRLReason; 0 (unspecified) leaves the extension out */
};

/* RFC 5280 §5: the CRL of hierarchy i's issuing intermediate (server/ca_crl.c): version 2, that
 * intermediate's name, thisUpdate now, nextUpdate now + next_update, the revoked certificates
 * with their reason codes, CRL Number `number` and the AKI. DER in *der (caller frees with
 * OPENSSL_free). Returns 0, or -1 after logging. */
int ca_crl(const struct ca *ca, int i, const struct ca_revoked *rev, size_t n, long number,
           long next_update, unsigned char **der, size_t *len);

/* The TLS identity of cobble's listeners: a throwaway root "cobble TLS root" (ECDSA P-256) and a
 * leaf for the given names. New PEM strings for the caller to free. Returns 0 or -1. */
int ca_tls_identity(const char *const *dns, size_t ndns, const char *const *ips, size_t nips,
                    char **cert_pem, char **key_pem, char **root_pem);

#endif
