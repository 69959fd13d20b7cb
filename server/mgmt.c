/* mgmt: the management listener's resources, as Pebble's: roots, intermediates and their keys
 * (with rel="alternate" links), certificate status by serial, the renewalInfo test hook, and the
 * client conformance report. */
#include "common/util.h"
#include "server/conformance.h"
#include "server/crl.h"
#include "server/events.h"
#include "server/faillimit.h"
#include "server/faults.h"
#include "server/mgmt.h"
#include "server/va.h"
#include "server/wfe.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void not_found(struct req *r, const char *what)
{
	struct problem p;
	problem_set(&p, PROB_MALFORMED, 404, "%s", what);
	http_reply_problem(r, &p);
}

/* /roots/N, /root-keys/N, /intermediates/N, /intermediate-keys/N */
static bool pem_resource(struct req *r, const char *path)
{
	static const struct {
		const char *prefix;
		char *(*get)(const struct ca *, int);
	} kinds[] = {
	    {"/roots/", ca_root_pem},
	    {"/root-keys/", ca_root_key_pem},
	    {"/intermediates/", ca_intermediate_pem},
	    {"/intermediate-keys/", ca_intermediate_key_pem},
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		if (!util_has_prefix(path, kinds[k].prefix))
			continue;
		const char *num = path + strlen(kinds[k].prefix);
		char *end;
		long i = strtol(num, &end, 10);
		int n = ca_nroots(r->srv->ca);
		if (!*num || *end || i < 0 || i >= n) {
			char msg[128];
			snprintf(msg, sizeof msg, "%s takes an index from 0 to %d", kinds[k].prefix, n - 1);
			not_found(r, msg);
			return true;
		}
		for (int j = 0; j < n; j++)
			if (j != i)
				http_add_header(r, "Link", "<%s%s%d>;rel=\"alternate\"", r->base, kinds[k].prefix, j);
		char *pem = kinds[k].get(r->srv->ca, (int)i);
		if (!pem) {
			not_found(r, "no such certificate or key");
			return true;
		}
		http_reply_raw(r, 200, "application/x-pem-file", pem, strlen(pem));
		return true;
	}
	return false;
}

/* GET /crl/N: hierarchy N's CRL (RFC 5280 §5), DER; also on the plain-HTTP CRL listener. */
void mgmt_crl(struct req *r, const char *num)
{
	char *end;
	long i = strtol(num, &end, 10);
	size_t len = 0;
	unsigned char *der = *num && !*end ? crl_get(r->srv->crl, (int)i, &len) : NULL;
	if (!der) {
		char msg[128];
		snprintf(msg, sizeof msg, "/crl/ takes an index from 0 to %d (one CRL per issuing intermediate)",
		         ca_nroots(r->srv->ca) - 1);
		not_found(r, msg);
		return;
	}
	/* RFC 5280 §4.2.1.13 and RFC 2585 §4.2: a DER CRL served as application/pkix-crl */
	http_reply_raw(r, 200, "application/pkix-crl", (char *)der, len);
}

static void cert_status(struct req *r, const char *serial)
{
	struct cert c = {0};
	if (!*serial || strlen(serial) > 64 || store_cert_by_serial(r->srv->store, serial, &c) < 0) {
		not_found(r, "no certificate with that serial (hex, as openssl x509 -serial prints it)");
		return;
	}
	/* the leaf alone: the first PEM block of the chain */
	const char *end = strstr(c.chains[0], "-----END CERTIFICATE-----");
	char *leaf = end ? xstrndup(c.chains[0], (size_t)(end - c.chains[0]) + 26) : xstrdup(c.chains[0]);
	json_t *o = json_pack("{s:s, s:s, s:s}", "Serial", c.serial, "Status", c.revoked ? "Revoked" : "Valid",
	                      "Certificate", leaf);
	free(leaf);
	if (c.revoked) {
		char when[32];
		util_time_fmt(c.revoked_at, when, sizeof when);
		json_object_set_new(o, "Reason", json_integer(c.reason));
		json_object_set_new(o, "RevokedAt", json_string(when));
	}
	store_cert_clear(&c);
	http_reply_json(r, 200, o);
}

/* Pebble's POST /set-renewal-info/ body {"Certificate": PEM, "ARIResponse": text}: from now on the
 * certificate's renewalInfo (RFC 9773 §4) answers with that text verbatim (it need not even be
 * valid JSON), e.g. a window in the past to make a client renew at once. */
static void set_renewal_info(struct req *r)
{
	struct problem p;
	json_error_t jerr;
	json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
	const char *pem = json_string_value(json_object_get(body, "Certificate"));
	const char *text = json_string_value(json_object_get(body, "ARIResponse"));
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pub = NULL;
	unsigned char *der = NULL;
	char serial[41], err[256];
	if (!pem || !text) {
		problem_set(&p, PROB_MALFORMED, 400, "the body must be JSON {\"Certificate\": PEM text, "
		            "\"ARIResponse\": the renewalInfo body to serve}");
		goto fail;
	}
	if (!(bio = BIO_new_mem_buf(pem, -1)) || !(x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		problem_set(&p, PROB_MALFORMED, 400, "\"Certificate\" is not a PEM certificate");
		goto fail;
	}
	int len = i2d_X509(x, &der);
	if (len <= 0 || ca_cert_inspect(r->srv->ca, der, (size_t)len, serial, &pub, err, sizeof err) < 0) {
		problem_set(&p, PROB_MALFORMED, 400, "\"Certificate\": %s", len <= 0 ? "cannot encode it" : err);
		goto fail;
	}
	if (store_cert_set_ari_response(r->srv->store, serial, text) < 0) {
		problem_set(&p, PROB_MALFORMED, 404, "no certificate with serial %s was issued here", serial);
		goto fail;
	}
	http_reply_raw(r, 200, NULL, NULL, 0);
	goto out;
fail:
	http_reply_problem(r, &p);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	X509_free(x);
	BIO_free(bio);
	json_decref(body);
}

static void html_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void events_table(FILE *f, const char *title, const char *kind, const char *kind2)
{
	struct event *ev = xcalloc(EVENTS_MAX, sizeof *ev);
	size_t n = events_recent(NULL, ev, EVENTS_MAX), shown = 0;
	fprintf(f, "<h2>%s</h2>\n<table>\n<tr><th>time (UTC)</th><th>what</th><th>account</th>"
	           "<th>verdict</th><th>details</th></tr>\n", title);
	for (size_t i = 0; i < n && shown < 50; i++) {
		if (strcmp(ev[i].kind, kind) != 0 && (!kind2 || strcmp(ev[i].kind, kind2) != 0))
			continue;
		char when[32];
		util_time_fmt(ev[i].when, when, sizeof when);
		fprintf(f, "<tr class=\"%s\"><td>%s</td><td>", ev[i].verdict, when);
		html_escape(f, ev[i].subject);
		fputs("</td><td>", f);
		html_escape(f, ev[i].account);
		fputs("</td><td>", f);
		html_escape(f, ev[i].verdict);
		fputs("</td><td>", f);
		html_escape(f, ev[i].reason);
		fputs("</td></tr>\n", f);
		shown++;
	}
	if (shown == 0)
		fputs("<tr><td colspan=\"5\">none yet</td></tr>\n", f);
	fputs("</table>\n", f);
	free(ev);
}

/* The fault hooks (server/faults.c): POST a JSON body to set, GET /faults to see them all. */
static const struct {
	const char *path;
	int (*set)(json_t *body, char *err, size_t errlen);
} fault_hooks[] = {
    {"/inject", faults_inject},
    {"/maintenance", faults_maintenance},
    {"/rate-limits", faults_limits},
};

/* GET /clock, POST /clock {"advance": seconds}: cobble's clock for object lifetimes, ARI windows
 * and dns-persist-01 persistUntil/reuse (common/util.h util_clock); never backwards. */
static void clock_resource(struct req *r)
{
	if (strcmp(r->method, "POST") == 0) {
		struct problem p;
		json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
		json_t *adv = json_object_get(body, "advance");
		json_int_t secs = json_integer_value(adv);
		bool ok = json_is_integer(adv) && secs >= 0 && secs <= 20L * 365 * 86400;
		json_decref(body);
		if (!ok) {
			problem_set(&p, PROB_MALFORMED, 400, "/clock: the body must be {\"advance\": seconds} with 0 to "
			            "20 years of seconds; the clock only moves forward (restart cobble to reset it)");
			http_reply_problem(r, &p);
			return;
		}
		util_clock_advance((long)secs);
	}
	char real[32], now[32];
	util_time_fmt(time(NULL), real, sizeof real);
	util_time_fmt(util_clock(), now, sizeof now);
	http_reply_json(r, 200, json_pack("{s:I, s:s, s:s}", "offset", (json_int_t)util_clock_offset(), "now", now,
	                                  "realTime", real));
}

/* The test hooks take POST: Pebble's set-renewal-info (RFC 9773 testing) and cobble's. */
static bool takes_post(const char *path)
{
	if (strcmp(path, "/clock") == 0)
		return true;
	for (size_t i = 0; i < sizeof fault_hooks / sizeof fault_hooks[0]; i++)
		if (strcmp(path, fault_hooks[i].path) == 0)
			return true;
	return strcmp(path, MGMT_SET_RENEWAL_INFO) == 0;
}

static bool fault_hook(struct req *r, const char *path)
{
	if (strcmp(path, "/faults") == 0) {
		http_reply_json(r, 200, faults_json());
		return true;
	}
	for (size_t i = 0; i < sizeof fault_hooks / sizeof fault_hooks[0]; i++) {
		if (strcmp(path, fault_hooks[i].path) != 0)
			continue;
		struct problem p;
		char err[300] = "";
		json_error_t jerr;
		json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
		if (strcmp(r->method, "POST") != 0) {
			problem_set(&p, PROB_MALFORMED, 405, "POST a JSON body to %s; GET /faults shows what is set",
			            path);
			http_add_header(r, "Allow", "POST");
			http_reply_problem(r, &p);
		} else if (!body || fault_hooks[i].set(body, err, sizeof err) < 0) {
			problem_set(&p, PROB_MALFORMED, 400, "%s: %s", path, body ? err : "the body is not JSON");
			http_reply_problem(r, &p);
		} else {
			http_reply_json(r, 200, faults_json());
		}
		json_decref(body);
		return true;
	}
	return false;
}

/* GET /conformance (every client) and /conformance/<account id>. */
static void conformance_resource(struct req *r, const char *account)
{
	json_t *o = conformance_json(account && *account ? account : NULL);
	if (!o) {
		not_found(r, "cobble has seen no request from that account (ids are the last part of the "
		             "account URL); GET /conformance lists every client");
		return;
	}
	http_reply_json(r, 200, o);
}

/* The status page's conformance section: one row per finding, by account then by User-Agent. */
static void conformance_table(FILE *f)
{
	json_t *rep = conformance_json(NULL);
	fputs("<h2 id=\"conformance\">Client conformance</h2>\n<p>What clients did that RFC 8555, RFC 9773 or "
	      "the dns-persist-01 draft says they should not (JSON: <a href=\"/conformance\">/conformance"
	      "</a>; <code>cobble report</code> prints it and fails on a broken MUST).</p>\n<table>\n"
	      "<tr><th>client</th><th>severity</th><th>check</th><th>count</th><th>reference</th>"
	      "<th>first occurrence</th></tr>\n", f);
	size_t shown = 0;
	static const char *const kinds[][2] = {{"accounts", "account"}, {"userAgents", "userAgent"}};
	for (size_t k = 0; k < 2; k++) {
		json_t *list = json_object_get(rep, kinds[k][0]), *c;
		size_t i;
		json_array_foreach(list, i, c) {
			json_t *fnd = json_object_get(c, "findings"), *x;
			size_t j;
			json_array_foreach(fnd, j, x) {
				const char *sev = json_string_value(json_object_get(x, "severity"));
				json_t *first = json_object_get(x, "first");
				fprintf(f, "<tr class=\"sev-%s\"><td>%s ", sev, k ? "User-Agent" : "account");
				html_escape(f, json_string_value(json_object_get(c, kinds[k][1])));
				fprintf(f, "</td><td>%s</td><td><b>%s</b>: ", sev, json_string_value(json_object_get(x, "id")));
				html_escape(f, json_string_value(json_object_get(x, "message")));
				fprintf(f, "</td><td>%lld</td><td>", (long long)json_integer_value(json_object_get(x, "count")));
				html_escape(f, json_string_value(json_object_get(x, "reference")));
				fputs("</td><td>", f);
				html_escape(f, json_string_value(json_object_get(first, "time")));
				fputs(" <code>", f);
				html_escape(f, json_string_value(json_object_get(first, "url")));
				fputs("</code> ", f);
				html_escape(f, json_string_value(json_object_get(first, "detail")));
				fputs("</td></tr>\n", f);
				shown++;
			}
		}
	}
	if (shown == 0)
		fputs("<tr><td colspan=\"6\">no deviation seen</td></tr>\n", f);
	fputs("</table>\n", f);
	json_decref(rep);
}

/* spec §4a: the failed-validation counters, highest first. */
static void fails_table(FILE *f, const struct config *c, struct faillimit *fl)
{
	struct faillimit_row rows[20];
	unsigned long refused = 0;
	size_t n = fl ? faillimit_rows(fl, rows, sizeof rows / sizeof rows[0], &refused) : 0;
	fprintf(f, "<h2>Failed dns-persist-01 validations</h2>\n<p>Limits (config "
	           "<code>dnsPersist.failedValidationLimits</code>): %d per identifier, %d per account in "
	           "%d seconds (0 = off); <span id=\"fails-refused\">%lu</span> challenge%s refused so "
	           "far.</p>\n<table id=\"fails\"><tr><th>kind</th><th>identifier or account</th>"
	           "<th>failures in the window</th><th>limit</th></tr>\n",
	        c->fail_limit_identifier, c->fail_limit_account, c->fail_limit_window, refused,
	        refused == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<tr><td>%s</td><td><code>", rows[i].kind);
		html_escape(f, rows[i].key);
		fprintf(f, "</code></td><td>%d</td><td>%d</td></tr>\n", rows[i].failures, rows[i].limit);
	}
	if (n == 0)
		fputs("<tr><td colspan=\"4\">none in the window</td></tr>\n", f);
	fputs("</table>\n", f);
}

/* The status page: plain HTML, no scripts. */
static void index_page(struct req *r)
{
	const struct config *c = r->srv->cfg;
	size_t accounts, orders, authzs, certs;
	store_counts(r->srv->store, &accounts, &orders, &authzs, &certs);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		not_found(r, "out of memory");
		return;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cobble status</title>\n"
	      "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
	      "width:100%;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;"
	      "vertical-align:top;font-size:90%}th{background:#eee}tr.valid td:nth-child(4),"
	      "tr.issued td:nth-child(4){color:#075e07;font-weight:bold}tr.invalid td:nth-child(4),"
	      "tr.failed td:nth-child(4),tr.sev-MUST td:nth-child(2){color:#a30000;font-weight:bold}"
	      "tr.sev-SHOULD td:nth-child(2){color:#9a5b00;font-weight:bold}code{background:#f4f4f4}</style>"
	      "</head><body>\n<h1>cobble: ACME test CA</h1>\n<p>Nothing this CA issues is trusted anywhere. "
	      "All state is in memory and is lost when cobble stops.</p>\n<h2>Identity</h2>\n<ul>\n",
	      f);
	fputs("<li>ACME listener: <code>", f);
	html_escape(f, c->base_url[0] ? c->base_url : c->listen_address);
	fputs("</code> (directory at <code>/dir</code>)</li>\n", f);
	fprintf(f, "<li>dns-persist-01: draft -%s; issuer domain names:",
	        c->persist_draft == PERSIST_DRAFT_01 ? "01" : "02");
	for (size_t i = 0; i < c->nissuer_names; i++) {
		fputs(" <code>", f);
		html_escape(f, c->issuer_names[i]);
		fputs("</code>", f);
	}
	fprintf(f, "; reuse %s (at most %d days), JIT %s, subdomains %s, strict %s</li>\n",
	        c->persist_reuse ? "on" : "off", c->persist_reuse_days, c->persist_jit ? "on" : "off",
	        c->persist_subdomains ? "on" : "off", c->persist_strict ? "on" : "off");
	fputs("<li>DNS for validation: <code>", f);
	html_escape(f, c->nresolvers ? c->resolvers[0] : "/etc/resolv.conf");
	fprintf(f, "</code>, DNSSEC <code>%s</code></li>\n", c->dnssec);
	fprintf(f, "<li>Knobs: always-valid %s, nonce rejection %d%%, authz reuse %d%%, chain length %d</li>\n",
	        c->va_always_valid ? "<b>on</b>" : "off", c->nonce_reject_percent, c->authz_reuse_percent,
	        c->ca.chain_length);
	if (util_clock_offset() != 0) {
		char now[32];
		util_time_fmt(util_clock(), now, sizeof now);
		fprintf(f, "<li id=\"clock\"><b>Clock moved forward by %ld s</b> (POST /clock): object lifetimes, ARI "
		           "windows and dns-persist-01 persistUntil are judged at %s; certificates keep the real "
		           "time</li>\n", util_clock_offset(), now);
	}
	fprintf(f, "<li>%zu account%s, %zu order%s, %zu authorization%s, %zu certificate%s</li>\n",
	        accounts, accounts == 1 ? "" : "s", orders, orders == 1 ? "" : "s", authzs,
	        authzs == 1 ? "" : "s", certs, certs == 1 ? "" : "s");
	size_t workers = 0, pending = 0, abandoned = 0, stuck = 0;
	if (r->srv->va)
		va_stats(r->srv->va, &workers, &pending, &abandoned, &stuck);
	fprintf(f, "<li id=\"va\">Validation workers: %zu, %zu job%s queued or running; <span id=\"va-abandoned\">%zu"
	           "</span> abandoned by the watchdog (a validation still running %.0f s past its %.0f s deadline "
	           "is failed and its worker replaced), %zu of them still stuck</li>\n</ul>\n",
	        workers, pending, pending == 1 ? "" : "s", abandoned, VA_WATCHDOG_GRACE_SECONDS, VA_DEADLINE_SECONDS,
	        stuck);
	fputs("<h2>Roots and intermediates</h2>\n<ul>\n", f);
	for (int i = 0; i < ca_nroots(r->srv->ca); i++)
		fprintf(f, "<li>hierarchy %d: <a href=\"/roots/%d\">root</a>, <a href=\"/intermediates/%d\">"
		           "intermediate</a> (<a href=\"/root-keys/%d\">root key</a>, <a "
		           "href=\"/intermediate-keys/%d\">intermediate key</a>)</li>\n",
		        i, i, i, i, i);
	fputs("</ul>\n<p>Certificate status: <code>/cert-status-by-serial/&lt;hex&gt;</code>; renewalInfo "
	      "test hook: <code>POST /set-renewal-info/</code></p>\n", f);
	fails_table(f, c, r->srv->fails);
	events_table(f, "Recent validations", "validation", "caa"); /* caa: the rechecks at issuance */
	events_table(f, "Recent orders and certificates", "order", "certificate");
	conformance_table(f);
	fputs("</body></html>\n", f);
	fclose(f);
	http_reply_raw(r, 200, "text/html; charset=utf-8", buf, len);
}

void mgmt_crl_listener(struct req *r, const char *path)
{
	bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	if (get && util_has_prefix(path, "/crl/")) {
		mgmt_crl(r, path + strlen("/crl/"));
		return;
	}
	struct problem p;
	problem_set(&p, PROB_MALFORMED, 404, "this listener serves only GET /crl/N");
	http_reply_problem(r, &p);
}

void mgmt_route(struct req *r, const char *path)
{
	/* the test hooks take POST: Pebble's /set-renewal-info/ (RFC 9773 testing) and cobble's */
	bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	bool hook = strcmp(r->method, "POST") == 0 && takes_post(path);
	if (!get && !hook) {
		struct problem p;
		problem_set(&p, PROB_MALFORMED, 405, "the management interface answers GET, and POST only "
		            "at its test hooks (" MGMT_SET_RENEWAL_INFO ", /inject, /maintenance, /rate-limits, /clock)");
		http_add_header(r, "Allow", "GET, HEAD");
		http_reply_problem(r, &p);
		return;
	}
	if (strcmp(path, "/") == 0) {
		index_page(r);
		return;
	}
	if (pem_resource(r, path))
		return;
	if (strcmp(path, MGMT_SET_RENEWAL_INFO) == 0) {
		if (strcmp(r->method, "POST") == 0)
			set_renewal_info(r);
		else
			not_found(r, "POST {\"Certificate\": PEM, \"ARIResponse\": text} here to set a "
			             "certificate's renewalInfo answer");
		return;
	}
	if (fault_hook(r, path))
		return;
	if (strcmp(path, "/clock") == 0) {
		clock_resource(r);
		return;
	}
	if (strcmp(path, "/conformance") == 0 || util_has_prefix(path, "/conformance/")) {
		conformance_resource(r, path[12] ? path + 13 : NULL);
		return;
	}
	if (util_has_prefix(path, "/crl/")) {
		mgmt_crl(r, path + strlen("/crl/"));
		return;
	}
	if (util_has_prefix(path, "/cert-status-by-serial/")) {
		cert_status(r, path + strlen("/cert-status-by-serial/"));
		return;
	}
	not_found(r, "no management resource here; see / for the list");
}
