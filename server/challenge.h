/* challenge: the one table of challenge types. Everything that needs to know which types exist
 * reads it: the configuration ("challenges"), newOrder (which challenges an authorization gets),
 * the challenge JSON (token or not) and the VA (which method validates). */
#ifndef COBBLE_CHALLENGE_H
#define COBBLE_CHALLENGE_H

#include <stdbool.h>

struct va_worker;
struct va_job;
struct va_result;

struct challenge_type {
	const char *name;        /* the ACME "type" (RFC 8555 §8) */
	const char *config_name; /* its name in the configuration's "challenges" list */
	/* proved in DNS: the only kind a wildcard may use (RFC 8555 §7.1.3), never offered for an ip
	 * identifier (RFC 8738 §7) */
	bool dns_based;
	bool has_token;          /* carries a random token (RFC 8555 §8.1) */
	/* the VA method (server/va_<method>.c): fills res, never blocks past its own timeouts */
	void (*validate)(struct va_worker *w, const struct va_job *job, struct va_result *res);
};

/* Every type, in the order newOrder offers them; ends with a row whose name is NULL. */
extern const struct challenge_type challenge_types[];

/* The row of an ACME type name, or NULL. */
const struct challenge_type *challenge_find(const char *name);
/* The row a configuration name selects, or NULL. */
const struct challenge_type *challenge_find_config(const char *config_name);

#endif
