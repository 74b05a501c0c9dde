/* account_mail.c: the account core's mails (DE and EN, plain text), derived from
 * state, and the tokens they carry; the notices' texts are in account_notice_text.c, the
 * deletion request's in account_deletion.c. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"

void acc_token_derive(const uint8_t *secret, const char *purpose, const uint8_t *nonce,
                      size_t nonce_len, char *out, size_t outsz)
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state h;
    crypto_auth_hmacsha256_init(&h, secret, SVC_SECRET_SIZE);
    crypto_auth_hmacsha256_update(&h, (const uint8_t *) purpose, strlen(purpose));
    crypto_auth_hmacsha256_update(&h, (const uint8_t *) ":", 1);
    crypto_auth_hmacsha256_update(&h, nonce, nonce_len);
    crypto_auth_hmacsha256_final(&h, mac);
    if (outsz < sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
        if (outsz)
            *out = 0;
    }
    else
        sodium_bin2base64(out, outsz, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(mac, sizeof mac);
    sodium_memzero(&h, sizeof h);
}

static char *s_confirm_body(bool de, const char *base, const char *token)
{
    if (de)
        return zsys_sprintf(
            "Guten Tag,\n\n"
            "Sie haben sich im Kundenportal registriert. Bitte bestätigen Sie Ihre\n"
            "E-Mail-Adresse mit diesem Link:\n\n"
            "%s/#/confirm?token=%s\n\n"
            "Der Link ist 24 Stunden gültig und funktioniert nur einmal. Ist er\n"
            "abgelaufen, können Sie im Portal einen neuen anfordern.\n\n"
            "Wenn Sie sich nicht registriert haben, ignorieren Sie diese E-Mail bitte;\n"
            "ohne Bestätigung wird kein Konto aktiviert.\n\n"
            "Ihr Kundenportal-Team\n",
            base, token);
    return zsys_sprintf(
        "Hello,\n\n"
        "You have registered with the customer portal. Please confirm your e-mail\n"
        "address with this link:\n\n"
        "%s/#/confirm?token=%s\n\n"
        "The link is valid for 24 hours and works once. If it has expired, you can\n"
        "request a new one in the portal.\n\n"
        "If you did not register, please ignore this e-mail; no account is activated\n"
        "without confirmation.\n\n"
        "Your customer portal team\n",
        base, token);
}

static char *s_reset_body(bool de, const char *base, const char *token)
{
    if (de)
        return zsys_sprintf(
            "Guten Tag,\n\n"
            "für Ihr Konto im Kundenportal wurde ein neues Passwort angefordert. Mit\n"
            "diesem Link vergeben Sie es:\n\n"
            "%s/#/reset?token=%s\n\n"
            "Der Link ist 30 Minuten gültig und funktioniert nur einmal. Danach sind\n"
            "Sie auf allen Geräten abgemeldet.\n\n"
            "Wenn Sie kein neues Passwort angefordert haben, ignorieren Sie diese\n"
            "E-Mail bitte; Ihr Passwort bleibt unverändert.\n\n"
            "Ihr Kundenportal-Team\n",
            base, token);
    return zsys_sprintf(
        "Hello,\n\n"
        "A new password was requested for your customer portal account. Set it with\n"
        "this link:\n\n"
        "%s/#/reset?token=%s\n\n"
        "The link is valid for 30 minutes and works once. Afterwards you are logged\n"
        "out on all devices.\n\n"
        "If you did not ask for a new password, please ignore this e-mail; your\n"
        "password stays unchanged.\n\n"
        "Your customer portal team\n",
        base, token);
}

static char *s_known_body(bool de, const char *base)
{
    if (de)
        return zsys_sprintf(
            "Guten Tag,\n\n"
            "jemand hat versucht, mit Ihrer E-Mail-Adresse ein Konto im Kundenportal\n"
            "anzulegen. Sie haben dort bereits ein Konto.\n\n"
            "Waren Sie das? Dann melden Sie sich an: %s/#/login\n"
            "Passwort vergessen? Hier erhalten Sie ein neues: %s/#/forgot\n\n"
            "Wenn nicht, können Sie diese E-Mail ignorieren; an Ihrem Konto hat sich\n"
            "nichts geändert.\n\n"
            "Ihr Kundenportal-Team\n",
            base, base);
    return zsys_sprintf(
        "Hello,\n\n"
        "someone tried to register with the customer portal using your e-mail\n"
        "address. You already have an account there.\n\n"
        "Was it you? Then log in: %s/#/login\n"
        "Forgot your password? Get a new one here: %s/#/forgot\n\n"
        "If not, you can ignore this e-mail; nothing about your account has changed.\n\n"
        "Your customer portal team\n",
        base, base);
}

/* Builds one mail; false when it cannot be (account gone, out of memory). */
static bool s_build(const acc_state_t *st, const acc_mail_t *m, const uint8_t *secret,
                    svc_mail_t *mail)
{
    const acc_account_t *a = acc_find(st, m->account_id);
    if (!a || a->status == ACC_DELETED || !a->email)
        return false;
    if (m->notice)
        return acc_notice_mail(st, a, m, mail);
    if (streq(m->kind, ACC_DELETION_KIND))
        return acc_deletion_mail(st, a, m, mail);
    bool de = !streq(a->language, "en");
    const char *base = st->base_url[0] ? st->base_url : ACCOUNT_BASE_URL_DEFAULT;
    char token[64] = "";
    bool known = streq(m->kind, "known-email");
    if (!known) {
        if (!secret)
            return false;
        acc_token_derive(secret, m->kind, m->nonce, m->nonce_len, token, sizeof token);
    }
    memset(mail, 0, sizeof *mail);
    snprintf(mail->id, sizeof mail->id, "%s", m->id);
    snprintf(mail->to, sizeof mail->to, "%s", a->email);
    if (known) {
        snprintf(mail->subject, sizeof mail->subject, "%s",
                 de ? "Registrierungsversuch mit Ihrer E-Mail-Adresse"
                    : "Registration attempt with your e-mail address");
        mail->body = s_known_body(de, base);
    }
    else if (streq(m->kind, "reset")) {
        snprintf(mail->subject, sizeof mail->subject, "%s",
                 de ? "Ihr neues Passwort für das Kundenportal"
                    : "Your new password for the customer portal");
        mail->body = s_reset_body(de, base, token);
    }
    else {
        snprintf(mail->subject, sizeof mail->subject, "%s",
                 de ? "Bitte bestätigen Sie Ihre E-Mail-Adresse"
                    : "Please confirm your e-mail address");
        mail->body = s_confirm_body(de, base, token);
    }
    sodium_memzero(token, sizeof token);
    return mail->body != NULL;
}

/* O(pending): the state keeps the set of mails not yet sent. */
size_t acc_mails_pending(const void *state, const uint8_t *secret, svc_mail_t *out, size_t max)
{
    const acc_state_t *st = state;
    size_t n = 0;
    for (acc_mail_t *m = zhashx_first(st->mails); m && n < max; m = zhashx_next(st->mails))
        if (s_build(st, m, secret, &out[n]))
            n++;
    return n;
}

/* Nothing for a mail that is no longer pending (sent, or its token used up meanwhile). */
void acc_mail_sent(const void *state, const char *mail_id, int64_t now_us, svc_out_t *out)
{
    const acc_state_t *st = state;
    const acc_mail_t *m = mail_id ? zhashx_lookup(st->mails, mail_id) : NULL;
    if (!m)
        return;
    Tp__Account__MailSent ev = TP__ACCOUNT__MAIL_SENT__INIT;
    ev.account_id = (char *) m->account_id;
    ev.mail_id = (char *) m->id;
    ev.kind = (char *) m->kind;
    svc_out_event(out, m->account_id, &ev.base);
}
