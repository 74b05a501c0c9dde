/* gw_selftest.c: runs the gateway modules' self-tests (`gw_selftest [-v]`). */
#include <stdio.h>
#include <string.h>
#include "gw_backend.h"
#include "gw_events.h"
#include "gw_json.h"

int main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    int failed = 0;
    if (gw_backend_test(verbose) != 0) {
        printf("gw_backend: FAILED\n");
        failed++;
    }
    if (gw_events_test(verbose) != 0) {
        printf("gw_events: FAILED\n");
        failed++;
    }
    if (gw_json_test(verbose) != 0) {
        printf("gw_json: FAILED\n");
        failed++;
    }
    printf("gateway self-tests: %s\n", failed ? "FAILED" : "OK");
    return failed ? 1 : 0;
}
