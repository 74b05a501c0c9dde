/* gw_sse.h: GET /api/v1/events: a logged-in customer's live updates as Server-Sent
 * Events (text/event-stream), served from the hub (gw_events.h).
 *
 * The handler takes the session's account, opens a stream of the hub (with the request's
 * Last-Event-ID) and answers 200 with a body that never ends while both sides live: the
 * connection's content callback reads what the hub put into the stream, and suspends the
 * connection when there is nothing (the hub resumes it). libmicrohttpd does not look at a
 * suspended connection's socket, so the handler watches it for the client's hang-up
 * (gw_hangup_watch) and ends the stream then, giving its slot back. Refusals: 401 without a session
 * (the route), 429 "too_many_streams" past the account's limit, 503 past the gateway's
 * or while the hub does not run.
 */
#ifndef GW_SSE_H
#define GW_SSE_H

#include "gw_events.h"
#include "gw_handler.h"

/** @brief The hub the handler opens streams of (NULL: every request gets 503). */
void gw_sse_init(gw_events_t *hub);

/** @brief The route's handler. */
void gw_sse_handler(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
#endif
