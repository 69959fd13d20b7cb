/* ca: the in-memory signing CA: key hierarchies made at start-up, leaf issuance, chains,
 * revocation lookups and the TLS identity of cobble's own listeners (OpenSSL 3 only); one
 * certificate is built in ca_cert.c, the CSR checks are in ca_csr.c.
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

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define BACKDATE (60 * 60)              /* for clients whose clocks run a little behind */
#define DAY (24 * 60 * 60)
#define ROOT_DAYS (30 * 365 + 7)
#define INTERMEDIATE_DAYS (8 * 365 + 2)
#define TLS_DAYS (5 * 365 + 1)
#define MAX_CHAIN 100 /* generous caps only against absurd allocations */
#define MAX_ALTERNATES 100
#define CN_MAX 64 /* RFC 5280 Appendix A: ub-common-name */

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

/* Log the failed OpenSSL call once, with OpenSSL's reason, and empty this thread's error queue. */
void ca_ossl_fail(const char *call)
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

/* --- hierarchies ------------------------------------------------------------------------- */

struct built { /* one certificate of a hierarchy while it is being made */
	X509 *cert;
	EVP_PKEY *key;
	unsigned char keyid[KEYID_LEN];
};

/* Append the PEM of x to *acc. */
static int pem_append(char **acc, X509 *x)
{
	char *p = ca_cert_pem(x), *n;
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
		struct ca_cert_spec s = {0};
		free(cn);
		if (d == 0)
			cn = xasprintf("cobble root CA %s%s", suffix, alt);
		else if (level == 1)
			cn = xasprintf("cobble intermediate CA %s", suffix);
		else
			cn = xasprintf("cobble intermediate CA %s level %d%s", suffix, level, alt);
		X509_NAME_free(name);
		if (!(name = ca_cert_name_cn(cn)))
			goto out;
		if (d > 0 && level == 1) {
			if (!EVP_PKEY_up_ref(ca->issuer_key)) {
				ca_ossl_fail("EVP_PKEY_up_ref");
				goto out;
			}
			b[d].key = ca->issuer_key;
		} else if (!(b[d].key = ca_cert_key_new(ca->opt.key_type))) {
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
		if (!(b[d].cert = ca_cert_make(&s, b[d].keyid)))
			goto out;
	}

	if (!(h->root_pem = ca_cert_pem(b[0].cert)) || !(h->root_key_pem = ca_cert_key_pem(b[0].key)) ||
	    !(h->inter_pem = ca_cert_pem(b[L].cert)))
		goto out;
	for (int d = L; d >= 1; d--)
		if (pem_append(&h->chain_pem, b[d].cert))
			goto out;
	if (hi == 0) {
		ca->issuer_name_len = i2d_X509_NAME(X509_get_subject_name(b[L].cert), &ca->issuer_name_der);
		if (ca->issuer_name_len <= 0) {
			ca_ossl_fail("i2d_X509_NAME");
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
	if (!(ca->issuer_key = ca_cert_key_new(opt->key_type)) ||
	    !(ca->issuer_key_pem = ca_cert_key_pem(ca->issuer_key)))
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
		ca_ossl_fail("PEM_read_bio_X509(intermediate)");
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
	struct ca_cert_spec s = {0};
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
		ca_ossl_fail("d2i_X509_NAME");
		goto out;
	}
	/* RFC 5280 Appendix A: ub-common-name is 64; a longer first name lives only in the SAN. */
	if (!(subject = ca_cert_name_cn(ndns > 0 && strlen(dns[0]) <= CN_MAX ? dns[0] : NULL)))
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
	if (!(leaf = ca_cert_make(&s, keyid)))
		goto out;
	if (ca_cert_serial_hex(X509_get0_serialNumber(leaf), out->serial)) {
		log_error("ca: serial of a new leaf does not fit");
		goto out;
	}
	if (!(leaf_pem = ca_cert_pem(leaf)))
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
	if (ca_cert_serial_hex(X509_get0_serialNumber(x), serial)) {
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
	struct ca_cert_spec s = {0};
	int rc = -1;

	*cert_pem_out = *key_pem_out = *root_pem_out = NULL;
	if (ndns + nips == 0) {
		log_error("ca: ca_tls_identity called with no names");
		return -1;
	}
	util_random_hex(suffix, 3);
	cn = xasprintf("cobble TLS root %s", suffix);
	if (!(rkey = ca_cert_key_new(CA_KEY_ECDSA_P256)) || !(lkey = ca_cert_key_new(CA_KEY_ECDSA_P256)) ||
	    !(rname = ca_cert_name_cn(cn)) ||
	    !(lname = ca_cert_name_cn(ndns > 0 && strlen(dns[0]) <= CN_MAX ? dns[0] : NULL)))
		goto out;

	s.subject = s.issuer = rname;
	s.pub = s.signer = rkey;
	s.nb = now - BACKDATE;
	s.na = now + (time_t)TLS_DAYS * DAY + DAY;
	s.is_ca = 1;
	s.pathlen = 0;
	s.ku = KU(KUBIT_KEY_CERT_SIGN) | KU(KUBIT_CRL_SIGN);
	if (!(root = ca_cert_make(&s, rkeyid)))
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
	if (!(leaf = ca_cert_make(&s, lkeyid)))
		goto out;

	if (!(*cert_pem_out = ca_cert_pem(leaf)) || !(*key_pem_out = ca_cert_key_pem(lkey)) ||
	    !(*root_pem_out = ca_cert_pem(root)))
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
