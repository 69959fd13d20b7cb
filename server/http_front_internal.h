/* http_front_internal: what http_front.c and http_front_setup.c share (not for other modules). */
#ifndef COBBLE_HTTP_FRONT_INTERNAL_H
#define COBBLE_HTTP_FRONT_INTERNAL_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A non-blocking listening socket on "HOST:PORT" ("[v6]:PORT"), or -1 with a sentence in err. */
int http_front_listen_on(const char *addr, char *err, size_t errlen);
/* One context for every TLS listener, built once: TLS 1.2 and 1.3, the certificate (cert_pem,
 * followed by its chain) and key_pem, stateless session tickets (RFC 8446 §4.6.1), one per
 * handshake, ALPN http/1.1. The caller's to SSL_CTX_free; NULL with a sentence in err. */
SSL_CTX *http_front_tls_context(const char *cert_pem, const char *key_pem, char *err, size_t errlen);

#endif
