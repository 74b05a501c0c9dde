/* pipeline.h: a pipelined request client for benchmarks (run it in a thread): many
 * requests in flight on one DEALER over CURVE (every service socket is),
 * request ids "<prefix>-<i>"; after a silence every unanswered request is sent again with
 * the same id (the services answer a repeat from their idempotency records). Optionally
 * paced: request i leaves at start + i / rate. Generalizes th_load_run (tests/harness.c)
 * to any command. */
#ifndef PIPELINE_H
#define PIPELINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tp.pb-c.h"

/** What request i is: filled in by the build callback. */
typedef struct {
    const char *command;  /**< e.g. "production.RecordCardShipped" */
    const char *role;     /**< header.actor_role (NULL: "") */
    const char *account;  /**< header.actor_account (NULL: "") */
    size_t body_len;      /**< bytes written into the body buffer */
} pl_req_t;

/** Builds request @p i: its body into @p body (at most @p cap bytes); false to skip it
 *  (counted as answered, refused). */
typedef bool(pl_build_fn)(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap);

/** Called once per request with its first answer and when it came (zclock_usecs). */
typedef void(pl_reply_fn)(void *arg, int i, const Tp__Reply *r, int64_t at_us);

typedef struct {
    const char *endpoint;     /**< in: a service's ROUTER (or its producers' endpoint) */
    const char *keys_dir;     /**< in: the keys folder (evs_keys.h), and */
    const char *me;           /**< in: the stem of the key sent with, and */
    const char *server;       /**< in: the service's name (its public key) */
    const char *prefix;       /**< in: request id prefix (unique per run) */
    int count;                /**< in: requests */
    int inflight;             /**< in: at most this many unanswered */
    int pace_per_s;           /**< in: 0 = as fast as the window allows */
    int timeout_ms;           /**< in: silence before resending */
    int give_up_ms;           /**< in */
    pl_build_fn *build;       /**< in */
    pl_reply_fn *on_reply;    /**< in, may be NULL */
    void *arg;                /**< in: for the callbacks */
    int acked;                /**< out: answered */
    int refused;              /**< out: answered with ok = false (or not built) */
    int resends;              /**< out */
    int64_t started_us;       /**< out: first send (zclock_usecs) */
    int64_t finished_us;      /**< out: last answer */
} pl_load_t;

/** Thread body (pthread signature) for a pl_load_t. */
void *pl_run(void *arg);
#endif
