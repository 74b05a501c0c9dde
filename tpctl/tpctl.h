/* tpctl.h: shared declarations of the operator CLI's parts. */
#ifndef TPCTL_H
#define TPCTL_H
#include "svc.h"

/** `tpctl log ...`; returns the process exit code. */
int tpctl_log(int argc, char **argv);

/** The core of a service by name ("example", "order", ...), or NULL. */
const svc_def_t *tpctl_service(const char *name);

/** The reply message type of a service's command, or NULL when unknown. */
const ProtobufCMessageDescriptor *tpctl_reply_type(const char *service, const char *command);

/** `tpctl call SERVICE COMMAND [JSON] [--role R] [--as ACCOUNT] [--request-id ID]`. */
int tpctl_call(int argc, char **argv, const char *config_path);

/** Sends one command given as JSON and prints the reply as JSON; returns the exit code
 *  (0 ok, 1 refused or no answer, 2 bad input). */
int tpctl_call_json(const char *config_path, const char *service, const char *command,
                    const char *json_text, const char *role, const char *actor,
                    const char *request_id);

/** Names of every known service, NULL-terminated. */
extern const char *const tpctl_service_names[];
#endif
