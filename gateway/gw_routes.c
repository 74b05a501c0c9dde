/* gw_routes.c: the route table, matching, and the steps every route shares. */
#include <stdlib.h>
#include <string.h>
#include "account.pb-c.h"
#include "gw_api.h"
#include "gw_json.h"
#include "gw_privacy.h"
#include "gw_routes.h"
#include "gw_sse.h"
#include "gw_static.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"
#include "pbj.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"

#define D(x) (&tp__##x##__descriptor)
#define ACC GW_SVC_ACCOUNT
#define ORD GW_SVC_ORDER
#define IDT GW_SVC_IDENTIFICATION
#define PRD GW_SVC_PRODUCTION
#define REV GW_SVC_REVOCATION
#define SES GW_R_SESSION

/* Every route of the API; gateway/openapi.yaml documents exactly these (a test checks). */
static const gw_route_t s_routes[] = {
    {"GET", "/healthz", gw_api_healthz, ACC, NULL, NULL, NULL, 0, 200},
    {"GET", "/readyz", gw_api_readyz, ACC, NULL, NULL, NULL, 0, 200},
    /* accounts and sessions */
    {"POST", "/api/v1/accounts", gw_handler_generic, ACC, "account.Register",
     D(account__register), D(account__accepted), GW_R_SLOW, 202},
    {"POST", "/api/v1/accounts/confirm", gw_handler_generic, ACC, "account.Confirm",
     D(account__confirm), D(account__accepted), GW_R_SLOW, 200},
    {"POST", "/api/v1/accounts/confirmation", gw_handler_generic, ACC,
     "account.ResendConfirmation", D(account__resend_confirmation), D(account__accepted), 0,
     202},
    {"POST", "/api/v1/session", gw_api_login, ACC, "account.Login", D(account__login),
     D(account__session_info), GW_R_SLOW, 200},
    {"DELETE", "/api/v1/session", gw_api_logout, ACC, "account.Logout", NULL,
     D(account__accepted), SES, 204},
    {"GET", "/api/v1/me", gw_api_me, ACC, NULL, NULL, D(account__session_info), SES, 200},
    {"POST", "/api/v1/me/notifications", gw_handler_generic, ACC, "account.SetNotifications",
     D(account__set_notifications), D(account__notifications), SES, 200},
    {"GET", "/api/v1/me/export", gw_privacy_export, ACC, NULL, NULL, NULL, SES, 200},
    {"POST", "/api/v1/me/deletion-request", gw_privacy_deletion, ACC, "account.RequestDeletion",
     D(account__request_deletion), D(account__deletion_request), SES, 202},
    {"POST", "/api/v1/password/forgot", gw_handler_generic, ACC, "account.RequestPasswordReset",
     D(account__request_password_reset), D(account__accepted), 0, 202},
    {"POST", "/api/v1/password/reset", gw_handler_generic, ACC, "account.CompletePasswordReset",
     D(account__complete_password_reset), D(account__accepted), GW_R_SLOW, 200},
    /* catalog and shops */
    {"GET", "/api/v1/catalog", gw_api_catalog, ORD, "order.GetCatalog", NULL,
     D(order__catalog), GW_R_SESSION_OPT, 200},
    {"GET", "/api/v1/shops", gw_api_shops, ORD, "order.GetCatalog", NULL, D(order__catalog),
     SES, 200},
    {"POST", "/api/v1/shops", gw_api_redeem, ACC, "account.RedeemShopCode",
     D(account__redeem_shop_code), D(account__shop_redeemed), SES, 201},
    /* orders */
    {"POST", "/api/v1/orders", gw_api_place_order, ORD, "order.PlaceOrder",
     D(order__place_order), D(order__order_view), SES | GW_R_SLOW, 201},
    {"GET", "/api/v1/orders", gw_handler_generic, ORD, "order.ListOrders", D(order__list_orders),
     D(order__order_list), SES, 200},
    {"GET", "/api/v1/orders/{orderId}", gw_handler_generic, ORD, "order.GetOrder",
     D(order__get_order), D(order__order_view), SES, 200},
    {"GET", "/api/v1/orders/{orderId}/documents/{kind}", gw_api_document, ORD,
     "order.GetDocument", D(order__get_document), D(order__document), SES, 200},
    /* products and revocation */
    {"GET", "/api/v1/events", gw_sse_handler, ORD, NULL, NULL, NULL, SES, 200},
    {"GET", "/api/v1/products", gw_handler_generic, PRD, "production.ListProducts",
     D(production__list_products), D(production__product_list), SES, 200},
    {"GET", "/api/v1/products/{productId}", gw_handler_generic, PRD, "production.GetProduct",
     D(production__get_product), D(production__product_view), SES, 200},
    {"POST", "/api/v1/products/{productId}/revocation", gw_handler_generic, REV,
     "revocation.RequestRevocation", D(revocation__request_revocation),
     D(revocation__revocation_view), SES, 202},
    {"POST", "/api/v1/revocations", gw_api_revoke, REV, "revocation.RevokeWithPassword",
     D(revocation__revoke_with_password), D(revocation__revocation_answer), GW_R_SLOW, 202},
    {"GET", "/api/v1/revocation-list", gw_handler_generic, REV, "revocation.GetRevocationList",
     D(revocation__get_revocation_list), D(revocation__revocation_list), 0, 200},
    /* officers */
    {"GET", "/api/v1/officer/cases", gw_handler_generic, IDT, "identification.ListCases",
     D(identification__list_cases), D(identification__case_list), SES | GW_R_OFFICER, 200},
    {"GET", "/api/v1/officer/cases/{orderId}", gw_api_officer_case, IDT,
     "identification.GetCase", D(identification__get_case), D(identification__case),
     SES | GW_R_OFFICER, 200},
    {"POST", "/api/v1/officer/cases/{orderId}/result", gw_api_officer_result, IDT,
     "identification.RecordResult", D(identification__record_result),
     D(identification__case), SES | GW_R_OFFICER, 200},
};
#define S_N_ROUTES (sizeof s_routes / sizeof s_routes[0])

void gw_routes_print(FILE *out)
{
    for (size_t i = 0; i < S_N_ROUTES; i++)
        fprintf(out, "%s %s\n", s_routes[i].method, s_routes[i].path);
}

/* Matches @p url against @p pattern, filling the request's path parameters.
 * A parameter matches one non-empty segment shorter than its buffer (160 bytes). */
static bool s_match(const char *pattern, const char *url, gw_req_t *req)
{
    const char *p = pattern, *u = url;
    int n = 0;
    while (*p && *u) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            size_t ul = strcspn(u, "/");
            size_t nl = pe ? (size_t) (pe - p - 1) : 0;
            if (!pe || ul == 0 || ul >= sizeof req->params[0].value || n >= GW_MAX_PARAMS ||
                nl >= sizeof req->params[0].name)
                return false;
            memcpy(req->params[n].name, p + 1, nl);
            req->params[n].name[nl] = '\0';
            memcpy(req->params[n].value, u, ul);
            req->params[n].value[ul] = '\0';
            n++;
            p = pe + 1;
            u += ul;
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    if (*p || *u)
        return false;
    req->n_params = n;
    return true;
}

/* ------------------------------------------------------------------ shared steps */

static bool s_key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
}

/* Step 5: the request id from Idempotency-Key; -1 after responding 400. */
static int s_request_id(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    const char *key = gw_req_header(req, "Idempotency-Key");
    if (!key || strcmp(req->method, "POST") != 0)
        return 0;
    size_t n = strlen(key);
    bool ok = n >= 1 && n <= 100;
    for (size_t i = 0; ok && i < n; i++)
        ok = s_key_char(key[i]);
    if (!ok) {
        gw_json_error(req, 400, "invalid", "Idempotency-Key",
                      "must be 1..100 characters of A-Z, a-z, 0-9, '.', '_', ':', '-'");
        return -1;
    }
    char ns[96];
    if (ctx->has_session)
        snprintf(ns, sizeof ns, "%s", ctx->session.info->account_id);
    else
        gw_session_anon_ns(req, ns, sizeof ns);
    int len = snprintf(ctx->request_id, sizeof ctx->request_id, "%s:%s:%s", ns,
                       route->command ? route->command : route->path, key);
    if (len < 0 || len > 200) {
        gw_json_error(req, 400, "invalid", "Idempotency-Key", "is too long");
        return -1;
    }
    return 0;
}

/* A query argument into the JSON object @p cls: "true" and "false" (and a bare name) as
 * booleans, anything else as a string; one that is not UTF-8 is skipped. */
static void s_arg(void *cls, const char *key, const char *value)
{
    json_t *json = cls;
    if (!key || !*key)
        return;
    json_t *v = !value ? json_true()
                : strcmp(value, "true") == 0  ? json_true()
                : strcmp(value, "false") == 0 ? json_false()
                                              : json_string(value);
    if (v)
        json_object_set_new(json, key, v);   /* json_string of bad UTF-8 is NULL: skipped */
}

/* Step 6: the command message; -1 after responding. */
static int s_message(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    if (!route->body)
        return 0;
    bool post = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
    json_t *json = post ? gw_json_body(req) : json_object();
    if (!json)
        return -1;
    if (!post)
        gw_req_args(req, s_arg, json);
    for (int i = 0; i < req->n_params; i++) {
        /* the path wins over the body, under either spelling of the name */
        char snake[64];
        size_t k = 0;
        for (const char *c = req->params[i].name; *c && k + 2 < sizeof snake; c++) {
            if (*c >= 'A' && *c <= 'Z') {
                snake[k++] = '_';
                snake[k++] = (char) (*c - 'A' + 'a');
            }
            else
                snake[k++] = *c;
        }
        snake[k] = '\0';
        json_object_del(json, snake);
        json_t *v = json_string(req->params[i].value);
        if (!v) {
            json_decref(json);
            gw_json_error(req, 400, "invalid", req->params[i].name, "not valid UTF-8");
            return -1;
        }
        json_object_set_new(json, req->params[i].name, v);
    }
    ctx->msg = gw_json_to_msg(req, route->body, json, post ? 0 : PBJ_IGNORE_UNKNOWN);
    json_decref(json);
    return ctx->msg ? 0 : -1;
}

static void s_run(gw_req_t *req, const gw_route_t *route)
{
    gw_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.timeout_ms = route->flags & GW_R_SLOW ? req->config->slow_timeout_ms
                                              : req->config->timeout_ms;
    bool write = gw_req_is_write(req);
    if (write && gw_session_check_origin(req) != 0)
        return;
    if (route->flags & (GW_R_SESSION | GW_R_SESSION_OPT)) {
        int rc = gw_session_resolve(req, &ctx.session);
        if (rc < 0)
            return;
        ctx.has_session = rc == 0;
        if (!ctx.has_session && (route->flags & GW_R_SESSION)) {
            gw_json_error(req, 401, "unauthenticated", "", "please log in");
            return;
        }
    }
    if (write && ctx.has_session && gw_session_check_csrf(req, &ctx.session) != 0)
        goto done;
    if ((route->flags & GW_R_OFFICER) && !gw_session_is_officer(&ctx.session, NULL)) {
        if (!gw_handler_refresh(req, &ctx))
            goto done;
        if (!gw_session_is_officer(&ctx.session, NULL)) {
            gw_json_error(req, 403, "forbidden", "", "only officers of a shop may do this");
            goto done;
        }
    }
    if (s_request_id(req, route, &ctx) != 0 || s_message(req, route, &ctx) != 0)
        goto done;
    ctx.actor.request_id = ctx.request_id;
    ctx.actor.client_addr = req->client_addr;
    if (ctx.has_session) {
        ctx.actor.actor_account = ctx.session.info->account_id;
        ctx.actor.actor_role = route->flags & GW_R_OFFICER ? "officer" : "customer";
    }
    route->handler(req, route, &ctx);
done:
    if (ctx.msg)
        protobuf_c_message_free_unpacked(ctx.msg, NULL);
    gw_session_clear(&ctx.session);
}

/* The matched route's shared steps and handler (run as a task by the server). */
static void s_run_route(gw_req_t *req)
{
    s_run(req, req->route);
}

gw_req_fn *gw_routes_dispatch(gw_req_t *req)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    char allow[64] = "";
    for (size_t i = 0; i < S_N_ROUTES; i++) {
        if (!s_match(s_routes[i].path, req->url, req))
            continue;
        if (strcmp(s_routes[i].method, method) == 0) {
            req->route = &s_routes[i];
            return s_run_route;   /* may wait for services */
        }
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", s_routes[i].method);
    }
    req->n_params = 0;
    if (allow[0]) {
        const gw_header_t h[] = {{"Allow", allow}};
        gw_json_respond(req, 405,
                        json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "method_not_allowed",
                                  "field", "", "message", "method not allowed here"),
                        h, 1);
        return NULL;
    }
    if (strncmp(req->url, "/api/", 5) == 0 || strcmp(req->url, "/api") == 0) {
        gw_json_error(req, 404, "not_found", "", "no such API route");
        return NULL;
    }
    gw_static_serve(req);
    return NULL;
}
