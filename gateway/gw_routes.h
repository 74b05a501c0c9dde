/* gw_routes.h: the API's route table and the steps every route shares.
 *
 * Layer: below the server (gw_server.c asks it what to do with a request), above the
 * handlers (gw_api.c, gw_static.c, gw_handler.c), which it reaches only through the
 * table's function pointers and gw_static_serve(); see gateway/README.md.
 *
 * Each route (gw_handler.h) names its service command, the message types of its body
 * and reply, and flags; a handler does what is particular to it. Before a handler runs,
 * the shared steps are done in this order, each answering on its own when it refuses:
 *
 *   1. state-changing methods: the Origin check (403 "csrf")
 *   2. the session: required (401 "unauthenticated") or optional; a down account
 *      service is 503
 *   3. state-changing methods with a session: the X-CSRF-Token check (403 "csrf")
 *   4. officer routes: the account is an officer of some shop (else 403 "forbidden")
 *   5. POST: the Idempotency-Key header becomes the request id
 *      "<account id | anon-hash>:<command>:<key>" (1..100 characters of A-Z a-z 0-9
 *      . _ : -, else 400), so a retry is answered from the service's idempotency record
 *      and two clients' keys never collide; without the header the id is fresh
 *   6. the command message from the JSON body (POST) or the query arguments (GET),
 *      with the path parameters set over it, through the generic codec (400 naming
 *      the field)
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stdio.h>
#include "gw_handler.h"
#include "gw_req.h"

/**
 * @brief Route @p req: an API route, the static files, or 404/405.
 * @return NULL after responding at once (static files, 404, 405); for an API route, the
 *         function that does the shared steps and the handler, which the caller runs as
 *         a task (gw_task.h: it may wait for services) and which always responds
 */
gw_req_fn *gw_routes_dispatch(gw_req_t *req);

/** @brief Print every route as "METHOD PATH" lines (for `tp-gateway --routes`). */
void gw_routes_print(FILE *out);
#endif
