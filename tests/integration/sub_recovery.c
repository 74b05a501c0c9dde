/* sub_recovery.c: subscribers that lose messages or die keep exactly one copy of
 * every upstream event. alpha takes load; beta follows it and is killed with SIGKILL
 * and restarted mid-stream; gamma follows it behind a tiny high-water mark and drops.
 * Both end equal to a full replay of their own log, with no gap and no duplicate. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "example.pb-c.h"
#include "harness.h"
#include "logcheck.h"

#define N_CLIENTS 4
#define PER_CLIENT 6000
#define TOTAL (N_CLIENTS * PER_CLIENT)

typedef struct {
    uint8_t *seen;        /* per alpha seq: times seen */
    uint64_t max_seq;
    int64_t dups, count;
} s_mirror_t;

static void s_upstream_seen(const Tp__Envelope *env, void *arg)
{
    s_mirror_t *m = arg;
    if (strcmp(env->event_type, "UpstreamSeen") != 0)
        return;
    Tp__Example__UpstreamSeen *e =
        tp__example__upstream_seen__unpack(NULL, env->payload.len, env->payload.data);
    if (!e)
        return;
    if (e->upstream_seq <= m->max_seq) {
        if (m->seen[e->upstream_seq]++)
            m->dups++;
        m->count++;
    }
    tp__example__upstream_seen__free_unpacked(e, NULL);
}

typedef struct {
    uint8_t *is_inc;      /* per alpha seq: a CounterIncremented */
    uint64_t max_seq;
    int64_t count;
} s_origin_t;

static void s_origin(const Tp__Envelope *env, void *arg)
{
    s_origin_t *o = arg;
    if (strcmp(env->event_type, "CounterIncremented") == 0 && env->seq <= o->max_seq) {
        o->is_inc[env->seq] = 1;
        o->count++;
    }
}

static bool s_wait_seen(th_t *th, const char *name, int want, int timeout_ms)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"upstreamSeen\":%d,", want);
    int64_t deadline = zclock_mono() + timeout_ms;
    while (zclock_mono() < deadline) {
        char *s = th_summary(th, name);
        bool ok = s && strstr(s, pat);
        free(s);
        if (ok)
            return true;
        zclock_sleep(100);
    }
    return false;
}

/* The live state (summary digest) equals a full replay of the log by tpctl. */
static void s_check_replay(th_t *th, const char *name)
{
    char dir[512], live_digest[80] = "", replay_digest[80] = "";
    th_data_dir(th, name, dir, sizeof dir);
    char *live = th_summary(th, name);
    char *out = NULL;
    int rc = th_run(&out, "%s log replay '%s'", th_env("TPCTL"), dir);
    TH_CHECK(rc == 0);
    TH_CHECK(live && th_json_str(live, "digest", live_digest, sizeof live_digest));
    TH_CHECK(out && th_json_str(out, "digest", replay_digest, sizeof replay_digest));
    TH_CHECK(live_digest[0] && strcmp(live_digest, replay_digest) == 0);
    rc = th_run(NULL, "%s log verify '%s' >/dev/null", th_env("TPCTL"), dir);
    TH_CHECK(rc == 0);
    free(live);
    free(out);
}

static void s_check_mirror(th_t *th, const char *name, const s_origin_t *o)
{
    char dir[512];
    th_data_dir(th, name, dir, sizeof dir);
    s_mirror_t m = {calloc(o->max_seq + 1, 1), o->max_seq, 0, 0};
    TH_CHECK(lc_each(dir, s_upstream_seen, &m) > 0);
    int64_t missing = 0;
    for (uint64_t s = 1; s <= o->max_seq; s++)
        if (o->is_inc[s] && m.seen[s] != 1)
            missing++;
    fprintf(stderr, "%s: %ld upstream events mirrored, %ld duplicates, %ld missing\n", name,
            (long) m.count, (long) m.dups, (long) missing);
    TH_CHECK(m.count == o->count && m.dups == 0 && missing == 0);
    free(m.seen);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const char *exe = th_env("TP_EXAMPLE");
    th_t *th = th_new("subrec");
    th_set(th, "beta/upstreams", "alpha");
    th_set(th, "gamma/upstreams", "alpha");
    th_set(th, "alpha/followers", "beta,gamma");   /* only they may read alpha */
    th_set(th, "gamma/sub_hwm", "1");   /* gamma's queue holds one message: it drops */
    th_set(th, "alpha/pub_hwm", "1");
    th_set(th, "tick_ms", "60000");
    TH_CHECK(th_start(th, exe, "alpha", 10000) > 0);
    TH_CHECK(th_start(th, exe, "beta", 10000) > 0);
    TH_CHECK(th_start(th, exe, "gamma", 10000) > 0);

    char ep[400];
    th_router(th, "alpha", ep, sizeof ep);
    th_load_t loads[N_CLIENTS];
    pthread_t threads[N_CLIENTS];
    char prefixes[N_CLIENTS][16];
    for (int i = 0; i < N_CLIENTS; i++) {
        snprintf(prefixes[i], sizeof prefixes[i], "c%d", i);
        loads[i] = (th_load_t) {ep, prefixes[i], PER_CLIENT, 64, 3000, 120000,
                                calloc(PER_CLIENT, sizeof(uint64_t)), 0, 0, 0, 0};
        TH_CHECK(th_load_keys(&loads[i], th_keys(th), "alpha") == 0);
        pthread_create(&threads[i], NULL, th_load_run, &loads[i]);
    }
    /* kill beta with SIGKILL a third of the way in, restart it shortly after */
    while (loads[0].acked < PER_CLIENT / 3)
        zclock_sleep(5);
    th_stop(th, "beta", SIGKILL);
    zclock_sleep(300);
    TH_CHECK(th_start(th, exe, "beta", 10000) > 0);
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_join(threads[i], NULL);
    int acked = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        acked += loads[i].acked - loads[i].refused;
        free(loads[i].acked_seq);
    }
    TH_CHECK(acked == TOTAL);

    TH_CHECK(s_wait_seen(th, "beta", TOTAL, 60000));
    TH_CHECK(s_wait_seen(th, "gamma", TOTAL, 60000));

    char dir[512];
    th_data_dir(th, "alpha", dir, sizeof dir);
    s_origin_t o = {calloc(TOTAL * 2 + 16, 1), TOTAL * 2 + 15, 0};
    TH_CHECK(lc_each(dir, s_origin, &o) >= TOTAL);
    TH_CHECK(o.count == TOTAL);
    s_check_mirror(th, "beta", &o);
    s_check_mirror(th, "gamma", &o);
    s_check_replay(th, "alpha");
    s_check_replay(th, "beta");
    s_check_replay(th, "gamma");
    free(o.is_inc);

    /* gamma really dropped: its subscriber saw gaps and filled them by reading */
    th_stop(th, "gamma", SIGTERM);
    char *log = NULL;
    th_run(&log, "grep -o 'followed alpha[^\\n]*' '%s/logs/gamma.log'", th_dir(th));
    char gaps[32] = "";
    const char *g = log ? strstr(log, "gaps=") : NULL;
    if (g)
        sscanf(g, "gaps=%31[0-9]", gaps);
    fprintf(stderr, "gamma: %s", log ? log : "(no log line)\n");
    TH_CHECK(g && atol(gaps) > 0);
    free(log);

    th_destroy(&th);
    printf("sub_recovery: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
