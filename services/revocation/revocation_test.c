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
static char *s_request(svc_tc_t *w, const char *account, const char *product, const char *reason)
{
    Tp__Revocation__RequestRevocation cmd = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    cmd.product_id = (char *) product;
    cmd.reason = (char *) reason;
    svc_tc_decide(w, "RequestRevocation", "customer", account, &cmd.base);
    Tp__Revocation__RevocationView *v =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__revocation_view__descriptor);
    char *id = v && !svc_out_failed(svc_tc_out(w)) ? strdup(v->request_id) : NULL;
    svc_tc_free(v);
    return id;
}

/* ------------------------------------------------------------------ react */

void rtest_react(void)
{
    svc_tc_t *w = rtest_new();

    /* OrderPlaced: owner, shop, type and the hash, on the product's stream */
    CHECK(rtest_order(w, "TP-1", "acc-a", "shop-a", "seal-card", RTEST_HASH) == 1);
    Tp__Revocation__ProductKnown *k =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__product_known__descriptor);
    const char *stream = NULL;
    svc_out_event_at(svc_tc_out(w), 0, NULL, &stream, NULL, NULL);
    CHECK(k && streq(k->order_id, "TP-1") && streq(k->account_id, "acc-a") &&
          streq(k->shop_id, "shop-a") && streq(k->product_type, "seal-card") &&
          streq(k->revocation_password_hash, RTEST_HASH) && streq(k->learned_from, "OrderPlaced") &&
          !*k->product_id);
    CHECK(stream && streq(stream, "product-TP-1"));
    svc_tc_free(k);
    /* repeated: nothing new */
    CHECK(rtest_order(w, "TP-1", "acc-a", "shop-a", "seal-card", RTEST_HASH) == 0);
    CHECK(!svc_out_failed(svc_tc_out(w)));

    /* CertificatesCreated: the serials not known before, once */
    CHECK(rtest_certificates(w, "TP-1", "S-1", "S-2") == 1);
    k = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__product_known__descriptor);
    CHECK(k && k->n_serials == 2 && streq(k->serials[0], "S-1") && streq(k->serials[1], "S-2"));
    svc_tc_free(k);
    CHECK(rtest_certificates(w, "TP-1", "S-2", "S-1") == 0);
    CHECK(rtest_certificates(w, "TP-1", "S-2", "S-3") == 1);
    k = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__product_known__descriptor);
    CHECK(k && k->n_serials == 1 && streq(k->serials[0], "S-3"));
    svc_tc_free(k);

    /* CardProduced, CardShipped: card number, then the product exists */
    CHECK(rtest_produced(w, "TP-1", "1234 5678") == 1);
    CHECK(rtest_produced(w, "TP-1", "1234 5678") == 0);
    CHECK(rtest_shipped(w, "TP-1") == 1);
    k = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__product_known__descriptor);
    CHECK(k && streq(k->product_id, "prd-TP-1") && k->shipped_at_us > 0 &&
          streq(k->learned_from, "CardShipped"));
    svc_tc_free(k);
    CHECK(rtest_shipped(w, "TP-1") == 0);

    /* a CardShipped without product id gets the production service's naming */
    Tp__Production__CardShipped sh = TP__PRODUCTION__CARD_SHIPPED__INIT;
    sh.order_id = "TP-2";
    CHECK(svc_tc_react(w, "production", NULL, &sh.base) == 1);
    k = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__product_known__descriptor);
    CHECK(k && streq(k->product_id, "prd-TP-2") && k->shipped_at_us == svc_tc_now(w) - 1000);
    svc_tc_free(k);
    /* facts across upstreams in any order: shipped before the order was seen, then the
     * order completes it (owner known, the product can be revoked) */
    CHECK(rtest_order(w, "TP-2", "acc-b", "", "signature-card", RTEST_HASH) == 1);
    Tp__Revocation__RequestRevocation rq = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    rq.product_id = "prd-TP-2";
    rq.reason = "other";
    /* ...but no serial is known yet: accepted all the same (completion waits for them) */
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-b", &rq.base);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1);

    /* a hash that is not Argon2id is not kept: it could never verify */
    CHECK(rtest_order(w, "TP-3", "acc-c", "", "signature-card", "plaintext") == 1);
    k = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__product_known__descriptor);
    CHECK(k && !*k->revocation_password_hash);
    svc_tc_free(k);

    /* malformed facts are refused (logged by the runtime), nothing written */
    CHECK(rtest_order(w, "", "acc-c", "", "signature-card", RTEST_HASH) == 0);
    CHECK(svc_tc_has_error(svc_tc_out(w), "invalid", "orderId"));
    CHECK(rtest_order(w, "TP 9", "acc c", "", "", RTEST_HASH) == 0);
    CHECK(svc_tc_has_error(svc_tc_out(w), "invalid", "orderId") &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "accountId") &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "productId"));
    CHECK(rtest_certificates(w, "TP-1", "", NULL) == 0);
    CHECK(svc_tc_has_error(svc_tc_out(w), "invalid", "certificates.serial"));
    CHECK(rtest_produced(w, "TP-3", "--") == 0);
    CHECK(svc_tc_has_error(svc_tc_out(w), "invalid", "cardNumber"));
    const char *types[] = {"OrderPlaced",   "CertificatesCreated", "CardProduced",
                           "CardShipped",   "OfficerAppointed",    "OfficerRevoked",
                           "AccountDeleted"};
    uint8_t junk[] = {0xff, 0xff, 0xff};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        svc_tc_react_raw(w, "order", types[i], junk, sizeof junk);
        CHECK(svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 0);
    }
    /* other events are none of its business */
    svc_tc_react_raw(w, "order", "OrderReleasedForProduction", junk, sizeof junk);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 0);

    /* officers: appointed, repeated, revoked, and all appointments end with the account */
    CHECK(svc_tc_officer(w, "acc-o", "shop-a", true) == 1);
    Tp__Revocation__OfficerKnown *o =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__officer_known__descriptor);
    CHECK(o && streq(o->account_id, "acc-o") && streq(o->shop_id, "shop-a") && o->active);
    svc_tc_free(o);
    CHECK(svc_tc_officer(w, "acc-o", "shop-a", true) == 0);
    CHECK(svc_tc_officer(w, "acc-o", "shop-b", true) == 1);
    CHECK(svc_tc_officer(w, "acc-o", "shop-c", false) == 0);
    CHECK(svc_tc_officer(w, "acc-o", "shop-a", false) == 1);
    o = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__officer_known__descriptor);
    CHECK(o && !o->active);
    svc_tc_free(o);
    CHECK(svc_tc_officer(w, "acc-o", "shop-a", true) == 1);
    CHECK(svc_tc_officer(w, "", "shop-a", true) == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "accountId"));
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-o";
    CHECK(svc_tc_react(w, "account", NULL, &del.base) == 2);
    o = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__officer_known__descriptor);
    CHECK(o && streq(o->shop_id, "shop-a") && !o->active);
    svc_tc_free(o);
    CHECK(svc_tc_react(w, "account", NULL, &del.base) == 0);

    /* a restart rebuilds the same state */
    char *s1 = revocation_def.summary(svc_tc_state(w));
    void *rebuilt = svc_tc_rebuild(w);
    char *s2 = revocation_def.summary(rebuilt);
    CHECK(s1 && s2 && streq(s1, s2));
    CHECK(s1 && strstr(s1, "\"products\":3,\"shipped\":2,\"officers\":0,\"requests\":1"));
    free(s1);
    free(s2);
    revocation_def.state_destroy(&rebuilt);
    svc_tc_destroy(&w);
}

/* ------------------------------------------------------------------ the owner */

void rtest_owner(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);
    Tp__Revocation__RequestRevocation cmd = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    cmd.product_id = P1;
    cmd.reason = "card_lost";

    /* not logged in; bad reason; comment too long or with control characters */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RequestRevocation", "customer", "", &cmd.base),
                         "unauthenticated", NULL));
    cmd.reason = "bored";
    char longc[REVOCATION_COMMENT_MAX + 2];
    memset(longc, 'x', sizeof longc - 1);
    longc[sizeof longc - 1] = '\0';
    cmd.comment = longc;
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "invalid", "reason") &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "comment"));
    cmd.reason = "card_lost";
    cmd.comment = "lost\aon the train";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base),
                         "invalid", "comment"));
    cmd.product_id = "";
    cmd.comment = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base),
                         "invalid", "productId"));

    /* another's product and a missing one: the same answer */
    cmd.product_id = P2;
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "not_found", "productId"));
    char *other = strdup(svc_tc_message(svc_tc_out(w)));
    cmd.product_id = "prd-TP-2026-999999";
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "not_found", "productId") &&
          streq(other, svc_tc_message(svc_tc_out(w))));
    free(other);
    /* the own order whose card is not shipped: not_found, saying why */
    cmd.product_id = P5;
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "not_found", "productId") &&
          strstr(svc_tc_message(svc_tc_out(w)), "not been shipped"));

    /* accepted: the evidence is in the event, the view in the reply */
    cmd.product_id = P1;
    cmd.comment = "Lost on the\ntrain";
    int64_t at = svc_tc_now(w);
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1);
    CHECK(streq(svc_tc_type(svc_tc_out(w), 0), "RevocationRequested"));
    Tp__Revocation__RevocationRequested *e =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && strncmp(e->request_id, "rev-", 4) == 0 && strlen(e->request_id) == 20 &&
          streq(e->product_id, P1) && streq(e->order_id, "TP-2026-000001") &&
          streq(e->reason, "card_lost") && streq(e->comment, "Lost on the\ntrain") &&
          streq(e->requested_by, "acc-anna") && streq(e->authenticated_by, "session") &&
          streq(e->authentication_detail, "198.51.100.7") && e->received_at_us == at &&
          e->n_serials == 2 && streq(e->serials[0], "TP-2026-000001-S1"));
    Tp__Revocation__RevocationView *v =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__revocation_view__descriptor);
    CHECK(v && e && streq(v->request_id, e->request_id) && streq(v->decision, "accepted") &&
          v->completed_at_us == 0 && v->received_at_us == at);
    svc_tc_free(v);
    svc_tc_free(e);

    /* irreversible: asked again while open, and after completion */
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "conflict", "productId") &&
          strstr(svc_tc_message(svc_tc_out(w)), "already being revoked"));
    svc_tc_advance(w, 61 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 1);
    cmd.reason = "suspected_misuse";
    svc_tc_decide(w, "RequestRevocation", "customer", "acc-anna", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "conflict", "productId") &&
          strstr(svc_tc_message(svc_tc_out(w)), "already revoked"));
    svc_tc_destroy(&w);
}

/* ------------------------------------------------------------------ officers */

void rtest_officer_cmd(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);
    Tp__Revocation__RevokeAsOfficer cmd = TP__REVOCATION__REVOKE_AS_OFFICER__INIT;
    cmd.product_id = P2;
    cmd.reason = "suspected_misuse";

    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "", &cmd.base),
                         "unauthenticated", NULL));
    /* no officer at all, and an officer whose appointment was revoked */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-bert", &cmd.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-rev", &cmd.base),
                         "forbidden", NULL));
    /* an officer of another shop: not_found, as for a missing product */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-ob", &cmd.base),
                         "not_found", "productId"));
    cmd.product_id = "prd-nope";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base),
                         "not_found", "productId"));
    /* a signature card of the officer's own shop */
    cmd.product_id = P3;
    svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "forbidden", "productId") &&
          strstr(svc_tc_message(svc_tc_out(w)), "seal cards only"));
    cmd.reason = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base),
                         "invalid", "reason"));

    /* the seal card of the officer's shop */
    cmd.product_id = P2;
    cmd.reason = "other";
    cmd.comment = "Mitarbeiter ausgeschieden";
    svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1);
    Tp__Revocation__RevocationRequested *e =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && streq(e->requested_by, "acc-oa") && streq(e->authenticated_by, "officer") &&
          streq(e->authentication_detail, "officer of shop shop-a") &&
          streq(e->comment, "Mitarbeiter ausgeschieden"));
    svc_tc_free(e);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base),
                         "conflict", "productId"));
    /* the owner cannot revoke it a second time either */
    Tp__Revocation__RequestRevocation own = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    own.product_id = P2;
    own.reason = "card_lost";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RequestRevocation", "customer", "acc-bert", &own.base),
                         "conflict", "productId"));

    /* an officer appointed again may act again; one deleted may not */
    CHECK(svc_tc_officer(w, "acc-rev", "shop-b", true) == 1);
    cmd.product_id = P4;
    svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-rev", &cmd.base);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1);
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-oa";
    CHECK(svc_tc_react(w, "account", NULL, &del.base) == 1);
    rtest_product(w, "TP-2026-000006", "acc-dora", "shop-a", "seal-card", "4711 0006");
    cmd.product_id = "prd-TP-2026-000006";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOfficer", "officer", "acc-oa", &cmd.base),
                         "forbidden", NULL));
    svc_tc_destroy(&w);
}

/* ------------------------------------------------------------------ operators */

void rtest_operator(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);
    Tp__Revocation__RevokeAsOperator cmd = TP__REVOCATION__REVOKE_AS_OPERATOR__INIT;
    cmd.product_id = P3;
    cmd.reason = "card_lost";

    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOperator", "customer", "acc-bert", &cmd.base),
                         "forbidden", NULL));
    svc_tc_decide(w, "RevokeAsOperator", "operator", "acc-op", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "invalid", "caller") &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "callerAuthentication"));
    cmd.caller = "Bert Beispiel";
    cmd.caller_authentication = "callback to the registered phone number";
    cmd.product_id = "prd-nope";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOperator", "operator", "acc-op", &cmd.base),
                         "not_found", "productId"));
    cmd.product_id = P5;
    svc_tc_decide(w, "RevokeAsOperator", "operator", "acc-op", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "not_found", "productId") &&
          strstr(svc_tc_message(svc_tc_out(w)), "not been shipped"));
    /* unnamed: neither account nor client address */
    svc_tc_set_client(w, "");
    cmd.product_id = P3;
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOperator", "operator", "", &cmd.base), "invalid",
                         "header.actorAccount"));
    svc_tc_set_client(w, RTEST_CLIENT);

    svc_tc_decide(w, "RevokeAsOperator", "operator", "acc-op", &cmd.base);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1);
    Tp__Revocation__RevocationRequested *e =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && streq(e->requested_by, "Bert Beispiel") && streq(e->authenticated_by, "operator") &&
          streq(e->authentication_detail, "operator acc-op; caller authenticated by: callback "
                                          "to the registered phone number"));
    svc_tc_free(e);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RevokeAsOperator", "operator", "acc-op", &cmd.base),
                         "conflict", "productId"));
    /* its owner sees the request and how it was made, but not who called nor who took it */
    Tp__Revocation__ListOwnRequests oq = TP__REVOCATION__LIST_OWN_REQUESTS__INIT;
    svc_tc_decide(w, "ListOwnRequests", "customer", "acc-bert", &oq.base);
    Tp__Revocation__RequestList *l =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 1 && streq(l->requests[0]->product_id, P3) &&
          streq(l->requests[0]->authenticated_by, "operator") &&
          streq(l->requests[0]->reason, "card_lost") && streq(l->requests[0]->requested_by, "") &&
          streq(l->requests[0]->authentication_detail, ""));
    svc_tc_free(l);
    /* an operator known by where the request came from (tpctl without an account) */
    svc_tc_set_client(w, "tpctl@alice");
    cmd.product_id = P4;
    svc_tc_decide(w, "RevokeAsOperator", "operator", "", &cmd.base);
    e = svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_requested__descriptor);
    CHECK(e && strncmp(e->authentication_detail, "operator tpctl@alice;", 21) == 0);
    svc_tc_free(e);
    svc_tc_destroy(&w);
}

/* ------------------------------------------------------------------ timer */

void rtest_timer(void)
{
    svc_tc_t *w = rtest_new(); /* delay 60 s, alarm after 600 s */
    rtest_seed(w);
    char *id = s_request(w, "acc-anna", P1, "card_lost");
    CHECK(id != NULL);
    int64_t at = svc_tc_now(w) - 1000; /* received_at of the request */

    /* nothing before the delay */
    svc_tc_set_now(w, at + 59 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0 && svc_tc_logs(svc_tc_out(w), 'E', NULL) == 0);
    /* a restart before completion: the rebuilt state completes it, once */
    svc_tc_restart(w);
    svc_tc_set_now(w, at + 60 * SEC);
    svc_tc_tick(w);
    CHECK(svc_out_n_events(svc_tc_out(w)) == 1 &&
          streq(svc_tc_type(svc_tc_out(w), 0), "RevocationCompleted"));
    Tp__Revocation__RevocationCompleted *c =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_completed__descriptor);
    CHECK(c && id && streq(c->request_id, id) && streq(c->product_id, P1) &&
          c->completed_at_us == at + 60 * SEC && streq(c->reason, "card_lost") &&
          c->n_serials == 2 && streq(c->serials[1], "TP-2026-000001-S2"));
    svc_tc_free(c);
    svc_tc_advance(w, SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0);
    /* and after a restart too */
    svc_tc_restart(w);
    svc_tc_advance(w, 3600 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0 && svc_tc_logs(svc_tc_out(w), 'E', NULL) == 0);

    /* two requests due in the same tick complete together, in the order received */
    char *a = s_request(w, "acc-bert", P2, "other");
    char *b = s_request(w, "acc-bert", P3, "suspected_misuse");
    svc_tc_advance(w, 120 * SEC);
    svc_tc_tick(w);
    CHECK(svc_out_n_events(svc_tc_out(w)) == 2);
    c = svc_tc_event(svc_tc_out(w), 1, &tp__revocation__revocation_completed__descriptor);
    CHECK(c && b && streq(c->request_id, b));
    svc_tc_free(c);

    /* a product without a known serial: the request waits, and alarms once overdue, on
     * every tick, naming the request, the product and the age */
    CHECK(rtest_order(w, "TP-2026-000007", "acc-eve", "", "signature-card", RTEST_HASH) == 1);
    CHECK(rtest_shipped(w, "TP-2026-000007") == 1);
    char *late = s_request(w, "acc-eve", "prd-TP-2026-000007", "card_lost");
    int64_t late_at = svc_tc_now(w) - 1000;
    svc_tc_set_now(w, late_at + 599 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0 && svc_tc_logs(svc_tc_out(w), 'E', NULL) == 0);
    svc_tc_set_now(w, late_at + 600 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0);
    CHECK(late && svc_tc_logs(svc_tc_out(w), 'E', late) == 1);
    CHECK(svc_tc_logs(svc_tc_out(w), 'E', "prd-TP-2026-000007") == 1 &&
          svc_tc_logs(svc_tc_out(w), 'E', "after 600 s") == 1 &&
          svc_tc_logs(svc_tc_out(w), 'E', "no certificate serial") == 1);
    svc_tc_advance(w, 5 * SEC);
    svc_tc_tick(w);
    CHECK(svc_tc_logs(svc_tc_out(w), 'E', "after 605 s") == 1);
    /* once the serials are known it completes at the next tick, and the alarm stops */
    CHECK(rtest_certificates(w, "TP-2026-000007", "S-7", NULL) == 1);
    svc_tc_tick(w);
    CHECK(svc_out_n_events(svc_tc_out(w)) == 1 && svc_tc_logs(svc_tc_out(w), 'E', NULL) == 0);
    svc_tc_advance(w, SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0 && svc_tc_logs(svc_tc_out(w), 'E', NULL) == 0);

    /* a delay past the alarm (a misconfiguration): the alarm is raised before it completes */
    zconfig_t *cfg = zconfig_new("root", NULL);
    zconfig_put(cfg, "revocation/processing_delay_s", "900");
    zconfig_put(cfg, "revocation/alarm_after_s", "300");
    revocation_def.configure(svc_tc_state(w), cfg, "revocation");
    zconfig_destroy(&cfg);
    char *slow = s_request(w, "acc-cora", P4, "card_lost");
    int64_t slow_at = svc_tc_now(w) - 1000;
    svc_tc_set_now(w, slow_at + 300 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 0 && slow &&
          svc_tc_logs(svc_tc_out(w), 'E', slow) == 1);
    svc_tc_set_now(w, slow_at + 900 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 1 && svc_tc_logs(svc_tc_out(w), 'E', NULL) == 0);

    char *s1 = revocation_def.summary(svc_tc_state(w));
    CHECK(s1 && strstr(s1, "\"requests\":5,\"open\":0,\"completed\":5,\"revokedSerials\":9"));
    free(s1);
    free(id);
    free(a);
    free(b);
    free(late);
    free(slow);
    svc_tc_destroy(&w);
}

/* ------------------------------------------------------------------ queries */

void rtest_queries(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);
    char *r1 = s_request(w, "acc-anna", P1, "card_lost");
    int64_t at1 = svc_tc_now(w) - 1000;
    char *r2 = s_request(w, "acc-bert", P2, "suspected_misuse");
    svc_tc_advance(w, 61 * SEC);
    svc_tc_tick(w);
    int64_t done = svc_tc_now(w);
    char *r3 = s_request(w, "acc-bert", P3, "other");

    Tp__Revocation__ListRequests lq = TP__REVOCATION__LIST_REQUESTS__INIT;
    CHECK(svc_tc_refused(svc_tc_decide(w, "ListRequests", "customer", "acc-anna", &lq.base),
                         "forbidden", NULL));
    svc_tc_decide(w, "ListRequests", "operator", "acc-op", &lq.base);
    Tp__Revocation__RequestList *l =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__request_list__descriptor);
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
    svc_tc_free(l);
    lq.open_only = true;
    svc_tc_decide(w, "ListRequests", "operator", "acc-op", &lq.base);
    l = svc_tc_reply(svc_tc_out(w), &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 1 && r3 && streq(l->requests[0]->request_id, r3));
    svc_tc_free(l);

    /* ListOwnRequests: the owner's own, with its own evidence; nobody else's */
    Tp__Revocation__ListOwnRequests oq = TP__REVOCATION__LIST_OWN_REQUESTS__INIT;
    svc_tc_decide(w, "ListOwnRequests", "customer", "acc-anna", &oq.base);
    l = svc_tc_reply(svc_tc_out(w), &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 1 && r1 && streq(l->requests[0]->request_id, r1) &&
          streq(l->requests[0]->requested_by, "acc-anna") &&
          streq(l->requests[0]->authentication_detail, RTEST_CLIENT) &&
          streq(l->requests[0]->decision, "completed") && l->requests[0]->n_serials == 2);
    svc_tc_free(l);
    svc_tc_decide(w, "ListOwnRequests", "officer", "acc-bert", &oq.base);
    l = svc_tc_reply(svc_tc_out(w), &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 2 && r2 && r3 && streq(l->requests[0]->request_id, r2) &&
          streq(l->requests[1]->request_id, r3));
    svc_tc_free(l);
    svc_tc_decide(w, "ListOwnRequests", "customer", "acc-cora", &oq.base);
    l = svc_tc_reply(svc_tc_out(w), &tp__revocation__request_list__descriptor);
    CHECK(l && l->n_requests == 0);
    svc_tc_free(l);
    CHECK(svc_tc_refused(svc_tc_decide(w, "ListOwnRequests", "customer", "", &oq.base),
                         "unauthenticated", NULL));
    const svc_command_t *own = svc_tc_command(w, "ListOwnRequests");
    CHECK(own && own->query && own->who == (SVC_CUSTOMER | SVC_OFFICER));

    /* GetRequest: the owner and operators; anyone else as for a missing one */
    Tp__Revocation__GetRequest gq = TP__REVOCATION__GET_REQUEST__INIT;
    gq.request_id = r2;
    svc_tc_decide(w, "GetRequest", "customer", "acc-bert", &gq.base);
    Tp__Revocation__RevocationView *v =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__revocation_view__descriptor);
    CHECK(v && streq(v->product_id, P2) && streq(v->decision, "completed"));
    svc_tc_free(v);
    svc_tc_decide(w, "GetRequest", "operator", "acc-op", &gq.base);
    CHECK(!svc_out_failed(svc_tc_out(w)));
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetRequest", "customer", "acc-anna", &gq.base),
                         "not_found", "requestId"));
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetRequest", "customer", "", &gq.base), "not_found",
                         "requestId"));
    gq.request_id = "rev-0000000000000000";
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetRequest", "operator", "acc-op", &gq.base),
                         "not_found", "requestId"));

    /* the revocation list: for anyone, the completed ones' serials, time and reason */
    Tp__Revocation__GetRevocationList rl = TP__REVOCATION__GET_REVOCATION_LIST__INIT;
    svc_tc_decide(w, "GetRevocationList", "", "", &rl.base);
    Tp__Revocation__RevocationList *list =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__revocation_list__descriptor);
    CHECK(list && list->n_entries == 4 && list->generated_at_us == svc_tc_now(w));
    if (list && list->n_entries == 4) {
        CHECK(streq(list->entries[0]->serial, "TP-2026-000001-S1") &&
              list->entries[0]->revoked_at_us == done &&
              streq(list->entries[0]->reason, "card_lost"));
        CHECK(streq(list->entries[3]->serial, "TP-2026-000002-S2") &&
              streq(list->entries[3]->reason, "suspected_misuse"));
    }
    svc_tc_free(list);
    svc_tc_advance(w, 61 * SEC);
    svc_tc_tick(w);
    svc_tc_decide(w, "GetRevocationList", "", "", &rl.base);
    list = svc_tc_reply(svc_tc_out(w), &tp__revocation__revocation_list__descriptor);
    CHECK(list && list->n_entries == 6 && streq(list->entries[5]->reason, "other"));
    svc_tc_free(list);

    /* the summary: deterministic, and the same after a restart */
    char *s1 = revocation_def.summary(svc_tc_state(w));
    svc_tc_restart(w);
    char *s2 = revocation_def.summary(svc_tc_state(w));
    CHECK(s1 && s2 && streq(s1, s2) && strstr(s1, "\"revokedSerials\":6"));
    free(s1);
    free(s2);
    free(r1);
    free(r2);
    free(r3);
    svc_tc_destroy(&w);
}

/* ------------------------------------------------------------------ settings */

static int64_t s_completes_after(const char *delay, const char *alarm)
{
    svc_tc_t *w = rtest_new();
    zconfig_t *cfg = zconfig_new("root", NULL);
    if (delay)
        zconfig_put(cfg, "revocation/processing_delay_s", delay);
    if (alarm)
        zconfig_put(cfg, "revocation/alarm_after_s", alarm);
    revocation_def.configure(svc_tc_state(w), cfg, "revocation");
    zconfig_destroy(&cfg);
    rtest_product(w, "TP-1", "acc-a", "", "signature-card", "1");
    free(s_request(w, "acc-a", "prd-TP-1", "other"));
    int64_t at = svc_tc_now(w) - 1000, s = 0;
    for (; s <= 4000; s++) {
        svc_tc_set_now(w, at + s * SEC);
        if (svc_out_n_events(svc_tc_tick(w)) > 0)
            break;
    }
    svc_tc_destroy(&w);
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

/* --test core: the core alone; --test runtime: in the runtime; --test <name>; none: all;
 * -v: show the runtime's log. */
static const svc_tc_test_t s_tests[] = {
    {"react", rtest_react, "core"},
    {"owner", rtest_owner, "core"},
    {"officer", rtest_officer_cmd, "core"},
    {"operator", rtest_operator, "core"},
    {"timer", rtest_timer, "core"},
    {"queries", rtest_queries, "core"},
    {"settings", rtest_settings, "core"},
    {"password", rtest_password_decide, "core"},
    {"throttle", rtest_password_throttle, "core"},
    {"argon2", rtest_password_argon2, "core"},
    {"runtime", rtest_runtime, NULL},
    {"keys", rtest_keys, NULL},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv, &(svc_tc_suite_t){"revocation_test", s_tests});
}
