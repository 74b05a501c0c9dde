/* svc_worker.c: the worker pool, which runs the `prepare` step of slow commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "svc_internal.h"

/* Refusals answered late, most at once; beyond that they are answered at once. */
#define S_HELD_MAX 10000

/* A refusal waiting for its time. */
typedef struct {
    int64_t due;                  /* zclock_mono() when it is sent */
    uint8_t id[SVCI_ID_MAX];      /* routing id */
    size_t id_len;
    uint8_t *reply;               /* owned */
    size_t reply_len;
} s_held_t;

static void s_held_free(void **item)
{
    s_held_t *h = *item;
    if (h)
        free(h->reply);
    free(h);
    *item = NULL;
}

/* Takes @p p's reply, to be sent slow_delay_ms from now (before the caller's deadline). A
 * client over its budget that floods then gets one answer per connection and period, so
 * its flood costs the machine little; a refusal is all it gets either way. */
static void s_hold(svci_svc_t *self, svci_pending_t *p, int64_t now)
{
    int64_t delay = self->slow_delay_ms;
    int64_t deadline = p->req->header->deadline_us;
    if (deadline && (deadline - now) / 1000 - 100 < delay)
        delay = (deadline - now) / 1000 - 100;
    if (!self->held) {
        if (!(self->held = zlistx_new()))
            return;
        zlistx_set_destructor(self->held, s_held_free);
    }
    s_held_t *h = delay > 0 && zlistx_size(self->held) < S_HELD_MAX ? calloc(1, sizeof *h) : NULL;
    if (!h)
        return;   /* answered with the group, at once */
    h->due = zclock_mono() + delay;
    memcpy(h->id, p->id, p->id_len);
    h->id_len = p->id_len;
    h->reply = p->reply;
    h->reply_len = p->reply_len;
    p->reply = NULL;
    p->reply_len = 0;
    zlistx_add_end(self->held, h);
}

int64_t svci_held_next(svci_svc_t *self)
{
    s_held_t *h = self->held ? zlistx_first(self->held) : NULL;
    return h ? h->due : 0;
}

void svci_held_due(svci_svc_t *self, bool all)
{
    int64_t now = zclock_mono();
    void *r = zsock_resolve(self->router);
    for (s_held_t *h = self->held ? zlistx_first(self->held) : NULL; h && (all || h->due <= now);
         h = zlistx_first(self->held)) {
        /* a client that went away just loses its answer; never block the loop on it */
        if (zmq_send(r, h->id, h->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            zmq_send(r, h->reply, h->reply_len, ZMQ_DONTWAIT);
        zlistx_delete(self->held, zlistx_cursor(self->held));
    }
    if (all)
        zlistx_destroy(&self->held);
}

/* Admission to the pool (svc.h, "Slow work"): a visitor's request takes one from its
 * client address's budget, and the queue has room. False after refusing @p p. The
 * budget comes first, so that a client over it never takes a place in the queue. */
bool svci_admit(svci_svc_t *self, svci_pending_t *p, int64_t now)
{
    const char *addr = p->req->header->client_addr;
    char key[SVC_ADDR_KEY_MAX];
    if (p->who == SVC_VISITOR && self->slow_rate) {
        svc_addr_key(addr, key, sizeof key);
        if (!svc_rate_take(self->slow_rate, key, zclock_mono())) {
            self->slow_throttled++;
            svci_reply_errors(p, NULL, "throttled", "",
                              "too many attempts from your network; please try again later");
            s_hold(self, p, now);
            return false;
        }
    }
    if (self->slow_queued >= self->slow_queue_max) {
        self->slow_throttled++;
        svci_reply_errors(p, NULL, "unavailable", "",
                          "the service is busy; please try again in a moment");
        return false;
    }
    return true;
}

/* Hands a command to the worker pool: [routing id][request][lookup]. */
void svci_hand_off(svci_svc_t *self, svci_pending_t *p, const svc_command_t *cmd, int64_t now)
{
    char *lookup = NULL;
    if (cmd->lookup) {
        ProtobufCMessage *body = protobuf_c_message_unpack(cmd->body, NULL, p->req->body.len,
                                                           p->req->body.data);
        if (body) {
            svc_ctx_t ctx = {p->req->header, now, self->secret, NULL};
            lookup = cmd->lookup(self->state, &ctx, body);
            protobuf_c_message_free_unpacked(body, NULL);
        }
    }
    size_t len = tp__request__get_packed_size(p->req);
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, p->id, p->id_len);
    zframe_t *f = zframe_new(NULL, len);
    tp__request__pack(p->req, zframe_data(f));
    zmsg_append(m, &f);
    zmsg_addmem(m, lookup, lookup ? strlen(lookup) + 1 : 0);
    zmsg_send(&m, self->jobs);
    if (lookup) {
        sodium_memzero(lookup, strlen(lookup));
        free(lookup);
    }
    p->handed_off = true;
    self->slow_queued++;
}

/* A worker: runs `prepare` of slow commands, sends the prepared request back,
 * or answers a refusal through the loop (which owns the ROUTER). */
void svci_worker(zsock_t *pipe, void *args)
{
    svci_worker_args_t *wa = args;
    zsock_t *jobs = zsock_new(ZMQ_PULL);
    zsock_t *done = zsock_new(ZMQ_PUSH);
    if (jobs && done && (zsock_connect(jobs, "%s", wa->jobs_ep) != 0 ||
                         zsock_connect(done, "%s", wa->done_ep) != 0))
        zsock_destroy(&jobs);
    svc_out_t *out = svc_out_new();
    zsock_signal(pipe, jobs && done && out ? 0 : -1);
    zpoller_t *poller = zpoller_new(pipe, jobs, NULL);
    svci_svc_t fake = {0};
    fake.def = wa->def;
    snprintf(fake.name, sizeof fake.name, "%s", wa->name);
    while (true) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (which != jobs)
            break;   /* $TERM or interrupted */
        zmsg_t *m = zmsg_recv(jobs);
        zframe_t *id = zmsg_pop(m);
        zframe_t *bf = zmsg_pop(m);
        zframe_t *lf = zmsg_pop(m);
        const char *lookup = lf && zframe_size(lf) > 0 ? (const char *) zframe_data(lf) : NULL;
        svci_pending_t p = {0};
        p.req = bf ? tp__request__unpack(NULL, zframe_size(bf), zframe_data(bf)) : NULL;
        const svc_command_t *cmd = p.req ? svci_find_command(&fake, p.req->command) : NULL;
        ProtobufCMessage *body = cmd ? protobuf_c_message_unpack(cmd->body, NULL,
                                                                 p.req->body.len,
                                                                 p.req->body.data)
                                     : NULL;
        zmsg_t *reply = zmsg_new();
        zmsg_append(reply, &id);
        svc_out_reset(out);
        const Tp__RequestHeader *h = p.req ? p.req->header : NULL;
        if (h && h->deadline_us && wa->clock(wa->clock_arg) > h->deadline_us)
            svci_reply_errors(&p, NULL, "deadline", "",
                              "deadline passed while the request waited for a worker");
        else if (!body)
            svci_reply_errors(&p, NULL, "invalid", "body", "does not decode");
        else if (cmd->prepare(body, lookup, out) != 0)
            svci_reply_errors(&p, out, "invalid", NULL, NULL);
        if (p.reply) {
            zmsg_addstr(reply, "R");   /* a refusal to send as it is */
            zmsg_addmem(reply, p.reply, p.reply_len);
        }
        else {
            /* put the prepared body back into the request */
            free(p.req->body.data);
            p.req->body.len = protobuf_c_message_get_packed_size(body);
            p.req->body.data = malloc(p.req->body.len ? p.req->body.len : 1);
            protobuf_c_message_pack(body, p.req->body.data);
            zframe_t *rf = zframe_new(NULL, tp__request__get_packed_size(p.req));
            tp__request__pack(p.req, zframe_data(rf));
            zmsg_addstr(reply, "P");
            zmsg_append(reply, &rf);
        }
        zmsg_send(&reply, done);
        if (body)
            protobuf_c_message_free_unpacked(body, NULL);
        svci_pending_clear(&p);
        if (lf)
            sodium_memzero(zframe_data(lf), zframe_size(lf));
        zframe_destroy(&lf);
        zframe_destroy(&bf);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&poller);
    svc_out_destroy(&out);
    zsock_destroy(&jobs);
    zsock_destroy(&done);
}

/* A message from a worker: [id]["R"|"P"][reply | prepared request]. */
int svci_take_done(svci_svc_t *self, svci_pending_t *p)
{
    zmsg_t *m = zmsg_recv(self->done);
    if (!m)
        return 0;
    if (self->slow_queued > 0)
        self->slow_queued--;
    memset(p, 0, sizeof *p);
    zframe_t *id = zmsg_pop(m);
    char *kind = zmsg_popstr(m);
    zframe_t *body = zmsg_pop(m);
    if (id && kind && body && zframe_size(id) <= SVCI_ID_MAX) {
        p->id_len = zframe_size(id);
        memcpy(p->id, zframe_data(id), p->id_len);
        if (streq(kind, "R")) {
            p->reply_len = zframe_size(body);
            p->reply = malloc(p->reply_len);
            memcpy(p->reply, zframe_data(body), p->reply_len);
            /* it must still be sent; keep it out of decide with a dummy request */
            p->handed_off = false;
        }
        else {
            p->req = tp__request__unpack(&self->pending_arena->pb, zframe_size(body),
                                         zframe_data(body));
            p->in_arena = true;
            p->prepared = true;
        }
    }
    zframe_destroy(&id);
    zstr_free(&kind);
    zframe_destroy(&body);
    zmsg_destroy(&m);
    return 1;
}
