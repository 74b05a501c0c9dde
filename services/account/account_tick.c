/* account_tick.c: the account core's timer: sessions that expired end, mails whose link
 * expired are no longer due, and registrations never confirmed end a week after their
 * last link expired, their personal data erased (svc_seal.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"

/* events one tick writes at most; the rest follow on the next tick */
#define S_TICK_MAX 256

/* Ends expired sessions and retires mails whose token expired.
 * O(live sessions + pending mails) per tick; fine well past 100k sessions. */
void acc_tick(const void *state, int64_t now_us, svc_out_t *out)
{
    const acc_state_t *st = state;
    size_t n = 0;
    for (acc_session_t *s = zhashx_first(st->sessions); s && n < S_TICK_MAX;
         s = zhashx_next(st->sessions)) {
        uint8_t raw[crypto_hash_sha256_BYTES];
        if (now_us < acc_session_idle_end(s) ||
            sodium_hex2bin(raw, sizeof raw, s->hash, strlen(s->hash), NULL, NULL, NULL) != 0)
            continue;
        Tp__Account__SessionEnded ev = TP__ACCOUNT__SESSION_ENDED__INIT;
        ev.account_id = s->account_id;
        ev.session_hash.data = raw;
        ev.session_hash.len = sizeof raw;
        ev.reason = "expired";
        svc_out_event(out, s->account_id, &ev.base);
        n++;
    }
    for (acc_mail_t *m = zhashx_first(st->mails); m && n < S_TICK_MAX; m = zhashx_next(st->mails)) {
        uint8_t raw[crypto_hash_sha256_BYTES];
        if (!*m->token_hash || now_us < m->expires_at_us ||
            sodium_hex2bin(raw, sizeof raw, m->token_hash, strlen(m->token_hash), NULL, NULL,
                           NULL) != 0)
            continue;
        Tp__Account__TokenExpired ev = TP__ACCOUNT__TOKEN_EXPIRED__INIT;
        ev.account_id = m->account_id;
        ev.token_hash.data = raw;
        ev.token_hash.len = sizeof raw;
        ev.purpose = (char *) m->kind;
        svc_out_event(out, m->account_id, &ev.base);
        n++;
    }
    /* registrations never confirmed: a week after their last link expired they end, and
     * their data is erased */
    for (const acc_account_t *a = zhashx_first(st->unconfirmed); a && n < S_TICK_MAX;
         a = zhashx_next(st->unconfirmed)) {
        if (!a->confirm_until_us || now_us < a->confirm_until_us + ACCOUNT_UNCONFIRMED_KEEP_US)
            continue;
        Tp__Account__RegistrationExpired ev = TP__ACCOUNT__REGISTRATION_EXPIRED__INIT;
        ev.account_id = (char *) a->id;
        ev.at_us = now_us;
        svc_out_event(out, a->id, &ev.base);
        char subject[ACC_ID_SIZE + 16];
        snprintf(subject, sizeof subject, "account:%s", a->id);
        svc_out_erase(out, subject, "registration not confirmed before its link expired");
        n++;
    }
}

