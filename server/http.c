/* http: libmicrohttpd daemons, routing by the callers' tables, per-request state and the one reply
 * path. */
#include "server/http.h"
#include "server/http_guard.h"
#include "server/http_front.h"
#include "server/http_head.h"
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

static char acme_tag, mgmt_tag, crl_tag; /* on_request's cls: which listener */
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

/* "https://host:port" for URLs in responses: baseURL, or the Host header field (NULL: none). */
static void base_of(bool mgmt, const char *host, char *out, size_t outlen)
{
	if (!mgmt && config_fixed_base(the_server->cfg, out, outlen))
		return;
	/* Host is attacker-controlled text that ends up in URLs: keep it to host[:port] characters */
	bool ok = host && *host && strlen(host) < 256;
	for (const char *p = host; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     strchr(".-:[]_", *p);
	snprintf(out, outlen, "https://%s", ok ? host : "localhost");
}

static void set_base(struct req *r)
{
	base_of(r->mgmt, http_header(r, "Host"), r->base, sizeof r->base);
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
		r->mgmt = cls == (void *)&mgmt_tag;
		r->crl = cls == (void *)&crl_tag;
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

/* microhttpd's last complaint, to explain a failed start (per thread: a failed start logs in the
 * thread that called MHD_start_daemon) */
static _Thread_local char mhd_last_error[256];
static _Thread_local bool mhd_starting;

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	/* on a relayed connection MHD reports, on every response, that TCP options do not apply to
	 * its end of the socketpair: text nobody reads unless debugging */
	if (!mhd_starting && !log_enabled(LOG_DEBUG))
		return;
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	snprintf(mhd_last_error, sizeof mhd_last_error, "%s", buf);
	log_msg(LOG_DEBUG, NULL, "microhttpd: %s", buf);
}

/* libmicrohttpd's side of a relayed connection holds its guard entry (http_front took it). */
static void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
	struct http_guard_conn *c = NULL;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = fd ? http_front_guard_of(fd->connect_fd) : NULL;
	}
	http_guard_notify(c, socket_context, (int)toe);
}

/* A request head http_front refused (http_head: 400, 413, 414, 431, 505), answered before
 * libmicrohttpd sees it: RFC 8555 §6.7, a problem document like every other error, and on the
 * ACME listener a fresh nonce as on every ACME response (RFC 8555 §6.5). The connection closes. */
static char *front_refuse(const struct http_front_listener *l, int status, const char *detail, const char *host,
                          const char *peer, size_t *len)
{
	struct problem p;
	problem_set(&p, PROB_MALFORMED, status, "%s", detail);
	log_msg(LOG_INFO, NULL, "%s listener: %d to %s before the request reached a handler: %s", l->name, status, peer,
	        detail);
	json_t *o = problem_to_json(&p);
	char *body = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!body)
		return NULL;
	char acme[700] = "";
	if (strcmp(l->name, "acme") == 0) { /* RFC 8555 §6.5 and §7.1, as send_reply adds them */
		char nonce[NONCE_LEN + 1], base[300];
		nonce_issue(the_server->nonces, nonce);
		base_of(false, host, base, sizeof base);
		snprintf(acme, sizeof acme, "Replay-Nonce: %s\r\nLink: <%s%s>;rel=\"index\"\r\n", nonce, base,
		         acme_site->index_path);
	}
	char *resp = NULL;
	int n = asprintf(&resp,
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nContent-Length: %zu\r\n"
	                 "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n%s",
	                 status, http_head_reason(status), strlen(body), acme, body);
	free(body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return resp;
}

/* A daemon for one front thread (http_front_listener.daemon): no listening socket, no thread of
 * its own (the front thread runs it through its epoll descriptor). */
static struct MHD_Daemon *start_one(const struct http_front_listener *l, char *err, size_t errlen)
{
	/* the guard decides about limits; MHD's own cap stays above it */
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET |
	                 MHD_USE_ITC;
	/* The memory limit (MHD's default; over 32 KiB it maps and unmaps a pool per connection) leaves
	 * room for every head http_head lets through (HTTP_HEAD_MAX_LINE + HTTP_HEAD_MAX_FIELDS and the
	 * parsed fields), so MHD never answers one itself. */
	mhd_starting = true;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, l->tag, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)the_server->cfg->listeners.max_connections + 16, MHD_OPTION_NOTIFY_CONNECTION, guard_notify, NULL,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
	mhd_starting = false;
	if (!d)
		snprintf(err, errlen, "cannot start the HTTP server: %s", mhd_last_error[0] ? mhd_last_error : "unknown");
	return d;
}

static struct http_front_listener front_ls[3]; /* borrowed by http_front until http_stop */

int http_start(struct server *srv, const struct http_site *acme, const struct http_site *mgmt,
               const struct http_site *crl, const char *cert_pem, const char *key_pem, char *err,
               size_t errlen)
{
	the_server = srv;
	acme_site = acme;
	mgmt_site = mgmt;
	crl_site = crl;
	const struct config *cfg = srv->cfg;
	const struct http_guard_limits lim = {
	    (unsigned)cfg->listeners.max_connections, (unsigned)cfg->listeners.per_address,
	    (unsigned)cfg->listeners.reserve,         (unsigned)cfg->listeners.reserve_holding,
	    cfg->listeners.request_seconds};
	acme_guard = http_guard_new("acme", &lim);
	mgmt_guard = http_guard_new("management", &lim);
	crl_guard = http_guard_new("crl", &lim);
	if (!acme_guard || !mgmt_guard || !crl_guard) {
		snprintf(err, errlen, "could not start the listeners' watchdogs");
		http_stop();
		return -1;
	}
	const double hs = cfg->listeners.handshake_seconds;
	size_t n = 0;
	front_ls[n++] = (struct http_front_listener){"acme", srv->cfg->listen_address, cert_pem != NULL, start_one,
	                                             &acme_tag, acme_guard, HTTP_MAX_BODY, hs, front_refuse};
	front_ls[n++] = (struct http_front_listener){"management", srv->cfg->management_address, cert_pem != NULL,
	                                             start_one, &mgmt_tag, mgmt_guard, HTTP_MAX_BODY, hs, front_refuse};
	/* RFC 5280 §4.2.1.13: CRLs over plain http (a CRL is signed; TLS would be circular) */
	if (srv->cfg->crl_listen_address[0])
		front_ls[n++] = (struct http_front_listener){"crl", srv->cfg->crl_listen_address, 0, start_one, &crl_tag,
		                                             crl_guard, HTTP_MAX_BODY, hs, front_refuse};
	if (http_front_start(front_ls, n, cert_pem, key_pem, err, errlen) < 0) {
		http_stop();
		return -1;
	}
	return 0;
}

void http_quiesce(void)
{
	http_front_quiesce();
}

void http_stop(void)
{
	http_front_stop(); /* the daemons too */
	http_guard_free(acme_guard);
	http_guard_free(mgmt_guard);
	http_guard_free(crl_guard);
	acme_guard = mgmt_guard = crl_guard = NULL;
}
