/* cmd_report: `cobble report URL|FILE [-ca-bundle FILE]`: the conformance report of a running cobble
 * (its management listener's URL) or of a saved JSON file, as a table; exit 1 when a client broke a
 * MUST, so a client's CI can fail on it. */
#include "common/text.h"
#include "common/util.h"
#include "server/cmd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
	struct text_buf *b = ctx;
	size_t add = size * n;
	if (b->len + add > 16u * 1024 * 1024)
		return 0; /* a report is never this big: stop */
	text_putn(b, ptr, add);
	return add;
}

/* GET url (the management listener's root gets "/conformance" appended). New JSON or NULL. */
static json_t *fetch(const char *url, const char *bundle)
{
	json_t *out = NULL;
	struct text_buf b = {0};
	const char *path = strchr(strstr(url, "://") + 3, '/');
	char *full = !path || strcmp(path, "/") == 0
	                 ? xasprintf("%.*s/conformance", (int)(path ? (size_t)(path - url) : strlen(url)), url)
	                 : xstrdup(url);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	if (!c) {
		fprintf(stderr, "cobble report: curl_easy_init failed\n");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_CAINFO, bundle);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		fprintf(stderr, "cobble report: %s: %s%s\n", full, curl_easy_strerror(rc),
		        rc == CURLE_PEER_FAILED_VERIFICATION ? " (give the CA bundle cobble wrote with -ca-bundle FILE)"
		                                             : "");
		goto out;
	}
	json_error_t err;
	out = b.p ? json_loads(b.p, 0, &err) : NULL;
	if (status != 200 || !out) {
		fprintf(stderr, "cobble report: %s answered %ld: %.300s\n", full, status, b.p ? b.p : "");
		json_decref(out);
		out = NULL;
	}
out:
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(b.p);
	free(full);
	return out;
}

/* Print one client's findings; returns whether a MUST is among them. */
static bool print_client(json_t *c, const char *kind, const char *key)
{
	json_t *findings = json_object_get(c, "findings"), *f;
	const char *ua = json_string_value(json_object_get(c, "userAgent"));
	bool must = false;
	printf("%s %s", kind, json_string_value(json_object_get(c, key)));
	if (strcmp(key, "account") == 0)
		printf(" (User-Agent: %s)", ua && *ua ? ua : "none");
	printf(", %lld requests: %s\n", (long long)json_integer_value(json_object_get(c, "requests")),
	       json_array_size(findings) ? "" : "no deviation seen");
	size_t i;
	json_array_foreach(findings, i, f) {
		const char *sev = json_string_value(json_object_get(f, "severity"));
		json_t *first = json_object_get(f, "first");
		must |= sev && strcmp(sev, "MUST") == 0;
		printf("  %-6s  %-28s %5lldx  %s\n          %s\n          first %s %s: %s\n", sev ? sev : "?",
		       json_string_value(json_object_get(f, "id")),
		       (long long)json_integer_value(json_object_get(f, "count")),
		       json_string_value(json_object_get(f, "reference")),
		       json_string_value(json_object_get(f, "message")),
		       json_string_value(json_object_get(first, "time")),
		       json_string_value(json_object_get(first, "url")),
		       json_string_value(json_object_get(first, "detail")));
	}
	return must;
}

int cmd_report(int argc, char **argv)
{
	const char *src = NULL, *bundle = NULL;
	char defbundle[512];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-ca-bundle") == 0 || strcmp(a, "--ca-bundle") == 0) && i + 1 < argc)
			bundle = argv[++i];
		else if (util_has_prefix(a, "-ca-bundle=") || util_has_prefix(a, "--ca-bundle="))
			bundle = strchr(a, '=') + 1;
		else if (a[0] != '-' && !src)
			src = a;
		else {
			fprintf(stderr, "usage: cobble report URL|FILE [-ca-bundle FILE]\n"
			                "  URL: the management listener (e.g. https://localhost:15000), or its\n"
			                "  /conformance or /conformance/<account id>; FILE: a saved report.\n"
			                "  Exit 0: no MUST broken; 1: some client broke a MUST; 2: no report.\n");
			return 2;
		}
	}
	if (!src) {
		fprintf(stderr, "cobble report: give the management listener's URL or a saved report file\n");
		return 2;
	}
	if (!bundle) { /* the bundle a cobble on its embedded default writes */
		const char *tmp = getenv("TMPDIR");
		snprintf(defbundle, sizeof defbundle, "%s/cobble-ca.pem", tmp && *tmp ? tmp : "/tmp");
		bundle = defbundle;
	}
	json_t *rep = NULL;
	if (util_has_prefix(src, "https://") || util_has_prefix(src, "http://")) {
		rep = fetch(src, bundle);
	} else {
		json_error_t err;
		rep = json_load_file(src, 0, &err);
		if (!rep)
			fprintf(stderr, "cobble report: %s: %s (line %d)\n", src, err.text, err.line);
	}
	if (!rep)
		return 2;
	bool must = false;
	size_t n = 0;
	if (json_object_get(rep, "findings")) { /* one account: /conformance/<id> */
		must = print_client(rep, "account", "account");
		n = 1;
	} else {
		json_t *c;
		size_t i;
		printf("cobble conformance report: %zu checks\n\n", json_array_size(json_object_get(rep, "checks")));
		json_array_foreach(json_object_get(rep, "accounts"), i, c) {
			must |= print_client(c, "account", "account");
			n++;
		}
		json_array_foreach(json_object_get(rep, "userAgents"), i, c) {
			must |= print_client(c, "User-Agent", "userAgent");
			n++;
		}
	}
	if (n == 0)
		printf("no client has talked to this cobble yet\n");
	printf("\n%s\n", must ? "FAIL: a client broke a MUST of RFC 8555 (see above)"
	                      : "OK: no MUST broken");
	json_decref(rep);
	return must ? 1 : 0;
}
