/* evs_sub_test.c: the catch-up subscriber's self-test (evs_bus.h: evs_sub_t): runs in
 * order and across gaps, the upstream contradicting what was taken, and an upstream run
 * as several instances (reads in turn, a standby behind the active, none up at first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_check.h"
#include "evs_keys.h"

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

static size_t s_test_env(uint64_t q, uint8_t *out);

/* Takes the read request waiting at @p router; answers it (head @p head) when @p answer,
 * with the records from its from_seq up to @p upto (none when upto is below it), and lets
 * the subscriber take the answer. Returns its from_seq, or 0. */
static uint64_t s_test_read_upto(zsock_t *router, evs_sub_t *sub, uint64_t head, bool answer,
                                 uint64_t upto)
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
        static uint8_t env[8][128];
        ProtobufCBinaryData evs[8];
        Tp__ReadEventsReply out = TP__READ_EVENTS_REPLY__INIT;
        out.head_seq = head;
        for (uint64_t q = from; q <= upto && out.n_events < 8; q++, out.n_events++)
            evs[out.n_events] = (ProtobufCBinaryData) {s_test_env(q, env[out.n_events]),
                                                       env[out.n_events]};
        out.events = evs;
        uint8_t ob[8 * 140 + 16], rb[8 * 140 + 128];
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

/* The read request waiting at @p router, answered with no events when @p answer. */
static uint64_t s_test_read(zsock_t *router, evs_sub_t *sub, uint64_t head, bool answer)
{
    return s_test_read_upto(router, sub, head, answer, 0);
}

/* Whether a request arrives at @p a or @p b within @p ms (it stays there). */
static bool s_test_asked(zsock_t *a, zsock_t *b, int ms)
{
    zmq_pollitem_t in[2] = {{zsock_resolve(a), 0, ZMQ_POLLIN, 0},
                            {zsock_resolve(b), 0, ZMQ_POLLIN, 0}};
    return zmq_poll(in, 2, ms) > 0;
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

    /* two instances: reads go to both in turn; the one behind (a standby) answers with a
     * head behind the checkpoint, or with fewer records than exist: no contradiction, what
     * it gave is taken, the rest asked again later, and the other gives it */
    zsock_t *ra = zsock_new_router("inproc://evs-sub-test-ra");
    zsock_t *rb = zsock_new_router("inproc://evs-sub-test-rb");
    zsock_t *pb = zsock_new_pub("inproc://evs-sub-test-pb");
    esub = ra && rb && pb ? evs_sub_new("svc", "inproc://evs-sub-test-pa,inproc://evs-sub-test-pb",
                                        "inproc://evs-sub-test-ra, inproc://evs-sub-test-rb", 3,
                                        &o)
                          : NULL;
    CHECK(esub);
    if (esub) {
        CHECK(s_test_read(ra, esub, 2, true) == 4);   /* behind the checkpoint */
        CHECK(!evs_sub_contradiction(esub) && evs_sub_checkpoint(esub) == 3);
        CHECK(!s_test_asked(ra, rb, 100));             /* not asked again at once */
        zclock_sleep(50);                              /* the subscription arrives */
        s_test_heartbeat(pb, esub, 5);                 /* the active's head: 5 */
        CHECK(s_test_read_upto(rb, esub, 4, true, 4) == 4);   /* it has 4 only */
        CHECK(!evs_sub_contradiction(esub) && evs_sub_checkpoint(esub) == 4);
        CHECK(s_test_read(ra, esub, 3, true) == 5);    /* a run: the next at once */
        CHECK(!evs_sub_contradiction(esub) && !s_test_asked(ra, rb, 100));
        evs_sub_upkeep(esub);                          /* later */
        CHECK(s_test_read_upto(rb, esub, 5, true, 5) == 5);
        CHECK(!evs_sub_contradiction(esub) && evs_sub_checkpoint(esub) == 5 &&
              evs_sub_caught_up(esub));
    }
    evs_sub_destroy(&esub);
    zsock_destroy(&ra);
    zsock_destroy(&rb);
    zsock_destroy(&pb);

    /* two instances over ipc:// (CURVE), neither up when the subscriber starts: nothing is
     * in flight, live events are taken meanwhile, and the first read goes out at the first
     * upkeep after one came up */
    char dir[] = "/tmp/evs-sub-test-XXXXXX", ep[3][96];
    zcert_t *svc_cert = NULL;
    if (mkdtemp(dir) && evs_keys_create(dir, "svc") == 1 && evs_keys_create(dir, "beta") == 1)
        svc_cert = evs_keys_load_secret(dir, "svc");
    CHECK(svc_cert);
    for (int i = 0; i < 3; i++)
        snprintf(ep[i], sizeof ep[i], "ipc://%s/%s", dir, i == 0 ? "pub" : i == 1 ? "c" : "d");
    pb = zsock_new(ZMQ_PUB);
    ra = zsock_new(ZMQ_ROUTER);
    for (int i = 0; svc_cert && i < 2; i++) {
        zsock_t *server = i ? ra : pb;
        zcert_apply(svc_cert, server);
        zsock_set_curve_server(server, 1);
    }
    char routers[200];
    snprintf(routers, sizeof routers, "%s,%s", ep[1], ep[2]);
    evs_sub_opts_t ko = {.keys_dir = dir, .me = "beta", .checkpoint_hash = h3};
    esub = svc_cert && zsock_bind(pb, "%s", ep[0]) >= 0 ? evs_sub_new("svc", ep[0], routers, 3, &ko)
                                                        : NULL;
    CHECK(esub);
    if (esub) {
        zclock_sleep(100);   /* the subscription arrives */
        s_seen_t seen;
        CHECK(s_test_run(pb, esub, 4, 5, &seen) == 0 && seen.n == 2 &&
              evs_sub_checkpoint(esub) == 5 && !evs_sub_caught_up(esub));
        CHECK(zsock_bind(ra, "%s", ep[1]) >= 0);
        CHECK(!s_test_asked(ra, ra, 300));   /* none was waiting to go */
        evs_sub_upkeep(esub);
        CHECK(s_test_read(ra, esub, 5, true) == 6 && evs_sub_caught_up(esub));
    }
    evs_sub_destroy(&esub);
    zsock_destroy(&ra);
    zsock_destroy(&pb);
    zcert_destroy(&svc_cert);
    evs_check_rmtree(dir);
    return failed ? 1 : 0;
#undef CHECK
}
