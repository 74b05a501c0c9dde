/* attack_flood.c: one host floods the password routes (log in, register, password reset,
 * revocation by password) over many connections, while a customer from another address
 * logs in. Argon2id must not run before the throttle by client address: the customer's
 * logins take as long as without the flood, within the noise of the measurement. The
 * phases alternate (quiet, flood, quiet, ...) so that the machine's drift falls on both. */
#include <stdio.h>
#include <string.h>
#include "attack.h"

#define ROUNDS      3  /* quiet and flood phases each */
#define LOGINS      8  /* the customer's logins per phase */
#define CONNECTIONS 48 /* the flood's connections (the gateway allows 64 per address) */

/* LOGINS logins of the customer, each timed; from addresses of the customer's network
 * in turn (many logins from one address would meet its own budget of slow work). */
static void s_logins(gwc_t *c, const char *email, const char *password, at_times_t *t)
{
    static int n = 0;
    char body[256], addr[32];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    for (int i = 0; i < LOGINS; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%d", 10 + n++ % 20);
        gwc_set_client(c, addr);
        gwc_resp_t r;
        gwc_req(c, "POST", "/api/v1/session", body, NULL, &r);
        TH_CHECK(gwc_is(&r, 200, NULL, NULL));
        at_times_add(t, r.secs);
        gwc_resp_free(&r);
    }
}

int main(void)
{
    int64_t t0 = zclock_mono();
    /* the production budget of slow work per client address (the harness raises it) */
    th_t *th = at_new("flood", "slow_burst", "30");
    char base[64];
    if (!at_start(&th, "account,revocation", base, sizeof base))
        return 1;
    const char *email = "kundin@example.org", *password = "correct horse battery staple";
    gwc_t *c = gwc_new(base);
    gwc_set_client(c, "198.51.100.10");
    TH_CHECK(gwc_signup(th, c, password, email));

    at_times_t quiet = {0}, flooded = {0};
    long throttled = 0, total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        s_logins(c, email, password, &quiet);
        at_flood_t *f = at_flood_start(base, "203.0.113.66", "someone.else@example.org",
                                       "TP-2026-000001", CONNECTIONS);
        TH_CHECK(f != NULL);
        zclock_sleep(1000); /* the flood at full strength */
        s_logins(c, email, password, &flooded);
        long th429 = 0, all = 0;
        at_flood_stop(&f, &th429, &all);
        throttled += th429;
        total += all;
    }
    /* the flood was refused, not served */
    TH_CHECK(total > 0 && throttled * 10 >= total * 9);
    TH_CHECK(at_same("the customer's login without and with the flood", &quiet, &flooded, 0.005));
    at_times_free(&quiet);
    at_times_free(&flooded);
    gwc_destroy(&c);
    return at_end(&th, "attack_flood", t0);
}
