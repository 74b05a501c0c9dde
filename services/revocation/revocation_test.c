/* revocation_test.c: unit tests of the revocation core, event by event: what it learns
 * from upstream, the owner's, officers' and operators' revocations, the timer, the
 * queries and the settings. RevokeWithPassword: revocation_test_password.c. */
#include "revocation_test.h"

#define P1 "prd-TP-2026-000001"
#define P2 "prd-TP-2026-000002"
#define P3 "prd-TP-2026-000003"
#define P4 "prd-TP-2026-000004"
#define P5 "prd-TP-2026-000005"

/* Revokes @p product as its owner; returns the new request id (caller frees) or NULL. */
static char *s_request(rtest_world_t *w, const char *account, const char *product,
                       const char *reason)
{
    Tp__Revocation__RequestRevocation cmd = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    cmd.product_id = (char *) product;
    cmd.reason = (char *) reason;
    rtest_do(w, "RequestRevocation", "customer", account, &cmd.base);
    Tp__Revocation__RevocationView *v = (Tp__Revocation__RevocationView *) rtest_reply(
        w->out, &tp__revocation__revocation_view__descriptor);
    char *id = v && !svc_out_failed(w->out) ? strdup(v->request_id) : NULL;
    rtest_free(v);
    return id;
}

/* ------------------------------------------------------------------ react */

void rtest_react(void)
{
    rtest_world_t w;
    rtest_init(&w);

    /* OrderPlaced: owner, shop, type and the hash, on the product's stream */
    CHECK(rtest_order(&w, "TP-1", "acc-a", "shop-a", "seal-card", RTEST_HASH) == 1);
    Tp__Revocation__ProductKnown *k = (Tp__Revocation__ProductKnown *) rtest_event(
        w.out, 0, &tp__revocation__product_known__descriptor);
    const char *stream = NULL;
    svc_out_event_at(w.out, 0, NULL, &stream, NULL, NULL);
    CHECK(k && streq(k->order_id, "TP-1") && streq(k->account_id, "acc-a") &&
          streq(k->shop_id, "shop-a") && streq(k->product_type, "seal-card") &&
          streq(k->revocation_password_hash, RTEST_HASH) && streq(k->learned_from, "OrderPlaced") &&
          !*k->product_id);
    CHECK(stream && streq(stream, "product-TP-1"));
    rtest_free(k);
    /* repeated: nothing new */
    CHECK(rtest_order(&w, "TP-1", "acc-a", "shop-a", "seal-card", RTEST_HASH) == 0);
    CHECK(!svc_out_failed(w.out));

    /* CertificatesCreated: the serials not known before, once */
    CHECK(rtest_certificates(&w, "TP-1", "S-1", "S-2") == 1);
    k = (Tp__Revocation__ProductKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__product_known__descriptor);
    CHECK(k && k->n_serials == 2 && streq(k->serials[0], "S-1") && streq(k->serials[1], "S-2"));
    rtest_free(k);
    CHECK(rtest_certificates(&w, "TP-1", "S-2", "S-1") == 0);
    CHECK(rtest_certificates(&w, "TP-1", "S-2", "S-3") == 1);
    k = (Tp__Revocation__ProductKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__product_known__descriptor);
    CHECK(k && k->n_serials == 1 && streq(k->serials[0], "S-3"));
    rtest_free(k);

    /* CardProduced, CardShipped: card number, then the product exists */
    CHECK(rtest_produced(&w, "TP-1", "1234 5678") == 1);
    CHECK(rtest_produced(&w, "TP-1", "1234 5678") == 0);
    CHECK(rtest_shipped(&w, "TP-1") == 1);
    k = (Tp__Revocation__ProductKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__product_known__descriptor);
    CHECK(k && streq(k->product_id, "prd-TP-1") && k->shipped_at_us > 0 &&
          streq(k->learned_from, "CardShipped"));
    rtest_free(k);
    CHECK(rtest_shipped(&w, "TP-1") == 0);

    /* a CardShipped without product id gets the production service's naming */
    Tp__Production__CardShipped sh = TP__PRODUCTION__CARD_SHIPPED__INIT;
    sh.order_id = "TP-2";
    CHECK(rtest_up(&w, "production", &sh.base) == 1);
    k = (Tp__Revocation__ProductKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__product_known__descriptor);
    CHECK(k && streq(k->product_id, "prd-TP-2") && k->shipped_at_us == w.now - 1000);
    rtest_free(k);
    /* facts across upstreams in any order: shipped before the order was seen, then the
     * order completes it (owner known, the product can be revoked) */
    CHECK(rtest_order(&w, "TP-2", "acc-b", "", "signature-card", RTEST_HASH) == 1);
    Tp__Revocation__RequestRevocation rq = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    rq.product_id = "prd-TP-2";
    rq.reason = "other";
    /* ...but no serial is known yet: accepted all the same (completion waits for them) */
    rtest_do(&w, "RequestRevocation", "customer", "acc-b", &rq.base);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1);

    /* a hash that is not Argon2id is not kept: it could never verify */
    CHECK(rtest_order(&w, "TP-3", "acc-c", "", "signature-card", "plaintext") == 1);
    k = (Tp__Revocation__ProductKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__product_known__descriptor);
    CHECK(k && !*k->revocation_password_hash);
    rtest_free(k);

    /* malformed facts are refused (logged by the runtime), nothing written */
    CHECK(rtest_order(&w, "", "acc-c", "", "signature-card", RTEST_HASH) == 0);
    CHECK(rtest_err(w.out, "invalid", "orderId"));
    CHECK(rtest_order(&w, "TP 9", "acc c", "", "", RTEST_HASH) == 0);
    CHECK(rtest_err(w.out, "invalid", "orderId") && rtest_err(w.out, "invalid", "accountId") &&
          rtest_err(w.out, "invalid", "productId"));
    CHECK(rtest_certificates(&w, "TP-1", "", NULL) == 0);
    CHECK(rtest_err(w.out, "invalid", "certificates.serial"));
    CHECK(rtest_produced(&w, "TP-3", "--") == 0);
    CHECK(rtest_err(w.out, "invalid", "cardNumber"));
    const char *types[] = {"OrderPlaced",   "CertificatesCreated", "CardProduced",
                           "CardShipped",   "OfficerAppointed",    "OfficerRevoked",
                           "AccountDeleted"};
    uint8_t junk[] = {0xff, 0xff, 0xff};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        svc_event_t bad = {99, "x", 1, types[i], 0, junk, sizeof junk};
        svc_out_reset(w.out);
        revocation_def.react(w.state, "order", &bad, w.out);
        CHECK(svc_out_failed(w.out) && svc_out_n_events(w.out) == 0);
    }
    /* other events are none of its business */
    svc_event_t other = {99, "x", 1, "OrderReleasedForProduction", 0, junk, sizeof junk};
    svc_out_reset(w.out);
    revocation_def.react(w.state, "order", &other, w.out);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 0);

    /* officers: appointed, repeated, revoked, and all appointments end with the account */
    CHECK(rtest_officer(&w, "acc-o", "shop-a", true) == 1);
    Tp__Revocation__OfficerKnown *o = (Tp__Revocation__OfficerKnown *) rtest_event(
        w.out, 0, &tp__revocation__officer_known__descriptor);
    CHECK(o && streq(o->account_id, "acc-o") && streq(o->shop_id, "shop-a") && o->active);
    rtest_free(o);
    CHECK(rtest_officer(&w, "acc-o", "shop-a", true) == 0);
    CHECK(rtest_officer(&w, "acc-o", "shop-b", true) == 1);
    CHECK(rtest_officer(&w, "acc-o", "shop-c", false) == 0);
    CHECK(rtest_officer(&w, "acc-o", "shop-a", false) == 1);
    o = (Tp__Revocation__OfficerKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__officer_known__descriptor);
    CHECK(o && !o->active);
    rtest_free(o);
    CHECK(rtest_officer(&w, "acc-o", "shop-a", true) == 1);
    CHECK(rtest_officer(&w, "", "shop-a", true) == 0 && rtest_err(w.out, "invalid", "accountId"));
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-o";
    CHECK(rtest_up(&w, "account", &del.base) == 2);
    o = (Tp__Revocation__OfficerKnown *) rtest_event(w.out, 0,
                                                     &tp__revocation__officer_known__descriptor);
    CHECK(o && streq(o->shop_id, "shop-a") && !o->active);
    rtest_free(o);
    CHECK(rtest_up(&w, "account", &del.base) == 0);

    /* a restart rebuilds the same state */
    char *s1 = revocation_def.summary(w.state);
    void *rebuilt = rtest_rebuild(&w);
    char *s2 = revocation_def.summary(rebuilt);
    CHECK(s1 && s2 && streq(s1, s2));
    CHECK(s1 && strstr(s1, "\"products\":3,\"shipped\":2,\"officers\":0,\"requests\":1"));
    free(s1);
    free(s2);
    revocation_def.state_destroy(&rebuilt);
    rtest_fini(&w);
}

/* ------------------------------------------------------------------ the owner */

void rtest_owner(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);
    Tp__Revocation__RequestRevocation cmd = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    cmd.product_id = P1;
    cmd.reason = "card_lost";

    /* not logged in; bad reason; comment too long or with control characters */
    CHECK(rtest_refused(rtest_do(&w, "RequestRevocation", "customer", "", &cmd.base),
                        "unauthenticated", NULL));
    cmd.reason = "bored";
    char longc[REVOCATION_COMMENT_MAX + 2];
    memset(longc, 'x', sizeof longc - 1);
    longc[sizeof longc - 1] = '\0';
    cmd.comment = longc;
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(rtest_refused(w.out, "invalid", "reason") && rtest_err(w.out, "invalid", "comment"));
    cmd.reason = "card_lost";
    cmd.comment = "lost\aon the train";
    CHECK(rtest_refused(rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base),
                        "invalid", "comment"));
    cmd.product_id = "";
    cmd.comment = "";
    CHECK(rtest_refused(rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base),
                        "invalid", "productId"));

    /* another's product and a missing one: the same answer */
    cmd.product_id = P2;
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(rtest_refused(w.out, "not_found", "productId"));
    char *other = strdup(rtest_message(w.out));
    cmd.product_id = "prd-TP-2026-999999";
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(rtest_refused(w.out, "not_found", "productId") && streq(other, rtest_message(w.out)));
    free(other);
    /* the own order whose card is not shipped: not_found, saying why */
    cmd.product_id = P5;
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(rtest_refused(w.out, "not_found", "productId") &&
          strstr(rtest_message(w.out), "not been shipped"));

    /* accepted: the evidence is in the event, the view in the reply */
    cmd.product_id = P1;
    cmd.comment = "Lost on the\ntrain";
    int64_t at = w.now;
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1);
    CHECK(streq(rtest_event_type(w.out, 0), "RevocationRequested"));
    Tp__Revocation__RevocationRequested *e = (Tp__Revocation__RevocationRequested *) rtest_event(
        w.out, 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && strncmp(e->request_id, "rev-", 4) == 0 && strlen(e->request_id) == 20 &&
          streq(e->product_id, P1) && streq(e->order_id, "TP-2026-000001") &&
          streq(e->reason, "card_lost") && streq(e->comment, "Lost on the\ntrain") &&
          streq(e->requested_by, "acc-anna") && streq(e->authenticated_by, "session") &&
          streq(e->authentication_detail, "198.51.100.7") && e->received_at_us == at &&
          e->n_serials == 2 && streq(e->serials[0], "TP-2026-000001-S1"));
    Tp__Revocation__RevocationView *v = (Tp__Revocation__RevocationView *) rtest_reply(
        w.out, &tp__revocation__revocation_view__descriptor);
    CHECK(v && e && streq(v->request_id, e->request_id) && streq(v->decision, "accepted") &&
          v->completed_at_us == 0 && v->received_at_us == at);
    rtest_free(v);
    rtest_free(e);

    /* irreversible: asked again while open, and after completion */
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(rtest_refused(w.out, "conflict", "productId") &&
          strstr(rtest_message(w.out), "already being revoked"));
    w.now += 61 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 1);
    cmd.reason = "suspected_misuse";
    rtest_do(&w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(rtest_refused(w.out, "conflict", "productId") &&
          strstr(rtest_message(w.out), "already revoked"));
    rtest_fini(&w);
}

/* ------------------------------------------------------------------ officers */

void rtest_officer_cmd(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);
    Tp__Revocation__RevokeAsOfficer cmd = TP__REVOCATION__REVOKE_AS_OFFICER__INIT;
    cmd.product_id = P2;
    cmd.reason = "suspected_misuse";

    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "", &cmd.base),
                        "unauthenticated", NULL));
    /* no officer at all, and an officer whose appointment was revoked */
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-bert", &cmd.base),
                        "forbidden", NULL));
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-rev", &cmd.base),
                        "forbidden", NULL));
    /* an officer of another shop: not_found, as for a missing product */
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-ob", &cmd.base),
                        "not_found", "productId"));
    cmd.product_id = "prd-nope";
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base),
                        "not_found", "productId"));
    /* a signature card of the officer's own shop */
    cmd.product_id = P3;
    rtest_do(&w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base);
    CHECK(rtest_refused(w.out, "forbidden", "productId") &&
          strstr(rtest_message(w.out), "seal cards only"));
    cmd.reason = "";
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base), "invalid",
                        "reason"));

    /* the seal card of the officer's shop */
    cmd.product_id = P2;
    cmd.reason = "other";
    cmd.comment = "Mitarbeiter ausgeschieden";
    rtest_do(&w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1);
    Tp__Revocation__RevocationRequested *e = (Tp__Revocation__RevocationRequested *) rtest_event(
        w.out, 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && streq(e->requested_by, "acc-oa") && streq(e->authenticated_by, "officer") &&
          streq(e->authentication_detail, "officer of shop shop-a") &&
          streq(e->comment, "Mitarbeiter ausgeschieden"));
    rtest_free(e);
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base), "conflict",
                        "productId"));
    /* the owner cannot revoke it a second time either */
    Tp__Revocation__RequestRevocation own = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    own.product_id = P2;
    own.reason = "card_lost";
    CHECK(rtest_refused(rtest_do(&w, "RequestRevocation", "customer", "acc-bert", &own.base),
                        "conflict", "productId"));

    /* an officer appointed again may act again; one deleted may not */
    CHECK(rtest_officer(&w, "acc-rev", "shop-b", true) == 1);
    cmd.product_id = P4;
    rtest_do(&w, "RevokeAsOfficer", "officer", "acc-rev", &cmd.base);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1);
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-oa";
    CHECK(rtest_up(&w, "account", &del.base) == 1);
    rtest_product(&w, "TP-2026-000006", "acc-dora", "shop-a", "seal-card", "4711 0006");
    cmd.product_id = "prd-TP-2026-000006";
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base),
                        "forbidden", NULL));
    rtest_fini(&w);
}

/* ------------------------------------------------------------------ operators */

void rtest_operator(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);
    Tp__Revocation__RevokeAsOperator cmd = TP__REVOCATION__REVOKE_AS_OPERATOR__INIT;
    cmd.product_id = P3;
    cmd.reason = "card_lost";

    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOperator", "customer", "acc-bert", &cmd.base),
                        "forbidden", NULL));
    rtest_do(&w, "RevokeAsOperator", "operator", "acc-op", &cmd.base);
    CHECK(rtest_refused(w.out, "invalid", "caller") &&
          rtest_err(w.out, "invalid", "callerAuthentication"));
    cmd.caller = "Bert Beispiel";
    cmd.caller_authentication = "callback to the registered phone number";
    cmd.product_id = "prd-nope";
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOperator", "operator", "acc-op", &cmd.base),
                        "not_found", "productId"));
    cmd.product_id = P5;
    rtest_do(&w, "RevokeAsOperator", "operator", "acc-op", &cmd.base);
    CHECK(rtest_refused(w.out, "not_found", "productId") &&
          strstr(rtest_message(w.out), "not been shipped"));
    /* unnamed: neither account nor client address */
    const char *addr = w.client_addr;
    w.client_addr = "";
    cmd.product_id = P3;
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOperator", "operator", "", &cmd.base), "invalid",
                        "header.actorAccount"));
    w.client_addr = addr;

    rtest_do(&w, "RevokeAsOperator", "operator", "acc-op", &cmd.base);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1);
    Tp__Revocation__RevocationRequested *e = (Tp__Revocation__RevocationRequested *) rtest_event(
        w.out, 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && streq(e->requested_by, "Bert Beispiel") && streq(e->authenticated_by, "operator") &&
          streq(e->authentication_detail, "operator acc-op; caller authenticated by: callback "
                                          "to the registered phone number"));
    rtest_free(e);
    CHECK(rtest_refused(rtest_do(&w, "RevokeAsOperator", "operator", "acc-op", &cmd.base),
                        "conflict", "productId"));
    /* an operator known by where the request came from (tpctl without an account) */
    w.client_addr = "tpctl@alice";
    cmd.product_id = P4;
    rtest_do(&w, "RevokeAsOperator", "operator", "", &cmd.base);
    e = (Tp__Revocation__RevocationRequested *) rtest_event(
        w.out, 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && strncmp(e->authentication_detail, "operator tpctl@alice;", 21) == 0);
    rtest_free(e);
    rtest_fini(&w);
}

/* ------------------------------------------------------------------ timer */

void rtest_timer(void)
{
    rtest_world_t w;
    rtest_init(&w); /* delay 60 s, alarm after 600 s */
    rtest_seed(&w);
    char *id = s_request(&w, "acc-anna", P1, "card_lost");
    CHECK(id != NULL);
    int64_t at = w.now - 1000; /* received_at of the request */

    /* nothing before the delay */
    w.now = at + 59 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0 && rtest_logs(w.out, 'E', NULL) == 0);
    /* a restart before completion: the rebuilt state completes it, once */
    rtest_restart(&w);
    w.now = at + 60 * SEC;
    rtest_tick(&w);
    CHECK(svc_out_n_events(w.out) == 1 && streq(rtest_event_type(w.out, 0), "RevocationCompleted"));
    Tp__Revocation__RevocationCompleted *c = (Tp__Revocation__RevocationCompleted *) rtest_event(
        w.out, 0, &tp__revocation__revocation_completed__descriptor);
    CHECK(c && id && streq(c->request_id, id) && streq(c->product_id, P1) &&
          c->completed_at_us == at + 60 * SEC && streq(c->reason, "card_lost") &&
          c->n_serials == 2 && streq(c->serials[1], "TP-2026-000001-S2"));
    rtest_free(c);
    w.now += SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0);
    /* and after a restart too */
    rtest_restart(&w);
    w.now += 3600 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0 && rtest_logs(w.out, 'E', NULL) == 0);

    /* two requests due in the same tick complete together, in the order received */
    char *a = s_request(&w, "acc-bert", P2, "other");
    char *b = s_request(&w, "acc-bert", P3, "suspected_misuse");
    w.now += 120 * SEC;
    rtest_tick(&w);
    CHECK(svc_out_n_events(w.out) == 2);
    c = (Tp__Revocation__RevocationCompleted *) rtest_event(
        w.out, 1, &tp__revocation__revocation_completed__descriptor);
    CHECK(c && b && streq(c->request_id, b));
    rtest_free(c);

    /* a product without a known serial: the request waits, and alarms once overdue, on
     * every tick, naming the request, the product and the age */
    CHECK(rtest_order(&w, "TP-2026-000007", "acc-eve", "", "signature-card", RTEST_HASH) == 1);
    CHECK(rtest_shipped(&w, "TP-2026-000007") == 1);
    char *late = s_request(&w, "acc-eve", "prd-TP-2026-000007", "card_lost");
    int64_t late_at = w.now - 1000;
    w.now = late_at + 599 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0 && rtest_logs(w.out, 'E', NULL) == 0);
    w.now = late_at + 600 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0);
    CHECK(late && rtest_logs(w.out, 'E', late) == 1);
    CHECK(rtest_logs(w.out, 'E', "prd-TP-2026-000007") == 1 &&
          rtest_logs(w.out, 'E', "after 600 s") == 1 &&
          rtest_logs(w.out, 'E', "no certificate serial") == 1);
    w.now += 5 * SEC;
    rtest_tick(&w);
    CHECK(rtest_logs(w.out, 'E', "after 605 s") == 1);
    /* once the serials are known it completes at the next tick, and the alarm stops */
    CHECK(rtest_certificates(&w, "TP-2026-000007", "S-7", NULL) == 1);
    rtest_tick(&w);
    CHECK(svc_out_n_events(w.out) == 1 && rtest_logs(w.out, 'E', NULL) == 0);
    w.now += SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0 && rtest_logs(w.out, 'E', NULL) == 0);

    /* a delay past the alarm (a misconfiguration): the alarm is raised before it completes */
    zconfig_t *cfg = zconfig_new("root", NULL);
    zconfig_put(cfg, "revocation/processing_delay_s", "900");
    zconfig_put(cfg, "revocation/alarm_after_s", "300");
    revocation_def.configure(w.state, cfg, "revocation");
    zconfig_destroy(&cfg);
    char *slow = s_request(&w, "acc-cora", P4, "card_lost");
    int64_t slow_at = w.now - 1000;
    w.now = slow_at + 300 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 0 && slow && rtest_logs(w.out, 'E', slow) == 1);
    w.now = slow_at + 900 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 1 && rtest_logs(w.out, 'E', NULL) == 0);

    char *s1 = revocation_def.summary(w.state);
    CHECK(s1 && strstr(s1, "\"requests\":5,\"open\":0,\"completed\":5,\"revokedSerials\":9"));
    free(s1);
    free(id);
    free(a);
    free(b);
    free(late);
    free(slow);
    rtest_fini(&w);
}

/* ------------------------------------------------------------------ queries */

void rtest_queries(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);
    char *r1 = s_request(&w, "acc-anna", P1, "card_lost");
    int64_t at1 = w.now - 1000;
    char *r2 = s_request(&w, "acc-bert", P2, "suspected_misuse");
    w.now += 61 * SEC;
    rtest_tick(&w);
    int64_t done = w.now;
    char *r3 = s_request(&w, "acc-bert", P3, "other");

    Tp__Revocation__ListRequests lq = TP__REVOCATION__LIST_REQUESTS__INIT;
    CHECK(rtest_refused(rtest_do(&w, "ListRequests", "customer", "acc-anna", &lq.base), "forbidden",
                        NULL));
    rtest_do(&w, "ListRequests", "operator", "acc-op", &lq.base);
    Tp__Revocation__RequestList *l = (Tp__Revocation__RequestList *) rtest_reply(
        w.out, &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 3);
    if (l && l->n_requests == 3) {
        Tp__Revocation__RevocationView *v = l->requests[0];
        CHECK(r1 && streq(v->request_id, r1) && streq(v->decision, "completed") &&
              v->received_at_us == at1 && v->completed_at_us == done &&
              streq(v->requested_by, "acc-anna") && streq(v->authenticated_by, "session") &&
              streq(v->reason, "card_lost") && v->n_serials == 2);
        CHECK(r3 && streq(l->requests[2]->request_id, r3) &&
              streq(l->requests[2]->decision, "accepted") && l->requests[2]->completed_at_us == 0);
    }
    rtest_free(l);
    lq.open_only = true;
    rtest_do(&w, "ListRequests", "operator", "acc-op", &lq.base);
    l = (Tp__Revocation__RequestList *) rtest_reply(w.out,
                                                    &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 1 && r3 && streq(l->requests[0]->request_id, r3));
    rtest_free(l);

    /* GetRequest: the owner and operators; anyone else as for a missing one */
    Tp__Revocation__GetRequest gq = TP__REVOCATION__GET_REQUEST__INIT;
    gq.request_id = r2;
    rtest_do(&w, "GetRequest", "customer", "acc-bert", &gq.base);
    Tp__Revocation__RevocationView *v = (Tp__Revocation__RevocationView *) rtest_reply(
        w.out, &tp__revocation__revocation_view__descriptor);
    CHECK(v && streq(v->product_id, P2) && streq(v->decision, "completed"));
    rtest_free(v);
    rtest_do(&w, "GetRequest", "operator", "acc-op", &gq.base);
    CHECK(!svc_out_failed(w.out));
    CHECK(rtest_refused(rtest_do(&w, "GetRequest", "customer", "acc-anna", &gq.base), "not_found",
                        "requestId"));
    CHECK(rtest_refused(rtest_do(&w, "GetRequest", "customer", "", &gq.base), "not_found",
                        "requestId"));
    gq.request_id = "rev-0000000000000000";
    CHECK(rtest_refused(rtest_do(&w, "GetRequest", "operator", "acc-op", &gq.base), "not_found",
                        "requestId"));

    /* the revocation list: for anyone, the completed ones' serials, time and reason */
    Tp__Revocation__GetRevocationList rl = TP__REVOCATION__GET_REVOCATION_LIST__INIT;
    rtest_do(&w, "GetRevocationList", "", "", &rl.base);
    Tp__Revocation__RevocationList *list = (Tp__Revocation__RevocationList *) rtest_reply(
        w.out, &tp__revocation__revocation_list__descriptor);
    CHECK(list && list->n_entries == 4 && list->generated_at_us == w.now);
    if (list && list->n_entries == 4) {
        CHECK(streq(list->entries[0]->serial, "TP-2026-000001-S1") &&
              list->entries[0]->revoked_at_us == done &&
              streq(list->entries[0]->reason, "card_lost"));
        CHECK(streq(list->entries[3]->serial, "TP-2026-000002-S2") &&
              streq(list->entries[3]->reason, "suspected_misuse"));
    }
    rtest_free(list);
    w.now += 61 * SEC;
    rtest_tick(&w);
    rtest_do(&w, "GetRevocationList", "", "", &rl.base);
    list = (Tp__Revocation__RevocationList *) rtest_reply(
        w.out, &tp__revocation__revocation_list__descriptor);
    CHECK(list && list->n_entries == 6 && streq(list->entries[5]->reason, "other"));
    rtest_free(list);

    /* the summary: deterministic, and the same after a restart */
    char *s1 = revocation_def.summary(w.state);
    rtest_restart(&w);
    char *s2 = revocation_def.summary(w.state);
    CHECK(s1 && s2 && streq(s1, s2) && strstr(s1, "\"revokedSerials\":6"));
    free(s1);
    free(s2);
    free(r1);
    free(r2);
    free(r3);
    rtest_fini(&w);
}

/* ------------------------------------------------------------------ settings */

static int64_t s_completes_after(const char *delay, const char *alarm)
{
    rtest_world_t w;
    rtest_init(&w);
    zconfig_t *cfg = zconfig_new("root", NULL);
    if (delay)
        zconfig_put(cfg, "revocation/processing_delay_s", delay);
    if (alarm)
        zconfig_put(cfg, "revocation/alarm_after_s", alarm);
    revocation_def.configure(w.state, cfg, "revocation");
    zconfig_destroy(&cfg);
    rtest_product(&w, "TP-1", "acc-a", "", "signature-card", "1");
    free(s_request(&w, "acc-a", "prd-TP-1", "other"));
    int64_t at = w.now - 1000, s = 0;
    for (; s <= 4000; s++) {
        w.now = at + s * SEC;
        if (svc_out_n_events(rtest_tick(&w)) > 0)
            break;
    }
    rtest_fini(&w);
    return s;
}

void rtest_settings(void)
{
    /* defaults without a config (tools replaying a log) and for junk values; capped */
    void *st = revocation_def.state_new();
    revocation_def.configure(st, NULL, "revocation");
    revocation_def.state_destroy(&st);
    CHECK(s_completes_after(NULL, NULL) == REVOCATION_DELAY_DEFAULT_S);
    CHECK(s_completes_after("junk", NULL) == REVOCATION_DELAY_DEFAULT_S);
    CHECK(s_completes_after("-5", NULL) == REVOCATION_DELAY_DEFAULT_S);
    CHECK(s_completes_after("0", NULL) == 0);
    CHECK(s_completes_after("7", "x") == 7);
    CHECK(s_completes_after("999999", NULL) == REVOCATION_DELAY_MAX_S);
    CHECK(s_completes_after("99999999999999999999", NULL) == REVOCATION_DELAY_MAX_S);
}

/* --test core: the core alone; --test runtime: in the runtime; --test <group>; none: all;
 * -v: show the runtime's log. */
int main(int argc, char **argv)
{
    const char *only = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--test") && i + 1 < argc)
            only = argv[++i];
        else if (streq(argv[i], "-v"))
            verbose = true; /* the runtime's log on stderr */
    }
    zsys_init();
    if (!verbose)
        zsys_set_logstream(NULL);
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {{"react", rtest_react},
                 {"owner", rtest_owner},
                 {"officer", rtest_officer_cmd},
                 {"operator", rtest_operator},
                 {"timer", rtest_timer},
                 {"queries", rtest_queries},
                 {"settings", rtest_settings},
                 {"password", rtest_password_decide},
                 {"throttle", rtest_password_throttle},
                 {"argon2", rtest_password_argon2},
                 {"runtime", rtest_runtime}};
    size_t ran = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        bool core = !streq(tests[i].name, "runtime");
        if (!only || streq(only, tests[i].name) || (streq(only, "core") && core)) {
            tests[i].fn();
            ran++;
        }
    }
    CHECK(ran > 0);
    printf("revocation_test: %s\n", rtest_failed ? "FAILED" : "OK");
    return rtest_failed ? 1 : 0;
}
