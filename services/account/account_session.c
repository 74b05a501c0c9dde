/* account_session.c: the account core's logins and sessions: Login (lookup and
 * prepare verify the password off the loop, also for Confirm), Logout, TouchSession,
 * ResolveSession and WhoAmI. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"
#include "svc_addr.h"

/* A password field after prepare: the verdict, never the password. */
#define S_VERDICT_OK  "\001ok:"
#define S_VERDICT_BAD "\001bad"
/* lookup's answer when the attempt is throttled: prepare then skips the hashing */
#define S_THROTTLED "\001throttled"

/* A valid Argon2id hash of the same cost as real ones, for addresses without an
 * account: verifying against it takes as long as against a real one, and fails. */
static const char s_dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$UkIIX63f7p3AN2WixWk0tA$"
                                   "mMcZoYDCZwjNVogrt9udACF+nj0D1CaAUrN/SL4u0tg";

/* ------------------------------------------------------------------ verdicts */

char *acc_lookup_hash(const char *hash)
{
    return strdup(hash && acc_prepared_hash(hash) ? hash : s_dummy_hash);
}

int acc_verify_into(char **field, const char *lookup, svc_out_t *out)
{
    if (lookup && streq(lookup, S_THROTTLED)) {
        svc_out_error(out, "throttled", NULL, "too many failed attempts; please try again later");
        return -1;
    }
    size_t n = strlen(*field);
    const char *hash = lookup && acc_prepared_hash(lookup) ? lookup : s_dummy_hash;
    bool ok = crypto_pwhash_str_verify(hash, *field, n) == 0;
    return acc_swap_secret(field, ok ? zsys_sprintf(S_VERDICT_OK "%s", hash) : strdup(S_VERDICT_BAD),
                           out);
}

bool acc_verdict_prepared(const char *verdict)
{
    return verdict[0] == '\001';
}

bool acc_verdict_ok(const char *verdict, const char *hash)
{
    size_t n = strlen(S_VERDICT_OK);
    return hash && strncmp(verdict, S_VERDICT_OK, n) == 0 && streq(verdict + n, hash);
}

/* ------------------------------------------------------------------ login */

/* Failures for the address (email_hash) or from the client address (its svc_addr key). */
static bool s_throttled(const acc_state_t *st, const char *email_hash, const char *addr,
                        int64_t now)
{
    int64_t since = now - ACCOUNT_LOGIN_WINDOW_US;
    const acc_window_t *w = zhashx_lookup(st->fails_email, email_hash);
    if (w && acc_window_count(w, since) >= ACCOUNT_LOGIN_MAX_FAILS)
        return true;
    if (!addr || !*addr)
        return false;
    char key[SVC_ADDR_KEY_MAX];
    svc_addr_key(addr, key, sizeof key);
    w = zhashx_lookup(st->fails_addr, key);
    return w && acc_window_count(w, since) >= ACCOUNT_ADDR_MAX_FAILS;
}

/* On the loop: what the worker verifies against. An attempt that decide will refuse as
 * throttled (the address or the client address) gets S_THROTTLED and costs no hashing.
 * The runtime wipes and frees the answer. */
char *acc_lookup_login(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg)
{
    const acc_state_t *st = state;
    const Tp__Account__Login *cmd = (const Tp__Account__Login *) msg;
    char email[ACC_EMAIL_MAX + 1], key[ACC_HEX_SIZE];
    if (!acc_email_normalize(cmd->email, email, sizeof email))
        return acc_lookup_hash(NULL);
    acc_email_key(ctx->secret, email, key);
    if (s_throttled(st, key, ctx->header->client_addr, ctx->now_us))
        return strdup(S_THROTTLED);
    const acc_account_t *a = acc_find_email(st, email);
    return acc_lookup_hash(a && a->status != ACC_DELETED ? a->password_hash : NULL);
}

/* On a worker: verify, then put the verdict where the password was. */
int acc_prepare_login(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Account__Login *cmd = (Tp__Account__Login *) msg;
    char email[ACC_EMAIL_MAX + 1];
    acc_check_email(cmd->email, email, out);
    if (!*cmd->password)
        svc_out_error(out, "invalid", "password", "is required");
    else if (acc_utf8_chars(cmd->password) < 0 || acc_utf8_chars(cmd->password) > ACC_PASSWORD_MAX)
        svc_out_error(out, "invalid", "password", "must be at most %d characters of UTF-8 text",
                      ACC_PASSWORD_MAX);
    if (svc_out_failed(out))
        return -1;
    return acc_verify_into(&cmd->password, lookup, out);
}

/* A refused login, recorded for throttling and answered like every other: the right
 * password of an unconfirmed account included, so that nobody learns from the answer
 * (or from when throttling starts) whether an address has an account or is confirmed.
 * Its owner gets a mail with a fresh confirmation link instead, for the password just
 * verified (at most ACCOUNT_MAIL_MAX mails an hour, as always). */
static void s_login_refused(const acc_state_t *st, const svc_ctx_t *ctx, const acc_account_t *a,
                            const char *email_hash, const char *verified, svc_out_t *out)
{
    Tp__Account__LoginFailed ev = TP__ACCOUNT__LOGIN_FAILED__INIT;
    ev.account_id = a ? (char *) a->id : "";
    ev.email_hash = (char *) email_hash;
    ev.client_addr = ctx->header->client_addr;
    ev.at_us = ctx->now_us;
    svc_out_event(out, a ? a->id : "login-failures", &ev.base);
    if (a && verified && a->status == ACC_UNCONFIRMED && acc_mail_allowed(a, ctx->now_us))
        acc_reissue(st, ctx, a, verified, NULL, out);
    Tp__Account__SessionInfo r = TP__ACCOUNT__SESSION_INFO__INIT;
    r.refusal = "invalid_credentials";
    svc_out_reply(out, &r.base);
}

void acc_login(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg, svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__Login *cmd = (const Tp__Account__Login *) msg;
    const char *addr = ctx->header->client_addr;
    char email[ACC_EMAIL_MAX + 1], key[ACC_HEX_SIZE];
    if (!acc_check_email(cmd->email, email, out))
        return;
    if (!acc_verdict_prepared(cmd->password)) {
        svc_out_error(out, "internal", "password", "was not prepared");
        return;
    }
    acc_email_key(ctx->secret, email, key);
    if (s_throttled(st, key, addr, ctx->now_us)) {
        svc_out_error(out, "throttled", NULL, "too many failed attempts; please try again later");
        return;
    }
    const acc_account_t *a = acc_find_email(st, email);
    /* the hash verified on the worker must still be the account's: a password
     * changed meanwhile makes the verdict worthless */
    bool ok = a && acc_verdict_ok(cmd->password, a->password_hash);
    if (!ok || a->status != ACC_ACTIVE) {
        s_login_refused(st, ctx, a, key, ok ? a->password_hash : NULL, out);
        return;
    }
    char
        token[sodium_base64_ENCODED_LEN(SVC_SECRET_SIZE, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    uint8_t raw[crypto_hash_sha256_BYTES];
    char hex[ACC_HEX_SIZE];
    if (!acc_random_ok(ctx, out))
        return;
    sodium_bin2base64(token, sizeof token, ctx->random, SVC_SECRET_SIZE,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_hash_sha256(raw, (const uint8_t *) token, strlen(token));
    acc_hex(raw, sizeof raw, hex, sizeof hex);
    if (zhashx_lookup(st->sessions, hex)) {
        /* randomness handed out twice: never give one session to two logins */
        svc_out_error(out, "internal", NULL, "session token collision; retry");
        return;
    }
    if (zlistx_size(a->sessions) >= ACCOUNT_MAX_SESSIONS) {
        /* the oldest session gives way, so one account's state stays bounded */
        uint8_t old[crypto_hash_sha256_BYTES];
        const char *oldest = zlistx_first(a->sessions);
        if (sodium_hex2bin(old, sizeof old, oldest, strlen(oldest), NULL, NULL, NULL) == 0) {
            Tp__Account__SessionEnded end = TP__ACCOUNT__SESSION_ENDED__INIT;
            end.account_id = (char *) a->id;
            end.session_hash.data = old;
            end.session_hash.len = sizeof old;
            end.reason = "superseded";
            svc_out_event(out, a->id, &end.base);
        }
    }
    Tp__Account__SessionStarted ev = TP__ACCOUNT__SESSION_STARTED__INIT;
    ev.account_id = (char *) a->id;
    ev.session_hash.data = raw;
    ev.session_hash.len = sizeof raw;
    ev.expires_at_us = ctx->now_us + ACCOUNT_SESSION_ABSOLUTE_US;
    ev.client_addr = (char *) addr;
    ev.started_at_us = ctx->now_us;
    svc_out_event(out, a->id, &ev.base);
    acc_session_t s = {.started_at_us = ctx->now_us,
                       .touched_at_us = ctx->now_us,
                       .expires_at_us = ev.expires_at_us};
    acc_reply_session(st, a, token, &s, ctx->now_us, out);
    sodium_memzero(token, sizeof token);
}

/* ------------------------------------------------------------------ sessions */

void acc_logout(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__Logout *cmd = (const Tp__Account__Logout *) msg;
    uint8_t raw[crypto_hash_sha256_BYTES];
    char hex[ACC_HEX_SIZE];
    if (!*cmd->session_token) {
        svc_out_error(out, "invalid", "sessionToken", "is required");
        return;
    }
    if (!acc_token_hash_of(cmd->session_token, raw, hex)) {
        svc_out_error(out, "invalid", "sessionToken", "is not a session token");
        return;
    }
    /* an unknown or already ended session: logged out all the same */
    const acc_session_t *s = zhashx_lookup(st->sessions, hex);
    if (s) {
        Tp__Account__SessionEnded ev = TP__ACCOUNT__SESSION_ENDED__INIT;
        ev.account_id = (char *) s->account_id;
        ev.session_hash.data = raw;
        ev.session_hash.len = sizeof raw;
        ev.reason = "logout";
        svc_out_event(out, s->account_id, &ev.base);
    }
    acc_accepted(out, "Logged out.");
}

static const acc_session_t *s_live_session(const acc_state_t *st, const svc_ctx_t *ctx,
                                           const char *token, uint8_t *raw, svc_out_t *out)
{
    char hex[ACC_HEX_SIZE];
    const acc_session_t *s =
        acc_token_hash_of(token, raw, hex) ? acc_session_live(st, hex, ctx->now_us) : NULL;
    if (!s)
        svc_out_error(out, "unauthenticated", "sessionToken", "no valid session; please log in");
    return s;
}

void acc_resolve(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                 svc_out_t *out)
{
    const Tp__Account__ResolveSession *q = (const Tp__Account__ResolveSession *) msg;
    uint8_t raw[crypto_hash_sha256_BYTES];
    const acc_session_t *s = s_live_session(state, ctx, q->session_token, raw, out);
    if (s)
        acc_reply_session(state, acc_find(state, s->account_id), NULL, s, ctx->now_us, out);
}

/* Records activity at most once per ACCOUNT_SESSION_TOUCH_US: the idle expiry slides
 * without an event per request. */
void acc_touch(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Account__TouchSession *cmd = (const Tp__Account__TouchSession *) msg;
    uint8_t raw[crypto_hash_sha256_BYTES];
    const acc_session_t *s = s_live_session(state, ctx, cmd->session_token, raw, out);
    if (!s)
        return;
    acc_session_t view = *s;
    if (ctx->now_us - s->touched_at_us >= ACCOUNT_SESSION_TOUCH_US) {
        Tp__Account__SessionTouched ev = TP__ACCOUNT__SESSION_TOUCHED__INIT;
        ev.account_id = (char *) s->account_id;
        ev.session_hash.data = raw;
        ev.session_hash.len = sizeof raw;
        ev.at_us = ctx->now_us;
        svc_out_event(out, s->account_id, &ev.base);
        view.touched_at_us = ctx->now_us;
    }
    acc_reply_session(state, acc_find(state, s->account_id), NULL, &view, ctx->now_us, out);
}

void acc_whoami(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                svc_out_t *out)
{
    const acc_account_t *a = acc_actor(state, ctx);
    if (!a)
        svc_out_error(out, "unauthenticated", NULL, "no such active account; please log in");
    else
        acc_reply_session(state, a, NULL, NULL, ctx->now_us, out);
}
