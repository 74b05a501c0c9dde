/* fault_vault.c: a key store (eventstore/evs_vault.h) whose file fails at its Nth write or
 * flush loses no committed key and never half of a commit. For each kind of call and
 * error (faultinj.c) and N over a range: a store is made with a first round of keys;
 * then a child process (this program again, with the injector preloaded) opens it, makes
 * rounds of keys and commits each, stopping at the first failure as a service does, and
 * says on stdout what it made and what each commit returned. Then, without the fault:
 *   - the store opens and reads through (never a damaged store);
 *   - every round whose commit returned 0 is there, key for key, the first one too;
 *   - of the round whose commit failed, all keys or none, and those there as made;
 *   - after the failed commit, its keys were still pending and given by evs_vault_get();
 *   - the fault fired exactly when a commit reported a failure (none swallowed);
 *   - the store takes new keys.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "evs_vault.h"

#define S_ROUNDS 4 /* rounds the child makes */
#define S_KEYS   8 /* keys a round */
#define S_KEY    EVS_VAULT_KEY_SIZE

typedef struct {
    const char *op, *err;
    int from, to; /* N over this range */
} s_case_t;

/* A commit of the child's rounds writes its page (pwrite), flushes it (fdatasync) and
 * writes its meta page (pwrite on an O_DSYNC descriptor): one flush and two writes, so
 * these ranges reach into every round of the child, at each of its calls. */
static const s_case_t s_cases[] = {
    {"sync", "EIO", 1, 4},
    {"sync", "ENOSPC", 2, 3},
    {"io", "EIO", 1, 8},
    {"io", "short", 1, 8},
};

static int s_failed;

#define S_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s: %s:%d: failed: %s\n", what, __FILE__, __LINE__, #cond);           \
            s_failed++;                                                                            \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static void s_subject(char *out, size_t size, int round, int i)
{
    snprintf(out, size, "order:TP-2026-%d%05d", round, i);
}

//  --------------------------------------------------------------------------
//  The child: under the fault

/* Rounds 1.. of keys into the store in @p dir, as a service makes them: one line per key
 * ("key ROUND I HEX"), one per commit ("commit ROUND RC PENDING"), the first failure the
 * last. */
static int s_child(const char *dir)
{
    evs_vault_t *v = NULL;
    int rc = evs_vault_open(dir, false, &v);
    printf("open %d\n", rc);
    for (int r = 1; rc == 0 && r <= S_ROUNDS; r++) {
        uint8_t keys[S_KEYS][S_KEY], again[S_KEY];
        char subject[64], hex[2 * S_KEY + 1];
        for (int i = 0; i < S_KEYS && rc == 0; i++) {
            s_subject(subject, sizeof subject, r, i);
            rc = evs_vault_get_or_create(v, subject, keys[i]);
            printf("key %d %d %s\n", r, i, sodium_bin2hex(hex, sizeof hex, keys[i], S_KEY));
        }
        if (rc != 0)
            break;
        rc = evs_vault_commit(v);
        /* a failed commit keeps its keys pending, and they are given as made */
        bool pending = evs_vault_pending(v);
        for (int i = 0; i < S_KEYS && rc != 0 && pending; i++) {
            s_subject(subject, sizeof subject, r, i);
            pending =
                evs_vault_get(v, subject, again, NULL) == 0 && memcmp(again, keys[i], S_KEY) == 0;
        }
        printf("commit %d %d %d\n", r, rc, pending);
    }
    fflush(stdout);
    evs_vault_close(&v);
    return 0;
}

//  --------------------------------------------------------------------------
//  The parent: each case

/* What the child made: its keys, and what each commit returned. */
typedef struct {
    int open_rc;
    uint8_t keys[S_ROUNDS + 1][S_KEYS][S_KEY];
    bool made[S_ROUNDS + 1];
    int commit_rc[S_ROUNDS + 1];
    bool committed[S_ROUNDS + 1]; /* commit tried */
    bool pending[S_ROUNDS + 1];   /* after a failed commit: pending, and given as made */
} s_report_t;

/* Runs the child on @p dir with the fault of @p c at @p nth; its report into @p rep. */
static bool s_run_child(const char *dir, const s_case_t *c, int nth, const char *mark,
                        s_report_t *rep)
{
    int out[2];
    if (pipe(out) != 0)
        return false;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", nth);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        setenv("LD_PRELOAD", getenv("TP_FAULTINJ"), 1);
        setenv("TP_FAULT_FILE", "/" EVS_VAULT_DIR "/data.mdb", 1);
        setenv("TP_FAULT_OP", c->op, 1);
        setenv("TP_FAULT_ERR", c->err, 1);
        setenv("TP_FAULT_NTH", n, 1);
        setenv("TP_FAULT_MARK", mark, 1);
        execl("/proc/self/exe", "fault_vault", "--child", dir, (char *) NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256], hex[2 * S_KEY + 1];
    int r, i, rc, pending;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "open %d", &rep->open_rc) == 1)
            continue;
        if (sscanf(line, "key %d %d %64s", &r, &i, hex) == 3 && r > 0 && r <= S_ROUNDS && i >= 0 &&
            i < S_KEYS)
            rep->made[r] =
                sodium_hex2bin(rep->keys[r][i], S_KEY, hex, strlen(hex), NULL, NULL, NULL) == 0;
        else if (sscanf(line, "commit %d %d %d", &r, &rc, &pending) == 3 && r > 0 &&
                 r <= S_ROUNDS) {
            rep->committed[r] = true;
            rep->commit_rc[r] = rc;
            rep->pending[r] = pending;
        }
    }
    if (f)
        fclose(f);
    else
        close(out[0]);
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/* How many of round @p r's keys the store has as made; -1 when one differs. */
static int s_present(evs_vault_t *v, const s_report_t *rep, int r)
{
    int n = 0;
    for (int i = 0; i < S_KEYS; i++) {
        char subject[64];
        uint8_t key[S_KEY];
        s_subject(subject, sizeof subject, r, i);
        int rc = evs_vault_get(v, subject, key, NULL);
        if (rc == 0 && memcmp(key, rep->keys[r][i], S_KEY) != 0)
            return -1;
        n += rc == 0;
    }
    return n;
}

static int s_count(const char *subject, bool erased, int64_t at, const char *reason, void *arg)
{
    ++*(int *) arg;
    return 0;
}

/* One case; false when the store broke a promise. */
static bool s_case(const char *base, const s_case_t *c, int nth, int *fired)
{
    char what[96], folder[256], dir[PATH_MAX], mark[PATH_MAX];
    snprintf(what, sizeof what, "fault_vault: %s %s at %d", c->op, c->err, nth);
    snprintf(folder, sizeof folder, "%s/%s-%s-%d", base, c->op, c->err, nth);
    snprintf(dir, sizeof dir, "%s/" EVS_VAULT_DIR, folder);
    snprintf(mark, sizeof mark, "%s/fault-fired", folder);
    int failed_before = s_failed;
    s_report_t rep = {.open_rc = 1};
    evs_vault_t *v = NULL;
    uint64_t keys = 0, erased = 0;
    S_CHECK(mkdir(folder, 0700) == 0);
    /* round 0, before the fault */
    S_CHECK(evs_vault_open(dir, false, &v) == 0);
    char subject[64];
    for (int i = 0; i < S_KEYS; i++) {
        s_subject(subject, sizeof subject, 0, i);
        S_CHECK(evs_vault_get_or_create(v, subject, rep.keys[0][i]) == 0);
    }
    S_CHECK(evs_vault_commit(v) == 0);
    evs_vault_close(&v);

    S_CHECK(s_run_child(dir, c, nth, mark, &rep));
    struct stat st;
    bool fault = stat(mark, &st) == 0;
    *fired += fault;
    int failed_round = 0, good = 0;
    for (int r = 1; r <= S_ROUNDS; r++) {
        if (rep.committed[r] && rep.commit_rc[r] != 0 && !failed_round)
            failed_round = r;
        good += rep.committed[r] && rep.commit_rc[r] == 0;
    }
    S_CHECK(rep.open_rc == 0);
    /* a fault fired exactly when a commit said so; the child stopped there */
    S_CHECK(fault == (failed_round > 0));
    S_CHECK(failed_round == 0 ? good == S_ROUNDS : good == failed_round - 1);
    S_CHECK(failed_round == 0 || rep.pending[failed_round]);

    /* without the fault: opens, reads through, has what it said */
    S_CHECK(evs_vault_open(dir, false, &v) == 0);
    int subjects = 0;
    S_CHECK(evs_vault_each(v, s_count, &subjects) == 0);
    evs_vault_counts(v, &keys, &erased);
    S_CHECK(s_present(v, &rep, 0) == S_KEYS);
    for (int r = 1; r <= good; r++)
        S_CHECK(s_present(v, &rep, r) == S_KEYS);
    int half = failed_round ? s_present(v, &rep, failed_round) : 0;
    S_CHECK(half == 0 || half == S_KEYS);
    S_CHECK((int) keys == subjects && subjects == S_KEYS * (1 + good) + half);
    if (getenv("TP_FAULT_VERBOSE"))
        fprintf(stderr, "%s: fired %d, %d rounds committed, the failed one's keys: %d\n", what,
                fault, good, half);
    /* and takes new keys */
    uint8_t key[S_KEY], again[S_KEY];
    S_CHECK(evs_vault_get_or_create(v, "order:after", key) == 0 && evs_vault_commit(v) == 0);
    evs_vault_close(&v);
    S_CHECK(evs_vault_open(dir, true, &v) == 0);
    S_CHECK(evs_vault_get(v, "order:after", again, NULL) == 0 && memcmp(key, again, S_KEY) == 0);
done:
    evs_vault_close(&v);
    return s_failed == failed_before;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return s_child(argv[2]);
    if (!getenv("TP_FAULTINJ")) {
        fprintf(stderr, "fault_vault: TP_FAULTINJ names no injector\n");
        return 1;
    }
    char base[] = "/tmp/fault_vault_XXXXXX";
    if (!mkdtemp(base)) {
        fprintf(stderr, "fault_vault: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    int runs = 0, fired = 0, broke = 0;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++)
        for (int n = s_cases[i].from; n <= s_cases[i].to; n++) {
            runs++;
            broke += !s_case(base, &s_cases[i], n, &fired);
        }
    /* an injector that never fires proves nothing (not loaded, or matching no call) */
    if (fired < runs) {
        fprintf(stderr, "fault_vault: the fault fired in %d of %d cases only\n", fired, runs);
        s_failed++;
    }
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "fault_vault: cannot remove %s\n", base);
    printf("fault_vault: %d cases, the fault fired in %d, %d broke a promise: %s\n", runs, fired,
           broke, s_failed ? "FAILED" : "OK");
    return s_failed ? 1 : 0;
}
