/* test_http_head: server/http_head.c — RFC 9112 request heads checked line by line, Content-Length
 * framing followed across keep-alive and pipelined requests, responses counted; the same verdicts
 * whether the bytes come at once or one at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_head.h"

#define LIMIT 65536

/* Feed s to a fresh tracker in chunks of `step` bytes (0: all at once), offering unpassed bytes
 * again as http_front does. Returns how many bytes may be passed on; *status is 0 or the refusal. */
static size_t feed(const char *s, size_t step, int *status, struct http_head *h)
{
	http_head_init(h, LIMIT);
	size_t len = strlen(s), have = 0, passed = 0;
	while (have < len) {
		size_t n = step && len - have > step ? step : len - have;
		have += n;
		passed += http_head_scan(h, s + passed, have - passed);
		if (http_head_refused(h))
			break;
	}
	*status = http_head_refused(h) ? h->status : 0;
	return passed;
}

static const struct {
	const char *name;
	const char *in;
	int status;       /* 0: accepted */
	const char *word; /* in the detail */
} cases[] = {
    {"a GET", "GET /dir HTTP/1.1\r\nHost: x\r\n\r\n", 0, NULL},
    {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0, NULL},
    {"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", 0, NULL},
    {"RFC 9112 §2.2: empty lines before the request line", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, NULL},
    {"keep-alive with a body", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n",
     0, NULL},
    {"RFC 9112 §3.2: no Host in HTTP/1.1", "GET / HTTP/1.1\r\nA: b\r\n\r\n", 400, "Host"},
    {"two Host fields", "GET / HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n", 400, "more than one Host"},
    {"no version", "GET /\r\n\r\n", 400, "malformed request line"},
    {"a tab for a space", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line"},
    {"a version in lower case", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line"},
    {"RFC 9110 §15.6.6: HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0"},
    {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9"},
    {"RFC 9112 §5.1: space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "before the colon"},
    {"RFC 9112 §5.2: obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400, "obs-fold"},
    {"RFC 9110 §5.5: a CR inside a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400, "CR"},
    {"RFC 9110 §8.6: Content-Length not a number", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
     "Content-Length"},
    {"two different Content-Lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     400, "second, different"},
    {"RFC 9110 §15.5.14: a declared body over the limit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n",
     413, "65537 bytes"},
    {"a body at the limit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n", 0, NULL},
};

static void test_heads_checked_in_any_chunking(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t steps[] = {0, 1, 7};
		for (size_t k = 0; k < 3; k++) {
			struct http_head h;
			int status;
			size_t passed = feed(cases[i].in, steps[k], &status, &h);
			if (status != cases[i].status || (cases[i].word && !strstr(h.detail, cases[i].word)))
				fail_msg("%s (chunks of %zu): status %d, detail \"%s\"", cases[i].name, steps[k], status,
				         h.detail);
			if (!status && passed != strlen(cases[i].in))
				fail_msg("%s: %zu of %zu bytes passed on", cases[i].name, passed, strlen(cases[i].in));
			/* a refused head's bad line is never passed on, nor is anything after it */
			if (status && passed >= strlen(cases[i].in))
				fail_msg("%s: the refused head was passed on whole", cases[i].name);
		}
	}
}

static void test_limits_refuse_partial_lines(void **state)
{
	/* the request line and the header block are refused as soon as they are too long, before the
	 * line ends */
	char *line = malloc(HTTP_HEAD_MAX_LINE + 100);
	memcpy(line, "GET /", 5);
	memset(line + 5, 'a', HTTP_HEAD_MAX_LINE + 90);
	line[HTTP_HEAD_MAX_LINE + 95] = '\0';
	struct http_head h;
	int status;
	assert_int_equal(feed(line, 0, &status, &h), 0);
	assert_int_equal(status, 414);
	free(line);

	size_t n = HTTP_HEAD_MAX_FIELDS + 200;
	char *fields = malloc(n + 64);
	int k = snprintf(fields, n + 64, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
	memset(fields + k, 'v', n - (size_t)k);
	fields[n] = '\0';
	feed(fields, 0, &status, &h);
	assert_int_equal(status, 431);
	free(fields);

	char many[4096] = "GET / HTTP/1.1\r\nHost: x\r\n";
	for (int i = 0; i < HTTP_HEAD_MAX_NFIELDS; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "X%d: 1\r\n", i);
	strcat(many, "\r\n");
	feed(many, 0, &status, &h);
	assert_int_equal(status, 431);
}

static void test_responses_counted(void **state)
{
	struct http_head h;
	http_head_init(&h, LIMIT);
	const char *reqs = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
	                   "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(http_head_scan(&h, reqs, strlen(reqs)), strlen(reqs));
	assert_int_equal(h.outstanding, 3);
	assert_false(http_head_idle(&h));
	/* HEAD: Content-Length without a body; then 100 Continue before the POST's final answer */
	const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
	const char *r2 = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nbody";
	const char *r3 = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc";
	http_head_response(&h, r1, strlen(r1));
	assert_int_equal(h.outstanding, 2);
	for (size_t i = 0; r2[i]; i++) /* one byte at a time */
		http_head_response(&h, r2 + i, 1);
	assert_int_equal(h.outstanding, 1);
	http_head_response(&h, r3, strlen(r3) - 1);
	assert_false(http_head_idle(&h));
	http_head_response(&h, r3 + strlen(r3) - 1, 1);
	assert_true(http_head_idle(&h));
}

static void test_pipeline_waits_for_answers(void **state)
{
	struct http_head h;
	http_head_init(&h, LIMIT);
	char buf[HTTP_HEAD_MAX_PIPELINE * 40 + 64] = "";
	for (int i = 0; i <= HTTP_HEAD_MAX_PIPELINE; i++)
		strcat(buf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	size_t one = strlen("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(http_head_scan(&h, buf, strlen(buf)), one * HTTP_HEAD_MAX_PIPELINE);
	const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	http_head_response(&h, r, strlen(r));
	assert_int_equal(http_head_scan(&h, buf + one * HTTP_HEAD_MAX_PIPELINE, one), one);
}

static void test_chunked_is_passed_through(void **state)
{
	struct http_head h;
	http_head_init(&h, LIMIT);
	const char *s = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGARBAGE";
	assert_int_equal(http_head_scan(&h, s, strlen(s)), strlen(s));
	assert_false(http_head_refused(&h));
	assert_true(http_head_idle(&h)); /* the count is given up: nothing can wait on it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heads_checked_in_any_chunking), cmocka_unit_test(test_limits_refuse_partial_lines),
	    cmocka_unit_test(test_responses_counted),            cmocka_unit_test(test_pipeline_waits_for_answers),
	    cmocka_unit_test(test_chunked_is_passed_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
