/* evs_vault_test.c: the key store's self-test (evs_vault.h): keys made, pending, committed
 * and read again; erasure, and no byte of an erased key left in the store's files; names
 * refused; read-only handles, also beside a writer in another process; copies. */
#include "evs_vault.h"
#include "evs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "evs_check.h"

#define S_CHECK(cond)          EVS_CHECK("evs_vault_test", cond)
#define S_CHECK_RC(expr, want) EVS_CHECK_RC("evs_vault_test", expr, want)

#define S_KEY      EVS_VAULT_KEY_SIZE
#define S_SUBJECTS 300              /* enough for some pages */
#define S_AT       1767225600000000 /* an erasure's time */

static void s_subject(char *out, size_t size, int i)
{
    snprintf(out, size, "order:TP-2026-%06d", i);
}

/* Whether a file in @p dir (not below it) holds the key @p key anywhere in its bytes. */
static bool s_dir_holds(const char *dir, const uint8_t *key)
{
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        char path[PATH_MAX];
        struct stat st;
        if (evsi_path(path, dir, e->d_name) != 0 || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        uint8_t *bytes = malloc((size_t) st.st_size + 1);
        size_t n = f && bytes ? fread(bytes, 1, (size_t) st.st_size, f) : 0;
        found = n >= S_KEY && memmem(bytes, n, key, S_KEY) != NULL;
        free(bytes);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/* Subjects @p from..@p to-1 get keys, committed in one go. */
static int s_make(evs_vault_t *v, int from, int to)
{
    uint8_t key[S_KEY];
    char subject[64];
    for (int i = from; i < to; i++) {
        s_subject(subject, sizeof subject, i);
        int rc = evs_vault_get_or_create(v, subject, key);
        if (rc)
            return rc;
    }
    sodium_memzero(key, sizeof key);
    return evs_vault_commit(v);
}

/* Keys made, pending, committed, and there after a reopen; an uncommitted one is not. */
static int s_test_keys(const char *dir, uint8_t k1[S_KEY], uint8_t k2[S_KEY])
{
    evs_vault_t *v = NULL;
    uint8_t k[S_KEY], zero[S_KEY] = {0};
    int64_t at = -1;
    uint64_t keys, erased;
    char path[PATH_MAX];
    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    S_CHECK(evs_check_mode(dir, 0700));
    S_CHECK_RC(evs_vault_get(v, "order:1", k, &at), EVS_NOTFOUND);
    S_CHECK(!evs_vault_pending(v) && at == -1);
    S_CHECK_RC(evs_vault_get_or_create(v, "order:1", k1), 0);
    S_CHECK(evs_vault_pending(v) && memcmp(k1, zero, S_KEY) != 0);
    /* a pending key is seen, and never made twice */
    S_CHECK_RC(evs_vault_get(v, "order:1", k, NULL), 0);
    S_CHECK(memcmp(k, k1, S_KEY) == 0);
    S_CHECK_RC(evs_vault_get_or_create(v, "order:1", k), 0);
    S_CHECK(memcmp(k, k1, S_KEY) == 0);
    S_CHECK_RC(evs_vault_get_or_create(v, "account:acc-1f3a", k2), 0);
    S_CHECK(memcmp(k2, k1, S_KEY) != 0);
    evs_vault_counts(v, &keys, &erased);
    S_CHECK(keys == 0 && erased == 0);
    S_CHECK_RC(evs_vault_commit(v), 0);
    S_CHECK(!evs_vault_pending(v));
    S_CHECK_RC(evs_vault_commit(v), 0);
    evs_vault_counts(v, &keys, &erased);
    S_CHECK(keys == 2 && erased == 0);
    S_CHECK_RC(evs_vault_get(v, "order:1", k, NULL), 0);
    S_CHECK(memcmp(k, k1, S_KEY) == 0);
    /* enough keys for a few pages, over a few commits */
    S_CHECK_RC(s_make(v, 0, 100), 0);
    S_CHECK_RC(s_make(v, 50, S_SUBJECTS), 0);
    /* made and never committed: gone with the handle, as no event used it */
    S_CHECK_RC(evs_vault_get_or_create(v, "order:lost", k), 0);
    evs_vault_close(&v);
    evs_vault_close(&v);
    S_CHECK(evsi_path(path, dir, "data.mdb") == 0 && evs_check_mode(path, 0600));
    S_CHECK(evsi_path(path, dir, "lock.mdb") == 0 && evs_check_mode(path, 0600));

    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    S_CHECK_RC(evs_vault_get(v, "order:1", k, NULL), 0);
    S_CHECK(memcmp(k, k1, S_KEY) == 0);
    S_CHECK_RC(evs_vault_get(v, "account:acc-1f3a", k, NULL), 0);
    S_CHECK(memcmp(k, k2, S_KEY) == 0);
    S_CHECK_RC(evs_vault_get(v, "order:lost", k, NULL), EVS_NOTFOUND);
    evs_vault_counts(v, &keys, &erased);
    S_CHECK(keys == 2 + S_SUBJECTS && erased == 0);
    evs_vault_close(&v);
    return 0;
fail:
    evs_vault_close(&v);
    return 1;
}

/* Names and reasons that are refused, everywhere; nothing is done with them. */
static int s_test_invalid(const char *dir)
{
    evs_vault_t *v = NULL;
    uint8_t k[S_KEY];
    char longest[EVS_VAULT_SUBJECT_MAX + 1], too_long[EVS_VAULT_SUBJECT_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    const char *bad[] = {"", too_long, "order:\n1", "order:\xc3\xa4", "order:\x7f", NULL};
    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        S_CHECK_RC(evs_vault_get(v, bad[i], k, NULL), EVS_INVALID);
        S_CHECK_RC(evs_vault_get_or_create(v, bad[i], k), EVS_INVALID);
        S_CHECK_RC(evs_vault_erase(v, &bad[i], 1, "", S_AT), EVS_INVALID);
    }
    S_CHECK(!evs_vault_pending(v));
    /* the longest, a space, any printable ASCII */
    const char *good[] = {longest, "order: 1", "x!~"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        S_CHECK_RC(evs_vault_get_or_create(v, good[i], k), 0);
    S_CHECK_RC(evs_vault_commit(v), 0);
    /* a bad reason, or one bad subject among good ones: nothing erased */
    char long_reason[EVS_VAULT_REASON_MAX + 2];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    S_CHECK_RC(evs_vault_erase(v, good, 1, "tab\there", S_AT), EVS_INVALID);
    S_CHECK_RC(evs_vault_erase(v, good, 1, long_reason, S_AT), EVS_INVALID);
    const char *mixed[] = {"order: 1", "bad\n"};
    S_CHECK_RC(evs_vault_erase(v, mixed, 2, NULL, S_AT), EVS_INVALID);
    S_CHECK_RC(evs_vault_get(v, longest, k, NULL), 0);
    S_CHECK_RC(evs_vault_get(v, "order: 1", k, NULL), 0);
    S_CHECK_RC(evs_vault_erase(v, NULL, 0, NULL, S_AT), 0);
    evs_vault_close(&v);
    /* folders that are no store's */
    S_CHECK_RC(evs_vault_open("", false, &v), EVS_INVALID);
    S_CHECK_RC(evs_vault_open("/", true, &v), EVS_INVALID);
    S_CHECK_RC(evs_vault_open(".", false, &v), EVS_INVALID);
    S_CHECK(v == NULL);
    return 0;
fail:
    evs_vault_close(&v);
    return 1;
}

/* evs_vault_each(): what it saw. */
typedef struct {
    int subjects, erased, stop_at;
    char last[EVS_VAULT_SUBJECT_MAX + 1];
    bool ordered;
    int64_t at;
    char reason[EVS_VAULT_REASON_MAX + 1];
} s_seen_t;

static int s_see(const char *subject, bool erased, int64_t erased_at_us, const char *reason,
                 void *arg)
{
    s_seen_t *s = arg;
    size_t a = strlen(s->last), b = strlen(subject), n = a < b ? a : b;
    int cmp = memcmp(s->last, subject, n);
    s->ordered &= s->subjects == 0 || cmp < 0 || (cmp == 0 && a < b);
    snprintf(s->last, sizeof s->last, "%s", subject);
    s->subjects++;
    if (erased && strcmp(subject, "order:TP-2026-000007") == 0) {
        s->at = erased_at_us;
        snprintf(s->reason, sizeof s->reason, "%s", reason);
    }
    s->erased += erased;
    s->ordered &= erased || (erased_at_us == 0 && !*reason);
    return s->subjects == s->stop_at ? 7 : 0;
}

/* Copies the file @p from to the new file @p to (a test's plant, never LMDB's files). */
static int s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[4096];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* Erasure: tombstones, refusals, idempotence, and the erased key's bytes nowhere in the
 * folder's files; the rewrite left undone (a crash) is done at the next open, and the
 * old files a rewrite left beside the store are removed. */
static int s_test_erase(const char *data, const char *dir, bool verbose)
{
    evs_vault_t *v = NULL;
    uint8_t victim[S_KEY], kept[S_KEY], late[S_KEY], pend[S_KEY], k[S_KEY];
    char leftover[PATH_MAX], path[PATH_MAX];
    int64_t at = 0;
    uint64_t keys, erased, erased0;
    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    evs_vault_counts(v, &keys, &erased0);
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000007", victim, NULL), 0);
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000008", kept, NULL), 0);
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000009", late, NULL), 0);
    /* the bytes are there to be found before */
    S_CHECK(s_dir_holds(dir, victim) && s_dir_holds(dir, kept));
    S_CHECK_RC(evs_vault_get_or_create(v, "order:pending", pend), 0);
    S_CHECK_RC(evs_vault_get_or_create(v, "order:pending-kept", k), 0);
    const char *gone[] = {"order:TP-2026-000007", "order:pending", "order:unknown"};
    S_CHECK_RC(evs_vault_erase(v, gone, 3, "Art. 17 request #12", S_AT), 0);
    for (int i = 0; i < 3; i++) {
        at = 0;
        S_CHECK_RC(evs_vault_get(v, gone[i], k, &at), EVS_ERASED);
        S_CHECK(at == S_AT);
        S_CHECK_RC(evs_vault_get_or_create(v, gone[i], k), EVS_ERASED);
    }
    /* the others' keys stay, a pending one pending */
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000008", k, NULL), 0);
    S_CHECK(memcmp(k, kept, S_KEY) == 0);
    S_CHECK(evs_vault_pending(v));
    S_CHECK_RC(evs_vault_commit(v), 0);
    S_CHECK_RC(evs_vault_get(v, "order:pending-kept", k, NULL), 0);
    /* not a byte of the erased key in any file of the store, none of its old files beside */
    S_CHECK(!s_dir_holds(dir, victim) && !s_dir_holds(dir, pend));
    S_CHECK(s_dir_holds(dir, kept));
    S_CHECK(evs_check_none_like(data, EVS_VAULT_DIR ".swap-"));
    S_CHECK(evs_check_mode(dir, 0700));
    S_CHECK(evsi_path(path, dir, "data.mdb") == 0 && evs_check_mode(path, 0600));
    evs_vault_close(&v);

    /* after a reopen: erased, and once more is a no-op that keeps the first tombstone */
    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000007", k, &at), EVS_ERASED);
    S_CHECK(at == S_AT);
    S_CHECK_RC(evs_vault_get_or_create(v, "order:TP-2026-000007", k), EVS_ERASED);
    S_CHECK(!evs_vault_pending(v));
    S_CHECK_RC(evs_vault_erase(v, gone, 1, "again", S_AT + 1), 0);
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000007", k, &at), EVS_ERASED);
    S_CHECK(at == S_AT);
    evs_vault_counts(v, &keys, &erased);
    S_CHECK(erased == erased0 + 3);
    s_seen_t seen = {.ordered = true};
    S_CHECK_RC(evs_vault_each(v, s_see, &seen), 0);
    S_CHECK(seen.ordered && seen.subjects == (int) (keys + erased) && seen.erased == (int) erased);
    S_CHECK(seen.at == S_AT && strcmp(seen.reason, "Art. 17 request #12") == 0);
    s_seen_t stop = {.ordered = true, .stop_at = 5};
    S_CHECK_RC(evs_vault_each(v, s_see, &stop), 7);
    S_CHECK(stop.subjects == 5);

    /* the rewrite left undone, as by a crash right after the erasing transaction: the
     * key's bytes are still in the file (so the check above can see them) ... */
    evsi_vault_no_rewrite = true;
    S_CHECK_RC(evs_vault_erase(v, (const char *[]){"order:TP-2026-000009"}, 1, NULL, S_AT), 0);
    evsi_vault_no_rewrite = false;
    S_CHECK(s_dir_holds(dir, late));
    evs_vault_close(&v);
    /* ... and old files left beside the store by a rewrite cut short */
    S_CHECK(snprintf(leftover, sizeof leftover, "%s.swap-AbC123", dir) < (int) sizeof leftover);
    S_CHECK(mkdir(leftover, 0700) == 0);
    S_CHECK(evsi_path(path, dir, "data.mdb") == 0);
    char planted[PATH_MAX];
    S_CHECK(evsi_path(planted, leftover, "data.mdb") == 0 && s_copy_file(path, planted) == 0);
    S_CHECK(s_dir_holds(leftover, late));
    /* a writer's open finishes both */
    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    S_CHECK(!s_dir_holds(dir, late) && !s_dir_holds(dir, victim) && s_dir_holds(dir, kept));
    S_CHECK(evs_check_none_like(data, EVS_VAULT_DIR ".swap-"));
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000009", k, NULL), EVS_ERASED);
    S_CHECK_RC(evs_vault_get(v, "order:TP-2026-000008", k, NULL), 0);
    S_CHECK(memcmp(k, kept, S_KEY) == 0);
    evs_vault_counts(v, &keys, &erased);
    if (verbose)
        printf("   after the erasures: %llu keys, %llu erased\n", (unsigned long long) keys,
               (unsigned long long) erased);
    S_CHECK(erased == erased0 + 4);
    /* one of the copies is for backups: compacted too */
    evs_vault_close(&v);
    char copy[PATH_MAX];
    uint64_t copied = 0;
    S_CHECK(evsi_path(copy, data, "copy") == 0);
    S_CHECK_RC(evs_vault_copy(dir, copy, &copied), 0);
    S_CHECK(copied == keys && evs_check_mode(copy, 0700));
    S_CHECK(evsi_path(path, copy, "data.mdb") == 0 && evs_check_mode(path, 0600));
    S_CHECK(evsi_path(path, copy, "lock.mdb") == 0 && !evsi_exists(path));
    S_CHECK(s_dir_holds(copy, kept) && !s_dir_holds(copy, victim) && !s_dir_holds(copy, late));
    S_CHECK_RC(evs_vault_copy(dir, copy, &copied), -EEXIST);
    S_CHECK(evsi_path(path, data, "nothing") == 0);
    S_CHECK_RC(evs_vault_copy(path, copy, &copied), -EEXIST);
    S_CHECK(evsi_path(copy, data, "copy2") == 0);
    S_CHECK_RC(evs_vault_copy(path, copy, &copied), -ENOENT);
    S_CHECK(!evsi_exists(copy));
    return 0;
fail:
    evsi_vault_no_rewrite = false;
    evs_vault_close(&v);
    return 1;
}

/* The writer in another process (a service beside tpctl): commits a key, says so on
 * @p ready; when a byte comes on @p go, erases order:1, commits another key and says so
 * again. */
static void s_writer(const char *dir, int ready, int go)
{
    evs_vault_t *v = NULL;
    uint8_t k[S_KEY];
    char ch;
    int rc = evs_vault_open(dir, false, &v);
    if (rc == 0 && (rc = evs_vault_get_or_create(v, "order:child", k)) == 0)
        rc = evs_vault_commit(v);
    if (rc != 0 || write(ready, "r", 1) != 1 || read(go, &ch, 1) != 1)
        _exit(1);
    const char *one[] = {"order:1"};
    rc = evs_vault_erase(v, one, 1, "child", S_AT);
    if (rc == 0 && (rc = evs_vault_get_or_create(v, "order:after", k)) == 0)
        rc = evs_vault_commit(v);
    evs_vault_close(&v);
    _exit(rc == 0 && write(ready, "e", 1) == 1 ? 0 : 1);
}

/* Read-only handles: no store, no folder made; keys read, none made, nothing written;
 * beside a writer in another process, up to its erasure; a folder open to others. */
static int s_test_read_only(const char *base, const char *dir, const uint8_t k1[S_KEY])
{
    evs_vault_t *v = NULL;
    uint8_t k[S_KEY];
    char path[PATH_MAX], ch;
    int ready[2] = {-1, -1}, go[2] = {-1, -1};
    pid_t pid = -1;
    uint64_t keys, erased;
    S_CHECK(evsi_path(path, base, "none") == 0);
    S_CHECK_RC(evs_vault_open(path, true, &v), -ENOENT);
    S_CHECK(!evsi_exists(path) && mkdir(path, 0700) == 0);
    S_CHECK_RC(evs_vault_open(path, true, &v), -ENOENT);
    S_CHECK(evs_check_none_like(path, "lock"));
    S_CHECK(evsi_path(path, base, "none/parent/vault") == 0);
    S_CHECK_RC(evs_vault_open(path, false, &v), -ENOENT);

    S_CHECK_RC(evs_vault_open(dir, true, &v), 0);
    S_CHECK_RC(evs_vault_get(v, "order:1", k, NULL), 0);
    S_CHECK(memcmp(k, k1, S_KEY) == 0);
    S_CHECK_RC(evs_vault_get_or_create(v, "order:1", k), 0);
    S_CHECK_RC(evs_vault_get_or_create(v, "order:new", k), EVS_RDONLY_ERR);
    S_CHECK(!evs_vault_pending(v));
    S_CHECK_RC(evs_vault_commit(v), EVS_RDONLY_ERR);
    S_CHECK_RC(evs_vault_erase(v, (const char *[]){"order:1"}, 1, NULL, S_AT), EVS_RDONLY_ERR);
    evs_vault_counts(v, &keys, &erased);
    S_CHECK(keys == 2 + S_SUBJECTS + 3 && erased == 0); /* and s_test_invalid()'s */
    evs_vault_close(&v);

    /* beside the writer: what it committed; up to its erasure, and after on a new handle */
    S_CHECK(pipe(ready) == 0 && pipe(go) == 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    S_CHECK(pid >= 0);
    if (pid == 0)
        s_writer(dir, ready[1], go[0]);
    S_CHECK(read(ready[0], &ch, 1) == 1 && ch == 'r');
    S_CHECK_RC(evs_vault_open(dir, true, &v), 0);
    S_CHECK_RC(evs_vault_get(v, "order:child", k, NULL), 0);
    S_CHECK(write(go[1], "g", 1) == 1 && read(ready[0], &ch, 1) == 1 && ch == 'e');
    /* the erasure was committed before the swap: this handle sees it, and nothing after */
    S_CHECK_RC(evs_vault_get(v, "order:1", k, NULL), EVS_ERASED);
    S_CHECK_RC(evs_vault_get(v, "order:after", k, NULL), EVS_NOTFOUND);
    evs_vault_close(&v);
    S_CHECK_RC(evs_vault_open(dir, true, &v), 0);
    S_CHECK_RC(evs_vault_get(v, "order:1", k, NULL), EVS_ERASED);
    S_CHECK_RC(evs_vault_get(v, "order:after", k, NULL), 0);
    S_CHECK_RC(evs_vault_get(v, "order:child", k, NULL), 0);
    evs_vault_close(&v);
    int status;
    S_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid = -1;

    /* a store its group may read is refused */
    S_CHECK(chmod(dir, 0750) == 0);
    S_CHECK_RC(evs_vault_open(dir, true, &v), -EPERM);
    S_CHECK_RC(evs_vault_open(dir, false, &v), -EPERM);
    S_CHECK(chmod(dir, 0700) == 0);
    S_CHECK(evsi_path(path, dir, "data.mdb") == 0 && chmod(path, 0640) == 0);
    S_CHECK_RC(evs_vault_open(dir, true, &v), -EPERM);
    S_CHECK(chmod(path, 0600) == 0);
    evs_check_close_pipes(ready, go);
    return 0;
fail:
    evs_vault_close(&v);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    evs_check_close_pipes(ready, go);
    return 1;
}

/* Keys made elsewhere (another instance's, from a replicated key store): put pending,
 * listed for copying, committed; the same key again is fine, another one a conflict; an
 * erased subject takes none. */
static int s_test_put(const char *dir)
{
    evs_vault_t *v = NULL;
    uint8_t k[S_KEY], got[S_KEY], other[S_KEY];
    memset(k, 0x5a, sizeof k);
    memset(other, 0xa5, sizeof other);
    S_CHECK_RC(evs_vault_open(dir, false, &v), 0);
    S_CHECK_RC(evs_vault_put(v, "order:put-1", k), 0);
    const char *const *subjects = NULL;
    const uint8_t *keys = NULL;
    S_CHECK(evs_vault_pending_list(v, &subjects, &keys) == 1);
    S_CHECK(strcmp(subjects[0], "order:put-1") == 0 && memcmp(keys, k, S_KEY) == 0);
    S_CHECK_RC(evs_vault_put(v, "order:put-1", k), 0);
    S_CHECK_RC(evs_vault_put(v, "order:put-1", other), EVS_CONFLICT);
    S_CHECK_RC(evs_vault_commit(v), 0);
    S_CHECK(evs_vault_pending_list(v, &subjects, &keys) == 0);
    S_CHECK_RC(evs_vault_get(v, "order:put-1", got, NULL), 0);
    S_CHECK(memcmp(got, k, S_KEY) == 0);
    S_CHECK_RC(evs_vault_put(v, "order:put-1", other), EVS_CONFLICT);
    const char *gone[] = {"order:put-2"};
    S_CHECK_RC(evs_vault_erase(v, gone, 1, "test", S_AT), 0);
    S_CHECK_RC(evs_vault_put(v, "order:put-2", k), EVS_ERASED);
    evs_vault_close(&v);
    return 0;
fail:
    evs_vault_close(&v);
    return 1;
}

int evs_vault_test(bool verbose)
{
    if (verbose)
        printf(" * evs_vault:\n");
    char base[] = "/tmp/evs_vault_test_XXXXXX";
    if (!mkdtemp(base)) {
        fprintf(stderr, "evs_vault_test: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    char data[PATH_MAX], dir[PATH_MAX];
    uint8_t k1[S_KEY], k2[S_KEY];
    int failed = evsi_path(data, base, "data") != 0 || mkdir(data, 0700) != 0 ||
                 evsi_path(dir, data, EVS_VAULT_DIR) != 0;
    failed = failed || s_test_keys(dir, k1, k2);
    failed = failed || s_test_invalid(dir);
    char put_dir[PATH_MAX];
    failed = failed || evsi_path(put_dir, base, "put") != 0 || s_test_put(put_dir);
    failed = failed || s_test_read_only(base, dir, k1);
    failed = failed || s_test_erase(data, dir, verbose);
    evs_check_rmtree(base);
    return failed ? 1 : 0;
}
