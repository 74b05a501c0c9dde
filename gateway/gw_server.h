/* gw_server.h: the HTTP server (libmicrohttpd): one request's context, responses with
 * the security headers, and the server's life cycle.
 *
 * Threads: `threads` worker threads, each with its own libmicrohttpd daemon on the one
 * listening socket and its own event loop (epoll over the daemon, its service sockets
 * and a stop signal); a request is handled from start to end on one of them. An API
 * request runs as a task (gw_task.h): while it waits for a service its connection is
 * suspended and the thread serves other connections, so each thread keeps many
 * service calls in flight. Everything a handler touches is either the request's own
 * context, the read-only config, or per-thread state (service clients, session cache),
 * so there is no lock on the request path. (The per-address connection limit is kept
 * across the threads' daemons in one table under a mutex, taken when a connection
 * opens and closes, not per request.)
 *
 * Every response carries the security headers (Content-Security-Policy without inline
 * script, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, ...), and
 * `Cache-Control: no-store` unless the handler names another Cache-Control.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include "gw_config.h"

/** Most path parameters of one route. */
#define GW_MAX_PARAMS 4

/** One extra response header. */
typedef struct {
    const char *name;
    const char *value;
} gw_header_t;

/** One HTTP request, from its first header to its response. Owned by the server;
 *  handlers read it and respond through gw_respond() (exactly once). */
typedef struct {
    struct MHD_Connection *conn;   /**< libmicrohttpd's connection */
    const gw_config_t *config;     /**< the settings (read-only) */
    const char *method;            /**< "GET", "POST", ...; valid during the request */
    const char *url;               /**< the path, percent-decoded by libmicrohttpd */
    size_t raw_url_len;            /**< length of the URI as sent (path and query) */
    bool raw_encoded_dot;          /**< the raw path has a percent-encoded '.', '/' or NUL */
    char client_addr[64];          /**< the peer's address, e.g. "127.0.0.1" */
    char *body;                    /**< the request body so far (NUL-terminated), or NULL */
    size_t body_len;               /**< its length */
    size_t body_cap;               /**< allocated */
    size_t body_discarded;         /**< bytes dropped after the body passed body_max */
    bool too_large;                /**< the body passed body_max */
    bool started;                  /**< the first call (headers) was seen */
    bool responded;                /**< a response was queued */
    char set_cookie[300];          /**< a Set-Cookie value to send with the response, or "" */
    int n_params;                  /**< path parameters of the matched route */
    struct {
        char name[32];             /**< as in the route pattern, e.g. "orderId" */
        char value[160];           /**< percent-decoded */
    } params[GW_MAX_PARAMS];
    const struct gw_route *route;  /**< the matched API route, or NULL */
    bool in_task;                  /**< handled by a task: the response is held back ... */
    struct MHD_Response *held;     /**< ... here, and queued when the task is done */
    unsigned held_status;          /**< its status */
    bool suspended;                /**< the task waits: the connection is suspended */
} gw_req_t;

/**
 * @brief Queue the response: status, body, security headers, extra headers.
 * Sets req->responded. Only the first call of a request has an effect.
 * @param[in] ctype Content-Type, or NULL for no body type (e.g. 204, 304)
 * @param[in] body copied; may be NULL when @p len is 0
 * @param[in] extra more headers (may be NULL); a "Cache-Control" there replaces no-store
 * @return 0, or -1 when the response could not be created or queued
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
 * @brief Queue a file as the response (sendfile), with the security headers.
 * Takes ownership of @p fd in every case.
 * @return 0 or -1
 */
int gw_respond_fd(gw_req_t *req, unsigned status, const char *ctype, int fd, size_t size,
                  const gw_header_t *extra, size_t n_extra);

/**
 * @brief Queue a response whose body comes from @p reader as it is produced (no length,
 * chunked), with the security headers; @p free_cb(@p cls) runs when the response is done
 * with, also when it could not be queued.
 * @return 0 or -1
 */
int gw_respond_stream(gw_req_t *req, unsigned status, const char *ctype,
                      MHD_ContentReaderCallback reader, void *cls,
                      MHD_ContentReaderFreeCallback free_cb, const gw_header_t *extra,
                      size_t n_extra);

/** What another thread needs to resume a suspended connection of a worker. */
typedef struct {
    struct MHD_Connection *conn;
    int wakefd;                    /**< the worker's wake-up eventfd */
} gw_resumer_t;

/** @brief How to resume @p req's connection from another thread (call on the request's
 *  worker thread, e.g. in its handler). */
void gw_req_resumer(gw_req_t *req, gw_resumer_t *out);

/** @brief From any thread: resume the connection and wake its worker, whose loop then runs
 *  the daemon (a resume alone does not wake a worker that waits in epoll). */
void gw_resume(const gw_resumer_t *r);

/** @brief A request header's value (case-insensitive name), or NULL. Valid during the
 *  request. */
const char *gw_req_header(gw_req_t *req, const char *name);

/** @brief A query argument's value, or NULL. Valid during the request. */
const char *gw_req_arg(gw_req_t *req, const char *name);

/** @brief A path parameter of the matched route, or NULL. */
const char *gw_req_param(const gw_req_t *req, const char *name);

/** @brief True for methods that change state (anything but GET, HEAD, OPTIONS). */
bool gw_req_is_write(const gw_req_t *req);

/**
 * @brief Run @p fn(@p req) as a task of this thread (gw_task.h). When it waits, the
 * connection is suspended until it is done; its response is queued either way.
 */
void gw_req_run_task(gw_req_t *req, void (*fn)(void *req));

/** The server. */
typedef struct _gw_server_t gw_server_t;

/**
 * @brief Start listening on config->listen:config->port with config->threads workers.
 * @p config is borrowed and must outlive the server.
 * @return the server, or NULL when it cannot bind or start (logged)
 */
gw_server_t *gw_server_new(const gw_config_t *config);

/** @brief The TCP port actually bound (useful with port 0). */
int gw_server_port(gw_server_t *self);

/** @brief Stop (waits for the worker threads), free; sets *self_p to NULL; safe twice. */
void gw_server_destroy(gw_server_t **self_p);
#endif
