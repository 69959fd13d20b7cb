/* http_head: the front end's view of the HTTP/1.x byte streams of one connection (RFC 9112).
 * Request side: each request head is checked line by line before any of it reaches
 * libmicrohttpd, and its framing (Content-Length) followed so that keep-alive and pipelined
 * requests are tracked; a head that breaks a rule or a limit is stopped with the HTTP status
 * and a sentence for the client. Response side: libmicrohttpd's responses are counted, so that
 * an answer of our own goes out only after the answers to the requests before it. What cannot
 * be framed (a chunked body) ends the checking for that connection: it is passed through. */
#ifndef COBBLE_HTTP_HEAD_H
#define COBBLE_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Below what libmicrohttpd accepts with the memory limit http.c gives it (64 KiB per
 * connection), so that a head passed on is never refused there with an HTML page. */
#define HTTP_HEAD_MAX_LINE 8192    /* the request line: over it, 414 */
#define HTTP_HEAD_MAX_FIELDS 16384 /* the header field lines together: over it, 431 */
#define HTTP_HEAD_MAX_NFIELDS 100  /* header field lines: over it, 431 */
#define HTTP_HEAD_MAX_PIPELINE 32  /* requests passed on and not yet answered */

struct http_head {
	/* request side */
	int state;             /* HEAD_* in http_head.c */
	size_t fields_bytes;   /* of the head being read */
	unsigned nfields;
	bool v11, host, te, cl_seen, is_head;
	uint64_t cl;
	uint64_t body_left;
	uint64_t body_limit;   /* a declared Content-Length over it: 413 */
	char host_value[256];  /* the Host field of the current head, "" until seen (or too long) */
	/* the refusal, once state is HEAD_BAD */
	int status;
	char detail[300];
	/* response side */
	unsigned outstanding;  /* requests passed on, final response not yet seen whole */
	uint32_t head_bits;    /* ring: bit i set when the i-th outstanding request is HEAD */
	int rstate;
	bool rfirst, rinterim, rcl_seen, lost;
	int rstatus;
	uint64_t rcl, rbody_left;
	char rline[64];
	size_t rline_len;
};

/* Start tracking a new connection; a declared body over body_limit bytes is refused. */
void http_head_init(struct http_head *h, uint64_t body_limit);
/* Client bytes buf[0..len) (the ones not yet passed on; a partial line is offered again with
 * what follows it): how many of them may be passed to libmicrohttpd now. Fewer than len when a
 * line is incomplete, when too many requests wait for answers, or when the head is refused
 * (then http_head_refused is true; the bytes from there on are never to be passed on). */
size_t http_head_scan(struct http_head *h, const char *buf, size_t len);
bool http_head_refused(const struct http_head *h);
/* libmicrohttpd's bytes to the client, in order. */
void http_head_response(struct http_head *h, const char *buf, size_t len);
/* Every request passed on has had its whole answer (or the count was lost). */
bool http_head_idle(const struct http_head *h);
/* The reason phrase for the statuses the front end answers with. */
const char *http_head_reason(int status);

#endif
