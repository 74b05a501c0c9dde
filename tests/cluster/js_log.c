/* js_log.c: the replicated log (eventstore/evs_js.h) on three real nats-server nodes: a
 * stream with three replicas; groups appended with the expected last sequence; a stale
 * writer refused, a retry stored once, two writers racing through two servers; all of it
 * read back byte for byte; one node SIGKILLed under appends, then restarted and another
 * killed: appends go on and nothing acknowledged is lost or doubled. */
#include <inttypes.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cluster.h"

/* What the test's writers had acknowledged, by stream sequence. */
static tc_groups_t *s_groups;

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
    natsConnection *nc = NULL;
    jsCtx *raw = NULL;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "TP_GAMMA";
    cfg.Subjects = (const char *[]){"tp.gamma.log"};
    cfg.SubjectsLen = 1;
    cfg.MaxAge = (int64_t) 3600 * 1000000000;
    cfg.Replicas = 3;
    TH_CHECK(natsConnection_ConnectTo(&nc, tc_cluster_urls(c)) == NATS_OK &&
             natsConnection_JetStream(&raw, nc, NULL) == NATS_OK &&
             js_AddStream(NULL, raw, &cfg, NULL, NULL) == NATS_OK);
    jsCtx_Destroy(raw);
    natsConnection_Destroy(nc);
    TH_CHECK(evs_js_log_open(js, "gamma", EVS_JS_CREATE, &again) == EVS_MISMATCH && !again);
    printf("a stream with a max age: %s\n", evs_js_error());
}

/* ---------------------------------------------------------------- appending */

static void s_appends(evs_js_log_t *log, int count)
{
    int64_t t0 = zclock_mono();
    for (int i = 0; i < count; i++) {
        uint64_t first = tc_groups_next(s_groups), last = tc_groups_last(s_groups);
        uint32_t n = 1 + (uint32_t) (first % 5);
        evs_js_ack_t ack;
        int rc = tc_groups_append(log, "writer-a", first, n, last, &ack);
        TH_CHECK(rc == 0 && !ack.duplicate && ack.seq == last + 1);
        if (rc != 0) {
            fprintf(stderr, "append: %s\n", evs_js_error());
            return;
        }
        tc_groups_acked(s_groups, ack.seq, "writer-a", first, n);
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
    uint64_t last = tc_groups_last(s_groups);
    int rc = tc_groups_append(stale, "writer-b", 900000, 2, last - 1, &ack);
    TH_CHECK(rc == EVS_CONFLICT && ack.seq == last && !ack.duplicate);
    printf("a writer that believes %" PRIu64 " is last: %s; told %" PRIu64 " (%s)\n", last - 1,
           evs_js_strerror(rc), ack.seq, evs_js_error());
    TH_CHECK(tc_groups_append(stale, "writer-b", 900000, 2, last + 5, &ack) == EVS_CONFLICT);
    TH_CHECK(tc_groups_append(stale, "writer-b", 900000, 2, 0, &ack) == EVS_CONFLICT);
    /* the writer's own last group again, with the same expectation: stored once */
    const tc_group_t *g = tc_groups_at(s_groups, last);
    rc = tc_groups_append(log, g->writer, g->first, g->n, last - 1, &ack);
    TH_CHECK(rc == 0 && ack.duplicate && ack.seq == last);
    /* a group that reuses the message id of an older group, after another was appended:
     * the server takes it for the older one's retry (the duplicate window) */
    g = tc_groups_at(s_groups, 1);
    rc = tc_groups_append(log, "writer-a", g->first, g->n, last, &ack);
    TH_CHECK(rc == 0 && ack.duplicate && ack.seq == 1);
    evs_js_info_t info;
    TH_CHECK(evs_js_log_info(log, &info) == 0 && info.last_seq == last);
    TH_CHECK(evs_js_append(log, "bad:id", 1, last, NULL, 0, &ack) == EVS_INVALID);
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
    return tc_groups_append(r->log, r->writer, r->first, 2, r->expect, &r->ack);
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
            r[i].first = tc_groups_next(s_groups), r[i].expect = tc_groups_last(s_groups);
        won[tc_race(s_racer_run, (void *[]){&r[0], &r[1]}, rc)]++;
        for (int i = 0; i < 2; i++)
            if (rc[i] == 0)
                tc_groups_acked(s_groups, r[i].ack.seq, r[i].writer, r[i].first, 2);
        for (int i = 0; i < 2; i++) /* the loser is told the winner's sequence */
            TH_CHECK(rc[i] == 0 ||
                     (rc[i] == EVS_CONFLICT && r[i].ack.seq == tc_groups_last(s_groups)));
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

static void s_node_kill(tc_cluster_t *c, evs_js_log_t *check)
{
    evs_js_t *js = tc_connect(c, NULL, "loader");
    evs_js_log_t *log = NULL;
    TH_CHECK(js && evs_js_log_open(js, "alpha", 0, &log) == 0);
    tc_load_t *load = log ? tc_load_start(s_groups, log, "loader") : NULL;
    TH_CHECK(load);
    if (!load) {
        evs_js_log_destroy(&log);
        evs_js_destroy(&js);
        return;
    }
    uint64_t at_start = tc_groups_last(s_groups);
    TH_CHECK(tc_load_wait(load, 0, 100, 10000) >= 0);

    /* the stream's leader: the hardest node to lose (a new one must be elected) */
    evs_js_info_t info;
    TH_CHECK(evs_js_log_info(check, &info) == 0);
    int leader = tc_cluster_node(c, info.leader);
    TH_CHECK(leader >= 0);
    if (leader < 0)
        leader = 0;
    tc_load_stats_t st;
    tc_load_stats(load, &st);
    uint64_t before = st.acked;
    tc_cluster_stop(c, leader, SIGKILL);
    int64_t went_on = tc_load_wait(load, before, 100, 20000);
    TH_CHECK(went_on >= 0);
    printf("SIGKILL of %s (the stream's leader) at group %" PRIu64 ": 100 more acknowledged "
           "within %" PRId64 " ms\n",
           tc_cluster_name(c, leader), at_start + before, went_on);

    /* back on its store: it catches up while appends go on */
    int64_t t0 = zclock_mono();
    TH_CHECK(tc_cluster_start(c, leader, 10000));
    int64_t current = tc_wait_current(check, 30000);
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
    tc_load_stats(load, &st);
    before = st.acked;
    tc_cluster_stop(c, other, SIGKILL);
    went_on = tc_load_wait(load, before, 100, 20000);
    TH_CHECK(went_on >= 0);
    printf("SIGKILL of %s (a follower; %s leads): 100 more acknowledged within %" PRId64 " ms\n",
           tc_cluster_name(c, other), info.leader, went_on);

    tc_load_stop(&load, &st);
    TH_CHECK(st.failed == 0);
    printf("under the kills: %" PRIu64 " groups acknowledged, %d appends tried again, longest "
           "wait for an acknowledgement %" PRId64 " ms\n",
           st.acked, st.retries, st.max_gap_ms);
    tc_groups_read_back(s_groups, check, "with one node down");
    TH_CHECK(tc_cluster_start(c, other, 10000));
    TH_CHECK(tc_wait_current(check, 30000) >= 0);
    tc_groups_read_back(s_groups, check, "with all three back");
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
}

int main(void)
{
    th_t *th = NULL;
    tc_cluster_t *c = tc_cluster_up("cluster-log", &th);
    if (!c)
        return 1;
    s_groups = tc_groups_new(50000);
    evs_js_t *js = tc_connect(c, NULL, "writer-a");
    evs_js_t *other = tc_connect(c, tc_cluster_url(c, 1), "writer-b");
    evs_js_log_t *log = NULL;
    TH_CHECK(s_groups && js && other);
    if (s_groups && js && other)
        s_stream(c, js, &log);
    if (log) {
        s_appends(log, 300);
        uint64_t last = 0;
        TH_CHECK(evs_js_get(log, EVS_JS_LAST, s_last_fn, &last) == 0 &&
                 last == tc_groups_last(s_groups));
        s_conflicts(other, log);
        s_race(c, 40);
        tc_groups_read_back(s_groups, log, "after the appends");
        s_node_kill(c, log);
    }
    evs_js_log_destroy(&log);
    evs_js_destroy(&other);
    evs_js_destroy(&js);
    tc_groups_destroy(&s_groups);
    return tc_cluster_down(&c, &th);
}
