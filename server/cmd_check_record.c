/* cmd_check_record: `cobble check-record`, the dns-persist-01 matcher (common/persist) as a
 * command: conformance vectors as JSON Lines, or one live lookup explained to a person. */
#include "server/cmd.h"
#include "common/caa.h"
#include "common/dns.h"
#include "common/persist.h"
#include "common/persist_vector.h"
#include "common/util.h"
#include "server/va_method.h"

#include <getopt.h>
#include <jansson.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_ISSUER "cobble.test" /* the CA's default dnsPersist.issuerDomainNames */
#define MAX_LIST 64
#define RULE_DOC "docs/dns-persist-01.md" /* where each PERSIST_RULE_* is explained */

static void usage(FILE *f)
{
	fputs("usage: cobble check-record --vectors FILE|-\n"
	      "       cobble check-record --config FILE [-dnsserver HOST:PORT] --identifier NAME\n"
	      "              --account-url URL [--thumbprint TP]... [--json]   (as the server would)\n"
	      "       cobble check-record --identifier NAME --account-url URL [--issuer NAME]...\n"
	      "              [--resolver HOST:PORT]... [--draft 01|02] [--thumbprint TP]...\n"
	      "              [--hash-prefix URL] [--strict] [--time UNIX] [--json]\n"
	      "Checks the dns-persist-01 TXT records at _validation-persist.NAME as cobble's validator\n"
	      "would (docs/dns-persist-01.md). Exit status: 0 valid, 1 invalid, 2 usage error.\n"
	      "--vectors reads JSON Lines (id, identifier, account_url, issuers, time, draft, strict,\n"
	      "records, thumbprints, hash_prefix; see test/vectors/README.md) and prints one verdict\n"
	      "per line. Every verdict names its rule, explained in docs/dns-persist-01.md.\n",
	      f);
}

int cmd_usage_error(void (*print_usage)(FILE *), const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cobble check-record: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr);
	return 2;
}
#define usage_error(...) cmd_usage_error(usage, __VA_ARGS__)

/* --- vectors mode --------------------------------------------------------------------- */

static int run_vectors(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cobble check-record: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	int rc = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	for (unsigned long lineno = 1; (n = getline(&line, &cap, f)) >= 0; lineno++) {
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue; /* blank lines separate nothing in JSON Lines; skip them */
		json_error_t jerr;
		json_t *o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
		struct persist_vector v = {0};
		const char *why = o ? persist_vector_parse(o, &v) : jerr.text;
		if (why) {
			fprintf(stderr, "cobble check-record: %s line %lu: %s\n", strcmp(path, "-") ? path : "stdin",
			        lineno, why);
			usage(stderr);
			persist_vector_clear(&v);
			json_decref(o);
			rc = 2;
			break;
		}
		struct persist_result r;
		if (persist_check(v.rrs, v.nrrs, &v.in, &r) != 0) {
			fprintf(stderr, "cobble check-record: line %lu: out of memory\n", lineno);
			persist_vector_clear(&v);
			json_decref(o);
			rc = 1;
			break;
		}
		json_t *id = json_object_get(o, "id");
		json_t *out = json_pack("{s:O,s:s,s:s?,s:s,s:s}", "id", id ? id : json_null(), "status",
		                        r.status == PERSIST_VALID ? "valid" : "invalid", "type", r.type, "detail",
		                        r.detail, "rule", r.rule);
		char *s = out ? json_dumps(out, JSON_COMPACT) : NULL;
		if (s) {
			puts(s);
			fflush(stdout);
		} else {
			fprintf(stderr, "cobble check-record: line %lu: cannot encode the verdict as JSON\n", lineno);
			rc = 1;
		}
		free(s);
		json_decref(out);
		persist_result_clear(&r);
		persist_vector_clear(&v);
		json_decref(o);
		if (rc)
			break;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* --- live mode ------------------------------------------------------------------------ */

struct live {
	const char *identifier, *account_url, *hash_prefix;
	const char *issuers[MAX_LIST], *resolvers[MAX_LIST], *tps[MAX_LIST];
	size_t nissuers, nresolvers, ntps;
	enum persist_draft draft;
	bool strict, json;
	int64_t time;
};

static int live_parse_time(const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || !end || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static const char *explain(bool valid, const char *type, enum dns_rcode_class dns)
{
	if (valid)
		return "cobble would mark the dns-persist-01 challenge valid.";
	if (strcmp(type, "dns") == 0 && dns == DNS_NXDOMAIN)
		return "The name does not exist, so the challenge fails with a dns error: publish the record below.";
	if (strcmp(type, "dns") == 0)
		return "The lookup failed, so the challenge fails with a dns error: check that the zone is served "
		       "and the resolver can reach it.";
	if (strcmp(type, "malformed") == 0)
		return "A record for this CA is malformed, so the challenge fails with malformed: fix it as the "
		       "detail says.";
	return "No record authorizes this account, so the challenge fails with unauthorized.";
}

/* The CAA climb and decision for this CA's issuer names (the default caaIdentities) and the
 * dns-persist-01 method; a lookup failure is reported as forbidding, as the server would. */
static void caa_check(struct dns *d, const char *fqdn, bool wildcard, const char *const *ids, size_t nids,
                      const char *account_url, struct caa_verdict *v)
{
	struct dns_answer a = {0};
	struct problem p;
	const char *owner = fqdn;
	if (va_caa_lookup(d, fqdn, &a, &owner, &p) < 0) {
		v->permitted = false;
		snprintf(v->detail, sizeof v->detail, "%.1000s", p.detail);
	} else {
		struct caa_request req = {ids, nids, wildcard, account_url, "dns-persist-01"};
		caa_decide((const char *const *)a.caa, a.result == DNS_OK ? a.ncaa : 0, owner, &req, v);
	}
	dns_answer_clear(&a);
}

static int run_live(struct live *L)
{
	int rc = 1;
	char err[256] = "";
	char *fqdn = NULL, *ident = NULL, *name = NULL, *acct = NULL, *acct_any = NULL, *rdata = NULL;
	char *issuers[MAX_LIST] = {0};
	struct persist_str *strs = NULL;
	struct persist_rr *rrs = NULL;
	struct persist_result r = {0};
	bool have_result = false;
	struct dns *d = NULL;
	struct dns_answer ans;
	memset(&ans, 0, sizeof ans);
	json_t *jrecs = json_array();

	bool wildcard = util_has_prefix(L->identifier, "*.");
	const char *f = wildcard ? L->identifier + 2 : L->identifier;
	fqdn = persist_normalize_issuer(f, strlen(f), false);
	if (!fqdn) {
		rc = usage_error("--identifier %s is not a domain name", L->identifier);
		goto out;
	}
	for (size_t i = 0; i < L->nissuers; i++) {
		issuers[i] = persist_normalize_issuer(L->issuers[i], strlen(L->issuers[i]), false);
		if (!issuers[i]) {
			rc = usage_error("--issuer %s is not a domain name", L->issuers[i]);
			goto out;
		}
	}
	ident = xasprintf("%s%s", wildcard ? "*." : "", fqdn);
	name = xasprintf("_validation-persist.%s", fqdn);

	struct dns_options opt = {.resolvers = L->resolvers, .nresolvers = L->nresolvers};
	d = dns_new(&opt, err, sizeof err);
	if (!d) {
		rc = usage_error("%s", err[0] ? err : "cannot set up the DNS resolver");
		goto out;
	}
	if (dns_txt(d, name, &ans) != 0) {
		fprintf(stderr, "cobble check-record: TXT lookup of %s failed (internal error)\n", name);
		goto out;
	}
	const char *type;
	char *detail = NULL;
	if (ans.result == DNS_OK || ans.result == DNS_NODATA) {
		size_t total = 0;
		for (size_t i = 0; i < ans.ntxt; i++)
			total += ans.txt[i].nstrs;
		rrs = xcalloc(ans.ntxt, sizeof *rrs);
		strs = xcalloc(total, sizeof *strs);
		for (size_t i = 0, at = 0; i < ans.ntxt; i++) {
			rrs[i].strs = strs + at;
			rrs[i].nstrs = ans.txt[i].nstrs;
			struct dns_txt_rr *t = &ans.txt[i];
			size_t zl = 0;
			char *zone = NULL;
			FILE *zf = open_memstream(&zone, &zl);
			for (size_t k = 0; k < t->nstrs; k++, at++) {
				strs[at].data = t->strs[k].data;
				strs[at].len = t->strs[k].len;
				char *q = persist_zone_txt(t->strs[k].data, t->strs[k].len);
				if (zf)
					fprintf(zf, "%s%s", k ? " " : "", q);
				free(q);
			}
			if (zf)
				fclose(zf);
			json_array_append_new(jrecs, json_string(zone ? zone : ""));
			free(zone);
		}
		struct persist_input in = {
			.identifier = ident,
			.account_url = L->account_url,
			.issuers = (const char *const *)issuers,
			.nissuers = L->nissuers,
			.time = L->time,
			.draft = L->draft,
			.strict = L->strict,
			.thumbprints = L->tps,
			.nthumbprints = L->ntps,
			.hash_prefix = L->hash_prefix,
		};
		if (persist_check(rrs, ans.ntxt, &in, &r) != 0) {
			fprintf(stderr, "cobble check-record: out of memory\n");
			goto out;
		}
		have_result = true;
		type = r.type;
		detail = r.detail;
	} else {
		/* Spec §2 step 2: NXDOMAIN, SERVFAIL, timeout, bogus -> urn:ietf:params:acme:error:dns. */
		type = "dns";
		detail = xasprintf("DNS lookup of TXT %s failed: %s", name,
		                   ans.detail[0] ? ans.detail : dns_result_name(ans.result));
	}
	bool valid = have_result && r.status == PERSIST_VALID;
	/* spec §5: the CAA verdict beside the record's (the server checks it once the record passed) */
	struct caa_verdict caa;
	caa_check(d, fqdn, wildcard, (const char *const *)issuers, L->nissuers, L->account_url, &caa);
	bool caa_refused = valid && !caa.permitted;
	/* the house rule behind the verdict, as docs/dns-persist-01.md numbers it */
	const char *rule = have_result ? r.rule : PERSIST_RULE_LOOKUP;

	/* What to publish: the first issuer name, d = F for draft 02 (spec §3). */
	if (!valid) {
		if (L->draft == PERSIST_DRAFT_02) {
			acct = persist_hash_uri(L->hash_prefix, fqdn, L->tps[0], L->account_url);
			acct_any = persist_hash_uri(L->hash_prefix, "*", L->tps[0], L->account_url);
		} else {
			acct = xstrdup(L->account_url);
		}
		rdata = persist_record_text(issuers[0], acct ? acct : "", wildcard, 0);
	}
	char *zone = rdata ? persist_zone_txt((const unsigned char *)rdata, strlen(rdata)) : NULL;

	if (L->json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:O,s:{s:s,s:s,s:s}}", "identifier", ident, "name",
		                      name, "resolver", ans.resolver, "status", valid && !caa_refused ? "valid" : "invalid",
		                      "type", caa_refused ? "caa" : type, "detail", caa_refused ? caa.detail : detail, "records", jrecs, "rule", "id", rule, "title",
		                      persist_rule_title(rule), "doc", RULE_DOC);
		if (o)
			json_object_set_new(o, "caa", json_pack("{s:s,s:s}", "status", caa.permitted ? "permitted" : "forbidden",
			                                        "detail", caa.detail));
		if (o && rdata)
			json_object_set_new(o, "publish",
			                    json_pack("{s:s,s:s,s:s++}", "name", name, "rdata", rdata, "zone", name,
			                              ". IN TXT ", zone));
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		else
			fprintf(stderr, "cobble check-record: cannot encode the verdict as JSON\n");
		free(s);
		json_decref(o);
	} else {
		if (have_result) {
			printf("TXT %s%s%s: %zu record%s.\n", name, ans.resolver[0] ? " via " : "", ans.resolver, ans.ntxt,
			       ans.ntxt == 1 ? "" : "s");
			for (size_t i = 0; i < json_array_size(jrecs); i++)
				printf("  record %zu: %s\n", i + 1, json_string_value(json_array_get(jrecs, i)));
		}
		printf("Verdict: %s%s%s%s\n", valid ? "valid" : "invalid", type ? " (" : "", type ? type : "",
		       type ? ")." : ".");
		printf("%s\n", explain(valid, type ? type : "", ans.result));
		printf("Rule %s: %s (%s, rule %s).\n", rule, persist_rule_title(rule), RULE_DOC, rule);
		printf("Detail: %s\n", detail);
		printf("CAA: %s: %s\n", caa.permitted ? "permitted" : "forbidden", caa.detail);
		if (caa_refused)
			printf("Verdict with CAA: invalid (caa): the record passes, but CAA forbids this CA to issue.\n");
		if (rdata) {
			printf("To authorize account %s for %s, publish this TXT record (zone-file syntax):\n",
			       L->account_url, ident);
			printf("  %s. IN TXT %s\n", name, zone);
			if (acct_any)
				printf("Or, to authorize the account for any domain with one value (d=\"*\"), use "
				       "accounturi=%s\n",
				       acct_any);
		}
	}
	free(zone);
	if (!have_result)
		free(detail);
	rc = valid && !caa_refused ? 0 : 1;
out:
	json_decref(jrecs);
	if (have_result)
		persist_result_clear(&r);
	dns_answer_clear(&ans);
	dns_free(d);
	free(rrs);
	free(strs);
	for (size_t i = 0; i < MAX_LIST; i++)
		free(issuers[i]);
	free(fqdn);
	free(ident);
	free(name);
	free(acct);
	free(acct_any);
	free(rdata);
	return rc;
}

static int add(const char **list, size_t *n, const char *v, const char *opt)
{
	if (*n >= MAX_LIST)
		return usage_error("too many %s options", opt);
	list[(*n)++] = v;
	return 0;
}

int cmd_check_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{"vectors", required_argument, NULL, 'V'},  {"identifier", required_argument, NULL, 'i'},
		{"account-url", required_argument, NULL, 'a'}, {"issuer", required_argument, NULL, 'I'},
		{"resolver", required_argument, NULL, 'r'}, {"draft", required_argument, NULL, 'd'},
		{"thumbprint", required_argument, NULL, 'T'}, {"hash-prefix", required_argument, NULL, 'p'},
		{"strict", no_argument, NULL, 's'},          {"time", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},            {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	/* --config (or the server's -dnsserver): the server's own validator and configuration */
	if (cmd_check_config_wanted(argc, argv))
		return cmd_check_config(argc, argv);
	struct live L = {.draft = PERSIST_DRAFT_01, .time = (int64_t)time(NULL)};
	const char *vectors = NULL;
	bool live_opts = false;
	int c;
	optind = 0; /* glibc: full re-initialisation, whatever parsed argv before */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int e = 0;
		live_opts = live_opts || (c != 'V' && c != 'h');
		switch (c) {
		case 'V': vectors = optarg; break;
		case 'i': L.identifier = optarg; break;
		case 'a': L.account_url = optarg; break;
		case 'I': e = add(L.issuers, &L.nissuers, optarg, "--issuer"); break;
		case 'r': e = add(L.resolvers, &L.nresolvers, optarg, "--resolver"); break;
		case 'T': e = add(L.tps, &L.ntps, optarg, "--thumbprint"); break;
		case 'p': L.hash_prefix = optarg; break;
		case 's': L.strict = true; break;
		case 'j': L.json = true; break;
		case 'd':
			if (strcmp(optarg, "01") == 0)
				L.draft = PERSIST_DRAFT_01;
			else if (strcmp(optarg, "02") == 0)
				L.draft = PERSIST_DRAFT_02;
			else
				return usage_error("--draft must be 01 or 02, not %s", optarg);
			break;
		case 't':
			if (live_parse_time(optarg, &L.time) != 0)
				return usage_error("--time wants UNIX seconds, not %s", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (e)
			return e;
	}
	if (optind < argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (vectors) {
		if (live_opts)
			return usage_error("--vectors takes no other option");
		return run_vectors(vectors);
	}
	if (!L.identifier || !L.account_url)
		return usage_error("--identifier and --account-url are required (or --vectors FILE)");
	if (L.draft == PERSIST_DRAFT_02 && (!L.hash_prefix || L.ntps == 0))
		return usage_error("--draft 02 needs --hash-prefix and at least one --thumbprint (current key first)");
	if (L.draft == PERSIST_DRAFT_01 && (L.hash_prefix || L.ntps))
		return usage_error("--thumbprint and --hash-prefix apply to --draft 02 only");
	if (L.nissuers == 0)
		L.issuers[L.nissuers++] = DEFAULT_ISSUER;
	return run_live(&L);
}
