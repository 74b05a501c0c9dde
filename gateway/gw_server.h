/* gw_server.h: the HTTP server (libmicrohttpd): its worker threads and loops, the life
 * of a request from its first header to its queued response, and the server's life cycle.
 *
 * The top of the gateway's layers (gateway/README.md): it asks the route table
 * (gw_routes_dispatch) what to do with each request and runs the answer as a task;
 * everything below reads the request and answers through gw_req.h, and none of it
 * includes this header. The server queues the response once the layer below returns.
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

#include "gw_config.h"

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
