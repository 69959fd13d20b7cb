/* util: small string, random and time helpers shared by every module. */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void die_oom(void)
{
	fputs("cobble: out of memory\n", stderr);
	abort();
}

void util_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fputs("cobble: getrandom failed\n", stderr);
			abort();
		}
		p += r;
		n -= (size_t)r;
	}
}

uint32_t util_random_below(uint32_t n)
{
	/* reject the top partial range so that every residue is equally likely */
	uint32_t limit = UINT32_MAX - UINT32_MAX % n, r;
	do
		util_random(&r, sizeof r);
	while (r >= limit);
	return r % n;
}

bool util_chance(int percent)
{
	return percent > 0 && (percent >= 100 || util_random_below(100) < (uint32_t)percent);
}

void util_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	if (nbytes > sizeof b)
		nbytes = sizeof b;
	util_random(b, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

void util_time_fmt(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	if (outlen == 0)
		return;
	/* An unrepresentable time gives "" rather than stack garbage. */
	if (!gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* RFC 3339 §5.6 date-time, strictly: fixed-width fields in range, "T"/"Z" in either case (§5.6
 * NOTE), an optional fraction (ignored), and "Z" or a numeric offset. */
int util_time_parse(const char *s, time_t *out)
{
	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	int year = digits(s, 4), mon = digits(s + 5, 2), mday = digits(s + 8, 2);
	int hour = digits(s + 11, 2), min = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (year < 0 || mon < 1 || mon > 12 || mday < 1 || mday > days_in_month(year, mon) || hour < 0 || hour > 23 ||
	    min < 0 || min > 59 || sec < 0 || sec > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh = digits(p + 1, 2);
		if (oh < 0 || oh > 23 || p[3] != ':')
			return -1;
		int om = digits(p + 4, 2);
		if (om < 0 || om > 59)
			return -1;
		off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec; /* a leap second (60) becomes the next minute's first */
	*out = timegm(&tm) - off;
	return 0;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		die_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		die_oom();
	return d;
}

char *xstrndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = strndup(s, n);
	if (!d)
		die_oom();
	return d;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

char *util_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

bool util_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

double util_now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Atomic long clock_offset;

time_t util_clock(void)
{
	return time(NULL) + (time_t)atomic_load(&clock_offset);
}

long util_clock_advance(long seconds)
{
	return atomic_fetch_add(&clock_offset, seconds) + seconds;
}

long util_clock_offset(void)
{
	return atomic_load(&clock_offset);
}

/* Through vsnprintf, so that -Wformat-truncation does not flag each call: cutting a long name
 * short is the intended outcome. */
void util_snprintf_utf8(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len && len > 1) {
		/* cut short: drop a UTF-8 sequence left incomplete, so the text stays valid JSON */
		size_t end = len - 1, start = end;
		while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80)
			start--;
		if (start > 0 && (unsigned char)buf[start - 1] >= 0xC0) {
			unsigned char lead = (unsigned char)buf[start - 1];
			size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
			if (end - (start - 1) < need)
				buf[start - 1] = '\0';
		}
	}
}
