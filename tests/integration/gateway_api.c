/* gateway_api.c: tp-gateway over real HTTP (libcurl) against the real daemons: every
 * route's success path (register -> mailed token -> confirm -> login -> me -> catalog ->
 * shop code -> order -> list -> get -> documents -> officer -> logout), an idempotent
 * retry, static files, health and readiness, a stopped service answering 503 on its
 * routes only and recovering, a slow one 504; products and revocation are in
 * gateway_api_products.c, the failures every route shares in gateway_api_fail.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gateway_api.h"

#define PASSWORD "correct horse battery staple"

/* Redeems @p code, retrying while the account service has not learned the shop yet. */
static bool s_redeem(gwc_t *c, const char *code, const char *shop)
{
    char body[128];
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        gwc_resp_t r;
        gwc_req(c, "POST", "/api/v1/shops", body, NULL, &r);
        bool done = r.status == 201 && strcmp(gwc_str(&r, "shopId"), shop) == 0;
        bool retry = r.status == 400 && strcmp(gwc_err_code(&r), "unknown_shop_code") == 0;
        if (!done && !retry)
            gwc_log("redeem", &r);
        gwc_resp_free(&r);
        if (done || !retry)
            return done;
        zclock_sleep(200);
    }
    return false;
}

/* True when the JSON array @p arr has a string @p s. */
static bool s_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
        return true;
    return false;
}

static void s_static_and_health(gt_t *t)
{
    gwc_resp_t r;
    gwc_req(t->anon, "GET", "/healthz", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "ok") == 0);
    gwc_resp_free(&r);
    gwc_req(t->anon, "GET", "/readyz", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "ready") == 0);
    gwc_resp_free(&r);
    /* "/" is index.html, revalidated every time; its ETag gives 304 */
    char etag[100] = "", v[200];
    gwc_req(t->anon, "GET", "/", NULL, NULL, &r);
    TH_CHECK(r.status == 200 && strstr(r.body, "trustportal") && !strstr(r.body, "<script>"));
    TH_CHECK(gwc_header(&r, "Content-Type", v, sizeof v) && strncmp(v, "text/html", 9) == 0);
    TH_CHECK(gwc_header(&r, "Cache-Control", v, sizeof v) && strcmp(v, "no-cache") == 0);
    TH_CHECK(gwc_header(&r, "ETag", etag, sizeof etag) && etag[0] == '"');
    gwc_resp_free(&r);
    char inm[160];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *h304[] = {inm, NULL};
    gwc_req(t->anon, "GET", "/index.html", NULL, h304, &r);
    TH_CHECK(r.status == 304 && r.len == 0);
    gwc_resp_free(&r);
    const char *hother[] = {"If-None-Match: \"something-else\"", NULL};
    gwc_req(t->anon, "GET", "/index.html", NULL, hother, &r);
    TH_CHECK(r.status == 200 && r.len > 0);
    gwc_resp_free(&r);
    /* no way out of the web root, plain or encoded; hidden files neither */
    static const char *const bad[] = {"/../etc/passwd", "/%2e%2e/etc/passwd",
                                      "/web/%2E%2E/%2e%2e/etc/passwd", "/..%2fetc/passwd",
                                      "/.git/config", "/a/../../etc/passwd",
                                      "/%2e%2e%5cetc%5cpasswd", NULL};
    for (size_t i = 0; bad[i]; i++) {
        gwc_req(t->anon, "GET", bad[i], NULL, NULL, &r);
        if (r.status != 400)
            gwc_log(bad[i], &r);
        TH_CHECK(r.status == 400 && !strstr(r.body, "root:"));
        gwc_resp_free(&r);
    }
    gwc_req(t->anon, "GET", "/no-such-file.css", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 404, "not_found", NULL));
    gwc_resp_free(&r);
    gwc_req(t->anon, "POST", "/index.html", "{}", NULL, &r);
    TH_CHECK(gwc_is(&r, 405, "method_not_allowed", NULL));
    gwc_resp_free(&r);
    gwc_req(t->anon, "GET", "/api/v1/no-such-route", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 404, "not_found", NULL));
    gwc_resp_free(&r);
    gwc_req(t->anon, "PUT", "/api/v1/orders", "{}", NULL, &r);
    TH_CHECK(gwc_is(&r, 405, "method_not_allowed", NULL) && gwc_header(&r, "Allow", v, sizeof v) &&
             strstr(v, "GET") && strstr(v, "POST"));
    gwc_resp_free(&r);
    /* a URI longer than url_max (2048) */
    char *longpath = malloc(3100);
    memcpy(longpath, "/api/v1/catalog?x=", 18);
    memset(longpath + 18, 'a', 3000);
    longpath[3018] = '\0';
    gwc_req(t->anon, "GET", longpath, NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 414, "uri_too_long", NULL));
    gwc_resp_free(&r);
    /* headers larger than the connection's memory (header_max, 32 KiB) */
    char *big = malloc(40100);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', 40000);
    big[40007] = '\0';
    const char *hbig[] = {big, NULL};
    gwc_req(t->anon, "GET", "/healthz", NULL, hbig, &r);
    TH_CHECK(r.status == 431);
    gwc_resp_free(&r);
    free(big);
    free(longpath);
}

static void s_accounts(gt_t *t)
{
    TH_CHECK(gwc_signup(t->th, t->a, PASSWORD, "anna.api@example.org"));
    TH_CHECK(gwc_signup(t->th, t->b, PASSWORD, "bernd.api@example.org"));
    gwc_resp_t r;
    /* uniform answers for the anonymous account routes */
    gwc_req(t->anon, "POST", "/api/v1/accounts/confirmation",
            "{\"email\":\"anna.api@example.org\"}", NULL, &r);
    TH_CHECK(gwc_is(&r, 202, NULL, NULL));
    gwc_resp_free(&r);
    gwc_req(t->anon, "POST", "/api/v1/session",
            "{\"email\":\"anna.api@example.org\",\"password\":\"not the right one\"}", NULL, &r);
    TH_CHECK(gwc_is(&r, 401, "invalid_credentials", NULL) && !gwc_session(t->anon)[0]);
    gwc_resp_free(&r);
    /* who am I */
    gwc_req(t->a, "GET", "/api/v1/me", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    TH_CHECK(strcmp(gwc_str(&r, "email"), "anna.api@example.org") == 0 &&
             gwc_str(&r, "accountId")[0] && strcmp(gwc_str(&r, "language"), "en") == 0 &&
             s_has(json_object_get(r.json, "roles"), "customer") &&
             json_is_array(json_object_get(r.json, "shopIds")) && gwc_str(&r, "csrfToken")[0] &&
             !json_object_get(r.json, "sessionToken"));
    gwc_resp_free(&r);
    /* forgot password -> mailed link -> new password -> log in with it */
    gwc_req(t->anon, "POST", "/api/v1/password/forgot", "{\"email\":\"bernd.api@example.org\"}",
            NULL, &r);
    TH_CHECK(gwc_is(&r, 202, NULL, NULL));
    gwc_resp_free(&r);
    char *mail = th_mail_wait(t->th, NULL, "bernd.api@example.org", "/#/reset?token=", 15000);
    char token[128] = "", body[300];
    TH_CHECK(mail && th_token_after(mail, "reset?token=", token, sizeof token));
    free(mail);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"newPassword\":\"%s 2\"}", token, PASSWORD);
    gwc_req(t->anon, "POST", "/api/v1/password/reset", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    /* logging in again gives a new token; the old session still works until logged out */
    char old[160];
    snprintf(old, sizeof old, "%s", gwc_session(t->b));
    snprintf(body, sizeof body, "{\"email\":\"bernd.api@example.org\",\"password\":\"%s 2\"}",
             PASSWORD);
    gwc_req(t->b, "POST", "/api/v1/session", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(old, gwc_session(t->b)) != 0);
    gwc_set_csrf(t->b, gwc_str(&r, "csrfToken"));
    gwc_resp_free(&r);
}

static void s_shops_and_catalog(gt_t *t)
{
    gwc_resp_t r;
    gwc_req(t->anon, "GET", "/api/v1/catalog", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) &&
             json_array_size(json_object_get(r.json, "products")) == 2 &&
             json_array_size(json_object_get(r.json, "notOrderable")) >= 4 &&
             json_array_size(json_object_get(r.json, "offers")) == 0);
    gwc_resp_free(&r);
    TH_CHECK(s_redeem(t->a, FL_DEMO_CODE, FL_DEMO_SHOP));
    gwc_req(t->a, "POST", "/api/v1/shops", "{\"code\":\"NO-SUCH-SHOP-1\"}", NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "unknown_shop_code", "code"));
    gwc_resp_free(&r);
    gwc_req(t->a, "GET", "/api/v1/shops", NULL, NULL, &r);
    json_t *shop0 = json_array_get(json_object_get(r.json, "shops"), 0);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && shop0 &&
             strcmp(json_string_value(json_object_get(shop0, "shopId")), FL_DEMO_SHOP) == 0 &&
             strcmp(json_string_value(json_object_get(shop0, "name")), "Musterfirma GmbH") == 0);
    gwc_resp_free(&r);
    /* the session knows the shop at once (the cached session was dropped) */
    gwc_req(t->a, "GET", "/api/v1/me", NULL, NULL, &r);
    TH_CHECK(r.status == 200 && s_has(json_object_get(r.json, "shopIds"), FL_DEMO_SHOP));
    gwc_resp_free(&r);
    gwc_req(t->a, "GET", "/api/v1/catalog", NULL, NULL, &r);
    json_t *offer = json_array_get(json_object_get(r.json, "offers"), 0);
    json_t *p0 = json_array_get(json_object_get(offer, "products"), 0);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && offer && p0 &&
             s_has(json_object_get(p0, "identMethods"), "officerident"));
    gwc_resp_free(&r);
}

/* Polls A's order until it has its PostIdent number. */
static bool s_wait_postident(gt_t *t, const char *order_id)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/orders/%s", order_id);
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        gwc_resp_t r;
        gwc_req(t->a, "GET", path, NULL, NULL, &r);
        bool ok = r.status == 200 && gwc_str(&r, "postidentNumber")[0];
        gwc_resp_free(&r);
        if (ok)
            return true;
        zclock_sleep(100);
    }
    return false;
}

static int s_count_orders(gwc_t *c, bool archived)
{
    gwc_resp_t r;
    gwc_req(c, "GET", archived ? "/api/v1/orders?archived=true" : "/api/v1/orders?archived=false",
            NULL, NULL, &r);
    int n = r.status == 200 ? (int) json_array_size(json_object_get(r.json, "orders")) : -1;
    gwc_resp_free(&r);
    return n;
}

static void s_orders(gt_t *t)
{
    char *order = gwc_order_json("seal-card", FL_DEMO_SHOP, "postident");
    const char *key[] = {"Idempotency-Key: order-1", NULL};
    gwc_resp_t r, r2;
    gwc_req(t->a, "POST", "/api/v1/orders", order, key, &r);
    TH_CHECK(gwc_is(&r, 201, NULL, NULL) && strcmp(gwc_str(&r, "status"), "offen") == 0);
    snprintf(t->a_order, sizeof t->a_order, "%s", gwc_str(&r, "orderId"));
    /* the retry: the same answer, marked replayed, and still one order */
    char v[64];
    gwc_req(t->a, "POST", "/api/v1/orders", order, key, &r2);
    TH_CHECK(gwc_is(&r2, 201, NULL, NULL) && strcmp(gwc_str(&r2, "orderId"), t->a_order) == 0);
    TH_CHECK(gwc_header(&r2, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0);
    TH_CHECK(r.len == r2.len && memcmp(r.body, r2.body, r.len) == 0);
    gwc_resp_free(&r);
    gwc_resp_free(&r2);
    TH_CHECK(s_count_orders(t->a, false) == 1 && s_count_orders(t->a, true) == 0);
    /* B's key "order-1" is B's own: a new order of B, not A's answer */
    char *plain = gwc_order_json("signature-card", NULL, "postident");
    gwc_req(t->b, "POST", "/api/v1/orders", plain, key, &r);
    TH_CHECK(gwc_is(&r, 201, NULL, NULL) && gwc_str(&r, "orderId")[0] &&
             strcmp(gwc_str(&r, "orderId"), t->a_order) != 0);
    snprintf(t->b_order, sizeof t->b_order, "%s", gwc_str(&r, "orderId"));
    gwc_resp_free(&r);
    TH_CHECK(s_count_orders(t->b, false) == 1 && s_count_orders(t->a, false) == 1);
    /* a shop the account did not redeem */
    char *other = gwc_order_json("signature-card", "shop-two", "postident");
    gwc_req(t->b, "POST", "/api/v1/orders", other, NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "shopId"));
    gwc_resp_free(&r);
    free(other);
    free(plain);
    free(order);
    /* one order, then its documents */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/orders/%s", t->a_order);
    gwc_req(t->a, "GET", path, NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "orderId"), t->a_order) == 0 &&
             json_array_size(json_object_get(r.json, "steps")) > 0 &&
             json_array_size(json_object_get(r.json, "documents")) >= 2);
    gwc_resp_free(&r);
    TH_CHECK(s_wait_postident(t, t->a_order));
    static const char *const kinds[] = {"application", "checklist", "coupon"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/v1/orders/%s/documents/%s", t->a_order, kinds[i]);
        gwc_req(t->a, "GET", path, NULL, NULL, &r);
        char disp[200] = "", ct[100] = "";
        gwc_header(&r, "Content-Disposition", disp, sizeof disp);
        gwc_header(&r, "Content-Type", ct, sizeof ct);
        if (r.status != 200)
            gwc_log(kinds[i], &r);
        TH_CHECK(r.status == 200 && r.len > 100 && memcmp(r.body, "%PDF-", 5) == 0);
        TH_CHECK(strcmp(ct, "application/pdf") == 0);
        TH_CHECK(strncmp(disp, "attachment; filename=\"", 22) == 0 && strstr(disp, ".pdf\"") &&
                 strstr(disp, t->a_order));
        gwc_resp_free(&r);
    }
    snprintf(path, sizeof path, "/api/v1/orders/%s/documents/nonsense", t->a_order);
    gwc_req(t->a, "GET", path, NULL, NULL, &r);
    TH_CHECK(r.status == 400 || r.status == 404);
    gwc_resp_free(&r);
}

/* Polls @p c's /me until it is an officer of @p shop. */
static bool s_wait_officer(gwc_t *c, const char *shop)
{
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        gwc_resp_t r;
        gwc_req(c, "GET", "/api/v1/me", NULL, NULL, &r);
        bool ok = r.status == 200 && s_has(json_object_get(r.json, "officerShopIds"), shop) &&
                  s_has(json_object_get(r.json, "roles"), "officer");
        gwc_resp_free(&r);
        if (ok)
            return true;
        zclock_sleep(200);
    }
    return false;
}

/* True once the identification service lets @p account list @p shop's cases as officer. */
static bool s_ident_knows(gt_t *t, const char *account, const char *shop)
{
    const th_actor_t as = {"officer", account, "192.0.2.10"};
    Tp__Identification__ListCases q = TP__IDENTIFICATION__LIST_CASES__INIT;
    q.shop_id = (char *) shop;
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        Tp__Reply *rep = th_call_as(t->th, "identification", &as, NULL,
                                    "identification.ListCases", &q.base, FL_CALL_MS);
        bool ok = rep && rep->ok;
        th_reply_free(&rep);
        if (ok)
            return true;
        zclock_sleep(20);
    }
    return false;
}

/* Appoints @p c's account officer of @p shop. Before, the officer routes refuse it (and
 * the gateway caches that session); right after, they let it in at once: a refusal
 * resolves the session again instead of trusting a cached one from before. */
static void s_appoint(gt_t *t, gwc_t *c, const char *shop)
{
    gwc_resp_t r;
    gwc_req(c, "GET", "/api/v1/me", NULL, NULL, &r);
    char account[64];
    snprintf(account, sizeof account, "%s", gwc_str(&r, "accountId"));
    gwc_resp_free(&r);
    gwc_req(c, "GET", "/api/v1/officer/cases", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 403, "forbidden", NULL));
    gwc_resp_free(&r);
    Tp__Account__AppointOfficer ap = TP__ACCOUNT__APPOINT_OFFICER__INIT;
    ap.account_id = account;
    ap.shop_id = (char *) shop;
    Tp__Reply *rep = th_call_as(t->th, "account", &fl_operator, NULL, "account.AppointOfficer",
                                &ap.base, FL_CALL_MS);
    if (!rep || !rep->ok)
        th_reply_log("AppointOfficer", rep);
    TH_CHECK(rep && rep->ok);
    th_reply_free(&rep);
    TH_CHECK(s_ident_knows(t, account, shop));
    gwc_req(c, "GET", "/api/v1/officer/cases", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    TH_CHECK(s_wait_officer(c, shop));
}

/* Places an OfficerIdent order for A in the demo shop; its id into @p id. */
static bool s_officer_order(gt_t *t, char *id, size_t idsz)
{
    char *order = gwc_order_json("signature-card", FL_DEMO_SHOP, "officerident");
    gwc_resp_t r;
    gwc_req(t->a, "POST", "/api/v1/orders", order, NULL, &r);
    bool ok = gwc_is(&r, 201, NULL, NULL);
    snprintf(id, idsz, "%s", gwc_str(&r, "orderId"));
    gwc_resp_free(&r);
    free(order);
    return ok;
}

/* Polls the officer's case list until it has @p order_id. */
static bool s_wait_case(gwc_t *c, const char *order_id)
{
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        gwc_resp_t r;
        gwc_req(c, "GET", "/api/v1/officer/cases", NULL, NULL, &r);
        bool found = false;
        size_t i;
        json_t *cs;
        json_array_foreach(json_object_get(r.json, "cases"), i, cs) if (
            strcmp(json_string_value(json_object_get(cs, "orderId")), order_id) == 0) found = true;
        gwc_resp_free(&r);
        if (found)
            return true;
        zclock_sleep(200);
    }
    return false;
}

static void s_officers(gt_t *t)
{
    TH_CHECK(gwc_signup(t->th, t->o, PASSWORD, "olga.officer@example.org"));
    s_appoint(t, t->o, FL_DEMO_SHOP);
    /* B becomes an officer of another shop: no view of the demo shop's cases */
    Tp__Order__Shop shop = TP__ORDER__SHOP__INIT;
    char *extra[] = {"officerident"};
    shop.shop_id = "shop-two";
    shop.code = "SHOP-TWO-2026";
    shop.name = "Zweite Muster AG";
    shop.extra_ident_methods = extra;
    shop.n_extra_ident_methods = 1;
    Tp__Order__CreateShop cs = TP__ORDER__CREATE_SHOP__INIT;
    cs.shop = &shop;
    Tp__Reply *rep = th_call_as(t->th, "order", &fl_operator, NULL, "order.CreateShop", &cs.base,
                                FL_CALL_MS);
    TH_CHECK(rep && rep->ok);
    th_reply_free(&rep);
    s_appoint(t, t->b, "shop-two");

    char done[32];
    TH_CHECK(s_officer_order(t, done, sizeof done));
    TH_CHECK(s_officer_order(t, t->a_case, sizeof t->a_case));
    TH_CHECK(s_wait_case(t->o, done) && s_wait_case(t->o, t->a_case));
    gwc_resp_t r;
    char path[160];
    snprintf(path, sizeof path, "/api/v1/officer/cases/%s", done);
    gwc_req(t->o, "GET", path, NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "open") == 0 &&
             strcmp(gwc_str(&r, "method"), "officerident") == 0);
    gwc_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/officer/cases/%s/result", done);
    const char *key[] = {"Idempotency-Key: result-1", NULL};
    const char *result = "{\"succeeded\":true,\"evidenceRef\":\"PA-L01X00T47\","
                         "\"identifiedBy\":\"Olga Officer\"}";
    gwc_req(t->o, "POST", path, result, key, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "identified") == 0 &&
             strcmp(gwc_str(&r, "evidenceRef"), "PA-L01X00T47") == 0);
    gwc_resp_free(&r);
    gwc_req(t->o, "POST", path, result, key, &r);   /* retried: the same answer */
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "identified") == 0);
    gwc_resp_free(&r);
    gwc_req(t->o, "POST", path, result, NULL, &r);   /* a second result for a closed case */
    TH_CHECK(gwc_is(&r, 409, "conflict", NULL));
    gwc_resp_free(&r);
    /* customers are no officers */
    gwc_req(t->a, "GET", "/api/v1/officer/cases", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 403, "forbidden", NULL));
    gwc_resp_free(&r);
    /* the officer of the other shop does not see the demo shop's case */
    gwc_req(t->b, "GET", "/api/v1/officer/cases", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && !strstr(r.body, t->a_case));
    gwc_resp_free(&r);
}

/* Stops @p name (SIGTERM): its routes answer 503 fast, the account routes still work,
 * /readyz names it; started again, its routes work again. */
static pid_t s_stopped(gt_t *t, gwc_t *c, const char *name, const char *path)
{
    th_stop(t->th, name, SIGTERM);
    gwc_resp_t r;
    gwc_req(c, "GET", path, NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 503, "service_unavailable", NULL) && r.secs < 3.0);
    char v[16];
    TH_CHECK(gwc_header(&r, "Retry-After", v, sizeof v));
    gwc_resp_free(&r);
    for (int i = 0; i < 3; i++) {   /* remembered: the next ones fail fast */
        gwc_req(c, "GET", path, NULL, NULL, &r);
        TH_CHECK(gwc_is(&r, 503, "service_unavailable", NULL) && r.secs < 0.5);
        gwc_resp_free(&r);
    }
    gwc_req(c, "GET", "/api/v1/me", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    gwc_req(t->anon, "GET", "/readyz", NULL, NULL, &r);
    json_t *err = json_object_get(r.json, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *state = json_string_value(json_object_get(json_object_get(r.json, "services"),
                                                          name));
    TH_CHECK(gwc_is(&r, 503, "service_unavailable", NULL) && msg && strstr(msg, name) &&
             state && strcmp(state, "down") == 0 && !strstr(msg, "account"));
    gwc_resp_free(&r);
    pid_t pid = th_start(t->th, th_exe_of(name), name, 15000);
    TH_CHECK(pid > 0);
    bool back = false;
    int64_t deadline = zclock_mono() + 5000;
    while (!back && zclock_mono() < deadline) {
        gwc_req(c, "GET", path, NULL, NULL, &r);
        back = r.status == 200;
        gwc_resp_free(&r);
        if (!back)
            zclock_sleep(100);
    }
    TH_CHECK(back);
    gwc_req(t->anon, "GET", "/readyz", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    return pid;
}

/* A service that does not answer (SIGSTOP): 504 after the time-out, then 503 at once
 * while it is remembered as down, the other services unaffected; back after SIGCONT. */
/* True once every thread of @p pid is stopped: kill() only asks, and a thread running on
 * the other core may still answer one more request. */
static bool s_is_stopped(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        char path[64], state = '?';
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "r");
        if (f) {
            /* "pid (comm) S ...": the state follows the last ')' */
            char line[512];
            if (fgets(line, sizeof line, f)) {
                const char *p = strrchr(line, ')');
                if (p && p[1] == ' ')
                    state = p[2];
            }
            fclose(f);
        }
        if (state == 'T' || state == 't')
            return true;
        zclock_sleep(5);
    }
    return false;
}

static void s_slow(gt_t *t, pid_t pid)
{
    kill(pid, SIGSTOP);
    TH_CHECK(s_is_stopped(pid));
    gwc_resp_t r;
    gwc_req(t->a, "GET", "/api/v1/orders", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 504, "service_timeout", NULL) && r.secs > 1.5 && r.secs < 4.0);
    gwc_resp_free(&r);
    gwc_req(t->a, "GET", "/api/v1/orders", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 503, "service_unavailable", NULL) && r.secs < 0.5);
    gwc_resp_free(&r);
    gwc_req(t->a, "GET", "/api/v1/me", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    kill(pid, SIGCONT);
    bool back = false;
    int64_t deadline = zclock_mono() + 5000;
    while (!back && zclock_mono() < deadline) {
        gwc_req(t->a, "GET", "/api/v1/orders", NULL, NULL, &r);
        back = r.status == 200;
        gwc_resp_free(&r);
        if (!back)
            zclock_sleep(200);
    }
    TH_CHECK(back);
}

static void s_logout(gt_t *t)
{
    char old[160];
    snprintf(old, sizeof old, "%s", gwc_session(t->a));
    gwc_resp_t r;
    gwc_req(t->a, "DELETE", "/api/v1/session", NULL, NULL, &r);
    char cookie[300] = "";
    gwc_header(&r, "Set-Cookie", cookie, sizeof cookie);
    TH_CHECK(r.status == 204 && strstr(cookie, "Max-Age=0") && !gwc_session(t->a)[0]);
    gwc_resp_free(&r);
    /* at once, even with the old cookie replayed */
    gwc_set_session(t->a, old);
    gwc_req(t->a, "GET", "/api/v1/me", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 401, "unauthenticated", NULL));
    gwc_resp_free(&r);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    gt_t t;
    memset(&t, 0, sizeof t);
    t.th = th_new("gateway");
    int port = th_smtp_start(t.th);
    TH_CHECK(port > 0);
    fl_configure(t.th, port);
    char services[128] = "account,order,identification";
    if (port <= 0 || !th_start_services(t.th, 15000)) {
        fprintf(stderr, "gateway_api: the services did not come up\n");
        th_destroy(&t.th);
        return 1;
    }
    /* production and revocation are optional: their routes are 503 while they do not run */
    const char *prd = getenv("TP_PRODUCTION"), *rev = getenv("TP_REVOCATION");
    th_set(t.th, "revocation/processing_delay_s", "1");
    t.production = prd && *prd && th_start(t.th, prd, "production", 15000) > 0;
    t.revocation = rev && *rev && th_start(t.th, rev, "revocation", 15000) > 0;
    if (t.production)
        strcat(services, ",production");
    if (t.revocation)
        strcat(services, ",revocation");
    if (!gwc_start_gateway(t.th, services, t.base, sizeof t.base)) {
        th_destroy(&t.th);
        return 1;
    }
    t.anon = gwc_new(t.base);
    t.a = gwc_new(t.base);
    t.b = gwc_new(t.base);
    t.o = gwc_new(t.base);
    s_static_and_health(&t);
    s_accounts(&t);
    s_shops_and_catalog(&t);
    s_orders(&t);
    s_officers(&t);
    gt_products(&t);
    gt_failures(&t);
    pid_t order_pid = s_stopped(&t, t.a, "order", "/api/v1/orders");
    if (order_pid > 0)
        s_slow(&t, order_pid);
    s_stopped(&t, t.o, "identification", "/api/v1/officer/cases");
    s_logout(&t);
    gwc_destroy(&t.anon);
    gwc_destroy(&t.a);
    gwc_destroy(&t.b);
    gwc_destroy(&t.o);
    th_destroy(&t.th);
    fprintf(stderr, "gateway_api: %d requests; production %s, revocation %s; %d checks failed\n",
            gwc_requests, t.production ? "running" : "not running (503 checked)",
            t.revocation ? "running" : "not running (503 checked)", th_failed);
    return th_failed ? 1 : 0;
}
