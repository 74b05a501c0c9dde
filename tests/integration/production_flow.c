/* production_flow.c: all five daemons over real sockets (issue 4): three orders released
 * for production (PostIdent result and signed application); the producers' facts, half
 * through `tpctl produce`, half through the production service's CURVE endpoint; each
 * order In Produktion -> Versendet (tracking number, product) -> Fertig (archived); each
 * product Nicht freigeschaltet -> Gültig after activation_delay_s; then revoked by its
 * owner (logged in), with the revocation password (no login), and by the officer of the
 * shop the seal card came from: Sperrung in Bearbeitung -> Gesperrt, the serials on the
 * revocation list with the evidence of each request. Every refusal on the way (facts out
 * of order, duplicates, wrong owner, wrong password, double revocation, ...) writes
 * nothing, or the one event its service documents; at the end every log verifies,
 * replays to the live state and holds each once-per-order event exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include "prodflow.h"

/* The slow-commit log: the facts' group commits in the production service, the order
 * service's reactions to them, each with where its time went. */
static void s_check_slow_commits(pf_t *pf)
{
    char *groups = NULL, *reactions = NULL;
    th_run(&groups,
           "grep -c 'production: slow commit: [0-9.]* ms for [0-9]* requests, [0-9]* records "
           "(puts [0-9.]* ms.*, write + flush [0-9.]*, other' "
           "'%s/logs/production.log'",
           th_dir(pf->th));
    th_run(&reactions,
           "grep -c 'order: slow commit: [0-9.]* ms of reactions, ticks or checkpoints' "
           "'%s/logs/order.log'",
           th_dir(pf->th));
    fprintf(stderr, "slow-commit lines: production groups %d, order reactions %d\n",
            groups ? atoi(groups) : -1, reactions ? atoi(reactions) : -1);
    TH_CHECK(groups && atoi(groups) > 10);
    TH_CHECK(reactions && atoi(reactions) > 5);
    free(groups);
    free(reactions);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    pf_t pf = {0};
    pf.refusals = true;
    /* every commit over 1 µs is logged as slow: the lines of both kinds of commit */
    setenv("TP_BENCH_SLOW_COMMIT_MS", "0.001", 1);
    bool up = pf_setup(&pf, "production");
    TH_CHECK(up);
    bool ran = up && pf_run(&pf);
    TH_CHECK(ran);
    if (ran) {
        char *state = pf_end_state(&pf);
        fprintf(stderr, "end state:\n%s", state ? state : "(none)\n");
        free(state);
        pf_check_logs(&pf);
        s_check_slow_commits(&pf);
    }
    th_destroy(&pf.th);
    fprintf(stderr, "production_flow: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("production_flow: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
