/* customer_flow.c: a customer's whole way with the three real daemons and a real SMTP
 * server: register -> the confirmation mail arrives -> confirm -> log in (and a wrong
 * password refused) -> resolve the session -> redeem the demo shop code -> order a seal
 * card with PostIdent -> the PostIdent number arrives -> the three PDFs are valid and
 * name the order -> PostIdent result (producer) -> application received (operator) ->
 * released for production, with the event in the order service's log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow.h"

/* GetDocument @p kind of @p order_id as @p c, written to a file; checks it is a valid PDF
 * (qpdf --check) whose text contains the order number and @p also (may be NULL). */
static void s_check_document(th_t *th, const fl_customer_t *c, const char *order_id,
                             const char *kind, const char *also)
{
    Tp__Order__GetDocument q = TP__ORDER__GET_DOCUMENT__INIT;
    q.order_id = (char *) order_id;
    q.kind = (char *) kind;
    Tp__Reply *r = th_call_as(th, "order", &c->as, NULL, "order.GetDocument", &q.base, FL_CALL_MS);
    Tp__Order__Document *doc =
        r && r->ok ? tp__order__document__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (!doc)
        th_reply_log(kind, r);
    TH_CHECK(doc && strcmp(doc->content_type, "application/pdf") == 0);
    TH_CHECK(doc && doc->file_name[0] && strstr(doc->file_name, ".pdf"));
    TH_CHECK(doc && doc->content.len > 100 && memcmp(doc->content.data, "%PDF-", 5) == 0);
    char path[600];
    snprintf(path, sizeof path, "%s/%s.pdf", th_dir(th), kind);
    FILE *f = fopen(path, "wb");
    TH_CHECK(f && doc && fwrite(doc->content.data, 1, doc->content.len, f) == doc->content.len);
    if (f)
        fclose(f);
    char *out = NULL;
    int rc = th_run(&out, "qpdf --check '%s' 2>&1", path);
    if (rc != 0)
        fprintf(stderr, "qpdf --check %s: exit %d\n%s", kind, rc, out ? out : "");
    TH_CHECK(rc == 0);
    free(out);
    rc = th_run(&out, "pdftotext '%s' - 2>/dev/null", path);
    TH_CHECK(rc == 0);
    if (!(out && strstr(out, order_id)))
        fprintf(stderr, "pdftotext %s does not show %s:\n%s\n", kind, order_id, out ? out : "");
    TH_CHECK(out && strstr(out, order_id));
    if (also)
        TH_CHECK(out && strstr(out, also));
    free(out);
    if (doc)
        tp__order__document__free_unpacked(doc, NULL);
    th_reply_free(&r);
}

static void s_check_login_refusals(th_t *th, const fl_customer_t *c)
{
    /* a wrong password is recorded (LoginFailed) and answered ok, with the refusal */
    uint64_t head = th_head(th, "account");
    Tp__Account__Login login = TP__ACCOUNT__LOGIN__INIT;
    login.email = (char *) c->email;
    login.password = "not the password at all";
    Tp__Reply *r =
        th_call_as(th, "account", &fl_anonymous, NULL, "account.Login", &login.base, FL_CALL_MS);
    Tp__Account__SessionInfo *si =
        r && r->ok ? tp__account__session_info__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(si && strcmp(si->refusal, "invalid_credentials") == 0);
    TH_CHECK(si && si->session_token[0] == '\0' && si->account_id[0] == '\0');
    TH_CHECK(r && r->last_seq == head + 1 && th_head(th, "account") == head + 1);
    if (si)
        tp__account__session_info__free_unpacked(si, NULL);
    th_reply_free(&r);
    /* an unknown address gets the very same answer */
    login.email = "nobody-here@example.org";
    r = th_call_as(th, "account", &fl_anonymous, NULL, "account.Login", &login.base, FL_CALL_MS);
    si = r && r->ok ? tp__account__session_info__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(si && strcmp(si->refusal, "invalid_credentials") == 0 && !si->session_token[0]);
    if (si)
        tp__account__session_info__free_unpacked(si, NULL);
    th_reply_free(&r);
}

static void s_check_session(th_t *th, const fl_customer_t *c, bool with_shop)
{
    Tp__Account__ResolveSession q = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    q.session_token = (char *) c->session;
    Tp__Reply *r = th_call_as(th, "account", &fl_anonymous, NULL, "account.ResolveSession", &q.base,
                              FL_CALL_MS);
    Tp__Account__SessionInfo *si =
        r && r->ok ? tp__account__session_info__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(si && strcmp(si->account_id, c->account_id) == 0);
    TH_CHECK(si && strcmp(si->email, c->email) == 0 && si->session_token[0] == '\0');
    TH_CHECK(si && si->n_roles >= 1 && strcmp(si->roles[0], "customer") == 0);
    TH_CHECK(si && si->expires_at_us > 0);
    if (with_shop)
        TH_CHECK(si && si->n_shop_ids == 1 && strcmp(si->shop_ids[0], FL_DEMO_SHOP) == 0);
    if (si)
        tp__account__session_info__free_unpacked(si, NULL);
    th_reply_free(&r);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    th_t *th = th_new("customer");
    int port = th_smtp_start(th);
    TH_CHECK(port > 0);
    fl_configure(th, port);
    if (port <= 0 || !th_start_services(th, 15000)) {
        fprintf(stderr, "customer_flow: the system did not come up\n");
        th_destroy(&th);
        return 1;
    }

    /* register -> the mail at the SMTP server -> confirm -> log in */
    fl_customer_t c;
    bool signed_up = fl_signup(th, "anna.kunde@example.org", &c);
    TH_CHECK(signed_up);
    char *mail = th_mail_wait(th, NULL, "anna.kunde@example.org", "token=", 1000);
    TH_CHECK(mail && strstr(mail, "From: ") && strstr(mail, "portal@trustportal.test"));
    TH_CHECK(mail && strstr(mail, "/#/confirm?token="));
    free(mail);
    if (!signed_up) {
        th_destroy(&th);
        return 1;
    }
    /* the link works once */
    char token[128];
    TH_CHECK(fl_mail_token(th, c.email, token, sizeof token, 1000));
    Tp__Account__Confirm conf = TP__ACCOUNT__CONFIRM__INIT;
    conf.token = token;
    conf.password = c.password;
    Tp__Reply *r =
        th_call_as(th, "account", &fl_anonymous, NULL, "account.Confirm", &conf.base, FL_CALL_MS);
    TH_CHECK(th_refused(r, "invalid_token", "token"));
    th_reply_free(&r);
    s_check_login_refusals(th, &c);
    s_check_session(th, &c, false);

    /* the demo shop, learned by the account service from the order service's events */
    TH_CHECK(fl_redeem(th, &c, "demo-shop-2026")); /* codes ignore case */
    s_check_session(th, &c, true);

    /* a seal card with PostIdent in the demo shop */
    fl_order_t o;
    fl_order_init(&o, "seal-card", FL_DEMO_SHOP, "postident");
    char order_id[64] = "", number[32] = "";
    bool placed = fl_place(th, &c, "customer-order-1", &o, order_id, sizeof order_id);
    TH_CHECK(placed);
    if (!placed) {
        th_destroy(&th);
        return 1;
    }
    TH_CHECK(fl_wait_postident(th, order_id, number, sizeof number, 10000));
    TH_CHECK(strlen(number) == 12);
    Tp__Order__OrderView *v = fl_get_order(th, &c.as, order_id);
    TH_CHECK(v && strcmp(v->status, "offen") == 0 && strcmp(v->postident_number, number) == 0);
    TH_CHECK(v && v->n_documents == 3 && strcmp(v->shop_name, "Musterfirma GmbH") == 0);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    s_check_document(th, &c, order_id, "application", "Musterfirma GmbH");
    s_check_document(th, &c, order_id, "checklist", NULL);
    s_check_document(th, &c, order_id, "coupon", number);

    /* the ident provider reports success, keyed by the number */
    Tp__Identification__RecordPostIdentResult pr =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    pr.postident_number = number;
    pr.succeeded = true;
    pr.evidence_ref = "PI-TX-0815";
    pr.identified_by = "PostIdent eID";
    r = th_call_as(th, "identification", &fl_ident, NULL, "identification.RecordPostIdentResult",
                   &pr.base, FL_CALL_MS);
    Tp__Identification__Case *cs =
        r && r->ok ? tp__identification__case__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (!cs)
        th_reply_log("RecordPostIdentResult", r);
    TH_CHECK(cs && strcmp(cs->status, "identified") == 0 && strcmp(cs->order_id, order_id) == 0);
    TH_CHECK(cs && strcmp(cs->evidence_ref, "PI-TX-0815") == 0);
    if (cs)
        tp__identification__case__free_unpacked(cs, NULL);
    th_reply_free(&r);
    /* a second result for the closed case is refused */
    pr.evidence_ref = "PI-TX-0816";
    r = th_call_as(th, "identification", &fl_ident, NULL, "identification.RecordPostIdentResult",
                   &pr.base, FL_CALL_MS);
    TH_CHECK(th_refused(r, "conflict", "postidentNumber"));
    th_reply_free(&r);
    TH_CHECK(fl_wait_step(th, order_id, "identification", 10000));
    TH_CHECK(fl_count_events(th, "order", "OrderReleasedForProduction", order_id) == 0);

    /* the signed application arrives: everything is there, the order is released */
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = order_id;
    ar.note = "Antrag unterschrieben per Post";
    r = th_call_as(th, "order", &fl_operator, NULL, "order.RecordApplicationReceived", &ar.base,
                   FL_CALL_MS);
    v = fl_view(r);
    if (!v)
        th_reply_log("RecordApplicationReceived", r);
    TH_CHECK(v && strcmp(v->status, "in_produktion") == 0);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    th_reply_free(&r);
    v = fl_get_order(th, &c.as, order_id);
    TH_CHECK(v && strcmp(v->status, "in_produktion") == 0);
    TH_CHECK(v && fl_step(v, "application")->done && fl_step(v, "identification")->done &&
             fl_step(v, "datacheck")->done);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    TH_CHECK(fl_count_events(th, "order", "OrderReleasedForProduction", order_id) == 1);
    char dir[512], *out = NULL;
    th_data_dir(th, "order", dir, sizeof dir);
    TH_CHECK(th_run(&out, "%s log dump '%s' --type OrderReleasedForProduction", th_env("TPCTL"),
                    dir) == 0);
    TH_CHECK(out && strstr(out, order_id) && strstr(out, c.account_id));
    free(out);

    /* every log verifies and replays to the live state */
    th_check_replay(th, "account");
    th_check_replay(th, "order");
    th_check_replay(th, "identification");

    th_destroy(&th);
    fprintf(stderr, "customer_flow: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("customer_flow: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
