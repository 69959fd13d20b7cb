/* events: a bounded ring of recent validations, orders and certificates for the status page.
 * Thread-safe; old events fall off the end. */
#ifndef COBBLE_EVENTS_H
#define COBBLE_EVENTS_H

#include <stddef.h>
#include <time.h>

#define EVENTS_MAX 200

struct event {
	time_t when;
	char kind[16];      /* "validation", "caa" (recheck at issuance), "order", "certificate", "revocation" */
	char subject[300];  /* e.g. "dns-persist-01 *.example.com" */
	char account[24];
	char verdict[16];   /* "valid", "invalid", "pending", "issued", ... */
	char reason[700];   /* the problem detail, or what was looked at */
};

void events_add(const char *kind, const char *subject, const char *account, const char *verdict,
                const char *reason_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Copy up to max events of kind (NULL: any), newest first; returns how many. */
size_t events_recent(const char *kind, struct event *out, size_t max);

#endif
