/* evs_check.h: the checks of the event store's self-tests (evs_test.c, evs_backup.c). A
 * failed one says which test, where and what (an evs code with its text), and jumps to the
 * test function's `fail:` label. Each file names itself:
 *     #define S_CHECK(cond) EVS_CHECK("evs_test", cond)
 */
#ifndef EVS_CHECK_H
#define EVS_CHECK_H

#include <stdio.h>
#include "evs.h"

#define EVS_CHECK(who, cond)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s: %s:%d: failed: %s\n", who, __FILE__, __LINE__, #cond);          \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

#define EVS_CHECK_RC(who, expr, want)                                                              \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (want)) {                                                                       \
            fprintf(stderr, "%s: %s:%d: %s = %d (%s), expected %d\n", who, __FILE__, __LINE__,   \
                    #expr, rc_, evs_strerror(rc_), (want));                                        \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

#endif
