/* test_crl: server/crl.c keeps every CRL fresh: signed anew on revocation and when a fetch finds
 * it older than the refresh period, so a long-running cobble never serves a CRL past its
 * nextUpdate. Each CRL is checked with OpenSSL: signature against the issuing intermediate, CRL
 * Number, thisUpdate/nextUpdate. */
#include "server/ca.h"
#include "server/crl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const struct ca_options opt = {CA_KEY_ECDSA_P256, 1, 0, 90, ""};

struct seen {
	long number;
	time_t this_update, next_update;
};

/* Fetch hierarchy 0's CRL from c, check its signature with ca's intermediate, and read it. */
static struct seen fetch(struct crl *c, struct ca *ca)
{
	size_t len = 0;
	unsigned char *der = crl_get(c, 0, &len);
	assert_non_null(der);
	const unsigned char *p = der;
	X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(x);
	char *pem = ca_intermediate_pem(ca, 0);
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *inter = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(inter);
	assert_int_equal(X509_CRL_verify(x, X509_get0_pubkey(inter)), 1);

	struct seen s = {0};
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(x, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	s.number = ASN1_INTEGER_get(num);
	struct tm tm;
	assert_int_equal(ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(x), &tm), 1);
	s.this_update = timegm(&tm);
	assert_int_equal(ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(x), &tm), 1);
	s.next_update = timegm(&tm);

	ASN1_INTEGER_free(num);
	X509_free(inter);
	BIO_free(b);
	free(pem);
	X509_CRL_free(x);
	free(der);
	return s;
}

/* With the default period, fetching again gives the same CRL; a revocation signs a new one. */
static void test_crl_stable_until_revocation(void **state)
{
	(void)state;
	struct ca *ca = ca_new(&opt);
	assert_non_null(ca);
	struct crl *c = crl_new(ca);
	assert_non_null(c);
	struct seen a = fetch(c, ca), b = fetch(c, ca);
	assert_int_equal(a.number, 1);
	assert_int_equal(b.number, 1);
	assert_true(a.next_update - a.this_update == 7L * 86400);
	assert_int_equal(crl_revoke(c, "0a1b2c", 1, time(NULL)), 0);
	assert_int_equal(fetch(c, ca).number, 2);
	size_t len;
	assert_null(crl_get(c, 1, &len)); /* one hierarchy only */
	crl_free(c);
	ca_free(ca);
}

/* Past the refresh period, a fetch gets a CRL signed anew: a higher CRL Number, a later
 * thisUpdate and nextUpdate, and the revocations still listed. */
static void test_crl_signed_anew_when_old(void **state)
{
	(void)state;
	struct ca *ca = ca_new(&opt);
	assert_non_null(ca);
	struct crl *c = crl_new_refresh(ca, 2);
	assert_non_null(c);
	assert_int_equal(crl_revoke(c, "0a1b2c", 4, time(NULL)), 0);
	struct seen a = fetch(c, ca);
	assert_int_equal(a.number, 2);
	sleep(3);
	struct seen b = fetch(c, ca);
	assert_int_equal(b.number, 3);
	assert_true(b.this_update > a.this_update);
	assert_true(b.next_update > a.next_update);

	size_t len = 0;
	unsigned char *der = crl_get(c, 0, &len);
	const unsigned char *p = der;
	X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(x)), 1);
	X509_CRL_free(x);
	free(der);
	crl_free(c);
	ca_free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crl_stable_until_revocation),
	    cmocka_unit_test(test_crl_signed_anew_when_old),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
