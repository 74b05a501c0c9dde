/* revocation_password.c: RevokeWithPassword, the revocation without logging in: lookup
 * (on the loop) copies the hash, prepare (on a worker) verifies it with Argon2id, decide
 * checks the verdict, the throttles and the product. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "svc_text.h"
#include "revocation_internal.h"
#include "svc_addr.h"

/* The password field after prepare: the verdict, never the password. */
#define S_VERDICT_OK  "\001ok:"
#define S_VERDICT_BAD "\001bad"
/* lookup's answer when the client address is throttled: prepare then skips the hashing */
#define S_THROTTLED "\001throttled"

/* A valid Argon2id hash of the cost the order service uses (REVOCATION_PWHASH_*), of a
 * random password nobody knows: unknown numbers take as long as known ones, and fail. */
static const char s_dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$oGPsaJgW/0C2hvVagHqkYA$"
                                   "ZXPmHT6KVH0wxeNc5eE8q1fwDQRjaifYdGj6KdhNgRA";

/* Number, reason and comment; the normalized number into @p key (RVK_NUMBER_MAX + 1). */
static bool s_check(const Tp__Revocation__RevokeWithPassword *cmd, char *key, svc_out_t *out)
{
    if (!rvk_number_normalize(cmd->number, key, RVK_NUMBER_MAX + 1))
        svc_out_error(out, "invalid", "number",
                      "the order number (TP-...) or the card number is required");
    rvk_check_reason(out, cmd->reason, cmd->comment);
    return !svc_out_failed(out);
}

/* Failures from the client address (IPv6: its /64) in the window. */
static bool s_throttled(const rvk_state_t *st, const char *addr, int64_t now)
{
    if (!addr || !*addr)
        return false;
    char key[SVC_ADDR_KEY_MAX];
    svc_addr_key(addr, key, sizeof key);
    const rvk_window_t *w = zhashx_lookup(st->fails_addr, key);
    int64_t since = now - (int64_t) REVOCATION_FAIL_WINDOW_S * 1000000;
    return w && rvk_window_count(w, since) >= REVOCATION_ADDR_MAX_FAILS;
}

/* On the loop: what the worker verifies against, or S_THROTTLED for a client address
 * that decide will refuse (no hashing for it). The runtime wipes and frees it. */
char *rvk_lookup_password(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__RevokeWithPassword *cmd =
        (const Tp__Revocation__RevokeWithPassword *) msg;
    if (s_throttled(st, ctx->header->client_addr, ctx->now_us))
        return strdup(S_THROTTLED);
    char key[RVK_NUMBER_MAX + 1];
    const rvk_product_t *p =
        rvk_number_normalize(cmd->number, key, sizeof key) ? zhashx_lookup(st->by_number, key) : NULL;
    return strdup(p && p->password_hash ? p->password_hash : s_dummy_hash);
}

/* On a worker: verify, then put the verdict where the password was. */
int rvk_prepare_password(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Revocation__RevokeWithPassword *cmd = (Tp__Revocation__RevokeWithPassword *) msg;
    char key[RVK_NUMBER_MAX + 1];
    s_check(cmd, key, out);
    size_t n = strlen(cmd->password);
    long chars = svc_text_len(cmd->password, false);
    if (n == 0)
        svc_out_error(out, "invalid", "password", "the revocation password is required");
    else if (chars < 0 || chars > RVK_PASSWORD_MAX)
        svc_out_error(out, "invalid", "password", "must be at most %d characters of text",
                      RVK_PASSWORD_MAX);
    if (svc_out_failed(out))
        return -1;
    if (lookup && streq(lookup, S_THROTTLED)) {
        svc_out_error(out, "throttled", NULL, "too many failed attempts; please try again later");
        return -1;
    }
    const char *hash = lookup && strncmp(lookup, "$argon2id$", 10) == 0 ? lookup : s_dummy_hash;
    bool ok = crypto_pwhash_str_verify(hash, cmd->password, n) == 0;
    char *verdict = ok ? zsys_sprintf(S_VERDICT_OK "%s", hash) : strdup(S_VERDICT_BAD);
    if (!verdict) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return -1;
    }
    sodium_memzero(cmd->password, n);
    free(cmd->password);
    cmd->password = verdict;
    return 0;
}

/* Unknown number and wrong password get the same answer, and both are recorded: the
 * failures count for throttling across restarts. */
void rvk_revoke_with_password(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                              svc_out_t *out)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__RevokeWithPassword *cmd =
        (const Tp__Revocation__RevokeWithPassword *) msg;
    const char *addr = ctx->header->client_addr;
    char key[RVK_NUMBER_MAX + 1], hash[RVK_HEX_SIZE];
    if (!s_check(cmd, key, out))
        return;
    if (cmd->password[0] != '\001') {
        svc_out_error(out, "internal", "password", "was not prepared");
        return;
    }
    rvk_sha256_hex(key, hash);
    if (s_throttled(st, addr, ctx->now_us)) {
        svc_out_error(out, "throttled", NULL, "too many failed attempts; please try again later");
        return;
    }
    const rvk_product_t *p = zhashx_lookup(st->by_number, key);
    size_t ok_len = strlen(S_VERDICT_OK);
    /* the hash verified on the worker must still be the product's */
    bool ok = p && p->password_hash && strncmp(cmd->password, S_VERDICT_OK, ok_len) == 0 &&
              streq(cmd->password + ok_len, p->password_hash);
    if (!ok) {
        Tp__Revocation__RevocationAttemptFailed ev =
            TP__REVOCATION__REVOCATION_ATTEMPT_FAILED__INIT;
        ev.number_hash = hash;
        ev.client_addr = (char *) addr;
        ev.at_us = ctx->now_us;
        /* its owner hears of it (the first failure, then once a day at most): failures
         * do not stop the right password, so a guesser is all there is to know about */
        ev.order_id = p ? p->order_id : "";
        ev.tell_owner = p && p->account_id &&
                        (!p->told_at_us || ctx->now_us - p->told_at_us >=
                                               (int64_t) REVOCATION_NOTICE_INTERVAL_S * 1000000);
        char stream[RVK_STREAM_MAX];
        snprintf(stream, sizeof stream, "attempts-%s", hash);
        svc_out_event(out, stream, &ev.base);
        svc_out_keep_events(out);
        svc_out_error(out, "invalid_credentials", NULL,
                      "the number or the revocation password is not right");
        return;
    }
    char id[24];
    if (!rvk_check_revocable(p, "number", out) ||
        !rvk_request_revocation(p, ctx, cmd->reason, cmd->comment, "anonymous",
                                "revocation_password", addr, st, id, false, out))
        return;
    Tp__Revocation__RevocationAnswer answer = TP__REVOCATION__REVOCATION_ANSWER__INIT;
    answer.accepted = true;
    answer.request_id = id;
    svc_out_reply(out, &answer.base);
}
