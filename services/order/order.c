/* order.c: the order core's commands (shops, orders, back-office facts), its
 * reactions to the identification service, its tick, and the service table (the
 * reactions to the production service are in order_production.c). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "svc_text.h"
#include "identification.pb-c.h"
#include "order_internal.h"

/* What prepare leaves instead of a hash when the password breaks the rules: decide
 * then reports it together with every other bad field (a refusal from prepare would
 * report the password alone). A client cannot forge it: prepare replaces whatever the
 * client sent. */
#define S_PW_INVALID "$invalid$"
#define S_PW_MIN 8
#define S_PW_MAX 128

static bool s_is_role(const svc_ctx_t *ctx, const char *role)
{
    return streq(ord_s(ctx->header->actor_role), role);
}

static bool s_operator(const svc_ctx_t *ctx, svc_out_t *out)
{
    if (s_is_role(ctx, "operator"))
        return true;
    svc_out_error(out, "forbidden", NULL, "operators only");
    return false;
}

static void s_emit(svc_out_t *out, const char *kind, const char *id, const ProtobufCMessage *ev)
{
    char stream[ORD_STREAM_MAX];
    ord_stream(stream, sizeof stream, kind, id);
    svc_out_event(out, stream, ev);
}

/* ------------------------------------------------------------------ shops */

#define S_MAX_SHOP_PRODUCTS 32

enum { S_F_CODE = 1, S_F_NAME = 2, S_F_PRODUCTS = 4, S_F_METHODS = 8, S_F_DISABLED = 16,
       S_F_ALL = 31 };

static bool s_dup(char **list, size_t n, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (streq(list[j], list[i]))
            return true;
    return false;
}

/* Checks the fields of @p shop named by @p fields; @p self_id is the shop's own id (a
 * code it already has is not "in use"). */
static void s_check_shop(svc_out_t *out, const ord_catalog_t *cat, const Tp__Order__Shop *shop,
                         const char *self_id, int fields)
{
    char path[64];
    if (fields & S_F_CODE) {
        const Tp__Order__Shop *other = ord_shop_by_code(cat, shop->code);
        if (!*ord_s(shop->code))
            svc_out_error(out, "invalid", "shop.code", "is required");
        else if (!ord_shop_code_valid(shop->code))
            svc_out_error(out, "invalid", "shop.code",
                          "must be 6 to 32 characters of A-Z, a-z, 0-9 and -");
        else if (other && !(self_id && streq(other->shop_id, self_id)))
            svc_out_error(out, "conflict", "shop.code", "is already in use (codes ignore case)");
    }
    if (fields & S_F_NAME)
        ord_check_text(out, "shop.name", shop->name, 1, 200);
    /* bounded first: the duplicate checks below are quadratic */
    if ((fields & S_F_PRODUCTS) && shop->n_product_ids > S_MAX_SHOP_PRODUCTS) {
        svc_out_error(out, "invalid", "shop.productIds", "at most %d products",
                      S_MAX_SHOP_PRODUCTS);
        fields &= ~S_F_PRODUCTS;
    }
    if ((fields & S_F_METHODS) && shop->n_extra_ident_methods > 4) {
        svc_out_error(out, "invalid", "shop.extraIdentMethods",
                      "too many: there are two, officerident and dtrustident");
        fields &= ~S_F_METHODS;
    }
    for (size_t i = 0; (fields & S_F_PRODUCTS) && i < shop->n_product_ids; i++) {
        snprintf(path, sizeof path, "shop.productIds[%zu]", i);
        const Tp__Order__Product *p = ord_product(cat, shop->product_ids[i]);
        if (!p)
            svc_out_error(out, "invalid", path, "no such product");
        else if (!p->orderable)
            svc_out_error(out, "invalid", path, "is not orderable in the portal");
        else if (s_dup(shop->product_ids, shop->n_product_ids, i))
            svc_out_error(out, "invalid", path, "is listed twice");
    }
    for (size_t i = 0; (fields & S_F_METHODS) && i < shop->n_extra_ident_methods; i++) {
        snprintf(path, sizeof path, "shop.extraIdentMethods[%zu]", i);
        const char *m = shop->extra_ident_methods[i];
        if (!streq(m, "officerident") && !streq(m, "dtrustident"))
            svc_out_error(out, "invalid", path, "must be \"officerident\" or \"dtrustident\"");
        else if (s_dup(shop->extra_ident_methods, shop->n_extra_ident_methods, i))
            svc_out_error(out, "invalid", path, "is listed twice");
    }
}

static void s_decide_create_shop(const void *state, const svc_ctx_t *ctx,
                                 const ProtobufCMessage *msg, svc_out_t *out)
{
    const ord_state_t *st = state;
    const Tp__Order__CreateShop *cmd = (const Tp__Order__CreateShop *) msg;
    if (!s_operator(ctx, out))
        return;
    if (!cmd->shop) {
        svc_out_error(out, "invalid", "shop", "is required");
        return;
    }
    const ord_catalog_t *cat = ord_catalog(st);
    Tp__Order__Shop shop = *cmd->shop;
    s_check_shop(out, cat, &shop, NULL, S_F_ALL);
    char id[32];
    if (*ord_s(shop.shop_id)) {
        if (!ord_id_valid(shop.shop_id))
            svc_out_error(out, "invalid", "shop.shopId",
                          "must be 3 to 64 characters of a-z, 0-9 and -, or empty");
        else if (ord_shop(cat, shop.shop_id))
            svc_out_error(out, "conflict", "shop.shopId", "is already in use");
    }
    else {
        /* state-derived, so it reads well and replays the same (the event carries it) */
        size_t n = zhashx_size(cat->shops);
        do
            snprintf(id, sizeof id, "shop-%zu", ++n);
        while (ord_shop(cat, id));
        shop.shop_id = id;
    }
    if (svc_out_failed(out))
        return;
    ord_seed_if_needed(st, out);
    Tp__Order__ShopCreated ev = TP__ORDER__SHOP_CREATED__INIT;
    ev.shop = &shop;
    s_emit(out, "shop", shop.shop_id, &ev.base);
    svc_out_reply(out, &shop.base);
}

static void s_decide_change_shop(const void *state, const svc_ctx_t *ctx,
                                 const ProtobufCMessage *msg, svc_out_t *out)
{
    const ord_state_t *st = state;
    const Tp__Order__ChangeShop *cmd = (const Tp__Order__ChangeShop *) msg;
    if (!s_operator(ctx, out))
        return;
    if (!cmd->shop) {
        svc_out_error(out, "invalid", "shop", "is required");
        return;
    }
    const ord_catalog_t *cat = ord_catalog(st);
    const Tp__Order__Shop *old = ord_shop(cat, cmd->shop->shop_id);
    if (!old) {
        svc_out_error(out, "not_found", "shop.shopId", "no such shop");
        return;
    }
    static const char *const names[] = {"code", "name", "productIds", "extraIdentMethods",
                                        "disabled"};
    int fields = cmd->n_fields ? 0 : S_F_ALL;
    if (cmd->n_fields > 5) {
        svc_out_error(out, "invalid", "fields", "at most the 5 field names");
        return;
    }
    for (size_t i = 0; i < cmd->n_fields; i++) {
        int bit = 0;
        for (int b = 0; b < 5; b++)
            if (streq(cmd->fields[i], names[b]))
                bit = 1 << b;
        if (!bit) {
            char path[32];
            snprintf(path, sizeof path, "fields[%zu]", i);
            svc_out_error(out, "invalid", path,
                          "must be code, name, productIds, extraIdentMethods or disabled");
        }
        fields |= bit;
    }
    const Tp__Order__Shop *in = cmd->shop;
    /* without a field list, an empty code or name means "keep it" */
    if (!cmd->n_fields && !*ord_s(in->code))
        fields &= ~S_F_CODE;
    if (!cmd->n_fields && !*ord_s(in->name))
        fields &= ~S_F_NAME;
    s_check_shop(out, cat, in, old->shop_id, fields);
    if (svc_out_failed(out))
        return;
    Tp__Order__Shop shop = *old;
    if (fields & S_F_CODE)
        shop.code = in->code;
    if (fields & S_F_NAME)
        shop.name = in->name;
    if (fields & S_F_PRODUCTS) {
        shop.n_product_ids = in->n_product_ids;
        shop.product_ids = in->product_ids;
    }
    if (fields & S_F_METHODS) {
        shop.n_extra_ident_methods = in->n_extra_ident_methods;
        shop.extra_ident_methods = in->extra_ident_methods;
    }
    if (fields & S_F_DISABLED)
        shop.disabled = in->disabled;
    ord_seed_if_needed(st, out);
    Tp__Order__ShopChanged ev = TP__ORDER__SHOP_CHANGED__INIT;
    ev.shop = &shop;
    s_emit(out, "shop", shop.shop_id, &ev.base);
    svc_out_reply(out, &shop.base);
}

/* ------------------------------------------------------------------ orders */

/* Runs on a worker thread: Argon2id takes tens of milliseconds and 19 MiB, which the
 * loop must never wait for. */
static int s_prepare_order(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Order__PlaceOrder *cmd = (Tp__Order__PlaceOrder *) msg;
    const char *pw = ord_s(cmd->revocation_password);
    size_t bytes = strlen(pw);
    long n = svc_text_len(pw, false);
    char hash[crypto_pwhash_STRBYTES];
    const char *result = S_PW_INVALID;
    if (n >= S_PW_MIN && n <= S_PW_MAX) {
        if (crypto_pwhash_str_alg(hash, pw, bytes, ORDER_PWHASH_OPSLIMIT,
                                  ORDER_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
            svc_out_error(out, "internal", NULL, "hashing failed (out of memory)");
            return -1;
        }
        result = hash;
    }
    char *copy = strdup(result);
    if (!copy) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return -1;
    }
    if (cmd->revocation_password && cmd->revocation_password != protobuf_c_empty_string) {
        sodium_memzero(cmd->revocation_password, bytes);
        free(cmd->revocation_password);
    }
    cmd->revocation_password = copy;
    return 0;
}

static void s_check_password(svc_out_t *out, const char *hash)
{
    if (streq(hash, S_PW_INVALID))
        svc_out_error(out, "invalid", "revocationPassword", "must be %d to %d characters",
                      S_PW_MIN, S_PW_MAX);
    else if (strncmp(hash, "$argon2id$", 10) != 0)
        svc_out_error(out, "internal", "revocationPassword", "was not prepared");
}

/* Product, shop and method: each bad one named; @p product_p gets the product. */
static void s_check_offer(svc_out_t *out, const ord_catalog_t *cat,
                          const Tp__Order__PlaceOrder *cmd,
                          const Tp__Order__Product **product_p)
{
    const Tp__Order__Product *product = ord_product(cat, cmd->product_id);
    const Tp__Order__Shop *shop = NULL;
    bool shop_ok = true;
    if (!*ord_s(cmd->product_id))
        svc_out_error(out, "invalid", "productId", "is required");
    else if (!product)
        svc_out_error(out, "invalid", "productId", "no such product");
    else if (!product->orderable) {
        svc_out_error(out, "invalid", "productId", "cannot be ordered in the portal; see %s",
                      product->external_url);
        product = NULL;
    }
    if (*ord_s(cmd->shop_id)) {
        shop = ord_shop(cat, cmd->shop_id);
        shop_ok = false;
        if (!shop)
            svc_out_error(out, "invalid", "shopId", "no such shop");
        else if (shop->disabled)
            svc_out_error(out, "invalid", "shopId", "this shop is closed");
        else if (product && !ord_shop_offers(shop, product->product_id))
            svc_out_error(out, "invalid", "productId", "is not offered in this shop");
        else
            shop_ok = true;
    }
    const char *m = ord_s(cmd->ident_method);
    if (!*m)
        svc_out_error(out, "invalid", "identMethod", "is required");
    else if (!ord_method_known(m))
        svc_out_error(out, "invalid", "identMethod",
                      "must be postident, notarident, botschaftsident, officerident or "
                      "dtrustident");
    else if (product && shop_ok && !ord_method_allowed(product, shop, m))
        svc_out_error(out, "invalid", "identMethod",
                      "is not available for this product%s", shop ? " in this shop" : "");
    *product_p = product;
}

static void s_decide_place_order(const void *state, const svc_ctx_t *ctx,
                                 const ProtobufCMessage *msg, svc_out_t *out)
{
    const ord_state_t *st = state;
    const Tp__Order__PlaceOrder *cmd = (const Tp__Order__PlaceOrder *) msg;
    const char *account = ord_s(ctx->header->actor_account);
    if (!*account || !s_is_role(ctx, "customer")) {
        svc_out_error(out, "forbidden", NULL, "only a logged-in customer can order");
        return;
    }
    const ord_catalog_t *cat = ord_catalog(st);
    const Tp__Order__Product *product = NULL;
    s_check_offer(out, cat, cmd, &product);
    ord_check_applicant(out, cmd->applicant, ctx->now_us);
    bool org = ord_organization_given(cmd->organization);
    if (product && product->organization_required)
        ord_check_organization(out, org ? cmd->organization : NULL);
    else if (product && org && !product->organization_optional)
        svc_out_error(out, "invalid", "organization", "this product does not name an organization");
    else if (org)
        ord_check_organization(out, cmd->organization);
    const char *lang = *ord_s(cmd->language) ? cmd->language : "de";
    if (!streq(lang, "de") && !streq(lang, "en"))
        svc_out_error(out, "invalid", "language", "must be \"de\" or \"en\"");
    s_check_password(out, ord_s(cmd->revocation_password));
    if (svc_out_failed(out))
        return;

    /* TP-<year>-<number>: the number continues the state's sequence across years */
    int y, m, d;
    ord_civil(ord_days_of(ctx->now_us), &y, &m, &d);
    char order_id[48];
    uint64_t n = st->order_seq;
    do
        snprintf(order_id, sizeof order_id, "TP-%04d-%06llu", y, (unsigned long long) ++n);
    while (ord_order(st, order_id));

    ord_seed_if_needed(st, out);
    Tp__Order__OrderPlaced ev = TP__ORDER__ORDER_PLACED__INIT;
    ev.order_id = order_id;
    ev.account_id = (char *) account;
    ev.product_id = cmd->product_id;
    ev.shop_id = cmd->shop_id;
    ev.applicant = cmd->applicant;
    ev.organization = org ? cmd->organization : NULL;
    ev.ident_method = cmd->ident_method;
    ev.revocation_password_hash = cmd->revocation_password;
    ev.language = (char *) lang;
    ev.placed_at_us = ctx->now_us;
    s_emit(out, "order", order_id, &ev.base);
    ord_order_t view = {.placed = &ev, .placed_at_us = ctx->now_us};
    ord_reply_view(st, &view, out);
}

/* ------------------------------------------------------------------ back office */

/* The order an operator command names; NULL (with the error) when none or not allowed. */
static const ord_order_t *s_operator_order(const ord_state_t *st, const svc_ctx_t *ctx,
                                           const char *order_id, svc_out_t *out)
{
    if (!s_operator(ctx, out))
        return NULL;
    const ord_order_t *o = ord_order(st, order_id);
    if (!*ord_s(order_id))
        svc_out_error(out, "invalid", "orderId", "is required");
    else if (!o)
        svc_out_error(out, "not_found", "orderId", "no such order");
    return o;
}

static void s_release(svc_out_t *out, const ord_order_t *o, int64_t at_us)
{
    Tp__Order__OrderReleasedForProduction ev = TP__ORDER__ORDER_RELEASED_FOR_PRODUCTION__INIT;
    ev.order_id = o->placed->order_id;
    ev.account_id = o->placed->account_id;
    ev.product_id = o->placed->product_id;
    ev.shop_id = o->placed->shop_id;
    ev.at_us = at_us;
    s_emit(out, "order", o->placed->order_id, &ev.base);
}

static void s_decide_application(const void *state, const svc_ctx_t *ctx,
                                 const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Order__RecordApplicationReceived *cmd =
        (const Tp__Order__RecordApplicationReceived *) msg;
    const ord_order_t *o = s_operator_order(state, ctx, cmd->order_id, out);
    ord_check_text(out, "note", cmd->note, 0, 500);
    if (!o || svc_out_failed(out))
        return;
    if (o->application_at_us) {
        svc_out_error(out, "conflict", "orderId", "the signed application was already recorded");
        return;
    }
    const char *actor = ctx->header->actor_account;
    if (((const ord_state_t *) state)->four_eyes && o->ident_by && streq(o->ident_by, actor)) {
        svc_out_error(out, "forbidden", "orderId",
                      "four eyes: you recorded this order's identification, so another "
                      "operator records its signed application");
        return;
    }
    Tp__Order__ApplicationReceived ev = TP__ORDER__APPLICATION_RECEIVED__INIT;
    ev.order_id = cmd->order_id;
    ev.note = cmd->note;
    ev.at_us = ctx->now_us;
    ev.recorded_by = (char *) actor;   /* the identification service keeps it for four eyes */
    s_emit(out, "order", cmd->order_id, &ev.base);
    ord_order_t after = *o;
    after.application_at_us = ctx->now_us;
    if (ord_ready(o, true, false, false)) {
        s_release(out, o, ctx->now_us);
        after.released_at_us = ctx->now_us;
    }
    ord_reply_view(state, &after, out);
}

static void s_decide_problem(const void *state, const svc_ctx_t *ctx,
                             const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Order__RecordDataProblem *cmd = (const Tp__Order__RecordDataProblem *) msg;
    const ord_order_t *o = s_operator_order(state, ctx, cmd->order_id, out);
    ord_check_text(out, "reason", cmd->reason, 1, 500);
    if (!o || svc_out_failed(out))
        return;
    if (o->released_at_us) {
        svc_out_error(out, "conflict", "orderId", "the order is already in production");
        return;
    }
    if (o->problem_open) {
        svc_out_error(out, "conflict", "orderId", "a data problem is already open");
        return;
    }
    Tp__Order__DataProblemRecorded ev = TP__ORDER__DATA_PROBLEM_RECORDED__INIT;
    ev.order_id = cmd->order_id;
    ev.reason = cmd->reason;
    ev.at_us = ctx->now_us;
    s_emit(out, "order", cmd->order_id, &ev.base);
    ord_order_t after = *o;
    after.problem_open = true;
    after.problem = cmd->reason;
    after.problem_at_us = ctx->now_us;
    ord_reply_view(state, &after, out);
}

static void s_decide_resolve(const void *state, const svc_ctx_t *ctx,
                             const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Order__ResolveDataProblem *cmd = (const Tp__Order__ResolveDataProblem *) msg;
    const ord_order_t *o = s_operator_order(state, ctx, cmd->order_id, out);
    ord_check_text(out, "note", cmd->note, 0, 500);
    if (!o || svc_out_failed(out))
        return;
    if (!o->problem_open) {
        svc_out_error(out, "conflict", "orderId", "no data problem is open");
        return;
    }
    Tp__Order__DataProblemResolved ev = TP__ORDER__DATA_PROBLEM_RESOLVED__INIT;
    ev.order_id = cmd->order_id;
    ev.note = cmd->note;
    ev.at_us = ctx->now_us;
    s_emit(out, "order", cmd->order_id, &ev.base);
    ord_order_t after = *o;
    after.problem_open = false;
    if (ord_ready(o, false, false, true)) {
        s_release(out, o, ctx->now_us);
        after.released_at_us = ctx->now_us;
    }
    ord_reply_view(state, &after, out);
}

/* ------------------------------------------------------------------ reactions */

static void s_react_case_opened(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Identification__CaseOpened *e =
        tp__identification__case_opened__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "upstream CaseOpened does not decode");
        return;
    }
    const ord_order_t *o = ord_order(st, e->order_id);
    /* a new case after a failure brings a new number; a repeated one changes nothing */
    if (o && !o->released_at_us && streq(e->method, "postident") && *e->postident_number &&
        !(o->postident_number && streq(o->postident_number, e->postident_number))) {
        Tp__Order__PostIdentNumberAssigned a = TP__ORDER__POST_IDENT_NUMBER_ASSIGNED__INIT;
        a.order_id = e->order_id;
        a.postident_number = e->postident_number;
        s_emit(out, "order", e->order_id, &a.base);
    }
    tp__identification__case_opened__free_unpacked(e, NULL);
}

static void s_react_result(const ord_state_t *st, const svc_event_t *ev, bool succeeded,
                           svc_out_t *out)
{
    Tp__Identification__IdentificationSucceeded *ok = NULL;
    Tp__Identification__IdentificationFailed *failed = NULL;
    Tp__Order__IdentificationRecorded rec = TP__ORDER__IDENTIFICATION_RECORDED__INIT;
    rec.succeeded = succeeded;
    if (succeeded && (ok = tp__identification__identification_succeeded__unpack(
                          NULL, ev->payload_len, ev->payload))) {
        rec.order_id = ok->order_id;
        rec.method = ok->method;
        rec.evidence_ref = ok->evidence_ref;
        rec.at_us = ok->identified_at_us ? ok->identified_at_us : ev->recorded_at_us;
        /* an operator who typed it in may not record the application too (four eyes) */
        rec.recorded_by = streq(ok->recorded_by_role, "operator") ? ok->recorded_by_account : "";
    }
    else if (!succeeded && (failed = tp__identification__identification_failed__unpack(
                                NULL, ev->payload_len, ev->payload))) {
        rec.order_id = failed->order_id;
        rec.method = failed->method;
        rec.reason = failed->reason;
        rec.evidence_ref = failed->evidence_ref;
        rec.at_us = ev->recorded_at_us;
    }
    else {
        svc_out_error(out, "invalid", NULL, "upstream %s does not decode", ev->event_type);
        return;
    }
    const ord_order_t *o = ord_order(st, rec.order_id);
    /* duplicates and results after success or release change nothing */
    if (o && o->ident != ORD_IDENT_SUCCEEDED && !o->released_at_us) {
        s_emit(out, "order", rec.order_id, &rec.base);
        if (succeeded && ord_ready(o, false, true, false))
            s_release(out, o, ev->recorded_at_us);
    }
    if (ok)
        tp__identification__identification_succeeded__free_unpacked(ok, NULL);
    if (failed)
        tp__identification__identification_failed__free_unpacked(failed, NULL);
}

static void s_react(const void *state, const char *upstream, const svc_event_t *ev,
                    svc_out_t *out)
{
    if (upstream && ev->event_type &&
        (streq(ev->event_type, "CertificatesCreated") || streq(ev->event_type, "AccountDeleted"))) {
        ord_react_retention(state, upstream, ev, out);
        return;
    }
    if (upstream && streq(upstream, "production") && ev->event_type) {
        ord_react_production(state, ev, out);
        return;
    }
    if (!upstream || !streq(upstream, "identification") || !ev->event_type)
        return;
    if (streq(ev->event_type, "CaseOpened"))
        s_react_case_opened(state, ev, out);
    else if (streq(ev->event_type, "IdentificationSucceeded"))
        s_react_result(state, ev, true, out);
    else if (streq(ev->event_type, "IdentificationFailed"))
        s_react_result(state, ev, false, out);
}

/* The first start writes the catalog; afterwards the tick erases what is kept no longer. */
static void s_tick(const void *state, int64_t now_us, svc_out_t *out)
{
    ord_seed_if_needed(state, out);
    ord_tick_retention(state, now_us, out);
}

/* ------------------------------------------------------------------ the table */

/* The service's own settings (svc_settings.h). */
static const svc_setting_t s_settings[] = {
    {"four_eyes", "1", SVC_SETTING_BOOL, 0, 1,
     "1: the operator who recorded an order's identification does not record its signed\n"
     "application (the identification service refuses the other way round)."},
    {"retention_days", "3653", SVC_SETTING_INT, 0, 36500,
     "How long an order's registration evidence (the applicant's data, the evidence of the\n"
     "identification) is kept after its certificates expired, in days; then it is erased.\n"
     "The provider's policy and the law it follows decide; 3653 is ten years."},
    {NULL},
};

/* Four eyes on or off: it steers decisions only; what was decided is in the events. */
static void s_configure(void *state, zconfig_t *config, const char *name)
{
    ord_state_t *st = state;
    st->four_eyes = !streq(svc_setting_get(config, name, s_settings, "four_eyes"), "0");
    st->retention_us = atoll(svc_setting_get(config, name, s_settings, "retention_days")) *
                       86400LL * 1000000LL;
}

/* Commands and queries, with their reply types (tools and the gateway decode by them). */
static const svc_command_t s_commands[] = {
    {"CreateShop", &tp__order__create_shop__descriptor, false, NULL, s_decide_create_shop,
     NULL, false, &tp__order__shop__descriptor, SVC_OPERATOR},
    {"ChangeShop", &tp__order__change_shop__descriptor, false, NULL, s_decide_change_shop,
     NULL, false, &tp__order__shop__descriptor, SVC_OPERATOR},
    {"PlaceOrder", &tp__order__place_order__descriptor, false, s_prepare_order,
     s_decide_place_order, NULL, false, &tp__order__order_view__descriptor, SVC_CUSTOMER | SVC_OFFICER},
    {"RecordApplicationReceived", &tp__order__record_application_received__descriptor, false,
     NULL, s_decide_application, NULL, false, &tp__order__order_view__descriptor, SVC_OPERATOR},
    {"RecordDataProblem", &tp__order__record_data_problem__descriptor, false, NULL,
     s_decide_problem, NULL, false, &tp__order__order_view__descriptor, SVC_OPERATOR},
    {"ResolveDataProblem", &tp__order__resolve_data_problem__descriptor, false, NULL,
     s_decide_resolve, NULL, false, &tp__order__order_view__descriptor, SVC_OPERATOR},
    {"ListOrders", &tp__order__list_orders__descriptor, true, NULL, ord_query_list_orders, NULL,
     false, &tp__order__order_list__descriptor, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR},
    {"GetOrder", &tp__order__get_order__descriptor, true, NULL, ord_query_get_order, NULL,
     false, &tp__order__order_view__descriptor, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR},
    {"FindOrder", &tp__order__find_order__descriptor, true, NULL, ord_query_find_order, NULL,
     false, &tp__order__order_view__descriptor, SVC_OPERATOR},
    {"GetDocument", &tp__order__get_document__descriptor, true, NULL, ord_query_get_document,
     NULL, false, &tp__order__document__descriptor, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR},
    {"GetCatalog", &tp__order__get_catalog__descriptor, true, NULL, ord_query_get_catalog, NULL,
     false, &tp__order__catalog__descriptor, SVC_GATEWAY | SVC_OPERATOR},
    {"ListShops", &tp__order__list_shops__descriptor, true, NULL, ord_query_list_shops, NULL,
     false, &tp__order__shop_list__descriptor, SVC_OPERATOR},
};

/* The services that follow this one (its "$read" and PUB socket). */
static const char *const s_followers[] = {"account", "identification", "production", "revocation",
                                           "gateway", NULL};
static const char *const s_upstreams[] = {"identification", "production", "account", NULL};
/* who may open the applicants' data in its events: the services that need it */
static const char *const s_personal_to[] = {"identification", "revocation", NULL};

/* what react acts on; every other upstream event is skipped without a commit */
static const char *const s_reacts_to[] = {"JobOpened", "CardProduced", "CardShipped",
    "JobCompleted", "CaseOpened", "IdentificationSucceeded", "IdentificationFailed",
    "CertificatesCreated", "AccountDeleted", NULL};

const svc_def_t order_def = {
    .name = "order",
    .state_new = ord_state_new,
    .state_destroy = ord_state_destroy,
    .apply = ord_apply,
    .commands = s_commands,
    .n_commands = sizeof s_commands / sizeof s_commands[0],
    .react = s_react,
    .tick = s_tick,
    .upstreams = s_upstreams,
    .followers = s_followers,
    .reacts_to = s_reacts_to,
    .personal_to = s_personal_to,
    .summary = ord_summary,
    .configure = s_configure,
    .settings = s_settings,
};
