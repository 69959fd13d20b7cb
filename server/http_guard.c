/* http_guard: per-listener connection limits and whole request deadlines (see http_guard.h). */
#include "server/http_guard.h"
#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_INTERVAL_MS 200

/* A client address as the limits count it: IPv4 whole, IPv6 by its /64 (one host's usual share;
 * an IPv4-mapped IPv6 address counts as the IPv4 address). */
struct client_key {
	int family;
	unsigned char addr[8];
};

struct http_guard;
struct http_guard_conn {
	struct http_guard_conn *prev, *next;
	struct http_guard *g;
	struct client_key key;
	char text[INET6_ADDRSTRLEN];
	int fd;
	double waiting_since; /* when the request being received began; 0 while one is handled */
	bool closing;         /* shut down by the watchdog */
	bool listed;          /* on g->conns: the front end has not closed it yet */
	unsigned refs;        /* the front end's, and libmicrohttpd's once it has the connection */
};

struct http_guard {
	char name[16];
	struct http_guard_limits lim;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct http_guard_conn *conns; /* every open connection of the listener */
	unsigned nconns;
	bool stop;
	pthread_t watchdog;
	bool watchdog_started;
	unsigned long refused, timed_out;
};

static int key_of(const struct sockaddr *sa, struct client_key *k, char *text, size_t textlen)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memset(k, 0, sizeof *k);
	if (text)
		text[0] = '\0';
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		k->family = AF_INET;
		memcpy(k->addr, &s4->sin_addr, 4);
		if (text)
			inet_ntop(AF_INET, &s4->sin_addr, text, (socklen_t)textlen);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const unsigned char *a = s6->sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			k->family = AF_INET;
			memcpy(k->addr, a + 12, 4);
		} else {
			k->family = AF_INET6;
			memcpy(k->addr, a, 8);
		}
		if (text)
			inet_ntop(AF_INET6, &s6->sin6_addr, text, (socklen_t)textlen);
		return 0;
	}
	return -1;
}

static bool key_eq(const struct client_key *a, const struct client_key *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

/* The watchdog: shut down connections whose request is later than the deadline. shutdown(), not
 * close(): the descriptor stays the front end's, which notices the closed socket and cleans up
 * (http_guard_leave takes the connection off this list under the same lock, before the front end
 * closes the descriptor). */
static void *watch(void *arg)
{
	struct http_guard *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WATCH_INTERVAL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		double now = util_now_mono();
		unsigned n = 0;
		for (struct http_guard_conn *c = g->conns; c; c = c->next) {
			if (c->closing || c->waiting_since == 0 || now - c->waiting_since < g->lim.request_seconds)
				continue;
			c->closing = true;
			shutdown(c->fd, SHUT_RDWR);
			g->timed_out++;
			if (n++ < 3)
				log_info("%s listener: closing the connection from %s: no whole request within %.0f s",
				         g->name, c->text, g->lim.request_seconds);
		}
		if (n > 3)
			log_info("%s listener: closed %u more connections for the same reason", g->name, n - 3);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

struct http_guard *http_guard_new(const char *name, const struct http_guard_limits *l)
{
	struct http_guard *g = xcalloc(1, sizeof *g);
	snprintf(g->name, sizeof g->name, "%s", name);
	g->lim = *l;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (pthread_create(&g->watchdog, NULL, watch, g) != 0) {
		log_error("http_guard: pthread_create: %s", strerror(errno));
		http_guard_free(g);
		return NULL;
	}
	g->watchdog_started = true;
	return g;
}

void http_guard_free(struct http_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->watchdog_started)
		pthread_join(g->watchdog, NULL);
	while (g->conns) { /* only if the front end was not stopped first */
		struct http_guard_conn *c = g->conns;
		g->conns = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

struct http_guard_conn *http_guard_admit(struct http_guard *g, const struct sockaddr *addr, int fd)
{
	struct client_key k;
	char text[INET6_ADDRSTRLEN];
	if (key_of(addr, &k, text, sizeof text) < 0)
		snprintf(text, sizeof text, "unknown"); /* not IP (cannot happen on these listeners) */
	pthread_mutex_lock(&g->mu);
	unsigned held = 0;
	for (struct http_guard_conn *c = g->conns; c && k.family; c = c->next)
		held += key_eq(&c->key, &k);
	const char *why = NULL;
	if (g->nconns >= g->lim.max_connections)
		why = "the listener's connection limit is reached";
	else if (held >= g->lim.per_address)
		why = "this address's connection limit is reached";
	else if (g->nconns + g->lim.reserve >= g->lim.max_connections && held >= g->lim.reserve_holding)
		why = "the last connections are kept for addresses that hold few";
	struct http_guard_conn *c = NULL;
	if (why) {
		g->refused++;
	} else {
		c = xcalloc(1, sizeof *c);
		c->g = g;
		c->fd = fd;
		c->key = k;
		c->refs = 1;
		c->listed = true;
		memcpy(c->text, text, sizeof c->text);
		c->waiting_since = util_now_mono();
		c->next = g->conns;
		if (g->conns)
			g->conns->prev = c;
		g->conns = c;
		g->nconns++;
	}
	unsigned long refused = g->refused;
	pthread_mutex_unlock(&g->mu);
	if (why && (refused & (refused - 1)) == 0) /* the 1st, 2nd, 4th, 8th... refusal: no log flood */
		log_info("%s listener: refused a connection from %s (holding %u): %s (%lu refused so far)", g->name,
		         text, held, why, refused);
	return c;
}

/* Under g->mu: one reference fewer; true when c is to be freed. */
static bool unref(struct http_guard_conn *c)
{
	return --c->refs == 0;
}

void http_guard_leave(struct http_guard_conn *c)
{
	if (!c)
		return;
	struct http_guard *g = c->g;
	pthread_mutex_lock(&g->mu);
	if (c->listed) {
		if (c->prev)
			c->prev->next = c->next;
		else
			g->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->listed = false;
		g->nconns--;
	}
	bool last = unref(c);
	pthread_mutex_unlock(&g->mu);
	if (last)
		free(c);
}

void http_guard_hold(struct http_guard_conn *c)
{
	pthread_mutex_lock(&c->g->mu);
	c->refs++;
	pthread_mutex_unlock(&c->g->mu);
}

void http_guard_drop(struct http_guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->g->mu);
	bool last = unref(c);
	pthread_mutex_unlock(&c->g->mu);
	if (last)
		free(c);
}

void http_guard_notify(struct http_guard_conn *c, void **socket_context, int toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = c;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_guard_drop(*socket_context);
		*socket_context = NULL;
	}
}

/* The connection's guard entry (its socket context), or NULL. */
static struct http_guard_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *s = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return s ? s->socket_context : NULL;
}

void http_guard_request_in(struct MHD_Connection *conn)
{
	struct http_guard_conn *c = conn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->g->mu);
	c->waiting_since = 0;
	pthread_mutex_unlock(&c->g->mu);
}

void http_guard_request_done(struct MHD_Connection *conn)
{
	struct http_guard_conn *c = conn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->g->mu);
	c->waiting_since = util_now_mono();
	pthread_mutex_unlock(&c->g->mu);
}
