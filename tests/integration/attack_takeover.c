/* attack_takeover.c: nobody can take over an address that waits for confirmation. The
 * owner registers; before she confirms, someone registers her address again with his own
 * password, which mails her a second link. She opens the newest link, as anyone would:
 * it must not activate the account with his password. A link activates the account only
 * together with the password chosen with its registration; the owner's own link and
 * password do, and then only her password logs in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attack.h"

#define OWNER_PW    "the owner's own password"
#define ATTACKER_PW "the attacker's password"

/* The token of the mail to @p email that contains @p text. */
static bool s_token(th_t *th, const char *email, const char *text, char *token, size_t sz)
{
    char *mail = th_mail_wait(th, NULL, email, text, 15000);
    bool ok = mail && th_token_after(mail, "token=", token, sz);
    free(mail);
    return ok;
}

/* A login of @p email with @p password: its status. */
static long s_login(gwc_t *c, const char *email, const char *password)
{
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    gwc_resp_t r;
    long status = gwc_req(c, "POST", "/api/v1/session", body, NULL, &r);
    gwc_resp_free(&r);
    return status;
}

int main(void)
{
    int64_t t0 = zclock_mono();
    th_t *th = at_new("takeover", NULL, NULL);
    char base[64];
    if (!at_start(&th, "account", base, sizeof base))
        return 1;
    const char *email = "erika.neu@example.org";
    gwc_t *owner = gwc_new(base), *attacker = gwc_new(base);
    gwc_set_client(owner, "198.51.100.20");
    gwc_set_client(attacker, "203.0.113.66");
    gwc_resp_t r;
    char body[300], mine[128] = "", his[128] = "";

    /* the owner registers (her mails in English), and gets her link */
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"language\":\"en\"}", email,
             OWNER_PW);
    TH_CHECK(gwc_req(owner, "POST", "/api/v1/accounts", body, NULL, &r) == 202);
    gwc_resp_free(&r);
    TH_CHECK(s_token(th, email, "Please confirm", mine, sizeof mine));
    /* the attacker registers her address with his password (in German): a second link
     * goes to her mailbox, the newest one */
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"language\":\"de\"}", email,
             ATTACKER_PW);
    TH_CHECK(gwc_req(attacker, "POST", "/api/v1/accounts", body, NULL, &r) == 202);
    gwc_resp_free(&r);
    TH_CHECK(s_token(th, email, "Bitte best", his, sizeof his) && strcmp(his, mine) != 0);

    /* she opens the newest link as a link alone: refused; with her password: not the
     * password of that registration. Nothing is active: his password does not log in.
     * (Each of his logins with it mails her one more link for it, and three are kept:
     * once is enough here, or her own link would give way.) */
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", his);
    gwc_req(owner, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "password"));
    gwc_resp_free(&r);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", his, OWNER_PW);
    gwc_req(owner, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 401, "invalid_credentials", "password"));
    gwc_resp_free(&r);
    TH_CHECK(s_login(attacker, email, ATTACKER_PW) != 200);
    TH_CHECK(s_login(owner, email, OWNER_PW) != 200);

    /* her own link with her password: her account, her password */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", mine, OWNER_PW);
    gwc_req(owner, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    TH_CHECK(s_login(owner, email, OWNER_PW) == 200);
    TH_CHECK(s_login(attacker, email, ATTACKER_PW) == 401);
    /* and his link is dead now, whatever password comes with it */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", his, ATTACKER_PW);
    gwc_req(attacker, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid_token", "token"));
    gwc_resp_free(&r);
    TH_CHECK(s_login(attacker, email, ATTACKER_PW) == 401);

    gwc_destroy(&owner);
    gwc_destroy(&attacker);
    return at_end(&th, "attack_takeover", t0);
}
