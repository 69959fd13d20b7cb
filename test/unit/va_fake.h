/* va_fake: a validation worker for unit tests: the default configuration, a DNS answered from a
 * dns_fake table, the public suffix list, and a job to validate. Linked into every unit test. */
#ifndef COBBLE_TEST_VA_FAKE_H
#define COBBLE_TEST_VA_FAKE_H

#include "server/config.h"
#include "server/server.h"
#include "server/va.h"
#include "test/unit/dns_fake.h"

struct va_fake {
	struct config cfg;    /* config_defaults; a test changes what it needs before validating */
	struct server srv;
	struct va_worker w;   /* w.dns answers from zone */
	struct dns_fake zone;
	struct va_job job;
	struct va_result res;
	struct store *store;  /* srv.store: holds the job's account, read at every attempt (§3) */
};

/* Fill f for one validation of identifier (dns; a leading "*." makes it a wildcard job) by
 * account 1 at ACCOUNT_URL, answered from rrs (borrowed, ends at a row with name NULL). */
void va_fake_init(struct va_fake *f, const char *identifier, const char *type, const struct dns_fake_rr *rrs);
/* Put the job's account in the store as the server holds it (its thumbprints, current first, and
 * its status), after a test changed f->job's keys or account_deactivated; sets job.account_id. */
void va_fake_account(struct va_fake *f);
/* What a validation should have come to. */
#define VA_FAKE_MAX_ASKED 6
struct va_fake_expect {
	const char *type;                     /* NULL: valid, else the problem type */
	int status;
	const char *detail_has;               /* NULL, or words the detail contains */
	const char *asked[VA_FAKE_MAX_ASKED]; /* every DNS question, in order ("TXT name") */
	uint32_t ttl;                         /* when valid: the record TTL reported */
};
/* Print the verdict under the rule's name, then assert it is want (cmocka). */
void va_fake_assert(const struct va_fake *f, const char *rule, const struct va_fake_expect *want);

/* Free what va_fake_init and the validation made. */
void va_fake_clear(struct va_fake *f);

#define VA_FAKE_ACCOUNT_URL "https://ca.example/acct/123"
/* The -02 test vector's thumbprint (../shared/spec/dns-persist-01.md §3). */
#define VA_FAKE_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
#define VA_FAKE_HASH_PREFIX "https://ca.example/account-hash/"

#endif
