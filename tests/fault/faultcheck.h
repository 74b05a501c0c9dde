/* faultcheck.h: what the fault suite's tests share: the services they load (the example
 * service and the order service, each with a follower), the load and what its client was
 * answered, and the invariants checked on a log afterwards:
 *   - the log verifies (the hash chain);
 *   - every request answered ok is in the log, its kept reply the one the client got, and
 *     its events written once (one run of seqs ending at the reply's seq);
 *   - each stream's versions run 1, 2, 3 ... in the log's order;
 *   - a follower's checkpoint of its upstream never passes the upstream's head.
 * The checks on a folder read it in this process through the event store (a damaged file
 * can crash LMDB: powercut.c runs them in a child process).
 */
#ifndef FAULTCHECK_H
#define FAULTCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "harness.h"
#include "pipeline.h"

#define FC_REQUESTS 300 /* a load: increments on 16 counters, or shops */
#define FC_INFLIGHT 8   /* few in flight: many small groups, many commits */

/** A service under test, and one that follows it. */
typedef struct {
    const char *name;            /**< its instance (and key) name */
    const char *follower;        /**< a service that follows it */
    pl_build_fn *build;          /**< its load's request i (request id "f-<i>") */
    const char *const *settings; /**< config pairs for the two, NULL-terminated */
} fc_target_t;

/** alpha (the example service) followed by beta; order followed by identification. */
extern const fc_target_t fc_targets[2];

/** What the client was answered for request i of the load. */
typedef struct {
    bool ok;       /**< answered ok (the others are not checked) */
    uint64_t seq;  /**< the reply's last_seq */
    int64_t at_ns; /**< when the answer came, CLOCK_MONOTONIC (rounded up) */
    uint8_t *body; /**< the reply's body (owned) */
    size_t body_len;
} fc_ack_t;

/** @brief Settings for @p t and its follower in @p th's config: pipelined or not, no tick. */
void fc_configure(th_t *th, const fc_target_t *t, bool pipeline);

/**
 * @brief The load against @p t, running: FC_REQUESTS requests, FC_INFLIGHT in flight,
 * resent after silence, given up after @p give_up_ms.
 * @return the answers, [FC_REQUESTS] (free with fc_acks_destroy), or NULL out of memory
 */
fc_ack_t *fc_load(th_t *th, const fc_target_t *t, int give_up_ms);

/** @brief Free what fc_load() returned; sets *acks_p to NULL; safe on NULL. */
void fc_acks_destroy(fc_ack_t **acks_p);

/** @brief Requests answered ok no later than @p until_ns. */
int fc_acked(const fc_ack_t *acks, int64_t until_ns);

/**
 * @brief Sends again each request answered ok no later than @p until_ns (pipelined, the
 * same request ids) to @p t running in @p th.
 * @return true when each is answered replayed, ok, with the same seq and body; else false,
 *         each difference on stderr after @p what
 */
bool fc_resend(th_t *th, const fc_target_t *t, const fc_ack_t *acks, int64_t until_ns,
               const char *what);

/**
 * @brief Each stream's versions in the log in @p dir run 1, 2, 3 ... in the log's order.
 * @param[out] events the events read
 * @return false (the first offence on stderr after @p what) when not, or unreadable
 */
bool fc_versions(const char *dir, long *events, const char *what);

/**
 * @brief The load's requests in the log in @p dir: each id's events one run of seqs ending
 * at its kept reply's seq; each request answered ok no later than @p until_ns there,
 * kept with the reply the client got. @p acks may be NULL (the runs only).
 * @return false (each offence on stderr after @p what) when not, or unreadable
 */
bool fc_requests(const char *dir, const fc_ack_t *acks, int64_t until_ns, const char *what);

/**
 * @brief The log in @p dir verifies (evs_verify).
 * @return false (the reason on stderr after @p what) when not, or unreadable
 */
bool fc_verify(const char *dir, const char *what);

/** @brief The head of the log in @p dir, and @p follower_dir's checkpoint of @p upstream
 *  (0 for one that cannot be opened). */
void fc_heads(const char *dir, const char *follower_dir, const char *upstream, uint64_t *head,
              uint64_t *checkpoint);
#endif
