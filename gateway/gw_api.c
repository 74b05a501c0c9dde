/* gw_api.c: the routes with their own handling (sessions, kept refusals, PDFs, officers). */
#include <string.h>
#include "account.pb-c.h"
#include "gw_api.h"
#include "gw_json.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"
#include "pbj.h"
#include "revocation.pb-c.h"

/* Members of a SessionInfo never shown to the browser (the token lives in the cookie). */
static const char *const s_session_drop[] = {"sessionToken", "refusal", "touchDue", NULL};

void gw_api_healthz(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    gw_json_respond(req, 200, json_pack("{s:s}", "status", "ok"), NULL, 0);
}

void gw_api_readyz(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    json_t *services = json_object();
    char down[256] = "";
    for (int i = 0; i < GW_SVC_COUNT; i++) {
        if (!req->config->ready_check[i])
            continue;
        int rc = gw_backend_ready((gw_svc_t) i, req->config->ready_timeout_ms);
        const char *state = rc == GW_CALL_OK ? "ok" : rc == GW_CALL_SLOW ? "slow" : "down";
        json_object_set_new(services, gw_svc_name((gw_svc_t) i), json_string(state));
        if (rc != GW_CALL_OK) {
            size_t n = strlen(down);
            snprintf(down + n, sizeof down - n, "%s%s", n ? ", " : "", gw_svc_name((gw_svc_t) i));
        }
    }
    if (!down[0]) {
        gw_json_respond(req, 200, json_pack("{s:s, s:o}", "status", "ready", "services", services),
                        NULL, 0);
        return;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "not answering: %s", down);
    const gw_header_t retry[] = {{"Retry-After", "1"}};
    gw_json_respond(req, 503,
                    json_pack("{s:s, s:o, s:{s:s, s:s, s:s}}", "status", "not_ready", "services",
                              services, "error", "code", "service_unavailable", "field", "",
                              "message", msg),
                    retry, 1);
}

void gw_api_login(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, ctx->msg);
    if (!r)
        return;
    Tp__Account__SessionInfo *si = tp__account__session_info__unpack(NULL, r->body.len,
                                                                      r->body.data);
    if (!si || si->refusal[0] || !si->session_token[0]) {
        const char *code = si && si->refusal[0] ? si->refusal : "invalid_credentials";
        gw_json_error(req, gw_json_status_of(code), code, "",
                      "wrong e-mail address or password");
    }
    else {
        json_t *json = gw_json_from_reply(route->reply, r, s_session_drop);
        char csrf[64];
        gw_session_csrf(req->config, si->session_token, csrf, sizeof csrf);
        if (json)
            json_object_set_new(json, "csrfToken", json_string(csrf));
        gw_session_set_cookie(req, si->session_token);
        gw_handler_ok(req, route, NULL, json);
    }
    if (si)
        tp__account__session_info__free_unpacked(si, NULL);
    tp__reply__free_unpacked(r, NULL);
}

void gw_api_logout(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Account__Logout cmd = TP__ACCOUNT__LOGOUT__INIT;
    cmd.session_token = ctx->session.token;
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, &cmd.base);
    gw_session_invalidate();
    if (!r)
        return;
    tp__reply__free_unpacked(r, NULL);
    gw_session_set_cookie(req, NULL);
    gw_respond(req, 204, NULL, NULL, 0, NULL, 0);
}

void gw_api_me(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    json_t *json = pbj_to_json(&ctx->session.info->base, PBJ_EMIT_DEFAULTS);
    if (json) {
        for (size_t i = 0; s_session_drop[i]; i++)
            json_object_del(json, s_session_drop[i]);
        json_object_set_new(json, "csrfToken", json_string(ctx->session.csrf));
    }
    gw_handler_ok(req, route, NULL, json);
}

/* GetCatalog for the session's shops (none when anonymous); NULL after responding. */
static Tp__Reply *s_catalog(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Order__GetCatalog q = TP__ORDER__GET_CATALOG__INIT;
    if (ctx->has_session) {
        q.shop_ids = ctx->session.info->shop_ids;
        q.n_shop_ids = ctx->session.info->n_shop_ids;
    }
    return gw_handler_call(req, route, ctx, route->command, &q.base);
}

void gw_api_catalog(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = s_catalog(req, route, ctx);
    if (!r)
        return;
    gw_handler_ok_reply(req, route, r);
    tp__reply__free_unpacked(r, NULL);
}

void gw_api_shops(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = s_catalog(req, route, ctx);
    if (!r)
        return;
    json_t *cat = gw_json_from_reply(route->reply, r, NULL);
    json_t *shops = cat ? json_object_get(cat, "shops") : NULL;
    size_t i;
    json_t *shop;
    json_array_foreach(shops, i, shop) json_object_del(shop, "code");   /* never shown */
    gw_handler_ok(req, route, r,
                 cat ? json_pack("{s:O}", "shops", shops ? shops : json_array()) : NULL);
    json_decref(cat);
    tp__reply__free_unpacked(r, NULL);
}

void gw_api_redeem(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, ctx->msg);
    if (!r)
        return;
    Tp__Account__ShopRedeemed *sr =
        tp__account__shop_redeemed__unpack(NULL, r->body.len, r->body.data);
    if (!sr || sr->refusal[0] || !sr->shop_id[0]) {
        const char *code = sr && sr->refusal[0] ? sr->refusal : "unknown_shop_code";
        gw_json_error(req, gw_json_status_of(code), code, "code", "no shop has this code");
    }
    else {
        static const char *const drop[] = {"refusal", NULL};
        gw_session_invalidate();   /* the session's shops changed */
        gw_handler_ok(req, route, r, gw_json_from_reply(route->reply, r, drop));
    }
    if (sr)
        tp__account__shop_redeemed__free_unpacked(sr, NULL);
    tp__reply__free_unpacked(r, NULL);
}

void gw_api_place_order(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    const Tp__Order__PlaceOrder *cmd = (const Tp__Order__PlaceOrder *) ctx->msg;
    if (cmd->shop_id && cmd->shop_id[0] && !gw_session_has_shop(&ctx->session, cmd->shop_id)) {
        if (!gw_handler_refresh(req, ctx))
            return;
        if (!gw_session_has_shop(&ctx->session, cmd->shop_id)) {
            gw_json_error(req, 400, "invalid", "shopId",
                          "not a shop of this account; redeem its shop code first");
            return;
        }
    }
    gw_handler_generic(req, route, ctx);
}

/* A file name safe inside a quoted Content-Disposition parameter. */
static void s_safe_name(const char *in, char *out, size_t outsz)
{
    size_t k = 0;
    for (; in && *in && k + 1 < outsz; in++) {
        char c = *in;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        out[k++] = ok ? c : '_';
    }
    out[k] = '\0';
    if (k == 0)
        snprintf(out, outsz, "document.pdf");
}

void gw_api_document(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, ctx->msg);
    if (!r)
        return;
    Tp__Order__Document *doc = tp__order__document__unpack(NULL, r->body.len, r->body.data);
    if (!doc)
        gw_json_error(req, 502, "internal", "", "the order service sent a bad document");
    else {
        char name[128], disp[200];
        s_safe_name(doc->file_name, name, sizeof name);
        snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
        bool pdf = strcmp(doc->content_type, "application/pdf") == 0;
        const gw_header_t h[] = {{"Content-Disposition", disp}};
        gw_respond(req, 200, pdf ? "application/pdf" : "application/octet-stream",
                   doc->content.data, doc->content.len, h, 1);
        tp__order__document__free_unpacked(doc, NULL);
    }
    tp__reply__free_unpacked(r, NULL);
}

void gw_api_revoke(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, ctx->msg);
    if (!r)
        return;
    Tp__Revocation__RevocationAnswer *a =
        tp__revocation__revocation_answer__unpack(NULL, r->body.len, r->body.data);
    if (!a)
        gw_json_error(req, 502, "internal", "", "the revocation service sent a bad answer");
    else if (!a->accepted) {
        const char *code = a->refusal[0] ? a->refusal : "invalid_credentials";
        gw_json_error(req, gw_json_status_of(code), code, "",
                      strcmp(code, "throttled") == 0
                          ? "too many attempts; please try again later"
                          : "wrong number or revocation password");
    }
    else {
        static const char *const drop[] = {"refusal", NULL};
        gw_handler_ok(req, route, r, gw_json_from_reply(route->reply, r, drop));
    }
    if (a)
        tp__revocation__revocation_answer__free_unpacked(a, NULL);
    tp__reply__free_unpacked(r, NULL);
}

/* The case of the path's order, when it belongs to a shop this officer serves; NULL after
 * responding (404 for any other case: another shop's case is not shown to exist). */
static Tp__Reply *s_officer_case(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Identification__GetCase q = TP__IDENTIFICATION__GET_CASE__INIT;
    q.order_id = (char *) gw_req_param(req, "orderId");
    gw_actor_t as = ctx->actor;
    as.request_id = NULL;   /* a query; the POST's key is for the command */
    gw_ctx_t qctx = *ctx;
    qctx.actor = as;
    Tp__Reply *r = gw_handler_call(req, route, &qctx, "identification.GetCase", &q.base);
    if (!r)
        return NULL;
    Tp__Identification__Case *c = tp__identification__case__unpack(NULL, r->body.len,
                                                                    r->body.data);
    bool mine = c && gw_session_is_officer(&ctx->session, c->shop_id);
    if (c && !mine) {
        if (!gw_handler_refresh(req, ctx)) {
            tp__identification__case__free_unpacked(c, NULL);
            tp__reply__free_unpacked(r, NULL);
            return NULL;
        }
        mine = gw_session_is_officer(&ctx->session, c->shop_id);
    }
    if (c)
        tp__identification__case__free_unpacked(c, NULL);
    if (!mine) {
        tp__reply__free_unpacked(r, NULL);
        gw_json_error(req, 404, "not_found", "orderId", "no identification case for this order");
        return NULL;
    }
    return r;
}

void gw_api_officer_case(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = s_officer_case(req, route, ctx);
    if (!r)
        return;
    gw_handler_ok_reply(req, route, r);
    tp__reply__free_unpacked(r, NULL);
}

void gw_api_officer_result(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = s_officer_case(req, route, ctx);
    if (!r)
        return;
    tp__reply__free_unpacked(r, NULL);
    gw_handler_generic(req, route, ctx);
}
