/* revocation_test_password.c: unit tests of RevokeWithPassword: decide with the verdicts
 * prepare gives, the throttle by client address and its window, no lock-out by number (the
 * owner told instead), and the whole lookup -> prepare -> decide path with real Argon2id
 * (few calls: each takes ~50 ms). */
#include <sodium.h>
#include "revocation_test.h"

/* What prepare puts where the password was (revocation_password.c). */
#define VERDICT_OK  "\001ok:" RTEST_HASH
#define VERDICT_BAD "\001bad"

/* Runs decide as prepare would have left the command, with the verdict given. */
static svc_out_t *s_revoke(svc_tc_t *w, const char *number, const char *verdict)
{
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = (char *) number;
    cmd.password = (char *) verdict;
    cmd.reason = "card_lost";
    return svc_tc_decide(w, "RevokeWithPassword", "", "", &cmd.base);
}

/* The whole path as the runtime runs it: lookup on the loop, prepare on a worker,
 * decide on the loop; the result stays in svc_tc_out(w). */
static svc_out_t *s_revoke_full(svc_tc_t *w, const char *number, const char *password)
{
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = (char *) number;
    cmd.password = strdup(password);
    cmd.reason = "suspected_misuse";
    if (svc_tc_prepare(w, "RevokeWithPassword", &cmd.base) == 0)
        svc_tc_decide(w, "RevokeWithPassword", "", "", &cmd.base);
    free(cmd.password);
    return svc_tc_out(w);
}

void rtest_password_decide(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);

    /* field checks; a password that did not go through prepare */
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = " - ";
    cmd.password = VERDICT_OK;
    cmd.reason = "because";
    svc_tc_decide(w, "RevokeWithPassword", "", "", &cmd.base);
    CHECK(svc_tc_refused(svc_tc_out(w), "invalid", "number") &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "reason"));
    CHECK(svc_tc_refused(s_revoke(w, "TP-2026-000001", RTEST_PASSWORD), "internal", "password"));

    /* unknown number and wrong password: the same recorded refusal */
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-999999", VERDICT_BAD), "invalid_credentials", NULL));
    CHECK(svc_out_n_events(svc_tc_out(w)) == 1 &&
          streq(svc_tc_type(svc_tc_out(w), 0), "RevocationAttemptFailed"));
    char *unknown_msg = strdup(svc_tc_message(svc_tc_out(w)));
    Tp__Revocation__RevocationAttemptFailed *f =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_attempt_failed__descriptor);
    char hash[65];
    uint8_t raw[32];
    crypto_hash_sha256(raw, (const uint8_t *) "TP2026999999", 12);
    sodium_bin2hex(hash, sizeof hash, raw, sizeof raw);
    CHECK(f && streq(f->number_hash, hash) && streq(f->client_addr, "198.51.100.7") &&
          f->at_us == svc_tc_now(w) - 1000);
    svc_tc_free(f);
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-000001", VERDICT_BAD), "invalid_credentials", NULL));
    CHECK(svc_out_n_errors(svc_tc_out(w)) == 1 &&
          streq(unknown_msg, svc_tc_message(svc_tc_out(w))));
    free(unknown_msg);
    /* a verdict for another hash (the password changed meanwhile) is worth nothing */
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-000001", "\001ok:" RTEST_HASH2),
                          "invalid_credentials", NULL));
    /* an ok verdict for a number without a product: the dummy hash never verifies, but
     * should one come, it is still refused */
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-888888", VERDICT_OK), "invalid_credentials", NULL));

    /* the right password for an order whose card is not shipped yet */
    CHECK(svc_tc_refused(s_revoke(w, "TP-2026-000005", VERDICT_OK), "not_found", "number"));

    /* accepted, by order number in any spelling: evidence anonymous, by password, address */
    int64_t at = svc_tc_now(w);
    svc_tc_set_client(w, "203.0.113.9");
    s_revoke(w, "tp 2026 000001", VERDICT_OK);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1);
    Tp__Revocation__RevocationRequested *e =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_requested__descriptor);
    Tp__Revocation__RevocationAnswer *a =
        svc_tc_reply(svc_tc_out(w), &tp__revocation__revocation_answer__descriptor);
    CHECK(e && streq(e->product_id, "prd-TP-2026-000001") && streq(e->requested_by, "anonymous") &&
          streq(e->authenticated_by, "revocation_password") &&
          streq(e->authentication_detail, "203.0.113.9") && streq(e->reason, "card_lost") &&
          e->received_at_us == at && e->n_serials == 2);
    CHECK(a && e && a->accepted && streq(a->request_id, e->request_id) && !*a->refusal);
    svc_tc_free(e);
    svc_tc_free(a);
    /* by card number; a second time: conflict, nothing written */
    CHECK(!svc_out_failed(s_revoke(w, "4711-0002", VERDICT_OK)));
    CHECK(svc_tc_refused(s_revoke(w, "47110002", VERDICT_OK), "conflict", "number"));
    CHECK(strstr(svc_tc_message(svc_tc_out(w)), "already being revoked"));
    svc_tc_advance(w, 61 * SEC);
    CHECK(svc_out_n_events(svc_tc_tick(w)) == 2);
    CHECK(svc_tc_refused(s_revoke(w, "TP-2026-000002", VERDICT_OK), "conflict", "number"));
    CHECK(strstr(svc_tc_message(svc_tc_out(w)), "already revoked"));
    /* a wrong password for a revoked product is a failed attempt like any other */
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-000002", VERDICT_BAD), "invalid_credentials", NULL));
    svc_tc_destroy(&w);
}

/* The RevocationAttemptFailed of the last decide: its order and whether the owner is told. */
static bool s_failed_is(svc_tc_t *w, const char *order, bool tell)
{
    Tp__Revocation__RevocationAttemptFailed *f =
        svc_tc_event(svc_tc_out(w), 0, &tp__revocation__revocation_attempt_failed__descriptor);
    bool is = f && streq(f->order_id, order) && f->tell_owner == tell;
    svc_tc_free(f);
    return is;
}

void rtest_password_throttle(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);

    /* the lock-out: order numbers are sequential, so failures counted per number would let
     * anyone lock every owner out of revoking. A guesser's failures on a number (from
     * several addresses) leave its owner's right password working; the owner is told of
     * the first one, then once a day at most */
    int64_t first = svc_tc_now(w);
    for (int i = 0; i < 12; i++) {
        char addr[40];
        snprintf(addr, sizeof addr, "203.0.113.%d", 10 + i / 4);
        svc_tc_set_client(w, addr);
        CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-000001", VERDICT_BAD), "invalid_credentials",
                              NULL));
        CHECK(s_failed_is(w, "TP-2026-000001", i == 0));
    }
    /* a number nobody has: recorded alike, nobody to tell */
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-999999", VERDICT_BAD), "invalid_credentials", NULL));
    CHECK(s_failed_is(w, "", false));
    svc_tc_set_now(w, first + REVOCATION_NOTICE_INTERVAL_S * SEC);
    CHECK(svc_tc_recorded(s_revoke(w, "tp2026000001", VERDICT_BAD), "invalid_credentials", NULL));
    CHECK(s_failed_is(w, "TP-2026-000001", true));
    svc_tc_set_client(w, "192.0.2.1");
    CHECK(!svc_out_failed(s_revoke(w, "TP-2026-000001", VERDICT_OK)));

    /* per client address: twenty failures on any numbers, then that address is throttled
     * on every number, even with the right password; nothing written; an IPv6 host is its
     * /64; other addresses are not affected */
    svc_tc_set_client(w, "2001:db8:66:1::1");
    for (int i = 0; i < REVOCATION_ADDR_MAX_FAILS; i++) {
        char number[32];
        snprintf(number, sizeof number, "TP-2026-%06d", 500 + i);
        CHECK(svc_tc_recorded(s_revoke(w, number, VERDICT_BAD), "invalid_credentials", NULL));
    }
    svc_tc_set_client(w, "2001:db8:66:1:ffff::2");
    CHECK(svc_tc_refused(s_revoke(w, "TP-2026-000003", VERDICT_OK), "throttled", NULL) &&
          svc_out_n_events(svc_tc_out(w)) == 0);
    /* a restart keeps the count: the failures are in the log */
    svc_tc_restart(w);
    CHECK(svc_tc_refused(s_revoke(w, "TP-2026-000003", VERDICT_OK), "throttled", NULL));
    svc_tc_set_client(w, "2001:db8:66:2::1");
    CHECK(!svc_out_failed(s_revoke(w, "TP-2026-000003", VERDICT_OK)));
    /* the window slides */
    svc_tc_set_client(w, "2001:db8:66:1::1");
    svc_tc_advance(w, REVOCATION_FAIL_WINDOW_S * SEC);
    CHECK(!svc_out_failed(s_revoke(w, "TP-2026-000004", VERDICT_OK)));

    /* old windows are dropped as time goes by (memory stays bounded), and the state is
     * the same whether rebuilt or not */
    svc_tc_advance(w, 2 * REVOCATION_FAIL_WINDOW_S * SEC);
    CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-777777", VERDICT_BAD), "invalid_credentials", NULL));
    char *s1 = revocation_def.summary(svc_tc_state(w));
    svc_tc_restart(w);
    char *s2 = revocation_def.summary(svc_tc_state(w));
    CHECK(s1 && s2 && streq(s1, s2) && strstr(s1, "\"failedAttempts\":35"));
    free(s1);
    free(s2);
    svc_tc_destroy(&w);
}

/* What RevokeWithPassword's lookup answers for @p number from @p addr at the core's time. */
static char *s_lookup(svc_tc_t *w, const char *number, const char *addr)
{
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = (char *) number;
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.client_addr = (char *) addr;
    svc_ctx_t ctx = {&h, svc_tc_now(w), NULL, NULL};
    return svc_tc_command(w, "RevokeWithPassword")->lookup(svc_tc_state(w), &ctx, &cmd.base);
}

void rtest_password_argon2(void)
{
    svc_tc_t *w = rtest_new();
    rtest_seed(w);
    const svc_command_t *c = svc_tc_command(w, "RevokeWithPassword");
    CHECK(c && c->lookup && c->prepare && !c->query);

    /* lookup: the stored hash for a known number, a dummy of the same cost otherwise */
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    char *l = s_lookup(w, "4711 0001", RTEST_CLIENT);
    CHECK(l && streq(l, RTEST_HASH));
    free(l);
    l = s_lookup(w, "TP-2026-424242", RTEST_CLIENT);
    CHECK(l && strncmp(l, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0 && !streq(l, RTEST_HASH));
    free(l);
    l = s_lookup(w, "", RTEST_CLIENT);
    CHECK(l && strncmp(l, "$argon2id$", 10) == 0);
    free(l);

    /* prepare refuses bad input before hashing */
    cmd.number = "TP-2026-000001";
    cmd.reason = "card_lost";
    cmd.password = strdup("");
    svc_out_reset(svc_tc_out(w));
    CHECK(c->prepare(&cmd.base, RTEST_HASH, svc_tc_out(w)) == -1 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "password"));
    free(cmd.password);
    char longpw[200];
    memset(longpw, 'p', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    cmd.password = strdup(longpw);
    svc_out_reset(svc_tc_out(w));
    CHECK(c->prepare(&cmd.base, RTEST_HASH, svc_tc_out(w)) == -1 &&
          svc_tc_has_error(svc_tc_out(w), "invalid", "password"));
    free(cmd.password);
    /* a client address throttled: lookup says so, prepare skips the hashing */
    cmd.password = strdup(RTEST_PASSWORD);
    svc_out_reset(svc_tc_out(w));
    CHECK(c->prepare(&cmd.base, "\001throttled", svc_tc_out(w)) == -1 &&
          svc_tc_has_error(svc_tc_out(w), "throttled", NULL));

    /* prepare verifies and leaves a verdict, never the password (3 verifications) */
    svc_out_reset(svc_tc_out(w));
    CHECK(c->prepare(&cmd.base, RTEST_HASH, svc_tc_out(w)) == 0);
    CHECK(strncmp(cmd.password, "\001ok:", 4) == 0 && streq(cmd.password + 4, RTEST_HASH));
    free(cmd.password);
    cmd.password = strdup("Sperr-Kennwort-43");
    CHECK(c->prepare(&cmd.base, RTEST_HASH, svc_tc_out(w)) == 0 && streq(cmd.password, "\001bad"));
    free(cmd.password);
    cmd.password = strdup(RTEST_PASSWORD);
    CHECK(c->prepare(&cmd.base, "not a hash", svc_tc_out(w)) == 0 &&
          streq(cmd.password, "\001bad"));
    free(cmd.password);

    /* the whole path: wrong password and unknown number recorded alike, then the right
     * one revokes (3 verifications) */
    CHECK(svc_tc_recorded(s_revoke_full(w, "TP-2026-000003", "Falsches-Kennwort"),
                          "invalid_credentials", NULL));
    CHECK(svc_tc_recorded(s_revoke_full(w, "TP-2026-000099", RTEST_PASSWORD), "invalid_credentials",
                          NULL));
    s_revoke_full(w, "TP-2026-000003", RTEST_PASSWORD);
    CHECK(!svc_out_failed(svc_tc_out(w)) && svc_out_n_events(svc_tc_out(w)) == 1 &&
          streq(svc_tc_type(svc_tc_out(w), 0), "RevocationRequested"));

    /* lookup, with the header and the runtime's clock: twenty failures from one client
     * address, and its next attempt costs no hashing, on any number; the number itself is
     * never throttled */
    svc_tc_set_client(w, "198.51.100.99");
    for (int i = 0; i < REVOCATION_ADDR_MAX_FAILS; i++)
        CHECK(svc_tc_recorded(s_revoke(w, "TP-2026-000004", VERDICT_BAD), "invalid_credentials",
                              NULL));
    l = s_lookup(w, "tp-2026-000004", "198.51.100.99");
    CHECK(l && streq(l, "\001throttled"));
    free(l);
    l = s_lookup(w, "tp-2026-000004", "198.51.100.100");
    CHECK(l && streq(l, RTEST_HASH));
    free(l);
    svc_tc_destroy(&w);
}
