/* production_crash.c: the production flow (prodflow.h) twice, on two fresh systems:
 * once untouched, once with a daemon killed with SIGKILL after every step and started
 * again at once (the five in turn, shuffled every round, each after a random 0-80 ms, so
 * the kill falls while reactions and timers of that step are still in flight). The
 * second run must end in the same state as the first (orders Fertig and archived,
 * products Gesperrt, the same revocation list and requests, the same counts in every
 * service's summary), with every log verifying, replaying to its live state and holding
 * each once-per-order event exactly once: nothing lost, nothing twice.
 * TP_SEED=N repeats a run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "prodflow.h"

typedef struct {
    int order[5];       /* this round's order of the five (a fresh shuffle every round) */
    int kills[5];       /* per service */
    int steps;
} s_chaos_t;

static void s_kill_one(pf_t *pf, const char *step)
{
    s_chaos_t *c = pf->arg;
    if (c->steps % 5 == 0) /* Fisher-Yates */
        for (int k = 4; k >= 0; k--) {
            int j = (int) (random() % (k + 1)), t = c->order[k];
            c->order[k] = c->order[j];
            c->order[j] = t;
        }
    int i = c->order[c->steps % 5];
    const char *name = pf_services[i];
    zclock_sleep((int) (random() % 81));
    th_stop(pf->th, name, SIGKILL);
    TH_CHECK(!th_running(pf->th, name));
    bool up = th_start(pf->th, th_exe_of(name), name, 15000) > 0;
    if (!up)
        fprintf(stderr, "after step %s: %s did not come back\n", step, name);
    TH_CHECK(up);
    c->kills[i]++;
    c->steps++;
    fprintf(stderr, "step %-22s killed %s\n", step, name);
}

/* Runs the flow on a fresh system; its end state (caller frees), or NULL. */
static char *s_run(const char *name, s_chaos_t *chaos)
{
    pf_t pf = {0};
    if (chaos) {
        pf.crash = true;
        pf.after_step = s_kill_one;
        pf.arg = chaos;
    }
    char *state = NULL;
    bool ok = pf_setup(&pf, name) && pf_run(&pf);
    TH_CHECK(ok);
    if (ok) {
        state = pf_end_state(&pf);
        pf_check_logs(&pf);
    }
    th_destroy(&pf.th);
    return state;
}

/* Prints the lines of @p a and @p b that differ. */
static void s_diff(const char *a, const char *b)
{
    char *x = strdup(a), *y = strdup(b), *sx = NULL, *sy = NULL;
    char *lx = strtok_r(x, "\n", &sx), *ly = strtok_r(y, "\n", &sy);
    while (lx || ly) {
        if (!lx || !ly || strcmp(lx, ly) != 0)
            fprintf(stderr, "  untouched: %s\n  killed:    %s\n", lx ? lx : "(nothing)",
                    ly ? ly : "(nothing)");
        lx = lx ? strtok_r(NULL, "\n", &sx) : NULL;
        ly = ly ? strtok_r(NULL, "\n", &sy) : NULL;
    }
    free(x);
    free(y);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    const char *seed_env = getenv("TP_SEED");
    unsigned seed = seed_env ? (unsigned) strtoul(seed_env, NULL, 10)
                             : (unsigned) time(NULL) ^ (unsigned) getpid();
    srandom(seed);
    fprintf(stderr, "production_crash: TP_SEED=%u\n", seed);
    s_chaos_t chaos = {{0, 1, 2, 3, 4}, {0}, 0};

    char *untouched = s_run("prodref", NULL);
    fprintf(stderr, "untouched run: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    char *killed = s_run("prodcrash", &chaos);
    fprintf(stderr, "run with %d kills: %.1f s\n", chaos.steps,
            (double) (zclock_mono() - t0) / 1000.0);

    TH_CHECK(untouched && killed);
    bool same = untouched && killed && strcmp(untouched, killed) == 0;
    if (!same && untouched && killed) {
        fprintf(stderr, "the end states differ:\n");
        s_diff(untouched, killed);
    }
    TH_CHECK(same);
    if (untouched)
        fprintf(stderr, "end state of both runs:\n%s", untouched);
    /* every daemon went down more than once, at different steps */
    for (int i = 0; i < 5; i++) {
        fprintf(stderr, "%s killed %d times\n", pf_services[i], chaos.kills[i]);
        TH_CHECK(chaos.kills[i] >= 2);
    }
    free(untouched);
    free(killed);
    fprintf(stderr, "production_crash: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("production_crash: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
