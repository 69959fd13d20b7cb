/* test_ca_key: the subject's public key on its way from the CSR (server/ca_csr.c) to the
 * certificate (server/ca_cert.c). Both build keys and SubjectPublicKeyInfos from the keys' own
 * parameters rather than with OpenSSL's encoders and decoders; the result must be what OpenSSL's
 * own d2i_X509_REQ, X509_REQ_verify and X509_set_pubkey give, for every kind of key, including the
 * ones cobble refuses. */
#include "server/ca.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct key_case {
	const char *rule;
	const char *type;  /* EVP_PKEY_Q_keygen's name */
	const char *param; /* curve, or NULL with bits */
	size_t bits;
	unsigned long exponent; /* RSA; 0: OpenSSL's default */
	int compressed;         /* EC point form */
	const char *refusal;    /* NULL: ca_csr_parse accepts the key; else part of its sentence */
};

static const struct key_case key_cases[] = {
    {"ECDSA P-256", "EC", "P-256", 0, 0, 0, NULL},
    {"ECDSA P-384", "EC", "P-384", 0, 0, 0, NULL},
    {"ECDSA P-256 with a compressed point", "EC", "P-256", 0, 0, 1, NULL},
    {"RSA 2048", "RSA", NULL, 2048, 0, 0, NULL},
    {"RSA 2048 with exponent 3", "RSA", NULL, 2048, 3, 0, NULL},
    {"ECDSA P-521 is refused by name", "EC", "P-521", 0, 0, 0, "on curve secp521r1"},
    {"secp256k1 is refused by name", "EC", "secp256k1", 0, 0, 0, "on curve secp256k1"},
    {"RSA 1024 is refused with its size", "RSA", NULL, 1024, 0, 0, "RSA 1024 bits"},
    {"an RSA-PSS key is refused with its type", "RSA-PSS", NULL, 2048, 0, 0, "of type RSA-PSS"},
    {"Ed25519 is refused with its type", "ED25519", NULL, 0, 0, 0, "of type ED25519"},
};

static EVP_PKEY *key_make(const struct key_case *kc)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, kc->type, NULL);
	EVP_PKEY *k = NULL;
	assert_non_null(ctx);
	assert_true(EVP_PKEY_keygen_init(ctx) > 0);
	if (kc->param)
		assert_true(EVP_PKEY_CTX_set_group_name(ctx, kc->param) > 0);
	if (kc->bits)
		assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)kc->bits) > 0);
	if (kc->exponent) {
		BIGNUM *e = BN_new();
		assert_true(BN_set_word(e, kc->exponent));
		assert_true(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) > 0);
		BN_free(e);
	}
	assert_true(EVP_PKEY_keygen(ctx, &k) > 0);
	EVP_PKEY_CTX_free(ctx);
	if (kc->compressed)
		assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		                                                "compressed"),
		                 1);
	return k;
}

/* A DER CSR signed by key, naming a.example. */
static unsigned char *csr_make(EVP_PKEY *key, int *len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name, "DNS:a.example");
	unsigned char *der = NULL;
	assert_non_null(ext);
	sk_X509_EXTENSION_push(exts, ext);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	assert_true(X509_REQ_sign(req, key, md) > 0);
	*len = i2d_X509_REQ(req, &der);
	assert_true(*len > 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return der;
}

/* The SubjectPublicKeyInfo OpenSSL itself writes for k (its encoder), as DER. */
static int spki_der(EVP_PKEY *k, unsigned char **der)
{
	*der = NULL;
	int n = i2d_PUBKEY(k, der);
	assert_true(n > 0);
	return n;
}

/* RFC 8555 §7.4, RFC 2986 §4: the key read from the CSR is the key that signed it, or the refusal
 * names what is wrong with it. */
static void test_csr_key_is_the_signers(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof key_cases / sizeof key_cases[0]; c++) {
		const struct key_case *kc = &key_cases[c];
		print_message("# %s\n", kc->rule);
		EVP_PKEY *key = key_make(kc);
		int len;
		unsigned char *der = csr_make(key, &len);
		struct ca_csr csr;
		char err[256] = "";
		int rc = ca_csr_parse(der, (size_t)len, &csr, err, sizeof err);
		if (kc->refusal) {
			assert_int_equal(rc, -1);
			if (!strstr(err, kc->refusal))
				fail_msg("err \"%s\" lacks \"%s\"", err, kc->refusal);
		} else {
			if (rc)
				fail_msg("refused: %s", err);
			assert_int_equal(EVP_PKEY_eq(csr.pubkey, key), 1);
			/* the same key in every respect OpenSSL encodes, point form included */
			unsigned char *a, *b;
			int na = spki_der(csr.pubkey, &a), nb = spki_der(key, &b);
			assert_memory_equal(a, b, (size_t)(na < nb ? na : nb));
			assert_int_equal(na, nb);
			OPENSSL_free(a);
			OPENSSL_free(b);
		}
		assert_int_equal(ERR_peek_error(), 0);
		ca_csr_clear(&csr);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
}

/* A CSR whose key cannot be a key (a point off the curve) is refused as unreadable. */
static void test_csr_point_off_the_curve_is_refused(void **state)
{
	(void)state;
	const struct key_case kc = {"P-256", "EC", "P-256", 0, 0, 0, NULL};
	EVP_PKEY *key = key_make(&kc);
	int len;
	unsigned char *der = csr_make(key, &len);
	unsigned char *spki = NULL;
	int n = spki_der(key, &spki);
	unsigned char *at = memmem(der, (size_t)len, spki, (size_t)n);
	assert_non_null(at);
	at[n - 1] ^= 0x01; /* the last octet of the point's y */
	struct ca_csr csr;
	char err[256] = "";
	assert_int_equal(ca_csr_parse(der, (size_t)len, &csr, err, sizeof err), -1);
	assert_non_null(strstr(err, "CSR public key cannot be read"));
	assert_null(csr.pubkey);
	assert_int_equal(ERR_peek_error(), 0);
	OPENSSL_free(spki);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* RFC 5280 §4.1.2.7: the certificate carries the subject's key exactly as OpenSSL would encode it
 * (RFC 3279 §2.3.1 rsaEncryption with NULL parameters, RFC 5480 §2.1.1 namedCurve), for keys
 * from CSRs and for keys handed to ca_issue directly (Ed25519 takes OpenSSL's own path). */
static void test_certificate_key_is_the_subjects(void **state)
{
	(void)state;
	static const struct ca_options opt = {CA_KEY_ECDSA_P256, 1, 0, 90, ""};
	static const char *const names[] = {"a.example"};
	struct ca *ca = ca_new(&opt);
	assert_non_null(ca);
	for (size_t c = 0; c < sizeof key_cases / sizeof key_cases[0] + 1; c++) {
		const struct key_case ed = {"Ed25519 (not from a CSR)", "ED25519", NULL, 0, 0, 0, NULL};
		const struct key_case *kc = c < sizeof key_cases / sizeof key_cases[0] ? &key_cases[c] : &ed;
		if (kc->refusal)
			continue;
		print_message("# %s\n", kc->rule);
		EVP_PKEY *key = key_make(kc);
		struct ca_issued out;
		assert_int_equal(ca_issue(ca, key, names, 1, NULL, 0, 0, 0, &out), 0);
		BIO *b = BIO_new_mem_buf(out.chains[0], -1);
		X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
		assert_non_null(leaf);
		unsigned char *want, *got = NULL;
		int nw = spki_der(key, &want);
		int ng = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &got);
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, (size_t)nw);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), key), 1);
		OPENSSL_free(want);
		OPENSSL_free(got);
		X509_free(leaf);
		BIO_free(b);
		ca_issued_clear(&out);
		EVP_PKEY_free(key);
	}
	assert_int_equal(ERR_peek_error(), 0);
	ca_free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csr_key_is_the_signers),
	    cmocka_unit_test(test_csr_point_off_the_curve_is_refused),
	    cmocka_unit_test(test_certificate_key_is_the_subjects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
