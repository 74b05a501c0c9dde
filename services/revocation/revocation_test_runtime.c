/* revocation_test_runtime.c: the revocation core inside the real runtime, in-process
 * (svc_testkit.h): upstream facts over the bus (from a feeder service standing in for
 * order, production and account), the password checked on the worker pool, a recorded
 * refusal answered again from the log, completion by the timer with an injected clock,
 * a restart. */
#include <unistd.h>
#include "evs_bus.h"
#include "revocation_test.h"
#include "svc_testkit.h"
#include "tp_types.h"

/* ------------------------------------------------------------------ the feeder */

/* Writes the event an Envelope carries (type, stream, payload) as its own: the feeder
 * publishes whatever upstream facts the test needs. */
static void s_feed(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                   svc_out_t *out)
{
    const Tp__Envelope *env = (const Tp__Envelope *) msg;
    const ProtobufCMessageDescriptor *desc = tp_types_find(NULL, env->event_type);
    ProtobufCMessage *ev =
        desc ? protobuf_c_message_unpack(desc, NULL, env->payload.len, env->payload.data) : NULL;
    if (!ev) {
        svc_out_error(out, "invalid", "eventType", "unknown type or payload");
        return;
    }
    svc_out_event(out, env->stream_id, ev);
    protobuf_c_message_free_unpacked(ev, NULL);
}

static void *s_feeder_new(void)
{
    return calloc(1, 1);
}

static void s_feeder_destroy(void **state_p)
{
    free(*state_p);
    *state_p = NULL;
}

static void s_feeder_apply(void *state, const svc_event_t *ev) {}

static const svc_command_t s_feeder_commands[] = {
    {"Feed", &tp__envelope__descriptor, false, NULL, s_feed, NULL, false, NULL, SVC_OPERATOR},
};

/* the revocation service follows it, as it follows the real upstreams */
static const char *const s_feeder_followers[] = {"revocation", NULL};

static const svc_def_t s_feeder_def = {
    .name = "feeder",
    .state_new = s_feeder_new,
    .state_destroy = s_feeder_destroy,
    .apply = s_feeder_apply,
    .commands = s_feeder_commands,
    .n_commands = 1,
    .followers = s_feeder_followers,
    .personal_to = s_feeder_followers,
};

/* The services that run here. */
static const char *const s_services[] = {"feeder", "revocation", NULL};

/* ------------------------------------------------------------------ helpers */

typedef struct {
    int64_t now;
} s_clock_t;

static int64_t s_clock(void *arg)
{
    return ((s_clock_t *) arg)->now;
}

/* One call to the revocation service through the gateway (its key) for a visitor from
 * the client address 192.0.2.44. */
static Tp__Reply *s_call(svc_tk_t *kit, const char *request_id, const char *command,
                         const ProtobufCMessage *body)
{
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = (char *) (request_id ? request_id : "");
    hdr.client_addr = "192.0.2.44";
    return svc_tk_call_header(kit, "revocation", "", &hdr, command, body, 20000);
}

/* Has the feeder write @p ev to @p stream (as the operator: it is a fixture). */
static bool s_fed(svc_tk_t *kit, const char *stream, const ProtobufCMessage *ev)
{
    static int n = 0;
    uint8_t buf[4096];
    char rid[32];
    snprintf(rid, sizeof rid, "feed-%d", ++n);
    Tp__Envelope env = TP__ENVELOPE__INIT;
    env.stream_id = (char *) stream;
    env.event_type = (char *) ev->descriptor->short_name;
    env.payload.data = buf;
    env.payload.len = protobuf_c_message_pack(ev, buf);
    Tp__Reply *r =
        svc_tk_call(kit, "feeder", "operator", NULL, rid, "feeder.Feed", &env.base, 20000);
    bool ok = r && r->ok;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return ok;
}

/* Polls the summary until it contains @p needle (10 s at most). */
static bool s_wait(svc_tk_t *kit, const char *needle)
{
    for (int i = 0; i < 200; i++) {
        char *s = svc_tk_summary(kit, "revocation");
        bool found = s && strstr(s, needle);
        free(s);
        if (found)
            return true;
        zclock_sleep(50);
    }
    return false;
}

/* The facts of one shipped seal card, as the upstreams publish them. */
static void s_feed_product(svc_tk_t *kit)
{
    Tp__Order__OrderPlaced placed = TP__ORDER__ORDER_PLACED__INIT;
    placed.order_id = "TP-2026-000042";
    placed.account_id = "acc-rt";
    placed.shop_id = "shop-a";
    placed.product_id = "seal-card";
    placed.revocation_password_hash = RTEST_HASH;
    CHECK(s_fed(kit, "order-TP-2026-000042", &placed.base));
    Tp__Production__Certificate cert = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate *certs[] = {&cert};
    cert.serial = "0A1B2C";
    Tp__Production__CertificatesCreated created = TP__PRODUCTION__CERTIFICATES_CREATED__INIT;
    created.order_id = "TP-2026-000042";
    created.certificates = certs;
    created.n_certificates = 1;
    CHECK(s_fed(kit, "job-TP-2026-000042", &created.base));
    Tp__Production__CardProduced produced = TP__PRODUCTION__CARD_PRODUCED__INIT;
    produced.order_id = "TP-2026-000042";
    produced.card_number = "9000 4242";
    CHECK(s_fed(kit, "job-TP-2026-000042", &produced.base));
    Tp__Production__CardShipped shipped = TP__PRODUCTION__CARD_SHIPPED__INIT;
    shipped.order_id = "TP-2026-000042";
    shipped.product_id = "prd-TP-2026-000042";
    shipped.at_us = T0;
    CHECK(s_fed(kit, "job-TP-2026-000042", &shipped.base));
}

/* ------------------------------------------------------------------ the test */

void rtest_runtime(void)
{
    svc_tk_t *kit = svc_tk_new("revocation-rt", s_services);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    zconfig_put(cfg, "tick_ms", "20");
    zconfig_put(cfg, "workers", "1");
    zconfig_put(cfg, "revocation/upstreams", "feeder");
    zconfig_put(cfg, "revocation/processing_delay_s", "5");
    s_clock_t clock = {T0};
    svc_args_t feeder_args = {&s_feeder_def, cfg, NULL, NULL, NULL};
    /* the feeder stands in for the order service: its revocation password hashes are
     * opened with its keys */
    static const char *const personal_from[] = {"feeder", NULL};
    svc_def_t def = revocation_def;
    def.personal_from = personal_from;
    svc_args_t args = {&def, cfg, NULL, s_clock, &clock};
    zactor_t *feeder = svc_tk_start(&feeder_args);
    zactor_t *revo = svc_tk_start(&args);
    CHECK(feeder && revo);

    /* the facts arrive over the bus: four ProductKnown */
    s_feed_product(kit);
    CHECK(s_wait(kit, "\"events\":4,\"products\":1,\"shipped\":1,"));

    /* a wrong password: refused, recorded, and a retry gets the same answer unwritten */
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = "tp-2026-000042";
    cmd.password = "Falsches-Kennwort";
    cmd.reason = "card_lost";
    Tp__Reply *r = s_call(kit, "rt-1", "revocation.RevokeWithPassword", &cmd.base);
    CHECK(r && !r->ok && r->n_errors == 1 && streq(r->errors[0]->code, "invalid_credentials"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(svc_tk_head(kit, "revocation") == 5);
    r = s_call(kit, "rt-1", "revocation.RevokeWithPassword", &cmd.base);
    CHECK(r && !r->ok && r->replayed && streq(r->errors[0]->code, "invalid_credentials"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(svc_tk_head(kit, "revocation") == 5);
    /* the attempt names a visitor (nobody logged in) and keeps the client's address; the
     * facts learned over the bus name nobody (reactions) */
    Tp__Envelope *env = svc_tk_event(kit, "revocation", 5);
    CHECK(env && streq(env->event_type, "RevocationAttemptFailed") && streq(env->actor, "visitor"));
    Tp__Revocation__RevocationAttemptFailed *af =
        env ? tp__revocation__revocation_attempt_failed__unpack(NULL, env->payload.len,
                                                                env->payload.data)
            : NULL;
    /* sealed for the hour's throttling window (svc_seal.h), never in the clear */
    CHECK(af && strncmp(af->client_addr, "sealed:1:window:", 16) == 0 &&
          !strstr(af->client_addr, "192.0.2.44"));
    if (af)
        tp__revocation__revocation_attempt_failed__free_unpacked(af, NULL);
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    env = svc_tk_event(kit, "revocation", 1);
    CHECK(env && streq(env->actor, ""));
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    /* the revocation list is for anyone, revoking as an operator is not for the gateway */
    Tp__Revocation__RevokeAsOperator op = TP__REVOCATION__REVOKE_AS_OPERATOR__INIT;
    op.product_id = "prd-TP-2026-000042";
    r = s_call(kit, "rt-op", "revocation.RevokeAsOperator", &op.base);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "forbidden"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(svc_tk_head(kit, "revocation") == 5);

    /* the right one, by card number */
    cmd.number = "9000-4242";
    cmd.password = RTEST_PASSWORD;
    r = s_call(kit, "rt-2", "revocation.RevokeWithPassword", &cmd.base);
    Tp__Revocation__RevocationAnswer *a =
        r && r->ok ? tp__revocation__revocation_answer__unpack(NULL, r->body.len, r->body.data)
                   : NULL;
    CHECK(a && a->accepted && strncmp(a->request_id, "rev-", 4) == 0);
    if (a)
        tp__revocation__revocation_answer__free_unpacked(a, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* the timer completes it once the delay has passed on the injected clock */
    zclock_sleep(100);
    CHECK(s_wait(kit, "\"open\":1,\"completed\":0"));
    clock.now += 5 * SEC + 2000;
    CHECK(s_wait(kit, "\"open\":0,\"completed\":1,\"revokedSerials\":1"));
    Tp__Revocation__GetRevocationList rl = TP__REVOCATION__GET_REVOCATION_LIST__INIT;
    r = s_call(kit, NULL, "revocation.GetRevocationList", &rl.base);
    Tp__Revocation__RevocationList *list =
        r && r->ok ? tp__revocation__revocation_list__unpack(NULL, r->body.len, r->body.data)
                   : NULL;
    CHECK(list && list->n_entries == 1 && streq(list->entries[0]->serial, "0A1B2C") &&
          streq(list->entries[0]->reason, "card_lost"));
    if (list)
        tp__revocation__revocation_list__free_unpacked(list, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* restart: the same state, nothing completed twice, the facts not learned twice */
    char *before = svc_tk_summary(kit, "revocation");
    zactor_destroy(&revo);
    /* the runtime names its worker sockets inproc://svc-<name>-<address of its state>:
     * a new actor at the freed address cannot bind them until ZeroMQ's reaper has
     * released the old ones (it fails silently); give the reaper a moment */
    zclock_sleep(300);
    revo = svc_tk_start(&args);
    CHECK(revo != NULL);
    svc_tk_forget(kit, "revocation");
    clock.now += 3600 * SEC;
    zclock_sleep(200);
    char *after = svc_tk_summary(kit, "revocation");
    CHECK(before && after && streq(before, after) && strstr(after, "\"events\":7,"));
    free(before);
    free(after);

    /* the failed attempt's client address was sealed for its hour: once the throttling
     * windows are past (window_hours, 2 by default), that hour is erased */
    uint64_t head = svc_tk_head(kit, "revocation");
    clock.now += 3 * 3600 * SEC;
    bool window_erased = false;
    for (int i = 0; i < 100 && !window_erased; i++) {
        zclock_sleep(30);
        for (uint64_t q = head + 1; q <= svc_tk_head(kit, "revocation") && !window_erased; q++) {
            Tp__Envelope *e = svc_tk_event(kit, "revocation", q);
            Tp__SubjectErased *se =
                e && streq(e->event_type, "SubjectErased")
                    ? tp__subject_erased__unpack(NULL, e->payload.len, e->payload.data)
                    : NULL;
            window_erased = se && strncmp(se->subject, "window:", 7) == 0;
            if (se)
                tp__subject_erased__free_unpacked(se, NULL);
            if (e)
                tp__envelope__free_unpacked(e, NULL);
        }
    }
    CHECK(window_erased);

    zactor_destroy(&revo);
    zactor_destroy(&feeder);
    svc_tk_destroy(&kit);
}

/* The keys of the order's data subjects, asked of the upstream ("$keys"): a catch-up of
 * more new subjects than one request holds (1,024) takes them all; an upstream that does
 * not answer is asked again later, and nothing is skipped or lost meanwhile. */
void rtest_keys(void)
{
    svc_tk_t *kit = svc_tk_new("revocation-keys", s_services);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    zconfig_put(cfg, "workers", "1");
    zconfig_put(cfg, "revocation/upstreams", "feeder");
    zconfig_put(cfg, "revocation/react_delay_ms", "1500");
    static const char *const personal_from[] = {"feeder", NULL};
    svc_def_t def = revocation_def;
    def.personal_from = personal_from;
    svc_args_t feeder_args = {&s_feeder_def, cfg, NULL, NULL, NULL};
    svc_args_t args = {&def, cfg, NULL, NULL, NULL};
    zactor_t *feeder = svc_tk_start(&feeder_args);
    CHECK(feeder != NULL);
    /* 1,100 orders before the revocation service starts: it catches up in one read */
    Tp__Order__OrderPlaced placed = TP__ORDER__ORDER_PLACED__INIT;
    placed.account_id = "acc-keys";
    placed.product_id = "signature-card";
    placed.revocation_password_hash = RTEST_HASH;
    char id[32], stream[48];
    bool fed = true;
    for (int i = 1; i <= 1100 && fed; i++) {
        snprintf(id, sizeof id, "TP-2026-%06d", i);
        snprintf(stream, sizeof stream, "order-%s", id);
        placed.order_id = id;
        fed = s_fed(kit, stream, &placed.base);
    }
    CHECK(fed);
    zactor_t *revo = svc_tk_start(&args);
    CHECK(revo != NULL);
    CHECK(s_wait(kit, "\"products\":1100,"));

    /* the upstream goes away with a new order not yet taken (the reaction waits 1.5 s):
     * the follower cannot get its key, keeps running, and takes it once it can */
    placed.order_id = "TP-2026-001101";
    CHECK(s_fed(kit, "order-TP-2026-001101", &placed.base));
    zactor_destroy(&feeder);
    zclock_sleep(4000);   /* the delay, a key request that times out (2 s), and more */
    char *s = svc_tk_summary(kit, "revocation");
    CHECK(s && strstr(s, "\"products\":1100,"));
    free(s);
    zclock_sleep(300);    /* ZeroMQ's reaper frees the old actor's inproc names */
    feeder = svc_tk_start(&feeder_args);
    CHECK(feeder != NULL);
    svc_tk_forget(kit, "feeder");
    CHECK(s_wait(kit, "\"products\":1101,"));
    zactor_destroy(&revo);
    zactor_destroy(&feeder);
    svc_tk_destroy(&kit);
}
