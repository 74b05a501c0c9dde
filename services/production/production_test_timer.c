/* production_test_timer.c: the production core's time-driven paths with an injected
 * clock: the activation delay from the settings, activation once (also across restarts,
 * before and after the due time), expiry against the clock, and the revocation service's
 * events (a revoked product never activates). Continues the state of production_test.c:
 * products prd-TP-2026-000001..3 shipped at T0, T0 + 1 day, T0 + 1 day + 1 s. */
#include <string.h>
#include "production_test.h"

static int64_t s_t0; /* when the first product was shipped */

/* "Restarts" the service: the state is rebuilt from the log, with @p delay_s. */
static void s_restart(const char *delay_s)
{
    void *before = svc_tc_set_state(pt, pt_rebuild(delay_s));
    production_def.state_destroy(&before);
}

/* The product id of ProductActivated event @p i in pt_out ("" when none). */
static const char *s_activated(size_t i)
{
    static char id[96];
    const char *type, *stream;
    const uint8_t *payload;
    size_t len;
    id[0] = '\0';
    if (svc_out_event_at(pt_out, i, &type, &stream, &payload, &len) != 0 ||
        !streq(type, "ProductActivated"))
        return id;
    Tp__Production__ProductActivated *e =
        tp__production__product_activated__unpack(NULL, len, payload);
    if (e && e->at_us == pt_now && !strncmp(stream, "product-", 8) &&
        streq(stream + 8, e->product_id))
        snprintf(id, sizeof id, "%s", e->product_id);
    if (e)
        tp__production__product_activated__free_unpacked(e, NULL);
    return id;
}

/* GetProduct as the operator: status, active, reason, activates_at checked. */
static void s_expect(const char *product_id, const char *status, bool active, const char *reason,
                     int64_t activates_at)
{
    pt_get_product(product_id, "operator", "op");
    Tp__Production__ProductView *v =
        svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
    CHECK(v && streq(v->status, status) && v->active == active &&
          streq(v->inactive_reason, reason) && v->activates_at_us == activates_at);
    if (v && svc_tc_verbose())
        printf("  %s: %s active=%d reason=%s activates_at=%lld\n", product_id, v->status, v->active,
               v->inactive_reason, (long long) v->activates_at_us);
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
}

/* Releases, produces and ships a card for @p order_id now; @p tag makes its ids unique. */
static void s_ship(const char *order_id, const char *account, const char *tag)
{
    char serial[16], card[16], tracking[32];
    snprintf(serial, sizeof serial, "c0%s", tag);
    snprintf(card, sizeof card, "DTC9%s", tag);
    snprintf(tracking, sizeof tracking, "RR9%sDE", tag);
    pt_release(order_id, account);
    pt_certificates(order_id, serial, pt_now - PT_DAY, pt_now + 2 * PT_YEAR);
    pt_produced(order_id, card);
    pt_shipped(order_id, tracking);
}

static void s_test_settings(void)
{
    const int64_t day = 86400LL * 1000000;
    const int64_t shipped3 = s_t0 + day + 1000000;
    static const struct {
        const char *value; /* NULL: no config at all; "": not set */
        int64_t delay_us;
    } cases[] = {{NULL, 86400LL * 1000000},  {"", 86400LL * 1000000},
                 {"60", 60000000},           {"0", 0},
                 {"abc", 86400LL * 1000000}, {"-5", 86400LL * 1000000},
                 {"12x", 86400LL * 1000000}, {"999999999999", 86400LL * 1000000}};
    void *mine = svc_tc_set_state(pt, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        svc_tc_set_state(pt, pt_rebuild(cases[i].value));
        pt_get_product("prd-TP-2026-000003", "operator", "op");
        Tp__Production__ProductView *v =
            svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
        CHECK(v && v->activates_at_us == shipped3 + cases[i].delay_us);
        if (v)
            tp__production__product_view__free_unpacked(v, NULL);
        void *st = svc_tc_set_state(pt, NULL);
        production_def.state_destroy(&st);
    }
    svc_tc_set_state(pt, mine);
}

void pt_test_timer(void)
{
    s_t0 = pt_now - PT_DAY - 1000000;
    const int64_t delay = 86400LL * 1000000;
    s_test_settings();

    /* the first product is due (shipped a day and a second ago): once */
    s_expect("prd-TP-2026-000001", "nicht_freigeschaltet", false, "not_activated", s_t0 + delay);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 1 && streq(s_activated(0), "prd-TP-2026-000001"));
    svc_tc_commit(pt);
    s_expect("prd-TP-2026-000001", "gueltig", true, "", 0);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);

    /* a restart before the next is due: nothing fires twice, the next fires when due */
    s_restart("");
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    pt_now = s_t0 + 2 * delay - 1;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    pt_now = s_t0 + 2 * delay;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 1 && streq(s_activated(0), "prd-TP-2026-000002"));
    svc_tc_commit(pt);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    s_expect("prd-TP-2026-000003", "nicht_freigeschaltet", false, "not_activated",
             s_t0 + 2 * delay + 1000000);

    /* down over the third one's due time: the first tick after the restart fires it */
    pt_now = s_t0 + 3 * delay;
    s_restart("");
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 1 && streq(s_activated(0), "prd-TP-2026-000003"));
    svc_tc_commit(pt);
    s_restart("");
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    s_expect("prd-TP-2026-000003", "gueltig", true, "", 0);

    /* expiry, against the clock of the query: prd-3's certificate runs one year */
    Tp__Production__ListProducts lp = TP__PRODUCTION__LIST_PRODUCTS__INIT;
    int64_t now = pt_now;
    pt_get_product("prd-TP-2026-000003", "customer", "acc-a");
    Tp__Production__ProductView *v =
        svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
    int64_t valid_to = v ? v->valid_to_us : 0;
    CHECK(v && v->active && valid_to > pt_now);
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
    pt_now = valid_to - 1;
    s_expect("prd-TP-2026-000003", "gueltig", true, "", 0);
    pt_now = valid_to;
    s_expect("prd-TP-2026-000003", "gueltig", false, "expired", 0);
    svc_tc_decide(pt, "ListProducts", "customer", "acc-a", &lp.base);
    Tp__Production__ProductList *list =
        svc_tc_reply(pt_out, &tp__production__product_list__descriptor);
    CHECK(list && list->n_products == 2);
    if (list && list->n_products == 2)
        CHECK(!list->products[0]->active && streq(list->products[0]->inactive_reason, "expired") &&
              list->products[1]->active); /* prd-1 runs three years */
    if (list)
        tp__production__product_list__free_unpacked(list, NULL);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0); /* expiry writes nothing */
    pt_now = now;

    /* a shorter delay from the settings: 60 s after shipping, at the tick after that */
    s_restart("60");
    s_ship("TP-2026-000005", "acc-c", "5");
    int64_t shipped = pt_now;
    s_expect("prd-TP-2026-000005", "nicht_freigeschaltet", false, "not_activated",
             shipped + 60000000);
    pt_now = shipped + 59999999;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    pt_now = shipped + 60000000;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 1 && streq(s_activated(0), "prd-TP-2026-000005"));
    svc_tc_commit(pt);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    /* the activation is in the log: a replay with another delay rebuilds the same state */
    s_restart("");
    s_expect("prd-TP-2026-000005", "gueltig", true, "", 0);
    s_restart("60");

    /* the tick walks the waiting products in shipping order and stops at the first one
     * not due: one shipped 5 s later waits for its own time; one shipped after a wall
     * clock set back by 10 s (due earlier than the one before it) waits behind that one,
     * no longer than the step */
    s_ship("TP-2026-000007", "acc-c", "7");
    int64_t s7 = pt_now;
    pt_now = s7 + 5000000;
    s_ship("TP-2026-000008", "acc-c", "8");
    pt_now = s7 + 60000000;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 1 && streq(s_activated(0), "prd-TP-2026-000007"));
    svc_tc_commit(pt);
    pt_now = s7 + 65000000;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 1 && streq(s_activated(0), "prd-TP-2026-000008"));
    svc_tc_commit(pt);
    pt_now = s7 + 100000000;
    s_ship("TP-2026-000009", "acc-c", "9");
    pt_now = s7 + 90000000; /* the clock set back by 10 s */
    s_ship("TP-2026-000010", "acc-c", "10");
    pt_now = s7 + 150000000; /* TP-2026-000010 due, TP-2026-000009 not yet */
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    pt_now = s7 + 160000000;
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 2 && streq(s_activated(0), "prd-TP-2026-000009") &&
          streq(s_activated(1), "prd-TP-2026-000010"));
    svc_tc_commit(pt);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
}

/* ------------------------------------------------------------------ revocation */

static void s_requested(const char *product_id, const char *request_id)
{
    Tp__Revocation__RevocationRequested e = TP__REVOCATION__REVOCATION_REQUESTED__INIT;
    e.request_id = (char *) request_id;
    e.product_id = (char *) product_id;
    e.order_id = "ignored";
    e.reason = "card_lost";
    svc_tc_react(pt, "revocation", "RevocationRequested", &e.base);
}

static void s_completed(const char *product_id, const char *request_id)
{
    Tp__Revocation__RevocationCompleted e = TP__REVOCATION__REVOCATION_COMPLETED__INIT;
    e.request_id = (char *) request_id;
    e.product_id = (char *) product_id;
    svc_tc_react(pt, "revocation", "RevocationCompleted", &e.base);
}

void pt_test_revocation(void)
{
    /* a product not yet activated: pending, then revoked; never activated afterwards */
    s_ship("TP-2026-000006", "acc-c", "6");
    int64_t shipped = pt_now;
    pt_now += 1000000;
    s_requested("prd-TP-2026-000006", "rev-1");
    CHECK(svc_out_n_events(pt_out) == 1 && svc_tc_count(pt_out, "ProductRevocationPending") == 1);
    const char *stream;
    const uint8_t *payload;
    size_t len;
    svc_out_event_at(pt_out, 0, NULL, &stream, &payload, &len);
    Tp__Production__ProductRevocationPending *p =
        tp__production__product_revocation_pending__unpack(NULL, len, payload);
    CHECK(streq(stream, "product-prd-TP-2026-000006") && p && streq(p->request_id, "rev-1") &&
          p->at_us == pt_now);
    if (p)
        tp__production__product_revocation_pending__free_unpacked(p, NULL);
    svc_tc_commit(pt);
    s_expect("prd-TP-2026-000006", "sperrung_in_bearbeitung", false, "revoked", 0);
    s_requested("prd-TP-2026-000006", "rev-2"); /* one pending revocation is enough */
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    pt_now = shipped + 120000000; /* past the 60 s delay: still no activation */
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    s_completed("prd-TP-2026-000006", "rev-1");
    CHECK(svc_out_n_events(pt_out) == 1 && svc_tc_count(pt_out, "ProductRevoked") == 1);
    svc_tc_commit(pt);
    s_expect("prd-TP-2026-000006", "gesperrt", false, "revoked", 0);
    s_completed("prd-TP-2026-000006", "rev-1"); /* a repeat changes nothing */
    CHECK(svc_out_n_events(pt_out) == 0);
    s_requested("prd-TP-2026-000006", "rev-3");
    CHECK(svc_out_n_events(pt_out) == 0);
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    s_restart("60");
    svc_tc_tick(pt);
    CHECK(svc_out_n_events(pt_out) == 0);
    s_expect("prd-TP-2026-000006", "gesperrt", false, "revoked", 0);

    /* an active product: pending, then revoked; the validity does not bring it back */
    s_requested("prd-TP-2026-000001", "rev-4");
    CHECK(svc_tc_count(pt_out, "ProductRevocationPending") == 1);
    svc_tc_commit(pt);
    s_expect("prd-TP-2026-000001", "sperrung_in_bearbeitung", false, "revoked", 0);
    pt_now += 60000000;
    s_completed("prd-TP-2026-000001", "rev-4");
    CHECK(svc_tc_count(pt_out, "ProductRevoked") == 1);
    svc_tc_commit(pt);
    pt_get_product("prd-TP-2026-000001", "customer", "acc-a");
    Tp__Production__ProductView *v =
        svc_tc_reply(pt_out, &tp__production__product_view__descriptor);
    CHECK(v && streq(v->status, "gesperrt") && !v->active && v->revoked_at_us == pt_now &&
          v->activated_at_us > 0);
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);

    /* completed without a pending one seen first: revoked all the same */
    s_completed("prd-TP-2026-000002", "rev-5");
    CHECK(svc_out_n_events(pt_out) == 1 && svc_tc_count(pt_out, "ProductRevoked") == 1);
    svc_tc_commit(pt);
    s_expect("prd-TP-2026-000002", "gesperrt", false, "revoked", 0);

    /* unknown products are logged and ignored; junk is refused; other upstreams ignored */
    s_requested("prd-TP-2026-424242", "rev-6");
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    s_completed("prd-TP-2026-000004", "rev-7"); /* released, not shipped */
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    Tp__Revocation__RevocationRequested e = TP__REVOCATION__REVOCATION_REQUESTED__INIT;
    e.product_id = "prd-TP-2026-000003";
    e.request_id = "rev-8";
    svc_tc_react(pt, "order", "RevocationRequested", &e.base);
    CHECK(svc_out_n_events(pt_out) == 0 && !svc_out_failed(pt_out));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    static const char *const types[] = {"RevocationRequested", "RevocationCompleted"};
    for (int i = 0; i < 2; i++) {
        svc_tc_react_raw(pt, "revocation", types[i], junk, sizeof junk);
        CHECK(svc_out_failed(pt_out) && svc_out_n_events(pt_out) == 0);
    }

    /* what a restart rebuilds is what we have */
    char *before = production_def.summary(svc_tc_state(pt));
    void *again = pt_rebuild("60");
    char *after = production_def.summary(again);
    CHECK(before && after && streq(before, after) && strstr(before, "\"gesperrt\":3,") &&
          strstr(before, "\"waitingForActivation\":0,"));
    if (svc_tc_verbose())
        printf("summary: %s\n", before);
    free(before);
    free(after);
    production_def.state_destroy(&again);
}
