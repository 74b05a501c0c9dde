/* production_bench.c: the producers' feed under load (issue 4), all five daemons real,
 * prints `NAME VALUE UNIT` lines:
 *
 *   producer_facts_per_s   16 producers (threads, each its own CURVE connection to the
 *                          production service's producer endpoint, 64 facts in flight
 *                          each) send the six facts of TP_BENCH_JOBS released jobs
 *                          (default 3,400: 20,400 facts); every fact acknowledged only
 *                          once durable (group commit)
 *   fact_ack_p50_ms/_p99_ms   at 1,000 facts/s (TP_BENCH_RATE; paced, RecordCardShipped
 *                          and RecordPinLetterShipped alternating): send -> acknowledgement
 *   fact_to_order_p50_ms/_p99_ms/_max_ms   the same facts: from a RecordCardShipped's
 *                          acknowledgement to the order service's OrderShipped arriving on
 *                          its PUB socket (committed: GetOrder shows "versendet"), over
 *                          TP_BENCH_LATENCY_JOBS jobs (default 1,000)
 *   producer_facts_batched_per_s   the same as producer_facts_per_s with the facts of
 *                          TP_BENCH_BATCHED_JOBS other jobs (default 3,400), TP_BENCH_BATCH
 *                          (default 32) to a "$batch" request, each fact with its own
 *                          request id and reply, the same 64 facts in flight per producer;
 *                          batched_vs_single_ratio: the two side by side
 *   production_cpu_us_per_fact(_batched)   the production daemon's CPU time (all its
 *                          threads, /proc) per fact in each phase: steady under steal
 *   paced_steal_pct        the share of the machine's CPU time the hypervisor gave to
 *                          others (steal) during the paced facts: it decides their tail
 *   paced_slow_commits     commits of any daemon that took over 3 ms meanwhile
 *                          (TP_BENCH_SLOW_COMMIT_MS; the daemons' log lines on stderr)
 *
 * The CPU time each process took while the facts went in (and the steal) goes to stderr;
 * TP_BENCH_PAUSE_S=N waits N seconds before them (to attach a profiler).
 * TP_BENCH_ISOLATED=1 pauses the other four daemons (SIGSTOP) while the facts go in and
 * prints producer_facts_isolated_per_s instead: the production service alone.
 * TP_BENCH_PLAIN=1 sends them over the plain request socket (role producer) instead of
 * the CURVE endpoint: producer_facts_plain_per_s. TP_BENCH_PIPELINE=0 runs every
 * service with `pipeline = 0` (one group at a time), for comparison.
 *
 * The jobs are released the real way: PlaceOrder (Argon2id of the revocation password on
 * the order service's worker pool: the slow part of the setup), a NotarIdent result and
 * the signed application. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "evs_keys.h"
#include "pipeline.h"
#include "prodflow.h"

#define PRODUCERS 16
#define INFLIGHT  64

typedef struct {
    int n;                /* jobs of the throughput phases: single facts, then batches */
    int nb;               /* of them the last nb: the batched phase */
    int l;                /* jobs of the latency phase, after them */
    int rate;             /* facts per second in the latency phase */
    char (*orders)[24];   /* order id of each job */
    zhashx_t *index;      /* order id -> job index + 1 */
    fl_order_t order;     /* the PlaceOrder every order is placed with */
    int64_t from_us, to_us;
    int64_t *t_send, *t_ack, *t_event; /* per latency job (µs, zclock_usecs) */
    int64_t *t_commit;    /* per latency job: from the OrderShipped's recorded_at_us (its
                           * batch's begin, wall clock) to its arrival here */
    volatile bool stop;
    char pub[400];
    const char *keys;         /* the keys folder */
} s_bench_t;

/* One thread's part of the throughput phase: jobs t, t + 16, ...; fact i is stage
 * i / jobs of job i % jobs: each stage reaches every job of the thread before the next
 * stage starts, so no fact overtakes its predecessor. */
typedef struct {
    s_bench_t *b;
    int t, jobs;
    int base;             /* the phase's first job */
    int stride;           /* threads */
    int first_stage;
    int facts;            /* facts of this part: jobs * stages */
    int batch;            /* facts per request ("$batch"); 1: each fact alone */
    int items_ok, items_refused;   /* the batches' items */
} s_part_t;

static const char *const s_cmds[6] = {
    "production.RecordCertificates",     "production.RecordCardProduced",
    "production.RecordCardShipped",      "production.RecordPinLetterShipped",
    "production.RecordCardDelivered",    "production.RecordPinLetterDelivered"};

/* Fact @p stage of job @p j into @p body. */
static size_t s_fact(s_bench_t *b, int j, int stage, uint8_t *body)
{
    const char *order = b->orders[j];
    char fact[48], serial[2][24], number[24];
    snprintf(fact, sizeof fact, "bench:%d:%d", j, stage);
    Tp__Production__Certificate c[2] = {TP__PRODUCTION__CERTIFICATE__INIT,
                                        TP__PRODUCTION__CERTIFICATE__INIT};
    Tp__Production__Certificate *cp[2] = {&c[0], &c[1]};
    Tp__Production__RecordCertificates certs = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    Tp__Production__RecordCardProduced card = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    Tp__Production__RecordCardShipped ship = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    switch (stage) {
    case 0:
        for (int k = 0; k < 2; k++) {
            snprintf(serial[k], sizeof serial[k], "be%08x%02x", (unsigned) j, (unsigned) k);
            c[k].serial = serial[k];
            c[k].kind = (char *) (k ? "authentication" : "signature");
            c[k].valid_from_us = b->from_us;
            c[k].valid_to_us = b->to_us;
            c[k].subject = "CN=Erika Mustermann";
        }
        certs.fact_id = fact, certs.order_id = (char *) order;
        certs.certificates = cp, certs.n_certificates = 2;
        return tp__production__record_certificates__pack(&certs, body);
    case 1:
        snprintf(number, sizeof number, "BC%08d", j);
        card.fact_id = fact, card.order_id = (char *) order, card.card_number = number;
        return tp__production__record_card_produced__pack(&card, body);
    case 2:
    case 3:
        /* the card's and the PIN letter's numbers differ (they travel apart) */
        snprintf(number, sizeof number, "%s%08dDE", stage == 2 ? "RR" : "RP", j);
        ship.fact_id = fact, ship.order_id = (char *) order, ship.tracking_number = number;
        /* RecordPinLetterShipped has the same fields and tags */
        return tp__production__record_card_shipped__pack(&ship, body);
    default:
        /* RecordCardDelivered and RecordPinLetterDelivered: fact_id, order_id */
        card.fact_id = fact, card.order_id = (char *) order;
        return tp__production__record_card_produced__pack(&card, body);
    }
}

/* Fact @p f of part @p p: its command, and its body into @p body. */
static const char *s_part_fact(s_part_t *p, int f, uint8_t *body, size_t *len)
{
    int stage = p->first_stage + f / p->jobs;
    int j = p->base + p->t + (f % p->jobs) * p->stride;
    *len = s_fact(p->b, j, stage, body);
    return s_cmds[stage];
}

/* Request i: fact i alone, or facts [i * batch, (i + 1) * batch) as one "$batch". */
static bool s_build_part(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    s_part_t *p = arg;
    req->role = "producer";
    if (p->batch <= 1) {
        req->command = s_part_fact(p, i, body, &req->body_len);
        return req->body_len <= cap;
    }
    int from = i * p->batch, to = from + p->batch < p->facts ? from + p->batch : p->facts;
    Tp__BatchItem items[SVC_BATCH_MAX], *ip[SVC_BATCH_MAX];
    uint8_t bodies[SVC_BATCH_MAX][320];
    char ids[SVC_BATCH_MAX][24];
    for (int f = from; f < to; f++) {
        Tp__BatchItem *it = &items[f - from];
        tp__batch_item__init(it);
        snprintf(ids[f - from], sizeof ids[0], "b%d.%d", p->t, f);
        it->request_id = ids[f - from];
        it->command = (char *) s_part_fact(p, f, bodies[f - from], &it->body.len);
        it->body.data = bodies[f - from];
        ip[f - from] = it;
    }
    Tp__Batch b = TP__BATCH__INIT;
    b.items = ip;
    b.n_items = (size_t) (to - from);
    req->command = SVC_BATCH;
    req->body_len = tp__batch__get_packed_size(&b);
    return req->body_len <= cap && tp__batch__pack(&b, body) == req->body_len;
}

/* A batch's answer: each item's reply counted. */
static void s_part_reply(void *arg, int i, const Tp__Reply *r, int64_t at_us)
{
    s_part_t *p = arg;
    Tp__BatchReply *br =
        p->batch > 1 && r->ok ? tp__batch_reply__unpack(NULL, r->body.len, r->body.data) : NULL;
    for (size_t k = 0; br && k < br->n_replies; k++) {
        Tp__Reply *ir = tp__reply__unpack(NULL, br->replies[k].len, br->replies[k].data);
        if (ir && ir->ok)
            p->items_ok++;
        else
            p->items_refused++;
        if (ir)
            tp__reply__free_unpacked(ir, NULL);
    }
    if (br)
        tp__batch_reply__free_unpacked(br, NULL);
}

/* Runs @p threads loaders over the facts [first_stage, first_stage + stages) of jobs
 * [base, base + jobs), @p batch facts per request (1: one each) and INFLIGHT facts in
 * flight per loader either way; facts acknowledged ok per second, or -1. */
static double s_facts(s_bench_t *b, pf_t *pf, bool curve, int base, int jobs, int first_stage,
                      int stages, int threads, int batch, const char *prefix)
{
    s_part_t parts[PRODUCERS];
    pl_load_t loads[PRODUCERS];
    pthread_t tid[PRODUCERS];
    char router[400], prefixes[PRODUCERS][32];
    th_router(pf->th, "production", router, sizeof router);
    for (int t = 0; t < threads; t++) {
        parts[t] = (s_part_t) {b, t, jobs / threads + (t < jobs % threads), base, threads,
                               first_stage};
        parts[t].facts = parts[t].jobs * stages;
        parts[t].batch = batch > 1 ? batch : 1;
        snprintf(prefixes[t], sizeof prefixes[t], "%s%d", prefix, t);
        loads[t] = (pl_load_t) {0};
        loads[t].endpoint = curve ? pf->producer_ep : router;
        loads[t].keys_dir = th_keys(pf->th);
        loads[t].me = curve ? PF_LINE_KEY : "producer-test";
        loads[t].server = "production";
        loads[t].prefix = prefixes[t];
        loads[t].count = (parts[t].facts + parts[t].batch - 1) / parts[t].batch;
        loads[t].inflight = INFLIGHT / parts[t].batch > 1 ? INFLIGHT / parts[t].batch : 1;
        loads[t].on_reply = s_part_reply;
        loads[t].timeout_ms = 10000;
        loads[t].give_up_ms = 300000;
        loads[t].build = s_build_part;
        loads[t].arg = &parts[t];
        pthread_create(&tid[t], NULL, pl_run, &loads[t]);
    }
    int64_t start = INT64_MAX, end = 0;
    int ok = 0, refused = 0, resends = 0, total = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        start = loads[t].started_us < start ? loads[t].started_us : start;
        end = loads[t].finished_us > end ? loads[t].finished_us : end;
        if (parts[t].batch > 1) {
            ok += parts[t].items_ok;
            refused += loads[t].refused + parts[t].items_refused;
        }
        else {
            ok += loads[t].acked - loads[t].refused;
            refused += loads[t].refused;
        }
        resends += loads[t].resends;
        total += parts[t].facts;
    }
    if (refused || resends || ok != total)
        fprintf(stderr, "production_bench: %d of %d facts ok, %d refused, %d resent\n", ok, total,
                refused, resends);
    return ok == total && end > start ? ok * 1e6 / (double) (end - start) : -1;
}

/* ------------------------------------------------------------------ releasing jobs */

static bool s_build_place(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    s_bench_t *b = arg;
    static char accounts[50][32];
    snprintf(accounts[i % 50], sizeof accounts[0], "acc-bench-%02d", i % 50);
    req->command = "order.PlaceOrder";
    req->role = "customer";
    req->account = accounts[i % 50];
    req->body_len = protobuf_c_message_get_packed_size(&b->order.cmd.base);
    return req->body_len <= cap && protobuf_c_message_pack(&b->order.cmd.base, body);
}

static void s_placed(void *arg, int i, const Tp__Reply *r, int64_t at_us)
{
    s_bench_t *b = arg;
    Tp__Order__OrderView *v = fl_view(r);
    if (v) {
        snprintf(b->orders[i], sizeof b->orders[i], "%s", v->order_id);
        zhashx_insert(b->index, v->order_id, (void *) (intptr_t) (i + 1));
        tp__order__order_view__free_unpacked(v, NULL);
    }
}

static bool s_build_result(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    s_bench_t *b = arg;
    Tp__Identification__RecordResult rr = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    rr.order_id = b->orders[i];
    rr.succeeded = true;
    rr.evidence_ref = "UR 1234/2026";
    rr.identified_by = "Notarin Dr. Muster";
    req->command = "identification.RecordResult";
    req->role = "operator";
    req->account = "op-bench";
    req->body_len = tp__identification__record_result__pack(&rr, body);
    return b->orders[i][0] && req->body_len <= cap;
}

static bool s_build_application(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    s_bench_t *b = arg;
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = b->orders[i];
    req->command = "order.RecordApplicationReceived";
    req->role = "operator";
    req->account = "op-bench";
    req->body_len = tp__order__record_application_received__pack(&ar, body);
    return b->orders[i][0] && req->body_len <= cap;
}

/* Waits until the "$summary" member @p key of @p service reaches @p want. */
static bool s_wait_count(pf_t *pf, const char *service, const char *key, long want,
                         int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    long have = -1;
    while (zclock_mono() < deadline) {
        char *s = th_summary(pf->th, service), n[32] = "";
        th_json_str(s, key, n, sizeof n);
        free(s);
        have = atol(n);
        if (have >= want)
            return true;
        zclock_sleep(100);
    }
    fprintf(stderr, "production_bench: %s %s is %ld, not %ld\n", service, key, have, want);
    return false;
}

/* Places, identifies and releases n + l orders; orders released per second, or -1. */
static double s_release(s_bench_t *b, pf_t *pf)
{
    int total = b->n + b->l;
    char ep[2][400];
    th_router(pf->th, "order", ep[0], sizeof ep[0]);
    th_router(pf->th, "identification", ep[1], sizeof ep[1]);
    int64_t t0 = zclock_usecs();
    /* customers' orders come through the gateway: its key; the back office, an operator's */
    pl_load_t place = {.endpoint = ep[0], .keys_dir = th_keys(pf->th), .me = "gateway",
                       .server = "order", .prefix = "place", .count = total, .inflight = 64,
                       .timeout_ms = 30000, .give_up_ms = 600000, .build = s_build_place,
                       .on_reply = s_placed, .arg = b};
    pl_run(&place);
    if (place.refused || place.acked != total) {
        fprintf(stderr, "production_bench: %d orders placed, %d refused\n", place.acked,
                place.refused);
        return -1;
    }
    if (!s_wait_count(pf, "identification", "cases", total, 60000))
        return -1;
    /* identification results and signed applications, both at once: whichever of the
     * two comes last releases the order */
    pl_load_t results = {.endpoint = ep[1], .keys_dir = th_keys(pf->th),
                         .me = "operator-test", .server = "identification", .prefix = "ident",
                         .count = total, .inflight = 64, .timeout_ms = 30000,
                         .give_up_ms = 300000, .build = s_build_result, .arg = b};
    pl_load_t apps = results;
    apps.endpoint = ep[0];
    apps.server = "order";
    apps.prefix = "app";
    apps.build = s_build_application;
    pthread_t t1;
    pthread_create(&t1, NULL, pl_run, &results);
    pl_run(&apps);
    pthread_join(t1, NULL);
    if (results.refused || apps.refused) {
        fprintf(stderr, "production_bench: %d results, %d applications refused\n",
                results.refused, apps.refused);
        return -1;
    }
    if (!s_wait_count(pf, "production", "jobs", total, 120000))
        return -1;
    return total * 1e6 / (double) (zclock_usecs() - t0);
}

/* ------------------------------------------------------------------ CPU shares */

static const char *const s_daemons[5] = {"production", "order", "revocation", "identification",
                                         "account"};

/* CPU time (user + system, ms) of process @p pid so far (0: this one), or -1. */
static double s_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, pid ? "/proc/%d/stat" : "/proc/self/stat", (int) pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (ut + st) * 1000.0 / sysconf(_SC_CLK_TCK);
}

/* The machine's CPU time so far (/proc/stat, clock ticks): all of it into @p total, the
 * part the hypervisor gave to others (steal) into @p steal; false when unreadable. */
static bool s_cpu_machine(unsigned long long *total, unsigned long long *steal)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    *steal = v[7];
    return n == 8;
}

/* Steal (% of the machine's CPU time) since @p total0 / @p steal0, or -1. */
static double s_steal_since(unsigned long long total0, unsigned long long steal0)
{
    unsigned long long total, steal;
    if (!s_cpu_machine(&total, &steal) || total <= total0)
        return -1;
    return 100.0 * (double) (steal - steal0) / (double) (total - total0);
}

/* Each daemon's and this process's CPU time so far, into @p ms (6 values). */
static void s_cpu_all(pf_t *pf, double *ms)
{
    for (int i = 0; i < 5; i++)
        ms[i] = s_cpu_ms(th_pid(pf->th, s_daemons[i]));
    ms[5] = s_cpu_ms(0);
}

/* ------------------------------------------------------------------ latency */

static bool s_build_paced(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    s_bench_t *b = arg;
    int k = i / 2, stage = 2 + i % 2; /* card shipped (timed), PIN letter shipped */
    req->command = s_cmds[stage];
    req->role = "producer";
    req->body_len = s_fact(b, b->n + k, stage, body);
    if (stage == 2)
        b->t_send[k] = zclock_usecs();
    return req->body_len <= cap;
}

static void s_paced_reply(void *arg, int i, const Tp__Reply *r, int64_t at_us)
{
    s_bench_t *b = arg;
    if (i % 2 == 0 && r->ok)
        b->t_ack[i / 2] = at_us;
}

/* One event seen on the order service's PUB socket at @p at (µs) and @p wall_us: an
 * OrderShipped of a latency job is timed. */
static void s_listened(s_bench_t *b, const uint8_t *data, size_t len, int64_t at, int64_t wall_us)
{
    Tp__Envelope *env = tp__envelope__unpack(NULL, len, data);
    Tp__Order__OrderShipped *os =
        env && streq(env->event_type, "OrderShipped")
            ? tp__order__order_shipped__unpack(NULL, env->payload.len, env->payload.data)
            : NULL;
    intptr_t idx = os ? (intptr_t) zhashx_lookup(b->index, os->order_id) : 0;
    int k = (int) idx - 1 - b->n;
    if (idx && k >= 0 && k < b->l && !b->t_event[k]) {
        b->t_event[k] = at;
        b->t_commit[k] = wall_us - env->recorded_at_us;
    }
    if (os)
        tp__order__order_shipped__free_unpacked(os, NULL);
    if (env)
        tp__envelope__free_unpacked(env, NULL);
}

/* The order service's PUB socket: when each OrderShipped arrives (alone, or in an
 * "$events" message with the events committed with it). */
static void *s_listen(void *arg)
{
    s_bench_t *b = arg;
    /* a follower's key: only the order service's followers may subscribe */
    zsock_t *sub = zsock_new(ZMQ_SUB);
    zcert_t *cert = evs_keys_load_secret(b->keys, "bench-listener");
    char server[EVS_KEYS_Z85];
    if (sub && cert && evs_keys_public(b->keys, "order", server) == 0) {
        evs_keys_client(sub, cert, server);
        zsock_set_subscribe(sub, "order.");
        zsock_connect(sub, "%s", b->pub);
    }
    else
        zsock_destroy(&sub);
    zcert_destroy(&cert);
    while (sub && !b->stop) {
        zmq_pollitem_t it = {zsock_resolve(sub), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0)
            continue;
        zmsg_t *m = zmsg_recv(sub);
        int64_t at = zclock_usecs();
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        int64_t wall_us = wall.tv_sec * 1000000LL + wall.tv_nsec / 1000;
        char *topic = m && zmsg_size(m) == 3 ? zframe_strdup(zmsg_first(m)) : NULL;
        zframe_t *body = topic ? zmsg_last(m) : NULL;
        const uint8_t *p = body ? zframe_data(body) : NULL;
        size_t left = body ? zframe_size(body) : 0;
        const uint8_t *env;
        size_t len;
        if (topic && strstr(topic, EVS_BUS_EVENTS)) {
            while (evs_bus_events_next(&p, &left, &env, &len))
                s_listened(b, env, len, at, wall_us);
        }
        else if (topic && !strstr(topic, EVS_BUS_HEARTBEAT))
            s_listened(b, p, left, at, wall_us);
        free(topic);
        zmsg_destroy(&m);
    }
    zsock_destroy(&sub);
    return NULL;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/* Sorts @p v (n values, µs) and prints p50, p99 (and max) as NAME_pXX_ms lines. */
static void s_percentiles(const char *name, int64_t *v, int n, bool with_max)
{
    if (n == 0) {
        printf("%s_p50_ms -1 ms\n%s_p99_ms -1 ms\n", name, name);
        return;
    }
    qsort(v, (size_t) n, sizeof *v, s_cmp);
    printf("%s_p50_ms %.3f ms\n", name, v[n / 2] / 1000.0);
    printf("%s_p99_ms %.3f ms\n", name, v[(n * 99) / 100] / 1000.0);
    if (with_max)
        printf("%s_max_ms %.3f ms\n", name, v[n - 1] / 1000.0);
}

/* Paced facts; prints the acknowledgement and fact-to-order latencies. */
/* The size of each daemon's log (to read what it logs from here on), or, with @p from,
 * the daemons' "slow commit" lines written since: the first ten of each daemon and
 * their numbers to stderr, their total returned (commits slower than the bench's
 * slow_commit_ms). */
static int s_slow_commits(pf_t *pf, long sizes[5], bool from)
{
    int total = 0;
    for (int i = 0; i < 5; i++) {
        char path[700], line[1024];
        snprintf(path, sizeof path, "%s/logs/%s.log", th_dir(pf->th), s_daemons[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int n = 0;
        if (!from) {
            fseek(f, 0, SEEK_END);
            sizes[i] = ftell(f);
        }
        else if (fseek(f, sizes[i], SEEK_SET) == 0)
            while (fgets(line, sizeof line, f))
                if (strstr(line, "slow commit") && n++ < 10)
                    fprintf(stderr, "production_bench: %s", line);
        if (from)
            fprintf(stderr, "production_bench: %s: %d slow commits in the paced window\n",
                    s_daemons[i], n);
        total += n;
        fclose(f);
    }
    return total;
}

static void s_latency(s_bench_t *b, pf_t *pf)
{
    char digest[128];
    th_settle(pf->th, "order", digest, sizeof digest, 500, 60000);
    th_settle(pf->th, "revocation", digest, sizeof digest, 500, 60000);
    pthread_t listener;
    pthread_create(&listener, NULL, s_listen, b);
    zclock_sleep(500); /* the subscription reaches the publisher */
    unsigned long long total0 = 0, steal0 = 0;
    s_cpu_machine(&total0, &steal0);
    long logs[5] = {0};
    s_slow_commits(pf, logs, false);
    pl_load_t paced = {.endpoint = pf->producer_ep, .keys_dir = th_keys(pf->th),
                       .me = PF_LINE_KEY, .server = "production", .prefix = "paced",
                       .count = 2 * b->l,
                       .inflight = 2 * b->l, .pace_per_s = b->rate, .timeout_ms = 10000,
                       .give_up_ms = 120000, .build = s_build_paced,
                       .on_reply = s_paced_reply, .arg = b};
    pl_run(&paced);
    double steal = s_steal_since(total0, steal0);
    int slow = s_slow_commits(pf, logs, true);
    int64_t deadline = zclock_mono() + 5000;
    while (zclock_mono() < deadline && !b->t_event[b->l - 1])
        zclock_sleep(50);
    zclock_sleep(200);
    b->stop = true;
    pthread_join(listener, NULL);
    int64_t *ack = calloc((size_t) b->l, sizeof *ack), *lat = calloc((size_t) b->l, sizeof *lat);
    int64_t *dec = calloc((size_t) b->l, sizeof *dec), *com = calloc((size_t) b->l, sizeof *com);
    int na = 0, nl = 0, early = 0, missing = 0;
    for (int k = 0; ack && lat && k < b->l; k++) {
        if (b->t_ack[k] && b->t_send[k])
            ack[na++] = b->t_ack[k] - b->t_send[k];
        if (b->t_ack[k] && b->t_event[k]) {
            /* the event can beat the acknowledgement to this process: 0 then */
            early += b->t_event[k] < b->t_ack[k];
            /* split at the order service's decision (the event's recorded_at_us) */
            int64_t c = b->t_commit[k], d = b->t_event[k] - b->t_ack[k] - c;
            dec[nl] = d > 0 ? d : 0;
            com[nl] = c > 0 ? c : 0;
            lat[nl++] = b->t_event[k] > b->t_ack[k] ? b->t_event[k] - b->t_ack[k] : 0;
        }
        else
            missing++;
    }
    double secs = (paced.finished_us - paced.started_us) / 1e6;
    fprintf(stderr,
            "production_bench: paced %d facts in %.2f s (%.0f/s), %d refused; %d shipped facts "
            "timed, %d events before their ack, %d without ack or event\n",
            paced.acked, secs, secs > 0 ? paced.acked / secs : 0, paced.refused, nl, early,
            missing);
    /* on a virtual machine the host may take the CPUs away for milliseconds at a time
     * (steal): that, more than anything here, decides the tail */
    printf("paced_steal_pct %.1f %%\n", steal);
    /* commits over slow_commit_ms in any daemon meanwhile (a slow disk shows here, a
     * stolen CPU mostly does not: its commits are not slower, only later) */
    printf("paced_slow_commits %d commits\n", slow);
    s_percentiles("fact_ack", ack, na, false);
    s_percentiles("fact_to_order", lat, nl, true);
    s_percentiles("fact_to_order_decided", dec, nl, false);
    s_percentiles("order_decided_to_published", com, nl, false);
    free(dec);
    free(com);
    free(ack);
    free(lat);
}

static int s_env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

/* One throughput phase, once every follower is idle: all six facts of jobs [base, base +
 * jobs) from PRODUCERS loaders, @p batch facts per request; facts/s (or -1), and where
 * the CPU went to stderr (followers still catching up afterwards are not counted). */
static double s_phase(s_bench_t *b, pf_t *pf, bool curve, int base, int jobs, int batch,
                      const char *prefix, double *production_us_per_fact)
{
    /* the followers done with what came before (the releases, the last phase) */
    char digest[128];
    for (int i = 1; i < 5; i++)
        th_settle(pf->th, s_daemons[i], digest, sizeof digest, 300, 60000);
    /* TP_BENCH_PAUSE_S=N: N seconds to attach a profiler before the facts go in */
    int pause_s = s_env_int("TP_BENCH_PAUSE_S", 0);
    if (pause_s)
        fprintf(stderr, "production_bench: facts in %d s; production is pid %d\n", pause_s,
                (int) th_pid(pf->th, "production"));
    zclock_sleep(pause_s * 1000);
    double cpu0[6], cpu1[6];
    unsigned long long total0 = 0, steal0 = 0;
    s_cpu_machine(&total0, &steal0);
    s_cpu_all(pf, cpu0);
    int64_t w0 = zclock_usecs();
    double rate = s_facts(b, pf, curve, base, jobs, 0, 6, PRODUCERS, batch, prefix);
    s_cpu_all(pf, cpu1);
    fprintf(stderr, "production_bench: %d facts, %d per request: %.0f ms wall; CPU ms:",
            6 * jobs, batch, (zclock_usecs() - w0) / 1000.0);
    for (int i = 0; i < 6; i++)
        fprintf(stderr, " %s %.0f", i < 5 ? s_daemons[i] : "bench", cpu1[i] - cpu0[i]);
    fprintf(stderr, "; steal %.1f %%\n", s_steal_since(total0, steal0));
    *production_us_per_fact = (cpu1[0] - cpu0[0]) * 1000.0 / (6.0 * jobs);
    return rate;
}

/* ------------------------------------------------------------------ main */

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    s_bench_t b = {0};
    b.nb = s_env_int("TP_BENCH_BATCHED_JOBS", 3400);
    b.n = s_env_int("TP_BENCH_JOBS", 3400) + b.nb;
    int batch = s_env_int("TP_BENCH_BATCH", 32);
    if (batch > SVC_BATCH_MAX)
        batch = SVC_BATCH_MAX;
    b.l = s_env_int("TP_BENCH_LATENCY_JOBS", 1000);
    b.rate = s_env_int("TP_BENCH_RATE", 1000);
    int total = b.n + b.l;
    b.orders = calloc((size_t) total, sizeof *b.orders);
    b.t_send = calloc((size_t) b.l, sizeof(int64_t));
    b.t_ack = calloc((size_t) b.l, sizeof(int64_t));
    b.t_event = calloc((size_t) b.l, sizeof(int64_t));
    b.t_commit = calloc((size_t) b.l, sizeof(int64_t));
    b.index = zhashx_new();
    fl_order_init(&b.order, "signature-card", NULL, "notarident");
    int64_t now = zclock_time() * 1000;
    b.from_us = now - 86400LL * 1000000;
    b.to_us = now + 3 * 365LL * 86400 * 1000000;
    /* the daemons log commits over 3 ms: paced_slow_commits counts them */
    setenv("TP_BENCH_SLOW_COMMIT_MS", "3", 0);
    pf_t pf = {0};
    pf.activation_delay_s = "86400"; /* the default: no activations during the run */
    pf.order_listener = "bench-listener";
    bool up = b.orders && b.t_send && b.t_ack && b.t_event && b.t_commit && pf_setup(&pf, "prodbench");
    zconfig_t *cfg = up ? zconfig_load(th_config(pf.th)) : NULL;
    if (!cfg) {
        fprintf(stderr, "production_bench: the system did not come up\n");
        th_destroy(&pf.th);
        return 1;
    }
    svc_endpoint(cfg, "order", "pub", b.pub, sizeof b.pub);
    b.keys = th_keys(pf.th);
    zconfig_destroy(&cfg);
    int rc = 1;
    int64_t t0 = zclock_mono();
    double released = s_release(&b, &pf);
    fprintf(stderr, "production_bench: %d jobs released in %.1f s\n", total,
            (zclock_mono() - t0) / 1000.0);
    if (released > 0) {
        printf("orders_released_per_s %.1f orders/s\n", released);
        /* TP_BENCH_ISOLATED=1: the other four daemons paused (SIGSTOP) meanwhile, so the
         * production service works alone; they catch up afterwards (a diagnostic) */
        bool isolated = s_env_int("TP_BENCH_ISOLATED", 0) == 1;
        static const char *const others[4] = {"order", "identification", "account",
                                               "revocation"};
        pid_t pids[4] = {0};
        for (int i = 0; isolated && i < 4; i++)
            if ((pids[i] = th_pid(pf.th, others[i])) > 0) /* never 0: the process group */
                kill(pids[i], SIGSTOP);
        bool plain = s_env_int("TP_BENCH_PLAIN", 0) == 1;
        /* one fact per request, then the same facts of other jobs in batches */
        double cpu_single = 0, cpu_batched = 0;
        double rate = s_phase(&b, &pf, !plain, 0, b.n - b.nb, 1, "f", &cpu_single);
        double brate = s_phase(&b, &pf, !plain, b.n - b.nb, b.nb, batch, "g", &cpu_batched);
        for (int i = 0; isolated && i < 4; i++)
            if (pids[i] > 0)
                kill(pids[i], SIGCONT);
        const char *variant = plain ? (isolated ? "_plain_isolated" : "_plain")
                                    : (isolated ? "_isolated" : "");
        printf("producer_facts%s_per_s %.0f facts/s\n", variant, rate);
        printf("producer_facts_count %d facts\n", 6 * (b.n - b.nb));
        printf("producer_facts_batched%s_per_s %.0f facts/s\n", variant, brate);
        printf("producer_facts_batched_count %d facts\n", 6 * b.nb);
        printf("facts_per_batch %d facts\n", batch);
        printf("batched_vs_single_ratio %.2f x\n", rate > 0 ? brate / rate : -1);
        /* CPU time, unlike facts per second, hardly moves with the host's steal: the
         * figure to compare when making a fact cheaper (10 ms ticks: about 3 %) */
        printf("production_cpu_us_per_fact %.1f us\n", cpu_single);
        printf("production_cpu_us_per_fact_batched %.1f us\n", cpu_batched);
        bool all = s_wait_count(&pf, "production", "facts", 6L * b.n, 10000);
        /* the latency jobs: certificates and card, then the paced shipments */
        double prep = s_facts(&b, &pf, true, b.n, b.l, 0, 2, 4, 1, "p");
        if (all && rate > 0 && brate > 0 && prep > 0) {
            s_latency(&b, &pf);
            rc = 0;
        }
    }
    th_destroy(&pf.th);
    zhashx_destroy(&b.index);
    free(b.orders);
    free(b.t_send);
    free(b.t_ack);
    free(b.t_event);
    free(b.t_commit);
    return rc;
}
