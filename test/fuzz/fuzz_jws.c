/* fuzz_jws: libFuzzer target for server/jws: a request body through jws_parse (and jws_parse_ex
 * with JWS_MAC, as for an external account binding), then jws_verify with the embedded jwk or a
 * fixed key, and jws_verify_hmac with a fixed MAC key, as the WFE runs them. Input: one option
 * byte, then the body. Checks: a refusal always names a problem; an accepted parse has a url. */
#include "server/jwk.h"
#include "server/jws.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static EVP_PKEY *fixed;

static void check_problem(const struct problem *p)
{
	if (!p->type || !p->detail[0] || p->status < 400 || p->status > 499)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char mac_key[32] = "cobble-fuzz-eab-mac-key-32-bytes";
	if (!fixed && !(fixed = EVP_EC_gen("P-256")))
		abort();
	if (size < 1)
		return 0;
	unsigned opt = data[0];
	struct jws j;
	struct problem p;
	memset(&p, 0, sizeof p);
	if (jws_parse_ex((const char *)data + 1, size - 1, (opt & 1) ? JWS_MAC : 0, &j, &p) < 0) {
		check_problem(&p);
		return 0;
	}
	if (!j.url)
		abort();
	if (opt & 1) {
		if (jws_verify_hmac(&j, mac_key, sizeof mac_key, &p) < 0)
			check_problem(&p);
	} else if (jws_verify(&j, j.jwk && !(opt & 2) ? j.jwk : fixed, &p) < 0) {
		check_problem(&p);
	}
	if (j.jwk) {
		char tp[JWK_THUMBPRINT_LEN + 1];
		char *canon = jwk_canonical(j.jwk);
		if (canon) {
			/* a key read back from its canonical form has the same thumbprint */
			EVP_PKEY *again = jwk_from_string(canon);
			char tp2[JWK_THUMBPRINT_LEN + 1];
			if (!again || jwk_thumbprint(j.jwk, tp) < 0 || jwk_thumbprint(again, tp2) < 0 || strcmp(tp, tp2) != 0)
				abort();
			EVP_PKEY_free(again);
			free(canon);
		}
	}
	jws_clear(&j);
	return 0;
}
