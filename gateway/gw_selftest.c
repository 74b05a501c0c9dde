/* gw_selftest.c: the gateway's module self-tests (gw_selftest [-v]). */
#include <stdio.h>
#include <string.h>
#include "gw_events.h"

int main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    int rc = gw_events_test(verbose);
    printf("gw_events: %s\n", rc ? "FAILED" : "OK");
    return rc;
}
