/* dns: a small interface over getdns in stub mode only (never its own recursion, never a
 * trust-anchor download). TXT with raw octets per character-string and the TTL, A/AAAA, CAA,
 * optional DNSSEC status against a trust anchor read from a file, UDP with TCP fallback.
 * One struct dns per thread (each VA worker has its own); not thread-safe itself. */
#ifndef COBBLE_DNS_H
#define COBBLE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_dnssec { DNS_DNSSEC_OFF, DNS_DNSSEC_VALIDATE, DNS_DNSSEC_REQUIRE };

struct dns_options {
	const char *const *resolvers; /* "HOST:PORT" or "HOST" (port 53); IPv6 as "[::1]:53";
	                                 NULL/0 means the nameservers of /etc/resolv.conf */
	size_t nresolvers;
	enum dns_dnssec dnssec;
	const char *trust_anchor_file; /* DS or DNSKEY RRs in zone-file format; required unless OFF */
	unsigned timeout_ms;           /* per query, default 5000 when 0 */
};

enum dns_rcode_class {
	DNS_OK,        /* NOERROR with answers */
	DNS_NODATA,    /* NOERROR, no records of that type */
	DNS_NXDOMAIN,
	DNS_SERVFAIL,  /* SERVFAIL, REFUSED, other error rcodes */
	DNS_TIMEOUT,   /* no answer from any resolver */
	DNS_BOGUS,     /* DNSSEC validation failed (validate/require) */
	DNS_INSECURE,  /* answer unsigned while dnssec=require */
};

struct dns_txt_string {
	unsigned char *data; /* raw octets, NUL-terminated for convenience */
	size_t len;
};

struct dns_txt_rr {
	struct dns_txt_string *strs;
	size_t nstrs;
	uint32_t ttl;
};

struct dns_answer {
	enum dns_rcode_class result;
	char detail[256];       /* a sentence for problem details, e.g. "SERVFAIL from 127.0.0.1:5353" */
	char resolver[64];      /* which resolver answered (for validationRecord) */
	bool secure;            /* DNSSEC status was "secure" */
	bool refused;           /* the rcode was REFUSED (result DNS_SERVFAIL): CAA climbing reads it
	                           as "no CAA here", a server that does not serve that zone */
	struct dns_txt_rr *txt; /* for dns_txt */
	size_t ntxt;
	char **addrs;           /* for dns_addrs: text addresses, A first then AAAA */
	size_t naddrs;
	char **caa;             /* for dns_caa: "flags tag value" per RR */
	size_t ncaa;
	uint32_t min_ttl;       /* smallest TTL among the answer RRs */
};

struct dns;

/* Returns NULL with a message in err on failure (bad resolver syntax, unreadable anchor file). */
struct dns *dns_new(const struct dns_options *opt, char *err, size_t errlen);
void dns_free(struct dns *d); /* NULL is a no-op */

/* Each fills *ans (free with dns_answer_clear) and returns 0; -1 only on internal failure.
 * CNAMEs are followed by the resolver; the records returned are the final owner's. */
int dns_txt(struct dns *d, const char *name, struct dns_answer *ans);
int dns_addrs(struct dns *d, const char *name, struct dns_answer *ans);
int dns_caa(struct dns *d, const char *name, struct dns_answer *ans);
void dns_answer_clear(struct dns_answer *ans);

/* Every later query (each CNAME hop, each resolver tried) ends by deadline, a util_now_mono()
 * time, whatever timeout_ms says; a query cut short is DNS_TIMEOUT with a detail saying the
 * deadline ran out. 0 clears it. A validation sets its own deadline here before it starts. */
void dns_set_deadline(struct dns *d, double deadline);

/* "NOERROR"... a short name of the class for logs. */
const char *dns_result_name(enum dns_rcode_class c);

/* --- the seam for unit tests (test/unit/dns_fake.c) ---------------------------------------------
 * A struct dns whose questions go to lookup() instead of getdns. lookup answers one question
 * (qtype DNS_QTYPE_TXT, _A, _AAAA or _CAA; ans is zeroed first) as the real lookup of that one
 * type would, with malloc'd records that dns_answer_clear frees; it returns 0, or -1 for an
 * internal failure. dns_txt, dns_caa and dns_addrs (which still merges A and AAAA itself) all
 * pass through it. The caller owns the struct dns (dns_free); b is copied, b->arg is borrowed. */
enum { DNS_QTYPE_A = 1, DNS_QTYPE_TXT = 16, DNS_QTYPE_AAAA = 28, DNS_QTYPE_CAA = 257 };
struct dns_backend {
	int (*lookup)(void *arg, const char *name, uint16_t qtype, struct dns_answer *ans);
	void *arg;
};
struct dns *dns_new_backend(const struct dns_backend *b);

#endif
