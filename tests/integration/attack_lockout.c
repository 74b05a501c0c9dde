/* attack_lockout.c: nobody can lock an owner out of revoking. Order numbers are
 * sequential, so whoever can guess at one number's revocation password could, with
 * failures counted per number, lock any card. Here two hosts send wrong revocation
 * passwords for the owner's card until they are throttled; then the owner, from an
 * address of their own, revokes the card with the right password. The attackers'
 * failures are throttled per client address, before anything is hashed; the owner is
 * told of them by one mail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attack.h"
#include "flow.h"

/* A revocation without login of @p number with @p password, from @p addr; its status. */
static long s_revoke(gwc_t *c, const char *addr, const char *number, const char *password)
{
    char body[256];
    snprintf(body, sizeof body, "{\"number\":\"%s\",\"password\":\"%s\",\"reason\":\"card_lost\"}",
             number, password);
    gwc_set_client(c, addr);
    gwc_resp_t r;
    long status = gwc_req(c, "POST", "/api/v1/revocations", body, NULL, &r);
    if (status != 401 && status != 429 && status != 202)
        gwc_log("revocation", &r);
    gwc_resp_free(&r);
    return status;
}

int main(void)
{
    int64_t t0 = zclock_mono();
    th_t *th = at_new("lockout", "revocation/processing_delay_s", "1");
    char base[64];
    if (!at_start(&th, "account,order,identification,production,revocation", base, sizeof base))
        return 1;
    /* the owner's card: ordered in the portal, shipped by the back office */
    const char *email = "karten.inhaberin@example.org";
    gwc_t *owner = gwc_new(base);
    gwc_set_client(owner, "198.51.100.7");
    TH_CHECK(gwc_signup(th, owner, "correct horse battery staple", email));
    char *order = gwc_order_json("signature-card", NULL, "postident");
    gwc_resp_t r;
    gwc_req(owner, "POST", "/api/v1/orders", order, NULL, &r);
    free(order);
    TH_CHECK(gwc_is(&r, 201, NULL, NULL));
    char number[32];
    snprintf(number, sizeof number, "%s", gwc_str(&r, "orderId"));
    gwc_resp_free(&r);
    TH_CHECK(number[0] && gwc_ship(th, owner, number, "7e57c0ffee"));

    /* two hosts guess until each is throttled: 20 failures from an address, then 429 */
    gwc_t *attacker = gwc_new(base);
    const char *hosts[] = {"203.0.113.66", "2001:db8:bad:1::1"};
    for (int h = 0; h < 2; h++) {
        int failed = 0, throttled = 0;
        for (int i = 0; i < 25; i++) {
            char guess[64];
            snprintf(guess, sizeof guess, "Sperr-Kennwort-%02d", i);
            long status = s_revoke(attacker, hosts[h], number, guess);
            failed += status == 401;
            throttled += status == 429;
        }
        fprintf(stderr, "attacker %s: %d times 401, then %d times 429\n", hosts[h], failed,
                throttled);
        TH_CHECK(failed == 20 && throttled == 5);
    }
    /* an IPv6 host is its /64: another address in it is throttled too */
    TH_CHECK(s_revoke(attacker, "2001:db8:bad:1:ffff::2", number, "Sperr-Kennwort-99") == 429);
    /* throttled before hashing: only the 40 failures are recorded */
    TH_CHECK(fl_count_events(th, "revocation", "RevocationAttemptFailed", NULL) == 40);

    /* the owner still revokes with the right password */
    TH_CHECK(s_revoke(owner, "198.51.100.7", number, "Sperr-Kennwort-42") == 202);

    /* the owner was told of the failed attempts, once, and of the revocation */
    char *mail = th_mail_wait(th, NULL, email, "A failed attempt", 15000);
    TH_CHECK(mail && strstr(mail, number) && strstr(mail, "never stop you from revoking"));
    free(mail);
    mail = th_mail_wait(th, NULL, email, "Revocation of your card requested", 15000);
    TH_CHECK(mail != NULL);
    free(mail);
    TH_CHECK(th_mail_count(th, NULL, email, "A failed attempt") == 1);
    gwc_destroy(&attacker);
    gwc_destroy(&owner);
    return at_end(&th, "attack_lockout", t0);
}
