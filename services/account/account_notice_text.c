/* account_notice_text.c: the notices' mails, in German and English, plain text: what
 * changed, what it means (the provider's FAQ), and for revocations how the revocation
 * was asked for and what to do if it was not the owner; and the pieces every mail of the
 * notices and of a deletion request shares. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "account_internal.h"

/* Every text below comes in German [0] and English [1]. */
#define DE 0
#define EN 1

const char *const acc_mail_hello[2] = {"Guten Tag,\n\n", "Hello,\n\n"};
const char *const acc_mail_bye[2] = {"\nIhr Kundenportal-Team\n", "\nYour customer portal team\n"};

/* Under every status mail: how to stop them, and what cannot be stopped. */
static const char *const s_status_footer[2] = {
    "\nDiese E-Mails zum Stand Ihrer Bestellungen und Karten können Sie im Portal\n"
    "abschalten. Über Sperrungen Ihrer Karten informieren wir Sie immer.\n",
    "\nYou can turn these e-mails about the status of your orders and cards off in\n"
    "the portal. We always tell you about revocations of your cards.\n"};

const char *const acc_mail_support[2] = {
    "Montag bis Freitag von 7:00 bis 18:00 Uhr telefonisch unter\n" ACCOUNT_SUPPORT_PHONE
    " oder per E-Mail an " ACCOUNT_SUPPORT_MAIL,
    "Monday to Friday from 7:00 to 18:00 by phone at " ACCOUNT_SUPPORT_PHONE ",\n"
    "or by e-mail at " ACCOUNT_SUPPORT_MAIL};

/* How a revocation was asked for (RevocationRequested.authenticated_by), and what it
 * means when the owner did not ask for it. */
static const struct {
    const char *method;
    const char *how[2];
    const char *not_you[2]; /* may hold one %s: the portal's URL */
} s_methods[] = {
    {"session",
     {"im Portal, von Ihrem angemeldeten Konto aus", "in the portal, from your logged-in account"},
     {"Wenn nicht Sie es waren, konnte sich jemand mit Ihrem Passwort anmelden:\n"
      "Vergeben Sie bitte gleich ein neues (%s/#/forgot).\n",
      "If it was not you, someone could log in with your password: please set a\n"
      "new one right away (%s/#/forgot).\n"}},
    {"revocation_password",
     {"mit dem Sperrkennwort Ihrer Bestellung, ohne Anmeldung",
      "with your order's revocation password, without logging in"},
     {"Wenn nicht Sie es waren, kennt jemand Ihr Sperrkennwort und Ihre Bestell-\n"
      "oder Kartennummer.\n",
      "If it was not you, someone knows your revocation password and your order\n"
      "or card number.\n"}},
    {"officer",
     {"von einem Officer des Shops Ihrer Organisation",
      "by an officer of your organization's shop"},
     {"Fragen Sie bitte auch bei Ihrer Organisation nach, wer sie veranlasst hat.\n",
      "Please also ask your organization who asked for it.\n"}},
    {"operator",
     {"von unserem Kundenservice im Auftrag eines Anrufers",
      "by our customer service on behalf of a caller"},
     {"Wir klären dann mit Ihnen, wer uns angerufen hat.\n",
      "We will then find out with you who called us.\n"}},
};

static const struct {
    const char *reason;
    const char *text[2];
} s_reasons[] = {
    {"card_lost", {"Karte verloren", "Card lost"}},
    {"suspected_misuse", {"Verdacht auf missbräuchliche Nutzung", "Suspected misuse"}},
    {"other", {"Sonstiger Grund", "Other reason"}},
};

static const char *s_reason(const char *reason, int l)
{
    for (size_t i = 0; i < sizeof s_reasons / sizeof s_reasons[0]; i++)
        if (streq(reason, s_reasons[i].reason))
            return s_reasons[i].text[l];
    return l == DE ? "nicht angegeben" : "not given";
}

/* The time of a notice as a reader takes it in, in UTC. */
void acc_mail_when(int64_t at_us, bool de, char *out, size_t outsz)
{
    time_t t = (time_t) (at_us / 1000000);
    struct tm tm;
    if (at_us <= 0 || !gmtime_r(&t, &tm) ||
        !strftime(out, outsz, de ? "%d.%m.%Y um %H:%M Uhr (UTC)" : "%Y-%m-%d at %H:%M UTC", &tm))
        snprintf(out, outsz, "%s", de ? "soeben" : "just now");
}

/* ------------------------------------------------------------------ the kinds */

/* What a body's %s stand for, in their order (at most S_ARGS), and room for those made. */
#define S_ARGS 7
typedef struct {
    const char *arg[S_ARGS];
    char when[64];
    char line[ACC_DETAIL_MAX * 4 + 64];
} s_args_t;

/* Most bodies: the order id, then the portal's URL. */
static void s_order_base(const acc_notice_t *n, int l, const char *base, s_args_t *a)
{
    a->arg[0] = n->order_id;
    a->arg[1] = base;
}

static void s_wartend(const acc_notice_t *n, int l, const char *base, s_args_t *a)
{
    a->arg[0] = n->order_id;
    a->arg[1] = *n->detail ? n->detail
                : l == DE  ? "Ihre Angaben sind fehlerhaft oder noch unvollständig."
                           : "Your data contains an error or is not yet complete.";
    a->arg[2] = acc_mail_support[l];
    a->arg[3] = base;
}

static void s_versendet(const acc_notice_t *n, int l, const char *base, s_args_t *a)
{
    if (*n->detail)
        snprintf(a->line, sizeof a->line, "%s: %s\n\n",
                 l == DE ? "Sendungsnummer des Einschreibens" : "Tracking number of the letter",
                 n->detail);
    a->arg[0] = n->order_id;
    a->arg[1] = a->line;
    a->arg[2] = base;
}

static void s_requested(const acc_notice_t *n, int l, const char *base, s_args_t *a)
{
    const char *how = l == DE ? "auf einem anderen Weg" : "in another way";
    for (size_t i = 0; i < sizeof s_methods / sizeof s_methods[0]; i++)
        if (streq(n->detail, s_methods[i].method)) {
            how = s_methods[i].how[l];
            /* each text has at most one %s, the portal's URL */
            snprintf(a->line, sizeof a->line, s_methods[i].not_you[l], base);
        }
    acc_mail_when(n->at_us, l == DE, a->when, sizeof a->when);
    a->arg[0] = n->order_id;
    a->arg[1] = a->when;
    a->arg[2] = how;
    a->arg[3] = s_reason(n->reason, l);
    a->arg[4] = *n->request_id ? n->request_id : "-";
    a->arg[5] = acc_mail_support[l];
    a->arg[6] = a->line;
}

static void s_completed(const acc_notice_t *n, int l, const char *base, s_args_t *a)
{
    acc_mail_when(n->at_us, l == DE, a->when, sizeof a->when);
    a->arg[0] = n->order_id;
    a->arg[1] = a->when;
    a->arg[2] = base;
    a->arg[3] = acc_mail_support[l];
}

static void s_attempt(const acc_notice_t *n, int l, const char *base, s_args_t *a)
{
    acc_mail_when(n->at_us, l == DE, a->when, sizeof a->when);
    a->arg[0] = n->order_id;
    a->arg[1] = a->when;
    a->arg[2] = base;
    a->arg[3] = acc_mail_support[l];
}

/* Each kind's subject (one %s: the order id), body (its %s: what its function gives),
 * German and English. */
static const struct {
    const char *kind;
    const char *subject[2];
    const char *body[2];
    void (*args)(const acc_notice_t *n, int l, const char *base, s_args_t *a);
} s_texts[] = {
    {"wartend",
     {"Bestellung %s: Wartend – wir benötigen etwas von Ihnen",
      "Order %s: Waiting – something is needed"},
     {"bei der Prüfung Ihrer Bestellung %s ist uns etwas\n"
      "aufgefallen; sie hat jetzt den Status „Wartend“. Das wird benötigt:\n\n"
      "  %s\n\n"
      "Solange das nicht geklärt ist, kann Ihre Karte nicht produziert werden.\n"
      "Unser Kundenservice tritt mit Ihnen in Kontakt; Sie erreichen uns auch\n"
      "selbst, %s.\n"
      "Sobald alles vorliegt, geht Ihre Bestellung weiter.\n\n"
      "Ihre Bestellung im Portal: %s/#/orders\n",
      "while checking your order %s we found a problem; its\n"
      "status is now \"Waiting\". This is needed:\n\n"
      "  %s\n\n"
      "Until this is resolved, your card cannot be produced. Our customer\n"
      "service will contact you; you can also reach us yourself,\n"
      "%s.\n"
      "As soon as everything is there, your order goes on.\n\n"
      "Your order in the portal: %s/#/orders\n"},
     s_wartend},
    {"in-produktion",
     {"Bestellung %s: In Produktion", "Order %s: In production"},
     {"Ihr Antrag und Ihre Identifizierung zur Bestellung %s sind\n"
      "vollständig und geprüft; die Bestellung hat jetzt den Status „In Produktion“.\n"
      "Die Zertifikatsdaten werden erstellt, und Ihre Karte wird demnächst\n"
      "produziert.\n\n"
      "Ihre Bestellung im Portal: %s/#/orders\n",
      "your application and your identification for order %s are\n"
      "complete and checked; the order's status is now \"In production\". The\n"
      "certificate data is being created, and your card will be produced\n"
      "shortly.\n\n"
      "Your order in the portal: %s/#/orders\n"},
     s_order_base},
    {"versendet",
     {"Bestellung %s: Versendet", "Order %s: Shipped"},
     {"Ihre Karte zur Bestellung %s wurde per Einschreiben an Sie\n"
      "versandt; die Bestellung hat jetzt den Status „Versendet“. Sie erhalten die\n"
      "Karte in den kommenden Tagen.\n\n"
      "%s"
      "Der PIN-Brief kommt getrennt. Die Zertifikate der Karte werden nach dem\n"
      "Versand automatisch freigeschaltet.\n\n"
      "Ihre Bestellung im Portal: %s/#/orders\n",
      "your card for order %s has been sent to you by registered\n"
      "mail; the order's status is now \"Shipped\". You will receive the card\n"
      "in the next few days.\n\n"
      "%s"
      "The PIN letter comes separately. The card's certificates are\n"
      "activated automatically after shipping.\n\n"
      "Your order in the portal: %s/#/orders\n"},
     s_versendet},
    {"fertig",
     {"Bestellung %s: Fertig", "Order %s: Completed"},
     {"Karte und PIN-Brief zur Bestellung %s wurden an Sie\n"
      "ausgeliefert; die Bestellung ist abgeschlossen (Status „Fertig“) und steht\n"
      "jetzt im Archiv. Ihre Karte finden Sie im Portal unter „Meine Produkte“:\n"
      "%s/#/products\n",
      "the card and the PIN letter for order %s have been delivered\n"
      "to you; the order is complete (status \"Completed\") and now in the\n"
      "archive. You find your card in the portal under \"My products\":\n"
      "%s/#/products\n"},
     s_order_base},
    {"gueltig",
     {"Ihre Karte ist freigeschaltet (Bestellung %s)", "Your card is activated (order %s)"},
     {"die Zertifikate Ihrer Karte aus der Bestellung %s sind\n"
      "freigeschaltet: Die Karte hat jetzt den Status „Gültig“ und ist komplett\n"
      "einsatzbereit.\n\n"
      "Ihre Karte im Portal: %s/#/products\n",
      "the certificates of your card from order %s are activated:\n"
      "the card's status is now \"Valid\", and it is fully ready for use.\n\n"
      "Your card in the portal: %s/#/products\n"},
     s_order_base},
    {"revocation-requested",
     {"Sperrung Ihrer Karte beauftragt (Bestellung %s)",
      "Revocation of your card requested (order %s)"},
     {"für Ihre Karte aus der Bestellung %s wurde\n"
      "am %s eine Sperrung beauftragt:\n\n"
      "  Wie:     %s\n"
      "  Grund:   %s\n"
      "  Vorgang: %s\n\n"
      "Die Sperrung wird jetzt bearbeitet (Status „Sperrung in Bearbeitung“) und ist\n"
      "in wenigen Minuten wirksam; wir schreiben Ihnen dann noch einmal. Eine Sperrung\n"
      "ist endgültig und kann nicht rückgängig gemacht werden.\n\n"
      "Haben Sie die Sperrung nicht beauftragt? Bitte melden Sie sich sofort bei\n"
      "uns, %s.\n%s",
      "a revocation of your card from order %s was requested on\n"
      "%s:\n\n"
      "  How:     %s\n"
      "  Reason:  %s\n"
      "  Request: %s\n\n"
      "The revocation is being processed now (status \"Revocation in\n"
      "progress\") and takes effect within a few minutes; we will write to\n"
      "you again then. A revocation is final and cannot be undone.\n\n"
      "Did you not ask for this revocation? Please contact us at once,\n"
      "%s.\n%s"},
     s_requested},
    {"revocation-completed",
     {"Ihre Karte ist gesperrt (Bestellung %s)", "Your card is revoked (order %s)"},
     {"die Sperrung Ihrer Karte aus der Bestellung %s ist\n"
      "abgeschlossen: Die Zertifikate der Karte sind seit\n"
      "%s gesperrt (Status „Gesperrt“), die Karte ist\n"
      "nicht mehr nutzbar. Eine neue Karte können Sie im Portal bestellen:\n"
      "%s/#/dashboard\n\n"
      "Haben Sie die Sperrung nicht beauftragt? Bitte melden Sie sich sofort bei\n"
      "uns, %s.\n",
      "the revocation of your card from order %s is complete:\n"
      "the card's certificates are revoked since %s\n"
      "(status \"Revoked\"), and the card can no longer be used. You can\n"
      "order a new card in the portal: %s/#/dashboard\n\n"
      "Did you not ask for this revocation? Please contact us at once,\n"
      "%s.\n"},
     s_completed},
    {"revocation-attempt",
     {"Fehlgeschlagener Sperrversuch für Ihre Karte (Bestellung %s)",
      "A failed attempt to revoke your card (order %s)"},
     {"jemand hat versucht, Ihre Karte aus der Bestellung %s ohne\n"
      "Anmeldung zu sperren, am %s, mit einem falschen\n"
      "Sperrkennwort. Gesperrt wurde nichts; Ihre Karte bleibt, wie sie ist.\n\n"
      "Solche Versuche hindern Sie nie am Sperren: Mit Ihrem Sperrkennwort können Sie\n"
      "Ihre Karte jederzeit sperren (%s/#/revoke), auch nach\n"
      "Fehlversuchen anderer, und angemeldet im Portal unter „Meine Produkte“.\n\n"
      "Waren Sie es nicht, kennt jemand Ihre Bestell- oder Kartennummer. Sie müssen\n"
      "nichts tun; wenn Sie Fragen haben, erreichen Sie uns\n"
      "%s.\n"
      "Über solche Versuche schreiben wir Ihnen höchstens einmal am Tag.\n",
      "someone tried to revoke your card from order %s without\n"
      "logging in, on %s, with a wrong revocation password.\n"
      "Nothing was revoked; your card stays as it is.\n\n"
      "Such attempts never stop you from revoking: with your revocation password\n"
      "you can revoke your card at any time (%s/#/revoke), also after\n"
      "failed attempts of others, and logged in under \"My products\".\n\n"
      "If it was not you, someone knows your order or card number. You need not\n"
      "do anything; if you have questions, you can reach us\n"
      "%s.\n"
      "We write to you about such attempts at most once a day.\n"},
     s_attempt},
};

bool acc_notice_mail(const acc_state_t *st, const acc_account_t *a, const acc_mail_t *m,
                     svc_mail_t *mail)
{
    int l = streq(a->language, "en") ? EN : DE;
    const char *base = st->base_url[0] ? st->base_url : ACCOUNT_BASE_URL_DEFAULT;
    bool status = false;
    acc_notice_kind(m->kind, &status);
    for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++) {
        if (!streq(m->kind, s_texts[i].kind))
            continue;
        s_args_t args = {0};
        for (size_t k = 0; k < S_ARGS; k++)
            args.arg[k] = "";
        s_texts[i].args(m->notice, l, base, &args);
        memset(mail, 0, sizeof *mail);
        snprintf(mail->id, sizeof mail->id, "%s", m->id);
        snprintf(mail->to, sizeof mail->to, "%s", a->email);
        snprintf(mail->subject, sizeof mail->subject, s_texts[i].subject[l], m->notice->order_id);
        char *body = zsys_sprintf(s_texts[i].body[l], args.arg[0], args.arg[1], args.arg[2],
                                  args.arg[3], args.arg[4], args.arg[5], args.arg[6]);
        if (body)
            mail->body = zsys_sprintf("%s%s%s%s", acc_mail_hello[l], body,
                                      status ? s_status_footer[l] : "", acc_mail_bye[l]);
        zstr_free(&body);
        return mail->body != NULL;
    }
    return false;
}
