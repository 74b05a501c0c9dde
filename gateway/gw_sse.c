/* gw_sse.c: the live-updates route (gw_sse.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gw_json.h"
#include "gw_sse.h"

static gw_events_t *s_hub;

void gw_sse_init(gw_events_t *hub)
{
    s_hub = hub;
}

/* One open stream and its connection. */
typedef struct {
    gw_resumer_t resumer;     /* its connection and worker */
    gw_hangup_t hangup;       /* its client's socket, watched for a closed tab */
    bool gone;                /* the client hung up (the worker's own) */
    gw_stream_t *stream;
} s_conn_t;

static void s_suspend(void *arg)
{
    gw_suspend(&((s_conn_t *) arg)->resumer);
}

static void s_wake(void *arg)
{
    gw_resume(&((s_conn_t *) arg)->resumer);
}

/* The client hung up (on the connection's worker): the stream ends now, not when a
 * write finds the socket closed, so that its slot comes back at once (a reload opens a
 * new stream right away). */
static void s_hung_up(void *arg)
{
    s_conn_t *c = arg;
    c->gone = true;
    gw_stream_end(c->stream);
}

/* The response's content: what the stream holds (0 with the connection suspended). */
static ssize_t s_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    s_conn_t *c = cls;
    ssize_t n = gw_stream_read(c->stream, buf, max, s_suspend, c);
    if (n < 0)
        return c->gone ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

/* The response is done with (the connection closed): the stream goes. */
static void s_free(void *cls)
{
    s_conn_t *c = cls;
    gw_hangup_unwatch(&c->hangup);
    gw_stream_close(c->stream);
    free(c);
}

void gw_sse_handler(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    (void) route;
    s_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        gw_json_error(req, 503, "unavailable", "", "out of memory");
        return;
    }
    gw_req_resumer(req, &c->resumer);
    int rc = gw_events_open(s_hub, ctx->session.info->account_id,
                            gw_req_header(req, "Last-Event-ID"), s_wake, c, &c->stream);
    if (rc != GW_EVENTS_OK) {
        free(c);
        if (rc == GW_EVENTS_FULL_ACCOUNT)
            gw_json_error(req, 429, "too_many_streams", "",
                          "this account has its most live-update streams open; close one");
        else
            gw_json_error(req, 503, "unavailable", "",
                          rc == GW_EVENTS_FULL ? "the gateway has its most live-update streams "
                                                 "open; try again later"
                                               : "live updates are not running");
        return;
    }
    if (gw_hangup_watch(req, &c->hangup, s_hung_up, c) != 0)
        zsys_warning("gateway: a live-update stream's hang-up is not watched: %s",
                     strerror(errno));
    const gw_header_t extra[] = {{"X-Accel-Buffering", "no"}};
    gw_respond_stream(req, 200, "text/event-stream; charset=utf-8", s_reader, c, s_free, extra,
                      1);
}
