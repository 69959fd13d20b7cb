/* va_method: the contract between the VA and its methods (server/va_<method>.c): the job a
 * method validates, the worker state it may use and the result it fills. The challenge-type
 * table (server/challenge.c) points at these functions. */
#ifndef COBBLE_VA_METHOD_H
#define COBBLE_VA_METHOD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/problem.h"
#include "server/store.h"

/* A whole validation (every DNS query, address, redirect and handshake) ends within this many
 * seconds of its start: one monotonic deadline, set per job in struct va_worker. */
#define VA_DEADLINE_SECONDS 10.0
/* A job still running this long after its deadline (a step that ignored it) is taken over by the
 * VA's watchdog (server/va.c): failed with a problem naming the step, its worker replaced. */
#define VA_WATCHDOG_GRACE_SECONDS 2.0

struct va_job {
	char authz_id[STORE_ID_LEN + 1];
	char chal_id[STORE_ID_LEN + 1];
	char type[24];
	struct identifier ident;     /* without "*." */
	bool wildcard;
	char token[44];
	char key_authz[128];         /* token "." thumbprint (RFC 8555 §8.1) */
	char account_id[STORE_ID_LEN + 1];
	char account_url[512];       /* as the client sees it */
	bool account_deactivated;
	char thumbprints[STORE_MAX_KEYS][44];
	size_t nthumbprints;
	char hash_prefix[340];       /* draft -02 accountHashPrefix as the client sees it */
	/* dnsPersist.jit (draft §4.4): checked at newOrder; a match makes the authz valid, anything
	 * else leaves it pending without an error. done(done_ctx) runs when the check is over. */
	bool jit;
	void (*done)(void *ctx);
	void *done_ctx;
};

/* What a method reports back. */
struct va_result {
	bool ok;
	struct problem error;        /* when !ok */
	char *validation_record;     /* JSON array text (malloc'd) or NULL */
	uint32_t record_ttl;
	bool has_persist_until;
	uint64_t persist_until;
};

struct dns;
struct server;

/* The step a job is in, for the watchdog's problem detail should a step ignore the deadline. */
enum va_step {
	VA_STEP_START,   /* before any method step (or a method that marks none) */
	VA_STEP_DNS,     /* a DNS lookup of the method's own records or of a host's addresses */
	VA_STEP_CONNECT, /* connecting to the client's server */
	VA_STEP_TLS,     /* the TLS handshake (tls-alpn-01) */
	VA_STEP_HTTP,    /* the HTTP fetch (http-01), redirects included */
	VA_STEP_CAA,     /* the CAA climb (spec §5), after the method's own check passed */
};

/* Per-worker state a method may use. */
struct va_worker {
	struct server *srv;
	struct dns *dns;             /* this worker's own resolver context, or NULL */
	const void *psl;             /* libpsl context (read-only, shared), or NULL */
	double deadline;             /* the running job's deadline, a util_now_mono() time; its DNS
	                                queries are bound to it too (dns_set_deadline) */
	_Atomic int step;            /* enum va_step: written by the job, read by the watchdog */
};

/* Mark the step w's job enters (each method at each step it starts). */
static inline void va_step(struct va_worker *w, enum va_step s)
{
	atomic_store(&w->step, (int)s);
}

/* Methods (server/va_<method>.c). Each fills res and never blocks past w->deadline. */
void va_dns_persist(struct va_worker *w, const struct va_job *job, struct va_result *res);
void va_http01(struct va_worker *w, const struct va_job *job, struct va_result *res);    /* RFC 8555 §8.3 */
void va_dns01(struct va_worker *w, const struct va_job *job, struct va_result *res);     /* RFC 8555 §8.4 */
/* draft-ietf-acme-dns-account-label-03 */
void va_dns_account01(struct va_worker *w, const struct va_job *job, struct va_result *res);
void va_tlsalpn01(struct va_worker *w, const struct va_job *job, struct va_result *res); /* RFC 8737 */

/* CAA (server/va_caa.c; spec §5), after a method's own check passed (res->ok): climbs from the
 * identifier and turns res into a `caa` refusal or a `dns` failure; adds the CAA answer to
 * res->validation_record either way. */
void va_caa(struct va_worker *w, const struct va_job *job, struct va_result *res);
struct dns_answer;
/* The climb alone: fills *ans with the relevant RRset (ans->ncaa 0 when there is none anywhere)
 * and *owner with where it stands (borrowing from fqdn). Returns 0, or -1 with p filled (dns). */
int va_caa_lookup(struct dns *dns, const char *fqdn, struct dns_answer *ans, const char **owner,
                  struct problem *p);
struct issuer_caa_check;
/* The issuer's CAA recheck at issuance (an issuer_caa_fn, BR §3.2.2.8; ctx is the struct server):
 * the climb with a resolver of its own (the validators' DNS settings and deadline), then the same
 * decision as va_caa. 0 when permitted (what permitted it in said), else -1 with p: caa, dns or
 * serverInternal. */
int va_caa_recheck(void *ctx, const struct issuer_caa_check *c, char *said, size_t saidlen, struct problem *p);

#endif
