/* forge.c: changing a stopped service's log behind its back (forge.h). The record format
 * is eventstore's: a tp.Envelope packed without `hash`, then field 11 (`hash`, SHA-256 of
 * what comes before it) appended; meta "head_seq" (u64) and "head_hash" (32 bytes). */
#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "forge.h"
#include "tp.pb-c.h"

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi events, meta;
} s_log_t;

static int s_open(const char *dir, s_log_t *l)
{
    memset(l, 0, sizeof *l);
    int rc = mdb_env_create(&l->env);
    if (rc == 0)
        mdb_env_set_maxdbs(l->env, 8);
    rc = rc ? rc : mdb_env_open(l->env, dir, 0, 0600);
    rc = rc ? rc : mdb_txn_begin(l->env, NULL, 0, &l->txn);
    rc = rc ? rc : mdb_dbi_open(l->txn, "events", MDB_INTEGERKEY, &l->events);
    rc = rc ? rc : mdb_dbi_open(l->txn, "meta", 0, &l->meta);
    return rc;
}

/* Commits (when @p rc is 0) and closes. */
static int s_close(s_log_t *l, int rc)
{
    if (l->txn)
        rc = rc ? (mdb_txn_abort(l->txn), rc) : mdb_txn_commit(l->txn);
    if (l->env)
        mdb_env_close(l->env);
    return rc;
}

static int s_put_meta(s_log_t *l, const char *name, const void *data, size_t len)
{
    MDB_val key = {strlen(name), (void *) name}, val = {len, (void *) data};
    return mdb_put(l->txn, l->meta, &key, &val, 0);
}

int forge_flip(const char *dir, uint64_t seq)
{
    s_log_t l;
    int rc = s_open(dir, &l);
    MDB_val key = {sizeof seq, &seq}, val;
    rc = rc ? rc : mdb_get(l.txn, l.events, &key, &val);
    if (rc == 0) {
        uint8_t *copy = malloc(val.mv_size);
        memcpy(copy, val.mv_data, val.mv_size);
        copy[val.mv_size / 2] ^= 0x01;
        MDB_val nv = {val.mv_size, copy};
        rc = mdb_put(l.txn, l.events, &key, &nv, 0);
        free(copy);
    }
    return s_close(&l, rc);
}

/* The hash a record carries (its field 11: the last 32 bytes) into @p out. */
static int s_hash_of(s_log_t *l, uint64_t seq, uint8_t *out)
{
    MDB_val key = {sizeof seq, &seq}, val;
    if (seq == 0) {
        memset(out, 0, 32);
        return 0;
    }
    int rc = mdb_get(l->txn, l->events, &key, &val);
    if (rc == 0 && val.mv_size >= 34)
        memcpy(out, (const uint8_t *) val.mv_data + val.mv_size - 32, 32);
    return rc ? rc : (val.mv_size >= 34 ? 0 : -1);
}

int forge_rewrite_tail(const char *dir, uint64_t from_seq)
{
    s_log_t l;
    uint8_t prev[32], hash[32];
    int rc = s_open(dir, &l);
    rc = rc ? rc : s_hash_of(&l, from_seq - 1, prev);
    for (uint64_t seq = from_seq; rc == 0; seq++) {
        MDB_val key = {sizeof seq, &seq}, val;
        rc = mdb_get(l.txn, l.events, &key, &val);
        if (rc == MDB_NOTFOUND) {
            rc = seq > from_seq ? s_put_meta(&l, "head_hash", prev, 32) : rc;
            break;
        }
        Tp__Envelope *e = rc ? NULL : tp__envelope__unpack(NULL, val.mv_size, val.mv_data);
        if (!e) {
            rc = rc ? rc : -1;
            break;
        }
        Tp__Envelope copy = *e;   /* the unpacked one keeps its own fields to free */
        copy.recorded_at_us += 1000000;
        copy.prev_hash = (ProtobufCBinaryData) {32, prev};
        copy.hash = (ProtobufCBinaryData) {0, NULL};
        size_t n = tp__envelope__get_packed_size(&copy);
        uint8_t *buf = malloc(n + 34);
        tp__envelope__pack(&copy, buf);
        crypto_hash_sha256(hash, buf, n);
        buf[n] = (11 << 3) | 2;   /* field 11, length-delimited */
        buf[n + 1] = 32;
        memcpy(buf + n + 2, hash, 32);
        MDB_val nv = {n + 34, buf};
        rc = mdb_put(l.txn, l.events, &key, &nv, 0);
        free(buf);
        tp__envelope__free_unpacked(e, NULL);
        memcpy(prev, hash, 32);
    }
    return s_close(&l, rc);
}

int forge_truncate(const char *dir, uint64_t to_seq)
{
    s_log_t l;
    uint8_t hash[32];
    int rc = s_open(dir, &l);
    for (uint64_t seq = to_seq + 1; rc == 0; seq++) {
        MDB_val key = {sizeof seq, &seq};
        rc = mdb_del(l.txn, l.events, &key, NULL);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
    }
    rc = rc ? rc : s_hash_of(&l, to_seq, hash);
    rc = rc ? rc : s_put_meta(&l, "head_seq", &to_seq, sizeof to_seq);
    rc = rc ? rc : s_put_meta(&l, "head_hash", hash, 32);
    return s_close(&l, rc);
}
