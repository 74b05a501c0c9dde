/* evs_batch.c: write batches: built in memory, sealed, committed in one write txn. */
#include "evs_internal.h"
#include "evs_sha256.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp.pb-c.h"

#define S_CHUNK_SIZE ((size_t)64 << 10)     /* arena chunk; bigger items get their own */
#define S_HASH_TAG 0x5A                     /* field 11 (hash), wire type 2 */

//  --------------------------------------------------------------------------
//  Tables

/* FNV-1a, 64 bits. */
uint64_t evsi_hash_bytes(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
    return h;
}

evsi_slot_t *evsi_tab_find(const evsi_tab_t *t, const char *k, size_t n)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    uint64_t h = evsi_hash_bytes(k, n);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        evsi_slot_t *s = &t->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == h && s->len == n && memcmp(s->key, k, n) == 0)
            return s;
    }
}

/* Sets @p k (stable memory) to @p val; -ENOMEM when the table cannot grow. */
int evsi_tab_put(evsi_tab_t *t, const char *k, size_t n, uint64_t val)
{
    evsi_slot_t *found = evsi_tab_find(t, k, n);
    if (found) {
        found->val = val;
        return 0;
    }
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        evsi_slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].key)
                continue;
            size_t j = t->slots[i].hash & (cap - 1);
            while (slots[j].key)
                j = (j + 1) & (cap - 1);
            slots[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    size_t mask = t->cap - 1;
    uint64_t h = evsi_hash_bytes(k, n);
    size_t i = h & mask;
    while (t->slots[i].key)
        i = (i + 1) & mask;
    t->slots[i] = (evsi_slot_t){k, n, val, h};
    t->n++;
    return 0;
}

//  --------------------------------------------------------------------------
//  Batches

/* Stable memory until evs_batch_end(); NULL when out of memory. */
uint8_t *evsi_alloc(evs_batch_t *b, size_t n)
{
    evsi_chunk_t *c = b->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > S_CHUNK_SIZE ? n : S_CHUNK_SIZE;
        c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->next = b->chunks;
        c->used = 0;
        c->size = size;
        b->chunks = c;
    }
    uint8_t *p = c->data + c->used;
    c->used += n;
    return p;
}

static evsi_op_t *s_push_op(evs_batch_t *b)
{
    if (b->n_ops == b->cap_ops) {
        size_t cap = b->cap_ops ? b->cap_ops * 2 : 64;
        evsi_op_t *ops = realloc(b->ops, cap * sizeof *ops);
        if (!ops)
            return NULL;
        b->ops = ops;
        b->cap_ops = cap;
    }
    return &b->ops[b->n_ops++];
}

/* Writes one op into the write txn @p txn. */
static int s_apply(evs_t *self, MDB_txn *txn, const evsi_op_t *op)
{
    uint8_t kbuf[EVS_MAX_ID + 9];
    MDB_val key, val;
    int rc;
    switch (op->kind) {
    case EVSI_OP_EVENT:
        key = (MDB_val){sizeof op->seq, (void *)&op->seq};
        val = (MDB_val){op->len, (void *)op->data};
        rc = mdb_put(txn, self->events, &key, &val, MDB_APPEND);
        return rc == MDB_KEYEXIST ? EVS_CORRUPT : rc;   /* records beyond the head */
    case EVSI_OP_REQUEST:
        /* u8 id length, id, result: appended; moved to `requests` later (evsi_req_move) */
        key = (MDB_val){sizeof op->seq, (void *)&op->seq};
        val = (MDB_val){1 + op->key_len + op->len, NULL};
        rc = mdb_put(txn, self->reqtail, &key, &val, MDB_APPEND | MDB_RESERVE);
        if (rc == 0) {
            uint8_t *p = val.mv_data;
            p[0] = (uint8_t)op->key_len;
            memcpy(p + 1, op->key, op->key_len);
            if (op->len)
                memcpy(p + 1 + op->key_len, op->data, op->len);
        }
        return rc == MDB_KEYEXIST ? EVS_CORRUPT : rc;
    case EVSI_OP_CHECKPOINT:
        key = (MDB_val){evsi_cp_key((char *)kbuf, op->key, op->key_len), kbuf};
        /* the seq under cp/ (as it always was), the hash of the upstream's record there
         * under ch/ when one was given (else an old one must not stay) */
        val = (MDB_val){sizeof op->seq, (void *)&op->seq};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
        if (rc == 0) {
            key.mv_size = evsi_cp_key((char *)kbuf, op->key, op->key_len);
            memcpy(kbuf, "ch/", 3);
            val = (MDB_val){op->len, (void *)op->data};
            rc = op->len ? mdb_put(txn, self->meta, &key, &val, 0)
                         : mdb_del(txn, self->meta, &key, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        return rc;
    }
    return EVS_INVALID;
}

/* A fresh snapshot for one lookup of an open batch; end it with evsi_snap_end() before
 * returning to the caller, so no lock is held between calls. */
int evsi_snap_begin(evs_batch_t *b)
{
    pthread_rwlock_rdlock(&b->evs->maplock);
    int rc = b->txn ? mdb_txn_renew(b->txn) : evsi_txn_begin(b->evs, MDB_RDONLY, &b->txn);
    if (rc)
        pthread_rwlock_unlock(&b->evs->maplock);
    return rc;
}

void evsi_snap_end(evs_batch_t *b)
{
    mdb_txn_reset(b->txn);
    pthread_rwlock_unlock(&b->evs->maplock);
}

int evs_batch_begin(evs_t *self, evs_batch_t **out)
{
    assert(self);
    assert(out);
    *out = NULL;
    if (self->rdonly)
        return EVS_RDONLY_ERR;
    if (self->batch)
        return EVS_BAD_BATCH;
    evs_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->evs = self;
    b->random_used = sizeof b->random;
    int rc = 0;
    if (self->sealed) {
        /* it follows the newest batch not yet written */
        b->seq = self->sealed->seq;
        memcpy(b->hash, self->sealed->hash, EVS_HASH_SIZE);
    }
    else if ((rc = evsi_snap_begin(b)) == 0) {
        rc = evsi_get_head(self, b->txn, &b->seq, b->hash);
        evsi_snap_end(b);
    }
    if (rc)
        goto fail;
    b->base_seq = b->seq;
    b->req_base = self->req_next - 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    b->now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    self->batch = b;
    *out = b;
    return 0;
fail:
    if (b->txn)
        mdb_txn_abort(b->txn);
    free(b);
    return evsi_rc(rc);
}

/* Makes record @p rec (@p len bytes in the arena, its stream id's @p id_len bytes right
 * after them) the batch's next one, at @p version of its stream: the one way a record
 * enters a batch, made here (s_append_event) or taken whole (evsi_batch_put_record). Its
 * seq and hash are the record's own, which the caller made or checked. */
static int s_push_record(evs_batch_t *b, const uint8_t *rec, size_t len, size_t id_len,
                         uint64_t version)
{
    const char *key = (const char *)rec + len;
    evsi_op_t *op = s_push_op(b);
    if (!op || evsi_tab_put(&b->versions, key, id_len, version) != 0)
        return -ENOMEM;
    *op = (evsi_op_t){EVSI_OP_EVENT, b->seq + 1, version, key, id_len, rec, len};
    b->seq++;
    memcpy(b->hash, rec + len - EVS_HASH_SIZE, EVS_HASH_SIZE);
    return 0;
}

static int s_append_event(evs_batch_t *b, const evs_event_t *ev)
{
    size_t id_len = strlen(ev->stream_id);
    uint64_t version;
    int rc = evsi_batch_version(b, ev->stream_id, id_len, &version);
    if (rc)
        return rc;
    char event_id[2 * 16 + 1];
    if (ev->event_id)
        snprintf(event_id, sizeof event_id, "%s", ev->event_id);
    else {
        if (b->random_used + 16 > sizeof b->random) {
            randombytes_buf(b->random, sizeof b->random);
            b->random_used = 0;
        }
        sodium_bin2hex(event_id, sizeof event_id, b->random + b->random_used, 16);
        b->random_used += 16;
    }

    Tp__Envelope env = TP__ENVELOPE__INIT;
    env.seq = b->seq + 1;
    env.stream_id = (char *)ev->stream_id;
    env.stream_version = version + 1;
    env.event_type = (char *)ev->event_type;
    env.event_id = event_id;
    env.recorded_at_us = b->now_us;
    if (ev->correlation_id)
        env.correlation_id = (char *)ev->correlation_id;
    if (ev->causation_id)
        env.causation_id = (char *)ev->causation_id;
    if (ev->actor)
        env.actor = (char *)ev->actor;
    env.payload = (ProtobufCBinaryData){ev->payload_len, (uint8_t *)ev->payload};
    env.prev_hash = (ProtobufCBinaryData){EVS_HASH_SIZE, b->hash};

    /* protobuf-c packs in field-number order and hash (11) is the last field,
     * so the record is the hash-less packing plus the hash field appended. */
    size_t n = tp__envelope__get_packed_size(&env);
    uint8_t *buf = evsi_alloc(b, n + 2 + EVS_HASH_SIZE + id_len);
    if (!buf)
        return -ENOMEM;
    tp__envelope__pack(&env, buf);
    buf[n] = S_HASH_TAG;
    buf[n + 1] = EVS_HASH_SIZE;
    evs_sha256(buf + n + 2, buf, n);
    memcpy(buf + n + 2 + EVS_HASH_SIZE, ev->stream_id, id_len);
    return s_push_record(b, buf, n + 2 + EVS_HASH_SIZE, id_len, env.stream_version);
}

int evsi_batch_put_record(evs_batch_t *b, const uint8_t *data, size_t len, char *why,
                          size_t why_size)
{
    if (b->state != EVSI_OPEN)
        return EVS_BAD_BATCH;
    evs_view_t view;
    uint8_t hash[EVS_HASH_SIZE];
    int rc = evsi_record_check(data, len, b->seq + 1, b->hash, &view, hash, why, why_size);
    if (rc)
        return rc;
    const char *id = view.stream_id;
    size_t id_len = view.stream_id_len;
    if (id_len < 1 || id_len > EVS_MAX_ID || memchr(id, 0, id_len) || view.event_type_len < 1
        || view.event_type_len > EVS_MAX_ID) {
        snprintf(why, why_size, "record of seq %llu: bad stream id or event type",
                 (unsigned long long)view.seq);
        return EVS_CORRUPT;
    }
    uint64_t version;
    if ((rc = evsi_batch_version(b, id, id_len, &version)))
        return rc;
    if (view.stream_version != version + 1) {
        snprintf(why, why_size, "record of seq %llu is version %llu of a stream at version %llu",
                 (unsigned long long)view.seq, (unsigned long long)view.stream_version,
                 (unsigned long long)version);
        return EVS_CORRUPT;
    }
    uint8_t *buf = evsi_alloc(b, len + id_len);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, data, len);
    memcpy(buf + len, id, id_len);
    return s_push_record(b, buf, len, id_len, view.stream_version);
}

int evs_batch_append(evs_batch_t *b,
                     const evs_event_t *events, size_t n_events,
                     const evs_expect_t *expect, size_t n_expect,
                     const char *request_id, const uint8_t *result, size_t result_len,
                     uint64_t *first_seq, uint64_t *last_seq)
{
    assert(b);
    assert(events || n_events == 0);
    assert(expect || n_expect == 0);
    if (first_seq)
        *first_seq = 0;
    if (last_seq)
        *last_seq = 0;
    if (b->state != EVSI_OPEN)
        return EVS_BAD_BATCH;

    /* Everything is checked before the first write, so a refusal leaves the
     * batch exactly as it was. */
    for (size_t i = 0; i < n_events; i++)
        if (!evsi_id_ok(events[i].stream_id) || !evsi_id_ok(events[i].event_type)
            || (!events[i].payload && events[i].payload_len))
            return EVS_INVALID;
    for (size_t i = 0; i < n_expect; i++)
        if (!evsi_id_ok(expect[i].stream_id) || expect[i].expected < EVS_ANY)
            return EVS_INVALID;
    if (request_id && (!evsi_id_ok(request_id) || (!result && result_len)))
        return EVS_INVALID;

    int rc;
    if (request_id) {
        const uint8_t *kept;
        size_t kept_len, n = strlen(request_id);
        /* just looked up and found nowhere: only this batch can have it since */
        if (strcmp(request_id, b->missed) == 0)
            rc = evsi_tab_find(&b->requests, request_id, n) ? 0 : MDB_NOTFOUND;
        else
            rc = evsi_batch_request(b, request_id, n, &kept, &kept_len);
        if (rc == 0)
            return EVS_CONFLICT;    /* its result is kept already: a retry */
        if (rc != MDB_NOTFOUND)
            goto fail;
    }
    for (size_t i = 0; i < n_expect; i++) {
        uint64_t version;
        if (expect[i].expected == EVS_ANY)
            continue;
        const char *id = expect[i].stream_id;
        if ((rc = evsi_batch_version(b, id, strlen(id), &version)))
            goto fail;
        if (version != (uint64_t)expect[i].expected)
            return EVS_CONFLICT;
    }

    uint64_t first = b->seq + 1;
    for (size_t i = 0; i < n_events; i++)
        if ((rc = s_append_event(b, &events[i])))
            goto fail;
    if (request_id) {
        size_t id_len = strlen(request_id);
        uint8_t *buf = evsi_alloc(b, id_len + result_len);
        if (buf)
            memcpy(buf, request_id, id_len);
        evsi_op_t *op = buf ? s_push_op(b) : NULL;
        if (!op || evsi_tab_put(&b->requests, (char *)buf, id_len, b->n_ops - 1) != 0) {
            rc = -ENOMEM;
            goto fail;
        }
        /* before it can be in the log; an id of a batch never written stays in the set,
         * which only costs a lookup */
        if (b->evs->seen && evs_bloom_add(b->evs->seen, request_id, id_len) != 0)
            evs_bloom_destroy(&b->evs->seen);
        if (result_len)
            memcpy(buf + id_len, result, result_len);
        *op = (evsi_op_t){EVSI_OP_REQUEST, b->evs->req_next++, 0, (char *)buf, id_len, buf + id_len,
                          result_len};
    }
    if (n_events) {
        if (first_seq)
            *first_seq = first;
        if (last_seq)
            *last_seq = b->seq;
    }
    return 0;
fail:
    b->state = EVSI_FAILED;
    return evsi_rc(rc);
}

int evs_batch_checkpoint(evs_batch_t *b, const char *upstream, uint64_t seq)
{
    return evs_batch_checkpoint_hash(b, upstream, seq, NULL);
}

int evs_batch_checkpoint_hash(evs_batch_t *b, const char *upstream, uint64_t seq,
                              const uint8_t *hash)
{
    assert(b);
    if (b->state != EVSI_OPEN)
        return EVS_BAD_BATCH;
    if (!evsi_id_ok(upstream))
        return EVS_INVALID;
    size_t len = strlen(upstream), hlen = hash ? EVS_HASH_SIZE : 0;
    char *key = (char *)evsi_alloc(b, len + hlen);
    evsi_op_t *op = key ? s_push_op(b) : NULL;
    if (!op) {
        b->state = EVSI_FAILED;
        return -ENOMEM;
    }
    memcpy(key, upstream, len);
    if (hash)
        memcpy(key + len, hash, hlen);
    *op = (evsi_op_t){EVSI_OP_CHECKPOINT, seq, 0, key, len, hlen ? (uint8_t *)key + len : NULL,
                      hlen};
    return 0;
}

uint64_t evs_batch_head(evs_batch_t *b)
{
    assert(b);
    return b->seq;
}

bool evs_batch_empty(const evs_batch_t *b)
{
    assert(b);
    return b->n_ops == 0;
}

int evs_batch_each(evs_batch_t *b, evs_record_fn *fn, void *arg)
{
    assert(b);
    assert(fn);
    for (size_t i = 0; i < b->n_ops; i++) {
        if (b->ops[i].kind != EVSI_OP_EVENT)
            continue;
        evs_record_t rec = {b->ops[i].seq, b->ops[i].data, b->ops[i].len};
        int rc = fn(&rec, arg);
        if (rc)
            return rc;
    }
    return 0;
}

int evs_batch_record(evs_batch_t *b, uint64_t seq, evs_record_t *rec)
{
    assert(b);
    assert(rec);
    /* callers ask for what they just appended: search from the newest op, so
     * this is O(ops of the last request), not O(batch) */
    for (size_t i = b->n_ops; i-- > 0;) {
        const evsi_op_t *op = &b->ops[i];
        if (op->kind != EVSI_OP_EVENT)
            continue;
        if (op->seq == seq) {
            *rec = (evs_record_t){op->seq, op->data, op->len};
            return 0;
        }
        if (op->seq < seq)
            break;
    }
    return EVS_NOTFOUND;
}

static int s_put_head(evs_batch_t *b, MDB_txn *txn)
{
    if (b->seq == b->base_seq)
        return 0;
    MDB_val key = EVSI_KEY("head_seq"), val = {sizeof b->seq, &b->seq};
    int rc = mdb_put(txn, b->evs->meta, &key, &val, 0);
    if (rc)
        return rc;
    uint64_t fresh = 0, count;
    for (size_t i = 0; i < b->n_ops; i++)
        fresh += b->ops[i].kind == EVSI_OP_EVENT && b->ops[i].version == 1;
    if (fresh) {
        if ((rc = evsi_stream_count(b->evs, txn, &count)))
            return rc;
        count += fresh;
        key = EVSI_KEY("stream_count");
        val = (MDB_val){sizeof count, &count};
        if ((rc = mdb_put(txn, b->evs->meta, &key, &val, 0)))
            return rc;
    }
    key = EVSI_KEY("head_hash");
    val = (MDB_val){EVS_HASH_SIZE, b->hash};
    return mdb_put(txn, b->evs->meta, &key, &val, 0);
}

int evs_batch_seal(evs_batch_t *b)
{
    assert(b);
    if (b->state != EVSI_OPEN)
        return b->state == EVSI_SEALED ? 0 : EVS_BAD_BATCH;
    evs_t *self = b->evs;
    if (b->txn)
        mdb_txn_abort(b->txn);   /* reset: holds no snapshot */
    b->txn = NULL;
    b->state = EVSI_SEALED;
    self->batch = NULL;
    b->older = self->sealed;
    self->sealed = b;
    /* enough events since the index was last written: this commit writes it for all
     * of them before its own (they are in the log by the time it is written) */
    uint64_t own = b->seq - b->base_seq;
    if (self->unindexed >= self->index_every && b->base_seq > 0) {
        b->index_to = b->base_seq;
        self->unindexed = 0;
    }
    self->unindexed += own;
    /* the same for the request ids of earlier batches: moved to `requests` in this one */
    if (self->req_unmoved >= self->index_every && b->req_base > 0) {
        b->req_move_to = b->req_base;
        self->req_unmoved = 0;
    }
    self->req_unmoved += b->requests.n;
    return 0;
}

//  --------------------------------------------------------------------------
//  Commit

/* Monotonic microseconds, for the commit's timing. */
int64_t evsi_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The whole batch in one write txn: the ops in order, then the head. */
static int s_write(evs_batch_t *b)
{
    evs_t *self = b->evs;
    int64_t t0 = evsi_mono_us();
    b->timing.index_run = b->index_to != 0;
    b->timing.request_move = b->req_move_to != 0;
    b->timing.ops = b->n_ops;
    MDB_txn *txn;
    int rc = evsi_txn_begin(self, 0, &txn);
    if (rc)
        return rc;
    /* it must follow exactly what is in the log: a batch before it that failed or was
     * ended unwritten makes it unwritable */
    uint64_t head = 0;
    rc = evsi_get_head(self, txn, &head, NULL);
    if (rc == 0 && head != b->base_seq)
        rc = EVS_BAD_BATCH;
    if (rc == 0 && b->index_to)
        rc = evsi_index_write(self, txn, b->index_to);
    if (rc == 0 && b->req_move_to)
        rc = evsi_req_move(self, txn, b->req_move_to);
    for (size_t i = 0; rc == 0 && i < b->n_ops; i++)
        rc = s_apply(self, txn, &b->ops[i]);
    if (rc == 0)
        rc = s_put_head(b, txn);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* LMDB writes its pages and flushes them: only LMDB writes LMDB's files */
    int64_t t1 = evsi_mono_us();
    rc = mdb_txn_commit(txn);     /* frees the txn, even on failure */
    int64_t t2 = evsi_mono_us();
    b->timing.us_puts = t1 - t0;
    b->timing.us_sync = t2 - t1;
    return rc;
}

int evs_batch_commit(evs_batch_t *b)
{
    assert(b);
    if (b->state == EVSI_OPEN)
        evs_batch_seal(b);
    if (b->state != EVSI_SEALED)
        return EVS_BAD_BATCH;
    int rc;
    while ((rc = s_write(b)) == MDB_MAP_FULL && (rc = evsi_grow(b->evs)) == 0)
        ;
    b->state = rc ? EVSI_FAILED : EVSI_COMMITTED;
    return evsi_rc(rc);
}

void evs_batch_timing(const evs_batch_t *b, evs_commit_timing_t *timing)
{
    assert(b && timing);
    *timing = b->timing;
}

void evs_batch_end(evs_batch_t **batch_p)
{
    assert(batch_p);
    evs_batch_t *b = *batch_p;
    if (!b)
        return;
    evs_t *self = b->evs;
    if (b->txn)
        mdb_txn_abort(b->txn);   /* reset: holds no snapshot */
    if (self->batch == b)
        self->batch = NULL;
    if (b->state == EVSI_COMMITTED) {
        /* what it wrote is in the log now; the index, up to where it wrote it */
        if (b->index_to) {
            evsi_pending_clear(self);   /* batches end in the order they commit */
            self->pending_short = false;
        }
        for (size_t i = 0; i < b->versions.cap; i++) {
            const evsi_slot_t *sl = &b->versions.slots[i];
            if (sl->key && evsi_pending_put(self, sl->key, sl->len, sl->val) != 0) {
                /* out of memory: the version is in the log, and read from there until
                 * the index has it; index at every commit from now on */
                self->pending_short = true;
                self->index_every = 0;
            }
        }
        /* the same for its request ids: reqtail now holds them */
        if (b->req_move_to)
            evsi_reqpending_clear(self, false);
        for (size_t i = 0; i < b->requests.cap; i++) {
            const evsi_slot_t *sl = &b->requests.slots[i];
            const evsi_op_t *op = sl->key ? &b->ops[sl->val] : NULL;
            if (op && evsi_reqpending_put(self, sl->hash, op->seq) != 0) {
                self->reqpending_short = true;
                self->index_every = 0;
            }
        }
        if (b->req_move_to && self->reqpending.n == b->requests.n)
            self->reqpending_short = false;
    }
    /* once ended, later batches find its writes in the log (or never, if it was not
     * written: then they cannot be written either) */
    for (evs_batch_t **p = &self->sealed; *p; p = &(*p)->older)
        if (*p == b) {
            *p = b->older;
            break;
        }
    while (b->chunks) {
        evsi_chunk_t *next = b->chunks->next;
        free(b->chunks);
        b->chunks = next;
    }
    free(b->ops);
    free(b->versions.slots);
    free(b->requests.slots);
    free(b);
    *batch_p = NULL;
}
