/* gw_events.h: live updates for the portal: each account's order and product changes,
 * as Server-Sent Events (GET /api/v1/events).
 *
 * The hub is one thread that follows the order and production services as a subscriber
 * with the gateway's own key (evs_sub_t: their PUB sockets, and "$read" for what it
 * missed), from their first event on, so it knows which account every order belongs to
 * (OrderPlaced, OrderReleasedForProduction and JobOpened name it; the other events name
 * the order, or the product "prd-<order>"). Each event of an account's order or product
 * becomes one SSE message, put into every open stream of that account and nobody
 * else's, and kept in a bounded history for resuming.
 *
 * A message: `id: <cursor>`, `event: order|product`, `data: {"service", "seq", "at" (the
 * event's commit time, us), "type", "orderId", "productId"}`. Its id is the hub's cursor
 * after it: "<order seq>.<production seq>". A stream
 * opened with a Last-Event-ID gets every event of its account after that cursor from the
 * history first (also after a restart of the gateway: the hub reads both logs again from
 * the start); when the history no longer reaches back that far, it gets one "reset"
 * event instead, after which the portal reloads its lists: nothing is lost either way.
 * Streams go live once the hub has caught up with both services, or after 5 s when one
 * of them does not answer (its changes then come as the hub reads them, each once).
 *
 * Threads: the hub writes into streams; the HTTP worker threads read them (their
 * connections' content callbacks). A stream with nothing to read suspends its connection
 * through the given function, under the stream's lock, and the hub wakes it (under the
 * same lock) when it writes: no wake-up is lost. Limits: streams per account and in all
 * (gw_events_open says which was reached); a stream whose reader falls too far behind is
 * ended (the browser reconnects with its Last-Event-ID and resumes). Keep-alive comments,
 * with the stream's cursor as id, go to every stream every keepalive_ms; the first message
 * carries an id too, so a stream that saw no change resumes from where it began; a stream
 * ends after 10 minutes (the browser reconnects, and its session is checked again). Before
 * the hub has caught up with a service once, that service's events are the past: kept for
 * resuming, not sent; streams that went live before (after the 5 s grace) are then told to
 * reload ("reset").
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "gw_config.h"

/** Results of gw_events_open(). */
#define GW_EVENTS_OK 0
#define GW_EVENTS_FULL_ACCOUNT 1   /**< the account has its most streams open */
#define GW_EVENTS_FULL 2           /**< the gateway has its most streams open */
#define GW_EVENTS_DOWN 3           /**< the hub is not running */

typedef struct gw_events gw_events_t;
typedef struct gw_stream gw_stream_t;

/** Called by the hub, under the stream's lock, to wake a suspended reader. */
typedef void (gw_stream_wake_fn)(void *arg);
/** Called by gw_stream_read(), under the stream's lock, to suspend the reader. */
typedef void (gw_stream_suspend_fn)(void *arg);

/**
 * @brief Start the hub (its thread subscribes at once).
 * @return the hub, or NULL (logged)
 */
gw_events_t *gw_events_new(const gw_config_t *config);

/** @brief Stop the hub: every stream ends (its reader is woken), and no stream opens any
 *  more (GW_EVENTS_DOWN). Call before the server stops: no connection then stays
 *  suspended. Safe twice. */
void gw_events_stop(gw_events_t *self);

/** @brief Stop the hub and free it; call after the server stopped (its connections closed
 *  their streams: a hub that still has one is left, not freed). Sets *self_p to NULL;
 *  safe twice. */
void gw_events_destroy(gw_events_t **self_p);

/**
 * @brief Open a stream of @p account's events, after @p last_id (a Last-Event-ID; NULL
 * or unreadable: from now on).
 * @param[in] wake called (from the hub) when there is something to read after a read
 *            found nothing; @p wake_arg its argument (the connection)
 * @param[out] out the stream, on GW_EVENTS_OK
 * @return GW_EVENTS_OK, GW_EVENTS_FULL_ACCOUNT, GW_EVENTS_FULL or GW_EVENTS_DOWN
 */
int gw_events_open(gw_events_t *self, const char *account, const char *last_id,
                   gw_stream_wake_fn *wake, void *wake_arg, gw_stream_t **out);

/**
 * @brief What the stream has to send, up to @p max bytes into @p buf.
 * @return bytes copied; 0 when nothing is there (then @p suspend was called and the
 *         reader is woken when something comes); -1 when the stream has ended
 */
ssize_t gw_stream_read(gw_stream_t *stream, char *buf, size_t max,
                       gw_stream_suspend_fn *suspend, void *arg);

/** @brief Ends the stream (its client hung up, say): its reader gets what the stream
 *  holds, then -1; a waiting reader is woken. From any thread. */
void gw_stream_end(gw_stream_t *stream);

/** @brief The reader is gone (its connection closed): the stream is freed. */
void gw_stream_close(gw_stream_t *stream);

/** Counters (tests, benchmark, /readyz). */
typedef struct {
    size_t streams;             /**< open now */
    uint64_t events;            /**< upstream events taken */
    uint64_t sent;              /**< SSE messages put into streams */
    bool caught_up;             /**< the hub has read both logs to their heads */
} gw_events_stats_t;
void gw_events_stats(gw_events_t *self, gw_events_stats_t *st);

/** Self-test of the parts without sockets (cursor, history, fan-out). */
int gw_events_test(bool verbose);
#endif
