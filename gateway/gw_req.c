/* gw_req.c: the request's accessors and its response, made and held for the server. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "gw_req.h"

/* Sent with every response. No inline script or style anywhere: the portal's files
 * are plain files from 'self'. */
static const gw_header_t s_security[] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
     "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
};

/* Adds the headers to @p resp and holds it in the request for the server. */
static int s_hold(gw_req_t *req, unsigned status, struct MHD_Response *resp, const char *ctype,
                  const gw_header_t *extra, size_t n_extra)
{
    if (!resp)
        return -1;
    bool cache_set = false;
    for (size_t i = 0; i < sizeof s_security / sizeof s_security[0]; i++)
        MHD_add_response_header(resp, s_security[i].name, s_security[i].value);
    if (req->config->cookie_secure)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    for (size_t i = 0; i < n_extra; i++) {
        if (!extra[i].name || !extra[i].value)
            continue;
        if (strcasecmp(extra[i].name, "Cache-Control") == 0)
            cache_set = true;
        MHD_add_response_header(resp, extra[i].name, extra[i].value);
    }
    if (!cache_set)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (req->set_cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", req->set_cookie);
    req->responded = true;
    req->held = resp;
    req->held_status = status;
    return 0;
}

int gw_respond(gw_req_t *req, unsigned status, const char *ctype, const void *body, size_t len,
               const gw_header_t *extra, size_t n_extra)
{
    if (req->responded)
        return -1;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *) (body ? body : ""), MHD_RESPMEM_MUST_COPY);
    return s_hold(req, status, resp, ctype, extra, n_extra);
}

int gw_respond_take(gw_req_t *req, unsigned status, const char *ctype, char *body, size_t len,
                    const gw_header_t *extra, size_t n_extra)
{
    if (req->responded) {
        free(body);
        return -1;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return s_hold(req, status, resp, ctype, extra, n_extra);
}

int gw_respond_fd(gw_req_t *req, unsigned status, const char *ctype, int fd, size_t size,
                  const gw_header_t *extra, size_t n_extra)
{
    if (req->responded) {
        close(fd);
        return -1;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
    if (!resp)
        close(fd);
    return s_hold(req, status, resp, ctype, extra, n_extra);
}

int gw_respond_stream(gw_req_t *req, unsigned status, const char *ctype,
                      MHD_ContentReaderCallback reader, void *cls,
                      MHD_ContentReaderFreeCallback free_cb, const gw_header_t *extra,
                      size_t n_extra)
{
    if (req->responded) {
        free_cb(cls);
        return -1;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, cls, free_cb);
    if (!resp)
        free_cb(cls);
    return s_hold(req, status, resp, ctype, extra, n_extra);
}

void gw_req_resumer(gw_req_t *req, gw_resumer_t *out)
{
    out->conn = req->conn;
    out->wakefd = req->wakefd;
}

void gw_resume(const gw_resumer_t *r)
{
    MHD_resume_connection(r->conn);
    uint64_t one = 1;
    if (r->wakefd >= 0 && write(r->wakefd, &one, sizeof one) < 0)
        zsys_warning("gateway: cannot wake a worker: %s", strerror(errno));
}

void gw_suspend(const gw_resumer_t *r)
{
    MHD_suspend_connection(r->conn);
}

int gw_hangup_watch(gw_req_t *req, gw_hangup_t *h, void (*fn)(void *arg), void *arg)
{
    h->fn = fn;
    h->arg = arg;
    h->fd = h->loopfd = -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci || req->loopfd < 0)
        return -1;
    /* one-shot: the event stays set until the connection closes, and once is enough */
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT, .data.u64 = (uintptr_t) h};
    if (epoll_ctl(req->loopfd, EPOLL_CTL_ADD, ci->connect_fd, &ev) != 0)
        return -1;
    h->fd = ci->connect_fd;
    h->loopfd = req->loopfd;
    return 0;
}

void gw_hangup_unwatch(gw_hangup_t *h)
{
    /* a socket closed already has left the epoll set by itself (then ENOENT or EBADF) */
    if (h->fd >= 0)
        epoll_ctl(h->loopfd, EPOLL_CTL_DEL, h->fd, NULL);
    h->fd = h->loopfd = -1;
}

bool gw_hangup_fired(uint64_t tag, uint64_t first_pointer_tag)
{
    if (tag < first_pointer_tag)
        return false;
    gw_hangup_t *h = (gw_hangup_t *) (uintptr_t) tag;
    h->fn(h->arg);
    return true;
}

struct MHD_Response *gw_req_take_response(gw_req_t *req, unsigned *status)
{
    struct MHD_Response *resp = req->held;
    *status = req->held_status;
    req->held = NULL;
    return resp;
}

const char *gw_req_header(gw_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *gw_req_cookie(gw_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *gw_req_arg(gw_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
    void (*fn)(void *cls, const char *name, const char *value);
    void *cls;
} s_args_t;

static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    s_args_t *a = cls;
    a->fn(a->cls, key, value);
    return MHD_YES;
}

void gw_req_args(gw_req_t *req, void (*fn)(void *cls, const char *name, const char *value),
                 void *cls)
{
    s_args_t a = {fn, cls};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, s_arg, &a);
}

const char *gw_req_param(const gw_req_t *req, const char *name)
{
    for (int i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

bool gw_req_is_write(const gw_req_t *req)
{
    return strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
           strcmp(req->method, "OPTIONS") != 0;
}

void gw_req_free(gw_req_t *req)
{
    if (!req)
        return;
    if (req->held)
        MHD_destroy_response(req->held);
    free(req->body);
    free(req);
}
