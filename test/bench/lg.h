/* lg: the load generator's client side — one TLS connection (kept alive or fresh per request),
 * HTTP/1.1 over it, ES256 JWS (RFC 7515/7518) and CSRs, all with OpenSSL. No ACME client library
 * in the loop, so the figures measure the server, not a client's overhead. */
#ifndef COBBLE_LG_H
#define COBBLE_LG_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#define LG_NONCE_MAX 128
#define LG_URL_MAX 512

/* One HTTP response. body is NUL-terminated and owned by the response (lg_resp_free). */
struct lg_resp {
	int status;
	char *body;
	size_t len;
	char nonce[LG_NONCE_MAX];
	char location[LG_URL_MAX];
	char ctype[96];
	int retry_after; /* seconds; -1 when absent */
};

/* A connection to the one server under test. */
struct lg_conn {
	SSL_CTX *ctx;          /* shared, not owned */
	const char *host;      /* SNI and certificate name */
	const char *port;
	bool fresh;            /* a new TCP+TLS connection for every request (curl-based clients) */
	bool resume;           /* offer the last session (TLS 1.3 ticket) when reconnecting */
	int fd;
	SSL *ssl;
	SSL_SESSION *session;  /* owned */
	char rbuf[16384];
	size_t rpos, rlen;
	unsigned long connects, resumed;
};

/* An ES256 key with its JWK (RFC 7518 §6.2) ready to put in a protected header. */
struct lg_key {
	EVP_PKEY *pkey; /* owned */
	EVP_PKEY_CTX *sctx; /* owned; initialised for signing */
	char jwk[256];
	unsigned char spki[128]; /* SubjectPublicKeyInfo, DER */
	size_t spki_len;
};

SSL_CTX *lg_tls_ctx(const char *cafile, char *err, size_t errlen);
void lg_conn_init(struct lg_conn *c, SSL_CTX *ctx, const char *host, const char *port, bool fresh,
                  bool resume);
void lg_conn_close(struct lg_conn *c);
void lg_conn_free(struct lg_conn *c);
/* One request; body may be NULL (GET/HEAD). 0 on a complete response (any status), -1 with err
 * set on a transport failure. A kept-alive connection the server closed is reopened once. */
int lg_http(struct lg_conn *c, const char *method, const char *path, const char *body,
            struct lg_resp *out, char *err, size_t errlen);
void lg_resp_free(struct lg_resp *r);

int lg_key_new(struct lg_key *k);
void lg_key_free(struct lg_key *k);
/* A flattened JWS (RFC 8555 §6.2): kid when non-NULL, else the key's jwk. payload NULL means
 * POST-as-GET (empty payload). Returns a malloc'd string or NULL. */
char *lg_jws(const struct lg_key *k, const char *kid, const char *nonce, const char *url,
             const char *payload);
/* A DER CSR for one DNS name, base64url, signed by k. malloc'd or NULL. */
char *lg_csr(const struct lg_key *k, const char *name);

#endif
