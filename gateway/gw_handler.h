/* gw_handler.h: what a route's handler is given, and the steps handlers share.
 *
 * The contract between the route table (gw_routes.h, above) and the handlers (gw_api.c
 * and gw_handler_generic() here, beside it): a route names its handler, its service
 * command, the message types of its body and reply, and flags; by the time a handler
 * runs, the table has done the shared steps (Origin and CSRF checks, the session, the
 * officer check, the request id, the command message; gw_routes.h lists them) and hands
 * their outcome over in a gw_ctx_t. A handler calls services through
 * gw_handler_call() and answers through gw_handler_ok() or its variants; it responds
 * exactly once on every path.
 *
 * The actor of every call (account, role, client address) comes from the session and
 * the connection only, never from the request: "customer" for a logged-in account,
 * "officer" on officer routes, empty when anonymous.
 */
#ifndef GW_HANDLER_H
#define GW_HANDLER_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include "gw_backend.h"
#include "gw_req.h"
#include "gw_session.h"

/** @defgroup route_flags Route flags
 * @{ */
#define GW_R_SESSION     0x1u /**< needs a session (401 without) */
#define GW_R_SESSION_OPT 0x2u /**< uses the session when there is a valid one */
#define GW_R_OFFICER     0x4u /**< acts as "officer"; the account must be one */
#define GW_R_SLOW        0x8u /**< the service hashes a password: the longer time-out */
/** @} */

/** What the shared steps prepared for a handler. */
typedef struct {
    gw_session_t session; /**< when has_session */
    bool has_session;
    char request_id[256];  /**< from Idempotency-Key, or "" for a fresh one */
    gw_actor_t actor;      /**< points into this context and the request */
    ProtobufCMessage *msg; /**< the command built from the request (route->body), or NULL */
    int timeout_ms;        /**< for this route's calls */
} gw_ctx_t;

typedef struct gw_route gw_route_t;

/** A handler: must respond exactly once (every path). */
typedef void(gw_handler_fn)(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);

/** One route. */
struct gw_route {
    const char *method; /**< "GET", "POST", "DELETE" */
    const char *path;   /**< e.g. "/api/v1/orders/{orderId}" */
    gw_handler_fn *handler;
    gw_svc_t svc;                            /**< the service it calls */
    const char *command;                     /**< e.g. "order.GetOrder", or NULL */
    const ProtobufCMessageDescriptor *body;  /**< command message built from the request,
                                                  or NULL */
    const ProtobufCMessageDescriptor *reply; /**< reply message type, or NULL */
    unsigned flags;                          /**< GW_R_* */
    unsigned status;                         /**< HTTP status of success */
};

/**
 * @brief Call @p command with @p msg as the context's actor, on the route's service.
 * @return the reply when it is ok (free with tp__reply__free_unpacked()); NULL after
 *         responding (503/504, or the service's refusal with its status)
 */
Tp__Reply *gw_handler_call(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx,
                           const char *command, const ProtobufCMessage *msg);

/**
 * @brief gw_handler_call() on service @p svc instead of the route's (a handler that gathers
 * from several services); a failure is answered naming @p svc.
 */
Tp__Reply *gw_handler_call_on(gw_req_t *req, gw_svc_t svc, gw_ctx_t *ctx, const char *command,
                              const ProtobufCMessage *msg);

/**
 * @brief Respond with @p json and the route's success status, marking a reply that came
 * from the service's idempotency record (header Idempotent-Replayed: true). Takes
 * @p json (NULL: 502, the reply did not decode).
 */
void gw_handler_ok(gw_req_t *req, const gw_route_t *route, const Tp__Reply *reply, json_t *json);

/**
 * @brief gw_handler_ok() with the reply's body as it is (type route->reply), written
 * straight to JSON text; 502 when it does not decode.
 */
void gw_handler_ok_reply(gw_req_t *req, const gw_route_t *route, const Tp__Reply *reply);

/** The standard handler: call, answer the reply as JSON with the route's status. */
void gw_handler_generic(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);

/**
 * @brief Before refusing for a missing right (officer, shop): the request's session
 *        resolved again past this thread's cache (gw_session_refresh), which may predate
 *        an appointment made a moment ago; the actor follows the new session.
 * @return true to go on and check again; false after responding (401, or 503/504)
 */
bool gw_handler_refresh(gw_req_t *req, gw_ctx_t *ctx);
#endif
