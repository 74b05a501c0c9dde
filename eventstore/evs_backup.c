/* evs_backup.c: hot, verified copies of a log with LMDB's own copy (see evs_backup.h). */
#include "evs_backup.h"
#include "evs_internal.h"
#include "evs_vault.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A secret.key this large is not a key (the services' are 32 bytes). */
#define S_SECRET_MAX 4096

/* The files a copy puts into its folder, the only ones removed when it fails (the key
 * store's folder with its files), and the ones a restore moves aside. */
static const char *const s_files[] = {EVS_BACKUP_LOG, EVS_BACKUP_LOCKS, EVS_BACKUP_SECRET,
                                      EVS_BACKUP_VAULT};
#define S_N_FILES (sizeof s_files / sizeof s_files[0])
/* LMDB's files in a key store's folder */
static const char *const s_vault_files[] = {EVS_BACKUP_LOG, EVS_BACKUP_LOCKS};

/* Says in report->reason what failed and why; returns @p rc. */
static int s_fail(evs_backup_t *report, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(evs_backup_t *report, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(report->reason, sizeof report->reason, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t) n < sizeof report->reason)
        snprintf(report->reason + n, sizeof report->reason - (size_t) n, ": %s", evs_strerror(rc));
    return rc;
}

/* Removes the temporary folder of a copy that did not finish: the files a copy makes,
 * then the folder (which stays when something else is in it). */
static void s_remove_tmp(const char *tmp)
{
    char vault[PATH_MAX];
    if (evsi_path(vault, tmp, EVS_BACKUP_VAULT) == 0)
        evsi_remove(vault, s_vault_files, 2);
    evsi_remove(tmp, s_files, S_N_FILES);
}

/* Copies the small file @p from to the new file @p to (0600, fsync'ed). */
static int s_copy_secret(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return -errno;
    uint8_t buf[S_SECRET_MAX];
    ssize_t n = read(in, buf, sizeof buf);
    int rc = n < 0 ? -errno : n == (ssize_t) sizeof buf ? -EFBIG : 0;
    close(in);
    int out = rc == 0 ? open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    if (rc == 0 && out < 0)
        rc = -errno;
    /* fchmod: the umask may allow less than 0600, never more */
    if (rc == 0 && fchmod(out, 0600) != 0)
        rc = -errno;
    ssize_t w = rc == 0 ? write(out, buf, (size_t) n) : n;
    if (w != n)
        rc = w < 0 ? -errno : -EIO;
    if (rc == 0 && fsync(out) != 0)
        rc = -errno;
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = -errno;
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* Opens the log in @p dir read-only and verifies it: head, events and service into
 * @p report. When @p copy_of is not NULL, @p dir is a copy of the log there, and the
 * messages say so. */
static int s_check(const char *dir, const char *copy_of, evs_backup_t *report)
{
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, copy_of ? "the copy of the log in %s" : "the log in %s",
             copy_of ? copy_of : dir);
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *evs = NULL;
    int rc = evs_open(dir, &ro, &evs);
    if (rc != 0)
        return s_fail(report, rc, "cannot open %s", what);
    evs_verify_t v;
    evs_stat_t st;
    rc = evs_verify(evs, &v);
    if (rc == EVS_CORRUPT)
        s_fail(report, rc, "%s is damaged at seq %" PRIu64 " (%s)", what, v.bad_seq, v.reason);
    else if (rc != 0)
        s_fail(report, rc, "cannot verify %s", what);
    else if ((rc = evs_stat(evs, &st)) != 0)
        s_fail(report, rc, "cannot read the head of %s", what);
    evs_destroy(&evs);
    if (rc != 0)
        return rc;
    report->head_seq = st.head_seq;
    memcpy(report->head_hash, st.head_hash, EVS_HASH_SIZE);
    report->events = v.checked;
    snprintf(report->service, sizeof report->service, "%s", st.service);
    return 0;
}

/* LMDB's compacting copy of the log in @p dir, written by LMDB into <tmp>/data.mdb. */
static int s_lmdb_copy(const char *dir, const char *tmp, evs_backup_t *report)
{
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 8);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc != 0) {
        mdb_env_close(env);
        return s_fail(report, evsi_rc(rc), "cannot open the log in %s", dir);
    }
    rc = evsi_env_copy(env, tmp);
    mdb_env_close(env);
    return rc == 0 ? 0 : s_fail(report, rc, "LMDB's copy of %s into %s (0600, fsync'ed)", dir, tmp);
}

/* A verified copy of @p dir's log (and secret.key) in the empty folder @p tmp, fsync'ed. */
static int s_copy_verified(const char *dir, const char *tmp, evs_backup_t *report)
{
    char log[PATH_MAX], locks[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    int rc = evsi_path(log, tmp, EVS_BACKUP_LOG);
    if (rc == 0)
        rc = evsi_path(locks, tmp, EVS_BACKUP_LOCKS);
    if (rc == 0)
        rc = evsi_path(from, dir, EVS_BACKUP_SECRET);
    if (rc == 0)
        rc = evsi_path(to, tmp, EVS_BACKUP_SECRET);
    if (rc != 0)
        return s_fail(report, rc, "%s", tmp);
    if ((rc = s_lmdb_copy(dir, tmp, report)) != 0)
        return rc;
    rc = s_copy_secret(from, to);
    if (rc != 0 && rc != -ENOENT)
        return s_fail(report, rc, "cannot copy %s to %s", from, to);
    report->secret = rc == 0;
    if ((rc = s_check(tmp, dir, report)) != 0)
        return rc;
    /* the key store after the log: keys are committed before the events sealed with them,
     * so the copy holds every key the copied log needs */
    char vault[PATH_MAX], store[PATH_MAX];
    if ((rc = evsi_path(vault, dir, EVS_BACKUP_VAULT)) != 0 ||
        (rc = evsi_path(store, vault, EVS_BACKUP_LOG)) != 0 ||
        (rc = evsi_path(to, tmp, EVS_BACKUP_VAULT)) != 0)
        return s_fail(report, rc, "%s", dir);
    /* a folder without data.mdb holds no key */
    report->vault = evsi_exists(store);
    if (report->vault && (rc = evs_vault_copy(vault, to, &report->vault_keys)) != 0)
        return s_fail(report, rc, "cannot copy the key store %s to %s", vault, to);
    /* the reader table the check's evs_open() made: a copy holds the log and the key */
    if (unlink(locks) != 0 && errno != ENOENT)
        return s_fail(report, -errno, "cannot remove %s", locks);
    struct stat st;
    if (stat(log, &st) != 0)
        return s_fail(report, -errno, "cannot stat %s", log);
    report->bytes = (uint64_t) st.st_size;
    if ((rc = evsi_fsync(tmp, true)) != 0)
        return s_fail(report, rc, "cannot fsync %s", tmp);
    return 0;
}

int evs_backup(const char *dir, const char *dest, evs_backup_t *report)
{
    memset(report, 0, sizeof *report);
    char target[PATH_MAX], parent[PATH_MAX], tmp[PATH_MAX], log[PATH_MAX];
    if (evsi_split(dest, target, parent) != 0 || evsi_path(log, dir, EVS_BACKUP_LOG) != 0 ||
        snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", target) >= (int) sizeof tmp)
        return s_fail(report, -ENAMETOOLONG, "%s", dest);
    if (evsi_exists(target))
        return s_fail(report, -EEXIST, "%s (a backup never replaces anything)", target);
    if (!evsi_exists(log))
        return s_fail(report, -ENOENT, "no log in %s", dir);
    if (!mkdtemp(tmp))
        return s_fail(report, -errno, "cannot make a folder beside %s", target);
    int rc = s_copy_verified(dir, tmp, report);
    if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) != 0) {
        /* a file system without RENAME_NOREPLACE: rename() would replace an empty folder
         * made meanwhile, so look once more first */
        if ((errno == EINVAL || errno == ENOSYS) && !evsi_exists(target) &&
            rename(tmp, target) == 0)
            errno = 0;
        if (errno != 0)
            rc = s_fail(report, -errno, "cannot rename %s to %s", tmp, target);
    }
    if (rc != 0) {
        s_remove_tmp(tmp);
        return rc;
    }
    if ((rc = evsi_fsync(parent, true)) != 0)
        return s_fail(report, rc, "cannot fsync %s", parent);
    return 0;
}

/* Moves what a log leaves in @p dir (of s_files) into the new folder @p aside. */
static int s_move_aside(const char *dir, const char *aside, evs_backup_t *report)
{
    char target[PATH_MAX], parent[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    int rc = evsi_split(aside, target, parent);
    if (rc != 0)
        return s_fail(report, rc, "%s", aside);
    if (mkdir(target, 0700) != 0)
        return s_fail(report, -errno, "cannot make %s", target);
    for (size_t i = 0; i < S_N_FILES; i++) {
        if ((rc = evsi_path(from, dir, s_files[i])) != 0 ||
            (rc = evsi_path(to, target, s_files[i])))
            return s_fail(report, rc, "%s", dir);
        if (evsi_exists(from) && rename(from, to) != 0)
            return s_fail(report, -errno, "cannot move %s to %s", from, to);
    }
    if ((rc = evsi_fsync(target, true)) != 0 || (rc = evsi_fsync(parent, true)) != 0)
        return s_fail(report, rc, "cannot fsync %s", rc ? parent : target);
    return 0;
}

int evs_restore(const char *src, const char *dir, const char *aside, evs_backup_t *report)
{
    memset(report, 0, sizeof *report);
    int rc = s_check(src, NULL, report);
    if (rc != 0)
        return rc;
    char service[sizeof report->service], path[PATH_MAX], tmp[PATH_MAX];
    snprintf(service, sizeof service, "%s", report->service);
    bool present = false;
    for (size_t i = 0; i < S_N_FILES; i++)
        present |= evsi_path(path, dir, s_files[i]) == 0 && evsi_exists(path);
    if (present && !aside)
        return s_fail(report, -EEXIST, "%s holds a log already (or its key, or a key store)", dir);
    if (present && evsi_exists(aside))
        return s_fail(report, -EEXIST, "%s", aside);
    if (present && evsi_path(path, dir, EVS_BACKUP_LOG) == 0 && evsi_exists(path)) {
        /* another service's log in its place is a mistake, not a restore */
        evs_backup_t old = {0};
        if (s_check(dir, NULL, &old) == 0 && old.service[0] && service[0] &&
            strcmp(old.service, service) != 0)
            return s_fail(report, EVS_MISMATCH, "the log in %s is %s's, the one in %s %s's", dir,
                          old.service, src, service);
    }
    if ((rc = evsi_path(tmp, dir, ".restore-XXXXXX")) != 0)
        return s_fail(report, rc, "%s", dir);
    if (!mkdtemp(tmp))
        return s_fail(report, -errno, "cannot make a folder in %s", dir);
    rc = s_copy_verified(src, tmp, report);
    if (rc == 0 && present)
        rc = s_move_aside(dir, aside, report);
    /* the keys first: a folder with data.mdb is a finished restore */
    static const char *const in[] = {EVS_BACKUP_SECRET, EVS_BACKUP_VAULT, EVS_BACKUP_LOG};
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        char from[PATH_MAX];
        if ((rc = evsi_path(from, tmp, in[i])) != 0 || (rc = evsi_path(path, dir, in[i])) != 0)
            s_fail(report, rc, "%s", dir);
        else if (evsi_exists(from) && rename(from, path) != 0)
            rc = s_fail(report, -errno, "cannot move %s to %s", from, path);
    }
    s_remove_tmp(tmp);
    if (rc == 0 && (rc = evsi_fsync(dir, true)) != 0)
        s_fail(report, rc, "cannot fsync %s", dir);
    return rc == 0 ? s_check(dir, NULL, report) : rc;
}

/* ------------------------------------------------------------------ self-test */

#include <poll.h>
#include "evs_check.h"
#include <sys/wait.h>
#include <time.h>

#define S_CHECK(cond) EVS_CHECK("evs_backup_test", cond)
#define S_CHECK_RC(expr, want) EVS_CHECK_RC("evs_backup_test", expr, want)

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The head of the log in @p dir (read-only, then closed); UINT64_MAX when unreadable. */
static uint64_t s_head(const char *dir)
{
    evs_opts_t ro = {.flags = EVS_RDONLY};
    evs_t *evs = NULL;
    uint64_t seq = UINT64_MAX;
    if (evs_open(dir, &ro, &evs) != 0 || evs_head(evs, &seq, NULL) != 0)
        seq = UINT64_MAX;
    evs_destroy(&evs);
    return seq;
}

/* Appends @p n events (of 200 bytes) in one batch. */
static int s_append(evs_t *evs, int n)
{
    static uint8_t payload[200];
    evs_event_t ev[32];
    static const char *const streams[] = {"s-0", "s-1", "s-2", "s-3", "s-4", "s-5", "s-6"};
    for (int i = 0; i < n && i < 32; i++)
        ev[i] = (evs_event_t){.stream_id = streams[i % 7],
                              .event_type = "Filled",
                              .payload = payload,
                              .payload_len = sizeof payload};
    evs_batch_t *b = NULL;
    int rc = evs_batch_begin(evs, &b);
    if (rc == 0)
        rc =
            evs_batch_append(b, ev, (size_t) (n < 32 ? n : 32), NULL, 0, NULL, NULL, 0, NULL, NULL);
    if (rc == 0)
        rc = evs_batch_commit(b);
    evs_batch_end(&b);
    return rc;
}

/* The key of batch @p n's subject ("batch-N"), committed in @p vault. */
static int s_batch_key(evs_vault_t *vault, uint64_t n, uint8_t key[EVS_VAULT_KEY_SIZE])
{
    char subject[32];
    snprintf(subject, sizeof subject, "batch-%06" PRIu64, n);
    return evs_vault_get(vault, subject, key, NULL);
}

/* A new log of @p service in @p dir with @p n events. */
static int s_new_log(const char *dir, const char *service, int n)
{
    evs_opts_t opts = {.flags = EVS_NOSYNC, .service = service};
    evs_t *evs = NULL;
    int rc = evs_open(dir, &opts, &evs);
    if (rc == 0)
        rc = s_append(evs, n);
    evs_destroy(&evs);
    return rc;
}

/* The writer beside the backups, in a process of its own as a service is beside tpctl
 * (one environment per log and process): commits batches of 20 events into @p dir, each
 * after the key of its subject ("batch-N", N from 1) in the key store <dir>/vault, as a
 * service commits keys before the events sealed with them; says so on @p ready once the
 * log holds 2,000, and stops when a byte comes on @p stop (or after 60 s). */
static void s_writer(const char *dir, int ready, int stop)
{
    evs_opts_t opts = {.flags = EVS_NOSYNC, .service = "backup"};
    evs_t *evs = NULL;
    evs_vault_t *vault = NULL;
    char path[PATH_MAX], subject[32];
    uint8_t key[EVS_VAULT_KEY_SIZE];
    if (evs_open(dir, &opts, &evs) != 0 || evsi_path(path, dir, EVS_VAULT_DIR) != 0 ||
        evs_vault_open(path, false, &vault) != 0)
        _exit(1);
    bool told = false;
    for (int64_t end = s_now_ms() + 60000, n = 1; s_now_ms() < end; n++) {
        uint64_t head = 0;
        snprintf(subject, sizeof subject, "batch-%06" PRId64, n);
        if (evs_vault_get_or_create(vault, subject, key) != 0 || evs_vault_commit(vault) != 0 ||
            s_append(evs, 20) != 0 || evs_head(evs, &head, NULL) != 0)
            _exit(1);
        if (!told && head >= 2000)
            told = write(ready, "r", 1) == 1;
        struct pollfd p = {stop, POLLIN, 0};
        if (told && poll(&p, 1, 0) > 0)
            break;
    }
    evs_vault_close(&vault);
    evs_destroy(&evs);
    _exit(0);
}

/* Whether the key store of the data folder (or backup) @p dir has the key of every batch
 * in a log of @p head events (s_writer()), and no more than @p most keys. */
static bool s_keys_cover(const char *dir, uint64_t head, uint64_t most)
{
    char path[PATH_MAX];
    evs_vault_t *vault = NULL;
    uint8_t key[EVS_VAULT_KEY_SIZE];
    uint64_t keys = 0, erased = 0;
    bool all = evsi_path(path, dir, EVS_VAULT_DIR) == 0 && evs_vault_open(path, true, &vault) == 0;
    for (uint64_t n = 1; all && n <= head / 20; n++)
        all = s_batch_key(vault, n, key) == 0;
    if (vault)
        evs_vault_counts(vault, &keys, &erased);
    evs_vault_close(&vault);
    return all && keys >= head / 20 && keys <= most && erased == 0;
}

/* The keys in the key store of @p dir (0 when it has none). */
static uint64_t s_vault_keys(const char *dir)
{
    char path[PATH_MAX];
    evs_vault_t *vault = NULL;
    uint64_t keys = 0, erased = 0;
    if (evsi_path(path, dir, EVS_VAULT_DIR) == 0 && evs_vault_open(path, true, &vault) == 0)
        evs_vault_counts(vault, &keys, &erased);
    evs_vault_close(&vault);
    return keys;
}

/* Whether batch @p n's key in the key store of @p dir is the one the writer made (in
 * <base>/log). */
static bool s_same_key(const char *dir, const char *base, uint64_t n)
{
    char path[PATH_MAX];
    evs_vault_t *vault = NULL;
    uint8_t a[EVS_VAULT_KEY_SIZE], b[EVS_VAULT_KEY_SIZE];
    bool same = evsi_path(path, base, "log/" EVS_VAULT_DIR) == 0 &&
                evs_vault_open(path, true, &vault) == 0 && s_batch_key(vault, n, a) == 0;
    evs_vault_close(&vault);
    same = same && evsi_path(path, dir, EVS_VAULT_DIR) == 0 &&
           evs_vault_open(path, true, &vault) == 0 && s_batch_key(vault, n, b) == 0 &&
           memcmp(a, b, sizeof a) == 0;
    evs_vault_close(&vault);
    return same;
}

/* Flips a byte of record @p seq of the closed log in @p dir, with LMDB alone. */
static int s_damage(const char *dir, uint64_t seq)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val key = {sizeof seq, &seq}, val;
    int rc = mdb_env_create(&env);
    if (rc == 0 && (rc = mdb_env_set_maxdbs(env, 8)) == 0 &&
        (rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0 &&
        (rc = mdb_dbi_open(txn, "events", MDB_INTEGERKEY, &dbi)) == 0 &&
        (rc = mdb_get(txn, dbi, &key, &val)) == 0) {
        uint8_t copy[1024];
        size_t n = val.mv_size < sizeof copy ? val.mv_size : sizeof copy;
        memcpy(copy, val.mv_data, n);
        copy[n / 2] ^= 0x01;
        MDB_val changed = {n, copy};
        if ((rc = mdb_put(txn, dbi, &key, &changed, 0)) == 0) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

/* True when the files @p a and @p b hold the same bytes (small files). */
static bool s_same(const char *a, const char *b)
{
    char x[64], y[64];
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    size_t na = fa ? fread(x, 1, sizeof x, fa) : 0, nb = fb ? fread(y, 1, sizeof y, fb) : 0;
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return fa && fb && na == nb && memcmp(x, y, na) == 0;
}

/* Backups while another process commits; what a backup holds; refusals. */
static int s_test_hot(const char *base, bool verbose)
{
    char src[PATH_MAX], b1[PATH_MAX], b2[PATH_MAX], path[PATH_MAX], other[PATH_MAX];
    evsi_path(src, base, "log");
    evsi_path(b1, base, "b1");
    evsi_path(b2, base, "b2");
    int ready[2] = {-1, -1}, stop[2] = {-1, -1};
    pid_t pid = -1;
    char ch;
    evs_backup_t rep1, rep2, rep;
    /* the folder as a service leaves it: its key and its lock file beside the log */
    S_CHECK(mkdir(src, 0700) == 0);
    evsi_path(path, src, "secret.key");
    FILE *f = fopen(path, "wb");
    S_CHECK(f && fwrite("0123456789abcdef0123456789abcdef", 1, 32, f) == 32 && fclose(f) == 0);
    S_CHECK(chmod(path, 0600) == 0);
    evsi_path(path, src, "service.lock");
    f = fopen(path, "w");
    S_CHECK(f && fclose(f) == 0);

    S_CHECK(pipe(ready) == 0 && pipe(stop) == 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    S_CHECK(pid >= 0);
    if (pid == 0)
        s_writer(src, ready[1], stop[0]);
    S_CHECK(read(ready[0], &ch, 1) == 1);

    /* the copy is the log of one commit between the heads before and after it */
    uint64_t before = s_head(src);
    S_CHECK_RC(evs_backup(src, b1, &rep1), 0);
    uint64_t after = s_head(src);
    if (verbose)
        printf("   backup of a log being written: heads %" PRIu64 " <= %" PRIu64 " <= %" PRIu64
               ", %" PRIu64 " bytes\n",
               before, rep1.head_seq, after, rep1.bytes);
    S_CHECK(before != UINT64_MAX && before >= 2000 && after != UINT64_MAX);
    S_CHECK(before <= rep1.head_seq && rep1.head_seq <= after);
    S_CHECK(rep1.events == rep1.head_seq && rep1.head_seq % 20 == 0);
    S_CHECK(rep1.secret && rep1.bytes > 0 && strcmp(rep1.service, "backup") == 0);
    /* the key store, copied after the log: a key for every batch in the copied log */
    if (verbose)
        printf("   its key store: %" PRIu64 " keys, %" PRIu64 " needed by its log\n",
               rep1.vault_keys, rep1.head_seq / 20);
    S_CHECK(rep1.vault && rep1.vault_keys >= rep1.head_seq / 20);
    evsi_path(path, b1, "vault/lock.mdb");
    S_CHECK(!evsi_exists(path));
    evsi_path(path, b1, "vault/data.mdb");
    S_CHECK(evs_check_mode(path, 0600));
    evsi_path(path, b1, "vault");
    S_CHECK(evs_check_mode(path, 0700));
    S_CHECK(s_keys_cover(b1, rep1.head_seq, rep1.vault_keys));
    /* what it holds: the log and the key, 0600, in a folder of 0700; it verifies */
    evsi_path(path, b1, "data.mdb");
    S_CHECK(evs_check_mode(path, 0600));
    struct stat st;
    S_CHECK(stat(path, &st) == 0 && (uint64_t) st.st_size == rep1.bytes);
    evsi_path(path, b1, "secret.key");
    evsi_path(other, src, "secret.key");
    S_CHECK(evs_check_mode(path, 0600) && s_same(path, other));
    S_CHECK(evs_check_mode(b1, 0700));
    evsi_path(path, b1, "lock.mdb");
    S_CHECK(!evsi_exists(path));
    evsi_path(path, b1, "service.lock");
    S_CHECK(!evsi_exists(path));
    S_CHECK(s_head(b1) == rep1.head_seq);
    evs_backup_t check = {0};
    S_CHECK_RC(s_check(b1, NULL, &check), 0);
    S_CHECK(memcmp(check.head_hash, rep1.head_hash, EVS_HASH_SIZE) == 0);

    /* a later one has more */
    for (int64_t end = s_now_ms() + 10000; s_head(src) < rep1.head_seq + 200 && s_now_ms() < end;)
        usleep(10000);
    S_CHECK_RC(evs_backup(src, b2, &rep2), 0);
    S_CHECK(rep2.head_seq > rep1.head_seq && rep2.events == rep2.head_seq);
    S_CHECK(rep2.vault && s_keys_cover(b2, rep2.head_seq, rep2.vault_keys));

    /* never over anything: a backup, an empty folder, a file */
    S_CHECK_RC(evs_backup(src, b1, &rep), -EEXIST);
    S_CHECK(strstr(rep.reason, b1) != NULL);
    S_CHECK(s_head(b1) == rep1.head_seq);
    evsi_path(path, base, "empty");
    S_CHECK(mkdir(path, 0700) == 0);
    S_CHECK_RC(evs_backup(src, path, &rep), -EEXIST);
    snprintf(path, sizeof path, "%s/b1/", base); /* a trailing slash names it too */
    S_CHECK_RC(evs_backup(src, path, &rep), -EEXIST);
    /* no log, no folder for it */
    evsi_path(path, base, "b3");
    S_CHECK_RC(evs_backup(base, path, &rep), -ENOENT);
    S_CHECK(!evsi_exists(path));
    snprintf(path, sizeof path, "%s/missing/b4", base);
    S_CHECK(evs_backup(src, path, &rep) < 0 && !evsi_exists(path));

    S_CHECK(write(stop[1], "s", 1) == 1);
    int status;
    S_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid = -1;
    S_CHECK(evs_check_none_like(base, "b1.tmp-") && evs_check_none_like(base, "b2.tmp-"));
    evs_check_close_pipes(ready, stop);
    return 0;
fail:
    if (pid > 0) {
        (void) !write(stop[1], "s", 1);
        waitpid(pid, NULL, 0);
    }
    evs_check_close_pipes(ready, stop);
    return 1;
}

/* Restores into a new folder and over a log; a damaged log is neither copied nor
 * restored. Uses the backups s_test_hot() made. */
static int s_test_restore(const char *base, bool verbose)
{
    char b1[PATH_MAX], b2[PATH_MAX], r1[PATH_MAX], aside[PATH_MAX], path[PATH_MAX];
    char other[PATH_MAX], bad[PATH_MAX];
    evsi_path(b1, base, "b1");
    evsi_path(b2, base, "b2");
    evsi_path(r1, base, "r1");
    evsi_path(aside, base, "r1.replaced");
    evs_backup_t rep1, rep2, rep;
    evs_t *evs = NULL;
    S_CHECK_RC(s_check(b1, NULL, &rep1), 0);
    S_CHECK_RC(s_check(b2, NULL, &rep2), 0);
    uint64_t keys1 = s_vault_keys(b1), keys2 = s_vault_keys(b2);

    /* into a new folder (the caller's lock is in it): the log and the key; the service
     * goes on writing there */
    S_CHECK(mkdir(r1, 0700) == 0);
    S_CHECK_RC(evs_restore(b1, r1, NULL, &rep), 0);
    S_CHECK(rep.head_seq == rep1.head_seq && rep.events == rep1.head_seq && rep.secret);
    S_CHECK(memcmp(rep.head_hash, rep1.head_hash, EVS_HASH_SIZE) == 0);
    evsi_path(path, r1, "data.mdb");
    S_CHECK(evs_check_mode(path, 0600));
    /* and the key store, with the keys as the service made them */
    S_CHECK(rep.vault && rep.vault_keys == keys1);
    S_CHECK(s_keys_cover(r1, rep1.head_seq, keys1));
    S_CHECK(s_same_key(r1, base, 1) && s_same_key(r1, base, rep1.head_seq / 20));
    evsi_path(path, r1, "vault/data.mdb");
    S_CHECK(evs_check_mode(path, 0600));
    evsi_path(path, r1, "secret.key");
    evsi_path(other, b1, "secret.key");
    S_CHECK(evs_check_mode(path, 0600) && s_same(path, other));
    S_CHECK(evs_check_none_like(r1, ".restore-"));
    evs_opts_t opts = {.flags = EVS_NOSYNC, .service = "backup"};
    S_CHECK_RC(evs_open(r1, &opts, &evs), 0);
    S_CHECK_RC(s_append(evs, 3), 0);
    evs_destroy(&evs);
    S_CHECK(s_head(r1) == rep1.head_seq + 3);

    /* over a log only when told where the old one goes; never over that place */
    S_CHECK_RC(evs_restore(b2, r1, NULL, &rep), -EEXIST);
    S_CHECK(s_head(r1) == rep1.head_seq + 3);
    S_CHECK_RC(evs_restore(b2, r1, aside, &rep), 0);
    S_CHECK(rep.head_seq == rep2.head_seq && s_head(r1) == rep2.head_seq);
    S_CHECK(rep.vault && s_keys_cover(r1, rep2.head_seq, keys2));
    S_CHECK(s_head(aside) == rep1.head_seq + 3);
    S_CHECK(s_keys_cover(aside, rep1.head_seq, keys1));
    evsi_path(path, aside, "secret.key");
    S_CHECK(s_same(path, other));
    S_CHECK_RC(evs_restore(b1, r1, aside, &rep), -EEXIST);
    S_CHECK(s_head(r1) == rep2.head_seq);

    /* another service's log is not put in this one's place */
    evsi_path(other, base, "other");
    S_CHECK_RC(s_new_log(other, "other", 1), 0);
    evsi_path(path, base, "r1.other");
    S_CHECK_RC(evs_restore(other, r1, path, &rep), EVS_MISMATCH);
    S_CHECK(!evsi_exists(path) && s_head(r1) == rep2.head_seq);

    /* a damaged log: no backup of it, no restore from it, nothing left behind */
    evsi_path(bad, base, "bad");
    S_CHECK(mkdir(bad, 0700) == 0);
    S_CHECK_RC(evs_restore(b1, bad, NULL, &rep), 0);
    S_CHECK_RC(s_damage(bad, 7), 0);
    snprintf(path, sizeof path, "%s/b-bad", base);
    S_CHECK_RC(evs_backup(bad, path, &rep), EVS_CORRUPT);
    if (verbose)
        printf("   a damaged log: %s\n", rep.reason);
    S_CHECK(strstr(rep.reason, "seq 7") != NULL);
    S_CHECK(!evsi_exists(path) && evs_check_none_like(base, "b-bad.tmp-"));
    evsi_path(path, base, "r2");
    S_CHECK(mkdir(path, 0700) == 0);
    S_CHECK_RC(evs_restore(bad, path, NULL, &rep), EVS_CORRUPT);
    S_CHECK(strstr(rep.reason, "seq 7") != NULL);
    snprintf(other, sizeof other, "%s/r2/data.mdb", base);
    S_CHECK(!evsi_exists(other));
    S_CHECK_RC(evs_restore(bad, r1, aside, &rep), EVS_CORRUPT);
    S_CHECK(s_head(r1) == rep2.head_seq);

    /* a log without a key store: the one in the folder goes aside with the log */
    evsi_path(other, base, "no-vault");
    S_CHECK_RC(s_new_log(other, "backup", 2), 0);
    evsi_path(aside, base, "r1.replaced-2");
    S_CHECK_RC(evs_restore(other, r1, aside, &rep), 0);
    S_CHECK(!rep.vault && rep.vault_keys == 0 && s_head(r1) == 2);
    evsi_path(path, r1, EVS_VAULT_DIR);
    S_CHECK(!evsi_exists(path) && s_keys_cover(aside, rep2.head_seq, keys2));
    return 0;
fail:
    evs_destroy(&evs);
    return 1;
}

int evs_backup_test(bool verbose)
{
    if (verbose)
        printf(" * evs_backup:\n");
    char base[] = "/tmp/evs_backup_test_XXXXXX";
    if (!mkdtemp(base)) {
        fprintf(stderr, "evs_backup_test: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    int failed = s_test_hot(base, verbose);
    failed += failed ? 0 : s_test_restore(base, verbose);
    evs_check_rmtree(base);
    return failed ? 1 : 0;
}
