/* tpctl_services.c: the service cores tpctl knows, for replay. */
#include <string.h>
#include "example.h"
#include "tpctl.h"

typedef struct {
    const char *name;
    const svc_def_t *def;
} s_entry_t;

static const s_entry_t s_services[] = {
    {"example", &example_def},
};

const char *const tpctl_service_names[] = {"example", NULL};

const svc_def_t *tpctl_service(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_services / sizeof s_services[0]; i++)
        if (strcmp(s_services[i].name, name) == 0)
            return s_services[i].def;
    return NULL;
}
