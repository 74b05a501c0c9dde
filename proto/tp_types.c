/* tp_types.c: registry of the message types, searched by tools (tpctl, codec). */
#include <string.h>
#include "tp_types.h"
#include "tp.pb-c.h"
#include "example.pb-c.h"

const ProtobufCMessageDescriptor *const tp_types_all[] = {
    &tp__envelope__descriptor,
    &tp__read_events_request__descriptor,
    &tp__read_events_reply__descriptor,
    &tp__heartbeat__descriptor,
    &tp__request_header__descriptor,
    &tp__error__descriptor,
    &tp__request__descriptor,
    &tp__reply__descriptor,
    &tp__example__increment__descriptor,
    &tp__example__set_secret__descriptor,
    &tp__example__get_counter__descriptor,
    &tp__example__counter_value__descriptor,
    &tp__example__counter_incremented__descriptor,
    &tp__example__secret_set__descriptor,
    &tp__example__upstream_seen__descriptor,
    &tp__example__ticked__descriptor,
    NULL,
};

const ProtobufCMessageDescriptor *tp_types_find(const char *service, const char *type)
{
    if (!type)
        return NULL;
    size_t slen = service ? strlen(service) : 0;
    for (size_t i = 0; tp_types_all[i]; i++) {
        const ProtobufCMessageDescriptor *d = tp_types_all[i];
        if (strcmp(d->name, type) == 0 || strcmp(d->short_name, type) == 0) {
            /* with the short name and a service, the package must be tp.<service> */
            if (strcmp(d->name, type) != 0 && service) {
                const char *pkg = d->package_name;
                if (strncmp(pkg, "tp.", 3) != 0 || strncmp(pkg + 3, service, slen) != 0 ||
                    pkg[3 + slen] != '\0')
                    continue;
            }
            return d;
        }
        if (strcmp(d->name, type) == 0)
            return d;
    }
    return NULL;
}
