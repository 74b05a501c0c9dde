/* order_state.c: the order core's state: the seed, apply (the only place state
 * changes), lookups, the derived status, and the summary for replays. */
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "svc_digest.h"
#include "order_internal.h"

/* ------------------------------------------------------------------ seed */

/* The catalog of the first start. URLs are placeholders on the provider's site until
 * the real ordering pages are configured (an operator can list a product again). */
typedef struct {
    const char *id, *name_de, *name_en, *url;
    bool orderable, org_required, org_optional;
    const char *methods[4];
} s_seed_product_t;

static const s_seed_product_t s_seed_products[] = {
    {"signature-card", "Signaturkarte", "Signature card", "", true, false, true,
     {"postident", "notarident", "botschaftsident", NULL}},
    {"seal-card", "Siegelkarte", "Seal card", "", true, true, false,
     {"postident", "notarident", NULL}},
    {"signature-card-professional", "Signaturkarte mit Berufsattribut",
     "Signature card with professional attribute",
     "https://www.d-trust.net/de/loesungen/signaturkarte-mit-berufsattribut", false, false,
     true, {"postident", "notarident", NULL}},
    {"qualified-seal-id", "Qualified Seal ID", "Qualified Seal ID",
     "https://www.d-trust.net/de/loesungen/qualified-seal-id", false, true, false,
     {"postident", "notarident", NULL}},
    {"advanced-personal-id", "Advanced Personal ID", "Advanced Personal ID",
     "https://www.d-trust.net/de/loesungen/advanced-personal-id", false, false, true,
     {"postident", NULL}},
    {"advanced-enterprise-id", "Advanced Enterprise ID", "Advanced Enterprise ID",
     "https://www.d-trust.net/de/loesungen/advanced-enterprise-id", false, true, false,
     {"postident", NULL}},
};

void ord_stream(char *out, size_t outsz, const char *kind, const char *id)
{
    snprintf(out, outsz, "%s-%s", kind, id);
}

void ord_seed_events(svc_out_t *out)
{
    char stream[ORD_STREAM_MAX];
    for (size_t i = 0; i < sizeof s_seed_products / sizeof s_seed_products[0]; i++) {
        const s_seed_product_t *sp = &s_seed_products[i];
        Tp__Order__Product p = TP__ORDER__PRODUCT__INIT;
        p.product_id = (char *) sp->id;
        p.name_de = (char *) sp->name_de;
        p.name_en = (char *) sp->name_en;
        p.orderable = sp->orderable;
        p.external_url = (char *) sp->url;
        p.organization_required = sp->org_required;
        p.organization_optional = sp->org_optional;
        while (p.n_ident_methods < 4 && sp->methods[p.n_ident_methods])
            p.n_ident_methods++;
        p.ident_methods = (char **) sp->methods;
        Tp__Order__ProductListed ev = TP__ORDER__PRODUCT_LISTED__INIT;
        ev.product = &p;
        ord_stream(stream, sizeof stream, "product", sp->id);
        svc_out_event(out, stream, &ev.base);
    }
    char *extras[] = {"officerident", "dtrustident"};
    Tp__Order__Shop shop = TP__ORDER__SHOP__INIT;
    shop.shop_id = ORDER_DEMO_SHOP_ID;
    shop.code = ORDER_DEMO_SHOP_CODE;
    shop.name = ORDER_DEMO_SHOP_NAME;
    shop.n_extra_ident_methods = 2;
    shop.extra_ident_methods = extras;
    Tp__Order__ShopCreated sc = TP__ORDER__SHOP_CREATED__INIT;
    sc.shop = &shop;
    ord_stream(stream, sizeof stream, "shop", shop.shop_id);
    svc_out_event(out, stream, &sc.base);
    Tp__Order__CatalogSeeded done = TP__ORDER__CATALOG_SEEDED__INIT;
    done.version = ORDER_SEED_VERSION;
    svc_out_event(out, "catalog", &done.base);
}

void ord_seed_if_needed(const ord_state_t *st, svc_out_t *out)
{
    if (!st->seeded)
        ord_seed_events(out);
}

/* ------------------------------------------------------------------ catalog */

static void s_product_free(void **item)
{
    if (*item)
        tp__order__product__free_unpacked(*item, NULL);
    *item = NULL;
}

static void s_shop_free(void **item)
{
    if (*item)
        tp__order__shop__free_unpacked(*item, NULL);
    *item = NULL;
}

static int s_catalog_init(ord_catalog_t *cat)
{
    cat->products = zhashx_new();
    cat->product_ids = zlistx_new();
    cat->shops = zhashx_new();
    cat->codes = zhashx_new();
    if (!cat->products || !cat->product_ids || !cat->shops || !cat->codes)
        return -1;
    zhashx_set_destructor(cat->products, s_product_free);
    zlistx_set_destructor(cat->product_ids, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator(cat->product_ids, (zlistx_duplicator_fn *) strdup);
    zhashx_set_destructor(cat->shops, s_shop_free);
    zhashx_set_destructor(cat->codes, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator(cat->codes, (zhashx_duplicator_fn *) strdup);
    return 0;
}

static void s_catalog_fini(ord_catalog_t *cat)
{
    zhashx_destroy(&cat->products);
    zlistx_destroy(&cat->product_ids);
    zhashx_destroy(&cat->shops);
    zhashx_destroy(&cat->codes);
}

static void s_lower(char *out, size_t outsz, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < outsz; i++)
        out[i] = (char) tolower((unsigned char) s[i]);
    out[i] = '\0';
}

/* Takes ownership of @p shop; replaces an earlier version and its code. */
static void s_catalog_put_shop(ord_catalog_t *cat, Tp__Order__Shop *shop)
{
    char code[80];
    const Tp__Order__Shop *old = zhashx_lookup(cat->shops, shop->shop_id);
    if (old) {
        s_lower(code, sizeof code, old->code);
        zhashx_delete(cat->codes, code);
    }
    s_lower(code, sizeof code, shop->code);
    if (*code)
        zhashx_update(cat->codes, code, shop->shop_id);
    zhashx_update(cat->shops, shop->shop_id, shop);
}

/* Folds a catalog event into @p cat; false when @p type is not one. */
static bool s_catalog_apply(ord_catalog_t *cat, const char *type, const uint8_t *payload,
                            size_t len)
{
    if (streq(type, "ProductListed")) {
        Tp__Order__ProductListed *e = tp__order__product_listed__unpack(NULL, len, payload);
        if (e && e->product && *e->product->product_id) {
            Tp__Order__Product *p = e->product;
            e->product = NULL;   /* the catalog keeps it */
            if (!zhashx_lookup(cat->products, p->product_id))
                zlistx_add_end(cat->product_ids, p->product_id);
            zhashx_update(cat->products, p->product_id, p);
        }
        if (e)
            tp__order__product_listed__free_unpacked(e, NULL);
        return true;
    }
    if (streq(type, "ShopCreated") || streq(type, "ShopChanged")) {
        /* same layout (field 1 = Shop): one decoder serves both */
        Tp__Order__ShopCreated *e = tp__order__shop_created__unpack(NULL, len, payload);
        if (e && e->shop && *e->shop->shop_id) {
            s_catalog_put_shop(cat, e->shop);
            e->shop = NULL;
        }
        if (e)
            tp__order__shop_created__free_unpacked(e, NULL);
        return true;
    }
    return false;
}

const ord_catalog_t *ord_catalog(const ord_state_t *st)
{
    return st->seeded ? &st->catalog : &st->seed;
}

const Tp__Order__Product *ord_product(const ord_catalog_t *cat, const char *product_id)
{
    return product_id && *product_id ? zhashx_lookup(cat->products, product_id) : NULL;
}

const Tp__Order__Shop *ord_shop(const ord_catalog_t *cat, const char *shop_id)
{
    return shop_id && *shop_id ? zhashx_lookup(cat->shops, shop_id) : NULL;
}

const Tp__Order__Shop *ord_shop_by_code(const ord_catalog_t *cat, const char *code)
{
    char lower[80];
    if (!code || strlen(code) >= sizeof lower)
        return NULL;
    s_lower(lower, sizeof lower, code);
    const char *id = zhashx_lookup(cat->codes, lower);
    return id ? zhashx_lookup(cat->shops, id) : NULL;
}

static bool s_in(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (streq(list[i], s))
            return true;
    return false;
}

bool ord_shop_offers(const Tp__Order__Shop *shop, const char *product_id)
{
    return shop->n_product_ids == 0 || s_in(shop->product_ids, shop->n_product_ids, product_id);
}

bool ord_method_allowed(const Tp__Order__Product *product, const Tp__Order__Shop *shop,
                        const char *method)
{
    if (s_in(product->ident_methods, product->n_ident_methods, method))
        return true;
    /* the shop's extra methods are the only way to OfficerIdent and D-Trust Ident */
    return shop && (streq(method, "officerident") || streq(method, "dtrustident")) &&
           s_in(shop->extra_ident_methods, shop->n_extra_ident_methods, method);
}

/* ------------------------------------------------------------------ orders */

static void s_order_free(void **item)
{
    ord_order_t *o = *item;
    if (!o)
        return;
    if (o->placed)
        tp__order__order_placed__free_unpacked(o->placed, NULL);
    free(o->postident_number);
    free(o->ident_reason);
    free(o->ident_by);
    free(o->problem);
    free(o->tracking_number);
    free(o->card_product_id);
    free(o);
    *item = NULL;
}

static void s_list_free(void **item)
{
    zlistx_destroy((zlistx_t **) item);
}

const ord_order_t *ord_order(const ord_state_t *st, const char *order_id)
{
    return order_id && *order_id ? zhashx_lookup(st->orders, order_id) : NULL;
}

zlistx_t *ord_orders_of(const ord_state_t *st, const char *account_id)
{
    return account_id && *account_id ? zhashx_lookup(st->by_account, account_id) : NULL;
}

const char *ord_status(const ord_order_t *o)
{
    if (o->delivered_at_us)
        return ORD_FERTIG;
    if (o->shipped_at_us)
        return ORD_VERSENDET;
    if (o->released_at_us)
        return ORD_IN_PRODUKTION;
    if (o->problem_open)
        return ORD_WARTEND;
    return ORD_OFFEN;
}

bool ord_ready(const ord_order_t *o, bool application, bool identified, bool resolved)
{
    if (o->released_at_us)
        return false;   /* released once, never again */
    bool app = o->application_at_us != 0 || application;
    bool ident = o->ident == ORD_IDENT_SUCCEEDED || identified;
    bool problem = o->problem_open && !resolved;
    return app && ident && !problem;
}

static void s_set(char **field, const char *value)
{
    free(*field);
    *field = value && *value ? strdup(value) : NULL;
}

static int64_t s_time(int64_t given, const svc_event_t *ev)
{
    return given ? given : ev->recorded_at_us;
}

static void s_apply_placed(ord_state_t *st, const svc_event_t *ev)
{
    Tp__Order__OrderPlaced *e = tp__order__order_placed__unpack(NULL, ev->payload_len,
                                                               ev->payload);
    if (!e)
        return;
    if (!*e->order_id || zhashx_lookup(st->orders, e->order_id)) {
        tp__order__order_placed__free_unpacked(e, NULL);
        return;
    }
    ord_order_t *o = calloc(1, sizeof *o);
    zlistx_t *mine = zhashx_lookup(st->by_account, e->account_id);
    if (!mine && (mine = zlistx_new()))
        zhashx_insert(st->by_account, e->account_id, mine);
    if (!o || !mine) {
        free(o);
        tp__order__order_placed__free_unpacked(e, NULL);
        return;
    }
    o->placed = e;
    o->placed_at_us = s_time(e->placed_at_us, ev);
    zhashx_insert(st->orders, e->order_id, o);
    zlistx_add_end(mine, o);
    /* "TP-<year>-<n>": the number part is the sequence, so replay gives the same ids */
    const char *dash = strrchr(e->order_id, '-');
    uint64_t n = dash ? strtoull(dash + 1, NULL, 10) : 0;
    if (n > st->order_seq)
        st->order_seq = n;
}

/* Unpacks an order event, finds its order; NULL when either fails. */
#define S_ORDER_EVENT(T, fn, var)                                                    \
    T *var = fn##__unpack(NULL, ev->payload_len, ev->payload);                       \
    ord_order_t *o = var ? zhashx_lookup(st->orders, var->order_id) : NULL;          \
    if (!o) {                                                                        \
        if (var)                                                                     \
            fn##__free_unpacked(var, NULL);                                          \
        return;                                                                      \
    }

/* What the order took over from its production job (order_production.c). */
static void s_apply_production_event(ord_state_t *st, const svc_event_t *ev)
{
    const char *t = ev->event_type;
    if (streq(t, "ProductionStarted")) {
        S_ORDER_EVENT(Tp__Order__ProductionStarted, tp__order__production_started, e)
        o->production_started_at_us = s_time(e->at_us, ev);
        tp__order__production_started__free_unpacked(e, NULL);
    }
    else if (streq(t, "OrderProduced")) {
        S_ORDER_EVENT(Tp__Order__OrderProduced, tp__order__order_produced, e)
        o->produced_at_us = s_time(e->at_us, ev);
        tp__order__order_produced__free_unpacked(e, NULL);
    }
    else if (streq(t, "OrderShipped")) {
        S_ORDER_EVENT(Tp__Order__OrderShipped, tp__order__order_shipped, e)
        o->shipped_at_us = s_time(e->at_us, ev);
        s_set(&o->tracking_number, e->tracking_number);
        s_set(&o->card_product_id, e->card_product_id);
        tp__order__order_shipped__free_unpacked(e, NULL);
    }
    else if (streq(t, "OrderDelivered")) {
        S_ORDER_EVENT(Tp__Order__OrderDelivered, tp__order__order_delivered, e)
        o->delivered_at_us = s_time(e->at_us, ev);
        tp__order__order_delivered__free_unpacked(e, NULL);
    }
    /* Unknown types are ignored: apply must accept every event ever written. */
}

static void s_apply_order_event(ord_state_t *st, const svc_event_t *ev)
{
    const char *t = ev->event_type;
    if (streq(t, "PostIdentNumberAssigned")) {
        S_ORDER_EVENT(Tp__Order__PostIdentNumberAssigned, tp__order__post_ident_number_assigned, e)
        s_set(&o->postident_number, e->postident_number);
        tp__order__post_ident_number_assigned__free_unpacked(e, NULL);
    }
    else if (streq(t, "ApplicationReceived")) {
        S_ORDER_EVENT(Tp__Order__ApplicationReceived, tp__order__application_received, e)
        o->application_at_us = s_time(e->at_us, ev);
        tp__order__application_received__free_unpacked(e, NULL);
    }
    else if (streq(t, "IdentificationRecorded")) {
        S_ORDER_EVENT(Tp__Order__IdentificationRecorded, tp__order__identification_recorded, e)
        o->ident = e->succeeded ? ORD_IDENT_SUCCEEDED : ORD_IDENT_FAILED;
        o->ident_at_us = s_time(e->at_us, ev);
        s_set(&o->ident_reason, e->succeeded ? NULL : e->reason);
        s_set(&o->ident_by, e->succeeded && *e->recorded_by ? e->recorded_by : NULL);
        tp__order__identification_recorded__free_unpacked(e, NULL);
    }
    else if (streq(t, "DataProblemRecorded")) {
        S_ORDER_EVENT(Tp__Order__DataProblemRecorded, tp__order__data_problem_recorded, e)
        o->problem_open = true;
        o->problem_at_us = s_time(e->at_us, ev);
        s_set(&o->problem, e->reason);
        tp__order__data_problem_recorded__free_unpacked(e, NULL);
    }
    else if (streq(t, "DataProblemResolved")) {
        S_ORDER_EVENT(Tp__Order__DataProblemResolved, tp__order__data_problem_resolved, e)
        o->problem_open = false;
        tp__order__data_problem_resolved__free_unpacked(e, NULL);
    }
    else if (streq(t, "OrderReleasedForProduction")) {
        S_ORDER_EVENT(Tp__Order__OrderReleasedForProduction,
                      tp__order__order_released_for_production, e)
        o->released_at_us = s_time(e->at_us, ev);
        tp__order__order_released_for_production__free_unpacked(e, NULL);
    }
    else
        s_apply_production_event(st, ev);
}

void ord_apply(void *state, const svc_event_t *ev)
{
    ord_state_t *st = state;
    st->events++;
    if (!ev->event_type || (!ev->payload && ev->payload_len))
        return;
    if (s_catalog_apply(&st->catalog, ev->event_type, ev->payload, ev->payload_len))
        return;
    if (streq(ev->event_type, "CatalogSeeded"))
        st->seeded = true;
    else if (streq(ev->event_type, "OrderPlaced"))
        s_apply_placed(st, ev);
    else if (!ord_apply_retention(st, ev))
        s_apply_order_event(st, ev);
}

/* ------------------------------------------------------------------ lifecycle */

void *ord_state_new(void)
{
    ord_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    svc_out_t *out = svc_out_new();
    st->orders = zhashx_new();
    st->by_account = zhashx_new();
    if (!out || !st->orders || !st->by_account || s_catalog_init(&st->catalog) != 0 ||
        s_catalog_init(&st->seed) != 0)
        goto fail;
    zhashx_set_destructor(st->orders, s_order_free);
    zhashx_set_destructor(st->by_account, s_list_free);
    st->four_eyes = true;
    st->retention_us = 3653LL * 86400 * 1000000;   /* as retention_days says by default */
    /* the seed catalog is built by folding the very events the seed will write */
    ord_seed_events(out);
    if (svc_out_failed(out))
        goto fail;
    for (size_t i = 0; i < svc_out_n_events(out); i++) {
        const char *type;
        const uint8_t *payload;
        size_t len;
        svc_out_event_at(out, i, &type, NULL, &payload, &len);
        s_catalog_apply(&st->seed, type, payload, len);
    }
    svc_out_destroy(&out);
    return st;
fail:
    svc_out_destroy(&out);
    void *p = st;
    ord_state_destroy(&p);
    return NULL;
}

void ord_state_destroy(void **state_p)
{
    ord_state_t *st = state_p ? *state_p : NULL;
    if (!st)
        return;
    /* by_account's lists hold borrowed orders: drop them before the orders */
    zhashx_destroy(&st->by_account);
    zlistx_destroy(&st->retained);   /* borrowed orders too */
    zhashx_destroy(&st->orders);
    s_catalog_fini(&st->catalog);
    s_catalog_fini(&st->seed);
    free(st);
    *state_p = NULL;
}

/* ------------------------------------------------------------------ summary */

static void s_join(char *out, size_t outsz, char **list, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outsz; i++)
        used += (size_t) snprintf(out + used, outsz - used, "%s%s", i ? "," : "", list[i]);
}

/* Deterministic summary: counts and a SHA-256 over the sorted catalog and orders
 * (everything that decides something), so a replay can be compared line by line. */
char *ord_summary(const void *state)
{
    const ord_state_t *st = state;
    svc_digest_t h;
    svc_digest_init(&h);
    char line[2048], a[512], b[256];
    zlistx_t *keys = svc_sorted_keys(st->catalog.products);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const Tp__Order__Product *p = zhashx_lookup(st->catalog.products, k);
        s_join(a, sizeof a, p->ident_methods, p->n_ident_methods);
        snprintf(line, sizeof line, "p|%s|%s|%s|%d|%s|%d|%d|%s", k, p->name_de, p->name_en,
                 p->orderable, p->external_url, p->organization_required,
                 p->organization_optional, a);
        svc_digest_line(&h, "%s", line);
    }
    zlistx_destroy(&keys);
    keys = svc_sorted_keys(st->catalog.shops);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const Tp__Order__Shop *s = zhashx_lookup(st->catalog.shops, k);
        s_join(a, sizeof a, s->product_ids, s->n_product_ids);
        s_join(b, sizeof b, s->extra_ident_methods, s->n_extra_ident_methods);
        snprintf(line, sizeof line, "s|%s|%s|%s|%s|%s|%d", k, s->code, s->name, a, b,
                 s->disabled);
        svc_digest_line(&h, "%s", line);
    }
    zlistx_destroy(&keys);
    size_t by_status[5] = {0}, released = 0;
    static const char *const names[5] = {ORD_OFFEN, ORD_WARTEND, ORD_IN_PRODUKTION,
                                         ORD_VERSENDET, ORD_FERTIG};
    keys = svc_sorted_keys(st->orders);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const ord_order_t *o = zhashx_lookup(st->orders, k);
        const char *status = ord_status(o);
        for (int i = 0; i < 5; i++)
            by_status[i] += streq(status, names[i]);
        released += o->released_at_us != 0;
        snprintf(line, sizeof line,
                 "o|%s|%s|%s|%s|%s|%s|%" PRId64 "|%s|%" PRId64 "|%d|%" PRId64 "|%s|%d|%s|%" PRId64
                 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s|%s|%s",
                 k, o->placed->account_id, o->placed->product_id, o->placed->shop_id,
                 o->placed->ident_method, status, o->placed_at_us, ord_s(o->postident_number),
                 o->application_at_us, (int) o->ident, o->ident_at_us, ord_s(o->ident_reason),
                 o->problem_open, ord_s(o->problem), o->problem_at_us, o->released_at_us,
                 o->production_started_at_us, o->produced_at_us, o->shipped_at_us,
                 o->delivered_at_us, ord_s(o->tracking_number), ord_s(o->card_product_id),
                 ord_s(o->ident_by));
        svc_digest_line(&h, "%s", line);
    }
    zlistx_destroy(&keys);
    char hex[65];
    svc_digest_hex(&h, hex);
    return zsys_sprintf("{\"events\":%" PRIu64 ",\"seeded\":%s,\"products\":%zu,\"shops\":%zu,"
                        "\"orders\":%zu,\"offen\":%zu,\"wartend\":%zu,\"inProduktion\":%zu,"
                        "\"versendet\":%zu,\"fertig\":%zu,\"released\":%zu,\"lastOrderNumber\":%"
                        PRIu64 ",\"digest\":\"%s\"}",
                        st->events, st->seeded ? "true" : "false",
                        zhashx_size(st->catalog.products), zhashx_size(st->catalog.shops),
                        zhashx_size(st->orders), by_status[0], by_status[1], by_status[2],
                        by_status[3], by_status[4], released, st->order_seq, hex);
}
