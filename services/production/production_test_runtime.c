/* production_test_runtime.c: the production core inside the real runtime, in-process
 * (svc_testkit.h), with an injected clock: a stand-in order service releases orders over
 * the bus, the facts come over the request socket with a producer's key (and name it in
 * their events), the activation delay comes from the config, and the activation fires
 * once across restarts (before and after its due time). */
#include <string.h>
#include <unistd.h>
#include "evs_bus.h"
#include "production_test.h"
#include "svc_testkit.h"

/* ------------------------------------------------------------------ a stand-in order service */

/* "order.Release": writes the OrderReleasedForProduction it is given, as the real order
 * service does when an order is complete; enough upstream for the production service. */
static void s_release(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out)
{
    const Tp__Order__OrderReleasedForProduction *e =
        (const Tp__Order__OrderReleasedForProduction *) msg;
    char stream[96];
    snprintf(stream, sizeof stream, "order-%s", e->order_id);
    svc_out_event(out, stream, msg);
}

static void *s_none_new(void)
{
    return calloc(1, 1);
}

static void s_none_destroy(void **state_p)
{
    free(*state_p);
    *state_p = NULL;
}

static void s_none_apply(void *state, const svc_event_t *ev) {}

static const svc_command_t s_order_commands[] = {
    {"Release", &tp__order__order_released_for_production__descriptor, false, NULL, s_release, NULL,
     false, NULL, SVC_OPERATOR},
};

/* the production service follows it, as it follows the real one */
static const char *const s_order_followers[] = {"production", NULL};

static const svc_def_t s_order_def = {
    .name = "order",
    .state_new = s_none_new,
    .state_destroy = s_none_destroy,
    .apply = s_none_apply,
    .commands = s_order_commands,
    .n_commands = 1,
    .followers = s_order_followers,
};

/* The services that run here (production follows the stand-in order service only). */
static const char *const s_services[] = {"order", "production", NULL};

/* ------------------------------------------------------------------ helpers */

typedef struct {
    int64_t now; /* read by the actor's thread: atomics */
} s_clock_t;

static int64_t s_clock(void *arg)
{
    return __atomic_load_n(&((s_clock_t *) arg)->now, __ATOMIC_SEQ_CST);
}

static void s_set_clock(s_clock_t *c, int64_t now)
{
    __atomic_store_n(&c->now, now, __ATOMIC_SEQ_CST);
}

/* One call to @p service as @p role / @p account (a fresh request id). */
static Tp__Reply *s_call(svc_tk_t *kit, const char *service, const char *role, const char *account,
                         const char *command, const ProtobufCMessage *body)
{
    return svc_tk_call(kit, service, role, account, NULL, command, body, 20000);
}

/* Sends a fact as the producer (the key producer-test); true when accepted (not a
 * duplicate). */
static bool s_fact(svc_tk_t *kit, const char *command, const ProtobufCMessage *body)
{
    Tp__Reply *r = s_call(kit, "production", "producer", NULL, command, body);
    Tp__Production__FactAck *a =
        r && r->ok ? tp__production__fact_ack__unpack(NULL, r->body.len, r->body.data) : NULL;
    bool ok = a && !a->duplicate;
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return ok;
}

/* Releases, records certificates, produces and ships the card of @p order_id. */
static void s_make(svc_tk_t *kit, const char *order_id, const char *tag, int64_t now)
{
    Tp__Order__OrderReleasedForProduction rel = TP__ORDER__ORDER_RELEASED_FOR_PRODUCTION__INIT;
    rel.order_id = (char *) order_id;
    rel.account_id = "acc-a";
    rel.product_id = "signature-card";
    rel.at_us = now;
    Tp__Reply *r = s_call(kit, "order", "operator", NULL, "order.Release", &rel.base);
    CHECK(r && r->ok);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* the job opens when the production service has followed the order service */
    Tp__Production__GetJob gj = TP__PRODUCTION__GET_JOB__INIT;
    gj.order_id = (char *) order_id;
    bool opened = false;
    for (int i = 0; i < 200 && !opened; i++) {
        r = s_call(kit, "production", "producer", NULL, "production.GetJob", &gj.base);
        opened = r && r->ok;
        if (r)
            tp__reply__free_unpacked(r, NULL);
        if (!opened)
            zclock_sleep(20);
    }
    CHECK(opened);
    char fact[64], serial[32], card[32], tracking[32];
    Tp__Production__Certificate cert = TP__PRODUCTION__CERTIFICATE__INIT;
    snprintf(serial, sizeof serial, "5e%s", tag);
    cert.serial = serial;
    cert.kind = "signature";
    cert.valid_from_us = now;
    cert.valid_to_us = now + 3 * PT_YEAR;
    Tp__Production__Certificate *cp[] = {&cert};
    Tp__Production__RecordCertificates rc = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    snprintf(fact, sizeof fact, "certs-%s", tag);
    rc.fact_id = fact;
    rc.order_id = (char *) order_id;
    rc.n_certificates = 1;
    rc.certificates = cp;
    CHECK(s_fact(kit, "production.RecordCertificates", &rc.base));
    CHECK(!s_fact(kit, "production.RecordCertificates", &rc.base)); /* a duplicate */
    Tp__Production__RecordCardProduced cpd = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    snprintf(fact, sizeof fact, "card-%s", tag);
    snprintf(card, sizeof card, "DTC7%s", tag);
    cpd.fact_id = fact;
    cpd.order_id = (char *) order_id;
    cpd.card_number = card;
    CHECK(s_fact(kit, "production.RecordCardProduced", &cpd.base));
    Tp__Production__RecordCardShipped sh = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    snprintf(fact, sizeof fact, "ship-%s", tag);
    snprintf(tracking, sizeof tracking, "RR7%sDE", tag);
    sh.fact_id = fact;
    sh.order_id = (char *) order_id;
    sh.tracking_number = tracking;
    CHECK(s_fact(kit, "production.RecordCardShipped", &sh.base));
}

/* The product's status as its owner sees it ("" when it cannot be read). */
static void s_status(svc_tk_t *kit, const char *product_id, char *out, size_t outsz)
{
    Tp__Production__GetProduct q = TP__PRODUCTION__GET_PRODUCT__INIT;
    q.product_id = (char *) product_id;
    Tp__Reply *r = s_call(kit, "production", "customer", "acc-a", "production.GetProduct", &q.base);
    Tp__Production__ProductView *v =
        r && r->ok ? tp__production__product_view__unpack(NULL, r->body.len, r->body.data) : NULL;
    snprintf(out, outsz, "%s", v ? v->status : "");
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
}

static bool s_wait_status(svc_tk_t *kit, const char *product_id, const char *want)
{
    char status[64] = "";
    for (int i = 0; i < 200; i++) {
        s_status(kit, product_id, status, sizeof status);
        if (streq(status, want))
            return true;
        zclock_sleep(20);
    }
    return false;
}

/* ------------------------------------------------------------------ the test */

void pt_test_runtime(void)
{
    svc_tk_t *kit = svc_tk_new("production-rt", s_services);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    zconfig_put(cfg, "tick_ms", "20");
    zconfig_put(cfg, "production/upstreams", "order"); /* no revocation service here */
    zconfig_put(cfg, "production/activation_delay_s", "30");
    const int64_t delay = 30000000;
    s_clock_t clock = {1772359200LL * 1000000};
    svc_args_t order_args = {&s_order_def, cfg, NULL, s_clock, &clock};
    svc_args_t prod_args = {&production_def, cfg, NULL, s_clock, &clock};
    zactor_t *order = svc_tk_start(&order_args);
    zactor_t *prod = svc_tk_start(&prod_args);
    CHECK(order && prod);

    /* a fact out of order over the wire: refused, with its reason */
    int64_t t0 = s_clock(&clock);
    s_make(kit, "TP-2026-000001", "1", t0);
    /* the job was opened by the service itself (a reaction: nobody named); the facts
     * name the producer whose key sent them */
    Tp__Envelope *env = svc_tk_event(kit, "production", 1);
    CHECK(env && streq(env->event_type, "JobOpened") && streq(env->actor, ""));
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    env = svc_tk_event(kit, "production", 2);
    CHECK(env && streq(env->event_type, "CertificatesCreated") &&
          streq(env->actor, "producer:test"));
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    Tp__Production__RecordCardDelivered cd = TP__PRODUCTION__RECORD_CARD_DELIVERED__INIT;
    cd.fact_id = "pin-early";
    cd.order_id = "TP-2026-000001";
    Tp__Production__RecordPinLetterDelivered pd = TP__PRODUCTION__RECORD_PIN_LETTER_DELIVERED__INIT;
    pd.fact_id = "pin-early";
    pd.order_id = "TP-2026-000001";
    Tp__Reply *r = s_call(kit, "production", "producer", NULL,
                          "production.RecordPinLetterDelivered", &pd.base);
    CHECK(r && !r->ok && r->n_errors == 1 && streq(r->errors[0]->code, "conflict") &&
          strstr(r->errors[0]->message, "PIN letter delivered before it was shipped"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* facts come from producers (and operators), never through the gateway */
    uint64_t head = svc_tk_head(kit, "production");
    r = s_call(kit, "production", "customer", "acc-a", "production.RecordCardDelivered", &cd.base);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "forbidden"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(head == 4 && svc_tk_head(kit, "production") == head);

    /* not before the configured delay; then once */
    char status[64];
    s_set_clock(&clock, t0 + delay - 1);
    zclock_sleep(100);
    s_status(kit, "prd-TP-2026-000001", status, sizeof status);
    CHECK(streq(status, "nicht_freigeschaltet"));
    s_set_clock(&clock, t0 + delay);
    CHECK(s_wait_status(kit, "prd-TP-2026-000001", "gueltig"));
    zclock_sleep(100);
    char *before = svc_tk_summary(kit, "production");
    CHECK(before && strstr(before, "\"gueltig\":1,"));

    /* a restart: the same state, and the timer does not fire again */
    zactor_destroy(&prod);
    prod = svc_tk_start(&prod_args);
    CHECK(prod != NULL);
    svc_tk_forget(kit, "production");
    zclock_sleep(100);
    char *after = svc_tk_summary(kit, "production");
    CHECK(before && after && streq(before, after));
    free(before);
    free(after);

    /* a second product; the service is down over its due time: activated at the first tick */
    int64_t t1 = t0 + delay + 1000000;
    s_set_clock(&clock, t1);
    s_make(kit, "TP-2026-000002", "2", t1);
    zactor_destroy(&prod);
    s_set_clock(&clock, t1 + 2 * delay);
    prod = svc_tk_start(&prod_args);
    CHECK(prod != NULL);
    svc_tk_forget(kit, "production");
    CHECK(s_wait_status(kit, "prd-TP-2026-000002", "gueltig"));
    zclock_sleep(100);
    before = svc_tk_summary(kit, "production");
    /* 2 jobs x (JobOpened, 3 facts) + 2 activations: nothing twice */
    CHECK(before && strstr(before, "\"events\":10,") && strstr(before, "\"gueltig\":2,"));
    if (svc_tc_verbose())
        printf("runtime: %s\n", before ? before : "(none)");
    free(before);

    zactor_destroy(&prod);
    zactor_destroy(&order);
    svc_tk_destroy(&kit);
}
