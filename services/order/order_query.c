/* order_query.c: the order core's queries (orders, documents, catalog, shops) and the
 * order view they share. Queries run on the loop after each group commit. */
#include <stdio.h>
#include <string.h>
#include "order_internal.h"
#include "order_pdf.h"

/* ------------------------------------------------------------------ views */

#define S_STEPS 6
#define S_DOCS 3

/* An OrderView with the storage of its steps and document references. */
typedef struct {
    Tp__Order__OrderView v;
    Tp__Order__Step steps[S_STEPS];
    Tp__Order__Step *step_p[S_STEPS];
    Tp__Order__DocumentRef docs[S_DOCS];
    Tp__Order__DocumentRef *doc_p[S_DOCS];
    char names[S_DOCS][96];
} s_view_t;

static void s_step(s_view_t *sv, const char *name, int64_t done_at, int64_t failed_at,
                   const char *detail, int64_t started_at)
{
    Tp__Order__Step *s = &sv->steps[sv->v.n_steps];
    tp__order__step__init(s);
    s->name = (char *) name;
    s->done = done_at != 0;
    s->done_at_us = done_at;
    s->failed = failed_at != 0;
    s->failed_at_us = failed_at;
    s->detail = (char *) ord_s(detail);
    s->started_at_us = started_at;
    sv->step_p[sv->v.n_steps++] = s;
}

static void s_doc(s_view_t *sv, const ord_order_t *o, const char *kind)
{
    size_t i = sv->v.n_documents;
    if (order_pdf_file_name(kind, o->placed->order_id, o->placed->language, sv->names[i],
                            sizeof sv->names[i]) != 0)
        return;
    tp__order__document_ref__init(&sv->docs[i]);
    sv->docs[i].kind = (char *) kind;
    sv->docs[i].file_name = sv->names[i];
    sv->doc_p[i] = &sv->docs[i];
    sv->v.n_documents++;
}

/* Fills @p sv from @p o; everything is borrowed from the order and the state. */
static void s_view_fill(s_view_t *sv, const ord_state_t *st, const ord_order_t *o)
{
    memset(sv, 0, sizeof *sv);
    tp__order__order_view__init(&sv->v);
    const Tp__Order__OrderPlaced *p = o->placed;
    Tp__Order__OrderView *v = &sv->v;
    v->order_id = p->order_id;
    v->account_id = p->account_id;
    v->product_id = p->product_id;
    v->shop_id = p->shop_id;
    v->status = (char *) ord_status(o);
    v->archived = streq(v->status, ORD_FERTIG);
    v->problem = (char *) (o->problem_open ? ord_s(o->problem) : "");
    v->ident_method = p->ident_method;
    v->postident_number = (char *) ord_s(o->postident_number);
    v->tracking_number = (char *) ord_s(o->tracking_number);
    v->card_product_id = (char *) ord_s(o->card_product_id);
    v->placed_at_us = o->placed_at_us;
    v->applicant = p->applicant;
    v->organization = p->organization;
    v->language = p->language;
    const Tp__Order__Shop *shop = ord_shop(ord_catalog(st), p->shop_id);
    v->shop_name = shop ? shop->name : "";
    v->steps = sv->step_p;
    s_step(sv, "application", o->application_at_us, 0, NULL, 0);
    bool failed = o->ident == ORD_IDENT_FAILED;
    s_step(sv, "identification", o->ident == ORD_IDENT_SUCCEEDED ? o->ident_at_us : 0,
           failed ? o->ident_at_us : 0, failed ? o->ident_reason : NULL, 0);
    s_step(sv, "datacheck", o->released_at_us, o->problem_open ? o->problem_at_us : 0,
           o->problem_open ? o->problem : NULL, 0);
    s_step(sv, "production", o->produced_at_us, 0, NULL, o->production_started_at_us);
    s_step(sv, "shipping", o->shipped_at_us, 0, o->tracking_number, 0);
    s_step(sv, "delivery", o->delivered_at_us, 0, NULL, 0);
    v->documents = sv->doc_p;
    s_doc(sv, o, "application");
    s_doc(sv, o, "checklist");
    /* the coupon is listed once it can be downloaded */
    if (streq(p->ident_method, "postident") && o->postident_number)
        s_doc(sv, o, "coupon");
}

void ord_reply_view(const ord_state_t *st, const ord_order_t *o, svc_out_t *out)
{
    s_view_t sv;
    s_view_fill(&sv, st, o);
    svc_out_reply(out, &sv.v.base);
}

/* ------------------------------------------------------------------ orders */

static bool s_unscoped(const svc_ctx_t *ctx)
{
    const char *role = ord_s(ctx->header->actor_role);
    return streq(role, "operator") || streq(role, "system");
}

/* The order if the actor may see it. Another account's order is "not_found" with the
 * very same message as a missing one, so ids cannot be probed. */
static const ord_order_t *s_visible(const ord_state_t *st, const svc_ctx_t *ctx,
                                    const char *order_id, svc_out_t *out)
{
    const char *actor = ord_s(ctx->header->actor_account);
    if (!*actor && !s_unscoped(ctx)) {
        svc_out_error(out, "forbidden", NULL, "an account is required");
        return NULL;
    }
    if (!*ord_s(order_id)) {
        svc_out_error(out, "invalid", "orderId", "is required");
        return NULL;
    }
    const ord_order_t *o = ord_order(st, order_id);
    if (o && (s_unscoped(ctx) || streq(o->placed->account_id, actor)))
        return o;
    svc_out_error(out, "not_found", "orderId", "no such order");
    return NULL;
}

void ord_query_list_orders(const void *state, const svc_ctx_t *ctx,
                           const ProtobufCMessage *msg, svc_out_t *out)
{
    const ord_state_t *st = state;
    const Tp__Order__ListOrders *q = (const Tp__Order__ListOrders *) msg;
    const char *actor = ord_s(ctx->header->actor_account);
    if (!*actor) {
        svc_out_error(out, "forbidden", NULL, "an account is required");
        return;
    }
    zlistx_t *mine = ord_orders_of(st, actor);
    size_t n = mine ? zlistx_size(mine) : 0;
    s_view_t *views = n ? calloc(n, sizeof *views) : NULL;
    Tp__Order__OrderView **ptrs = n ? calloc(n, sizeof *ptrs) : NULL;
    if (n && (!views || !ptrs)) {
        free(views);
        free(ptrs);
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    Tp__Order__OrderList list = TP__ORDER__ORDER_LIST__INIT;
    list.orders = ptrs;
    /* newest first, as "Meine Bestellungen" shows them */
    for (const ord_order_t *o = mine ? zlistx_last(mine) : NULL; o; o = zlistx_prev(mine)) {
        bool archived = streq(ord_status(o), ORD_FERTIG);
        if (archived != q->archived)
            continue;
        s_view_fill(&views[list.n_orders], st, o);
        ptrs[list.n_orders] = &views[list.n_orders].v;
        list.n_orders++;
    }
    svc_out_reply(out, &list.base);
    free(views);
    free(ptrs);
}

void ord_query_get_order(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                         svc_out_t *out)
{
    const Tp__Order__GetOrder *q = (const Tp__Order__GetOrder *) msg;
    const ord_order_t *o = s_visible(state, ctx, q->order_id, out);
    if (o)
        ord_reply_view(state, o, out);
}

void ord_query_find_order(const void *state, const svc_ctx_t *ctx,
                          const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Order__FindOrder *q = (const Tp__Order__FindOrder *) msg;
    if (!s_unscoped(ctx)) {
        svc_out_error(out, "forbidden", NULL, "operators only");
        return;
    }
    const ord_order_t *o = s_visible(state, ctx, q->order_id, out);
    if (o)
        ord_reply_view(state, o, out);
}

/* Renders on the loop: a small PDF takes 1-3 ms, which a batch can afford. Should that
 * grow (many downloads at once, heavier layouts), rendering can move to the worker pool
 * as a `prepare`-like step of queries, with the order's data copied out by a lookup. */
void ord_query_get_document(const void *state, const svc_ctx_t *ctx,
                            const ProtobufCMessage *msg, svc_out_t *out)
{
    const ord_state_t *st = state;
    const Tp__Order__GetDocument *q = (const Tp__Order__GetDocument *) msg;
    const char *kind = ord_s(q->kind);
    bool known = streq(kind, "application") || streq(kind, "checklist") || streq(kind, "coupon");
    if (!known)
        svc_out_error(out, "invalid", "kind", "must be application, checklist or coupon");
    const ord_order_t *o = s_visible(st, ctx, q->order_id, out);
    if (!o || !known)
        return;
    const Tp__Order__OrderPlaced *p = o->placed;
    if (streq(kind, "coupon") && !streq(p->ident_method, "postident")) {
        svc_out_error(out, "not_found", "kind", "only PostIdent orders have a coupon");
        return;
    }
    if (streq(kind, "coupon") && !o->postident_number) {
        svc_out_error(out, "not_ready", "kind",
                      "the PostIdent number is not assigned yet; try again in a moment");
        return;
    }
    const Tp__Order__Product *product = ord_product(ord_catalog(st), p->product_id);
    const Tp__Order__Shop *shop = ord_shop(ord_catalog(st), p->shop_id);
    bool en = streq(p->language, "en");
    order_pdf_data_t data = {
        .order = p,
        .product_name = product ? (en ? product->name_en : product->name_de) : p->product_id,
        .shop_name = shop ? shop->name : NULL,
        .postident_number = o->postident_number,
        .placed_at_us = o->placed_at_us,
    };
    Tp__Order__Document doc = TP__ORDER__DOCUMENT__INIT;
    char name[96];
    uint8_t *pdf = NULL;
    size_t len = 0;
    if (order_pdf_file_name(kind, p->order_id, p->language, name, sizeof name) != 0 ||
        order_pdf_render(kind, &data, &pdf, &len) != 0) {
        svc_out_error(out, "internal", NULL, "the document could not be rendered");
        return;
    }
    doc.file_name = name;
    doc.content_type = "application/pdf";
    doc.content.data = pdf;
    doc.content.len = len;
    svc_out_reply(out, &doc.base);
    free(pdf);
}

/* ------------------------------------------------------------------ catalog */

#define S_MAX_SHOPS_ASKED 32

static bool s_has(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (streq(list[i], s))
            return true;
    return false;
}

/* One shop's offer: copies of its products with the shop's extra methods added. */
typedef struct {
    Tp__Order__ShopOffer offer;
    Tp__Order__Shop shop;          /* the shop without its code */
    Tp__Order__Product *products;  /* the copies */
    Tp__Order__Product **product_p;
    char **methods;                /* all copies' method lists, one block */
} s_offer_t;

static int s_offer_fill(s_offer_t *so, const ord_catalog_t *cat, const Tp__Order__Shop *shop)
{
    size_t n = zlistx_size(cat->product_ids), k = 0;
    tp__order__shop_offer__init(&so->offer);
    so->shop = *shop;
    so->shop.code = "";
    so->offer.shop_id = shop->shop_id;
    so->offer.name = shop->name;
    so->products = calloc(n ? n : 1, sizeof *so->products);
    so->product_p = calloc(n ? n : 1, sizeof *so->product_p);
    so->methods = calloc((n ? n : 1) * 8, sizeof *so->methods);
    if (!so->products || !so->product_p || !so->methods)
        return -1;
    for (const char *id = zlistx_first(cat->product_ids); id; id = zlistx_next(cat->product_ids)) {
        const Tp__Order__Product *p = ord_product(cat, id);
        if (!p || !p->orderable || !ord_shop_offers(shop, id) || k >= n)
            continue;
        Tp__Order__Product *c = &so->products[k];
        *c = *p;
        char **m = &so->methods[k * 8];
        c->ident_methods = m;
        c->n_ident_methods = 0;
        for (size_t i = 0; i < p->n_ident_methods && c->n_ident_methods < 8; i++)
            m[c->n_ident_methods++] = p->ident_methods[i];
        for (size_t i = 0; i < shop->n_extra_ident_methods && c->n_ident_methods < 8; i++)
            if (ord_method_allowed(p, shop, shop->extra_ident_methods[i]) &&
                !s_has(m, c->n_ident_methods, shop->extra_ident_methods[i]))
                m[c->n_ident_methods++] = shop->extra_ident_methods[i];
        so->product_p[k++] = c;
    }
    so->offer.products = so->product_p;
    so->offer.n_products = k;
    return 0;
}

static void s_offer_fini(s_offer_t *so)
{
    free(so->products);
    free(so->product_p);
    free(so->methods);
}

void ord_query_get_catalog(const void *state, const svc_ctx_t *ctx,
                           const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Order__GetCatalog *q = (const Tp__Order__GetCatalog *) msg;
    const ord_catalog_t *cat = ord_catalog(state);
    if (q->n_shop_ids > S_MAX_SHOPS_ASKED) {
        svc_out_error(out, "invalid", "shopIds", "at most %d shops", S_MAX_SHOPS_ASKED);
        return;
    }
    /* an id no shop can have is a malformed request, not an unknown shop */
    for (size_t i = 0; i < q->n_shop_ids; i++)
        if (!ord_id_valid(q->shop_ids[i])) {
            char field[32];
            snprintf(field, sizeof field, "shopIds[%zu]", i);
            svc_out_error(out, "invalid", field, "must be 3 to 64 characters of a-z, 0-9 and -");
        }
    if (svc_out_failed(out))
        return;
    size_t n = zlistx_size(cat->product_ids);
    Tp__Order__Product **orderable = calloc(n ? n : 1, sizeof *orderable);
    Tp__Order__Product **elsewhere = calloc(n ? n : 1, sizeof *elsewhere);
    s_offer_t offers[S_MAX_SHOPS_ASKED];
    Tp__Order__ShopOffer *offer_p[S_MAX_SHOPS_ASKED];
    Tp__Order__Shop *shop_p[S_MAX_SHOPS_ASKED];
    Tp__Order__Catalog reply = TP__ORDER__CATALOG__INIT;
    reply.products = orderable;
    reply.not_orderable = elsewhere;
    reply.offers = offer_p;
    reply.shops = shop_p;
    bool ok = orderable && elsewhere;
    for (const char *id = zlistx_first(cat->product_ids); ok && id;
         id = zlistx_next(cat->product_ids)) {
        Tp__Order__Product *p = (Tp__Order__Product *) ord_product(cat, id);
        if (p && p->orderable)
            orderable[reply.n_products++] = p;
        else if (p)
            elsewhere[reply.n_not_orderable++] = p;
    }
    for (size_t i = 0; ok && i < q->n_shop_ids; i++) {
        const Tp__Order__Shop *shop = ord_shop(cat, q->shop_ids[i]);
        /* unknown, disabled and repeated shops are left out, not refused: an account
         * keeps the shops it redeemed even after one is closed */
        if (!shop || shop->disabled || s_has(q->shop_ids, i, q->shop_ids[i]))
            continue;
        s_offer_t *so = &offers[reply.n_offers];
        memset(so, 0, sizeof *so);
        ok = s_offer_fill(so, cat, shop) == 0;
        offer_p[reply.n_offers] = &so->offer;
        shop_p[reply.n_shops++] = &so->shop;
        reply.n_offers++;
    }
    if (ok)
        svc_out_reply(out, &reply.base);
    else
        svc_out_error(out, "internal", NULL, "out of memory");
    for (size_t i = 0; i < reply.n_offers; i++)
        s_offer_fini(&offers[i]);
    free(orderable);
    free(elsewhere);
}

void ord_query_list_shops(const void *state, const svc_ctx_t *ctx,
                          const ProtobufCMessage *msg, svc_out_t *out)
{
    const ord_catalog_t *cat = ord_catalog(state);
    if (!streq(ord_s(ctx->header->actor_role), "operator")) {
        svc_out_error(out, "forbidden", NULL, "operators only");
        return;
    }
    /* by code, so the list reads like the operator's own register */
    zlistx_t *codes = zhashx_keys(cat->codes);
    size_t n = codes ? zlistx_size(codes) : 0;
    Tp__Order__Shop **shops = calloc(n ? n : 1, sizeof *shops);
    if (!codes || !shops) {
        zlistx_destroy(&codes);
        free(shops);
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    zlistx_set_comparator(codes, (zlistx_comparator_fn *) strcmp);
    zlistx_sort(codes);
    Tp__Order__ShopList reply = TP__ORDER__SHOP_LIST__INIT;
    reply.shops = shops;
    for (const char *c = zlistx_first(codes); c; c = zlistx_next(codes)) {
        const Tp__Order__Shop *s = ord_shop(cat, zhashx_lookup(cat->codes, c));
        if (s && reply.n_shops < n)
            shops[reply.n_shops++] = (Tp__Order__Shop *) s;
    }
    svc_out_reply(out, &reply.base);
    zlistx_destroy(&codes);
    free(shops);
}
