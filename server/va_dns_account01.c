/* va_dns_account01: the dns-account-01 validator (draft-ietf-acme-dns-account-label-03): dns-01's
 * record check (va_dns01_check) at "_<label>._acme-challenge.<name>", where the label is derived
 * from the account URL, so that several accounts can validate one name at once. */
#include "common/util.h"
#include "server/va_classic.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a failure detail adds, after dns-01's own words, so that the label can be checked. */
#define WHY_LABEL                                                                                          \
	"dns-account-01 looks at the account's own label: \"_%s\" is \"_\" followed by the lowercase base32 of " \
	"the first 10 bytes of SHA-256 of the account URL \"%s\" (the \"kid\" of your requests), per "          \
	"draft-ietf-acme-dns-account-label-03 §3.2"

void va_dns_account01_label(const char *account_url, char label[VA_DNS_ACCOUNT01_LABEL_LEN + 1])
{
	/* RFC 4648 §6 alphabet; -03 §3.2: base32 is case-insensitive here, and DNS compares labels
	 * without case, so cobble writes lowercase as Boulder does. 10 bytes = 80 bits = 16 symbols
	 * exactly: no padding (-03 §5). */
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)account_url, strlen(account_url), md);
	unsigned bits = 0, nbits = 0;
	size_t o = 0;
	for (size_t i = 0; i < 10; i++) {
		bits = (bits << 8) | md[i];
		nbits += 8;
		while (nbits >= 5) {
			nbits -= 5;
			label[o++] = alphabet[(bits >> nbits) & 31];
		}
	}
	label[o] = '\0';
}

char *va_dns_account01_name(const char *account_url, const char *name)
{
	char label[VA_DNS_ACCOUNT01_LABEL_LEN + 1];
	va_dns_account01_label(account_url, label);
	return xasprintf("_%s._acme-challenge.%s", label, name);
}

/* Append " " + the sentence fmt makes to p's detail, whole: when both do not fit, dns-01's part
 * (whose tail lists the records found) is cut, never the explanation. */
static void detail_append(struct problem *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail_append(struct problem *p, const char *fmt, ...)
{
	char add[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(add, sizeof add, fmt, ap);
	va_end(ap);
	size_t have = strlen(p->detail), need = strlen(add) + 2;
	if (have + need >= sizeof p->detail) {
		static const char cut[] = "…";
		have = sizeof p->detail - need - sizeof cut;
		memcpy(p->detail + have, cut, sizeof cut);
		have += sizeof cut - 1;
	}
	bool stop = have && p->detail[have - 1] != '.' && p->detail[have - 1] != ')';
	snprintf(p->detail + have, sizeof p->detail - have, "%s %s", stop ? "." : "", add);
}

/* When the label has nothing, look at dns-01's plain "_acme-challenge.<name>": a user who put the
 * value there by habit is told so. Adds the lookup to records and a sentence to p. */
static void check_plain_name(struct va_worker *w, const struct va_job *job, const char *name, const char *digest,
                             json_t *records, struct problem *p)
{
	struct dns_answer ans = {0};
	char *plain = xasprintf("_acme-challenge.%s", job->ident.value);
	va_step(w, VA_STEP_DNS);
	if (dns_txt(w->dns, plain, &ans) < 0)
		goto out;
	json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s}", "hostname", job->ident.value,
	                                         "name", plain, "type", "TXT", "resolverAddrs", ans.resolver,
	                                         "result", dns_result_name(ans.result), "note",
	                                         "dns-01's name, looked at only to explain the failure"));
	if (ans.result != DNS_OK)
		goto out;
	for (size_t i = 0; i < ans.ntxt; i++) {
		if (va_dns01_rr_matches(&ans.txt[i], digest)) {
			detail_append(p,
			              "The expected value IS published at %s, which is dns-01's name; dns-account-01 "
			              "never looks there: publish it at %s instead.",
			              plain, name);
			goto out;
		}
	}
	detail_append(p, "(%s, dns-01's name, has %zu TXT record%s, none with the expected value either.)", plain,
	              ans.ntxt, ans.ntxt == 1 ? "" : "s");
out:
	dns_answer_clear(&ans);
	free(plain);
}

void va_dns_account01(struct va_worker *w, const struct va_job *job, struct va_result *res)
{
	json_t *records = json_array();
	char label[VA_DNS_ACCOUNT01_LABEL_LEN + 1], digest[44];
	/* -03 §3.3 step 4: the name comes from the KID of the challenge POST, which the WFE checked is
	 * exactly this account's URL (job->account_url) */
	va_dns_account01_label(job->account_url, label);
	char *name = va_dns_account01_name(job->account_url, job->ident.value);

	va_keyauthz_digest(job->key_authz, NULL, digest);
	enum dns_rcode_class got = va_dns01_check(w, job, name, records, res);
	if (res->ok || strcmp(res->error.type, PROB_SERVER_INTERNAL) == 0)
		goto out;
	/* -03 §3.4: the problem document names the account URL the name was built from */
	detail_append(&res->error, WHY_LABEL ".", label, job->account_url);
	if (got == DNS_NODATA || got == DNS_NXDOMAIN)
		check_plain_name(w, job, name, digest, records, &res->error);
out:
	res->validation_record = json_dumps(records, JSON_COMPACT);
	json_decref(records);
	free(name);
}
