/* nonce: RFC 8555 §6.5 anti-replay nonces with O(1) issue/redeem and bounded memory.
 *
 * A nonce is base64url(counter_be64 || MAC(key, counter)[0..15]): the MAC makes nonces
 * unforgeable, the counter indexes a ring bitmap of the last `window` issued nonces, so memory is
 * window/8 bytes whatever the load, and a nonce older than the window is simply refused
 * (the client retries on badNonce, as RFC 8555 §6.5 requires). Thread-safe. */
#ifndef COBBLE_NONCE_H
#define COBBLE_NONCE_H

#include <stdbool.h>
#include <stdint.h>

#define NONCE_LEN 32 /* characters, without the NUL */

struct nonce_pool;

/* window: how many of the most recently issued nonces stay redeemable (rounded up to 64). */
struct nonce_pool *nonce_pool_new(uint32_t window);
void nonce_pool_free(struct nonce_pool *pool); /* NULL is a no-op */

/* Write a fresh nonce (NONCE_LEN characters + NUL) into out. */
void nonce_issue(struct nonce_pool *pool, char out[NONCE_LEN + 1]);
/* true exactly once for each nonce this pool issued that is still inside the window;
 * false for anything else (garbage, forged, replayed, too old). */
bool nonce_redeem(struct nonce_pool *pool, const char *nonce);

#endif
