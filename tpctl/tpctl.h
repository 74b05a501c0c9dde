/* tpctl.h: shared declarations of the operator CLI's parts. */
#ifndef TPCTL_H
#define TPCTL_H
#include "svc.h"

/** `tpctl log ...`; returns the process exit code. */
int tpctl_log(int argc, char **argv);

/** The core of a service by name ("example", "order", ...), or NULL. */
const svc_def_t *tpctl_service(const char *name);

/** Names of every known service, NULL-terminated. */
extern const char *const tpctl_service_names[];
#endif
