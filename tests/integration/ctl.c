/* ctl.c: tpctl for the integration tests (ctl.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "ctl.h"

int ctl_run(th_t *th, json_t **json, char **err, const char *fmt, ...)
{
    char args[1600], errfile[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errfile, sizeof errfile, "%s/tpctl.err", th_dir(th));
    char *out = NULL;
    int rc = th_run(&out, "%s -c '%s' %s 2>'%s'", th_env("TPCTL"), th_config(th), args, errfile);
    if (json)
        *json = out ? json_loads(out, JSON_DECODE_ANY, NULL) : NULL;
    free(out);
    if (err) {
        *err = NULL;
        th_run(err, "cat '%s'", errfile);
    }
    return rc;
}

int64_t ctl_int(json_t *j, const char *key)
{
    return (int64_t) json_integer_value(json_object_get(j, key));
}

int64_t ctl_checkpoint(th_t *th, const char *dir, const char *upstream)
{
    json_t *j = NULL;
    int rc = ctl_run(th, &j, NULL, "log stats '%s'", dir);
    json_t *cp = json_object_get(json_object_get(j, "checkpoints"), upstream);
    int64_t v = rc == 0 && j ? (cp ? (int64_t) json_integer_value(cp) : 0) : -1;
    json_decref(j);
    return v;
}

int ctl_count(th_t *th, const char *dir, const char *type)
{
    char *out = NULL;
    int rc = th_run(&out, "%s log dump '%s' --type %s", th_env("TPCTL"), dir, type);
    int n = 0;
    for (const char *p = out; rc == 0 && p && *p; p++)
        n += *p == '\n';
    free(out);
    return rc == 0 ? n : -1;
}
