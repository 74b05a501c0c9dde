/* status_mails.c: the mails that keep an owner informed, at a real SMTP server, over the
 * five daemons. An order goes through Wartend (a data problem), In Produktion, Versendet,
 * Fertig and Gültig, and is revoked with the revocation password: exactly one mail each,
 * in the owner's language (German here), saying what it must (the reason, the tracking
 * number, how the revocation was asked for and whom to call). Then the owner turns the
 * status mails off: a second order goes the same way without one, and its revocation by
 * the owner in the portal is mailed all the same. The account service's log holds one
 * NoticeDue and one MailSent per mail, and replays to its live state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailflow.h"

static const char *const s_status[5] = {"wartend", "in-produktion", "versendet", "fertig",
                                        "gueltig"};

/* The owner's first mail of @p kind with @p needle is there and says each of @p says
 * (NULL-terminated). */
static void s_says(mf_t *mf, const char *kind, const char *needle, const char *const *says)
{
    char *m = mf_mail(mf, kind, needle);
    TH_CHECK(m != NULL);
    for (size_t i = 0; m && says[i]; i++)
        if (!strstr(m, says[i])) {
            fprintf(stderr, "status_mails: the %s mail does not say \"%s\":\n%s\n", kind, says[i],
                    m);
            TH_CHECK(!"the mail says what it must");
        }
    free(m);
}

/* Offen -> Wartend -> Offen -> In Produktion -> Versendet -> Fertig, with the product
 * Gültig: one mail for each change but the way back to Offen when @p mails. */
static void s_statuses(mf_t *mf, const char *order, bool mails)
{
    TH_CHECK(mf_operator(mf, "problem", order, "Die Kopie des Personalausweises ist unleserlich."));
    if (mails) {
        TH_CHECK(mf_wait(mf, "wartend", 1, 10000) == 1);
        s_says(mf, "wartend", order,
               (const char *const[]){"Status „Wartend“",
                                     "  Die Kopie des Personalausweises "
                                     "ist unleserlich.\n",
                                     "+49 (0)30 2598-0", "Guten Tag,", NULL});
    }
    TH_CHECK(mf_operator(mf, "resolve", order, "neue Kopie liegt vor"));
    TH_CHECK(mf_operator(mf, "application", order, NULL));
    if (mails)
        TH_CHECK(mf_wait(mf, "in-produktion", 1, 10000) == 1);
    static const char *const facts[] = {"certificates", "card",          "shipped", "pin-shipped",
                                        "delivered",    "pin-delivered", NULL};
    for (size_t i = 0; facts[i]; i++) {
        TH_CHECK(mf_fact(mf, facts[i], order));
        if (mails && streq(facts[i], "shipped")) {
            char tracking[64], line[128];
            mf_tracking(order, tracking, sizeof tracking);
            snprintf(line, sizeof line, "Sendungsnummer des Einschreibens: %s\n", tracking);
            TH_CHECK(mf_wait(mf, "versendet", 1, 10000) == 1);
            s_says(mf, "versendet", tracking, (const char *const[]){line, NULL});
        }
    }
    TH_CHECK(fl_wait_status(mf->pf.th, order, "fertig", 10000));
    snprintf(mf->pf.products[0], sizeof mf->pf.products[0], "prd-%s", order);
    Tp__Production__ProductView *v = pf_wait_product(&mf->pf, 0, PRODUCTION_GUELTIG, 15000);
    TH_CHECK(v != NULL);
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
    TH_CHECK(mf_quiet(mf, 15000));
    for (int i = 0; mails && i < 5; i++)
        TH_CHECK(mf_count(mf, s_status[i]) == 1);
    if (mails)
        s_says(mf, "gueltig", "Status „Gültig“", (const char *const[]){order, NULL});
}

/* The revocation of @p order's card: by password (anyone holding it) or by the owner in
 * the portal; mailed as requested and as completed, whatever the setting. */
static void s_revoke(mf_t *mf, const char *order, bool password, int nth)
{
    Tp__Reply *r = NULL;
    if (password) {
        Tp__Revocation__RevokeWithPassword q = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
        q.number = (char *) order;
        q.password = "Sperr-Kennwort-42"; /* fl_order_init's */
        q.reason = "suspected_misuse";
        r = th_call_as(mf->pf.th, "revocation", &fl_anonymous, NULL,
                       "revocation.RevokeWithPassword", &q.base, FL_CALL_MS);
    }
    else {
        char product[80];
        snprintf(product, sizeof product, "prd-%s", order);
        Tp__Revocation__RequestRevocation q = TP__REVOCATION__REQUEST_REVOCATION__INIT;
        q.product_id = product;
        q.reason = "card_lost";
        r = th_call_as(mf->pf.th, "revocation", &mf->owner.as, NULL, "revocation.RequestRevocation",
                       &q.base, FL_CALL_MS);
    }
    if (!(r && r->ok))
        th_reply_log("revocation", r);
    TH_CHECK(r && r->ok);
    th_reply_free(&r);
    TH_CHECK(mf_wait(mf, "revocation-requested", nth, 10000) == nth);
    const char *how = password ? "mit dem Sperrkennwort Ihrer Bestellung, ohne Anmeldung"
                               : "im Portal, von Ihrem angemeldeten Konto aus";
    s_says(mf, "revocation-requested", how,
           (const char *const[]){
               order, "Haben Sie die Sperrung nicht beauftragt?", "+49 (0)30 2598-0",
               "support@d-trust.net",
               password ? "Verdacht auf missbräuchliche Nutzung" : "Karte verloren", NULL});
    TH_CHECK(mf_wait(mf, "revocation-completed", nth, 15000) == nth);
    TH_CHECK(mf_quiet(mf, 15000));
    TH_CHECK(mf_count(mf, "revocation-requested") == nth);
    TH_CHECK(mf_count(mf, "revocation-completed") == nth);
}

/* Status mails off for the owner: nothing about the second order's statuses. */
static void s_mails_off(mf_t *mf)
{
    Tp__Account__SetNotifications set = TP__ACCOUNT__SET_NOTIFICATIONS__INIT;
    set.status_mails = "off";
    Tp__Reply *r = th_call_as(mf->pf.th, "account", &mf->owner.as, NULL, "account.SetNotifications",
                              &set.base, FL_CALL_MS);
    Tp__Account__Notifications *n =
        r && r->ok ? tp__account__notifications__unpack(NULL, r->body.len, r->body.data) : NULL;
    TH_CHECK(n && streq(n->status_mails, "off"));
    if (n)
        tp__account__notifications__free_unpacked(n, NULL);
    th_reply_free(&r);
    /* the gateway's key, acting for nobody logged in: refused, nothing written */
    uint64_t head = th_head(mf->pf.th, "account");
    r = th_call_as(mf->pf.th, "account", &fl_anonymous, NULL, "account.SetNotifications", &set.base,
                   FL_CALL_MS);
    if (!th_refused(r, "unauthenticated", ""))
        th_reply_log("SetNotifications for nobody", r);
    TH_CHECK(th_refused(r, "unauthenticated", ""));
    TH_CHECK(th_head(mf->pf.th, "account") == head);
    th_reply_free(&r);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    mf_t mf;
    char first[64] = "", second[64] = "";
    bool up = mf_setup(&mf, "statusmails", "greta.gruen@example.de", "de");
    TH_CHECK(up);
    if (up && mf_order(&mf, first, sizeof first)) {
        s_statuses(&mf, first, true);
        s_revoke(&mf, first, true, 1);
        /* the confirmation and seven notices, each once; as many NoticeDue and MailSent */
        TH_CHECK(th_mail_count(mf.pf.th, NULL, mf.owner.email, NULL) == 8);
        TH_CHECK(fl_count_events(mf.pf.th, "account", "NoticeDue", NULL) == 7);
        TH_CHECK(fl_count_events(mf.pf.th, "account", "MailSent", NULL) == 8);
        s_mails_off(&mf);
        TH_CHECK(mf_order(&mf, second, sizeof second));
        s_statuses(&mf, second, false);
        for (int i = 0; i < 5; i++)
            TH_CHECK(mf_count(&mf, s_status[i]) == 1);
        TH_CHECK(fl_count_events(mf.pf.th, "account", "NoticeDue", second) == 0);
        s_revoke(&mf, second, false, 2);
        TH_CHECK(th_mail_count(mf.pf.th, NULL, mf.owner.email, NULL) == 10);
        TH_CHECK(fl_count_events(mf.pf.th, "account", "NoticeDue", second) == 2);
    }
    else
        TH_CHECK(!"an order placed and identified");
    if (up)
        th_check_replay(mf.pf.th, "account");
    mf_destroy(&mf);
    fprintf(stderr, "status_mails: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("status_mails: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
