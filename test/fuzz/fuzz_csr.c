/* fuzz_csr: libFuzzer target for the CSR checks a finalize runs (server/ca_csr.c, issuer.c):
 * the input as a DER PKCS#10 request through ca_csr_parse (signature, key type and size, names),
 * then issuer_csr_matches against an order for example.com and 192.0.2.1. Checks: a refusal
 * says why; an accepted CSR has a key. */
#include "server/ca.h"
#include "server/issuer.h"
#include "server/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_csr csr;
	char err[512] = "";
	memset(&csr, 0, sizeof csr);
	if (ca_csr_parse(data, size, &csr, err, sizeof err) < 0) {
		if (!err[0])
			abort();
		ca_csr_clear(&csr);
		return 0;
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
	return 0;
}
