/* lmdb_raw.c: envelopes put into LMDB in groups, one durable commit per group. */
#include <czmq.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lmdb_raw.h"

#define S_MAP_SIZE ((size_t) 4 << 30) /* room for every round; the file grows as written */

struct _lr_t {
    MDB_env *env;   /* the environment, default flags */
    MDB_dbi events; /* "events": u64 seq -> envelope */
};

lr_t *lr_new(const char *dir)
{
    lr_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    MDB_txn *txn = NULL;
    int rc = mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : errno;
    if (rc == 0)
        rc = mdb_env_create(&self->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(self->env, S_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(self->env, 4);
    if (rc == 0)
        rc = mdb_env_open(self->env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "events", MDB_CREATE | MDB_INTEGERKEY, &self->events);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc == 0)
        return self;
    fprintf(stderr, "lmdb raw: cannot open %s: %s\n", dir, mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    lr_destroy(&self);
    return NULL;
}

void lr_destroy(lr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->env)
        mdb_env_close((*self_p)->env);
    free(*self_p);
    *self_p = NULL;
}

double lr_run(lr_t *self, const pe_set_t *set, size_t group)
{
    size_t n = pe_set_size(set);
    if (group < 1)
        group = 1;
    int64_t t0 = zclock_usecs();
    for (size_t first = 0; first < n; first += group) {
        MDB_txn *txn = NULL;
        int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
        for (size_t i = first; rc == 0 && i < n && i < first + group; i++) {
            const pe_event_t *ev = pe_set_at(set, i);
            MDB_val key = {sizeof ev->seq, (void *) &ev->seq};
            MDB_val val = {ev->envelope_len, (void *) ev->envelope};
            rc = mdb_put(txn, self->events, &key, &val, MDB_APPEND);
        }
        if (rc == 0)
            rc = mdb_txn_commit(txn); /* frees the txn, even on failure */
        else if (txn)
            mdb_txn_abort(txn);
        if (rc != 0) {
            fprintf(stderr, "lmdb raw: group at %zu: %s\n", first, mdb_strerror(rc));
            return -1;
        }
    }
    return (double) n * 1e6 / (double) (zclock_usecs() - t0);
}
