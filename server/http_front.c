/* http_front: accept, TLS with OpenSSL, relay to libmicrohttpd and checked request heads (see
 * http_front.h). */
#include "server/http_front.h"
#include "server/http_front_internal.h"
#include "server/http_guard.h"
#include "server/http_head.h"
#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRONT_MAX_LISTENERS 4
#define FRONT_MAX_THREADS 8
#define IN_CAP (HTTP_HEAD_MAX_FIELDS + 1024) /* room for the longest header field line */
#define OUT_CAP (16 * 1024)                  /* one TLS record */
#define SWEEP_MS 250
#define ACCEPT_BURST 64
#define SSL_SPARE 64 /* SSL objects kept per thread for the next connections */

enum ev_kind { EV_LISTENER, EV_CLIENT, EV_MHD, EV_WAKE, EV_DAEMON };
enum conn_state { C_HANDSHAKE, C_RELAY, C_LINGER };

struct listener {
	enum ev_kind kind; /* first: what an epoll event points at */
	int fd;
	const struct http_front_listener *cfg;
	SSL_CTX *ctx; /* borrowed from front.ctx; NULL: plain HTTP */
};

struct conn;
struct end {
	enum ev_kind kind; /* first */
	struct conn *c;
};

struct worker;
struct conn {
	struct end cli_ev, mhd_ev;
	struct conn *prev, *next; /* the worker's list */
	struct worker *w;
	struct listener *l;
	size_t li;  /* l's index: w->mhd[li] has the connection */
	int fd;     /* the client's socket */
	int mhd_fd; /* our end of the socketpair; -1 before the relay and once closed */
	SSL *ssl;
	struct http_guard_conn *gc;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char peer_text[INET6_ADDRSTRLEN];
	enum conn_state state;
	double deadline; /* handshake or linger; 0: none */
	struct http_head head;
	char *in;       /* client to MHD: in[0..in_fwd) checked, in[in_fwd..in_len) not yet */
	size_t in_len, in_fwd;
	char *out;      /* MHD (or our answer) to the client: out[out_off..out_len) unsent */
	size_t out_len, out_off;
	bool cli_eof, mhd_eof, mhd_wr_shut, answered;
	/* readiness from the edge-triggered events, cleared when a call would block: a side is
	 * tried only when it may move, so an event costs no calls that are sure to fail */
	bool cli_r, cli_w, mhd_r, mhd_w;
	bool cli_hup; /* both directions of the client's socket are shut (e.g. by the guard's watchdog) */
	bool dead; /* closed; freed after the current batch of events, which may still name it */
};

struct daemon_ev {
	enum ev_kind kind; /* first */
	struct MHD_Daemon *d;
};

/* A connection accepted by one front thread for another (round robin): a thread takes every
 * pending connection at each wake-up, so without this one thread would hold most of them. */
struct handoff {
	struct handoff *next;
	struct listener *l;
	int fd;
	struct http_guard_conn *gc;
	struct sockaddr_storage peer;
	socklen_t peerlen;
};

struct worker {
	pthread_t thread;
	bool started;
	int ep, wake;
	struct end wake_ev;
	struct MHD_Daemon *mhd[FRONT_MAX_LISTENERS]; /* one per listener, run by this thread only */
	struct daemon_ev mhd_ev[FRONT_MAX_LISTENERS];
	struct conn *conns;
	struct conn *dead; /* closed in this batch of events, to free after it */
	/* SSL_new copies much of the context on OpenSSL 3; SSL_clear readies a used one for the next
	 * connection at a fraction of the cost */
	SSL *spare[SSL_SPARE];
	size_t nspare;
	pthread_mutex_t q_mu; /* guards q: connections handed to this thread */
	struct handoff *q, *q_tail;
	unsigned long hs_timeouts;
};

static struct {
	struct listener ls[FRONT_MAX_LISTENERS];
	size_t nls;
	atomic_uint next_worker; /* round robin over ws */
	struct worker ws[FRONT_MAX_THREADS];
	size_t nws;
	SSL_CTX *ctx;
	atomic_bool stop;
	/* libmicrohttpd's descriptor of each relayed connection -> its guard entry, until MHD's
	 * STARTED notification takes it */
	pthread_mutex_t fd_mu;
	struct http_guard_conn **by_fd;
	size_t nby_fd;
} front = {.fd_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- the guard entry for libmicrohttpd ---- */

static void by_fd_set(int fd, struct http_guard_conn *gc)
{
	struct http_guard_conn *stale = NULL;
	pthread_mutex_lock(&front.fd_mu);
	if (fd >= 0 && (size_t)fd < front.nby_fd) {
		stale = front.by_fd[fd]; /* MHD dropped a connection before notifying it */
		front.by_fd[fd] = gc;
	} else {
		stale = gc;
	}
	pthread_mutex_unlock(&front.fd_mu);
	http_guard_drop(stale);
}

struct http_guard_conn *http_front_guard_of(int fd)
{
	struct http_guard_conn *gc = NULL;
	pthread_mutex_lock(&front.fd_mu);
	if (fd >= 0 && (size_t)fd < front.nby_fd) {
		gc = front.by_fd[fd];
		front.by_fd[fd] = NULL;
	}
	pthread_mutex_unlock(&front.fd_mu);
	return gc;
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	struct worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->mhd_fd >= 0)
		close(c->mhd_fd); /* removes it from the epoll set */
	if (c->ssl && w->nspare < SSL_SPARE && !atomic_load(&front.stop) && SSL_clear(c->ssl) == 1)
		w->spare[w->nspare++] = c->ssl;
	else
		SSL_free(c->ssl);
	ERR_clear_error();
	http_guard_leave(c->gc); /* before close: the watchdog may shut fd down until then */
	close(c->fd);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->dead = true;
	c->next = w->dead;
	w->dead = c;
}

static void bury(struct worker *w)
{
	while (w->dead) {
		struct conn *c = w->dead;
		w->dead = c->next;
		free(c);
	}
}

/* Read from the client: >0 bytes, 0 at its end, -1 to wait, -2 on a failure. */
static ssize_t cli_read(struct conn *c, char *buf, size_t len)
{
	if (!c->ssl) {
		ssize_t n = recv(c->fd, buf, len, 0);
		if (n >= 0)
			return n;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
	}
	ERR_clear_error(); /* SSL_get_error reads the thread's queue, which handlers run here may fill */
	int n = SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	int e = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return -1;
	/* a close_notify, or the TCP connection ended without one: both end the request stream */
	return e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL ? 0 : -2;
}

/* Write to the client: bytes written, -1 to wait, -2 on a failure. */
static ssize_t cli_write(struct conn *c, const char *buf, size_t len)
{
	if (!c->ssl) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
	}
	ERR_clear_error();
	int n = SSL_write(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	int e = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -1 : -2;
}

/* A refused head: our answer goes out once libmicrohttpd has answered every request before it,
 * then the connection closes (libmicrohttpd's end at once: it holds no whole request). */
static void answer(struct conn *c)
{
	size_t len = 0;
	char *resp = c->l->cfg->refuse ? c->l->cfg->refuse(c->l->cfg, c->head.status, c->head.detail,
	                                                                    c->head.host_value, c->peer_text, &len)
	                               : NULL;
	if (resp && len <= OUT_CAP) {
		memcpy(c->out, resp, len);
		c->out_off = 0;
		c->out_len = len;
	}
	free(resp);
	c->answered = true;
	c->mhd_eof = true;
	if (c->mhd_fd >= 0) {
		close(c->mhd_fd);
		c->mhd_fd = -1;
	}
}

/* Once everything for the client is sent: end our side (close_notify for TLS), then read and drop
 * what the client still sends for a short while, so that it reads the answer instead of meeting
 * a reset (RFC 9112 §9.6). */
static void finish(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	c->deadline = util_now_mono() + HTTP_FRONT_LINGER_SECONDS;
	if (c->mhd_fd >= 0) {
		close(c->mhd_fd);
		c->mhd_fd = -1;
	}
}

/* Move what can move, both ways, until nothing does; false when c was closed. Edge-triggered
 * events: each side is read or written until it would block, or until its buffer is full or
 * empty, which the other side's progress undoes within this same loop. */
static bool pump(struct conn *c)
{
	for (;;) {
		bool progress = false;
		if (c->state == C_LINGER) {
			char sink[4096];
			ssize_t n;
			while ((n = recv(c->fd, sink, sizeof sink, 0)) > 0)
				;
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				conn_close(c);
				return false;
			}
			return true;
		}
		if (c->cli_hup) { /* nothing can go either way any more */
			conn_close(c);
			return false;
		}
		bool refused = http_head_refused(&c->head);
		/* the client to the in buffer */
		if (!c->cli_eof && !refused && c->in_len < IN_CAP && (c->cli_r || (c->ssl && SSL_has_pending(c->ssl)))) {
			ssize_t n = cli_read(c, c->in + c->in_len, IN_CAP - c->in_len);
			if (n == -2) {
				conn_close(c);
				return false;
			}
			if (n == -1)
				c->cli_r = false;
			if (n >= 0) {
				c->in_len += (size_t)n;
				c->cli_eof = n == 0;
				progress = true;
			}
		}
		if (!refused && c->in_fwd < c->in_len) {
			size_t k = http_head_scan(&c->head, c->in + c->in_fwd, c->in_len - c->in_fwd);
			c->in_fwd += k;
			refused = http_head_refused(&c->head);
		}
		if (c->mhd_wr_shut)
			c->in_len = c->in_fwd = 0; /* MHD is gone or has the end: nothing more goes to it */
		else if (refused || (c->cli_eof && c->in_fwd < c->in_len))
			c->in_len = c->in_fwd; /* never passed on */
		/* the in buffer to MHD */
		if (c->in_fwd > 0 && c->mhd_fd >= 0 && !c->mhd_wr_shut && c->mhd_w) {
			size_t want = c->in_fwd;
			ssize_t n = send(c->mhd_fd, c->in, want, MSG_NOSIGNAL);
			/* a stream socket takes less only when its buffer is full: the next edge says when */
			if ((n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) || (n > 0 && (size_t)n < want))
				c->mhd_w = false;
			if (n > 0) {
				memmove(c->in, c->in + n, c->in_len - (size_t)n);
				c->in_len -= (size_t)n;
				c->in_fwd -= (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				c->mhd_wr_shut = true; /* MHD closed the connection: what is left goes nowhere */
				c->in_len = c->in_fwd = 0;
				progress = true;
			}
		}
		/* the client's end (half-close) to MHD once all before it is there */
		if (c->cli_eof && c->in_len == 0 && !c->mhd_wr_shut && c->mhd_fd >= 0 && !refused) {
			shutdown(c->mhd_fd, SHUT_WR);
			c->mhd_wr_shut = true;
		}
		/* MHD to the out buffer */
		if (!c->mhd_eof && c->mhd_fd >= 0 && c->out_len < OUT_CAP && c->mhd_r) {
			size_t want = OUT_CAP - c->out_len;
			ssize_t n = recv(c->mhd_fd, c->out + c->out_len, want, 0);
			/* less than asked: the socket is empty now, and new data brings a new edge */
			if ((n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) || (n > 0 && (size_t)n < want))
				c->mhd_r = false;
			if (n > 0) {
				http_head_response(&c->head, c->out + c->out_len, (size_t)n);
				c->out_len += (size_t)n;
				progress = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				c->mhd_eof = true;
				progress = true;
			}
		}
		/* the out buffer to the client */
		if (c->out_off < c->out_len && c->cli_w) {
			ssize_t n = cli_write(c, c->out + c->out_off, c->out_len - c->out_off);
			if (n == -2) {
				conn_close(c);
				return false;
			}
			if (n == -1)
				c->cli_w = false;
			if (n > 0) {
				c->out_off += (size_t)n;
				if (c->out_off == c->out_len)
					c->out_off = c->out_len = 0;
				progress = true;
			}
		}
		if (refused && !c->answered && c->out_len == 0 && (http_head_idle(&c->head) || c->mhd_eof)) {
			answer(c);
			progress = true;
		}
		/* the client has ended and every request it completed has its whole answer: nothing more can
		 * come (libmicrohttpd may wait on a request the client left unfinished until its own
		 * timeout, and takes a closed socketpair for a hang-up at once) */
		if (c->cli_eof && c->out_len == 0 && http_head_idle(&c->head) && !c->head.lost &&
		    (!refused || c->answered)) {
			conn_close(c);
			return false;
		}
		if (c->mhd_eof && c->out_len == 0 && (!refused || c->answered)) {
			if (c->cli_eof && !refused) {
				conn_close(c);
				return false;
			}
			finish(c);
			progress = true;
		}
		if (!progress)
			return true;
	}
}

static int epoll_add(int ep, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The handshake is done (or there is none): give libmicrohttpd its end. */
static bool relay_start(struct conn *c)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		log_error("%s listener: socketpair: %s", c->l->cfg->name, strerror(errno));
		conn_close(c);
		return false;
	}
	c->mhd_fd = sp[0];
	c->in = xmalloc(IN_CAP);
	c->out = xmalloc(OUT_CAP);
	http_head_init(&c->head, c->l->cfg->body_limit);
	c->cli_r = c->cli_w = c->mhd_r = c->mhd_w = true;
	c->state = C_RELAY;
	c->deadline = 0;
	if (epoll_add(c->w->ep, c->mhd_fd, &c->mhd_ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		log_error("%s listener: epoll_ctl: %s", c->l->cfg->name, strerror(errno));
		close(sp[1]);
		conn_close(c);
		return false;
	}
	http_guard_hold(c->gc); /* libmicrohttpd's reference, taken at its STARTED notification */
	by_fd_set(sp[1], c->gc);
	/* libmicrohttpd closes sp[1] whatever the outcome */
	if (MHD_add_connection(c->w->mhd[c->li], sp[1], (const struct sockaddr *)&c->peer, c->peerlen) != MHD_YES) {
		http_guard_drop(http_front_guard_of(sp[1]));
		log_error("%s listener: libmicrohttpd did not take the connection from %s", c->l->cfg->name, c->peer_text);
		conn_close(c);
		return false;
	}
	return pump(c);
}

static void handshake(struct conn *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		relay_start(c);
		return;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return;
	}
	unsigned long err = ERR_peek_error();
	log_msg(LOG_DEBUG, NULL, "%s listener: TLS handshake with %s failed: %s", c->l->cfg->name, c->peer_text,
	        err ? ERR_reason_error_string(err) : "the connection closed");
	conn_close(c);
}

/* A connection admitted by the guard becomes this thread's. */
static void conn_start(struct worker *w, struct listener *l, int fd, struct http_guard_conn *gc,
                       const struct sockaddr_storage *ss, socklen_t sl)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = xcalloc(1, sizeof *c);
	c->cli_ev = (struct end){EV_CLIENT, c};
	c->mhd_ev = (struct end){EV_MHD, c};
	c->w = w;
	c->l = l;
	c->li = (size_t)(l - front.ls);
	c->fd = fd;
	c->mhd_fd = -1;
	c->gc = gc;
	c->peer = *ss;
	c->peerlen = sl;
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, c->peer_text, sizeof c->peer_text);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, c->peer_text, sizeof c->peer_text);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	if (epoll_add(w->ep, fd, &c->cli_ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		log_error("%s listener: epoll_ctl: %s", l->cfg->name, strerror(errno));
		conn_close(c);
		return;
	}
	if (!l->ctx) {
		relay_start(c);
		return;
	}
	c->state = C_HANDSHAKE;
	c->deadline = util_now_mono() + l->cfg->handshake_seconds;
	c->ssl = w->nspare ? w->spare[--w->nspare] : SSL_new(l->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
		log_error("%s listener: SSL_new failed", l->cfg->name);
		conn_close(c);
		return;
	}
	SSL_set_accept_state(c->ssl);
	handshake(c); /* the ClientHello is often there already */
}

/* Connections other threads handed to w. */
static void take_handoffs(struct worker *w)
{
	uint64_t n;
	if (read(w->wake, &n, sizeof n) < 0 && errno != EAGAIN)
		log_warn("http_front: reading the wake-up: %s", strerror(errno));
	pthread_mutex_lock(&w->q_mu);
	struct handoff *h = w->q;
	w->q = w->q_tail = NULL;
	pthread_mutex_unlock(&w->q_mu);
	while (h) {
		struct handoff *next = h->next;
		if (atomic_load(&front.stop)) {
			http_guard_leave(h->gc);
			close(h->fd);
		} else {
			conn_start(w, h->l, h->fd, h->gc, &h->peer, h->peerlen);
		}
		free(h);
		h = next;
	}
}

static void accept_on(struct worker *w, struct listener *l)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("%s listener: accept: %s", l->cfg->name, strerror(errno));
				usleep(10000);
			} else if (errno == EINVAL) { /* quiesced: shut down */
				epoll_ctl(w->ep, EPOLL_CTL_DEL, l->fd, NULL);
			}
			return;
		}
		struct http_guard_conn *gc = http_guard_admit(l->cfg->guard, (struct sockaddr *)&ss, fd);
		if (!gc) {
			close(fd);
			continue;
		}
		struct worker *to = &front.ws[atomic_fetch_add(&front.next_worker, 1) % front.nws];
		if (to == w) {
			conn_start(w, l, fd, gc, &ss, sl);
			continue;
		}
		struct handoff *h = xcalloc(1, sizeof *h);
		*h = (struct handoff){NULL, l, fd, gc, ss, sl};
		pthread_mutex_lock(&to->q_mu);
		if (to->q_tail)
			to->q_tail->next = h;
		else
			to->q = h;
		to->q_tail = h;
		pthread_mutex_unlock(&to->q_mu);
		uint64_t one = 1;
		if (write(to->wake, &one, sizeof one) < 0)
			log_warn("http_front: waking a thread: %s", strerror(errno));
	}
}

/* Close connections past their handshake or linger deadline. */
static void sweep(struct worker *w, double now)
{
	struct conn *next;
	for (struct conn *c = w->conns; c; c = next) {
		next = c->next;
		if (!c->deadline || now < c->deadline)
			continue;
		if (c->state == C_HANDSHAKE) {
			w->hs_timeouts++;
			if ((w->hs_timeouts & (w->hs_timeouts - 1)) == 0) /* 1st, 2nd, 4th...: no log flood */
				log_info("%s listener: closing the connection from %s: no TLS handshake within %.0f s (%lu so far)",
				         c->l->cfg->name, c->peer_text, c->l->cfg->handshake_seconds, w->hs_timeouts);
		}
		conn_close(c);
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	double next_sweep = util_now_mono() + SWEEP_MS / 1000.0;
	while (!atomic_load(&front.stop)) {
		int n = epoll_wait(w->ep, evs, 64, SWEEP_MS);
		for (int i = 0; i < n; i++) {
			enum ev_kind *k = evs[i].data.ptr;
			if (*k == EV_LISTENER) {
				accept_on(w, (struct listener *)k);
			} else if (*k == EV_WAKE) {
				take_handoffs(w);
			} else if (*k == EV_DAEMON) {
				MHD_run(((struct daemon_ev *)k)->d);
			} else if (*k == EV_CLIENT || *k == EV_MHD) {
				struct conn *c = ((struct end *)k)->c;
				if (c->dead) /* closed by an earlier event of this batch */
					continue;
				uint32_t e = evs[i].events, err = EPOLLHUP | EPOLLERR;
				bool *r = *k == EV_CLIENT ? &c->cli_r : &c->mhd_r, *wr = *k == EV_CLIENT ? &c->cli_w : &c->mhd_w;
				*r |= (e & (EPOLLIN | EPOLLRDHUP | err)) != 0;
				*wr |= (e & (EPOLLOUT | err)) != 0;
				if (*k == EV_CLIENT && (e & EPOLLOUT)) /* a TLS read may have waited to write */
					c->cli_r = true;
				if (*k == EV_CLIENT && (e & (EPOLLHUP | EPOLLERR)))
					c->cli_hup = true;
				if (c->state == C_HANDSHAKE)
					handshake(c);
				else
					pump(c);
			}
		}
		double now = util_now_mono();
		if (now >= next_sweep) {
			sweep(w, now);
			for (size_t j = 0; j < front.nls; j++) /* libmicrohttpd's own timeouts */
				MHD_run(w->mhd[j]);
			next_sweep = now + SWEEP_MS / 1000.0;
		}
		bury(w);
	}
	take_handoffs(w); /* closes what is still queued: front.stop is set */
	while (w->conns)
		conn_close(w->conns);
	bury(w);
	while (w->nspare)
		SSL_free(w->spare[--w->nspare]);
	return NULL;
}

/* ---- start and stop ---- */

/* Each connection holds three descriptors (the client's and a socketpair): raise the soft limit
 * to the hard one, and size the descriptor table for libmicrohttpd's notifications. */
static void fd_room(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	front.nby_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576 ? (size_t)rl.rlim_cur : 1048576;
	front.by_fd = xcalloc(front.nby_fd, sizeof *front.by_fd);
}

int http_front_start(const struct http_front_listener *ls, size_t n, const char *cert_pem, const char *key_pem,
                     char *err, size_t errlen)
{
	if (n > FRONT_MAX_LISTENERS) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	atomic_store(&front.stop, false);
	fd_room();
	for (size_t i = 0; i < n; i++) {
		if (ls[i].tls && !front.ctx && !(front.ctx = http_front_tls_context(cert_pem, key_pem, err, errlen)))
			goto fail;
		struct listener *l = &front.ls[front.nls];
		*l = (struct listener){EV_LISTENER, -1, &ls[i], ls[i].tls ? front.ctx : NULL};
		if ((l->fd = http_front_listen_on(ls[i].address, err, errlen)) < 0)
			goto fail;
		front.nls++;
	}
	/* one thread per core: one thread alone caps the request handlers at one core (README
	 * "Performance") */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	front.nws = ncpu > 1 ? (size_t)ncpu : 1;
	if (front.nws > FRONT_MAX_THREADS)
		front.nws = FRONT_MAX_THREADS;
	for (size_t i = 0; i < front.nws; i++) {
		front.ws[i] = (struct worker){.ep = -1, .wake = -1};
		pthread_mutex_init(&front.ws[i].q_mu, NULL);
	}
	for (size_t i = 0; i < front.nws; i++) {
		struct worker *w = &front.ws[i];
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->wake_ev = (struct end){EV_WAKE, NULL};
		if (w->ep < 0 || w->wake < 0 || epoll_add(w->ep, w->wake, &w->wake_ev, EPOLLIN) < 0) {
			snprintf(err, errlen, "cannot start the listeners: %s", strerror(errno));
			goto fail;
		}
		for (size_t j = 0; j < front.nls; j++) {
			const union MHD_DaemonInfo *di = NULL;
			if (!(w->mhd[j] = front.ls[j].cfg->daemon(front.ls[j].cfg, err, errlen)))
				goto fail;
			w->mhd_ev[j] = (struct daemon_ev){EV_DAEMON, w->mhd[j]};
			if (!(di = MHD_get_daemon_info(w->mhd[j], MHD_DAEMON_INFO_EPOLL_FD)) ||
			    epoll_add(w->ep, di->epoll_fd, &w->mhd_ev[j], EPOLLIN) < 0 ||
			    epoll_add(w->ep, front.ls[j].fd, &front.ls[j], EPOLLIN | EPOLLEXCLUSIVE) < 0) {
				snprintf(err, errlen, "cannot start the listeners: epoll_ctl: %s", strerror(errno));
				goto fail;
			}
		}
	}
	/* every thread set up before any runs: a running one hands connections to the others */
	for (size_t i = 0; i < front.nws; i++) {
		struct worker *w = &front.ws[i];
		if (pthread_create(&w->thread, NULL, work, w) != 0) {
			snprintf(err, errlen, "cannot start the listeners' thread");
			goto fail;
		}
		w->started = true;
	}
	return 0;
fail:
	http_front_stop();
	return -1;
}

void http_front_quiesce(void)
{
	/* a listening socket shut down takes no more connections (new ones are refused at once), and
	 * its threads see EINVAL at their next accept and drop it from their sets */
	for (size_t i = 0; i < front.nls; i++)
		if (front.ls[i].fd >= 0)
			shutdown(front.ls[i].fd, SHUT_RDWR);
}

void http_front_stop(void)
{
	atomic_store(&front.stop, true);
	for (size_t i = 0; i < front.nws; i++) {
		struct worker *w = &front.ws[i];
		uint64_t one = 1;
		if (w->started && write(w->wake, &one, sizeof one) < 0)
			log_warn("http_front: waking a thread: %s", strerror(errno));
	}
	for (size_t i = 0; i < front.nws; i++)
		if (front.ws[i].started)
			pthread_join(front.ws[i].thread, NULL);
	for (size_t i = 0; i < front.nws; i++) {
		struct worker *w = &front.ws[i];
		if (w->wake >= 0)
			take_handoffs(w); /* what another thread handed over after this one had stopped */
		for (size_t j = 0; j < FRONT_MAX_LISTENERS; j++)
			if (w->mhd[j])
				MHD_stop_daemon(w->mhd[j]); /* its connections' ends were closed with the relays */
		if (w->ep >= 0)
			close(w->ep);
		if (w->wake >= 0)
			close(w->wake);
		pthread_mutex_destroy(&w->q_mu);
		*w = (struct worker){.ep = -1, .wake = -1};
	}
	front.nws = 0;
	for (size_t i = 0; i < front.nls; i++)
		if (front.ls[i].fd >= 0)
			close(front.ls[i].fd);
	front.nls = 0;
	SSL_CTX_free(front.ctx);
	front.ctx = NULL;
	pthread_mutex_lock(&front.fd_mu);
	for (size_t i = 0; i < front.nby_fd; i++)
		if (front.by_fd[i])
			http_guard_drop(front.by_fd[i]);
	free(front.by_fd);
	front.by_fd = NULL;
	front.nby_fd = 0;
	pthread_mutex_unlock(&front.fd_mu);
}
