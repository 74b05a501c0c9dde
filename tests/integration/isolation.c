/* isolation.c: account B sees none of account A's orders or cases. B's lists are empty;
 * A's order, its documents and its identification case answer B "not_found" exactly
 * like an order that does not exist (same code, field and message), so ids cannot be
 * probed; a customer cannot list cases at all. A, asking the same, gets answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow.h"

static Tp__Reply *s_get(th_t *th, const char *svc, const th_actor_t *as, const char *cmd,
                        const char *order_id, const char *kind)
{
    if (kind) {
        Tp__Order__GetDocument q = TP__ORDER__GET_DOCUMENT__INIT;
        q.order_id = (char *) order_id;
        q.kind = (char *) kind;
        return th_call_as(th, svc, as, NULL, cmd, &q.base, FL_CALL_MS);
    }
    /* GetOrder and GetCase have the same field 1 */
    Tp__Order__GetOrder q = TP__ORDER__GET_ORDER__INIT;
    q.order_id = (char *) order_id;
    return th_call_as(th, svc, as, NULL, cmd, &q.base, FL_CALL_MS);
}

/* B asking for A's order gets exactly what B gets for a missing one; A gets an answer. */
static void s_same_as_missing(th_t *th, const char *svc, const char *cmd, const char *kind,
                              const fl_customer_t *a, const fl_customer_t *b, const char *order_id,
                              const char *missing)
{
    Tp__Reply *theirs = s_get(th, svc, &b->as, cmd, order_id, kind);
    Tp__Reply *none = s_get(th, svc, &b->as, cmd, missing, kind);
    Tp__Reply *own = s_get(th, svc, &a->as, cmd, order_id, kind);
    bool same = th_refused(theirs, "not_found", "orderId") && theirs->n_errors == 1 &&
                th_refused(none, "not_found", "orderId") && none->n_errors == 1 &&
                strcmp(theirs->errors[0]->message, none->errors[0]->message) == 0 &&
                theirs->body.len == 0;
    if (!same) {
        fprintf(stderr, "%s%s%s: another's order is told apart from a missing one\n", cmd,
                kind ? " " : "", kind ? kind : "");
        th_reply_log("another's", theirs);
        th_reply_log("missing", none);
    }
    TH_CHECK(same);
    if (!(own && own->ok))
        th_reply_log("own", own);
    TH_CHECK(own && own->ok && own->body.len > 0);
    th_reply_free(&theirs);
    th_reply_free(&none);
    th_reply_free(&own);
}

static size_t s_count_orders(th_t *th, const th_actor_t *as, bool archived)
{
    Tp__Order__ListOrders q = TP__ORDER__LIST_ORDERS__INIT;
    q.archived = archived;
    Tp__Reply *r = th_call_as(th, "order", as, NULL, "order.ListOrders", &q.base, FL_CALL_MS);
    Tp__Order__OrderList *l =
        r && r->ok ? tp__order__order_list__unpack(NULL, r->body.len, r->body.data) : NULL;
    size_t n = l ? l->n_orders : (size_t) -1;
    if (l)
        tp__order__order_list__free_unpacked(l, NULL);
    th_reply_free(&r);
    return n;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    th_t *th = th_new("isolation");
    fl_configure(th, -1);
    fl_customer_t a, b;
    fl_order_t o;
    fl_order_init(&o, "signature-card", NULL, "postident");
    char order_id[64] = "", number[32] = "";
    bool ready = th_start_services(th, 15000) && fl_signup(th, "alice.a@example.org", &a) &&
                 fl_signup(th, "bob.b@example.org", &b) &&
                 fl_place(th, &a, NULL, &o, order_id, sizeof order_id) &&
                 fl_wait_postident(th, order_id, number, sizeof number, 10000);
    TH_CHECK(ready);
    if (!ready) {
        th_destroy(&th);
        return 1;
    }
    /* an id of the same shape that no order has */
    char missing[64];
    snprintf(missing, sizeof missing, "%.*s999999", (int) strlen(order_id) - 6, order_id);
    uint64_t heads[3] = {th_head(th, "account"), th_head(th, "order"),
                         th_head(th, "identification")};

    /* orders */
    TH_CHECK(s_count_orders(th, &a.as, false) == 1);
    TH_CHECK(s_count_orders(th, &b.as, false) == 0);
    TH_CHECK(s_count_orders(th, &b.as, true) == 0);
    s_same_as_missing(th, "order", "order.GetOrder", NULL, &a, &b, order_id, missing);
    s_same_as_missing(th, "order", "order.GetDocument", "application", &a, &b, order_id, missing);
    s_same_as_missing(th, "order", "order.GetDocument", "checklist", &a, &b, order_id, missing);
    s_same_as_missing(th, "order", "order.GetDocument", "coupon", &a, &b, order_id, missing);
    /* neither as an officer (of no shop) nor without an account */
    Tp__Reply *r = s_get(th, "order", &b.officer, "order.GetOrder", order_id, NULL);
    TH_CHECK(th_refused(r, "not_found", "orderId"));
    th_reply_free(&r);
    r = s_get(th, "order", &fl_anonymous, "order.GetOrder", order_id, NULL);
    TH_CHECK(r && !r->ok && r->body.len == 0);
    th_reply_free(&r);
    r = s_get(th, "order", &b.as, "order.FindOrder", order_id, NULL);
    TH_CHECK(th_refused(r, "forbidden", ""));
    th_reply_free(&r);

    /* cases */
    s_same_as_missing(th, "identification", "identification.GetCase", NULL, &a, &b, order_id,
                      missing);
    r = s_get(th, "identification", &b.officer, "identification.GetCase", order_id, NULL);
    TH_CHECK(th_refused(r, "not_found", "orderId"));
    th_reply_free(&r);
    const th_actor_t *nobodies[] = {&b.as, &a.as, &b.officer, &fl_anonymous};
    for (size_t i = 0; i < sizeof nobodies / sizeof nobodies[0]; i++) {
        Tp__Identification__ListCases lc = TP__IDENTIFICATION__LIST_CASES__INIT;
        r = th_call_as(th, "identification", nobodies[i], NULL, "identification.ListCases",
                       &lc.base, FL_CALL_MS);
        /* a visitor is asked to log in; an account that is nobody's officer is refused */
        const char *code = nobodies[i] == &fl_anonymous ? "unauthenticated" : "forbidden";
        TH_CHECK(th_refused(r, code, "") && r->body.len == 0);
        th_reply_free(&r);
    }
    /* the operator sees it: the case is there */
    Tp__Identification__ListCases lc = TP__IDENTIFICATION__LIST_CASES__INIT;
    r = th_call_as(th, "identification", &fl_operator, NULL, "identification.ListCases", &lc.base,
                   FL_CALL_MS);
    Tp__Identification__CaseList *l =
        r && r->ok ? tp__identification__case_list__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(l && l->n_cases == 1 && strcmp(l->cases[0]->order_id, order_id) == 0);
    if (l)
        tp__identification__case_list__free_unpacked(l, NULL);
    th_reply_free(&r);

    /* B cannot act on A's order either */
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = order_id;
    r = th_call_as(th, "order", &b.as, NULL, "order.RecordApplicationReceived", &ar.base,
                   FL_CALL_MS);
    TH_CHECK(th_refused(r, "forbidden", ""));
    th_reply_free(&r);
    TH_CHECK(th_head(th, "account") == heads[0] && th_head(th, "order") == heads[1] &&
             th_head(th, "identification") == heads[2]);

    th_destroy(&th);
    fprintf(stderr, "isolation: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("isolation: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
