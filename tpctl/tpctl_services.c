/* tpctl_services.c: the service cores tpctl knows: for replay, and for the reply
 * types of commands. */
#include <string.h>
#include "account.h"
#include "example.h"
#include "identification.h"
#include "order.h"
#include "production.h"
#include "revocation.h"
#include "tp_types.h"
#include "tpctl.h"

typedef struct {
    const char *name;
    const svc_def_t *def;
} s_entry_t;

static const s_entry_t s_services[] = {
    {"example", &example_def},
    {"account", &account_def},
    {"identification", &identification_def},
    {"order", &order_def},
    {"production", &production_def},
    {"revocation", &revocation_def},
};
#define S_N_SERVICES (sizeof s_services / sizeof s_services[0])

const char *const tpctl_service_names[] = {"example", "account", "identification", "order",
                                           "production", "revocation", NULL};

const svc_def_t *tpctl_service(const char *name)
{
    for (size_t i = 0; name && i < S_N_SERVICES; i++)
        if (strcmp(s_services[i].name, name) == 0)
            return s_services[i].def;
    return NULL;
}

static const ProtobufCMessageDescriptor *s_reply_in(const svc_def_t *def, const char *command)
{
    for (size_t i = 0; i < def->n_commands; i++)
        if (strcmp(def->commands[i].name, command) == 0)
            return def->commands[i].reply;
    return NULL;
}

const ProtobufCMessageDescriptor *tpctl_reply_type(const char *service, const char *command)
{
    if (strcmp(command, "$status") == 0)
        return tp_types_find(NULL, "tp.Heartbeat");
    const svc_def_t *def = tpctl_service(service);
    if (def)
        return s_reply_in(def, command);
    /* an instance of another name (the example service run as "alpha"): by command name */
    for (size_t i = 0; i < S_N_SERVICES; i++) {
        const ProtobufCMessageDescriptor *d = s_reply_in(s_services[i].def, command);
        if (d)
            return d;
    }
    return NULL;
}
