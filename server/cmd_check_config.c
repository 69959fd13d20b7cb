/* cmd_check_config: `cobble check-record --config FILE` (or the server's -dnsserver): one
 * dns-persist-01 check evaluated exactly as the server would, by the server's own code: the
 * configuration is loaded, validated and completed as `cobble -config FILE` does, and the VA's
 * method (server/va_persist.c) and CAA check (server/va_caa.c) run on a worker like the VA's,
 * so issuer names, draft, strict, subdomains, DNSSEC, resolvers, baseURL, accountHashPrefix and
 * CAA cannot differ between the tool and the server. */
#include "common/dns.h"
#include "common/util.h"
#include "server/challenge.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/va.h"
#include "server/wfe.h"

#include <getopt.h>
#include <jansson.h>
#include <libpsl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: cobble check-record --config FILE [-dnsserver HOST:PORT] [-listen HOST:PORT] [-strict]\n"
	      "              --identifier NAME --account-url URL [--thumbprint TP]... [--deactivated]\n"
	      "              [--method dns-persist-01] [--json]\n"
	      "Runs the server's own validator on the live records, with the server's configuration\n"
	      "(FILE, the COBBLE_/PEBBLE_ environment, -dnsserver and -listen as the server's flags): the same\n"
	      "verdict and problem type the server would give, and the CAA verdict beside the record's.\n"
	      "--account-url is the account URL as the server shows it; --thumbprint the account's key\n"
	      "thumbprints, current first (needed under dnsPersist.draft \"02\"). -strict is accepted as\n"
	      "the server's flag and, as there, does not change a record's verdict.\n"
	      "Exit status: 0 valid, 1 invalid, 2 usage or configuration error.\n",
	      f);
}

#define usage_error(...) cmd_usage_error(usage, __VA_ARGS__)

bool cmd_check_config_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			continue; /* a value, e.g. --identifier config.example */
		if (strcmp(argv[i], "--") == 0)
			break;
		const char *a = argv[i] + 1 + (argv[i][1] == '-');
		if (util_has_prefix(a, "config") || util_has_prefix(a, "dnsserver"))
			return true;
	}
	return false;
}

struct args {
	const char *config, *dnsserver, *listen, *identifier, *account_url, *method;
	const char *tps[STORE_MAX_KEYS];
	size_t ntps;
	bool deactivated, json;
};

/* The account as the server's store would hold it: the oldest key first, then one rollover to
 * each newer key, so the store's order (current first) is the order given. */
static int make_account(struct store *st, const struct args *a, char id[STORE_ID_LEN + 1])
{
	char other[STORE_ID_LEN + 1];
	struct account acct = {.jwk = "{}"};
	snprintf(acct.thumbprints[0], sizeof acct.thumbprints[0], "%s", a->ntps ? a->tps[a->ntps - 1] : "-");
	if (store_account_add(st, &acct, id, other) < 0)
		return -1;
	for (size_t i = a->ntps ? a->ntps - 1 : 0; i > 0; i--)
		if (store_account_rekey(st, id, a->tps[i], "{}", a->tps[i - 1], other) != 0)
			return -1;
	if (a->deactivated && store_account_update(st, id, NULL, true) < 0)
		return -1;
	return 0;
}

/* The problem of a result as text for people: "valid" or "invalid (type): detail". */
static void print_verdict(const char *what, const struct va_result *r)
{
	if (r->ok)
		printf("%s: valid\n", what);
	else
		printf("%s: invalid (%s): %s\n", what, r->error.type, r->error.detail);
}

static json_t *verdict_json(const struct va_result *r)
{
	json_t *o = json_pack("{s:s}", "status", r->ok ? "valid" : "invalid");
	if (!r->ok) {
		json_object_set_new(o, "type", json_sprintf("urn:ietf:params:acme:error:%s", r->error.type));
		json_object_set_new(o, "detail", json_string(r->error.detail));
	}
	return o;
}

static int check(struct config *cfg, const struct args *a)
{
	int rc = 2;
	char err[1024] = "", base[300] = "";
	struct server srv = {.cfg = cfg, .store = store_new()};
	struct va_worker w = {.srv = &srv};
	struct va_job job = {0};
	struct va_result res = {0}, caa = {.ok = true};
	struct dns_options opt;
	psl_ctx_t *psl = NULL;
	const struct challenge_type *t = challenge_find(a->method);
	if (!t || !t->validate || strcmp(t->name, "dns-persist-01") != 0) {
		rc = usage_error("--method: only dns-persist-01 can be checked without a client (not %s)", a->method);
		goto out;
	}
	va_dns_options(cfg, &opt);
	if (!(w.dns = dns_new(&opt, err, sizeof err))) {
		fprintf(stderr, "cobble check-record: DNS: %s\n", err);
		goto out;
	}
	w.psl = psl = psl_latest(NULL);
	/* the job as wfe_va_job builds it for a challenge POST */
	bool wildcard = util_has_prefix(a->identifier, "*.");
	snprintf(job.type, sizeof job.type, "%s", t->name);
	snprintf(job.ident.type, sizeof job.ident.type, "dns");
	snprintf(job.ident.value, sizeof job.ident.value, "%s", a->identifier + (wildcard ? 2 : 0));
	for (char *p = job.ident.value; *p; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	job.wildcard = wildcard;
	snprintf(job.account_url, sizeof job.account_url, "%s", a->account_url);
	if (cfg->account_hash_prefix[0])
		snprintf(job.hash_prefix, sizeof job.hash_prefix, "%s", cfg->account_hash_prefix);
	else if (config_fixed_base(cfg, base, sizeof base))
		snprintf(job.hash_prefix, sizeof job.hash_prefix, "%s%s", base, PATH_ACCOUNT_HASH);
	if (make_account(srv.store, a, job.account_id) < 0) {
		rc = usage_error("the --thumbprint values must differ from each other");
		goto out;
	}
	if (base[0] && !util_has_prefix(a->account_url, base))
		fprintf(stderr, "cobble check-record: note: this configuration hands out URLs under %s; the "
		        "server would never show the account URL %s\n", base, a->account_url);
	t->validate(&w, &job, &res);
	/* the server checks CAA only once the method passed; it is shown here either way */
	caa.validation_record = res.validation_record ? xstrdup(res.validation_record) : NULL;
	if (cfg->caa)
		va_caa(&w, &job, &caa);
	struct va_result *final = !res.ok || !cfg->caa ? &res : &caa;
	if (a->json) {
		json_t *o = json_pack("{s:s, s:s, s:o}", "identifier", a->identifier, "method", t->name, "record",
		                      verdict_json(&res));
		json_object_set_new(o, "caa", cfg->caa ? verdict_json(&caa) : json_string("off (config caa: false)"));
		json_object_set_new(o, "status", json_string(final->ok ? "valid" : "invalid"));
		if (!final->ok) {
			json_object_set_new(o, "type", json_sprintf("urn:ietf:params:acme:error:%s", final->error.type));
			json_object_set_new(o, "detail", json_string(final->error.detail));
		}
		json_t *vr = json_loads(caa.validation_record ? caa.validation_record : "[]", 0, NULL);
		json_object_set_new(o, "validationRecord", vr ? vr : json_array());
		char *s = json_dumps(o, JSON_COMPACT);
		puts(s ? s : "{}");
		free(s);
		json_decref(o);
	} else {
		printf("%s %s%s, account %s, as this server's configuration has it:\n", t->name, a->identifier,
		       cfg->persist_draft == PERSIST_DRAFT_02 ? " (draft 02)" : " (draft 01)", a->account_url);
		print_verdict("Record", &res);
		if (cfg->caa)
			print_verdict("CAA", &caa);
		else
			printf("CAA: not checked (config caa: false)\n");
		printf("Verdict: %s%s%s%s (what the server would answer to this challenge)\n",
		       final->ok ? "valid" : "invalid", final->ok ? "" : " (", final->ok ? "" : final->error.type,
		       final->ok ? "" : ")");
	}
	rc = final->ok ? 0 : 1;
out:
	free(res.validation_record);
	free(caa.validation_record);
	dns_free(w.dns);
	psl_free(psl);
	store_free(srv.store);
	return rc;
}

int cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},     {"dnsserver", required_argument, NULL, 'D'},
	    {"strict", no_argument, NULL, 's'},           {"listen", required_argument, NULL, 'l'},           {"identifier", required_argument, NULL, 'i'},
	    {"account-url", required_argument, NULL, 'a'}, {"thumbprint", required_argument, NULL, 'T'},
	    {"deactivated", no_argument, NULL, 'x'},      {"method", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},             {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct args a = {.method = "dns-persist-01"};
	bool strict = false;
	int c;
	optind = 0;
	while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a.config = optarg; break;
		case 'D': a.dnsserver = optarg; break;
		case 's': strict = true; break;
		case 'l': a.listen = optarg; break;
		case 'i': a.identifier = optarg; break;
		case 'a': a.account_url = optarg; break;
		case 'T':
			if (a.ntps >= STORE_MAX_KEYS)
				return usage_error("at most %d --thumbprint values", STORE_MAX_KEYS);
			a.tps[a.ntps++] = optarg;
			break;
		case 'x': a.deactivated = true; break;
		case 'm': a.method = optarg; break;
		case 'j': a.json = true; break;
		case 'h': usage(stdout); return 0;
		default:
			fputs("cobble check-record: with --config, the issuer names, draft, strictness, hash prefix and "
			      "resolvers come from the configuration (or -dnsserver)\n",
			      stderr);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (!a.identifier || !a.account_url)
		return usage_error("--identifier and --account-url are required");
	/* the configuration exactly as run_server builds it */
	struct config cfg;
	char err[1024];
	config_defaults(&cfg);
	int rc = 2;
	if (a.config && config_load(&cfg, a.config, err, sizeof err) < 0)
		goto bad;
	if (config_env(&cfg, err, sizeof err) < 0)
		goto bad;
	if (a.dnsserver) {
		for (size_t i = 0; i < cfg.nresolvers; i++)
			free(cfg.resolvers[i]);
		cfg.resolvers[0] = xstrdup(a.dnsserver);
		cfg.nresolvers = 1;
	}
	if (a.listen)
		snprintf(cfg.listen_address, sizeof cfg.listen_address, "%s", a.listen);
	if (strict)
		cfg.strict = true;
	if (config_validate(&cfg, err, sizeof err) < 0)
		goto bad;
	if (cfg.persist_draft == PERSIST_DRAFT_02 && a.ntps == 0) {
		rc = usage_error("dnsPersist.draft is \"02\": give the account's key thumbprints with --thumbprint "
		                 "(current key first)");
		goto out;
	}
	rc = check(&cfg, &a);
	goto out;
bad:
	fprintf(stderr, "cobble check-record: configuration error: %s\n", err);
out:
	config_clear(&cfg);
	return rc;
}
