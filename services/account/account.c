/* account.c: the account core's commands but the session, notice and deletion-request
 * ones (registration, confirmation, password reset, shop codes, officers, operators), its
 * reaction to the order service's shops, and the service table (the tick:
 * account_tick.c). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"
#include "order.pb-c.h"

#define S_TOKEN_MAX 128

static const char s_accepted_text[] =
    "If the address can be used, a mail with the next step is on its way.";

/* ------------------------------------------------------------------ helpers */

void acc_accepted(svc_out_t *out, const char *text)
{
    Tp__Account__Accepted r = TP__ACCOUNT__ACCEPTED__INIT;
    r.message = (char *) text;
    svc_out_reply(out, &r.base);
}

bool acc_check_email(const char *in, char *email, svc_out_t *out)
{
    if (acc_email_normalize(in, email, ACC_EMAIL_MAX + 1))
        return true;
    svc_out_error(out, "invalid", "email",
                  "must be a valid e-mail address (at most 254 characters)");
    return false;
}

static void s_check_password(const char *pw, const char *field, svc_out_t *out)
{
    long n = acc_utf8_chars(pw);
    if (n < 0)
        svc_out_error(out, "invalid", field, "must be valid UTF-8 text");
    else if (n < ACC_PASSWORD_MIN || n > ACC_PASSWORD_MAX)
        svc_out_error(out, "invalid", field, "must be %d to %d characters", ACC_PASSWORD_MIN,
                      ACC_PASSWORD_MAX);
}

static void s_check_language(const char *lang, svc_out_t *out)
{
    if (*lang && !streq(lang, "de") && !streq(lang, "en"))
        svc_out_error(out, "invalid", "language", "must be \"de\" or \"en\"");
}

/* Hashes *field with Argon2id in place (worker pool); the plain text is wiped. */
static int s_hash_into(char **field, svc_out_t *out)
{
    char hash[crypto_pwhash_STRBYTES];
    size_t n = strlen(*field);
    if (crypto_pwhash_str_alg(hash, *field, n, ACCOUNT_PWHASH_OPSLIMIT, ACCOUNT_PWHASH_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        svc_out_error(out, "internal", NULL, "password hashing failed (out of memory)");
        return -1;
    }
    return acc_swap_secret(field, strdup(hash), out);
}

bool acc_prepared_hash(const char *s)
{
    return strncmp(s, "$argon2id$", 10) == 0;
}

bool acc_mail_allowed(const acc_account_t *a, int64_t now)
{
    return acc_window_count(&a->mails, now - ACCOUNT_MAIL_WINDOW_US) < ACCOUNT_MAIL_MAX;
}

/* Tokens and ids come from ctx->random: all zeros can only mean a runtime that did
 * not fill it, and would hand out guessable links and sessions. Refuse loudly. */
bool acc_random_ok(const svc_ctx_t *ctx, svc_out_t *out)
{
    if (ctx->random && !sodium_is_zero(ctx->random, SVC_SECRET_SIZE))
        return true;
    svc_out_error(out, "internal", NULL, "no fresh randomness for this command");
    return false;
}

/* A fresh token for @p purpose: its nonce (ACC_NONCE_SIZE bytes of ctx->random, after
 * the 8 an account id may use) and the SHA-256 of the token the mail will carry.
 * False (and an error) when the randomness is missing or the token is not new. */
static bool s_new_token(const acc_state_t *st, const svc_ctx_t *ctx, const char *purpose,
                        ProtobufCBinaryData *nonce, ProtobufCBinaryData *hash, uint8_t *hash_buf,
                        svc_out_t *out)
{
    if (!acc_random_ok(ctx, out))
        return false;
    nonce->data = (uint8_t *) ctx->random + 16;
    nonce->len = ACC_NONCE_SIZE;
    char token[64], hex[ACC_HEX_SIZE];
    acc_token_derive(ctx->secret, purpose, nonce->data, nonce->len, token, sizeof token);
    crypto_hash_sha256(hash_buf, (const uint8_t *) token, strlen(token));
    sodium_memzero(token, sizeof token);
    hash->data = hash_buf;
    hash->len = crypto_hash_sha256_BYTES;
    acc_hex(hash_buf, crypto_hash_sha256_BYTES, hex, sizeof hex);
    if (!zhashx_lookup(st->tokens, hex))
        return true;
    svc_out_error(out, "internal", NULL, "token collision; retry");
    return false;
}

void acc_reissue(const acc_state_t *st, const svc_ctx_t *ctx, const acc_account_t *a,
                 const char *password_hash, const char *language, svc_out_t *out)
{
    uint8_t hash_buf[crypto_hash_sha256_BYTES];
    Tp__Account__ConfirmationReissued ev = TP__ACCOUNT__CONFIRMATION_REISSUED__INIT;
    ev.account_id = (char *) a->id;
    if (!s_new_token(st, ctx, "confirm", &ev.token_nonce, &ev.token_hash, hash_buf, out))
        return;
    ev.token_expires_at_us = ctx->now_us + ACCOUNT_CONFIRM_VALID_US;
    ev.password_hash = (char *) (password_hash ? password_hash : "");
    ev.language = (char *) (language ? language : "");
    ev.issued_at_us = ctx->now_us;
    svc_out_event(out, a->id, &ev.base);
}

/* SHA-256 of a token as received (raw and hex); false when it cannot be one. */
bool acc_token_hash_of(const char *token, uint8_t *raw, char *hex)
{
    size_t n = strlen(token);
    if (n == 0 || n > S_TOKEN_MAX)
        return false;
    crypto_hash_sha256(raw, (const uint8_t *) token, n);
    acc_hex(raw, crypto_hash_sha256_BYTES, hex, ACC_HEX_SIZE);
    return true;
}

const acc_account_t *acc_actor(const acc_state_t *st, const svc_ctx_t *ctx)
{
    const acc_account_t *a = acc_find(st, ctx->header->actor_account);
    return a && a->status == ACC_ACTIVE ? a : NULL;
}

const acc_account_t *acc_owner(const acc_state_t *st, const svc_ctx_t *ctx, const char *forbidden,
                               svc_out_t *out)
{
    const acc_account_t *a = acc_actor(st, ctx);
    const char *role = ctx->header->actor_role;
    if (!a)
        svc_out_error(out, "unauthenticated", NULL, "no such active account; please log in");
    else if (!streq(role, "customer") && !streq(role, "officer"))
        svc_out_error(out, "forbidden", NULL, "%s", forbidden);
    else
        return a;
    return NULL;
}

static bool s_operator(const svc_ctx_t *ctx, svc_out_t *out)
{
    if (streq(ctx->header->actor_role, "operator"))
        return true;
    svc_out_error(out, "forbidden", NULL, "only an operator may do this");
    return false;
}

/* Copies a list of strings into @p arr (borrowed pointers); skips disabled shops
 * when @p st is given. Returns the count. */
static size_t s_list_array(const acc_state_t *st, zlistx_t *l, char **arr)
{
    size_t n = 0;
    for (char *s = zlistx_first(l); s; s = zlistx_next(l)) {
        const acc_shop_t *shop = st ? zhashx_lookup(st->shops, s) : NULL;
        if (!st || (shop && !shop->disabled))
            arr[n++] = s;
    }
    return n;
}

void acc_reply_session(const acc_state_t *st, const acc_account_t *a, const char *token,
                       const acc_session_t *s, int64_t now, svc_out_t *out)
{
    Tp__Account__SessionInfo r = TP__ACCOUNT__SESSION_INFO__INIT;
    char *roles[] = {"customer", "officer"};
    char **shops = calloc(zlistx_size(a->shops) + 1, sizeof(char *));
    char **officer = calloc(zlistx_size(a->officer_of) + 1, sizeof(char *));
    if (!shops || !officer) {
        svc_out_error(out, "internal", NULL, "out of memory");
        goto done;
    }
    r.session_token = (char *) (token ? token : "");
    r.account_id = (char *) a->id;
    r.email = a->email;
    r.language = (char *) a->language;
    r.status_mails = (char *) acc_status_mails(a);
    r.roles = roles;
    r.n_roles = zlistx_size(a->officer_of) ? 2 : 1;
    r.shop_ids = shops;
    r.n_shop_ids = s_list_array(st, a->shops, shops);
    r.officer_shop_ids = officer;
    r.n_officer_shop_ids = s_list_array(NULL, a->officer_of, officer);
    Tp__Account__DeletionRequest del = TP__ACCOUNT__DELETION_REQUEST__INIT;
    if (acc_deletion_view(a, &del))
        r.deletion_request = &del;
    if (s) {
        r.expires_at_us = s->expires_at_us;
        r.idle_expires_at_us = acc_session_idle_end(s);
        r.touch_due = now - s->touched_at_us >= ACCOUNT_SESSION_TOUCH_US;
    }
    svc_out_reply(out, &r.base);
done:
    free(shops);
    free(officer);
}

void acc_reply_view(const acc_account_t *a, svc_out_t *out)
{
    static const char *status[] = {"unconfirmed", "active", "deleted"};
    Tp__Account__AccountView r = TP__ACCOUNT__ACCOUNT_VIEW__INIT;
    Tp__Account__DeletionRequest del = TP__ACCOUNT__DELETION_REQUEST__INIT;
    char **shops = calloc(zlistx_size(a->shops) + 1, sizeof(char *));
    char **officer = calloc(zlistx_size(a->officer_of) + 1, sizeof(char *));
    if (!shops || !officer)
        svc_out_error(out, "internal", NULL, "out of memory");
    else {
        r.account_id = (char *) a->id;
        r.email = a->email ? a->email : "";
        r.status = (char *) status[a->status];
        r.registered_at_us = a->registered_at_us;
        r.language = (char *) a->language;
        r.status_mails = (char *) acc_status_mails(a);
        r.shop_ids = shops;
        r.n_shop_ids = s_list_array(NULL, a->shops, shops);
        r.officer_shop_ids = officer;
        r.n_officer_shop_ids = s_list_array(NULL, a->officer_of, officer);
        if (acc_deletion_view(a, &del))
            r.deletion_request = &del;
        svc_out_reply(out, &r.base);
    }
    free(shops);
    free(officer);
}

/* SessionEnded for every session of @p a. */
static void s_end_sessions(const acc_state_t *st, const acc_account_t *a, const char *reason,
                           svc_out_t *out)
{
    for (const char *hex = zlistx_first(a->sessions); hex; hex = zlistx_next(a->sessions)) {
        uint8_t raw[crypto_hash_sha256_BYTES];
        if (sodium_hex2bin(raw, sizeof raw, hex, strlen(hex), NULL, NULL, NULL) != 0)
            continue;
        Tp__Account__SessionEnded ev = TP__ACCOUNT__SESSION_ENDED__INIT;
        ev.account_id = (char *) a->id;
        ev.session_hash.data = raw;
        ev.session_hash.len = sizeof raw;
        ev.reason = (char *) reason;
        svc_out_event(out, a->id, &ev.base);
    }
}

/* ------------------------------------------------------------------ registration */

static int s_prepare_register(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Account__Register *cmd = (Tp__Account__Register *) msg;
    char email[ACC_EMAIL_MAX + 1];
    acc_check_email(cmd->email, email, out);
    s_check_password(cmd->password, "password", out);
    s_check_language(cmd->language, out);
    if (svc_out_failed(out))
        return -1;
    return s_hash_into(&cmd->password, out);
}

/* Same reply in every case; only the events differ (and they are not shown). */
static void s_register(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                       svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__Register *cmd = (const Tp__Account__Register *) msg;
    char email[ACC_EMAIL_MAX + 1];
    acc_check_email(cmd->email, email, out);
    s_check_language(cmd->language, out);
    if (!acc_prepared_hash(cmd->password))
        svc_out_error(out, "internal", "password", "was not prepared");
    if (svc_out_failed(out))
        return;
    const char *lang = *cmd->language ? cmd->language : "de";
    const acc_account_t *a = acc_find_email(st, email);
    uint8_t hash_buf[crypto_hash_sha256_BYTES];
    if (!a) {
        char id[ACC_ID_SIZE] = "acc-";
        acc_hex(ctx->random, 8, id + 4, sizeof id - 4);
        if (acc_find(st, id)) {
            svc_out_error(out, "internal", NULL, "account id collision; retry");
            return;
        }
        Tp__Account__AccountRegistered ev = TP__ACCOUNT__ACCOUNT_REGISTERED__INIT;
        ev.account_id = id;
        ev.email = email;
        ev.password_hash = cmd->password;
        ev.language = (char *) lang;
        if (!s_new_token(st, ctx, "confirm", &ev.token_nonce, &ev.token_hash, hash_buf, out))
            return;
        ev.token_expires_at_us = ctx->now_us + ACCOUNT_CONFIRM_VALID_US;
        ev.registered_at_us = ctx->now_us;
        svc_out_expect(out, id, EVS_NO_STREAM);
        svc_out_event(out, id, &ev.base);
    }
    else if (a->status == ACC_UNCONFIRMED && acc_mail_allowed(a, ctx->now_us))
        acc_reissue(st, ctx, a, cmd->password, lang, out);
    else if (a->status == ACC_ACTIVE && acc_mail_allowed(a, ctx->now_us)) {
        if (!acc_random_ok(ctx, out))
            return;
        Tp__Account__RegistrationAttemptedForKnownEmail ev =
            TP__ACCOUNT__REGISTRATION_ATTEMPTED_FOR_KNOWN_EMAIL__INIT;
        ev.account_id = (char *) a->id;
        ev.nonce.data = (uint8_t *) ctx->random + 16;
        ev.nonce.len = ACC_NONCE_SIZE;
        ev.at_us = ctx->now_us;
        svc_out_event(out, a->id, &ev.base);
    }
    acc_accepted(out, s_accepted_text);
}

static void s_resend(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    const Tp__Account__ResendConfirmation *cmd = (const Tp__Account__ResendConfirmation *) msg;
    char email[ACC_EMAIL_MAX + 1];
    if (!acc_check_email(cmd->email, email, out))
        return;
    const acc_account_t *a = acc_find_email(state, email);
    if (a && a->status == ACC_UNCONFIRMED && acc_mail_allowed(a, ctx->now_us))
        acc_reissue(state, ctx, a, NULL, NULL, out);
    acc_accepted(out, s_accepted_text);
}

/* The token of a mail, checked: its record when usable for @p reset, else an error. */
static const acc_token_t *s_mail_token(const acc_state_t *st, const svc_ctx_t *ctx,
                                       const char *token, bool reset, svc_out_t *out)
{
    uint8_t raw[crypto_hash_sha256_BYTES];
    char hex[ACC_HEX_SIZE];
    if (!*token) {
        svc_out_error(out, "invalid", "token", "is required");
        return NULL;
    }
    const acc_token_t *t =
        acc_token_hash_of(token, raw, hex) ? zhashx_lookup(st->tokens, hex) : NULL;
    const acc_account_t *a = t && t->reset == reset ? acc_find(st, t->account_id) : NULL;
    if (!a || a->status != (reset ? ACC_ACTIVE : ACC_UNCONFIRMED)) {
        svc_out_error(out, "invalid_token", "token", "this link is not valid (any more)");
        return NULL;
    }
    if (ctx->now_us >= t->expires_at_us) {
        svc_out_error(out, "expired", "token", "this link has expired; please request a new one");
        return NULL;
    }
    return t;
}

/* On the loop: the password hash of the registration the token was sent for (a dummy one
 * for a token that is none, so that prepare takes the same time). */
static char *s_lookup_confirm(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg)
{
    const acc_state_t *st = state;
    const Tp__Account__Confirm *cmd = (const Tp__Account__Confirm *) msg;
    uint8_t raw[crypto_hash_sha256_BYTES];
    char hex[ACC_HEX_SIZE];
    const acc_token_t *t =
        acc_token_hash_of(cmd->token, raw, hex) ? zhashx_lookup(st->tokens, hex) : NULL;
    return acc_lookup_hash(t && !t->reset ? t->password_hash : NULL);
}

/* On a worker: the password entered with the link, verified; the verdict in its place. */
static int s_prepare_confirm(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Account__Confirm *cmd = (Tp__Account__Confirm *) msg;
    if (!*cmd->token)
        svc_out_error(out, "invalid", "token", "is required");
    long n = acc_utf8_chars(cmd->password);
    if (n == 0)
        svc_out_error(out, "invalid", "password",
                      "is required: the password you chose when you registered");
    else if (n < 0 || n > ACC_PASSWORD_MAX)
        svc_out_error(out, "invalid", "password", "must be at most %d characters of UTF-8 text",
                      ACC_PASSWORD_MAX);
    if (svc_out_failed(out))
        return -1;
    return acc_verify_into(&cmd->password, lookup, out);
}

/* The link and the password of its registration: a wrong password leaves the link as it
 * was (whoever has the link has the mailbox; nothing to throttle beyond the hashing). */
static void s_confirm(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out)
{
    const Tp__Account__Confirm *cmd = (const Tp__Account__Confirm *) msg;
    const acc_token_t *t = s_mail_token(state, ctx, cmd->token, false, out);
    if (!t)
        return;
    if (!acc_verdict_prepared(cmd->password))
        svc_out_error(out, "internal", "password", "was not prepared");
    else if (!acc_verdict_ok(cmd->password, t->password_hash)) {
        svc_out_error(out, "invalid_credentials", "password",
                      "this is not the password chosen when registering with this link");
    }
    if (svc_out_failed(out))
        return;
    Tp__Account__AccountConfirmed ev = TP__ACCOUNT__ACCOUNT_CONFIRMED__INIT;
    ev.account_id = (char *) t->account_id;
    ev.password_hash = t->password_hash;
    svc_out_event(out, t->account_id, &ev.base);
    acc_accepted(out, "Your e-mail address is confirmed; you can log in now.");
}

/* ------------------------------------------------------------------ password reset */

static void s_request_reset(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                            svc_out_t *out)
{
    const Tp__Account__RequestPasswordReset *cmd = (const Tp__Account__RequestPasswordReset *) msg;
    char email[ACC_EMAIL_MAX + 1];
    if (!acc_check_email(cmd->email, email, out))
        return;
    const acc_account_t *a = acc_find_email(state, email);
    if (a && a->status == ACC_ACTIVE && acc_mail_allowed(a, ctx->now_us)) {
        uint8_t hash_buf[crypto_hash_sha256_BYTES];
        Tp__Account__PasswordResetRequested ev = TP__ACCOUNT__PASSWORD_RESET_REQUESTED__INIT;
        ev.account_id = (char *) a->id;
        if (!s_new_token(state, ctx, "reset", &ev.token_nonce, &ev.token_hash, hash_buf, out))
            return;
        ev.token_expires_at_us = ctx->now_us + ACCOUNT_RESET_VALID_US;
        ev.issued_at_us = ctx->now_us;
        svc_out_event(out, a->id, &ev.base);
    }
    acc_accepted(out, s_accepted_text);
}

static int s_prepare_reset(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Account__CompletePasswordReset *cmd = (Tp__Account__CompletePasswordReset *) msg;
    if (!*cmd->token)
        svc_out_error(out, "invalid", "token", "is required");
    s_check_password(cmd->new_password, "newPassword", out);
    if (svc_out_failed(out))
        return -1;
    return s_hash_into(&cmd->new_password, out);
}

static void s_complete_reset(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                             svc_out_t *out)
{
    const Tp__Account__CompletePasswordReset *cmd =
        (const Tp__Account__CompletePasswordReset *) msg;
    if (!acc_prepared_hash(cmd->new_password)) {
        svc_out_error(out, "internal", "newPassword", "was not prepared");
        return;
    }
    const acc_token_t *t = s_mail_token(state, ctx, cmd->token, true, out);
    if (!t)
        return;
    const acc_account_t *a = acc_find(state, t->account_id);
    s_end_sessions(state, a, "password_reset", out);
    Tp__Account__PasswordChanged ev = TP__ACCOUNT__PASSWORD_CHANGED__INIT;
    ev.account_id = (char *) a->id;
    ev.password_hash = cmd->new_password;
    svc_out_event(out, a->id, &ev.base);
    acc_accepted(out, "Your password is changed; please log in with the new one.");
}

/* ------------------------------------------------------------------ shops, officers */

static void s_redeem(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__RedeemShopCode *cmd = (const Tp__Account__RedeemShopCode *) msg;
    const acc_account_t *a = acc_owner(st, ctx, "only a customer may redeem a shop code", out);
    if (!a)
        return;
    char code[ACC_CODE_MAX + 1];
    if (!acc_code_normalize(cmd->code, code, sizeof code)) {
        if (strlen(cmd->code) > ACC_CODE_MAX)
            svc_out_error(out, "invalid", "code", "must be at most %d characters", ACC_CODE_MAX);
        else
            svc_out_error(out, "invalid", "code", "is required");
        return;
    }
    if (acc_window_count(&a->rejected, ctx->now_us - ACCOUNT_REDEEM_WINDOW_US) >=
        ACCOUNT_REDEEM_MAX_REJECTS) {
        svc_out_error(out, "throttled", "code", "too many unknown codes; please try again later");
        return;
    }
    const acc_shop_t *shop = zhashx_lookup(st->codes, code);
    Tp__Account__ShopRedeemed r = TP__ACCOUNT__SHOP_REDEEMED__INIT;
    if (shop && !shop->disabled) {
        if (!zlistx_find(a->shops, shop->shop_id)) {
            Tp__Account__ShopCodeRedeemed ev = TP__ACCOUNT__SHOP_CODE_REDEEMED__INIT;
            ev.account_id = (char *) a->id;
            ev.shop_id = shop->shop_id;
            ev.code = code;
            svc_out_event(out, a->id, &ev.base);
        }
        r.shop_id = shop->shop_id;
        r.name = shop->name;
    }
    else {
        /* recorded for throttling, hence an ok reply: see account.h */
        char code_hash[ACC_HEX_SIZE];
        acc_sha256_hex(code, strlen(code), code_hash);
        Tp__Account__ShopCodeRejected ev = TP__ACCOUNT__SHOP_CODE_REJECTED__INIT;
        ev.account_id = (char *) a->id;
        ev.code_hash = code_hash;
        ev.client_addr = ctx->header->client_addr;
        ev.at_us = ctx->now_us;
        svc_out_event(out, a->id, &ev.base);
        r.refusal = "unknown_shop_code";
    }
    svc_out_reply(out, &r.base);
}

/* AppointOfficer and RevokeOfficer have the same fields. */
static void s_officer(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out, bool appoint)
{
    const acc_state_t *st = state;
    const Tp__Account__AppointOfficer *cmd = (const Tp__Account__AppointOfficer *) msg;
    if (!s_operator(ctx, out))
        return;
    const acc_account_t *a = acc_find(st, cmd->account_id);
    if (!a || a->status == ACC_DELETED)
        svc_out_error(out, "not_found", "accountId", "no such account");
    if (!*cmd->shop_id || !zhashx_lookup(st->shops, cmd->shop_id))
        svc_out_error(out, "not_found", "shopId", "no such shop");
    if (svc_out_failed(out))
        return;
    /* appointing twice or revoking what is not there changes nothing, and writes nothing */
    bool is = zlistx_find(a->officer_of, cmd->shop_id) != NULL;
    if (appoint && !is) {
        Tp__Account__OfficerAppointed ev = TP__ACCOUNT__OFFICER_APPOINTED__INIT;
        ev.account_id = (char *) a->id;
        ev.shop_id = cmd->shop_id;
        svc_out_event(out, a->id, &ev.base);
    }
    else if (!appoint && is) {
        Tp__Account__OfficerRevoked ev = TP__ACCOUNT__OFFICER_REVOKED__INIT;
        ev.account_id = (char *) a->id;
        ev.shop_id = cmd->shop_id;
        svc_out_event(out, a->id, &ev.base);
    }
    /* the view as it will be */
    acc_account_t view = *a;
    view.officer_of = zlistx_dup(a->officer_of);
    if (!view.officer_of) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    if (appoint && !is)
        zlistx_add_end(view.officer_of, cmd->shop_id);
    else if (!appoint && is)
        zlistx_delete(view.officer_of, zlistx_find(view.officer_of, cmd->shop_id));
    acc_reply_view(&view, out);
    zlistx_destroy(&view.officer_of);
}

static void s_appoint(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out)
{
    s_officer(state, ctx, msg, out, true);
}

static void s_revoke(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    s_officer(state, ctx, msg, out, false);
}

/* ------------------------------------------------------------------ operators */

static void s_delete(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__DeleteAccount *cmd = (const Tp__Account__DeleteAccount *) msg;
    if (!s_operator(ctx, out))
        return;
    const acc_account_t *a = acc_find(st, cmd->account_id);
    if (!a || a->status == ACC_DELETED)
        svc_out_error(out, "not_found", "accountId", "no such account");
    long n = acc_utf8_chars(cmd->reason);
    if (n < 0 || n > 500)
        svc_out_error(out, "invalid", "reason", "must be at most 500 characters of UTF-8 text");
    if (svc_out_failed(out))
        return;
    s_end_sessions(st, a, "account_deleted", out);
    Tp__Account__AccountDeleted ev = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    ev.account_id = (char *) a->id;
    ev.reason = cmd->reason;
    svc_out_event(out, a->id, &ev.base);
    /* its e-mail address, password hashes, sessions' client addresses: erased (svc_seal.h) */
    char subject[ACC_ID_SIZE + 16];
    snprintf(subject, sizeof subject, "account:%s", a->id);
    svc_out_erase(out, subject, "account deleted");
    acc_account_t view = *a;
    view.status = ACC_DELETED;
    view.email = NULL;
    acc_reply_view(&view, out);
}

static void s_find_account(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                           svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__FindAccount *q = (const Tp__Account__FindAccount *) msg;
    if (!s_operator(ctx, out))
        return;
    const acc_account_t *a = NULL;
    const char *field = "accountId";
    if (*q->account_id)
        a = acc_find(st, q->account_id);
    else if (*q->email) {
        char email[ACC_EMAIL_MAX + 1];
        field = "email";
        if (!acc_check_email(q->email, email, out))
            return;
        a = acc_find_email(st, email);
    }
    else {
        svc_out_error(out, "invalid", "email", "email or accountId is required");
        return;
    }
    if (!a)
        svc_out_error(out, "not_found", field, "no such account");
    else
        acc_reply_view(a, out);
}

/* ------------------------------------------------------------------ react */

/* The order service's shops: a ShopKnown when something we keep has changed. Every other
 * event goes to the notices (account_notice.c). */
static void s_react(const void *state, const char *upstream, const svc_event_t *ev, svc_out_t *out)
{
    const acc_state_t *st = state;
    bool created = streq(ev->event_type, "ShopCreated");
    if (!created && !streq(ev->event_type, "ShopChanged")) {
        acc_react_notice(st, upstream, ev, out);
        return;
    }
    if (!streq(upstream, "order"))
        return;
    /* ShopCreated and ShopChanged have the same fields */
    Tp__Order__ShopCreated *e = tp__order__shop_created__unpack(NULL, ev->payload_len, ev->payload);
    if (!e || !e->shop || !*e->shop->shop_id || strlen(e->shop->shop_id) > EVS_MAX_ID - 8) {
        svc_out_error(out, "invalid", NULL, "shop event without a shop id or not decodable");
        goto done;
    }
    const Tp__Order__Shop *s = e->shop;
    const acc_shop_t *known = zhashx_lookup(st->shops, s->shop_id);
    if (known && streq(known->code, s->code) && streq(known->name, s->name) &&
        known->disabled == s->disabled)
        goto done;
    Tp__Account__ShopKnown k = TP__ACCOUNT__SHOP_KNOWN__INIT;
    k.shop_id = s->shop_id;
    k.code = s->code;
    k.name = s->name;
    k.disabled = s->disabled;
    char stream[EVS_MAX_ID + 1];
    snprintf(stream, sizeof stream, "shop:%s", s->shop_id);
    svc_out_event(out, stream, &k.base);
done:
    if (e)
        tp__order__shop_created__free_unpacked(e, NULL);
}

/* ------------------------------------------------------------------ the table */

/* The service's own settings (svc_settings.h). */
static const svc_setting_t s_settings[] = {
    {"base_url", ACCOUNT_BASE_URL_DEFAULT, SVC_SETTING_STRING, 0, 0,
     "The portal's public URL, for the links in mails."},
    {NULL},
};

/* The portal's public URL for the links in mails ("base_url", no trailing slash). */
static void s_configure(void *state, zconfig_t *config, const char *name)
{
    acc_state_t *st = state;
    const char *url = svc_setting_get(config, name, s_settings, "base_url");
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    snprintf(st->base_url, sizeof st->base_url, "%.*s", (int) n, url);
}

#define S_CMD(name, type, query, prepare, decide, lookup, secret, reply, who)                      \
    {                                                                                              \
        name, &tp__account__##type##__descriptor, query, prepare, decide, lookup, secret,          \
            &tp__account__##reply##__descriptor, who                                               \
    }

static const svc_command_t s_commands[] = {
    S_CMD("Register", register, false, s_prepare_register, s_register, NULL, false, accepted, SVC_GATEWAY),
    S_CMD("ResendConfirmation", resend_confirmation, false, NULL, s_resend, NULL, false, accepted, SVC_GATEWAY),
    S_CMD("Confirm", confirm, false, s_prepare_confirm, s_confirm, s_lookup_confirm, false, accepted, SVC_GATEWAY),
    S_CMD("Login", login, false, acc_prepare_login, acc_login, acc_lookup_login, true, session_info, SVC_GATEWAY),
    S_CMD("Logout", logout, false, NULL, acc_logout, NULL, false, accepted, SVC_GATEWAY),
    S_CMD("TouchSession", touch_session, false, NULL, acc_touch, NULL, false, session_info, SVC_GATEWAY),
    S_CMD("ResolveSession", resolve_session, true, NULL, acc_resolve, NULL, false, session_info, SVC_GATEWAY),
    S_CMD("RequestPasswordReset", request_password_reset, false, NULL, s_request_reset, NULL,
          false, accepted, SVC_GATEWAY),
    S_CMD("CompletePasswordReset", complete_password_reset, false, s_prepare_reset,
          s_complete_reset, NULL, false, accepted, SVC_GATEWAY),
    S_CMD("RedeemShopCode", redeem_shop_code, false, NULL, s_redeem, NULL, false, shop_redeemed, SVC_CUSTOMER | SVC_OFFICER),
    S_CMD("WhoAmI", who_am_i, true, NULL, acc_whoami, NULL, false, session_info, SVC_GATEWAY | SVC_OPERATOR),
    S_CMD("AppointOfficer", appoint_officer, false, NULL, s_appoint, NULL, false, account_view, SVC_OPERATOR),
    S_CMD("RevokeOfficer", revoke_officer, false, NULL, s_revoke, NULL, false, account_view, SVC_OPERATOR),
    S_CMD("DeleteAccount", delete_account, false, NULL, s_delete, NULL, false, account_view, SVC_OPERATOR),
    S_CMD("FindAccount", find_account, true, NULL, s_find_account, NULL, false, account_view, SVC_OPERATOR),
    S_CMD("SetNotifications", set_notifications, false, NULL, acc_set_notifications, NULL, false,
          notifications, SVC_CUSTOMER | SVC_OFFICER),
    S_CMD("RequestDeletion", request_deletion, false, NULL, acc_request_deletion, NULL, false,
          deletion_request, SVC_CUSTOMER | SVC_OFFICER),
    S_CMD("ListDeletionRequests", list_deletion_requests, true, NULL, acc_list_deletions, NULL,
          false, deletion_request_list, SVC_OPERATOR),
    S_CMD("GetAccount", get_account, true, NULL, acc_get_account, NULL, false, account_view,
          SVC_CUSTOMER | SVC_OFFICER),
};

/* The services that follow this one (its "$read" and PUB socket). */
static const char *const s_followers[] = {"identification", "revocation", "order", NULL};
static const char *const s_upstreams[] = {"order", "production", "revocation", NULL};

/* what react acts on; every other upstream event is skipped without a commit: the order
 * service's shops, and for the notices the events that name an order's account and the
 * changes that matter to it (account_notice.c) */
static const char *const s_reacts_to[] = {
    /* order */
    "ShopCreated", "ShopChanged", "OrderPlaced", "DataProblemRecorded",
    "OrderReleasedForProduction", "OrderShipped", "OrderDelivered",
    /* production */
    "JobOpened", "ProductActivated",
    /* revocation */
    "ProductKnown", "RevocationRequested", "RevocationCompleted", "RevocationAttemptFailed", NULL};

const svc_def_t account_def = {
    .name = "account",
    .state_new = acc_state_new,
    .state_destroy = acc_state_destroy,
    .apply = acc_apply,
    .commands = s_commands,
    .n_commands = sizeof s_commands / sizeof s_commands[0],
    .react = s_react,
    .tick = acc_tick,
    .upstreams = s_upstreams,
    .followers = s_followers,
    .reacts_to = s_reacts_to,
    .summary = acc_summary,
    .configure = s_configure,
    .mails_pending = acc_mails_pending,
    .mail_sent = acc_mail_sent,
    .settings = s_settings,
};
