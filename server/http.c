/* http: libmicrohttpd daemons, routing by the callers' tables, per-request state and the one reply
 * path. */
#include "server/http.h"
#include "server/http_guard.h"
#include "server/http_tls.h"
#include "common/log.h"
#include "common/util.h"
#include "server/nonce.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT_T;
#else
typedef enum MHD_Result MHD_RESULT_T;
#endif

static struct MHD_Daemon *acme_daemon, *mgmt_daemon, *crl_daemon;
static struct http_guard *acme_guard, *mgmt_guard, *crl_guard;
static struct server *the_server;
static const struct http_site *acme_site, *mgmt_site, *crl_site; /* borrowed from http_start's caller */

/* ---- the reply path ---- */

static void set_reply(struct req *r, int status, const char *ctype, char *body, size_t len)
{
	if (r->replied) { /* a handler bug; keep the first answer */
		log_msg(LOG_ERROR, r->reqid, "second reply for %s %s ignored", r->method, r->path);
		free(body);
		return;
	}
	r->replied = true;
	r->status = status;
	r->ctype = ctype;
	r->resp = body;
	r->resp_len = len;
}

void http_reply_raw(struct req *r, int status, const char *ctype, char *body, size_t len)
{
	set_reply(r, status, ctype, body, len);
}

void http_reply_json(struct req *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (!s) {
		struct problem p;
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "could not encode the response");
		http_reply_problem(r, &p);
		return;
	}
	set_reply(r, status, "application/json", s, strlen(s));
}

void http_reply_problem(struct req *r, const struct problem *p)
{
	json_t *o = problem_to_json(p);
	char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!s)
		s = xstrdup("{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}");
	log_msg(p->status >= 500 ? LOG_ERROR : LOG_INFO, r->reqid, "problem %s (%d): %s", p->type,
	        p->status, p->detail);
	if (!r->replied)
		r->ptype = p->type;
	set_reply(r, p->status, "application/problem+json", s, strlen(s));
}

void http_add_header(struct req *r, const char *name, const char *fmt, ...)
{
	if (r->nhdr >= HTTP_MAX_HEADERS)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *v = NULL;
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (!v)
		return;
	r->hdr[r->nhdr].name = name;
	r->hdr[r->nhdr].value = v;
	r->nhdr++;
}

void http_req_free(struct req *r)
{
	free(r->path);
	free(r->target);
	free(r->body);
	free(r->resp);
	for (int i = 0; i < r->nhdr; i++)
		free(r->hdr[i].value);
	free(r);
}

void http_suspend(struct req *r, void (*cont)(struct req *r))
{
	r->resume = cont;
	r->suspended = true;
	MHD_suspend_connection(r->conn);
}

void http_resume(struct req *r)
{
	MHD_resume_connection(r->conn);
}

struct conf_who http_who(struct req *r)
{
	return (struct conf_who){.request = true, .account = r->account, .ua = http_header(r, "User-Agent"),
	                         .base = r->base, .path = r->path};
}

void http_client_ip(struct req *r, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	snprintf(out, outlen, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)outlen);
}

const char *http_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- request handling ---- */

static void set_base(struct req *r)
{
	const struct config *c = r->srv->cfg;
	if (!r->mgmt && config_fixed_base(c, r->base, sizeof r->base))
		return;
	const char *host = http_header(r, "Host");
	/* Host is attacker-controlled text that ends up in URLs: keep it to host[:port] characters */
	bool ok = host && *host && strlen(host) < 256;
	for (const char *p = host; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     strchr(".-:[]_", *p);
	snprintf(r->base, sizeof r->base, "https://%s", ok ? host : "localhost");
}

static void dispatch(struct req *r)
{
	struct problem p;
	int m = strcmp(r->method, "GET") == 0    ? HTTP_GET
	        : strcmp(r->method, "HEAD") == 0 ? HTTP_HEAD
	        : strcmp(r->method, "POST") == 0 ? HTTP_POST
	                                         : 0;
	if (r->too_big) {
		problem_set(&p, PROB_MALFORMED, 413, "request body over %d bytes; ACME messages are small",
		            HTTP_MAX_BODY);
		http_reply_problem(r, &p);
		return;
	}
	const struct http_site *site = r->crl ? crl_site : r->mgmt ? mgmt_site : acme_site;
	for (size_t i = 0; i < site->nroutes; i++) {
		const struct http_route *rt = &site->routes[i];
		size_t n = strlen(rt->path);
		bool match = rt->prefix ? strncmp(r->path, rt->path, n) == 0 && r->path[n] != '\0'
		                        : strcmp(r->path, rt->path) == 0;
		if (!match)
			continue;
		if (!(m & rt->methods)) {
			if (rt->methods == HTTP_POST) {
				const struct conf_who who = http_who(r);
				if (m == HTTP_GET)
					conformance_note(CONF_GET_NOT_POST_AS_GET, &who, "GET %s", r->path);
				problem_set(&p, PROB_MALFORMED, 405,
				            "%s %s: this resource is read with POST-as-GET (RFC 8555 §6.3), a "
				            "JWS-signed POST with an empty payload",
				            r->method, r->path);
				http_add_header(r, "Allow", "POST");
			} else {
				problem_set(&p, PROB_MALFORMED, 405, "%s %s: use GET", r->method, r->path);
				http_add_header(r, "Allow", "GET, HEAD");
			}
			http_reply_problem(r, &p);
			return;
		}
		/* e.g. the ACME listener's injected errors (the management listener's /inject) */
		if (site->before && site->before(r, rt->name, rt->prefix ? r->path + n : ""))
			return;
		rt->handler(r, rt->prefix ? r->path + n : "");
		return;
	}
	if (site->fallback) {
		site->fallback(r, r->path);
		return;
	}
	problem_set(&p, PROB_MALFORMED, 404, "no ACME resource at %s; the directory is at %s%s", r->path,
	            r->base, site->index_path);
	http_reply_problem(r, &p);
}

static MHD_RESULT_T send_reply(struct req *r)
{
	if (!r->replied) {
		struct problem p;
		problem_set(&p, PROB_SERVER_INTERNAL, 500, "no response was produced for %s %s", r->method,
		            r->path);
		http_reply_problem(r, &p);
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(r->resp_len, r->resp ? r->resp : (char *)"",
	                                    r->resp ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->resp = NULL;
	if (r->ctype)
		MHD_add_response_header(resp, "Content-Type", r->ctype);
	if (!r->mgmt && !r->crl) {
		/* RFC 8555 §6.5: every response carries a fresh nonce; §7.1: Link to the directory */
		char nonce[NONCE_LEN + 1];
		nonce_issue(r->srv->nonces, nonce);
		MHD_add_response_header(resp, "Replay-Nonce", nonce);
		const struct conf_who who = http_who(r);
		conformance_reply(&who, r->ptype, nonce);
		char link[400];
		snprintf(link, sizeof link, "<%s%s>;rel=\"index\"", r->base, acme_site->index_path);
		if (strcmp(r->path, acme_site->index_path) != 0)
			MHD_add_response_header(resp, "Link", link);
	}
	bool cache_set = false;
	for (int i = 0; i < r->nhdr; i++) {
		MHD_add_response_header(resp, r->hdr[i].name, r->hdr[i].value);
		cache_set |= strcmp(r->hdr[i].name, "Cache-Control") == 0;
	}
	if (!cache_set)
		MHD_add_response_header(resp, "Cache-Control", "public, max-age=0, no-cache");
	MHD_RESULT_T rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static MHD_RESULT_T on_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
	struct req *r = *con_cls;
	if (!r->conn) { /* the first call: r came from on_uri with the raw request target */
		r->srv = the_server;
		r->conn = conn;
		r->mgmt = cls == (void *)&mgmt_daemon;
		r->crl = cls == (void *)&crl_daemon;
		r->method = method;
		const char *q = strchr(url, '?');
		r->path = q ? xstrndup(url, (size_t)(q - url)) : xstrdup(url);
		util_random_hex(r->reqid, 8);
		r->started = util_now_mono();
		set_base(r);
		*con_cls = r;
		/* RFC 9110 §15.5.14: a declared body far over the limit is refused before a byte of it is
		 * read; one a little over is read and dropped, so that a client still sending it can read
		 * the 413 instead of meeting a closed connection */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY_DRAIN) {
			r->too_big = true;
			dispatch(r);
			return send_reply(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!r->too_big) {
			if (r->body_len + *upload_data_size > HTTP_MAX_BODY) {
				r->too_big = true;
				free(r->body);
				r->body = NULL;
				r->body_len = 0;
			} else {
				r->body = xrealloc(r->body, r->body_len + *upload_data_size + 1);
				memcpy(r->body + r->body_len, upload_data, *upload_data_size);
				r->body_len += *upload_data_size;
				r->body[r->body_len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	http_guard_request_in(conn); /* headers and body are in: the request deadline stops */
	if (r->suspended) { /* called again after http_resume */
		void (*cont)(struct req *) = r->resume;
		r->suspended = false;
		r->resume = NULL;
		cont(r);
		return send_reply(r);
	}
	dispatch(r);
	if (r->suspended && !r->replied)
		return MHD_YES;
	return send_reply(r);
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request target exactly as sent (before MHD splits off the
 * query and unescapes %XX), which RFC 8555 §6.4 compares with the JWS "url". Its return value
 * is the request's state from here on (on_request, on_completed free it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *r = xcalloc(1, sizeof *r);
	r->target = xstrdup(uri ? uri : "");
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	http_guard_request_done(conn);
	if (!r)
		return;
	if (!r->conn) { /* the headers never reached on_request (MHD refused them itself) */
		free(r->target);
		free(r);
		*con_cls = NULL;
		return;
	}
	double ms = (util_now_mono() - r->started) * 1000.0;
	log_msg(LOG_INFO, r->reqid, "%s %s %s%s%s -> %d %.1fms", r->mgmt ? "mgmt" : r->crl ? "crl" : "acme", r->method,
	        r->path, r->account[0] ? " account=" : "", r->account, r->status, ms);
	http_req_free(r);
	*con_cls = NULL;
}

/* microhttpd's last complaint, to explain a failed start (per thread: MHD's own threads log too,
 * and a failed start logs in the thread that called MHD_start_daemon) */
static _Thread_local char mhd_last_error[256];

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	snprintf(mhd_last_error, sizeof mhd_last_error, "%s", buf);
	log_msg(LOG_DEBUG, NULL, "microhttpd: %s", buf);
}

/* Resolve "HOST:PORT" ("[v6]:PORT" too) to a socket address; no DNS beyond /etc/hosts. */
static int parse_listen(const char *hostport, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host) {
		snprintf(err, errlen, "listen address \"%s\": expected HOST:PORT", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']') {
			snprintf(err, errlen, "listen address \"%s\": unbalanced [", hostport);
			return -1;
		}
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, errlen, "listen address \"%s\": %s", hostport, gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof *ss);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/* The guard's callbacks with MHD's signatures. */
static MHD_RESULT_T guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	return http_guard_accept(cls, addr, addrlen) ? MHD_YES : MHD_NO;
}

static void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		http_tls_connection_started(conn); /* before the handshake */
	http_guard_notify(cls, conn, socket_context, (int)toe);
}

static struct MHD_Daemon *start_one(const char *addr, void *tag, struct http_guard *guard, const char *cert,
                                    const char *key, unsigned threads, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (parse_listen(addr, &ss, err, errlen) < 0)
		return NULL;
	/* poll, not epoll: under epoll (edge-triggered) libmicrohttpd 0.9.75 re-enters
	 * gnutls_handshake about 40 times per TLS connection while it waits for the client's
	 * Finished, and GnuTLS recomputes the Finished HMAC on each entry (TLS 1.3: HKDF over
	 * SHA-384): a connection cost 1.3 ms of CPU, 3x gnutls-serv. With poll it is entered
	 * twice and costs what GnuTLS alone costs (make bench, "connection" rows). */
	/* the guard decides about limits; MHD's own cap (split between its threads) stays above it */
	unsigned mhd_limit = (HTTP_GUARD_MAX_CONNECTIONS + 16) * (threads > 1 ? threads : 1);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME | (cert ? MHD_USE_TLS : 0); /* no cert: plain HTTP */
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* a pool of one is no pool: MHD warns, so leave the option out */
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, 0, guard_accept, guard, on_request, tag, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_CONNECTION_MEMORY_INCREMENT,
	    threads > 1 ? threads : (unsigned)1024, MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
	    MHD_OPTION_NOTIFY_CONNECTION, guard_notify, guard, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!d)
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		         mhd_last_error[0] ? mhd_last_error : "is the address in use, or the port privileged?");
	return d;
}

int http_start(struct server *srv, const struct http_site *acme, const struct http_site *mgmt,
               const struct http_site *crl, const char *cert_pem, const char *key_pem, char *err,
               size_t errlen)
{
	the_server = srv;
	acme_site = acme;
	mgmt_site = mgmt;
	crl_site = crl;
	http_tls_init(); /* without tickets every connection is a full handshake; not fatal */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = ncpu > 0 ? (unsigned)ncpu : 2;
	struct http_guard_limits lim;
	http_guard_defaults(&lim);
	acme_guard = http_guard_new("acme", &lim);
	mgmt_guard = http_guard_new("management", &lim);
	crl_guard = http_guard_new("crl", &lim);
	if (!acme_guard || !mgmt_guard || !crl_guard) {
		snprintf(err, errlen, "could not start the listeners' watchdogs");
		http_stop();
		return -1;
	}
	acme_daemon = start_one(srv->cfg->listen_address, &acme_daemon, acme_guard, cert_pem, key_pem, threads, err,
	                        errlen);
	if (!acme_daemon) {
		http_stop();
		return -1;
	}
	mgmt_daemon = start_one(srv->cfg->management_address, &mgmt_daemon, mgmt_guard, cert_pem, key_pem, 1, err,
	                        errlen);
	if (!mgmt_daemon) {
		http_stop();
		return -1;
	}
	/* RFC 5280 §4.2.1.13: CRLs over plain http (a CRL is signed; TLS would be circular) */
	if (srv->cfg->crl_listen_address[0]) {
		crl_daemon = start_one(srv->cfg->crl_listen_address, &crl_daemon, crl_guard, NULL, NULL, 1, err, errlen);
		if (!crl_daemon) {
			http_stop();
			return -1;
		}
	}
	return 0;
}

void http_quiesce(void)
{
	struct MHD_Daemon *ds[] = {acme_daemon, mgmt_daemon, crl_daemon};
	for (size_t i = 0; i < 3; i++) {
		if (!ds[i])
			continue;
		MHD_socket fd = MHD_quiesce_daemon(ds[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

void http_stop(void)
{
	if (acme_daemon)
		MHD_stop_daemon(acme_daemon);
	if (mgmt_daemon)
		MHD_stop_daemon(mgmt_daemon);
	if (crl_daemon)
		MHD_stop_daemon(crl_daemon);
	http_tls_free();
	acme_daemon = mgmt_daemon = crl_daemon = NULL;
	http_guard_free(acme_guard);
	http_guard_free(mgmt_guard);
	http_guard_free(crl_guard);
	acme_guard = mgmt_guard = crl_guard = NULL;
}
