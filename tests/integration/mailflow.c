/* mailflow.c: the five daemons mailing to a real SMTP server, an owner and the steps
 * that change what the owner sees, for the tests of the status and revocation mails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailflow.h"
#include "prodflow_internal.h"

bool mf_setup(mf_t *mf, const char *name, const char *email, const char *language)
{
    memset(mf, 0, sizeof *mf);
    th_t *th = mf->pf.th = th_new(name);
    if (!th)
        return false;
    mf->smtp_port = th_smtp_start(th);
    if (mf->smtp_port < 0) {
        fprintf(stderr, "mailflow: the SMTP server (python3-aiosmtpd) did not come up\n");
        return false;
    }
    fl_configure(th, mf->smtp_port);
    th_set(th, "production/activation_delay_s", PF_ACTIVATION_S);
    th_set(th, "revocation/processing_delay_s", PF_PROCESSING_S);
    for (size_t i = 0; i < 5; i++)
        if (th_start(th, th_exe_of(pf_services[i]), pf_services[i], 15000) <= 0) {
            fprintf(stderr, "mailflow: %s did not come up\n", pf_services[i]);
            return false;
        }
    if (!fl_signup_in(th, email, language, &mf->owner))
        return false;
    mf->pf.owner = mf->owner; /* pf_wait_product asks as the owner */
    return true;
}

void mf_destroy(mf_t *mf)
{
    th_destroy(&mf->pf.th);
}

bool mf_order(mf_t *mf, char *order, size_t ordersz)
{
    th_t *th = mf->pf.th;
    fl_order_t o;
    fl_order_init(&o, "signature-card", NULL, "postident");
    char number[32] = "";
    return fl_place(th, &mf->owner, NULL, &o, order, ordersz) &&
           fl_wait_postident(th, order, number, sizeof number, 15000) &&
           fl_postident_ok(th, number, NULL, "PI-TX-0815") &&
           fl_wait_step(th, order, "identification", 15000);
}

bool mf_operator(mf_t *mf, const char *what, const char *order, const char *text)
{
    /* the three commands have the same fields: order_id, then a text */
    Tp__Order__RecordDataProblem cmd = TP__ORDER__RECORD_DATA_PROBLEM__INIT;
    cmd.order_id = (char *) order;
    cmd.reason = (char *) (text ? text : "");
    const char *name = streq(what, "problem")   ? "order.RecordDataProblem"
                       : streq(what, "resolve") ? "order.ResolveDataProblem"
                                                : "order.RecordApplicationReceived";
    Tp__Reply *r = th_call_as(mf->pf.th, "order", &fl_operator, NULL, name, &cmd.base, FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log(name, r);
    th_reply_free(&r);
    return ok;
}

bool mf_fact(mf_t *mf, const char *kind, const char *order)
{
    char fact[128];
    snprintf(fact, sizeof fact, "mailflow:%s:%s", order, kind);
    pf_ack_t a = pf_fact(&mf->pf, PF_VIA_ROUTER, kind, 0, order, fact);
    if (!a.ok || a.duplicate)
        fprintf(stderr, "mailflow: fact %s: ok %d duplicate %d [%s %s: %s]\n", fact, a.ok,
                a.duplicate, a.code, a.field, a.message);
    return a.ok && !a.duplicate;
}

void mf_tracking(const char *order, char *out, size_t outsz)
{
    char digits[32];
    pf_digits(order, digits, sizeof digits);
    snprintf(out, outsz, "RR%sDE", digits); /* as pf_fact makes it */
}

int mf_count(mf_t *mf, const char *kind)
{
    char id[80];
    snprintf(id, sizeof id, "Message-ID: <%s.", kind);
    return th_mail_count(mf->pf.th, NULL, mf->owner.email, id);
}

char *mf_mail(mf_t *mf, const char *kind, const char *needle)
{
    char id[80];
    snprintf(id, sizeof id, "Message-ID: <%s.", kind);
    char *m = th_mail_wait(mf->pf.th, NULL, mf->owner.email, needle, 0);
    if (m && !strstr(m, id)) {
        fprintf(stderr, "mailflow: the mail with \"%s\" is not one of %s:\n%s\n", needle, kind, m);
        zstr_free(&m);
    }
    return m;
}

int mf_wait(mf_t *mf, const char *kind, int n, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    int got = mf_count(mf, kind);
    while (got < n && zclock_mono() < deadline) {
        zclock_sleep(50);
        got = mf_count(mf, kind);
    }
    if (got != n)
        fprintf(stderr, "mailflow: %d mails of %s to %s after %d ms, not %d\n", got, kind,
                mf->owner.email, timeout_ms, n);
    return got;
}

bool mf_quiet(mf_t *mf, int timeout_ms)
{
    th_t *th = mf->pf.th;
    int64_t deadline = zclock_mono() + timeout_ms;
    char digest[128], pending[16] = "";
    while (zclock_mono() < deadline) {
        int left = (int) (deadline - zclock_mono());
        char *s = th_settle(th, "account", digest, sizeof digest, 300, left > 0 ? left : 1)
                      ? th_summary(th, "account")
                      : NULL;
        bool none =
            s && th_json_str(s, "pendingMails", pending, sizeof pending) && streq(pending, "0");
        free(s);
        if (none)
            return true;
        zclock_sleep(100);
    }
    fprintf(stderr,
            "mailflow: the account service is not quiet after %d ms (%s mails "
            "pending)\n",
            timeout_ms, pending);
    return false;
}
