/* http_head: request heads checked and framed, responses counted (see http_head.h). */
#include "server/http_head.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { HEAD_LINE, HEAD_FIELDS, HEAD_BODY, HEAD_PASS, HEAD_BAD };
enum { RESP_HEAD, RESP_BODY };

void http_head_init(struct http_head *h, uint64_t body_limit)
{
	memset(h, 0, sizeof *h);
	h->state = HEAD_LINE;
	h->body_limit = body_limit;
	h->rstate = RESP_HEAD;
	h->rfirst = true;
}

bool http_head_refused(const struct http_head *h)
{
	return h->state == HEAD_BAD;
}

bool http_head_idle(const struct http_head *h)
{
	return h->lost || (h->outstanding == 0 && h->rstate == RESP_HEAD && h->rfirst && h->rline_len == 0);
}

const char *http_head_reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void refuse(struct http_head *h, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(struct http_head *h, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->detail, sizeof h->detail, fmt, ap);
	va_end(ap);
	h->status = status;
	h->state = HEAD_BAD;
}

/* What the client sent, for a detail: at most 60 bytes, anything unprintable as '?'. */
static void quote(char *out, size_t outlen, const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < outlen && i < 60; i++)
		out[k++] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"') ? p[i] : '?';
	if (n > 60 && k + 4 < outlen) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

/* RFC 9110 §5.6.2: tchar */
static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
static int request_line(struct http_head *h, const char *p, size_t n)
{
	char q[80];
	size_t m = 0;
	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	size_t t = m + 1, te = t;
	while (te < n && (unsigned char)p[te] > 0x20 && p[te] != 0x7f)
		te++;
	const char *v = p + te + 1;
	size_t vn = te < n ? n - te - 1 : 0;
	if (m == 0 || m >= n || p[m] != ' ' || te == t || te >= n || p[te] != ' ' || vn != 8 ||
	    memcmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7])) {
		quote(q, sizeof q, p, n);
		refuse(h, 400,
		       "malformed request line \"%s\": it must be METHOD, one space, the request target, one space "
		       "and HTTP/1.1 (RFC 9112 §3)",
		       q);
		return -1;
	}
	/* RFC 9110 §15.6.6 */
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
		refuse(h, 505, "HTTP/%c.%c is not supported here: send the request as HTTP/1.1 (or HTTP/1.0)", v[5],
		       v[7]);
		return -1;
	}
	h->v11 = v[7] == '1';
	h->is_head = m == 4 && memcmp(p, "HEAD", 4) == 0;
	h->host = h->te = h->cl_seen = false;
	h->host_value[0] = '\0';
	h->cl = 0;
	h->fields_bytes = 0;
	h->nfields = 0;
	return 0;
}

/* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS */
static int field_line(struct http_head *h, const char *p, size_t n)
{
	char q[80];
	if (p[0] == ' ' || p[0] == '\t') {
		quote(q, sizeof q, p, n);
		refuse(h, 400,
		       "header field line \"%s\" continues the previous one (obs-fold, RFC 9112 §5.2): send each "
		       "header field on one line",
		       q);
		return -1;
	}
	size_t m = 0;
	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m >= n || p[m] != ':') {
		quote(q, sizeof q, p, n);
		refuse(h, 400,
		       "malformed header field line \"%s\": it must be a name, a colon right after it (no space "
		       "before the colon) and the value (RFC 9112 §5.1)",
		       q);
		return -1;
	}
	const char *v = p + m + 1, *ve = p + n;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	/* RFC 9110 §5.5: a value with CR, LF or NUL is to be refused */
	for (const char *c = v; c < ve; c++) {
		if (*c == '\0' || *c == '\r') {
			refuse(h, 400, "header field %.*s: its value holds a %s byte (RFC 9110 §5.5); remove it", (int)m,
			       p, *c ? "CR" : "NUL");
			return -1;
		}
	}
	if (m == 4 && strncasecmp(p, "host", 4) == 0) {
		if (h->host) { /* RFC 9112 §3.2 */
			refuse(h, 400, "more than one Host header field (RFC 9112 §3.2): send one");
			return -1;
		}
		h->host = true;
		if ((size_t)(ve - v) < sizeof h->host_value) {
			memcpy(h->host_value, v, (size_t)(ve - v));
			h->host_value[ve - v] = '\0';
		}
	} else if (m == 14 && strncasecmp(p, "content-length", 14) == 0) {
		/* RFC 9110 §8.6: Content-Length = 1*DIGIT */
		uint64_t cl = 0;
		bool ok = v < ve && ve - v <= 18;
		for (const char *c = v; ok && c < ve; c++) {
			ok = isdigit((unsigned char)*c);
			cl = cl * 10 + (uint64_t)(*c - '0');
		}
		if (!ok || (h->cl_seen && cl != h->cl)) {
			quote(q, sizeof q, v, (size_t)(ve - v));
			refuse(h, 400, "%s Content-Length \"%s\": it must be one decimal number of bytes (RFC 9110 §8.6)",
			       ok ? "a second, different" : "malformed", q);
			return -1;
		}
		h->cl_seen = true;
		h->cl = cl;
	} else if (m == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
		h->te = true;
	}
	return 0;
}

static int end_of_head(struct http_head *h)
{
	if (h->v11 && !h->host) { /* RFC 9112 §3.2 */
		refuse(h, 400, "an HTTP/1.1 request without a Host header field (RFC 9112 §3.2): add one");
		return -1;
	}
	if (h->cl_seen && !h->te && h->cl > h->body_limit) { /* RFC 9110 §15.5.14 */
		refuse(h, 413,
		       "a request body of %llu bytes was declared; ACME messages are small and bodies over %llu bytes "
		       "are refused, so none of it was read",
		       (unsigned long long)h->cl, (unsigned long long)h->body_limit);
		return -1;
	}
	if (h->is_head)
		h->head_bits |= 1u << h->outstanding;
	h->outstanding++;
	if (h->te) { /* RFC 9112 §6.3: chunked, not framed here; passed through from now on */
		h->state = HEAD_PASS;
		h->lost = true;
		return 0;
	}
	h->body_left = h->cl;
	h->state = h->body_left ? HEAD_BODY : HEAD_LINE;
	return 0;
}

/* Of avail bytes at hand, the ones that still belong to a body with *left bytes to go. */
static size_t body_take(uint64_t *left, size_t avail)
{
	size_t n = avail > *left ? (size_t)*left : avail;
	*left -= n;
	return n;
}

size_t http_head_scan(struct http_head *h, const char *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		if (h->state == HEAD_PASS)
			return len;
		if (h->state == HEAD_BAD)
			return done;
		if (h->state == HEAD_BODY) {
			done += body_take(&h->body_left, len - done);
			if (h->body_left == 0)
				h->state = HEAD_LINE;
			continue;
		}
		if (h->state == HEAD_LINE && h->outstanding >= HTTP_HEAD_MAX_PIPELINE)
			return done; /* until answers come back */
		const char *p = buf + done;
		const char *nl = memchr(p, '\n', len - done);
		size_t linelen = nl ? (size_t)(nl - p) : len - done;
		if (h->state == HEAD_LINE && linelen > HTTP_HEAD_MAX_LINE) {
			refuse(h, 414,
			       "the request line is longer than %d bytes: ACME URLs are short, check the URL the "
			       "client builds",
			       HTTP_HEAD_MAX_LINE);
			return done;
		}
		if (h->state == HEAD_FIELDS && h->fields_bytes + linelen > HTTP_HEAD_MAX_FIELDS) {
			refuse(h, 431, "the header fields are longer than %d bytes together: send fewer or shorter ones",
			       HTTP_HEAD_MAX_FIELDS);
			return done;
		}
		if (!nl)
			return done;
		size_t n = linelen;
		if (n && p[n - 1] == '\r')
			n--;
		if (h->state == HEAD_LINE) {
			/* RFC 9112 §2.2: empty lines before a request line are ignored (libmicrohttpd does) */
			if (n > 0 && request_line(h, p, n) < 0)
				return done;
			if (n > 0)
				h->state = HEAD_FIELDS;
		} else if (n == 0) {
			if (end_of_head(h) < 0)
				return done;
		} else {
			if (++h->nfields > HTTP_HEAD_MAX_NFIELDS) {
				refuse(h, 431, "more than %d header fields: send fewer", HTTP_HEAD_MAX_NFIELDS);
				return done;
			}
			if (field_line(h, p, n) < 0)
				return done;
			h->fields_bytes += linelen + 1;
		}
		done += linelen + 1;
	}
	return done;
}

/* One line of a response head from libmicrohttpd (without CR LF). */
static void response_line(struct http_head *h)
{
	const char *l = h->rline;
	if (h->rfirst) {
		h->rfirst = false;
		h->rcl_seen = false;
		h->rstatus = strncmp(l, "HTTP/1.", 7) == 0 && strlen(l) >= 12 ? atoi(l + 9) : 0;
		h->rinterim = h->rstatus >= 100 && h->rstatus < 200;
		if (h->rstatus == 0 || h->rstatus == 101) /* not framed here */
			h->lost = true;
	} else if (h->rline_len == 0) {
		h->rfirst = true;
		if (h->rinterim) /* 100 Continue: the final answer follows */
			return;
		if (h->outstanding == 0) {
			h->lost = true;
			return;
		}
		bool head = h->head_bits & 1;
		h->head_bits >>= 1;
		h->outstanding--;
		/* RFC 9112 §6.3: no body after HEAD, 204, 304 */
		if (head || h->rstatus == 204 || h->rstatus == 304)
			h->rbody_left = 0;
		else if (h->rcl_seen)
			h->rbody_left = h->rcl;
		else
			h->lost = true;
		if (h->rbody_left)
			h->rstate = RESP_BODY;
	} else if (strncasecmp(l, "content-length:", 15) == 0) {
		h->rcl = strtoull(l + 15, NULL, 10);
		h->rcl_seen = true;
	} else if (strncasecmp(l, "transfer-encoding:", 18) == 0) {
		h->lost = true;
	}
}

void http_head_response(struct http_head *h, const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && !h->lost) {
		if (h->rstate == RESP_BODY) {
			i += body_take(&h->rbody_left, len - i);
			if (h->rbody_left == 0)
				h->rstate = RESP_HEAD;
			continue;
		}
		char c = buf[i++];
		if (c != '\n') {
			if (h->rline_len < sizeof h->rline - 1)
				h->rline[h->rline_len++] = c;
			continue;
		}
		if (h->rline_len && h->rline[h->rline_len - 1] == '\r')
			h->rline_len--;
		h->rline[h->rline_len] = '\0';
		response_line(h);
		h->rline_len = 0;
	}
}
