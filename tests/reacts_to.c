/* reacts_to.c: every service's svc_def_t.reacts_to against its react function.
 *
 * The runtime hands react only the upstream event types a service lists, and skips the
 * others without a commit; a type react handles but the list lacks would be lost
 * silently. So for every service and every event type trustportal knows (tp_types):
 * a listed type must exist, and an unlisted one, given to react with an empty payload
 * on a fresh state from every upstream, must produce nothing (no event, no error).
 * That catches a handler that complains about an empty event (most do: a required
 * field is missing) or acts on it; one that quietly ignores an event about something
 * it does not know is not caught here. The flows in tests/integration are (an order
 * that never becomes "versendet", a product that never becomes known). */
#include <stdio.h>
#include <string.h>
#include "account.h"
#include "example.h"
#include "identification.h"
#include "order.h"
#include "production.h"
#include "revocation.h"
#include "svc.h"
#include "tp_types.h"

static const svc_def_t *const s_defs[] = {&account_def, &example_def, &identification_def,
                                          &order_def, &production_def, &revocation_def};

static bool s_listed(const svc_def_t *def, const char *type)
{
    for (size_t i = 0; def->reacts_to && def->reacts_to[i]; i++)
        if (strcmp(def->reacts_to[i], type) == 0)
            return true;
    return false;
}

/* react on a fresh state to an empty event of @p type from @p upstream: did it act? */
static bool s_acts(const svc_def_t *def, const char *upstream, const char *type, svc_out_t *out)
{
    void *state = def->state_new();
    if (def->configure)
        def->configure(state, NULL, def->name);
    svc_event_t ev = {1, "stream-1", 1, type, 1700000000000000, (const uint8_t *) "", 0};
    svc_out_reset(out);
    def->react(state, upstream, &ev, out);
    bool acted = svc_out_n_events(out) > 0 || svc_out_n_errors(out) > 0;
    def->state_destroy(&state);
    return acted;
}

int main(void)
{
    int failed = 0, checked = 0;
    svc_out_t *out = svc_out_new();
    static const char *const any_upstream[] = {"example", NULL};
    for (size_t d = 0; d < sizeof s_defs / sizeof s_defs[0]; d++) {
        const svc_def_t *def = s_defs[d];
        if (!def->react)
            continue;
        for (size_t i = 0; def->reacts_to && def->reacts_to[i]; i++)
            if (!tp_types_find(NULL, def->reacts_to[i])) {
                fprintf(stderr, "reacts_to: %s lists %s, which is no known type\n", def->name,
                        def->reacts_to[i]);
                failed++;
            }
        const char *const *ups = def->upstreams ? def->upstreams : any_upstream;
        for (size_t t = 0; tp_types_all[t]; t++) {
            const char *type = tp_types_all[t]->short_name;
            bool listed = s_listed(def, type);
            bool acted = false;
            for (size_t u = 0; ups[u]; u++)
                acted |= s_acts(def, ups[u], type, out);
            checked++;
            if (acted && !listed) {
                fprintf(stderr, "reacts_to: %s reacts to %s, which its reacts_to lacks\n",
                        def->name, type);
                failed++;
            }
        }
    }
    svc_out_destroy(&out);
    printf("reacts_to: %d service/type pairs, %d failed\n", checked, failed);
    return failed ? 1 : 0;
}
