/* identification_test_harness.c: the identification core under test, and the upstream
 * history its unit tests start from. */
#include "identification_test.h"

/* Fills @p buf with @p n bytes of text. */
char *itest_filled(char *buf, size_t n)
{
    memset(buf, 'e', n);
    buf[n] = '\0';
    return buf;
}

svc_tc_t *itest_new(void)
{
    svc_tc_t *w = svc_tc_new(&identification_def);
    assert(w);
    svc_tc_set_now(w, T0);
    svc_tc_set_step(w, 1000);
    return w;
}

/* ---------------------------------------------------------------- upstream events */

size_t itest_order(svc_tc_t *w, const char *order, const char *account, const char *shop,
                   const char *method)
{
    Tp__Order__Applicant a = TP__ORDER__APPLICANT__INIT;
    a.given_names = "Erika";
    a.family_name = "Mustermann";
    a.birth_date = "1964-08-12";
    Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
    e.order_id = (char *) order;
    e.account_id = (char *) account;
    e.product_id = "signature-card";
    e.shop_id = (char *) shop;
    e.applicant = &a;
    e.ident_method = (char *) method;
    return svc_tc_react(w, "order", NULL, &e.base);
}

/* The PostIdent number of the case just opened ("" when none). */
char *itest_opened_number(svc_tc_t *w)
{
    Tp__Identification__CaseOpened *e =
        svc_tc_event(svc_tc_out(w), 0, &tp__identification__case_opened__descriptor);
    char *n = strdup(e ? e->postident_number : "");
    svc_tc_free(e);
    return n;
}

bool itest_luhn_ok(const char *n)
{
    if (strlen(n) != IDENT_POSTIDENT_DIGITS || strspn(n, "0123456789") != IDENT_POSTIDENT_DIGITS)
        return false;
    int sum = 0;
    for (int i = 0; i < IDENT_POSTIDENT_DIGITS; i++) {
        int d = n[IDENT_POSTIDENT_DIGITS - 1 - i] - '0';
        if (i % 2 == 1 && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return sum % 10 == 0;
}

/* The upstream history every test starts from. */
void itest_seed(svc_tc_t *w, char numbers[2][16])
{
    CHECK(itest_order(w, "TP-1", "acc-c1", "", "postident") == 1);
    char *n = itest_opened_number(w);
    snprintf(numbers[0], 16, "%s", n);
    free(n);
    CHECK(itest_order(w, "TP-2", "acc-c1", "", "notarident") == 1);
    CHECK(itest_order(w, "TP-3", "acc-c2", "", "botschaftsident") == 1);
    CHECK(itest_order(w, "TP-4", "acc-c2", "shop-a", "officerident") == 1);
    CHECK(itest_order(w, "TP-5", "acc-c3", "shop-a", "dtrustident") == 1);
    CHECK(itest_order(w, "TP-6", "acc-c3", "shop-b", "postident") == 1);
    n = itest_opened_number(w);
    snprintf(numbers[1], 16, "%s", n);
    free(n);
    CHECK(itest_order(w, "TP-7", "acc-c4", "shop-b", "officerident") == 1);
    CHECK(itest_order(w, "TP-8", "acc-c4", "shop-a", "officerident") == 1);
    CHECK(svc_tc_officer(w, "acc-oa", "shop-a", true) == 1);
    CHECK(svc_tc_officer(w, "acc-ob", "shop-b", true) == 1);
    CHECK(svc_tc_officer(w, "acc-rev", "shop-a", true) == 1);
    CHECK(svc_tc_officer(w, "acc-rev", "shop-a", false) == 1);
}
