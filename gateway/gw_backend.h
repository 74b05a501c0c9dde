/* gw_backend.h: calls from the gateway's worker threads to the services.
 *
 * Each worker thread has its own request client (evs_client_t, one DEALER socket) per
 * service, created on its first call and destroyed when the thread ends: ZeroMQ
 * sockets are not thread-safe, and there is no lock on the request path.
 *
 * Failing fast: a service that has not answered for a second is probed before a call
 * with one connect() to its endpoint (ipc:// or numeric tcp://); when nothing listens
 * there (connection refused, no socket file) it is down at once, without waiting for a
 * time-out. A call that times out, or a refused probe, marks the service as down for
 * `down_ms` (config), shared by all threads through one atomic per service, so that its
 * routes answer 503 at once while the other services keep working; the next call after
 * that window tries again. A time-out is reported as "down" when nothing listens at
 * the endpoint any more, else as "slow" (504).
 */
#ifndef GW_BACKEND_H
#define GW_BACKEND_H

#include <protobuf-c/protobuf-c.h>
#include "gw_config.h"
#include "tp.pb-c.h"

/** Results of gw_backend_call(). */
#define GW_CALL_OK 0         /**< a reply came (check reply->ok) */
#define GW_CALL_DOWN (-1)    /**< the service is not running: 503 */
#define GW_CALL_SLOW (-2)    /**< no answer in time: 504 */

/** Who a call comes from. Every field is set by the gateway from the session and the
 *  connection, never from the request. NULL fields are sent empty. */
typedef struct {
    const char *request_id;     /**< NULL or "": a fresh one */
    const char *actor_account;  /**< the session's account, or NULL */
    const char *actor_role;     /**< "customer", "officer", or NULL (anonymous) */
    const char *client_addr;    /**< the HTTP client's address */
} gw_actor_t;

/**
 * @brief Set up the shared state (thread key, down table). Call once, before any
 * thread calls. @p config is borrowed and must outlive every call.
 * @return 0 or -1
 */
int gw_backend_init(const gw_config_t *config);

/**
 * @brief One command or query, from the calling thread's own client.
 * The header's deadline is now + @p timeout_ms, so a service that reads the request
 * late drops it instead of doing work nobody waits for.
 * @param[in] body the command message, or NULL for an empty body
 * @param[out] reply the reply on GW_CALL_OK (free with tp__reply__free_unpacked()), else NULL
 * @return GW_CALL_OK, GW_CALL_DOWN or GW_CALL_SLOW
 */
int gw_backend_call(gw_svc_t svc, const gw_actor_t *as, const char *command,
                    const ProtobufCMessage *body, int timeout_ms, Tp__Reply **reply);

/**
 * @brief Readiness of one service: "$status" within @p timeout_ms. Ignores (and
 * refreshes) the down memory, so /readyz always reports what is true now.
 * @return GW_CALL_OK, GW_CALL_DOWN or GW_CALL_SLOW
 */
int gw_backend_ready(gw_svc_t svc, int timeout_ms);

/** @brief Destroy the calling thread's clients now (they are destroyed at thread exit
 *  anyway); for threads that end without pthread_exit semantics, e.g. the main thread. */
void gw_backend_thread_done(void);
#endif
