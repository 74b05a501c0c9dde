/* pipeline.c: a pipelined (and optionally paced) request client for benchmarks. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_keys.h"
#include "pipeline.h"

#define S_BODY_MAX (512 * 1024)   /* a "$batch" of up to 1,024 facts */

static zsock_t *s_connect(const pl_load_t *l)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s)
        return NULL;
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
    char server[EVS_KEYS_Z85];
    zcert_t *client = evs_keys_load_secret(l->keys_dir, l->me);
    if (!client || evs_keys_public(l->keys_dir, l->server, server) != 0) {
        fprintf(stderr, "pipeline: no key %s or %s in %s\n", l->me, l->server, l->keys_dir);
        zcert_destroy(&client);
        zsock_destroy(&s);
        return NULL;
    }
    evs_keys_client(s, client, server);
    zcert_destroy(&client);
    evs_bus_connect(s, l->endpoint);
    return s;
}

/* Builds and sends request @p i; false when the build callback skipped it. */
static bool s_send(zsock_t *sock, pl_load_t *l, int i, uint8_t *body, uint8_t *wire)
{
    pl_req_t req = {0};
    if (!l->build(l->arg, i, &req, body, S_BODY_MAX))
        return false;
    char rid[96];
    snprintf(rid, sizeof rid, "%s-%d", l->prefix, i);
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = rid;
    h.actor_role = (char *) (req.role ? req.role : "");
    h.actor_account = (char *) (req.account ? req.account : "");
    Tp__Request r = TP__REQUEST__INIT;
    r.header = &h;
    r.command = (char *) req.command;
    r.body.data = body;
    r.body.len = req.body_len;
    size_t len = tp__request__pack(&r, wire);
    zmq_send(zsock_resolve(sock), wire, len, 0);
    return true;
}

/* Takes every reply waiting; returns how many requests they answered. */
static int s_receive(zsock_t *sock, pl_load_t *l, uint8_t *st)
{
    size_t plen = strlen(l->prefix);
    int n = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, zsock_resolve(sock), ZMQ_DONTWAIT) >= 0) {
        int64_t at = zclock_usecs();
        Tp__Reply *r = tp__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        if (r && strncmp(r->request_id, l->prefix, plen) == 0 && r->request_id[plen] == '-') {
            int i = atoi(r->request_id + plen + 1);
            if (i >= 0 && i < l->count && st[i] == 1) {
                st[i] = 2;
                n++;
                l->acked++;
                l->refused += !r->ok;
                l->finished_us = at;
                if (l->on_reply)
                    l->on_reply(l->arg, i, r, at);
            }
        }
        if (r)
            tp__reply__free_unpacked(r, NULL);
    }
    zmq_msg_close(&m);
    return n;
}

void *pl_run(void *arg)
{
    pl_load_t *l = arg;
    uint8_t *st = calloc((size_t) l->count + 1, 1); /* 0 unsent, 1 sent, 2 answered */
    uint8_t *body = malloc(S_BODY_MAX), *wire = malloc(S_BODY_MAX + 1024);
    zsock_t *sock = s_connect(l);
    if (!st || !body || !wire || !sock)
        goto done;
    int next = 0, outstanding = 0;
    l->started_us = zclock_usecs();
    int64_t last_reply = zclock_mono(), give_up = zclock_mono() + l->give_up_ms;
    double gap_us = l->pace_per_s > 0 ? 1e6 / l->pace_per_s : 0;
    while (l->acked < l->count && zclock_mono() < give_up) {
        int64_t now = zclock_usecs();
        while (outstanding < l->inflight && next < l->count &&
               (!gap_us || now >= l->started_us + (int64_t) (next * gap_us))) {
            if (s_send(sock, l, next, body, wire)) {
                st[next] = 1;
                outstanding++;
            }
            else {
                st[next] = 2;
                l->acked++;
                l->refused++;
            }
            next++;
        }
        int wait_ms = 50;
        if (gap_us && next < l->count) {
            int64_t due = l->started_us + (int64_t) (next * gap_us) - zclock_usecs();
            /* rounded up: a late send catches up (all due ones go at once), a busy wait
             * would take a core from the daemons measured */
            wait_ms = due <= 0 ? 0 : (int) ((due + 999) / 1000);
        }
        zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, wait_ms) > 0) {
            int n = s_receive(sock, l, st);
            outstanding -= n;
            if (n)
                last_reply = zclock_mono();
        }
        if (outstanding > 0 && zclock_mono() - last_reply > l->timeout_ms) {
            /* the service is gone or restarted: a new connection, the same request ids */
            zsock_destroy(&sock);
            sock = s_connect(l);
            if (!sock)
                goto done;
            for (int i = 0; i < next; i++)
                if (st[i] == 1 && s_send(sock, l, i, body, wire))
                    l->resends++;
            last_reply = zclock_mono();
        }
    }
done:
    zsock_destroy(&sock);
    free(st);
    free(body);
    free(wire);
    return NULL;
}
