/* tpctl_export.c: `tpctl log export DIR`: a service's streams on the JetStream cluster of
 * the config back into a new data folder (store = lmdb): the log, the key store, the secret.
 *
 * The groups are read into a new log, each applied with evs_group_apply() (the chain, the
 * versions and the request ids checked as a standby checks them) without its "$stream"
 * checkpoint (the folder is an embedded log, not a local copy of the stream); then the keys
 * (read after the groups: a key is stored before the events sealed with it, so every key
 * the exported groups need is there) and the secret. Erased subjects are erased in the new
 * key store; their reason and time are not in the cluster's key stream and read "erased in
 * the cluster" and the time of the export. A failed export leaves the folder as it found
 * it: missing or empty. */
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "evs.h"
#include "evs_group.h"
#include "evs_js.h"
#include "evs_js_vault.h"
#include "evs_vault.h"
#include "svc_lock.h"
#include "tpctl.h"

#define S_KEYS_COMMIT  4096 /* keys committed into a key store at a time */
#define S_APPLY_GROUPS 64   /* groups applied into one commit of an export */

/* ------------------------------------------------------------------ export: groups */

typedef struct {
    evs_t *store;
    evs_batch_t *batch; /* the open batch the groups are applied into */
    size_t pending;     /* groups applied into it */
    evs_group_t *group; /* a group as read, without its "$stream" checkpoint */
    uint64_t at;        /* that checkpoint (0: none) */
    tpctl_moved_t *m;
    int rc;
} s_export_t;

static int s_rebuild_record(const evs_record_t *rec, void *arg)
{
    s_export_t *ex = arg;
    ex->m->records++;
    return evs_group_add_record(ex->group, rec->data, rec->len);
}

static int s_rebuild_request(const char *id, const uint8_t *result, size_t len, void *arg)
{
    s_export_t *ex = arg;
    ex->m->requests++;
    return evs_group_add_request(ex->group, id, result, len);
}

static int s_rebuild_checkpoint(const char *upstream, uint64_t seq, const uint8_t *hash, void *arg)
{
    s_export_t *ex = arg;
    if (streq(upstream, TPCTL_STREAM_CKPT)) {
        ex->at = seq;
        return 0;
    }
    ex->m->checkpoints++;
    return evs_group_add_checkpoint(ex->group, upstream, seq, hash);
}

static int s_commit(s_export_t *ex)
{
    int rc = ex->batch ? evs_batch_commit(ex->batch) : 0;
    if (rc != 0)
        fprintf(stderr, "tpctl: committing the groups up to %" PRIu64 ": %s\n", ex->m->groups,
                evs_strerror(rc));
    evs_batch_end(&ex->batch);
    ex->pending = 0;
    return rc;
}

static int s_export_group(const evs_js_group_t *g, void *arg)
{
    s_export_t *ex = arg;
    ex->at = 0;
    int rc = evs_group_each(g->body, g->len, s_rebuild_record, s_rebuild_request,
                            s_rebuild_checkpoint, ex);
    if (rc != 0) {
        fprintf(stderr, "tpctl: stream group %" PRIu64 " (by %s) does not decode: %s\n", g->seq,
                g->writer,
                rc == EVS_CORRUPT || rc == EVS_MISMATCH ? evs_group_error() : evs_strerror(rc));
        return ex->rc = rc;
    }
    if (ex->at != g->seq) {
        /* the runtime's groups and an import's say where they belong */
        fprintf(stderr,
                "tpctl: stream group %" PRIu64 " (by %s) carries the %s %" PRIu64
                ": not a group of this stream as the runtime writes it\n",
                g->seq, g->writer, TPCTL_STREAM_CKPT " checkpoint", ex->at);
        return ex->rc = EVS_CORRUPT;
    }
    uint8_t *body = NULL;
    size_t len = 0;
    if ((rc = evs_group_take(ex->group, &body, &len)) == 0 && !ex->batch)
        rc = evs_batch_begin(ex->store, &ex->batch);
    if (rc == 0 && (rc = evs_group_apply(ex->batch, body, len, NULL, NULL)) != 0)
        fprintf(stderr,
                "tpctl: stream group %" PRIu64 " (by %s) does not continue the log: "
                "%s\n",
                g->seq, g->writer, rc == EVS_CORRUPT ? evs_group_error() : evs_strerror(rc));
    else if (rc != 0)
        fprintf(stderr, "tpctl: stream group %" PRIu64 ": %s\n", g->seq, evs_strerror(rc));
    free(body);
    if (rc == 0) {
        ex->m->groups++;
        if (++ex->pending >= S_APPLY_GROUPS)
            rc = s_commit(ex);
    }
    return ex->rc = rc;
}

/* The stream's groups 1..@p last into the new log @p store, verified. */
static int s_export_log(evs_t *store, evs_js_log_t *log, uint64_t last, tpctl_moved_t *m)
{
    s_export_t ex = {store, NULL, 0, evs_group_new(), 0, m, 0};
    if (!ex.group)
        return -ENOMEM;
    int rc = last ? evs_js_read(log, 1, last, s_export_group, &ex) : 0;
    if (rc != 0 && rc != ex.rc)
        fprintf(stderr, "tpctl: reading %s: %s (%s)\n", evs_js_log_stream(log), evs_js_strerror(rc),
                evs_js_error());
    if (rc == 0)
        rc = s_commit(&ex);
    evs_batch_end(&ex.batch);
    evs_group_destroy(&ex.group);
    evs_verify_t rep;
    if (rc == 0 && (rc = evs_verify(store, &rep)) != 0)
        fprintf(stderr, "tpctl: the exported log does not verify at %" PRIu64 ": %s\n", rep.bad_seq,
                rc == EVS_CORRUPT ? rep.reason : evs_strerror(rc));
    evs_stat_t st;
    if (rc == 0 && (rc = evs_stat(store, &st)) == 0) {
        m->head_seq = st.head_seq;
        memcpy(m->head_hash, st.head_hash, EVS_HASH_SIZE);
    }
    return rc;
}

/* ------------------------------------------------------------------ export: keys */

typedef struct {
    const char *dir;       /* the new data folder */
    const char *secret_of; /* the secret's subject, "secret:<name>" */
    evs_vault_t *vault;    /* its key store, opened at the first subject */
    zlist_t *erased;       /* erased subjects */
    size_t pending;        /* keys put and not committed */
    uint8_t secret[SVC_SECRET_SIZE];
    bool has_secret;
    tpctl_moved_t *m;
    int rc;
} s_keys_t;

static int s_export_key(const char *subject, const uint8_t *key, void *arg)
{
    s_keys_t *k = arg;
    if (streq(subject, k->secret_of)) {
        if (key)
            memcpy(k->secret, key, SVC_SECRET_SIZE);
        k->has_secret = key != NULL;
        return 0;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" EVS_VAULT_DIR, k->dir);
    int rc = k->vault ? 0 : evs_vault_open(path, false, &k->vault);
    if (rc != 0) {
        fprintf(stderr, "tpctl: the key store in %s: %s\n", path, evs_strerror(rc));
        return k->rc = rc;
    }
    if (!key) {
        char *copy = strdup(subject);
        if (!copy || zlist_append(k->erased, copy) != 0) {
            free(copy);
            return k->rc = -ENOMEM;
        }
        return 0;
    }
    if ((rc = evs_vault_put(k->vault, subject, key)) != 0)
        fprintf(stderr, "tpctl: the key of %s: %s\n", subject, evs_strerror(rc));
    else if (++k->pending >= S_KEYS_COMMIT && (rc = evs_vault_commit(k->vault)) != 0)
        fprintf(stderr, "tpctl: committing keys: %s\n", evs_strerror(rc));
    else
        k->m->keys++;
    if (rc == 0 && k->pending >= S_KEYS_COMMIT)
        k->pending = 0;
    return k->rc = rc;
}

/* The keys and the secret of the key stream into the new folder @p dir. */
static int s_export_keys(const char *dir, const char *name, evs_js_vault_t *kv, tpctl_moved_t *m)
{
    char subject[EVS_JS_MAX_NAME + 16];
    snprintf(subject, sizeof subject, "secret:%s", name);
    s_keys_t k = {dir, subject, NULL, zlist_new(), 0, {0}, false, m, 0};
    if (!k.erased)
        return -ENOMEM;
    zlist_autofree(k.erased);
    int rc = evs_js_vault_each(kv, s_export_key, &k);
    if (rc != 0 && rc != k.rc)
        fprintf(stderr, "tpctl: reading %s: %s (%s)\n", evs_js_vault_stream(kv),
                evs_js_strerror(rc), evs_js_error());
    if (rc == 0 && k.vault && (rc = evs_vault_commit(k.vault)) != 0)
        fprintf(stderr, "tpctl: committing keys: %s\n", evs_strerror(rc));
    size_t n = zlist_size(k.erased);
    const char **erased = n ? calloc(n, sizeof *erased) : NULL;
    if (rc == 0 && n && !erased)
        rc = -ENOMEM;
    if (rc == 0 && n) {
        size_t i = 0;
        for (char *s = zlist_first(k.erased); s; s = zlist_next(k.erased))
            erased[i++] = s;
        rc = evs_vault_erase(k.vault, erased, n, "erased in the cluster", zclock_time() * 1000);
        if (rc != 0)
            fprintf(stderr, "tpctl: erasing %zu subjects: %s\n", n, evs_strerror(rc));
        else
            m->erased = n;
    }
    free(erased);
    zlist_destroy(&k.erased);
    evs_vault_close(&k.vault);
    if (rc == 0 && k.has_secret) {
        /* a new file in a new folder: written whole, or the folder goes */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/secret.key", dir);
        errno = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
                  write(fd, k.secret, SVC_SECRET_SIZE) == SVC_SECRET_SIZE && fsync(fd) == 0;
        rc = ok ? 0 : errno ? -errno : -EIO; /* a short write sets no errno */
        if (fd >= 0)
            close(fd);
        if (!ok)
            fprintf(stderr, "tpctl: %s: %s\n", path, strerror(-rc));
        m->secret = ok;
    }
    else if (rc == 0)
        fprintf(stderr,
                "tpctl: the cluster keeps no secret of %s: the service makes a new "
                "one at start\n",
                name);
    sodium_memzero(k.secret, sizeof k.secret);
    return rc;
}

/* ------------------------------------------------------------------ export */

/* Removes what an export put in its folder (all of it: the folder was new or empty). */
static bool s_rm_root;
static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    if (ftw->level == 0 && !s_rm_root)
        return 0;
    if (flag == FTW_DP ? rmdir(path) : unlink(path))
        fprintf(stderr, "tpctl: %s: %s\n", path, strerror(errno));
    return 0;
}

/* 0 when @p dir is missing (*made) or an empty folder; else said on stderr. */
static int s_new_dir(const char *dir, bool *made)
{
    struct stat sb;
    *made = stat(dir, &sb) != 0;
    if (*made && errno != ENOENT) {
        fprintf(stderr, "tpctl: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (*made)
        return 0;
    DIR *d = S_ISDIR(sb.st_mode) ? opendir(dir) : NULL;
    struct dirent *e;
    bool empty = d != NULL;
    while (empty && (e = readdir(d)))
        empty = streq(e->d_name, ".") || streq(e->d_name, "..");
    if (d)
        closedir(d);
    if (!empty)
        fprintf(stderr, "tpctl: %s exists and is not an empty folder: nothing exported\n", dir);
    return empty ? 0 : -1;
}

int tpctl_log_export(const char *dir, const char *name, const char *service,
                     const char *config_path)
{
    /* the stream's name: by default the folder's, as a data folder is named by its service */
    char base[EVS_JS_MAX_NAME + 1] = "";
    if (!name) {
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        size_t b = n;
        while (b > 0 && dir[b - 1] != '/')
            b--;
        if (n - b > EVS_JS_MAX_NAME) {
            fprintf(stderr, "tpctl: %s is no service's name: give --name\n", dir + b);
            return 2;
        }
        snprintf(base, sizeof base, "%.*s", (int) (n - b), dir + b);
        name = base;
    }
    service = service ? service : name;
    bool made = false;
    if (s_new_dir(dir, &made) != 0)
        return 1;
    evs_js_t *js = NULL;
    evs_js_log_t *log = NULL;
    evs_js_vault_t *kv = NULL;
    evs_js_info_t info = {0};
    int rc = tpctl_js_connect(config_path, name, &js);
    if (rc == 0) {
        rc = evs_js_log_open(js, name, 0, &log);
        if (rc == 0)
            rc = evs_js_log_info(log, &info);
        if (rc == 0 && (rc = evs_js_vault_open(js, name, 0, &kv)) == EVS_NOTFOUND) {
            fprintf(stderr, "tpctl: %s has no key stream: no keys, and no secret\n", name);
            rc = 0;
        }
        if (rc != 0)
            fprintf(stderr, "tpctl: the streams of %s: %s (%s)\n", name, evs_js_strerror(rc),
                    evs_js_error());
    }
    char why[1400];
    svc_lock_t *lock = NULL;
    if (rc == 0 && !(lock = svc_lock_dir(dir, why, sizeof why))) {
        fprintf(stderr, "tpctl: not exporting: %s\n", why);
        rc = -1;
    }
    evs_t *store = NULL;
    tpctl_moved_t m = {.service = service, .stream = log ? evs_js_log_stream(log) : ""};
    if (rc == 0) {
        evs_opts_t opts = {.service = service};
        if ((rc = evs_open(dir, &opts, &store)) != 0)
            fprintf(stderr, "tpctl: a log in %s: %s\n", dir, evs_strerror(rc));
    }
    /* the groups first, then the keys: a key is in the cluster before its events */
    if (rc == 0)
        rc = s_export_log(store, log, info.last_seq, &m);
    evs_destroy(&store);
    if (rc == 0 && kv)
        rc = s_export_keys(dir, name, kv, &m);
    if (rc == 0) {
        /* the folder's new entries (secret.key, vault/) on the disk too */
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            rc = -errno;
            fprintf(stderr, "tpctl: syncing %s: %s\n", dir, strerror(errno));
        }
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0)
        tpctl_moved_print(&m, "dir", dir);
    else if (lock) {
        s_rm_root = made;
        nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
        fprintf(stderr, "tpctl: nothing exported (%s %s)\n", dir, made ? "removed" : "emptied");
    }
    svc_lock_destroy(&lock);
    evs_js_vault_destroy(&kv);
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
    return rc == 0 ? 0 : 1;
}
