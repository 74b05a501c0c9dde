/* group_load.c: many pipelined clients against one example service (group_load.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "group_load.h"
#include "harness.h"

double gl_run(const char *endpoint, const char *keys_dir, const char *service, const char *prefix,
              int clients, int inflight, int events, int timeout_ms)
{
    int per_client = clients > 0 ? events / clients : 0;
    th_load_t *loads = calloc((size_t) clients, sizeof *loads);
    pthread_t *threads = calloc((size_t) clients, sizeof *threads);
    char(*prefixes)[48] = calloc((size_t) clients, sizeof *prefixes);
    if (per_client < 1 || inflight < 1 || !loads || !threads || !prefixes) {
        fprintf(stderr, "bench: %d events from %d clients, %d in flight each\n", events, clients,
                inflight);
        exit(1);
    }
    int64_t t0 = zclock_usecs();
    for (int i = 0; i < clients; i++) {
        snprintf(prefixes[i], sizeof prefixes[i], "%s%d", prefix, i);
        loads[i] = (th_load_t){.endpoint = endpoint,
                               .prefix = prefixes[i],
                               .count = per_client,
                               .inflight = inflight,
                               .timeout_ms = timeout_ms,
                               .give_up_ms = 60 * timeout_ms,
                               .acked_seq = calloc((size_t) per_client, sizeof(uint64_t))};
        if (th_load_keys(&loads[i], keys_dir, service) != 0) {
            fprintf(stderr, "bench: no key operator-test or %s in %s\n", service, keys_dir);
            exit(1);
        }
        pthread_create(&threads[i], NULL, th_load_run, &loads[i]);
    }
    int done = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(threads[i], NULL);
        done += loads[i].acked - loads[i].refused;
        free(loads[i].acked_seq);
    }
    int64_t took = zclock_usecs() - t0;
    free(loads);
    free(threads);
    free(prefixes);
    if (done != clients * per_client) {
        fprintf(stderr, "bench: only %d of %d group requests answered\n", done,
                clients * per_client);
        exit(1);
    }
    return (double) done * 1e6 / (double) took;
}
