/* http_front: the listeners' front end. It owns the listening sockets: it accepts (admitting each
 * connection through its listener's http_guard at TCP accept), runs the TLS handshake with
 * OpenSSL under one whole deadline, then hands libmicrohttpd one end of a socketpair
 * (MHD_add_connection, with the client's real address) and relays plaintext both ways through
 * bounded buffers. On the way in each request head is checked (http_head): a head that breaks
 * HTTP/1.1's rules or a limit is answered here with a problem document, so no client meets
 * libmicrohttpd's own HTML error pages. A few threads with epoll do all of it, and each runs
 * its own libmicrohttpd daemons (external epoll mode, no threads of their own), so that a request
 * passes from TLS to its handler and back without a switch between threads. */
#ifndef COBBLE_HTTP_FRONT_H
#define COBBLE_HTTP_FRONT_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_FRONT_HANDSHAKE_SECONDS 5.0 /* default: the whole TLS handshake, from the TCP accept */
#define HTTP_FRONT_LINGER_SECONDS 2.0    /* reading what a refused client still sends, after the answer */

struct MHD_Daemon;
struct http_guard;
struct http_guard_conn;

/* One listener. Everything is borrowed and must outlive http_front_stop. */
struct http_front_listener {
	const char *name;          /* "acme", "management", "crl": for logs */
	const char *address;       /* "HOST:PORT", "[v6]:PORT" */
	int tls;                   /* 1: TLS with the certificate given to http_front_start */
	/* A daemon for one front thread: MHD_USE_EPOLL without an internal thread, with
	 * MHD_USE_NO_LISTEN_SOCKET. NULL with a sentence in err on failure. */
	struct MHD_Daemon *(*daemon)(const struct http_front_listener *l, char *err, size_t errlen);
	void *tag;                 /* for daemon(): which site */
	struct http_guard *guard;
	uint64_t body_limit;       /* a declared Content-Length over it is answered 413 here */
	double handshake_seconds;  /* the whole TLS handshake, from the TCP accept */
	/* The whole HTTP response (status line, headers, body) refusing a request head with status and
	 * a sentence for the client; host is the head's Host field ("" if none came); the front end
	 * frees the result. NULL: the connection is just closed. */
	char *(*refuse)(const struct http_front_listener *l, int status, const char *detail, const char *host,
	                const char *peer, size_t *len);
};

/* Bind every listener and start the front threads; cert_pem/key_pem (PEM text, the certificate
 * followed by its chain) are needed when a listener has tls. 0, or -1 with a sentence in err
 * (e.g. the address is in use). */
int http_front_start(const struct http_front_listener *ls, size_t n, const char *cert_pem, const char *key_pem,
                     char *err, size_t errlen);
/* Stop accepting on every listener at once; connections already open go on. */
void http_front_quiesce(void);
/* Close every connection and listener, join the threads and stop their daemons. Safe when
 * nothing was started. */
void http_front_stop(void);
/* At libmicrohttpd's MHD_CONNECTION_NOTIFY_STARTED for a connection on descriptor fd: its guard
 * entry, with the reference the front end took for libmicrohttpd (the caller's to drop), or
 * NULL. */
struct http_guard_conn *http_front_guard_of(int fd);

#endif
