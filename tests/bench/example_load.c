/* example_load.c: drives a running example service with pipelined clients, for
 * profiling (e.g. the daemon under callgrind):
 *   example_load ENDPOINT KEYS SERVICE CLIENTS INFLIGHT COUNT
 * (KEYS: the keys folder; the clients send with operator-test's key to SERVICE's) */
#include <stdio.h>
#include <stdlib.h>
#include "group_load.h"
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
    char prefix[16];
    snprintf(prefix, sizeof prefix, "l%04x-", (unsigned) (zclock_usecs() & 0xffff));
    int64_t t0 = zclock_usecs();
    gl_run(argv[1], argv[2], argv[3], prefix, clients, inflight, clients * count, 60000);
    double secs = (double) (zclock_usecs() - t0) / 1e6;
    int done = clients * count;   /* gl_run ends the process when one is not answered */
    printf("%d requests in %.2f s: %.0f/s\n", done, secs, done / secs);
    return 0;
}
