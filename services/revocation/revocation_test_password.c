/* revocation_test_password.c: unit tests of RevokeWithPassword: decide with the verdicts
 * prepare gives, the throttles and their windows, and the whole lookup -> prepare ->
 * decide path with real Argon2id (few calls: each takes ~50 ms). */
#include <sodium.h>
#include "revocation_test.h"

/* What prepare puts where the password was (revocation_password.c). */
#define VERDICT_OK  "\001ok:" RTEST_HASH
#define VERDICT_BAD "\001bad"

/* Runs decide as prepare would have left the command, with the verdict given. */
static svc_out_t *s_revoke(rtest_world_t *w, const char *number, const char *verdict)
{
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = (char *) number;
    cmd.password = (char *) verdict;
    cmd.reason = "card_lost";
    return rtest_do(w, "RevokeWithPassword", "", "", &cmd.base);
}

/* The whole path as the runtime runs it: lookup on the loop, prepare on a worker,
 * decide on the loop; the result stays in w->out. */
static svc_out_t *s_revoke_full(rtest_world_t *w, const char *number, const char *password)
{
    const svc_command_t *c = rtest_cmd("RevokeWithPassword");
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = (char *) number;
    cmd.password = strdup(password);
    cmd.reason = "suspected_misuse";
    char *lookup = c->lookup(w->state, &cmd.base);
    svc_out_reset(w->out);
    int rc = c->prepare(&cmd.base, lookup, w->out);
    if (lookup) {
        sodium_memzero(lookup, strlen(lookup));
        free(lookup);
    }
    if (rc == 0)
        rtest_do(w, "RevokeWithPassword", "", "", &cmd.base);
    free(cmd.password);
    return w->out;
}

void rtest_password_decide(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);

    /* field checks; a password that did not go through prepare */
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = " - ";
    cmd.password = VERDICT_OK;
    cmd.reason = "because";
    rtest_do(&w, "RevokeWithPassword", "", "", &cmd.base);
    CHECK(rtest_refused(w.out, "invalid", "number") && rtest_err(w.out, "invalid", "reason"));
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000001", RTEST_PASSWORD), "internal", "password"));

    /* unknown number and wrong password: the same recorded refusal */
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-999999", VERDICT_BAD), "invalid_credentials"));
    CHECK(svc_out_n_events(w.out) == 1 &&
          streq(rtest_event_type(w.out, 0), "RevocationAttemptFailed"));
    char *unknown_msg = strdup(rtest_message(w.out));
    Tp__Revocation__RevocationAttemptFailed *f =
        (Tp__Revocation__RevocationAttemptFailed *) rtest_event(
            w.out, 0, &tp__revocation__revocation_attempt_failed__descriptor);
    char hash[65];
    uint8_t raw[32];
    crypto_hash_sha256(raw, (const uint8_t *) "TP2026999999", 12);
    sodium_bin2hex(hash, sizeof hash, raw, sizeof raw);
    CHECK(f && streq(f->number_hash, hash) && streq(f->client_addr, "198.51.100.7") &&
          f->at_us == w.now - 1000);
    rtest_free(f);
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000001", VERDICT_BAD), "invalid_credentials"));
    CHECK(svc_out_n_errors(w.out) == 1 && streq(unknown_msg, rtest_message(w.out)));
    free(unknown_msg);
    /* a verdict for another hash (the password changed meanwhile) is worth nothing */
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000001", "\001ok:" RTEST_HASH2),
                         "invalid_credentials"));
    /* an ok verdict for a number without a product: the dummy hash never verifies, but
     * should one come, it is still refused */
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-888888", VERDICT_OK), "invalid_credentials"));

    /* the right password for an order whose card is not shipped yet */
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000005", VERDICT_OK), "not_found", "number"));

    /* accepted, by order number in any spelling: evidence anonymous, by password, address */
    int64_t at = w.now;
    w.client_addr = "203.0.113.9";
    s_revoke(&w, "tp 2026 000001", VERDICT_OK);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1);
    Tp__Revocation__RevocationRequested *e = (Tp__Revocation__RevocationRequested *) rtest_event(
        w.out, 0, &tp__revocation__revocation_requested__descriptor);
    Tp__Revocation__RevocationAnswer *a = (Tp__Revocation__RevocationAnswer *) rtest_reply(
        w.out, &tp__revocation__revocation_answer__descriptor);
    CHECK(e && streq(e->product_id, "prd-TP-2026-000001") && streq(e->requested_by, "anonymous") &&
          streq(e->authenticated_by, "revocation_password") &&
          streq(e->authentication_detail, "203.0.113.9") && streq(e->reason, "card_lost") &&
          e->received_at_us == at && e->n_serials == 2);
    CHECK(a && e && a->accepted && streq(a->request_id, e->request_id) && !*a->refusal);
    rtest_free(e);
    rtest_free(a);
    /* by card number; a second time: conflict, nothing written */
    CHECK(!svc_out_failed(s_revoke(&w, "4711-0002", VERDICT_OK)));
    CHECK(rtest_refused(s_revoke(&w, "47110002", VERDICT_OK), "conflict", "number"));
    CHECK(strstr(rtest_message(w.out), "already being revoked"));
    w.now += 61 * SEC;
    CHECK(svc_out_n_events(rtest_tick(&w)) == 2);
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000002", VERDICT_OK), "conflict", "number"));
    CHECK(strstr(rtest_message(w.out), "already revoked"));
    /* a wrong password for a revoked product is a failed attempt like any other */
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000002", VERDICT_BAD), "invalid_credentials"));
    rtest_fini(&w);
}

void rtest_password_throttle(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);

    /* per number: five failures, then "throttled" before anything is verified, even with
     * the right password, and nothing written */
    int64_t first = w.now; /* the time of the first failure */
    for (int i = 0; i < REVOCATION_NUMBER_MAX_FAILS; i++)
        CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000001", VERDICT_BAD), "invalid_credentials"));
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000001", VERDICT_OK), "throttled", NULL));
    /* the same number in another spelling is the same number */
    CHECK(rtest_refused(s_revoke(&w, "tp2026000001", VERDICT_OK), "throttled", NULL));
    /* from another address as well: the number is what is guessed */
    w.client_addr = "192.0.2.1";
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000001", VERDICT_OK), "throttled", NULL));
    /* other numbers are not affected */
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000003", VERDICT_BAD), "invalid_credentials"));
    /* a restart keeps the count: the failures are in the log */
    rtest_restart(&w);
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000001", VERDICT_OK), "throttled", NULL));
    /* the window slides: once the first failure is 15 minutes old, one more try */
    w.now = first + REVOCATION_FAIL_WINDOW_S * SEC - 1;
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000001", VERDICT_OK), "throttled", NULL));
    w.now = first + REVOCATION_FAIL_WINDOW_S * SEC;
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000001", VERDICT_BAD), "invalid_credentials"));
    w.now = first + REVOCATION_FAIL_WINDOW_S * SEC + 500; /* the 2nd failure still counts */
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000001", VERDICT_OK), "throttled", NULL));
    w.now += REVOCATION_FAIL_WINDOW_S * SEC;
    CHECK(!svc_out_failed(s_revoke(&w, "TP-2026-000001", VERDICT_OK)));

    /* per address: twenty failures on different numbers, then that address is throttled
     * on any number, the others are not */
    w.client_addr = "198.51.100.66";
    for (int i = 0; i < REVOCATION_ADDR_MAX_FAILS; i++) {
        char number[32];
        snprintf(number, sizeof number, "TP-2026-%06d", 500 + i);
        CHECK(rtest_recorded(s_revoke(&w, number, VERDICT_BAD), "invalid_credentials"));
    }
    CHECK(rtest_refused(s_revoke(&w, "TP-2026-000003", VERDICT_OK), "throttled", NULL));
    w.client_addr = "198.51.100.67";
    CHECK(!svc_out_failed(s_revoke(&w, "TP-2026-000003", VERDICT_OK)));
    w.client_addr = "198.51.100.66";
    w.now += REVOCATION_FAIL_WINDOW_S * SEC;
    CHECK(!svc_out_failed(s_revoke(&w, "TP-2026-000004", VERDICT_OK)));

    /* old windows are dropped as time goes by (memory stays bounded), and the state is
     * the same whether rebuilt or not */
    w.now += 2 * REVOCATION_FAIL_WINDOW_S * SEC;
    CHECK(rtest_recorded(s_revoke(&w, "TP-2026-777777", VERDICT_BAD), "invalid_credentials"));
    char *s1 = revocation_def.summary(w.state);
    rtest_restart(&w);
    char *s2 = revocation_def.summary(w.state);
    CHECK(s1 && s2 && streq(s1, s2) && strstr(s1, "\"failedAttempts\":28"));
    free(s1);
    free(s2);
    rtest_fini(&w);
}

void rtest_password_argon2(void)
{
    rtest_world_t w;
    rtest_init(&w);
    rtest_seed(&w);
    const svc_command_t *c = rtest_cmd("RevokeWithPassword");
    CHECK(c && c->lookup && c->prepare && !c->query);

    /* lookup: the stored hash for a known number, a dummy of the same cost otherwise */
    Tp__Revocation__RevokeWithPassword cmd = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
    cmd.number = "4711 0001";
    char *l = c->lookup(w.state, &cmd.base);
    CHECK(l && streq(l, RTEST_HASH));
    free(l);
    cmd.number = "TP-2026-424242";
    l = c->lookup(w.state, &cmd.base);
    CHECK(l && strncmp(l, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0 && !streq(l, RTEST_HASH));
    free(l);
    cmd.number = "";
    l = c->lookup(w.state, &cmd.base);
    CHECK(l && strncmp(l, "$argon2id$", 10) == 0);
    free(l);

    /* prepare refuses bad input before hashing */
    cmd.number = "TP-2026-000001";
    cmd.reason = "card_lost";
    cmd.password = strdup("");
    svc_out_reset(w.out);
    CHECK(c->prepare(&cmd.base, RTEST_HASH, w.out) == -1 &&
          rtest_err(w.out, "invalid", "password"));
    free(cmd.password);
    char longpw[200];
    memset(longpw, 'p', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    cmd.password = strdup(longpw);
    svc_out_reset(w.out);
    CHECK(c->prepare(&cmd.base, RTEST_HASH, w.out) == -1 &&
          rtest_err(w.out, "invalid", "password"));
    free(cmd.password);
    /* a number throttled by the wall clock: lookup says so, prepare skips the hashing */
    cmd.password = strdup(RTEST_PASSWORD);
    svc_out_reset(w.out);
    CHECK(c->prepare(&cmd.base, "\001throttled", w.out) == -1 &&
          rtest_err(w.out, "throttled", NULL));

    /* prepare verifies and leaves a verdict, never the password (3 verifications) */
    svc_out_reset(w.out);
    CHECK(c->prepare(&cmd.base, RTEST_HASH, w.out) == 0);
    CHECK(strncmp(cmd.password, "\001ok:", 4) == 0 && streq(cmd.password + 4, RTEST_HASH));
    free(cmd.password);
    cmd.password = strdup("Sperr-Kennwort-43");
    CHECK(c->prepare(&cmd.base, RTEST_HASH, w.out) == 0 && streq(cmd.password, "\001bad"));
    free(cmd.password);
    cmd.password = strdup(RTEST_PASSWORD);
    CHECK(c->prepare(&cmd.base, "not a hash", w.out) == 0 && streq(cmd.password, "\001bad"));
    free(cmd.password);

    /* the whole path: wrong password and unknown number recorded alike, then the right
     * one revokes (3 verifications) */
    CHECK(rtest_recorded(s_revoke_full(&w, "TP-2026-000003", "Falsches-Kennwort"),
                         "invalid_credentials"));
    CHECK(
        rtest_recorded(s_revoke_full(&w, "TP-2026-000099", RTEST_PASSWORD), "invalid_credentials"));
    s_revoke_full(&w, "TP-2026-000003", RTEST_PASSWORD);
    CHECK(!svc_out_failed(w.out) && svc_out_n_events(w.out) == 1 &&
          streq(rtest_event_type(w.out, 0), "RevocationRequested"));

    /* wall-clock throttling in lookup: five failures just now on a number */
    w.now = zclock_time() * 1000 - 10 * SEC;
    for (int i = 0; i < REVOCATION_NUMBER_MAX_FAILS; i++)
        CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000004", "\001bad"), "invalid_credentials"));
    cmd.number = "tp-2026-000004";
    l = c->lookup(w.state, &cmd.base);
    CHECK(l && streq(l, "\001throttled"));
    free(l);
    /* failures in the wall clock's future (an injected clock) leave lookup silent */
    w.now = zclock_time() * 1000 + 3600 * SEC;
    for (int i = 0; i < REVOCATION_NUMBER_MAX_FAILS; i++)
        CHECK(rtest_recorded(s_revoke(&w, "TP-2026-000002", "\001bad"), "invalid_credentials"));
    cmd.number = "TP-2026-000002";
    l = c->lookup(w.state, &cmd.base);
    CHECK(l && streq(l, RTEST_HASH));
    free(l);
    rtest_fini(&w);
}
