/* cluster_bench.c: figures of the jetstream store (issue 16), one `NAME VALUE UNIT` line each.
 *
 * Group commit: tp-example (instance alpha) loaded as backbone_bench loads it (32 clients,
 * 64 Increment commands in flight each, 100,000 a round: group_load.h), once with the
 * embedded LMDB store and once with the jetstream store on three local nats-server nodes
 * (cluster.h; R=3, one active instance), and a third time with a standby instance
 * following the stream (paused with SIGSTOP during the other rounds, so that it costs
 * them nothing). The three alternate, S_ROUNDS rounds each, so that the machine's noise
 * hits all of them; the figures are the medians. Where a group's time goes: every commit
 * is logged by the daemons (slow_commit_ms = 0.001: its requests, LMDB's puts and write +
 * flush, and "other", which with the jetstream store is mostly the stream's append), the
 * CPU time of each process over the rounds (/proc), and the append's round trip timed
 * alone, the cluster otherwise idle, for a group of the size the runtime wrote.
 *
 * Takeover: two instances of the example service (beta, cluster_hosts.h) with the
 * default lease of 3 s; S_KILLS times the active one is killed (SIGKILL) while one client
 * of both sends Increment after Increment; the time from the kill to the first command
 * acknowledged by the new active instance (a reply with a log seq after the killed
 * instance's last: a reply the dead one sent before it died is not taken for one), then
 * the killed one is started again (a standby) and waits until its local copy caught up
 * before the next kill. The counter is checked at every acknowledgement (the n-th
 * acknowledged command must read n: nothing lost, nothing done twice) and on both
 * instances at the end. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cluster_hosts.h"
#include "example.pb-c.h"
#include "group_load.h"

#define S_CLIENTS     32     /* as backbone_bench: 32 clients ... */
#define S_INFLIGHT    64     /* ... 64 requests in flight each ... */
#define S_EVENTS      100000 /* ... 100,000 a round */
#define S_ROUNDS      3      /* rounds of each store, alternating */
#define S_RTT_APPENDS 300    /* appends timed alone */
#define S_KILLS       10
#define S_TTL_MS      3000 /* js_lease_ttl_ms: its default */
#define S_TARGET      0.5  /* the cluster_vs_embedded_ratio */
#define S_BATCH_MAX   1024 /* the daemons' batch_max (its default): requests a group at most */
#define S_STR_(x)     #x
#define S_STR(x)      S_STR_(x)

/* ------------------------------------------------------------------ group commit */

/* What the processes of a round used: CPU ms of the clients (this process), of the
 * writing daemon, of the three nats-servers and of the standby, and the round's wall time. */
typedef struct {
    double clients, daemon, nats, standby, wall;
} s_cpu_t;

/* One kind of round: a store and how it runs, and what its rounds measured. */
typedef struct {
    const char *name; /* the figures' prefix */
    char tag;         /* its request ids' first letter */
    th_t *th;         /* the writing daemon's host */
    th_t *standby;    /* the host of its standby (NULL: none) */
    double rate[S_ROUNDS];
    int rounds;
    s_cpu_t cpu;    /* summed over the rounds */
    int64_t log_at; /* what of the daemon's log the last round's commits start at */
    /* the daemon's commit lines over the rounds: */
    int commits;
    int full; /* commits of S_BATCH_MAX requests */
    double requests, ms, puts, flush, other;
} s_kind_t;

/* What runs, for s_cleanup() at every exit (a failure ends the process with exit(1)). */
static th_t *s_cluster_th; /* the nodes' host, and the first one of the instances */
static tc_cluster_t *s_cluster;
static tc_hosts_t s_hosts; /* the second host: s_hosts.host[1] */
static th_t *s_emb;        /* the embedded store's host */

/* Stops the daemons and the nodes, and removes their folders. */
static void s_cleanup(void)
{
    th_destroy(&s_emb);
    tc_hosts_destroy(&s_hosts);
    tc_cluster_destroy(&s_cluster);
    th_destroy(&s_cluster_th);
}

/* CPU time (user + system) of process @p pid (0: this one) in ms, from /proc. */
static double s_cpu_ms(pid_t pid)
{
    char path[64];
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    else
        snprintf(path, sizeof path, "/proc/self/stat");
    FILE *f = fopen(path, "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* after the command's closing parenthesis: state is field 3, utime 14, stime 15 */
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double) (ut + st) * 1000.0 / (double) sysconf(_SC_CLK_TCK);
}

static void s_cpu_now(const s_kind_t *k, s_cpu_t *c)
{
    c->clients = s_cpu_ms(0);
    c->daemon = s_cpu_ms(th_pid(k->th, "alpha"));
    c->nats = 0;
    for (int i = 1; i <= TC_NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "nats-%d", i);
        c->nats += s_cpu_ms(th_pid(s_cluster_th, name));
    }
    c->standby = k->standby ? s_cpu_ms(th_pid(k->standby, "alpha")) : 0;
    c->wall = (double) zclock_usecs() / 1000.0;
}

static int64_t s_file_size(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    int64_t n = ftell(f);
    fclose(f);
    return n;
}

/* The daemon's commit lines ("slow commit: 7.3 ms for 812 requests, 1625 records (puts
 * 1.1 ms, write + flush 5.2, other 1.0)", svc_commit.c) after @p k->log_at, added up. */
static void s_commit_lines(s_kind_t *k)
{
    char path[600];
    snprintf(path, sizeof path, "%s/logs/alpha.log", th_dir(k->th));
    FILE *f = fopen(path, "r");
    if (!f || fseek(f, (long) k->log_at, SEEK_SET) != 0) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        exit(1);
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "slow commit: ");
        const char *q = p ? strstr(p, "write + flush ") : NULL;
        double ms, puts, flush, other;
        int requests;
        if (!q ||
            sscanf(p, "slow commit: %lf ms for %d requests, %*d records (puts %lf", &ms, &requests,
                   &puts) != 3 ||
            sscanf(q, "write + flush %lf, other %lf", &flush, &other) != 2)
            continue; /* another line, or a commit of no request (a checkpoint) */
        k->commits++;
        k->full += requests >= S_BATCH_MAX;
        k->requests += requests;
        k->ms += ms;
        k->puts += puts;
        k->flush += flush;
        k->other += other;
    }
    fclose(f);
}

/* One round of @p k: the load, its rate, its CPU and commit lines. */
static void s_round(s_kind_t *k, int round)
{
    char ep[600], log[600], prefix[32];
    snprintf(ep, sizeof ep, "ipc://%s/run/alpha.router", th_dir(k->th)); /* its own */
    snprintf(log, sizeof log, "%s/logs/alpha.log", th_dir(k->th));
    snprintf(prefix, sizeof prefix, "%c%d-", k->tag, round);
    k->log_at = s_file_size(log);
    s_cpu_t c0, c1;
    s_cpu_now(k, &c0);
    k->rate[k->rounds++] =
        gl_run(ep, th_keys(k->th), "alpha", prefix, S_CLIENTS, S_INFLIGHT, S_EVENTS, 10000);
    s_cpu_now(k, &c1);
    k->cpu.clients += c1.clients - c0.clients;
    k->cpu.daemon += c1.daemon - c0.daemon;
    k->cpu.nats += c1.nats - c0.nats;
    k->cpu.standby += c1.standby - c0.standby;
    k->cpu.wall += c1.wall - c0.wall;
    zclock_sleep(100); /* the last commit's line written */
    s_commit_lines(k);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double s_median(const double *v, int n)
{
    double s[S_ROUNDS];
    memcpy(s, v, (size_t) n * sizeof *s);
    qsort(s, (size_t) n, sizeof *s, s_cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void s_print_kind(const s_kind_t *k, double embedded)
{
    char rounds[128] = "";
    for (int i = 0; i < k->rounds; i++)
        snprintf(rounds + strlen(rounds), sizeof rounds - strlen(rounds), "%s%.0f", i ? " / " : "",
                 k->rate[i]);
    double med = s_median(k->rate, k->rounds);
    printf("%s_commit_group_events_per_s %.0f events/s (median; rounds %s)\n", k->name, med,
           rounds);
    if (embedded > 0)
        printf("%s_vs_embedded_ratio %.2f x (target >= %.1f: %s)\n", k->name, med / embedded,
               S_TARGET, med / embedded >= S_TARGET ? "met" : "NOT met");
}

/* Where the time went, per group and per 1,000 events. */
static void s_print_costs(const s_kind_t *k)
{
    double n = k->commits ? k->commits : 1;
    printf("%s_group %.0f requests, %.2f ms to commit (LMDB puts %.2f, LMDB write + flush "
           "%.2f, other %.2f; means of %d commits, %d of them full: %d requests)\n",
           k->name, k->requests / n, k->ms / n, k->puts / n, k->flush / n, k->other / n, k->commits,
           k->full, S_BATCH_MAX);
    double per = 1000.0 / ((double) k->rounds * S_EVENTS);
    printf("%s_cpu_ms_per_1000_events clients %.1f, daemon %.1f, nats-servers %.1f, "
           "standby %.1f; all %.1f of %.1f ms wall (%.2f cores busy)\n",
           k->name, k->cpu.clients * per, k->cpu.daemon * per, k->cpu.nats * per,
           k->cpu.standby * per,
           (k->cpu.clients + k->cpu.daemon + k->cpu.nats + k->cpu.standby) * per, k->cpu.wall * per,
           (k->cpu.clients + k->cpu.daemon + k->cpu.nats + k->cpu.standby) / k->cpu.wall);
}

/* Pauses (SIGSTOP) or resumes the standby; resumed, waits until it holds the stream. */
static void s_standby(tc_hosts_t *hs, bool run)
{
    th_signal(hs->host[1], "alpha", run ? SIGCONT : SIGSTOP);
    if (!run)
        return;
    char role[16];
    uint64_t seq = 0;
    tc_role(hs, 0, "alpha", role, sizeof role, &seq, 3000);
    if (strcmp(role, "active") != 0 || !tc_wait_caught_up(hs, 1, "alpha", seq, 60000)) {
        fprintf(stderr, "bench: the standby did not catch up with the stream (%s)\n", role);
        exit(1);
    }
}

/* The stream's append timed alone: S_RTT_APPENDS groups of @p bytes each, one after the
 * other, into a stream of its own (R=3), the cluster otherwise idle. */
static void s_append_rtt(tc_cluster_t *cl, size_t bytes)
{
    evs_js_t *js = tc_connect(cl, NULL, "bench-rtt");
    evs_js_log_t *log = NULL;
    if (!js || evs_js_log_open(js, "rtt", EVS_JS_CREATE, &log) != 0) {
        fprintf(stderr, "bench: the stream for the round trips: %s\n", evs_js_error());
        exit(1);
    }
    uint8_t *body = malloc(bytes);
    for (size_t i = 0; i < bytes; i++)
        body[i] = (uint8_t) (i * 131 + 7);
    double ms[S_RTT_APPENDS];
    for (int i = 0; i < S_RTT_APPENDS; i++) {
        evs_js_ack_t ack = {0};
        int64_t t0 = zclock_usecs();
        int rc = evs_js_append_raw(log, "bench", (uint64_t) i + 1, (uint64_t) i, body, bytes, &ack);
        ms[i] = (double) (zclock_usecs() - t0) / 1000.0;
        if (rc != 0) {
            fprintf(stderr, "bench: append %d: %s (%s)\n", i, evs_js_strerror(rc), evs_js_error());
            exit(1);
        }
    }
    qsort(ms, S_RTT_APPENDS, sizeof *ms, s_cmp_double);
    printf("js_append_round_trip_ms p50 %.2f, p90 %.2f, max %.2f ms (%d groups of %zu bytes "
           "one after the other, R=3, the cluster otherwise idle)\n",
           ms[S_RTT_APPENDS / 2], ms[S_RTT_APPENDS * 9 / 10], ms[S_RTT_APPENDS - 1], S_RTT_APPENDS,
           bytes);
    free(body);
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
}

/* The mean size of the groups the runtime wrote into alpha's stream. */
static size_t s_group_bytes(tc_cluster_t *cl, uint64_t *groups)
{
    evs_js_t *js = tc_connect(cl, NULL, "bench-info");
    evs_js_log_t *log = NULL;
    evs_js_info_t info = {0};
    if (!js || evs_js_log_open(js, "alpha", 0, &log) != 0 || evs_js_log_info(log, &info) != 0 ||
        !info.groups) {
        fprintf(stderr, "bench: alpha's stream: %s\n", evs_js_error());
        exit(1);
    }
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
    *groups = info.groups;
    return (size_t) (info.bytes / info.groups);
}

static void s_group_commit(tc_cluster_t *cl, tc_hosts_t *hs, const char *exe)
{
    s_emb = th_new("bench-embedded");
    th_t *emb = s_emb;
    th_set(emb, "tick_ms", "60000");
    th_set(emb, "slow_commit_ms", "0.001");
    th_set(emb, "batch_max", S_STR(S_BATCH_MAX));
    for (int h = 0; h < TC_HOSTS; h++) {
        th_set(hs->host[h], "tick_ms", "60000");
        th_set(hs->host[h], "alpha/slow_commit_ms", "0.001");
        th_set(hs->host[h], "alpha/batch_max", S_STR(S_BATCH_MAX));
    }
    if (th_start(emb, exe, "alpha", 10000) <= 0 || tc_start(hs, 0, exe, "alpha", 30000) <= 0 ||
        tc_wait_active(hs, "alpha", 10000) != 0 || tc_start(hs, 1, exe, "alpha", 30000) <= 0) {
        fprintf(stderr, "bench: the example service did not start\n");
        exit(1);
    }
    s_standby(hs, false);
    s_kind_t kinds[3] = {
        {.name = "embedded", .tag = 'e', .th = emb},
        {.name = "cluster", .tag = 'c', .th = hs->host[0], .standby = hs->host[1]},
        {.name = "cluster_standby", .tag = 's', .th = hs->host[0], .standby = hs->host[1]}};
    for (int r = 0; r < S_ROUNDS; r++)
        for (int j = 0; j < 3; j++) {
            int i = (r + j) % 3; /* each kind first in one round */
            if (i == 2)
                s_standby(hs, true);
            s_round(&kinds[i], r);
            if (i == 2)
                s_standby(hs, false);
        }
    s_standby(hs, true);
    double embedded = s_median(kinds[0].rate, kinds[0].rounds);
    for (int i = 0; i < 3; i++)
        s_print_kind(&kinds[i], i ? embedded : 0);
    for (int i = 0; i < 3; i++)
        s_print_costs(&kinds[i]);
    fflush(stdout);
    uint64_t groups = 0;
    size_t bytes = s_group_bytes(cl, &groups);
    printf("cluster_group_bytes %zu bytes (mean of the %" PRIu64 " groups in the stream)\n", bytes,
           groups);
    th_stop(hs->host[1], "alpha", SIGTERM);
    th_stop(hs->host[0], "alpha", SIGTERM);
    th_destroy(&s_emb);
    s_append_rtt(cl, bytes);
    fflush(stdout);
}

/* ------------------------------------------------------------------ takeover */

/* An acknowledgement the client got. */
typedef struct {
    int64_t at;        /* zclock_usecs() when it came */
    uint64_t last_seq; /* the log seq of its event */
} s_ack_t;

/* The client thread: Increment r<n> after r<n-1>, each sent until acknowledged. */
typedef struct {
    evs_client_t *client; /* of both instances */
    pthread_mutex_t lock;
    s_ack_t *acks; /* [acked] */
    int acked, cap;
    int wrong; /* acknowledgements whose counter was not their number */
    atomic_bool stop;
    bool failed; /* a command not acknowledged in 30 s */
} s_client_t;

static void *s_client_run(void *arg)
{
    s_client_t *c = arg;
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "c";
    inc.by = 1;
    for (int n = 0; !atomic_load(&c->stop); n++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%d", n);
        Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
        h.request_id = rid;
        int64_t deadline = zclock_mono() + 30000;
        Tp__Reply *r = NULL;
        while (zclock_mono() < deadline) {
            /* one call fails over between the two instances by itself (evs_bus.h) */
            if (evs_client_call(c->client, &h, "example.Increment", &inc.base, 2000, &r) == 0 &&
                r->ok)
                break;
            th_reply_free(&r);
        }
        int64_t at = zclock_usecs();
        if (!r) {
            fprintf(stderr, "bench: command %s not acknowledged in 30 s\n", rid);
            c->failed = true;
            break;
        }
        Tp__Example__CounterValue *cv =
            tp__example__counter_value__unpack(NULL, r->body.len, r->body.data);
        pthread_mutex_lock(&c->lock);
        if (c->acked == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 4096;
            c->acks = realloc(c->acks, (size_t) c->cap * sizeof *c->acks);
        }
        c->acks[c->acked++] = (s_ack_t){at, r->last_seq};
        c->wrong += !cv || cv->value != c->acked;
        pthread_mutex_unlock(&c->lock);
        tp__example__counter_value__free_unpacked(cv, NULL);
        th_reply_free(&r);
    }
    return NULL;
}

static int s_client_acked(s_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    int n = c->acked;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* The head of instance @p h's local copy, read from its data folder (it is dead). */
static uint64_t s_local_head(tc_hosts_t *hs, int h)
{
    char data[600];
    th_data_dir(hs->host[h], "beta", data, sizeof data);
    evs_t *store = NULL;
    evs_opts_t opts = {0};
    opts.flags = EVS_RDONLY;
    uint64_t head = 0;
    if (evs_open(data, &opts, &store) != 0 || evs_head(store, &head, NULL) != 0) {
        fprintf(stderr, "bench: cannot read the head of %s\n", data);
        exit(1);
    }
    evs_destroy(&store);
    return head;
}

/* Waits for the first acknowledgement after @p t_kill of an event after @p head (the new
 * active instance's): its time after the kill in ms, or -1 after 30 s. */
static double s_takeover_ms(s_client_t *c, int from, int64_t t_kill, uint64_t head)
{
    int64_t deadline = zclock_mono() + 30000;
    while (zclock_mono() < deadline && !c->failed) {
        pthread_mutex_lock(&c->lock);
        double ms = -1;
        for (int i = from; i < c->acked && ms < 0; i++)
            if (c->acks[i].at > t_kill && c->acks[i].last_seq > head)
                ms = (double) (c->acks[i].at - t_kill) / 1000.0;
        pthread_mutex_unlock(&c->lock);
        if (ms >= 0)
            return ms;
        zclock_sleep(5);
    }
    return -1;
}

static void s_takeover(tc_hosts_t *hs, const char *exe)
{
    for (int h = 0; h < TC_HOSTS; h++)
        if (tc_start(hs, h, exe, "beta", 30000) <= 0) {
            fprintf(stderr, "bench: beta did not start on host %d\n", h + 1);
            exit(1);
        }
    if (tc_wait_active(hs, "beta", 10000) < 0) {
        fprintf(stderr, "bench: no instance of beta became active\n");
        exit(1);
    }
    char eps[1024];
    th_router(hs->host[0], "beta", eps, sizeof eps); /* both instances' routers */
    s_client_t c = {.client =
                        evs_client_new_keyed(eps, th_keys(hs->host[0]), "operator-test", "beta")};
    pthread_mutex_init(&c.lock, NULL);
    pthread_t thread;
    if (!c.client || pthread_create(&thread, NULL, s_client_run, &c) != 0)
        exit(1);
    double ms[S_KILLS];
    int kills = 0;
    for (; kills < S_KILLS && !c.failed; kills++) {
        /* some commands first, and the kill at a varying point of one */
        int before = s_client_acked(&c);
        while (s_client_acked(&c) < before + 20 && !c.failed)
            zclock_sleep(10);
        zclock_sleep(200 + 37 * kills % 300);
        int a = tc_active(hs, "beta");
        if (a < 0) {
            fprintf(stderr, "bench: no active instance before kill %d\n", kills + 1);
            exit(1);
        }
        int from = s_client_acked(&c);
        int64_t t_kill = zclock_usecs();
        th_stop(hs->host[a], "beta", SIGKILL);
        uint64_t head = s_local_head(hs, a);
        ms[kills] = s_takeover_ms(&c, from, t_kill, head);
        if (ms[kills] < 0) {
            fprintf(stderr, "bench: no takeover within 30 s of kill %d\n", kills + 1);
            exit(1);
        }
        /* the killed one started again: a standby that catches up */
        int64_t t0 = zclock_mono();
        char role[16];
        uint64_t seq = 0;
        if (tc_start(hs, a, exe, "beta", 30000) <= 0) {
            fprintf(stderr, "bench: beta did not start again on host %d\n", a + 1);
            exit(1);
        }
        int64_t up = zclock_mono() - t0;
        tc_role(hs, a, "beta", role, sizeof role, NULL, 3000);
        if (strcmp(role, "standby") != 0) {
            fprintf(stderr, "bench: the instance started again is %s, not a standby\n", role);
            exit(1);
        }
        tc_role(hs, 1 - a, "beta", role, sizeof role, &seq, 3000);
        if (!tc_wait_caught_up(hs, a, "beta", seq, 60000)) {
            fprintf(stderr, "bench: the standby did not catch up with group %" PRIu64 "\n", seq);
            exit(1);
        }
        printf("takeover %d: SIGKILL of h%d, the next command acknowledged by h%d after %.0f "
               "ms; h%d started again (a standby) in %" PRId64 " ms, caught up with group %" PRIu64
               " in %" PRId64 " ms\n",
               kills + 1, a + 1, 2 - a, ms[kills], a + 1, up, seq, zclock_mono() - t0 - up);
        fflush(stdout);
    }
    atomic_store(&c.stop, true);
    pthread_join(thread, NULL);
    evs_client_destroy(&c.client);
    /* both instances hold the same counter, which is the count of acknowledgements */
    int a = tc_active(hs, "beta");
    char role[16];
    uint64_t seq = 0;
    tc_role(hs, a, "beta", role, sizeof role, &seq, 3000);
    bool same = a >= 0 && tc_wait_caught_up(hs, 1 - a, "beta", seq, 30000);
    int64_t ca = a >= 0 ? tc_counter(hs, a, "beta", "c") : -1;
    int64_t cs = a >= 0 ? tc_counter(hs, 1 - a, "beta", "c") : -1;
    bool ok = same && !c.failed && c.wrong == 0 && ca == c.acked && cs == c.acked;
    double sorted[S_KILLS];
    memcpy(sorted, ms, sizeof sorted);
    qsort(sorted, S_KILLS, sizeof *sorted, s_cmp_double);
    char all[256] = "";
    for (int i = 0; i < S_KILLS; i++)
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%.0f", i ? " " : "", ms[i]);
    printf("takeover_ms %s ms (kill to the next command acknowledged)\n", all);
    /* nearest rank: the ceil(p * n)-th smallest */
    printf("takeover_p50_ms %.0f ms\n", sorted[(S_KILLS + 1) / 2 - 1]);
    printf("takeover_p99_ms %.0f ms (the largest: %d samples)\n", sorted[S_KILLS - 1], S_KILLS);
    printf("takeover_lease_ttl_ms %d ms (js_lease_ttl_ms; the client's call timeout 2000 ms)\n",
           S_TTL_MS);
    printf("takeover_nothing_lost_or_doubled %s (%d commands acknowledged; the n-th read n "
           "%s; counter on the active %" PRId64 ", on the standby %" PRId64 ")\n",
           ok ? "yes" : "NO", c.acked, c.wrong ? "NOT always" : "every time", ca, cs);
    free(c.acks);
    pthread_mutex_destroy(&c.lock);
    if (!ok)
        exit(1);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const char *exe = th_env("TP_EXAMPLE");
    atexit(s_cleanup);
    s_cluster = tc_cluster_up("bench-cluster", &s_cluster_th);
    const char *const services[] = {"alpha", "beta", NULL};
    if (!s_cluster || tc_hosts_init(&s_hosts, s_cluster, s_cluster_th, services, S_TTL_MS) != 0)
        return 1;
    s_group_commit(s_cluster, &s_hosts, exe);
    s_takeover(&s_hosts, exe);
    tc_hosts_destroy(&s_hosts);
    return tc_cluster_down(&s_cluster, &s_cluster_th);
}
