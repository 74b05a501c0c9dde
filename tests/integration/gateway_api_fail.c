/* gateway_api_fail.c: the failures every route of the gateway shares, as matrices over
 * the routes and methods: no session (401), CSRF by Origin and by token (403), wrong
 * JSON (400 naming the field, 415), oversized bodies (413), throttling (429), and
 * another account's resources (404). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway_api.h"

#define K_SES 0x1u    /* needs a session */
#define K_BODY 0x2u   /* POST with a JSON body */
#define K_OFF 0x4u    /* officer route */
#define K_MINE 0x8u   /* names one of A's resources */

typedef struct {
    const char *method;
    const char *path;   /* {order}, {case}, {product}: A's */
    unsigned kind;
} s_route_t;

/* Every route that can refuse in one of these ways: all but the public GETs (healthz,
 * readyz, catalog, revocation list), which need no session, take no body, change
 * nothing and name nobody's resource. */
static const s_route_t s_routes[] = {
    {"POST", "/api/v1/accounts", K_BODY},
    {"POST", "/api/v1/accounts/confirm", K_BODY},
    {"POST", "/api/v1/accounts/confirmation", K_BODY},
    {"POST", "/api/v1/session", K_BODY},
    {"DELETE", "/api/v1/session", K_SES},
    {"GET", "/api/v1/me", K_SES},
    {"GET", "/api/v1/me/export", K_SES},
    {"POST", "/api/v1/me/deletion-request", K_SES | K_BODY},
    {"POST", "/api/v1/password/forgot", K_BODY},
    {"POST", "/api/v1/password/reset", K_BODY},
    {"GET", "/api/v1/shops", K_SES},
    {"POST", "/api/v1/shops", K_SES | K_BODY},
    {"GET", "/api/v1/orders", K_SES},
    {"POST", "/api/v1/orders", K_SES | K_BODY},
    {"GET", "/api/v1/orders/{order}", K_SES | K_MINE},
    {"GET", "/api/v1/orders/{order}/documents/application", K_SES | K_MINE},
    {"GET", "/api/v1/orders/{order}/documents/checklist", K_SES | K_MINE},
    {"GET", "/api/v1/orders/{order}/documents/coupon", K_SES | K_MINE},
    {"GET", "/api/v1/products", K_SES},
    {"GET", "/api/v1/products/{product}", K_SES | K_MINE},
    {"POST", "/api/v1/products/{product}/revocation", K_SES | K_BODY | K_MINE},
    {"POST", "/api/v1/revocations", K_BODY},
    {"GET", "/api/v1/officer/cases", K_SES | K_OFF},
    {"GET", "/api/v1/officer/cases/{case}", K_SES | K_OFF | K_MINE},
    {"POST", "/api/v1/officer/cases/{case}/result", K_SES | K_OFF | K_BODY | K_MINE},
};
#define S_N (sizeof s_routes / sizeof s_routes[0])

static bool s_write(const s_route_t *r)
{
    return strcmp(r->method, "GET") != 0;
}

/* The route's path with A's ids put in. */
static void s_path(const gt_t *t, const char *pattern, char *out, size_t outsz)
{
    size_t k = 0;
    for (const char *p = pattern; *p && k + 1 < outsz;) {
        const char *val = NULL;
        size_t skip = 0;
        if (strncmp(p, "{order}", 7) == 0) {
            val = t->a_order;
            skip = 7;
        }
        else if (strncmp(p, "{case}", 6) == 0) {
            val = t->a_case;
            skip = 6;
        }
        else if (strncmp(p, "{product}", 9) == 0) {
            static char prd[48];
            snprintf(prd, sizeof prd, "prd-%s", t->a_order);
            val = prd;
            skip = 9;
        }
        if (val) {
            k += (size_t) snprintf(out + k, outsz - k, "%s", val);
            p += skip;
        }
        else
            out[k++] = *p++;
    }
    out[k < outsz ? k : outsz - 1] = '\0';
}

/* One request of route @p r by @p c; checks status, code and field. */
static void s_expect(gt_t *t, gwc_t *c, const s_route_t *r, const char *body,
                     const char *const *extra, long status, const char *code, const char *field)
{
    char path[256];
    s_path(t, r->path, path, sizeof path);
    gwc_resp_t resp;
    gwc_req(c, r->method, path, body, extra, &resp);
    bool ok = gwc_is(&resp, status, code, field);
    if (!ok)
        fprintf(stderr, "  ... for %s %s\n", r->method, path);
    TH_CHECK(ok);
    gwc_resp_free(&resp);
}

/* 401 without a session, and with a forged or stale cookie (which is then removed). */
static void s_no_session(gt_t *t)
{
    gwc_t *forged = gwc_new(t->base);
    gwc_set_session(forged, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    gwc_set_csrf(forged, "whatever");
    for (size_t i = 0; i < S_N; i++) {
        if (!(s_routes[i].kind & K_SES))
            continue;
        const char *body = s_routes[i].kind & K_BODY ? "{}" : NULL;
        s_expect(t, t->anon, &s_routes[i], body, NULL, 401, "unauthenticated", NULL);
        gwc_set_session(forged, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        s_expect(t, forged, &s_routes[i], body, NULL, 401, "unauthenticated", NULL);
        TH_CHECK(!gwc_session(forged)[0]);   /* Set-Cookie removed it */
    }
    gwc_destroy(&forged);
}

/* Every state-changing route: the Origin check (missing, foreign, a Referer instead),
 * then for logged-in routes the CSRF token (missing, another session's). Nothing of
 * this reaches a service. */
static void s_csrf(gt_t *t)
{
    gwc_resp_t me;
    gwc_req(t->b, "GET", "/api/v1/me", NULL, NULL, &me);
    char b_token[128];
    snprintf(b_token, sizeof b_token, "%s", gwc_str(&me, "csrfToken"));
    gwc_resp_free(&me);
    char referer[160], evil_referer[160];
    snprintf(referer, sizeof referer, "Referer: %s/#/login", t->base);
    snprintf(evil_referer, sizeof evil_referer, "Referer: http://evil.example/%s", t->base);
    const char *no_origin[] = {"Origin:", NULL};
    const char *bad_origin[] = {"Origin: http://evil.example", NULL};
    const char *null_origin[] = {"Origin: null", NULL};
    const char *bad_referer[] = {"Origin:", evil_referer, NULL};
    for (size_t i = 0; i < S_N; i++) {
        const s_route_t *r = &s_routes[i];
        if (!s_write(r))
            continue;
        gwc_t *c = r->kind & K_SES ? t->a : t->anon;
        const char *body = r->kind & K_BODY ? "{}" : NULL;
        s_expect(t, c, r, body, no_origin, 403, "csrf", "Origin");
        s_expect(t, c, r, body, bad_origin, 403, "csrf", "Origin");
        s_expect(t, c, r, body, null_origin, 403, "csrf", "Origin");
        s_expect(t, c, r, body, bad_referer, 403, "csrf", "Origin");
        if (!(r->kind & K_SES))
            continue;
        const char *no_token[] = {"X-CSRF-Token:", NULL};
        s_expect(t, t->a, r, body, no_token, 403, "csrf", "X-CSRF-Token");
        char other[200];
        snprintf(other, sizeof other, "X-CSRF-Token: %s", b_token);
        const char *other_token[] = {other, NULL};
        s_expect(t, t->a, r, body, other_token, 403, "csrf", "X-CSRF-Token");
    }
    /* a Referer under the public origin is accepted instead of Origin */
    const char *with_referer[] = {"Origin:", referer, NULL};
    gwc_resp_t r;
    gwc_req(t->anon, "POST", "/api/v1/session",
            "{\"email\":\"nobody.here@example.org\",\"password\":\"not a password\"}",
            with_referer, &r);
    TH_CHECK(gwc_is(&r, 401, "invalid_credentials", NULL));
    gwc_resp_free(&r);
    /* the session still works: nothing above logged anybody out */
    gwc_req(t->a, "GET", "/api/v1/me", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
}

/* The client for route @p r that passes every check before the body: A, or the
 * officer O on officer routes. */
static gwc_t *s_client(gt_t *t, const s_route_t *r)
{
    return r->kind & K_OFF ? t->o : r->kind & K_SES ? t->a : t->anon;
}

/* Every route with a body: bad JSON, JSON of the wrong shape, not JSON, too large. */
static void s_bodies(gt_t *t)
{
    const char *text_plain[] = {"Content-Type: text/plain", NULL};
    char *big = malloc(70 * 1024 + 1);
    memset(big, ' ', 70 * 1024);
    big[0] = '{';
    big[70 * 1024 - 1] = '}';
    big[70 * 1024] = '\0';
    for (size_t i = 0; i < S_N; i++) {
        const s_route_t *r = &s_routes[i];
        if (!(r->kind & K_BODY))
            continue;
        gwc_t *c = s_client(t, r);
        s_expect(t, c, r, "{\"a\":", NULL, 400, "invalid_json", "");
        s_expect(t, c, r, "[1,2]", NULL, 400, "invalid", "");
        s_expect(t, c, r, "{\"noSuchField\":1}", NULL, 400, "invalid", "noSuchField");
        s_expect(t, c, r, "{}", text_plain, 415, "unsupported_media_type", "Content-Type");
        s_expect(t, c, r, big, NULL, 413, "body_too_large", "");
    }
    /* the same limit while a chunked body streams in (no Content-Length) */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    s_expect(t, t->anon, &s_routes[0], big, chunked, 413, "body_too_large", "");
    free(big);
    /* the field's JSON path and why */
    gwc_resp_t r;
    gwc_req(t->anon, "POST", "/api/v1/accounts", "{\"email\":5,\"password\":\"x\"}", NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "email") && strstr(r.body, "must be a string"));
    gwc_resp_free(&r);
    gwc_req(t->a, "POST", "/api/v1/orders",
            "{\"productId\":\"seal-card\",\"applicant\":{\"address\":{\"postalCode\":12}}}", NULL,
            &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "applicant.address.postalCode"));
    gwc_resp_free(&r);
    gwc_req(t->a, "GET", "/api/v1/orders?archived=maybe", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "archived"));
    gwc_resp_free(&r);
    /* the service's validation: every bad field, the first in front */
    gwc_req(t->a, "POST", "/api/v1/orders", "{\"productId\":\"seal-card\"}", NULL, &r);
    json_t *details = json_object_get(json_object_get(r.json, "error"), "details");
    TH_CHECK(gwc_is(&r, 400, "invalid", NULL) && json_array_size(details) >= 2 &&
             gwc_err_field(&r)[0]);
    gwc_resp_free(&r);
    const char *bad_key[] = {"Idempotency-Key: no spaces allowed", NULL};
    gwc_req(t->a, "POST", "/api/v1/shops", "{\"code\":\"X\"}", bad_key, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "Idempotency-Key"));
    gwc_resp_free(&r);
}

/* Failed logins for one address, and rejected shop codes for one account, are throttled. */
static void s_throttling(gt_t *t)
{
    gwc_resp_t r;
    int first_429 = 0;
    for (int i = 1; i <= 7 && !first_429; i++) {
        gwc_req(t->anon, "POST", "/api/v1/session",
                "{\"email\":\"throttle.me@example.org\",\"password\":\"guess guess guess\"}",
                NULL, &r);
        if (r.status == 429 && strcmp(gwc_err_code(&r), "throttled") == 0)
            first_429 = i;
        else
            TH_CHECK(gwc_is(&r, 401, "invalid_credentials", NULL));
        gwc_resp_free(&r);
    }
    TH_CHECK(first_429 == 6);   /* ACCOUNT_LOGIN_MAX_FAILS = 5 */
    first_429 = 0;
    for (int i = 1; i <= 12 && !first_429; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"code\":\"WRONG-CODE-%d\"}", i);
        gwc_req(t->b, "POST", "/api/v1/shops", body, NULL, &r);
        if (r.status == 429 && strcmp(gwc_err_code(&r), "throttled") == 0)
            first_429 = i;
        else
            TH_CHECK(gwc_is(&r, 400, "unknown_shop_code", "code"));
        gwc_resp_free(&r);
    }
    TH_CHECK(first_429 == 11);   /* ACCOUNT_REDEEM_MAX_REJECTS = 10 */
}

/* B (a customer, and an officer of another shop) against each of A's resources, with
 * every method the route has: 404, exactly like a resource that does not exist. */
static void s_not_yours(gt_t *t)
{
    const char *bodies[] = {"{\"reason\":\"card_lost\"}",
                            "{\"succeeded\":true,\"evidenceRef\":\"X-1\"}"};
    for (size_t i = 0; i < S_N; i++) {
        const s_route_t *r = &s_routes[i];
        if (!(r->kind & K_MINE))
            continue;
        const char *body = NULL;
        if (r->kind & K_BODY)
            body = r->kind & K_OFF ? bodies[1] : bodies[0];
        bool prd = strstr(r->path, "{product}") != NULL;
        bool down = prd && (strstr(r->path, "revocation") ? !t->revocation : !t->production);
        if (down)
            s_expect(t, t->b, r, body, NULL, 503, "service_unavailable", NULL);
        else
            s_expect(t, t->b, r, body, NULL, 404, "not_found", NULL);
    }
    /* a missing order is the same answer for its owner */
    gwc_resp_t r;
    gwc_req(t->a, "GET", "/api/v1/orders/TP-2099-999999", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 404, "not_found", NULL));
    gwc_resp_free(&r);
    /* B's list has B's order only; A's case is still open */
    gwc_req(t->b, "GET", "/api/v1/orders", NULL, NULL, &r);
    TH_CHECK(r.status == 200 && !strstr(r.body, t->a_order));
    gwc_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/officer/cases/%s", t->a_case);
    gwc_req(t->o, "GET", path, NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "open") == 0);
    gwc_resp_free(&r);
}

void gt_failures(gt_t *t)
{
    s_no_session(t);
    s_csrf(t);
    s_bodies(t);
    s_throttling(t);
    s_not_yours(t);
}
