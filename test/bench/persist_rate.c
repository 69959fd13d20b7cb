/* persist_rate: dns-persist-01 validations per second, the validator alone — the TXT lookup of
 * _validation-persist.NAME through common/dns (getdns stub mode, one context per thread kept for
 * every lookup, as each VA worker keeps its own) and persist_check on the answer, as va_persist
 * does. No ACME around it, so the figure is the validator's ceiling.
 *
 *   persist-rate --resolver HOST:PORT --identifier NAME --account-url URL [--issuer NAME]
 *                [-t THREADS] [-d SECONDS]
 * Prints one JSON line: validations, seconds, perSecond, valid (how many were valid), errors. */
#include "common/dns.h"
#include "common/persist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
	const char *resolver, *identifier, *account_url, *issuer;
	int threads;
	double seconds;
} O = {.issuer = "cobble.test", .threads = 2, .seconds = 3};

static atomic_ulong n_done, n_valid, n_err;
static double deadline;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One validation: lookup and matcher. 1 valid, 0 invalid, -1 lookup failed. */
static int validate(struct dns *d, const char *name)
{
	struct dns_answer ans;
	memset(&ans, 0, sizeof ans);
	int rc = -1;
	if (dns_txt(d, name, &ans) != 0 || (ans.result != DNS_OK && ans.result != DNS_NODATA)) {
		static atomic_int told;
		if (atomic_fetch_add(&told, 1) == 0)
			fprintf(stderr, "persist-rate: TXT %s: %s\n", name, ans.detail[0] ? ans.detail : dns_result_name(ans.result));
		dns_answer_clear(&ans);
		return -1;
	}
	struct persist_rr rrs[16];
	struct persist_str strs[64];
	size_t nrr = 0, at = 0;
	for (size_t i = 0; i < ans.ntxt && nrr < 16; i++) {
		rrs[nrr].strs = strs + at;
		rrs[nrr].nstrs = 0;
		for (size_t k = 0; k < ans.txt[i].nstrs && at < 64; k++, at++, rrs[nrr].nstrs++) {
			strs[at].data = ans.txt[i].strs[k].data;
			strs[at].len = ans.txt[i].strs[k].len;
		}
		nrr++;
	}
	const char *issuers[] = {O.issuer};
	struct persist_input in = {.identifier = O.identifier, .account_url = O.account_url, .issuers = issuers,
	                           .nissuers = 1, .time = (int64_t)time(NULL), .draft = PERSIST_DRAFT_01};
	struct persist_result r;
	if (persist_check(rrs, nrr, &in, &r) == 0) {
		rc = r.status == PERSIST_VALID;
		persist_result_clear(&r);
	}
	dns_answer_clear(&ans);
	return rc;
}

static void *worker(void *arg)
{
	const char *name = arg;
	char err[256] = "";
	const char *res[] = {O.resolver};
	struct dns_options opt = {.resolvers = res, .nresolvers = 1, .timeout_ms = 2000};
	struct dns *d = dns_new(&opt, err, sizeof err);
	if (!d) {
		fprintf(stderr, "persist-rate: %s\n", err);
		atomic_fetch_add(&n_err, 1);
		return NULL;
	}
	while (now() < deadline) {
		int v = validate(d, name);
		atomic_fetch_add(&n_done, 1);
		if (v > 0)
			atomic_fetch_add(&n_valid, 1);
		else if (v < 0)
			atomic_fetch_add(&n_err, 1);
	}
	dns_free(d);
	return NULL;
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (strcmp(a, "--resolver") == 0) O.resolver = v;
		else if (strcmp(a, "--identifier") == 0) O.identifier = v;
		else if (strcmp(a, "--account-url") == 0) O.account_url = v;
		else if (strcmp(a, "--issuer") == 0) O.issuer = v;
		else if (strcmp(a, "-t") == 0) O.threads = atoi(v);
		else if (strcmp(a, "-d") == 0) O.seconds = atof(v);
		else { fprintf(stderr, "persist-rate: unknown option %s\n", a); return 2; }
	}
	if (!O.resolver || !O.identifier || !O.account_url || O.threads < 1 || O.threads > 64) {
		fprintf(stderr, "usage: persist-rate --resolver HOST:PORT --identifier NAME --account-url URL "
		                "[--issuer NAME] [-t THREADS] [-d SECONDS]\n");
		return 2;
	}
	char name[300];
	snprintf(name, sizeof name, "_validation-persist.%s", O.identifier);
	pthread_t th[64];
	double t0 = now();
	deadline = t0 + O.seconds;
	for (int i = 0; i < O.threads; i++)
		pthread_create(&th[i], NULL, worker, name);
	for (int i = 0; i < O.threads; i++)
		pthread_join(th[i], NULL);
	double secs = now() - t0;
	unsigned long n = atomic_load(&n_done);
	printf("{\"threads\":%d,\"validations\":%lu,\"seconds\":%.3f,\"perSecond\":%.1f,\"valid\":%lu,\"errors\":%lu}\n",
	       O.threads, n, secs, (double)n / secs, atomic_load(&n_valid), atomic_load(&n_err));
	return atomic_load(&n_err) ? 1 : 0;
}
