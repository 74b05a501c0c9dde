/* evs_vault.c: the per-service key store for crypto-shredding (see evs_vault.h). */
#include "evs_vault.h"
#include "evs_internal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FORMAT   1u                         /* meta "format" of this code */
#define S_MAP      ((size_t) 16 << 20)        /* initial map, some 100,000 subjects; grows */
#define S_SWAP     ".swap-"                   /* "<dir>.swap-XXXXXX": a rewrite's fresh folder */
#define S_TOMB_MAX (8 + EVS_VAULT_REASON_MAX) /* i64 erased_at_us, reason */

/* The files of a store's folder (LMDB's), the only ones removed with it. */
static const char *const s_files[] = {"data.mdb", "lock.mdb"};

struct evs_vault {
    MDB_env *env;          /* the store; NULL when it could not be opened again after a swap */
    MDB_dbi keys;          /* subject -> key */
    MDB_dbi erased;        /* subject -> tombstone */
    MDB_dbi meta;          /* format, compact */
    bool read_only;        /* opened for tools: nothing is written */
    int broken;            /* why env is NULL (0 while it is not) */
    char dir[PATH_MAX];    /* the store's folder, without trailing slashes */
    char parent[PATH_MAX]; /* the folder that holds it */
    evsi_tab_t index;      /* subject -> its place in pending (keys point into subjects) */
    char **subjects;       /* the subjects of the pending keys (malloc'd each) */
    uint8_t *pending;      /* their keys, EVS_VAULT_KEY_SIZE bytes each (sodium_malloc'd) */
    size_t n;              /* pending keys */
    size_t cap;            /* room in subjects and pending */
};

bool evsi_vault_no_rewrite;

//  --------------------------------------------------------------------------
//  Names

/* Printable ASCII, @p min..@p max bytes; NULL is none. */
static bool s_ascii_ok(const char *s, size_t min, size_t max)
{
    if (!s)
        return false;
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

static bool s_subject_ok(const char *subject)
{
    return s_ascii_ok(subject, 1, EVS_VAULT_SUBJECT_MAX);
}

static MDB_val s_val(const char *s)
{
    return (MDB_val){strlen(s), (void *) s};
}

//  --------------------------------------------------------------------------
//  Pending keys

/* Zeroes and drops every pending key. */
static void s_pending_clear(evs_vault_t *self)
{
    if (self->pending)
        sodium_memzero(self->pending, self->n * EVS_VAULT_KEY_SIZE);
    for (size_t i = 0; i < self->n; i++)
        free(self->subjects[i]);
    self->n = 0;
    free(self->index.slots);
    self->index = (evsi_tab_t){0};
}

/* The place of a new pending key for @p subject (@p len bytes); -ENOMEM. */
static int s_pending_add(evs_vault_t *self, const char *subject, size_t len, size_t *at)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        char **subjects = realloc(self->subjects, cap * sizeof *subjects);
        if (!subjects)
            return -ENOMEM;
        self->subjects = subjects;
        uint8_t *keys = sodium_allocarray(cap, EVS_VAULT_KEY_SIZE);
        if (!keys)
            return -ENOMEM;
        if (self->pending)
            memcpy(keys, self->pending, self->n * EVS_VAULT_KEY_SIZE);
        sodium_free(self->pending); /* zeroes it */
        self->pending = keys;
        self->cap = cap;
    }
    char *copy = strndup(subject, len);
    if (!copy || evsi_tab_put(&self->index, copy, len, self->n) != 0) {
        free(copy);
        return -ENOMEM;
    }
    self->subjects[self->n] = copy;
    *at = self->n++;
    return 0;
}

/* Drops the pending key of @p subject, if any (the last one takes its place; the index
 * is built again, which is rare: only an erasure of a pending subject does it). */
static int s_pending_drop(evs_vault_t *self, const char *subject)
{
    const evsi_slot_t *slot = evsi_tab_find(&self->index, subject, strlen(subject));
    if (!slot)
        return 0;
    size_t at = (size_t) slot->val, last = self->n - 1;
    uint8_t *key = self->pending + at * EVS_VAULT_KEY_SIZE;
    free(self->subjects[at]);
    if (at != last) {
        memcpy(key, self->pending + last * EVS_VAULT_KEY_SIZE, EVS_VAULT_KEY_SIZE);
        self->subjects[at] = self->subjects[last];
    }
    sodium_memzero(self->pending + last * EVS_VAULT_KEY_SIZE, EVS_VAULT_KEY_SIZE);
    self->n--;
    free(self->index.slots);
    self->index = (evsi_tab_t){0};
    for (size_t i = 0; i < self->n; i++)
        if (evsi_tab_put(&self->index, self->subjects[i], strlen(self->subjects[i]), i) != 0)
            return -ENOMEM;
    return 0;
}

//  --------------------------------------------------------------------------
//  Transactions

/* Begins a txn; adopts the map size the writer grew to (read-only handles). */
static int s_txn_begin(evs_vault_t *self, unsigned flags, MDB_txn **txn)
{
    return self->env ? evsi_env_begin(self->env, true, flags, txn) : self->broken;
}

/* One durable write transaction of @p fn (given @p arg); a full map is doubled and @p fn
 * redone. */
static int s_write(evs_vault_t *self, evsi_write_fn *fn, void *arg)
{
    return self->env ? evsi_env_write(self->env, fn, arg) : self->broken;
}

//  --------------------------------------------------------------------------
//  Open and close

/* Opens (a writer: makes) the databases and checks (stores) the format. */
static int s_open_dbs(MDB_txn *txn, void *arg)
{
    evs_vault_t *self = arg;
    unsigned create = self->read_only ? 0 : MDB_CREATE;
    int rc;
    if ((rc = mdb_dbi_open(txn, "keys", create, &self->keys)) ||
        (rc = mdb_dbi_open(txn, "erased", create, &self->erased)) ||
        (rc = mdb_dbi_open(txn, "meta", create, &self->meta)))
        return rc == MDB_NOTFOUND ? EVS_CORRUPT : rc;
    MDB_val key = EVSI_KEY("format"), val;
    uint32_t format = S_FORMAT;
    rc = mdb_get(txn, self->meta, &key, &val);
    if (rc == MDB_NOTFOUND && !self->read_only) {
        val = (MDB_val){sizeof format, &format};
        return mdb_put(txn, self->meta, &key, &val, 0);
    }
    if (rc)
        return rc == MDB_NOTFOUND ? EVS_CORRUPT : rc;
    if (val.mv_size != sizeof format)
        return EVS_CORRUPT;
    memcpy(&format, val.mv_data, sizeof format);
    return format == S_FORMAT ? 0 : EVS_MISMATCH;
}

/* Opens the environment in self->dir and its databases. A read-only handle opens the
 * folder once and LMDB's files through that descriptor, so that data.mdb and lock.mdb
 * come from one folder even when the writer swaps it meanwhile. */
static int s_env_open(evs_vault_t *self)
{
    char proc[64];
    const char *path = self->dir;
    int dfd = -1;
    if (self->read_only) {
        dfd = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return -errno;
        /* no store there: LMDB would make lock.mdb before it finds no data.mdb */
        if (faccessat(dfd, s_files[0], F_OK, 0) != 0) {
            int err = -errno;
            close(dfd);
            return err;
        }
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", dfd);
        if (access(proc, X_OK) == 0)
            path = proc;
    }
    int rc = mdb_env_create(&self->env);
    if (rc)
        self->env = NULL;
    if (rc == 0 && (rc = mdb_env_set_maxdbs(self->env, 4)) == 0 &&
        (rc = mdb_env_set_mapsize(self->env, S_MAP)) == 0)
        rc = mdb_env_open(self->env, path, MDB_NOTLS | (self->read_only ? MDB_RDONLY : 0), 0600);
    if (dfd >= 0)
        close(dfd);
    int dead;
    if (rc == 0 && !self->read_only)
        rc = mdb_reader_check(self->env, &dead);
    /* a map grown earlier is in the file: adopt it */
    if (rc == 0)
        rc = mdb_env_set_mapsize(self->env, 0);
    if (rc == 0 && self->read_only) {
        MDB_txn *txn;
        if ((rc = s_txn_begin(self, MDB_RDONLY, &txn)) == 0) {
            rc = s_open_dbs(txn, self);
            if (rc == 0)
                rc = mdb_txn_commit(txn); /* keeps the dbi handles */
            else
                mdb_txn_abort(txn);
        }
    }
    else if (rc == 0)
        rc = s_write(self, s_open_dbs, self);
    if (rc) {
        mdb_env_close(self->env);
        self->env = NULL;
    }
    return evsi_rc(rc);
}

/* Refuses a folder or data.mdb that its group or others may use. */
static int s_private(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (st.st_mode & 077)
        return -EPERM;
    if (evsi_path(path, dir, s_files[0]) != 0)
        return -ENAMETOOLONG;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        return -EPERM;
    return 0;
}

/* Makes the folder (0700) when missing; its name made durable in its parent. */
static int s_make_dir(evs_vault_t *self)
{
    if (mkdir(self->dir, 0700) != 0)
        return errno == EEXIST ? 0 : -errno;
    /* the umask may allow less than 0700, never more */
    if (chmod(self->dir, 0700) != 0)
        return -errno;
    return evsi_fsync(self->parent, true);
}

/* Removes every "<dir>.swap-*" folder: a rewrite's copy that was not swapped in, or the
 * old files after the swap. */
static int s_sweep(evs_vault_t *self)
{
    const char *base = strrchr(self->dir, '/');
    base = base ? base + 1 : self->dir;
    char prefix[PATH_MAX], path[PATH_MAX];
    if (snprintf(prefix, sizeof prefix, "%s" S_SWAP, base) >= (int) sizeof prefix)
        return -ENAMETOOLONG;
    DIR *d = opendir(self->parent);
    if (!d)
        return -errno;
    bool removed = false;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            evsi_path(path, self->parent, e->d_name) != 0)
            continue;
        evsi_remove(path, s_files, sizeof s_files / sizeof s_files[0]);
        removed = true;
    }
    closedir(d);
    return removed ? evsi_fsync(self->parent, true) : 0;
}

static int s_rewrite(evs_vault_t *self);

/* Whether meta "compact" is set: an erasure's rewrite is due. */
static int s_compact_due(evs_vault_t *self, bool *due)
{
    MDB_txn *txn;
    int rc = s_txn_begin(self, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    MDB_val key = EVSI_KEY("compact"), val;
    rc = mdb_get(txn, self->meta, &key, &val);
    mdb_txn_abort(txn);
    *due = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int evs_vault_open(const char *dir, bool read_only, evs_vault_t **out)
{
    assert(dir);
    assert(out);
    *out = NULL;
    if (sodium_init() < 0)
        return -EIO;
    evs_vault_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->read_only = read_only;
    int rc = evsi_split(dir, self->dir, self->parent);
    const char *base = strrchr(self->dir, '/');
    base = base ? base + 1 : self->dir;
    if (rc == 0 && (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0))
        rc = EVS_INVALID;
    if (rc == 0 && !read_only)
        rc = s_make_dir(self);
    if (rc == 0)
        rc = s_private(self->dir);
    if (rc == 0 && !read_only)
        rc = s_sweep(self);
    if (rc == 0)
        rc = s_env_open(self);
    /* the files LMDB made, durable in the folder */
    if (rc == 0 && !read_only)
        rc = evsi_fsync(self->dir, true);
    bool due = false;
    if (rc == 0 && !read_only && (rc = evsi_rc(s_compact_due(self, &due))) == 0 && due)
        rc = s_rewrite(self);
    if (rc) {
        evs_vault_close(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void evs_vault_close(evs_vault_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_vault_t *self = *self_p;
    s_pending_clear(self);
    sodium_free(self->pending);
    free(self->subjects);
    if (self->env)
        mdb_env_close(self->env);
    free(self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Keys

/* The committed key or tombstone of @p subject. */
static int s_lookup(evs_vault_t *self, const char *subject, uint8_t *key, int64_t *erased_at_us)
{
    MDB_txn *txn;
    int rc = s_txn_begin(self, MDB_RDONLY, &txn);
    if (rc)
        return evsi_rc(rc);
    MDB_val k = s_val(subject), v;
    rc = mdb_get(txn, self->keys, &k, &v);
    if (rc == 0 && v.mv_size != EVS_VAULT_KEY_SIZE)
        rc = EVS_CORRUPT;
    else if (rc == 0)
        memcpy(key, v.mv_data, EVS_VAULT_KEY_SIZE);
    else if (rc == MDB_NOTFOUND && (rc = mdb_get(txn, self->erased, &k, &v)) == 0) {
        rc = v.mv_size < 8 || v.mv_size > S_TOMB_MAX ? EVS_CORRUPT : EVS_ERASED;
        if (rc == EVS_ERASED && erased_at_us)
            memcpy(erased_at_us, v.mv_data, 8);
    }
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? EVS_NOTFOUND : evsi_rc(rc);
}

int evs_vault_get(evs_vault_t *self, const char *subject, uint8_t key[EVS_VAULT_KEY_SIZE],
                  int64_t *erased_at_us)
{
    assert(self);
    assert(key);
    if (!s_subject_ok(subject))
        return EVS_INVALID;
    const evsi_slot_t *slot = evsi_tab_find(&self->index, subject, strlen(subject));
    if (slot) {
        memcpy(key, self->pending + slot->val * EVS_VAULT_KEY_SIZE, EVS_VAULT_KEY_SIZE);
        return 0;
    }
    return s_lookup(self, subject, key, erased_at_us);
}

/* A new pending key for @p subject (no key yet): @p key when given, else a fresh random
 * one, copied into @p out. */
static int s_pending_key(evs_vault_t *self, const char *subject, const uint8_t *key,
                         uint8_t out[EVS_VAULT_KEY_SIZE])
{
    if (self->read_only)
        return EVS_RDONLY_ERR;
    size_t at;
    int rc = s_pending_add(self, subject, strlen(subject), &at);
    if (rc != 0)
        return rc;
    uint8_t *slot = self->pending + at * EVS_VAULT_KEY_SIZE;
    if (key)
        memcpy(slot, key, EVS_VAULT_KEY_SIZE);
    else
        randombytes_buf(slot, EVS_VAULT_KEY_SIZE);
    if (out)
        memcpy(out, slot, EVS_VAULT_KEY_SIZE);
    return 0;
}

int evs_vault_get_or_create(evs_vault_t *self, const char *subject, uint8_t key[EVS_VAULT_KEY_SIZE])
{
    int rc = evs_vault_get(self, subject, key, NULL);
    return rc == EVS_NOTFOUND ? s_pending_key(self, subject, NULL, key) : rc;
}

int evs_vault_put(evs_vault_t *self, const char *subject, const uint8_t key[EVS_VAULT_KEY_SIZE])
{
    uint8_t have[EVS_VAULT_KEY_SIZE];
    int rc = evs_vault_get(self, subject, have, NULL);
    if (rc == 0)
        rc = sodium_memcmp(have, key, EVS_VAULT_KEY_SIZE) == 0 ? 0 : EVS_CONFLICT;
    sodium_memzero(have, sizeof have);
    return rc == EVS_NOTFOUND ? s_pending_key(self, subject, key, NULL) : rc;
}

size_t evs_vault_pending_list(const evs_vault_t *self, const char *const **subjects,
                              const uint8_t **keys)
{
    assert(self);
    *subjects = (const char *const *) self->subjects;
    *keys = self->pending;
    return self->n;
}

void evs_vault_discard(evs_vault_t *self)
{
    assert(self);
    s_pending_clear(self);
}

bool evs_vault_pending(const evs_vault_t *self)
{
    assert(self);
    return self->n > 0;
}

static int s_put_pending(MDB_txn *txn, void *arg)
{
    evs_vault_t *self = arg;
    for (size_t i = 0; i < self->n; i++) {
        MDB_val k = s_val(self->subjects[i]);
        MDB_val v = {EVS_VAULT_KEY_SIZE, self->pending + i * EVS_VAULT_KEY_SIZE};
        int rc = mdb_put(txn, self->keys, &k, &v, MDB_NOOVERWRITE);
        if (rc)
            return rc;
    }
    return 0;
}

int evs_vault_commit(evs_vault_t *self)
{
    assert(self);
    if (self->read_only)
        return EVS_RDONLY_ERR;
    if (self->n == 0)
        return 0;
    int rc = s_write(self, s_put_pending, self);
    if (rc)
        return evsi_rc(rc);
    s_pending_clear(self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Erasure

typedef struct {
    evs_vault_t *self;
    const char *const *subjects;
    size_t n;
    const char *reason;
    int64_t at_us;
    bool due; /* a rewrite is due: a key was deleted now, or by an erasure before */
} s_erasure_t;

static int s_put_erasure(MDB_txn *txn, void *arg)
{
    s_erasure_t *e = arg;
    evs_vault_t *self = e->self;
    uint8_t tomb[S_TOMB_MAX];
    size_t reason_len = strlen(e->reason);
    memcpy(tomb, &e->at_us, 8);
    memcpy(tomb + 8, e->reason, reason_len);
    bool deleted = false;
    for (size_t i = 0; i < e->n; i++) {
        MDB_val k = s_val(e->subjects[i]), v = {8 + reason_len, tomb};
        int rc = mdb_del(txn, self->keys, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        deleted |= rc == 0;
        /* erased before: its first tombstone stays */
        rc = mdb_put(txn, self->erased, &k, &v, MDB_NOOVERWRITE);
        if (rc && rc != MDB_KEYEXIST)
            return rc;
    }
    MDB_val key = EVSI_KEY("compact"), val = {1, "1"};
    e->due = true;
    if (deleted)
        return mdb_put(txn, self->meta, &key, &val, 0);
    int rc = mdb_get(txn, self->meta, &key, &val);
    e->due = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_clear_compact(MDB_txn *txn, void *arg)
{
    evs_vault_t *self = arg;
    MDB_val key = EVSI_KEY("compact");
    int rc = mdb_del(txn, self->meta, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* LMDB's compacting copy of the open store into the new folder @p tmp, durable there. */
static int s_copy_into(MDB_env *env, const char *tmp)
{
    int rc = evsi_env_copy(env, tmp);
    return rc ? rc : evsi_fsync(tmp, true);
}

/* Rewrites the store with LMDB's compacting copy and swaps the copy in (evs_vault.h). */
static int s_rewrite(evs_vault_t *self)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s" S_SWAP "XXXXXX", self->dir) >= (int) sizeof tmp)
        return -ENAMETOOLONG;
    if (!mkdtemp(tmp))
        return -errno;
    int rc = s_copy_into(self->env, tmp);
    if (rc) {
        evsi_remove(tmp, s_files, sizeof s_files / sizeof s_files[0]);
        return rc;
    }
    /* LMDB's files are opened by name: the environment closed while they change */
    mdb_env_close(self->env);
    self->env = NULL;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, self->dir, RENAME_EXCHANGE) != 0)
        rc = -errno;
    else
        rc = evsi_fsync(self->parent, true);
    /* after the swap the old files, else the copy */
    evsi_remove(tmp, s_files, sizeof s_files / sizeof s_files[0]);
    int rc2 = evsi_fsync(self->parent, true);
    rc = rc ? rc : rc2;
    if ((rc2 = s_env_open(self)) != 0) {
        self->broken = rc2;
        return rc2;
    }
    return rc ? rc : evsi_rc(s_write(self, s_clear_compact, self));
}

int evs_vault_erase(evs_vault_t *self, const char *const *subjects, size_t n, const char *reason,
                    int64_t at_us)
{
    assert(self);
    assert(subjects || n == 0);
    if (!reason)
        reason = "";
    if (!s_ascii_ok(reason, 0, EVS_VAULT_REASON_MAX))
        return EVS_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!s_subject_ok(subjects[i]))
            return EVS_INVALID;
    if (self->read_only)
        return EVS_RDONLY_ERR;
    if (n == 0)
        return 0;
    s_erasure_t e = {self, subjects, n, reason, at_us, true};
    int rc = s_write(self, s_put_erasure, &e);
    if (rc)
        return evsi_rc(rc);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s_pending_drop(self, subjects[i]);
    if (rc == 0 && e.due && !evsi_vault_no_rewrite)
        rc = s_rewrite(self);
    return rc;
}

//  --------------------------------------------------------------------------
//  Reading through

/* One record of the merge in evs_vault_each(): @p tomb NULL for a key. */
static int s_each_one(const MDB_val *k, const MDB_val *tomb, evs_vault_each_fn *fn, void *arg)
{
    char subject[EVS_VAULT_SUBJECT_MAX + 1], reason[EVS_VAULT_REASON_MAX + 1] = "";
    int64_t at = 0;
    if (k->mv_size < 1 || k->mv_size > EVS_VAULT_SUBJECT_MAX)
        return EVS_CORRUPT;
    memcpy(subject, k->mv_data, k->mv_size);
    subject[k->mv_size] = '\0';
    if (tomb) {
        if (tomb->mv_size < 8 || tomb->mv_size > S_TOMB_MAX)
            return EVS_CORRUPT;
        memcpy(&at, tomb->mv_data, 8);
        memcpy(reason, (const char *) tomb->mv_data + 8, tomb->mv_size - 8);
        reason[tomb->mv_size - 8] = '\0';
    }
    return fn(subject, tomb != NULL, at, reason, arg);
}

int evs_vault_each(evs_vault_t *self, evs_vault_each_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    MDB_txn *txn;
    MDB_cursor *kc = NULL, *ec = NULL;
    int rc = s_txn_begin(self, MDB_RDONLY, &txn);
    if (rc)
        return evsi_rc(rc);
    if ((rc = mdb_cursor_open(txn, self->keys, &kc)) == 0)
        rc = mdb_cursor_open(txn, self->erased, &ec);
    MDB_val ka, va, kb, vb;
    int ra = rc ? rc : mdb_cursor_get(kc, &ka, &va, MDB_FIRST);
    int rb = rc ? rc : mdb_cursor_get(ec, &kb, &vb, MDB_FIRST);
    int stop = 0; /* fn's value, or EVS_CORRUPT */
    while (stop == 0 && (ra == 0 || rb == 0)) {
        /* a subject in both (never written so) reads as erased */
        int cmp = ra ? 1 : rb ? -1 : mdb_cmp(txn, self->keys, &ka, &kb);
        stop = cmp < 0 ? s_each_one(&ka, NULL, fn, arg) : s_each_one(&kb, &vb, fn, arg);
        if (stop == 0 && cmp <= 0)
            ra = mdb_cursor_get(kc, &ka, &va, MDB_NEXT);
        if (stop == 0 && cmp >= 0)
            rb = mdb_cursor_get(ec, &kb, &vb, MDB_NEXT);
    }
    if (stop == 0)
        rc = ra != MDB_NOTFOUND ? ra : rb != MDB_NOTFOUND ? rb : 0;
    mdb_cursor_close(kc);
    mdb_cursor_close(ec);
    mdb_txn_abort(txn);
    return stop ? stop : evsi_rc(rc);
}

void evs_vault_counts(evs_vault_t *self, uint64_t *keys, uint64_t *erased)
{
    assert(self);
    *keys = *erased = 0;
    MDB_txn *txn;
    MDB_stat ks, es;
    if (s_txn_begin(self, MDB_RDONLY, &txn) != 0)
        return;
    if (mdb_stat(txn, self->keys, &ks) == 0 && mdb_stat(txn, self->erased, &es) == 0) {
        *keys = ks.ms_entries;
        *erased = es.ms_entries;
    }
    mdb_txn_abort(txn);
}

//  --------------------------------------------------------------------------
//  Copies for backups

static int s_count(const char *subject, bool erased, int64_t erased_at_us, const char *reason,
                   void *arg)
{
    *(uint64_t *) arg += !erased;
    return 0;
}

int evs_vault_copy(const char *dir, const char *dest, uint64_t *keys)
{
    if (keys)
        *keys = 0;
    if (evsi_exists(dest))
        return -EEXIST;
    evs_vault_t *src = NULL, *copy = NULL;
    int rc = evs_vault_open(dir, true, &src);
    if (rc)
        return rc;
    if (mkdir(dest, 0700) != 0) {
        evs_vault_close(&src);
        return -errno;
    }
    rc = chmod(dest, 0700) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = evsi_env_copy(src->env, dest);
    evs_vault_close(&src);
    uint64_t n = 0;
    if (rc == 0 && (rc = evs_vault_open(dest, true, &copy)) == 0)
        rc = evs_vault_each(copy, s_count, &n);
    evs_vault_close(&copy);
    /* the reader table the check made: a copy holds the store alone */
    char locks[PATH_MAX];
    if (rc == 0 && evsi_path(locks, dest, s_files[1]) == 0 && unlink(locks) != 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0)
        rc = evsi_fsync(dest, true);
    if (rc) {
        evsi_remove(dest, s_files, sizeof s_files / sizeof s_files[0]);
        return rc;
    }
    if (keys)
        *keys = n;
    return 0;
}
