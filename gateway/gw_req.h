/* gw_req.h: one HTTP request and its response, as every layer of the gateway sees them.
 *
 * The bottom of the gateway's HTTP side (gateway/README.md has the layers): the server
 * (gw_server.c) fills a gw_req_t from libmicrohttpd's connection, the layers above read
 * it and answer through gw_respond() and its variants, and the server queues the answer
 * once the layer that handles the request returns (or its task ends). Nothing here calls
 * into another gateway module: a response is built here and held in the request.
 *
 * Every response carries the security headers (Content-Security-Policy without inline
 * script, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, ...), and
 * `Cache-Control: no-store` unless the handler names another Cache-Control.
 *
 * Lifetime: a gw_req_t lives from the request's first header to the end of its
 * connection's request (libmicrohttpd's completion callback); the strings it points to
 * (method, url, header values) are libmicrohttpd's and valid as long.
 */
#ifndef GW_REQ_H
#define GW_REQ_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gw_config.h"

/** Most path parameters of one route. */
#define GW_MAX_PARAMS 4

/** One extra response header. */
typedef struct {
    const char *name;
    const char *value;
} gw_header_t;

struct gw_route;

/** One HTTP request, from its first header to its response. Owned by the server;
 *  the layers above read it and respond through gw_respond() (exactly once). */
typedef struct gw_req {
    struct MHD_Connection *conn; /**< libmicrohttpd's connection */
    const gw_config_t *config;   /**< the settings (read-only) */
    const char *method;          /**< "GET", "POST", ...; valid during the request */
    const char *url;             /**< the path, percent-decoded by libmicrohttpd */
    size_t raw_url_len;          /**< length of the URI as sent (path and query) */
    bool raw_encoded_dot;        /**< the raw path has a percent-encoded '.', '/' or NUL */
    char client_addr[64];        /**< the peer's address, e.g. "127.0.0.1" */
    char *body;                  /**< the request body so far (NUL-terminated), or NULL */
    size_t body_len;             /**< its length */
    size_t body_cap;             /**< allocated */
    size_t body_discarded;       /**< bytes dropped after the body passed body_max */
    bool too_large;              /**< the body passed body_max */
    bool started;                /**< the first call (headers) was seen */
    bool responded;              /**< a response was made (held below until queued) */
    char set_cookie[300];        /**< a Set-Cookie value to send with the response, or "" */
    int n_params;                /**< path parameters of the matched route */
    struct {
        char name[32];   /**< as in the route pattern, e.g. "orderId" */
        char value[160]; /**< percent-decoded */
    } params[GW_MAX_PARAMS];
    const struct gw_route *route;         /**< the matched API route, or NULL */
    void (*route_fn)(struct gw_req *req); /**< what the route table chose to run as a task */
    struct MHD_Response *held;            /**< the response, until the server queues it */
    unsigned held_status;                 /**< its status */
    bool suspended;                       /**< a task waits: the connection is suspended */
    int wakefd;                           /**< the worker's wake-up eventfd (gw_resume), or -1 */
    int loopfd;                           /**< the worker loop's epoll (gw_hangup_watch), or -1 */
} gw_req_t;

/** A function that handles a request (responds through gw_respond()). */
typedef void(gw_req_fn)(gw_req_t *req);

/**
 * @brief Make the response: status, body, security headers, extra headers. It is held
 * in the request (req->held) until the server queues it. Sets req->responded. Only the
 * first call of a request has an effect.
 * @param[in] ctype Content-Type, or NULL for no body type (e.g. 204, 304)
 * @param[in] body copied; may be NULL when @p len is 0
 * @param[in] extra more headers (may be NULL); a "Cache-Control" there replaces no-store
 * @return 0, or -1 when the response could not be made or one was made already
 */
int gw_respond(gw_req_t *req, unsigned status, const char *ctype, const void *body, size_t len,
               const gw_header_t *extra, size_t n_extra);

/**
 * @brief gw_respond() with a body the response takes over (no copy): @p body must come
 * from malloc() and is freed in every case.
 */
int gw_respond_take(gw_req_t *req, unsigned status, const char *ctype, char *body, size_t len,
                    const gw_header_t *extra, size_t n_extra);

/**
 * @brief A file as the response (sendfile), with the security headers.
 * Takes ownership of @p fd in every case.
 * @return 0 or -1
 */
int gw_respond_fd(gw_req_t *req, unsigned status, const char *ctype, int fd, size_t size,
                  const gw_header_t *extra, size_t n_extra);

/**
 * @brief A response whose body comes from @p reader as it is produced (no length,
 * chunked), with the security headers; @p free_cb(@p cls) runs when the response is done
 * with, also when it could not be made.
 * @return 0 or -1
 */
int gw_respond_stream(gw_req_t *req, unsigned status, const char *ctype,
                      MHD_ContentReaderCallback reader, void *cls,
                      MHD_ContentReaderFreeCallback free_cb, const gw_header_t *extra,
                      size_t n_extra);

/** What another thread needs to resume a suspended connection of a worker. */
typedef struct {
    struct MHD_Connection *conn;
    int wakefd; /**< the worker's wake-up eventfd */
} gw_resumer_t;

/** @brief How to resume @p req's connection from another thread (its connection and the
 *  eventfd its worker's loop watches, which the server put into the request). */
void gw_req_resumer(gw_req_t *req, gw_resumer_t *out);

/** @brief From any thread: resume the connection and wake its worker, whose loop then runs
 *  the daemon (a resume alone does not wake a worker that waits in epoll). */
void gw_resume(const gw_resumer_t *r);

/** @brief On the connection's worker, from its content-reader callback: suspend the
 *  connection until gw_resume(). */
void gw_suspend(const gw_resumer_t *r);

/** A watch for the client hanging up (gw_hangup_watch). libmicrohttpd does not look at a
 *  suspended connection's socket, so a closed tab's long-lived response would otherwise
 *  go unnoticed until something is written to it. */
typedef struct gw_hangup {
    void (*fn)(void *arg); /**< called once, on the connection's worker, when it hung up */
    void *arg;
    int fd;                /**< the client's socket */
    int loopfd;            /**< the worker loop's epoll */
} gw_hangup_t;

/** @brief Watch @p req's client socket on its worker's loop: when the client closes its
 *  end (or the connection fails) the loop calls @p fn(@p arg) once. @p h must stay valid
 *  until gw_hangup_unwatch(), which must come before the connection is gone (in the
 *  response's free callback, say). @return 0, or -1 when it cannot be watched */
int gw_hangup_watch(gw_req_t *req, gw_hangup_t *h, void (*fn)(void *arg), void *arg);

/** @brief Stops watching (safe on a watch that failed or fired). */
void gw_hangup_unwatch(gw_hangup_t *h);

/** @brief For the worker's loop: an epoll event whose data is @p tag fired; true when the
 *  tag was a hang-up watch's (then its function was called). Hang-up watches tag their
 *  events with their own address, which is never below @p first_pointer_tag. */
bool gw_hangup_fired(uint64_t tag, uint64_t first_pointer_tag);

/**
 * @brief Hand the response made for @p req to the caller (the server, which queues it).
 * @param[out] status its status
 * @return the response (the caller destroys it), or NULL when none is held
 */
struct MHD_Response *gw_req_take_response(gw_req_t *req, unsigned *status);

/** @brief A request header's value (case-insensitive name), or NULL. Valid during the
 *  request. */
const char *gw_req_header(gw_req_t *req, const char *name);

/** @brief A cookie's value, or NULL. Valid during the request. */
const char *gw_req_cookie(gw_req_t *req, const char *name);

/** @brief A query argument's value, or NULL. Valid during the request. */
const char *gw_req_arg(gw_req_t *req, const char *name);

/**
 * @brief Call @p fn(@p cls, name, value) for every query argument (value NULL for a
 * bare "?flag"), in the order sent. Names and values are valid during the request.
 */
void gw_req_args(gw_req_t *req, void (*fn)(void *cls, const char *name, const char *value),
                 void *cls);

/** @brief A path parameter of the matched route, or NULL. */
const char *gw_req_param(const gw_req_t *req, const char *name);

/** @brief True for methods that change state (anything but GET, HEAD, OPTIONS). */
bool gw_req_is_write(const gw_req_t *req);

/** @brief Free what the request holds (its body, a response never queued) and the
 *  request itself; safe with NULL. */
void gw_req_free(gw_req_t *req);
#endif
