/* util: small string, random and time helpers shared by every module. */
#ifndef COBBLE_UTIL_H
#define COBBLE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Fill buf with n bytes from the kernel CSPRNG; aborts if the kernel cannot supply them. */
void util_random(void *buf, size_t n);
/* A uniform random number in [0, n) (n > 0), without modulo bias. */
uint32_t util_random_below(uint32_t n);
/* true with probability percent/100. */
bool util_chance(int percent);
/* Write 2*nbytes lowercase hex characters of randomness plus NUL into out. */
void util_random_hex(char *out, size_t nbytes);

/* RFC 3339 UTC time "2026-01-01T00:00:00Z" into out (at least 21 bytes). */
void util_time_fmt(time_t t, char *out, size_t outlen);
/* Parse RFC 3339 (Z or +hh:mm offset, optional fraction). Returns 0 or -1. */
int util_time_parse(const char *s, time_t *out);

/* The x* allocators abort (after "cobble: out of memory" on stderr) instead of returning NULL.
 * Policy (HACKING.md, "Errors"): running out of memory is not a client's fault and cannot be
 * answered usefully; every input is bounded (HTTP_MAX_BODY, MAX_IDENTIFIERS, the queues), so no
 * request can make an allocation fail, and NULL paths that no test can reach would be untested
 * code. Allocations whose size a client chooses beyond those bounds must not use x*; calls into
 * jansson and OpenSSL, which fail for other reasons too, are checked and become serverInternal. */
/* strdup; NULL in gives NULL out. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
/* vasprintf/asprintf. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ASCII lowercase in place; returns s. */
char *util_lower(char *s);
bool util_has_prefix(const char *s, const char *prefix);
/* Monotonic clock in seconds (for durations). */
double util_now_mono(void);
/* cobble's clock for object lifetimes, ARI windows and dns-persist-01 persistUntil/reuse: the
 * real time plus an offset the management listener can move forward (POST /clock), so a CI can
 * test expiry without waiting. Certificates keep the real time. Thread-safe. */
time_t util_clock(void);
/* Move the clock forward by seconds (>= 0); returns the offset now. */
long util_clock_advance(long seconds);
long util_clock_offset(void);

/* snprintf into a detail or error buffer; text cut short stays valid UTF-8 (no sequence is left
 * incomplete at the end). */
void util_snprintf_utf8(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noinline));

#endif
