/* evs_test.c: the event store's self-test, evs_test() (run by selftest.c --test evs). */
#include "evs_check.h"
#include "evs_internal.h"

#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tp.pb-c.h"

#define S_CHECK(cond) EVS_CHECK("evs_test", cond)
#define S_CHECK_RC(expr, want) EVS_CHECK_RC("evs_test", expr, want)

static bool s_verbose;

/* Copies of the records a read handed out. */
typedef struct {
    evs_record_t *recs;     /* the records, data malloc'd */
    size_t n;               /* records held */
    size_t cap;             /* records allocated */
    size_t stop_after;      /* return 7 once this many are held; 0 = never */
} s_coll_t;

static int s_collect(const evs_record_t *rec, void *arg)
{
    s_coll_t *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        evs_record_t *recs = realloc(c->recs, cap * sizeof *recs);
        if (!recs)
            return -ENOMEM;
        c->recs = recs;
        c->cap = cap;
    }
    uint8_t *copy = malloc(rec->len ? rec->len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, rec->data, rec->len);
    c->recs[c->n++] = (evs_record_t){rec->seq, copy, rec->len};
    return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

static void s_coll_reset(s_coll_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((void *)c->recs[i].data);
    free(c->recs);
    *c = (s_coll_t){0};
}

static bool s_same_records(const s_coll_t *a, const s_coll_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->recs[i].seq != b->recs[i].seq || a->recs[i].len != b->recs[i].len
            || memcmp(a->recs[i].data, b->recs[i].data, a->recs[i].len))
            return false;
    return true;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Checks one record's envelope against what was appended; prints what differs. */
static bool s_env_is(const evs_record_t *rec, uint64_t seq, const char *stream,
                     uint64_t version, const char *type, const char *payload,
                     const char *corr, const char *caus)
{
    Tp__Envelope *env = tp__envelope__unpack(NULL, rec->len, rec->data);
    size_t plen = strlen(payload);
    bool ok = env && rec->seq == seq && env->seq == seq
           && strcmp(env->stream_id, stream) == 0 && env->stream_version == version
           && strcmp(env->event_type, type) == 0 && env->payload.len == plen
           && (plen == 0 || memcmp(env->payload.data, payload, plen) == 0)
           && strcmp(env->correlation_id, corr) == 0
           && strcmp(env->causation_id, caus) == 0;
    if (!ok)
        fprintf(stderr, "evs_test: record %llu is not %s v%llu %s\n",
                (unsigned long long)seq, stream, (unsigned long long)version, type);
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    return ok;
}

static int s_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Chain, ids, times and canonical form of records 1..n read in order. */
static bool s_chain_ok(const s_coll_t *c, const uint8_t *head_hash, int64_t t0, int64_t t1)
{
    uint8_t prev[EVS_HASH_SIZE] = {0};
    char *ids = malloc(33 * c->n + 1);
    bool ok = ids != NULL;
    for (size_t i = 0; i < c->n && ok; i++) {
        const evs_record_t *rec = &c->recs[i];
        Tp__Envelope *env = tp__envelope__unpack(NULL, rec->len, rec->data);
        if (!env) {
            free(ids);
            return false;
        }
        uint8_t *again = malloc(rec->len + 1);
        uint8_t hash[EVS_HASH_SIZE];
        ok = again && env->seq == i + 1 && env->prev_hash.len == EVS_HASH_SIZE
          && memcmp(env->prev_hash.data, prev, EVS_HASH_SIZE) == 0
          && env->hash.len == EVS_HASH_SIZE && strlen(env->event_id) == 32
          && strspn(env->event_id, "0123456789abcdef") == 32
          && env->recorded_at_us >= t0 && env->recorded_at_us <= t1
          /* the appended hash field is exactly protobuf-c's own packing */
          && tp__envelope__get_packed_size(env) == rec->len
          && tp__envelope__pack(env, again) == rec->len
          && memcmp(again, rec->data, rec->len) == 0;
        if (ok) {
            crypto_hash_sha256(hash, rec->data, rec->len - 2 - EVS_HASH_SIZE);
            ok = memcmp(hash, env->hash.data, EVS_HASH_SIZE) == 0;
            memcpy(prev, hash, EVS_HASH_SIZE);
        }
        if (ok)
            memcpy(ids + 33 * i, env->event_id, 33);
        if (!ok)
            fprintf(stderr, "evs_test: chain breaks at record %zu\n", i + 1);
        free(again);
        tp__envelope__free_unpacked(env, NULL);
    }
    if (ok) {   /* event ids are unique */
        qsort(ids, c->n, 33, s_cmp_id);
        for (size_t i = 1; i < c->n && ok; i++)
            ok = strcmp(ids + 33 * (i - 1), ids + 33 * i) != 0;
    }
    free(ids);
    return ok && (!head_hash || memcmp(prev, head_hash, EVS_HASH_SIZE) == 0);
}

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define S_EV(stream, type, payload, corr, caus)                                \
    ((evs_event_t){(stream), (type), (const uint8_t *)(payload),               \
                   strlen(payload), (corr), (caus)})

static int s_test_basic(const char *base)
{
    char dir[512], none[512];
    snprintf(dir, sizeof dir, "%s/basic", base);
    snprintf(none, sizeof none, "%s/none", base);
    evs_t *evs = NULL;
    evs_batch_t *b = NULL, *b2 = NULL;
    s_coll_t c = {0}, c2 = {0};
    uint8_t *res = NULL;
    size_t len;
    uint64_t seq, v, first, last;
    uint8_t hash[EVS_HASH_SIZE], head_hash[EVS_HASH_SIZE], zero[EVS_HASH_SIZE] = {0};
    const uint8_t *r;
    size_t rl;
    evs_verify_t rep;
    evs_stat_t st;
    char longid[EVS_MAX_ID + 2], maxid[EVS_MAX_ID + 1];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    memset(maxid, 'm', sizeof maxid - 1);
    maxid[sizeof maxid - 1] = 0;

    /* Empty store, full sync (the default). */
    evs_opts_t opts = {.service = "order"};
    int64_t t0 = s_now_us();
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    S_CHECK_RC(evs_head(evs, &seq, hash), 0);
    S_CHECK(seq == 0 && memcmp(hash, zero, sizeof zero) == 0);
    S_CHECK_RC(evs_stream_version(evs, "acct-1", &v), 0);
    S_CHECK(v == 0);
    S_CHECK_RC(evs_stream_version(evs, "", &v), EVS_INVALID);
    S_CHECK_RC(evs_stream_version(evs, longid, &v), EVS_INVALID);
    S_CHECK_RC(evs_read_stream(evs, "acct-1", 1, s_collect, &c), EVS_NOTFOUND);
    S_CHECK_RC(evs_read(evs, 0, UINT64_MAX, 0, s_collect, &c), 0);
    S_CHECK(c.n == 0);
    S_CHECK_RC(evs_checkpoint(evs, "identification", &seq), 0);
    S_CHECK(seq == 0);
    S_CHECK_RC(evs_request_get(evs, "req-1", &res, &len), EVS_NOTFOUND);
    S_CHECK(res == NULL);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 0 && rep.bad_seq == 0);

    /* One batch, several requests. */
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_begin(evs, &b2), EVS_BAD_BATCH);
    S_CHECK(b2 == NULL && evs_batch_head(b) == 0);
    evs_event_t e1[3] = {
        S_EV("acct-1", "AccountRegistered", "p1", "corr-1", "req-1"),
        S_EV("acct-1", "MailSent", "p2", "corr-1", NULL),
        {"acct-1", "AccountConfirmed", NULL, 0, NULL, NULL},
    };
    evs_expect_t x1 = {"acct-1", EVS_NO_STREAM};
    S_CHECK_RC(evs_batch_append(b, e1, 3, &x1, 1, "req-1", (const uint8_t *)"ok1", 3,
                                &first, &last), 0);
    S_CHECK(first == 1 && last == 3 && evs_batch_head(b) == 3);
    /* Two streams in one append; the exact version counts this batch's appends. */
    evs_event_t e2[2] = {
        S_EV("acct-2", "AccountRegistered", "q1", "corr-2", "req-2"),
        S_EV("acct-1", "EmailChanged", "q2", "corr-2", "req-2"),
    };
    evs_expect_t x2[2] = {{"acct-1", 3}, {"acct-2", EVS_NO_STREAM}};
    S_CHECK_RC(evs_batch_append(b, e2, 2, x2, 2, NULL, NULL, 0, &first, &last), 0);
    S_CHECK(first == 4 && last == 5);
    /* Conflicts write nothing (not even the request) and leave the batch usable. */
    evs_expect_t conflicts[][2] = {
        {{"acct-1", 3}, {"acct-2", 1}},             /* exact, stale */
        {{"acct-2", 1}, {"acct-1", EVS_NO_STREAM}}, /* no-stream on existing */
        {{"acct-9", 1}, {"acct-1", EVS_ANY}},       /* exact on missing */
    };
    for (size_t i = 0; i < 3; i++) {
        S_CHECK_RC(evs_batch_append(b, e2, 2, conflicts[i], 2, "req-x",
                                    (const uint8_t *)"x", 1, &first, &last), EVS_CONFLICT);
        S_CHECK(first == 0 && last == 0 && evs_batch_head(b) == 5);
    }
    S_CHECK_RC(evs_batch_request_get(b, "req-x", &r, &rl), EVS_NOTFOUND);
    evs_expect_t any = {"acct-1", EVS_ANY};
    S_CHECK_RC(evs_batch_append(b, &e1[2], 1, &any, 1, NULL, NULL, 0, &first, &last), 0);
    S_CHECK(first == 6 && last == 6);
    /* Bad arguments write nothing either. */
    evs_event_t bad_events[] = {
        {"", "T", NULL, 0, NULL, NULL},
        {longid, "T", NULL, 0, NULL, NULL},
        {NULL, "T", NULL, 0, NULL, NULL},
        {"s", NULL, NULL, 0, NULL, NULL},
        {"s", "", NULL, 0, NULL, NULL},
        {"s", longid, NULL, 0, NULL, NULL},
        {"s", "T", NULL, 5, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad_events / sizeof bad_events[0]; i++) {
        evs_event_t two[2] = {e1[0], bad_events[i]};
        S_CHECK_RC(evs_batch_append(b, two, 2, NULL, 0, NULL, NULL, 0, &first, &last),
                   EVS_INVALID);
    }
    evs_expect_t bad_expect[] = {{"", 0}, {longid, 0}, {"acct-1", -2}};
    for (size_t i = 0; i < 3; i++)
        S_CHECK_RC(evs_batch_append(b, e1, 1, &bad_expect[i], 1, NULL, NULL, 0, NULL, NULL),
                   EVS_INVALID);
    S_CHECK_RC(evs_batch_append(b, e1, 1, NULL, 0, "", NULL, 0, NULL, NULL), EVS_INVALID);
    S_CHECK_RC(evs_batch_append(b, e1, 1, NULL, 0, longid, NULL, 0, NULL, NULL), EVS_INVALID);
    S_CHECK_RC(evs_batch_append(b, e1, 1, NULL, 0, "r", NULL, 3, NULL, NULL), EVS_INVALID);
    S_CHECK(evs_batch_head(b) == 6);
    evs_event_t longest = {maxid, "T", NULL, 0, NULL, NULL};
    S_CHECK_RC(evs_batch_append(b, &longest, 1, NULL, 0, NULL, NULL, 0, &first, &last), 0);
    S_CHECK(first == 7 && last == 7);
    /* Requests inside the batch; a kept request id is refused. */
    S_CHECK_RC(evs_batch_request_get(b, "req-1", &r, &rl), 0);
    S_CHECK(rl == 3 && memcmp(r, "ok1", 3) == 0);
    S_CHECK_RC(evs_batch_request_get(b, "", &r, &rl), EVS_INVALID);
    S_CHECK_RC(evs_batch_append(b, e1, 1, NULL, 0, "req-1", (const uint8_t *)"again", 5,
                                NULL, NULL), EVS_CONFLICT);
    S_CHECK_RC(evs_batch_append(b, NULL, 0, NULL, 0, "req-2", NULL, 0, &first, &last), 0);
    S_CHECK(first == 0 && last == 0 && evs_batch_head(b) == 7);
    S_CHECK_RC(evs_batch_request_get(b, "req-2", &r, &rl), 0);
    S_CHECK(rl == 0 && r != NULL);
    S_CHECK_RC(evs_batch_checkpoint(b, "identification", 42), 0);
    S_CHECK_RC(evs_batch_checkpoint(b, "", 1), EVS_INVALID);
    S_CHECK_RC(evs_batch_checkpoint(b, longid, 1), EVS_INVALID);
    S_CHECK_RC(evs_head(evs, &seq, NULL), 0);
    S_CHECK(seq == 0);          /* nothing visible before commit */
    S_CHECK_RC(evs_batch_each(b, s_collect, &c), 0);
    S_CHECK(c.n == 7 && c.recs[0].seq == 1 && c.recs[6].seq == 7);
    evs_commit_timing_t tm;
    evs_batch_timing(b, &tm);
    S_CHECK(tm.ops == 0 && tm.us_puts == 0 && tm.us_sync == 0);   /* none before a commit */
    int64_t tc = evsi_mono_us();
    S_CHECK_RC(evs_batch_commit(b), 0);
    int64_t t1 = s_now_us();
    /* where the commit's time went: its parts fit in the time it took */
    evs_batch_timing(b, &tm);
    int64_t took = evsi_mono_us() - tc;
    S_CHECK(tm.ops == b->n_ops && tm.ops == 10 && !tm.index_run && !tm.request_move);
    S_CHECK(tm.us_puts >= 0 && tm.us_sync >= 0);
    S_CHECK(tm.us_puts + tm.us_sync <= took);
    S_CHECK_RC(evs_batch_commit(b), EVS_BAD_BATCH);
    S_CHECK_RC(evs_batch_append(b, e1, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), EVS_BAD_BATCH);
    S_CHECK_RC(evs_batch_checkpoint(b, "x", 1), EVS_BAD_BATCH);
    S_CHECK_RC(evs_batch_request_get(b, "req-1", &r, &rl), EVS_BAD_BATCH);
    S_CHECK_RC(evs_batch_each(b, s_collect, &c2), 0);
    S_CHECK(s_same_records(&c, &c2));
    evs_batch_end(&b);
    S_CHECK(b == NULL);
    evs_batch_end(&b);
    s_coll_reset(&c2);

    /* Read back what was committed. */
    S_CHECK_RC(evs_head(evs, &seq, head_hash), 0);
    S_CHECK(seq == 7);
    S_CHECK_RC(evs_read(evs, 0, UINT64_MAX, 0, s_collect, &c2), 0);
    S_CHECK(s_same_records(&c, &c2));
    S_CHECK(s_chain_ok(&c2, head_hash, t0, t1));
    S_CHECK(s_env_is(&c2.recs[0], 1, "acct-1", 1, "AccountRegistered", "p1", "corr-1", "req-1"));
    S_CHECK(s_env_is(&c2.recs[1], 2, "acct-1", 2, "MailSent", "p2", "corr-1", ""));
    S_CHECK(s_env_is(&c2.recs[2], 3, "acct-1", 3, "AccountConfirmed", "", "", ""));
    S_CHECK(s_env_is(&c2.recs[3], 4, "acct-2", 1, "AccountRegistered", "q1", "corr-2", "req-2"));
    S_CHECK(s_env_is(&c2.recs[4], 5, "acct-1", 4, "EmailChanged", "q2", "corr-2", "req-2"));
    S_CHECK(s_env_is(&c2.recs[5], 6, "acct-1", 5, "AccountConfirmed", "", "", ""));
    S_CHECK(s_env_is(&c2.recs[6], 7, maxid, 1, "T", "", "", ""));
    s_coll_reset(&c);
    s_coll_reset(&c2);
    S_CHECK_RC(evs_read(evs, 2, 3, 0, s_collect, &c), 0);
    S_CHECK(c.n == 2 && c.recs[0].seq == 2 && c.recs[1].seq == 3);
    s_coll_reset(&c);
    S_CHECK_RC(evs_read(evs, 2, UINT64_MAX, 1, s_collect, &c), 0);
    S_CHECK(c.n == 1 && c.recs[0].seq == 2);
    s_coll_reset(&c);
    S_CHECK_RC(evs_read(evs, 5, 4, 0, s_collect, &c), 0);
    S_CHECK_RC(evs_read(evs, 100, UINT64_MAX, 0, s_collect, &c), 0);
    S_CHECK(c.n == 0);
    c.stop_after = 2;
    S_CHECK_RC(evs_read(evs, 1, UINT64_MAX, 0, s_collect, &c), 7);
    S_CHECK(c.n == 2);
    s_coll_reset(&c);
    S_CHECK_RC(evs_read_stream(evs, "acct-1", 0, s_collect, &c), 0);
    S_CHECK(c.n == 5 && c.recs[0].seq == 1 && c.recs[2].seq == 3 && c.recs[3].seq == 5
            && c.recs[4].seq == 6);
    s_coll_reset(&c);
    S_CHECK_RC(evs_read_stream(evs, "acct-1", 4, s_collect, &c), 0);
    S_CHECK(c.n == 2 && c.recs[0].seq == 5 && c.recs[1].seq == 6);
    s_coll_reset(&c);
    S_CHECK_RC(evs_read_stream(evs, "acct-1", 99, s_collect, &c), 0);
    S_CHECK(c.n == 0);
    S_CHECK_RC(evs_read_stream(evs, "acct", 1, s_collect, &c), EVS_NOTFOUND);
    S_CHECK_RC(evs_read_stream(evs, "", 1, s_collect, &c), EVS_INVALID);
    c.stop_after = 1;
    S_CHECK_RC(evs_read_stream(evs, "acct-2", 1, s_collect, &c), 7);
    S_CHECK(c.n == 1 && c.recs[0].seq == 4);
    s_coll_reset(&c);
    S_CHECK_RC(evs_stream_version(evs, "acct-1", &v), 0);
    S_CHECK(v == 5);
    S_CHECK_RC(evs_stream_version(evs, "acct-2", &v), 0);
    S_CHECK(v == 1);
    S_CHECK_RC(evs_stream_version(evs, maxid, &v), 0);
    S_CHECK(v == 1);
    S_CHECK_RC(evs_checkpoint(evs, "identification", &seq), 0);
    S_CHECK(seq == 42);
    S_CHECK_RC(evs_checkpoint(evs, "", &seq), EVS_INVALID);
    S_CHECK_RC(evs_request_get(evs, "req-1", &res, &len), 0);
    S_CHECK(len == 3 && memcmp(res, "ok1", 3) == 0);
    free(res);
    res = NULL;
    S_CHECK_RC(evs_request_get(evs, "req-2", &res, &len), 0);
    S_CHECK(len == 0 && res != NULL);
    free(res);
    res = NULL;
    S_CHECK_RC(evs_request_get(evs, "", &res, &len), EVS_INVALID);

    /* A batch ended without commit writes nothing. */
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_append(b, e1, 2, NULL, 0, "req-3", NULL, 0, &first, &last), 0);
    S_CHECK(first == 8 && last == 9);
    S_CHECK_RC(evs_batch_checkpoint(b, "identification", 99), 0);
    evs_batch_end(&b);
    S_CHECK_RC(evs_head(evs, &seq, hash), 0);
    S_CHECK(seq == 7 && memcmp(hash, head_hash, sizeof hash) == 0);
    S_CHECK_RC(evs_stream_version(evs, "acct-1", &v), 0);
    S_CHECK(v == 5);
    S_CHECK_RC(evs_request_get(evs, "req-3", &res, &len), EVS_NOTFOUND);
    S_CHECK_RC(evs_checkpoint(evs, "identification", &seq), 0);
    S_CHECK(seq == 42);

    /* A checkpoint may keep the hash of the upstream's record; without one, none is known. */
    {
        uint8_t up_hash[EVS_HASH_SIZE], got[EVS_HASH_SIZE];
        bool known = true;
        memset(up_hash, 0x5a, sizeof up_hash);
        S_CHECK_RC(evs_checkpoint_hash(evs, "identification", &seq, got, &known), 0);
        S_CHECK(seq == 42 && !known && got[0] == 0 && got[31] == 0);
        S_CHECK_RC(evs_batch_begin(evs, &b), 0);
        S_CHECK_RC(evs_batch_checkpoint_hash(b, "hashed", 17, up_hash), 0);
        S_CHECK_RC(evs_batch_commit(b), 0);
        evs_batch_end(&b);
        S_CHECK_RC(evs_checkpoint_hash(evs, "hashed", &seq, got, &known), 0);
        S_CHECK(seq == 17 && known && memcmp(got, up_hash, sizeof got) == 0);
        S_CHECK_RC(evs_checkpoint(evs, "hashed", &seq), 0);
        S_CHECK(seq == 17);
        S_CHECK_RC(evs_checkpoint_hash(evs, "nobody", &seq, got, &known), 0);
        S_CHECK(seq == 0 && !known);
        /* one written later without a hash leaves none behind */
        S_CHECK_RC(evs_batch_begin(evs, &b), 0);
        S_CHECK_RC(evs_batch_checkpoint(b, "hashed", 18), 0);
        S_CHECK_RC(evs_batch_commit(b), 0);
        evs_batch_end(&b);
        S_CHECK_RC(evs_checkpoint_hash(evs, "hashed", &seq, got, &known), 0);
        S_CHECK(seq == 18 && !known);
    }

    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.head_seq == 7 && memcmp(st.head_hash, head_hash, sizeof hash) == 0);
    S_CHECK(st.streams == 3 && st.requests == 2);
    S_CHECK(st.map_size == EVSI_DEFAULT_MAP && st.used_bytes > 0 && st.used_bytes < st.map_size);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 7 && rep.bad_seq == 0);
    evs_destroy(&evs);
    S_CHECK(evs == NULL);
    evs_destroy(&evs);

    /* Restart: everything is still there and the chain goes on. */
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    S_CHECK_RC(evs_head(evs, &seq, hash), 0);
    S_CHECK(seq == 7 && memcmp(hash, head_hash, sizeof hash) == 0);
    S_CHECK_RC(evs_request_get(evs, "req-1", &res, &len), 0);
    S_CHECK(len == 3 && memcmp(res, "ok1", 3) == 0);
    free(res);
    res = NULL;
    S_CHECK_RC(evs_checkpoint(evs, "identification", &seq), 0);
    S_CHECK(seq == 42);
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_request_get(b, "req-2", &r, &rl), 0);
    S_CHECK(rl == 0);
    evs_expect_t x3 = {"acct-2", 1};
    S_CHECK_RC(evs_batch_append(b, e2, 1, &x3, 1, "req-4", (const uint8_t *)"ok4", 3,
                                &first, &last), 0);
    S_CHECK(first == 8 && last == 8);
    S_CHECK_RC(evs_batch_checkpoint(b, "identification", 43), 0);
    S_CHECK_RC(evs_batch_commit(b), 0);
    evs_batch_end(&b);
    S_CHECK_RC(evs_read(evs, 0, UINT64_MAX, 0, s_collect, &c), 0);
    S_CHECK_RC(evs_head(evs, &seq, head_hash), 0);
    S_CHECK(seq == 8 && c.n == 8 && s_chain_ok(&c, head_hash, t0, s_now_us()));
    S_CHECK(s_env_is(&c.recs[7], 8, "acct-2", 2, "AccountRegistered", "q1", "corr-2", "req-2"));
    s_coll_reset(&c);
    S_CHECK_RC(evs_checkpoint(evs, "identification", &seq), 0);
    S_CHECK(seq == 43);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 8);
    evs_destroy(&evs);

    /* Another service's folder, and a bad name. */
    opts.service = "account";
    S_CHECK_RC(evs_open(dir, &opts, &evs), EVS_MISMATCH);
    S_CHECK(evs == NULL);
    opts.service = "";
    S_CHECK_RC(evs_open(dir, &opts, &evs), EVS_INVALID);
    S_CHECK(evs == NULL);

    /* Read-only. */
    evs_opts_t ro = {.flags = EVS_RDONLY};
    S_CHECK_RC(evs_open(dir, &ro, &evs), 0);
    S_CHECK_RC(evs_head(evs, &seq, hash), 0);
    S_CHECK(seq == 8 && memcmp(hash, head_hash, sizeof hash) == 0);
    S_CHECK_RC(evs_read(evs, 0, UINT64_MAX, 0, s_collect, &c), 0);
    S_CHECK(c.n == 8);
    s_coll_reset(&c);
    S_CHECK_RC(evs_stream_version(evs, "acct-1", &v), 0);
    S_CHECK(v == 5);
    S_CHECK_RC(evs_batch_begin(evs, &b), EVS_RDONLY_ERR);
    S_CHECK(b == NULL);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.head_seq == 8 && st.streams == 3 && st.requests == 3);
    evs_destroy(&evs);
    ro.service = "order";
    S_CHECK_RC(evs_open(dir, &ro, &evs), 0);
    evs_destroy(&evs);
    ro.service = "account";
    S_CHECK_RC(evs_open(dir, &ro, &evs), EVS_MISMATCH);
    ro.service = NULL;
    S_CHECK(evs_open(none, &ro, &evs) == -ENOENT && evs == NULL);

    /* Defaults, and a map that never shrinks below what the file has. */
    S_CHECK_RC(evs_open(none, NULL, &evs), 0);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.map_size == EVSI_DEFAULT_MAP && st.head_seq == 0 && st.streams == 0);
    evs_destroy(&evs);
    evs_opts_t small = {.initial_map = 64 << 10};
    S_CHECK_RC(evs_open(none, &small, &evs), 0);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.map_size == EVSI_DEFAULT_MAP);
    evs_destroy(&evs);

    S_CHECK(strcmp(evs_strerror(0), "success") == 0);
    int codes[] = {EVS_CONFLICT, EVS_CORRUPT, EVS_NOTFOUND, EVS_INVALID,
                   EVS_RDONLY_ERR, EVS_MISMATCH, EVS_BAD_BATCH};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        for (size_t j = 0; j < i; j++)
            S_CHECK(strcmp(evs_strerror(codes[i]), evs_strerror(codes[j])) != 0);
    S_CHECK(strcmp(evs_strerror(MDB_MAP_FULL), mdb_strerror(MDB_MAP_FULL)) == 0);
    S_CHECK(strcmp(evs_strerror(-ENOENT), strerror(ENOENT)) == 0);
    S_CHECK(evs_strerror(-123456) != NULL);
    return 0;
fail:
    evs_batch_end(&b);
    evs_destroy(&evs);
    s_coll_reset(&c);
    s_coll_reset(&c2);
    free(res);
    return 1;
}

/* Appends n events of 2 streams in one batch (each with a payload). */
static int s_make_log(const char *dir, const evs_opts_t *opts, int n)
{
    evs_t *evs = NULL;
    evs_batch_t *b = NULL;
    int rc = evs_open(dir, opts, &evs);
    if (rc == 0)
        rc = evs_batch_begin(evs, &b);
    for (int i = 0; i < n && rc == 0; i++) {
        char payload[32];
        snprintf(payload, sizeof payload, "payload-%d", i);
        evs_event_t ev = S_EV(i % 2 ? "odd" : "even", "Counted", payload, NULL, NULL);
        rc = evs_batch_append(b, &ev, 1, NULL, 0, NULL, NULL, 0, NULL, NULL);
    }
    if (rc == 0)
        rc = evs_batch_commit(b);
    evs_batch_end(&b);
    evs_destroy(&evs);
    return rc;
}

static int s_append_many(evs_t *evs, const char *prefix, int streams, int n,
                         const char *request_id, const char *upstream, uint64_t cp)
{
    evs_batch_t *b = NULL;
    evs_event_t *evv = calloc((size_t)n, sizeof *evv);
    char (*ids)[32] = calloc((size_t)streams, sizeof *ids);
    uint8_t payload[100];
    memset(payload, 'p', sizeof payload);
    int rc = evv && ids ? evs_batch_begin(evs, &b) : -ENOMEM;
    for (int i = 0; i < streams && rc == 0; i++)
        snprintf(ids[i], sizeof ids[i], "%s-%d", prefix, i);
    for (int i = 0; i < n && rc == 0; i++)
        evv[i] = (evs_event_t){ids[i % streams], "Filled", payload, sizeof payload,
                               "corr", NULL};
    if (rc == 0)
        rc = evs_batch_append(b, evv, (size_t)n, NULL, 0, request_id,
                              (const uint8_t *)request_id, strlen(request_id), NULL, NULL);
    if (rc == 0)
        rc = evs_batch_checkpoint(b, upstream, cp);
    if (rc == 0)
        rc = evs_batch_commit(b);
    evs_batch_end(&b);
    free(evv);
    free(ids);
    return rc;
}

typedef struct {
    uint64_t events;        /* views decoded */
    uint64_t sum;           /* a fold over them, so nothing is optimised away */
} s_replay_t;

static int s_replay(const evs_record_t *rec, void *arg)
{
    s_replay_t *rp = arg;
    evs_view_t view;
    if (evs_view(rec->data, rec->len, &view))
        return EVS_CORRUPT;
    rp->events++;
    rp->sum += view.stream_version + view.payload_len + view.event_type_len;
    return 0;
}

typedef struct {
    evs_batch_t *batch;     /* written to from inside a read callback */
    int rc;                 /* first failure */
} s_nested_t;

static int s_append_from_read(const evs_record_t *rec, void *arg)
{
    (void)rec;
    s_nested_t *n = arg;
    static const uint8_t payload[1024];
    evs_event_t ev = {"nested", "Big", payload, sizeof payload, NULL, NULL};
    for (int i = 0; i < 200 && n->rc == 0; i++)
        n->rc = evs_batch_append(n->batch, &ev, 1, NULL, 0, NULL, NULL, 0, NULL, NULL);
    return 0;
}

static int s_commit_from_read(const evs_record_t *rec, void *arg)
{
    (void)rec;
    s_nested_t *n = arg;
    n->rc = evs_batch_commit(n->batch);
    return 0;
}

/* Growth from a tiny map, across batches and in the middle of one big batch. */
static int s_test_growth(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/growth", base);
    evs_t *evs = NULL;
    evs_batch_t *b = NULL;
    s_coll_t each = {0}, read = {0};
    evs_stat_t st;
    evs_verify_t rep;
    uint64_t v, seq;
    uint8_t *res = NULL;
    size_t len;
    evs_event_t *evv = NULL;
    evs_opts_t opts = {.flags = EVS_NOSYNC, .initial_map = 64 << 10, .service = "growth"};
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.map_size == 64 << 10);
    for (int i = 0; i < 20; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "g-%d", i);
        S_CHECK_RC(s_append_many(evs, "s", 7, 50, rid, "up", (uint64_t)i), 0);
    }
    S_CHECK_RC(evs_stat(evs, &st), 0);
    size_t map0 = st.map_size;
    S_CHECK(st.head_seq == 1000 && map0 > 64 << 10 && st.streams == 7 && st.requests == 20);

    /* One big batch: the map must grow while it is open. */
    uint8_t payload[100];
    memset(payload, 'q', sizeof payload);
    char ids[10][16];
    for (int i = 0; i < 10; i++)
        snprintf(ids[i], sizeof ids[i], "big-%d", i);
    evv = calloc(100, sizeof *evv);
    S_CHECK(evv != NULL);
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    for (int a = 0; a < 40; a++) {
        char rid[32];
        uint64_t first, last;
        snprintf(rid, sizeof rid, "big-req-%d", a);
        for (int i = 0; i < 100; i++)
            evv[i] = (evs_event_t){ids[i % 10], "Big", payload, sizeof payload, rid, rid};
        evs_expect_t x = {ids[0], a == 0 ? EVS_NO_STREAM : 10 * a};
        S_CHECK_RC(evs_batch_append(b, evv, 100, &x, 1, rid, (const uint8_t *)rid,
                                    strlen(rid), &first, &last), 0);
        S_CHECK(first == 1001 + 100 * (uint64_t)a && last == first + 99);
        S_CHECK_RC(evs_batch_checkpoint(b, "up2", (uint64_t)a), 0);
    }
    /* nothing is written before the commit */
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.head_seq == 1000);
    const uint8_t *r;
    size_t rl;
    S_CHECK_RC(evs_batch_request_get(b, "big-req-0", &r, &rl), 0);
    S_CHECK(rl == 9 && memcmp(r, "big-req-0", 9) == 0);
    S_CHECK_RC(evs_batch_commit(b), 0);
    S_CHECK_RC(evs_batch_each(b, s_collect, &each), 0);
    S_CHECK(each.n == 4000 && memcmp(r, "big-req-0", 9) == 0);
    evs_batch_end(&b);
    S_CHECK_RC(evs_read(evs, 1001, UINT64_MAX, 0, s_collect, &read), 0);
    S_CHECK(s_same_records(&each, &read));
    for (size_t i = 0; i < read.n; i++) {
        evs_view_t view;
        S_CHECK_RC(evs_view(read.recs[i].data, read.recs[i].len, &view), 0);
        S_CHECK(view.seq == 1001 + i && view.stream_version == 10 * (i / 100) + 1 + i % 100 / 10
                && view.payload_len == 100);
    }
    s_coll_reset(&read);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.head_seq == 5000 && st.streams == 17 && st.requests == 60 &&
            st.map_size > map0);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 5000);
    evs_destroy(&evs);

    /* After a restart at the small initial size, everything is still there. */
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 5000);
    S_CHECK_RC(evs_stream_version(evs, "s-0", &v), 0);
    S_CHECK(v == 160);          /* 8 of each batch of 50 over 7 streams */
    S_CHECK_RC(evs_stream_version(evs, "big-9", &v), 0);
    S_CHECK(v == 400);
    S_CHECK_RC(evs_request_get(evs, "big-req-39", &res, &len), 0);
    S_CHECK(len == 10 && memcmp(res, "big-req-39", 10) == 0);
    S_CHECK_RC(evs_checkpoint(evs, "up", &seq), 0);
    S_CHECK(seq == 19);
    S_CHECK_RC(evs_checkpoint(evs, "up2", &seq), 0);
    S_CHECK(seq == 39);
    S_CHECK_RC(evs_read(evs, 1, UINT64_MAX, 0, s_collect, &read), 0);
    S_CHECK(read.n == 5000 && s_chain_ok(&read, NULL, 0, INT64_MAX));

    /* Replay rate (read + view + a fold); a figure, not a test. */
    s_replay_t rp = {0};
    struct timespec a0, a1;
    clock_gettime(CLOCK_MONOTONIC, &a0);
    for (int pass = 0; pass < 40; pass++)
        S_CHECK_RC(evs_read(evs, 1, UINT64_MAX, 0, s_replay, &rp), 0);
    clock_gettime(CLOCK_MONOTONIC, &a1);
    double secs = (double)(a1.tv_sec - a0.tv_sec) + (double)(a1.tv_nsec - a0.tv_nsec) / 1e9;
    S_CHECK(rp.events == 40 * 5000);
    if (s_verbose)
        printf(" * replay (read+view+apply): %.2f M events/s\n", (double)rp.events / secs / 1e6);
    evs_destroy(&evs);

    /* Appends from a read callback write nothing yet; a commit there that must grow
     * the map fails cleanly (-EBUSY, nothing written); the same appends commit later. */
    snprintf(dir, sizeof dir, "%s/nested", base);
    S_CHECK_RC(s_make_log(dir, &opts, 1), 0);
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    s_nested_t nested = {b, 0};
    S_CHECK_RC(evs_read(evs, 1, 1, 0, s_append_from_read, &nested), 0);
    S_CHECK_RC(nested.rc, 0);
    S_CHECK_RC(evs_read(evs, 1, 1, 0, s_commit_from_read, &nested), 0);
    S_CHECK_RC(nested.rc, -EBUSY);
    S_CHECK_RC(evs_batch_commit(b), EVS_BAD_BATCH);
    evs_batch_end(&b);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 1);
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    nested = (s_nested_t){b, 0};
    S_CHECK_RC(evs_read(evs, 1, 1, 0, s_append_from_read, &nested), 0);
    S_CHECK_RC(nested.rc, 0);
    S_CHECK_RC(evs_batch_commit(b), 0);
    evs_batch_end(&b);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 201);
    evs_destroy(&evs);
    free(res);
    free(evv);
    s_coll_reset(&each);
    s_coll_reset(&read);
    return 0;
fail:
    evs_batch_end(&b);
    evs_destroy(&evs);
    free(res);
    free(evv);
    s_coll_reset(&each);
    s_coll_reset(&read);
    return 1;
}

/* A reader in another process follows a writer that grows the map. */
static int s_test_reader_process(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/shared", base);
    evs_opts_t opts = {.flags = EVS_NOSYNC, .initial_map = 64 << 10, .service = "shared"};
    evs_t *evs = NULL;
    int to_child[2] = {-1, -1}, to_parent[2] = {-1, -1}, status;
    pid_t pid = -1;
    char ch;
    S_CHECK_RC(s_make_log(dir, &opts, 10), 0);
    S_CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    S_CHECK(pid >= 0);
    if (pid == 0) {
        evs_opts_t ro = {.flags = EVS_RDONLY, .service = "shared"};
        evs_t *reader = NULL;
        s_coll_t c = {0};
        evs_verify_t rep;
        uint64_t seq0 = 0, seq1 = 0;
        bool ok = evs_open(dir, &ro, &reader) == 0 && evs_head(reader, &seq0, NULL) == 0
               && seq0 == 10;
        ok = write(to_parent[1], "r", 1) == 1 && ok;
        ok = read(to_child[0], &ch, 1) == 1 && ok;
        ok = ok && evs_head(reader, &seq1, NULL) == 0 && seq1 == 3010
          && evs_read(reader, 1, UINT64_MAX, 0, s_collect, &c) == 0 && c.n == 3010
          && evs_verify(reader, &rep) == 0 && rep.checked == 3010;
        if (!ok)
            fprintf(stderr, "evs_test: reader process saw head %llu then %llu, %zu records\n",
                    (unsigned long long)seq0, (unsigned long long)seq1, c.n);
        s_coll_reset(&c);
        evs_destroy(&reader);
        _exit(ok ? 0 : 1);
    }
    S_CHECK(read(to_parent[0], &ch, 1) == 1);
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    for (int i = 0; i < 3; i++)
        S_CHECK_RC(s_append_many(evs, "w", 5, 1000, i == 0 ? "w0" : i == 1 ? "w1" : "w2",
                                 "up", (uint64_t)i), 0);
    evs_stat_t st;
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.map_size >= 1 << 20);
    S_CHECK(write(to_child[1], "g", 1) == 1);
    S_CHECK(waitpid(pid, &status, 0) == pid);
    pid = -1;
    S_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    evs_destroy(&evs);
    for (int i = 0; i < 2; i++) {
        close(to_child[i]);
        close(to_parent[i]);
    }
    return 0;
fail:
    if (pid > 0) {
        (void)!write(to_child[1], "g", 1);
        waitpid(pid, &status, 0);
    }
    evs_destroy(&evs);
    for (int i = 0; i < 2; i++) {
        if (to_child[i] >= 0)
            close(to_child[i]);
        if (to_parent[i] >= 0)
            close(to_parent[i]);
    }
    return 1;
}

typedef enum {
    S_CX_PAYLOAD, S_CX_REHASH, S_CX_PREV, S_CX_GARBAGE, S_CX_REMOVE, S_CX_SWAP, S_CX_TRUNCATE
} s_cx_t;

/* Corrupts a closed log with raw LMDB, as a disk fault or an attacker would. */
static int s_corrupt(const char *dir, s_cx_t kind, uint64_t seq)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    uint8_t *buf = NULL;
    uint64_t next = seq + 1;
    MDB_val key = {sizeof seq, &seq}, key2 = {sizeof next, &next}, val, val2;
    evs_view_t view;
    evsi_chain_t chain;
    int rc;
    if ((rc = mdb_env_create(&env)))
        return rc;
    if ((rc = mdb_env_set_maxdbs(env, 8)) || (rc = mdb_env_open(env, dir, 0, 0600))
        || (rc = mdb_txn_begin(env, NULL, 0, &txn))
        || (rc = mdb_dbi_open(txn, "events", MDB_INTEGERKEY, &dbi))
        || (rc = mdb_get(txn, dbi, &key, &val)))
        goto done;
    rc = ENOMEM;
    if (!(buf = malloc(val.mv_size)))
        goto done;
    memcpy(buf, val.mv_data, val.mv_size);
    val.mv_data = buf;
    if ((rc = evsi_parse(buf, val.mv_size, &view, &chain)))
        goto done;
    switch (kind) {
    case S_CX_PAYLOAD:
    case S_CX_REHASH:
        buf[view.payload - buf] ^= 0x01;
        if (kind == S_CX_REHASH)
            crypto_hash_sha256(buf + chain.hash_off + 2, buf, chain.hash_off);
        rc = mdb_put(txn, dbi, &key, &val, 0);
        break;
    case S_CX_PREV:
        buf[chain.prev_hash - buf] ^= 0x80;
        rc = mdb_put(txn, dbi, &key, &val, 0);
        break;
    case S_CX_GARBAGE:
        memset(buf, 0xFF, val.mv_size);
        rc = mdb_put(txn, dbi, &key, &val, 0);
        break;
    case S_CX_REMOVE:
        rc = mdb_del(txn, dbi, &key, NULL);
        break;
    case S_CX_SWAP:
        if ((rc = mdb_get(txn, dbi, &key2, &val2)) || (rc = mdb_put(txn, dbi, &key, &val2, 0)))
            break;
        rc = mdb_put(txn, dbi, &key2, &val, 0);
        break;
    case S_CX_TRUNCATE:
        while ((rc = mdb_del(txn, dbi, &key, NULL)) == 0)
            seq++;
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        break;
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    txn = NULL;
done:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    free(buf);
    return rc;
}

static int s_test_corruption(const char *base)
{
    static const struct {
        const char *name;   /* what was done */
        s_cx_t kind;        /* how */
        uint64_t seq;       /* to which record */
        uint64_t bad_seq;   /* where verify must see it */
        const char *reason; /* a word of the reason */
    } cases[] = {
        {"payload byte changed", S_CX_PAYLOAD, 4, 4, "hash mismatch"},
        {"record removed", S_CX_REMOVE, 5, 5, "gap"},
        {"first record removed", S_CX_REMOVE, 1, 1, "gap"},
        {"two records swapped", S_CX_SWAP, 6, 6, "reordered"},
        {"tail truncated", S_CX_TRUNCATE, 9, 9, "truncated: meta head is 10"},
        {"prev_hash changed", S_CX_PREV, 3, 3, "prev_hash"},
        {"record changed and re-hashed", S_CX_REHASH, 4, 5, "prev_hash"},
        {"last record changed and re-hashed", S_CX_REHASH, 10, 10, "head hash"},
        {"record not decodable", S_CX_GARBAGE, 2, 2, "decode"},
    };
    evs_t *evs = NULL;
    evs_opts_t opts = {.flags = EVS_NOSYNC, .service = "corrupt"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[512];
        evs_verify_t rep;
        snprintf(dir, sizeof dir, "%s/corrupt-%zu", base, i);
        S_CHECK_RC(s_make_log(dir, &opts, 10), 0);
        S_CHECK_RC(s_corrupt(dir, cases[i].kind, cases[i].seq), 0);
        S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
        int rc = evs_verify(evs, &rep);
        if (s_verbose)
            printf(" * %s: bad seq %llu, %s\n", cases[i].name,
                   (unsigned long long)rep.bad_seq, rep.reason);
        S_CHECK_RC(rc, EVS_CORRUPT);
        S_CHECK(rep.bad_seq == cases[i].bad_seq && strstr(rep.reason, cases[i].reason));
        if (cases[i].bad_seq < 10)
            S_CHECK(rep.checked == cases[i].bad_seq - 1);
        evs_destroy(&evs);
    }
    return 0;
fail:
    evs_destroy(&evs);
    return 1;
}

/* evs_view against protobuf-c on well-formed, truncated and malformed input. */
static int s_test_view(void)
{
    uint8_t payload[300], prev[EVS_HASH_SIZE], hash[EVS_HASH_SIZE];
    uint8_t buf[1024];
    evs_view_t view;
    Tp__Envelope *un = NULL;
    memset(payload, 0xAB, sizeof payload);
    memset(prev, 1, sizeof prev);
    memset(hash, 2, sizeof hash);
    Tp__Envelope env = TP__ENVELOPE__INIT;
    env.seq = 123456789012ULL;
    env.stream_id = "order-42";
    env.stream_version = 300;
    env.event_type = "OrderPlaced";
    env.event_id = "0123456789abcdef0123456789abcdef";
    env.recorded_at_us = -5;    /* a 10-byte varint */
    env.correlation_id = "c";
    env.causation_id = "d";
    env.payload = (ProtobufCBinaryData){sizeof payload, payload};
    env.prev_hash = (ProtobufCBinaryData){sizeof prev, prev};
    env.hash = (ProtobufCBinaryData){sizeof hash, hash};
    size_t len = tp__envelope__pack(&env, buf);
    S_CHECK(len < sizeof buf - 64);

    /* Every prefix: evs_view accepts exactly what protobuf-c accepts. */
    for (size_t n = 0; n <= len; n++) {
        un = tp__envelope__unpack(NULL, n, buf);
        int rc = evs_view(buf, n, &view);
        if ((rc == 0) != (un != NULL))
            fprintf(stderr, "evs_test: prefix %zu: evs_view %d, unpack %s\n", n, rc,
                    un ? "ok" : "failed");
        S_CHECK((rc == 0) == (un != NULL));
        if (un) {
            S_CHECK(view.seq == un->seq && view.stream_version == un->stream_version
                    && view.recorded_at_us == un->recorded_at_us
                    && view.stream_id_len == strlen(un->stream_id)
                    && memcmp(view.stream_id, un->stream_id, view.stream_id_len) == 0
                    && view.event_type_len == strlen(un->event_type)
                    && memcmp(view.event_type, un->event_type, view.event_type_len) == 0
                    && view.payload_len == un->payload.len
                    && (view.payload_len == 0
                        || memcmp(view.payload, un->payload.data, view.payload_len) == 0));
            tp__envelope__free_unpacked(un, NULL);
            un = NULL;
        }
    }
    S_CHECK_RC(evs_view(buf, len, &view), 0);
    S_CHECK(view.seq == env.seq && view.recorded_at_us == -5 && view.payload_len == 300);

    /* Unknown fields of every wire type are skipped. */
    static const uint8_t unknown[] = {
        0xA0, 0x01, 0xAC, 0x02,                             /* 20: varint 300 */
        0xA9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8,                 /* 21: fixed64 */
        0xB2, 0x01, 3, 'a', 'b', 'c',                       /* 22: bytes */
        0xBD, 0x01, 1, 2, 3, 4,                             /* 23: fixed32 */
    };
    memcpy(buf + len, unknown, sizeof unknown);
    un = tp__envelope__unpack(NULL, len + sizeof unknown, buf);
    S_CHECK(un != NULL);
    S_CHECK_RC(evs_view(buf, len + sizeof unknown, &view), 0);
    S_CHECK(view.seq == un->seq && view.stream_version == 300 && view.payload_len == 300
            && view.event_type_len == 11 && memcmp(view.event_type, "OrderPlaced", 11) == 0);
    tp__envelope__free_unpacked(un, NULL);
    un = NULL;

    /* Malformed input. */
    static const struct {
        uint8_t bytes[12];
        size_t len;
    } bad[] = {
        {{0xA3, 0x01}, 2},                      /* group start */
        {{0xA4, 0x01}, 2},                      /* group end */
        {{0x0E, 0x00}, 2},                      /* wire type 6 */
        {{0x02, 0x00}, 2},                      /* field number 0 */
        {{0x0A, 0x00}, 2},                      /* seq as bytes */
        {{0x10, 0x01}, 2},                      /* stream_id as varint */
        {{0x12, 0x05, 'a'}, 3},                 /* stream_id longer than the data */
        {{0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 12},
        {{0xA9, 0x01, 1, 2, 3}, 5},             /* fixed64 cut short */
        {{0xBD, 0x01, 1}, 3},                   /* fixed32 cut short */
        {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, 6}, /* tag beyond 32 bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        S_CHECK_RC(evs_view(bad[i].bytes, bad[i].len, &view), EVS_CORRUPT);
    uint8_t version_only[] = {0x18, 0x01};
    S_CHECK_RC(evs_view(version_only, 2, &view), 0);
    S_CHECK(view.stream_version == 1);
    S_CHECK_RC(evs_view(NULL, 0, &view), 0);
    S_CHECK(view.seq == 0 && view.stream_id_len == 0 && view.stream_id != NULL);
    return 0;
fail:
    if (un)
        tp__envelope__free_unpacked(un, NULL);
    return 1;
}

/* s_test_view in the self-test's table (it needs no folder). */
static int s_test_view_in(const char *base)
{
    (void)base;
    return s_test_view();
}

/* A commit on another thread, as the service runtime runs it. */
static void *s_commit_thread(void *arg)
{
    s_nested_t *n = arg;
    n->rc = evs_batch_commit(n->batch);
    return NULL;
}

/* Sealed batches: the next one sees their appends, requests and head before they are
 * written; they commit in order on another thread, also while the map grows; one
 * whose predecessor failed cannot commit. */
static int s_test_pipeline(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/pipeline", base);
    evs_opts_t opts = {0, 64 << 10, "svc"};
    evs_t *evs = NULL;
    evs_batch_t *a = NULL, *b = NULL, *c = NULL;
    evs_verify_t rep;
    uint64_t first, last, v;
    const uint8_t *r;
    size_t rl;
    static const uint8_t big[2000];
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);

    S_CHECK_RC(evs_batch_begin(evs, &a), 0);
    evs_event_t e = S_EV("s-1", "T", "one", "c", "c");
    evs_expect_t none = {"s-1", EVS_NO_STREAM};
    S_CHECK_RC(evs_batch_append(a, &e, 1, &none, 1, "ra", (const uint8_t *)"A", 1, &first,
                                &last), 0);
    /* enough to make the 64 KiB map grow while it commits */
    evs_event_t fat = {"fat", "Fat", big, sizeof big, NULL, NULL};
    for (int i = 0; i < 100; i++)
        S_CHECK_RC(evs_batch_append(a, &fat, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_seal(a), 0);
    S_CHECK_RC(evs_batch_seal(a), 0);
    S_CHECK_RC(evs_batch_append(a, &e, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), EVS_BAD_BATCH);

    /* b follows a: head, versions and requests of a as if written */
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK(evs_batch_head(b) == 101);
    S_CHECK_RC(evs_batch_request_get(b, "ra", &r, &rl), 0);
    S_CHECK(rl == 1 && r[0] == 'A');
    S_CHECK_RC(evs_batch_append(b, &e, 1, NULL, 0, "ra", (const uint8_t *)"B", 1, NULL, NULL),
               EVS_CONFLICT);
    S_CHECK_RC(evs_batch_append(b, &e, 1, &none, 1, NULL, NULL, 0, NULL, NULL), EVS_CONFLICT);
    s_nested_t na = {a, -1};
    pthread_t t;
    S_CHECK(pthread_create(&t, NULL, s_commit_thread, &na) == 0);
    evs_expect_t one = {"s-1", 1};
    for (int i = 0; i < 50; i++) {   /* appends and reads while a commits */
        S_CHECK_RC(evs_batch_append(b, &e, 1, i ? NULL : &one, i ? 0 : 1, NULL, NULL, 0, &first,
                                    &last), 0);
        S_CHECK(first == 102 + (uint64_t)i);
        S_CHECK_RC(evs_stream_version(evs, "s-2", &v), 0);
    }
    pthread_join(t, NULL);
    S_CHECK_RC(na.rc, 0);
    /* a is written and ended: b now finds it in the log */
    evs_batch_end(&a);
    S_CHECK_RC(evs_batch_request_get(b, "ra", &r, &rl), 0);
    S_CHECK(rl == 1 && r[0] == 'A');
    S_CHECK_RC(evs_batch_append(b, &e, 1, &(evs_expect_t){"s-1", 51}, 1, "rb",
                                (const uint8_t *)"B", 1, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_seal(b), 0);

    /* c follows b; b is ended unwritten, so c cannot be written */
    S_CHECK_RC(evs_batch_begin(evs, &c), 0);
    S_CHECK(evs_batch_head(c) == 152);
    S_CHECK_RC(evs_batch_request_get(c, "rb", &r, &rl), 0);
    S_CHECK_RC(evs_batch_append(c, &e, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), 0);
    evs_batch_end(&b);
    S_CHECK_RC(evs_batch_request_get(c, "rb", &r, &rl), EVS_NOTFOUND);
    S_CHECK_RC(evs_batch_commit(c), EVS_BAD_BATCH);
    evs_batch_end(&c);
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK(rep.checked == 101);
    S_CHECK_RC(evs_stream_version(evs, "s-1", &v), 0);
    S_CHECK(v == 1);
    evs_destroy(&evs);
    return 0;
fail:
    evs_batch_end(&c);
    evs_batch_end(&b);
    evs_batch_end(&a);
    evs_destroy(&evs);
    return 1;
}

/* Checks that every request id "q<i>-<j>" for i < @p n_batches (3 per batch) is known
 * with its result "r<i>-<j>": inside batch @p b when given, through evs_request_get()
 * on @p evs. 0 when all are. */
static int s_requests_known(evs_t *evs, evs_batch_t *b, int n_batches)
{
    for (int i = 0; i < n_batches; i++)
        for (int j = 0; j < 3; j++) {
            char id[32], want[32];
            snprintf(id, sizeof id, "q%d-%d", i, j);
            int wl = snprintf(want, sizeof want, "r%d-%d", i, j);
            const uint8_t *r;
            size_t rl;
            if (b) {
                S_CHECK_RC(evs_batch_request_get(b, id, &r, &rl), 0);
                S_CHECK(rl == (size_t)wl && memcmp(r, want, rl) == 0);
            }
            uint8_t *got = NULL;
            S_CHECK_RC(evs_request_get(evs, id, &got, &rl), 0);
            bool same = rl == (size_t)wl && memcmp(got, want, rl) == 0;
            free(got);
            S_CHECK(same);
        }
    return 0;
fail:
    return 1;
}

/* Request ids go to reqtail and are moved to `requests` every few batches (index_every
 * 4 here): each is found before, during and after its move, after a restart, by a
 * read-only reader, and refused a second time. */
static int s_test_requests(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/requests", base);
    evs_opts_t opts = {0, 0, "svc", 4};
    evs_t *evs = NULL, *ro = NULL;
    evs_batch_t *a = NULL, *b = NULL;
    const uint8_t *r;
    size_t rl;
    evs_stat_t st;
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    int n = 0;
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 7; k++, n++) {
            S_CHECK_RC(evs_batch_begin(evs, &a), 0);
            S_CHECK(s_requests_known(evs, a, n) == 0);
            for (int j = 0; j < 3; j++) {
                char id[32], res[32];
                snprintf(id, sizeof id, "q%d-%d", n, j);
                int rlen = snprintf(res, sizeof res, "r%d-%d", n, j);
                S_CHECK_RC(evs_batch_request_get(a, id, &r, &rl), EVS_NOTFOUND);
                evs_event_t e = S_EV("s-req", "T", "x", NULL, id);
                /* every third request writes no event: its id is kept all the same */
                S_CHECK_RC(evs_batch_append(a, &e, j == 2 ? 0 : 1, NULL, 0, id,
                                            (const uint8_t *)res, (size_t)rlen, NULL, NULL), 0);
            }
            if (k % 2 == 0) {
                /* pipelined: the next batch is built while this one commits */
                S_CHECK_RC(evs_batch_seal(a), 0);
                S_CHECK_RC(evs_batch_begin(evs, &b), 0);
                S_CHECK(s_requests_known(evs, NULL, n) == 0);
                S_CHECK_RC(evs_batch_commit(a), 0);
                S_CHECK_RC(evs_batch_request_get(b, "q0-0", &r, &rl), 0);
                evs_batch_end(&a);
                S_CHECK(s_requests_known(evs, b, n + 1) == 0);
                evs_batch_end(&b);
            }
            else {
                S_CHECK_RC(evs_batch_commit(a), 0);
                evs_batch_end(&a);
            }
        }
        /* a restart: what the owner knew of reqtail is rebuilt from the log */
        evs_destroy(&evs);
        S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    }
    S_CHECK_RC(evs_batch_begin(evs, &a), 0);
    S_CHECK(s_requests_known(evs, a, n) == 0);
    evs_event_t e = S_EV("s-req", "T", "x", NULL, NULL);
    S_CHECK_RC(evs_batch_append(a, &e, 1, NULL, 0, "q3-1", (const uint8_t *)"again", 5, NULL,
                                NULL), EVS_CONFLICT);
    S_CHECK_RC(evs_batch_request_get(a, "q99-0", &r, &rl), EVS_NOTFOUND);
    evs_batch_end(&a);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.requests == (uint64_t)n * 3);
    /* the move sorts in LMDB's own order of `requests` keys */
    static const char *const ids[] = {"a", "ab", "b", "abcdefg", "abcdefgh", "abcdefgi",
                                      "abcdefgh0", "abcdefgha", "abcdefghab", "zz",
                                      "q12-3", "q12-30", "q1-2", "\xff\x01", "\x7f"};
    size_t n_ids = sizeof ids / sizeof ids[0];
    MDB_txn *t;
    S_CHECK_RC(mdb_txn_begin(evs->env, NULL, MDB_RDONLY, &t), 0);
    bool same_order = true;
    for (size_t i = 0; i < n_ids; i++)
        for (size_t j = 0; j < n_ids; j++) {
            size_t li = strlen(ids[i]), lj = strlen(ids[j]);
            evsi_moving_t x = {evsi_id_head((const uint8_t *)ids[i], li), (const uint8_t *)ids[i],
                               li, NULL, 0};
            evsi_moving_t y = {evsi_id_head((const uint8_t *)ids[j], lj), (const uint8_t *)ids[j],
                               lj, NULL, 0};
            MDB_val ka = {li, (void *)ids[i]}, kb = {lj, (void *)ids[j]};
            int mine = evsi_moving_cmp(&x, &y), lmdb = mdb_cmp(t, evs->requests, &ka, &kb);
            same_order &= (mine > 0) == (lmdb > 0) && (mine < 0) == (lmdb < 0);
        }
    mdb_txn_abort(t);
    S_CHECK(same_order);
    evs_opts_t ropts = {EVS_RDONLY, 0, NULL, 0};
    S_CHECK_RC(evs_open(dir, &ropts, &ro), 0);
    S_CHECK(s_requests_known(ro, NULL, n) == 0);
    S_CHECK_RC(evs_stat(ro, &st), 0);
    S_CHECK(st.requests == (uint64_t)n * 3);
    evs_destroy(&ro);
    evs_destroy(&evs);
    return 0;
fail:
    evs_batch_end(&b);
    evs_batch_end(&a);
    evs_destroy(&ro);
    evs_destroy(&evs);
    return 1;
}

/* A stream's version that could not be kept in memory (pending full) is read from the
 * log's tail, never guessed: after a failed insertion the next append to the stream
 * still expects and gets the right version. The failure is simulated: pending emptied
 * and marked short, as evs_batch_end leaves them when malloc fails. */
static int s_test_pending_short(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/short", base);
    evs_opts_t opts = {0, 0, "svc", 1000000};   /* no index run in this test */
    evs_t *evs = NULL;
    evs_batch_t *b = NULL;
    uint64_t v = 0, first = 0, last = 0;
    static const uint8_t one[] = {1};
    evs_event_t e = {"s", "Thing", one, sizeof one, NULL, NULL, NULL};
    evs_event_t other = {"t", "Thing", one, sizeof one, NULL, NULL, NULL};
    S_CHECK_RC(evs_open(dir, &opts, &evs), 0);
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_append(b, &e, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_append(b, &other, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_append(b, &e, 1, NULL, 0, NULL, NULL, 0, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_commit(b), 0);
    evs_batch_end(&b);
    /* as if the versions of that batch could not be kept */
    evsi_pending_clear(evs);
    evs->pending_short = true;
    evs_expect_t want2 = {"s", 2};
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_append(b, &e, 1, &want2, 1, NULL, NULL, 0, &first, &last), 0);
    S_CHECK_RC(evs_batch_commit(b), 0);
    evs_batch_end(&b);
    S_CHECK(first == 4 && last == 4);
    S_CHECK_RC(evs_stream_version(evs, "s", &v), 0);
    S_CHECK(v == 3);
    /* and the stream's next version is 4, with the versions kept again */
    evs_expect_t want3 = {"s", 3};
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_append(b, &e, 1, &want3, 1, NULL, NULL, 0, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_commit(b), 0);
    evs_batch_end(&b);
    S_CHECK_RC(evs_stream_version(evs, "s", &v), 0);
    S_CHECK(v == 4);
    evs_destroy(&evs);
    return 0;
fail:
    evs_batch_end(&b);
    evs_destroy(&evs);
    return 1;
}

int evs_test(bool verbose)
{
    s_verbose = verbose;
    if (verbose)
        printf(" * evs: ");
    char base[] = "/tmp/evs_test_XXXXXX";
    if (!mkdtemp(base)) {
        fprintf(stderr, "evs_test: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (verbose)
        printf("in %s\n", base);
    static const struct {
        const char *name;
        int (*run)(const char *base);
    } tests[] = {{"view", s_test_view_in},          {"basic", s_test_basic},
                 {"growth", s_test_growth},         {"reader process", s_test_reader_process},
                 {"corruption", s_test_corruption}, {"pipeline", s_test_pipeline},
                 {"requests", s_test_requests},     {"pending short", s_test_pending_short}};
    enum { N = sizeof tests / sizeof tests[0] };
    int failed = 0;
    /* twice: the stream index written every 16,384 events (so the tests read it
     * from the log's tail), then every 3 (so they read it from the index) */
    for (int i = 0; i < 2 * N; i++) {
        evsi_index_every_default = i < N ? EVSI_INDEX_EVERY : 3;
        if (i == N && verbose)
            printf(" * again, with the stream index written every 3 events\n");
        char sub[64];
        snprintf(sub, sizeof sub, "%s/pass%d", base, i / N);
        mkdir(sub, 0700);
        int rc = tests[i % N].run(sub);
        if (rc)
            fprintf(stderr, "evs_test: %s (index every %zu) FAILED\n", tests[i % N].name,
                    evsi_index_every_default);
        else if (verbose)
            printf(" * %s: OK\n", tests[i % N].name);
        failed += rc != 0;
    }
    nftw(base, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
