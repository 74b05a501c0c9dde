/* example_load.c: drives a running example service with pipelined clients, for
 * profiling (e.g. the daemon under callgrind):
 *   example_load ENDPOINT KEYS SERVICE CLIENTS INFLIGHT COUNT
 * (KEYS: the keys folder; the clients send with operator-test's key to SERVICE's) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: example_load ENDPOINT KEYS SERVICE CLIENTS INFLIGHT "
                        "COUNT-PER-CLIENT\n");
        return 2;
    }
    int clients = atoi(argv[4]), inflight = atoi(argv[5]), count = atoi(argv[6]);
    if (clients < 1 || clients > 256 || inflight < 1 || count < 1) {
        fprintf(stderr, "example_load: bad numbers\n");
        return 2;
    }
    zsys_init();
    th_load_t *loads = calloc((size_t) clients, sizeof *loads);
    pthread_t *threads = calloc((size_t) clients, sizeof *threads);
    char (*prefixes)[32] = calloc((size_t) clients, 32);
    char run[16];
    snprintf(run, sizeof run, "%04x", (unsigned) (zclock_usecs() & 0xffff));
    int64_t t0 = zclock_usecs();
    for (int i = 0; i < clients; i++) {
        snprintf(prefixes[i], 32, "l%s-%d", run, i);
        loads[i] = (th_load_t) {argv[1], prefixes[i], count, inflight, 60000, 3600000,
                                calloc((size_t) count, sizeof(uint64_t)), 0, 0, 0, 0};
        if (th_load_keys(&loads[i], argv[2], argv[3]) != 0) {
            fprintf(stderr, "example_load: no key operator-test or %s in %s\n", argv[3], argv[2]);
            return 1;
        }
        pthread_create(&threads[i], NULL, th_load_run, &loads[i]);
    }
    int done = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(threads[i], NULL);
        done += loads[i].acked - loads[i].refused;
        free(loads[i].acked_seq);
    }
    double secs = (double) (zclock_usecs() - t0) / 1e6;
    printf("%d requests in %.2f s: %.0f/s\n", done, secs, done / secs);
    free(loads);
    free(threads);
    free(prefixes);
    return done == clients * count ? 0 : 1;
}
