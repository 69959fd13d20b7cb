/* ca_internal: what server/ca.c and server/ca_csr.c share; not for other modules. */
#ifndef COBBLE_CA_INTERNAL_H
#define COBBLE_CA_INTERNAL_H

#include <stddef.h>

/* Write a sentence for the client into err (when there is one) and empty OpenSSL's error queue. */
void ca_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
