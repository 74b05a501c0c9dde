/* evs_bloom.h: a set of byte strings that answers "certainly not in it" or "maybe".
 *
 * The event log keeps one of the request ids it holds, so that a request id never seen
 * (nearly every new command) is known to be new without a lookup in the log. A scalable
 * blocked Bloom filter: each filter is an array of 512-bit blocks; a key sets 7 bits in
 * one block (one cache line per lookup and filter). When the newest filter holds as
 * many keys as it was sized for, a new one twice its size is added, so adding never
 * rebuilds and the false-positive rate stays near 1 % (about 12 bits per key).
 *
 * A false positive only costs the lookup it would have saved; there are no false
 * negatives. Not thread-safe: one thread adds and asks.
 */
#ifndef EVS_BLOOM_H
#define EVS_BLOOM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct _evs_bloom_t evs_bloom_t;

/**
 * @brief A new, empty set.
 * @param expected  keys the first filter is sized for (at least 4,096 are assumed)
 * @return the set, or NULL when out of memory
 */
evs_bloom_t *evs_bloom_new(size_t expected);

/** @brief Frees the set and sets *@p self_p to NULL; safe on NULL. */
void evs_bloom_destroy(evs_bloom_t **self_p);

/**
 * @brief Adds @p len bytes at @p key.
 * @return 0, or -ENOMEM when a new filter was needed and could not be had (the set is
 *         then unchanged, and must not be trusted to answer "not in it" for this key)
 */
int evs_bloom_add(evs_bloom_t *self, const void *key, size_t len);

/** @brief False when the key was certainly never added; true when it may have been. */
bool evs_bloom_maybe(const evs_bloom_t *self, const void *key, size_t len);

/** @brief Keys added so far (counting repeats). */
size_t evs_bloom_count(const evs_bloom_t *self);

/** @brief Self-test: no false negatives, the false-positive rate, growth. 0 on success. */
int evs_bloom_test(bool verbose);

#endif
