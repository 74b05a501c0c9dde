/* selftest.c: runs the eventstore library's self-tests (--test NAME, or all). */
#include <stdio.h>
#include <string.h>
#include "evs.h"
#include "evs_backup.h"
#include "evs_bloom.h"
#include "evs_bus.h"
#include "evs_group.h"
#include "evs_js.h"
#include "evs_keys.h"
#include "evs_vault.h"
#include "evs_witness.h"
#include "evs_sha256.h"

typedef struct {
    const char *name;
    int (*fn)(bool verbose);
} s_test_t;

static const s_test_t s_tests[] = {
    {"evs", evs_test},
    {"evs_backup", evs_backup_test},
    {"evs_bloom", evs_bloom_test},
    {"evs_bus", evs_bus_test},
    {"evs_group", evs_group_test},
    {"evs_failover", evs_failover_test},
    {"evs_js", evs_js_test},
    {"evs_keys", evs_keys_test},
    {"evs_sub", evs_sub_test},
    {"evs_vault", evs_vault_test},
    {"evs_witness", evs_witness_test},
    {"evs_sha256", evs_sha256_test},
};

int main(int argc, char **argv)
{
    const char *only = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--test") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
    }
    int failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof s_tests / sizeof s_tests[0]; i++) {
        if (only && strcmp(only, s_tests[i].name) != 0)
            continue;
        ran++;
        int rc = s_tests[i].fn(verbose);
        printf("%s: %s\n", s_tests[i].name, rc == 0 ? "OK" : "FAILED");
        if (rc != 0)
            failed++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test named '%s'\n", only ? only : "");
        return 2;
    }
    return failed ? 1 : 0;
}
