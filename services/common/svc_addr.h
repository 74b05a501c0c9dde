/* svc_addr.h: client addresses as the key of throttling, and a rate per key.
 *
 * Throttling by client address must not be dodged by changing addresses a host has for
 * free. An IPv4 address is one key; an IPv6 host usually holds a whole /64 (privacy
 * addresses, SLAAC), so an IPv6 address is keyed by its /64 prefix; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is its IPv4 address. The cores key their failure windows by
 * it, and the runtime its budget of slow work per client (svc.h, "Slow work").
 *
 * svc_rate_t is a token bucket per key: a key may take `burst` at once and then
 * `per_minute` a minute. It lives in memory (the runtime's, not the log's): a restart
 * gives every client a full budget, which costs an attacker one burst per restart.
 */
#ifndef SVC_ADDR_H
#define SVC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Room for a key: an IPv6 /64 prefix in text plus "/64". */
#define SVC_ADDR_KEY_MAX 48

/**
 * @brief The throttling key of @p addr (as the gateway passes it: "198.51.100.7",
 * "2001:db8:1:2::5") into @p out: the IPv4 address, or the IPv6 /64 prefix in its
 * canonical text with "/64" ("2001:db8:1:2::/64").
 * @return true; false when @p addr is empty or not an IP address (then @p out holds
 *         @p addr itself, cut to fit, so that such callers still share one key)
 */
bool svc_addr_key(const char *addr, char *out, size_t outsz);

/** A token bucket per key. Opaque. */
typedef struct _svc_rate_t svc_rate_t;

/**
 * @brief Budgets of @p burst takes at once, refilled at @p per_minute, for at most
 * @p max_keys keys at a time (keys whose bucket is full again are forgotten first).
 * @return the limiter, or NULL when out of memory or a value is not positive
 */
svc_rate_t *svc_rate_new(double burst, double per_minute, size_t max_keys);

/** @brief Free the limiter; sets *self_p to NULL; safe on NULL. */
void svc_rate_destroy(svc_rate_t **self_p);

/**
 * @brief Take one from @p key's budget at @p now_ms (a monotonic clock in ms).
 * @return true when there was one; false when the key's budget is used up, or when
 *         max_keys keys are being throttled already and @p key would be one more
 */
bool svc_rate_take(svc_rate_t *self, const char *key, int64_t now_ms);

/** @brief Keys being followed now (for tests and status). */
size_t svc_rate_size(const svc_rate_t *self);

/** @brief Self-test of svc_addr_key and svc_rate_t; 0 when it passes. */
int svc_addr_test(bool verbose);

#endif
