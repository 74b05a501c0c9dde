/* powercut.c: the power-cut simulation of the fault suite: a service and its follower under
 * load lose nothing they acknowledged at whatever moment the power goes.
 *
 * For each configuration (the example service followed by beta, the order service
 * followed by identification; pipelined and not) the two are started once and stopped, so
 * that their logs exist, and their data files copied; then started again with faultinj.c
 * recording every write and flush of their data files (TP_FAULT_RECORD) while the load of
 * fault_commit runs, its client noting when each answer came (the same clock). Then, for
 * cut points chosen at random among the moments the journals and the answers name (a
 * call not begun, a write half done, an answer just received), both files are rebuilt as
 * they could be after a power cut there (pcjournal.h: what a flush made durable, and a
 * random subset of the rest, whole, lost or torn) and checked in a child process (a
 * damaged file can crash LMDB) against the invariants of faultcheck.h, counting only the
 * answers received by the cut. Every few cut points the real services are started on the
 * rebuilt files as well, every answered request sent again (answered replayed, the same),
 * and the files checked again after they stop.
 *
 * Then two bugs are planted in the "system" (faultinj.c TP_FAULT_PLANT): flushes that do
 * nothing, and the meta page written without O_DSYNC (so that the answer goes out before
 * its commit is durable); each must break an invariant at some cut point, or the test
 * fails: a simulation that cannot fail proves nothing.
 *
 * TP_POWERCUT_SEED=N repeats the choices of a run (the seed is printed; the journals differ
 * from run to run, so it repeats the kind of cut rather than the case); TP_POWERCUT_CUTS=N
 * sets the cut points per configuration; TP_KEEP=1 keeps the folders.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "faultcheck.h"
#include "harness.h"
#include "pcjournal.h"

#define S_CUTS          100 /* cut points per configuration */
#define S_PLANTED_CUTS  40  /* for a planted bug */
#define S_SERVICE_EVERY 10  /* the services started on the rebuilt files every so many */
#define S_CHECK_S       30  /* a check in the child process taking longer: a hang */

typedef struct {
    const fc_target_t *t;
    bool pipeline;
    const char *plant; /* a bug faultinj plants (it must be caught), or NULL */
} s_config_t;

static const s_config_t s_configs[] = {
    {&fc_targets[0], true, NULL},     {&fc_targets[0], false, NULL},
    {&fc_targets[1], true, NULL},     {&fc_targets[1], false, NULL},
    {&fc_targets[0], true, "nosync"}, {&fc_targets[0], true, "nodsync"},
};

static uint64_t s_rng;                  /* the choices: cut points and the writes kept */
static int s_cuts_done, s_started_done; /* over all configurations */

/* One configuration's recording and what its cut points are checked against. */
typedef struct {
    const s_config_t *c;
    th_t *th;
    char what[96];
    char dir[2][400];   /* the data folders the services ran in: upstream, follower */
    char cut[2][400];   /* the folders rebuilt at a cut */
    pc_journal_t *j[2]; /* what each recorded */
    fc_ack_t *acks;     /* what the load was answered */
    pc_pick_t pick;     /* what the rebuilds kept, summed */
    int cuts, started, broke;
} s_run_t;

static const char *s_name(const s_run_t *r, int k)
{
    return k == 0 ? r->c->t->name : r->c->t->follower;
}

//  --------------------------------------------------------------------------
//  Recording

/* Starts service @p k of @p r, recording its data file into journal @p k when @p record. */
static bool s_start(s_run_t *r, int k, bool record)
{
    char journal[400], file[160];
    snprintf(journal, sizeof journal, "%s/%s.journal", th_dir(r->th), s_name(r, k));
    snprintf(file, sizeof file, "/%s/data.mdb", s_name(r, k));
    if (record) {
        setenv("LD_PRELOAD", th_env("TP_FAULTINJ"), 1);
        setenv("TP_FAULT_RECORD", journal, 1);
        setenv("TP_FAULT_FILE", file, 1);
        if (k == 0 && r->c->plant)
            setenv("TP_FAULT_PLANT", r->c->plant, 1);
    }
    bool up = th_start(r->th, th_exe_of(s_name(r, k)), s_name(r, k), 10000) > 0;
    unsetenv("LD_PRELOAD");
    unsetenv("TP_FAULT_RECORD");
    unsetenv("TP_FAULT_FILE");
    unsetenv("TP_FAULT_PLANT");
    if (!up)
        fprintf(stderr, "%s: %s did not start\n", r->what, s_name(r, k));
    return up;
}

/* Whether the upstream's journal holds what its configuration makes LMDB do: flushes and
 * O_DSYNC writes, or under a planted bug the flushes not done, or no O_DSYNC write. A
 * recorder that saw neither would check nothing. */
static bool s_recorded(const s_run_t *r)
{
    int kinds[PC_TRUNCATE + 1] = {0};
    for (size_t i = 0; i < pc_journal_size(r->j[0]); i++)
        kinds[pc_journal_rec(r->j[0], i)->kind]++;
    const char *plant = r->c->plant ? r->c->plant : "";
    bool ok = strcmp(plant, "nosync") == 0    ? kinds[PC_NOSYNC] > 0 && !kinds[PC_SYNC]
              : strcmp(plant, "nodsync") == 0 ? kinds[PC_SYNC] > 0 && !kinds[PC_DWRITE]
                                              : kinds[PC_SYNC] > 0 && kinds[PC_DWRITE] > 0;
    if (!ok)
        fprintf(stderr, "%s: %s recorded %d writes, %d O_DSYNC writes, %d flushes, %d not done\n",
                r->what, s_name(r, 0), kinds[PC_WRITE], kinds[PC_DWRITE], kinds[PC_SYNC],
                kinds[PC_NOSYNC]);
    return ok;
}

/* Whether the files at @p a and @p b hold the same bytes. */
static bool s_same_file(const char *a, const char *b)
{
    return th_run(NULL, "cmp -s '%s' '%s'", a, b) == 0;
}

/* The two started, stopped and copied; started again recording under the load; the
 * journals read back, and checked to replay to the files the services left. */
static bool s_record(s_run_t *r)
{
    char base[2][400], file[400], replayed[400];
    bool ok = s_start(r, 0, false) && s_start(r, 1, false);
    th_stop(r->th, s_name(r, 1), SIGTERM);
    th_stop(r->th, s_name(r, 0), SIGTERM);
    for (int k = 0; ok && k < 2; k++) {
        th_data_dir(r->th, s_name(r, k), r->dir[k], sizeof r->dir[k]);
        snprintf(base[k], sizeof base[k], "%s/%s.base", th_dir(r->th), s_name(r, k));
        snprintf(r->cut[k], sizeof r->cut[k], "%s/cut/%s", th_dir(r->th), s_name(r, k));
        /* the rebuilt folder gets the service's key, for the services started there */
        ok = th_run(NULL, "cp '%s/data.mdb' '%s' && mkdir -p '%s' && cp '%s/secret.key' '%s'",
                    r->dir[k], base[k], r->cut[k], r->dir[k], r->cut[k]) == 0;
    }
    ok = ok && s_start(r, 0, true) && s_start(r, 1, true);
    if (ok)
        r->acks = fc_load(r->th, r->c->t, 5000);
    th_stop(r->th, s_name(r, 1), SIGTERM);
    th_stop(r->th, s_name(r, 0), SIGTERM);
    for (int k = 0; ok && k < 2; k++) {
        snprintf(file, sizeof file, "%s/%s.journal", th_dir(r->th), s_name(r, k));
        snprintf(replayed, sizeof replayed, "%s/%s.replayed", th_dir(r->th), s_name(r, k));
        r->j[k] = pc_journal_new(file, base[k]);
        snprintf(file, sizeof file, "%s/data.mdb", r->dir[k]);
        ok = r->j[k] && pc_journal_rebuild(r->j[k], INT64_MAX, NULL, replayed, NULL) == 0 &&
             s_same_file(file, replayed);
        if (!ok)
            fprintf(stderr, "%s: the journal of %s does not replay to the file it left\n", r->what,
                    s_name(r, k));
    }
    ok = ok && r->acks && s_recorded(r);
    if (ok && fc_acked(r->acks, INT64_MAX) < FC_REQUESTS / 2) {
        fprintf(stderr, "%s: %d requests answered of %d\n", r->what, fc_acked(r->acks, INT64_MAX),
                FC_REQUESTS);
        ok = false;
    }
    return ok;
}

//  --------------------------------------------------------------------------
//  Cut points

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/* Up to @p want of the @p n times in @p from (shuffled in place), appended to @p to. */
static size_t s_pick(int64_t *from, size_t n, size_t want, int64_t *to)
{
    size_t k = 0;
    for (; k < n && k < want; k++) {
        size_t j = k + pc_rand(&s_rng) % (n - k);
        int64_t swap = from[k];
        from[k] = from[j];
        from[j] = swap;
        to[k] = from[k];
    }
    return k;
}

/* The cut points of @p r, in time order, into @p cuts (at most @p want + 1): half among
 * the calls recorded (just before one began, or halfway through a write), half just after
 * an answer came, and the moment after everything. */
static size_t s_cut_points(const s_run_t *r, size_t want, int64_t *cuts)
{
    size_t nops = 0, nacks = 0, n = 0;
    for (int k = 0; k < 2; k++)
        nops += 2 * pc_journal_size(r->j[k]);
    int64_t *ops = calloc(nops + 1, sizeof *ops), *acked = calloc(FC_REQUESTS, sizeof *acked);
    int64_t last = 0;
    nops = 0;
    for (int k = 0; ops && acked && k < 2; k++)
        for (size_t i = 0; i < pc_journal_size(r->j[k]); i++) {
            const pc_rec_t *rec = pc_journal_rec(r->j[k], i);
            ops[nops++] = rec->start_ns;
            if (rec->kind == PC_WRITE || rec->kind == PC_DWRITE)
                ops[nops++] = rec->start_ns + (rec->end_ns - rec->start_ns) / 2 + 1;
            last = rec->end_ns > last ? rec->end_ns : last;
        }
    for (int i = 0; ops && acked && i < FC_REQUESTS; i++)
        if (r->acks[i].ok)
            acked[nacks++] = r->acks[i].at_ns;
    if (ops && acked) {
        n = s_pick(ops, nops, want / 2, cuts);
        n += s_pick(acked, nacks, want - n, cuts + n);
        cuts[n++] = last + 1;
        qsort(cuts, n, sizeof *cuts, s_cmp_i64);
    }
    free(ops);
    free(acked);
    return n;
}

//  --------------------------------------------------------------------------
//  Checks

/* The invariants on the folders @p dir (upstream, follower) with the answers received by
 * @p cut_ns, every one checked; in a child process, its stderr into @p err. False when
 * one broke, or the check crashed or hung (the files did not open). */
static bool s_check(const s_run_t *r, char dir[2][400], int64_t cut_ns, const char *err)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        bool ok = freopen(err, "w", stderr) != NULL;
        alarm(S_CHECK_S);
        long events = 0;
        uint64_t head = 0, checkpoint = 0;
        for (int k = 0; k < 2; k++) {
            ok &= fc_verify(dir[k], r->what);
            ok &= fc_versions(dir[k], &events, r->what);
        }
        ok &= fc_requests(dir[0], r->acks, cut_ns, r->what);
        fc_heads(dir[0], dir[1], s_name(r, 0), &head, &checkpoint);
        if (checkpoint > head)
            fprintf(stderr, "%s: %s's checkpoint %llu passes %s's head %llu\n", r->what,
                    s_name(r, 1), (unsigned long long) checkpoint, s_name(r, 0),
                    (unsigned long long) head);
        ok &= checkpoint <= head;
        fflush(stderr);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    bool ran = pid > 0 && waitpid(pid, &status, 0) == pid;
    FILE *f = ran && WIFEXITED(status) ? NULL : fopen(err, ran ? "a" : "w");
    if (f && ran)
        fprintf(f, "%s: the check ended on signal %d (%s): the files do not open\n", r->what,
                WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (f)
        fprintf(f, "%s: the check did not run: %s\n", r->what, strerror(errno));
    if (f)
        fclose(f);
    return ran && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The services started on the folders rebuilt at @p cut_ns: each request answered by then
 * answered again the same; the folders checked again once they stopped. */
static bool s_check_started(s_run_t *r, int64_t cut_ns, const char *err)
{
    char path[160];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/data", s_name(r, k));
        th_set(r->th, path, r->cut[k]);
    }
    bool ok = s_start(r, 0, false) && s_start(r, 1, false) &&
              fc_resend(r->th, r->c->t, r->acks, cut_ns, r->what);
    th_stop(r->th, s_name(r, 1), SIGTERM);
    th_stop(r->th, s_name(r, 0), SIGTERM);
    r->started++;
    return s_check(r, r->cut, cut_ns, err) && ok;
}

/* The invariants an offence names (by the words faultcheck.c and s_check write). */
static const struct {
    const char *word, *name;
} s_kinds[] = {
    {"signal", "files LMDB cannot open"},
    {"cannot be read", "a log that cannot be read"},
    {"does not verify", "a log that does not verify"},
    {"version", "versions not contiguous"},
    {"answered", "an answer lost or changed"},
    {"more than once", "a request carried out twice"},
    {"checkpoint", "a checkpoint past the head"},
};
#define S_KINDS (sizeof s_kinds / sizeof s_kinds[0])

/* Prints the offences in the file @p path to stderr (at most @p most lines), and counts
 * the invariants they name into @p kinds (each once). */
static void s_offences(const char *path, int most, int *kinds)
{
    FILE *f = fopen(path, "r");
    char line[600];
    bool seen[S_KINDS] = {false};
    for (int n = 0; f && fgets(line, sizeof line, f); n++) {
        if (n < most)
            fputs(line, stderr);
        for (size_t k = 0; k < S_KINDS; k++)
            seen[k] |= strstr(line, s_kinds[k].word) != NULL;
    }
    if (f)
        fclose(f);
    for (size_t k = 0; k < S_KINDS; k++)
        kinds[k] += seen[k];
}

/* The rebuilt folders of @p r at cut point @p i (@p cut_ns) checked, with the services
 * started on them every S_SERVICE_EVERY cut points and at the last one; false when one
 * could not be written. */
static bool s_cut(s_run_t *r, size_t i, size_t ncuts, int64_t cut_ns, const char *err, int *kinds)
{
    for (int k = 0; k < 2; k++) {
        char path[420];
        pc_pick_t pick;
        snprintf(path, sizeof path, "%s/lock.mdb", r->cut[k]);
        unlink(path);
        snprintf(path, sizeof path, "%s/data.mdb", r->cut[k]);
        if (pc_journal_rebuild(r->j[k], cut_ns, &s_rng, path, &pick) != 0)
            return false;
        r->pick.durable += pick.durable;
        r->pick.kept += pick.kept;
        r->pick.lost += pick.lost;
        r->pick.torn += pick.torn;
    }
    bool plant = r->c->plant != NULL;
    bool start = !plant && (i % S_SERVICE_EVERY == S_SERVICE_EVERY - 1 || i + 1 == ncuts);
    bool good = start ? s_check_started(r, cut_ns, err) : s_check(r, r->cut, cut_ns, err);
    r->cuts++;
    if (!good) {
        /* a planted bug: the first cut point that caught it shown, the others counted */
        if (!plant || !r->broke)
            fprintf(stderr, "%s: cut point %zu of %zu (%d answers by then) broke:\n", r->what,
                    i + 1, ncuts, fc_acked(r->acks, cut_ns));
        s_offences(err, !plant || !r->broke ? 8 : 0, kinds);
        r->broke++;
    }
    return true;
}

/* One configuration: recorded, then checked at its cut points. False when it failed: an
 * invariant broke (without a planted bug), or a planted bug went uncaught. */
static bool s_config(const s_config_t *c, int want)
{
    s_run_t r = {.c = c, .th = th_new("powercut")};
    snprintf(r.what, sizeof r.what, "%s %s%s%s", c->t->name,
             c->pipeline ? "pipelined" : "unpipelined", c->plant ? ", planted " : "",
             c->plant ? c->plant : "");
    if (!r.th)
        return false;
    fc_configure(r.th, c->t, c->pipeline);
    bool ok = s_record(&r);
    int64_t *cuts = calloc((size_t) want + 1, sizeof *cuts);
    size_t ncuts = ok && cuts ? s_cut_points(&r, (size_t) want, cuts) : 0;
    char err[400];
    snprintf(err, sizeof err, "%s/check.err", th_dir(r.th));
    int kinds[S_KINDS] = {0};
    for (size_t i = 0; ok && i < ncuts; i++)
        ok = s_cut(&r, i, ncuts, cuts[i], err, kinds);
    if (!c->plant && r.broke)
        ok = false;
    if (c->plant && ok && !r.broke) {
        fprintf(stderr, "%s: the planted bug was not caught in %d cut points\n", r.what, r.cuts);
        ok = false;
    }
    else if (c->plant && ok) {
        fprintf(stderr, "%s: the planted bug was caught at %d of %d cut points:", r.what, r.broke,
                r.cuts);
        for (size_t k = 0; k < S_KINDS; k++)
            if (kinds[k])
                fprintf(stderr, " %s %d;", s_kinds[k].name, kinds[k]);
        fprintf(stderr, "\n");
    }
    printf("powercut: %s: %zu records, %d answers, %d cut points (%d with the services "
           "started); unflushed writes kept %d, lost %d, torn %d; %d broke an invariant%s\n",
           r.what, r.j[0] && r.j[1] ? pc_journal_size(r.j[0]) + pc_journal_size(r.j[1]) : 0,
           r.acks ? fc_acked(r.acks, INT64_MAX) : 0, r.cuts, r.started, r.pick.kept, r.pick.lost,
           r.pick.torn, r.broke, c->plant ? " (a planted bug: must)" : "");
    fflush(stdout);
    s_cuts_done += r.cuts;
    s_started_done += r.started;
    free(cuts);
    for (int k = 0; k < 2; k++)
        pc_journal_destroy(&r.j[k]);
    fc_acks_destroy(&r.acks);
    th_destroy(&r.th);
    return ok;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    th_env("TP_FAULTINJ");
    const char *seed = getenv("TP_POWERCUT_SEED");
    s_rng =
        seed ? strtoull(seed, NULL, 0) : (uint64_t) time(NULL) * 2654435761u ^ (uint64_t) getpid();
    s_rng = s_rng ? s_rng : 1;
    const char *want = getenv("TP_POWERCUT_CUTS");
    int cuts = want ? atoi(want) : S_CUTS;
    printf("powercut: seed %llu (TP_POWERCUT_SEED)\n", (unsigned long long) s_rng);
    int64_t t0 = zclock_mono();
    int configs = 0, failed = 0, planted = 0, caught = 0;
    for (size_t i = 0; i < sizeof s_configs / sizeof s_configs[0]; i++) {
        const s_config_t *c = &s_configs[i];
        bool ok = s_config(c, c->plant ? (cuts < S_PLANTED_CUTS ? cuts : S_PLANTED_CUTS) : cuts);
        configs++;
        failed += !ok;
        planted += c->plant != NULL;
        caught += c->plant && ok;
    }
    printf("powercut: %d configurations, %d cut points checked (%d with the services started), "
           "planted bugs caught %d of %d, %.0f s: %s\n",
           configs, s_cuts_done, s_started_done, caught, planted, (zclock_mono() - t0) / 1000.0,
           failed ? "FAILED" : "OK");
    return failed ? 1 : 0;
}
