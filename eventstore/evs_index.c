/* evs_index.c: the stream index, written in runs, and the versions after it (pending). */
#include "evs_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  The index and the log's tail after it

/* Current version of a stream as txn sees it; 0 when it does not exist. */
static int s_version(evs_t *self, MDB_txn *txn, const char *id, uint64_t *version)
{
    int rc = evsi_get_u64(txn, self->streams, (MDB_val){strlen(id), (void *)id}, version);
    if (rc == MDB_NOTFOUND) {
        *version = 0;
        rc = 0;
    }
    return rc;
}

/* How far the stream index goes (meta "index_seq"); logs from before it was kept
 * apart were indexed at every commit: up to their head. */
int evsi_index_seq(evs_t *self, MDB_txn *txn, uint64_t *seq)
{
    int rc = evsi_get_u64(txn, self->meta, EVSI_KEY("index_seq"), seq);
    return rc == MDB_NOTFOUND ? evsi_get_head(self, txn, seq, NULL) : rc;
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
        if (evsi_parse(val.mv_data, val.mv_size, &v, NULL) != 0 || v.stream_id_len > EVS_MAX_ID)
            continue;   /* damaged: skipped here, named by evs_verify() */
        if ((rc = fn(&v, &val, arg)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
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

//  --------------------------------------------------------------------------
//  The versions after the index (pending)

/* The owner's versions of streams written after index_seq. */
int evsi_pending_put(evs_t *self, const char *id, size_t len, uint64_t version)
{
    evsi_slot_t *slot = evsi_tab_find(&self->pending, id, len);
    if (slot) {
        slot->val = version;
        return 0;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, id, len);
    int rc = evsi_tab_put(&self->pending, copy, len, version);
    if (rc)
        free(copy);
    return rc;
}

void evsi_pending_clear(evs_t *self)
{
    for (size_t i = 0; i < self->pending.cap; i++)
        free((char *)self->pending.slots[i].key);
    free(self->pending.slots);
    self->pending = (evsi_tab_t){0};
}

static int s_pending_from_tail(const evs_view_t *v, const MDB_val *val, void *arg)
{
    (void)val;
    return evsi_pending_put(arg, v->stream_id, v->stream_id_len, v->stream_version);
}

/* The versions of the streams written after the index, from the log's tail. */
int evsi_load_pending(evs_t *self)
{
    MDB_txn *txn;
    uint64_t index_seq, head;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return rc;
    if ((rc = evsi_index_seq(self, txn, &index_seq)) == 0 &&
        (rc = evsi_get_head(self, txn, &head, NULL)) == 0 &&
        (rc = s_tail(self, txn, index_seq, head, s_pending_from_tail, self)) == 0)
        self->unindexed = head - index_seq;
    evsi_ro_end(self, txn);
    return rc;
}

//  --------------------------------------------------------------------------
//  Reading a stream

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
    evsi_reading_here++;
    t->rc = t->fn(&rec, t->arg);
    t->evs->reading--;
    evsi_reading_here--;
    return t->rc != 0 ? 1 : 0;
}

/* A stream's version as committed: the index, then the log's tail after it. */
static int s_committed_version(evs_t *self, MDB_txn *txn, const char *id, uint64_t *version)
{
    uint64_t index_seq, head;
    int rc = s_version(self, txn, id, version);
    if (rc || (rc = evsi_index_seq(self, txn, &index_seq)) ||
        (rc = evsi_get_head(self, txn, &head, NULL)))
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
    if (!evsi_id_ok(stream_id))
        return EVS_INVALID;
    size_t id_len = strlen(stream_id);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    uint64_t version;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
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
        evsi_reading_here++;
        rc = fn(&rec, arg);
        self->reading--;
        evsi_reading_here--;
        if (rc != 0)
            goto done;          /* the callback's value, returned as is */
    }
    if (rc == 0 || rc == MDB_NOTFOUND) {
        /* then the events after the index */
        uint64_t index_seq, head;
        s_stream_tail_t t = {self, stream_id, id_len, from_version, fn, arg, 0, 0};
        rc = evsi_index_seq(self, txn, &index_seq);
        if (rc == 0)
            rc = evsi_get_head(self, txn, &head, NULL);
        if (rc == 0)
            rc = s_tail(self, txn, index_seq, head, s_stream_tail, &t);
        if (t.rc != 0) {
            rc = t.rc;
            goto done;          /* the callback's value, returned as is */
        }
    }
    rc = evsi_rc(rc);
done:
    if (cur)
        mdb_cursor_close(cur);
    evsi_ro_end(self, txn);
    return rc;
}

int evs_stream_version(evs_t *self, const char *stream_id, uint64_t *version)
{
    assert(self);
    assert(version);
    *version = 0;
    if (!evsi_id_ok(stream_id))
        return EVS_INVALID;
    MDB_txn *txn;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    rc = s_committed_version(self, txn, stream_id, version);
    evsi_ro_end(self, txn);
    return evsi_rc(rc);
}

//  --------------------------------------------------------------------------
//  A stream's version as a batch sees it

/* The last version of one stream in a run of the log's tail. */
typedef struct {
    const char *id;
    size_t len;
    uint64_t version;
    bool found;
} s_version_t;

static int s_tail_version(const evs_view_t *v, const MDB_val *val, void *arg)
{
    (void)val;
    s_version_t *sv = arg;
    if (v->stream_id_len == sv->len && memcmp(v->stream_id, sv->id, sv->len) == 0) {
        sv->version = v->stream_version;
        sv->found = true;
    }
    return 0;
}

/* A stream's version as batch @p b sees it: its own appends, then those of the sealed
 * batches not yet ended (newest first), then the log as of its snapshot. */
int evsi_batch_version(evs_batch_t *b, const char *id, size_t len, uint64_t *version)
{
    for (evs_batch_t *x = b; x; x = x == b ? b->evs->sealed : x->older) {
        const evsi_slot_t *s = evsi_tab_find(&x->versions, id, len);
        if (s) {
            *version = s->val;
            return 0;
        }
    }
    const evsi_slot_t *p = evsi_tab_find(&b->evs->pending, id, len);
    if (p) {
        *version = p->val;
        return 0;
    }
    int rc = evsi_snap_begin(b);
    if (rc)
        return rc;
    if (b->evs->pending_short) {
        /* pending could not keep every version after the index: the log's tail has it */
        s_version_t sv = {id, len, 0, false};
        uint64_t from = 0, to = 0;
        if ((rc = evsi_index_seq(b->evs, b->txn, &from)) == 0 &&
            (rc = evsi_get_head(b->evs, b->txn, &to, NULL)) == 0)
            rc = s_tail(b->evs, b->txn, from, to, s_tail_version, &sv);
        if (rc != 0 || sv.found) {
            *version = sv.version;
            evsi_snap_end(b);
            return rc;
        }
    }
    rc = evsi_get_u64(b->txn, b->evs->streams, (MDB_val){len, (void *)id}, version);
    evsi_snap_end(b);
    if (rc == MDB_NOTFOUND) {
        *version = 0;
        rc = 0;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Index runs

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
int evsi_index_write(evs_t *self, MDB_txn *txn, uint64_t to)
{
    uint64_t from;
    int rc = evsi_index_seq(self, txn, &from);
    if (rc || from >= to)
        return rc;
    s_indexer_t ix = {0};
    MDB_cursor *cur = NULL;
    evsi_tab_t seen = {0};
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
        evsi_slot_t *sl = evsi_tab_find(&seen, e->id, e->id_len);
        next[i] = SIZE_MAX;
        if (sl) {
            s_ixstream_t *g = &st[sl->val];
            next[g->last] = i;
            g->last = i;
        }
        else if ((rc = evsi_tab_put(&seen, e->id, e->id_len, n_st)))
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
        MDB_val key = EVSI_KEY("index_seq"), val = {sizeof to, &to};
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
