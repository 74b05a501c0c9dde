/* selftest.c: runs the service runtime's module self-tests (--test NAME, or all). */
#include <stdio.h>
#include <string.h>
#include "svc_mail.h"
#include "svc_text.h"

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
    int failed = 0;
    if (!only || strcmp(only, "svc_mail") == 0) {
        int rc = svc_mail_test(verbose);
        printf("svc_mail: %s\n", rc == 0 ? "OK" : "FAILED");
        failed += rc != 0;
    }
    if (!only || strcmp(only, "svc_text") == 0) {
        int rc = svc_text_test(verbose);
        printf("svc_text: %s\n", rc == 0 ? "OK" : "FAILED");
        failed += rc != 0;
    }
    return failed ? 1 : 0;
}
