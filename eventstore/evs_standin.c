/* evs_standin.c: a stand-in instance of a service for failover tests (evs_standin.h): a
 * zactor whose ROUTER answers as told, counting request ids. */
#include <string.h>
#include "evs_bus.h"
#include "evs_standin.h"

struct _evs_standin_t {
    zactor_t *actor; /* the thread with the ROUTER */
};

/* What the actor holds (its own thread only). */
typedef struct {
    zsock_t *router; /* NULL once closed (EVS_STANDIN_LOSE_ONE) */
    evs_standin_mode_t mode;
    zhashx_t *seen; /* request id -> count (size_t, boxed in the pointer) */
    size_t total;   /* requests taken */
} s_state_t;

/* Answers @p req (of the peer with routing id @p peer) as the mode says. */
static void s_answer(s_state_t *st, zframe_t *peer, const Tp__Request *req)
{
    if (st->mode == EVS_STANDIN_SILENT)
        return;
    if (st->mode == EVS_STANDIN_LOSE_ONE) {
        zsock_destroy(&st->router); /* the request goes with it, unanswered */
        return;
    }
    Tp__Reply reply = TP__REPLY__INIT;
    Tp__Error err = TP__ERROR__INIT, *errs[1] = {&err};
    reply.request_id = req->header ? req->header->request_id : "";
    reply.ok = st->mode == EVS_STANDIN_ACTIVE;
    if (!reply.ok) {
        err.code = EVS_BUS_NOT_ACTIVE;
        err.message = "a standby (test stand-in)";
        reply.errors = errs;
        reply.n_errors = 1;
    }
    uint8_t buf[512];
    size_t len = tp__reply__get_packed_size(&reply);
    if (len > sizeof buf)
        return;
    tp__reply__pack(&reply, buf);
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, zframe_data(peer), zframe_size(peer));
    zmsg_addmem(m, buf, len);
    zmsg_send(&m, st->router);
}

/* Takes every request waiting, counts and answers it. */
static void s_take(s_state_t *st)
{
    while (st->router && (zsock_events(st->router) & ZMQ_POLLIN)) {
        zmsg_t *m = zmsg_recv(st->router);
        zframe_t *peer = m ? zmsg_pop(m) : NULL, *body = m ? zmsg_pop(m) : NULL;
        Tp__Request *req =
            body ? tp__request__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
        if (req) {
            const char *id = req->header ? req->header->request_id : "";
            size_t n = (size_t) (uintptr_t) zhashx_lookup(st->seen, id);
            zhashx_update(st->seen, id, (void *) (uintptr_t) (n + 1));
            st->total++;
            s_answer(st, peer, req);
            tp__request__free_unpacked(req, NULL);
        }
        zframe_destroy(&peer);
        zframe_destroy(&body);
        zmsg_destroy(&m);
    }
}

typedef struct {
    const char *endpoint;
    zcert_t *cert;
    evs_standin_mode_t mode;
} s_args_t;

static void s_actor(zsock_t *pipe, void *args_)
{
    s_args_t *args = args_;
    s_state_t st = {0};
    st.mode = args->mode;
    st.seen = zhashx_new();
    st.router = zsock_new(ZMQ_ROUTER);
    if (st.router) {
        zsock_set_linger(st.router, 0);
        if (args->cert) {
            zcert_apply(args->cert, st.router);
            zsock_set_curve_server(st.router, 1);
        }
        if (zsock_bind(st.router, "%s", args->endpoint) < 0)
            zsock_destroy(&st.router);
    }
    zsock_signal(pipe, 0); /* zactor_new's handshake; the bind's outcome follows */
    zsock_signal(pipe, st.router && st.seen ? 0 : 1);
    zpoller_t *poller = st.router && st.seen ? zpoller_new(pipe, st.router, NULL) : NULL;
    while (poller) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (which != pipe) {
            if (!which)
                break; /* interrupted */
            s_take(&st);
            if (!st.router)
                zpoller_remove(poller, which);
            continue;
        }
        char *cmd = NULL, *arg = NULL;
        if (zstr_recvx(pipe, &cmd, &arg, NULL) < 1 || streq(cmd, "$TERM")) {
            zstr_free(&cmd);
            zstr_free(&arg);
            break;
        }
        s_take(&st); /* what came before the command counts */
        if (streq(cmd, "MODE") && arg)
            st.mode = (evs_standin_mode_t) atoi(arg);
        else if (streq(cmd, "COUNT")) {
            size_t n = arg && *arg ? (size_t) (uintptr_t) zhashx_lookup(st.seen, arg) : st.total;
            zstr_sendf(pipe, "%zu", n);
        }
        if (streq(cmd, "MODE"))
            zsock_signal(pipe, 0);
        zstr_free(&cmd);
        zstr_free(&arg);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&st.router);
    zhashx_destroy(&st.seen);
}

evs_standin_t *evs_standin_new(const char *endpoint, zcert_t *cert, evs_standin_mode_t mode)
{
    evs_standin_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    s_args_t args = {endpoint, cert, mode};
    self->actor = zactor_new(s_actor, &args);
    if (!self->actor || zsock_wait(self->actor) != 0)
        evs_standin_destroy(&self);
    return self;
}

void evs_standin_destroy(evs_standin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zactor_destroy(&(*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

void evs_standin_set(evs_standin_t *self, evs_standin_mode_t mode)
{
    char m[16];
    snprintf(m, sizeof m, "%d", (int) mode);
    zstr_sendx(self->actor, "MODE", m, NULL);
    zsock_wait(self->actor);
}

size_t evs_standin_count(evs_standin_t *self, const char *request_id)
{
    zstr_sendx(self->actor, "COUNT", request_id ? request_id : "", NULL);
    char *n = zstr_recv(self->actor);
    size_t count = n ? (size_t) strtoull(n, NULL, 10) : 0;
    zstr_free(&n);
    return count;
}
