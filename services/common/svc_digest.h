/* svc_digest.h: the SHA-256 digest of a core's state for its summary, so a live state
 * and a replay of the log can be compared with one string. */
#ifndef SVC_DIGEST_H
#define SVC_DIGEST_H
#include <czmq.h>
#include <sodium.h>

/** A digest being built (on the stack). */
typedef struct {
    crypto_hash_sha256_state h;
} svc_digest_t;

/** @brief Start a digest. */
void svc_digest_init(svc_digest_t *d);

/** @brief Add one line (printf-style; a newline is added), e.g. one record of the state. */
void svc_digest_line(svc_digest_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** @brief Finish: 64 lowercase hex characters and a NUL into @p hex. */
void svc_digest_hex(svc_digest_t *d, char hex[65]);

/** @brief The keys of @p hash, sorted (strcmp), so the digest does not depend on the
 *  hash's order. The list borrows the keys; destroy it with zlistx_destroy. */
zlistx_t *svc_sorted_keys(zhashx_t *hash);
#endif
