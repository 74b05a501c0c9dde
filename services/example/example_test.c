/* example_test.c: unit tests of the example core, event by event, and of the
 * service runtime with the example service running in-process (two actors). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "evs_bus.h"
#include "example.h"
#include "example.pb-c.h"

static int s_failed = 0;
static bool s_verbose = false;
#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "example_test: %s:%d: check failed: %s\n", __FILE__, \
                    __LINE__, #c);                                                 \
            s_failed++;                                                            \
        }                                                                          \
    } while (0)

/* Applies every event in @p out to @p state, as the runtime would after a commit. */
static void s_apply_out(void *state, svc_out_t *out, uint64_t *seq)
{
    for (size_t i = 0; i < svc_out_n_events(out); i++) {
        const char *type, *stream;
        const uint8_t *payload;
        size_t len;
        svc_out_event_at(out, i, &type, &stream, &payload, &len);
        svc_event_t ev = {++*seq, stream, 1, type, 0, payload, len};
        example_def.apply(state, &ev);
    }
}

static const svc_command_t *s_cmd(const char *name)
{
    for (size_t i = 0; i < example_def.n_commands; i++)
        if (streq(example_def.commands[i].name, name))
            return &example_def.commands[i];
    return NULL;
}

static bool s_has_error(svc_out_t *out, const char *code, const char *field)
{
    for (size_t i = 0; i < svc_out_n_errors(out); i++) {
        const char *c, *f;
        svc_out_error_at(out, i, &c, &f, NULL);
        if (streq(c, code) && streq(f, field))
            return true;
    }
    return false;
}

static void s_test_core(void)
{
    void *state = example_def.state_new();
    svc_out_t *out = svc_out_new();
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    uint8_t secret[SVC_SECRET_SIZE] = {1}, rnd[SVC_SECRET_SIZE] = {2};
    svc_ctx_t ctx = {&hdr, 1000, secret, rnd};
    uint64_t seq = 0;

    /* Increment: refusals, each naming its field, and nothing produced */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "Bad Name";
    inc.by = 0;
    inc.expected_version = -5;
    s_cmd("Increment")->decide(state, &ctx, &inc.base, out);
    CHECK(svc_out_failed(out) && svc_out_n_events(out) == 0);
    CHECK(s_has_error(out, "invalid", "counter"));
    CHECK(s_has_error(out, "invalid", "by"));
    CHECK(s_has_error(out, "invalid", "expectedVersion"));
    svc_out_reset(out);
    inc.counter = "";
    inc.by = 1001;
    inc.expected_version = 0;
    s_cmd("Increment")->decide(state, &ctx, &inc.base, out);
    CHECK(s_has_error(out, "invalid", "counter") && s_has_error(out, "invalid", "by"));
    svc_out_reset(out);

    /* Increment: one event with the new value, reply with value and version */
    inc.counter = "c-1";
    inc.by = 7;
    s_cmd("Increment")->decide(state, &ctx, &inc.base, out);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    const char *type, *stream;
    const uint8_t *payload;
    size_t len;
    svc_out_event_at(out, 0, &type, &stream, &payload, &len);
    CHECK(streq(type, "CounterIncremented") && streq(stream, "counter-c-1"));
    Tp__Example__CounterIncremented *e =
        tp__example__counter_incremented__unpack(NULL, len, payload);
    CHECK(e && e->value == 7 && e->by == 7);
    tp__example__counter_incremented__free_unpacked(e, NULL);
    s_apply_out(state, out, &seq);
    svc_out_reset(out);
    inc.by = 5;
    s_cmd("Increment")->decide(state, &ctx, &inc.base, out);
    size_t rlen;
    const uint8_t *rb = svc_out_reply_bytes(out, &rlen);
    Tp__Example__CounterValue *cv = tp__example__counter_value__unpack(NULL, rlen, rb);
    CHECK(cv && cv->value == 12 && cv->version == 2);
    tp__example__counter_value__free_unpacked(cv, NULL);
    s_apply_out(state, out, &seq);
    svc_out_reset(out);

    /* GetCounter: found, and not_found for an unknown counter */
    Tp__Example__GetCounter q = TP__EXAMPLE__GET_COUNTER__INIT;
    q.counter = "nope";
    s_cmd("GetCounter")->decide(state, &ctx, &q.base, out);
    CHECK(s_has_error(out, "not_found", "counter"));
    svc_out_reset(out);
    q.counter = "c-1";
    s_cmd("GetCounter")->decide(state, &ctx, &q.base, out);
    rb = svc_out_reply_bytes(out, &rlen);
    cv = tp__example__counter_value__unpack(NULL, rlen, rb);
    CHECK(cv && cv->value == 12);
    tp__example__counter_value__free_unpacked(cv, NULL);
    svc_out_reset(out);

    /* SetSecret: prepare refuses short secrets, hashes good ones; decide refuses unprepared */
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "c-1";
    ss.secret = strdup("short");
    CHECK(s_cmd("SetSecret")->prepare(&ss.base, NULL, out) == -1 && s_has_error(out, "invalid", "secret"));
    svc_out_reset(out);
    s_cmd("SetSecret")->decide(state, &ctx, &ss.base, out);
    CHECK(s_has_error(out, "internal", "secret") && svc_out_n_events(out) == 0);
    svc_out_reset(out);
    free(ss.secret);
    ss.secret = strdup("a long enough secret");
    CHECK(s_cmd("SetSecret")->prepare(&ss.base, NULL, out) == 0);
    CHECK(strncmp(ss.secret, "$argon2id$", 10) == 0);
    s_cmd("SetSecret")->decide(state, &ctx, &ss.base, out);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    svc_out_event_at(out, 0, &type, NULL, NULL, NULL);
    CHECK(streq(type, "SecretSet"));
    s_apply_out(state, out, &seq);
    svc_out_reset(out);
    free(ss.secret);

    /* tick: nothing below the threshold; once at it; never twice */
    example_def.tick(state, 5000, out);
    CHECK(svc_out_n_events(out) == 1);
    s_apply_out(state, out, &seq);
    svc_out_reset(out);
    example_def.tick(state, 6000, out);
    CHECK(svc_out_n_events(out) == 0);
    inc.counter = "c-2";
    inc.by = 3;
    s_cmd("Increment")->decide(state, &ctx, &inc.base, out);
    s_apply_out(state, out, &seq);
    svc_out_reset(out);
    example_def.tick(state, 7000, out);
    CHECK(svc_out_n_events(out) == 0);

    /* react: an upstream increment becomes UpstreamSeen; other types are ignored */
    Tp__Example__CounterIncremented up = TP__EXAMPLE__COUNTER_INCREMENTED__INIT;
    up.counter = "u";
    up.by = 2;
    up.value = 9;
    uint8_t ubuf[64];
    size_t ulen = tp__example__counter_incremented__pack(&up, ubuf);
    svc_event_t uev = {41, "counter-u", 3, "CounterIncremented", 0, ubuf, ulen};
    example_def.react(state, "alpha", &uev, out);
    CHECK(svc_out_n_events(out) == 1);
    svc_out_event_at(out, 0, &type, &stream, &payload, &len);
    Tp__Example__UpstreamSeen *us = tp__example__upstream_seen__unpack(NULL, len, payload);
    CHECK(us && us->upstream_seq == 41 && us->value == 9 && streq(us->upstream, "alpha"));
    tp__example__upstream_seen__free_unpacked(us, NULL);
    svc_out_reset(out);
    svc_event_t other = {42, "counter-u", 4, "Ticked", 0, NULL, 0};
    example_def.react(state, "alpha", &other, out);
    CHECK(svc_out_n_events(out) == 0 && !svc_out_failed(out));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    svc_event_t bad = {43, "counter-u", 5, "CounterIncremented", 0, junk, sizeof junk};
    example_def.react(state, "alpha", &bad, out);
    CHECK(svc_out_failed(out));
    svc_out_reset(out);

    char *sum = example_def.summary(state);
    CHECK(sum && strstr(sum, "\"counters\":2"));
    free(sum);
    svc_out_destroy(&out);
    example_def.state_destroy(&state);
    CHECK(state == NULL);
}

/* ---------------------------------------------------------------- runtime */

typedef struct {
    int64_t now;
} s_clock_t;

static int64_t s_test_clock(void *arg)
{
    return ((s_clock_t *) arg)->now;
}

/* A fresh folder from @p tmpl (mkdtemp) and a config with data and run under it; NULL
 * when the folder cannot be made. */
static zconfig_t *s_test_config(char *tmpl)
{
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return NULL;
    zconfig_t *cfg = zconfig_new("root", NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/data", dir);
    zconfig_put(cfg, "data", path);
    zconfig_put(cfg, "run", dir);
    return cfg;
}

/* Destroys @p cfg and removes @p dir. */
static void s_test_cleanup(zconfig_t **cfg, const char *dir)
{
    zconfig_destroy(cfg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static Tp__Reply *s_call(evs_client_t *client, const char *request_id, const char *command,
                         const ProtobufCMessage *body)
{
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = (char *) (request_id ? request_id : "");
    hdr.actor_role = "operator";
    Tp__Reply *reply = NULL;
    if (evs_client_call(client, &hdr, command, body, 10000, &reply) != 0)
        return NULL;
    return reply;
}

static zactor_t *s_start(svc_args_t *args)
{
    zactor_t *actor = zactor_new(svc_actor, args);
    char *status = actor ? zstr_recv(actor) : NULL;
    bool ok = status && streq(status, "READY");
    zstr_free(&status);
    if (!ok)
        zactor_destroy(&actor);
    return actor;
}

static char *s_summary_of(evs_client_t *client)
{
    Tp__Reply *r = s_call(client, NULL, "$summary", NULL);
    char *s = r && r->ok ? strndup((char *) r->body.data, r->body.len) : NULL;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return s;
}

/* Sends a "$batch" of @p n items as an operator; the outer reply and, when ok, each
 * item's reply (into @p items). */
static Tp__Reply *s_batch(evs_client_t *client, const evs_batch_item_t *its, size_t n,
                          Tp__Reply **items)
{
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = "batch";
    h.actor_role = "operator";
    Tp__Reply *r = NULL;
    evs_client_call_batch(client, &h, its, n, 10000, &r, items);
    return r;
}

/* The log's head, 0 when the service did not answer. */
static uint64_t s_head(evs_client_t *client)
{
    uint64_t head = 0;
    return evs_client_head(client, 10000, &head) == 0 ? head : 0;
}

/* "$batch": items decided in order, each seeing the ones before it, each with its own
 * reply and idempotency; what may not go in a batch is refused item by item; a retried
 * batch writes nothing. @p head: the log's head before. */
static void s_test_batch(evs_client_t *ca, uint64_t head)
{
    Tp__Example__Increment a = TP__EXAMPLE__INCREMENT__INIT, b = a, zero = a;
    a.counter = b.counter = zero.counter = "bt";
    a.by = 2;
    b.by = 3;
    b.expected_version = 1;   /* only true after the item before it */
    zero.by = 0;
    Tp__Example__GetCounter q = TP__EXAMPLE__GET_COUNTER__INIT;
    q.counter = "bt";
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "bt";
    ss.secret = "a secret that is long enough";
    const evs_batch_item_t its[] = {
        {"bt-1", "example.Increment", &a.base},  {"bt-2", "example.Increment", &b.base},
        {"bt-3", "example.Increment", &zero.base}, {"bt-4", "example.GetCounter", &q.base},
        {"bt-5", "$summary", NULL},              {"bt-6", "example.SetSecret", &ss.base},
        {"", "example.Increment", &a.base},      {"req-6", "example.Increment", &a.base},
        {"bt-9", SVC_BATCH, NULL},               {"bt-10", "example.Nope", NULL}};
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
        CHECK(s_head(ca) == head + 2);   /* the second round wrote nothing */
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
    CHECK(s_head(ca) == head + 2);
}

static void s_test_runtime(void)
{
    char tmpl[] = "/tmp/tp-svc-test-XXXXXX";
    zconfig_t *cfg = s_test_config(tmpl);
    if (!cfg)
        return;
    const char *dir = tmpl;
    char path[512];
    zconfig_put(cfg, "beta/upstreams", "alpha");
    zconfig_put(cfg, "tick_ms", "20");
    zconfig_put(cfg, "workers", "2");
    s_clock_t clock = {1700000000000000};
    svc_args_t alpha_args = {&example_def, cfg, "alpha", s_test_clock, &clock};
    svc_args_t beta_args = {&example_def, cfg, "beta", s_test_clock, &clock};

    /* the mirror starts first: it must catch up from nothing and then follow live */
    zactor_t *beta = s_start(&beta_args);
    zactor_t *alpha = s_start(&alpha_args);
    CHECK(alpha && beta);
    char ep[600];
    svc_endpoint(cfg, "alpha", "router", ep, sizeof ep);
    evs_client_t *ca = evs_client_new(ep);
    svc_endpoint(cfg, "beta", "router", ep, sizeof ep);
    evs_client_t *cb = evs_client_new(ep);

    /* a command, then the same request id again: same answer, marked replayed, one event */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "c";
    inc.by = 4;
    Tp__Reply *r1 = s_call(ca, "req-1", "example.Increment", &inc.base);
    Tp__Reply *r2 = s_call(ca, "req-1", "example.Increment", &inc.base);
    CHECK(r1 && r1->ok && r1->last_seq == 1 && !r1->replayed);
    CHECK(r2 && r2->ok && r2->last_seq == 1 && r2->replayed);
    CHECK(r1 && r2 && r1->body.len == r2->body.len &&
          memcmp(r1->body.data, r2->body.data, r1->body.len) == 0);
    tp__reply__free_unpacked(r1, NULL);
    tp__reply__free_unpacked(r2, NULL);

    /* refusals: field errors, unknown command, bad body, missing request id, conflict */
    inc.by = 0;
    Tp__Reply *r = s_call(ca, "req-2", "example.Increment", &inc.base);
    CHECK(r && !r->ok && r->n_errors == 1 && streq(r->errors[0]->field, "by"));
    tp__reply__free_unpacked(r, NULL);
    r = s_call(ca, "req-3", "example.Nope", NULL);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "unknown_command"));
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
    r = s_call(ca, "req-5", "example.Increment", &inc.base);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "conflict"));
    tp__reply__free_unpacked(r, NULL);
    inc.expected_version = 1;
    r = s_call(ca, "req-6", "example.Increment", &inc.base);
    CHECK(r && r->ok && r->last_seq == 2);
    tp__reply__free_unpacked(r, NULL);
    inc.expected_version = 0;

    /* slow work: the secret is hashed on the worker pool; bad secrets refused there */
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "c";
    ss.secret = "too short";
    r = s_call(ca, "req-7", "example.SetSecret", &ss.base);
    CHECK(r && !r->ok && streq(r->errors[0]->field, "secret"));
    tp__reply__free_unpacked(r, NULL);
    ss.secret = "a secret that is long enough";
    r = s_call(ca, "req-8", "example.SetSecret", &ss.base);
    CHECK(r && r->ok && r->last_seq == 3);
    tp__reply__free_unpacked(r, NULL);
    r = s_call(ca, "req-8", "example.SetSecret", &ss.base);
    CHECK(r && r->ok && r->replayed && r->last_seq == 3);
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
    r = s_call(ca, NULL, "example.GetCounter", &q.base);
    Tp__Example__CounterValue *cv =
        r && r->ok ? tp__example__counter_value__unpack(NULL, r->body.len, r->body.data) : NULL;
    CHECK(cv && cv->value == 205 && cv->has_secret);
    if (cv)
        tp__example__counter_value__free_unpacked(cv, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* the timer: the counter passed the threshold, so a Ticked event follows (once) */
    zclock_sleep(200);
    CHECK(s_head(ca) == 204);

    /* the mirror followed every increment: 202 of them */
    char *sb = NULL;
    for (int i = 0; i < 100; i++) {
        free(sb);
        sb = s_summary_of(cb);
        if (sb && strstr(sb, "\"upstreamSeen\":202,"))
            break;
        zclock_sleep(50);
    }
    CHECK(sb && strstr(sb, "\"upstreamSeen\":202,"));
    if (s_verbose)
        printf("mirror: %s\n", sb ? sb : "(none)");

    /* restart both: state rebuilt from the logs equals the state before */
    /* one more event the mirror does not react to (SecretSet, seq 205) */
    ss.secret = "another secret, long enough";
    r = s_call(ca, "req-9", "example.SetSecret", &ss.base);
    CHECK(r && r->ok && r->last_seq == 205);
    tp__reply__free_unpacked(r, NULL);
    zclock_sleep(300);   /* delivered live, but well within SVC_CHECKPOINT_DELAY_MS */
    char *sa = s_summary_of(ca);
    zactor_destroy(&alpha);
    zactor_destroy(&beta);
    /* it got no commit of its own, yet a clean stop leaves the checkpoint past it */
    snprintf(path, sizeof path, "%s/data/beta", dir);
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *bs = NULL;
    uint64_t cp = 0;
    CHECK(evs_open(path, &ro, &bs) == 0 && evs_checkpoint(bs, "alpha", &cp) == 0 && cp == 205);
    evs_destroy(&bs);
    alpha = s_start(&alpha_args);
    beta = s_start(&beta_args);
    CHECK(alpha && beta);
    char *sa2 = s_summary_of(ca);
    char *sb2 = s_summary_of(cb);
    CHECK(sa && sa2 && streq(sa, sa2));
    CHECK(sb && sb2 && streq(sb, sb2));
    /* and an old request id is still answered from the log, writing nothing */
    r = s_call(ca, "req-6", "example.Increment", &inc.base);
    CHECK(r && r->ok && r->replayed && r->last_seq == 2);
    tp__reply__free_unpacked(r, NULL);
    CHECK(s_head(ca) == 205);

    s_test_batch(ca, 205);

    /* a deadline in the past is refused unread */
    Tp__RequestHeader late = TP__REQUEST_HEADER__INIT;
    late.request_id = "late-1";
    late.deadline_us = clock.now - 1;
    r = NULL;
    CHECK(evs_client_call(ca, &late, "example.Increment", &inc.base, 5000, &r) == 0);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "deadline"));
    if (r)
        tp__reply__free_unpacked(r, NULL);

    free(sa);
    free(sa2);
    free(sb);
    free(sb2);
    evs_client_destroy(&ca);
    evs_client_destroy(&cb);
    zactor_destroy(&alpha);
    zactor_destroy(&beta);
    s_test_cleanup(&cfg, dir);
}

/* The mirror's "upstreamSeen" count, or -1. */
static long s_seen(evs_client_t *client)
{
    char *s = s_summary_of(client);
    const char *at = s ? strstr(s, "\"upstreamSeen\":") : NULL;
    long n = at ? atol(at + strlen("\"upstreamSeen\":")) : -1;
    free(s);
    return n;
}

/* react_delay_ms: live upstream events wait that long before the follower reacts (all
 * that came meanwhile in one run), and a clean stop reacts to what is waiting. The
 * upstream runs with `pipeline = 0` (each group committed on its loop). */
static void s_test_react_delay(void)
{
    char tmpl[] = "/tmp/tp-svc-delay-XXXXXX";
    zconfig_t *cfg = s_test_config(tmpl);
    if (!cfg)
        return;
    const char *dir = tmpl;
    char path[512];
    zconfig_put(cfg, "gamma/upstreams", "alpha");
    zconfig_put(cfg, "gamma/react_delay_ms", "400");
    zconfig_put(cfg, "alpha/pipeline", "0");   /* and the unpipelined commit path */
    svc_args_t alpha_args = {&example_def, cfg, "alpha", NULL, NULL};
    svc_args_t gamma_args = {&example_def, cfg, "gamma", NULL, NULL};
    zactor_t *alpha = s_start(&alpha_args), *gamma = s_start(&gamma_args);
    CHECK(alpha && gamma);
    char ep[600];
    svc_endpoint(cfg, "alpha", "router", ep, sizeof ep);
    evs_client_t *ca = evs_client_new(ep);
    svc_endpoint(cfg, "gamma", "router", ep, sizeof ep);
    evs_client_t *cg = evs_client_new(ep);
    zclock_sleep(300);   /* gamma's subscription reaches alpha's publisher */
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "d";
    inc.by = 1;
    char rid[32];
    int64_t t0 = zclock_mono();
    for (int i = 0; i < 20; i++) {
        snprintf(rid, sizeof rid, "d-%d", i);
        Tp__Reply *r = s_call(ca, rid, "example.Increment", &inc.base);
        CHECK(r && r->ok);
        if (r)
            tp__reply__free_unpacked(r, NULL);
        /* published before it was answered, so gamma cannot react before t0 + 400 (asked
         * after each, so that a slow machine does not make this moot) */
        long early = zclock_mono() - t0 < 300 ? s_seen(cg) : 0;
        CHECK(early == 0);
    }
    long seen = -1;
    while (zclock_mono() - t0 < 10000 && (seen = s_seen(cg)) != 20)
        zclock_sleep(20);
    CHECK(seen == 20 && zclock_mono() - t0 >= 400);
    /* one more, then a clean stop at once: gamma reacts to it before it goes */
    Tp__Reply *r = s_call(ca, "d-last", "example.Increment", &inc.base);
    CHECK(r && r->ok && r->last_seq == 21);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    zclock_sleep(50);   /* it reaches gamma (and waits there) */
    evs_client_destroy(&cg);
    zactor_destroy(&gamma);
    snprintf(path, sizeof path, "%s/data/gamma", dir);
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *gs = NULL;
    uint64_t cp = 0;
    CHECK(evs_open(path, &ro, &gs) == 0 && evs_checkpoint(gs, "alpha", &cp) == 0 && cp == 21);
    evs_destroy(&gs);
    evs_client_destroy(&ca);
    zactor_destroy(&alpha);
    s_test_cleanup(&cfg, dir);
}

/* The producer endpoint: CURVE with allowed client keys; whatever a client claims, it
 * acts as a producer named by its key; an unknown key gets no answer. */
static void s_test_producer(void)
{
    char tmpl[] = "/tmp/tp-svc-curve-XXXXXX";
    zconfig_t *cfg = s_test_config(tmpl);
    if (!cfg)
        return;
    const char *dir = tmpl;
    char path[700], clients[512], server_cert[512], client_cert[512], stranger_cert[512];
    snprintf(clients, sizeof clients, "%s/clients", dir);
    CHECK(mkdir(clients, 0700) == 0);
    snprintf(server_cert, sizeof server_cert, "%s/producer.cert", dir);
    snprintf(client_cert, sizeof client_cert, "%s/line-1.cert", dir);
    snprintf(stranger_cert, sizeof stranger_cert, "%s/stranger.cert", dir);
    zcert_t *client = zcert_new();
    CHECK(zcert_save(client, client_cert) == 0);
    snprintf(path, sizeof path, "%s/line-1.cert", clients);
    CHECK(zcert_save_public(client, path) == 0);
    zcert_t *stranger = zcert_new();
    CHECK(zcert_save(stranger, stranger_cert) == 0);
    int port = 20000 + (int) (getpid() % 20000);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    zconfig_put(cfg, "alpha/producer", ep);
    zconfig_put(cfg, "alpha/producer_cert", server_cert);
    zconfig_put(cfg, "alpha/producer_clients", clients);
    svc_args_t args = {&example_def, cfg, "alpha", NULL, NULL};
    zactor_t *alpha = s_start(&args);
    CHECK(alpha != NULL);
    evs_client_t *c = evs_client_new_curve(ep, client_cert, server_cert);
    CHECK(c != NULL);
    Tp__Example__WhoCalls who = TP__EXAMPLE__WHO_CALLS__INIT;
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.actor_role = "operator";   /* claimed, not granted */
    hdr.actor_account = "root";
    Tp__Reply *r = NULL;
    CHECK(c && evs_client_call(c, &hdr, "example.WhoCalls", &who.base, 5000, &r) == 0);
    Tp__Example__Caller *caller =
        r && r->ok ? tp__example__caller__unpack(NULL, r->body.len, r->body.data) : NULL;
    char expect[64];
    snprintf(expect, sizeof expect, "producer:%.16s", zcert_public_txt(client));
    CHECK(caller && streq(caller->role, "producer") && streq(caller->account, expect));
    if (caller)
        tp__example__caller__free_unpacked(caller, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* a key the service does not know: the handshake fails, nothing is answered */
    evs_client_t *s = evs_client_new_curve(ep, stranger_cert, server_cert);
    r = NULL;
    CHECK(s && evs_client_call(s, &hdr, "example.WhoCalls", &who.base, 700, &r) == -1 && !r);
    evs_client_destroy(&s);
    evs_client_destroy(&c);
    zactor_destroy(&alpha);
    zcert_destroy(&client);
    zcert_destroy(&stranger);
    s_test_cleanup(&cfg, dir);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--test") && i + 1 < argc)
            only = argv[++i];
        else if (streq(argv[i], "-v"))
            s_verbose = true;
    }
    zsys_init();
    if (!s_verbose)
        zsys_set_logstream(NULL);
    if (!only || streq(only, "core"))
        s_test_core();
    if (!only || streq(only, "runtime"))
        s_test_runtime();
    if (!only || streq(only, "producer"))
        s_test_producer();
    if (!only || streq(only, "react_delay"))
        s_test_react_delay();
    printf("example_test: %s\n", s_failed ? "FAILED" : "OK");
    return s_failed ? 1 : 0;
}
