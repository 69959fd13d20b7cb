/* persist: the dns-persist-01 record parser and matcher (../shared/spec/dns-persist-01.md
 * sections 1-3; draft-ietf-acme-dns-persist -01 and -02). Pure functions over byte strings. */
#include "common/persist.h"
#include "common/b64.h"
#include "common/text.h"
#include "common/util.h"

#include <idn2.h>
#include <openssl/evp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PERSIST_PREFIX "_validation-persist."
#define HASH_NAME "sha-256/"
#define HASH_B64_LEN 43 /* base64url of 32 octets, unpadded */

char *persist_normalize_issuer(const char *name, size_t len, bool strict)
{
	if (!name || len == 0)
		return NULL;
	bool ascii = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80)
			ascii = false;
		else if (!text_is_alnum(c) && c != '-' && c != '.')
			return NULL; /* NUL, WSP, '_', ... never belong in an issuer-domain-name */
	}
	char *in = xstrndup(name, len);
	char *out = NULL;
	if (ascii) {
		/* Already A-labels or LDH labels: case folding is all IDNA would do, and libidn2 would
		 * refuse R-LDH labels ("ab--c") that DNS and the RFC 8659 grammar allow. */
		out = util_lower(xstrdup(in));
	} else {
		/* IDNA 2008 with UTS-46 non-transitional mapping: "faß" stays distinct from "fass"
		 * as IDNA 2008 requires. Not IDN2_USE_STD3_ASCII_RULES: libidn2 2.3 silently deletes
		 * the characters STD3 disallows ("a b" -> "ab"); text_is_domain() below rejects them instead. */
		char *a = NULL;
		if (idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&a, IDN2_NONTRANSITIONAL) == IDN2_OK && a) {
			out = xstrdup(a);
			util_lower(out);
		}
		idn2_free(a);
	}
	if (out) {
		size_t n = strlen(out);
		if (n > 0 && out[n - 1] == '.') /* spec §2 step 3: one trailing dot */
			out[n - 1] = '\0';
		if (!text_is_domain(out, strlen(out)) || (strict && strcmp(out, in) != 0)) {
			free(out);
			out = NULL;
		}
	}
	free(in);
	return out;
}

char *persist_hash_uri(const char *prefix, const char *d, const char *thumbprint, const char *url)
{
	if (!prefix || !d || !thumbprint || !url)
		return NULL;
	size_t dlen = strlen(d);
	if (dlen > 255)
		return NULL;
	/* Draft -02: SHA-256(len(d) || d || tp || url), len one octet. */
	struct text_buf m = {0};
	unsigned char l = (unsigned char)dlen;
	text_putn(&m, (const char *)&l, 1);
	text_puts(&m, d);
	text_puts(&m, thumbprint);
	text_puts(&m, url);
	unsigned char md[32];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(m.p, m.len, md, &mdlen, EVP_sha256(), NULL);
	free(m.p);
	if (!ok || mdlen != sizeof md)
		return NULL;
	char *h = b64url_encode(md, sizeof md);
	char *r = xasprintf("%s" HASH_NAME "%s", prefix, h);
	free(h);
	return r;
}

char *persist_record_text(const char *issuer, const char *accounturi, bool wildcard,
                          uint64_t persist_until)
{
	struct text_buf b = {0};
	text_printf(&b, "%s; accounturi=%s", issuer ? issuer : "", accounturi ? accounturi : "");
	if (wildcard)
		text_puts(&b, "; policy=wildcard");
	if (persist_until)
		text_printf(&b, "; persistUntil=%llu", (unsigned long long)persist_until);
	return b.p;
}

const char *persist_rule_title(const char *rule)
{
	static const struct {
		const char *id, *title;
	} t[] = {
		{PERSIST_RULE_LOOKUP, "the TXT lookup at _validation-persist.<name>"},
		{PERSIST_RULE_ISSUER, "only records naming one of this CA's issuer domain names count"},
		{PERSIST_RULE_SYNTAX, "a record for this CA must follow the parameter grammar"},
		{PERSIST_RULE_ACCOUNT, "accounturi must name the requesting account"},
		{PERSIST_RULE_WILDCARD, "a wildcard identifier needs policy=wildcard"},
		{PERSIST_RULE_UNTIL, "persistUntil must not be before the validation time"},
		{PERSIST_RULE_VALID, "valid when any record for this CA passes every check"},
		{PERSIST_RULE_HASHED, "draft 02: accounturi is <accountHashPrefix>sha-256/<43 base64url characters>"},
		{PERSIST_RULE_STATUS, "a deactivated account never matches"},
		{PERSIST_RULE_ANCESTOR, "a record at an ancestor (dnsPersist.subdomains) needs policy=wildcard"},
		{PERSIST_RULE_STRICT, "dnsPersist.strict: unknown tags spelled per the grammar, none twice"},
	};
	for (size_t i = 0; rule && i < sizeof t / sizeof t[0]; i++)
		if (strcmp(rule, t[i].id) == 0)
			return t[i].title;
	return "";
}

void persist_result_clear(struct persist_result *r)
{
	if (!r)
		return;
	free(r->detail);
	r->detail = NULL;
}

/* One TXT RR as the checker sees it. Value pointers point into text. */
struct rec {
	unsigned char *text; /* the RR's strings joined, no separator (spec §1) */
	size_t len;
	const unsigned char *iss; /* issuer as found, WSP-trimmed */
	size_t isslen;
	char *issuer;             /* normalised, or NULL */
	bool matching;
	struct text_buf syntax;       /* syntax failures, ", "-separated; empty when none */
	const unsigned char *acct, *policy, *until;
	size_t acctlen, policylen, untillen;
	struct text_buf why;          /* first failed check (spec §2 step 5) */
	const char *rule;         /* PERSIST_RULE_* of the first syntax failure or failed check */
	int key;                  /* -02: the account key whose hash matched (0 current), else -1 */
	bool passed;
	uint64_t until_v;
};

struct ctx {
	const struct persist_input *in;
	const char *fqdn;  /* F */
	bool wildcard;
	char *name;        /* queried owner name */
	char *d;           /* -02 hash input: where the record was published */
	char **hashes;     /* -02: for each thumbprint, d form then "*" form */
	size_t nhashes;
};

/* Record a syntax failure of r under rule (a PERSIST_RULE_* id); the first one names the rule. */
static void syntax_fail(struct rec *r, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void syntax_fail(struct rec *r, const char *rule, const char *fmt, ...)
{
	if (!r->rule)
		r->rule = rule;
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (r->syntax.len)
		text_puts(&r->syntax, ", ");
	text_puts(&r->syntax, s);
	free(s);
}

/* An escaped copy for use inside a syntax message (caller frees). */
static char *esc(const unsigned char *s, size_t n)
{
	struct text_buf b = {0};
	text_putn(&b, "", 0);
	text_esc(&b, s, n);
	return b.p;
}

/* ASCII case-insensitive comparison of n bytes (NUL bytes included). */
static bool mem_ieq(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

static bool tag_is(const unsigned char *t, size_t n, const char *name)
{
	return n == strlen(name) && mem_ieq(t, (const unsigned char *)name, n);
}

/* Parse persistUntil = 1*DIGIT; beyond 64 bits means far future (UINT64_MAX), never overflow. */
static uint64_t parse_until(const unsigned char *s, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return UINT64_MAX;
		v = v * 10 + d;
	}
	return v;
}

/* Spec §3 "02": the hash part is the base64url of a SHA-256 digest: exactly 43 characters of
 * the RFC 4648 §5 alphabet, no padding. Returns NULL when it is, else what is wrong (static). */
static const char *hash_part_error(const unsigned char *s, size_t n, unsigned char *bad)
{
	for (size_t i = 0; i < n; i++) {
		if (!text_is_alnum(s[i]) && s[i] != '-' && s[i] != '_') {
			*bad = s[i];
			return "holds a character outside the base64url alphabet";
		}
	}
	return n == HASH_B64_LEN ? NULL : "has the wrong length";
}

/* Spec §2 step 4 (and §5 strict): parse the text after the first ';' into r's parameters. */
static void parse_params(struct ctx *c, struct rec *r, const unsigned char *p, size_t n)
{
	/* issue-value: [";" *WSP [parameters *WSP]]: nothing after the ';' is no parameters. */
	const unsigned char *all = p;
	size_t alln = n;
	text_trim_wsp(&all, &alln);
	bool any = alln > 0;
	struct persist_str *seen = NULL; /* unknown tags so far (strict only) */
	size_t nseen = 0;
	size_t off = 0;
	while (any && off <= n) {
		const unsigned char *seg = p + off;
		const unsigned char *semi = memchr(seg, ';', n - off);
		size_t sl = semi ? (size_t)(semi - seg) : n - off;
		off += sl + 1;
		text_trim_wsp(&seg, &sl);
		if (sl == 0) {
			syntax_fail(r, PERSIST_RULE_SYNTAX, "empty parameter (\";;\" or a trailing \";\")");
		} else {
			const unsigned char *eq = memchr(seg, '=', sl);
			if (!eq) {
				char *e = esc(seg, sl);
				syntax_fail(r, PERSIST_RULE_SYNTAX, "parameter \"%s\" has no \"=\"", e);
				free(e);
			} else {
				const unsigned char *tag = seg, *val = eq + 1;
				size_t tl = (size_t)(eq - seg), vl = sl - tl - 1;
				text_trim_wsp(&tag, &tl);
				text_trim_wsp(&val, &vl);
				char *te = esc(tag, tl);
				const char *known = tag_is(tag, tl, "accounturi") ? "accounturi"
				                    : tag_is(tag, tl, "policy")   ? "policy"
				                    : tag_is(tag, tl, "persistUntil") ? "persistUntil"
				                                                    : NULL;
				if (tl == 0)
					syntax_fail(r, PERSIST_RULE_SYNTAX, "empty parameter tag before \"=\"");
				for (size_t i = 0; i < vl; i++) {
					/* parameter-value = *(%x21-3A / %x3C-7E) */
					if (val[i] < 0x21 || val[i] > 0x7e) {
						syntax_fail(r, PERSIST_RULE_SYNTAX, "parameter %s: character 0x%02x not allowed in a parameter value",
						            known ? known : te, val[i]);
						break;
					}
				}
				const unsigned char **slot = NULL;
				size_t *slotlen = NULL;
				if (known && strcmp(known, "accounturi") == 0)
					slot = &r->acct, slotlen = &r->acctlen;
				else if (known && strcmp(known, "policy") == 0)
					slot = &r->policy, slotlen = &r->policylen;
				else if (known)
					slot = &r->until, slotlen = &r->untillen;
				if (slot) {
					if (*slot)
						syntax_fail(r, PERSIST_RULE_SYNTAX, "duplicate parameter %s", known);
					else
						*slot = val, *slotlen = vl;
				} else if (tl > 0 && (c->in->strict || c->in->draft == PERSIST_DRAFT_02)) {
					/* Spec §5: strict checks unknown tags' spelling and duplicates; spec §2 step
					 * 4: under draft 02 a duplicate of any tag is a syntax failure (-02 §9.3.1). */
					if (c->in->strict && !text_is_label(tag, tl))
						syntax_fail(r, PERSIST_RULE_STRICT, "parameter tag \"%s\" is not letters and digits with inner hyphens",
						            te);
					bool dup = false;
					for (size_t k = 0; k < nseen && !dup; k++)
						dup = seen[k].len == tl && mem_ieq(seen[k].data, tag, tl);
					if (dup) {
						syntax_fail(r, c->in->draft == PERSIST_DRAFT_02 ? PERSIST_RULE_SYNTAX : PERSIST_RULE_STRICT,
						            "duplicate parameter %s%s", te,
						            c->in->draft == PERSIST_DRAFT_02 && !c->in->strict
						                ? " (draft 02 allows each tag once, known or not)"
						                : "");
					} else {
						seen = xrealloc(seen, (nseen + 1) * sizeof *seen);
						seen[nseen].data = tag;
						seen[nseen++].len = tl;
					}
				}
				free(te);
			}
		}
		if (!semi)
			break;
	}
	free(seen);

	if (!r->acct) {
		syntax_fail(r, PERSIST_RULE_SYNTAX, "missing accounturi parameter");
	} else if (r->acctlen == 0) {
		syntax_fail(r, PERSIST_RULE_SYNTAX, "accounturi is empty");
	} else if (c->in->draft == PERSIST_DRAFT_02) {
		/* Spec §3: a value not under accountHashPrefix, or another hash name, is a syntax failure. */
		const char *pre = c->in->hash_prefix ? c->in->hash_prefix : "";
		size_t pl = strlen(pre);
		char *ae = esc(r->acct, r->acctlen), *pe = esc((const unsigned char *)pre, pl);
		if (r->acctlen < pl || memcmp(r->acct, pre, pl) != 0) {
			syntax_fail(r, PERSIST_RULE_HASHED, "accounturi %s is not under the account hash prefix %s (draft 02 wants %s"
			            HASH_NAME "<hash>)", ae, pe, pe);
		} else if (r->acctlen - pl < strlen(HASH_NAME) ||
		           memcmp(r->acct + pl, HASH_NAME, strlen(HASH_NAME)) != 0) {
			const unsigned char *h = r->acct + pl;
			size_t hl = r->acctlen - pl;
			const unsigned char *sl = memchr(h, '/', hl);
			char *he = esc(h, sl ? (size_t)(sl - h) : hl);
			if (!sl && strcmp(he, "sha-256") == 0)
				syntax_fail(r, PERSIST_RULE_HASHED, "accounturi %s ends without the hash (%s" HASH_NAME "<hash>)", ae, pe);
			else
				syntax_fail(r, PERSIST_RULE_HASHED, "accounturi %s uses hash name \"%s\"; only sha-256 is defined (%s" HASH_NAME
				            "<hash>)", ae, he, pe);
			free(he);
		} else {
			const unsigned char *h = r->acct + pl + strlen(HASH_NAME);
			size_t hl = r->acctlen - pl - strlen(HASH_NAME);
			unsigned char bad = 0;
			const char *why = hash_part_error(h, hl, &bad);
			if (why && bad)
				syntax_fail(r, PERSIST_RULE_HASHED, "accounturi %s: the hash after %s" HASH_NAME " %s (0x%02x '%c'); draft 02 "
				            "wants exactly %d base64url characters (A-Z a-z 0-9 - _, no \"=\" padding, "
				            "no + or /)",
				            ae, pe, why, bad, bad >= 0x21 && bad < 0x7f ? bad : '?', HASH_B64_LEN);
			else if (why)
				syntax_fail(r, PERSIST_RULE_HASHED, "accounturi %s: the hash after %s" HASH_NAME " has %zu characters; draft 02 "
				            "wants exactly %d base64url characters (a SHA-256 digest, no \"=\" padding)",
				            ae, pe, hl, HASH_B64_LEN);
		}
		free(pe);
		free(ae);
	}
	if (r->until) {
		bool digits = r->untillen > 0;
		for (size_t i = 0; i < r->untillen; i++)
			if (r->until[i] < '0' || r->until[i] > '9')
				digits = false;
		if (!digits) {
			char *e = esc(r->until, r->untillen);
			syntax_fail(r, PERSIST_RULE_SYNTAX, "persistUntil \"%s\" is not a number of UNIX seconds (1*DIGIT)", e);
			free(e);
		} else {
			r->until_v = parse_until(r->until, r->untillen);
		}
	}
}

static void fmt_time(int64_t t, char *out, size_t outlen)
{
	/* Years 1..9999 only: gmtime_r fails beyond what struct tm holds. */
	if (t >= -62135596800LL && t <= 253402300799LL)
		util_time_fmt((time_t)t, out, outlen);
	else
		snprintf(out, outlen, "beyond year 9999");
}

/* The path of an absolute URL ("https://host:port/path" → "/path"), or NULL. */
static const char *url_path(const char *u, size_t n, size_t *plen)
{
	const char *scheme = memmem(u, n, "://", 3);
	if (!scheme)
		return NULL;
	const char *p = memchr(scheme + 3, '/', n - (size_t)(scheme + 3 - u));
	if (!p)
		return NULL;
	*plen = n - (size_t)(p - u);
	return p;
}

/* A common first mistake: the record names the right account under another host name (the
 * client reached the CA as 127.0.0.1, the record says localhost), so the detail says so. */
static bool same_path_other_origin(const char *rec, size_t reclen, const char *want)
{
	size_t a, b;
	const char *pa = url_path(rec, reclen, &a), *pb = url_path(want, strlen(want), &b);
	return pa && pb && a == b && memcmp(pa, pb, a) == 0;
}

/* Spec §2 step 5 a-c, in that order; the first failure goes to r->why. */
static void check_record(struct ctx *c, struct rec *r)
{
	const struct persist_input *in = c->in;
	bool ok = false;
	if (in->account_deactivated) {
		text_puts(&r->why, "the account ");
		text_escs(&r->why, in->account_url);
		text_puts(&r->why, " is deactivated and never matches");
		r->rule = PERSIST_RULE_STATUS;
		return;
	}
	if (in->draft == PERSIST_DRAFT_01) {
		/* Spec §3 "01": RFC 3986 simple string comparison, no case folding. */
		const char *u = in->account_url ? in->account_url : "";
		ok = r->acctlen == strlen(u) && memcmp(r->acct, u, r->acctlen) == 0;
		if (!ok) {
			text_puts(&r->why, "accounturi mismatch: record has ");
			text_esc(&r->why, r->acct, r->acctlen);
			text_puts(&r->why, ", expected ");
			text_escs(&r->why, u);
			if (same_path_other_origin((const char *)r->acct, r->acctlen, u))
				text_puts(&r->why, " (the same account path under another scheme, host or port: an "
				                 "account URL includes the host name the client used to reach the CA, "
				                 "so publish the URL exactly as the challenge's accounturi shows it)");
		}
	} else {
		/* Spec §3 "02": every key of the account (current first), d = FQDN or "*". */
		for (size_t i = 0; i < c->nhashes && !ok; i++) {
			ok = c->hashes[i] && r->acctlen == strlen(c->hashes[i]) &&
			     memcmp(r->acct, c->hashes[i], r->acctlen) == 0;
			if (ok)
				r->key = (int)(i / 2);
		}
		if (!ok) {
			text_puts(&r->why, "accounturi mismatch: record has ");
			text_esc(&r->why, r->acct, r->acctlen);
			if (c->nhashes >= 2 && c->hashes[0] && c->hashes[1]) {
				text_puts(&r->why, ", expected ");
				text_escs(&r->why, c->hashes[0]);
				text_puts(&r->why, " (d=");
				text_escs(&r->why, c->d);
				text_puts(&r->why, ") or ");
				text_escs(&r->why, c->hashes[1]);
				text_puts(&r->why, " (d=*) for account ");
				text_escs(&r->why, in->account_url);
				text_puts(&r->why, " and its current key thumbprint ");
				text_escs(&r->why, in->thumbprints[0]);
				if (in->nthumbprints > 1)
					text_printf(&r->why, ", or the same for one of its %zu earlier keys",
					          in->nthumbprints - 1);
			} else {
				text_puts(&r->why, ", but the account has no key thumbprint to hash");
			}
		}
	}
	if (!ok) {
		r->rule = PERSIST_RULE_ACCOUNT;
		return;
	}
	if (c->wildcard || in->at_ancestor) {
		bool pw = r->policy && tag_is(r->policy, r->policylen, "wildcard");
		if (!pw) {
			if (c->wildcard) {
				text_puts(&r->why, "policy=wildcard required for *.");
				text_escs(&r->why, c->fqdn);
			} else {
				text_puts(&r->why, "policy=wildcard required for a record at an ancestor (");
				text_escs(&r->why, c->name);
				text_puts(&r->why, ") to authorize ");
				text_escs(&r->why, c->fqdn);
			}
			if (r->policy) {
				text_puts(&r->why, " (record has policy=");
				text_esc(&r->why, r->policy, r->policylen);
				text_puts(&r->why, ")");
			}
			r->rule = c->wildcard ? PERSIST_RULE_WILDCARD : PERSIST_RULE_ANCESTOR;
			return;
		}
	}
	if (r->until && in->time >= 0 && (uint64_t)in->time > r->until_v) {
		/* T <= persistUntil passes; here persistUntil < T <= INT64_MAX. */
		char a[40], b[40];
		fmt_time((int64_t)r->until_v, a, sizeof a);
		fmt_time(in->time, b, sizeof b);
		text_printf(&r->why, "persistUntil %llu (%s) is before validation time %lld (%s)",
		          (unsigned long long)r->until_v, a, (long long)in->time, b);
		r->rule = PERSIST_RULE_UNTIL;
		return;
	}
	r->passed = true;
}

static void ctx_init(struct ctx *c, const struct persist_input *in)
{
	memset(c, 0, sizeof *c);
	c->in = in;
	const char *id = in->identifier ? in->identifier : "";
	c->wildcard = util_has_prefix(id, "*.");
	c->fqdn = c->wildcard ? id + 2 : id;
	c->name = in->record_name ? xstrdup(in->record_name) : xasprintf(PERSIST_PREFIX "%s", c->fqdn);
	if (in->draft != PERSIST_DRAFT_02)
		return;
	/* d: where the record was published, lowercase, no trailing dot (spec §3, §5 subdomains). */
	const char *where = c->name;
	if (strlen(where) >= strlen(PERSIST_PREFIX) &&
	    strncasecmp(where, PERSIST_PREFIX, strlen(PERSIST_PREFIX)) == 0)
		where += strlen(PERSIST_PREFIX);
	c->d = util_lower(xstrdup(where));
	size_t dl = strlen(c->d);
	if (dl > 0 && c->d[dl - 1] == '.')
		c->d[dl - 1] = '\0';
	if (in->account_deactivated || !in->thumbprints)
		return;
	c->nhashes = 2 * in->nthumbprints;
	c->hashes = xcalloc(c->nhashes, sizeof *c->hashes);
	const char *pre = in->hash_prefix ? in->hash_prefix : "";
	for (size_t i = 0; i < in->nthumbprints; i++) {
		c->hashes[2 * i] = persist_hash_uri(pre, c->d, in->thumbprints[i], in->account_url);
		c->hashes[2 * i + 1] = persist_hash_uri(pre, "*", in->thumbprints[i], in->account_url);
	}
}

static void ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nhashes; i++)
		free(c->hashes[i]);
	free(c->hashes);
	free(c->d);
	free(c->name);
}

/* Which passing record validates: the one that lasts longest (no persistUntil beats any), the
 * first of equals; so the answer does not depend on the order the resolver returned. */
static bool lasts_longer(const struct rec *a, const struct rec *b)
{
	uint64_t va = a->until ? a->until_v : UINT64_MAX;
	uint64_t vb = b->until ? b->until_v : UINT64_MAX;
	if (va != vb)
		return va > vb;
	return !a->until && b->until;
}

static void describe_unmatched(struct ctx *c, struct rec *recs, size_t nrrs, struct text_buf *d)
{
	text_puts(d, "no TXT record at ");
	text_escs(d, c->name);
	text_puts(d, " names this CA's issuer: found issuer names ");
	for (size_t i = 0; i < nrrs; i++) {
		struct rec *r = &recs[i];
		if (i)
			text_puts(d, ", ");
		if (r->isslen == 0) {
			text_puts(d, "(empty)");
		} else {
			text_quote(d, r->iss, r->isslen);
			if (!r->issuer)
				text_puts(d, " (not a valid domain name)");
			else if (r->isslen != strlen(r->issuer) || memcmp(r->iss, r->issuer, r->isslen) != 0)
				text_printf(d, " (%s)", r->issuer);
		}
	}
	text_puts(d, "; this CA accepts ");
	for (size_t i = 0; i < c->in->nissuers; i++) {
		if (i)
			text_puts(d, ", ");
		text_escs(d, c->in->issuers[i]);
	}
	if (c->in->nissuers == 0)
		text_puts(d, "(no issuer names configured)");
}

/* Each matching record but skip: quoted, with its verdict (spec §2 step 6). */
static void describe_matching(struct text_buf *d, const struct rec *recs, size_t nrrs, const struct rec *skip)
{
	bool first = true;
	for (size_t i = 0; i < nrrs; i++) {
		const struct rec *r = &recs[i];
		if (!r->matching || r == skip)
			continue;
		text_printf(d, "%s record %zu ", first ? "" : ";", i + 1);
		first = false;
		text_quote(d, r->text, r->len);
		if (r->syntax.len) {
			text_puts(d, " is malformed: ");
			text_puts(d, r->syntax.p);
		} else if (r->passed) {
			text_puts(d, " also matches");
		} else {
			text_puts(d, " does not match: ");
			text_puts(d, r->why.p ? r->why.p : "");
		}
	}
}

int persist_check(const struct persist_rr *rrs, size_t nrrs, const struct persist_input *in,
                  struct persist_result *out)
{
	memset(out, 0, sizeof *out);
	out->status = PERSIST_INVALID;
	out->matched_rr = -1;
	out->matched_key = -1;
	out->rule = PERSIST_RULE_LOOKUP;
	struct ctx c;
	ctx_init(&c, in);
	struct text_buf d = {0};
	struct rec *recs = nrrs ? xcalloc(nrrs, sizeof *recs) : NULL;
	bool any_syntax = false;
	struct rec *best = NULL;

	if (nrrs == 0) {
		out->type = "unauthorized";
		text_puts(&d, "no TXT record at ");
		text_escs(&d, c.name);
		goto out;
	}
	for (size_t i = 0; i < nrrs; i++) {
		struct rec *r = &recs[i];
		r->key = -1;
		struct text_buf j = {0};
		text_putn(&j, "", 0);
		for (size_t s = 0; s < rrs[i].nstrs; s++)
			if (rrs[i].strs[s].len)
				text_putn(&j, (const char *)rrs[i].strs[s].data, rrs[i].strs[s].len);
		r->text = (unsigned char *)j.p;
		r->len = j.len;
		const unsigned char *semi = memchr(r->text, ';', r->len);
		r->iss = r->text;
		r->isslen = semi ? (size_t)(semi - r->text) : r->len;
		text_trim_wsp(&r->iss, &r->isslen);
		r->issuer = persist_normalize_issuer((const char *)r->iss, r->isslen, in->strict);
		for (size_t k = 0; r->issuer && k < in->nissuers && !r->matching; k++)
			r->matching = in->issuers[k] && strcmp(r->issuer, in->issuers[k]) == 0;
		if (!r->matching)
			continue;
		out->nmatching++;
		size_t rest = semi ? (size_t)(semi - r->text) + 1 : r->len;
		parse_params(&c, r, r->text + rest, r->len - rest);
		if (r->syntax.len) {
			any_syntax = true;
			continue;
		}
		check_record(&c, r);
		if (r->passed && (!best || lasts_longer(r, best)))
			best = r;
	}

	if (out->nmatching == 0) {
		out->type = "unauthorized";
		out->rule = PERSIST_RULE_ISSUER;
		describe_unmatched(&c, recs, nrrs, &d);
		goto out;
	}
	if (best) {
		out->status = PERSIST_VALID;
		out->type = NULL;
		out->matched_rr = (int)(best - recs);
		out->has_persist_until = best->until != NULL;
		out->persist_until = best->until ? best->until_v : 0;
		out->rule = PERSIST_RULE_VALID;
		out->matched_key = best->key;
		text_printf(&d, "TXT record %d at ", out->matched_rr + 1);
		text_escs(&d, c.name);
		text_puts(&d, " ");
		text_quote(&d, best->text, best->len);
		text_puts(&d, " authorizes account ");
		text_escs(&d, in->account_url);
		text_puts(&d, " for ");
		text_escs(&d, in->identifier);
		/* Spec §3 "02": the current key is tried first, then earlier keys newest first. */
		if (best->key == 0)
			text_puts(&d, " (hashed with the account's current key)");
		else if (best->key > 0)
			text_printf(&d, " (hashed with the account's earlier key %d, counting back from the current one)",
			          best->key);
		if (out->nmatching > 1) {
			text_puts(&d, "; other records for this CA:");
			describe_matching(&d, recs, nrrs, best);
		}
		goto out;
	}
	out->type = any_syntax ? "malformed" : "unauthorized";
	/* The rule of the first record that decides: the first malformed one, else the first one
	 * for this CA that failed a check. */
	for (size_t i = 0; i < nrrs; i++) {
		if (recs[i].matching && recs[i].rule && (!any_syntax || recs[i].syntax.len)) {
			out->rule = recs[i].rule;
			break;
		}
	}
	text_puts(&d, "no TXT record at ");
	text_escs(&d, c.name);
	text_printf(&d, " authorizes account ");
	text_escs(&d, in->account_url);
	text_puts(&d, " for ");
	text_escs(&d, in->identifier);
	text_printf(&d, " (%zu of %zu TXT record%s name%s this CA's issuer):", out->nmatching, nrrs,
	          nrrs == 1 ? "" : "s", out->nmatching == 1 ? "s" : "");
	describe_matching(&d, recs, nrrs, NULL);
	/* The others too, briefly: a record split across RRs shows up here as its second half. */
	bool first = true;
	for (size_t i = 0; i < nrrs; i++) {
		if (recs[i].matching)
			continue;
		text_printf(&d, "%s record %zu ", first ? "; ignored for another issuer name:" : ",", i + 1);
		first = false;
		text_quote(&d, recs[i].text, recs[i].len);
	}
out:
	for (size_t i = 0; i < nrrs; i++) {
		free(recs[i].text);
		free(recs[i].issuer);
		free(recs[i].syntax.p);
		free(recs[i].why.p);
	}
	free(recs);
	ctx_free(&c);
	out->detail = d.p ? d.p : xstrdup("");
	return 0;
}

/* RFC 1035 §5.1 character-strings: quoted, '"' and '\' escaped, other bytes outside printable
 * ASCII as \DDD, split into strings of at most 255 octets. Returns a new string. */
char *persist_zone_txt(const unsigned char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return xstrdup("\"\"");
	size_t i = 0;
	do {
		size_t end = n - i > 255 ? i + 255 : n;
		fputs(i ? " \"" : "\"", f);
		for (; i < end; i++) {
			if (s[i] == '"' || s[i] == '\\')
				fprintf(f, "\\%c", s[i]);
			else if (s[i] >= 0x20 && s[i] < 0x7f)
				fputc(s[i], f);
			else
				fprintf(f, "\\%03u", s[i]);
		}
		fputc('"', f);
	} while (i < n);
	fclose(f);
	return buf;
}
