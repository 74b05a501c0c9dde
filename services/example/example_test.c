/* example_test.c: unit tests of the example core, event by event, and of the
 * service runtime with the example service running in-process (svc_testkit.h): requests,
 * batches, followers, the producers' endpoint, and the rights that come with each key. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "evs_bus.h"
#include "evs_keys.h"
#include "example.h"
#include "example.pb-c.h"
#include "example_test.h"
#include "svc_testcore.h"
#include "svc_testkit.h"

static void s_test_core(void)
{
    svc_tc_t *tc = svc_tc_new(&example_def);
    assert(tc);
    svc_tc_hold(tc, true);
    svc_tc_set_now(tc, 1000);
    void *state = svc_tc_state(tc);
    svc_out_t *out = svc_tc_out(tc);

    /* Increment: refusals, each naming its field, and nothing produced */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "Bad Name";
    inc.by = 0;
    inc.expected_version = -5;
    svc_tc_decide(tc, "Increment", "", "", &inc.base);
    CHECK(svc_out_failed(out) && svc_out_n_events(out) == 0);
    CHECK(svc_tc_has_error(out, "invalid", "counter"));
    CHECK(svc_tc_has_error(out, "invalid", "by"));
    CHECK(svc_tc_has_error(out, "invalid", "expectedVersion"));
    inc.counter = "";
    inc.by = 1001;
    inc.expected_version = 0;
    svc_tc_decide(tc, "Increment", "", "", &inc.base);
    CHECK(svc_tc_has_error(out, "invalid", "counter") && svc_tc_has_error(out, "invalid", "by"));

    /* Increment: one event with the new value, reply with value and version */
    inc.counter = "c-1";
    inc.by = 7;
    svc_tc_decide(tc, "Increment", "", "", &inc.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    CHECK(streq(svc_tc_type(out, 0), "CounterIncremented") &&
          streq(svc_tc_stream(out, 0), "counter-c-1"));
    Tp__Example__CounterIncremented *e =
        svc_tc_event(out, 0, &tp__example__counter_incremented__descriptor);
    CHECK(e && e->value == 7 && e->by == 7);
    svc_tc_free(e);
    svc_tc_commit(tc);
    inc.by = 5;
    svc_tc_decide(tc, "Increment", "", "", &inc.base);
    Tp__Example__CounterValue *cv = svc_tc_reply(out, &tp__example__counter_value__descriptor);
    CHECK(cv && cv->value == 12 && cv->version == 2);
    svc_tc_free(cv);
    svc_tc_commit(tc);

    /* GetCounter: found, and not_found for an unknown counter */
    Tp__Example__GetCounter q = TP__EXAMPLE__GET_COUNTER__INIT;
    q.counter = "nope";
    svc_tc_decide(tc, "GetCounter", "", "", &q.base);
    CHECK(svc_tc_has_error(out, "not_found", "counter"));
    q.counter = "c-1";
    svc_tc_decide(tc, "GetCounter", "", "", &q.base);
    cv = svc_tc_reply(out, &tp__example__counter_value__descriptor);
    CHECK(cv && cv->value == 12);
    svc_tc_free(cv);

    /* SetSecret: prepare refuses short secrets, hashes good ones; decide refuses unprepared */
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "c-1";
    ss.secret = strdup("short");
    CHECK(svc_tc_prepare(tc, "SetSecret", &ss.base) == -1 &&
          svc_tc_has_error(out, "invalid", "secret"));
    svc_tc_decide(tc, "SetSecret", "", "", &ss.base);
    CHECK(svc_tc_has_error(out, "internal", "secret") && svc_out_n_events(out) == 0);
    free(ss.secret);
    ss.secret = strdup("a long enough secret");
    CHECK(svc_tc_prepare(tc, "SetSecret", &ss.base) == 0);
    CHECK(strncmp(ss.secret, "$argon2id$", 10) == 0);
    svc_tc_decide(tc, "SetSecret", "", "", &ss.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    CHECK(streq(svc_tc_type(out, 0), "SecretSet"));
    svc_tc_commit(tc);
    free(ss.secret);

    /* tick: nothing below the threshold; once at it; never twice */
    svc_tc_set_now(tc, 5000);
    CHECK(svc_out_n_events(svc_tc_tick(tc)) == 1);
    svc_tc_commit(tc);
    svc_tc_set_now(tc, 6000);
    CHECK(svc_out_n_events(svc_tc_tick(tc)) == 0);
    inc.counter = "c-2";
    inc.by = 3;
    svc_tc_set_now(tc, 1000);
    svc_tc_decide(tc, "Increment", "", "", &inc.base);
    svc_tc_commit(tc);
    svc_tc_set_now(tc, 7000);
    CHECK(svc_out_n_events(svc_tc_tick(tc)) == 0);

    /* react: an upstream increment becomes UpstreamSeen (with the upstream's seq); other
     * types are ignored */
    Tp__Example__CounterIncremented up = TP__EXAMPLE__COUNTER_INCREMENTED__INIT;
    up.counter = "u";
    up.by = 2;
    up.value = 9;
    uint8_t ubuf[64];
    size_t ulen = tp__example__counter_incremented__pack(&up, ubuf);
    svc_event_t uev = {41, "counter-u", 3, "CounterIncremented", 0, ubuf, ulen};
    svc_out_reset(out);
    example_def.react(state, "alpha", &uev, out);
    CHECK(svc_out_n_events(out) == 1);
    Tp__Example__UpstreamSeen *us = svc_tc_event(out, 0, &tp__example__upstream_seen__descriptor);
    CHECK(us && us->upstream_seq == 41 && us->value == 9 && streq(us->upstream, "alpha"));
    svc_tc_free(us);
    CHECK(svc_tc_react_raw(tc, "alpha", "Ticked", NULL, 0) == 0 && !svc_out_failed(out));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    svc_tc_react_raw(tc, "alpha", "CounterIncremented", junk, sizeof junk);
    CHECK(svc_out_failed(out));

    char *sum = example_def.summary(state);
    CHECK(sum && strstr(sum, "\"counters\":2"));
    free(sum);
    svc_tc_destroy(&tc);
}

/* ---------------------------------------------------------------- runtime */

/* The instances the runtime tests start (the example core under three names); each has a
 * key in the kit, and alpha names its followers in the config. */
static const char *const s_instances[] = {"alpha", "beta", "gamma", NULL};

typedef struct {
    int64_t now;
} s_clock_t;

static int64_t s_test_clock(void *arg)
{
    return ((s_clock_t *) arg)->now;
}

/* One call to @p service as the operator (the key operator-test). */
static Tp__Reply *s_call(svc_tk_t *kit, const char *service, const char *request_id,
                         const char *command, const ProtobufCMessage *body)
{
    return svc_tk_call(kit, service, "operator", NULL, request_id, command, body, 10000);
}

/* Sends a "$batch" of @p n items with @p client; the outer reply and, when ok, each
 * item's reply (into @p items). */
static Tp__Reply *s_batch(evs_client_t *client, const evs_batch_item_t *its, size_t n,
                          Tp__Reply **items)
{
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = "batch";
    Tp__Reply *r = NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = NULL;
    evs_client_call_batch(client, &h, its, n, 10000, &r, items);
    return r;
}

/* "$batch": items decided in order, each seeing the ones before it, each with its own
 * reply and idempotency; what may not go in a batch is refused item by item; a retried
 * batch writes nothing. @p head: the log's head before. */
static void s_test_batch(svc_tk_t *kit, uint64_t head)
{
    evs_client_t *ca = svc_tk_client(kit, "alpha", "operator");
    Tp__Example__Increment a = TP__EXAMPLE__INCREMENT__INIT, b = a, zero = a;
    a.counter = b.counter = zero.counter = "bt";
    a.by = 2;
    b.by = 3;
    b.expected_version = 1; /* only true after the item before it */
    zero.by = 0;
    Tp__Example__GetCounter q = TP__EXAMPLE__GET_COUNTER__INIT;
    q.counter = "bt";
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "bt";
    ss.secret = "a secret that is long enough";
    const evs_batch_item_t its[] = {{"bt-1", "example.Increment", &a.base},
                                    {"bt-2", "example.Increment", &b.base},
                                    {"bt-3", "example.Increment", &zero.base},
                                    {"bt-4", "example.GetCounter", &q.base},
                                    {"bt-5", "$summary", NULL},
                                    {"bt-6", "example.SetSecret", &ss.base},
                                    {"", "example.Increment", &a.base},
                                    {"req-6", "example.Increment", &a.base},
                                    {"bt-9", SVC_BATCH, NULL},
                                    {"bt-10", "example.Nope", NULL}};
    enum { N = sizeof its / sizeof its[0] };
    for (int round = 0; round < 2; round++) {
        Tp__Reply *items[N];
        Tp__Reply *r = s_batch(ca, its, N, items);
        CHECK(r && r->ok && r->last_seq == (round ? 0 : head + 2));
        CHECK(items[0] && items[0]->ok && items[0]->last_seq == head + 1 &&
              items[0]->replayed == (round == 1) && streq(items[0]->request_id, "bt-1"));
        CHECK(items[1] && items[1]->ok && items[1]->last_seq == head + 2 &&
              items[1]->replayed == (round == 1));
        CHECK(items[2] && !items[2]->ok && streq(items[2]->errors[0]->field, "by"));
        for (int i = 3; i < 6; i++)
            CHECK(items[i] && !items[i]->ok && streq(items[i]->errors[0]->field, "command"));
        CHECK(items[6] && !items[6]->ok && streq(items[6]->errors[0]->field, "header.requestId"));
        /* answered long before the batch: its first reply again */
        CHECK(items[7] && items[7]->ok && items[7]->replayed && items[7]->last_seq == 2);
        CHECK(items[8] && !items[8]->ok && streq(items[8]->errors[0]->field, "command"));
        CHECK(items[9] && !items[9]->ok && streq(items[9]->errors[0]->code, "unknown_command"));
        for (int i = 0; i < N; i++)
            if (items[i])
                tp__reply__free_unpacked(items[i], NULL);
        if (r)
            tp__reply__free_unpacked(r, NULL);
        CHECK(svc_tk_head(kit, "alpha") == head + 2); /* the second round wrote nothing */
    }
    /* an empty batch and one that does not decode: refused whole, nothing written */
    Tp__Reply *none[1];
    Tp__Reply *r = s_batch(ca, its, 0, none);
    CHECK(r && !r->ok && streq(r->errors[0]->field, "body"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    uint8_t junk[] = {0x0a, 0xff};
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = "batch-junk";
    r = NULL;
    CHECK(evs_client_call_raw(ca, &h, SVC_BATCH, junk, sizeof junk, 5000, &r) == 0);
    CHECK(r && !r->ok && streq(r->errors[0]->field, "body"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(svc_tk_head(kit, "alpha") == head + 2);
}

static void s_test_runtime(void)
{
    svc_tk_t *kit = svc_tk_new("svc-test", s_instances);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    char path[512];
    zconfig_put(cfg, "alpha/followers", "beta"); /* only a follower reads and subscribes */
    zconfig_put(cfg, "beta/upstreams", "alpha");
    zconfig_put(cfg, "tick_ms", "20");
    zconfig_put(cfg, "workers", "2");
    s_clock_t clock = {1700000000000000};
    svc_args_t alpha_args = {&example_def, cfg, "alpha", s_test_clock, &clock};
    svc_args_t beta_args = {&example_def, cfg, "beta", s_test_clock, &clock};

    /* the mirror starts first: it must catch up from nothing and then follow live */
    zactor_t *beta = svc_tk_start(&beta_args);
    zactor_t *alpha = svc_tk_start(&alpha_args);
    CHECK(alpha && beta);
    evs_client_t *ca = svc_tk_client(kit, "alpha", "operator");
    CHECK(ca != NULL);
    if (!ca)
        goto done;

    /* a command, then the same request id again: same answer, marked replayed, one event */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "c";
    inc.by = 4;
    Tp__Reply *r1 = s_call(kit, "alpha", "req-1", "example.Increment", &inc.base);
    Tp__Reply *r2 = s_call(kit, "alpha", "req-1", "example.Increment", &inc.base);
    CHECK(r1 && r1->ok && r1->last_seq == 1 && !r1->replayed);
    CHECK(r2 && r2->ok && r2->last_seq == 1 && r2->replayed);
    CHECK(r1 && r2 && r1->body.len == r2->body.len &&
          memcmp(r1->body.data, r2->body.data, r1->body.len) == 0);
    if (r1)
        tp__reply__free_unpacked(r1, NULL);
    if (r2)
        tp__reply__free_unpacked(r2, NULL);

    /* refusals: field errors, unknown command, bad body, missing request id, conflict */
    inc.by = 0;
    Tp__Reply *r = s_call(kit, "alpha", "req-2", "example.Increment", &inc.base);
    CHECK(r && !r->ok && r->n_errors == 1 && streq(r->errors[0]->field, "by"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    r = s_call(kit, "alpha", "req-3", "example.Nope", NULL);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "unknown_command"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    uint8_t junk[] = {0x0a, 0xff};
    Tp__Reply *rj = NULL;
    Tp__RequestHeader hj = TP__REQUEST_HEADER__INIT;
    hj.request_id = "req-4";
    CHECK(evs_client_call_raw(ca, &hj, "example.Increment", junk, sizeof junk, 5000, &rj) == 0);
    CHECK(rj && !rj->ok && streq(rj->errors[0]->field, "body"));
    if (rj)
        tp__reply__free_unpacked(rj, NULL);
    inc.by = 1;
    inc.expected_version = 5;
    r = s_call(kit, "alpha", "req-5", "example.Increment", &inc.base);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "conflict"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    inc.expected_version = 1;
    r = s_call(kit, "alpha", "req-6", "example.Increment", &inc.base);
    CHECK(r && r->ok && r->last_seq == 2);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    inc.expected_version = 0;

    /* slow work: the secret is hashed on the worker pool; bad secrets refused there */
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "c";
    ss.secret = "too short";
    r = s_call(kit, "alpha", "req-7", "example.SetSecret", &ss.base);
    CHECK(r && !r->ok && streq(r->errors[0]->field, "secret"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    ss.secret = "a secret that is long enough";
    r = s_call(kit, "alpha", "req-8", "example.SetSecret", &ss.base);
    CHECK(r && r->ok && r->last_seq == 3);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    r = s_call(kit, "alpha", "req-8", "example.SetSecret", &ss.base);
    CHECK(r && r->ok && r->replayed && r->last_seq == 3);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* many clients' requests at once land in one group commit, in order */
    for (int i = 0; i < 200; i++) {
        inc.by = 1;
        char rid[32];
        snprintf(rid, sizeof rid, "bulk-%d", i);
        Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
        h.request_id = rid;
        uint8_t body[64];
        size_t blen = tp__example__increment__pack(&inc, body);
        Tp__Request req = TP__REQUEST__INIT;
        req.header = &h;
        req.command = "example.Increment";
        req.body.data = body;
        req.body.len = blen;
        uint8_t buf[256];
        size_t len = tp__request__pack(&req, buf);
        zmq_send(zsock_resolve(evs_client_sock(ca)), buf, len, 0);
    }
    int got = 0;
    uint64_t last = 0;
    bool ordered = true;
    while (got < 200) {
        zmsg_t *m = zmsg_recv(evs_client_sock(ca));
        if (!m)
            break;
        zframe_t *f = zmsg_first(m);
        Tp__Reply *br = tp__reply__unpack(NULL, zframe_size(f), zframe_data(f));
        if (br && br->ok) {
            ordered &= br->last_seq > last;
            last = br->last_seq;
            got++;
        }
        if (br)
            tp__reply__free_unpacked(br, NULL);
        zmsg_destroy(&m);
    }
    /* the timer may slip its Ticked event between two group commits: 203 or 204 */
    CHECK(got == 200 && ordered && (last == 203 || last == 204));

    /* the query sees it all */
    Tp__Example__GetCounter q = TP__EXAMPLE__GET_COUNTER__INIT;
    q.counter = "c";
    r = s_call(kit, "alpha", NULL, "example.GetCounter", &q.base);
    Tp__Example__CounterValue *cv =
        r && r->ok ? tp__example__counter_value__unpack(NULL, r->body.len, r->body.data) : NULL;
    CHECK(cv && cv->value == 205 && cv->has_secret);
    if (cv)
        tp__example__counter_value__free_unpacked(cv, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* the timer: the counter passed the threshold, so a Ticked event follows (once) */
    zclock_sleep(200);
    CHECK(svc_tk_head(kit, "alpha") == 204);

    /* the mirror followed every increment: 202 of them */
    char *sb = NULL;
    for (int i = 0; i < 100; i++) {
        free(sb);
        sb = svc_tk_summary(kit, "beta");
        if (sb && strstr(sb, "\"upstreamSeen\":202,"))
            break;
        zclock_sleep(50);
    }
    CHECK(sb && strstr(sb, "\"upstreamSeen\":202,"));
    if (svc_tc_verbose())
        printf("mirror: %s\n", sb ? sb : "(none)");

    /* restart both: state rebuilt from the logs equals the state before */
    /* one more event the mirror does not react to (SecretSet, seq 205) */
    ss.secret = "another secret, long enough";
    r = s_call(kit, "alpha", "req-9", "example.SetSecret", &ss.base);
    CHECK(r && r->ok && r->last_seq == 205);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    zclock_sleep(300); /* delivered live, but well within SVC_CHECKPOINT_DELAY_MS */
    char *sa = svc_tk_summary(kit, "alpha");
    zactor_destroy(&alpha);
    zactor_destroy(&beta);
    /* it got no commit of its own, yet a clean stop leaves the checkpoint past it (and
     * past alpha's signed head at its stop, seq 206, when that came in time) */
    snprintf(path, sizeof path, "%s/data/beta", svc_tk_dir(kit));
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *bs = NULL;
    uint64_t cp = 0;
    CHECK(evs_open(path, &ro, &bs) == 0 && evs_checkpoint(bs, "alpha", &cp) == 0 &&
          (cp == 205 || cp == 206));
    evs_destroy(&bs);
    alpha = svc_tk_start(&alpha_args);
    beta = svc_tk_start(&beta_args);
    CHECK(alpha && beta);
    char *sa2 = svc_tk_summary(kit, "alpha");
    char *sb2 = svc_tk_summary(kit, "beta");
    CHECK(sa && sa2 && streq(sa, sa2));
    CHECK(sb && sb2 && streq(sb, sb2));
    /* and an old request id is still answered from the log, writing nothing */
    r = s_call(kit, "alpha", "req-6", "example.Increment", &inc.base);
    CHECK(r && r->ok && r->replayed && r->last_seq == 2);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(svc_tk_head(kit, "alpha") == 206);   /* 205 and the head signed at the stop */

    s_test_batch(kit, 206);

    /* a deadline in the past is refused unread */
    Tp__RequestHeader late = TP__REQUEST_HEADER__INIT;
    late.request_id = "late-1";
    late.deadline_us = clock.now - 1;
    r = svc_tk_call_header(kit, "alpha", "operator", &late, "example.Increment", &inc.base, 5000);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "deadline"));
    if (r)
        tp__reply__free_unpacked(r, NULL);

    free(sa);
    free(sa2);
    free(sb);
    free(sb2);
done:
    zactor_destroy(&alpha);
    zactor_destroy(&beta);
    svc_tk_destroy(&kit);
}

/* The mirror @p service's "upstreamSeen" count, or -1. */
static long s_seen(svc_tk_t *kit, const char *service)
{
    char *s = svc_tk_summary(kit, service);
    const char *at = s ? strstr(s, "\"upstreamSeen\":") : NULL;
    long n = at ? atol(at + strlen("\"upstreamSeen\":")) : -1;
    free(s);
    return n;
}

/* react_delay_ms: live upstream events wait that long before the follower reacts (all
 * that came meanwhile in one run), and a clean stop reacts to what is waiting. The
 * upstream runs with `pipeline = 0` (each group committed on its loop). Its clients and
 * its follower connect to lists of endpoints (`routers`, `pubs`), one of them dead. */
static void s_test_react_delay(void)
{
    svc_tk_t *kit = svc_tk_new("svc-delay", s_instances);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    char path[512];
    zconfig_put(cfg, "alpha/followers", "gamma");
    zconfig_put(cfg, "gamma/upstreams", "alpha");
    zconfig_put(cfg, "gamma/react_delay_ms", "400");
    zconfig_put(cfg, "alpha/pipeline", "0"); /* and the unpipelined commit path */
    char one[512], list[1100], got[1100];
    for (int i = 0; i < 2; i++) {
        const char *kind = i ? "pub" : "router";
        svc_endpoint(cfg, "alpha", kind, one, sizeof one);
        snprintf(list, sizeof list, "ipc://%s/run/gone.%s, %s", svc_tk_dir(kit), kind, one);
        snprintf(path, sizeof path, "alpha/%ss", kind);
        zconfig_put(cfg, path, list);
        CHECK(svc_connect_endpoints(cfg, "alpha", kind, got, sizeof got) == 0 && streq(got, list));
        CHECK(svc_connect_endpoints(cfg, "alpha", kind, got, 20) == -1 && !*got);
        svc_endpoint(cfg, "gamma", kind, one, sizeof one);
        CHECK(svc_connect_endpoints(cfg, "gamma", kind, got, sizeof got) == 0 && streq(got, one));
    }
    svc_args_t alpha_args = {&example_def, cfg, "alpha", NULL, NULL};
    svc_args_t gamma_args = {&example_def, cfg, "gamma", NULL, NULL};
    zactor_t *alpha = svc_tk_start(&alpha_args), *gamma = svc_tk_start(&gamma_args);
    CHECK(alpha && gamma);
    zclock_sleep(300); /* gamma's subscription reaches alpha's publisher */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "d";
    inc.by = 1;
    char rid[32];
    int64_t t0 = zclock_mono();
    for (int i = 0; i < 20; i++) {
        snprintf(rid, sizeof rid, "d-%d", i);
        Tp__Reply *r = s_call(kit, "alpha", rid, "example.Increment", &inc.base);
        CHECK(r && r->ok);
        if (r)
            tp__reply__free_unpacked(r, NULL);
        /* published before it was answered, so gamma cannot react before t0 + 400 (asked
         * after each, so that a slow machine does not make this moot) */
        long early = zclock_mono() - t0 < 300 ? s_seen(kit, "gamma") : 0;
        CHECK(early == 0);
    }
    long seen = -1;
    while (zclock_mono() - t0 < 10000 && (seen = s_seen(kit, "gamma")) != 20)
        zclock_sleep(20);
    CHECK(seen == 20 && zclock_mono() - t0 >= 400);
    /* one more, then a clean stop at once: gamma reacts to it before it goes */
    Tp__Reply *r = s_call(kit, "alpha", "d-last", "example.Increment", &inc.base);
    CHECK(r && r->ok && r->last_seq == 21);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    zclock_sleep(50); /* it reaches gamma (and waits there) */
    svc_tk_forget(kit, "gamma");
    zactor_destroy(&gamma);
    snprintf(path, sizeof path, "%s/data/gamma", svc_tk_dir(kit));
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *gs = NULL;
    uint64_t cp = 0;
    CHECK(evs_open(path, &ro, &gs) == 0 && evs_checkpoint(gs, "alpha", &cp) == 0 && cp == 21);
    evs_destroy(&gs);
    zactor_destroy(&alpha);
    svc_tk_destroy(&kit);
}

/* WhoCalls to the producers' endpoint @p ep with the key @p stem, claiming @p role and
 * @p account in the header; the caller as the service saw it into @p role_out and
 * @p account_out ("" when refused), or false when nothing came back. */
static bool s_who_calls(svc_tk_t *kit, const char *ep, const char *stem, const char *role,
                        const char *account, char *role_out, char *account_out, size_t outsz)
{
    evs_client_t *c = evs_client_new_keyed(ep, svc_tk_keys(kit), stem, "alpha");
    CHECK(c != NULL);
    Tp__Example__WhoCalls who = TP__EXAMPLE__WHO_CALLS__INIT;
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.actor_role = (char *) role;
    hdr.actor_account = (char *) account;
    Tp__Reply *r = NULL;
    bool answered = c && evs_client_call(c, &hdr, "example.WhoCalls", &who.base, 10000, &r) == 0;
    Tp__Example__Caller *caller =
        r && r->ok ? tp__example__caller__unpack(NULL, r->body.len, r->body.data) : NULL;
    snprintf(role_out, outsz, "%s", caller ? caller->role : "");
    snprintf(account_out, outsz, "%s", caller ? caller->account : "");
    if (r && !r->ok && r->n_errors > 0)
        snprintf(role_out, outsz, "!%s", r->errors[0]->code); /* "!forbidden" */
    if (caller)
        tp__example__caller__free_unpacked(caller, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    evs_client_destroy(&c);
    return answered;
}

/* The producers' endpoint (`producer = ENDPOINT`): the same ROUTER bound a second time
 * (tcp here, as for lines on other hosts), with the same keys and rights. Whatever a
 * client claims in its header, it acts as its key says: a producer's key as
 * "producer:test", an operator's as "operator:test"; the gateway's key claiming to be a
 * producer is refused; an unknown key gets no answer. */
static void s_test_producer(void)
{
    svc_tk_t *kit = svc_tk_new("svc-curve", s_instances);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    int port = 20000 + (int) (getpid() % 20000);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    zconfig_put(cfg, "alpha/producer", ep);
    svc_args_t args = {&example_def, cfg, "alpha", NULL, NULL};
    zactor_t *alpha = svc_tk_start(&args);
    CHECK(alpha != NULL);
    char role[64], account[64];
    CHECK(s_who_calls(kit, ep, "producer-test", "operator", "root", role, account, sizeof role));
    CHECK(streq(role, "producer") && streq(account, "producer:test"));
    CHECK(s_who_calls(kit, ep, "operator-test", "producer", "line-1", role, account, sizeof role));
    CHECK(streq(role, "operator") && streq(account, "operator:test"));
    CHECK(s_who_calls(kit, ep, "gateway", "producer", "line-1", role, account, sizeof role));
    CHECK(streq(role, "!forbidden"));

    /* what a producer writes there names it, not what it claimed */
    evs_client_t *c = evs_client_new_keyed(ep, svc_tk_keys(kit), "producer-test", "alpha");
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "p";
    inc.by = 1;
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "p-1";
    hdr.actor_role = "operator"; /* claimed, not granted */
    hdr.actor_account = "root";
    Tp__Reply *r = NULL;
    CHECK(c && evs_client_call(c, &hdr, "example.Increment", &inc.base, 10000, &r) == 0);
    CHECK(r && r->ok && r->last_seq == 1);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    evs_client_destroy(&c);
    Tp__Envelope *env = svc_tk_event(kit, "alpha", 1);
    CHECK(env && streq(env->actor, "producer:test"));
    if (env)
        tp__envelope__free_unpacked(env, NULL);

    /* a key the service does not know: the handshake fails, nothing is answered */
    zcert_t *stranger = zcert_new();
    char alpha_pub[EVS_KEYS_Z85] = "";
    CHECK(evs_keys_public(svc_tk_keys(kit), "alpha", alpha_pub) == 0);
    evs_client_t *s = evs_client_new_cert(ep, stranger, alpha_pub);
    Tp__Example__WhoCalls who = TP__EXAMPLE__WHO_CALLS__INIT;
    r = NULL;
    CHECK(s && evs_client_call(s, &hdr, "example.WhoCalls", &who.base, 700, &r) == -1 && !r);
    evs_client_destroy(&s);
    zcert_destroy(&stranger);
    CHECK(svc_tk_head(kit, "alpha") == 1);
    zactor_destroy(&alpha);
    svc_tk_destroy(&kit);
}

/* ---------------------------------------------------------------- rights */

/* The example core with a table of rights of its own: "Adjust" (Increment by another
 * name) for operators only, SetSecret for operators, Increment and GetCounter for the
 * gateway, operators and producers, WhoCalls for every kind but services. So a key can
 * be refused a command that its kind may not send while another is allowed. */
static svc_command_t s_rights_commands[8];
static svc_def_t s_rights_def;

static void s_rights_table(void)
{
    size_t n = 0;
    for (size_t i = 0; i < example_def.n_commands && n + 2 <= 8; i++) {
        svc_command_t c = example_def.commands[i];
        c.who = SVC_GATEWAY | SVC_OPERATOR | SVC_PRODUCER;
        if (streq(c.name, "SetSecret"))
            c.who = SVC_OPERATOR;
        else if (streq(c.name, "WhoCalls"))
            c.who = SVC_GATEWAY | SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT;
        s_rights_commands[n++] = c;
        if (streq(c.name, "Increment")) {
            c.name = "Adjust";
            c.who = SVC_OPERATOR;
            s_rights_commands[n++] = c;
        }
    }
    s_rights_def = example_def;
    s_rights_def.commands = s_rights_commands;
    s_rights_def.n_commands = n;
}

/* alpha (the table above) over ipc in a fresh kit; with @p mirrors also beta, which
 * alpha names as its follower, and gamma, which follows alpha without being named. */
typedef struct {
    svc_tk_t *kit;
    svc_args_t args[3];
    zactor_t *actors[3]; /* alpha, beta, gamma */
    char router[600];    /* alpha's ROUTER */
} s_rig_t;

static bool s_rig_start(s_rig_t *rig, const char *name, bool mirrors)
{
    memset(rig, 0, sizeof *rig);
    s_rights_table();
    rig->kit = svc_tk_new(name, s_instances);
    CHECK(rig->kit != NULL);
    if (!rig->kit)
        return false;
    zconfig_t *cfg = svc_tk_config(rig->kit);
    zconfig_put(cfg, "alpha/followers", "beta");
    zconfig_put(cfg, "beta/upstreams", "alpha");
    zconfig_put(cfg, "gamma/upstreams", "alpha");
    zconfig_put(cfg, "tick_ms", "20");
    svc_endpoint(cfg, "alpha", "router", rig->router, sizeof rig->router);
    rig->args[0] = (svc_args_t){&s_rights_def, cfg, "alpha", NULL, NULL};
    rig->args[1] = (svc_args_t){&example_def, cfg, "beta", NULL, NULL};
    rig->args[2] = (svc_args_t){&example_def, cfg, "gamma", NULL, NULL};
    for (int i = 0; i < (mirrors ? 3 : 1); i++) {
        rig->actors[i] = svc_tk_start(&rig->args[i]);
        CHECK(rig->actors[i] != NULL);
        if (!rig->actors[i])
            return false;
    }
    return true;
}

static void s_rig_stop(s_rig_t *rig)
{
    for (int i = 2; i >= 0; i--)
        zactor_destroy(&rig->actors[i]);
    svc_tk_destroy(&rig->kit);
}

/* Increment (or @p command, with the same body) counter @p counter by one, as @p role
 * (the role's key, svc_tk_stem) with @p account. */
static Tp__Reply *s_inc(svc_tk_t *kit, const char *role, const char *account,
                        const char *request_id, const char *command, const char *counter)
{
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = (char *) counter;
    inc.by = 1;
    return svc_tk_call(kit, "alpha", role, account, request_id, command, &inc.base, 10000);
}

/* True for a reply refused "forbidden" (and frees it). */
static bool s_forbidden(Tp__Reply *r)
{
    bool yes = r && !r->ok && r->n_errors >= 1 && streq(r->errors[0]->code, "forbidden") &&
               r->last_seq == 0;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return yes;
}

/* True for a reply that is ok (and frees it); its last_seq into @p seq when not NULL. */
static bool s_ok(Tp__Reply *r, uint64_t *seq)
{
    bool yes = r && r->ok;
    if (seq)
        *seq = r ? r->last_seq : 0;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return yes;
}

/* A key that is not in the keys folder, or was revoked, gets no answer, not even an
 * error, and writes nothing: no key at all (a plain DEALER), an unknown CURVE key, a key
 * revoked while its client stays connected. */
static void s_test_rights_unknown(void)
{
    s_rig_t rig;
    if (!s_rig_start(&rig, "svc-rights-unknown", false)) {
        s_rig_stop(&rig);
        return;
    }
    svc_tk_t *kit = rig.kit;
    const char *keys = svc_tk_keys(kit);
    uint64_t seq = 0;
    CHECK(s_ok(s_inc(kit, "operator", NULL, "u-1", "example.Increment", "u"), &seq) && seq == 1);
    uint64_t head = svc_tk_head(kit, "alpha");
    CHECK(head == 1);

    /* no key: a plain DEALER gets no handshake, its request no answer */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "u";
    inc.by = 1;
    uint8_t body[64], buf[256];
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "u-plain";
    hdr.actor_role = "operator";
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &hdr;
    req.command = "example.Increment";
    req.body.data = body;
    req.body.len = tp__example__increment__pack(&inc, body);
    size_t len = tp__request__pack(&req, buf);
    zsock_t *plain = zsock_new(ZMQ_DEALER);
    zsock_set_linger(plain, 0);
    CHECK(plain && zsock_connect(plain, "%s", rig.router) == 0);
    zmq_send(zsock_resolve(plain), buf, len, ZMQ_DONTWAIT);
    zpoller_t *poller = zpoller_new(plain, NULL);
    CHECK(zpoller_wait(poller, 1000) == NULL);
    zpoller_destroy(&poller);
    zsock_destroy(&plain);
    CHECK(svc_tk_head(kit, "alpha") == head);

    /* an unknown key: refused at the handshake, not even "$status" answered */
    char alpha_pub[EVS_KEYS_Z85] = "";
    CHECK(evs_keys_public(keys, "alpha", alpha_pub) == 0);
    zcert_t *stranger = zcert_new();
    evs_client_t *sc = evs_client_new_cert(rig.router, stranger, alpha_pub);
    CHECK(sc != NULL);
    Tp__Reply *r = NULL;
    hdr.request_id = "u-stranger";
    CHECK(sc && evs_client_call(sc, &hdr, "example.Increment", &inc.base, 1000, &r) == -1 && !r);
    hdr.request_id = "";
    CHECK(sc && evs_client_call(sc, &hdr, "$status", NULL, 500, &r) == -1 && !r);
    evs_client_destroy(&sc);
    zcert_destroy(&stranger);
    CHECK(svc_tk_head(kit, "alpha") == head);

    /* a key revoked while connected: answered before; after the runtime's next look at
     * the keys folder (every heartbeat, 1 s) its requests are dropped on the open
     * connection, and a new connection is refused */
    CHECK(svc_tk_key(kit, "operator-eve") == 0);
    evs_client_t *eve = evs_client_new_keyed(rig.router, keys, "operator-eve", "alpha");
    CHECK(eve != NULL);
    hdr.request_id = "u-eve-1";
    r = NULL;
    CHECK(eve && evs_client_call(eve, &hdr, "example.Increment", &inc.base, 10000, &r) == 0);
    CHECK(s_ok(r, &seq) && seq == head + 1);
    head++;
    /* the keyring sees a change by the folder's mtime, which the filesystem keeps in
     * coarse ticks: a change in the very tick of its last look would go unseen
     * (evs_keyring_refresh), and eve's handshake made it look a moment ago */
    zclock_sleep(50);
    CHECK(evs_keys_revoke(keys, "operator-eve") == 0);
    zclock_sleep(1500);
    hdr.request_id = "u-eve-2";
    r = NULL;
    CHECK(eve && evs_client_call(eve, &hdr, "example.Increment", &inc.base, 1500, &r) == -1 && !r);
    hdr.request_id = "";
    CHECK(eve && evs_client_call(eve, &hdr, "$status", NULL, 500, &r) == -1 && !r);
    evs_client_destroy(&eve);
    CHECK(svc_tk_head(kit, "alpha") == head);
    s_rig_stop(&rig);
}

/* What a key may send is its kind's, never what the header claims: the gateway's key
 * claiming to be an operator, a producer or an ident feed is refused "forbidden", so are
 * the gateway's "$read", "$summary" and "$batch"; a producer's key is refused a command
 * for operators only, "$read" and "$summary"; an ident feed's key a command not for it; in
 * a "$batch" each item is checked and refused on its own. Each refusal writes nothing. */
static void s_test_rights_forbidden(void)
{
    s_rig_t rig;
    if (!s_rig_start(&rig, "svc-rights-forbidden", false)) {
        s_rig_stop(&rig);
        return;
    }
    svc_tk_t *kit = rig.kit;
    uint64_t seq = 0, head = svc_tk_head(kit, "alpha");
    CHECK(head == 0);
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "f";
    inc.by = 1;
    Tp__ReadEventsRequest rr = TP__READ_EVENTS_REQUEST__INIT;
    rr.from_seq = 1;

    /* the gateway's key, claiming what it is not */
    const char *claims[][2] = {{"operator", ""},  {"operator", "root"}, {"producer", "line-1"},
                               {"ident", "feed"}, {"service", "beta"},  {"customer", ""},
                               {"officer", ""},   {"", "acc-1"}};
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
        char rid[32];
        snprintf(rid, sizeof rid, "g-%zu", i);
        hdr.request_id = rid;
        hdr.actor_role = (char *) claims[i][0];
        hdr.actor_account = (char *) claims[i][1];
        CHECK(s_forbidden(
            svc_tk_call_header(kit, "alpha", "", &hdr, "example.Increment", &inc.base, 10000)));
        CHECK(s_forbidden(
            svc_tk_call_header(kit, "alpha", "", &hdr, "example.Adjust", &inc.base, 10000)));
    }
    CHECK(s_forbidden(
        svc_tk_call(kit, "alpha", "customer", "acc-1", NULL, EVS_BUS_READ, &rr.base, 10000)));
    CHECK(
        s_forbidden(svc_tk_call(kit, "alpha", "customer", "acc-1", NULL, "$summary", NULL, 10000)));
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "", NULL, NULL, EVS_BUS_READ, &rr.base, 10000)));
    /* the keys of the data subjects go to follower services only: never the gateway, a
     * producer or an operator (svc_seal.h) */
    char *subjects[] = {"account:acc-1"};
    Tp__KeysRequest kq = TP__KEYS_REQUEST__INIT;
    kq.subjects = subjects;
    kq.n_subjects = 1;
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "customer", "acc-1", NULL, "$keys", &kq.base,
                                  10000)));
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "", NULL, NULL, "$keys", &kq.base, 10000)));
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "producer", NULL, NULL, "$keys", &kq.base, 10000)));
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "operator", NULL, NULL, "$keys", &kq.base, 10000)));
    CHECK(s_forbidden(s_inc(kit, "customer", "acc-1", "g-adjust", "example.Adjust", "f")));
    CHECK(svc_tk_head(kit, "alpha") == head);
    /* what it may: a visitor, a customer, "$status" */
    CHECK(s_ok(s_inc(kit, "", NULL, "g-visitor", "example.Increment", "f"), &seq) &&
          seq == head + 1);
    CHECK(s_ok(s_inc(kit, "customer", "acc-1", "g-customer", "example.Increment", "f"), &seq) &&
          seq == head + 2);
    CHECK(s_ok(svc_tk_call(kit, "alpha", "", NULL, NULL, "$status", NULL, 10000), NULL));
    head += 2;

    /* a producer's key: its commands yes, the operators' no, nor reading the log */
    CHECK(s_forbidden(s_inc(kit, "producer", NULL, "p-adjust", "example.Adjust", "f")));
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "f";
    ss.secret = "a secret that is long enough";
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "producer", NULL, "p-secret", "example.SetSecret",
                                  &ss.base, 10000)));
    CHECK(s_forbidden(
        svc_tk_call(kit, "alpha", "producer", NULL, NULL, EVS_BUS_READ, &rr.base, 10000)));
    CHECK(s_forbidden(svc_tk_call(kit, "alpha", "producer", NULL, NULL, "$summary", NULL, 10000)));
    /* an ident feed's key: WhoCalls is for it, Increment not */
    CHECK(s_forbidden(s_inc(kit, "ident", NULL, "i-inc", "example.Increment", "f")));
    CHECK(svc_tk_head(kit, "alpha") == head);
    CHECK(s_ok(s_inc(kit, "producer", NULL, "p-inc", "example.Increment", "f"), &seq) &&
          seq == head + 1);
    head++;
    /* the same request ids from an operator's key: not refused because a producer was */
    CHECK(s_ok(s_inc(kit, "operator", NULL, "p-adjust", "example.Adjust", "f"), &seq) &&
          seq == head + 1);
    head++;

    /* "$batch": each item against the key's rights */
    const evs_batch_item_t its[] = {{"b-1", "example.Increment", &inc.base},
                                    {"b-2", "example.Adjust", &inc.base},
                                    {"b-3", "example.Increment", &inc.base}};
    Tp__Reply *items[3];
    Tp__Reply *r = s_batch(svc_tk_client(kit, "alpha", "producer"), its, 3, items);
    CHECK(r && r->ok && r->last_seq == head + 2);
    CHECK(items[0] && items[0]->ok && items[0]->last_seq == head + 1);
    CHECK(items[1] && !items[1]->ok && streq(items[1]->errors[0]->code, "forbidden"));
    CHECK(items[2] && items[2]->ok && items[2]->last_seq == head + 2);
    for (int i = 0; i < 3; i++)
        if (items[i])
            tp__reply__free_unpacked(items[i], NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    head += 2;
    CHECK(svc_tk_head(kit, "alpha") == head);
    /* an ident feed may send batches, but not of this */
    const evs_batch_item_t one[] = {{"b-4", "example.Increment", &inc.base}};
    r = s_batch(svc_tk_client(kit, "alpha", "ident"), one, 1, items);
    CHECK(r && r->ok && r->last_seq == 0);
    CHECK(items[0] && !items[0]->ok && streq(items[0]->errors[0]->code, "forbidden"));
    if (items[0])
        tp__reply__free_unpacked(items[0], NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* the gateway sends no batches at all */
    r = s_batch(svc_tk_client(kit, "alpha", "customer"), one, 1, items);
    CHECK(s_forbidden(r));
    CHECK(svc_tk_head(kit, "alpha") == head);
    s_rig_stop(&rig);
}

/* True when @p r is no answer (the handshake refused) or "forbidden" (and frees it). */
static bool s_refused(Tp__Reply *r)
{
    return !r || s_forbidden(r);
}

/* True when a SUB socket with the key @p stem hears alpha's PUB socket (a heartbeat
 * comes every second) within 2.5 s. */
static bool s_hears_alpha(svc_tk_t *kit, const char *stem)
{
    char alpha_pub[EVS_KEYS_Z85] = "", ep[600];
    CHECK(evs_keys_public(svc_tk_keys(kit), "alpha", alpha_pub) == 0);
    zcert_t *cert = evs_keys_load_secret(svc_tk_keys(kit), stem);
    CHECK(cert != NULL);
    if (!cert)
        return false;
    svc_endpoint(svc_tk_config(kit), "alpha", "pub", ep, sizeof ep);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    zsock_set_linger(sub, 0);
    evs_keys_client(sub, cert, alpha_pub);
    zsock_set_subscribe(sub, "alpha.");
    CHECK(zsock_connect(sub, "%s", ep) == 0);
    zpoller_t *poller = zpoller_new(sub, NULL);
    bool heard = zpoller_wait(poller, 2500) == sub;
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    zcert_destroy(&cert);
    return heard;
}

/* Only the services an upstream names as followers read its log ("$read") and get its
 * events: beta is named and mirrors alpha; gamma is not, so its own key can neither send
 * alpha a command nor read nor subscribe, and its mirror stays empty. */
static void s_test_rights_followers(void)
{
    s_rig_t rig;
    if (!s_rig_start(&rig, "svc-rights-followers", true)) {
        s_rig_stop(&rig);
        return;
    }
    svc_tk_t *kit = rig.kit;
    uint64_t seq = 0;
    CHECK(s_ok(s_inc(kit, "operator", NULL, "f-1", "example.Increment", "m"), &seq) && seq == 1);
    CHECK(s_ok(s_inc(kit, "operator", NULL, "f-2", "example.Increment", "m"), &seq) && seq == 2);
    long seen = -1;
    for (int i = 0; i < 200 && (seen = s_seen(kit, "beta")) != 2; i++)
        zclock_sleep(50);
    CHECK(seen == 2);

    /* beta reads with its own key */
    Tp__ReadEventsRequest rr = TP__READ_EVENTS_REQUEST__INIT;
    rr.from_seq = 1;
    Tp__Reply *r =
        svc_tk_call(kit, "alpha", "service:beta", NULL, NULL, EVS_BUS_READ, &rr.base, 10000);
    Tp__ReadEventsReply *rep =
        r && r->ok ? tp__read_events_reply__unpack(NULL, r->body.len, r->body.data) : NULL;
    CHECK(rep && rep->n_events == 2 && rep->head_seq == 2);
    if (rep)
        tp__read_events_reply__free_unpacked(rep, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* but sends no commands, follower or not */
    CHECK(s_forbidden(s_inc(kit, "service:beta", NULL, "f-beta", "example.Increment", "m")));

    /* gamma: not a follower. Its key is known, so whether the handshake is refused (no
     * answer) or each request ("forbidden") is the runtime's choice; either way nothing
     * is read and nothing written */
    CHECK(s_refused(
        svc_tk_call(kit, "alpha", "service:gamma", NULL, NULL, EVS_BUS_READ, &rr.base, 1500)));
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "m";
    inc.by = 1;
    CHECK(s_refused(svc_tk_call(kit, "alpha", "service:gamma", NULL, "f-gamma", "example.Increment",
                                &inc.base, 1500)));
    CHECK(
        s_refused(svc_tk_call(kit, "alpha", "service:gamma", NULL, NULL, "$summary", NULL, 1500)));
    CHECK(svc_tk_head(kit, "alpha") == 2);
    /* and its subscription got nothing, live or read: alpha's PUB socket admits
     * followers only */
    CHECK(s_seen(kit, "gamma") == 0);
    CHECK(s_hears_alpha(kit, "beta"));
    CHECK(!s_hears_alpha(kit, "gamma"));
    s_rig_stop(&rig);
}

/* Every event names who caused it (tp.Envelope.actor), from the key and the session the
 * gateway names, never from a role the key does not hold; what the service does by
 * itself (a timer) names nobody. */
static void s_test_rights_actor(void)
{
    s_rig_t rig;
    if (!s_rig_start(&rig, "svc-rights-actor", false)) {
        s_rig_stop(&rig);
        return;
    }
    svc_tk_t *kit = rig.kit;
    const struct {
        const char *role, *account, *actor;
    } cases[] = {{"operator", NULL, "operator:test"},     {"operator", "root", "operator:test"},
                 {"producer", "line-9", "producer:test"}, {"customer", "acc-1", "customer:acc-1"},
                 {"officer", "acc-2", "officer:acc-2"},   {"", NULL, "visitor"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "a-%zu", i);
        uint64_t seq = 0;
        CHECK(s_ok(s_inc(kit, cases[i].role, cases[i].account, rid, "example.Increment", "a"),
                   &seq) &&
              seq == i + 1);
        Tp__Envelope *env = seq ? svc_tk_event(kit, "alpha", seq) : NULL;
        CHECK(env && streq(env->event_type, "CounterIncremented") &&
              streq(env->actor, cases[i].actor));
        if (svc_tc_verbose() && env)
            printf("actor of seq %" PRIu64 ": %s\n", seq, env->actor);
        if (env)
            tp__envelope__free_unpacked(env, NULL);
    }
    /* an operator's key claiming to be a customer is still the operator */
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "a-claim";
    hdr.actor_role = "customer";
    hdr.actor_account = "acc-9";
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "a";
    inc.by = 1;
    uint64_t seq = 0;
    CHECK(s_ok(svc_tk_call_header(kit, "alpha", "operator", &hdr, "example.Increment", &inc.base,
                                  10000),
               &seq) &&
          seq == 7);
    Tp__Envelope *env = svc_tk_event(kit, "alpha", 7);
    CHECK(env && streq(env->actor, "operator:test"));
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    /* counter "a" is at 7: three more and the timer marks it, for nobody */
    inc.by = 3;
    hdr.request_id = "a-tick";
    hdr.actor_role = hdr.actor_account = "";
    CHECK(s_ok(svc_tk_call_header(kit, "alpha", "operator", &hdr, "example.Increment", &inc.base,
                                  10000),
               &seq) &&
          seq == 8);
    for (int i = 0; i < 200 && svc_tk_head(kit, "alpha") < 9; i++)
        zclock_sleep(20);
    env = svc_tk_event(kit, "alpha", 9);
    CHECK(env && streq(env->event_type, "Ticked") && streq(env->actor, ""));
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    s_rig_stop(&rig);
}

static const svc_tc_test_t s_tests[] = {
    {"core", s_test_core, NULL},
    {"runtime", s_test_runtime, NULL},
    {"slow", example_test_slow, NULL},
    {"producer", s_test_producer, NULL},
    {"react_delay", s_test_react_delay, NULL},
    {"rights_unknown", s_test_rights_unknown, NULL},
    {"rights_forbidden", s_test_rights_forbidden, NULL},
    {"rights_followers", s_test_rights_followers, NULL},
    {"rights_actor", s_test_rights_actor, NULL},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv, &(svc_tc_suite_t){"example_test", s_tests});
}
