/* gateway_api_products.c: Meine Produkte and revocation through the gateway: cards
 * shipped by the back office and the producers (as tpctl would), revoked by their owner
 * and without login, then on the public revocation list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway_api.h"

/* Polls GET @p path as @p c until it answers @p status (at most 10 s); the last response
 * into @p out (caller frees). */
static bool s_poll(gwc_t *c, const char *method, const char *path, const char *body,
                   long status, gwc_resp_t *out)
{
    int64_t deadline = zclock_mono() + 10000;
    while (true) {
        gwc_req(c, method, path, body, NULL, out);
        if (out->status == status || zclock_mono() > deadline)
            break;
        gwc_resp_free(out);
        zclock_sleep(200);
    }
    bool ok = out->status == status;
    if (!ok)
        gwc_log(path, out);
    return ok;
}

/* Waits until the revocation list names @p serial. */
static bool s_wait_revoked(gt_t *t, const char *serial)
{
    int64_t deadline = zclock_mono() + 15000;
    while (zclock_mono() < deadline) {
        gwc_resp_t r;
        gwc_req(t->anon, "GET", "/api/v1/revocation-list", NULL, NULL, &r);
        bool found = r.status == 200 && strstr(r.body, serial);
        gwc_resp_free(&r);
        if (found)
            return true;
        zclock_sleep(250);
    }
    return false;
}

/* Meine Produkte and revocation: A's card shipped, A revokes it logged in; B's card
 * revoked without login (order number and revocation password); both serials on the
 * public list, A's product "gesperrt". Without the two services: their routes are 503. */
void gt_products(gt_t *t)
{
    gwc_resp_t r;
    if (!t->production || !t->revocation) {
        gwc_req(t->a, "GET", "/api/v1/products", NULL, NULL, &r);
        TH_CHECK(t->production ? r.status == 200 : gwc_is(&r, 503, "service_unavailable", NULL));
        gwc_resp_free(&r);
        gwc_req(t->anon, "GET", "/api/v1/revocation-list", NULL, NULL, &r);
        TH_CHECK(t->revocation ? r.status == 200 : gwc_is(&r, 503, "service_unavailable", NULL));
        gwc_resp_free(&r);
        gwc_req(t->anon, "POST", "/api/v1/revocations",
                "{\"number\":\"TP-2099-999999\",\"password\":\"no such password\","
                "\"reason\":\"card_lost\"}",
                NULL, &r);
        TH_CHECK(t->revocation ? r.status == 401 : gwc_is(&r, 503, "service_unavailable", NULL));
        gwc_resp_free(&r);
        return;
    }
    TH_CHECK(gwc_ship(t->th, t->a, t->a_order, "0a1b2c3d4e"));
    TH_CHECK(gwc_ship(t->th, t->b, t->b_order, "5f6e7d8c9b"));
    char path[160], prd[64];
    snprintf(prd, sizeof prd, "prd-%s", t->a_order);
    gwc_req(t->a, "GET", "/api/v1/products", NULL, NULL, &r);
    json_t *p0 = json_array_get(json_object_get(r.json, "products"), 0);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) &&
             json_array_size(json_object_get(r.json, "products")) == 1 &&
             strcmp(json_string_value(json_object_get(p0, "productId")), prd) == 0);
    gwc_resp_free(&r);
    /* revoked by its owner, logged in; the second request is a conflict */
    snprintf(path, sizeof path, "/api/v1/products/%s/revocation", prd);
    const char *body = "{\"reason\":\"card_lost\",\"comment\":\"lost on the train\"}";
    TH_CHECK(s_poll(t->a, "POST", path, body, 202, &r) &&
             strcmp(gwc_str(&r, "productId"), prd) == 0);
    gwc_resp_free(&r);
    gwc_req(t->a, "POST", path, body, NULL, &r);
    TH_CHECK(gwc_is(&r, 409, "conflict", NULL));
    gwc_resp_free(&r);
    /* without logging in: wrong password, then the right one */
    char anon[300];
    snprintf(anon, sizeof anon,
             "{\"number\":\"%s\",\"password\":\"not the password\",\"reason\":\"card_lost\"}",
             t->b_order);
    gwc_req(t->anon, "POST", "/api/v1/revocations", anon, NULL, &r);
    TH_CHECK(gwc_is(&r, 401, "invalid_credentials", NULL));
    gwc_resp_free(&r);
    snprintf(anon, sizeof anon,
             "{\"number\":\"%s\",\"password\":\"Sperr-Kennwort-42\","
             "\"reason\":\"suspected_misuse\"}",
             t->b_order);
    TH_CHECK(s_poll(t->anon, "POST", "/api/v1/revocations", anon, 202, &r) &&
             json_is_true(json_object_get(r.json, "accepted")) && gwc_str(&r, "requestId")[0]);
    gwc_resp_free(&r);
    /* processed within the configured delay: on the public list, the product "gesperrt" */
    TH_CHECK(s_wait_revoked(t, "0a1b2c3d4e") && s_wait_revoked(t, "5f6e7d8c9b"));
    snprintf(path, sizeof path, "/api/v1/products/%s", prd);
    bool gesperrt = false;
    for (int i = 0; i < 50 && !gesperrt; i++) {
        gwc_req(t->a, "GET", path, NULL, NULL, &r);
        gesperrt = r.status == 200 && strcmp(gwc_str(&r, "status"), "gesperrt") == 0 &&
                   !json_is_true(json_object_get(r.json, "active"));
        gwc_resp_free(&r);
        if (!gesperrt)
            zclock_sleep(200);
    }
    TH_CHECK(gesperrt);
}
