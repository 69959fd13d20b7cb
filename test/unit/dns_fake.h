/* dns_fake: a zone written as a table, answered through the DNS seam (dns_new_backend in
 * common/dns.h), so the validators' DNS can be replaced in a unit test. Linked into every unit
 * test binary. */
#ifndef COBBLE_TEST_DNS_FAKE_H
#define COBBLE_TEST_DNS_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "common/dns.h"

#define DNS_FAKE_MAX_STRS 4
#define DNS_FAKE_MAX_ASKED 32

/* One row: a record, or (result other than DNS_OK) the answer to every question of that type at
 * that name. A name that exists (has rows, or rows below it) without rows of the asked type
 * answers NODATA; one that does not is answered from *.<parent> when that exists (RFC 4592),
 * else NXDOMAIN. */
struct dns_fake_rr {
	const char *name;                       /* as asked: no trailing dot */
	uint16_t qtype;                         /* DNS_QTYPE_* */
	enum dns_rcode_class result;            /* DNS_OK for a record */
	uint32_t ttl;
	const char *data[DNS_FAKE_MAX_STRS];    /* TXT: its character-strings; A/AAAA: the address;
	                                           CAA: "flags tag value" */
};

/* A row answering every question of type qtype at name with result (DNS_SERVFAIL...). */
#define DNS_FAKE_FAIL(owner, type, res) {.name = (owner), .qtype = (type), .result = (res)}

struct dns_fake {
	const struct dns_fake_rr *rrs;          /* borrowed; ends at a row with name NULL */
	int fail_internal;                      /* every lookup returns -1 (cobble's own failure) */
	char asked[DNS_FAKE_MAX_ASKED][300];    /* the questions, in order: "TXT name" */
	size_t nasked;
	/* NULL, or run at each question ("TXT name") before it is answered: e.g. one that blocks, as
	 * a resolver library that ignores its deadline would */
	void (*on_question)(void *ctx, const char *question);
	void *ctx;
};

/* A struct dns answering from f (borrowed; outlives it). The caller frees it with dns_free. */
struct dns *dns_fake_new(struct dns_fake *f);

/* The resolver name the fake reports in ans->resolver. */
#define DNS_FAKE_RESOLVER "127.0.0.1:53"

#endif
