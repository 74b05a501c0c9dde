/* pub_crash.c: the publisher killed with SIGKILL during group commit under load from
 * several clients. After restart every acknowledged event is in the log, the chain
 * verifies, and the clients' retries with the same request ids write nothing twice. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "logcheck.h"

#define N_CLIENTS 8
#define PER_CLIENT 4000

typedef struct {
    zhashx_t *by_request;   /* causation id (request id) -> times written */
    zhashx_t *seq_of;       /* request id -> seq (as text) */
    int64_t events;
} s_log_t;

static void s_index(const Tp__Envelope *env, void *arg)
{
    s_log_t *l = arg;
    l->events++;
    uintptr_t n = (uintptr_t) zhashx_lookup(l->by_request, env->causation_id);
    zhashx_update(l->by_request, env->causation_id, (void *) (n + 1));
    zhashx_update(l->seq_of, env->causation_id, (void *) (uintptr_t) env->seq);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const char *exe = th_env("TP_EXAMPLE");
    th_t *th = th_new("pubcrash");
    th_set(th, "tick_ms", "60000");
    TH_CHECK(th_start(th, exe, "alpha", 10000) > 0);
    char ep[400];
    th_router(th, "alpha", ep, sizeof ep);

    th_load_t loads[N_CLIENTS];
    pthread_t threads[N_CLIENTS];
    char prefixes[N_CLIENTS][16];
    for (int i = 0; i < N_CLIENTS; i++) {
        snprintf(prefixes[i], sizeof prefixes[i], "p%d", i);
        loads[i] = (th_load_t) {ep, prefixes[i], PER_CLIENT, 64, 1500, 120000,
                                calloc(PER_CLIENT, sizeof(uint64_t)), 0, 0, 0, 0};
        TH_CHECK(th_load_keys(&loads[i], th_keys(th), "alpha") == 0);
        pthread_create(&threads[i], NULL, th_load_run, &loads[i]);
    }
    /* kill while the load is in full flow: group commits are under way */
    int acked_before = 0;
    while (acked_before < N_CLIENTS * PER_CLIENT / 4) {
        zclock_sleep(2);
        acked_before = 0;
        for (int i = 0; i < N_CLIENTS; i++)
            acked_before += loads[i].acked;
    }
    th_stop(th, "alpha", SIGKILL);
    /* what was acknowledged before the kill must survive it: snapshot it now */
    uint64_t *snap[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        snap[i] = malloc(PER_CLIENT * sizeof(uint64_t));
        memcpy(snap[i], loads[i].acked_seq, PER_CLIENT * sizeof(uint64_t));
    }
    zclock_sleep(300);
    TH_CHECK(th_start(th, exe, "alpha", 10000) > 0);
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_join(threads[i], NULL);

    int resends = 0, replayed = 0, answered = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        resends += loads[i].resends;
        replayed += loads[i].replayed;
        answered += loads[i].acked - loads[i].refused;
    }
    fprintf(stderr, "pub_crash: %d acknowledged before the kill, %d resent, %d answered "
            "from the idempotency record, %d answered in all\n",
            acked_before, resends, replayed, answered);
    TH_CHECK(answered == N_CLIENTS * PER_CLIENT);
    TH_CHECK(resends > 0);

    /* every client retries its whole run with the same request ids: each answer must
     * come from the idempotency record, with the seq first given, writing nothing */
    th_load_t again[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        again[i] = (th_load_t) {ep, prefixes[i], PER_CLIENT, 64, 1500, 120000,
                                calloc(PER_CLIENT, sizeof(uint64_t)), 0, 0, 0, 0};
        TH_CHECK(th_load_keys(&again[i], th_keys(th), "alpha") == 0);
        pthread_create(&threads[i], NULL, th_load_run, &again[i]);
    }
    int replayed_all = 0, same_seq = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        replayed_all += again[i].replayed;
        for (int k = 0; k < PER_CLIENT; k++)
            same_seq += again[i].acked_seq[k] == loads[i].acked_seq[k];
        free(again[i].acked_seq);
    }
    fprintf(stderr, "pub_crash: full retry: %d of %d answered replayed, %d with the same seq\n",
            replayed_all, N_CLIENTS * PER_CLIENT, same_seq);
    TH_CHECK(replayed_all == N_CLIENTS * PER_CLIENT && same_seq == N_CLIENTS * PER_CLIENT);

    char dir[512];
    th_data_dir(th, "alpha", dir, sizeof dir);
    s_log_t l = {zhashx_new(), zhashx_new(), 0};
    TH_CHECK(lc_each(dir, s_index, &l) > 0);
    /* each request written exactly once */
    TH_CHECK(l.events == N_CLIENTS * PER_CLIENT);
    TH_CHECK(zhashx_size(l.by_request) == (size_t) (N_CLIENTS * PER_CLIENT));
    int64_t twice = 0, lost = 0, moved = 0;
    for (void *n = zhashx_first(l.by_request); n; n = zhashx_next(l.by_request))
        if ((uintptr_t) n != 1)
            twice++;
    for (int i = 0; i < N_CLIENTS; i++)
        for (int k = 0; k < PER_CLIENT; k++) {
            char rid[160];
            snprintf(rid, sizeof rid, "%s-%d", prefixes[i], k);
            uintptr_t seq = (uintptr_t) zhashx_lookup(l.seq_of, rid);
            if (!seq)
                lost++;
            else if (snap[i][k] && snap[i][k] != seq)
                moved++;   /* acknowledged at one seq, found at another */
            else if (loads[i].acked_seq[k] != seq)
                moved++;
        }
    fprintf(stderr, "pub_crash: %ld written twice, %ld lost, %ld at another seq\n", (long) twice,
            (long) lost, (long) moved);
    TH_CHECK(twice == 0 && lost == 0 && moved == 0);
    TH_CHECK(th_run(NULL, "%s log verify '%s' >/dev/null", th_env("TPCTL"), dir) == 0);

    zhashx_destroy(&l.by_request);
    zhashx_destroy(&l.seq_of);
    for (int i = 0; i < N_CLIENTS; i++) {
        free(snap[i]);
        free(loads[i].acked_seq);
    }
    th_destroy(&th);
    printf("pub_crash: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
