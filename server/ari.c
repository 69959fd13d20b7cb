/* ari: certIDs and renewal windows of RFC 9773 ACME Renewal Information. */
#include "server/ari.h"
#include "common/b64.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	                                  : c >= 'A' && c <= 'F'     ? c - 'A' + 10
	                                                             : -1;
}

int ari_certid_make(const unsigned char *aki, size_t aki_len, const char *serial_hex,
                    char out[ARI_CERTID_MAX])
{
	/* the INTEGER's content octets: the value big-endian, with a 00 when the top bit is set */
	unsigned char der[22];
	size_t n = 0, len = strlen(serial_hex);
	while (len > 1 && serial_hex[0] == '0')
		serial_hex++, len--;
	if (len == 0 || len > 40 || aki_len == 0 || aki_len > ARI_AKI_MAX)
		return -1;
	char even[42];
	snprintf(even, sizeof even, "%s%s", len % 2 ? "0" : "", serial_hex);
	unsigned char val[20];
	size_t nval = strlen(even) / 2;
	for (size_t i = 0; i < nval; i++) {
		int hi = hexval(even[2 * i]), lo = hexval(even[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		val[i] = (unsigned char)(hi << 4 | lo);
	}
	if (val[0] & 0x80)
		der[n++] = 0;
	memcpy(der + n, val, nval);
	n += nval;
	int a = b64url_encode_buf(aki, aki_len, out, ARI_CERTID_MAX);
	if (a < 0 || (size_t)a + 1 >= ARI_CERTID_MAX)
		return -1;
	out[a] = '.';
	return b64url_encode_buf(der, n, out + a + 1, ARI_CERTID_MAX - (size_t)a - 1) < 0 ? -1 : 0;
}

int ari_certid_parse(const char *s, unsigned char aki[ARI_AKI_MAX], size_t *aki_len,
                     char serial_hex[41], char *err, size_t errlen)
{
	unsigned char *a = NULL, *sn = NULL;
	size_t alen = 0, slen = 0;
	int rc = -1;
	const char *dot = strchr(s, '.');
	if (!dot || strchr(dot + 1, '.')) {
		fail(err, errlen, "a certID is base64url(keyIdentifier) \".\" base64url(serial) (RFC 9773 §4.1): "
		                  "exactly one '.'");
		goto out;
	}
	if (dot == s || !dot[1]) {
		fail(err, errlen, "the certID's %s part is empty", dot == s ? "keyIdentifier" : "serial");
		goto out;
	}
	if (b64url_decode(s, (size_t)(dot - s), &a, &alen) < 0) {
		fail(err, errlen, "the certID's keyIdentifier is not base64url without padding");
		goto out;
	}
	if (alen == 0 || alen > ARI_AKI_MAX) {
		fail(err, errlen, "the certID's keyIdentifier has %zu octets; at most %d", alen, ARI_AKI_MAX);
		goto out;
	}
	if (b64url_decode(dot + 1, strlen(dot + 1), &sn, &slen) < 0) {
		fail(err, errlen, "the certID's serial is not base64url without padding");
		goto out;
	}
	if (slen == 0) {
		fail(err, errlen, "the certID's serial is empty");
		goto out;
	}
	if (sn[0] & 0x80) {
		fail(err, errlen, "the certID's serial is negative: it must be the DER INTEGER's content "
		                  "octets, with a leading 00 when the top bit is set");
		goto out;
	}
	if (slen > 1 && sn[0] == 0 && !(sn[1] & 0x80)) {
		fail(err, errlen, "the certID's serial has a needless leading zero octet (DER is minimal)");
		goto out;
	}
	size_t off = sn[0] == 0 && slen > 1 ? 1 : 0;
	if (slen - off > 20) {
		fail(err, errlen, "the certID's serial has %zu octets; RFC 5280 allows at most 20", slen - off);
		goto out;
	}
	size_t n = 0;
	for (size_t i = off; i < slen; i++)
		n += (size_t)snprintf(serial_hex + n, 41 - n, "%02x", sn[i]);
	/* no leading zero digits, as store_serial_norm writes serials */
	size_t z = 0;
	while (serial_hex[z] == '0' && serial_hex[z + 1])
		z++;
	memmove(serial_hex, serial_hex + z, strlen(serial_hex + z) + 1);
	memcpy(aki, a, alen);
	*aki_len = alen;
	rc = 0;
out:
	free(a);
	free(sn);
	return rc;
}

void ari_window(time_t not_before, time_t not_after, bool revoked, time_t now, time_t *start,
                time_t *end)
{
	if (revoked) {
		*start = now - 2 * 3600;
		*end = now - 3600;
		return;
	}
	time_t life = not_after > not_before ? not_after - not_before : 1;
	*start = not_before + life * 2 / 3;
	*end = not_before + life * 5 / 6;
	if (*end <= *start) /* §4.2: end must follow start */
		*end = *start + 1;
}
