/* text: what the record parsers share: a growing string for details that a person reads, and
 * the RFC 8659 §4.2 grammar that CAA and dns-persist-01 records are written in (WSP, label,
 * issuer-domain-name). */
#ifndef COBBLE_TEXT_H
#define COBBLE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A growing NUL-terminated string; {0} is empty. The x* allocators abort on exhaustion (util.h).
 * p is owned: free(p). */
struct text_buf {
	char *p;
	size_t len, cap;
};

void text_putn(struct text_buf *b, const char *s, size_t n);
void text_puts(struct text_buf *b, const char *s);
void text_printf(struct text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Printable ASCII as is; '"' and '\' escaped; every other byte (control bytes, TAB, non-ASCII)
 * as \t or \xHH, so the result is always plain ASCII (valid UTF-8 for JSON, safe on a
 * terminal). text_escs takes a string (NULL as ""); text_quote adds the double quotes. */
void text_esc(struct text_buf *b, const unsigned char *s, size_t n);
void text_escs(struct text_buf *b, const char *s);
void text_quote(struct text_buf *b, const unsigned char *s, size_t n);

/* RFC 5234 WSP (SP / HTAB) and ALPHA / DIGIT. */
bool text_is_wsp(unsigned char c);
bool text_is_alnum(unsigned char c);
/* Trim WSP on both sides of [*s, *s + *n). */
void text_trim_wsp(const unsigned char **s, size_t *n);
/* RFC 8659 §4.2: label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)); also the shape of a
 * parameter tag. */
bool text_is_label(const unsigned char *s, size_t n);
/* issuer-domain-name = label *("." label), within DNS limits (63 octets per label, 253 in all). */
bool text_is_domain(const char *s, size_t n);

#endif
