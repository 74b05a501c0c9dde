/* svc_failover.c: one service (tp-example, instance alpha) as two instances on two hosts of
 * a three-node JetStream cluster (store = jetstream): one active, one standby.
 *
 *  - Under load (one client sending Increment after Increment, each with its own request
 *    id, to both instances: evs_client sends a command again, with the same id, to the
 *    next instance when one answers "not_active" or not at all), the active instance is
 *    killed (SIGKILL): the standby takes over; the time from the kill to the next
 *    acknowledged command is printed and must stay under 5 s. Every command acknowledged
 *    is in the log once: the counter ends at exactly the number of request ids sent, and
 *    retried request ids are answered from what was kept, not counted again.
 *  - The killed instance, started again, is a standby: a command (or a query) sent to it
 *    alone is answered "not_active", and its local copy follows the stream to the active's
 *    head.
 *  - Fencing: the active instance is stopped (SIGSTOP) past its lease; the standby takes
 *    over and writes; the stopped one, continued, writes nothing more (its lease ran out:
 *    it steps down and starts again as a standby), and both local copies end with the same
 *    head (seq and hash) as the stream.
 *  - The nats-server node that leads the service's stream killed (SIGKILL) under load:
 *    commands wait for the election of another leader (printed), then go on, and the
 *    counter still equals the commands acknowledged. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster_hosts.h"
#include "example.pb-c.h"

#define S_TTL_MS 3000
#define S_TAKEOVER_MAX_MS 5000

typedef struct {
    tc_hosts_t *hosts;
    evs_client_t *client;   /* connected to both instances */
    int next;               /* request ids r<next> not sent yet */
    int64_t value;          /* the counter after the last acknowledged command */
} s_load_t;

/* Sends Increment r<next> (by 1) until it is acknowledged or @p timeout_ms passed; the
 * client sends it again, with the same id, to the other instance meanwhile. */
static bool s_one(s_load_t *l, int timeout_ms)
{
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "c";
    inc.by = 1;
    char rid[32];
    snprintf(rid, sizeof rid, "r%d", l->next);
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = rid;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (zclock_mono() < deadline) {
        Tp__Reply *r = NULL;
        if (evs_client_call(l->client, &h, "example.Increment", &inc.base, 2000, &r) == 0 &&
            r->ok) {
            Tp__Example__CounterValue *cv =
                tp__example__counter_value__unpack(NULL, r->body.len, r->body.data);
            if (cv)
                l->value = cv->value;
            tp__example__counter_value__free_unpacked(cv, NULL);
            th_reply_free(&r);
            l->next++;
            return true;
        }
        th_reply_free(&r);
    }
    return false;
}

/* A command to instance @p h alone: its error code, or "" when it was done, or "-" when
 * it did not answer. */
static void s_direct(tc_hosts_t *hs, int h, const char *rid, char *code, size_t codesz)
{
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "c";
    inc.by = 1;
    Tp__Reply *r = tc_call_at(hs, h, "alpha", rid, "example.Increment", &inc.base, 3000);
    snprintf(code, codesz, "%s", !r ? "-" : r->ok ? "" : r->n_errors ? r->errors[0]->code : "?");
    th_reply_free(&r);
}

int main(void)
{
    th_t *th = NULL;
    tc_cluster_t *cl = tc_cluster_up("cl_svc_failover", &th);
    if (!cl)
        return 1;
    tc_hosts_t hs;
    const char *const services[] = {"alpha", NULL};
    TH_CHECK(tc_hosts_init(&hs, cl, th, services, S_TTL_MS) == 0);
    const char *exe = th_env("TP_EXAMPLE");
    TH_CHECK(th_start(hs.host[0], exe, "alpha", 30000) > 0);
    TH_CHECK(tc_start(&hs, 1, exe, "alpha", 30000) > 0);
    int a = tc_wait_active(&hs, "alpha", 10000);
    TH_CHECK(a >= 0);
    if (a < 0)
        goto done;
    int b = 1 - a;
    char role[16];
    tc_role(&hs, b, "alpha", role, sizeof role, NULL, 1000);
    TH_CHECK(strcmp(role, "standby") == 0);
    printf("h%d is active, h%d standby\n", a + 1, b + 1);

    /* a client of both instances, as the gateway and tpctl are */
    char eps[1024];
    snprintf(eps, sizeof eps, "ipc://%s/run/alpha.router,ipc://%s/run/alpha.router",
             th_dir(hs.host[0]), th_dir(hs.host[1]));
    s_load_t load = {&hs, evs_client_new_keyed(eps, th_keys(th), "operator-test", "alpha"), 0, 0};
    TH_CHECK(load.client);
    for (int i = 0; i < 200 && load.client; i++)
        TH_CHECK(s_one(&load, 10000));
    TH_CHECK(load.value == load.next);
    char code[64];
    s_direct(&hs, b, "direct-1", code, sizeof code);
    printf("a command to the standby alone: %s\n", code);
    TH_CHECK(strcmp(code, "not_active") == 0);

    /* the active one killed under load */
    th_stop(hs.host[a], "alpha", SIGKILL);
    int64_t t_kill = zclock_mono();
    TH_CHECK(s_one(&load, 20000));
    int64_t takeover = zclock_mono() - t_kill;
    printf("SIGKILL of h%d: the next command acknowledged after %" PRId64 " ms (by h%d)\n",
           a + 1, takeover, b + 1);
    TH_CHECK(takeover < S_TAKEOVER_MAX_MS);
    TH_CHECK(tc_active(&hs, "alpha") == b);
    for (int i = 0; i < 100; i++)
        TH_CHECK(s_one(&load, 10000));
    printf("%d commands acknowledged, counter %" PRId64 "\n", load.next, load.value);
    TH_CHECK(load.value == load.next);   /* none lost, none doubled */

    /* retried request ids: answered from what was kept, not counted again */
    int sent = load.next;
    for (int i = 195; i < 205; i++) {
        load.next = i;
        TH_CHECK(s_one(&load, 10000));
    }
    load.next = sent;
    TH_CHECK(tc_counter(&hs, b, "alpha", "c") == sent);

    /* the killed one, started again: a standby that follows */
    TH_CHECK(tc_start(&hs, a, exe, "alpha", 30000) > 0);
    tc_role(&hs, a, "alpha", role, sizeof role, NULL, 1000);
    printf("h%d started again: %s\n", a + 1, role);
    TH_CHECK(strcmp(role, "standby") == 0);
    s_direct(&hs, a, "direct-2", code, sizeof code);
    TH_CHECK(strcmp(code, "not_active") == 0);
    uint64_t head_seq = 0;
    tc_role(&hs, b, "alpha", role, sizeof role, &head_seq, 1000);
    TH_CHECK(tc_wait_caught_up(&hs, a, "alpha", head_seq, 10000));
    /* a read too goes to the active instance: a standby answers "$status" alone */
    TH_CHECK(tc_counter(&hs, a, "alpha", "c") == -1 && tc_counter(&hs, b, "alpha", "c") == sent);

    /* fencing: the active one paused past its lease */
    th_signal(hs.host[b], "alpha", SIGSTOP);
    int64_t t_stop = zclock_mono();
    TH_CHECK(s_one(&load, 20000));
    printf("SIGSTOP of h%d: the next command acknowledged after %" PRId64 " ms (by h%d)\n",
           b + 1, zclock_mono() - t_stop, a + 1);
    for (int i = 0; i < 50; i++)
        TH_CHECK(s_one(&load, 10000));
    th_signal(hs.host[b], "alpha", SIGCONT);
    /* it learns that its lease is gone, steps down and comes back as a standby */
    int64_t deadline = zclock_mono() + 15000;
    do {
        zclock_sleep(100);
        tc_role(&hs, b, "alpha", role, sizeof role, NULL, 500);
    } while (strcmp(role, "standby") != 0 && zclock_mono() < deadline);
    printf("h%d continued: %s\n", b + 1, role);
    TH_CHECK(strcmp(role, "standby") == 0);
    TH_CHECK(tc_active(&hs, "alpha") == a);
    for (int i = 0; i < 20; i++)
        TH_CHECK(s_one(&load, 10000));
    TH_CHECK(load.value == load.next);
    tc_role(&hs, a, "alpha", role, sizeof role, &head_seq, 1000);
    TH_CHECK(tc_wait_caught_up(&hs, b, "alpha", head_seq, 10000));
    TH_CHECK(tc_counter(&hs, a, "alpha", "c") == load.next);
    uint64_t ha = 0, hb = 0;
    tc_status(&hs, a, "alpha", role, sizeof role, NULL, &ha, 1000);
    tc_status(&hs, b, "alpha", role, sizeof role, NULL, &hb, 1000);
    printf("heads: h%d %" PRIu64 ", h%d %" PRIu64 "\n", a + 1, ha, b + 1, hb);
    TH_CHECK(ha == hb && ha > 0);

    /* the nats-server node that leads the stream killed under load: appends wait for the
     * election of another leader, then go on; nothing acknowledged is lost */
    evs_js_t *js = tc_connect(cl, NULL, "checker");
    evs_js_log_t *log = NULL;
    evs_js_info_t info = {0};
    TH_CHECK(js && evs_js_log_open(js, "alpha", 0, &log) == 0 &&
             evs_js_log_info(log, &info) == 0);
    int node = tc_cluster_node(cl, info.leader);
    TH_CHECK(node >= 0);
    if (node >= 0) {
        tc_cluster_stop(cl, node, SIGKILL);
        int64_t t_node = zclock_mono();
        TH_CHECK(s_one(&load, 30000));
        printf("SIGKILL of nats node %s (the stream's leader): the next command acknowledged "
               "after %" PRId64 " ms\n",
               info.leader, zclock_mono() - t_node);
        for (int i = 0; i < 50; i++)
            TH_CHECK(s_one(&load, 20000));
        int now_active = tc_wait_active(&hs, "alpha", 10000);
        TH_CHECK(now_active >= 0 && tc_counter(&hs, now_active, "alpha", "c") == load.next);
        printf("%d commands acknowledged, counter %" PRId64 "\n", load.next, load.value);
        TH_CHECK(load.value == load.next);
        TH_CHECK(tc_cluster_start(cl, node, 10000));
    }
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
    evs_client_destroy(&load.client);
done:
    tc_hosts_destroy(&hs);
    return tc_cluster_down(&cl, &th);
}
