/* ca_csr: PKCS#10 CSR checks for finalize (RFC 8555 §7.4): signature, key policy, names. */
#include "server/ca.h"
#include "server/ca_internal.h"

#include "common/util.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static int list_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void list_add_unique(char ***v, size_t *n, const char *s)
{
	if (list_has(*v, *n, s))
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

/* Text that can be a DNS name here: printable ASCII without spaces, no NUL. Syntax and policy
 * (labels, wildcards, IDNA) are the front end's to judge against the order. */
static int dns_chars_ok(const unsigned char *p, int n)
{
	if (n <= 0 || n > 253)
		return 0;
	for (int i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return 0;
	return 1;
}

/* Normalise an IP literal (v4 or v6) to inet_ntop text; -1 when s is not one. */
static int ip_normalise(const char *s, char out[INET6_ADDRSTRLEN])
{
	unsigned char a[16];
	if (inet_pton(AF_INET, s, a) == 1)
		return inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN) ? 0 : -1;
	if (inet_pton(AF_INET6, s, a) == 1)
		return inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN) ? 0 : -1;
	return -1;
}

static const char *gen_type_name(int type)
{
	switch (type) {
	case GEN_EMAIL: return "rfc822Name (email address)";
	case GEN_URI: return "uniformResourceIdentifier";
	case GEN_DIRNAME: return "directoryName";
	case GEN_OTHERNAME: return "otherName";
	case GEN_RID: return "registeredID";
	case GEN_X400: return "x400Address";
	case GEN_EDIPARTY: return "ediPartyName";
	default: return "unknown";
	}
}

/* RFC 2986 §4.1 CertificationRequest, decoded with templates of cobble's own rather than
 * d2i_X509_REQ: OpenSSL 3.0 turns the subjectPKInfo of every X509_REQ it decodes into a key
 * through an OSSL_DECODER, whose set-up walks every provider's algorithms (a tenth of an issuance
 * flow's CPU). Here the key stays as its algorithm and bits until csr_pubkey builds it from its
 * parameters. The same fields, types and order as OpenSSL's X509_REQ templates, so the same
 * encodings are accepted; the info keeps its received encoding for the signature check. */
struct csr_spki {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
};
struct csr_info {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;
	X509_NAME *subject;
	struct csr_spki *spki;
	STACK_OF(X509_ATTRIBUTE) *attributes; /* RFC 2986 §4.1: [0] IMPLICIT; OPTIONAL here as in OpenSSL */
};
struct csr {
	struct csr_info *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *sig;
};

ASN1_SEQUENCE(CSR_SPKI) = {
	ASN1_SIMPLE(struct csr_spki, alg, X509_ALGOR),
	ASN1_SIMPLE(struct csr_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct csr_spki, CSR_SPKI)

/* ASN1_SEQUENCE_enc written out: its offsetof needs a typedef name */
static const ASN1_AUX CSR_INFO_aux = {NULL, ASN1_AFLG_ENCODING, 0, 0, NULL, offsetof(struct csr_info, enc),
                                      NULL};
ASN1_SEQUENCE(CSR_INFO) = {
	ASN1_SIMPLE(struct csr_info, version, ASN1_INTEGER),
	ASN1_SIMPLE(struct csr_info, subject, X509_NAME),
	ASN1_SIMPLE(struct csr_info, spki, CSR_SPKI),
	ASN1_IMP_SET_OF_OPT(struct csr_info, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(struct csr_info, CSR_INFO)

ASN1_SEQUENCE(CSR) = {
	ASN1_SIMPLE(struct csr, info, CSR_INFO),
	ASN1_SIMPLE(struct csr, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(struct csr, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct csr, CSR)

/* EC domain parameters of the curves cobble certifies, made once: EVP_PKEY_fromdata builds the
 * curve's EC_GROUP anew for every key (about 50 µs for P-256), a copy of a parameters-only key
 * with the point set costs a tenth of that. Made on first use, never freed; the lock also keeps
 * EVP_PKEY_dup's reads of a template apart from its making. */
static struct {
	int nid;
	EVP_PKEY *params;
} ec_templates[] = {{NID_X9_62_prime256v1, NULL}, {NID_secp384r1, NULL}};
static pthread_mutex_t ec_templates_lock = PTHREAD_MUTEX_INITIALIZER;

/* A new key on `curve` with the uncompressed point pt (checked to be on the curve), or NULL. */
static EVP_PKEY *ec_key_from_point(int curve, const unsigned char *pt, size_t len)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	for (size_t i = 0; i < sizeof ec_templates / sizeof ec_templates[0]; i++) {
		if (ec_templates[i].nid != curve)
			continue;
		pthread_mutex_lock(&ec_templates_lock);
		if (!ec_templates[i].params && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
		    EVP_PKEY_paramgen_init(ctx) > 0 && EVP_PKEY_CTX_set_group_name(ctx, OBJ_nid2sn(curve)) > 0)
			EVP_PKEY_paramgen(ctx, &ec_templates[i].params);
		if (ec_templates[i].params)
			k = EVP_PKEY_dup(ec_templates[i].params);
		pthread_mutex_unlock(&ec_templates_lock);
		break;
	}
	if (k && EVP_PKEY_set1_encoded_public_key(k, pt, len) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* A public key from its parameters: RSA (RFC 3279 §2.3.1) and EC on a named curve with an
 * uncompressed point (RFC 5480 §2.1.1, §2.2); the point is checked to be on the curve. NULL for
 * anything else, or when the parameters do not make a key: csr_pubkey then asks OpenSSL's decoder,
 * so that every other key is read, or refused, exactly as before. */
static EVP_PKEY *pubkey_from_params(const struct csr_spki *s)
{
	const ASN1_OBJECT *aobj;
	const void *pval;
	int ptype;
	const unsigned char *bits = ASN1_STRING_get0_data(s->key);
	int nbits = ASN1_STRING_length(s->key);
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	struct ca_rsa_pub *rp = NULL;
	const char *type;

	X509_ALGOR_get0(&aobj, &ptype, &pval, s->alg);
	if (!(bld = OSSL_PARAM_BLD_new()))
		goto out;
	switch (OBJ_obj2nid(aobj)) {
	case NID_X9_62_id_ecPublicKey: {
		int curve = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
		/* a compressed point would keep its form in OpenSSL's key, not in one made here */
		if (curve == NID_undef || nbits < 1 || bits[0] != POINT_CONVERSION_UNCOMPRESSED)
			goto out;
		if ((k = ec_key_from_point(curve, bits, (size_t)nbits)))
			goto out;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(curve), 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, bits, (size_t)nbits))
			goto out;
		type = "EC";
		break;
	}
	case NID_rsaEncryption: {
		const unsigned char *p = bits;
		/* parameters are ignored for rsaEncryption, as OpenSSL's decoder does */
		if (!(rp = (struct ca_rsa_pub *)ASN1_item_d2i(NULL, &p, nbits, ASN1_ITEM_rptr(CA_RSA_PUB))) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, rp->n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, rp->e))
			goto out;
		type = "RSA";
		break;
	}
	default:
		goto out;
	}
	if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	ASN1_item_free((ASN1_VALUE *)rp, ASN1_ITEM_rptr(CA_RSA_PUB));
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ERR_clear_error();
	return k;
}

/* The CSR's public key (caller frees), or NULL when OpenSSL cannot read it either. */
static EVP_PKEY *csr_pubkey(const struct csr_spki *s)
{
	EVP_PKEY *k = pubkey_from_params(s);
	unsigned char *der = NULL;
	const unsigned char *p;
	int n;

	if (k)
		return k;
	if ((n = ASN1_item_i2d((const ASN1_VALUE *)s, &der, ASN1_ITEM_rptr(CSR_SPKI))) > 0) {
		p = der;
		k = d2i_PUBKEY(NULL, &p, n);
	}
	OPENSSL_free(der);
	return k;
}

/* RFC 2985 §5.4.2 extensionRequest (or Microsoft's older OID), as X509_REQ_get_extensions reads
 * it: NULL when there is none or it is not a SEQUENCE of extensions. */
static STACK_OF(X509_EXTENSION) *csr_extensions(const struct csr_info *info)
{
	static const int nids[] = {NID_ext_req, NID_ms_ext_req};
	const ASN1_TYPE *ext = NULL;
	const unsigned char *p;

	for (size_t i = 0; i < sizeof nids / sizeof nids[0]; i++) {
		int idx = X509at_get_attr_by_NID(info->attributes, nids[i], -1);
		if (idx >= 0) {
			ext = X509_ATTRIBUTE_get0_type(X509at_get_attr(info->attributes, idx), 0);
			break;
		}
	}
	if (!ext || ext->type != V_ASN1_SEQUENCE)
		return NULL;
	p = ext->value.sequence->data;
	return (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(NULL, &p, ext->value.sequence->length,
	                                                 ASN1_ITEM_rptr(X509_EXTENSIONS));
}

/* RFC 8555 §7.4: the CSR names the identifiers in subjectAltName (and maybe the subject CN). */
static int csr_sans(const struct csr_info *info, struct ca_csr *out, char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = csr_extensions(info);
	GENERAL_NAMES *san = NULL;
	int crit = -1, rc = -1;
	char ip[INET6_ADDRSTRLEN];

	if (!exts) {
		ERR_clear_error();
		return 0;
	}
	san = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (!san) {
		if (crit == -2)
			ca_set_err(err, errlen, "CSR has more than one subjectAltName extension; put every "
			                        "name in one");
		else if (crit >= 0)
			ca_set_err(err, errlen, "CSR subjectAltName extension is not valid DER");
		else
			rc = 0;
		goto out;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
		int type;
		void *v = GENERAL_NAME_get0_value(gn, &type);
		if (type == GEN_DNS) {
			const ASN1_IA5STRING *s = v;
			const unsigned char *p = ASN1_STRING_get0_data(s);
			int n = ASN1_STRING_length(s);
			char *name;
			if (!dns_chars_ok(p, n)) {
				ca_set_err(err, errlen, "CSR subjectAltName has a dNSName that is empty, too long "
				                        "or has characters a DNS name cannot have (use A-labels "
				                        "for internationalised names)");
				goto out;
			}
			name = util_lower(xstrndup((const char *)p, (size_t)n));
			list_add_unique(&out->dns, &out->ndns, name);
			free(name);
		} else if (type == GEN_IPADD) {
			const ASN1_OCTET_STRING *o = v;
			int n = ASN1_STRING_length(o);
			if ((n != 4 && n != 16) ||
			    !inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(o), ip, sizeof ip)) {
				ca_set_err(err, errlen, "CSR subjectAltName has an iPAddress of %d octets; an "
				                        "IPv4 address has 4 and an IPv6 address 16", n);
				goto out;
			}
			list_add_unique(&out->ips, &out->nips, ip);
		} else {
			ca_set_err(err, errlen, "CSR subjectAltName has a %s entry; only DNS names and IP "
			                        "addresses can be certified", gen_type_name(type));
			goto out;
		}
	}
	rc = 0;
out:
	GENERAL_NAMES_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* The subject CN, when present, is one more identifier (a name or an IP literal). */
static int csr_cn(const struct csr_info *info, struct ca_csr *out, char *err, size_t errlen)
{
	const X509_NAME *subj = info->subject;
	int idx = -1;
	char ip[INET6_ADDRSTRLEN];

	while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0) {
		const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, d);
		if (n < 0 || !dns_chars_ok(utf8, n)) {
			OPENSSL_free(utf8);
			ca_set_err(err, errlen, "CSR subject commonName is neither a DNS name nor an IP "
			                        "address; leave it out or repeat a subjectAltName there");
			return -1;
		}
		char *cn = xstrndup((const char *)utf8, (size_t)n);
		OPENSSL_free(utf8);
		if (ip_normalise(cn, ip) == 0) {
			list_add_unique(&out->ips, &out->nips, ip);
		} else {
			util_lower(cn);
			list_add_unique(&out->dns, &out->ndns, cn);
		}
		free(cn);
	}
	return 0;
}

/* RFC 8555 §7.4 leaves key policy to the CA; cobble takes what Let's Encrypt takes. */
static int csr_key_ok(EVP_PKEY *k, char *err, size_t errlen)
{
	static const char use[] = "use RSA 2048-4096 or ECDSA P-256/P-384";
	int id = EVP_PKEY_get_base_id(k);

	if (id == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(k);
		if (bits >= 2048 && bits <= 4096)
			return 0;
		ca_set_err(err, errlen, "CSR public key is RSA %d bits; %s", bits, use);
		return -1;
	}
	if (id == EVP_PKEY_EC) {
		char group[80];
		size_t glen = 0;
		int nid;
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
		                                    &glen)) {
			ca_set_err(err, errlen, "CSR public key is ECDSA on explicit curve parameters; %s", use);
			return -1;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
			return 0;
		ca_set_err(err, errlen, "CSR public key is ECDSA on curve %s; %s", group, use);
		return -1;
	}
	const char *t = EVP_PKEY_get0_type_name(k);
	ca_set_err(err, errlen, "CSR public key is of type %s; %s", t ? t : "unknown", use);
	return -1;
}

int ca_csr_parse(const unsigned char *der, size_t len, struct ca_csr *out, char *err, size_t errlen)
{
	struct csr *req = NULL;
	const unsigned char *p = der;
	int rc = -1, v;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	if (!der || len == 0 || len > LONG_MAX ||
	    !(req = (struct csr *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CSR)))) {
		ca_set_err(err, errlen, "CSR is not valid DER PKCS#10");
		goto out;
	}
	if (p != der + len) {
		ca_set_err(err, errlen, "CSR has %zu bytes after the end of its DER PKCS#10 structure; send "
		                        "the CSR alone", (size_t)(der + len - p));
		goto out;
	}
	if (!(out->pubkey = csr_pubkey(req->info->spki))) {
		ca_set_err(err, errlen, "CSR public key cannot be read; %s",
		           "use RSA 2048-4096 or ECDSA P-256/P-384");
		goto out;
	}
	if (csr_key_ok(out->pubkey, err, errlen))
		goto out;
	/* as X509_REQ_verify: over the info as received */
	if ((v = ASN1_item_verify(ASN1_ITEM_rptr(CSR_INFO), req->sig_alg, req->sig, req->info,
	                          out->pubkey)) != 1) {
		ca_set_err(err, errlen, "CSR signature does not verify: was the CSR signed by the key it "
		                        "contains?");
		goto out;
	}
	if (csr_sans(req->info, out, err, errlen) || csr_cn(req->info, out, err, errlen))
		goto out;
	if (out->ndns + out->nips == 0) {
		ca_set_err(err, errlen, "CSR names no DNS name or IP address; list them in subjectAltName");
		goto out;
	}
	rc = 0;
out:
	ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(CSR));
	if (rc)
		ca_csr_clear(out);
	return rc;
}

void ca_csr_clear(struct ca_csr *csr)
{
	if (!csr)
		return;
	EVP_PKEY_free(csr->pubkey);
	for (size_t i = 0; i < csr->ndns; i++)
		free(csr->dns[i]);
	for (size_t i = 0; i < csr->nips; i++)
		free(csr->ips[i]);
	free(csr->dns);
	free(csr->ips);
	memset(csr, 0, sizeof *csr);
}
