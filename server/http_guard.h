/* http_guard: what keeps one client from making a listener unavailable (issue 9). For each
 * listener: a cap on connections in all, a cap per client address (IPv4 address, IPv6 /64), a
 * share of the connections kept for addresses that hold few, and one whole deadline for
 * receiving each request's headers and body (not a timeout that restarts at every byte). It is
 * wired into a libmicrohttpd daemon through three options (accept policy, connection
 * notifications) and two calls from the request path, so it does not depend on how TLS is
 * terminated. */
#ifndef COBBLE_HTTP_GUARD_H
#define COBBLE_HTTP_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

/* The defaults (README "Reliability"). */
#define HTTP_GUARD_MAX_CONNECTIONS 1000 /* per listener */
#define HTTP_GUARD_PER_ADDRESS 256      /* connections one client address may hold */
#define HTTP_GUARD_RESERVE 100          /* the last connections: only for addresses holding < 4 */
#define HTTP_GUARD_RESERVE_HOLDING 4
#define HTTP_GUARD_REQUEST_SECONDS 10.0 /* headers and body of one request, from the connection's
                                           start or the end of its previous request */

struct http_guard_limits {
	unsigned max_connections;
	unsigned per_address;
	unsigned reserve;
	unsigned reserve_holding;
	double request_seconds;
};

struct http_guard;
struct MHD_Connection;

/* A guard for one listener called name ("acme", "management", for logs), with a watchdog
 * thread that closes connections whose request is late. l is copied. NULL on failure. */
struct http_guard *http_guard_new(const char *name, const struct http_guard_limits *l);
/* Stop the watchdog and free. After the daemon is stopped. NULL is a no-op. */
void http_guard_free(struct http_guard *g);
/* The default limits. */
void http_guard_defaults(struct http_guard_limits *l);

/* For MHD_OPTION_APC (cls = the guard): MHD_YES (1) to accept a connection from addr. */
int http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* For MHD_OPTION_NOTIFY_CONNECTION (cls = the guard); toe is enum MHD_ConnectionNotificationCode. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context, int toe);
/* The request on conn has arrived whole (headers and body): its deadline stops. */
void http_guard_request_in(struct MHD_Connection *conn);
/* The request on conn is over: the next one on this connection has its own deadline from now. */
void http_guard_request_done(struct MHD_Connection *conn);

#endif
