/* va_classic: what the http-01, dns-01, dns-account-01 and tls-alpn-01 validators
 * (server/va_http01.c, va_dns01.c, va_dns_account01.c, va_tlsalpn01.c) share, and their pure
 * checks, exposed for the unit tests. */
#ifndef COBBLE_VA_CLASSIC_H
#define COBBLE_VA_CLASSIC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/dns.h"
#include "server/problem.h"
#include "server/store.h"
#include "server/server.h"
#include "server/va_method.h"

/* http-01: the most body bytes read from one response. */
#define VA_HTTP_BODY_MAX (64 * 1024)
/* http-01: the most redirects followed (Boulder's limit). */
#define VA_HTTP_MAX_REDIRECTS 10

/* --- shared helpers (va_classic.c) ---------------------------------------------------------- */

/* Render up to max bytes of data for a problem detail: in double quotes, printable ASCII as is,
 * '"' and '\' escaped, \n \r \t, other bytes as \xNN; when len > max, "… (N bytes in all)"
 * follows. out is always NUL-terminated (outlen > 0). */
void va_escape(const void *data, size_t len, size_t max, char *out, size_t outlen);

/* RFC 8555 §8.4: SHA-256 of the key authorization (raw, 32 bytes) and its base64url (43
 * characters + NUL). Either output may be NULL. */
void va_keyauthz_digest(const char *key_authz, unsigned char raw[32], char b64[44]);

/* Lowercase hex of n bytes into out (at most (outlen-1)/2 bytes are written). */
void va_hex(const unsigned char *in, size_t n, char *out, size_t outlen);

/* true when s is an IPv4 or IPv6 address literal (no brackets). */
bool va_is_ip(const char *s);

/* The addresses of host: the literal itself for an IP, else A and AAAA through the worker's
 * resolver. Returns 0 with ans filled (naddrs > 0; the caller clears ans), or -1 with p set
 * (`dns` for a failed lookup or no address; serverInternal when cobble itself failed). */
int va_resolve(struct va_worker *w, const char *host, struct dns_answer *ans, struct problem *p);

/* Which addresses to try, in order: the first IPv6 address, then the first IPv4 one (Boulder's
 * rule: IPv6 first, IPv4 only when the IPv6 connection fails). Fills out (borrowed from ans)
 * and returns how many (1 or 2). */
size_t va_addr_order(const struct dns_answer *ans, const char *out[2]);

/* A validation-record entry {hostname, port, addressesResolved, addressUsed} (and url when
 * url is not NULL), as RFC 8555 §8 and Boulder write it; port is a string. New reference. */
struct json_t *va_record_entry(const char *url, const char *hostname, int port, const struct dns_answer *ans,
                               const char *used);

/* Seconds left until deadline (a util_now_mono() time), never below 0. */
double va_remaining(double deadline);

/* --- http-01 (va_http01.c) ------------------------------------------------------------------- */

/* Where a fetch goes. */
struct va_http_target {
	bool https;
	bool host_is_ip;
	char host[256];   /* lowercase name or IP literal without brackets */
	int port;         /* the port connected to */
	char path[2048];  /* path and query, starting with "/" */
};

/* The redirect rule (Boulder's, adapted to a test CA): only http and https; an http redirect may
 * name no port, port 80 or httpPort and is fetched from httpPort; an https redirect may name no
 * port, port 443 or tlsPort and is fetched from tlsPort. url is absolute. Returns 0 with t
 * filled, or -1 with a sentence in why. */
int va_http01_redirect_target(const char *url, int http_port, int tls_port, struct va_http_target *t,
                              char *why, size_t whylen);

/* RFC 8555 §8.3: the body, with trailing whitespace removed, equals key_authz. */
bool va_http01_body_matches(const char *body, size_t len, const char *key_authz);

/* "http://host:port/path" (IPv6 in brackets) into out. */
void va_http01_url(const struct va_http_target *t, char *out, size_t outlen);

/* --- dns-01 (va_dns01.c) --------------------------------------------------------------------- */

/* RFC 8555 §8.4: the RR's character-strings, joined, equal digest (base64url). */
bool va_dns01_rr_matches(const struct dns_txt_rr *rr, const char *digest);

/* dns-01's record check at owner name `name` (RFC 8555 §8.4), shared with dns-account-01: valid
 * when one TXT record there is base64url(SHA-256(job->key_authz)). Appends the lookup to records
 * (borrowed), sets res->ok or res->error (res->validation_record is the caller's), and returns
 * the lookup's outcome (DNS_SERVFAIL when cobble itself failed). */
struct json_t;
enum dns_rcode_class va_dns01_check(struct va_worker *w, const struct va_job *job, const char *name,
                                    struct json_t *records, struct va_result *res);

/* --- dns-account-01 (va_dns_account01.c) ----------------------------------------------------- */

#define VA_DNS_ACCOUNT01_LABEL_LEN 16

/* draft-ietf-acme-dns-account-label-03 §3.2: the account's label, base32(SHA-256(account URL)
 * [0:10]) in the RFC 4648 alphabet, lowercase, without padding and without the leading "_". */
void va_dns_account01_label(const char *account_url, char label[VA_DNS_ACCOUNT01_LABEL_LEN + 1]);

/* "_<label>._acme-challenge.<name>", the owner name of the TXT record (name without "*."; a
 * wildcard is validated at its base name, RFC 8555 §7.1.3). New string, the caller frees it. */
char *va_dns_account01_name(const char *account_url, const char *name);

/* --- tls-alpn-01 (va_tlsalpn01.c) ------------------------------------------------------------ */

/* RFC 8738 §6: the reverse-DNS name of an IP address ("1.0.0.127.in-addr.arpa", nibbles under
 * ip6.arpa for IPv6), the SNI of tls-alpn-01 for an ip identifier. Returns 0 or -1. */
int va_reverse_name(const char *ip, char *out, size_t outlen);

/* RFC 8737 §3 (RFC 8738 §6 for ip): the certificate has exactly one subjectAltName entry, equal
 * to the identifier, and one critical id-pe-acmeIdentifier extension whose value is a DER OCTET
 * STRING holding SHA-256(key_authz). Returns 0, or -1 with p set (incorrectResponse, or
 * malformed for an extension value that is not a DER OCTET STRING) naming what was seen.
 * cert is borrowed. */
struct x509_st;
int va_tlsalpn01_check_cert(struct x509_st *cert, const struct identifier *id, const char *key_authz,
                            struct problem *p);

#endif
