/* ctl.h: tpctl as an operator runs it, for the integration tests: one command of a test's
 * system (th_config) with its JSON output parsed, and the few readings of a log folder
 * that several tests take (a checkpoint, a count of events of a type). */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stdint.h>
#include "harness.h"

/** Runs `$TPCTL -c <th's config> <args>`: stdout parsed into *json when it is one JSON
 *  value (NULL otherwise; caller decrefs; @p json may be NULL), stderr into *err when
 *  @p err is not NULL (caller frees). Returns the exit code. */
int ctl_run(th_t *th, json_t **json, char **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** The integer member @p key of @p j (0 when missing). */
int64_t ctl_int(json_t *j, const char *key);

/** The checkpoint of @p upstream kept in the log folder @p dir (`tpctl log stats`); -1
 *  when it cannot be read. */
int64_t ctl_checkpoint(th_t *th, const char *dir, const char *upstream);

/** Events of @p type in the log folder @p dir (`tpctl log dump --type`); -1 on failure. */
int ctl_count(th_t *th, const char *dir, const char *type);

#endif
