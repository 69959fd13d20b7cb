/* http: the libmicrohttpd daemons (internal thread pool, epoll, TLS), the route table, request
 * state, body limits and the one reply path (http_reply_*), which adds Replay-Nonce,
 * Link rel="index", Cache-Control and Content-Type to every ACME response. */
#ifndef COBBLE_HTTP_H
#define COBBLE_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>

#include "server/conformance.h"
#include "server/problem.h"
#include "server/server.h"

#define HTTP_MAX_BODY (64 * 1024) /* larger bodies get 413 */
#define HTTP_MAX_BODY_DRAIN (1024 * 1024) /* a declared body over this gets 413 before it is read */
#define HTTP_MAX_HEADERS 40 /* room for Link rel="alternate" to every alternate root and more */

struct MHD_Connection;
struct MHD_Daemon;

struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method;     /* borrowed from MHD for the request's lifetime */
	char *path;             /* without the query string */
	char *target;           /* the request target as sent: path and query, %XX not decoded */
	char reqid[17];
	bool mgmt;              /* on the management listener */
	bool crl;               /* on the plain-HTTP CRL listener */
	char base[300];         /* "https://host:port", from baseURL or the Host header */
	char *body;
	size_t body_len;
	bool too_big;
	double started;
	char account[STORE_ID_LEN + 1]; /* for the log line, when known */
	/* suspension (MHD suspend/resume): work finishing on another thread resumes the request and
	 * `resume` produces the reply on a request thread */
	void (*resume)(struct req *r);
	bool suspended;
	_Atomic int pending;
	char cont_id[STORE_ID_LEN + 1];
	/* the response */
	bool replied;
	int status;
	const char *ptype;      /* the problem type replied (static), or NULL */
	const char *ctype;
	char *resp;
	size_t resp_len;
	struct {
		const char *name;
		char *value;
	} hdr[HTTP_MAX_HEADERS];
	int nhdr;
};

enum http_method { HTTP_GET = 1, HTTP_HEAD = 2, HTTP_POST = 4 };

/* A resource: the handler gets the path after the route's prefix ("" for exact routes). */
struct http_route {
	const char *name; /* the resource's name, as the management listener's /inject calls it */
	const char *path;
	bool prefix;     /* path is a prefix; the rest is the handler's argument */
	int methods;     /* HTTP_GET | HTTP_HEAD | HTTP_POST: others get 405 with Allow */
	void (*handler)(struct req *r, const char *arg);
};

/* What one listener serves. The layers above HTTP (wfe, mgmt) own their tables; main passes them
 * in, so this module calls upward only through these pointers. */
struct http_site {
	const struct http_route *routes;
	size_t nroutes;
	/* a request no route takes (with the whole path as arg); NULL: 404 naming index_path */
	void (*fallback)(struct req *r, const char *arg);
	/* before a route's handler (NULL: none): returns true when it answered the request itself */
	bool (*before)(struct req *r, const char *resource, const char *arg);
	/* the ACME directory path: Link rel="index" on every ACME response (RFC 8555 §7.1) */
	const char *index_path;
};

/* Start the ACME and management listeners (and the plain-HTTP CRL listener when configured) on
 * cfg's addresses with the given TLS identity; the sites (borrowed) must outlive http_stop.
 * Returns 0, or -1 with a sentence in err (e.g. the address is in use). */
int http_start(struct server *srv, const struct http_site *acme, const struct http_site *mgmt,
               const struct http_site *crl, const char *cert_pem, const char *key_pem, char *err,
               size_t errlen);
void http_stop(void);
/* Stop accepting connections on both listeners at once (their listening sockets are closed);
 * requests already on open connections go on until http_stop. */
void http_quiesce(void);

/* The one reply path. Each takes ownership of what it is given. */
void http_reply_json(struct req *r, int status, json_t *body);
void http_reply_problem(struct req *r, const struct problem *p);
void http_reply_raw(struct req *r, int status, const char *ctype, char *body, size_t len);
void http_add_header(struct req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Free r (from calloc) with its path, target, body, reply and reply headers. */
void http_req_free(struct req *r);
/* Park the request without replying; `cont` will run (on a request thread) after http_resume. */
void http_suspend(struct req *r, void (*cont)(struct req *r));
/* Thread-safe: wake a suspended request. */
void http_resume(struct req *r);
/* The client of r for the conformance report (borrows from r). */
struct conf_who http_who(struct req *r);
/* The client's IP address as text into out ("unknown" when MHD does not say). */
void http_client_ip(struct req *r, char *out, size_t outlen);
/* A request header, borrowed, or NULL. */
const char *http_header(struct req *r, const char *name);

#endif
