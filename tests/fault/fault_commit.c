/* fault_commit.c: a service whose data file fails at its Nth write or flush loses
 * nothing it acknowledged. For each kind of call and error (faultinj.c), N over a range,
 * pipelined and not, the example service (increments) and the order service (shops
 * created by an operator) under a pipelined load, a follower of each beside it; then
 * the service is started again without the fault and the invariants checked
 * (faultcheck.h, shared with the power-cut test):
 *   - the log verifies (the hash chain);
 *   - every request a client got an answer for is in the log, kept with the reply it got,
 *     and answered again with it (replayed, the same seq and body), written once;
 *   - each stream's versions run 1, 2, 3 ... in the log's order;
 *   - the follower's checkpoint of the service never passes the service's head;
 *   - when the fault fired while the service wrote, the service stopped by itself.
 * TP_FAULT_QUICK=1 runs a few cases only (by hand). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "faultcheck.h"
#include "harness.h"

typedef struct {
    const char *op, *err;
    int from, to, step; /* N over this range */
} s_case_t;

/* LMDB flushes with fdatasync (data) and writes its meta page with pwrite on a second,
 * O_DSYNC descriptor; pages go out with pwrite or lseek + writev. A commit makes one
 * flush and a few writes, so these ranges cover the open, the first commits and commits
 * under load (the load below makes some 20 commits). */
static const s_case_t s_cases[] = {
    {"fdatasync", "EIO", 1, 8, 1},  {"fdatasync", "ENOSPC", 3, 6, 3}, {"pwrite", "EIO", 2, 14, 2},
    {"pwrite", "ENOSPC", 5, 11, 6}, {"pwrite", "short", 3, 13, 2},    {"writev", "EIO", 1, 5, 1},
    {"writev", "short", 2, 4, 2},
};

static const char *s_inj; /* the injector library */

static int s_fired; /* cases whose fault fired */

/* One case: the fault at call @p nth of @p t; false when an invariant broke. */
static bool s_run(const fc_target_t *t, const s_case_t *c, int nth, bool pipeline)
{
    char what[160];
    snprintf(what, sizeof what, "%s: %s %s at %d (%s)", t->name, c->op, c->err, nth,
             pipeline ? "pipelined" : "unpipelined");
    int failed_before = th_failed;
    th_t *th = th_new("fault");
    fc_configure(th, t, pipeline);
    char mark[400], nthbuf[16], file[200];
    snprintf(mark, sizeof mark, "%s/fault-fired", th_dir(th));
    snprintf(nthbuf, sizeof nthbuf, "%d", nth);
    /* the log's file, not its key store's (vault/data.mdb: fault_vault's) */
    snprintf(file, sizeof file, "/%s/data.mdb", t->name);
    /* the fault for the service alone: its environment only */
    setenv("LD_PRELOAD", s_inj, 1);
    setenv("TP_FAULT_FILE", file, 1);
    setenv("TP_FAULT_OP", c->op, 1);
    setenv("TP_FAULT_ERR", c->err, 1);
    setenv("TP_FAULT_NTH", nthbuf, 1);
    setenv("TP_FAULT_MARK", mark, 1);
    bool up = th_start(th, th_exe_of(t->name), t->name, 10000) > 0;
    unsetenv("LD_PRELOAD");
    unsetenv("TP_FAULT_NTH");
    unsetenv("TP_FAULT_FILE");
    TH_CHECK(th_start(th, th_exe_of(t->follower), t->follower, 10000) > 0);
    fc_ack_t *acks = NULL;
    uint64_t base = 0; /* what the service wrote before the load (seeding) */
    if (up) {
        base = th_head(th, t->name);
        acks = fc_load(th, t, 1500);
    }
    struct stat st;
    bool fired = stat(mark, &st) == 0;
    s_fired += fired;
    /* a fault while it wrote: the service must have stopped by itself (a commit that
     * fails is never acknowledged, and the process exits for its supervisor) */
    bool alive = th_running(th, t->name);
    if (fired && up && alive) {
        fprintf(stderr, "%s: the fault fired and the service still runs\n", what);
        TH_CHECK(!alive);
    }
    th_stop(th, t->name, SIGKILL);
    /* again, without the fault */
    TH_CHECK(th_start(th, th_exe_of(t->name), t->name, 10000) > 0);
    char dir[400], fdir[400];
    th_data_dir(th, t->name, dir, sizeof dir);
    th_data_dir(th, t->follower, fdir, sizeof fdir);
    char *out = NULL;
    int rc = th_run(&out, "%s log verify '%s' 2>&1", th_env("TPCTL"), dir);
    if (rc != 0)
        fprintf(stderr, "%s: tpctl log verify: %s\n", what, out ? out : "");
    TH_CHECK(rc == 0);
    free(out);
    int acked = acks ? fc_acked(acks, INT64_MAX) : 0;
    if (acks)
        TH_CHECK(fc_resend(th, t, acks, INT64_MAX, what));
    long events = 0;
    TH_CHECK(fc_versions(dir, &events, what));
    TH_CHECK(fc_requests(dir, acks, INT64_MAX, what));
    uint64_t head = 0, checkpoint = 0;
    th_stop(th, t->follower, SIGTERM);
    th_stop(th, t->name, SIGTERM);
    fc_heads(dir, fdir, t->name, &head, &checkpoint);
    /* each request id at most once: no more events than requests past the seeding
     * (a command writes one event here) */
    TH_CHECK(head <= base + FC_REQUESTS);
    if (checkpoint > head)
        fprintf(stderr, "%s: the follower's checkpoint %llu passes the head %llu\n", what,
                (unsigned long long) checkpoint, (unsigned long long) head);
    TH_CHECK(checkpoint <= head);
    if (getenv("TP_FAULT_VERBOSE") || th_failed != failed_before)
        fprintf(stderr, "%s: fired %d, %d acknowledged, %ld events, head %llu\n", what, fired,
                acked, events, (unsigned long long) head);
    fc_acks_destroy(&acks);
    th_destroy(&th);
    return th_failed == failed_before;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    s_inj = th_env("TP_FAULTINJ");
    bool quick = getenv("TP_FAULT_QUICK") != NULL;
    int runs = 0, broke = 0;
    for (size_t t = 0; t < sizeof fc_targets / sizeof fc_targets[0]; t++)
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++)
                for (int n = s_cases[i].from; n <= s_cases[i].to; n += s_cases[i].step) {
                    /* the order service: every other N (its commits are alike) */
                    if ((quick && n != s_cases[i].from) ||
                        (t > 0 && (n - s_cases[i].from) / s_cases[i].step % 2))
                        continue;
                    runs++;
                    broke += !s_run(&fc_targets[t], &s_cases[i], n, p == 0);
                }
    /* an injector that never fires proves nothing (not loaded, or matching no call) */
    if (s_fired < runs / 2)
        fprintf(stderr, "fault_commit: the fault fired in %d of %d cases only\n", s_fired, runs);
    TH_CHECK(s_fired >= runs / 2);
    printf("fault_commit: %d cases, the fault fired in %d, %d broke an invariant: %s\n", runs,
           s_fired, broke, th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
