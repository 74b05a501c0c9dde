/* fault_commit.c: a service whose data file fails at its Nth write or flush loses
 * nothing it acknowledged. For each kind of call and error (faultinj.c), N over a range,
 * pipelined and not, the example service (increments) and the order service (shops
 * created by an operator) under a pipelined load, a follower of each beside it; then
 * the service is started again without the fault and the invariants checked:
 *   - the log verifies (the hash chain);
 *   - every request a client got an answer for is in the log, and answered again with
 *     the same reply (replayed, the same seq), written once;
 *   - each stream's versions run 1, 2, 3 ... in the log's order;
 *   - the follower's checkpoint of the service never passes the service's head;
 *   - when the fault fired while the service wrote, the service stopped by itself.
 * TP_FAULT_QUICK=1 runs a few cases only (by hand). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "evs.h"
#include "example.pb-c.h"
#include "harness.h"
#include "order.pb-c.h"
#include "pipeline.h"

#define S_REQUESTS 300   /* a load: increments on 16 counters */
#define S_INFLIGHT 8     /* few in flight: many small groups, many commits */

typedef struct {
    const char *op, *err;
    int from, to, step;  /* N over this range */
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

static const char *s_inj;   /* the injector library */

/* Request i of the example service's load: an increment of one of 16 counters. */
static bool s_build_increment(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    char counter[32];
    snprintf(counter, sizeof counter, "f-%d", i % 16);
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = counter;
    inc.by = 1;
    req->command = "example.Increment";
    req->role = "operator";
    req->body_len = tp__example__increment__get_packed_size(&inc);
    return req->body_len <= cap && tp__example__increment__pack(&inc, body);
}

/* Request i of the order service's load: a shop of its own, as an operator creates it. */
static bool s_build_shop(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    char id[32], code[32];
    snprintf(id, sizeof id, "shop-f-%d", i);
    snprintf(code, sizeof code, "FAULT-%d", i);
    Tp__Order__Shop shop = TP__ORDER__SHOP__INIT;
    shop.shop_id = id;
    shop.code = code;
    shop.name = "Fault GmbH";
    Tp__Order__CreateShop cs = TP__ORDER__CREATE_SHOP__INIT;
    cs.shop = &shop;
    req->command = "order.CreateShop";
    req->role = "operator";
    req->body_len = tp__order__create_shop__get_packed_size(&cs);
    return req->body_len <= cap && tp__order__create_shop__pack(&cs, body);
}

/* A service under the fault, and one that follows it. */
typedef struct {
    const char *name;      /* its instance (and key) name */
    const char *follower;  /* a service that follows it */
    pl_build_fn *build;    /* its load's request i */
    const char *const *settings;   /* config pairs for the two, NULL-terminated */
} s_target_t;

static const char *const s_example_settings[] = {"alpha/followers", "beta", "beta/upstreams",
                                                 "alpha", NULL};
static const s_target_t s_targets[] = {
    {"alpha", "beta", s_build_increment, s_example_settings},
    {"order", "identification", s_build_shop, NULL},   /* identification follows order */
};

/* What the load was answered: the seq of each request answered ok (0: none). */
static void s_answered(void *arg, int i, const Tp__Reply *r, int64_t at_us)
{
    if (r->ok)
        ((uint64_t *) arg)[i] = r->last_seq;
}

/* Versions of each stream in @p dir's log run 1, 2, 3 ... in order; the event count. */
static bool s_versions(const char *dir, long *events)
{
    char *out = NULL;
    int rc = th_run(&out, "%s log dump '%s'", th_env("TPCTL"), dir);
    zhashx_t *seen = zhashx_new();
    bool ok = rc == 0;
    *events = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; ok && line; line = strtok(NULL, "\n")) {
        char stream[128], version[32];
        if (!th_json_str(line, "stream", stream, sizeof stream) ||
            !th_json_str(line, "version", version, sizeof version))
            continue;
        (*events)++;
        uintptr_t before = (uintptr_t) zhashx_lookup(seen, stream);
        uintptr_t now = (uintptr_t) strtoull(version, NULL, 10);
        if (now != before + 1) {
            fprintf(stderr, "stream %s: version %lu after %lu\n", stream, (unsigned long) now,
                    (unsigned long) before);
            ok = false;
        }
        zhashx_update(seen, stream, (void *) now);
    }
    zhashx_destroy(&seen);
    free(out);
    return ok;
}

/* The head of the log in @p dir, and @p follower's checkpoint of @p upstream. */
static void s_heads(const char *dir, const char *follower_dir, const char *upstream,
                    uint64_t *head, uint64_t *checkpoint)
{
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *a = NULL, *b = NULL;
    *head = *checkpoint = 0;
    if (evs_open(dir, &ro, &a) == 0)
        evs_head(a, head, NULL);
    if (evs_open(follower_dir, &ro, &b) == 0)
        evs_checkpoint(b, upstream, checkpoint);
    evs_destroy(&a);
    evs_destroy(&b);
}

static int s_fired;   /* cases whose fault fired */

/* One case: the fault at call @p nth of @p t; false when an invariant broke. */
static bool s_run(const s_target_t *t, const s_case_t *c, int nth, bool pipeline)
{
    char what[160];
    snprintf(what, sizeof what, "%s: %s %s at %d (%s)", t->name, c->op, c->err, nth,
             pipeline ? "pipelined" : "unpipelined");
    int failed_before = th_failed;
    th_t *th = th_new("fault");
    th_set(th, "tick_ms", "60000");
    char path[128];
    snprintf(path, sizeof path, "%s/pipeline", t->name);
    th_set(th, path, pipeline ? "1" : "0");
    for (size_t i = 0; t->settings && t->settings[i]; i += 2)
        th_set(th, t->settings[i], t->settings[i + 1]);
    char mark[400], nthbuf[16];
    snprintf(mark, sizeof mark, "%s/fault-fired", th_dir(th));
    snprintf(nthbuf, sizeof nthbuf, "%d", nth);
    /* the fault for the service alone: its environment only */
    setenv("LD_PRELOAD", s_inj, 1);
    setenv("TP_FAULT_OP", c->op, 1);
    setenv("TP_FAULT_ERR", c->err, 1);
    setenv("TP_FAULT_NTH", nthbuf, 1);
    setenv("TP_FAULT_MARK", mark, 1);
    bool up = th_start(th, th_exe_of(t->name), t->name, 10000) > 0;
    unsetenv("LD_PRELOAD");
    unsetenv("TP_FAULT_NTH");
    TH_CHECK(th_start(th, th_exe_of(t->follower), t->follower, 10000) > 0);
    uint64_t *acked_seq = calloc(S_REQUESTS, sizeof *acked_seq);
    uint64_t base = 0;   /* what the service wrote before the load (seeding) */
    if (up) {
        base = th_head(th, t->name);
        char ep[400];
        th_router(th, t->name, ep, sizeof ep);
        pl_load_t l = {.endpoint = ep, .keys_dir = th_keys(th), .me = "operator-test",
                       .server = t->name, .prefix = "f", .count = S_REQUESTS,
                       .inflight = S_INFLIGHT, .timeout_ms = 500, .give_up_ms = 1500,
                       .build = t->build, .on_reply = s_answered, .arg = acked_seq};
        pl_run(&l);
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
    int acked = 0;
    const th_actor_t operator = {"operator", NULL, NULL, NULL};
    for (int i = 0; i < S_REQUESTS; i++) {
        if (!acked_seq[i])
            continue;
        acked++;
        char rid[32];
        uint8_t body[512];
        pl_req_t req = {0};
        snprintf(rid, sizeof rid, "f-%d", i);
        t->build(NULL, i, &req, body, sizeof body);
        Tp__Reply *r = th_call_raw_as(th, t->name, &operator, rid, req.command, body,
                                      req.body_len, 5000);
        bool same = r && r->ok && r->replayed && r->last_seq == acked_seq[i];
        if (!same) {
            fprintf(stderr, "%s: %s was answered with seq %llu, now:\n", what, rid,
                    (unsigned long long) acked_seq[i]);
            th_reply_log(rid, r);
        }
        TH_CHECK(same);
        th_reply_free(&r);
    }
    long events = 0;
    TH_CHECK(s_versions(dir, &events));
    uint64_t head = 0, checkpoint = 0;
    th_stop(th, t->follower, SIGTERM);
    th_stop(th, t->name, SIGTERM);
    s_heads(dir, fdir, t->name, &head, &checkpoint);
    /* each request id at most once: no more events than requests past the seeding
     * (a command writes one event here) */
    TH_CHECK(head <= base + S_REQUESTS);
    if (checkpoint > head)
        fprintf(stderr, "%s: the follower's checkpoint %llu passes the head %llu\n", what,
                (unsigned long long) checkpoint, (unsigned long long) head);
    TH_CHECK(checkpoint <= head);
    if (getenv("TP_FAULT_VERBOSE") || th_failed != failed_before)
        fprintf(stderr, "%s: fired %d, %d acknowledged, %ld events, head %llu\n", what, fired,
                acked, events, (unsigned long long) head);
    free(acked_seq);
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
    for (size_t t = 0; t < sizeof s_targets / sizeof s_targets[0]; t++)
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++)
                for (int n = s_cases[i].from; n <= s_cases[i].to; n += s_cases[i].step) {
                    /* the order service: every other N (its commits are alike) */
                    if ((quick && n != s_cases[i].from) ||
                        (t > 0 && (n - s_cases[i].from) / s_cases[i].step % 2))
                        continue;
                    runs++;
                    broke += !s_run(&s_targets[t], &s_cases[i], n, p == 0);
                }
    /* an injector that never fires proves nothing (not loaded, or matching no call) */
    if (s_fired < runs / 2)
        fprintf(stderr, "fault_commit: the fault fired in %d of %d cases only\n", s_fired, runs);
    TH_CHECK(s_fired >= runs / 2);
    printf("fault_commit: %d cases, the fault fired in %d, %d broke an invariant: %s\n", runs,
           s_fired, broke, th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
