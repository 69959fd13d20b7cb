/* fuzz_csr: libFuzzer target for the CSR checks a finalize runs (server/ca_csr.c, issuer.c):
 * the input as a DER PKCS#10 request through ca_csr_parse (signature, key type and size, names),
 * then issuer_csr_matches against an order for example.com and 192.0.2.1. Checks: a refusal
 * says why; an accepted CSR has a key.
 * A mutated request almost never keeps a valid signature, and the name checks come after the
 * signature's: so every other input that still parses as PKCS#10 is also signed anew with a
 * fixed P-256 key (its own key replaced), and the names behind the signature get fuzzed too. */
#include "server/ca.h"
#include "server/issuer.h"
#include "server/store.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const uint8_t *data, size_t size);

/* data as a request signed anew by a fixed key, through the same checks (nothing when it is
 * not PKCS#10 at all) */
static void check_resigned(const uint8_t *data, size_t size)
{
	static EVP_PKEY *fixed;
	if (!fixed && !(fixed = EVP_EC_gen("P-256")))
		abort();
	const unsigned char *p = data;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)size);
	unsigned char *der = NULL;
	int len = -1;
	if (req && X509_REQ_set_pubkey(req, fixed) == 1 && X509_REQ_sign(req, fixed, EVP_sha256()) > 0)
		len = i2d_X509_REQ(req, &der);
	if (len > 0)
		check(der, (size_t)len);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size);
	if (size > 0 && size < 65536 && (data[size - 1] & 1))
		check_resigned(data, size);
	return 0;
}

static void check(const uint8_t *data, size_t size)
{
	struct ca_csr csr;
	char err[512] = "";
	memset(&csr, 0, sizeof csr);
	if (ca_csr_parse(data, size, &csr, err, sizeof err) < 0) {
		if (!err[0])
			abort();
		ca_csr_clear(&csr);
		return;
	}
	if (!csr.pubkey)
		abort();
	struct identifier ids[2] = {{.type = "dns", .value = "example.com"}, {.type = "ip", .value = "192.0.2.1"}};
	struct order o = {.idents = ids, .nidents = 2};
	struct problem p;
	memset(&p, 0, sizeof p);
	if (issuer_csr_matches(&o, &csr, &p) < 0 && (!p.type || !p.detail[0]))
		abort();
	ca_csr_clear(&csr);
}
