/* caa: RFC 8659 property parsing and the issuance decision over one relevant RRset, with the
 * RFC 8657 parameters (accounturi, validationmethods). No I/O. */
#include "common/caa.h"
#include "common/text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int caa_property_parse(const char *text, struct caa_property *p)
{
	char *end;
	memset(p, 0, sizeof *p);
	unsigned long flags = strtoul(text, &end, 10);
	if (end == text || *end != ' ' || flags > 255)
		return -1;
	const char *tag = end + 1, *sp = strchr(tag, ' ');
	if (!sp || sp == tag || (size_t)(sp - tag) >= sizeof p->tag)
		return -1;
	p->flags = (unsigned)flags;
	memcpy(p->tag, tag, (size_t)(sp - tag));
	p->value = sp + 1;
	return 0;
}

/* One issue/issuewild value as RFC 8659 §4.2 parses it. */
struct issue_value {
	char issuer[254];          /* lowercase, one trailing dot stripped; "" when none */
	const char *acct, *methods; /* parameter values (not NUL-terminated), or NULL */
	size_t acct_len, methods_len;
	char why[160];             /* when malformed */
};

static int malformed(struct issue_value *iv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int malformed(struct issue_value *iv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(iv->why, sizeof iv->why, fmt, ap);
	va_end(ap);
	return -1;
}

/* issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]] */
static int parse_issue_value(const char *v, struct issue_value *iv)
{
	memset(iv, 0, sizeof *iv);
	const char *p = v;
	while (text_is_wsp((unsigned char)*p))
		p++;
	const char *name = p;
	while (text_is_alnum((unsigned char)*p) || *p == '-' || *p == '.')
		p++;
	size_t nlen = (size_t)(p - name);
	if (nlen && name[nlen - 1] == '.')
		nlen--; /* compared without a trailing dot (spec section 5) */
	if (nlen >= sizeof iv->issuer || (nlen && !text_is_domain(name, nlen)))
		return malformed(iv, "\"%.*s\" is not a domain name", (int)(p - name), name);
	for (size_t i = 0; i < nlen; i++)
		iv->issuer[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	while (text_is_wsp((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	if (*p != ';')
		return malformed(iv, "unexpected character 0x%02x after the issuer name", (unsigned char)*p);
	p++;
	while (text_is_wsp((unsigned char)*p))
		p++;
	while (*p) {
		const char *tag = p;
		while (text_is_alnum((unsigned char)*p) || *p == '-')
			p++;
		size_t tlen = (size_t)(p - tag);
		if (!text_is_label((const unsigned char *)tag, tlen))
			return malformed(iv, "a parameter tag is empty or not letters, digits and '-'");
		while (text_is_wsp((unsigned char)*p))
			p++;
		if (*p != '=')
			return malformed(iv, "parameter \"%.*s\" has no \"=\"", (int)tlen, tag);
		p++;
		while (text_is_wsp((unsigned char)*p))
			p++;
		const char *val = p;
		while ((unsigned char)*p >= 0x21 && (unsigned char)*p <= 0x7e && *p != ';')
			p++;
		size_t vlen = (size_t)(p - val);
		bool is_acct = tlen == 10 && strncasecmp(tag, "accounturi", 10) == 0;
		bool is_meth = tlen == 17 && strncasecmp(tag, "validationmethods", 17) == 0;
		/* RFC 8657 §3, §4: a parameter given twice has no single meaning: the property fails */
		if ((is_acct && iv->acct) || (is_meth && iv->methods))
			return malformed(iv, "parameter %.*s appears twice", (int)tlen, tag);
		if (is_acct) {
			iv->acct = val;
			iv->acct_len = vlen;
		} else if (is_meth) {
			iv->methods = val;
			iv->methods_len = vlen;
		}
		while (text_is_wsp((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != ';')
			return malformed(iv, "character 0x%02x not allowed in the value of %.*s", (unsigned char)*p,
			                 (int)tlen, tag);
		p++;
		while (text_is_wsp((unsigned char)*p))
			p++;
		if (*p == '\0')
			return malformed(iv, "trailing \";\" with no parameter after it");
	}
	return 0;
}

/* RFC 8657 §4: value = [*(label ",") label]; exact comparison of one label with the method. */
static bool methods_contain(const char *list, size_t n, const char *method)
{
	size_t mlen = strlen(method);
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		while (j < n && list[j] != ',')
			j++;
		if (j - i == mlen && memcmp(list + i, method, mlen) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

static bool is_identity(const struct caa_request *req, const char *issuer)
{
	for (size_t i = 0; i < req->nidentities; i++)
		if (strcasecmp(req->identities[i], issuer) == 0)
			return true;
	return false;
}

/* Append to a bounded buffer; the end is cut, never overrun. */
static void add(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* The property in zone-file form, `0 issue "value"`, bytes outside printable ASCII as \xNN. */
static void add_property(char *buf, size_t size, const struct caa_property *p)
{
	add(buf, size, "%u %s \"", p->flags, p->tag);
	for (const unsigned char *c = (const unsigned char *)p->value; *c; c++) {
		if (*c < 0x20 || *c > 0x7e)
			add(buf, size, "\\x%02x", *c);
		else
			add(buf, size, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
	}
	add(buf, size, "\"");
}

static bool known_tag(const char *tag)
{
	/* RFC 8659 §4.1 issue, issuewild, iodef; CA/B Forum BR contactemail, contactphone; RFC 9495
	 * issuemail (S/MIME only, so it never restricts a TLS certificate) */
	static const char *const known[] = {"issue", "issuewild", "iodef", "contactemail", "contactphone",
	                                    "issuemail"};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcasecmp(tag, known[i]) == 0)
			return true;
	return false;
}

static void list_identities(char *buf, size_t size, const struct caa_request *req)
{
	for (size_t i = 0; i < req->nidentities; i++)
		add(buf, size, "%s%s", i ? ", " : "", req->identities[i]);
}

void caa_decide(const char *const *rrs, size_t n, const char *owner, const struct caa_request *req,
                struct caa_verdict *out)
{
	memset(out, 0, sizeof *out);
	size_t nissue = 0, nwild = 0;
	struct caa_property p;
	if (n == 0) {
		out->permitted = true;
		snprintf(out->detail, sizeof out->detail, "no CAA record at %s or any ancestor", owner);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (caa_property_parse(rrs[i], &p) < 0)
			continue;
		/* RFC 8659 §4.1: a critical property this CA does not understand forbids issuance */
		if ((p.flags & 128) && !known_tag(p.tag)) {
			snprintf(out->detail, sizeof out->detail, "CAA record at %s: the critical property ", owner);
			add_property(out->detail, sizeof out->detail, &p);
			add(out->detail, sizeof out->detail,
			    " has a tag this CA does not know, so it may not issue (RFC 8659 §4.1); remove the "
			    "property or clear its critical flag (128)");
			return;
		}
		nissue += strcasecmp(p.tag, "issue") == 0;
		nwild += strcasecmp(p.tag, "issuewild") == 0;
	}
	/* RFC 8659 §4.3: for a wildcard, issuewild properties decide when there are any */
	const char *tag = req->wildcard && nwild ? "issuewild" : "issue";
	if ((req->wildcard && nwild ? nwild : nissue) == 0) {
		out->permitted = true;
		snprintf(out->detail, sizeof out->detail, "the CAA records at %s have no %s property, so they "
		         "do not restrict issuance", owner, req->wildcard ? "issue or issuewild" : "issue");
		return;
	}
	char reasons[sizeof out->detail] = "";
	for (size_t i = 0; i < n; i++) {
		if (caa_property_parse(rrs[i], &p) < 0 || strcasecmp(p.tag, tag) != 0)
			continue;
		struct issue_value iv;
		char why[400] = "";
		if (parse_issue_value(p.value, &iv) < 0)
			snprintf(why, sizeof why, "its value is malformed (%s), so it authorizes no CA (RFC 8659 §4.2)",
			         iv.why);
		else if (!iv.issuer[0])
			snprintf(why, sizeof why, "it names no CA: it forbids %s issuance", tag);
		else if (!is_identity(req, iv.issuer))
			snprintf(why, sizeof why, "it names %s, not this CA", iv.issuer);
		else if (iv.acct && (strlen(req->account_url) != iv.acct_len ||
		                     memcmp(iv.acct, req->account_url, iv.acct_len) != 0))
			/* RFC 8657 §3: the plain account URL, compared exactly */
			snprintf(why, sizeof why, "accounturi=%.*s is not this account (%s)", (int)iv.acct_len, iv.acct,
			         req->account_url);
		else if (iv.methods && !methods_contain(iv.methods, iv.methods_len, req->method))
			/* RFC 8657 §4 */
			snprintf(why, sizeof why, "validationmethods=%.*s does not include %s", (int)iv.methods_len,
			         iv.methods, req->method);
		if (!why[0]) {
			out->permitted = true;
			snprintf(out->detail, sizeof out->detail, "CAA record at %s permits issuance: ", owner);
			add_property(out->detail, sizeof out->detail, &p);
			return;
		}
		add(reasons, sizeof reasons, "%s", reasons[0] ? "; " : "");
		add_property(reasons, sizeof reasons, &p);
		add(reasons, sizeof reasons, ": %s", why);
	}
	snprintf(out->detail, sizeof out->detail, "CAA records at %s forbid issuance by this CA (", owner);
	list_identities(out->detail, sizeof out->detail, req);
	add(out->detail, sizeof out->detail, ") for %s with %s: no %s property allows it: %s; to allow it "
	    "publish %s 0 %s \"%s\"", req->wildcard ? "a wildcard" : "this name", req->method, tag, reasons,
	    owner, tag, req->nidentities ? req->identities[0] : "");
}
