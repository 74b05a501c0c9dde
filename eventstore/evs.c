/* evs.c: the event log in LMDB (see evs.h): open and close, meta, map growth, head, reads, stat. */
#include "evs_internal.h"
#include "evs_sha256.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_FORMAT 1u                         /* meta "format" of this code */
#define S_RESIZE_TRIES 16                   /* MDB_MAP_RESIZED retries before giving up */

//  --------------------------------------------------------------------------
//  Transactions and meta

/* LMDB returns system errors as positive errno; the API promises negatives. */
int evsi_rc(int rc)
{
    return rc > 0 ? -rc : rc;
}

bool evsi_id_ok(const char *id)
{
    if (!id)
        return false;
    size_t n = strnlen(id, EVS_MAX_ID + 1);
    return n >= 1 && n <= EVS_MAX_ID;
}

int evsi_env_begin(MDB_env *env, bool adopt, unsigned flags, MDB_txn **txn)
{
    int rc = MDB_MAP_RESIZED;
    for (int i = 0; i < S_RESIZE_TRIES && rc == MDB_MAP_RESIZED; i++) {
        rc = mdb_txn_begin(env, NULL, flags, txn);
        if (rc == MDB_MAP_RESIZED && adopt) {
            int rc2 = mdb_env_set_mapsize(env, 0);
            if (rc2)
                return rc2;
        }
    }
    return rc;
}

/* Begins a txn; adopts the map size another process grew to (read-only users). */
int evsi_txn_begin(evs_t *self, unsigned flags, MDB_txn **txn)
{
    return evsi_env_begin(self->env, !self->reading, flags, txn);
}

/* Read callbacks running on this thread (any store): a commit from inside one must
 * not wait for the map lock its own read holds. */
_Thread_local int evsi_reading_here;

/* evs_opts_t.index_every when 0 (the self-test runs a second time with a tiny one) */
size_t evsi_index_every_default = EVSI_INDEX_EVERY;

/* A read txn, holding the map lock shared so that a commit on another thread cannot
 * move the map under it. End it with evsi_ro_end(). */
int evsi_ro_begin(evs_t *self, MDB_txn **txn)
{
    pthread_rwlock_rdlock(&self->maplock);
    int rc = evsi_txn_begin(self, MDB_RDONLY, txn);
    if (rc)
        pthread_rwlock_unlock(&self->maplock);
    return rc;
}

void evsi_ro_end(evs_t *self, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&self->maplock);
}

int evsi_get_u64(MDB_txn *txn, MDB_dbi dbi, MDB_val key, uint64_t *out)
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

int evsi_get_head(evs_t *self, MDB_txn *txn, uint64_t *seq, uint8_t *hash)
{
    *seq = 0;
    if (hash)
        memset(hash, 0, EVS_HASH_SIZE);
    int rc = evsi_get_u64(txn, self->meta, EVSI_KEY("head_seq"), seq);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc || !hash)
        return rc;
    MDB_val key = EVSI_KEY("head_hash"), val;
    rc = mdb_get(txn, self->meta, &key, &val);
    if (rc)
        return rc == MDB_NOTFOUND ? EVS_CORRUPT : rc;
    if (val.mv_size != EVS_HASH_SIZE)
        return EVS_CORRUPT;
    memcpy(hash, val.mv_data, EVS_HASH_SIZE);
    return 0;
}

size_t evsi_cp_key(char *buf, const char *upstream, size_t len)
{
    memcpy(buf, "cp/", 3);
    memcpy(buf + 3, upstream, len);
    return len + 3;
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
    MDB_val key = EVSI_KEY("format"), val;
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
    key = EVSI_KEY("service");
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

int evsi_env_grow(MDB_env *env)
{
    MDB_envinfo info;
    int rc = mdb_env_info(env, &info);
    if (rc == 0 && info.me_mapsize > SIZE_MAX / 2)
        rc = ENOMEM;
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, info.me_mapsize * 2);
    return rc;
}

int evsi_grow(evs_t *self)
{
    if (evsi_reading_here && atomic_load(&self->reading))
        return EBUSY;   /* committed from a read callback: the map cannot move */
    /* no read txn of this process may be open while the map moves */
    pthread_rwlock_wrlock(&self->maplock);
    int rc = evsi_env_grow(self->env);
    pthread_rwlock_unlock(&self->maplock);
    return rc;
}

int evsi_env_write(MDB_env *env, evsi_write_fn *fn, void *arg)
{
    for (;;) {
        MDB_txn *txn;
        int rc = evsi_env_begin(env, true, 0, &txn);
        if (rc)
            return rc;
        rc = fn(txn, arg);
        if (rc == 0)
            rc = mdb_txn_commit(txn);   /* frees txn even when it fails */
        else
            mdb_txn_abort(txn);
        if (rc != MDB_MAP_FULL)
            return rc;
        if ((rc = evsi_env_grow(env)))
            return rc;
    }
}

/* Streams in the log (meta "stream_count", kept at every commit); logs from before
 * it had one index key per event and one head per stream. */
int evsi_stream_count(evs_t *self, MDB_txn *txn, uint64_t *n)
{
    int rc = evsi_get_u64(txn, self->meta, EVSI_KEY("stream_count"), n);
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
    int rc = evsi_get_u64(txn, self->meta, EVSI_KEY("index_seq"), &v);
    if (rc == MDB_NOTFOUND && (rc = evsi_index_seq(self, txn, &v)) == 0) {
        MDB_val key = EVSI_KEY("index_seq"), val = {sizeof v, &v};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
    }
    if (rc)
        return rc;
    rc = evsi_get_u64(txn, self->meta, EVSI_KEY("stream_count"), &v);
    if (rc == MDB_NOTFOUND && (rc = evsi_stream_count(self, txn, &v)) == 0) {
        MDB_val key = EVSI_KEY("stream_count"), val = {sizeof v, &v};
        rc = mdb_put(txn, self->meta, &key, &val, 0);
    }
    return rc;
}

typedef struct {
    evs_t *self;
    const char *service;
} s_opening_t;

static int s_open_txn(MDB_txn *txn, void *arg)
{
    s_opening_t *o = arg;
    int rc = s_open_dbs(o->self, txn, MDB_CREATE);
    if (rc == 0)
        rc = s_check_meta(o->self, txn, o->service, true);
    if (rc == 0)
        rc = s_meta_upgrade(o->self, txn);
    return rc;
}

/* The writer's open: no read txn of this process can be open yet while the map grows. */
static int s_open_rw(evs_t *self, const char *service)
{
    s_opening_t o = {self, service};
    return evsi_env_write(self->env, s_open_txn, &o);
}

static int s_open_ro(evs_t *self, const char *service)
{
    MDB_txn *txn;
    int rc = evsi_txn_begin(self, MDB_RDONLY, &txn);
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
    if (opts->service && !evsi_id_ok(opts->service))
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
    size_t initial = opts->initial_map ? opts->initial_map : EVSI_DEFAULT_MAP;
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
    self->index_every = opts->index_every ? opts->index_every : evsi_index_every_default;
    rc = rdonly ? s_open_ro(self, opts->service) : s_open_rw(self, opts->service);
    if (rc == 0 && !rdonly)
        rc = evsi_load_pending(self);
    if (rc == 0 && !rdonly)
        rc = evsi_load_requests(self);
    if (rc)
        goto fail;
    *out = self;
    return 0;
fail:
    evs_destroy(&self);
    return evsi_rc(rc);
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
    evsi_pending_clear(self);
    evsi_reqpending_clear(self, true);
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
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    rc = evsi_get_head(self, txn, seq, hash);
    evsi_ro_end(self, txn);
    return evsi_rc(rc);
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
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    if ((rc = mdb_cursor_open(txn, self->events, &cur))) {
        evsi_ro_end(self, txn);
        return evsi_rc(rc);
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
        evsi_reading_here++;
        result = fn(&rec, arg);
        self->reading--;
        evsi_reading_here--;
        if (result != 0 || (max && ++count >= max))
            break;
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = evsi_rc(rc);
    mdb_cursor_close(cur);
    evsi_ro_end(self, txn);
    return result;
}

int evs_checkpoint(evs_t *self, const char *upstream, uint64_t *seq)
{
    uint8_t hash[EVS_HASH_SIZE];
    return evs_checkpoint_hash(self, upstream, seq, hash, NULL);
}

int evs_checkpoint_hash(evs_t *self, const char *upstream, uint64_t *seq, uint8_t *hash,
                        bool *known)
{
    assert(self);
    assert(seq);
    assert(hash);
    *seq = 0;
    memset(hash, 0, EVS_HASH_SIZE);
    if (known)
        *known = false;
    if (!evsi_id_ok(upstream))
        return EVS_INVALID;
    char kbuf[EVS_MAX_ID + 3];
    MDB_val key = {evsi_cp_key(kbuf, upstream, strlen(upstream)), kbuf}, val;
    MDB_txn *txn;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    /* the upstream's seq (cp/), and when kept the hash of its record there (ch/) */
    rc = evsi_get_u64(txn, self->meta, key, seq);
    if (rc == 0) {
        memcpy(kbuf, "ch/", 3);
        rc = mdb_get(txn, self->meta, &key, &val);
        if (rc == 0 && val.mv_size != EVS_HASH_SIZE)
            rc = EVS_CORRUPT;
        if (rc == 0) {
            memcpy(hash, val.mv_data, EVS_HASH_SIZE);
            if (known)
                *known = true;
        }
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    evsi_ro_end(self, txn);
    return evsi_rc(rc);
}

int evs_checkpoints_each(evs_t *self, evs_checkpoint_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    if ((rc = mdb_cursor_open(txn, self->meta, &cur))) {
        evsi_ro_end(self, txn);
        return evsi_rc(rc);
    }
    int result = 0;
    MDB_val key = EVSI_KEY("cp/"), val;
    /* "cp/<upstream>" keys sort together; "ch/<upstream>" holds the hash, when kept */
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && result == 0 && key.mv_size >= 3 && memcmp(key.mv_data, "cp/", 3) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        char up[EVS_MAX_ID + 1], kbuf[EVS_MAX_ID + 3];
        size_t n = key.mv_size - 3;
        uint64_t seq;
        MDB_val hval;
        if (n < 1 || n > EVS_MAX_ID || memchr((char *)key.mv_data + 3, 0, n)
            || val.mv_size != sizeof seq) {
            result = EVS_CORRUPT;
            break;
        }
        memcpy(up, (char *)key.mv_data + 3, n);
        up[n] = '\0';
        memcpy(&seq, val.mv_data, sizeof seq);
        MDB_val hkey = {evsi_cp_key(kbuf, up, n), kbuf};
        memcpy(kbuf, "ch/", 3);
        int hrc = mdb_get(txn, self->meta, &hkey, &hval);
        if (hrc == 0 && hval.mv_size != EVS_HASH_SIZE)
            hrc = EVS_CORRUPT;
        if (hrc && hrc != MDB_NOTFOUND) {
            result = evsi_rc(hrc);
            break;
        }
        self->reading++;
        evsi_reading_here++;
        result = fn(up, seq, hrc == 0 ? hval.mv_data : NULL, arg);
        self->reading--;
        evsi_reading_here--;
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = evsi_rc(rc);
    mdb_cursor_close(cur);
    evsi_ro_end(self, txn);
    return result;
}

int evs_stat(evs_t *self, evs_stat_t *st)
{
    assert(self);
    assert(st);
    memset(st, 0, sizeof *st);
    MDB_txn *txn;
    MDB_stat es, ss, rs, ts = {0}, envst;
    MDB_envinfo info;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    if ((rc = evsi_get_head(self, txn, &st->head_seq, st->head_hash))
        || (rc = mdb_stat(txn, self->events, &es))
        || (rc = mdb_stat(txn, self->streams, &ss))
        || (rc = mdb_stat(txn, self->requests, &rs))
        || (self->has_reqtail && (rc = mdb_stat(txn, self->reqtail, &ts)))
        || (rc = mdb_env_info(self->env, &info))
        || (rc = mdb_env_stat(self->env, &envst)))
        goto done;
    if ((rc = evsi_stream_count(self, txn, &st->streams)))
        goto done;
    MDB_val skey = EVSI_KEY("service"), sval;
    if (mdb_get(txn, self->meta, &skey, &sval) == 0) {
        size_t n = sval.mv_size < sizeof st->service ? sval.mv_size : sizeof st->service - 1;
        memcpy(st->service, sval.mv_data, n);
        st->service[n] = '\0';
    }
    st->requests = rs.ms_entries + ts.ms_entries;
    st->map_size = info.me_mapsize;
    st->used_bytes = (info.me_last_pgno + 1) * (size_t)envst.ms_psize;
done:
    evsi_ro_end(self, txn);
    return evsi_rc(rc);
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
    case EVS_ERASED:     return "erased (the data subject's key is deleted)";
    default:             break;
    }
    if (err >= MDB_KEYEXIST && err <= MDB_LAST_ERRCODE)
        return mdb_strerror(err);
    return strerror(err < 0 ? -err : err);
}
