/* evs.c: the event store, an append-only, hash-chained event log in LMDB (see evs.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "evs.h"
#include "evs_bloom.h"
#include "evs_sha256.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tp.pb-c.h"

/* MDB_INTEGERKEY keys must be unsigned int or size_t; ours are u64. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "needs a 64-bit size_t");

#define S_FORMAT 1u                         /* meta "format" of this code */
#define S_DEFAULT_MAP ((size_t)64 << 20)    /* initial map when opts say 0 */
#define S_CHUNK_SIZE ((size_t)64 << 10)     /* arena chunk; bigger items get their own */
#define S_HASH_TAG 0x5A                     /* field 11 (hash), wire type 2 */
#define S_RESIZE_TRIES 16                   /* MDB_MAP_RESIZED retries before giving up */
#define S_INDEX_EVERY 16384                 /* events between stream index writes (default) */

/* A meta key: a string literal without its NUL. */
#define S_KEY(str) ((MDB_val){sizeof(str) - 1, (void *)(str)})

/* A small open-addressing table from a byte string (kept in the batch's arena) to a
 * u64: a batch's own stream versions and request ids, seen before it is written. */
typedef struct {
    const char *key;        /* NULL: empty slot */
    size_t len;
    uint64_t val;
    uint64_t hash;          /* s_hash_bytes of the key: compared before the bytes */
} s_slot_t;
typedef struct {
    s_slot_t *slots;
    size_t cap;             /* a power of two, or 0 */
    size_t n;
} s_tab_t;

/* Open addressing, 64-bit hash -> u64, for the owner's request ids in reqtail: a hit
 * names a record to read and compare, so no id or result is copied. */
typedef struct {
    uint64_t hash;          /* 0: empty slot (hashes are made odd) */
    uint64_t val;
} s_fp_slot_t;
typedef struct {
    s_fp_slot_t *slots;
    size_t cap;             /* a power of two, or 0 */
    size_t n;
} s_fp_tab_t;

struct _evs_t {
    MDB_env *env;           /* the folder's LMDB environment */
    MDB_dbi events;         /* seq -> envelope */
    MDB_dbi streams;        /* id -> version; id \0 version -> seq */
    MDB_dbi requests;       /* request id -> result */
    MDB_dbi reqtail;        /* u64 -> u8 id length, id, result: the newest request ids,
                               in the order they came (written with MDB_APPEND) */
    bool has_reqtail;       /* false for a log from before reqtail, opened read-only */
    MDB_dbi meta;           /* format, service, head, checkpoints */
    bool rdonly;            /* opened with EVS_RDONLY */
    evs_batch_t *batch;     /* the open batch, NULL when none */
    evs_batch_t *sealed;    /* sealed batches not yet ended, newest first */
    atomic_int reading;     /* read callbacks running: the map must not move */
    /* The stream index (heads and "id\0version" keys) is written for whole runs of
     * events at once, not at every commit: a commit would otherwise rewrite one page
     * per stream it touches. meta "index_seq" says how far it goes; the owner knows
     * the versions of the streams written after it (pending), and readers look at the
     * log's tail after it. */
    s_tab_t pending;        /* stream -> version, committed events after index_seq;
                               keys malloc'd; owner thread only */
    uint64_t unindexed;     /* events after the last index write, sealed or committed */
    size_t index_every;     /* events between index writes */
    pthread_rwlock_t maplock; /* read txns hold it shared; moving the map, exclusive */
    /* Request ids go into reqtail first, in order (cheap appends), and are moved into
     * `requests` (sorted, in one go) together with the stream index: random inserts
     * into a big B-tree would rewrite a page per request at every commit. */
    s_fp_tab_t reqpending;  /* hash of a request id -> its reqtail key, for what
                               reqtail holds as committed; owner thread only */
    uint64_t req_next;      /* reqtail key of the next request id appended */
    uint64_t req_unmoved;   /* request ids in reqtail, sealed or committed */
    bool reqpending_short;  /* out of memory: reqpending misses some of reqtail, which
                               lookups then read through until the next move */
    evs_bloom_t *seen;      /* the request ids in the log and in batches (owner thread
                               only): a new id needs no lookup in the log. NULL: none
                               kept (read-only, or out of memory), always look */
};

/* One write of a batch, kept so the batch can be redone after the map grew. */
typedef enum { S_OP_EVENT, S_OP_REQUEST, S_OP_CHECKPOINT } s_op_kind_t;
typedef struct {
    s_op_kind_t kind;       /* what to write */
    uint64_t seq;           /* event: its seq; checkpoint: the upstream seq; request:
                               its reqtail key */
    uint64_t version;       /* event: its stream version */
    const char *key;        /* stream id, request id or upstream (in the arena) */
    size_t key_len;         /* its length, no NUL */
    const uint8_t *data;    /* envelope or result bytes (in the arena) */
    size_t len;             /* their size */
} s_op_t;

/* Arena block: what the batch wrote stays put until evs_batch_end(). */
typedef struct s_chunk {
    struct s_chunk *next;   /* older chunk */
    size_t used;            /* bytes handed out */
    size_t size;            /* bytes in data */
    uint8_t data[];         /* the bytes */
} s_chunk_t;

typedef enum { S_OPEN, S_SEALED, S_COMMITTED, S_FAILED } s_state_t;

struct _evs_batch_t {
    evs_t *evs;             /* the store written to */
    MDB_txn *txn;           /* while open: a read txn for lookups, kept reset between
                               them (s_snap_begin), so the map may move meanwhile */
    s_state_t state;        /* open, sealed, committed or failed */
    evs_batch_t *older;     /* next older in evs->sealed */
    s_tab_t versions;       /* stream id -> its version after this batch */
    s_tab_t requests;       /* request id -> index of its S_OP_REQUEST op */
    uint64_t index_to;      /* when > 0: it also writes the stream index up to here */
    uint64_t req_base;      /* reqtail keys of earlier batches are <= this */
    uint64_t req_move_to;   /* when > 0: it also moves reqtail up to here to requests */
    char missed[EVS_MAX_ID + 1]; /* the request id evs_batch_request_get() last found
                               nowhere ("" when none): its append need not look again
                               outside this batch */
    int64_t now_us;         /* recorded_at_us of all its events */
    uint64_t base_seq;      /* head when the batch began */
    uint64_t seq;           /* head including this batch's appends */
    uint8_t hash[EVS_HASH_SIZE]; /* hash of record seq */
    s_op_t *ops;            /* every write, in order, for redo and evs_batch_each */
    size_t n_ops;           /* ops used */
    size_t cap_ops;         /* ops allocated */
    s_chunk_t *chunks;      /* arena, newest first */
    uint8_t random[1024];   /* random bytes for event ids: one syscall per 64 ids */
    size_t random_used;     /* bytes of random taken */
    evs_commit_timing_t timing; /* where its (last) commit's time went */
};

/* Decoded tail of an envelope that only the chain check needs. */
typedef struct {
    const uint8_t *prev_hash;   /* field 10 */
    size_t prev_hash_len;
    const uint8_t *hash;        /* field 11 */
    size_t hash_len;
    size_t hash_off;            /* offset of field 11's tag; SIZE_MAX when absent */
} s_chain_t;

/* LMDB returns system errors as positive errno; the API promises negatives. */
static int s_rc(int rc)
{
    return rc > 0 ? -rc : rc;
}

static bool s_id_ok(const char *id)
{
    if (!id)
        return false;
    size_t n = strnlen(id, EVS_MAX_ID + 1);
    return n >= 1 && n <= EVS_MAX_ID;
}

/* Begins a txn; adopts the map size another process grew to (read-only users). */
static int s_txn_begin(evs_t *self, unsigned flags, MDB_txn **txn)
{
    int rc = MDB_MAP_RESIZED;
    for (int i = 0; i < S_RESIZE_TRIES && rc == MDB_MAP_RESIZED; i++) {
        rc = mdb_txn_begin(self->env, NULL, flags, txn);
        if (rc == MDB_MAP_RESIZED && !self->reading) {
            int rc2 = mdb_env_set_mapsize(self->env, 0);
            if (rc2)
                return rc2;
        }
    }
    return rc;
}

/* Read callbacks running on this thread (any store): a commit from inside one must
 * not wait for the map lock its own read holds. */
static _Thread_local int s_reading_here;

/* evs_opts_t.index_every when 0 (the self-test runs a second time with a tiny one) */
static size_t s_index_every_default = S_INDEX_EVERY;

/* A read txn, holding the map lock shared so that a commit on another thread cannot
 * move the map under it. End it with s_ro_end(). */
static int s_ro_begin(evs_t *self, MDB_txn **txn)
{
    pthread_rwlock_rdlock(&self->maplock);
    int rc = s_txn_begin(self, MDB_RDONLY, txn);
    if (rc)
        pthread_rwlock_unlock(&self->maplock);
    return rc;
}

static void s_ro_end(evs_t *self, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&self->maplock);
}

/* FNV-1a, 64 bits. */
static uint64_t s_hash_bytes(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
    return h;
}

static s_slot_t *s_tab_find(const s_tab_t *t, const char *k, size_t n)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    uint64_t h = s_hash_bytes(k, n);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s_slot_t *s = &t->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == h && s->len == n && memcmp(s->key, k, n) == 0)
            return s;
    }
}

/* Sets @p k (stable memory) to @p val; -ENOMEM when the table cannot grow. */
static int s_tab_put(s_tab_t *t, const char *k, size_t n, uint64_t val)
{
    s_slot_t *found = s_tab_find(t, k, n);
    if (found) {
        found->val = val;
        return 0;
    }
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        s_slot_t *slots = calloc(cap, sizeof *slots);
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
    uint64_t h = s_hash_bytes(k, n);
    size_t i = h & mask;
    while (t->slots[i].key)
        i = (i + 1) & mask;
    t->slots[i] = (s_slot_t){k, n, val, h};
    t->n++;
    return 0;
}

static int s_get_u64(MDB_txn *txn, MDB_dbi dbi, MDB_val key, uint64_t *out)
{
    MDB_val val;
    int rc = mdb_get(txn, dbi, &key, &val);
    if (rc)
        return rc;
    if (val.mv_size != sizeof *out)
        return EVS_CORRUPT;
    memcpy(out, val.mv_data, sizeof *out);
    return 0;
}

static int s_get_head(evs_t *self, MDB_txn *txn, uint64_t *seq, uint8_t *hash)
{
    *seq = 0;
    if (hash)
        memset(hash, 0, EVS_HASH_SIZE);
    int rc = s_get_u64(txn, self->meta, S_KEY("head_seq"), seq);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc || !hash)
        return rc;
    MDB_val key = S_KEY("head_hash"), val;
    rc = mdb_get(txn, self->meta, &key, &val);
    if (rc)
        return rc == MDB_NOTFOUND ? EVS_CORRUPT : rc;
    if (val.mv_size != EVS_HASH_SIZE)
        return EVS_CORRUPT;
    memcpy(hash, val.mv_data, EVS_HASH_SIZE);
    return 0;
}

/* Current version of a stream as txn sees it; 0 when it does not exist. */
static int s_version(evs_t *self, MDB_txn *txn, const char *id, uint64_t *version)
{
    int rc = s_get_u64(txn, self->streams, (MDB_val){strlen(id), (void *)id}, version);
    if (rc == MDB_NOTFOUND) {
        *version = 0;
        rc = 0;
    }
    return rc;
}

static int s_parse(const uint8_t *data, size_t len, evs_view_t *view, s_chain_t *chain);

/* How far the stream index goes (meta "index_seq"); logs from before it was kept
 * apart were indexed at every commit: up to their head. */
static int s_index_seq(evs_t *self, MDB_txn *txn, uint64_t *seq)
{
    int rc = s_get_u64(txn, self->meta, S_KEY("index_seq"), seq);
    return rc == MDB_NOTFOUND ? s_get_head(self, txn, seq, NULL) : rc;
}

/* Calls @p fn for every event in (@p from, @p to] with its parsed view; stops at a
 * non-zero return. Records that do not parse are skipped (evs_verify() names them). */
typedef int (s_tail_fn)(const evs_view_t *view, const MDB_val *val, void *arg);
static int s_tail(evs_t *self, MDB_txn *txn, uint64_t from, uint64_t to, s_tail_fn *fn,
                  void *arg)
{
    if (from >= to)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->events, &cur);
    if (rc)
        return rc;
    uint64_t first = from + 1;
    MDB_val key = {sizeof first, &first}, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        uint64_t seq;
        memcpy(&seq, key.mv_data, sizeof seq);
        if (seq > to)
            break;
        evs_view_t v;
        if (s_parse(val.mv_data, val.mv_size, &v, NULL) != 0 || v.stream_id_len > EVS_MAX_ID)
            continue;   /* damaged: skipped here, named by evs_verify() */
        if ((rc = fn(&v, &val, arg)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The owner's versions of streams written after index_seq. */
static int s_pending_put(evs_t *self, const char *id, size_t len, uint64_t version)
{
    s_slot_t *slot = s_tab_find(&self->pending, id, len);
    if (slot) {
        slot->val = version;
        return 0;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, id, len);
    int rc = s_tab_put(&self->pending, copy, len, version);
    if (rc)
        free(copy);
    return rc;
}

static void s_pending_clear(evs_t *self)
{
    for (size_t i = 0; i < self->pending.cap; i++)
        free((char *)self->pending.slots[i].key);
    free(self->pending.slots);
    self->pending = (s_tab_t){0};
}

static int s_pending_from_tail(const evs_view_t *v, const MDB_val *val, void *arg)
{
    (void)val;
    return s_pending_put(arg, v->stream_id, v->stream_id_len, v->stream_version);
}

/* The hash reqpending keeps of a request id, from its s_hash_bytes() @p h (which a
 * batch's table already holds): never 0. */
static uint64_t s_fp_hash(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1;
}

/* Adds the request id of s_hash_bytes() @p id_hash (reqtail key @p key) to
 * reqpending; -ENOMEM. */
static int s_reqpending_put(evs_t *self, uint64_t id_hash, uint64_t key)
{
    s_fp_tab_t *t = &self->reqpending;
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        s_fp_slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].hash)
                continue;
            size_t j = t->slots[i].hash & (cap - 1);
            while (slots[j].hash)
                j = (j + 1) & (cap - 1);
            slots[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    uint64_t h = s_fp_hash(id_hash);
    size_t i = h & (t->cap - 1);
    while (t->slots[i].hash)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = (s_fp_slot_t){h, key};
    t->n++;
    return 0;
}

/* Empties reqpending (after a move), keeping its room; @p free_it: let go of it too. */
static void s_reqpending_clear(evs_t *self, bool free_it)
{
    s_fp_tab_t *t = &self->reqpending;
    if (free_it) {
        free(t->slots);
        *t = (s_fp_tab_t){0};
    }
    else if (t->n) {
        memset(t->slots, 0, t->cap * sizeof *t->slots);
        t->n = 0;
    }
}

/* A reqtail record: u8 id length, id, result. 0, or EVS_CORRUPT. */
static int s_reqtail_parse(const MDB_val *val, const uint8_t **id, size_t *id_len,
                           const uint8_t **result, size_t *len)
{
    const uint8_t *p = val->mv_data;
    if (val->mv_size < 1 || p[0] == 0 || p[0] > EVS_MAX_ID || 1u + p[0] > val->mv_size)
        return EVS_CORRUPT;
    *id = p + 1;
    *id_len = p[0];
    *result = p + 1 + p[0];
    *len = val->mv_size - 1 - p[0];
    return 0;
}

/* Request @p id in reqtail through reqpending: 0 with @p out set to its result (in the
 * map), MDB_NOTFOUND (also when a move took it to `requests` meanwhile), or an LMDB code. */
static int s_reqpending_find(evs_t *self, MDB_txn *txn, const char *id, size_t len,
                             MDB_val *out)
{
    const s_fp_tab_t *t = &self->reqpending;
    if (!t->n)
        return MDB_NOTFOUND;
    uint64_t h = s_fp_hash(s_hash_bytes(id, len));
    for (size_t i = h & (t->cap - 1); t->slots[i].hash; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].hash != h)
            continue;
        uint64_t k = t->slots[i].val;
        MDB_val key = {sizeof k, &k}, val;
        const uint8_t *rid, *result;
        size_t rid_len, rlen;
        int rc = mdb_get(txn, self->reqtail, &key, &val);
        if (rc == 0 && s_reqtail_parse(&val, &rid, &rid_len, &result, &rlen) == 0 &&
            rid_len == len && memcmp(rid, id, len) == 0) {
            *out = (MDB_val){rlen, (void *)result};
            return 0;
        }
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return MDB_NOTFOUND;
}

/* Request @p id in reqtail, by reading it all (the owner asks reqpending instead):
 * 0 with @p out set to its result (in the map), MDB_NOTFOUND, or an LMDB code. */
static int s_reqtail_find(evs_t *self, MDB_txn *txn, const char *id, size_t len, MDB_val *out)
{
    if (!self->has_reqtail)
        return MDB_NOTFOUND;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->reqtail, &cur);
    if (rc)
        return rc;
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const uint8_t *rid, *result;
        size_t rid_len, rlen;
        if (s_reqtail_parse(&val, &rid, &rid_len, &result, &rlen) == 0 && rid_len == len &&
            memcmp(rid, id, len) == 0) {
            *out = (MDB_val){rlen, (void *)result};
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc;
}

/* "<id>\0<u64 big-endian version>": big-endian so a stream's events sort in order. */
static size_t s_index_key(uint8_t *buf, const char *id, size_t id_len, uint64_t version)
{
    memcpy(buf, id, id_len);
    buf[id_len] = 0;
    for (int i = 0; i < 8; i++)
        buf[id_len + 1 + i] = (uint8_t)(version >> (56 - 8 * i));
    return id_len + 9;
}

static size_t s_cp_key(char *buf, const char *upstream, size_t len)
{
    memcpy(buf, "cp/", 3);
    memcpy(buf + 3, upstream, len);
    return len + 3;
}

//  --------------------------------------------------------------------------
//  Envelope wire format (the replay fast path: no allocation)

static inline int s_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Wire type each known field must have; 0xFF = field number 0, invalid. */
static const uint8_t s_wire_types[12] = {0xFF, 0, 2, 0, 2, 2, 0, 2, 2, 2, 2, 2};

static int s_parse(const uint8_t *data, size_t len, evs_view_t *view, s_chain_t *chain)
{
    const uint8_t *p = data, *end = data + len;
    *view = (evs_view_t){.stream_id = "", .event_type = "", .payload = (const uint8_t *)""};
    if (chain)
        *chain = (s_chain_t){.hash_off = SIZE_MAX};
    while (p < end) {
        const uint8_t *field = p;
        uint64_t tag, val;
        if (s_varint(&p, end, &tag) || tag > UINT32_MAX)
            return EVS_CORRUPT;
        uint64_t num = tag >> 3;
        unsigned wt = tag & 7;
        if (num < 12 && s_wire_types[num] != wt)
            return EVS_CORRUPT;
        switch (wt) {
        case 0:
            if (s_varint(&p, end, &val))
                return EVS_CORRUPT;
            if (num == 1)
                view->seq = val;
            else if (num == 3)
                view->stream_version = val;
            else if (num == 6)
                view->recorded_at_us = (int64_t)val;
            break;
        case 2:
            if (s_varint(&p, end, &val) || val > (uint64_t)(end - p))
                return EVS_CORRUPT;
            if (num == 2) {
                view->stream_id = (const char *)p;
                view->stream_id_len = val;
            }
            else if (num == 4) {
                view->event_type = (const char *)p;
                view->event_type_len = val;
            }
            else if (num == 9) {
                view->payload = p;
                view->payload_len = val;
            }
            else if (chain && num == 10) {
                chain->prev_hash = p;
                chain->prev_hash_len = val;
            }
            else if (chain && num == 11) {
                chain->hash = p;
                chain->hash_len = val;
                chain->hash_off = (size_t)(field - data);
            }
            p += val;
            break;
        case 1:
            if (end - p < 8)
                return EVS_CORRUPT;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return EVS_CORRUPT;
            p += 4;
            break;
        default:    /* groups (3, 4) are not proto3; 6, 7 do not exist */
            return EVS_CORRUPT;
        }
    }
    return 0;
}

int evs_view(const uint8_t *data, size_t len, evs_view_t *view)
{
    assert(view);
    assert(data || len == 0);
    return s_parse(data, len, view, NULL);
}

//  --------------------------------------------------------------------------
//  Open and close

static int s_open_dbs(evs_t *self, MDB_txn *txn, unsigned create)
{
    int rc;
    if ((rc = mdb_dbi_open(txn, "events", create | MDB_INTEGERKEY, &self->events))
        || (rc = mdb_dbi_open(txn, "streams", create, &self->streams))
        || (rc = mdb_dbi_open(txn, "requests", create, &self->requests))
        || (rc = mdb_dbi_open(txn, "meta", create, &self->meta)))
        return rc;
    /* a log from before reqtail has none until a writer opens it */
    rc = mdb_dbi_open(txn, "reqtail", create | MDB_INTEGERKEY, &self->reqtail);
    self->has_reqtail = rc == 0;
    return rc == MDB_NOTFOUND && !create ? 0 : rc;
}

/* Checks format and service in meta; a writer stores them when missing. */
static int s_check_meta(evs_t *self, MDB_txn *txn, const char *service, bool write)
{
    MDB_val key = S_KEY("format"), val;
    int rc = mdb_get(txn, self->meta, &key, &val);
    if (rc == MDB_NOTFOUND && write) {
        uint32_t format = S_FORMAT;
        val = (MDB_val){sizeof format, &format};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
        if (rc)
            return rc;
    }
    else if (rc == MDB_NOTFOUND)
        return EVS_CORRUPT;
    else if (rc)
        return rc;
    else {
        uint32_t format;
        if (val.mv_size != sizeof format)
            return EVS_CORRUPT;
        memcpy(&format, val.mv_data, sizeof format);
        if (format != S_FORMAT)
            return EVS_MISMATCH;
    }
    if (!service)
        return 0;
    key = S_KEY("service");
    rc = mdb_get(txn, self->meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
        if (!write)
            return 0;       /* nothing to compare with; a reader cannot store it */
        val = (MDB_val){strlen(service), (void *)service};
        return mdb_put(txn, self->meta, &key, &val, 0);
    }
    if (rc)
        return rc;
    if (val.mv_size != strlen(service) || memcmp(val.mv_data, service, val.mv_size))
        return EVS_MISMATCH;
    return 0;
}

static int s_grow(evs_t *self)
{
    if (s_reading_here && atomic_load(&self->reading))
        return EBUSY;   /* committed from a read callback: the map cannot move */
    /* no read txn of this process may be open while the map moves */
    pthread_rwlock_wrlock(&self->maplock);
    MDB_envinfo info;
    int rc = mdb_env_info(self->env, &info);
    if (rc == 0 && info.me_mapsize > SIZE_MAX / 2)
        rc = ENOMEM;
    if (rc == 0)
        rc = mdb_env_set_mapsize(self->env, info.me_mapsize * 2);
    pthread_rwlock_unlock(&self->maplock);
    return rc;
}

/* Streams in the log (meta "stream_count", kept at every commit); logs from before
 * it had one index key per event and one head per stream. */
static int s_stream_count(evs_t *self, MDB_txn *txn, uint64_t *n)
{
    int rc = s_get_u64(txn, self->meta, S_KEY("stream_count"), n);
    if (rc != MDB_NOTFOUND)
        return rc;
    MDB_stat es, ss;
    if ((rc = mdb_stat(txn, self->events, &es)) || (rc = mdb_stat(txn, self->streams, &ss)))
        return rc;
    *n = ss.ms_entries >= es.ms_entries ? ss.ms_entries - es.ms_entries : 0;
    return 0;
}

/* Logs written before the stream index was kept apart: it is complete up to their
 * head, and their stream count is what the index says. */
static int s_meta_upgrade(evs_t *self, MDB_txn *txn)
{
    uint64_t v;
    int rc = s_get_u64(txn, self->meta, S_KEY("index_seq"), &v);
    if (rc == MDB_NOTFOUND && (rc = s_index_seq(self, txn, &v)) == 0) {
        MDB_val key = S_KEY("index_seq"), val = {sizeof v, &v};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
    }
    if (rc)
        return rc;
    rc = s_get_u64(txn, self->meta, S_KEY("stream_count"), &v);
    if (rc == MDB_NOTFOUND && (rc = s_stream_count(self, txn, &v)) == 0) {
        MDB_val key = S_KEY("stream_count"), val = {sizeof v, &v};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
    }
    return rc;
}

/* The versions of the streams written after the index, from the log's tail. */
static int s_load_pending(evs_t *self)
{
    MDB_txn *txn;
    uint64_t index_seq, head;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return rc;
    if ((rc = s_index_seq(self, txn, &index_seq)) == 0 &&
        (rc = s_get_head(self, txn, &head, NULL)) == 0 &&
        (rc = s_tail(self, txn, index_seq, head, s_pending_from_tail, self)) == 0)
        self->unindexed = head - index_seq;
    s_ro_end(self, txn);
    return rc;
}

/* The owner's view of reqtail: reqpending, req_next, req_unmoved. */
static int s_load_reqtail(evs_t *self, MDB_txn *txn)
{
    uint64_t moved = 0;
    int rc = s_get_u64(txn, self->meta, S_KEY("req_moved"), &moved);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    self->req_next = moved + 1;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, self->reqtail, &cur)))
        return rc;
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const uint8_t *id, *result;
        size_t id_len, len;
        uint64_t k;
        if (key.mv_size != sizeof k ||
            (rc = s_reqtail_parse(&val, &id, &id_len, &result, &len)))
            break;
        memcpy(&k, key.mv_data, sizeof k);
        if ((rc = s_reqpending_put(self, s_hash_bytes((const char *)id, id_len), k)))
            break;
        if (self->seen && evs_bloom_add(self->seen, id, id_len) != 0)
            evs_bloom_destroy(&self->seen);
        self->req_next = k + 1;
        self->req_unmoved++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc == EVS_CORRUPT ? MDB_CORRUPTED : rc;
}

/* Adds the keys of table @p dbi to self->seen; -ENOMEM when it could not. */
static int s_seen_add_keys(evs_t *self, MDB_txn *txn, MDB_dbi dbi)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        if ((rc = evs_bloom_add(self->seen, key.mv_data, key.mv_size)))
            break;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* What the owner knows of the request ids at open: reqtail (s_load_reqtail), and all
 * of them in self->seen; without memory for that set, none is kept and every id is
 * looked up in the log. */
static int s_load_requests(evs_t *self)
{
    MDB_txn *txn;
    MDB_stat st, ts;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_stat(txn, self->requests, &st)) == 0 &&
        (rc = mdb_stat(txn, self->reqtail, &ts)) == 0)
        self->seen = evs_bloom_new((st.ms_entries + ts.ms_entries) * 2);
    if (rc == 0)
        rc = s_load_reqtail(self, txn);
    if (rc == 0 && self->seen && s_seen_add_keys(self, txn, self->requests) != 0)
        evs_bloom_destroy(&self->seen);   /* out of memory, or unreadable: look up all */
    s_ro_end(self, txn);
    return rc;
}

static int s_open_rw(evs_t *self, const char *service)
{
    for (;;) {
        MDB_txn *txn;
        int rc = s_txn_begin(self, 0, &txn);
        if (rc)
            return rc;
        rc = s_open_dbs(self, txn, MDB_CREATE);
        if (rc == 0)
            rc = s_check_meta(self, txn, service, true);
        if (rc == 0)
            rc = s_meta_upgrade(self, txn);
        if (rc == 0)
            rc = mdb_txn_commit(txn);   /* frees txn even when it fails */
        else
            mdb_txn_abort(txn);
        if (rc != MDB_MAP_FULL)
            return rc;
        if ((rc = s_grow(self)))
            return rc;
    }
}

static int s_open_ro(evs_t *self, const char *service)
{
    MDB_txn *txn;
    int rc = s_txn_begin(self, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = s_open_dbs(self, txn, 0);
    if (rc == 0)
        rc = s_check_meta(self, txn, service, false);
    if (rc == 0)
        return mdb_txn_commit(txn);     /* keeps the dbi handles */
    mdb_txn_abort(txn);
    return rc;
}

/* mkdir -p: a service's folder may be the first thing under a fresh data root. */
static int s_mkdirs(const char *dir)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int evs_open(const char *dir, const evs_opts_t *opts, evs_t **out)
{
    assert(dir);
    assert(out);
    *out = NULL;
    const evs_opts_t none = {0};
    if (!opts)
        opts = &none;
    if (opts->service && !s_id_ok(opts->service))
        return EVS_INVALID;
    if (sodium_init() < 0)
        return -EIO;
    evs_sha256_accelerated();   /* decide the implementation before any thread hashes */
    bool rdonly = opts->flags & EVS_RDONLY;
    int mrc = rdonly ? 0 : s_mkdirs(dir);
    if (mrc != 0)
        return mrc;

    evs_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->rdonly = rdonly;
    pthread_rwlock_init(&self->maplock, NULL);
    size_t initial = opts->initial_map ? opts->initial_map : S_DEFAULT_MAP;
    unsigned flags = MDB_NOTLS | (rdonly ? MDB_RDONLY : 0)
                   | (opts->flags & EVS_NOSYNC ? MDB_NOSYNC : 0);
    int dead;
    MDB_envinfo info;
    int rc = mdb_env_create(&self->env);
    if (rc) {
        self->env = NULL;
        goto fail;
    }
    if ((rc = mdb_env_set_maxdbs(self->env, 8))
        || (rc = mdb_env_set_mapsize(self->env, initial))
        || (rc = mdb_env_open(self->env, dir, flags, 0600))
        || (rc = mdb_reader_check(self->env, &dead)))
        goto fail;
    /* A map grown earlier is recorded in the file; never shrink below it. */
    if ((rc = mdb_env_set_mapsize(self->env, 0)) || (rc = mdb_env_info(self->env, &info)))
        goto fail;
    if (!rdonly && info.me_mapsize < initial && (rc = mdb_env_set_mapsize(self->env, initial)))
        goto fail;
    self->index_every = opts->index_every ? opts->index_every : s_index_every_default;
    rc = rdonly ? s_open_ro(self, opts->service) : s_open_rw(self, opts->service);
    if (rc == 0 && !rdonly)
        rc = s_load_pending(self);
    if (rc == 0 && !rdonly)
        rc = s_load_requests(self);
    if (rc)
        goto fail;
    *out = self;
    return 0;
fail:
    evs_destroy(&self);
    return s_rc(rc);
}

void evs_destroy(evs_t **self_p)
{
    assert(self_p);
    evs_t *self = *self_p;
    if (!self)
        return;
    assert(!self->batch && !self->sealed);   /* evs_batch_end() them first */
    if (self->env)
        mdb_env_close(self->env);
    s_pending_clear(self);
    s_reqpending_clear(self, true);
    evs_bloom_destroy(&self->seen);
    pthread_rwlock_destroy(&self->maplock);
    free(self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Reading

int evs_head(evs_t *self, uint64_t *seq, uint8_t *hash)
{
    assert(self);
    assert(seq);
    MDB_txn *txn;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    rc = s_get_head(self, txn, seq, hash);
    s_ro_end(self, txn);
    return s_rc(rc);
}

int evs_read(evs_t *self, uint64_t from_seq, uint64_t to_seq, size_t max,
             evs_record_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (from_seq > to_seq)
        return 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    if ((rc = mdb_cursor_open(txn, self->events, &cur))) {
        s_ro_end(self, txn);
        return s_rc(rc);
    }
    int result = 0;
    size_t count = 0;
    MDB_val key = {sizeof from_seq, &from_seq}, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        evs_record_t rec = {0, val.mv_data, val.mv_size};
        if (key.mv_size != sizeof rec.seq) {
            result = EVS_CORRUPT;
            break;
        }
        memcpy(&rec.seq, key.mv_data, sizeof rec.seq);
        if (rec.seq > to_seq)
            break;
        self->reading++;
        s_reading_here++;
        result = fn(&rec, arg);
        self->reading--;
        s_reading_here--;
        if (result != 0 || (max && ++count >= max))
            break;
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = s_rc(rc);
    mdb_cursor_close(cur);
    s_ro_end(self, txn);
    return result;
}

/* One stream's events in the log's tail after the index. */
typedef struct {
    evs_t *evs;
    const char *id;
    size_t len;
    uint64_t from_version;    /* deliver those from here on ... */
    evs_record_fn *fn;        /* ... to fn, or just find the last version */
    void *arg;
    uint64_t version;         /* the last version seen */
    int rc;                   /* fn's value when it stopped */
} s_stream_tail_t;

static int s_stream_tail(const evs_view_t *v, const MDB_val *val, void *arg)
{
    s_stream_tail_t *t = arg;
    if (v->stream_id_len != t->len || memcmp(v->stream_id, t->id, t->len) != 0)
        return 0;
    t->version = v->stream_version;
    if (!t->fn || v->stream_version < t->from_version)
        return 0;
    evs_record_t rec = {v->seq, val->mv_data, val->mv_size};
    t->evs->reading++;
    s_reading_here++;
    t->rc = t->fn(&rec, t->arg);
    t->evs->reading--;
    s_reading_here--;
    return t->rc != 0 ? 1 : 0;
}

/* A stream's version as committed: the index, then the log's tail after it. */
static int s_committed_version(evs_t *self, MDB_txn *txn, const char *id, uint64_t *version)
{
    uint64_t index_seq, head;
    int rc = s_version(self, txn, id, version);
    if (rc || (rc = s_index_seq(self, txn, &index_seq)) ||
        (rc = s_get_head(self, txn, &head, NULL)))
        return rc;
    s_stream_tail_t t = {self, id, strlen(id), 0, NULL, NULL, *version, 0};
    rc = s_tail(self, txn, index_seq, head, s_stream_tail, &t);
    *version = t.version;
    return rc;
}

int evs_read_stream(evs_t *self, const char *stream_id, uint64_t from_version,
                    evs_record_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (!s_id_ok(stream_id))
        return EVS_INVALID;
    size_t id_len = strlen(stream_id);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    uint64_t version;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    rc = s_committed_version(self, txn, stream_id, &version);
    if (rc == 0 && version == 0)
        rc = EVS_NOTFOUND;
    if (rc || (rc = mdb_cursor_open(txn, self->streams, &cur)))
        goto done;
    uint8_t kbuf[EVS_MAX_ID + 9];
    MDB_val key = {s_index_key(kbuf, stream_id, id_len, from_version ? from_version : 1), kbuf};
    MDB_val val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const uint8_t *k = key.mv_data;
        if (key.mv_size != id_len + 9 || k[id_len] != 0 || memcmp(k, stream_id, id_len))
            break;
        evs_record_t rec = {0};
        if (val.mv_size != sizeof rec.seq) {
            rc = EVS_CORRUPT;
            break;
        }
        memcpy(&rec.seq, val.mv_data, sizeof rec.seq);
        MDB_val ek = {sizeof rec.seq, &rec.seq}, ev;
        if ((rc = mdb_get(txn, self->events, &ek, &ev))) {
            rc = rc == MDB_NOTFOUND ? EVS_CORRUPT : rc;
            break;
        }
        rec.data = ev.mv_data;
        rec.len = ev.mv_size;
        self->reading++;
        s_reading_here++;
        rc = fn(&rec, arg);
        self->reading--;
        s_reading_here--;
        if (rc != 0)
            goto done;          /* the callback's value, returned as is */
    }
    if (rc == 0 || rc == MDB_NOTFOUND) {
        /* then the events after the index */
        uint64_t index_seq, head;
        s_stream_tail_t t = {self, stream_id, id_len, from_version, fn, arg, 0, 0};
        rc = s_index_seq(self, txn, &index_seq);
        if (rc == 0)
            rc = s_get_head(self, txn, &head, NULL);
        if (rc == 0)
            rc = s_tail(self, txn, index_seq, head, s_stream_tail, &t);
        if (t.rc != 0) {
            rc = t.rc;
            goto done;          /* the callback's value, returned as is */
        }
    }
    rc = s_rc(rc);
done:
    if (cur)
        mdb_cursor_close(cur);
    s_ro_end(self, txn);
    return rc;
}

int evs_stream_version(evs_t *self, const char *stream_id, uint64_t *version)
{
    assert(self);
    assert(version);
    *version = 0;
    if (!s_id_ok(stream_id))
        return EVS_INVALID;
    MDB_txn *txn;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    rc = s_committed_version(self, txn, stream_id, version);
    s_ro_end(self, txn);
    return s_rc(rc);
}

int evs_checkpoint(evs_t *self, const char *upstream, uint64_t *seq)
{
    assert(self);
    assert(seq);
    *seq = 0;
    if (!s_id_ok(upstream))
        return EVS_INVALID;
    char kbuf[EVS_MAX_ID + 3];
    MDB_val key = {s_cp_key(kbuf, upstream, strlen(upstream)), kbuf};
    MDB_txn *txn;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    rc = s_get_u64(txn, self->meta, key, seq);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    s_ro_end(self, txn);
    return s_rc(rc);
}

int evs_request_get(evs_t *self, const char *request_id, uint8_t **result, size_t *len)
{
    assert(self);
    assert(result);
    assert(len);
    *result = NULL;
    *len = 0;
    if (!s_id_ok(request_id))
        return EVS_INVALID;
    MDB_val key = {strlen(request_id), (void *)request_id}, val;
    MDB_txn *txn;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    rc = mdb_get(txn, self->requests, &key, &val);
    if (rc == MDB_NOTFOUND)
        rc = s_reqtail_find(self, txn, request_id, key.mv_size, &val);
    if (rc == MDB_NOTFOUND)
        rc = EVS_NOTFOUND;
    else if (rc == 0) {
        *result = malloc(val.mv_size ? val.mv_size : 1);
        if (*result) {
            memcpy(*result, val.mv_data, val.mv_size);
            *len = val.mv_size;
        }
        else
            rc = -ENOMEM;
    }
    s_ro_end(self, txn);
    return s_rc(rc);
}

/* Reason for a bad record; 0 when it is good. *hash gets its hash. */
static int s_check_record(uint64_t key, const MDB_val *val, const uint8_t *prev,
                          uint8_t *hash, evs_verify_t *report)
{
    evs_view_t view;
    s_chain_t chain;
    const char *why = NULL;
    if (s_parse(val->mv_data, val->mv_size, &view, &chain))
        why = "record does not decode";
    else if (view.seq != key) {
        snprintf(report->reason, sizeof report->reason,
                 "record of seq %llu stored under seq %llu (moved or reordered)",
                 (unsigned long long)view.seq, (unsigned long long)key);
        return EVS_CORRUPT;
    }
    else if (chain.prev_hash_len != EVS_HASH_SIZE
             || memcmp(chain.prev_hash, prev, EVS_HASH_SIZE))
        why = "prev_hash does not match the record before";
    else if (chain.hash_len != EVS_HASH_SIZE || chain.hash_off + 2 + EVS_HASH_SIZE != val->mv_size)
        why = "hash missing or not the last field";
    else {
        evs_sha256(hash, val->mv_data, chain.hash_off);
        if (memcmp(hash, chain.hash, EVS_HASH_SIZE))
            why = "hash mismatch (record changed)";
    }
    if (!why)
        return 0;
    snprintf(report->reason, sizeof report->reason, "%s", why);
    return EVS_CORRUPT;
}

int evs_verify(evs_t *self, evs_verify_t *report)
{
    assert(self);
    assert(report);
    memset(report, 0, sizeof *report);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    uint8_t prev[EVS_HASH_SIZE] = {0}, head_hash[EVS_HASH_SIZE];
    uint64_t expect = 1, head;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    if ((rc = mdb_cursor_open(txn, self->events, &cur)))
        goto done;
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), expect++) {
        uint64_t seq = 0;
        if (key.mv_size == sizeof seq)
            memcpy(&seq, key.mv_data, sizeof seq);
        if (seq != expect) {
            report->bad_seq = expect;
            snprintf(report->reason, sizeof report->reason,
                     "missing record (gap) before seq %llu", (unsigned long long)seq);
            rc = EVS_CORRUPT;
            goto done;
        }
        uint8_t hash[EVS_HASH_SIZE];
        if ((rc = s_check_record(seq, &val, prev, hash, report))) {
            report->bad_seq = expect;
            goto done;
        }
        memcpy(prev, hash, EVS_HASH_SIZE);
        report->checked++;
    }
    if (rc != MDB_NOTFOUND)
        goto done;
    uint64_t last = expect - 1;
    if ((rc = s_get_head(self, txn, &head, head_hash)))
        goto done;
    rc = EVS_CORRUPT;
    if (head > last) {
        report->bad_seq = last + 1;
        snprintf(report->reason, sizeof report->reason,
                 "log truncated: meta head is %llu", (unsigned long long)head);
    }
    else if (head < last) {
        report->bad_seq = head + 1;
        snprintf(report->reason, sizeof report->reason,
                 "records beyond meta head %llu", (unsigned long long)head);
    }
    else if (memcmp(head_hash, prev, EVS_HASH_SIZE)) {
        report->bad_seq = last ? last : 1;
        snprintf(report->reason, sizeof report->reason, "meta head hash does not match");
    }
    else
        rc = 0;
done:
    if (cur)
        mdb_cursor_close(cur);
    s_ro_end(self, txn);
    return s_rc(rc);
}

int evs_stat(evs_t *self, evs_stat_t *st)
{
    assert(self);
    assert(st);
    memset(st, 0, sizeof *st);
    MDB_txn *txn;
    MDB_stat es, ss, rs, ts = {0}, envst;
    MDB_envinfo info;
    int rc = s_ro_begin(self, &txn);
    if (rc)
        return s_rc(rc);
    if ((rc = s_get_head(self, txn, &st->head_seq, st->head_hash))
        || (rc = mdb_stat(txn, self->events, &es))
        || (rc = mdb_stat(txn, self->streams, &ss))
        || (rc = mdb_stat(txn, self->requests, &rs))
        || (self->has_reqtail && (rc = mdb_stat(txn, self->reqtail, &ts)))
        || (rc = mdb_env_info(self->env, &info))
        || (rc = mdb_env_stat(self->env, &envst)))
        goto done;
    if ((rc = s_stream_count(self, txn, &st->streams)))
        goto done;
    MDB_val skey = S_KEY("service"), sval;
    if (mdb_get(txn, self->meta, &skey, &sval) == 0) {
        size_t n = sval.mv_size < sizeof st->service ? sval.mv_size : sizeof st->service - 1;
        memcpy(st->service, sval.mv_data, n);
        st->service[n] = '\0';
    }
    st->requests = rs.ms_entries + ts.ms_entries;
    st->map_size = info.me_mapsize;
    st->used_bytes = (info.me_last_pgno + 1) * (size_t)envst.ms_psize;
done:
    s_ro_end(self, txn);
    return s_rc(rc);
}

const char *evs_strerror(int err)
{
    switch (err) {
    case EVS_OK:         return "success";
    case EVS_CONFLICT:   return "stream version conflict";
    case EVS_CORRUPT:    return "event log corrupt";
    case EVS_NOTFOUND:   return "not found";
    case EVS_INVALID:    return "invalid argument";
    case EVS_RDONLY_ERR: return "event store opened read-only";
    case EVS_MISMATCH:   return "log of another format version or service";
    case EVS_BAD_BATCH:  return "batch unusable (committed, failed, or another is open)";
    default:             break;
    }
    if (err >= MDB_KEYEXIST && err <= MDB_LAST_ERRCODE)
        return mdb_strerror(err);
    return strerror(err < 0 ? -err : err);
}

//  --------------------------------------------------------------------------
//  Batches

/* Stable memory until evs_batch_end(); NULL when out of memory. */
static uint8_t *s_alloc(evs_batch_t *b, size_t n)
{
    s_chunk_t *c = b->chunks;
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

static s_op_t *s_push_op(evs_batch_t *b)
{
    if (b->n_ops == b->cap_ops) {
        size_t cap = b->cap_ops ? b->cap_ops * 2 : 64;
        s_op_t *ops = realloc(b->ops, cap * sizeof *ops);
        if (!ops)
            return NULL;
        b->ops = ops;
        b->cap_ops = cap;
    }
    return &b->ops[b->n_ops++];
}

/* Writes one op into the write txn @p txn. */
static int s_apply(evs_t *self, MDB_txn *txn, const s_op_t *op)
{
    uint8_t kbuf[EVS_MAX_ID + 9];
    MDB_val key, val;
    int rc;
    switch (op->kind) {
    case S_OP_EVENT:
        key = (MDB_val){sizeof op->seq, (void *)&op->seq};
        val = (MDB_val){op->len, (void *)op->data};
        rc = mdb_put(txn, self->events, &key, &val, MDB_APPEND);
        return rc == MDB_KEYEXIST ? EVS_CORRUPT : rc;   /* records beyond the head */
    case S_OP_REQUEST:
        /* u8 id length, id, result: appended; moved to `requests` later (s_req_move) */
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
    case S_OP_CHECKPOINT:
        key = (MDB_val){s_cp_key((char *)kbuf, op->key, op->key_len), kbuf};
        val = (MDB_val){sizeof op->seq, (void *)&op->seq};
        return mdb_put(txn, self->meta, &key, &val, 0);
    }
    return EVS_INVALID;
}

/* A fresh snapshot for one lookup of an open batch; end it with s_snap_end() before
 * returning to the caller, so no lock is held between calls. */
static int s_snap_begin(evs_batch_t *b)
{
    pthread_rwlock_rdlock(&b->evs->maplock);
    int rc = b->txn ? mdb_txn_renew(b->txn) : s_txn_begin(b->evs, MDB_RDONLY, &b->txn);
    if (rc)
        pthread_rwlock_unlock(&b->evs->maplock);
    return rc;
}

static void s_snap_end(evs_batch_t *b)
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
    else if ((rc = s_snap_begin(b)) == 0) {
        rc = s_get_head(self, b->txn, &b->seq, b->hash);
        s_snap_end(b);
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
    return s_rc(rc);
}

/* A stream's version as batch @p b sees it: its own appends, then those of the sealed
 * batches not yet ended (newest first), then the log as of its snapshot. */
static int s_batch_version(evs_batch_t *b, const char *id, size_t len, uint64_t *version)
{
    for (evs_batch_t *x = b; x; x = x == b ? b->evs->sealed : x->older) {
        const s_slot_t *s = s_tab_find(&x->versions, id, len);
        if (s) {
            *version = s->val;
            return 0;
        }
    }
    const s_slot_t *p = s_tab_find(&b->evs->pending, id, len);
    if (p) {
        *version = p->val;
        return 0;
    }
    int rc = s_snap_begin(b);
    if (rc)
        return rc;
    rc = s_get_u64(b->txn, b->evs->streams, (MDB_val){len, (void *)id}, version);
    s_snap_end(b);
    if (rc == MDB_NOTFOUND) {
        *version = 0;
        rc = 0;
    }
    return rc;
}

/* A kept request result as batch @p b sees it (same order as s_batch_version). */
static int s_batch_request(evs_batch_t *b, const char *id, size_t len, const uint8_t **result,
                           size_t *result_len)
{
    /* ids are added to the set as batches take them: one never added is nowhere */
    if (b->evs->seen && !evs_bloom_maybe(b->evs->seen, id, len))
        return MDB_NOTFOUND;
    for (evs_batch_t *x = b; x; x = x == b ? b->evs->sealed : x->older) {
        const s_slot_t *s = s_tab_find(&x->requests, id, len);
        if (s) {
            *result = x->ops[s->val].data;
            *result_len = x->ops[s->val].len;
            return 0;
        }
    }
    MDB_val key = {len, (void *)id}, val;
    int rc = s_snap_begin(b);
    if (rc)
        return rc;
    rc = s_reqpending_find(b->evs, b->txn, id, len, &val);
    if (rc == MDB_NOTFOUND)
        rc = mdb_get(b->txn, b->evs->requests, &key, &val);
    if (rc == MDB_NOTFOUND && b->evs->reqpending_short)
        rc = s_reqtail_find(b->evs, b->txn, id, len, &val);
    if (rc == 0) {
        /* a copy: the map may move once the lock is let go */
        uint8_t *copy = s_alloc(b, val.mv_size ? val.mv_size : 1);
        if (copy) {
            memcpy(copy, val.mv_data, val.mv_size);
            *result = copy;
            *result_len = val.mv_size;
        }
        else
            rc = -ENOMEM;
    }
    s_snap_end(b);
    return rc;
}

int evs_batch_request_get(evs_batch_t *b, const char *request_id,
                          const uint8_t **result, size_t *len)
{
    assert(b);
    assert(result);
    assert(len);
    *result = NULL;
    *len = 0;
    if (b->state != S_OPEN)
        return EVS_BAD_BATCH;
    if (!s_id_ok(request_id))
        return EVS_INVALID;
    size_t n = strlen(request_id);
    int rc = s_batch_request(b, request_id, n, result, len);
    if (rc == MDB_NOTFOUND)
        memcpy(b->missed, request_id, n + 1);
    if (rc)
        return rc == MDB_NOTFOUND ? EVS_NOTFOUND : s_rc(rc);
    return 0;
}

static int s_append_event(evs_batch_t *b, const evs_event_t *ev)
{
    size_t id_len = strlen(ev->stream_id);
    uint64_t version;
    int rc = s_batch_version(b, ev->stream_id, id_len, &version);
    if (rc)
        return rc;
    char event_id[2 * 16 + 1];
    if (b->random_used + 16 > sizeof b->random) {
        randombytes_buf(b->random, sizeof b->random);
        b->random_used = 0;
    }
    sodium_bin2hex(event_id, sizeof event_id, b->random + b->random_used, 16);
    b->random_used += 16;

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
    uint8_t *buf = s_alloc(b, n + 2 + EVS_HASH_SIZE + id_len);
    if (!buf)
        return -ENOMEM;
    tp__envelope__pack(&env, buf);
    buf[n] = S_HASH_TAG;
    buf[n + 1] = EVS_HASH_SIZE;
    evs_sha256(buf + n + 2, buf, n);
    char *key = (char *)buf + n + 2 + EVS_HASH_SIZE;
    memcpy(key, ev->stream_id, id_len);

    s_op_t *op = s_push_op(b);
    if (!op || s_tab_put(&b->versions, key, id_len, env.stream_version) != 0)
        return -ENOMEM;
    *op = (s_op_t){S_OP_EVENT, env.seq, env.stream_version, key, id_len,
                   buf, n + 2 + EVS_HASH_SIZE};
    b->seq = env.seq;
    memcpy(b->hash, buf + n + 2, EVS_HASH_SIZE);
    return 0;
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
    if (b->state != S_OPEN)
        return EVS_BAD_BATCH;

    /* Everything is checked before the first write, so a refusal leaves the
     * batch exactly as it was. */
    for (size_t i = 0; i < n_events; i++)
        if (!s_id_ok(events[i].stream_id) || !s_id_ok(events[i].event_type)
            || (!events[i].payload && events[i].payload_len))
            return EVS_INVALID;
    for (size_t i = 0; i < n_expect; i++)
        if (!s_id_ok(expect[i].stream_id) || expect[i].expected < EVS_ANY)
            return EVS_INVALID;
    if (request_id && (!s_id_ok(request_id) || (!result && result_len)))
        return EVS_INVALID;

    int rc;
    if (request_id) {
        const uint8_t *kept;
        size_t kept_len, n = strlen(request_id);
        /* just looked up and found nowhere: only this batch can have it since */
        if (strcmp(request_id, b->missed) == 0)
            rc = s_tab_find(&b->requests, request_id, n) ? 0 : MDB_NOTFOUND;
        else
            rc = s_batch_request(b, request_id, n, &kept, &kept_len);
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
        if ((rc = s_batch_version(b, id, strlen(id), &version)))
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
        uint8_t *buf = s_alloc(b, id_len + result_len);
        if (buf)
            memcpy(buf, request_id, id_len);
        s_op_t *op = buf ? s_push_op(b) : NULL;
        if (!op || s_tab_put(&b->requests, (char *)buf, id_len, b->n_ops - 1) != 0) {
            rc = -ENOMEM;
            goto fail;
        }
        /* before it can be in the log; an id of a batch never written stays in the set,
         * which only costs a lookup */
        if (b->evs->seen && evs_bloom_add(b->evs->seen, request_id, id_len) != 0)
            evs_bloom_destroy(&b->evs->seen);
        if (result_len)
            memcpy(buf + id_len, result, result_len);
        *op = (s_op_t){S_OP_REQUEST, b->evs->req_next++, 0, (char *)buf, id_len, buf + id_len,
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
    b->state = S_FAILED;
    return s_rc(rc);
}

int evs_batch_checkpoint(evs_batch_t *b, const char *upstream, uint64_t seq)
{
    assert(b);
    if (b->state != S_OPEN)
        return EVS_BAD_BATCH;
    if (!s_id_ok(upstream))
        return EVS_INVALID;
    size_t len = strlen(upstream);
    char *key = (char *)s_alloc(b, len);
    s_op_t *op = key ? s_push_op(b) : NULL;
    if (!op) {
        b->state = S_FAILED;
        return -ENOMEM;
    }
    memcpy(key, upstream, len);
    *op = (s_op_t){S_OP_CHECKPOINT, seq, 0, key, len, NULL, 0};
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
        if (b->ops[i].kind != S_OP_EVENT)
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
        const s_op_t *op = &b->ops[i];
        if (op->kind != S_OP_EVENT)
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
    MDB_val key = S_KEY("head_seq"), val = {sizeof b->seq, &b->seq};
    int rc = mdb_put(txn, b->evs->meta, &key, &val, 0);
    if (rc)
        return rc;
    uint64_t fresh = 0, count;
    for (size_t i = 0; i < b->n_ops; i++)
        fresh += b->ops[i].kind == S_OP_EVENT && b->ops[i].version == 1;
    if (fresh) {
        if ((rc = s_stream_count(b->evs, txn, &count)))
            return rc;
        count += fresh;
        key = S_KEY("stream_count");
        val = (MDB_val){sizeof count, &count};
        if ((rc = mdb_put(txn, b->evs->meta, &key, &val, 0)))
            return rc;
    }
    key = S_KEY("head_hash");
    val = (MDB_val){EVS_HASH_SIZE, b->hash};
    return mdb_put(txn, b->evs->meta, &key, &val, 0);
}

int evs_batch_seal(evs_batch_t *b)
{
    assert(b);
    if (b->state != S_OPEN)
        return b->state == S_SEALED ? 0 : EVS_BAD_BATCH;
    evs_t *self = b->evs;
    if (b->txn)
        mdb_txn_abort(b->txn);   /* reset: holds no snapshot */
    b->txn = NULL;
    b->state = S_SEALED;
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

/* One event of a run of the stream index; its id points into the map, which stays put
 * while the write txn lasts (and the events it reads are not written in it). */
typedef struct {
    const char *id;
    size_t id_len;
    uint64_t version;
    uint64_t seq;
} s_ixent_t;

typedef struct {
    s_ixent_t *v;
    size_t n, cap;
} s_indexer_t;

static int s_index_collect(const evs_view_t *v, const MDB_val *val, void *arg)
{
    (void)val;
    s_indexer_t *ix = arg;
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 1024;
        s_ixent_t *nv = realloc(ix->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        ix->v = nv;
        ix->cap = cap;
    }
    ix->v[ix->n++] = (s_ixent_t){v->stream_id, v->stream_id_len, v->stream_version, v->seq};
    return 0;
}

/* The events of one stream in a run: a chain through s_indexer's next[], in seq (and so
 * version) order. */
typedef struct {
    const char *id;
    size_t id_len;
    size_t first, last;     /* entries of the run */
} s_ixstream_t;

/* LMDB's default order of the keys of `streams`: "<id>" (the head), then its
 * "<id>\0<version>" keys, then the next id: ids by their bytes, then by length. */
static int s_ixstream_cmp(const void *a, const void *b)
{
    const s_ixstream_t *x = a, *y = b;
    size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
    int c = memcmp(x->id, y->id, n);
    return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

/* Writes the stream index for the events after index_seq up to @p to, in key order,
 * through one cursor (LMDB finds a key next to the last one on the same page without a
 * search from the root), and one head per stream, its newest version. The events are
 * grouped by stream as they come (each stream's are in version order already), so
 * only the streams are sorted. */
static int s_index_write(evs_t *self, MDB_txn *txn, uint64_t to)
{
    uint64_t from;
    int rc = s_index_seq(self, txn, &from);
    if (rc || from >= to)
        return rc;
    s_indexer_t ix = {0};
    MDB_cursor *cur = NULL;
    s_tab_t seen = {0};
    s_ixstream_t *st = NULL;
    size_t *next = NULL, n_st = 0;
    if ((rc = s_tail(self, txn, from, to, s_index_collect, &ix)) ||
        (rc = mdb_cursor_open(txn, self->streams, &cur)))
        goto done;
    st = malloc((ix.n ? ix.n : 1) * sizeof *st);
    next = malloc((ix.n ? ix.n : 1) * sizeof *next);
    if (!st || !next) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ix.n; i++) {
        const s_ixent_t *e = &ix.v[i];
        s_slot_t *sl = s_tab_find(&seen, e->id, e->id_len);
        next[i] = SIZE_MAX;
        if (sl) {
            s_ixstream_t *g = &st[sl->val];
            next[g->last] = i;
            g->last = i;
        }
        else if ((rc = s_tab_put(&seen, e->id, e->id_len, n_st)))
            goto done;
        else
            st[n_st++] = (s_ixstream_t){e->id, e->id_len, i, i};
    }
    qsort(st, n_st, sizeof *st, s_ixstream_cmp);
    uint8_t kbuf[EVS_MAX_ID + 9];
    for (size_t k = 0; rc == 0 && k < n_st; k++) {
        const s_ixstream_t *g = &st[k];
        MDB_val key = {g->id_len, (void *)g->id};
        MDB_val data = {sizeof ix.v[g->last].version, (void *)&ix.v[g->last].version};
        rc = mdb_cursor_put(cur, &key, &data, 0);
        for (size_t i = g->first; rc == 0 && i != SIZE_MAX; i = next[i]) {
            const s_ixent_t *e = &ix.v[i];
            key = (MDB_val){s_index_key(kbuf, e->id, e->id_len, e->version), kbuf};
            data = (MDB_val){sizeof e->seq, (void *)&e->seq};
            rc = mdb_cursor_put(cur, &key, &data, 0);
        }
    }
    if (rc == 0) {
        MDB_val key = S_KEY("index_seq"), val = {sizeof to, &to};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    free(seen.slots);
    free(st);
    free(next);
    free(ix.v);
    return rc;
}

/* One request id of reqtail on its way to `requests`. */
typedef struct {
    uint64_t head;          /* the id's first 8 bytes, big-endian, zero-padded */
    const uint8_t *id;
    size_t id_len;
    const uint8_t *result;
    size_t len;
} s_moving_t;

static uint64_t s_id_head(const uint8_t *id, size_t len)
{
    uint64_t h = 0;
    for (size_t i = 0; i < 8; i++)
        h = h << 8 | (i < len ? id[i] : 0);
    return h;
}

/* LMDB's default key order: bytes, then length. The first 8 bytes are compared as one
 * number (ids hold no NUL, so the zero padding sorts a shorter id first, as LMDB does). */
static int s_moving_cmp(const void *a, const void *b)
{
    const s_moving_t *x = a, *y = b;
    if (x->head != y->head)
        return x->head < y->head ? -1 : 1;
    if (x->id_len <= 8 || y->id_len <= 8)
        return (x->id_len > y->id_len) - (x->id_len < y->id_len);
    size_t n = (x->id_len < y->id_len ? x->id_len : y->id_len) - 8;
    int c = memcmp(x->id + 8, y->id + 8, n);
    return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

/* Moves the request ids of reqtail with keys <= @p to into `requests`, in key order
 * (neighbours share pages: far fewer pages written than one random insert each). */
static int s_req_move(evs_t *self, MDB_txn *txn, uint64_t to)
{
    uint64_t moved = 0;
    int rc = s_get_u64(txn, self->meta, S_KEY("req_moved"), &moved);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (moved >= to)
        return 0;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, self->reqtail, &cur)))
        return rc;
    /* copies first: the deletes below change the pages the records are on */
    size_t n = 0, cap = 0, bytes = 0;
    s_moving_t *v = NULL;
    uint8_t *arena = NULL;
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        uint64_t k;
        memcpy(&k, key.mv_data, sizeof k);
        if (k > to)
            break;
        bytes += val.mv_size;
        n++;
    }
    if (rc && rc != MDB_NOTFOUND)
        goto done;
    cap = n;
    v = calloc(cap ? cap : 1, sizeof *v);
    arena = malloc(bytes ? bytes : 1);
    rc = v && arena ? 0 : -ENOMEM;
    n = 0;
    uint8_t *at = arena;
    for (int g = rc ? rc : mdb_cursor_get(cur, &key, &val, MDB_FIRST); g == 0 && n < cap;
         g = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        memcpy(at, val.mv_data, val.mv_size);
        MDB_val copy = {val.mv_size, at};
        at += val.mv_size;
        s_moving_t *m = &v[n++];
        if ((rc = s_reqtail_parse(&copy, &m->id, &m->id_len, &m->result, &m->len)))
            goto done;
        m->head = s_id_head(m->id, m->id_len);
    }
    if (rc)
        goto done;
    qsort(v, n, sizeof *v, s_moving_cmp);
    MDB_cursor *rcur;
    if ((rc = mdb_cursor_open(txn, self->requests, &rcur)))
        goto done;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        MDB_val k = {v[i].id_len, (void *)v[i].id}, d = {v[i].len, (void *)v[i].result};
        rc = mdb_cursor_put(rcur, &k, &d, 0);
    }
    mdb_cursor_close(rcur);
    /* later batches have not been written yet: all of reqtail is moved, as a rule */
    MDB_stat st;
    if (rc == 0 && (rc = mdb_stat(txn, self->reqtail, &st)) == 0 && st.ms_entries == n) {
        mdb_cursor_close(cur);
        cur = NULL;
        rc = mdb_drop(txn, self->reqtail, 0);
    }
    for (size_t i = 0; cur && rc == 0 && i < n; i++)
        if ((rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST)) == 0)
            rc = mdb_cursor_del(cur, 0);
    if (rc == 0) {
        MDB_val mk = S_KEY("req_moved"), mv = {sizeof to, &to};
        rc = mdb_put(txn, self->meta, &mk, &mv, 0);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    free(v);
    free(arena);
    return rc == EVS_CORRUPT ? MDB_CORRUPTED : rc;
}

/* Monotonic microseconds, for the commit's timing. */
static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The whole batch in one write txn: the ops in order, then the head. */
static int s_write(evs_batch_t *b)
{
    evs_t *self = b->evs;
    int64_t t0 = s_mono_us();
    b->timing.index_run = b->index_to != 0;
    b->timing.request_move = b->req_move_to != 0;
    b->timing.ops = b->n_ops;
    MDB_txn *txn;
    int rc = s_txn_begin(self, 0, &txn);
    if (rc)
        return rc;
    /* it must follow exactly what is in the log: a batch before it that failed or was
     * ended unwritten makes it unwritable */
    uint64_t head = 0;
    rc = s_get_head(self, txn, &head, NULL);
    if (rc == 0 && head != b->base_seq)
        rc = EVS_BAD_BATCH;
    if (rc == 0 && b->index_to)
        rc = s_index_write(self, txn, b->index_to);
    if (rc == 0 && b->req_move_to)
        rc = s_req_move(self, txn, b->req_move_to);
    for (size_t i = 0; rc == 0 && i < b->n_ops; i++)
        rc = s_apply(self, txn, &b->ops[i]);
    if (rc == 0)
        rc = s_put_head(b, txn);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* LMDB writes its pages and flushes them: only LMDB writes LMDB's files */
    int64_t t1 = s_mono_us();
    rc = mdb_txn_commit(txn);     /* frees the txn, even on failure */
    int64_t t2 = s_mono_us();
    b->timing.us_puts = t1 - t0;
    b->timing.us_sync = t2 - t1;
    return rc;
}

int evs_batch_commit(evs_batch_t *b)
{
    assert(b);
    if (b->state == S_OPEN)
        evs_batch_seal(b);
    if (b->state != S_SEALED)
        return EVS_BAD_BATCH;
    int rc;
    while ((rc = s_write(b)) == MDB_MAP_FULL && (rc = s_grow(b->evs)) == 0)
        ;
    b->state = rc ? S_FAILED : S_COMMITTED;
    return s_rc(rc);
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
    if (b->state == S_COMMITTED) {
        /* what it wrote is in the log now; the index, up to where it wrote it */
        if (b->index_to)
            s_pending_clear(self);   /* batches end in the order they commit */
        for (size_t i = 0; i < b->versions.cap; i++) {
            const s_slot_t *sl = &b->versions.slots[i];
            if (sl->key && s_pending_put(self, sl->key, sl->len, sl->val) != 0)
                self->index_every = 0;   /* out of memory: index at every commit */
        }
        /* the same for its request ids: reqtail now holds them */
        if (b->req_move_to)
            s_reqpending_clear(self, false);
        for (size_t i = 0; i < b->requests.cap; i++) {
            const s_slot_t *sl = &b->requests.slots[i];
            const s_op_t *op = sl->key ? &b->ops[sl->val] : NULL;
            if (op && s_reqpending_put(self, sl->hash, op->seq) != 0) {
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
        s_chunk_t *next = b->chunks->next;
        free(b->chunks);
        b->chunks = next;
    }
    free(b->ops);
    free(b->versions.slots);
    free(b->requests.slots);
    free(b);
    *batch_p = NULL;
}

//  --------------------------------------------------------------------------
//  Self-test

#define S_CHECK(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "evs_test: %s:%d: failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

#define S_CHECK_RC(expr, want)                                                 \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ != (want)) {                                                   \
            fprintf(stderr, "evs_test: %s:%d: %s = %d (%s), expected %d\n",    \
                    __FILE__, __LINE__, #expr, rc_, evs_strerror(rc_), (want));\
            goto fail;                                                         \
        }                                                                      \
    } while (0)

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
    int64_t tc = s_mono_us();
    S_CHECK_RC(evs_batch_commit(b), 0);
    int64_t t1 = s_now_us();
    /* where the commit's time went: its parts fit in the time it took */
    evs_batch_timing(b, &tm);
    int64_t took = s_mono_us() - tc;
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

    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.head_seq == 7 && memcmp(st.head_hash, head_hash, sizeof hash) == 0);
    S_CHECK(st.streams == 3 && st.requests == 2);
    S_CHECK(st.map_size == S_DEFAULT_MAP && st.used_bytes > 0 && st.used_bytes < st.map_size);
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
    S_CHECK(st.map_size == S_DEFAULT_MAP && st.head_seq == 0 && st.streams == 0);
    evs_destroy(&evs);
    evs_opts_t small = {.initial_map = 64 << 10};
    S_CHECK_RC(evs_open(none, &small, &evs), 0);
    S_CHECK_RC(evs_stat(evs, &st), 0);
    S_CHECK(st.map_size == S_DEFAULT_MAP);
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
    s_chain_t chain;
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
    if ((rc = s_parse(buf, val.mv_size, &view, &chain)))
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
            s_moving_t x = {s_id_head((const uint8_t *)ids[i], li), (const uint8_t *)ids[i],
                            li, NULL, 0};
            s_moving_t y = {s_id_head((const uint8_t *)ids[j], lj), (const uint8_t *)ids[j],
                            lj, NULL, 0};
            MDB_val ka = {li, (void *)ids[i]}, kb = {lj, (void *)ids[j]};
            int mine = s_moving_cmp(&x, &y), lmdb = mdb_cmp(t, evs->requests, &ka, &kb);
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
                 {"requests", s_test_requests}};
    enum { N = sizeof tests / sizeof tests[0] };
    int failed = 0;
    /* twice: the stream index written every 16,384 events (so the tests read it
     * from the log's tail), then every 3 (so they read it from the index) */
    for (int i = 0; i < 2 * N; i++) {
        s_index_every_default = i < N ? S_INDEX_EVERY : 3;
        if (i == N && verbose)
            printf(" * again, with the stream index written every 3 events\n");
        char sub[64];
        snprintf(sub, sizeof sub, "%s/pass%d", base, i / N);
        mkdir(sub, 0700);
        int rc = tests[i % N].run(sub);
        if (rc)
            fprintf(stderr, "evs_test: %s (index every %zu) FAILED\n", tests[i % N].name,
                    s_index_every_default);
        else if (verbose)
            printf(" * %s: OK\n", tests[i % N].name);
        failed += rc != 0;
    }
    nftw(base, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
