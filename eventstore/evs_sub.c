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
/* How long evs_sub_new waits for a connection to one of several routers (ms), so that the
 * first read goes out at once (else at the first upkeep). */
#define S_CONNECT_WAIT_MS 100

static uint64_t s_be64(const void *in)
{
    uint64_t v;
    memcpy(&v, in, sizeof v);
    return be64toh(v);
}

struct _evs_sub_t {
    char *upstream;          /* upstream service name */
    zsock_t *live;           /* SUB to the upstream's PUB */
    zsock_t *reader;         /* DEALER to the upstream's ROUTER(s), for reads */
    bool several;            /* several routers (instances): a read answered by one behind
                                the checkpoint is a standby's, no contradiction */
    bool behind_said;        /* such an answer was logged (until one is not behind) */
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
    self->read_from = rr.from_seq;
    self->read_sent = zclock_mono();
    /* not sent (with several routers: none connected, ZMQ_IMMEDIATE): nothing is in
     * flight, and the next upkeep asks again (s_sub_want_more) */
    self->read_pending = zmq_send(zsock_resolve(self->reader), buf, len, ZMQ_DONTWAIT) >= 0;
    self->stats.reads += self->read_pending;
    return self->read_pending ? 0 : -1;
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
    if (evs_bus_connect(self->live, pub_endpoint) < 0)
        goto fail;
    /* with several instances, reads only to those that are up (a read lost at a stopped
     * one is sent again after read_timeout_ms, in turn to the next) */
    const char *at = router_endpoint;
    char ep[512];
    self->several =
        evs_bus_endpoint_next(&at, ep, sizeof ep) && evs_bus_endpoint_next(&at, ep, sizeof ep);
    if (self->several)
        zsock_set_immediate(self->reader, 1);
    if (evs_bus_connect(self->reader, router_endpoint) < 0)
        goto fail;
    if (self->several) {
        /* the first read at once: a connection to one instance takes a few ms */
        zmq_pollitem_t out = {zsock_resolve(self->reader), 0, ZMQ_POLLOUT, 0};
        zmq_poll(&out, 1, S_CONNECT_WAIT_MS);
    }
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

/* Asks for what is missing (or whether the head is behind, or anything at all while no
 * read was answered), unless a read is already on its way or the upstream is not followed
 * any more. */
static void s_sub_want_more(evs_sub_t *self)
{
    if (!self->read_pending && !*self->contradiction &&
        (self->known_head > self->checkpoint || self->probe || !self->answered))
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
        /* asked again at the next upkeep or live message; a standby that refuses reads
         * is no news */
        if (!evs_bus_not_active(reply))
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
    self->answered = true;
    if (rr->head_seq < self->checkpoint && self->several) {
        /* an instance whose copy is behind the active one's: the probe stands, and the
         * read is asked again later, in turn of another instance */
        if (!self->behind_said)
            zsys_info("subscriber %s: an instance answered with head %" PRIu64
                      ", behind the checkpoint %" PRIu64 "; asking again later",
                      self->upstream, rr->head_seq, self->checkpoint);
        self->behind_said = true;
    }
    else {
        self->probe = false;
        self->behind_said = false;
    }
    if (rr->head_seq < self->checkpoint && !self->several)
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
    /* more at once after a run; after an answer with nothing new (an instance behind the
     * others, say) at the next upkeep or live message, so that two such instances do not
     * keep each other busy */
    if (rc == 0 && n > 0)
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
