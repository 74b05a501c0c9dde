/* js_lease.c: the one-writer lease (eventstore/evs_js.h) on three real nats-server nodes:
 * taken by one instance and refused to another; kept alive by renewals past its TTL; taken
 * over once the holder stops renewing and the bucket's max age passes (timed); given up
 * and taken at once; the key-value compare-and-set raced by two writers, to show what
 * nats-server issue 4320 leaves open before 2.9.21; and two instances racing for a
 * released lease, which the lease fences all the same. */
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>
#include "cluster.h"

#define S_TTL_MS 2000

static void s_basics(evs_js_t *js, evs_js_lease_t *a, evs_js_lease_t *b)
{
    char who[EVS_JS_MAX_NAME + 1];
    evs_js_lease_t *x = NULL;
    TH_CHECK(evs_js_lease_new(js, "alpha", "inst-x", S_TTL_MS + 1000, &x) == EVS_MISMATCH);
    printf("a bucket with another max age: %s\n", evs_js_error());
    TH_CHECK(evs_js_lease_new(js, "Alpha", "inst-x", S_TTL_MS, &x) == EVS_INVALID);
    TH_CHECK(evs_js_lease_new(js, "alpha", "inst:x", S_TTL_MS, &x) == EVS_INVALID && !x);
    TH_CHECK(evs_js_lease_renew(a) == EVS_INVALID && evs_js_lease_release(a) == EVS_INVALID);

    TH_CHECK(evs_js_lease_holder(b, who, NULL) == EVS_NOTFOUND);
    TH_CHECK(evs_js_lease_acquire(a) == 0 && evs_js_lease_held(a));
    TH_CHECK(evs_js_lease_acquire(b) == EVS_CONFLICT && !evs_js_lease_held(b));
    uint64_t rev = 0;
    TH_CHECK(evs_js_lease_holder(b, who, &rev) == 0 && strcmp(who, "inst-a") == 0 && rev > 0);
    TH_CHECK(evs_js_lease_acquire(a) == EVS_CONFLICT); /* our own id, not our revision */
    /* a watch starts with the key as it is */
    TH_CHECK(evs_js_lease_watch(b, 2000, who) == 0 && strcmp(who, "inst-a") == 0);
    printf("inst-a holds the lease (revision %" PRIu64 "); inst-b is refused\n", rev);
}

/* The holder renews every 500 ms for longer than the TTL: the other never gets it, and sees
 * each renewal. */
static void s_renewals(evs_js_lease_t *a, evs_js_lease_t *b, int64_t *last_renewal)
{
    char who[EVS_JS_MAX_NAME + 1];
    int renewed = 0, refused = 0, seen = 0;
    int64_t end = zclock_mono() + S_TTL_MS + 1000, next = zclock_mono();
    while (zclock_mono() < end) {
        if (zclock_mono() >= next) {
            renewed += evs_js_lease_renew(a) == 0;
            *last_renewal = zclock_mono();
            refused += evs_js_lease_acquire(b) == EVS_CONFLICT;
            next += 500;
        }
        int64_t left = next - zclock_mono();
        if (left > 0 && evs_js_lease_watch(b, (int) left, who) == 0 && strcmp(who, "inst-a") == 0)
            seen++;
    }
    TH_CHECK(renewed > 0 && refused == renewed && seen >= renewed - 1);
    printf("%d renewals, one every 500 ms for %d ms (TTL %d ms): inst-b refused %d times, saw "
           "%d of them\n",
           renewed, S_TTL_MS + 1000, S_TTL_MS, refused, seen);
}

/* The holder stops renewing: the key expires the bucket's max age after the last renewal,
 * silently for watchers, and the other takes it. */
static void s_takeover(evs_js_lease_t *a, evs_js_lease_t *b, int64_t last_renewal)
{
    char who[EVS_JS_MAX_NAME + 1];
    int64_t expired = -1, taken = -1;
    int events = 0;
    while (zclock_mono() - last_renewal < S_TTL_MS * 4 && taken < 0) {
        int rc = evs_js_lease_watch(b, 50, who);
        if (rc == 0 || rc == EVS_NOTFOUND)
            events += rc == EVS_NOTFOUND || strcmp(who, "inst-a") != 0;
        if (expired < 0 && evs_js_lease_holder(b, who, NULL) == EVS_NOTFOUND)
            expired = zclock_mono() - last_renewal;
        if (evs_js_lease_acquire(b) == 0)
            taken = zclock_mono() - last_renewal;
    }
    TH_CHECK(taken >= S_TTL_MS - 100 && taken <= S_TTL_MS + 1000);
    TH_CHECK(events == 0); /* the expiry itself is no event */
    printf("inst-a stopped renewing: its key expired %" PRId64 " ms after the last renewal, "
           "inst-b took the lease %" PRId64 " ms after it (TTL %d ms; a try every ~50 ms); "
           "watch events meanwhile: %d\n",
           expired, taken, S_TTL_MS, events);
    TH_CHECK(evs_js_lease_renew(a) == EVS_CONFLICT && !evs_js_lease_held(a));
    TH_CHECK(evs_js_lease_acquire(a) == EVS_CONFLICT);
    TH_CHECK(evs_js_lease_holder(a, who, NULL) == 0 && strcmp(who, "inst-b") == 0);
    TH_CHECK(evs_js_lease_watch(b, 2000, who) == 0 && strcmp(who, "inst-b") == 0);

    /* given up: taken at once, without waiting for the TTL */
    TH_CHECK(evs_js_lease_release(b) == 0 && !evs_js_lease_held(b));
    TH_CHECK(evs_js_lease_release(b) == EVS_INVALID);
    int64_t t0 = zclock_mono();
    TH_CHECK(evs_js_lease_acquire(a) == 0 && evs_js_lease_held(a));
    printf("inst-b released it: inst-a took it in %" PRId64 " ms\n", zclock_mono() - t0);
    TH_CHECK(evs_js_lease_watch(b, 2000, who) == EVS_NOTFOUND);
    TH_CHECK(evs_js_lease_watch(b, 2000, who) == 0 && strcmp(who, "inst-a") == 0);
    TH_CHECK(evs_js_lease_release(a) == 0);
}

/* ----------------------------------------------------------------- races */

static int s_taker_run(void *arg)
{
    return evs_js_lease_acquire(arg);
}

/* A holder releases; two others take it at the same moment, on two servers: one gets it. */
static void s_takers_race(evs_js_lease_t *a, evs_js_lease_t *b, evs_js_lease_t *c, int rounds)
{
    evs_js_lease_t *takers[2] = {b, c};
    int won[3] = {0, 0, 0}; /* rounds where none, one, both got it */
    for (int round = 0; round < rounds; round++) {
        TH_CHECK(evs_js_lease_acquire(a) == 0 && evs_js_lease_release(a) == 0);
        int rc[2];
        won[tc_race(s_taker_run, (void *[]){b, c}, rc)]++;
        for (int i = 0; i < 2; i++)
            TH_CHECK(rc[i] == 0 ? evs_js_lease_release(takers[i]) == 0 : rc[i] == EVS_CONFLICT);
    }
    TH_CHECK(won[1] == rounds);
    printf("two instances taking a released lease at the same moment, %d rounds: one got it "
           "%d times, both %d, none %d\n",
           rounds, won[1], won[2], won[0]);
}

/* The key-value compare-and-set itself: two writers publish to a key naming the same
 * revision, as kvStore_Update and the lease's renewal do. */
#define S_RACE_SUBJECT "$KV." EVS_JS_LEASE_BUCKET ".race"

typedef struct {
    jsCtx *js;
    uint64_t last; /* the key's revision both name */
} s_cas_t;

static int s_cas_run(void *arg)
{
    s_cas_t *r = arg;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = r->last;
    return js_Publish(NULL, r->js, S_RACE_SUBJECT, "x", 1, &po, NULL) == NATS_OK ? 0 : -1;
}

static void s_kv_race(tc_cluster_t *c, int rounds)
{
    natsConnection *nc[2] = {NULL, NULL};
    s_cas_t r[2] = {{0}, {0}};
    bool ok = true;
    for (int i = 0; i < 2; i++)
        ok = ok && natsConnection_ConnectTo(&nc[i], tc_cluster_url(c, i * 2)) == NATS_OK &&
             natsConnection_JetStream(&r[i].js, nc[i], NULL) == NATS_OK;
    ok = ok && js_Publish(NULL, r[0].js, S_RACE_SUBJECT, "x", 1, NULL, NULL) == NATS_OK;
    TH_CHECK(ok);
    int won[3] = {0, 0, 0};
    for (int round = 0; ok && round < rounds; round++) {
        natsMsg *m = NULL;
        ok = js_GetLastMsg(&m, r[0].js, "KV_" EVS_JS_LEASE_BUCKET, S_RACE_SUBJECT, NULL, NULL) ==
             NATS_OK;
        r[0].last = r[1].last = natsMsg_GetSequence(m);
        natsMsg_Destroy(m);
        int rc[2];
        if (ok)
            won[tc_race(s_cas_run, (void *[]){&r[0], &r[1]}, rc)]++;
    }
    TH_CHECK(ok && won[0] == 0);
    printf("two writers racing on the key-value compare-and-set (the per-subject expected "
           "sequence), %d rounds: one stored %d times, both %d (nats-server issue 4320: "
           "before 2.9.21 both may be taken)\n",
           rounds, won[1], won[2]);
    for (int i = 0; i < 2; i++) {
        jsCtx_Destroy(r[i].js);
        natsConnection_Destroy(nc[i]);
    }
}

int main(void)
{
    th_t *th = NULL;
    tc_cluster_t *c = tc_cluster_up("cluster-lease", &th);
    if (!c)
        return 1;
    evs_js_t *js_a = tc_connect(c, NULL, "inst-a");
    evs_js_t *js_b = tc_connect(c, tc_cluster_url(c, 2), "inst-b");
    evs_js_t *js_c = tc_connect(c, tc_cluster_url(c, 1), "inst-c");
    evs_js_lease_t *a = NULL, *b = NULL, *lc = NULL;
    TH_CHECK(js_a && js_b && js_c);
    if (js_a && js_b && js_c) {
        TH_CHECK(evs_js_lease_new(js_a, "alpha", "inst-a", S_TTL_MS, &a) == 0);
        TH_CHECK(evs_js_lease_new(js_b, "alpha", "inst-b", S_TTL_MS, &b) == 0);
        TH_CHECK(evs_js_lease_new(js_c, "alpha", "inst-c", S_TTL_MS, &lc) == 0);
    }
    if (a && b && lc) {
        int64_t last_renewal = 0;
        s_basics(js_a, a, b);
        s_renewals(a, b, &last_renewal);
        s_takeover(a, b, last_renewal);
        s_kv_race(c, 40);
        s_takers_race(a, b, lc, 40);
    }
    evs_js_lease_destroy(&lc);
    evs_js_destroy(&js_c);
    evs_js_lease_destroy(&b);
    evs_js_lease_destroy(&a);
    evs_js_destroy(&js_b);
    evs_js_destroy(&js_a);
    return tc_cluster_down(&c, &th);
}
