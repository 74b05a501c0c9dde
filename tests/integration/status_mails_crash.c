/* status_mails_crash.c: the account service SIGKILLed between a change and its mail.
 *
 * First with the SMTP server down: the change (a data problem, Wartend) is recorded as
 * a NoticeDue, the mail cannot go, the account service is killed; with the server and
 * the service back, the mail arrives, once. Then with the server up, the account service
 * is killed right after the upstream's commit of a change (the operator's release: In
 * Produktion; the production line's shipping: Versendet; the last delivery: Fertig) and
 * started again: the mail arrives. Wherever the kill falls, the change is recorded once
 * (one NoticeDue, one MailSent); the mail goes at least once, and twice only when the
 * kill fell between the SMTP server's acceptance and the commit of MailSent (the
 * runtime's at-least-once; the copy has the same Message-ID). The log replays. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailflow.h"

/* The account's log: events of @p type about notices of @p kind. */
static int s_events(mf_t *mf, const char *type, const char *kind)
{
    char id[64];
    snprintf(id, sizeof id, "%s:", kind);
    return fl_count_events(mf->pf.th, "account", type, id);
}

static bool s_account_back(mf_t *mf)
{
    bool ok = th_start(mf->pf.th, th_exe_of("account"), "account", 15000) > 0;
    if (!ok)
        fprintf(stderr, "status_mails_crash: the account service did not come back\n");
    return ok;
}

/* The SMTP server down, the change recorded, the account service killed, both back. */
static void s_killed_before_sending(mf_t *mf, const char *order)
{
    th_t *th = mf->pf.th;
    th_stop(th, "smtp", SIGKILL);
    TH_CHECK(mf_operator(mf, "problem", order, "The application form lacks its second page."));
    int64_t deadline = zclock_mono() + 10000;
    while (s_events(mf, "NoticeDue", "wartend") < 1 && zclock_mono() < deadline)
        zclock_sleep(50);
    TH_CHECK(s_events(mf, "NoticeDue", "wartend") == 1);
    zclock_sleep(300); /* it tries, and fails: nobody listens */
    th_stop(th, "account", SIGKILL);
    TH_CHECK(s_events(mf, "MailSent", "wartend") == 0);
    TH_CHECK(mf_count(mf, "wartend") == 0);
    TH_CHECK(th_smtp_restart(th, mf->smtp_port) == mf->smtp_port);
    TH_CHECK(s_account_back(mf));
    TH_CHECK(mf_wait(mf, "wartend", 1, 15000) == 1);
    TH_CHECK(mf_quiet(mf, 15000));
    TH_CHECK(mf_count(mf, "wartend") == 1);
    TH_CHECK(s_events(mf, "NoticeDue", "wartend") == 1);
    TH_CHECK(s_events(mf, "MailSent", "wartend") == 1);
    char *m = mf_mail(mf, "wartend", "The application form lacks its second page.");
    TH_CHECK(m && strstr(m, "This is needed:"));
    free(m);
}

/* The change committed upstream (@p step done), the account service killed at once and
 * started again: the mail of @p kind arrives; one NoticeDue, one MailSent. */
static void s_killed_after_change(mf_t *mf, const char *kind, bool (*step)(mf_t *, const char *),
                                  const char *order)
{
    TH_CHECK(step(mf, order));
    th_stop(mf->pf.th, "account", SIGKILL);
    TH_CHECK(s_account_back(mf));
    TH_CHECK(mf_wait(mf, kind, 1, 15000) >= 1);
    TH_CHECK(mf_quiet(mf, 15000));
    int n = mf_count(mf, kind);
    if (n == 2)
        fprintf(stderr,
                "status_mails_crash: the kill fell between sending the %s mail and "
                "recording it: sent again, as documented\n",
                kind);
    TH_CHECK(n == 1 || n == 2);
    TH_CHECK(s_events(mf, "NoticeDue", kind) == 1);
    TH_CHECK(s_events(mf, "MailSent", kind) == 1);
}

static bool s_release(mf_t *mf, const char *order)
{
    return mf_operator(mf, "resolve", order, NULL) && mf_operator(mf, "application", order, NULL);
}

static bool s_ship(mf_t *mf, const char *order)
{
    return mf_fact(mf, "certificates", order) && mf_fact(mf, "card", order) &&
           mf_fact(mf, "shipped", order);
}

static bool s_deliver(mf_t *mf, const char *order)
{
    return mf_fact(mf, "pin-shipped", order) && mf_fact(mf, "delivered", order) &&
           mf_fact(mf, "pin-delivered", order);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    mf_t mf;
    char order[64] = "";
    bool up = mf_setup(&mf, "statusmailscrash", "kurt.kill@example.org", "en") &&
              mf_order(&mf, order, sizeof order);
    TH_CHECK(up);
    if (up) {
        s_killed_before_sending(&mf, order);
        s_killed_after_change(&mf, "in-produktion", s_release, order);
        s_killed_after_change(&mf, "versendet", s_ship, order);
        s_killed_after_change(&mf, "fertig", s_deliver, order);
        TH_CHECK(fl_wait_status(mf.pf.th, order, "fertig", 10000));
        th_check_replay(mf.pf.th, "account");
    }
    mf_destroy(&mf);
    fprintf(stderr, "status_mails_crash: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("status_mails_crash: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
