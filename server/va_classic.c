/* va_classic: helpers the http-01, dns-01 and tls-alpn-01 validators share: escaping what was
 * seen for a problem detail, the key-authorization digest, resolving a host through the worker's
 * own resolver (never the system's), the order addresses are tried in, validation records. */
#include "server/va_classic.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"

void va_escape(const void *data, size_t len, size_t max, char *out, size_t outlen)
{
	const unsigned char *s = data;
	size_t n = len < max ? len : max, o = 0;
	char tail[48] = "";

	if (len > max)
		snprintf(tail, sizeof tail, "... (%zu bytes in all)", len);
	/* room for the closing quote and the tail */
	size_t limit = outlen > strlen(tail) + 2 ? outlen - strlen(tail) - 2 : 0;
	if (limit == 0) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		char buf[5];
		unsigned char c = s[i];
		if (c == '"' || c == '\\')
			snprintf(buf, sizeof buf, "\\%c", c);
		else if (c == '\n')
			snprintf(buf, sizeof buf, "\\n");
		else if (c == '\r')
			snprintf(buf, sizeof buf, "\\r");
		else if (c == '\t')
			snprintf(buf, sizeof buf, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			snprintf(buf, sizeof buf, "\\x%02x", c);
		else
			snprintf(buf, sizeof buf, "%c", c);
		size_t bl = strlen(buf);
		if (o + bl >= limit) {
			if (!tail[0])
				snprintf(tail, sizeof tail, "... (%zu bytes in all)", len);
			break;
		}
		memcpy(out + o, buf, bl);
		o += bl;
	}
	out[o++] = '"';
	snprintf(out + o, outlen - o, "%s", tail);
}

void va_keyauthz_digest(const char *key_authz, unsigned char raw[32], char b64[44])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)key_authz, strlen(key_authz), md);
	if (raw)
		memcpy(raw, md, sizeof md);
	if (b64)
		b64url_encode_buf(md, sizeof md, b64, 44);
}

void va_hex(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 2 < outlen; i++) {
		out[o++] = digits[in[i] >> 4];
		out[o++] = digits[in[i] & 15];
	}
	if (outlen)
		out[o] = '\0';
}

bool va_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int va_resolve(struct va_worker *w, const char *host, struct dns_answer *ans, struct problem *p)
{
	memset(ans, 0, sizeof *ans);
	if (va_is_ip(host)) {
		/* RFC 8738 §3 (and redirects to an IP literal): no lookup at all */
		ans->result = DNS_OK;
		ans->addrs = xcalloc(1, sizeof *ans->addrs);
		ans->addrs[0] = xstrdup(host);
		ans->naddrs = 1;
		return 0;
	}
	if (!w->dns)
		return problem_set(p, PROB_SERVER_INTERNAL, 500, "the validator has no DNS resolver; see the server log");
	va_step(w, VA_STEP_DNS);
	if (dns_addrs(w->dns, host, ans) < 0) {
		problem_set(p, PROB_SERVER_INTERNAL, 500, "DNS lookup of %s failed inside cobble: %s", host, ans->detail);
		dns_answer_clear(ans);
		return -1;
	}
	if (ans->result == DNS_OK && ans->naddrs > 0)
		return 0;
	if (ans->result == DNS_NXDOMAIN || ans->result == DNS_NODATA)
		problem_set(p, PROB_DNS, 400, "no A/AAAA records for %s: %s", host, ans->detail);
	else
		problem_set(p, PROB_DNS, 400, "looking up A/AAAA for %s failed: %s", host, ans->detail);
	dns_answer_clear(ans);
	return -1;
}

size_t va_addr_order(const struct dns_answer *ans, const char *out[2])
{
	const char *v4 = NULL, *v6 = NULL;
	for (size_t i = 0; i < ans->naddrs; i++) {
		if (strchr(ans->addrs[i], ':')) {
			if (!v6)
				v6 = ans->addrs[i];
		} else if (!v4) {
			v4 = ans->addrs[i];
		}
	}
	size_t n = 0;
	if (v6)
		out[n++] = v6;
	if (v4)
		out[n++] = v4;
	return n;
}

json_t *va_record_entry(const char *url, const char *hostname, int port, const struct dns_answer *ans,
                        const char *used)
{
	json_t *e = json_object();
	json_t *resolved = json_array();
	char portbuf[8];
	snprintf(portbuf, sizeof portbuf, "%d", port);
	for (size_t i = 0; ans && i < ans->naddrs; i++)
		json_array_append_new(resolved, json_string(ans->addrs[i]));
	if (url)
		json_object_set_new(e, "url", json_string(url));
	json_object_set_new(e, "hostname", json_string(hostname));
	json_object_set_new(e, "port", json_string(portbuf));
	json_object_set_new(e, "addressesResolved", resolved);
	if (used)
		json_object_set_new(e, "addressUsed", json_string(used));
	if (ans && ans->resolver[0])
		json_object_set_new(e, "resolverAddrs", json_pack("[s]", ans->resolver));
	return e;
}

double va_remaining(double deadline)
{
	double left = deadline - util_now_mono();
	return left > 0 ? left : 0;
}
