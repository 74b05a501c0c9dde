/* example_test_slow.c: the runtime's admission of slow work (svc.h, "Slow work") with the
 * example service in-process: a visitor's budget per client address (IPv6 by /64) refused
 * before any hashing, the bound of the queue, and requests whose deadline passed while
 * they waited for a worker dropped unhashed. */
#include <stdio.h>
#include <string.h>
#include "evs_bus.h"
#include "example.h"
#include "example.pb-c.h"
#include "example_test.h"
#include "svc_testcore.h"
#include "svc_testkit.h"

typedef struct {
    volatile int64_t now;
} s_clock_t;

static int64_t s_clock(void *arg)
{
    return ((s_clock_t *) arg)->now;
}

/* Sends SetSecret as a visitor from @p addr without waiting (deadline_us 0: none). */
static void s_send(evs_client_t *c, const char *rid, const char *addr, int64_t deadline_us)
{
    Tp__Example__SetSecret ss = TP__EXAMPLE__SET_SECRET__INIT;
    ss.counter = "s";
    ss.secret = "a secret that is long enough";
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = (char *) rid;
    h.client_addr = (char *) addr;
    h.deadline_us = deadline_us;
    uint8_t body[128], buf[512];
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &h;
    req.command = "example.SetSecret";
    req.body.data = body;
    req.body.len = tp__example__set_secret__pack(&ss, body);
    zmq_send(zsock_resolve(evs_client_sock(c)), buf, tp__request__pack(&req, buf), 0);
}

/* The next reply on @p c (NULL after 10 s): its first error code into @p code ("" when ok)
 * and its message into @p msg. Returns the request id's number after its last '-', or -1. */
static int s_recv(evs_client_t *c, char *code, char *msg)
{
    zsock_set_rcvtimeo(evs_client_sock(c), 10000);
    zmsg_t *m = zmsg_recv(evs_client_sock(c));
    zframe_t *f = m ? zmsg_first(m) : NULL;
    Tp__Reply *r = f ? tp__reply__unpack(NULL, zframe_size(f), zframe_data(f)) : NULL;
    int n = -1;
    if (r) {
        snprintf(code, 32, "%s", r->ok || !r->n_errors ? "" : r->errors[0]->code);
        snprintf(msg, 200, "%s", r->ok || !r->n_errors ? "" : r->errors[0]->message);
        const char *dash = strrchr(r->request_id, '-');
        n = dash ? atoi(dash + 1) : -1;
        tp__reply__free_unpacked(r, NULL);
    }
    zmsg_destroy(&m);
    return n;
}

void example_test_slow(void)
{
    static const char *const instances[] = {"alpha", NULL};
    svc_tk_t *kit = svc_tk_new("svc-slow", instances);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    zconfig_put(cfg, "workers", "1");
    zconfig_put(cfg, "slow_burst", "3");
    zconfig_put(cfg, "slow_per_minute", "1");
    zconfig_put(cfg, "slow_queue_max", "2");
    zconfig_put(cfg, "slow_refusal_delay_ms", "300");
    s_clock_t clock = {1700000000000000};
    svc_args_t args = {&example_def, cfg, "alpha", s_clock, (void *) &clock};
    zactor_t *alpha = svc_tk_start(&args);
    evs_client_t *gw = svc_tk_client(kit, "alpha", ""); /* the gateway, for a visitor */
    evs_client_t *op = svc_tk_client(kit, "alpha", "operator");
    CHECK(alpha && gw && op);
    if (!alpha || !gw || !op)
        goto done;
    char code[32], msg[200], rid[32];

    /* the budget: three from one client address, then "throttled" without hashing,
     * answered slow_refusal_delay_ms late (a flood gets little for its effort); an IPv6
     * host is its /64; another address has its own budget; the operator has none */
    int ok = 0, throttled = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(rid, sizeof rid, "v4-%d", i);
        int64_t sent = zclock_mono();
        s_send(gw, rid, "198.51.100.1", 0);
        s_recv(gw, code, msg);
        ok += !*code;
        throttled += streq(code, "throttled") && zclock_mono() - sent >= 300;
    }
    CHECK(ok == 3 && throttled == 2);
    ok = throttled = 0;
    for (int i = 0; i < 4; i++) {
        char addr[40];
        snprintf(addr, sizeof addr, "2001:db8:5:5::%d", i + 1);
        snprintf(rid, sizeof rid, "v6-%d", i);
        s_send(gw, rid, addr, 0);
        s_recv(gw, code, msg);
        ok += !*code;
        throttled += streq(code, "throttled");
    }
    CHECK(ok == 3 && throttled == 1);
    s_send(gw, "v6-other", "2001:db8:5:6::1", 0);
    s_recv(gw, code, msg);
    CHECK(!*code);
    for (int i = 0; i < 4; i++) {
        snprintf(rid, sizeof rid, "op-%d", i);
        s_send(op, rid, "", 0);
        s_recv(op, code, msg);
        CHECK(!*code);
    }

    /* the queue: one worker, two places; six at once from six addresses: the first two
     * go to the pool, the rest are refused "unavailable" without waiting */
    for (int i = 0; i < 6; i++) {
        char addr[40];
        snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
        snprintf(rid, sizeof rid, "q-%d", i);
        s_send(gw, rid, addr, 0);
    }
    ok = 0;
    int unavailable = 0;
    for (int i = 0; i < 6; i++) {
        s_recv(gw, code, msg);
        ok += !*code;
        unavailable += streq(code, "unavailable");
    }
    CHECK(ok == 2 && unavailable == 4);

    /* deadlines: one request without, queued behind it two whose deadline passes while
     * the worker hashes the first: they come back "deadline" from the pool, unhashed */
    int64_t t0 = clock.now;
    s_send(gw, "d-0", "203.0.113.1", 0);
    s_send(gw, "d-1", "203.0.113.2", t0 + 1000);
    zclock_sleep(30); /* all three are with the pool */
    clock.now = t0 + 2000;
    s_send(gw, "d-2", "203.0.113.3", t0 + 1000); /* read after its deadline: the loop's */
    int pool_deadline = 0, loop_deadline = 0;
    ok = 0;
    for (int i = 0; i < 3; i++) {
        int n = s_recv(gw, code, msg);
        ok += !*code && n == 0;
        pool_deadline += n == 1 && streq(code, "deadline") && strstr(msg, "waited for a worker");
        loop_deadline += n == 2 && streq(code, "deadline") && strstr(msg, "before the request");
    }
    CHECK(ok == 1 && pool_deadline == 1 && loop_deadline == 1);
done:
    zactor_destroy(&alpha);
    svc_tk_destroy(&kit);
}
