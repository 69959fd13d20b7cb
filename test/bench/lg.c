/* lg: TLS, HTTP/1.1, ES256 JWS and CSRs for the load generator (see lg.h). */
#include "test/bench/lg.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LG_IO_TIMEOUT_S 10 /* every read, write and handshake has this deadline */
#define LG_BODY_MAX (1 << 20)

/* SHA-256 fetched once: an implicit fetch per call costs more than the hash of a JWS. */
static EVP_MD *sha256;

/* ---- base64url (RFC 4648 §5, no padding) ---- */

static char *b64url(const unsigned char *in, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n * 4 / 3 + 4), *o = out;
	if (!out)
		return NULL;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*o++ = al[v >> 18 & 63], *o++ = al[v >> 12 & 63], *o++ = al[v >> 6 & 63], *o++ = al[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		*o++ = al[v >> 18 & 63], *o++ = al[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*o++ = al[v >> 18 & 63], *o++ = al[v >> 12 & 63], *o++ = al[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

/* ---- TLS connection ---- */

SSL_CTX *lg_tls_ctx(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		snprintf(err, errlen, "cannot load the server's CA bundle %s", cafile);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	return ctx;
}

void lg_conn_init(struct lg_conn *c, SSL_CTX *ctx, const char *host, const char *port, bool fresh,
                  bool resume)
{
	memset(c, 0, sizeof *c);
	c->ctx = ctx;
	c->host = host;
	c->port = port;
	c->fresh = fresh;
	c->resume = resume;
	c->fd = -1;
}

void lg_conn_close(struct lg_conn *c)
{
	if (c->ssl) {
		if (c->resume) {
			SSL_SESSION *s = SSL_get1_session(c->ssl);
			if (s && SSL_SESSION_is_resumable(s)) {
				SSL_SESSION_free(c->session);
				c->session = s;
			} else {
				SSL_SESSION_free(s);
			}
		}
		/* a quiet shutdown, not sent: without it OpenSSL marks the session not resumable */
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

void lg_conn_free(struct lg_conn *c)
{
	lg_conn_close(c);
	SSL_SESSION_free(c->session);
	c->session = NULL;
}

static int conn_open(struct lg_conn *c, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
	int rc = getaddrinfo(c->host, c->port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "resolve %s: %s", c->host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		struct timeval tv = {.tv_sec = LG_IO_TIMEOUT_S};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errlen, "connect");
		return -1;
	}
	c->fd = fd;
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl) {
		snprintf(err, errlen, "tls");
		return -1;
	}
	SSL_set_fd(c->ssl, fd);
	SSL_set_tlsext_host_name(c->ssl, c->host);
	SSL_set1_host(c->ssl, c->host);
	if (c->resume && c->session)
		SSL_set_session(c->ssl, c->session);
	if (SSL_connect(c->ssl) != 1) {
		unsigned long e = ERR_get_error();
		snprintf(err, errlen, "tls handshake%s%s", e ? ": " : "", e ? ERR_reason_error_string(e) : "");
		ERR_clear_error();
		return -1;
	}
	c->connects++;
	if (SSL_session_reused(c->ssl))
		c->resumed++;
	return 0;
}

static int conn_write(struct lg_conn *c, const char *p, size_t n)
{
	while (n > 0) {
		int w = SSL_write(c->ssl, p, (int)n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Refill the read buffer when it is used up; -1 on EOF or error. */
static int conn_fill(struct lg_conn *c)
{
	if (c->rpos == c->rlen) {
		int r = SSL_read(c->ssl, c->rbuf, sizeof c->rbuf);
		if (r <= 0)
			return -1;
		c->rpos = 0;
		c->rlen = (size_t)r;
	}
	return 0;
}

/* Next byte; -1 on EOF or error. */
static int conn_getc(struct lg_conn *c)
{
	if (conn_fill(c) < 0)
		return -1;
	return (unsigned char)c->rbuf[c->rpos++];
}

/* One line without CRLF into buf; -1 on EOF/error or overlong line. */
static int conn_line(struct lg_conn *c, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		int ch = conn_getc(c);
		if (ch < 0)
			return -1;
		if (ch == '\n')
			break;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (int)n;
}

static int conn_read(struct lg_conn *c, char *dst, size_t n)
{
	while (n > 0) {
		if (conn_fill(c) < 0)
			return -1;
		size_t k = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
		memcpy(dst, c->rbuf + c->rpos, k);
		c->rpos += k;
		dst += k;
		n -= k;
	}
	return 0;
}

static int body_append(struct lg_resp *out, struct lg_conn *c, size_t n)
{
	if (out->len + n > LG_BODY_MAX)
		return -1;
	char *b = realloc(out->body, out->len + n + 1);
	if (!b)
		return -1;
	out->body = b;
	if (conn_read(c, b + out->len, n) < 0)
		return -1;
	out->len += n;
	b[out->len] = '\0';
	return 0;
}

/* Status line, headers and body (Content-Length or chunked, RFC 9112 §6-7). */
static int read_response(struct lg_conn *c, bool head, struct lg_resp *out, bool *server_closes)
{
	char line[2048];
	if (conn_line(c, line, sizeof line) < 0 || strncmp(line, "HTTP/1.", 7) != 0)
		return -1;
	out->status = atoi(line + 9);
	long clen = -1;
	bool chunked = false;
	*server_closes = strncmp(line, "HTTP/1.0", 8) == 0;
	for (;;) {
		int n = conn_line(c, line, sizeof line);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "Content-Length") == 0)
			clen = atol(v);
		else if (strcasecmp(line, "Transfer-Encoding") == 0 && strcasestr(v, "chunked"))
			chunked = true;
		else if (strcasecmp(line, "Replay-Nonce") == 0)
			snprintf(out->nonce, sizeof out->nonce, "%s", v);
		else if (strcasecmp(line, "Location") == 0)
			snprintf(out->location, sizeof out->location, "%s", v);
		else if (strcasecmp(line, "Content-Type") == 0)
			snprintf(out->ctype, sizeof out->ctype, "%s", v);
		else if (strcasecmp(line, "Retry-After") == 0)
			out->retry_after = atoi(v);
		else if (strcasecmp(line, "Connection") == 0 && strcasestr(v, "close"))
			*server_closes = true;
	}
	out->body = calloc(1, 1);
	if (!out->body)
		return -1;
	if (head || out->status == 204 || out->status == 304)
		return 0;
	if (chunked) {
		for (;;) {
			if (conn_line(c, line, sizeof line) < 0)
				return -1;
			long n = strtol(line, NULL, 16);
			if (n < 0)
				return -1;
			if (n == 0) {
				while (conn_line(c, line, sizeof line) > 0) /* trailers */
					;
				return 0;
			}
			if (body_append(out, c, (size_t)n) < 0 || conn_line(c, line, sizeof line) != 0)
				return -1;
		}
	}
	if (clen >= 0)
		return body_append(out, c, (size_t)clen);
	/* neither: the body runs to the end of the connection */
	*server_closes = true;
	char tmp[4096];
	for (;;) {
		int r = SSL_read(c->ssl, tmp, sizeof tmp);
		if (r <= 0)
			return 0;
		if (out->len + (size_t)r > LG_BODY_MAX)
			return -1;
		char *b = realloc(out->body, out->len + (size_t)r + 1);
		if (!b)
			return -1;
		memcpy(b + out->len, tmp, (size_t)r);
		out->body = b;
		out->len += (size_t)r;
		b[out->len] = '\0';
	}
}

void lg_resp_free(struct lg_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
}

int lg_http(struct lg_conn *c, const char *method, const char *path, const char *body,
            struct lg_resp *out, char *err, size_t errlen)
{
	size_t blen = body ? strlen(body) : 0;
	char head[1024];
	int hn = snprintf(head, sizeof head,
	                  "%s %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: cobble-loadgen\r\n%s%s"
	                  "Content-Length: %zu\r\n\r\n",
	                  method, path, c->host, c->port,
	                  body ? "Content-Type: application/jose+json\r\n" : "",
	                  c->fresh ? "Connection: close\r\n" : "", blen);
	if (hn < 0 || (size_t)hn >= sizeof head) {
		snprintf(err, errlen, "request line too long");
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = c->ssl != NULL;
		if (!c->ssl && conn_open(c, err, errlen) < 0) {
			lg_conn_close(c);
			return -1;
		}
		memset(out, 0, sizeof *out);
		out->retry_after = -1;
		bool closes = false;
		int rc = conn_write(c, head, (size_t)hn);
		if (rc == 0 && blen)
			rc = conn_write(c, body, blen);
		if (rc == 0)
			rc = read_response(c, strcmp(method, "HEAD") == 0, out, &closes);
		if (rc == 0) {
			if (closes || c->fresh)
				lg_conn_close(c);
			return 0;
		}
		if (getenv("LOADGEN_DEBUG"))
			fprintf(stderr, "loadgen: %s %s failed after %s; response so far: status %d, %zu body bytes\n",
			        method, path, rc ? "writing or reading" : "?", out->status, out->len);
		lg_resp_free(out);
		lg_conn_close(c);
		if (!reused) /* a new connection that failed is an error; a kept one may have timed out */
			break;
	}
	snprintf(err, errlen, "connection failed: %s", errno ? strerror(errno) : "closed");
	return -1;
}

/* ---- keys, JWS, CSR ---- */

int lg_key_new(struct lg_key *k)
{
	memset(k, 0, sizeof *k);
	if (!sha256 && !(sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)))
		return -1;
	k->pkey = EVP_EC_gen("P-256");
	k->sctx = k->pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL) : NULL;
	if (!k->sctx || EVP_PKEY_sign_init(k->sctx) != 1) {
		lg_key_free(k);
		return -1;
	}
	unsigned char pub[65];
	size_t n = 0;
	if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof pub,
	                                    &n) != 1 ||
	    n != 65) {
		lg_key_free(k);
		return -1;
	}
	unsigned char *sp = k->spki;
	int sn = i2d_PUBKEY(k->pkey, NULL);
	if (sn <= 0 || (size_t)sn > sizeof k->spki || i2d_PUBKEY(k->pkey, &sp) != sn) {
		lg_key_free(k);
		return -1;
	}
	k->spki_len = (size_t)sn;
	char *x = b64url(pub + 1, 32), *y = b64url(pub + 33, 32);
	/* RFC 7638 §3.2 member order, so the thumbprint input is this very string */
	if (x && y)
		snprintf(k->jwk, sizeof k->jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	free(x);
	free(y);
	return k->jwk[0] ? 0 : -1;
}

void lg_key_free(struct lg_key *k)
{
	EVP_PKEY_CTX_free(k->sctx);
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
	k->sctx = NULL;
}

/* ES256 (RFC 7518 §3.4): the signature is R || S, 32 bytes each, not DER. The key's signing
 * context is made once and reused (one client thread per key). */
static char *es256(const struct lg_key *k, const char *input)
{
	unsigned char dgst[32], der[80], raw[64];
	unsigned int dl = 0;
	size_t dlen = sizeof der;
	if (EVP_Digest(input, strlen(input), dgst, &dl, sha256, NULL) != 1 ||
	    EVP_PKEY_sign(k->sctx, der, &dlen, dgst, dl) != 1)
		return NULL;
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	char *out = NULL;
	if (sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32)
		out = b64url(raw, 64);
	ECDSA_SIG_free(sig);
	return out;
}

char *lg_jws(const struct lg_key *k, const char *kid, const char *nonce, const char *url,
             const char *payload)
{
	char prot[1024];
	int n = kid ? snprintf(prot, sizeof prot, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
	                       kid, nonce, url)
	            : snprintf(prot, sizeof prot, "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
	                       k->jwk, nonce, url);
	if (n < 0 || (size_t)n >= sizeof prot)
		return NULL;
	char *p64 = b64url((const unsigned char *)prot, (size_t)n);
	char *b64 = payload ? b64url((const unsigned char *)payload, strlen(payload)) : strdup("");
	char *input = NULL, *sig = NULL, *out = NULL;
	if (p64 && b64 && asprintf(&input, "%s.%s", p64, b64) >= 0 && (sig = es256(k, input)) &&
	    asprintf(&out, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, b64, sig) < 0)
		out = NULL;
	free(p64);
	free(b64);
	free(input);
	free(sig);
	return out;
}

/* DER TLV: tag, definite length (X.690 §8.1.3), content. out must hold n + 4 bytes. */
static size_t der(unsigned char *out, unsigned char tag, const unsigned char *in, size_t n)
{
	size_t h = 0;
	out[h++] = tag;
	if (n < 128) {
		out[h++] = (unsigned char)n;
	} else if (n < 256) {
		out[h++] = 0x81, out[h++] = (unsigned char)n;
	} else {
		out[h++] = 0x82, out[h++] = (unsigned char)(n >> 8), out[h++] = (unsigned char)n;
	}
	memmove(out + h, in, n);
	return h + n;
}

/* A PKCS#10 CSR (RFC 2986) for one DNS name, assembled as DER around the key's
 * SubjectPublicKeyInfo (encoded once per key): X509_REQ_set_pubkey would run OpenSSL's encoder
 * and decoder for every CSR, which cost more than all the flow's signatures together. */
char *lg_csr(const struct lg_key *k, const char *name)
{
	static const unsigned char oid_cn[] = {0x06, 0x03, 0x55, 0x04, 0x03};
	static const unsigned char oid_extreq[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e};
	static const unsigned char oid_san[] = {0x06, 0x03, 0x55, 0x1d, 0x11};
	static const unsigned char ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	                                             0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
	size_t nl = strlen(name);
	if (nl > 253 || k->spki_len > 200)
		return NULL;
	unsigned char a[1024], b[1024], cri[1024], sig[80], dgst[32], req[1200];
	size_t n, m, crin;
	/* subject: CN=name */
	n = der(a, 0x0c, (const unsigned char *)name, nl);       /* UTF8String */
	memmove(b + sizeof oid_cn, a, n), memcpy(b, oid_cn, sizeof oid_cn), n += sizeof oid_cn;
	n = der(a, 0x30, b, n), n = der(b, 0x31, a, n), n = der(a, 0x30, b, n); /* Name */
	crin = 0;
	cri[crin++] = 0x02, cri[crin++] = 0x01, cri[crin++] = 0x00; /* version 0 */
	memcpy(cri + crin, a, n), crin += n;
	memcpy(cri + crin, k->spki, k->spki_len), crin += k->spki_len;
	/* attributes [0]: extensionRequest { subjectAltName { dNSName } } */
	m = der(a, 0x82, (const unsigned char *)name, nl); /* [2] IA5String */
	m = der(b, 0x30, a, m), m = der(a, 0x04, b, m);     /* GeneralNames in an OCTET STRING */
	memmove(b + sizeof oid_san, a, m), memcpy(b, oid_san, sizeof oid_san), m += sizeof oid_san;
	m = der(a, 0x30, b, m), m = der(b, 0x30, a, m), m = der(a, 0x31, b, m); /* Extension(s), SET */
	memmove(b + sizeof oid_extreq, a, m), memcpy(b, oid_extreq, sizeof oid_extreq), m += sizeof oid_extreq;
	m = der(a, 0x30, b, m), m = der(b, 0xa0, a, m);
	memcpy(cri + crin, b, m), crin += m;
	crin = der(a, 0x30, cri, crin); /* the CertificationRequestInfo, now in a */
	unsigned int dl = 0;
	size_t sl = sizeof sig - 1;
	if (EVP_Digest(a, crin, dgst, &dl, sha256, NULL) != 1 || EVP_PKEY_sign(k->sctx, sig + 1, &sl, dgst, dl) != 1)
		return NULL;
	if (sl > 72) /* an ECDSA P-256 signature in DER is at most 72 bytes */
		return NULL;
	sig[0] = 0x00; /* BIT STRING: no unused bits */
	memcpy(b, a, crin), n = crin;
	memcpy(b + n, ecdsa_sha256, sizeof ecdsa_sha256), n += sizeof ecdsa_sha256;
	n += der(b + n, 0x03, sig, sl + 1);
	n = der(req, 0x30, b, n);
	return b64url(req, n);
}
