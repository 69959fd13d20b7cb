/* persist_vector: one dns-persist-01 conformance vector (a JSON Lines object, format in
 * test/vectors/README.md) as a persist_input, for `cobble check-record --vectors` and the unit
 * tests, which must read the vectors the same way. */
#ifndef COBBLE_PERSIST_VECTOR_H
#define COBBLE_PERSIST_VECTOR_H

#include "common/persist.h"

#include <jansson.h>

#define PERSIST_VECTOR_MAX_LIST 64 /* issuers, thumbprints */

struct persist_vector {
	struct persist_input in;     /* strings borrowed from the JSON object */
	const struct persist_rr *rrs;
	size_t nrrs;
	const char *expect;          /* "valid", "malformed", "unauthorized", or NULL when absent */
	/* owned */
	char *issuers[PERSIST_VECTOR_MAX_LIST];
	size_t nissuers;
	const char *tps[PERSIST_VECTOR_MAX_LIST];
	struct persist_rr *rr_buf;
	struct persist_str *str_buf;
};

/* Fill v from one vector object o, which must outlive v (its strings are borrowed; a "\t" in a
 * record string is a TAB octet). Returns NULL, or a static sentence saying what is wrong; either
 * way free v with persist_vector_clear. */
const char *persist_vector_parse(json_t *o, struct persist_vector *v);
void persist_vector_clear(struct persist_vector *v);

#endif
