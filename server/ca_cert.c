/* ca_cert: building one certificate (RFC 5280 §4.1, the extensions of §4.2.1) from a
 * ca_cert_spec, for the hierarchies, the leaves and the TLS identity that server/ca.c makes. */
#include "server/ca.h"
#include "server/ca_internal.h"

#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

EVP_PKEY *ca_cert_key_new(enum ca_key_type t)
{
	EVP_PKEY *k;
	if (t == CA_KEY_RSA2048)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k)
		ca_ossl_fail("EVP_PKEY_Q_keygen");
	return k;
}

static char *bio_to_string(BIO *b)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	return xstrndup(n > 0 ? p : "", n > 0 ? (size_t)n : 0);
}

char *ca_cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (!b)
		ca_ossl_fail("BIO_new");
	else if (!PEM_write_bio_X509(b, x))
		ca_ossl_fail("PEM_write_bio_X509");
	else
		s = bio_to_string(b);
	BIO_free(b);
	return s;
}

/* PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted. */
char *ca_cert_key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (!b)
		ca_ossl_fail("BIO_new");
	else if (!PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		ca_ossl_fail("PEM_write_bio_PrivateKey");
	else
		s = bio_to_string(b);
	BIO_free(b);
	return s;
}

/* "cn" as the only attribute of a name. */
X509_NAME *ca_cert_name_cn(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (!n) {
		ca_ossl_fail("X509_NAME_new");
		return NULL;
	}
	if (cn && !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	                                      (const unsigned char *)cn, -1, -1, 0)) {
		ca_ossl_fail("X509_NAME_add_entry_by_NID");
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* Serial hex as ca_issued.serial: the INTEGER's content octets in lowercase hex. */
int ca_cert_serial_hex(const ASN1_INTEGER *s, char out[41])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
	char *hex = NULL;
	int rc = -1;
	if (!bn) {
		ca_ossl_fail("ASN1_INTEGER_to_BN");
		goto out;
	}
	if (!(hex = BN_bn2hex(bn))) {
		ca_ossl_fail("BN_bn2hex");
		goto out;
	}
	if (hex[0] == '-' || strlen(hex) > 40)
		goto out;
	strcpy(out, hex);
	util_lower(out);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 CSPRNG bytes with the top bit cleared
 * (CA/B Baseline Requirements §7.1: at least 64 bits of randomness). */
static ASN1_INTEGER *serial_new(void)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ret = NULL;
	do {
		if (RAND_bytes(b, sizeof b) != 1) {
			ca_ossl_fail("RAND_bytes");
			return NULL;
		}
		b[0] &= 0x7f;
	} while (b[0] == 0 && !memcmp(b, b + 1, sizeof b - 1)); /* all zero */
	if (!(bn = BN_bin2bn(b, sizeof b, NULL)))
		ca_ossl_fail("BN_bin2bn");
	else if (!(ret = BN_to_ASN1_INTEGER(bn, NULL)))
		ca_ossl_fail("BN_to_ASN1_INTEGER");
	BN_free(bn);
	return ret;
}

static int add_ext(X509 *x, int nid, void *value, int crit, const char *what)
{
	if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1) {
		ca_ossl_fail(what);
		return -1;
	}
	return 0;
}

static int octets_set(ASN1_OCTET_STRING **o, const unsigned char *p, int n)
{
	if (!(*o = ASN1_OCTET_STRING_new())) {
		ca_ossl_fail("ASN1_OCTET_STRING_new");
		return -1;
	}
	if (!ASN1_OCTET_STRING_set(*o, p, n)) {
		ca_ossl_fail("ASN1_OCTET_STRING_set");
		return -1;
	}
	return 0;
}

/* RFC 5280 §4.2.1.6: dNSName entries and iPAddress entries (4 or 16 octets). */
static GENERAL_NAMES *san_new(const struct ca_cert_spec *s)
{
	GENERAL_NAMES *san = GENERAL_NAMES_new();
	GENERAL_NAME *gn = NULL;
	if (!san) {
		ca_ossl_fail("GENERAL_NAMES_new");
		return NULL;
	}
	for (size_t i = 0; i < s->ndns + s->nips; i++) {
		if (!(gn = GENERAL_NAME_new())) {
			ca_ossl_fail("GENERAL_NAME_new");
			goto fail;
		}
		if (i < s->ndns) {
			ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
			if (!ia5 || !ASN1_STRING_set(ia5, s->dns[i], -1)) {
				ASN1_IA5STRING_free(ia5);
				ca_ossl_fail("ASN1_STRING_set");
				goto fail;
			}
			GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		} else {
			const char *ip = s->ips[i - s->ndns];
			unsigned char a[16];
			int n = 0;
			ASN1_OCTET_STRING *o = NULL;
			if (inet_pton(AF_INET, ip, a) == 1)
				n = 4;
			else if (inet_pton(AF_INET6, ip, a) == 1)
				n = 16;
			if (n == 0) {
				log_error("ca: \"%s\" is not an IPv4 or IPv6 address", ip);
				goto fail;
			}
			if (octets_set(&o, a, n)) {
				ASN1_OCTET_STRING_free(o);
				goto fail;
			}
			GENERAL_NAME_set0_value(gn, GEN_IPADD, o);
		}
		if (!sk_GENERAL_NAME_push(san, gn)) {
			ca_ossl_fail("sk_GENERAL_NAME_push");
			goto fail;
		}
		gn = NULL;
	}
	return san;
fail:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(san);
	return NULL;
}

/* RFC 5280 §4.2.1.13: one DistributionPoint whose fullName is the URI url. */
static int add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = CRL_DIST_POINTS_new();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
	int rc = -1;
	if (!cdp || !dp || !gn || !uri || !ASN1_STRING_set(uri, url, -1) ||
	    !(dp->distpoint = DIST_POINT_NAME_new())) {
		ca_ossl_fail("CRL_DIST_POINTS_new");
		goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	dp->distpoint->type = 0;
	if (!(dp->distpoint->name.fullname = GENERAL_NAMES_new()) ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
		ca_ossl_fail("GENERAL_NAMES_new");
		goto out;
	}
	gn = NULL;
	if (!sk_DIST_POINT_push(cdp, dp)) {
		ca_ossl_fail("sk_DIST_POINT_push");
		goto out;
	}
	dp = NULL;
	rc = add_ext(x, NID_crl_distribution_points, cdp, 0, "X509_add1_ext_i2d(crlDistributionPoints)");
out:
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return rc;
}

/* The extensions of RFC 5280 §4.2.1 that cobble uses; the SKI is also written to keyid. */
static int add_extensions(X509 *x, const struct ca_cert_spec *s, unsigned char keyid[KEYID_LEN])
{
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OCTET_STRING *skid = NULL;
	AUTHORITY_KEYID *akid = NULL;
	GENERAL_NAMES *san = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	/* §4.2.1.9: critical in CA certificates; Let's Encrypt marks it critical in leaves too. */
	if (!(bc = BASIC_CONSTRAINTS_new())) {
		ca_ossl_fail("BASIC_CONSTRAINTS_new");
		goto out;
	}
	bc->ca = s->is_ca ? 0xff : 0;
	if (s->is_ca && s->pathlen >= 0) {
		if (!(bc->pathlen = ASN1_INTEGER_new()) || !ASN1_INTEGER_set(bc->pathlen, s->pathlen)) {
			ca_ossl_fail("ASN1_INTEGER_set");
			goto out;
		}
	}
	if (add_ext(x, NID_basic_constraints, bc, 1, "X509_add1_ext_i2d(basicConstraints)"))
		goto out;

	/* §4.2.1.3: SHOULD be critical. */
	if (!(ku = ASN1_BIT_STRING_new())) {
		ca_ossl_fail("ASN1_BIT_STRING_new");
		goto out;
	}
	for (int bit = 0; bit < 9; bit++) {
		if ((s->ku & KU(bit)) && !ASN1_BIT_STRING_set_bit(ku, bit, 1)) {
			ca_ossl_fail("ASN1_BIT_STRING_set_bit");
			goto out;
		}
	}
	if (add_ext(x, NID_key_usage, ku, 1, "X509_add1_ext_i2d(keyUsage)"))
		goto out;

	if (s->eku) {
		if (!(eku = sk_ASN1_OBJECT_new_null())) {
			ca_ossl_fail("sk_ASN1_OBJECT_new_null");
			goto out;
		}
		if (((s->eku & EKU_SERVER) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth))) ||
		    ((s->eku & EKU_CLIENT) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))) {
			ca_ossl_fail("sk_ASN1_OBJECT_push");
			goto out;
		}
		if (add_ext(x, NID_ext_key_usage, eku, 0, "X509_add1_ext_i2d(extKeyUsage)"))
			goto out;
	}

	/* §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) || mdlen != KEYID_LEN) {
		ca_ossl_fail("X509_pubkey_digest");
		goto out;
	}
	memcpy(keyid, md, KEYID_LEN);
	if (octets_set(&skid, md, (int)mdlen))
		goto out;
	if (add_ext(x, NID_subject_key_identifier, skid, 0, "X509_add1_ext_i2d(subjectKeyIdentifier)"))
		goto out;

	/* §4.2.1.1: keyIdentifier of the issuer's SKI; may be left out of a self-signed root. */
	if (s->aki) {
		if (!(akid = AUTHORITY_KEYID_new())) {
			ca_ossl_fail("AUTHORITY_KEYID_new");
			goto out;
		}
		if (octets_set(&akid->keyid, s->aki, KEYID_LEN))
			goto out;
		if (add_ext(x, NID_authority_key_identifier, akid, 0,
		            "X509_add1_ext_i2d(authorityKeyIdentifier)"))
			goto out;
	}

	/* §4.2.1.13: where the issuer's CRL is (a fullName URI) */
	if (s->crl_url && add_cdp(x, s->crl_url))
		goto out;
	/* §4.2.1.6: critical when the subject is empty. */
	if (s->ndns + s->nips > 0) {
		if (!(san = san_new(s)))
			goto out;
		if (add_ext(x, NID_subject_alt_name, san, X509_NAME_entry_count(s->subject) == 0,
		            "X509_add1_ext_i2d(subjectAltName)"))
			goto out;
	}
	rc = 0;
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_free(eku); /* OBJ_nid2obj objects are static */
	ASN1_OCTET_STRING_free(skid);
	AUTHORITY_KEYID_free(akid);
	GENERAL_NAMES_free(san);
	return rc;
}

ASN1_SEQUENCE(CA_RSA_PUB) = {
	ASN1_SIMPLE(struct ca_rsa_pub, n, BIGNUM),
	ASN1_SIMPLE(struct ca_rsa_pub, e, BIGNUM),
} ASN1_SEQUENCE_END_name(struct ca_rsa_pub, CA_RSA_PUB)

/* The subjectPublicKey bits of an RSA or named-curve EC key (new, caller frees with OPENSSL_free)
 * and its AlgorithmIdentifier's parameters: RFC 3279 §2.3.1 (rsaEncryption, NULL) and RFC 5480
 * §2.1.1 (id-ecPublicKey, namedCurve). Read from the key's own parameters: OpenSSL 3.0's
 * X509_set_pubkey instead encodes the key with an OSSL_ENCODER and decodes it back with an
 * OSSL_DECODER, whose set-up walks every provider's algorithms (a sixth of an issuance flow's CPU).
 * Returns 0 or -1 (another key type, or a failed call: the caller falls back to X509_set_pubkey). */
static int spki_bits(EVP_PKEY *k, int *alg, int *curve, unsigned char **bits, int *len)
{
	struct ca_rsa_pub rp = {NULL, NULL};
	char group[64];
	unsigned char pt[160]; /* an uncompressed P-521 point is 133 octets */
	size_t glen = 0, ptlen = 0;
	int rc = -1;

	*bits = NULL;
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &rp.n) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &rp.e) ||
		    (*len = ASN1_item_i2d((ASN1_VALUE *)&rp, bits, ASN1_ITEM_rptr(CA_RSA_PUB))) <= 0)
			goto out;
		*alg = NID_rsaEncryption;
		*curve = NID_undef;
	} else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) ||
		    (*curve = OBJ_sn2nid(group)) == NID_undef ||
		    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &ptlen) ||
		    !(*bits = OPENSSL_memdup(pt, ptlen)))
			goto out;
		*len = (int)ptlen;
		*alg = NID_X9_62_id_ecPublicKey;
	} else {
		goto out;
	}
	rc = 0;
out:
	BN_free(rp.n);
	BN_free(rp.e);
	if (rc) {
		OPENSSL_free(*bits);
		*bits = NULL;
		ERR_clear_error();
	}
	return rc;
}

/* RFC 5280 §4.1.2.7: the subject's public key, as X509_set_pubkey would write it. */
static int spki_set(X509 *x, EVP_PKEY *k)
{
	unsigned char *bits = NULL;
	int alg, curve, len;

	if (spki_bits(k, &alg, &curve, &bits, &len) == 0) {
		if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(alg),
		                           curve == NID_undef ? V_ASN1_NULL : V_ASN1_OBJECT,
		                           curve == NID_undef ? NULL : OBJ_nid2obj(curve), bits, len))
			return 0; /* bits are the certificate's now */
		OPENSSL_free(bits);
		ca_ossl_fail("X509_PUBKEY_set0_param");
		return -1;
	}
	if (!X509_set_pubkey(x, k)) {
		ca_ossl_fail("X509_set_pubkey");
		return -1;
	}
	return 0;
}

/* A new signed certificate (caller frees), its SKI in keyid; NULL after logging. */
X509 *ca_cert_make(const struct ca_cert_spec *s, unsigned char keyid[KEYID_LEN])
{
	X509 *x = NULL, *ret = NULL;
	ASN1_INTEGER *serial = NULL;

	if (!(x = X509_new())) {
		ca_ossl_fail("X509_new");
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3)) {
		ca_ossl_fail("X509_set_version");
		goto out;
	}
	if (!(serial = serial_new()))
		goto out;
	if (!X509_set_serialNumber(x, serial)) {
		ca_ossl_fail("X509_set_serialNumber");
		goto out;
	}
	if (!X509_set_subject_name(x, s->subject)) {
		ca_ossl_fail("X509_set_subject_name");
		goto out;
	}
	if (!X509_set_issuer_name(x, s->issuer)) {
		ca_ossl_fail("X509_set_issuer_name");
		goto out;
	}
	if (!ASN1_TIME_set(X509_getm_notBefore(x), s->nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), s->na)) {
		ca_ossl_fail("ASN1_TIME_set");
		goto out;
	}
	if (spki_set(x, s->pub))
		goto out;
	if (add_extensions(x, s, keyid))
		goto out;
	if (X509_sign(x, s->signer, EVP_sha256()) <= 0) {
		ca_ossl_fail("X509_sign");
		goto out;
	}
	ret = x;
	x = NULL;
out:
	X509_free(x);
	ASN1_INTEGER_free(serial);
	return ret;
}
