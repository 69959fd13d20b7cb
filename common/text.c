/* text: a growing string and the RFC 8659 §4.2 grammar (see text.h). */
#include "common/text.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void text_putn(struct text_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void text_puts(struct text_buf *b, const char *s)
{
	text_putn(b, s, strlen(s));
}

void text_printf(struct text_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	text_puts(b, s);
	free(s);
}

void text_esc(struct text_buf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			text_putn(b, e, 2);
		} else if (c == '\t') {
			text_puts(b, "\\t");
		} else if (c >= 0x20 && c < 0x7f) {
			text_putn(b, (const char *)&c, 1);
		} else {
			text_printf(b, "\\x%02x", c);
		}
	}
}

void text_escs(struct text_buf *b, const char *s)
{
	text_esc(b, (const unsigned char *)(s ? s : ""), s ? strlen(s) : 0);
}

void text_quote(struct text_buf *b, const unsigned char *s, size_t n)
{
	text_putn(b, "\"", 1);
	text_esc(b, s, n);
	text_putn(b, "\"", 1);
}

bool text_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

bool text_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void text_trim_wsp(const unsigned char **s, size_t *n)
{
	while (*n > 0 && text_is_wsp((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && text_is_wsp((*s)[*n - 1]))
		(*n)--;
}

bool text_is_label(const unsigned char *s, size_t n)
{
	if (n == 0 || !text_is_alnum(s[0]) || !text_is_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!text_is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool text_is_domain(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	const char *end = s + n;
	for (const char *p = s;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = (size_t)((dot ? dot : end) - p);
		if (l > 63 || !text_is_label((const unsigned char *)p, l))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}
