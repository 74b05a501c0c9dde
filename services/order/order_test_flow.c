/* order_test_flow.c: tests of an order's way after placing: the identification
 * service's events, the back office (application, data problems), the release in
 * every order of arrival, and the scoping of the queries to the acting account. */
#include <string.h>
#include "order_test.h"

/* ------------------------------------------------------------------ reactions */

static void s_case_opened(const char *order_id, const char *method, const char *number)
{
    Tp__Identification__CaseOpened e = TP__IDENTIFICATION__CASE_OPENED__INIT;
    e.order_id = (char *) order_id;
    e.method = (char *) method;
    e.postident_number = (char *) number;
    svc_tc_react(ot, "identification", "CaseOpened", &e.base);
}

static void s_succeeded(const char *order_id)
{
    Tp__Identification__IdentificationSucceeded e =
        TP__IDENTIFICATION__IDENTIFICATION_SUCCEEDED__INIT;
    e.order_id = (char *) order_id;
    e.method = "postident";
    e.evidence_ref = "PI-TX-1";
    e.identified_at_us = ot_now - 5000000;
    svc_tc_react(ot, "identification", "IdentificationSucceeded", &e.base);
}

static void s_failed(const char *order_id, const char *reason)
{
    Tp__Identification__IdentificationFailed e = TP__IDENTIFICATION__IDENTIFICATION_FAILED__INIT;
    e.order_id = (char *) order_id;
    e.method = "postident";
    e.reason = (char *) reason;
    svc_tc_react(ot, "identification", "IdentificationFailed", &e.base);
}

static Tp__Order__OrderView *s_get(const char *order_id, const char *account)
{
    Tp__Order__GetOrder q = TP__ORDER__GET_ORDER__INIT;
    q.order_id = (char *) order_id;
    svc_tc_decide(ot, "GetOrder", "customer", account, &q.base);
    return svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
}

void ot_test_reactions(void)
{
    const char *id = "TP-2026-000001";   /* acc-a's PostIdent order */
    s_case_opened(id, "postident", "PI-1111-2222");
    CHECK(svc_tc_count(ot_out, "PostIdentNumberAssigned") == 1 && svc_out_n_events(ot_out) == 1);
    svc_tc_commit(ot);
    s_case_opened(id, "postident", "PI-1111-2222");   /* a repeat changes nothing */
    CHECK(svc_out_n_events(ot_out) == 0);
    s_case_opened("TP-2026-000002", "officerident", "");
    CHECK(svc_out_n_events(ot_out) == 0);
    s_case_opened("TP-2099-999999", "postident", "PI-9");   /* not ours: ignored */
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    svc_tc_react_raw(ot, "identification", "CaseOpened", junk, sizeof junk);
    CHECK(svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 0);
    svc_tc_react_raw(ot, "identification", "IdentificationSucceeded", junk, sizeof junk);
    CHECK(svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 0);
    /* the same type from another upstream is not a result */
    Tp__Identification__IdentificationSucceeded other =
        TP__IDENTIFICATION__IDENTIFICATION_SUCCEEDED__INIT;
    other.order_id = (char *) id;
    svc_tc_react(ot, "account", "IdentificationSucceeded", &other.base);
    CHECK(svc_out_n_events(ot_out) == 0 && !svc_out_failed(ot_out));

    Tp__Order__OrderView *v = s_get(id, "acc-a");
    CHECK(v && streq(v->postident_number, "PI-1111-2222") && v->n_documents == 3);
    if (v && v->n_documents == 3)
        CHECK(streq(v->documents[2]->file_name, "TP-2026-000001-coupon.pdf"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);

    /* failed: still offen, the failure visible; a new case brings a new number */
    s_failed(id, "Ausweis abgelaufen");
    CHECK(svc_tc_count(ot_out, "IdentificationRecorded") == 1 && svc_out_n_events(ot_out) == 1);
    svc_tc_commit(ot);
    v = s_get(id, "acc-a");
    CHECK(v && streq(v->status, "offen") && v->n_steps == 6);
    if (v && v->n_steps == 6)
        CHECK(streq(v->steps[1]->name, "identification") && !v->steps[1]->done &&
              v->steps[1]->failed && streq(v->steps[1]->detail, "Ausweis abgelaufen"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    s_case_opened(id, "postident", "PI-3333-4444");
    CHECK(svc_tc_count(ot_out, "PostIdentNumberAssigned") == 1);
    svc_tc_commit(ot);
    /* succeeded: recorded, but no release without the application */
    s_succeeded(id);
    CHECK(svc_tc_count(ot_out, "IdentificationRecorded") == 1 && svc_tc_count(ot_out, "OrderReleasedForProduction") == 0);
    svc_tc_commit(ot);
    s_succeeded(id);   /* a duplicate changes nothing */
    CHECK(svc_out_n_events(ot_out) == 0);
    s_failed(id, "late");
    CHECK(svc_out_n_events(ot_out) == 0);
    v = s_get(id, "acc-a");
    CHECK(v && v->steps[1]->done && !v->steps[1]->failed &&
          v->steps[1]->done_at_us == ot_now - 5000000 && streq(v->postident_number, "PI-3333-4444"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
}

/* ------------------------------------------------------------------ back office */

void ot_test_back_office(void)
{
    const char *id = "TP-2026-000002";   /* acc-a's seal card */
    Tp__Order__RecordDataProblem dp = TP__ORDER__RECORD_DATA_PROBLEM__INIT;
    dp.order_id = (char *) id;
    dp.reason = "";
    svc_tc_decide(ot, "RecordDataProblem", "operator", "op", &dp.base);
    REFUSED("invalid", "reason");
    dp.reason = "Registernummer passt nicht zum Handelsregister";
    svc_tc_decide(ot, "RecordDataProblem", "customer", "acc-a", &dp.base);
    REFUSED("forbidden", "");
    dp.order_id = "TP-2026-999999";
    svc_tc_decide(ot, "RecordDataProblem", "operator", "op", &dp.base);
    REFUSED("not_found", "orderId");
    dp.order_id = "";
    svc_tc_decide(ot, "RecordDataProblem", "operator", "op", &dp.base);
    REFUSED("invalid", "orderId");
    dp.order_id = (char *) id;
    CHECK(svc_tc_do(ot, "RecordDataProblem", "operator", "op", &dp.base) == 1);
    Tp__Order__OrderView *v = svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
    CHECK(v && streq(v->status, "wartend") && streq(v->problem, dp.reason));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    svc_tc_decide(ot, "RecordDataProblem", "operator", "op", &dp.base);
    REFUSED("conflict", "orderId");
    v = s_get(id, "acc-a");
    CHECK(v && streq(v->status, "wartend") && v->steps[2]->failed);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);

    Tp__Order__ResolveDataProblem rp = TP__ORDER__RESOLVE_DATA_PROBLEM__INIT;
    rp.order_id = (char *) id;
    rp.note = "korrigiert";
    CHECK(svc_tc_do(ot, "ResolveDataProblem", "operator", "op", &rp.base) == 1);
    v = s_get(id, "acc-a");
    CHECK(v && streq(v->status, "offen") && streq(v->problem, ""));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    svc_tc_decide(ot, "ResolveDataProblem", "operator", "op", &rp.base);
    REFUSED("conflict", "orderId");

    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = (char *) id;
    svc_tc_decide(ot, "RecordApplicationReceived", "customer", "acc-a", &ar.base);
    REFUSED("forbidden", "");
    CHECK(svc_tc_do(ot, "RecordApplicationReceived", "operator", "op", &ar.base) == 1);
    svc_tc_decide(ot, "RecordApplicationReceived", "operator", "op", &ar.base);
    REFUSED("conflict", "orderId");

    /* acc-a's PostIdent order has its identification: the application releases it */
    ar.order_id = "TP-2026-000001";
    CHECK(svc_tc_do(ot, "RecordApplicationReceived", "operator", "op", &ar.base) == 2 &&
          svc_tc_count(ot_out, "OrderReleasedForProduction") == 1);
    v = svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
    CHECK(v && streq(v->status, "in_produktion") && v->steps[0]->done && v->steps[2]->done);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    dp.order_id = "TP-2026-000001";
    svc_tc_decide(ot, "RecordDataProblem", "operator", "op", &dp.base);
    REFUSED("conflict", "orderId");
}

/* Four eyes: the operator who typed in an order's identification does not record its
 * signed application (the identification service refuses the other way round). */
void ot_test_four_eyes(void)
{
    ot_form_t f;
    ot_form(&f, "signature-card", "notarident", NULL);
    char by_op[64], by_feed[64];
    snprintf(by_op, sizeof by_op, "%s", ot_place(&f, "acc-f"));
    snprintf(by_feed, sizeof by_feed, "%s", ot_place(&f, "acc-f"));
    Tp__Identification__IdentificationSucceeded e =
        TP__IDENTIFICATION__IDENTIFICATION_SUCCEEDED__INIT;
    e.order_id = by_op;
    e.method = "notarident";
    e.evidence_ref = "Urkunde 7/2026";
    e.recorded_by_account = "operator:alice";
    e.recorded_by_role = "operator";
    CHECK(svc_tc_react(ot, "identification", NULL, &e.base) == 1);
    Tp__Order__IdentificationRecorded *rec =
        svc_tc_event(ot_out, 0, &tp__order__identification_recorded__descriptor);
    CHECK(rec && streq(rec->recorded_by, "operator:alice"));
    svc_tc_free(rec);
    svc_tc_commit(ot);
    e.order_id = by_feed;   /* the provider's feed, or an officer: no operator to keep apart */
    e.recorded_by_account = "ident:postident";
    e.recorded_by_role = "ident";
    CHECK(svc_tc_react(ot, "identification", NULL, &e.base) == 1);
    rec = svc_tc_event(ot_out, 0, &tp__order__identification_recorded__descriptor);
    CHECK(rec && streq(rec->recorded_by, ""));
    svc_tc_free(rec);
    svc_tc_commit(ot);

    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = by_op;
    svc_tc_decide(ot, "RecordApplicationReceived", "operator", "operator:alice", &ar.base);
    REFUSED("forbidden", "orderId");
    CHECK(strstr(svc_tc_message(ot_out), "four eyes"));
    svc_tc_decide(ot, "RecordApplicationReceived", "operator", "operator:bob", &ar.base);
    CHECK(!svc_out_failed(ot_out) && svc_tc_count(ot_out, "OrderReleasedForProduction") == 1);
    Tp__Order__ApplicationReceived *got =
        svc_tc_event(ot_out, 0, &tp__order__application_received__descriptor);
    CHECK(got && streq(got->recorded_by, "operator:bob"));
    svc_tc_free(got);
    svc_tc_commit(ot);
    ar.order_id = by_feed;
    CHECK(svc_tc_do(ot, "RecordApplicationReceived", "operator", "operator:alice", &ar.base) == 2);
}

/* Release exactly once, whatever the order of application (A), identification (I) and
 * resolution of a data problem (R). */
void ot_test_release_orders(void)
{
    static const char *const perms[] = {"AIR", "ARI", "IAR", "IRA", "RAI", "RIA"};
    for (int p = 0; p < 6; p++) {
        ot_form_t f;
        ot_form(&f, "signature-card", "notarident", NULL);
        const char *placed = ot_place(&f, "acc-c");
        char id[64];
        snprintf(id, sizeof id, "%s", placed ? placed : "");
        Tp__Order__RecordDataProblem dp = TP__ORDER__RECORD_DATA_PROBLEM__INIT;
        dp.order_id = id;
        dp.reason = "Unterschrift fehlt";
        CHECK(svc_tc_do(ot, "RecordDataProblem", "operator", "op", &dp.base) == 1);
        size_t releases = 0;
        for (int s = 0; s < 3; s++) {
            char step = perms[p][s];
            if (step == 'A') {
                Tp__Order__RecordApplicationReceived ar =
                    TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
                ar.order_id = id;
                svc_tc_do(ot, "RecordApplicationReceived", "operator", "op", &ar.base);
            }
            else if (step == 'I') {
                s_succeeded(id);
                svc_tc_commit(ot);
            }
            else {
                Tp__Order__ResolveDataProblem rp = TP__ORDER__RESOLVE_DATA_PROBLEM__INIT;
                rp.order_id = id;
                svc_tc_do(ot, "ResolveDataProblem", "operator", "op", &rp.base);
            }
            size_t r = svc_tc_count(ot_out, "OrderReleasedForProduction");
            CHECK(r == (s == 2 ? 1u : 0u));
            releases += r;
        }
        CHECK(releases == 1);
        Tp__Order__OrderView *v = s_get(id, "acc-c");
        CHECK(v && streq(v->status, "in_produktion"));
        if (v)
            tp__order__order_view__free_unpacked(v, NULL);
        /* nothing afterwards releases it again */
        s_succeeded(id);
        CHECK(svc_out_n_events(ot_out) == 0);
    }
}

/* ------------------------------------------------------------------ scoping */

void ot_test_scoping(void)
{
    const char *id = "TP-2026-000001";   /* acc-a's */
    Tp__Order__GetOrder q = TP__ORDER__GET_ORDER__INIT;
    q.order_id = (char *) id;
    svc_tc_decide(ot, "GetOrder", "customer", "acc-b", &q.base);
    REFUSED("not_found", "orderId");
    const char *m1;
    svc_out_error_at(ot_out, 0, NULL, NULL, &m1);
    char msg[128];
    snprintf(msg, sizeof msg, "%s", m1);
    q.order_id = "TP-2026-424242";
    svc_tc_decide(ot, "GetOrder", "customer", "acc-b", &q.base);
    REFUSED("not_found", "orderId");
    svc_out_error_at(ot_out, 0, NULL, NULL, &m1);
    CHECK(streq(msg, m1) && svc_out_n_errors(ot_out) == 1);   /* indistinguishable */
    q.order_id = (char *) id;
    svc_tc_decide(ot, "GetOrder", "customer", "", &q.base);
    REFUSED("forbidden", "");
    static const char *const kinds[] = {"application", "checklist", "coupon"};
    for (int i = 0; i < 3; i++) {
        Tp__Order__GetDocument gd = TP__ORDER__GET_DOCUMENT__INIT;
        gd.order_id = (char *) id;
        gd.kind = (char *) kinds[i];
        svc_tc_decide(ot, "GetDocument", "customer", "acc-b", &gd.base);
        REFUSED("not_found", "orderId");
        CHECK(svc_out_reply_bytes(ot_out, NULL) == NULL);
    }
    Tp__Order__FindOrder fo = TP__ORDER__FIND_ORDER__INIT;
    fo.order_id = (char *) id;
    svc_tc_decide(ot, "FindOrder", "customer", "acc-a", &fo.base);
    REFUSED("forbidden", "");
    svc_tc_decide(ot, "FindOrder", "operator", "op", &fo.base);
    Tp__Order__OrderView *v = svc_tc_reply(ot_out, &tp__order__order_view__descriptor);
    CHECK(v && streq(v->account_id, "acc-a"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);

    /* lists: each account its own, newest first; archived is empty until delivery */
    Tp__Order__ListOrders lo = TP__ORDER__LIST_ORDERS__INIT;
    svc_tc_decide(ot, "ListOrders", "customer", "acc-a", &lo.base);
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(ot_out, &len);
    Tp__Order__OrderList *list = tp__order__order_list__unpack(NULL, len, b);
    CHECK(list && list->n_orders == 2 && streq(list->orders[0]->order_id, "TP-2026-000002") &&
          streq(list->orders[1]->order_id, id));
    if (list)
        tp__order__order_list__free_unpacked(list, NULL);
    svc_tc_decide(ot, "ListOrders", "customer", "acc-b", &lo.base);
    b = svc_out_reply_bytes(ot_out, &len);
    list = tp__order__order_list__unpack(NULL, len, b);
    CHECK(list && list->n_orders == 1 && streq(list->orders[0]->account_id, "acc-b"));
    if (list)
        tp__order__order_list__free_unpacked(list, NULL);
    svc_tc_decide(ot, "ListOrders", "customer", "acc-nobody", &lo.base);
    b = svc_out_reply_bytes(ot_out, &len);
    list = tp__order__order_list__unpack(NULL, len, b);
    CHECK(list && list->n_orders == 0);
    if (list)
        tp__order__order_list__free_unpacked(list, NULL);
    lo.archived = true;
    svc_tc_decide(ot, "ListOrders", "customer", "acc-a", &lo.base);
    b = svc_out_reply_bytes(ot_out, &len);
    list = tp__order__order_list__unpack(NULL, len, b);
    CHECK(list && list->n_orders == 0);
    if (list)
        tp__order__order_list__free_unpacked(list, NULL);
    svc_tc_decide(ot, "ListOrders", "customer", "", &lo.base);
    REFUSED("forbidden", "");
}
