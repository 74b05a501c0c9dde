/* backbone_bench.c: figures of the event backbone, one `NAME VALUE UNIT` line each:
 * durable commit rate with one request per commit, with group commit under
 * 32 pipelined clients (64 requests in flight each), their ratio, and replay speed
 * over 1,000,000 events; and, for comparison, group commit under 16 clients.
 * As a baseline in the same run, group commit without the runtime's pipelining
 * (a second daemon with `pipeline = 0`: one group at a time on the loop), in
 * alternating rounds with the pipelined daemon so that both see the same machine.
 * Peers in the same rounds (docs/PERFORMANCE.md, "Peers"): the same envelopes put
 * into raw LMDB (lmdb_raw.h), and into PostgreSQL (peer_postgres.h) one event a
 * transaction, batched INSERTs and batched COPY, from as many clients; the groups of
 * raw LMDB and of the batched PostgreSQL runs are as large as the pipelined daemon's
 * groups were in that round, read from its log (the events of one commit share their
 * recorded_at_us).
 * Everything runs in one run on the same kind of folder (TP_BENCH_DIR). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "example.h"
#include "example.pb-c.h"
#include "group_load.h"
#include "harness.h"
#include "lmdb_raw.h"
#include "peer_events.h"
#include "peer_postgres.h"

#define GROUP_CLIENTS 32          /* the issue: 16 or more clients ... */
#define GROUP_INFLIGHT 64         /* ... each keeping up to 64 requests in flight */
#define GROUP_EVENTS 100000       /* events a round */
#define GROUP_ROUNDS 2            /* rounds per daemon, alternating */
#define REPLAY_EVENTS 1000000
#define PG_SINGLE_EVENTS 32000    /* PostgreSQL, one event a transaction: events a round */

static const char *s_base(void)
{
    const char *d = getenv("TP_BENCH_DIR");
    return d && *d ? d : ".";
}

/* One client, one request in flight: every event pays its own fsync. */
static double s_single(th_t *th, double seconds)
{
    char ep[400];
    th_router(th, "alpha", ep, sizeof ep);
    evs_client_t *c = evs_client_new_keyed(ep, th_keys(th), "operator-test", "alpha");
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "single";
    inc.by = 1;
    int64_t t0 = zclock_usecs(), n = 0;
    while (zclock_usecs() - t0 < (int64_t) (seconds * 1e6)) {
        Tp__Reply *r = NULL;
        if (evs_client_call(c, NULL, "example.Increment", &inc.base, 5000, &r) != 0 || !r->ok) {
            fprintf(stderr, "bench: single request failed\n");
            exit(1);
        }
        tp__reply__free_unpacked(r, NULL);
        n++;
    }
    double rate = (double) n * 1e6 / (double) (zclock_usecs() - t0);
    evs_client_destroy(&c);
    return rate;
}

/* @p clients clients, GROUP_INFLIGHT in flight each: the loop batches what is waiting
 * into one commit. */
static double s_group(th_t *th, const char *name, int round, int clients)
{
    char ep[400], prefix[16];
    th_router(th, name, ep, sizeof ep);
    snprintf(prefix, sizeof prefix, "g%d-", round);
    return gl_run(ep, th_keys(th), name, prefix, clients, GROUP_INFLIGHT, GROUP_EVENTS, 10000);
}

/* Writes REPLAY_EVENTS example events (durably, in large batches), then times a
 * full rebuild: read from LMDB, decode envelope and payload, apply. */
static double s_replay(const char *dir)
{
    evs_t *store = NULL;
    evs_opts_t opts = {0};
    opts.service = "example";
    if (evs_open(dir, &opts, &store) != 0) {
        fprintf(stderr, "bench: cannot open %s\n", dir);
        exit(1);
    }
    Tp__Example__CounterIncremented ev = TP__EXAMPLE__COUNTER_INCREMENTED__INIT;
    char counter[32], stream[48];
    uint8_t payload[64];
    for (int b = 0; b < REPLAY_EVENTS / 10000; b++) {
        evs_batch_t *batch = NULL;
        evs_batch_begin(store, &batch);
        for (int i = 0; i < 10000; i++) {
            int k = (b * 10000 + i) % 1000;
            snprintf(counter, sizeof counter, "counter-%d", k);
            snprintf(stream, sizeof stream, "counter-counter-%d", k);
            ev.counter = counter;
            ev.by = 1;
            ev.value = b * 10 + i / 1000 + 1;
            size_t len = tp__example__counter_incremented__pack(&ev, payload);
            evs_event_t e = {stream, "CounterIncremented", payload, len, NULL, NULL};
            if (evs_batch_append(batch, &e, 1, NULL, 0, NULL, NULL, 0, NULL, NULL) != 0) {
                fprintf(stderr, "bench: append failed\n");
                exit(1);
            }
        }
        if (evs_batch_commit(batch) != 0) {
            fprintf(stderr, "bench: commit failed\n");
            exit(1);
        }
        evs_batch_end(&batch);
    }
    double best = 0;
    for (int round = 0; round < 3; round++) {
        void *state = example_def.state_new();
        uint64_t applied = 0;
        int64_t t0 = zclock_usecs();
        svc_rebuild(&example_def, state, store, UINT64_MAX, INT64_MAX, &applied, NULL, NULL, NULL);
        int64_t took = zclock_usecs() - t0;
        example_def.state_destroy(&state);
        if (applied != REPLAY_EVENTS) {
            fprintf(stderr, "bench: replay applied %lu\n", (unsigned long) applied);
            exit(1);
        }
        double rate = (double) applied * 1e6 / (double) took;
        if (rate > best)
            best = rate;
    }
    evs_destroy(&store);
    return best;
}

/* The commits of the pipelined daemon's round: events per commit and their sizes. */
typedef struct {
    uint64_t events;
    uint64_t commits;
    uint64_t bytes;
    int64_t last_at; /* recorded_at_us of the last event seen */
} s_shape_t;

static int s_shape_each(const evs_record_t *rec, void *arg)
{
    s_shape_t *sh = arg;
    evs_view_t v;
    if (evs_view(rec->data, rec->len, &v) != 0)
        return EVS_CORRUPT;
    /* a batch stamps all its events with the time it began: a new time, a new commit */
    sh->commits += sh->events == 0 || v.recorded_at_us != sh->last_at;
    sh->last_at = v.recorded_at_us;
    sh->events++;
    sh->bytes += rec->len;
    return 0;
}

/* Reads seqs @p from..@p to of service @p name's log (read-only, beside the daemon). */
static s_shape_t s_shape(th_t *th, const char *name, uint64_t from, uint64_t to)
{
    s_shape_t sh = {0};
    char data[600];
    th_data_dir(th, name, data, sizeof data);
    evs_t *store = NULL;
    evs_opts_t opts = {0};
    opts.flags = EVS_RDONLY;
    if (evs_open(data, &opts, &store) != 0 || evs_read(store, from, to, 0, s_shape_each, &sh) ||
        sh.events != to - from + 1) {
        fprintf(stderr, "bench: cannot read seqs %lu..%lu of %s\n", (unsigned long) from,
                (unsigned long) to, data);
        exit(1);
    }
    evs_destroy(&store);
    return sh;
}

/* The peers and their rounds' figures (sums of 1 / rate, as for the daemons). */
typedef struct {
    pe_log_t *log; /* the scratch log the events are built in */
    lr_t *raw;
    char pg_why[256]; /* why there is no PostgreSQL peer (s_pg NULL) */
    bool pg_failed;   /* it ran and failed (the bench fails) */
    double t_raw, t_pg, t_pg_batched, t_pg_copy;
    double envelope_mean; /* mean envelope size of the peers' events */
    int rounds;
} s_peers_t;

static pp_t *s_pg; /* the PostgreSQL peer; stopped at exit, also after a failure elsewhere */

static void s_pg_stop(void)
{
    pp_destroy(&s_pg);
}

static pe_set_t *s_events(s_peers_t *p, const char *prefix, int round, int count)
{
    char pfx[16];
    snprintf(pfx, sizeof pfx, "%s%d", prefix, round);
    pe_set_t *set = pe_set_new(p->log, pfx, GROUP_CLIENTS, count);
    if (!set) {
        fprintf(stderr, "bench: cannot build the peers' events\n");
        exit(1);
    }
    return set;
}

/* One round of each peer, @p group events per commit. */
static void s_peers_round(s_peers_t *p, int round, size_t group)
{
    pe_set_t *set = s_events(p, "p", round, GROUP_EVENTS);
    p->envelope_mean = pe_set_envelope_mean(set);
    double raw = lr_run(p->raw, set, group);
    if (raw <= 0)
        exit(1);
    p->t_raw += 1.0 / raw;
    p->rounds++;
    if (s_pg) {
        pe_set_t *single = s_events(p, "q", round, PG_SINGLE_EVENTS);
        pe_set_t *copied = s_events(p, "r", round, GROUP_EVENTS);
        char *why = p->pg_why;
        size_t wsz = sizeof p->pg_why;
        double one = pp_run(s_pg, single, PP_EACH, 1, why, wsz);
        double batched = one > 0 ? pp_run(s_pg, set, PP_INSERTS, group, why, wsz) : -1;
        double copy = batched > 0 ? pp_run(s_pg, copied, PP_COPY, group, why, wsz) : -1;
        pe_set_destroy(&single);
        pe_set_destroy(&copied);
        if (copy > 0) {
            p->t_pg += 1.0 / one;
            p->t_pg_batched += 1.0 / batched;
            p->t_pg_copy += 1.0 / copy;
        }
        else {
            p->pg_failed = true;
            pp_destroy(&s_pg);
        }
    }
    pe_set_destroy(&set);
}

static void s_peers_print(const s_peers_t *p, double group)
{
    double raw = p->rounds / p->t_raw;
    printf("lmdb_raw_events_per_s %.0f events/s\n", raw);
    printf("group_vs_lmdb_raw_ratio %.2f x\n", group / raw);
    if (!s_pg) {
        printf("peer_postgres %s: %s\n", p->pg_failed ? "failed" : "skipped", p->pg_why);
        return;
    }
    char desc[256];
    pp_describe(s_pg, desc, sizeof desc);
    printf("peer_postgres_server %s\n", desc);
    double one = p->rounds / p->t_pg, batched = p->rounds / p->t_pg_batched,
           copy = p->rounds / p->t_pg_copy;
    printf("peer_postgres_events_per_s %.0f events/s\n", one);
    printf("peer_postgres_batched_events_per_s %.0f events/s\n", batched);
    printf("peer_postgres_copy_events_per_s %.0f events/s\n", copy);
    printf("group_vs_postgres_ratio %.2f x\n", group / one);
    printf("group_vs_postgres_batched_ratio %.2f x\n", group / batched);
    printf("group_vs_postgres_copy_ratio %.2f x\n", group / copy);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const char *exe = th_env("TP_EXAMPLE");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench-XXXXXX", s_base());
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* the peers first: the PostgreSQL server inherits nothing of the daemons */
    s_peers_t peers = {0};
    char sub[600];
    s_pg = pp_new(s_base(), peers.pg_why, sizeof peers.pg_why);
    atexit(s_pg_stop);
    snprintf(sub, sizeof sub, "%s/peer-events", dir);
    peers.log = pe_log_new(sub);
    snprintf(sub, sizeof sub, "%s/lmdb-raw", dir);
    peers.raw = lr_new(sub);
    if (!peers.log || !peers.raw)
        return 1;
    /* the daemon's data folder on the bench folder's disk */
    th_t *th = th_new("bench");
    char data[600];
    snprintf(data, sizeof data, "%s/data", dir);
    th_set(th, "data", data);
    th_set(th, "tick_ms", "60000");
    th_set(th, "beta/pipeline", "0");
    if (th_start(th, exe, "alpha", 10000) <= 0 || th_start(th, exe, "beta", 10000) <= 0)
        return 1;
    double single = s_single(th, 3.0);
    printf("commit_single_events_per_s %.0f events/s\n", single);
    fflush(stdout);
    /* rates of each round, as the harmonic mean over rounds of equal size */
    double t_piped = 0, t_plain = 0, t_16 = 0;
    s_shape_t shape = {0};
    char sizes[64] = "";
    for (int r = 0; r < GROUP_ROUNDS; r++) {
        t_plain += 1.0 / s_group(th, "beta", r, GROUP_CLIENTS);
        uint64_t head = th_head(th, "alpha");
        t_piped += 1.0 / s_group(th, "alpha", r, GROUP_CLIENTS);
        s_shape_t sh = s_shape(th, "alpha", head + 1, th_head(th, "alpha"));
        t_16 += 1.0 / s_group(th, "alpha", GROUP_ROUNDS + r, 16);
        /* the peers' groups: as large as the daemon's were in this round */
        size_t per_commit = (size_t) ((double) sh.events / (double) sh.commits + 0.5);
        snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%zu", r ? " " : "",
                 per_commit);
        s_peers_round(&peers, r, per_commit);
        shape.events += sh.events;
        shape.commits += sh.commits;
        shape.bytes += sh.bytes;
    }
    double group = GROUP_ROUNDS / t_piped, plain = GROUP_ROUNDS / t_plain;
    printf("commit_group_events_per_s %.0f events/s\n", group);
    printf("group_vs_single_ratio %.1f x\n", group / single);
    printf("commit_group_unpipelined_events_per_s %.0f events/s\n", plain);
    printf("pipelined_vs_unpipelined_ratio %.2f x\n", group / plain);
    printf("commit_group_16_clients_events_per_s %.0f events/s\n", GROUP_ROUNDS / t_16);
    printf("commit_group_events_per_commit %.0f events (rounds: %s; the peers' groups)\n",
           (double) shape.events / (double) shape.commits, sizes);
    printf("commit_group_envelope_bytes %.1f bytes (the peers': %.1f)\n",
           (double) shape.bytes / (double) shape.events, peers.envelope_mean);
    s_peers_print(&peers, group);
    fflush(stdout);
    th_destroy(&th);
    pp_destroy(&s_pg);
    lr_destroy(&peers.raw);
    pe_log_destroy(&peers.log);
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/replay", dir);
    double replay = s_replay(rdir);
    printf("replay_events_per_s %.0f events/s\n", replay);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 && !peers.pg_failed ? 0 : 1;
}
