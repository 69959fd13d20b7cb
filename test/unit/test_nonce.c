/* test_nonce: server/nonce.c — RFC 8555 §6.5 nonces redeem once, only from their pool, only in the window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "server/nonce.h"

static void test_issued_nonce_redeems_exactly_once(void **state)
{
	struct nonce_pool *pool = nonce_pool_new(128);
	char n[NONCE_LEN + 1];
	assert_non_null(pool);
	nonce_issue(pool, n);
	assert_int_equal(strlen(n), NONCE_LEN);
	/* RFC 8555 §6.5.1: the nonce is base64url (no padding). */
	assert_int_equal(strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), NONCE_LEN);
	assert_true(nonce_redeem(pool, n));
	assert_false(nonce_redeem(pool, n));
	nonce_pool_free(pool);
}

static void test_nonces_are_distinct_and_redeem_in_any_order(void **state)
{
	struct nonce_pool *pool = nonce_pool_new(64);
	char n[10][NONCE_LEN + 1];
	for (int i = 0; i < 10; i++) {
		nonce_issue(pool, n[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n[i], n[j]);
	}
	for (int i = 9; i >= 0; i -= 2)
		assert_true(nonce_redeem(pool, n[i]));
	for (int i = 8; i >= 0; i -= 2)
		assert_true(nonce_redeem(pool, n[i]));
	for (int i = 0; i < 10; i++)
		assert_false(nonce_redeem(pool, n[i]));
	nonce_pool_free(pool);
}

static void test_garbage_forged_and_wrong_length_refused(void **state)
{
	struct nonce_pool *pool = nonce_pool_new(64);
	char good[NONCE_LEN + 1], buf[NONCE_LEN + 8];
	nonce_issue(pool, good);

	static const char *const garbage[] = {
	    "", "abc", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* counter 0 with an all-zero tag: forged */
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", /* padding */
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
		assert_false(nonce_redeem(pool, garbage[i]));
	assert_false(nonce_redeem(pool, NULL));

	/* Too short, too long. */
	memcpy(buf, good, NONCE_LEN - 1);
	buf[NONCE_LEN - 1] = '\0';
	assert_false(nonce_redeem(pool, buf));
	snprintf(buf, sizeof buf, "%sA", good);
	assert_false(nonce_redeem(pool, buf));
	snprintf(buf, sizeof buf, "%sAAAA", good);
	assert_false(nonce_redeem(pool, buf));

	/* One character changed in the tag, and in the counter. */
	memcpy(buf, good, sizeof good);
	buf[NONCE_LEN - 2] = buf[NONCE_LEN - 2] == 'A' ? 'B' : 'A';
	assert_false(nonce_redeem(pool, buf));
	memcpy(buf, good, sizeof good);
	buf[5] = buf[5] == 'A' ? 'B' : 'A';
	assert_false(nonce_redeem(pool, buf));

	/* A later counter with the good tag: forged (the tag binds the counter). */
	unsigned char *raw = NULL;
	size_t len = 0;
	assert_int_equal(b64url_decode(good, NONCE_LEN, &raw, &len), 0);
	assert_int_equal(len, 24);
	raw[7] ^= 1;
	char *forged = b64url_encode(raw, len);
	assert_false(nonce_redeem(pool, forged));
	free(forged);
	free(raw);

	/* None of that spent the real one. */
	assert_true(nonce_redeem(pool, good));
	nonce_pool_free(pool);
}

static void test_nonce_pushed_out_of_window_refused(void **state)
{
	struct nonce_pool *pool = nonce_pool_new(64);
	char old[NONCE_LEN + 1], edge[NONCE_LEN + 1], n[64][NONCE_LEN + 1];
	nonce_issue(pool, old);
	nonce_issue(pool, edge);
	for (int i = 0; i < 63; i++)
		nonce_issue(pool, n[i]);
	/* 65 issued: the oldest has left the 64-nonce window, the second is its last member. */
	assert_false(nonce_redeem(pool, old));
	assert_true(nonce_redeem(pool, edge));
	for (int i = 0; i < 63; i++)
		assert_true(nonce_redeem(pool, n[i]));
	nonce_pool_free(pool);
}

static void test_window_rounds_up_to_64(void **state)
{
	struct nonce_pool *pool = nonce_pool_new(10);
	char first[NONCE_LEN + 1], n[NONCE_LEN + 1];
	nonce_issue(pool, first);
	for (int i = 0; i < 63; i++)
		nonce_issue(pool, n);
	assert_true(nonce_redeem(pool, first)); /* 64 issued: still inside */
	nonce_issue(pool, first);
	for (int i = 0; i < 64; i++)
		nonce_issue(pool, n);
	assert_false(nonce_redeem(pool, first)); /* 65 later: outside */
	assert_true(nonce_redeem(pool, n));
	nonce_pool_free(pool);

	pool = nonce_pool_new(0);
	assert_non_null(pool);
	nonce_issue(pool, n);
	assert_true(nonce_redeem(pool, n));
	nonce_pool_free(pool);
}

static void test_nonce_from_another_pool_refused(void **state)
{
	struct nonce_pool *a = nonce_pool_new(64), *b = nonce_pool_new(64);
	char na[NONCE_LEN + 1], nb[NONCE_LEN + 1];
	nonce_issue(a, na);
	nonce_issue(b, nb); /* same counter, different key */
	assert_false(nonce_redeem(b, na));
	assert_false(nonce_redeem(a, nb));
	assert_true(nonce_redeem(a, na));
	assert_true(nonce_redeem(b, nb));
	nonce_pool_free(a);
	nonce_pool_free(b);
}

static void test_free_null_is_noop(void **state)
{
	nonce_pool_free(NULL);
}

#define THREADS 4
#define PER_THREAD 2000

struct mt {
	struct nonce_pool *pool;
	char (*nonces)[NONCE_LEN + 1];
	atomic_int *redeemed;
	int id;
};

static void *issuer(void *arg)
{
	struct mt *m = arg;
	for (int i = 0; i < PER_THREAD; i++)
		nonce_issue(m->pool, m->nonces[m->id * PER_THREAD + i]);
	return NULL;
}

/* Every thread tries every nonce, each from a different starting point, so they race on each one. */
static void *redeemer(void *arg)
{
	struct mt *m = arg;
	const int total = THREADS * PER_THREAD;
	for (int k = 0; k < total; k++) {
		int i = (k + m->id * (total / THREADS)) % total;
		if (nonce_redeem(m->pool, m->nonces[i]))
			atomic_fetch_add(&m->redeemed[i], 1);
	}
	return NULL;
}

static void test_threads_every_nonce_redeems_exactly_once(void **state)
{
	const int total = THREADS * PER_THREAD;
	struct nonce_pool *pool = nonce_pool_new((uint32_t)total);
	char (*nonces)[NONCE_LEN + 1] = calloc((size_t)total, sizeof *nonces);
	atomic_int *redeemed = calloc((size_t)total, sizeof *redeemed);
	struct mt m[THREADS];
	pthread_t th[THREADS];
	assert_non_null(nonces);
	assert_non_null(redeemed);
	for (int i = 0; i < THREADS; i++) {
		m[i] = (struct mt){pool, nonces, redeemed, i};
		assert_int_equal(pthread_create(&th[i], NULL, issuer, &m[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, redeemer, &m[i]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < total; i++)
		if (atomic_load(&redeemed[i]) != 1)
			fail_msg("nonce %d redeemed %d times", i, atomic_load(&redeemed[i]));
	free(nonces);
	free(redeemed);
	nonce_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issued_nonce_redeems_exactly_once),
	    cmocka_unit_test(test_nonces_are_distinct_and_redeem_in_any_order),
	    cmocka_unit_test(test_garbage_forged_and_wrong_length_refused),
	    cmocka_unit_test(test_nonce_pushed_out_of_window_refused),
	    cmocka_unit_test(test_window_rounds_up_to_64),
	    cmocka_unit_test(test_nonce_from_another_pool_refused),
	    cmocka_unit_test(test_free_null_is_noop),
	    cmocka_unit_test(test_threads_every_nonce_redeems_exactly_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
