/* account_deletion.c: the owner's request to delete its account (RequestDeletion), open
 * until an operator deletes the account (DeleteAccount), with the mail that confirms it;
 * the operators' list of open requests; and the owner's own view of its account
 * (GetAccount, for the portal's "download my data"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "account_internal.h"
#include "svc_text.h"

/* ------------------------------------------------------------------ views */

bool acc_deletion_view(const acc_account_t *a, Tp__Account__DeletionRequest *out)
{
    if (!a->deletion_at_us || a->status == ACC_DELETED)
        return false;
    out->account_id = (char *) a->id;
    out->email = a->email ? a->email : "";
    out->reason = a->deletion_reason ? a->deletion_reason : "";
    out->requested_at_us = a->deletion_at_us;
    return true;
}

/* ------------------------------------------------------------------ commands */

void acc_request_deletion(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                          svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__RequestDeletion *cmd = (const Tp__Account__RequestDeletion *) msg;
    const acc_account_t *a =
        acc_owner(st, ctx, "only the account's owner may ask for its deletion", out);
    if (!a)
        return;
    long n = svc_text_len(cmd->reason, true);
    if (n < 0)
        svc_out_error(out, "invalid", "reason", "must be text without control characters");
    else if (n > ACC_REASON_MAX)
        svc_out_error(out, "invalid", "reason", "must be at most %d characters", ACC_REASON_MAX);
    if (svc_out_failed(out))
        return;
    Tp__Account__DeletionRequest r = TP__ACCOUNT__DELETION_REQUEST__INIT;
    if (acc_deletion_view(a, &r)) {
        svc_out_reply(out, &r.base); /* open already: the same request, nothing written */
        return;
    }
    Tp__Account__AccountDeletionRequested ev = TP__ACCOUNT__ACCOUNT_DELETION_REQUESTED__INIT;
    ev.account_id = (char *) a->id;
    ev.reason = cmd->reason;
    ev.requested_at_us = ctx->now_us;
    svc_out_event(out, a->id, &ev.base);
    r.account_id = (char *) a->id;
    r.email = a->email;
    r.reason = cmd->reason;
    r.requested_at_us = ctx->now_us;
    svc_out_reply(out, &r.base);
}

/* Oldest first; ties (one commit's requests) by account id. */
static int s_by_time(const void *x, const void *y)
{
    const acc_account_t *a = *(const acc_account_t *const *) x;
    const acc_account_t *b = *(const acc_account_t *const *) y;
    if (a->deletion_at_us != b->deletion_at_us)
        return a->deletion_at_us < b->deletion_at_us ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* O(accounts) per call: an operator's query, rare; an index of the open requests can come
 * when the accounts run into the hundreds of thousands. */
void acc_list_deletions(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                        svc_out_t *out)
{
    const acc_state_t *st = state;
    if (!streq(ctx->header->actor_role, "operator")) {
        svc_out_error(out, "forbidden", NULL, "only an operator may do this");
        return;
    }
    size_t n = 0, max = zhashx_size(st->accounts);
    const acc_account_t **open = calloc(max + 1, sizeof *open);
    Tp__Account__DeletionRequest *views = calloc(max + 1, sizeof *views);
    Tp__Account__DeletionRequest **ptrs = calloc(max + 1, sizeof *ptrs);
    if (!open || !views || !ptrs) {
        svc_out_error(out, "internal", NULL, "out of memory");
        goto done;
    }
    for (const acc_account_t *a = zhashx_first(st->accounts); a && n < max;
         a = zhashx_next(st->accounts))
        if (a->deletion_at_us && a->status != ACC_DELETED)
            open[n++] = a;
    qsort(open, n, sizeof *open, s_by_time);
    for (size_t i = 0; i < n; i++) {
        tp__account__deletion_request__init(&views[i]);
        acc_deletion_view(open[i], &views[i]);
        ptrs[i] = &views[i];
    }
    Tp__Account__DeletionRequestList r = TP__ACCOUNT__DELETION_REQUEST_LIST__INIT;
    r.requests = ptrs;
    r.n_requests = n;
    svc_out_reply(out, &r.base);
done:
    free(open);
    free(views);
    free(ptrs);
}

void acc_get_account(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    const acc_account_t *a =
        acc_owner(state, ctx, "only the account's owner may see it this way", out);
    if (a)
        acc_reply_view(a, out);
}

/* ------------------------------------------------------------------ apply */

/* The request is kept (time and reason) and its mail made pending. A second event for an
 * open request (a log written by hand) changes nothing. */
static void s_on_requested(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__AccountDeletionRequested *e =
        tp__account__account_deletion_requested__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = *e->account_id ? zhashx_lookup(st->accounts, e->account_id) : NULL;
    acc_mail_t *m = NULL;
    char *reason = NULL;
    if (!a || a->status != ACC_ACTIVE || a->deletion_at_us || e->requested_at_us <= 0 ||
        !(reason = strdup(e->reason)))
        goto done;
    free(a->deletion_reason);
    a->deletion_reason = reason;
    a->deletion_at_us = e->requested_at_us;
    if (!(m = calloc(1, sizeof *m)))
        goto done;
    snprintf(m->id, sizeof m->id, "%s:%s-%" PRId64, ACC_DELETION_KIND, a->id, a->deletion_at_us);
    m->kind = ACC_DELETION_KIND;
    snprintf(m->account_id, sizeof m->account_id, "%s", a->id);
    m->expires_at_us = INT64_MAX;
    if (zhashx_insert(st->mails, m->id, m) != 0)
        free(m);
done:
    tp__account__account_deletion_requested__free_unpacked(e, NULL);
}

bool acc_apply_deletion(acc_state_t *st, const svc_event_t *ev)
{
    if (!streq(ev->event_type, "AccountDeletionRequested"))
        return false;
    s_on_requested(st, ev);
    return true;
}

/* ------------------------------------------------------------------ the mail */

static const char *const s_subject[2] = {"Ihr Antrag auf Löschung Ihres Kontos",
                                         "Your request to delete your account"};

/* The %s in order: when, the reason's paragraph (or ""), the portal's URL twice, support. */
static const char *const s_body[2] = {
    "am %s haben wir Ihren Antrag erhalten, Ihr Konto\n"
    "im Kundenportal zu löschen.%s\n\n"
    "Wie es weitergeht: Unser Kundenservice führt die Löschung durch und meldet sich\n"
    "bei Ihnen, wenn etwas zu klären ist. Bis dahin bleibt Ihr Konto, wie es ist: Sie\n"
    "können sich anmelden und Ihre Daten im Portal herunterladen.\n\n"
    "Ihre Karten: Die Löschung des Kontos sperrt keine Karte. Soll eine Karte nicht\n"
    "mehr genutzt werden, sperren Sie sie bitte vorher im Portal unter „Meine Produkte“.\n"
    "Auch nach der Löschung können Sie eine Karte jederzeit ohne Anmeldung mit ihrem\n"
    "Sperrkennwort sperren (%s/#/revoke) oder über unseren Kundenservice.\n"
    "Was wir als Nachweis Ihrer Registrierung aufbewahren müssen, bewahren wir nach\n"
    "Ablauf des Zertifikats für die vorgeschriebene Frist auf und löschen es danach.\n\n"
    "Haben Sie diesen Antrag nicht gestellt? Dann kennt jemand Ihr Passwort: Vergeben\n"
    "Sie bitte gleich ein neues (%s/#/forgot) und wenden Sie sich an uns,\n"
    "%s.\n",
    "on %s we received your request to delete your account\n"
    "with the customer portal.%s\n\n"
    "What happens next: our customer service carries out the deletion and contacts\n"
    "you if anything needs to be clarified. Until then your account stays as it is:\n"
    "you can log in and download your data in the portal.\n\n"
    "Your cards: deleting the account does not revoke any card. If a card is no longer\n"
    "to be used, please revoke it first in the portal under \"My products\". After the\n"
    "deletion, too, you can revoke a card at any time without logging in, with its\n"
    "revocation password (%s/#/revoke), or through our customer service.\n"
    "What we must keep as evidence of your registration we keep for the prescribed\n"
    "period after the certificate expires, and erase it then.\n\n"
    "Did you not make this request? Then someone knows your password: please set a\n"
    "new one right away (%s/#/forgot) and contact us,\n"
    "%s.\n"};

bool acc_deletion_mail(const acc_state_t *st, const acc_account_t *a, const acc_mail_t *m,
                       svc_mail_t *mail)
{
    if (!a->deletion_at_us || !a->email)
        return false;
    int l = streq(a->language, "en") ? 1 : 0;
    const char *base = st->base_url[0] ? st->base_url : ACCOUNT_BASE_URL_DEFAULT;
    char when[64];
    acc_mail_when(a->deletion_at_us, l == 0, when, sizeof when);
    const char *reason = a->deletion_reason ? a->deletion_reason : "";
    char *said =
        *reason ? zsys_sprintf("\n\n%s:\n%s", l == 0 ? "Ihre Begründung" : "Your reason", reason)
                : strdup("");
    char *body = said ? zsys_sprintf(s_body[l], when, said, base, base, acc_mail_support[l]) : NULL;
    memset(mail, 0, sizeof *mail);
    snprintf(mail->id, sizeof mail->id, "%s", m->id);
    snprintf(mail->to, sizeof mail->to, "%s", a->email);
    snprintf(mail->subject, sizeof mail->subject, "%s", s_subject[l]);
    if (body)
        mail->body = zsys_sprintf("%s%s%s", acc_mail_hello[l], body, acc_mail_bye[l]);
    zstr_free(&said);
    zstr_free(&body);
    return mail->body != NULL;
}
