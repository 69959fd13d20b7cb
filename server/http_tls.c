/* http_tls: session tickets on libmicrohttpd's GnuTLS sessions (see http_tls.h). */
#include "server/http_tls.h"
#include "common/log.h"

#include <gnutls/gnutls.h>

static gnutls_datum_t ticket_key; /* owned; gnutls_free */

int http_tls_init(void)
{
	if (ticket_key.data)
		return 0;
	int rc = gnutls_session_ticket_key_generate(&ticket_key);
	if (rc < 0) {
		log_msg(LOG_WARN, NULL, "TLS session tickets off: %s", gnutls_strerror(rc));
		ticket_key.data = NULL;
		return -1;
	}
	return 0;
}

void http_tls_connection_started(struct MHD_Connection *conn)
{
	if (!ticket_key.data)
		return;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) /* a plain-HTTP listener */
		return;
	int rc = gnutls_session_ticket_enable_server((gnutls_session_t)ci->tls_session, &ticket_key);
	if (rc < 0)
		log_msg(LOG_DEBUG, NULL, "TLS session tickets not offered: %s", gnutls_strerror(rc));
}

void http_tls_free(void)
{
	if (ticket_key.data) {
		gnutls_memset(ticket_key.data, 0, ticket_key.size);
		gnutls_free(ticket_key.data);
	}
	ticket_key.data = NULL;
	ticket_key.size = 0;
}
