/* dns_internal: struct dns and what common/dns.c, dns_dnssec.c and dns_upstream.c share; not for
 * other modules. */
#ifndef COBBLE_DNS_INTERNAL_H
#define COBBLE_DNS_INTERNAL_H

#include "common/dns.h"

#include <getdns/getdns.h>
#include <stdint.h>

/* One resolver address. */
struct dns_upstream {
	int family;
	unsigned char addr[16];
	uint16_t port;
	char text[64]; /* "127.0.0.1:5353" or "[::1]:53" */
};

struct dns {
	getdns_context *ctx;
	getdns_dict *ext;
	struct dns_upstream *ups;
	size_t nups;
	enum dns_dnssec dnssec;
	unsigned timeout_ms;
	double deadline;       /* util_now_mono() time no query may outlast; 0: none (dns_set_deadline) */
	char anchor_file[200];
	getdns_list *anchors;  /* the DS/DNSKEY trust anchors (NULL when dnssec is off) */
	char **anchor_names;   /* their distinct owner names, lowercase, no trailing dot */
	size_t nanchor_names;
	struct dns_backend backend; /* lookup set: no getdns at all (dns_new_backend, unit tests) */
};

/* dns_upstream.c. Parse "HOST:PORT", "HOST", "[V6]:PORT", "[V6]" or a bare IPv6 address into u
 * (HOST must be an address literal: resolving a resolver's name would itself need DNS); append
 * the nameserver lines of /etc/resolv.conf to d->ups; give d->ups to d's getdns context. Each
 * returns 0, or -1 with a sentence in err. */
int dns_upstream_parse(const char *s, struct dns_upstream *u, char *err, size_t errlen);
int dns_upstream_resolv_conf(struct dns *d, char *err, size_t errlen);
int dns_upstream_apply(struct dns *d, char *err, size_t errlen);

/* Load opt's trust anchor file into d's context (an empty list when dnssec is off); -1 with err. */
int dns_dnssec_set_trust_anchors(struct dns *d, const struct dns_options *opt, char *err,
                                 size_t errlen);

/* Validate a non-secure reply once more, offline, against d's anchors; returns the new status. */
uint32_t dns_dnssec_validate_again(struct dns *d, const char *qname, getdns_dict *resp,
                                   getdns_dict *reply, uint32_t status);

/* One reply given as raw wire bytes, judged by the very code a lookup's replies go through
 * (question check, rcode, CNAME chain, record parsing): for the DNS fuzzer and unit tests.
 * type is DNS_QTYPE_TXT, _A, _AAAA or _CAA; d's dnssec must be off. Fills ans (dns_answer_clear)
 * and returns 0, or -1 on internal failure. */
int dns_judge_wire(struct dns *d, const char *name, uint16_t type, const uint8_t *wire, size_t len,
                   struct dns_answer *ans);

#endif
