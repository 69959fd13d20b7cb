/* http_tls: TLS session resumption (RFC 8446 §2.2, session tickets) for the listeners, which
 * libmicrohttpd does not switch on: a client that reconnects with a ticket skips the
 * certificate signature. */
#ifndef COBBLE_HTTP_TLS_H
#define COBBLE_HTTP_TLS_H

#include <microhttpd.h>

/* Make the ticket key (random, in memory only; GnuTLS rotates what it derives from it). 0 or -1. */
int http_tls_init(void);
/* At MHD_CONNECTION_NOTIFY_STARTED, before the handshake: offer tickets on this connection. */
void http_tls_connection_started(struct MHD_Connection *conn);
void http_tls_free(void);

#endif
