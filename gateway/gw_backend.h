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
 *
 * Waiting without holding the thread: a call made from a task (gw_task.h) on a thread
 * whose event loop is attached (gw_backend_thread_attach) sends its request and yields;
 * the loop watches the thread's sockets, and gw_backend_dispatch() hands each reply to
 * the task that waits for it (by request id) or ends the wait at the call's time-out.
 * So one thread has many calls in flight on its own sockets, still without a lock.
 * After a time-out the socket is set aside (and closed once nothing else is in flight
 * on it), so a late answer is never taken for a later call with the same request id;
 * two calls with one request id are never in flight on one socket at once. Elsewhere
 * (no task, or no attached loop) a call blocks until its reply or time-out.
 *
 * Several instances of a service (its `routers` list: svc_connect_endpoints): each
 * socket connects to all of them, and a call fails over as evs_client_call does
 * (evs_bus.h), within its own time-out: a standby's refusal ("not_active") sends the same
 * request (the same id) again after a pause instead of reaching the browser, and a try
 * unanswered after half the time-out is sent again on a fresh socket. A service counts as
 * not running only when nothing listens at any of its endpoints. When only standbys
 * answered until the time-out, the call is GW_CALL_DOWN (503) without marking the service
 * down: their answers neither trip the fail-fast memory nor clear it.
 */
#ifndef GW_BACKEND_H
#define GW_BACKEND_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include "gw_config.h"
#include "tp.pb-c.h"

/** Results of gw_backend_call(). */
#define GW_CALL_OK 0         /**< a reply came (check reply->ok) */
#define GW_CALL_DOWN (-1)    /**< the service is not running, or none of it is active: 503 */
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

/**
 * @brief Make the calling thread's calls from tasks wait through its event loop:
 * the descriptors of its sockets are added to @p epfd (EPOLLIN), a socket of service
 * svc with data.u64 = @p tag + svc (so tags tag .. tag + GW_SVC_COUNT - 1 are taken).
 * The loop then calls gw_backend_dispatch() after every wake-up and waits at most
 * gw_backend_next_ms().
 */
void gw_backend_thread_attach(int epfd, uint64_t tag);

/** @brief Milliseconds until the calling thread's next call times out (0: due now), or
 *  -1 when none is in flight. */
int gw_backend_next_ms(void);

/** @brief Hand the replies that came to the tasks waiting for them, and end the waits
 *  that timed out (those tasks run on until they wait again or end). @p woken: bit svc
 *  set when the loop saw a descriptor of service svc's sockets; those sockets are read,
 *  and those sent on since they were last read (a failed read of an empty socket costs
 *  ZeroMQ two system calls, so the others are left alone). */
void gw_backend_dispatch(unsigned woken);

/** @brief The thread stops: its calls in flight end as "down" (503), and so does every
 *  later one. */
void gw_backend_thread_stop(void);

/** @brief Destroy the calling thread's clients now (they are destroyed at thread exit
 *  anyway); for threads that end without pthread_exit semantics, e.g. the main thread. */
void gw_backend_thread_done(void);

/** Self-test of the failover between a service's instances (gw_backend_test.c). */
int gw_backend_test(bool verbose);
#endif
