/* selftest.c: runs the service runtime's module self-tests (--test NAME, or all). */
#include <stdio.h>
#include <string.h>
#include "svc_addr.h"
#include "svc_seal.h"
#include "svc_lock.h"
#include "svc_mail.h"
#include "svc_officers.h"
#include "svc_settings.h"
#include "svc_text.h"

static const struct {
    const char *name;
    int (*run)(bool verbose);
} s_tests[] = {
    {"svc_mail", svc_mail_test},
    {"svc_text", svc_text_test},
    {"svc_addr", svc_addr_test},
    {"svc_officers", svc_officers_test},
    {"svc_lock", svc_lock_test},
    {"svc_seal", svc_seal_test},
    {"svc_settings", svc_settings_test},
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
        int rc = s_tests[i].run(verbose);
        printf("%s: %s\n", s_tests[i].name, rc == 0 ? "OK" : "FAILED");
        failed += rc != 0;
        ran++;
    }
    if (ran == 0)
        fprintf(stderr, "selftest: no test named %s\n", only);
    return failed || ran == 0 ? 1 : 0;
}
