/* faultcheck.c: the fault suite's shared services, load and invariants (faultcheck.h). */
#include "faultcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs.h"
#include "example.pb-c.h"
#include "logcheck.h"
#include "order.pb-c.h"

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

static const char *const s_example_settings[] = {"alpha/followers", "beta", "beta/upstreams",
                                                 "alpha", NULL};
const fc_target_t fc_targets[2] = {
    {"alpha", "beta", s_build_increment, s_example_settings},
    {"order", "identification", s_build_shop, NULL}, /* identification follows order */
};

void fc_configure(th_t *th, const fc_target_t *t, bool pipeline)
{
    th_set(th, "tick_ms", "60000");
    char path[128];
    snprintf(path, sizeof path, "%s/pipeline", t->name);
    th_set(th, path, pipeline ? "1" : "0");
    for (size_t i = 0; t->settings && t->settings[i]; i += 2)
        th_set(th, t->settings[i], t->settings[i + 1]);
}

/* What the load was answered: the first answer of each request, when it came. */
static void s_answered(void *arg, int i, const Tp__Reply *r, int64_t at_us)
{
    fc_ack_t *a = &((fc_ack_t *) arg)[i];
    a->ok = r->ok;
    a->seq = r->last_seq;
    a->at_ns = at_us * 1000 + 999; /* zclock_usecs is CLOCK_MONOTONIC, truncated */
    a->body = malloc(r->body.len ? r->body.len : 1);
    if (a->body)
        memcpy(a->body, r->body.data, r->body.len);
    a->body_len = a->body ? r->body.len : 0;
    a->ok = a->ok && a->body;
}

static pl_load_t s_load(th_t *th, const fc_target_t *t, char *ep, size_t epsz)
{
    th_router(th, t->name, ep, epsz);
    return (pl_load_t){.endpoint = ep,
                       .keys_dir = th_keys(th),
                       .me = "operator-test",
                       .server = t->name,
                       .prefix = "f",
                       .count = FC_REQUESTS,
                       .inflight = FC_INFLIGHT,
                       .timeout_ms = 500,
                       .give_up_ms = 1500};
}

fc_ack_t *fc_load(th_t *th, const fc_target_t *t, int give_up_ms)
{
    fc_ack_t *acks = calloc(FC_REQUESTS, sizeof *acks);
    if (!acks)
        return NULL;
    char ep[400];
    pl_load_t l = s_load(th, t, ep, sizeof ep);
    l.give_up_ms = give_up_ms;
    l.build = t->build;
    l.on_reply = s_answered;
    l.arg = acks;
    pl_run(&l);
    return acks;
}

void fc_acks_destroy(fc_ack_t **acks_p)
{
    if (!acks_p || !*acks_p)
        return;
    for (int i = 0; i < FC_REQUESTS; i++)
        free((*acks_p)[i].body);
    free(*acks_p);
    *acks_p = NULL;
}

static bool s_counts(const fc_ack_t *a, int64_t until_ns)
{
    return a->ok && a->at_ns <= until_ns;
}

int fc_acked(const fc_ack_t *acks, int64_t until_ns)
{
    int n = 0;
    for (int i = 0; i < FC_REQUESTS; i++)
        n += s_counts(&acks[i], until_ns);
    return n;
}

/* Whether @p r carries the body the client got first. */
static bool s_same_body(const Tp__Reply *r, const fc_ack_t *a)
{
    return r->body.len == a->body_len && memcmp(r->body.data, a->body, a->body_len) == 0;
}

/* A resend: the load's requests answered by then, compared with their first answers. */
typedef struct {
    const fc_target_t *t;
    const fc_ack_t *acks;
    int64_t until_ns;
    const char *what;
    int same; /* answered replayed with the same reply */
} s_resend_t;

static bool s_build_again(void *arg, int i, pl_req_t *req, uint8_t *body, size_t cap)
{
    s_resend_t *rs = arg;
    return s_counts(&rs->acks[i], rs->until_ns) && rs->t->build(NULL, i, req, body, cap);
}

static void s_answered_again(void *arg, int i, const Tp__Reply *r, int64_t at_us)
{
    s_resend_t *rs = arg;
    const fc_ack_t *a = &rs->acks[i];
    if (r->ok && r->replayed && r->last_seq == a->seq && s_same_body(r, a)) {
        rs->same++;
        return;
    }
    fprintf(stderr, "%s: f-%d was answered with seq %llu, now ok %d, replayed %d, seq %llu%s\n",
            rs->what, i, (unsigned long long) a->seq, r->ok, r->replayed,
            (unsigned long long) r->last_seq, s_same_body(r, a) ? "" : ", another body");
}

bool fc_resend(th_t *th, const fc_target_t *t, const fc_ack_t *acks, int64_t until_ns,
               const char *what)
{
    s_resend_t rs = {t, acks, until_ns, what, 0};
    char ep[400];
    pl_load_t l = s_load(th, t, ep, sizeof ep);
    l.give_up_ms = 10000;
    l.build = s_build_again;
    l.on_reply = s_answered_again;
    l.arg = &rs;
    pl_run(&l);
    int want = fc_acked(acks, until_ns);
    if (rs.same != want)
        fprintf(stderr, "%s: %d of %d requests answered again the same\n", what, rs.same, want);
    return rs.same == want;
}

/* Each stream's version after the one before it; the first offence kept. */
typedef struct {
    zhashx_t *seen; /* stream -> its last version */
    long events;
    char offence[200];
} s_versions_t;

static void s_version(const Tp__Envelope *env, void *arg)
{
    s_versions_t *v = arg;
    uintptr_t before = (uintptr_t) zhashx_lookup(v->seen, env->stream_id);
    v->events++;
    if (env->stream_version != before + 1 && !*v->offence)
        snprintf(v->offence, sizeof v->offence, "stream %s: version %llu after %lu at seq %llu",
                 env->stream_id, (unsigned long long) env->stream_version, (unsigned long) before,
                 (unsigned long long) env->seq);
    zhashx_update(v->seen, env->stream_id, (void *) (uintptr_t) env->stream_version);
}

bool fc_versions(const char *dir, long *events, const char *what)
{
    s_versions_t v = {zhashx_new(), 0, ""};
    int64_t n = v.seen ? lc_each(dir, s_version, &v) : -1;
    zhashx_destroy(&v.seen);
    *events = v.events;
    if (n < 0)
        fprintf(stderr, "%s: the log in %s cannot be read\n", what, dir);
    else if (*v.offence)
        fprintf(stderr, "%s: %s\n", what, v.offence);
    return n >= 0 && !*v.offence;
}

/* Where each request of the load wrote: its events' seqs, and whether they run. A
 * request of these loads writes a stream once: twice is a request carried out twice. */
typedef struct {
    uint64_t last[FC_REQUESTS];
    bool broken[FC_REQUESTS]; /* events not one run, or a stream twice */
    zhashx_t *streams;        /* "<request id> <stream>" written */
} s_runs_t;

static void s_run_of(const Tp__Envelope *env, void *arg)
{
    s_runs_t *r = arg;
    const char *c = env->correlation_id;
    if (c[0] != 'f' || c[1] != '-')
        return;
    int i = atoi(c + 2);
    if (i < 0 || i >= FC_REQUESTS)
        return;
    char key[2 * EVS_MAX_ID + 2];
    snprintf(key, sizeof key, "%s %s", c, env->stream_id);
    if ((r->last[i] && env->seq != r->last[i] + 1) || zhashx_insert(r->streams, key, r) != 0)
        r->broken[i] = true;
    r->last[i] = env->seq;
}

/* Request @p i's kept reply against where it wrote and what the client got. */
static bool s_request(evs_t *store, const s_runs_t *runs, int i, const fc_ack_t *a,
                      const char *what)
{
    char rid[32];
    snprintf(rid, sizeof rid, "f-%d", i);
    uint8_t *kept = NULL;
    size_t len = 0;
    int rc = evs_request_get(store, rid, &kept, &len);
    Tp__Reply *r = rc == 0 ? tp__reply__unpack(NULL, len, kept) : NULL;
    free(kept);
    bool ok = true;
    if (runs->broken[i]) {
        fprintf(stderr, "%s: %s was carried out more than once (events up to %llu)\n", what, rid,
                (unsigned long long) runs->last[i]);
        ok = false;
    }
    if (!r && (a || runs->last[i])) {
        fprintf(stderr, "%s: %s %s, its reply is not kept (%s)\n", what, rid,
                a ? "was answered" : "wrote events", evs_strerror(rc));
        ok = false;
    }
    if (r && r->last_seq != runs->last[i]) {
        fprintf(stderr, "%s: %s is kept with seq %llu, its events end at %llu\n", what, rid,
                (unsigned long long) r->last_seq, (unsigned long long) runs->last[i]);
        ok = false;
    }
    if (r && a && (!r->ok || r->last_seq != a->seq || !s_same_body(r, a))) {
        fprintf(stderr, "%s: %s was answered with seq %llu, is kept with ok %d, seq %llu%s\n", what,
                rid, (unsigned long long) a->seq, r->ok, (unsigned long long) r->last_seq,
                s_same_body(r, a) ? "" : ", another body");
        ok = false;
    }
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return ok;
}

bool fc_requests(const char *dir, const fc_ack_t *acks, int64_t until_ns, const char *what)
{
    s_runs_t *runs = calloc(1, sizeof *runs);
    evs_t *store = NULL;
    evs_opts_t ro = {.flags = EVS_RDONLY};
    bool ok = runs && (runs->streams = zhashx_new()) && lc_each(dir, s_run_of, runs) >= 0 &&
              evs_open(dir, &ro, &store) == 0;
    if (!ok)
        fprintf(stderr, "%s: the log in %s cannot be read\n", what, dir);
    for (int i = 0; ok && i < FC_REQUESTS; i++) {
        const fc_ack_t *a = acks && s_counts(&acks[i], until_ns) ? &acks[i] : NULL;
        ok = s_request(store, runs, i, a, what);
    }
    evs_destroy(&store);
    if (runs)
        zhashx_destroy(&runs->streams);
    free(runs);
    return ok;
}

bool fc_verify(const char *dir, const char *what)
{
    evs_t *store = NULL;
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_verify_t report = {0};
    int rc = evs_open(dir, &ro, &store);
    if (rc == 0)
        rc = evs_verify(store, &report);
    evs_destroy(&store);
    if (rc != 0)
        fprintf(stderr, "%s: the log in %s does not verify: %s%s%s\n", what, dir, evs_strerror(rc),
                *report.reason ? ": " : "", report.reason);
    return rc == 0;
}

void fc_heads(const char *dir, const char *follower_dir, const char *upstream, uint64_t *head,
              uint64_t *checkpoint)
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
