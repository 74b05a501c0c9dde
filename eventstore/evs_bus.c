/* evs_bus.c: event bus: PUB framing, heartbeats, the request client (the catch-up
 * subscriber is evs_sub.c). */
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
    for (size_t i = 0; i < n; i++)
        if (recs[i].seq != recs[0].seq + i)
            return -1;
    size_t total = evs_bus_events_size(recs, n);
    zmq_msg_t body;
    if (total == SIZE_MAX || zmq_msg_init_size(&body, total) != 0)
        return -1;
    evs_bus_events_put(zmq_msg_data(&body), recs, n);
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

size_t evs_bus_events_size(const evs_record_t *recs, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].len > UINT32_MAX)
            return SIZE_MAX;
        total += 4 + recs[i].len;
    }
    return total;
}

void evs_bus_events_put(uint8_t *out, const evs_record_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t) recs[i].len;
        out[0] = (uint8_t) (len >> 24), out[1] = (uint8_t) (len >> 16);
        out[2] = (uint8_t) (len >> 8), out[3] = (uint8_t) len;
        if (len)
            memcpy(out + 4, recs[i].data, len);
        out += 4 + len;
    }
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

/* ---------------------------------------------------------------- endpoints */

bool evs_bus_endpoint_next(const char **list, char *out, size_t outsz)
{
    const char *p = *list;
    while (true) {
        p += strspn(p, ", \t");
        if (!*p) {
            *list = p;
            return false;
        }
        size_t n = strcspn(p, ",");
        const char *next = p + n;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0) {
            p = next;
            continue;
        }
        if (n >= outsz) {
            *list = p + strlen(p);
            return false;
        }
        memcpy(out, p, n);
        out[n] = '\0';
        *list = next;
        return true;
    }
}

int evs_bus_connect(zsock_t *sock, const char *endpoints)
{
    char ep[512];
    int n = 0;
    for (const char *at = endpoints; evs_bus_endpoint_next(&at, ep, sizeof ep); n++)
        if (zsock_connect(sock, "%s", ep) != 0)
            return -1;
    return n > 0 ? n : -1;
}

bool evs_bus_not_active(const Tp__Reply *reply)
{
    for (size_t i = 0; reply && !reply->ok && i < reply->n_errors; i++)
        if (reply->errors[i]->code && strcmp(reply->errors[i]->code, EVS_BUS_NOT_ACTIVE) == 0)
            return true;
    return false;
}

/* True for an endpoint (or a list of them) that needs no key: inproc, inside one process.
 * Every other transport is CURVE. */
bool evs_bus_inproc(const char *endpoint)
{
    char ep[512];
    const char *at = endpoint;
    bool any = false;
    while (evs_bus_endpoint_next(&at, ep, sizeof ep)) {
        any = true;
        if (strncmp(ep, "inproc://", 9) != 0) {
            zsys_error("bus: %s needs a key (only inproc:// goes without)", ep);
            return false;
        }
    }
    if (!any)
        zsys_error("bus: no endpoint in '%s'", endpoint);
    return any;
}

/* ---------------------------------------------------------------- client */

struct _evs_client_t {
    char *endpoint;      /* the service's ROUTER endpoint, or several (comma-separated) */
    size_t n_endpoints;  /* how many: with more than one, a try lasts half the time-out */
    size_t first;        /* the endpoint the next socket connects to first (in turns) */
    zsock_t *dealer;     /* recreated after a time-out */
    zcert_t *cert;       /* CURVE: the client's certificate, or NULL */
    char server_key[41]; /* CURVE: the server's public key (Z85), one for every instance */
};

/* A fresh DEALER, with CURVE when the client has a certificate, connected to every
 * endpoint (the first one in turns, so that fresh sockets do not all start alike). */
static zsock_t *s_client_socket(evs_client_t *self)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s)
        return NULL;
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
    if (self->n_endpoints > 1)
        zsock_set_immediate(s, 1); /* requests only to instances that are up */
    if (self->cert) {
        zcert_apply(self->cert, s);
        zsock_set_curve_serverkey(s, self->server_key);
    }
    size_t skip = self->first++ % self->n_endpoints;
    char ep[512];
    for (size_t round = 0; round < 2 && s; round++) {
        size_t i = 0;
        for (const char *at = self->endpoint; s && evs_bus_endpoint_next(&at, ep, sizeof ep); i++)
            if ((round == 0) == (i >= skip) && zsock_connect(s, "%s", ep) != 0)
                zsock_destroy(&s);
    }
    return s;
}

/* Counts the endpoints of the client's list; 0 for none or a malformed list. */
static size_t s_count(const char *list)
{
    char ep[512];
    size_t n = 0;
    const char *at = list;
    while (evs_bus_endpoint_next(&at, ep, sizeof ep))
        n++;
    return *at ? 0 : n; /* stopped early: an endpoint too long */
}

evs_client_t *evs_client_new(const char *endpoint)
{
    if (!evs_bus_inproc(endpoint))
        return NULL;
    evs_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
    self->n_endpoints = self->endpoint ? s_count(self->endpoint) : 0;
    if (!self->n_endpoints || !(self->dealer = s_client_socket(self)))
        evs_client_destroy(&self);
    return self;
}

evs_client_t *evs_client_new_cert(const char *endpoint, zcert_t *cert, const char *server_z85)
{
    evs_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
    self->n_endpoints = self->endpoint ? s_count(self->endpoint) : 0;
    self->cert = cert ? zcert_dup(cert) : NULL;
    if (server_z85 && strlen(server_z85) == 40)
        snprintf(self->server_key, sizeof self->server_key, "%s", server_z85);
    if (!self->n_endpoints || !self->cert || !self->server_key[0] ||
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

size_t evs_client_endpoints(const evs_client_t *self)
{
    return self->n_endpoints;
}

int evs_client_try_ms(const evs_client_t *self, int timeout_ms)
{
    return self->n_endpoints > 1 ? timeout_ms / 2 : timeout_ms;
}

static int s_client_reconnect(evs_client_t *self)
{
    zsock_destroy(&self->dealer);
    self->dealer = s_client_socket(self);
    return self->dealer ? 0 : -1;
}

/* The request packed into a fresh buffer (*len bytes), its id the header's or, when that
 * is empty, a fresh one in idbuf (33 bytes); NULL when out of memory. */
static uint8_t *s_pack_request(const Tp__RequestHeader *header, const char *command,
                               const uint8_t *body, size_t body_len, char *idbuf, const char **id,
                               size_t *len)
{
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    if (header)
        hdr = *header;
    if (!hdr.request_id || !*hdr.request_id) {
        evs_bus_new_id(idbuf);
        hdr.request_id = idbuf;
    }
    *id = hdr.request_id;
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &hdr;
    req.command = (char *) command;
    req.body.data = (uint8_t *) body;
    req.body.len = body_len;
    *len = tp__request__get_packed_size(&req);
    uint8_t *wire = malloc(*len ? *len : 1);
    if (wire)
        tp__request__pack(&req, wire);
    return wire;
}

/* Sends a packed request. With one endpoint it is queued at once (no high-water mark);
 * with several it goes only to an instance whose connection is up: -1 and EAGAIN when
 * none is (yet). */
static int s_client_send_wire(evs_client_t *self, const uint8_t *wire, size_t len)
{
    if (!self->dealer && s_client_reconnect(self) != 0)
        return -1;
    int flags = self->n_endpoints > 1 ? ZMQ_DONTWAIT : 0;
    return zmq_send(zsock_resolve(self->dealer), wire, len, flags) < 0 ? -1 : 0;
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
    size_t wlen;
    uint8_t *wire = s_pack_request(header, command, len ? buf : NULL, len, idbuf, &id, &wlen);
    int rc = wire ? s_client_send_wire(self, wire, wlen) : -1;
    free(wire);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* Waits until @p until (zclock_mono ms) for the reply to request @p id; others (late
 * answers to earlier calls) are skipped. With several endpoints, a send that found no
 * connection up waits here for one first. Returns 1 with the reply, 0 when none came in
 * time, -1 when polling failed. */
static int s_client_wait(evs_client_t *self, const uint8_t *wire, size_t len, const char *id,
                         int64_t until, Tp__Reply **reply)
{
    bool sent = false;
    while (true) {
        if (!sent) {
            if (s_client_send_wire(self, wire, len) == 0)
                sent = true;
            else if (!self->dealer || errno != EAGAIN)
                return -1;
        }
        int64_t left = until - zclock_mono();
        if (left <= 0)
            return 0;
        zmq_pollitem_t item = {zsock_resolve(self->dealer), 0,
                               (short) (sent ? ZMQ_POLLIN : ZMQ_POLLOUT), 0};
        int rc = zmq_poll(&item, 1, (long) left);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (rc == 0)
            return 0;
        Tp__Reply *r;
        while (sent && (r = evs_client_try_recv(self))) {
            if (strcmp(r->request_id, id) == 0) {
                *reply = r;
                return 1;
            }
            tp__reply__free_unpacked(r, NULL);   /* late answer to an earlier call */
        }
    }
}

int evs_client_call_raw(evs_client_t *self, const Tp__RequestHeader *header, const char *command,
                        const uint8_t *body, size_t body_len, int timeout_ms, Tp__Reply **reply)
{
    *reply = NULL;
    char idbuf[33];
    const char *id;
    size_t len;
    uint8_t *wire = s_pack_request(header, command, body, body_len, idbuf, &id, &len);
    if (!wire)
        return -1;
    int64_t end = zclock_mono() + timeout_ms;
    int pause = EVS_BUS_PAUSE_MIN_MS, rc = -1;
    Tp__Reply *standby = NULL; /* the last refusal of a standby */
    do {
        int64_t now = zclock_mono(), until = now + evs_client_try_ms(self, timeout_ms);
        Tp__Reply *r = NULL;
        int got = s_client_wait(self, wire, len, id, until < end ? until : end, &r);
        if (got < 0) {
            int err = errno;
            if (standby)
                tp__reply__free_unpacked(standby, NULL);
            free(wire);
            errno = err;
            return -1;
        }
        if (got > 0 && !evs_bus_not_active(r)) {
            *reply = r;
            rc = 0;
            break;
        }
        if (got > 0) {
            /* a standby: the same request again, after a pause (in turn to the next
             * instance that is up), until the time-out */
            if (standby)
                tp__reply__free_unpacked(standby, NULL);
            standby = r;
            int64_t left = end - zclock_mono();
            zclock_sleep((int) (left < pause ? (left > 0 ? left : 0) : pause));
            pause = pause * 2 > EVS_BUS_PAUSE_MAX_MS ? EVS_BUS_PAUSE_MAX_MS : pause * 2;
            continue;
        }
        /* no answer in this try: a fresh socket, so that a late answer is never taken
         * for a later call's; with several endpoints, try again while time is left */
        s_client_reconnect(self);
        if (self->n_endpoints == 1)
            break;
    } while (zclock_mono() < end);
    free(wire);
    if (rc == 0) {
        if (standby)
            tp__reply__free_unpacked(standby, NULL);
        return 0;
    }
    if (standby) {
        *reply = standby;
        return 0;
    }
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

/* ---------------------------------------------------------------- self-test */

int evs_bus_test(bool verbose)
{
    /* framing and the client (the subscriber: evs_sub_test) */
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
