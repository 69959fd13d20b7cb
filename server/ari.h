/* ari: ACME Renewal Information (RFC 9773) pure helpers: the certID of a certificate and the
 * suggested renewal window. No store, no HTTP: unit-testable on their own. */
#ifndef COBBLE_ARI_H
#define COBBLE_ARI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define ARI_CERTID_MAX 128  /* base64url(<= 32 octets) "." base64url(<= 21 octets), NUL: fits */
#define ARI_AKI_MAX 32      /* keyIdentifier octets we accept (ours are 20: SHA-1) */

/* RFC 9773 §4.1: certID = base64url(AKI keyIdentifier) "." base64url(serial DER content octets).
 * serial_hex is lowercase hex of the serial's value (leading zeros optional). Returns 0, or -1
 * when the inputs do not fit. */
int ari_certid_make(const unsigned char *aki, size_t aki_len, const char *serial_hex,
                    char out[ARI_CERTID_MAX]);

/* Parse a certID: both parts non-empty base64url without padding, the serial a positive DER
 * INTEGER's content octets in minimal form, at most 20 octets of value (RFC 5280 §4.1.2.2).
 * Writes the keyIdentifier and the serial as lowercase hex without leading zeros. Returns 0, or
 * -1 with a sentence for the client in err. */
int ari_certid_parse(const char *s, unsigned char aki[ARI_AKI_MAX], size_t *aki_len,
                     char serial_hex[41], char *err, size_t errlen);

/* The suggested window (RFC 9773 §4.2). A live certificate: from 2/3 to 5/6 of its lifetime (the
 * start of the last third, as Let's Encrypt and Pebble centre theirs, ending well before expiry).
 * A revoked one: a window that ended an hour before now, so a client renews at once (§4.2). */
void ari_window(time_t not_before, time_t not_after, bool revoked, time_t now, time_t *start,
                time_t *end);

#endif
