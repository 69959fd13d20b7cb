/* http_guard: what keeps one client from making a listener unavailable (issue 9). For each
 * listener: a cap on connections in all, a cap per client address (IPv4 address, IPv6 /64), a
 * share of the connections kept for addresses that hold few, and one whole deadline for
 * receiving each request's headers and body (not a timeout that restarts at every byte). The
 * front end (http_front) admits each connection at TCP accept, before its TLS handshake, so a
 * client that never finishes one counts too; libmicrohttpd's side of the connection holds the
 * same entry (connection notifications) and reports where each request stands. */
#ifndef COBBLE_HTTP_GUARD_H
#define COBBLE_HTTP_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

/* The defaults (README "Reliability"; config_defaults reads them, the "listeners" keys change them). */
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
struct http_guard_conn;
struct MHD_Connection;

/* A guard for one listener called name ("acme", "management", for logs), with a watchdog
 * thread that closes connections whose request is late. l is copied. NULL on failure. */
struct http_guard *http_guard_new(const char *name, const struct http_guard_limits *l);
/* Stop the watchdog and free. After the daemon is stopped. NULL is a no-op. */
void http_guard_free(struct http_guard *g);

/* A connection from addr accepted on fd (the client's socket; the caller closes it only after
 * http_guard_leave, and the watchdog may shut it down when its request is late): the entry,
 * owned by the caller, or NULL when a limit refuses it (logged, without flooding). Its request
 * deadline runs from now. */
struct http_guard_conn *http_guard_admit(struct http_guard *g, const struct sockaddr *addr, int fd);
/* The connection is closed: it no longer counts; drops the caller's reference. */
void http_guard_leave(struct http_guard_conn *c);
/* A second holder (libmicrohttpd's side of the connection) takes and drops its own reference;
 * the entry is freed when both are gone. */
void http_guard_hold(struct http_guard_conn *c);
void http_guard_drop(struct http_guard_conn *c);
/* For MHD_OPTION_NOTIFY_CONNECTION: at MHD_CONNECTION_NOTIFY_STARTED, c (held for MHD) becomes
 * the connection's socket context; at CLOSED it is dropped. toe is the notification code. */
void http_guard_notify(struct http_guard_conn *c, void **socket_context, int toe);
/* The request on conn has arrived whole (headers and body): its deadline stops. */
void http_guard_request_in(struct MHD_Connection *conn);
/* The request on conn is over: the next one on this connection has its own deadline from now. */
void http_guard_request_done(struct MHD_Connection *conn);

#endif
