/* b64: base64url without padding (RFC 4648 §5, as JOSE and ACME use it). */
#include "common/b64.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encoded_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int b64url_encode_buf(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t need = b64url_encoded_len(n);
	if (outlen <= need)
		return -1;
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return (int)o;
}

char *b64url_encode(const void *in, size_t n)
{
	size_t len = b64url_encoded_len(n) + 1;
	char *out = xmalloc(len);
	b64url_encode_buf(in, n, out, len);
	return out;
}

static int val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	if (len % 4 == 1)
		return -1;
	unsigned char *buf = xmalloc(len / 4 * 3 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = val((unsigned char)in[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* RFC 4648 §3.5: non-zero pad bits make the encoding non-canonical. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(buf);
		return -1;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

void b64url_random_token(char out[44])
{
	unsigned char b[32];
	util_random(b, sizeof b);
	b64url_encode_buf(b, sizeof b, out, 44);
}
