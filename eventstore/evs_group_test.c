/* evs_group_test.c: evs_group_test(): a log copied group by group into an empty one, and
 * groups that must be refused (out of order, twice, a byte changed, another log's, cut
 * short, a wrong stream version, a request's other result), leaving the copy as it was. */
#include "evs_check.h"
#include "evs_group.h"
#include "evs_internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp.pb-c.h"

#define S_CHECK(cond)          EVS_CHECK("evs_group_test", cond)
#define S_CHECK_RC(expr, want) EVS_CHECK_RC("evs_group_test", expr, want)

#define S_BATCHES 14 /* batches written to the log copied */
#define S_BAD_AT  8  /* the copy holds groups 0..7 when the bad ones come */

static bool s_verbose;

/* One batch of the log copied: its group and what it holds. */
typedef struct {
    uint8_t *data; /* the group, malloc'd */
    size_t len;
    uint64_t first, last; /* its records' seqs (0, 0: none) */
    size_t requests;      /* request results in it */
    size_t checkpoints;   /* checkpoints in it */
} s_grp_t;

static void s_grps_free(s_grp_t *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].data);
}

/* Writes batch @p i of the test's log into @p evs (two logs written so differ only in
 * event ids and times) and encodes it into @p g, open and again after the commit. Streams
 * s0..s3, request results (some empty, some appends without an id), checkpoints with and
 * without a hash, an append refused for its version (no part of the group), batch 3 only a
 * checkpoint, batch 4 only a request result, and big payloads now and then (map growth). */
static int s_write_batch(evs_t *evs, int i, s_grp_t *g)
{
    evs_batch_t *b = NULL;
    uint8_t *open_data = NULL;
    size_t open_len = 0;
    *g = (s_grp_t){0};
    uint8_t *payload = calloc(1, 40000);
    int rc = payload ? evs_batch_begin(evs, &b) : -ENOMEM;
    int appends = i == 3 ? 0 : 1 + i % 3;
    for (int j = 0; j < appends && rc == 0; j++) {
        char rid[32], res[32], streams[4][8];
        evs_event_t ev[3];
        size_t n = i == 4 ? 0 : 1 + (size_t) (i + j) % 3;
        size_t plen = 150 + (i % 5 == 2 ? 20000 : 0) + (size_t) j;
        for (size_t k = 0; k < plen; k++)
            payload[k] = (uint8_t) (i * 31 + j * 7 + (int) k);
        for (size_t k = 0; k < n; k++) {
            snprintf(streams[k], sizeof streams[k], "s%d", (i + j + (int) k) % 4);
            ev[k] =
                (evs_event_t){streams[k], "Happened", payload, plen, "corr", NULL, "tester", NULL};
        }
        snprintf(rid, sizeof rid, "r-%d-%d", i, j);
        int rlen = (i + j) % 5 == 0 ? 0 : snprintf(res, sizeof res, "result %d.%d", i, j);
        bool with_id = j != 1;
        uint64_t first, last;
        rc = evs_batch_append(b, ev, n, NULL, 0, with_id ? rid : NULL, (uint8_t *) res,
                              (size_t) rlen, &first, &last);
        if (rc == 0 && n && !g->first)
            g->first = first;
        if (rc == 0 && n)
            g->last = last;
        g->requests += rc == 0 && with_id;
    }
    if (rc == 0 && i == 2) { /* refused: nothing of it in the log or the group */
        evs_event_t ev = {"s0", "Refused", payload, 10, NULL, NULL, NULL, NULL};
        evs_expect_t x = {"s0", 999};
        rc = evs_batch_append(b, &ev, 1, &x, 1, "r-refused", NULL, 0, NULL, NULL);
        rc = rc == EVS_CONFLICT ? 0 : rc ? rc : -EINVAL;
    }
    uint8_t hash[EVS_HASH_SIZE];
    memset(hash, i, sizeof hash);
    if (rc == 0 && i % 3 == 0 && ++g->checkpoints)
        rc = evs_batch_checkpoint(b, "up-a", (uint64_t) i * 10);
    if (rc == 0 && i % 3 == 1 && ++g->checkpoints)
        rc = evs_batch_checkpoint_hash(b, "up-b", (uint64_t) i * 10 + 1, hash);
    if (rc == 0 && i % 4 == 2 && ++g->checkpoints)
        rc = evs_batch_checkpoint_hash(b, "up-a", (uint64_t) i * 10 + 2, hash);
    if (rc == 0)
        rc = evs_group_encode(b, &open_data, &open_len);
    if (rc == 0)
        rc = evs_batch_commit(b);
    if (rc == 0)
        rc = evs_group_encode(b, &g->data, &g->len);
    /* the same bytes before and after the commit */
    if (rc == 0 && (open_len != g->len || memcmp(open_data, g->data, g->len) != 0))
        rc = EVS_CORRUPT;
    evs_batch_end(&b);
    free(open_data);
    free(payload);
    return rc;
}

//  --------------------------------------------------------------------------
//  A log's whole contents, digested

/* Request results as "id\0result" entries, to be sorted. */
typedef struct {
    uint8_t *e; /* malloc'd */
    size_t len;
} s_entry_t;
typedef struct {
    s_entry_t *v;
    size_t n, cap;
} s_list_t;

static int s_dg_request(const char *id, const uint8_t *result, size_t len, void *arg)
{
    s_list_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        s_entry_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    size_t id_len = strlen(id) + 1;
    uint8_t *e = malloc(id_len + len);
    if (!e)
        return -ENOMEM;
    memcpy(e, id, id_len);
    if (len)
        memcpy(e + id_len, result, len);
    l->v[l->n++] = (s_entry_t){e, id_len + len};
    return 0;
}

static int s_entry_cmp(const void *a, const void *b)
{
    /* ids decide: each is kept once */
    return strcmp((const char *) ((const s_entry_t *) a)->e,
                  (const char *) ((const s_entry_t *) b)->e);
}

static int s_dg_record(const evs_record_t *rec, void *arg)
{
    crypto_hash_sha256_state *st = arg;
    crypto_hash_sha256_update(st, (const uint8_t *) &rec->seq, sizeof rec->seq);
    crypto_hash_sha256_update(st, (const uint8_t *) &rec->len, sizeof rec->len);
    crypto_hash_sha256_update(st, rec->data, rec->len);
    return 0;
}

static int s_dg_checkpoint(const char *up, uint64_t seq, const uint8_t *hash, void *arg)
{
    crypto_hash_sha256_state *st = arg;
    uint8_t known = hash != NULL;
    crypto_hash_sha256_update(st, (const uint8_t *) up, strlen(up) + 1);
    crypto_hash_sha256_update(st, (const uint8_t *) &seq, sizeof seq);
    crypto_hash_sha256_update(st, &known, 1);
    if (hash)
        crypto_hash_sha256_update(st, hash, EVS_HASH_SIZE);
    return 0;
}

/* What a digest saw. */
typedef struct {
    uint8_t hash[32]; /* SHA-256 over all of it */
    uint64_t head;    /* head seq */
    size_t requests;  /* request results */
} s_digest_t;

/* All of a log: head, stream count, records, request results (as a set: which of them are
 * in `requests` and which in reqtail differs between copies), checkpoints. Each request
 * result evs_requests_each() gives must be what evs_request_get() gives. */
static int s_digest(evs_t *evs, s_digest_t *d)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    evs_stat_t stat;
    s_list_t l = {0};
    int rc = evs_stat(evs, &stat);
    if (rc == 0) {
        crypto_hash_sha256_update(&st, (const uint8_t *) &stat.head_seq, sizeof stat.head_seq);
        crypto_hash_sha256_update(&st, stat.head_hash, EVS_HASH_SIZE);
        crypto_hash_sha256_update(&st, (const uint8_t *) &stat.streams, sizeof stat.streams);
        rc = evs_read(evs, 1, UINT64_MAX, 0, s_dg_record, &st);
    }
    if (rc == 0)
        rc = evs_requests_each(evs, s_dg_request, &l);
    if (rc == 0 && l.n != stat.requests)
        rc = EVS_CORRUPT;
    qsort(l.v, l.n, sizeof *l.v, s_entry_cmp);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        crypto_hash_sha256_update(&st, (const uint8_t *) &l.v[i].len, sizeof l.v[i].len);
        crypto_hash_sha256_update(&st, l.v[i].e, l.v[i].len);
        uint8_t *res = NULL;
        size_t len = 0, id_len = strlen((char *) l.v[i].e) + 1;
        rc = evs_request_get(evs, (char *) l.v[i].e, &res, &len);
        if (rc == 0 && (i > 0 && strcmp((char *) l.v[i - 1].e, (char *) l.v[i].e) == 0))
            rc = EVS_CORRUPT; /* given twice */
        if (rc == 0 && (id_len + len != l.v[i].len || memcmp(l.v[i].e + id_len, res, len)))
            rc = EVS_CORRUPT;
        free(res);
    }
    if (rc == 0)
        rc = evs_checkpoints_each(evs, s_dg_checkpoint, &st);
    crypto_hash_sha256_final(&st, d->hash);
    d->head = stat.head_seq;
    d->requests = l.n;
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].e);
    free(l.v);
    return rc;
}

static bool s_same(const s_digest_t *a, const s_digest_t *b)
{
    return memcmp(a->hash, b->hash, sizeof a->hash) == 0 && a->head == b->head &&
           a->requests == b->requests;
}

//  --------------------------------------------------------------------------
//  Groups refused

/* Applies @p data into a batch of @p evs: it must be refused with @p want, the batch then
 * not committable; the batch is ended. 0 when so. */
static int s_refused(evs_t *evs, const uint8_t *data, size_t len, int want, const char *word)
{
    evs_batch_t *b = NULL;
    uint64_t first = 1, last = 1;
    int rc = evs_batch_begin(evs, &b);
    if (rc == 0)
        rc = evs_group_apply(b, data, len, &first, &last);
    if (s_verbose && rc == want && word)
        printf("   refused: %s\n", evs_group_error());
    if (rc == want && (first || last))
        rc = -EINVAL;
    else if (rc == want && word && !strstr(evs_group_error(), word))
        rc = -EINVAL; /* refused, but for another reason than the one tested */
    else if (rc == want)
        rc = evs_batch_commit(b) == EVS_BAD_BATCH ? 0 : -EINVAL;
    else
        rc = rc ? rc : -EINVAL;
    evs_batch_end(&b);
    if (rc)
        fprintf(stderr, "evs_group_test: not refused with %d and \"%s\": %d, %s\n", want,
                word ? word : "", rc, rc == -EINVAL ? evs_group_error() : evs_strerror(rc));
    return rc;
}

/* The first record of @p g, re-made with its stream version moved by @p dv and hashed
 * again as the store hashes: a record whose chain is right and whose version is wrong
 * (dv 0: the same record, made the same way, as a control). Into a new group. */
static int s_rehashed(const s_grp_t *g, int dv, uint8_t **out, size_t *out_len)
{
    /* the first item is the first record: tag, u32 length, bytes */
    const uint8_t *rec = g->data + EVS_GROUP_HEADER + 5;
    size_t rec_len = (size_t) g->data[EVS_GROUP_HEADER + 1] << 24 |
                     (size_t) g->data[EVS_GROUP_HEADER + 2] << 16 |
                     (size_t) g->data[EVS_GROUP_HEADER + 3] << 8 | g->data[EVS_GROUP_HEADER + 4];
    Tp__Envelope *env = tp__envelope__unpack(NULL, rec_len, rec);
    if (!env || g->data[EVS_GROUP_HEADER] != 0x01)
        return EVS_CORRUPT;
    env->stream_version = (uint64_t) ((int64_t) env->stream_version + dv);
    env->hash = (ProtobufCBinaryData){0, NULL};
    size_t n = tp__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n + 2 + EVS_HASH_SIZE);
    evs_group_t *grp = evs_group_new();
    int rc = buf && grp ? 0 : -ENOMEM;
    if (rc == 0) {
        tp__envelope__pack(env, buf);
        buf[n] = 0x5A; /* field 11, length-delimited */
        buf[n + 1] = EVS_HASH_SIZE;
        crypto_hash_sha256(buf + n + 2, buf, n);
        rc = evs_group_add_record(grp, buf, n + 2 + EVS_HASH_SIZE);
    }
    if (rc == 0)
        rc = evs_group_take(grp, out, out_len);
    tp__envelope__free_unpacked(env, NULL);
    evs_group_destroy(&grp);
    free(buf);
    return rc;
}

/* Every way group @p k (its twin @p other of another log written alike) must be refused
 * while @p evs holds groups 0..k-1; the log must be as it was afterwards. */
static int s_test_refusals(evs_t *evs, const s_grp_t *grps, const s_grp_t *other, int k)
{
    s_digest_t before, after;
    uint8_t *copy = NULL, *made = NULL;
    size_t made_len = 0;
    evs_group_t *grp = NULL;
    evs_batch_t *b = NULL;
    int failed = 1;
    const s_grp_t *g = &grps[k];
    S_CHECK(g->first && grps[k - 1].first && grps[k + 1].first);
    S_CHECK_RC(s_digest(evs, &before), 0);

    /* out of order, and twice */
    S_CHECK_RC(s_refused(evs, grps[k + 1].data, grps[k + 1].len, EVS_CORRUPT, "moved"), 0);
    S_CHECK_RC(s_refused(evs, grps[k - 1].data, grps[k - 1].len, EVS_CORRUPT, "moved"), 0);
    /* the same place in another log: its records' own hashes are right, the chain is not */
    S_CHECK_RC(s_refused(evs, other[k].data, other[k].len, EVS_CORRUPT, "prev_hash"), 0);

    /* one byte changed anywhere in the first record (or its length) */
    copy = malloc(g->len + 1);
    S_CHECK(copy != NULL);
    size_t rec_end = EVS_GROUP_HEADER + 5 +
                     ((size_t) g->data[EVS_GROUP_HEADER + 3] << 8 | g->data[EVS_GROUP_HEADER + 4]);
    for (size_t at = EVS_GROUP_HEADER + 1; at < rec_end; at++) {
        memcpy(copy, g->data, g->len);
        copy[at] ^= at % 2 ? 0x01 : 0x80;
        S_CHECK_RC(s_refused(evs, copy, g->len, EVS_CORRUPT, NULL), 0);
    }
    memcpy(copy, g->data, g->len);
    copy[rec_end - 40] ^= 0x04; /* in the payload, near its end */
    S_CHECK_RC(s_refused(evs, copy, g->len, EVS_CORRUPT, "hash mismatch"), 0);

    /* cut short anywhere (at an item's end too), or longer than its count */
    for (size_t cut = 0; cut < g->len; cut++)
        S_CHECK_RC(s_refused(evs, g->data, cut, EVS_CORRUPT, NULL), 0);
    memcpy(copy, g->data, g->len);
    copy[g->len] = 0x03;
    S_CHECK_RC(s_refused(evs, copy, g->len + 1, EVS_CORRUPT, "count"), 0);
    /* another format version */
    memcpy(copy, g->data, g->len);
    copy[3] = EVS_GROUP_VERSION + 1;
    S_CHECK_RC(s_refused(evs, copy, g->len, EVS_MISMATCH, "version"), 0);

    /* a record whose chain is right and whose stream version is not: refused; the same
     * record made again with its own version applies (so the refusal is the version's) */
    S_CHECK_RC(s_rehashed(g, 1, &made, &made_len), 0);
    S_CHECK_RC(s_refused(evs, made, made_len, EVS_CORRUPT, "version"), 0);
    free(made);
    made = NULL;
    S_CHECK_RC(s_rehashed(g, -1, &made, &made_len), 0);
    S_CHECK_RC(s_refused(evs, made, made_len, EVS_CORRUPT, "version"), 0);
    free(made);
    made = NULL;
    S_CHECK_RC(s_rehashed(g, 0, &made, &made_len), 0);
    uint64_t first, last;
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_group_apply(b, made, made_len, &first, &last), 0);
    S_CHECK(first == g->first && last == g->first);
    evs_batch_end(&b); /* not committed */

    /* a request id kept already: with another result refused, with the same one skipped */
    grp = evs_group_new();
    S_CHECK(grp != NULL);
    S_CHECK_RC(evs_group_add_request(grp, "r-0-0", (const uint8_t *) "other", 5), 0);
    S_CHECK_RC(evs_group_take(grp, &made, &made_len), 0);
    S_CHECK_RC(s_refused(evs, made, made_len, EVS_CORRUPT, "another result"), 0);
    free(made);
    made = NULL;
    uint8_t *kept = NULL;
    size_t kept_len = 0;
    S_CHECK_RC(evs_request_get(evs, "r-2-0", &kept, &kept_len), 0);
    S_CHECK_RC(evs_group_add_request(grp, "r-2-0", kept, kept_len), 0);
    free(kept);
    S_CHECK_RC(evs_group_take(grp, &made, &made_len), 0);
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_group_apply(b, made, made_len, &first, &last), 0);
    S_CHECK(first == 0 && last == 0 && evs_batch_empty(b));
    evs_batch_end(&b);
    /* a batch that is not open is left alone */
    S_CHECK_RC(evs_batch_begin(evs, &b), 0);
    S_CHECK_RC(evs_batch_seal(b), 0);
    S_CHECK_RC(evs_group_apply(b, g->data, g->len, NULL, NULL), EVS_BAD_BATCH);
    S_CHECK_RC(evs_batch_commit(b), 0);
    evs_batch_end(&b);

    evs_verify_t rep;
    S_CHECK_RC(evs_verify(evs, &rep), 0);
    S_CHECK_RC(s_digest(evs, &after), 0);
    S_CHECK(s_same(&before, &after));
    failed = 0;
fail:
    evs_batch_end(&b);
    free(copy);
    free(made);
    evs_group_destroy(&grp);
    return failed;
}

//  --------------------------------------------------------------------------
//  Reading groups

typedef struct {
    uint64_t next; /* seq the next record must have */
    size_t records, requests, checkpoints;
} s_counts_t;

static int s_count_record(const evs_record_t *rec, void *arg)
{
    s_counts_t *c = arg;
    evs_view_t view;
    if (evs_view(rec->data, rec->len, &view) || view.seq != rec->seq || rec->seq != c->next)
        return 9;
    c->next++;
    c->records++;
    return 0;
}

static int s_count_request(const char *id, const uint8_t *result, size_t len, void *arg)
{
    (void) result, (void) len;
    s_counts_t *c = arg;
    c->requests++;
    return strncmp(id, "r-", 2) == 0 ? 0 : 9;
}

static int s_count_checkpoint(const char *up, uint64_t seq, const uint8_t *hash, void *arg)
{
    s_counts_t *c = arg;
    c->checkpoints++;
    /* up-b always has a hash; up-a's seq ends in 2 exactly when it has one */
    bool ok = strcmp(up, "up-b") == 0
                  ? hash && seq % 10 == 1
                  : strcmp(up, "up-a") == 0 && (seq % 10 == 2) == (hash != NULL);
    return ok ? 0 : 9;
}

static int s_stop(const char *up, uint64_t seq, const uint8_t *hash, void *arg)
{
    (void) up, (void) seq, (void) hash, (void) arg;
    return 7;
}

/* evs_group_each() over every group gives what s_write_batch() put in it. */
static int s_test_each(const s_grp_t *grps, int n)
{
    for (int i = 0; i < n; i++) {
        const s_grp_t *g = &grps[i];
        s_counts_t c = {.next = g->first};
        S_CHECK_RC(evs_group_each(g->data, g->len, s_count_record, s_count_request,
                                  s_count_checkpoint, &c),
                   0);
        S_CHECK(c.records == (g->first ? g->last - g->first + 1 : 0));
        S_CHECK(c.requests == g->requests && c.checkpoints == g->checkpoints);
        /* callbacks may be left out; a non-zero one stops */
        S_CHECK_RC(evs_group_each(g->data, g->len, NULL, NULL, NULL, NULL), 0);
        if (g->checkpoints)
            S_CHECK_RC(evs_group_each(g->data, g->len, NULL, NULL, s_stop, NULL), 7);
        /* nothing given from a group cut short */
        c = (s_counts_t){.next = g->first};
        S_CHECK_RC(evs_group_each(g->data, g->len - 1, s_count_record, s_count_request,
                                  s_count_checkpoint, &c),
                   EVS_CORRUPT);
        S_CHECK(c.records == 0 && c.requests == 0 && c.checkpoints == 0);
    }
    return 0;
fail:
    return 1;
}

//  --------------------------------------------------------------------------
//  A whole log moved with the builder

typedef struct {
    evs_t *to;        /* the log written */
    evs_group_t *grp; /* filled up to S_MOVE_MAX bytes, then applied */
    int rc;
} s_move_t;

#define S_MOVE_MAX 8192

static int s_move_flush(s_move_t *m)
{
    uint8_t *data = NULL;
    size_t len;
    evs_batch_t *b = NULL;
    int rc = evs_group_take(m->grp, &data, &len);
    if (rc == 0)
        rc = evs_batch_begin(m->to, &b);
    if (rc == 0)
        rc = evs_group_apply(b, data, len, NULL, NULL);
    if (rc == 0)
        rc = evs_batch_commit(b);
    evs_batch_end(&b);
    free(data);
    return rc;
}

static int s_move_record(const evs_record_t *rec, void *arg)
{
    s_move_t *m = arg;
    int rc = evs_group_add_record(m->grp, rec->data, rec->len);
    if (rc == 0 && evs_group_size(m->grp) > S_MOVE_MAX)
        rc = s_move_flush(m);
    return rc;
}

static int s_move_request(const char *id, const uint8_t *result, size_t len, void *arg)
{
    s_move_t *m = arg;
    return evs_group_add_request(m->grp, id, result, len);
}

static int s_move_checkpoint(const char *up, uint64_t seq, const uint8_t *hash, void *arg)
{
    s_move_t *m = arg;
    return evs_group_add_checkpoint(m->grp, up, seq, hash);
}

/* All of @p from into the empty @p to, in groups of about S_MOVE_MAX bytes. */
static int s_move(evs_t *from, evs_t *to)
{
    s_move_t m = {to, evs_group_new(), 0};
    int rc = m.grp ? evs_read(from, 1, UINT64_MAX, 0, s_move_record, &m) : -ENOMEM;
    if (rc == 0)
        rc = evs_requests_each(from, s_move_request, &m);
    if (rc == 0)
        rc = evs_checkpoints_each(from, s_move_checkpoint, &m);
    if (rc == 0)
        rc = s_move_flush(&m);
    evs_group_destroy(&m.grp);
    return rc;
}

//  --------------------------------------------------------------------------

/* Request ids in `requests` and in reqtail of @p evs. */
static int s_tables(evs_t *evs, size_t *sorted, size_t *tail)
{
    MDB_txn *txn;
    MDB_stat rs, ts;
    int rc = evsi_ro_begin(evs, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_stat(txn, evs->requests, &rs)) == 0 &&
        (rc = mdb_stat(txn, evs->reqtail, &ts)) == 0) {
        *sorted = rs.ms_entries;
        *tail = ts.ms_entries;
    }
    evsi_ro_end(evs, txn);
    return rc;
}

static int s_run(const char *base)
{
    char dir[512];
    evs_t *a = NULL, *c = NULL, *b = NULL, *d = NULL;
    evs_batch_t *batch = NULL;
    s_grp_t ga[S_BATCHES] = {0}, gc[S_BATCHES] = {0};
    int failed = 1;
    /* a tiny map (it grows), index runs and moves of request ids every few */
    evs_opts_t opts = {
        .flags = EVS_NOSYNC, .initial_map = 64 << 10, .service = "grp", .index_every = 5};
    snprintf(dir, sizeof dir, "%s/a", base);
    S_CHECK_RC(evs_open(dir, &opts, &a), 0);
    snprintf(dir, sizeof dir, "%s/c", base);
    S_CHECK_RC(evs_open(dir, &opts, &c), 0);
    snprintf(dir, sizeof dir, "%s/b", base);
    S_CHECK_RC(evs_open(dir, &opts, &b), 0);
    snprintf(dir, sizeof dir, "%s/d", base);
    S_CHECK_RC(evs_open(dir, &opts, &d), 0);
    for (int i = 0; i < S_BATCHES; i++) {
        S_CHECK_RC(s_write_batch(a, i, &ga[i]), 0);
        S_CHECK_RC(s_write_batch(c, i, &gc[i]), 0);
    }
    S_CHECK_RC(s_test_each(ga, S_BATCHES), 0);

    /* group by group into b, each in its own batch; the refusals midway */
    for (int i = 0; i < S_BATCHES - 2; i++) {
        uint64_t first, last;
        if (i == S_BAD_AT)
            S_CHECK_RC(s_test_refusals(b, ga, gc, i), 0);
        S_CHECK_RC(evs_batch_begin(b, &batch), 0);
        S_CHECK_RC(evs_group_apply(batch, ga[i].data, ga[i].len, &first, &last), 0);
        S_CHECK(first == ga[i].first && last == ga[i].last);
        S_CHECK_RC(evs_batch_commit(batch), 0);
        evs_batch_end(&batch);
    }
    /* the last two in one batch */
    S_CHECK_RC(evs_batch_begin(b, &batch), 0);
    for (int i = S_BATCHES - 2; i < S_BATCHES; i++)
        S_CHECK_RC(evs_group_apply(batch, ga[i].data, ga[i].len, NULL, NULL), 0);
    S_CHECK_RC(evs_batch_commit(batch), 0);
    evs_batch_end(&batch);

    /* b is a: the same head, records, request results and checkpoints; intact */
    s_digest_t da, db, dd;
    evs_verify_t rep;
    evs_stat_t st;
    size_t sorted, tail;
    S_CHECK_RC(evs_verify(b, &rep), 0);
    S_CHECK_RC(s_digest(a, &da), 0);
    S_CHECK_RC(s_digest(b, &db), 0);
    S_CHECK(s_same(&da, &db));
    size_t requests = 0;
    for (int i = 0; i < S_BATCHES; i++)
        requests += ga[i].requests;
    S_CHECK(da.head == ga[S_BATCHES - 1].last && da.requests == requests);
    S_CHECK_RC(evs_stat(b, &st), 0);
    S_CHECK(st.map_size > 64 << 10 && st.streams == 4);
    /* evs_requests_each() read both tables */
    S_CHECK_RC(s_tables(b, &sorted, &tail), 0);
    S_CHECK(sorted > 0 && tail > 0);
    if (s_verbose)
        printf("   %llu records, %zu request results (%zu sorted, %zu in reqtail) copied\n",
               (unsigned long long) da.head, da.requests, sorted, tail);
    /* what refusals saw before, after them: every group applied again is refused */
    for (int i = 0; i < S_BATCHES; i++)
        if (ga[i].first)
            S_CHECK_RC(s_refused(b, ga[i].data, ga[i].len, EVS_CORRUPT, "moved"), 0);

    /* the whole of a, moved into d with the builder */
    S_CHECK_RC(s_move(a, d), 0);
    S_CHECK_RC(evs_verify(d, &rep), 0);
    S_CHECK_RC(s_digest(d, &dd), 0);
    S_CHECK(s_same(&da, &dd));

    failed = 0;
fail:
    evs_batch_end(&batch);
    s_grps_free(ga, S_BATCHES);
    s_grps_free(gc, S_BATCHES);
    evs_destroy(&a);
    evs_destroy(&b);
    evs_destroy(&c);
    evs_destroy(&d);
    return failed;
}

/* The builder's refusals, and what evs_requests_each()/evs_checkpoints_each() give an
 * empty log. */
static int s_test_builder(const char *base)
{
    char dir[512];
    evs_t *e = NULL;
    evs_group_t *g = evs_group_new();
    uint8_t *data = NULL;
    size_t len;
    int failed = 1;
    S_CHECK(g != NULL);
    S_CHECK_RC(evs_group_add_record(g, NULL, 0), EVS_INVALID);
    S_CHECK_RC(evs_group_add_request(g, "", NULL, 0), EVS_INVALID);
    S_CHECK_RC(evs_group_add_request(g, "x", NULL, 3), EVS_INVALID);
    S_CHECK_RC(evs_group_add_checkpoint(g, NULL, 1, NULL), EVS_INVALID);
    S_CHECK(evs_group_count(g) == 0 && evs_group_size(g) == EVS_GROUP_HEADER);
    S_CHECK_RC(evs_group_add_request(g, "x", NULL, 0), 0);
    S_CHECK(evs_group_count(g) == 1 && evs_group_size(g) == EVS_GROUP_HEADER + 7);
    S_CHECK_RC(evs_group_take(g, &data, &len), 0);
    S_CHECK(len == EVS_GROUP_HEADER + 7 &&
            memcmp(data, "TPG\x01\0\0\0\x01\x02\x01x\0\0\0\0", len) == 0);
    S_CHECK(evs_group_count(g) == 0 && evs_group_size(g) == EVS_GROUP_HEADER);
    free(data);
    data = NULL;
    /* an empty group is one */
    S_CHECK_RC(evs_group_take(g, &data, &len), 0);
    S_CHECK_RC(evs_group_each(data, len, NULL, NULL, NULL, NULL), 0);
    S_CHECK_RC(evs_group_each(data, len - 1, NULL, NULL, NULL, NULL), EVS_CORRUPT);
    snprintf(dir, sizeof dir, "%s/e", base);
    evs_opts_t opts = {.flags = EVS_NOSYNC, .service = "grp"};
    S_CHECK_RC(evs_open(dir, &opts, &e), 0);
    S_CHECK_RC(evs_requests_each(e, s_count_request, NULL), 0);
    S_CHECK_RC(evs_checkpoints_each(e, s_stop, NULL), 0);
    evs_group_destroy(&g);
    failed = 0; /* and destroyed twice below: safe */
fail:
    free(data);
    evs_group_destroy(&g);
    evs_destroy(&e);
    return failed;
}

int evs_group_test(bool verbose)
{
    s_verbose = verbose;
    char base[] = "/tmp/evs_group_test_XXXXXX";
    if (!mkdtemp(base)) {
        fprintf(stderr, "evs_group_test: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (verbose)
        printf(" * evs_group: in %s\n", base);
    int failed = s_test_builder(base) + s_run(base);
    evs_check_rmtree(base);
    return failed ? 1 : 0;
}
