/* order_test_retention.c: tests of how long an applicant's data is kept
 * (order_retention.c): production's CertificatesCreated becomes CertificatesValid (the
 * latest expiry, once); the tick erases an order's data retention_days after it
 * (OrderDataErased with the runtime's erasure of "order:<id>"), not a moment before, and
 * once; an account's deletion erases its orders that never reached production and keeps
 * the registration evidence of those that did. */
#include <string.h>
#include "account.pb-c.h"
#include "order_internal.h"
#include "order_test.h"
#include "production.pb-c.h"

/* Whether the last output erased exactly @p order. */
static bool s_erased(const char *order)
{
    char subject[80];
    snprintf(subject, sizeof subject, "order:%s", order);
    return svc_tc_count(ot_out, "OrderDataErased") == 1 && svc_out_n_erasures(ot_out) == 1 &&
           streq(svc_out_erasure_at(ot_out, 0), subject);
}

void ot_test_retention(void)
{
    char kept[64], early[64];
    ot_released("acc-r", kept, sizeof kept);
    ot_form_t f;
    ot_form(&f, "signature-card", "postident", NULL);
    const char *placed = ot_place(&f, "acc-r");   /* never reaches production */
    snprintf(early, sizeof early, "%s", placed ? placed : "");

    /* certificates: the latest expiry is kept, once */
    Tp__Production__Certificate c1 = TP__PRODUCTION__CERTIFICATE__INIT, c2 = c1;
    c1.serial = "01";
    c1.valid_to_us = ot_now + 1000;
    c2.serial = "02";
    c2.valid_to_us = ot_now + 2000;
    Tp__Production__Certificate *certs[] = {&c1, &c2};
    Tp__Production__CertificatesCreated cc = TP__PRODUCTION__CERTIFICATES_CREATED__INIT;
    cc.fact_id = "certs-1";
    cc.order_id = kept;
    cc.certificates = certs;
    cc.n_certificates = 2;
    svc_tc_react(ot, "production", "CertificatesCreated", &cc.base);
    CHECK(svc_tc_count(ot_out, "CertificatesValid") == 1);
    Tp__Order__CertificatesValid *cv =
        svc_tc_event(ot_out, 0, &tp__order__certificates_valid__descriptor);
    CHECK(cv && streq(cv->order_id, kept) && cv->valid_to_us == ot_now + 2000);
    svc_tc_free(cv);
    svc_tc_commit(ot);
    svc_tc_react(ot, "production", "CertificatesCreated", &cc.base);
    CHECK(svc_out_n_events(ot_out) == 0);

    /* the account is deleted: its order that never reached production is erased now,
     * the registration evidence of the other is kept */
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-r";
    svc_tc_react(ot, "account", "AccountDeleted", &del.base);
    CHECK(s_erased(early));
    svc_tc_commit(ot);
    svc_tc_react(ot, "account", "AccountDeleted", &del.base);
    CHECK(svc_out_n_events(ot_out) == 0 && svc_out_n_erasures(ot_out) == 0);

    /* the retention period after expiry: not a moment early, then once */
    const ord_state_t *st = svc_tc_state(ot);
    int64_t due = ot_now + 2000 + st->retention_us;
    svc_tc_set_now(ot, due - 1);
    svc_tc_tick(ot);
    CHECK(svc_out_n_erasures(ot_out) == 0);
    svc_tc_commit(ot);
    svc_tc_set_now(ot, due);
    svc_tc_tick(ot);
    CHECK(s_erased(kept));
    svc_tc_commit(ot);
    svc_tc_tick(ot);
    CHECK(svc_out_n_erasures(ot_out) == 0);
    svc_tc_commit(ot);
    svc_tc_set_now(ot, ot_now);
}
