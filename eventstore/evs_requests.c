/* evs_requests.c: request ids: reqtail, reqpending, the Bloom filter, their moves to `requests`. */
#include "evs_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  reqtail, and what the owner knows of it (reqpending)

/* The hash reqpending keeps of a request id, from its evsi_hash_bytes() @p h (which a
 * batch's table already holds): never 0. */
static uint64_t s_fp_hash(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1;
}

/* Adds the request id of evsi_hash_bytes() @p id_hash (reqtail key @p key) to
 * reqpending; -ENOMEM. */
int evsi_reqpending_put(evs_t *self, uint64_t id_hash, uint64_t key)
{
    evsi_fp_tab_t *t = &self->reqpending;
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        evsi_fp_slot_t *slots = calloc(cap, sizeof *slots);
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
    t->slots[i] = (evsi_fp_slot_t){h, key};
    t->n++;
    return 0;
}

/* Empties reqpending (after a move), keeping its room; @p free_it: let go of it too. */
void evsi_reqpending_clear(evs_t *self, bool free_it)
{
    evsi_fp_tab_t *t = &self->reqpending;
    if (free_it) {
        free(t->slots);
        *t = (evsi_fp_tab_t){0};
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
    const evsi_fp_tab_t *t = &self->reqpending;
    if (!t->n)
        return MDB_NOTFOUND;
    uint64_t h = s_fp_hash(evsi_hash_bytes(id, len));
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

//  --------------------------------------------------------------------------
//  At open

/* The owner's view of reqtail: reqpending, req_next, req_unmoved. */
static int s_load_reqtail(evs_t *self, MDB_txn *txn)
{
    uint64_t moved = 0;
    int rc = evsi_get_u64(txn, self->meta, EVSI_KEY("req_moved"), &moved);
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
        if ((rc = evsi_reqpending_put(self, evsi_hash_bytes((const char *)id, id_len), k)))
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
int evsi_load_requests(evs_t *self)
{
    MDB_txn *txn;
    MDB_stat st, ts;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_stat(txn, self->requests, &st)) == 0 &&
        (rc = mdb_stat(txn, self->reqtail, &ts)) == 0)
        self->seen = evs_bloom_new((st.ms_entries + ts.ms_entries) * 2);
    if (rc == 0)
        rc = s_load_reqtail(self, txn);
    if (rc == 0 && self->seen && s_seen_add_keys(self, txn, self->requests) != 0)
        evs_bloom_destroy(&self->seen);   /* out of memory, or unreadable: look up all */
    evsi_ro_end(self, txn);
    return rc;
}

//  --------------------------------------------------------------------------
//  Lookups

int evs_request_get(evs_t *self, const char *request_id, uint8_t **result, size_t *len)
{
    assert(self);
    assert(result);
    assert(len);
    *result = NULL;
    *len = 0;
    if (!evsi_id_ok(request_id))
        return EVS_INVALID;
    MDB_val key = {strlen(request_id), (void *)request_id}, val;
    MDB_txn *txn;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
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
    evsi_ro_end(self, txn);
    return evsi_rc(rc);
}

/* A kept request result as batch @p b sees it (same order as evsi_batch_version). */
int evsi_batch_request(evs_batch_t *b, const char *id, size_t len, const uint8_t **result,
                       size_t *result_len)
{
    /* ids are added to the set as batches take them: one never added is nowhere */
    if (b->evs->seen && !evs_bloom_maybe(b->evs->seen, id, len))
        return MDB_NOTFOUND;
    for (evs_batch_t *x = b; x; x = x == b ? b->evs->sealed : x->older) {
        const evsi_slot_t *s = evsi_tab_find(&x->requests, id, len);
        if (s) {
            *result = x->ops[s->val].data;
            *result_len = x->ops[s->val].len;
            return 0;
        }
    }
    MDB_val key = {len, (void *)id}, val;
    int rc = evsi_snap_begin(b);
    if (rc)
        return rc;
    rc = s_reqpending_find(b->evs, b->txn, id, len, &val);
    if (rc == MDB_NOTFOUND)
        rc = mdb_get(b->txn, b->evs->requests, &key, &val);
    if (rc == MDB_NOTFOUND && b->evs->reqpending_short)
        rc = s_reqtail_find(b->evs, b->txn, id, len, &val);
    if (rc == 0) {
        /* a copy: the map may move once the lock is let go */
        uint8_t *copy = evsi_alloc(b, val.mv_size ? val.mv_size : 1);
        if (copy) {
            memcpy(copy, val.mv_data, val.mv_size);
            *result = copy;
            *result_len = val.mv_size;
        }
        else
            rc = -ENOMEM;
    }
    evsi_snap_end(b);
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
    if (b->state != EVSI_OPEN)
        return EVS_BAD_BATCH;
    if (!evsi_id_ok(request_id))
        return EVS_INVALID;
    size_t n = strlen(request_id);
    int rc = evsi_batch_request(b, request_id, n, result, len);
    if (rc == MDB_NOTFOUND)
        memcpy(b->missed, request_id, n + 1);
    if (rc)
        return rc == MDB_NOTFOUND ? EVS_NOTFOUND : evsi_rc(rc);
    return 0;
}

/* Calls @p fn for each request id of table @p dbi: `requests` (id -> result) or, when
 * @p tail, reqtail (key -> u8 id length, id, result). */
static int s_each_in(evs_t *self, MDB_txn *txn, MDB_dbi dbi, bool tail, evs_request_fn *fn,
                     void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    MDB_val key, val;
    int result = 0;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0 && result == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const uint8_t *id = key.mv_data, *res = val.mv_data;
        size_t id_len = key.mv_size, len = val.mv_size;
        if (tail)
            result = s_reqtail_parse(&val, &id, &id_len, &res, &len);
        else if (id_len < 1 || id_len > EVS_MAX_ID)
            result = EVS_CORRUPT;
        if (result)
            break;
        char cid[EVS_MAX_ID + 1];
        memcpy(cid, id, id_len);
        cid[id_len] = '\0';
        self->reading++;
        evsi_reading_here++;
        result = fn(cid, res, len, arg);
        self->reading--;
        evsi_reading_here--;
    }
    mdb_cursor_close(cur);
    return result ? result : rc == MDB_NOTFOUND ? 0 : evsi_rc(rc);
}

int evs_requests_each(evs_t *self, evs_request_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    MDB_txn *txn;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    rc = s_each_in(self, txn, self->requests, false, fn, arg);
    if (rc == 0 && self->has_reqtail)
        rc = s_each_in(self, txn, self->reqtail, true, fn, arg);
    evsi_ro_end(self, txn);
    return rc;   /* fn's value as it is: evsi_rc() would negate a positive one */
}

//  --------------------------------------------------------------------------
//  Moves into `requests`

uint64_t evsi_id_head(const uint8_t *id, size_t len)
{
    uint64_t h = 0;
    for (size_t i = 0; i < 8; i++)
        h = h << 8 | (i < len ? id[i] : 0);
    return h;
}

/* LMDB's default key order: bytes, then length. The first 8 bytes are compared as one
 * number (ids hold no NUL, so the zero padding sorts a shorter id first, as LMDB does). */
int evsi_moving_cmp(const void *a, const void *b)
{
    const evsi_moving_t *x = a, *y = b;
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
int evsi_req_move(evs_t *self, MDB_txn *txn, uint64_t to)
{
    uint64_t moved = 0;
    int rc = evsi_get_u64(txn, self->meta, EVSI_KEY("req_moved"), &moved);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (moved >= to)
        return 0;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, self->reqtail, &cur)))
        return rc;
    /* copies first: the deletes below change the pages the records are on */
    size_t n = 0, cap = 0, bytes = 0;
    evsi_moving_t *v = NULL;
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
        evsi_moving_t *m = &v[n++];
        if ((rc = s_reqtail_parse(&copy, &m->id, &m->id_len, &m->result, &m->len)))
            goto done;
        m->head = evsi_id_head(m->id, m->id_len);
    }
    if (rc)
        goto done;
    qsort(v, n, sizeof *v, evsi_moving_cmp);
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
        MDB_val mk = EVSI_KEY("req_moved"), mv = {sizeof to, &to};
        rc = mdb_put(txn, self->meta, &mk, &mv, 0);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    free(v);
    free(arena);
    return rc == EVS_CORRUPT ? MDB_CORRUPTED : rc;
}
