/* challenge: the challenge-type table. Adding a type is one row here, one method file
 * server/va_<method>.c declared in server/va_method.h (see HACKING.md). */
#include "server/challenge.h"
#include "server/store.h"
#include "server/va_method.h"

#include <stddef.h>
#include <string.h>

const struct challenge_type challenge_types[] = {
    {"http-01", "http-01", false, true, va_http01},             /* RFC 8555 §8.3 */
    {"dns-01", "dns-01", true, true, va_dns01},                 /* RFC 8555 §8.4 */
    {"tls-alpn-01", "tls-alpn-01", false, true, va_tlsalpn01},  /* RFC 8737 */
    {"dns-persist-01", "dns-persist-01", true, false, va_dns_persist}, /* spec dns-persist-01 */
    {"dns-account-01", "dns-account-01", true, true, va_dns_account01}, /* draft-ietf-acme-dns-account-label-03 */
    {NULL, NULL, false, false, NULL},
};

/* an authorization can hold one challenge of every type */
_Static_assert(sizeof challenge_types / sizeof challenge_types[0] - 1 <= STORE_MAX_CHALLENGES,
               "STORE_MAX_CHALLENGES is smaller than the challenge-type table");

const struct challenge_type *challenge_find(const char *name)
{
	for (const struct challenge_type *t = challenge_types; name && t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

const struct challenge_type *challenge_find_config(const char *config_name)
{
	for (const struct challenge_type *t = challenge_types; config_name && t->name; t++)
		if (strcmp(t->config_name, config_name) == 0)
			return t;
	return NULL;
}
