/* ca_crl: the CRL of an issuing intermediate (RFC 5280 §5), signed with the issuing key. */
#include "server/ca.h"
#include "server/ca_internal.h"

#include "common/log.h"

#include <openssl/bn.h>
#include <stdbool.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* One entry: serial, revocationDate and (§5.3.1) reasonCode unless unspecified. New or NULL. */
static X509_REVOKED *entry(const struct ca_revoked *r)
{
	X509_REVOKED *rv = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = ASN1_TIME_set(NULL, r->when);
	ASN1_ENUMERATED *reason = NULL;
	bool ok = rv && when && BN_hex2bn(&bn, r->serial) > 0 && (serial = BN_to_ASN1_INTEGER(bn, NULL)) &&
	          X509_REVOKED_set_serialNumber(rv, serial) && X509_REVOKED_set_revocationDate(rv, when);
	/* §5.3.1: "the reason code CRL entry extension SHOULD be absent instead of using the
	 * unspecified (0) reasonCode value" */
	if (ok && r->reason != 0)
		ok = (reason = ASN1_ENUMERATED_new()) && ASN1_ENUMERATED_set(reason, r->reason) &&
		     X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, reason, 0, 0) == 1;
	if (!ok) {
		log_error("ca_crl: building the entry for serial %s failed", r->serial);
		X509_REVOKED_free(rv);
		rv = NULL;
	}
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rv;
}

int ca_crl(const struct ca *ca, int i, const struct ca_revoked *rev, size_t n, long number,
           long next_update, unsigned char **der, size_t *len)
{
	X509 *cert = NULL;
	EVP_PKEY *key;
	const unsigned char *keyid;
	size_t idlen;
	X509_CRL *crl = NULL;
	ASN1_TIME *now = NULL, *next = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int rc = -1;
	*der = NULL;
	if (ca_crl_signer(ca, i, &cert, &key, &keyid, &idlen) < 0)
		return -1;
	time_t t = time(NULL);
	if (!(crl = X509_CRL_new()) || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(cert)) || !(now = ASN1_TIME_set(NULL, t)) ||
	    !(next = ASN1_TIME_set(NULL, t + next_update)) || !X509_CRL_set1_lastUpdate(crl, now) ||
	    !X509_CRL_set1_nextUpdate(crl, next)) {
		log_error("ca_crl: X509_CRL_new/set failed");
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		X509_REVOKED *rv = entry(&rev[k]);
		if (!rv || !X509_CRL_add0_revoked(crl, rv)) {
			X509_REVOKED_free(rv);
			goto out;
		}
	}
	/* §5.2.3 CRL Number (monotonically increasing), §5.2.1 AKI */
	if (!(num = ASN1_INTEGER_new()) || !ASN1_INTEGER_set(num, number) ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 || !(akid = AUTHORITY_KEYID_new()) ||
	    !(akid->keyid = ASN1_OCTET_STRING_new()) || !ASN1_OCTET_STRING_set(akid->keyid, keyid, (int)idlen) ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) != 1) {
		log_error("ca_crl: CRL extensions failed");
		goto out;
	}
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, key, EVP_sha256())) {
		log_error("ca_crl: X509_CRL_sign failed");
		goto out;
	}
	int l = i2d_X509_CRL(crl, der);
	if (l <= 0) {
		log_error("ca_crl: i2d_X509_CRL failed");
		goto out;
	}
	*len = (size_t)l;
	rc = 0;
out:
	if (rc)
		ERR_clear_error();
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	X509_free(cert);
	return rc;
}
