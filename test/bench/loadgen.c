/* loadgen: drives whole ACME issuance flows (RFC 8555 §7) against one server and measures it.
 *
 *   loadgen --dir https://localhost:14000/dir --cafile ca.pem [options]
 *
 * N clients, each with its own ES256 account, run newOrder → authz → challenge → poll → finalize
 * → poll → certificate, either closed-loop (each client starts its next flow when one ends) or
 * open-loop at a fixed arrival rate (--rate; latency counted from the scheduled start, so a
 * server that falls behind shows it). Prints a table on stderr and one JSON line on stdout:
 * flows/s, p50/p95/p99 per step and per flow, errors by problem type, the server's CPU ms per
 * flow and peak RSS from /proc/PID (with --server-pid), and this process's own CPU, so a run
 * where the generator is the bottleneck can be told apart. Options: see usage(). */
#include "test/bench/lg.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum step { S_ORDER, S_AUTHZ, S_CHALL, S_AUTHZ_POLL, S_FINALIZE, S_ORDER_POLL, S_CERT, S_FLOW, S_N };
static const char *const step_names[S_N] = {"newOrder", "authz", "challenge", "authzPoll",
                                            "finalize", "orderPoll", "certificate", "flow"};

static struct opts {
	const char *dir, *cafile, *challenge, *suffix, *issuer, *hook, *label;
	char host[256], port[16];
	int clients, server_pid, poll_ms, max_flows;
	double seconds, rate;
	bool fresh, resume, honour_retry_after, conn_only;
} O = {.challenge = NULL, .suffix = "bench.test", .issuer = "cobble.test", .label = "server",
       .clients = 4, .poll_ms = 1, .seconds = 5};

struct samples {
	double *v;
	size_t n, cap;
};

struct errcount {
	char type[128];
	unsigned long n;
};

struct client {
	int id;
	pthread_t th;
	struct lg_conn conn;
	struct lg_key acct, certkey;
	char kid[LG_URL_MAX], nonce[LG_NONCE_MAX];
	struct samples s[S_N];
	struct errcount errs[16];
	unsigned long flows, polls, bad_nonce_retries;
};

static struct dirurls {
	char new_nonce[LG_URL_MAX], new_account[LG_URL_MAX], new_order[LG_URL_MAX];
} D;

static double t_start, t_deadline;
static atomic_ulong next_flow;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sample(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
}

static void count_error(struct client *c, const char *type)
{
	for (size_t i = 0; i < sizeof c->errs / sizeof c->errs[0]; i++) {
		if (!c->errs[i].type[0])
			snprintf(c->errs[i].type, sizeof c->errs[i].type, "%s", type);
		if (strcmp(c->errs[i].type, type) == 0) {
			c->errs[i].n++;
			return;
		}
	}
}

/* The path of an absolute URL on the server under test (every URL is on that one server). */
static const char *path_of(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "/";
}

/* POST a JWS to url (payload NULL: POST-as-GET). Retries badNonce (RFC 8555 §6.5) up to 3 times.
 * On an error response counts its problem type and returns -1. */
static int post(struct client *c, const char *url, const char *payload, bool use_kid, struct lg_resp *r)
{
	char err[256];
	for (int attempt = 0;; attempt++) {
		char *jws = lg_jws(use_kid ? &c->acct : &c->acct, use_kid ? c->kid : NULL, c->nonce, url, payload);
		if (!jws) {
			count_error(c, "client:jws");
			return -1;
		}
		int rc = lg_http(&c->conn, "POST", path_of(url), jws, r, err, sizeof err);
		free(jws);
		if (rc < 0) {
			char t[160], where[40];
			const char *pa = path_of(url);
			snprintf(where, sizeof where, "%.*s", (int)strcspn(pa + 1, "/") + 1, pa);
			snprintf(t, sizeof t, "transport:%s:%.100s", where, err);
			count_error(c, t);
			c->nonce[0] = '\0';
			return -1;
		}
		if (r->nonce[0])
			snprintf(c->nonce, sizeof c->nonce, "%s", r->nonce);
		if (r->status < 400)
			return 0;
		json_t *j = json_loads(r->body, 0, NULL);
		const char *type = json_string_value(json_object_get(j, "type"));
		char t[128];
		snprintf(t, sizeof t, "%s", type ? type : "http-error");
		json_decref(j);
		if (strstr(t, ":badNonce") && attempt < 3 && r->nonce[0]) {
			c->bad_nonce_retries++;
			lg_resp_free(r);
			continue;
		}
		char *p = strrchr(t, ':');
		count_error(c, p ? p + 1 : t);
		return -1;
	}
}

static int get_nonce(struct client *c)
{
	struct lg_resp r;
	char err[256];
	if (lg_http(&c->conn, "HEAD", path_of(D.new_nonce), NULL, &r, err, sizeof err) < 0 || !r.nonce[0]) {
		count_error(c, "transport:newNonce");
		if (r.body)
			lg_resp_free(&r);
		return -1;
	}
	snprintf(c->nonce, sizeof c->nonce, "%s", r.nonce);
	lg_resp_free(&r);
	return 0;
}

static json_t *post_json(struct client *c, const char *url, const char *payload, struct lg_resp *r)
{
	if (post(c, url, payload, true, r) < 0)
		return NULL;
	json_t *j = json_loads(r->body, 0, NULL);
	if (!j)
		count_error(c, "client:unparsable-json");
	return j;
}

static void poll_wait(struct client *c, const struct lg_resp *r)
{
	c->polls++;
	if (O.honour_retry_after && r->retry_after > 0)
		usleep((useconds_t)r->retry_after * 1000000u);
	else if (O.poll_ms > 0)
		usleep((useconds_t)O.poll_ms * 1000u);
}

/* Poll url (POST-as-GET) until its status is `want`; 0 when it is, -1 otherwise. */
static int poll_until(struct client *c, const char *url, const char *want, json_t **last)
{
	for (int i = 0; i < 5000; i++) {
		struct lg_resp r;
		json_t *j = post_json(c, url, NULL, &r);
		if (!j) {
			lg_resp_free(&r);
			return -1;
		}
		const char *st = json_string_value(json_object_get(j, "status"));
		if (st && strcmp(st, want) == 0) {
			*last = j;
			lg_resp_free(&r);
			return 0;
		}
		if (!st || strcmp(st, "invalid") == 0) {
			json_t *e = json_object_get(j, "error");
			const char *t = json_string_value(json_object_get(e, "type"));
			char msg[160];
			snprintf(msg, sizeof msg, "invalid:%.100s", t ? (strrchr(t, ':') ? strrchr(t, ':') + 1 : t) : "no-error");
			count_error(c, msg);
			json_decref(j);
			lg_resp_free(&r);
			return -1;
		}
		poll_wait(c, &r);
		json_decref(j);
		lg_resp_free(&r);
	}
	count_error(c, "client:poll-limit");
	return -1;
}

static void name_for(const struct client *c, unsigned long k, char *name, size_t n)
{
	/* dns-persist-01: one record per account at its own name (authorization reuse is off) */
	if (O.challenge && strcmp(O.challenge, "dns-persist-01") == 0)
		snprintf(name, n, "c%d.%s", c->id, O.suffix);
	else
		snprintf(name, n, "f%lu.c%d.%s", k, c->id, O.suffix);
}

/* One whole issuance flow. Returns 0 when a certificate was downloaded. */
static int run_flow(struct client *c, unsigned long k, double t0)
{
	char name[300], url[LG_URL_MAX], finalize[LG_URL_MAX], authz[LG_URL_MAX], chall[LG_URL_MAX];
	struct lg_resp r = {0};
	json_t *j = NULL, *done = NULL;
	int rc = -1;
	double t = t0, t1;
	if (!c->nonce[0] && get_nonce(c) < 0)
		return -1;
	name_for(c, k, name, sizeof name);
	char payload[512];
	snprintf(payload, sizeof payload, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);
	if (!(j = post_json(c, D.new_order, payload, &r)))
		goto out;
	snprintf(url, sizeof url, "%s", r.location);
	snprintf(finalize, sizeof finalize, "%s", json_string_value(json_object_get(j, "finalize")) ?: "");
	snprintf(authz, sizeof authz, "%s",
	         json_string_value(json_array_get(json_object_get(j, "authorizations"), 0)) ?: "");
	sample(&c->s[S_ORDER], ((t1 = now()) - t) * 1000), t = t1;
	json_decref(j), lg_resp_free(&r);
	if (!(j = post_json(c, authz, NULL, &r)))
		goto out;
	chall[0] = '\0';
	size_t i;
	json_t *ch;
	json_array_foreach(json_object_get(j, "challenges"), i, ch)
	{
		const char *type = json_string_value(json_object_get(ch, "type"));
		const char *u = json_string_value(json_object_get(ch, "url"));
		bool want = O.challenge ? type && strcmp(type, O.challenge) == 0 : !chall[0];
		if (want && u)
			snprintf(chall, sizeof chall, "%s", u);
	}
	if (!chall[0]) {
		count_error(c, "client:no-such-challenge");
		goto out;
	}
	sample(&c->s[S_AUTHZ], ((t1 = now()) - t) * 1000), t = t1;
	json_decref(j), lg_resp_free(&r);
	if (!(j = post_json(c, chall, "{}", &r)))
		goto out;
	sample(&c->s[S_CHALL], ((t1 = now()) - t) * 1000), t = t1;
	json_decref(j), j = NULL, lg_resp_free(&r);
	if (poll_until(c, authz, "valid", &done) < 0)
		goto out;
	json_decref(done), done = NULL;
	sample(&c->s[S_AUTHZ_POLL], ((t1 = now()) - t) * 1000), t = t1;
	char *csr = lg_csr(&c->certkey, name);
	if (!csr) {
		count_error(c, "client:csr");
		goto out;
	}
	snprintf(payload, sizeof payload, "{\"csr\":\"%s\"}", csr);
	free(csr);
	if (!(j = post_json(c, finalize, payload, &r)))
		goto out;
	sample(&c->s[S_FINALIZE], ((t1 = now()) - t) * 1000), t = t1;
	const char *st = json_string_value(json_object_get(j, "status"));
	if (st && strcmp(st, "valid") == 0) {
		done = json_incref(j);
	} else if (poll_until(c, url, "valid", &done) < 0) {
		goto out;
	}
	json_decref(j), j = NULL, lg_resp_free(&r);
	sample(&c->s[S_ORDER_POLL], ((t1 = now()) - t) * 1000), t = t1;
	const char *cert = json_string_value(json_object_get(done, "certificate"));
	if (!cert) {
		count_error(c, "client:no-certificate-url");
		goto out;
	}
	if (post(c, cert, NULL, true, &r) < 0)
		goto out;
	if (!strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
		count_error(c, "client:no-pem-chain");
		goto out;
	}
	sample(&c->s[S_CERT], ((t1 = now()) - t) * 1000), t = t1;
	sample(&c->s[S_FLOW], (t - t0) * 1000);
	c->flows++;
	rc = 0;
out:
	json_decref(j);
	json_decref(done);
	lg_resp_free(&r);
	return rc;
}

/* --connections: a new TLS connection, one GET of the directory, close — the cost of a
 * connection as curl-based clients pay it, without the ACME work. */
static void run_connection(struct client *c, double t0)
{
	struct lg_resp r;
	char err[256];
	if (lg_http(&c->conn, "GET", path_of(O.dir), NULL, &r, err, sizeof err) < 0) {
		char t[160];
		snprintf(t, sizeof t, "transport:%.100s", err);
		count_error(c, t);
		return;
	}
	if (r.status == 200) {
		sample(&c->s[S_FLOW], (now() - t0) * 1000);
		c->flows++;
	} else {
		count_error(c, "http-error");
	}
	lg_resp_free(&r);
}

static int new_account(struct client *c)
{
	struct lg_resp r = {0};
	if (get_nonce(c) < 0 || post(c, D.new_account, "{\"termsOfServiceAgreed\":true}", false, &r) < 0 ||
	    !r.location[0]) {
		lg_resp_free(&r);
		return -1;
	}
	snprintf(c->kid, sizeof c->kid, "%s", r.location);
	lg_resp_free(&r);
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	for (;;) {
		unsigned long k = atomic_fetch_add(&next_flow, 1);
		if (O.max_flows > 0 && k >= (unsigned long)O.max_flows)
			break;
		double t0 = now();
		if (O.rate > 0) { /* open loop: flow k starts at its slot whatever happened before */
			t0 = t_start + (double)k / O.rate;
			if (t0 >= t_deadline)
				break;
			double wait = t0 - now();
			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
		} else if (t0 >= t_deadline) {
			break;
		}
		if (O.conn_only)
			run_connection(c, t0);
		else
			run_flow(c, k, t0);
	}
	return NULL;
}

/* utime+stime of a process in ms (/proc/PID/stat fields 14, 15). */
static double proc_cpu_ms(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return NAN;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* A /proc/PID/status field in kB (VmHWM: peak RSS, VmRSS: now). */
static long proc_status_kb(int pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t fl = strlen(field);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = atol(line + fl + 1);
	if (f)
		fclose(f);
	return v;
}

static double self_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const struct samples *s, double p)
{
	if (!s->n)
		return NAN;
	size_t i = (size_t)ceil(p / 100.0 * (double)s->n);
	return s->v[i ? i - 1 : 0];
}

static json_t *num(double v)
{
	return isnan(v) ? json_null() : json_real(round(v * 1000) / 1000);
}

static int read_directory(struct lg_conn *conn)
{
	struct lg_resp r;
	char err[256];
	if (lg_http(conn, "GET", path_of(O.dir), NULL, &r, err, sizeof err) < 0) {
		fprintf(stderr, "loadgen: GET %s: %s\n", O.dir, err);
		return -1;
	}
	json_t *j = json_loads(r.body, 0, NULL);
	const char *nn = json_string_value(json_object_get(j, "newNonce"));
	const char *na = json_string_value(json_object_get(j, "newAccount"));
	const char *no = json_string_value(json_object_get(j, "newOrder"));
	int rc = nn && na && no ? 0 : -1;
	if (rc == 0) {
		snprintf(D.new_nonce, sizeof D.new_nonce, "%s", nn);
		snprintf(D.new_account, sizeof D.new_account, "%s", na);
		snprintf(D.new_order, sizeof D.new_order, "%s", no);
	} else {
		fprintf(stderr, "loadgen: %s is not an ACME directory (status %d)\n", O.dir, r.status);
	}
	json_decref(j);
	lg_resp_free(&r);
	return rc;
}

/* dns-persist-01: one TXT record per account (draft-ietf-acme-dns-persist §3), written to a file
 * handed to --persist-hook, which publishes them (the bench script uses knotc). */
static int publish_records(struct client *cl, int n)
{
	char path[] = "/tmp/loadgen-records.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		fprintf(f, "_validation-persist.c%d.%s. 300 TXT \"%s; accounturi=%s\"\n", cl[i].id, O.suffix,
		        O.issuer, cl[i].kid);
	fclose(f);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s", O.hook, path);
	int rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fprintf(stderr, "loadgen: --persist-hook failed (status %d)\n", rc);
	return rc == 0 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: loadgen --dir URL --cafile PEM [options]\n"
	        "  -c N                 concurrent clients, each with its own account (4)\n"
	        "  -d SECONDS           how long to start flows (5)\n"
	        "  -n FLOWS             stop after this many flows (whichever comes first)\n"
	        "  --mode keepalive|fresh  one connection per client, or a new one per request\n"
	        "  --resume             in fresh mode, resume the TLS session when reconnecting\n"
	        "  --connections        no ACME: each 'flow' is a new TLS connection and one GET of the\n"
	        "                       directory (any HTTPS server; no accounts)\n"
	        "  --rate R             open loop: R flows/s arrive whatever the server does\n"
	        "  --challenge TYPE     challenge to answer (default: the first offered)\n"
	        "  --suffix ZONE        names are under ZONE (bench.test)\n"
	        "  --issuer NAME        dns-persist-01 issuer domain name (cobble.test)\n"
	        "  --persist-hook CMD   dns-persist-01: CMD FILE publishes the records in FILE\n"
	        "  --poll-ms MS         pause between polls (1); --retry-after honours Retry-After\n"
	        "  --server-pid PID     read the server's CPU and RSS from /proc/PID\n"
	        "  --label NAME         name in the output (server)\n"
	        "Every read and write has a 10 s deadline; LOADGEN_DEBUG=1 describes each transport failure.\n");
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (strcmp(a, "--dir") == 0 && v) O.dir = v;
		else if (strcmp(a, "--cafile") == 0 && v) O.cafile = v;
		else if (strcmp(a, "-c") == 0 && v) O.clients = atoi(v);
		else if (strcmp(a, "-d") == 0 && v) O.seconds = atof(v);
		else if (strcmp(a, "-n") == 0 && v) O.max_flows = atoi(v);
		else if (strcmp(a, "--mode") == 0 && v) O.fresh = strcmp(v, "fresh") == 0;
		else if (strcmp(a, "--rate") == 0 && v) O.rate = atof(v);
		else if (strcmp(a, "--challenge") == 0 && v) O.challenge = v;
		else if (strcmp(a, "--suffix") == 0 && v) O.suffix = v;
		else if (strcmp(a, "--issuer") == 0 && v) O.issuer = v;
		else if (strcmp(a, "--persist-hook") == 0 && v) O.hook = v;
		else if (strcmp(a, "--poll-ms") == 0 && v) O.poll_ms = atoi(v);
		else if (strcmp(a, "--server-pid") == 0 && v) O.server_pid = atoi(v);
		else if (strcmp(a, "--label") == 0 && v) O.label = v;
		else {
			takes = false;
			if (strcmp(a, "--resume") == 0) O.resume = true;
			else if (strcmp(a, "--retry-after") == 0) O.honour_retry_after = true;
			else if (strcmp(a, "--connections") == 0) O.conn_only = O.fresh = true;
			else { usage(); return -1; }
		}
		if (takes)
			i++;
	}
	if (!O.dir || !O.cafile || O.clients < 1 || O.clients > 1024 || O.seconds <= 0) {
		usage();
		return -1;
	}
	const char *h = strstr(O.dir, "://");
	h = h ? h + 3 : O.dir;
	size_t hl = strcspn(h, ":/");
	if (hl == 0 || hl >= sizeof O.host) {
		fprintf(stderr, "loadgen: no host in %s\n", O.dir);
		return -1;
	}
	memcpy(O.host, h, hl);
	O.host[hl] = '\0';
	if (h[hl] == ':')
		snprintf(O.port, sizeof O.port, "%.*s", (int)strcspn(h + hl + 1, "/"), h + hl + 1);
	else
		snprintf(O.port, sizeof O.port, "443");
	return 0;
}

void lg_report(struct client *cl, int n, double secs, double srv_cpu, double gen_cpu, long hwm, long rss);

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0)
		return 2;
	char err[256];
	SSL_CTX *ctx = lg_tls_ctx(O.cafile, err, sizeof err);
	if (!ctx) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 2;
	}
	struct client *cl = calloc((size_t)O.clients, sizeof *cl);
	struct lg_conn dconn;
	lg_conn_init(&dconn, ctx, O.host, O.port, false, false);
	int rc = cl && (O.conn_only || read_directory(&dconn) == 0) ? 0 : 1;
	lg_conn_free(&dconn);
	/* set-up, not measured: accounts, their keys, and the dns-persist-01 records */
	for (int i = 0; rc == 0 && i < O.clients; i++) {
		struct client *c = &cl[i];
		c->id = i;
		lg_conn_init(&c->conn, ctx, O.host, O.port, O.fresh, O.resume);
		if (O.conn_only)
			continue;
		if (lg_key_new(&c->acct) < 0 || lg_key_new(&c->certkey) < 0 || new_account(c) < 0) {
			fprintf(stderr, "loadgen: client %d could not create its account (%s)\n", i,
			        c->errs[0].type[0] ? c->errs[0].type : "key generation");
			rc = 1;
		}
	}
	if (rc == 0 && O.hook && publish_records(cl, O.clients) < 0)
		rc = 1;
	if (rc == 0) {
		double srv0 = O.server_pid ? proc_cpu_ms(O.server_pid) : NAN, gen0 = self_cpu_ms();
		t_start = now();
		t_deadline = t_start + O.seconds;
		for (int i = 0; i < O.clients; i++)
			pthread_create(&cl[i].th, NULL, client_main, &cl[i]);
		for (int i = 0; i < O.clients; i++)
			pthread_join(cl[i].th, NULL);
		double secs = now() - t_start;
		double srv = O.server_pid ? proc_cpu_ms(O.server_pid) - srv0 : NAN;
		lg_report(cl, O.clients, secs, srv, self_cpu_ms() - gen0,
		          O.server_pid ? proc_status_kb(O.server_pid, "VmHWM") : -1,
		          O.server_pid ? proc_status_kb(O.server_pid, "VmRSS") : -1);
	}
	for (int i = 0; cl && i < O.clients; i++) {
		lg_conn_free(&cl[i].conn);
		lg_key_free(&cl[i].acct);
		lg_key_free(&cl[i].certkey);
		for (int s = 0; s < S_N; s++)
			free(cl[i].s[s].v);
	}
	free(cl);
	SSL_CTX_free(ctx);
	return rc;
}

/* Merge every client's figures; the table to stderr, the JSON line to stdout. */
void lg_report(struct client *cl, int n, double secs, double srv_cpu, double gen_cpu, long hwm, long rss)
{
	struct samples all[S_N] = {0};
	unsigned long flows = 0, polls = 0, retries = 0, connects = 0, resumed = 0;
	json_t *errs = json_object();
	for (int i = 0; i < n; i++) {
		flows += cl[i].flows;
		polls += cl[i].polls;
		retries += cl[i].bad_nonce_retries;
		connects += cl[i].conn.connects;
		resumed += cl[i].conn.resumed;
		for (int s = 0; s < S_N; s++)
			for (size_t k = 0; k < cl[i].s[s].n; k++)
				sample(&all[s], cl[i].s[s].v[k]);
		for (size_t e = 0; e < sizeof cl[i].errs / sizeof cl[i].errs[0] && cl[i].errs[e].type[0]; e++) {
			json_t *v = json_object_get(errs, cl[i].errs[e].type);
			json_object_set_new(errs, cl[i].errs[e].type,
			                    json_integer((json_integer_value(v)) + (json_int_t)cl[i].errs[e].n));
		}
	}
	double f = flows ? (double)flows : NAN;
	json_t *o = json_pack("{s:s,s:s,s:i,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:I}",
	    "label", O.label, "mode", O.conn_only ? (O.resume ? "connections-resume" : "connections")
	    : O.fresh ? (O.resume ? "fresh-resume" : "fresh") : "keepalive",
	    "clients", n, "rate", O.rate > 0 ? json_real(O.rate) : json_null(), "seconds", num(secs),
	    "flows", (json_int_t)flows, "flowsPerSecond", num((double)flows / secs),
	    "serverCpuMsPerFlow", num(srv_cpu / f), "serverCpuCores", num(srv_cpu / 1000 / secs),
	    "serverPeakRssKb", hwm >= 0 ? json_integer(hwm) : json_null(),
	    "serverRssKb", rss >= 0 ? json_integer(rss) : json_null(),
	    "generatorCpuMsPerFlow", num(gen_cpu / f), "connections", (json_int_t)connects,
	    "resumedConnections", (json_int_t)resumed, "pollsPerFlow", num((double)polls / f),
	    "generatorCpuCores", num(gen_cpu / 1000 / secs), "badNonceRetries", (json_int_t)retries);
	json_t *lat = json_object();
	const char *what = O.conn_only ? "connections" : "flows";
	fprintf(stderr, "%s: %lu %s in %.2f s = %.1f %s/s (%d clients, %s%s)\n", O.label, flows, what, secs,
	        (double)flows / secs, what, n, O.fresh ? "fresh connection per request" : "keep-alive",
	        O.rate > 0 ? ", open loop" : "");
	fprintf(stderr, "  %-12s %9s %9s %9s %8s\n", "step (ms)", "p50", "p95", "p99", "count");
	for (int s = 0; s < S_N; s++) {
		if (!all[s].n)
			continue;
		qsort(all[s].v, all[s].n, sizeof(double), cmp_double);
		json_object_set_new(lat, step_names[s],
		                    json_pack("{s:o,s:o,s:o}", "p50", num(pct(&all[s], 50)), "p95",
		                              num(pct(&all[s], 95)), "p99", num(pct(&all[s], 99))));
		fprintf(stderr, "  %-12s %9.2f %9.2f %9.2f %8zu\n", step_names[s], pct(&all[s], 50),
		        pct(&all[s], 95), pct(&all[s], 99), all[s].n);
		free(all[s].v);
	}
	json_object_set_new(o, "latencyMs", lat);
	json_object_set_new(o, "errors", errs);
	json_int_t nerr = 0;
	json_t *ev;
	const char *ek;
	json_object_foreach(errs, ek, ev) nerr += json_integer_value(ev);
	json_object_set_new(o, "errorsTotal", json_integer(nerr));
	fprintf(stderr, "  server CPU %.2f ms/flow (%.2f cores), peak RSS %ld kB, RSS now %ld kB\n",
	        srv_cpu / f, srv_cpu / 1000 / secs, hwm, rss);
	fprintf(stderr, "  generator CPU %.2f ms/flow (%.2f cores); %lu connections (%lu resumed)\n",
	        gen_cpu / f, gen_cpu / 1000 / secs, connects, resumed);
	const char *k;
	json_t *v;
	json_object_foreach(errs, k, v) fprintf(stderr, "  error %s: %lld\n", k, (long long)json_integer_value(v));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}
