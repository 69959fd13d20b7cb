/* faillimit: failed dns-persist-01 validations counted per identifier and per account in a
 * sliding window (draft-ietf-acme-dns-persist-02 §9.3.1; ../shared/spec/dns-persist-01.md §4a).
 * Thread-safe: VA workers record, request threads check, the status page reads. */
#ifndef COBBLE_FAILLIMIT_H
#define COBBLE_FAILLIMIT_H

#include <stddef.h>

#include "server/problem.h"

struct faillimit;

/* Limits of 0 are off; window in seconds (>= 1). */
struct faillimit *faillimit_new(int per_identifier, int per_account, int window_seconds);
void faillimit_free(struct faillimit *fl); /* NULL is a no-op */

/* Count one failed validation of identifier (without "*.") by account_id, now. fl NULL: no-op
 * (as in faillimit_check, which then always allows). */
void faillimit_record(struct faillimit *fl, const char *account_id, const char *identifier);

/* 0 when another validation may run; -1 when a limit is reached, with p filled (rateLimited,
 * 429, a detail naming the limit, the count and the config key) and *retry_after the seconds
 * until the window frees a slot. Counts the refusal for the status page. */
int faillimit_check(struct faillimit *fl, const char *account_id, const char *identifier,
                    struct problem *p, int *retry_after);

/* One counter for the status page. */
struct faillimit_row {
	char kind[12];      /* "identifier" or "account" */
	char key[256];
	int failures;       /* in the current window */
	int limit;
};

/* Copies up to max rows of the non-empty counters (the highest first) into rows; returns how
 * many; *refused is how many validations the limits have refused so far. */
size_t faillimit_rows(struct faillimit *fl, struct faillimit_row *rows, size_t max,
                      unsigned long *refused);

#endif
