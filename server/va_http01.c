/* va_http01: the http-01 validator (RFC 8555 §8.3; RFC 8738 §7 for ip identifiers). GET
 * http://<name>:<httpPort>/.well-known/acme-challenge/<token> with libcurl, the address pinned
 * with CURLOPT_RESOLVE after this worker's own DNS lookup (libcurl never resolves a name), and
 * redirects followed here, one hop at a time, under Boulder's rule adapted to a test CA. */
#include "common/util.h"
#include "server/va_classic.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	/* thread-safe since libcurl 7.84; once per process, before any easy handle */
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int va_http01_redirect_target(const char *url, int http_port, int tls_port, struct va_http_target *t,
                              char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	int rc = -1;

	memset(t, 0, sizeof *t);
	if (!u) {
		snprintf(why, whylen, "out of memory parsing the redirect target");
		goto out;
	}
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (uc != CURLUE_OK) {
		snprintf(why, whylen, "the redirect target is not a valid URL (%s)", curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
		snprintf(why, whylen, "the redirect target has no scheme or no host");
		goto out;
	}
	/* Boulder: only http and https */
	if (strcasecmp(scheme, "http") == 0) {
		t->https = false;
	} else if (strcasecmp(scheme, "https") == 0) {
		t->https = true;
	} else {
		snprintf(why, whylen, "redirects to the %.32s scheme are not followed (only http and https)", scheme);
		goto out;
	}
	long p = t->https ? 443 : 80;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		p = strtol(port, NULL, 10);
	/* Boulder allows only 80 and 443; a test CA serves them on httpPort and tlsPort instead */
	if (!t->https && (p == 80 || p == http_port)) {
		t->port = http_port;
	} else if (t->https && (p == 443 || p == tls_port)) {
		t->port = tls_port;
	} else {
		snprintf(why, whylen,
		         "redirects to %s port %ld are not followed (http may use port 80 or httpPort %d, "
		         "https port 443 or tlsPort %d)",
		         t->https ? "https" : "http", p, http_port, tls_port);
		goto out;
	}
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	char *pct = strchr(host, '%'); /* an IPv6 zone id never names an address of the identifier */
	if (pct) {
		snprintf(why, whylen, "redirects to a scoped IPv6 address are not followed");
		goto out;
	}
	if (strlen(host) >= sizeof t->host) {
		snprintf(why, whylen, "the redirect target's host name is too long");
		goto out;
	}
	snprintf(t->host, sizeof t->host, "%s", host);
	util_lower(t->host);
	size_t tl = strlen(t->host);
	if (tl > 1 && t->host[tl - 1] == '.')
		t->host[tl - 1] = '\0';
	t->host_is_ip = va_is_ip(t->host);
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		snprintf(why, whylen, "the redirect target has no path");
		goto out;
	}
	(void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
	int n = snprintf(t->path, sizeof t->path, "%s%s%s", path[0] == '/' ? "" : "/", path, query ? "?" : "");
	if (n < 0 || (size_t)n >= sizeof t->path ||
	    (query && strlen(query) >= sizeof t->path - (size_t)n)) {
		snprintf(why, whylen, "the redirect target's path is longer than %zu bytes", sizeof t->path - 1);
		goto out;
	}
	if (query)
		strcat(t->path, query);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

bool va_http01_body_matches(const char *body, size_t len, const char *key_authz)
{
	/* RFC 8555 §8.3: "the key authorization ... with any trailing whitespace removed" */
	while (len > 0 && strchr(" \t\r\n\v\f", body[len - 1]) && body[len - 1] != '\0')
		len--;
	return len == strlen(key_authz) && memcmp(body, key_authz, len) == 0;
}

void va_http01_url(const struct va_http_target *t, char *out, size_t outlen)
{
	bool v6 = strchr(t->host, ':') != NULL;
	snprintf(out, outlen, "%s://%s%s%s:%d%s", t->https ? "https" : "http", v6 ? "[" : "", t->host, v6 ? "]" : "",
	         t->port, t->path);
}

/* One response, as far as it was read. */
struct fetch {
	char *body;
	size_t len;
	bool too_big;
	long status;
	char location[2048];
	char errbuf[CURL_ERROR_SIZE];
	CURLcode code;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct fetch *f = ctx;
	size_t n = size * nmemb;
	if (f->len + n > VA_HTTP_BODY_MAX) {
		f->too_big = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	f->body = xrealloc(f->body, f->len + n + 1);
	memcpy(f->body + f->len, data, n);
	f->len += n;
	f->body[f->len] = '\0';
	return n;
}

/* GET url from addr (the answer for t->host), within seconds. Fills f; returns the curl code. */
static CURLcode fetch_once(const struct va_http_target *t, const char *url, const char *addr, double seconds,
                           struct fetch *f)
{
	struct curl_slist *resolve = NULL;
	CURL *c = curl_easy_init();
	free(f->body);
	memset(f, 0, sizeof *f);
	if (!c) {
		snprintf(f->errbuf, sizeof f->errbuf, "curl_easy_init failed");
		return f->code = CURLE_FAILED_INIT;
	}
	if (!t->host_is_ip) {
		/* the one address libcurl may use for this name: it never resolves anything itself */
		bool v6 = strchr(addr, ':') != NULL;
		char *entry = xasprintf("%s:%d:%s%s%s", t->host, t->port, v6 ? "[" : "", addr, v6 ? "]" : "");
		resolve = curl_slist_append(NULL, entry);
		free(entry);
	}
	long ms = (long)(seconds * 1000);
	if (ms < 1)
		ms = 1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never an environment proxy */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 5000 ? ms : 5000L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* Boulder: https hops of a redirect chain are not verified */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cobble-va (ACME test CA; +https://github.com/letsencrypt/pebble)");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
	f->code = curl_easy_perform(c);
	if (f->code == CURLE_OK) {
		char *loc = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
		if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
			snprintf(f->location, sizeof f->location, "%s", loc);
	}
	if (!f->errbuf[0])
		snprintf(f->errbuf, sizeof f->errbuf, "%s", curl_easy_strerror(f->code));
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	return f->code;
}

static bool is_connect_failure(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT;
}

static bool is_tls_failure(CURLcode c)
{
	return c == CURLE_SSL_CONNECT_ERROR || c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CIPHER ||
	       c == CURLE_SSL_CERTPROBLEM || c == CURLE_USE_SSL_FAILED;
}

void va_http01(struct va_worker *w, const struct va_job *job, struct va_result *res)
{
	const struct config *cfg = w->srv->cfg;
	json_t *records = json_array();
	struct dns_answer ans = {0};
	struct fetch f = {0};
	struct va_http_target t = {0};
	char url[2400], first[2400], prev[2400] = "", why[512], seen[400];
	double deadline = w->deadline;

	pthread_once(&curl_once, curl_init_once);
	/* RFC 8555 §8.3 (RFC 8738 §7: the address itself for an ip identifier) */
	t.https = false;
	t.port = cfg->http_port;
	snprintf(t.host, sizeof t.host, "%s", job->ident.value);
	t.host_is_ip = strcmp(job->ident.type, "ip") == 0;
	snprintf(t.path, sizeof t.path, "/.well-known/acme-challenge/%s", job->token);

	for (int hop = 0;; hop++) {
		va_http01_url(&t, url, sizeof url);
		if (hop == 0)
			snprintf(first, sizeof first, "%s", url);
		dns_answer_clear(&ans);
		if (va_resolve(w, t.host, &ans, &res->error) < 0) {
			json_array_append_new(records, va_record_entry(url, t.host, t.port, NULL, NULL));
			if (hop > 0) {
				char pre[2600];
				snprintf(pre, sizeof pre, "following the redirect from %s to %s: ", prev, url);
				problem_prefix(&res->error, pre);
			}
			goto out;
		}
		const char *addrs[2];
		size_t naddrs = va_addr_order(&ans, addrs), used;
		if (va_remaining(deadline) <= 0) {
			json_array_append_new(records, va_record_entry(url, t.host, t.port, &ans, NULL));
			problem_set(&res->error, PROB_CONNECTION, 400,
			            "the validation's %.0f s deadline passed while looking up %s (%s); %s was not fetched",
			            VA_DEADLINE_SECONDS, t.host, ans.detail, url);
			goto out;
		}
		char first_err[CURL_ERROR_SIZE + 64] = "";
		for (used = 0;; used++) {
			va_step(w, VA_STEP_HTTP);
			fetch_once(&t, url, addrs[used], va_remaining(deadline), &f);
			/* Boulder: IPv6 first; IPv4 only when connecting over IPv6 failed */
			if (!is_connect_failure(f.code) || used + 1 == naddrs || va_remaining(deadline) <= 0)
				break;
			snprintf(first_err, sizeof first_err, "; address %s failed first: %s", addrs[used], f.errbuf);
		}
		json_array_append_new(records, va_record_entry(url, t.host, t.port, &ans, addrs[used]));
		if (f.too_big) {
			problem_set(&res->error, PROB_UNAUTHORIZED, 403,
			            "the response from %s (address %s) is larger than %d KiB; expected the key "
			            "authorization \"%s\"",
			            url, addrs[used], VA_HTTP_BODY_MAX / 1024, job->key_authz);
			goto out;
		}
		if (f.code != CURLE_OK) {
			bool tls = is_tls_failure(f.code);
			problem_set(&res->error, tls ? PROB_TLS : PROB_CONNECTION, 400, "fetching %s (address %s): %s%s", url,
			            addrs[used], f.errbuf, first_err);
			goto out;
		}
		bool redirect = f.status == 301 || f.status == 302 || f.status == 303 || f.status == 307 ||
		                f.status == 308;
		if (redirect) {
			if (!f.location[0]) {
				problem_set(&res->error, PROB_CONNECTION, 400,
				            "%s (address %s) answered HTTP %ld without a Location header", url, addrs[used],
				            f.status);
				goto out;
			}
			if (hop >= VA_HTTP_MAX_REDIRECTS) {
				problem_set(&res->error, PROB_CONNECTION, 400,
				            "too many redirects: %s answered HTTP %ld to %s after %d redirects already "
				            "(at most %d are followed; first URL: %s)",
				            url, f.status, f.location, hop, VA_HTTP_MAX_REDIRECTS, first);
				goto out;
			}
			snprintf(prev, sizeof prev, "%s", url);
			if (va_http01_redirect_target(f.location, cfg->http_port, cfg->tls_port, &t, why, sizeof why) < 0) {
				problem_set(&res->error, PROB_CONNECTION, 400, "%s (address %s) redirected to %s: %s", url,
				            addrs[used], f.location, why);
				goto out;
			}
			continue;
		}
		if (f.status != 200) {
			va_escape(f.body, f.len, 160, seen, sizeof seen);
			problem_set(&res->error, PROB_UNAUTHORIZED, 403,
			            "%s (address %s) answered HTTP %ld, expected 200 with the key authorization; body: %s",
			            url, addrs[used], f.status, seen);
			goto out;
		}
		if (!va_http01_body_matches(f.body ? f.body : "", f.len, job->key_authz)) {
			va_escape(f.body, f.len, 200, seen, sizeof seen);
			problem_set(&res->error, PROB_INCORRECT_RESPONSE, 403,
			            "the key authorization at %s (address %s) does not match: received %s (%zu bytes), "
			            "expected \"%s\" (trailing whitespace is ignored)",
			            url, addrs[used], seen, f.len, job->key_authz);
			goto out;
		}
		res->ok = true;
		break;
	}
out:
	res->validation_record = json_dumps(records, JSON_COMPACT);
	json_decref(records);
	free(f.body);
	dns_answer_clear(&ans);
}
