/* production_test_refusals.c: every refusal of a producer fact that is malformed or
 * not allowed (role, fact id, order id, each field of each fact, unknown orders) and of
 * facts out of order, each naming its field and writing nothing. Runs on the job
 * TP-2026-000001 just opened by production_test.c. */
#include <string.h>
#include "production_test.h"

/* ------------------------------------------------------------------ refusals */

void pt_test_fact_refusals(void)
{
    const char *id = "TP-2026-000001";
    Tp__Production__RecordCardShipped sh = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    sh.fact_id = "f-ship-1";
    sh.order_id = (char *) id;
    sh.tracking_number = "RR123456789DE";
    static const char *const roles[] = {"customer", "officer", "system", ""};
    for (int i = 0; i < 4; i++) {
        svc_tc_decide(pt, "RecordCardShipped", roles[i], "acc-a", &sh.base);
        REFUSED("forbidden", "");
    }
    /* every bad field at once, each named */
    char long_id[PRODUCTION_FACT_ID_MAX + 2];
    memset(long_id, 'f', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    const char *const bad_facts[] = {"", "has space", "tab\there", long_id, "umlaut-ä"};
    for (int i = 0; i < 5; i++) {
        sh.fact_id = (char *) bad_facts[i];
        svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
        REFUSED("invalid", "factId");
    }
    sh.fact_id = "f-ship-1";
    sh.order_id = "";
    sh.tracking_number = "rr123";
    svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
    REFUSED("invalid", "orderId");
    CHECK(svc_tc_has_error(pt_out, "invalid", "trackingNumber") && svc_out_n_errors(pt_out) == 2);
    static const char *const bad_tracking[] = {
        "", "RR 123", "RR_123", "ÄÖ",
        "RR12345678901234567890123456789012345678901234567890123456789012345"};
    sh.order_id = (char *) id;
    for (int i = 0; i < 5; i++) {
        sh.tracking_number = (char *) bad_tracking[i];
        svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
        REFUSED("invalid", "trackingNumber");
    }
    char long_order[66]; /* one more than the 64 allowed */
    memset(long_order, 'T', sizeof long_order - 1);
    long_order[sizeof long_order - 1] = '\0';
    sh.order_id = long_order;
    sh.tracking_number = "RR123456789DE";
    svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
    REFUSED("invalid", "orderId");
    sh.order_id = "TP-2026-424242";
    svc_tc_decide(pt, "RecordCardShipped", "operator", "op", &sh.base);
    REFUSED("not_found", "orderId");

    Tp__Production__RecordCardProduced cp = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    cp.fact_id = "f-card-1";
    cp.order_id = (char *) id;
    static const char *const bad_cards[] = {"", "1234 5678", "1234-5678", "Ä1",
                                            "123456789012345678901234567890123"};
    for (int i = 0; i < 5; i++) {
        cp.card_number = (char *) bad_cards[i];
        svc_tc_decide(pt, "RecordCardProduced", "producer", "", &cp.base);
        REFUSED("invalid", "cardNumber");
    }

    /* certificates */
    Tp__Production__Certificate c[PRODUCTION_CERTS_MAX + 1];
    Tp__Production__Certificate *cptr[PRODUCTION_CERTS_MAX + 1];
    for (int i = 0; i <= PRODUCTION_CERTS_MAX; i++) {
        tp__production__certificate__init(&c[i]);
        c[i].serial = "0A1B";
        c[i].kind = "signature";
        c[i].valid_from_us = pt_now;
        c[i].valid_to_us = pt_now + 3 * PT_YEAR;
        cptr[i] = &c[i];
    }
    Tp__Production__RecordCertificates rc = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    rc.fact_id = "f-certs-1";
    rc.order_id = (char *) id;
    rc.certificates = cptr;
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    REFUSED("invalid", "certificates");
    rc.n_certificates = PRODUCTION_CERTS_MAX + 1;
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    REFUSED("invalid", "certificates");
    rc.n_certificates = 6;
    c[0].serial = "XYZ";  /* not hex */
    c[1].serial = "0a1b"; /* c[2]'s twin (case ignored) */
    c[2].serial = "0A1B";
    c[1].kind = "qualified";
    c[2].valid_from_us = 0;
    c[3].serial = "01234567890123456789012345678901234567890123456789012345678901234";
    c[3].valid_to_us = c[3].valid_from_us;
    c[4].serial = "FF";
    c[4].valid_to_us = pt_now - 1; /* expired already */
    c[4].valid_from_us = pt_now - PT_YEAR;
    c[5].serial = "EE";
    c[5].subject = "CN=Erika\nMustermann";
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    REFUSED("invalid", "certificates[0].serial");
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[1].kind"));
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[2].serial")); /* listed twice */
    CHECK(!svc_tc_has_error(pt_out, "invalid", "certificates[1].serial"));
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[2].validFromUs"));
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[3].serial"));
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[3].validToUs"));
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[4].validToUs"));
    CHECK(svc_tc_has_error(pt_out, "invalid", "certificates[5].subject"));
    CHECK(svc_out_n_errors(pt_out) == 8);
    char long_subject[300];
    memset(long_subject, 'x', sizeof long_subject - 1);
    long_subject[sizeof long_subject - 1] = '\0';
    const char *const bad_subjects[] = {"\xc3", "\xc0\xaf", "a\x7f", long_subject};
    rc.n_certificates = 1;
    c[0].serial = "0A1B";
    for (int i = 0; i < 4; i++) {
        c[0].subject = (char *) bad_subjects[i];
        svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
        REFUSED("invalid", "certificates[0].subject");
    }
    c[0].subject = "";
    rc.order_id = "TP-2026-424242";
    svc_tc_decide(pt, "RecordCertificates", "producer", "", &rc.base);
    REFUSED("not_found", "orderId");

    /* facts out of order: each refused with the reason, nothing written */
    sh.order_id = (char *) id;
    svc_tc_decide(pt, "RecordCardShipped", "producer", "", &sh.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("card shipped before it was produced"));
    cp.card_number = "C0001";
    svc_tc_decide(pt, "RecordCardProduced", "producer", "", &cp.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("card produced before its certificates were created"));
    Tp__Production__RecordPinLetterShipped ps = TP__PRODUCTION__RECORD_PIN_LETTER_SHIPPED__INIT;
    ps.fact_id = "f-pin-1";
    ps.order_id = (char *) id;
    ps.tracking_number = "RR987654321DE";
    svc_tc_decide(pt, "RecordPinLetterShipped", "producer", "", &ps.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("PIN letter shipped before the card was produced"));
    Tp__Production__RecordCardDelivered cd = TP__PRODUCTION__RECORD_CARD_DELIVERED__INIT;
    cd.fact_id = "f-cd-1";
    cd.order_id = (char *) id;
    svc_tc_decide(pt, "RecordCardDelivered", "producer", "", &cd.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("card delivered before it was shipped"));
    Tp__Production__RecordPinLetterDelivered pd = TP__PRODUCTION__RECORD_PIN_LETTER_DELIVERED__INIT;
    pd.fact_id = "f-pd-1";
    pd.order_id = (char *) id;
    svc_tc_decide(pt, "RecordPinLetterDelivered", "producer", "", &pd.base);
    REFUSED("conflict", "orderId");
    CHECK(pt_message_has("PIN letter delivered before it was shipped"));
    cd.order_id = "TP-2026-424242";
    svc_tc_decide(pt, "RecordCardDelivered", "producer", "", &cd.base);
    REFUSED("not_found", "orderId");
    pd.order_id = "";
    svc_tc_decide(pt, "RecordPinLetterDelivered", "producer", "", &pd.base);
    REFUSED("invalid", "orderId");
}
