/* fuzz_body: libFuzzer target for every ACME resource's request body. A request context without a
 * daemon: the input names a resource and gives the JWS payload; the harness signs it as a client
 * would (protected header with a fresh nonce, the request URL, kid or jwk) and calls the resource's
 * handler from the WFE's route table, so the whole server path runs: wfe_post's JWS checks and
 * signature verification, then the body logic, against a real store, CA, issuer and VA (always
 * valid: nothing leaves the process). The reply goes through server/http.c's reply path; the four
 * libmicrohttpd calls that path makes are answered here (a request header, the client address,
 * suspend/resume), since no daemon runs.
 *
 * Every input starts from the same world, made anew in a fresh store: an account (key K1), a
 * pending order for example.com and *.example.com, a ready order for ready.example.com, and a
 * certificate of this CA for cert.example.com (key K3).
 *
 * Input: byte 0 picks the resource, byte 1 the variant (bits 0-1: which object; bit 2: sign with
 * the other key; bit 3: keyChange's payload as sent, not wrapped in the inner JWS; bit 4:
 * POST-as-GET, no payload), then the payload. In it @ACCT@ (the account URL), @KEY@ (K1's JWK),
 * @NEWKEY@ (K2's), @CERT@ (the certificate, base64url DER), @CSR@ (a CSR for the ready order) and
 * @CERTID@ (the certificate's RFC 9773 certID) are replaced first.
 *
 * Checks: every request is answered (or suspended); no answer is 500 (a client's bytes never make
 * an internal error); every JSON answer parses; nothing leaks or crashes (ASan, UBSan). */
#include "common/b64.h"
#include "common/log.h"
#include "common/util.h"
#include "server/conformance.h"
#include "server/crl.h"
#include "server/faillimit.h"
#include "server/issuer.h"
#include "server/jwk.h"
#include "server/jws.h"
#include "server/va.h"
#include "server/wfe.h"

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define BASE "https://acme.test"

/* ---- the request context: what server/http.c asks libmicrohttpd about a connection ---- */

struct MHD_Connection {
	const char *content_type;
};

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key)
{
	if (kind != MHD_HEADER_KIND || !key)
		return NULL;
	if (strcasecmp(key, "Content-Type") == 0)
		return c->content_type;
	if (strcasecmp(key, "User-Agent") == 0)
		return "fuzz_body";
	return NULL;
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *c, enum MHD_ConnectionInfoType t, ...)
{
	return NULL; /* the client address is "unknown" */
}

void MHD_suspend_connection(struct MHD_Connection *c)
{
}

void MHD_resume_connection(struct MHD_Connection *c)
{
}

/* ---- the world ---- */

static struct config cfg;
static struct server srv = {.cfg = &cfg};
static EVP_PKEY *k1, *k2, *k3;            /* the account's key, another key, the certificate's key */
static char *k1_jwk, *k2_jwk, *k3_jwk, k1_tp[JWK_THUMBPRINT_LEN + 1];
static char *csr_b64, *cert_b64;
static struct cert cert_template;         /* the certificate, as the store held it */

/* This input's objects. */
static struct {
	char acct[STORE_ID_LEN + 1];
	char pending[STORE_ID_LEN + 1], ready[STORE_ID_LEN + 1];
	char authz[3][STORE_ID_LEN + 1];      /* the pending order's two, then the ready order's */
	char chal[3][4][STORE_ID_LEN + 1];    /* their first four challenges */
	char cert[STORE_ID_LEN + 1];
} w;

struct reply {
	int status;
	char location[300];
	char *body;
};

/* A signed POST to path with payload (NULL: POST-as-GET), by key (kid when by_kid), through the
 * route table as server/http.c's dispatch does; *out gets the answer (body: caller frees). */
static void post(const char *path, EVP_PKEY *key, bool by_kid, const char *payload, size_t len,
                 struct reply *out)
{
	char nonce[NONCE_LEN + 1];
	nonce_issue(srv.nonces, nonce);
	char *url = xasprintf(BASE "%s", path);
	json_t *hdr = json_pack("{s:s, s:s}", "nonce", nonce, "url", url);
	if (by_kid) {
		char *kid = xasprintf(BASE PATH_ACCOUNT "%s", w.acct);
		json_object_set_new(hdr, "kid", json_string(kid));
		free(kid);
	} else {
		json_object_set_new(hdr, "jwk", json_loads(key == k1 ? k1_jwk : key == k2 ? k2_jwk : k3_jwk, 0, NULL));
	}
	char *pl = payload ? xmalloc(len + 1) : NULL;
	if (pl) {
		memcpy(pl, payload, len);
		pl[len] = '\0';
	}
	/* jws_sign takes a C string: a payload with a NUL is cut there, as a client's would be */
	char *body = jws_sign(key, hdr, pl ? pl : "");
	json_decref(hdr);
	free(pl);
	if (!body)
		abort();

	struct MHD_Connection conn = {"application/jose+json"};
	struct req *r = xcalloc(1, sizeof *r);
	r->srv = &srv;
	r->conn = &conn;
	r->method = "POST";
	r->path = xstrdup(path);
	r->target = xstrdup(path);
	snprintf(r->reqid, sizeof r->reqid, "fuzz");
	snprintf(r->base, sizeof r->base, "%s", BASE);
	r->body = body;
	r->body_len = strlen(body);
	r->started = util_now_mono();
	const struct http_route *rt = NULL;
	size_t n = 0;
	for (size_t i = 0; i < wfe_nroutes && !rt; i++) {
		n = strlen(wfe_routes[i].path);
		if (wfe_routes[i].prefix ? strncmp(path, wfe_routes[i].path, n) == 0 && path[n] : strcmp(path, wfe_routes[i].path) == 0)
			rt = &wfe_routes[i];
	}
	if (!rt)
		abort();
	if (!wfe_faults(r, rt->name, rt->prefix ? path + n : ""))
		rt->handler(r, rt->prefix ? path + n : "");
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_BODY_VERBOSE") != NULL; /* to see what a seed reaches */
	if (verbose) {
		json_t *j = json_loadb(r->resp ? r->resp : "", r->resp_len, 0, NULL);
		char *flat = j ? json_dumps(j, JSON_COMPACT) : NULL;
		fprintf(stderr, "fuzz_body: POST %s -> %d %.300s\n", path, r->status, flat ? flat : "");
		free(flat);
		json_decref(j);
	}
	/* the checks: an answer, never 500, JSON that parses */
	if (!r->replied && !r->suspended)
		abort();
	if (r->replied) {
		if (r->status < 200 || r->status > 599 || r->status == 500) {
			fprintf(stderr, "fuzz_body: %s answered %d: %.*s\n", path, r->status, (int)r->resp_len, r->resp);
			abort();
		}
		if (r->ctype && strstr(r->ctype, "json")) {
			json_t *j = json_loadb(r->resp, r->resp_len, 0, NULL);
			if (!j)
				abort();
			json_decref(j);
		}
	}
	if (out) {
		out->status = r->status;
		out->location[0] = '\0';
		for (int i = 0; i < r->nhdr; i++)
			if (strcmp(r->hdr[i].name, "Location") == 0)
				snprintf(out->location, sizeof out->location, "%s", r->hdr[i].value);
		out->body = r->resp;
		r->resp = NULL;
	}
	http_req_free(r);
	free(url);
}

/* The id at the end of a URL under prefix (as the server handed it out). */
static void id_from(const char *url, const char *prefix, char id[STORE_ID_LEN + 1])
{
	size_t n = strlen(BASE) + strlen(prefix);
	if (strncmp(url, BASE, strlen(BASE)) != 0 || strlen(url) <= n)
		abort();
	if (strlen(url + n) > STORE_ID_LEN)
		abort();
	memcpy(id, url + n, strlen(url + n) + 1);
}

/* newOrder for the identifiers, through the handler; the order's id and its authorizations'. */
static void new_order(const char *payload, char order_id[STORE_ID_LEN + 1], size_t first_authz)
{
	struct reply rep;
	post(PATH_NEW_ORDER, k1, true, payload, strlen(payload), &rep);
	if (rep.status != 201)
		abort();
	free(rep.body);
	id_from(rep.location, PATH_ORDER, order_id);
	struct order o;
	if (store_order_get(srv.store, order_id, &o) < 0)
		abort();
	for (size_t i = 0; i < o.nidents && first_authz + i < 3; i++) {
		struct authz a;
		snprintf(w.authz[first_authz + i], sizeof w.authz[0], "%s", o.authz_ids[i]);
		if (store_authz_get(srv.store, o.authz_ids[i], &a) < 0)
			abort();
		for (size_t k = 0; k < a.nchal && k < 4; k++)
			snprintf(w.chal[first_authz + i][k], sizeof w.chal[0][0], "%s", a.chal[k].id);
		store_authz_clear(&a);
	}
	store_order_clear(&o);
}

/* Wait until no validation or signing job is left, so that none outlives the store (signing
 * jobs come only from a finalize). */
static void drain(bool signing)
{
	for (size_t pending = 1; pending;) {
		va_stats(srv.va, NULL, &pending, NULL, NULL);
		if (pending)
			usleep(50);
	}
	if (!signing)
		return;
	issuer_free(srv.issuer); /* finishes its queue */
	srv.issuer = issuer_new(&srv, 1, 16);
	if (!srv.issuer)
		abort();
}

/* The world every input starts from, in a fresh store. */
static void world(void)
{
	memset(&w, 0, sizeof w);
	srv.store = store_new();
	struct account a = {.status = ST_VALID, .jwk = k1_jwk, .tos_agreed = true, .nthumbprints = 1};
	snprintf(a.thumbprints[0], sizeof a.thumbprints[0], "%s", k1_tp);
	char other[STORE_ID_LEN + 1];
	if (store_account_add(srv.store, &a, w.acct, other) < 0)
		abort();
	new_order("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"example.com\"},"
	          "{\"type\":\"dns\",\"value\":\"*.example.com\"}]}",
	          w.pending, 0);
	new_order("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"ready.example.com\"}]}", w.ready, 2);
	/* the ready order's authorization is valid, as after a passed challenge */
	bool started = false;
	struct problem p;
	if (store_challenge_start(srv.store, w.authz[2], w.chal[2][0], &started, NULL, &p) < 0 || !started)
		abort();
	const struct validation_outcome ok = {.ok = true, .validation_record = "[]", .valid_lifetime = cfg.authz_lifetime};
	if (store_challenge_finish(srv.store, w.authz[2], w.chal[2][0], &ok) < 0)
		abort();
	if (cert_template.id[0]) {
		struct cert c = cert_template;
		snprintf(c.account_id, sizeof c.account_id, "%s", w.acct);
		snprintf(c.order_id, sizeof c.order_id, "%s", w.ready);
		store_cert_add(srv.store, &c);
		snprintf(w.cert, sizeof w.cert, "%s", c.id);
	}
}

static void world_end(bool signing)
{
	drain(signing);
	store_free(srv.store);
	srv.store = NULL;
	conformance_reset(); /* the report's memory stays flat over millions of inputs */
}

/* A CSR for ready.example.com with key k3, base64url DER. */
static char *make_csr(void)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ready.example.com", -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, k3);
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:ready.example.com"));
	X509_REQ_add_extensions(req, exts);
	if (X509_REQ_sign(req, k3, EVP_sha256()) <= 0)
		abort();
	unsigned char *der = NULL;
	int len = i2d_X509_REQ(req, &der);
	if (len <= 0)
		abort();
	char *b64 = b64url_encode(der, (size_t)len);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return b64;
}

/* The certificate's leaf (the first PEM of its first chain), base64url DER. */
static char *leaf_b64(const struct cert *c)
{
	BIO *bio = BIO_new_mem_buf(c->chains[0], -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : -1;
	if (len <= 0)
		abort();
	char *b64 = b64url_encode(der, (size_t)len);
	OPENSSL_free(der);
	X509_free(x);
	return b64;
}

static void init(void)
{
	log_init(LOG_ERROR, 0);
	config_defaults(&cfg);
	cfg.va_always_valid = true; /* no DNS, no connection: validations end at once */
	cfg.va_sleep_max = 0;
	cfg.va_workers = 1;
	/* Pebble's random knobs, made certain so that an input always does the same */
	cfg.nonce_reject_percent = 0;
	cfg.authz_reuse_percent = 100;
	snprintf(cfg.base_url, sizeof cfg.base_url, "%s", BASE);
	srv.ca = ca_new(&cfg.ca);
	srv.crl = srv.ca ? crl_new(srv.ca) : NULL;
	srv.nonces = nonce_pool_new(1024); /* each input redeems its nonces at once */
	srv.fails = faillimit_new(cfg.fail_limit_identifier, cfg.fail_limit_account, cfg.fail_limit_window);
	char err[256];
	srv.va = va_new(&srv, err, sizeof err);
	srv.issuer = issuer_new(&srv, 1, 16);
	k1 = EVP_EC_gen("P-256");
	k2 = EVP_EC_gen("P-256");
	k3 = EVP_EC_gen("P-256");
	if (!srv.crl || !srv.va || !srv.issuer || !k1 || !k2 || !k3)
		abort();
	k1_jwk = jwk_canonical(k1);
	k2_jwk = jwk_canonical(k2);
	k3_jwk = jwk_canonical(k3);
	if (!k1_jwk || !k2_jwk || !k3_jwk || jwk_thumbprint(k1, k1_tp) < 0)
		abort();
	csr_b64 = make_csr();

	/* the certificate: the ready order finalized through the handler, signed by the issuer */
	world();
	char path[200], *payload = xasprintf("{\"csr\":\"%s\"}", csr_b64);
	snprintf(path, sizeof path, PATH_FINALIZE "%s", w.ready);
	post(path, k1, true, payload, strlen(payload), NULL);
	free(payload);
	drain(true);
	struct order o;
	if (store_order_get(srv.store, w.ready, &o) < 0 || !o.cert_id[0] ||
	    store_cert_get(srv.store, o.cert_id, &cert_template) < 0)
		abort();
	store_order_clear(&o);
	cert_b64 = leaf_b64(&cert_template);
	world_end(false);
}

/* payload with the placeholders replaced (new string, *outlen its length) */
static char *expand(const uint8_t *in, size_t len, size_t *outlen)
{
	char acct_url[300], certid[ARI_CERTID_MAX];
	snprintf(acct_url, sizeof acct_url, BASE PATH_ACCOUNT "%s", w.acct);
	snprintf(certid, sizeof certid, "%s", cert_template.certid);
	const struct {
		const char *name, *value;
	} ph[] = {{"@ACCT@", acct_url}, {"@KEY@", k1_jwk}, {"@NEWKEY@", k2_jwk}, {"@CERT@", cert_b64},
	          {"@CSR@", csr_b64}, {"@CERTID@", certid}};
	size_t cap = len + 1, n = 0;
	char *out = xmalloc(cap);
	for (size_t i = 0; i < len;) {
		const char *v = NULL;
		size_t nl = 0;
		for (size_t k = 0; k < sizeof ph / sizeof ph[0] && !v; k++) {
			nl = strlen(ph[k].name);
			if (len - i >= nl && memcmp(in + i, ph[k].name, nl) == 0)
				v = ph[k].value;
		}
		size_t vl = v ? strlen(v) : 1;
		if (n + vl + 1 > cap)
			out = xrealloc(out, cap = (n + vl + 1) * 2);
		if (v) {
			memcpy(out + n, v, vl);
			i += nl;
		} else {
			out[n] = (char)in[i++];
		}
		n += vl;
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

enum resource { R_NEW_ACCOUNT, R_ACCOUNT, R_ORDERS, R_NEW_ORDER, R_ORDER, R_AUTHZ, R_CHALLENGE, R_FINALIZE,
                R_KEY_CHANGE, R_REVOKE, R_CERT, R_COUNT };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		init();
		ready = true;
	}
	if (size < 2)
		return 0;
	enum resource res = (enum resource)(data[0] % R_COUNT);
	unsigned v = data[1], obj = v & 3;
	bool other_key = v & 4, raw = v & 8, as_get = v & 16;
	world();
	size_t len = 0;
	char *payload = expand(data + 2, size - 2, &len);
	char path[300];
	EVP_PKEY *key = k1;
	bool by_kid = true;
	switch (res) {
	case R_NEW_ACCOUNT: /* a new key, or (other_key) the account's own: onlyReturnExisting and the like */
		snprintf(path, sizeof path, PATH_NEW_ACCOUNT);
		key = other_key ? k1 : k2;
		by_kid = false;
		break;
	case R_ACCOUNT:
		snprintf(path, sizeof path, PATH_ACCOUNT "%s", w.acct);
		break;
	case R_ORDERS:
		snprintf(path, sizeof path, PATH_ACCOUNT "%s/orders%s", w.acct, obj ? "/1" : "");
		break;
	case R_NEW_ORDER:
		snprintf(path, sizeof path, PATH_NEW_ORDER);
		break;
	case R_ORDER:
		snprintf(path, sizeof path, PATH_ORDER "%s", obj & 1 ? w.ready : w.pending);
		break;
	case R_AUTHZ:
		snprintf(path, sizeof path, PATH_AUTHZ "%s", w.authz[obj % 3]);
		break;
	case R_CHALLENGE:
		snprintf(path, sizeof path, PATH_CHALLENGE "%s/%s", w.authz[(v >> 5) % 3], w.chal[(v >> 5) % 3][obj]);
		break;
	case R_FINALIZE:
		snprintf(path, sizeof path, PATH_FINALIZE "%s", obj & 1 ? w.pending : w.ready);
		break;
	case R_KEY_CHANGE:
		snprintf(path, sizeof path, PATH_KEY_CHANGE);
		if (!raw && !as_get) { /* RFC 8555 §7.3.5: the payload is a JWS by the new key */
			json_t *hdr = json_pack("{s:s, s:o}", "url", BASE PATH_KEY_CHANGE, "jwk",
			                        json_loads(other_key ? k1_jwk : k2_jwk, 0, NULL));
			char *inner = jws_sign(other_key ? k1 : k2, hdr, payload);
			json_decref(hdr);
			if (!inner)
				abort();
			free(payload);
			payload = inner;
			len = strlen(inner);
		}
		break;
	case R_REVOKE: /* by the account, or (other_key) by the certificate's key */
		snprintf(path, sizeof path, PATH_REVOKE);
		if (other_key) {
			key = k3;
			by_kid = false;
		}
		break;
	case R_CERT:
		snprintf(path, sizeof path, PATH_CERT "%s", w.cert);
		break;
	default:
		abort();
	}
	post(path, key, by_kid, as_get ? NULL : payload, len, NULL);
	free(payload);
	world_end(res == R_FINALIZE);
	return 0;
}
