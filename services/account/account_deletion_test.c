/* account_deletion_test.c: unit tests of the owner's deletion request: RequestDeletion
 * writes one AccountDeletionRequested and a mail in the account's language, a second
 * request answers the open one and writes nothing, SessionInfo, AccountView (GetAccount,
 * FindAccount) and ListDeletionRequests show it until DeleteAccount closes it; the
 * refusals; a restart before the mail; junk in the log; replay. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "account_testrig.h"

static svc_tc_t *s_tc;
static svc_out_t *s_out;
static char s_de[ACC_ID_SIZE], s_en[ACC_ID_SIZE], s_other[ACC_ID_SIZE];
static const char *DE_MAIL = "dora@example.de", *EN_MAIL = "ed@example.org",
                  *OTHER_MAIL = "otto@example.com";
static int64_t s_de_at; /* when s_de asked */

/* ---------------------------------------------------------------- the rig */

static svc_out_t *s_request(const char *account, const char *role, const char *reason)
{
    Tp__Account__RequestDeletion c = TP__ACCOUNT__REQUEST_DELETION__INIT;
    c.reason = (char *) reason;
    return svc_tc_decide(s_tc, "RequestDeletion", role, account, &c.base);
}

/* The reply of the last input as a DeletionRequest (free with svc_tc_free). */
static Tp__Account__DeletionRequest *s_reply(void)
{
    return svc_tc_reply(s_out, &tp__account__deletion_request__descriptor);
}

/* The operators' list now (free with svc_tc_free). */
static Tp__Account__DeletionRequestList *s_list(void)
{
    Tp__Account__ListDeletionRequests q = TP__ACCOUNT__LIST_DELETION_REQUESTS__INIT;
    svc_tc_decide(s_tc, "ListDeletionRequests", "operator", NULL, &q.base);
    return svc_tc_reply(s_out, &tp__account__deletion_request_list__descriptor);
}

/* The account's own view (GetAccount as @p role), or NULL when refused. */
static Tp__Account__AccountView *s_view(const char *account, const char *role)
{
    Tp__Account__GetAccount q = TP__ACCOUNT__GET_ACCOUNT__INIT;
    svc_tc_decide(s_tc, "GetAccount", role, account, &q.base);
    return svc_tc_reply(s_out, &tp__account__account_view__descriptor);
}

static Tp__Account__SessionInfo *s_whoami(const char *account)
{
    Tp__Account__WhoAmI q = TP__ACCOUNT__WHO_AM_I__INIT;
    svc_tc_decide(s_tc, "WhoAmI", "customer", account, &q.base);
    return svc_tc_reply(s_out, &tp__account__session_info__descriptor);
}

/* Sends the pending mail to @p to confirming a deletion request; its body into @p body
 * (caller frees), and checks that none is pending after. */
static void s_send(const char *to, char **body, char *subject, size_t subjectsz)
{
    svc_mail_t m = {0};
    CHECK(acc_tr_pending(s_tc, to, ACC_DELETION_KIND, &m) == 1);
    if (svc_tc_verbose() && m.body)
        printf("---- %s\nTo: %s\nSubject: %s\n\n%s", m.id, m.to, m.subject, m.body);
    snprintf(subject, subjectsz, "%s", m.subject);
    svc_tc_mail_sent(s_tc, m.id);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "MailSent"));
    CHECK(acc_tr_pending(s_tc, to, ACC_DELETION_KIND, NULL) == 0);
    *body = m.body;
}

/* ---------------------------------------------------------------- tests */

/* The owner asks: one event, the reply, the mail in German with the reason. */
static void s_test_request(void)
{
    acc_tr_account(s_tc, DE_MAIL, "de", s_de);
    acc_tr_account(s_tc, EN_MAIL, "en", s_en);
    acc_tr_account(s_tc, OTHER_MAIL, "de", s_other);
    Tp__Account__DeletionRequestList *l = s_list();
    CHECK(l && l->n_requests == 0);
    svc_tc_free(l);
    Tp__Account__SessionInfo *si = s_whoami(s_de);
    CHECK(si && !si->deletion_request);
    svc_tc_free(si);

    s_de_at = svc_tc_now(s_tc);
    s_request(s_de, "customer", "Ich brauche das Konto nicht mehr.\nDanke!");
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "AccountDeletionRequested") &&
          streq(svc_tc_stream(s_out, 0), s_de));
    Tp__Account__AccountDeletionRequested *e =
        svc_tc_event(s_out, 0, &tp__account__account_deletion_requested__descriptor);
    CHECK(e && streq(e->account_id, s_de) && e->requested_at_us == s_de_at &&
          streq(e->reason, "Ich brauche das Konto nicht mehr.\nDanke!"));
    svc_tc_free(e);
    Tp__Account__DeletionRequest *r = s_reply();
    CHECK(r && streq(r->account_id, s_de) && streq(r->email, DE_MAIL) &&
          r->requested_at_us == s_de_at && strstr(r->reason, "nicht mehr"));
    svc_tc_free(r);

    char *body = NULL, subject[256];
    s_send(DE_MAIL, &body, subject, sizeof subject);
    CHECK(streq(subject, "Ihr Antrag auf Löschung Ihres Kontos"));
    CHECK(body && strstr(body, "Guten Tag,") && strstr(body, "Ihre Begründung:\nIch brauche") &&
          strstr(body, "Unser Kundenservice führt die Löschung durch") &&
          strstr(body, "sperrt keine Karte") && strstr(body, "/#/revoke") &&
          strstr(body, "/#/forgot") && strstr(body, ACCOUNT_SUPPORT_PHONE) &&
          strstr(body, "Uhr (UTC)"));
    zstr_free(&body);
}

/* Asked again while open: the open request (its own reason and time), nothing written, no
 * second mail; as an officer too. Another account's request is its own. */
static void s_test_again(void)
{
    svc_tc_advance(s_tc, 60 * ACCOUNT_MINUTE_US);
    s_request(s_de, "customer", "ein anderer Grund");
    CHECK(svc_tc_accepted(s_out, 0));
    Tp__Account__DeletionRequest *r = s_reply();
    CHECK(r && r->requested_at_us == s_de_at && strstr(r->reason, "nicht mehr"));
    svc_tc_free(r);
    s_request(s_de, "officer", "");
    CHECK(svc_tc_accepted(s_out, 0));
    CHECK(acc_tr_pending(s_tc, DE_MAIL, ACC_DELETION_KIND, NULL) == 0);

    /* English, as an officer, without a reason */
    s_request(s_en, "officer", "");
    CHECK(svc_tc_accepted(s_out, 1));
    r = s_reply();
    CHECK(r && streq(r->account_id, s_en) && streq(r->reason, ""));
    svc_tc_free(r);
    char *body = NULL, subject[256];
    s_send(EN_MAIL, &body, subject, sizeof subject);
    CHECK(streq(subject, "Your request to delete your account"));
    CHECK(body && strstr(body, "Hello,") && !strstr(body, "Your reason") &&
          strstr(body, "does not revoke any card") && strstr(body, " UTC") &&
          !strstr(body, "Guten Tag"));
    zstr_free(&body);
}

/* What the account shows: the session, its own view, the operator's, the list. */
static void s_test_shown(void)
{
    Tp__Account__SessionInfo *si = s_whoami(s_de);
    CHECK(si && si->deletion_request && si->deletion_request->requested_at_us == s_de_at &&
          streq(si->deletion_request->email, DE_MAIL));
    svc_tc_free(si);
    si = s_whoami(s_other);
    CHECK(si && !si->deletion_request);
    svc_tc_free(si);
    Tp__Account__AccountView *v = s_view(s_de, "customer");
    CHECK(v && streq(v->account_id, s_de) && streq(v->email, DE_MAIL) &&
          streq(v->status, "active") && streq(v->language, "de") && streq(v->status_mails, "on") &&
          v->registered_at_us > 0 && v->deletion_request &&
          v->deletion_request->requested_at_us == s_de_at);
    svc_tc_free(v);
    v = s_view(s_en, "officer");
    CHECK(v && streq(v->email, EN_MAIL) && v->deletion_request);
    svc_tc_free(v);
    Tp__Account__FindAccount f = TP__ACCOUNT__FIND_ACCOUNT__INIT;
    f.account_id = s_de;
    svc_tc_decide(s_tc, "FindAccount", "operator", NULL, &f.base);
    v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && v->deletion_request && strstr(v->deletion_request->reason, "nicht mehr"));
    svc_tc_free(v);
    /* oldest first, each with its address and reason */
    Tp__Account__DeletionRequestList *l = s_list();
    CHECK(l && l->n_requests == 2);
    if (l && l->n_requests == 2)
        CHECK(streq(l->requests[0]->account_id, s_de) && streq(l->requests[0]->email, DE_MAIL) &&
              l->requests[0]->requested_at_us == s_de_at &&
              streq(l->requests[1]->account_id, s_en) && l->requests[1]->requested_at_us > s_de_at);
    svc_tc_free(l);
}

/* Refusals write nothing. */
static void s_test_refusals(void)
{
    s_request(NULL, "customer", "");
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_request("acc-0000000000000000", "customer", "");
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_request(s_other, "operator", "");
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_request(s_other, "", "");
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    char reason[2 * (ACC_REASON_MAX + 1) + 1];
    for (int i = 0; i <= ACC_REASON_MAX; i++)
        memcpy(reason + 2 * i, "ä", 2);
    reason[2 * (ACC_REASON_MAX + 1)] = '\0'; /* 501 characters */
    s_request(s_other, "customer", reason);
    CHECK(svc_tc_refused(s_out, "invalid", "reason"));
    reason[2 * ACC_REASON_MAX] = '\0'; /* 500: fine, but not now */
    s_request(s_other, "customer", "a bell \a");
    CHECK(svc_tc_refused(s_out, "invalid", "reason"));
    s_request(s_other, "customer", "\xff");
    CHECK(svc_tc_refused(s_out, "invalid", "reason"));
    /* a bad reason is refused also while a request is open */
    s_request(s_de, "customer", "x\x1b[2J");
    CHECK(svc_tc_refused(s_out, "invalid", "reason"));
    Tp__Account__ListDeletionRequests q = TP__ACCOUNT__LIST_DELETION_REQUESTS__INIT;
    svc_tc_decide(s_tc, "ListDeletionRequests", "customer", s_de, &q.base);
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    Tp__Account__AccountView *v = s_view(NULL, "customer");
    CHECK(!v && svc_tc_refused(s_out, "unauthenticated", NULL));
    v = s_view(s_de, "operator");
    CHECK(!v && svc_tc_refused(s_out, "forbidden", NULL));
    /* the rights in the table */
    const svc_command_t *c = svc_tc_command(s_tc, "RequestDeletion");
    CHECK(c && c->who == (SVC_CUSTOMER | SVC_OFFICER) && !c->query &&
          c->reply == &tp__account__deletion_request__descriptor);
    c = svc_tc_command(s_tc, "ListDeletionRequests");
    CHECK(c && c->who == SVC_OPERATOR && c->query);
    c = svc_tc_command(s_tc, "GetAccount");
    CHECK(c && c->who == (SVC_CUSTOMER | SVC_OFFICER) && c->query &&
          c->reply == &tp__account__account_view__descriptor);
    /* the longest reason is taken */
    s_request(s_other, "customer", reason);
    CHECK(svc_tc_accepted(s_out, 1));
}

/* A restart between the request and its mail: the mail is still pending, once; sent, it
 * stays sent. */
static void s_test_restart(void)
{
    CHECK(acc_tr_pending(s_tc, OTHER_MAIL, ACC_DELETION_KIND, NULL) == 1);
    svc_tc_restart(s_tc);
    svc_mail_t m = {0};
    CHECK(acc_tr_pending(s_tc, OTHER_MAIL, ACC_DELETION_KIND, &m) == 1 && m.body &&
          strstr(m.body, "Ihre Begründung:\näää"));
    free(m.body);
    svc_tc_mail_sent(s_tc, m.id);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_restart(s_tc);
    CHECK(acc_tr_pending(s_tc, OTHER_MAIL, ACC_DELETION_KIND, NULL) == 0);
    Tp__Account__DeletionRequestList *l = s_list();
    CHECK(l && l->n_requests == 3);
    svc_tc_free(l);
}

/* The operator deletes: the request is closed, off the list; a deleted account can ask
 * nothing. A mail not yet sent is dropped with the account. */
static void s_test_deleted(void)
{
    char again[ACC_ID_SIZE];
    acc_tr_account(s_tc, "gone@example.org", "en", again);
    s_request(again, "customer", "bye");
    CHECK(svc_tc_accepted(s_out, 1));
    CHECK(acc_tr_pending(s_tc, "gone@example.org", ACC_DELETION_KIND, NULL) == 1);
    Tp__Account__DeleteAccount del = TP__ACCOUNT__DELETE_ACCOUNT__INIT;
    del.account_id = again;
    del.reason = "as the owner asked";
    svc_tc_decide(s_tc, "DeleteAccount", "operator", NULL, &del.base);
    CHECK(!svc_out_failed(s_out));
    Tp__Account__AccountView *v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && streq(v->status, "deleted") && !v->deletion_request);
    svc_tc_free(v);
    /* its personal data is erased with it (the runtime deletes the subject's key) */
    char subject[ACC_ID_SIZE + 16];
    snprintf(subject, sizeof subject, "account:%s", again);
    CHECK(svc_out_n_erasures(s_out) == 1 && streq(svc_out_erasure_at(s_out, 0), subject));
    CHECK(acc_tr_pending(s_tc, "gone@example.org", ACC_DELETION_KIND, NULL) == 0);
    del.account_id = s_de;
    svc_tc_decide(s_tc, "DeleteAccount", "operator", NULL, &del.base);
    CHECK(!svc_out_failed(s_out));
    Tp__Account__DeletionRequestList *l = s_list();
    CHECK(l && l->n_requests == 2);
    for (size_t i = 0; l && i < l->n_requests; i++)
        CHECK(!streq(l->requests[i]->account_id, s_de) &&
              !streq(l->requests[i]->account_id, again));
    svc_tc_free(l);
    s_request(s_de, "customer", "");
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    Tp__Account__FindAccount f = TP__ACCOUNT__FIND_ACCOUNT__INIT;
    f.account_id = s_de;
    svc_tc_decide(s_tc, "FindAccount", "operator", NULL, &f.base);
    v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && streq(v->status, "deleted") && !v->deletion_request && streq(v->email, ""));
    svc_tc_free(v);
}

/* A registration never confirmed ends a week after its last link expired, and its data
 * is erased; the address can register anew. */
static void s_test_expired(void)
{
    Tp__Account__Register reg = TP__ACCOUNT__REGISTER__INIT;
    reg.email = "late@example.org";
    reg.password = "$argon2id$v=19$m=19456,t=2,p=1$c3RhbmQtaW4$c3RhbmQtaW4";
    reg.language = "en";
    CHECK(svc_tc_do(s_tc, "Register", "", NULL, &reg.base) == 1);
    const acc_account_t *a = acc_find_email(svc_tc_state(s_tc), "late@example.org");
    CHECK(a && a->status == ACC_UNCONFIRMED);
    char id[ACC_ID_SIZE];
    snprintf(id, sizeof id, "%s", a ? a->id : "");
    int64_t t0 = svc_tc_now(s_tc);
    /* the link expired, but a new one may still be asked for: nothing ends yet */
    svc_tc_set_now(s_tc, t0 + ACCOUNT_CONFIRM_VALID_US + ACCOUNT_UNCONFIRMED_KEEP_US - 60000000);
    svc_tc_tick(s_tc);
    CHECK(svc_out_n_erasures(s_out) == 0);
    svc_tc_commit(s_tc);
    svc_tc_set_now(s_tc, t0 + ACCOUNT_CONFIRM_VALID_US + ACCOUNT_UNCONFIRMED_KEEP_US + 1);
    svc_out_t *out = svc_tc_tick(s_tc);
    bool expired = false;
    for (size_t i = 0; i < svc_out_n_events(out); i++) {
        const char *type = NULL;
        svc_out_event_at(out, i, &type, NULL, NULL, NULL);
        expired |= streq(type, "RegistrationExpired");
    }
    char subject[ACC_ID_SIZE + 16];
    snprintf(subject, sizeof subject, "account:%s", id);
    CHECK(expired && svc_out_n_erasures(out) == 1 && streq(svc_out_erasure_at(out, 0), subject));
    svc_tc_commit(s_tc);
    a = acc_find(svc_tc_state(s_tc), id);
    CHECK(a && a->status == ACC_DELETED && !a->email && !a->password_hash);
    CHECK(!acc_find_email(svc_tc_state(s_tc), "late@example.org"));
    /* the next tick has nothing more to do with it */
    svc_tc_tick(s_tc);
    CHECK(svc_out_n_erasures(s_out) == 0);
    svc_tc_commit(s_tc);
    CHECK(svc_tc_do(s_tc, "Register", "", NULL, &reg.base) == 1);
    a = acc_find_email(svc_tc_state(s_tc), "late@example.org");
    CHECK(a && a->status == ACC_UNCONFIRMED && !streq(a->id, id));
}

/* Apply takes every log: junk, unknown accounts, a second event for an open request. */
static void s_test_bad_events(void)
{
    void *st = account_def.state_new();
    uint8_t junk[] = {0x0a, 0xff, 0xff};
    Tp__Account__AccountDeletionRequested e = TP__ACCOUNT__ACCOUNT_DELETION_REQUESTED__INIT;
    e.account_id = "acc-nobody";
    e.requested_at_us = 1;
    uint8_t buf[128];
    size_t len = tp__account__account_deletion_requested__pack(&e, buf);
    svc_event_t evs[] = {{1, "x", 1, "AccountDeletionRequested", 0, junk, sizeof junk},
                         {2, "x", 1, "AccountDeletionRequested", 0, buf, len},
                         {3, "x", 1, "AccountDeletionRequested", 0, NULL, 0}};
    for (size_t k = 0; k < 3; k++)
        account_def.apply(st, &evs[k]);
    char *sum = account_def.summary(st);
    CHECK(sum && strstr(sum, "\"pendingMails\":0,") && strstr(sum, "\"deletionRequests\":0,"));
    free(sum);
    account_def.state_destroy(&st);
    /* written twice by hand for an open request: the first stays */
    e.account_id = s_en;
    e.reason = "later";
    e.requested_at_us = svc_tc_now(s_tc) + 1;
    len = tp__account__account_deletion_requested__pack(&e, buf);
    st = svc_tc_rebuild(s_tc);
    svc_event_t twice = {1000, s_en, 9, "AccountDeletionRequested", 0, buf, len};
    account_def.apply(st, &twice);
    const acc_account_t *a = acc_find(st, s_en);
    CHECK(a && a->deletion_at_us && a->deletion_at_us < e.requested_at_us &&
          streq(a->deletion_reason, ""));
    account_def.state_destroy(&st);
}

/* The state rebuilt from the log equals the live one. */
static void s_test_replay(void)
{
    acc_tr_check_replay(s_tc, "\"deletionRequests\":2,");
}

static void s_setup(void)
{
    acc_tr_start(&s_tc, &s_out);
}

static void s_teardown(void)
{
    svc_tc_destroy(&s_tc);
}

/* The tests follow each other on the same state. */
static const svc_tc_test_t s_tests[] = {
    {"request", s_test_request, "deletion"},
    {"again", s_test_again, "deletion"},
    {"shown", s_test_shown, "deletion"},
    {"refusals", s_test_refusals, "deletion"},
    {"restart", s_test_restart, "deletion"},
    {"deleted", s_test_deleted, "deletion"},
    {"expired", s_test_expired, "deletion"},
    {"bad_events", s_test_bad_events, "deletion"},
    {"replay", s_test_replay, "deletion"},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv,
                       &(svc_tc_suite_t){"account_deletion_test", s_tests, s_setup, s_teardown});
}
