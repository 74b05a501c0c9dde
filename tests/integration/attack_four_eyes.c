/* attack_four_eyes.c: four eyes on identifications. An officer of a shop who places an
 * order in that shop cannot record its identification in the portal (another officer
 * of the shop can). An operator who recorded an order's signed application cannot also
 * record its identification, nor the other way round (setting four_eyes, on by default);
 * operators are not on the public listener, so they act over the services' sockets with
 * keys of their own, as tpctl does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attack.h"
#include "flow.h"

static const th_actor_t s_alice = {"operator", NULL, NULL, "operator-alice"};
static const th_actor_t s_bob = {"operator", NULL, NULL, "operator-bob"};

/* Polls @p method @p path as @p c (body @p body) until it answers @p status (10 s). */
static bool s_until(gwc_t *c, const char *method, const char *path, const char *body, long status)
{
    for (int i = 0; i < 50; i++) {
        gwc_resp_t r;
        bool ok = gwc_req(c, method, path, body, NULL, &r) == status;
        if (!ok && i == 49)
            gwc_log(path, &r);
        gwc_resp_free(&r);
        if (ok)
            return true;
        zclock_sleep(200);
    }
    return false;
}

/* A customer of the demo shop who is also one of its officers. */
static gwc_t *s_officer(th_t *th, const char *base, const char *email, const char *addr)
{
    gwc_t *c = gwc_new(base);
    gwc_set_client(c, addr);
    TH_CHECK(gwc_signup(th, c, "an officer's password", email));
    char body[64];
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", FL_DEMO_CODE);
    TH_CHECK(s_until(c, "POST", "/api/v1/shops", body, 201));
    gwc_resp_t r;
    gwc_req(c, "GET", "/api/v1/me", NULL, NULL, &r);
    Tp__Account__AppointOfficer ap = TP__ACCOUNT__APPOINT_OFFICER__INIT;
    ap.account_id = (char *) gwc_str(&r, "accountId");
    ap.shop_id = FL_DEMO_SHOP;
    Tp__Reply *rep = th_call_as(th, "account", &fl_operator, NULL, "account.AppointOfficer",
                                &ap.base, FL_CALL_MS);
    TH_CHECK(rep && rep->ok);
    th_reply_free(&rep);
    gwc_resp_free(&r);
    return c;
}

/* Places @p c's order of a signature card with @p method (in @p shop, NULL: none). */
static void s_order(gwc_t *c, const char *shop, const char *method, char *id, size_t idsz)
{
    char *order = gwc_order_json("signature-card", shop, method);
    gwc_resp_t r;
    gwc_req(c, "POST", "/api/v1/orders", order, NULL, &r);
    TH_CHECK(gwc_is(&r, 201, NULL, NULL));
    snprintf(id, idsz, "%s", gwc_str(&r, "orderId"));
    gwc_resp_free(&r);
    free(order);
}

/* An operator's call: ok, or refused "forbidden" on orderId. */
static bool s_operator(th_t *th, const th_actor_t *as, const char *svc, const char *cmd,
                       const ProtobufCMessage *body, bool ok)
{
    Tp__Reply *r = th_call_as(th, svc, as, NULL, cmd, body, FL_CALL_MS);
    bool as_wanted = ok ? r && r->ok : th_refused(r, "forbidden", "orderId");
    if (!as_wanted)
        th_reply_log(cmd, r);
    th_reply_free(&r);
    return as_wanted;
}

int main(void)
{
    int64_t t0 = zclock_mono();
    th_t *th = at_new("foureyes", NULL, NULL);
    TH_CHECK(th && th_key(th, "operator-alice") == 0 && th_key(th, "operator-bob") == 0);
    char base[64], digest[80];
    if (!at_start(&th, "account,order,identification", base, sizeof base))
        return 1;

    /* an officer orders in her own shop: not hers to identify; her colleague's */
    gwc_t *olga = s_officer(th, base, "olga.officer@example.org", "198.51.100.31");
    gwc_t *otto = s_officer(th, base, "otto.officer@example.org", "198.51.100.32");
    char own[32], path[160];
    s_order(olga, FL_DEMO_SHOP, "officerident", own, sizeof own);
    snprintf(path, sizeof path, "/api/v1/officer/cases/%s", own);
    TH_CHECK(s_until(olga, "GET", path, NULL, 200) && s_until(otto, "GET", path, NULL, 200));
    snprintf(path, sizeof path, "/api/v1/officer/cases/%s/result", own);
    const char *result = "{\"succeeded\":true,\"evidenceRef\":\"PA-L01X00T47\"}";
    gwc_resp_t r;
    gwc_req(olga, "POST", path, result, NULL, &r);
    TH_CHECK(gwc_is(&r, 403, "forbidden", "orderId"));
    gwc_resp_free(&r);
    gwc_req(otto, "POST", path, result, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) && strcmp(gwc_str(&r, "status"), "identified") == 0);
    gwc_resp_free(&r);

    /* the operator who recorded the signed application does not record the notary's
     * identification; another operator does */
    gwc_t *kim = gwc_new(base);
    gwc_set_client(kim, "198.51.100.33");
    TH_CHECK(gwc_signup(th, kim, "a customer's password", "kim.kunde@example.org"));
    char first[32], second[32];
    s_order(kim, NULL, "notarident", first, sizeof first);
    s_order(kim, NULL, "notarident", second, sizeof second);
    TH_CHECK(th_settle(th, "identification", digest, sizeof digest, 300, 10000));
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = first;
    TH_CHECK(s_operator(th, &s_alice, "order", "order.RecordApplicationReceived", &ar.base, true));
    TH_CHECK(th_settle(th, "identification", digest, sizeof digest, 300, 10000));
    Tp__Identification__RecordResult rr = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    rr.order_id = first;
    rr.succeeded = true;
    rr.evidence_ref = "UR 123/2026";
    rr.identified_by = "Notar Dr. Weber";
    TH_CHECK(
        s_operator(th, &s_alice, "identification", "identification.RecordResult", &rr.base, false));
    TH_CHECK(
        s_operator(th, &s_bob, "identification", "identification.RecordResult", &rr.base, true));
    /* the other way round: who recorded the identification does not record the application */
    rr.order_id = second;
    TH_CHECK(
        s_operator(th, &s_bob, "identification", "identification.RecordResult", &rr.base, true));
    TH_CHECK(th_settle(th, "order", digest, sizeof digest, 300, 10000));
    ar.order_id = second;
    TH_CHECK(s_operator(th, &s_bob, "order", "order.RecordApplicationReceived", &ar.base, false));
    TH_CHECK(s_operator(th, &s_alice, "order", "order.RecordApplicationReceived", &ar.base, true));

    gwc_destroy(&olga);
    gwc_destroy(&otto);
    gwc_destroy(&kim);
    return at_end(&th, "attack_four_eyes", t0);
}
