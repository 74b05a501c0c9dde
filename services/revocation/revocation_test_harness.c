/* revocation_test_harness.c: the revocation core under test, and the fixtures of its unit
 * tests. */
#include "revocation_test.h"

svc_tc_t *rtest_new(void)
{
    svc_tc_t *w = svc_tc_new(&revocation_def);
    assert(w);
    zconfig_t *cfg = zconfig_new("root", NULL);
    zconfig_put(cfg, "revocation/processing_delay_s", "60");
    zconfig_put(cfg, "revocation/alarm_after_s", "600");
    svc_tc_configure(w, &cfg);
    svc_tc_set_now(w, T0);
    svc_tc_set_step(w, 1000);
    svc_tc_set_random(w, SVC_TC_RANDOM_COUNTED);
    svc_tc_set_client(w, RTEST_CLIENT);
    return w;
}

/* ------------------------------------------------------------------ fixtures */

size_t rtest_order(svc_tc_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *hash)
{
    Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
    e.order_id = (char *) order;
    e.account_id = (char *) account;
    e.shop_id = (char *) shop;
    e.product_id = (char *) type;
    e.ident_method = "postident";
    e.revocation_password_hash = (char *) hash;
    e.placed_at_us = svc_tc_now(w);
    return svc_tc_react(w, "order", NULL, &e.base);
}

size_t rtest_certificates(svc_tc_t *w, const char *order, const char *serial1, const char *serial2)
{
    Tp__Production__Certificate c1 = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate c2 = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate *certs[] = {&c1, &c2};
    c1.serial = (char *) serial1;
    c1.kind = "signature";
    c2.serial = (char *) serial2;
    c2.kind = "authentication";
    Tp__Production__CertificatesCreated e = TP__PRODUCTION__CERTIFICATES_CREATED__INIT;
    e.fact_id = "f-cert";
    e.order_id = (char *) order;
    e.certificates = certs;
    e.n_certificates = serial2 ? 2 : 1;
    e.at_us = svc_tc_now(w);
    return svc_tc_react(w, "production", NULL, &e.base);
}

size_t rtest_produced(svc_tc_t *w, const char *order, const char *card)
{
    Tp__Production__CardProduced e = TP__PRODUCTION__CARD_PRODUCED__INIT;
    e.fact_id = "f-prod";
    e.order_id = (char *) order;
    e.card_number = (char *) card;
    e.at_us = svc_tc_now(w);
    return svc_tc_react(w, "production", NULL, &e.base);
}

size_t rtest_shipped(svc_tc_t *w, const char *order)
{
    char product[96];
    snprintf(product, sizeof product, "prd-%s", order);
    Tp__Production__CardShipped e = TP__PRODUCTION__CARD_SHIPPED__INIT;
    e.fact_id = "f-ship";
    e.order_id = (char *) order;
    e.tracking_number = "RR123456789DE";
    e.at_us = svc_tc_now(w);
    e.product_id = product;
    return svc_tc_react(w, "production", NULL, &e.base);
}

void rtest_product(svc_tc_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *card)
{
    char s1[96], s2[96];
    snprintf(s1, sizeof s1, "%s-S1", order);
    snprintf(s2, sizeof s2, "%s-S2", order);
    CHECK(rtest_order(w, order, account, shop, type, RTEST_HASH) == 1);
    CHECK(rtest_certificates(w, order, s1, s2) == 1);
    CHECK(rtest_produced(w, order, card) == 1);
    CHECK(rtest_shipped(w, order) == 1);
}

void rtest_seed(svc_tc_t *w)
{
    rtest_product(w, "TP-2026-000001", "acc-anna", "", "signature-card", "4711 0001");
    rtest_product(w, "TP-2026-000002", "acc-bert", "shop-a", "seal-card", "4711 0002");
    rtest_product(w, "TP-2026-000003", "acc-bert", "shop-a", "signature-card", "4711 0003");
    rtest_product(w, "TP-2026-000004", "acc-cora", "shop-b", "seal-card", "4711 0004");
    CHECK(rtest_order(w, "TP-2026-000005", "acc-anna", "", "signature-card", RTEST_HASH) == 1);
    CHECK(svc_tc_officer(w, "acc-oa", "shop-a", true) == 1);
    CHECK(svc_tc_officer(w, "acc-ob", "shop-b", true) == 1);
    CHECK(svc_tc_officer(w, "acc-rev", "shop-a", true) == 1);
    CHECK(svc_tc_officer(w, "acc-rev", "shop-a", false) == 1);
}
