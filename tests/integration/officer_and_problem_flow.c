/* officer_and_problem_flow.c: OfficerIdent in a shop and a data problem, with the real
 * daemons. An operator appoints account O officer of the demo shop; customer C orders a
 * signature card with OfficerIdent there; O sees C's case among the shop's open cases
 * and records the identification, nobody else may; then the data check finds a problem
 * (Wartend, reason shown), the signed application arrives but the order waits until the
 * problem is resolved, and only then is it released for production. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow.h"

static Tp__Reply *s_call(th_t *th, const char *svc, const th_actor_t *as, const char *cmd,
                         const ProtobufCMessage *body)
{
    return th_call_as(th, svc, as, NULL, cmd, body, FL_CALL_MS);
}

/* ListCases as @p as for @p shop; the cases (caller frees) or NULL when refused. */
static Tp__Identification__CaseList *s_list(th_t *th, const th_actor_t *as, const char *shop,
                                            Tp__Reply **reply_p)
{
    Tp__Identification__ListCases q = TP__IDENTIFICATION__LIST_CASES__INIT;
    q.shop_id = (char *) (shop ? shop : "");
    Tp__Reply *r = s_call(th, "identification", as, "identification.ListCases", &q.base);
    Tp__Identification__CaseList *l =
        r && r->ok ? tp__identification__case_list__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (reply_p)
        *reply_p = r;
    else
        th_reply_free(&r);
    return l;
}

static const Tp__Identification__Case *s_find(const Tp__Identification__CaseList *l,
                                              const char *order_id)
{
    for (size_t i = 0; l && i < l->n_cases; i++)
        if (strcmp(l->cases[i]->order_id, order_id) == 0)
            return l->cases[i];
    return NULL;
}

/* Waits until @p as lists the case of @p order_id (or, with NULL, may list at all). */
static bool s_wait_listed(th_t *th, const th_actor_t *as, const char *order_id)
{
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        Tp__Identification__CaseList *l = s_list(th, as, FL_DEMO_SHOP, NULL);
        bool ok = l && (!order_id || s_find(l, order_id));
        if (l)
            tp__identification__case_list__free_unpacked(l, NULL);
        if (ok)
            return true;
        zclock_sleep(100);
    }
    return false;
}

static Tp__Reply *s_record(th_t *th, const th_actor_t *as, const char *order_id)
{
    Tp__Identification__RecordResult rr = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    rr.order_id = (char *) order_id;
    rr.succeeded = true;
    rr.evidence_ref = "Personalausweis L01X00T47 vorgelegt";
    return s_call(th, "identification", as, "identification.RecordResult", &rr.base);
}

static void s_officer_part(th_t *th, fl_customer_t *o, fl_customer_t *c, fl_customer_t *n,
                           const char *order_id)
{
    /* O lists the shop's open cases and finds C's */
    TH_CHECK(s_wait_listed(th, &o->officer, order_id));
    Tp__Identification__CaseList *l = s_list(th, &o->officer, FL_DEMO_SHOP, NULL);
    const Tp__Identification__Case *k = s_find(l, order_id);
    TH_CHECK(k && strcmp(k->status, "open") == 0 && strcmp(k->method, "officerident") == 0);
    TH_CHECK(k && strcmp(k->account_id, c->account_id) == 0);
    TH_CHECK(k && strcmp(k->shop_id, FL_DEMO_SHOP) == 0);
    TH_CHECK(k && strcmp(k->applicant_name, "Erika Mustermann") == 0);
    if (l)
        tp__identification__case_list__free_unpacked(l, NULL);
    l = s_list(th, &o->officer, NULL, NULL); /* all of O's shops */
    TH_CHECK(s_find(l, order_id));
    if (l)
        tp__identification__case_list__free_unpacked(l, NULL);

    /* anybody else is refused, and writes nothing */
    uint64_t head = th_head(th, "identification");
    Tp__Reply *r = NULL;
    l = s_list(th, &n->officer, FL_DEMO_SHOP, &r);
    TH_CHECK(!l && th_refused(r, "forbidden", "shopId"));
    th_reply_free(&r);
    l = s_list(th, &n->officer, NULL, &r);
    TH_CHECK(!l && th_refused(r, "forbidden", ""));
    th_reply_free(&r);
    l = s_list(th, &c->as, FL_DEMO_SHOP, &r);
    TH_CHECK(!l && th_refused(r, "forbidden", ""));
    th_reply_free(&r);
    const th_actor_t *others[] = {&n->officer, &n->as, &c->as, &c->officer, &fl_operator};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        r = s_record(th, others[i], order_id);
        if (!th_refused(r, "forbidden", ""))
            th_reply_log(others[i]->role, r);
        TH_CHECK(th_refused(r, "forbidden", ""));
        th_reply_free(&r);
    }
    /* a production line's key has no right here at all: its connection is refused, no
     * answer comes (the same for an ident feed's key recording a result) */
    r = s_record(th, &fl_producer, order_id);
    TH_CHECK(r == NULL);
    th_reply_free(&r);
    r = s_record(th, &fl_ident, order_id);
    TH_CHECK(th_refused(r, "forbidden", ""));
    th_reply_free(&r);
    Tp__Identification__GetCase gc = TP__IDENTIFICATION__GET_CASE__INIT;
    gc.order_id = (char *) order_id;
    r = s_call(th, "identification", &n->officer, "identification.GetCase", &gc.base);
    TH_CHECK(th_refused(r, "not_found", "orderId"));
    th_reply_free(&r);
    TH_CHECK(th_head(th, "identification") == head);

    /* O records the identification */
    r = s_record(th, &o->officer, order_id);
    Tp__Identification__Case *cs =
        r && r->ok ? tp__identification__case__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (!cs)
        th_reply_log("RecordResult by the officer", r);
    TH_CHECK(cs && strcmp(cs->status, "identified") == 0);
    TH_CHECK(cs && strcmp(cs->identified_by, o->account_id) == 0);
    TH_CHECK(cs && strcmp(cs->recorded_by_role, "officer") == 0);
    TH_CHECK(cs && strcmp(cs->recorded_by_account, o->account_id) == 0);
    TH_CHECK(r && r->last_seq == head + 1);
    if (cs)
        tp__identification__case__free_unpacked(cs, NULL);
    th_reply_free(&r);
    r = s_record(th, &o->officer, order_id); /* a second result for the closed case */
    TH_CHECK(th_refused(r, "conflict", "orderId"));
    th_reply_free(&r);
    /* the case is no longer open: gone from O's list; the customer sees it identified */
    l = s_list(th, &o->officer, FL_DEMO_SHOP, NULL);
    TH_CHECK(l && !s_find(l, order_id));
    if (l)
        tp__identification__case_list__free_unpacked(l, NULL);
    r = s_call(th, "identification", &c->as, "identification.GetCase", &gc.base);
    cs = r && r->ok ? tp__identification__case__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(cs && strcmp(cs->status, "identified") == 0 && cs->recorded_by_account[0] == 0);
    if (cs)
        tp__identification__case__free_unpacked(cs, NULL);
    th_reply_free(&r);
}

/* An operator command on the order; the view it answers (caller frees) or NULL. */
static Tp__Order__OrderView *s_back_office(th_t *th, const char *cmd, const char *order_id,
                                           const char *text)
{
    /* the three commands have the same shape: order_id = 1, a text = 2 */
    Tp__Order__RecordDataProblem m = TP__ORDER__RECORD_DATA_PROBLEM__INIT;
    m.order_id = (char *) order_id;
    m.reason = (char *) text;
    uint8_t buf[1024];
    size_t len = tp__order__record_data_problem__pack(&m, buf);
    Tp__Reply *r = th_call_raw_as(th, "order", &fl_operator, NULL, cmd, buf, len, FL_CALL_MS);
    Tp__Order__OrderView *v = fl_view(r);
    if (!v)
        th_reply_log(cmd, r);
    th_reply_free(&r);
    return v;
}

static void s_problem_part(th_t *th, fl_customer_t *c, const char *order_id)
{
    const char *reason = "Registernummer fehlt im Antrag";
    Tp__Order__OrderView *v = s_back_office(th, "order.RecordDataProblem", order_id, reason);
    TH_CHECK(v && strcmp(v->status, "wartend") == 0 && strcmp(v->problem, reason) == 0);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    v = fl_get_order(th, &c->as, order_id);
    TH_CHECK(v && strcmp(v->status, "wartend") == 0 && strcmp(v->problem, reason) == 0);
    const Tp__Order__Step *s = fl_step(v, "datacheck");
    TH_CHECK(s && s->failed && !s->done && strcmp(s->detail, reason) == 0 && s->failed_at_us);
    s = fl_step(v, "identification");
    TH_CHECK(s && s->done);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    /* a second problem while one is open is refused */
    v = s_back_office(th, "order.RecordDataProblem", order_id, "noch einer");
    TH_CHECK(!v);

    /* the signed application arrives, yet the order waits for the problem */
    v = s_back_office(th, "order.RecordApplicationReceived", order_id, "per Post");
    TH_CHECK(v && strcmp(v->status, "wartend") == 0);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    zclock_sleep(300);
    v = fl_get_order(th, &c->as, order_id);
    TH_CHECK(v && strcmp(v->status, "wartend") == 0 && fl_step(v, "application")->done);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    TH_CHECK(fl_count_events(th, "order", "OrderReleasedForProduction", order_id) == 0);

    /* resolved: released in the same command */
    v = s_back_office(th, "order.ResolveDataProblem", order_id, "Kunde hat HRB 12345 genannt");
    TH_CHECK(v && strcmp(v->status, "in_produktion") == 0 && v->problem[0] == '\0');
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    v = fl_get_order(th, &c->as, order_id);
    TH_CHECK(v && strcmp(v->status, "in_produktion") == 0);
    s = fl_step(v, "datacheck");
    TH_CHECK(s && s->done && !s->failed);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    TH_CHECK(fl_count_events(th, "order", "OrderReleasedForProduction", order_id) == 1);
    TH_CHECK(fl_count_events(th, "order", "DataProblemRecorded", order_id) == 1);
    /* in production: no new problem */
    v = s_back_office(th, "order.RecordDataProblem", order_id, "zu spät");
    TH_CHECK(!v);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    th_t *th = th_new("officer");
    int port = th_smtp_start(th);
    TH_CHECK(port > 0);
    fl_configure(th, port);
    fl_customer_t o, c, n;
    bool up = port > 0 && th_start_services(th, 15000);
    bool ready = up && fl_signup(th, "olga.officer@example.org", &o) &&
                 fl_signup(th, "carl.kunde@example.org", &c) &&
                 fl_signup(th, "nina.niemand@example.org", &n) && fl_redeem(th, &c, FL_DEMO_CODE) &&
                 fl_redeem(th, &n, FL_DEMO_CODE);
    TH_CHECK(ready);
    if (!ready) {
        th_destroy(&th);
        return 1;
    }

    /* the operator appoints O; the account service answers the view as it now is */
    Tp__Account__AppointOfficer ap = TP__ACCOUNT__APPOINT_OFFICER__INIT;
    ap.account_id = o.account_id;
    ap.shop_id = FL_DEMO_SHOP;
    Tp__Reply *r = s_call(th, "account", &c.as, "account.AppointOfficer", &ap.base);
    TH_CHECK(th_refused(r, "forbidden", "")); /* a customer cannot */
    th_reply_free(&r);
    r = s_call(th, "account", &fl_operator, "account.AppointOfficer", &ap.base);
    Tp__Account__AccountView *av =
        r && r->ok ? tp__account__account_view__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(av && av->n_officer_shop_ids == 1 &&
             strcmp(av->officer_shop_ids[0], FL_DEMO_SHOP) == 0);
    if (av)
        tp__account__account_view__free_unpacked(av, NULL);
    th_reply_free(&r);
    Tp__Account__ResolveSession rs = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    rs.session_token = o.session;
    r = s_call(th, "account", &fl_anonymous, "account.ResolveSession", &rs.base);
    Tp__Account__SessionInfo *si =
        r && r->ok ? tp__account__session_info__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(si && si->n_roles == 2 && strcmp(si->roles[1], "officer") == 0);
    TH_CHECK(si && si->n_officer_shop_ids == 1);
    if (si)
        tp__account__session_info__free_unpacked(si, NULL);
    th_reply_free(&r);
    /* the identification service learns it from the account service's events */
    TH_CHECK(s_wait_listed(th, &o.officer, NULL));

    /* C orders a signature card with OfficerIdent in the demo shop */
    fl_order_t ord;
    fl_order_init(&ord, "signature-card", FL_DEMO_SHOP, "officerident");
    char order_id[64] = "";
    TH_CHECK(fl_place(th, &c, NULL, &ord, order_id, sizeof order_id));
    /* OfficerIdent without the shop is not offered */
    fl_order_t bare;
    fl_order_init(&bare, "signature-card", NULL, "officerident");
    r = s_call(th, "order", &c.as, "order.PlaceOrder", &bare.cmd.base);
    TH_CHECK(th_refused(r, "invalid", "identMethod"));
    th_reply_free(&r);
    if (order_id[0]) {
        s_officer_part(th, &o, &c, &n, order_id);
        TH_CHECK(fl_wait_step(th, order_id, "identification", 10000));
        s_problem_part(th, &c, order_id);
    }

    /* revoked, O no longer sees the shop's cases */
    r = s_call(th, "account", &fl_operator, "account.RevokeOfficer", &ap.base);
    TH_CHECK(r && r->ok && r->last_seq > 0);
    th_reply_free(&r);
    int64_t deadline = zclock_mono() + 10000;
    bool gone = false;
    while (!gone && zclock_mono() < deadline) {
        Tp__Identification__CaseList *l = s_list(th, &o.officer, FL_DEMO_SHOP, &r);
        gone = !l && th_refused(r, "forbidden", "shopId");
        if (l)
            tp__identification__case_list__free_unpacked(l, NULL);
        th_reply_free(&r);
        if (!gone)
            zclock_sleep(100);
    }
    TH_CHECK(gone);

    th_check_replay(th, "account");
    th_check_replay(th, "order");
    th_check_replay(th, "identification");
    th_destroy(&th);
    fprintf(stderr, "officer_and_problem_flow: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("officer_and_problem_flow: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
