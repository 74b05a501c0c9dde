/* prodflow_refusals.c: the refusals of the production and revocation services in the
 * flow, each with the proof that it wrote nothing (the head seq of "$status" is the
 * same), or exactly the one event the service documents (a wrong revocation password is
 * recorded for throttling). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prodflow_internal.h"

/* Someone logged in who owns nothing here and is nobody's officer. */
static const th_actor_t s_stranger = {"customer", "acc-0000stranger", "192.0.2.99"};

/* The service's head once nothing moves there any more (reactions and timers done). */
static uint64_t s_quiet_head(pf_t *pf, const char *service)
{
    char digest[128];
    TH_CHECK(th_settle(pf->th, service, digest, sizeof digest, 400, 10000));
    uint64_t head = th_head(pf->th, service);
    TH_CHECK(head != UINT64_MAX);
    return head;
}

static void s_same_head(pf_t *pf, const char *service, uint64_t before, const char *what)
{
    uint64_t now = th_head(pf->th, service);
    if (now != before)
        fprintf(stderr, "%s: %s head %llu -> %llu\n", what, service, (unsigned long long) before,
                (unsigned long long) now);
    TH_CHECK(now == before);
}

/* A refused fact: @p code on @p field, the message containing @p says (may be NULL). */
static void s_refused(const pf_ack_t *a, const char *code, const char *field, const char *says,
                      const char *what)
{
    bool ok = a->answered && !a->ok && streq(a->code, code) && streq(a->field, field) &&
              (!says || strstr(a->message, says)) && a->last_seq == 0;
    if (!ok)
        fprintf(stderr, "%s: answered %d ok %d [%s %s: %s], expected %s %s \"%s\"\n", what,
                a->answered, a->ok, a->code, a->field, a->message, code, field,
                says ? says : "");
    TH_CHECK(ok);
}

/* No fact yet: each one out of order is refused with the reason, whichever way it comes. */
void pf_refuse_facts_early(pf_t *pf)
{
    uint64_t head = s_quiet_head(pf, "production");
    pf_ack_t a = pf_fact(pf, PF_VIA_ROUTER, "card", 0, NULL, "bad:card-first");
    s_refused(&a, "conflict", "orderId", "card produced before its certificates were created",
              "card first");
    a = pf_fact(pf, PF_VIA_ROUTER, "shipped", 0, NULL, "bad:shipped-first");
    s_refused(&a, "conflict", "orderId", "card shipped before it was produced", "shipped first");
    a = pf_fact(pf, PF_VIA_CURVE, "pin-shipped", 1, NULL, "bad:pin-first");
    s_refused(&a, "conflict", "orderId", "PIN letter shipped before the card was produced",
              "PIN letter first");
    a = pf_fact(pf, PF_VIA_TPCTL, "delivered", 2, NULL, "bad:delivered-first");
    s_refused(&a, "conflict", "orderId", "card delivered before it was shipped",
              "delivered first (tpctl)");
    a = pf_fact(pf, PF_VIA_TPCTL, "pin-delivered", 1, NULL, "bad:pin-delivered-first");
    s_refused(&a, "conflict", "orderId", "PIN letter delivered before it was shipped",
              "PIN letter delivered first (tpctl)");
    /* an order that was never released */
    a = pf_fact(pf, PF_VIA_CURVE, "certificates", 0, "TP-2099-999999", "bad:unknown-order");
    s_refused(&a, "not_found", "orderId", NULL, "unknown order");
    /* a customer is no producer (the request socket believes the header's role; the
     * CURVE endpoint makes every caller a producer) */
    Tp__Production__RecordCardDelivered d = TP__PRODUCTION__RECORD_CARD_DELIVERED__INIT;
    d.fact_id = "bad:customer";
    d.order_id = pf->orders[0];
    Tp__Reply *r = th_call_as(pf->th, "production", &pf->owner.as, NULL,
                              "production.RecordCardDelivered", &d.base, FL_CALL_MS);
    a = pf_ack_of_reply(r);
    th_reply_free(&r);
    s_refused(&a, "forbidden", "", NULL, "fact by a customer");
    /* a tracking number the post office does not issue */
    Tp__Production__RecordCardShipped s = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    s.fact_id = "bad:tracking";
    s.order_id = pf->orders[0];
    s.tracking_number = "rr 123";
    r = th_call_as(pf->th, "production", &fl_producer, NULL, "production.RecordCardShipped",
                   &s.base, FL_CALL_MS);
    a = pf_ack_of_reply(r);
    th_reply_free(&r);
    s_refused(&a, "invalid", "trackingNumber", NULL, "bad tracking number");
    s_same_head(pf, "production", head, "facts out of order");
}

/* The certificates are recorded: a repeat is "done", a second set a conflict. */
void pf_refuse_facts_late(pf_t *pf)
{
    uint64_t head = s_quiet_head(pf, "production");
    char fact[96];
    pf_fact_id(pf, 0, 0, fact, sizeof fact);
    pf_ack_t vias[3] = {pf_fact(pf, PF_VIA_ROUTER, "certificates", 0, NULL, fact),
                        pf_fact(pf, PF_VIA_TPCTL, "certificates", 0, NULL, fact),
                        pf_fact(pf, PF_VIA_CURVE, "certificates", 0, NULL, fact)};
    for (int i = 0; i < 3; i++) {
        pf_ack_t *a = &vias[i];
        if (!(a->ok && a->duplicate))
            fprintf(stderr, "duplicate fact (way %d): ok %d duplicate %d [%s: %s]\n", i, a->ok,
                    a->duplicate, a->code, a->message);
        TH_CHECK(a->ok && a->duplicate && a->last_seq == 0);
        TH_CHECK(streq(a->job_status, "certificates") && streq(a->order_id, pf->orders[0]));
    }
    /* the same fact id with another order: still the first fact, acknowledged */
    pf_ack_t a = pf_fact(pf, PF_VIA_ROUTER, "card", 1, NULL, fact);
    TH_CHECK(a.ok && a.duplicate && streq(a.order_id, pf->orders[0]));
    /* a second set of certificates under a new fact id */
    a = pf_fact(pf, PF_VIA_CURVE, "certificates", 0, NULL, "bad:certificates-again");
    s_refused(&a, "conflict", "orderId", "certificates already recorded", "certificates again");
    s_same_head(pf, "production", head, "duplicate facts");
}

/* Compares two refusals: the same code, field and message. */
static bool s_same_refusal(const Tp__Reply *a, const Tp__Reply *b)
{
    return a && b && !a->ok && !b->ok && a->n_errors == 1 && b->n_errors == 1 &&
           streq(a->errors[0]->code, b->errors[0]->code) &&
           streq(a->errors[0]->field, b->errors[0]->field) &&
           streq(a->errors[0]->message, b->errors[0]->message);
}

static Tp__Reply *s_request(pf_t *pf, const th_actor_t *as, const char *product,
                            const char *reason)
{
    Tp__Revocation__RequestRevocation q = TP__REVOCATION__REQUEST_REVOCATION__INIT;
    q.product_id = (char *) product;
    q.reason = (char *) reason;
    return th_call_as(pf->th, "revocation", as, NULL, "revocation.RequestRevocation", &q.base,
                      FL_CALL_MS);
}

static Tp__Reply *s_password(pf_t *pf, const char *number, const char *password)
{
    Tp__Revocation__RevokeWithPassword q = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    q.number = (char *) number;
    q.password = (char *) password;
    q.reason = "card_lost";
    return th_call_as(pf->th, "revocation", &fl_anonymous, NULL, "revocation.RevokeWithPassword",
                      &q.base, FL_CALL_MS);
}

/* All three products Gültig: wrong owner, no login, wrong officer, wrong password. */
void pf_refuse_revocations(pf_t *pf)
{
    uint64_t prd_head = s_quiet_head(pf, "production");
    uint64_t head = s_quiet_head(pf, "revocation");
    /* another account's product is answered exactly like a missing one */
    Tp__Reply *theirs = s_request(pf, &s_stranger, pf->products[0], "card_lost");
    Tp__Reply *missing = s_request(pf, &s_stranger, "prd-TP-2099-999999", "card_lost");
    TH_CHECK(th_refused(theirs, "not_found", "productId"));
    TH_CHECK(s_same_refusal(theirs, missing));
    th_reply_free(&theirs);
    th_reply_free(&missing);
    Tp__Reply *r = s_request(pf, &fl_anonymous, pf->products[0], "card_lost");
    TH_CHECK(r && !r->ok && r->n_errors && streq(r->errors[0]->code, "unauthenticated"));
    th_reply_free(&r);
    r = s_request(pf, &pf->owner.as, pf->products[0], "bored");
    TH_CHECK(th_refused(r, "invalid", "reason"));
    th_reply_free(&r);
    /* "Meine Produkte" of someone else: not found either */
    Tp__Production__ProductView *v = pf_get_product(pf, &s_stranger, 0, &r);
    TH_CHECK(!v && th_refused(r, "not_found", "productId"));
    th_reply_free(&r);
    /* the officer of the demo shop: not for a signature card outside the shop; a customer
     * who is nobody's officer: not at all */
    Tp__Revocation__RevokeAsOfficer ro = TP__REVOCATION__REVOKE_AS_OFFICER__INIT;
    ro.product_id = pf->products[PF_OWNER_REVOKES];
    ro.reason = "other";
    r = th_call_as(pf->th, "revocation", &pf->officer.officer, NULL, "revocation.RevokeAsOfficer",
                   &ro.base, FL_CALL_MS);
    TH_CHECK(th_refused(r, "not_found", "productId"));
    th_reply_free(&r);
    ro.product_id = pf->products[PF_OFFICER_REVOKES];
    r = th_call_as(pf->th, "revocation", &s_stranger, NULL, "revocation.RevokeAsOfficer",
                   &ro.base, FL_CALL_MS);
    TH_CHECK(r && !r->ok && r->n_errors && streq(r->errors[0]->code, "forbidden"));
    th_reply_free(&r);
    s_same_head(pf, "revocation", head, "revocation refusals");
    /* a wrong password and an unknown number: the same answer, each attempt recorded */
    Tp__Reply *wrong = s_password(pf, pf->orders[PF_PASSWORD_REVOKES], "falsches Kennwort 1");
    TH_CHECK(wrong && !wrong->ok && wrong->n_errors == 1 &&
             streq(wrong->errors[0]->code, "invalid_credentials") && !wrong->errors[0]->field[0]);
    Tp__Reply *unknown = s_password(pf, "TP-2099-999999", "Sperr-Kennwort-42");
    TH_CHECK(s_same_refusal(wrong, unknown));
    /* each wrote its RevocationAttemptFailed: tp.proto says Reply.last_seq is "the highest
     * seq this request wrote", so the refusals should name seq head+1 and head+2 */
    if (!(wrong && wrong->last_seq == head + 1 && unknown && unknown->last_seq == head + 2))
        fprintf(stderr, "recorded refusals answer last_seq %llu and %llu, but wrote seq "
                        "%llu and %llu (services/common/svc_request.c, svci_decide_one: a "
                        "recorded refusal's reply must carry the seq of its events)\n",
                (unsigned long long) (wrong ? wrong->last_seq : 0),
                (unsigned long long) (unknown ? unknown->last_seq : 0),
                (unsigned long long) head + 1, (unsigned long long) head + 2);
    TH_CHECK(wrong && wrong->last_seq == head + 1);
    TH_CHECK(unknown && unknown->last_seq == head + 2);
    if (!s_same_refusal(wrong, unknown)) {
        th_reply_log("wrong password", wrong);
        th_reply_log("unknown number", unknown);
    }
    th_reply_free(&wrong);
    th_reply_free(&unknown);
    s_same_head(pf, "revocation", head + 2, "failed attempts");
    TH_CHECK(fl_count_events(pf->th, "revocation", "RevocationAttemptFailed", NULL) == 2);
    char *s = th_summary(pf->th, "revocation");
    char n[16] = "";
    TH_CHECK(th_json_str(s, "failedAttempts", n, sizeof n) && streq(n, "2"));
    TH_CHECK(th_json_str(s, "requests", n, sizeof n) && streq(n, "0"));
    free(s);
    s_same_head(pf, "production", prd_head, "revocation refusals (production)");
    for (int idx = 0; idx < PF_N; idx++) {
        v = pf_get_product(pf, &pf->owner.as, idx, NULL);
        TH_CHECK(v && streq(v->status, PRODUCTION_GUELTIG));
        if (v)
            tp__production__product_view__free_unpacked(v, NULL);
    }
}

/* The owner's request is open: a second one is refused, nothing changes. */
void pf_refuse_while_pending(pf_t *pf)
{
    Tp__Reply *r = s_request(pf, &pf->owner.as, pf->products[PF_OWNER_REVOKES], "other");
    TH_CHECK(th_refused(r, "conflict", "productId"));
    TH_CHECK(r && r->n_errors && (strstr(r->errors[0]->message, "already being revoked") ||
                                  strstr(r->errors[0]->message, "already revoked")));
    th_reply_free(&r);
}

/* The owner's product is Gesperrt: revocation is irreversible, whoever asks again. */
void pf_refuse_double(pf_t *pf)
{
    uint64_t head = s_quiet_head(pf, "revocation");
    uint64_t prd_head = s_quiet_head(pf, "production");
    Tp__Reply *r = s_request(pf, &pf->owner.as, pf->products[PF_OWNER_REVOKES], "card_lost");
    TH_CHECK(th_refused(r, "conflict", "productId"));
    TH_CHECK(r && r->n_errors && strstr(r->errors[0]->message, "already revoked"));
    th_reply_free(&r);
    /* the right password for the revoked card */
    r = s_password(pf, pf->orders[PF_OWNER_REVOKES], "Sperr-Kennwort-42");
    TH_CHECK(th_refused(r, "conflict", "number"));
    th_reply_free(&r);
    const th_actor_t op = {"operator", "op-anna", "10.1.2.3"};
    Tp__Revocation__RevokeAsOperator ro = TP__REVOCATION__REVOKE_AS_OPERATOR__INIT;
    ro.product_id = pf->products[PF_OWNER_REVOKES];
    ro.reason = "card_lost";
    ro.caller = "Olga Owner";
    ro.caller_authentication = "callback to the registered phone number";
    r = th_call_as(pf->th, "revocation", &op, NULL, "revocation.RevokeAsOperator", &ro.base,
                   FL_CALL_MS);
    TH_CHECK(th_refused(r, "conflict", "productId"));
    th_reply_free(&r);
    s_same_head(pf, "revocation", head, "double revocation");
    /* a producer's retry of a fact long done: acknowledged, nothing written */
    char fact[96];
    pf_fact_id(pf, PF_OWNER_REVOKES, 2, fact, sizeof fact);
    pf_ack_t a = pf_fact(pf, PF_VIA_CURVE, "shipped", PF_OWNER_REVOKES, NULL, fact);
    TH_CHECK(a.ok && a.duplicate && streq(a.job_status, "delivered") && a.last_seq == 0);
    s_same_head(pf, "production", prd_head, "double revocation (production)");
    Tp__Production__ProductView *v = pf_get_product(pf, &pf->owner.as, PF_OWNER_REVOKES, NULL);
    TH_CHECK(v && streq(v->status, PRODUCTION_GESPERRT));
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
}
