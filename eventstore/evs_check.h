/* evs_check.h: the checks of the event store's self-tests (evs_test.c, evs_backup.c,
 * evs_vault_test.c). A failed one says which test, where and what (an evs code with its
 * text), and jumps to the test function's `fail:` label. Each file names itself:
 *     #define S_CHECK(cond) EVS_CHECK("evs_test", cond)
 * Besides, a few looks at files and folders (evs_check.c).
 */
#ifndef EVS_CHECK_H
#define EVS_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
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

/** True when @p path exists with permission bits @p mode. */
bool evs_check_mode(const char *path, mode_t mode);

/** True when no name in @p dir starts with @p prefix (a temporary folder left over). */
bool evs_check_none_like(const char *dir, const char *prefix);

/** Closes the ends of the pipes @p a and @p b that are open (>= 0), and marks them -1. */
void evs_check_close_pipes(int a[2], int b[2]);

/** Removes @p dir and everything below it. */
void evs_check_rmtree(const char *dir);

#endif
