/* persist: the dns-persist-01 record parser and matcher (draft-ietf-acme-dns-persist -01/-02,
 * ../shared/spec/dns-persist-01.md sections 1-3). Pure functions over byte strings: no I/O.
 * The validator, `cobble check-record` and the unit tests all call persist_check. */
#ifndef COBBLE_PERSIST_H
#define COBBLE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum persist_draft { PERSIST_DRAFT_01, PERSIST_DRAFT_02 };

/* One TXT character-string as raw octets (a TAB is a TAB, never "\009"). */
struct persist_str {
	const unsigned char *data;
	size_t len;
};

/* One TXT RR: its character-strings, to be joined with no separator. */
struct persist_rr {
	const struct persist_str *strs;
	size_t nstrs;
};

struct persist_input {
	const char *identifier;     /* the ACME identifier, possibly "*.example.com" */
	const char *record_name;    /* where the records were found; NULL means
	                               "_validation-persist." + identifier without "*." */
	bool at_ancestor;           /* records come from an ancestor of F (dnsPersist.subdomains):
	                               only policy=wildcard records can pass */
	const char *account_url;    /* as the challenge shows it to the client */
	bool account_deactivated;   /* a deactivated account never matches */
	const char *const *issuers; /* the CA's issuer domain names C (canonical) */
	size_t nissuers;
	int64_t time;               /* validation time T, UNIX seconds */
	enum persist_draft draft;
	bool strict;                /* dnsPersist.strict (spec section 5) */
	/* draft -02 only */
	const char *const *thumbprints; /* account key thumbprints, current first */
	size_t nthumbprints;
	const char *hash_prefix;        /* accountHashPrefix, e.g. "https://ca.example/account-hash/" */
};

enum persist_status { PERSIST_VALID, PERSIST_INVALID };

/* The rule behind a verdict: ids of the house rules, numbered after the sections of
 * spec/dns-persist-01.md and explained under the same id in docs/dns-persist-01.md. */
#define PERSIST_RULE_LOOKUP "2.2"       /* no TXT record (or the lookup failed: dns) */
#define PERSIST_RULE_ISSUER "2.3"       /* no record names this CA's issuer domain names */
#define PERSIST_RULE_SYNTAX "2.4"       /* a record for this CA breaks the parameter grammar */
#define PERSIST_RULE_ACCOUNT "2.5a"     /* accounturi does not name this account */
#define PERSIST_RULE_WILDCARD "2.5b"    /* a wildcard identifier needs policy=wildcard */
#define PERSIST_RULE_UNTIL "2.5c"       /* persistUntil is before the validation time */
#define PERSIST_RULE_VALID "2.6"        /* some record for this CA passed every check */
#define PERSIST_RULE_HASHED "3-02"      /* draft 02: accounturi is not a well-formed hashed URI */
#define PERSIST_RULE_STATUS "3-status"  /* a deactivated account never matches */
#define PERSIST_RULE_ANCESTOR "5-subdomains" /* a record at an ancestor needs policy=wildcard */
#define PERSIST_RULE_STRICT "5-strict"  /* dnsPersist.strict: unknown tags' spelling, duplicates */

/* A one-line title for a PERSIST_RULE_* id ("" for an unknown id). */
const char *persist_rule_title(const char *rule);

struct persist_result {
	enum persist_status status;
	const char *type;         /* NULL when valid, else "malformed" or "unauthorized" (static) */
	char *detail;             /* always set: names the queried name and each matching record's
	                             verdict; caller frees via persist_result_clear */
	int matched_rr;           /* index of the record that validated, or -1 */
	bool has_persist_until;   /* of the validating record */
	uint64_t persist_until;   /* UINT64_MAX for values beyond 64 bits ("far future") */
	size_t nmatching;         /* records for this CA's issuer names */
	const char *rule;         /* PERSIST_RULE_* that decided the verdict (static) */
	int matched_key;          /* draft 02, valid: the key whose hash matched (0 current, then
	                             earlier keys newest first); -1 otherwise */
};

/* Apply spec section 2 steps 3-6 (and section 3) to the records. Returns 0 and fills *out
 * (free with persist_result_clear); -1 only on allocation failure. An empty record set is
 * `unauthorized` ("no TXT record at <name>"). */
int persist_check(const struct persist_rr *rrs, size_t nrrs, const struct persist_input *in,
                  struct persist_result *out);
void persist_result_clear(struct persist_result *r);

/* Normalise an issuer domain name (spec section 2 step 3): lowercase, IDNA 2008 + UTS-46 to
 * A-label (libidn2), one trailing dot stripped; in strict mode the input must already be
 * canonical. Returns a new string or NULL when it is empty or fails. */
char *persist_normalize_issuer(const char *name, size_t len, bool strict);

/* Draft -02 hashed account URI (spec section 3):
 * prefix + "sha-256/" + b64url(SHA-256(len(d) || d || tp || url)) with len one octet.
 * d is the FQDN (lowercase A-label, no dot) or "*". Returns a new string or NULL. */
char *persist_hash_uri(const char *prefix, const char *d, const char *thumbprint, const char *url);

/* The RDATA a user should publish for this account (for check-record and `cobble record`):
 * "<issuer>; accounturi=<url or hashed uri>[; policy=wildcard][; persistUntil=N]".
 * persist_until 0 means none. Returns a new string. */
char *persist_record_text(const char *issuer, const char *accounturi, bool wildcard,
                          uint64_t persist_until);

/* RDATA as RFC 1035 §5.1 zone-file character-strings: quoted, '"' and '\\' escaped, bytes
 * outside printable ASCII as \DDD, split into strings of at most 255 octets. New string. */
char *persist_zone_txt(const unsigned char *s, size_t n);

#endif
