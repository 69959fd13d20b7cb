/* events: a bounded ring of recent validations, orders and certificates for the status page. */
#include "server/events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static struct event ring[EVENTS_MAX];
static size_t next, count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void events_add(const char *kind, const char *subject, const char *account, const char *verdict,
                const char *reason_fmt, ...)
{
	struct event e;
	memset(&e, 0, sizeof e);
	e.when = time(NULL);
	snprintf(e.kind, sizeof e.kind, "%s", kind);
	snprintf(e.subject, sizeof e.subject, "%s", subject);
	snprintf(e.account, sizeof e.account, "%s", account ? account : "");
	snprintf(e.verdict, sizeof e.verdict, "%s", verdict);
	va_list ap;
	va_start(ap, reason_fmt);
	vsnprintf(e.reason, sizeof e.reason, reason_fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	ring[next] = e;
	next = (next + 1) % EVENTS_MAX;
	if (count < EVENTS_MAX)
		count++;
	pthread_mutex_unlock(&lock);
}

size_t events_recent(const char *kind, struct event *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count && n < max; i++) {
		const struct event *e = &ring[(next + EVENTS_MAX - 1 - i) % EVENTS_MAX];
		if (!kind || strcmp(e->kind, kind) == 0)
			out[n++] = *e;
	}
	pthread_mutex_unlock(&lock);
	return n;
}
