/* attack_enumeration.c: nothing the portal answers tells whether an address has an
 * account, confirmed or not. For addresses of three kinds (active, registered but not
 * confirmed, unknown) the attack of the issue, a registration followed by a login with
 * the password just registered, and forgot-password and re-send: the same status and
 * body for every kind, and times that are the same within the noise (medians of many
 * tries, the kinds interleaved in a shuffled order, each try from an address of its own).
 * Also: the owner of an unconfirmed account who logs in with the right password gets the
 * answer of a wrong one, and a mail with a link that confirms the account. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attack.h"

#define KINDS    3
#define TRIES    32 /* per kind and route */
#define PER_ADDR 4  /* tries per active or unconfirmed address (5 failures throttle it) */

static const char *const s_kinds[KINDS] = {"active", "unconfirmed", "unknown"};
enum { ROUTE_REGISTER, ROUTE_LOGIN, ROUTE_FORGOT, ROUTE_RESEND, ROUTES };
static const char *const s_routes[ROUTES] = {"register", "login after register", "forgot password",
                                             "re-send confirmation"};

typedef struct {
    th_t *th;
    gwc_t *c;                /* the attacker's browser */
    char first[ROUTES][512]; /* the first answer of each route: "status body" */
    at_times_t times[ROUTES][KINDS];
    int addr; /* the attacker's next client address */
} s_run_t;

/* The address of kind @p kind for try @p i. */
static void s_target(int kind, int i, char *out, size_t outsz)
{
    if (kind == 2)
        snprintf(out, outsz, "nobody.%d@example.net", i);
    else
        snprintf(out, outsz, "%s.%d@example.org", s_kinds[kind], i / PER_ADDR);
}

/* One request from a fresh client address; its answer must be the first answer of its
 * route, byte for byte; its time goes to the kind's times. */
static void s_try(s_run_t *r, int route, int kind, const char *path, const char *body)
{
    char addr[32];
    snprintf(addr, sizeof addr, "10.%d.%d.%d", 1 + r->addr / 62500, r->addr / 250 % 250,
             1 + r->addr % 250);
    r->addr++;
    gwc_set_client(r->c, addr);
    gwc_resp_t resp;
    gwc_req(r->c, "POST", path, body, NULL, &resp);
    char seen[512];
    snprintf(seen, sizeof seen, "%ld %s", resp.status, resp.body);
    if (!r->first[route][0])
        snprintf(r->first[route], sizeof r->first[route], "%s", seen);
    else if (strcmp(seen, r->first[route]) != 0) {
        fprintf(stderr, "%s of an %s address: \"%s\", where the first answer was \"%s\"\n",
                s_routes[route], s_kinds[kind], seen, r->first[route]);
        TH_CHECK(!"the same answer for every kind of address");
    }
    at_times_add(&r->times[route][kind], resp.secs);
    gwc_resp_free(&resp);
}

/* The kinds in a shuffled order for each round (a fixed seed: runs are comparable). */
static void s_shuffle(int *order)
{
    for (int k = 0; k < KINDS; k++)
        order[k] = k;
    for (int k = KINDS - 1; k > 0; k--) {
        int j = rand() % (k + 1), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
}

/* TRIES rounds of route @p a, then route @p b, on each kind's address of the round, the
 * kinds in a shuffled order; the body names the address (and the attacker's password of
 * the round when @p password). */
static void s_rounds(s_run_t *r, int a, const char *path_a, int b, const char *path_b,
                     bool password)
{
    for (int i = 0; i < TRIES; i++) {
        int order[KINDS];
        s_shuffle(order);
        for (int k = 0; k < KINDS; k++) {
            char email[64], body[256];
            s_target(order[k], i, email, sizeof email);
            if (password)
                snprintf(body, sizeof body,
                         "{\"email\":\"%s\",\"password\":\"attacker's guess %d\"}", email, i);
            else
                snprintf(body, sizeof body, "{\"email\":\"%s\"}", email);
            s_try(r, a, order[k], path_a, body);
            s_try(r, b, order[k], path_b, body);
        }
    }
}

/* The owner of an unconfirmed account logs in with the right password: the answer of a
 * wrong one, and a mail with a fresh link that confirms the account with that password. */
static void s_unconfirmed_owner(th_t *th, const char *base, const char *wrong_answer)
{
    const char *email = "lena.langsam@example.org", *password = "Lenas langes Passwort";
    gwc_t *c = gwc_new(base);
    gwc_set_client(c, "192.0.2.77");
    gwc_resp_t r;
    char body[256], token[128];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    gwc_req(c, "POST", "/api/v1/accounts", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 202, NULL, NULL));
    gwc_resp_free(&r);
    char *mail = th_mail_wait(th, NULL, email, "token=", 15000);
    TH_CHECK(mail != NULL);
    free(mail);
    int before = th_mail_count(th, NULL, email, "token=");
    gwc_req(c, "POST", "/api/v1/session", body, NULL, &r);
    char seen[512];
    snprintf(seen, sizeof seen, "%ld %s", r.status, r.body);
    TH_CHECK(strcmp(seen, wrong_answer) == 0 && !gwc_session(c)[0]);
    gwc_resp_free(&r);
    bool mailed = false;
    for (int i = 0; i < 100 && !mailed; i++) {
        mailed = th_mail_count(th, NULL, email, "token=") == before + 1;
        if (!mailed)
            zclock_sleep(100);
    }
    TH_CHECK(mailed);
    /* both links are for the owner's password: either confirms with it */
    mail = th_mail_wait(th, NULL, email, "token=", 1000);
    TH_CHECK(mail && th_token_after(mail, "token=", token, sizeof token));
    free(mail);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
    gwc_req(c, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    gwc_req(c, "POST", "/api/v1/session", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 200, NULL, NULL));
    gwc_resp_free(&r);
    gwc_destroy(&c);
}

int main(void)
{
    int64_t t0 = zclock_mono();
    srand(20260);
    s_run_t r;
    memset(&r, 0, sizeof r);
    r.th = at_new("enumeration", NULL, NULL);
    char base[64];
    if (!at_start(&r.th, "account", base, sizeof base))
        return 1;
    /* the owners: active accounts, and registrations not confirmed (by someone) */
    for (int i = 0; i < TRIES; i += PER_ADDR) {
        char email[64], body[256];
        gwc_t *owner = gwc_new(base);
        gwc_set_client(owner, "192.0.2.50");
        s_target(0, i, email, sizeof email);
        TH_CHECK(gwc_signup(r.th, owner, "the owner's own password", email));
        s_target(1, i, email, sizeof email);
        snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"someone's password 1\"}",
                 email);
        gwc_resp_t resp;
        gwc_req(owner, "POST", "/api/v1/accounts", body, NULL, &resp);
        TH_CHECK(gwc_is(&resp, 202, NULL, NULL));
        gwc_resp_free(&resp);
        gwc_destroy(&owner);
    }

    /* the attacker: register each address with his password, then log in with it; then
     * forgot-password and re-send on the same addresses */
    r.c = gwc_new(base);
    s_rounds(&r, ROUTE_REGISTER, "/api/v1/accounts", ROUTE_LOGIN, "/api/v1/session", true);
    s_rounds(&r, ROUTE_FORGOT, "/api/v1/password/forgot", ROUTE_RESEND,
             "/api/v1/accounts/confirmation", false);
    for (int route = 0; route < ROUTES; route++) {
        fprintf(stderr, "%s: every answer \"%s\"\n", s_routes[route], r.first[route]);
        for (int k = 0; k < 2; k++) {
            char what[128];
            snprintf(what, sizeof what, "%s, unknown against %s", s_routes[route], s_kinds[k]);
            TH_CHECK(at_same(what, &r.times[route][2], &r.times[route][k], 0.002));
        }
        for (int k = 0; k < KINDS; k++)
            at_times_free(&r.times[route][k]);
    }
    s_unconfirmed_owner(r.th, base, r.first[ROUTE_LOGIN]);
    gwc_destroy(&r.c);
    return at_end(&r.th, "attack_enumeration", t0);
}
