/* gateway_proxy.c: the client address the gateway hands to the services (and so to
 * throttling and evidence): the TCP peer, or behind the configured trusted proxy the
 * last X-Forwarded-For entry; a forged header from anywhere else changes nothing. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "account.pb-c.h"
#include "gw_client.h"
#include "harness.h"
#include "logcheck.h"

typedef struct {
    char last[64];   /* client_addr of the newest LoginFailed */
    int n;
} s_fails_t;

static void s_fail(const Tp__Envelope *env, void *arg)
{
    s_fails_t *f = arg;
    if (strcmp(env->event_type, "LoginFailed") != 0)
        return;
    Tp__Account__LoginFailed *e =
        tp__account__login_failed__unpack(NULL, env->payload.len, env->payload.data);
    if (!e)
        return;
    snprintf(f->last, sizeof f->last, "%s", e->client_addr);
    f->n++;
    tp__account__login_failed__free_unpacked(e, NULL);
}

/* One failed login with @p xff as X-Forwarded-For; the address the account service
 * recorded for it. */
static void s_login_as(th_t *th, const char *base, const char *xff, int n_before, char *out,
                       size_t outsz)
{
    gwc_t *c = gwc_new(base);
    char header[200];
    snprintf(header, sizeof header, "X-Forwarded-For: %s", xff);
    const char *extra[] = {header, NULL};
    gwc_resp_t r;
    long status = gwc_req(c, "POST", "/api/v1/session",
                          "{\"email\":\"nobody@example.org\",\"password\":\"not the password\"}",
                          extra, &r);
    TH_CHECK(status == 401);
    gwc_resp_free(&r);
    gwc_destroy(&c);
    char dir[512];
    th_data_dir(th, "account", dir, sizeof dir);
    s_fails_t f = {"", 0};
    for (int i = 0; i < 50 && f.n <= n_before; i++) {
        f.n = 0;
        lc_each(dir, s_fail, &f);
        if (f.n <= n_before)
            zclock_sleep(50);
    }
    TH_CHECK(f.n == n_before + 1);
    snprintf(out, outsz, "%s", f.last);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    th_t *th = th_new("gwproxy");
    th_set(th, "tick_ms", "200");
    TH_CHECK(th_start(th, th_env("TP_ACCOUNT"), "account", 10000) > 0);
    char base[64], addr[64];

    /* no trusted proxy: the header is ignored, the peer is recorded */
    TH_CHECK(gwc_start_gateway(th, "account", base, sizeof base));
    s_login_as(th, base, "203.0.113.7", 0, addr, sizeof addr);
    TH_CHECK(streq(addr, "127.0.0.1"));
    th_stop(th, "gateway", SIGTERM);

    /* behind the trusted proxy: its last entry is the client */
    th_set(th, "gateway/trusted_proxy", "127.0.0.1");
    TH_CHECK(gwc_start_gateway(th, "account", base, sizeof base));
    s_login_as(th, base, "198.51.100.1, 203.0.113.9", 1, addr, sizeof addr);
    TH_CHECK(streq(addr, "203.0.113.9"));
    s_login_as(th, base, "2001:db8::5", 2, addr, sizeof addr);
    TH_CHECK(streq(addr, "2001:db8::5"));
    /* what is not an address leaves the peer */
    s_login_as(th, base, "203.0.113.9, not-an-address", 3, addr, sizeof addr);
    TH_CHECK(streq(addr, "127.0.0.1"));
    th_stop(th, "gateway", SIGTERM);

    /* a proxy elsewhere: requests from here are not its, the header is ignored */
    th_set(th, "gateway/trusted_proxy", "192.0.2.1");
    TH_CHECK(gwc_start_gateway(th, "account", base, sizeof base));
    s_login_as(th, base, "203.0.113.7", 4, addr, sizeof addr);
    TH_CHECK(streq(addr, "127.0.0.1"));

    th_destroy(&th);
    printf("gateway_proxy: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
