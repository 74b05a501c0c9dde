/* gateway_api_products.c: Meine Produkte and revocation through the gateway: cards
 * shipped by the back office and the producers (as tpctl would), revoked by their owner
 * and without login, then on the public revocation list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway_api.h"
#include "production.pb-c.h"

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

/* One call as @p as that must be ok. */
static bool s_call_ok(gt_t *t, const char *svc, const th_actor_t *as, const char *cmd,
                      const ProtobufCMessage *body)
{
    Tp__Reply *r = th_call_as(t->th, svc, as, NULL, cmd, body, FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log(cmd, r);
    th_reply_free(&r);
    return ok;
}

/* The back office and the producers (as operator / producer, like tpctl) take @p c's
 * PostIdent order to a shipped card with one certificate of serial @p serial. */
static bool s_ship(gt_t *t, gwc_t *c, const char *order_id, const char *serial)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/orders/%s", order_id);
    gwc_resp_t r;
    char number[32] = "";
    for (int i = 0; i < 100 && !number[0]; i++) {
        gwc_req(c, "GET", path, NULL, NULL, &r);
        snprintf(number, sizeof number, "%s", gwc_str(&r, "postidentNumber"));
        gwc_resp_free(&r);
        if (!number[0])
            zclock_sleep(100);
    }
    Tp__Identification__RecordPostIdentResult pr =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    pr.postident_number = number;
    pr.succeeded = true;
    pr.evidence_ref = "PI-TX-4711";
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = (char *) order_id;
    if (!number[0] ||
        !s_call_ok(t, "identification", &fl_ident, "identification.RecordPostIdentResult",
                   &pr.base) ||
        !s_call_ok(t, "order", &fl_operator, "order.RecordApplicationReceived", &ar.base))
        return false;
    Tp__Production__GetJob gj = TP__PRODUCTION__GET_JOB__INIT;
    gj.order_id = (char *) order_id;
    bool job = false;
    for (int i = 0; i < 100 && !job; i++) {
        Tp__Reply *rep = th_call_as(t->th, "production", &fl_operator, NULL,
                                    "production.GetJob", &gj.base, FL_CALL_MS);
        job = rep && rep->ok;
        th_reply_free(&rep);
        if (!job)
            zclock_sleep(100);
    }
    int64_t now = zclock_time() * 1000;
    Tp__Production__Certificate cert = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate *certs[] = {&cert};
    cert.serial = (char *) serial;
    cert.kind = "signature";
    cert.valid_from_us = now - 60000000;
    cert.valid_to_us = now + INT64_C(3) * 365 * 86400 * 1000000;
    cert.subject = "CN=Erika Mustermann";
    char fact[3][64], card[32], tracking[32];
    for (int i = 0; i < 3; i++)
        snprintf(fact[i], sizeof fact[i], "fact-%s-%d", order_id, i);
    snprintf(card, sizeof card, "C%s", serial);
    snprintf(tracking, sizeof tracking, "RR%sDE", serial);
    for (char *p = tracking; *p; p++)   /* tracking numbers are upper case */
        if (*p >= 'a' && *p <= 'z')
            *p = (char) (*p - 'a' + 'A');
    Tp__Production__RecordCertificates rc = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    rc.fact_id = fact[0];
    rc.order_id = (char *) order_id;
    rc.certificates = certs;
    rc.n_certificates = 1;
    Tp__Production__RecordCardProduced cp = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    cp.fact_id = fact[1];
    cp.order_id = (char *) order_id;
    cp.card_number = card;
    Tp__Production__RecordCardShipped cs = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    cs.fact_id = fact[2];
    cs.order_id = (char *) order_id;
    cs.tracking_number = tracking;
    if (!job ||
        !s_call_ok(t, "production", &fl_producer, "production.RecordCertificates", &rc.base) ||
        !s_call_ok(t, "production", &fl_producer, "production.RecordCardProduced", &cp.base) ||
        !s_call_ok(t, "production", &fl_producer, "production.RecordCardShipped", &cs.base))
        return false;
    snprintf(path, sizeof path, "/api/v1/products/prd-%s", order_id);
    bool ok = s_poll(c, "GET", path, NULL, 200, &r) &&
              strcmp(gwc_str(&r, "orderId"), order_id) == 0 &&
              strcmp(gwc_str(&r, "status"), "nicht_freigeschaltet") == 0;
    gwc_resp_free(&r);
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
    TH_CHECK(s_ship(t, t->a, t->a_order, "0a1b2c3d4e"));
    TH_CHECK(s_ship(t, t->b, t->b_order, "5f6e7d8c9b"));
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
