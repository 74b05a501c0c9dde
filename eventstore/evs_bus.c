/* evs_bus.c: event bus: PUB framing, heartbeats, request client, catch-up subscriber. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_keys.h"

/* ---------------------------------------------------------------- framing */

static void s_put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t) (v & 0xff);
        v >>= 8;
    }
}

static uint32_t s_get_be32(const uint8_t *in)
{
    return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 | (uint32_t) in[2] << 8 | in[3];
}

/* Most events one live run hands to the handler. */
#define S_RUN_MAX 1024

static uint64_t s_get_be64(const uint8_t *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

/* Sends [topic][seq][body] as one multi-part message without copying body twice. */
static int s_send3(zsock_t *sock, const char *topic, size_t topic_len, uint64_t seq,
                   const uint8_t *body, size_t len)
{
    void *handle = zsock_resolve(sock);
    uint8_t seqbuf[8];
    s_put_be64(seqbuf, seq);
    if (zmq_send(handle, topic, topic_len, ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(handle, seqbuf, 8, ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(handle, body, len, 0) < 0)
        return -1;
    return 0;
}

int evs_bus_publish(zsock_t *pub, const char *service, const evs_record_t *rec,
                    const char *event_type)
{
    char topic[EVS_MAX_ID * 2 + 2];
    size_t slen = strlen(service);
    const char *type = event_type;
    size_t tlen = type ? strlen(type) : 0;
    if (!type) {
        evs_view_t view;
        if (evs_view(rec->data, rec->len, &view) != 0)
            return -1;
        type = view.event_type;
        tlen = view.event_type_len;
    }
    if (slen + 1 + tlen >= sizeof topic)
        return -1;
    memcpy(topic, service, slen);
    topic[slen] = '.';
    memcpy(topic + slen + 1, type, tlen);
    return s_send3(pub, topic, slen + 1 + tlen, rec->seq, rec->data, rec->len);
}

/* One "$events" message: recs[0..n) (n >= 2), the envelopes copied once, into the
 * message's last frame. */
static int s_publish_many(zsock_t *pub, const char *service, const evs_record_t *recs,
                          size_t n)
{
    char topic[EVS_MAX_ID + sizeof EVS_BUS_EVENTS + 1];
    int tlen = snprintf(topic, sizeof topic, "%s.%s", service, EVS_BUS_EVENTS);
    if (tlen < 0 || (size_t) tlen >= sizeof topic)
        return -1;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].seq != recs[0].seq + i || recs[i].len > UINT32_MAX)
            return -1;
        total += 4 + recs[i].len;
    }
    zmq_msg_t body;
    if (zmq_msg_init_size(&body, total) != 0)
        return -1;
    uint8_t *p = zmq_msg_data(&body);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t) recs[i].len;
        p[0] = (uint8_t) (len >> 24), p[1] = (uint8_t) (len >> 16);
        p[2] = (uint8_t) (len >> 8), p[3] = (uint8_t) len;
        memcpy(p + 4, recs[i].data, len);
        p += 4 + len;
    }
    void *handle = zsock_resolve(pub);
    uint8_t seqbuf[8];
    s_put_be64(seqbuf, recs[0].seq);
    int rc = -1;
    if (zmq_send(handle, topic, (size_t) tlen, ZMQ_SNDMORE) >= 0 &&
        zmq_send(handle, seqbuf, 8, ZMQ_SNDMORE) >= 0 && zmq_msg_send(&body, handle, 0) >= 0)
        rc = 0;
    zmq_msg_close(&body);   /* after a send it is empty; else it frees the copy */
    return rc;
}

bool evs_bus_events_next(const uint8_t **p, size_t *left, const uint8_t **env, size_t *len)
{
    if (*left < 4 || (*len = s_get_be32(*p)) > *left - 4)
        return false;
    *env = *p + 4;
    *p += 4 + *len;
    *left -= 4 + *len;
    return true;
}

int evs_bus_publish_run(zsock_t *pub, const char *service, const evs_record_t *recs,
                        size_t n)
{
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += EVS_BUS_PUBLISH_MAX) {
        size_t k = n - at < EVS_BUS_PUBLISH_MAX ? n - at : EVS_BUS_PUBLISH_MAX;
        rc = k == 1 ? evs_bus_publish(pub, service, &recs[at], NULL)
                    : s_publish_many(pub, service, &recs[at], k);
    }
    return rc;
}

int evs_bus_heartbeat(zsock_t *pub, const char *service, uint64_t head_seq,
                      const uint8_t *head_hash)
{
    Tp__Heartbeat hb = TP__HEARTBEAT__INIT;
    hb.service = (char *) service;
    hb.head_seq = head_seq;
    if (head_hash) {
        hb.head_hash.data = (uint8_t *) head_hash;
        hb.head_hash.len = EVS_HASH_SIZE;
    }
    hb.sent_at_us = zclock_time() * 1000;
    uint8_t buf[256];
    size_t len = tp__heartbeat__get_packed_size(&hb);
    if (len > sizeof buf)
        return -1;
    tp__heartbeat__pack(&hb, buf);
    char topic[EVS_MAX_ID + 16];
    int tlen = snprintf(topic, sizeof topic, "%s.%s", service, EVS_BUS_HEARTBEAT);
    if (tlen < 0 || (size_t) tlen >= sizeof topic)
        return -1;
    return s_send3(pub, topic, (size_t) tlen, head_seq, buf, len);
}

void evs_bus_new_id(char *out)
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 33, raw, sizeof raw);
}

/* ---------------------------------------------------------------- client */

struct _evs_client_t {
    char *endpoint;   /* the service's ROUTER endpoint */
    zsock_t *dealer;  /* recreated after a time-out */
    zcert_t *cert;    /* CURVE: the client's certificate, or NULL */
    char server_key[41]; /* CURVE: the server's public key (Z85) */
};

/* A fresh DEALER, with CURVE when the client has a certificate. */
static zsock_t *s_client_socket(evs_client_t *self)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s)
        return NULL;
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
    if (self->cert) {
        zcert_apply(self->cert, s);
        zsock_set_curve_serverkey(s, self->server_key);
    }
    if (zsock_connect(s, "%s", self->endpoint) != 0)
        zsock_destroy(&s);
    return s;
}

/* True for an endpoint that needs no key: inproc, inside one process. Every other
 * transport is CURVE. */
static bool s_inproc(const char *endpoint)
{
    if (strncmp(endpoint, "inproc://", 9) == 0)
        return true;
    zsys_error("bus: %s needs a key (only inproc:// goes without)", endpoint);
    return false;
}

evs_client_t *evs_client_new(const char *endpoint)
{
    if (!s_inproc(endpoint))
        return NULL;
    evs_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
    if (!self->endpoint || !(self->dealer = s_client_socket(self)))
        evs_client_destroy(&self);
    return self;
}

evs_client_t *evs_client_new_cert(const char *endpoint, zcert_t *cert, const char *server_z85)
{
    evs_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
    self->cert = cert ? zcert_dup(cert) : NULL;
    if (server_z85 && strlen(server_z85) == 40)
        snprintf(self->server_key, sizeof self->server_key, "%s", server_z85);
    if (!self->endpoint || !self->cert || !self->server_key[0] ||
        !(self->dealer = s_client_socket(self)))
        evs_client_destroy(&self);
    return self;
}

evs_client_t *evs_client_new_keyed(const char *endpoint, const char *keys_dir, const char *me,
                                   const char *server)
{
    char server_z85[EVS_KEYS_Z85];
    if (evs_keys_public(keys_dir, server, server_z85) != 0) {
        zsys_error("bus: no public key of %s in %s", server, keys_dir);
        return NULL;
    }
    zcert_t *cert = evs_keys_load_secret(keys_dir, me);
    evs_client_t *self = cert ? evs_client_new_cert(endpoint, cert, server_z85) : NULL;
    zcert_destroy(&cert);
    return self;
}

void evs_client_destroy(evs_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_client_t *self = *self_p;
    zsock_destroy(&self->dealer);
    zcert_destroy(&self->cert);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

zsock_t *evs_client_sock(evs_client_t *self)
{
    return self->dealer;
}

static int s_client_reconnect(evs_client_t *self)
{
    zsock_destroy(&self->dealer);
    self->dealer = s_client_socket(self);
    return self->dealer ? 0 : -1;
}

//  Sends one request; its id (the header's, or a fresh one) into id_out (33 bytes
//  for a fresh one; else it points at the header's).
static int s_client_send(evs_client_t *self, const Tp__RequestHeader *header,
                         const char *command, const uint8_t *body, size_t body_len,
                         char *idbuf, const char **id_out)
{
    if (!self->dealer && s_client_reconnect(self) != 0)
        return -1;
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    if (header)
        hdr = *header;
    if (!hdr.request_id || !*hdr.request_id) {
        evs_bus_new_id(idbuf);
        hdr.request_id = idbuf;
    }
    *id_out = hdr.request_id;
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &hdr;
    req.command = (char *) command;
    req.body.data = (uint8_t *) body;
    req.body.len = body_len;
    size_t len = tp__request__get_packed_size(&req);
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, len) != 0)
        return -1;
    tp__request__pack(&req, zmq_msg_data(&msg));
    if (zmq_msg_send(&msg, zsock_resolve(self->dealer), 0) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    return 0;
}

Tp__Reply *evs_client_try_recv(evs_client_t *self)
{
    if (!self->dealer)
        return NULL;
    while (true) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zsock_resolve(self->dealer), ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return NULL;
        }
        Tp__Reply *r = tp__reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        zmq_msg_close(&msg);
        if (r)
            return r;   /* else garbage: skipped */
    }
}

//  The body packed into stackbuf (1024 bytes) or, when larger, a malloc'ed buffer;
//  NULL when out of memory. *len is 0 for no body.
static uint8_t *s_pack_body(const ProtobufCMessage *body, uint8_t *stackbuf, size_t *len)
{
    *len = body ? protobuf_c_message_get_packed_size(body) : 0;
    uint8_t *buf = *len > 1024 ? malloc(*len) : stackbuf;
    if (buf && body)
        protobuf_c_message_pack(body, buf);
    return buf;
}

int evs_client_send(evs_client_t *self, const Tp__RequestHeader *header, const char *command,
                    const ProtobufCMessage *body)
{
    uint8_t stackbuf[1024];
    size_t len;
    uint8_t *buf = s_pack_body(body, stackbuf, &len);
    if (!buf)
        return -1;
    char idbuf[33];
    const char *id;
    int rc = s_client_send(self, header, command, len ? buf : NULL, len, idbuf, &id);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

int evs_client_call_raw(evs_client_t *self, const Tp__RequestHeader *header,
                        const char *command, const uint8_t *body, size_t body_len,
                        int timeout_ms, Tp__Reply **reply)
{
    *reply = NULL;
    char idbuf[33];
    const char *id;
    if (s_client_send(self, header, command, body, body_len, idbuf, &id) != 0)
        return -1;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            break;
        zmq_pollitem_t item = {zsock_resolve(self->dealer), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, (long) left);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (rc == 0)
            break;
        Tp__Reply *r;
        while ((r = evs_client_try_recv(self))) {
            if (strcmp(r->request_id, id) == 0) {
                *reply = r;
                return 0;
            }
            tp__reply__free_unpacked(r, NULL);   /* late answer to an earlier call */
        }
    }
    s_client_reconnect(self);
    errno = ETIMEDOUT;
    return -1;
}

int evs_client_call_batch(evs_client_t *self, const Tp__RequestHeader *header,
                          const evs_batch_item_t *its, size_t n, int timeout_ms,
                          Tp__Reply **reply, Tp__Reply **items)
{
    *reply = NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = NULL;
    Tp__BatchItem *bi = calloc(n ? n : 1, sizeof *bi);
    Tp__BatchItem **bp = calloc(n ? n : 1, sizeof *bp);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += its[i].body ? protobuf_c_message_get_packed_size(its[i].body) : 0;
    uint8_t *bodies = malloc(total ? total : 1), *wire = NULL;
    int rc = -1;
    if (!bi || !bp || !bodies)
        goto done;
    uint8_t *at = bodies;
    for (size_t i = 0; i < n; i++) {
        tp__batch_item__init(&bi[i]);
        bi[i].request_id = (char *) its[i].request_id;
        bi[i].command = (char *) its[i].command;
        bi[i].body.data = at;
        bi[i].body.len = its[i].body ? protobuf_c_message_pack(its[i].body, at) : 0;
        at += bi[i].body.len;
        bp[i] = &bi[i];
    }
    Tp__Batch b = TP__BATCH__INIT;
    b.items = bp;
    b.n_items = n;
    size_t len = tp__batch__get_packed_size(&b);
    if (!(wire = malloc(len ? len : 1)))
        goto done;
    tp__batch__pack(&b, wire);
    if ((rc = evs_client_call_raw(self, header, EVS_BUS_BATCH, wire, len, timeout_ms, reply)))
        goto done;
    Tp__BatchReply *br = (*reply)->ok ? tp__batch_reply__unpack(NULL, (*reply)->body.len,
                                                                (*reply)->body.data)
                                      : NULL;
    for (size_t i = 0; br && i < n && i < br->n_replies; i++)
        items[i] = tp__reply__unpack(NULL, br->replies[i].len, br->replies[i].data);
    if (br)
        tp__batch_reply__free_unpacked(br, NULL);
done:
    free(bi);
    free(bp);
    free(bodies);
    free(wire);
    return rc;
}

int evs_client_call(evs_client_t *self, const Tp__RequestHeader *header, const char *command,
                    const ProtobufCMessage *body, int timeout_ms, Tp__Reply **reply)
{
    uint8_t stackbuf[1024];
    size_t len;
    uint8_t *buf = s_pack_body(body, stackbuf, &len);
    *reply = NULL;
    if (!buf)
        return -1;
    int rc = evs_client_call_raw(self, header, command, len ? buf : NULL, len, timeout_ms, reply);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

int evs_client_head(evs_client_t *self, int timeout_ms, uint64_t *head)
{
    *head = 0;
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.actor_role = "operator";
    Tp__Reply *r = NULL;
    int rc = evs_client_call_raw(self, &h, "$status", NULL, 0, timeout_ms, &r);
    Tp__Heartbeat *hb = rc == 0 && r && r->ok
                            ? tp__heartbeat__unpack(NULL, r->body.len, r->body.data)
                            : NULL;
    if (hb)
        *head = hb->head_seq;
    if (hb)
        tp__heartbeat__free_unpacked(hb, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return hb ? 0 : -1;
}

/* ---------------------------------------------------------------- subscriber */

struct _evs_sub_t {
    char *upstream;          /* upstream service name */
    zsock_t *live;           /* SUB to the upstream's PUB */
    zsock_t *reader;         /* DEALER to the upstream's ROUTER, for reads */
    uint64_t checkpoint;     /* last seq delivered and committed */
    uint64_t known_head;     /* highest seq known to exist upstream */
    bool read_pending;       /* a read is in flight */
    char read_id[33];        /* its request id; other replies are stale */
    uint64_t read_from;      /* its from_seq */
    int64_t read_sent;       /* zclock_mono() when sent */
    int read_max;            /* events per read */
    int read_timeout_ms;     /* resend after */
    evs_sub_stats_t stats;   /* counters */
};

static int s_sub_send_read(evs_sub_t *self)
{
    Tp__ReadEventsRequest rr = TP__READ_EVENTS_REQUEST__INIT;
    rr.from_seq = self->checkpoint + 1;
    rr.max_count = (uint32_t) self->read_max;
    uint8_t body[32];
    size_t blen = tp__read_events_request__pack(&rr, body);
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    evs_bus_new_id(self->read_id);
    hdr.request_id = self->read_id;
    hdr.actor_role = "system";
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &hdr;
    req.command = EVS_BUS_READ;
    req.body.data = body;
    req.body.len = blen;
    uint8_t buf[256];
    size_t len = tp__request__pack(&req, buf);
    self->read_pending = true;
    self->read_from = rr.from_seq;
    self->read_sent = zclock_mono();
    self->stats.reads++;
    return zmq_send(zsock_resolve(self->reader), buf, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

evs_sub_t *evs_sub_new(const char *upstream, const char *pub_endpoint,
                       const char *router_endpoint, uint64_t checkpoint,
                       const evs_sub_opts_t *opts)
{
    evs_sub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->upstream = strdup(upstream);
    self->checkpoint = checkpoint;
    self->known_head = checkpoint;
    self->read_max = opts && opts->read_max > 0 ? opts->read_max : EVS_BUS_READ_MAX;
    if (self->read_max > EVS_BUS_READ_MAX)
        self->read_max = EVS_BUS_READ_MAX;
    self->read_timeout_ms = opts && opts->read_timeout_ms > 0 ? opts->read_timeout_ms : 2000;
    self->live = zsock_new(ZMQ_SUB);
    self->reader = zsock_new(ZMQ_DEALER);
    if (!self->upstream || !self->live || !self->reader)
        goto fail;
    zsock_set_rcvhwm(self->live, opts && opts->rcvhwm > 0 ? opts->rcvhwm : 100000);
    zsock_set_linger(self->live, 0);
    zsock_set_linger(self->reader, 0);
    char prefix[EVS_MAX_ID + 2];
    snprintf(prefix, sizeof prefix, "%s.", upstream);
    /* subscribe before anything else: what is published from now on is seen */
    zsock_set_subscribe(self->live, prefix);
    if (opts && opts->keys_dir && opts->me) {
        /* both sockets CURVE, as ourselves, to the upstream's key */
        char server_z85[EVS_KEYS_Z85];
        if (evs_keys_public(opts->keys_dir, upstream, server_z85) != 0) {
            zsys_error("bus: no public key of %s in %s", upstream, opts->keys_dir);
            goto fail;
        }
        zcert_t *cert = evs_keys_load_secret(opts->keys_dir, opts->me);
        if (!cert)
            goto fail;
        evs_keys_client(self->live, cert, server_z85);
        evs_keys_client(self->reader, cert, server_z85);
        zcert_destroy(&cert);
    }
    else if (!s_inproc(pub_endpoint) || !s_inproc(router_endpoint))
        goto fail;
    if (zsock_connect(self->live, "%s", pub_endpoint) != 0)
        goto fail;
    if (zsock_connect(self->reader, "%s", router_endpoint) != 0)
        goto fail;
    s_sub_send_read(self);
    return self;
fail:
    evs_sub_destroy(&self);
    return NULL;
}

void evs_sub_destroy(evs_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_sub_t *self = *self_p;
    zsock_destroy(&self->live);
    zsock_destroy(&self->reader);
    free(self->upstream);
    free(self);
    *self_p = NULL;
}

zsock_t *evs_sub_live_sock(evs_sub_t *self) { return self->live; }
zsock_t *evs_sub_read_sock(evs_sub_t *self) { return self->reader; }
const char *evs_sub_upstream(evs_sub_t *self) { return self->upstream; }
uint64_t evs_sub_checkpoint(evs_sub_t *self) { return self->checkpoint; }
uint64_t evs_sub_known_head(evs_sub_t *self) { return self->known_head; }
void evs_sub_stats(evs_sub_t *self, evs_sub_stats_t *st) { *st = self->stats; }

static void s_sub_note_head(evs_sub_t *self, uint64_t seq)
{
    if (seq > self->known_head)
        self->known_head = seq;
}

/* Asks for what is missing, unless a read is already on its way. */
static void s_sub_want_more(evs_sub_t *self)
{
    if (!self->read_pending && self->known_head > self->checkpoint)
        s_sub_send_read(self);
}

/* Takes one live message (one event, "$events" or a heartbeat) and adds to recs[*n..]
 * the events in it that continue the run (seq checkpoint + *n + 1, and on); their bytes
 * stay in @p held, which the caller closes after the run. Returns 1 when no message was
 * waiting (or on a receive error), 0 otherwise; sets *ahead when the message shows that
 * events are missing (a later seq, or a heartbeat past the run). */
static int s_sub_recv_live(evs_sub_t *self, zmq_msg_t *held, evs_record_t *recs, size_t *n,
                           bool *ahead)
{
    void *handle = zsock_resolve(self->live);
    zmq_msg_t parts[3];
    for (int i = 0; i < 3; i++)
        zmq_msg_init(&parts[i]);
    int got = 0, more = 1, rc = 0;
    while (more) {
        zmq_msg_t *m = got < 3 ? &parts[got] : &parts[2];
        if (got >= 3)
            zmq_msg_close(m), zmq_msg_init(m);
        if (zmq_msg_recv(m, handle, ZMQ_DONTWAIT) < 0) {
            rc = (errno == EAGAIN) ? 1 : -1;
            break;
        }
        got++;
        more = zmq_msg_more(m);
    }
    if (rc != 0 || got != 3 || zmq_msg_size(&parts[1]) != 8) {
        rc = rc == 0 ? 0 : 1;   /* malformed messages are skipped */
        goto done;
    }
    uint64_t seq = s_get_be64(zmq_msg_data(&parts[1]));
    uint64_t next = self->checkpoint + *n + 1;
    const char *topic = zmq_msg_data(&parts[0]);
    size_t tlen = zmq_msg_size(&parts[0]);
    size_t hblen = strlen(EVS_BUS_HEARTBEAT), evlen = strlen(EVS_BUS_EVENTS);
    if (tlen > hblen && memcmp(topic + tlen - hblen, EVS_BUS_HEARTBEAT, hblen) == 0) {
        s_sub_note_head(self, seq);
        if (seq >= next)
            *ahead = true;
        goto done;
    }
    bool many = tlen > evlen && memcmp(topic + tlen - evlen, EVS_BUS_EVENTS, evlen) == 0;
    const uint8_t *p = zmq_msg_data(&parts[2]);
    size_t left = zmq_msg_size(&parts[2]);
    bool took = false, past_gap = false;
    for (; left > 0 || !many; seq++) {
        const uint8_t *env = p;
        size_t len = left;
        if (many && !evs_bus_events_next(&p, &left, &env, &len))
            break;   /* malformed: what came before it stands */
        s_sub_note_head(self, seq);   /* the head: the message's last seq */
        if (past_gap)
            continue;
        if (seq < next)
            self->stats.dropped_old++;
        else if (seq == next && !self->read_pending && *n < S_RUN_MAX) {
            recs[(*n)++] = (evs_record_t) {seq, env, len};
            next++;
            took = true;
        }
        else {
            /* ahead of us, or a read is on its way that will cover it */
            *ahead = past_gap = true;
        }
        if (!many)
            break;
    }
    if (took)
        zmq_msg_move(held, &parts[2]);
done:
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}

/* Live events: every one already waiting that continues the log in order is handed
 * over in ONE run, so the handler commits them (and the checkpoint) with one fsync
 * instead of one per event. Anything out of order makes the subscriber read instead. */
static int s_sub_live(evs_sub_t *self, evs_sub_fn *fn, void *arg)
{
    zmq_msg_t *held = malloc(S_RUN_MAX * sizeof *held);
    evs_record_t *recs = malloc(S_RUN_MAX * sizeof *recs);
    if (!held || !recs) {
        free(held);
        free(recs);
        return -1;
    }
    size_t n = 0, h = 0;
    bool ahead = false;
    /* a message is taken only while a whole "$events" one still fits the run */
    while (h < S_RUN_MAX && n + EVS_BUS_PUBLISH_MAX <= S_RUN_MAX) {
        zmq_msg_init(&held[h]);
        int got = s_sub_recv_live(self, &held[h++], recs, &n, &ahead);
        if (got != 0)
            break;   /* nothing more waiting (or a receive error) */
    }
    int rc = 0;
    if (n > 0) {
        rc = fn(recs, n, arg);
        if (rc == 0) {
            self->checkpoint = recs[n - 1].seq;
            self->stats.live_delivered += n;
        }
    }
    for (size_t i = 0; i < h; i++)
        zmq_msg_close(&held[i]);
    free(held);
    free(recs);
    if (ahead) {
        if (!self->read_pending && self->known_head > self->checkpoint)
            self->stats.gaps++;
        s_sub_want_more(self);
    }
    return rc != 0 ? rc : 1;   /* 1: drained */
}

/* A read reply: deliver the run that starts at checkpoint + 1. */
static int s_sub_read_reply(evs_sub_t *self, evs_sub_fn *fn, void *arg)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, zsock_resolve(self->reader), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 1;
    }
    int rc = 0;
    Tp__Reply *reply = tp__reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    if (!reply || strcmp(reply->request_id, self->read_id) != 0 || !self->read_pending)
        goto done;   /* stale or garbage */
    self->read_pending = false;
    if (!reply->ok) {
        zsys_warning("subscriber %s: read from %" PRIu64 " refused: %s", self->upstream,
                     self->read_from, reply->n_errors ? reply->errors[0]->message : "?");
        goto done;
    }
    Tp__ReadEventsReply *rr =
        tp__read_events_reply__unpack(NULL, reply->body.len, reply->body.data);
    if (!rr)
        goto done;
    s_sub_note_head(self, rr->head_seq);
    /* the contiguous run after our checkpoint; the bytes stay in the reply */
    evs_record_t *recs = rr->n_events ? calloc(rr->n_events, sizeof *recs) : NULL;
    size_t n = 0;
    uint64_t want = self->checkpoint + 1;
    for (size_t i = 0; i < rr->n_events && recs; i++) {
        evs_view_t view;
        if (evs_view(rr->events[i].data, rr->events[i].len, &view) != 0)
            break;
        if (view.seq < want)
            continue;
        if (view.seq != want)
            break;
        recs[n].seq = view.seq;
        recs[n].data = rr->events[i].data;
        recs[n].len = rr->events[i].len;
        n++;
        want++;
    }
    if (n > 0) {
        rc = fn(recs, n, arg);
        if (rc == 0) {
            self->checkpoint = recs[n - 1].seq;
            self->stats.read_delivered += n;
        }
    }
    free(recs);
    tp__read_events_reply__free_unpacked(rr, NULL);
    if (rc == 0)
        s_sub_want_more(self);
done:
    if (reply)
        tp__reply__free_unpacked(reply, NULL);
    return rc;
}

int evs_sub_handle(evs_sub_t *self, zsock_t *which, evs_sub_fn *fn, void *arg)
{
    /* drain what is waiting, but bounded, so one busy upstream cannot starve the loop */
    for (int i = 0; i < 1024; i++) {
        int rc = which == self->live ? s_sub_live(self, fn, arg)
                                     : s_sub_read_reply(self, fn, arg);
        if (rc == 1)
            return 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}

void evs_sub_upkeep(evs_sub_t *self)
{
    if (self->read_pending && zclock_mono() - self->read_sent > self->read_timeout_ms) {
        /* the upstream may have restarted and lost our request: ask again */
        self->read_pending = false;
        s_sub_send_read(self);
    }
    else
        s_sub_want_more(self);
}

/* ---------------------------------------------------------------- self-test */

/* The seqs a subscriber handed over, for the self-test. */
typedef struct {
    uint64_t seqs[64];
    size_t n;
} s_seen_t;

static int s_seen_fn(const evs_record_t *recs, size_t n, void *arg)
{
    s_seen_t *seen = arg;
    for (size_t i = 0; i < n && seen->n < 64; i++)
        seen->seqs[seen->n++] = recs[i].seq;
    return 0;
}

/* Takes the read request waiting at @p router; answers it with no events (head
 * @p head) when @p answer. Returns its from_seq, or 0. */
static uint64_t s_test_read(zsock_t *router, evs_sub_t *sub, uint64_t head, bool answer)
{
    zmq_pollitem_t in = {zsock_resolve(router), 0, ZMQ_POLLIN, 0};
    zmsg_t *m = zmq_poll(&in, 1, 1000) == 1 ? zmsg_recv(router) : NULL;
    zframe_t *id = m ? zmsg_pop(m) : NULL, *body = m ? zmsg_pop(m) : NULL;
    Tp__Request *req = body ? tp__request__unpack(NULL, zframe_size(body), zframe_data(body))
                            : NULL;
    Tp__ReadEventsRequest *rr =
        req ? tp__read_events_request__unpack(NULL, req->body.len, req->body.data) : NULL;
    uint64_t from = rr ? rr->from_seq : 0;
    if (answer && req && id) {
        Tp__ReadEventsReply out = TP__READ_EVENTS_REPLY__INIT;
        out.head_seq = head;
        uint8_t ob[16], rb[128];
        Tp__Reply reply = TP__REPLY__INIT;
        reply.request_id = req->header->request_id;
        reply.ok = true;
        reply.body.data = ob;
        reply.body.len = tp__read_events_reply__pack(&out, ob);
        zmsg_t *r = zmsg_new();
        zmsg_append(r, &id);
        zmsg_addmem(r, rb, tp__reply__pack(&reply, rb));
        zmsg_send(&r, router);
        zmq_pollitem_t it = {zsock_resolve(evs_sub_read_sock(sub)), 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 1000);
        s_seen_t none = {{0}, 0};
        evs_sub_handle(sub, evs_sub_read_sock(sub), s_seen_fn, &none);
    }
    if (rr)
        tp__read_events_request__free_unpacked(rr, NULL);
    if (req)
        tp__request__free_unpacked(req, NULL);
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&m);
    return from;
}

/* Publishes seqs [from, to] as one run and hands what the subscriber takes to @p seen. */
static int s_test_run(zsock_t *pub, evs_sub_t *sub, uint64_t from, uint64_t to, s_seen_t *seen)
{
    static const uint8_t env[] = {0x08, 0x01};
    evs_record_t recs[16];
    for (uint64_t q = from; q <= to; q++)
        recs[q - from] = (evs_record_t) {q, env, sizeof env};
    if (evs_bus_publish_run(pub, "svc", recs, (size_t) (to - from + 1)) != 0)
        return -1;
    zmq_pollitem_t it = {zsock_resolve(evs_sub_live_sock(sub)), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 1000) != 1)
        return -1;
    seen->n = 0;
    return evs_sub_handle(sub, evs_sub_live_sock(sub), s_seen_fn, seen);
}

int evs_bus_test(bool verbose)
{
    /* The subscriber is exercised end to end by the service runtime's tests and
     * the integration suite (real processes); here: framing and the client. */
    int failed = 0;
#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "evs_bus_test: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            failed++;                                                     \
        }                                                                 \
    } while (0)
    char id1[33], id2[33];
    evs_bus_new_id(id1);
    evs_bus_new_id(id2);
    CHECK(strlen(id1) == 32 && strcmp(id1, id2) != 0);
    uint8_t b[8];
    s_put_be64(b, 0x0102030405060708ULL);
    CHECK(b[0] == 1 && b[7] == 8 && s_get_be64(b) == 0x0102030405060708ULL);

    /* publish + receive framing over inproc */
    zsock_t *pub = zsock_new_pub("inproc://evs-bus-test");
    zsock_t *sub = zsock_new_sub("inproc://evs-bus-test", "svc.");
    CHECK(pub && sub);
    zclock_sleep(50);
    uint8_t env_buf[64];
    Tp__Envelope env = TP__ENVELOPE__INIT;
    env.seq = 7;
    env.event_type = "Thing";
    env.stream_id = "s";
    size_t elen = tp__envelope__pack(&env, env_buf);
    evs_record_t rec = {7, env_buf, elen};
    CHECK(evs_bus_publish(pub, "svc", &rec, NULL) == 0);
    CHECK(evs_bus_heartbeat(pub, "svc", 7, NULL) == 0);
    zmsg_t *m = zmsg_recv(sub);
    CHECK(m && zmsg_size(m) == 3);
    if (m) {
        char *topic = zmsg_popstr(m);
        CHECK(topic && streq(topic, "svc.Thing"));
        zframe_t *sf = zmsg_pop(m);
        CHECK(sf && zframe_size(sf) == 8 && s_get_be64(zframe_data(sf)) == 7);
        zframe_destroy(&sf);
        zstr_free(&topic);
        zmsg_destroy(&m);
    }
    m = zmsg_recv(sub);
    if (m) {
        char *topic = zmsg_popstr(m);
        CHECK(topic && streq(topic, "svc.$heartbeat"));
        zstr_free(&topic);
        zmsg_destroy(&m);
    }
    else
        CHECK(!"heartbeat received");

    /* consecutive records: one "$events" message; a gap in the seqs is refused */
    evs_record_t run[3] = {{8, env_buf, elen}, {9, env_buf, elen - 1}, {10, env_buf, 1}};
    CHECK(evs_bus_publish_run(pub, "svc", run, 3) == 0);
    run[2].seq = 11;
    CHECK(evs_bus_publish_run(pub, "svc", run, 3) == -1);
    m = zmsg_recv(sub);
    CHECK(m && zmsg_size(m) == 3);
    if (m) {
        char *topic = zmsg_popstr(m);
        CHECK(topic && streq(topic, "svc.$events"));
        zframe_t *sf = zmsg_pop(m), *body = zmsg_pop(m);
        CHECK(sf && zframe_size(sf) == 8 && s_get_be64(zframe_data(sf)) == 8);
        size_t want = 3 * 4 + elen + elen - 1 + 1, at = 0;
        CHECK(body && zframe_size(body) == want);
        for (int i = 0; body && zframe_size(body) == want && i < 3; i++) {
            size_t len = s_get_be32(zframe_data(body) + at);
            CHECK(len == run[i].len && memcmp(zframe_data(body) + at + 4, env_buf, len) == 0);
            at += 4 + len;
        }
        zframe_destroy(&sf);
        zframe_destroy(&body);
        zstr_free(&topic);
        zmsg_destroy(&m);
    }

    /* the subscriber takes "$events" apart: a run in order, the new tail of a run that
     * overlaps what it has, nothing of a run past a gap (it reads from the gap instead) */
    zsock_t *upub = zsock_new_pub("inproc://evs-sub-test-pub");
    zsock_t *urouter = zsock_new_router("inproc://evs-sub-test-router");
    evs_sub_t *esub = evs_sub_new("svc", "inproc://evs-sub-test-pub",
                                  "inproc://evs-sub-test-router", 0, NULL);
    CHECK(upub && urouter && esub);
    if (upub && urouter && esub) {
        CHECK(s_test_read(urouter, esub, 0, true) == 1);   /* the catch-up at start */
        zclock_sleep(50);                                   /* the subscription arrives */
        s_seen_t seen;
        CHECK(s_test_run(upub, esub, 1, 3, &seen) == 0 && seen.n == 3 && seen.seqs[0] == 1 &&
              seen.seqs[2] == 3 && evs_sub_checkpoint(esub) == 3);
        CHECK(s_test_run(upub, esub, 2, 5, &seen) == 0 && seen.n == 2 && seen.seqs[0] == 4 &&
              seen.seqs[1] == 5 && evs_sub_checkpoint(esub) == 5);
        evs_sub_stats_t st;
        evs_sub_stats(esub, &st);
        CHECK(st.dropped_old == 2 && st.live_delivered == 5);
        CHECK(s_test_run(upub, esub, 8, 9, &seen) == 0 && seen.n == 0 &&
              evs_sub_checkpoint(esub) == 5 && evs_sub_known_head(esub) == 9);
        CHECK(s_test_read(urouter, esub, 9, false) == 6);   /* it asks for the gap */
    }
    evs_sub_destroy(&esub);
    zsock_destroy(&upub);
    zsock_destroy(&urouter);

    /* client: time-out against a ROUTER that never answers, then a matching reply */
    zsock_t *router = zsock_new_router("inproc://evs-bus-client");
    evs_client_t *client = evs_client_new("inproc://evs-bus-client");
    CHECK(router && client);
    Tp__Reply *reply = NULL;
    int64_t t0 = zclock_mono();
    CHECK(evs_client_call_raw(client, NULL, "x.Nothing", NULL, 0, 100, &reply) == -1);
    CHECK(errno == ETIMEDOUT && zclock_mono() - t0 >= 90);
    zmsg_t *stale = zmsg_recv(router);   /* the timed-out request */
    zmsg_destroy(&stale);
    if (verbose)
        printf("evs_bus_test: client time-out ok\n");
    zsock_destroy(&router);
    evs_client_destroy(&client);
    evs_client_destroy(&client);
    zsock_destroy(&pub);
    zsock_destroy(&sub);
    return failed ? 1 : 0;
#undef CHECK
}
