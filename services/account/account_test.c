/* account_test.c: unit tests of the account core, event by event, every refusal,
 * the timed paths with an injected clock, mails, and replay (summary equality).
 * Argon2id runs at its real cost, so the tests hash only a handful of times. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"
#include "order.pb-c.h"
#include "svc_testcore.h"

#define MINUTE ACCOUNT_MINUTE_US
#define HOUR   (60 * MINUTE)

/* ---------------------------------------------------------------- the rig */

static svc_tc_t *s_tc;   /* the core under test (svc_testcore.h), held */
static svc_out_t *s_out; /* its output */
static int64_t s_t0;     /* the test's epoch: the wall clock at start */
static const char *s_role = "", *s_account = ""; /* who sends the next commands */

static void s_as(const char *role, const char *account)
{
    s_role = role;
    s_account = account;
}

/* Decides @p name at s_t0 + @p at (fresh random bytes unless they are fixed). */
static svc_out_t *s_do(const char *name, const void *msg, int64_t at)
{
    svc_tc_set_now(s_tc, s_t0 + at);
    return svc_tc_decide(s_tc, name, s_role, s_account, msg);
}

/* Ticks at s_t0 + @p at. */
static svc_out_t *s_tick(int64_t at)
{
    svc_tc_set_now(s_tc, s_t0 + at);
    return svc_tc_tick(s_tc);
}

/* A copy of the reply bytes, to compare answers. */
static char *s_reply_copy(size_t *len)
{
    const uint8_t *b = svc_out_reply_bytes(s_out, len);
    char *c = malloc(*len + 1);
    memcpy(c, b ? b : (const uint8_t *) "", *len);
    return c;
}

static acc_state_t *s_st(void)
{
    return svc_tc_state(s_tc);
}

static size_t s_mails(svc_mail_t *mails, size_t max)
{
    return svc_tc_mails(s_tc, mails, max);
}

static void s_mails_free(svc_mail_t *mails, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(mails[i].body);
}

/* The token in a mail's link after "token=". */
static void s_link_token(const char *body, char *out, size_t outsz)
{
    const char *p = strstr(body, "token=");
    size_t n = 0;
    if (p)
        for (p += 6; p[n] && p[n] != '\n' && n + 1 < outsz; n++)
            out[n] = p[n];
    out[n] = 0;
}

/* Finds a pending mail to @p to with @p prefix in its id (and a token other than
 * s_except) and returns its token (or ""). */
static const char *s_except = "";
static void s_mail_token(const char *prefix, const char *to, char *token, size_t tsz, char *id,
                         char *subject)
{
    svc_mail_t mails[32];
    size_t n = s_mails(mails, 32);
    *token = 0;
    for (size_t i = 0; i < n; i++) {
        char t[128];
        s_link_token(mails[i].body, t, sizeof t);
        if (strncmp(mails[i].id, prefix, strlen(prefix)) == 0 && streq(mails[i].to, to) &&
            (!*s_except || !streq(t, s_except))) {
            snprintf(token, tsz, "%s", t);
            if (id)
                strcpy(id, mails[i].id);
            if (subject)
                strcpy(subject, mails[i].subject);
        }
    }
    s_mails_free(mails, n);
}

static size_t s_mails_kind(const char *to, const char *prefix)
{
    svc_mail_t mails[32];
    size_t n = s_mails(mails, 32), k = 0;
    for (size_t i = 0; i < n; i++)
        k += streq(mails[i].to, to) && strncmp(mails[i].id, prefix, strlen(prefix)) == 0;
    s_mails_free(mails, n);
    return k;
}

/* A Login as decide sees it after prepare: the verdict in the password field. */
static svc_out_t *s_login_verdict(const char *email, const char *verdict, const char *addr,
                                  int64_t at)
{
    Tp__Account__Login l = TP__ACCOUNT__LOGIN__INIT;
    l.email = (char *) email;
    l.password = (char *) verdict;
    svc_tc_set_client(s_tc, addr);
    s_as("", "");
    svc_out_t *out = s_do("Login", &l, at);
    svc_tc_set_client(s_tc, NULL);
    return out;
}

/* A successful login via the "ok" verdict for the account's current hash; its token. */
static void s_login_ok(const char *email, int64_t at, char *token, size_t tsz)
{
    const acc_account_t *a = acc_find_email(s_st(), email);
    char *verdict = zsys_sprintf("\001ok:%s", a ? a->password_hash : "");
    s_login_verdict(email, verdict, "192.0.2.1", at);
    zstr_free(&verdict);
    Tp__Account__SessionInfo *si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && *si->session_token);
    snprintf(token, tsz, "%s", si ? si->session_token : "");
    svc_tc_free(si);
    svc_tc_commit(s_tc);
}

/* What command @p name's lookup answers for @p msg from client @p addr at s_t0 + @p at
 * (caller frees). */
static char *s_lookup(const char *name, const void *msg, const char *addr, int64_t at)
{
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.client_addr = (char *) addr;
    svc_ctx_t ctx = {&h, s_t0 + at, svc_tc_secret(s_tc), NULL};
    return svc_tc_command(s_tc, name)->lookup(svc_tc_state(s_tc), &ctx, msg);
}

/* Runs the real prepare (Argon2id) of a Login, with the real lookup. Returns prepare's rc. */
static int s_login_prepare(Tp__Account__Login *l)
{
    return svc_tc_prepare(s_tc, "Login", &l->base);
}

/* ---------------------------------------------------------------- tests */

static void s_test_helpers(void)
{
    char e[300];
    CHECK(acc_email_normalize("  Alice.B+tag@Example.COM ", e, sizeof e) &&
          streq(e, "alice.b+tag@example.com"));
    const char *bad[] = {"",         "plain",     "a@b",     "@x.de",     "a@",      "a@@x.de",
                         "a b@x.de", ".a@x.de",   "a.@x.de", "a..b@x.de", "a@-x.de", "a@x-.de",
                         "a@x..de",  "a@1.2.3.4", "ä@x.de",  "a@x_y.de",  "a@x.de.", NULL};
    for (int i = 0; bad[i]; i++)
        CHECK(!acc_email_normalize(bad[i], e, sizeof e));
    char longmail[320];   /* 303 characters and the NUL */
    memset(longmail, 'a', 64);
    strcpy(longmail + 64, "@");
    for (int i = 0; i < 4; i++)
        strcat(longmail,
               "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."); /* 59 + . */
    strcat(longmail, "de"); /* 64 + 1 + 4 * 59 + 2 = 303 > 254 */
    CHECK(!acc_email_normalize(longmail, e, sizeof e));
    CHECK(acc_utf8_chars("äöü") == 3 && acc_utf8_chars("\xff") == -1 &&
          acc_utf8_chars("\xc3") == -1);
    char c[80];
    CHECK(acc_code_normalize(" AcMe-1 ", c, sizeof c) && streq(c, "acme-1"));
    CHECK(!acc_code_normalize("   ", c, sizeof c));
}

static const char *ALICE = "alice@example.com";
static const char *BOB = "bob@example.org";
static const char *P1 = "correct horse battery";
static const char *P2 = "a new password, long enough";
static char s_alice[ACC_ID_SIZE], s_bob[ACC_ID_SIZE];
static char s_alice_hash[crypto_pwhash_STRBYTES];
static char *s_accepted; /* the anonymous answer, to compare */
static size_t s_accepted_len;

static bool s_same_answer(void)
{
    size_t len;
    char *r = s_reply_copy(&len);
    bool same = len == s_accepted_len && memcmp(r, s_accepted, len) == 0;
    free(r);
    return same;
}

static void s_test_register(void)
{
    const svc_command_t *reg = svc_tc_command(s_tc, "Register");
    CHECK(reg && reg->prepare && !reg->query && !reg->secret_reply);

    /* refusals of prepare: every bad field at once, nothing hashed */
    Tp__Account__Register r = TP__ACCOUNT__REGISTER__INIT;
    r.email = "not an address";
    r.password = strdup("short");
    r.language = "fr";
    svc_out_reset(s_out);
    CHECK(reg->prepare(&r.base, NULL, s_out) == -1);
    CHECK(svc_tc_has_error(s_out, "invalid", "email") && svc_tc_has_error(s_out, "invalid", "password") &&
          svc_tc_has_error(s_out, "invalid", "language"));
    free(r.password);
    char longpw[200];
    memset(longpw, 'x', 129);
    longpw[129] = 0;
    r.email = "";
    r.password = strdup(longpw);
    r.language = "";
    svc_out_reset(s_out);
    CHECK(reg->prepare(&r.base, NULL, s_out) == -1);
    CHECK(svc_tc_has_error(s_out, "invalid", "email") && svc_tc_has_error(s_out, "invalid", "password") &&
          !svc_tc_has_error(s_out, "invalid", "language"));
    free(r.password);
    /* 12 characters in 24 bytes is long enough; invalid UTF-8 is not */
    r.password = strdup("äöüäöüäöüäöü");
    svc_out_reset(s_out);
    CHECK(reg->prepare(&r.base, NULL, s_out) == -1 && !svc_tc_has_error(s_out, "invalid", "password"));
    free(r.password);
    r.password = strdup("\xff\xfe long enough text");
    svc_out_reset(s_out);
    CHECK(reg->prepare(&r.base, NULL, s_out) == -1 && svc_tc_has_error(s_out, "invalid", "password"));
    free(r.password);

    /* decide refuses an unprepared password */
    r.email = (char *) ALICE;
    r.password = (char *) P1;
    s_do("Register", &r, 0);
    CHECK(svc_tc_refused(s_out, "internal", "password"));

    /* the real thing: normalized, hashed with Argon2id at OWASP's cost */
    r.email = "  Alice@Example.COM ";
    r.password = strdup(P1);
    r.language = "en";
    svc_out_reset(s_out);
    CHECK(reg->prepare(&r.base, NULL, s_out) == 0);
    CHECK(strncmp(r.password, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    snprintf(s_alice_hash, sizeof s_alice_hash, "%s", r.password);
    s_do("Register", &r, 0);
    free(r.password);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "AccountRegistered"));
    Tp__Account__AccountRegistered *e = svc_tc_event(s_out, 0, &tp__account__account_registered__descriptor);
    CHECK(e && streq(e->email, ALICE) && streq(e->language, "en") &&
          streq(e->password_hash, s_alice_hash) && strncmp(e->account_id, "acc-", 4) == 0 &&
          strlen(e->account_id) == 20 && e->token_nonce.len == 16 && e->token_hash.len == 32 &&
          e->token_expires_at_us == s_t0 + ACCOUNT_CONFIRM_VALID_US && e->registered_at_us == s_t0);
    if (e)
        snprintf(s_alice, sizeof s_alice, "%s", e->account_id);
    const char *stream;
    svc_out_event_at(s_out, 0, NULL, &stream, NULL, NULL);
    CHECK(streq(stream, s_alice));
    Tp__Account__Accepted *acc = svc_tc_reply(s_out, &tp__account__accepted__descriptor);
    CHECK(acc && *acc->message);
    svc_tc_free(acc);
    s_accepted = s_reply_copy(&s_accepted_len);
    svc_tc_commit(s_tc);

    /* the confirmation mail: EN, a link whose token hashes to the logged hash */
    svc_mail_t mails[8];
    size_t n = s_mails(mails, 8);
    CHECK(n == 1);
    char hex[33];
    acc_hex(e->token_nonce.data, e->token_nonce.len, hex, sizeof hex);
    char want_id[64];
    snprintf(want_id, sizeof want_id, "confirm:%s", hex);
    CHECK(n == 1 && streq(mails[0].id, want_id) && streq(mails[0].to, ALICE) &&
          streq(mails[0].subject, "Please confirm your e-mail address") &&
          strstr(mails[0].body, ACCOUNT_BASE_URL_DEFAULT "/#/confirm?token="));
    char token1[128];
    s_link_token(n ? mails[0].body : "", token1, sizeof token1);
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *) token1, strlen(token1));
    CHECK(strlen(token1) == 43 && memcmp(h, e->token_hash.data, 32) == 0);
    CHECK(strspn(token1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
    s_mails_free(mails, n);
    /* ids are stable: the same mail again */
    n = s_mails(mails, 8);
    CHECK(n == 1 && streq(mails[0].id, want_id));
    s_mails_free(mails, n);
    svc_tc_free(e);

    /* registering again before confirming: same answer, a new link for the new password */
    Tp__Account__Register r2 = TP__ACCOUNT__REGISTER__INIT;
    r2.email = "alice@example.com";
    r2.password = "$argon2id$v=19$m=19456,t=2,p=1$second-registration";
    r2.language = "de";
    s_do("Register", &r2, 1 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ConfirmationReissued") && s_same_answer());
    Tp__Account__ConfirmationReissued *ri =
        svc_tc_event(s_out, 0, &tp__account__confirmation_reissued__descriptor);
    CHECK(ri && streq(ri->account_id, s_alice) && streq(ri->password_hash, r2.password) &&
          streq(ri->language, "de") && ri->issued_at_us == s_t0 + MINUTE);
    svc_tc_free(ri);
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(ALICE, "") == 2);
    char token2[128], subject[256];
    s_except = token1;
    s_mail_token("confirm:", ALICE, token2, sizeof token2, NULL, subject);
    s_except = "";
    CHECK(*token2 && !streq(token2, token1));

    /* Confirm: the link with the password of its registration. Lookup: that hash (a dummy
     * one of the same cost for a token that is none) */
    const svc_command_t *cc = svc_tc_command(s_tc, "Confirm");
    CHECK(cc && cc->prepare && cc->lookup && !cc->secret_reply);
    Tp__Account__Confirm c = TP__ACCOUNT__CONFIRM__INIT;
    c.token = token1;
    char *lk = s_lookup("Confirm", &c, "", 2 * MINUTE);
    CHECK(lk && streq(lk, s_alice_hash));
    free(lk);
    c.token = token2;
    lk = s_lookup("Confirm", &c, "", 2 * MINUTE);
    CHECK(lk && streq(lk, r2.password));
    free(lk);
    c.token = "bm90LWEtdG9rZW4";
    lk = s_lookup("Confirm", &c, "", 2 * MINUTE);
    CHECK(lk && strncmp(lk, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0 &&
          !streq(lk, s_alice_hash));
    free(lk);
    /* prepare: no token, no password: refused without hashing; the real check once */
    c.token = "";
    c.password = strdup("");
    svc_out_reset(s_out);
    CHECK(cc->prepare(&c.base, NULL, s_out) == -1 && svc_tc_has_error(s_out, "invalid", "token") &&
          svc_tc_has_error(s_out, "invalid", "password"));
    free(c.password);
    c.token = token1;
    c.password = strdup(P1);
    CHECK(svc_tc_prepare(s_tc, "Confirm", &c.base) == 0 &&
          strncmp(c.password, "\001ok:", 4) == 0 && streq(c.password + 4, s_alice_hash));
    free(c.password);
    char *alice_ok = zsys_sprintf("\001ok:%s", s_alice_hash);
    char *second_ok = zsys_sprintf("\001ok:%s", r2.password);

    /* Confirm: refusals */
    c.token = "";
    c.password = alice_ok;
    s_do("Confirm", &c, 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid", "token"));
    c.token = "bm90LWEtdG9rZW4";
    s_do("Confirm", &c, 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    char huge[300];
    memset(huge, 'A', 299);
    huge[299] = 0;
    c.token = huge;
    s_do("Confirm", &c, 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    c.token = token1;
    s_do("Confirm", &c, ACCOUNT_CONFIRM_VALID_US);
    CHECK(svc_tc_refused(s_out, "expired", "token"));
    /* the takeover: whoever registered second gets a link sent to the owner's mailbox;
     * opened with the owner's password it activates nothing, nor without a password, nor
     * with a wrong one (decide sees prepare's verdict); the link stays usable */
    c.token = token2;
    s_do("Confirm", &c, 3 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_credentials", "password"));
    c.password = "\001bad";
    s_do("Confirm", &c, 3 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_credentials", "password"));
    c.password = "plain text";
    s_do("Confirm", &c, 3 * MINUTE);
    CHECK(svc_tc_refused(s_out, "internal", "password"));
    c.token = token1;
    c.password = second_ok;
    s_do("Confirm", &c, 3 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_credentials", "password"));
    CHECK(acc_find(s_st(), s_alice)->status == ACC_UNCONFIRMED);
    /* the first link with the first registration's password activates that password */
    c.password = alice_ok;
    s_do("Confirm", &c, 3 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "AccountConfirmed"));
    Tp__Account__AccountConfirmed *ac = svc_tc_event(s_out, 0, &tp__account__account_confirmed__descriptor);
    CHECK(ac && streq(ac->account_id, s_alice) && streq(ac->password_hash, s_alice_hash));
    svc_tc_free(ac);
    svc_tc_commit(s_tc);
    CHECK(acc_find(s_st(), s_alice)->status == ACC_ACTIVE);
    CHECK(streq(acc_find(s_st(), s_alice)->password_hash, s_alice_hash));
    /* single use: both links are dead now, and their mails are no longer due */
    s_do("Confirm", &c, 4 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    c.token = token2;
    c.password = second_ok;
    s_do("Confirm", &c, 4 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    CHECK(s_mails_kind(ALICE, "") == 0);
    zstr_free(&alice_ok);
    zstr_free(&second_ok);

    /* registering an active address: same answer, a mail to the owner */
    s_do("Register", &r2, 5 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "RegistrationAttemptedForKnownEmail") && s_same_answer());
    svc_tc_commit(s_tc);
    char id[128];
    s_mail_token("known-email:", ALICE, token2, sizeof token2, id, subject);
    /* the account's language is "de" now (the second registration chose it) */
    CHECK(strncmp(id, "known-email:", 12) == 0 &&
          streq(subject, "Registrierungsversuch mit Ihrer E-Mail-Adresse"));
    /* the runtime sent it: MailSent, once */
    svc_tc_set_now(s_tc, s_t0);
    svc_tc_mail_sent(s_tc, id);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "MailSent"));
    Tp__Account__MailSent *ms = svc_tc_event(s_out, 0, &tp__account__mail_sent__descriptor);
    CHECK(ms && streq(ms->mail_id, id) && streq(ms->kind, "known-email") &&
          streq(ms->account_id, s_alice));
    svc_tc_free(ms);
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(ALICE, "") == 0);
    svc_tc_set_now(s_tc, s_t0);
    svc_tc_mail_sent(s_tc, id);
    CHECK(svc_tc_accepted(s_out, 0));
    svc_tc_mail_sent(s_tc, "confirm:nope");
    CHECK(svc_tc_accepted(s_out, 0));

    /* mail bombing: at most ACCOUNT_MAIL_MAX mails an hour; the answer stays the same */
    s_do("Register", &r2, 6 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc);
    s_do("Register", &r2, 7 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc); /* 5 now: registered, reissued, 3 known-email */
    s_do("Register", &r2, 8 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0) && s_same_answer());
    s_do("Register", &r2, HOUR + 1); /* the registration's mail left the window */
    CHECK(svc_tc_accepted(s_out, 1));
    svc_out_reset(s_out);

    /* language: none means "de" */
    Tp__Account__Register rb = TP__ACCOUNT__REGISTER__INIT;
    rb.email = (char *) BOB;
    rb.password = "$argon2id$v=19$m=19456,t=2,p=1$bob";
    s_do("Register", &rb, 10 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && s_same_answer());
    Tp__Account__AccountRegistered *eb = svc_tc_event(s_out, 0, &tp__account__account_registered__descriptor);
    CHECK(eb && streq(eb->language, "de") && !streq(eb->account_id, s_alice));
    if (eb)
        snprintf(s_bob, sizeof s_bob, "%s", eb->account_id);
    svc_tc_free(eb);
    svc_tc_commit(s_tc);
    s_mail_token("confirm:", BOB, token2, sizeof token2, NULL, subject);
    CHECK(streq(subject, "Bitte bestätigen Sie Ihre E-Mail-Adresse"));
    svc_mail_t one[1];
    CHECK(s_mails(one, 0) == 0);
    n = s_mails(one, 1);
    CHECK(n == 1);
    s_mails_free(one, n);
}

static void s_test_resend(void)
{
    Tp__Account__ResendConfirmation rs = TP__ACCOUNT__RESEND_CONFIRMATION__INIT;
    rs.email = "nope";
    s_do("ResendConfirmation", &rs, 11 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid", "email"));
    rs.email = "nobody@example.net";
    s_do("ResendConfirmation", &rs, 11 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0) && s_same_answer());
    rs.email = (char *) ALICE; /* active: nothing to resend */
    s_do("ResendConfirmation", &rs, 11 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0) && s_same_answer());

    char first[128];
    s_mail_token("confirm:", BOB, first, sizeof first, NULL, NULL);
    rs.email = " BOB@example.org";
    for (int i = 0; i < 3; i++) {
        s_do("ResendConfirmation", &rs, (12 + i) * MINUTE);
        CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ConfirmationReissued") && s_same_answer());
        Tp__Account__ConfirmationReissued *ri =
            svc_tc_event(s_out, 0, &tp__account__confirmation_reissued__descriptor);
        CHECK(ri && streq(ri->account_id, s_bob) && !*ri->password_hash);
        svc_tc_free(ri);
        svc_tc_commit(s_tc);
    }
    /* four links issued, three kept: the oldest is dead, and its mail is dropped */
    CHECK(s_mails_kind(BOB, "") == ACC_CONFIRM_SLOTS);
    Tp__Account__Confirm c = TP__ACCOUNT__CONFIRM__INIT;
    c.token = first;
    s_do("Confirm", &c, 15 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));

    /* a resend's link activates the latest password */
    const acc_account_t *b = acc_find(s_st(), s_bob);
    const acc_token_t *t = zhashx_lookup(s_st()->tokens, b->confirm[ACC_CONFIRM_SLOTS - 1]);
    CHECK(t && streq(t->password_hash, b->password_hash));

    /* tick: expired links retire their mails once; the links say "expired" */
    char last[128];
    s_mail_token("confirm:", BOB, last, sizeof last, NULL, NULL);
    s_tick(15 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0));
    s_tick(15 * MINUTE + ACCOUNT_CONFIRM_VALID_US);
    CHECK(svc_tc_accepted(s_out, ACC_CONFIRM_SLOTS) && streq(svc_tc_type(s_out, 0), "TokenExpired"));
    Tp__Account__TokenExpired *te = svc_tc_event(s_out, 0, &tp__account__token_expired__descriptor);
    CHECK(te && streq(te->account_id, s_bob) && streq(te->purpose, "confirm") &&
          te->token_hash.len == 32);
    svc_tc_free(te);
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(BOB, "") == 0);
    s_tick(16 * MINUTE + ACCOUNT_CONFIRM_VALID_US);
    CHECK(svc_tc_accepted(s_out, 0));
    c.token = last;
    s_do("Confirm", &c, 15 * MINUTE + ACCOUNT_CONFIRM_VALID_US);
    CHECK(svc_tc_refused(s_out, "expired", "token"));
    /* but a new one can be requested */
    s_do("ResendConfirmation", &rs, 16 * MINUTE + ACCOUNT_CONFIRM_VALID_US);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(BOB, "") == 1);
}

static char s_session[128]; /* alice's session token */

static void s_test_login(void)
{
    const svc_command_t *lc = svc_tc_command(s_tc, "Login");
    CHECK(lc && lc->secret_reply && lc->lookup && lc->prepare && !lc->query);

    /* lookup: the real hash, or a dummy of the same cost for unknown addresses */
    Tp__Account__Login l = TP__ACCOUNT__LOGIN__INIT;
    l.email = " ALICE@example.com";
    char *lk = s_lookup("Login", &l, "192.0.2.1", 20 * MINUTE);
    CHECK(lk && streq(lk, s_alice_hash));
    free(lk);
    l.email = "nobody@example.net";
    lk = s_lookup("Login", &l, "192.0.2.1", 20 * MINUTE);
    CHECK(lk && strncmp(lk, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    free(lk);

    /* prepare: refusals without hashing */
    l.email = "bad";
    l.password = strdup("");
    svc_out_reset(s_out);
    CHECK(lc->prepare(&l.base, NULL, s_out) == -1);
    CHECK(svc_tc_has_error(s_out, "invalid", "email") && svc_tc_has_error(s_out, "invalid", "password"));
    free(l.password);
    char longpw[200];
    memset(longpw, 'y', 129);
    longpw[129] = 0;
    l.email = (char *) ALICE;
    l.password = strdup(longpw);
    svc_out_reset(s_out);
    CHECK(lc->prepare(&l.base, NULL, s_out) == -1 && svc_tc_has_error(s_out, "invalid", "password") &&
          svc_out_n_errors(s_out) == 1);
    free(l.password);

    /* the right password: a session, its token only in the reply */
    l.email = (char *) ALICE;
    l.password = strdup(P1);
    CHECK(s_login_prepare(&l) == 0 && strncmp(l.password, "\001ok:$argon2id$", 14) == 0);
    svc_tc_set_client(s_tc, "198.51.100.7");
    s_do("Login", &l, 20 * MINUTE);
    svc_tc_set_client(s_tc, NULL);
    free(l.password);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "SessionStarted"));
    Tp__Account__SessionStarted *ss = svc_tc_event(s_out, 0, &tp__account__session_started__descriptor);
    Tp__Account__SessionInfo *si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && strlen(si->session_token) == 43 && streq(si->account_id, s_alice) &&
          streq(si->email, ALICE) && si->n_roles == 1 && streq(si->roles[0], "customer") &&
          !*si->refusal && si->expires_at_us == s_t0 + 20 * MINUTE + ACCOUNT_SESSION_ABSOLUTE_US &&
          si->idle_expires_at_us == s_t0 + 20 * MINUTE + ACCOUNT_SESSION_IDLE_US);
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *) (si ? si->session_token : ""),
                       si ? strlen(si->session_token) : 0);
    CHECK(ss && ss->session_hash.len == 32 && memcmp(ss->session_hash.data, h, 32) == 0 &&
          streq(ss->client_addr, "198.51.100.7") && ss->started_at_us == s_t0 + 20 * MINUTE);
    snprintf(s_session, sizeof s_session, "%s", si ? si->session_token : "");
    svc_tc_free(ss);
    svc_tc_free(si);
    svc_tc_commit(s_tc);

    /* a wrong password: recorded, answered with the generic refusal */
    l.password = strdup("wrong password, long");
    CHECK(s_login_prepare(&l) == 0 && streq(l.password, "\001bad"));
    s_do("Login", &l, 21 * MINUTE);
    free(l.password);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "LoginFailed"));
    Tp__Account__LoginFailed *lf = svc_tc_event(s_out, 0, &tp__account__login_failed__descriptor);
    char ehash[ACC_HEX_SIZE];
    acc_email_key(svc_tc_secret(s_tc), ALICE, ehash);   /* keyed: no guessing from the log */
    CHECK(lf && streq(lf->account_id, s_alice) && streq(lf->email_hash, ehash) &&
          lf->at_us == s_t0 + 21 * MINUTE);
    svc_tc_free(lf);
    si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && !*si->session_token && !*si->account_id &&
          streq(si->refusal, "invalid_credentials"));
    size_t wrong_len;
    char *wrong = s_reply_copy(&wrong_len);
    svc_tc_free(si);
    svc_tc_commit(s_tc);

    /* an unknown address: the same answer (and the same work: the dummy hash) */
    l.email = "nobody@example.net";
    l.password = strdup(P1);
    CHECK(s_login_prepare(&l) == 0 && streq(l.password, "\001bad"));
    s_do("Login", &l, 21 * MINUTE);
    free(l.password);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "LoginFailed"));
    const char *stream;
    svc_out_event_at(s_out, 0, NULL, &stream, NULL, NULL);
    lf = svc_tc_event(s_out, 0, &tp__account__login_failed__descriptor);
    CHECK(lf && !*lf->account_id && streq(stream, "login-failures"));
    svc_tc_free(lf);
    size_t unk_len;
    char *unk = s_reply_copy(&unk_len);
    CHECK(unk_len == wrong_len && memcmp(unk, wrong, unk_len) == 0);
    free(unk);
    svc_tc_commit(s_tc);

    /* decide: an unprepared password; a verdict for a hash that is no longer current */
    s_login_verdict(ALICE, "plain text", "", 22 * MINUTE);
    CHECK(svc_tc_refused(s_out, "internal", "password"));
    s_login_verdict(ALICE, "\001ok:$argon2id$v=19$m=19456,t=2,p=1$old", "", 22 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "LoginFailed"));
    s_login_verdict("x", "\001bad", "", 22 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid", "email"));

    /* an unconfirmed account with the right password: the answer of a wrong one (whether
     * an address has an account, confirmed or not, stays hidden), counted alike for
     * throttling; its owner gets a fresh link for this password by mail instead */
    const char *dave = "dave@example.org";
    Tp__Account__Register rd = TP__ACCOUNT__REGISTER__INIT;
    rd.email = (char *) dave;
    rd.password = "$argon2id$v=19$m=19456,t=2,p=1$dave";
    CHECK(svc_tc_do(s_tc, "Register", "", NULL, &rd.base) == 1);
    char *verdict = zsys_sprintf("\001ok:%s", rd.password);
    size_t links = s_mails_kind(dave, "confirm:");
    s_login_verdict(dave, verdict, "", 22 * MINUTE);
    zstr_free(&verdict);
    CHECK(svc_tc_accepted(s_out, 2) && streq(svc_tc_type(s_out, 0), "LoginFailed") &&
          streq(svc_tc_type(s_out, 1), "ConfirmationReissued"));
    Tp__Account__ConfirmationReissued *ri =
        svc_tc_event(s_out, 1, &tp__account__confirmation_reissued__descriptor);
    CHECK(ri && streq(ri->password_hash, rd.password));
    svc_tc_free(ri);
    unk = s_reply_copy(&unk_len);
    CHECK(unk_len == wrong_len && memcmp(unk, wrong, unk_len) == 0);
    free(unk);
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(dave, "confirm:") == links + 1);
    /* an account that had its ACCOUNT_MAIL_MAX mails this hour (bob): no mail, the same
     * answer */
    verdict = zsys_sprintf("\001ok:%s", acc_find(s_st(), s_bob)->password_hash);
    s_login_verdict(BOB, verdict, "", 22 * MINUTE);
    zstr_free(&verdict);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "LoginFailed"));
    unk = s_reply_copy(&unk_len);
    CHECK(unk_len == wrong_len && memcmp(unk, wrong, unk_len) == 0);
    free(unk);
    s_login_verdict(BOB, "\001bad", "", 22 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "LoginFailed"));
    unk = s_reply_copy(&unk_len);
    CHECK(unk_len == wrong_len && memcmp(unk, wrong, unk_len) == 0);
    free(unk);
    free(wrong);
    svc_out_reset(s_out);
}

static void s_test_throttle(void)
{
    /* per address: ACCOUNT_LOGIN_MAX_FAILS failures, then refused even when right;
     * the same for an address without an account (existence stays hidden) */
    int64_t at = 30 * MINUTE;
    for (int i = 0; i < ACCOUNT_LOGIN_MAX_FAILS - 1; i++) {
        /* alice already has one failure in the window from s_test_login */
        char addr[32];
        snprintf(addr, sizeof addr, "203.0.113.%d", i);
        s_login_verdict(ALICE, "\001bad", addr, at + i);
        CHECK(svc_tc_accepted(s_out, 1));
        svc_tc_commit(s_tc);
    }
    s_login_verdict(ALICE, "\001bad", "203.0.113.99", at + MINUTE);
    CHECK(svc_tc_refused(s_out, "throttled", NULL));
    char token[128];
    const acc_account_t *a = acc_find_email(s_st(), ALICE);
    char *verdict = zsys_sprintf("\001ok:%s", a->password_hash);
    s_login_verdict(ALICE, verdict, "203.0.113.99", at + MINUTE);
    CHECK(svc_tc_refused(s_out, "throttled", NULL));
    /* lookup sees it too, with the runtime's clock: a throttled attempt costs no hashing */
    Tp__Account__Login l = TP__ACCOUNT__LOGIN__INIT;
    l.email = (char *) ALICE;
    char *lk = s_lookup("Login", &l, "203.0.113.99", at + MINUTE);
    CHECK(lk && streq(lk, "\001throttled"));
    free(lk);
    lk = s_lookup("Login", &l, "203.0.113.99", at + ACCOUNT_LOGIN_WINDOW_US + 1);
    CHECK(lk && streq(lk, a->password_hash));
    free(lk);

    /* an address without an account: the same */
    const char *carol = "carol@example.com";
    for (int i = 0; i < ACCOUNT_LOGIN_MAX_FAILS; i++) {
        s_login_verdict(carol, "\001bad", "203.0.113.50", -5 * MINUTE + i);
        CHECK(svc_tc_accepted(s_out, 1));
        svc_tc_commit(s_tc);
    }
    s_login_verdict(carol, "\001bad", "203.0.113.51", -4 * MINUTE);
    CHECK(svc_tc_refused(s_out, "throttled", NULL));
    l.email = (char *) carol;
    l.password = strdup(P1);
    CHECK(s_login_prepare(&l) == -1 && svc_tc_has_error(s_out, "throttled", NULL));
    free(l.password);

    /* the window passes: accepted again; success clears the address's failures */
    s_login_verdict(ALICE, verdict, "203.0.113.99", at + ACCOUNT_LOGIN_WINDOW_US + 1);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "SessionStarted"));
    svc_tc_commit(s_tc);
    zstr_free(&verdict);
    char key[ACC_HEX_SIZE];
    acc_sha256_hex(ALICE, strlen(ALICE), key);
    CHECK(zhashx_lookup(s_st()->fails_email, key) == NULL);

    /* per client address: ACCOUNT_ADDR_MAX_FAILS failures over many addresses; IPv6 by
     * its /64, which one host has all of */
    at = 2 * HOUR;
    for (int i = 0; i < ACCOUNT_ADDR_MAX_FAILS; i++) {
        char email[64], addr[64];
        snprintf(email, sizeof email, "user%d@example.com", i);
        snprintf(addr, sizeof addr, "2001:db8:7:7::%x", i + 1);
        s_login_verdict(email, "\001bad", addr, at + i);
        CHECK(svc_tc_accepted(s_out, 1));
        svc_tc_commit(s_tc);
    }
    s_login_ok(ALICE, at + MINUTE, token, sizeof token); /* from elsewhere: fine */
    a = acc_find_email(s_st(), ALICE);
    verdict = zsys_sprintf("\001ok:%s", a->password_hash);
    s_login_verdict(ALICE, verdict, "2001:db8:7:7:abcd::1", at + MINUTE);
    CHECK(svc_tc_refused(s_out, "throttled", NULL));
    lk = s_lookup("Login", &l, "2001:db8:7:7:abcd::1", at + MINUTE);   /* before hashing */
    CHECK(lk && streq(lk, "\001throttled"));
    free(lk);
    lk = s_lookup("Login", &l, "2001:db8:7:8::1", at + MINUTE);
    CHECK(lk && acc_prepared_hash(lk));
    free(lk);
    s_login_verdict(ALICE, verdict, "2001:db8:7:7::1", at + ACCOUNT_LOGIN_WINDOW_US + 1);
    CHECK(svc_tc_accepted(s_out, 1));
    zstr_free(&verdict);
    svc_out_reset(s_out);

    /* bounded: stale windows are dropped as time goes on */
    CHECK(zhashx_size(s_st()->fails_email) == ACCOUNT_ADDR_MAX_FAILS);
    s_login_verdict("late@example.com", "\001bad", "10.1.1.1", 5 * HOUR);
    svc_tc_commit(s_tc);
    CHECK(zhashx_size(s_st()->fails_email) == 1 && zhashx_size(s_st()->fails_addr) == 1);
}

static void s_test_sessions(void)
{
    int64_t t = 6 * HOUR;
    char tok[128];
    s_login_ok(ALICE, t, tok, sizeof tok);
    Tp__Account__ResolveSession q = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    CHECK(svc_tc_command(s_tc, "ResolveSession")->query && svc_tc_command(s_tc, "WhoAmI")->query && svc_tc_command(s_tc, "FindAccount")->query &&
          !svc_tc_command(s_tc, "TouchSession")->query);
    s_do("ResolveSession", &q, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));
    q.session_token = "not-a-session";
    s_do("ResolveSession", &q, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));
    q.session_token = tok;
    s_do("ResolveSession", &q, t + 4 * MINUTE);
    Tp__Account__SessionInfo *si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(svc_tc_accepted(s_out, 0) && si && streq(si->account_id, s_alice) && !*si->session_token &&
          !si->touch_due && si->idle_expires_at_us == s_t0 + t + ACCOUNT_SESSION_IDLE_US);
    svc_tc_free(si);
    s_do("ResolveSession", &q, t + 6 * MINUTE);
    si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && si->touch_due);
    svc_tc_free(si);
    /* idle: gone after 30 minutes without a touch */
    s_do("ResolveSession", &q, t + ACCOUNT_SESSION_IDLE_US);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));

    /* TouchSession: an event at most every 5 minutes; the idle expiry slides */
    Tp__Account__TouchSession ts = TP__ACCOUNT__TOUCH_SESSION__INIT;
    s_do("TouchSession", &ts, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));
    ts.session_token = tok;
    s_do("TouchSession", &ts, t + 4 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0));
    s_do("TouchSession", &ts, t + 20 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "SessionTouched"));
    si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && !si->touch_due && si->idle_expires_at_us == s_t0 + t + 50 * MINUTE);
    svc_tc_free(si);
    svc_tc_commit(s_tc);
    s_do("ResolveSession", &q, t + 45 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0));
    /* absolute: 12 h after login, however active */
    for (int64_t at = t + 45 * MINUTE; at < t + ACCOUNT_SESSION_ABSOLUTE_US; at += 25 * MINUTE) {
        s_do("TouchSession", &ts, at);
        CHECK(svc_tc_accepted(s_out, 1));
        svc_tc_commit(s_tc);
    }
    s_do("ResolveSession", &q, t + ACCOUNT_SESSION_ABSOLUTE_US - 1);
    si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && si->idle_expires_at_us == s_t0 + t + ACCOUNT_SESSION_ABSOLUTE_US);
    svc_tc_free(si);
    s_do("ResolveSession", &q, t + ACCOUNT_SESSION_ABSOLUTE_US);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));

    /* tick ends the expired sessions (and only those) */
    size_t before = zhashx_size(s_st()->sessions);
    s_tick(t + ACCOUNT_SESSION_ABSOLUTE_US);
    CHECK(!svc_out_failed(s_out) && svc_out_n_events(s_out) == before);
    Tp__Account__SessionEnded *se = svc_tc_event(s_out, 0, &tp__account__session_ended__descriptor);
    CHECK(se && streq(se->reason, "expired"));
    svc_tc_free(se);
    svc_tc_commit(s_tc);
    CHECK(zhashx_size(s_st()->sessions) == 0 &&
          zlistx_size(acc_find(s_st(), s_alice)->sessions) == 0);

    /* logout */
    t += 13 * HOUR;
    s_login_ok(ALICE, t, tok, sizeof tok);
    Tp__Account__Logout lo = TP__ACCOUNT__LOGOUT__INIT;
    s_do("Logout", &lo, t);
    CHECK(svc_tc_refused(s_out, "invalid", "sessionToken"));
    lo.session_token = tok;
    s_do("Logout", &lo, t + MINUTE);
    CHECK(svc_tc_accepted(s_out, 1));
    se = svc_tc_event(s_out, 0, &tp__account__session_ended__descriptor);
    CHECK(se && streq(se->reason, "logout") && streq(se->account_id, s_alice));
    svc_tc_free(se);
    svc_tc_commit(s_tc);
    q.session_token = tok;
    s_do("ResolveSession", &q, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));
    s_do("Logout", &lo, t + MINUTE); /* again: logged out all the same */
    CHECK(svc_tc_accepted(s_out, 0));

    /* at most ACCOUNT_MAX_SESSIONS: the oldest gives way */
    char first[128];
    s_login_ok(ALICE, t + 2 * MINUTE, first, sizeof first);
    for (int i = 1; i < ACCOUNT_MAX_SESSIONS; i++)
        s_login_ok(ALICE, t + 2 * MINUTE + i, tok, sizeof tok);
    const acc_account_t *a = acc_find(s_st(), s_alice);
    char *verdict = zsys_sprintf("\001ok:%s", a->password_hash);
    s_login_verdict(ALICE, verdict, "", t + 3 * MINUTE);
    zstr_free(&verdict);
    CHECK(svc_tc_accepted(s_out, 2) && streq(svc_tc_type(s_out, 0), "SessionEnded") && streq(svc_tc_type(s_out, 1), "SessionStarted"));
    se = svc_tc_event(s_out, 0, &tp__account__session_ended__descriptor);
    CHECK(se && streq(se->reason, "superseded"));
    svc_tc_free(se);
    svc_tc_commit(s_tc);
    CHECK(zlistx_size(a->sessions) == ACCOUNT_MAX_SESSIONS);
    q.session_token = first;
    s_do("ResolveSession", &q, t + 3 * MINUTE);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));
    q.session_token = tok;
    s_do("ResolveSession", &q, t + 3 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 0));
    snprintf(s_session, sizeof s_session, "%s", tok);

    /* WhoAmI */
    Tp__Account__WhoAmI w = TP__ACCOUNT__WHO_AM_I__INIT;
    s_as("customer", s_alice);
    s_do("WhoAmI", &w, t + 3 * MINUTE);
    si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(svc_tc_accepted(s_out, 0) && si && streq(si->email, ALICE) && !*si->session_token);
    svc_tc_free(si);
    s_as("customer", s_bob); /* unconfirmed */
    s_do("WhoAmI", &w, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_as("customer", "acc-0000000000000000");
    s_do("WhoAmI", &w, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_as("", "");
    s_do("WhoAmI", &w, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
}

/* A runtime that hands out no randomness, or the same twice, gets refusals rather
 * than guessable or shared tokens. */
static void s_test_randomness(void)
{
    int64_t t = 30 * HOUR;
    svc_tc_set_random(s_tc, SVC_TC_RANDOM_FIXED);
    memset(svc_tc_random(s_tc), 0, SVC_SECRET_SIZE);
    Tp__Account__Register r = TP__ACCOUNT__REGISTER__INIT;
    r.email = "zero@example.com";
    r.password = "$argon2id$v=19$m=19456,t=2,p=1$zero";
    s_do("Register", &r, t);
    CHECK(svc_tc_refused(s_out, "internal", NULL));
    Tp__Account__RequestPasswordReset rq = TP__ACCOUNT__REQUEST_PASSWORD_RESET__INIT;
    rq.email = (char *) ALICE;
    s_do("RequestPasswordReset", &rq, t);
    CHECK(svc_tc_refused(s_out, "internal", NULL));
    const acc_account_t *a = acc_find(s_st(), s_alice);
    char *verdict = zsys_sprintf("\001ok:%s", a->password_hash);
    s_login_verdict(ALICE, verdict, "", t);
    CHECK(svc_tc_refused(s_out, "internal", NULL));
    /* the same bytes twice: the second login is refused, never given the same session */
    randombytes_buf(svc_tc_random(s_tc), SVC_SECRET_SIZE);
    s_login_verdict(ALICE, verdict, "", t);
    CHECK(!svc_out_failed(s_out) && streq(svc_tc_type(s_out, svc_out_n_events(s_out) - 1), "SessionStarted"));
    svc_tc_commit(s_tc);
    s_login_verdict(ALICE, verdict, "", t + 1);
    CHECK(svc_tc_refused(s_out, "internal", NULL));
    /* and a token issued twice */
    s_do("Register", &r, t);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc);
    Tp__Account__ResendConfirmation rc = TP__ACCOUNT__RESEND_CONFIRMATION__INIT;
    rc.email = r.email;
    s_do("ResendConfirmation", &rc, t + 1);
    CHECK(svc_tc_refused(s_out, "internal", NULL));
    zstr_free(&verdict);
    svc_tc_set_random(s_tc, SVC_TC_RANDOM_FRESH);
}

static const int64_t T_RESET = 40 * HOUR;

static void s_test_reset(void)
{
    int64_t t = T_RESET;
    Tp__Account__RequestPasswordReset rq = TP__ACCOUNT__REQUEST_PASSWORD_RESET__INIT;
    rq.email = "no at sign";
    s_do("RequestPasswordReset", &rq, t);
    CHECK(svc_tc_refused(s_out, "invalid", "email"));
    rq.email = "nobody@example.net";
    s_do("RequestPasswordReset", &rq, t);
    CHECK(svc_tc_accepted(s_out, 0) && s_same_answer());
    rq.email = (char *) BOB; /* unconfirmed: no reset mail */
    s_do("RequestPasswordReset", &rq, t);
    CHECK(svc_tc_accepted(s_out, 0) && s_same_answer());
    rq.email = "Alice@Example.com";
    s_do("RequestPasswordReset", &rq, t);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "PasswordResetRequested") && s_same_answer());
    Tp__Account__PasswordResetRequested *pr =
        svc_tc_event(s_out, 0, &tp__account__password_reset_requested__descriptor);
    CHECK(pr && pr->token_expires_at_us == s_t0 + t + ACCOUNT_RESET_VALID_US &&
          pr->token_nonce.len == 16 && pr->token_hash.len == 32);
    svc_tc_free(pr);
    svc_tc_commit(s_tc);
    char old[128], tok[128], id[128], subject[256];
    s_mail_token("reset:", ALICE, old, sizeof old, id, subject);
    CHECK(streq(subject, "Ihr neues Passwort für das Kundenportal"));
    svc_mail_t mails[32];
    size_t n = s_mails(mails, 32);
    for (size_t i = 0; i < n; i++)
        if (streq(mails[i].id, id))
            CHECK(strstr(mails[i].body, ACCOUNT_BASE_URL_DEFAULT "/#/reset?token=") &&
                  strstr(mails[i].body, "30 Minuten"));
    s_mails_free(mails, n);
    /* a second request replaces the first link */
    s_do("RequestPasswordReset", &rq, t + MINUTE);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc);
    s_except = old;
    s_mail_token("reset:", ALICE, tok, sizeof tok, NULL, NULL);
    s_except = "";
    CHECK(*tok && !streq(tok, old) && s_mails_kind(ALICE, "reset:") == 1);

    /* prepare refusals; decide refuses an unprepared password */
    const svc_command_t *cr = svc_tc_command(s_tc, "CompletePasswordReset");
    Tp__Account__CompletePasswordReset c = TP__ACCOUNT__COMPLETE_PASSWORD_RESET__INIT;
    c.new_password = strdup("too short");
    svc_out_reset(s_out);
    CHECK(cr->prepare(&c.base, NULL, s_out) == -1);
    CHECK(svc_tc_has_error(s_out, "invalid", "token") && svc_tc_has_error(s_out, "invalid", "newPassword"));
    free(c.new_password);
    c.token = tok;
    c.new_password = (char *) P2;
    s_do("CompletePasswordReset", &c, t + 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "internal", "newPassword"));

    c.new_password = strdup(P2);
    svc_out_reset(s_out);
    CHECK(cr->prepare(&c.base, NULL, s_out) == 0 && strncmp(c.new_password, "$argon2id$", 10) == 0);
    c.token = old;
    s_do("CompletePasswordReset", &c, t + 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    c.token = "garbage";
    s_do("CompletePasswordReset", &c, t + 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    c.token = tok;
    s_do("CompletePasswordReset", &c, t + MINUTE + ACCOUNT_RESET_VALID_US);
    CHECK(svc_tc_refused(s_out, "expired", "token"));
    /* a reset link does not confirm, a confirmation link does not reset */
    char bobtok[128];
    s_mail_token("confirm:", BOB, bobtok, sizeof bobtok, NULL, NULL);
    Tp__Account__Confirm cf = TP__ACCOUNT__CONFIRM__INIT;
    cf.token = tok;
    s_do("Confirm", &cf, t + 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    c.token = bobtok;
    s_do("CompletePasswordReset", &c, t + 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));

    /* the reset: every session ends, then the new password */
    size_t sessions = zlistx_size(acc_find(s_st(), s_alice)->sessions);
    CHECK(sessions > 0);
    c.token = tok;
    s_do("CompletePasswordReset", &c, t + 2 * MINUTE);
    CHECK(svc_tc_accepted(s_out, sessions + 1) && streq(svc_tc_type(s_out, sessions), "PasswordChanged"));
    Tp__Account__SessionEnded *se = svc_tc_event(s_out, 0, &tp__account__session_ended__descriptor);
    CHECK(se && streq(se->reason, "password_reset"));
    svc_tc_free(se);
    Tp__Account__PasswordChanged *pc =
        svc_tc_event(s_out, sessions, &tp__account__password_changed__descriptor);
    CHECK(pc && streq(pc->password_hash, c.new_password));
    svc_tc_free(pc);
    svc_tc_commit(s_tc);
    CHECK(zlistx_size(acc_find(s_st(), s_alice)->sessions) == 0);
    CHECK(s_mails_kind(ALICE, "reset:") == 0);
    s_do("CompletePasswordReset", &c, t + 3 * MINUTE); /* single use */
    CHECK(svc_tc_refused(s_out, "invalid_token", "token"));
    free(c.new_password);
    Tp__Account__ResolveSession q = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    q.session_token = s_session;
    s_do("ResolveSession", &q, t + 3 * MINUTE);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));

    /* the old password no longer works, the new one does (real Argon2id) */
    Tp__Account__Login l = TP__ACCOUNT__LOGIN__INIT;
    l.email = (char *) ALICE;
    l.password = strdup(P1);
    CHECK(s_login_prepare(&l) == 0 && streq(l.password, "\001bad"));
    free(l.password);
    l.password = strdup(P2);
    CHECK(s_login_prepare(&l) == 0);
    s_do("Login", &l, t + 4 * MINUTE);
    free(l.password);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "SessionStarted"));
    svc_tc_commit(s_tc);
}

static void s_react_shop(const char *type, const char *id, const char *code, const char *name,
                         bool disabled)
{
    Tp__Order__Shop shop = TP__ORDER__SHOP__INIT;
    shop.shop_id = (char *) id;
    shop.code = (char *) code;
    shop.name = (char *) name;
    shop.disabled = disabled;
    Tp__Order__ShopCreated e = TP__ORDER__SHOP_CREATED__INIT;
    e.shop = &shop;
    svc_tc_react(s_tc, "order", type, &e.base);
}

static void s_test_shops(void)
{
    int64_t t = 50 * HOUR;
    CHECK(account_def.upstreams && streq(account_def.upstreams[0], "order") &&
          streq(account_def.upstreams[1], "production") &&
          streq(account_def.upstreams[2], "revocation") && !account_def.upstreams[3]);
    /* react: the order service's shops become ShopKnown, once per change */
    s_react_shop("ShopCreated", "shop-1", "ACME-2024", "ACME GmbH", false);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ShopKnown"));
    Tp__Account__ShopKnown *k = svc_tc_event(s_out, 0, &tp__account__shop_known__descriptor);
    const char *stream;
    svc_out_event_at(s_out, 0, NULL, &stream, NULL, NULL);
    CHECK(k && streq(k->shop_id, "shop-1") && streq(k->code, "ACME-2024") &&
          streq(k->name, "ACME GmbH") && !k->disabled && streq(stream, "shop:shop-1"));
    svc_tc_free(k);
    svc_tc_commit(s_tc);
    s_react_shop("ShopCreated", "shop-1", "ACME-2024", "ACME GmbH", false);
    CHECK(svc_tc_accepted(s_out, 0));
    s_react_shop("ShopChanged", "shop-1", "ACME-2024", "ACME Holding GmbH", false);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc);
    s_react_shop("ShopCreated", "shop-2", "Beta", "Beta AG", false);
    svc_tc_commit(s_tc);
    s_react_shop("ShopCreated", "shop-3", "gamma", "Gamma eG", false);
    svc_tc_commit(s_tc);
    s_react_shop("ShopCreated", "", "x", "no id", false);
    CHECK(svc_out_failed(s_out) && svc_out_n_events(s_out) == 0);
    uint8_t junk[] = {0x0a, 0xff, 0xff};
    svc_tc_react_raw(s_tc, "order", "ShopCreated", junk, sizeof junk);
    CHECK(svc_out_failed(s_out) && svc_out_n_events(s_out) == 0);
    svc_tc_react_raw(s_tc, "order", "ShopChanged", NULL, 0); /* no shop in it */
    CHECK(svc_out_failed(s_out));
    svc_tc_react_raw(s_tc, "order", "OrderPlaced", junk, sizeof junk); /* for the notices */
    CHECK(svc_tc_refused(s_out, "invalid", NULL));
    svc_tc_react_raw(s_tc, "identification", "ShopCreated", junk, sizeof junk);
    CHECK(svc_tc_accepted(s_out, 0));

    /* RedeemShopCode: refusals */
    Tp__Account__RedeemShopCode r = TP__ACCOUNT__REDEEM_SHOP_CODE__INIT;
    r.code = "acme-2024";
    s_as("", "");
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_as("customer", s_bob);
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_as("operator", s_alice);
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_as("customer", s_alice);
    r.code = "  ";
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_refused(s_out, "invalid", "code"));
    char longcode[80];
    memset(longcode, 'c', 70);
    longcode[70] = 0;
    r.code = longcode;
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_refused(s_out, "invalid", "code"));

    /* a known code, in any case: redeemed once; again is fine and writes nothing */
    r.code = " acme-2024 ";
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ShopCodeRedeemed"));
    Tp__Account__ShopRedeemed *sr = svc_tc_reply(s_out, &tp__account__shop_redeemed__descriptor);
    CHECK(sr && streq(sr->shop_id, "shop-1") && streq(sr->name, "ACME Holding GmbH") &&
          !*sr->refusal);
    svc_tc_free(sr);
    svc_tc_commit(s_tc);
    r.code = "ACME-2024";
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_accepted(s_out, 0));
    sr = svc_tc_reply(s_out, &tp__account__shop_redeemed__descriptor);
    CHECK(sr && streq(sr->shop_id, "shop-1"));
    svc_tc_free(sr);
    r.code = "BETA";
    s_as("officer", s_alice);
    s_do("RedeemShopCode", &r, t);
    CHECK(svc_tc_accepted(s_out, 1));
    svc_tc_commit(s_tc);
    s_as("customer", s_alice);

    /* an unknown code: recorded (for throttling), answered with an empty shop id */
    r.code = "nope";
    s_do("RedeemShopCode", &r, t + 1);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ShopCodeRejected"));
    Tp__Account__ShopCodeRejected *rj = svc_tc_event(s_out, 0, &tp__account__shop_code_rejected__descriptor);
    char ch[ACC_HEX_SIZE];
    acc_sha256_hex("nope", 4, ch);
    CHECK(rj && streq(rj->code_hash, ch) && streq(rj->account_id, s_alice) &&
          rj->at_us == s_t0 + t + 1);
    svc_tc_free(rj);
    sr = svc_tc_reply(s_out, &tp__account__shop_redeemed__descriptor);
    CHECK(sr && !*sr->shop_id && streq(sr->refusal, "unknown_shop_code"));
    svc_tc_free(sr);
    svc_tc_commit(s_tc);

    /* a disabled shop's code is unknown; a changed code replaces the old one */
    s_react_shop("ShopChanged", "shop-2", "Beta", "Beta AG", true);
    svc_tc_commit(s_tc);
    s_react_shop("ShopChanged", "shop-3", "Delta", "Gamma eG", false);
    svc_tc_commit(s_tc);
    r.code = "beta";
    s_do("RedeemShopCode", &r, t + 2);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ShopCodeRejected"));
    svc_tc_commit(s_tc);
    r.code = "gamma";
    s_do("RedeemShopCode", &r, t + 3);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ShopCodeRejected"));
    svc_tc_commit(s_tc);
    /* the session lists the enabled shops only */
    Tp__Account__WhoAmI w = TP__ACCOUNT__WHO_AM_I__INIT;
    s_do("WhoAmI", &w, t);
    Tp__Account__SessionInfo *si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && si->n_shop_ids == 1 && streq(si->shop_ids[0], "shop-1"));
    svc_tc_free(si);

    /* throttled after ACCOUNT_REDEEM_MAX_REJECTS rejections an hour, valid codes too */
    r.code = "wrong";
    for (int i = 3; i < ACCOUNT_REDEEM_MAX_REJECTS; i++) {
        s_do("RedeemShopCode", &r, t + 10 + i);
        CHECK(svc_tc_accepted(s_out, 1));
        svc_tc_commit(s_tc);
    }
    s_do("RedeemShopCode", &r, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "throttled", "code"));
    r.code = "delta";
    s_do("RedeemShopCode", &r, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "throttled", "code"));
    s_do("RedeemShopCode", &r, t + ACCOUNT_REDEEM_WINDOW_US + 20);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "ShopCodeRedeemed"));
    svc_tc_commit(s_tc);
}

static void s_test_officers(void)
{
    int64_t t = 60 * HOUR;
    Tp__Account__AppointOfficer ap = TP__ACCOUNT__APPOINT_OFFICER__INIT;
    ap.account_id = s_alice;
    ap.shop_id = "shop-1";
    s_as("customer", s_alice);
    s_do("AppointOfficer", &ap, t);
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_as("operator", "");
    ap.account_id = "acc-ffffffffffffffff";
    ap.shop_id = "shop-9";
    s_do("AppointOfficer", &ap, t);
    CHECK(svc_tc_refused(s_out, "not_found", "accountId") && svc_tc_has_error(s_out, "not_found", "shopId"));
    ap.account_id = s_alice;
    s_do("AppointOfficer", &ap, t);
    CHECK(svc_tc_refused(s_out, "not_found", "shopId") && svc_out_n_errors(s_out) == 1);
    ap.shop_id = "shop-1";
    s_do("AppointOfficer", &ap, t);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "OfficerAppointed"));
    Tp__Account__AccountView *v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && v->n_officer_shop_ids == 1 && streq(v->officer_shop_ids[0], "shop-1") &&
          streq(v->status, "active"));
    svc_tc_free(v);
    svc_tc_commit(s_tc);
    s_do("AppointOfficer", &ap, t); /* again: nothing new */
    CHECK(svc_tc_accepted(s_out, 0));
    s_as("customer", s_alice);
    Tp__Account__WhoAmI w = TP__ACCOUNT__WHO_AM_I__INIT;
    s_do("WhoAmI", &w, t);
    Tp__Account__SessionInfo *si = svc_tc_reply(s_out, &tp__account__session_info__descriptor);
    CHECK(si && si->n_roles == 2 && streq(si->roles[1], "officer") && si->n_officer_shop_ids == 1 &&
          streq(si->officer_shop_ids[0], "shop-1"));
    svc_tc_free(si);

    Tp__Account__RevokeOfficer rv = TP__ACCOUNT__REVOKE_OFFICER__INIT;
    rv.account_id = s_alice;
    rv.shop_id = "shop-1";
    s_do("RevokeOfficer", &rv, t);
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_as("operator", "");
    rv.shop_id = "shop-3";
    s_do("RevokeOfficer", &rv, t); /* not an officer there: nothing to undo */
    CHECK(svc_tc_accepted(s_out, 0));
    rv.account_id = "";
    s_do("RevokeOfficer", &rv, t);
    CHECK(svc_tc_refused(s_out, "not_found", "accountId"));
    rv.account_id = s_alice;
    rv.shop_id = "shop-1";
    s_do("RevokeOfficer", &rv, t);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "OfficerRevoked"));
    v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && v->n_officer_shop_ids == 0);
    svc_tc_free(v);
    svc_tc_commit(s_tc);
    s_do("AppointOfficer", &ap, t);
    svc_tc_commit(s_tc);

    /* FindAccount */
    Tp__Account__FindAccount f = TP__ACCOUNT__FIND_ACCOUNT__INIT;
    s_as("customer", s_alice);
    f.email = (char *) ALICE;
    s_do("FindAccount", &f, t);
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_as("operator", "");
    f.email = "";
    s_do("FindAccount", &f, t);
    CHECK(svc_tc_refused(s_out, "invalid", "email"));
    f.email = "bad";
    s_do("FindAccount", &f, t);
    CHECK(svc_tc_refused(s_out, "invalid", "email"));
    f.email = "nobody@example.net";
    s_do("FindAccount", &f, t);
    CHECK(svc_tc_refused(s_out, "not_found", "email"));
    f.email = "ALICE@example.com ";
    s_do("FindAccount", &f, t);
    v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(svc_tc_accepted(s_out, 0) && v && streq(v->account_id, s_alice) && streq(v->email, ALICE) &&
          streq(v->status, "active") && v->registered_at_us == s_t0 && v->n_shop_ids == 3 &&
          v->n_officer_shop_ids == 1 && streq(v->language, "de"));
    svc_tc_free(v);
    f.email = "";
    f.account_id = s_bob;
    s_do("FindAccount", &f, t);
    v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && streq(v->status, "unconfirmed") && streq(v->email, BOB));
    svc_tc_free(v);
    f.account_id = "acc-nope";
    s_do("FindAccount", &f, t);
    CHECK(svc_tc_refused(s_out, "not_found", "accountId"));
}

static void s_test_delete(void)
{
    int64_t t = 70 * HOUR;
    char tok[128];
    s_login_ok(ALICE, t, tok, sizeof tok);
    s_login_ok(ALICE, t + 1, tok, sizeof tok);
    Tp__Account__RequestPasswordReset rq = TP__ACCOUNT__REQUEST_PASSWORD_RESET__INIT;
    rq.email = (char *) ALICE;
    s_do("RequestPasswordReset", &rq, t);
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(ALICE, "reset:") == 1);

    Tp__Account__DeleteAccount d = TP__ACCOUNT__DELETE_ACCOUNT__INIT;
    d.account_id = s_alice;
    d.reason = "asked by phone, ticket 4711";
    s_as("customer", s_alice);
    s_do("DeleteAccount", &d, t);
    CHECK(svc_tc_refused(s_out, "forbidden", NULL));
    s_as("operator", "");
    d.account_id = "acc-nope";
    s_do("DeleteAccount", &d, t);
    CHECK(svc_tc_refused(s_out, "not_found", "accountId"));
    char longreason[600];
    memset(longreason, 'r', 501);
    longreason[501] = 0;
    d.account_id = s_alice;
    d.reason = longreason;
    s_do("DeleteAccount", &d, t);
    CHECK(svc_tc_refused(s_out, "invalid", "reason"));
    d.reason = "asked by phone, ticket 4711";
    size_t sessions = zlistx_size(acc_find(s_st(), s_alice)->sessions);
    CHECK(sessions >= 2);
    s_do("DeleteAccount", &d, t + MINUTE);
    size_t n = svc_out_n_events(s_out);
    CHECK(!svc_out_failed(s_out) && n == sessions + 1 && streq(svc_tc_type(s_out, n - 1), "AccountDeleted"));
    Tp__Account__SessionEnded *se = svc_tc_event(s_out, 0, &tp__account__session_ended__descriptor);
    CHECK(se && streq(se->reason, "account_deleted"));
    svc_tc_free(se);
    Tp__Account__AccountView *v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && streq(v->status, "deleted") && !*v->email);
    svc_tc_free(v);
    svc_tc_commit(s_tc);
    s_do("DeleteAccount", &d, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "not_found", "accountId"));

    /* afterwards: no session, no login, no query serves the address, no mail */
    CHECK(s_mails_kind(ALICE, "") == 0 && zhashx_size(s_st()->sessions) == 0);
    Tp__Account__ResolveSession q = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    q.session_token = tok;
    s_do("ResolveSession", &q, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "unauthenticated", "sessionToken"));
    s_as("customer", s_alice);
    Tp__Account__WhoAmI w = TP__ACCOUNT__WHO_AM_I__INIT;
    s_do("WhoAmI", &w, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "unauthenticated", NULL));
    s_as("operator", "");
    Tp__Account__FindAccount f = TP__ACCOUNT__FIND_ACCOUNT__INIT;
    f.email = (char *) ALICE;
    s_do("FindAccount", &f, t + MINUTE);
    CHECK(svc_tc_refused(s_out, "not_found", "email"));
    f.email = "";
    f.account_id = s_alice;
    s_do("FindAccount", &f, t + MINUTE);
    v = svc_tc_reply(s_out, &tp__account__account_view__descriptor);
    CHECK(v && streq(v->status, "deleted") && !*v->email && v->n_officer_shop_ids == 0);
    svc_tc_free(v);
    Tp__Account__Login l = TP__ACCOUNT__LOGIN__INIT;
    l.email = (char *) ALICE;
    char *lk = s_lookup("Login", &l, "", t + 2 * MINUTE);
    CHECK(lk && strncmp(lk, "$argon2id$", 10) == 0 && !streq(lk, s_alice_hash));
    free(lk);
    char *verdict = zsys_sprintf("\001ok:%s", s_alice_hash);
    s_login_verdict(ALICE, verdict, "", t + 2 * MINUTE);
    zstr_free(&verdict);
    Tp__Account__LoginFailed *lf = svc_tc_event(s_out, 0, &tp__account__login_failed__descriptor);
    CHECK(svc_tc_accepted(s_out, 1) && lf && !*lf->account_id);
    svc_tc_free(lf);
    svc_out_reset(s_out);
    s_as("operator", "");
    Tp__Account__AppointOfficer ap = TP__ACCOUNT__APPOINT_OFFICER__INIT;
    ap.account_id = s_alice;
    ap.shop_id = "shop-1";
    s_do("AppointOfficer", &ap, t + 2 * MINUTE);
    CHECK(svc_tc_refused(s_out, "not_found", "accountId"));

    /* the address can register again: a new account */
    Tp__Account__Register r = TP__ACCOUNT__REGISTER__INIT;
    r.email = (char *) ALICE;
    r.password = "$argon2id$v=19$m=19456,t=2,p=1$again";
    s_as("", "");
    s_do("Register", &r, t + 3 * MINUTE);
    CHECK(svc_tc_accepted(s_out, 1) && streq(svc_tc_type(s_out, 0), "AccountRegistered") && s_same_answer());
    Tp__Account__AccountRegistered *e = svc_tc_event(s_out, 0, &tp__account__account_registered__descriptor);
    CHECK(e && !streq(e->account_id, s_alice));
    svc_tc_free(e);
    svc_tc_commit(s_tc);
    CHECK(s_mails_kind(ALICE, "") == 1);
}

/* Undecodable payloads and events about unknown things never crash apply. */
static void s_test_bad_events(void)
{
    void *st = account_def.state_new();
    const char *types[] = {"AccountRegistered",
                           "ConfirmationReissued",
                           "AccountConfirmed",
                           "RegistrationAttemptedForKnownEmail",
                           "SessionStarted",
                           "SessionTouched",
                           "SessionEnded",
                           "LoginFailed",
                           "PasswordResetRequested",
                           "PasswordChanged",
                           "ShopCodeRedeemed",
                           "ShopCodeRejected",
                           "OfficerAppointed",
                           "OfficerRevoked",
                           "AccountDeleted",
                           "ShopKnown",
                           "MailSent",
                           "TokenExpired",
                           "Nope",
                           NULL};
    uint8_t junk[] = {0x0a, 0xff, 0xff, 0x12};
    /* a well-formed message with every field 1 set to an unknown id */
    Tp__Account__AccountConfirmed any = TP__ACCOUNT__ACCOUNT_CONFIRMED__INIT;
    any.account_id = "acc-unknown";
    uint8_t ok[64];
    size_t oklen = tp__account__account_confirmed__pack(&any, ok);
    uint64_t seq = 0;
    for (int i = 0; types[i]; i++) {
        svc_event_t ev[] = {{++seq, "x", 1, types[i], 0, junk, sizeof junk},
                            {++seq, "x", 1, types[i], 0, ok, oklen},
                            {++seq, "x", 1, types[i], 0, NULL, 0}};
        for (size_t k = 0; k < 3; k++)
            account_def.apply(st, &ev[k]);
    }
    char *sum = account_def.summary(st);
    CHECK(sum && strstr(sum, "\"accounts\":0,") && strstr(sum, "\"events\":57,"));
    free(sum);
    account_def.state_destroy(&st);
    CHECK(st == NULL);
    account_def.state_destroy(&st);
}

/* The state rebuilt from the log equals the live one. */
static void s_test_replay(void)
{
    void *again = svc_tc_rebuild(s_tc);
    char *a = account_def.summary(svc_tc_state(s_tc));
    char *b = account_def.summary(again);
    CHECK(a && b && streq(a, b));
    CHECK(a && strstr(a, "\"accounts\":5,") && strstr(a, "\"deleted\":1,") &&
          strstr(a, "\"shops\":3,"));
    if (svc_tc_verbose())
        printf("summary: %s\n", a ? a : "(none)");
    /* and a different state has a different digest */
    s_react_shop("ShopChanged", "shop-1", "ACME-2024", "ACME Holding GmbH", true);
    svc_tc_commit(s_tc);
    char *c = account_def.summary(svc_tc_state(s_tc));
    CHECK(c && b && !streq(c, b));
    free(a);
    free(b);
    free(c);
    account_def.state_destroy(&again);
}

static void s_setup(void)
{
    CHECK(sodium_init() >= 0);
    s_tc = svc_tc_new(&account_def);
    assert(s_tc);
    svc_tc_hold(s_tc, true);
    svc_tc_set_random(s_tc, SVC_TC_RANDOM_FRESH);
    randombytes_buf(svc_tc_secret(s_tc), SVC_SECRET_SIZE);
    s_t0 = zclock_time() * 1000;
    s_out = svc_tc_out(s_tc);
    CHECK(svc_tc_state(s_tc) && s_out && streq(account_def.name, "account") &&
          account_def.summary && account_def.mails_pending && account_def.mail_sent &&
          account_def.tick);
}

static void s_teardown(void)
{
    free(s_accepted);
    svc_tc_destroy(&s_tc);
}

/* The tests follow each other on the same state. */
static const svc_tc_test_t s_tests[] = {
    {"helpers", s_test_helpers, "core"},
    {"register", s_test_register, "core"},
    {"resend", s_test_resend, "core"},
    {"login", s_test_login, "core"},
    {"throttle", s_test_throttle, "core"},
    {"sessions", s_test_sessions, "core"},
    {"randomness", s_test_randomness, "core"},
    {"reset", s_test_reset, "core"},
    {"shops", s_test_shops, "core"},
    {"officers", s_test_officers, "core"},
    {"delete", s_test_delete, "core"},
    {"bad_events", s_test_bad_events, "core"},
    {"replay", s_test_replay, "core"},
    {NULL},
};

int main(int argc, char **argv)
{
    return svc_tc_main(argc, argv,
                       &(svc_tc_suite_t){"account_test", s_tests, s_setup, s_teardown});
}
