/* http_front_setup: the front end's listening sockets and its one TLS context (see
 * http_front_internal.h). */
#include "server/http_front_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Resolve "HOST:PORT" ("[v6]:PORT" too) to a socket address; no DNS beyond /etc/hosts. */
static int parse_listen(const char *hostport, struct sockaddr_storage *ss, socklen_t *sl, char *err,
                        size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host) {
		snprintf(err, errlen, "listen address \"%s\": expected HOST:PORT", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']') {
			snprintf(err, errlen, "listen address \"%s\": unbalanced [", hostport);
			return -1;
		}
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, errlen, "listen address \"%s\": %s", hostport, gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof *ss);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int http_front_listen_on(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parse_listen(addr, &ss, &sl, err, errlen) < 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* RFC 7301: http/1.1 when the client offers it; otherwise no ALPN (the client decides). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x08http/1.1";
	unsigned char *sel = NULL;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *http_front_tls_context(const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *leaf = NULL, *x = NULL;
	EVP_PKEY *key = NULL;
	bool ok = ctx && cb && kb && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	          (leaf = PEM_read_bio_X509(cb, NULL, NULL, NULL)) && SSL_CTX_use_certificate(ctx, leaf) == 1 &&
	          (key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
	          SSL_CTX_check_private_key(ctx) == 1;
	while (ok && (x = PEM_read_bio_X509(cb, NULL, NULL, NULL))) {
		ok = SSL_CTX_add0_chain_cert(ctx, x) == 1;
		if (!ok)
			X509_free(x);
	}
	if (ok) {
		ERR_clear_error(); /* the end of the PEM chain */
		SSL_CTX_set_num_tickets(ctx, 1);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* tickets are stateless */
		SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
		SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
		                          SSL_MODE_NO_AUTO_CHAIN);
		SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	} else {
		unsigned long e = ERR_get_error();
		snprintf(err, errlen, "TLS certificate or key unusable: %s", e ? ERR_reason_error_string(e) : "no certificate");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	X509_free(leaf);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return ctx;
}

