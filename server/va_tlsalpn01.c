/* va_tlsalpn01: the tls-alpn-01 validator (RFC 8737; RFC 8738 §6 for ip identifiers). A TLS
 * handshake with OpenSSL to <address>:<tlsPort> offering only the ALPN protocol "acme-tls/1",
 * SNI the name (the reverse-DNS name for an ip identifier); the self-signed certificate is not
 * verified, only checked for the identifier and the acmeIdentifier extension. */
#include "common/util.h"
#include "server/va_classic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define ACME_TLS_1 "acme-tls/1"
#define OID_ACME_IDENTIFIER "1.3.6.1.5.5.7.1.31" /* RFC 8737 §6.1 id-pe-acmeIdentifier */

int va_reverse_name(const char *ip, char *out, size_t outlen)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, ip, b) == 1) {
		int n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	if (inet_pton(AF_INET6, ip, b) == 1) {
		static const char digits[] = "0123456789abcdef";
		if (outlen < 64 + 9)
			return -1;
		size_t o = 0;
		for (int i = 15; i >= 0; i--) {
			out[o++] = digits[b[i] & 15];
			out[o++] = '.';
			out[o++] = digits[b[i] >> 4];
			out[o++] = '.';
		}
		snprintf(out + o, outlen - o, "ip6.arpa");
		return 0;
	}
	return -1;
}

/* One SAN entry as text ("DNS:x", "IP:1.2.3.4", "other (type N)"). */
static void gen_text(const GENERAL_NAME *g, char *out, size_t outlen)
{
	if (g->type == GEN_DNS) {
		char v[300];
		const ASN1_IA5STRING *s = g->d.dNSName;
		va_escape(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), 253, v, sizeof v);
		snprintf(out, outlen, "DNS:%s", v);
	} else if (g->type == GEN_IPADD) {
		char a[INET6_ADDRSTRLEN] = "";
		const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
		int l = ASN1_STRING_length(g->d.iPAddress);
		if ((l == 4 && inet_ntop(AF_INET, d, a, sizeof a)) || (l == 16 && inet_ntop(AF_INET6, d, a, sizeof a)))
			snprintf(out, outlen, "IP:%s", a);
		else
			snprintf(out, outlen, "IP:(%d octets)", l);
	} else {
		snprintf(out, outlen, "%s", g->type == GEN_EMAIL ? "email" : g->type == GEN_URI ? "URI" : "other name");
	}
}

/* Does the one SAN entry equal the identifier? */
static bool gen_matches(const GENERAL_NAME *g, const struct identifier *id)
{
	if (strcmp(id->type, "ip") == 0) {
		unsigned char want[16];
		int wl = inet_pton(AF_INET, id->value, want) == 1 ? 4 : inet_pton(AF_INET6, id->value, want) == 1 ? 16 : 0;
		return g->type == GEN_IPADD && wl && ASN1_STRING_length(g->d.iPAddress) == wl &&
		       memcmp(ASN1_STRING_get0_data(g->d.iPAddress), want, (size_t)wl) == 0;
	}
	if (g->type != GEN_DNS)
		return false;
	size_t l = (size_t)ASN1_STRING_length(g->d.dNSName);
	return l == strlen(id->value) &&
	       strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName), id->value, l) == 0;
}

int va_tlsalpn01_check_cert(X509 *cert, const struct identifier *id, const char *key_authz, struct problem *p)
{
	bool ip = strcmp(id->type, "ip") == 0;
	int crit = -1, rc = -1;
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	ASN1_OBJECT *oid = OBJ_txt2obj(OID_ACME_IDENTIFIER, 1);
	ASN1_OCTET_STRING *inner = NULL;
	char sans[1024] = "";

	/* RFC 8737 §3: "a subjectAltName extension containing the dNSName being validated and no
	 * other entries" (an iPAddress for an ip identifier, RFC 8738 §6) */
	if (!gens) {
		problem_set(p, PROB_INCORRECT_RESPONSE, 403,
		            "the certificate has %s; RFC 8737 §3 wants exactly one entry, %s:%s",
		            crit == -2 ? "more than one subjectAltName extension" : "no subjectAltName extension",
		            ip ? "IP" : "DNS", id->value);
		goto out;
	}
	int n = sk_GENERAL_NAME_num(gens);
	size_t o = 0;
	for (int i = 0; i < n && o + 1 < sizeof sans; i++) {
		char one[320];
		gen_text(sk_GENERAL_NAME_value(gens, i), one, sizeof one);
		int k = snprintf(sans + o, sizeof sans - o, "%s%s", i ? ", " : "", one);
		if (k < 0 || (size_t)k >= sizeof sans - o)
			break;
		o += (size_t)k;
	}
	if (n != 1 || !gen_matches(sk_GENERAL_NAME_value(gens, 0), id)) {
		problem_set(p, PROB_INCORRECT_RESPONSE, 403,
		            "the certificate's subjectAltName holds %d entr%s (%s); RFC 8737 §3 wants exactly one, %s:%s",
		            n, n == 1 ? "y" : "ies", n ? sans : "none", ip ? "IP" : "DNS", id->value);
		goto out;
	}
	/* RFC 8737 §3: the critical acmeIdentifier extension, an OCTET STRING of SHA-256(key authz) */
	int idx = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
	if (idx < 0) {
		problem_set(p, PROB_INCORRECT_RESPONSE, 403,
		            "the certificate (SAN %s) has no acmeIdentifier extension (%s); RFC 8737 §3 requires it, "
		            "critical",
		            sans, OID_ACME_IDENTIFIER);
		goto out;
	}
	if (X509_get_ext_by_OBJ(cert, oid, idx) >= 0) {
		problem_set(p, PROB_INCORRECT_RESPONSE, 403,
		            "the certificate has more than one acmeIdentifier extension (%s)", OID_ACME_IDENTIFIER);
		goto out;
	}
	X509_EXTENSION *ext = X509_get_ext(cert, idx);
	if (!X509_EXTENSION_get_critical(ext)) {
		problem_set(p, PROB_INCORRECT_RESPONSE, 403,
		            "the certificate's acmeIdentifier extension (%s) is not marked critical; RFC 8737 §3 requires "
		            "it to be critical",
		            OID_ACME_IDENTIFIER);
		goto out;
	}
	const ASN1_OCTET_STRING *val = X509_EXTENSION_get_data(ext);
	const unsigned char *der = ASN1_STRING_get0_data(val), *q = der;
	long len = ASN1_STRING_length(val);
	char got[200];
	va_hex(der, (size_t)len, got, sizeof got);
	inner = d2i_ASN1_OCTET_STRING(NULL, &q, len);
	/* DER, not merely BER: the value must re-encode to the same octets */
	if (!inner || q != der + len || i2d_ASN1_OCTET_STRING(inner, NULL) != len) {
		problem_set(p, PROB_MALFORMED, 400,
		            "the certificate's acmeIdentifier extension value is not a DER OCTET STRING: %s%s (%ld "
		            "octets); RFC 8737 §3 wants 0420 followed by SHA-256 of the key authorization",
		            got, (size_t)len * 2 >= sizeof got ? "..." : "", len);
		ERR_clear_error();
		goto out;
	}
	unsigned char want[32];
	char wanthex[65];
	va_keyauthz_digest(key_authz, want, NULL);
	va_hex(want, sizeof want, wanthex, sizeof wanthex);
	if (ASN1_STRING_length(inner) != 32 || memcmp(ASN1_STRING_get0_data(inner), want, 32) != 0) {
		char ihex[200];
		int il = ASN1_STRING_length(inner);
		va_hex(ASN1_STRING_get0_data(inner), (size_t)il, ihex, sizeof ihex);
		problem_set(p, PROB_INCORRECT_RESPONSE, 403,
		            "the certificate's acmeIdentifier extension holds %s%s (%d octets), expected %s (SHA-256 of "
		            "the key authorization \"%s\")",
		            ihex, (size_t)il * 2 >= sizeof ihex ? "..." : "", il, wanthex, key_authz);
		goto out;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* TCP connect to addr:port within seconds. Returns the socket (non-blocking: every later wait
 * polls against the validation's deadline) or -1 with errno-like text in err. */
static int connect_to(const char *addr, int port, double seconds, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof *s6;
	} else {
		snprintf(err, errlen, "not an address");
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r = poll(&pfd, 1, (int)(seconds * 1000));
		int soerr = 0;
		socklen_t el = sizeof soerr;
		if (r == 0) {
			snprintf(err, errlen, "connect: timed out after %.1f s", seconds);
			close(fd);
			return -1;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
			snprintf(err, errlen, "connect: %s", strerror(r < 0 ? errno : soerr ? soerr : EIO));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* OpenSSL's error queue as one line. */
static void ssl_error_text(SSL *ssl, int ret, char *out, size_t outlen)
{
	unsigned long e = ERR_peek_last_error();
	int se = SSL_get_error(ssl, ret);
	if (e)
		ERR_error_string_n(e, out, outlen);
	else if (se == SSL_ERROR_SYSCALL || se == SSL_ERROR_ZERO_RETURN)
		snprintf(out, outlen, "the connection was closed during the handshake");
	else
		snprintf(out, outlen, "SSL_connect error %d", se);
	ERR_clear_error();
}

/* SSL_connect on a non-blocking socket, polling until the handshake ends or the deadline passes:
 * a per-read timeout would restart at every byte, so a server dripping one byte at a time could
 * hold the validator for as long as it liked. Returns 1, or <= 0 with err filled. */
static int handshake(SSL *ssl, int fd, double deadline, char *err, size_t errlen)
{
	for (;;) {
		int r = SSL_connect(ssl);
		if (r == 1)
			return 1;
		int se = SSL_get_error(ssl, r);
		if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE) {
			ssl_error_text(ssl, r, err, errlen);
			return r;
		}
		double left = va_remaining(deadline);
		struct pollfd pfd = {.fd = fd, .events = se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
		int pr = left > 0 ? poll(&pfd, 1, (int)(left * 1000) + 1) : 0;
		if (pr == 0 || va_remaining(deadline) <= 0) {
			snprintf(err, errlen, "the handshake had not finished when the validation's %.0f s deadline passed",
			         VA_DEADLINE_SECONDS);
			ERR_clear_error();
			return 0;
		}
		if (pr < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return 0;
		}
	}
}

void va_tlsalpn01(struct va_worker *w, const struct va_job *job, struct va_result *res)
{
	const struct config *cfg = w->srv->cfg;
	json_t *records = json_array();
	struct dns_answer ans = {0};
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	int fd = -1, port = cfg->tls_port;
	bool ip = strcmp(job->ident.type, "ip") == 0;
	char sni[128], err[300], first_err[400] = "";
	const char *addrs[2] = {NULL, NULL};
	size_t naddrs = 0, used = 0;
	double deadline = w->deadline;

	ERR_clear_error();
	/* RFC 8738 §6: for an ip identifier the SNI is the reverse-DNS name of the address */
	if (ip ? va_reverse_name(job->ident.value, sni, sizeof sni) < 0
	       : snprintf(sni, sizeof sni, "%s", job->ident.value) >= (int)sizeof sni) {
		problem_set(&res->error, PROB_MALFORMED, 400, "cannot form the TLS server name for %s", job->ident.value);
		goto out;
	}
	if (va_resolve(w, job->ident.value, &ans, &res->error) < 0) {
		json_array_append_new(records, va_record_entry(NULL, job->ident.value, port, NULL, NULL));
		goto out;
	}
	naddrs = va_addr_order(&ans, addrs);
	for (used = 0;; used++) {
		va_step(w, VA_STEP_CONNECT);
		fd = connect_to(addrs[used], port, va_remaining(deadline), err, sizeof err);
		if (fd >= 0 || used + 1 == naddrs || va_remaining(deadline) <= 0)
			break;
		/* Boulder: IPv6 first; IPv4 only when connecting over IPv6 failed */
		snprintf(first_err, sizeof first_err, "; address %s failed first: %s", addrs[used], err);
	}
	json_array_append_new(records, va_record_entry(NULL, job->ident.value, port, &ans, addrs[used]));
	if (fd < 0) {
		problem_set(&res->error, PROB_CONNECTION, 400, "connecting to %s port %d for %s: %s%s", addrs[used], port,
		            job->ident.value, err, first_err);
		goto out;
	}
	/* RFC 8737 §3: TLS 1.2 or later, only acme-tls/1 offered, no chain verification */
	static const unsigned char alpn[] = "\x0a" ACME_TLS_1;
	if (!(ctx = SSL_CTX_new(TLS_client_method())) || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !(ssl = SSL_new(ctx)) || SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1) != 0 ||
	    !SSL_set_tlsext_host_name(ssl, sni) || !SSL_set_fd(ssl, fd)) {
		problem_set(&res->error, PROB_SERVER_INTERNAL, 500, "setting up the TLS client failed");
		ERR_clear_error();
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	va_step(w, VA_STEP_TLS);
	if (handshake(ssl, fd, deadline, err, sizeof err) != 1) {
		problem_set(&res->error, PROB_TLS, 400, "TLS handshake with %s port %d (SNI %s) offering ALPN \"%s\" failed: %s",
		            addrs[used], port, sni, ACME_TLS_1, err);
		goto out;
	}
	const unsigned char *sel = NULL;
	unsigned int sel_len = 0;
	SSL_get0_alpn_selected(ssl, &sel, &sel_len);
	if (sel_len != strlen(ACME_TLS_1) || memcmp(sel, ACME_TLS_1, sel_len) != 0) {
		char got[120] = "none";
		if (sel_len)
			va_escape(sel, sel_len, 64, got, sizeof got);
		problem_set(&res->error, PROB_TLS, 400,
		            "the TLS server at %s port %d (SNI %s) negotiated ALPN protocol %s, expected \"%s\" "
		            "(RFC 8737 §3)",
		            addrs[used], port, sni, got, ACME_TLS_1);
		goto out;
	}
	if (!(cert = SSL_get1_peer_certificate(ssl))) {
		problem_set(&res->error, PROB_TLS, 400, "the TLS server at %s port %d (SNI %s) sent no certificate",
		            addrs[used], port, sni);
		goto out;
	}
	if (va_tlsalpn01_check_cert(cert, &job->ident, job->key_authz, &res->error) < 0) {
		char pre[200];
		snprintf(pre, sizeof pre, "%s port %d (SNI %s, ALPN %s): ", addrs[used], port, sni, ACME_TLS_1);
		problem_prefix(&res->error, pre);
		goto out;
	}
	res->ok = true;
out:
	X509_free(cert);
	if (ssl && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	res->validation_record = json_dumps(records, JSON_COMPACT);
	json_decref(records);
	dns_answer_clear(&ans);
}
