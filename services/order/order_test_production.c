/* order_test_production.c: tests of the order following its production job, event by
 * event: JobOpened, CardProduced, CardShipped and JobCompleted of the production service
 * become the order's status (in_produktion, versendet, fertig), steps, tracking number
 * and archive; repeats, other facts, strangers' orders and other upstreams change
 * nothing. */
#include <string.h>
#include "order_test.h"
#include "production.pb-c.h"

/* One event of type @p type written to the order's stream; returns its payload. */
static bool s_one(const char *type, const char *order_id, const uint8_t **payload, size_t *len)
{
    const char *t, *stream;
    bool ok = svc_out_n_events(ot_out) == 1 && !svc_out_failed(ot_out) &&
              svc_out_event_at(ot_out, 0, &t, &stream, payload, len) == 0 && streq(t, type) &&
              !strncmp(stream, "order-", 6) && streq(stream + 6, order_id);
    return ok;
}

static Tp__Order__OrderView *s_get(const char *order_id)
{
    Tp__Order__GetOrder q = TP__ORDER__GET_ORDER__INIT;
    q.order_id = (char *) order_id;
    svc_tc_decide(ot, "GetOrder", "customer", "acc-p", &q.base);
    return svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
}

/* Number of acc-p's orders in the active list or the archive, and whether @p id is one. */
static size_t s_listed(bool archived, const char *id, bool *found)
{
    Tp__Order__ListOrders lo = TP__ORDER__LIST_ORDERS__INIT;
    lo.archived = archived;
    svc_tc_decide(ot, "ListOrders", "customer", "acc-p", &lo.base);
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(ot_out, &len);
    Tp__Order__OrderList *list = b ? tp__order__order_list__unpack(NULL, len, b) : NULL;
    size_t n = list ? list->n_orders : 0;
    *found = false;
    for (size_t i = 0; i < n; i++)
        *found |= streq(list->orders[i]->order_id, id) && list->orders[i]->archived == archived;
    if (list)
        tp__order__order_list__free_unpacked(list, NULL);
    return n;
}

void ot_test_production(void)
{
    char id[64];
    ot_released("acc-p", id, sizeof id);
    const uint8_t *payload;
    size_t len;
    bool found;

    /* the job opens: the production step is in progress */
    Tp__Production__JobOpened jo = TP__PRODUCTION__JOB_OPENED__INIT;
    jo.order_id = id;
    jo.account_id = "acc-p";
    jo.at_us = ot_now + 1000000;
    svc_tc_react(ot, "identification", "JobOpened", &jo.base); /* not from production: ignored */
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));
    svc_tc_react(ot, "production", "JobOpened", &jo.base);
    CHECK(s_one("ProductionStarted", id, &payload, &len));
    Tp__Order__ProductionStarted *ps = tp__order__production_started__unpack(NULL, len, payload);
    CHECK(ps && streq(ps->order_id, id) && ps->at_us == ot_now + 1000000);
    if (ps)
        tp__order__production_started__free_unpacked(ps, NULL);
    svc_tc_commit(ot);
    svc_tc_react(ot, "production", "JobOpened", &jo.base); /* a repeat changes nothing */
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));
    Tp__Order__OrderView *v = s_get(id);
    CHECK(v && streq(v->status, "in_produktion") && v->n_steps == 6);
    if (v && v->n_steps == 6)
        CHECK(streq(v->steps[3]->name, "production") && !v->steps[3]->done &&
              v->steps[3]->started_at_us == ot_now + 1000000 && !v->steps[4]->done);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);

    /* strangers' orders and junk */
    jo.order_id = "TP-2099-999999";
    svc_tc_react(ot, "production", "JobOpened", &jo.base);
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    static const char *const types[] = {"JobOpened", "CardProduced", "CardShipped", "JobCompleted"};
    for (int i = 0; i < 4; i++) {
        svc_tc_react_raw(ot, "production", types[i], junk, sizeof junk);
        CHECK(svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 0);
    }

    /* the card produced: the production step is done */
    ot_now += 3600 * 1000000LL;
    Tp__Production__CardProduced cp = TP__PRODUCTION__CARD_PRODUCED__INIT;
    cp.fact_id = "card-1";
    cp.order_id = id;
    cp.card_number = "DTC1";
    cp.at_us = ot_now;
    svc_tc_react(ot, "production", "CardProduced", &cp.base);
    CHECK(s_one("OrderProduced", id, &payload, &len));
    svc_tc_commit(ot);
    svc_tc_react(ot, "production", "CardProduced", &cp.base);
    CHECK(svc_out_n_events(ot_out) == 0);
    v = s_get(id);
    CHECK(v && streq(v->status, "in_produktion") && v->steps[3]->done &&
          v->steps[3]->done_at_us == ot_now);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);

    /* the PIN letter's facts and a delivery of the card alone are not the order's news */
    Tp__Production__PinLetterShipped pls = TP__PRODUCTION__PIN_LETTER_SHIPPED__INIT;
    pls.order_id = id;
    pls.tracking_number = "RR000000009DE";
    svc_tc_react(ot, "production", "PinLetterShipped", &pls.base);
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));

    /* shipped: versendet, with the tracking number; still in the active list */
    ot_now += 3600 * 1000000LL;
    Tp__Production__CardShipped cs = TP__PRODUCTION__CARD_SHIPPED__INIT;
    cs.fact_id = "ship-1";
    cs.order_id = id;
    cs.tracking_number = "RR123456789DE";
    char product_id[80];
    snprintf(product_id, sizeof product_id, "prd-%s", id);
    cs.product_id = product_id;
    svc_tc_react(ot, "production", "CardShipped", &cs.base);
    CHECK(s_one("OrderShipped", id, &payload, &len));
    Tp__Order__OrderShipped *os = tp__order__order_shipped__unpack(NULL, len, payload);
    CHECK(os && streq(os->tracking_number, "RR123456789DE") && os->at_us == ot_now &&
          !strncmp(os->card_product_id, "prd-TP-", 7));
    if (os)
        tp__order__order_shipped__free_unpacked(os, NULL);
    svc_tc_commit(ot);
    svc_tc_react(ot, "production", "CardShipped", &cs.base);
    CHECK(svc_out_n_events(ot_out) == 0);
    v = s_get(id);
    CHECK(v && streq(v->status, "versendet") && !v->archived &&
          streq(v->tracking_number, "RR123456789DE") && !strncmp(v->card_product_id, "prd-", 4) &&
          streq(v->card_product_id + 4, id) && v->steps[4]->done &&
          streq(v->steps[4]->detail, "RR123456789DE") && !v->steps[5]->done);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    size_t active = s_listed(false, id, &found);
    CHECK(found && active >= 1);
    CHECK(s_listed(true, id, &found) == 0 && !found);

    Tp__Production__CardDelivered cd = TP__PRODUCTION__CARD_DELIVERED__INIT;
    cd.order_id = id;
    svc_tc_react(ot, "production", "CardDelivered", &cd.base);
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));
    Tp__Production__PinLetterDelivered pd = TP__PRODUCTION__PIN_LETTER_DELIVERED__INIT;
    pd.order_id = id;
    svc_tc_react(ot, "production", "PinLetterDelivered", &pd.base);
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));

    /* card and PIN letter delivered: fertig, and from the active list into the archive */
    ot_now += 86400 * 1000000LL;
    Tp__Production__JobCompleted jc = TP__PRODUCTION__JOB_COMPLETED__INIT;
    jc.order_id = id;
    jc.at_us = 0; /* without a time of its own: when the production service recorded it */
    svc_tc_react(ot, "production", "JobCompleted", &jc.base);
    CHECK(s_one("OrderDelivered", id, &payload, &len));
    Tp__Order__OrderDelivered *od = tp__order__order_delivered__unpack(NULL, len, payload);
    CHECK(od && od->at_us == ot_now);
    if (od)
        tp__order__order_delivered__free_unpacked(od, NULL);
    svc_tc_commit(ot);
    svc_tc_react(ot, "production", "JobCompleted", &jc.base);
    CHECK(svc_out_n_events(ot_out) == 0);
    v = s_get(id);
    CHECK(v && streq(v->status, "fertig") && v->archived && v->steps[5]->done &&
          v->steps[5]->done_at_us == ot_now && streq(v->tracking_number, "RR123456789DE"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    CHECK(s_listed(false, id, &found) == active - 1 && !found);
    CHECK(s_listed(true, id, &found) == 1 && found);
    /* a late repeat of an earlier step does not take it back */
    jo.order_id = id;
    svc_tc_react(ot, "production", "JobOpened", &jo.base);
    CHECK(svc_out_n_events(ot_out) == 0);
    svc_tc_react(ot, "production", "CardShipped", &cs.base);
    CHECK(svc_out_n_events(ot_out) == 0);
    char *sum = order_def.summary(svc_tc_state(ot));
    CHECK(sum && strstr(sum, "\"fertig\":1,"));
    free(sum);
}
