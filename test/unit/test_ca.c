/* test_ca: the key hierarchies, leaf issuance, CSR checks, revocation lookup and TLS identity of
 * server/ca.c, each checked with OpenSSL's own verifier (and once with the openssl command). */
#include "server/ca.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static EVP_PKEY *leaf_ec, *leaf_rsa; /* made once: RSA key generation is slow under ASan */

static const struct ca_options default_opt = {CA_KEY_ECDSA_P256, 1, 0, 90, ""};

/* --- helpers ------------------------------------------------------------------------------ */

static STACK_OF(X509) *pem_certs(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	assert_non_null(b);
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		sk_X509_push(sk, x);
	ERR_clear_error(); /* the end of the buffer reads as an error */
	BIO_free(b);
	return sk;
}

static X509 *pem_cert(const char *pem)
{
	STACK_OF(X509) *sk = pem_certs(pem);
	assert_int_equal(sk_X509_num(sk), 1);
	X509 *x = sk_X509_shift(sk);
	sk_X509_free(sk);
	return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(k);
	return k;
}

static char verify_error[256]; /* why the last verify_chain failed */

/* Verify chain[0] with chain[1..] as untrusted intermediates and root_pem as the only anchor. */
static int verify_chain(const char *chain_pem, const char *root_pem, int purpose)
{
	STACK_OF(X509) *chain = pem_certs(chain_pem);
	X509 *root = pem_cert(root_pem);
	X509 *leaf = sk_X509_shift(chain);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_non_null(leaf);
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
	if (purpose)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	int ok = X509_verify_cert(ctx);
	snprintf(verify_error, sizeof verify_error, "%s",
	         ok == 1 ? "ok" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	X509_free(root);
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	return ok == 1;
}

#define assert_verifies(chain, root, purpose)                                                   \
	do {                                                                                       \
		if (!verify_chain(chain, root, purpose))                                           \
			fail_msg("chain does not verify: %s", verify_error);                       \
	} while (0)

static char *subject_cn(X509 *x)
{
	char buf[256];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
	return n < 0 ? NULL : strdup(buf);
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int same_keyid(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
	return a && b && ASN1_STRING_length(a) == ASN1_STRING_length(b) &&
	       memcmp(ASN1_STRING_get0_data(a), ASN1_STRING_get0_data(b),
	              (size_t)ASN1_STRING_length(a)) == 0;
}

/* The leaf of one chain as DER (caller frees). */
static unsigned char *chain_leaf_der(const char *chain_pem, size_t *len)
{
	STACK_OF(X509) *sk = pem_certs(chain_pem);
	unsigned char *der = NULL;
	int n = i2d_X509(sk_X509_value(sk, 0), &der);
	assert_true(n > 0);
	*len = (size_t)n;
	sk_X509_pop_free(sk, X509_free);
	return der;
}

static const char *const one_name[] = {"example.com"};

static void issue_one(struct ca *ca, EVP_PKEY *pub, struct ca_issued *out)
{
	assert_int_equal(ca_issue(ca, pub, one_name, 1, NULL, 0, 0, 0, out), 0);
}

/* --- hierarchies -------------------------------------------------------------------------- */

struct hier_case {
	const char *rule;
	struct ca_options opt;
	EVP_PKEY **leaf_key;
};

static const struct hier_case hier_cases[] = {
	{"default ECDSA P-256 hierarchy", {CA_KEY_ECDSA_P256, 1, 0, 90, ""}, &leaf_ec},
	{"RSA-2048 hierarchy", {CA_KEY_RSA2048, 1, 0, 90, ""}, &leaf_rsa},
	{"chain_length 3 puts 3 intermediates in the chain", {CA_KEY_ECDSA_P256, 3, 0, 90, ""}, &leaf_ec},
	{"alternate_roots 2 gives 3 chains", {CA_KEY_ECDSA_P256, 1, 2, 90, ""}, &leaf_rsa},
	{"alternate roots with longer chains", {CA_KEY_ECDSA_P256, 2, 1, 30, ""}, &leaf_ec},
};

/* Root: self-signed CA, KU keyCertSign+cRLSign critical, SKI. Intermediates: CA with pathlen
 * counting the CAs below, KU with digitalSignature, SKI, AKI = the SKI of the one above. */
static void check_hierarchy_profile(STACK_OF(X509) *chain, X509 *root, int chain_length,
                                    enum ca_key_type kt)
{
	char *cn = subject_cn(root);
	assert_non_null(cn);
	assert_true(strncmp(cn, "cobble root CA ", 15) == 0);
	free(cn);
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	assert_true(X509_check_ca(root) >= 1);
	assert_int_equal(ext_critical(root, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(root, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(root));
	assert_int_equal(X509_get_signature_nid(root),
	                 kt == CA_KEY_RSA2048 ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(root)),
	                 kt == CA_KEY_RSA2048 ? EVP_PKEY_RSA : EVP_PKEY_EC);

	for (int i = 1; i <= chain_length; i++) {
		X509 *x = sk_X509_value(chain, i);
		X509 *up = i == chain_length ? root : sk_X509_value(chain, i + 1);
		cn = subject_cn(x);
		assert_true(strncmp(cn, "cobble intermediate CA ", 23) == 0);
		free(cn);
		assert_int_equal(X509_check_issued(up, x), X509_V_OK);
		assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
		BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
		assert_non_null(bc);
		assert_true(bc->ca);
		assert_non_null(bc->pathlen);
		assert_int_equal(ASN1_INTEGER_get(bc->pathlen), i - 1);
		BASIC_CONSTRAINTS_free(bc);
		assert_int_equal(ext_critical(x, NID_key_usage), 1);
		assert_int_equal(X509_get_key_usage(x),
		                 KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE);
		assert_non_null(X509_get0_subject_key_id(x));
		assert_true(same_keyid(X509_get0_authority_key_id(x), X509_get0_subject_key_id(up)));
		/* ~8 years, backdated */
		assert_true(X509_cmp_time(X509_get0_notBefore(x), NULL) < 0);
		int days, secs;
		assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
		                                X509_get0_notAfter(x)), 1);
		assert_in_range(days, 7 * 365, 9 * 365);
	}
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(root),
	                                X509_get0_notAfter(root)), 1);
	assert_in_range(days, 29 * 365, 31 * 365);
}

static void test_hierarchies_issue_leaves_that_verify(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof hier_cases / sizeof hier_cases[0]; c++) {
		const struct hier_case *hc = &hier_cases[c];
		print_message("# %s\n", hc->rule);
		struct ca *ca = ca_new(&hc->opt);
		struct ca_issued out;
		assert_non_null(ca);
		assert_int_equal(ca_nroots(ca), 1 + hc->opt.alternate_roots);
		issue_one(ca, *hc->leaf_key, &out);
		assert_int_equal(out.nchains, (size_t)(1 + hc->opt.alternate_roots));

		X509 *first_leaf = NULL;
		for (int i = 0; i < ca_nroots(ca); i++) {
			char *root_pem = ca_root_pem(ca, i);
			STACK_OF(X509) *chain = pem_certs(out.chains[i]);
			X509 *root = pem_cert(root_pem);
			/* leaf + chain_length intermediates, never the root */
			assert_int_equal(sk_X509_num(chain), 1 + hc->opt.chain_length);
			for (int k = 0; k < sk_X509_num(chain); k++)
				assert_int_not_equal(X509_cmp(sk_X509_value(chain, k), root), 0);
			/* the same leaf in every chain */
			if (!first_leaf)
				first_leaf = X509_dup(sk_X509_value(chain, 0));
			else
				assert_int_equal(X509_cmp(first_leaf, sk_X509_value(chain, 0)), 0);
			check_hierarchy_profile(chain, root, hc->opt.chain_length, hc->opt.key_type);
			assert_verifies(out.chains[i], root_pem, X509_PURPOSE_SSL_SERVER);
			assert_verifies(out.chains[i], root_pem, X509_PURPOSE_SSL_CLIENT);
			/* the issuing intermediate is chain[1] and is what ca_intermediate_pem returns */
			char *ipem = ca_intermediate_pem(ca, i);
			X509 *inter = pem_cert(ipem);
			assert_int_equal(X509_cmp(inter, sk_X509_value(chain, 1)), 0);
			X509_free(inter);
			free(ipem);
			X509_free(root);
			free(root_pem);
			sk_X509_pop_free(chain, X509_free);
		}
		X509_free(first_leaf);
		ca_issued_clear(&out);
		ca_free(ca);
	}
}

/* Pebble's alternate chains: one issuing subject and key under every root. */
static void test_alternate_roots_share_issuing_intermediate(void **state)
{
	(void)state;
	struct ca_options o = default_opt;
	o.alternate_roots = 2;
	struct ca *ca = ca_new(&o);
	assert_non_null(ca);
	char *pem0 = ca_intermediate_pem(ca, 0), *key0 = ca_intermediate_key_pem(ca, 0);
	X509 *i0 = pem_cert(pem0);
	EVP_PKEY *k0 = pem_key(key0);
	assert_int_equal(X509_check_private_key(i0, k0), 1);
	char *r0 = ca_root_pem(ca, 0);
	for (int i = 1; i < 3; i++) {
		char *pem = ca_intermediate_pem(ca, i), *key = ca_intermediate_key_pem(ca, i);
		char *rpem = ca_root_pem(ca, i), *rkey = ca_root_key_pem(ca, i);
		X509 *x = pem_cert(pem), *root = pem_cert(rpem);
		EVP_PKEY *k = pem_key(key), *rk = pem_key(rkey);
		assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(i0)), 0);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(i0)), 1);
		assert_int_equal(EVP_PKEY_eq(k, k0), 1);
		assert_int_not_equal(X509_cmp(x, i0), 0); /* cross-signed: a different certificate */
		assert_int_equal(X509_check_private_key(root, rk), 1);
		assert_string_not_equal(rpem, r0);
		X509_free(x);
		X509_free(root);
		EVP_PKEY_free(k);
		EVP_PKEY_free(rk);
		free(pem);
		free(key);
		free(rpem);
		free(rkey);
	}
	/* the roots have distinct subjects, so a verifier can tell them apart */
	char *r1 = ca_root_pem(ca, 1);
	X509 *x0 = pem_cert(r0), *x1 = pem_cert(r1);
	assert_int_not_equal(X509_NAME_cmp(X509_get_subject_name(x0), X509_get_subject_name(x1)), 0);
	X509_free(x0);
	X509_free(x1);
	free(r1);
	X509_free(i0);
	EVP_PKEY_free(k0);
	free(pem0);
	free(key0);
	free(r0);
	ca_free(ca);
}

static void test_leaf_does_not_verify_under_another_cas_root(void **state)
{
	(void)state;
	struct ca_options o = default_opt;
	o.alternate_roots = 2;
	struct ca *ca = ca_new(&o), *other = ca_new(&default_opt);
	struct ca_issued out;
	assert_non_null(ca);
	assert_non_null(other);
	issue_one(ca, leaf_ec, &out);
	char *foreign = ca_root_pem(other, 0);
	for (size_t i = 0; i < out.nchains; i++)
		assert_false(verify_chain(out.chains[i], foreign, 0));
	/* runs are told apart by name too */
	char *mine = ca_root_pem(ca, 0);
	X509 *a = pem_cert(mine), *b = pem_cert(foreign);
	char *ca_cn = subject_cn(a), *other_cn = subject_cn(b);
	assert_string_not_equal(ca_cn, other_cn);
	free(ca_cn);
	free(other_cn);
	X509_free(a);
	X509_free(b);
	free(mine);
	free(foreign);
	ca_issued_clear(&out);
	ca_free(other);
	ca_free(ca);
}

static void test_ca_new_refuses_bad_options(void **state)
{
	(void)state;
	static const struct ca_options bad[] = {
	    {CA_KEY_ECDSA_P256, 0, 0, 90, ""},  /* chain_length >= 1 */
	    {CA_KEY_ECDSA_P256, 1, -1, 90, ""}, /* alternate_roots >= 0 */
	    {CA_KEY_ECDSA_P256, 1, 0, 0, ""},   /* validity_days >= 1 */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(ca_new(&bad[i]));
	ca_free(NULL);
	struct ca *ca = ca_new(&default_opt);
	assert_null(ca_root_pem(ca, 1));
	assert_null(ca_root_pem(ca, -1));
	assert_null(ca_root_key_pem(ca, 1));
	assert_null(ca_intermediate_pem(ca, 1));
	assert_null(ca_intermediate_key_pem(ca, 1));
	ca_free(ca);
}

/* --- leaves ------------------------------------------------------------------------------- */

static void check_leaf_profile(X509 *leaf, X509 *inter, int rsa)
{
	/* basicConstraints CA:FALSE, critical */
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_int_equal(ext_critical(leaf, NID_basic_constraints), 1);
	/* KU digitalSignature (+ keyEncipherment for RSA keys), critical */
	assert_int_equal(ext_critical(leaf, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(leaf),
	                 KU_DIGITAL_SIGNATURE | (rsa ? KU_KEY_ENCIPHERMENT : 0));
	/* EKU serverAuth + clientAuth */
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_non_null(X509_get0_subject_key_id(leaf));
	assert_true(same_keyid(X509_get0_authority_key_id(leaf), X509_get0_subject_key_id(inter)));
	assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
}

static void test_leaf_names_validity_and_extensions(void **state)
{
	(void)state;
	struct ca *ca = ca_new(&default_opt);
	static const char *const dns[] = {"www.example.com", "example.com", "*.example.org"};
	static const char *const ips[] = {"192.0.2.7", "2001:db8::1"};
	const time_t nb = 1893456000, na = 1893456000 + 7 * 86400; /* 2030-01-01 + 7 days */
	struct ca_issued out;
	for (int rsa = 0; rsa <= 1; rsa++) {
		assert_int_equal(ca_issue(ca, rsa ? leaf_rsa : leaf_ec, dns, 3, ips, 2, nb, na, &out), 0);
		STACK_OF(X509) *chain = pem_certs(out.chains[0]);
		X509 *leaf = sk_X509_value(chain, 0);

		char *cn = subject_cn(leaf);
		assert_string_equal(cn, "www.example.com");
		free(cn);
		assert_int_equal(X509_check_host(leaf, "www.example.com", 0, 0, NULL), 1);
		assert_int_equal(X509_check_host(leaf, "example.com", 0, 0, NULL), 1);
		assert_int_equal(X509_check_host(leaf, "a.example.org", 0, 0, NULL), 1);
		assert_int_equal(X509_check_host(leaf, "example.net", 0, 0, NULL), 0);
		assert_int_equal(X509_check_ip_asc(leaf, "192.0.2.7", 0), 1);
		assert_int_equal(X509_check_ip_asc(leaf, "2001:db8:0::1", 0), 1);
		assert_int_equal(X509_check_ip_asc(leaf, "192.0.2.8", 0), 0);
		GENERAL_NAMES *san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
		assert_int_equal(sk_GENERAL_NAME_num(san), 5);
		GENERAL_NAMES_free(san);
		assert_int_equal(ext_critical(leaf, NID_subject_alt_name), 0);

		/* nb / na as asked */
		assert_int_equal(X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){nb - 1}), 1);
		assert_int_equal(X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){nb}), -1);
		assert_int_equal(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){na - 1}), 1);
		assert_int_equal(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){na}), -1);
		assert_int_equal(out.not_before, nb);
		assert_int_equal(out.not_after, na);

		check_leaf_profile(leaf, sk_X509_value(chain, 1), rsa);
		/* ca_issued.serial is the certificate's serial */
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL), *want = NULL;
		assert_true(BN_hex2bn(&want, out.serial) > 0);
		assert_int_equal(BN_cmp(bn, want), 0);
		BN_free(bn);
		BN_free(want);
		sk_X509_pop_free(chain, X509_free);
		ca_issued_clear(&out);
	}
	ca_free(ca);
}

/* RFC 5280 Appendix A: a CN holds at most 64 characters; then the subject is empty and the SAN
 * is critical (§4.2.1.6). An IP-only certificate has no CN either. */
static void test_leaf_without_common_name(void **state)
{
	(void)state;
	static const char long_name[] =
	    "a-label-of-exactly-sixty-three-characters-is-allowed-by-dns-xxx.example.com";
	static const char *const dns[] = {long_name, "short.example.com"};
	static const char *const ips[] = {"198.51.100.1"};
	struct {
		const char *rule;
		const char *const *dns;
		size_t ndns;
		const char *const *ips;
		size_t nips;
	} cases[] = {
	    {"first name longer than 64 characters", dns, 2, NULL, 0},
	    {"IP addresses only", NULL, 0, ips, 1},
	};
	struct ca *ca = ca_new(&default_opt);
	for (size_t c = 0; c < 2; c++) {
		struct ca_issued out;
		print_message("# %s\n", cases[c].rule);
		assert_int_equal(ca_issue(ca, leaf_ec, cases[c].dns, cases[c].ndns, cases[c].ips,
		                          cases[c].nips, 0, 0, &out), 0);
		STACK_OF(X509) *chain = pem_certs(out.chains[0]);
		X509 *leaf = sk_X509_value(chain, 0);
		assert_null(subject_cn(leaf));
		assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
		assert_int_equal(ext_critical(leaf, NID_subject_alt_name), 1);
		char *root = ca_root_pem(ca, 0);
		assert_verifies(out.chains[0], root, 0);
		free(root);
		sk_X509_pop_free(chain, X509_free);
		ca_issued_clear(&out);
	}
	ca_free(ca);
}

static void test_leaf_default_validity(void **state)
{
	(void)state;
	struct ca_options o = default_opt;
	o.validity_days = 10;
	struct ca *ca = ca_new(&o);
	struct ca_issued out;
	time_t before = time(NULL);
	issue_one(ca, leaf_ec, &out);
	time_t after = time(NULL);
	assert_in_range(out.not_before, before, after);
	assert_int_equal(out.not_after - out.not_before, 10 * 86400);
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = pem_certs(out.chains[0]);
	leaf = sk_X509_value(chain, 0);
	assert_int_equal(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){out.not_after}), -1);
	assert_int_equal(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){out.not_after - 1}), 1);
	sk_X509_pop_free(chain, X509_free);
	ca_issued_clear(&out);
	/* a caller bug, not a certificate: notAfter before notBefore, no names */
	assert_int_equal(ca_issue(ca, leaf_ec, one_name, 1, NULL, 0, 2000, 1000, &out), -1);
	assert_int_equal(ca_issue(ca, leaf_ec, NULL, 0, NULL, 0, 0, 0, &out), -1);
	static const char *const bad_ip[] = {"not-an-ip"};
	assert_int_equal(ca_issue(ca, leaf_ec, one_name, 1, bad_ip, 1, 0, 0, &out), -1);
	assert_int_equal(out.nchains, 0);
	ca_free(ca);
}

/* RFC 5280 §4.1.2.2: positive; unique per CA; at most 20 octets (cobble: 16 random). */
static void test_serials_unique_and_positive(void **state)
{
	(void)state;
	enum { N = 300 };
	struct ca *ca = ca_new(&default_opt);
	char (*seen)[41] = calloc(N, sizeof *seen);
	for (int i = 0; i < N; i++) {
		struct ca_issued out;
		issue_one(ca, leaf_ec, &out);
		size_t n = strlen(out.serial);
		assert_in_range(n, 1, 32);
		assert_int_equal(n % 2, 0);
		assert_int_equal(strspn(out.serial, "0123456789abcdef"), n);
		assert_true(strncmp(out.serial, "00", 2) != 0); /* no padding octet: top bit clear */
		assert_true(strchr("01234567", out.serial[0]) != NULL || n < 32);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[j], out.serial);
		strcpy(seen[i], out.serial);

		STACK_OF(X509) *chain = pem_certs(out.chains[0]);
		const ASN1_INTEGER *s = X509_get0_serialNumber(sk_X509_value(chain, 0));
		BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
		assert_false(BN_is_negative(bn));
		assert_false(BN_is_zero(bn));
		assert_true(BN_num_bytes(bn) <= 16);
		BN_free(bn);
		sk_X509_pop_free(chain, X509_free);
		ca_issued_clear(&out);
	}
	free(seen);
	ca_free(ca);
}

/* ca_issue is called from several worker threads at once with the same struct ca. */
struct worker {
	struct ca *ca;
	char serials[25][41];
	int failures;
};

static void *issue_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 25; i++) {
		struct ca_issued out;
		if (ca_issue(w->ca, i % 2 ? leaf_rsa : leaf_ec, one_name, 1, NULL, 0, 0, 0, &out)) {
			w->failures++;
			continue;
		}
		strcpy(w->serials[i], out.serial);
		ca_issued_clear(&out);
	}
	return NULL;
}

static void test_issue_from_many_threads(void **state)
{
	(void)state;
	enum { T = 8 };
	struct ca_options o = default_opt;
	o.alternate_roots = 1;
	struct ca *ca = ca_new(&o);
	struct worker *w = calloc(T, sizeof *w);
	pthread_t th[T];
	for (int i = 0; i < T; i++) {
		w[i].ca = ca;
		assert_int_equal(pthread_create(&th[i], NULL, issue_worker, &w[i]), 0);
	}
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < T * 25; i++) {
		assert_int_equal(w[i / 25].failures, 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(w[i / 25].serials[i % 25], w[j / 25].serials[j % 25]);
	}
	/* and the CA still issues leaves that verify */
	struct ca_issued out;
	issue_one(ca, leaf_ec, &out);
	for (int i = 0; i < 2; i++) {
		char *root = ca_root_pem(ca, i);
		assert_verifies(out.chains[i], root, 0);
		free(root);
	}
	ca_issued_clear(&out);
	free(w);
	ca_free(ca);
}

/* --- CSRs --------------------------------------------------------------------------------- */

static EVP_PKEY *keygen(const char *spec)
{
	EVP_PKEY *k;
	if (strncmp(spec, "RSA", 3) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(spec + 3));
	else if (strncmp(spec, "P-", 2) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", spec);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, spec);
	assert_non_null(k);
	return k;
}

enum tamper { TAMPER_NONE, TAMPER_SIGNATURE, TAMPER_TRAILING };

/* A DER CSR for key with the given subject CN (may be NULL) and SAN (an OpenSSL config string
 * such as "DNS:a.example,IP:192.0.2.1"; may be NULL). */
static unsigned char *make_csr(EVP_PKEY *key, const char *cn, const char *san, enum tamper t,
                               size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	assert_non_null(req);
	if (cn)
		assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		                                             (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	if (san) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name, san);
		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	assert_true(X509_REQ_sign(req, key, md) > 0);
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	if (t == TAMPER_SIGNATURE) {
		der[n - 1] ^= 0x01; /* the last octet is inside the signature BIT STRING */
	} else if (t == TAMPER_TRAILING) {
		der = OPENSSL_realloc(der, (size_t)n + 2);
		der[n] = 0x05;
		der[n + 1] = 0x00;
		*len += 2;
	}
	X509_NAME_free(name);
	X509_REQ_free(req);
	return der;
}

struct csr_case {
	const char *rule;
	const char *key;   /* "RSA2048", "P-256", "ED25519", … */
	const char *cn;
	const char *san;
	enum tamper tamper;
	const char *err;   /* NULL: accepted; else a substring of the sentence */
	const char *dns[4]; /* expected, in order */
	const char *ips[4];
};

static const struct csr_case csr_cases[] = {
    {"RSA-2048 CSR with SAN and CN is accepted", "RSA2048", "example.com",
     "DNS:example.com,DNS:www.example.com", TAMPER_NONE, NULL,
     {"example.com", "www.example.com"}, {NULL}},
    {"ECDSA P-256 CSR is accepted", "P-256", NULL, "DNS:a.example", TAMPER_NONE, NULL,
     {"a.example"}, {NULL}},
    {"ECDSA P-384 CSR is accepted", "P-384", NULL, "DNS:b.example", TAMPER_NONE, NULL,
     {"b.example"}, {NULL}},
    {"names are lowercased and CN merged without duplicates", "P-256", "WWW.Example.COM",
     "DNS:Example.COM,DNS:www.example.com,DNS:EXAMPLE.com", TAMPER_NONE, NULL,
     {"example.com", "www.example.com"}, {NULL}},
    {"a CN missing from the SAN is added", "P-256", "C.Example", "DNS:a.example", TAMPER_NONE,
     NULL, {"a.example", "c.example"}, {NULL}},
    {"a CN alone is an identifier", "P-256", "only.example", NULL, TAMPER_NONE, NULL,
     {"only.example"}, {NULL}},
    {"IP SANs in inet_ntop form; an IP CN already listed is not repeated", "P-256", "192.0.2.1",
     "IP:192.0.2.1,IP:2001:DB8:0:0::1,DNS:x.example", TAMPER_NONE, NULL, {"x.example"},
     {"192.0.2.1", "2001:db8::1"}},
    {"an IP CN not listed is added as an IP", "P-256", "2001:DB8::2", "IP:192.0.2.1",
     TAMPER_NONE, NULL, {NULL}, {"192.0.2.1", "2001:db8::2"}},
    {"a tampered signature is refused", "P-256", NULL, "DNS:a.example", TAMPER_SIGNATURE,
     "CSR signature does not verify", {NULL}, {NULL}},
    {"RSA-1024 is refused", "RSA1024", NULL, "DNS:a.example", TAMPER_NONE,
     "CSR public key is RSA 1024 bits; use RSA 2048-4096 or ECDSA P-256/P-384", {NULL}, {NULL}},
    {"ECDSA P-521 is refused", "P-521", NULL, "DNS:a.example", TAMPER_NONE,
     "ECDSA on curve secp521r1", {NULL}, {NULL}},
    {"Ed25519 is refused", "ED25519", NULL, "DNS:a.example", TAMPER_NONE,
     "use RSA 2048-4096 or ECDSA P-256/P-384", {NULL}, {NULL}},
    {"trailing bytes are refused", "P-256", NULL, "DNS:a.example", TAMPER_TRAILING,
     "bytes after the end", {NULL}, {NULL}},
    {"a CSR without names is refused", "P-256", NULL, NULL, TAMPER_NONE,
     "names no DNS name or IP address", {NULL}, {NULL}},
    {"an email SAN is refused", "P-256", NULL, "DNS:a.example,email:me@a.example", TAMPER_NONE,
     "only DNS names and IP addresses", {NULL}, {NULL}},
    {"a CN that is no name is refused", "P-256", "My Server", "DNS:a.example", TAMPER_NONE,
     "commonName is neither", {NULL}, {NULL}},
};

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (n < 4 && v[n])
		n++;
	return n;
}

static void test_csr_parse_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof csr_cases / sizeof csr_cases[0]; c++) {
		const struct csr_case *cc = &csr_cases[c];
		print_message("# %s\n", cc->rule);
		EVP_PKEY *key = strcmp(cc->key, "RSA2048") == 0 ? (EVP_PKEY_up_ref(leaf_rsa), leaf_rsa)
		                                                : keygen(cc->key);
		size_t len;
		unsigned char *der = make_csr(key, cc->cn, cc->san, cc->tamper, &len);
		struct ca_csr csr;
		char err[256] = "";
		int rc = ca_csr_parse(der, len, &csr, err, sizeof err);
		if (cc->err) {
			assert_int_equal(rc, -1);
			if (!strstr(err, cc->err))
				fail_msg("err \"%s\" lacks \"%s\"", err, cc->err);
			assert_null(csr.pubkey);
			assert_int_equal(csr.ndns + csr.nips, 0);
		} else {
			if (rc != 0)
				fail_msg("refused: %s", err);
			assert_int_equal(EVP_PKEY_eq(csr.pubkey, key), 1);
			assert_int_equal(csr.ndns, count(cc->dns));
			for (size_t i = 0; i < csr.ndns; i++)
				assert_string_equal(csr.dns[i], cc->dns[i]);
			assert_int_equal(csr.nips, count(cc->ips));
			for (size_t i = 0; i < csr.nips; i++)
				assert_string_equal(csr.ips[i], cc->ips[i]);
		}
		ca_csr_clear(&csr);
		ca_csr_clear(&csr); /* cleared twice is harmless */
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
}

static void test_csr_garbage_is_refused(void **state)
{
	(void)state;
	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x05, 0xff, 0x00};
	struct {
		const unsigned char *der;
		size_t len;
	} cases[] = {{junk, sizeof junk}, {junk, 0}, {(const unsigned char *)"hello", 5}, {NULL, 0}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ca_csr csr;
		char err[256] = "";
		assert_int_equal(ca_csr_parse(cases[i].der, cases[i].len, &csr, err, sizeof err), -1);
		assert_string_equal(err, "CSR is not valid DER PKCS#10");
		ca_csr_clear(&csr);
	}
	assert_int_equal(ERR_peek_error(), 0); /* nothing left behind for a later log line */
}

/* A CSR accepted by ca_csr_parse goes straight into ca_issue. */
static void test_csr_to_certificate(void **state)
{
	(void)state;
	size_t len;
	unsigned char *der = make_csr(leaf_ec, "Mixed.Example", "DNS:mixed.example,IP:::1",
	                              TAMPER_NONE, &len);
	struct ca_csr csr;
	char err[256];
	assert_int_equal(ca_csr_parse(der, len, &csr, err, sizeof err), 0);
	struct ca *ca = ca_new(&default_opt);
	struct ca_issued out;
	assert_int_equal(ca_issue(ca, csr.pubkey, (const char *const *)csr.dns, csr.ndns,
	                          (const char *const *)csr.ips, csr.nips, 0, 0, &out), 0);
	char *root = ca_root_pem(ca, 0);
	assert_verifies(out.chains[0], root, X509_PURPOSE_SSL_SERVER);
	free(root);
	ca_issued_clear(&out);
	ca_free(ca);
	ca_csr_clear(&csr);
	OPENSSL_free(der);
}

/* --- revocation lookups ------------------------------------------------------------------- */

static void test_cert_inspect(void **state)
{
	(void)state;
	struct ca_options o = default_opt;
	o.alternate_roots = 1;
	struct ca *ca = ca_new(&o), *other = ca_new(&default_opt);
	struct ca_issued mine, theirs;
	issue_one(ca, leaf_rsa, &mine);
	issue_one(other, leaf_rsa, &theirs);
	char serial[41], err[256];
	EVP_PKEY *pub = NULL;
	size_t len;

	/* our leaf, from either chain */
	for (size_t i = 0; i < mine.nchains; i++) {
		unsigned char *der = chain_leaf_der(mine.chains[i], &len);
		assert_int_equal(ca_cert_inspect(ca, der, len, serial, &pub, err, sizeof err), 0);
		assert_string_equal(serial, mine.serial);
		assert_int_equal(EVP_PKEY_eq(pub, leaf_rsa), 1);
		EVP_PKEY_free(pub);
		OPENSSL_free(der);
	}

	/* another CA's leaf */
	unsigned char *der = chain_leaf_der(theirs.chains[0], &len);
	assert_int_equal(ca_cert_inspect(ca, der, len, serial, &pub, err, sizeof err), -1);
	assert_non_null(strstr(err, "not issued by this CA"));
	assert_null(pub);
	OPENSSL_free(der);

	/* our issuer name but another key's signature: the signature is what counts */
	STACK_OF(X509) *chain = pem_certs(mine.chains[0]);
	X509 *forged = X509_dup(sk_X509_value(chain, 0));
	EVP_PKEY *k = keygen("P-256");
	assert_true(X509_sign(forged, k, EVP_sha256()) > 0);
	der = NULL;
	len = (size_t)i2d_X509(forged, &der);
	assert_int_equal(ca_cert_inspect(ca, der, len, serial, &pub, err, sizeof err), -1);
	assert_non_null(strstr(err, "signature does not verify"));
	assert_null(pub);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	X509_free(forged);

	/* our own issuing intermediate is not a leaf we signed */
	der = NULL;
	len = (size_t)i2d_X509(sk_X509_value(chain, 1), &der);
	assert_int_equal(ca_cert_inspect(ca, der, len, serial, &pub, err, sizeof err), -1);
	OPENSSL_free(der);
	sk_X509_pop_free(chain, X509_free);

	/* garbage */
	assert_int_equal(ca_cert_inspect(ca, (const unsigned char *)"junk", 4, serial, &pub, err,
	                                 sizeof err), -1);
	assert_string_equal(err, "certificate is not valid DER X.509");
	assert_int_equal(ERR_peek_error(), 0);

	ca_issued_clear(&mine);
	ca_issued_clear(&theirs);
	ca_free(other);
	ca_free(ca);
}

/* --- TLS identity ------------------------------------------------------------------------- */

static void test_tls_identity(void **state)
{
	(void)state;
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1", "::1"};
	char *cert = NULL, *key = NULL, *root = NULL;
	assert_int_equal(ca_tls_identity(dns, 1, ips, 2, &cert, &key, &root), 0);

	STACK_OF(X509) *certs = pem_certs(cert);
	assert_int_equal(sk_X509_num(certs), 1); /* the leaf and nothing else */
	X509 *leaf = sk_X509_value(certs, 0), *r = pem_cert(root);
	assert_verifies(cert, root, X509_PURPOSE_SSL_SERVER);
	assert_int_equal(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	assert_int_equal(X509_check_ca(leaf), 0);

	assert_true(strncmp(key, "-----BEGIN PRIVATE KEY-----", 27) == 0); /* PKCS#8 */
	EVP_PKEY *k = pem_key(key);
	assert_int_equal(X509_check_private_key(leaf, k), 1);
	EVP_PKEY_free(k);

	char *cn = subject_cn(r);
	assert_true(strncmp(cn, "cobble TLS root ", 16) == 0);
	free(cn);
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf),
	                                X509_get0_notAfter(leaf)), 1);
	assert_in_range(days, 4 * 365, 6 * 365);

	/* a second identity has a different root */
	char *cert2, *key2, *root2;
	assert_int_equal(ca_tls_identity(dns, 1, ips, 2, &cert2, &key2, &root2), 0);
	assert_false(verify_chain(cert, root2, 0));
	free(cert2);
	free(key2);
	free(root2);

	X509_free(r);
	sk_X509_pop_free(certs, X509_free);
	free(cert);
	free(key);
	free(root);
}

/* --- the openssl command, as a user would run it ----------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_openssl_verify_command(void **state)
{
	(void)state;
	if (system("openssl version >/dev/null 2>&1") != 0)
		skip();
	struct ca_options o = default_opt;
	o.chain_length = 2;
	o.alternate_roots = 1;
	struct ca *ca = ca_new(&o);
	struct ca_issued out;
	issue_one(ca, leaf_ec, &out);
	char dir[] = "/tmp/cobble-test-ca.XXXXXX";
	assert_non_null(mkdtemp(dir));

	for (int i = 0; i < ca_nroots(ca); i++) {
		/* split the chain: leaf.pem is its first certificate, chain.pem the rest */
		const char *rest = strstr(out.chains[i] + 1, "-----BEGIN CERTIFICATE-----");
		assert_non_null(rest);
		char *leaf = strndup(out.chains[i], (size_t)(rest - out.chains[i]));
		char *root = ca_root_pem(ca, i);
		write_file(dir, "root.pem", root);
		write_file(dir, "chain.pem", rest);
		write_file(dir, "leaf.pem", leaf);
		char cmd[1024], line[1024] = "";
		snprintf(cmd, sizeof cmd,
		         "cd %s && openssl verify -CAfile root.pem -untrusted chain.pem leaf.pem 2>&1", dir);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		char *got = fgets(line, sizeof line, p);
		int st = pclose(p);
		print_message("# root %d: %s", i, line);
		assert_non_null(got);
		assert_string_equal(line, "leaf.pem: OK\n");
		assert_int_equal(st, 0);
		free(leaf);
		free(root);
	}
	for (const char *const *f = (const char *const[]){"root.pem", "chain.pem", "leaf.pem", NULL};
	     *f; f++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, *f);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
	ca_issued_clear(&out);
	ca_free(ca);
}

static int group_setup(void **state)
{
	(void)state;
	leaf_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	leaf_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return leaf_ec && leaf_rsa ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(leaf_ec);
	EVP_PKEY_free(leaf_rsa);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hierarchies_issue_leaves_that_verify),
	    cmocka_unit_test(test_alternate_roots_share_issuing_intermediate),
	    cmocka_unit_test(test_leaf_does_not_verify_under_another_cas_root),
	    cmocka_unit_test(test_ca_new_refuses_bad_options),
	    cmocka_unit_test(test_leaf_names_validity_and_extensions),
	    cmocka_unit_test(test_leaf_without_common_name),
	    cmocka_unit_test(test_leaf_default_validity),
	    cmocka_unit_test(test_serials_unique_and_positive),
	    cmocka_unit_test(test_issue_from_many_threads),
	    cmocka_unit_test(test_csr_parse_table),
	    cmocka_unit_test(test_csr_garbage_is_refused),
	    cmocka_unit_test(test_csr_to_certificate),
	    cmocka_unit_test(test_cert_inspect),
	    cmocka_unit_test(test_tls_identity),
	    cmocka_unit_test(test_openssl_verify_command),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
