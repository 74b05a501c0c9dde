/* tp_types.c: registry of the message types, searched by tools (tpctl, codec). */
#include <string.h>
#include "tp_types.h"
#include "tp_types_list.h"

const ProtobufCMessageDescriptor *const tp_types_all[] = {TP_TYPES_LIST};

const ProtobufCMessageDescriptor *tp_types_find(const char *service, const char *type)
{
    if (!type)
        return NULL;
    /* the runtime's own events in every log: signed heads (eventstore/evs_witness.h) */
    if (strcmp(type, "HeadSigned") == 0 || strcmp(type, "HeadWitnessed") == 0)
        return &tp__signed_head__descriptor;
    /* and erasures (services/common/svc_seal.h) */
    if (strcmp(type, "SubjectErased") == 0)
        return &tp__subject_erased__descriptor;
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
