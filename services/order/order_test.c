/* order_test.c: unit tests of the order core, event by event: seed, shops, orders
 * and every refusal, the identification reactions, the release, scoping, replay.
 * The documents are tested in order_test_docs.c, following the production service in
 * order_test_production.c. */
#include <inttypes.h>
#include <sodium.h>
#include <string.h>
#include "order_pdf.h"
#include "order_test.h"

svc_tc_t *ot = NULL;
svc_out_t *ot_out = NULL;
int64_t ot_now = 1772359200LL * 1000000;   /* 2026-03-01 10:00:00 UTC */

#define FAKE_HASH "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

void ot_form(ot_form_t *f, const char *product, const char *method, const char *shop)
{
    tp__order__address__init(&f->addr);
    f->addr.street = "Hauptstraße 1";
    f->addr.postal_code = "10115";
    f->addr.city = "Berlin";
    f->addr.country = "DE";
    tp__order__applicant__init(&f->app);
    f->app.given_names = "Jürgen Anton";
    f->app.family_name = "Müller-Lüdenscheidt";
    f->app.birth_date = "1980-05-17";
    f->app.birth_place = "Köln";
    f->app.nationality = "DE";
    f->app.address = &f->addr;
    f->app.email = "juergen@example.de";
    f->app.phone = "+49 30 1234567";
    f->app.document_type = "id-card";
    f->app.document_number = "L01X00T47";
    f->app.document_authority = "Bürgeramt Berlin-Mitte";
    f->app.document_expiry = "2030-01-31";
    f->org_addr = f->addr;
    f->org_addr.street = "Industriestraße 5";
    tp__order__representative__init(&f->rep);
    f->rep.given_names = "Erika";
    f->rep.family_name = "Mustermann";
    f->rep.role = "Geschäftsführerin";
    f->reps[0] = &f->rep;
    tp__order__organization__init(&f->org);
    f->org.name = "Musterfirma GmbH";
    f->org.register_court = "Amtsgericht Charlottenburg";
    f->org.register_number = "HRB 12345";
    f->org.address = &f->org_addr;
    f->org.n_representatives = 1;
    f->org.representatives = f->reps;
    tp__order__place_order__init(&f->cmd);
    f->cmd.product_id = (char *) product;
    f->cmd.shop_id = (char *) (shop ? shop : "");
    f->cmd.applicant = &f->app;
    f->cmd.organization = streq(product, "seal-card") ? &f->org : NULL;
    f->cmd.ident_method = (char *) method;
    f->cmd.revocation_password = FAKE_HASH;   /* as prepare leaves it */
    f->cmd.language = "de";
}

const char *ot_place(ot_form_t *f, const char *account)
{
    static char id[64];
    svc_tc_decide(ot, "PlaceOrder", "customer", account, &f->cmd.base);
    CHECK(!svc_out_failed(ot_out) && svc_tc_count(ot_out, "OrderPlaced") == 1);
    Tp__Order__OrderView *v = svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
    snprintf(id, sizeof id, "%s", v ? v->order_id : "");
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    svc_tc_commit(ot);
    return *id ? id : NULL;
}

/* ------------------------------------------------------------------ seed */

static void s_test_seed(void)
{
    /* before the seed is written, queries answer from it */
    Tp__Order__GetCatalog gc = TP__ORDER__GET_CATALOG__INIT;
    svc_tc_decide(ot, "GetCatalog", "customer", "acc-a", &gc.base);
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(ot_out, &len);
    Tp__Order__Catalog *cat = tp__order__catalog__unpack(NULL, len, b);
    CHECK(cat && cat->n_products == 2 && cat->n_not_orderable == 4);
    if (cat)
        tp__order__catalog__free_unpacked(cat, NULL);
    char *sum = order_def.summary(svc_tc_state(ot));
    CHECK(strstr(sum, "\"seeded\":false") && strstr(sum, "\"products\":0"));
    free(sum);

    /* the first tick writes it: 6 products, the demo shop, the marker; then never again */
    svc_tc_tick(ot);
    CHECK(svc_tc_count(ot_out, "ProductListed") == 6 && svc_tc_count(ot_out, "ShopCreated") == 1 &&
          svc_tc_count(ot_out, "CatalogSeeded") == 1 && svc_out_n_events(ot_out) == 8);
    svc_tc_commit(ot);
    svc_out_reset(ot_out);
    order_def.tick(svc_tc_state(ot), ot_now + 1000000, ot_out);
    CHECK(svc_out_n_events(ot_out) == 0);

    /* the first command on a fresh state seeds too, ahead of its own event; once */
    void *other = order_def.state_new();
    void *mine = svc_tc_set_state(ot, other);
    Tp__Order__Shop shop = TP__ORDER__SHOP__INIT;
    shop.code = "FIRST-SHOP";
    shop.name = "Erster Shop";
    Tp__Order__CreateShop cs = TP__ORDER__CREATE_SHOP__INIT;
    cs.shop = &shop;
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    CHECK(svc_out_n_events(ot_out) == 9 && svc_tc_count(ot_out, "CatalogSeeded") == 1);
    const char *last;
    svc_out_event_at(ot_out, 8, &last, NULL, NULL, NULL);
    CHECK(streq(last, "ShopCreated"));
    for (size_t i = 0; i < svc_out_n_events(ot_out); i++) {
        const char *type, *stream;
        const uint8_t *payload;
        svc_out_event_at(ot_out, i, &type, &stream, &payload, &len);
        svc_event_t ev = {i + 1, stream, 1, type, ot_now, payload, len};
        order_def.apply(other, &ev);
    }
    /* the command's shop was created with the seed: its code is taken now */
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("conflict", "shop.code");
    CHECK(svc_out_n_events(svc_tc_tick(ot)) == 0);
    svc_tc_set_state(ot, mine);
    order_def.state_destroy(&other);
    CHECK(other == NULL);

    svc_tc_decide(ot, "GetCatalog", "customer", "acc-a", &gc.base);
    b = svc_out_reply_bytes(ot_out, &len);
    cat = tp__order__catalog__unpack(NULL, len, b);
    CHECK(cat && cat->n_products == 2 && cat->n_not_orderable == 4);
    if (cat) {
        CHECK(streq(cat->products[0]->product_id, "signature-card") &&
              cat->products[0]->n_ident_methods == 3 && cat->products[0]->organization_optional);
        CHECK(streq(cat->products[1]->product_id, "seal-card") &&
              cat->products[1]->organization_required && cat->products[1]->n_ident_methods == 2);
        for (size_t i = 0; i < cat->n_not_orderable; i++)
            CHECK(strncmp(cat->not_orderable[i]->external_url, "https://", 8) == 0 &&
                  !cat->not_orderable[i]->orderable);
        tp__order__catalog__free_unpacked(cat, NULL);
    }
    /* the demo shop's offer: both cards, with OfficerIdent and D-Trust Ident added */
    char *ids[] = {ORDER_DEMO_SHOP_ID, "nope", ORDER_DEMO_SHOP_ID};
    gc.n_shop_ids = 3;
    gc.shop_ids = ids;
    svc_tc_decide(ot, "GetCatalog", "customer", "acc-a", &gc.base);
    b = svc_out_reply_bytes(ot_out, &len);
    cat = tp__order__catalog__unpack(NULL, len, b);
    CHECK(cat && cat->n_offers == 1 && cat->n_shops == 1);
    if (cat && cat->n_offers == 1) {
        CHECK(streq(cat->shops[0]->code, "") && streq(cat->shops[0]->name, ORDER_DEMO_SHOP_NAME));
        CHECK(cat->offers[0]->n_products == 2 && cat->offers[0]->products[0]->n_ident_methods == 5 &&
              cat->offers[0]->products[1]->n_ident_methods == 4);
    }
    if (cat)
        tp__order__catalog__free_unpacked(cat, NULL);
}

/* ------------------------------------------------------------------ shops */

static void s_test_shops(void)
{
    Tp__Order__Shop shop = TP__ORDER__SHOP__INIT;
    Tp__Order__CreateShop cs = TP__ORDER__CREATE_SHOP__INIT;
    cs.shop = &shop;
    /* roles */
    shop.code = "ACME-2026";
    shop.name = "ACME AG";
    svc_tc_decide(ot, "CreateShop", "customer", "acc-a", &cs.base);
    REFUSED("forbidden", "");
    svc_tc_decide(ot, "CreateShop", "officer", "acc-a", &cs.base);
    REFUSED("forbidden", "");
    cs.shop = NULL;
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("invalid", "shop");
    cs.shop = &shop;

    /* every field wrong at once: each named */
    char *bad_products[] = {"nope", "qualified-seal-id", "seal-card", "seal-card"};
    char *bad_methods[] = {"postident", "officerident", "officerident"};
    shop.shop_id = "Bad_Id";
    shop.code = "abc";
    shop.name = "";
    shop.n_product_ids = 4;
    shop.product_ids = bad_products;
    shop.n_extra_ident_methods = 3;
    shop.extra_ident_methods = bad_methods;
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("invalid", "shop.shopId");
    CHECK(svc_tc_has_error(ot_out, "invalid", "shop.code") && svc_tc_has_error(ot_out, "invalid", "shop.name"));
    CHECK(svc_tc_has_error(ot_out, "invalid", "shop.productIds[0]") &&
          svc_tc_has_error(ot_out, "invalid", "shop.productIds[1]") &&
          !svc_tc_has_error(ot_out, "invalid", "shop.productIds[2]") &&
          svc_tc_has_error(ot_out, "invalid", "shop.productIds[3]"));
    CHECK(svc_tc_has_error(ot_out, "invalid", "shop.extraIdentMethods[0]") &&
          !svc_tc_has_error(ot_out, "invalid", "shop.extraIdentMethods[1]") &&
          svc_tc_has_error(ot_out, "invalid", "shop.extraIdentMethods[2]"));
    CHECK(svc_out_n_errors(ot_out) == 8);
    char *many[40];
    for (int i = 0; i < 40; i++)
        many[i] = "seal-card";
    shop.n_product_ids = 33;
    shop.product_ids = many;
    shop.n_extra_ident_methods = 5;
    shop.extra_ident_methods = many;
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("invalid", "shop.productIds");
    CHECK(svc_tc_has_error(ot_out, "invalid", "shop.extraIdentMethods") && !svc_tc_has_error(ot_out, "invalid", "shop.productIds[1]"));
    shop.n_product_ids = 0;
    shop.n_extra_ident_methods = 0;
    shop.code = "BAD CODE!";
    shop.shop_id = "";
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("invalid", "shop.code");
    shop.code = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456";   /* 33 */
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("invalid", "shop.code");
    /* codes are unique ignoring case; ids too */
    shop.code = "demo-shop-2026";
    shop.name = "Kopie";
    shop.n_product_ids = 0;
    shop.n_extra_ident_methods = 0;
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("conflict", "shop.code");
    shop.code = "OTHER-CODE";
    shop.shop_id = ORDER_DEMO_SHOP_ID;
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("conflict", "shop.shopId");

    /* created: the id follows the number of shops */
    char *products[] = {"seal-card"};
    char *methods[] = {"officerident"};
    shop.shop_id = "";
    shop.code = "ACME-2026";
    shop.name = "ACME AG";
    shop.n_product_ids = 1;
    shop.product_ids = products;
    shop.n_extra_ident_methods = 1;
    shop.extra_ident_methods = methods;
    CHECK(svc_tc_do(ot, "CreateShop", "operator", "op", &cs.base) == 1 && svc_tc_count(ot_out, "ShopCreated") == 1);
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(ot_out, &len);
    Tp__Order__Shop *got = tp__order__shop__unpack(NULL, len, b);
    CHECK(got && streq(got->shop_id, "shop-2") && streq(got->code, "ACME-2026"));
    if (got)
        tp__order__shop__free_unpacked(got, NULL);
    shop.code = "acme-2026";
    svc_tc_decide(ot, "CreateShop", "operator", "op", &cs.base);
    REFUSED("conflict", "shop.code");

    /* ChangeShop: roles, unknown shop, unknown field names, a taken code */
    Tp__Order__Shop ch = TP__ORDER__SHOP__INIT;
    Tp__Order__ChangeShop cc = TP__ORDER__CHANGE_SHOP__INIT;
    cc.shop = &ch;
    ch.shop_id = "shop-2";
    ch.disabled = true;
    char *only_disabled[] = {"disabled"}, *bogus[] = {"disabled", "colour"};
    cc.n_fields = 1;
    cc.fields = only_disabled;
    svc_tc_decide(ot, "ChangeShop", "customer", "acc-a", &cc.base);
    REFUSED("forbidden", "");
    ch.shop_id = "shop-99";
    svc_tc_decide(ot, "ChangeShop", "operator", "op", &cc.base);
    REFUSED("not_found", "shop.shopId");
    ch.shop_id = "shop-2";
    cc.n_fields = 2;
    cc.fields = bogus;
    svc_tc_decide(ot, "ChangeShop", "operator", "op", &cc.base);
    REFUSED("invalid", "fields[1]");
    cc.n_fields = 0;
    ch.code = "Demo-Shop-2026";
    svc_tc_decide(ot, "ChangeShop", "operator", "op", &cc.base);
    REFUSED("conflict", "shop.code");

    /* disabling changes nothing else */
    ch.code = "";
    cc.n_fields = 1;
    cc.fields = only_disabled;
    CHECK(svc_tc_do(ot, "ChangeShop", "operator", "op", &cc.base) == 1 && svc_tc_count(ot_out, "ShopChanged") == 1);
    b = svc_out_reply_bytes(ot_out, &len);
    got = tp__order__shop__unpack(NULL, len, b);
    CHECK(got && got->disabled && got->n_product_ids == 1 && got->n_extra_ident_methods == 1 &&
          streq(got->code, "ACME-2026") && streq(got->name, "ACME AG"));
    if (got)
        tp__order__shop__free_unpacked(got, NULL);
    /* a new code frees the old one */
    ch.disabled = false;
    ch.code = "ACME-NEU";
    cc.n_fields = 0;   /* all fields; the empty name is kept */
    ch.n_product_ids = 1;
    ch.product_ids = products;
    ch.n_extra_ident_methods = 1;
    ch.extra_ident_methods = methods;
    CHECK(svc_tc_do(ot, "ChangeShop", "operator", "op", &cc.base) == 1);
    Tp__Order__ListShops ls = TP__ORDER__LIST_SHOPS__INIT;
    svc_tc_decide(ot, "ListShops", "customer", "acc-a", &ls.base);
    CHECK(svc_tc_has_error(ot_out, "forbidden", ""));
    svc_tc_decide(ot, "ListShops", "operator", "op", &ls.base);
    b = svc_out_reply_bytes(ot_out, &len);
    Tp__Order__ShopList *list = tp__order__shop_list__unpack(NULL, len, b);
    CHECK(list && list->n_shops == 2);
    if (list && list->n_shops == 2)
        CHECK(streq(list->shops[0]->code, "ACME-NEU") && !list->shops[0]->disabled &&
              streq(list->shops[0]->name, "ACME AG") &&
              streq(list->shops[1]->code, ORDER_DEMO_SHOP_CODE));
    if (list)
        tp__order__shop_list__free_unpacked(list, NULL);
    shop.code = "ACME-2026";
    shop.name = "ACME Zweigstelle";
    CHECK(svc_tc_do(ot, "CreateShop", "operator", "op", &cs.base) == 1);   /* shop-3, old code free */
    ch.shop_id = "shop-3";
    ch.code = "";
    ch.disabled = true;
    cc.n_fields = 1;
    CHECK(svc_tc_do(ot, "ChangeShop", "operator", "op", &cc.base) == 1);   /* closed for the tests */
}

/* ------------------------------------------------------------------ placing */

static void s_test_place(void)
{
    ot_form_t f;
    /* success: a signature card by PostIdent, without a shop */
    ot_form(&f, "signature-card", "postident", NULL);
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    CHECK(!svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 1);
    const char *type, *stream;
    const uint8_t *payload;
    size_t len;
    svc_out_event_at(ot_out, 0, &type, &stream, &payload, &len);
    Tp__Order__OrderPlaced *e = tp__order__order_placed__unpack(NULL, len, payload);
    CHECK(e && streq(e->order_id, "TP-2026-000001") && streq(stream, "order-TP-2026-000001"));
    CHECK(e && streq(e->account_id, "acc-a") && streq(e->revocation_password_hash, FAKE_HASH) &&
          streq(e->language, "de") && e->placed_at_us == ot_now && e->organization == NULL &&
          streq(e->applicant->family_name, "Müller-Lüdenscheidt"));
    if (e)
        tp__order__order_placed__free_unpacked(e, NULL);
    Tp__Order__OrderView *v = svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
    CHECK(v && streq(v->status, "offen") && v->n_steps == 6 && v->n_documents == 2 &&
          !v->archived);
    if (v && v->n_documents == 2)
        CHECK(streq(v->documents[0]->file_name, "TP-2026-000001-antrag.pdf") &&
              streq(v->documents[1]->file_name, "TP-2026-000001-checkliste.pdf"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    svc_tc_commit(ot);

    /* a seal card in the demo shop by OfficerIdent, in English */
    ot_form(&f, "seal-card", "officerident", ORDER_DEMO_SHOP_ID);
    f.cmd.language = "en";
    CHECK(ot_place(&f, "acc-a") && streq(ot_place(&f, "acc-b"), "TP-2026-000003"));

    /* roles */
    ot_form(&f, "signature-card", "postident", NULL);
    svc_tc_decide(ot, "PlaceOrder", "customer", "", &f.cmd.base);
    REFUSED("forbidden", "");
    svc_tc_decide(ot, "PlaceOrder", "operator", "op", &f.cmd.base);
    REFUSED("forbidden", "");

    /* every applicant field wrong at once: each named, nothing written */
    Tp__Order__Address bad_addr = TP__ORDER__ADDRESS__INIT;
    bad_addr.postal_code = "1234";
    bad_addr.country = "DE";
    f.app.address = &bad_addr;
    f.app.given_names = "";
    f.app.family_name = "R2-D2";
    f.app.birth_date = "2023-02-29";
    f.app.birth_place = "   ";
    f.app.nationality = "de";
    f.app.email = "juergen@@example";
    f.app.phone = "call me";
    f.app.document_type = "driver-licence";
    f.app.document_number = "l01x00t47";
    f.app.document_authority = "";
    f.app.document_expiry = "2026-02-28";
    f.cmd.language = "fr";
    f.cmd.revocation_password = "$invalid$";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    static const char *const fields[] = {
        "applicant.givenNames", "applicant.familyName", "applicant.birthDate",
        "applicant.birthPlace", "applicant.nationality", "applicant.address.street",
        "applicant.address.city", "applicant.address.postalCode", "applicant.email",
        "applicant.phone", "applicant.documentType", "applicant.documentNumber",
        "applicant.documentAuthority", "applicant.documentExpiry", "language",
        "revocationPassword"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        REFUSED("invalid", fields[i]);
        if (!svc_tc_has_error(ot_out, "invalid", fields[i]))
            fprintf(stderr, "  missing error for %s\n", fields[i]);
    }
    CHECK(svc_out_n_errors(ot_out) == sizeof fields / sizeof fields[0]);

    /* dates: too young (17 yesterday was 18 tomorrow), in the future, not real */
    ot_form(&f, "signature-card", "postident", NULL);
    f.app.birth_date = "2008-03-02";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "applicant.birthDate");
    f.app.birth_date = "2008-03-01";   /* 18 today */
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    CHECK(!svc_out_failed(ot_out));
    f.app.birth_date = "2027-01-01";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "applicant.birthDate");
    f.app.birth_date = "17.05.1980";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "applicant.birthDate");
    f.app.birth_date = "1980-05-17";
    f.app.document_expiry = "2026-03-01";   /* valid through today */
    f.app.nationality = "XX";
    f.app.address = NULL;
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    CHECK(!svc_tc_has_error(ot_out, "invalid", "applicant.documentExpiry"));
    REFUSED("invalid", "applicant.nationality");
    CHECK(svc_tc_has_error(ot_out, "invalid", "applicant.address"));
    f.cmd.applicant = NULL;
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "applicant");
    /* foreign postal codes are not five digits; invalid UTF-8 is refused */
    ot_form(&f, "signature-card", "botschaftsident", NULL);
    f.addr.country = "GB";
    f.addr.postal_code = "SW1A 1AA";
    f.app.birth_place = "K\xc3\x28ln";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "applicant.birthPlace");
    CHECK(svc_out_n_errors(ot_out) == 1);

    /* product, shop and method */
    static const struct {
        const char *product, *method, *shop, *field;
    } combos[] = {
        {"", "postident", NULL, "productId"},
        {"gold-card", "postident", NULL, "productId"},
        {"qualified-seal-id", "postident", NULL, "productId"},
        {"signature-card", "", NULL, "identMethod"},
        {"signature-card", "videoident", NULL, "identMethod"},
        {"signature-card", "officerident", NULL, "identMethod"},   /* only in shops */
        {"seal-card", "botschaftsident", NULL, "identMethod"},     /* not certified */
        {"signature-card", "postident", "shop-99", "shopId"},
        {"signature-card", "postident", "shop-3", "shopId"},       /* closed */
        {"signature-card", "postident", "shop-2", "productId"},    /* ACME: seal cards only */
        {"seal-card", "dtrustident", "shop-2", "identMethod"},     /* ACME: OfficerIdent only */
    };
    for (size_t i = 0; i < sizeof combos / sizeof combos[0]; i++) {
        ot_form(&f, combos[i].product, combos[i].method, combos[i].shop);
        svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
        REFUSED("invalid", combos[i].field);
        if (!svc_tc_has_error(ot_out, "invalid", combos[i].field))
            fprintf(stderr, "  combination %zu not refused on %s\n", i, combos[i].field);
    }
    static const struct {
        const char *product, *method, *shop;
    } allowed[] = {
        {"signature-card", "dtrustident", ORDER_DEMO_SHOP_ID},
        {"seal-card", "officerident", "shop-2"},
        {"seal-card", "notarident", NULL},
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        ot_form(&f, allowed[i].product, allowed[i].method, allowed[i].shop);
        svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
        CHECK(!svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 1);
    }

    /* organization: required for seal cards, each bad field named */
    ot_form(&f, "seal-card", "postident", NULL);
    f.cmd.organization = NULL;
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "organization");
    Tp__Order__Organization empty = TP__ORDER__ORGANIZATION__INIT;
    f.cmd.organization = &empty;
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "organization");
    ot_form(&f, "seal-card", "postident", NULL);
    f.org.name = "";
    f.org.register_court = "";
    f.org.register_number = "HRB";
    f.org_addr.postal_code = "ABCDE";
    f.rep.family_name = "";
    f.rep.given_names = "Erika 2";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "organization.name");
    CHECK(svc_tc_has_error(ot_out, "invalid", "organization.registerCourt") &&
          svc_tc_has_error(ot_out, "invalid", "organization.registerNumber") &&
          svc_tc_has_error(ot_out, "invalid", "organization.address.postalCode") &&
          svc_tc_has_error(ot_out, "invalid", "organization.representatives[0].familyName") &&
          svc_tc_has_error(ot_out, "invalid", "organization.representatives[0].givenNames") &&
          svc_out_n_errors(ot_out) == 6);
    ot_form(&f, "seal-card", "postident", NULL);
    f.org.n_representatives = 0;
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "organization.representatives");
    /* optional for signature cards: checked when given, left out when empty */
    ot_form(&f, "signature-card", "postident", NULL);
    f.cmd.organization = &f.org;
    f.org.register_number = "";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "organization.registerNumber");
    f.cmd.organization = &empty;
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    CHECK(!svc_out_failed(ot_out));
    svc_out_event_at(ot_out, 0, NULL, NULL, &payload, &len);
    e = tp__order__order_placed__unpack(NULL, len, payload);
    CHECK(e && e->organization == NULL);
    if (e)
        tp__order__order_placed__free_unpacked(e, NULL);

    /* an unprepared password never reaches the log */
    ot_form(&f, "signature-card", "postident", NULL);
    f.cmd.revocation_password = "plain text password";
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("internal", "revocationPassword");
}

/* prepare hashes on the worker pool; a bad password is reported by decide with the rest */
static void s_test_prepare(void)
{
    const svc_command_t *c = svc_tc_command(ot, "PlaceOrder");
    CHECK(c && c->prepare && !c->query);
    ot_form_t f;
    ot_form(&f, "signature-card", "postident", NULL);
    f.cmd.revocation_password = strdup("kurz");
    f.app.email = "nope";
    svc_out_reset(ot_out);
    CHECK(c->prepare(&f.cmd.base, NULL, ot_out) == 0 && !svc_out_failed(ot_out));
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    REFUSED("invalid", "revocationPassword");
    CHECK(svc_tc_has_error(ot_out, "invalid", "applicant.email") && svc_out_n_errors(ot_out) == 2);
    free(f.cmd.revocation_password);
    f.app.email = "juergen@example.de";
    f.cmd.revocation_password = strdup("Sperr-Passwort 1");
    CHECK(c->prepare(&f.cmd.base, NULL, ot_out) == 0);
    CHECK(strncmp(f.cmd.revocation_password, "$argon2id$v=19$m=19456,t=2,", 27) == 0);
    CHECK(crypto_pwhash_str_verify(f.cmd.revocation_password, "Sperr-Passwort 1", 16) == 0);
    svc_tc_decide(ot, "PlaceOrder", "customer", "acc-a", &f.cmd.base);
    CHECK(!svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 1);
    free(f.cmd.revocation_password);
    char longpw[140];
    memset(longpw, 'x', 129);
    longpw[129] = '\0';
    f.cmd.revocation_password = strdup(longpw);
    CHECK(c->prepare(&f.cmd.base, NULL, ot_out) == 0 &&
          streq(f.cmd.revocation_password, "$invalid$"));
    free(f.cmd.revocation_password);
}

/* ------------------------------------------------------------------ replay */

static void s_test_replay(void)
{
    char *before = order_def.summary(svc_tc_state(ot));
    void *again = svc_tc_rebuild(ot);
    char *after = order_def.summary(again);
    CHECK(before && after && streq(before, after));
    CHECK(strstr(before, "\"seeded\":true") && strstr(before, "\"products\":6") &&
          strstr(before, "\"shops\":3"));
    if (svc_tc_verbose())
        printf("summary: %s\n", before);
    /* the replayed state seeds no more and continues the numbering */
    svc_out_reset(ot_out);
    order_def.tick(again, ot_now, ot_out);
    CHECK(svc_out_n_events(ot_out) == 0);
    /* unknown events and junk payloads are ignored by apply */
    uint8_t junk[] = {0x0a, 0xff};
    svc_event_t odd = {svc_tc_log_size(ot) + 1, "order-x", 1, "CardShipped", 0, junk, sizeof junk};
    order_def.apply(again, &odd);
    odd.event_type = "OrderPlaced";
    order_def.apply(again, &odd);
    odd.event_type = "ShopCreated";
    order_def.apply(again, &odd);
    char *odd_sum = order_def.summary(again);
    CHECK(odd_sum && strstr(odd_sum, "\"orders\":"));
    free(odd_sum);
    order_def.state_destroy(&again);
    free(before);
    free(after);
}

static void s_setup(void)
{
    CHECK(sodium_init() >= 0);
    ot = svc_tc_new(&order_def);
    assert(ot);
    svc_tc_hold(ot, true);
    svc_tc_use_clock(ot, &ot_now);
    ot_out = svc_tc_out(ot);
    CHECK(order_def.upstreams && streq(order_def.upstreams[0], "identification") &&
          streq(order_def.upstreams[1], "production") && streq(order_def.upstreams[2], "account") &&
          !order_def.upstreams[3]);
    for (size_t i = 0; i < order_def.n_commands; i++)
        CHECK(order_def.commands[i].name && order_def.commands[i].body &&
              order_def.commands[i].decide && order_def.commands[i].reply);
}

static void s_teardown(void)
{
    svc_tc_destroy(&ot);
    order_pdf_shutdown();
}

/* Places a NotarIdent order for @p account and releases it (application,
 * identification); its id into @p id. */
void ot_released(const char *account, char *id, size_t idsz)
{
    ot_form_t f;
    ot_form(&f, "signature-card", "notarident", NULL);
    const char *placed = ot_place(&f, account);
    snprintf(id, idsz, "%s", placed ? placed : "");
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = id;
    CHECK(svc_tc_do(ot, "RecordApplicationReceived", "operator", "op", &ar.base) == 1);
    Tp__Identification__IdentificationSucceeded ok =
        TP__IDENTIFICATION__IDENTIFICATION_SUCCEEDED__INIT;
    ok.order_id = id;
    ok.method = "notarident";
    ok.evidence_ref = "NOTAR-1";
    svc_tc_react(ot, "identification", "IdentificationSucceeded", &ok.base);
    CHECK(svc_tc_count(ot_out, "OrderReleasedForProduction") == 1);
    svc_tc_commit(ot);
}

/* --test core: the core, the tests one after the other on the same state; --test runtime:
 * in the runtime; -v: more output, and the runtime's log. */
static const svc_tc_test_t s_tests[] = {
    {"seed", s_test_seed, "core"},
    {"shops", s_test_shops, "core"},
    {"place", s_test_place, "core"},
    {"prepare", s_test_prepare, "core"},
    {"reactions", ot_test_reactions, "core"},
    {"back_office", ot_test_back_office, "core"},
    {"four_eyes", ot_test_four_eyes, "core"},
    {"release", ot_test_release_orders, "core"},
    {"scoping", ot_test_scoping, "core"},
    {"documents", ot_test_documents, "core"},
    {"production", ot_test_production, "core"},
    {"retention", ot_test_retention, "core"},
    {"replay", s_test_replay, "core"},
    {"runtime", ot_test_runtime, NULL},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv, &(svc_tc_suite_t){"order_test", s_tests, s_setup, s_teardown});
}
