/* production_test.c: unit tests of the production core, event by event: jobs opened by
 * the order service, every producer fact with every refusal, duplicates and facts out
 * of order, the queries and their scoping, and the replay. The refusals of malformed
 * facts are in production_test_refusals.c, the timer and the revocation paths in
 * production_test_timer.c, the runtime in production_test_runtime.c. */
#include <inttypes.h>
#include <sodium.h>
#include <string.h>
#include "production_test.h"

svc_tc_t *pt = NULL;
svc_out_t *pt_out = NULL;
int64_t pt_now = 1772359200LL * 1000000; /* 2026-03-01 10:00:00 UTC */

/* ------------------------------------------------------------------ the fixtures */

bool pt_message_has(const char *text)
{
    if (svc_tc_verbose() && svc_out_n_errors(pt_out) > 0)
        printf("  refusal: %s\n", svc_tc_message(pt_out));
    return svc_out_n_errors(pt_out) > 0 && strstr(svc_tc_message(pt_out), text);
}

void pt_release(const char *order_id, const char *account)
{
    Tp__Order__OrderReleasedForProduction e = TP__ORDER__ORDER_RELEASED_FOR_PRODUCTION__INIT;
    e.order_id = (char *) order_id;
    e.account_id = (char *) account;
    e.product_id = "signature-card";
    e.shop_id = "";
    e.at_us = pt_now - 1000000;
    svc_tc_react(pt, "order", "OrderReleasedForProduction", &e.base);
    CHECK(svc_tc_count(pt_out, "JobOpened") == 1 && svc_out_n_events(pt_out) == 1);
    svc_tc_commit(pt);
}

void pt_certificates(const char *order_id, const char *serial, int64_t from, int64_t to)
{
    Tp__Production__Certificate c = TP__PRODUCTION__CERTIFICATE__INIT;
    c.serial = (char *) serial;
    c.kind = "signature";
    c.valid_from_us = from;
    c.valid_to_us = to;
    c.subject = "CN=Erika Mustermann";
    Tp__Production__Certificate *cp[] = {&c};
    Tp__Production__RecordCertificates cmd = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    char fact[96];
    snprintf(fact, sizeof fact, "certs-%s", serial);
    cmd.fact_id = fact;
    cmd.order_id = (char *) order_id;
    cmd.n_certificates = 1;
    cmd.certificates = cp;
    CHECK(svc_tc_do(pt, "RecordCertificates", "producer", "", &cmd.base) == 1);
}

void pt_produced(const char *order_id, const char *card_number)
{
    Tp__Production__RecordCardProduced cmd = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    char fact[96];
    snprintf(fact, sizeof fact, "card-%s", card_number);
    cmd.fact_id = fact;
    cmd.order_id = (char *) order_id;
    cmd.card_number = (char *) card_number;
    CHECK(svc_tc_do(pt, "RecordCardProduced", "producer", "", &cmd.base) == 1);
}

void pt_shipped(const char *order_id, const char *tracking)
{
    Tp__Production__RecordCardShipped cmd = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    char fact[96];
    snprintf(fact, sizeof fact, "ship-%s", tracking);
    cmd.fact_id = fact;
    cmd.order_id = (char *) order_id;
    cmd.tracking_number = (char *) tracking;
    CHECK(svc_tc_do(pt, "RecordCardShipped", "producer", "", &cmd.base) == 1);
}

void pt_get_product(const char *product_id, const char *role, const char *account)
{
    Tp__Production__GetProduct q = TP__PRODUCTION__GET_PRODUCT__INIT;
    q.product_id = (char *) product_id;
    svc_tc_decide(pt, "GetProduct", role, account, &q.base);
}

void pt_configure(void *state, const char *delay_s)
{
    if (!delay_s) {
        production_def.configure(state, NULL, "production");
        return;
    }
    zconfig_t *cfg = zconfig_new("root", NULL);
    if (*delay_s)
        zconfig_put(cfg, "production/activation_delay_s", delay_s);
    production_def.configure(state, cfg, "production");
    zconfig_destroy(&cfg);
}

void *pt_rebuild(const char *delay_s)
{
    void *st = production_def.state_new();
    pt_configure(st, delay_s);
    svc_tc_replay(pt, st);
    return st;
}

/* ------------------------------------------------------------------ jobs */

static void s_test_jobs(void)
{
    Tp__Order__OrderReleasedForProduction e = TP__ORDER__ORDER_RELEASED_FOR_PRODUCTION__INIT;
    e.order_id = "TP-2026-000001";
    e.account_id = "acc-a";
    e.product_id = "seal-card";
    e.shop_id = "shop-demo";
    e.at_us = pt_now - 5000000;
    /* the same type from another upstream is not a release */
    svc_tc_react(pt, "identification", "OrderReleasedForProduction", &e.base);
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    svc_tc_react(pt, "order", "OrderReleasedForProduction", &e.base);
    CHECK(svc_out_n_events(pt_out) == 1 && svc_tc_count(pt_out, "JobOpened") == 1);
    const char *type, *stream;
    const uint8_t *payload;
    size_t len;
    svc_out_event_at(pt_out, 0, &type, &stream, &payload, &len);
    CHECK(streq(stream, "job-TP-2026-000001"));
    Tp__Production__JobOpened *jo = tp__production__job_opened__unpack(NULL, len, payload);
    CHECK(jo && streq(jo->order_id, "TP-2026-000001") && streq(jo->account_id, "acc-a") &&
          streq(jo->product_type, "seal-card") && streq(jo->shop_id, "shop-demo") &&
          jo->at_us == pt_now - 5000000);
    if (jo)
        tp__production__job_opened__free_unpacked(jo, NULL);
    svc_tc_commit(pt);
    /* once per order: a repeat (e.g. a replayed upstream record) opens nothing */
    svc_tc_react(pt, "order", "OrderReleasedForProduction", &e.base);
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    /* other order events are not for us; junk is refused (the runtime logs it) */
    svc_tc_react(pt, "order", "OrderPlaced", &e.base);
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    svc_tc_react_raw(pt, "order", "OrderReleasedForProduction", junk, sizeof junk);
    CHECK(svc_out_failed(pt_out) && svc_out_n_events(pt_out) == 0);
    e.order_id = "";
    svc_tc_react(pt, "order", "OrderReleasedForProduction", &e.base);
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));

    Tp__Production__GetJob q = TP__PRODUCTION__GET_JOB__INIT;
    q.order_id = "TP-2026-000001";
    svc_tc_decide(pt, "GetJob", "customer", "acc-a", &q.base);
    REFUSED("forbidden", "");
    svc_tc_decide(pt, "GetJob", "producer", "", &q.base);
    Tp__Production__JobView *v = svc_tc_reply(pt_out, &tp__production__job_view__descriptor);
    CHECK(v && streq(v->status, "opened") && streq(v->account_id, "acc-a") &&
          streq(v->product_type, "seal-card") && v->opened_at_us == pt_now - 5000000 &&
          streq(v->product_id, ""));
    if (v)
        tp__production__job_view__free_unpacked(v, NULL);
    q.order_id = "TP-2026-999999";
    svc_tc_decide(pt, "GetJob", "operator", "op", &q.base);
    REFUSED("not_found", "orderId");
    q.order_id = "";
    svc_tc_decide(pt, "GetJob", "operator", "op", &q.base);
    REFUSED("invalid", "orderId");
}

/* ------------------------------------------------------------------ the way of a job */

static Tp__Production__FactAck *s_ack_of(const char *status, bool duplicate)
{
    Tp__Production__FactAck *a = svc_tc_reply(pt_out, &tp__production__fact_ack__descriptor);
    CHECK(a && streq(a->job_status, status) && a->duplicate == duplicate);
    return a;
}

static void s_test_flow(void)
{
    const char *id = "TP-2026-000001";
    /* certificates: serials stored in lower case, the validity is the common period */
    Tp__Production__Certificate c[2];
    Tp__Production__Certificate *cptr[2] = {&c[0], &c[1]};
    for (int i = 0; i < 2; i++) {
        tp__production__certificate__init(&c[i]);
        c[i].kind = i ? "authentication" : "seal";
        c[i].subject = "CN=Musterfirma GmbH, O=Musterfirma GmbH";
    }
    c[0].serial = "0A1B2C";
    c[1].serial = "0a1b2d";
    c[0].valid_from_us = pt_now;
    c[0].valid_to_us = pt_now + 3 * PT_YEAR;
    c[1].valid_from_us = pt_now + 1000000;
    c[1].valid_to_us = pt_now + 3 * PT_YEAR - 1000000;
    Tp__Production__RecordCertificates rc = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    rc.fact_id = "f-certs-1";
    rc.order_id = (char *) id;
    rc.n_certificates = 2;
    rc.certificates = cptr;
    CHECK(svc_tc_do(pt, "RecordCertificates", "producer", "", &rc.base) == 1);
    CHECK(svc_tc_count(pt_out, "CertificatesCreated") == 1);
    const char *stream;
    const uint8_t *payload;
    size_t len;
    svc_out_event_at(pt_out, 0, NULL, &stream, &payload, &len);
    Tp__Production__CertificatesCreated *cc =
        tp__production__certificates_created__unpack(NULL, len, payload);
    CHECK(streq(stream, "job-TP-2026-000001") && cc && cc->n_certificates == 2 &&
          streq(cc->certificates[0]->serial, "0a1b2c") && streq(cc->fact_id, "f-certs-1") &&
          cc->at_us == pt_now);
    if (cc)
        tp__production__certificates_created__free_unpacked(cc, NULL);
    Tp__Production__FactAck *a = s_ack_of("certificates", false);
    CHECK(a && streq(a->fact_id, "f-certs-1") && streq(a->order_id, id));
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    /* the same fact again: acknowledged as a duplicate, nothing written */
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    CHECK(!svc_out_failed(pt_out) && svc_out_n_events(pt_out) == 0);
    a = s_ack_of("certificates", true);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    /* another fact id with certificates again: a conflict */
    rc.fact_id = "f-certs-2";
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("certificates already recorded"));

    /* a second job: its serials must not be the first's, nor its card number */
    pt_release("TP-2026-000002", "acc-b");
    c[1].serial = "0A1B2C";
    c[0].serial = "77";
    rc.order_id = "TP-2026-000002";
    rc.fact_id = "f-certs-3";
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    REFUSED("conflict", "certificates[1].serial");
    CHECK(pt_message_has("TP-2026-000001") && svc_out_n_errors(pt_out) == 1);
    pt_certificates("TP-2026-000002", "78", pt_now, pt_now + 2 * PT_YEAR);

    Tp__Production__RecordCardProduced cp = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    cp.fact_id = "f-card-1";
    cp.order_id = (char *) id;
    cp.card_number = "DTC000123";
    CHECK(svc_tc_do(pt, "RecordCardProduced", "producer", "", &cp.base) == 1);
    a = s_ack_of("produced", false);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    cp.fact_id = "f-card-2";
    svc_tc_decide(pt, "RecordCardProduced", "producer", "", &cp.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("card already produced"));
    cp.order_id = "TP-2026-000002";
    cp.card_number = "dtc000123";
    svc_tc_decide(pt, "RecordCardProduced", "producer", "", &cp.base);
    REFUSED("conflict", "cardNumber");
    CHECK(pt_message_has("TP-2026-000001"));

    /* the PIN letter may go before the card; not with the card's tracking number */
    Tp__Production__RecordPinLetterShipped ps = TP__PRODUCTION__RECORD_PIN_LETTER_SHIPPED__INIT;
    ps.fact_id = "f-pin-1";
    ps.order_id = (char *) id;
    ps.tracking_number = "RR987654321DE";
    CHECK(svc_tc_do(pt, "RecordPinLetterShipped", "producer", "", &ps.base) == 1);
    a = s_ack_of("produced", false);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    ps.fact_id = "f-pin-2";
    svc_tc_decide(pt, "RecordPinLetterShipped", "producer", "", &ps.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("PIN letter already shipped"));
    Tp__Production__RecordPinLetterDelivered pd = TP__PRODUCTION__RECORD_PIN_LETTER_DELIVERED__INIT;
    pd.fact_id = "f-pd-1";
    pd.order_id = (char *) id;
    CHECK(svc_tc_do(pt, "RecordPinLetterDelivered", "producer", "", &pd.base) == 1);
    CHECK(svc_tc_count(pt_out, "JobCompleted") == 0);

    Tp__Production__RecordCardShipped sh = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    sh.fact_id = "f-ship-1";
    sh.order_id = (char *) id;
    sh.tracking_number = "RR987654321DE";
    svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
    REFUSED("conflict", "trackingNumber");
    sh.tracking_number = "RR123456789DE";
    CHECK(svc_tc_do(pt, "RecordCardShipped", "producer", "", &sh.base) == 1);
    svc_out_event_at(pt_out, 0, NULL, NULL, &payload, &len);
    Tp__Production__CardShipped *cs = tp__production__card_shipped__unpack(NULL, len, payload);
    CHECK(cs && streq(cs->product_id, "prd-TP-2026-000001") &&
          streq(cs->tracking_number, "RR123456789DE") && cs->at_us == pt_now);
    if (cs)
        tp__production__card_shipped__free_unpacked(cs, NULL);
    a = s_ack_of("shipped", false);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    sh.fact_id = "f-ship-2";
    svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("card already shipped"));

    /* the product exists now: nicht freigeschaltet, due after the delay */
    pt_get_product("prd-TP-2026-000001", "customer", "acc-a");
    Tp__Production__ProductView *v =
        svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
    CHECK(v && streq(v->status, "nicht_freigeschaltet") && !v->active &&
          streq(v->inactive_reason, "not_activated") && streq(v->card_number, "DTC000123") &&
          v->n_certificates == 2 && v->valid_from_us == pt_now + 1000000 &&
          v->valid_to_us == pt_now + 3 * PT_YEAR - 1000000 && v->shipped_at_us == pt_now &&
          v->activates_at_us == pt_now + PRODUCTION_ACTIVATION_DELAY_S * 1000000LL &&
          streq(v->product_type, "seal-card") && streq(v->order_id, id) &&
          streq(v->account_id, "acc-a") && streq(v->shop_id, "shop-demo"));
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);

    /* the card delivered: with the PIN letter delivered before, the job is complete */
    pt_now += PT_DAY;
    Tp__Production__RecordCardDelivered cd = TP__PRODUCTION__RECORD_CARD_DELIVERED__INIT;
    cd.fact_id = "f-cd-1";
    cd.order_id = (char *) id;
    CHECK(svc_tc_do(pt, "RecordCardDelivered", "producer", "", &cd.base) == 2);
    CHECK(svc_tc_count(pt_out, "CardDelivered") == 1 && svc_tc_count(pt_out, "JobCompleted") == 1);
    a = s_ack_of("delivered", false);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    cd.fact_id = "f-cd-2";
    svc_tc_decide(pt, "RecordCardDelivered", "producer", "", &cd.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("card already delivered"));
    pd.fact_id = "f-pd-2";
    svc_tc_decide(pt, "RecordPinLetterDelivered", "producer", "", &pd.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("PIN letter already delivered"));
    /* an old fact id stays a duplicate, even sent for another order or as another kind */
    sh.fact_id = "f-ship-1";
    sh.order_id = "TP-2026-000002";
    svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
    a = s_ack_of("delivered", true);
    CHECK(a && streq(a->order_id, id) && svc_out_n_events(pt_out) == 0);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    pd.fact_id = "f-certs-1";
    svc_tc_decide(pt, "RecordPinLetterDelivered", "operator", "op", &pd.base);
    CHECK(!svc_out_failed(pt_out) && svc_out_n_events(pt_out) == 0);
    a = s_ack_of("delivered", true);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);

    Tp__Production__GetJob q = TP__PRODUCTION__GET_JOB__INIT;
    q.order_id = (char *) id;
    svc_tc_decide(pt, "GetJob", "operator", "op", &q.base);
    Tp__Production__JobView *jv = svc_tc_reply(pt_out, &tp__production__job_view__descriptor);
    CHECK(jv && streq(jv->status, "delivered") && streq(jv->card_number, "DTC000123") &&
          streq(jv->tracking_number, "RR123456789DE") &&
          streq(jv->pin_tracking_number, "RR987654321DE") && jv->n_certificates == 2 &&
          jv->completed_at_us == pt_now && jv->card_delivered_at_us == pt_now &&
          jv->pin_delivered_at_us == pt_now - PT_DAY &&
          streq(jv->product_id, "prd-TP-2026-000001"));
    if (jv)
        tp__production__job_view__free_unpacked(jv, NULL);

    /* the second job, the other way round: card delivered first, the PIN letter completes */
    pt_produced("TP-2026-000002", "DTC000124");
    pt_shipped("TP-2026-000002", "RR000000002DE");
    cd.fact_id = "f-cd-3";
    cd.order_id = "TP-2026-000002";
    CHECK(svc_tc_do(pt, "RecordCardDelivered", "producer", "", &cd.base) == 1);
    a = s_ack_of("shipped", false);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    ps.fact_id = "f-pin-3";
    ps.order_id = "TP-2026-000002";
    ps.tracking_number = "RR000000003DE";
    CHECK(svc_tc_do(pt, "RecordPinLetterShipped", "producer", "", &ps.base) == 1);
    pd.fact_id = "f-pd-3";
    pd.order_id = "TP-2026-000002";
    CHECK(svc_tc_do(pt, "RecordPinLetterDelivered", "producer", "", &pd.base) == 2 &&
          svc_tc_count(pt_out, "JobCompleted") == 1);
    a = s_ack_of("delivered", false);
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
}

/* ------------------------------------------------------------------ queries */

static void s_test_queries(void)
{
    /* acc-a gets a second product; newest shipment first */
    pt_now += 1000000;
    pt_release("TP-2026-000003", "acc-a");
    pt_certificates("TP-2026-000003", "abcdef", pt_now, pt_now + PT_YEAR);
    pt_produced("TP-2026-000003", "DTC000125");
    pt_shipped("TP-2026-000003", "RR000000005DE");
    pt_release("TP-2026-000004", "acc-a"); /* not shipped: no product yet */

    Tp__Production__ListProducts lp = TP__PRODUCTION__LIST_PRODUCTS__INIT;
    svc_tc_decide(pt, "ListProducts", "customer", "acc-a", &lp.base);
    Tp__Production__ProductList *list =
        svc_tc_reply(pt_out, &tp__production__product_list__descriptor);
    CHECK(list && list->n_products == 2);
    if (list && list->n_products == 2)
        CHECK(streq(list->products[0]->product_id, "prd-TP-2026-000003") &&
              streq(list->products[1]->product_id, "prd-TP-2026-000001") &&
              list->products[1]->n_certificates == 2);
    if (list)
        tp__production__product_list__free_unpacked(list, NULL);
    svc_tc_decide(pt, "ListProducts", "customer", "acc-b", &lp.base);
    list = svc_tc_reply(pt_out, &tp__production__product_list__descriptor);
    CHECK(list && list->n_products == 1 && streq(list->products[0]->account_id, "acc-b"));
    if (list)
        tp__production__product_list__free_unpacked(list, NULL);
    svc_tc_decide(pt, "ListProducts", "customer", "acc-nobody", &lp.base);
    list = svc_tc_reply(pt_out, &tp__production__product_list__descriptor);
    CHECK(list && list->n_products == 0);
    if (list)
        tp__production__product_list__free_unpacked(list, NULL);
    svc_tc_decide(pt, "ListProducts", "customer", "", &lp.base);
    REFUSED("forbidden", "");

    /* another account's product is exactly like a missing one */
    pt_get_product("prd-TP-2026-000001", "customer", "acc-b");
    REFUSED("not_found", "productId");
    const char *m1;
    svc_out_error_at(pt_out, 0, NULL, NULL, &m1);
    char msg[128];
    snprintf(msg, sizeof msg, "%s", m1);
    pt_get_product("prd-TP-2026-424242", "customer", "acc-b");
    REFUSED("not_found", "productId");
    svc_out_error_at(pt_out, 0, NULL, NULL, &m1);
    CHECK(streq(msg, m1));
    pt_get_product("prd-TP-2026-000004", "customer", "acc-a"); /* not shipped */
    REFUSED("not_found", "productId");
    pt_get_product("prd-TP-2026-000001", "customer", "");
    REFUSED("forbidden", "");
    pt_get_product("", "customer", "acc-a");
    REFUSED("invalid", "productId");
    pt_get_product("prd-TP-2026-000001", "operator", "");
    Tp__Production__ProductView *v =
        svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
    CHECK(v && streq(v->account_id, "acc-a"));
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
    pt_get_product("prd-TP-2026-000002", "system", "");
    v = svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
    CHECK(v && streq(v->account_id, "acc-b") && v->valid_to_us > 0);
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
}

/* ------------------------------------------------------------------ replay */

static void s_test_replay(void)
{
    char *before = production_def.summary(svc_tc_state(pt));
    void *again = pt_rebuild("");
    char *after = production_def.summary(again);
    CHECK(before && after && streq(before, after));
    CHECK(strstr(before, "\"jobs\":4,") && strstr(before, "\"products\":3,") &&
          strstr(before, "\"delivered\":2,") && strstr(before, "\"opened\":1,"));
    if (svc_tc_verbose())
        printf("summary: %s\n", before);
    /* the rebuilt state decides the same: an old fact is a duplicate there too */
    void *mine = svc_tc_set_state(pt, again);
    Tp__Production__RecordCardProduced cp = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    cp.fact_id = "f-card-1";
    cp.order_id = "TP-2026-000004";
    cp.card_number = "X1";
    svc_tc_decide(pt, "RecordCardProduced", "producer", "", &cp.base);
    Tp__Production__FactAck *a = svc_tc_reply(pt_out, &tp__production__fact_ack__descriptor);
    CHECK(a && a->duplicate && streq(a->order_id, "TP-2026-000001"));
    if (a)
        tp__production__fact_ack__free_unpacked(a, NULL);
    svc_tc_set_state(pt, mine);
    /* unknown events and junk payloads are ignored by apply */
    uint8_t junk[] = {0x0a, 0xff};
    static const char *const types[] = {"JobOpened",        "CertificatesCreated", "CardShipped",
                                        "ProductActivated", "ProductRevoked",      "Unheard"};
    for (int i = 0; i < 6; i++) {
        svc_event_t odd = {9999, "job-x", 1, types[i], 0, junk, sizeof junk};
        production_def.apply(again, &odd);
    }
    char *odd_sum = production_def.summary(again);
    CHECK(odd_sum && strstr(odd_sum, "\"jobs\":4,"));
    free(odd_sum);
    production_def.state_destroy(&again);
    CHECK(again == NULL);
    free(before);
    free(after);
}

static void s_setup(void)
{
    CHECK(sodium_init() >= 0);
    pt = svc_tc_new(&production_def);
    assert(pt);
    svc_tc_hold(pt, true);
    svc_tc_use_clock(pt, &pt_now);
    svc_tc_configure(pt, NULL);
    pt_out = svc_tc_out(pt);
    CHECK(production_def.upstreams && streq(production_def.upstreams[0], "order") &&
          streq(production_def.upstreams[1], "revocation") && !production_def.upstreams[2]);
    for (size_t i = 0; i < production_def.n_commands; i++)
        CHECK(production_def.commands[i].name && production_def.commands[i].body &&
              production_def.commands[i].decide && production_def.commands[i].reply);
}

static void s_teardown(void)
{
    svc_tc_destroy(&pt);
}

/* --test core: the core, the tests one after the other on the same state; --test runtime:
 * in the runtime; -v: more output, and the runtime's log. */
static const svc_tc_test_t s_tests[] = {
    {"jobs", s_test_jobs, "core"},
    {"refusals", pt_test_fact_refusals, "core"},
    {"flow", s_test_flow, "core"},
    {"queries", s_test_queries, "core"},
    {"replay", s_test_replay, "core"},
    {"timer", pt_test_timer, "core"},
    {"revocation", pt_test_revocation, "core"},
    {"runtime", pt_test_runtime, NULL},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv,
                       &(svc_tc_suite_t){"production_test", s_tests, s_setup, s_teardown});
}
