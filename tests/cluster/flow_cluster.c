/* flow_cluster.c: the production flow (tests/integration/prodflow.h) end to end on a
 * three-node JetStream cluster, every one of the five services as two instances on two
 * hosts (cluster_hosts.h), twice: once untouched, once with the ACTIVE instance of a
 * service killed (SIGKILL) after every step (the five in turn) and started again at once.
 * After each kill the other instance must be active within 5 s (the time is printed), and
 * the killed one comes back as a standby. Both runs must end in the same state, every log
 * (the first host's local copies) verifying, replaying to its live state and holding each
 * once-per-order event exactly once: nothing acknowledged lost, nothing twice. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster_hosts.h"
#include "prodflow.h"

#define S_TAKEOVER_MAX_MS 5000

typedef struct {
    tc_cluster_t *cluster;
    tc_hosts_t hosts;
    bool chaos;
    int steps;
    int64_t worst_ms;
} s_run_t;

/* Before the daemons of the first host start: the cluster in its folder, the second host
 * beside it with the same settings, its producers' endpoint on a port of its own, its
 * mails into the first host's outbox (where the flow reads them), its five daemons. */
static bool s_before_start(pf_t *pf)
{
    s_run_t *r = pf->arg;
    r->cluster = tc_cluster_new(pf->th, 30000);
    if (!r->cluster ||
        tc_hosts_init(&r->hosts, r->cluster, pf->th, pf_services, 3000) != 0)
        return false;
    th_t *h2 = r->hosts.host[1];
    th_set(h2, "tick_ms", "200");   /* as fl_configure() sets the first host */
    char path[600];
    snprintf(path, sizeof path, "%s/outbox", th_dir(pf->th));
    th_set(h2, "account/outbox", path);
    th_set(h2, "outbox", path);
    th_set(h2, "production/activation_delay_s", PF_ACTIVATION_S);
    th_set(h2, "revocation/processing_delay_s", PF_PROCESSING_S);
    th_set(h2, "tpctl/as_producer", PF_LINE_KEY + strlen("producer-"));
    int port = th_free_port();
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    th_set(h2, "production/producer", ep);
    size_t n = strlen(pf->producer_ep);
    snprintf(pf->producer_ep + n, sizeof pf->producer_ep - n, ",%s", ep);
    for (size_t i = 0; i < 5; i++)
        if (tc_start(&r->hosts, 1, th_exe_of(pf_services[i]), pf_services[i], 30000) <= 0) {
            fprintf(stderr, "flow_cluster: %s did not come up on h2\n", pf_services[i]);
            return false;
        }
    return true;
}

/* After a step: the active instance of the next service killed; the other takes over;
 * the killed one started again, a standby. */
static void s_kill_active(pf_t *pf, const char *step)
{
    s_run_t *r = pf->arg;
    if (!r->chaos)
        return;
    const char *name = pf_services[r->steps++ % 5];
    int a = tc_active(&r->hosts, name);
    TH_CHECK(a >= 0);
    if (a < 0)
        return;
    th_stop(r->hosts.host[a], name, SIGKILL);
    int64_t t0 = zclock_mono();
    int b = tc_wait_active(&r->hosts, name, 15000);
    int64_t took = zclock_mono() - t0;
    fprintf(stderr, "step %-22s killed %s on h%d: h%d active after %" PRId64 " ms\n", step,
            name, a + 1, b + 1, took);
    TH_CHECK(b == 1 - a);
    TH_CHECK(took < S_TAKEOVER_MAX_MS);
    if (took > r->worst_ms)
        r->worst_ms = took;
    TH_CHECK(tc_start(&r->hosts, a, th_exe_of(name), name, 30000) > 0);
    char role[16];
    tc_role(&r->hosts, a, name, role, sizeof role, NULL, 2000);
    TH_CHECK(strcmp(role, "standby") == 0);
}

static char *s_run(const char *name, bool chaos)
{
    s_run_t r = {0};
    r.chaos = chaos;
    pf_t pf = {0};
    pf.arg = &r;
    pf.before_start = s_before_start;
    pf.after_step = s_kill_active;
    pf.crash = chaos;
    char *state = NULL;
    bool ok = pf_setup(&pf, name) && pf_run(&pf);
    TH_CHECK(ok);
    if (ok) {
        state = pf_end_state(&pf);
        pf_check_logs(&pf);
    }
    if (chaos)
        printf("%d active instances killed; the slowest takeover %" PRId64 " ms\n", r.steps,
               r.worst_ms);
    tc_hosts_destroy(&r.hosts);
    tc_cluster_destroy(&r.cluster);
    th_destroy(&pf.th);
    return state;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    char *calm = s_run("cl_flow_calm", false);
    printf("the flow on the cluster: %s (%.1f s)\n", calm ? "done" : "FAILED",
           (double) (zclock_mono() - t0) / 1000.0);
    char *chaos = calm ? s_run("cl_flow_chaos", true) : NULL;
    TH_CHECK(calm && chaos);
    if (calm && chaos && strcmp(calm, chaos) != 0) {
        fprintf(stderr, "end states differ\n--- untouched:\n%s--- with kills:\n%s", calm, chaos);
        TH_CHECK(false);
    }
    free(calm);
    free(chaos);
    printf("flow_cluster: %s in %.1f s\n", th_failed ? "FAILED" : "passed",
           (double) (zclock_mono() - t0) / 1000.0);
    return th_failed ? 1 : 0;
}
