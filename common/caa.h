/* caa: the CAA decision (RFC 8659, RFC 8657, draft-ietf-acme-dns-persist-02 §7.7,
 * ../shared/spec/dns-persist-01.md section 5) over one relevant RRset. Pure: no I/O; the VA's
 * tree climbing (server/va_caa.c) and `cobble check-record` both call caa_decide. */
#ifndef COBBLE_CAA_H
#define COBBLE_CAA_H

#include <stdbool.h>
#include <stddef.h>

/* One CAA property as common/dns.h gives it: "flags tag value", the value unquoted. */
struct caa_property {
	unsigned flags;        /* RFC 8659 §4.1: bit 128 is the Issuer Critical Flag */
	char tag[32];          /* as published (compared case-insensitively) */
	const char *value;     /* borrowed from the parsed text */
};

/* Parse "flags tag value". Returns 0, or -1 when the text is not in that shape. p->value borrows
 * from text. */
int caa_property_parse(const char *text, struct caa_property *p);

struct caa_request {
	const char *const *identities; /* the CA's CAA identities (config caaIdentities), canonical */
	size_t nidentities;
	bool wildcard;                 /* the identifier had "*.": issuewild first (RFC 8659 §4.3) */
	const char *account_url;       /* the plain account URL, never the -02 hash (RFC 8657 §3) */
	const char *method;            /* the validation method used, e.g. "dns-persist-01" */
};

struct caa_verdict {
	bool permitted;
	char detail[1024]; /* when refused: the owner name, the property and why; when permitted:
	                      which property allowed it (or that nothing restricts issuance) */
};

/* Decide over the relevant RRset found at owner (texts as from dns_caa; n may be 0: nothing
 * published anywhere permits). Always fills out. */
void caa_decide(const char *const *rrs, size_t n, const char *owner, const struct caa_request *req,
                struct caa_verdict *out);

#endif
