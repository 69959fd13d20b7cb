/* problem: RFC 8555 §6.7 problem documents (RFC 7807), one per client-caused failure. */
#include "server/problem.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0 when the byte there does not start one. */
static int utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		unsigned lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		unsigned lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Details quote client input and may be cut mid-character: keep them valid UTF-8 (jansson
 * refuses anything else), replacing each stray byte with '?'. */
static void utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		int n = utf8_len(p);
		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
}

int problem_vset(struct problem *p, const char *type, int status, const char *fmt, va_list ap)
{
	p->type = type;
	p->status = status;
	p->nsub = 0;
	p->maxsub = 0;
	p->sub = NULL;
	vsnprintf(p->detail, sizeof p->detail, fmt, ap);
	utf8_fix(p->detail);
	return -1;
}

int problem_set(struct problem *p, const char *type, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	problem_vset(p, type, status, fmt, ap);
	va_end(ap);
	return -1;
}

void problem_lend_subs(struct problem *p, struct subproblem *storage, int max)
{
	p->sub = storage;
	p->maxsub = max;
	p->nsub = 0;
}

void problem_add_sub(struct problem *p, const char *type, const char *id_type, const char *id_value,
                     const char *fmt, ...)
{
	if (!p->sub || p->nsub >= p->maxsub)
		return;
	struct subproblem *s = &p->sub[p->nsub++];
	s->type = type;
	snprintf(s->id_type, sizeof s->id_type, "%s", id_type ? id_type : "");
	snprintf(s->id_value, sizeof s->id_value, "%s", id_value ? id_value : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof s->detail, fmt, ap);
	va_end(ap);
	utf8_fix(s->detail);
	utf8_fix(s->id_value);
}

void problem_prefix(struct problem *p, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n >= sizeof p->detail)
		n = sizeof p->detail - 1;
	size_t keep = sizeof p->detail - 1 - n;
	size_t have = strlen(p->detail);
	if (have > keep)
		have = keep;
	memmove(p->detail + n, p->detail, have);
	memcpy(p->detail, prefix, n);
	p->detail[n + have] = '\0';
	utf8_fix(p->detail);
}

int problem_default_status(const char *type)
{
	static const struct {
		const char *type;
		int status;
	} table[] = {
	    {PROB_UNAUTHORIZED, 403},   {PROB_ACCOUNT_DOES_NOT_EXIST, 400}, {PROB_ORDER_NOT_READY, 403},
	    {PROB_RATE_LIMITED, 429},   {PROB_SERVER_INTERNAL, 500},        {PROB_USER_ACTION_REQUIRED, 403},
	    {PROB_ALREADY_REVOKED, 400},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].type, type) == 0)
			return table[i].status;
	return 400;
}

json_t *problem_to_json(const struct problem *p)
{
	/* whoever filled the detail, what goes on the wire is valid UTF-8 */
	char detail[PROBLEM_DETAIL_MAX];
	snprintf(detail, sizeof detail, "%s", p->detail);
	utf8_fix(detail);
	json_t *o = json_pack("{s:s+, s:s, s:i}", "type", "urn:ietf:params:acme:error:", p->type, "detail",
	                      detail, "status", p->status);
	if (o && strcmp(p->type, PROB_BAD_SIGNATURE_ALGORITHM) == 0) /* RFC 8555 §6.2 */
		json_object_set_new(o, "algorithms",
		                    json_pack("[sssss]", "RS256", "ES256", "ES384", "ES512", "EdDSA"));
	if (!o || p->nsub == 0)
		return o;
	json_t *subs = json_array();
	for (int i = 0; i < p->nsub; i++) {
		const struct subproblem *s = &p->sub[i];
		char sub[sizeof s->detail], val[sizeof s->id_value];
		snprintf(sub, sizeof sub, "%s", s->detail);
		snprintf(val, sizeof val, "%s", s->id_value);
		utf8_fix(sub);
		utf8_fix(val);
		json_t *so = json_pack("{s:s+, s:s}", "type", "urn:ietf:params:acme:error:", s->type, "detail", sub);
		if (s->id_type[0])
			json_object_set_new(so, "identifier",
			                    json_pack("{s:s, s:s}", "type", s->id_type, "value", val));
		json_array_append_new(subs, so);
	}
	json_object_set_new(o, "subproblems", subs);
	return o;
}
