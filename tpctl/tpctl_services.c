/* tpctl_services.c: the service cores tpctl knows, for replay. */
#include <string.h>
#include "example.h"
#include "tp_types.h"
#include "tpctl.h"

typedef struct {
    const char *name;
    const svc_def_t *def;
} s_entry_t;

static const s_entry_t s_services[] = {
    {"example", &example_def},
};

const char *const tpctl_service_names[] = {"example", NULL};

/* Reply types by command (the runtime's command tables name only the command type). */
typedef struct {
    const char *service, *command, *reply;
} s_reply_t;

static const s_reply_t s_replies[] = {
    {"example", "Increment", "tp.example.CounterValue"},
    {"example", "SetSecret", "tp.example.CounterValue"},
    {"example", "GetCounter", "tp.example.CounterValue"},
};

const ProtobufCMessageDescriptor *tpctl_reply_type(const char *service, const char *command)
{
    if (strcmp(command, "$status") == 0)
        return tp_types_find(NULL, "tp.Heartbeat");
    for (size_t i = 0; i < sizeof s_replies / sizeof s_replies[0]; i++)
        if (strcmp(s_replies[i].service, service) == 0 &&
            strcmp(s_replies[i].command, command) == 0)
            return tp_types_find(NULL, s_replies[i].reply);
    /* an instance of another name: the command name alone */
    for (size_t i = 0; i < sizeof s_replies / sizeof s_replies[0]; i++)
        if (strcmp(s_replies[i].command, command) == 0)
            return tp_types_find(NULL, s_replies[i].reply);
    return NULL;
}

const svc_def_t *tpctl_service(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_services / sizeof s_services[0]; i++)
        if (strcmp(s_services[i].name, name) == 0)
            return s_services[i].def;
    return NULL;
}
