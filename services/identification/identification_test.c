/* identification_test.c: unit tests of the identification core, event by event. */
#include "identification_test.h"

/* ---------------------------------------------------------------- tests */

static void s_test_react(void)
{
    svc_tc_t *w = itest_new();
    char nums[2][16];
    itest_seed(w, nums);

    /* PostIdent numbers: 12 digits with a valid check digit, unique */
    CHECK(itest_luhn_ok(nums[0]) && itest_luhn_ok(nums[1]) && !streq(nums[0], nums[1]));

    /* the CaseOpened of an OfficerIdent order carries what the officer needs */
    CHECK(itest_order(w, "TP-9", "acc-c5", "shop-a", "officerident") == 1);
    const char *stream;
    svc_out_event_at(svc_tc_out(w), 0, NULL, &stream, NULL, NULL);
    CHECK(streq(stream, "case-TP-9") && streq(svc_tc_type(svc_tc_out(w), 0), "CaseOpened"));
    Tp__Identification__CaseOpened *co =
        svc_tc_event(svc_tc_out(w), 0, &tp__identification__case_opened__descriptor);
    CHECK(co && streq(co->order_id, "TP-9") && streq(co->account_id, "acc-c5") &&
          streq(co->shop_id, "shop-a") && streq(co->method, "officerident") &&
          streq(co->postident_number, "") && streq(co->applicant_name, "Erika Mustermann") &&
          streq(co->applicant_birth_date, "1964-08-12"));
    svc_tc_free(co);

    /* a second OrderPlaced for the same order opens nothing and is no error */
    CHECK(itest_order(w, "TP-1", "acc-c1", "", "postident") == 0 && !svc_out_failed(svc_tc_out(w)));
    CHECK(itest_order(w, "TP-9", "acc-c5", "shop-a", "notarident") == 0);

    /* bad upstream events are refused (the runtime logs and skips them) */
    CHECK(itest_order(w, "TP-10", "acc-c1", "", "videoident") == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "identMethod"));
    CHECK(itest_order(w, "", "acc-c1", "", "postident") == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "orderId"));
    CHECK(itest_order(w, "TP 11", "acc-c1", "", "notarident") == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "orderId"));
    char longid[ITEST_ID_MAX];
    itest_filled(longid, sizeof longid - 1);
    CHECK(itest_order(w, longid, "acc-c1", "", "notarident") == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "orderId"));
    CHECK(itest_order(w, "TP-12", "acc\nx", "shop\x01", "notarident") == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "accountId") &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "shopId"));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    const char *types[] = {"OrderPlaced", "OfficerAppointed", "OfficerRevoked", "AccountDeleted"};
    for (size_t i = 0; i < 4; i++) {
        svc_tc_react_raw(w, "order", types[i], junk, sizeof junk);
        CHECK(svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 0);
    }
    /* an order without applicant still opens a case; other event types are ignored */
    Tp__Order__OrderPlaced bare = TP__ORDER__ORDER_PLACED__INIT;
    bare.order_id = "TP-13";
    bare.ident_method = "notarident";
    CHECK(svc_tc_react(w, "order", NULL, &bare.base) == 1);
    Tp__Order__ApplicationReceived other = TP__ORDER__APPLICATION_RECEIVED__INIT;
    other.order_id = "TP-1";
    CHECK(svc_tc_react(w, "order", NULL, &other.base) == 0 && !svc_out_failed(svc_tc_out(w)));

    /* officers: only changes are recorded */
    CHECK(svc_tc_officer(w, "acc-oa", "shop-a", true) == 0);  /* already */
    CHECK(svc_tc_officer(w, "acc-c1", "shop-a", false) == 0); /* never was */
    CHECK(svc_tc_officer(w, "acc-oa", "shop-c", true) == 1);
    Tp__Identification__OfficerKnown *ok =
        svc_tc_event(svc_tc_out(w), 0, &tp__identification__officer_known__descriptor);
    CHECK(ok && streq(ok->account_id, "acc-oa") && streq(ok->shop_id, "shop-c") && ok->active);
    svc_tc_free(ok);
    CHECK(svc_tc_officer(w, "acc-oa", "shop-c", false) == 1);
    ok = svc_tc_event(svc_tc_out(w), 0, &tp__identification__officer_known__descriptor);
    CHECK(ok && !ok->active);
    svc_tc_free(ok);
    CHECK(svc_tc_officer(w, "", "shop-c", true) == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "accountId"));
    CHECK(svc_tc_officer(w, "acc-oa", "", true) == 0 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "shopId"));

    /* a deleted account is an officer nowhere */
    CHECK(svc_tc_officer(w, "acc-ob", "shop-a", true) == 1);
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-ob";
    CHECK(svc_tc_react(w, "account", NULL, &del.base) == 2);
    del.account_id = "acc-nobody";
    CHECK(svc_tc_react(w, "account", NULL, &del.base) == 0);
    Tp__Identification__ListCases lc = TP__IDENTIFICATION__LIST_CASES__INIT;
    CHECK(svc_tc_refused(svc_tc_decide(w, "ListCases", "officer", "acc-ob", &lc.base), "forbidden",
                         NULL));
    svc_tc_destroy(&w);
}

/* PostIdent numbers are stable: the same upstream history gives the same numbers, and
 * a state rebuilt from the log equals the state that wrote it. */
static void s_test_replay(void)
{
    svc_tc_t *a = itest_new(), *b = itest_new();
    char na[2][16], nb[2][16];
    itest_seed(a, na);
    itest_seed(b, nb);
    CHECK(streq(na[0], nb[0]) && streq(na[1], nb[1]));
    CHECK(svc_tc_log_size(a) == svc_tc_log_size(b));
    for (size_t i = 0; i < svc_tc_log_size(a) && i < svc_tc_log_size(b); i++) {
        const uint8_t *pa, *pb;
        size_t la, lb;
        svc_tc_log_at(a, i, NULL, NULL, &pa, &la);
        svc_tc_log_at(b, i, NULL, NULL, &pb, &lb);
        CHECK(la == lb && memcmp(pa, pb, la) == 0);
    }

    void *rebuilt = svc_tc_rebuild(a);
    char *s1 = identification_def.summary(svc_tc_state(a));
    char *s2 = identification_def.summary(rebuilt);
    CHECK(s1 && s2 && streq(s1, s2));
    CHECK(s1 && strstr(s1, "\"cases\":8,\"open\":8,") && strstr(s1, "\"postidentIssued\":2,") &&
          strstr(s1, "\"officers\":2,"));

    /* after a rebuild the next number follows on, never reusing one */
    svc_out_t *out = svc_out_new();
    Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
    e.order_id = "TP-20";
    e.ident_method = "postident";
    uint8_t buf[256];
    size_t len = tp__order__order_placed__pack(&e, buf);
    svc_event_t ev = {50, "order-TP-20", 1, "OrderPlaced", T0, buf, len};
    identification_def.react(rebuilt, "order", &ev, out);
    CHECK(itest_order(a, "TP-20", "", "", "postident") == 1);
    char *n1 = itest_opened_number(a);
    Tp__Identification__CaseOpened *co =
        svc_tc_event(out, 0, &tp__identification__case_opened__descriptor);
    CHECK(co && itest_luhn_ok(n1) && streq(co->postident_number, n1) && !streq(n1, na[0]) &&
          !streq(n1, na[1]));
    svc_tc_free(co);
    free(n1);

    /* apply takes every event without crashing, junk included */
    uint8_t junk[] = {0xff, 0xff};
    const char *types[] = {"CaseOpened", "IdentificationSucceeded", "IdentificationFailed",
                           "OfficerKnown", "SomethingNew"};
    for (size_t i = 0; i < 5; i++) {
        svc_event_t bad = {60 + i, "x", 1, types[i], T0, junk, sizeof junk};
        identification_def.apply(rebuilt, &bad);
    }
    char *s3 = identification_def.summary(rebuilt);
    CHECK(s3 && strstr(s3, "\"cases\":8,"));
    free(s1);
    free(s2);
    free(s3);
    svc_out_destroy(&out);
    identification_def.state_destroy(&rebuilt);
    svc_tc_destroy(&a);
    svc_tc_destroy(&b);
}

static void s_test_record_result(void)
{
    svc_tc_t *w = itest_new();
    char nums[2][16];
    itest_seed(w, nums);
    Tp__Identification__RecordResult r = TP__IDENTIFICATION__RECORD_RESULT__INIT;

    /* who may record at all */
    r.order_id = "TP-2";
    r.succeeded = true;
    r.evidence_ref = "UR 123/2026";
    r.identified_by = "Notarin Dr. A. Schmidt, Berlin";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "customer", "acc-c1", &r.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "", "", &r.base), "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "producer", "", &r.base), "forbidden",
                         NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base),
                         "forbidden", NULL));

    /* field checks, each naming its field */
    r.order_id = "";
    r.evidence_ref = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "orderId"));
    CHECK(svc_tc_has_error(svc_tc_out(w), "invalid", "evidenceRef"));
    r.order_id = "TP-2";
    r.evidence_ref = "   ";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "evidenceRef"));
    char big[600];
    r.evidence_ref = itest_filled(big, IDENT_EVIDENCE_MAX + 1);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "evidenceRef"));
    r.evidence_ref = "UR\t123";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "evidenceRef"));
    r.evidence_ref = "UR \xc3\x28"; /* not UTF-8 */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "evidenceRef"));
    r.evidence_ref = "UR 123/2026";
    r.reason = "but also this";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "reason"));
    r.reason = "";
    r.identified_by = itest_filled(big, IDENT_WHO_MAX + 1);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "identifiedBy"));
    r.identified_by = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "identifiedBy"));
    r.identified_by = "Notarin Dr. A. Schmidt, Berlin";
    r.order_id = "TP-404";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base),
                         "not_found", "orderId"));
    r.order_id = "TP-1"; /* PostIdent takes its result by number */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "orderId"));

    /* NotarIdent by an operator: the evidence at its maximum length is kept */
    r.order_id = "TP-2";
    r.evidence_ref = itest_filled(big, IDENT_EVIDENCE_MAX);
    int64_t at = svc_tc_now(w);
    svc_out_t *out = svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    CHECK(streq(svc_tc_type(out, 0), "IdentificationSucceeded"));
    Tp__Identification__IdentificationSucceeded *ok =
        svc_tc_event(out, 0, &tp__identification__identification_succeeded__descriptor);
    CHECK(ok && streq(ok->order_id, "TP-2") && streq(ok->method, "notarident") &&
          streq(ok->evidence_ref, big) && streq(ok->identified_by, r.identified_by) &&
          streq(ok->recorded_by_account, "acc-op") && streq(ok->recorded_by_role, "operator") &&
          ok->identified_at_us == at);
    svc_tc_free(ok);
    Tp__Identification__Case *c = svc_tc_reply(out, &tp__identification__case__descriptor);
    CHECK(c && streq(c->status, "identified") && streq(c->case_id, "case-TP-2") &&
          c->closed_at_us == at && streq(c->recorded_by_account, "acc-op"));
    svc_tc_free(c);
    /* a second result for a closed case is refused, whatever it says */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base),
                         "conflict", "orderId"));
    r.succeeded = false;
    r.reason = "changed my mind";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base),
                         "conflict", "orderId"));

    /* BotschaftsIdent failed: the reason is required and kept; the case is closed */
    r.order_id = "TP-3";
    r.reason = "";
    r.evidence_ref = "";
    r.identified_by = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "reason"));
    char big2[600];
    r.reason = itest_filled(big2, IDENT_REASON_MAX + 1);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base), "invalid",
                         "reason"));
    r.reason = "passport expired";
    out = svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base);
    CHECK(!svc_out_failed(out) && streq(svc_tc_type(out, 0), "IdentificationFailed"));
    Tp__Identification__IdentificationFailed *ko =
        svc_tc_event(out, 0, &tp__identification__identification_failed__descriptor);
    CHECK(ko && streq(ko->order_id, "TP-3") && streq(ko->method, "botschaftsident") &&
          streq(ko->reason, "passport expired") && streq(ko->recorded_by_role, "operator") &&
          ko->failed_at_us > 0);
    svc_tc_free(ko);
    r.succeeded = true;
    r.reason = "";
    r.evidence_ref = "RK-77";
    r.identified_by = "Botschaft Canberra";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base),
                         "conflict", "orderId"));

    /* D-Trust Ident: an operator, not an officer of the shop */
    r.order_id = "TP-5";
    r.identified_by = "D-Trust Berlin, Schalter 2";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base),
                         "forbidden", NULL));
    out = svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);

    /* OfficerIdent: only an active officer of the order's shop */
    r.order_id = "TP-4"; /* shop-a */
    r.identified_by = "";
    r.evidence_ref = "Akte 4711";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "acc-op", &r.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-ob", &r.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-rev", &r.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-c2", &r.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "", &r.base), "forbidden",
                         NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "customer", "acc-oa", &r.base),
                         "forbidden", NULL));
    out = svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    ok = svc_tc_event(out, 0, &tp__identification__identification_succeeded__descriptor);
    CHECK(ok && streq(ok->method, "officerident") && streq(ok->identified_by, "acc-oa") &&
          streq(ok->recorded_by_account, "acc-oa") && streq(ok->recorded_by_role, "officer") &&
          streq(ok->evidence_ref, "Akte 4711"));
    svc_tc_free(ok);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base), "conflict",
                         "orderId"));
    /* the officer of shop-b for shop-b's case; a failure without evidence is fine */
    r.order_id = "TP-7";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base),
                         "forbidden", NULL));
    r.succeeded = false;
    r.evidence_ref = "";
    r.reason = "applicant did not appear";
    out = svc_tc_decide(w, "RecordResult", "officer", "acc-ob", &r.base);
    CHECK(!svc_out_failed(out) && streq(svc_tc_type(out, 0), "IdentificationFailed"));

    /* an appointment revoked later takes the right away */
    CHECK(svc_tc_officer(w, "acc-oa", "shop-a", false) == 1);
    r.order_id = "TP-8";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base),
                         "forbidden", NULL));
    svc_tc_destroy(&w);
}

static void s_test_postident(void)
{
    svc_tc_t *w = itest_new();
    char nums[2][16];
    itest_seed(w, nums);
    Tp__Identification__RecordPostIdentResult p =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    p.postident_number = nums[0];
    p.succeeded = true;
    p.evidence_ref = "PI-TX-0001";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "customer", "acc-c1", &p.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "officer", "acc-oa", &p.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "", "", &p.base), "forbidden",
                         NULL));
    /* a production line is not the ident provider */
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "producer", "", &p.base),
                         "forbidden", NULL));

    p.postident_number = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "postidentNumber"));
    p.postident_number = "0000000000\x01";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "postidentNumber"));
    p.postident_number = "000000009999";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base),
                         "not_found", "postidentNumber"));
    p.postident_number = "12345";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base),
                         "not_found", "postidentNumber"));
    p.postident_number = nums[0];
    p.evidence_ref = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "evidenceRef"));
    p.evidence_ref = "PI-TX-0001";
    p.identified_at_us = -5;
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "identifiedAtUs"));
    p.identified_at_us = svc_tc_now(w) + IDENT_CLOCK_SKEW_US + 5000000;
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "identifiedAtUs"));
    p.succeeded = false;
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "reason"));

    /* the provider's result with its own time; the provider is who identified */
    p.succeeded = true;
    p.identified_at_us = T0 - 3600000000LL;
    svc_out_t *out = svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1);
    Tp__Identification__IdentificationSucceeded *ok =
        svc_tc_event(out, 0, &tp__identification__identification_succeeded__descriptor);
    CHECK(ok && streq(ok->order_id, "TP-1") && streq(ok->method, "postident") &&
          streq(ok->evidence_ref, "PI-TX-0001") && streq(ok->recorded_by_role, "ident") &&
          ok->identified_at_us == T0 - 3600000000LL && *ok->identified_by);
    svc_tc_free(ok);
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base),
                         "conflict", "postidentNumber"));
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "operator", "acc-op", &p.base),
                         "conflict", "postidentNumber"));

    /* an operator types in a failure; the time is now */
    p.postident_number = nums[1];
    p.succeeded = false;
    p.evidence_ref = "";
    p.reason = "document not readable";
    p.identified_by = "Filiale 123, Berlin";
    p.identified_at_us = 0;
    int64_t at = svc_tc_now(w);
    out = svc_tc_decide(w, "RecordPostIdentResult", "operator", "acc-op", &p.base);
    CHECK(!svc_out_failed(out));
    Tp__Identification__IdentificationFailed *ko =
        svc_tc_event(out, 0, &tp__identification__identification_failed__descriptor);
    CHECK(ko && streq(ko->order_id, "TP-6") && streq(ko->reason, "document not readable") &&
          streq(ko->identified_by, "Filiale 123, Berlin") && ko->failed_at_us == at &&
          streq(ko->recorded_by_account, "acc-op"));
    svc_tc_free(ko);

    /* a number in the index that belongs to a case of another method is refused */
    Tp__Identification__CaseOpened odd = TP__IDENTIFICATION__CASE_OPENED__INIT;
    odd.order_id = "TP-odd";
    odd.method = "notarident";
    odd.postident_number = "999999999999";
    uint8_t buf[256];
    size_t len = tp__identification__case_opened__pack(&odd, buf);
    svc_event_t ev = {900, "case-TP-odd", 1, "CaseOpened", T0, buf, len};
    identification_def.apply(svc_tc_state(w), &ev);
    p.postident_number = "999999999999";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base), "invalid",
                         "postidentNumber"));

    char *sum = identification_def.summary(svc_tc_state(w));
    CHECK(sum && strstr(sum, "\"identified\":1,\"failed\":1,"));
    free(sum);
    svc_tc_destroy(&w);
}

static size_t s_list(svc_tc_t *w, const char *role, const char *account, const char *shop,
                     bool closed, const char **first)
{
    Tp__Identification__ListCases q = TP__IDENTIFICATION__LIST_CASES__INIT;
    q.shop_id = (char *) shop;
    q.include_closed = closed;
    svc_out_t *out = svc_tc_decide(w, "ListCases", role, account, &q.base);
    Tp__Identification__CaseList *l = svc_tc_reply(out, &tp__identification__case_list__descriptor);
    size_t n = l ? l->n_cases : (size_t) -1;
    static char first_id[64];
    snprintf(first_id, sizeof first_id, "%s", l && n ? l->cases[0]->order_id : "");
    if (first)
        *first = first_id;
    svc_tc_free(l);
    return n;
}

static void s_test_queries(void)
{
    svc_tc_t *w = itest_new();
    char nums[2][16];
    itest_seed(w, nums);
    Tp__Identification__RecordResult r = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    r.order_id = "TP-4";
    r.succeeded = true;
    r.evidence_ref = "Akte 1";
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base)));

    /* ListCases: operators see all open cases, oldest first, or all with closed */
    const char *first;
    CHECK(s_list(w, "operator", "acc-op", "", false, &first) == 7 && streq(first, "TP-1"));
    CHECK(s_list(w, "operator", "acc-op", "", true, NULL) == 8);
    CHECK(s_list(w, "operator", "acc-op", "shop-a", false, &first) == 2 && streq(first, "TP-5"));
    CHECK(s_list(w, "operator", "acc-op", "shop-a", true, NULL) == 3);
    CHECK(s_list(w, "operator", "acc-op", "shop-x", false, NULL) == 0);
    /* officers: only the open cases of their shops */
    CHECK(s_list(w, "officer", "acc-oa", "", false, &first) == 2 && streq(first, "TP-5"));
    CHECK(s_list(w, "officer", "acc-oa", "shop-a", false, NULL) == 2);
    CHECK(s_list(w, "officer", "acc-ob", "", false, NULL) == 2);
    CHECK(s_list(w, "officer", "acc-oa", "shop-b", false, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "forbidden", "shopId"));
    CHECK(s_list(w, "officer", "acc-oa", "", true, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "forbidden", "includeClosed"));
    CHECK(s_list(w, "officer", "acc-rev", "", false, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "forbidden", NULL));
    CHECK(s_list(w, "officer", "acc-c1", "", false, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "forbidden", NULL));
    CHECK(s_list(w, "officer", "", "", false, NULL) == (size_t) -1);
    CHECK(s_list(w, "customer", "acc-c1", "", false, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "forbidden", NULL));
    CHECK(s_list(w, "", "", "", false, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "forbidden", NULL));
    CHECK(s_list(w, "operator", "acc-op", "shop a", false, NULL) == (size_t) -1 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "shopId"));

    /* GetCase: operator any, officer their shop's (open or closed), owner their own */
    Tp__Identification__GetCase g = TP__IDENTIFICATION__GET_CASE__INIT;
    g.order_id = "TP-4";
    svc_out_t *out = svc_tc_decide(w, "GetCase", "operator", "acc-op", &g.base);
    Tp__Identification__Case *c = svc_tc_reply(out, &tp__identification__case__descriptor);
    CHECK(c && streq(c->status, "identified") && streq(c->method, "officerident") &&
          streq(c->shop_id, "shop-a") && streq(c->evidence_ref, "Akte 1") &&
          streq(c->identified_by, "acc-oa") && streq(c->recorded_by_account, "acc-oa") &&
          streq(c->recorded_by_role, "officer") && c->opened_at_us > 0 &&
          c->closed_at_us > c->opened_at_us);
    svc_tc_free(c);
    CHECK(!svc_out_failed(svc_tc_decide(w, "GetCase", "officer", "acc-oa", &g.base)));
    out = svc_tc_decide(w, "GetCase", "customer", "acc-c2", &g.base);
    c = svc_tc_reply(out, &tp__identification__case__descriptor);
    CHECK(c && streq(c->status, "identified") && streq(c->recorded_by_account, "") &&
          streq(c->evidence_ref, "Akte 1"));
    svc_tc_free(c);
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "officer", "acc-ob", &g.base), "not_found",
                         "orderId"));
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "officer", "acc-rev", &g.base), "not_found",
                         "orderId"));
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "customer", "acc-c1", &g.base), "not_found",
                         "orderId"));
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "customer", "", &g.base), "not_found",
                         "orderId"));
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "", "", &g.base), "not_found", "orderId"));
    g.order_id = "TP-1"; /* no shop: no officer sees it */
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "officer", "acc-oa", &g.base), "not_found",
                         "orderId"));
    out = svc_tc_decide(w, "GetCase", "customer", "acc-c1", &g.base);
    c = svc_tc_reply(out, &tp__identification__case__descriptor);
    CHECK(c && streq(c->postident_number, nums[0]) && streq(c->status, "open"));
    svc_tc_free(c);
    g.order_id = "TP-404";
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "operator", "acc-op", &g.base), "not_found",
                         "orderId"));
    g.order_id = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "GetCase", "operator", "acc-op", &g.base), "invalid",
                         "orderId"));
    svc_tc_destroy(&w);
}

/* A failed case is closed; an operator opens a new attempt (PostIdent: a new number). */
static void s_test_new_attempt(void)
{
    svc_tc_t *w = itest_new();
    char nums[2][16], big[600];
    itest_seed(w, nums);
    Tp__Identification__OpenNewAttempt na = TP__IDENTIFICATION__OPEN_NEW_ATTEMPT__INIT;
    na.order_id = "TP-6";
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base),
                         "conflict", "orderId")); /* still open */
    Tp__Identification__RecordPostIdentResult p =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    p.postident_number = nums[1];
    p.reason = "document not readable";
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base)));

    /* only an operator, only with good fields, only for a known case */
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "customer", "acc-c3", &na.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "officer", "acc-ob", &na.base),
                         "forbidden", NULL));
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "producer", "", &na.base), "forbidden",
                         NULL));
    na.order_id = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base),
                         "invalid", "orderId"));
    na.order_id = "TP-404";
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base),
                         "not_found", "orderId"));
    na.order_id = "TP-6";
    na.note = itest_filled(big, IDENT_REASON_MAX + 1);
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base),
                         "invalid", "note"));

    /* the new attempt: CaseOpened again, with the data as ordered and a new number */
    na.note = "new passport";
    svc_out_t *out = svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base);
    CHECK(!svc_out_failed(out) && svc_out_n_events(out) == 1 &&
          streq(svc_tc_type(out, 0), "CaseOpened"));
    Tp__Identification__CaseOpened *co =
        svc_tc_event(out, 0, &tp__identification__case_opened__descriptor);
    char number[16] = "";
    if (co)
        snprintf(number, sizeof number, "%s", co->postident_number);
    CHECK(co && co->attempt == 2 && streq(co->order_id, "TP-6") && streq(co->method, "postident") &&
          streq(co->shop_id, "shop-b") && streq(co->account_id, "acc-c3") &&
          streq(co->applicant_name, "Erika Mustermann") && streq(co->opened_by_account, "acc-op") &&
          streq(co->note, "new passport"));
    CHECK(itest_luhn_ok(number) && !streq(number, nums[0]) && !streq(number, nums[1]));
    svc_tc_free(co);
    Tp__Identification__Case *c = svc_tc_reply(out, &tp__identification__case__descriptor);
    CHECK(c && streq(c->status, "open") && c->attempt == 2 && streq(c->postident_number, number) &&
          streq(c->reason, ""));
    svc_tc_free(c);
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base),
                         "conflict", "orderId"));

    /* a late result for the old number cannot close the new attempt; the new one can */
    p.succeeded = true;
    p.reason = "";
    p.evidence_ref = "PI-TX-9";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base),
                         "conflict", "postidentNumber"));
    p.postident_number = number;
    out = svc_tc_decide(w, "RecordPostIdentResult", "ident", "", &p.base);
    CHECK(!svc_out_failed(out) && streq(svc_tc_type(out, 0), "IdentificationSucceeded"));
    /* an identified case is final */
    CHECK(svc_tc_refused(svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base),
                         "conflict", "orderId"));
    Tp__Identification__GetCase g = TP__IDENTIFICATION__GET_CASE__INIT;
    g.order_id = "TP-6";
    c = svc_tc_reply(svc_tc_decide(w, "GetCase", "operator", "", &g.base),
                     &tp__identification__case__descriptor);
    CHECK(c && streq(c->status, "identified") && c->attempt == 2 &&
          streq(c->evidence_ref, "PI-TX-9"));
    svc_tc_free(c);

    /* OfficerIdent keeps its method and has no number; the officer records again */
    Tp__Identification__RecordResult r = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    r.order_id = "TP-7";
    r.reason = "applicant did not appear";
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordResult", "officer", "acc-ob", &r.base)));
    na.order_id = "TP-7";
    na.note = "";
    out = svc_tc_decide(w, "OpenNewAttempt", "operator", "acc-op", &na.base);
    co = svc_tc_event(out, 0, &tp__identification__case_opened__descriptor);
    CHECK(co && co->attempt == 2 && streq(co->method, "officerident") &&
          streq(co->postident_number, ""));
    svc_tc_free(co);
    r.succeeded = true;
    r.reason = "";
    r.evidence_ref = "Akte 9";
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordResult", "officer", "acc-ob", &r.base)));

    /* a state rebuilt from the log equals the state that wrote it */
    void *rebuilt = svc_tc_rebuild(w);
    char *s1 = identification_def.summary(svc_tc_state(w));
    char *s2 = identification_def.summary(rebuilt);
    CHECK(s1 && s2 && streq(s1, s2) && strstr(s1, "\"postidentIssued\":3,") &&
          strstr(s1, "\"identified\":2,\"failed\":0,"));
    free(s1);
    free(s2);
    identification_def.state_destroy(&rebuilt);
    svc_tc_destroy(&w);
}

/* One reply carries at most IDENT_LIST_MAX cases, and says so. */
static void s_test_list_limit(void)
{
    svc_tc_t *w = itest_new();
    for (int i = 0; i < IDENT_LIST_MAX + 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "TP-%05d", i);
        itest_order(w, id, "acc-c", "", "notarident");
    }
    Tp__Identification__ListCases q = TP__IDENTIFICATION__LIST_CASES__INIT;
    svc_out_t *out = svc_tc_decide(w, "ListCases", "operator", "acc-op", &q.base);
    Tp__Identification__CaseList *l = svc_tc_reply(out, &tp__identification__case_list__descriptor);
    CHECK(l && l->n_cases == IDENT_LIST_MAX && l->truncated &&
          streq(l->cases[0]->order_id, "TP-00000"));
    svc_tc_free(l);
    svc_tc_destroy(&w);
}

/* The order service's ApplicationReceived for @p order by @p who; react's events. */
static size_t s_application(svc_tc_t *w, const char *order, const char *who)
{
    Tp__Order__ApplicationReceived e = TP__ORDER__APPLICATION_RECEIVED__INIT;
    e.order_id = (char *) order;
    e.recorded_by = (char *) who;
    return svc_tc_react(w, "order", NULL, &e.base);
}

/* Four eyes: an officer does not identify an order of their own account; the operator who
 * recorded the signed application does not record the identification (setting four_eyes,
 * on by default). */
static void s_test_four_eyes(void)
{
    svc_tc_t *w = itest_new();
    char numbers[2][16];
    itest_seed(w, numbers);
    Tp__Identification__RecordResult r = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    r.succeeded = true;
    r.evidence_ref = "Ausweis geprüft";

    /* an officer of shop-a ordered in shop-a: not theirs to identify; another officer's */
    CHECK(itest_order(w, "TP-20", "acc-oa", "shop-a", "officerident") == 1);
    r.order_id = "TP-20";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base),
                         "forbidden", "orderId"));
    CHECK(strstr(svc_tc_message(svc_tc_out(w)), "four eyes"));
    CHECK(svc_tc_officer(w, "acc-oa2", "shop-a", true) == 1);
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordResult", "officer", "acc-oa2", &r.base)));

    /* who recorded the application is learned once, from operators' records only */
    CHECK(s_application(w, "TP-2", "operator:alice") == 1);
    Tp__Identification__ApplicationRecorded *ar =
        svc_tc_event(svc_tc_out(w), 0, &tp__identification__application_recorded__descriptor);
    CHECK(ar && streq(ar->order_id, "TP-2") && streq(ar->recorded_by, "operator:alice"));
    svc_tc_free(ar);
    CHECK(s_application(w, "TP-2", "operator:alice") == 0);
    CHECK(s_application(w, "TP-404", "operator:alice") == 0);
    CHECK(s_application(w, "TP-3", "") == 0);
    CHECK(s_application(w, "TP-1", "operator:alice") == 1);
    CHECK(s_application(w, "TP-5", "operator:alice") == 1);

    /* that operator may not record the result (nor a failure); another one may */
    r.order_id = "TP-2";
    r.identified_by = "Notar Dr. Kurz";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "operator:alice", &r.base),
                         "forbidden", "orderId"));
    CHECK(strstr(svc_tc_message(svc_tc_out(w)), "four eyes"));
    r.succeeded = false;
    r.evidence_ref = "";
    r.reason = "Ausweis abgelaufen";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "operator:alice", &r.base),
                         "forbidden", "orderId"));
    r.succeeded = true;
    r.evidence_ref = "Urkunde 12/2026";
    r.reason = "";
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordResult", "operator", "operator:bob", &r.base)));
    /* a PostIdent result typed in by that operator: the same; the provider's feed records it */
    Tp__Identification__RecordPostIdentResult p =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    p.postident_number = numbers[0];
    p.succeeded = true;
    p.evidence_ref = "PI-1";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordPostIdentResult", "operator", "operator:alice",
                                       &p.base),
                         "forbidden", "orderId"));
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordPostIdentResult", "ident", "ident:postident",
                                        &p.base)));
    /* the knowledge survives a restart */
    svc_tc_restart(w);
    r.order_id = "TP-5";
    r.identified_by = "Frau Schmidt, Berlin";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "operator", "operator:alice", &r.base),
                         "forbidden", "orderId"));
    /* with four eyes off, the operator may (a provider with one operator) */
    zconfig_t *config = zconfig_new("root", NULL);
    zconfig_put(config, "identification/four_eyes", "0");
    svc_tc_configure(w, &config);
    svc_tc_restart(w);
    CHECK(!svc_out_failed(svc_tc_decide(w, "RecordResult", "operator", "operator:alice", &r.base)));
    /* but an officer still never identifies their own order */
    CHECK(itest_order(w, "TP-21", "acc-oa", "shop-a", "officerident") == 1);
    r.order_id = "TP-21";
    r.identified_by = "";
    CHECK(svc_tc_refused(svc_tc_decide(w, "RecordResult", "officer", "acc-oa", &r.base),
                         "forbidden", "orderId"));
    svc_tc_destroy(&w);
}

static const svc_tc_test_t s_tests[] = {
    {"react", s_test_react, "core"},
    {"replay", s_test_replay, "core"},
    {"record_result", s_test_record_result, "core"},
    {"postident", s_test_postident, "core"},
    {"queries", s_test_queries, "core"},
    {"new_attempt", s_test_new_attempt, "core"},
    {"list_limit", s_test_list_limit, "core"},
    {"four_eyes", s_test_four_eyes, "core"},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv, &(svc_tc_suite_t){"identification_test", s_tests});
}
