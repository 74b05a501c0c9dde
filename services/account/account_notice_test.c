/* account_notice_test.c: unit tests of the account core's notices: each upstream event
 * that matters makes one NoticeDue and one pending mail until its MailSent, in the
 * account's language; the owner is learned from whichever upstream names it first; the
 * status-mail setting (SetNotifications) and revocation notices that go regardless; a
 * restart between the change and the mail; deletion; bad events; replay. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "account_testrig.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"

static svc_tc_t *s_tc;
static svc_out_t *s_out;
static char s_de[ACC_ID_SIZE], s_en[ACC_ID_SIZE]; /* two owners, German and English */
static const char *DE_MAIL = "dora@example.de", *EN_MAIL = "ed@example.org";

/* ---------------------------------------------------------------- the rig */

static void s_account(const char *email, const char *lang, char *id)
{
    acc_tr_account(s_tc, email, lang, id);
}

static size_t s_pending(const char *to, const char *kind, svc_mail_t *mail)
{
    return acc_tr_pending(s_tc, to, kind, mail);
}

/* All pending mails. */
static size_t s_all_pending(void)
{
    svc_mail_t mails[32];
    size_t n = svc_tc_mails(s_tc, mails, 32);
    for (size_t i = 0; i < n; i++)
        free(mails[i].body);
    return n;
}

/* The NoticeDue of the last input (NULL when there is none). Free with svc_tc_free. */
static Tp__Account__NoticeDue *s_due(void)
{
    for (size_t i = 0; i < svc_out_n_events(s_out); i++)
        if (streq(svc_tc_type(s_out, i), "NoticeDue"))
            return svc_tc_event(s_out, i, &tp__account__notice_due__descriptor);
    return NULL;
}

/* Sends the mail of @p kind to @p to and records it: exactly one was pending, its
 * subject and body contain @p subject and @p body (each may be NULL), and none after. */
static void s_sent(const char *to, const char *kind, const char *subject, const char *body)
{
    svc_mail_t m = {0};
    CHECK(s_pending(to, kind, &m) == 1);
    bool ok = m.body && (!subject || strstr(m.subject, subject)) && (!body || strstr(m.body, body));
    if (!ok)
        fprintf(stderr, "mail %s to %s:\nSubject: %s\n%s\n(wanted \"%s\" and \"%s\")\n", kind, to,
                m.subject, m.body ? m.body : "(none)", subject ? subject : "", body ? body : "");
    CHECK(ok);
    if (svc_tc_verbose())
        printf("---- %s\nTo: %s\nSubject: %s\n\n%s", m.id, m.to, m.subject, m.body ? m.body : "");
    svc_tc_mail_sent(s_tc, m.id);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "MailSent"));
    CHECK(s_pending(to, kind, NULL) == 0);
    svc_tc_mail_sent(s_tc, m.id); /* again: nothing */
    CHECK(svc_tc_accepted(s_out, 0));
    free(m.body);
}

static void s_placed(const char *order, const char *account)
{
    Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
    e.order_id = (char *) order;
    e.account_id = (char *) account;
    e.product_id = "signature-card";
    svc_tc_react(s_tc, "order", NULL, &e.base);
}

static void s_problem(const char *order, const char *reason)
{
    Tp__Order__DataProblemRecorded e = TP__ORDER__DATA_PROBLEM_RECORDED__INIT;
    e.order_id = (char *) order;
    e.reason = (char *) reason;
    e.at_us = svc_tc_now(s_tc);
    svc_tc_react(s_tc, "order", NULL, &e.base);
}

static void s_released(const char *order, const char *account)
{
    Tp__Order__OrderReleasedForProduction e = TP__ORDER__ORDER_RELEASED_FOR_PRODUCTION__INIT;
    e.order_id = (char *) order;
    e.account_id = (char *) account;
    svc_tc_react(s_tc, "order", NULL, &e.base);
}

static void s_shipped(const char *order, const char *tracking)
{
    Tp__Order__OrderShipped e = TP__ORDER__ORDER_SHIPPED__INIT;
    e.order_id = (char *) order;
    e.tracking_number = (char *) tracking;
    char product[80];
    snprintf(product, sizeof product, "prd-%s", order);
    e.card_product_id = product;
    svc_tc_react(s_tc, "order", NULL, &e.base);
}

static void s_delivered(const char *order)
{
    Tp__Order__OrderDelivered e = TP__ORDER__ORDER_DELIVERED__INIT;
    e.order_id = (char *) order;
    svc_tc_react(s_tc, "order", NULL, &e.base);
}

static void s_activated(const char *order)
{
    Tp__Production__ProductActivated e = TP__PRODUCTION__PRODUCT_ACTIVATED__INIT;
    char product[80];
    snprintf(product, sizeof product, "prd-%s", order);
    e.product_id = product;
    e.order_id = (char *) order;
    svc_tc_react(s_tc, "production", NULL, &e.base);
}

static void s_requested(const char *order, const char *request, const char *how, const char *reason)
{
    Tp__Revocation__RevocationRequested e = TP__REVOCATION__REVOCATION_REQUESTED__INIT;
    char product[80];
    snprintf(product, sizeof product, "prd-%s", order);
    e.request_id = (char *) request;
    e.product_id = product;
    e.order_id = (char *) order;
    e.reason = (char *) reason;
    e.requested_by = "anonymous";
    e.authenticated_by = (char *) how;
    e.received_at_us = svc_tc_now(s_tc);
    svc_tc_react(s_tc, "revocation", NULL, &e.base);
}

static void s_completed(const char *order, const char *request)
{
    Tp__Revocation__RevocationCompleted e = TP__REVOCATION__REVOCATION_COMPLETED__INIT;
    char product[80];
    snprintf(product, sizeof product, "prd-%s", order);
    e.request_id = (char *) request;
    e.product_id = product;
    e.completed_at_us = svc_tc_now(s_tc);
    e.reason = "card_lost";
    svc_tc_react(s_tc, "revocation", NULL, &e.base);
}

static svc_out_t *s_set(const char *account, const char *role, const char *value)
{
    Tp__Account__SetNotifications c = TP__ACCOUNT__SET_NOTIFICATIONS__INIT;
    c.status_mails = (char *) value;
    return svc_tc_decide(s_tc, "SetNotifications", role, account, &c.base);
}

/* ---------------------------------------------------------------- tests */

/* Whose order it is: learned from whichever upstream names it first, once. */
static void s_test_owner(void)
{
    s_account(DE_MAIL, "de", s_de);
    s_account(EN_MAIL, "en", s_en);
    CHECK(s_all_pending() == 0);
    s_placed("TP-2026-000001", s_de);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "OrderKnown") &&
          streq(svc_tc_stream(s_out, 0), s_de));
    s_placed("TP-2026-000001", s_de); /* known: nothing */
    CHECK(svc_tc_accepted(s_out, 0));
    Tp__Production__JobOpened job = TP__PRODUCTION__JOB_OPENED__INIT;
    job.order_id = "TP-2026-000001";
    job.account_id = s_de;
    svc_tc_react(s_tc, "production", NULL, &job.base);
    CHECK(svc_tc_accepted(s_out, 0));
    /* production before order: the job names the account */
    job.order_id = "TP-2026-000002";
    job.account_id = s_en;
    svc_tc_react(s_tc, "production", NULL, &job.base);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "OrderKnown"));
    s_placed("TP-2026-000002", s_en);
    CHECK(svc_tc_accepted(s_out, 0));
    /* revocation before both: its ProductKnown with the account (and not those without) */
    Tp__Revocation__ProductKnown pk = TP__REVOCATION__PRODUCT_KNOWN__INIT;
    pk.order_id = "TP-2026-000003";
    pk.learned_from = "CardShipped";
    svc_tc_react(s_tc, "revocation", NULL, &pk.base);
    CHECK(svc_tc_accepted(s_out, 0));
    pk.account_id = s_en;
    pk.learned_from = "OrderPlaced";
    svc_tc_react(s_tc, "revocation", NULL, &pk.base);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "OrderKnown"));
    /* an account not known here: nothing, and a line in the log */
    s_placed("TP-2026-000099", "acc-ffffffffffffffff");
    CHECK(svc_tc_accepted(s_out, 0) && svc_tc_logs(s_out, 'W', "TP-2026-000099") == 1);
    const acc_state_t *st = svc_tc_state(s_tc);
    CHECK(zhashx_size(st->orders) == 3);
}

/* What the mail of one change must say: in its subject and in its body. */
typedef struct {
    const char *subject, *body;
} s_want_t;

/* The five status changes of @p order of @p account (mails to @p to), each with one
 * NoticeDue that says what the mail will, and the mail as @p want says, in turn:
 * Wartend (@p reason), In Produktion, Versendet (@p tracking), Fertig, Gültig. */
static void s_statuses(const char *to, const char *account, const char *order, const char *reason,
                       const char *tracking, const s_want_t want[5])
{
    static const char *const kinds[5] = {"wartend", "in-produktion", "versendet", "fertig",
                                         "gueltig"};
    char product[80];
    snprintf(product, sizeof product, "prd-%s", order);
    for (int i = 0; i < 5; i++) {
        if (i == 0)
            s_problem(order, reason);
        else if (i == 1)
            s_released(order, account);
        else if (i == 2)
            s_shipped(order, tracking);
        else if (i == 3)
            s_delivered(order);
        else
            s_activated(order);
        Tp__Account__NoticeDue *d = s_due();
        char id[64];
        snprintf(id, sizeof id, "%s:%s#", kinds[i], i == 4 ? "production" : "order");
        CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_stream(s_out, 0), account));
        CHECK(d && streq(d->kind, kinds[i]) && streq(d->account_id, account) &&
              streq(d->order_id, order) && strncmp(d->mail_id, id, strlen(id)) == 0 &&
              d->at_us > 0);
        CHECK(d && streq(d->detail, i == 0 ? reason : i == 2 ? tracking : ""));
        CHECK(d && streq(d->product_id, i == 2 || i == 4 ? product : ""));
        svc_tc_free(d);
        s_sent(to, kinds[i], want[i].subject, want[i].body);
    }
}

/* Every change that matters, one NoticeDue and one mail each, in German. */
static void s_test_each_de(void)
{
    const char *o = "TP-2026-000001";
    static const s_want_t want[5] = {
        {"Bestellung TP-2026-000001: Wartend", "  Die Kopie Ihres Ausweises ist unleserlich.\n"},
        {"Bestellung TP-2026-000001: In Produktion", "Status „In Produktion“"},
        {"Bestellung TP-2026-000001: Versendet",
         "Sendungsnummer des Einschreibens: RR123456785DE\n"},
        {"Bestellung TP-2026-000001: Fertig", "„Meine Produkte“"},
        {"Ihre Karte ist freigeschaltet (Bestellung TP-2026-000001)", "Status „Gültig“"},
    };
    s_statuses(DE_MAIL, s_de, o, "Die Kopie Ihres Ausweises ist unleserlich.", "RR123456785DE",
               want);
    /* a data problem without a reason: what the FAQ says */
    svc_mail_t m = {0};
    s_problem(o, "");
    CHECK(s_pending(DE_MAIL, "wartend", &m) == 1 && m.body &&
          strstr(m.body, "Ihre Angaben sind fehlerhaft oder noch unvollständig") &&
          strstr(m.body, "Kundenservice tritt mit Ihnen in Kontakt") &&
          strstr(m.body, ACCOUNT_SUPPORT_PHONE) &&
          strstr(m.body, "http://localhost:8080/#/orders") &&
          strstr(m.body, "im Portal\nabschalten") && strstr(m.body, "Guten Tag,"));
    svc_tc_mail_sent(s_tc, m.id);
    free(m.body);
    Tp__Account__NoticeDue *d = NULL;
    /* revocation by password: how, why, and what to do if it was not the owner */
    s_requested(o, "rev-0001", "revocation_password", "suspected_misuse");
    d = s_due();
    CHECK(d && streq(d->kind, "revocation-requested") && streq(d->detail, "revocation_password") &&
          streq(d->request_id, "rev-0001") && streq(d->reason, "suspected_misuse"));
    svc_tc_free(d);
    CHECK(s_pending(DE_MAIL, "revocation-requested", &m) == 1 && m.body &&
          strstr(m.subject, "Sperrung Ihrer Karte beauftragt (Bestellung TP-2026-000001)") &&
          strstr(m.body, "mit dem Sperrkennwort Ihrer Bestellung, ohne Anmeldung") &&
          strstr(m.body, "Verdacht auf missbräuchliche Nutzung") && strstr(m.body, "rev-0001") &&
          strstr(m.body, "Haben Sie die Sperrung nicht beauftragt?") &&
          strstr(m.body, ACCOUNT_SUPPORT_PHONE) && strstr(m.body, ACCOUNT_SUPPORT_MAIL) &&
          strstr(m.body, "kennt jemand Ihr Sperrkennwort") && strstr(m.body, " Uhr (UTC)") &&
          !strstr(m.body, "abschalten"));
    free(m.body);
    s_sent(DE_MAIL, "revocation-requested", NULL, NULL);
    CHECK(zhashx_size(((acc_state_t *) svc_tc_state(s_tc))->revocations) == 1);
    s_completed(o, "rev-0001");
    d = s_due();
    CHECK(d && streq(d->kind, "revocation-completed") && streq(d->order_id, o));
    svc_tc_free(d);
    s_sent(DE_MAIL, "revocation-completed", "Ihre Karte ist gesperrt (Bestellung TP-2026-000001)",
           "(Status „Gesperrt“)");
    CHECK(zhashx_size(((acc_state_t *) svc_tc_state(s_tc))->revocations) == 0);
    /* a completion nobody was told of the request of: nothing */
    s_completed(o, "rev-unknown");
    CHECK(svc_tc_accepted(s_out, 0));
    CHECK(s_all_pending() == 0);
}

/* The same in English, and each way a revocation can be asked for. */
static void s_test_each_en(void)
{
    const char *o = "TP-2026-000002";
    static const s_want_t want[5] = {
        {"Order TP-2026-000002: Waiting",
         "This is needed:\n\n  The organization's register number is missing.\n"},
        {"Order TP-2026-000002: In production", "\"In production\""},
        {"Order TP-2026-000002: Shipped", "Tracking number of the letter: RR987654321DE\n"},
        {"Order TP-2026-000002: Completed", "\"My products\""},
        {"Your card is activated (order TP-2026-000002)", "\"Valid\""},
    };
    s_statuses(EN_MAIL, s_en, o, "The organization's register number is missing.", "RR987654321DE",
               want);
    static const struct {
        const char *how, *says, *not_you;
    } ways[] = {
        {"session", "in the portal, from your logged-in account", "/#/forgot"},
        {"revocation_password", "with your order's revocation password",
         "someone knows your revocation password"},
        {"officer", "by an officer of your organization's shop", "ask your organization"},
        {"operator", "by our customer service on behalf of a caller", "who called us"},
        {"", "in another way", "Please contact us at once"},
    };
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        char request[32];
        snprintf(request, sizeof request, "rev-en-%zu", i);
        s_requested(o, request, ways[i].how, i == 0 ? "card_lost" : "other");
        svc_mail_t m = {0};
        CHECK(s_pending(EN_MAIL, "revocation-requested", &m) == 1);
        bool ok = m.body && strstr(m.subject, "Revocation of your card requested") &&
                  strstr(m.body, ways[i].says) && strstr(m.body, ways[i].not_you) &&
                  strstr(m.body, "Did you not ask for this revocation?") &&
                  strstr(m.body, ACCOUNT_SUPPORT_PHONE) && strstr(m.body, request) &&
                  strstr(m.body, i == 0 ? "Card lost" : "Other reason") && strstr(m.body, "Hello,");
        if (!ok)
            fprintf(stderr, "%s\n", m.body ? m.body : "(none)");
        CHECK(ok);
        svc_tc_mail_sent(s_tc, m.id);
        free(m.body);
        s_completed(o, request);
        s_sent(EN_MAIL, "revocation-completed", "Your card is revoked (order TP-2026-000002)",
               "(status \"Revoked\")");
    }
    /* another base URL for the links */
    zconfig_t *config = zconfig_new("root", NULL);
    zconfig_put(config, "account/base_url", "https://portal.example.org/");
    svc_tc_configure(s_tc, &config);
    s_delivered(o);
    s_sent(EN_MAIL, "fertig", NULL, "https://portal.example.org/#/products");
}

/* A wrong revocation password for an owner's number: a mail when the revocation service
 * says to tell (the first failure, then at most one a day), none otherwise. */
static void s_test_attempts(void)
{
    Tp__Revocation__RevocationAttemptFailed e = TP__REVOCATION__REVOCATION_ATTEMPT_FAILED__INIT;
    e.number_hash = "0123456789abcdef";
    e.client_addr = "203.0.113.66";
    e.at_us = svc_tc_now(s_tc);
    e.order_id = "TP-2026-000001";
    svc_tc_react(s_tc, "revocation", NULL, &e.base);
    CHECK(svc_tc_accepted(s_out, 0));
    e.order_id = "";   /* not one the revocation service writes: refused, nobody told */
    e.tell_owner = true;
    svc_tc_react(s_tc, "revocation", NULL, &e.base);
    CHECK(svc_out_failed(s_out) && svc_out_n_events(s_out) == 0 && s_all_pending() == 0);
    e.order_id = "TP-2026-000001";
    svc_tc_react(s_tc, "revocation", NULL, &e.base);
    Tp__Account__NoticeDue *d = s_due();
    CHECK(d && streq(d->kind, "revocation-attempt") && streq(d->account_id, s_de) &&
          d->at_us == e.at_us);
    svc_tc_free(d);
    s_sent(DE_MAIL, "revocation-attempt",
           "Fehlgeschlagener Sperrversuch für Ihre Karte (Bestellung TP-2026-000001)",
           "Solche Versuche hindern Sie nie am Sperren");
    e.order_id = "TP-2026-000002";
    svc_tc_react(s_tc, "revocation", NULL, &e.base);
    s_sent(EN_MAIL, "revocation-attempt", "A failed attempt to revoke your card (order TP-2026-000002)",
           "Such attempts never stop you from revoking");
    CHECK(s_all_pending() == 0);
}

/* Status mails off: no status notices; revocation notices all the same. */
static void s_test_setting(void)
{
    const char *o = "TP-2026-000003"; /* s_en's, learned from revocation */
    s_set(s_en, "customer", "off");
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "NotificationsChanged"));
    Tp__Account__Notifications *r = svc_tc_reply(s_out, &tp__account__notifications__descriptor);
    CHECK(r && streq(r->status_mails, "off"));
    svc_tc_free(r);
    s_set(s_en, "officer", "off"); /* already so: nothing written */
    CHECK(svc_tc_accepted(s_out, 0));
    r = svc_tc_reply(s_out, &tp__account__notifications__descriptor);
    CHECK(r && streq(r->status_mails, "off"));
    svc_tc_free(r);
    Tp__Account__WhoAmI w = TP__ACCOUNT__WHO_AM_I__INIT;
    svc_tc_decide(s_tc, "WhoAmI", "customer", s_en, &w.base);
    Tp__Account__SessionInfo *si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && streq(si->status_mails, "off"));
    svc_tc_free(si);
    Tp__Account__FindAccount f = TP__ACCOUNT__FIND_ACCOUNT__INIT;
    f.account_id = s_de;
    svc_tc_decide(s_tc, "FindAccount", "operator", NULL, &f.base);
    Tp__Account__AccountView *v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && streq(v->status_mails, "on"));
    svc_tc_free(v);
    s_problem(o, "x");
    CHECK(svc_tc_accepted(s_out, 0));
    s_released(o, s_en);
    CHECK(svc_tc_accepted(s_out, 0));
    s_shipped(o, "RR1DE");
    CHECK(svc_tc_accepted(s_out, 0));
    s_delivered(o);
    CHECK(svc_tc_accepted(s_out, 0));
    s_activated(o);
    CHECK(svc_tc_accepted(s_out, 0));
    CHECK(s_all_pending() == 0);
    s_requested(o, "rev-3", "session", "card_lost");
    CHECK(svc_tc_accepted(s_out, 1));
    s_sent(EN_MAIL, "revocation-requested", NULL, "from your logged-in account");
    s_completed(o, "rev-3");
    CHECK(svc_tc_accepted(s_out, 1));
    s_sent(EN_MAIL, "revocation-completed", NULL, NULL);
    /* the German owner's mails go on meanwhile */
    s_delivered("TP-2026-000001");
    s_sent(DE_MAIL, "fertig", NULL, NULL);
    /* on again */
    s_set(s_en, "customer", "on");
    CHECK(svc_tc_accepted(s_out, 1));
    Tp__Account__NotificationsChanged *nc =
        svc_tc_event(s_out, 0, &tp__account__notifications_changed__descriptor);
    CHECK(nc && nc->status_mails && streq(nc->account_id, s_en));
    svc_tc_free(nc);
    s_delivered(o);
    s_sent(EN_MAIL, "fertig", NULL, "the order is complete");
    /* refusals write nothing */
    s_set(NULL, "customer", "off");
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_set("acc-0000000000000000", "customer", "off");
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_set(s_en, "operator", "off");
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_set(s_en, "customer", "");
    CHECK(svc_tc_refused(s_out, "invalid", "statusMails"));
    s_set(s_en, "customer", "OFF");
    CHECK(svc_tc_refused(s_out, "invalid", "statusMails"));
    const svc_command_t *cmd = svc_tc_command(s_tc, "SetNotifications");
    CHECK(cmd && cmd->who == (SVC_CUSTOMER | SVC_OFFICER) && !cmd->query &&
          cmd->reply == &tp__account__notifications__descriptor);
}

/* A restart between the change and the mail: the mail is still pending, once; a restart
 * after MailSent: gone. The same event handed over twice makes one notice. */
static void s_test_restart(void)
{
    const char *o = "TP-2026-000001";
    s_problem(o, "Unterschrift fehlt");
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_restart(s_tc);
    svc_mail_t m = {0};
    CHECK(s_pending(DE_MAIL, "wartend", &m) == 1 && m.body && strstr(m.body, "Unterschrift fehlt"));
    svc_tc_restart(s_tc);
    svc_mail_t again = {0};
    CHECK(s_pending(DE_MAIL, "wartend", &again) == 1 && streq(again.id, m.id) &&
          streq(again.body, m.body) && streq(again.subject, m.subject));
    free(again.body);
    svc_tc_mail_sent(s_tc, m.id);
    svc_tc_restart(s_tc);
    CHECK(s_pending(DE_MAIL, "wartend", NULL) == 0 && s_all_pending() == 0);
    /* one upstream event twice (the runtime never does this): one pending mail */
    Tp__Order__OrderDelivered e = TP__ORDER__ORDER_DELIVERED__INIT;
    e.order_id = (char *) o;
    uint8_t buf[64];
    size_t len = tp__order__order_delivered__pack(&e, buf);
    svc_event_t ev = {4242, "order-x", 9, "OrderDelivered", svc_tc_now(s_tc), buf, len};
    svc_out_t *out = svc_out_new();
    account_def.react(svc_tc_state(s_tc), "order", &ev, out);
    CHECK(svc_out_n_events(out) == 1);
    const char *type, *stream;
    const uint8_t *payload;
    size_t plen;
    svc_out_event_at(out, 0, &type, &stream, &payload, &plen);
    svc_event_t own = {1000, stream, 1, type, svc_tc_now(s_tc), payload, plen};
    account_def.apply(svc_tc_state(s_tc), &own);
    svc_out_reset(out);
    account_def.react(svc_tc_state(s_tc), "order", &ev, out);
    CHECK(svc_out_n_events(out) == 0 && svc_out_n_errors(out) == 0);
    CHECK(s_pending(DE_MAIL, "fertig", &m) == 1 && streq(m.id, "fertig:order#4242"));
    svc_out_destroy(&out);
    free(m.body);
    svc_tc_restart(s_tc); /* the hand-applied event is not in the log: gone again */
    CHECK(s_all_pending() == 0);
}

/* A deleted account: its pending notices and open revocations go, and no new ones come. */
static void s_test_deleted(void)
{
    const char *o = "TP-2026-000002";
    s_problem(o, "x");
    s_requested(o, "rev-del", "operator", "other");
    CHECK(s_pending(EN_MAIL, "wartend", NULL) == 1 &&
          s_pending(EN_MAIL, "revocation-requested", NULL) == 1);
    Tp__Account__DeleteAccount del = TP__ACCOUNT__DELETE_ACCOUNT__INIT;
    del.account_id = s_en;
    del.reason = "asked for by phone";
    svc_tc_decide(s_tc, "DeleteAccount", "operator", NULL, &del.base);
    CHECK(!svc_out_failed(s_out));
    CHECK(s_all_pending() == 0);
    const acc_state_t *st = svc_tc_state(s_tc);
    CHECK(zhashx_size(st->revocations) == 0);
    s_completed(o, "rev-del");
    CHECK(svc_tc_accepted(s_out, 0));
    s_requested(o, "rev-del-2", "session", "other");
    CHECK(svc_tc_accepted(s_out, 0));
    s_delivered(o);
    CHECK(svc_tc_accepted(s_out, 0));
}

/* Events that cannot be told of are refused (the runtime logs them), and never crash. */
static void s_test_bad_events(void)
{
    uint8_t junk[] = {0x0a, 0xff, 0xff};
    static const char *const types[] = {"OrderPlaced",
                                        "DataProblemRecorded",
                                        "OrderReleasedForProduction",
                                        "OrderShipped",
                                        "OrderDelivered",
                                        "JobOpened",
                                        "ProductActivated",
                                        "ProductKnown",
                                        "RevocationRequested",
                                        "RevocationCompleted",
                                        NULL};
    for (size_t i = 0; types[i]; i++) {
        svc_tc_react_raw(s_tc, "order", types[i], junk, sizeof junk);
        CHECK(svc_tc_refused(s_out, "invalid", NULL));
    }
    s_problem("", "no order");
    CHECK(svc_tc_refused(s_out, "invalid", "orderId"));
    s_activated("not an id");
    CHECK(svc_tc_refused(s_out, "invalid", "orderId"));
    /* an order nobody here owns: no mail, a line in the log */
    s_delivered("TP-2026-000777");
    CHECK(svc_tc_accepted(s_out, 0) && svc_tc_logs(s_out, 'W', "TP-2026-000777") == 1);
    /* text that is no text is left out, the mail goes without it */
    s_shipped("TP-2026-000001", "RR\x01"
                                "DE");
    Tp__Account__NoticeDue *d = s_due();
    CHECK(d && streq(d->detail, ""));
    svc_tc_free(d);
    svc_mail_t m = {0};
    CHECK(s_pending(DE_MAIL, "versendet", &m) == 1 && m.body && !strstr(m.body, "Sendungsnummer"));
    svc_tc_mail_sent(s_tc, m.id);
    free(m.body);
    /* apply takes every log: junk, unknown kinds, unknown accounts */
    void *st = account_def.state_new();
    Tp__Account__NoticeDue nd = TP__ACCOUNT__NOTICE_DUE__INIT;
    nd.account_id = "acc-nobody";
    nd.mail_id = "wartend:order#1";
    nd.kind = "wartend";
    nd.order_id = "TP-1";
    uint8_t buf[256];
    size_t len = tp__account__notice_due__pack(&nd, buf);
    const char *own[] = {"OrderKnown", "NoticeDue", "NotificationsChanged", NULL};
    for (size_t i = 0; own[i]; i++) {
        svc_event_t evs[] = {{1, "x", 1, own[i], 0, junk, sizeof junk},
                             {2, "x", 1, own[i], 0, buf, len},
                             {3, "x", 1, own[i], 0, NULL, 0}};
        for (size_t k = 0; k < 3; k++)
            account_def.apply(st, &evs[k]);
    }
    char *sum = account_def.summary(st);
    CHECK(sum && strstr(sum, "\"pendingMails\":0,") && strstr(sum, "\"ordersKnown\":0,"));
    free(sum);
    account_def.state_destroy(&st);
}

/* The state rebuilt from the log equals the live one. */
static void s_test_replay(void)
{
    acc_tr_check_replay(s_tc, "\"ordersKnown\":3,");
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
    {"owner", s_test_owner, "notices"},
    {"each_de", s_test_each_de, "notices"},
    {"each_en", s_test_each_en, "notices"},
    {"attempts", s_test_attempts, "notices"},
    {"setting", s_test_setting, "notices"},
    {"restart", s_test_restart, "notices"},
    {"bad_events", s_test_bad_events, "notices"},
    {"deleted", s_test_deleted, "notices"},
    {"replay", s_test_replay, "notices"},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv,
                       &(svc_tc_suite_t){"account_notice_test", s_tests, s_setup, s_teardown});
}
