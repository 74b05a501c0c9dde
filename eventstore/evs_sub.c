/* evs_sub.c: the catch-up subscriber (evs_bus.h): live events from an upstream's PUB, reads
 * over its ROUTER for what is missing, and the check that the upstream still continues the
 * log this follower took: every record's prev_hash must be the hash of the record before
 * it (the checkpoint's, across restarts), and the upstream's head must never fall behind
 * the checkpoint. An upstream that contradicts what was taken is not followed any more
 * (evs_sub_contradiction). */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_keys.h"

/* Most events one live run hands to the handler. */
#define S_RUN_MAX 1024

static uint64_t s_be64(const void *in)
{
    uint64_t v;
    memcpy(&v, in, sizeof v);
    return be64toh(v);
}

struct _evs_sub_t {
    char *upstream;          /* upstream service name */
    zsock_t *live;           /* SUB to the upstream's PUB */
    zsock_t *reader;         /* DEALER to the upstream's ROUTER, for reads */
    uint64_t checkpoint;     /* last seq delivered and committed */
    uint64_t known_head;     /* highest seq known to exist upstream */
    bool read_pending;       /* a read is in flight */
    bool answered;           /* a read was answered (the head is known from it) */
    char read_id[33];        /* its request id; other replies are stale */
    uint64_t read_from;      /* its from_seq */
    int64_t read_sent;       /* zclock_mono() when sent */
    int read_max;            /* events per read */
    int read_timeout_ms;     /* resend after */
    bool probe;              /* read even with nothing missing: a heartbeat said the head
                                is behind the checkpoint, and the read's answer tells */
    uint8_t hash[EVS_HASH_SIZE]; /* the hash of the upstream's record at the checkpoint */
    bool hash_known;         /* (not known: a checkpoint kept without it) */
    char contradiction[400]; /* why the upstream is not followed any more ("": it is) */
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
    /* the first record of the log follows 32 zero bytes */
    self->hash_known = checkpoint == 0 || (opts && opts->checkpoint_hash);
    if (checkpoint && opts && opts->checkpoint_hash)
        memcpy(self->hash, opts->checkpoint_hash, EVS_HASH_SIZE);
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
    else if (!evs_bus_inproc(pub_endpoint) || !evs_bus_inproc(router_endpoint))
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
bool evs_sub_caught_up(evs_sub_t *self)
{
    return self->answered && !self->read_pending && self->checkpoint >= self->known_head;
}
void evs_sub_stats(evs_sub_t *self, evs_sub_stats_t *st) { *st = self->stats; }
const char *evs_sub_contradiction(evs_sub_t *self)
{
    return *self->contradiction ? self->contradiction : NULL;
}

/* The upstream contradicts what this follower took: stop following it, saying why. */
static void s_sub_contradicted(evs_sub_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void s_sub_contradicted(evs_sub_t *self, const char *fmt, ...)
{
    if (*self->contradiction)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->contradiction, sizeof self->contradiction, fmt, ap);
    va_end(ap);
    /* nothing more asked or taken: no reads resent, and the publisher stops sending */
    self->read_pending = false;
    self->probe = false;
    char prefix[EVS_MAX_ID + 2];
    snprintf(prefix, sizeof prefix, "%s.", self->upstream);
    zsock_set_unsubscribe(self->live, prefix);
}

/* The first 8 bytes of @p hash in hex, for messages. */
static const char *s_short(const uint8_t *hash, char out[17])
{
    return sodium_bin2hex(out, 17, hash, 8);
}

/* How many of @p recs continue the chain from the checkpoint's hash (all of them, unless
 * the upstream contradicts what was taken: then the reason is set). */
static size_t s_sub_continuing(evs_sub_t *self, const evs_record_t *recs, size_t n)
{
    uint8_t expect[EVS_HASH_SIZE], prev[EVS_HASH_SIZE], hash[EVS_HASH_SIZE];
    bool known = self->hash_known;
    memcpy(expect, self->hash, sizeof expect);
    for (size_t i = 0; i < n; i++) {
        if (evs_chain(recs[i].data, recs[i].len, prev, hash) != 0) {
            s_sub_contradicted(self, "its record seq %" PRIu64 " does not decode", recs[i].seq);
            return i;
        }
        if (known && sodium_memcmp(prev, expect, EVS_HASH_SIZE) != 0) {
            char a[17], b[17];
            s_sub_contradicted(self,
                               "its seq %" PRIu64 " follows a record with hash %s..., but "
                               "seq %" PRIu64 " had hash %s... when this follower took it: "
                               "its log was rewritten or rolled back",
                               recs[i].seq, s_short(prev, a), recs[i].seq - 1,
                               s_short(expect, b));
            return i;
        }
        memcpy(expect, hash, sizeof expect);
        known = true;
    }
    return n;
}

/* Hands the run @p recs[0..n) to @p fn when it continues the chain; the checkpoint and
 * its hash move on when @p fn committed it. Returns fn's result (0 when nothing). */
static int s_sub_deliver(evs_sub_t *self, const evs_record_t *recs, size_t n,
                         evs_sub_fn *fn, void *arg, uint64_t *delivered)
{
    n = s_sub_continuing(self, recs, n);
    if (n == 0)
        return 0;
    int rc = fn(recs, n, arg);
    if (rc == 0) {
        uint8_t prev[EVS_HASH_SIZE];
        self->checkpoint = recs[n - 1].seq;
        self->hash_known = evs_chain(recs[n - 1].data, recs[n - 1].len, prev, self->hash) == 0;
        *delivered += n;
    }
    return rc;
}

/* A heartbeat: a head behind the checkpoint is asked about (a heartbeat may have waited
 * in the queue while a read moved the checkpoint on); the checkpoint's own seq with
 * another hash contradicts what was taken. */
static void s_sub_heartbeat(evs_sub_t *self, uint64_t seq, zmq_msg_t *body)
{
    if (seq < self->checkpoint) {
        self->probe = true;
        return;
    }
    if (seq != self->checkpoint || !self->hash_known)
        return;
    Tp__Heartbeat *hb = tp__heartbeat__unpack(NULL, zmq_msg_size(body), zmq_msg_data(body));
    if (hb && hb->head_seq == seq && hb->head_hash.len == EVS_HASH_SIZE &&
        sodium_memcmp(hb->head_hash.data, self->hash, EVS_HASH_SIZE) != 0) {
        char a[17], b[17];
        s_sub_contradicted(self,
                           "its head seq %" PRIu64 " has hash %s..., but this follower took "
                           "seq %" PRIu64 " with hash %s...: its log was rewritten or rolled "
                           "back",
                           seq, s_short(hb->head_hash.data, a), seq, s_short(self->hash, b));
    }
    if (hb)
        tp__heartbeat__free_unpacked(hb, NULL);
}

static void s_sub_note_head(evs_sub_t *self, uint64_t seq)
{
    if (seq > self->known_head)
        self->known_head = seq;
}

/* Asks for what is missing (or whether the head is behind), unless a read is already on
 * its way or the upstream is not followed any more. */
static void s_sub_want_more(evs_sub_t *self)
{
    if (!self->read_pending && !*self->contradiction &&
        (self->known_head > self->checkpoint || self->probe))
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
    uint64_t seq = s_be64(zmq_msg_data(&parts[1]));
    uint64_t next = self->checkpoint + *n + 1;
    const char *topic = zmq_msg_data(&parts[0]);
    size_t tlen = zmq_msg_size(&parts[0]);
    size_t hblen = strlen(EVS_BUS_HEARTBEAT), evlen = strlen(EVS_BUS_EVENTS);
    if (tlen > hblen && memcmp(topic + tlen - hblen, EVS_BUS_HEARTBEAT, hblen) == 0) {
        s_sub_heartbeat(self, seq, &parts[2]);
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
    int rc = *self->contradiction ? 0
                                 : s_sub_deliver(self, recs, n, fn, arg,
                                                 &self->stats.live_delivered);
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
    /* a head below the events the reply carries is no head: the answer is garbage */
    evs_view_t lastv;
    if (rr->n_events &&
        (evs_view(rr->events[rr->n_events - 1].data, rr->events[rr->n_events - 1].len,
                  &lastv) != 0 ||
         lastv.seq > rr->head_seq)) {
        tp__read_events_reply__free_unpacked(rr, NULL);
        goto done;
    }
    s_sub_note_head(self, rr->head_seq);
    self->probe = false;
    self->answered = true;
    if (rr->head_seq < self->checkpoint)
        s_sub_contradicted(self,
                           "its head is seq %" PRIu64 ", behind seq %" PRIu64 " that this "
                           "follower already took: its log was truncated or restored from an "
                           "older backup",
                           rr->head_seq, self->checkpoint);
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
    if (!*self->contradiction)
        rc = s_sub_deliver(self, recs, n, fn, arg, &self->stats.read_delivered);
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
    if (*self->contradiction)
        return;   /* not followed any more */
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

/* Test chains: the hash of record q is 32 bytes of value q (seq 0: zeros), or of q + 100
 * in the other history that s_test_fork makes the upstream have from its seq on. */
static uint64_t s_test_fork = UINT64_MAX;

static void s_test_hash(uint64_t q, uint8_t *out)
{
    memset(out, (int) (q >= s_test_fork ? q + 100 : q), EVS_HASH_SIZE);
}

/* Packs the envelope of seq @p q into @p out (128 bytes); returns its size. */
static size_t s_test_env(uint64_t q, uint8_t *out)
{
    uint8_t prev[EVS_HASH_SIZE], hash[EVS_HASH_SIZE];
    s_test_hash(q - 1, prev);
    s_test_hash(q, hash);
    Tp__Envelope e = TP__ENVELOPE__INIT;
    e.seq = q;
    e.stream_id = "s";
    e.event_type = "Thing";
    e.prev_hash = (ProtobufCBinaryData) {EVS_HASH_SIZE, prev};
    e.hash = (ProtobufCBinaryData) {EVS_HASH_SIZE, hash};
    return tp__envelope__pack(&e, out);
}

/* Publishes seqs [from, to] as one run and hands what the subscriber takes to @p seen. */
static int s_test_run(zsock_t *pub, evs_sub_t *sub, uint64_t from, uint64_t to, s_seen_t *seen)
{
    static uint8_t env[16][128];
    evs_record_t recs[16];
    for (uint64_t q = from; q <= to; q++)
        recs[q - from] = (evs_record_t) {q, env[q - from], s_test_env(q, env[q - from])};
    if (evs_bus_publish_run(pub, "svc", recs, (size_t) (to - from + 1)) != 0)
        return -1;
    zmq_pollitem_t it = {zsock_resolve(evs_sub_live_sock(sub)), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 1000) != 1)
        return -1;
    seen->n = 0;
    return evs_sub_handle(sub, evs_sub_live_sock(sub), s_seen_fn, seen);
}

/* Waits for a heartbeat of head @p seq (hash as the test chain has it) to arrive, and
 * lets the subscriber take it. */
static void s_test_heartbeat(zsock_t *pub, evs_sub_t *sub, uint64_t seq)
{
    uint8_t hash[EVS_HASH_SIZE];
    s_test_hash(seq, hash);
    evs_bus_heartbeat(pub, "svc", seq, hash);
    zmq_pollitem_t it = {zsock_resolve(evs_sub_live_sock(sub)), 0, ZMQ_POLLIN, 0};
    zmq_poll(&it, 1, 1000);
    s_seen_t none = {{0}, 0};
    evs_sub_handle(sub, evs_sub_live_sock(sub), s_seen_fn, &none);
}

/* A subscriber at checkpoint 3 (its hash @p o->checkpoint_hash) of the second test
 * upstream, its first read answered, its subscription arrived. */
static evs_sub_t *s_test_follower(zsock_t *urouter, const evs_sub_opts_t *o)
{
    evs_sub_t *sub = evs_sub_new("svc", "inproc://evs-sub-test-pub2",
                                 "inproc://evs-sub-test-router2", 3, o);
    if (sub && s_test_read(urouter, sub, 3, true) != 4)
        evs_sub_destroy(&sub);
    zclock_sleep(50);
    return sub;
}

int evs_sub_test(bool verbose)
{
    int failed = 0;
#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "evs_sub_test: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            failed++;                                                             \
        }                                                                         \
    } while (0)
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

    /* an upstream that contradicts what was taken is not followed any more: a record
     * that does not continue the checkpoint's hash (a log rewritten from seq 4 on) */
    upub = zsock_new_pub("inproc://evs-sub-test-pub2");
    urouter = zsock_new_router("inproc://evs-sub-test-router2");
    uint8_t h3[EVS_HASH_SIZE];
    s_test_hash(3, h3);
    evs_sub_opts_t o = {.checkpoint_hash = h3};
    esub = upub && urouter ? s_test_follower(urouter, &o) : NULL;
    CHECK(esub);
    if (esub) {
        s_seen_t seen;
        CHECK(s_test_run(upub, esub, 4, 5, &seen) == 0 && seen.n == 2);
        CHECK(!evs_sub_contradiction(esub));
        s_test_heartbeat(upub, esub, 5);   /* the same head, the same hash: fine */
        CHECK(!evs_sub_contradiction(esub));
        s_test_fork = 5;                   /* from here on, another history of seq 5... */
        s_test_heartbeat(upub, esub, 5);   /* ...whose head at 5 has another hash */
        CHECK(evs_sub_contradiction(esub) &&
              strstr(evs_sub_contradiction(esub), "rewritten or rolled back"));
        /* nothing taken any more: unsubscribed, nothing even arrives */
        seen.n = 0;
        CHECK(s_test_run(upub, esub, 6, 7, &seen) == -1 && seen.n == 0 &&
              evs_sub_checkpoint(esub) == 5);
        if (verbose)
            printf("evs_sub_test: %s\n", evs_sub_contradiction(esub));
    }
    evs_sub_destroy(&esub);
    s_test_fork = UINT64_MAX;

    /* a live run whose first record follows another hash than the checkpoint's */
    esub = s_test_follower(urouter, &o);
    CHECK(esub);
    if (esub) {
        s_test_fork = 3;
        s_seen_t seen;
        CHECK(s_test_run(upub, esub, 4, 5, &seen) == 0 && seen.n == 0 &&
              evs_sub_checkpoint(esub) == 3);
        CHECK(evs_sub_contradiction(esub) && strstr(evs_sub_contradiction(esub), "seq 4"));
    }
    evs_sub_destroy(&esub);
    s_test_fork = UINT64_MAX;

    /* a head behind the checkpoint: a heartbeat makes it ask, the read's answer decides */
    esub = s_test_follower(urouter, &o);
    CHECK(esub);
    if (esub) {
        s_test_heartbeat(upub, esub, 2);
        CHECK(!evs_sub_contradiction(esub));   /* perhaps a heartbeat that waited */
        evs_sub_upkeep(esub);
        CHECK(s_test_read(urouter, esub, 2, true) == 4);
        CHECK(evs_sub_contradiction(esub) &&
              strstr(evs_sub_contradiction(esub), "behind seq 3"));
    }
    evs_sub_destroy(&esub);
    zsock_destroy(&upub);
    zsock_destroy(&urouter);
    return failed ? 1 : 0;
#undef CHECK
}
