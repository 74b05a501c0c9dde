/* js_log.c: the replicated log (eventstore/evs_js.h) on three real nats-server nodes: a
 * stream with three replicas; groups appended with the expected last sequence; a stale
 * writer refused, a retry stored once, two writers racing through two servers; all of it
 * read back byte for byte; one node SIGKILLed under appends, then restarted and another
 * killed: appends go on and nothing acknowledged is lost or doubled. */
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cluster.h"

/* What the test's writers had acknowledged, by stream sequence. */
#define S_MAX_GROUPS 50000
typedef struct {
    char writer[16]; /* who wrote it */
    uint64_t first;  /* its first log sequence */
    uint32_t n;      /* its records */
} s_group_t;
static s_group_t s_groups[S_MAX_GROUPS + 1];
static uint64_t s_last;         /* the last stream sequence acknowledged */
static uint64_t s_log_next = 1; /* the next log sequence to give a record */

/* Record i of a group whose first log sequence is @p first: its length and bytes depend on
 * its log sequence only, so a reader can tell every byte. */
#define S_REC_MAX 1500
static size_t s_rec_len(uint64_t seq)
{
    return 1 + (size_t) ((seq * 7919) % S_REC_MAX);
}
static uint8_t s_rec_byte(uint64_t seq, size_t i)
{
    return (uint8_t) (seq * 131 + i * 31);
}

/* Makes the @p n records (n <= 5) of the group that starts at log sequence @p first. */
static void s_make(uint64_t first, uint32_t n, evs_record_t *recs, uint8_t *buf)
{
    for (uint32_t k = 0; k < n; k++) {
        uint64_t seq = first + k;
        uint8_t *p = buf + k * S_REC_MAX;
        recs[k] = (evs_record_t){.seq = seq, .data = p, .len = s_rec_len(seq)};
        for (size_t i = 0; i < recs[k].len; i++)
            p[i] = s_rec_byte(seq, i);
    }
}

/* Appends the group (writer, first, n) after @p expect. */
static int s_append(evs_js_log_t *log, const char *writer, uint64_t first, uint32_t n,
                    uint64_t expect, evs_js_ack_t *ack)
{
    evs_record_t recs[5];
    static _Thread_local uint8_t buf[5 * S_REC_MAX];
    s_make(first, n, recs, buf);
    return evs_js_append(log, writer, first, expect, recs, n, ack);
}

/* Notes an acknowledged group in the table. */
static void s_acked(uint64_t seq, const char *writer, uint64_t first, uint32_t n)
{
    TH_CHECK(seq == s_last + 1 && seq <= S_MAX_GROUPS);
    if (seq > S_MAX_GROUPS)
        return;
    snprintf(s_groups[seq].writer, sizeof s_groups[seq].writer, "%s", writer);
    s_groups[seq].first = first;
    s_groups[seq].n = n;
    s_last = seq;
    s_log_next = first + n;
}

/* ------------------------------------------------------------------- reading back */

typedef struct {
    uint64_t groups;  /* groups seen */
    uint64_t records; /* their records */
    uint64_t bytes;   /* their bytes */
    int bad;          /* groups that differ from what was acknowledged */
} s_seen_t;

static int s_check_record(const evs_record_t *rec, void *arg)
{
    s_seen_t *seen = arg;
    bool same = rec->len == s_rec_len(rec->seq);
    for (size_t i = 0; same && i < rec->len; i++)
        same = rec->data[i] == s_rec_byte(rec->seq, i);
    seen->records++;
    seen->bytes += rec->len;
    return same ? 0 : 1;
}

static int s_check_group(const evs_js_group_t *g, void *arg)
{
    s_seen_t *seen = arg;
    const s_group_t *want = g->seq <= S_MAX_GROUPS ? &s_groups[g->seq] : NULL;
    uint64_t records = seen->records;
    bool same = want && strcmp(g->writer, want->writer) == 0 && g->first_seq == want->first &&
                evs_js_group_each(g, s_check_record, seen) == 0 &&
                seen->records - records == want->n;
    if (!same) {
        fprintf(stderr, "group %" PRIu64 " (%s:%" PRIu64 ") is not what was acknowledged\n", g->seq,
                g->writer, g->first_seq);
        seen->bad++;
    }
    seen->groups++;
    return 0;
}

/* Reads the whole stream and checks it against the table: every group acknowledged, at
 * its place, byte for byte, and nothing else. */
static void s_read_back(evs_js_log_t *log, const char *when)
{
    s_seen_t seen = {0};
    int64_t t0 = zclock_mono();
    int rc = evs_js_read(log, 1, UINT64_MAX, s_check_group, &seen);
    int64_t ms = zclock_mono() - t0;
    if (rc != 0)
        fprintf(stderr, "read: %s\n", evs_js_error());
    TH_CHECK(rc == 0);
    TH_CHECK(seen.groups == s_last && seen.bad == 0);
    evs_js_info_t info;
    TH_CHECK(evs_js_log_info(log, &info) == 0 && info.last_seq == s_last && info.groups == s_last);
    printf("read back %s: %" PRIu64 " groups, %" PRIu64 " records, %" PRIu64 " bytes in %" PRId64
           " ms, %d differ\n",
           when, seen.groups, seen.records, seen.bytes, ms, seen.bad);
}

/* The group's sequence into *arg; checks its time is now (ns since the epoch). */
static int s_last_fn(const evs_js_group_t *g, void *arg)
{
    *(uint64_t *) arg = g->seq;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age_ms = ((int64_t) now.tv_sec * 1000000000 + now.tv_nsec - g->time_ns) / 1000000;
    TH_CHECK(age_ms > -5000 && age_ms < 60000);
    return 0;
}

/* ------------------------------------------------------------ the stream itself */

static void s_stream(tc_cluster_t *c, evs_js_t *js, evs_js_log_t **log)
{
    TH_CHECK(evs_js_log_open(js, "alpha", 0, log) == EVS_NOTFOUND && !*log);
    TH_CHECK(evs_js_log_open(js, "Alpha", EVS_JS_CREATE, log) == EVS_INVALID);
    TH_CHECK(evs_js_log_open(js, "alpha", EVS_JS_CREATE, log) == 0);
    if (!*log)
        return;
    TH_CHECK(strcmp(evs_js_log_stream(*log), "TP_ALPHA") == 0);
    TH_CHECK(strcmp(evs_js_log_subject(*log), "tp.alpha.log") == 0);
    evs_js_info_t info;
    TH_CHECK(evs_js_log_info(*log, &info) == 0 && info.replicas == 3 && info.last_seq == 0);
    printf("stream TP_ALPHA: 3 replicas, leader %s\n", info.leader);
    uint64_t seq = 99;
    TH_CHECK(evs_js_get(*log, EVS_JS_LAST, s_last_fn, &seq) == EVS_NOTFOUND && seq == 99);

    /* the same stream opened again, without creating; a second instance creating it */
    evs_js_log_t *again = NULL;
    TH_CHECK(evs_js_log_open(js, "alpha", 0, &again) == 0);
    evs_js_log_destroy(&again);
    TH_CHECK(evs_js_log_open(js, "alpha", EVS_JS_CREATE, &again) == 0);
    evs_js_log_destroy(&again);
    evs_js_log_destroy(&again);

    /* a stream of that name that could drop groups is refused, not changed */
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "TP_GAMMA";
    cfg.Subjects = (const char *[]){"tp.gamma.log"};
    cfg.SubjectsLen = 1;
    cfg.MaxAge = (int64_t) 3600 * 1000000000;
    cfg.Replicas = 3;
    TH_CHECK(tc_add_stream(c, &cfg));
    TH_CHECK(evs_js_log_open(js, "gamma", EVS_JS_CREATE, &again) == EVS_MISMATCH && !again);
    printf("a stream with a max age: %s\n", evs_js_error());
}

/* ---------------------------------------------------------------- appending */

static void s_appends(evs_js_log_t *log, int count)
{
    int64_t t0 = zclock_mono();
    for (int i = 0; i < count; i++) {
        uint32_t n = 1 + (uint32_t) (s_log_next % 5);
        evs_js_ack_t ack;
        int rc = s_append(log, "writer-a", s_log_next, n, s_last, &ack);
        TH_CHECK(rc == 0 && !ack.duplicate && ack.seq == s_last + 1);
        if (rc != 0) {
            fprintf(stderr, "append: %s\n", evs_js_error());
            return;
        }
        s_acked(ack.seq, "writer-a", s_log_next, n);
    }
    int64_t ms = zclock_mono() - t0;
    printf("appended %d groups one after the other in %" PRId64 " ms (%.0f groups/s)\n", count, ms,
           ms > 0 ? count * 1000.0 / (double) ms : 0.0);
}

/* A writer that believes an older sequence is last is refused, and told the real one; a
 * retry of the last group is recognised; appending past the end is refused too. */
static void s_conflicts(evs_js_t *other, evs_js_log_t *log)
{
    evs_js_log_t *stale = NULL;
    TH_CHECK(evs_js_log_open(other, "alpha", 0, &stale) == 0);
    if (!stale)
        return;
    evs_js_ack_t ack;
    int rc = s_append(stale, "writer-b", 900000, 2, s_last - 1, &ack);
    TH_CHECK(rc == EVS_CONFLICT && ack.seq == s_last && !ack.duplicate);
    printf("a writer that believes %" PRIu64 " is last: %s; told %" PRIu64 " (%s)\n", s_last - 1,
           evs_js_strerror(rc), ack.seq, evs_js_error());
    TH_CHECK(s_append(stale, "writer-b", 900000, 2, s_last + 5, &ack) == EVS_CONFLICT);
    TH_CHECK(s_append(stale, "writer-b", 900000, 2, 0, &ack) == EVS_CONFLICT);
    /* the writer's own last group again, with the same expectation: stored once */
    const s_group_t *g = &s_groups[s_last];
    rc = s_append(log, g->writer, g->first, g->n, s_last - 1, &ack);
    TH_CHECK(rc == 0 && ack.duplicate && ack.seq == s_last);
    /* a group that reuses the message id of an older group, after another was appended:
     * the server takes it for the older one's retry (the duplicate window) */
    rc = s_append(log, "writer-a", s_groups[1].first, s_groups[1].n, s_last, &ack);
    TH_CHECK(rc == 0 && ack.duplicate && ack.seq == 1);
    evs_js_info_t info;
    TH_CHECK(evs_js_log_info(log, &info) == 0 && info.last_seq == s_last);
    TH_CHECK(evs_js_append(log, "bad:id", 1, s_last, NULL, 0, &ack) == EVS_INVALID);
    evs_js_log_destroy(&stale);
}

/* Two writers, each on its own connection to another node, append at the same moment
 * naming the same last sequence: one group is stored, the other refused, every round. */
typedef struct {
    evs_js_log_t *log;
    const char *writer;
    uint64_t first, expect;
    evs_js_ack_t ack;
} s_racer_t;

static int s_racer_run(void *arg)
{
    s_racer_t *r = arg;
    return s_append(r->log, r->writer, r->first, 2, r->expect, &r->ack);
}

static void s_race(tc_cluster_t *c, int rounds)
{
    evs_js_t *js[2] = {tc_connect(c, tc_cluster_url(c, 0), "racer-a"),
                       tc_connect(c, tc_cluster_url(c, 2), "racer-b")};
    s_racer_t r[2] = {{.writer = "racer-a"}, {.writer = "racer-b"}};
    for (int i = 0; i < 2; i++)
        TH_CHECK(js[i] && evs_js_log_open(js[i], "alpha", 0, &r[i].log) == 0);
    int won[3] = {0, 0, 0}; /* rounds where none, one, both were stored */
    for (int round = 0; round < rounds && r[0].log && r[1].log; round++) {
        int rc[2];
        for (int i = 0; i < 2; i++)
            r[i].first = s_log_next, r[i].expect = s_last;
        won[tc_race(s_racer_run, (void *[]){&r[0], &r[1]}, rc)]++;
        for (int i = 0; i < 2; i++)
            if (rc[i] == 0)
                s_acked(r[i].ack.seq, r[i].writer, r[i].first, 2);
        for (int i = 0; i < 2; i++) /* the loser is told the winner's sequence */
            TH_CHECK(rc[i] == 0 || (rc[i] == EVS_CONFLICT && r[i].ack.seq == s_last));
    }
    TH_CHECK(won[1] == rounds);
    printf("two writers racing with the same expected sequence, %d rounds: one stored %d "
           "times, both %d, none %d\n",
           rounds, won[1], won[2], won[0]);
    for (int i = 0; i < 2; i++) {
        evs_js_log_destroy(&r[i].log);
        evs_js_destroy(&js[i]);
    }
}

/* ------------------------------------------------------- a node killed under appends */

typedef struct {
    tc_load_t load;    /* the tally */
    evs_js_log_t *log; /* the loader's */
    uint64_t first;    /* the group under way: its first log sequence */
    uint64_t expect;   /* the last stream sequence it names */
    uint32_t n;        /* its records */
    evs_js_ack_t ack;  /* what it got */
} s_load_t;

static int s_load_append(void *arg)
{
    s_load_t *l = arg;
    return s_append(l->log, "loader", l->first, l->n, l->expect, &l->ack);
}

static void *s_load_run(void *arg)
{
    s_load_t *l = arg;
    while (!atomic_load(&l->load.stop)) {
        l->first = s_log_next;
        l->expect = s_last;
        l->n = 1 + (uint32_t) (l->first % 3);
        /* the same group again until it is acknowledged: stored once, whatever happened */
        if (tc_load_call(&l->load, s_load_append, l) != 0)
            break;
        s_acked(l->ack.seq, "loader", l->first, l->n);
        atomic_fetch_add(&l->load.acked, 1);
    }
    return NULL;
}

/* Waits until the load has @p more acknowledgements than @p from; the time it took, or -1. */
static int64_t s_wait_acks(s_load_t *l, uint64_t from, uint64_t more, int timeout_ms)
{
    return tc_load_wait(&l->load, from + more, timeout_ms);
}

/* Waits until every replica of the stream is current; the time it took, or -1. */
static int64_t s_wait_current(evs_js_log_t *log, int timeout_ms)
{
    int64_t t0 = zclock_mono();
    evs_js_info_t info;
    while (evs_js_log_info(log, &info) != 0 || info.current < TC_NODES) {
        if (zclock_mono() - t0 > timeout_ms)
            return -1;
        zclock_sleep(50);
    }
    return zclock_mono() - t0;
}

static void s_node_kill(tc_cluster_t *c, evs_js_log_t *check)
{
    evs_js_t *js = tc_connect(c, NULL, "loader");
    s_load_t l = {0};
    TH_CHECK(js && evs_js_log_open(js, "alpha", 0, &l.log) == 0);
    if (!l.log) {
        evs_js_destroy(&js);
        return;
    }
    uint64_t at_start = s_last;
    pthread_t t;
    pthread_create(&t, NULL, s_load_run, &l);
    TH_CHECK(s_wait_acks(&l, 0, 100, 10000) >= 0);

    /* the stream's leader: the hardest node to lose (a new one must be elected) */
    evs_js_info_t info;
    TH_CHECK(evs_js_log_info(check, &info) == 0);
    int leader = tc_cluster_node(c, info.leader);
    TH_CHECK(leader >= 0);
    if (leader < 0)
        leader = 0;
    uint64_t before = atomic_load(&l.load.acked);
    tc_cluster_stop(c, leader, SIGKILL);
    int64_t went_on = s_wait_acks(&l, before, 100, 20000);
    TH_CHECK(went_on >= 0);
    printf("SIGKILL of %s (the stream's leader) at group %" PRIu64 ": 100 more acknowledged "
           "within %" PRId64 " ms\n",
           tc_cluster_name(c, leader), at_start + before, went_on);

    /* back on its store: it catches up while appends go on */
    int64_t t0 = zclock_mono();
    TH_CHECK(tc_cluster_start(c, leader, 10000));
    int64_t current = s_wait_current(check, 30000);
    TH_CHECK(current >= 0);
    printf("%s restarted: every replica current %" PRId64 " ms after its start\n",
           tc_cluster_name(c, leader), current >= 0 ? zclock_mono() - t0 : -1);

    /* a follower lost, not the restarted node: the restarted one now makes the quorum
     * (with the leader, which stays: no election this time) */
    TH_CHECK(evs_js_log_info(check, &info) == 0);
    int now_leading = tc_cluster_node(c, info.leader);
    int other = (leader + 1) % TC_NODES;
    if (other == now_leading)
        other = (leader + 2) % TC_NODES;
    before = atomic_load(&l.load.acked);
    tc_cluster_stop(c, other, SIGKILL);
    went_on = s_wait_acks(&l, before, 100, 20000);
    TH_CHECK(went_on >= 0);
    printf("SIGKILL of %s (a follower; %s leads): 100 more acknowledged within %" PRId64 " ms\n",
           tc_cluster_name(c, other), info.leader, went_on);

    atomic_store(&l.load.stop, true);
    pthread_join(t, NULL);
    TH_CHECK(l.load.failed == 0);
    printf("under the kills: %" PRIu64 " groups acknowledged, %d appends tried again, longest "
           "wait for an acknowledgement %" PRId64 " ms\n",
           (uint64_t) atomic_load(&l.load.acked), l.load.retries, l.load.max_gap_ms);
    s_read_back(check, "with one node down");
    TH_CHECK(tc_cluster_start(c, other, 10000));
    TH_CHECK(s_wait_current(check, 30000) >= 0);
    s_read_back(check, "with all three back");
    evs_js_log_destroy(&l.log);
    evs_js_destroy(&js);
}

int main(void)
{
    th_t *th = NULL;
    tc_cluster_t *c = tc_cluster_up("cluster-log", &th);
    if (!c)
        return 1;
    evs_js_t *js = tc_connect(c, NULL, "writer-a");
    evs_js_t *other = tc_connect(c, tc_cluster_url(c, 1), "writer-b");
    evs_js_log_t *log = NULL;
    TH_CHECK(js && other);
    if (js && other)
        s_stream(c, js, &log);
    if (log) {
        s_appends(log, 300);
        uint64_t last = 0;
        TH_CHECK(evs_js_get(log, EVS_JS_LAST, s_last_fn, &last) == 0 && last == s_last);
        s_conflicts(other, log);
        s_race(c, 40);
        s_read_back(log, "after the appends");
        s_node_kill(c, log);
    }
    evs_js_log_destroy(&log);
    evs_js_destroy(&other);
    evs_js_destroy(&js);
    return tc_cluster_down(&c, &th);
}
