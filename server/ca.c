/* ca: the in-memory signing CA: key hierarchies made at start-up, leaf issuance, chains,
 * revocation lookups and the TLS identity of cobble's own listeners (OpenSSL 3 only); the CSR
 * checks are in ca_csr.c.
 *
 * Thread safety: no lock. After ca_new returns, struct ca is immutable: every certificate and key
 * the accessors hand out is kept as a PEM string made at start-up, the issuing intermediate's
 * name and key id as bytes; the only OpenSSL object shared between threads is the issuing
 * EVP_PKEY, which OpenSSL 3 allows several threads to sign and verify with at once (openssl-
 * threads(7)). Each ca_issue builds its own X509 and parses its own copy of the issuer name. */
#include "server/ca.h"
#include "server/ca_internal.h"

#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define KEYID_LEN 20                    /* RFC 5280 §4.2.1.2 method (1): SHA-1 of the key bits */
#define BACKDATE (60 * 60)              /* for clients whose clocks run a little behind */
#define DAY (24 * 60 * 60)
#define ROOT_DAYS (30 * 365 + 7)
#define INTERMEDIATE_DAYS (8 * 365 + 2)
#define TLS_DAYS (5 * 365 + 1)
#define MAX_CHAIN 100 /* generous caps only against absurd allocations */
#define MAX_ALTERNATES 100
#define CN_MAX 64 /* RFC 5280 Appendix A: ub-common-name */

/* KeyUsage bit numbers, RFC 5280 §4.2.1.3. */
enum { KUBIT_DIGITAL_SIGNATURE = 0, KUBIT_KEY_ENCIPHERMENT = 2, KUBIT_KEY_CERT_SIGN = 5,
       KUBIT_CRL_SIGN = 6 };
#define KU(bit) (1u << (bit))
enum { EKU_SERVER = 1, EKU_CLIENT = 2 };

struct ca_hier {
	char *root_pem, *root_key_pem;
	char *inter_pem;  /* the issuing intermediate as signed in this hierarchy */
	char *chain_pem;  /* issuing intermediate up to the one just under the root */
};

struct ca {
	struct ca_options opt;
	int nh;
	struct ca_hier *h;
	EVP_PKEY *issuer_key; /* shared by every hierarchy's issuing intermediate */
	char *issuer_key_pem;
	unsigned char *issuer_name_der;
	int issuer_name_len;
	unsigned char issuer_keyid[KEYID_LEN];
};

/* Everything one certificate needs; cert_make turns it into a signed X509. */
struct cert_spec {
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

/* Log the failed OpenSSL call once, with OpenSSL's reason, and empty this thread's error queue. */
static void ossl_fail(const char *call)
{
	char buf[256] = "no OpenSSL error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	log_error("ca: %s failed: %s", call, buf);
	ERR_clear_error();
}

void ca_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	ERR_clear_error(); /* a client's fault: nothing of it should reach a later log line */
}

static EVP_PKEY *key_new(enum ca_key_type t)
{
	EVP_PKEY *k;
	if (t == CA_KEY_RSA2048)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k)
		ossl_fail("EVP_PKEY_Q_keygen");
	return k;
}

static char *bio_to_string(BIO *b)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	return xstrndup(n > 0 ? p : "", n > 0 ? (size_t)n : 0);
}

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (!b)
		ossl_fail("BIO_new");
	else if (!PEM_write_bio_X509(b, x))
		ossl_fail("PEM_write_bio_X509");
	else
		s = bio_to_string(b);
	BIO_free(b);
	return s;
}

/* PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted. */
static char *key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (!b)
		ossl_fail("BIO_new");
	else if (!PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		ossl_fail("PEM_write_bio_PrivateKey");
	else
		s = bio_to_string(b);
	BIO_free(b);
	return s;
}

/* "cn" as the only attribute of a name. */
static X509_NAME *name_cn(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (!n) {
		ossl_fail("X509_NAME_new");
		return NULL;
	}
	if (cn && !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	                                      (const unsigned char *)cn, -1, -1, 0)) {
		ossl_fail("X509_NAME_add_entry_by_NID");
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* Serial hex as ca_issued.serial: the INTEGER's content octets in lowercase hex. */
static int serial_hex(const ASN1_INTEGER *s, char out[41])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
	char *hex = NULL;
	int rc = -1;
	if (!bn) {
		ossl_fail("ASN1_INTEGER_to_BN");
		goto out;
	}
	if (!(hex = BN_bn2hex(bn))) {
		ossl_fail("BN_bn2hex");
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
			ossl_fail("RAND_bytes");
			return NULL;
		}
		b[0] &= 0x7f;
	} while (b[0] == 0 && !memcmp(b, b + 1, sizeof b - 1)); /* all zero */
	if (!(bn = BN_bin2bn(b, sizeof b, NULL)))
		ossl_fail("BN_bin2bn");
	else if (!(ret = BN_to_ASN1_INTEGER(bn, NULL)))
		ossl_fail("BN_to_ASN1_INTEGER");
	BN_free(bn);
	return ret;
}

static int add_ext(X509 *x, int nid, void *value, int crit, const char *what)
{
	if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1) {
		ossl_fail(what);
		return -1;
	}
	return 0;
}

static int octets_set(ASN1_OCTET_STRING **o, const unsigned char *p, int n)
{
	if (!(*o = ASN1_OCTET_STRING_new())) {
		ossl_fail("ASN1_OCTET_STRING_new");
		return -1;
	}
	if (!ASN1_OCTET_STRING_set(*o, p, n)) {
		ossl_fail("ASN1_OCTET_STRING_set");
		return -1;
	}
	return 0;
}

/* RFC 5280 §4.2.1.6: dNSName entries and iPAddress entries (4 or 16 octets). */
static GENERAL_NAMES *san_new(const struct cert_spec *s)
{
	GENERAL_NAMES *san = GENERAL_NAMES_new();
	GENERAL_NAME *gn = NULL;
	if (!san) {
		ossl_fail("GENERAL_NAMES_new");
		return NULL;
	}
	for (size_t i = 0; i < s->ndns + s->nips; i++) {
		if (!(gn = GENERAL_NAME_new())) {
			ossl_fail("GENERAL_NAME_new");
			goto fail;
		}
		if (i < s->ndns) {
			ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
			if (!ia5 || !ASN1_STRING_set(ia5, s->dns[i], -1)) {
				ASN1_IA5STRING_free(ia5);
				ossl_fail("ASN1_STRING_set");
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
			ossl_fail("sk_GENERAL_NAME_push");
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
		ossl_fail("CRL_DIST_POINTS_new");
		goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	dp->distpoint->type = 0;
	if (!(dp->distpoint->name.fullname = GENERAL_NAMES_new()) ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
		ossl_fail("GENERAL_NAMES_new");
		goto out;
	}
	gn = NULL;
	if (!sk_DIST_POINT_push(cdp, dp)) {
		ossl_fail("sk_DIST_POINT_push");
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
static int add_extensions(X509 *x, const struct cert_spec *s, unsigned char keyid[KEYID_LEN])
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
		ossl_fail("BASIC_CONSTRAINTS_new");
		goto out;
	}
	bc->ca = s->is_ca ? 0xff : 0;
	if (s->is_ca && s->pathlen >= 0) {
		if (!(bc->pathlen = ASN1_INTEGER_new()) || !ASN1_INTEGER_set(bc->pathlen, s->pathlen)) {
			ossl_fail("ASN1_INTEGER_set");
			goto out;
		}
	}
	if (add_ext(x, NID_basic_constraints, bc, 1, "X509_add1_ext_i2d(basicConstraints)"))
		goto out;

	/* §4.2.1.3: SHOULD be critical. */
	if (!(ku = ASN1_BIT_STRING_new())) {
		ossl_fail("ASN1_BIT_STRING_new");
		goto out;
	}
	for (int bit = 0; bit < 9; bit++) {
		if ((s->ku & KU(bit)) && !ASN1_BIT_STRING_set_bit(ku, bit, 1)) {
			ossl_fail("ASN1_BIT_STRING_set_bit");
			goto out;
		}
	}
	if (add_ext(x, NID_key_usage, ku, 1, "X509_add1_ext_i2d(keyUsage)"))
		goto out;

	if (s->eku) {
		if (!(eku = sk_ASN1_OBJECT_new_null())) {
			ossl_fail("sk_ASN1_OBJECT_new_null");
			goto out;
		}
		if (((s->eku & EKU_SERVER) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth))) ||
		    ((s->eku & EKU_CLIENT) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))) {
			ossl_fail("sk_ASN1_OBJECT_push");
			goto out;
		}
		if (add_ext(x, NID_ext_key_usage, eku, 0, "X509_add1_ext_i2d(extKeyUsage)"))
			goto out;
	}

	/* §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) || mdlen != KEYID_LEN) {
		ossl_fail("X509_pubkey_digest");
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
			ossl_fail("AUTHORITY_KEYID_new");
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

/* A new signed certificate (caller frees), its SKI in keyid; NULL after logging. */
static X509 *cert_make(const struct cert_spec *s, unsigned char keyid[KEYID_LEN])
{
	X509 *x = NULL, *ret = NULL;
	ASN1_INTEGER *serial = NULL;

	if (!(x = X509_new())) {
		ossl_fail("X509_new");
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3)) {
		ossl_fail("X509_set_version");
		goto out;
	}
	if (!(serial = serial_new()))
		goto out;
	if (!X509_set_serialNumber(x, serial)) {
		ossl_fail("X509_set_serialNumber");
		goto out;
	}
	if (!X509_set_subject_name(x, s->subject)) {
		ossl_fail("X509_set_subject_name");
		goto out;
	}
	if (!X509_set_issuer_name(x, s->issuer)) {
		ossl_fail("X509_set_issuer_name");
		goto out;
	}
	if (!ASN1_TIME_set(X509_getm_notBefore(x), s->nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), s->na)) {
		ossl_fail("ASN1_TIME_set");
		goto out;
	}
	if (!X509_set_pubkey(x, s->pub)) {
		ossl_fail("X509_set_pubkey");
		goto out;
	}
	if (add_extensions(x, s, keyid))
		goto out;
	if (X509_sign(x, s->signer, EVP_sha256()) <= 0) {
		ossl_fail("X509_sign");
		goto out;
	}
	ret = x;
	x = NULL;
out:
	X509_free(x);
	ASN1_INTEGER_free(serial);
	return ret;
}

/* --- hierarchies ------------------------------------------------------------------------- */

struct built { /* one certificate of a hierarchy while it is being made */
	X509 *cert;
	EVP_PKEY *key;
	unsigned char keyid[KEYID_LEN];
};

/* Append the PEM of x to *acc. */
static int pem_append(char **acc, X509 *x)
{
	char *p = cert_pem(x), *n;
	if (!p)
		return -1;
	n = xasprintf("%s%s", *acc ? *acc : "", p);
	free(p);
	free(*acc);
	*acc = n;
	return 0;
}

/* Hierarchy hi: a root, then chain_length intermediates down to the issuing one, which always
 * has the same subject and the shared key. */
static int hier_make(struct ca *ca, int hi, const char *suffix, time_t now)
{
	struct ca_hier *h = &ca->h[hi];
	int L = ca->opt.chain_length;
	struct built *b = xcalloc((size_t)L + 1, sizeof *b); /* b[0] root, b[L] issuing */
	X509_NAME *name = NULL;
	char *alt = hi ? xasprintf(" alt%d", hi) : xstrdup("");
	char *cn = NULL;
	int rc = -1;

	for (int d = 0; d <= L; d++) {
		int level = L - d + 1; /* 1 = issuing intermediate */
		struct cert_spec s = {0};
		free(cn);
		if (d == 0)
			cn = xasprintf("cobble root CA %s%s", suffix, alt);
		else if (level == 1)
			cn = xasprintf("cobble intermediate CA %s", suffix);
		else
			cn = xasprintf("cobble intermediate CA %s level %d%s", suffix, level, alt);
		X509_NAME_free(name);
		if (!(name = name_cn(cn)))
			goto out;
		if (d > 0 && level == 1) {
			if (!EVP_PKEY_up_ref(ca->issuer_key)) {
				ossl_fail("EVP_PKEY_up_ref");
				goto out;
			}
			b[d].key = ca->issuer_key;
		} else if (!(b[d].key = key_new(ca->opt.key_type))) {
			goto out;
		}
		s.subject = name;
		s.issuer = d == 0 ? name : X509_get_subject_name(b[d - 1].cert);
		s.pub = b[d].key;
		s.signer = d == 0 ? b[0].key : b[d - 1].key;
		s.aki = d == 0 ? NULL : b[d - 1].keyid;
		s.nb = now - BACKDATE;
		s.na = now + (time_t)(d == 0 ? ROOT_DAYS : INTERMEDIATE_DAYS) * DAY;
		s.is_ca = 1;
		s.pathlen = d == 0 ? -1 : level - 1;
		s.ku = KU(KUBIT_KEY_CERT_SIGN) | KU(KUBIT_CRL_SIGN) |
		       (d == 0 ? 0 : KU(KUBIT_DIGITAL_SIGNATURE));
		if (!(b[d].cert = cert_make(&s, b[d].keyid)))
			goto out;
	}

	if (!(h->root_pem = cert_pem(b[0].cert)) || !(h->root_key_pem = key_pem(b[0].key)) ||
	    !(h->inter_pem = cert_pem(b[L].cert)))
		goto out;
	for (int d = L; d >= 1; d--)
		if (pem_append(&h->chain_pem, b[d].cert))
			goto out;
	if (hi == 0) {
		ca->issuer_name_len = i2d_X509_NAME(X509_get_subject_name(b[L].cert), &ca->issuer_name_der);
		if (ca->issuer_name_len <= 0) {
			ossl_fail("i2d_X509_NAME");
			goto out;
		}
		memcpy(ca->issuer_keyid, b[L].keyid, KEYID_LEN);
	}
	rc = 0;
out:
	for (int d = 0; d <= L; d++) {
		X509_free(b[d].cert);
		EVP_PKEY_free(b[d].key);
	}
	free(b);
	X509_NAME_free(name);
	free(alt);
	free(cn);
	return rc;
}

struct ca *ca_new(const struct ca_options *opt)
{
	struct ca *ca = NULL;
	char suffix[7];
	time_t now = time(NULL);

	if (opt->chain_length < 1 || opt->chain_length > MAX_CHAIN || opt->alternate_roots < 0 ||
	    opt->alternate_roots > MAX_ALTERNATES || opt->validity_days < 1 ||
	    (opt->key_type != CA_KEY_ECDSA_P256 && opt->key_type != CA_KEY_RSA2048)) {
		log_error("ca: bad options: chain_length %d (1-%d), alternate_roots %d (0-%d), "
		          "validity_days %d (>= 1)",
		          opt->chain_length, MAX_CHAIN, opt->alternate_roots, MAX_ALTERNATES,
		          opt->validity_days);
		return NULL;
	}
	ca = xcalloc(1, sizeof *ca);
	ca->opt = *opt;
	ca->nh = 1 + opt->alternate_roots;
	ca->h = xcalloc((size_t)ca->nh, sizeof *ca->h);
	/* Told apart from the roots of earlier runs that a user may still trust. */
	util_random_hex(suffix, 3);
	if (!(ca->issuer_key = key_new(opt->key_type)) || !(ca->issuer_key_pem = key_pem(ca->issuer_key)))
		goto fail;
	for (int i = 0; i < ca->nh; i++)
		if (hier_make(ca, i, suffix, now))
			goto fail;
	log_info("ca: %d hierarch%s, %d intermediate%s each, %s keys, issuing intermediate "
	         "\"cobble intermediate CA %s\"",
	         ca->nh, ca->nh == 1 ? "y" : "ies", opt->chain_length, opt->chain_length == 1 ? "" : "s",
	         opt->key_type == CA_KEY_RSA2048 ? "RSA-2048" : "ECDSA P-256", suffix);
	return ca;
fail:
	ca_free(ca);
	return NULL;
}

void ca_free(struct ca *ca)
{
	if (!ca)
		return;
	for (int i = 0; i < ca->nh; i++) {
		free(ca->h[i].root_pem);
		free(ca->h[i].root_key_pem);
		free(ca->h[i].inter_pem);
		free(ca->h[i].chain_pem);
	}
	free(ca->h);
	EVP_PKEY_free(ca->issuer_key);
	free(ca->issuer_key_pem);
	OPENSSL_free(ca->issuer_name_der);
	free(ca);
}

int ca_nroots(const struct ca *ca)
{
	return ca->nh;
}

char *ca_root_pem(const struct ca *ca, int i)
{
	return i >= 0 && i < ca->nh ? xstrdup(ca->h[i].root_pem) : NULL;
}

char *ca_root_key_pem(const struct ca *ca, int i)
{
	return i >= 0 && i < ca->nh ? xstrdup(ca->h[i].root_key_pem) : NULL;
}

char *ca_intermediate_pem(const struct ca *ca, int i)
{
	return i >= 0 && i < ca->nh ? xstrdup(ca->h[i].inter_pem) : NULL;
}

char *ca_intermediate_key_pem(const struct ca *ca, int i)
{
	return i >= 0 && i < ca->nh ? xstrdup(ca->issuer_key_pem) : NULL;
}

int ca_crl_signer(const struct ca *ca, int i, X509 **cert, EVP_PKEY **key, const unsigned char **keyid,
                  size_t *idlen)
{
	if (i < 0 || i >= ca->nh)
		return -1;
	BIO *b = BIO_new_mem_buf(ca->h[i].inter_pem, -1);
	*cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!*cert) {
		ossl_fail("PEM_read_bio_X509(intermediate)");
		return -1;
	}
	*key = ca->issuer_key;
	*keyid = ca->issuer_keyid;
	*idlen = KEYID_LEN;
	return 0;
}

/* --- issuance ---------------------------------------------------------------------------- */

int ca_issue(struct ca *ca, EVP_PKEY *pub, const char *const *dns, size_t ndns,
             const char *const *ips, size_t nips, time_t nb, time_t na, struct ca_issued *out)
{
	X509_NAME *issuer = NULL, *subject = NULL;
	X509 *leaf = NULL;
	const unsigned char *p = ca->issuer_name_der;
	unsigned char keyid[KEYID_LEN];
	char *leaf_pem = NULL;
	struct cert_spec s = {0};
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!pub || ndns + nips == 0) {
		log_error("ca: ca_issue called with %s", pub ? "no names" : "no key");
		return -1;
	}
	if (nb == 0)
		nb = time(NULL);
	if (na == 0)
		na = nb + (time_t)ca->opt.validity_days * DAY;
	if (na <= nb) {
		log_error("ca: ca_issue called with notAfter before notBefore");
		return -1;
	}
	/* A private copy: parsing is cheap and leaves nothing shared to mutate. */
	if (!(issuer = d2i_X509_NAME(NULL, &p, ca->issuer_name_len))) {
		ossl_fail("d2i_X509_NAME");
		goto out;
	}
	/* RFC 5280 Appendix A: ub-common-name is 64; a longer first name lives only in the SAN. */
	if (!(subject = name_cn(ndns > 0 && strlen(dns[0]) <= CN_MAX ? dns[0] : NULL)))
		goto out;
	s.subject = subject;
	s.issuer = issuer;
	s.pub = pub;
	s.signer = ca->issuer_key;
	s.aki = ca->issuer_keyid;
	s.nb = nb;
	s.na = na;
	s.pathlen = -1;
	s.ku = KU(KUBIT_DIGITAL_SIGNATURE) |
	       (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA ? KU(KUBIT_KEY_ENCIPHERMENT) : 0);
	s.eku = EKU_SERVER | EKU_CLIENT;
	s.dns = dns;
	s.ndns = ndns;
	s.ips = ips;
	s.nips = nips;
	s.crl_url = ca->opt.crl_url[0] ? ca->opt.crl_url : NULL;
	if (!(leaf = cert_make(&s, keyid)))
		goto out;
	if (serial_hex(X509_get0_serialNumber(leaf), out->serial)) {
		log_error("ca: serial of a new leaf does not fit");
		goto out;
	}
	if (!(leaf_pem = cert_pem(leaf)))
		goto out;
	out->nchains = (size_t)ca->nh;
	out->chains = xcalloc(out->nchains, sizeof *out->chains);
	for (int i = 0; i < ca->nh; i++)
		out->chains[i] = xasprintf("%s%s", leaf_pem, ca->h[i].chain_pem);
	out->not_before = nb;
	out->not_after = na;
	memcpy(out->aki, ca->issuer_keyid, KEYID_LEN);
	out->aki_len = KEYID_LEN;
	rc = 0;
out:
	X509_NAME_free(issuer);
	X509_NAME_free(subject);
	X509_free(leaf);
	free(leaf_pem);
	if (rc)
		ca_issued_clear(out);
	return rc;
}

void ca_issued_clear(struct ca_issued *out)
{
	if (!out)
		return;
	for (size_t i = 0; i < out->nchains; i++)
		free(out->chains[i]);
	free(out->chains);
	memset(out, 0, sizeof *out);
}

int ca_cert_inspect(const struct ca *ca, const unsigned char *der, size_t len, char serial[41],
                    EVP_PKEY **pub, char *err, size_t errlen)
{
	X509 *x = NULL;
	const unsigned char *p = der;
	unsigned char *iname = NULL;
	int ilen, rc = -1;

	*pub = NULL;
	serial[0] = '\0';
	if (!der || len == 0 || len > LONG_MAX || !(x = d2i_X509(NULL, &p, (long)len)) ||
	    p != der + len) {
		ca_set_err(err, errlen, "certificate is not valid DER X.509");
		goto out;
	}
	/* Compared as DER bytes: cobble copies the name, so ours are byte-identical. */
	ilen = i2d_X509_NAME(X509_get_issuer_name(x), &iname);
	if (ilen != ca->issuer_name_len || memcmp(iname, ca->issuer_name_der, (size_t)ilen) != 0) {
		ca_set_err(err, errlen, "certificate was not issued by this CA: its issuer is not cobble's "
		                        "issuing intermediate");
		goto out;
	}
	if (X509_verify(x, ca->issuer_key) != 1) {
		ca_set_err(err, errlen, "certificate names this CA as issuer but its signature does not "
		                        "verify with this CA's key: it was not issued here");
		goto out;
	}
	if (serial_hex(X509_get0_serialNumber(x), serial)) {
		ca_set_err(err, errlen, "certificate serial number is negative or longer than 20 octets");
		goto out;
	}
	if (!(*pub = X509_get_pubkey(x))) {
		ca_set_err(err, errlen, "certificate public key cannot be read");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		serial[0] = '\0';
	OPENSSL_free(iname);
	X509_free(x);
	return rc;
}

/* --- TLS identity ------------------------------------------------------------------------ */

int ca_tls_identity(const char *const *dns, size_t ndns, const char *const *ips, size_t nips,
                    char **cert_pem_out, char **key_pem_out, char **root_pem_out)
{
	EVP_PKEY *rkey = NULL, *lkey = NULL;
	X509 *root = NULL, *leaf = NULL;
	X509_NAME *rname = NULL, *lname = NULL;
	unsigned char rkeyid[KEYID_LEN], lkeyid[KEYID_LEN];
	char suffix[7], *cn = NULL;
	time_t now = time(NULL);
	struct cert_spec s = {0};
	int rc = -1;

	*cert_pem_out = *key_pem_out = *root_pem_out = NULL;
	if (ndns + nips == 0) {
		log_error("ca: ca_tls_identity called with no names");
		return -1;
	}
	util_random_hex(suffix, 3);
	cn = xasprintf("cobble TLS root %s", suffix);
	if (!(rkey = key_new(CA_KEY_ECDSA_P256)) || !(lkey = key_new(CA_KEY_ECDSA_P256)) ||
	    !(rname = name_cn(cn)) ||
	    !(lname = name_cn(ndns > 0 && strlen(dns[0]) <= CN_MAX ? dns[0] : NULL)))
		goto out;

	s.subject = s.issuer = rname;
	s.pub = s.signer = rkey;
	s.nb = now - BACKDATE;
	s.na = now + (time_t)TLS_DAYS * DAY + DAY;
	s.is_ca = 1;
	s.pathlen = 0;
	s.ku = KU(KUBIT_KEY_CERT_SIGN) | KU(KUBIT_CRL_SIGN);
	if (!(root = cert_make(&s, rkeyid)))
		goto out;

	memset(&s, 0, sizeof s);
	s.subject = lname;
	s.issuer = rname;
	s.pub = lkey;
	s.signer = rkey;
	s.aki = rkeyid;
	s.nb = now - BACKDATE;
	s.na = now + (time_t)TLS_DAYS * DAY;
	s.pathlen = -1;
	s.ku = KU(KUBIT_DIGITAL_SIGNATURE);
	s.eku = EKU_SERVER;
	s.dns = dns;
	s.ndns = ndns;
	s.ips = ips;
	s.nips = nips;
	if (!(leaf = cert_make(&s, lkeyid)))
		goto out;

	if (!(*cert_pem_out = cert_pem(leaf)) || !(*key_pem_out = key_pem(lkey)) ||
	    !(*root_pem_out = cert_pem(root)))
		goto out;
	rc = 0;
out:
	if (rc) {
		free(*cert_pem_out);
		free(*key_pem_out);
		free(*root_pem_out);
		*cert_pem_out = *key_pem_out = *root_pem_out = NULL;
	}
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(lkey);
	X509_free(root);
	X509_free(leaf);
	X509_NAME_free(rname);
	X509_NAME_free(lname);
	free(cn);
	return rc;
}
